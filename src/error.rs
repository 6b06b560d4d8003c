//! [`Error`]: everything that can stop an `Enforcer` from being built, or a
//! revocation from being made.
//!
//! Each input has its own error type beside the module that reads it ([`AclError`] in
//! [`acl`](crate::acl), [`KeyError`] in [`keys`](crate::keys), …); this type gathers them, so
//! that `build()?` needs one. Errors that happen on the request path are not here: they are a
//! [`Denial`](crate::response::Denial).

pub use crate::tokenleader_config::ClientConfigError;

use crate::acl::AclError;
use crate::keys::KeyError;
use crate::reload::{ReloadError, WatcherError};
use crate::token::TokenError;

/// Everything that can go wrong while building an `Enforcer`, or while
/// revoking.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input could not be loaded: the ACL map, a key or key file, `client_configs.yml`, a
    /// JWKS (the same errors a reload reports, with the file and line where there is one).
    #[error(transparent)]
    Input(#[from] ReloadError),
    /// The file watcher could not be started.
    #[error(transparent)]
    Watcher(#[from] WatcherError),
    /// A token that cannot be revoked because it does not verify.
    #[error("cannot revoke: {0}")]
    Token(#[from] TokenError),
    /// The clock reads before the Unix epoch.
    #[error("the clock reads before the Unix epoch")]
    ClockBeforeEpoch,
    /// The builder was given settings that cannot work together; the message says which.
    #[error("Enforcer configuration: {0}")]
    Config(String),
}

impl From<AclError> for Error {
    fn from(error: AclError) -> Self {
        Error::Input(error.into())
    }
}

impl From<KeyError> for Error {
    fn from(error: KeyError) -> Self {
        Error::Input(error.into())
    }
}

impl From<ClientConfigError> for Error {
    fn from(error: ClientConfigError) -> Self {
        Error::Input(error.into())
    }
}

#[cfg(feature = "jwks")]
impl From<crate::reload::JwksError> for Error {
    fn from(error: crate::reload::JwksError) -> Self {
        Error::Input(error.into())
    }
}
