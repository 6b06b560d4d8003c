//! The enforcer's verification outside the request path's one step: a token verified (and
//! checked against the revocation store) for `Enforcer::verify` and revocation, the JWS layer
//! alone, and the clock's reading in seconds.

use std::sync::Arc;

use super::Enforcer;
use super::context::unix_secs;
use crate::claims::Claims;
use crate::issuer::routes::Verdict;
use crate::response::Denial;
use crate::token::{TokenError, Verified};

impl Enforcer {
    /// Verifies a token: signature, algorithm, `exp`/`nbf`/`iat`, the claims, and the
    /// revocation store. A token verified before is found in the cache (its times are checked
    /// again); the claims are shared, not copied. It never waits: a token whose `kid` is not
    /// known yet, or whose introspection answer is not cached, is refused.
    ///
    /// The denial is [`Denial::Unauthenticated`] for a bad token,
    /// [`Denial::RevocationUnavailable`] when the revocation store cannot say, and
    /// [`Denial::ClockBeforeEpoch`] when the clock is broken.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, Denial> {
        let now = self.now()?;
        let verified = self.verify_at(token, now)?;
        self.not_revoked(verified, now)
            .map(|verified| verified.claims.clone())
    }

    /// Verifies the JWS layer of a token only (structure, header, algorithm, key, signature)
    /// and returns its payload without reading it as claims: for tokens of other shapes. No
    /// cache, no time checks: a token goes through [`verify`](Self::verify).
    pub fn verify_jws(&self, token: &str) -> Result<Vec<u8>, TokenError> {
        self.inner.issuers.verify_jws(token)
    }

    /// Seconds since the Unix epoch, by the configured clock.
    pub(super) fn now(&self) -> Result<u64, Denial> {
        unix_secs((self.inner.clock)())
    }

    /// Verification without the revocation check, never waiting.
    pub(super) fn verify_at(&self, token: &str, now: u64) -> Result<Verified, Denial> {
        match self.inner.issuers.verify(token, now, false, false) {
            Verdict::Verified(verified) => Ok(verified),
            Verdict::Denied(denial) => Err(denial),
            // Not made without `may_wait`; fail closed all the same.
            Verdict::Wait(_) => Err(Denial::Unauthenticated(TokenError::UnknownKeyId)),
        }
    }
}
