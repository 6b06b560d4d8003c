//! The record of one decision, made once per request: the `tracing` event, the metrics, the
//! shadow comparison and the dry-run counter. The token is never recorded.

use super::RequestId;
use crate::acl::{AclMap, Decision};
use crate::claims::Claims;
use crate::response::Denial;
use crate::rollout::{DryRun, Shadow};
use crate::telemetry;

/// Records decisions: it observes them and never changes one.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) shadow: Shadow,
    pub(crate) dry_run: DryRun,
}

/// What the ACL decided for a verified caller, and what was made of it.
pub(crate) struct AclFacts<'a> {
    /// The rule that allowed the request, or the route's label (its rules joined with ` | `).
    pub(crate) rule: &'a str,
    /// The rules of which the route requires any one.
    pub(crate) rules: &'a [&'a str],
    pub(crate) request_id: &'a RequestId,
    pub(crate) claims: &'a Claims,
    pub(crate) decision: Decision<'a>,
    pub(crate) acl_revision: &'a str,
    /// The shadow map, when one is decided beside.
    pub(crate) candidate: Option<&'a AclMap>,
    pub(crate) admin_role: Option<&'a str>,
    /// A denial let through by dry-run mode.
    pub(crate) let_through: bool,
}

/// The caller's roles in a decision's event, as a JSON array (what `acl replay` reads back);
/// written only when the event is.
struct Roles<'a>(&'a [String]);

impl std::fmt::Display for Roles<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Role names come from verified tokens; JSON escapes whatever they hold.
        f.write_str(&serde_json::to_string(self.0).unwrap_or_default())
    }
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

    /// The ACL's decision for a verified caller: the event, the counters, the shadow map's
    /// comparison, the dry-run count.
    pub(crate) fn decided(&self, facts: &AclFacts<'_>) {
        let AclFacts {
            rule,
            request_id,
            acl_revision,
            ..
        } = *facts;
        let user = &*facts.claims.identity.username;
        let roles = Roles(&facts.claims.identity.roles);
        if let Some(candidate) = facts.candidate {
            let roles = &facts.claims.identity.roles;
            let allowed = facts.decision.is_allowed();
            let admin_role = facts.admin_role;
            self.shadow.compare(
                candidate,
                roles,
                (rule, facts.rules),
                user,
                admin_role,
                allowed,
            );
        }
        match facts.decision {
            Decision::Admin { role } => {
                telemetry::count_decision!("allowed", "admin");
                let reason = "admin role";
                tracing::debug!(rule, %request_id, user, %roles, outcome = "allowed", reason, role, acl_revision);
            }
            Decision::Granted { role } => {
                telemetry::count_decision!("allowed", "granted");
                let reason = "granted by role";
                tracing::debug!(rule, %request_id, user, %roles, outcome = "allowed", reason, role, acl_revision);
            }
            Decision::Denied | Decision::DeniedBy { .. } if facts.let_through => {
                tracing::warn!(
                    rule,
                    %request_id,
                    user,
                    %roles,
                    outcome = "allowed (dry run)",
                    reason = denial_reason(&facts.decision),
                    acl_revision,
                    "request let through by dry-run mode"
                );
                self.dry_run.let_through(rule);
                telemetry::count_decision!("allowed", "dry_run");
            }
            Decision::Denied | Decision::DeniedBy { .. } => {
                let denied_by = match facts.decision {
                    Decision::DeniedBy { role } => Some(role),
                    _ => None,
                };
                tracing::info!(
                    rule,
                    %request_id,
                    user,
                    %roles,
                    outcome = "forbidden",
                    reason = denial_reason(&facts.decision),
                    denied_by,
                    acl_revision,
                    "request refused"
                );
                let reason = match denied_by {
                    Some(_) => "denied",
                    None => "no_grant",
                };
                telemetry::decision("forbidden", reason);
            }
        }
    }
}
