//! The request context handlers get besides the caller: a request id that is also in the
//! decision's log event, the time of the decision, and the client's address (the peer, or the
//! `X-Forwarded-For` entry of a trusted proxy, never a header anyone could send).

use std::net::SocketAddr;
use std::time::UNIX_EPOCH;

use axum::extract::ConnectInfo;
use axum::{Router, body::Body, routing::get};
use http::{Request, StatusCode};
use tokenleader_rbac::enforcer::RequestContext;
use tokenleader_rbac::{EnforcerBuilder, RequireRule};

use crate::common::*;

async fn context(context: RequestContext) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "request_id": context.request_id.to_string(),
        "from_caller": context.request_id.is_from_caller(),
        "decided_at": context.decided_at.duration_since(UNIX_EPOCH).unwrap().as_secs(),
        "client": context.client_addr.map(|addr| addr.to_string()),
    }))
}

fn app(builder: EnforcerBuilder) -> Router {
    Router::new()
        .route("/ctx", get(context).route_layer(RequireRule(FIRST_RULE)))
        .layer(builder.build().unwrap())
}

fn request(peer: Option<&str>, headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::get("/ctx").header("x-auth-token", mint(&user1_claims()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    if let Some(peer) = peer {
        let peer: SocketAddr = peer.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
    }
    request
}

#[tokio::test]
async fn the_request_id_and_the_decision_time_reach_the_handler() {
    let app = app(test_key_builder());
    let answer = send(&app, request(None, &[("x-request-id", "req-42")])).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["request_id"], "req-42");
    assert_eq!(answer.body["from_caller"], true);
    assert_eq!(answer.body["decided_at"], NOW, "the enforcer's clock");
    assert_eq!(
        answer.body["client"],
        serde_json::Value::Null,
        "no peer recorded"
    );

    let (first, second) = (
        send(&app, request(None, &[])).await,
        send(&app, request(None, &[])).await,
    );
    assert_eq!(first.body["from_caller"], false);
    assert_ne!(first.body["request_id"], second.body["request_id"]);
}

#[tokio::test]
async fn the_client_address_believes_only_trusted_proxies() {
    let spoofed = [("x-forwarded-for", "6.6.6.6")];
    let direct = app(test_key_builder());
    let answer = send(&direct, request(Some("203.0.113.9:5000"), &spoofed)).await;
    assert_eq!(
        answer.body["client"], "203.0.113.9",
        "no proxy trusted: the peer"
    );

    let proxied = app(test_key_builder().trusted_proxies(["10.0.0.0/8"]));
    let answer = send(&proxied, request(Some("203.0.113.9:5000"), &spoofed)).await;
    assert_eq!(
        answer.body["client"], "203.0.113.9",
        "an untrusted peer's header is ignored"
    );
    let chain = [("x-forwarded-for", "6.6.6.6, 198.51.100.7")];
    let answer = send(&proxied, request(Some("10.1.2.3:443"), &chain)).await;
    assert_eq!(
        answer.body["client"], "198.51.100.7",
        "the hop the trusted proxy saw"
    );
}

#[test]
fn a_bad_trusted_proxy_is_a_build_error() {
    let error = test_key_builder()
        .trusted_proxies(["10.0.0.0/40"])
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("10.0.0.0/40"), "{error}");
}
