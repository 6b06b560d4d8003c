//! Public keys that verify tokens: OpenSSH, PEM, JWK and JWKS forms, and the crypto provider.
//!
//! ```
//! use tokenleader_rbac::keys::PublicKey;
//!
//! let line = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCpymNvah3I1GwYMonjZVL4kVw+nHeULmQj4VZS89gdeS/NVTzGt6SySV2xqaCahVOgg/G2XfN62e2jo1DX5ecvEnz6ca8H+JHe9Y/gGLR/SE6ry7vjWNR+44PwMZR/E/HfTTU5AWJ+ACjvkNVsZ44YaTcFFG+og9QfDMVhpZUSLnRh2oO224D8PDhfFJenkTqmg+Yx5KNLt1CY8i6B3iXRyTN10vsprFUrd1LW3O392FmEesjPFpdJrcepp94HvVion0Eg0S2QxcFILT+zqgJKGOrzdISuZcPWgUdfpFUDkxaL2PC1ohHCsLbI72Ypwr9M1xnyz/yIatx8HlTyE5z9 tokenleader@127.0.0.1";
//! let key = PublicKey::from_openssh(line)?;
//! assert_eq!(key.bits(), 2048);
//! # Ok::<(), tokenleader_rbac::keys::KeyError>(())
//! ```
//!
//! Every way of loading a key checks it the same way. RSA keys: a modulus of 2048 to 8192
//! bits, an odd public exponent greater than 1. EC keys: P-256 or P-384, as an uncompressed
//! point of the curve's size. Ed25519 keys: 32 bytes. A key only ever checks the algorithms
//! of its own type ([`KeyType::algorithms`]): RS*/PS* for RSA, ES256 for P-256, ES384 for
//! P-384, EdDSA for Ed25519. Signatures are checked through [`crypto_provider`], never
//! through jsonwebtoken's process-wide default.

mod error;
mod jwk;
mod openssh;
#[cfg(feature = "aws-lc-rs")]
mod parsed;
mod pem;
mod provider;
mod secret;

use std::{fmt, path::Path, sync::Arc};

use jsonwebtoken::{Algorithm, DecodingKey};
use pkcs1::der::Encode as _;
use pkcs1::der::asn1::UintRef;

pub use error::KeyError;
pub use jwk::{JwkSet, SkippedKey};
pub use provider::crypto_provider;
pub use secret::{MIN_SECRET_BYTES, SecretKey};

use crate::file::{ReadFileError, read_bounded};

const MIN_RSA_BITS: usize = 2048;
pub(crate) const MAX_RSA_BITS: usize = 8192;
/// Key files larger than this are refused: a public key is a few hundred bytes.
pub(crate) const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// A public key that verifies tokens (RSA, EC P-256/P-384 or Ed25519), with an optional key
/// id (`kid`) and an optional algorithm it is bound to (a JWK's `alg`).
#[derive(Clone)]
pub struct PublicKey {
    kid: Option<String>,
    algorithm: Option<Algorithm>,
    key_type: KeyType,
    /// The key's bytes (RSA: PKCS#1 DER; EC: the uncompressed point; Ed25519: the 32 bytes),
    /// kept to compare keys.
    der: Arc<[u8]>,
    decoding_key: DecodingKey,
    /// The key parsed once per algorithm, shared by the clones.
    #[cfg(feature = "aws-lc-rs")]
    parsed: Arc<parsed::ParsedKeys>,
}

/// The type of a [`PublicKey`]; it decides which algorithms the key checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyType {
    /// RSA, with the modulus size in bits.
    Rsa {
        /// Size of the modulus in bits.
        bits: usize,
    },
    /// ECDSA over P-256 (ES256).
    EcP256,
    /// ECDSA over P-384 (ES384).
    EcP384,
    /// Ed25519 (EdDSA).
    Ed25519,
    /// A shared HMAC secret (HS256/384/512), only ever made from a [`SecretKey`].
    Hmac {
        /// The secret's length in bytes.
        bytes: usize,
    },
}

impl KeyType {
    /// The algorithms a key of this type checks.
    pub fn algorithms(self) -> &'static [Algorithm] {
        use Algorithm::*;
        match self {
            KeyType::Rsa { .. } => &[RS256, RS384, RS512, PS256, PS384, PS512],
            KeyType::EcP256 => &[ES256],
            KeyType::EcP384 => &[ES384],
            KeyType::Ed25519 => &[EdDSA],
            KeyType::Hmac { .. } => &[HS256, HS384, HS512],
        }
    }

    /// Whether a key of this type checks `algorithm`.
    pub fn checks(self, algorithm: Algorithm) -> bool {
        self.algorithms().contains(&algorithm)
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyType::Rsa { bits } => write!(f, "RSA ({bits} bits)"),
            KeyType::EcP256 => f.write_str("EC P-256"),
            KeyType::EcP384 => f.write_str("EC P-384"),
            KeyType::Ed25519 => f.write_str("Ed25519"),
            KeyType::Hmac { bytes } => write!(f, "HMAC secret ({bytes} bytes)"),
        }
    }
}

