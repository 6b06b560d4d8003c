//! [`MemoryRevocation`]: revocations in this process's memory.

use std::fmt;

use super::{LocalCopy, Revocation, RevocationUnavailable, TokenHash};
use crate::claims::Claims;

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

    fn revoke_token(&self, token: TokenHash, expires_at: u64, now: u64) {
        self.local
            .update(now, |entries| entries.add_token(token, expires_at));
    }

    fn revoke_user_before(&self, username: &str, before: u64, expires_at: u64, now: u64) {
        self.local.update(now, |entries| {
            entries.add_user(username, before, expires_at)
        });
    }
}
