//! Opaque tokens verified by introspection, against in-process stand-ins of the three
//! endpoint shapes: RFC 7662, tokenleader's `verify_token`, and a token-info URL.

#![cfg(feature = "introspection")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::json;
use tokenleader_rbac::claims::ClaimMapping;
use tokenleader_rbac::dpop::Dpop;
use tokenleader_rbac::introspection::Introspection;
use tokenleader_rbac::test_util::DpopKey;
use tokenleader_rbac::{AclMap, Enforcer, EnforcerBuilder};

use crate::common::*;

const VALID: &str = "opaque-valid-8f2c";
const DPOP_BOUND: &str = "opaque-dpop-51ab";
const ACL: &str = "- name: role1\n  allow: [service1:first_api:rulename1]\n";

#[derive(Default)]
struct Issuer {
    calls: AtomicUsize,
    down: AtomicBool,
    /// The `exp` of the valid token, by the stand-in's clock.
    exp: AtomicU64,
}

async fn rfc7662(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Response {
    issuer.calls.fetch_add(1, Ordering::SeqCst);
    if issuer.down.load(Ordering::SeqCst) {
        return (StatusCode::BAD_GATEWAY, "down").into_response();
    }
    // micros1:s3cret
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some("Basic bWljcm9zMTpzM2NyZXQ=")
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let exp = issuer.exp.load(Ordering::SeqCst);
    Json(match form.get("token").map(String::as_str) {
        Some(VALID) => json!({"active": true, "sub": "alice", "scope": "role1 openid", "exp": exp}),
        Some("opaque-expired") => json!({"active": true, "sub": "bob", "scope": "role1", "exp": 1}),
        Some(DPOP_BOUND) => json!({"active": true, "sub": "carol", "scope": "role1", "exp": exp,
            "cnf": {"jkt": DpopKey::es256().thumbprint()}}),
        _ => json!({"active": false}),
    })
    .into_response()
}

async fn verify_token(
    State(issuer): State<Arc<Issuer>>,
    headers: HeaderMap,
) -> (StatusCode, Json<serde_json::Value>) {
    issuer.calls.fetch_add(1, Ordering::SeqCst);
    let token = headers.get("x-auth-token").and_then(|v| v.to_str().ok());
    let body = match token {
        Some(VALID) => {
            json!({"status": "Verification Successful", "message": "ok", "payload": user1_claims()})
        }
        _ => json!({"status": "Invalid token", "message": "Invalid token"}),
    };
    (StatusCode::CREATED, Json(body))
}

async fn tokeninfo(
    State(issuer): State<Arc<Issuer>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    issuer.calls.fetch_add(1, Ordering::SeqCst);
    match query.get("access_token").map(String::as_str) {
        Some(VALID) => Json(json!({"uid": 42, "scope": ["role1"]})).into_response(),
        _ => (StatusCode::UNAUTHORIZED, "No such token").into_response(),
    }
}

async fn stand_in() -> (Arc<Issuer>, String) {
    let issuer = Arc::new(Issuer::default());
    issuer.exp.store(now() + 600, Ordering::SeqCst);
    let app = Router::new()
        .route("/introspect", post(rfc7662))
        .route("/token/verify_token", get(verify_token))
        .route("/tokeninfo", get(tokeninfo))
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "late"
            }),
        )
        .route("/html", post(|| async { Html("<html>login</html>") }))
        .route("/garbage", post(|| async { "{\"active\": tru" }))
        .route(
            "/fivehundred",
            post(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .with_state(issuer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (issuer, base)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn builder(introspection: Introspection) -> EnforcerBuilder {
    Enforcer::builder()
        .introspection(introspection)
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .watch(false)
}

fn keycloak(base: &str) -> Introspection {
    Introspection::rfc7662(format!("{base}/introspect")).client_credentials("micros1", "s3cret")
}

async fn status(enforcer: &Enforcer, token: &str) -> StatusCode {
    get_with_token(&app(enforcer.clone()), "/first", token)
        .await
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc7662_answers_decide() {
    let (issuer, base) = stand_in().await;
    let enforcer = builder(keycloak(&base)).build().unwrap();
    let answer = get_with_token(&app(enforcer.clone()), "/first", VALID).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["username"], "alice");
    assert_eq!(
        status(&enforcer, "opaque-inactive").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&enforcer, "opaque-expired").await,
        StatusCode::UNAUTHORIZED
    );
    // Cached: the valid token is not asked again.
    let calls = issuer.calls.load(Ordering::SeqCst);
    assert_eq!(status(&enforcer, VALID).await, StatusCode::OK);
    assert_eq!(issuer.calls.load(Ordering::SeqCst), calls);
    // Wrong client credentials are the service's fault: 503, not a pass and not a 401.
    let wrong = builder(
        Introspection::rfc7662(format!("{base}/introspect")).client_credentials("micros1", "nope"),
    )
    .build()
    .unwrap();
    assert_eq!(status(&wrong, VALID).await, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokenleaders_verify_token_and_a_tokeninfo_url_decide() {
    let (_, base) = stand_in().await;
    let enforcer = builder(Introspection::tokenleader(&base)).build().unwrap();
    let answer = get_with_token(&app(enforcer.clone()), "/first", VALID).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["username"], "user1");
    assert_eq!(status(&enforcer, "another").await, StatusCode::UNAUTHORIZED);

    let flarecast = builder(
        Introspection::query(format!("{base}/tokeninfo"), "access_token")
            .claim_mapping(ClaimMapping::new().username("/uid").roles("/scope")),
    )
    .build()
    .unwrap();
    let answer = get_with_token(&app(flarecast.clone()), "/first", VALID).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["username"], "42");
    assert_eq!(
        status(&flarecast, "unknown").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_cannot_answer_is_a_503_never_a_pass() {
    let (issuer, base) = stand_in().await;
    let enforcer = builder(keycloak(&base)).build().unwrap();
    issuer.down.store(true, Ordering::SeqCst);
    assert_eq!(
        status(&enforcer, VALID).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    issuer.down.store(false, Ordering::SeqCst);
    // Recovery: the outage is remembered for a second only.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(status(&enforcer, VALID).await, StatusCode::OK);

    for path in ["/html", "/garbage", "/fivehundred"] {
        let broken = builder(Introspection::rfc7662(format!("{base}{path}")))
            .build()
            .unwrap();
        assert_eq!(
            status(&broken, VALID).await,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path}"
        );
    }
    let slow =
        builder(Introspection::rfc7662(format!("{base}/slow")).timeout(Duration::from_millis(300)))
            .build()
            .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(status(&slow, VALID).await, StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(5));
    let unreachable = builder(Introspection::rfc7662("http://127.0.0.1:9/introspect"))
        .build()
        .unwrap();
    assert_eq!(
        status(&unreachable, VALID).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_with_one_token_make_one_call() {
    let (issuer, base) = stand_in().await;
    let app = app(builder(keycloak(&base)).build().unwrap());
    let requests: Vec<_> = (0..1000)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { get_with_token(&app, "/first", VALID).await.status })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(issuer.calls.load(Ordering::SeqCst), 1);
}

static CLOCK: AtomicU64 = AtomicU64::new(0);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_past_its_exp_is_not_served_from_the_cache() {
    let (issuer, base) = stand_in().await;
    CLOCK.store(now(), Ordering::SeqCst);
    issuer.exp.store(now() + 20, Ordering::SeqCst);
    let enforcer = builder(keycloak(&base))
        .clock(|| UNIX_EPOCH + Duration::from_secs(CLOCK.load(Ordering::SeqCst)))
        .build()
        .unwrap();
    assert_eq!(status(&enforcer, VALID).await, StatusCode::OK);
    assert_eq!(status(&enforcer, VALID).await, StatusCode::OK);
    assert_eq!(issuer.calls.load(Ordering::SeqCst), 1);
    // Past the answer's `exp`: asked again (and the issuer now says it expired).
    CLOCK.fetch_add(30, Ordering::SeqCst);
    assert_eq!(status(&enforcer, VALID).await, StatusCode::UNAUTHORIZED);
    assert_eq!(issuer.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_a_local_issuer_can_verify_is_never_sent_out() {
    let (issuer, base) = stand_in().await;
    // The fixture's clock reads `NOW`.
    issuer.exp.store(NOW + 600, Ordering::SeqCst);
    let enforcer = fixture_builder_with_introspection(keycloak(&base));
    let local = mint(&user1_claims());
    let answer = get_with_token(&app(enforcer.clone()), "/first", &local).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let forged = attacker_issuer().token().sign();
    assert_eq!(status(&enforcer, &forged).await, StatusCode::UNAUTHORIZED);
    assert_eq!(issuer.calls.load(Ordering::SeqCst), 0, "no JWT was sent");
    assert_eq!(status(&enforcer, VALID).await, StatusCode::OK);
    assert_eq!(issuer.calls.load(Ordering::SeqCst), 1);
}

fn fixture_builder_with_introspection(introspection: Introspection) -> Enforcer {
    test_key_builder()
        .introspection(introspection)
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .build()
        .unwrap()
}

#[test]
fn the_token_never_appears_in_logs_and_plain_http_elsewhere_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_, base) = runtime.block_on(stand_in());
    let log = logged(|| {
        runtime.block_on(async {
            let enforcer = builder(keycloak(&base)).build().unwrap();
            status(&enforcer, VALID).await;
            status(&enforcer, "opaque-inactive-secret").await;
            let down = builder(Introspection::rfc7662(format!("{base}/fivehundred")))
                .build()
                .unwrap();
            status(&down, "opaque-token-in-an-outage").await;
        });
    });
    for token in [VALID, "opaque-inactive-secret", "opaque-token-in-an-outage"] {
        assert!(!log.contains(token), "{log}");
    }
    let error = builder(Introspection::rfc7662("http://kc.example/introspect"))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("clear text"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_introspected_token_is_bound_by_the_cnf_of_its_answer() {
    let (_, base) = stand_in().await;
    let enforcer = builder(keycloak(&base))
        .dpop(Dpop::accepted())
        .external_url("https://api.example")
        .build()
        .unwrap();
    let app = app(enforcer);
    let key = DpopKey::es256();
    let dpop_request = |key: &DpopKey| {
        let proof = key
            .proof("GET", "https://api.example/first")
            .token(DPOP_BOUND)
            .sign();
        axum::http::Request::get("/first")
            .header("Authorization", format!("DPoP {DPOP_BOUND}"))
            .header("DPoP", proof)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let answer = send(&app, dpop_request(&key)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["username"], "carol");
    // Another key's proof, and the token alone as a bearer token.
    let answer = send(&app, dpop_request(&DpopKey::ed25519())).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let answer = get_with_token(&app, "/first", DPOP_BOUND).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.body["message"],
        tokenleader_rbac::TokenError::DpopBound.to_string()
    );
}
