//! [`Enforcer`]: the keys, the ACL map and the settings, shared by every route; and its
//! [`Layer`] that puts it into the request extensions for [`RequireRule`](crate::RequireRule).
//!
//! ```
//! use std::time::Duration;
//! use tokenleader_rbac::{AclMap, Enforcer, PublicKey};
//!
//! let key = PublicKey::from_pem(include_bytes!("../tests/fixtures/tokenleader/tokenleader_public_key.spki.pem"))?;
//! let enforcer = Enforcer::builder()
//!     .public_key(key)
//!     .acl(AclMap::from_yaml_str("- name: role1\n  allow: [micros1.entries.list]\n")?)
//!     .leeway(Duration::from_secs(10))
//!     .build()?;
//! assert_eq!(enforcer.acl().role_count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Request, Response};
use jsonwebtoken::Algorithm;
use tower_layer::Layer;
use tower_service::Service;

use crate::acl::{AclMap, Decision};
use crate::claims::Claims;
use crate::client_config::ClientConfigFile;
use crate::error::{Error, TokenError};
use crate::mapping::ClaimMapping;
use crate::require::RequireRuleLayer;
use crate::response::{Denial, DenyResponse, JsonDenyResponse};
use crate::revocation::{Revocation, TokenHash};
use crate::shadow::{Counters, DryRunDenial, Shadow, ShadowDifference};
use crate::telemetry;
use crate::token::{PublicKey, TokenVerifier, is_rsa};
use crate::watch::{
    AclStatus, KeyStatus, ReloadCallback, ReloadConfig, ReloadEvent, Reloadables, WatchGuard,
    spawn_watcher,
};

/// Where the enforcer looks for the token. All sources that carry a token must carry the same
/// one; a header sent twice is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// The `X-Auth-Token` header, as tokenleader clients send it.
    XAuthToken,
    /// `Authorization: Bearer <token>` (other schemes are ignored).
    AuthorizationBearer,
    /// The raw token in another header.
    Header(HeaderName),
}

static X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");

/// Verifies tokens and decides with the ACL map. Cheap to clone: everything is behind one
/// `Arc`.
///
/// As a [`Layer`] it inserts itself into each request's extensions, where
/// [`RequireRule`](crate::RequireRule) finds it.
#[derive(Clone)]
pub struct Enforcer {
    inner: Arc<Inner>,
}

struct Inner {
    verifier: TokenVerifier,
    reloadables: Arc<Reloadables>,
    admin_role: Option<Box<str>>,
    token_sources: Vec<TokenSource>,
    clock: Box<dyn Fn() -> SystemTime + Send + Sync>,
    deny_response: Box<dyn DenyResponse>,
    /// Keeps the file watcher alive; dropped with the last clone, which stops its thread.
    watch: Option<WatchGuard>,
    shadow: Option<Shadow>,
    enforce: bool,
    dry_run_denials: Counters<String>,
    revocation: Option<Box<dyn Revocation>>,
    #[cfg(feature = "client")]
    jwks: Option<crate::jwks::JwksSource>,
}

