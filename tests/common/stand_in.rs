//! An in-process stand-in of the tokenleader server API, with the shapes and status codes
//! of the real server (../shared/tokenleader-server/README.md). Prefixes pick a behaviour:
//! `/ok` answers like the server; `/html500`, `/html200`, `/plain503`, `/badjson`,
//! `/notjsonshape` and `/hang` answer `POST …/token/gettoken` badly. `/ok` also serves the
//! users API: user1 may list users, user3 may not.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::{
    Json, Router,
    extract::{Path, State},
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
    /// The last login's body, its password replaced by `"<set>"`.
    pub last_login: Mutex<Value>,
    /// The bodies of `POST /add/user`, and the paths of the other users calls, in order.
    pub users_calls: Mutex<Vec<Value>>,
}

impl StandIn {
    /// How many `verify_token` calls reached the stand-in.
    pub fn verify_calls(&self) -> usize {
        self.verifications.load(Ordering::SeqCst)
    }
}

/// A token-shaped string whose payload carries `exp` (the client reads it unverified) and
/// the user.
fn token_with_exp(exp: u64, serial: usize, user: &str) -> String {
    let payload =
        URL_SAFE_NO_PAD.encode(json!({"exp": exp, "n": serial, "user": user}).to_string());
    format!("eyJhbGciOiJSUzUxMiJ9.{payload}.c2ln")
}

/// The user of a stand-in token in `X-Auth-Token`.
fn caller(headers: &HeaderMap) -> Option<String> {
    let token = headers.get("x-auth-token")?.to_str().ok()?;
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    let payload: Value = serde_json::from_slice(&payload).ok()?;
    Some(payload["user"].as_str()?.to_owned())
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
    let mut recorded = body.0.clone();
    recorded["password"] = json!("<set>");
    *server.last_login.lock().unwrap() = recorded;
    let status = |s: &str| (StatusCode::OK, Json(json!({"status": s, "message": s})));
    match (user, password) {
        ("", _) | (_, "") => status("missing authentication info "),
        ("user1", "user1") | ("user3", "user3") => (
            StatusCode::CREATED,
            Json(json!({
                "status": "success", "message": "success",
                "auth_token": token_with_exp(server.exp.load(Ordering::SeqCst), serial, user),
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

fn user_record(name: &str) -> Value {
    json!({"email": name, "id": 1, "roles": ["role1"], "username": name,
        "wfc": {"department": "dept1", "id": 1, "name": "wfc1", "org": "org1", "orgunit": "ou1"}})
}

/// The real server's refusal: HTTP 200, a JSON body labelled HTML.
fn restricted() -> axum::response::Response {
    let body = r#"{"message": "this endpoint is restricted , authenticaton or authorization failed \npossible reasons: \n  1.access configuration in role_acl_map.yml \n2. missing public key  in the client config file "}"#;
    ([("content-type", "text/html; charset=utf-8")], body).into_response()
}

async fn list_users(
    State(server): State<Arc<StandIn>>,
    headers: HeaderMap,
) -> axum::response::Response {
    server.users_calls.lock().unwrap().push(json!("list"));
    match caller(&headers).as_deref() {
        Some("user1") => {
            Json(json!({"status": [user_record("user1"), user_record("user3")]})).into_response()
        }
        _ => restricted(),
    }
}

async fn show_user(State(server): State<Arc<StandIn>>, Path(name): Path<String>) -> Json<Value> {
    server
        .users_calls
        .lock()
        .unwrap()
        .push(json!(format!("show {name}")));
    match name.as_str() {
        "user1" | "a b/c" => Json(json!({"status": user_record(&name)})),
        _ => Json(json!({"status": {"error": "No such record is found"}})),
    }
}

async fn add_user(State(server): State<Arc<StandIn>>, body: Json<Value>) -> Json<Value> {
    server.users_calls.lock().unwrap().push(body.0.clone());
    let name = body["name"].as_str().unwrap_or_default();
    Json(match (name, body["wfc"].as_str()) {
        ("user1", _) => {
            json!({"status": format!("databse integrity error, {name} by the same name may be already present  or all the requredfileds has not been supplied.\n\n Full detail: [parameters: ('{name}', 'x', 'pbkdf2:sha256:150000$salt$hash')]")})
        }
        (_, Some("nowfc")) => json!({"status": "user registration aborted"}),
        _ => json!({"status": format!("{name} has been registered.")}),
    })
}

async fn delete_user(State(server): State<Arc<StandIn>>, Path(name): Path<String>) -> Json<Value> {
    server
        .users_calls
        .lock()
        .unwrap()
        .push(json!(format!("delete {name}")));
    Json(match name.as_str() {
        "ghost" => json!({"status": "None  not found in database"}),
        _ => json!({"status": format!("{name} has been  deleted successfully")}),
    })
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
        .route("/ok/list/users", get(list_users))
        .route("/ok/list/user/{name}", get(show_user))
        .route("/ok/add/user", post(add_user))
        .route("/ok/delete/user/{name}", axum::routing::delete(delete_user))
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
