//! Arbitrary bytes as the answer of an introspection endpoint, in each of its three shapes
//! (RFC 7662, tokenleader's `verify_token`, a token-info URL), with a status: reading the
//! answer and its claims must never panic. The first byte picks the shape, the next two the
//! status.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [form, high, low, body @ ..] = data else {
        return;
    };
    let status = u16::from_be_bytes([*high, *low]) % 600;
    tokenleader_rbac::fuzzing::introspection_answer(*form, status, body);
});
