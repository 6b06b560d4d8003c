//! Hot reload of the ACL file and key files: watched, validated, swapped whole.
//!
//! ```no_run
//! use tokenleader_rbac::{Enforcer, ReloadEvent};
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
//! A watcher thread (no async runtime needed) watches the *folders* of the files, so it sees
//! in-place writes, editors that write a temporary file and rename it, Kubernetes ConfigMaps
//! (whose `..data` symlink is swapped to a new folder), and files deleted and created again.
//! Bursts of events are debounced; a periodic check catches anything the events miss.
//!
//! A reload reads the whole file until two reads a moment apart agree (so a file caught
//! half-written is not applied), parses and validates it exactly as at start-up, and only then
//! swaps it in with one atomic store: a request sees the old map or the new one, never a mix.
//! A file that fails (syntax, unknown key, duplicate role, empty, unreadable, missing, too
//! large) leaves the last good version in force; [`AclStatus::last_error`] says why, with the
//! line. The safe way to update a file is to write a temporary file beside it and rename it
//! over the old one.
//!
//! The thread stops when the last clone of the [`Enforcer`](crate::Enforcer) is dropped.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};

use crate::acl::{AclMap, MAX_ACL_FILE_BYTES};
use crate::cache::KeySet;
use crate::error::{AclError, AclOrigin, AclProblem, Error, KeyError};
use crate::telemetry;
use crate::token::PublicKey;

/// Key files larger than this are refused: a public key is a few hundred bytes.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;
/// How long the folder must stay quiet before a burst of events is acted on.
const DEBOUNCE_QUIET: Duration = Duration::from_millis(50);
/// A burst longer than this is acted on anyway, so a busy folder cannot delay reloads forever.
const DEBOUNCE_MAX: Duration = Duration::from_secs(1);
/// The pause between the two reads that must agree.
const SETTLE: Duration = Duration::from_millis(20);
/// How many read pairs may disagree before the reload gives up (and the next event retries).
const MAX_SETTLE_TRIES: usize = 25;

/// What a reload concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reloadable {
    /// The ACL map.
    Acl,
    /// The key files.
    Keys,
}

/// What the [`on_reload`](crate::EnforcerBuilder::on_reload) callback is told.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadEvent<'a> {
    /// A changed file was validated and is now in force.
    Applied {
        /// ACL or keys.
        what: Reloadable,
        /// The generation now in force.
        generation: u64,
    },
    /// A changed file was refused; the previous version stays in force.
    Refused {
        /// ACL or keys.
        what: Reloadable,
        /// Why, with the file and line where there is one.
        error: &'a Error,
    },
}

impl fmt::Display for ReloadEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadEvent::Applied { what, generation } => {
                write!(f, "{what:?} reloaded: generation {generation} in force")
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
    /// Why the newest version of the file was refused; `None` once a good one is in force.
    pub last_error: Option<Arc<Error>>,
}

/// The keys in force, and how the last reload went.
#[derive(Debug, Clone)]
pub struct KeyStatus {
    /// 1 for the keys loaded by `build()`, one more for each key set swapped in since.
    pub generation: u64,
    /// When the keys in force were loaded.
    pub loaded_at: SystemTime,
    /// The key files that are watched.
    pub paths: Vec<PathBuf>,
    /// Keys in force (given directly and from files).
    pub keys: usize,
    /// Tokens in the verified-token cache of the keys in force.
    pub cached_tokens: usize,
    /// Why the newest version of a key file was refused; `None` once good ones are in force.
    pub last_error: Option<Arc<Error>>,
}

