//! A compact JWS taken apart: structure, header (`alg` in the allow list, no `crit`, a known
//! `kid`), and the signature check against the candidate keys.
//!
//! The header and the signature are decoded onto the stack: of a token's parts, only the
//! payload (read into the claims) and a `kid` (kept with the verified token) are allocated.

use std::borrow::Cow;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{DecodeSliceError, Engine as _};
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer};

use super::{TokenError, Validation};
use crate::escape::cut;
use crate::keys::{PublicKey, algorithm_named};

/// The header's members are borrowed from its decoded JSON (copied only when escaped).
#[derive(Deserialize)]
struct Header<'h> {
    #[serde(borrow)]
    alg: Option<Text<'h>>,
    #[serde(borrow)]
    kid: Option<Text<'h>>,
    #[serde(borrow)]
    typ: Option<Text<'h>>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// A JSON string, borrowed when it has no escapes: serde borrows a `Cow<str>` only when it
/// is a field's whole type, not inside an `Option`.
#[derive(Deserialize)]
struct Text<'h>(#[serde(borrow)] Cow<'h, str>);

impl Text<'_> {
    fn as_str(&self) -> &str {
        &self.0
    }
}

/// How much of a refused `alg` a refusal quotes.
const QUOTED_ALG_CHARS: usize = 16;

/// A header of up to this many bytes (decoded) is decoded onto the stack; a longer one (an
/// `x5c` chain, say) into a `Vec`.
const HEADER_ON_STACK: usize = 256;

/// The longest signature any accepted key makes: the largest RSA key's (EC, Ed25519 and HMAC
/// signatures are at most 96 bytes).
const MAX_SIGNATURE_BYTES: usize = crate::keys::MAX_RSA_BITS / 8;

/// Decodes the signature into `stack`; one longer than any accepted key makes is refused.
fn decode_signature<'s>(
    b64: &str,
    stack: &'s mut [u8; MAX_SIGNATURE_BYTES],
) -> Result<&'s [u8], TokenError> {
    match URL_SAFE_NO_PAD.decode_slice(b64, stack) {
        Ok(len) => Ok(&stack[..len]),
        Err(DecodeSliceError::OutputSliceTooSmall) => Err(TokenError::Malformed(format!(
            "signature is longer than any accepted key's ({MAX_SIGNATURE_BYTES} bytes)"
        ))),
        Err(DecodeSliceError::DecodeError(_)) => {
            Err(malformed("signature is not base64url without padding"))
        }
    }
}

/// Decodes the header's JSON into `stack` when it fits, else into a `Vec`.
fn decode_header<'s>(
    b64: &str,
    stack: &'s mut [u8; HEADER_ON_STACK],
) -> Result<Cow<'s, [u8]>, TokenError> {
    let not_base64 = || malformed("header is not base64url without padding");
    match URL_SAFE_NO_PAD.decode_slice(b64, stack) {
        Ok(len) => Ok(Cow::Borrowed(&stack[..len])),
        Err(DecodeSliceError::OutputSliceTooSmall) => URL_SAFE_NO_PAD
            .decode(b64)
            .map(Cow::Owned)
            .map_err(|_| not_base64()),
        Err(DecodeSliceError::DecodeError(_)) => Err(not_base64()),
    }
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
    signature_b64: &'t str,
    algorithm: Algorithm,
    pub(crate) kid: Option<Arc<str>>,
}

impl<'t> Jws<'t> {
    /// Takes `token` apart and checks its header against `validation` and `keys`: everything
    /// that can be refused without signature work is refused here, but for the signature's
    /// base64, which [`check_signature`](Self::check_signature) decodes onto the stack.
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
        let mut stack = [0; HEADER_ON_STACK];
        let header_json = decode_header(header_b64, &mut stack)?;
        let header: Header = serde_json::from_slice(&header_json).map_err(|e| {
            TokenError::Malformed(format!("header is not a valid JSON object: {e}"))
        })?;

