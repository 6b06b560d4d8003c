//! Certificate-bound tokens over a real TLS handshake on loopback: the example's accept loop
//! (rustls) with certificates made in the test, and reqwest as the client.

#[path = "../../examples/mtls/main.rs"]
#[allow(dead_code)]
mod example;

use http::StatusCode;
use tokenleader_rbac::mtls::ClientCertificate;
use tokenleader_rbac::test_util::TestIssuer;

use example::pki::{ClientIdentity, Pki};

/// A client that trusts the CA, presenting `identity` when given.
fn client(pki: &Pki, identity: Option<&ClientIdentity>) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap();
    let mut builder = reqwest::Client::builder().tls_certs_only([ca]);
    if let Some(identity) = identity {
        let pem = format!("{}{}", identity.cert_pem, identity.key_pem);
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_token_passes_only_over_a_connection_with_its_certificate() {
    let pki = Pki::generate().unwrap();
    let alice = pki.client("alice.example").unwrap();
    let mallory = pki.client("mallory.example").unwrap();
    let issuer = TestIssuer::new();
    let app = tokio::task::spawn_blocking({
        let issuer = issuer.clone();
        move || example::router(&issuer).unwrap()
    })
    .await
    .unwrap();
    let config = example::tls::server_config(
        pki.server_chain.clone(),
        pki.server_key.clone_key(),
        pki.ca_der.clone(),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(example::tls::serve(listener, config, app));
    let url = format!("https://localhost:{port}/entries");
    let bound = ClientCertificate::from_der(alice.der.clone());
    let token = issuer
        .token()
        .user("alice")
        .roles(["reader"])
        .bound_to_certificate(&bound)
        .sign();

    let call = |client: reqwest::Client, token: String| {
        let url = url.clone();
        async move {
            let response = client.get(url).bearer_auth(token).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, body) = call(client(&pki, Some(&alice)), token.clone()).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "entries for alice\n")
    );
    // Another client of the same CA, and no client certificate at all.
    let (status, body) = call(client(&pki, Some(&mallory)), token.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body.contains("bound to another client certificate"),
        "{body}"
    );
    let (status, body) = call(client(&pki, None), token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("presented none"), "{body}");
    // A token bound to nothing needs no certificate.
    let plain = issuer.token().roles(["reader"]).sign();
    let (status, _) = call(client(&pki, None), plain).await;
    assert_eq!(status, StatusCode::OK);
}
