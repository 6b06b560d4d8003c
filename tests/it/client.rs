//! `Client` against an in-process stand-in of the tokenleader server API, with the shapes and
//! status codes the real server uses (see ../shared/tokenleader-server/README.md).

#![cfg(feature = "client")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use crate::common::stand_in::stand_in;
use tokenleader_rbac::client::{Client, ForwardAuthToken, Network};
use tokenleader_rbac::{AuthToken, client::ClientError};

fn client(base: &str, path: &str) -> Client {
    Client::builder(format!("{base}{path}")).build().unwrap()
}

#[tokio::test]
async fn get_token_gives_the_token_and_the_catalog() {
    let (_, base) = stand_in().await;
    let grant = client(&base, "/ok")
        .get_token("user1", "user1")
        .await
        .unwrap();
    assert!(grant.auth_token.as_str().starts_with("eyJ"));
    let tokenleader = &grant.service_catalog["tokenleader"];
    assert_eq!(tokenleader.id, 1);
    assert_eq!(
        tokenleader.url(Network::External),
        Some("https://tl.example")
    );
    assert_eq!(grant.service_catalog["micros1"].url(Network::Admin), None);
    assert!(
        !format!("{grant:?}").contains(grant.auth_token.as_str()),
        "Debug hides the token"
    );
}

#[tokio::test]
async fn the_servers_200_refusals_become_typed_errors() {
    let (_, base) = stand_in().await;
    let client = client(&base, "/ok");
    assert!(matches!(
        client.get_token("user1", "nope").await,
        Err(ClientError::WrongPassword)
    ));
    assert!(matches!(
        client.get_token("nobody", "x").await,
        Err(ClientError::UnknownUser)
    ));
    assert!(matches!(
        client.get_token("", "x").await,
        Err(ClientError::MissingCredentials)
    ));
}

#[tokio::test]
async fn server_errors_html_and_bad_json_are_reported() {
    let (_, base) = stand_in().await;
    let outcome = |path: &'static str| {
        let client = client(&base, path);
        async move { client.get_token("user1", "user1").await.unwrap_err() }
    };
    assert!(matches!(
        outcome("/html500").await,
        ClientError::HtmlPage { status: 500 }
    ));
    assert!(matches!(
        outcome("/html200").await,
        ClientError::HtmlPage { status: 200 }
    ));
    let busy = outcome("/plain503").await;
    assert!(
        matches!(&busy, ClientError::Status { status: 503, body } if body == "busy"),
        "{busy}"
    );
    assert!(matches!(
        outcome("/badjson").await,
        ClientError::Malformed(_)
    ));
    assert!(matches!(
        outcome("/notjsonshape").await,
        ClientError::Malformed(_)
    ));
    assert!(matches!(
        outcome("/missing").await,
        ClientError::Status { status: 404, .. }
    ));
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (_, base) = stand_in().await;
    let client = Client::builder(format!("{base}/hang"))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    assert!(matches!(
        client.get_token("user1", "user1").await,
        Err(ClientError::Timeout)
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_refused_connection_is_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = Client::builder(format!("http://{address}"))
        .build()
        .unwrap();
    let error = client.get_token("user1", "user1").await.unwrap_err();
    assert!(matches!(error, ClientError::Connect(_)), "{error}");
    // The cause, not reqwest's "error sending request".
    let message = error.to_string();
    assert!(message.contains("Connection refused"), "{message}");
    assert!(!message.contains("error sending request"), "{message}");
}

#[tokio::test]
async fn remote_verification_reads_the_status_of_a_201() {
    let (_, base) = stand_in().await;
    let client = client(&base, "/ok");
    let claims = client
        .verify_token_remote(&AuthToken::new("valid"))
        .await
        .unwrap();
    assert_eq!(claims.identity.username.as_str(), "user1");
    assert_eq!(claims.wfc.org.as_str(), "org1");
    assert!(matches!(
        client.verify_token_remote(&AuthToken::new("expired")).await,
        Err(ClientError::TokenExpired)
    ));
    assert!(matches!(
        client.verify_token_remote(&AuthToken::new("forged")).await,
        Err(ClientError::TokenInvalid)
    ));
}

fn pinned(now: &Arc<AtomicU64>) -> impl Fn() -> std::time::SystemTime + Send + Sync + 'static {
    let now = now.clone();
    move || UNIX_EPOCH + Duration::from_secs(now.load(Ordering::SeqCst))
}