        let alg = header.alg.as_ref().map_or("", Text::as_str);
        let algorithm = algorithm_named(alg)
            .filter(|a| validation.algorithms.is_empty() || validation.algorithms.contains(a))
            .ok_or_else(|| TokenError::AlgorithmNotAllowed(cut(alg, QUOTED_ALG_CHARS)))?;
        if header.crit {
            return Err(TokenError::CriticalHeader);
        }
        if !validation.typ_accepted(header.typ.as_ref().map(Text::as_str)) {
            let required = validation.required_typ.clone().unwrap_or_default();
            return Err(TokenError::WrongType(required));
        }
        let kid = header.kid.as_ref().map(Text::as_str);
        if !keys.iter().any(|key| key.is_candidate(kid, algorithm)) {
            let quoted_alg = || cut(alg, QUOTED_ALG_CHARS);
            return Err(match kid {
                // A key of another type: a new key set would not change that, so no refetch.
                Some(kid) if keys.iter().any(|key| key.kid() == Some(kid)) => {
                    TokenError::AlgorithmNotForKey(quoted_alg())
                }
                Some(_) => TokenError::UnknownKeyId,
                None => TokenError::AlgorithmNotAllowed(quoted_alg()),
            });
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| malformed("payload is not base64url without padding"))?;
        // Its base64 is checked by `check_signature`, which decodes it onto the stack.
        Ok(Jws {
            signed: &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()],
            payload,
            signature_b64,
            algorithm,
            // Kept with the verified token: allocated once the header passed.
            kid: kid.map(Arc::from),
        })
    }

    /// Checks the signature with the keys that may check it (its `kid`, its algorithm).
    pub(crate) fn check_signature(&self, keys: &[PublicKey]) -> Result<(), TokenError> {
        let mut stack = [0; MAX_SIGNATURE_BYTES];
        let signature = decode_signature(self.signature_b64, &mut stack)?;
        let verified = keys
            .iter()
            .filter(|key| key.is_candidate(self.kid.as_deref(), self.algorithm))
            .any(|key| key.verify_signature(self.algorithm, self.signed, signature));
        if verified {
            Ok(())
        } else {
            Err(TokenError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_as_long_as_an_8192_bit_keys_decodes_and_a_longer_one_is_refused() {
        let mut stack = [0; MAX_SIGNATURE_BYTES];
        let longest = URL_SAFE_NO_PAD.encode([7; MAX_SIGNATURE_BYTES]);
        let signature = decode_signature(&longest, &mut stack).expect("fits");
        assert_eq!(signature, [7; MAX_SIGNATURE_BYTES]);

        let longer = URL_SAFE_NO_PAD.encode([7; MAX_SIGNATURE_BYTES + 1]);
        let error = decode_signature(&longer, &mut stack).expect_err("refused");
        assert!(
            matches!(&error, TokenError::Malformed(m) if m.contains("longer")),
            "{error:?}"
        );
        let error = decode_signature("not base64!", &mut stack).expect_err("refused");
        assert!(
            matches!(&error, TokenError::Malformed(m) if m.contains("base64")),
            "{error:?}"
        );
    }

    #[test]
    fn header_members_are_borrowed_unless_escaped() {
        let header: Header =
            serde_json::from_slice(br#"{"alg":"RS512","kid":"k\u0031"}"#).expect("a header");
        assert!(matches!(header.alg, Some(Text(Cow::Borrowed("RS512")))));
        assert!(matches!(header.kid, Some(Text(Cow::Owned(ref kid))) if kid == "k1"));
    }

    #[test]
    fn a_header_too_long_for_the_stack_is_decoded_all_the_same() {
        let mut stack = [0; HEADER_ON_STACK];
        let short = br#"{"alg":"RS512"}"#;
        let decoded = decode_header(&URL_SAFE_NO_PAD.encode(short), &mut stack).expect("decodes");
        assert!(matches!(decoded, Cow::Borrowed(bytes) if bytes == short));

        let long = format!(
            r#"{{"alg":"RS512","x5c":["{}"]}}"#,
            "A".repeat(HEADER_ON_STACK)
        );
        let mut stack = [0; HEADER_ON_STACK];
        let decoded = decode_header(&URL_SAFE_NO_PAD.encode(&long), &mut stack).expect("decodes");
        assert!(matches!(&decoded, Cow::Owned(bytes) if bytes == long.as_bytes()));

        let mut stack = [0; HEADER_ON_STACK];
        assert!(
            decode_header("e30=", &mut stack).is_err(),
            "padding is refused"
        );
        let bad_long = format!("{}!", "A".repeat(2 * HEADER_ON_STACK));
        assert!(decode_header(&bad_long, &mut stack).is_err());
    }
}
