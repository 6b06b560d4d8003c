//! Interoperability with the original Python tokenleader server. `.ci/run` starts it with
//! `../shared/tokenleader-server/start_tokenleader.sh` and runs this test with `--ignored`:
//!
//! ```text
//! TOKENLEADER_URL=http://127.0.0.1:5001 TL_RUN_DIR=/tmp/tlrun \
//!     cargo test --all-features --test interop_real_server -- --ignored
//! ```

#![cfg(feature = "client")]

mod common;

use std::path::PathBuf;

use common::*;
use http::StatusCode;
use tokenleader_rbac::client::{Client, Network};
use tokenleader_rbac::{Enforcer, client::ClientError};

fn server_url() -> String {
    std::env::var("TOKENLEADER_URL")
        .expect("TOKENLEADER_URL: the base URL of a running tokenleader server")
}

/// The server's `conf/` folder: `client_configs.yml` and `role_to_acl_map.yml`.
fn conf_dir() -> PathBuf {
    let run_dir = std::env::var("TL_RUN_DIR").unwrap_or_else(|_| "/tmp/tlrun".to_owned());
    PathBuf::from(run_dir).join("conf")
}

#[tokio::test]
#[ignore = "needs a tokenleader server: TOKENLEADER_URL"]
async fn tokens_of_the_real_server_verify_and_decide() {
    let client = Client::builder(server_url()).build().unwrap();
    let user1 = client.get_token("user1", "user1").await.unwrap();
    let user3 = client.get_token("user3", "user3").await.unwrap();

    let tokenleader = &user1.service_catalog["tokenleader"];
    assert_eq!(tokenleader.name, "tokenleader");
    assert!(
        tokenleader
            .url(Network::Internal)
            .is_some_and(|url| url.ends_with(":5001"))
    );

    // The key and the ACL map exactly as the Python client reads them.
    let enforcer = Enforcer::from_client_config(conf_dir().join("client_configs.yml")).unwrap();
    let app = app(enforcer.clone());

    let answer = get_with_token(&app, "/first", user1.auth_token.as_str()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["username"], "user1");
    assert_eq!(answer.body["wfc"]["name"], "wfc1");
    assert_eq!(answer.body["wfc"]["org"], "org1");
    assert_eq!(answer.body["wfc"]["orgunit"], "ou1");
    assert_eq!(answer.body["wfc"]["department"], "dept1");

    let answer = get_with_token(&app, "/first", user3.auth_token.as_str()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get_with_token(&app, "/third", user3.auth_token.as_str())
            .await
            .status,
        StatusCode::OK
    );

    // The server agrees with the local verification.
    let remote = client.verify_token_remote(&user1.auth_token).await.unwrap();
    assert_eq!(*enforcer.verify(user1.auth_token.as_str()).unwrap(), remote);
}

#[tokio::test]
#[ignore = "needs a tokenleader server: TOKENLEADER_URL"]
async fn the_real_servers_refusals_are_typed() {
    let client = Client::builder(server_url()).build().unwrap();
    assert!(matches!(
        client.get_token("user1", "wrong").await,
        Err(ClientError::WrongPassword)
    ));
    assert!(matches!(
        client.get_token("nobody", "x").await,
        Err(ClientError::UnknownUser)
    ));
    let forged = tokenleader_rbac::AuthToken::new(mint(&user1_claims()));
    assert!(matches!(
        client.verify_token_remote(&forged).await,
        Err(ClientError::TokenInvalid)
    ));
}

#[tokio::test]
#[ignore = "needs a tokenleader server: TOKENLEADER_URL"]
async fn the_client_config_of_the_real_server_is_read() {
    let builder = Client::from_client_config(conf_dir().join("client_configs.yml")).unwrap();
    let client = builder.password("user1").build().unwrap();
    let token = client.token().await.unwrap();
    assert_eq!(token.as_str().split('.').count(), 3);
}
