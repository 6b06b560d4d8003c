//! The reloadable inputs: an ACL source (the ACL file or a map given in code) and the key
//! source (keys given in code, key files, `client_configs.yml`, a JWKS). Each validates a new
//! version whole and publishes it into the live state with one atomic store.
//!
//! Locks: a reload takes its source's `reloading` lock for the file I/O (so two reloads never
//! interleave) and the `state` lock only to compare and publish, never across I/O: the status
//! getters and `set_acl` never wait for a slow or hostile file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use super::status::{AclStatus, KeyStatus, ReloadError, ReloadEvent, Reloadable};
use crate::acl::{AclMap, read_acl_file};
use crate::client_config::{ClientConfigError, ClientConfigFile, read_client_config_bytes};
use crate::keys::{KeyError, PublicKey, read_key_file};
use crate::telemetry;
use crate::token::KeySet;

/// The pause between the two reads that must agree.
const SETTLE: Duration = Duration::from_millis(20);
/// How many read pairs may disagree before the reload gives up (and the next event retries).
const MAX_SETTLE_TRIES: usize = 25;

pub(crate) type ReloadCallback = Box<dyn Fn(&ReloadEvent<'_>) + Send + Sync>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a callback cannot leave the state half-updated: keep going with it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads with `read` until two reads a moment apart agree, so that a file caught while it is
/// written is not applied.
fn read_settled<E>(
    read: impl Fn() -> Result<Vec<u8>, E>,
    kept_changing: impl FnOnce() -> E,
) -> Result<Vec<u8>, E> {
    let mut previous = read()?;
    for _ in 0..MAX_SETTLE_TRIES {
        std::thread::sleep(SETTLE);
        let current = read()?;
        if current == previous {
            return Ok(current);
        }
        previous = current;
    }
    Err(kept_changing())
}

fn kept_changing() -> std::io::Error {
    std::io::Error::other("the file kept changing while it was read")
}

/// Tells the application what a reload did: `tracing`, metrics and the callback.
pub(crate) struct Reporter {
    pub(crate) on_reload: Option<ReloadCallback>,
}

impl Reporter {
    fn applied(&self, what: Reloadable, generation: u64) {
        telemetry::reload(metric_label(what), true);
        self.tell(&ReloadEvent::Applied { what, generation });
    }

    /// Records a refusal in `last_error`; true when it is new. The same refusal again (a bad
    /// file the periodic check reads once more) is not logged or told again.
    fn record_refusal(
        &self,
        label: &str,
        last_error: &mut Option<Arc<ReloadError>>,
        what: Reloadable,
        error: ReloadError,
    ) -> (Arc<ReloadError>, bool) {
        if let Some(previous) = last_error
            .as_ref()
            .filter(|p| p.to_string() == error.to_string())
        {
            return (previous.clone(), false);
        }
        tracing::error!(%error, "{label} reload refused, the previous version stays in force");
        telemetry::reload(metric_label(what), false);
        let error = Arc::new(error);
        *last_error = Some(error.clone());
        (error, true)
    }

    /// Tells the callback of a new refusal; called once the state lock is released, so that
    /// the callback may read the status.
    fn tell_refused(&self, what: Reloadable, error: &Arc<ReloadError>, new: bool) {
        if new {
            self.tell(&ReloadEvent::Refused { what, error });
        }
    }

    fn tell(&self, event: &ReloadEvent<'_>) {
        if let Some(callback) = &self.on_reload {
            // A panicking callback must not take the watcher down with it.
            let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(event)));
            if told.is_err() {
                tracing::error!("the on_reload callback panicked");
            }
        }
    }
}

fn metric_label(what: Reloadable) -> &'static str {
    match what {
        Reloadable::Acl => "acl",
        Reloadable::Keys => "keys",
    }
}

/// An ACL map: from a file (reloaded) or given in code.
pub(crate) struct AclSource {
    /// What the map is called in logs (`ACL map`, `shadow ACL map`).
    label: &'static str,
    path: Option<PathBuf>,
    /// Whether refusals are told to the `on_reload` callback (not for the shadow map).
    tell: bool,
    reloading: Mutex<()>,
    state: Mutex<AclState>,
}

struct AclState {
    bytes: Option<Vec<u8>>,
    status: AclStatus,
}

fn acl_status(map: &AclMap, path: Option<PathBuf>, generation: u64) -> AclStatus {
    AclStatus {
        generation,
        loaded_at: SystemTime::now(),
        path,
        roles: map.role_count(),
        grants: map.grant_count(),
        last_error: None,
    }
}

