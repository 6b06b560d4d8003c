//! OpenAPI documents with utoipa: the security schemes, and the operations of guarded routes
//! marked with their rules. A test crate of its own: the rules registry is the process's.

#![cfg(feature = "utoipa")]

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use tokenleader_rbac::RequireRule;
use tokenleader_rbac::openapi::{TokenSecurity, guarded};
use tokenleader_rbac::test_util::TestIssuer;
use tower::ServiceExt;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const ACL: &str = "- name: reader\n  allow: [micros1.entries.list]\n";

/// The entries the caller may see.
#[utoipa::path(get, path = "/entries", responses((status = 200, description = "The entries")))]
async fn list_entries() -> &'static str {
    "entries"
}

/// Whether the service is up.
#[utoipa::path(get, path = "/health", responses((status = 200, description = "Up")))]
async fn health() -> &'static str {
    "ok"
}

/// A report.
#[utoipa::path(get, path = "/report", responses((status = 200, description = "The report")))]
async fn report() -> &'static str {
    "report"
}

#[derive(OpenApi)]
#[openapi(paths(report), modifiers(&TokenSecurity))]
struct ReportDoc;

fn json_of(doc: &utoipa::openapi::OpenApi) -> Value {
    serde_json::to_value(doc).unwrap()
}

#[tokio::test]
async fn guarded_routes_are_enforced_and_documented_with_their_rule() {
    let issuer = TestIssuer::new();
    let (router, mut doc) = OpenApiRouter::new()
        .routes(guarded(routes!(list_entries), "micros1.entries.list"))
        .routes(routes!(health))
        .split_for_parts();
    TokenSecurity.modify(&mut doc);
    let doc = json_of(&doc);

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["x_auth_token"],
        json!({"type": "apiKey", "in": "header", "name": "X-Auth-Token",
               "description": "A token of the tokenleader server (`POST /token/gettoken`)."})
    );
    assert_eq!(schemes["bearer_token"]["type"], "http");
    assert_eq!(schemes["bearer_token"]["scheme"], "bearer");
    assert_eq!(schemes["bearer_token"]["bearerFormat"], "JWT");

    let entries = &doc["paths"]["/entries"]["get"];
    assert_eq!(
        entries["security"],
        json!([{"x_auth_token": ["micros1.entries.list"]},
               {"bearer_token": ["micros1.entries.list"]}])
    );
    assert_eq!(
        entries["x-tokenleader-rules"],
        json!(["micros1.entries.list"])
    );
    assert_eq!(entries["summary"], "The entries the caller may see.");
    assert_eq!(
        entries["description"],
        "Requires a token whose roles grant the rule `micros1.entries.list`."
    );
    assert_eq!(entries["responses"]["200"]["description"], "The entries");
    assert!(entries["responses"]["401"].is_object());
    assert!(entries["responses"]["403"].is_object());

    let health = &doc["paths"]["/health"]["get"];
    assert!(health.get("security").is_none(), "{health}");
    assert!(health.get("x-tokenleader-rules").is_none(), "{health}");

    // The rule named once is the rule enforced.
    let app = router.layer(issuer.enforcer(ACL));
    let ask = |token: Option<String>, path: &str| {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header("X-Auth-Token", token);
        }
        app.clone().oneshot(request.body(Body::empty()).unwrap())
    };
    let reader = issuer.token().roles(["reader"]).sign();
    let guest = issuer.token().roles(["guest"]).sign();
    assert_eq!(
        ask(None, "/entries").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        ask(Some(guest), "/entries").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ask(Some(reader), "/entries").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(ask(None, "/health").await.unwrap().status(), StatusCode::OK);

    // Recorded for the rules report and the access policy too.
    let used = tokenleader_rbac::rules::used_rules();
    let entry = used
        .iter()
        .find(|used| used.rule == "micros1.entries.list")
        .unwrap();
    assert_eq!(
        (entry.method.as_deref(), entry.path.as_deref()),
        (Some("GET"), Some("/entries"))
    );
}

#[test]
fn a_derived_document_marks_recorded_routes_and_adds_the_missing_ones() {
    // Without utoipa-axum: the route and its record, side by side.
    let _app: axum::Router = axum::Router::new().route(
        "/report",
        axum::routing::get(report).route_layer(RequireRule("micros1.report")),
    );
    tokenleader_rbac::rules::record_route("GET", "/report", "micros1.report");
    tokenleader_rbac::rules::record_route("post", "/admin/users", "micros1.users.add");
    let doc = json_of(&ReportDoc::openapi());

    let report = &doc["paths"]["/report"]["get"];
    assert_eq!(report["x-tokenleader-rules"], json!(["micros1.report"]));
    assert_eq!(report["responses"]["200"]["description"], "The report");
    assert_eq!(
        report["security"][1]["bearer_token"],
        json!(["micros1.report"])
    );
    let added = &doc["paths"]["/admin/users"]["post"];
    assert_eq!(added["x-tokenleader-rules"], json!(["micros1.users.add"]));
    assert_eq!(
        added["description"],
        "Requires a token whose roles grant the rule `micros1.users.add`."
    );
}

#[test]
fn any_of_several_rules_is_documented_as_such() {
    let mut operation = utoipa::openapi::path::Operation::new();
    tokenleader_rbac::openapi::require_rules(&mut operation, &["a.read", "a.audit"]);
    let operation = serde_json::to_value(&operation).unwrap();
    assert_eq!(
        operation["x-tokenleader-rules"],
        json!(["a.read", "a.audit"])
    );
    assert_eq!(
        operation["description"],
        "Requires a token whose roles grant one of the rules `a.read`, `a.audit`."
    );
}
