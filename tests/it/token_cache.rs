//! The verified-token cache: hits share the claims, never outlive `exp`, and end with the keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use crate::common::*;
use http::StatusCode;
use serde_json::json;
use tokenleader_rbac::{AclMap, Enforcer, TokenError};

/// A clock the test moves.
fn movable_clock(
    start: u64,
) -> (
    Arc<AtomicU64>,
    impl Fn() -> std::time::SystemTime + Send + Sync + 'static,
) {
    let now = Arc::new(AtomicU64::new(start));
    let reader = now.clone();
    (now, move || {
        UNIX_EPOCH + Duration::from_secs(reader.load(Ordering::SeqCst))
    })
}

#[test]
fn a_second_verification_is_a_cache_hit_sharing_the_claims() {
    let enforcer = test_key_builder().build().unwrap();
    let token = mint(&user1_claims());
    assert_eq!(enforcer.key_status().cached_tokens, 0);
    let first = enforcer.verify(&token).unwrap();
    assert_eq!(enforcer.key_status().cached_tokens, 1);
    let second = enforcer.verify(&token).unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "the hit shares the claims of the first check"
    );
}

#[test]
fn refused_tokens_are_not_cached() {
    let enforcer = test_key_builder().build().unwrap();
    let forged = mint_raw(
        r#"{"alg":"RS512"}"#,
        &user1_claims().to_string(),
        &attacker_issuer(),
        jsonwebtoken::Algorithm::RS512,
    );
    for _ in 0..3 {
        assert_eq!(
            enforcer.verify(&forged).unwrap_err(),
            TokenError::BadSignature
        );
    }
    assert_eq!(enforcer.key_status().cached_tokens, 0);
}

#[tokio::test]
async fn a_cached_token_past_its_exp_is_refused() {
    let (now, clock) = movable_clock(NOW);
    let enforcer = test_key_builder().clock(clock).build().unwrap();
    let app = app(enforcer.clone());
    let token = mint(&user1_claims());
    assert_eq!(
        get_with_token(&app, "/first", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(enforcer.key_status().cached_tokens, 1);

    now.store(NOW + 3600 + 30, Ordering::SeqCst);
    assert_eq!(
        get_with_token(&app, "/first", &token).await.status,
        StatusCode::OK,
        "within leeway"
    );
    now.store(NOW + 3600 + 31, Ordering::SeqCst);
    let answer = get_with_token(&app, "/first", &token).await;
    assert_eq!(assert_invalid_token(&answer), "token has expired");
    assert_eq!(
        enforcer.key_status().cached_tokens,
        0,
        "the expired entry is dropped"
    );
}

#[test]
fn a_cached_token_before_its_nbf_is_refused() {
    // nbf is checked on every hit too: verified with a clock that is ahead (within leeway of
    // nbf), then the clock is set back.
    let (now, clock) = movable_clock(NOW + 100);
    let enforcer = test_key_builder().clock(clock).build().unwrap();
    let mut claims = user1_claims();
    claims["nbf"] = json!(NOW + 100);
    let token = mint(&claims);
    assert!(enforcer.verify(&token).is_ok());
    now.store(NOW, Ordering::SeqCst);
    assert_eq!(
        enforcer.verify(&token).unwrap_err(),
        TokenError::NotYetValid
    );
}

#[tokio::test]
async fn a_key_removed_by_a_reload_ends_its_cached_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("tl_public_key.pem");
    std::fs::write(&key_path, fixture("test_keys/trusted_public.pem")).unwrap();
    let enforcer = Enforcer::builder()
        .public_key_file(&key_path)
        .acl(fixture_acl())
        .clock(at(NOW))
        .watch(false)
        .build()
        .unwrap();
    let app = app(enforcer.clone());
    let token = mint(&user1_claims());
    assert_eq!(
        get_with_token(&app, "/first", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(enforcer.key_status().cached_tokens, 1);

    std::fs::write(&key_path, fixture("test_keys/attacker_public.pem")).unwrap();
    enforcer.reload().unwrap();
    let answer = get_with_token(&app, "/first", &token).await;
    assert_eq!(assert_invalid_token(&answer), "token signature is invalid");
}

#[test]
fn the_cache_can_be_turned_off() {
    let enforcer = test_key_builder().token_cache(0).build().unwrap();
    let token = mint(&user1_claims());
    let first = enforcer.verify(&token).unwrap();
    let second = enforcer.verify(&token).unwrap();
    assert!(
        !Arc::ptr_eq(&first, &second),
        "each verification is a fresh one"
    );
    assert_eq!(first, second);
    assert_eq!(enforcer.key_status().cached_tokens, 0);
}

#[test]
fn the_cache_stays_within_its_capacity() {
    let enforcer = test_key_builder().token_cache(10).build().unwrap();
    for i in 0..60 {
        let mut claims = user1_claims();
        claims["sub"]["id"] = json!(i);
        enforcer.verify(&mint(&claims)).unwrap();
        assert!(enforcer.key_status().cached_tokens <= 10);
    }
}

/// A cached token remembers its last decision, per map and route: a map set in between
/// decides the next request, the same map loaded again decides afresh, and two routes taken in
/// turn each get their own answer.
#[tokio::test]
async fn a_remembered_decision_ends_with_its_map_and_belongs_to_its_route() {
    let enforcer = test_key_builder().build().unwrap();
    let app = app(enforcer.clone());
    let token = mint(&user1_claims());
    let status = |path: &'static str, token: &str| {
        let (app, token) = (app.clone(), token.to_owned());
        async move { get_with_token(&app, path, &token).await.status }
    };
    for _ in 0..3 {
        assert_eq!(status("/first", &token).await, StatusCode::OK);
    }
    let swapped = "- name: role1\n  allow: [service1:third_api:rulename3]\n";
    enforcer.set_acl(AclMap::from_yaml_str(swapped).unwrap());
    assert_eq!(status("/first", &token).await, StatusCode::FORBIDDEN);
    assert_eq!(status("/first", &token).await, StatusCode::FORBIDDEN);
    enforcer.set_acl(fixture_acl());
    assert_eq!(status("/first", &token).await, StatusCode::OK);
    // Routes in turn: each its own answer.
    for _ in 0..3 {
        assert_eq!(status("/first", &token).await, StatusCode::OK);
        assert_eq!(status("/third", &token).await, StatusCode::FORBIDDEN);
    }
    // The admin role is read from the token every time.
    let mut admin = user1_claims();
    admin["sub"]["roles"] = json!(["role1", "admin"]);
    let admin = mint(&admin);
    assert_eq!(status("/third", &admin).await, StatusCode::OK);
}
