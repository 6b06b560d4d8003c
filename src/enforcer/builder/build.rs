//! [`EnforcerBuilder::build`]: checks every setting (each applies to an issuer, or the build
//! says where it belongs), loads what was given by path, starts each issuer's key sources and
//! introspection endpoint, and the watcher.

use std::sync::Arc;

use super::EnforcerBuilder;
use crate::caller_addr::TrustedProxies;
use crate::enforcer::record::Recorder;
use crate::enforcer::{Enforcer, Inner, ProtectedResource, SenderMetadata};
use crate::error::Error;
use crate::issuer::Issuer;
use crate::issuer::routes::{Issuers, TrustedIssuer};
use crate::reload::{AclInput, IssuerKeyInput, KeySource, ReloadConfig, Reloader, spawn_watcher};
use crate::token::Verifier;

impl EnforcerBuilder {
    /// Checks the settings, loads what was given by path, starts the watcher, and builds the
    /// enforcer.
    ///
    /// It blocks while it fetches: each JWKS source's first key set (up to its timeout, 10 s,
    /// twice over with discovery) and an introspection endpoint found by discovery (up to the
    /// call's timeout, 5 s). Call it before the async runtime starts, or inside
    /// `tokio::task::spawn_blocking`, not on an async worker.
    pub fn build(mut self) -> Result<Enforcer, Error> {
        self.take_client_config();
        let (issuers, own) = self.issuers()?;
        self.check()?;
        let sender = self.sender_checks(&issuers)?;
        let senders = SenderMetadata {
            dpop_algs: match sender.dpop {
                true => sender.dpop_algs.split(' ').map(str::to_owned).collect(),
                false => Vec::new(),
            },
            dpop_required: issuers
                .iter()
                .all(|issuer| issuer.dpop.mode == crate::dpop::Mode::Required),
            certificate_bound: sender.certificates.is_some(),
        };
        #[cfg(feature = "jwks")]
        let key_cache = self.key_cache(&issuers)?;
        let trusted_proxies = (!self.trusted_proxies.is_empty())
            .then(|| TrustedProxies::parse(&self.trusted_proxies))
            .transpose()
            .map_err(|e| Error::Config(format!("trusted proxies: {e}")))?;
        let protected_resource = self
            .protected_resource
            .as_deref()
            .map(|resource| {
                let issuers = issuers.iter().filter_map(|i| i.iss().map(str::to_owned));
                ProtectedResource::new(resource, issuers, &self.token_sources, senders)
            })
            .transpose()
            .map_err(Error::Config)?;
        let acl = match (self.acl_file, self.acl) {
            (Some(path), _) => AclInput::File(path),
            (None, Some(map)) => AclInput::Given(map),
            (None, None) => {
                return Err(Error::Config(
                    "no ACL map: call `.acl_file(path)` or `.acl(map)`".into(),
                ));
            }
        };
        let key_inputs = issuers
            .iter()
            .map(|issuer| IssuerKeyInput {
                name: issuer.iss().unwrap_or("(tokens without iss)").to_owned(),
                static_keys: issuer.keys.clone(),
                key_files: issuer.key_files.clone(),
            })
            .collect();
        let reloader = Arc::new(Reloader::load(ReloadConfig {
            acl,
            shadow_acl_file: self.shadow_acl_file,
            issuers: key_inputs,
            cache_capacity: self.token_cache,
            on_reload: self.on_reload,
        })?);
        let watch = match self.watch && !reloader.watched_files().is_empty() {
            true => Some(spawn_watcher(&reloader, self.poll_interval)?),
            false => None,
        };
        let trusted = issuers
            .into_iter()
            .zip(&reloader.key_sources)
            .map(|(issuer, keys)| {
                start(
                    issuer,
                    keys,
                    self.token_cache,
                    #[cfg(feature = "jwks")]
                    key_cache.as_ref(),
                )
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let issuers = Issuers::new(trusted, own).map_err(Error::Config)?;
        if !self.enforce {
            tracing::warn!("dry-run mode: requests that no role grants are let through");
        }
        let acl = reloader.acl_status();
        tracing::info!(
            issuers = issuers.iter().count(),
            token_cache = self.token_cache,
            roles = acl.roles,
            grants = acl.grants,
            watching = watch.is_some(),
            "tokenleader enforcer ready"
        );
        Ok(Enforcer {
            inner: Arc::new(Inner {
                issuers,
                live: reloader.live.clone(),
                reloader,
                admin_role: self.admin_role.map(String::into_boxed_str),
                token_sources: self.token_sources,
                trusted_proxies,
                clock: self.clock,
                deny_response: self.deny_response,
                enforce: self.enforce,
                recorder: Recorder::default(),
                revocation: self.revocation,
                watch,
                protected_resource,
                sender,
            }),
        })
    }

    /// Every issuer, the own one first when it can verify anything, each checked; and the own
    /// one's index. A single-issuer setting given to an own issuer without keys applies to
    /// nothing: refused, with where it belongs.
    fn issuers(&mut self) -> Result<(Vec<Issuer>, Option<usize>), Error> {
        let own = std::mem::replace(&mut self.own, Issuer::tokenleader());
        let trusted = std::mem::take(&mut self.trusted);
        let mut issuers = Vec::with_capacity(trusted.len() + 1);
        let own_index = match own.can_verify() {
            true => {
                issuers.push(own);
                Some(0)
            }
            false => {
                if let Some(setting) = self.own_settings.first() {
                    return Err(Error::Config(format!(
                        "`.{setting}(..)` on the builder configures its own issuer, which has no keys (no `.public_key`, `.public_key_file`, `.client_config`, `.jwks_url`, `.oidc_discovery` or `.introspection`): give it to the `Issuer` it belongs to, e.g. `.trust(Issuer::new(..).{setting}(..))`"
                    )));
                }
                None
            }
        };
        issuers.extend(trusted);
        if issuers.is_empty() {
            return Err(Error::Config(
                "no public key: call `.public_key(..)` with the tokenleader server's key".into(),
            ));
        }
        for issuer in &issuers {
            issuer.check()?;
        }
        Ok((issuers, own_index))
    }

    /// The enforcer-level settings that cannot work.
    fn check(&self) -> Result<(), Error> {
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
        Ok(())
    }

    /// The key cache file, which needs a JWKS source to apply to.
    #[cfg(feature = "jwks")]
    fn key_cache(
        &mut self,
        issuers: &[Issuer],
    ) -> Result<Option<Arc<crate::reload::key_cache::KeyCache>>, Error> {
        let Some(path) = self.key_cache_file.take() else {
            return Ok(None);
        };
        if !issuers.iter().any(|issuer| issuer.jwks.is_some()) {
            return Err(Error::Config(
                "`.jwks_cache_file(..)` keeps the keys of JWKS sources, and no issuer has one: give an issuer `.jwks_url(..)` (or discover it), or drop the setting".into(),
            ));
        }
        Ok(Some(Arc::new(crate::reload::key_cache::KeyCache::new(
            path,
        ))))
    }
}

/// One issuer on the request path: its verifier, its key source, its JWKS source (whose first
/// fetch fails the build unless the key cache file has keys) and its introspection endpoint.
fn start(
    issuer: Issuer,
    keys: &Arc<KeySource>,
    cache_capacity: usize,
    #[cfg(feature = "jwks")] key_cache: Option<&Arc<crate::reload::key_cache::KeyCache>>,
) -> Result<TrustedIssuer, Error> {
    let introspects_all = issuer.keys.is_empty() && !issuer.has_key_source();
    let dpop = issuer.dpop.is_on().then(|| Arc::new(issuer.dpop.clone()));
    let verifier = Verifier {
        validation: issuer.resolved_validation(),
        shape: issuer.resolved_shape(),
        dpop: dpop.clone(),
    };
    #[cfg(feature = "jwks")]
    let jwks = match issuer.jwks {
        Some(mut config) => {
            let settings = &issuer.jwks_settings;
            if let Some(interval) = settings.refresh_interval {
                config.refresh_interval = interval;
            }
            if let Some(interval) = settings.min_refetch_interval {
                config.min_refetch_interval = interval;
            }
            config.allow_plain_http = settings.allow_plain_http;
            config.cache = key_cache.cloned();
            Some(crate::reload::jwks::start(config, keys)?)
        }
        None => None,
    };
    #[cfg(feature = "introspection")]
    let introspector = match issuer.introspection {
        Some(config) => {
            let max_token_bytes = verifier.validation.max_token_bytes;
            let started = crate::introspection::Introspector::start(
                config,
                cache_capacity,
                max_token_bytes,
                dpop,
            );
            Some(started.map_err(Error::Config)?)
        }
        None => None,
    };
    #[cfg(not(feature = "introspection"))]
    let _ = (cache_capacity, dpop);
    Ok(TrustedIssuer {
        verifier,
        keys: keys.clone(),
        #[cfg(feature = "jwks")]
        jwks,
        #[cfg(feature = "introspection")]
        introspector,
        introspects_all,
    })
}
