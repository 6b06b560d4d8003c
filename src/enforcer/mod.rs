//! [`Enforcer`]: the keys, the ACL map and the settings, shared by every route; it verifies,
//! decides, revokes, reloads and reports. [`EnforcerBuilder`] makes one.
//!
//! ```
//! use std::time::Duration;
//! use tokenleader_rbac::{AclMap, Enforcer, PublicKey};
//!
//! let key = PublicKey::from_pem(include_bytes!("../../tests/fixtures/tokenleader/tokenleader_public_key.spki.pem"))?;
//! let enforcer = Enforcer::builder()
//!     .public_key(key)
//!     .acl(AclMap::from_yaml_str("- name: role1\n  allow: [micros1.entries.list]\n")?)
//!     .leeway(Duration::from_secs(10))
//!     .build()?;
//! assert_eq!(enforcer.acl().role_count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A request is decided in one direction: the token is found ([`token`](crate::token)),
//! verified, checked against the revocation store ([`revocation`](crate::revocation)), the
//! rule decided with the ACL snapshot in force ([`acl`](crate::acl)), and the outcome recorded
//! once. The tower and axum surface around it is in `layer`.

mod authorized;
mod builder;
mod context;
mod decide;
mod record;
pub(crate) mod resource;
mod revoke;
mod sender;
mod status;
mod verify;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use http::HeaderMap;

pub use authorized::Authorized;
pub use builder::EnforcerBuilder;
pub use context::{RequestContext, RequestId};
pub(crate) use decide::Guarded;
pub(crate) use resource::{ProtectedResource, SenderMetadata};

use crate::acl::{Decision, RulesId};
use crate::caller_addr::TrustedProxies;
use crate::error::Error;
use crate::issuer::routes::Issuers;
use crate::reload::{LiveState, Reloader, WatchGuard};
use crate::response::DenyResponse;
use crate::revocation::Revocation;
use crate::token::TokenSource;
use record::Recorder;

/// The parts of a request the enforcer reads.
#[derive(Clone, Copy)]
pub(crate) struct Incoming<'r> {
    pub(crate) headers: &'r HeaderMap,
    /// For query-parameter token sources; `None` where there is no request URI.
    pub(crate) uri: Option<&'r http::Uri>,
    /// The connection's peer, for the client address.
    pub(crate) peer: Option<IpAddr>,
    /// For DPoP proofs' `htm`; `None` where there is no request (`Enforcer::authorize`).
    pub(crate) method: Option<&'r http::Method>,
    /// For a client certificate the TLS accept loop put there.
    pub(crate) extensions: Option<&'r http::Extensions>,
}

/// The rules a request needs one of, and how the log names them (the rule, or all of them
/// joined with ` | `, made once with the route).
#[derive(Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) list: &'a [&'a str],
    pub(crate) label: &'a str,
    /// What tokens remember their decision for these rules by.
    pub(crate) id: RulesId,
}

/// Verifies tokens and decides with the ACL map. Cheap to clone: everything is behind one
/// `Arc`.
///
/// As a `Layer` it inserts itself into each request's extensions, where
/// `RequireRule` finds it.
#[derive(Clone)]
pub struct Enforcer {
    inner: Arc<Inner>,
}

struct Inner {
    /// Every issuer trusted, the builder's own first, indexed by `iss`.
    issuers: Issuers,
    /// What the request path reads of the ACL maps: the snapshot in force, the shadow one.
    live: Arc<LiveState>,
    reloader: Arc<Reloader>,
    admin_role: Option<Box<str>>,
    token_sources: Vec<TokenSource>,
    /// `None`: no proxy is trusted, and the peer is the client.
    trusted_proxies: Option<TrustedProxies>,
    clock: Box<dyn Fn() -> SystemTime + Send + Sync>,
    /// `None`: JSON, or gRPC answers to gRPC calls.
    deny_response: Option<Box<dyn DenyResponse>>,
    /// `false` in dry-run mode: what no role grants is let through.
    enforce: bool,
    recorder: Recorder,
    revocation: Option<Box<dyn Revocation>>,
    /// Keeps the file watcher alive; dropped with the last clone, which stops its thread.
    watch: Option<WatchGuard>,
    /// This service as an RFC 9728 protected resource, when configured.
    protected_resource: Option<ProtectedResource>,
    /// What is checked of the sender: DPoP proofs, client certificates.
    sender: sender::SenderChecks,
}

impl fmt::Debug for Enforcer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let issuers: Vec<_> = inner.issuers.iter().map(|issuer| &issuer.keys).collect();
        f.debug_struct("Enforcer")
            .field("issuers", &issuers)
            .field("admin_role", &inner.admin_role)
            .field("token_sources", &inner.token_sources)
            .field("acl_roles", &inner.live.acl.load().role_count())
            .field("watching", &inner.watch.is_some())
            .finish_non_exhaustive()
    }
}

impl Enforcer {
    /// Starts an [`EnforcerBuilder`].
    pub fn builder() -> EnforcerBuilder {
        EnforcerBuilder::default()
    }

    /// Builds an enforcer from tokenleader's `client_configs.yml`: the key is its
    /// `tl_public_key` (watched like a key file), the ACL map the `role_to_acl_map.yml` beside
    /// it, everything else the defaults. Use [`EnforcerBuilder::client_config`] to change the
    /// rest.
    pub fn from_client_config(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        Self::builder().client_config(path).build()
    }

    /// Decides with the ACL map in force whether `roles` may use `rule` (the admin role
    /// included). Lock free: one atomic load of the current map.
    pub fn decide<'r>(&self, roles: &'r [String], rule: &str) -> Decision<'r> {
        let acl = self.inner.live.acl.load();
        acl.decide(roles, rule, self.inner.admin_role.as_deref())
    }
}
