//! `users list|show|add|delete`: the users API of a tokenleader server.

use std::net::IpAddr;

use tokenleader_rbac::client::{Client, ClientError, NewUser, User};

use crate::token::{Login, logged_in_client, secret};
use crate::{Failure, Server, UsersCommand, error, negative};

pub(crate) async fn users(
    server: &Server,
    login: &Login,
    command: UsersCommand,
) -> Result<(), Failure> {
    let client = logged_in_client(server, login)?;
    match command {
        UsersCommand::List { json } => {
            let users = client.list_users().await.map_err(refusal)?;
            print_users(&users, json)
        }
        UsersCommand::Show { name, json } => match client.user(&name).await.map_err(refusal)? {
            Some(user) => print_users(&[user], json),
            None => Err(negative(format!("no user `{name}`"))),
        },
        UsersCommand::Add {
            name,
            email,
            wfc,
            roles,
        } => {
            warn_if_exposed(&client);
            let password = secret("TL_NEW_USER_PASSWORD", "New user's password")?;
            let user = NewUser::new(&name, email, password, wfc, roles);
            client.add_user(&user).await.map_err(refusal)?;
            say!("added user {name}");
            Ok(())
        }
        UsersCommand::Delete { name } => {
            warn_if_exposed(&client);
            client.delete_user(&name).await.map_err(refusal)?;
            say!("deleted user {name}");
            Ok(())
        }
    }
}

/// The server's refusals are negative answers (exit 1); everything else is an error.
fn refusal(e: ClientError) -> Failure {
    match e {
        ClientError::Forbidden | ClientError::NoSuchUser(_) | ClientError::UserNotAdded { .. } => {
            negative(e)
        }
        other => error(other),
    }
}

/// The 1.8 server lets anybody add and delete users: over plain HTTP to another host, so can
/// anybody on the way.
fn warn_if_exposed(client: &Client) {
    let Ok(url) = reqwest::Url::parse(client.base_url()) else {
        return;
    };
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if url.scheme() == "http" && !loopback {
        eprintln!(
            "tokenleader-rbac: warning: {} is plain HTTP to another host, and the tokenleader 1.8 server lets anyone add and delete users: put it behind a proxy that checks the caller",
            client.base_url()
        );
    }
}

fn print_users(users: &[User], json: bool) -> Result<(), Failure> {
    if json {
        let text = serde_json::to_string_pretty(users).map_err(error)?;
        say!("{text}");
        return Ok(());
    }
    let header = [
        "ID",
        "USER",
        "EMAIL",
        "ROLES",
        "WFC",
        "ORG",
        "ORGUNIT",
        "DEPARTMENT",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 8]> = users
        .iter()
        .map(|user| {
            [
                user.id.to_string(),
                user.username.clone(),
                user.email.clone(),
                user.roles.join(","),
                user.wfc.name.to_string(),
                user.wfc.org.to_string(),
                user.wfc.orgunit.to_string(),
                user.wfc.department.to_string(),
            ]
        })
        .collect();
    let mut widths = [0; 8];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        say!("{}", cells.join("  ").trim_end());
    }
    Ok(())
}
