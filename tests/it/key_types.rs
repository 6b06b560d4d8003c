//! EC (P-256, P-384) and Ed25519 keys beside RSA: each key checks only the algorithms of its
//! own type, the allow list stays explicit, and no token crosses from one key type to
//! another.

use jsonwebtoken::Algorithm;
use serde_json::json;
use tokenleader_rbac::keys::{KeyError, KeyType, SecretKey};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{AclMap, Enforcer, PublicKey, TokenError};

use crate::common::*;

const ACL: &str = "- name: role1\n  allow: [rule]\n";

fn issuers() -> [(&'static str, TestIssuer); 5] {
    [
        ("RS512", TestIssuer::new()),
        ("ES256", TestIssuer::es256()),
        ("ES384", TestIssuer::es384()),
        ("EdDSA", TestIssuer::ed25519()),
        ("HS256", TestIssuer::hs256()),
    ]
}

#[test]
fn each_key_type_verifies_its_own_tokens_and_no_other() {
    for (name, issuer) in issuers() {
        let enforcer = issuer.enforcer(ACL);
        let token = issuer.token().sign();
        let claims = enforcer
            .authorize(&headers(&token), "rule")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&*claims.identity.username, "user1");
        for (other_name, other) in issuers() {
            if other_name != name {
                let refused = enforcer.verify(&other.token().sign());
                assert!(
                    refused.is_err(),
                    "{other_name} token passed a {name} enforcer"
                );
            }
        }
    }
}

#[test]
fn an_enforcer_with_keys_of_several_types_takes_each_with_its_algorithm() {
    let [(_, rsa), (_, p256), (_, p384), (_, ed), (_, hs)] = issuers();
    let enforcer = Enforcer::builder()
        .public_key(rsa.public_key())
        .public_key(p256.public_key())
        .public_key(ed.public_key())
        .algorithms([Algorithm::RS512, Algorithm::ES256, Algorithm::EdDSA])
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .watch(false)
        .build()
        .unwrap();
    for issuer in [&rsa, &p256, &ed] {
        assert!(enforcer.verify(&issuer.token().sign()).is_ok());
    }
    // ES384 is not allowed, and no P-384 key is configured; HS256 never with public keys.
    assert!(enforcer.verify(&p384.token().sign()).is_err());
    assert!(enforcer.verify(&hs.token().sign()).is_err());
}

#[test]
fn a_key_never_checks_an_algorithm_of_another_type() {
    let p256 = TestIssuer::es256();
    let enforcer = Enforcer::builder()
        .public_key(p256.public_key())
        .algorithms([Algorithm::ES256, Algorithm::ES384, Algorithm::RS256])
        .acl(AclMap::empty())
        .watch(false)
        .build()
        .unwrap();
    let claims = p256.token().claims().to_string();
    // An ES256 signature under a header that says ES384 or RS256: the P-256 key is not a
    // candidate for either.
    for alg in ["ES384", "RS256"] {
        let header = format!(r#"{{"alg":"{alg}"}}"#);
        let input = signing_input(&header, &claims);
        let signature = p256.signature(input.as_bytes(), Algorithm::ES256);
        let token = format!("{input}.{}", b64(&signature));
        let error = enforcer.verify(&token).unwrap_err();
        assert!(
            matches!(error, tokenleader_rbac::Denial::Unauthenticated(_)),
            "{alg}: {error}"
        );
    }
    // HS256 keyed with the public key's bytes (the classic confusion) is refused outright.
    let point = p256.public_key();
    let header = r#"{"alg":"HS256"}"#;
    let secret = format!("{point:?}");
    let token = format!(
        "{}.{}",
        signing_input(header, &claims),
        hmac_signature(
            &signing_input(header, &claims),
            secret.as_bytes(),
            Algorithm::HS256
        )
    );
    assert_eq!(
        enforcer.verify(&token).unwrap_err(),
        TokenError::AlgorithmNotAllowed("HS256".into())
    );
}

#[test]
fn jwks_of_each_type_load_and_a_jwk_alg_binds_its_key() {
    let p256 = TestIssuer::es256();
    let jwk = |crv: &str, alg: &str| {
        json!({"kty": "EC", "crv": crv, "alg": alg,
            "x": "KSexBRK64-3c_kZ4KBKLrSkDJpkZ9whgacjE32xzKDg",
            "y": "x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT4"})
        .to_string()
    };
    let key = PublicKey::from_jwk(&jwk("P-256", "ES256")).unwrap();
    assert_eq!(key.key_type(), KeyType::EcP256);
    assert_eq!(key.algorithm(), Some(Algorithm::ES256));
    // `alg` of another key type or curve, a curve whose coordinates are another size.
    for (crv, alg) in [("P-256", "ES384"), ("P-256", "RS256"), ("P-256", "HS256")] {
        assert!(
            matches!(
                PublicKey::from_jwk(&jwk(crv, alg)),
                Err(KeyError::AlgorithmMismatch { .. })
            ),
            "{crv} {alg}"
        );
    }
    assert!(PublicKey::from_jwk(&jwk("P-384", "ES384")).is_err());
    assert!(matches!(
        PublicKey::from_jwk(&json!({"kty": "EC", "crv": "Ed25519", "x": "AA"}).to_string()),
        Err(KeyError::Unsupported(_))
    ));
    assert!(matches!(
        PublicKey::from_jwk(&json!({"kty": "OKP", "crv": "X25519", "x": "AA"}).to_string()),
        Err(KeyError::Unsupported(_))
    ));
    let ed = PublicKey::from_jwk(
        &json!({"kty": "OKP", "crv": "Ed25519", "x": "fU0Of2FTpptiQrUiq77mhf2kQg-INLEIw72uNp71Sfo"})
            .to_string(),
    )
    .unwrap();
    assert_eq!(ed.key_type(), KeyType::Ed25519);
    assert!(PublicKey::from_ed25519_bytes(&[0; 31]).is_err());
    assert!(PublicKey::from_ec_point(KeyType::EcP256, &[4; 64]).is_err());
    assert!(PublicKey::from_ec_point(KeyType::Ed25519, &[4; 65]).is_err());
    // The test kit's key loads from its PEM like any other.
    assert_eq!(p256.public_key().key_type(), KeyType::EcP256);
}

#[test]
fn the_builder_refuses_allow_lists_that_cannot_work() {
    let p256 = TestIssuer::es256();
    let error = Enforcer::builder()
        .public_key(p256.public_key())
        .acl(AclMap::empty())
        .build()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("a EC P-256 key checks none of the allowed algorithms [RS512]"),
        "{error}"
    );
    let error = TestIssuer::new()
        .enforcer_builder()
        .algorithms([Algorithm::RS512, Algorithm::HS256])
        .acl(AclMap::empty())
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("HS256 cannot be allowed"),
        "{error}"
    );
}

