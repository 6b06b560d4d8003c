//! [`SecretKey`]: a shared secret for HMAC tokens (HS256, HS384, HS512).

use std::fmt;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey};

use super::{KeyError, KeyType, PublicKey};

/// The shortest secret accepted: RFC 7518 wants at least the hash's size, 32 bytes for HS256
/// (HS384 and HS512 want 48 and 64; `build()` checks that against the allowed algorithms).
pub const MIN_SECRET_BYTES: usize = 32;

/// A shared secret that verifies HMAC tokens (HS256, HS384, HS512), as the tutorial's
/// connexion + PyJWT service signs them.
///
/// ```
/// use tokenleader_rbac::{Algorithm, AclMap, Enforcer, keys::SecretKey};
///
/// let secret = SecretKey::from_bytes(b"a secret of at least thirty-two bytes!!")?;
/// let enforcer = Enforcer::builder()
///     .secret_key(secret)
///     .algorithms([Algorithm::HS256])
///     .acl(AclMap::empty())
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// It is made from secret bytes only: never from a PEM block, a JWK or anything a public key
/// could be turned into, so a public key can never become an HMAC secret. An enforcer that
/// holds a secret holds no public keys, and its allow list holds HMAC algorithms only. Its
/// `Debug` output never shows the secret.
#[derive(Clone)]
pub struct SecretKey {
    kid: Option<String>,
    bytes: Arc<[u8]>,
}

impl SecretKey {
    /// A secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(KeyError::SecretTooShort {
                bytes: bytes.len(),
                min: MIN_SECRET_BYTES,
            });
        }
        Ok(SecretKey {
            kid: None,
            bytes: bytes.into(),
        })
    }

    /// Gives the secret a key id: tokens whose header names this `kid` are checked with it.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The secret's length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a secret is never empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Checks an HMAC `signature` (the whole tag: JWS never truncates it) over `message`
    /// with this secret and `algorithm`; false for any other algorithm.
    pub fn verify_signature(&self, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.clone()
            .into_verifying_key()
            .verify_signature(algorithm, message, signature)
    }

    /// The verifying key the token path uses; only HMAC algorithms are checked with it.
    pub(crate) fn into_verifying_key(self) -> PublicKey {
        let key_type = KeyType::Hmac {
            bytes: self.bytes.len(),
        };
        let decoding_key = DecodingKey::from_secret(&self.bytes);
        let key = PublicKey::of(key_type, self.bytes, decoding_key);
        match self.kid {
            Some(kid) => key.with_kid(kid),
            None => key,
        }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("kid", &self.kid)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}
