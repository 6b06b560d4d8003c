//! `acl check`, `acl explain`, `acl matrix`: ACL maps checked against the rules a service uses.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tokenleader_rbac::AclMap;
use tokenleader_rbac::acl::Decision;

use crate::matrix::Matrix;
use crate::{Failure, MatrixFormat, error, negative};

/// The rules a service uses: from `--rule` and from `--rules-from` (a list of rules, one per
/// line, or a `service_access_policy.yml`, as `--print-rules` writes it).
pub(crate) fn service_rules(
    mut rules: Vec<String>,
    rules_from: Option<PathBuf>,
) -> Result<Vec<String>, Failure> {
    let is_yaml = |path: &PathBuf| {
        path.extension()
            .is_some_and(|extension| extension == "yml" || extension == "yaml")
    };
    if let Some(path) = rules_from.as_ref().filter(|path| is_yaml(path)) {
        let policy = tokenleader_rbac::rules::AccessPolicy::from_file(path).map_err(error)?;
        rules.extend(policy.rule_names().map(str::to_owned));
        return Ok(rules);
    }
    if let Some(path) = rules_from {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
        rules.extend(
            text.lines()
                .map(|line| line.split('#').next().unwrap_or_default().trim())
                .filter(|line| !line.is_empty())
                .map(str::to_owned),
        );
    }
    Ok(rules)
}

pub(crate) fn acl_check(
    file: &PathBuf,
    rules: Vec<String>,
    rules_from: Option<PathBuf>,
    strict: bool,
) -> Result<(), Failure> {
    let map = AclMap::from_file(file).map_err(error)?;
    let rules = service_rules(rules, rules_from)?;
    println!(
        "{}: valid, {} roles, {} grants",
        file.display(),
        map.role_count(),
        map.grant_count()
    );
    if rules.is_empty() {
        return Ok(());
    }
    let used: BTreeSet<&str> = rules.iter().map(String::as_str).collect();
    let mut granted = BTreeSet::new();
    let mut unused = Vec::new();
    let mut roles: Vec<&str> = map.roles().collect();
    roles.sort_unstable();
    for role in roles {
        let mut role_rules: Vec<&str> = map.rules_of(role).into_iter().flatten().collect();
        role_rules.sort_unstable();
        for rule in role_rules {
            granted.insert(rule);
            if !used.contains(rule) {
                unused.push(format!(
                    "role `{role}` grants `{rule}`, which the service does not use"
                ));
            }
        }
    }
    let ungranted: Vec<String> = used
        .iter()
        .filter(|rule| !granted.contains(*rule))
        .map(|rule| format!("rule `{rule}` is granted by no role (only the admin role can use it)"))
        .collect();
    for line in ungranted.iter().chain(&unused) {
        println!("{line}");
    }
    let problems = ungranted.len() + unused.len();
    if problems == 0 {
        println!("consistent with the {} rules the service uses", used.len());
        Ok(())
    } else if strict {
        let noun = if problems == 1 {
            "inconsistency"
        } else {
            "inconsistencies"
        };
        Err(negative(format!("{problems} {noun}")))
    } else {
        Ok(())
    }
}

pub(crate) fn acl_explain(
    file: &PathBuf,
    roles: &[String],
    rule: &str,
    admin_role: Option<&str>,
) -> Result<(), Failure> {
    let map = AclMap::from_file(file).map_err(error)?;
    let unknown: Vec<&str> = roles
        .iter()
        .map(String::as_str)
        .filter(|role| Some(*role) != admin_role && map.rules_of(role).is_none())
        .collect();
    if !unknown.is_empty() {
        println!(
            "note: the map does not list the role(s) {}",
            unknown.join(", ")
        );
    }
    match map.decide(roles, rule, admin_role) {
        Decision::Admin { role } => println!("allowed: `{role}` is the admin role"),
        Decision::Granted { .. } => {
            let granting: Vec<String> = roles
                .iter()
                .map(String::as_str)
                .filter(|role| map.grants(role, rule))
                .map(|role| path_text(&map, role, rule))
                .collect();
            println!(
                "allowed: rule `{rule}` is granted by {}",
                granting.join(", ")
            );
        }
        Decision::Denied => {
            return Err(negative(format!(
                "denied: none of the roles {roles:?} grants rule `{rule}`"
            )));
        }
        Decision::DeniedBy { role } => {
            return Err(negative(format!(
                "denied: {} denies rule `{rule}` (a deny beats every allow)",
                path_text(&map, role, rule)
            )));
        }
    }
    Ok(())
}

/// `role` and how it comes to the rule: `` `moderator` (through `writer`, pattern `micros1.*`) ``.
pub(crate) fn path_text(map: &AclMap, role: &str, rule: &str) -> String {
    let Some(path) = map.explain(role, rule) else {
        return format!("`{role}`");
    };
    let mut how = Vec::new();
    if path.inherited() {
        let through: Vec<String> = path.roles[1..].iter().map(|r| format!("`{r}`")).collect();
        how.push(format!("through {}", through.join(" → ")));
    }
    if path.by_pattern() {
        how.push(format!("pattern `{}`", path.entry));
    }
    match how.is_empty() {
        true => format!("`{role}`"),
        false => format!("`{role}` ({})", how.join(", ")),
    }
}

pub(crate) fn acl_matrix(
    file: &PathBuf,
    used: &[String],
    format: MatrixFormat,
    admin: Option<&str>,
) -> Result<(), Failure> {
    let map = AclMap::from_file(file).map_err(error)?;
    let matrix = Matrix::new(
        format!("ACL matrix of {}", file.display()),
        &map,
        used,
        admin,
    );
    match format {
        MatrixFormat::Md => println!("{}", matrix.markdown()),
        MatrixFormat::Html => println!("{}", matrix.html()),
    }
    Ok(())
}
