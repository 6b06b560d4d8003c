//! Several trusted issuers at once: each token routed by its `iss` to exactly one issuer and
//! decided with that issuer's keys, algorithms and claim mapping.

use jsonwebtoken::Algorithm;
use serde_json::json;
use tokenleader_rbac::claims::ClaimMapping;
use tokenleader_rbac::keys::SecretKey;
use tokenleader_rbac::test_util::{TestIssuer, TestToken};
use tokenleader_rbac::{AclMap, Enforcer, EnforcerBuilder, Issuer, TokenError};

use crate::common::*;

const KEYCLOAK: &str = "https://kc.example/realms/acme";
const ACL: &str = "- name: role1\n  allow: [rule]\n- name: kc-reader\n  allow: [rule]\n";

fn keycloak_issuer(keys: &TestIssuer) -> Issuer {
    Issuer::new(KEYCLOAK)
        .public_key(keys.public_key())
        .algorithms([Algorithm::ES256])
        .audience("micros1")
        .claim_mapping(
            ClaimMapping::new()
                .username("/preferred_username")
                .roles("/realm_access/roles")
                .wfc_org("/org"),
        )
}

fn keycloak_token(signer: &TestIssuer, iss: &str) -> String {
    keycloak_claims(signer.token(), iss).sign()
}

/// The claims of a Keycloak token for alice, with `iss`.
fn keycloak_claims<'i>(token: TestToken<'i>, iss: &str) -> TestToken<'i> {
    token
        .claim("iss", json!(iss))
        .claim("aud", json!("micros1"))
        .claim("sub", json!("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"))
        .claim("preferred_username", json!("alice"))
        .claim("realm_access", json!({"roles": ["kc-reader"]}))
        .claim("org", json!("acme"))
}

fn two_issuers(tokenleader: &TestIssuer, keycloak: &TestIssuer) -> EnforcerBuilder {
    Enforcer::builder()
        .trust(Issuer::tokenleader().public_key(tokenleader.public_key()))
        .trust(keycloak_issuer(keycloak))
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .watch(false)
}

