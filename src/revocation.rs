//! Revocation: logout and "stolen laptop" before a token's `exp`.
//!
//! tokenleader tokens carry no `jti`, so a revocation names a token by the SHA-256 of the
//! whole token, or a user by name with a time: "tokens of user X issued before T". Every
//! request is checked after verification, cache hits included. Entries expire on their own
//! when the tokens they name would have expired.
//!
//! ```
//! use tokenleader_rbac::{AclMap, Enforcer, MemoryRevocation, PublicKey, Revocation, TokenHash};
//!
//! // Given to the builder, the store is checked on every request:
//! let key = PublicKey::from_pem(include_bytes!("../tests/fixtures/tokenleader/tokenleader_public_key.spki.pem"))?;
//! let enforcer = Enforcer::builder()
//!     .public_key(key)
//!     .acl(AclMap::default())
//!     .revocation(MemoryRevocation::new())
//!     .build()?;
//! // `enforcer.revoke_token(&token)` (logout) and `enforcer.revoke_user_before(name, time)`
//! // fill it. The store itself:
//! let store = MemoryRevocation::new();
//! store.revoke_token(TokenHash::of("header.payload.signature"), u64::MAX);
//! assert_eq!(store.len(), 1);
//! # let _ = enforcer;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`MemoryRevocation`] serves one instance (and tests). A fleet shares revocations through a
//! store every instance reads, behind the same [`Revocation`] trait.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};

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

/// Where revocations are kept. Checked on every request after verification, so
/// [`is_revoked`](Self::is_revoked) must answer from memory, without I/O.
pub trait Revocation: Send + Sync + 'static {
    /// Whether the token (`claims`, `token`) is revoked at `now` (seconds since the Unix
    /// epoch). Given the token itself, so that a store with no token entries need not hash it.
    fn is_revoked(&self, claims: &Claims, token: &str, now: u64) -> bool;

    /// Revokes one token until `expires_at` (its `exp`).
    fn revoke_token(&self, token: TokenHash, expires_at: u64);

    /// Revokes the tokens of `username` issued before `before`, until `expires_at` (when the
    /// last of them would have expired).
    fn revoke_user_before(&self, username: &str, before: u64, expires_at: u64);
}

#[derive(Default, Clone)]
struct Entries {
    /// Token hash → when the entry expires.
    tokens: HashMap<TokenHash, u64>,
    /// User name → (revoked before, when the entry expires).
    users: HashMap<String, (u64, u64)>,
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
}

/// Revocations in this process's memory: for one instance, and for tests. The request path
/// reads a snapshot without a lock; a revocation copies the (small) set and swaps it in,
/// dropping expired entries on the way.
#[derive(Default)]
pub struct MemoryRevocation {
    entries: ArcSwap<Entries>,
}

impl fmt::Debug for MemoryRevocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries.load();
        f.debug_struct("MemoryRevocation")
            .field("tokens", &entries.tokens.len())
            .field("users", &entries.users.len())
            .finish()
    }
}

impl MemoryRevocation {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries are held (expired ones are dropped at the next revocation).
    pub fn len(&self) -> usize {
        let entries = self.entries.load();
        entries.tokens.len() + entries.users.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn update(&self, change: impl Fn(&mut Entries)) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.entries.rcu(|entries| {
            let mut next = entries.without_expired(now);
            change(&mut next);
            Arc::new(next)
        });
    }
}

impl Revocation for MemoryRevocation {
    fn is_revoked(&self, claims: &Claims, token: &str, now: u64) -> bool {
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
            .get(&claims.identity.username)
            .is_some_and(|(before, exp)| *exp >= now && claims.iat.is_none_or(|iat| iat < *before))
    }

    fn revoke_token(&self, token: TokenHash, expires_at: u64) {
        self.update(|entries| {
            entries.tokens.insert(token, expires_at);
        });
    }

    fn revoke_user_before(&self, username: &str, before: u64, expires_at: u64) {
        self.update(|entries| {
            let entry = entries
                .users
                .entry(username.to_owned())
                .or_insert((before, expires_at));
            *entry = (entry.0.max(before), entry.1.max(expires_at));
        });
    }
}
