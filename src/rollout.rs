//! Safe roll-out of ACL changes: a shadow (candidate) map decided beside the enforced one, and
//! a dry-run mode that lets authorization denials through while counting them.
//!
//! ```no_run
//! use tokenleader_rbac::Enforcer;
//!
//! let enforcer = Enforcer::builder()
//!     .public_key_file("/etc/tokenleader/id_rsa.pub")
//!     .acl_file("/etc/tokenleader/role_to_acl_map.yml")
//!     .shadow_acl_file("/etc/tokenleader/role_to_acl_map.next.yml")
//!     .build()?;
//! // … after some traffic: whom would the candidate map treat differently?
//! for difference in enforcer.shadow_report() {
//!     println!("{difference}");
//! }
//! # Ok::<(), tokenleader_rbac::Error>(())
//! ```
//!
//! The candidate never changes a response. It is validated and hot-reloaded exactly like the
//! enforced map; where the two decide differently, a `tracing` event says so (rule, user, both
//! outcomes) and a counter per (rule, outcomes) moves. With `.enforce(false)` the enforcer
//! lets requests through that no role grants (logged and counted, see
//! `Enforcer::dry_run_report`); missing or bad tokens are
//! still refused.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use crate::acl::AclMap;

/// How often the candidate map decided differently from the enforced one, for one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShadowDifference {
    /// The rule.
    pub rule: String,
    /// What the enforced map decided.
    pub enforced_allowed: bool,
    /// What the candidate map decided.
    pub candidate_allowed: bool,
    /// How many requests.
    pub count: u64,
}

impl fmt::Display for ShadowDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = |allowed| if allowed { "allowed" } else { "denied" };
        write!(
            f,
            "rule `{}`: {} requests {} now would be {} by the candidate map",
            self.rule,
            self.count,
            word(self.enforced_allowed),
            word(self.candidate_allowed)
        )
    }
}

/// How many requests dry-run mode let through for one rule that no role grants.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DryRunDenial {
    /// The rule.
    pub rule: String,
    /// How many requests.
    pub count: u64,
}

/// Counts per key, behind a mutex that is only taken when something is counted.
#[derive(Default)]
pub(crate) struct Counters<K> {
    counts: Mutex<HashMap<K, u64>>,
}

impl<K: std::hash::Hash + Eq + Clone> Counters<K> {
    pub(crate) fn add(&self, key: K) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(key).or_default() += 1;
    }

    pub(crate) fn snapshot(&self) -> Vec<(K, u64)> {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// The differences seen between the enforced map and the candidate map.
#[derive(Default)]
pub(crate) struct Shadow {
    differences: Counters<(String, bool, bool)>,
}

impl Shadow {
    /// Decides with the `candidate` map and records a difference from `enforced_allowed`.
    pub(crate) fn compare(
        &self,
        candidate: &AclMap,
        roles: &[String],
        (rule, rules): (&str, &[&str]),
        user: &str,
        admin_role: Option<&str>,
        enforced_allowed: bool,
    ) {
        let candidate_allowed = candidate
            .decide_any(roles, rules, admin_role)
            .1
            .is_allowed();
        if candidate_allowed != enforced_allowed {
            tracing::info!(
                target: "tokenleader_rbac::shadow",
                rule,
                user,
                enforced = if enforced_allowed { "allowed" } else { "denied" },
                candidate = if candidate_allowed { "allowed" } else { "denied" },
                "the shadow ACL map decides differently"
            );
            self.differences
                .add((rule.to_owned(), enforced_allowed, candidate_allowed));
        }
    }

    pub(crate) fn report(&self) -> Vec<ShadowDifference> {
        let mut report: Vec<ShadowDifference> = self
            .differences
            .snapshot()
            .into_iter()
            .map(
                |((rule, enforced_allowed, candidate_allowed), count)| ShadowDifference {
                    rule,
                    enforced_allowed,
                    candidate_allowed,
                    count,
                },
            )
            .collect();
        report.sort_by(|a, b| {
            a.rule
                .cmp(&b.rule)
                .then(a.enforced_allowed.cmp(&b.enforced_allowed))
        });
        report
    }
}

/// The requests dry-run mode let through.
#[derive(Default)]
pub(crate) struct DryRun {
    denials: Counters<String>,
}

impl DryRun {
    pub(crate) fn let_through(&self, rule: &str) {
        self.denials.add(rule.to_owned());
    }

    pub(crate) fn report(&self) -> Vec<DryRunDenial> {
        let mut report: Vec<DryRunDenial> = self
            .denials
            .snapshot()
            .into_iter()
            .map(|(rule, count)| DryRunDenial { rule, count })
            .collect();
        report.sort_by(|a, b| a.rule.cmp(&b.rule));
        report
    }
}
