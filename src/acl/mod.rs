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
//! Rules are opaque strings matched exactly (`a:b:c` and `pkg.module.fn` spellings both occur).
//! The map is compiled into a hash index once, so a decision costs a lookup per role of the
//! caller, whatever the size of the map.

mod error;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use foldhash::fast::RandomState;
use serde::Deserialize;
use serde_saphyr::Spanned;

pub use error::{AclError, AclProblem};
pub(crate) use error::{AclOrigin, yaml_error};

use crate::file::{ReadFileError, read_bounded};

/// ACL files larger than this are refused: a real map is a few kilobytes.
pub const MAX_ACL_FILE_BYTES: u64 = 1024 * 1024;

/// A validated, compiled ACL map. Cheap to share behind an `Arc`; immutable once built.
#[derive(Debug, Clone)]
pub struct AclMap {
    // foldhash: the keys are role and rule names from the operator's file and from verified
    // tokens, so a fast hasher is safe here and keeps a decision in tens of nanoseconds.
    rules_by_role: HashMap<Box<str>, Rules, RandomState>,
    /// The `description` of each role that has one (kept for reports, never decided on).
    descriptions: HashMap<Box<str>, Box<str>, RandomState>,
}

type Rules = HashSet<Box<str>, RandomState>;

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
}

impl Decision<'_> {
    /// True for [`Decision::Admin`] and [`Decision::Granted`].
    pub fn is_allowed(&self) -> bool {
        !matches!(self, Decision::Denied)
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
    allow: Vec<Spanned<String>>,
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
            rules_by_role: HashMap::default(),
            descriptions: HashMap::default(),
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
        let entries = entries.into_iter().map(|entry| {
            let allow = entry
                .allow
                .into_iter()
                .map(|rule| (rule.value, Some(rule.referenced.line())));
            (
                (entry.name.value, Some(entry.name.referenced.line())),
                allow,
            )
        });
        let mut map = Self::compile(entries, origin)?;
        map.descriptions = descriptions;
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
        let entries = grants.into_iter().map(|(role, rules)| {
            let allow = rules.into_iter().map(|rule| (rule.into(), None));
            ((role.into(), None), allow)
        });
        Self::compile(entries, AclOrigin::Text)
    }

    /// Validates the entries (each name with the line it is on, when it has one) and builds
    /// the index.
    fn compile<I>(
        entries: impl IntoIterator<Item = ((String, Option<u64>), I)>,
        origin: AclOrigin,
    ) -> Result<Self, AclError>
    where
        I: IntoIterator<Item = (String, Option<u64>)>,
    {
        let error = |line, problem| AclError::new(origin.clone(), line, problem);
        let mut rules_by_role: HashMap<Box<str>, Rules, RandomState> = HashMap::default();
        for ((name, line), allow) in entries {
            if name.is_empty() {
                return Err(error(line, AclProblem::EmptyRoleName));
            }
            if rules_by_role.contains_key(name.as_str()) {
                return Err(error(line, AclProblem::DuplicateRole(name)));
            }
            let mut rules = Rules::default();
            for (rule, rule_line) in allow {
                if rule.is_empty() {
                    return Err(error(rule_line, AclProblem::EmptyRule(name)));
                }
                rules.insert(rule.into_boxed_str());
            }
            rules_by_role.insert(name.into_boxed_str(), rules);
        }
        if rules_by_role.is_empty() {
            return Err(error(None, AclProblem::Empty));
        }
        Ok(AclMap {
            rules_by_role,
            descriptions: HashMap::default(),
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
        roles
            .iter()
            .find(|role| self.grants(role, rule))
            .map_or(Decision::Denied, |role| Decision::Granted { role })
    }

    /// Whether `role` lists `rule` (the admin role aside).
    pub fn grants(&self, role: &str, rule: &str) -> bool {
        self.rules_by_role
            .get(role)
            .is_some_and(|rules| rules.contains(rule))
    }

    /// The roles the map lists, in no particular order.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.rules_by_role.keys().map(|role| &**role)
    }

    /// How many roles the map lists.
    pub fn role_count(&self) -> usize {
        self.rules_by_role.len()
    }

    /// How many (role, rule) grants the map holds.
    pub fn grant_count(&self) -> usize {
        self.rules_by_role.values().map(Rules::len).sum()
    }

    /// The `description:` the file gives `role`, if any.
    pub fn description(&self, role: &str) -> Option<&str> {
        self.descriptions.get(role).map(|text| &**text)
    }

    /// The rules `role` is allowed, if the map lists the role.
    pub fn rules_of(&self, role: &str) -> Option<impl Iterator<Item = &str>> {
        self.rules_by_role
            .get(role)
            .map(|rules| rules.iter().map(|rule| &**rule))
    }
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
