//! Tokens of other issuers, read through a ClaimMapping, with `iss` and `aud` checks.

use crate::common::*;
use http::StatusCode;
use serde_json::{Value, json};
use tokenleader_rbac::{Enforcer, TokenError, acl::Decision, claims::ClaimMapping};

const ISSUER: &str = "https://kc.example/realms/acme";

fn keycloak_claims() -> Value {
    json!({
        "exp": NOW + 300, "iat": NOW, "iss": ISSUER, "aud": ["micros1", "account"],
        "sub": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "typ": "Bearer",
        "preferred_username": "alice", "email": "alice@acme.example",
        "realm_access": {"roles": ["role1", "offline_access"]},
        "resource_access": {"micros1": {"roles": ["role2"]}},
        "org": "acme", "department": "sales"
    })
}

fn keycloak() -> Enforcer {
    let mapping = ClaimMapping::new()
        .username("/preferred_username")
        .email("/email")
        .roles("/realm_access/roles")
        .roles("/resource_access/micros1/roles")
        .wfc_org("/org")
        .wfc_department("/department");
    test_key_builder()
        .claim_mapping(mapping)
        .issuer(ISSUER)
        .audience("micros1")
        .build()
        .unwrap()
}

fn auth0() -> Enforcer {
    let mapping = ClaimMapping::new()
        .roles("/https:~1~1example.com~1roles")
        .roles_space_separated("/scope")
        .wfc_org("/https:~1~1example.com~1org")
        .require_wfc(true);
    test_key_builder()
        .claim_mapping(mapping)
        .audience("https://api.example.com")
        .build()
        .unwrap()
}

fn auth0_claims() -> Value {
    json!({
        "exp": NOW + 300, "iat": NOW, "iss": "https://example.eu.auth0.com/",
        "aud": "https://api.example.com", "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
        "scope": "openid profile role1",
        "https://example.com/roles": ["role2"],
        "https://example.com/org": "org9"
    })
}

#[tokio::test]
async fn a_keycloak_token_is_decided_with_realm_and_client_roles() {
    let enforcer = keycloak();
    let claims = enforcer.verify(&mint(&keycloak_claims())).unwrap();
    assert_eq!(claims.identity.username.as_str(), "alice");
    assert_eq!(claims.identity.email.as_str(), "alice@acme.example");
    assert_eq!(
        claims.identity.roles.as_ref(),
        ["role1", "offline_access", "role2"]
    );
    assert_eq!(
        (
            claims.wfc.org.as_str(),
            claims.wfc.department.as_str(),
            claims.wfc.orgunit.as_str()
        ),
        ("acme", "sales", "")
    );
    assert_eq!(
        enforcer.decide(&claims.identity.roles, FIRST_RULE),
        Decision::Granted { role: "role1" }
    );
    assert_eq!(
        enforcer.decide(&claims.identity.roles, THIRD_RULE),
        Decision::Granted { role: "role2" }
    );

    let answer = get_with_token(&app(enforcer), "/first", &mint(&keycloak_claims())).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["wfc"]["org"], "acme");
}

#[test]
fn an_auth0_token_is_decided_with_namespaced_roles_and_scopes() {
    let enforcer = auth0();
    let claims = enforcer.verify(&mint(&auth0_claims())).unwrap();
    assert_eq!(
        claims.identity.username.as_str(),
        "auth0|5f7c8ec7c33c6c004bbafe82",
        "the user name defaults to /sub"
    );
    assert_eq!(
        claims.identity.roles.as_ref(),
        ["role2", "openid", "profile", "role1"]
    );
    assert_eq!(claims.wfc.org.as_str(), "org9");
    assert!(
        enforcer
            .decide(&claims.identity.roles, FIRST_RULE)
            .is_allowed()
    );
    let mut narrow = auth0_claims();
    narrow["scope"] = json!("openid");
    let claims = enforcer.verify(&mint(&narrow)).unwrap();
    assert_eq!(
        enforcer.decide(&claims.identity.roles, FIRST_RULE),
        Decision::Denied
    );
}

