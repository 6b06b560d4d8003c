//! The settings an [`EnforcerBuilder`] refuses before it loads anything.

use jsonwebtoken::{Algorithm, AlgorithmFamily};

use super::EnforcerBuilder;
use crate::error::Error;
use crate::keys::KeyType;

impl EnforcerBuilder {
    /// The settings that cannot work, refused before anything is loaded.
    pub(super) fn check(&self) -> Result<(), Error> {
        #[cfg(feature = "jwks")]
        let has_jwks = self.jwks.is_some();
        #[cfg(not(feature = "jwks"))]
        let has_jwks = false;
        if self.keys.is_empty() && self.key_files.is_empty() && !has_jwks {
            return Err(Error::Config(
                "no public key: call `.public_key(..)` with the tokenleader server's key".into(),
            ));
        }
        for (i, key) in self.keys.iter().enumerate() {
            if let Some(kid) = key.kid()
                && self.keys[..i].iter().any(|k| k.kid() == Some(kid))
            {
                return Err(Error::Config(format!("two keys have the key id `{kid}`")));
            }
        }
        let algorithms = &self.validation.algorithms;
        if algorithms.is_empty() {
            return Err(Error::Config(
                "no algorithm allowed: RS512 is tokenleader's".into(),
            ));
        }
        let is_secret = |key_type| matches!(key_type, KeyType::Hmac { .. });
        let is_hmac = |a: &&Algorithm| matches!(a.family(), AlgorithmFamily::Hmac);
        let secrets: Vec<usize> = self
            .keys
            .iter()
            .filter_map(|key| match key.key_type() {
                KeyType::Hmac { bytes } => Some(bytes),
                _ => None,
            })
            .collect();
        let has_public_keys = self.keys.iter().any(|key| !is_secret(key.key_type()))
            || !self.key_files.is_empty()
            || has_jwks;
        if !secrets.is_empty() && has_public_keys {
            return Err(Error::Config(
                "an enforcer checks either HMAC secrets or public keys, never both: a public key must never become an HMAC secret".into(),
            ));
        }
        if secrets.is_empty() {
            if let Some(algorithm) = algorithms.iter().find(is_hmac) {
                return Err(Error::Config(format!(
                    "{algorithm:?} cannot be allowed: HMAC needs a shared secret (`.secret_key(..)`), and these keys are public keys"
                )));
            }
        } else {
            if let Some(algorithm) = algorithms.iter().find(|a| !is_hmac(a)) {
                return Err(Error::Config(format!(
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
                    return Err(Error::Config(format!(
                        "{algorithm:?} needs secrets of at least {needed} bytes (RFC 7518): one has {bytes}"
                    )));
                }
            }
        }
        if let Some(key) = self
            .keys
            .iter()
            .find(|key| !algorithms.iter().any(|a| key.key_type().checks(*a)))
        {
            return Err(Error::Config(format!(
                "a {} key checks none of the allowed algorithms {algorithms:?}: allow one of {:?} with `.algorithms(..)`",
                key.key_type(),
                key.key_type().algorithms()
            )));
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
