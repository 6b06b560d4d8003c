//! Two ways to guard axum routes besides `.route_layer(RequireRule(..))`:
//!
//! - `axum::middleware::from_fn_with_state` around [`Enforcer::authorize`], for services that
//!   prefer a function to a layer;
//! - `RequireRule` composed with `tower::ServiceBuilder` and `tower-http` layers.
//!
//! ```text
//! cargo run --example middleware_fn --all-features
//! ```
//!
//! It mints its own tokens with the test kit (test-only keys) and prints what each route
//! answers.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{Enforcer, Identity, RequireRule, Wfc};
use tower::{ServiceBuilder, ServiceExt};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

const ACL: &str = "- name: reader\n  allow: [micros1.entries.list]\n";

/// The whole guard as a function: authorize, put what was verified where handlers find it,
/// or answer with the denial (401, 403, 500, 503; `Denial` is a response, the default JSON
/// one: `enforcer.deny_response(&denial)` gives the builder's own, where it has one).
async fn require_entries_list(
    State(enforcer): State<Enforcer>,
    mut request: Request,
    next: Next,
) -> Response {
    match enforcer.authorize(request.headers(), "micros1.entries.list") {
        Ok(claims) => {
            request.extensions_mut().insert(claims.identity.clone());
            request.extensions_mut().insert(claims.wfc.clone());
            next.run(request).await
        }
        Err(denial) => denial.into_response(),
    }
}

async fn entries(Extension(who): Extension<Identity>, Extension(wfc): Extension<Wfc>) -> String {
    format!("{} sees the entries of {}", who.username, wfc.org)
}

async fn report(who: Identity) -> String {
    format!("report for {}", who.username)
}

fn router(enforcer: Enforcer) -> Router {
    let with_function =
        Router::new()
            .route("/entries", get(entries))
            .route_layer(middleware::from_fn_with_state(
                enforcer.clone(),
                require_entries_list,
            ));
    // RequireRule in a ServiceBuilder stack beside tower-http layers; the Enforcer layer goes
    // outside, so RequireRule finds it.
    let with_layers = Router::new().route(
        "/report",
        get(report).route_layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    Duration::from_secs(10),
                ))
                .layer(RequireRule("micros1.entries.list")),
        ),
    );
    with_function.merge(with_layers).layer(enforcer)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let issuer = TestIssuer::new();
    let app = router(issuer.enforcer(ACL));
    let reader = issuer
        .token()
        .user("alice")
        .roles(["reader"])
        .org("org7")
        .sign();
    let guest = issuer.token().user("bob").roles(["guest"]).sign();
    for path in ["/entries", "/report"] {
        for (who, token) in [
            ("alice", Some(&reader)),
            ("bob", Some(&guest)),
            ("nobody", None),
        ] {
            let mut request = Request::get(path);
            if let Some(token) = token {
                request = request.header("X-Auth-Token", token.as_str());
            }
            let request = request.body(Body::empty()).expect("a valid request");
            let Ok(response) = app.clone().oneshot(request).await;
            println!("{path} as {who}: {}", response.status());
        }
    }
}