#[test]
fn each_missing_mapped_claim_is_named() {
    for (pointer, path) in [
        ("/preferred_username", "/preferred_username"),
        ("/email", "/email"),
        ("/realm_access", "/realm_access/roles"),
        ("/resource_access/micros1", "/resource_access/micros1/roles"),
    ] {
        let mut claims = keycloak_claims();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        claims
            .pointer_mut(if parent.is_empty() { "" } else { parent })
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(key);
        let error = keycloak().verify(&mint(&claims)).unwrap_err();
        assert_eq!(
            error,
            TokenError::MissingMappedClaim(path.into()),
            "{pointer}"
        );
        assert_eq!(error.to_string(), format!("token has no `{path}` claim"));
    }
    // With the wfc required, its mapped fields are too.
    let mut claims = auth0_claims();
    claims
        .as_object_mut()
        .unwrap()
        .remove("https://example.com/org");
    assert_eq!(
        auth0().verify(&mint(&claims)).unwrap_err(),
        TokenError::MissingMappedClaim("/https:~1~1example.com~1org".into())
    );
}

#[test]
fn each_mistyped_mapped_claim_is_named() {
    for (pointer, bad, expected) in [
        // A number is a name (a numeric user id); anything else is not.
        (
            "/preferred_username",
            json!(true),
            "/preferred_username: expected a string",
        ),
        (
            "/realm_access/roles",
            json!("role1"),
            "/realm_access/roles: expected an array of strings",
        ),
        (
            "/realm_access/roles",
            json!(["role1", 7]),
            "/realm_access/roles: expected an array of strings",
        ),
        ("/org", json!({"name": "acme"}), "/org: expected a string"),
    ] {
        let mut claims = keycloak_claims();
        *claims.pointer_mut(pointer).unwrap() = bad;
        assert_eq!(
            keycloak().verify(&mint(&claims)).unwrap_err(),
            TokenError::InvalidClaims(expected.into()),
            "{pointer}"
        );
    }
    let mut claims = auth0_claims();
    claims["scope"] = json!(["role1"]);
    assert_eq!(
        auth0().verify(&mint(&claims)).unwrap_err(),
        TokenError::InvalidClaims("/scope: expected a string".into())
    );
}

#[test]
fn wrong_or_missing_iss_and_wrong_aud_are_refused() {
    let mut claims = keycloak_claims();
    claims["iss"] = json!("https://evil.example/realms/acme");
    assert_eq!(
        keycloak().verify(&mint(&claims)).unwrap_err(),
        TokenError::WrongIssuer
    );
    claims.as_object_mut().unwrap().remove("iss");
    assert_eq!(
        keycloak().verify(&mint(&claims)).unwrap_err(),
        TokenError::MissingIssuer
    );

    let mut claims = keycloak_claims();
    claims["aud"] = json!("account");
    assert_eq!(
        keycloak().verify(&mint(&claims)).unwrap_err(),
        TokenError::WrongAudience
    );
    claims.as_object_mut().unwrap().remove("aud");
    assert_eq!(
        keycloak().verify(&mint(&claims)).unwrap_err(),
        TokenError::WrongAudience
    );
    claims["aud"] = json!("micros1");
    assert!(
        keycloak().verify(&mint(&claims)).is_ok(),
        "a single audience string works too"
    );
}

#[test]
fn iss_and_aud_apply_to_tokenleader_tokens_too() {
    let with_issuer = test_key_builder()
        .issuer("https://tl.example")
        .build()
        .unwrap();
    assert_eq!(
        with_issuer.verify(&mint(&user1_claims())).unwrap_err(),
        TokenError::MissingIssuer
    );
    let mut claims = user1_claims();
    claims["iss"] = json!("https://tl.example");
    assert!(with_issuer.verify(&mint(&claims)).is_ok());
}

