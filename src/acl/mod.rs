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

mod error;
mod pattern;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use foldhash::fast::RandomState;
use serde::Deserialize;
use serde_saphyr::Spanned;

pub use error::{AclError, AclProblem};
pub(crate) use error::{AclOrigin, yaml_error};
pub(crate) use pattern::entry_matches;
use pattern::{PatternSet, check_pattern, is_pattern};

use crate::file::{ReadFileError, read_bounded};

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

type Rules = HashSet<Box<str>, RandomState>;

/// What one role grants and denies, its inherited roles' included.
#[derive(Debug, Clone, Default)]
struct RoleGrants {
    /// The `allow` entries (exact rules and patterns) as written, inherited ones included:
    /// for reports.
    listed: Vec<Box<str>>,
    allow: Rules,
    allow_patterns: PatternSet,
    deny: Rules,
    deny_patterns: PatternSet,
}

impl RoleGrants {
    fn allows(&self, rule: &str) -> bool {
        self.allow.contains(rule) || self.allow_patterns.matches(rule)
    }

    fn denies(&self, rule: &str) -> bool {
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
struct RawRole {
    name: (String, Option<u64>),
    allow: Vec<(String, Option<u64>)>,
    deny: Vec<(String, Option<u64>)>,
    includes: Vec<(String, Option<u64>)>,
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

/// Parser settings for files an operator edits, and that an attacker might: an ACL map is
/// four levels deep and needs no anchors to speak of, so the limits are tight; and a role or
/// rule that YAML would read as a number or boolean (`123`, `yes`, `true`) must be quoted.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = 16;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_documents = 1;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = 100_000;
    options.no_schema = true;
    options.reject_unsupported_tags = true;
    options
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleEntry {
    name: Spanned<String>,
    /// Free text for people (the Python enforcer ignored extra keys; this one is known).
    description: Option<String>,
    /// Required unless the role has `deny` or `includes`: a role cut off before its `allow`
    /// (a truncated file) is refused, not read as granting nothing.
    #[serde(default, deserialize_with = "present")]
    allow: Option<Vec<Spanned<String>>>,
    /// Rules or patterns this role refuses, whatever any role allows.
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    /// Roles whose grants and denies this role has too.
    #[serde(default)]
    includes: Vec<Spanned<String>>,
}

/// A key that is there must hold a list: `allow:` with nothing after it (null) is refused
/// where it stands, as before `allow` became optional.
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Spanned<String>>>, D::Error> {
    Vec::deserialize(deserializer).map(Some)
}

impl AclMap {
    /// Parses and validates an ACL map given as YAML text.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, AclError> {
        Self::parse(yaml, AclOrigin::Text)
    }

    /// Reads, parses and validates an ACL file. Errors name the file and the line. The file
    /// must be a regular file of at most [`MAX_ACL_FILE_BYTES`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, AclError> {
        let path = path.as_ref();
        let bytes = read_acl_file(path)?;
        Self::from_file_bytes(path, &bytes)
    }

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
        }
    }

    /// Parses the content of the ACL file at `path`.
    pub(crate) fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, AclError> {
        let origin = AclOrigin::File(path.to_owned());
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::parse(text, origin),
            Err(e) => {
                let problem = AclProblem::Invalid(format!("not UTF-8 text: {e}"));
                Err(AclError::new(origin, None, problem))
            }
        }
    }

    fn parse(yaml: &str, origin: AclOrigin) -> Result<Self, AclError> {
        let error = |line, problem| AclError::new(origin.clone(), line, problem);
        if yaml.len() as u64 > MAX_ACL_FILE_BYTES {
            let problem = AclProblem::TooLarge {
                max: MAX_ACL_FILE_BYTES,
            };
            return Err(error(None, problem));
        }
        if yaml.starts_with('\u{feff}') {
            let problem = AclProblem::Invalid(
                "the file starts with a byte-order mark: save it as UTF-8 without BOM".into(),
            );
            return Err(error(Some(1), problem));
        }
        let parsed = serde_saphyr::from_str_with_options(yaml, yaml_options());
        let entries: Option<Vec<RoleEntry>> = parsed.map_err(|e| {
            let (line, message) = yaml_error(&e);
            error(line, AclProblem::Invalid(for_people(message)))
        })?;
        let entries = entries.unwrap_or_default();
        let descriptions = entries
            .iter()
            .filter_map(|entry| {
                let description = entry.description.as_deref()?;
                Some((entry.name.value.as_str().into(), description.into()))
            })
            .collect();
        let lines = |list: Vec<Spanned<String>>| {
            list.into_iter()
                .map(|item| (item.value, Some(item.referenced.line())))
                .collect()
        };
        let mut raw = Vec::with_capacity(entries.len());
        for entry in entries {
            let line = Some(entry.name.referenced.line());
            if entry.allow.is_none() && entry.deny.is_empty() && entry.includes.is_empty() {
                let problem = AclProblem::Invalid(format!(
                    "role `{}` has no `allow` (nor `deny` or `includes`): write `allow: []` for a role that allows nothing",
                    entry.name.value
                ));
                return Err(error(line, problem));
            }
            raw.push(RawRole {
                name: (entry.name.value, line),
                allow: lines(entry.allow.unwrap_or_default()),
                deny: lines(entry.deny),
                includes: lines(entry.includes),
            });
        }
        let mut map = Self::compile(raw, origin)?;
        map.descriptions = descriptions;
        map.revision = revision_of(yaml.as_bytes());
        Ok(map)
    }

    /// Builds a map from `(role, rules)` pairs, with the same checks as a file: at least one
    /// role, no role twice, no empty role or rule names. For maps that come from elsewhere
    /// than a YAML file (a database, generated code).
    pub fn from_grants<R, I>(grants: impl IntoIterator<Item = (R, I)>) -> Result<Self, AclError>
    where
        R: Into<String>,
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let entries: Vec<RawRole> = grants
            .into_iter()
            .map(|(role, rules)| RawRole {
                name: (role.into(), None),
                allow: rules.into_iter().map(|rule| (rule.into(), None)).collect(),
                deny: Vec::new(),
                includes: Vec::new(),
            })
            .collect();
        let mut listing = Vec::new();
        for role in &entries {
            listing.extend_from_slice(role.name.0.as_bytes());
            for (rule, _) in &role.allow {
                listing.push(0);
                listing.extend_from_slice(rule.as_bytes());
            }
            listing.push(b'\n');
        }
        let mut map = Self::compile(entries, AclOrigin::Text)?;
        map.revision = revision_of(&listing);
        Ok(map)
    }

    /// The map's revision: the first 16 hex digits of the SHA-256 of its file's bytes (of
    /// its grants, for [`from_grants`](Self::from_grants); `empty` for [`empty`](Self::empty)).
    /// Every decision's log event names it, and `acl_status()` shows it.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// Validates the entries and builds the index: inheritance resolved, exact rules hashed,
    /// patterns in tries.
    fn compile(
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
        })
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

