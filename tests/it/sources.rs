//! Token sources beyond the headers (cookie, query parameter, a custom extractor) and optional
//! authentication.

use std::sync::Arc;

use axum::{Json, Router, body::Body, http::Request, routing::get};
use http::{HeaderMap, StatusCode, Uri};
use serde_json::{Value, json};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::token::{TokenExtractor, TokenSource};
use tokenleader_rbac::{Authenticate, Identity, RequireRule};
use tower::ServiceExt;

use crate::common::*;

const ACL: &str = "- name: role1\n  allow: [rule]\n";

async fn who(who: Option<Identity>) -> Json<Value> {
    Json(json!({ "user": who.map(|who| who.username.to_string()) }))
}

fn router(issuer: &TestIssuer, sources: Vec<TokenSource>) -> Router {
    let enforcer = issuer
        .enforcer_builder()
        .acl(tokenleader_rbac::AclMap::from_yaml_str(ACL).unwrap())
        .token_sources(sources)
        .build()
        .unwrap();
    Router::new()
        .route("/guarded", get(who).route_layer(RequireRule("rule")))
        .route("/open", get(who).route_layer(Authenticate))
        .layer(enforcer)
}

async fn call(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn a_session_cookie_carries_the_token() {
    let issuer = TestIssuer::new();
    let token = issuer.token().sign();
    let sources = vec![
        TokenSource::XAuthToken,
        TokenSource::Cookie("session".into()),
    ];
    let app = router(&issuer, sources);
    let cookie = format!("theme=dark; session={token}; lang=en");
    let answer = call(&app, "/guarded", &[("cookie", &cookie)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["user"], "user1");

    // A header and the cookie with different tokens, or the cookie twice: refused.
    let other = issuer.token().user("user2").sign();
    let answer = call(
        &app,
        "/guarded",
        &[("cookie", &cookie), ("x-auth-token", &other)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let twice = format!("session={token}; session={other}");
    assert_eq!(
        call(&app, "/guarded", &[("cookie", &twice)]).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Not read by default.
    let default = router(&issuer, vec![TokenSource::XAuthToken]);
    assert_eq!(
        call(&default, "/guarded", &[("cookie", &cookie)])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_query_parameter_is_read_only_when_asked_for() {
    let issuer = TestIssuer::new();
    let token = issuer.token().sign();
    let uri = format!("/guarded?page=2&access_token={token}");
    let default = router(
        &issuer,
        vec![TokenSource::XAuthToken, TokenSource::AuthorizationBearer],
    );
    let answer = call(&default, &uri, &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "off by default");

    let app = router(&issuer, vec![TokenSource::Query("access_token".into())]);
    assert_eq!(call(&app, &uri, &[]).await.status, StatusCode::OK);
    let encoded = uri.replacen('.', "%2E", 1);
    assert_eq!(
        call(&app, &encoded, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let twice = format!("{uri}&access_token={token}");
    assert_eq!(
        call(&app, &twice, &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// `Sec-WebSocket-Protocol: access_token, <token>`.
#[derive(Debug)]
struct WebSocketProtocol;

impl TokenExtractor for WebSocketProtocol {
    fn extract<'r>(&self, headers: &'r HeaderMap, _uri: &'r Uri) -> Option<&'r str> {
        let value = headers.get("sec-websocket-protocol")?.to_str().ok()?;
        value.strip_prefix("access_token, ")
    }
}

#[tokio::test]
async fn a_custom_source_finds_the_token_where_the_service_says() {
    let issuer = TestIssuer::new();
    let token = issuer.token().sign();
    let app = router(
        &issuer,
        vec![TokenSource::Custom(Arc::new(WebSocketProtocol))],
    );
    let protocol = format!("access_token, {token}");
    let answer = call(&app, "/guarded", &[("sec-websocket-protocol", &protocol)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        call(&app, "/guarded", &[("x-auth-token", &token)])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn optional_authentication_lets_anonymous_callers_through_but_not_bad_tokens() {
    let issuer = TestIssuer::new();
    let app = router(&issuer, vec![TokenSource::XAuthToken]);
    let answer = call(&app, "/open", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["user"], Value::Null);

    // No rule is decided: a role without grants is fine.
    let token = issuer.token().roles(["nobody"]).sign();
    let answer = call(&app, "/open", &[("x-auth-token", &token)]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["user"], "user1");

    for bad in [
        "garbage",
        &issuer.token().expired().sign(),
        &attacker_issuer().token().sign(),
    ] {
        let answer = call(&app, "/open", &[("x-auth-token", bad)]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{bad}");
    }

    // The same with the layer bound to an enforcer, in a plain tower stack.
    let enforcer = issuer.enforcer(ACL);
    let service = tower::ServiceBuilder::new()
        .layer(enforcer.authenticate())
        .service(tower::service_fn(|request: Request<Body>| async move {
            let user = request
                .extensions()
                .get::<tokenleader_rbac::Authorized>()
                .and_then(tokenleader_rbac::Authorized::identity)
                .map(|who| who.username.to_string());
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::from(
                user.unwrap_or_else(|| "anonymous".into()),
            )))
        }));
    let response = service
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = axum::body::to_bytes(response.into_body(), 100)
        .await
        .unwrap();
    assert_eq!(&body[..], b"anonymous");
    let response = service
        .oneshot(
            Request::get("/")
                .header("x-auth-token", "garbage")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
