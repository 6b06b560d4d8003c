//! OpenAPI documents that say which operations need a token, and which rule (feature
//! `utoipa`): generated clients and API browsers learn it from the service itself.
//!
//! ```
//! use tokenleader_rbac::openapi::{self, TokenSecurity};
//! use utoipa::Modify;
//! use utoipa::openapi::{Info, OpenApi, Paths};
//!
//! // A route recorded with its method and path (`GrpcRules`, `openapi::guarded` and
//! // `rules::record_route` record them) is marked in the document; it is added if missing.
//! tokenleader_rbac::rules::record_route("GET", "/entries", "micros1.entries.list");
//! let mut doc = OpenApi::new(Info::new("micros1", "1.0"), Paths::new());
//! TokenSecurity.modify(&mut doc);
//!
//! let json = serde_json::to_value(&doc)?;
//! let operation = &json["paths"]["/entries"]["get"];
//! assert_eq!(operation["x-tokenleader-rules"][0], "micros1.entries.list");
//! assert_eq!(operation["security"][0]["x_auth_token"][0], "micros1.entries.list");
//! assert!(operation["responses"]["403"].is_object());
//! assert_eq!(json["components"]["securitySchemes"]["x_auth_token"]["in"], "header");
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! - Two security schemes, either of which carries the token: [`X_AUTH_TOKEN`] (an API key in
//!   the `X-Auth-Token` header) and [`BEARER_TOKEN`] (`Authorization: Bearer`, a JWT).
//! - Each guarded operation lists both as alternatives, with the rule as the requirement's
//!   role (OpenAPI 3.1 lets a requirement name "role names which are required"), the rules in
//!   the extension `x-tokenleader-rules` (any one of them grants the call), a sentence in the
//!   description, and the 401 and 403 answers: their JSON body (the [`DENIAL_SCHEMA`]
//!   component), their `WWW-Authenticate` challenge and their `X-Decision-Id`.
//!
//! With utoipa-axum, [`guarded`] names the rule once: it puts [`RequireRule`] on the routes
//! and marks their operations.
//!
//! ```ignore
//! let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
//!     .routes(openapi::guarded(routes!(list_entries), "micros1.entries.list"))
//!     .split_for_parts();
//! ```

#[cfg(feature = "axum")]
use std::convert::Infallible;

use serde_json::json;
use utoipa::Modify;
use utoipa::openapi::path::{Operation, PathItem};
#[cfg(feature = "axum")]
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{OpenApi, RefOr, Response};

#[cfg(feature = "axum")]
use crate::layer::RequireRule;

/// The security scheme of a token in the `X-Auth-Token` header (tokenleader's own).
pub const X_AUTH_TOKEN: &str = "x_auth_token";

/// The security scheme of a token in `Authorization: Bearer`.
pub const BEARER_TOKEN: &str = "bearer_token";

/// The extension that lists an operation's rules.
pub const RULES_EXTENSION: &str = "x-tokenleader-rules";

/// The component schema of a denial's JSON body (`{"status", "message", "decision_id"}`),
/// which [`add_security_schemes`] adds and the 401 and 403 answers refer to.
pub const DENIAL_SCHEMA: &str = "TokenleaderDenial";

/// A utoipa modifier (`#[openapi(modifiers(&TokenSecurity))]`): adds the two security schemes
/// and marks the operation of every route recorded with its method and path
/// ([`rules::used_rules`](crate::rules::used_rules)), adding the operations the document
/// lacks.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenSecurity;

impl Modify for TokenSecurity {
    fn modify(&self, openapi: &mut OpenApi) {
        add_security_schemes(openapi);
        for used in crate::rules::used_rules() {
            let (Some(method), Some(path)) = (&used.method, &used.path) else {
                continue;
            };
            let item = openapi.paths.paths.entry(path.clone()).or_default();
            if let Some(operation) = operation_mut(item, method) {
                require_rules(operation.get_or_insert_with(Operation::new), &[&used.rule]);
            }
        }
    }
}

/// Adds the [`X_AUTH_TOKEN`] and [`BEARER_TOKEN`] security schemes to `openapi`'s components,
/// and the [`DENIAL_SCHEMA`] of a denial's body.
pub fn add_security_schemes(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    let denial = json!({
        "type": "object",
        "description": "A refused request: 401 (no usable token), 403 (no role grants the rule), 500 or 503.",
        "required": ["status", "message"],
        "properties": {
            "status": {"type": "string", "enum": ["unauthorized", "forbidden", "unavailable", "error"]},
            "message": {"type": "string", "description": "What failed; never the token."},
            "decision_id": {"type": "string", "description": "The request's id, also in the decision's log event and the `X-Decision-Id` header."}
        }
    });
    if let Ok(schema) = serde_json::from_value(denial) {
        components.schemas.insert(DENIAL_SCHEMA.to_owned(), schema);
    }
    let header = ApiKeyValue::with_description(
        "X-Auth-Token",
        "A token of the tokenleader server (`POST /token/gettoken`).",
    );
    components.add_security_scheme(X_AUTH_TOKEN, SecurityScheme::ApiKey(ApiKey::Header(header)));
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some("The same token as `Authorization: Bearer <token>`."))
        .build();
    components.add_security_scheme(BEARER_TOKEN, SecurityScheme::Http(bearer));
}

