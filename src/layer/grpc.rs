//! gRPC services: [`GrpcRules`], a rule per gRPC method for a whole tonic server, and (feature
//! `tonic`) [`GrpcRequestExt`], the caller as the method sees it.
//!
//! ```
//! use tokenleader_rbac::layer::GrpcRules;
//! use tokenleader_rbac::test_util::TestIssuer;
//!
//! let issuer = TestIssuer::new();
//! let enforcer = issuer.enforcer("- name: role1\n  allow: [hello.say]\n");
//! let rules = GrpcRules::new()
//!     .method("/hello.Greeter/SayHello", "hello.say")
//!     .method("/hello.Greeter/Shout", "hello.shout");
//! let guarded = tower::ServiceBuilder::new()
//!     .layer(enforcer)
//!     .layer(rules)
//!     .service(tower::service_fn(|_call: http::Request<()>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(bytes::Bytes::new()))
//!     }));
//! # let _ = guarded;
//! ```
//!
//! With tonic the same two layers go on the server, around every service it serves:
//!
//! ```ignore
//! Server::builder()
//!     .layer(enforcer.clone())
//!     .layer(GrpcRules::new().method("/hello.Greeter/SayHello", "hello.say"))
//!     .add_service(GreeterServer::new(Greeter))
//!     .serve(address)
//!     .await?;
//! ```
//!
//! A call's method is the path of its HTTP/2 request, `/package.Service/Method`. A method
//! without a rule here requires the rule named by its path (`/hello.Greeter/Shout`), which
//! no map grants unless it names it: a method added to a service later is refused (gRPC
//! status 7) until it is given a rule, never open by omission.
//! [`RequireRule`](super::RequireRule) and [`Enforcer::require`](crate::Enforcer::require)
//! guard one tonic service (or, through `tonic::service::Routes`' axum router, one method)
//! the same way.
//!
//! Denials of gRPC calls (content type `application/grpc…`) are gRPC answers: HTTP 200 with
//! `grpc-status` 16 `UNAUTHENTICATED`, 7 `PERMISSION_DENIED`, 14 `UNAVAILABLE` or 13
//! `INTERNAL` and the reason in `grpc-message`
//! ([`GrpcDenyResponse`](crate::response::GrpcDenyResponse)). Tokens come from the call's
//! metadata as from headers: `x-auth-token` or `authorization: Bearer …` by default. On allow
//! the method finds the caller's [`Identity`](crate::claims::Identity) and
//! [`Wfc`](crate::claims::Wfc) in the request extensions, which tonic keeps in
//! `tonic::Request::extensions()`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::require::{Requirement, ResponseFuture, guard};
use crate::response::DenialBody;

/// A rule per gRPC method, for every service of a server; the [`Enforcer`](crate::Enforcer)
/// comes from the request extensions (put `.layer(enforcer)` outside). See the
/// [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct GrpcRules {
    methods: Arc<HashMap<Box<str>, Requirement>>,
}

impl GrpcRules {
    /// No rules yet: every method requires the rule named by its path.
    pub fn new() -> Self {
        GrpcRules::default()
    }

    /// Requires `rule` for the method at `path` (`/package.Service/Method`).
    pub fn method(mut self, path: &str, rule: impl Into<Cow<'static, str>>) -> Self {
        let requirement = Requirement::rule(rule);
        Arc::make_mut(&mut self.methods).insert(path.into(), requirement);
        self
    }

    /// Requires any one of `rules` for the method at `path`.
    pub fn method_any(mut self, path: &str, rules: &'static [&'static str]) -> Self {
        Arc::make_mut(&mut self.methods).insert(path.into(), Requirement::any_of(rules));
        self
    }
}

impl<S> Layer<S> for GrpcRules {
    type Service = GrpcRulesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        for (path, requirement) in self.methods.iter() {
            requirement.with_rules(|rules| {
                for rule in rules.map_or(&[][..], |rules| rules.list) {
                    crate::rules::record_route("POST", path, rule);
                }
            });
        }
        GrpcRulesService {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// The service of [`GrpcRules`].
#[derive(Debug, Clone)]
pub struct GrpcRulesService<S> {
    inner: S,
    methods: Arc<HashMap<Box<str>, Requirement>>,
}

impl<S> GrpcRulesService<S> {
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcRulesService<S>
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
        let path = request.uri().path();
        match self.methods.get(path) {
            Some(requirement) => guard(&mut self.inner, requirement, None, request),
            None => {
                let requirement = Requirement::rule_once(path.to_owned());
                guard(&mut self.inner, &requirement, None, request)
            }
        }
    }
}

/// The caller of a gRPC method guarded by [`GrpcRules`] or [`RequireRule`](super::RequireRule):
/// `request.identity()?` and `request.wfc()?` in the method. Missing (no guard in front of
/// the method) they are `Status::internal`, never an anonymous caller.
///
/// ```
/// use tokenleader_rbac::layer::GrpcRequestExt;
///
/// fn say_hello(request: &tonic::Request<()>) -> Result<String, tonic::Status> {
///     let who = request.identity()?;
///     let wfc = request.wfc()?;
///     Ok(format!("hello {} of {}", who.username, wfc.org))
/// }
/// assert_eq!(say_hello(&tonic::Request::new(())).unwrap_err().code(), tonic::Code::Internal);
/// ```
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub trait GrpcRequestExt {
    /// The verified caller.
    fn identity(&self) -> Result<&crate::claims::Identity, tonic::Status>;
    /// The caller's work function context.
    fn wfc(&self) -> Result<&crate::claims::Wfc, tonic::Status>;
}

#[cfg(feature = "tonic")]
impl<T> GrpcRequestExt for tonic::Request<T> {
    fn identity(&self) -> Result<&crate::claims::Identity, tonic::Status> {
        self.extensions()
            .get::<crate::enforcer::Authorized>()
            .and_then(crate::enforcer::Authorized::identity)
            .ok_or_else(unguarded)
    }

    fn wfc(&self) -> Result<&crate::claims::Wfc, tonic::Status> {
        self.extensions()
            .get::<crate::enforcer::Authorized>()
            .and_then(crate::enforcer::Authorized::wfc)
            .ok_or_else(unguarded)
    }
}

/// The status of a method that reads the caller without a guard in front of it.
#[cfg(feature = "tonic")]
fn unguarded() -> tonic::Status {
    tracing::error!(
        "a gRPC method asked for the caller, but no GrpcRules or RequireRule guards it"
    );
    tonic::Status::internal("server misconfigured: no authorization guards this method")
}
