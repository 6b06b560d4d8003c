//! `load-peer-jwt-authorizer PUBLIC_KEY.pem PORT`: GET /entries -> "ok" behind jwt-authorizer
//! (RS512, `Authorization: Bearer`), its handler taking the verified claims.

use axum::{routing::get, Router};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
struct User {
    sub: String,
    roles: Vec<String>,
}

async fn entries(JwtClaims(user): JwtClaims<User>) -> &'static str {
    std::hint::black_box((&user.sub, &user.roles));
    "ok"
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [key, port] = args.as_slice() else {
        eprintln!("usage: load-peer-jwt-authorizer PUBLIC_KEY.pem PORT");
        std::process::exit(2);
    };
    let validation = Validation::new().algs(vec![jsonwebtoken::Algorithm::RS512]);
    let authorizer: Authorizer<User> = JwtAuthorizer::from_rsa_pem(key)
        .validation(validation)
        .build()
        .await
        .expect("the public key loads");
    let app = Router::new()
        .route("/entries", get(entries))
        .layer(authorizer.into_layer());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("the port is free");
    axum::serve(listener, app).await.expect("serves");
}