/// Marks `operation` as needing a token whose roles grant any one of `rules`: its security
/// requirements, the [`RULES_EXTENSION`], a sentence in its description, and the 401 and 403
/// answers (kept if the operation has its own).
pub fn require_rules(operation: &mut Operation, rules: &[&str]) {
    operation.security = Some(vec![
        SecurityRequirement::new(X_AUTH_TOKEN, rules.iter().copied()),
        SecurityRequirement::new(BEARER_TOKEN, rules.iter().copied()),
    ]);
    operation
        .extensions
        .get_or_insert_with(Default::default)
        .insert(RULES_EXTENSION.to_owned(), json!(rules));
    let listed: Vec<String> = rules.iter().map(|rule| format!("`{rule}`")).collect();
    let sentence = match listed.as_slice() {
        [one] => format!("Requires a token whose roles grant the rule {one}."),
        many => format!(
            "Requires a token whose roles grant one of the rules {}.",
            many.join(", ")
        ),
    };
    // Marked twice (`guarded`, then `TokenSecurity` for the same recorded route): once.
    operation.description = Some(match operation.description.take() {
        Some(description) if description.contains(&sentence) => description,
        Some(description) if !description.is_empty() => format!("{description}\n\n{sentence}"),
        _ => sentence,
    });
    let responses = &mut operation.responses.responses;
    responses.entry("401".to_owned()).or_insert_with(|| {
        denial_response(
            "No token, or one that is expired, forged or revoked.",
            "`Bearer`, with `error=\"invalid_token\"` when a token was sent (RFC 6750).",
        )
    });
    responses.entry("403".to_owned()).or_insert_with(|| {
        denial_response(
            "No role of the caller grants the rule.",
            "`Bearer error=\"insufficient_scope\"`, the rules in `scope` (RFC 6750).",
        )
    });
}

/// A 401 or 403 answer: the denial's body, its challenge and its decision id.
fn denial_response(description: &str, challenge: &str) -> RefOr<Response> {
    let response = json!({
        "description": description,
        "headers": {
            "WWW-Authenticate": {"description": challenge, "schema": {"type": "string"}},
            "X-Decision-Id": {"description": "The request's id, as in the body's `decision_id`.", "schema": {"type": "string"}}
        },
        "content": {
            "application/json": {"schema": {"$ref": format!("#/components/schemas/{DENIAL_SCHEMA}")}}
        }
    });
    RefOr::T(serde_json::from_value(response).unwrap_or_else(|_| Response::new(description)))
}

/// utoipa-axum's routes (`routes!(handler)`): schemas, paths, and the axum method router.
#[cfg(feature = "axum")]
pub type UtoipaRoutes<S = ()> = (
    Vec<(String, RefOr<Schema>)>,
    utoipa::openapi::path::Paths,
    axum::routing::MethodRouter<S, Infallible>,
);

/// `routes` guarded by [`RequireRule`]`(rule)`, their operations marked as with
/// [`require_rules`], and their methods and paths recorded for [`TokenSecurity`],
/// [`Enforcer::rules_report`](crate::Enforcer::rules_report) and
/// [`AccessPolicy`](crate::rules::AccessPolicy).
#[cfg(feature = "axum")]
pub fn guarded<S>(routes: UtoipaRoutes<S>, rule: &'static str) -> UtoipaRoutes<S>
where
    S: Clone + Send + Sync + 'static,
{
    let (schemas, mut paths, method_router) = routes;
    for (path, item) in &mut paths.paths {
        for method in METHODS {
            if let Some(Some(operation)) = operation_mut(item, method) {
                require_rules(operation, &[rule]);
                crate::rules::record_route(method, path, rule);
            }
        }
    }
    (schemas, paths, method_router.route_layer(RequireRule(rule)))
}

/// The methods an OpenAPI path item has operations for.
#[cfg(feature = "axum")]
const METHODS: [&str; 8] = [
    "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE",
];

/// The operation slot of `item` for `method` (any case); `None` for other methods.
fn operation_mut<'i>(item: &'i mut PathItem, method: &str) -> Option<&'i mut Option<Operation>> {
    let slot = match method.to_ascii_uppercase().as_str() {
        "GET" => &mut item.get,
        "PUT" => &mut item.put,
        "POST" => &mut item.post,
        "DELETE" => &mut item.delete,
        "OPTIONS" => &mut item.options,
        "HEAD" => &mut item.head,
        "PATCH" => &mut item.patch,
        "TRACE" => &mut item.trace,
        _ => return None,
    };
    Some(slot)
}
