//! The guard the service of `RequireRule` and `GrpcRules` share: what a route requires, the
//! enforcer's decision, the record put into the extensions on allow, the wait for an issuer
//! (keys being fetched, an introspection call) and the second decision after it.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::{Request, Response};
use tower_service::Service;

use super::future::{self, ResponseFuture};
use crate::acl::RulesId;
use crate::enforcer::{Enforcer, Guarded, Incoming, Rules};
use crate::response::{Denial, DenialBody, default_deny_response, is_grpc};
use crate::token::VerifyWait;

/// What a route requires of a request.
#[derive(Debug, Clone)]
pub(crate) enum Requirement {
    /// One rule.
    Rule {
        rule: Cow<'static, str>,
        /// What tokens remember their decision for this rule by.
        id: RulesId,
    },
    /// Any one of these rules.
    AnyOf {
        rules: &'static [&'static str],
        /// The rules joined with ` | `, for the log.
        label: Arc<str>,
        id: RulesId,
    },
    /// A valid token when there is one (optional authentication).
    Token,
}

impl Requirement {
    /// One rule, for a layer or method that requires it on every request.
    pub(crate) fn rule(rule: impl Into<Cow<'static, str>>) -> Self {
        let rule = rule.into();
        let id = RulesId::of(&[&rule]);
        Requirement::Rule { rule, id }
    }

    /// One rule for one request only: its decision is not remembered.
    pub(crate) fn rule_once(rule: String) -> Self {
        let id = RulesId::NONE;
        let rule = Cow::Owned(rule);
        Requirement::Rule { rule, id }
    }

    /// Any one of `rules`, their log label made once.
    pub(crate) fn any_of(rules: &'static [&'static str]) -> Self {
        let label = rules.join(" | ").into();
        let id = RulesId::of(rules);
        Requirement::AnyOf { rules, label, id }
    }

    /// Calls `f` with the rules (`None`: optional authentication).
    pub(crate) fn with_rules<R>(&self, f: impl FnOnce(Option<Rules<'_>>) -> R) -> R {
        match self {
            Requirement::Rule { rule, id } => f(Some(Rules {
                list: &[rule.as_ref()],
                label: rule,
                id: *id,
            })),
            Requirement::AnyOf { rules, label, id } => f(Some(Rules {
                list: rules,
                label,
                id: *id,
            })),
            Requirement::Token => f(None),
        }
    }
}

/// Decides `request` against `requirement` and calls `inner` on allow. The enforcer is
/// `bound`, or else the one in the request extensions.
pub(crate) fn guard<S, ReqBody, ResBody>(
    inner: &mut S,
    requirement: &Requirement,
    bound: Option<&Enforcer>,
    mut request: Request<ReqBody>,
) -> ResponseFuture<S::Future, ResBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: DenialBody + Send + 'static,
{
    let enforcer = bound.or_else(|| request.extensions().get::<Enforcer>());
    let Some(enforcer) = enforcer else {
        tracing::error!(
            ?requirement,
            "RequireRule found no Enforcer in the request extensions: add `.layer(enforcer)` around the router"
        );
        let response =
            default_deny_response(is_grpc(request.headers())).respond(&Denial::NoEnforcer);
        return ResponseFuture::denied(response.map(ResBody::from_denial));
    };
    match decide(enforcer, requirement, &request, true) {
        Guarded::Allowed(authorized, dpop_nonce) => {
            request.extensions_mut().insert(authorized);
            ResponseFuture::allowed(inner.call(request), dpop_nonce)
        }
        Guarded::Denied(response) => ResponseFuture::denied(response.map(ResBody::from_denial)),
        Guarded::Wait(wait) => {
            let enforcer = enforcer.clone();
            // The ready service goes with the request; a clone takes its place.
            let clone = inner.clone();
            let ready = std::mem::replace(inner, clone);
            ResponseFuture::waiting(Box::pin(decide_after_wait(
                wait,
                enforcer,
                requirement.clone(),
                request,
                ready,
            )))
        }
    }
}

/// Asks `enforcer` about `request`. Without `may_wait`, nothing waits: an unknown `kid` is
/// refused.
fn decide<B>(
    enforcer: &Enforcer,
    requirement: &Requirement,
    request: &Request<B>,
    may_wait: bool,
) -> Guarded {
    let incoming = Incoming {
        headers: request.headers(),
        uri: Some(request.uri()),
        peer: peer_addr(request.extensions()),
        method: Some(request.method()),
        extensions: Some(request.extensions()),
    };
    requirement.with_rules(|rules| enforcer.guard(incoming, rules, may_wait))
}

/// A request whose token must wait for its issuer: waits, then is decided again (refused this
/// time if it still cannot be decided).
async fn decide_after_wait<S, ReqBody, ResBody>(
    wait: VerifyWait,
    enforcer: Enforcer,
    requirement: Requirement,
    mut request: Request<ReqBody>,
    mut inner: S,
) -> Result<Response<ResBody>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: DenialBody,
{
    wait.0.await;
    match decide(&enforcer, &requirement, &request, false) {
        Guarded::Allowed(authorized, dpop_nonce) => {
            request.extensions_mut().insert(authorized);
            ResponseFuture::allowed(inner.call(request), dpop_nonce).await
        }
        Guarded::Denied(response) => Ok(response.map(ResBody::from_denial)),
        // `decide` makes no wait without `may_wait`; fail closed all the same.
        Guarded::Wait(_) => Ok(future::internal_error()),
    }
}

/// The connection's peer, as the server recorded it: axum's `ConnectInfo<SocketAddr>` (with
/// `into_make_service_with_connect_info`), tonic's `TcpConnectInfo` (its server over TCP, feature
/// `tonic`), or a plain `SocketAddr`.
fn peer_addr(extensions: &http::Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    #[cfg(feature = "tonic")]
    if let Some(info) = extensions.get::<tonic::transport::server::TcpConnectInfo>() {
        return info.remote_addr.map(|peer| peer.ip());
    }
    extensions.get::<SocketAddr>().map(SocketAddr::ip)
}
