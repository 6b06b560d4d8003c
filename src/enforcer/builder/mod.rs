//! [`EnforcerBuilder`]: the settings of an [`Enforcer`], checked and loaded by
//! [`build`](EnforcerBuilder::build).

mod check;
#[cfg(feature = "introspection")]
mod introspection;
#[cfg(feature = "jwks")]
mod jwks;
mod routes;
mod validation;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::record::Recorder;
use super::{Enforcer, Inner};
use crate::acl::AclMap;
use crate::claims::{ClaimMapping, ClaimShape};
use crate::client_addr::TrustedProxies;
use crate::error::Error;
use crate::issuer::Issuer;
use crate::keys::{PublicKey, SecretKey};
use crate::reload::{
    AclInput, KeyFile, ReloadCallback, ReloadConfig, ReloadEvent, Reloader, spawn_watcher,
};
use crate::response::DenyResponse;
use crate::revocation::Revocation;
use crate::token::{DEFAULT_TOKEN_SOURCES, TokenSource, Validation, Verifier};

/// Builds an [`Enforcer`]. Defaults: those of [`Validation`] (RS512 only, leeway 30 s,
/// maximum lifetime 24 h, tokens up to 8 KiB), admin role `admin`, tokens from `X-Auth-Token`
/// or `Authorization: Bearer`, a cache of 10,000 verified tokens, the system clock,
/// JSON denials ([`JsonDenyResponse`](crate::response::JsonDenyResponse); gRPC answers to gRPC
/// calls), files watched.
pub struct EnforcerBuilder {
    keys: Vec<PublicKey>,
    key_files: Vec<KeyFile>,
    acl_file: Option<PathBuf>,
    acl: Option<AclMap>,
    client_config: Option<PathBuf>,
    admin_role: Option<String>,
    validation: Validation,
    claim_mapping: Option<ClaimMapping>,
    issuers: Vec<Issuer>,
    token_cache: usize,
    token_sources: Vec<TokenSource>,
    trusted_proxies: Vec<String>,
    clock: Box<dyn Fn() -> SystemTime + Send + Sync>,
    deny_response: Option<Box<dyn DenyResponse>>,
    watch: bool,
    poll_interval: Duration,
    on_reload: Option<ReloadCallback>,
    shadow_acl_file: Option<PathBuf>,
    enforce: bool,
    revocation: Option<Box<dyn Revocation>>,
    #[cfg(feature = "jwks")]
    jwks: Option<crate::reload::jwks::JwksConfig>,
    #[cfg(feature = "jwks")]
    key_cache_file: Option<PathBuf>,
    #[cfg(feature = "jwks")]
    allow_plain_http: bool,
    #[cfg(feature = "introspection")]
    introspection: Option<crate::introspection::Introspection>,
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
            validation: Validation::default(),
            claim_mapping: None,
            issuers: Vec::new(),
            token_cache: 10_000,
            token_sources: DEFAULT_TOKEN_SOURCES.to_vec(),
            trusted_proxies: Vec::new(),
            clock: Box::new(SystemTime::now),
            deny_response: None,
            watch: true,
            poll_interval: Duration::from_secs(10),
            on_reload: None,
            shadow_acl_file: None,
            enforce: true,
            revocation: None,
            #[cfg(feature = "jwks")]
            jwks: None,
            #[cfg(feature = "jwks")]
            key_cache_file: None,
            #[cfg(feature = "jwks")]
            allow_plain_http: false,
            #[cfg(feature = "introspection")]
            introspection: None,
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
            .field("validation", &self.validation)
            .field("claim_mapping", &self.claim_mapping)
            .field("issuers", &self.issuers)
            .field("token_cache", &self.token_cache)
            .field("token_sources", &self.token_sources)
            .field("watch", &self.watch)
            .field("poll_interval", &self.poll_interval)
            .field("shadow_acl_file", &self.shadow_acl_file)
            .field("enforce", &self.enforce)
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

    /// Adds an HMAC secret, for an issuer that signs with a shared secret (HS256/384/512;
    /// allow them with [`algorithms`](Self::algorithms)). An enforcer with a secret holds no
    /// public keys: `build()` refuses the mix.
    pub fn secret_key(mut self, secret: SecretKey) -> Self {
        self.keys.push(secret.into_verifying_key());
        self
    }

