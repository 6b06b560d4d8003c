//! Revocation of one token (logout) and of a user's older tokens, checked on every request.

use std::time::{Duration, UNIX_EPOCH};

use crate::common::*;
use http::StatusCode;
use serde_json::json;
use tokenleader_rbac::{
    Enforcer, TokenError, revocation::MemoryRevocation, revocation::Revocation,
    revocation::TokenHash,
};

fn enforcer() -> Enforcer {
    test_key_builder()
        .revocation(MemoryRevocation::new())
        .build()
        .unwrap()
}

fn issued_at(iat: u64) -> String {
    let mut claims = user1_claims();
    claims["iat"] = json!(iat);
    claims["exp"] = json!(iat + 3600);
    mint(&claims)
}

#[tokio::test]
async fn a_revoked_token_is_refused_even_from_the_cache() {
    let enforcer = enforcer();
    let app = app(enforcer.clone());
    let token = mint(&user1_claims());
    let other = mint(&{
        let mut claims = user1_claims();
        claims["sub"]["id"] = json!(7);
        claims
    });
    assert_eq!(
        get_with_token(&app, "/first", &token).await.status,
        StatusCode::OK
    );
    assert_eq!(
        enforcer.key_status().cached_tokens,
        1,
        "verified and cached"
    );

    enforcer.revoke_token(&token).unwrap();
    let answer = get_with_token(&app, "/first", &token).await;
    assert_eq!(assert_invalid_token(&answer), "token has been revoked");
    assert_eq!(
        get_with_token(&app, "/first", &other).await.status,
        StatusCode::OK,
        "only that token"
    );
}

#[test]
fn revoking_a_user_refuses_their_older_tokens_only() {
    let enforcer = enforcer();
    let older = issued_at(NOW - 600);
    let newer = issued_at(NOW - 10);
    assert!(enforcer.verify(&older).is_ok() && enforcer.verify(&newer).is_ok());
    enforcer
        .revoke_user_before("user1", UNIX_EPOCH + Duration::from_secs(NOW - 60))
        .unwrap();
    assert_eq!(enforcer.verify(&older).unwrap_err(), TokenError::Revoked);
    assert!(enforcer.verify(&newer).is_ok(), "issued after the cut-off");

    let mut claims = user1_claims();
    claims["sub"]["username"] = json!("user2");
    claims["iat"] = json!(NOW - 600);
    assert!(
        enforcer.verify(&mint(&claims)).is_ok(),
        "other users are not touched"
    );
}

#[test]
fn a_token_without_iat_cannot_escape_a_user_revocation() {
    let enforcer = enforcer();
    let mut claims = user1_claims();
    claims.as_object_mut().unwrap().remove("iat");
    let token = mint(&claims);
    assert!(enforcer.verify(&token).is_ok());
    enforcer
        .revoke_user_before("user1", UNIX_EPOCH + Duration::from_secs(NOW))
        .unwrap();
    assert_eq!(enforcer.verify(&token).unwrap_err(), TokenError::Revoked);
}

#[test]
fn entries_expire_on_their_own() {
    let store = MemoryRevocation::new();
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    store.revoke_token(TokenHash::of("a.b.c"), now - 1, now);
    assert_eq!(store.len(), 1);
    store.revoke_user_before("gone", now - 7200, now - 1, now);
    assert_eq!(store.len(), 1, "the expired token entry was dropped");
    store.revoke_token(TokenHash::of("d.e.f"), now + 3600, now);
    assert_eq!(
        store.len(),
        1,
        "the expired user entry was dropped; the live one stays"
    );

    // An entry past its expiry no longer refuses, even before the clean-up.
    let enforcer = test_key_builder()
        .revocation(MemoryRevocation::new())
        .clock(at(NOW))
        .build()
        .unwrap();
    let token = mint(&user1_claims());
    enforcer.revoke_token(&token).unwrap();
    let later = test_key_builder()
        .clock(at(NOW + 3600 + 31))
        .build()
        .unwrap();
    assert_eq!(
        later.verify(&token).unwrap_err(),
        TokenError::Expired,
        "the token itself expired by then"
    );
}

#[test]
fn revoking_needs_a_store_and_a_valid_token() {
    let without = test_key_builder().build().unwrap();
    let error = without.revoke_token(&mint(&user1_claims())).unwrap_err();
    assert!(error.to_string().contains("no revocation store"), "{error}");
    let error = enforcer().revoke_token("garbage").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot revoke: malformed token"),
        "{error}"
    );
}

#[test]
fn the_token_hash_is_not_the_token() {
    let token = mint(&user1_claims());
    let debug = format!("{:?}", TokenHash::of(&token));
    assert!(
        debug.starts_with("TokenHash(") && !debug.contains(&token[..20]),
        "{debug}"
    );
    assert_eq!(TokenHash::of(&token), TokenHash::of(&token));
    assert_ne!(TokenHash::of(&token), TokenHash::of(&format!("{token}x")));
}
