//! The URL a request was sent to, as the client saw it, for a proof's `htu`: the configured
//! external URL, or what trusted proxies say (`Forwarded`, `X-Forwarded-Proto`/`-Host`), or
//! the request's own `Host`. Compared after RFC 3986's syntax-based normalization (scheme and
//! host case, default ports, percent-encoding case, unreserved characters decoded), without
//! query and fragment.

use http::uri::{Authority, Scheme, Uri};
use http::{HeaderMap, header};

use super::DpopError;

/// The service's URL as clients call it (`https://api.example`, or with a path prefix a proxy
/// strips: `https://example.com/api`), from
/// [`EnforcerBuilder::external_url`](crate::EnforcerBuilder::external_url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExternalUrl {
    origin: Origin,
    /// The path prefix, normalized, without a trailing `/` (empty for none).
    prefix: String,
}

/// Scheme, host and port, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    https: bool,
    host: String,
    port: u16,
}

/// The URL of one request, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestUrl {
    origin: Origin,
    path: String,
}

impl ExternalUrl {
    /// Parses an `http`/`https` URL without query, fragment or user info.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let (origin, path) = parse_url(text).ok_or_else(|| {
            format!("`{text}` is not an http or https URL without query, fragment or user info")
        })?;
        let prefix = path.trim_end_matches('/').to_owned();
        Ok(ExternalUrl { origin, prefix })
    }
}

impl RequestUrl {
    /// The URL `uri` was sent to: under `external` when given; else as `Forwarded` or
    /// `X-Forwarded-Proto`/`-Host` say when `from_proxy` (the peer is a trusted proxy); else
    /// the request's own authority.
    pub(crate) fn of(
        external: Option<&ExternalUrl>,
        from_proxy: bool,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Self, DpopError> {
        let path = normalize_path(uri.path());
        if let Some(external) = external {
            return Ok(RequestUrl {
                origin: external.origin.clone(),
                path: format!("{}{path}", external.prefix),
            });
        }
        let forwarded = match from_proxy {
            true => forwarded(headers),
            false => None,
        };
        let (scheme, authority) = match forwarded {
            Some(told) => told,
            None => {
                let host = uri
                    .authority()
                    .map(|authority| authority.as_str().to_owned())
                    .or_else(|| header_text(headers, header::HOST.as_str()))
                    .ok_or(DpopError::UnknownUrl)?;
                let scheme = uri.scheme_str().unwrap_or("http").to_owned();
                (scheme, host)
            }
        };
        let origin = origin(&scheme, &authority).ok_or(DpopError::UnknownUrl)?;
        Ok(RequestUrl { origin, path })
    }

    /// Whether a proof's `htu` names this URL. An `htu` with a query or fragment names none.
    pub(crate) fn matches(&self, htu: &str) -> bool {
        parse_url(htu).is_some_and(|(origin, path)| origin == self.origin && path == self.path)
    }
}

/// Scheme, authority and normalized path of an absolute `http`/`https` URL without query,
/// fragment or user info.
fn parse_url(text: &str) -> Option<(Origin, String)> {
    if text.contains(['?', '#']) {
        return None;
    }
    let uri: Uri = text.parse().ok()?;
    let origin = origin(uri.scheme_str()?, uri.authority()?.as_str())?;
    Some((origin, normalize_path(uri.path())))
}

/// The origin of `scheme` and `authority` (`host[:port]`, no user info).
fn origin(scheme: &str, authority: &str) -> Option<Origin> {
    let scheme: Scheme = scheme.parse().ok()?;
    let https = match scheme.as_str().to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return None,
    };
    if authority.contains('@') {
        return None;
    }
    let authority: Authority = authority.parse().ok()?;
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    Some(Origin {
        https,
        host: authority.host().to_ascii_lowercase(),
        port,
    })
}

