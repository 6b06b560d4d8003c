//! The crate's calls out (JWKS, OpenID discovery, introspection), made one way: HTTPS unless
//! the host is loopback or plain HTTP is allowed in so many words, redirects never followed,
//! bodies bounded, and a failure named by its cause (connection refused, a timeout, TLS), never
//! by reqwest's "error sending request".

use std::time::Duration;

use crate::escape::untrusted;
pub(crate) use crate::http_cause::cause;

/// Checks that `url` may be called: HTTPS, or HTTP to a loopback host, or HTTP when
/// `allow_plain_http`. The error says what to change.
pub(crate) fn check_url(url: &str, allow_plain_http: bool) -> Result<reqwest::Url, String> {
    let quoted = untrusted(url, 200);
    if !url.contains("://") {
        return Err(format!(
            "`{quoted}` is not a URL: give its scheme, `https://` (or `http://` to loopback)"
        ));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("`{quoted}` is not a URL: {e}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback || allow_plain_http => Ok(parsed),
        "http" => Err(format!(
            "`{quoted}` is plain HTTP to another host: tokens and keys would cross the network in clear text, readable and changeable on the way (use https, or `.allow_plain_http()`)"
        )),
        _ => Err(format!("`{quoted}` is not an http(s) URL")),
    }
}

/// An HTTP client for calls out: `timeout` per call, no redirect ever followed (a 3xx is
/// answered as it is, and refused by the caller), and with `reuse_connections` false a fresh
/// connection per call (for callers that call minutes apart, whose kept connection the server
/// would long have closed).
pub(crate) fn client(
    timeout: Duration,
    reuse_connections: bool,
) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none());
    if !reuse_connections {
        builder = builder.pool_max_idle_per_host(0);
    }
    builder.build().map_err(|e| format!("HTTP client: {e}"))
}

/// Why a call out failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// No answer: the cause (connection refused, a timeout, TLS, a broken body).
    Transport(String),
    /// A redirect, never followed.
    Redirect(u16),
    /// An answer of more than the bytes allowed.
    TooLarge(usize),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Transport(cause) => f.write_str(cause),
            CallError::Redirect(status) => write!(
                f,
                "HTTP {status}, a redirect: redirects are never followed (configure the URL it points to)"
            ),
            CallError::TooLarge(max) => {
                write!(f, "the answer is larger than the {max} bytes allowed")
            }
        }
    }
}

/// Sends `request`, and reads the answer's status and body (at most `max_bytes`). A redirect
/// is an error; any other status is the caller's to judge.
pub(crate) async fn call(
    request: reqwest::RequestBuilder,
    max_bytes: usize,
) -> Result<(u16, Vec<u8>), CallError> {
    let mut response = request
        .send()
        .await
        .map_err(|e| CallError::Transport(cause(&e)))?;
    let status = response.status();
    if status.is_redirection() {
        return Err(CallError::Redirect(status.as_u16()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| CallError::Transport(cause(&e)))?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(CallError::TooLarge(max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status.as_u16(), body))
}

/// The members of an OpenID provider's configuration that the crate reads.
#[derive(Debug)]
pub(crate) struct ProviderConfiguration {
    /// Where it was read.
    url: String,
    allow_plain_http: bool,
    /// The document, its `issuer` checked.
    document: serde_json::Value,
}

/// An endpoint a provider's configuration names.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Endpoint {
    /// `jwks_uri`: the provider's keys.
    #[cfg(feature = "jwks")]
    Jwks,
    /// `introspection_endpoint` (RFC 8414): opaque tokens asked of it.
    #[cfg(feature = "introspection")]
    Introspection,
}

/// Why discovery failed, and the configuration's URL.
#[derive(Debug)]
pub(crate) struct DiscoveryError {
    pub(crate) url: String,
    pub(crate) kind: DiscoveryErrorKind,
}

#[derive(Debug)]
pub(crate) enum DiscoveryErrorKind {
    /// The call failed.
    Call(CallError),
    /// An error status.
    Status(u16),
    /// The document is unusable: what is wrong with it.
    Document(String),
}

/// The configuration of the OpenID provider `issuer` (OpenID Connect Discovery 1.0): read
/// from `document_url` (by default `{issuer}/.well-known/openid-configuration`), whose
/// `issuer` must be `issuer` exactly (section 4.3), and whose endpoints must pass
/// [`check_url`] like the issuer's own URL.
pub(crate) async fn discover(
    http: &reqwest::Client,
    issuer: &str,
    document_url: Option<&str>,
    allow_plain_http: bool,
    max_bytes: usize,
) -> Result<ProviderConfiguration, DiscoveryError> {
    let url = match document_url {
        Some(url) => url.to_owned(),
        None => format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ),
    };
    let failed = |kind| DiscoveryError {
        url: url.clone(),
        kind,
    };
    let (status, body) = call(http.get(&url), max_bytes)
        .await
        .map_err(|e| failed(DiscoveryErrorKind::Call(e)))?;
    if !(200..300).contains(&status) {
        return Err(failed(DiscoveryErrorKind::Status(status)));
    }
    ProviderConfiguration::parse(url, issuer, &body, allow_plain_http)
}

