//! The key cache file (feature `jwks`): the last good JWKS of each source, so that a service
//! can start while its identity provider is down.
//!
//! One JSON file holds every source of one enforcer, by URL:
//! `{"sources": {"<JWKS or issuer URL>": {"fetched_at": <Unix secs>, "jwks": {…}}}}`. It is
//! written after each good fetch (a temporary file renamed over it, mode 0600) and read only
//! when a first fetch fails; its keys pass the same checks as fetched ones. Whoever can write
//! the file can make the service trust a key: keep it where only the service writes, like its
//! key files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::file::read_bounded;
use crate::keys::PublicKey;

/// A cache of a few key sets is a few tens of kilobytes.
const MAX_CACHE_BYTES: u64 = 4 * 1024 * 1024;

/// The key cache file of one enforcer.
#[derive(Debug)]
pub(crate) struct KeyCache {
    path: PathBuf,
    /// One writer at a time: every JWKS source of the enforcer writes the same file.
    writing: Mutex<()>,
}

#[derive(Serialize, Deserialize, Default)]
struct CacheFile {
    sources: BTreeMap<String, Value>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    fetched_at: u64,
    jwks: Value,
}

impl KeyCache {
    pub(crate) fn new(path: PathBuf) -> Self {
        KeyCache {
            path,
            writing: Mutex::new(()),
        }
    }

    /// The cached keys of `source` and when they were fetched; `None` (logged) when the file
    /// is missing, unreadable, or holds nothing usable for it.
    pub(crate) fn load(&self, source: &str) -> Option<(Vec<PublicKey>, SystemTime)> {
        let file = self.read().ok()?;
        let entry = file.sources.get(source)?;
        let loaded = Entry::deserialize(entry)
            .map_err(|e| e.to_string())
            .and_then(|entry| {
                let keys =
                    PublicKey::from_jwks(&entry.jwks.to_string()).map_err(|e| e.to_string())?;
                Ok((keys, UNIX_EPOCH + Duration::from_secs(entry.fetched_at)))
            });
        match loaded {
            Ok(loaded) => Some(loaded),
            Err(error) => {
                tracing::warn!(path = %self.path.display(), source, %error, "the key cache holds no usable keys for this source");
                None
            }
        }
    }

    /// Records the JWKS just fetched from `source`. A failure is logged, never fatal: the
    /// cache only helps a later start.
    pub(crate) fn store(&self, source: &str, jwks: &str) {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(error) = self.write(source, jwks) {
            tracing::warn!(path = %self.path.display(), %error, "cannot write the key cache");
        }
    }

    fn read(&self) -> Result<CacheFile, String> {
        let bytes = read_bounded(&self.path, MAX_CACHE_BYTES).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }

    fn write(&self, source: &str, jwks: &str) -> Result<(), String> {
        let jwks: Value = serde_json::from_str(jwks).map_err(|e| e.to_string())?;
        let fetched_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let entry = serde_json::to_value(Entry { fetched_at, jwks }).map_err(|e| e.to_string())?;
        // A cache that cannot be read is replaced.
        let mut file = self.read().unwrap_or_default();
        file.sources.insert(source.to_owned(), entry);
        let text = serde_json::to_vec(&file).map_err(|e| e.to_string())?;
        write_replacing(&self.path, &text).map_err(|e| e.to_string())
    }
}

/// Writes `bytes` to a temporary file beside `path` (mode 0600) and renames it over `path`.
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}
