//! The responses to denied requests: 401, 403 or 500 with a JSON body.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Response, StatusCode};
//! use tokenleader_rbac::{Denial, DenyResponse, JsonDenyResponse, TokenError};
//!
//! let response = JsonDenyResponse.respond(&Denial::Unauthenticated(TokenError::Expired));
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer error="invalid_token""#);
//! assert_eq!(
//!     response.body().as_ref(),
//!     br#"{"status":"unauthorized","message":"token has expired"}"#
//! );
//!
//! // An application that wants another body gives the builder a closure instead:
//! let plain = |denial: &Denial| {
//!     Response::builder().status(denial.status()).body(Bytes::from(denial.to_string())).unwrap()
//! };
//! assert_eq!(plain.respond(&Denial::NoEnforcer).status(), StatusCode::INTERNAL_SERVER_ERROR);
//! ```

use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::error::TokenError;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// No usable token: 401 (500 for [`TokenError::Clock`]).
    Unauthenticated(TokenError),
    /// A valid token whose roles do not grant the rule: 403.
    Forbidden {
        /// The rule the route requires.
        rule: String,
        /// The caller.
        username: String,
    },
    /// `RequireRule` found no `Enforcer` in the request extensions: 500.
    NoEnforcer,
}

impl Denial {
    /// The HTTP status this denial is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Denial::Unauthenticated(TokenError::Clock) | Denial::NoEnforcer => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Denial::Unauthenticated(TokenError::RevocationUnavailable) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Denial::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Denial::Forbidden { .. } => StatusCode::FORBIDDEN,
        }
    }

    /// A short machine-readable word for the outcome: `unauthorized`, `forbidden`,
    /// `unavailable` or `error`.
    pub fn status_word(&self) -> &'static str {
        match self.status() {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "error",
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::Unauthenticated(error) => error.fmt(f),
            Denial::Forbidden { rule, .. } => write!(f, "none of your roles grants rule `{rule}`"),
            Denial::NoEnforcer => f.write_str(
                "server misconfigured: RequireRule found no Enforcer; add `.layer(enforcer)` outside the route",
            ),
        }
    }
}

/// Turns a [`Denial`] into the HTTP response the client gets. Implemented by
/// [`JsonDenyResponse`] (the default) and by every `Fn(&Denial) -> Response<Bytes>`.
pub trait DenyResponse: Send + Sync + 'static {
    /// Builds the response for `denial`.
    fn respond(&self, denial: &Denial) -> Response<Bytes>;
}

impl<F> DenyResponse for F
where
    F: Fn(&Denial) -> Response<Bytes> + Send + Sync + 'static,
{
    fn respond(&self, denial: &Denial) -> Response<Bytes> {
        self(denial)
    }
}

/// The default deny response: `{"status": …, "message": …}` as `application/json`, with
/// `WWW-Authenticate: Bearer` on a 401 (and `error="invalid_token"` when a token was sent).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonDenyResponse;

impl DenyResponse for JsonDenyResponse {
    fn respond(&self, denial: &Denial) -> Response<Bytes> {
        json_response(
            denial.status(),
            denial.status_word(),
            &denial.to_string(),
            |headers| {
                if let (Denial::Unauthenticated(error), StatusCode::UNAUTHORIZED) =
                    (denial, denial.status())
                {
                    let challenge = match error {
                        TokenError::Missing => "Bearer",
                        _ => r#"Bearer error="invalid_token""#,
                    };
                    headers.insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static(challenge),
                    );
                }
            },
        )
    }
}

/// A `{"status": …, "message": …}` JSON response.
pub(crate) fn json_response(
    status: StatusCode,
    status_word: &str,
    message: &str,
    add_headers: impl FnOnce(&mut http::HeaderMap),
) -> Response<Bytes> {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        status: &'a str,
        message: &'a str,
    }
    let body = serde_json::to_vec(&Body {
        status: status_word,
        message,
    })
    .unwrap_or_default();
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    add_headers(headers);
    response
}
