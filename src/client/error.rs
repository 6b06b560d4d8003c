//! [`ClientError`]: a request to a tokenleader server that failed.

use super::CredentialsError;
use crate::claims::ClaimsError;

/// A request to a tokenleader server that failed (feature `client`).
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
    Claims(#[source] ClaimsError),
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
        "the tokenleader server answered HTTP {status} with an HTML page, not JSON: {}",
        html_hint(*status)
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
        network: super::Network,
    },
    /// The client could not be configured.
    #[error("client configuration: {0}")]
    Config(String),
    /// The stored password could not be read.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The server refused the call for the caller's roles: it answers HTTP 200 with
    /// "this endpoint is restricted" when no role of the caller grants the route's rule (or
    /// the token was refused).
    #[error(
        "the tokenleader server refused the call: no role of the user grants the rule, or the token was refused"
    )]
    Forbidden,
    /// The server has no user by this name.
    #[error("the tokenleader server has no user `{0}`")]
    NoSuchUser(String),
    /// The server did not register the user.
    #[error("the tokenleader server did not add user `{name}`: {reason}")]
    UserNotAdded {
        /// The user name.
        name: String,
        /// What the server's answer means.
        reason: String,
    },
}

/// What an HTML answer most likely means.
fn html_hint(status: u16) -> &'static str {
    match status {
        404 | 405 => "is the URL right?",
        500..=599 => "the server failed on this request (its log says why)",
        _ => "is the URL right, and the request complete?",
    }
}
