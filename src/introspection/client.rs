//! The introspection calls: one thread with its own runtime makes them (a timeout, a limit on
//! concurrent calls), and a cache in front shares each answer between requests.

use std::sync::Arc;

use quick_cache::UnitWeighter;
use quick_cache::sync::Cache;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::answer::{self, Answer};
use super::{Form, Introspection};
use crate::claims::ClaimShape;
use crate::response::Denial;
use crate::token::{AuthToken, TailHash, TokenError, Verified, VerifyWait};

/// How long an issuer that could not answer is remembered, so a crowd of requests with one
/// token waits for one call, not one each.
const OUTAGE_TTL_SECS: u64 = 1;

/// Calls waiting for the thread; beyond, requests are answered 503 at once.
const QUEUE: usize = 1024;

/// An answer as cached, until `until` (seconds since the Unix epoch, by the enforcer's clock).
#[derive(Clone)]
enum Entry {
    Valid { verified: Verified, until: u64 },
    Refused { error: TokenError, until: u64 },
    Unavailable { until: u64 },
}

impl Entry {
    fn until(&self) -> u64 {
        match self {
            Entry::Valid { until, .. }
            | Entry::Refused { until, .. }
            | Entry::Unavailable { until } => *until,
        }
    }
}

struct Call {
    token: Arc<str>,
    reply: oneshot::Sender<Answer>,
}

/// Introspection for one enforcer.
pub(crate) struct Introspector {
    config: Introspection,
    /// How answers hold the user, roles and wfc; settled at start.
    shape: ClaimShape,
    cache: Cache<Arc<str>, Entry, UnitWeighter, TailHash>,
    calls: mpsc::Sender<Call>,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("url", &self.config.url)
            .finish_non_exhaustive()
    }
}

impl Introspector {
    /// Checks the URL and starts the thread that makes the calls.
    pub(crate) fn start(config: Introspection, cache_capacity: usize) -> Result<Arc<Self>, String> {
        check_url(&config)?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| format!("introspection HTTP client: {e}"))?;
        let (calls, queue) = mpsc::channel(QUEUE);
        let worker_config = config.clone();
        std::thread::Builder::new()
            .name("tl-rbac-introspection".into())
            .spawn(move || run(worker_config, http, queue))
            .map_err(|e| format!("introspection thread: {e}"))?;
        let capacity = cache_capacity.max(1);
        let cache = Cache::with(
            capacity,
            capacity as u64,
            UnitWeighter,
            TailHash::default(),
            Default::default(),
        );
        let shape = answer::shape(&config.form, config.mapping.as_ref());
        Ok(Arc::new(Introspector {
            config,
            shape,
            cache,
            calls,
        }))
    }

    /// The cached answer for `token` at `now`, if one is fresh.
    pub(crate) fn cached(&self, token: &str, now: u64) -> Option<Result<Verified, Denial>> {
        let entry = self.cache.get(token)?;
        if entry.until() <= now {
            self.cache.remove(token);
            return None;
        }
        Some(match entry {
            Entry::Valid { verified, .. } => Ok(verified),
            Entry::Refused { error, .. } => Err(Denial::Unauthenticated(error)),
            Entry::Unavailable { .. } => Err(Denial::IntrospectionUnavailable),
        })
    }

    /// A wait for `token`'s answer: the call this request makes, or the one under way.
    pub(crate) fn wait(self: &Arc<Self>, token: &str, now: u64) -> VerifyWait {
        let this = self.clone();
        let token: Arc<str> = token.into();
        VerifyWait(Box::pin(async move {
            let call = this.call(token.clone(), now);
            let shared = this
                .cache
                .get_or_insert_async::<_, std::convert::Infallible>(&token, async {
                    Ok(call.await)
                })
                .await;
            // A waiter gets the answer even when the cache did not keep it (its placeholder
            // was replaced): put it back, so the decision that follows finds it.
            let Ok(entry) = shared;
            if this.cache.get(&token).is_none() {
                this.cache.insert(token, entry);
            }
        }))
    }

    /// Asks the issuer, and makes the answer a cache entry.
    async fn call(&self, token: Arc<str>, now: u64) -> Entry {
        let (reply, answer) = oneshot::channel();
        let call = Call {
            token: token.clone(),
            reply,
        };
        let answer = match self.calls.try_send(call) {
            Ok(()) => answer
                .await
                .unwrap_or_else(|_| Answer::Unavailable("the introspection thread ended".into())),
            Err(_) => Answer::Unavailable("too many introspection calls waiting".into()),
        };
        let config = &self.config;
        match answer {
            Answer::Active(claims) => {
                let max_until = now.saturating_add(config.max_ttl.as_secs());
                match answer::claims(&self.shape, claims, now, config.max_ttl) {
                    Ok(claims) if claims.exp <= now => Entry::Refused {
                        error: TokenError::Expired,
                        until: now.saturating_add(config.refusal_ttl.as_secs()),
                    },
                    Ok(claims) => Entry::Valid {
                        until: claims.exp.min(max_until),
                        verified: Verified {
                            claims: Arc::new(claims),
                            token: AuthToken::new(token),
                            ip_binding: None,
                            key_id: None,
                            issuer: None,
                        },
                    },
                    Err(error) => Entry::Refused {
                        error: error.into(),
                        until: now.saturating_add(config.refusal_ttl.as_secs()),
                    },
                }
            }
            Answer::Inactive(why) => {
                tracing::debug!(url = %config.url, why, "the issuer says the token is not active");
                Entry::Refused {
                    error: TokenError::Inactive,
                    until: now.saturating_add(config.refusal_ttl.as_secs()),
                }
            }
            Answer::Unavailable(why) => {
                tracing::warn!(url = %config.url, why, "the introspection endpoint did not answer usably");
                Entry::Unavailable {
                    until: now.saturating_add(OUTAGE_TTL_SECS),
                }
            }
        }
    }
}