impl AclSource {
    /// Loads the ACL file strictly: a failure fails `build()`.
    pub(crate) fn load_file(
        label: &'static str,
        path: PathBuf,
        tell: bool,
    ) -> Result<(Self, AclMap), ReloadError> {
        let bytes = read_acl_file(&path)?;
        let map = AclMap::from_file_bytes(&path, &bytes)?;
        let state = AclState {
            bytes: Some(bytes),
            status: acl_status(&map, Some(path.clone()), 1),
        };
        let source = AclSource {
            label,
            path: Some(path),
            tell,
            reloading: Mutex::new(()),
            state: Mutex::new(state),
        };
        Ok((source, map))
    }

    /// A map given in code: nothing to reload.
    pub(crate) fn given(label: &'static str, map: &AclMap) -> Self {
        AclSource {
            label,
            path: None,
            tell: true,
            reloading: Mutex::new(()),
            state: Mutex::new(AclState {
                bytes: None,
                status: acl_status(map, None, 1),
            }),
        }
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub(crate) fn status(&self) -> AclStatus {
        lock(&self.state).status.clone()
    }

    /// Swaps in a map given by the application.
    pub(crate) fn set(&self, target: &ArcSwap<AclMap>, map: AclMap) {
        let mut state = lock(&self.state);
        let generation = state.status.generation + 1;
        state.status = acl_status(&map, None, generation);
        target.store(Arc::new(map));
    }

    /// Re-reads the file; a changed file that validates is swapped into `target`.
    pub(crate) fn reload(
        &self,
        target: &ArcSwap<AclMap>,
        reporter: &Reporter,
    ) -> Result<(), Arc<ReloadError>> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let _reloading = lock(&self.reloading);
        let read = read_settled(
            || read_acl_file(path),
            || {
                let problem = crate::acl::AclProblem::Read(kept_changing());
                crate::acl::AclError::new(crate::acl::AclOrigin::File(path.clone()), None, problem)
            },
        );
        let mut state = lock(&self.state);
        let loaded = read.and_then(|bytes| {
            if state.bytes.as_deref() == Some(&bytes) {
                return Ok(None);
            }
            let map = AclMap::from_file_bytes(path, &bytes)?;
            Ok(Some((map, bytes)))
        });
        match loaded {
            Ok(None) => {
                state.status.last_error = None;
                Ok(())
            }
            Ok(Some((map, bytes))) => {
                let generation = state.status.generation + 1;
                state.status = acl_status(&map, Some(path.clone()), generation);
                state.bytes = Some(bytes);
                target.store(Arc::new(map));
                tracing::info!(
                    path = %path.display(), generation, roles = state.status.roles,
                    grants = state.status.grants, "{} reloaded", self.label
                );
                drop(state);
                reporter.applied(Reloadable::Acl, generation);
                Ok(())
            }
            Err(error) => {
                let last_error = &mut state.status.last_error;
                let (error, new) =
                    reporter.record_refusal(self.label, last_error, Reloadable::Acl, error.into());
                drop(state);
                reporter.tell_refused(Reloadable::Acl, &error, new && self.tell);
                Err(error)
            }
        }
    }
}

/// A file keys are read from.
#[derive(Debug, Clone)]
pub(crate) enum KeyFile {
    /// An OpenSSH line or a PEM public key.
    Key(PathBuf),
    /// tokenleader's `client_configs.yml`: its `tl_public_key`.
    ClientConfig(PathBuf),
}

impl KeyFile {
    pub(crate) fn path(&self) -> &Path {
        match self {
            KeyFile::Key(path) | KeyFile::ClientConfig(path) => path,
        }
    }

    fn read(&self) -> Result<Vec<u8>, ReloadError> {
        match self {
            KeyFile::Key(path) => read_settled(
                || read_key_file(path),
                || KeyError::Read {
                    path: path.clone(),
                    source: kept_changing(),
                },
            )
            .map_err(ReloadError::from),
            KeyFile::ClientConfig(path) => read_settled(
                || read_client_config_bytes(path),
                || ClientConfigError::new(path, kept_changing().to_string()),
            )
            .map_err(ReloadError::from),
        }
    }

    fn parse(&self, bytes: &[u8]) -> Result<PublicKey, ReloadError> {
        match self {
            KeyFile::Key(_) => Ok(PublicKey::from_file_bytes(bytes)?),
            KeyFile::ClientConfig(path) => {
                Ok(ClientConfigFile::parse(path, bytes)?.public_key(path)?)
            }
        }
    }
}

/// The keys: given in code, from files, and from a remote key set.
pub(crate) struct KeySource {
    static_keys: Vec<PublicKey>,
    files: Vec<KeyFile>,
    cache_capacity: usize,
    reloading: Mutex<()>,
    state: Mutex<KeyState>,
}

struct KeyState {
    bytes: Vec<Vec<u8>>,
    file_keys: Vec<PublicKey>,
    remote_keys: Vec<PublicKey>,
    status: KeyStatus,
}

