//! Keys from a JWKS URL, against an in-process key server.

#![cfg(feature = "jwks")]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use axum::{Router, extract::State, http::StatusCode, routing::get};
use serde_json::Value;
use tokenleader_rbac::{Enforcer, EnforcerBuilder, TokenError};

#[derive(Default)]
struct KeyServer {
    jwks: Mutex<String>,
    requests: AtomicUsize,
    down: AtomicBool,
    /// Answers after 5 s.
    slow: AtomicBool,
}

impl KeyServer {
    fn serve(&self, jwk_files: &[&str]) {
        let keys: Vec<Value> = jwk_files
            .iter()
            .map(|f| serde_json::from_str(&fixture(f)).unwrap())
            .collect();
        *self.jwks.lock().unwrap() = serde_json::json!({ "keys": keys }).to_string();
    }
    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn jwks(State(server): State<Arc<KeyServer>>) -> (StatusCode, String) {
    server.requests.fetch_add(1, Ordering::SeqCst);
    if server.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down".into());
    }
    if server.slow.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    (StatusCode::OK, server.jwks.lock().unwrap().clone())
}

const TRUSTED: &str = "test_keys/trusted_public.jwk.json";
const NEXT: &str = "test_keys/attacker_public.jwk.json";

async fn key_server(jwk_files: &[&str]) -> (Arc<KeyServer>, String) {
    let server = Arc::new(KeyServer::default());
    server.serve(jwk_files);
    let app = Router::new()
        .route("/certs", get(jwks))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, url)
}

fn builder(url: &str) -> EnforcerBuilder {
    Enforcer::builder()
        .jwks_url(url)
        .acl(fixture_acl())
        .clock(at(NOW))
}

/// A token with `kid`, signed by the private key of that JWK's pair.
fn token_of(kid: &str, issuer: &tokenleader_rbac::test_util::TestIssuer) -> String {
    let header = serde_json::json!({"alg": "RS512", "kid": kid}).to_string();
    mint_raw(
        &header,
        &user1_claims().to_string(),
        issuer,
        jsonwebtoken::Algorithm::RS512,
    )
}

