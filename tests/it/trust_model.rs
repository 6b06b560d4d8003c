//! One model of trust: the builder's own issuer and every trusted one are the same `Issuer`,
//! with the same settings and the same defaults; a setting that applies to no issuer fails
//! the build and says where it belongs.

use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::json;
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{AclMap, Enforcer, Issuer, TokenError};

use crate::common::*;

const KEYCLOAK: &str = "https://kc.example/realms/acme";

fn keycloak() -> Issuer {
    Issuer::new(KEYCLOAK).public_key(TestIssuer::es256().public_key())
}

/// With every key on trusted issuers, the builder's own `.audience(..)` checked nothing and a
/// token without `aud` was allowed (fail open); now the build says where it belongs.
#[test]
fn a_builder_level_setting_with_no_own_issuer_fails_the_build() {
    for (builder, setting) in [
        (
            Enforcer::builder().trust(keycloak()).audience("micros1"),
            "audience",
        ),
        (
            Enforcer::builder()
                .trust(keycloak())
                .require_claim("/typ", "access"),
            "require_claim",
        ),
        (
            Enforcer::builder()
                .trust(keycloak())
                .leeway(Duration::from_secs(1)),
            "leeway",
        ),
    ] {
        let message = build_error(builder);
        assert!(
            message.contains(&format!("`.{setting}(..)` on the builder")),
            "{message}"
        );
        assert!(
            message.contains(&format!(".trust(Issuer::new(..).{setting}(..))")),
            "{message}"
        );
    }
}

/// Refetch and refresh intervals given before a JWKS source were dropped; given without one
/// at all, they apply to nothing.
#[cfg(feature = "jwks")]
#[test]
fn jwks_settings_without_a_jwks_source_fail_the_build() {
    let message = build_error(
        Enforcer::builder()
            .trust(keycloak())
            .jwks_min_refetch_interval(Duration::from_secs(1)),
    );
    assert!(
        message.contains("`.jwks_min_refetch_interval(..)` on the builder"),
        "{message}"
    );
    let message = build_error(
        Enforcer::builder()
            .public_key(trusted_public())
            .jwks_refresh_interval(Duration::from_secs(60)),
    );
    assert!(
        message.contains("`.jwks_refresh_interval(..)` applies to a JWKS source"),
        "{message}"
    );
    let message = build_error(
        Enforcer::builder().trust(keycloak().jwks_min_refetch_interval(Duration::from_secs(1))),
    );
    assert!(
        message.starts_with(&format!("Enforcer configuration: issuer `{KEYCLOAK}`")),
        "{message}"
    );
    let message = build_error(
        Enforcer::builder()
            .trust(keycloak())
            .jwks_cache_file("/tmp/x"),
    );
    assert!(message.contains("no issuer has one"), "{message}");
}

/// A trusted issuer's key file is read and watched like the builder's own.
#[test]
fn a_trusted_issuers_key_file_is_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("keycloak.pem");
    std::fs::write(&key_file, fixture("test_keys/trusted_public.pem")).unwrap();
    let enforcer = Enforcer::builder()
        .trust(
            Issuer::new(KEYCLOAK)
                .public_key_file(&key_file)
                .algorithms([Algorithm::RS512]),
        )
        .acl(AclMap::empty())
        .clock(at(NOW))
        .build()
        .unwrap();
    let token_of = |issuer: &TestIssuer| {
        let mut claims = user1_claims();
        claims["iss"] = json!(KEYCLOAK);
        claims["sub"] = json!("alice");
        mint_raw(
            r#"{"alg":"RS512"}"#,
            &claims.to_string(),
            issuer,
            Algorithm::RS512,
        )
    };
    assert!(enforcer.verify(&token_of(&trusted_issuer())).is_ok());
    let status = enforcer.issuer_key_status(Some(KEYCLOAK)).unwrap();
    assert_eq!(status.paths, std::slice::from_ref(&key_file));

    let next = dir.path().join("next.pem");
    std::fs::write(&next, fixture("test_keys/attacker_public.pem")).unwrap();
    std::fs::rename(&next, &key_file).unwrap();
    eventually("the rotated key in force", || {
        enforcer.verify(&token_of(&attacker_issuer())).is_ok()
    });
    assert_eq!(
        refusal(&enforcer, &token_of(&trusted_issuer())),
        TokenError::BadSignature
    );
    assert_eq!(
        enforcer
            .issuer_key_status(Some(KEYCLOAK))
            .unwrap()
            .generation,
        2
    );
}

/// `issuer_key_status(Some(any))` answered the builder's issuer's status whatever `iss` was
/// asked; now each `iss` finds its own issuer, or none.
#[test]
fn the_key_status_of_an_iss_is_that_issuers() {
    let enforcer = test_key_builder()
        .issuer("https://tl.example")
        .trust(keycloak())
        .build()
        .unwrap();
    assert_eq!(
        enforcer
            .issuer_key_status(Some("https://tl.example"))
            .unwrap()
            .keys,
        1
    );
    assert_eq!(enforcer.issuer_key_status(Some(KEYCLOAK)).unwrap().keys, 1);
    assert!(
        enforcer
            .issuer_key_status(Some("https://other.example"))
            .is_none()
    );
    assert!(
        enforcer.issuer_key_status(None).is_none(),
        "no issuer takes tokens without iss"
    );
    assert_eq!(enforcer.key_status().keys, 1, "the builder's own issuer");
}

/// `Issuer::new` takes what each key announces: an ES256 key checks ES256 tokens, an RSA
/// JWK bound to RS512 only RS512 tokens; none of them an algorithm of another key type.
#[test]
fn an_issuer_without_algorithms_takes_what_its_keys_announce() {
    let es256 = TestIssuer::es256();
    let rsa = tokenleader_rbac::PublicKey::from_jwk(&fixture("test_keys/trusted_public.jwk.json"))
        .unwrap();
    let enforcer = Enforcer::builder()
        .trust(
            Issuer::new(KEYCLOAK)
                .public_key(es256.public_key())
                .public_key(rsa),
        )
        .acl(AclMap::empty())
        .clock(at(NOW))
        .build()
        .unwrap();
    let token = |header: serde_json::Value, issuer: &TestIssuer, algorithm: Algorithm| {
        let mut claims = user1_claims();
        claims["iss"] = json!(KEYCLOAK);
        claims["sub"] = json!("alice");
        mint_raw(&header.to_string(), &claims.to_string(), issuer, algorithm)
    };
    let es = token(json!({"alg": "ES256"}), &es256, Algorithm::ES256);
    assert!(enforcer.verify(&es).is_ok());
    let rs512 = token(
        json!({"alg": "RS512", "kid": "trusted-2026"}),
        &trusted_issuer(),
        Algorithm::RS512,
    );
    assert!(enforcer.verify(&rs512).is_ok());
    let rs256 = token(
        json!({"alg": "RS256", "kid": "trusted-2026"}),
        &trusted_issuer(),
        Algorithm::RS256,
    );
    assert!(matches!(
        refusal(&enforcer, &rs256),
        TokenError::AlgorithmNotForKey(_)
    ));
    let hs256 = token(
        json!({"alg": "HS256"}),
        &TestIssuer::hs256(),
        Algorithm::HS256,
    );
    assert!(matches!(
        refusal(&enforcer, &hs256),
        TokenError::AlgorithmNotAllowed(_)
    ));
    let none = format!(
        "{}.",
        signing_input(r#"{"alg":"none"}"#, &user1_claims().to_string())
    );
    assert!(enforcer.verify(&none).is_err());
}
