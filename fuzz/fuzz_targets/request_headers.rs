//! Arbitrary request headers (`Cookie`, `X-Forwarded-For`, `X-Auth-Token`, `Authorization`)
//! and query: finding the token and the client's address must never panic. The input is
//! split on NUL bytes into the headers' values and the query, in that order.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use http::{HeaderMap, HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;

const HEADERS: [&str; 4] = ["cookie", "x-forwarded-for", "x-auth-token", "authorization"];

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|byte| *byte == 0);
    let mut headers = HeaderMap::new();
    for name in HEADERS {
        if let Some(Ok(value)) = parts.next().map(HeaderValue::from_bytes) {
            headers.append(name, value);
        }
    }
    let query = parts.next().and_then(|query| std::str::from_utf8(query).ok());
    let uri = query
        .and_then(|query| format!("/entries?{query}").parse::<Uri>().ok())
        .unwrap_or_else(|| Uri::from_static("/entries"));
    let peer = Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)));
    tokenleader_rbac::fuzzing::request_headers(&headers, &uri, peer, &["10.0.0.0/8", "::1"]);
});