impl ProviderConfiguration {
    /// Reads the configuration document `body`, fetched from `url`: JSON whose `issuer` is
    /// `issuer` exactly.
    pub(crate) fn parse(
        url: String,
        issuer: &str,
        body: &[u8],
        allow_plain_http: bool,
    ) -> Result<Self, DiscoveryError> {
        let refused = |message: String| DiscoveryError {
            url: url.clone(),
            kind: DiscoveryErrorKind::Document(message),
        };
        let document: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| refused(format!("not an OpenID configuration (JSON): {e}")))?;
        match document.get("issuer") {
            Some(serde_json::Value::String(found)) if found == issuer => {}
            Some(serde_json::Value::String(found)) => {
                return Err(refused(format!(
                    "its `issuer` is `{}`, not `{}`",
                    untrusted(found, 200),
                    untrusted(issuer, 200)
                )));
            }
            _ => return Err(refused("no `issuer` string".into())),
        }
        Ok(ProviderConfiguration {
            url,
            allow_plain_http,
            document,
        })
    }
}

impl ProviderConfiguration {
    /// The URL of `endpoint`, checked with [`check_url`] like the issuer's own URL; the error
    /// says what is wrong.
    pub(crate) fn endpoint(&self, endpoint: Endpoint) -> Result<&str, DiscoveryError> {
        let name = match endpoint {
            #[cfg(feature = "jwks")]
            Endpoint::Jwks => "jwks_uri",
            #[cfg(feature = "introspection")]
            Endpoint::Introspection => "introspection_endpoint",
        };
        let refused = |message: String| DiscoveryError {
            url: self.url.clone(),
            kind: DiscoveryErrorKind::Document(message),
        };
        let found = match self.document.get(name) {
            Some(serde_json::Value::String(found)) => found,
            Some(_) => return Err(refused(format!("`{name}` is not a string"))),
            None => return Err(refused(format!("no `{name}`"))),
        };
        check_url(found, self.allow_plain_http)
            .map_err(|why| refused(format!("`{name}` {why}")))?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_or_when_allowed() {
        let check = |url: &str| check_url(url, false);
        assert!(check("https://kc.example/introspect").is_ok());
        assert!(check("http://127.0.0.1:8080/introspect").is_ok());
        assert!(check("http://localhost/introspect").is_ok());
        assert!(check("http://[::1]/introspect").is_ok());
        let refused = check("http://kc.example/introspect").unwrap_err();
        assert!(refused.contains("allow_plain_http"), "{refused}");
        assert!(check_url("http://kc.example/x", true).is_ok());
        assert!(check("ftp://kc.example/x").is_err());
        assert!(check("not a url").is_err());
    }
}
