//! Keys from a JWKS URL (feature `jwks`): fetched at start, refreshed on an interval, and
//! fetched again when a token names an unknown `kid`, beside the request path.
//!
//! ```no_run
//! use tokenleader_rbac::Enforcer;
//!
//! let enforcer = Enforcer::builder()
//!     .jwks_url("https://kc.example/realms/acme/protocol/openid-connect/certs")
//!     .acl_file("role_to_acl_map.yml")
//!     .build()?; // fails when the first fetch fails
//! # Ok::<(), tokenleader_rbac::Error>(())
//! ```
//!
//! The fetching runs on a thread of its own with its own small runtime. A token with an
//! unknown `kid` asks for a fetch; fetches so asked come at most once per minimum interval
//! (10 s by default), so forged `kid`s cannot make the service hammer the key server. Through
//! `RequireRule`, such a request waits for the fetch it asked for (or joins the one under way),
//! at most 2 s, and is then decided with the new keys: a key rotation fails no request. This is
//! the one wait on the network the request path has; a request whose `kid` is known never
//! waits, and while a fetch is rate limited, unknown `kid`s get their 401 at once. A response
//! body is read up to 1 MiB and refused beyond. A failed fetch keeps the keys in force and is
//! reported in [`KeyStatus::last_error`](super::KeyStatus::last_error).

mod fetch;

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::key_cache::KeyCache;
use super::{KeySource, ReloadError};
use crate::keys::KeyError;
use crate::outbound;
use crate::token::VerifyWait;
pub(crate) use fetch::Fetched;
use fetch::Source;

/// The largest JWKS body read; a key set of a few keys is a few kilobytes.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// How long requests whose token names an unknown `kid` wait for the fetch they asked for.
pub(crate) const MAX_KEY_WAIT: Duration = Duration::from_secs(2);

/// What a JWKS source fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Document {
    /// The key set.
    Jwks,
    /// The OpenID provider's configuration, which names the key set (discovery).
    OpenIdConfiguration,
}

impl std::fmt::Display for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Document::Jwks => "JWKS",
            Document::OpenIdConfiguration => "OpenID discovery",
        })
    }
}

/// A JWKS that could not be fetched or used. The keys in force stay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The request failed: no connection, a timeout, a TLS failure, a broken body.
    #[error("{document} {url}: {cause}")]
    Request {
        /// What was fetched.
        document: Document,
        /// Its URL.
        url: String,
        /// Why it failed ("cannot connect: Connection refused (os error 111)", "timed out").
        cause: String,
    },
    /// The server answered with an error status.
    #[error("{document} {url}: HTTP {status}")]
    Status {
        /// What was fetched.
        document: Document,
        /// Its URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The server answered with a redirect, which is never followed: configure the URL it
    /// points to.
    #[error(
        "{document} {url}: HTTP {status}, a redirect: redirects are never followed (configure the URL it points to)"
    )]
    Redirect {
        /// What was fetched.
        document: Document,
        /// Its URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body is larger than 1 MiB.
    #[error("{document} {url}: the body is larger than the {max} bytes allowed")]
    TooLarge {
        /// What was fetched.
        document: Document,
        /// Its URL.
        url: String,
        /// The cap.
        max: usize,
    },
    /// The body is not a key set with a usable key.
    #[error("JWKS {url}: {source}")]
    Keys {
        /// The JWKS URL.
        url: String,
        /// What is wrong with the keys.
        source: KeyError,
    },
    /// The OpenID configuration is unusable: not JSON, another `issuer`, no `jwks_uri`, a
    /// `jwks_uri` that is plain HTTP to another host.
    #[error("OpenID discovery {url}: {message}")]
    Discovery {
        /// The configuration's URL.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The URL may not be called: plain HTTP to a host that is not loopback (without
    /// `.allow_plain_http()`), or not an http(s) URL.
    #[error("JWKS source {0}")]
    Url(String),
    /// The first fetch did not finish in time.
    #[error("JWKS {url}: the first fetch did not finish in time")]
    FirstFetchTimedOut {
        /// The JWKS URL.
        url: String,
    },
    /// The HTTP client, its runtime or its thread could not be started.
    #[error("cannot start the JWKS fetcher: {0}")]
    Start(String),
}

/// Settings of a JWKS key source.
#[derive(Debug, Clone)]
pub(crate) struct JwksConfig {
    /// The JWKS URL, or with `discover` the issuer whose OpenID configuration names it.
    pub(crate) url: String,
    /// Whether `url` is an issuer to discover (`/.well-known/openid-configuration`).
    pub(crate) discover: bool,
    /// Where the configuration is read, when not from the issuer's URL (a stand-in, a
    /// mirror); its `issuer` must still be `url`.
    pub(crate) discovery_url: Option<String>,
    /// Where good key sets are kept for a start while the source is down.
    pub(crate) cache: Option<Arc<KeyCache>>,
    pub(crate) refresh_interval: Duration,
    pub(crate) min_refetch_interval: Duration,
    pub(crate) timeout: Duration,
    /// Whether `http://` to a host that is not loopback may be called.
    pub(crate) allow_plain_http: bool,
}

impl JwksConfig {
    pub(crate) fn new(url: String) -> Self {
        JwksConfig {
            url,
            discover: false,
            discovery_url: None,
            cache: None,
            refresh_interval: Duration::from_secs(300),
            min_refetch_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            allow_plain_http: false,
        }
    }
}

/// The running key source; dropping it (with the last `Enforcer`) ends its thread.
pub(crate) struct JwksSource {
    refetch: SyncSender<()>,
    fetches: Arc<Fetches>,
}

impl std::fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksSource").finish_non_exhaustive()
    }
}

