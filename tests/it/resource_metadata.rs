//! Protected resource metadata (RFC 9728): the document served at the well-known path, built
//! from what the enforcer trusts, and the `resource_metadata` parameter of every 401 challenge.

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::token::TokenSource;
use tokenleader_rbac::{Enforcer, EnforcerBuilder, Issuer, metadata};

use crate::common::*;

const RESOURCE: &str = "https://api.example.com/micros1";
const DOCUMENT_URL: &str = "https://api.example.com/.well-known/oauth-protected-resource/micros1";

fn builder() -> EnforcerBuilder {
    let issuer = TestIssuer::new();
    Enforcer::builder()
        .trust(Issuer::new("https://login.example.com").public_key(issuer.public_key()))
        .trust(Issuer::tokenleader().public_key(issuer.public_key()))
        .acl(fixture_acl())
        .watch(false)
}

fn with_metadata(enforcer: &Enforcer) -> Router {
    app(enforcer.clone()).merge(metadata::router(enforcer))
}

#[tokio::test]
async fn the_document_names_the_resource_its_issuers_the_header_and_the_rules_used() {
    let enforcer = builder().protected_resource(RESOURCE).build().unwrap();
    let app = with_metadata(&enforcer);
    let request = Request::get("/.well-known/oauth-protected-resource/micros1")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    let document = answer.body;
    assert_eq!(document["resource"], RESOURCE);
    // Only the issuer that names itself: tokenleader's tokens carry no `iss`.
    assert_eq!(
        document["authorization_servers"],
        serde_json::json!(["https://login.example.com"])
    );
    assert_eq!(
        document["bearer_methods_supported"],
        serde_json::json!(["header"])
    );
    let scopes = document["scopes_supported"].as_array().unwrap();
    assert!(scopes.iter().any(|scope| scope == FIRST_RULE), "{scopes:?}");
    assert_eq!(enforcer.resource_metadata().unwrap(), document);
}

#[tokio::test]
async fn a_query_source_is_a_bearer_method_of_its_own() {
    let enforcer = builder()
        .protected_resource("https://api.example.com")
        .token_sources([TokenSource::Query("access_token".into())])
        .build()
        .unwrap();
    let document = enforcer.resource_metadata().unwrap();
    assert_eq!(
        document["bearer_methods_supported"],
        serde_json::json!(["query"])
    );
    assert_eq!(
        metadata::document_path(&enforcer).as_deref(),
        Some("/.well-known/oauth-protected-resource")
    );
}

#[tokio::test]
async fn every_401_names_the_document_and_a_403_does_not() {
    let enforcer = builder().protected_resource(RESOURCE).build().unwrap();
    let app = with_metadata(&enforcer);
    let expected = format!(r#"resource_metadata="{DOCUMENT_URL}""#);

    let missing = send(&app, Request::get("/first").body(Body::empty()).unwrap()).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.headers[header::WWW_AUTHENTICATE],
        format!("Bearer {expected}").as_str()
    );

    let forged = get_with_token(&app, "/first", "not.a.token").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        forged.headers[header::WWW_AUTHENTICATE],
        format!(r#"Bearer error="invalid_token", {expected}"#).as_str()
    );

    let token = TestIssuer::new().token().roles(["role2"]).sign();
    let forbidden = get_with_token(&app, "/first", &token).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let challenge = forbidden.headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    assert!(!challenge.contains("resource_metadata"), "{challenge}");
}

#[tokio::test]
async fn without_a_resource_nothing_changes() {
    let enforcer = builder().build().unwrap();
    assert!(enforcer.resource_metadata().is_none());
    let app = with_metadata(&enforcer);
    let missing = send(&app, Request::get("/first").body(Body::empty()).unwrap()).await;
    assert_eq!(missing.headers[header::WWW_AUTHENTICATE], "Bearer");
    let document = send(
        &app,
        Request::get("/.well-known/oauth-protected-resource")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(document.status, StatusCode::NOT_FOUND);
}

#[test]
fn a_resource_that_is_not_an_https_url_fails_the_build_and_is_named() {
    for bad in [
        "api.example.com",
        "http://api.example.com/micros1",
        "https://api.example.com/micros1?x=1",
        "https://api.example.com/micros1#top",
    ] {
        let error = builder().protected_resource(bad).build().unwrap_err();
        let message = error.to_string();
        assert!(message.contains("protected_resource"), "{message}");
        assert!(message.contains(bad), "{message}");
    }
}

#[test]
fn the_document_tells_clients_of_dpop_and_certificate_bound_tokens() {
    use tokenleader_rbac::Algorithm;
    use tokenleader_rbac::dpop::Dpop;
    use tokenleader_rbac::mtls::CertificateSource;

    let plain = builder().protected_resource(RESOURCE).build().unwrap();
    let document = plain.resource_metadata().unwrap();
    assert!(document.get("dpop_signing_alg_values_supported").is_none());
    assert!(
        document
            .get("tls_client_certificate_bound_access_tokens")
            .is_none()
    );

    let issuer = TestIssuer::new();
    let enforcer = Enforcer::builder()
        .trust(
            Issuer::new("https://login.example.com")
                .public_key(issuer.public_key())
                .dpop(Dpop::required().algorithms([Algorithm::ES256, Algorithm::EdDSA])),
        )
        .client_certificates(CertificateSource::Tls)
        .external_url("https://api.example.com")
        .acl(fixture_acl())
        .watch(false)
        .protected_resource(RESOURCE)
        .build()
        .unwrap();
    let document = enforcer.resource_metadata().unwrap();
    assert_eq!(
        document["dpop_signing_alg_values_supported"],
        serde_json::json!(["ES256", "EdDSA"])
    );
    assert_eq!(document["dpop_bound_access_tokens_required"], true);
    assert_eq!(document["tls_client_certificate_bound_access_tokens"], true);
}
