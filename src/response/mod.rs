//! The responses to denied requests: 401, 403, 500 or 503 with a JSON body, or for gRPC calls
//! the matching `grpc-status` ([`GrpcDenyResponse`]).
//!
//! ```
//! use bytes::Bytes;
//! use http::{Response, StatusCode};
//! use tokenleader_rbac::response::{Denial, DenyResponse, JsonDenyResponse};
//! use tokenleader_rbac::token::TokenError;
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

use crate::dpop::DpopError;
use crate::token::TokenError;

mod body;
mod grpc;

pub use body::DenialBody;
pub use grpc::GrpcDenyResponse;
pub(crate) use grpc::is_grpc;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// No usable token: 401.
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
    /// The revocation store cannot answer, and fails closed: 503.
    RevocationUnavailable,
    /// The introspection endpoint cannot answer usably (unreachable, timeout, 5xx, HTML,
    /// malformed), and fails closed: 503.
    IntrospectionUnavailable,
    /// The server's clock reads before the Unix epoch, so no token time can be checked: 500.
    ClockBeforeEpoch,
    /// The DPoP proof sent with a DPoP-bound token is refused: 401 with
    /// `WWW-Authenticate: DPoP error="invalid_dpop_proof"`.
    InvalidDpopProof(DpopError),
    /// The store of seen DPoP proofs cannot take another (full of proofs within their age),
    /// and fails closed: 503.
    DpopReplayUnavailable,
}

impl Denial {
    /// The HTTP status this denial is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Denial::Unauthenticated(_) | Denial::InvalidDpopProof(_) => StatusCode::UNAUTHORIZED,
            Denial::Forbidden { .. } => StatusCode::FORBIDDEN,
            Denial::NoEnforcer | Denial::ClockBeforeEpoch => StatusCode::INTERNAL_SERVER_ERROR,
            Denial::RevocationUnavailable
            | Denial::IntrospectionUnavailable
            | Denial::DpopReplayUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The token's fault, for an [`Unauthenticated`](Denial::Unauthenticated) denial.
    pub fn token_error(&self) -> Option<&TokenError> {
        match self {
            Denial::Unauthenticated(error) => Some(error),
            _ => None,
        }
    }

    /// A short, fixed name of the reason (`expired`, `no_grant`, …), for logs and metrics
    /// labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Denial::Unauthenticated(error) => error.kind(),
            Denial::Forbidden { .. } => "no_grant",
            Denial::NoEnforcer => "no_enforcer",
            Denial::RevocationUnavailable => "revocation_unavailable",
            Denial::IntrospectionUnavailable => "introspection_unavailable",
            Denial::ClockBeforeEpoch => "clock",
            Denial::InvalidDpopProof(error) => error.kind(),
            Denial::DpopReplayUnavailable => "dpop_replay_unavailable",
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

/// A denial equals a [`TokenError`] when it is the 401 for that error: in tests,
/// `assert_eq!(enforcer.verify(token).unwrap_err(), TokenError::Expired)`.
impl PartialEq<TokenError> for Denial {
    fn eq(&self, other: &TokenError) -> bool {
        self.token_error() == Some(other)
    }
}

impl From<TokenError> for Denial {
    fn from(error: TokenError) -> Self {
        Denial::Unauthenticated(error)
    }
}

impl std::error::Error for Denial {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.token_error()
            .map(|error| error as &(dyn std::error::Error + 'static))
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
            Denial::RevocationUnavailable => {
                f.write_str("cannot check revocations now; try again")
            }
            Denial::IntrospectionUnavailable => {
                f.write_str("cannot ask the token's issuer now; try again")
            }
            Denial::ClockBeforeEpoch => f.write_str("server clock is before the Unix epoch"),
            Denial::InvalidDpopProof(error) => error.fmt(f),
            Denial::DpopReplayUnavailable => {
                f.write_str("cannot check DPoP proofs for replay now; try again")
            }
        }
    }
}

/// Turns a [`Denial`] into the HTTP response the client gets. Implemented by
/// [`JsonDenyResponse`] (the default) and by every `Fn(&Denial) -> Response<Bytes>`.
pub trait DenyResponse: Send + Sync + 'static {
    /// Builds the response for `denial`.
    fn respond(&self, denial: &Denial) -> Response<Bytes>;

