//! What `build()` refuses of an issuer before it loads anything: no way to verify, keys that
//! cannot check the allowed algorithms, HMAC beside public keys, an OpenID provider without an
//! audience, JWKS settings without a JWKS source.

use jsonwebtoken::{Algorithm, AlgorithmFamily};

use super::{AudienceRule, Issuer};
use crate::error::Error;
use crate::keys::{KeyType, PublicKey};
use crate::token::ClaimRequirement;

impl Issuer {
    /// Refuses the settings that cannot work; the message starts with the issuer's name.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let name = self.name();
        let error = |message: String| Error::Config(format!("{name}: {message}"));
        if !self.can_verify() {
            return Err(error(
                "no key: give it `.public_key(..)`, `.public_key_file(..)` or `.jwks_url(..)`"
                    .into(),
            ));
        }
        let no_audience = self.validation.audiences.is_empty() && self.default_audience.is_none();
        match self.audience_rule {
            AudienceRule::Required if no_audience => {
                return Err(error(
                    "an OpenID provider issues tokens for many clients: give `.audience(..)` the identifier this service's tokens name in `aud`".into(),
                ));
            }
            AudienceRule::ClientId => {
                let names_client = self.validation.claim_requirements.iter().any(|requirement| {
                    matches!(requirement, ClaimRequirement::Equals { path, .. } if path == "/client_id")
                });
                if !no_audience {
                    return Err(error(
                        "its access tokens carry no `aud`, so `.audience(..)` would refuse every one: name the app client with `.client_id(..)` instead".into(),
                    ));
                }
                if !names_client {
                    return Err(error(
                        "its access tokens carry no `aud`: give `.client_id(..)`, the app client whose tokens this service takes".into(),
                    ));
                }
            }
            _ => {}
        }
        #[cfg(feature = "jwks")]
        if self.jwks.is_none() {
            let settings = &self.jwks_settings;
            let misplaced = [
                (settings.refresh_interval.is_some(), "jwks_refresh_interval"),
                (
                    settings.min_refetch_interval.is_some(),
                    "jwks_min_refetch_interval",
                ),
                (settings.allow_plain_http, "allow_plain_http"),
            ];
            if let Some((_, setting)) = misplaced.iter().find(|(given, _)| *given) {
                return Err(error(format!(
                    "`.{setting}(..)` applies to a JWKS source, and this issuer has none: give it `.jwks_url(..)` (or discover it), or drop the setting"
                )));
            }
        }
        self.dpop.check().map_err(error)?;
        let explicit = self.algorithms.is_some();
        let algorithms = self.resolved_validation().algorithms;
        check_keys(&self.keys, &algorithms, explicit, self.has_key_source()).map_err(error)
    }
}

/// The keys of one issuer against its algorithms (empty: each key's own, unless `explicit`).
/// `more_public_keys`: public keys come later too (files, JWKS).
fn check_keys(
    keys: &[PublicKey],
    algorithms: &[Algorithm],
    explicit: bool,
    more_public_keys: bool,
) -> Result<(), String> {
    for (i, key) in keys.iter().enumerate() {
        if let Some(kid) = key.kid()
            && keys[..i].iter().any(|k| k.kid() == Some(kid))
        {
            return Err(format!("two keys have the key id `{kid}`"));
        }
    }
    if explicit && algorithms.is_empty() {
        return Err("no algorithm allowed: RS512 is tokenleader's".into());
    }
    let is_hmac = |a: &&Algorithm| matches!(a.family(), AlgorithmFamily::Hmac);
    let secrets: Vec<usize> = keys
        .iter()
        .filter_map(|key| match key.key_type() {
            KeyType::Hmac { bytes } => Some(bytes),
            _ => None,
        })
        .collect();
    let has_public_keys = more_public_keys || secrets.len() < keys.len();
    if !secrets.is_empty() && has_public_keys {
        return Err(
            "an issuer has either HMAC secrets or public keys, never both: a public key must never become an HMAC secret".into(),
        );
    }
    if !secrets.is_empty() && algorithms.is_empty() {
        return Err(
            "an HMAC secret announces no algorithm: allow HS256, HS384 or HS512 with `.algorithms(..)`".into(),
        );
    }
    if secrets.is_empty() {
        if let Some(algorithm) = algorithms.iter().find(is_hmac) {
            return Err(format!(
                "{algorithm:?} cannot be allowed: HMAC needs a shared secret (`.secret_key(..)`), and these keys are public keys"
            ));
        }
    } else {
        if let Some(algorithm) = algorithms.iter().find(|a| !is_hmac(a)) {
            return Err(format!(
                "{algorithm:?} cannot be allowed with HMAC secrets: allow HS256, HS384 or HS512"
            ));
        }
        for algorithm in algorithms {
            let needed = match algorithm {
                Algorithm::HS384 => 48,
                Algorithm::HS512 => 64,
                _ => 32,
            };
            if let Some(bytes) = secrets.iter().find(|bytes| **bytes < needed) {
                return Err(format!(
                    "{algorithm:?} needs secrets of at least {needed} bytes (RFC 7518): one has {bytes}"
                ));
            }
        }
    }
    if algorithms.is_empty() {
        return Ok(());
    }
    if let Some(key) = keys
        .iter()
        .find(|key| !algorithms.iter().any(|a| key.key_type().checks(*a)))
    {
        return Err(format!(
            "a {} key checks none of the allowed algorithms {algorithms:?}: allow one of {:?} with `.algorithms(..)`",
            key.key_type(),
            key.key_type().algorithms()
        ));
    }
    Ok(())
}