#[test]
fn ec_and_ed25519_pem_keys_load_and_other_spki_types_are_named() {
    for (issuer, key_type) in [
        (TestIssuer::es256(), KeyType::EcP256),
        (TestIssuer::es384(), KeyType::EcP384),
        (TestIssuer::ed25519(), KeyType::Ed25519),
    ] {
        assert_eq!(issuer.public_key().key_type(), key_type);
    }
    // An X25519 SPKI (OID 1.3.101.110) is not a signature key.
    let x25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEAfU0Of2FTpptiQrUiq77mhf2kQg+INLEIw72uNp71Sfo=\n-----END PUBLIC KEY-----\n";
    let error = PublicKey::from_pem(x25519.as_bytes()).unwrap_err();
    assert!(
        matches!(error, KeyError::Unsupported(ref oid) if oid == "1.3.101.110"),
        "{error}"
    );
}

#[test]
fn hmac_secrets_stand_alone() {
    let secret = || SecretKey::from_bytes(&[7; 32]).unwrap();
    assert!(matches!(
        SecretKey::from_bytes(&[7; 31]),
        Err(KeyError::SecretTooShort { bytes: 31, min: 32 })
    ));
    assert!(
        !format!("{:?}", secret()).contains("7, 7"),
        "Debug hides the secret"
    );
    // A secret and a public key in one enforcer: refused, whichever came first.
    let error = build_error(
        Enforcer::builder()
            .secret_key(secret())
            .public_key(TestIssuer::new().public_key())
            .algorithms([Algorithm::HS256]),
    );
    assert!(
        error.contains("either HMAC secrets or public keys"),
        "{error}"
    );
    // Only HMAC algorithms with a secret, and secrets as long as the hash.
    let error = build_error(Enforcer::builder().secret_key(secret()));
    assert!(
        error.contains("RS512 cannot be allowed with HMAC secrets"),
        "{error}"
    );
    let error = build_error(
        Enforcer::builder()
            .secret_key(secret())
            .algorithms([Algorithm::HS256, Algorithm::HS512]),
    );
    assert!(
        error.contains("HS512 needs secrets of at least 64 bytes"),
        "{error}"
    );

    // An HS256 enforcer takes its own tokens and nothing signed with a public key.
    let hs = TestIssuer::hs256();
    let enforcer = hs.enforcer(ACL);
    assert!(
        enforcer
            .authorize(&headers(&hs.token().sign()), "rule")
            .is_ok()
    );
    assert!(enforcer.verify(&TestIssuer::new().token().sign()).is_err());
    // A token signed with another secret is refused.
    let other = Enforcer::builder()
        .secret_key(SecretKey::from_bytes(&[8; 32]).unwrap())
        .algorithms([Algorithm::HS256])
        .acl(AclMap::empty())
        .watch(false)
        .build()
        .unwrap();
    assert_eq!(
        other.verify(&hs.token().sign()).unwrap_err(),
        TokenError::BadSignature
    );
}
