//! [`AclError`]: an ACL map that could not be read or is invalid, with its file and line.

use std::path::{Path, PathBuf};
use std::{fmt, io};

/// An ACL map that could not be read or is invalid. `Display` names the origin (file) and the
/// line where the problem is, e.g.
/// `ACL file role_to_acl_map.yml line 7: role `role2` listed twice`.
#[derive(Debug, thiserror::Error)]
#[error("{origin}{}: {problem}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct AclError {
    origin: AclOrigin,
    line: Option<u64>,
    #[source]
    problem: AclProblem,
}

impl AclError {
    pub(crate) fn new(origin: AclOrigin, line: Option<u64>, problem: AclProblem) -> Self {
        AclError {
            origin,
            line,
            problem,
        }
    }

    /// The 1-based line the problem is on, when there is one.
    pub fn line(&self) -> Option<u64> {
        self.line
    }

    /// The file the map came from (`None` for a map given as text).
    pub fn path(&self) -> Option<&Path> {
        match &self.origin {
            AclOrigin::File(path) | AclOrigin::Cases(path) => Some(path),
            AclOrigin::Text => None,
        }
    }

    /// What is wrong.
    pub fn problem(&self) -> &AclProblem {
        &self.problem
    }
}

/// Where an ACL map came from.
#[derive(Debug, Clone)]
pub(crate) enum AclOrigin {
    File(PathBuf),
    /// A file of test cases (`acl::testing`).
    Cases(PathBuf),
    Text,
}

impl fmt::Display for AclOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AclOrigin::File(path) => write!(f, "ACL file {}", path.display()),
            AclOrigin::Cases(path) => write!(f, "test cases file {}", path.display()),
            AclOrigin::Text => f.write_str("ACL map"),
        }
    }
}

/// What is wrong with an ACL map.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AclProblem {
    /// The file could not be read (missing, unreadable, or not a regular file).
    #[error("cannot read: {0}")]
    Read(#[source] io::Error),
    /// The file is larger than the size cap.
    #[error("larger than the {max} bytes allowed")]
    TooLarge {
        /// The cap.
        max: u64,
    },
    /// The file is empty or holds only comments.
    #[error("no roles: the file is empty or holds only comments (a map lists `- name: …` entries)")]
    Empty,
    /// Not valid YAML, or not the expected shape (unknown key, wrong type, missing field).
    #[error("{0}")]
    Invalid(String),
    /// The same role is listed twice.
    #[error("role `{0}` listed twice")]
    DuplicateRole(String),
    /// A role's name is empty.
    #[error("role name is empty")]
    EmptyRoleName,
    /// A rule is empty.
    #[error("role `{0}` allows an empty rule")]
    EmptyRule(String),
    /// A role includes a role the map does not list.
    #[error("role `{role}` includes `{included}`, which the map does not list")]
    UnknownInclude {
        /// The including role.
        role: String,
        /// The missing role.
        included: String,
    },
    /// Roles include each other in a circle.
    #[error("roles include each other in a circle: {0}")]
    IncludeCycle(String),
}

/// The line of a YAML error and its message without the location that serde-saphyr appends
/// (the callers put the line in front).
pub(crate) fn yaml_error(error: &serde_saphyr::Error) -> (Option<u64>, String) {
    let location = error.location();
    let mut message = error.without_snippet().to_string();
    if let Some(l) = location {
        let suffix = format!(" at line {}, column {}", l.line(), l.column());
        if message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
    }
    (location.map(|l| l.line()), message)
}
