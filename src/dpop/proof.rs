//! One DPoP proof checked against the request it came with: header, claims, key, signature.
//! The cheap refusals (size, structure, `typ`, `alg`, the claims, the key's thumbprint) come
//! before the signature check; the replay check comes after it, in the caller, so that only
//! a proof that is otherwise good takes a place in the replay store.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::nonce::NonceAge;
use super::{Dpop, DpopError, FUTURE_SKEW_SECS, ReplayKey, RequestUrl};
use crate::escape::cut;
use crate::keys::{PublicKey, algorithm_named};

/// Proofs longer than this are refused unread: a proof with an RSA 4096 key is under 2 KiB.
const MAX_PROOF_BYTES: usize = 8 * 1024;

/// `jti`s longer than this are refused: the replay store keeps their hash, but the text is
/// hashed on every request.
const MAX_JTI_BYTES: usize = 512;

/// How much of a proof's text (`alg`, a key error) a refusal quotes.
const QUOTED_CHARS: usize = 64;

/// The members of a JWK that only a private key has (RFC 7518 §6): a proof carrying one
/// leaked its key.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof that passed every check but the replay check.
#[derive(Debug)]
pub(crate) struct CheckedProof {
    /// What the replay store keeps of it.
    pub(crate) replay_key: ReplayKey,
    /// When its `jti` may be forgotten: its age has run out by then.
    pub(crate) expires_at: u64,
    /// The server nonce to hand the client with the response, when its proof carried the
    /// previous minute's.
    pub(crate) next_nonce: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: Option<String>,
    jwk: Option<Map<String, Value>>,
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<Value>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// The request a proof must be for.
pub(crate) struct ProofTarget<'a> {
    pub(crate) method: &'a str,
    pub(crate) url: &'a RequestUrl,
    /// The access token sent with it.
    pub(crate) token: &'a str,
    /// The token's `cnf.jkt`.
    pub(crate) jkt: &'a str,
}

/// Checks `proof` (the `DPoP` header's bytes) for `target` at `now` with `policy`.
pub(crate) fn check_proof(
    proof: &[u8],
    policy: &Dpop,
    target: &ProofTarget<'_>,
    now: u64,
) -> Result<CheckedProof, DpopError> {
    let malformed = |why: &str| DpopError::Malformed(why.to_owned());
    if proof.len() > MAX_PROOF_BYTES {
        return Err(malformed("longer than 8 KiB"));
    }
    let proof = std::str::from_utf8(proof).map_err(|_| malformed("not ASCII"))?;
    let mut parts = proof.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a proof has exactly three dot-separated parts"));
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| DpopError::Malformed(format!("{what} is not base64url without padding")))
    };
    let signing_input = &proof.as_bytes()[..header.len() + 1 + payload.len()];
    let header: Header = serde_json::from_slice(&decode(header, "header")?)
        .map_err(|e| DpopError::Malformed(format!("header: {e}")))?;
    let claims: Claims = serde_json::from_slice(&decode(payload, "payload")?)
        .map_err(|e| DpopError::Malformed(format!("payload: {e}")))?;
    let signature = decode(signature, "signature")?;

    if !header
        .typ
        .as_deref()
        .is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(DpopError::WrongType);
    }
    if header.crit.is_some() {
        return Err(malformed("`crit` is not supported"));
    }
    let alg = header.alg.as_deref().unwrap_or("(none)");
    let algorithm = algorithm_named(alg)
        .filter(|algorithm| policy.algorithms.contains(algorithm))
        .ok_or_else(|| DpopError::AlgorithmNotAllowed(cut(alg, QUOTED_CHARS)))?;

    let jti = claims.jti.ok_or(DpopError::BadClaim("jti"))?;
    if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
        return Err(DpopError::BadClaim("jti"));
    }
    if claims.htm.ok_or(DpopError::BadClaim("htm"))? != target.method {
        return Err(DpopError::WrongMethod);
    }
    if !target
        .url
        .matches(&claims.htu.ok_or(DpopError::BadClaim("htu"))?)
    {
        return Err(DpopError::WrongUrl);
    }
    let iat = claims
        .iat
        .as_ref()
        .and_then(Value::as_u64)
        .ok_or(DpopError::BadClaim("iat"))?;
    let oldest = now.saturating_sub(policy.max_age.as_secs());
    if iat < oldest || iat > now.saturating_add(FUTURE_SKEW_SECS) {
        return Err(DpopError::Stale);
    }
    let ath = claims.ath.ok_or(DpopError::BadClaim("ath"))?;
    if ath != URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(target.token)) {
        return Err(DpopError::WrongToken);
    }

    let nonce_age = policy
        .nonce
        .as_ref()
        .map(|secret| {
            let age = claims.nonce.as_deref().and_then(|n| secret.age(n, now));
            age.ok_or_else(|| DpopError::UseNonce {
                nonce: secret.nonce(now),
            })
        })
        .transpose()?;
    let key = proof_key(header.jwk)?;
    if !key.key_type().checks(algorithm) || key.algorithm().is_some_and(|a| a != algorithm) {
        return Err(DpopError::BadKey(format!(
            "a {} key does not sign {algorithm:?}",
            key.key_type()
        )));
    }
    if key.jwk_thumbprint().as_deref() != Some(target.jkt) {
        return Err(DpopError::WrongKey);
    }
    if !key.verify_signature(algorithm, signing_input, &signature) {
        return Err(DpopError::BadSignature);
    }
    Ok(CheckedProof {
        replay_key: ReplayKey::of(target.jkt, &jti),
        expires_at: iat
            .saturating_add(policy.max_age.as_secs())
            .saturating_add(1),
        // Made only for a proof that passed: the next nonce costs an HMAC.
        next_nonce: match (nonce_age, &policy.nonce) {
            (Some(NonceAge::Previous), Some(secret)) => Some(secret.nonce(now)),
            _ => None,
        },
    })
}

/// The public key of the proof's `jwk` header: present, public, usable.
fn proof_key(jwk: Option<Map<String, Value>>) -> Result<PublicKey, DpopError> {
    let jwk = jwk.ok_or_else(|| DpopError::BadKey("missing".into()))?;
    if let Some(private) = PRIVATE_MEMBERS.iter().find(|name| jwk.contains_key(**name)) {
        return Err(DpopError::BadKey(format!(
            "it holds the private member `{private}`: a proof carries the public key only"
        )));
    }
    let text = Value::Object(jwk).to_string();
    PublicKey::from_jwk(&text).map_err(|e| DpopError::BadKey(cut(&e.to_string(), QUOTED_CHARS)))
}
