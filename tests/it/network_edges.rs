//! The network edges (JWKS, discovery, introspection) against hostile or merely real servers:
//! each test names the defect of the network-edges issue it holds down. The real OpenID
//! provider's suite (`tests/oidc_provider.rs`) covers the same ground against node's
//! oidc-provider.

#![cfg(all(feature = "jwks", feature = "introspection"))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde_json::{Value, json};
use tokenleader_rbac::introspection::Introspection;
use tokenleader_rbac::keys::{JwkSet, PublicKey};
use tokenleader_rbac::layer::RequireAnyRule;
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{Algorithm, Enforcer, EnforcerBuilder, Issuer, TokenError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

const TRUSTED_KID: &str = "trusted-2026";
const NEXT_KID: &str = "next-2026";

fn jwk(file: &str) -> Value {
    serde_json::from_str(&fixture(file)).unwrap()
}

fn trusted_jwk() -> Value {
    jwk("test_keys/trusted_public.jwk.json")
}

fn next_jwk() -> Value {
    jwk("test_keys/attacker_public.jwk.json")
}

/// The test kit's Ed25519 key as a JWK with the fully-specified `alg` oidc-provider 9 writes.
fn ed25519_jwk(kid: &str) -> Value {
    let pem = std::fs::read_to_string(format!(
        "{}/src/test_util/test_only_ed25519_public_key.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&der[der.len() - 32..]);
    json!({"kty": "OKP", "crv": "Ed25519", "alg": "Ed25519", "use": "sig", "kid": kid, "x": x})
}

/// A P-521 key (ES512), which this crate does not verify with.
fn p521_jwk() -> Value {
    let coordinate = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([1u8; 66]);
    json!({"kty": "EC", "crv": "P-521", "alg": "ES512", "kid": "p521", "x": coordinate, "y": coordinate})
}

fn key_set(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// A token with `kid` and `alg`, signed by `issuer`.
fn token_of(header: Value, issuer: &TestIssuer, algorithm: Algorithm) -> String {
    mint_raw(
        &header.to_string(),
        &user1_claims().to_string(),
        issuer,
        algorithm,
    )
}

fn rs512(kid: &str, issuer: &TestIssuer) -> String {
    token_of(
        json!({"alg": "RS512", "kid": kid}),
        issuer,
        Algorithm::RS512,
    )
}

/// Builds off the async workers: the first fetch waits for the servers here.
async fn build(builder: EnforcerBuilder) -> Result<Enforcer, tokenleader_rbac::Error> {
    tokio::task::spawn_blocking(move || builder.build())
        .await
        .unwrap()
}

async fn build_error(builder: EnforcerBuilder) -> String {
    build(builder.watch(false)).await.unwrap_err().to_string()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---- an HTTP/1.1 key server that closes idle keep-alive connections, as node does ---------

struct IdleClosing {
    jwks: Mutex<String>,
    requests: AtomicUsize,
    connections: AtomicUsize,
}

/// Serves `jwks` to every GET, keeps each connection open for more requests, and closes it
/// after `idle` without one (node's `keepAliveTimeout`, nginx's `keepalive_timeout`).
async fn idle_closing_server(jwks: String, idle: Duration) -> (Arc<IdleClosing>, String) {
    let server = Arc::new(IdleClosing {
        jwks: Mutex::new(jwks),
        requests: AtomicUsize::new(0),
        connections: AtomicUsize::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    let shared = server.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            shared.connections.fetch_add(1, Ordering::SeqCst);
            let server = shared.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 4096];
                loop {
                    let read = tokio::time::timeout(idle, socket.read(&mut buffer)).await;
                    let Ok(Ok(read @ 1..)) = read else {
                        return; // idle, closed or broken: the connection is closed
                    };
                    head.extend_from_slice(&buffer[..read]);
                    if !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        continue;
                    }
                    head.clear();
                    server.requests.fetch_add(1, Ordering::SeqCst);
                    let body = server.jwks.lock().unwrap().clone();
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (server, url)
}

// ---- an identity provider with the wrong habits, in process --------------------------------

#[derive(Default)]
struct Provider {
    base: Mutex<String>,
    jwks: Mutex<String>,
    jwks_requests: AtomicUsize,
    introspections: AtomicUsize,
    /// Calls that reached the target of a redirect.
    elsewhere: AtomicUsize,
}

impl Provider {
    fn base(&self) -> String {
        self.base.lock().unwrap().clone()
    }
}

async fn provider(jwks: String) -> (Arc<Provider>, String) {
    async fn certs(State(provider): State<Arc<Provider>>) -> String {
        provider.jwks_requests.fetch_add(1, Ordering::SeqCst);
        provider.jwks.lock().unwrap().clone()
    }
    async fn configuration(State(provider): State<Arc<Provider>>) -> Json<Value> {
        let base = provider.base();
        Json(json!({
            "issuer": format!("{base}/idp"),
            "jwks_uri": format!("{base}/certs"),
            "introspection_endpoint": format!("{base}/introspect"),
        }))
    }
    async fn plain_configuration(State(provider): State<Arc<Provider>>) -> Json<Value> {
        let base = provider.base();
        Json(json!({"issuer": format!("{base}/plain-idp"), "jwks_uri": "http://kc.example/certs"}))
    }
    async fn introspect(
        State(provider): State<Arc<Provider>>,
        axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
    ) -> Json<Value> {
        provider.introspections.fetch_add(1, Ordering::SeqCst);
        let exp = unix_now() + 600;
        Json(match form.get("token").map(String::as_str) {
            // A client-credentials token: RFC 7662 names its client, and no `sub`.
            Some("opaque-client-credentials") => {
                json!({"active": true, "client_id": "svc-a", "scope": "role1", "aud": "micros1", "exp": exp})
            }
            Some("opaque-for-another-service") => {
                json!({"active": true, "sub": "alice", "scope": "role1", "aud": ["billing"], "exp": exp})
            }
            _ => json!({"active": false}),
        })
    }
    async fn elsewhere(State(provider): State<Arc<Provider>>) -> Json<Value> {
        provider.elsewhere.fetch_add(1, Ordering::SeqCst);
        Json(json!({"active": true, "sub": "mallory", "scope": "role1", "exp": unix_now() + 600}))
    }
    fn redirect(status: StatusCode, to: &'static str) -> impl Fn() -> Response + Clone {
        move || (status, [("location", to)]).into_response()
    }
    let provider = Arc::new(Provider::default());
    *provider.jwks.lock().unwrap() = jwks;
    let found = redirect(StatusCode::FOUND, "/certs");
    let temporary = redirect(StatusCode::TEMPORARY_REDIRECT, "/elsewhere");
    let app = Router::new()
        .route("/certs", get(certs))
        .route("/idp/.well-known/openid-configuration", get(configuration))
        .route(
            "/plain-idp/.well-known/openid-configuration",
            get(plain_configuration),
        )
        .route("/introspect", post(introspect))
        .route("/elsewhere", post(elsewhere))
        .route("/redirect/certs", get(move || async move { found() }))
        .route(
            "/redirect-idp/.well-known/openid-configuration",
            get(|| async {
                (
                    StatusCode::MOVED_PERMANENTLY,
                    [("location", "/idp/.well-known/openid-configuration")],
                )
            }),
        )
        .route("/introspect-307", post(move || async move { temporary() }))
        .route(
            "/introspect-302",
            post(|| async { (StatusCode::FOUND, [("location", "/elsewhere")]) }),
        )
        .with_state(provider.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    *provider.base.lock().unwrap() = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (provider, base)
}

fn jwks_builder(url: &str) -> EnforcerBuilder {
    Enforcer::builder()
        .jwks_url(url)
        .acl(fixture_acl())
        .clock(at(NOW))
}

fn introspection_builder(introspection: Introspection) -> EnforcerBuilder {
    Enforcer::builder()
        .introspection(introspection)
        .acl(fixture_acl())
        .watch(false)
}

// ---- the defects ---------------------------------------------------------------------------

/// Defect 1: the JWKS thread reused a pooled connection that the key server had closed while
/// idle; the new `kid`'s request got a 401 and the refetch window then held for 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d1_a_new_kid_after_the_key_server_closed_its_idle_connection_is_allowed() {
    let idle = Duration::from_millis(300);
    let (server, url) = idle_closing_server(key_set(&[trusted_jwk()]), idle).await;
    let enforcer = build(jwks_builder(&url).jwks_min_refetch_interval(Duration::from_millis(100)))
        .await
        .unwrap();
    let app = app(enforcer.clone());
    tokio::time::sleep(idle * 4).await;
    *server.jwks.lock().unwrap() = key_set(&[trusted_jwk(), next_jwk()]);
    let answer = get_with_token(&app, "/first", &rs512(NEXT_KID, &attacker_issuer())).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        enforcer.key_status().last_error.map(|e| e.to_string()),
        None
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        2,
        "a fresh connection per fetch"
    );
}

/// Defect 2: one key the crate cannot use (P-521, a symmetric key) refused the whole set, at
/// start and on every refresh; `"alg": "Ed25519"` was refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d2_keys_the_crate_cannot_use_are_skipped_and_counted() {
    let oct = json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"});
    let set = key_set(&[p521_jwk(), oct, ed25519_jwk("ed"), trusted_jwk()]);
    let parsed = JwkSet::parse(&set).unwrap();
    assert_eq!(parsed.keys.len(), 2);
    let skipped: Vec<_> = parsed.skipped.iter().map(|s| s.kid.as_deref()).collect();
    assert_eq!(skipped, [Some("p521"), Some("hmac")]);
    assert!(parsed.skipped[0].reason.to_string().contains("P-521"));
    assert_eq!(PublicKey::from_jwks(&set).unwrap().len(), 2);

    let (provider, base) = provider(set).await;
    let enforcer = build(
        jwks_builder(&format!("{base}/certs"))
            .algorithms([Algorithm::RS512, Algorithm::EdDSA])
            .jwks_refresh_interval(Duration::from_millis(200)),
    )
    .await
    .unwrap();
    let status = enforcer.key_status();
    assert_eq!((status.keys, status.skipped_keys), (2, 2));
    let ed = TestIssuer::ed25519();
    for alg in ["Ed25519", "EdDSA"] {
        let token = token_of(json!({"alg": alg, "kid": "ed"}), &ed, Algorithm::EdDSA);
        assert!(enforcer.verify(&token).is_ok(), "{alg}");
    }
    // A refresh that brings another unusable key with a new usable one still applies.
    *provider.jwks.lock().unwrap() = key_set(&[trusted_jwk(), p521_jwk(), next_jwk()]);
    eventually_async("the new key in force", || {
        enforcer
            .verify(&rs512(NEXT_KID, &attacker_issuer()))
            .is_ok()
    })
    .await;
    assert_eq!(enforcer.key_status().skipped_keys, 1);
    // A set with no usable key at all stays an error, and the keys in force stay.
    *provider.jwks.lock().unwrap() = key_set(&[p521_jwk()]);
    eventually_async("the refusal reported", || {
        enforcer
            .key_status()
            .last_error
            .is_some_and(|e| e.to_string().contains("1 key(s) skipped"))
    })
    .await;
    assert!(
        enforcer
            .verify(&rs512(TRUSTED_KID, &trusted_issuer()))
            .is_ok()
    );
}

/// Defect 3: introspection followed a 302 or 307, token included, to wherever it pointed, and
/// believed that server. No call out follows a redirect now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d3_no_redirect_is_ever_followed() {
    let (provider, base) = provider(key_set(&[trusted_jwk()])).await;
    for endpoint in ["introspect-302", "introspect-307"] {
        let enforcer = introspection_builder(Introspection::rfc7662(format!("{base}/{endpoint}")))
            .build()
            .unwrap();
        let answer = get_with_token(&app(enforcer), "/first", "opaque-client-credentials").await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{endpoint}");
    }
    assert_eq!(
        provider.elsewhere.load(Ordering::SeqCst),
        0,
        "the token went nowhere else"
    );

    let error = build_error(jwks_builder(&format!("{base}/redirect/certs"))).await;
    assert!(error.contains("HTTP 302, a redirect"), "{error}");
    assert!(error.contains("never followed"), "{error}");
    let error = build_error(
        Enforcer::builder()
            .trust(Issuer::discover(format!("{base}/redirect-idp")).audience("micros1"))
            .acl(fixture_acl()),
    )
    .await;
    assert!(error.starts_with("OpenID discovery"), "{error}");
    assert!(error.contains("HTTP 301, a redirect"), "{error}");
    assert_eq!(provider.jwks_requests.load(Ordering::SeqCst), 0);
}

/// Defect 4: an opaque token over `max_token_bytes` was sent to the introspection endpoint
/// and allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d4_a_token_over_the_size_cap_is_refused_before_it_is_sent() {
    let (provider, base) = provider(key_set(&[trusted_jwk()])).await;
    let enforcer = introspection_builder(Introspection::rfc7662(format!("{base}/introspect")))
        .max_token_bytes(1024)
        .build()
        .unwrap();
    let long = "o".repeat(4007);
    let answer = get_with_token(&app(enforcer), "/first", &long).await;
    assert!(assert_invalid_token(&answer).contains("longer than 1024 bytes"));
    assert_eq!(provider.introspections.load(Ordering::SeqCst), 0);
}

/// Defect 5: `Debug` showed the introspection client's secret.
#[test]
fn d5_debug_never_shows_the_client_secret() {
    let introspection = Introspection::rfc7662("https://kc.example/introspect")
        .client_credentials("micros1", "s3cret-value");
    let shown = format!("{introspection:?}");
    assert!(!shown.contains("s3cret-value"), "{shown}");
    assert!(shown.contains("micros1"), "{shown}");
}

/// Defect 7: `typ` was never read; an issuer may now require RFC 9068's `at+jwt`.
#[test]
fn d7_a_required_typ_admits_access_tokens_only() {
    let enforcer = test_key_builder().require_typ("at+jwt").build().unwrap();
    let issuer = trusted_issuer();
    let with_typ = |typ: Option<&str>| {
        let mut header = json!({"alg": "RS512"});
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        token_of(header, &issuer, Algorithm::RS512)
    };
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        assert!(enforcer.verify(&with_typ(Some(typ))).is_ok(), "{typ}");
    }
    for typ in [Some("JWT"), None] {
        let refusal = refusal(&enforcer, &with_typ(typ));
        assert_eq!(refusal, TokenError::WrongType("at+jwt".into()), "{typ:?}");
        assert!(refusal.to_string().contains("`at+jwt`"));
    }
    // Without the requirement, `typ` is not read.
    assert!(
        test_key_builder()
            .build()
            .unwrap()
            .verify(&with_typ(Some("JWT")))
            .is_ok()
    );
}

/// Defect 8: `RequireAnyRule`'s 403 challenge carried `scope="a | b"`; RFC 6750 scopes are
/// space-separated.
#[tokio::test]
async fn d8_the_challenge_of_any_of_several_rules_lists_them_as_scopes() {
    const EITHER: &[&str] = &[FIRST_RULE, THIRD_RULE];
    let app = Router::new()
        .route(
            "/either",
            get(|| async { "ok" }).route_layer(RequireAnyRule(EITHER)),
        )
        .layer(test_key_builder().build().unwrap());
    let mut claims = user1_claims();
    claims["sub"]["roles"] = json!(["role9"]);
    let answer = get_with_token(&app, "/either", &mint(&claims)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let challenge = answer.headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(&format!(r#"scope="{FIRST_RULE} {THIRD_RULE}""#)),
        "{challenge}"
    );
}

/// Defect 8: an RFC 7662 answer without `sub` (a client-credentials token) was a 401; the
/// introspection endpoint could not come from discovery; the answer's audience was never
/// checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d8_introspection_as_an_oidc_user_expects_it() {
    let (provider, base) = provider(key_set(&[trusted_jwk()])).await;
    let discovered = Introspection::discover(format!("{base}/idp")).audience("micros1");
    let enforcer =
        tokio::task::spawn_blocking(move || introspection_builder(discovered).build().unwrap())
            .await
            .unwrap();
    let app = app(enforcer);
    let answer = get_with_token(&app, "/first", "opaque-client-credentials").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body["username"], "svc-a",
        "client_id stands for the user"
    );
    assert_eq!(provider.introspections.load(Ordering::SeqCst), 1);

    let answer = get_with_token(&app, "/first", "opaque-for-another-service").await;
    assert!(assert_invalid_token(&answer).contains("aud"));

    let error = build_error(introspection_builder(Introspection::discover(format!(
        "{base}/plain-idp"
    ))))
    .await;
    assert!(error.contains("no `introspection_endpoint`"), "{error}");
}

/// Defect 8: JWKS and discovery took plain HTTP to any host (introspection did not); a
/// discovered `jwks_uri` may not be either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d8_plain_http_to_another_host_is_refused_unless_allowed() {
    let error = build_error(jwks_builder("http://kc.example/certs")).await;
    assert!(error.contains("clear text"), "{error}");
    assert!(error.contains("allow_plain_http"), "{error}");
    let error = build_error(
        Enforcer::builder()
            .trust(Issuer::discover("http://kc.example/realms/acme").audience("micros1"))
            .acl(fixture_acl()),
    )
    .await;
    assert!(error.contains("clear text"), "{error}");

    let (_provider, base) = provider(key_set(&[trusted_jwk()])).await;
    let error = build_error(
        Enforcer::builder()
            .trust(Issuer::discover(format!("{base}/plain-idp")).audience("micros1"))
            .acl(fixture_acl()),
    )
    .await;
    assert!(error.contains("`jwks_uri`"), "{error}");
    assert!(error.contains("clear text"), "{error}");

    // Allowed: the call is made (and here fails for its own reason).
    let error = build_error(jwks_builder("http://0.0.0.0:1/certs").allow_plain_http()).await;
    assert!(!error.contains("clear text"), "{error}");
    assert!(error.contains("cannot connect"), "{error}");
}

