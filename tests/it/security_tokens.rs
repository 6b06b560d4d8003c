//! Adversarial tokens, each case named after the attack. Every one must be refused (401), and
//! none may make the verifier do RSA work or a network request it should not.

use std::net::TcpListener;
use std::time::Duration;

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use tokenleader_rbac::{Enforcer, TokenError, acl::Decision};

const RS512: &str = r#"{"typ":"JWT","alg":"RS512"}"#;

fn enforcer() -> Enforcer {
    test_key_builder().build().unwrap()
}

fn claims() -> String {
    user1_claims().to_string()
}

fn signed(header: &str, claims: &str) -> String {
    mint_raw(header, claims, &trusted_issuer(), Algorithm::RS512)
}

fn refused(token: &str) -> TokenError {
    enforcer()
        .verify(token)
        .expect_err("the attack must be refused")
        .token_error()
        .cloned()
        .expect("refused as a bad token")
}

fn with_signature(token: &str, signature: &[u8]) -> String {
    let (input, _) = token.rsplit_once('.').unwrap();
    format!("{input}.{}", b64(signature))
}

fn modulus() -> Vec<u8> {
    let jwk: Value = serde_json::from_str(&fixture("test_keys/trusted_public.jwk.json")).unwrap();
    URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap()
}

// ---- alg -------------------------------------------------------------------------------

