//! [`Enforcer`]: the keys, the ACL map and the settings, shared by every route; it verifies,
//! decides, revokes, reloads and reports. [`EnforcerBuilder`] makes one.
//!
//! ```
//! use std::time::Duration;
//! use tokenleader_rbac::{AclMap, Enforcer, PublicKey};
//!
//! let key = PublicKey::from_pem(include_bytes!("../../tests/fixtures/tokenleader/tokenleader_public_key.spki.pem"))?;
//! let enforcer = Enforcer::builder()
//!     .public_key(key)
//!     .acl(AclMap::from_yaml_str("- name: role1\n  allow: [micros1.entries.list]\n")?)
//!     .leeway(Duration::from_secs(10))
//!     .build()?;
//! assert_eq!(enforcer.acl().role_count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A request is decided in one direction: the token is found ([`token`](crate::token)),
//! verified, checked against the revocation store ([`revocation`](crate::revocation)), the
//! rule decided with the ACL snapshot in force ([`acl`](crate::acl)), and the outcome recorded
//! once. The tower and axum surface around it is in `layer`.

mod builder;
mod context;
mod record;
mod revoke;
mod routes;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderMap, Response};

pub use builder::EnforcerBuilder;
pub use context::{RequestContext, RequestId};

use crate::acl::{AclMap, Decision};
use crate::claims::Claims;
use crate::client_addr::TrustedProxies;
use crate::error::Error;
use crate::issuer::IssuerKeyStatus;
use crate::reload::{AclStatus, KeyStatus, LiveState, ReloadError, Reloader, WatchGuard};
use crate::response::{Denial, DenyResponse};
use crate::revocation::Revocation;
use crate::rollout::{DryRunDenial, ShadowDifference};
use crate::token::{TokenError, TokenSource, Verified, Verifier, VerifyWait, find_token};
use record::Recorder;
pub(crate) use routes::{IssuerRoutes, Route};

/// The parts of a request the enforcer reads.
#[derive(Clone, Copy)]
pub(crate) struct Incoming<'r> {
    pub(crate) headers: &'r HeaderMap,
    /// For query-parameter token sources; `None` where there is no request URI.
    pub(crate) uri: Option<&'r http::Uri>,
    /// The connection's peer, for the client address.
    pub(crate) peer: Option<IpAddr>,
}

/// The rules a request needs one of, and how the log names them (the rule, or all of them
/// joined with ` | `, made once with the route).
#[derive(Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) list: &'a [&'a str],
    pub(crate) label: &'a str,
}

/// How optional authentication appears in the decision's log event, in place of a rule.
const AUTHENTICATE_ONLY: &str = "(authenticate)";

/// What the layer does with a request: it is decided, passes without a token (optional
/// authentication), or waits for the keys its token's unknown `kid` asked for (then it is
/// decided once more, without waiting again).
pub(crate) enum Authorization {
    Decided(Result<Verified, Denial>),
    Anonymous,
    // Only a JWKS source or introspection makes a wait.
    #[cfg_attr(
        not(any(feature = "jwks", feature = "introspection")),
        allow(dead_code)
    )]
    Wait(VerifyWait),
}

/// Verifies tokens and decides with the ACL map. Cheap to clone: everything is behind one
/// `Arc`.
///
/// As a `Layer` it inserts itself into each request's extensions, where
/// `RequireRule` finds it.
#[derive(Clone)]
pub struct Enforcer {
    inner: Arc<Inner>,
}

struct Inner {
    /// The issuer of the builder's own keys and settings.
    verifier: Verifier,
    /// With issuers added by `trust`: every issuer, indexed by `iss`.
    routes: Option<IssuerRoutes>,
    /// Opaque tokens, asked of their issuer.
    #[cfg(feature = "introspection")]
    introspector: Option<Arc<crate::introspection::Introspector>>,
    /// Whether tokens that look like JWTs are introspected too: only when no local issuer
    /// could verify them.
    #[cfg(feature = "introspection")]
    introspect_jws: bool,
    /// What the request path reads: ACL snapshot, shadow snapshot, key set.
    live: Arc<LiveState>,
    reloader: Arc<Reloader>,
    admin_role: Option<Box<str>>,
    token_sources: Vec<TokenSource>,
    trusted_proxies: TrustedProxies,
    clock: Box<dyn Fn() -> SystemTime + Send + Sync>,
    deny_response: Box<dyn DenyResponse>,
    recorder: Recorder,
    revocation: Option<Box<dyn Revocation>>,
    /// Keeps the file watcher alive; dropped with the last clone, which stops its thread.
    watch: Option<WatchGuard>,
    #[cfg(feature = "jwks")]
    jwks: Option<crate::reload::jwks::JwksSource>,
}