impl fmt::Debug for Enforcer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Enforcer")
            .field("keys", &inner.reloadables.keys.load())
            .field("algorithms", &inner.verifier.algorithms)
            .field("leeway", &inner.verifier.leeway)
            .field("max_lifetime", &inner.verifier.max_lifetime)
            .field("admin_role", &inner.admin_role)
            .field("token_sources", &inner.token_sources)
            .field("acl_roles", &inner.reloadables.acl.load().role_count())
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
    /// `tl_public_key`, the ACL map the `role_to_acl_map.yml` beside it, everything else the
    /// defaults. Use [`EnforcerBuilder::client_config`] to change the rest.
    pub fn from_client_config(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::builder().client_config(path).build()
    }

    /// A layer that requires `rule` and uses this enforcer, without needing the enforcer in the
    /// request extensions (for plain tower stacks). Equivalent to
    /// [`RequireRule`](crate::RequireRule) under `.layer(enforcer)`.
    pub fn require(&self, rule: impl Into<Cow<'static, str>>) -> RequireRuleLayer {
        RequireRuleLayer::new(rule.into(), self.clone())
    }

    /// Verifies a token: signature, algorithm, `exp`/`nbf`/`iat`, and the claims tokenleader
    /// always sends. A token verified before is found in the cache (its times are checked
    /// again); the claims are shared, not copied.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, TokenError> {
        let now = self.now()?;
        let claims = self.verify_at(token, now)?;
        match &self.inner.revocation {
            Some(revocation) => match revocation.is_revoked(&claims, token, now) {
                Ok(false) => Ok(claims),
                Ok(true) => Err(TokenError::Revoked),
                Err(_) => Err(TokenError::RevocationUnavailable),
            },
            None => Ok(claims),
        }
    }

    /// Revokes one token (logout): refused from now on, on every instance that shares the
    /// revocation store, until its `exp`. The token must verify.
    pub fn revoke_token(&self, token: &str) -> Result<(), Error> {
        let revocation = self.revocation()?;
        // Verified without the revocation check: a token can be revoked while the store is
        // unreachable (the write waits), or twice.
        let claims = self.verify_at(token, self.now()?)?;
        let until = claims
            .exp
            .saturating_add(self.inner.verifier.leeway.as_secs());
        revocation.revoke_token(TokenHash::of(token), until);
        telemetry::revocation("token");
        tracing::info!(user = %claims.identity.username, "token revoked");
        Ok(())
    }

    /// Revokes every token of `username` issued before `before` (logout everywhere, a
    /// removed user), until the last of them would have expired.
    pub fn revoke_user_before(&self, username: &str, before: SystemTime) -> Result<(), Error> {
        let revocation = self.revocation()?;
        let before = before.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let verifier = &self.inner.verifier;
        let until = before
            .saturating_add(verifier.max_lifetime.as_secs())
            .saturating_add(verifier.leeway.as_secs());
        revocation.revoke_user_before(username, before, until);
        telemetry::revocation("user");
        tracing::info!(user = %username, before, "tokens of the user revoked");
        Ok(())
    }

    /// Seconds since the Unix epoch, by the configured clock.
    fn now(&self) -> Result<u64, TokenError> {
        (self.inner.clock)()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .map_err(|_| TokenError::Clock)
    }

    fn revocation(&self) -> Result<&dyn Revocation, Error> {
        self.inner.revocation.as_deref().ok_or_else(|| {
            Error::Config("no revocation store: call `.revocation(..)` on the builder".into())
        })
    }

    /// Verification without the revocation check.
    fn verify_at(&self, token: &str, now: u64) -> Result<Arc<Claims>, TokenError> {
        let key_set = self.inner.reloadables.keys.load();
        let verifier = &self.inner.verifier;
        if let Some(cache) = &key_set.cache
            && let Some(claims) = cache.get(token)
        {
            telemetry::token_cache(true);
            return match verifier.check_times_again(&claims, now) {
                Ok(()) => Ok(claims),
                Err(error) => {
                    cache.remove(token);
                    Err(error)
                }
            };
        }
        if key_set.cache.is_some() {
            telemetry::token_cache(false);
        }
        let timer = telemetry::VerificationTimer::start();
        let verified = verifier.verify(&key_set.keys, token, now);
        timer.stop();
        #[cfg(feature = "client")]
        if let (Err(TokenError::UnknownKeyId), Some(jwks)) = (&verified, &self.inner.jwks) {
            jwks.request_refetch();
        }
        let claims = Arc::new(verified?);
        if let Some(cache) = &key_set.cache {
            cache.insert(token, claims.clone());
        }
        Ok(claims)
    }

    /// Verifies the JWS layer of a token only (structure, header, algorithm, key, signature)
    /// and returns its payload without reading it as tokenleader claims: for tokens of other
    /// shapes. No cache, no time checks: a tokenleader token goes through
    /// [`verify`](Self::verify).
    pub fn verify_jws(&self, token: &str) -> Result<Vec<u8>, TokenError> {
        let key_set = self.inner.reloadables.keys.load();
        self.inner.verifier.verify_jws(&key_set.keys, token)
    }

    /// The whole decision for one request: finds the token in `headers`, verifies it, and
    /// checks that one of its roles grants `rule`. Logs one event per decision (never the
    /// token).
    pub fn authorize(&self, headers: &HeaderMap, rule: &str) -> Result<Arc<Claims>, Denial> {
        let verified = token_from_headers(headers, &self.inner.token_sources)
            .and_then(|token| self.verify(token));
        let claims = match verified {
            Ok(claims) => claims,
            Err(error) => {
                tracing::info!(rule, outcome = "unauthenticated", reason = %error, "request refused");
                telemetry::decision("unauthenticated", error.kind());
                return Err(Denial::Unauthenticated(error));
            }
        };
        let user = claims.identity.username.as_str();
        let decision = self.decide(&claims.identity.roles, rule);
        if let Some(shadow) = &self.inner.shadow {
            let admin_role = self.inner.admin_role.as_deref();
            shadow.compare(
                &claims.identity.roles,
                rule,
                user,
                admin_role,
                decision.is_allowed(),
            );
        }
        match decision {
            Decision::Admin { role } => {
                telemetry::decision("allowed", "admin");
                tracing::debug!(rule, user, outcome = "allowed", reason = "admin role", role);
            }
            Decision::Granted { role } => {
                telemetry::decision("allowed", "granted");
                tracing::debug!(
                    rule,
                    user,
                    outcome = "allowed",
                    reason = "granted by role",
                    role
                );
            }
            Decision::Denied if !self.inner.enforce => {
                tracing::warn!(
                    rule,
                    user,
                    outcome = "allowed (dry run)",
                    reason = "no role grants the rule",
                    "request let through by dry-run mode"
                );
                self.inner.dry_run_denials.add(rule.to_owned());
                telemetry::decision("allowed", "dry_run");
            }
            Decision::Denied => {
                tracing::info!(
                    rule,
                    user,
                    outcome = "forbidden",
                    reason = "no role grants the rule",
                    "request refused"
                );
                telemetry::decision("forbidden", "no_grant");
                return Err(Denial::Forbidden {
                    rule: rule.to_owned(),
                    username: claims.identity.username.clone(),
                });
            }
        }
        Ok(claims)
    }

    /// The response for a denied request, from the builder's
    /// [`deny_response`](EnforcerBuilder::deny_response).
    pub fn deny_response(&self, denial: &Denial) -> Response<Bytes> {
        self.inner.deny_response.respond(denial)
    }

    /// Decides with the ACL map in force whether `roles` may use `rule` (the admin role
    /// included). Lock free: one atomic load of the current map.
    pub fn decide<'r>(&self, roles: &'r [String], rule: &str) -> Decision<'r> {
        let acl = self.inner.reloadables.acl.load();
        acl.decide(roles, rule, self.inner.admin_role.as_deref())
    }

    /// The ACL map in force now.
    pub fn acl(&self) -> Arc<AclMap> {
        self.inner.reloadables.acl.load_full()
    }

    /// Replaces the ACL map whole. Requests in flight finish with the map they started with;
    /// no request ever sees a mix of the two. A later change of the ACL file, if one is
    /// watched, replaces it again.
    pub fn set_acl(&self, map: AclMap) {
        self.inner.reloadables.set_acl(map);
    }

    /// Re-reads the ACL file, the key files and the shadow ACL file now, and swaps in those that changed and
    /// validate; a refused file leaves its previous version in force. Returns the first
    /// refusal. It blocks for a few tens of milliseconds (the file must read the same twice):
    /// from async code, call it through `spawn_blocking`.
    pub fn reload(&self) -> Result<(), Arc<Error>> {
        let enforced = self.inner.reloadables.reload();
        let shadow = match &self.inner.shadow {
            Some(shadow) => shadow.reloadables.reload(),
            None => Ok(()),
        };
        enforced.and(shadow)
    }

    /// Where the shadow (candidate) map decided differently from the enforced one, per rule
    /// and outcome, since start. Empty without `.shadow_acl_file(..)`.
    pub fn shadow_report(&self) -> Vec<ShadowDifference> {
        self.inner
            .shadow
            .as_ref()
            .map(Shadow::report)
            .unwrap_or_default()
    }

    /// The shadow map in force and how its last reload went; `None` without one.
    pub fn shadow_status(&self) -> Option<AclStatus> {
        self.inner
            .shadow
            .as_ref()
            .map(|shadow| shadow.reloadables.acl_status())
    }

    /// The requests that dry-run mode (`.enforce(false)`) let through although no role grants
    /// their rule, per rule, since start.
    pub fn dry_run_report(&self) -> Vec<DryRunDenial> {
        let mut report: Vec<DryRunDenial> = self
            .inner
            .dry_run_denials
            .snapshot()
            .into_iter()
            .map(|(rule, count)| DryRunDenial { rule, count })
            .collect();
        report.sort_by(|a, b| a.rule.cmp(&b.rule));
        report
    }

    /// The ACL map in force and how its last reload went.
    pub fn acl_status(&self) -> AclStatus {
        self.inner.reloadables.acl_status()
    }

    /// The keys in force and how their last reload went.
    pub fn key_status(&self) -> KeyStatus {
        self.inner.reloadables.key_status()
    }
}

