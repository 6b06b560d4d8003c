//! Error types.
//!
//! Start-up and configuration problems are [`Error`] (with [`KeyError`] and [`AclError`] for
//! the two inputs an operator edits); a token refused on the request path is a [`TokenError`],
//! whose message is safe to send to the client: it never contains the token.

use std::{fmt, io, path::PathBuf};

/// Everything that can go wrong while building an [`Enforcer`](crate::Enforcer).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A public key could not be loaded or was refused.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The ACL map could not be read or is invalid.
    #[error(transparent)]
    Acl(#[from] AclError),
    /// tokenleader's `client_configs.yml` could not be used.
    #[error("client config {}: {message}", path.display())]
    ClientConfig {
        /// The file that was read.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A token that cannot be revoked because it does not verify.
    #[error("cannot revoke: {0}")]
    Token(#[from] TokenError),
    /// The builder was given settings that cannot work together.
    #[error("Enforcer configuration: {0}")]
    Config(String),
}

/// A public key that could not be loaded, or that is refused because it is unsafe.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read key file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The input is not in the expected format.
    #[error("{format} key: {message}")]
    Format {
        /// `OpenSSH`, `PEM` or `JWK`.
        format: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The key is not an RSA key.
    #[error("key type `{0}` is not supported: tokenleader signs with RSA, give an RSA public key")]
    NotRsa(String),
    /// The modulus is shorter than 2048 bits.
    #[error("RSA key of {bits} bits refused: at least 2048 bits are required")]
    TooSmall {
        /// Size of the modulus in bits.
        bits: usize,
    },
    /// The modulus is longer than 8192 bits.
    #[error("RSA key of {bits} bits refused: at most 8192 bits are supported")]
    TooLarge {
        /// Size of the modulus in bits.
        bits: usize,
    },
    /// The public exponent is 1, even, or longer than 33 bits.
    #[error("RSA public exponent refused: it must be odd, greater than 1 and below 2^33")]
    BadExponent,
}

impl KeyError {
    pub(crate) fn format(format: &'static str, message: impl Into<String>) -> Self {
        KeyError::Format {
            format,
            message: message.into(),
        }
    }
}

/// An ACL map that could not be read or is invalid. `Display` names the origin (file) and the
/// line where the problem is, e.g.
/// `ACL file role_to_acl_map.yml line 7: role `role2` listed twice`.
#[derive(Debug, thiserror::Error)]
#[error("{origin}{}: {problem}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct AclError {
    origin: AclOrigin,
    line: Option<u64>,
    problem: AclProblem,
}

impl AclError {
    pub(crate) fn new(origin: AclOrigin, line: Option<u64>, problem: AclProblem) -> Self {
        AclError {
            origin,
            line,
            problem,
        }
    }

    /// The 1-based line the problem is on, when there is one.
    pub fn line(&self) -> Option<u64> {
        self.line
    }

    /// The file the map came from (`None` for a map given as text).
    pub fn path(&self) -> Option<&std::path::Path> {
        match &self.origin {
            AclOrigin::File(path) => Some(path),
            AclOrigin::Text => None,
        }
    }

    /// What is wrong.
    pub fn problem(&self) -> &AclProblem {
        &self.problem
    }
}

/// Where an ACL map came from.
#[derive(Debug, Clone)]
pub(crate) enum AclOrigin {
    File(PathBuf),
    Text,
}

impl fmt::Display for AclOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AclOrigin::File(path) => write!(f, "ACL file {}", path.display()),
            AclOrigin::Text => f.write_str("ACL map"),
        }
    }
}

/// What is wrong with an ACL map.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AclProblem {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Read(#[source] io::Error),
    /// The file is larger than the size cap.
    #[error("file is {size} bytes, larger than the {max} bytes allowed")]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The cap.
        max: u64,
    },
    /// The file is empty or holds only comments.
    #[error("no roles: the file is empty or holds only comments (a map lists `- name: …` entries)")]
    Empty,
    /// Not valid YAML, or not the expected shape (unknown key, wrong type, missing field).
    #[error("{0}")]
    Invalid(String),
    /// The same role is listed twice.
    #[error("role `{0}` listed twice")]
    DuplicateRole(String),
    /// A role's name is empty.
    #[error("role name is empty")]
    EmptyRoleName,
    /// A rule is empty.
    #[error("role `{0}` allows an empty rule")]
    EmptyRule(String),
}

