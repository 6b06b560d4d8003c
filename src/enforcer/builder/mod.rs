//! [`EnforcerBuilder`]: the settings of an [`Enforcer`](crate::Enforcer), checked and loaded by
//! [`build`](EnforcerBuilder::build). Its single-issuer setters (`own_issuer.rs`) configure its
//! own [`Issuer`]; [`trust`](EnforcerBuilder::trust) adds others.

mod build;
mod own_issuer;
mod sender;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::acl::AclMap;
use crate::issuer::Issuer;
use crate::mtls::CertificateSource;
use crate::reload::{KeyFile, ReloadCallback, ReloadEvent};
use crate::response::DenyResponse;
use crate::revocation::Revocation;
use crate::token::{DEFAULT_TOKEN_SOURCES, TokenSource};

/// Builds an [`Enforcer`](crate::Enforcer). Defaults: its own issuer an [`Issuer::tokenleader`] (RS512 only,
/// leeway 30 s, maximum lifetime 24 h, tokens up to 8 KiB, tokenleader's claims), admin role
/// `admin`, tokens from `X-Auth-Token` or `Authorization: Bearer`, a cache of 10,000 verified
/// tokens per issuer, the system clock, JSON denials
/// ([`JsonDenyResponse`](crate::response::JsonDenyResponse); gRPC answers to gRPC calls), files
/// watched.
pub struct EnforcerBuilder {
    /// The builder's own issuer, configured by its single-issuer setters.
    own: Issuer,
    /// The single-issuer setters called, in order: those that apply to nothing when the own
    /// issuer has no keys are named by `build()`'s error.
    own_settings: Vec<&'static str>,
    trusted: Vec<Issuer>,
    acl_file: Option<PathBuf>,
    acl: Option<AclMap>,
    client_config: Option<PathBuf>,
    admin_role: Option<String>,
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
    protected_resource: Option<String>,
    /// The service's URL as clients call it, for DPoP proofs' `htu`.
    external_url: Option<String>,
    dpop_replay_capacity: Option<usize>,
    certificate_source: Option<CertificateSource>,
    #[cfg(feature = "redis")]
    dpop_fleet: Option<crate::dpop::RedisReplay>,
    #[cfg(feature = "jwks")]
    key_cache_file: Option<PathBuf>,
}

impl Default for EnforcerBuilder {
    fn default() -> Self {
        EnforcerBuilder {
            own: Issuer::tokenleader(),
            own_settings: Vec::new(),
            trusted: Vec::new(),
            acl_file: None,
            acl: None,
            client_config: None,
            admin_role: Some("admin".to_owned()),
            token_cache: 10_000,
            token_sources: DEFAULT_TOKEN_SOURCES.to_vec(),
            trusted_proxies: Vec::new(),
            clock: Box::new(super::context::wall_clock),
            deny_response: None,
            watch: true,
            poll_interval: Duration::from_secs(10),
            on_reload: None,
            shadow_acl_file: None,
            enforce: true,
            revocation: None,
            protected_resource: None,
            external_url: None,
            dpop_replay_capacity: None,
            certificate_source: None,
            #[cfg(feature = "redis")]
            dpop_fleet: None,
            #[cfg(feature = "jwks")]
            key_cache_file: None,
        }
    }
}

impl fmt::Debug for EnforcerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnforcerBuilder")
            .field("own", &self.own)
            .field("trusted", &self.trusted)
            .field("acl_file", &self.acl_file)
            .field("client_config", &self.client_config)
            .field("admin_role", &self.admin_role)
            .field("token_cache", &self.token_cache)
            .field("token_sources", &self.token_sources)
            .field("watch", &self.watch)
            .field("poll_interval", &self.poll_interval)
            .field("shadow_acl_file", &self.shadow_acl_file)
            .field("enforce", &self.enforce)
            .field("protected_resource", &self.protected_resource)
            .finish_non_exhaustive()
    }
}

impl EnforcerBuilder {
    /// Trusts one more issuer, with its own keys, validation and claim shape (see
    /// [`Issuer`]); call it once per issuer. Tokens are then routed by their `iss`. The keys
    /// and settings given to this builder directly form one issuer among them.
    pub fn trust(mut self, issuer: Issuer) -> Self {
        self.trusted.push(issuer);
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
    /// watching, [`Enforcer::reload`](crate::Enforcer::reload) still reloads them on demand.
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

    /// This service's resource identifier (RFC 9728), an `https` URL such as
    /// `https://api.example.com/micros1`: the enforcer then describes the service in a
    /// protected resource metadata document (served by `metadata::router`), and every 401 it
    /// answers with a `Bearer` challenge (the default deny responses always do) names that
    /// document's URL in it (`resource_metadata="…"`). Checked by [`build`](Self::build).
    pub fn protected_resource(mut self, resource: impl Into<String>) -> Self {
        self.protected_resource = Some(resource.into());
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
    /// where the two differ, a `tracing` event and a counter ([`Enforcer::shadow_report`](crate::Enforcer::shadow_report)).
    /// Validated by [`build`](Self::build) and hot-reloaded like the enforced map.
    pub fn shadow_acl_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.shadow_acl_file = Some(path.into());
        self
    }

    /// `false` turns on dry-run mode: requests that no role grants are let through, logged
    /// (warning) and counted ([`Enforcer::dry_run_report`](crate::Enforcer::dry_run_report)); requests without a valid token are
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

    /// The client config's key file and ACL file, once `build()` runs.
    fn take_client_config(&mut self) {
        if let Some(path) = self.client_config.take() {
            if self.acl.is_none() && self.acl_file.is_none() {
                let folder = path.parent().unwrap_or(Path::new("."));
                self.acl_file = Some(folder.join("role_to_acl_map.yml"));
            }
            self.own.key_files.push(KeyFile::ClientConfig(path));
        }
    }

    /// The role that is allowed every rule (default `Some("admin")`); `None` turns it off.
    pub fn admin_role(mut self, role: Option<&str>) -> Self {
        self.admin_role = role.map(str::to_owned);
        self
    }

    /// Capacity of each issuer's verified-token cache (default 10,000 tokens); 0 turns it off. A cached
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
    /// system's wall clock, read coarsely on Linux: at most a few milliseconds behind, for a
    /// tenth of the cost of an allowed request; `.clock(SystemTime::now)` for the precise one).
    /// Tests pin time with it.
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

    /// A key cache file (feature `jwks`): the last good key set of every JWKS source of this
    /// enforcer (its own issuer's and its trusted issuers') is written there, and when a
    /// fetch at start fails, the cached keys are used instead of failing `build()`: logged,
    /// reported in [`KeyStatus::keys_from_cache`](crate::reload::KeyStatus::keys_from_cache),
    /// and fetched again in the background every minimum refetch interval until a fetch
    /// succeeds. Whoever can write the file can make the service trust a key: keep it where
    /// only the service writes.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_cache_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_cache_file = Some(path.into());
        self
    }
}