/// `path` with percent-encodings in upper case and unreserved characters decoded; empty is `/`.
fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let bytes = path.as_bytes();
    let mut normalized = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => std::str::from_utf8(hex)
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok()),
            _ => None,
        };
        match escaped {
            Some(byte) if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) => {
                normalized.push(char::from(byte));
                i += 3;
            }
            Some(byte) => {
                normalized.push_str(&format!("%{byte:02X}"));
                i += 3;
            }
            None => {
                normalized.push(char::from(bytes[i]));
                i += 1;
            }
        }
    }
    normalized
}

/// The scheme and host trusted proxies recorded: `Forwarded`'s first element, else the first
/// entries of `X-Forwarded-Proto` and `X-Forwarded-Host`. `None` when they name no host.
fn forwarded(headers: &HeaderMap) -> Option<(String, String)> {
    if let Some(value) = header_text(headers, header::FORWARDED.as_str()) {
        let first = value.split(',').next().unwrap_or_default();
        let mut proto = None;
        let mut host = None;
        for pair in first.split(';') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_owned();
            match name.trim().to_ascii_lowercase().as_str() {
                "proto" => proto = Some(value),
                "host" => host = Some(value),
                _ => {}
            }
        }
        return Some((proto.unwrap_or_else(|| "http".into()), host?));
    }
    let first = |name: &str| {
        header_text(headers, name)
            .and_then(|value| value.split(',').next().map(|first| first.trim().to_owned()))
    };
    let host = first("x-forwarded-host")?;
    Some((
        first("x-forwarded-proto").unwrap_or_else(|| "http".into()),
        host,
    ))
}

/// A header's value as text, when it is sent once.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    value.to_str().ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn request(uri: &str, pairs: &[(&'static str, &'static str)]) -> (Uri, HeaderMap) {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        (uri.parse().unwrap(), headers)
    }

    #[test]
    fn the_request_url_is_compared_after_normalization() {
        let (uri, headers) = request("/a/%7euser/b%2f?q=1", &[("host", "API.example:80")]);
        let url = RequestUrl::of(None, false, &uri, &headers).unwrap();
        assert!(url.matches("http://api.example/a/~user/b%2F"));
        assert!(url.matches("HTTP://api.EXAMPLE:80/a/%7Euser/b%2f"));
        assert!(!url.matches("https://api.example/a/~user/b%2F"));
        assert!(!url.matches("http://api.example/a/~user/b%2F?q=1"));
        assert!(!url.matches("http://api.example/a/~user/b%2F#f"));
        assert!(!url.matches("http://user@api.example/a/~user/b%2F"));
        assert!(!url.matches("http://api.example/a/~user"));
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let pairs = [
            ("host", "internal:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example, proxy.internal"),
        ];
        let (uri, headers) = request("/e", &pairs);
        let trusted = RequestUrl::of(None, true, &uri, &headers).unwrap();
        assert!(trusted.matches("https://api.example/e"));
        let untrusted = RequestUrl::of(None, false, &uri, &headers).unwrap();
        assert!(untrusted.matches("http://internal:8080/e"));
        let (uri, headers) = request(
            "/e",
            &[("forwarded", r#"for=1.2.3.4;proto=https;host="api.example""#)],
        );
        let told = RequestUrl::of(None, true, &uri, &headers).unwrap();
        assert!(told.matches("https://api.example:443/e"));
    }

    #[test]
    fn the_external_url_wins_and_keeps_its_prefix() {
        let external = ExternalUrl::parse("https://example.com/api/").unwrap();
        let (uri, headers) = request("/e", &[("host", "internal")]);
        let url = RequestUrl::of(Some(&external), true, &uri, &headers).unwrap();
        assert!(url.matches("https://example.com/api/e"));
        for bad in ["ftp://x", "https://x/?q", "/relative", "https://u@x/"] {
            assert!(ExternalUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn no_host_is_no_url() {
        let (uri, headers) = request("/e", &[]);
        assert_eq!(
            RequestUrl::of(None, false, &uri, &headers),
            Err(DpopError::UnknownUrl)
        );
    }
}
