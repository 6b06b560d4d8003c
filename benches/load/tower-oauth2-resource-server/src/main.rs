//! `load-peer-tower-oauth2-resource-server PUBLIC_KEY.pem KID PORT`: GET /entries -> "ok"
//! behind tower-oauth2-resource-server (RS512, `Authorization: Bearer`, the key found by the
//! token's `kid`), its handler taking the verified claims.

use axum::{Extension, Router, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use serde::Deserialize;
use tower_oauth2_resource_server::server::OAuth2ResourceServer;
use tower_oauth2_resource_server::tenant::TenantConfiguration;

#[derive(Debug, Clone, Deserialize)]
struct User {
    sub: String,
    roles: Vec<String>,
}

async fn entries(Extension(user): Extension<User>) -> &'static str {
    std::hint::black_box((&user.sub, &user.roles));
    "ok"
}

/// The JWK Set of the RSA public key in `pem`, under `kid`.
fn jwks(pem: &str, kid: &str) -> String {
    let key = rsa::RsaPublicKey::from_public_key_pem(pem).expect("an RSA public key in PEM");
    serde_json::json!({"keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS512", "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    }]})
    .to_string()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [key, kid, port] = args.as_slice() else {
        eprintln!("usage: load-peer-tower-oauth2-resource-server PUBLIC_KEY.pem KID PORT");
        std::process::exit(2);
    };
    let pem = std::fs::read_to_string(key).expect("the public key file reads");
    let tenant = TenantConfiguration::static_builder(jwks(&pem, kid))
        .allowed_algorithms(&[Algorithm::RS512])
        .build()
        .expect("the tenant is valid");
    let resource_server = OAuth2ResourceServer::<User>::builder()
        .add_tenant(tenant)
        .build()
        .await
        .expect("the resource server builds");
    let app = Router::new()
        .route("/entries", get(entries))
        .layer(resource_server.into_layer());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("the port is free");
    axum::serve(listener, app).await.expect("serves");
}
