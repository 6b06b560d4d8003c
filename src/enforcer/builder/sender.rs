//! The builder's settings for sender-constrained tokens: the URL DPoP proofs sign, the store
//! of seen proofs, and where client certificates come from.

use super::EnforcerBuilder;
use crate::dpop::{ExternalUrl, ReplayCache};
use crate::enforcer::sender::SenderChecks;
use crate::error::Error;
use crate::issuer::Issuer;
use crate::mtls::CertificateSource;

/// How many DPoP proofs an enforcer remembers at most (about 100 bytes each).
const DEFAULT_DPOP_REPLAY_CAPACITY: usize = 100_000;

impl EnforcerBuilder {
    /// The service's URL as its clients call it (`https://api.example.com`, or
    /// `https://example.com/api` when a proxy strips `/api`): DPoP proofs must name it in
    /// `htu`, followed by the request's path. Without it, trusted proxies' `Forwarded` or
    /// `X-Forwarded-Proto`/`-Host` headers tell it, else the request's own `Host` (see
    /// [`dpop`](crate::dpop)). Checked by [`build`](Self::build).
    pub fn external_url(mut self, url: impl Into<String>) -> Self {
        self.external_url = Some(url.into());
        self
    }

    /// How many DPoP proofs this instance remembers at most (default 100,000, about 100 bytes
    /// each), each for its [`max_age`](crate::dpop::Dpop::max_age): once it is full of
    /// proofs within their age, new proofs are refused with 503.
    pub fn dpop_replay_capacity(mut self, capacity: usize) -> Self {
        self.dpop_replay_capacity = Some(capacity);
        self
    }

    /// The fleet's store of seen DPoP proofs (feature `redis`): a proof used on one instance
    /// is a replay on all. Each DPoP request then waits for one Redis round trip, and is
    /// refused with 503 when Redis does not answer (see [`RedisReplay`](crate::dpop::RedisReplay)).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn dpop_replay(mut self, store: crate::dpop::RedisReplay) -> Self {
        self.dpop_fleet = Some(store);
        self
    }

    /// Where client certificates come from, for tokens bound to one (`cnf["x5t#S256"]`,
    /// RFC 8705; see [`mtls`](crate::mtls)). Without it, such tokens are refused.
    pub fn client_certificates(mut self, source: CertificateSource) -> Self {
        self.certificate_source = Some(source);
        self
    }

    /// The sender checks of the enforcer, its settings checked against the `issuers`: each
    /// applies to something, or `build()` says where it belongs.
    pub(super) fn sender_checks(&mut self, issuers: &[Issuer]) -> Result<SenderChecks, Error> {
        let dpop_issuers: Vec<_> = issuers
            .iter()
            .filter(|issuer| issuer.dpop.is_on())
            .collect();
        let dpop = !dpop_issuers.is_empty();
        #[cfg(feature = "redis")]
        let fleet = self.dpop_fleet.is_some();
        #[cfg(not(feature = "redis"))]
        let fleet = false;
        let misplaced = [
            (self.external_url.is_some(), "external_url"),
            (self.dpop_replay_capacity.is_some(), "dpop_replay_capacity"),
            (fleet, "dpop_replay"),
        ];
        if !dpop && let Some((_, setting)) = misplaced.iter().find(|(given, _)| *given) {
            return Err(Error::Config(format!(
                "`.{setting}(..)` applies to DPoP proofs, and no issuer takes DPoP: give an issuer `.dpop(Dpop::accepted())` or `.dpop(Dpop::required())`, or drop the setting"
            )));
        }
        let proxied = matches!(
            self.certificate_source,
            Some(CertificateSource::EnvoyXfcc | CertificateSource::EscapedPem(_))
        );
        if proxied && self.trusted_proxies.is_empty() {
            return Err(Error::Config(
                "`.client_certificates(..)` from a proxy header: the header is believed from trusted proxies only, and none is given: add `.trusted_proxies([..])`".into(),
            ));
        }
        let external_url = self
            .external_url
            .as_deref()
            .map(ExternalUrl::parse)
            .transpose()
            .map_err(|e| Error::Config(format!("external URL: {e}")))?;
        let capacity = self
            .dpop_replay_capacity
            .unwrap_or(DEFAULT_DPOP_REPLAY_CAPACITY);
        if dpop && capacity == 0 {
            return Err(Error::Config(
                "`.dpop_replay_capacity(0)` would refuse every DPoP proof: give room for the proofs of `max_age`".into(),
            ));
        }
        let mut algs: Vec<String> = Vec::new();
        for algorithm in dpop_issuers.iter().flat_map(|i| &i.dpop.algorithms) {
            let name = format!("{algorithm:?}");
            if !algs.contains(&name) {
                algs.push(name);
            }
        }
        Ok(SenderChecks {
            dpop,
            dpop_algs: algs.join(" "),
            external_url,
            replay: ReplayCache::new(if dpop { capacity } else { 0 }),
            #[cfg(feature = "redis")]
            fleet: self.dpop_fleet.take(),
            certificates: self.certificate_source.take(),
        })
    }
}
