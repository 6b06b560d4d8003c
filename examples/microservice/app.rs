//! The example microservice's routes: each requires a rule of `role_to_acl_map.example.yml`,
//! and `/entries` filters its data by the caller's work function context.

use std::sync::{Arc, Mutex};

use axum::{
    Extension, Json, Router,
    extract::State,
    http::{HeaderName, StatusCode, header},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokenleader_rbac::client::ForwardAuthToken;
use tokenleader_rbac::{AclMap, AuthToken, Enforcer, Identity, RequireRule, Wfc};
use tower::ServiceBuilder;
use tower_http::{
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use super::issuer::{self, DemoIssuer};

/// The ACL map the example runs with unless `--acl-file` names another.
/// The admin role: allowed every rule (the builder's default).
const ADMIN_ROLE: &str = "admin";

pub const EXAMPLE_ACL: &str = include_str!("../../role_to_acl_map.example.yml");

const ENTRIES_LIST: &str = "micros1.entries.list";
const ENTRIES_CREATE: &str = "micros1.entries.create";
const WHOAMI: &str = "micros1.whoami";
const USERS_LIST: &str = "micros1.users.list";
const REPORT: &str = "micros1.report";
const LOGOUT: &str = "micros1.logout";

/// Every guarded route of the example: method, path, and the rule it requires. The start-up
/// banner and `examples/microservice/rules.txt` (for `tokenleader-rbac acl check`) list them.
pub const ROUTES: [(&str, &str, &str); 6] = [
    ("GET", "/entries", ENTRIES_LIST),
    ("POST", "/entries", ENTRIES_CREATE),
    ("GET", "/whoami", WHOAMI),
    ("GET", "/admin/users", USERS_LIST),
    ("GET", "/report", REPORT),
    ("POST", "/logout", LOGOUT),
];

#[derive(Clone, Serialize, Deserialize)]
pub struct Entry {
    pub org: String,
    pub title: String,
}

type Entries = Arc<Mutex<Vec<Entry>>>;

fn demo_entries() -> Entries {
    let entry = |org: &str, title: &str| Entry {
        org: org.into(),
        title: title.into(),
    };
    Arc::new(Mutex::new(vec![
        entry("org1", "org1 budget 2026"),
        entry("org1", "org1 hiring plan"),
        entry("org2", "org2 supplier list"),
        entry("org3", "org3 audit notes"),
    ]))
}

/// `GET /entries` (rule `micros1.entries.list`): the entries of the caller's org only.
async fn list_entries(State(entries): State<Entries>, who: Identity, wfc: Wfc) -> Json<Value> {
    let entries = entries.lock().map(|e| e.clone()).unwrap_or_default();
    let visible: Vec<Entry> = entries.into_iter().filter(|e| e.org == *wfc.org).collect();
    Json(json!({"user": who.username, "org": wfc.org, "entries": visible}))
}

#[derive(Deserialize)]
struct NewEntry {
    title: String,
}

/// `POST /entries` (rule `micros1.entries.create`): the new entry belongs to the caller's org.
async fn create_entry(
    State(entries): State<Entries>,
    wfc: Wfc,
    Json(new): Json<NewEntry>,
) -> (StatusCode, Json<Entry>) {
    let entry = Entry {
        org: wfc.org.to_string(),
        title: new.title,
    };
    if let Ok(mut entries) = entries.lock() {
        entries.push(entry.clone());
    }
    (StatusCode::CREATED, Json(entry))
}

/// `GET /whoami` (rule `micros1.whoami`).
async fn whoami(who: Identity, wfc: Wfc) -> Json<Value> {
    Json(json!({
        "id": who.id, "username": who.username, "email": who.email, "roles": who.roles,
        "wfc": {"id": wfc.id, "name": wfc.name, "org": wfc.org, "orgunit": wfc.orgunit, "department": wfc.department},
    }))
}

/// `GET /admin/users` (rule `micros1.users.list`, which the map lists under the admin role
/// alone: admins only).
async fn list_users(who: Identity) -> Json<Value> {
    Json(json!({"requested_by": who.username, "users": ["user1", "user2", "user3", "admin"]}))
}

/// Where `/report` finds the "other" service it calls (here: this service's own `/entries`).
#[derive(Clone)]
pub struct Downstream {
    pub http: reqwest::Client,
    pub base_url: String,
}

/// `GET /report` (rule `micros1.report`): calls another service with the caller's own token,
/// so that service decides with the caller's roles (service-to-service forwarding).
async fn report(
    State(downstream): State<Downstream>,
    who: Identity,
    token: AuthToken,
) -> (StatusCode, Json<Value>) {
    let answer = downstream
        .http
        .get(format!("{}/entries", downstream.base_url))
        .auth_token(&token)
        .send()
        .await;
    match answer {
        Ok(response) => {
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let summary = json!({"report_for": who.username, "downstream_status": status.as_u16(), "downstream": body});
            (StatusCode::OK, Json(summary))
        }
        Err(error) => {
            tracing::error!(%error, "downstream call failed");
            (
                StatusCode::BAD_GATEWAY,
                Json(json!({"status": "error", "message": "downstream call failed"})),
            )
        }
    }
}

/// `POST /logout` (rule `micros1.logout`): revokes the caller's token; it is refused from
/// now on (on every instance that shares the revocation store).
async fn logout(
    Extension(enforcer): Extension<Enforcer>,
    who: Identity,
    token: AuthToken,
) -> (StatusCode, Json<Value>) {
    match enforcer.revoke_token(token.as_str()) {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "success", "message": format!("{} logged out", who.username)})),
        ),
        Err(error) => {
            tracing::error!(%error, "logout failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"status": "error", "message": "logout failed"})),
            )
        }
    }
}

