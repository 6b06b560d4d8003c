//! [`KeyError`]: a public key that could not be loaded, or that is refused.

use std::path::PathBuf;

use crate::escape::Untrusted;

/// A public key that could not be loaded, or that is refused because it is unsafe.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read (missing, unreadable, or not a regular file).
    #[error("cannot read key file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key file is larger than a public key can be.
    #[error("key file {} is larger than the {max} bytes allowed", path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The cap.
        max: u64,
    },
    /// A key file holds no acceptable key.
    #[error("key file {}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its key.
        source: Box<KeyError>,
    },
    /// A key file's content is none of the forms a key file may take.
    #[error("not an OpenSSH, PEM or JWK public key")]
    NotAKey,
    /// The input is not in the expected format.
    #[error("{format} key: {}", Untrusted(.message))]
    Format {
        /// `OpenSSH`, `PEM`, `JWK` or `key file`.
        format: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// An OpenSSH key that is not RSA (tokenleader's OpenSSH keys are `ssh-rsa`).
    #[error("key type `{0}` is not supported: tokenleader signs with RSA, give an RSA public key")]
    NotRsa(String),
    /// A key type this crate does not verify with.
    #[error(
        "key type `{}` is not supported: give an RSA, EC (P-256, P-384) or Ed25519 public key",
        Untrusted(.0)
    )]
    Unsupported(String),
    /// An HMAC secret shorter than the minimum.
    #[error("an HMAC secret of {bytes} bytes is refused: at least {min} random bytes are required")]
    SecretTooShort {
        /// Its length.
        bytes: usize,
        /// The minimum.
        min: usize,
    },
    /// A key bound to an algorithm of another key type (a JWK whose `alg` disagrees with its
    /// `kty` or `crv`).
    #[error("algorithm {} cannot be used with a {key_type} key", Untrusted(.algorithm))]
    AlgorithmMismatch {
        /// The algorithm.
        algorithm: String,
        /// The key's type.
        key_type: super::KeyType,
    },
    /// The modulus is shorter than 2048 bits.
    #[error("RSA key of {bits} bits refused: at least 2048 bits are required")]
    TooSmall {
        /// Size of the modulus in bits.
        bits: usize,
    },
    /// The modulus is longer than 8192 bits.
    #[error("RSA key of {bits} bits refused: at most 8192 bits are supported")]
    TooLarge {
        /// Size of the modulus in bits.
        bits: usize,
    },
    /// The public exponent is 1, even, or longer than 33 bits.
    #[error("RSA public exponent refused: it must be odd, greater than 1 and below 2^33")]
    BadExponent,
}

impl KeyError {
    pub(crate) fn format(format: &'static str, message: impl Into<String>) -> Self {
        KeyError::Format {
            format,
            message: message.into(),
        }
    }
}
