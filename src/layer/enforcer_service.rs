//! [`Enforcer`] as a [`Layer`]: it puts itself into every request's extensions, where
//! [`RequireRule`](super::RequireRule) finds it.

use std::task::{Context, Poll};

use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::enforcer::Enforcer;

impl<S> Layer<S> for Enforcer {
    type Service = EnforcerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EnforcerService {
            inner,
            enforcer: self.clone(),
        }
    }
}

/// The service of the [`Enforcer`] layer: inserts the enforcer into the request extensions.
#[derive(Debug, Clone)]
pub struct EnforcerService<S> {
    inner: S,
    enforcer: Enforcer,
}

impl<S> EnforcerService<S> {
    /// The enforcer this service inserts.
    pub fn enforcer(&self) -> &Enforcer {
        &self.enforcer
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

impl<S, B> Service<Request<B>> for EnforcerService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.enforcer.clone());
        self.inner.call(request)
    }
}
