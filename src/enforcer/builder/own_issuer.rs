//! The builder's single-issuer setters: each configures the builder's own [`Issuer`] (an
//! [`Issuer::tokenleader`] until `.oidc_discovery(..)`), by the setter of the same name there.
//! A check setter given while the own issuer has no keys applies to nothing: `build()` says
//! where it belongs.

use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::EnforcerBuilder;
use crate::claims::ClaimMapping;
use crate::issuer::Issuer;
use crate::keys::{PublicKey, SecretKey};
use crate::token::Validation;

impl EnforcerBuilder {
    /// Changes the own issuer with `change`, and remembers that `setting` was given to it.
    fn own(mut self, setting: &'static str, change: impl FnOnce(Issuer) -> Issuer) -> Self {
        self.own = change(self.own);
        self.own_settings.push(setting);
        self
    }

    /// Adds a key that verifies tokens (see [`Issuer::public_key`]). Call it once per key;
    /// with several keys, a token's `kid` picks the key.
    pub fn public_key(self, key: PublicKey) -> Self {
        self.own("public_key", |own| own.public_key(key))
    }

    /// Adds several keys, e.g. those of [`PublicKey::from_jwks`].
    pub fn public_keys(self, keys: impl IntoIterator<Item = PublicKey>) -> Self {
        self.own("public_keys", |own| own.public_keys(keys))
    }

    /// Adds an HMAC secret (see [`Issuer::secret_key`]).
    pub fn secret_key(self, secret: SecretKey) -> Self {
        self.own("secret_key", |own| own.secret_key(secret))
    }

    /// Adds a key file (an OpenSSH `ssh-rsa` line, a PEM public key or a JWK), read by
    /// [`build`](Self::build) and then watched: a rotated key replaces the old one.
    pub fn public_key_file(self, path: impl Into<PathBuf>) -> Self {
        self.own("public_key_file", |own| own.public_key_file(path))
    }

    /// All validation settings at once, replacing those set so far (see
    /// [`Issuer::validation`]).
    pub fn validation(self, validation: Validation) -> Self {
        self.own("validation", |own| own.validation(validation))
    }

    /// The issuer tokens must name in `iss` (exact match); a token without `iss` is refused.
    pub fn issuer(self, issuer: impl Into<String>) -> Self {
        self.own("issuer", |mut own| {
            own.validation.issuer = Some(issuer.into());
            own
        })
    }

    /// A claim value tokens must carry (see [`Issuer::require_claim`]).
    pub fn require_claim(self, path: &str, value: impl Into<serde_json::Value>) -> Self {
        self.own("require_claim", |own| own.require_claim(path, value))
    }

    /// A claim tokens must not carry (see [`Issuer::forbid_claim`]).
    pub fn forbid_claim(self, path: &str) -> Self {
        self.own("forbid_claim", |own| own.forbid_claim(path))
    }

    /// The header `typ` tokens must carry (see [`Issuer::require_typ`]): `"at+jwt"` for RFC
    /// 9068 access tokens. Default: `typ` is not read.
    pub fn require_typ(self, typ: impl Into<String>) -> Self {
        self.own("require_typ", |own| own.require_typ(typ))
    }

    /// Binds tokens to the caller's address through the claim at `path` (see
    /// [`Issuer::bind_to_ip`]); serve with `into_make_service_with_connect_info` so the peer
    /// is known.
    pub fn bind_to_ip(self, path: &str) -> Self {
        self.own("bind_to_ip", |own| own.bind_to_ip(path))
    }

    /// An audience this service accepts in `aud` (see [`Issuer::audience`]).
    pub fn audience(self, audience: impl Into<String>) -> Self {
        self.own("audience", |own| own.audience(audience))
    }

    /// The signature algorithms accepted (see [`Issuer::algorithms`]; default RS512 only,
    /// tokenleader's).
    pub fn algorithms(self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.own("algorithms", |own| own.algorithms(algorithms))
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 30 s).
    pub fn leeway(self, leeway: Duration) -> Self {
        self.own("leeway", |own| own.leeway(leeway))
    }

    /// The longest lifetime a token may claim (default 24 h).
    pub fn max_lifetime(self, max_lifetime: Duration) -> Self {
        self.own("max_lifetime", |own| own.max_lifetime(max_lifetime))
    }

    /// The longest token accepted, in bytes (default 8 KiB): longer tokens are refused before
    /// any parsing, and never sent to an introspection endpoint.
    pub fn max_token_bytes(self, max: usize) -> Self {
        self.own("max_token_bytes", |own| own.max_token_bytes(max))
    }

    /// Reads tokens of another shape: where the user, roles and wfc are (default:
    /// tokenleader's shape). See [`ClaimMapping`].
    pub fn claim_mapping(self, mapping: ClaimMapping) -> Self {
        self.own("claim_mapping", |own| own.claim_mapping(mapping))
    }

    /// Keys found by OpenID Connect discovery (feature `jwks`): the own issuer becomes an
    /// [`Issuer::discover`], with its defaults for what was not given (the algorithms its keys
    /// announce, the user in `sub`, an audience required). Tokens must name `issuer_url` in
    /// `iss`.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn oidc_discovery(self, issuer_url: impl Into<String>) -> Self {
        self.own("oidc_discovery", |own| {
            let discovered = Issuer::discover(issuer_url);
            Issuer {
                kind: discovered.kind,
                jwks: discovered.jwks,
                audience_rule: discovered.audience_rule,
                validation: Validation {
                    issuer: discovered.validation.issuer,
                    ..own.validation
                },
                ..own
            }
        })
    }

    /// Keys from a JWKS URL (feature `jwks`; see [`Issuer::jwks_url`]).
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_url(self, url: impl Into<String>) -> Self {
        self.own("jwks_url", |own| own.jwks_url(url))
    }

    /// How often the JWKS is fetched again (feature `jwks`; default 5 minutes).
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_refresh_interval(self, interval: Duration) -> Self {
        self.own("jwks_refresh_interval", |own| {
            own.jwks_refresh_interval(interval)
        })
    }

    /// The least time between two fetches asked for by unknown `kid`s (feature `jwks`;
    /// default 10 s).
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_min_refetch_interval(self, interval: Duration) -> Self {
        self.own("jwks_min_refetch_interval", |own| {
            own.jwks_min_refetch_interval(interval)
        })
    }

    /// Lets the own issuer's JWKS URL or discovery URL be `http://` to a host that is not
    /// loopback (feature `jwks`; see [`Issuer::allow_plain_http`]).
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn allow_plain_http(self) -> Self {
        self.own("allow_plain_http", Issuer::allow_plain_http)
    }

    /// Verifies opaque tokens by asking their issuer (feature `introspection`; see
    /// [`Issuer::introspection`]). Beside keys, only tokens that do not look like JWTs are
    /// sent; without keys, every token is.
    #[cfg(feature = "introspection")]
    #[cfg_attr(docsrs, doc(cfg(feature = "introspection")))]
    pub fn introspection(self, introspection: crate::introspection::Introspection) -> Self {
        self.own("introspection", |own| own.introspection(introspection))
    }

    /// Whether the own issuer's tokens may or must come with DPoP proofs (see
    /// [`Issuer::dpop`]).
    pub fn dpop(self, dpop: crate::dpop::Dpop) -> Self {
        self.own("dpop", |own| own.dpop(dpop))
    }
}
