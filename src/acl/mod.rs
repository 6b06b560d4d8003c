//! The ACL map (`role_to_acl_map.yml`): which role may use which rule.
//!
//! ```
//! use tokenleader_rbac::acl::{AclMap, Decision};
//!
//! let map = AclMap::from_yaml_str(
//!     "- name: role1\n  allow:\n  - service1:first_api:rulename1\n",
//! )?;
//! let roles = ["role1".to_string()];
//! assert!(matches!(
//!     map.decide(&roles, "service1:first_api:rulename1", Some("admin")),
//!     Decision::Granted { role: "role1" }
//! ));
//! assert_eq!(map.decide(&roles, "service1:third_api:rulename3", Some("admin")), Decision::Denied);
//! # Ok::<(), tokenleader_rbac::acl::AclError>(())
//! ```
//!
//! Rules are strings matched exactly (`a:b:c` and `pkg.module.fn` spellings both occur). The
//! tokenleader format (`- name: role / allow: [rules]`) means what it always meant; three
//! opt-in keys extend it:
//!
//! ```yaml
//! - name: reader
//!   allow: [micros1.entries.list, micros1.entries.show]
//! - name: writer
//!   allow: ["micros1.entries.*"]        # `*`: one segment; a final `**`: one or more
//! - name: moderator
//!   includes: [reader, writer]          # the grants (and denies) of these roles too
//!   deny: [micros1.entries.delete]      # beats every allow of the caller's roles
//! ```
//!
//! Segments are split on `.` and `:`, and a pattern never matches across a separator other
//! than its own. A deny from any of the caller's roles (inherited ones included) refuses the
//! request, whatever the others allow; the admin role still bypasses the map (with
//! `admin_role(None)` nothing does). Inheritance is resolved at load (a cycle or an unknown
//! role is refused with the line), exact rules are indexed by hash and patterns kept in a
//! segment trie, so a decision costs a few lookups per role of the caller, whatever the size
//! of the map.
//!
//! A map is reviewed as code with [`testing`] (cases with expected answers, and the entries
//! they leave unexercised), [`diff`] (what a change grants and takes away) and [`replay`]
//! (logged decisions a candidate would flip); the `tokenleader-rbac acl test | diff | replay`
//! commands are built on them.

mod compile;
pub mod diff;
mod error;
mod memo;
mod parse;
mod pattern;
pub mod replay;
pub mod testing;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use foldhash::fast::RandomState;

use compile::RoleGrants;
pub use error::{AclError, AclProblem};
pub(crate) use error::{AclOrigin, yaml_error};
pub(crate) use memo::{DecisionMemo, RulesId};
pub(crate) use parse::read_acl_file;
pub(crate) use pattern::entry_matches;
use pattern::is_pattern;

/// ACL files larger than this are refused: a real map is a few kilobytes.
pub const MAX_ACL_FILE_BYTES: u64 = 1024 * 1024;

/// A validated, compiled ACL map. Cheap to share behind an `Arc`; immutable once built.
#[derive(Debug, Clone)]
pub struct AclMap {
    // foldhash: the keys are role and rule names from the operator's file and from verified
    // tokens, so a fast hasher is safe here and keeps a decision in tens of nanoseconds.
    roles: HashMap<Box<str>, RoleGrants, RandomState>,
    /// The `description` of each role that has one (kept for reports, never decided on).
    descriptions: HashMap<Box<str>, Box<str>, RandomState>,
    /// Whether any role denies anything: without denies, a decision skips that check.
    has_denies: bool,
    /// A hash of the file's bytes (or of the grants given), to tell which map decided.
    revision: Box<str>,
    /// Each role's own entries, as written: to explain a decision, never to make one.
    own: HashMap<Box<str>, OwnEntries, RandomState>,
    /// This map's own id, which tokens' remembered decisions are keyed by (0: none).
    memo_id: u32,
}

/// A role's own `allow`, `deny` and `includes`, as written.
#[derive(Debug, Clone, Default)]
struct OwnEntries {
    allow: Vec<Box<str>>,
    deny: Vec<Box<str>>,
    includes: Vec<Box<str>>,
}

/// Why a role grants or denies a rule: the chain of roles from it to the role whose entry
/// covers the rule, and that entry (a rule, or a pattern).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GrantPath {
    /// The role asked about first, then each included role down to the one with the entry.
    pub roles: Vec<String>,
    /// The `allow` or `deny` entry that covers the rule.
    pub entry: String,
    /// Whether the entry is a deny.
    pub deny: bool,
}

impl GrantPath {
    /// Whether the entry is a pattern rather than the rule itself.
    pub fn by_pattern(&self) -> bool {
        is_pattern(&self.entry)
    }

    /// Whether the entry comes from an included role.
    pub fn inherited(&self) -> bool {
        self.roles.len() > 1
    }
}

/// The outcome of a decision, with its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Allowed: the caller holds the admin role.
    Admin {
        /// The role that is the admin role.
        role: &'a str,
    },
    /// Allowed: this role of the caller lists the rule.
    Granted {
        /// The first of the caller's roles that lists the rule.
        role: &'a str,
    },
    /// Denied: no role of the caller grants the rule.
    Denied,
    /// Denied: this role of the caller denies the rule (`deny:`), whatever the others allow.
    DeniedBy {
        /// The first of the caller's roles that denies the rule.
        role: &'a str,
    },
}

