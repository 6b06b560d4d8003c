//! Which deny response answers: gRPC terms for gRPC calls by default, JSON otherwise, and a
//! deny response given to the builder for every request. No tonic needed.

use axum::{Router, body::Body, routing::post};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use tokenleader_rbac::response::{Denial, GrpcDenyResponse};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{AclMap, RequireRule};

use crate::common::send;

const ACL: &str = "- name: role1\n  allow: [hello.say]\n";

fn app(
    configure: impl FnOnce(tokenleader_rbac::EnforcerBuilder) -> tokenleader_rbac::EnforcerBuilder,
) -> Router {
    let issuer = TestIssuer::new();
    let builder = issuer
        .enforcer_builder()
        .acl(AclMap::from_yaml_str(ACL).unwrap());
    Router::new()
        .route(
            "/hello.Greeter/SayHello",
            post(|| async { "hello" }).route_layer(RequireRule("hello.say")),
        )
        .layer(configure(builder).build().unwrap())
}

fn call(content_type: &str) -> Request<Body> {
    Request::post("/hello.Greeter/SayHello")
        .header("content-type", content_type)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn by_default_grpc_calls_get_grpc_answers_and_others_json() {
    let app = app(|builder| builder);
    let grpc = send(&app, call("application/grpc+proto")).await;
    assert_eq!(grpc.status, StatusCode::OK);
    assert_eq!(grpc.headers["grpc-status"], "16");
    assert_eq!(grpc.headers["content-type"], "application/grpc");
    assert!(grpc.headers.contains_key("x-decision-id"));

    let json = send(&app, call("application/json")).await;
    assert_eq!(json.status, StatusCode::UNAUTHORIZED);
    assert!(!json.headers.contains_key("grpc-status"));
    assert_eq!(json.body["status"], "unauthorized");
}

#[tokio::test]
async fn a_deny_response_given_to_the_builder_answers_every_request() {
    let grpc_always = app(|builder| builder.deny_response(GrpcDenyResponse));
    let answer = send(&grpc_always, call("application/json")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["grpc-status"], "16");

    let plain = |denial: &Denial| {
        let mut response = Response::new(Bytes::from(denial.to_string()));
        *response.status_mut() = denial.status();
        response
    };
    let custom = app(|builder| builder.deny_response(plain));
    let answer = send(&custom, call("application/grpc")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(!answer.headers.contains_key("grpc-status"));
}
