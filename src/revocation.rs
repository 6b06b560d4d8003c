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

    /// Revokes one token until `expires_at` (its `exp`).
    fn revoke_token(&self, token: TokenHash, expires_at: u64);

    /// Revokes the tokens of `username` issued before `before`, until `expires_at` (when the
    /// last of them would have expired).
    fn revoke_user_before(&self, username: &str, before: u64, expires_at: u64);
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

    pub(crate) fn add_user(&mut self, username: &str, before: u64, expires_at: u64) {
        let entry = self
            .users
            .entry(username.to_owned())
            .or_insert((before, expires_at));
        *entry = (entry.0.max(before), entry.1.max(expires_at));
    }
}

/// A lock-free snapshot of [`Entries`] for the request path, replaced whole on every change.
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
            .get(&claims.identity.username)
            .is_some_and(|(before, exp)| *exp >= now && claims.iat.is_none_or(|iat| iat < *before))
    }

    /// Applies `change` to a copy without the expired entries, and swaps the copy in.
    pub(crate) fn update(&self, change: impl Fn(&mut Entries)) {
        let now = unix_now();
        self.entries.rcu(|entries| {
            let mut next = entries.without_expired(now);
            change(&mut next);
            Arc::new(next)
        });
    }

    #[cfg(feature = "redis")]
    pub(crate) fn replace(&self, entries: Entries) {
        self.entries.store(Arc::new(entries));
    }

    pub(crate) fn len(&self) -> usize {
        let entries = self.entries.load();
        entries.tokens.len() + entries.users.len()
    }
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Revocations in this process's memory: for one instance, and for tests. The request path
/// reads a snapshot without a lock; a revocation copies the (small) set and swaps it in,
/// dropping expired entries on the way.
#[derive(Default)]
pub struct MemoryRevocation {
    local: LocalCopy,
}

impl fmt::Debug for MemoryRevocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRevocation")
            .field("entries", &self.local.len())
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
        self.local.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Revocation for MemoryRevocation {
    fn is_revoked(
        &self,
        claims: &Claims,
        token: &str,
        now: u64,
    ) -> Result<bool, RevocationUnavailable> {
        Ok(self.local.is_revoked(claims, token, now))
    }

    fn revoke_token(&self, token: TokenHash, expires_at: u64) {
        self.local
            .update(|entries| entries.add_token(token, expires_at));
    }

    fn revoke_user_before(&self, username: &str, before: u64, expires_at: u64) {
        self.local
            .update(|entries| entries.add_user(username, before, expires_at));
    }
}