impl Decision<'_> {
    /// True for [`Decision::Admin`] and [`Decision::Granted`].
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Admin { .. } | Decision::Granted { .. })
    }
}

impl AclMap {
    /// A map that lists no role and so grants nothing: only the admin role passes. No parser
    /// makes one (a file without roles is refused as a likely mistake); it is for services
    /// that only verify tokens, and for tests.
    pub fn empty() -> Self {
        AclMap {
            roles: HashMap::default(),
            descriptions: HashMap::default(),
            has_denies: false,
            revision: "empty".into(),
            own: HashMap::default(),
            memo_id: memo::next_map_id(),
        }
    }

    /// The map's revision: the first 16 hex digits of the SHA-256 of its file's bytes (of
    /// its grants, for [`from_grants`](Self::from_grants); `empty` for [`empty`](Self::empty)).
    /// Every decision's log event names it, and `acl_status()` shows it.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// Decides whether a caller with `roles` may use `rule`: allowed when one of the roles is
    /// `admin_role`, or is listed with the rule.
    pub fn decide<'r>(
        &self,
        roles: &'r [String],
        rule: &str,
        admin_role: Option<&str>,
    ) -> Decision<'r> {
        if let Some(role) = roles.iter().find(|role| Some(role.as_str()) == admin_role) {
            return Decision::Admin { role };
        }
        if self.has_denies
            && let Some(role) = roles.iter().find(|role| {
                self.roles
                    .get(role.as_str())
                    .is_some_and(|grants| grants.denies(rule))
            })
        {
            return Decision::DeniedBy { role };
        }
        roles
            .iter()
            .find(|role| {
                self.roles
                    .get(role.as_str())
                    .is_some_and(|grants| grants.allows(rule))
            })
            .map_or(Decision::Denied, |role| Decision::Granted { role })
    }

    /// [`decide`](Self::decide) for a route that requires any one of `rules`: the index of
    /// the first rule the caller is allowed, with its decision; when none is, index 0 with the
    /// first rule's decision (and [`Decision::Denied`] for no rules at all).
    pub fn decide_any<'r>(
        &self,
        roles: &'r [String],
        rules: &[&str],
        admin_role: Option<&str>,
    ) -> (usize, Decision<'r>) {
        let mut first = Decision::Denied;
        for (index, rule) in rules.iter().enumerate() {
            let decision = self.decide(roles, rule, admin_role);
            if decision.is_allowed() {
                return (index, decision);
            }
            if index == 0 {
                first = decision;
            }
        }
        (0, first)
    }

    /// Why `role` grants or denies `rule`: the deny that covers it if one does (a deny wins),
    /// else the allow; `None` when neither does. For review tools (`acl explain`, `acl
    /// matrix`); decisions do not use it.
    pub fn explain(&self, role: &str, rule: &str) -> Option<GrantPath> {
        self.path(role, rule, true)
            .or_else(|| self.path(role, rule, false))
    }

    /// The first entry of kind `deny` covering `rule`, depth first through the includes.
    fn path(&self, role: &str, rule: &str, deny: bool) -> Option<GrantPath> {
        let mut stack = vec![vec![role.to_owned()]];
        let mut seen = HashSet::<String>::new();
        while let Some(roles) = stack.pop() {
            let current = roles.last()?.clone();
            if !seen.insert(current.clone()) {
                continue;
            }
            let own = self.own.get(current.as_str())?;
            let entries = if deny { &own.deny } else { &own.allow };
            if let Some(entry) = entries.iter().find(|entry| entry_matches(entry, rule)) {
                return Some(GrantPath {
                    roles,
                    entry: entry.to_string(),
                    deny,
                });
            }
            for included in own.includes.iter().rev() {
                let mut path = roles.clone();
                path.push(included.to_string());
                stack.push(path);
            }
        }
        None
    }

    /// Whether `role` alone grants `rule`: it (or a role it includes) allows it, and none of
    /// them denies it (the admin role aside).
    pub fn grants(&self, role: &str, rule: &str) -> bool {
        self.roles
            .get(role)
            .is_some_and(|grants| grants.allows(rule) && !grants.denies(rule))
    }

    /// The roles the map lists, in no particular order.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(|role| &**role)
    }

    /// How many roles the map lists.
    pub fn role_count(&self) -> usize {
        self.roles.len()
    }

    /// How many (role, rule or pattern) grants the map holds, inherited ones included.
    pub fn grant_count(&self) -> usize {
        self.roles.values().map(|grants| grants.listed.len()).sum()
    }

    /// The `description:` the file gives `role`, if any.
    pub fn description(&self, role: &str) -> Option<&str> {
        self.descriptions.get(role).map(|text| &**text)
    }

    /// The rules and patterns `role` is allowed (inherited ones included), if the map lists
    /// the role; its denies may take some back.
    pub fn rules_of(&self, role: &str) -> Option<impl Iterator<Item = &str>> {
        self.roles
            .get(role)
            .map(|grants| grants.listed.iter().map(|rule| &**rule))
    }
}