    /// Builds the response for `denial` of the request whose decision has `decision_id` (its
    /// request id, in the decision's log event). The default adds the `X-Decision-Id` header
    /// to [`respond`](Self::respond)'s response.
    fn respond_to(&self, denial: &Denial, decision_id: &str) -> Response<Bytes> {
        with_decision_id(self.respond(denial), decision_id)
    }
}

/// The deny response of an enforcer given none: [`GrpcDenyResponse`] for gRPC calls,
/// [`JsonDenyResponse`] for the rest.
pub(crate) fn default_deny_response(grpc: bool) -> &'static dyn DenyResponse {
    if grpc {
        &GrpcDenyResponse
    } else {
        &JsonDenyResponse
    }
}

/// `response` with the `X-Decision-Id` header (left out if the id cannot be a header value).
fn with_decision_id(mut response: Response<Bytes>, decision_id: &str) -> Response<Bytes> {
    if let Ok(value) = HeaderValue::from_str(decision_id) {
        response.headers_mut().insert(&DECISION_ID, value);
    }
    response
}

/// The header that names a refused request's decision.
static DECISION_ID: http::HeaderName = http::HeaderName::from_static("x-decision-id");

impl<F> DenyResponse for F
where
    F: Fn(&Denial) -> Response<Bytes> + Send + Sync + 'static,
{
    fn respond(&self, denial: &Denial) -> Response<Bytes> {
        self(denial)
    }
}

/// The default deny response: `{"status": …, "message": …}` as `application/json` (with
/// `"decision_id"` and the `X-Decision-Id` header when the enforcer knows the request), with
/// `WWW-Authenticate: Bearer` on a 401 (and `error="invalid_token"` when a token was sent),
/// and on a 403 `Bearer error="insufficient_scope"` with the rule in `scope` and
/// `error_description` (RFC 6750, section 3.1).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonDenyResponse;

impl DenyResponse for JsonDenyResponse {
    fn respond(&self, denial: &Denial) -> Response<Bytes> {
        json_deny_response(denial, None)
    }

    fn respond_to(&self, denial: &Denial, decision_id: &str) -> Response<Bytes> {
        with_decision_id(json_deny_response(denial, Some(decision_id)), decision_id)
    }
}

fn json_deny_response(denial: &Denial, decision_id: Option<&str>) -> Response<Bytes> {
    json_response(
        denial.status(),
        denial.status_word(),
        &denial.to_string(),
        decision_id,
        |headers| {
            let challenge = match denial {
                Denial::Unauthenticated(TokenError::Missing) => HeaderValue::from_static("Bearer"),
                Denial::Unauthenticated(_) => {
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#)
                }
                Denial::Forbidden { rule, .. } => insufficient_scope(rule),
                Denial::InvalidDpopProof(DpopError::UseNonce { .. }) => {
                    HeaderValue::from_static(r#"DPoP error="use_dpop_nonce""#)
                }
                Denial::InvalidDpopProof(_) => {
                    HeaderValue::from_static(r#"DPoP error="invalid_dpop_proof""#)
                }
                _ => return,
            };
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        },
    )
}

/// `Bearer error="insufficient_scope"` naming `rule`, or each rule of a route that requires
/// any one of several (their label joins them with ` | `), space-separated as RFC 6750 §3
/// writes scopes. Without `scope` and `error_description` when a rule cannot be a scope token
/// (a rule is the service's own text, not the caller's, but may hold anything).
fn insufficient_scope(rule: &str) -> HeaderValue {
    let plain = || HeaderValue::from_static(r#"Bearer error="insufficient_scope""#);
    let scope_token = |token: &str| {
        !token.is_empty()
            && token
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
    };
    let scopes: Vec<&str> = rule.split(" | ").collect();
    if !scopes.iter().all(|token| scope_token(token)) {
        return plain();
    }
    let value = format!(
        r#"Bearer error="insufficient_scope", scope="{}", error_description="no role of the caller grants the rule {rule}""#,
        scopes.join(" ")
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| plain())
}

/// A `{"status": …, "message": …}` JSON response, with `"decision_id"` when given.
pub(crate) fn json_response(
    status: StatusCode,
    status_word: &str,
    message: &str,
    decision_id: Option<&str>,
    add_headers: impl FnOnce(&mut http::HeaderMap),
) -> Response<Bytes> {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        status: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        decision_id: Option<&'a str>,
    }
    let body = serde_json::to_vec(&Body {
        status: status_word,
        message,
        decision_id,
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
