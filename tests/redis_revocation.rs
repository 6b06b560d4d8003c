//! Revocations shared through a real Redis server. `.ci/run` installs and starts one and runs
//! these with `--ignored`:
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:PORT/ cargo test --all-features --test redis_revocation -- --ignored
//! ```
//!
//! The outage test starts a second `redis-server` of its own (the binary must be on PATH).

#![cfg(feature = "redis")]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use http::StatusCode;
use serde_json::json;
use tokenleader_rbac::{
    Denial, Enforcer, TokenError, revocation::RedisRevocation, revocation::Revocation,
    revocation::TokenHash,
};

fn redis_url() -> String {
    std::env::var("REDIS_URL").expect("REDIS_URL: a Redis server to test against")
}

fn instance(url: &str) -> Enforcer {
    test_key_builder()
        .revocation(RedisRevocation::connect(url).unwrap())
        .build()
        .unwrap()
}

/// A user name of this run only: the Redis server outlives test runs.
fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// A token for a user of this test only (tests share the Redis server).
fn token_for(username: &str, iat: u64) -> String {
    let mut claims = user1_claims();
    claims["sub"]["username"] = json!(username);
    claims["iat"] = json!(iat);
    claims["exp"] = json!(iat + 3600);
    mint(&claims)
}

#[test]
#[ignore = "needs a Redis server: REDIS_URL"]
fn a_token_revoked_on_one_instance_is_refused_by_the_other() {
    let url = redis_url();
    let (a, b) = (instance(&url), instance(&url));
    let token = token_for(&unique("logout"), NOW);
    assert!(a.verify(&token).is_ok() && b.verify(&token).is_ok());
    a.revoke_token(&token).unwrap();
    assert_eq!(
        a.verify(&token).unwrap_err(),
        TokenError::Revoked,
        "at once where revoked"
    );
    eventually("instance b refuses it", || {
        b.verify(&token).err() == Some(Denial::Unauthenticated(TokenError::Revoked))
    });
    // A third instance started later loads it from Redis.
    assert_eq!(
        instance(&url).verify(&token).unwrap_err(),
        TokenError::Revoked
    );
}

#[test]
#[ignore = "needs a Redis server: REDIS_URL"]
fn a_user_revoked_before_t_loses_older_tokens_only() {
    let url = redis_url();
    let (a, b) = (instance(&url), instance(&url));
    let older = token_for("redis-stolen-laptop", NOW - 600);
    let newer = token_for("redis-stolen-laptop", NOW - 10);
    a.revoke_user_before(
        "redis-stolen-laptop",
        UNIX_EPOCH + Duration::from_secs(NOW - 60),
    )
    .unwrap();
    eventually("instance b refuses the older token", || {
        b.verify(&older).err() == Some(Denial::Unauthenticated(TokenError::Revoked))
    });
    assert!(b.verify(&newer).is_ok());
}

#[test]
#[ignore = "needs a Redis server: REDIS_URL"]
fn entries_vanish_after_expiry() {
    let url = redis_url();
    let store = RedisRevocation::connect(&url).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let hash = TokenHash::of(&unique("expiring"));
    store.revoke_token(hash, now + 1, now);
    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let key = format!("tokenleader-rbac:revoked:token:{}", hash.to_hex());
    eventually("the key written", || {
        redis::cmd("EXISTS")
            .arg(&key)
            .query::<bool>(&mut redis)
            .unwrap()
    });
    std::thread::sleep(Duration::from_millis(2_500));
    assert!(
        !redis::cmd("EXISTS")
            .arg(&key)
            .query::<bool>(&mut redis)
            .unwrap(),
        "Redis let it expire"
    );
}

/// A `redis-server` of this test's own, without persistence.
struct Server {
    port: u16,
    child: Child,
}

impl Server {
    fn start(port: u16) -> Server {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        let url = format!("redis://127.0.0.1:{port}/");
        eventually("redis-server answers", || {
            redis::Client::open(url.as_str())
                .unwrap()
                .get_connection()
                .is_ok()
        });
        Server { port, child }
    }

    fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Redis server: REDIS_URL"]
async fn redis_stopped_fails_closed_and_the_copies_catch_up_when_it_returns() {
    let server = Server::start(free_port());
    let url = format!("redis://127.0.0.1:{}/", server.port);
    let (a, b) = (instance(&url), instance(&url));
    let stale_ok = test_key_builder()
        .revocation(RedisRevocation::connect(&url).unwrap().serve_stale(true))
        .build()
        .unwrap();
    let app_b = app(b.clone());
    let token = token_for(&unique("outage"), NOW);
    assert_eq!(
        get_with_token(&app_b, "/first", &token).await.status,
        StatusCode::OK
    );

    let port = server.stop();
    eventually("b notices", || {
        b.verify(&token).err() == Some(Denial::RevocationUnavailable)
    });
    let answer = get_with_token(&app_b, "/first", &token).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "refused by default"
    );
    assert!(!answer.headers.contains_key("www-authenticate"));
    assert!(
        stale_ok.verify(&token).is_ok(),
        "served from the last copy when chosen"
    );

    // Revoked on a while Redis is away: held there, written when Redis returns.
    a.revoke_token(&token).unwrap();
    let _server = Server::start(port);
    eventually("b catches up", || {
        b.verify(&token).err() == Some(Denial::Unauthenticated(TokenError::Revoked))
    });
    eventually("the stale-serving instance catches up", || {
        stale_ok.verify(&token).err() == Some(Denial::Unauthenticated(TokenError::Revoked))
    });
}

#[test]
fn a_bad_redis_url_is_refused_without_echoing_it() {
    let error =
        RedisRevocation::connect("rediss-nope://:s3cret-password@127.0.0.1:1/").unwrap_err();
    let message = error.to_string();
    assert!(message.contains("Redis URL cannot be used"), "{message}");
    assert!(!message.contains("s3cret-password"), "{message}");
}
