//! Reading an ACL map: the YAML file (bounded, strict, errors with their line) or grants
//! given in code, into the entries [`compile`](super::compile) checks and indexes.

use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::compile::RawRole;
use super::{AclError, AclMap, AclOrigin, AclProblem, MAX_ACL_FILE_BYTES, yaml_error};
use crate::file::{ReadFileError, read_bounded};

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
            error(line, AclProblem::Invalid(for_people(message, yaml)))
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
fn for_people(message: String, yaml: &str) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("`{key}` is given twice in one role: merge the two");
    }
    if message.starts_with("expected sequence") {
        // The whole file is one mapping (no `- ` before the first role), or a role's list.
        let first = yaml
            .lines()
            .map(str::trim_start)
            .find(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with("---"));
        if first.is_some_and(|line| !line.starts_with('-')) {
            return "the file must be a list of roles, each starting with `- name:` (`- name: role1` / `  allow: [rule]`), not a mapping".into();
        }
        return "a list is expected here: `allow` (and `deny`, `includes`) must be a list; write `allow: []` for a role that allows nothing"
            .into();
    }
    message
}

pub(crate) fn read_acl_file(path: &Path) -> Result<Vec<u8>, AclError> {
    read_bounded(path, MAX_ACL_FILE_BYTES).map_err(|error| {
        let problem = match error {
            ReadFileError::TooLarge { max } => AclProblem::TooLarge { max },
            other => AclProblem::Read(other.into_io()),
        };
        AclError::new(AclOrigin::File(path.to_owned()), None, problem)
    })
}
