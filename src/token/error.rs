//! [`TokenError`]: why a token was refused.

use crate::claims::ClaimsError;
use crate::escape::Untrusted;

/// Why a token was refused: a fact about the token, answered with 401.
///
/// The messages are meant for the client: they say what failed, never what the token holds.
/// Where they quote the token's text (an `alg`, an `iss`, a claim's path or type), it is
/// escaped (control characters, line breaks) and cut short: a message can go into a log line
/// or a body as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// No token in any of the accepted headers.
    #[error("no token: send it in the X-Auth-Token header or as Authorization: Bearer")]
    Missing,
    /// Two token headers carry different tokens, or one header is repeated.
    #[error("ambiguous token: {0}")]
    Ambiguous(&'static str),
    /// The token is longer than the configured maximum.
    #[error("token is longer than {max} bytes")]
    TooLong {
        /// The configured maximum.
        max: usize,
    },
    /// Not a compact JWS, bad base64url, or a part that is not the JSON it should be.
    #[error("malformed token: {}", Untrusted(.0))]
    Malformed(String),
    /// `alg` is missing or not in the allow list.
    #[error("token algorithm `{}` is not allowed", Untrusted(.0))]
    AlgorithmNotAllowed(String),
    /// The key its `kid` names does not check its algorithm (an `ES256` token naming an RSA
    /// key's `kid`).
    #[error("token algorithm `{}` is not one its key (`kid`) checks", Untrusted(.0))]
    AlgorithmNotForKey(String),
    /// The header's `typ` is not the one this service requires (e.g. `at+jwt`, RFC 9068: an
    /// ID token is not an access token).
    #[error(
        "token type (`typ` header) must be `{0}`: an ID token or another kind of token is not accepted here"
    )]
    WrongType(String),
    /// The header carries `crit`, which this verifier does not process.
    #[error("token header has a `crit` parameter, which is not supported")]
    CriticalHeader,
    /// `kid` names no configured key.
    #[error("token names an unknown key id")]
    UnknownKeyId,
    /// The signature does not verify with any configured key.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` is missing.
    #[error("token has no `exp` claim")]
    MissingExpiry,
    /// `exp` has passed (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` lies in the future (beyond the leeway).
    #[error("token is not valid yet (`nbf` lies in the future)")]
    NotYetValid,
    /// `iat` lies in the future (beyond the leeway).
    #[error("token was issued in the future (`iat` lies ahead of this server's clock)")]
    IssuedInFuture,
    /// `exp` lies further ahead than the maximum lifetime allows.
    #[error("token lifetime exceeds the maximum of {max_secs} s")]
    LifetimeTooLong {
        /// The configured maximum, in seconds.
        max_secs: u64,
    },
    /// A claim tokenleader always sends is missing.
    #[error("token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// A claim that the claim mapping names is missing.
    #[error("token has no `{}` claim", Untrusted(.0))]
    MissingMappedClaim(String),
    /// `iss` is missing while an issuer is configured.
    #[error("token has no `iss` claim, and this service requires one")]
    MissingIssuer,
    /// `iss` is not the configured issuer.
    #[error("token was issued by another issuer")]
    WrongIssuer,
    /// Several issuers are trusted and `iss` names none of them (at most 64 characters of it
    /// are quoted).
    #[error("token issuer `{}` is not trusted here", Untrusted(.0))]
    UnknownIssuer(String),
    /// Several issuers are trusted, the token has no `iss`, and none takes tokens without
    /// one.
    #[error("token has no `iss` claim, and no trusted issuer takes tokens without one")]
    NoIssuer,
    /// A claim that tells token kinds apart has the wrong value, or is there when it must
    /// not be (a refresh token on an API route).
    #[error("token is not accepted here: {}", Untrusted(.0))]
    ClaimRequirement(String),
    /// The token is bound to another address than the caller's.
    #[error("token is bound to another address than the caller's")]
    WrongAddress,
    /// The token is bound to an address, and the caller's is not known.
    #[error("token is bound to an address, and the caller's address is not known")]
    NoClientAddress,
    /// `aud` names none of the configured audiences.
    #[error("token is not meant for this service (`aud`)")]
    WrongAudience,
    /// A claim has the wrong type or shape.
    #[error("token claims are invalid: {}", Untrusted(.0))]
    InvalidClaims(String),
    /// The issuer says the token is not active (introspection: "inactive", "No such
    /// token", "Invalid token").
    #[error("token is not active (its issuer says so)")]
    Inactive,
    /// The token, or its user, was revoked.
    #[error("token has been revoked")]
    Revoked,
    /// The token is bound to a DPoP key (`cnf.jkt`) and was sent as a bearer token.
    #[error("token is bound to a key (DPoP): send it as `Authorization: DPoP` with a proof")]
    DpopBound,
    /// The token is bound to a DPoP key, and its issuer's tokens are not taken with DPoP here.
    #[error("token is bound to a key (DPoP), and this service takes no DPoP tokens of its issuer")]
    DpopNotAccepted,
    /// Its issuer's tokens are taken with DPoP only, and this one came as a bearer token.
    #[error(
        "this service takes tokens of this issuer with DPoP only: send a DPoP-bound token as `Authorization: DPoP` with a proof"
    )]
    DpopRequired,
    /// Sent as `Authorization: DPoP`, and not bound to a key (`cnf.jkt`).
    #[error("token sent with DPoP is not bound to a key (`cnf.jkt`)")]
    NotDpopBound,
    /// The token is bound to a client certificate (`cnf["x5t#S256"]`), and the request
    /// presented none (or this service reads none).
    #[error("token is bound to a client certificate, and this request presented none")]
    NoClientCertificate,
    /// The token is bound to another client certificate than the request's.
    #[error("token is bound to another client certificate")]
    WrongCertificate,
}

