//! Shared helpers of the integration tests: fixtures, a router under test, token minting.
#![allow(dead_code)] // each test file uses a different part of this module

pub mod stand_in;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{Json, Router, body::Body, http::Request, routing::get};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderMap, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{
    AclMap, Enforcer, EnforcerBuilder, Identity, PublicKey, RequireRule, TokenError, Wfc,
};
use tower::ServiceExt;

/// How long a test waits for something that happens in the background (a reload, a thread,
/// a connection): generous, so that a loaded 2-core machine does not fail a correct test.
pub const WAIT_BOUND: Duration = Duration::from_secs(20);

/// Polls `condition` until it holds; fails the test after [`WAIT_BOUND`].
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < WAIT_BOUND,
            "not within {WAIT_BOUND:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// [`eventually`] for async tests: sleeps without blocking the runtime.
pub async fn eventually_async(what: &str, condition: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < WAIT_BOUND,
            "not within {WAIT_BOUND:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Request headers that carry `token` in `X-Auth-Token`.
pub fn headers(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-auth-token", token.parse().unwrap());
    headers
}

/// `iat` of the real server's fixture tokens; they live one hour.
pub const FIXTURE_IAT: u64 = 1_795_368_471;
pub const FIXTURE_EXP: u64 = 1_795_372_071;
pub const FIRST_RULE: &str = "service1:first_api:rulename1";
pub const THIRD_RULE: &str = "service1:third_api:rulename3";

pub fn fixture(path: &str) -> String {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub fn fixture_token(name: &str) -> String {
    fixture(&format!("tokenleader/{name}.jwt"))
        .trim()
        .to_owned()
}

pub fn at(secs: u64) -> impl Fn() -> SystemTime + Send + Sync + 'static {
    move || UNIX_EPOCH + Duration::from_secs(secs)
}

pub fn fixture_acl() -> AclMap {
    AclMap::from_yaml_str(&fixture("tokenleader/role_to_acl_map.yml")).expect("fixture ACL")
}

/// The real server's key, the real ACL map, the clock inside the fixture tokens' hour.
pub fn fixture_builder() -> EnforcerBuilder {
    let key = PublicKey::from_openssh(&fixture("tokenleader/tokenleader_public_key.ssh-rsa.pub"))
        .expect("fixture key");
    Enforcer::builder()
        .public_key(key)
        .acl(fixture_acl())
        .clock(at(FIXTURE_IAT + 60))
}

async fn whoami(who: Identity, wfc: Wfc) -> Json<Value> {
    Json(json!({
        "id": who.id, "username": who.username, "email": who.email, "roles": who.roles,
        "wfc": {"id": wfc.id, "name": wfc.name, "org": wfc.org, "orgunit": wfc.orgunit,
                "department": wfc.department},
    }))
}

/// `/first` requires `service1:first_api:rulename1`, `/third` requires
/// `service1:third_api:rulename3`; both answer with the caller's identity and wfc.
pub fn app(enforcer: Enforcer) -> Router {
    Router::new()
        .route("/first", get(whoami).route_layer(RequireRule(FIRST_RULE)))
        .route("/third", get(whoami).route_layer(RequireRule(THIRD_RULE)))
        .layer(enforcer)
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

pub async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn get_with_token(app: &Router, path: &str, token: &str) -> Answer {
    let request = Request::get(path)
        .header("X-Auth-Token", token)
        .body(Body::empty())
        .expect("request");
    send(app, request).await
}

/// Asserts a 401 with the JSON body and `WWW-Authenticate` of an invalid token, and returns
/// the message.
pub fn assert_invalid_token(answer: &Answer) -> String {
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "body: {}",
        answer.body
    );
    assert_eq!(
        answer.headers["www-authenticate"],
        r#"Bearer error="invalid_token""#
    );
    assert_eq!(answer.body["status"], "unauthorized");
    answer.body["message"].as_str().expect("message").to_owned()
}

// ---- minting tokens with test-only keys -------------------------------------------------

pub fn trusted_private() -> String {
    fixture("test_keys/trusted_private.pem")
}

pub fn attacker_private() -> String {
    fixture("test_keys/attacker_private.pem")
}

pub fn trusted_public() -> PublicKey {
    PublicKey::from_pem(fixture("test_keys/trusted_public.pem").as_bytes()).expect("test key")
}

pub const NOW: u64 = 1_800_000_000;

/// An enforcer that trusts the test key, with the fixture ACL and the clock at [`NOW`].
pub fn test_key_builder() -> EnforcerBuilder {
    Enforcer::builder()
        .public_key(trusted_public())
        .acl(fixture_acl())
        .clock(at(NOW))
}

/// Claims as the tokenleader server writes them, for user1 issued at [`NOW`].
pub fn user1_claims() -> Value {
    json!({
        "exp": NOW + 3600, "iat": NOW,
        "sub": {"id": 1, "username": "user1", "email": "user1", "roles": ["role1"],
                "wfc": {"id": 1, "name": "wfc1", "org": "org1", "orgunit": "ou1", "department": "dept1"}}
    })
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload` of a compact JWS, from raw JSON text.
pub fn signing_input(header: &str, payload: &str) -> String {
    format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()))
}

/// An HMAC signature of `message`, for forgeries only: every valid token is minted by a
/// [`TestIssuer`].
pub fn hmac_signature(message: &str, secret: &[u8], algorithm: Algorithm) -> String {
    // Both jsonwebtoken backends are on under --all-features: choose one for the signing
    // done here (the crate itself never needs this).
    let _ = tokenleader_rbac::keys::crypto_provider().install_default();
    let key = EncodingKey::from_secret(secret);
    jsonwebtoken::crypto::sign(message.as_bytes(), &key, algorithm).expect("sign")
}

/// The issuer the enforcers of these tests trust: the `trusted` test key pair.
pub fn trusted_issuer() -> TestIssuer {
    TestIssuer::with_key(&trusted_private(), trusted_public())
}

/// An issuer nobody trusts: the `attacker` test key pair.
pub fn attacker_issuer() -> TestIssuer {
    let public = PublicKey::from_pem(fixture("test_keys/attacker_public.pem").as_bytes());
    TestIssuer::with_key(&attacker_private(), public.expect("test key"))
}

/// A token with the given header and claims (JSON text), signed by `issuer`.
pub fn mint_raw(header: &str, claims: &str, issuer: &TestIssuer, algorithm: Algorithm) -> String {
    issuer.sign_raw(header, claims, algorithm)
}

/// A correct RS512 token for `claims`, signed by the trusted test key.
pub fn mint(claims: &Value) -> String {
    mint_raw(
        r#"{"typ":"JWT","alg":"RS512"}"#,
        &claims.to_string(),
        &trusted_issuer(),
        Algorithm::RS512,
    )
}

/// Collects what `tracing` writes, to read the events a test caused.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Runs `f` with a subscriber that writes into the returned log.
pub fn logged(f: impl FnOnce()) -> String {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    log.text()
}

/// Why `enforcer` refuses `token`, which must be a 401.
pub fn refusal(enforcer: &Enforcer, token: &str) -> TokenError {
    enforcer
        .verify(token)
        .unwrap_err()
        .token_error()
        .cloned()
        .expect("a 401")
}

/// Why `builder` (with an empty map, unwatched) does not build.
pub fn build_error(builder: EnforcerBuilder) -> String {
    builder
        .acl(AclMap::empty())
        .watch(false)
        .build()
        .unwrap_err()
        .to_string()
}
