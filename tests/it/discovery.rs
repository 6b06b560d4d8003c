//! OpenID Connect discovery against an in-process identity provider: the configuration's
//! `issuer` must be the URL given, its `jwks_uri` gives the keys; anything else fails the
//! build and never yields a trusted key.

#![cfg(feature = "jwks")]

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::{Router, routing::get};
use serde_json::json;
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{AclMap, Algorithm, Enforcer, EnforcerBuilder, Issuer, TokenError};

use crate::common::*;

/// Serves `/{realm}/.well-known/openid-configuration` and `/{realm}/certs`; the realm's name
/// picks a behaviour.
async fn provider() -> String {
    async fn configuration(State(base): State<String>, Path(realm): Path<String>) -> Response {
        let issuer = format!("{base}/{realm}");
        let certs = format!("{issuer}/certs");
        match realm.as_str() {
            "acme" => axum::Json(json!({"issuer": issuer, "jwks_uri": certs})).into_response(),
            "renamed" => {
                axum::Json(json!({"issuer": format!("{base}/elsewhere"), "jwks_uri": certs}))
                    .into_response()
            }
            "nojwks" => axum::Json(json!({"issuer": issuer})).into_response(),
            "ftp" => {
                axum::Json(json!({"issuer": issuer, "jwks_uri": "ftp://x/certs"})).into_response()
            }
            "html" => Html("<html><body>login</body></html>").into_response(),
            "broken" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
            "huge" => "x".repeat(10 * 1024 * 1024).into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    async fn certs() -> String {
        let jwk: serde_json::Value =
            serde_json::from_str(&fixture("test_keys/trusted_public.jwk.json")).unwrap();
        json!({"keys": [jwk]}).to_string()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route(
            "/{realm}/.well-known/openid-configuration",
            get(configuration),
        )
        .route("/{realm}/certs", get(certs))
        .with_state(base.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// Builds off the async workers: discovery waits for the provider.
async fn build(builder: EnforcerBuilder) -> Result<Enforcer, tokenleader_rbac::Error> {
    tokio::task::spawn_blocking(move || builder.build())
        .await
        .unwrap()
}

/// A token of the discovered realm: RS512 with the trusted test key, naming `iss`.
fn realm_token(iss: &str) -> String {
    let mut claims = user1_claims();
    claims["iss"] = json!(iss);
    claims["sub"] = json!("alice");
    claims["aud"] = json!("micros1");
    mint_raw(
        r#"{"alg":"RS512","kid":"trusted-2026"}"#,
        &claims.to_string(),
        &trusted_issuer(),
        Algorithm::RS512,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovered_issuer_beside_tokenleader() {
    let base = provider().await;
    let realm = format!("{base}/acme");
    let tokenleader = TestIssuer::new();
    let enforcer = build(
        Enforcer::builder()
            .trust(Issuer::tokenleader().public_key(tokenleader.public_key()))
            .trust(
                Issuer::discover(&realm)
                    .algorithms([Algorithm::RS512])
                    .audience("micros1"),
            )
            .acl(AclMap::empty())
            .clock(at(NOW))
            .watch(false),
    )
    .await
    .unwrap();
    let claims = enforcer.verify(&realm_token(&realm)).unwrap();
    assert_eq!(&*claims.identity.username, "alice");
    let tokenleader_token = tokenleader
        .token()
        .issued_at(std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW))
        .sign();
    assert!(enforcer.verify(&tokenleader_token).is_ok());
    // The discovered issuer's keys check only its own tokens.
    let other = realm_token(&format!("{base}/other"));
    assert!(matches!(
        enforcer.verify(&other).unwrap_err().token_error(),
        Some(TokenError::UnknownIssuer(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builders_own_issuer_by_discovery() {
    let base = provider().await;
    let realm = format!("{base}/acme");
    let enforcer = build(
        Enforcer::builder()
            .oidc_discovery(&realm)
            .audience("micros1")
            .acl(AclMap::empty())
            .clock(at(NOW))
            .watch(false),
    )
    .await
    .unwrap();
    assert!(enforcer.verify(&realm_token(&realm)).is_ok());
    // Tokens must name the discovered issuer.
    let error = enforcer
        .verify(&realm_token("https://evil.example"))
        .unwrap_err();
    assert_eq!(error, TokenError::WrongIssuer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_configurations_fail_the_build() {
    let base = provider().await;
    for (realm, expected) in [
        ("renamed", "its `issuer` is"),
        ("nojwks", "no `jwks_uri`"),
        ("ftp", "is not an http(s) URL"),
        ("html", "not an OpenID configuration (JSON)"),
        ("broken", "HTTP 500"),
        ("huge", "larger than"),
        ("missing", "HTTP 404"),
    ] {
        let error = build(
            Enforcer::builder()
                .trust(
                    Issuer::discover(format!("{base}/{realm}"))
                        .algorithms([Algorithm::RS512])
                        .audience("micros1"),
                )
                .acl(AclMap::empty())
                .watch(false),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(error.contains(expected), "{realm}: {error}");
    }
}

/// `oidc_discovery` kept RS512 and tokenleader's claims where `Issuer::discover` took RS256:
/// the same token passed one and failed the other. Both are now `Issuer::discover`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_discovery_forms_decide_alike() {
    let base = provider().await;
    let realm = format!("{base}/acme");
    let own = || Enforcer::builder().oidc_discovery(&realm);
    let trusted = || Enforcer::builder().trust(Issuer::discover(&realm).audience("micros1"));
    let forms = [
        build(
            own()
                .audience("micros1")
                .acl(AclMap::empty())
                .clock(at(NOW))
                .watch(false),
        )
        .await
        .unwrap(),
        build(trusted().acl(AclMap::empty()).clock(at(NOW)).watch(false))
            .await
            .unwrap(),
    ];
    let mut without_aud = user1_claims();
    without_aud["iss"] = json!(realm);
    without_aud["sub"] = json!("alice");
    let without_aud = mint_raw(
        r#"{"alg":"RS512","kid":"trusted-2026"}"#,
        &without_aud.to_string(),
        &trusted_issuer(),
        Algorithm::RS512,
    );
    for enforcer in &forms {
        let claims = enforcer.verify(&realm_token(&realm)).unwrap();
        assert_eq!(&*claims.identity.username, "alice", "the user in `sub`");
        assert_eq!(refusal(enforcer, &without_aud), TokenError::WrongAudience);
    }
    // Neither builds without an audience.
    for builder in [own(), Enforcer::builder().trust(Issuer::discover(&realm))] {
        let error = build(builder.acl(AclMap::empty()).watch(false))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("give `.audience(..)`"),
            "{error}"
        );
    }
}
