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
use crate::token::{TokenError, Verified};

/// What the enforcer checks of the sender, beside the token.
pub(crate) struct SenderChecks {
    /// Whether any issuer takes DPoP: only then is `Authorization: DPoP` read.
    pub(crate) dpop: bool,
    /// The proof algorithms of the issuers that take DPoP, space-separated, for challenges.
    pub(crate) dpop_algs: String,
    pub(crate) external_url: Option<ExternalUrl>,
    pub(crate) replay: ReplayCache,
    pub(crate) certificates: Option<CertificateSource>,
}

impl Enforcer {
    /// Checks that the sender of `incoming` may use `verified`.
    pub(super) fn check_sender(
        &self,
        verified: &Verified,
        incoming: Incoming<'_>,
        now: u64,
    ) -> Result<(), Denial> {
        let sender = &self.inner.sender;
        let dpop_scheme = sender.dpop && sent_with_dpop(incoming.headers);
        let confirmation = verified.confirmation.as_ref();
        let policy = verified.dpop.as_deref();
        let required = policy.is_some_and(|policy| policy.mode == Mode::Required);
        if !dpop_scheme && confirmation.is_none() && !required {
            return Ok(());
        }
        if let Some(bound) = confirmation.and_then(|c| c.x5t_s256.as_deref()) {
            self.check_certificate(bound, incoming)?;
        }
        let jkt = confirmation.and_then(|c| c.jkt.as_deref());
        match (dpop_scheme, jkt, policy) {
            (_, Some(_), None) => Err(TokenError::DpopNotAccepted.into()),
            (false, Some(_), Some(_)) => Err(TokenError::DpopBound.into()),
            (false, None, _) if required => Err(TokenError::DpopRequired.into()),
            (false, None, _) => Ok(()),
            (true, None, _) => Err(TokenError::NotDpopBound.into()),
            (true, Some(jkt), Some(policy)) => {
                let proof = self.check_dpop_proof(policy, jkt, verified, incoming, now)?;
                match sender
                    .replay
                    .first_use(proof.replay_key, proof.expires_at, now)
                {
                    FirstUse::Yes => Ok(()),
                    FirstUse::Replayed => Err(Denial::InvalidDpopProof(DpopError::Replayed)),
                    FirstUse::Full => Err(Denial::DpopReplayUnavailable),
                }
            }
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
        let from_proxy = trusted_peer(&inner.trusted_proxies, incoming);
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
        let presented =
            source.thumbprint(&carrier, trusted_peer(&inner.trusted_proxies, incoming))?;
        match presented == bound {
            true => Ok(()),
            false => Err(TokenError::WrongCertificate.into()),
        }
    }
}

/// The `DPoP` proof header.
static DPOP: http::HeaderName = http::HeaderName::from_static("dpop");

/// Whether the token came as `Authorization: DPoP <token>`.
fn sent_with_dpop(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().get(..5))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"dpop "))
}

/// Whether the connection's peer is a trusted proxy, whose forwarding headers count.
fn trusted_peer(proxies: &TrustedProxies, incoming: Incoming<'_>) -> bool {
    incoming.peer.is_some_and(|peer| proxies.trusts(peer))
}
