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

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{Entries, LocalCopy, Revocation, RevocationUnavailable, TokenHash};
use crate::claims::Claims;

const CHANNEL: &str = "tokenleader-rbac:revocations";
const TOKEN_PREFIX: &str = "tokenleader-rbac:revoked:token:";
const USER_PREFIX: &str = "tokenleader-rbac:revoked:user:";
const RETRY: Duration = Duration::from_millis(500);

/// One revocation, as written to Redis and announced on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Token(TokenHash, u64),
    User {
        name: String,
        before: u64,
        expires_at: u64,
    },
}

/// A revocation made here, with how long its Redis key lives (by the enforcer's clock).
#[derive(Debug)]
struct Write {
    change: Change,
    ttl_secs: u64,
}

/// Why the store could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The URL cannot be used (the message never repeats it: it may hold a password).
    #[error("the Redis URL cannot be used: {0}")]
    Url(#[source] redis::RedisError),
    /// The thread or its runtime could not be started.
    #[error("cannot start the Redis revocation thread: {0}")]
    Thread(#[source] std::io::Error),
}

impl Change {
    /// `token <hex> <exp>` or `user <before> <exp> <name>` (the name last: it may hold spaces).
    fn to_message(&self) -> String {
        match self {
            Change::Token(hash, exp) => format!("token {} {exp}", hash.to_hex()),
            Change::User {
                name,
                before,
                expires_at,
            } => format!("user {before} {expires_at} {name}"),
        }
    }

    fn from_message(message: &str) -> Option<Change> {
        let mut parts = message.splitn(4, ' ');
        match parts.next()? {
            "token" => {
                let hash = TokenHash::from_hex(parts.next()?)?;
                Some(Change::Token(hash, parts.next()?.parse().ok()?))
            }
            "user" => Some(Change::User {
                before: parts.next()?.parse().ok()?,
                expires_at: parts.next()?.parse().ok()?,
                name: parts.next()?.to_owned(),
            }),
            _ => None,
        }
    }

    fn expires_at(&self) -> u64 {
        match self {
            Change::Token(_, exp) => *exp,
            Change::User { expires_at, .. } => *expires_at,
        }
    }

    fn apply(&self, entries: &mut Entries) {
        match self {
            Change::Token(hash, exp) => entries.add_token(*hash, *exp),
            Change::User {
                name,
                before,
                expires_at,
            } => entries.add_user(name, *before, *expires_at),
        }
    }
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

/// Connects, syncs, follows the channel; on any failure marks the store disconnected and tries
/// again. Ends when the store is dropped. A change made here is held in `unsent` until Redis
/// has taken it: a write that fails (Redis went away before this instance noticed, a timeout)
/// is written again on the next connection, never dropped.
async fn keep_in_sync(
    client: redis::Client,
    shared: Shared,
    mut pending: mpsc::UnboundedReceiver<Write>,
) {
    let mut unsent = VecDeque::new();
    loop {
        let outcome = session(&client, &shared, &mut pending, &mut unsent).await;
        shared.connected.store(false, Ordering::SeqCst);
        match outcome {
            Ok(()) => return,
            Err(error) => tracing::warn!(
                %error,
                unsent = unsent.len(),
                "Redis revocation store unreachable; retrying"
            ),
        }
        if pending.is_closed() {
            return;
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// What the store and its thread share.
struct Shared {
    local: Arc<LocalCopy>,
    connected: Arc<AtomicBool>,
    clock: Arc<AtomicU64>,
}

/// One connection's life. `Ok` when the store was dropped.
async fn session(
    client: &redis::Client,
    shared: &Shared,
    pending: &mut mpsc::UnboundedReceiver<Write>,
    unsent: &mut VecDeque<Write>,
) -> redis::RedisResult<()> {
    let Shared {
        local,
        connected,
        clock,
    } = shared;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    let mut commands = client.get_multiplexed_async_connection().await?;
    // What was revoked here while Redis was away goes out first, then the whole set comes in:
    // subscribed before loading, nothing published meanwhile is missed. The set is merged into
    // the local copy, never put in its place: revocations only ever add, and a local one not
    // written yet must not vanish for a moment. What this instance holds and Redis lacks (a
    // Redis that came back empty, without persistence) is written back.
    while let Ok(change) = pending.try_recv() {
        unsent.push_back(change);
    }
    write_unsent(&mut commands, unsent).await?;
    let loaded = load(&mut commands).await?;
    unsent.extend(missing_from(
        &local.snapshot(),
        &loaded,
        clock.load(Ordering::Relaxed),
    ));
    local.add(|entries| entries.merge(&loaded));
    write_unsent(&mut commands, unsent).await?;
    connected.store(true, Ordering::SeqCst);
    tracing::info!(entries = local.len(), "Redis revocation store in sync");
    let mut messages = pubsub.on_message();
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else {
                    return Err(redis::RedisError::from((redis::ErrorKind::Io, "the subscription ended")));
                };
                let text: String = message.get_payload()?;
                // Added without pruning: this store has no clock of its own; the next local
                // revocation prunes with the enforcer's.
                match Change::from_message(&text) {
                    Some(change) => local.add(|entries| change.apply(entries)),
                    None => tracing::warn!("ignored a malformed message on {CHANNEL}"),
                }
            }
            change = pending.recv() => match change {
                Some(change) => {
                    unsent.push_back(change);
                    write_unsent(&mut commands, unsent).await?;
                }
                None => return Ok(()),
            },
        }
    }
}

/// The entries of `local` that `redis` lacks (or holds with less), as writes whose time to
/// live counts from `now`; none before the enforcer gave a time, and none already expired.
fn missing_from(local: &Entries, redis: &Entries, now: u64) -> Vec<Write> {
    let write = |change: Change| Write {
        ttl_secs: change.expires_at() - now,
        change,
    };
    if now == 0 {
        return Vec::new();
    }
    let tokens = local
        .tokens
        .iter()
        .filter(|(hash, exp)| **exp > now && redis.tokens.get(hash).is_none_or(|held| held < exp))
        .map(|(hash, exp)| write(Change::Token(*hash, *exp)));
    let users = local
        .users
        .iter()
        .filter(|(name, (before, exp))| {
            *exp > now
                && redis
                    .users
                    .get(*name)
                    .is_none_or(|held| held.0 < *before || held.1 < *exp)
        })
        .map(|(name, (before, expires_at))| {
            write(Change::User {
                name: name.clone(),
                before: *before,
                expires_at: *expires_at,
            })
        });
    tokens.chain(users).collect()
}

/// Writes the held changes in order, each let go only once Redis has taken it.
async fn write_unsent(
    commands: &mut redis::aio::MultiplexedConnection,
    unsent: &mut VecDeque<Write>,
) -> redis::RedisResult<()> {
    while let Some(change) = unsent.front() {
        write(commands, change).await?;
        unsent.pop_front();
    }
    Ok(())
}

async fn write(
    commands: &mut redis::aio::MultiplexedConnection,
    write: &Write,
) -> redis::RedisResult<()> {
    let change = &write.change;
    let (key, value) = match change {
        Change::Token(hash, exp) => (format!("{TOKEN_PREFIX}{}", hash.to_hex()), exp.to_string()),
        Change::User {
            name,
            before,
            expires_at,
        } => (
            format!("{USER_PREFIX}{name}"),
            format!("{before} {expires_at}"),
        ),
    };
    redis::pipe()
        .cmd("SET")
        .arg(&key)
        .arg(value)
        .arg("EX")
        .arg(write.ttl_secs)
        .ignore()
        .cmd("PUBLISH")
        .arg(CHANNEL)
        .arg(change.to_message())
        .ignore()
        .query_async::<()>(commands)
        .await
}

/// Every entry in Redis.
async fn load(commands: &mut redis::aio::MultiplexedConnection) -> redis::RedisResult<Entries> {
    let mut entries = Entries::default();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("tokenleader-rbac:revoked:*")
            .arg("COUNT")
            .arg(1000)
            .query_async(commands)
            .await?;
        for key in keys {
            let value: Option<String> = redis::cmd("GET").arg(&key).query_async(commands).await?;
            let Some(value) = value else { continue };
            if let Some(hex) = key.strip_prefix(TOKEN_PREFIX) {
                if let (Some(hash), Ok(exp)) = (TokenHash::from_hex(hex), value.parse()) {
                    entries.add_token(hash, exp);
                }
            } else if let Some(name) = key.strip_prefix(USER_PREFIX) {
                let mut numbers = value.split(' ').map(str::parse::<u64>);
                if let (Some(Ok(before)), Some(Ok(expires_at))) = (numbers.next(), numbers.next()) {
                    entries.add_user(name, before, expires_at);
                }
            }
        }
        if next == 0 {
            return Ok(entries);
        }
        cursor = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_back() {
        let changes = [
            Change::Token(TokenHash::of("a.b.c"), 1_800_000_000),
            Change::User {
                name: "user with spaces".into(),
                before: 1_700_000_000,
                expires_at: 1_800_000_000,
            },
        ];
        for change in changes {
            assert_eq!(Change::from_message(&change.to_message()), Some(change));
        }
    }

    #[test]
    fn malformed_messages_are_ignored() {
        for message in ["", "token", "token zz 1", "user x 1 name", "other 1 2 3"] {
            assert_eq!(Change::from_message(message), None, "{message}");
        }
    }
}
