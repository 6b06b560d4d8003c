//! Arbitrary bytes as a token: verification must never panic, and never accept.
//!
//! The key is the real tokenleader server's, whose fixture tokens (`tests/fixtures/tokenleader/`)
//! verify: never seed the corpus with them, or the target "crashes" at once on a valid token.
//! The clock sits inside those tokens' hour, so a seeded fixture token would be accepted.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use tokenleader_rbac::{AclMap, Enforcer, PublicKey};

fn enforcer() -> &'static Enforcer {
    static ENFORCER: OnceLock<Enforcer> = OnceLock::new();
    ENFORCER.get_or_init(|| {
        let key =
            include_str!("../../tests/fixtures/tokenleader/tokenleader_public_key.ssh-rsa.pub");
        Enforcer::builder()
            .public_key(PublicKey::from_openssh(key).expect("fixture key"))
            .acl(AclMap::empty())
            .token_cache(0)
            .watch(false)
            .clock(|| UNIX_EPOCH + Duration::from_secs(1_795_368_531))
            .build()
            .expect("enforcer")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        // Without the server's private key no input can be a valid token.
        assert!(enforcer().verify(token).is_err());
        assert!(enforcer().verify_jws(token).is_err());
    }
});
