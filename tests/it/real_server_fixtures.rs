//! Tokens, keys and the ACL map produced by the original Python tokenleader server.

use crate::common::*;
use http::StatusCode;
use serde_json::json;
use tokenleader_rbac::{Enforcer, PublicKey};

async fn first_as(name: &str) -> Answer {
    get_with_token(
        &app(fixture_builder().build().unwrap()),
        "/first",
        &fixture_token(name),
    )
    .await
}

#[tokio::test]
async fn user1_is_allowed_and_gets_its_identity_and_wfc() {
    let answer = first_as("token_user1").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body,
        json!({"id": 1, "username": "user1", "email": "user1", "roles": ["role1"],
               "wfc": {"id": 1, "name": "wfc1", "org": "org1", "orgunit": "ou1", "department": "dept1"}})
    );
}

#[tokio::test]
async fn user2_with_two_roles_is_allowed() {
    let answer = first_as("token_user2").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["username"], "user2");
    assert_eq!(answer.body["roles"], json!(["role1", "role2"]));
    assert_eq!(answer.body["wfc"]["org"], "org2");
    assert_eq!(answer.body["wfc"]["department"], "dept2");
}

#[tokio::test]
async fn admin_is_allowed_by_the_admin_role() {
    let answer = first_as("token_admin").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["username"], "admin");
    assert_eq!(answer.body["wfc"]["org"], "orgadmin");
}