/// What the request path and the fetcher share: whether an asked-for fetch is under way, when
/// the last one started, and a counter bumped when one ends (or its waiters' time is up).
struct Fetches {
    state: Mutex<FetchState>,
    done: tokio::sync::watch::Sender<u64>,
    min_refetch_interval: Duration,
}

struct FetchState {
    /// An asked-for fetch is under way, and its waiters are still waiting.
    pending: bool,
    last_fetch: Instant,
}

impl Fetches {
    fn lock(&self) -> std::sync::MutexGuard<'_, FetchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes the waiters: under the lock, so a request either joins before the wake or sees
    /// the fetch over.
    fn wake_waiters(&self) {
        let mut state = self.lock();
        state.pending = false;
        self.done
            .send_modify(|count| *count = count.wrapping_add(1));
    }
}

impl JwksSource {
    /// Asks for a fetch (a token named an unknown `kid`); never blocks. `Some` wait when a
    /// fetch is under way now (this ask started it, or joins it); `None` when the rate limit
    /// holds the ask back.
    pub(crate) fn request_refetch(&self) -> Option<VerifyWait> {
        let mut state = self.fetches.lock();
        if !state.pending {
            if state.last_fetch.elapsed() < self.fetches.min_refetch_interval {
                return None;
            }
            state.pending = true;
            state.last_fetch = Instant::now();
            // Full: the fetcher has an ask already. Disconnected: it is gone with its
            // enforcer, and the waiters wake when `done` is dropped.
            let _ = self.refetch.try_send(());
        }
        let mut done = self.fetches.done.subscribe();
        Some(VerifyWait(Box::pin(async move {
            let _ = done.changed().await;
        })))
    }
}

