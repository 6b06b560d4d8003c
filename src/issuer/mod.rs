//! [`Issuer`]: the unit of trust. Every issuer an enforcer trusts, the builder's own included,
//! is one: the `iss` it signs as (none for tokenleader), where its keys come from, how its
//! tokens are checked, and where they put the user, roles and wfc.
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
//!             .audience("micros1")
//!             .claim_mapping(ClaimMapping::new().username("/preferred_username").roles("/realm_access/roles")),
//!     )
//!     .acl(AclMap::from_yaml_str("- name: role1\n  allow: [micros1.entries.list]\n")?)
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each constructor's defaults:
//!
//! | | [`Issuer::tokenleader`] | [`Issuer::new`] | [`Issuer::discover`] |
//! | --- | --- | --- | --- |
//! | `iss` | none: tokens without one | the URL given, exactly | the URL given, exactly |
//! | keys | given (`.public_key`, `.public_key_file`, `.jwks_url`) | given | the configuration's `jwks_uri` |
//! | algorithms | RS512 | what each key announces: its JWK `alg`, else the algorithms of its type | as `new` |
//! | audience | not read | read when given | **required**: an OpenID provider issues tokens for many clients |
//! | `typ` | not read | not read (`.require_typ("at+jwt")`) | not read (`.require_typ("at+jwt")`) |
//! | claims | tokenleader's: `sub` is an object | a [`ClaimMapping::new`]: the user in `sub` | as `new` |
//! | leeway, lifetime, size | 30 s, 24 h, 8 KiB | the same | the same |
//! | DPoP ([`dpop`](Issuer::dpop)) | off: a DPoP-bound token is refused | the same | the same |
//!
//! The identity providers services run behind have presets, [`Issuer::discover`] with their
//! documented layout: [`presets`] (Keycloak, Microsoft Entra ID, Auth0, Amazon Cognito, Okta).
//!
//! [`EnforcerBuilder`](crate::EnforcerBuilder)'s single-issuer setters (`.public_key`,
//! `.jwks_url`, `.audience`, …) configure its own issuer, an [`Issuer::tokenleader`] until
//! `.oidc_discovery(url)` makes it an [`Issuer::discover`]; each forwards to the setter of the
//! same name here, so both have the same defaults. [`trust`](crate::EnforcerBuilder::trust)
//! adds more issuers. A setting that applies to no issuer (a builder-level audience when all
//! keys are on trusted issuers, a refetch interval without a JWKS source) fails `build()` with
//! where it belongs.
//!
//! A token is routed by its `iss` to exactly one issuer, through an index: it is only ever
//! checked with that issuer's keys, algorithms and claim shape, so a token signed by one
//! issuer that names another in `iss` fails the other's signature check. A token whose `iss`
//! names no trusted issuer is a 401 that names it. At most one issuer takes tokens without
//! `iss`. An enforcer with one issuer does not read `iss` to route.

mod check;
pub mod presets;
pub(crate) mod routes;
mod setters;

#[cfg(feature = "jwks")]
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::claims::{ClaimMapping, ClaimShape};
use crate::dpop::Dpop;
use crate::keys::PublicKey;
use crate::reload::KeyFile;
use crate::token::Validation;

/// What kind of issuer it is: decides the defaults of the settings not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The tokenleader server: RS512, its claim shape.
    Tokenleader,
    /// An issuer named by its `iss`, with keys given.
    Named,
    /// An OpenID provider found by discovery (feature `jwks`).
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    Discovered,
}

/// The settings of a JWKS source, kept apart until `build()` gives them to the source.
#[cfg(feature = "jwks")]
#[derive(Debug, Clone, Default)]
pub(crate) struct JwksSettings {
    pub(crate) refresh_interval: Option<Duration>,
    pub(crate) min_refetch_interval: Option<Duration>,
    pub(crate) allow_plain_http: bool,
}

/// What `build()` asks of an issuer's audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AudienceRule {
    /// Read when given.
    Optional,
    /// Required: the provider issues tokens for many clients (discovery, feature `jwks`).
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    Required,
    /// Tokens have no `aud`: the client they were issued to must be required by name
    /// (`client_id`, Cognito's access tokens), and an audience would refuse them all.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    ClientId,
}

/// One trusted issuer: the `iss` it signs as (or none, for tokenleader), its keys, its
/// validation settings and where its tokens put the user, roles and wfc. See the
/// [module](self) for each constructor's defaults.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub(crate) kind: Kind,
    pub(crate) keys: Vec<PublicKey>,
    pub(crate) key_files: Vec<KeyFile>,
    /// Everything but the algorithms when they were not given (see `algorithms`).
    pub(crate) validation: Validation,
    /// The algorithms given; `None`: the kind's default.
    pub(crate) algorithms: Option<Vec<Algorithm>>,
    /// The claim shape given; `None`: the kind's default.
    pub(crate) shape: Option<ClaimShape>,
    /// What is asked of the audience.
    pub(crate) audience_rule: AudienceRule,
    /// The audience checked when none is given (a preset's: Okta's `api://default`).
    pub(crate) default_audience: Option<String>,
    #[cfg(feature = "jwks")]
    pub(crate) jwks: Option<crate::reload::jwks::JwksConfig>,
    /// JWKS settings given apart from the source (before it, or without one: then `build()`
    /// says where they belong).
    #[cfg(feature = "jwks")]
    pub(crate) jwks_settings: JwksSettings,
    #[cfg(feature = "introspection")]
    pub(crate) introspection: Option<crate::introspection::Introspection>,
    /// Whether its tokens may or must come with DPoP proofs.
    pub(crate) dpop: Dpop,
}

