//! Where the token is found in a request ([`TokenSource`]), and the token itself once found
//! ([`AuthToken`]).

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName};

use super::TokenError;

/// Where the enforcer looks for the token. All sources that carry a token must carry the same
/// one; a header sent twice is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// The `X-Auth-Token` header, as tokenleader clients send it.
    XAuthToken,
    /// `Authorization: Bearer <token>` (other schemes are ignored).
    AuthorizationBearer,
    /// The raw token in another header.
    Header(HeaderName),
}

static X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");

/// The token sources used unless the builder says otherwise.
pub(crate) const DEFAULT_TOKEN_SOURCES: [TokenSource; 2] =
    [TokenSource::XAuthToken, TokenSource::AuthorizationBearer];

/// Finds the token among `sources`. Two sources with different tokens, or a repeated header,
/// are refused rather than guessed between.
pub(crate) fn find_token<'h>(
    headers: &'h HeaderMap,
    sources: &[TokenSource],
) -> Result<&'h str, TokenError> {
    let mut found: Option<&str> = None;
    for source in sources {
        let name = match source {
            TokenSource::XAuthToken => &X_AUTH_TOKEN,
            TokenSource::AuthorizationBearer => &http::header::AUTHORIZATION,
            TokenSource::Header(name) => name,
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
        // `from_utf8` reads ASCII words at a time, `to_str` byte by byte, and tokens are
        // hundreds of bytes long. Whatever UTF-8 passes here that is not a token's base64url
        // is refused by the token's parser.
        let value = std::str::from_utf8(value.as_bytes()).map_err(|_| {
            TokenError::Malformed(format!(
                "the {name} header holds bytes that are not visible ASCII"
            ))
        })?;
        let token = match source {
            TokenSource::AuthorizationBearer => match bearer_token(value) {
                Some(token) => token,
                None => continue,
            },
            _ => value,
        };
        match found {
            Some(previous) if previous != token => {
                return Err(TokenError::Ambiguous(
                    "the token headers carry different tokens",
                ));
            }
            _ => found = Some(token),
        }
    }
    match found {
        Some(token) if !token.is_empty() => Ok(token),
        _ => Err(TokenError::Missing),
    }
}

/// The token of an `Authorization: Bearer <token>` value; `None` for other schemes.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
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
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bEaReR   abc"), Some("abc"));
        assert_eq!(bearer_token("Bearer"), Some(""));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
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
        assert_eq!(find_token(&same, &DEFAULT_TOKEN_SOURCES), Ok("t"));
        let different = headers(&[("x-auth-token", "t"), ("authorization", "Bearer u")]);
        assert!(matches!(
            find_token(&different, &DEFAULT_TOKEN_SOURCES),
            Err(TokenError::Ambiguous(_))
        ));
        let repeated = headers(&[("x-auth-token", "t"), ("x-auth-token", "t")]);
        assert!(matches!(
            find_token(&repeated, &DEFAULT_TOKEN_SOURCES),
            Err(TokenError::Ambiguous(_))
        ));
    }

    #[test]
    fn only_the_configured_sources_are_read() {
        let custom = [TokenSource::Header(HeaderName::from_static("x-custom"))];
        let both = headers(&[("x-custom", "c"), ("x-auth-token", "t")]);
        assert_eq!(find_token(&both, &custom), Ok("c"));
        assert_eq!(
            find_token(&headers(&[("x-auth-token", "t")]), &custom),
            Err(TokenError::Missing)
        );
        assert_eq!(
            find_token(&headers(&[("x-auth-token", "")]), &DEFAULT_TOKEN_SOURCES),
            Err(TokenError::Missing)
        );
    }
}
