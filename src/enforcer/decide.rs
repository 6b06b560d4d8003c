//! One request's decision, in one direction: the token found, verified by its issuer, checked
//! against the revocation store, the rule decided with the ACL snapshot in force (dry run
//! included), the deny response chosen; then recorded once, the record observing the decision
//! and never changing it.

use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderMap, Response};

use super::context::unix_secs;
use super::record::AclFacts;
use super::resource::{self, ProtectedResource};
use super::sender::{SenderCheck, sent_with_dpop};
use super::{Authorized, Enforcer, Incoming, RequestContext, RequestId, Rules};
use crate::acl::RulesId;
use crate::claims::Claims;
use crate::issuer::routes::Verdict;
use crate::response::{Denial, DenyResponse, default_deny_response, is_grpc};
use crate::token::{TokenError, Verified, VerifyWait, find_token, token_text};

/// How optional authentication appears in the decision's log event, in place of a rule.
const AUTHENTICATE_ONLY: &str = "(authenticate)";

/// What was decided of a request.
pub(crate) enum Outcome {
    /// Let through, with what was verified (`None`: anonymous, optional authentication) and
    /// the DPoP server nonce to hand out with the response, if any.
    Allowed(Option<Verified>, Option<String>),
    Denied(Denial),
    /// Not decided yet: its token waits for its issuer (keys being fetched, an introspection
    /// call); then it is decided once more, without waiting again.
    #[cfg_attr(
        not(any(feature = "jwks", feature = "introspection")),
        allow(dead_code)
    )]
    Wait(VerifyWait),
}

/// What the layers do with a request: let it through carrying its record, answer it, or
/// wait.
pub(crate) enum Guarded {
    /// Let through with its record, and the `DPoP-Nonce` to add to the response, if any.
    Allowed(Authorized, Option<String>),
    Denied(Response<Bytes>),
    Wait(VerifyWait),
}

impl Enforcer {
    /// The whole decision for one request: finds the token in `headers`, verifies it, and
    /// checks that one of its roles grants `rule`. Records one event per decision (never the
    /// token). Query-parameter token sources find nothing here (there is no URI); use the
    /// layers for them.
    pub fn authorize(&self, headers: &HeaderMap, rule: &str) -> Result<Arc<Claims>, Denial> {
        let incoming = Incoming {
            headers,
            uri: None,
            peer: None,
            method: None,
            extensions: None,
        };
        let rules = Rules {
            list: &[rule],
            label: rule,
            id: RulesId::NONE,
        };
        match self.decide_request(incoming, Some(rules), false).0 {
            Outcome::Allowed(Some(verified), _) => Ok(verified.claims.clone()),
            Outcome::Denied(denial) => Err(denial),
            // Neither is made for a rule without `may_wait`.
            Outcome::Allowed(None, _) => Err(Denial::Unauthenticated(TokenError::Missing)),
            Outcome::Wait(_) => Err(Denial::Unauthenticated(TokenError::UnknownKeyId)),
        }
    }

    /// The layers' decision: the request's record to carry, or the deny response (the
    /// builder's, or the default for a gRPC call or another request), or a wait. With `rules`
    /// `None`, only a token that is there is verified (optional authentication).
    pub(crate) fn guard(
        &self,
        incoming: Incoming<'_>,
        rules: Option<Rules<'_>>,
        may_wait: bool,
    ) -> Guarded {
        let (outcome, context) = self.decide_request(incoming, rules, may_wait);
        match outcome {
            Outcome::Allowed(verified, dpop_nonce) => {
                Guarded::Allowed(Authorized::new(verified, context), dpop_nonce)
            }
            Outcome::Denied(denial) => {
                let decision_id = context.request_id.to_string();
                // Whether it is a gRPC call matters to the answer only.
                let grpc = is_grpc(incoming.headers);
                let mut response = self.responder(grpc).respond_to(&denial, &decision_id);
                let sender = &self.inner.sender;
                if sender.dpop && sent_with_dpop(incoming.headers) {
                    crate::dpop::forbidden_in_dpop_scheme(&mut response, &sender.dpop_algs);
                }
                Guarded::Denied(self.with_challenges(response, &denial))
            }
            Outcome::Wait(wait) => Guarded::Wait(wait),
        }
    }

