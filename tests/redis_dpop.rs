//! DPoP proofs shared by a fleet through a real Redis server: a proof used on one instance
//! is a replay on another, and a Redis that cannot answer is a 503, never a pass. `.ci/run`
//! starts the server and runs these with `--ignored`:
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:PORT/ cargo test --all-features --test redis_dpop -- --ignored
//! ```

#![cfg(feature = "redis")]

mod common;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::{Answer, send};
use http::{Request, StatusCode};
use tokenleader_rbac::dpop::{Dpop, DpopError, RedisReplay};
use tokenleader_rbac::test_util::{DpopKey, TestIssuer};
use tokenleader_rbac::{AclMap, Denial, Enforcer, Issuer, RequireRule};

const URL: &str = "https://api.example/entries";

fn redis_url() -> String {
    std::env::var("REDIS_URL").expect("REDIS_URL: a Redis server to test against")
}

/// One instance of the service, its seen proofs in Redis at `url`.
async fn instance(issuer: &TestIssuer, url: &str) -> Router {
    let builder = Enforcer::builder()
        .trust(
            Issuer::tokenleader()
                .public_key(issuer.public_key())
                .dpop(Dpop::accepted()),
        )
        .external_url("https://api.example")
        .dpop_replay(RedisReplay::connect(url).unwrap())
        .acl(AclMap::from_yaml_str("- name: reader\n  allow: [entries.list]\n").unwrap())
        .watch(false);
    let enforcer = tokio::task::spawn_blocking(move || builder.build())
        .await
        .unwrap()
        .unwrap();
    Router::new()
        .route(
            "/entries",
            get(|| async { "entries" }).route_layer(RequireRule("entries.list")),
        )
        .layer(enforcer)
}

async fn call(app: &Router, token: &str, proof: &str) -> Answer {
    let request = Request::get("/entries")
        .header("Authorization", format!("DPoP {token}"))
        .header("DPoP", proof)
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

fn replayed() -> String {
    Denial::InvalidDpopProof(DpopError::Replayed).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Redis server: REDIS_URL"]
async fn a_proof_used_on_one_instance_is_a_replay_on_the_other() {
    let url = redis_url();
    let issuer = TestIssuer::new();
    let (a, b) = (instance(&issuer, &url).await, instance(&issuer, &url).await);
    let key = DpopKey::es256();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let proof = key.proof("GET", URL).token(&token).sign();
    assert_eq!(call(&a, &token, &proof).await.status, StatusCode::OK);
    let on_b = call(&b, &token, &proof).await;
    assert_eq!(on_b.status, StatusCode::UNAUTHORIZED);
    assert_eq!(on_b.body["message"], replayed());
    assert_eq!(call(&a, &token, &proof).await.body["message"], replayed());
    // A new proof is good on either.
    let fresh = key.proof("GET", URL).token(&token).sign();
    assert_eq!(call(&b, &token, &fresh).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Redis server: REDIS_URL"]
async fn the_same_proof_sent_to_every_instance_at_once_passes_once() {
    let url = redis_url();
    let issuer = TestIssuer::new();
    let mut instances = Vec::new();
    for _ in 0..4 {
        instances.push(instance(&issuer, &url).await);
    }
    let key = DpopKey::ed25519();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    for _ in 0..20 {
        let proof = key.proof("GET", URL).token(&token).sign();
        let mut calls = Vec::new();
        for app in &instances {
            // Twice per instance: local and fleet-wide replays at once.
            for _ in 0..2 {
                let (app, token, proof) = (app.clone(), token.clone(), proof.clone());
                calls.push(tokio::spawn(async move {
                    call(&app, &token, &proof).await.status
                }));
            }
        }
        let mut passed = 0;
        for call in calls {
            match call.await.unwrap() {
                StatusCode::OK => passed += 1,
                StatusCode::UNAUTHORIZED => {}
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(passed, 1, "one proof, one pass");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Redis server: REDIS_URL"]
async fn a_redis_that_cannot_answer_is_a_503_and_bearer_tokens_are_unaffected() {
    let unreachable = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("redis://127.0.0.1:{port}/")
    };
    let issuer = TestIssuer::new();
    let app = instance(&issuer, &unreachable).await;
    let key = DpopKey::es256();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let proof = key.proof("GET", URL).token(&token).sign();
    let answer = call(&app, &token, &proof).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
    assert_eq!(
        answer.body["message"],
        Denial::DpopReplayUnavailable.to_string()
    );
    // The same proof again is still no pass.
    assert_ne!(call(&app, &token, &proof).await.status, StatusCode::OK);
    let bearer = issuer.token().roles(["reader"]).sign();
    let request = Request::get("/entries")
        .header("Authorization", format!("Bearer {bearer}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::OK);
}
