//! The example microservice's curl walk-through, against its router in-process.

#![cfg(feature = "client")]

#[path = "../../examples/microservice/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../../examples/microservice/issuer.rs"]
#[allow(dead_code)]
mod issuer;

use crate::common::{Answer, fixture, send};
use axum::{Router, body::Body, http::Request};
use http::StatusCode;
use serde_json::json;
use tokenleader_rbac::{AclMap, Enforcer, PublicKey};

const BASE: &str = "http://127.0.0.1:5003";

fn example_at(base_url: &str) -> Router {
    let enforcer = Enforcer::builder()
        .public_key(PublicKey::from_pem(issuer::DEMO_PUBLIC_KEY.as_bytes()).unwrap())
        .acl(AclMap::from_yaml_str(app::EXAMPLE_ACL).unwrap())
        .revocation(tokenleader_rbac::revocation::MemoryRevocation::new())
        .build()
        .unwrap();
    let downstream = app::Downstream {
        http: reqwest::Client::new(),
        base_url: base_url.to_owned(),
    };
    app::router(
        enforcer,
        Some(issuer::DemoIssuer::new(base_url.to_owned()).unwrap()),
        downstream,
    )
}

fn example() -> Router {
    example_at(BASE)
}

async fn login(app: &Router, username: &str, password: &str) -> Answer {
    let request = Request::post("/token/gettoken")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"username": username, "password": password}).to_string(),
        ))
        .unwrap();
    send(app, request).await
}

async fn token_of(app: &Router, user: &str) -> String {
    let answer = login(app, user, user).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    answer.body["auth_token"].as_str().unwrap().to_owned()
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    send(app, request.body(body).unwrap()).await
}

#[tokio::test]
async fn gettoken_answers_like_the_real_server() {
    let app = example();
    let answer = login(&app, "user1", "user1").await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.body["status"], "success");
    assert_eq!(answer.body["message"], "success");
    assert_eq!(
        answer.body["service_catalog"]["micros1"]["endpoint_url_internal"],
        BASE
    );
    let token = answer.body["auth_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3);

    let wrong = login(&app, "user1", "nope").await;
    assert_eq!(
        (wrong.status, &wrong.body["status"]),
        (StatusCode::OK, &json!("Wrong Password"))
    );
    let unknown = login(&app, "nobody", "nobody").await;
    assert_eq!(unknown.body["status"], "User not registered");
}

