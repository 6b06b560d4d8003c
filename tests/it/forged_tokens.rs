//! Forged and broken tokens, minted here with test-only keys: every one must end in 401.

use crate::common::*;
use http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::json;
use tokenleader_rbac::{PublicKey, TokenError};

const RS512_HEADER: &str = r#"{"typ":"JWT","alg":"RS512"}"#;

fn claims_text() -> String {
    user1_claims().to_string()
}

async fn answer_for(token: &str) -> Answer {
    get_with_token(&app(test_key_builder().build().unwrap()), "/first", token).await
}

/// The error the enforcer gives for `token`, checked against what the HTTP answer says.
async fn refused(token: &str) -> TokenError {
    let error = test_key_builder()
        .build()
        .unwrap()
        .verify(token)
        .unwrap_err()
        .token_error()
        .cloned()
        .expect("refused as a bad token");
    let answer = answer_for(token).await;
    assert_eq!(assert_invalid_token(&answer), error.to_string());
    error
}

#[tokio::test]
async fn a_correct_token_of_the_test_key_is_accepted() {
    // The control for every case below: the same key, claims and route do pass.
    let answer = answer_for(&mint(&user1_claims())).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["wfc"]["org"], "org1");
}

#[tokio::test]
async fn alg_none_with_empty_signature() {
    let token = format!(
        "{}.",
        signing_input(r#"{"alg":"none","typ":"JWT"}"#, &claims_text())
    );
    assert!(matches!(refused(&token).await, TokenError::Malformed(_)));
}

#[tokio::test]
async fn alg_none_with_a_signature() {
    let input = signing_input(r#"{"alg":"none","typ":"JWT"}"#, &claims_text());
    let token = format!("{input}.{}", b64(b"x"));
    assert_eq!(
        refused(&token).await,
        TokenError::AlgorithmNotAllowed("none".into())
    );
}

fn hmac_forgery(algorithm: Algorithm, name: &str, secret: &[u8]) -> String {
    let header = format!(r#"{{"typ":"JWT","alg":"{name}"}}"#);
    let input = signing_input(&header, &claims_text());
    format!("{input}.{}", hmac_signature(&input, secret, algorithm))
}

#[tokio::test]
async fn hs256_and_hs512_signed_with_the_public_key_bytes() {
    let pem = fixture("test_keys/trusted_public.pem");
    let der = pem::parse(&pem).unwrap().into_contents();
    let ssh_line = fixture("tokenleader/tokenleader_public_key.ssh-rsa.pub");
    for secret in [
        pem.as_bytes(),
        pem.trim().as_bytes(),
        &der,
        ssh_line.as_bytes(),
    ] {
        for (algorithm, name) in [(Algorithm::HS256, "HS256"), (Algorithm::HS512, "HS512")] {
            let token = hmac_forgery(algorithm, name, secret);
            assert_eq!(
                refused(&token).await,
                TokenError::AlgorithmNotAllowed(name.into())
            );
        }
    }
}

#[tokio::test]
async fn hs512_is_refused_even_when_hmac_would_be_asked_for_in_the_builder() {
    let error = test_key_builder()
        .algorithms([Algorithm::RS512, Algorithm::HS512])
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("HS512 cannot be allowed"),
        "{error}"
    );
}

#[tokio::test]
async fn rs256_by_the_right_key_when_only_rs512_is_allowed() {
    let token = mint_raw(
        r#"{"typ":"JWT","alg":"RS256"}"#,
        &claims_text(),
        &trusted_issuer(),
        Algorithm::RS256,
    );
    assert_eq!(
        refused(&token).await,
        TokenError::AlgorithmNotAllowed("RS256".into())
    );
    // and it passes once RS256 is allowed, so the refusal above is the allow list's doing
    let enforcer = test_key_builder()
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap();
    assert!(enforcer.verify(&token).is_ok());
}

#[tokio::test]
async fn tampered_payload() {
    let token = mint(&user1_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = user1_claims();
    claims["sub"]["roles"] = json!(["admin"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(refused(&forged).await, TokenError::BadSignature);
}

#[tokio::test]
async fn tampered_signature() {
    let token = mint(&user1_claims());
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .unwrap();
    bytes[10] ^= 0x01;
    let forged = format!("{input}.{}", b64(&bytes));
    assert_eq!(refused(&forged).await, TokenError::BadSignature);
}

#[tokio::test]
async fn signed_by_another_key() {
    let token = mint_raw(
        RS512_HEADER,
        &claims_text(),
        &attacker_issuer(),
        Algorithm::RS512,
    );
    assert_eq!(refused(&token).await, TokenError::BadSignature);
}

#[tokio::test]
async fn crit_header() {
    let header = r#"{"typ":"JWT","alg":"RS512","crit":["exp"],"exp":1}"#;
    let token = mint_raw(header, &claims_text(), &trusted_issuer(), Algorithm::RS512);
    assert_eq!(refused(&token).await, TokenError::CriticalHeader);
}

#[tokio::test]
async fn crit_header_even_when_null() {
    let header = r#"{"typ":"JWT","alg":"RS512","crit":null}"#;
    let token = mint_raw(header, &claims_text(), &trusted_issuer(), Algorithm::RS512);
    assert_eq!(refused(&token).await, TokenError::CriticalHeader);
}

#[tokio::test]
async fn unknown_kid() {
    let header = r#"{"typ":"JWT","alg":"RS512","kid":"no-such-key"}"#;
    let token = mint_raw(header, &claims_text(), &trusted_issuer(), Algorithm::RS512);
    assert_eq!(refused(&token).await, TokenError::UnknownKeyId);
}

#[tokio::test]
async fn kid_picks_the_key() {
    let header = r#"{"typ":"JWT","alg":"RS512","kid":"k2"}"#;
    let token = mint_raw(header, &claims_text(), &trusted_issuer(), Algorithm::RS512);
    let attacker_public =
        PublicKey::from_pem(fixture("test_keys/attacker_public.pem").as_bytes()).unwrap();
    let enforcer = tokenleader_rbac::Enforcer::builder()
        .public_key(attacker_public.with_kid("k1"))
        .public_key(trusted_public().with_kid("k2"))
        .acl(fixture_acl())
        .clock(at(NOW))
        .build()
        .unwrap();
    assert_eq!(
        enforcer.verify(&token).unwrap().identity.username.as_str(),
        "user1"
    );
    let wrong_kid = mint_raw(
        &header.replace("k2", "k1"),
        &claims_text(),
        &trusted_issuer(),
        Algorithm::RS512,
    );
    assert_eq!(
        enforcer.verify(&wrong_kid).unwrap_err(),
        TokenError::BadSignature
    );
}

#[tokio::test]
async fn embedded_jwk_of_the_attacker_is_not_used() {
    let attacker =
        PublicKey::from_pem(fixture("test_keys/attacker_public.pem").as_bytes()).unwrap();
    assert_eq!(attacker.bits(), 2048);
    let der = pem::parse(fixture("test_keys/attacker_public.pem"))
        .unwrap()
        .into_contents();
    let header = json!({"typ": "JWT", "alg": "RS512",
        "jwk": {"kty": "RSA", "e": "AQAB", "n": b64(&der)},
        "jku": "http://127.0.0.1:1/jwks.json", "x5u": "http://127.0.0.1:1/cert.pem", "x5c": [b64(&der)]});
    let token = mint_raw(
        &header.to_string(),
        &claims_text(),
        &attacker_issuer(),
        Algorithm::RS512,
    );
    assert_eq!(refused(&token).await, TokenError::BadSignature);
}

#[tokio::test]
async fn exp_missing() {
    let mut claims = user1_claims();
    claims.as_object_mut().unwrap().remove("exp");
    assert_eq!(refused(&mint(&claims)).await, TokenError::MissingExpiry);
}

#[tokio::test]
async fn exp_beyond_the_maximum_lifetime() {
    let mut claims = user1_claims();
    claims["exp"] = json!(NOW + 24 * 3600 + 3600);
    assert_eq!(
        refused(&mint(&claims)).await,
        TokenError::LifetimeTooLong { max_secs: 86400 }
    );
    claims["exp"] = json!(u64::MAX);
    assert_eq!(
        refused(&mint(&claims)).await,
        TokenError::LifetimeTooLong { max_secs: 86400 }
    );
}

#[tokio::test]
async fn exp_beyond_the_maximum_lifetime_without_iat() {
    let mut claims = user1_claims();
    claims.as_object_mut().unwrap().remove("iat");
    claims["exp"] = json!(NOW + 25 * 3600);
    assert_eq!(
        refused(&mint(&claims)).await,
        TokenError::LifetimeTooLong { max_secs: 86400 }
    );
}

#[tokio::test]
async fn nbf_in_the_future() {
    let mut claims = user1_claims();
    claims["nbf"] = json!(NOW + 31);
    assert_eq!(refused(&mint(&claims)).await, TokenError::NotYetValid);
    claims["nbf"] = json!(NOW + 30);
    assert!(
        test_key_builder()
            .build()
            .unwrap()
            .verify(&mint(&claims))
            .is_ok(),
        "within leeway"
    );
}

#[tokio::test]
async fn iat_in_the_future() {
    let mut claims = user1_claims();
    claims["iat"] = json!(NOW + 31);
    assert_eq!(refused(&mint(&claims)).await, TokenError::IssuedInFuture);
}

#[tokio::test]
async fn four_segments() {
    let token = format!("{}.{}", mint(&user1_claims()), b64(b"more"));
    assert!(matches!(refused(&token).await, TokenError::Malformed(_)));
}

#[tokio::test]
async fn two_segments() {
    let token = mint(&user1_claims());
    let (input, _) = token.rsplit_once('.').unwrap();
    assert!(matches!(refused(input).await, TokenError::Malformed(_)));
}

#[tokio::test]
async fn padding_in_a_segment() {
    // A header whose base64 needs padding, signed over the padded form: the `=` is its only
    // fault.
    let header = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE,
        br#"{"alg":"RS512","t":12}"#,
    );
    assert!(header.ends_with('='), "the test header must need padding");
    let input = format!("{header}.{}", b64(claims_text().as_bytes()));
    let token = format!(
        "{input}.{}",
        b64(&trusted_issuer().signature(input.as_bytes(), Algorithm::RS512))
    );
    assert!(matches!(refused(&token).await, TokenError::Malformed(_)));
}

#[tokio::test]
async fn standard_base64_alphabet_is_refused() {
    let token = mint(&user1_claims());
    let forged = token.replace('-', "+").replace('_', "/");
    assert_ne!(forged, token, "the test token must contain - or _");
    assert!(matches!(refused(&forged).await, TokenError::Malformed(_)));
}

#[tokio::test]
async fn over_eight_kib() {
    let mut claims = user1_claims();
    claims["filler"] = json!("x".repeat(8 * 1024));
    let token = mint(&claims);
    assert_eq!(refused(&token).await, TokenError::TooLong { max: 8192 });
    let roomy = test_key_builder()
        .max_token_bytes(64 * 1024)
        .build()
        .unwrap();
    assert!(roomy.verify(&token).is_ok(), "the limit is configurable");
}

#[tokio::test]
async fn duplicate_roles_key() {
    let claims = format!(
        r#"{{"exp":{},"iat":{NOW},"sub":{{"id":1,"username":"user1","email":"user1","roles":["role2"],"roles":["role1"],"wfc":{{"id":1,"name":"wfc1","org":"org1","orgunit":"ou1","department":"dept1"}}}}}}"#,
        NOW + 3600
    );
    let token = mint_raw(RS512_HEADER, &claims, &trusted_issuer(), Algorithm::RS512);
    let error = refused(&token).await;
    assert!(
        matches!(&error, TokenError::InvalidClaims(m) if m.contains("duplicate field `roles`")),
        "{error}"
    );
}

#[tokio::test]
async fn duplicate_alg_in_header() {
    let header = r#"{"alg":"none","alg":"RS512"}"#;
    let token = mint_raw(header, &claims_text(), &trusted_issuer(), Algorithm::RS512);
    assert!(matches!(refused(&token).await, TokenError::Malformed(_)));
}

#[tokio::test]
async fn roles_as_a_string() {
    let mut claims = user1_claims();
    claims["sub"]["roles"] = json!("role1");
    let error = refused(&mint(&claims)).await;
    assert!(
        matches!(&error, TokenError::InvalidClaims(m) if m.starts_with("sub.roles:")),
        "{error}"
    );
}

#[tokio::test]
async fn roles_missing_says_so() {
    let mut claims = user1_claims();
    claims["sub"].as_object_mut().unwrap().remove("roles");
    let error = refused(&mint(&claims)).await;
    assert_eq!(error, TokenError::MissingClaim("sub.roles"));
    assert_eq!(error.to_string(), "token has no `sub.roles` claim");
}

#[tokio::test]
async fn wfc_missing_says_so() {
    let mut claims = user1_claims();
    claims["sub"].as_object_mut().unwrap().remove("wfc");
    assert_eq!(
        refused(&mint(&claims)).await,
        TokenError::MissingClaim("sub.wfc")
    );
}

#[tokio::test]
async fn wfc_field_missing_says_which() {
    let mut claims = user1_claims();
    claims["sub"]["wfc"].as_object_mut().unwrap().remove("org");
    assert_eq!(
        refused(&mint(&claims)).await,
        TokenError::MissingClaim("sub.wfc.org")
    );
}

#[tokio::test]
async fn sub_as_a_string_like_other_issuers() {
    let mut claims = user1_claims();
    claims["sub"] = json!("user1");
    assert!(matches!(
        refused(&mint(&claims)).await,
        TokenError::InvalidClaims(_)
    ));
}

#[tokio::test]
async fn payload_not_json() {
    let input = format!("{}.{}", b64(RS512_HEADER.as_bytes()), b64(b"not json"));
    let token = format!(
        "{input}.{}",
        b64(&trusted_issuer().signature(input.as_bytes(), Algorithm::RS512))
    );
    assert!(matches!(refused(&token).await, TokenError::Malformed(_)));
}

#[tokio::test]
async fn unknown_extra_claims_are_ignored() {
    let mut claims = user1_claims();
    claims["jti"] = json!("abc");
    claims["sub"]["extra"] = json!({"nested": [1, 2]});
    claims["sub"]["wfc"]["extra"] = json!(true);
    assert_eq!(answer_for(&mint(&claims)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_token_is_never_echoed() {
    let mut claims = user1_claims();
    claims["sub"]["roles"] = json!("secret-looking-role");
    for token in [mint(&claims), "gArb4ge.v4lue.s1gn".to_owned()] {
        let answer = answer_for(&token).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        let body = answer.body.to_string();
        for part in token.split('.') {
            assert!(!body.contains(part), "{body} echoes {part}");
        }
    }
}
