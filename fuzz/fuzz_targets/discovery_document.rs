//! Arbitrary bytes as an OpenID provider's configuration document: reading it and the
//! endpoints it names must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tokenleader_rbac::fuzzing::discovery_document("https://idp.example/realms/acme", data);
});
