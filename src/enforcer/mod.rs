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

mod builder;
mod context;
mod record;
mod revoke;
mod status;
mod verify;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderMap, Response};

pub use builder::EnforcerBuilder;
pub use context::{RequestContext, RequestId};

use crate::acl::Decision;
use crate::caller_addr::TrustedProxies;
use crate::claims::Claims;
use crate::error::Error;
use crate::issuer::routes::{Issuers, Verdict};
use crate::reload::{LiveState, Reloader, WatchGuard};
use crate::response::{Denial, DenyResponse, default_deny_response};
use crate::revocation::Revocation;
use crate::token::{TokenError, TokenSource, Verified, VerifyWait, find_token};
use record::Recorder;
use verify::unix_secs;

/// The parts of a request the enforcer reads.
#[derive(Clone, Copy)]
pub(crate) struct Incoming<'r> {
    pub(crate) headers: &'r HeaderMap,
    /// For query-parameter token sources; `None` where there is no request URI.
    pub(crate) uri: Option<&'r http::Uri>,
    /// The connection's peer, for the client address.
    pub(crate) peer: Option<IpAddr>,
}

/// The rules a request needs one of, and how the log names them (the rule, or all of them
/// joined with ` | `, made once with the route).
#[derive(Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) list: &'a [&'a str],
    pub(crate) label: &'a str,
}

/// How optional authentication appears in the decision's log event, in place of a rule.
const AUTHENTICATE_ONLY: &str = "(authenticate)";

