//! The settings an [`EnforcerBuilder`] refuses before it loads anything.

use jsonwebtoken::{Algorithm, AlgorithmFamily};

use super::EnforcerBuilder;
use crate::error::Error;
use crate::keys::{KeyType, PublicKey};

impl EnforcerBuilder {
    /// Whether the builder was given keys of its own (static, files, client config, JWKS):
    /// then its own settings form an issuer.
    pub(super) fn has_own_keys(&self) -> bool {
        !self.keys.is_empty() || self.has_key_sources()
    }

    /// Whether public keys come from files or a JWKS URL, loaded later.
    fn has_key_sources(&self) -> bool {
        #[cfg(feature = "jwks")]
        let has_jwks = self.jwks.is_some();
        #[cfg(not(feature = "jwks"))]
        let has_jwks = false;
        !self.key_files.is_empty() || has_jwks
    }

    /// The settings that cannot work, refused before anything is loaded.
    pub(super) fn check(&self) -> Result<(), Error> {
        #[cfg(feature = "introspection")]
        let has_introspection = self.has_introspection();
        #[cfg(not(feature = "introspection"))]
        let has_introspection = false;
        if !self.has_own_keys() && self.issuers.is_empty() && !has_introspection {
            return Err(Error::Config(
                "no public key: call `.public_key(..)` with the tokenleader server's key".into(),
            ));
        }
        if self.has_own_keys() {
            check_keys(
                &self.keys,
                &self.validation.algorithms,
                self.has_key_sources(),
                "",
            )?;
        }
        for issuer in &self.issuers {
            let name = match issuer.iss() {
                Some(iss) => format!("issuer `{iss}`: "),
                None => "the issuer of tokens without `iss`: ".to_owned(),
            };
            if issuer.keys.is_empty() && !issuer.has_key_source() {
                return Err(Error::Config(format!(
                    "{name}no key: give it `.public_key(..)`"
                )));
            }
            check_keys(
                &issuer.keys,
                &issuer.validation.algorithms,
                issuer.has_key_source(),
                &name,
            )?;
        }
        if self.admin_role.as_deref() == Some("") {
            return Err(Error::Config(
                "the admin role is empty: give a role name, or `None` to turn it off".into(),
            ));
        }
        if self.token_sources.is_empty() {
            return Err(Error::Config(
                "no token source: every request would be refused".into(),
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(Error::Config(
                "the poll interval must be longer than zero".into(),
            ));
        }
        Ok(())
    }
}

/// The keys of one issuer against its allow list. `more_public_keys`: public keys come later
/// too (files, JWKS). `name` starts each message.
fn check_keys(
    keys: &[PublicKey],
    algorithms: &[Algorithm],
    more_public_keys: bool,
    name: &str,
) -> Result<(), Error> {
    let error = |message: String| Error::Config(format!("{name}{message}"));
    for (i, key) in keys.iter().enumerate() {
        if let Some(kid) = key.kid()
            && keys[..i].iter().any(|k| k.kid() == Some(kid))
        {
            return Err(error(format!("two keys have the key id `{kid}`")));
        }
    }
    if algorithms.is_empty() {
        return Err(error("no algorithm allowed: RS512 is tokenleader's".into()));
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
        return Err(error(
            "an issuer has either HMAC secrets or public keys, never both: a public key must never become an HMAC secret".into(),
        ));
    }
    if secrets.is_empty() {
        if let Some(algorithm) = algorithms.iter().find(is_hmac) {
            return Err(error(format!(
                "{algorithm:?} cannot be allowed: HMAC needs a shared secret (`.secret_key(..)`), and these keys are public keys"
            )));
        }
    } else {
        if let Some(algorithm) = algorithms.iter().find(|a| !is_hmac(a)) {
            return Err(error(format!(
                "{algorithm:?} cannot be allowed with HMAC secrets: allow HS256, HS384 or HS512"
            )));
        }
        for algorithm in algorithms {
            let needed = match algorithm {
                Algorithm::HS384 => 48,
                Algorithm::HS512 => 64,
                _ => 32,
            };
            if let Some(bytes) = secrets.iter().find(|bytes| **bytes < needed) {
                return Err(error(format!(
                    "{algorithm:?} needs secrets of at least {needed} bytes (RFC 7518): one has {bytes}"
                )));
            }
        }
    }
    if let Some(key) = keys
        .iter()
        .find(|key| !algorithms.iter().any(|a| key.key_type().checks(*a)))
    {
        return Err(error(format!(
            "a {} key checks none of the allowed algorithms {algorithms:?}: allow one of {:?} with `.algorithms(..)`",
            key.key_type(),
            key.key_type().algorithms()
        )));
    }
    Ok(())
}