pub(crate) type ReloadCallback = Box<dyn Fn(&ReloadEvent<'_>) + Send + Sync>;

/// The ACL map and the keys, with what is needed to reload them.
pub(crate) struct Reloadables {
    pub(crate) acl: ArcSwap<AclMap>,
    pub(crate) keys: ArcSwap<KeySet>,
    static_keys: Vec<PublicKey>,
    cache_capacity: usize,
    label: &'static str,
    acl_file: Option<PathBuf>,
    key_files: Vec<PathBuf>,
    state: Mutex<State>,
    on_reload: Option<ReloadCallback>,
}

/// What the last reloads saw. Behind a mutex: reloads run one at a time, off the request path.
struct State {
    acl_bytes: Option<Vec<u8>>,
    key_bytes: Vec<Option<Vec<u8>>>,
    /// The keys of the key files, as last loaded.
    file_keys: Vec<PublicKey>,
    /// The keys of a remote key set (JWKS), as last fetched.
    remote_keys: Vec<PublicKey>,
    acl_status: AclStatus,
    key_status: KeyStatus,
}

/// The reload settings of the builder.
pub(crate) struct ReloadConfig {
    /// What the ACL file is called in logs (`ACL map`, `shadow ACL map`).
    pub(crate) label: &'static str,
    pub(crate) acl_file: Option<PathBuf>,
    pub(crate) key_files: Vec<PathBuf>,
    pub(crate) on_reload: Option<ReloadCallback>,
    /// Capacity of the verified-token cache of each key set; 0 for none.
    pub(crate) cache_capacity: usize,
}

impl Reloadables {
    /// Loads everything given by path, strictly: any failure fails `build()`.
    pub(crate) fn load(
        config: ReloadConfig,
        static_keys: Vec<PublicKey>,
        acl: Option<AclMap>,
    ) -> Result<Self, Error> {
        let now = SystemTime::now();
        let (acl, acl_bytes) = match (&config.acl_file, acl) {
            (Some(path), _) => {
                let bytes = read_acl_file(path)?;
                (AclMap::from_file_bytes(path, &bytes)?, Some(bytes))
            }
            (None, Some(map)) => (map, None),
            (None, None) => {
                return Err(Error::Config(
                    "no ACL map: call `.acl_file(path)` or `.acl(map)`".into(),
                ));
            }
        };
        let mut file_keys = Vec::with_capacity(config.key_files.len());
        let mut key_bytes = Vec::with_capacity(config.key_files.len());
        for path in &config.key_files {
            let bytes = read_key_file(path)?;
            file_keys.push(PublicKey::from_file_bytes(&bytes)?);
            key_bytes.push(Some(bytes));
        }
        let keys: Vec<PublicKey> = static_keys.iter().chain(&file_keys).cloned().collect();
        let state = State {
            acl_bytes,
            key_bytes,
            file_keys,
            remote_keys: Vec::new(),
            acl_status: AclStatus {
                generation: 1,
                loaded_at: now,
                path: config.acl_file.clone(),
                roles: acl.role_count(),
                grants: acl.grant_count(),
                last_error: None,
            },
            key_status: KeyStatus {
                generation: 1,
                loaded_at: now,
                paths: config.key_files.clone(),
                keys: keys.len(),
                cached_tokens: 0,
                last_error: None,
            },
        };
        Ok(Reloadables {
            acl: ArcSwap::from_pointee(acl),
            keys: ArcSwap::from_pointee(KeySet::new(keys, config.cache_capacity)),
            static_keys,
            cache_capacity: config.cache_capacity,
            label: config.label,
            acl_file: config.acl_file,
            key_files: config.key_files,
            state: Mutex::new(state),
            on_reload: config.on_reload,
        })
    }

    /// Whether anything is loaded from a file, and so worth watching.
    pub(crate) fn has_files(&self) -> bool {
        self.acl_file.is_some() || !self.key_files.is_empty()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic in a callback cannot leave the state half-updated: keep going with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn acl_status(&self) -> AclStatus {
        self.state().acl_status.clone()
    }

    pub(crate) fn key_status(&self) -> KeyStatus {
        let mut status = self.state().key_status.clone();
        status.cached_tokens = self
            .keys
            .load()
            .cache
            .as_ref()
            .map_or(0, |cache| cache.len());
        status
    }

    /// Swaps in a map given by the application.
    pub(crate) fn set_acl(&self, map: AclMap) {
        let mut state = self.state();
        let status = &mut state.acl_status;
        status.generation += 1;
        status.loaded_at = SystemTime::now();
        status.path = None;
        status.roles = map.role_count();
        status.grants = map.grant_count();
        status.last_error = None;
        self.acl.store(Arc::new(map));
    }

    /// Re-reads every file; a changed file that validates is swapped in. Returns the first
    /// refusal (the other file kinds are still reloaded).
    pub(crate) fn reload(&self) -> Result<(), Arc<Error>> {
        let mut state = self.state();
        let acl = self.reload_acl(&mut state);
        let keys = self.reload_keys(&mut state);
        acl.and(keys)
    }

    fn reload_acl(&self, state: &mut State) -> Result<(), Arc<Error>> {
        let Some(path) = &self.acl_file else {
            return Ok(());
        };
        let loaded = read_acl_file(path).and_then(|bytes| {
            if state.acl_bytes.as_deref() == Some(&bytes) {
                return Ok(None);
            }
            let map = AclMap::from_file_bytes(path, &bytes)?;
            Ok(Some((map, bytes)))
        });
        match loaded {
            Ok(None) => {
                state.acl_status.last_error = None;
                Ok(())
            }
            Ok(Some((map, bytes))) => {
                let status = &mut state.acl_status;
                status.generation += 1;
                status.loaded_at = SystemTime::now();
                status.path = Some(path.clone());
                status.roles = map.role_count();
                status.grants = map.grant_count();
                status.last_error = None;
                self.acl.store(Arc::new(map));
                telemetry::reload("acl", true);
                state.acl_bytes = Some(bytes);
                let generation = state.acl_status.generation;
                tracing::info!(
                    path = %path.display(), generation, roles = state.acl_status.roles,
                    grants = state.acl_status.grants, "{} reloaded", self.label
                );
                self.tell(&ReloadEvent::Applied {
                    what: Reloadable::Acl,
                    generation,
                });
                Ok(())
            }
            Err(error) => {
                Err(self.refuse(&mut state.acl_status.last_error, Reloadable::Acl, error))
            }
        }
    }

    fn reload_keys(&self, state: &mut State) -> Result<(), Arc<Error>> {
        if self.key_files.is_empty() {
            return Ok(());
        }
        let read: Result<Vec<Vec<u8>>, Error> =
            self.key_files.iter().map(|p| read_key_file(p)).collect();
        let loaded = read.and_then(|all_bytes| {
            let unchanged = all_bytes
                .iter()
                .zip(&state.key_bytes)
                .all(|(new, old)| old.as_deref() == Some(new.as_slice()));
            if unchanged {
                return Ok(None);
            }
            let keys = all_bytes
                .iter()
                .map(|bytes| PublicKey::from_file_bytes(bytes))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some((keys, all_bytes)))
        });
        match loaded {
            Ok(None) => {
                state.key_status.last_error = None;
                Ok(())
            }
            Ok(Some((file_keys, all_bytes))) => {
                state.file_keys = file_keys;
                state.key_bytes = all_bytes.into_iter().map(Some).collect();
                self.publish_keys(state);
                Ok(())
            }
            Err(error) => {
                Err(self.refuse(&mut state.key_status.last_error, Reloadable::Keys, error))
            }
        }
    }

    /// Swaps in the keys of a remote key set (JWKS), unless they are the ones in force.
    #[cfg(feature = "client")]
    pub(crate) fn set_remote_keys(&self, keys: Vec<PublicKey>) {
        let mut state = self.state();
        if state.remote_keys == keys {
            state.key_status.last_error = None;
            return;
        }
        state.remote_keys = keys;
        self.publish_keys(&mut state);
    }

    /// Records a failed fetch of the remote key set; the keys in force stay.
    #[cfg(feature = "client")]
    pub(crate) fn remote_keys_failed(&self, error: Error) {
        let mut state = self.state();
        let _ = self.refuse(&mut state.key_status.last_error, Reloadable::Keys, error);
    }

    /// Builds the key set from the given, file and remote keys and swaps it in. A new key set
    /// starts with an empty token cache: tokens of a removed key stop working at once.
    fn publish_keys(&self, state: &mut State) {
        let keys: Vec<PublicKey> = self
            .static_keys
            .iter()
            .chain(&state.file_keys)
            .chain(&state.remote_keys)
            .cloned()
            .collect();
        let status = &mut state.key_status;
        status.generation += 1;
        status.loaded_at = SystemTime::now();
        status.keys = keys.len();
        status.last_error = None;
        let generation = status.generation;
        self.keys
            .store(Arc::new(KeySet::new(keys, self.cache_capacity)));
        telemetry::reload("keys", true);
        tracing::info!(generation, keys = state.key_status.keys, "keys reloaded");
        self.tell(&ReloadEvent::Applied {
            what: Reloadable::Keys,
            generation,
        });
    }

    /// Records a refusal. The same refusal again (a bad file the periodic check reads once
    /// more) is not logged or told again.
    fn refuse(
        &self,
        last_error: &mut Option<Arc<Error>>,
        what: Reloadable,
        error: Error,
    ) -> Arc<Error> {
        let label = match what {
            Reloadable::Acl => self.label,
            Reloadable::Keys => "keys",
        };
        if let Some(previous) = last_error
            .as_ref()
            .filter(|p| p.to_string() == error.to_string())
        {
            return previous.clone();
        }
        tracing::error!(%error, "{label} reload refused, the previous version stays in force");
        telemetry::reload(
            match what {
                Reloadable::Acl => "acl",
                Reloadable::Keys => "keys",
            },
            false,
        );
        let error = Arc::new(error);
        *last_error = Some(error.clone());
        self.tell(&ReloadEvent::Refused {
            what,
            error: &error,
        });
        error
    }

    fn tell(&self, event: &ReloadEvent<'_>) {
        if let Some(callback) = &self.on_reload {
            // A panicking callback must not take the watcher down with it.
            if catch_unwind(AssertUnwindSafe(|| callback(event))).is_err() {
                tracing::error!("the on_reload callback panicked");
            }
        }
    }

    fn folders(&self) -> Vec<PathBuf> {
        let mut folders: Vec<PathBuf> = self
            .acl_file
            .iter()
            .chain(&self.key_files)
            .map(|path| match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
                _ => PathBuf::from("."),
            })
            .collect();
        folders.sort();
        folders.dedup();
        folders
    }
}

