//! An HTTP client for a tokenleader server (feature `client`): tokens, remote verification, the
//! service catalog, the users API, stored credentials, and forwarding a caller's token to the
//! next service.
//!
//! ```no_run
//! use tokenleader_rbac::client::{Client, ForwardAuthToken, Network};
//!
//! # async fn demo() -> Result<(), tokenleader_rbac::client::ClientError> {
//! let client = Client::builder("https://tokenleader.example:5001")
//!     .user("user1")
//!     .password(std::env::var("TL_PASSWORD").unwrap_or_default())
//!     .build()?;
//! let token = client.token().await?; // cached, fetched again shortly before it expires
//! let url = client.service_url("micros1", Network::Internal).await?;
//! let answer = reqwest::Client::new().get(format!("{url}/entries")).auth_token(&token).send().await;
//! # Ok(()) }
//! ```
//!
//! The tokenleader server answers some failures with HTTP 200 or 201 and a `status` text; this
//! client reads that text and returns a typed [`ClientError`]. TLS certificates are verified
//! unless [`ClientBuilder::ssl_verify`] turns it off (logged as a warning). Passwords never
//! appear in logs or in `Debug` output, and neither do tokens.
//!
//! The password can come from the files the Python client stores it in ([`credentials`]):
//! [`Client::from_client_config`] reads them when `client_configs.yml` says
//! `user_auth_info_from: file`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde::{Deserialize, Serialize};

mod builder;
mod catalog;
pub mod credentials;
mod error;
pub mod users;

pub use builder::ClientBuilder;
pub use catalog::{Network, Service, ServiceCatalog, TokenGrant};
pub use credentials::{CredentialsError, StoredCredentials};
pub use error::ClientError;
pub use users::{NewUser, User};

use crate::claims::{Claims, claims_from_json};
use crate::token::AuthToken;

/// A password, kept out of `Debug` output and logs.
#[derive(Clone)]
struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A client of one tokenleader server. Cheap to clone: everything is behind one `Arc`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    http: reqwest::Client,
    base_url: String,
    user: Option<String>,
    password: Option<Password>,
    domain: Option<String>,
    otp: Option<Password>,
    refresh_margin: Duration,
    clock: Box<dyn Fn() -> SystemTime + Send + Sync>,
    /// The configured user's grant; the lock makes concurrent `token()` callers share one
    /// fetch.
    cached: tokio::sync::Mutex<Option<CachedGrant>>,
}

struct CachedGrant {
    grant: TokenGrant,
    /// `exp` read from the token (not verified: it only decides when to fetch again).
    expires_at: Option<u64>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("user", &self.inner.user)
            .field("password", &self.inner.password)
            .field("domain", &self.inner.domain)
            .field("otp", &self.inner.otp)
            .field("refresh_margin", &self.inner.refresh_margin)
            .finish_non_exhaustive()
    }
}

/// The body of `POST /token/gettoken`. The Python client always sends `domain` (empty when
/// unset) and `otp` only with a domain; an unset field is left out here.
#[derive(Serialize)]
struct Login<'a> {
    username: &'a str,
    password: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    otp: Option<&'a str>,
}

/// The JSON answer of the server: a `status` text, and more on success.
#[derive(Deserialize)]
struct ServerAnswer {
    status: String,
    message: Option<String>,
    auth_token: Option<String>,
    service_catalog: Option<ServiceCatalog>,
    payload: Option<serde_json::Value>,
}

impl Client {
    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// `POST /token/gettoken`: a token and the service catalog for `user`. The builder's
    /// [`domain`](ClientBuilder::domain) and [`otp`](ClientBuilder::otp) go with it when set.
    pub async fn get_token(&self, user: &str, password: &str) -> Result<TokenGrant, ClientError> {
        let url = format!("{}/token/gettoken", self.inner.base_url);
        let body = Login {
            username: user,
            password,
            domain: self.inner.domain.as_deref(),
            otp: self.inner.otp.as_ref().map(|otp| otp.0.as_str()),
        };
        let response = self
            .inner
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(request_error)?;
        let answer: ServerAnswer = read_json(response).await?;
        match (answer.status.as_str(), answer.auth_token) {
            ("success", Some(token)) => Ok(TokenGrant {
                auth_token: AuthToken::new(token),
                service_catalog: answer.service_catalog.unwrap_or_default(),
            }),
            ("success", None) => Err(ClientError::Malformed(
                "a success without `auth_token`".into(),
            )),
            ("Wrong Password", _) => Err(ClientError::WrongPassword),
            ("User not registered", _) => Err(ClientError::UnknownUser),
            // The 1.8 server sends this one with a trailing space.
            ("missing authentication info ", _) => Err(ClientError::MissingCredentials),
            (status, _) => Err(ClientError::Refused {
                status: status.to_owned(),
                message: answer.message.unwrap_or_default(),
            }),
        }
    }

