//! gRPC: a real tonic server guarded by the enforcer, called by a real tonic client over
//! loopback. Denials are gRPC statuses (16, 7, 14, 13), never HTTP errors; tokens come from
//! the call's metadata.

#[path = "../../examples/grpc/greeter.rs"]
mod greeter;

use greeter::{GreeterClient, GreeterServer, HelloReply, HelloRequest, SAY_HELLO, SHOUT};
use serde_json::json;
use tokenleader_rbac::claims::Claims;
use tokenleader_rbac::dpop::Dpop;
use tokenleader_rbac::layer::{GrpcRequestExt, GrpcRules};
use tokenleader_rbac::revocation::{Revocation, RevocationUnavailable, TokenHash};
use tokenleader_rbac::test_util::{DpopKey, TestIssuer};
use tokenleader_rbac::{Enforcer, EnforcerBuilder, RequireRule};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Response, Status};

const ACL: &str = "\
- name: reader
  allow: [hello.say]
- name: prober
  allow: [/hello.Greeter/Whisper]
";

fn say_hello(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    let who = request.identity()?;
    let wfc = request.wfc()?;
    let message = format!("{} of {}", who.username, wfc.org);
    Ok(Response::new(HelloReply { message }))
}

fn shout(_: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
    Ok(Response::new(HelloReply {
        message: "HELLO".into(),
    }))
}

const GREETER: GreeterServer = GreeterServer { say_hello, shout };

/// Serves `GREETER` behind `enforcer` (if any) and the per-method rules on a loopback
/// port, and returns a client of it.
async fn serve(enforcer: Option<Enforcer>) -> GreeterClient {
    serve_at(enforcer).await.0
}

/// [`serve`], with the server's address.
async fn serve_at(enforcer: Option<Enforcer>) -> (GreeterClient, std::net::SocketAddr) {
    let rules = GrpcRules::new()
        .method(SAY_HELLO, "hello.say")
        .method(SHOUT, "hello.shout");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let incoming = TcpListenerStream::new(listener);
    let mut server = Server::builder()
        .layer(tower::util::option_layer(enforcer))
        .layer(rules);
    tokio::spawn(server.add_service(GREETER).serve_with_incoming(incoming));
    (client_of(address).await, address)
}

async fn client_of(address: std::net::SocketAddr) -> GreeterClient {
    let channel = Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    GreeterClient::new(channel)
}

