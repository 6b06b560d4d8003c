//! The builder's keys from the network (feature `jwks`): a JWKS URL, OIDC discovery, and the
//! key cache file that lets a service start while its identity provider is down.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::EnforcerBuilder;
use crate::reload::key_cache::KeyCache;

impl EnforcerBuilder {
    /// Keys found by OpenID Connect discovery (feature `jwks`): [`build`](Self::build) reads
    /// `{issuer_url}/.well-known/openid-configuration`, whose `issuer` must be `issuer_url`
    /// exactly, and takes the keys of its `jwks_uri`, kept fresh like
    /// [`jwks_url`](Self::jwks_url)'s. Tokens must name `issuer_url` in `iss`. Fails the build
    /// when the configuration or the keys cannot be had.
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn oidc_discovery(mut self, issuer_url: impl Into<String>) -> Self {
        let issuer_url = issuer_url.into();
        self.validation.issuer = Some(issuer_url.clone());
        let mut config = crate::reload::jwks::JwksConfig::new(issuer_url);
        config.discover = true;
        self.jwks = Some(config);
        self
    }

    /// Keys from a JWKS URL (feature `jwks`): fetched by [`build`](Self::build) (which fails
    /// if that fetch fails), refreshed every 5 minutes, and fetched again when a token names
    /// an unknown `kid` (at most once per 10 s): through `RequireRule` that request waits for
    /// the fetch, at most 2 s, and is decided with the new keys. Works beside, or instead of,
    /// other keys.
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks = Some(crate::reload::jwks::JwksConfig::new(url.into()));
        self
    }

    /// How often the JWKS is fetched again (default 5 minutes). Needs
    /// [`jwks_url`](Self::jwks_url) first.
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_refresh_interval(mut self, interval: Duration) -> Self {
        if let Some(jwks) = &mut self.jwks {
            jwks.refresh_interval = interval;
        }
        self
    }

    /// The least time between two fetches asked for by unknown `kid`s (default 10 s). Needs
    /// [`jwks_url`](Self::jwks_url) first.
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_min_refetch_interval(mut self, interval: Duration) -> Self {
        if let Some(jwks) = &mut self.jwks {
            jwks.min_refetch_interval = interval;
        }
        self
    }

    /// A key cache file: the last good key set of every JWKS source of this enforcer (its own
    /// and its trusted issuers') is written there, and when a fetch at start fails, the cached
    /// keys are used instead of failing `build()`: logged, reported in
    /// [`KeyStatus::keys_from_cache`](crate::reload::KeyStatus::keys_from_cache), and fetched
    /// again in the background every minimum refetch interval until a fetch succeeds.
    /// Whoever can write the file can make the service trust a key: keep it where only the
    /// service writes.
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn jwks_cache_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_cache_file = Some(path.into());
        self
    }

    /// Lets this builder's JWKS URL or discovered issuer be `http://` to a host that is not
    /// loopback (feature `jwks`). Without it such a URL fails `build()`: whoever sits on the
    /// network path could hand the service keys of their own.
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn allow_plain_http(mut self) -> Self {
        self.allow_plain_http = true;
        self
    }

    /// Gives the key cache file to every JWKS source: the builder's and its issuers'; and the
    /// builder's plain-HTTP allowance to its own source.
    pub(super) fn share_key_cache(&mut self) {
        if let Some(config) = &mut self.jwks {
            config.allow_plain_http = self.allow_plain_http;
        }
        let Some(path) = self.key_cache_file.take() else {
            return;
        };
        let cache = Arc::new(KeyCache::new(path));
        let issuers = self
            .issuers
            .iter_mut()
            .filter_map(|issuer| issuer.jwks.as_mut());
        for config in self.jwks.iter_mut().chain(issuers) {
            config.cache = Some(cache.clone());
        }
    }
}
