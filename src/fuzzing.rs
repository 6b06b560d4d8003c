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

/// Checks `proof` as the DPoP proof of a request to `https://api.example{path}` with `token`
/// bound to a key no fuzzer holds: it is refused, never a panic, and its refusal is text for a
/// log line (no line break). Then `xfcc` as an Envoy client certificate header from a trusted
/// proxy.
pub fn dpop_proof(proof: &[u8], path: &str, xfcc: &str) {
    use crate::dpop::{Dpop, ExternalUrl, ProofTarget, RequestUrl, check_proof};
    use crate::mtls::{CertificateCarrier, CertificateSource};
    let Ok(uri) = format!("/{}", path.trim_start_matches('/')).parse::<http::Uri>() else {
        return;
    };
    let external = ExternalUrl::parse("https://api.example").ok();
    let Ok(url) = RequestUrl::of(external.as_ref(), false, &uri, &HeaderMap::new()) else {
        return;
    };
    let target = ProofTarget {
        method: "GET",
        url: &url,
        token: "header.payload.signature",
        jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
    };
    let policy = Dpop::required().require_nonce([7u8; 32]);
    match check_proof(proof, &policy, &target, 1_800_000_000) {
        Ok(_) => panic!("a proof of a key nobody holds was accepted"),
        Err(error) => assert!(!error.to_string().contains('\n')),
    }
    let mut headers = HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(xfcc) {
        headers.insert("x-forwarded-client-cert", value);
        let carrier = CertificateCarrier {
            extensions: None,
            headers: &headers,
        };
        let _ = CertificateSource::EnvoyXfcc.thumbprint(&carrier, true);
    }
}
