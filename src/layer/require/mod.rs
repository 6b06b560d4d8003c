//! [`RequireRule`]: the per-route layer that lets a request through only when its token is
//! valid and one of its roles grants the rule.
//!
//! ```
//! use axum::{Router, routing::get};
//! use tokenleader_rbac::{Identity, RequireRule};
//!
//! async fn list_users(who: Identity) -> String {
//!     format!("hello {}", who.username)
//! }
//!
//! let routes: Router = Router::new().route(
//!     "/users",
//!     get(list_users).route_layer(RequireRule("tokenleader.adminops.adminops_restapi.list_users")),
//! );
//! ```
//!
//! `RequireRule` finds the [`Enforcer`](crate::Enforcer) that an outer `.layer(enforcer)` put into the request
//! extensions; without one it answers 500 (and logs why), never letting the request through.
//! [`Enforcer::require`](crate::Enforcer::require) gives the same layer bound to one enforcer, for plain tower stacks.
//!
//! On allow the request reaches the inner service with one value in its extensions, the
//! decision's record [`Authorized`](crate::Authorized): the claims (shared with the
//! verified-token cache), the very [`AuthToken`](crate::AuthToken) that was verified, and the
//! request's context. The extractors read their part of it; they never look at the headers
//! again. On deny the inner service is not called: the answer is 401, 403, 500 or 503, the
//! response the enforcer chose.
//!
//! One case waits: a token whose `kid` its issuer's JWKS does not hold yet (a key rotation)
//! asks for a fetch, and the request waits for it, at most 2 s, before it is decided with the
//! new keys (feature `jwks`; rate limited, see [`jwks_url`](crate::EnforcerBuilder::jwks_url)).
//! For that the service moves the ready inner service into the response future and keeps a
//! clone, as tower's `Buffer` does: the inner service must be `Clone` (axum's routes are).

//!
//! The files follow tower-http's order: the layers (`layer.rs`), their service
//! (`service.rs`), its response future (`future.rs`), and the guard that the service and
//! `GrpcRules` share (`guard.rs`).

mod future;
mod guard;
mod layer;
mod service;

pub use future::ResponseFuture;
pub(crate) use guard::{Requirement, guard};
pub use layer::{Authenticate, RequireAnyRule, RequireRule, RequireRuleLayer};
pub use service::RequireRuleService;
