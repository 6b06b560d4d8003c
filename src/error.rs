//! [`Error`]: everything that can stop an `Enforcer` from being built, or a
//! revocation from being made.
//!
//! Each input has its own error type beside the module that reads it ([`AclError`] in
//! [`acl`](crate::acl), [`KeyError`] in [`keys`](crate::keys), …); this type gathers them, so
//! that `build()?` needs one. Errors that happen on the request path are not here: they are a
//! [`Denial`](crate::response::Denial).

pub use crate::client_config::ClientConfigError;

use crate::acl::AclError;
use crate::keys::KeyError;
use crate::reload::{ReloadError, WatcherError};
use crate::token::TokenError;

/// Everything that can go wrong while building an `Enforcer`, or while
/// revoking.
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
    #[error(transparent)]
    ClientConfig(#[from] ClientConfigError),
    /// The JWKS could not be fetched or used (feature `jwks`).
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    #[error(transparent)]
    Jwks(#[from] crate::reload::JwksError),
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

impl From<ReloadError> for Error {
    fn from(error: ReloadError) -> Self {
        match error {
            ReloadError::Acl(error) => Error::Acl(error),
            ReloadError::Key(error) => Error::Key(error),
            ReloadError::ClientConfig(error) => Error::ClientConfig(error),
            #[cfg(feature = "jwks")]
            ReloadError::Jwks(error) => Error::Jwks(error),
        }
    }
}