/// HTTPS, or HTTP to a loopback host, or HTTP allowed in so many words.
fn check_url(config: &Introspection) -> Result<(), String> {
    let url = reqwest::Url::parse(&config.url)
        .map_err(|e| format!("introspection URL `{}`: {e}", config.url))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback || config.allow_plain_http => Ok(()),
        "http" => Err(format!(
            "introspection URL `{}` is plain HTTP to another host: tokens would cross the network in clear text (use https, or `.allow_plain_http()`)",
            config.url
        )),
        other => Err(format!(
            "introspection URL `{}`: scheme `{other}` is not http(s)",
            config.url
        )),
    }
}

/// The thread: takes calls off the queue, at most `max_concurrent_calls` at a time.
fn run(config: Introspection, http: reqwest::Client, mut queue: mpsc::Receiver<Call>) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        // Dropping the queue answers every waiting request 503.
        tracing::error!("cannot start the introspection runtime");
        return;
    };
    let config = Arc::new(config);
    let permits = Arc::new(Semaphore::new(config.max_concurrent_calls));
    runtime.block_on(async {
        while let Some(call) = queue.recv().await {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let (config, http) = (config.clone(), http.clone());
            tokio::spawn(async move {
                let answer = ask(&config, &http, &call.token).await;
                let _ = call.reply.send(answer);
                drop(permit);
            });
        }
    });
}

/// One call; bodies are read up to 1 MiB.
async fn ask(config: &Introspection, http: &reqwest::Client, token: &str) -> Answer {
    const MAX_BODY: usize = 1024 * 1024;
    let request = match &config.form {
        Form::Rfc7662 { client } => {
            let request = http.post(&config.url).form(&[("token", token)]);
            match client {
                Some((id, secret)) => request.basic_auth(id, Some(&**secret)),
                None => request,
            }
        }
        Form::Tokenleader => match AuthToken::new(token).header_value() {
            Ok(value) => http.get(&config.url).header("X-Auth-Token", value),
            Err(_) => return Answer::Inactive("not a header value".into()),
        },
        Form::Query { parameter } => http.get(&config.url).query(&[(parameter.as_str(), token)]),
    };
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(error) if error.is_timeout() => return Answer::Unavailable("timeout".into()),
        Err(error) => {
            return Answer::Unavailable(format!("request failed: {}", without_url(&error)));
        }
    };
    let status = response.status().as_u16();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_BODY => {
                body.extend_from_slice(&chunk)
            }
            Ok(Some(_)) => return Answer::Unavailable("an answer over 1 MiB".into()),
            Ok(None) => break,
            Err(error) => {
                return Answer::Unavailable(format!("reading the answer: {}", without_url(&error)));
            }
        }
    }
    answer::read(&config.form, status, &body)
}

/// A reqwest error without its URL: a query-form URL holds the token.
fn without_url(error: &reqwest::Error) -> String {
    let mut message = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(cause) = source {
        message = cause.to_string();
        source = cause.source();
    }
    if message.is_empty() {
        message = "transport error".into();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_or_when_allowed() {
        let check = |url: &str| check_url(&Introspection::rfc7662(url));
        assert!(check("https://kc.example/introspect").is_ok());
        assert!(check("http://127.0.0.1:8080/introspect").is_ok());
        assert!(check("http://localhost/introspect").is_ok());
        assert!(check("http://[::1]/introspect").is_ok());
        assert!(
            check("http://kc.example/introspect")
                .unwrap_err()
                .contains("clear text")
        );
        assert!(
            check_url(&Introspection::rfc7662("http://kc.example/x").allow_plain_http()).is_ok()
        );
        assert!(check("ftp://kc.example/x").is_err());
    }
}
