//! Keys from a JWKS URL (feature `client`): fetched at start, refreshed on an interval, and
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
//! cannot make the service hammer the key server. A failed fetch keeps the keys in force and is
//! reported in [`KeyStatus::last_error`](crate::KeyStatus::last_error).

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::error::{Error, KeyError};
use crate::token::PublicKey;
use crate::watch::Reloadables;

/// Settings of a JWKS key source.
#[derive(Debug, Clone)]
pub(crate) struct JwksConfig {
    pub(crate) url: String,
    pub(crate) refresh_interval: Duration,
    pub(crate) min_refetch_interval: Duration,
    pub(crate) timeout: Duration,
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
pub(crate) fn start(
    config: JwksConfig,
    reloadables: &Arc<Reloadables>,
) -> Result<JwksSource, Error> {
    let (first_tx, first_rx) = mpsc::channel();
    let (refetch, requests) = mpsc::sync_channel(1);
    let target = Arc::downgrade(reloadables);
    let wait = config.timeout + Duration::from_secs(1);
    std::thread::Builder::new()
        .name("tl-rbac-jwks".into())
        .spawn(move || run(&config, &target, &requests, &first_tx))
        .map_err(|e| Error::Config(format!("cannot start the JWKS thread: {e}")))?;
    match first_rx.recv_timeout(wait) {
        Ok(Ok(keys)) => {
            reloadables.set_remote_keys(keys);
            Ok(JwksSource { refetch })
        }
        Ok(Err(error)) => Err(error),
        Err(_) => Err(Error::Key(KeyError::format(
            "JWKS",
            "the first fetch did not finish in time",
        ))),
    }
}

fn run(
    config: &JwksConfig,
    target: &Weak<Reloadables>,
    requests: &mpsc::Receiver<()>,
    first: &mpsc::Sender<Result<Vec<PublicKey>, Error>>,
) {
    let setup = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("cannot start the JWKS runtime: {e}")))
        .and_then(|runtime| {
            reqwest::Client::builder()
                .timeout(config.timeout)
                .build()
                .map(|http| (runtime, http))
                .map_err(|e| Error::Config(format!("cannot build the JWKS client: {e}")))
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
        let Some(reloadables) = target.upgrade() else {
            return;
        };
        last_fetch = Instant::now();
        match fetch() {
            Ok(keys) => reloadables.set_remote_keys(keys),
            Err(error) => reloadables.remote_keys_failed(error),
        }
    }
}

async fn fetch_keys(http: &reqwest::Client, url: &str) -> Result<Vec<PublicKey>, Error> {
    let error = |message: String| Error::Key(KeyError::format("JWKS", format!("{url}: {message}")));
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| error(e.to_string()))?;
    if !response.status().is_success() {
        return Err(error(format!("HTTP {}", response.status())));
    }
    let body = response.text().await.map_err(|e| error(e.to_string()))?;
    Ok(PublicKey::from_jwks(&body)?)
}
