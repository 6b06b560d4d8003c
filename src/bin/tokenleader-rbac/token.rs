//! `gettoken` and `verify`: tokens from and against a tokenleader server.

use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use tokenleader_rbac::client::{Client, ClientError};
use tokenleader_rbac::{AclMap, AuthToken, Enforcer, PublicKey};

use crate::{Failure, error, negative};

fn client(url: &str, insecure: bool) -> Result<Client, Failure> {
    if insecure {
        eprintln!("tokenleader-rbac: warning: TLS certificate verification is off");
    }
    Client::builder(url)
        .ssl_verify(!insecure)
        .build()
        .map_err(error)
}

pub(crate) async fn gettoken(
    url: &str,
    insecure: bool,
    user: &str,
    json: bool,
) -> Result<(), Failure> {
    let password = match std::env::var("TL_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| error(format!("cannot read the password from standard input: {e}")))?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.is_empty() {
        return Err(error(
            "no password: set TL_PASSWORD or give it on standard input",
        ));
    }
    let grant = client(url, insecure)?
        .get_token(user, &password)
        .await
        .map_err(error)?;
    if json {
        let out = serde_json::json!({
            "auth_token": grant.auth_token.as_str(),
            "service_catalog": grant.service_catalog,
        });
        println!("{out:#}");
    } else {
        println!("{}", grant.auth_token.as_str());
    }
    Ok(())
}

pub(crate) fn read_token(argument: &str) -> Result<String, Failure> {
    if argument != "-" {
        return Ok(argument.trim().to_owned());
    }
    let mut token = String::new();
    std::io::stdin()
        .read_to_string(&mut token)
        .map_err(|e| error(format!("cannot read the token from standard input: {e}")))?;
    Ok(token.trim().to_owned())
}

pub(crate) fn verify_local(token: &str, key: &PathBuf, at: Option<u64>) -> Result<(), Failure> {
    let key = PublicKey::from_file(key).map_err(error)?;
    let mut builder = Enforcer::builder()
        .public_key(key)
        // Only the token is checked here; no rule is decided.
        .acl(AclMap::empty())
        .watch(false)
        .token_cache(0);
    if let Some(at) = at {
        builder = builder.clock(move || UNIX_EPOCH + Duration::from_secs(at));
    }
    let enforcer = builder.build().map_err(error)?;
    let claims = enforcer
        .verify(token)
        .map_err(|e| negative(format!("invalid: {e}")))?;
    print_json(&*claims)
}

pub(crate) async fn verify_remote(token: &str, url: &str, insecure: bool) -> Result<(), Failure> {
    let claims = client(url, insecure)?
        .verify_token_remote(&AuthToken::new(token))
        .await
        .map_err(|e| match e {
            ClientError::TokenExpired | ClientError::TokenInvalid => {
                negative(format!("invalid: {e}"))
            }
            other => error(other),
        })?;
    print_json(&claims)
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(error)?;
    println!("{text}");
    Ok(())
}