    /// `GET /token/verify_token`: asks the server whether `token` is valid, and returns its
    /// claims. The server answers 201 even for a refused token; its `status` decides.
    pub async fn verify_token_remote(&self, token: &AuthToken) -> Result<Claims, ClientError> {
        let url = format!("{}/token/verify_token", self.inner.base_url);
        let header = token.header_value().map_err(|_| {
            ClientError::Malformed("the token holds characters no HTTP header can carry".into())
        })?;
        let response = self
            .inner
            .http
            .get(&url)
            .header("X-Auth-Token", header)
            .send()
            .await
            .map_err(request_error)?;
        let answer: ServerAnswer = read_json(response).await?;
        match answer.status.as_str() {
            "Verification Successful" => {
                let payload = answer
                    .payload
                    .ok_or_else(|| ClientError::Malformed("a success without `payload`".into()))?;
                let json = serde_json::to_vec(&payload)
                    .map_err(|e| ClientError::Malformed(e.to_string()))?;
                claims_from_json(&json).map_err(ClientError::Claims)
            }
            "Signature expired" => Err(ClientError::TokenExpired),
            "Invalid token" => Err(ClientError::TokenInvalid),
            status => Err(ClientError::Refused {
                status: status.to_owned(),
                message: answer.message.unwrap_or_default(),
            }),
        }
    }

    /// A token for the configured user: the cached one while it is more than the refresh
    /// margin from its `exp`, else a new one. Concurrent callers share one fetch.
    pub async fn token(&self) -> Result<AuthToken, ClientError> {
        Ok(self.grant().await?.auth_token)
    }

    /// The URL of `service` in the catalog that came with the configured user's token,
    /// exactly as the catalog stores it. tokenleader's catalog often stores an endpoint
    /// without a scheme (`127.0.0.1:5001`): which one the service speaks is not known here, so
    /// none is guessed; prepend it before use (a [`Client`] built from such a URL says so).
    pub async fn service_url(
        &self,
        service: &str,
        network: Network,
    ) -> Result<String, ClientError> {
        let grant = self.grant().await?;
        let entry = grant
            .service_catalog
            .get(service)
            .ok_or_else(|| ClientError::UnknownService(service.to_owned()))?;
        entry
            .url(network)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::NoEndpoint {
                service: service.to_owned(),
                network,
            })
    }

    /// The configured user's token with the service catalog that came with it; cached like
    /// [`token`](Self::token).
    pub async fn grant(&self) -> Result<TokenGrant, ClientError> {
        let mut cached = self.inner.cached.lock().await;
        let now = (self.inner.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let margin = self.inner.refresh_margin.as_secs();
        if let Some(entry) = cached.as_ref()
            && entry
                .expires_at
                .is_some_and(|exp| now.saturating_add(margin) < exp)
        {
            return Ok(entry.grant.clone());
        }
        let (Some(user), Some(password)) = (&self.inner.user, &self.inner.password) else {
            return Err(ClientError::NoCredentials);
        };
        let grant = self.get_token(user, &password.0).await?;
        let expires_at = unverified_expiry(grant.auth_token.as_str());
        tracing::debug!(user = %user, expires_at, "fetched a token");
        *cached = Some(CachedGrant {
            grant: grant.clone(),
            expires_at,
        });
        Ok(grant)
    }
}

/// `exp` of a token, read without verifying it: only to know when to fetch a new one.
fn unverified_expiry(token: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Expiry {
        exp: Option<u64>,
    }
    let payload = token.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Expiry>(&json).ok()?.exp
}

fn request_error(error: reqwest::Error) -> ClientError {
    if error.is_timeout() {
        ClientError::Timeout
    } else if error.is_connect() {
        ClientError::Connect(
            crate::http_cause::innermost(&error).unwrap_or_else(|| "no connection".into()),
        )
    } else {
        ClientError::Http(crate::http_cause::cause(&error))
    }
}

/// Reads the JSON answer; 5xx, HTML pages and bodies that are not the expected JSON become
/// errors that say so.
async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, ClientError> {
    let status = response.status();
    let body = response.bytes().await.map_err(request_error)?;
    let looks_like_html = body.trim_ascii_start().starts_with(b"<");
    if status.is_server_error() || status.is_client_error() {
        return Err(if looks_like_html {
            ClientError::HtmlPage {
                status: status.as_u16(),
            }
        } else {
            ClientError::Status {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).chars().take(200).collect(),
            }
        });
    }
    if looks_like_html {
        return Err(ClientError::HtmlPage {
            status: status.as_u16(),
        });
    }
    if status != StatusCode::OK && status != StatusCode::CREATED {
        return Err(ClientError::Status {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body).chars().take(200).collect(),
        });
    }
    serde_json::from_slice(&body)
        .map_err(|e| ClientError::Malformed(format!("the answer is not the expected JSON: {e}")))
}

/// Puts a token on an outgoing reqwest request, as the `X-Auth-Token` header, marked
/// sensitive so that it stays out of logs.
pub trait ForwardAuthToken {
    /// Adds `X-Auth-Token: <token>`.
    fn auth_token(self, token: &AuthToken) -> Self;
}

impl ForwardAuthToken for reqwest::RequestBuilder {
    fn auth_token(self, token: &AuthToken) -> Self {
        match token.header_value() {
            Ok(value) => self.header("X-Auth-Token", value),
            // A token that no header can carry: send none, so the call fails closed with 401.
            Err(_) => self,
        }
    }
}
