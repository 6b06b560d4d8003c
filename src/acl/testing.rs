//! Tests of a map itself, as policy engines have them (`opa test`, `cedar run-tests`): cases
//! of roles, a rule and the expected answer, run with the decision code the service runs, and
//! the map's entries no case exercised.
//!
//! ```
//! use tokenleader_rbac::acl::{AclMap, testing::TestCases};
//!
//! let map = AclMap::from_yaml_str("- name: reader\n  allow: ['micros1.entries.*']\n")?;
//! let cases = TestCases::from_yaml_str(
//!     "- roles: [reader]\n  rule: micros1.entries.list\n  expect: allow\n\
//!      - name: readers do not delete\n  roles: [reader]\n  rule: micros1.users.delete\n  expect: deny\n",
//! )?;
//! let report = cases.run(&map, Some("admin"));
//! assert_eq!((report.passed(), report.failed().count()), (2, 0));
//! assert!(report.uncovered.is_empty());
//! # Ok::<(), tokenleader_rbac::acl::AclError>(())
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{AclError, AclMap, AclOrigin, AclProblem, Decision, read_acl_file, yaml_error};

/// The answer a case expects, or got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// The rule is allowed.
    Allow,
    /// The rule is denied.
    Deny,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
        })
    }
}

/// One expected decision: a caller with `roles` asks for `rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestCase {
    /// The case's name; without one, its roles and rule name it.
    pub name: Option<String>,
    /// The caller's roles.
    pub roles: Vec<String>,
    /// The rule asked for.
    pub rule: String,
    /// The answer the map must give.
    pub expect: Expect,
    /// Its line in the cases file.
    pub line: Option<u64>,
}

impl TestCase {
    /// What the case is called: its name, or `roles → rule`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => name.clone(),
            None => format!("[{}] {}", self.roles.join(", "), self.rule),
        }
    }
}

/// A list of cases, as a cases file holds them.
#[derive(Debug, Clone, Default)]
pub struct TestCases(pub Vec<TestCase>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: Option<String>,
    roles: Vec<String>,
    rule: String,
    expect: Expect,
}

impl TestCases {
    /// Reads cases from YAML text: a list of `{name?, roles, rule, expect: allow | deny}`.
    pub fn from_yaml_str(yaml: &str) -> Result<Self, AclError> {
        Self::parse(yaml, AclOrigin::Text)
    }

    /// Reads a cases file (at most 1 MiB, like a map). Errors name the file and the line.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, AclError> {
        let path = path.as_ref();
        let bytes = read_acl_file(path)?;
        let origin = AclOrigin::Cases(path.to_owned());
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let problem = AclProblem::Invalid(format!("not UTF-8 text: {e}"));
            AclError::new(origin.clone(), None, problem)
        })?;
        Self::parse(text, origin)
    }

    fn parse(yaml: &str, origin: AclOrigin) -> Result<Self, AclError> {
        let raw: Option<Vec<Spanned<RawCase>>> = serde_saphyr::from_str(yaml).map_err(|e| {
            let (line, message) = yaml_error(&e);
            AclError::new(origin.clone(), line, AclProblem::Invalid(message))
        })?;
        let cases: Vec<TestCase> = raw
            .unwrap_or_default()
            .into_iter()
            .map(|case| TestCase {
                line: Some(case.referenced.line()),
                name: case.value.name,
                roles: case.value.roles,
                rule: case.value.rule,
                expect: case.value.expect,
            })
            .collect();
        if cases.is_empty() {
            let problem =
                AclProblem::Invalid("no cases: the file lists `- roles: …` entries".into());
            return Err(AclError::new(origin, None, problem));
        }
        Ok(TestCases(cases))
    }

    /// Runs every case against `map` with the service's decision code (`admin_role` bypasses
    /// the map, as in the service), and lists the map's entries no case exercised.
    pub fn run(&self, map: &AclMap, admin_role: Option<&str>) -> TestReport {
        let mut exercised = BTreeSet::new();
        let results = self
            .0
            .iter()
            .map(|case| {
                let decision = map.decide(&case.roles, &case.rule, admin_role);
                let actual = match decision.is_allowed() {
                    true => Expect::Allow,
                    false => Expect::Deny,
                };
                for role in &case.roles {
                    if let Some(path) = map.explain(role, &case.rule) {
                        for pair in path.roles.windows(2) {
                            exercised.insert(Entry::Include {
                                role: pair[0].clone(),
                                included: pair[1].clone(),
                            });
                        }
                        let role = path.roles.last().cloned().unwrap_or_default();
                        exercised.insert(match path.deny {
                            true => Entry::Deny {
                                role,
                                entry: path.entry,
                            },
                            false => Entry::Allow {
                                role,
                                entry: path.entry,
                            },
                        });
                    }
                }
                CaseResult {
                    case: case.clone(),
                    actual,
                    why: why(map, &case.roles, &case.rule, decision),
                }
            })
            .collect();
        let uncovered = entries(map)
            .into_iter()
            .filter(|entry| !exercised.contains(entry))
            .collect();
        TestReport { results, uncovered }
    }
}

