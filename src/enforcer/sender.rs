//! The sender check of a verified token: a token bound to a key is let through only with a
//! good DPoP proof of that key (RFC 9449), a token bound to a certificate only with that
//! client certificate (RFC 8705), and an issuer that requires DPoP gets no bearer tokens.
//! Tokens without `cnf`, sent as bearer tokens to issuers that do not require DPoP, pass
//! after one branch.

use super::{Enforcer, Incoming};
use crate::caller_addr::TrustedProxies;
use crate::dpop::replay::FirstUse;
use crate::dpop::{
    CheckedProof, Dpop, DpopError, ExternalUrl, Mode, ProofTarget, ReplayCache, RequestUrl,
    check_proof,
};
use crate::mtls::{CertificateCarrier, CertificateSource};
use crate::response::Denial;
use crate::token::{TokenError, Verified, VerifyWait};

/// What the enforcer checks of the sender, beside the token.
pub(crate) struct SenderChecks {
    /// Whether any issuer takes DPoP: only then is `Authorization: DPoP` read.
    pub(crate) dpop: bool,
    /// The proof algorithms of the issuers that take DPoP, space-separated, for challenges.
    pub(crate) dpop_algs: String,
    pub(crate) external_url: Option<ExternalUrl>,
    pub(crate) replay: ReplayCache,
    /// The fleet's store of seen proofs, when the instances share one.
    #[cfg(feature = "redis")]
    pub(crate) fleet: Option<crate::dpop::RedisReplay>,
    pub(crate) certificates: Option<CertificateSource>,
}

/// What the sender check says of a sender it does not refuse.
pub(super) enum SenderCheck {
    /// It may use the token; with server nonces, the current nonce to hand it with the
    /// response when its proof carried the previous minute's (RFC 9449 §8.2).
    Passed { next_nonce: Option<String> },
    /// Its proof waits for the fleet's word; then the request is decided again.
    Wait(VerifyWait),
}

const PASSED: SenderCheck = SenderCheck::Passed { next_nonce: None };

impl Enforcer {
    /// Checks that the sender of `incoming` may use `verified`. With a fleet store of seen
    /// proofs and `may_wait`, a proof this instance has not seen gives a wait for Redis's
    /// answer; the request is then decided again and finds it.
    pub(super) fn check_sender(
        &self,
        verified: &Verified,
        incoming: Incoming<'_>,
        now: u64,
        may_wait: bool,
    ) -> Result<SenderCheck, Denial> {
        let sender = &self.inner.sender;
        let dpop_scheme = sender.dpop && sent_with_dpop(incoming.headers);
        let confirmation = verified.confirmation.as_ref();
        let policy = verified.dpop.as_deref();
        let required = policy.is_some_and(|policy| policy.mode == Mode::Required);
        if !dpop_scheme && confirmation.is_none() && !required {
            return Ok(PASSED);
        }
        if let Some(bound) = confirmation.and_then(|c| c.x5t_s256.as_deref()) {
            self.check_certificate(bound, incoming)?;
        }
        let jkt = confirmation.and_then(|c| c.jkt.as_deref());
        match (dpop_scheme, jkt, policy) {
            (_, Some(_), None) => Err(TokenError::DpopNotAccepted.into()),
            (false, Some(_), Some(_)) => Err(TokenError::DpopBound.into()),
            (false, None, _) if required => Err(TokenError::DpopRequired.into()),
            (false, None, _) => Ok(PASSED),
            (true, None, _) => Err(TokenError::NotDpopBound.into()),
            (true, Some(jkt), Some(policy)) => {
                let proof = self.check_dpop_proof(policy, jkt, verified, incoming, now)?;
                let first_use = sender
                    .replay
                    .first_use(proof.replay_key, proof.expires_at, now);
                let wait = self.first_in_fleet(first_use, &proof, now, may_wait)?;
                Ok(match wait {
                    Some(wait) => SenderCheck::Wait(wait),
                    None => SenderCheck::Passed {
                        next_nonce: proof.next_nonce,
                    },
                })
            }
        }
    }

