//! The layers and extractors wired wrongly or differently: missing layers fail closed with 500,
//! `enforcer.require` works without axum, deny responses can be replaced.

use std::convert::Infallible;

use crate::common::*;
use axum::{Router, body::Body, http::Request, routing::get};
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tokenleader_rbac::{Authorized, Denial, Identity, RequireRule, Wfc};
use tower::{ServiceBuilder, ServiceExt, service_fn};

async fn wfc_org(wfc: Wfc) -> String {
    wfc.org.to_string()
}

async fn identity_name(who: Identity) -> String {
    who.username.to_string()
}

async fn optional_org(wfc: Option<Wfc>) -> String {
    wfc.map_or_else(|| "none".to_owned(), |wfc| wfc.org.to_string())
}

fn token_request(path: &str) -> Request<Body> {
    request_as(path, "token_user1")
}

/// A GET of `path` with the fixture token `token` (`token_user1`, `token_user3`, …).
fn request_as(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header("X-Auth-Token", fixture_token(token))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn extractor_without_require_rule_is_500_naming_the_layer() {
    let app = Router::new()
        .route("/wfc", get(wfc_org))
        .route("/who", get(identity_name))
        .layer(fixture_builder().build().unwrap());
    for (path, extractor) in [("/wfc", "Wfc"), ("/who", "Identity")] {
        let answer = send(&app, token_request(path)).await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(answer.body["status"], "error");
        let message = answer.body["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("the {extractor} extractor needs RequireRule")),
            "{message}"
        );
    }
}

#[tokio::test]
async fn optional_extractor_gives_none_without_require_rule_and_some_with_it() {
    let app = Router::new()
        .route("/open", get(optional_org))
        .route(
            "/guarded",
            get(optional_org).route_layer(RequireRule(FIRST_RULE)),
        )
        .layer(fixture_builder().build().unwrap());
    let open = app.clone().oneshot(token_request("/open")).await.unwrap();
    assert_eq!(open.into_body().collect().await.unwrap().to_bytes(), "none");
    let guarded = app.oneshot(token_request("/guarded")).await.unwrap();
    assert_eq!(
        guarded.into_body().collect().await.unwrap().to_bytes(),
        "org1"
    );
}

#[tokio::test]
async fn require_rule_without_enforcer_is_500_and_never_allowed() {
    let app = Router::new().route("/first", get(wfc_org).route_layer(RequireRule(FIRST_RULE)));
    let answer = send(&app, token_request("/first")).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("RequireRule found no Enforcer")
    );
}

/// The bound layer needs no router layer: its route's extractors get the caller, and no
/// enforcer is put into the request (the cost it saves), while a caller without the rule is
/// still refused.
#[tokio::test]
async fn bound_layer_on_an_axum_route_needs_no_router_layer() {
    let enforcer = fixture_builder().build().unwrap();
    async fn caller(request: axum::extract::Request) -> String {
        let extensions = request.extensions();
        let enforcer_carried = extensions.get::<tokenleader_rbac::Enforcer>().is_some();
        let who = extensions
            .get::<Authorized>()
            .and_then(Authorized::identity)
            .map_or("nobody", |who| who.username.as_str());
        format!("{who} enforcer_carried={enforcer_carried}")
    }
    let app: Router = Router::new()
        .route(
            "/who",
            get(identity_name).route_layer(enforcer.require(FIRST_RULE)),
        )
        .route(
            "/carried",
            get(caller).route_layer(enforcer.require(FIRST_RULE)),
        );
    let who = app.clone().oneshot(token_request("/who")).await.unwrap();
    assert_eq!(who.status(), StatusCode::OK);
    assert_eq!(who.into_body().collect().await.unwrap().to_bytes(), "user1");
    let carried = app
        .clone()
        .oneshot(token_request("/carried"))
        .await
        .unwrap();
    assert_eq!(
        carried.into_body().collect().await.unwrap().to_bytes(),
        "user1 enforcer_carried=false"
    );
    let user3 = request_as("/who", "token_user3");
    assert_eq!(
        app.oneshot(user3).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn enforcer_require_works_in_a_plain_tower_stack() {
    let enforcer = fixture_builder().build().unwrap();
    let handler = service_fn(|request: Request<Full<Bytes>>| async move {
        // Without axum's extractors: the decision's record, read from the extensions.
        let authorized = request.extensions().get::<Authorized>();
        let text = format!(
            "{}@{}",
            authorized
                .and_then(Authorized::identity)
                .map(|w| w.username.as_str())
                .unwrap_or_default(),
            authorized
                .and_then(Authorized::wfc)
                .map(|w| w.org.as_str())
                .unwrap_or_default()
        );
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
    });
    let service = ServiceBuilder::new()
        .layer(enforcer.require(FIRST_RULE))
        .service(handler);

    let allowed = Request::get("/")
        .header("X-Auth-Token", fixture_token("token_user1"))
        .body(Full::default())
        .unwrap();
    let response = service.clone().oneshot(allowed).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "user1@org1"
    );

    let denied = Request::get("/")
        .header("X-Auth-Token", fixture_token("token_user3"))
        .body(Full::default())
        .unwrap();
    let response = service.clone().oneshot(denied).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let rule = String::from("service1:third_api:rulename3");
    let owned_rule = ServiceBuilder::new()
        .layer(enforcer.require(rule))
        .service(handler);
    let user3 = Request::get("/")
        .header("X-Auth-Token", fixture_token("token_user3"))
        .body(Full::default())
        .unwrap();
    assert_eq!(
        owned_rule.oneshot(user3).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_inner_service_is_not_called_on_deny() {
    let called = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = called.clone();
    let handler = service_fn(move |_: Request<Full<Bytes>>| {
        seen.store(true, std::sync::atomic::Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Full::<Bytes>::default())) }
    });
    let service = fixture_builder().build().unwrap().require(FIRST_RULE);
    let service = ServiceBuilder::new().layer(service).service(handler);
    let request = Request::get("/").body(Full::<Bytes>::default()).unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(!called.load(std::sync::atomic::Ordering::SeqCst));
}

#[tokio::test]
async fn the_deny_response_can_be_replaced() {
    let enforcer = fixture_builder()
        .deny_response(|denial: &Denial| {
            Response::builder()
                .status(denial.status())
                .header("content-type", "text/plain")
                .body(Bytes::from(format!("denied: {denial}")))
                .unwrap()
        })
        .build()
        .unwrap();
    let app = app(enforcer);
    let request = request_as("/first", "token_user3");
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "denied: none of your roles grants rule `service1:first_api:rulename1`"
    );
}

