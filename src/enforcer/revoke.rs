//! Revocation through the enforcer: the token or user is checked here (with the enforcer's
//! clock and validation settings), the store keeps the entry.

use std::time::{SystemTime, UNIX_EPOCH};

use super::Enforcer;
use crate::error::Error;
use crate::response::Denial;
use crate::revocation::{Revocation, TokenHash};
use crate::telemetry;
use crate::token::TokenError;

impl Enforcer {
    /// Revokes one token (logout): refused from now on, on every instance that shares the
    /// revocation store, until its `exp`. The token must verify.
    pub fn revoke_token(&self, token: &str) -> Result<(), Error> {
        let revocation = self.revocation()?;
        let now = self.now().map_err(|_| Error::ClockBeforeEpoch)?;
        // Verified without the revocation check: a token can be revoked while the store is
        // unreachable (the write waits), or twice.
        let claims = self
            .verify_at(token, now)
            .map_err(|denial| match denial {
                Denial::Unauthenticated(error) => Error::Token(error),
                _ => Error::Token(TokenError::Missing),
            })?
            .claims
            .clone();
        let leeway = self.inner.issuers.validation_for(token)?.leeway.as_secs();
        revocation.revoke_token(TokenHash::of(token), claims.exp.saturating_add(leeway), now);
        telemetry::revocation("token");
        tracing::info!(user = %claims.identity.username, "token revoked");
        Ok(())
    }

    /// Revokes every token of `username` issued before `before` (logout everywhere, a
    /// removed user), until the last of them would have expired. Token times are whole
    /// seconds, so `before` is rounded up: a token issued in the same second as `before` is
    /// revoked too (fail closed).
    pub fn revoke_user_before(&self, username: &str, before: SystemTime) -> Result<(), Error> {
        let revocation = self.revocation()?;
        let now = self.now().map_err(|_| Error::ClockBeforeEpoch)?;
        let since_epoch = before.duration_since(UNIX_EPOCH).unwrap_or_default();
        let before = since_epoch.as_secs() + u64::from(since_epoch.subsec_nanos() > 0);
        // The longest any issuer's tokens may live: the entry outlives every token it names.
        let (max_lifetime, leeway) = self
            .inner
            .issuers
            .iter()
            .map(|issuer| &issuer.verifier.validation)
            .map(|validation| {
                (
                    validation.max_lifetime.as_secs(),
                    validation.leeway.as_secs(),
                )
            })
            .fold((0, 0), |(a, b), (c, d)| (a.max(c), b.max(d)));
        let until = before.saturating_add(max_lifetime).saturating_add(leeway);
        revocation.revoke_user_before(username, before, until, now);
        telemetry::revocation("user");
        tracing::info!(user = %username, before, "tokens of the user revoked");
        Ok(())
    }

    fn revocation(&self) -> Result<&dyn Revocation, Error> {
        self.inner.revocation.as_deref().ok_or_else(|| {
            Error::Config("no revocation store: call `.revocation(..)` on the builder".into())
        })
    }
}
