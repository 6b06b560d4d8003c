//! The race of a key rotation under load, decided with the keys a request read.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::*;
use crate::keys::SecretKey;
use crate::reload::Reporter;
use crate::{Algorithm, PublicKey};

const SECRET: &[u8] = b"a test-only HMAC secret, long enough for HS256";

fn key(kid: &str) -> PublicKey {
    SecretKey::from_bytes(SECRET)
        .unwrap()
        .into_verifying_key()
        .with_kid(kid)
}

/// An issuer whose key `old` was replaced by `new` (a fetch ended), and the keys a
/// request read before that.
fn rotated() -> (TrustedIssuer, Arc<KeySet>) {
    let keys = KeySource::load(
        "test".into(),
        vec![key("old")],
        Vec::new(),
        0,
        Arc::new(Reporter { on_reload: None }),
    )
    .unwrap();
    let read = Arc::clone(&keys.keys());
    keys.set_remote_keys(vec![key("new")], 0);
    let mut verifier = Verifier::default();
    verifier.validation.algorithms = vec![Algorithm::HS256];
    let issuer = TrustedIssuer {
        verifier,
        keys: Arc::new(keys),
        jwks: None,
        #[cfg(feature = "introspection")]
        introspector: None,
        introspects_all: false,
    };
    (issuer, read)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A tokenleader-shaped HS256 token naming key `kid`.
fn token(kid: &str) -> String {
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": kid});
    let wfc =
        json!({"id": 1, "name": "wfc1", "org": "org1", "orgunit": "ou1", "department": "dept1"});
    let sub =
        json!({"id": 1, "username": "user1", "email": "user1", "roles": ["role1"], "wfc": wfc});
    let claims = json!({"iat": now(), "exp": now() + 3600, "sub": sub});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET).unwrap();
    mac.update(input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{input}.{signature}")
}

/// The race of a rotation under load: a fetch ends between the moment a request read the
/// keys and the moment it asks for a refetch, which the rate limit then holds back.
#[test]
fn a_token_whose_key_came_while_it_was_checked_is_checked_again() {
    let (issuer, read) = rotated();
    let verdict = issuer.verify_with(&read, &token("new"), now(), true, true);
    assert!(matches!(verdict, Verdict::Verified(_)));
}

#[test]
fn a_key_that_is_still_unknown_is_refused() {
    let (issuer, read) = rotated();
    for keys in [read, Arc::clone(&issuer.keys.keys())] {
        let verdict = issuer.verify_with(&keys, &token("other"), now(), true, true);
        assert!(matches!(
            verdict,
            Verdict::Denied(Denial::Unauthenticated(TokenError::UnknownKeyId))
        ));
    }
}
