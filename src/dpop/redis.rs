//! Seen DPoP proofs shared by a fleet through Redis (feature `redis`): a proof accepted by
//! one instance is a replay on every other.
//!
//! ```no_run
//! use tokenleader_rbac::{Enforcer, Issuer, PublicKey};
//! use tokenleader_rbac::dpop::{Dpop, RedisReplay};
//!
//! let enforcer = Enforcer::builder()
//!     .trust(Issuer::new("https://idp.example").public_key_file("/etc/idp.pem").dpop(Dpop::required()))
//!     .external_url("https://api.example")
//!     .dpop_replay(RedisReplay::connect("redis://127.0.0.1:6379/")?)
//!     .acl_file("/etc/tokenleader/role_to_acl_map.yml")
//!     .build()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each proof's first use is claimed with `SET tokenleader-rbac:dpop:<hash> 1 NX EX <age>`:
//! the instance whose `SET` takes the key lets the request through, every other refuses it
//! as a replay. The proof is checked completely first, and against the instance's own
//! store, so Redis sees only good proofs this instance has not seen. The request waits for
//! Redis's answer (one round trip); a thread of its own, with a small runtime, does the
//! talking. When Redis does not answer within a second, or is down, the request is refused
//! with 503: a proof whose first use cannot be established is never let through.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::ReplayKey;
use crate::revocation::RedisError;

/// How long a claim may take, connecting included.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// How many claims may wait for the thread; more are refused (503).
const QUEUE: usize = 4096;

/// How long an answer waits for the request that asked for it (the request decides again
/// right after its wait; one that went away leaves its answer behind).
const ANSWER_LIFETIME: Duration = Duration::from_secs(10);

/// The prefix of the keys of seen proofs.
const KEY_PREFIX: &str = "tokenleader-rbac:dpop:";

/// What Redis says of a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FleetAnswer {
    /// Its first use in the fleet.
    First,
    /// Another instance (or this one) claimed it before.
    Replayed,
    /// Redis did not answer.
    Unavailable,
}

struct Claim {
    key: ReplayKey,
    ttl_secs: u64,
    reply: oneshot::Sender<FleetAnswer>,
}

/// The fleet's store of seen DPoP proofs, in Redis. Dropping the last enforcer that holds
/// it ends its thread.
pub struct RedisReplay {
    claims: mpsc::Sender<Claim>,
    answers: Arc<Mutex<HashMap<ReplayKey, (FleetAnswer, Instant)>>>,
}

impl std::fmt::Debug for RedisReplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisReplay").finish_non_exhaustive()
    }
}

impl RedisReplay {
    /// Starts the store's thread for Redis at `url` (`redis://host:port/db`). It connects
    /// on the first claim and again after any failure; an unreachable server is not an
    /// error here (proofs are then refused with 503). Only a URL that cannot work is.
    pub fn connect(url: &str) -> Result<Self, RedisError> {
        let client = redis::Client::open(url).map_err(RedisError::Url)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RedisError::Thread)?;
        let (claims, queue) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("tl-rbac-dpop-redis".into())
            .spawn(move || runtime.block_on(serve(client, queue)))
            .map_err(RedisError::Thread)?;
        Ok(RedisReplay {
            claims,
            answers: Arc::default(),
        })
    }

    /// Asks Redis whether `key` is used for the first time, to be remembered `ttl_secs`: a
    /// wait, after which [`answer`](Self::answer) has it.
    pub(crate) fn claim(
        &self,
        key: ReplayKey,
        ttl_secs: u64,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.claims.try_send(Claim {
            key,
            ttl_secs,
            reply,
        });
        let answers = self.answers.clone();
        Box::pin(async move {
            let answer = match sent {
                Ok(()) => answer.await.unwrap_or(FleetAnswer::Unavailable),
                Err(_) => FleetAnswer::Unavailable,
            };
            let now = Instant::now();
            let mut answers = answers.lock().unwrap_or_else(|p| p.into_inner());
            answers.retain(|_, (_, at)| now.duration_since(*at) < ANSWER_LIFETIME);
            answers.insert(key, (answer, now));
        })
    }

    /// Redis's answer for `key`, taken: one request gets it.
    pub(crate) fn answer(&self, key: ReplayKey) -> Option<FleetAnswer> {
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers.remove(&key).map(|(answer, _)| answer)
    }
}

/// The thread: one connection (made on demand, dropped on failure), each claim a task of
/// its own on it.
async fn serve(client: redis::Client, mut queue: mpsc::Receiver<Claim>) {
    let mut connection: Option<redis::aio::MultiplexedConnection> = None;
    let broken = Arc::new(AtomicBool::new(false));
    while let Some(claim) = queue.recv().await {
        if broken.swap(false, Ordering::SeqCst) {
            connection = None;
        }
        if connection.is_none() {
            let connect = client.get_multiplexed_async_connection();
            match tokio::time::timeout(CALL_TIMEOUT, connect).await {
                Ok(Ok(made)) => connection = Some(made),
                Ok(Err(error)) => tracing::warn!(%error, "Redis store of DPoP proofs unreachable"),
                Err(_) => tracing::warn!("Redis store of DPoP proofs: connecting timed out"),
            }
        }
        let Some(mut connection) = connection.clone() else {
            let _ = claim.reply.send(FleetAnswer::Unavailable);
            continue;
        };
        let broken = broken.clone();
        tokio::spawn(async move {
            let key = format!("{KEY_PREFIX}{}", claim.key.hex());
            let mut command = redis::cmd("SET");
            command
                .arg(key)
                .arg(1)
                .arg("NX")
                .arg("EX")
                .arg(claim.ttl_secs.max(1));
            let set = command.query_async::<Option<String>>(&mut connection);
            let answer = match tokio::time::timeout(CALL_TIMEOUT, set).await {
                Ok(Ok(Some(_))) => FleetAnswer::First,
                Ok(Ok(None)) => FleetAnswer::Replayed,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "Redis store of DPoP proofs failed");
                    broken.store(true, Ordering::SeqCst);
                    FleetAnswer::Unavailable
                }
                Err(_) => {
                    tracing::warn!("Redis store of DPoP proofs did not answer in time");
                    broken.store(true, Ordering::SeqCst);
                    FleetAnswer::Unavailable
                }
            };
            let _ = claim.reply.send(answer);
        });
    }
}