/// Why a token was refused. Every variant ends in 401, except [`TokenError::Clock`] (500).
///
/// The messages are meant for the client: they say what failed, never what the token holds.
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
    #[error("malformed token: {0}")]
    Malformed(String),
    /// `alg` is missing or not in the allow list.
    #[error("token algorithm `{0}` is not allowed")]
    AlgorithmNotAllowed(String),
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
    #[error("token has no `{0}` claim")]
    MissingMappedClaim(String),
    /// `iss` is missing while an issuer is configured.
    #[error("token has no `iss` claim, and this service requires one")]
    MissingIssuer,
    /// `iss` is not the configured issuer.
    #[error("token was issued by another issuer")]
    WrongIssuer,
    /// `aud` names none of the configured audiences.
    #[error("token is not meant for this service (`aud`)")]
    WrongAudience,
    /// A claim has the wrong type or shape.
    #[error("token claims are invalid: {0}")]
    InvalidClaims(String),
    /// The token, or its user, was revoked.
    #[error("token has been revoked")]
    Revoked,
    /// The revocation store cannot answer and fails closed (503).
    #[error("cannot check revocations now; try again")]
    RevocationUnavailable,
    /// The server's clock reads before 1970: nothing can be checked.
    #[error("server clock is before the Unix epoch")]
    Clock,
}

/// A request to a tokenleader server that failed (feature `client`).
#[cfg(feature = "client")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server said `Wrong Password`.
    #[error("the tokenleader server refused the password (Wrong Password)")]
    WrongPassword,
    /// The server said `User not registered`.
    #[error("the tokenleader server does not know this user (User not registered)")]
    UnknownUser,
    /// The server said `missing authentication info`.
    #[error("the tokenleader server got no user name or password (missing authentication info)")]
    MissingCredentials,
    /// The server answered with another `status` text.
    #[error("the tokenleader server refused: {status} {message}")]
    Refused {
        /// The server's `status`.
        status: String,
        /// The server's `message`.
        message: String,
    },
    /// Remote verification: the token has expired.
    #[error("the tokenleader server says the token has expired (Signature expired)")]
    TokenExpired,
    /// Remote verification: the token is not valid.
    #[error("the tokenleader server says the token is invalid (Invalid token)")]
    TokenInvalid,
    /// The verified claims are not tokenleader's.
    #[error("the token's claims are not tokenleader's: {0}")]
    Claims(TokenError),
    /// An HTTP error status with a body that is not HTML.
    #[error("the tokenleader server answered HTTP {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// An HTML page where JSON was expected.
    #[error(
        "the tokenleader server answered HTTP {status} with an HTML page, not JSON: is the URL right, and the request complete?"
    )]
    HtmlPage {
        /// The HTTP status.
        status: u16,
    },
    /// JSON that is not what the server should send.
    #[error("unexpected answer from the tokenleader server: {0}")]
    Malformed(String),
    /// The connect or total timeout passed.
    #[error("the tokenleader server did not answer in time")]
    Timeout,
    /// No connection could be made.
    #[error("cannot connect to the tokenleader server: {0}")]
    Connect(String),
    /// Another transport error.
    #[error("request to the tokenleader server failed: {0}")]
    Http(String),
    /// `token()` needs a user and a password.
    #[error("no credentials: give the client a user and a password")]
    NoCredentials,
    /// The catalog has no such service.
    #[error("the service catalog has no service `{0}`")]
    UnknownService(String),
    /// The service has no URL for that network.
    #[error("service `{service}` has no {network:?} endpoint in the catalog")]
    NoEndpoint {
        /// The service.
        service: String,
        /// The network asked for.
        network: crate::client::Network,
    },
    /// The client could not be configured.
    #[error("client configuration: {0}")]
    Config(String),
}

impl TokenError {
    /// A short, fixed name of the failure (`expired`, `bad_signature`, …), for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenError::Missing => "missing",
            TokenError::Ambiguous(_) => "ambiguous",
            TokenError::TooLong { .. } => "too_long",
            TokenError::Malformed(_) => "malformed",
            TokenError::AlgorithmNotAllowed(_) => "algorithm",
            TokenError::CriticalHeader => "crit",
            TokenError::UnknownKeyId => "unknown_kid",
            TokenError::BadSignature => "bad_signature",
            TokenError::MissingExpiry => "no_exp",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::IssuedInFuture => "issued_in_future",
            TokenError::LifetimeTooLong { .. } => "lifetime",
            TokenError::MissingClaim(_) | TokenError::MissingMappedClaim(_) => "missing_claim",
            TokenError::MissingIssuer | TokenError::WrongIssuer => "issuer",
            TokenError::WrongAudience => "audience",
            TokenError::InvalidClaims(_) => "invalid_claims",
            TokenError::Revoked => "revoked",
            TokenError::RevocationUnavailable => "revocation_unavailable",
            TokenError::Clock => "clock",
        }
    }
}

/// The line of a YAML error and its message without the location that serde-saphyr appends
/// (the callers put the line in front).
pub(crate) fn yaml_error(error: &serde_saphyr::Error) -> (Option<u64>, String) {
    let location = error.location();
    let mut message = error.without_snippet().to_string();
    if let Some(l) = location {
        let suffix = format!(" at line {}, column {}", l.line(), l.column());
        if message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
    }
    (location.map(|l| l.line()), message)
}
