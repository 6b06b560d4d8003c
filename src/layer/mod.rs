//! The tower and axum surface: [`Enforcer`](crate::Enforcer) as a layer, [`RequireRule`]
//! per route, and the extractors.
//!
//! ```
//! use axum::{Router, routing::get};
//! use tokenleader_rbac::{AclMap, AuthToken, Enforcer, Identity, RequireRule, Wfc};
//! use tokenleader_rbac::test_util::TestIssuer;
//!
//! async fn entries(wfc: Wfc, who: Identity, token: AuthToken) -> String {
//!     // `token` is the very token that was verified: forward it, never re-read the headers.
//!     format!("{} sees {} ({} bytes of token)", who.username, wfc.org, token.as_str().len())
//! }
//!
//! let issuer = TestIssuer::new();
//! let enforcer = issuer.enforcer("- name: role1\n  allow: [micros1.entries.list]\n");
//! let app: Router = Router::new()
//!     .route("/entries", get(entries).route_layer(RequireRule("micros1.entries.list")))
//!     .layer(enforcer.clone());
//!
//! // Without axum: a tower service guarded by the enforcer directly.
//! let guarded = tower::ServiceBuilder::new()
//!     .layer(enforcer.require("micros1.entries.list"))
//!     .service(tower::service_fn(|_request: http::Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
//!     }));
//! # let _ = (app, guarded);
//! ```
//!
//! - `.layer(enforcer)` inserts the [`Enforcer`](crate::Enforcer) into every request's
//!   extensions ([`EnforcerService`]).
//! - [`RequireRule`] finds it there, asks it to authorize the request, and on allow inserts
//!   one value, the decision's record [`Authorized`](crate::Authorized): the claims, the
//!   [`AuthToken`](crate::AuthToken) that was verified and the request's context. Without an
//!   enforcer it answers 500 (logged), never letting the request through.
//!   [`Enforcer::require`](crate::Enforcer::require) gives the same layer bound to one
//!   enforcer ([`RequireRuleLayer`]), and then needs no enforcer in the extensions.
//! - With the `axum` feature, [`Identity`](crate::Identity), [`Wfc`](crate::Wfc),
//!   `AuthToken`, `RequestContext` and `Authorized` are extractors (and `Option<…>` of each);
//!   used on a route without `RequireRule` they reject with [`MissingRequireRule`] (500).

mod enforcer_service;
#[cfg(feature = "axum")]
mod extract;
pub mod grpc;
pub mod require;

pub use enforcer_service::EnforcerService;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use extract::MissingRequireRule;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub use grpc::GrpcRequestExt;
pub use grpc::{GrpcRules, GrpcRulesService};
pub use require::{
    Authenticate, RequireAnyRule, RequireRule, RequireRuleLayer, RequireRuleService,
};