impl TokenError {
    /// A short, fixed name of the failure (`expired`, `bad_signature`, …), for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenError::Missing => "missing",
            TokenError::Ambiguous(_) => "ambiguous",
            TokenError::TooLong { .. } => "too_long",
            TokenError::Malformed(_) => "malformed",
            TokenError::AlgorithmNotAllowed(_) | TokenError::AlgorithmNotForKey(_) => "algorithm",
            TokenError::WrongType(_) => "typ",
            TokenError::CriticalHeader => "crit",
            TokenError::UnknownKeyId => "unknown_kid",
            TokenError::BadSignature => "bad_signature",
            TokenError::MissingExpiry => "no_exp",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::IssuedInFuture => "issued_in_future",
            TokenError::LifetimeTooLong { .. } => "lifetime",
            TokenError::MissingClaim(_) | TokenError::MissingMappedClaim(_) => "missing_claim",
            TokenError::MissingIssuer
            | TokenError::WrongIssuer
            | TokenError::UnknownIssuer(_)
            | TokenError::NoIssuer => "issuer",
            TokenError::WrongAudience => "audience",
            TokenError::ClaimRequirement(_) => "claim_requirement",
            TokenError::WrongAddress | TokenError::NoClientAddress => "address",
            TokenError::InvalidClaims(_) => "invalid_claims",
            TokenError::Revoked => "revoked",
            TokenError::Inactive => "inactive",
            TokenError::DpopBound
            | TokenError::DpopNotAccepted
            | TokenError::DpopRequired
            | TokenError::NotDpopBound => "dpop",
            TokenError::NoClientCertificate | TokenError::WrongCertificate => "certificate",
        }
    }
}

impl From<ClaimsError> for TokenError {
    fn from(error: ClaimsError) -> Self {
        match error {
            ClaimsError::Malformed(message) => TokenError::Malformed(message),
            ClaimsError::MissingExpiry => TokenError::MissingExpiry,
            ClaimsError::MissingClaim(name) => TokenError::MissingClaim(name),
            ClaimsError::MissingMappedClaim(path) => TokenError::MissingMappedClaim(path),
            ClaimsError::Invalid(message) => TokenError::InvalidClaims(message),
        }
    }
}
