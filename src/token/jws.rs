//! A compact JWS taken apart: structure, header (`alg` in the allow list, no `crit`, a known
//! `kid`), and the signature check against the candidate keys.

use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer};

use super::{TokenError, Validation};
use crate::keys::PublicKey;

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// True whenever the member is there, whatever its value (even `null`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

fn malformed(message: &str) -> TokenError {
    TokenError::Malformed(message.to_owned())
}

/// A compact JWS whose header was checked; its signature not yet.
pub(crate) struct Jws<'t> {
    signed: &'t [u8],
    pub(crate) payload: Vec<u8>,
    signature: Vec<u8>,
    algorithm: Algorithm,
    pub(crate) kid: Option<String>,
}

impl<'t> Jws<'t> {
    /// Takes `token` apart and checks its header against `validation` and `keys`: everything
    /// that can be refused without signature work is refused here.
    pub(crate) fn parse(
        token: &'t str,
        validation: &Validation,
        keys: &[PublicKey],
    ) -> Result<Self, TokenError> {
        if token.len() > validation.max_token_bytes {
            return Err(TokenError::TooLong {
                max: validation.max_token_bytes,
            });
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("a token has exactly three dot-separated parts"));
        };
        if header_b64.is_empty() || signature_b64.is_empty() {
            return Err(malformed(
                "the header or the signature of the token is empty",
            ));
        }
        let header_json = URL_SAFE_NO_PAD
            .decode(header_b64)
            .map_err(|_| malformed("header is not base64url without padding"))?;
        let header: Header = serde_json::from_slice(&header_json).map_err(|e| {
            TokenError::Malformed(format!("header is not a valid JSON object: {e}"))
        })?;

        let alg = header.alg.as_deref().unwrap_or("");
        let algorithm = Algorithm::from_str(alg)
            .ok()
            .filter(|a| validation.algorithms.contains(a))
            .ok_or_else(|| TokenError::AlgorithmNotAllowed(alg.chars().take(16).collect()))?;
        if header.crit {
            return Err(TokenError::CriticalHeader);
        }
        let kid = header.kid;
        if !keys
            .iter()
            .any(|key| key.is_candidate(kid.as_deref(), algorithm))
        {
            return Err(match kid {
                Some(_) => TokenError::UnknownKeyId,
                None => TokenError::AlgorithmNotAllowed(alg.to_owned()),
            });
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| malformed("payload is not base64url without padding"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| malformed("signature is not base64url without padding"))?;
        Ok(Jws {
            signed: &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()],
            payload,
            signature,
            algorithm,
            kid,
        })
    }

    /// Checks the signature with the keys that may check it (its `kid`, its algorithm).
    pub(crate) fn check_signature(&self, keys: &[PublicKey]) -> Result<(), TokenError> {
        let verified = keys
            .iter()
            .filter(|key| key.is_candidate(self.kid.as_deref(), self.algorithm))
            .any(|key| key.verify_signature_vec(self.algorithm, self.signed, &self.signature));
        if verified {
            Ok(())
        } else {
            Err(TokenError::BadSignature)
        }
    }
}
