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
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::StatusCode;
use serde::{Deserialize, Serialize};

mod catalog;
pub mod credentials;
mod error;
pub mod users;

pub use catalog::{Network, Service, ServiceCatalog, TokenGrant};
pub use credentials::{CredentialsError, StoredCredentials};
pub use error::ClientError;
pub use users::{NewUser, User};

use crate::claims::{Claims, claims_from_json};
use crate::client_config::ClientConfigFile;
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

/// Builds a [`Client`]. Defaults: TLS verified, connect timeout 5 s, total timeout 30 s, a
/// cached token fetched again 60 s before it expires.
pub struct ClientBuilder {
    base_url: String,
    user: Option<String>,
    password: Option<Password>,
    /// From a `client_configs.yml`, the error too: it only matters when no password is given.
    stored_credentials: Option<Result<StoredCredentials, CredentialsError>>,
    domain: Option<String>,
    otp: Option<Password>,
    ssl_verify: bool,
    connect_timeout: Duration,
    timeout: Duration,
    refresh_margin: Duration,
    clock: Box<dyn Fn() -> SystemTime + Send + Sync>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("stored_credentials", &self.stored_credentials)
            .field("domain", &self.domain)
            .field("otp", &self.otp)
            .field("ssl_verify", &self.ssl_verify)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Another server URL than the one the builder started with (for example over the
    /// `tl_url` of a `client_configs.yml`).
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The user configured so far (by [`user`](Self::user) or a `client_configs.yml`).
    pub fn configured_user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The user whose token [`Client::token`] fetches.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The password of [`user`](Self::user).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Password(password.into()));
        self
    }

    /// Takes the password of [`user`](Self::user) from stored credentials, decrypted when
    /// [`build`](Self::build) runs, unless [`password`](Self::password) gives one.
    /// [`Client::from_client_config`] sets them from `client_configs.yml`.
    pub fn stored_credentials(mut self, stored: StoredCredentials) -> Self {
        self.stored_credentials = Some(Ok(stored));
        self
    }

    /// Whether the password is to come from stored credentials (set by
    /// [`stored_credentials`](Self::stored_credentials) or a `client_configs.yml`).
    pub fn has_stored_credentials(&self) -> bool {
        self.stored_credentials.is_some()
    }

    /// The login domain, sent as `domain` with every login (`get_token` and `token`). Not
    /// sent unless set. The 1.8 server ignores it; later servers with domain logins read it.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// A one-time password, sent as `otp` with every login. Not sent unless set; kept out of
    /// logs like the password. A cached token is fetched again with the same value, so
    /// give a new client a new one-time password.
    pub fn otp(mut self, otp: impl Into<String>) -> Self {
        self.otp = Some(Password(otp.into()));
        self
    }

    /// Whether the server's TLS certificate is verified (default `true`). Turning it off lets
    /// anybody on the network read passwords and tokens: it is logged as a warning.
    pub fn ssl_verify(mut self, verify: bool) -> Self {
        self.ssl_verify = verify;
        self
    }

    /// How long connecting may take (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a whole request may take (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long before its `exp` a cached token is fetched again (default 60 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// The clock that decides when a cached token is old (default: the system clock).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Builds the client; the stored password, if configured and no other was given, is
    /// decrypted here.
    pub fn build(self) -> Result<Client, ClientError> {
        let scheme = self.base_url.split_once("://").map(|(scheme, _)| scheme);
        if !scheme
            .is_some_and(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https"))
        {
            return Err(ClientError::Config(format!(
                "the URL `{}` has no http:// or https:// scheme: write `http://{0}` or `https://{0}` \
                 (tokenleader's service catalog stores endpoints without one)",
                self.base_url
            )));
        }
        if !self.ssl_verify {
            tracing::warn!(
                url = %self.base_url,
                "TLS certificate verification is OFF for the tokenleader server: passwords and tokens can be intercepted"
            );
        }
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .tls_danger_accept_invalid_certs(!self.ssl_verify)
            .build()
            .map_err(|e| ClientError::Config(format!("cannot build the HTTP client: {e}")))?;
        let password = match (self.password, self.stored_credentials) {
            (Some(password), _) => Some(password),
            (None, Some(Ok(stored))) => Some(Password(stored.read_password()?)),
            (None, Some(Err(error))) => return Err(error.into()),
            (None, None) => None,
        };
        Ok(Client {
            inner: Arc::new(ClientInner {
                http,
                base_url: self.base_url.trim_end_matches('/').to_owned(),
                user: self.user,
                password,
                domain: self.domain,
                otp: self.otp,
                refresh_margin: self.refresh_margin,
                clock: self.clock,
                cached: tokio::sync::Mutex::new(None),
            }),
        })
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
    /// Starts a [`ClientBuilder`] for the server at `base_url` (e.g. `https://host:5001`).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            user: None,
            password: None,
            stored_credentials: None,
            domain: None,
            otp: None,
            ssl_verify: true,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            refresh_margin: Duration::from_secs(60),
            clock: Box::new(SystemTime::now),
        }
    }

    /// A builder from tokenleader's `client_configs.yml`: `tl_url`, `tl_user`, `ssl_verify`
    /// (`False` is honoured, with a warning), and, with `user_auth_info_from: file`, the
    /// stored password ([`credentials`]), decrypted by [`ClientBuilder::build`] unless
    /// [`ClientBuilder::password`] gives another (then a missing or broken credentials
    /// setting does not matter either).
    pub fn from_client_config(path: impl AsRef<Path>) -> Result<ClientBuilder, ClientError> {
        let path = path.as_ref();
        let error = |message: String| ClientError::Config(format!("{}: {message}", path.display()));
        let config =
            ClientConfigFile::read(path).map_err(|e| ClientError::Config(e.to_string()))?;
        let stored = StoredCredentials::from_config(path, &config).transpose();
        let url = config.tl_url.ok_or_else(|| error("no `tl_url`".into()))?;
        let mut builder = Client::builder(url).ssl_verify(config.ssl_verify.unwrap_or(true));
        builder.user = config.tl_user;
        builder.stored_credentials = stored;
        Ok(builder)
    }

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
        ClientError::Connect(error.to_string())
    } else {
        ClientError::Http(error.to_string())
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