/// Fetches once, swaps the keys in, and starts the thread that keeps them fresh. Fails when
/// the first fetch fails.
pub(crate) fn start(config: JwksConfig, target: &Arc<KeySource>) -> Result<JwksSource, JwksError> {
    let fetched_url = config.discovery_url.as_deref().unwrap_or(&config.url);
    outbound::check_url(fetched_url, config.allow_plain_http).map_err(JwksError::Url)?;
    let (first_tx, first_rx) = mpsc::channel();
    let (refetch, requests) = mpsc::sync_channel(1);
    let weak = Arc::downgrade(target);
    let fetches = Arc::new(Fetches {
        state: Mutex::new(FetchState {
            pending: false,
            last_fetch: Instant::now(),
        }),
        done: tokio::sync::watch::Sender::new(0),
        min_refetch_interval: config.min_refetch_interval,
    });
    let shared = fetches.clone();
    // Discovery and the first fetch each have the timeout.
    let requests_before_keys = if config.discover { 2 } else { 1 };
    let wait = config.timeout * requests_before_keys + Duration::from_secs(1);
    let url = config.url.clone();
    let cache = config.cache.clone();
    std::thread::Builder::new()
        .name("tl-rbac-jwks".into())
        .spawn(move || run(&config, &weak, &requests, &first_tx, &shared))
        .map_err(|e| JwksError::Start(e.to_string()))?;
    let error = match first_rx.recv_timeout(wait) {
        Ok(Ok(fetched)) => {
            target.set_remote_keys(fetched.keys, fetched.skipped);
            return Ok(JwksSource { refetch, fetches });
        }
        Ok(Err(error)) => error,
        Err(_) => JwksError::FirstFetchTimedOut { url: url.clone() },
    };
    let Some((keys, fetched_at)) = cache.and_then(|cache| cache.load(&url)) else {
        return Err(error);
    };
    let age_secs = fetched_at.elapsed().unwrap_or_default().as_secs();
    tracing::warn!(
        source = %url,
        %error,
        age_secs,
        "the keys could not be fetched at start: using those of the key cache file, fetching again in the background"
    );
    target.set_cached_keys(keys, fetched_at);
    target.remote_keys_failed(ReloadError::Jwks(error));
    Ok(JwksSource { refetch, fetches })
}

fn run(
    config: &JwksConfig,
    target: &Weak<KeySource>,
    requests: &mpsc::Receiver<()>,
    first: &mpsc::Sender<Result<Fetched, JwksError>>,
    fetches: &Fetches,
) {
    let setup = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| JwksError::Start(format!("runtime: {e}")))
        .and_then(|runtime| {
            // A fresh connection per fetch: fetches come minutes apart, and between them this
            // thread's runtime does not run, so a kept connection that the server closed while
            // idle (node after 5 s, nginx after 75 s) would be reused, and fail, on the next
            // one. A handshake per fetch costs milliseconds, a few times an hour.
            outbound::client(config.timeout, false)
                .map(|http| (runtime, http))
                .map_err(JwksError::Start)
        });
    let (runtime, http) = match setup {
        Ok(setup) => setup,
        Err(error) => {
            let _ = first.send(Err(error));
            return;
        }
    };
    let source = Source {
        config,
        http: &http,
        jwks_url: std::cell::RefCell::new(None),
    };
    let first_fetch = runtime.block_on(source.fetch());
    // While fetches fail (after a start from the key cache file), the next comes sooner.
    let next_wait = |ok: bool| match ok {
        true => config.refresh_interval,
        false => config.min_refetch_interval,
    };
    let mut refresh_wait = next_wait(first_fetch.is_ok());
    if first.send(first_fetch).is_err() {
        return;
    }
    let mut last_refresh = Instant::now();
    loop {
        // The refresh is due at a fixed time after the last one, however many asks come in.
        let until_refresh = refresh_wait.saturating_sub(last_refresh.elapsed());
        let asked = match requests.recv_timeout(until_refresh) {
            // Asked for by an unknown `kid`, the rate limit already applied by the asker.
            Ok(()) => true,
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let Some(target) = target.upgrade() else {
            return;
        };
        if !asked {
            last_refresh = Instant::now();
            fetches.lock().last_fetch = last_refresh;
        }
        let fetched = runtime.block_on(async {
            let fetch = source.fetch();
            tokio::pin!(fetch);
            tokio::select! {
                fetched = &mut fetch => fetched,
                () = tokio::time::sleep(MAX_KEY_WAIT) => {
                    // The waiters' time is up: they are decided with the keys in force.
                    fetches.wake_waiters();
                    fetch.await
                }
            }
        });
        refresh_wait = next_wait(fetched.is_ok());
        match fetched {
            Ok(fetched) => target.set_remote_keys(fetched.keys, fetched.skipped),
            Err(error) => target.remote_keys_failed(ReloadError::Jwks(error)),
        }
        fetches.wake_waiters();
    }
}
