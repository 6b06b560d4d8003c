//! Revocation: logout and "stolen laptop" before a token's `exp`.
//!
//! tokenleader tokens carry no `jti`, so a revocation names a token by the SHA-256 of the
//! whole token, or a user by name with a time: "tokens of user X issued before T". Every
//! request is checked after verification, cache hits included. Entries expire on their own
//! when the tokens they name would have expired.
//!
//! ```
//! use tokenleader_rbac::{AclMap, Enforcer, PublicKey};
//! use tokenleader_rbac::revocation::{MemoryRevocation, Revocation, TokenHash};
//!
//! // Given to the builder, the store is checked on every request:
//! let key = PublicKey::from_pem(include_bytes!("../../tests/fixtures/tokenleader/tokenleader_public_key.spki.pem"))?;
//! let enforcer = Enforcer::builder()
//!     .public_key(key)
//!     .acl(AclMap::empty())
//!     .revocation(MemoryRevocation::new())
//!     .build()?;
//! // `enforcer.revoke_token(&token)` (logout) and `enforcer.revoke_user_before(name, time)`
//! // fill it, with the times of the enforcer's clock. The store itself:
//! let store = MemoryRevocation::new();
//! let now = 1_795_368_471;
//! store.revoke_token(TokenHash::of("header.payload.signature"), now + 3600, now);
//! assert_eq!(store.len(), 1);
//! # let _ = enforcer;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`MemoryRevocation`] serves one instance (and tests). A fleet shares revocations through a
//! store every instance reads, behind the same [`Revocation`] trait: `RedisRevocation` (feature
//! `redis`).
//!
//! All times are seconds since the Unix epoch by the enforcer's clock (`.clock(..)` on the
//! builder): the store prunes expired entries with the `now` it is given, never with a clock
//! of its own, so a pinned or skewed clock cannot expire an entry early.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use memory::MemoryRevocation;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisError, RedisRevocation};

use crate::claims::Claims;

/// The SHA-256 of a whole token: how a revocation names one token without storing it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of `token`.
    pub fn of(token: &str) -> Self {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// The hash's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash in lowercase hexadecimal.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Reads [`to_hex`](Self::to_hex)'s form back.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut hash = [0u8; 32];
        for (i, byte) in hash.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(TokenHash(hash))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash(")?;
        for byte in &self.0[..8] {
            write!(f, "{byte:02x}")?;
        }
        write!(f, "…)")
    }
}

/// The revocation store cannot say (its backing service is unreachable, and it is set to fail
/// closed): the request is refused with 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the revocation store is unavailable")]
pub struct RevocationUnavailable;

/// Where revocations are kept. Checked on every request after verification, so
/// [`is_revoked`](Self::is_revoked) must answer from memory, without I/O.
pub trait Revocation: Send + Sync + 'static {
    /// Whether the token (`claims`, `token`) is revoked at `now` (seconds since the Unix
    /// epoch). Given the token itself, so that a store with no token entries need not hash it.
    fn is_revoked(
        &self,
        claims: &Claims,
        token: &str,
        now: u64,
    ) -> Result<bool, RevocationUnavailable>;

    /// Revokes one token until `expires_at` (its `exp`); `now` is the enforcer's clock, by
    /// which expired entries are dropped.
    fn revoke_token(&self, token: TokenHash, expires_at: u64, now: u64);

    /// Revokes the tokens of `username` issued before `before` (tokens whose `iat` is less),
    /// until `expires_at` (when the last of them would have expired); `now` as above.
    fn revoke_user_before(&self, username: &str, before: u64, expires_at: u64, now: u64);
}

/// The revocations in force: what both stores keep in memory and the request path reads.
#[derive(Default, Clone, Debug)]
pub(crate) struct Entries {
    /// Token hash → when the entry expires.
    pub(crate) tokens: HashMap<TokenHash, u64>,
    /// User name → (revoked before, when the entry expires).
    pub(crate) users: HashMap<String, (u64, u64)>,
}

impl Entries {
    fn without_expired(&self, now: u64) -> Entries {
        Entries {
            tokens: self
                .tokens
                .iter()
                .filter(|(_, exp)| **exp >= now)
                .map(|(k, v)| (*k, *v))
                .collect(),
            users: self
                .users
                .iter()
                .filter(|(_, (_, exp))| *exp >= now)
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        }
    }

    pub(crate) fn add_token(&mut self, token: TokenHash, expires_at: u64) {
        let entry = self.tokens.entry(token).or_insert(expires_at);
        *entry = (*entry).max(expires_at);
    }

    /// Adds every entry of `other` (the later expiry wins).
    #[cfg(feature = "redis")]
    pub(crate) fn merge(&mut self, other: &Entries) {
        for (token, expires_at) in &other.tokens {
            self.add_token(*token, *expires_at);
        }
        for (name, (before, expires_at)) in &other.users {
            self.add_user(name, *before, *expires_at);
        }
    }

    pub(crate) fn add_user(&mut self, username: &str, before: u64, expires_at: u64) {
        let entry = self
            .users
            .entry(username.to_owned())
            .or_insert((before, expires_at));
        *entry = (entry.0.max(before), entry.1.max(expires_at));
    }
}

/// A lock-free snapshot of `Entries` for the request path, replaced whole on every change.
#[derive(Default)]
pub(crate) struct LocalCopy {
    entries: ArcSwap<Entries>,
}

impl LocalCopy {
    pub(crate) fn is_revoked(&self, claims: &Claims, token: &str, now: u64) -> bool {
        let entries = self.entries.load();
        if !entries.tokens.is_empty()
            && entries
                .tokens
                .get(&TokenHash::of(token))
                .is_some_and(|exp| *exp >= now)
        {
            return true;
        }
        // A token without `iat` cannot prove it was issued after the cut-off: fail closed.
        entries
            .users
            .get(&*claims.identity.username)
            .is_some_and(|(before, exp)| *exp >= now && claims.iat.is_none_or(|iat| iat < *before))
    }

    /// Applies `change` to a copy without the entries expired at `now`, and swaps the copy in.
    pub(crate) fn update(&self, now: u64, change: impl Fn(&mut Entries)) {
        self.entries.rcu(|entries| {
            let mut next = entries.without_expired(now);
            change(&mut next);
            Arc::new(next)
        });
    }

    /// Applies `change` without pruning (for changes that come with no clock).
    #[cfg(feature = "redis")]
    pub(crate) fn add(&self, change: impl Fn(&mut Entries)) {
        self.entries.rcu(|entries| {
            let mut next = Entries::clone(entries);
            change(&mut next);
            Arc::new(next)
        });
    }

    /// The entries in force now.
    #[cfg(feature = "redis")]
    pub(crate) fn snapshot(&self) -> Arc<Entries> {
        self.entries.load_full()
    }

    pub(crate) fn len(&self) -> usize {
        let entries = self.entries.load();
        entries.tokens.len() + entries.users.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_read_back_from_hex() {
        let hash = TokenHash::of("a.b.c");
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(TokenHash::from_hex("zz"), None);
        assert_eq!(TokenHash::from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn pruning_follows_the_time_it_is_given() {
        let copy = LocalCopy::default();
        // Times far in the past of the system clock: only the given `now` counts.
        copy.update(100, |entries| entries.add_token(TokenHash::of("a"), 200));
        copy.update(150, |entries| entries.add_token(TokenHash::of("b"), 200));
        assert_eq!(copy.len(), 2, "nothing expired at 150");
        copy.update(201, |entries| entries.add_token(TokenHash::of("c"), 300));
        assert_eq!(copy.len(), 1, "a and b expired at 201");
    }
}
