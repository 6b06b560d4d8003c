//! A gRPC service guarded per method: tonic's server with the enforcer and [`GrpcRules`]
//! as layers, the caller's `Identity` and `Wfc` read in the method.
//!
//! ```text
//! cargo run --example grpc --all-features              # calls itself, prints, stops
//! cargo run --example grpc --all-features -- --port 50051   # serves until Ctrl-C
//! ```
//!
//! It serves `hello.Greeter` (`examples/grpc/hello.proto`) on a loopback port with tokens
//! minted by the test kit (test-only keys). Without `--port` it calls the service as a tonic
//! client would, prints each answer's gRPC status, and stops. With `--port N` (0: any free
//! port) it prints the address, a demo token for each role and grpcurl commands, and serves
//! until stopped, for grpcurl or a client generated from the `.proto`.

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

/// The address, a demo token for each role, and how to call the service with grpcurl.
fn print_how_to_call(issuer: &TestIssuer, address: std::net::SocketAddr) {
    println!("hello.Greeter listening on {address}");
    let tokens = [
        (
            "reader",
            issuer
                .token()
                .user("alice")
                .roles(["reader"])
                .org("org7")
                .sign(),
        ),
        (
            "announcer",
            issuer
                .token()
                .user("bob")
                .roles(["announcer"])
                .org("org7")
                .sign(),
        ),
        (
            "nobody",
            issuer
                .token()
                .user("eve")
                .roles(Vec::<String>::new())
                .sign(),
        ),
    ];
    for (role, token) in &tokens {
        println!("TOKEN_{}={token}", role.to_uppercase());
    }
    let proto = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/grpc/hello.proto");
    println!("\n# OK for the reader; Shout is PermissionDenied (7) for it, OK for the announcer");
    for method in ["SayHello", "Shout"] {
        println!(
            "grpcurl -plaintext -proto {proto} -H \"x-auth-token: $TOKEN_READER\" -d '{{\"name\":\"world\"}}' {address} hello.Greeter/{method}"
        );
    }
    println!("# without a token: Unauthenticated (16)");
    println!(
        "grpcurl -plaintext -proto {proto} -d '{{\"name\":\"world\"}}' {address} hello.Greeter/SayHello"
    );
}

fn shout(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    let message = format!("HELLO {}", request.get_ref().name.to_uppercase());
    Ok(Response::new(HelloReply { message }))
}

/// `--port N`, when given: serve there until stopped.
fn port_argument() -> Result<Option<u16>, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(None),
        [flag, port] if flag == "--port" => port
            .parse()
            .map(Some)
            .map_err(|_| format!("--port takes a port number, not `{port}`")),
        _ => Err("usage: grpc [--port N]".into()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = port_argument()?;
    let issuer = TestIssuer::new();
    let enforcer = issuer.enforcer(ACL);
    let rules = GrpcRules::new()
        .method(SAY_HELLO, "hello.say")
        .method(SHOUT, "hello.shout");
    let greeter = GreeterServer { say_hello, shout };

    let listener = TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", port.unwrap_or(0)))?;
    let address = listener.local_addr()?;
    let server = Server::builder()
        .layer(enforcer)
        .layer(rules)
        .add_service(greeter)
        .serve_with_incoming(TcpListenerStream::new(listener));
    if port.is_some() {
        print_how_to_call(&issuer, address);
        tokio::select! {
            served = server => served?,
            _ = tokio::signal::ctrl_c() => {}
        }
        return Ok(());
    }
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
