//! One fetch of a JWKS source: the OpenID configuration when the JWKS URL is to be
//! discovered, then the key set, each body read up to [`MAX_JWKS_BYTES`]. Keys of the set
//! that cannot be used are skipped, each logged with its `kid` and why.

use super::{Document, JwksConfig, JwksError, MAX_JWKS_BYTES};
use crate::keys::{JwkSet, KeyError, PublicKey};
use crate::outbound::{self, CallError, DiscoveryError, DiscoveryErrorKind, Endpoint};

/// One JWKS source as the fetcher thread sees it.
pub(super) struct Source<'a> {
    pub(super) config: &'a JwksConfig,
    pub(super) http: &'a reqwest::Client,
    /// The JWKS URL once known (discovered on the first fetch that gets that far).
    pub(super) jwks_url: std::cell::RefCell<Option<String>>,
}

/// A key set fetched: the keys in it this crate verifies with, and how many it skipped.
pub(crate) struct Fetched {
    pub(crate) keys: Vec<PublicKey>,
    pub(crate) skipped: usize,
}

impl Source<'_> {
    /// Discovers the JWKS URL if needed, fetches the keys, and keeps them in the key cache
    /// file.
    pub(super) async fn fetch(&self) -> Result<Fetched, JwksError> {
        let known = self.jwks_url.borrow().clone();
        let jwks_url = match (known, self.config.discover) {
            (Some(url), _) => url,
            (None, true) => {
                let configuration = outbound::discover(
                    self.http,
                    &self.config.url,
                    self.config.discovery_url.as_deref(),
                    self.config.allow_plain_http,
                    MAX_JWKS_BYTES,
                )
                .await?;
                let url = configuration.endpoint(Endpoint::Jwks)?.to_owned();
                *self.jwks_url.borrow_mut() = Some(url.clone());
                url
            }
            (None, false) => self.config.url.clone(),
        };
        let (fetched, text) = fetch_keys(self.http, &jwks_url).await?;
        if let Some(cache) = &self.config.cache {
            cache.store(&self.config.url, &text);
        }
        Ok(fetched)
    }
}

impl From<DiscoveryError> for JwksError {
    fn from(error: DiscoveryError) -> Self {
        let document = Document::OpenIdConfiguration;
        let url = error.url;
        match error.kind {
            DiscoveryErrorKind::Call(call) => JwksError::call(document, url, call),
            DiscoveryErrorKind::Status(status) => JwksError::Status {
                document,
                url,
                status,
            },
            DiscoveryErrorKind::Document(message) => JwksError::Discovery { url, message },
        }
    }
}

impl JwksError {
    /// A failed call for `document` at `url`.
    fn call(document: Document, url: String, error: CallError) -> Self {
        match error {
            CallError::Transport(cause) => JwksError::Request {
                document,
                url,
                cause,
            },
            CallError::Redirect(status) => JwksError::Redirect {
                document,
                url,
                status,
            },
            CallError::TooLarge(max) => JwksError::TooLarge { document, url, max },
        }
    }
}

/// The keys of the JWKS at `url`, and its text (for the key cache file). Unusable keys are
/// skipped, each with a log line; a set with no usable key is an error.
async fn fetch_keys(http: &reqwest::Client, url: &str) -> Result<(Fetched, String), JwksError> {
    let document = Document::Jwks;
    let (status, body) = outbound::call(http.get(url), MAX_JWKS_BYTES)
        .await
        .map_err(|e| JwksError::call(document, url.to_owned(), e))?;
    if !(200..300).contains(&status) {
        return Err(JwksError::Status {
            document,
            url: url.to_owned(),
            status,
        });
    }
    let keys_error = |source| JwksError::Keys {
        url: url.to_owned(),
        source,
    };
    let text = String::from_utf8(body)
        .map_err(|_| keys_error(KeyError::format("JWK", "the body is not UTF-8 text")))?;
    let set = JwkSet::parse(&text).map_err(keys_error)?;
    for skipped in &set.skipped {
        tracing::warn!(
            source = url,
            kid = ?skipped.kid,
            reason = %skipped.reason,
            "a key of the set cannot be used: skipped"
        );
    }
    let skipped = set.skipped.len();
    let keys = set.into_usable().map_err(keys_error)?;
    Ok((Fetched { keys, skipped }, text))
}
