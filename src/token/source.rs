//! Where the token is found in a request ([`TokenSource`]), and the token itself once found
//! ([`AuthToken`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock};

use http::{HeaderMap, HeaderName, Uri};

use super::TokenError;

/// Where the enforcer looks for the token. All sources that carry a token must carry the same
/// one; a header, cookie or query parameter sent twice is refused.
///
/// ```
/// use std::sync::{Arc, LazyLock};
/// use http::{HeaderMap, Uri};
/// use tokenleader_rbac::token::{TokenExtractor, TokenSource};
///
/// /// A WebSocket client that can only send its token as a sub-protocol:
/// /// `Sec-WebSocket-Protocol: access_token, <token>`.
/// #[derive(Debug)]
/// struct WebSocketProtocol;
///
/// impl TokenExtractor for WebSocketProtocol {
///     fn extract<'r>(&self, headers: &'r HeaderMap, _uri: &'r Uri) -> Option<&'r str> {
///         let value = headers.get("sec-websocket-protocol")?.to_str().ok()?;
///         value.strip_prefix("access_token, ")
///     }
/// }
///
/// let sources = [
///     TokenSource::XAuthToken,
///     TokenSource::Cookie("session".into()),
///     TokenSource::Custom(Arc::new(WebSocketProtocol)),
/// ];
/// # let _ = sources;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TokenSource {
    /// The `X-Auth-Token` header, as tokenleader clients send it.
    XAuthToken,
    /// `Authorization: Bearer <token>` (other schemes are ignored).
    AuthorizationBearer,
    /// The raw token in another header.
    Header(HeaderName),
    /// The cookie of this name (a web page's session cookie). Cookies go with every request
    /// the browser makes to the site, so a state-changing route that takes them needs CSRF
    /// protection of its own (`SameSite`, a CSRF token).
    Cookie(Cow<'static, str>),
    /// The query parameter of this name (`?access_token=…`). Off unless given: URLs end up in
    /// access logs, proxy logs, browser history and `Referer` headers, so a token in one leaks
    /// to whoever reads them. Use it only where nothing else can carry the token (an `<img>`
    /// or server-sent events URL), with short-lived tokens. The value must not be
    /// percent-encoded (tokens never need it).
    Query(Cow<'static, str>),
    /// A source of the service's own ([`TokenExtractor`]).
    Custom(Arc<dyn TokenExtractor>),
}

impl PartialEq for TokenSource {
    fn eq(&self, other: &Self) -> bool {
        use TokenSource::*;
        match (self, other) {
            (XAuthToken, XAuthToken) | (AuthorizationBearer, AuthorizationBearer) => true,
            (Header(a), Header(b)) => a == b,
            (Cookie(a), Cookie(b)) | (Query(a), Query(b)) => a == b,
            (Custom(a), Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for TokenSource {}

/// Finds a token where the built-in [`TokenSource`]s do not look: a WebSocket sub-protocol
/// header, an API gateway's own header format. Return the token as it appears in the request
/// (no copy), or `None` when this source carries none.
pub trait TokenExtractor: fmt::Debug + Send + Sync {
    /// The token in the request with `headers` and `uri`, if this source carries one.
    fn extract<'r>(&self, headers: &'r HeaderMap, uri: &'r Uri) -> Option<&'r str>;
}

static X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");

/// The token sources used unless the builder says otherwise.
pub(crate) const DEFAULT_TOKEN_SOURCES: [TokenSource; 2] =
    [TokenSource::XAuthToken, TokenSource::AuthorizationBearer];

/// Finds the token among `sources`, as the bytes the request carries: a token found in the
/// verified-token cache needs no further reading, and [`token_text`] reads any other. Two
/// sources with different tokens, or a repeated header, cookie or query parameter, are refused
/// rather than guessed between. Without a `uri` (`Enforcer::authorize`), query sources find
/// nothing. With `dpop`, the `Authorization` source also takes the `DPoP` scheme (its proof
/// is checked after verification).
pub(crate) fn find_token<'h>(
    headers: &'h HeaderMap,
    uri: Option<&'h Uri>,
    sources: &[TokenSource],
    dpop: bool,
) -> Result<&'h [u8], TokenError> {
    let mut found: Option<&[u8]> = None;
    let mut take = |token: &'h [u8]| match found {
        Some(previous) if previous != token => Err(TokenError::Ambiguous(
            "the token sources carry different tokens",
        )),
        _ => {
            found = Some(token);
            Ok(())
        }
    };
    for source in sources {
        let name = match source {
            TokenSource::XAuthToken => &X_AUTH_TOKEN,
            TokenSource::AuthorizationBearer => &http::header::AUTHORIZATION,
            TokenSource::Header(name) => name,
            TokenSource::Cookie(name) => {
                if let Some(token) = cookie_token(headers, name)? {
                    take(token.as_bytes())?;
                }
                continue;
            }
            TokenSource::Query(name) => {
                if let Some(token) = uri.map(|uri| query_token(uri, name)).transpose()?.flatten() {
                    take(token.as_bytes())?;
                }
                continue;
            }
            TokenSource::Custom(extractor) => {
                // Without a request URI, a custom source sees `/`.
                static ROOT: LazyLock<Uri> = LazyLock::new(Uri::default);
                if let Some(token) = extractor.extract(headers, uri.unwrap_or(&ROOT)) {
                    take(token.as_bytes())?;
                }
                continue;
            }
        };
        let mut values = headers.get_all(name).iter();
        let Some(value) = values.next() else {
            continue;
        };
        if values.next().is_some() {
            return Err(TokenError::Ambiguous(
                "a token header is sent more than once",
            ));
        }
        let value = value.as_bytes();
        let token = match source {
            TokenSource::AuthorizationBearer => match authorization_token(value, dpop) {
                Some(token) => token,
                None => continue,
            },
            _ => value,
        };
        take(token)?;
    }
    match found {
        Some(token) if !token.is_empty() => Ok(token),
        _ => Err(TokenError::Missing),
    }
}

/// The value of cookie `name` in the `Cookie` headers; the same cookie twice is refused.
fn cookie_token<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, TokenError> {
    let mut found = None;
    for header in headers.get_all(http::header::COOKIE) {
        let Ok(header) = std::str::from_utf8(header.as_bytes()) else {
            continue;
        };
        let values = cookie::Cookie::split_parse(header)
            .filter_map(Result::ok)
            .filter(|cookie| cookie.name_raw() == Some(name))
            .filter_map(|cookie| cookie.value_raw());
        for value in values {
            if found.replace(value).is_some() {
                return Err(TokenError::Ambiguous(
                    "the token cookie is sent more than once",
                ));
            }
        }
    }
    Ok(found)
}

/// The value of query parameter `name`, as it is in the URI (a percent-encoded one is
/// refused); the parameter twice is refused.
fn query_token<'u>(uri: &'u Uri, name: &str) -> Result<Option<&'u str>, TokenError> {
    let Some(query) = uri.query() else {
        return Ok(None);
    };
    let mut found = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != name {
            continue;
        }
        let Cow::Borrowed(value) = value else {
            return Err(TokenError::Malformed(
                "the token query parameter is percent-encoded; tokens never need it".into(),
            ));
        };
        if found.replace(value).is_some() {
            return Err(TokenError::Ambiguous(
                "the token query parameter is sent more than once",
            ));
        }
    }
    Ok(found)
}

