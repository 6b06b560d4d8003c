//! A trusted issuer's keys: its static keys and those its JWKS source fetched last, swapped
//! whole, with how they came to be (for `Enforcer::issuer_key_status`).

use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use super::KeySet;
use crate::keys::PublicKey;

/// A trusted issuer's keys: its static keys, and those its JWKS source fetched last, swapped
/// whole.
// Without the `jwks` feature nothing is fetched: only `live` is read.
#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
pub(crate) struct IssuerKeys {
    pub(crate) name: String,
    pub(crate) static_keys: Vec<PublicKey>,
    pub(crate) cache_capacity: usize,
    pub(crate) live: ArcSwap<KeySet>,
    state: Mutex<IssuerKeyState>,
}

/// How the keys in force came to be, for `Enforcer::issuer_key_status`.
#[derive(Debug, Clone)]
pub(crate) struct IssuerKeyState {
    /// 1 for the keys of `build()`, one more for each key set swapped in since.
    pub(crate) generation: u64,
    pub(crate) loaded_at: SystemTime,
    /// When the keys in force were fetched, if they came from the key cache file.
    pub(crate) keys_from_cache: Option<SystemTime>,
    /// Why the last fetch failed; `None` once one succeeds.
    pub(crate) last_error: Option<String>,
    /// Keys of the last key set fetched that could not be used.
    pub(crate) skipped_keys: usize,
}

impl IssuerKeys {
    pub(crate) fn new(name: String, static_keys: Vec<PublicKey>, cache_capacity: usize) -> Self {
        let live = ArcSwap::from_pointee(KeySet::new(static_keys.clone(), cache_capacity));
        IssuerKeys {
            name,
            static_keys,
            cache_capacity,
            live,
            state: Mutex::new(IssuerKeyState {
                generation: 1,
                loaded_at: SystemTime::now(),
                keys_from_cache: None,
                last_error: None,
                skipped_keys: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IssuerKeyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state of the keys in force.
    pub(crate) fn state(&self) -> IssuerKeyState {
        self.lock().clone()
    }

    /// The static keys and `fetched` (from the key cache file, fetched at `from_cache`), with
    /// an empty cache (a removed key stops at once).
    #[cfg(feature = "jwks")]
    pub(crate) fn set_fetched(
        &self,
        fetched: Vec<PublicKey>,
        skipped: usize,
        from_cache: Option<SystemTime>,
    ) {
        let keys = self.static_keys.iter().cloned().chain(fetched).collect();
        let mut state = self.lock();
        self.live
            .store(std::sync::Arc::new(KeySet::new(keys, self.cache_capacity)));
        state.generation += 1;
        state.loaded_at = SystemTime::now();
        state.keys_from_cache = from_cache;
        state.skipped_keys = skipped;
        if from_cache.is_none() {
            state.last_error = None;
        }
    }

    /// A fetch failed: the keys in force stay.
    #[cfg(feature = "jwks")]
    pub(crate) fn failed(&self, error: String) {
        self.lock().last_error = Some(error);
    }
}