/// What the layer does with a request: it is decided, passes without a token (optional
/// authentication), or waits for the keys its token's unknown `kid` asked for (then it is
/// decided once more, without waiting again).
pub(crate) enum Authorization {
    Decided(Result<Verified, Denial>),
    Anonymous,
    // Only a JWKS source or introspection makes a wait.
    #[cfg_attr(
        not(any(feature = "jwks", feature = "introspection")),
        allow(dead_code)
    )]
    Wait(VerifyWait),
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
    trusted_proxies: TrustedProxies,
    clock: Box<dyn Fn() -> SystemTime + Send + Sync>,
    /// `None`: JSON, or gRPC answers to gRPC calls.
    deny_response: Option<Box<dyn DenyResponse>>,
    recorder: Recorder,
    revocation: Option<Box<dyn Revocation>>,
    /// Keeps the file watcher alive; dropped with the last clone, which stops its thread.
    watch: Option<WatchGuard>,
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

    /// The whole decision for one request: finds the token in `headers`, verifies it, and
    /// checks that one of its roles grants `rule`. Records one event per decision (never the
    /// token).
    /// Query-parameter token sources find nothing here (there is no URI); use the layers for
    /// them.
    pub fn authorize(&self, headers: &HeaderMap, rule: &str) -> Result<Arc<Claims>, Denial> {
        let incoming = Incoming {
            headers,
            uri: None,
            peer: None,
        };
        let rules = Rules {
            list: &[rule],
            label: rule,
        };
        match self.authorize_request(incoming, Some(rules), false).0 {
            Authorization::Decided(outcome) => outcome.map(|verified| verified.claims),
            // Neither is made for a rule without `may_wait`.
            Authorization::Anonymous => Err(Denial::Unauthenticated(TokenError::Missing)),
            Authorization::Wait(_) => Err(Denial::Unauthenticated(TokenError::UnknownKeyId)),
        }
    }

    /// [`authorize`](Self::authorize) for a request, also giving the token that was verified,
    /// and the request's context either way. With `rule` `None`, only a token that is there is
    /// verified (optional authentication): without one the request is anonymous. With
    /// `may_wait`, a token whose `kid` is unknown while its issuer's keys are being fetched is
    /// not refused: the caller waits, then asks again without `may_wait`.
    pub(crate) fn authorize_request(
        &self,
        incoming: Incoming<'_>,
        rules: Option<Rules<'_>>,
        may_wait: bool,
    ) -> (Authorization, RequestContext) {
        let headers = incoming.headers;
        // One clock read per decision: the context's time is the time tokens are checked at.
        let context = RequestContext {
            request_id: RequestId::of(headers),
            decided_at: (self.inner.clock)(),
            client_addr: self
                .inner
                .trusted_proxies
                .client_addr(incoming.peer, headers),
        };
        // A span per decision, made only when a subscriber wants it (a disabled span still
        // costs a few hundred instructions with tracing's `log` feature on).
        if !tracing::enabled!(tracing::Level::DEBUG) {
            let outcome = self.decide_request(incoming, rules, &context, may_wait);
            return (outcome, context);
        }
        let span = tracing::debug_span!(
            "decision",
            request_id = %context.request_id,
            rule = tracing::field::Empty,
            outcome = tracing::field::Empty,
            reason = tracing::field::Empty,
            key_id = tracing::field::Empty,
            issuer = tracing::field::Empty,
            acl_revision = %self.inner.live.acl.load().revision(),
        );
        if let Some(rules) = rules {
            span.record("rule", rules.label);
        }
        let outcome = span.in_scope(|| self.decide_request(incoming, rules, &context, may_wait));
        match &outcome {
            Authorization::Decided(Ok(verified)) => {
                span.record("outcome", "allowed");
                if let Some(key_id) = &verified.key_id {
                    span.record("key_id", &**key_id);
                }
                if let Some(issuer) = &verified.issuer {
                    span.record("issuer", &**issuer);
                }
            }
            Authorization::Decided(Err(denial)) => {
                span.record("outcome", denial.status_word());
                span.record("reason", denial.reason());
            }
            Authorization::Anonymous => {
                span.record("outcome", "allowed");
                span.record("reason", "anonymous");
            }
            Authorization::Wait(_) => {
                span.record("outcome", "waiting");
            }
        }
        (outcome, context)
    }

    fn decide_request(
        &self,
        incoming: Incoming<'_>,
        rules: Option<Rules<'_>>,
        context: &RequestContext,
        may_wait: bool,
    ) -> Authorization {
        let inner = &*self.inner;
        let recorded_rule = rules.map_or(AUTHENTICATE_ONLY, |rules| rules.label);
        let token = match find_token(incoming.headers, incoming.uri, &inner.token_sources) {
            Ok(token) => token,
            Err(TokenError::Missing) if rules.is_none() => {
                inner.recorder.anonymous(&context.request_id);
                return Authorization::Anonymous;
            }
            Err(error) => return self.refused(recorded_rule, context, error.into()),
        };
        let now = match unix_secs(context.decided_at) {
            Ok(now) => now,
            Err(denial) => return self.refused(recorded_rule, context, denial),
        };
        let verified = match inner.issuers.verify(token, now, may_wait) {
            Verdict::Verified(verified) => match self.not_revoked(verified, token, now) {
                Ok(verified) => verified,
                Err(denial) => return self.refused(recorded_rule, context, denial),
            },
            Verdict::Denied(denial) => return self.refused(recorded_rule, context, denial),
            Verdict::Wait(wait) => return Authorization::Wait(wait),
        };
        if let Some(binding) = verified.ip_binding
            && let Err(error) = binding.check(context.client_addr)
        {
            return self.refused(recorded_rule, context, error.into());
        }
        let Some(Rules { list: rules, .. }) = rules else {
            inner
                .recorder
                .authenticated(&context.request_id, &verified.claims);
            return Authorization::Decided(Ok(verified));
        };
        let claims = &verified.claims;
        let admin_role = inner.admin_role.as_deref();
        let acl = inner.live.acl.load();
        let (index, decision) = acl.decide_any(&claims.identity.roles, rules, admin_role);
        let rule = match decision.is_allowed() {
            true => rules[index],
            false => recorded_rule,
        };
        let candidate = inner.live.shadow_acl.as_ref().map(ArcSwap::load);
        let candidate = candidate.as_deref().map(Arc::as_ref);
        let recorded = inner.recorder.decided(
            (rule, rules),
            &context.request_id,
            claims,
            decision,
            acl.revision(),
            candidate,
            admin_role,
        );
        Authorization::Decided(recorded.map(|()| verified))
    }

    /// A request refused before any decision, recorded.
    fn refused(&self, rule: &str, context: &RequestContext, denial: Denial) -> Authorization {
        self.inner
            .recorder
            .refused(rule, &context.request_id, &denial);
        Authorization::Decided(Err(denial))
    }

    /// The response for a denied request, from the builder's
    /// [`deny_response`](EnforcerBuilder::deny_response) (by default JSON).
    pub fn deny_response(&self, denial: &Denial) -> Response<Bytes> {
        self.responder(false).respond(denial)
    }

    /// The response for a denied request, naming its decision id (the request id, also in
    /// the decision's log event). `grpc`: the request is a gRPC call, answered in gRPC's
    /// terms unless the builder was given a deny response.
    pub(crate) fn deny_response_to(
        &self,
        denial: &Denial,
        context: &RequestContext,
        grpc: bool,
    ) -> Response<Bytes> {
        let decision_id = context.request_id.to_string();
        self.responder(grpc).respond_to(denial, &decision_id)
    }

    /// The builder's deny response, or the default for the kind of request.
    fn responder(&self, grpc: bool) -> &dyn DenyResponse {
        match &self.inner.deny_response {
            Some(custom) => custom.as_ref(),
            None => default_deny_response(grpc),
        }
    }

    /// Decides with the ACL map in force whether `roles` may use `rule` (the admin role
    /// included). Lock free: one atomic load of the current map.
    pub fn decide<'r>(&self, roles: &'r [String], rule: &str) -> Decision<'r> {
        let acl = self.inner.live.acl.load();
        acl.decide(roles, rule, self.inner.admin_role.as_deref())
    }
}
