//! Arbitrary text as an ACL map: parsing must never panic; a map that parses must decide.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenleader_rbac::AclMap;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(map) = AclMap::from_yaml_str(text)
    {
        let roles: Vec<String> = map.roles().map(str::to_owned).collect();
        let _ = map.decide(&roles, "rule", Some("admin"));
    }
});
