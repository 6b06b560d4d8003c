//! `gettoken` and `verify`: tokens from and against a tokenleader server.

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use tokenleader_rbac::client::{Client, ClientBuilder, ClientError};
use tokenleader_rbac::{AclMap, Algorithm, AuthToken, Enforcer, PublicKey};

use crate::{Failure, Server, error, negative};

/// Where a local verification finds the key.
pub(crate) enum KeySource {
    File(PathBuf),
    ClientConfig(PathBuf),
}

/// A client for `server`: from its flags, or its `client_configs.yml`.
fn client(server: &Server) -> Result<ClientBuilder, Failure> {
    let builder = match (&server.config, &server.url) {
        (Some(config), url) => {
            let builder = Client::from_client_config(config).map_err(error)?;
            match url {
                Some(url) => builder.base_url(url),
                None => builder,
            }
        }
        (None, Some(url)) => Client::builder(url),
        (None, None) => return Err(error("give --url URL, or --config client_configs.yml")),
    };
    if server.insecure {
        eprintln!("tokenleader-rbac: warning: TLS certificate verification is off");
        return Ok(builder.ssl_verify(false));
    }
    Ok(builder)
}

/// The password: `TL_PASSWORD`, else a prompt on standard error with the terminal's echo
/// off, else (a pipe) the first line of standard input.
fn password() -> Result<String, Failure> {
    if let Ok(password) = std::env::var("TL_PASSWORD") {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        eprint!("Password: ");
        return rpassword::read_password()
            .map_err(|e| error(format!("cannot read the password: {e}")));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| error(format!("cannot read the password from standard input: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub(crate) async fn gettoken(
    server: &Server,
    user: Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let builder = client(server)?;
    let Some(user) = user.or_else(|| builder.configured_user().map(str::to_owned)) else {
        return Err(error("no user: give --user, or `tl_user` in --config"));
    };
    let password = password()?;
    if password.is_empty() {
        return Err(error(
            "no password: set TL_PASSWORD, type it at the prompt, or pipe it on standard input",
        ));
    }
    let grant = builder
        .build()
        .map_err(error)?
        .get_token(&user, &password)
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

pub(crate) fn verify_local(
    token: &str,
    key: KeySource,
    at: Option<u64>,
    raw: bool,
) -> Result<(), Failure> {
    let builder = Enforcer::builder()
        // Only the token is checked here; no rule is decided.
        .acl(AclMap::empty())
        .watch(false)
        .token_cache(0);
    let mut builder = match key {
        KeySource::File(path) => builder.public_key(PublicKey::from_file(path).map_err(error)?),
        KeySource::ClientConfig(path) => builder.client_config(path),
    };
    if let Some(at) = at {
        builder = builder.clock(move || UNIX_EPOCH + Duration::from_secs(at));
    }
    let enforcer = builder.build().map_err(error)?;
    let claims = enforcer
        .verify(token)
        .map_err(|e| negative(format!("invalid: {e}")))?;
    if !raw {
        return print_json(&*claims);
    }
    let payload = enforcer.verify_jws(token).map_err(error)?;
    let value: serde_json::Value = serde_json::from_slice(&payload).map_err(error)?;
    print_json(&value)
}

/// What a token's header must say for tokenleader to have signed it; checked before the
/// token is sent anywhere (the 1.8 server answers forged headers with an HTML 500).
fn check_header_locally(token: &str) -> Result<(), Failure> {
    let invalid = |why: String| negative(format!("invalid: {why}; not sent to the server"));
    match jsonwebtoken::decode_header(token) {
        Ok(header) if header.alg == Algorithm::RS512 => Ok(()),
        Ok(header) => Err(invalid(format!(
            "the token's algorithm {:?} is not tokenleader's RS512",
            header.alg
        ))),
        Err(error) => Err(invalid(format!("the token's header is refused ({error})"))),
    }
}

pub(crate) async fn verify_remote(token: &str, server: &Server) -> Result<(), Failure> {
    check_header_locally(token)?;
    let claims = client(server)?
        .build()
        .map_err(error)?
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