/// Two keys are equal when they are the same key with the same `kid` and `alg`.
impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.kid == other.kid
            && self.algorithm == other.algorithm
            && self.key_type == other.key_type
            && self.der == other.der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// A key of `key_type` with its bytes and jsonwebtoken's form of them; no `kid`, any
    /// algorithm of its type.
    fn of(key_type: KeyType, der: Arc<[u8]>, decoding_key: DecodingKey) -> Self {
        PublicKey {
            kid: None,
            algorithm: None,
            key_type,
            der,
            decoding_key,
            #[cfg(feature = "aws-lc-rs")]
            parsed: Arc::default(),
        }
    }

    /// Loads a key file: an OpenSSH line, a PEM block or a JWK, told apart by their content.
    /// The file must be a regular file of at most 64 KiB.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        Self::from_file_bytes(&read_key_file(path)?).map_err(|source| KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Parses the content of a key file: PEM when it starts with `-----BEGIN`, a JWK when it
    /// starts with `{`, else OpenSSH.
    pub(crate) fn from_file_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let not_a_key = || KeyError::NotAKey;
        let start = bytes.trim_ascii_start();
        if start.starts_with(b"-----BEGIN") {
            return Self::from_pem(bytes);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| not_a_key())?;
        if start.starts_with(b"{") {
            return Self::from_jwk(text);
        }
        // An OpenSSH line starts with its key type (`ssh-rsa`, `ecdsa-sha2-…`, `sk-…`);
        // anything else is not a key at all, rather than a key of another type.
        let first_word = text.split_ascii_whitespace().next().unwrap_or_default();
        let key_type = ["ssh-", "ecdsa-", "sk-"]
            .iter()
            .any(|prefix| first_word.starts_with(prefix));
        if !key_type {
            return Err(not_a_key());
        }
        Self::from_openssh(text)
    }

    /// Builds a key from its big-endian modulus and exponent, and checks it.
    pub fn from_rsa_components(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        // Leading zero bytes (an OpenSSH mpint, a DER INTEGER) make aws-lc-rs refuse every
        // signature, so the numbers are stored without them.
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = bit_length(n);
        if bits < MIN_RSA_BITS {
            return Err(KeyError::TooSmall { bits });
        }
        if bits > MAX_RSA_BITS {
            return Err(KeyError::TooLarge { bits });
        }
        let odd = e.last().is_some_and(|low| low & 1 == 1);
        if !odd || !(2..=33).contains(&bit_length(e)) {
            return Err(KeyError::BadExponent);
        }
        // Kept as PKCS#1 DER: aws-lc-rs verifies from DER faster than from raw components.
        let der = UintRef::new(n)
            .and_then(|modulus| {
                let public_exponent = UintRef::new(e)?;
                pkcs1::RsaPublicKeyRef {
                    modulus,
                    public_exponent,
                }
                .to_der()
            })
            .map_err(|e| KeyError::format("RSA", format!("cannot encode the key: {e}")))?;
        let decoding_key = DecodingKey::from_rsa_der(&der);
        Ok(PublicKey::of(
            KeyType::Rsa { bits },
            der.into(),
            decoding_key,
        ))
    }

    /// Builds an EC key from its uncompressed point (`0x04 ‖ x ‖ y`, SEC1) on `curve`
    /// ([`KeyType::EcP256`] or [`KeyType::EcP384`]). Whether the point is on the curve is
    /// checked with every signature: a point that is not verifies nothing.
    pub fn from_ec_point(curve: KeyType, point: &[u8]) -> Result<Self, KeyError> {
        let coordinate_bytes = match curve {
            KeyType::EcP256 => 32,
            KeyType::EcP384 => 48,
            other => {
                return Err(KeyError::format(
                    "EC",
                    format!("{other} is not an elliptic curve: give P-256 or P-384"),
                ));
            }
        };
        if point.len() != 1 + 2 * coordinate_bytes || point[0] != 0x04 {
            return Err(KeyError::format(
                "EC",
                format!(
                    "a {curve} public key is an uncompressed point of {} bytes starting with 0x04",
                    1 + 2 * coordinate_bytes
                ),
            ));
        }
        let decoding_key = DecodingKey::from_ec_der(point);
        Ok(PublicKey::of(curve, point.into(), decoding_key))
    }

    /// Builds an Ed25519 key from its 32 bytes.
    pub fn from_ed25519_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::format(
                "Ed25519",
                format!("an Ed25519 public key is 32 bytes, not {}", bytes.len()),
            ));
        }
        let decoding_key = DecodingKey::from_ed_der(bytes);
        Ok(PublicKey::of(KeyType::Ed25519, bytes.into(), decoding_key))
    }

    /// Binds the key to one algorithm of its type: tokens signed with another are not
    /// checked with it (a JWK's `alg` does this).
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Result<Self, KeyError> {
        if !self.key_type.checks(algorithm) {
            return Err(KeyError::AlgorithmMismatch {
                algorithm: format!("{algorithm:?}"),
                key_type: self.key_type,
            });
        }
        self.algorithm = Some(algorithm);
        Ok(self)
    }

    /// Checks `signature` over `message` with this key: the bare signature primitive of
    /// `algorithm`, through the crate's crypto provider. False for an algorithm of another
    /// key type.
    pub fn verify_signature(&self, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        if !self.key_type.checks(algorithm) {
            return false;
        }
        #[cfg(feature = "aws-lc-rs")]
        if let Some(valid) = self.parsed.verify(algorithm, &self.der, message, signature) {
            return valid;
        }
        // jsonwebtoken's verifier takes a `&Vec<u8>`: only this path copies the signature.
        (crypto_provider().verifier_factory)(&algorithm, &self.decoding_key)
            .is_ok_and(|verifier| verifier.verify(message, &signature.to_vec()).is_ok())
    }

    /// Whether this key may check a token with this `kid` (if any) and algorithm.
    pub(crate) fn is_candidate(&self, kid: Option<&str>, algorithm: Algorithm) -> bool {
        let kid_matches = kid.is_none_or(|kid| self.kid.as_deref() == Some(kid));
        kid_matches
            && self.key_type.checks(algorithm)
            && self.algorithm.is_none_or(|a| a == algorithm)
    }

    /// Gives the key a key id: tokens whose header names this `kid` are checked with it.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The size of the key in bits: the modulus of an RSA key, the curve of an EC key, 256
    /// for Ed25519, the length of an HMAC secret.
    pub fn bits(&self) -> usize {
        match self.key_type {
            KeyType::Rsa { bits } => bits,
            KeyType::EcP256 | KeyType::Ed25519 => 256,
            KeyType::EcP384 => 384,
            KeyType::Hmac { bytes } => bytes * 8,
        }
    }

    /// The key's type, which decides the algorithms it checks.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The algorithm the key is bound to, if any (a JWK's `alg`).
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.algorithm
    }
}

