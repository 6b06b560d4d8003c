//! [`Issuer`]: one unit of trust (its keys, its validation settings, its claim shape), for
//! services that trust several issuers at once.
//!
//! ```
//! use tokenleader_rbac::{Algorithm, AclMap, Enforcer, Issuer, claims::ClaimMapping};
//! use tokenleader_rbac::test_util::TestIssuer;
//!
//! let tokenleader = TestIssuer::new(); // stands for the tokenleader server
//! let keycloak = TestIssuer::es256();  // stands for a Keycloak realm
//! let enforcer = Enforcer::builder()
//!     .trust(Issuer::tokenleader().public_key(tokenleader.public_key()))
//!     .trust(
//!         Issuer::new("https://kc.example/realms/acme")
//!             .public_key(keycloak.public_key())
//!             .algorithms([Algorithm::ES256])
//!             .audience("micros1")
//!             .claim_mapping(ClaimMapping::new().username("/preferred_username").roles("/realm_access/roles")),
//!     )
//!     .acl(AclMap::from_yaml_str("- name: role1\n  allow: [micros1.entries.list]\n")?)
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A token is routed by its `iss` claim to exactly one issuer, through an index: it is only
//! ever checked with that issuer's keys, algorithms and claim shape, so a token signed by one
//! issuer that names another in `iss` fails the other's signature check. A token whose `iss`
//! names no trusted issuer is a 401 that names it. tokenleader's tokens carry no `iss`: at
//! most one issuer ([`Issuer::tokenleader`]) takes tokens without one.
//!
//! The single-issuer methods of [`EnforcerBuilder`](crate::EnforcerBuilder) (`.public_key`,
//! `.public_key_file`, `.jwks_url`, `.client_config`, `.issuer(iss)`, `.claim_mapping` …) still
//! describe one issuer; with [`trust`](crate::EnforcerBuilder::trust) it becomes one issuer
//! among the others, taking the tokens of the `iss` its `.issuer(..)` names (or those without
//! `iss` when it names none). (`.issuer(str)` keeps its meaning, the issuer's `iss`; that is why
//! adding an issuer is `.trust(..)`.) An issuer's keys are static (PEM, JWK, JWKS text, HMAC
//! secrets), fetched from a JWKS URL, or found by OIDC discovery ([`Issuer::discover`],
//! feature `jwks`).
//!
//! Only with several issuers does a request pay for routing: the token's payload is read for
//! its `iss` before the cache is asked.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::claims::{ClaimMapping, ClaimShape};
use crate::keys::{PublicKey, SecretKey};
use crate::token::Validation;

/// How a trusted issuer's keys stand (see `Enforcer::issuer_key_status`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IssuerKeyStatus {
    /// 1 for the keys loaded by `build()`, one more for each key set swapped in since.
    pub generation: u64,
    /// When the keys in force were loaded.
    pub loaded_at: std::time::SystemTime,
    /// Keys in force.
    pub keys: usize,
    /// Tokens in the verified-token cache of the keys in force.
    pub cached_tokens: usize,
    /// When the keys in force were fetched, if they came from the key cache file because a
    /// fetch failed (they may be stale); `None` once a fetch succeeds.
    pub keys_from_cache: Option<std::time::SystemTime>,
    /// Why the last fetch or reload failed; `None` once one succeeds.
    pub last_error: Option<String>,
    /// Keys of the last JWKS fetched that this crate cannot use: skipped, each logged.
    pub skipped_keys: usize,
}

/// One trusted issuer: the `iss` it signs as (or none, for tokenleader), its keys, its
/// validation settings and where its tokens put the user, roles and wfc.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub(crate) keys: Vec<PublicKey>,
    pub(crate) validation: Validation,
    pub(crate) shape: ClaimShape,
    #[cfg(feature = "jwks")]
    pub(crate) jwks: Option<crate::reload::jwks::JwksConfig>,
    #[cfg(feature = "jwks")]
    pub(crate) allow_plain_http: bool,
}

impl Issuer {
    /// An issuer whose tokens name `iss` exactly (an OIDC issuer URL). Defaults: RS256 alone
    /// (OIDC's default signing algorithm; change it with [`algorithms`](Self::algorithms)),
    /// the claim shape of a [`ClaimMapping::new`] (user in `sub`), the validation defaults.
    pub fn new(iss: impl Into<String>) -> Self {
        let validation = Validation {
            issuer: Some(iss.into()),
            algorithms: vec![Algorithm::RS256],
            ..Validation::default()
        };
        Issuer {
            keys: Vec::new(),
            validation,
            shape: ClaimShape::Mapped(Box::new(ClaimMapping::new())),
            #[cfg(feature = "jwks")]
            jwks: None,
            #[cfg(feature = "jwks")]
            allow_plain_http: false,
        }
    }