/// How `map` decided `rule` for `roles`, as `acl explain` says it.
pub(crate) fn why(map: &AclMap, roles: &[String], rule: &str, decision: Decision<'_>) -> String {
    let path = |role: &str| {
        map.explain(role, rule).map(|path| {
            let kind = if path.deny { "denies" } else { "allows" };
            format!("{} {kind} `{}`", path.roles.join(" → "), path.entry)
        })
    };
    match decision {
        Decision::Admin { role } => format!("`{role}` is the admin role"),
        Decision::Granted { role } | Decision::DeniedBy { role } => {
            path(role).unwrap_or_else(|| format!("role `{role}`"))
        }
        Decision::Denied if roles.is_empty() => "no roles".into(),
        Decision::Denied => format!("no role of [{}] allows it", roles.join(", ")),
    }
}

/// An entry of a map: what a role allows, denies, or includes (its own, as written).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Entry {
    /// `role` allows the rule or pattern `entry`.
    Allow {
        /// The role.
        role: String,
        /// The rule or pattern.
        entry: String,
    },
    /// `role` denies the rule or pattern `entry`.
    Deny {
        /// The role.
        role: String,
        /// The rule or pattern.
        entry: String,
    },
    /// `role` includes `included`.
    Include {
        /// The including role.
        role: String,
        /// The role included.
        included: String,
    },
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Allow { role, entry } => write!(f, "{role} allows {entry}"),
            Entry::Deny { role, entry } => write!(f, "{role} denies {entry}"),
            Entry::Include { role, included } => write!(f, "{role} includes {included}"),
        }
    }
}

/// Every entry of `map`, sorted.
fn entries(map: &AclMap) -> BTreeSet<Entry> {
    let mut all = BTreeSet::new();
    for (role, own) in &map.own {
        let role = role.to_string();
        for entry in &own.allow {
            let entry = entry.to_string();
            all.insert(Entry::Allow {
                role: role.clone(),
                entry,
            });
        }
        for entry in &own.deny {
            let entry = entry.to_string();
            all.insert(Entry::Deny {
                role: role.clone(),
                entry,
            });
        }
        for included in &own.includes {
            let included = included.to_string();
            all.insert(Entry::Include {
                role: role.clone(),
                included,
            });
        }
    }
    all
}

/// One case run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CaseResult {
    /// The case.
    pub case: TestCase,
    /// What the map answered.
    pub actual: Expect,
    /// Why: the path that decided it (`moderator → reader allows micros1.entries.*`).
    pub why: String,
}

impl CaseResult {
    /// Whether the map gave the expected answer.
    pub fn passed(&self) -> bool {
        self.actual == self.case.expect
    }
}

/// The cases run, and the entries none of them exercised.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TestReport {
    /// Each case, in the file's order.
    pub results: Vec<CaseResult>,
    /// The map's grants, denies and includes that no case's decision went through.
    pub uncovered: Vec<Entry>,
}

impl TestReport {
    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|result| result.passed()).count()
    }

    /// The cases that failed.
    pub fn failed(&self) -> impl Iterator<Item = &CaseResult> {
        self.results.iter().filter(|result| !result.passed())
    }
}