impl Enforcer {
    /// The token of a request, from the configured sources.
    #[cfg(feature = "axum")]
    pub(crate) fn token_in<'h>(&self, headers: &'h HeaderMap) -> Result<&'h str, TokenError> {
        token_from_headers(headers, &self.inner.token_sources)
    }
}

/// The token sources used when no `Enforcer` says otherwise.
pub(crate) const DEFAULT_TOKEN_SOURCES: [TokenSource; 2] =
    [TokenSource::XAuthToken, TokenSource::AuthorizationBearer];

/// Finds the token among `sources`. Two sources with different tokens, or a repeated header,
/// are refused rather than guessed between.
pub(crate) fn token_from_headers<'h>(
    headers: &'h HeaderMap,
    sources: &[TokenSource],
) -> Result<&'h str, TokenError> {
    let mut found: Option<&str> = None;
    for source in sources {
        let name = match source {
            TokenSource::XAuthToken => &X_AUTH_TOKEN,
            TokenSource::AuthorizationBearer => &http::header::AUTHORIZATION,
            TokenSource::Header(name) => name,
        };
        let mut values = headers.get_all(name).iter();
        let Some(value) = values.next() else {
            continue;
        };
        if values.next().is_some() {
            return Err(TokenError::Ambiguous(
                "a token header is sent more than once",
            ));
        }
        let value = value.to_str().map_err(|_| {
            TokenError::Malformed(format!(
                "the {name} header holds bytes that are not visible ASCII"
            ))
        })?;
        let token = match source {
            TokenSource::AuthorizationBearer => match bearer_token(value) {
                Some(token) => token,
                None => continue,
            },
            _ => value,
        };
        match found {
            Some(previous) if previous != token => {
                return Err(TokenError::Ambiguous(
                    "the token headers carry different tokens",
                ));
            }
            _ => found = Some(token),
        }
    }
    match found {
        Some(token) if !token.is_empty() => Ok(token),
        _ => Err(TokenError::Missing),
    }
}

