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
//! The fetching runs on a thread of its own with its own small runtime: the request path never
//! waits for the network. A token with an unknown `kid` is refused (401) and asks for a fetch;
//! fetches so asked come at most once per minimum interval (10 s by default), so forged `kid`s
//! cannot make the service hammer the key server. A response body is read up to 1 MiB and
//! refused beyond. A failed fetch keeps the keys in force and is reported in
//! [`KeyStatus::last_error`](super::KeyStatus::last_error).

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::{ReloadError, Reloader};
use crate::keys::{KeyError, PublicKey};

/// The largest JWKS body read; a key set of a few keys is a few kilobytes.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// A JWKS that could not be fetched or used. The keys in force stay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The request failed: no connection, a timeout, a broken body.
    #[error("JWKS {url}: request failed: {source}")]
    Request {
        /// The JWKS URL.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("JWKS {url}: HTTP {status}")]
    Status {
        /// The JWKS URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The body is larger than 1 MiB.
    #[error("JWKS {url}: the body is larger than the {max} bytes allowed")]
    TooLarge {
        /// The JWKS URL.
        url: String,
        /// The cap.
        max: usize,
    },
    /// The body is not a key set with an acceptable key.
    #[error("JWKS {url}: {source}")]
    Keys {
        /// The JWKS URL.
        url: String,
        /// What is wrong with the keys.
        source: KeyError,
    },
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
    pub(crate) url: String,
    pub(crate) refresh_interval: Duration,
    pub(crate) min_refetch_interval: Duration,
    pub(crate) timeout: Duration,
}

impl JwksConfig {
    pub(crate) fn new(url: String) -> Self {
        JwksConfig {
            url,
            refresh_interval: Duration::from_secs(300),
            min_refetch_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The running key source; dropping it (with the last `Enforcer`) ends its thread.
#[derive(Debug)]
pub(crate) struct JwksSource {
    refetch: SyncSender<()>,
}

impl JwksSource {
    /// Asks for a fetch (a token named an unknown `kid`). Never blocks; the fetcher applies
    /// the rate limit.
    pub(crate) fn request_refetch(&self) {
        // Full: a fetch is asked for already. Disconnected: the fetcher is gone with its
        // enforcer. Either way there is nothing more to do.
        let _ = self.refetch.try_send(());
    }
}

/// Fetches once, swaps the keys in, and starts the thread that keeps them fresh. Fails when
/// the first fetch fails.
pub(crate) fn start(config: JwksConfig, reloader: &Arc<Reloader>) -> Result<JwksSource, JwksError> {
    let (first_tx, first_rx) = mpsc::channel();
    let (refetch, requests) = mpsc::sync_channel(1);
    let target = Arc::downgrade(reloader);
    let wait = config.timeout + Duration::from_secs(1);
    let url = config.url.clone();
    std::thread::Builder::new()
        .name("tl-rbac-jwks".into())
        .spawn(move || run(&config, &target, &requests, &first_tx))
        .map_err(|e| JwksError::Start(e.to_string()))?;
    match first_rx.recv_timeout(wait) {
        Ok(Ok(keys)) => {
            reloader.set_remote_keys(keys);
            Ok(JwksSource { refetch })
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Err(JwksError::FirstFetchTimedOut { url }),
    }
}

fn run(
    config: &JwksConfig,
    target: &Weak<Reloader>,
    requests: &mpsc::Receiver<()>,
    first: &mpsc::Sender<Result<Vec<PublicKey>, JwksError>>,
) {
    let setup = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| JwksError::Start(format!("runtime: {e}")))
        .and_then(|runtime| {
            reqwest::Client::builder()
                .timeout(config.timeout)
                .build()
                .map(|http| (runtime, http))
                .map_err(|e| JwksError::Start(format!("HTTP client: {e}")))
        });
    let (runtime, http) = match setup {
        Ok(setup) => setup,
        Err(error) => {
            let _ = first.send(Err(error));
            return;
        }
    };
    let fetch = || runtime.block_on(fetch_keys(&http, &config.url));
    if first.send(fetch()).is_err() {
        return;
    }
    let mut last_fetch = Instant::now();
    loop {
        // The refresh is due at a fixed time after the last fetch, however many asks come in.
        let until_refresh = config.refresh_interval.saturating_sub(last_fetch.elapsed());
        let due = match requests.recv_timeout(until_refresh) {
            // Asked for by an unknown `kid`: rate limited.
            Ok(()) => last_fetch.elapsed() >= config.min_refetch_interval,
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if !due {
            continue;
        }
        let Some(reloader) = target.upgrade() else {
            return;
        };
        last_fetch = Instant::now();
        match fetch() {
            Ok(keys) => reloader.set_remote_keys(keys),
            Err(error) => reloader.remote_keys_failed(ReloadError::Jwks(error)),
        }
    }
}

async fn fetch_keys(http: &reqwest::Client, url: &str) -> Result<Vec<PublicKey>, JwksError> {
    let request_error = |source| JwksError::Request {
        url: url.to_owned(),
        source,
    };
    let mut response = http.get(url).send().await.map_err(request_error)?;
    if !response.status().is_success() {
        return Err(JwksError::Status {
            url: url.to_owned(),
            status: response.status().as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request_error)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge {
                url: url.to_owned(),
                max: MAX_JWKS_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    let keys_error = |source| JwksError::Keys {
        url: url.to_owned(),
        source,
    };
    let text = String::from_utf8(body)
        .map_err(|_| keys_error(KeyError::format("JWK", "the body is not UTF-8 text")))?;
    PublicKey::from_jwks(&text).map_err(keys_error)
}
