//! Arbitrary text as an OpenSSH public key line: loading must never panic, and a key that
//! loads must be RSA of 2048 to 8192 bits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenleader_rbac::PublicKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data)
        && let Ok(key) = PublicKey::from_openssh(line)
    {
        assert!((2048..=8192).contains(&key.bits()));
    }
});
