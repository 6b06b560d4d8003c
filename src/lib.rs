//! Role based access control for axum and tower services, with tokens issued by a
//! [tokenleader](https://pypi.org/project/tokenleader/) server.
//!
//! A tokenleader server signs RS512 JWTs that carry the user's roles and their *work function
//! context* (org, orgunit, department). This crate verifies those tokens locally with the
//! server's public key, maps the roles to named rules through a `role_to_acl_map.yml`, and
//! hands the caller's [`Identity`] and [`Wfc`] to the handler.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::get};
//! use tokenleader_rbac::{AclMap, Enforcer, Identity, PublicKey, RequireRule, Wfc};
//! use tower::ServiceExt;
//!
//! async fn list_entries(wfc: Wfc, who: Identity) -> String {
//!     format!("{} sees {}/{}/{}", who.username, wfc.org, wfc.orgunit, wfc.department)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = PublicKey::from_openssh(include_str!("../tests/fixtures/tokenleader/tokenleader_public_key.ssh-rsa.pub"))?;
//! let enforcer = Enforcer::builder()
//!     .public_key(key)
//!     .acl(AclMap::from_yaml_str("- name: role1\n  allow:\n  - micros1.entries.list\n")?)
//!     // The fixture token was issued at 1795368471 and lives one hour: pin the clock inside it.
//!     .clock(|| UNIX_EPOCH + Duration::from_secs(1_795_368_471 + 60))
//!     .build()?;
//!
//! let app = Router::new()
//!     .route("/entries", get(list_entries).route_layer(RequireRule("micros1.entries.list")))
//!     .layer(enforcer);
//!
//! let token = include_str!("../tests/fixtures/tokenleader/token_user1.jwt").trim();
//! let request = Request::get("/entries").header("X-Auth-Token", token).body(Body::empty())?;
//! let response = app.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//! let body = axum::body::to_bytes(response.into_body(), 1024).await?;
//! assert_eq!(&body[..], b"user1 sees org1/ou1/dept1");
//!
//! let no_token = Request::get("/entries").body(Body::empty())?;
//! assert_eq!(app.oneshot(no_token).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```
//!
//! In production the ACL comes from a file (`.acl_file("role_to_acl_map.yml")`) and the key
//! from the tokenleader server's `client_configs.yml` ([`Enforcer::from_client_config`]).
//!
//! # What happens to a request
//!
//! 1. [`Enforcer`], as a layer, puts itself into the request extensions ([`layer`]).
//! 2. [`RequireRule`] asks it to authorize the request: the token is found in `X-Auth-Token`
//!    or `Authorization: Bearer`, routed to the [`Issuer`] its `iss` names ([`issuer`]; the
//!    tokenleader server's by default) and verified in one pipeline ([`token`]: RS512 only by
//!    default, `exp` required, `nbf`/`iat` checked with a leeway, a maximum lifetime), checked
//!    against the revocation store ([`revocation`]), and one of its roles must be the admin
//!    role or list the rule in the ACL map in force ([`acl`]); then the outcome is recorded
//!    once, the record observing the decision (`tracing`, [`telemetry`], [`rollout`]).
//! 3. Allowed: the handler runs with one value in the extensions, the decision's record
//!    [`Authorized`]: the claims, the [`AuthToken`] that was verified and the request's
//!    context, which the extractors [`Identity`] and [`Wfc`] ([`claims`]) read. Denied: 401 for a missing or bad
//!    token (with `WWW-Authenticate`), 403 for a valid token whose roles lack the rule, 500 for
//!    a misconfigured service, 503 when the revocation store cannot answer ([`response`]); the
//!    body is `{"status": …, "message": …}` (gRPC calls get `grpc-status` 16, 7, 13 or 14
//!    instead, see [`layer::grpc`]) and the token is never logged.
//!
//! Files given by path (ACL map, keys, `client_configs.yml`) are watched and hot-reloaded
//! ([`reload`]).
//!
//! # Features
//!
//! - `aws-lc-rs` (default) and `rust-crypto`: jsonwebtoken's crypto backend. With both on,
//!   aws-lc-rs is used; the crate never depends on jsonwebtoken's process-wide default
//!   provider, see [`keys::crypto_provider`].
//! - `axum` (default): [`Identity`], [`Wfc`], [`AuthToken`] and [`Authorized`] as axum
//!   extractors, and [`Denial`] as a response.
//! - `jwks`: keys from a JWKS URL ([`EnforcerBuilder::jwks_url`]), fetched with reqwest.
//! - `client`: [`client::Client`] for a tokenleader server (reqwest with rustls).
//! - `test-util`: [`test_util::TestIssuer`], to test your handlers without a token server.
//! - `redis`: [`revocation::RedisRevocation`], revocations shared by a fleet through Redis.
//! - `metrics`: counters and a histogram through the `metrics` facade, see [`telemetry`].
//! - `introspection`: opaque tokens asked of their issuer, see [`introspection`].
//! - `utoipa`: OpenAPI documents that mark the guarded operations with their rules, see
//!   [`openapi`].
//! - `tonic`: gRPC services with tonic: denials in tonic's body type and
//!   [`layer::GrpcRequestExt`] for the caller (gRPC calls get gRPC answers with or without
//!   it; per-method rules are [`layer::GrpcRules`]).
//! - `cli`: the `tokenleader-rbac` command-line tool.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod acl;
mod caller_addr;
pub mod claims;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
pub mod dpop;
pub mod enforcer;
pub mod error;
mod escape;
mod file;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(any(feature = "jwks", feature = "introspection", feature = "client"))]
mod http_cause;
#[cfg(feature = "introspection")]
#[cfg_attr(docsrs, doc(cfg(feature = "introspection")))]
pub mod introspection;
pub mod issuer;
pub mod keys;
pub mod layer;
pub mod metadata;
pub mod mtls;
#[cfg(feature = "utoipa")]
#[cfg_attr(docsrs, doc(cfg(feature = "utoipa")))]
pub mod openapi;
#[cfg(any(feature = "jwks", feature = "introspection"))]
mod outbound;
pub mod reload;
pub mod response;
pub mod revocation;
pub mod rollout;
pub mod rules;
pub mod telemetry;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
pub mod token;
mod tokenleader_config;

pub use acl::AclMap;
pub use claims::{Claims, Identity, Wfc};
pub use enforcer::{Authorized, Enforcer, EnforcerBuilder};
pub use error::Error;
pub use issuer::Issuer;
pub use jsonwebtoken::Algorithm;
pub use keys::PublicKey;
pub use layer::{Authenticate, RequireRule};
pub use response::Denial;
pub use token::{AuthToken, TokenError};
