//! The introspection calls: one thread with its own runtime makes them (a timeout, a limit on
//! concurrent calls), and a cache in front shares each answer between requests.

use std::sync::Arc;

use quick_cache::UnitWeighter;
use quick_cache::sync::Cache;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::answer::{self, Answer};
use super::{Form, Introspection};
use crate::claims::ClaimShape;
use crate::dpop::Dpop;
use crate::outbound::{self, DiscoveryErrorKind, Endpoint};
use crate::response::Denial;
use crate::token::{AuthToken, TailHash, TokenError, Verified, VerifiedToken, VerifyWait};

/// How long an issuer that could not answer is remembered, so a crowd of requests with one
/// token waits for one call, not one each.
const OUTAGE_TTL_SECS: u64 = 1;

/// Calls waiting for the thread; beyond, requests are answered 503 at once.
const QUEUE: usize = 1024;

/// The largest answer read: an introspection answer is a few hundred bytes.
const MAX_BODY: usize = 1024 * 1024;

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
    /// Longer tokens are refused before they are sent anywhere.
    max_token_bytes: usize,
    /// How answers hold the user, roles and wfc; settled at start.
    shape: ClaimShape,
    /// The issuer's DPoP settings, when it takes DPoP (`cnf.jkt` comes in the answer).
    dpop: Option<Arc<Dpop>>,
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
    /// Finds the endpoint (by discovery when asked), checks its URL, and starts the thread
    /// that makes the calls. Discovery blocks for up to the call's timeout.
    pub(crate) fn start(
        mut config: Introspection,
        cache_capacity: usize,
        max_token_bytes: usize,
        dpop: Option<Arc<Dpop>>,
    ) -> Result<Arc<Self>, String> {
        let http =
            outbound::client(config.timeout, true).map_err(|e| format!("introspection: {e}"))?;
        outbound::check_url(&config.url, config.allow_plain_http)
            .map_err(|e| format!("introspection URL {e}"))?;
        if config.discover {
            config.url = discover_endpoint(&http, &config)?;
            config.discover = false;
        }
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
            max_token_bytes,
            shape,
            dpop,
            cache,
            calls,
        }))
    }

    /// The cached answer for `token` at `now`, if one is fresh; a refusal for a token too
    /// long to be sent.
    pub(crate) fn cached(&self, token: &str, now: u64) -> Option<Result<Verified, Denial>> {
        if token.len() > self.max_token_bytes {
            let max = self.max_token_bytes;
            return Some(Err(Denial::Unauthenticated(TokenError::TooLong { max })));
        }
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
                let audiences = &config.audiences;
                match answer::claims(&self.shape, claims, now, config.max_ttl, audiences) {
                    Ok((claims, _)) if claims.exp <= now => Entry::Refused {
                        error: TokenError::Expired,
                        until: now.saturating_add(config.refusal_ttl.as_secs()),
                    },
                    Ok((claims, confirmation)) => Entry::Valid {
                        until: claims.exp.min(max_until),
                        verified: Verified::new(VerifiedToken {
                            claims: Arc::new(claims),
                            token: AuthToken::new(token),
                            ip_binding: None,
                            key_id: None,
                            issuer: None,
                            memo: Default::default(),
                            confirmation,
                            dpop: self.dpop.clone(),
                        }),
                    },
                    Err(error) => Entry::Refused {
                        error,
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

/// The `introspection_endpoint` of the OpenID provider `config.url`, read once.
fn discover_endpoint(http: &reqwest::Client, config: &Introspection) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("introspection discovery runtime: {e}"))?;
    let discovered = runtime.block_on(async {
        let configuration =
            outbound::discover(http, &config.url, None, config.allow_plain_http, MAX_BODY).await?;
        configuration
            .endpoint(Endpoint::Introspection)
            .map(str::to_owned)
    });
    discovered.map_err(|error| {
        let why = match error.kind {
            DiscoveryErrorKind::Call(call) => call.to_string(),
            DiscoveryErrorKind::Status(status) => format!("HTTP {status}"),
            DiscoveryErrorKind::Document(message) => message,
        };
        format!("introspection: OpenID discovery {}: {why}", error.url)
    })
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

/// One call; bodies are read up to [`MAX_BODY`]; a redirect is never followed.
async fn ask(config: &Introspection, http: &reqwest::Client, token: &str) -> Answer {
    let request = match &config.form {
        Form::Rfc7662 { client } => {
            let request = http.post(&config.url).form(&[("token", token)]);
            match client {
                Some((id, secret)) => request.basic_auth(id, Some(&*secret.0)),
                None => request,
            }
        }
        Form::Tokenleader => match AuthToken::new(token).header_value() {
            Ok(value) => http.get(&config.url).header("X-Auth-Token", value),
            Err(_) => return Answer::Inactive("not a header value".into()),
        },
        Form::Query { parameter } => http.get(&config.url).query(&[(parameter.as_str(), token)]),
    };
    match outbound::call(request, MAX_BODY).await {
        Ok((status, body)) => answer::read(&config.form, status, &body),
        Err(error) => Answer::Unavailable(error.to_string()),
    }
}
