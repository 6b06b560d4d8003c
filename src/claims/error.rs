//! [`ClaimsError`]: verified claims that are not the shape the service expects.

use crate::escape::Untrusted;

/// Claims that do not have the shape the service expects: a claim missing, of the wrong type,
/// or a payload that is not a JSON object. On the request path it becomes the matching
/// `TokenError` (a 401). The messages quote the token's text escaped and cut short.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The payload is not a JSON object.
    #[error("{}", Untrusted(.0))]
    Malformed(String),
    /// `exp` is missing.
    #[error("token has no `exp` claim")]
    MissingExpiry,
    /// A claim tokenleader always sends is missing.
    #[error("token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim that the claim mapping names is missing.
    #[error("token has no `{}` claim", Untrusted(.0))]
    MissingMappedClaim(String),
    /// A claim has the wrong type or shape.
    #[error("token claims are invalid: {}", Untrusted(.0))]
    Invalid(String),
}