#[test]
fn each_issuers_tokens_are_decided_by_its_own_mapping() {
    let (tokenleader, keycloak) = (TestIssuer::new(), TestIssuer::es256());
    let enforcer = two_issuers(&tokenleader, &keycloak).build().unwrap();

    let claims = enforcer
        .authorize(&headers(&tokenleader.token().user("bob").sign()), "rule")
        .unwrap();
    assert_eq!(&*claims.identity.username, "bob");
    assert_eq!(&*claims.wfc.org, "org1");

    for _ in 0..2 {
        // The second time from the cache.
        let claims = enforcer
            .authorize(&headers(&keycloak_token(&keycloak, KEYCLOAK)), "rule")
            .unwrap();
        assert_eq!(&*claims.identity.username, "alice");
        assert_eq!(&*claims.identity.roles, ["kc-reader"]);
        assert_eq!(
            claims.identity.subject.as_deref(),
            Some("f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
        );
        assert_eq!(&*claims.wfc.org, "acme");
    }
}

#[test]
fn a_token_naming_another_issuer_is_checked_with_that_issuers_keys() {
    let (tokenleader, keycloak) = (TestIssuer::new(), TestIssuer::es256());
    let enforcer = two_issuers(&tokenleader, &keycloak).build().unwrap();
    // Signed by tokenleader's key, claiming Keycloak: Keycloak takes ES256 only.
    let forged = keycloak_token(&tokenleader, KEYCLOAK);
    assert!(matches!(
        refusal(&enforcer, &forged),
        TokenError::AlgorithmNotAllowed(_)
    ));
    // Two RSA issuers: a token signed by one and naming the other fails the signature.
    let other_rsa = trusted_issuer();
    let enforcer = Enforcer::builder()
        .trust(Issuer::tokenleader().public_key(tokenleader.public_key()))
        .trust(
            Issuer::new("https://other.example")
                .public_key(other_rsa.public_key())
                .algorithms([Algorithm::RS512]),
        )
        .acl(AclMap::empty())
        .watch(false)
        .build()
        .unwrap();
    let forged = tokenleader
        .token()
        .claim("iss", json!("https://other.example"))
        .sign();
    assert_eq!(refusal(&enforcer, &forged), TokenError::BadSignature);
    // And a tokenleader token with an `iss` added is not a tokenleader token any more.
    let renamed = tokenleader
        .token()
        .claim("iss", json!("tokenleader"))
        .sign();
    assert_eq!(
        refusal(&enforcer, &renamed),
        TokenError::UnknownIssuer("tokenleader".into())
    );
}

#[test]
fn unknown_missing_and_mistyped_iss_are_refused_by_name() {
    let (tokenleader, keycloak) = (TestIssuer::new(), TestIssuer::es256());
    let enforcer = two_issuers(&tokenleader, &keycloak).build().unwrap();
    let stranger = keycloak_token(&keycloak, "https://evil.example/realms/x");
    let error = refusal(&enforcer, &stranger);
    assert_eq!(
        error,
        TokenError::UnknownIssuer("https://evil.example/realms/x".into())
    );
    assert!(error.to_string().contains("is not trusted here"));
    let long = keycloak_token(&keycloak, &"x".repeat(500));
    assert!(matches!(refusal(&enforcer, &long), TokenError::UnknownIssuer(iss) if iss.len() == 64));
    let mistyped = tokenleader.token().claim("iss", json!(["a"])).sign();
    assert!(matches!(
        refusal(&enforcer, &mistyped),
        TokenError::InvalidClaims(m) if m.starts_with("iss")
    ));
    assert!(matches!(
        refusal(&enforcer, "garbage"),
        TokenError::Malformed(_)
    ));

    // Without an issuer for tokens without `iss`, tokenleader's tokens are refused.
    let keycloak_only = Enforcer::builder()
        .trust(keycloak_issuer(&keycloak))
        .acl(AclMap::empty())
        .watch(false)
        .build()
        .unwrap();
    assert_eq!(
        refusal(&keycloak_only, &tokenleader.token().sign()),
        TokenError::NoIssuer
    );
}

#[test]
fn the_builders_own_keys_are_one_issuer_among_the_trusted() {
    let (tokenleader, keycloak) = (TestIssuer::new(), TestIssuer::es256());
    let tutorial = TestIssuer::hs256();
    let enforcer = Enforcer::builder()
        .public_key(tokenleader.public_key())
        .trust(keycloak_issuer(&keycloak))
        .trust(
            Issuer::new("connexion-tutorial")
                .secret_key(tutorial.secret_key().unwrap())
                .algorithms([Algorithm::HS256]),
        )
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .watch(false)
        .build()
        .unwrap();
    assert!(enforcer.verify(&tokenleader.token().sign()).is_ok());
    assert!(
        enforcer
            .verify(&keycloak_token(&keycloak, KEYCLOAK))
            .is_ok()
    );
    let tutorial_token = tutorial
        .token()
        .claim("iss", json!("connexion-tutorial"))
        .claim("sub", json!("carol"))
        .sign();
    let claims = enforcer.verify(&tutorial_token).unwrap();
    assert_eq!(&*claims.identity.username, "carol");
}

#[test]
fn trust_settings_that_cannot_work_are_refused_at_build() {
    let (tokenleader, keycloak) = (TestIssuer::new(), TestIssuer::es256());
    let message =
        build_error(two_issuers(&tokenleader, &keycloak).trust(keycloak_issuer(&keycloak)));
    assert!(
        message.contains(&format!("two trusted issuers have the `iss` `{KEYCLOAK}`")),
        "{message}"
    );
    let message = build_error(
        Enforcer::builder()
            .public_key(tokenleader.public_key())
            .trust(Issuer::tokenleader().public_key(tokenleader.public_key())),
    );
    assert!(
        message.contains("two trusted issuers take tokens without `iss`"),
        "{message}"
    );
    let message = build_error(Enforcer::builder().trust(Issuer::new(KEYCLOAK)));
    assert!(
        message.contains(&format!("issuer `{KEYCLOAK}`: no key")),
        "{message}"
    );
    let message = build_error(
        Enforcer::builder().trust(
            Issuer::new(KEYCLOAK)
                .public_key(keycloak.public_key())
                .algorithms([Algorithm::RS256]),
        ),
    );
    assert!(
        message.contains("checks none of the allowed algorithms [RS256]"),
        "{message}"
    );
    let message = build_error(
        Enforcer::builder().trust(
            Issuer::new("mixed")
                .public_key(tokenleader.public_key())
                .secret_key(SecretKey::from_bytes(&[1; 32]).unwrap())
                .algorithms([Algorithm::HS256]),
        ),
    );
    assert!(
        message.contains("issuer `mixed`: an issuer has either HMAC secrets or public keys"),
        "{message}"
    );
}

#[test]
fn a_trusted_issuer_s_token_from_the_cache_keeps_its_issuer_s_checks() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, UNIX_EPOCH};

    let (tokenleader, keycloak) = (TestIssuer::new(), TestIssuer::es256());
    let now = Arc::new(AtomicU64::new(1_800_000_000));
    let clock = now.clone();
    let enforcer = two_issuers(&tokenleader, &keycloak)
        .clock(move || UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::Relaxed)))
        .build()
        .unwrap();
    let token = keycloak_claims(keycloak.token(), KEYCLOAK)
        .issued_at(UNIX_EPOCH + Duration::from_secs(1_800_000_000))
        .lifetime(Duration::from_secs(300))
        .sign();

    // Verified once, then found in the issuer's cache: decided the same, with its mapping.
    for _ in 0..3 {
        let claims = enforcer.authorize(&headers(&token), "rule").unwrap();
        assert_eq!(&*claims.identity.username, "alice");
    }
    // The cached token's times are checked again (past any leeway).
    now.store(1_800_000_000 + 300 + 3_600, Ordering::Relaxed);
    assert_eq!(enforcer.verify(&token).unwrap_err(), TokenError::Expired);
    // The builder's own issuer's tokens are found in its own cache alike.
    now.store(1_800_000_000, Ordering::Relaxed);
    let own = tokenleader
        .token()
        .user("bob")
        .issued_at(UNIX_EPOCH + Duration::from_secs(1_800_000_000))
        .sign();
    for _ in 0..2 {
        let claims = enforcer.authorize(&headers(&own), "rule").unwrap();
        assert_eq!(&*claims.identity.username, "bob");
    }
}