/// Builds the enforcer off the async workers: its first fetch waits for the key server.
async fn build(builder: EnforcerBuilder) -> Result<Enforcer, tokenleader_rbac::Error> {
    tokio::task::spawn_blocking(move || builder.build())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_fetched_at_start() {
    let (server, url) = key_server(&[TRUSTED]).await;
    let enforcer = build(builder(&url)).await.unwrap();
    assert_eq!(server.requests(), 1);
    assert_eq!(enforcer.key_status().keys, 1);
    let claims = enforcer
        .verify(&token_of("trusted-2026", &trusted_issuer()))
        .unwrap();
    assert_eq!(claims.identity.username.as_str(), "user1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_is_picked_up_by_the_refresh() {
    let (server, url) = key_server(&[TRUSTED]).await;
    let enforcer = build(builder(&url).jwks_refresh_interval(Duration::from_millis(200)))
        .await
        .unwrap();
    let old = token_of("trusted-2026", &trusted_issuer());
    let new = token_of("next-2026", &attacker_issuer());
    assert!(enforcer.verify(&old).is_ok());
    server.serve(&[NEXT]);
    eventually_async("the new key in force", || enforcer.verify(&new).is_ok()).await;
    assert_eq!(
        enforcer.verify(&old).unwrap_err(),
        TokenError::UnknownKeyId,
        "the old key is gone, cached token or not"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kid_asks_for_a_fetch_at_most_once_per_interval() {
    let (server, url) = key_server(&[TRUSTED]).await;
    let interval = Duration::from_millis(500);
    let enforcer = build(builder(&url).jwks_min_refetch_interval(interval))
        .await
        .unwrap();
    server.serve(&[TRUSTED, NEXT]);
    tokio::time::sleep(interval + Duration::from_millis(100)).await;

    let new = token_of("next-2026", &attacker_issuer());
    assert_eq!(
        enforcer.verify(&new).unwrap_err(),
        TokenError::UnknownKeyId,
        "refused now, fetched beside"
    );
    eventually_async("the new kid fetched", || enforcer.verify(&new).is_ok()).await;
    let after_rotation = server.requests();
    assert_eq!(after_rotation, 2);

    // A flood of forged kids (the signature does not matter: an unknown kid is refused
    // first) makes at most one more request per interval.
    let forged: Vec<String> = (0..200)
        .map(|i| {
            let header =
                serde_json::json!({"alg": "RS512", "kid": format!("forged-{i}")}).to_string();
            format!(
                "{}.c2ln",
                signing_input(&header, &user1_claims().to_string())
            )
        })
        .collect();
    let flood = Instant::now();
    for token in &forged {
        assert_eq!(
            enforcer.verify(token).unwrap_err(),
            TokenError::UnknownKeyId
        );
    }
    assert!(flood.elapsed() < interval, "the flood fits in one interval");
    tokio::time::sleep(interval * 2 + Duration::from_millis(200)).await;
    assert!(
        server.requests() <= after_rotation + 1,
        "{} requests",
        server.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_server_that_goes_down_leaves_the_keys_in_force() {
    let (server, url) = key_server(&[TRUSTED]).await;
    let enforcer = build(builder(&url).jwks_refresh_interval(Duration::from_millis(100)))
        .await
        .unwrap();
    server.down.store(true, Ordering::SeqCst);
    eventually_async("the failure reported", || {
        enforcer.key_status().last_error.is_some()
    })
    .await;
    let error = enforcer.key_status().last_error.unwrap();
    assert!(error.to_string().contains("HTTP 503"), "{error}");
    assert!(
        enforcer
            .verify(&token_of("trusted-2026", &trusted_issuer()))
            .is_ok()
    );
    server.down.store(false, Ordering::SeqCst);
    eventually_async("the error cleared", || {
        enforcer.key_status().last_error.is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_fails_when_the_first_fetch_fails() {
    let (server, url) = key_server(&[TRUSTED]).await;
    server.down.store(true, Ordering::SeqCst);
    let error = build(builder(&url)).await.unwrap_err();
    assert!(error.to_string().contains("JWKS"), "{error}");
    server.down.store(false, Ordering::SeqCst);
    *server.jwks.lock().unwrap() = r#"{"keys": []}"#.into();
    let error = build(builder(&url)).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no RSA, EC (P-256, P-384) or Ed25519 signing key"),
        "{error}"
    );
}

/// Sends `tokens` to `/first` all at once; gives the statuses.
async fn send_all(app: &axum::Router, tokens: Vec<String>) -> Vec<StatusCode> {
    let requests = tokens.into_iter().map(|token| {
        let app = app.clone();
        tokio::spawn(async move { get_with_token(&app, "/first", &token).await.status })
    });
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_fails_no_request() {
    let (server, url) = key_server(&[TRUSTED]).await;
    let interval = Duration::from_millis(300);
    let enforcer = build(builder(&url).jwks_min_refetch_interval(interval))
        .await
        .unwrap();
    let app = app(enforcer);
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    // The identity provider rotates; tokens of the new key arrive at once, all together.
    server.serve(&[TRUSTED, NEXT]);
    let tokens = vec![token_of("next-2026", &attacker_issuer()); 50];
    let statuses = send_all(&app, tokens).await;
    assert!(
        statuses.iter().all(|status| *status == StatusCode::OK),
        "{statuses:?}"
    );
    // They shared one fetch; known kids never wait or fetch.
    assert_eq!(server.requests(), 2);
    let statuses = send_all(&app, vec![token_of("trusted-2026", &trusted_issuer()); 20]).await;
    assert!(statuses.iter().all(|status| *status == StatusCode::OK));
    assert_eq!(server.requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_kids_waits_for_one_fetch_and_is_refused() {
    let (server, url) = key_server(&[TRUSTED]).await;
    let interval = Duration::from_secs(5);
    let enforcer = build(builder(&url).jwks_min_refetch_interval(interval))
        .await
        .unwrap();
    let app = app(enforcer.clone());
    // Within the interval after the first fetch: refused at once, nothing fetched.
    let started = Instant::now();
    let statuses = send_all(&app, vec![token_of("random-1", &trusted_issuer())]).await;
    assert_eq!(statuses, [StatusCode::UNAUTHORIZED]);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "no wait while rate limited"
    );
    assert_eq!(server.requests(), 1);

    // After it: one fetch for the whole flood, every request refused.
    tokio::time::sleep(interval).await;
    let forged = (0..100)
        .map(|i| token_of(&format!("random-{i}"), &trusted_issuer()))
        .collect();
    let statuses = send_all(&app, forged).await;
    assert!(
        statuses
            .iter()
            .all(|status| *status == StatusCode::UNAUTHORIZED)
    );
    assert_eq!(server.requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_at_most_two_seconds_for_keys() {
    let (server, url) = key_server(&[TRUSTED]).await;
    let interval = Duration::from_millis(100);
    let enforcer = build(builder(&url).jwks_min_refetch_interval(interval))
        .await
        .unwrap();
    let app = app(enforcer);
    tokio::time::sleep(interval * 2).await;
    server.slow.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let statuses = send_all(&app, vec![token_of("next-2026", &attacker_issuer())]).await;
    let waited = started.elapsed();
    assert_eq!(statuses, [StatusCode::UNAUTHORIZED]);
    assert!(
        waited >= Duration::from_millis(1900),
        "it waited: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(8),
        "not for the whole fetch: {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_cache_file_lets_the_service_start_while_the_provider_is_down() {
    let (server, url) = key_server(&[TRUSTED]).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("jwks-cache.json");
    let token = token_of("trusted-2026", &trusted_issuer());

    // Up: the keys are fetched and kept in the cache file.
    let enforcer = build(builder(&url).jwks_cache_file(&cache)).await.unwrap();
    assert!(enforcer.verify(&token).is_ok());
    assert_eq!(enforcer.key_status().keys_from_cache, None);
    let written = std::fs::read_to_string(&cache).unwrap();
    assert!(
        written.contains(&url) && written.contains("trusted-2026"),
        "{written}"
    );
    drop(enforcer);

    // Down: without the cache file the build fails; with it, the cached keys decide.
    server.down.store(true, Ordering::SeqCst);
    assert!(build(builder(&url)).await.is_err());
    let enforcer = build(
        builder(&url)
            .jwks_cache_file(&cache)
            .jwks_min_refetch_interval(Duration::from_millis(200)),
    )
    .await
    .unwrap();
    assert!(enforcer.verify(&token).is_ok());
    let status = enforcer.key_status();
    assert!(status.keys_from_cache.is_some());
    assert!(status.last_error.is_some());

    // Back up: the background fetch replaces the cached keys.
    server.down.store(false, Ordering::SeqCst);
    eventually_async("fetched again in the background", || {
        enforcer.key_status().keys_from_cache.is_none()
    })
    .await;
    assert!(enforcer.verify(&token).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_key_cache_file_is_no_key() {
    let (server, url) = key_server(&[TRUSTED]).await;
    server.down.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("jwks-cache.json");
    for content in [
        "not json".to_owned(),
        serde_json::json!({"sources": {url.clone(): {"fetched_at": 1, "jwks": {"keys": []}}}})
            .to_string(),
        serde_json::json!({"sources": {"https://other.example/certs": {"fetched_at": 1,
            "jwks": serde_json::from_str::<Value>(&fixture(TRUSTED)).unwrap()}}})
        .to_string(),
    ] {
        std::fs::write(&cache, &content).unwrap();
        let error = build(builder(&url).jwks_cache_file(&cache))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("HTTP 503"), "{content}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_issuers_stale_keys_are_reported() {
    let (server, url) = key_server(&[TRUSTED]).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("jwks-cache.json");
    let iss = "https://kc.example/realms/acme";
    let trusted = |url: &str| {
        Enforcer::builder()
            .trust(
                tokenleader_rbac::Issuer::new(iss)
                    .jwks_url(url)
                    .algorithms([jsonwebtoken::Algorithm::RS512])
                    .jwks_min_refetch_interval(Duration::from_millis(200)),
            )
            .acl(fixture_acl())
            .clock(at(NOW))
            .jwks_cache_file(&cache)
    };
    let enforcer = build(trusted(&url)).await.unwrap();
    let status = enforcer.issuer_key_status(Some(iss)).unwrap();
    assert_eq!((status.keys, status.keys_from_cache), (1, None));
    assert!(
        enforcer
            .issuer_key_status(Some("https://other.example"))
            .is_none()
    );
    drop(enforcer);

    server.down.store(true, Ordering::SeqCst);
    let enforcer = build(trusted(&url)).await.unwrap();
    let status = enforcer.issuer_key_status(Some(iss)).unwrap();
    assert!(status.keys_from_cache.is_some());
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.to_string().contains("503")),
        "{status:?}"
    );
    let mut claims = user1_claims();
    claims["iss"] = serde_json::json!(iss);
    claims["sub"] = serde_json::json!("alice");
    let token = mint_raw(
        r#"{"alg":"RS512","kid":"trusted-2026"}"#,
        &claims.to_string(),
        &trusted_issuer(),
        jsonwebtoken::Algorithm::RS512,
    );
    assert!(enforcer.verify(&token).is_ok(), "the cached keys decide");
}

/// A trusted issuer's rotation could not be tuned: it waited the fixed 10 s. Its own
/// `jwks_min_refetch_interval` is honoured now, and a token with an unknown `kid` asks for one
/// fetch, not one per look.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_issuers_refetch_interval_is_honoured() {
    let (server, url) = key_server(&[TRUSTED]).await;
    let iss = "https://kc.example/realms/acme";
    let issuer = tokenleader_rbac::Issuer::new(iss)
        .jwks_url(&url)
        .jwks_min_refetch_interval(Duration::from_millis(300));
    let enforcer = build(
        Enforcer::builder()
            .trust(issuer)
            .acl(fixture_acl())
            .clock(at(NOW)),
    )
    .await
    .unwrap();
    server.serve(&[TRUSTED, NEXT]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut claims = user1_claims();
    claims["iss"] = serde_json::json!(iss);
    claims["sub"] = serde_json::json!("alice");
    let header = serde_json::json!({"alg": "RS512", "kid": "next-2026"}).to_string();
    let token = mint_raw(
        &header,
        &claims.to_string(),
        &attacker_issuer(),
        jsonwebtoken::Algorithm::RS512,
    );
    let app = axum::Router::new()
        .route(
            "/first",
            axum::routing::get(|| async { "ok" })
                .route_layer(tokenleader_rbac::RequireRule(FIRST_RULE)),
        )
        .layer(enforcer);
    let answer = get_with_token(&app, "/first", &token).await;
    // Verified with the fetched key (403: the ACL gives alice no role), after one fetch.
    assert_ne!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(
        server.requests(),
        2,
        "one fetch at start, one for the unknown kid"
    );
}