/// Why a file could not be read.
enum ReadError {
    Io(std::io::Error),
    TooLarge { size: u64, max: u64 },
}

/// Reads a file whole, again and again until two reads a moment apart agree, so that a file
/// caught while it is being written is not applied.
fn read_settled(path: &Path, max: u64) -> Result<Vec<u8>, ReadError> {
    let read = || -> Result<Vec<u8>, ReadError> {
        let size = std::fs::metadata(path).map_err(ReadError::Io)?.len();
        if size > max {
            return Err(ReadError::TooLarge { size, max });
        }
        std::fs::read(path).map_err(ReadError::Io)
    };
    let mut previous = read()?;
    for _ in 0..MAX_SETTLE_TRIES {
        std::thread::sleep(SETTLE);
        let current = read()?;
        if current == previous {
            return Ok(current);
        }
        previous = current;
    }
    Err(ReadError::Io(std::io::Error::other(
        "the file kept changing while it was read",
    )))
}

fn read_acl_file(path: &Path) -> Result<Vec<u8>, Error> {
    read_settled(path, MAX_ACL_FILE_BYTES).map_err(|e| {
        let problem = match e {
            ReadError::Io(e) => AclProblem::Read(e),
            ReadError::TooLarge { size, max } => AclProblem::TooLarge { size, max },
        };
        Error::Acl(AclError::new(
            AclOrigin::File(path.to_owned()),
            None,
            problem,
        ))
    })
}