#[tokio::test]
async fn authorize_reports_the_denial() {
    let enforcer = fixture_builder().build().unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-auth-token",
        fixture_token("token_user3").parse().unwrap(),
    );
    let denial = enforcer.authorize(&headers, FIRST_RULE).unwrap_err();
    assert_eq!(
        denial,
        Denial::Forbidden {
            rule: FIRST_RULE.into(),
            username: "user3".into()
        }
    );
    assert_eq!(denial.status(), StatusCode::FORBIDDEN);
    let claims = enforcer.authorize(&headers, THIRD_RULE).unwrap();
    assert_eq!(claims.wfc.orgunit.as_str(), "ou3");
}

#[tokio::test]
async fn a_clock_before_1970_is_a_500_not_an_allow() {
    let enforcer = fixture_builder()
        .clock(|| std::time::UNIX_EPOCH - std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    let answer = get_with_token(&app(enforcer), "/first", &fixture_token("token_user1")).await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
}

async fn echo_token(token: tokenleader_rbac::AuthToken) -> String {
    token.as_str().to_owned()
}

#[tokio::test]
async fn the_auth_token_extractor_gives_the_verified_token() {
    let app = Router::new()
        .route(
            "/guarded",
            get(echo_token).route_layer(RequireRule(FIRST_RULE)),
        )
        .route("/open", get(echo_token))
        .layer(fixture_builder().build().unwrap());
    let guarded = app
        .clone()
        .oneshot(token_request("/guarded"))
        .await
        .unwrap();
    assert_eq!(guarded.status(), StatusCode::OK);
    let body = guarded.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, fixture_token("token_user1"));

    let bearer = Request::get("/guarded")
        .header(
            "Authorization",
            format!("Bearer {}", fixture_token("token_user1")),
        )
        .body(Body::empty())
        .unwrap();
    let body = app
        .clone()
        .oneshot(bearer)
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(body, fixture_token("token_user1"));

    let open = send(&app, token_request("/open")).await;
    assert_eq!(
        open.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "no RequireRule, no verified token"
    );
    assert!(
        open.body["message"]
            .as_str()
            .unwrap()
            .contains("the AuthToken extractor needs RequireRule")
    );
}

/// `Denial` is a response (the default JSON one), so `from_fn` middleware answers with it as
/// it is; the extractors' rejection says its status and text as axum's rejections do.
#[tokio::test]
async fn a_denial_is_a_response_and_a_rejection_says_what_it_answers() {
    use axum::extract::FromRequestParts;
    use axum::response::IntoResponse;
    let enforcer = fixture_builder().build().unwrap();
    let denial = enforcer
        .authorize(&headers(&fixture_token("token_user3")), FIRST_RULE)
        .unwrap_err();
    let response = denial.clone().into_response();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["message"], denial.to_string());

    let (mut parts, ()) = http::Request::new(()).into_parts();
    let rejection = tokenleader_rbac::Identity::from_request_parts(&mut parts, &())
        .await
        .unwrap_err();
    assert_eq!(rejection.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        rejection.body_text().contains("RequireRule"),
        "{}",
        rejection.body_text()
    );
    assert_eq!(
        rejection.into_response().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