impl KeySource {
    /// Loads every key file strictly: a failure fails `build()`.
    pub(crate) fn load(
        static_keys: Vec<PublicKey>,
        files: Vec<KeyFile>,
        cache_capacity: usize,
    ) -> Result<(Self, KeySet), ReloadError> {
        let mut bytes = Vec::with_capacity(files.len());
        let mut file_keys = Vec::with_capacity(files.len());
        for file in &files {
            let content = match file {
                KeyFile::Key(path) => read_key_file(path)?,
                KeyFile::ClientConfig(path) => read_client_config_bytes(path)?,
            };
            file_keys.push(file.parse(&content)?);
            bytes.push(content);
        }
        let keys: Vec<PublicKey> = static_keys.iter().chain(&file_keys).cloned().collect();
        let status = KeyStatus {
            generation: 1,
            loaded_at: SystemTime::now(),
            paths: files.iter().map(|f| f.path().to_owned()).collect(),
            keys: keys.len(),
            cached_tokens: 0,
            last_error: None,
        };
        let source = KeySource {
            static_keys,
            files,
            cache_capacity,
            reloading: Mutex::new(()),
            state: Mutex::new(KeyState {
                bytes,
                file_keys,
                remote_keys: Vec::new(),
                status,
            }),
        };
        Ok((source, KeySet::new(keys, cache_capacity)))
    }

    pub(crate) fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(KeyFile::path)
    }

    pub(crate) fn status(&self, live: &ArcSwap<KeySet>) -> KeyStatus {
        let mut status = lock(&self.state).status.clone();
        status.cached_tokens = live.load().cache.as_ref().map_or(0, |cache| cache.len());
        status
    }

    /// Re-reads every key file; when any changed and all validate, the key set is swapped.
    pub(crate) fn reload(
        &self,
        target: &ArcSwap<KeySet>,
        reporter: &Reporter,
    ) -> Result<(), Arc<ReloadError>> {
        if self.files.is_empty() {
            return Ok(());
        }
        let _reloading = lock(&self.reloading);
        let read: Result<Vec<Vec<u8>>, ReloadError> =
            self.files.iter().map(KeyFile::read).collect();
        let mut state = lock(&self.state);
        let loaded = read.and_then(|all_bytes| {
            if all_bytes == state.bytes {
                return Ok(None);
            }
            let keys = self
                .files
                .iter()
                .zip(&all_bytes)
                .map(|(file, bytes)| file.parse(bytes))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some((keys, all_bytes)))
        });
        match loaded {
            Ok(None) => {
                state.status.last_error = None;
                Ok(())
            }
            Ok(Some((file_keys, all_bytes))) => {
                state.file_keys = file_keys;
                state.bytes = all_bytes;
                self.publish(target, state, reporter);
                Ok(())
            }
            Err(error) => {
                let last_error = &mut state.status.last_error;
                let (error, new) =
                    reporter.record_refusal("keys", last_error, Reloadable::Keys, error);
                drop(state);
                reporter.tell_refused(Reloadable::Keys, &error, new);
                Err(error)
            }
        }
    }

    /// Swaps in the keys of a remote key set (JWKS), unless they are the ones in force.
    #[cfg(feature = "jwks")]
    pub(crate) fn set_remote_keys(
        &self,
        target: &ArcSwap<KeySet>,
        keys: Vec<PublicKey>,
        reporter: &Reporter,
    ) {
        let mut state = lock(&self.state);
        if state.remote_keys == keys {
            state.status.last_error = None;
            return;
        }
        state.remote_keys = keys;
        self.publish(target, state, reporter);
    }

    /// Records a failed fetch of the remote key set; the keys in force stay.
    #[cfg(feature = "jwks")]
    pub(crate) fn remote_keys_failed(&self, error: ReloadError, reporter: &Reporter) {
        let mut state = lock(&self.state);
        let last_error = &mut state.status.last_error;
        let (error, new) = reporter.record_refusal("keys", last_error, Reloadable::Keys, error);
        drop(state);
        reporter.tell_refused(Reloadable::Keys, &error, new);
    }

    /// Builds the key set from the given, file and remote keys and swaps it in. A new key set
    /// starts with an empty token cache: tokens of a removed key stop working at once.
    fn publish(
        &self,
        target: &ArcSwap<KeySet>,
        mut state: MutexGuard<'_, KeyState>,
        reporter: &Reporter,
    ) {
        let keys: Vec<PublicKey> = self
            .static_keys
            .iter()
            .chain(&state.file_keys)
            .chain(&state.remote_keys)
            .cloned()
            .collect();
        let status = &mut state.status;
        status.generation += 1;
        status.loaded_at = SystemTime::now();
        status.keys = keys.len();
        status.last_error = None;
        let (generation, count) = (status.generation, status.keys);
        target.store(Arc::new(KeySet::new(keys, self.cache_capacity)));
        drop(state);
        tracing::info!(generation, keys = count, "keys reloaded");
        reporter.applied(Reloadable::Keys, generation);
    }
}