    /// Decides, in a span of its own when a subscriber wants one, and gives the request's
    /// context with the outcome.
    fn decide_request(
        &self,
        incoming: Incoming<'_>,
        rules: Option<Rules<'_>>,
        may_wait: bool,
    ) -> (Outcome, RequestContext) {
        let headers = incoming.headers;
        // One clock read per decision: the context's time is the time tokens are checked at.
        let context = RequestContext {
            request_id: RequestId::of(headers),
            decided_at: (self.inner.clock)(),
            client_addr: match &self.inner.trusted_proxies {
                Some(proxies) => proxies.client_addr(incoming.peer, headers),
                None => incoming.peer,
            },
        };
        // A span per decision, made only when a subscriber wants it (a disabled span still
        // costs a few hundred instructions with tracing's `log` feature on).
        if !tracing::enabled!(tracing::Level::DEBUG) {
            let outcome = self.decision(incoming, rules, &context, may_wait);
            return (outcome, context);
        }
        let span = tracing::debug_span!(
            "decision",
            request_id = %context.request_id,
            rule = tracing::field::Empty,
            outcome = tracing::field::Empty,
            reason = tracing::field::Empty,
            key_id = tracing::field::Empty,
            issuer = tracing::field::Empty,
            acl_revision = %self.inner.live.acl.load().revision(),
        );
        if let Some(rules) = rules {
            span.record("rule", rules.label);
        }
        let outcome = span.in_scope(|| self.decision(incoming, rules, &context, may_wait));
        match &outcome {
            Outcome::Allowed(Some(verified), _) => {
                span.record("outcome", "allowed");
                if let Some(key_id) = &verified.key_id {
                    span.record("key_id", &**key_id);
                }
                if let Some(issuer) = &verified.issuer {
                    span.record("issuer", &**issuer);
                }
            }
            Outcome::Allowed(None, _) => {
                span.record("outcome", "allowed");
                span.record("reason", "anonymous");
            }
            Outcome::Denied(denial) => {
                span.record("outcome", denial.status_word());
                span.record("reason", denial.reason());
            }
            Outcome::Wait(_) => {
                span.record("outcome", "waiting");
            }
        }
        (outcome, context)
    }

    /// The decision itself; each way out records it once.
    fn decision(
        &self,
        incoming: Incoming<'_>,
        rules: Option<Rules<'_>>,
        context: &RequestContext,
        may_wait: bool,
    ) -> Outcome {
        let inner = &*self.inner;
        let label = rules.map_or(AUTHENTICATE_ONLY, |rules| rules.label);
        let refused = |denial: Denial| {
            inner.recorder.refused(label, &context.request_id, &denial);
            Outcome::Denied(denial)
        };
        let found = find_token(
            incoming.headers,
            incoming.uri,
            &inner.token_sources,
            inner.sender.dpop,
        );
        let token = match found {
            Ok(token) => token,
            Err(TokenError::Missing) if rules.is_none() => {
                inner.recorder.anonymous(&context.request_id);
                return Outcome::Allowed(None, None);
            }
            Err(error) => return refused(error.into()),
        };
        let now = match unix_secs(context.decided_at) {
            Ok(now) => now,
            Err(denial) => return refused(denial),
        };
        // A token verified before is found by its bytes; only another is read as text.
        let verdict = match inner.issuers.cached(token, now) {
            Some(verdict) => verdict,
            None => match token_text(token) {
                Ok(token) => inner.issuers.verify(token, now, may_wait, true),
                Err(error) => return refused(error.into()),
            },
        };
        let verified = match verdict {
            Verdict::Verified(verified) => match self.not_revoked(verified, now) {
                Ok(verified) => verified,
                Err(denial) => return refused(denial),
            },
            Verdict::Denied(denial) => return refused(denial),
            Verdict::Wait(wait) => return Outcome::Wait(wait),
        };
        if let Some(binding) = verified.ip_binding
            && let Err(error) = binding.check(context.client_addr)
        {
            return refused(error.into());
        }
        // Where no issuer takes DPoP, a token bound to nothing (no `cnf`) has no sender to check.
        let next_nonce = match !inner.sender.dpop && verified.confirmation.is_none() {
            true => None,
            false => match self.check_sender(&verified, incoming, now, may_wait) {
                Ok(SenderCheck::Passed { next_nonce }) => next_nonce,
                Ok(SenderCheck::Wait(wait)) => return Outcome::Wait(wait),
                Err(denial) => return refused(denial),
            },
        };
        let Some(Rules {
            list: rules, id, ..
        }) = rules
        else {
            let claims = &verified.claims;
            inner.recorder.authenticated(&context.request_id, claims);
            return Outcome::Allowed(Some(verified), next_nonce);
        };
        let claims = &verified.claims;
        let admin_role = inner.admin_role.as_deref();
        let acl = inner.live.acl.load();
        let roles = &claims.identity.roles;
        let (index, decision) = acl.decide_remembered(roles, rules, id, admin_role, &verified.memo);
        let allowed = decision.is_allowed();
        // Dry run: what no role grants is let through (and recorded as such).
        let let_through = !allowed && !inner.enforce;
        let rule = match allowed {
            true => rules[index],
            false => label,
        };
        let candidate = inner.live.shadow_acl.as_ref().map(ArcSwap::load);
        inner.recorder.decided(&AclFacts {
            rule,
            rules,
            request_id: &context.request_id,
            claims,
            decision,
            acl_revision: acl.revision(),
            candidate: candidate.as_deref().map(Arc::as_ref),
            admin_role,
            let_through,
        });
        if allowed || let_through {
            return Outcome::Allowed(Some(verified), next_nonce);
        }
        Outcome::Denied(Denial::Forbidden {
            rule: label.to_owned(),
            username: claims.identity.username.to_string(),
        })
    }

