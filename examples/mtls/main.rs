//! A service that terminates TLS itself and takes certificate-bound tokens (RFC 8705): a
//! token whose `cnf["x5t#S256"]` names a client certificate passes only over a connection
//! made with that certificate.
//!
//! `cargo run --example mtls --features test-util` makes a throwaway CA, server and client
//! certificate in a temporary folder, mints a token bound to the client certificate with
//! the test kit, prints the `curl` commands to try, and serves `https://localhost:8443`.

pub mod pki;
pub mod tls;

use axum::Router;
use axum::routing::get;
use tokenleader_rbac::mtls::{CertificateSource, ClientCertificate};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{AclMap, Enforcer, Identity, RequireRule};

const ACL: &str = "- name: reader\n  allow: [entries.list]\n";

async fn entries(identity: Identity) -> String {
    format!("entries for {}\n", identity.username)
}

/// The service: `/entries` for role `reader`, certificates from the TLS connection.
pub fn router(issuer: &TestIssuer) -> Result<Router, Box<dyn std::error::Error + Send + Sync>> {
    let enforcer = Enforcer::builder()
        .public_key(issuer.public_key())
        .client_certificates(CertificateSource::Tls)
        .acl(AclMap::from_yaml_str(ACL)?)
        .build()?;
    Ok(Router::new()
        .route(
            "/entries",
            get(entries).route_layer(RequireRule("entries.list")),
        )
        .layer(enforcer))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let folder = std::env::temp_dir().join("tokenleader-rbac-mtls-example");
    std::fs::create_dir_all(&folder)?;
    let pki = pki::Pki::generate()?;
    let client = pki.client("client.example")?;
    std::fs::write(folder.join("ca.pem"), &pki.ca_pem)?;
    std::fs::write(folder.join("client.pem"), &client.cert_pem)?;
    std::fs::write(folder.join("client-key.pem"), &client.key_pem)?;

    let issuer = TestIssuer::new();
    let app = router(&issuer)?;
    let bound = ClientCertificate::from_der(client.der);
    let token = issuer
        .token()
        .user("alice")
        .roles(["reader"])
        .bound_to_certificate(&bound)
        .sign();

    let config = tls::server_config(pki.server_chain, pki.server_key, pki.ca_der)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
    let dir = folder.display();
    println!("listening on https://localhost:8443");
    println!("with the certificate the token is bound to (200):");
    println!(
        "  curl --cacert {dir}/ca.pem --cert {dir}/client.pem --key {dir}/client-key.pem -H 'Authorization: Bearer {token}' https://localhost:8443/entries"
    );
    println!("without it (401):");
    println!(
        "  curl --cacert {dir}/ca.pem -H 'Authorization: Bearer {token}' https://localhost:8443/entries"
    );
    tls::serve(listener, config, app).await?;
    Ok(())
}