    /// An OIDC issuer found by discovery (feature `jwks`): `build()` reads
    /// `{issuer_url}/.well-known/openid-configuration`, whose `issuer` must be `issuer_url`
    /// exactly, and fetches the keys of its `jwks_uri`, kept fresh like
    /// [`jwks_url`](Self::jwks_url)'s. The defaults of [`new`](Self::new) otherwise.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn discover(issuer_url: impl Into<String>) -> Self {
        let issuer_url = issuer_url.into();
        let mut config = crate::reload::jwks::JwksConfig::new(issuer_url.clone());
        config.discover = true;
        Issuer {
            jwks: Some(config),
            ..Issuer::new(issuer_url)
        }
    }

    /// Keys from a JWKS URL (feature `jwks`), fetched by `build()` (which fails when that
    /// fails), refreshed every 5 minutes and fetched again, at most every 10 s, when a token
    /// names an unknown `kid`. Static keys given as well stay beside them.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks = Some(crate::reload::jwks::JwksConfig::new(url.into()));
        self
    }

    /// Lets this issuer's JWKS URL or discovery URL be `http://` to a host that is not
    /// loopback (feature `jwks`). Without it such a URL fails `build()`: whoever sits on the
    /// network path could hand the service keys of their own.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn allow_plain_http(mut self) -> Self {
        self.allow_plain_http = true;
        self
    }

    /// Whether keys come from a JWKS URL or discovery.
    pub(crate) fn has_key_source(&self) -> bool {
        #[cfg(feature = "jwks")]
        return self.jwks.is_some();
        #[cfg(not(feature = "jwks"))]
        false
    }

    /// The tokenleader server: tokens without `iss`, tokenleader's claim shape, RS512 alone.
    pub fn tokenleader() -> Self {
        Issuer {
            keys: Vec::new(),
            validation: Validation::default(),
            shape: ClaimShape::Tokenleader,
            #[cfg(feature = "jwks")]
            jwks: None,
            #[cfg(feature = "jwks")]
            allow_plain_http: false,
        }
    }

    /// The `iss` this issuer's tokens name; `None` for tokens without one.
    pub fn iss(&self) -> Option<&str> {
        self.validation.issuer.as_deref()
    }

    /// Adds a public key.
    pub fn public_key(mut self, key: PublicKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds several public keys (e.g. [`PublicKey::from_jwks`]).
    pub fn public_keys(mut self, keys: impl IntoIterator<Item = PublicKey>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// Adds an HMAC secret; an issuer with secrets holds no public keys.
    pub fn secret_key(mut self, secret: SecretKey) -> Self {
        self.keys.push(secret.into_verifying_key());
        self
    }

    /// The signature algorithms this issuer's tokens may use.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.validation.algorithms = algorithms.into_iter().collect();
        self
    }

    /// An audience the service accepts from this issuer (call it once per audience).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.validation.audiences.push(audience.into());
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway;
        self
    }

    /// The longest lifetime a token may claim (default 24 h).
    pub fn max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.validation.max_lifetime = max_lifetime;
        self
    }

    /// A claim value this issuer's tokens must carry (e.g. `/typ` = `access`).
    pub fn require_claim(mut self, path: &str, value: impl Into<serde_json::Value>) -> Self {
        let requirement = crate::token::ClaimRequirement::equals(path, value);
        self.validation.claim_requirements.push(requirement);
        self
    }

    /// The header `typ` this issuer's tokens must carry (see
    /// [`EnforcerBuilder::require_typ`](crate::EnforcerBuilder::require_typ)): `at+jwt` for an
    /// RFC 9068 provider.
    pub fn require_typ(mut self, typ: impl Into<String>) -> Self {
        self.validation.required_typ = Some(typ.into());
        self
    }

    /// A claim this issuer's tokens must not carry.
    pub fn forbid_claim(mut self, path: &str) -> Self {
        let requirement = crate::token::ClaimRequirement::absent(path);
        self.validation.claim_requirements.push(requirement);
        self
    }

    /// Binds this issuer's tokens to the caller's address through the claim at `path` (see
    /// [`EnforcerBuilder::bind_to_ip`](crate::EnforcerBuilder::bind_to_ip)).
    pub fn bind_to_ip(mut self, path: &str) -> Self {
        self.validation.ip_claim = Some(path.to_owned());
        self
    }

    /// Where this issuer's tokens put the user, roles and wfc.
    pub fn claim_mapping(mut self, mapping: ClaimMapping) -> Self {
        self.shape = ClaimShape::Mapped(Box::new(mapping));
        self
    }
}
