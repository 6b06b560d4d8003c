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

use std::borrow::Cow;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::enforcer::Enforcer;
use crate::response::{Denial, DenyResponse, JsonDenyResponse};
use crate::token::Verified;

/// Requires a rule on a route; the [`Enforcer`] comes from the request extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequireRule(pub &'static str);

impl<S> Layer<S> for RequireRule {
    type Service = RequireRuleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRuleService {
            inner,
            rule: Cow::Borrowed(self.0),
            enforcer: None,
        }
    }
}

/// Requires a rule with a given [`Enforcer`]; made by [`Enforcer::require`].
#[derive(Debug, Clone)]
pub struct RequireRuleLayer {
    rule: Cow<'static, str>,
    enforcer: Enforcer,
}

impl Enforcer {
    /// A layer that requires `rule` and uses this enforcer, without needing the enforcer in the
    /// request extensions (for plain tower stacks). Equivalent to [`RequireRule`] under
    /// `.layer(enforcer)`.
    pub fn require(&self, rule: impl Into<Cow<'static, str>>) -> RequireRuleLayer {
        RequireRuleLayer {
            rule: rule.into(),
            enforcer: self.clone(),
        }
    }
}

impl<S> Layer<S> for RequireRuleLayer {
    type Service = RequireRuleService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireRuleService {
            inner,
            rule: self.rule.clone(),
            enforcer: Some(self.enforcer.clone()),
        }
    }
}

/// The service of [`RequireRule`] and [`RequireRuleLayer`].
#[derive(Debug, Clone)]
pub struct RequireRuleService<S> {
    inner: S,
    rule: Cow<'static, str>,
    enforcer: Option<Enforcer>,
}

impl<S> RequireRuleService<S> {
    /// The rule this service requires.
    pub fn rule(&self) -> &str {
        &self.rule
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
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let outcome = {
            let enforcer = self
                .enforcer
                .as_ref()
                .or_else(|| request.extensions().get::<Enforcer>());
            match enforcer {
                Some(enforcer) => {
                    let peer = peer_addr(request.extensions());
                    let (outcome, context) =
                        enforcer.authorize_request(request.headers(), peer, &self.rule);
                    outcome
                        .map(|verified| (verified, context))
                        .map_err(|denial| enforcer.deny_response(&denial))
                }
                None => {
                    tracing::error!(
                        rule = %self.rule,
                        "RequireRule found no Enforcer in the request extensions: add `.layer(enforcer)` around the router"
                    );
                    Err(JsonDenyResponse.respond(&Denial::NoEnforcer))
                }
            }
        };
        match outcome {
            Ok((Verified { claims, token }, context)) => {
                // Reference counts only: the claims and the token are the cache's.
                let extensions = request.extensions_mut();
                extensions.insert(context);
                extensions.insert(claims.identity.clone());
                extensions.insert(claims.wfc.clone());
                extensions.insert(token);
                extensions.insert(claims);
                ResponseFuture {
                    kind: Kind::Allowed {
                        future: self.inner.call(request),
                    },
                }
            }
            Err(response) => ResponseFuture {
                kind: Kind::Denied {
                    response: Some(response.map(ResBody::from)),
                },
            },
        }
    }
}

/// The connection's peer, as the server recorded it: axum's `ConnectInfo<SocketAddr>` (with
/// `into_make_service_with_connect_info`), or a plain `SocketAddr`.
fn peer_addr(extensions: &http::Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    extensions.get::<SocketAddr>().map(SocketAddr::ip)
}

pin_project! {
    /// The response future of [`RequireRuleService`]: the inner service's future, or the
    /// denial's response, ready at once.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    // A verifier that must ask the network (introspection) becomes one more variant here,
    // so the local path pays nothing for it.
    #[project = KindProj]
    enum Kind<F, B> {
        Allowed { #[pin] future: F },
        Denied { response: Option<Response<B>> },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<Bytes>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Allowed { future } => future.poll(cx),
            KindProj::Denied { response } => {
                // Polling again after completion breaks the `Future` contract; answer 500
                // rather than panic.
                let response = response.take().unwrap_or_else(|| {
                    let mut response = Response::new(B::from(Bytes::new()));
                    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    response
                });
                Poll::Ready(Ok(response))
            }
        }
    }
}