/// The token of an `Authorization: Bearer <token>` value; `None` for other schemes.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
}

impl<S> Layer<S> for Enforcer {
    type Service = EnforcerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EnforcerService {
            inner,
            enforcer: self.clone(),
        }
    }
}

/// The service of the [`Enforcer`] layer: inserts the enforcer into the request extensions.
#[derive(Debug, Clone)]
pub struct EnforcerService<S> {
    inner: S,
    enforcer: Enforcer,
}

impl<S, B> Service<Request<B>> for EnforcerService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.enforcer.clone());
        self.inner.call(request)
    }
}

/// Builds an [`Enforcer`]. Defaults: RS512 only, leeway 30 s, maximum lifetime 24 h, tokens
/// up to 8 KiB, admin role `admin`, tokens from `X-Auth-Token` or `Authorization: Bearer`,
/// the system clock, [`JsonDenyResponse`].
pub struct EnforcerBuilder {
    keys: Vec<PublicKey>,
    key_files: Vec<PathBuf>,
    acl_file: Option<PathBuf>,
    acl: Option<AclMap>,
    client_config: Option<PathBuf>,
    admin_role: Option<String>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    max_lifetime: Duration,
    max_token_bytes: usize,
    token_cache: usize,
    token_sources: Vec<TokenSource>,
    clock: Box<dyn Fn() -> SystemTime + Send + Sync>,
    deny_response: Box<dyn DenyResponse>,
    watch: bool,
    poll_interval: Duration,
    on_reload: Option<ReloadCallback>,
    shadow_acl_file: Option<PathBuf>,
    enforce: bool,
    claim_mapping: Option<ClaimMapping>,
    issuer: Option<String>,
    audiences: Vec<String>,
    #[cfg(feature = "client")]
    jwks: Option<crate::jwks::JwksConfig>,
    revocation: Option<Box<dyn Revocation>>,
}

