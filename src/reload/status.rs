//! What a reload reports: the status of the ACL map and of the keys, the event the
//! `on_reload` callback is told, and why an input was refused.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use crate::acl::AclError;
use crate::keys::KeyError;
use crate::tokenleader_config::ClientConfigError;

/// What a reload concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reloadable {
    /// The ACL map (or the shadow ACL map).
    Acl,
    /// The keys (key files, `client_configs.yml`'s `tl_public_key`, a JWKS).
    Keys,
}

/// Why a reloadable input was refused. The input's previous version stays in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The ACL file is unreadable or invalid.
    #[error(transparent)]
    Acl(#[from] AclError),
    /// A key file is unreadable or holds no acceptable key.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// `client_configs.yml` is unreadable or its `tl_public_key` is unusable.
    #[error(transparent)]
    ClientConfig(#[from] ClientConfigError),
    /// The JWKS could not be fetched or holds no acceptable key (feature `jwks`).
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    #[error(transparent)]
    Jwks(#[from] super::jwks::JwksError),
}

/// What the `on_reload` callback is told.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadEvent<'a> {
    /// A changed input was validated and is now in force.
    Applied {
        /// ACL or keys.
        what: Reloadable,
        /// The generation now in force.
        generation: u64,
    },
    /// The file of a refused input is again the version in force (written back, or fixed to
    /// the same content): the refusal is cleared.
    Recovered {
        /// ACL or keys.
        what: Reloadable,
    },
    /// A changed input was refused; the previous version stays in force.
    Refused {
        /// ACL or keys.
        what: Reloadable,
        /// Why, with the file and line where there is one.
        error: &'a ReloadError,
    },
}

impl fmt::Display for ReloadEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadEvent::Applied { what, generation } => {
                write!(f, "{what:?} reloaded: generation {generation} in force")
            }
            ReloadEvent::Recovered { what } => {
                write!(
                    f,
                    "{what:?} file is again the version in force: refusal cleared"
                )
            }
            ReloadEvent::Refused { what, error } => {
                write!(
                    f,
                    "{what:?} reload refused, the previous version stays: {error}"
                )
            }
        }
    }
}

/// The ACL map in force, and how the last reload went.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AclStatus {
    /// 1 for the map loaded by `build()`, one more for each map swapped in since.
    pub generation: u64,
    /// When the map in force was loaded.
    pub loaded_at: SystemTime,
    /// The file it came from (`None` for a map given with `.acl(..)` or `set_acl`).
    pub path: Option<PathBuf>,
    /// Roles in the map.
    pub roles: usize,
    /// (role, rule) grants in the map.
    pub grants: usize,
    /// The map's revision ([`AclMap::revision`](crate::AclMap::revision)), also in every
    /// decision's log event.
    pub revision: String,
    /// Why the newest version of the file was refused; `None` once a good one is in force.
    pub last_error: Option<Arc<ReloadError>>,
}

/// The keys in force, and how the last reload went.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeyStatus {
    /// 1 for the keys loaded by `build()`, one more for each key set swapped in since.
    pub generation: u64,
    /// When the keys in force were loaded.
    pub loaded_at: SystemTime,
    /// The files keys are read from (key files and `client_configs.yml`), all watched.
    pub paths: Vec<PathBuf>,
    /// Keys in force (given directly, from files, and from a JWKS).
    pub keys: usize,
    /// Tokens in the verified-token cache of the keys in force.
    pub cached_tokens: usize,
    /// Why the newest version of a key input was refused; `None` once good ones are in
    /// force.
    pub last_error: Option<Arc<ReloadError>>,
    /// When the JWKS keys in force were fetched, if they came from the key cache file because
    /// the fetch at start failed (they may be stale); `None` once a fetch succeeds.
    pub keys_from_cache: Option<SystemTime>,
    /// Keys of the last JWKS fetched that this crate cannot use (another curve, an unknown
    /// `alg`, …): skipped, each logged with its `kid` and why.
    pub skipped_keys: usize,
}