#[tokio::test]
async fn admin_is_refused_when_the_admin_role_is_turned_off() {
    let enforcer = fixture_builder().admin_role(None).build().unwrap();
    let answer = get_with_token(&app(enforcer), "/first", &fixture_token("token_admin")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn user3_lacks_the_rule_and_gets_403() {
    let answer = first_as("token_user3").await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body["status"], "forbidden");
    assert_eq!(
        answer.body["message"],
        "none of your roles grants rule `service1:first_api:rulename1`"
    );
    assert_eq!(
        answer.headers["www-authenticate"],
        r#"Bearer error="insufficient_scope", scope="service1:first_api:rulename1", error_description="no role of the caller grants the rule service1:first_api:rulename1""#
    );
    assert_eq!(answer.headers["content-type"], "application/json");
}

#[tokio::test]
async fn user1_on_the_third_rule_gets_403() {
    let app = app(fixture_builder().build().unwrap());
    let answer = get_with_token(&app, "/third", &fixture_token("token_user1")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn user3_on_the_third_rule_is_allowed() {
    let app = app(fixture_builder().build().unwrap());
    let answer = get_with_token(&app, "/third", &fixture_token("token_user3")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["wfc"]["org"], "org3");
}

async fn user1_with_key(key: PublicKey) -> StatusCode {
    let enforcer = Enforcer::builder()
        .public_key(key)
        .acl(fixture_acl())
        .clock(at(FIXTURE_IAT + 60))
        .build()
        .unwrap();
    get_with_token(&app(enforcer), "/first", &fixture_token("token_user1"))
        .await
        .status
}

#[tokio::test]
async fn the_key_as_ssh_rsa_line_verifies() {
    let key = PublicKey::from_openssh(&fixture("tokenleader/tokenleader_public_key.ssh-rsa.pub"))
        .unwrap();
    assert_eq!(key.bits(), 2048);
    assert_eq!(user1_with_key(key).await, StatusCode::OK);
}

#[tokio::test]
async fn the_key_as_spki_pem_verifies() {
    let key =
        PublicKey::from_pem(fixture("tokenleader/tokenleader_public_key.spki.pem").as_bytes())
            .unwrap();
    assert_eq!(user1_with_key(key).await, StatusCode::OK);
}

#[tokio::test]
async fn the_key_as_pkcs1_pem_verifies() {
    let key =
        PublicKey::from_pem(fixture("tokenleader/tokenleader_public_key.pkcs1.pem").as_bytes())
            .unwrap();
    assert_eq!(user1_with_key(key).await, StatusCode::OK);
}

#[tokio::test]
async fn the_key_from_a_file_verifies_in_either_format() {
    let dir = env!("CARGO_MANIFEST_DIR");
    for name in [
        "tokenleader_public_key.ssh-rsa.pub",
        "tokenleader_public_key.pkcs1.pem",
    ] {
        let key = PublicKey::from_file(format!("{dir}/tests/fixtures/tokenleader/{name}")).unwrap();
        assert_eq!(user1_with_key(key).await, StatusCode::OK, "{name}");
    }
}

#[tokio::test]
async fn another_key_refuses_the_real_tokens() {
    assert_eq!(
        user1_with_key(trusted_public()).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_expired_fixture_gets_401() {
    let answer = first_as("token_user1_expired").await;
    assert_eq!(assert_invalid_token(&answer), "token has expired");
}

#[tokio::test]
async fn a_token_is_accepted_up_to_exp_plus_leeway_and_refused_one_second_later() {
    let token = fixture_token("token_user1");
    let last_good = app(fixture_builder()
        .clock(at(FIXTURE_EXP + 30))
        .build()
        .unwrap());
    assert_eq!(
        get_with_token(&last_good, "/first", &token).await.status,
        StatusCode::OK
    );

    let too_late = app(fixture_builder()
        .clock(at(FIXTURE_EXP + 30 + 1))
        .build()
        .unwrap());
    let answer = get_with_token(&too_late, "/first", &token).await;
    assert_eq!(assert_invalid_token(&answer), "token has expired");
}

#[tokio::test]
async fn the_leeway_is_configurable() {
    let token = fixture_token("token_user1");
    let enforcer = fixture_builder()
        .clock(at(FIXTURE_EXP + 5))
        .leeway(std::time::Duration::from_secs(0))
        .build()
        .unwrap();
    assert_eq!(
        get_with_token(&app(enforcer), "/first", &token)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_bearer_header_works_like_x_auth_token() {
    let app = app(fixture_builder().build().unwrap());
    let request = axum::http::Request::get("/first")
        .header(
            "Authorization",
            format!("Bearer {}", fixture_token("token_user1")),
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["username"], "user1");
}

#[test]
fn verify_returns_the_claims() {
    let enforcer = fixture_builder().build().unwrap();
    let claims = enforcer.verify(&fixture_token("token_user2")).unwrap();
    assert_eq!(claims.identity.username.as_str(), "user2");
    assert_eq!(claims.identity.id, 2);
    assert_eq!(claims.wfc.name.as_str(), "wfc2");
    assert_eq!(claims.exp, FIXTURE_EXP);
    assert_eq!(claims.iat, Some(FIXTURE_IAT));
    assert_eq!(claims.nbf, None);
}

#[test]
fn client_config_gives_key_and_sibling_acl_file() {
    let dir = tempfile::tempdir().unwrap();
    let key_line = fixture("tokenleader/tokenleader_public_key.ssh-rsa.pub");
    std::fs::write(
        dir.path().join("client_configs.yml"),
        format!(
            "user_auth_info_from: file\ntl_public_key: {}\nssl_verify: False\ntl_user: user1\ntl_url: http://127.0.0.1:5001\n",
            key_line.trim()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("role_to_acl_map.yml"),
        fixture("tokenleader/role_to_acl_map.yml"),
    )
    .unwrap();

    let enforcer = Enforcer::builder()
        .client_config(dir.path().join("client_configs.yml"))
        .clock(at(FIXTURE_IAT + 60))
        .build()
        .unwrap();
    assert_eq!(enforcer.acl().role_count(), 2);
    assert_eq!(
        enforcer
            .verify(&fixture_token("token_user1"))
            .unwrap()
            .identity
            .username
            .as_str(),
        "user1"
    );

    let enforcer = Enforcer::from_client_config(dir.path().join("client_configs.yml")).unwrap();
    assert_eq!(enforcer.acl().grant_count(), 5);
}

#[test]
fn client_config_without_a_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client_configs.yml");
    std::fs::write(&path, "tl_user: user1\n").unwrap();
    let error = Enforcer::from_client_config(&path).unwrap_err().to_string();
    assert!(error.contains("no `tl_public_key`"), "{error}");
    assert!(error.contains("client_configs.yml"), "{error}");
}

#[test]
fn verification_needs_no_process_wide_crypto_provider() {
    // Nothing in this test binary installs jsonwebtoken's default provider, and under
    // `--all-features` both of its backends are on: jsonwebtoken's own `decode` or
    // `crypto::verify` would panic here. The crate picks its provider itself.
    let enforcer = fixture_builder().build().unwrap();
    assert_eq!(
        enforcer
            .verify(&fixture_token("token_admin"))
            .unwrap()
            .identity
            .username
            .as_str(),
        "admin"
    );
}