impl Default for EnforcerBuilder {
    fn default() -> Self {
        EnforcerBuilder {
            keys: Vec::new(),
            key_files: Vec::new(),
            acl_file: None,
            acl: None,
            client_config: None,
            admin_role: Some("admin".to_owned()),
            algorithms: vec![Algorithm::RS512],
            leeway: Duration::from_secs(30),
            max_lifetime: Duration::from_secs(24 * 60 * 60),
            max_token_bytes: 8 * 1024,
            token_cache: 10_000,
            token_sources: DEFAULT_TOKEN_SOURCES.to_vec(),
            clock: Box::new(SystemTime::now),
            deny_response: Box::new(JsonDenyResponse),
            watch: true,
            poll_interval: Duration::from_secs(10),
            on_reload: None,
            shadow_acl_file: None,
            enforce: true,
            claim_mapping: None,
            issuer: None,
            audiences: Vec::new(),
            #[cfg(feature = "client")]
            jwks: None,
            revocation: None,
        }
    }
}

impl fmt::Debug for EnforcerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnforcerBuilder")
            .field("keys", &self.keys)
            .field("key_files", &self.key_files)
            .field("acl_file", &self.acl_file)
            .field("client_config", &self.client_config)
            .field("admin_role", &self.admin_role)
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("token_cache", &self.token_cache)
            .field("token_sources", &self.token_sources)
            .field("watch", &self.watch)
            .field("poll_interval", &self.poll_interval)
            .field("shadow_acl_file", &self.shadow_acl_file)
            .field("enforce", &self.enforce)
            .field("claim_mapping", &self.claim_mapping)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

impl EnforcerBuilder {
    /// Adds a key that verifies tokens. Call it once per key; with several keys, a token's
    /// `kid` picks the key, and a token without `kid` is checked against each.
    pub fn public_key(mut self, key: PublicKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds several keys, e.g. those of [`PublicKey::from_jwks`].
    pub fn public_keys(mut self, keys: impl IntoIterator<Item = PublicKey>) -> Self {
        self.keys.extend(keys);
        self
    }

    /// Adds a key file (an OpenSSH `ssh-rsa` line or a PEM public key), read by
    /// [`build`](Self::build) and then watched: a rotated key replaces the old one.
    pub fn public_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_files.push(path.into());
        self
    }