/// The algorithm a JOSE `alg` names: jsonwebtoken's names, and `Ed25519`, the fully-specified
/// name of EdDSA with Ed25519 that some providers publish (node's oidc-provider 9 among them).
pub(crate) fn algorithm_named(name: &str) -> Option<Algorithm> {
    match name {
        "Ed25519" => Some(Algorithm::EdDSA),
        other => other.parse().ok(),
    }
}

/// Reads a key file through the bounded reader.
pub(crate) fn read_key_file(path: &Path) -> Result<Vec<u8>, KeyError> {
    read_bounded(path, MAX_KEY_FILE_BYTES).map_err(|error| match error {
        ReadFileError::TooLarge { max } => KeyError::FileTooLarge {
            path: path.to_owned(),
            max,
        },
        other => KeyError::Read {
            path: path.to_owned(),
            source: other.into_io(),
        },
    })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The number of significant bits of a big-endian number without leading zero bytes.
fn bit_length(number: &[u8]) -> usize {
    number
        .first()
        .map_or(0, |top| number.len() * 8 - top.leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_length_counts_from_the_top_bit() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(bit_length(strip_leading_zeros(&[0, 0, 3])), 2);
    }

    #[test]
    fn a_file_that_is_not_a_key_says_so() {
        for content in [&[0xff, 0xfe, 0][..], b"garbage", b"", b"  \n"] {
            let error = PublicKey::from_file_bytes(content).unwrap_err();
            assert_eq!(
                error.to_string(),
                "not an OpenSSH, PEM or JWK public key",
                "{error}"
            );
        }
        let other_type = PublicKey::from_file_bytes(b"ssh-ed25519 AAAA").unwrap_err();
        assert!(matches!(other_type, KeyError::NotRsa(_)), "{other_type}");
    }
}
