//! Protected resource metadata (RFC 9728): a document at
//! `/.well-known/oauth-protected-resource` that tells a client which authorization servers
//! issue tokens for this service, how to send them and which scopes it knows, and the
//! `resource_metadata` parameter that points every 401 challenge at that document.
//!
//! ```
//! use axum::Router;
//! use tokenleader_rbac::metadata;
//! use tokenleader_rbac::test_util::TestIssuer;
//! use tokenleader_rbac::{AclMap, Enforcer, Issuer};
//!
//! let key = TestIssuer::new().public_key();
//! let enforcer = Enforcer::builder()
//!     .trust(Issuer::new("https://login.example.com").public_key(key))
//!     .acl(AclMap::from_yaml_str("- name: role1\n  allow: [micros1.entries.list]\n")?)
//!     .protected_resource("https://api.example.com/micros1")
//!     .build()?;
//!
//! // Served beside the guarded routes, outside any `RequireRule`: clients read it unauthenticated.
//! let app: Router = Router::new().merge(metadata::router(&enforcer));
//!
//! let document = enforcer.resource_metadata().expect("configured");
//! assert_eq!(document["resource"], "https://api.example.com/micros1");
//! assert_eq!(document["authorization_servers"][0], "https://login.example.com");
//! assert_eq!(
//!     metadata::document_path(&enforcer).as_deref(),
//!     Some("/.well-known/oauth-protected-resource/micros1")
//! );
//! # let _ = app;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The document holds:
//! - `resource`: the identifier given to
//!   [`protected_resource`](crate::EnforcerBuilder::protected_resource) (an `https` URL; `http`
//!   only on a loopback host, for tests);
//! - `authorization_servers`: the `iss` of every trusted issuer that names one, sorted;
//! - `bearer_methods_supported`: `header` when a header carries tokens, `query` when a query
//!   parameter does (cookies and sources of the service's own have no RFC 9728 name);
//! - `scopes_supported`: the rules the service uses ([`rules::used_rules`](crate::rules::used_rules)),
//!   as the registry holds them when the document is asked for;
//! - when an issuer takes DPoP ([`dpop`](crate::dpop)): `dpop_signing_alg_values_supported`
//!   and `dpop_bound_access_tokens_required` (`true` when every issuer requires DPoP);
//! - with a [client certificate source](crate::mtls):
//!   `tls_client_certificate_bound_access_tokens: true`.
//!
//! Its URL is the resource's with `/.well-known/oauth-protected-resource` inserted between
//! the host and the path (RFC 9728 §3.1); every 401 the enforcer answers with a `Bearer`
//! challenge (the default deny responses', or a custom one's) then carries
//! `resource_metadata="<that URL>"` in it (§5.1), so a
//! client that meets the service without configuration finds where to get a token.

use crate::enforcer::Enforcer;
pub use crate::enforcer::resource::WELL_KNOWN;

/// The path this service serves its document at, when
/// [`protected_resource`](crate::EnforcerBuilder::protected_resource) was given.
pub fn document_path(enforcer: &Enforcer) -> Option<String> {
    enforcer
        .protected_resource()
        .map(|resource| resource.path().to_owned())
}

/// A router that answers `GET` at the document's path with the document
/// ([`Enforcer::resource_metadata`]) as `application/json`; empty when the enforcer has no
/// [`protected_resource`](crate::EnforcerBuilder::protected_resource). Merge it into the
/// service's router, outside `RequireRule`.
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub fn router<S: Clone + Send + Sync + 'static>(enforcer: &Enforcer) -> axum::Router<S> {
    use http::{HeaderValue, Response, header};
    let Some(path) = document_path(enforcer) else {
        return axum::Router::new();
    };
    let enforcer = enforcer.clone();
    axum::Router::new().route(
        &path,
        axum::routing::get(move || {
            let document = enforcer.resource_metadata().unwrap_or_default();
            async move {
                let mut response = Response::new(axum::body::Body::from(document.to_string()));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
        }),
    )
}