    /// The ACL file (`role_to_acl_map.yml`): read and validated by [`build`](Self::build),
    /// then watched and hot-reloaded (see [`watch`](Self::watch)).
    pub fn acl_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.acl_file = Some(path.into());
        self.acl = None;
        self
    }

    /// An ACL map already loaded (instead of [`acl_file`](Self::acl_file)).
    pub fn acl(mut self, map: AclMap) -> Self {
        self.acl = Some(map);
        self.acl_file = None;
        self
    }

    /// Whether files given by path are watched and hot-reloaded (default `true`). Without
    /// watching, [`Enforcer::reload`] still reloads them on demand.
    pub fn watch(mut self, watch: bool) -> Self {
        self.watch = watch;
        self
    }

    /// How often the watcher re-checks the files even without events (default 10 s), for
    /// file systems whose events do not arrive.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Reads tokens of another issuer: where the user, roles and wfc are (default:
    /// tokenleader's shape). See [`ClaimMapping`].
    pub fn claim_mapping(mut self, mapping: ClaimMapping) -> Self {
        self.claim_mapping = Some(mapping);
        self
    }

    /// Keys from a JWKS URL (feature `client`): fetched by [`build`](Self::build) (which
    /// fails if that fetch fails), refreshed every 5 minutes, and fetched again when a token
    /// names an unknown `kid` (at most once per 10 s). Works beside, or instead of, other keys.
    #[cfg(feature = "client")]
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks = Some(crate::jwks::JwksConfig {
            url: url.into(),
            refresh_interval: Duration::from_secs(300),
            min_refetch_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
        });
        self
    }

    /// How often the JWKS is fetched again (default 5 minutes). Needs [`jwks_url`](Self::jwks_url) first.
    #[cfg(feature = "client")]
    pub fn jwks_refresh_interval(mut self, interval: Duration) -> Self {
        if let Some(jwks) = &mut self.jwks {
            jwks.refresh_interval = interval;
        }
        self
    }

    /// The least time between two fetches asked for by unknown `kid`s (default 10 s). Needs
    /// [`jwks_url`](Self::jwks_url) first.
    #[cfg(feature = "client")]
    pub fn jwks_min_refetch_interval(mut self, interval: Duration) -> Self {
        if let Some(jwks) = &mut self.jwks {
            jwks.min_refetch_interval = interval;
        }
        self
    }

    /// Where revocations are kept (e.g. [`MemoryRevocation`](crate::MemoryRevocation)):
    /// every request is checked against it after verification, cache hits included.
    pub fn revocation(mut self, store: impl Revocation) -> Self {
        self.revocation = Some(Box::new(store));
        self
    }

    /// The issuer tokens must name in `iss` (exact match); a token without `iss` is refused.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// An audience this service accepts in `aud` (call it once per audience); with any
    /// configured, a token must name one of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// A candidate ACL file decided beside the enforced one without changing any response:
    /// where the two differ, a `tracing` event and a counter ([`Enforcer::shadow_report`]).
    /// Validated by [`build`](Self::build) and hot-reloaded like the enforced map.
    pub fn shadow_acl_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.shadow_acl_file = Some(path.into());
        self
    }

    /// `false` turns on dry-run mode: requests that no role grants are let through, logged
    /// (warning) and counted ([`Enforcer::dry_run_report`]); requests without a valid token are
    /// still refused. Default `true`.
    pub fn enforce(mut self, enforce: bool) -> Self {
        self.enforce = enforce;
        self
    }

    /// Called after every reload that applied or refused a changed file, on the thread that
    /// reloaded.
    pub fn on_reload(
        mut self,
        callback: impl Fn(&ReloadEvent<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.on_reload = Some(Box::new(callback));
        self
    }

    /// Reads tokenleader's `client_configs.yml` at [`build`](Self::build): its `tl_public_key`
    /// is added to the keys, and unless an ACL is given, `role_to_acl_map.yml` in the same
    /// folder is the ACL file.
    pub fn client_config(mut self, path: impl AsRef<Path>) -> Self {
        self.client_config = Some(path.as_ref().to_owned());
        self
    }

    /// The role that is allowed every rule (default `Some("admin")`); `None` turns it off.
    pub fn admin_role(mut self, role: Option<&str>) -> Self {
        self.admin_role = role.map(str::to_owned);
        self
    }

    /// The signature algorithms accepted (default RS512 only). Only RSA algorithms
    /// (RS256/384/512, PS256/384/512) can be allowed.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The longest lifetime a token may claim (default 24 h): `exp` may lie at most this far
    /// after `iat` and after now.
    pub fn max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// The longest token accepted, in bytes (default 8 KiB). Longer tokens are refused before
    /// any parsing.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// Capacity of the verified-token cache (default 10,000 tokens); 0 turns it off. A cached
    /// token skips the signature check until it expires; the cache starts empty whenever the
    /// keys change.
    pub fn token_cache(mut self, capacity: usize) -> Self {
        self.token_cache = capacity;
        self
    }

    /// Where to look for the token (default: `X-Auth-Token`, then `Authorization: Bearer`).
    pub fn token_sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.token_sources = sources.into_iter().collect();
        self
    }

    /// The clock the token times are checked against (default: the system clock). Tests pin
    /// time with it.
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Replaces the response to denied requests (default [`JsonDenyResponse`]).
    pub fn deny_response(mut self, deny_response: impl DenyResponse) -> Self {
        self.deny_response = Box::new(deny_response);
        self
    }

    /// Loads what was given by path, checks the settings, and builds the enforcer.
    pub fn build(mut self) -> Result<Enforcer, Error> {
        if let Some(path) = self.client_config.take() {
            self.keys.push(read_client_config(&path)?);
            if self.acl.is_none() && self.acl_file.is_none() {
                let folder = path.parent().unwrap_or(Path::new("."));
                self.acl_file = Some(folder.join("role_to_acl_map.yml"));
            }
        }
        #[cfg(feature = "client")]
        let has_jwks = self.jwks.is_some();
        #[cfg(not(feature = "client"))]
        let has_jwks = false;
        if self.keys.is_empty() && self.key_files.is_empty() && !has_jwks {
            return Err(Error::Config(
                "no public key: call `.public_key(..)` with the tokenleader server's key".into(),
            ));
        }
        for (i, key) in self.keys.iter().enumerate() {
            if key.kid().is_some() && self.keys[..i].iter().any(|k| k.kid() == key.kid()) {
                return Err(Error::Config(format!(
                    "two keys have the key id `{}`",
                    key.kid().unwrap_or_default()
                )));
            }
        }
        if self.algorithms.is_empty() {
            return Err(Error::Config(
                "no algorithm allowed: RS512 is tokenleader's".into(),
            ));
        }
        if let Some(algorithm) = self.algorithms.iter().find(|a| !is_rsa(**a)) {
            return Err(Error::Config(format!(
                "{algorithm:?} cannot be allowed: the keys are RSA public keys, so only RS256/384/512 and PS256/384/512 can be"
            )));
        }
        if self.admin_role.as_deref() == Some("") {
            return Err(Error::Config(
                "the admin role is empty: give a role name, or `None` to turn it off".into(),
            ));
        }
        if self.token_sources.is_empty() {
            return Err(Error::Config(
                "no token source: every request would be refused".into(),
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(Error::Config(
                "the poll interval must be longer than zero".into(),
            ));
        }
        let reload_config = ReloadConfig {
            label: "ACL map",
            acl_file: self.acl_file,
            key_files: self.key_files,
            on_reload: self.on_reload,
            cache_capacity: self.token_cache,
        };
        let reloadables = Arc::new(Reloadables::load(reload_config, self.keys, self.acl)?);
        let watch = match self.watch && reloadables.has_files() {
            true => Some(spawn_watcher(&reloadables, self.poll_interval)?),
            false => None,
        };
        #[cfg(feature = "client")]
        let jwks = match self.jwks {
            Some(config) => Some(crate::jwks::start(config, &reloadables)?),
            None => None,
        };
        let shadow = match self.shadow_acl_file {
            Some(path) => {
                let config = ReloadConfig {
                    label: "shadow ACL map",
                    acl_file: Some(path),
                    key_files: Vec::new(),
                    on_reload: None,
                    cache_capacity: 0,
                };
                let candidate = Arc::new(Reloadables::load(config, Vec::new(), None)?);
                let watch = match self.watch {
                    true => Some(spawn_watcher(&candidate, self.poll_interval)?),
                    false => None,
                };
                Some(Shadow::new(candidate, watch))
            }
            None => None,
        };
        if !self.enforce {
            tracing::warn!("dry-run mode: requests that no role grants are let through");
        }
        let acl = reloadables.acl_status();
        tracing::info!(
            keys = reloadables.key_status().keys,
            token_cache = self.token_cache,
            roles = acl.roles,
            grants = acl.grants,
            watching = watch.is_some(),
            "tokenleader enforcer ready"
        );
        Ok(Enforcer {
            inner: Arc::new(Inner {
                verifier: TokenVerifier {
                    mapping: self.claim_mapping,
                    issuer: self.issuer,
                    audiences: self.audiences,
                    algorithms: self.algorithms,
                    leeway: self.leeway,
                    max_lifetime: self.max_lifetime,
                    max_token_bytes: self.max_token_bytes,
                },
                reloadables,
                admin_role: self.admin_role.map(String::into_boxed_str),
                token_sources: self.token_sources,
                clock: self.clock,
                deny_response: self.deny_response,
                watch,
                shadow,
                enforce: self.enforce,
                dry_run_denials: Counters::default(),
                #[cfg(feature = "client")]
                jwks,
                revocation: self.revocation,
            }),
        })
    }
}

/// The public key of tokenleader's `client_configs.yml` (`tl_public_key: ssh-rsa …`).
fn read_client_config(path: &Path) -> Result<PublicKey, Error> {
    let error = |message: String| Error::ClientConfig {
        path: path.to_owned(),
        message,
    };
    let config = ClientConfigFile::read(path).map_err(error)?;
    let line = config
        .tl_public_key
        .ok_or_else(|| error("no `tl_public_key`".into()))?;
    PublicKey::from_openssh(&line).map_err(|e| error(format!("tl_public_key: {e}")))
}
