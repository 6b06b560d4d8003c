//! The key source: keys given in code, key files, `client_configs.yml`'s `tl_public_key`, and
//! a remote key set (JWKS).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use super::source::{LastError, Reporter, Source, kept_changing, lock, read_settled};
use super::status::{KeyStatus, ReloadError, Reloadable};
use crate::keys::{KeyError, PublicKey, read_key_file};
use crate::token::KeySet;
use crate::tokenleader_config::{ClientConfigError, ClientConfigFile, read_client_config_bytes};

/// The key source, for reports.
fn keys_source<'a>(paths: &'a [&'a Path]) -> Source<'a> {
    Source {
        label: "keys",
        what: Reloadable::Keys,
        paths,
        tell: true,
    }
}

/// The paths of the key files, for log lines.
fn state_paths(files: &[KeyFile]) -> Vec<&Path> {
    files.iter().map(KeyFile::path).collect()
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
            KeyFile::Key(path) => PublicKey::from_file_bytes(bytes).map_err(|source| {
                ReloadError::Key(KeyError::InFile {
                    path: path.clone(),
                    source: Box::new(source),
                })
            }),
            KeyFile::ClientConfig(path) => {
                Ok(ClientConfigFile::parse(path, bytes)?.public_key(path)?)
            }
        }
    }
}

/// One issuer's keys: given in code, from files, and from a remote key set (JWKS), published
/// whole into its live key set, with how they came to be.
pub(crate) struct KeySource {
    /// The issuer, for log lines: its `iss`, or "tokens without `iss`".
    name: String,
    static_keys: Vec<PublicKey>,
    files: Vec<KeyFile>,
    cache_capacity: usize,
    /// The keys in force and their verified-token cache: what the request path reads.
    live: ArcSwap<KeySet>,
    reporter: Arc<Reporter>,
    reloading: Mutex<()>,
    state: Mutex<KeyState>,
}

struct KeyState {
    bytes: Vec<Vec<u8>>,
    file_keys: Vec<PublicKey>,
    remote_keys: Vec<PublicKey>,
    status: KeyStatus,
}

impl LastError for KeyState {
    fn last_error(&mut self) -> &mut Option<Arc<ReloadError>> {
        &mut self.status.last_error
    }
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySource")
            .field("issuer", &self.name)
            .field("keys", &self.live.load())
            .finish_non_exhaustive()
    }
}

impl KeySource {
    /// Loads every key file strictly: a failure fails `build()`.
    pub(crate) fn load(
        name: String,
        static_keys: Vec<PublicKey>,
        files: Vec<KeyFile>,
        cache_capacity: usize,
        reporter: Arc<Reporter>,
    ) -> Result<Self, ReloadError> {
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
            keys_from_cache: None,
            skipped_keys: 0,
        };
        Ok(KeySource {
            name,
            static_keys,
            files,
            cache_capacity,
            live: ArcSwap::from_pointee(KeySet::new(keys, cache_capacity)),
            reporter,
            reloading: Mutex::new(()),
            state: Mutex::new(KeyState {
                bytes,
                file_keys,
                remote_keys: Vec::new(),
                status,
            }),
        })
    }

    /// The keys in force now: one atomic load, no lock.
    pub(crate) fn keys(&self) -> arc_swap::Guard<Arc<KeySet>> {
        self.live.load()
    }

    pub(crate) fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(KeyFile::path)
    }

    pub(crate) fn status(&self) -> KeyStatus {
        let mut status = lock(&self.state).status.clone();
        status.cached_tokens = self
            .live
            .load()
            .cache
            .as_ref()
            .map_or(0, |cache| cache.len());
        status
    }

    /// Re-reads every key file; when any changed and all validate, the key set is swapped.
    pub(crate) fn reload(&self) -> Result<(), Arc<ReloadError>> {
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
        let paths = state_paths(&self.files);
        let source = keys_source(&paths);
        match loaded {
            Ok(None) => self.reporter.unchanged(state, &source),
            Ok(Some((file_keys, all_bytes))) => {
                state.file_keys = file_keys;
                state.bytes = all_bytes;
                self.publish(state);
                Ok(())
            }
            Err(error) => Err(self.reporter.refused(state, &source, error)),
        }
    }

    /// Swaps in the keys of a remote key set (JWKS), of which `skipped` could not be used,
    /// unless they are the ones in force.
    #[cfg(feature = "jwks")]
    pub(crate) fn set_remote_keys(&self, keys: Vec<PublicKey>, skipped: usize) {
        let mut state = lock(&self.state);
        state.status.keys_from_cache = None;
        state.status.skipped_keys = skipped;
        if state.remote_keys == keys {
            state.status.last_error = None;
            return;
        }
        state.remote_keys = keys;
        self.publish(state);
    }

    /// Puts the key cache file's keys in force (the fetch at start failed).
    #[cfg(feature = "jwks")]
    pub(crate) fn set_cached_keys(&self, keys: Vec<PublicKey>, fetched_at: SystemTime) {
        let mut state = lock(&self.state);
        state.remote_keys = keys;
        state.status.keys_from_cache = Some(fetched_at);
        self.publish(state);
    }

    /// Records a failed fetch of the remote key set; the keys in force stay.
    #[cfg(feature = "jwks")]
    pub(crate) fn remote_keys_failed(&self, error: ReloadError) {
        let paths = state_paths(&self.files);
        let _ = self
            .reporter
            .refused(lock(&self.state), &keys_source(&paths), error);
    }

    /// Builds the key set from the given, file and remote keys and swaps it in. A new key set
    /// starts with an empty token cache: tokens of a removed key stop working at once.
    fn publish(&self, mut state: MutexGuard<'_, KeyState>) {
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
        self.live
            .store(Arc::new(KeySet::new(keys, self.cache_capacity)));
        drop(state);
        let paths = state_paths(&self.files);
        tracing::info!(issuer = %self.name, generation, keys = count, ?paths, "keys reloaded");
        self.reporter.applied(Reloadable::Keys, generation);
    }
}
