//! What the reloadable inputs share: the settled read, the lock discipline, and the
//! [`Reporter`] that tells the application what a reload did. The inputs themselves are the
//! ACL source (`acl_source.rs`) and the key source (`key_source.rs`); each validates a new
//! version whole and publishes it into the live state with one atomic store.
//!
//! Locks: a reload takes its source's `reloading` lock for the file I/O (so two reloads never
//! interleave) and the `state` lock only to compare and publish, never across I/O: the status
//! getters and `set_acl` never wait for a slow or hostile file.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::status::{ReloadError, ReloadEvent, Reloadable};
use crate::telemetry;

/// The pause between the two reads that must agree.
const SETTLE: Duration = Duration::from_millis(20);
/// How many read pairs may disagree before the reload gives up (and the next event retries).
const MAX_SETTLE_TRIES: usize = 25;

pub(crate) type ReloadCallback = Box<dyn Fn(&ReloadEvent<'_>) + Send + Sync>;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a callback cannot leave the state half-updated: keep going with it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads with `read` until two reads a moment apart agree, so that a file caught while it is
/// written is not applied.
pub(crate) fn read_settled<E>(
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

pub(crate) fn kept_changing() -> std::io::Error {
    std::io::Error::other("the file kept changing while it was read")
}

/// Tells the application what a reload did: `tracing`, metrics and the callback.
pub(crate) struct Reporter {
    pub(crate) on_reload: Option<ReloadCallback>,
}

impl Reporter {
    pub(crate) fn applied(&self, what: Reloadable, generation: u64) {
        telemetry::reload(metric_label(what), true);
        self.tell(&ReloadEvent::Applied { what, generation });
    }

    /// The input read the same as the version in force: a refusal recorded in `state` is
    /// cleared, and the recovery logged and told (after `state` is released, so that the
    /// callback may read the status).
    pub(crate) fn unchanged<S: LastError>(
        &self,
        mut state: MutexGuard<'_, S>,
        source: &Source<'_>,
    ) -> Result<(), Arc<ReloadError>> {
        let recovered = state.last_error().take().is_some();
        drop(state);
        if recovered {
            let (label, paths) = (source.label, source.paths);
            tracing::info!(
                ?paths,
                "{label}: the files are again the version in force; the earlier refusal is cleared"
            );
            if source.tell {
                self.tell(&ReloadEvent::Recovered { what: source.what });
            }
        }
        Ok(())
    }

    /// Records a refusal in `state` and tells it (after `state` is released). The same
    /// refusal again (a bad file the periodic check reads once more) is not logged or told
    /// again.
    pub(crate) fn refused<S: LastError>(
        &self,
        mut state: MutexGuard<'_, S>,
        source: &Source<'_>,
        error: ReloadError,
    ) -> Arc<ReloadError> {
        let last_error = state.last_error();
        if let Some(previous) = last_error
            .as_ref()
            .filter(|p| p.to_string() == error.to_string())
        {
            return previous.clone();
        }
        let label = source.label;
        tracing::error!(%error, "{label} reload refused, the previous version stays in force");
        telemetry::reload(metric_label(source.what), false);
        let error = Arc::new(error);
        *last_error = Some(error.clone());
        drop(state);
        if source.tell {
            self.tell(&ReloadEvent::Refused {
                what: source.what,
                error: &error,
            });
        }
        error
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

/// A reloadable input's state, which records its last refusal.
pub(crate) trait LastError {
    fn last_error(&mut self) -> &mut Option<Arc<ReloadError>>;
}

/// Which input a report is about.
pub(crate) struct Source<'a> {
    /// What it is called in logs (`ACL map`, `shadow ACL map`, `keys`).
    pub(crate) label: &'a str,
    pub(crate) what: Reloadable,
    /// Its files, for log lines.
    pub(crate) paths: &'a [&'a std::path::Path],
    /// Whether the `on_reload` callback is told (not for the shadow map).
    pub(crate) tell: bool,
}

fn metric_label(what: Reloadable) -> &'static str {
    match what {
        Reloadable::Acl => "acl",
        Reloadable::Keys => "keys",
    }
}
