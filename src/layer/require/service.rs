//! [`RequireRuleService`]: the service of every layer of `RequireRule`'s family.

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::guard::{Requirement, guard};
use crate::enforcer::Enforcer;
use crate::response::DenialBody;

/// The service of [`RequireRule`](super::RequireRule), [`Authenticate`](super::Authenticate) and [`RequireRuleLayer`](super::RequireRuleLayer).
#[derive(Debug, Clone)]
pub struct RequireRuleService<S> {
    inner: S,
    requirement: Requirement,
    enforcer: Option<Enforcer>,
}

impl<S> RequireRuleService<S> {
    pub(super) fn new(inner: S, requirement: Requirement, enforcer: Option<Enforcer>) -> Self {
        RequireRuleService {
            inner,
            requirement,
            enforcer,
        }
    }

    /// The rule this service requires; `None` for optional authentication and for any one
    /// of several rules.
    pub fn rule(&self) -> Option<&str> {
        match &self.requirement {
            Requirement::Rule { rule, .. } => Some(rule),
            _ => None,
        }
    }

    /// The rules of which this service requires any one ([`RequireAnyRule`](super::RequireAnyRule)).
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
