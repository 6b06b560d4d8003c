//! The enforcer's verification step: finds the issuer a token names, verifies the token with
//! that issuer's keys (or asks its issuer, for opaque tokens), checks the revocation store, and
//! says what a request that may wait for keys waits for.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use super::Enforcer;
use super::routes::IssuerRoutes;
use crate::claims::Claims;
use crate::response::Denial;
use crate::token::{KeySet, TokenError, Verified, Verifier, VerifyWait};

/// The issuer a token names: how its tokens are checked, and with which keys.
struct TokenIssuer<'e> {
    verifier: &'e Verifier,
    keys: &'e ArcSwap<KeySet>,
    /// Asked to fetch again when a token names an unknown `kid`.
    #[cfg(feature = "jwks")]
    jwks: Option<&'e crate::reload::jwks::JwksSource>,
}

impl Enforcer {
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
    pub(super) fn verify_step(
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
    pub(super) fn pending_wait(&self, token: &str) -> Option<VerifyWait> {
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
        let issuer = self.issuer_for(token)?;
        issuer.verifier.verify_jws(&issuer.keys.load().keys, token)
    }

    /// Seconds since the Unix epoch, by the configured clock.
    pub(super) fn now(&self) -> Result<u64, Denial> {
        unix_secs((self.inner.clock)())
    }

    /// Verification without the revocation check.
    pub(super) fn verify_at(&self, token: &str, now: u64) -> Result<Verified, TokenError> {
        if let Some(routes) = &self.inner.routes
            && let Some(verified) = self.cached_by_any_issuer(routes, token, now)
        {
            return verified;
        }
        let issuer = self.issuer_for(token)?;
        let key_set = issuer.keys.load();
        let verified = match self.inner.routes {
            // Every issuer's cache was asked above.
            Some(_) => issuer.verifier.verify_and_remember(&key_set, token, now),
            None => issuer.verifier.verify(&key_set, token, now),
        };
        #[cfg(feature = "jwks")]
        if let (Err(TokenError::UnknownKeyId), Some(jwks)) = (&verified, issuer.jwks) {
            jwks.request_refetch();
        }
        verified
    }

    /// With several issuers, `token` from the cache of the issuer that verified it before:
    /// found there without decoding its payload for `iss`. A cache holds only the tokens its
    /// issuer verified, keyed by the whole token, so a hit is the issuer `iss` names.
    fn cached_by_any_issuer(
        &self,
        routes: &IssuerRoutes,
        token: &str,
        now: u64,
    ) -> Option<Result<Verified, TokenError>> {
        let own = (&self.inner.verifier, &self.inner.live.keys);
        let trusted = routes
            .with_keys()
            .map(|(verifier, keys)| (verifier, &keys.live));
        std::iter::once(own)
            .chain(trusted)
            .find_map(|(verifier, keys)| verifier.cached(&keys.load(), token, now))
    }

    /// The issuer `token` names: one of the trusted issuers, or the builder's own (its live
    /// key set, kept fresh by its key files or JWKS source).
    fn issuer_for(&self, token: &str) -> Result<TokenIssuer<'_>, TokenError> {
        if let Some(routes) = &self.inner.routes {
            let route = routes.route(token)?;
            if let Some(keys) = &route.keys {
                return Ok(TokenIssuer {
                    verifier: &route.verifier,
                    keys: &keys.live,
                    #[cfg(feature = "jwks")]
                    jwks: route.jwks.as_ref(),
                });
            }
        }
        Ok(TokenIssuer {
            verifier: &self.inner.verifier,
            keys: &self.inner.live.keys,
            #[cfg(feature = "jwks")]
            jwks: self.inner.jwks.as_ref(),
        })
    }

    /// The wait for the keys of the issuer that `token` names, when a fetch of them is under
    /// way (or starts now); `None` when the rate limit holds it back or keys are not fetched.
    #[cfg(feature = "jwks")]
    fn keys_wait(&self, token: &str) -> Option<VerifyWait> {
        self.issuer_for(token).ok()?.jwks?.request_refetch()
    }

    #[cfg(not(feature = "jwks"))]
    fn keys_wait(&self, _token: &str) -> Option<VerifyWait> {
        None
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
pub(super) fn unix_secs(time: SystemTime) -> Result<u64, Denial> {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Denial::ClockBeforeEpoch)
}
