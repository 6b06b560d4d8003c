//! What a change of a map grants and takes away: every (role, rule) whose answer differs
//! between two maps, patterns and includes resolved, with what grants or denies it now.
//!
//! ```
//! use tokenleader_rbac::acl::{AclMap, diff::MapDiff};
//!
//! let old = AclMap::from_yaml_str("- name: reader\n  allow: [micros1.entries.list]\n")?;
//! let new = AclMap::from_yaml_str("- name: reader\n  allow: ['micros1.entries.*']\n")?;
//! let diff = MapDiff::between(&old, &new, &["micros1.entries.delete".to_owned()]);
//! assert_eq!(diff.gained[0].rule, "micros1.entries.delete");
//! assert_eq!(diff.gained[0].because, "reader allows `micros1.entries.*`");
//! assert!(diff.lost.is_empty());
//! # Ok::<(), tokenleader_rbac::acl::AclError>(())
//! ```

use std::collections::BTreeSet;

use serde::Serialize;

use super::AclMap;
use super::pattern::is_pattern;

/// One (role, rule) whose answer changed, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// The role.
    pub role: String,
    /// The rule.
    pub rule: String,
    /// What grants it in the new map (a gain), or what denies it or granted it in the old map
    /// (a loss).
    pub because: String,
}

/// Every (role, rule) whose answer differs between two maps, and the roles added or removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MapDiff {
    /// Granted by the new map, not by the old one.
    pub gained: Vec<Change>,
    /// Granted by the old map, not by the new one.
    pub lost: Vec<Change>,
    /// Roles the new map lists and the old one does not.
    pub roles_added: Vec<String>,
    /// Roles the old map lists and the new one does not.
    pub roles_removed: Vec<String>,
}

impl MapDiff {
    /// Compares `old` and `new` over every rule either names (patterns aside) and `rules`
    /// (the service's own, e.g. from `--print-rules`), for every role of either. A role's
    /// answer is its own (the admin role aside), its includes and denies resolved.
    pub fn between(old: &AclMap, new: &AclMap, rules: &[String]) -> Self {
        let named = |map: &AclMap| -> Vec<String> {
            map.own
                .values()
                .flat_map(|own| own.allow.iter().chain(&own.deny))
                .filter(|entry| !is_pattern(entry))
                .map(|entry| entry.to_string())
                .collect()
        };
        let all_rules: BTreeSet<String> = named(old)
            .into_iter()
            .chain(named(new))
            .chain(rules.iter().cloned())
            .collect();
        let roles_of =
            |map: &AclMap| -> BTreeSet<String> { map.roles().map(str::to_owned).collect() };
        let (old_roles, new_roles) = (roles_of(old), roles_of(new));
        let mut diff = MapDiff {
            roles_added: new_roles.difference(&old_roles).cloned().collect(),
            roles_removed: old_roles.difference(&new_roles).cloned().collect(),
            ..MapDiff::default()
        };
        for role in old_roles.union(&new_roles) {
            for rule in &all_rules {
                match (old.grants(role, rule), new.grants(role, rule)) {
                    (false, true) => diff.gained.push(Change {
                        role: role.clone(),
                        rule: rule.clone(),
                        because: reason(new, role, rule),
                    }),
                    (true, false) => diff.lost.push(Change {
                        role: role.clone(),
                        rule: rule.clone(),
                        because: match new.explain(role, rule).filter(|path| path.deny) {
                            Some(_) => reason(new, role, rule),
                            None if !new.own.contains_key(role.as_str()) => {
                                "the role is gone".into()
                            }
                            None => format!("no longer allowed; was: {}", reason(old, role, rule)),
                        },
                    }),
                    _ => {}
                }
            }
        }
        diff
    }

    /// Whether anything differs.
    pub fn is_empty(&self) -> bool {
        self.gained.is_empty()
            && self.lost.is_empty()
            && self.roles_added.is_empty()
            && self.roles_removed.is_empty()
    }

    /// The difference as lines: `+ role rule  (because)`, `- role rule  (because)`, and the
    /// roles added and removed.
    pub fn to_lines(&self) -> Vec<String> {
        let roles = self
            .roles_added
            .iter()
            .map(|role| format!("+ role {role}"))
            .chain(
                self.roles_removed
                    .iter()
                    .map(|role| format!("- role {role}")),
            );
        let changes = self
            .gained
            .iter()
            .map(|change| ('+', change))
            .chain(self.lost.iter().map(|change| ('-', change)))
            .map(|(sign, change)| {
                format!(
                    "{sign} {} {}  ({})",
                    change.role, change.rule, change.because
                )
            });
        roles.chain(changes).collect()
    }

    /// The difference as Markdown, for a review comment.
    pub fn to_markdown(&self) -> String {
        if self.is_empty() {
            return "No (role, rule) changes its answer.\n".into();
        }
        let mut out = String::new();
        let table = |out: &mut String, title: &str, changes: &[Change]| {
            if changes.is_empty() {
                return;
            }
            out.push_str(&format!(
                "### {title}\n\n| role | rule | because |\n| --- | --- | --- |\n"
            ));
            for change in changes {
                let cell = |text: &str| text.replace('|', "\\|");
                out.push_str(&format!(
                    "| `{}` | `{}` | {} |\n",
                    cell(&change.role),
                    cell(&change.rule),
                    cell(&change.because)
                ));
            }
            out.push('\n');
        };
        table(
            &mut out,
            &format!("Gained ({})", self.gained.len()),
            &self.gained,
        );
        table(&mut out, &format!("Lost ({})", self.lost.len()), &self.lost);
        for (title, roles) in [
            ("Roles added", &self.roles_added),
            ("Roles removed", &self.roles_removed),
        ] {
            if !roles.is_empty() {
                let list: Vec<String> = roles.iter().map(|role| format!("`{role}`")).collect();
                out.push_str(&format!("{title}: {}\n\n", list.join(", ")));
            }
        }
        out
    }
}

/// What in `map` decides `rule` for `role`: `role → included allows entry`.
fn reason(map: &AclMap, role: &str, rule: &str) -> String {
    match map.explain(role, rule) {
        Some(path) => {
            let kind = if path.deny { "denies" } else { "allows" };
            format!("{} {kind} `{}`", path.roles.join(" → "), path.entry)
        }
        None => format!("{role} does not allow it"),
    }
}