impl Issuer {
    fn of(kind: Kind, iss: Option<String>) -> Self {
        Issuer {
            kind,
            keys: Vec::new(),
            key_files: Vec::new(),
            validation: Validation {
                issuer: iss,
                ..Validation::default()
            },
            algorithms: None,
            shape: None,
            audience_rule: AudienceRule::Optional,
            default_audience: None,
            #[cfg(feature = "jwks")]
            jwks: None,
            #[cfg(feature = "jwks")]
            jwks_settings: JwksSettings::default(),
            #[cfg(feature = "introspection")]
            introspection: None,
            dpop: Dpop::off(),
        }
    }

    /// The tokenleader server: tokens without `iss`, tokenleader's claim shape, RS512 alone.
    pub fn tokenleader() -> Self {
        Self::of(Kind::Tokenleader, None)
    }

    /// An issuer whose tokens name `iss` exactly (an OIDC issuer URL). Defaults: the
    /// algorithms each of its keys announces (a JWK's `alg`, else those of the key's type:
    /// RS*/PS* for RSA, ES256/ES384 for P-256/P-384, EdDSA for Ed25519; HMAC secrets need
    /// [`algorithms`](Self::algorithms)), the claim shape of a [`ClaimMapping::new`] (user in
    /// `sub`), the validation defaults.
    pub fn new(iss: impl Into<String>) -> Self {
        Self::of(Kind::Named, Some(iss.into()))
    }

    /// An OpenID provider found by discovery (feature `jwks`): `build()` reads
    /// `{issuer_url}/.well-known/openid-configuration`, whose `issuer` must be `issuer_url`
    /// exactly, and fetches the keys of its `jwks_uri`, kept fresh like
    /// [`jwks_url`](Self::jwks_url)'s. The defaults of [`new`](Self::new), and an
    /// [`audience`](Self::audience) is required: a provider issues tokens for many clients,
    /// and without one a token meant for any of them would pass.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn discover(issuer_url: impl Into<String>) -> Self {
        let issuer_url = issuer_url.into();
        let mut config = crate::reload::jwks::JwksConfig::new(issuer_url.clone());
        config.discover = true;
        Issuer {
            jwks: Some(config),
            audience_rule: AudienceRule::Required,
            ..Self::of(Kind::Discovered, Some(issuer_url))
        }
    }

    /// The `iss` this issuer's tokens name; `None` for tokens without one.
    pub fn iss(&self) -> Option<&str> {
        self.validation.issuer.as_deref()
    }

    /// How the issuer is named in messages.
    pub(crate) fn name(&self) -> String {
        match self.iss() {
            Some(iss) => format!("issuer `{iss}`"),
            None => "the issuer of tokens without `iss`".to_owned(),
        }
    }

    /// The validation settings with the kind's defaults for what was not given.
    pub(crate) fn resolved_validation(&self) -> Validation {
        let algorithms = match (&self.algorithms, self.kind) {
            (Some(given), _) => given.clone(),
            (None, Kind::Tokenleader) => vec![Algorithm::RS512],
            // Empty: each key checks the algorithms it announces.
            (None, Kind::Named | Kind::Discovered) => Vec::new(),
        };
        let mut validation = Validation {
            algorithms,
            ..self.validation.clone()
        };
        if validation.audiences.is_empty()
            && let Some(audience) = &self.default_audience
        {
            validation.audiences.push(audience.clone());
        }
        validation
    }

    /// The claim shape given, or the kind's default.
    pub(crate) fn resolved_shape(&self) -> ClaimShape {
        match (&self.shape, self.kind) {
            (Some(shape), _) => shape.clone(),
            (None, Kind::Tokenleader) => ClaimShape::Tokenleader,
            (None, Kind::Named | Kind::Discovered) => {
                ClaimShape::Mapped(Box::new(ClaimMapping::new()))
            }
        }
    }

    /// Whether keys come from elsewhere later: key files, a JWKS URL or discovery.
    pub(crate) fn has_key_source(&self) -> bool {
        #[cfg(feature = "jwks")]
        let jwks = self.jwks.is_some();
        #[cfg(not(feature = "jwks"))]
        let jwks = false;
        jwks || !self.key_files.is_empty()
    }

    /// Whether it asks an introspection endpoint about tokens.
    pub(crate) fn introspects(&self) -> bool {
        #[cfg(feature = "introspection")]
        return self.introspection.is_some();
        #[cfg(not(feature = "introspection"))]
        false
    }

    /// Whether it can verify anything: keys now or later, or an introspection endpoint.
    pub(crate) fn can_verify(&self) -> bool {
        !self.keys.is_empty() || self.has_key_source() || self.introspects()
    }
}
