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
/// The port the server scripts started it on (`TL_PORT`, 5001 by default): the catalog names
/// the server by it.
fn server_port() -> String {
    std::env::var("TL_PORT").unwrap_or_else(|_| "5001".into())
}

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
            .is_some_and(|url| url.ends_with(&format!(":{}", server_port())))
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

/// The virtual environment with the Python client (`start_tokenleader.sh`'s `TL_VENV`).
fn venv() -> PathBuf {
    PathBuf::from(std::env::var("TL_VENV").unwrap_or_else(|_| "/tmp/tlvenv".to_owned()))
}

/// A conf folder like the server's, for `user`, whose stored credentials live in `dir`.
fn conf_with_stored_credentials(dir: &std::path::Path, user: &str) -> PathBuf {
    let original = std::fs::read_to_string(conf_dir().join("client_configs.yml")).unwrap();
    let mut text: String = original
        .lines()
        .filter(|line| {
            ![
                "user_auth_info_file_location:",
                "fernet_key_file:",
                "tl_user:",
            ]
            .iter()
            .any(|key| line.starts_with(key))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    text.push_str(&format!(
        "user_auth_info_file_location: {}\nfernet_key_file: {}\ntl_user: {user}\n",
        dir.join("tlclient/user_settings.ini").display(),
        dir.join("tlclient/fernetkeys").display()
    ));
    let config = dir.join("client_configs.yml");
    std::fs::write(&config, text).unwrap();
    config
}

#[tokio::test]
#[ignore = "needs a tokenleader server: TOKENLEADER_URL"]
async fn credentials_stored_by_the_python_tool_log_the_rust_client_in() {
    let dir = tempfile::tempdir().unwrap();
    let config = conf_with_stored_credentials(dir.path(), "user2");
    let status = std::process::Command::new(venv().join("bin/tokenleader-auth"))
        .args(["-p", "user2"])
        .env("TOKENLEADER_CONF_DIR", dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(dir.path().join("tlclient/fernetkeys").exists());

    let client = Client::from_client_config(&config)
        .unwrap()
        .build()
        .unwrap();
    let token = client.token().await.unwrap();
    let enforcer = Enforcer::from_client_config(conf_dir().join("client_configs.yml")).unwrap();
    let claims = enforcer.verify(token.as_str()).unwrap();
    assert_eq!(&*claims.identity.username, "user2");
}

#[cfg(feature = "cli")]
#[tokio::test]
#[ignore = "needs a tokenleader server: TOKENLEADER_URL"]
async fn credentials_stored_by_our_cli_are_read_by_the_python_client() {
    let dir = tempfile::tempdir().unwrap();
    let config = conf_with_stored_credentials(dir.path(), "user3");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tokenleader-rbac"))
        .args(["credentials", "store", "--config"])
        .arg(&config)
        .env("TL_PASSWORD", "user3")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    let python = r#"
from tokenleaderclient.configs.config_handler import Configs
from tokenleaderclient.client.client import Client
configs = Configs()
configs.decrypt_password()
print(configs.tl_password)
print(Client(configs).get_token()["status"])
"#;
    let output = std::process::Command::new(venv().join("bin/python"))
        .args(["-c", python])
        .env("TOKENLEADER_CONF_DIR", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["user3", "success"]);
}

/// The server's own admin tool, run on its database as `start_tokenleader.sh` runs it.
fn adminops(args: &[&str]) {
    let run_dir = std::env::var("TL_RUN_DIR").unwrap_or_else(|_| "/tmp/tlrun".to_owned());
    let path = format!(
        "{}:{}",
        venv().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = std::process::Command::new(venv().join("bin/adminops"))
        .args(args)
        .current_dir(&run_dir)
        .env("TOKENLEADER_CONF_DIR", conf_dir())
        .env("PATH", path)
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("has been registered"),
        "adminops {args:?}: {output:?}"
    );
}

#[tokio::test]
#[ignore = "needs a tokenleader server: TOKENLEADER_URL"]
async fn the_users_api_of_the_real_server() {
    let as_user = |name: &str| {
        Client::builder(server_url())
            .user(name)
            .password(name)
            .build()
            .unwrap()
    };
    let admin = as_user("admin");
    let mut names: Vec<String> = admin
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|user| user.username)
        .collect();
    names.sort();
    assert_eq!(names, ["admin", "user1", "user2", "user3"]);

    // The server's map grants the listing to role1, not to role2 (user3's only role).
    let refused = as_user("user3").list_users().await;
    assert!(
        matches!(refused, Err(ClientError::Forbidden)),
        "{refused:?}"
    );

    let user1 = admin.user("user1").await.unwrap().unwrap();
    assert_eq!(&*user1.wfc.department, "dept1");
    assert_eq!(admin.user("nobody").await.unwrap(), None);

    // A wfc belongs to one user on the 1.8 server (and an org, ou, dept to one wfc): a new
    // user on wfc1 would take it from user1. So the new user gets a chain of its own.
    let name = format!("rust-interop-{}", std::process::id());
    let [org, ou, dept, wfc] = ["org", "ou", "dept", "wfc"].map(|kind| format!("{kind}-{name}"));
    adminops(&["add", "org", "-n", &org]);
    adminops(&["add", "ou", "-n", &ou]);
    adminops(&["add", "dept", "-n", &dept]);
    adminops(&[
        "addwfc",
        "-n",
        &wfc,
        "--wfcorg",
        &org,
        "--wfcou",
        &ou,
        "--wfcdept",
        &dept,
    ]);
    let new_user = tokenleader_rbac::client::NewUser::new(
        &name,
        format!("{name}@example"),
        "pw-interop",
        &wfc,
        ["role1"],
    );
    admin.add_user(&new_user).await.unwrap();
    let again = admin.add_user(&new_user).await;
    assert!(
        matches!(again, Err(ClientError::UserNotAdded { .. })),
        "{again:?}"
    );
    let grant = Client::builder(server_url())
        .build()
        .unwrap()
        .get_token(&name, "pw-interop")
        .await
        .unwrap();
    let enforcer = Enforcer::from_client_config(conf_dir().join("client_configs.yml")).unwrap();
    let claims = enforcer.verify(grant.auth_token.as_str()).unwrap();
    assert_eq!(&*claims.identity.username, name);
    assert_eq!(&*claims.identity.roles, ["role1"]);

    admin.delete_user(&name).await.unwrap();
    assert!(matches!(
        admin.delete_user(&name).await,
        Err(ClientError::NoSuchUser(_))
    ));
    assert_eq!(admin.list_users().await.unwrap().len(), 4);
}

/// An enforcer without the server's key asks `verify_token` and decides every user's token
/// as the local enforcer does.
#[cfg(feature = "introspection")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a tokenleader server: TOKENLEADER_URL"]
async fn asking_the_server_decides_as_the_local_key_does() {
    use tokenleader_rbac::introspection::Introspection;
    let client = Client::builder(server_url()).build().unwrap();
    let local = Enforcer::from_client_config(conf_dir().join("client_configs.yml")).unwrap();
    let remote = Enforcer::builder()
        .introspection(Introspection::tokenleader(server_url()))
        .acl_file(conf_dir().join("role_to_acl_map.yml"))
        .watch(false)
        .build()
        .unwrap();
    let (local_app, remote_app) = (app(local.clone()), app(remote.clone()));
    let mut tokens = Vec::new();
    for user in ["user1", "user2", "user3", "admin"] {
        tokens.push(
            client
                .get_token(user, user)
                .await
                .unwrap()
                .auth_token
                .as_str()
                .to_owned(),
        );
    }
    tokens.push(mint(&user1_claims())); // signed by another key
    tokens.push("not-a-token".to_owned());
    for token in &tokens {
        for path in ["/first", "/third"] {
            let local_answer = get_with_token(&local_app, path, token).await;
            let remote_answer = get_with_token(&remote_app, path, token).await;
            assert_eq!(local_answer.status, remote_answer.status, "{path}");
            assert_eq!(
                local_answer.body["username"],
                remote_answer.body["username"]
            );
            assert_eq!(local_answer.body["wfc"], remote_answer.body["wfc"]);
        }
    }
}