#[test]
fn alg_none_in_every_spelling() {
    for alg in ["none", "NONE", "None", "nOnE"] {
        let token = format!(
            "{}.{}",
            signing_input(&format!(r#"{{"alg":"{alg}"}}"#), &claims()),
            b64(b"x")
        );
        assert!(
            matches!(refused(&token), TokenError::AlgorithmNotAllowed(_)),
            "{alg}"
        );
    }
}

#[test]
fn alg_empty_or_missing_or_not_a_string() {
    for header in [r#"{"alg":""}"#, r#"{"typ":"JWT"}"#, r#"{"alg":null}"#] {
        assert!(
            matches!(
                refused(&signed(header, &claims())),
                TokenError::AlgorithmNotAllowed(_)
            ),
            "{header}"
        );
    }
    assert!(matches!(
        refused(&signed(r#"{"alg":512}"#, &claims())),
        TokenError::Malformed(_)
    ));
}

#[test]
fn hs384_keyed_with_the_public_key() {
    let pem = fixture("test_keys/trusted_public.pem");
    let input = signing_input(r#"{"alg":"HS384"}"#, &claims());
    let token = format!(
        "{input}.{}",
        hmac_signature(&input, pem.as_bytes(), Algorithm::HS384)
    );
    assert_eq!(
        refused(&token),
        TokenError::AlgorithmNotAllowed("HS384".into())
    );
}

#[test]
fn ps512_by_the_right_key_when_only_rs512_is_allowed() {
    let token = mint_raw(
        r#"{"alg":"PS512"}"#,
        &claims(),
        &trusted_issuer(),
        Algorithm::PS512,
    );
    assert_eq!(
        refused(&token),
        TokenError::AlgorithmNotAllowed("PS512".into())
    );
    let ps = test_key_builder()
        .algorithms([Algorithm::PS512])
        .build()
        .unwrap();
    assert!(
        ps.verify(&token).is_ok(),
        "the token itself is sound: only the allow list refuses it"
    );
}

// ---- kid, jku, x5u, jwk, x5c -----------------------------------------------------------------

#[test]
fn kid_with_path_traversal_or_sql() {
    for kid in [
        "../../../../etc/passwd",
        "/dev/null",
        "' OR '1'='1",
        "x'; DROP TABLE keys; --",
        "\u{0}",
    ] {
        let header = json!({"alg": "RS512", "kid": kid}).to_string();
        assert_eq!(
            refused(&signed(&header, &claims())),
            TokenError::UnknownKeyId,
            "{kid:?}"
        );
    }
}

#[test]
fn jku_and_x5u_are_never_fetched() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/keys", listener.local_addr().unwrap());
    let header = json!({"alg": "RS512", "jku": url, "x5u": url}).to_string();
    let forged = mint_raw(&header, &claims(), &attacker_issuer(), Algorithm::RS512);
    assert_eq!(refused(&forged), TokenError::BadSignature);
    // The same header on a correctly signed token changes nothing either.
    assert!(enforcer().verify(&signed(&header, &claims())).is_ok());
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        listener.accept().is_err(),
        "the verifier connected to the URL in the token"
    );
}

#[test]
fn embedded_jwk_and_x5c_of_the_attacker() {
    let attacker_der = pem::parse(fixture("test_keys/attacker_public.pem"))
        .unwrap()
        .into_contents();
    let header =
        json!({"alg": "RS512", "jwk": {"kty": "RSA", "e": "AQAB", "n": b64(&attacker_der)},
                        "x5c": [STANDARD.encode(&attacker_der)]})
        .to_string();
    let forged = mint_raw(&header, &claims(), &attacker_issuer(), Algorithm::RS512);
    assert_eq!(refused(&forged), TokenError::BadSignature);
}

// ---- signatures --------------------------------------------------------------------------

#[test]
fn signature_of_zero_bytes() {
    let token = signed(RS512, &claims());
    let (input, _) = token.rsplit_once('.').unwrap();
    assert!(matches!(
        refused(&format!("{input}.")),
        TokenError::Malformed(_)
    ));
}

#[test]
fn signature_of_all_zero_bytes() {
    assert_eq!(
        refused(&with_signature(&signed(RS512, &claims()), &[0; 256])),
        TokenError::BadSignature
    );
}

#[test]
fn signature_equal_to_the_modulus_or_the_modulus_minus_one() {
    let n = modulus();
    assert_eq!(
        refused(&with_signature(&signed(RS512, &claims()), &n)),
        TokenError::BadSignature
    );
    let mut n_minus_one = n.clone();
    *n_minus_one.last_mut().unwrap() -= 1; // n is odd: no borrow
    assert_eq!(
        refused(&with_signature(&signed(RS512, &claims()), &n_minus_one)),
        TokenError::BadSignature
    );
    assert_eq!(
        refused(&with_signature(&signed(RS512, &claims()), &[1])),
        TokenError::BadSignature
    );
}

#[test]
fn a_signature_longer_than_any_accepted_key_makes() {
    // The largest accepted key (8,192 bits) signs with 1,024 bytes: one more is not decoded.
    let error = refused(&with_signature(&signed(RS512, &claims()), &[1; 1025]));
    assert!(
        matches!(&error, TokenError::Malformed(m) if m.contains("longer than any accepted key")),
        "{error:?}"
    );
}

#[test]
fn a_valid_signature_with_a_byte_appended() {
    let token = signed(RS512, &claims());
    let (_, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes.push(0);
    assert_eq!(
        refused(&with_signature(&token, &bytes)),
        TokenError::BadSignature
    );
    bytes.pop();
    bytes.insert(0, 0);
    assert_eq!(
        refused(&with_signature(&token, &bytes)),
        TokenError::BadSignature
    );
}

// ---- shapes ------------------------------------------------------------------------------

#[test]
fn header_or_payload_not_an_object() {
    for header in ["[]", "\"RS512\"", "null", "42", r#"{"alg":"RS512"} x"#] {
        assert!(
            matches!(
                refused(&signed(header, &claims())),
                TokenError::Malformed(_)
            ),
            "{header}"
        );
    }
    for payload in ["[]", "\"user1\"", "null", "42", "{", r#"{"exp":1} {}"#] {
        assert!(
            matches!(refused(&signed(RS512, payload)), TokenError::Malformed(_)),
            "{payload}"
        );
    }
}

#[test]
fn time_claims_of_the_wrong_type() {
    for claim in ["exp", "nbf", "iat"] {
        for bad in [
            json!("1800003600"),
            json!(1e300),
            json!(-5),
            json!(-0.5),
            json!(18446744073709551616.0),
            json!([1]),
            json!({"t": 1}),
        ] {
            let mut payload = user1_claims();
            payload[claim] = bad.clone();
            let error = refused(&signed(RS512, &payload.to_string()));
            assert!(
                matches!(&error, TokenError::InvalidClaims(m) if m.starts_with(claim)),
                "{claim}={bad}: {error}"
            );
        }
    }
}

#[test]
fn time_claims_with_a_fraction_are_truncated() {
    let mut payload = user1_claims();
    let exp = payload["exp"].as_u64().unwrap();
    let iat = payload["iat"].as_u64().unwrap();
    payload["exp"] = json!(exp as f64 + 0.75);
    payload["iat"] = json!(iat as f64 + 0.25);
    payload["nbf"] = json!(iat as f64 + 0.5);
    let claims = enforcer()
        .verify(&signed(RS512, &payload.to_string()))
        .unwrap();
    assert_eq!(
        (claims.exp, claims.iat, claims.nbf),
        (exp, Some(iat), Some(iat))
    );
    // A float beyond the maximum lifetime is refused like an integer would be.
    payload["exp"] = json!(exp as f64 + 1e9);
    assert!(
        enforcer()
            .verify(&signed(RS512, &payload.to_string()))
            .is_err()
    );
}

#[test]
fn exp_null_is_no_exp() {
    let mut payload = user1_claims();
    payload["exp"] = Value::Null;
    assert_eq!(
        refused(&signed(RS512, &payload.to_string())),
        TokenError::MissingExpiry
    );
}

#[test]
fn time_claims_at_u64_max() {
    let mut payload = user1_claims();
    payload["exp"] = json!(u64::MAX);
    assert_eq!(
        refused(&signed(RS512, &payload.to_string())),
        TokenError::LifetimeTooLong { max_secs: 86_400 }
    );
    for claim in ["nbf", "iat"] {
        let mut payload = user1_claims();
        payload[claim] = json!(u64::MAX);
        assert!(
            refused(&signed(RS512, &payload.to_string())) != TokenError::BadSignature,
            "{claim}"
        );
    }
    let mut payload = user1_claims();
    payload["exp"] = json!(u64::MAX);
    payload["iat"] = json!(u64::MAX);
    assert!(
        enforcer()
            .verify(&signed(RS512, &payload.to_string()))
            .is_err()
    );
}

#[test]
fn a_100000_deep_nested_array_in_the_claims() {
    let mut payload = user1_claims().to_string();
    payload.insert_str(
        1,
        &format!(r#""deep":{}{},"#, "[".repeat(100_000), "]".repeat(100_000)),
    );
    let forged = mint_raw(RS512, &payload, &attacker_issuer(), Algorithm::RS512);
    assert!(
        matches!(refused(&forged), TokenError::TooLong { .. }),
        "refused by size by default"
    );
    // With room for it, the parser walks it without recursing into a stack overflow, and
    // the forgery is still refused.
    let roomy = test_key_builder().max_token_bytes(1 << 20).build().unwrap();
    assert_eq!(roomy.verify(&forged).unwrap_err(), TokenError::BadSignature);
    // Deep nesting where a claim is read is refused as the wrong type at once.
    let mut claims = user1_claims();
    claims["sub"]["roles"] =
        serde_json::from_str(&format!("{}{}", "[".repeat(100), "]".repeat(100))).unwrap();
    assert!(matches!(
        refused(&signed(RS512, &claims.to_string())),
        TokenError::InvalidClaims(_)
    ));
}

#[test]
fn a_one_megabyte_token_is_refused_before_any_parsing() {
    // Well-formed and correctly signed: only its size can refuse it.
    let mut payload = user1_claims();
    payload["padding"] = json!("x".repeat(1 << 20));
    let token = signed(RS512, &payload.to_string());
    assert_eq!(refused(&token), TokenError::TooLong { max: 8192 });
    let garbage = "A".repeat(1 << 20);
    assert_eq!(refused(&garbage), TokenError::TooLong { max: 8192 });
}

#[test]
fn a_token_of_a_million_dots() {
    assert_eq!(
        refused(&".".repeat(1_000_000)),
        TokenError::TooLong { max: 8192 }
    );
    assert!(matches!(refused(".."), TokenError::Malformed(_)));
    assert!(matches!(refused("....."), TokenError::Malformed(_)));
}

#[test]
fn non_canonical_base64_with_changed_unused_bits() {
    let token = signed(RS512, &claims());
    let (input, signature) = token.rsplit_once('.').unwrap();
    // 256 signature bytes end in a 4-character group holding 1 byte: its last character
    // carries 4 unused bits; changing them decodes to the same bytes in a lax decoder.
    let mut chars: Vec<u8> = signature.bytes().collect();
    let last = chars.last_mut().unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.iter().position(|c| c == last).unwrap();
    *last = alphabet[index ^ 0b0001];
    let tampered = format!("{input}.{}", String::from_utf8(chars).unwrap());
    assert!(matches!(refused(&tampered), TokenError::Malformed(_)));
}

#[test]
fn whitespace_and_newlines_inside() {
    let token = signed(RS512, &claims());
    let middle = token.len() / 2;
    for insert in [" ", "\n", "\r\n", "\t"] {
        let mut broken = token.clone();
        broken.insert_str(middle, insert);
        assert!(
            matches!(refused(&broken), TokenError::Malformed(_)),
            "{insert:?}"
        );
    }
    assert!(matches!(
        refused(&format!(" {token}")),
        TokenError::Malformed(_)
    ));
    assert!(matches!(
        refused(&format!("{token}\n")),
        TokenError::Malformed(_)
    ));
}

// ---- roles -------------------------------------------------------------------------------

#[test]
fn ten_thousand_roles_decide_without_trouble() {
    let mut payload = user1_claims();
    let mut roles: Vec<String> = (0..10_000).map(|i| format!("role-{i}")).collect();
    payload["sub"]["roles"] = json!(roles);
    let token = signed(RS512, &payload.to_string());
    assert!(
        matches!(refused(&token), TokenError::TooLong { .. }),
        "refused by size by default"
    );
    let roomy = test_key_builder().max_token_bytes(1 << 20).build().unwrap();
    let claims = roomy.verify(&token).unwrap();
    assert_eq!(claims.identity.roles.len(), 10_000);
    assert_eq!(
        roomy.decide(&claims.identity.roles, FIRST_RULE),
        Decision::Denied
    );
    roles.push("role1".into());
    assert_eq!(
        roomy.decide(&roles, FIRST_RULE),
        Decision::Granted { role: "role1" }
    );
}

#[tokio::test]
async fn unicode_look_alikes_of_a_granted_role_are_denied() {
    let app = app(enforcer());
    // Cyrillic о, a zero-width space, a full-width digit, a combining mark, NFD vs NFC.
    for role in [
        "r\u{043e}le1",
        "role1\u{200b}",
        "role\u{ff11}",
        "role1\u{0301}",
        "ROLE1",
        "role1 ",
    ] {
        let mut payload = user1_claims();
        payload["sub"]["roles"] = json!([role]);
        let answer = get_with_token(&app, "/first", &mint(&payload)).await;
        assert_eq!(answer.status, http::StatusCode::FORBIDDEN, "{role:?}");
    }
}

#[tokio::test]
async fn admin_with_a_space_or_another_case_is_not_the_admin_role() {
    let app = app(enforcer());
    for role in [
        "admin ",
        " admin",
        "Admin",
        "ADMIN",
        "admin\u{0}",
        "\u{0430}dmin",
    ] {
        let mut payload = user1_claims();
        payload["sub"]["roles"] = json!([role]);
        let answer = get_with_token(&app, "/first", &mint(&payload)).await;
        assert_eq!(answer.status, http::StatusCode::FORBIDDEN, "{role:?}");
    }
    let mut payload = user1_claims();
    payload["sub"]["roles"] = json!(["admin"]);
    assert_eq!(
        get_with_token(&app, "/first", &mint(&payload)).await.status,
        http::StatusCode::OK
    );
}