    /// Trusts one more issuer, with its own keys, validation and claim shape (see
    /// [`Issuer`]); call it once per issuer. Tokens are then routed by their `iss`. The keys
    /// and settings given to this builder directly form one issuer among them.
    pub fn trust(mut self, issuer: Issuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// Adds a key file (an OpenSSH `ssh-rsa` line or a PEM public key), read by
    /// [`build`](Self::build) and then watched: a rotated key replaces the old one.
    pub fn public_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_files.push(KeyFile::Key(path.into()));
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

    /// Where revocations are kept (e.g.
    /// [`MemoryRevocation`](crate::revocation::MemoryRevocation)): every request is checked
    /// against it after verification, cache hits included.
    pub fn revocation(mut self, store: impl Revocation) -> Self {
        self.revocation = Some(Box::new(store));
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

    /// Called after every reload that applied or refused a changed input, on the thread that
    /// reloaded.
    pub fn on_reload(
        mut self,
        callback: impl Fn(&ReloadEvent<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.on_reload = Some(Box::new(callback));
        self
    }

    /// Reads tokenleader's `client_configs.yml` at [`build`](Self::build): its `tl_public_key`
    /// is added to the keys (and the file watched like a key file, so a rotated key replaces
    /// the old one), and unless an ACL is given, `role_to_acl_map.yml` in the same folder is
    /// the ACL file.
    pub fn client_config(mut self, path: impl AsRef<Path>) -> Self {
        self.client_config = Some(path.as_ref().to_owned());
        self
    }

    /// The role that is allowed every rule (default `Some("admin")`); `None` turns it off.
    pub fn admin_role(mut self, role: Option<&str>) -> Self {
        self.admin_role = role.map(str::to_owned);
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

    /// The proxies (addresses or CIDR ranges, e.g. `"10.0.0.0/8"`) whose `X-Forwarded-For`
    /// entries are believed when [`RequestContext::client_addr`](super::RequestContext) is
    /// worked out (default: none, so the header is never believed).
    pub fn trusted_proxies<S: Into<String>>(
        mut self,
        proxies: impl IntoIterator<Item = S>,
    ) -> Self {
        self.trusted_proxies = proxies.into_iter().map(Into::into).collect();
        self
    }

    /// The clock the token times are checked against, and revocations expire by (default: the
    /// system clock). Tests pin time with it.
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Replaces the response to denied requests. By default they are JSON
    /// ([`JsonDenyResponse`](crate::response::JsonDenyResponse)), and gRPC calls (content
    /// type `application/grpc…`) get gRPC answers
    /// ([`GrpcDenyResponse`](crate::response::GrpcDenyResponse)); a deny response given here
    /// answers every request.
    pub fn deny_response(mut self, deny_response: impl DenyResponse) -> Self {
        self.deny_response = Some(Box::new(deny_response));
        self
    }

    /// Checks the settings, loads what was given by path, starts the watcher, and builds the
    /// enforcer.
    ///
    /// It blocks while it fetches: each JWKS source's first key set (up to its timeout, 10 s,
    /// twice over with discovery) and an introspection endpoint found by discovery (up to the
    /// call's timeout, 5 s). Call it before the async runtime starts, or inside
    /// `tokio::task::spawn_blocking`, not on an async worker.
    pub fn build(mut self) -> Result<Enforcer, Error> {
        if let Some(path) = self.client_config.take() {
            if self.acl.is_none() && self.acl_file.is_none() {
                let folder = path.parent().unwrap_or(Path::new("."));
                self.acl_file = Some(folder.join("role_to_acl_map.yml"));
            }
            self.key_files.push(KeyFile::ClientConfig(path));
        }
        self.check()?;
        #[cfg(feature = "jwks")]
        self.share_key_cache();
        let has_own_issuer = self.has_own_keys();
        #[cfg(feature = "introspection")]
        let introspect_jws = !has_own_issuer && self.issuers.is_empty();
        #[cfg(feature = "introspection")]
        let introspector = self.start_introspection()?;
        let trusted_proxies = TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| Error::Config(format!("trusted proxies: {e}")))?;
        let acl = match (self.acl_file, self.acl) {
            (Some(path), _) => AclInput::File(path),
            (None, Some(map)) => AclInput::Given(map),
            (None, None) => {
                return Err(Error::Config(
                    "no ACL map: call `.acl_file(path)` or `.acl(map)`".into(),
                ));
            }
        };
        let reloader = Arc::new(Reloader::load(ReloadConfig {
            acl,
            shadow_acl_file: self.shadow_acl_file,
            static_keys: self.keys,
            key_files: self.key_files,
            cache_capacity: self.token_cache,
            on_reload: self.on_reload,
        })?);
        let watch = match self.watch && !reloader.watched_files().is_empty() {
            true => Some(spawn_watcher(&reloader, self.poll_interval)?),
            false => None,
        };
        #[cfg(feature = "jwks")]
        let jwks = match self.jwks {
            Some(config) => Some(crate::reload::jwks::start(config, &reloader)?),
            None => None,
        };
        if !self.enforce {
            tracing::warn!("dry-run mode: requests that no role grants are let through");
        }
        let acl = reloader.acl_status();
        tracing::info!(
            keys = reloader.key_status().keys,
            token_cache = self.token_cache,
            roles = acl.roles,
            grants = acl.grants,
            watching = watch.is_some(),
            "tokenleader enforcer ready"
        );
        let shape = self
            .claim_mapping
            .map_or(ClaimShape::Tokenleader, |mapping| {
                ClaimShape::Mapped(Box::new(mapping))
            });
        let verifier = Verifier {
            validation: self.validation,
            shape,
        };
        let own = has_own_issuer.then(|| verifier.clone());
        let routes = routes::issuer_routes(own, self.issuers, self.token_cache)?;
        Ok(Enforcer {
            inner: Arc::new(Inner {
                verifier,
                routes,
                #[cfg(feature = "introspection")]
                introspector,
                #[cfg(feature = "introspection")]
                introspect_jws,
                live: reloader.live.clone(),
                reloader,
                admin_role: self.admin_role.map(String::into_boxed_str),
                token_sources: self.token_sources,
                trusted_proxies,
                clock: self.clock,
                deny_response: self.deny_response,
                recorder: Recorder {
                    enforce: self.enforce,
                    ..Recorder::default()
                },
                revocation: self.revocation,
                watch,
                #[cfg(feature = "jwks")]
                jwks,
            }),
        })
    }
}