#[tokio::test]
async fn the_curl_walkthrough() {
    let app = example();
    let user1 = token_of(&app, "user1").await;

    let entries = call(&app, "GET", "/entries", Some(&user1), None).await;
    assert_eq!(entries.status, StatusCode::OK);
    assert_eq!(entries.body["org"], "org1");
    let orgs: Vec<&str> = entries.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["org"].as_str().unwrap())
        .collect();
    assert_eq!(orgs, ["org1", "org1"], "only the caller's org");

    let created = call(
        &app,
        "POST",
        "/entries",
        Some(&user1),
        Some(json!({"title": "new"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body, json!({"org": "org1", "title": "new"}));

    let whoami = call(&app, "GET", "/whoami", Some(&user1), None).await;
    assert_eq!(whoami.body["username"], "user1");
    assert_eq!(whoami.body["wfc"]["department"], "dept1");

    assert_eq!(
        call(&app, "GET", "/admin/users", Some(&user1), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let no_token = call(&app, "GET", "/entries", None, None).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
    assert_eq!(no_token.headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn roles_decide_per_route() {
    let app = example();
    let user3 = token_of(&app, "user3").await;
    let entries = call(&app, "GET", "/entries", Some(&user3), None).await;
    assert_eq!(entries.status, StatusCode::OK);
    assert_eq!(entries.body["entries"][0]["org"], "org3");
    let create = call(
        &app,
        "POST",
        "/entries",
        Some(&user3),
        Some(json!({"title": "x"})),
    )
    .await;
    assert_eq!(
        create.status,
        StatusCode::FORBIDDEN,
        "role2 lacks micros1.entries.create"
    );

    let admin = token_of(&app, "admin").await;
    assert_eq!(
        call(&app, "GET", "/admin/users", Some(&admin), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "GET", "/health", None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn report_forwards_the_callers_token_to_the_next_service() {
    // The example listens for real here: /report calls /entries over HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = example_at(&base);
    tokio::spawn({
        let app = app.clone();
        async move { axum::serve(listener, app).await }
    });

    let user1 = token_of(&app, "user1").await;
    let report = call(&app, "GET", "/report", Some(&user1), None).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    assert_eq!(report.body["report_for"], "user1");
    assert_eq!(report.body["downstream_status"], 200);
    assert_eq!(
        report.body["downstream"]["user"], "user1",
        "the next service saw user1's token"
    );
    assert_eq!(report.body["downstream"]["org"], "org1");

    let user3 = token_of(&app, "user3").await;
    assert_eq!(
        call(&app, "GET", "/report", Some(&user3), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn logout_revokes_the_callers_token() {
    let app = example();
    let user1 = token_of(&app, "user1").await;
    assert_eq!(
        call(&app, "GET", "/entries", Some(&user1), None)
            .await
            .status,
        StatusCode::OK
    );
    let logout = call(&app, "POST", "/logout", Some(&user1), None).await;
    assert_eq!(logout.status, StatusCode::OK);
    assert_eq!(logout.body["message"], "user1 logged out");
    let after = call(&app, "GET", "/entries", Some(&user1), None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.body["message"], "token has been revoked");
}

#[test]
fn the_banner_tells_which_role_reaches_which_route_for_the_map_loaded() {
    let example = AclMap::from_yaml_str(app::EXAMPLE_ACL).unwrap();
    let report = app::access_report(&example);
    assert_eq!(
        report,
        [
            "role1: GET /entries, POST /entries, GET /whoami, GET /report, POST /logout",
            "role2: GET /entries, GET /whoami, POST /logout",
            "admin only (no other role grants the rule): GET /admin/users (micros1.users.list)",
        ]
    );
    // tokenleader's own map grants none of the example's rules: the banner says so.
    let real = AclMap::from_yaml_str(&fixture("tokenleader/role_to_acl_map.yml")).unwrap();
    let report = app::access_report(&real);
    assert!(
        report[0].ends_with(": none of this service's routes"),
        "{report:?}"
    );
    assert!(
        report.last().unwrap().starts_with("admin only"),
        "{report:?}"
    );
    assert_eq!(
        report.last().unwrap().matches(" (micros1.").count(),
        app::ROUTES.len()
    );
}

#[test]
fn the_shipped_rules_file_lists_the_example_s_rules() {
    let file = std::fs::read_to_string("examples/microservice/rules.txt").unwrap();
    let listed: Vec<&str> = file
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .collect();
    let routes: Vec<&str> = app::ROUTES.iter().map(|(_, _, rule)| *rule).collect();
    assert_eq!(listed, routes);
}

#[cfg(feature = "utoipa")]
#[tokio::test]
async fn the_openapi_document_names_each_route_s_rule() {
    let app = example();
    let answer = send(
        &app,
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    let document = answer.body;
    for (method, path, rule) in app::ROUTES {
        let operation = &document["paths"][path][method.to_ascii_lowercase()];
        assert_eq!(
            operation["x-tokenleader-rules"],
            json!([rule]),
            "{method} {path}"
        );
        assert_eq!(operation["security"][0]["x_auth_token"], json!([rule]));
        assert_eq!(operation["security"][1]["bearer_token"], json!([rule]));
    }
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["x_auth_token"]["name"], "X-Auth-Token");
    assert_eq!(schemes["bearer_token"]["scheme"], "bearer");
}

/// The example's document had only 401 and 403 answers: no success answer, no request body,
/// no schema for the denial's body, no challenge, no `/health` or `/token/gettoken`.
#[cfg(feature = "utoipa")]
#[tokio::test]
async fn the_openapi_document_is_complete() {
    let request = Request::get("/openapi.json").body(Body::empty()).unwrap();
    let document = send(&example(), request).await.body;
    assert_eq!(document["openapi"], "3.1.0");
    let paths = &document["paths"];
    for (method, path, _) in app::ROUTES {
        let responses = &paths[path][method.to_ascii_lowercase()]["responses"];
        let success = responses
            .as_object()
            .unwrap()
            .keys()
            .any(|status| status.starts_with('2'));
        assert!(success, "{method} {path}: {responses}");
        let forbidden = &responses["403"];
        assert_eq!(
            forbidden["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/TokenleaderDenial"
        );
        assert!(
            forbidden["headers"]["WWW-Authenticate"].is_object(),
            "{method} {path}"
        );
        assert!(
            responses["401"]["headers"]["X-Decision-Id"].is_object(),
            "{method} {path}"
        );
    }
    let body = &paths["/entries"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["required"], json!(["title"]));
    assert!(
        paths["/health"]["get"]["security"].is_null(),
        "no token for /health"
    );
    assert!(paths["/token/gettoken"]["post"]["requestBody"].is_object());
    let denial = &document["components"]["schemas"]["TokenleaderDenial"];
    assert_eq!(denial["required"], json!(["status", "message"]));
    // Every reference resolves.
    let text = document.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{name}"
        );
    }
}

/// `Address already in use` did not say which address: the example names it.
#[test]
fn a_port_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    // `cargo test` builds the examples beside the test binaries.
    let deps = std::env::current_exe().unwrap();
    let example = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/microservice");
    let output = std::process::Command::new(&example)
        .args(["--port", &port])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", example.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}