    /// `verified`, unless the revocation store says it is revoked (or cannot say).
    pub(super) fn not_revoked(&self, verified: Verified, now: u64) -> Result<Verified, Denial> {
        match &self.inner.revocation {
            Some(revocation) => {
                match revocation.is_revoked(&verified.claims, verified.token.as_str(), now) {
                    Ok(false) => Ok(verified),
                    Ok(true) => Err(Denial::Unauthenticated(TokenError::Revoked)),
                    Err(_) => Err(Denial::RevocationUnavailable),
                }
            }
            None => Ok(verified),
        }
    }

    /// The response for a denied request, from the builder's
    /// [`deny_response`](super::EnforcerBuilder::deny_response) (by default JSON).
    pub fn deny_response(&self, denial: &Denial) -> Response<Bytes> {
        self.with_challenges(self.responder(false).respond(denial), denial)
    }

    /// `response`, its `Bearer` challenge naming the metadata document when there is one, and
    /// with a `DPoP` challenge when an issuer takes DPoP.
    fn with_challenges(&self, mut response: Response<Bytes>, denial: &Denial) -> Response<Bytes> {
        if let Some(protected) = &self.inner.protected_resource {
            resource::add_to_challenge(&mut response, protected.url());
        }
        let sender = &self.inner.sender;
        if sender.dpop {
            let nonce = match denial {
                Denial::InvalidDpopProof(crate::dpop::DpopError::UseNonce { nonce }) => {
                    Some(nonce.as_str())
                }
                _ => None,
            };
            crate::dpop::add_challenge(&mut response, &sender.dpop_algs, nonce);
        }
        response
    }

    /// This service's protected resource metadata document (RFC 9728; the `metadata` module
    /// serves it), when
    /// [`protected_resource`](super::EnforcerBuilder::protected_resource) was given.
    pub fn resource_metadata(&self) -> Option<serde_json::Value> {
        self.inner
            .protected_resource
            .as_ref()
            .map(resource::document)
    }

    pub(crate) fn protected_resource(&self) -> Option<&ProtectedResource> {
        self.inner.protected_resource.as_ref()
    }

    /// The builder's deny response, or the default for the kind of request.
    fn responder(&self, grpc: bool) -> &dyn DenyResponse {
        match &self.inner.deny_response {
            Some(custom) => custom.as_ref(),
            None => default_deny_response(grpc),
        }
    }
}
