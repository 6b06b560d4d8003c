//! Hot reload of the ACL file, key files, `client_configs.yml` and a JWKS: watched, validated,
//! swapped whole.
//!
//! ```no_run
//! use tokenleader_rbac::Enforcer;
//! use tokenleader_rbac::reload::ReloadEvent;
//!
//! let enforcer = Enforcer::builder()
//!     .public_key_file("/etc/tokenleader/id_rsa.pub")
//!     .acl_file("/etc/tokenleader/role_to_acl_map.yml")
//!     .on_reload(|event: &ReloadEvent| eprintln!("{event}"))
//!     .build()?;
//! // Later, from an admin endpoint or a SIGHUP handler (it blocks briefly: use spawn_blocking):
//! enforcer.reload()?;
//! println!("ACL generation {}", enforcer.acl_status().generation);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! One watcher thread (no async runtime needed) serves every watched file. It watches their
//! *folders*, so it sees editors that write a temporary file and rename it, Kubernetes
//! ConfigMaps (whose `..data` symlink is swapped to a new folder), files deleted and created
//! again, and in-place writes. An in-place write is applied once the writer has *closed* the
//! file (the close-after-write event), never while it is open for writing; a renamed file is
//! applied at once. Bursts of events are debounced; a periodic check catches anything the
//! events miss (it skips a file that is being written, and otherwise reads until two reads a
//! moment apart agree).
//!
//! Every file goes through one bounded reader: regular files only (a FIFO or a device behind
//! the path is refused at once, without blocking), never more than the file's cap. A reload
//! parses and validates exactly as at start-up, and only then swaps the new version in with one
//! atomic store: a request sees the old map or the new one, never a mix. A file that fails
//! (syntax, unknown key, duplicate role, empty, unreadable, missing, too large, not a regular
//! file) leaves the last good version in force; [`AclStatus::last_error`] says why, with the
//! line. The safe way to update a file is still to write a temporary file beside it and rename
//! it over the old one.
//!
//! The thread stops when the last clone of the `Enforcer` is dropped.

mod acl_source;
#[cfg(feature = "jwks")]
pub(crate) mod jwks;
#[cfg(feature = "jwks")]
pub(crate) mod key_cache;
mod key_source;
mod live;
mod source;
mod status;
mod watcher;

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;

use acl_source::AclSource;
#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
pub use jwks::{Document, JwksError};
pub(crate) use key_source::{KeyFile, KeySource};
pub(crate) use live::LiveState;
pub(crate) use source::ReloadCallback;
pub(crate) use source::Reporter;
pub use status::{AclStatus, KeyStatus, ReloadError, ReloadEvent, Reloadable};
pub use watcher::WatcherError;
pub(crate) use watcher::{WatchGuard, spawn_watcher};

use crate::acl::AclMap;
use crate::keys::PublicKey;

/// Every reloadable input of one enforcer, and the live state they publish into.
pub(crate) struct Reloader {
    pub(crate) live: Arc<LiveState>,
    acl: AclSource,
    shadow: Option<AclSource>,
    /// Each issuer's keys, in the order the issuers were given.
    pub(crate) key_sources: Vec<Arc<KeySource>>,
    reporter: Arc<Reporter>,
}

/// Where the enforced ACL map comes from.
pub(crate) enum AclInput {
    File(PathBuf),
    Given(AclMap),
}

/// One issuer's keys as given: its name for the logs, its static keys and its key files.
pub(crate) struct IssuerKeyInput {
    pub(crate) name: String,
    pub(crate) static_keys: Vec<PublicKey>,
    pub(crate) key_files: Vec<KeyFile>,
}

/// What the builder hands over.
pub(crate) struct ReloadConfig {
    pub(crate) acl: AclInput,
    pub(crate) shadow_acl_file: Option<PathBuf>,
    pub(crate) issuers: Vec<IssuerKeyInput>,
    pub(crate) cache_capacity: usize,
    pub(crate) on_reload: Option<ReloadCallback>,
}

impl Reloader {
    /// Loads every input strictly: any failure fails `build()`.
    pub(crate) fn load(config: ReloadConfig) -> Result<Self, ReloadError> {
        let reporter = Arc::new(Reporter {
            on_reload: config.on_reload,
        });
        let key_sources = config
            .issuers
            .into_iter()
            .map(|issuer| {
                let source = KeySource::load(
                    issuer.name,
                    issuer.static_keys,
                    issuer.key_files,
                    config.cache_capacity,
                    reporter.clone(),
                );
                source.map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (acl, map) = match config.acl {
            AclInput::File(path) => AclSource::load_file("ACL map", path, true)?,
            AclInput::Given(map) => (AclSource::given("ACL map", &map), map),
        };
        let (shadow, shadow_map) = match config.shadow_acl_file {
            Some(path) => {
                let (source, map) = AclSource::load_file("shadow ACL map", path, false)?;
                (Some(source), Some(ArcSwap::from_pointee(map)))
            }
            None => (None, None),
        };
        Ok(Reloader {
            live: Arc::new(LiveState {
                acl: ArcSwap::from_pointee(map),
                shadow_acl: shadow_map,
            }),
            acl,
            shadow,
            key_sources,
            reporter,
        })
    }

    /// The files to watch: ACL, shadow ACL, every issuer's key files.
    pub(crate) fn watched_files(&self) -> Vec<PathBuf> {
        let acl_files = self.acl.path().into_iter();
        let shadow_files = self.shadow.iter().filter_map(AclSource::path);
        let key_files = self.key_sources.iter().flat_map(|source| source.paths());
        acl_files
            .chain(shadow_files)
            .chain(key_files)
            .map(|path| path.to_owned())
            .collect()
    }

    /// Re-reads every file; a changed file that validates is swapped in. Returns the first
    /// refusal (the other inputs are still reloaded).
    pub(crate) fn reload(&self) -> Result<(), Arc<ReloadError>> {
        let acl = self.acl.reload(&self.live.acl, &self.reporter);
        let shadow = match (&self.shadow, &self.live.shadow_acl) {
            (Some(source), Some(target)) => source.reload(target, &self.reporter),
            _ => Ok(()),
        };
        let keys = self
            .key_sources
            .iter()
            .map(|source| source.reload())
            .fold(Ok(()), Result::and);
        acl.and(shadow).and(keys)
    }

    /// Swaps in a map given by the application.
    pub(crate) fn set_acl(&self, map: AclMap) {
        self.acl.set(&self.live.acl, map);
    }

    pub(crate) fn acl_status(&self) -> AclStatus {
        self.acl.status()
    }

    pub(crate) fn shadow_status(&self) -> Option<AclStatus> {
        self.shadow.as_ref().map(AclSource::status)
    }
}