/// The token of an `Authorization: Bearer <token>` value, or with `dpop` of an
/// `Authorization: DPoP <token>` value; `None` for other schemes.
fn authorization_token(value: &[u8], dpop: bool) -> Option<&[u8]> {
    let (scheme, token) = match value.iter().position(|&byte| byte == b' ') {
        Some(space) => (&value[..space], &value[space + 1..]),
        None => (value, &[][..]),
    };
    let start = token
        .iter()
        .position(|&byte| byte != b' ')
        .unwrap_or(token.len());
    let taken =
        scheme.eq_ignore_ascii_case(b"bearer") || dpop && scheme.eq_ignore_ascii_case(b"dpop");
    taken.then(|| &token[start..])
}

/// The text of a token found by [`find_token`]. `from_utf8` reads ASCII words at a time (a
/// header's `to_str` byte by byte), and tokens are hundreds of bytes long; whatever UTF-8
/// passes here that is not a token's base64url is refused by the token's parser.
pub(crate) fn token_text(raw: &[u8]) -> Result<&str, TokenError> {
    std::str::from_utf8(raw).map_err(|_| {
        TokenError::Malformed("the token holds bytes that are not visible ASCII".into())
    })
}

/// A raw token as a caller sent it. After `RequireRule` let a request
/// through, the request extensions hold the very token that was verified, to forward to the
/// next service. Its `Debug` output hides the token, so it can sit in structs that are logged.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(Arc<str>);

impl AuthToken {
    /// Wraps a token.
    pub fn new(token: impl Into<Arc<str>>) -> Self {
        AuthToken(token.into())
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token's shared allocation (the verified-token cache keys by it).
    pub(crate) fn shared(&self) -> Arc<str> {
        self.0.clone()
    }

    /// The token as an HTTP header value, marked sensitive so that it stays out of logs.
    pub fn header_value(&self) -> Result<http::HeaderValue, http::header::InvalidHeaderValue> {
        let mut value = http::HeaderValue::from_str(self.as_str())?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_takes_the_scheme_in_any_case_and_skips_spaces() {
        let bearer_token = |value| authorization_token(value, false);
        assert_eq!(bearer_token(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"bEaReR   abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_token(b"Bearer"), Some(&b""[..]));
        assert_eq!(bearer_token(b"Bearer   "), Some(&b""[..]));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearerabc"), None);
        assert_eq!(bearer_token(b"DPoP abc"), None);
        assert_eq!(authorization_token(b"dpop abc", true), Some(&b"abc"[..]));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_same_token_twice_is_one_token_and_two_tokens_are_refused() {
        let same = headers(&[("x-auth-token", "t"), ("authorization", "Bearer t")]);
        assert_eq!(
            find_token(&same, None, &DEFAULT_TOKEN_SOURCES, false),
            Ok(&b"t"[..])
        );
        let different = headers(&[("x-auth-token", "t"), ("authorization", "Bearer u")]);
        assert!(matches!(
            find_token(&different, None, &DEFAULT_TOKEN_SOURCES, false),
            Err(TokenError::Ambiguous(_))
        ));
        let repeated = headers(&[("x-auth-token", "t"), ("x-auth-token", "t")]);
        assert!(matches!(
            find_token(&repeated, None, &DEFAULT_TOKEN_SOURCES, false),
            Err(TokenError::Ambiguous(_))
        ));
    }

    #[test]
    fn only_the_configured_sources_are_read() {
        let custom = [TokenSource::Header(HeaderName::from_static("x-custom"))];
        let both = headers(&[("x-custom", "c"), ("x-auth-token", "t")]);
        assert_eq!(find_token(&both, None, &custom, false), Ok(&b"c"[..]));
        assert_eq!(
            find_token(&headers(&[("x-auth-token", "t")]), None, &custom, false),
            Err(TokenError::Missing)
        );
        assert_eq!(
            find_token(
                &headers(&[("x-auth-token", "")]),
                None,
                &DEFAULT_TOKEN_SOURCES,
                false
            ),
            Err(TokenError::Missing)
        );
    }
}