impl fmt::Debug for Enforcer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Enforcer")
            .field("keys", &inner.live.keys.load())
            .field("validation", &inner.verifier.validation)
            .field("admin_role", &inner.admin_role)
            .field("token_sources", &inner.token_sources)
            .field("acl_roles", &inner.live.acl.load().role_count())
            .field("watching", &inner.watch.is_some())
            .finish_non_exhaustive()
    }
}

impl Enforcer {
    /// Starts an [`EnforcerBuilder`].
    pub fn builder() -> EnforcerBuilder {
        EnforcerBuilder::default()
    }

    /// Builds an enforcer from tokenleader's `client_configs.yml`: the key is its
    /// `tl_public_key` (watched like a key file), the ACL map the `role_to_acl_map.yml` beside
    /// it, everything else the defaults. Use [`EnforcerBuilder::client_config`] to change the
    /// rest.
    pub fn from_client_config(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        Self::builder().client_config(path).build()
    }

    /// Verifies a token: signature, algorithm, `exp`/`nbf`/`iat`, the claims, and the
    /// revocation store. A token verified before is found in the cache (its times are checked
    /// again); the claims are shared, not copied.
    ///
    /// The denial is [`Denial::Unauthenticated`] for a bad token,
    /// [`Denial::RevocationUnavailable`] when the revocation store cannot say, and
    /// [`Denial::ClockBeforeEpoch`] when the clock is broken.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, Denial> {
        self.verify_token_at(token, self.now()?)
            .map(|verified| verified.claims)
    }

    /// The request path's verification: local, or by introspection. `Err(None)`: not decided
    /// yet, the request may wait (its keys are being fetched, its issuer is being asked).
    fn verify_step(
        &self,
        token: &str,
        now: u64,
        may_wait: bool,
    ) -> Result<Verified, Option<Denial>> {
        #[cfg(feature = "introspection")]
        if let Some(introspector) = &self.inner.introspector
            && (self.inner.introspect_jws || !looks_like_jws(token))
        {
            return match introspector.cached(token, now) {
                Some(Ok(verified)) => self.not_revoked(verified, token, now).map_err(Some),
                Some(Err(denial)) => Err(Some(denial)),
                None if may_wait => Err(None),
                None => Err(Some(Denial::IntrospectionUnavailable)),
            };
        }
        match self.verify_token_at(token, now) {
            Err(Denial::Unauthenticated(TokenError::UnknownKeyId)) if may_wait => Err(None),
            other => other.map_err(Some),
        }
    }

    /// The wait of a request whose token [`verify_step`](Self::verify_step) could not decide
    /// yet: its introspection call, or its issuer's key fetch; `None` when nothing is under
    /// way (the rate limit held the fetch back).
    fn pending_wait(&self, token: &str) -> Option<VerifyWait> {
        #[cfg(feature = "introspection")]
        if let Some(introspector) = &self.inner.introspector
            && (self.inner.introspect_jws || !looks_like_jws(token))
        {
            return Some(introspector.wait(token, self.now().ok()?));
        }
        self.keys_wait(token)
    }

    /// Verification and the revocation check at `now`, seconds since the Unix epoch; the
    /// token comes back too (shared with the cache).
    fn verify_token_at(&self, token: &str, now: u64) -> Result<Verified, Denial> {
        let verified = self.verify_at(token, now)?;
        self.not_revoked(verified, token, now)
    }

    /// `verified`, unless the revocation store says it is revoked (or cannot say).
    fn not_revoked(&self, verified: Verified, token: &str, now: u64) -> Result<Verified, Denial> {
        match &self.inner.revocation {
            Some(revocation) => match revocation.is_revoked(&verified.claims, token, now) {
                Ok(false) => Ok(verified),
                Ok(true) => Err(Denial::Unauthenticated(TokenError::Revoked)),
                Err(_) => Err(Denial::RevocationUnavailable),
            },
            None => Ok(verified),
        }
    }

    /// Verifies the JWS layer of a token only (structure, header, algorithm, key, signature)
    /// and returns its payload without reading it as claims: for tokens of other shapes. No
    /// cache, no time checks: a token goes through [`verify`](Self::verify).
    pub fn verify_jws(&self, token: &str) -> Result<Vec<u8>, TokenError> {
        if let Some(routes) = &self.inner.routes {
            let route = routes.route(token)?;
            if let Some(keys) = &route.keys {
                return route.verifier.verify_jws(&keys.live.load().keys, token);
            }
        }
        let key_set = self.inner.live.keys.load();
        self.inner.verifier.verify_jws(&key_set.keys, token)
    }

    /// The whole decision for one request: finds the token in `headers`, verifies it, and
    /// checks that one of its roles grants `rule`. Records one event per decision (never the
    /// token).
    /// Query-parameter token sources find nothing here (there is no URI); use the layers for
    /// them.
    pub fn authorize(&self, headers: &HeaderMap, rule: &str) -> Result<Arc<Claims>, Denial> {
        let incoming = Incoming {
            headers,
            uri: None,
            peer: None,
        };
        let rules = Rules {
            list: &[rule],
            label: rule,
        };
        match self.authorize_request(incoming, Some(rules), false).0 {
            Authorization::Decided(outcome) => outcome.map(|verified| verified.claims),
            // Neither is made for a rule without `may_wait`.
            Authorization::Anonymous => Err(Denial::Unauthenticated(TokenError::Missing)),
            Authorization::Wait(_) => Err(Denial::Unauthenticated(TokenError::UnknownKeyId)),
        }
    }

    /// [`authorize`](Self::authorize) for a request, also giving the token that was verified,
    /// and the request's context either way. With `rule` `None`, only a token that is there is
    /// verified (optional authentication): without one the request is anonymous. With
    /// `may_wait`, a token whose `kid` is unknown while its issuer's keys are being fetched is
    /// not refused: the caller waits, then asks again without `may_wait`.
    pub(crate) fn authorize_request(
        &self,
        incoming: Incoming<'_>,
        rules: Option<Rules<'_>>,
        may_wait: bool,
    ) -> (Authorization, RequestContext) {
        let headers = incoming.headers;
        // One clock read per decision: the context's time is the time tokens are checked at.
        let context = RequestContext {
            request_id: RequestId::of(headers),
            decided_at: (self.inner.clock)(),
            client_addr: self
                .inner
                .trusted_proxies
                .client_addr(incoming.peer, headers),
        };
        // A span per decision, made only when a subscriber wants it (a disabled span still
        // costs a few hundred instructions with tracing's `log` feature on).
        if !tracing::enabled!(tracing::Level::DEBUG) {
            let outcome = self.decide_request(incoming, rules, &context, may_wait);
            return (outcome, context);
        }
        let span = tracing::debug_span!(
            "decision",
            request_id = %context.request_id,
            rule = tracing::field::Empty,
            outcome = tracing::field::Empty,
            reason = tracing::field::Empty,
            key_id = tracing::field::Empty,
            issuer = tracing::field::Empty,
            acl_revision = %self.inner.live.acl.load().revision(),
        );
        if let Some(rules) = rules {
            span.record("rule", rules.label);
        }
        let outcome = span.in_scope(|| self.decide_request(incoming, rules, &context, may_wait));
        match &outcome {
            Authorization::Decided(Ok(verified)) => {
                span.record("outcome", "allowed");
                if let Some(key_id) = &verified.key_id {
                    span.record("key_id", &**key_id);
                }
                if let Some(issuer) = &verified.issuer {
                    span.record("issuer", &**issuer);
                }
            }
            Authorization::Decided(Err(denial)) => {
                span.record("outcome", denial.status_word());
                span.record("reason", denial.reason());
            }
            Authorization::Anonymous => {
                span.record("outcome", "allowed");
                span.record("reason", "anonymous");
            }
            Authorization::Wait(_) => {
                span.record("outcome", "waiting");
            }
        }
        (outcome, context)
    }

    fn decide_request(
        &self,
        incoming: Incoming<'_>,
        rules: Option<Rules<'_>>,
        context: &RequestContext,
        may_wait: bool,
    ) -> Authorization {
        let inner = &*self.inner;
        let recorded_rule = rules.map_or(AUTHENTICATE_ONLY, |rules| rules.label);
        let token = match find_token(incoming.headers, incoming.uri, &inner.token_sources) {
            Ok(token) => token,
            Err(TokenError::Missing) if rules.is_none() => {
                inner.recorder.anonymous(&context.request_id);
                return Authorization::Anonymous;
            }
            Err(error) => return self.refused(recorded_rule, context, error.into()),
        };
        let step = match unix_secs(context.decided_at) {
            Ok(now) => self.verify_step(token, now, may_wait),
            Err(denial) => Err(Some(denial)),
        };
        let verified = match step {
            Ok(verified) => verified,
            Err(Some(denial)) => return self.refused(recorded_rule, context, denial),
            Err(None) => {
                // `verify_step` only declines to decide when it may wait.
                return match self.pending_wait(token) {
                    Some(wait) => Authorization::Wait(wait),
                    None => self.refused(recorded_rule, context, TokenError::UnknownKeyId.into()),
                };
            }
        };
        if let Some(binding) = verified.ip_binding
            && let Err(error) = binding.check(context.client_addr)
        {
            return self.refused(recorded_rule, context, error.into());
        }
        let Some(Rules { list: rules, .. }) = rules else {
            inner
                .recorder
                .authenticated(&context.request_id, &verified.claims);
            return Authorization::Decided(Ok(verified));
        };
        let claims = &verified.claims;
        let admin_role = inner.admin_role.as_deref();
        let acl = inner.live.acl.load();
        let (index, decision) = acl.decide_any(&claims.identity.roles, rules, admin_role);
        let rule = match decision.is_allowed() {
            true => rules[index],
            false => recorded_rule,
        };
        let candidate = inner.live.shadow_acl.as_ref().map(ArcSwap::load);
        let candidate = candidate.as_deref().map(Arc::as_ref);
        let recorded = inner.recorder.decided(
            (rule, rules),
            &context.request_id,
            claims,
            decision,
            acl.revision(),
            candidate,
            admin_role,
        );
        Authorization::Decided(recorded.map(|()| verified))
    }

    /// A request refused before any decision, recorded.
    fn refused(&self, rule: &str, context: &RequestContext, denial: Denial) -> Authorization {
        self.inner
            .recorder
            .refused(rule, &context.request_id, &denial);
        Authorization::Decided(Err(denial))
    }

    /// The wait for the keys of the issuer that `token` names, when a fetch of them is under
    /// way (or starts now); `None` when the rate limit holds it back or keys are not fetched.
    #[cfg(feature = "jwks")]
    fn keys_wait(&self, token: &str) -> Option<VerifyWait> {
        let own = self.inner.jwks.as_ref();
        let jwks = match &self.inner.routes {
            Some(routes) => {
                let route = routes.route(token).ok()?;
                match route.keys {
                    Some(_) => route.jwks.as_ref(),
                    None => own,
                }
            }
            None => own,
        };
        jwks?.request_refetch()
    }

    #[cfg(not(feature = "jwks"))]
    fn keys_wait(&self, _token: &str) -> Option<VerifyWait> {
        None
    }

    /// The response for a denied request, from the builder's
    /// [`deny_response`](EnforcerBuilder::deny_response).
    pub fn deny_response(&self, denial: &Denial) -> Response<Bytes> {
        self.inner.deny_response.respond(denial)
    }

    /// The response for a denied request, naming its decision id (the request id, also in
    /// the decision's log event).
    pub(crate) fn deny_response_to(
        &self,
        denial: &Denial,
        context: &RequestContext,
    ) -> Response<Bytes> {
        let decision_id = context.request_id.to_string();
        self.inner.deny_response.respond_to(denial, &decision_id)
    }

    /// Decides with the ACL map in force whether `roles` may use `rule` (the admin role
    /// included). Lock free: one atomic load of the current map.
    pub fn decide<'r>(&self, roles: &'r [String], rule: &str) -> Decision<'r> {
        let acl = self.inner.live.acl.load();
        acl.decide(roles, rule, self.inner.admin_role.as_deref())
    }

    /// The rules the service uses ([`rules::used_rules`](crate::rules::used_rules)) against
    /// the map in force: rules no role grants (their routes are the admin's only) and grants
    /// that no rule the service uses matches.
    pub fn rules_report(&self) -> crate::rules::RulesReport {
        let acl = self.acl();
        let used = crate::rules::used_rules();
        let ungranted = used
            .iter()
            .filter(|used| !acl.roles().any(|role| acl.grants(role, &used.rule)))
            .map(|used| used.rule.clone())
            .collect();
        let mut roles: Vec<&str> = acl.roles().collect();
        roles.sort_unstable();
        let mut unused_grants = Vec::new();
        for role in roles {
            for entry in acl.rules_of(role).into_iter().flatten() {
                if !used
                    .iter()
                    .any(|used| crate::acl::entry_matches(entry, &used.rule))
                {
                    unused_grants.push((role.to_owned(), entry.to_owned()));
                }
            }
        }
        crate::rules::RulesReport {
            ungranted,
            unused_grants,
        }
    }

    /// The ACL map in force now.
    pub fn acl(&self) -> Arc<AclMap> {
        self.inner.live.acl.load_full()
    }

    /// Replaces the ACL map whole. Requests in flight finish with the map they started with;
    /// no request ever sees a mix of the two. A later change of the ACL file, if one is
    /// watched, replaces it again.
    pub fn set_acl(&self, map: AclMap) {
        self.inner.reloader.set_acl(map);
    }

    /// Re-reads the ACL file, the shadow ACL file and the key files now, and swaps in those
    /// that changed and validate; a refused file leaves its previous version in force. Returns
    /// the first refusal. It blocks for a few tens of milliseconds (the file must read the
    /// same twice): from async code, call it through `spawn_blocking`.
    pub fn reload(&self) -> Result<(), Arc<ReloadError>> {
        self.inner.reloader.reload()
    }

    /// Where the shadow (candidate) map decided differently from the enforced one, per rule
    /// and outcome, since start. Empty without `.shadow_acl_file(..)`.
    pub fn shadow_report(&self) -> Vec<ShadowDifference> {
        self.inner.recorder.shadow.report()
    }

    /// The shadow map in force and how its last reload went; `None` without one.
    pub fn shadow_status(&self) -> Option<AclStatus> {
        self.inner.reloader.shadow_status()
    }

    /// The requests that dry-run mode (`.enforce(false)`) let through although no role grants
    /// their rule, per rule, since start.
    pub fn dry_run_report(&self) -> Vec<DryRunDenial> {
        self.inner.recorder.dry_run.report()
    }

    /// The ACL map in force and how its last reload went.
    pub fn acl_status(&self) -> AclStatus {
        self.inner.reloader.acl_status()
    }

    /// The keys in force and how their last reload went.
    pub fn key_status(&self) -> KeyStatus {
        self.inner.reloader.key_status()
    }

    /// The keys of the issuer whose tokens name `iss` (`None`: tokens without `iss`), and
    /// whether they are stale (taken from the key cache file); `None` when no issuer takes
    /// such tokens. For the builder's own issuer, the figures of
    /// [`key_status`](Self::key_status).
    pub fn issuer_key_status(&self, iss: Option<&str>) -> Option<IssuerKeyStatus> {
        let own = || {
            let status = self.key_status();
            IssuerKeyStatus {
                generation: status.generation,
                loaded_at: status.loaded_at,
                keys: status.keys,
                cached_tokens: status.cached_tokens,
                keys_from_cache: status.keys_from_cache,
                last_error: status.last_error.map(|error| error.to_string()),
            }
        };
        let Some(routes) = &self.inner.routes else {
            let own_iss = self.inner.verifier.validation.issuer.as_deref();
            return (own_iss.is_none() || own_iss == iss).then(own);
        };
        let route = routes.find(iss)?;
        let Some(keys) = &route.keys else {
            return Some(own());
        };
        let state = keys.state();
        let live = keys.live.load();
        Some(IssuerKeyStatus {
            generation: state.generation,
            loaded_at: state.loaded_at,
            keys: live.keys.len(),
            cached_tokens: live.cache.as_ref().map_or(0, |cache| cache.len()),
            keys_from_cache: state.keys_from_cache,
            last_error: state.last_error,
        })
    }

    /// Seconds since the Unix epoch, by the configured clock.
    fn now(&self) -> Result<u64, Denial> {
        unix_secs((self.inner.clock)())
    }

    /// Verification without the revocation check.
    fn verify_at(&self, token: &str, now: u64) -> Result<Verified, TokenError> {
        if let Some(routes) = &self.inner.routes {
            let route = routes.route(token)?;
            if let Some(keys) = &route.keys {
                let verified = route.verifier.verify(&keys.live.load(), token, now);
                #[cfg(feature = "jwks")]
                if let (Err(TokenError::UnknownKeyId), Some(jwks)) = (&verified, &route.jwks) {
                    jwks.request_refetch();
                }
                return verified;
            }
        }
        let key_set = self.inner.live.keys.load();
        let verified = self.inner.verifier.verify(&key_set, token, now);
        #[cfg(feature = "jwks")]
        if let (Err(TokenError::UnknownKeyId), Some(jwks)) = (&verified, &self.inner.jwks) {
            jwks.request_refetch();
        }
        verified
    }
}

/// Whether `token` looks like a JWS (three parts, a JSON object for header): such tokens are
/// never sent out while a local issuer could verify them.
#[cfg(feature = "introspection")]
fn looks_like_jws(token: &str) -> bool {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let header = parts.next().unwrap_or_default();
    parts.count() == 2
        && base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .is_ok_and(|json| json.trim_ascii_start().starts_with(b"{"))
}

/// Seconds since the Unix epoch; a clock before it can check nothing.
fn unix_secs(time: SystemTime) -> Result<u64, Denial> {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Denial::ClockBeforeEpoch)
}
