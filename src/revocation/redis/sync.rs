//! The thread's side: one connection's life (subscribe, write what is held, load and merge,
//! follow the channel), and the reconnections.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::super::{Entries, LocalCopy, TokenHash};
use super::change::{CHANNEL, Change, TOKEN_PREFIX, USER_PREFIX, Write};

const RETRY: Duration = Duration::from_millis(500);

/// Connects, syncs, follows the channel; on any failure marks the store disconnected and tries
/// again. Ends when the store is dropped. A change made here is held in `unsent` until Redis
/// has taken it: a write that fails (Redis went away before this instance noticed, a timeout)
/// is written again on the next connection, never dropped.
pub(super) async fn keep_in_sync(
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
pub(super) struct Shared {
    pub(super) local: Arc<LocalCopy>,
    pub(super) connected: Arc<AtomicBool>,
    pub(super) clock: Arc<AtomicU64>,
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
