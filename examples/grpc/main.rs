//! A gRPC service guarded per method: tonic's server with the enforcer and [`GrpcRules`]
//! as layers, the caller's `Identity` and `Wfc` read in the method.
//!
//! ```text
//! cargo run --example grpc --features tonic,test-util
//! ```
//!
//! It serves `hello.Greeter` on a loopback port, mints tokens with the test kit (test-only
//! keys), calls the service as a tonic client would, prints each answer's gRPC status, and
//! stops.

mod greeter;

use greeter::{GreeterClient, GreeterServer, HelloReply, HelloRequest, SAY_HELLO, SHOUT};
use tokenleader_rbac::layer::{GrpcRequestExt, GrpcRules};
use tokenleader_rbac::test_util::TestIssuer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

const ACL: &str = "\
- name: reader
  allow: [hello.say]
- name: announcer
  allow: [hello.say, hello.shout]
";

fn say_hello(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    let who = request.identity()?;
    let wfc = request.wfc()?;
    let message = format!(
        "hello {}, from {} of {}",
        request.get_ref().name,
        who.username,
        wfc.org
    );
    Ok(Response::new(HelloReply { message }))
}

fn shout(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    let message = format!("HELLO {}", request.get_ref().name.to_uppercase());
    Ok(Response::new(HelloReply { message }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = TestIssuer::new();
    let enforcer = issuer.enforcer(ACL);
    let rules = GrpcRules::new()
        .method(SAY_HELLO, "hello.say")
        .method(SHOUT, "hello.shout");
    let greeter = GreeterServer { say_hello, shout };

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = Server::builder()
        .layer(enforcer)
        .layer(rules)
        .add_service(greeter)
        .serve_with_incoming(TcpListenerStream::new(listener));
    tokio::spawn(server);

    let channel = Channel::from_shared(format!("http://{address}"))?
        .connect()
        .await?;
    let mut client = GreeterClient::new(channel);
    let reader = issuer
        .token()
        .user("alice")
        .roles(["reader"])
        .org("org7")
        .sign();
    for (who, token) in [("alice", Some(reader.as_str())), ("nobody", None)] {
        for path in [SAY_HELLO, SHOUT] {
            let mut request = Request::new(HelloRequest {
                name: "world".into(),
            });
            if let Some(token) = token {
                request
                    .metadata_mut()
                    .insert("x-auth-token", token.parse()?);
            }
            match client.call(path, request).await {
                Ok(reply) => println!("{path} as {who}: OK, {}", reply.get_ref().message),
                Err(status) => {
                    println!("{path} as {who}: {:?}, {}", status.code(), status.message())
                }
            }
        }
    }
    Ok(())
}