/// Defect 8: failures said "error sending request" whatever the cause, and a discovery
/// failure was reported as a JWKS one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d8_a_failed_call_says_why_and_what_it_fetched() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let error = build_error(jwks_builder(&format!("http://127.0.0.1:{port}/certs"))).await;
    assert!(error.starts_with("JWKS http://127.0.0.1"), "{error}");
    assert!(error.contains("cannot connect"), "{error}");
    assert!(error.contains("refused"), "{error}");
    assert!(!error.contains("error sending request"), "{error}");
    let error = build_error(
        Enforcer::builder()
            .trust(Issuer::discover(format!("http://127.0.0.1:{port}/idp")).audience("micros1"))
            .acl(fixture_acl()),
    )
    .await;
    assert!(error.starts_with("OpenID discovery"), "{error}");
    assert!(
        error.contains(".well-known/openid-configuration"),
        "{error}"
    );
}

/// Defect 8: a token whose `alg` does not fit the key its `kid` names was reported as an
/// unknown key id, and made the service fetch the keys again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d8_an_alg_that_does_not_fit_its_kids_key_asks_for_no_fetch() {
    let (provider, base) = provider(key_set(&[trusted_jwk()])).await;
    let enforcer = build(
        jwks_builder(&format!("{base}/certs"))
            .algorithms([Algorithm::RS512, Algorithm::ES256])
            .jwks_min_refetch_interval(Duration::from_millis(10)),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let token = token_of(
        json!({"alg": "ES256", "kid": TRUSTED_KID}),
        &TestIssuer::es256(),
        Algorithm::ES256,
    );
    let answer = get_with_token(&app(enforcer), "/first", &token).await;
    let message = assert_invalid_token(&answer);
    assert!(message.contains("not one its key"), "{message}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        provider.jwks_requests.load(Ordering::SeqCst),
        1,
        "no refetch"
    );
}

/// `--verify-remote 127.0.0.1:5101` said "relative URL without a base": a URL without its
/// scheme says what to add.
#[test]
fn a_url_without_its_scheme_says_so() {
    let error = Enforcer::builder()
        .introspection(Introspection::tokenleader("127.0.0.1:5101"))
        .acl(fixture_acl())
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("give its scheme, `https://`"), "{error}");
    assert!(!error.contains("relative URL"), "{error}");
}