#[test]
fn mapped_tokens_still_need_exp_a_good_signature_and_unique_members() {
    let mut claims = keycloak_claims();
    claims.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        keycloak().verify(&mint(&claims)).unwrap_err(),
        TokenError::MissingExpiry
    );
    let forged = mint_raw(
        r#"{"alg":"RS512"}"#,
        &keycloak_claims().to_string(),
        &attacker_issuer(),
        jsonwebtoken::Algorithm::RS512,
    );
    assert_eq!(
        keycloak().verify(&forged).unwrap_err(),
        TokenError::BadSignature
    );
    let text = keycloak_claims()
        .to_string()
        .replacen('{', r#"{"preferred_username":"admin","#, 1);
    let duplicated = mint_raw(
        r#"{"alg":"RS512"}"#,
        &text,
        &trusted_issuer(),
        jsonwebtoken::Algorithm::RS512,
    );
    let error = keycloak().verify(&duplicated).unwrap_err();
    assert!(
        matches!(error.token_error(), Some(TokenError::Malformed(m)) if m.contains("duplicate member `preferred_username`")),
        "{error}"
    );
}

#[test]
fn a_string_subject_is_kept_and_float_times_are_truncated() {
    let mut claims = keycloak_claims();
    claims["exp"] = json!((NOW + 300) as f64 + 0.9);
    claims["iat"] = json!(NOW as f64 + 0.1);
    let verified = keycloak().verify(&mint(&claims)).unwrap();
    assert_eq!(
        verified.identity.subject.as_deref(),
        Some("f81d4fae-7dec-11d0-a765-00a0c91e6bf6")
    );
    assert_eq!(verified.identity.id, 0);
    assert_eq!((verified.exp, verified.iat), (NOW + 300, Some(NOW)));
    for bad in [json!(-1.5), json!(1e300), json!("1800000300")] {
        claims["exp"] = bad.clone();
        let error = keycloak().verify(&mint(&claims)).unwrap_err();
        assert!(
            matches!(error.token_error(), Some(TokenError::InvalidClaims(m)) if m.starts_with("exp")),
            "{bad}: {error}"
        );
    }
    // tokenleader's `sub` is the user object: no subject.
    let tokenleader = test_key_builder().build().unwrap();
    let verified = tokenleader.verify(&mint(&user1_claims())).unwrap();
    assert_eq!(verified.identity.subject, None);
}

/// `scope` (space-separated) or `scp` (space-separated, or an array) read as roles, each with
/// the prefix; a token with neither has none from them, one with a scope of another type is
/// refused.
#[test]
fn scopes_become_roles_with_their_prefix() {
    let enforcer = |prefix: &str| {
        test_key_builder()
            .claim_mapping(ClaimMapping::new().scopes_as_roles(prefix))
            .audience("https://api.example.com")
            .build()
            .unwrap()
    };
    let token = |scopes: Value| {
        let mut claims = auth0_claims();
        claims.as_object_mut().unwrap().remove("scope");
        for (name, value) in scopes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        mint(&claims)
    };
    let roles = |enforcer: &Enforcer, scopes: Value| -> Vec<String> {
        let claims = enforcer.verify(&token(scopes)).unwrap();
        claims.identity.roles.to_vec()
    };
    let plain = enforcer("");
    assert_eq!(
        roles(&plain, json!({"scope": "read  write"})),
        ["read", "write"]
    );
    assert_eq!(
        roles(&plain, json!({"scp": "Entries.Read"})),
        ["Entries.Read"]
    );
    assert_eq!(
        roles(&plain, json!({"scp": ["entries.read", "openid"]})),
        ["entries.read", "openid"]
    );
    assert_eq!(roles(&plain, json!({})), Vec::<String>::new());

    let prefixed = enforcer("scope:");
    assert_eq!(
        roles(&prefixed, json!({"scope": "read write"})),
        ["scope:read", "scope:write"]
    );
    // A prefixed scope is not the role of the same name: the scope `role1` grants nothing.
    let claims = prefixed.verify(&mint(&auth0_claims())).unwrap();
    assert!(
        !prefixed
            .decide(&claims.identity.roles, FIRST_RULE)
            .is_allowed()
    );

    for hostile in [
        json!({"scope": ["read"]}),
        json!({"scp": 7}),
        json!({"scp": [7]}),
    ] {
        let error = refusal(&plain, &token(hostile.clone()));
        assert!(
            matches!(error, TokenError::InvalidClaims(_)),
            "{hostile}: {error:?}"
        );
    }
}