#[tokio::test]
async fn token_is_cached_and_fetched_again_before_it_expires() {
    let (server, base) = stand_in().await;
    let exp = 1_800_003_600;
    let now = Arc::new(AtomicU64::new(1_800_000_000));
    let client = Client::builder(format!("{base}/ok"))
        .user("user1")
        .password("user1")
        .refresh_margin(Duration::from_secs(60))
        .clock(pinned(&now))
        .build()
        .unwrap();
    let first = client.token().await.unwrap();
    assert_eq!(client.token().await.unwrap(), first);
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);

    now.store(exp - 61, Ordering::SeqCst);
    assert_eq!(
        client.token().await.unwrap(),
        first,
        "still outside the margin"
    );
    now.store(exp - 60, Ordering::SeqCst);
    let second = client.token().await.unwrap();
    assert_ne!(second, first, "fetched again within the margin");
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_token_callers_share_one_fetch() {
    let (server, base) = stand_in().await;
    let client = Client::builder(format!("{base}/ok"))
        .user("user1")
        .password("user1")
        .clock(|| UNIX_EPOCH + Duration::from_secs(1_800_000_000))
        .build()
        .unwrap();
    let callers: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn({
                let client = client.clone();
                async move { client.token().await.unwrap() }
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(caller.await.unwrap());
    }
    assert!(tokens.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn service_urls_come_from_the_catalog() {
    let (_, base) = stand_in().await;
    let client = Client::builder(format!("{base}/ok"))
        .user("user1")
        .password("user1")
        .build()
        .unwrap();
    assert_eq!(
        client
            .service_url("micros1", Network::Internal)
            .await
            .unwrap(),
        "http://micros1:8080"
    );
    assert_eq!(
        client
            .service_url("tokenleader", Network::Admin)
            .await
            .unwrap(),
        "https://admin.tl.example"
    );
    assert!(matches!(
        client.service_url("micros1", Network::External).await,
        Err(ClientError::NoEndpoint {
            network: Network::External,
            ..
        })
    ));
    assert!(matches!(
        client.service_url("nope", Network::Internal).await,
        Err(ClientError::UnknownService(_))
    ));
}

#[tokio::test]
async fn token_needs_credentials() {
    let (_, base) = stand_in().await;
    assert!(matches!(
        client(&base, "/ok").token().await,
        Err(ClientError::NoCredentials)
    ));
}

#[tokio::test]
async fn a_token_is_forwarded_as_x_auth_token() {
    let (_, base) = stand_in().await;
    let token = AuthToken::new("abc.def.ghi");
    let echoed = reqwest::Client::new()
        .get(format!("{base}/ok/echo"))
        .auth_token(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(echoed, "abc.def.ghi");
    assert_eq!(format!("{token:?}"), "AuthToken(<redacted>)");
}

#[test]
fn client_config_gives_url_user_and_ssl_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client_configs.yml");
    std::fs::write(
        &path,
        "user_auth_info_from: file\ntl_public_key: ssh-rsa AAAA x\nssl_verify: False\ntl_user: user1\ntl_url: http://127.0.0.1:5001\n",
    )
    .unwrap();
    let builder = Client::from_client_config(&path)
        .unwrap()
        .password("s3cret-pw");
    let debug = format!("{builder:?}");
    assert!(
        debug.contains(r#"base_url: "http://127.0.0.1:5001""#),
        "{debug}"
    );
    assert!(debug.contains(r#"user: Some("user1")"#), "{debug}");
    assert!(debug.contains("ssl_verify: false"), "{debug}");
    assert!(
        !debug.contains("s3cret-pw"),
        "the password never shows: {debug}"
    );
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains("s3cret-pw"));

    std::fs::write(&path, "tl_user: user1\n").unwrap();
    let error = Client::from_client_config(&path).unwrap_err();
    assert!(error.to_string().contains("no `tl_url`"), "{error}");
}

#[test]
fn a_url_without_a_scheme_says_so() {
    let error = Client::builder("127.0.0.1:5001")
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("no http:// or https:// scheme"), "{error}");
    assert!(error.contains("http://127.0.0.1:5001"), "{error}");
    assert!(Client::builder("HTTPS://tl.example").build().is_ok());
}
