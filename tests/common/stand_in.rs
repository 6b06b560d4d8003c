//! An in-process stand-in of the tokenleader server API, with the shapes and status codes
//! of the real server (../shared/tokenleader-server/README.md). Prefixes pick a behaviour:
//! `/ok` answers like the server; `/html500`, `/html200`, `/plain503`, `/badjson`,
//! `/notjsonshape` and `/hang` answer `POST …/token/gettoken` badly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse},
    routing::{get, post},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// The stand-in's state: how many tokens it issued, and the `exp` it gives them.
#[derive(Default)]
pub struct StandIn {
    pub fetches: AtomicUsize,
    pub exp: AtomicU64,
    verifications: AtomicUsize,
}

impl StandIn {
    /// How many `verify_token` calls reached the stand-in.
    pub fn verify_calls(&self) -> usize {
        self.verifications.load(Ordering::SeqCst)
    }
}

/// A token-shaped string whose payload carries `exp` (the client reads it unverified).
fn token_with_exp(exp: u64, serial: usize) -> String {
    let payload = URL_SAFE_NO_PAD.encode(json!({"exp": exp, "n": serial}).to_string());
    format!("eyJhbGciOiJSUzUxMiJ9.{payload}.c2ln")
}

async fn gettoken(
    State(server): State<Arc<StandIn>>,
    body: Json<Value>,
) -> (StatusCode, Json<Value>) {
    let serial = server.fetches.fetch_add(1, Ordering::SeqCst) + 1;
    // Slow enough that concurrent callers overlap.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let user = body["username"].as_str().unwrap_or_default();
    let password = body["password"].as_str().unwrap_or_default();
    let status = |s: &str| (StatusCode::OK, Json(json!({"status": s, "message": s})));
    match (user, password) {
        ("", _) | (_, "") => status("missing authentication info "),
        ("user1", "user1") => (
            StatusCode::CREATED,
            Json(json!({
                "status": "success", "message": "success",
                "auth_token": token_with_exp(server.exp.load(Ordering::SeqCst), serial),
                "service_catalog": {
                    "tokenleader": {"id": 1, "name": "tokenleader",
                        "endpoint_url_internal": "http://10.0.0.1:5001", "endpoint_url_external": "https://tl.example",
                        "endpoint_url_admin": "https://admin.tl.example"},
                    "micros1": {"id": 2, "name": "micros1", "endpoint_url_internal": "http://micros1:8080",
                        "endpoint_url_external": null, "endpoint_url_admin": null}
                }
            })),
        ),
        ("user1", _) => status("Wrong Password"),
        _ => status("User not registered"),
    }
}

async fn verify_token(
    State(server): State<Arc<StandIn>>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    server.verifications.fetch_add(1, Ordering::SeqCst);
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // `valid`, `expired`, anything else; or a token whose payload part is one of these.
    let body = match token.split('.').nth(1).unwrap_or(token) {
        "valid" => json!({"status": "Verification Successful", "message": "ok", "payload": {
            "exp": 1_795_372_071u64, "iat": 1_795_368_471u64,
            "sub": {"id": 1, "username": "user1", "email": "user1", "roles": ["role1"],
                    "wfc": {"id": 1, "name": "wfc1", "org": "org1", "orgunit": "ou1", "department": "dept1"}}}}),
        "expired" => json!({"status": "Signature expired", "message": "Signature expired"}),
        _ => json!({"status": "Invalid token", "message": "Invalid token"}),
    };
    (StatusCode::CREATED, Json(body))
}

async fn echo_token(headers: HeaderMap) -> String {
    headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_owned()
}

async fn start(server: Arc<StandIn>) -> String {
    let app = Router::new()
        .route("/ok/token/gettoken", post(gettoken))
        .route("/ok/token/verify_token", get(verify_token))
        .route("/ok/echo", get(echo_token))
        .route(
            "/html500/token/gettoken",
            post(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html("<!DOCTYPE HTML><title>500 Internal Server Error</title>"),
                )
            }),
        )
        .route(
            "/html200/token/gettoken",
            post(|| async { Html("<html><body>login</body></html>") }),
        )
        .route(
            "/plain503/token/gettoken",
            post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response() }),
        )
        .route(
            "/badjson/token/gettoken",
            post(|| async { (StatusCode::CREATED, "{\"status\": \"succ").into_response() }),
        )
        .route(
            "/notjsonshape/token/gettoken",
            post(|| async { (StatusCode::CREATED, Json(json!([1, 2]))) }),
        )
        .route(
            "/hang/token/gettoken",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// Starts a stand-in on 127.0.0.1; gives its state and its base URL.
pub async fn stand_in() -> (Arc<StandIn>, String) {
    let server = Arc::new(StandIn::default());
    server.exp.store(1_800_003_600, Ordering::SeqCst);
    let base = start(server.clone()).await;
    (server, base)
}
