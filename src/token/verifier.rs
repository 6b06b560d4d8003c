//! The one verification pipeline: structure and header, payload JSON, signature, registered
//! claims, then the claim shape into [`Claims`]. A verified token is cached whole.

use std::sync::Arc;

use super::cache::{Cached, KeySet, TokenCache};
use super::jws::Jws;
use super::verified::{Verified, VerifiedToken};
use super::{AuthToken, IpBinding, TokenError, Validation};
use crate::claims::{ClaimShape, Claims, Confirmation};
use crate::dpop::Dpop;
use crate::keys::PublicKey;
use crate::telemetry;

/// What the pipeline checked: the claims, the address binding, the `kid`, the `iss` and the
/// key or certificate binding.
type Checked = (
    Claims,
    Option<IpBinding>,
    Option<Arc<str>>,
    Option<Arc<str>>,
    Option<Confirmation>,
);

/// Verifies the tokens of one issuer: its validation settings and its claim shape. The keys
/// come from the live key set at each call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Verifier {
    pub(crate) validation: Validation,
    pub(crate) shape: ClaimShape,
    /// The issuer's DPoP settings, when it takes DPoP: kept with each token it verifies.
    pub(crate) dpop: Option<Arc<Dpop>>,
}

impl Verifier {
    /// Verifies `token` at `now` (seconds since the Unix epoch), from the cache of `key_set`
    /// when it was verified before (its times checked again).
    pub(crate) fn verify(
        &self,
        key_set: &KeySet,
        token: &str,
        now: u64,
    ) -> Result<Verified, TokenError> {
        let Some(cache) = &key_set.cache else {
            return self.verify_uncached(&key_set.keys, token, now);
        };
        match cache.get(token.as_bytes(), now) {
            Some(Ok(verified)) => Ok(verified),
            Some(Err(stale)) => Err(self.stale(cache, stale, now)),
            None => self.verify_and_remember(key_set, token, now),
        }
    }

    /// Verifies `token` without asking the cache of `key_set` (the caller did), and puts it
    /// there.
    pub(crate) fn verify_and_remember(
        &self,
        key_set: &KeySet,
        token: &str,
        now: u64,
    ) -> Result<Verified, TokenError> {
        let Some(cache) = &key_set.cache else {
            return self.verify_uncached(&key_set.keys, token, now);
        };
        telemetry::token_cache(false);
        let verified = self.verify_uncached(&key_set.keys, token, now)?;
        let claims = &verified.claims;
        let valid = self
            .validation
            .valid_times(claims.exp, claims.nbf, claims.iat);
        cache.insert(verified.clone(), valid);
        Ok(verified)
    }

    /// Why a cache hit whose times no longer pass at `now` is refused; it is dropped from
    /// `cache`.
    pub(crate) fn stale(&self, cache: &TokenCache, stale: Cached, now: u64) -> TokenError {
        cache.remove(stale.verified.token.as_str());
        let claims = &stale.verified.claims;
        // The full check agrees with the entry's seconds at every second; should it not,
        // the token is refused all the same.
        match self
            .validation
            .check_times(Some(claims.exp), claims.nbf, claims.iat, now)
        {
            Err(error) => error,
            Ok(()) => TokenError::Expired,
        }
    }

    /// The whole pipeline, without the cache. Everything that can be refused without
    /// signature work is refused before the signature check, the payload's JSON included.
    fn verify_uncached(
        &self,
        keys: &[PublicKey],
        token: &str,
        now: u64,
    ) -> Result<Verified, TokenError> {
        let timer = telemetry::VerificationTimer::start();
        let verified = self.pipeline(keys, token, now);
        timer.stop();
        let (claims, ip_binding, key_id, issuer, confirmation) = verified?;
        Ok(Verified::new(VerifiedToken {
            claims: Arc::new(claims),
            token: AuthToken::new(token),
            ip_binding,
            key_id,
            issuer,
            memo: Default::default(),
            confirmation,
            dpop: self.dpop.clone(),
        }))
    }

    fn pipeline(&self, keys: &[PublicKey], token: &str, now: u64) -> Result<Checked, TokenError> {
        let jws = Jws::parse(token, &self.validation, keys)?;
        let payload = self.shape.parse(&jws.payload)?;
        jws.check_signature(keys)?;
        let registered = payload.registered()?;
        self.validation.check(&registered, now)?;
        let mut ip_binding = None;
        if self.validation.reads_raw_claims() {
            // Only issuers that require claim values or bind addresses pay for this parse.
            let raw: serde_json::Value = serde_json::from_slice(&jws.payload)
                .map_err(|e| TokenError::Malformed(format!("payload is not valid JSON: {e}")))?;
            for requirement in &self.validation.claim_requirements {
                requirement.check(&raw)?;
            }
            if let Some(path) = &self.validation.ip_claim {
                ip_binding = Some(IpBinding::read(&raw, path)?);
            }
        }
        let claims = payload.into_claims(&self.shape, &registered)?;
        Ok((claims, ip_binding, jws.kid, registered.iss, registered.cnf))
    }

    /// Verifies the JWS layer only (structure, header, algorithm, key, signature) and returns
    /// the payload, whatever it holds.
    pub(crate) fn verify_jws(
        &self,
        keys: &[PublicKey],
        token: &str,
    ) -> Result<Vec<u8>, TokenError> {
        let jws = Jws::parse(token, &self.validation, keys)?;
        jws.check_signature(keys)?;
        Ok(jws.payload)
    }
}
