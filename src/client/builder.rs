//! [`ClientBuilder`]: a [`Client`] from code, or from tokenleader's `client_configs.yml`.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Client, ClientError, ClientInner, CredentialsError, Password, StoredCredentials};
use crate::tokenleader_config::ClientConfigFile;

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
    /// stored password ([`credentials`](super::credentials)), decrypted by
    /// [`ClientBuilder::build`] unless [`ClientBuilder::password`] gives another (then a
    /// missing or broken credentials setting does not matter either).
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
