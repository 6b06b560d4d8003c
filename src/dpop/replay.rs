//! The `jti`s of the proofs this instance accepted, kept until their age runs out: a proof
//! seen twice within that time is a replay. Bounded: when it is full of proofs still within
//! their age, new proofs are refused (the caller answers 503) rather than let through
//! unchecked.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use sha2::Digest as _;

/// What the store keeps of a proof: a hash of its key's thumbprint and its `jti` (a `jti` is
/// unique per key, RFC 9449 §11.1), 128 bits of SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ReplayKey([u8; 16]);

impl ReplayKey {
    /// Its bytes in hexadecimal, for a key name.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    pub(crate) fn of(jkt: &str, jti: &str) -> Self {
        let mut hasher = sha2::Sha256::new();
        hasher.update(jkt.as_bytes());
        // The thumbprint is base64url: a NUL cannot be part of it, so the split is unambiguous.
        hasher.update([0]);
        hasher.update(jti.as_bytes());
        let digest = hasher.finalize();
        let mut key = [0; 16];
        key.copy_from_slice(&digest[..16]);
        ReplayKey(key)
    }
}

/// What the store says of a proof.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FirstUse {
    /// Not seen before: now remembered.
    Yes,
    /// Seen within its age.
    Replayed,
    /// The store is full of proofs within their age: it cannot remember this one.
    Full,
}

/// The seen proofs of one instance.
#[derive(Debug)]
pub(crate) struct ReplayCache {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Each seen proof and when it may be forgotten.
    seen: HashMap<ReplayKey, u64>,
    /// The same, in the order seen: forgotten from the front.
    order: VecDeque<(ReplayKey, u64)>,
}

impl ReplayCache {
    /// A store of at most `capacity` proofs.
    pub(crate) fn new(capacity: usize) -> Self {
        ReplayCache {
            capacity,
            state: Mutex::default(),
        }
    }

    /// Remembers `key` until `expires_at`, unless it was seen before (and is not forgotten
    /// yet at `now`).
    pub(crate) fn first_use(&self, key: ReplayKey, expires_at: u64, now: u64) -> FirstUse {
        // A panic elsewhere while holding the lock leaves consistent maps: go on with them.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.forget_expired(now);
        if state.seen.get(&key).is_some_and(|&until| until > now) {
            return FirstUse::Replayed;
        }
        if state.seen.len() >= self.capacity {
            return FirstUse::Full;
        }
        state.seen.insert(key, expires_at);
        state.order.push_back((key, expires_at));
        FirstUse::Yes
    }
}

impl State {
    /// Forgets the proofs at the front whose age ran out. Ages differ by at most a proof's
    /// allowed `iat` spread, so an expired proof behind a live one waits that long at most.
    fn forget_expired(&mut self, now: u64) {
        while let Some(&(key, until)) = self.order.front() {
            if until > now {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&key) == Some(&until) {
                self.seen.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_is_used_once_within_its_age_and_forgotten_after() {
        let cache = ReplayCache::new(10);
        let key = ReplayKey::of("thumb", "jti-1");
        assert_eq!(cache.first_use(key, 160, 100), FirstUse::Yes);
        assert_eq!(cache.first_use(key, 160, 159), FirstUse::Replayed);
        // Another key's proof with the same `jti` is another proof.
        let other = ReplayKey::of("thumb2", "jti-1");
        assert_eq!(cache.first_use(other, 160, 120), FirstUse::Yes);
        assert_eq!(cache.first_use(key, 220, 160), FirstUse::Yes);
    }

    #[test]
    fn a_full_store_refuses_rather_than_forgets_a_live_proof() {
        let cache = ReplayCache::new(2);
        assert_eq!(
            cache.first_use(ReplayKey::of("k", "1"), 200, 100),
            FirstUse::Yes
        );
        assert_eq!(
            cache.first_use(ReplayKey::of("k", "2"), 200, 100),
            FirstUse::Yes
        );
        assert_eq!(
            cache.first_use(ReplayKey::of("k", "3"), 200, 100),
            FirstUse::Full
        );
        assert_eq!(
            cache.first_use(ReplayKey::of("k", "1"), 200, 150),
            FirstUse::Replayed
        );
        // Once their age ran out, there is room again.
        assert_eq!(
            cache.first_use(ReplayKey::of("k", "3"), 300, 200),
            FirstUse::Yes
        );
    }
}
