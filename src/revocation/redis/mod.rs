//! Revocations shared by a fleet through Redis (feature `redis`).
//!
//! ```no_run
//! use tokenleader_rbac::Enforcer;
//! use tokenleader_rbac::revocation::RedisRevocation;
//!
//! let revocations = RedisRevocation::connect("redis://127.0.0.1:6379/")?;
//! let enforcer = Enforcer::builder()
//!     .public_key_file("/etc/tokenleader/id_rsa.pub")
//!     .acl_file("/etc/tokenleader/role_to_acl_map.yml")
//!     .revocation(revocations)
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each entry is a Redis key that expires when the tokens it names would have
//! (`tokenleader-rbac:revoked:token:<sha256>`, `tokenleader-rbac:revoked:user:<name>`; the
//! time to live is counted on the enforcer's clock and given to Redis as a duration, so
//! Redis's own clock never decides how long an entry lives), and is
//! announced on the channel `tokenleader-rbac:revocations`. Every instance keeps a local copy,
//! kept current by that channel, so the request path never waits for Redis; on each
//! (re)connection the keys are loaded again and merged into the copy. A thread of its own, with
//! a small runtime, does the talking.
//!
//! No revocation is lost to an outage: one made while Redis is away (or going away, before
//! this instance notices) is held until Redis has taken it, and written on the next
//! connection; a Redis that comes back empty (no persistence) is given back every entry the
//! instance still holds. Every instance converges within about a second of Redis answering
//! again (it retries every 0.5 s); `tests/redis_revocation.rs` repeats the outage to show it.
//!
//! While Redis is unreachable the copy is kept and the status says so. Requests are then
//! refused (503, fail closed) unless [`serve_stale`](RedisRevocation::serve_stale) lets them be
//! decided with the last copy.

mod change;
mod sync;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{LocalCopy, Revocation, RevocationUnavailable, TokenHash};
use crate::claims::Claims;
use change::{Change, Write};
use sync::{Shared, keep_in_sync};

/// Why a Redis store (of revocations, or of seen DPoP proofs) could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The URL cannot be used (the message never repeats it: it may hold a password).
    #[error("the Redis URL cannot be used: {0}")]
    Url(#[source] redis::RedisError),
    /// The thread or its runtime could not be started.
    #[error("cannot start the Redis thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Revocations in Redis, with a local copy for the request path. Dropping it ends its thread.
pub struct RedisRevocation {
    local: Arc<LocalCopy>,
    connected: Arc<AtomicBool>,
    /// The latest time the enforcer gave this store (its clock, to the second): what the
    /// entries written back to a Redis that came back empty count their time to live from.
    clock: Arc<AtomicU64>,
    serve_stale: bool,
    changes: mpsc::UnboundedSender<Write>,
}

impl std::fmt::Debug for RedisRevocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRevocation")
            .field("connected", &self.is_connected())
            .field("entries", &self.local.len())
            .field("serve_stale", &self.serve_stale)
            .finish()
    }
}

impl RedisRevocation {
    /// Connects to Redis at `url` (`redis://host:port/db`) from a thread of its own, and waits
    /// up to 5 s for the first connection. An unreachable server is not an error: the store
    /// starts disconnected (refusing requests unless [`serve_stale`](Self::serve_stale)) and
    /// keeps trying. Only a URL that cannot work is refused.
    pub fn connect(url: &str) -> Result<Self, RedisError> {
        let client = redis::Client::open(url).map_err(RedisError::Url)?;
        let local = Arc::new(LocalCopy::default());
        let connected = Arc::new(AtomicBool::new(false));
        let clock = Arc::new(AtomicU64::new(0));
        let (changes, pending) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RedisError::Thread)?;
        let shared = Shared {
            local: local.clone(),
            connected: connected.clone(),
            clock: clock.clone(),
        };
        std::thread::Builder::new()
            .name("tl-rbac-redis".into())
            .spawn(move || runtime.block_on(keep_in_sync(client, shared, pending)))
            .map_err(RedisError::Thread)?;
        let store = RedisRevocation {
            local,
            connected,
            clock,
            serve_stale: false,
            changes,
        };
        for _ in 0..50 {
            if store.is_connected() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(store)
    }

    /// While Redis is unreachable: `true` decides with the last local copy, `false` (the
    /// default) refuses every request with 503.
    pub fn serve_stale(mut self, serve_stale: bool) -> Self {
        self.serve_stale = serve_stale;
        self
    }

    /// Whether the local copy is in sync with Redis now.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// How many entries the local copy holds.
    pub fn len(&self) -> usize {
        self.local.len()
    }

    /// Whether the local copy holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the latest `now` the enforcer gave (written once a second at most).
    fn see_time(&self, now: u64) {
        if now > self.clock.load(Ordering::Relaxed) {
            self.clock.fetch_max(now, Ordering::Relaxed);
        }
    }

    fn publish(&self, change: Change, now: u64) {
        self.see_time(now);
        self.local.update(now, |entries| change.apply(entries));
        let ttl_secs = change.expires_at().saturating_sub(now).max(1);
        // Written by the thread; while Redis is away it waits there and goes out on reconnect.
        let _ = self.changes.send(Write { change, ttl_secs });
    }
}

impl Revocation for RedisRevocation {
    fn is_revoked(
        &self,
        claims: &Claims,
        token: &str,
        now: u64,
    ) -> Result<bool, RevocationUnavailable> {
        if !self.serve_stale && !self.is_connected() {
            return Err(RevocationUnavailable);
        }
        self.see_time(now);
        Ok(self.local.is_revoked(claims, token, now))
    }

    fn revoke_token(&self, token: TokenHash, expires_at: u64, now: u64) {
        self.publish(Change::Token(token, expires_at), now);
    }

    fn revoke_user_before(&self, username: &str, before: u64, expires_at: u64, now: u64) {
        self.publish(
            Change::User {
                name: username.to_owned(),
                before,
                expires_at,
            },
            now,
        );
    }
}
