//! The record of one decision, made once per request: the `tracing` event, the metrics, the
//! shadow comparison and the dry-run counter. The token is never recorded.

use super::RequestId;
use crate::acl::{AclMap, Decision};
use crate::claims::Claims;
use crate::response::Denial;
use crate::rollout::{DryRun, Shadow};
use crate::telemetry;

/// Records decisions, and turns a denial into an allow in dry-run mode.
#[derive(Default)]
pub(crate) struct Recorder {
    /// `false` in dry-run mode.
    pub(crate) enforce: bool,
    pub(crate) shadow: Shadow,
    pub(crate) dry_run: DryRun,
}

/// Why a denied decision was denied, for the log.
fn denial_reason(decision: &Decision<'_>) -> &'static str {
    match decision {
        Decision::DeniedBy { .. } => "a role of the caller denies the rule",
        _ => "no role grants the rule",
    }
}

impl Recorder {
    /// A request refused before any decision (no token, a bad one, a store that cannot say).
    pub(crate) fn refused(&self, rule: &str, request_id: &RequestId, denial: &Denial) {
        let outcome = match denial {
            Denial::Unauthenticated(_) => "unauthenticated",
            other => other.status_word(),
        };
        tracing::info!(rule, %request_id, outcome, reason = %denial, "request refused");
        telemetry::decision(outcome, denial.reason());
    }

    /// Optional authentication: a request without a token, let through as anonymous.
    pub(crate) fn anonymous(&self, request_id: &RequestId) {
        tracing::debug!(%request_id, outcome = "allowed", reason = "no token: anonymous");
        telemetry::count_decision!("allowed", "anonymous");
    }

    /// Optional authentication: a request whose token verified; no rule is decided.
    pub(crate) fn authenticated(&self, request_id: &RequestId, claims: &Claims) {
        let user = &*claims.identity.username;
        tracing::debug!(%request_id, user, outcome = "allowed", reason = "token verified");
        telemetry::count_decision!("allowed", "authenticated");
    }

    /// The decision for a verified caller; `Err` when the request is refused.
    /// `rule` names the route's requirement in the log: its rule, or its rules joined with
    /// ` | ` (any one of `rules`).
    #[allow(clippy::too_many_arguments)] // one decision's facts, recorded once
    pub(crate) fn decided(
        &self,
        (rule, rules): (&str, &[&str]),
        request_id: &RequestId,
        claims: &Claims,
        decision: Decision<'_>,
        acl_revision: &str,
        candidate: Option<&AclMap>,
        admin_role: Option<&str>,
    ) -> Result<(), Denial> {
        let user = &*claims.identity.username;
        if let Some(candidate) = candidate {
            let roles = &claims.identity.roles;
            let allowed = decision.is_allowed();
            self.shadow
                .compare(candidate, roles, (rule, rules), user, admin_role, allowed);
        }
        match decision {
            Decision::Admin { role } => {
                telemetry::count_decision!("allowed", "admin");
                let reason = "admin role";
                tracing::debug!(rule, %request_id, user, outcome = "allowed", reason, role, acl_revision);
            }
            Decision::Granted { role } => {
                telemetry::count_decision!("allowed", "granted");
                let reason = "granted by role";
                tracing::debug!(rule, %request_id, user, outcome = "allowed", reason, role, acl_revision);
            }
            Decision::Denied | Decision::DeniedBy { .. } if !self.enforce => {
                tracing::warn!(
                    rule,
                    %request_id,
                    user,
                    outcome = "allowed (dry run)",
                    reason = denial_reason(&decision),
                    acl_revision,
                    "request let through by dry-run mode"
                );
                self.dry_run.let_through(rule);
                telemetry::count_decision!("allowed", "dry_run");
            }
            Decision::Denied | Decision::DeniedBy { .. } => {
                let denied_by = match decision {
                    Decision::DeniedBy { role } => Some(role),
                    _ => None,
                };
                tracing::info!(
                    rule,
                    %request_id,
                    user,
                    outcome = "forbidden",
                    reason = denial_reason(&decision),
                    denied_by,
                    acl_revision,
                    "request refused"
                );
                let reason = match denied_by {
                    Some(_) => "denied",
                    None => "no_grant",
                };
                telemetry::decision("forbidden", reason);
                return Err(Denial::Forbidden {
                    rule: rule.to_owned(),
                    username: claims.identity.username.to_string(),
                });
            }
        }
        Ok(())
    }
}
