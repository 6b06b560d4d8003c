//! Checking and indexing an ACL map: names and patterns validated, inheritance resolved (a
//! cycle or an unknown role refused with its line), exact rules hashed and patterns put in
//! tries, so that a decision is a few lookups.

use std::collections::{HashMap, HashSet};

use foldhash::fast::RandomState;

use super::pattern::{PatternSet, check_pattern, is_pattern};
use super::{AclError, AclMap, AclOrigin, AclProblem, OwnEntries};

type Rules = HashSet<Box<str>, RandomState>;

/// What one role grants and denies, its inherited roles' included.
#[derive(Debug, Clone, Default)]
pub(super) struct RoleGrants {
    /// The `allow` entries (exact rules and patterns) as written, inherited ones included:
    /// for reports.
    pub(super) listed: Vec<Box<str>>,
    allow: Rules,
    allow_patterns: PatternSet,
    deny: Rules,
    deny_patterns: PatternSet,
}

impl RoleGrants {
    pub(super) fn allows(&self, rule: &str) -> bool {
        self.allow.contains(rule) || self.allow_patterns.matches(rule)
    }

    pub(super) fn denies(&self, rule: &str) -> bool {
        self.deny.contains(rule) || self.deny_patterns.matches(rule)
    }

    fn add(&mut self, entry: &str, deny: bool) {
        match (is_pattern(entry), deny) {
            (false, false) => {
                if self.allow.insert(entry.into()) {
                    self.listed.push(entry.into());
                }
            }
            (true, false) => {
                if !self.listed.iter().any(|listed| &**listed == entry) {
                    self.allow_patterns.insert(entry);
                    self.listed.push(entry.into());
                }
            }
            (false, true) => {
                self.deny.insert(entry.into());
            }
            (true, true) => self.deny_patterns.insert(entry),
        }
    }

    fn has_denies(&self) -> bool {
        !self.deny.is_empty() || self.deny_patterns.len() > 0
    }
}

/// A role as the file (or `from_grants`) gives it, each name with its line when it has one.
pub(super) struct RawRole {
    pub(super) name: (String, Option<u64>),
    pub(super) allow: Vec<(String, Option<u64>)>,
    pub(super) deny: Vec<(String, Option<u64>)>,
    pub(super) includes: Vec<(String, Option<u64>)>,
}

impl AclMap {
    /// Validates the entries and builds the index: inheritance resolved, exact rules hashed,
    /// patterns in tries.
    pub(super) fn compile(
        entries: impl IntoIterator<Item = RawRole>,
        origin: AclOrigin,
    ) -> Result<Self, AclError> {
        let error = |line, problem| AclError::new(origin.clone(), line, problem);
        let mut raw: Vec<RawRole> = Vec::new();
        let mut index: HashMap<String, usize, RandomState> = HashMap::default();
        for role in entries {
            let (name, line) = &role.name;
            if name.is_empty() {
                return Err(error(*line, AclProblem::EmptyRoleName));
            }
            if index.contains_key(name) {
                return Err(error(*line, AclProblem::DuplicateRole(name.clone())));
            }
            for (rule, rule_line) in role.allow.iter().chain(&role.deny) {
                if rule.is_empty() {
                    return Err(error(*rule_line, AclProblem::EmptyRule(name.clone())));
                }
                if is_pattern(rule) {
                    check_pattern(rule)
                        .map_err(|message| error(*rule_line, AclProblem::Invalid(message)))?;
                }
            }
            index.insert(name.clone(), raw.len());
            raw.push(role);
        }
        if raw.is_empty() {
            return Err(error(None, AclProblem::Empty));
        }
        for role in &raw {
            for (included, line) in &role.includes {
                if !index.contains_key(included) {
                    let problem = AclProblem::UnknownInclude {
                        role: role.name.0.clone(),
                        included: included.clone(),
                    };
                    return Err(error(*line, problem));
                }
            }
        }
        let mut roles: HashMap<Box<str>, RoleGrants, RandomState> = HashMap::default();
        for (start, role) in raw.iter().enumerate() {
            let mut grants = RoleGrants::default();
            // Depth first through the includes; a role met again on the current path is a
            // cycle.
            let mut path = vec![start];
            let mut pending = vec![(start, 0usize)];
            let mut done = vec![false; raw.len()];
            while let Some((current, next)) = pending.pop() {
                if next == 0 {
                    if done[current] {
                        path.pop();
                        continue;
                    }
                    let entry = &raw[current];
                    for (rule, _) in &entry.allow {
                        grants.add(rule, false);
                    }
                    for (rule, _) in &entry.deny {
                        grants.add(rule, true);
                    }
                }
                let Some((included, line)) = raw[current].includes.get(next) else {
                    done[current] = true;
                    path.pop();
                    continue;
                };
                pending.push((current, next + 1));
                let included = index[included.as_str()];
                if path.contains(&included) {
                    let mut cycle: Vec<String> =
                        path.iter().map(|i| raw[*i].name.0.clone()).collect();
                    cycle.push(raw[included].name.0.clone());
                    return Err(error(*line, AclProblem::IncludeCycle(cycle.join(" -> "))));
                }
                if !done[included] {
                    path.push(included);
                    pending.push((included, 0));
                }
            }
            roles.insert(role.name.0.as_str().into(), grants);
        }
        let has_denies = roles.values().any(RoleGrants::has_denies);
        let entries =
            |list: &[(String, Option<u64>)]| list.iter().map(|(e, _)| e.as_str().into()).collect();
        let own = raw
            .iter()
            .map(|role| {
                let own = OwnEntries {
                    allow: entries(&role.allow),
                    deny: entries(&role.deny),
                    includes: entries(&role.includes),
                };
                (role.name.0.as_str().into(), own)
            })
            .collect();
        Ok(AclMap {
            roles,
            descriptions: HashMap::default(),
            has_denies,
            revision: Box::default(),
            own,
            memo_id: super::memo::next_map_id(),
        })
    }
}
