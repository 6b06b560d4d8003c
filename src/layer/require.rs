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
//! `RequireRule` finds the [`Enforcer`] that an outer `.layer(enforcer)` put into the request
//! extensions; without one it answers 500 (and logs why), never letting the request through.
//! [`Enforcer::require`] gives the same layer bound to one enforcer, for plain tower stacks.
//!
//! On allow the request reaches the inner service with what was verified in its extensions:
//! the claims (one `Arc<Claims>`, shared with the verified-token cache), the very
//! [`AuthToken`](crate::AuthToken) that was verified, and the caller's
//! [`Identity`](crate::Identity) and [`Wfc`](crate::Wfc). The extractors read them back; they
//! never look at the headers again. On deny the inner service is not called: the answer is
//! 401, 403, 500 or 503 from the enforcer's deny response.
//!
//! One case waits: a token whose `kid` its issuer's JWKS does not hold yet (a key rotation)
//! asks for a fetch, and the request waits for it, at most 2 s, before it is decided with the
//! new keys (feature `jwks`; rate limited, see [`jwks_url`](crate::EnforcerBuilder::jwks_url)).
//! For that the service moves the ready inner service into the response future and keeps a
//! clone, as tower's `Buffer` does: the inner service must be `Clone` (axum's routes are).

mod future;

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::enforcer::{Authorization, Enforcer, Incoming, RequestContext, Rules};
use crate::response::{Denial, DenialBody, default_deny_response, is_grpc};
use crate::token::{TokenError, Verified, VerifyWait};

pub use future::ResponseFuture;

/// Requires a rule on a route; the [`Enforcer`] comes from the request extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequireRule(pub &'static str);

impl<S> Layer<S> for RequireRule {
    type Service = RequireRuleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        crate::rules::record(self.0);
        RequireRuleService {
            inner,
            requirement: Requirement::Rule(Cow::Borrowed(self.0)),
            enforcer: None,
        }
    }
}

/// Optional authentication, for routes that serve anonymous callers and signed-in users
/// differently: a request without a token goes through with no [`Identity`](crate::Identity)
/// (take `Option<Identity>`), a token that is there must be valid (a bad one is a 401, never
/// an anonymous caller), and no rule is decided. The [`Enforcer`] comes from the request
/// extensions; [`Enforcer::authenticate`] gives the same layer bound to one enforcer.
///
/// ```
/// use axum::{Router, routing::get};
/// use tokenleader_rbac::{Identity, layer::Authenticate};
///
/// async fn home(who: Option<Identity>) -> String {
///     match who {
///         Some(who) => format!("hello {}", who.username),
///         None => "hello stranger".to_owned(),
///     }
/// }
///
/// let routes: Router = Router::new().route("/", get(home).route_layer(Authenticate));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticate;

impl<S> Layer<S> for Authenticate {
    type Service = RequireRuleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRuleService {
            inner,
            requirement: Requirement::Token,
            enforcer: None,
        }
    }
}

/// Requires any one of several rules on a route (a route that readers and auditors may both
/// use); the [`Enforcer`] comes from the request extensions. The decision's log names the
/// rule that allowed the request, or all of them joined with ` | `.
///
/// ```
/// use axum::{Router, routing::get};
/// use tokenleader_rbac::layer::RequireAnyRule;
///
/// let routes: Router = Router::new().route(
///     "/entries",
///     get(|| async { "entries" }).route_layer(RequireAnyRule(&["micros1.entries.list", "micros1.audit"])),
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequireAnyRule(pub &'static [&'static str]);

impl<S> Layer<S> for RequireAnyRule {
    type Service = RequireRuleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.iter().for_each(|rule| crate::rules::record(rule));
        RequireRuleService {
            inner,
            requirement: Requirement::any_of(self.0),
            enforcer: None,
        }
    }
}

/// What a route requires of a request.
#[derive(Debug, Clone)]
pub(super) enum Requirement {
    /// One rule.
    Rule(Cow<'static, str>),
    /// Any one of these rules.
    AnyOf {
        rules: &'static [&'static str],
        /// The rules joined with ` | `, for the log.
        label: Arc<str>,
    },
    /// A valid token when there is one (optional authentication).
    Token,
}

impl Requirement {
    /// Any one of `rules`, their log label made once.
    pub(super) fn any_of(rules: &'static [&'static str]) -> Self {
        let label = rules.join(" | ").into();
        Requirement::AnyOf { rules, label }
    }

    /// Calls `f` with the rules (`None`: optional authentication).
    pub(super) fn with_rules<R>(&self, f: impl FnOnce(Option<Rules<'_>>) -> R) -> R {
        match self {
            Requirement::Rule(rule) => f(Some(Rules {
                list: &[rule.as_ref()],
                label: rule,
            })),
            Requirement::AnyOf { rules, label } => f(Some(Rules { list: rules, label })),
            Requirement::Token => f(None),
        }
    }
}

/// Requires a rule (or, from [`Enforcer::authenticate`], a valid token when there is one)
/// with a given [`Enforcer`]; made by [`Enforcer::require`].
#[derive(Debug, Clone)]
pub struct RequireRuleLayer {
    requirement: Requirement,
    enforcer: Enforcer,
}

