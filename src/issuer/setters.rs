//! [`Issuer`]'s setters: its keys, its token checks, its claim shape, its JWKS source and its
//! introspection endpoint. `EnforcerBuilder`'s single-issuer setters forward here.

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::Issuer;
use crate::claims::{ClaimMapping, ClaimShape};
use crate::dpop::Dpop;
use crate::keys::{PublicKey, SecretKey};
use crate::reload::KeyFile;
use crate::token::{ClaimRequirement, Validation};

impl Issuer {
    /// Adds a public key. With several keys, a token's `kid` picks the key, and a token
    /// without `kid` is checked against each.
    pub fn public_key(mut self, key: PublicKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds several public keys (e.g. [`PublicKey::from_jwks`]).
    pub fn public_keys(mut self, keys: impl IntoIterator<Item = PublicKey>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// Adds an HMAC secret (HS256/384/512: allow them with [`algorithms`](Self::algorithms));
    /// an issuer with secrets holds no public keys: `build()` refuses the mix.
    pub fn secret_key(mut self, secret: SecretKey) -> Self {
        self.keys.push(secret.into_verifying_key());
        self
    }

    /// Adds a key file (an OpenSSH line, a PEM public key or a JWK), read by `build()` and then
    /// watched: a rotated key replaces the old one.
    pub fn public_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_files.push(KeyFile::Key(path.into()));
        self
    }

    /// All validation settings at once, replacing those set so far (the algorithms included).
    pub fn validation(mut self, validation: Validation) -> Self {
        self.algorithms = Some(validation.algorithms.clone());
        self.validation = validation;
        self
    }

    /// The signature algorithms this issuer's tokens may use: RSA (RS256/384/512,
    /// PS256/384/512), ES256, ES384, EdDSA, or with HMAC secrets HS256/384/512. Each key
    /// checks only the algorithms of its own type.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// An audience the service accepts from this issuer (call it once per audience): with
    /// any configured, a token must name one of them in `aud`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.validation.audiences.push(audience.into());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway;
        self
    }

    /// The longest lifetime a token may claim (default 24 h): `exp` may lie at most this far
    /// after `iat` and after now.
    pub fn max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.validation.max_lifetime = max_lifetime;
        self
    }

    /// The longest token accepted, in bytes (default 8 KiB). Longer tokens are refused before
    /// any parsing, and never sent to an introspection endpoint.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.validation.max_token_bytes = max;
        self
    }

    /// A claim value this issuer's tokens must carry (call it once per claim):
    /// `.require_claim("/typ", "access")` refuses the refresh, e-mail or password-reset tokens
    /// the same key signs, with a 401 that names the claim.
    pub fn require_claim(mut self, path: &str, value: impl Into<serde_json::Value>) -> Self {
        let requirement = ClaimRequirement::equals(path, value);
        self.validation.claim_requirements.push(requirement);
        self
    }

    /// A claim this issuer's tokens must not carry (e.g. `/refresh_claim`).
    pub fn forbid_claim(mut self, path: &str) -> Self {
        let requirement = ClaimRequirement::absent(path);
        self.validation.claim_requirements.push(requirement);
        self
    }

    /// The header `typ` this issuer's tokens must carry: `.require_typ("at+jwt")` accepts only
    /// RFC 9068 access tokens (`application/at+jwt` too, without case), so that an ID token of
    /// the same provider cannot pass as one. Default: `typ` is not read.
    pub fn require_typ(mut self, typ: impl Into<String>) -> Self {
        self.validation.required_typ = Some(typ.into());
        self
    }

    /// Binds this issuer's tokens to the caller's address: the claim at `path` (e.g. `/ip`)
    /// must be the client address (the peer's, or with
    /// [`trusted_proxies`](crate::EnforcerBuilder::trusted_proxies) the one the nearest
    /// trusted proxy saw; `X-Forwarded-For` is never trusted otherwise), or `*`. A token
    /// without the claim, or a request whose address is unknown, is a 401.
    pub fn bind_to_ip(mut self, path: &str) -> Self {
        self.validation.ip_claim = Some(path.to_owned());
        self
    }

    /// Where this issuer's tokens put the user, roles and wfc (see [`ClaimMapping`]).
    pub fn claim_mapping(mut self, mapping: ClaimMapping) -> Self {
        self.shape = Some(ClaimShape::Mapped(Box::new(mapping)));
        self
    }

    /// Keys from a JWKS URL (feature `jwks`), fetched by `build()` (which fails when that
    /// fetch fails, unless the key cache file has keys), refreshed every 5 minutes and fetched
    /// again, at most every 10 s, when a token names an unknown `kid`: through `RequireRule`
    /// that request waits for the fetch, at most 2 s, and is decided with the new keys. Static
    /// keys given as well stay beside them.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks = Some(crate::reload::jwks::JwksConfig::new(url.into()));
        self
    }

    /// How often the JWKS is fetched again (feature `jwks`; default 5 minutes). Needs a JWKS
    /// source ([`jwks_url`](Self::jwks_url) or [`discover`](Self::discover)), before or after.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_refresh_interval(mut self, interval: Duration) -> Self {
        self.jwks_settings.refresh_interval = Some(interval);
        self
    }

    /// The least time between two fetches asked for by unknown `kid`s (feature `jwks`;
    /// default 10 s), so that forged `kid`s cannot make the service hammer the key server.
    /// Needs a JWKS source, before or after.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_min_refetch_interval(mut self, interval: Duration) -> Self {
        self.jwks_settings.min_refetch_interval = Some(interval);
        self
    }

    /// Lets this issuer's JWKS URL or discovery URL be `http://` to a host that is not
    /// loopback (feature `jwks`). Without it such a URL fails `build()`: whoever sits on the
    /// network path could hand the service keys of their own.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn allow_plain_http(mut self) -> Self {
        self.jwks_settings.allow_plain_http = true;
        self
    }

    /// Asks this issuer's introspection endpoint about tokens its keys cannot verify (feature
    /// `introspection`; see [`introspection`](crate::introspection)): opaque tokens, or every
    /// token when the issuer has no keys.
    #[cfg(feature = "introspection")]
    #[cfg_attr(docsrs, doc(cfg(feature = "introspection")))]
    pub fn introspection(mut self, introspection: crate::introspection::Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }

    /// Whether this issuer's tokens may ([`Dpop::accepted`]) or must ([`Dpop::required`])
    /// come with DPoP proofs (RFC 9449, see [`dpop`](crate::dpop)). Default off: a token
    /// bound to a DPoP key (`cnf.jkt`) is then refused, never taken as a bearer token.
    pub fn dpop(mut self, dpop: Dpop) -> Self {
        self.dpop = dpop;
        self
    }
}
