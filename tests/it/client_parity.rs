//! The Python client's parity features against the stand-in server: stored credentials read
//! from `client_configs.yml`, `domain` and `otp` on login, and the users API.

#![cfg(feature = "client")]

use std::path::Path;
use std::sync::Arc;

use crate::common::stand_in::{StandIn, stand_in};
use tokenleader_rbac::client::{Client, ClientError, CredentialsError, NewUser, StoredCredentials};

fn logged_in(base: &str, user: &str) -> Client {
    Client::builder(format!("{base}/ok"))
        .user(user)
        .password(user)
        .build()
        .unwrap()
}

/// A `client_configs.yml` for the stand-in, naming stored credentials under `dir`.
fn client_config(dir: &Path, base: &str, from: &str) -> std::path::PathBuf {
    let path = dir.join("client_configs.yml");
    let text = format!(
        "user_auth_info_from: {from}\n\
         user_auth_info_file_location: {}\n\
         fernet_key_file: {}\n\
         tl_url: {base}/ok\n\
         tl_user: user1\n\
         ssl_verify: False\n",
        dir.join("tlclient/user_settings.ini").display(),
        dir.join("tlclient/fernetkeys").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn from_client_config_logs_in_with_the_stored_password() {
    let (server, base) = stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    let config = client_config(dir.path(), &base, "file");
    let stored = StoredCredentials::from_client_config(&config)
        .unwrap()
        .unwrap();
    stored.store_password("user1").unwrap();

    let client = Client::from_client_config(&config)
        .unwrap()
        .build()
        .unwrap();
    assert!(client.token().await.unwrap().as_str().starts_with("eyJ"));
    let login = server.last_login.lock().unwrap().clone();
    assert_eq!(login["username"], "user1");

    // A password given explicitly wins over the stored one.
    let client = Client::from_client_config(&config)
        .unwrap()
        .password("wrong")
        .build()
        .unwrap();
    assert!(matches!(
        client.token().await,
        Err(ClientError::WrongPassword)
    ));
}

#[tokio::test]
async fn stored_credentials_that_cannot_be_read_fail_the_build() {
    let (_, base) = stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    let config = client_config(dir.path(), &base, "file");
    let error = Client::from_client_config(&config)
        .unwrap()
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            ClientError::Credentials(CredentialsError::MissingKeyFile { .. })
        ),
        "{error}"
    );
    assert!(error.to_string().contains("fernetkeys"), "{error}");

    let config = client_config(dir.path(), &base, "vault");
    let error = Client::from_client_config(&config)
        .unwrap()
        .build()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`user_auth_info_from: vault` is not supported"),
        "{error}"
    );

    std::fs::write(
        &config,
        format!("user_auth_info_from: file\ntl_url: {base}/ok\n"),
    )
    .unwrap();
    let error = Client::from_client_config(&config)
        .unwrap()
        .build()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("needs `user_auth_info_file_location`"),
        "{error}"
    );
    // A password given explicitly needs no stored credentials.
    Client::from_client_config(&config)
        .unwrap()
        .password("pw")
        .build()
        .unwrap();
}

#[tokio::test]
async fn domain_and_otp_are_sent_only_when_set() {
    let (server, base) = stand_in().await;
    let last_login = |server: &Arc<StandIn>| server.last_login.lock().unwrap().clone();

    logged_in(&base, "user1").token().await.unwrap();
    let login = last_login(&server);
    assert_eq!(login.as_object().unwrap().len(), 2, "{login}");

    let client = Client::builder(format!("{base}/ok"))
        .user("user1")
        .password("user1")
        .domain("example")
        .otp("123456")
        .build()
        .unwrap();
    assert!(
        !format!("{client:?}").contains("123456"),
        "Debug hides the otp"
    );
    client.token().await.unwrap();
    let login = last_login(&server);
    assert_eq!(login["domain"], "example");
    assert_eq!(login["otp"], "123456");

    let client = Client::builder(format!("{base}/ok"))
        .domain("example")
        .build()
        .unwrap();
    client.get_token("user1", "user1").await.unwrap();
    let login = last_login(&server);
    assert_eq!(login["domain"], "example");
    assert!(login.get("otp").is_none(), "{login}");
}

#[tokio::test]
async fn list_users_gives_typed_users_or_a_typed_refusal() {
    let (_, base) = stand_in().await;
    let users = logged_in(&base, "user1").list_users().await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["user1", "user3"]);
    assert_eq!(&*users[0].wfc.org, "org1");
    assert_eq!(users[0].roles, ["role1"]);

    let refused = logged_in(&base, "user3").list_users().await;
    assert!(
        matches!(refused, Err(ClientError::Forbidden)),
        "{refused:?}"
    );

    let anonymous = Client::builder(format!("{base}/ok")).build().unwrap();
    assert!(matches!(
        anonymous.list_users().await,
        Err(ClientError::NoCredentials)
    ));
}

#[tokio::test]
async fn user_finds_one_user_with_its_name_encoded() {
    let (server, base) = stand_in().await;
    let client = logged_in(&base, "user1");
    assert_eq!(
        client.user("user1").await.unwrap().unwrap().username,
        "user1"
    );
    assert_eq!(
        client.user("a b/c").await.unwrap().unwrap().username,
        "a b/c"
    );
    assert_eq!(client.user("nobody").await.unwrap(), None);
    let calls = server.users_calls.lock().unwrap().clone();
    assert_eq!(calls, ["show user1", "show a b/c", "show nobody"]);
}

#[tokio::test]
async fn add_and_delete_users_with_the_servers_answers_typed() {
    let (server, base) = stand_in().await;
    let client = logged_in(&base, "user1");
    let user5 = NewUser::new("user5", "user5@example", "pw5", "wfc1", ["role1", "role2"]);
    assert!(
        !format!("{user5:?}").contains("pw5"),
        "Debug hides the password"
    );
    client.add_user(&user5).await.unwrap();
    let sent = server.users_calls.lock().unwrap()[0].clone();
    assert_eq!(
        sent,
        serde_json::json!({"name": "user5", "email": "user5@example", "password": "pw5",
            "wfc": "wfc1", "roles": ["role1", "role2"]})
    );

    let exists = client
        .add_user(&NewUser::new("user1", "x", "pw", "wfc1", ["role1"]))
        .await
        .unwrap_err();
    assert!(
        matches!(exists, ClientError::UserNotAdded { .. }),
        "{exists}"
    );
    assert!(!exists.to_string().contains("pbkdf2"), "{exists}");
    let aborted = client
        .add_user(&NewUser::new("user6", "x", "pw", "nowfc", ["role1"]))
        .await
        .unwrap_err();
    assert!(
        aborted.to_string().contains("registration aborted"),
        "{aborted}"
    );

    client.delete_user("user5").await.unwrap();
    assert!(matches!(
        client.delete_user("ghost").await,
        Err(ClientError::NoSuchUser(name)) if name == "ghost"
    ));
}
