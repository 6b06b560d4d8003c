//! Arbitrary bytes as a DPoP proof, a request path and an Envoy client certificate header:
//! never a panic, and no proof of a key the fuzzer does not hold is ever accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&[u8], &str, &str)| {
    let (proof, path, xfcc) = input;
    tokenleader_rbac::fuzzing::dpop_proof(proof, path, xfcc);
});