fn read_key_file(path: &Path) -> Result<Vec<u8>, Error> {
    read_settled(path, MAX_KEY_FILE_BYTES).map_err(|e| {
        Error::Key(match e {
            ReadError::Io(source) => KeyError::Read {
                path: path.to_owned(),
                source,
            },
            ReadError::TooLarge { size, max } => KeyError::format(
                "key file",
                format!(
                    "{} is {size} bytes, larger than the {max} bytes allowed",
                    path.display()
                ),
            ),
        })
    })
}

/// Keeps the watcher running; dropping it (with the last `Enforcer`) stops the thread.
pub(crate) struct WatchGuard {
    _watcher: Mutex<notify::RecommendedWatcher>,
}

impl fmt::Debug for WatchGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WatchGuard")
    }
}

/// Starts watching the folders of the files of `reloadables` on a thread of its own.
pub(crate) fn spawn_watcher(
    reloadables: &Arc<Reloadables>,
    poll_interval: Duration,
) -> Result<WatchGuard, Error> {
    let (events_tx, events) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher = notify::recommended_watcher(events_tx)
        .map_err(|e| Error::Config(format!("cannot start the file watcher: {e}")))?;
    for folder in reloadables.folders() {
        watcher
            .watch(&folder, RecursiveMode::NonRecursive)
            .map_err(|e| Error::Config(format!("cannot watch {}: {e}", folder.display())))?;
    }
    let target = Arc::downgrade(reloadables);
    std::thread::Builder::new()
        .name("tl-rbac-watch".into())
        .spawn(move || watch_loop(&events, &target, poll_interval))
        .map_err(|e| Error::Config(format!("cannot start the watcher thread: {e}")))?;
    Ok(WatchGuard {
        _watcher: Mutex::new(watcher),
    })
}

/// Waits for events (or the poll interval), debounces them, reloads. Ends when the channel
/// closes (the watcher was dropped) or the enforcer is gone.
fn watch_loop(
    events: &mpsc::Receiver<notify::Result<notify::Event>>,
    target: &Weak<Reloadables>,
    poll_interval: Duration,
) {
    loop {
        match events.recv_timeout(poll_interval) {
            Ok(event) if !is_relevant(&event) => continue,
            Ok(_) => {
                if !debounce(events) {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let Some(reloadables) = target.upgrade() else {
            return;
        };
        // Refusals are logged, stored in the status and told to the callback.
        let _ = reloadables.reload();
    }
}

/// Waits until the folder has been quiet for a moment. False when the watcher is gone.
fn debounce(events: &mpsc::Receiver<notify::Result<notify::Event>>) -> bool {
    let deadline = Instant::now() + DEBOUNCE_MAX;
    while Instant::now() < deadline {
        match events.recv_timeout(DEBOUNCE_QUIET) {
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
    true
}

/// Our own reads open the files too: those events must not trigger reloads.
fn is_relevant(event: &notify::Result<notify::Event>) -> bool {
    match event {
        Ok(event) => match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
            EventKind::Access(_) => false,
            _ => true,
        },
        Err(error) => {
            tracing::warn!(%error, "file watcher error; the periodic check still runs");
            true
        }
    }
}