/// The first 16 hex digits of the SHA-256 of `bytes`.
fn revision_of(bytes: &[u8]) -> Box<str> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(bytes);
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()
        .into()
}

/// The parser's message, reworded where it speaks of the parser rather than of the file.
fn for_people(message: String) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("`{key}` is given twice in one role: merge the two");
    }
    if message.starts_with("expected sequence") {
        return "a list is expected here: `allow` must be a list (write `allow: []` for a role \
                that allows nothing), and the file a list of `- name:` entries"
            .into();
    }
    message
}

/// Reads an ACL file through the bounded reader.
pub(crate) fn read_acl_file(path: &Path) -> Result<Vec<u8>, AclError> {
    read_bounded(path, MAX_ACL_FILE_BYTES).map_err(|error| {
        let problem = match error {
            ReadFileError::TooLarge { max } => AclProblem::TooLarge { max },
            other => AclProblem::Read(other.into_io()),
        };
        AclError::new(AclOrigin::File(path.to_owned()), None, problem)
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::pattern::naive_match;
    use super::*;

    /// A role of a generated map: what it allows, denies and includes (only roles listed
    /// before it, so no cycle).
    #[derive(Debug, Clone)]
    struct Spec {
        allow: Vec<String>,
        deny: Vec<String>,
        includes: Vec<usize>,
    }

    fn rule() -> impl Strategy<Value = String> {
        let segment = prop_oneof![Just("a"), Just("b"), Just("c")];
        let separator = prop_oneof![Just("."), Just(":")];
        (
            segment.clone(),
            prop::collection::vec((separator, segment), 0..3),
        )
            .prop_map(|(first, rest)| {
                rest.into_iter()
                    .fold(first.to_string(), |text, (sep, seg)| {
                        format!("{text}{sep}{seg}")
                    })
            })
    }

    /// A rule, or a pattern made of one: some segments `*`, maybe a final `**`.
    fn entry() -> impl Strategy<Value = String> {
        (rule(), any::<u8>(), any::<bool>()).prop_map(|(rule, stars, double)| {
            let mut out = String::new();
            let mut segments = rule.split_inclusive(['.', ':']).enumerate().peekable();
            while let Some((i, piece)) = segments.next() {
                let (segment, separator) = match piece.strip_suffix(['.', ':']) {
                    Some(segment) => (segment, &piece[segment.len()..]),
                    None => (piece, ""),
                };
                let last = segments.peek().is_none();
                let replaced = if last && double && i > 0 {
                    "**"
                } else if stars & (1 << i) != 0 {
                    "*"
                } else {
                    segment
                };
                out.push_str(replaced);
                out.push_str(separator);
            }
            out
        })
    }

    fn specs() -> impl Strategy<Value = Vec<Spec>> {
        prop::collection::vec(
            (
                prop::collection::vec(entry(), 0..4),
                prop::collection::vec(entry(), 0..2),
                prop::collection::vec(any::<usize>(), 0..3),
            ),
            1..6,
        )
        .prop_map(|roles| {
            roles
                .into_iter()
                .enumerate()
                .map(|(i, (allow, deny, includes))| Spec {
                    allow,
                    deny,
                    includes: if i == 0 {
                        Vec::new()
                    } else {
                        includes.into_iter().map(|n| n % i).collect()
                    },
                })
                .collect()
        })
    }

    /// What a role allows and denies, its includes followed the slow way.
    fn effective(specs: &[Spec], role: usize) -> (Vec<String>, Vec<String>) {
        let mut allow = specs[role].allow.clone();
        let mut deny = specs[role].deny.clone();
        for included in &specs[role].includes {
            let (a, d) = effective(specs, *included);
            allow.extend(a);
            deny.extend(d);
        }
        (allow, deny)
    }

    fn naive_decide(specs: &[Spec], caller: &[usize], rule: &str) -> bool {
        let matches = |entries: &[String]| entries.iter().any(|entry| naive_match(entry, rule));
        let sets: Vec<_> = caller.iter().map(|role| effective(specs, *role)).collect();
        !sets.iter().any(|(_, deny)| matches(deny)) && sets.iter().any(|(allow, _)| matches(allow))
    }

    fn compile(specs: &[Spec]) -> AclMap {
        let with_lines = |list: &[String]| list.iter().map(|e| (e.clone(), None)).collect();
        let raw = specs.iter().enumerate().map(|(i, spec)| RawRole {
            name: (format!("r{i}"), None),
            allow: with_lines(&spec.allow),
            deny: with_lines(&spec.deny),
            includes: spec
                .includes
                .iter()
                .map(|n| (format!("r{n}"), None))
                .collect(),
        });
        AclMap::compile(raw, AclOrigin::Text).expect("generated maps are valid")
    }

    proptest! {
        #[test]
        fn the_compiled_map_decides_as_the_naive_evaluator(
            specs in specs(),
            caller in prop::collection::vec(any::<usize>(), 1..4),
            rules in prop::collection::vec(rule(), 1..8),
        ) {
            let map = compile(&specs);
            let caller: Vec<usize> = caller.into_iter().map(|n| n % specs.len()).collect();
            let roles: Vec<String> = caller.iter().map(|n| format!("r{n}")).collect();
            for rule in &rules {
                let compiled = map.decide(&roles, rule, None).is_allowed();
                prop_assert_eq!(compiled, naive_decide(&specs, &caller, rule), "rule {}", rule);
            }
        }
    }
}
