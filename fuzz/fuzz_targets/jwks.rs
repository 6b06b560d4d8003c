//! Arbitrary text as a JSON Web Key Set and as one JWK: reading must never panic; every key
//! read is of a supported type, and never verifies a signature it did not make.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenleader_rbac::keys::{JwkSet, KeyType, PublicKey};

fn check(key: &PublicKey) {
    assert!(matches!(
        key.key_type(),
        KeyType::Rsa { .. } | KeyType::EcP256 | KeyType::EcP384 | KeyType::Ed25519
    ));
    for &algorithm in key.key_type().algorithms() {
        assert!(!key.verify_signature(algorithm, b"header.payload", &[0u8; 64]));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = JwkSet::parse(text) {
        set.keys.iter().for_each(check);
        for skipped in &set.skipped {
            // A reason is text for a log line: escaped, so never a line break in it.
            assert!(!skipped.reason.to_string().contains('\n'));
        }
    }
    if let Ok(key) = PublicKey::from_jwk(text) {
        check(&key);
    }
});
