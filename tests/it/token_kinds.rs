//! What an issuer requires beyond a signature: claim values that tell token kinds apart,
//! tokens bound to the caller's address, and roles from prefixed directory groups.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::{Json, Router, body::Body, http::Request, routing::get};
use http::StatusCode;
use serde_json::{Value, json};
use tokenleader_rbac::claims::ClaimMapping;
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{AclMap, EnforcerBuilder, Identity, RequireRule, TokenError};

use crate::common::*;

const ACL: &str = "- name: role1\n  allow: [rule]\n- name: reports\n  allow: [rule]\n";

fn enforcer(
    issuer: &TestIssuer,
    configure: impl FnOnce(EnforcerBuilder) -> EnforcerBuilder,
) -> tokenleader_rbac::Enforcer {
    configure(
        issuer
            .enforcer_builder()
            .acl(AclMap::from_yaml_str(ACL).unwrap()),
    )
    .build()
    .unwrap()
}

#[test]
fn a_refresh_token_is_refused_on_an_api_route() {
    let issuer = TestIssuer::new();
    let api = enforcer(&issuer, |b| {
        b.require_claim("/typ", "access")
            .forbid_claim("/refresh_claim")
    });
    let access = issuer.token().claim("typ", json!("access")).sign();
    assert!(api.authorize(&headers(&access), "rule").is_ok());

    let refresh = issuer.token().claim("typ", json!("refresh")).sign();
    let error = refusal(&api, &refresh);
    assert_eq!(
        error,
        TokenError::ClaimRequirement("claim `/typ` must be \"access\"".into())
    );
    assert!(error.to_string().contains("`/typ`"), "{error}");
    let untyped = issuer.token().sign();
    assert!(matches!(
        refusal(&api, &untyped),
        TokenError::ClaimRequirement(_)
    ));
    let sneaky = issuer
        .token()
        .claim("typ", json!("access"))
        .claim("refresh_claim", json!(true))
        .sign();
    assert_eq!(
        refusal(&api, &sneaky),
        TokenError::ClaimRequirement("claim `/refresh_claim` must be absent".into())
    );
}

async fn who(who: Identity) -> Json<Value> {
    Json(json!({ "user": &*who.username }))
}

/// A request as a server that records its peer hands it on.
fn from(peer: Option<&str>, token: &str, forwarded: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/").header("x-auth-token", token);
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let mut request = request.body(Body::empty()).unwrap();
    if let Some(peer) = peer {
        let addr: SocketAddr = format!("{peer}:40000").parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
    }
    request
}

#[tokio::test]
async fn an_ip_bound_token_is_taken_from_its_address_only() {
    let issuer = TestIssuer::new();
    let app = |configure: fn(EnforcerBuilder) -> EnforcerBuilder| {
        Router::new()
            .route("/", get(who).route_layer(RequireRule("rule")))
            .layer(enforcer(&issuer, configure))
    };
    let bound = app(|b| b.bind_to_ip("/ip"));
    let token = issuer.token().claim("ip", json!("203.0.113.7")).sign();
    let status = |app: &Router, request| {
        let app = app.clone();
        async move { send(&app, request).await.status }
    };
    assert_eq!(
        status(&bound, from(Some("203.0.113.7"), &token, None)).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&bound, from(Some("198.51.100.1"), &token, None)).await,
        StatusCode::UNAUTHORIZED
    );
    // No peer recorded: refused, not passed.
    assert_eq!(
        status(&bound, from(None, &token, None)).await,
        StatusCode::UNAUTHORIZED
    );
    // `*` is any address; a token without the claim is refused.
    let anywhere = issuer.token().claim("ip", json!("*")).sign();
    assert_eq!(
        status(&bound, from(Some("198.51.100.1"), &anywhere, None)).await,
        StatusCode::OK
    );
    let unbound = issuer.token().sign();
    assert_eq!(
        status(&bound, from(Some("203.0.113.7"), &unbound, None)).await,
        StatusCode::UNAUTHORIZED
    );
    // A spoofed X-Forwarded-For is ignored without a trusted proxy...
    assert_eq!(
        status(
            &bound,
            from(Some("198.51.100.1"), &token, Some("203.0.113.7"))
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    // ...and read from a trusted one.
    let behind_proxy = app(|b| b.bind_to_ip("/ip").trusted_proxies(["10.0.0.0/8"]));
    assert_eq!(
        status(
            &behind_proxy,
            from(Some("10.1.2.3"), &token, Some("203.0.113.7"))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        status(
            &behind_proxy,
            from(Some("10.1.2.3"), &token, Some("198.51.100.1"))
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn roles_from_prefixed_groups() {
    let issuer = TestIssuer::new();
    let mapped = enforcer(&issuer, |b| {
        b.claim_mapping(ClaimMapping::new().roles_with_prefix("/groups", "API_PERM_"))
    });
    let token = issuer
        .token()
        .claim("sub", json!("carol"))
        .claim(
            "groups",
            json!([
                "Domain Users",
                "API_PERM_reports",
                "API_PERM_",
                "api_perm_x"
            ]),
        )
        .sign();
    let claims = mapped.authorize(&headers(&token), "rule").unwrap();
    assert_eq!(&*claims.identity.roles, ["reports"]);
}
