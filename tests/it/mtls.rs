//! Certificate-bound tokens (RFC 8705) without a handshake: the certificate from the request
//! extensions, from Envoy's `X-Forwarded-Client-Cert` and from nginx's escaped PEM, the
//! headers believed from trusted proxies only. The real TLS handshake is in `mtls_tls.rs`.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::get;
use http::{HeaderName, Request, StatusCode};
use sha2::Digest as _;
use tokenleader_rbac::mtls::{CertificateSource, ClientCertificate};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{AclMap, Enforcer, EnforcerBuilder, RequireRule, TokenError};

use crate::common::{Answer, build_error, send};

const ACL: &str = "- name: reader\n  allow: [entries.list]\n";

fn builder(issuer: &TestIssuer) -> EnforcerBuilder {
    Enforcer::builder()
        .public_key(issuer.public_key())
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .watch(false)
}

fn app(enforcer: Enforcer) -> Router {
    Router::new()
        .route(
            "/entries",
            get(|| async { "entries" }).route_layer(RequireRule("entries.list")),
        )
        .layer(enforcer)
}

/// Stand-in DER bytes: the binding hashes them, whatever they hold.
fn certificate(n: u8) -> ClientCertificate {
    ClientCertificate::from_der(vec![0x30, 0x03, 0x02, 0x01, n])
}

fn request(token: &str, peer: &str, headers: &[(&str, String)]) -> Request<Body> {
    let mut request = Request::get("/entries").header("X-Auth-Token", token);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn refused(answer: &Answer, error: TokenError) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(answer.body["message"], error.to_string());
}

#[tokio::test]
async fn a_bound_token_needs_the_certificate_of_the_tls_connection() {
    let issuer = TestIssuer::new();
    let app = app(builder(&issuer)
        .client_certificates(CertificateSource::Tls)
        .build()
        .unwrap());
    let token = issuer
        .token()
        .roles(["reader"])
        .bound_to_certificate(&certificate(1))
        .sign();
    let with = |certificate: Option<ClientCertificate>| {
        let mut request = request(&token, "192.0.2.1:4000", &[]);
        if let Some(certificate) = certificate {
            request.extensions_mut().insert(certificate);
        }
        request
    };
    assert_eq!(
        send(&app, with(Some(certificate(1)))).await.status,
        StatusCode::OK
    );
    refused(
        &send(&app, with(Some(certificate(2)))).await,
        TokenError::WrongCertificate,
    );
    refused(
        &send(&app, with(None)).await,
        TokenError::NoClientCertificate,
    );
    // Tokens without the binding are not affected.
    let plain = issuer.token().roles(["reader"]).sign();
    let answer = send(&app, request(&plain, "192.0.2.1:4000", &[])).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_certificate_source_bound_tokens_are_refused() {
    let issuer = TestIssuer::new();
    let app = app(builder(&issuer).build().unwrap());
    let token = issuer
        .token()
        .roles(["reader"])
        .bound_to_certificate(&certificate(1))
        .sign();
    let mut request = request(&token, "192.0.2.1:4000", &[]);
    request.extensions_mut().insert(certificate(1));
    refused(&send(&app, request).await, TokenError::NoClientCertificate);
}

#[tokio::test]
async fn envoy_xfcc_counts_from_trusted_proxies_only() {
    let issuer = TestIssuer::new();
    let enforcer = builder(&issuer)
        .trusted_proxies(["10.0.0.0/8"])
        .client_certificates(CertificateSource::EnvoyXfcc)
        .build()
        .unwrap();
    let app = app(enforcer);
    let token = issuer
        .token()
        .roles(["reader"])
        .bound_to_certificate(&certificate(1))
        .sign();
    let hash: String = sha2::Sha256::digest(certificate(1).der())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let xfcc = (
        "x-forwarded-client-cert",
        format!(r#"By=spiffe://cluster/api;Hash={hash};Subject="CN=client, O=Acme, Inc.""#),
    );
    let answer = send(
        &app,
        request(&token, "10.0.0.5:4000", std::slice::from_ref(&xfcc)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // The same header from a peer that is not a trusted proxy is ignored.
    let answer = send(
        &app,
        request(&token, "192.0.2.1:4000", std::slice::from_ref(&xfcc)),
    )
    .await;
    refused(&answer, TokenError::NoClientCertificate);
    // Another certificate's hash, and two elements (which one is the client's?).
    let other = (
        "x-forwarded-client-cert",
        format!("Hash={}", "ab".repeat(32)),
    );
    refused(
        &send(&app, request(&token, "10.0.0.5:4000", &[other])).await,
        TokenError::WrongCertificate,
    );
    let two = ("x-forwarded-client-cert", format!("{},{}", xfcc.1, xfcc.1));
    let answer = send(&app, request(&token, "10.0.0.5:4000", &[two])).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn nginx_escaped_pem_counts_from_trusted_proxies_only() {
    let issuer = TestIssuer::new();
    let header = HeaderName::from_static("x-ssl-client-cert");
    let enforcer = builder(&issuer)
        .trusted_proxies(["127.0.0.1"])
        .client_certificates(CertificateSource::EscapedPem(header))
        .build()
        .unwrap();
    let app = app(enforcer);
    let token = issuer
        .token()
        .roles(["reader"])
        .bound_to_certificate(&certificate(3))
        .sign();
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", certificate(3).der().to_vec()));
    let escaped = percent_encoding::utf8_percent_encode(&pem, percent_encoding::NON_ALPHANUMERIC);
    let header = ("x-ssl-client-cert", escaped.to_string());
    let answer = send(
        &app,
        request(&token, "127.0.0.1:4000", std::slice::from_ref(&header)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let answer = send(&app, request(&token, "192.0.2.1:4000", &[header])).await;
    refused(&answer, TokenError::NoClientCertificate);
    let garbage = ("x-ssl-client-cert", "not%20a%20certificate".to_owned());
    let answer = send(&app, request(&token, "127.0.0.1:4000", &[garbage])).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[test]
fn a_proxy_header_without_trusted_proxies_fails_the_build() {
    let issuer = TestIssuer::new();
    let builder = Enforcer::builder()
        .public_key(issuer.public_key())
        .client_certificates(CertificateSource::EnvoyXfcc);
    assert!(build_error(builder).contains("add `.trusted_proxies([..])`"));
}