impl Enforcer {
    /// A layer that requires `rule` and uses this enforcer, without needing the enforcer in the
    /// request extensions (for plain tower stacks). Equivalent to [`RequireRule`] under
    /// `.layer(enforcer)`.
    pub fn require(&self, rule: impl Into<Cow<'static, str>>) -> RequireRuleLayer {
        RequireRuleLayer {
            requirement: Requirement::Rule(rule.into()),
            enforcer: self.clone(),
        }
    }

    /// A layer that requires any one of `rules` (see [`RequireAnyRule`]) and uses this
    /// enforcer.
    pub fn require_any(&self, rules: &'static [&'static str]) -> RequireRuleLayer {
        RequireRuleLayer {
            requirement: Requirement::any_of(rules),
            enforcer: self.clone(),
        }
    }

    /// A layer of optional authentication (see [`Authenticate`]) that uses this enforcer.
    pub fn authenticate(&self) -> RequireRuleLayer {
        RequireRuleLayer {
            requirement: Requirement::Token,
            enforcer: self.clone(),
        }
    }
}

impl<S> Layer<S> for RequireRuleLayer {
    type Service = RequireRuleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.requirement.with_rules(|rules| {
            for rule in rules.map_or(&[][..], |rules| rules.list) {
                crate::rules::record(rule);
            }
        });
        RequireRuleService {
            inner,
            requirement: self.requirement.clone(),
            enforcer: Some(self.enforcer.clone()),
        }
    }
}

/// The service of [`RequireRule`], [`Authenticate`] and [`RequireRuleLayer`].
#[derive(Debug, Clone)]
pub struct RequireRuleService<S> {
    inner: S,
    requirement: Requirement,
    enforcer: Option<Enforcer>,
}

impl<S> RequireRuleService<S> {
    /// The rule this service requires; `None` for optional authentication and for any one
    /// of several rules.
    pub fn rule(&self) -> Option<&str> {
        match &self.requirement {
            Requirement::Rule(rule) => Some(rule),
            _ => None,
        }
    }

    /// The rules of which this service requires any one ([`RequireAnyRule`]).
    pub fn any_of(&self) -> Option<&'static [&'static str]> {
        match self.requirement {
            Requirement::AnyOf { rules, .. } => Some(rules),
            _ => None,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes this service, returning the inner one.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireRuleService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: DenialBody + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        guard(
            &mut self.inner,
            &self.requirement,
            self.enforcer.as_ref(),
            request,
        )
    }
}

/// Decides `request` against `requirement` and calls `inner` on allow. The enforcer is
/// `bound`, or else the one in the request extensions.
pub(super) fn guard<S, ReqBody, ResBody>(
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
        Outcome::Allowed(verified, context) => {
            insert_verified(&mut request, verified, context);
            ResponseFuture::allowed(inner.call(request))
        }
        Outcome::Denied(response) => ResponseFuture::denied(response.map(ResBody::from_denial)),
        Outcome::Wait(wait) => {
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

/// What the enforcer decided for a request, before the request moves.
enum Outcome {
    /// Let through: with what was verified, or anonymous (optional authentication).
    Allowed(Option<Verified>, RequestContext),
    Denied(Response<Bytes>),
    Wait(VerifyWait),
}

/// Asks `enforcer` about `request`. Without `may_wait`, an unknown `kid` is refused.
fn decide<B>(
    enforcer: &Enforcer,
    requirement: &Requirement,
    request: &Request<B>,
    may_wait: bool,
) -> Outcome {
    let incoming = Incoming {
        headers: request.headers(),
        uri: Some(request.uri()),
        peer: peer_addr(request.extensions()),
    };
    let (authorization, context) =
        requirement.with_rules(|rules| enforcer.authorize_request(incoming, rules, may_wait));
    let denial = match authorization {
        Authorization::Decided(Ok(verified)) => return Outcome::Allowed(Some(verified), context),
        Authorization::Anonymous => return Outcome::Allowed(None, context),
        Authorization::Wait(wait) if may_wait => return Outcome::Wait(wait),
        Authorization::Decided(Err(denial)) => denial,
        Authorization::Wait(_) => Denial::Unauthenticated(TokenError::UnknownKeyId),
    };
    Outcome::Denied(enforcer.deny_response_to(&denial, &context, is_grpc(request.headers())))
}

/// Puts the context and what was verified into the request extensions: reference counts only,
/// the claims and the token are the cache's.
fn insert_verified<B>(
    request: &mut Request<B>,
    verified: Option<Verified>,
    context: RequestContext,
) {
    let extensions = request.extensions_mut();
    extensions.insert(context);
    if let Some(Verified { claims, token, .. }) = verified {
        extensions.insert(claims.identity.clone());
        extensions.insert(claims.wfc.clone());
        extensions.insert(token);
        extensions.insert(claims);
    }
}

/// A request whose token named an unknown `kid`: waits for its issuer's keys, then is decided
/// again (refused this time if the `kid` is still unknown).
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
        Outcome::Allowed(verified, context) => {
            insert_verified(&mut request, verified, context);
            inner.call(request).await
        }
        Outcome::Denied(response) => Ok(response.map(ResBody::from_denial)),
        // `decide` makes no wait without `may_wait`; fail closed all the same.
        Outcome::Wait(_) => Ok(future::internal_error()),
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
