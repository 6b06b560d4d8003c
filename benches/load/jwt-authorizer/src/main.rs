//! `load-peer-jwt-authorizer PUBLIC_KEY.pem PORT`: GET /entries -> "ok" behind jwt-authorizer
//! (RS512, `Authorization: Bearer`), its handler taking the verified claims.
//! `load-peer-jwt-authorizer in-process PUBLIC_KEY.pem TOKEN_FILE COUNT`: COUNT requests
//! through the same router in this process, no network (for callgrind, `count.py`).

use axum::{body::Body, http::Request, routing::get, Router};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};
use serde::Deserialize;
use tower::{Service, ServiceExt};

#[derive(Debug, Clone, Deserialize)]
struct User {
    sub: String,
    roles: Vec<String>,
}

async fn entries(JwtClaims(user): JwtClaims<User>) -> &'static str {
    std::hint::black_box((&user.sub, &user.roles));
    "ok"
}

async fn app(key: &str) -> Router {
    let validation = Validation::new().algs(vec![jsonwebtoken::Algorithm::RS512]);
    let authorizer: Authorizer<User> = JwtAuthorizer::from_rsa_pem(key)
        .validation(validation)
        .build()
        .await
        .expect("the public key loads");
    Router::new()
        .route("/entries", get(entries))
        .layer(authorizer.into_layer())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode, key, token, count] if mode == "in-process" => {
            let token = std::fs::read_to_string(token).expect("the token file reads");
            let count = count.parse().expect("COUNT is a number");
            in_process(key, token.trim(), count);
        }
        [key, port] => serve(key, port),
        _ => {
            eprintln!("usage: load-peer-jwt-authorizer PUBLIC_KEY.pem PORT");
            std::process::exit(2);
        }
    }
}

fn in_process(key: &str, token: &str, count: usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let app = app(key).await;
        for _ in 0..count {
            let request = Request::get("/entries")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .expect("a request");
            let mut service = app.clone();
            let ready = ServiceExt::<Request<Body>>::ready(&mut service)
                .await
                .expect("ready");
            let response = ready.call(request).await.expect("answered");
            assert_eq!(response.status(), 200);
        }
    });
}

#[tokio::main]
async fn serve(key: &str, port: &str) {
    let app = app(key).await;
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
        .await
        .expect("the port is free");
    axum::serve(listener, app).await.expect("serves");
}