    /// The fleet's word on a proof, after this instance's own store said `first_use`: without
    /// a fleet store, that word is final.
    fn first_in_fleet(
        &self,
        first_use: FirstUse,
        proof: &CheckedProof,
        now: u64,
        may_wait: bool,
    ) -> Result<Option<VerifyWait>, Denial> {
        let replayed = Denial::InvalidDpopProof(DpopError::Replayed);
        #[cfg(feature = "redis")]
        if let Some(fleet) = &self.inner.sender.fleet {
            use crate::dpop::FleetAnswer;
            return match first_use {
                FirstUse::Yes if may_wait => {
                    let ttl = proof.expires_at.saturating_sub(now);
                    Ok(Some(VerifyWait(fleet.claim(proof.replay_key, ttl))))
                }
                // Decided again after the wait: seen here by the first decision, and Redis's
                // answer waits for it (unless a copy of this very request took it first).
                FirstUse::Replayed => match fleet.answer(proof.replay_key) {
                    Some(FleetAnswer::First) => Ok(None),
                    Some(FleetAnswer::Unavailable) => Err(Denial::DpopReplayUnavailable),
                    Some(FleetAnswer::Replayed) | None => Err(replayed),
                },
                FirstUse::Yes | FirstUse::Full => Err(Denial::DpopReplayUnavailable),
            };
        }
        let _ = (proof, now, may_wait);
        match first_use {
            FirstUse::Yes => Ok(None),
            FirstUse::Replayed => Err(replayed),
            FirstUse::Full => Err(Denial::DpopReplayUnavailable),
        }
    }

    /// The request's DPoP proof, checked for it and for the token bound to `jkt`.
    fn check_dpop_proof(
        &self,
        policy: &Dpop,
        jkt: &str,
        verified: &Verified,
        incoming: Incoming<'_>,
        now: u64,
    ) -> Result<CheckedProof, Denial> {
        let refused = Denial::InvalidDpopProof;
        let mut proofs = incoming.headers.get_all(&DPOP).iter();
        let proof = proofs.next().ok_or(refused(DpopError::Missing))?;
        if proofs.next().is_some() {
            return Err(refused(DpopError::Repeated));
        }
        // `Enforcer::authorize` knows no method or URI: no proof can be checked there.
        let (Some(method), Some(uri)) = (incoming.method, incoming.uri) else {
            return Err(refused(DpopError::UnknownUrl));
        };
        let inner = &*self.inner;
        let from_proxy = trusted_peer(inner.trusted_proxies.as_ref(), incoming);
        let url = RequestUrl::of(
            inner.sender.external_url.as_ref(),
            from_proxy,
            uri,
            incoming.headers,
        )
        .map_err(refused)?;
        let target = ProofTarget {
            method: method.as_str(),
            url: &url,
            token: verified.token.as_str(),
            jkt,
        };
        check_proof(proof.as_bytes(), policy, &target, now).map_err(refused)
    }

    /// The request's client certificate must hash to `bound`.
    fn check_certificate(&self, bound: &str, incoming: Incoming<'_>) -> Result<(), Denial> {
        let inner = &*self.inner;
        let source = inner
            .sender
            .certificates
            .as_ref()
            .ok_or(TokenError::NoClientCertificate)?;
        let carrier = CertificateCarrier {
            extensions: incoming.extensions,
            headers: incoming.headers,
        };
        let presented = source.thumbprint(
            &carrier,
            trusted_peer(inner.trusted_proxies.as_ref(), incoming),
        )?;
        match presented == bound {
            true => Ok(()),
            false => Err(TokenError::WrongCertificate.into()),
        }
    }
}

/// The `DPoP` proof header.
static DPOP: http::HeaderName = http::HeaderName::from_static("dpop");

/// Whether the token came as `Authorization: DPoP <token>`.
pub(super) fn sent_with_dpop(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().get(..5))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"dpop "))
}

/// Whether the connection's peer is a trusted proxy, whose forwarding headers count.
fn trusted_peer(proxies: Option<&TrustedProxies>, incoming: Incoming<'_>) -> bool {
    incoming
        .peer
        .zip(proxies)
        .is_some_and(|(peer, proxies)| proxies.trusts(peer))
}
