//! The `hello.Greeter` gRPC service, written out by hand: what `tonic-prost-build` generates
//! from the `.proto` below, kept in Rust so that the example builds without `protoc`.
//!
//! ```proto
//! package hello;
//! service Greeter {
//!   rpc SayHello (HelloRequest) returns (HelloReply);
//!   rpc Shout (HelloRequest) returns (HelloReply);
//! }
//! message HelloRequest { string name = 1; }
//! message HelloReply { string message = 1; }
//! ```

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use http::uri::PathAndQuery;
use tonic::body::Body;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

/// `hello.HelloRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `hello.HelloReply`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloReply {
    #[prost(string, tag = "1")]
    pub message: String,
}

/// The paths of the service's methods.
pub const SAY_HELLO: &str = "/hello.Greeter/SayHello";
pub const SHOUT: &str = "/hello.Greeter/Shout";

/// A method's implementation.
pub type Method = fn(Request<HelloRequest>) -> Result<Response<HelloReply>, Status>;

/// The server side: one function per method.
#[derive(Clone)]
pub struct GreeterServer {
    pub say_hello: Method,
    pub shout: Method,
}

impl NamedService for GreeterServer {
    const NAME: &'static str = "hello.Greeter";
}

impl tower::Service<http::Request<Body>> for GreeterServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let method = match request.uri().path() {
            SAY_HELLO => self.say_hello,
            SHOUT => self.shout,
            _ => {
                return Box::pin(ready(Ok(
                    Status::unimplemented("no such method").into_http()
                )));
            }
        };
        Box::pin(async move {
            let mut grpc = Grpc::new(ProstCodec::<HelloReply, HelloRequest>::default());
            Ok(grpc.unary(Unary(method), request).await)
        })
    }
}

struct Unary(Method);

impl UnaryService<HelloRequest> for Unary {
    type Response = HelloReply;
    type Future = Ready<Result<Response<HelloReply>, Status>>;

    fn call(&mut self, request: Request<HelloRequest>) -> Self::Future {
        ready((self.0)(request))
    }
}

/// The client side.
#[derive(Clone)]
pub struct GreeterClient {
    grpc: tonic::client::Grpc<Channel>,
}

impl GreeterClient {
    /// A client over `channel`.
    pub fn new(channel: Channel) -> Self {
        GreeterClient {
            grpc: tonic::client::Grpc::new(channel),
        }
    }

    /// Calls the method at `path` (`SAY_HELLO` or `SHOUT`).
    pub async fn call(
        &mut self,
        path: &'static str,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        self.grpc
            .ready()
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?;
        let codec = ProstCodec::<HelloRequest, HelloReply>::default();
        self.grpc
            .unary(request, PathAndQuery::from_static(path), codec)
            .await
    }
}
