//! Keys parsed once (aws-lc-rs backend). jsonwebtoken's aws-lc-rs verifier copies the key and
//! parses it again for every signature; for RSA that includes the modulus' Montgomery
//! constants, about a seventh of a 2048-bit check. aws-lc-rs's `ParsedPublicKey` keeps them.
//! Same primitive, same parameters, same key bytes as jsonwebtoken's verifier: only the
//! parsing moves off the request path.

use std::sync::OnceLock;

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use jsonwebtoken::Algorithm;

/// One key's parsed forms, made on first use per algorithm (a key may check six RSA
/// algorithms; most services use one).
#[derive(Default)]
pub(crate) struct ParsedKeys {
    slots: [OnceLock<Option<ParsedPublicKey>>; SLOTS],
}

const SLOTS: usize = 9;

impl ParsedKeys {
    /// Checks `signature` over `message` with the key `bytes` (the form jsonwebtoken's
    /// verifier is given: PKCS#1 DER, an uncompressed EC point, 32 Ed25519 bytes). `None` for
    /// an algorithm this path does not serve (HMAC), or bytes aws-lc-rs does not take as a
    /// key of it: the caller then asks jsonwebtoken, which refuses them the same way.
    pub(crate) fn verify(
        &self,
        algorithm: Algorithm,
        bytes: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Option<bool> {
        let (slot, parameters) = parameters(algorithm)?;
        let parsed = self.slots[slot]
            .get_or_init(|| ParsedPublicKey::new(parameters, bytes).ok())
            .as_ref()?;
        Some(parsed.verify_sig(message, signature).is_ok())
    }
}

/// The slot and the aws-lc-rs parameters jsonwebtoken 11 verifies `algorithm` with.
fn parameters(algorithm: Algorithm) -> Option<(usize, &'static dyn VerificationAlgorithm)> {
    Some(match algorithm {
        Algorithm::RS256 => (0, &signature::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => (1, &signature::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => (2, &signature::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => (3, &signature::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => (4, &signature::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => (5, &signature::RSA_PSS_2048_8192_SHA512),
        Algorithm::ES256 => (6, &signature::ECDSA_P256_SHA256_FIXED),
        Algorithm::ES384 => (7, &signature::ECDSA_P384_SHA384_FIXED),
        Algorithm::EdDSA => (8, &signature::ED25519),
        // HMAC, and whatever later jsonwebtoken versions add: jsonwebtoken's own verifier.
        _ => return None,
    })
}
