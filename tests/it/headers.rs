//! Where the token comes from, and what happens when the headers are odd.

use crate::common::*;
use axum::body::Body;
use axum::http::{HeaderValue, Request};
use http::StatusCode;
use tokenleader_rbac::response::DenyResponse;
use tokenleader_rbac::token::TokenSource;

fn fixture_app() -> axum::Router {
    app(fixture_builder().build().unwrap())
}

async fn send_headers(headers: &[(&'static str, HeaderValue)]) -> Answer {
    let mut request = Request::get("/first").body(Body::empty()).unwrap();
    for (name, value) in headers {
        request.headers_mut().append(*name, value.clone());
    }
    send(&fixture_app(), request).await
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap()
}

#[tokio::test]
async fn no_header_is_401_with_a_plain_bearer_challenge() {
    let answer = send_headers(&[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(
        answer.body["message"],
        "no token: send it in the X-Auth-Token header or as Authorization: Bearer"
    );
}

#[tokio::test]
async fn empty_x_auth_token_is_401() {
    let answer = send_headers(&[("x-auth-token", value(""))]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn empty_bearer_is_401() {
    let answer = send_headers(&[("authorization", value("Bearer "))]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bearer_prefix_inside_x_auth_token_is_401() {
    let token = fixture_token("token_user1");
    let answer = send_headers(&[("x-auth-token", value(&format!("Bearer {token}")))]).await;
    assert_invalid_token(&answer);
}

#[tokio::test]
async fn two_x_auth_token_headers_are_401_even_when_equal() {
    let token = value(&fixture_token("token_user1"));
    let answer = send_headers(&[("x-auth-token", token.clone()), ("x-auth-token", token)]).await;
    assert_eq!(
        assert_invalid_token(&answer),
        "ambiguous token: a token header is sent more than once"
    );
}

#[tokio::test]
async fn both_headers_with_different_tokens_are_401() {
    let answer = send_headers(&[
        ("x-auth-token", value(&fixture_token("token_user3"))),
        (
            "authorization",
            value(&format!("Bearer {}", fixture_token("token_admin"))),
        ),
    ])
    .await;
    assert_eq!(
        assert_invalid_token(&answer),
        "ambiguous token: the token sources carry different tokens"
    );
}

#[tokio::test]
async fn both_headers_with_the_same_token_are_fine() {
    let token = fixture_token("token_user1");
    let answer = send_headers(&[
        ("x-auth-token", value(&token)),
        ("authorization", value(&format!("bearer {token}"))),
    ])
    .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn basic_authorization_is_not_a_token() {
    let answer = send_headers(&[("authorization", value("Basic dXNlcjE6dXNlcjE="))]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn non_ascii_bytes_are_401_without_panic() {
    let bytes = HeaderValue::from_bytes(b"eyJ\xff\xfe.\xc3\xa9.x").unwrap();
    let answer = send_headers(&[("x-auth-token", bytes.clone())]).await;
    let message = assert_invalid_token(&answer);
    assert!(message.contains("not visible ASCII"), "{message}");
    let bearer = HeaderValue::from_bytes(b"Bearer eyJ\xff\xfe.\xc3\xa9.x").unwrap();
    let answer = send_headers(&[("authorization", bearer)]).await;
    let message = assert_invalid_token(&answer);
    assert!(message.contains("not visible ASCII"), "{message}");
    // Without the Bearer scheme it is no token of ours, as `Basic` is not.
    let answer = send_headers(&[("authorization", bytes)]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn garbage_tokens_are_401() {
    for garbage in ["x", "...", "a.b.c", "Bearer", "eyJ.eyJ.", "\t"] {
        let answer = send_headers(&[("x-auth-token", value(garbage))]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{garbage:?}");
    }
}

#[tokio::test]
async fn token_sources_can_be_restricted_and_extended() {
    let token = fixture_token("token_user1");
    let bearer_only = app(fixture_builder()
        .token_sources([TokenSource::AuthorizationBearer])
        .build()
        .unwrap());
    assert_eq!(
        get_with_token(&bearer_only, "/first", &token).await.status,
        StatusCode::UNAUTHORIZED
    );

    let custom = app(fixture_builder()
        .token_sources([TokenSource::Header(http::HeaderName::from_static(
            "x-service-token",
        ))])
        .build()
        .unwrap());
    let request = Request::get("/first")
        .header("x-service-token", &token)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&custom, request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_403_names_the_rule_in_an_insufficient_scope_challenge() {
    // user3's role2 does not grant /first's rule.
    let answer = send_headers(&[("x-auth-token", value(&fixture_token("token_user3")))]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.headers["www-authenticate"],
        format!(
            r#"Bearer error="insufficient_scope", scope="{FIRST_RULE}", error_description="no role of the caller grants the rule {FIRST_RULE}""#
        )
    );
    // A rule that cannot sit in a quoted string leaves the challenge without it.
    let response = tokenleader_rbac::response::JsonDenyResponse.respond(
        &tokenleader_rbac::Denial::Forbidden {
            rule: "a \"quoted\" rule".into(),
            username: "user3".into(),
        },
    );
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer error="insufficient_scope""#
    );
}
