//! Entry points for the fuzz targets (`fuzz/`): parsers inside the crate that the public API
//! reaches only through the network. Compiled only with `--cfg fuzzing`, which cargo-fuzz
//! sets; not an API.

use std::net::IpAddr;

use http::HeaderMap;

use crate::caller_addr::TrustedProxies;
use crate::token::{TokenSource, find_token};

/// Reads `body` as the OpenID configuration of `issuer`, then the endpoints it names.
#[cfg(any(feature = "jwks", feature = "introspection"))]
pub fn discovery_document(issuer: &str, body: &[u8]) {
    let url = format!("{issuer}/.well-known/openid-configuration");
    if let Ok(configuration) =
        crate::outbound::ProviderConfiguration::parse(url, issuer, body, false)
    {
        #[cfg(feature = "jwks")]
        let _ = configuration.endpoint(crate::outbound::Endpoint::Jwks);
        #[cfg(feature = "introspection")]
        let _ = configuration.endpoint(crate::outbound::Endpoint::Introspection);
    }
}

/// Reads an introspection answer of the form `form` picks (RFC 7662, tokenleader's
/// `verify_token`, a token-info URL), and its claims with that form's default shape.
#[cfg(feature = "introspection")]
pub fn introspection_answer(form: u8, status: u16, body: &[u8]) {
    use crate::introspection::{Introspection, answer};
    let introspection = match form % 3 {
        0 => Introspection::rfc7662("https://idp.example/introspect").audience("micros1"),
        1 => Introspection::tokenleader("https://tl.example"),
        _ => Introspection::query("https://idp.example/tokeninfo", "access_token"),
    };
    let shape = answer::shape(&introspection.form, None);
    if let answer::Answer::Active(claims) = answer::read(&introspection.form, status, body) {
        let max_ttl = std::time::Duration::from_secs(60);
        let _ = answer::claims(
            &shape,
            claims,
            1_800_000_000,
            max_ttl,
            &introspection.audiences,
        );
    }
}

/// Finds the token in `headers` (a cookie, `X-Auth-Token`, `Authorization: Bearer`, the
/// query of `uri`) and the client's address behind the `proxies` trusted.
pub fn request_headers(
    headers: &HeaderMap,
    uri: &http::Uri,
    peer: Option<IpAddr>,
    proxies: &[&str],
) {
    let sources = [
        TokenSource::Cookie("session".into()),
        TokenSource::XAuthToken,
        TokenSource::AuthorizationBearer,
        TokenSource::Query("access_token".into()),
    ];
    let _ = find_token(headers, Some(uri), &sources, true);
    if let Ok(proxies) = TrustedProxies::parse(proxies) {
        let _ = proxies.client_addr(peer, headers);
    }
}
