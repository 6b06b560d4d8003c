//! One fetch of a JWKS source: the OpenID configuration when the JWKS URL is to be
//! discovered, then the key set, each body read up to [`MAX_JWKS_BYTES`].

use super::{JwksConfig, JwksError, MAX_JWKS_BYTES};
use crate::keys::{KeyError, PublicKey};

/// One JWKS source as the fetcher thread sees it.
pub(super) struct Source<'a> {
    pub(super) config: &'a JwksConfig,
    pub(super) http: &'a reqwest::Client,
    /// The JWKS URL once known (discovered on the first fetch that gets that far).
    pub(super) jwks_url: std::cell::RefCell<Option<String>>,
}

impl Source<'_> {
    /// Discovers the JWKS URL if needed, fetches the keys, and keeps them in the key cache
    /// file.
    pub(super) async fn fetch(&self) -> Result<Vec<PublicKey>, JwksError> {
        let known = self.jwks_url.borrow().clone();
        let jwks_url = match (known, self.config.discover) {
            (Some(url), _) => url,
            (None, true) => {
                let url = discover(self.http, &self.config.url).await?;
                *self.jwks_url.borrow_mut() = Some(url.clone());
                url
            }
            (None, false) => self.config.url.clone(),
        };
        let (keys, text) = fetch_keys(self.http, &jwks_url).await?;
        if let Some(cache) = &self.config.cache {
            cache.store(&self.config.url, &text);
        }
        Ok(keys)
    }
}

/// The `jwks_uri` of `issuer`'s OpenID configuration, whose `issuer` must be `issuer`
/// exactly (OpenID Connect Discovery 1.0, section 4.3).
async fn discover(http: &reqwest::Client, issuer: &str) -> Result<String, JwksError> {
    #[derive(serde::Deserialize)]
    struct Configuration {
        issuer: Option<String>,
        jwks_uri: Option<String>,
    }
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let refused = |message: String| JwksError::Discovery {
        url: url.clone(),
        message,
    };
    let body = fetch_body(http, &url).await?;
    let configuration: Configuration = serde_json::from_slice(&body)
        .map_err(|e| refused(format!("not an OpenID configuration (JSON): {e}")))?;
    match configuration.issuer {
        Some(found) if found == issuer => {}
        Some(found) => {
            return Err(refused(format!(
                "its `issuer` is `{}`, not `{issuer}`",
                found.chars().take(200).collect::<String>()
            )));
        }
        None => return Err(refused("no `issuer`".into())),
    }
    let jwks_uri = configuration
        .jwks_uri
        .ok_or_else(|| refused("no `jwks_uri`".into()))?;
    let scheme = jwks_uri.split_once("://").map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("https" | "http")) {
        return Err(refused(format!(
            "`jwks_uri` {jwks_uri} is not an http(s) URL"
        )));
    }
    Ok(jwks_uri)
}

/// A successful answer's body, at most [`MAX_JWKS_BYTES`].
async fn fetch_body(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, JwksError> {
    let request_error = |source| JwksError::Request {
        url: url.to_owned(),
        source,
    };
    let mut response = http.get(url).send().await.map_err(request_error)?;
    if !response.status().is_success() {
        return Err(JwksError::Status {
            url: url.to_owned(),
            status: response.status().as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request_error)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge {
                url: url.to_owned(),
                max: MAX_JWKS_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The keys of the JWKS at `url`, and its text (for the key cache file).
async fn fetch_keys(
    http: &reqwest::Client,
    url: &str,
) -> Result<(Vec<PublicKey>, String), JwksError> {
    let body = fetch_body(http, url).await?;
    let keys_error = |source| JwksError::Keys {
        url: url.to_owned(),
        source,
    };
    let text = String::from_utf8(body)
        .map_err(|_| keys_error(KeyError::format("JWK", "the body is not UTF-8 text")))?;
    let keys = PublicKey::from_jwks(&text).map_err(keys_error)?;
    Ok((keys, text))
}