/// A call of `path` with `token` in the metadata entry `key`.
async fn call(
    client: &mut GreeterClient,
    path: &'static str,
    token: Option<(&'static str, String)>,
) -> Result<String, Status> {
    call_with(client, path, token.as_slice()).await
}

/// A call of `path` with these metadata entries.
async fn call_with(
    client: &mut GreeterClient,
    path: &'static str,
    metadata: &[(&'static str, String)],
) -> Result<String, Status> {
    let mut request = Request::new(HelloRequest {
        name: "world".into(),
    });
    for (key, value) in metadata {
        request.metadata_mut().insert(*key, value.parse().unwrap());
    }
    client
        .call(path, request)
        .await
        .map(|reply| reply.into_inner().message)
}

#[tokio::test]
async fn an_allowed_call_reaches_the_method_with_the_caller() {
    let issuer = TestIssuer::new();
    let mut client = serve(Some(issuer.enforcer(ACL))).await;
    let token = issuer
        .token()
        .user("alice")
        .roles(["reader"])
        .org("org7")
        .sign();

    let by_header = call(
        &mut client,
        SAY_HELLO,
        Some(("x-auth-token", token.clone())),
    )
    .await;
    assert_eq!(by_header.unwrap(), "alice of org7");
    let bearer = Some(("authorization", format!("Bearer {token}")));
    assert_eq!(
        call(&mut client, SAY_HELLO, bearer).await.unwrap(),
        "alice of org7"
    );
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let issuer = TestIssuer::new();
    let mut client = serve(Some(issuer.enforcer(ACL))).await;
    let expired = issuer.token().roles(["reader"]).expired().sign();
    // Another caller's claims under the reader's signature.
    let reader = issuer.token().roles(["reader"]).sign();
    let admin = issuer.token().user("mallory").roles(["admin"]).sign();
    let (signed, signature) = reader.rsplit_once('.').unwrap();
    let (claims, _) = admin.rsplit_once('.').unwrap();
    assert_ne!(signed, claims);
    let forged = format!("{claims}.{signature}");

    for token in [
        None,
        Some(("x-auth-token", expired)),
        Some(("x-auth-token", forged)),
    ] {
        let status = call(&mut client, SAY_HELLO, token).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
    let status = call(&mut client, SAY_HELLO, None).await.unwrap_err();
    assert!(status.message().starts_with("no token"), "{status:?}");
}

#[tokio::test]
async fn a_method_the_roles_do_not_grant_is_permission_denied() {
    let issuer = TestIssuer::new();
    let mut client = serve(Some(issuer.enforcer(ACL))).await;
    let token = issuer.token().roles(["reader"]).sign();

    let status = call(&mut client, SHOUT, Some(("x-auth-token", token)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        status.message(),
        "none of your roles grants rule `hello.shout`"
    );
}

#[tokio::test]
async fn a_method_without_a_rule_requires_the_rule_named_by_its_path() {
    let issuer = TestIssuer::new();
    let mut client = serve(Some(issuer.enforcer(ACL))).await;
    let reader = issuer.token().roles(["reader"]).sign();
    let prober = issuer.token().roles(["prober"]).sign();
    let whisper = "/hello.Greeter/Whisper";

    let status = call(&mut client, whisper, Some(("x-auth-token", reader)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // Granted by its path, the call reaches the service, which has no such method.
    let status = call(&mut client, whisper, Some(("x-auth-token", prober)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
}

/// An enforcer of `issuer` with the map `ACL`, configured further by `configure`.
fn enforcer_with(
    issuer: &TestIssuer,
    configure: impl FnOnce(EnforcerBuilder) -> EnforcerBuilder,
) -> Enforcer {
    let acl = tokenleader_rbac::AclMap::from_yaml_str(ACL).unwrap();
    configure(issuer.enforcer_builder().acl(acl))
        .build()
        .unwrap()
}

/// A revocation store that cannot answer.
struct Down;

impl Revocation for Down {
    fn is_revoked(&self, _: &Claims, _: &str, _: u64) -> Result<bool, RevocationUnavailable> {
        Err(RevocationUnavailable)
    }
    fn revoke_token(&self, _: TokenHash, _: u64, _: u64) {}
    fn revoke_user_before(&self, _: &str, _: u64, _: u64, _: u64) {}
}

#[tokio::test]
async fn an_unavailable_store_is_unavailable_and_a_missing_enforcer_internal() {
    let issuer = TestIssuer::new();
    let enforcer = enforcer_with(&issuer, |builder| builder.revocation(Down));
    let mut client = serve(Some(enforcer)).await;
    let token = issuer.token().roles(["reader"]).sign();
    let status = call(
        &mut client,
        SAY_HELLO,
        Some(("x-auth-token", token.clone())),
    )
    .await;
    assert_eq!(status.unwrap_err().code(), Code::Unavailable);

    let mut unguarded = serve(None).await;
    let status = call(&mut unguarded, SAY_HELLO, Some(("x-auth-token", token))).await;
    assert_eq!(status.unwrap_err().code(), Code::Internal);
}

#[tokio::test]
async fn require_rule_guards_a_whole_tonic_server() {
    let issuer = TestIssuer::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = Server::builder()
        .layer(issuer.enforcer(ACL))
        .layer(RequireRule("hello.say"))
        .add_service(GREETER)
        .serve_with_incoming(TcpListenerStream::new(listener));
    tokio::spawn(server);
    let mut client = client_of(address).await;

    let reader = issuer
        .token()
        .user("bob")
        .roles(["reader"])
        .org("org2")
        .sign();
    let prober = issuer.token().roles(["prober"]).sign();
    let shouted = call(&mut client, SHOUT, Some(("x-auth-token", reader))).await;
    assert_eq!(shouted.unwrap(), "HELLO");
    let status = call(&mut client, SAY_HELLO, Some(("x-auth-token", prober)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn an_address_bound_token_is_checked_against_the_grpc_peer() {
    let issuer = TestIssuer::new();
    let enforcer = enforcer_with(&issuer, |builder| builder.bind_to_ip("/ip"));
    let mut client = serve(Some(enforcer)).await;
    let here = issuer
        .token()
        .roles(["reader"])
        .claim("ip", json!("127.0.0.1"))
        .sign();
    let elsewhere = issuer
        .token()
        .roles(["reader"])
        .claim("ip", json!("203.0.113.7"))
        .sign();

    assert!(
        call(&mut client, SAY_HELLO, Some(("x-auth-token", here)))
            .await
            .is_ok()
    );
    let status = call(&mut client, SAY_HELLO, Some(("x-auth-token", elsewhere))).await;
    assert_eq!(status.unwrap_err().code(), Code::Unauthenticated);
}

/// DPoP under tonic: the proof signs `POST` and the call's URL, its `:authority` and the
/// method's path; each proof is good once, for its own method.
#[tokio::test]
async fn a_dpop_bound_token_passes_with_a_proof_of_the_call() {
    let issuer = TestIssuer::new();
    let enforcer = enforcer_with(&issuer, |builder| builder.dpop(Dpop::required()));
    let (mut client, address) = serve_at(Some(enforcer)).await;
    let key = DpopKey::es256();
    let token = issuer
        .token()
        .user("carol")
        .roles(["reader"])
        .org("org3")
        .bound_to(&key)
        .sign();
    let with_proof = |proof: String| [("authorization", format!("DPoP {token}")), ("dpop", proof)];
    let proof_of = |path: &str| {
        key.proof("POST", &format!("http://{address}{path}"))
            .token(&token)
            .sign()
    };

    let proof = proof_of(SAY_HELLO);
    let reply = call_with(&mut client, SAY_HELLO, &with_proof(proof.clone())).await;
    assert_eq!(reply.unwrap(), "carol of org3");
    let refused = [
        with_proof(proof).to_vec(),
        with_proof(proof_of(SHOUT)).to_vec(),
        vec![("authorization", format!("Bearer {token}"))],
        vec![("authorization", format!("DPoP {token}"))],
    ];
    for metadata in refused {
        let status = call_with(&mut client, SAY_HELLO, &metadata)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
}

/// The example could not be called from outside: it bound port 0, printed no token and
/// stopped after calling itself. With `--port` it serves, prints a token for each role, and is
/// called here as a separate process, as grpcurl or a generated client would call it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_serves_callers_from_outside() {
    use std::io::BufRead;
    // `cargo test` builds the examples beside the test binaries.
    let deps = std::env::current_exe().unwrap();
    let example = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/grpc");
    let mut child = std::process::Command::new(&example)
        .args(["--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", example.display()));
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let _child = Kill(child);
    // The example prints more after the tokens: the rest is read to its end, so that its
    // stdout stays open while it serves.
    let (found, found_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut address = None;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("hello.Greeter listening on ") {
                address = rest.parse::<std::net::SocketAddr>().ok();
            }
            if let Some(token) = line.strip_prefix("TOKEN_READER=") {
                let _ = found.send((address, token.to_owned()));
            }
        }
    });
    let (address, reader) = tokio::task::spawn_blocking(move || {
        found_rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the example prints its address and tokens")
    })
    .await
    .unwrap();
    let address = address.expect("the address before the tokens");
    let mut client = client_of(address).await;
    let token = Some(("x-auth-token", reader));
    let hello = call(&mut client, SAY_HELLO, token.clone()).await.unwrap();
    assert_eq!(hello, "hello world, from alice of org7");
    let shout = call(&mut client, SHOUT, token).await.unwrap_err();
    assert_eq!(shout.code(), tonic::Code::PermissionDenied);
    let anonymous = call(&mut client, SAY_HELLO, None).await.unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
}
