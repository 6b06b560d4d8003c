//! The rules a service uses, from the service itself: [`RequireRule`](crate::RequireRule),
//! `RequireAnyRule` and `Enforcer::require` record their rules when the router is built, and
//! [`record_route`] adds a route's method and path. Check them against the map in force with
//! `Enforcer::rules_report`, or write them as the Python client's `service_access_policy.yml`
//! for `tokenleader-rbac acl check` in the service's CI.
//!
//! ```
//! use axum::{Router, routing::get};
//! use tokenleader_rbac::{RequireRule, rules};
//!
//! let app: Router = Router::new().route(
//!     "/entries",
//!     get(|| async { "entries" }).route_layer(RequireRule("micros1.entries.list")),
//! );
//! rules::record_route("GET", "/entries", "micros1.entries.list");
//! assert!(rules::used_rules().iter().any(|used| used.rule == "micros1.entries.list"));
//! let policy = rules::AccessPolicy::used().to_yaml()?;
//! assert!(policy.contains("rule_name: micros1.entries.list"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! axum applies route layers when the router gets its state (`with_state`, or when it is
//! served), so that is when their rules are recorded. A rule recorded twice is listed once,
//! with its method and path when some record gives them.
//!
//! The record is the process's, not one router's or one enforcer's: `RequireRule("rule")` is
//! a plain marker that meets its enforcer only in a request's extensions, long after axum
//! applied it, and axum may apply it on any thread (when serving), so nothing ties the
//! application to a router. A process that builds several routers (tests, a service with an
//! admin port) sees the rules of all of them; tests that read the record belong in a test
//! crate of their own (as this crate's `tests/rules_report.rs` and `tests/openapi.rs` are).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::acl::{AclError, AclOrigin, AclProblem, read_acl_file, yaml_error};

/// A rule the service uses, with the route that uses it when known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RuleUse {
    /// The rule.
    #[serde(rename = "rule_name")]
    pub rule: String,
    /// The route's path (`api` in `service_access_policy.yml`).
    #[serde(rename = "api", default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The route's method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

static USED: Mutex<BTreeMap<String, RuleUse>> = Mutex::new(BTreeMap::new());

/// Records that the service uses `rule` (the layers call it as the router is built).
pub(crate) fn record(rule: &str) {
    let mut used = USED.lock().unwrap_or_else(PoisonError::into_inner);
    // axum may apply a route's layers again and again (a router served without its state
    // set): a rule known already costs no allocation.
    if !used.contains_key(rule) {
        let rule_use = RuleUse {
            rule: rule.to_owned(),
            path: None,
            method: None,
        };
        used.insert(rule.to_owned(), rule_use);
    }
}

/// Records that the route `method path` requires `rule`.
pub fn record_route(method: &str, path: &str, rule: &str) {
    let mut used = USED.lock().unwrap_or_else(PoisonError::into_inner);
    // Layers record their routes each time they are applied: the same record again costs
    // no allocation.
    if used.get(rule).is_some_and(|known| {
        known.path.as_deref() == Some(path) && known.method.as_deref() == Some(method)
    }) {
        return;
    }
    used.insert(
        rule.to_owned(),
        RuleUse {
            rule: rule.to_owned(),
            path: Some(path.to_owned()),
            method: Some(method.to_owned()),
        },
    );
}

/// The rules recorded so far, sorted.
pub fn used_rules() -> Vec<RuleUse> {
    let used = USED.lock().unwrap_or_else(PoisonError::into_inner);
    used.values().cloned().collect()
}

/// A `service_access_policy.yml`: the rules a service uses, as the Python client kept them.
/// Reads both of its forms (a list of rule names, or of `{rule_name, api, method}`); writes
/// the second.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// The rules, with their routes where known.
    pub rules: Vec<RuleUse>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PolicyEntry {
    Name(String),
    Use(RuleUse),
}

impl AccessPolicy {
    /// The rules this process recorded ([`used_rules`]).
    pub fn used() -> Self {
        AccessPolicy {
            rules: used_rules(),
        }
    }

    /// Parses a policy; errors name the line.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, AclError> {
        Self::parse(yaml, AclOrigin::Text)
    }

    /// Reads a policy file (a regular file of at most 1 MiB).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, AclError> {
        let path = path.as_ref();
        let bytes = read_acl_file(path)?;
        let origin = AclOrigin::File(path.to_owned());
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            AclError::new(
                origin.clone(),
                None,
                AclProblem::Invalid(format!("not UTF-8 text: {e}")),
            )
        })?;
        Self::parse(text, origin)
    }

    fn parse(yaml: &str, origin: AclOrigin) -> Result<Self, AclError> {
        let entries: Option<Vec<PolicyEntry>> = serde_saphyr::from_str(yaml).map_err(|e| {
            let (line, message) = yaml_error(&e);
            AclError::new(origin.clone(), line, AclProblem::Invalid(message))
        })?;
        let rules = entries
            .unwrap_or_default()
            .into_iter()
            .map(|entry| match entry {
                PolicyEntry::Name(rule) => RuleUse {
                    rule,
                    path: None,
                    method: None,
                },
                PolicyEntry::Use(rule_use) => rule_use,
            })
            .collect();
        Ok(AccessPolicy { rules })
    }

    /// The policy as `service_access_policy.yml` text.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::SerializeError> {
        serde_saphyr::to_string(&self.rules)
    }

    /// The rule names.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule_use| rule_use.rule.as_str())
    }
}

/// How the rules a service uses and the map in force fit together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RulesReport {
    /// Rules the service uses that no role grants: their routes are closed to all but the
    /// admin role.
    pub ungranted: Vec<String>,
    /// `(role, rule or pattern)` grants that match no rule the service uses.
    pub unused_grants: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(rule: &str) -> Option<RuleUse> {
        used_rules().into_iter().find(|used| used.rule == rule)
    }

    #[test]
    fn a_route_recorded_again_stays_once_and_a_new_route_replaces_it() {
        // Rule names of this test alone: the record is the process's.
        let rule = "rules.tests.recorded_again";
        record_route("POST", "/a.Svc/One", rule);
        record_route("POST", "/a.Svc/One", rule);
        let count = used_rules().iter().filter(|used| used.rule == rule).count();
        assert_eq!(count, 1);
        assert_eq!(recorded(rule).unwrap().path.as_deref(), Some("/a.Svc/One"));
        record_route("GET", "/two", rule);
        let known = recorded(rule).unwrap();
        assert_eq!(
            (known.method.as_deref(), known.path.as_deref()),
            (Some("GET"), Some("/two"))
        );
    }
}