/// Which routes each role of `acl` reaches, one line per role, then the routes that only the
/// admin role reaches (no other role grants their rule; the map may list them under the admin
/// role, to say so on purpose).
pub fn access_report(acl: &AclMap) -> Vec<String> {
    let mut roles: Vec<&str> = acl.roles().filter(|role| *role != ADMIN_ROLE).collect();
    roles.sort_unstable();
    let mut lines: Vec<String> = roles
        .iter()
        .map(|role| {
            let reachable: Vec<String> = ROUTES
                .iter()
                .filter(|(_, _, rule)| acl.grants(role, rule))
                .map(|(method, path, _)| format!("{method} {path}"))
                .collect();
            match reachable.is_empty() {
                true => format!("{role}: none of this service's routes"),
                false => format!("{role}: {}", reachable.join(", ")),
            }
        })
        .collect();
    let admin_only: Vec<String> = ROUTES
        .iter()
        .filter(|(_, _, rule)| !roles.iter().any(|role| acl.grants(role, rule)))
        .map(|(method, path, rule)| format!("{method} {path} ({rule})"))
        .collect();
    if !admin_only.is_empty() {
        lines.push(format!(
            "admin only (no other role grants the rule): {}",
            admin_only.join(", ")
        ));
    }
    lines
}

/// The service's OpenAPI document, complete: every route with its success answer, the body
/// `POST /entries` takes, `/health` and the demo issuer's `/token/gettoken`; the crate then
/// marks the guarded routes (recorded by `router`) with their rules, the token's two security
/// schemes, and their 401 and 403 answers (the denial's body, its challenge, its decision id).
fn openapi_document() -> utoipa::openapi::OpenApi {
    use utoipa::Modify;

    let ok = |description: &str, schema: Value| json!({"description": description, "content": {"application/json": {"schema": schema}}});
    let entry = || json!({"$ref": "#/components/schemas/Entry"});
    let message = || json!({"$ref": "#/components/schemas/Message"});
    let document = json!({
        "openapi": "3.1.0",
        "info": {"title": "micros1, a tokenleader-rbac example", "version": env!("CARGO_PKG_VERSION")},
        "paths": {
            "/entries": {
                "get": {"summary": "The entries of the caller's org",
                        "responses": {"200": ok("The caller, their org and its entries", json!({
                            "type": "object", "required": ["user", "org", "entries"],
                            "properties": {"user": {"type": "string"}, "org": {"type": "string"},
                                           "entries": {"type": "array", "items": entry()}}}))}},
                "post": {"summary": "File an entry under the caller's org",
                         "requestBody": {"required": true, "content": {"application/json": {"schema": {
                             "type": "object", "required": ["title"],
                             "properties": {"title": {"type": "string"}}}}}},
                         "responses": {"201": ok("The entry filed", entry())}}
            },
            "/whoami": {"get": {"summary": "The caller, as the token says",
                "responses": {"200": ok("The caller's identity and work function context", json!({"type": "object"}))}}},
            "/admin/users": {"get": {"summary": "The users (the admin role's alone)",
                "responses": {"200": ok("Who asked, and the users", json!({"type": "object",
                    "properties": {"requested_by": {"type": "string"},
                                   "users": {"type": "array", "items": {"type": "string"}}}}))}}},
            "/report": {"get": {"summary": "A report: /entries called with the caller's own token",
                "responses": {"200": ok("The entries, as /entries gave them", json!({"type": "object"})),
                              "502": ok("The downstream call failed", message())}}},
            "/logout": {"post": {"summary": "Revoke the token",
                "responses": {"200": ok("Logged out: the token is refused from now on", message())}}},
            "/health": {"get": {"summary": "Whether the service is up (no token)",
                "responses": {"200": {"description": "Up",
                    "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/token/gettoken": {"post": {
                "summary": "A token of the demo issuer (only without --public-key), as tokenleader's server answers",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
                "responses": {
                    "201": ok("The token and the service catalog", json!({"type": "object",
                        "properties": {"status": {"type": "string"}, "auth_token": {"type": "string"},
                                       "service_catalog": {"type": "object"}}})),
                    "200": ok("A refusal, as tokenleader answers it (`User not registered`, `Wrong Password`)", message())}}}
        },
        "components": {"schemas": {
            "Entry": {"type": "object", "required": ["org", "title"],
                      "properties": {"org": {"type": "string"}, "title": {"type": "string"}}},
            "Message": {"type": "object", "required": ["status", "message"],
                        "properties": {"status": {"type": "string"}, "message": {"type": "string"}}}
        }}
    });
    let mut document: utoipa::openapi::OpenApi =
        serde_json::from_value(document).expect("the example's document is an OpenAPI document");
    tokenleader_rbac::openapi::TokenSecurity.modify(&mut document);
    document
}

/// The whole service. With `issuer`, it also answers `POST /token/gettoken` for demo users.
pub fn router(enforcer: Enforcer, issuer: Option<DemoIssuer>, downstream: Downstream) -> Router {
    // The routes' methods and paths, for the rules report and `--print-rules`.
    for (method, path, rule) in ROUTES {
        tokenleader_rbac::rules::record_route(method, path, rule);
    }
    let mut app = Router::new()
        .route(
            "/entries",
            get(list_entries)
                .route_layer(RequireRule(ENTRIES_LIST))
                .merge(post(create_entry).route_layer(RequireRule(ENTRIES_CREATE))),
        )
        .route("/whoami", get(whoami).route_layer(RequireRule(WHOAMI)))
        .route(
            "/admin/users",
            get(list_users).route_layer(RequireRule(USERS_LIST)),
        )
        .with_state(demo_entries())
        .route(
            "/report",
            get(report)
                .route_layer(RequireRule(REPORT))
                .with_state(downstream),
        )
        .route("/logout", post(logout).route_layer(RequireRule(LOGOUT)))
        .route("/health", get(|| async { "ok" }));
    if let Some(issuer) = issuer {
        app = app.route(
            "/token/gettoken",
            post(issuer::get_token).with_state(issuer),
        );
    }
    #[cfg(feature = "utoipa")]
    {
        let document = openapi_document();
        app = app.route("/openapi.json", get(|| async { Json(document) }));
    }
    app.layer(
        ServiceBuilder::new()
            // Outermost, so that the trace below shows these headers as `Sensitive`.
            .layer(SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
                HeaderName::from_static("x-auth-token"),
            ]))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(
                        DefaultMakeSpan::new()
                            .level(Level::INFO)
                            .include_headers(true),
                    )
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(enforcer),
    )
}
