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
pub(crate) fn client(server: &Server) -> Result<ClientBuilder, Failure> {
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

/// A secret: the environment variable `variable`, else a prompt on standard error with the
/// terminal's echo off, else (a pipe) the next line of standard input. Never empty.
pub(crate) fn secret(variable: &str, prompt: &str) -> Result<String, Failure> {
    let what = prompt.to_lowercase();
    let secret = if let Ok(secret) = std::env::var(variable) {
        secret
    } else if std::io::stdin().is_terminal() {
        eprint!("{prompt}: ");
        rpassword::read_password().map_err(|e| error(format!("cannot read the {what}: {e}")))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| error(format!("cannot read the {what} from standard input: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if secret.is_empty() {
        return Err(error(format!(
            "no {what}: set {variable}, type it at the prompt, or pipe it on standard input"
        )));
    }
    Ok(secret)
}

/// How the CLI logs in: the user, its password and the optional login fields.
#[derive(clap::Args)]
pub(crate) struct Login {
    /// The user name (default: `tl_user` of --config).
    #[arg(long, env = "TL_USER", global = true)]
    pub(crate) user: Option<String>,
    /// The login domain, sent as `domain`.
    #[arg(long, global = true)]
    pub(crate) domain: Option<String>,
    /// Ask for a one-time password (from TL_OTP, else a prompt, else the next line of
    /// standard input), sent as `otp`.
    #[arg(long, global = true)]
    pub(crate) otp: bool,
}

/// A client that logs in as `login` says. The password: TL_PASSWORD, else the credentials
/// stored as --config names them (`user_auth_info_from: file`), else asked for.
pub(crate) fn logged_in_client(server: &Server, login: &Login) -> Result<Client, Failure> {
    let mut builder = client(server)?;
    let Some(user) = login
        .user
        .clone()
        .or_else(|| builder.configured_user().map(str::to_owned))
    else {
        return Err(error("no user: give --user, or `tl_user` in --config"));
    };
    builder = builder.user(user);
    if std::env::var_os("TL_PASSWORD").is_some() || !builder.has_stored_credentials() {
        builder = builder.password(secret("TL_PASSWORD", "Password")?);
    }
    if let Some(domain) = &login.domain {
        builder = builder.domain(domain);
    }
    if login.otp {
        builder = builder.otp(secret("TL_OTP", "One-time password")?);
    }
    builder.build().map_err(error)
}

pub(crate) async fn gettoken(server: &Server, login: &Login, json: bool) -> Result<(), Failure> {
    let client = logged_in_client(server, login)?;
    let grant = client.grant().await.map_err(error)?;
    if json {
        let out = serde_json::json!({
            "auth_token": grant.auth_token.as_str(),
            "service_catalog": grant.service_catalog,
        });
        say!("{out:#}");
    } else {
        say!("{}", grant.auth_token.as_str());
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

/// How a local verification checks a token.
pub(crate) struct LocalCheck {
    pub(crate) key: KeySource,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) at: Option<u64>,
    pub(crate) raw: bool,
}

pub(crate) fn verify_local(token: &str, check: LocalCheck) -> Result<(), Failure> {
    let LocalCheck {
        key,
        algorithms,
        at,
        raw,
    } = check;
    let builder = Enforcer::builder()
        // Only the token is checked here; no rule is decided.
        .acl(AclMap::empty())
        .algorithms(algorithms)
        .watch(false)
        .token_cache(0);
    let mut builder = match key {
        KeySource::File(path) => builder.public_key(PublicKey::from_file(path).map_err(error)?),
        KeySource::ClientConfig(path) => builder.client_config(path),
    };
    if let Some(at) = at {
        builder = builder.clock(move || UNIX_EPOCH + Duration::from_secs(at));
    }
    // The library's messages name its builder method; here the flag is `--algorithms`.
    let enforcer = builder
        .build()
        .map_err(|e| error(e.to_string().replace("`.algorithms(..)`", "`--algorithms`")))?;
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
        Err(_) => Err(invalid(
            "it is not a JSON Web Token (three base64url parts, a JSON header)".into(),
        )),
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
    say!("{text}");
    Ok(())
}
