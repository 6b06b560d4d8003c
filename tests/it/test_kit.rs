//! The test kit: its tokens pass and fail exactly as its builder says.

#![cfg(feature = "test-util")]

use std::time::{Duration, SystemTime};

use serde_json::json;
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{TokenError, acl::Decision};

const ACL: &str = "- name: reader\n  allow: [entries.list]\n";

#[test]
fn a_default_token_is_tokenleader_shaped_and_valid() {
    let issuer = TestIssuer::new();
    let enforcer = issuer.enforcer(ACL);
    let claims = enforcer.verify(&issuer.token().sign()).unwrap();
    assert_eq!(claims.identity.username.as_str(), "user1");
    assert_eq!(claims.identity.roles.as_ref(), ["role1"]);
    assert_eq!(
        (claims.wfc.org.as_str(), claims.wfc.orgunit.as_str()),
        ("org1", "ou1")
    );
    assert_eq!(claims.exp - claims.iat.unwrap(), 3600);
}

#[test]
fn the_builder_sets_user_roles_and_wfc() {
    let issuer = TestIssuer::new();
    let enforcer = issuer.enforcer(ACL);
    let token = issuer
        .token()
        .user("alice")
        .id(42)
        .email("alice@example.org")
        .roles(["reader", "writer"])
        .wfc("wfc9", "org9", "ou9", "dept9")
        .sign();
    let claims = enforcer.verify(&token).unwrap();
    assert_eq!(claims.identity.id, 42);
    assert_eq!(claims.identity.email.as_str(), "alice@example.org");
    assert_eq!(claims.wfc.department.as_str(), "dept9");
    assert_eq!(
        enforcer.decide(&claims.identity.roles, "entries.list"),
        Decision::Granted { role: "reader" }
    );
}

#[test]
fn expired_and_not_yet_valid_tokens_fail_as_asked() {
    let issuer = TestIssuer::new();
    let enforcer = issuer.enforcer(ACL);
    assert_eq!(
        enforcer
            .verify(&issuer.token().expired().sign())
            .unwrap_err(),
        TokenError::Expired
    );
    let later = SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(
        enforcer
            .verify(&issuer.token().not_before(later).sign())
            .unwrap_err(),
        TokenError::NotYetValid
    );
    let long = issuer
        .token()
        .lifetime(Duration::from_secs(48 * 3600))
        .sign();
    assert!(matches!(
        enforcer.verify(&long).unwrap_err().token_error(),
        Some(TokenError::LifetimeTooLong { .. })
    ));
}

#[test]
fn a_wrong_role_is_denied() {
    let issuer = TestIssuer::new();
    let enforcer = issuer.enforcer(ACL);
    let claims = enforcer
        .verify(&issuer.token().roles(["guest"]).sign())
        .unwrap();
    assert_eq!(
        enforcer.decide(&claims.identity.roles, "entries.list"),
        Decision::Denied
    );
}

#[test]
fn extra_claims_can_add_or_break_things() {
    let issuer = TestIssuer::new();
    let enforcer = issuer.enforcer(ACL);
    assert!(
        enforcer
            .verify(&issuer.token().claim("jti", json!("abc")).sign())
            .is_ok()
    );
    let no_wfc = issuer.token().claim(
        "sub",
        json!({"id": 1, "username": "u", "email": "u", "roles": []}),
    );
    assert_eq!(
        enforcer.verify(&no_wfc.sign()).unwrap_err(),
        TokenError::MissingClaim("sub.wfc")
    );
}

#[test]
fn only_enforcers_that_trust_the_test_key_accept_its_tokens() {
    let issuer = TestIssuer::new();
    let other = tokenleader_rbac::Enforcer::builder()
        .public_key(
            tokenleader_rbac::PublicKey::from_pem(include_bytes!(
                "../fixtures/test_keys/trusted_public.pem"
            ))
            .unwrap(),
        )
        .acl(tokenleader_rbac::AclMap::empty())
        .build()
        .unwrap();
    assert_eq!(
        other.verify(&issuer.token().sign()).unwrap_err(),
        TokenError::BadSignature
    );
}
