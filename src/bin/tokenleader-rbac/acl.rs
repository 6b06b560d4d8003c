//! The `acl` commands: `check`, `explain` and `matrix` (a map against the rules a service
//! uses), and the review of a map as code, `test`, `diff` and `replay` (in `policy.rs`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Subcommand;
use tokenleader_rbac::AclMap;
use tokenleader_rbac::acl::Decision;

use crate::matrix::Matrix;
use crate::policy::DiffFormat;
use crate::{Failure, MatrixFormat, error, negative, policy};

#[derive(Subcommand)]
pub(crate) enum AclCommand {
    /// Validate a map; with the rules a service uses, list the rules no role grants and the
    /// grants of rules the service does not use.
    Check {
        /// The ACL file.
        file: PathBuf,
        /// A rule the service uses (repeatable).
        #[arg(long = "rule")]
        rules: Vec<String>,
        /// A file of rules the service uses, one per line (`#` starts a comment).
        #[arg(long)]
        rules_from: Option<PathBuf>,
        /// Exit with 1 when any inconsistency is found.
        #[arg(long)]
        strict: bool,
    },
    /// Print the role × rule matrix: who may do what.
    Matrix {
        /// The ACL file.
        file: PathBuf,
        /// A rule the service uses (repeatable): shown even when no role grants it.
        #[arg(long = "rule")]
        rules: Vec<String>,
        /// A file of rules the service uses, one per line (`#` starts a comment).
        #[arg(long)]
        rules_from: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "md")]
        format: MatrixFormat,
        /// The admin role, shown as allowed everything.
        #[arg(long, default_value = "admin", conflicts_with = "no_admin")]
        admin_role: String,
        /// No admin role.
        #[arg(long)]
        no_admin: bool,
    },
    /// Show the decision for some roles and a rule, and its reason.
    Explain {
        /// The ACL file.
        file: PathBuf,
        /// The caller's roles, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// The rule the route requires.
        #[arg(long)]
        rule: String,
        /// The admin role.
        #[arg(long, default_value = "admin", conflicts_with = "no_admin")]
        admin_role: String,
        /// No admin role.
        #[arg(long)]
        no_admin: bool,
    },
    /// Run test cases against a map: each case's roles, rule and expected answer (`allow` or
    /// `deny`), decided as the service decides. Exit 1 when any case fails.
    Test {
        /// The ACL file.
        file: PathBuf,
        /// The cases file: a YAML list of `{name?, roles, rule, expect}`.
        cases: PathBuf,
        /// Also list the map's grants, denies and includes that no case exercised.
        #[arg(long)]
        coverage: bool,
        /// The admin role.
        #[arg(long, default_value = "admin", conflicts_with = "no_admin")]
        admin_role: String,
        /// No admin role.
        #[arg(long)]
        no_admin: bool,
    },
    /// Every (role, rule) whose answer differs between two maps: `+` gained, `-` lost, with
    /// what grants or denies it; roles added and removed.
    Diff {
        /// The map in force.
        old: PathBuf,
        /// The candidate.
        new: PathBuf,
        /// A file of the service's rules (one per line, or a service_access_policy.yml), compared
        /// besides those the maps name.
        #[arg(long)]
        rules_from: Option<PathBuf>,
        /// Print `{"gained": [...], "lost": [...], ...}`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
        /// Exit with 1 when anything differs (as `git diff --exit-code`).
        #[arg(long)]
        exit_code: bool,
    },
    /// Replay logged decisions (JSON lines of the decision events) against a candidate map;
    /// report each decision it would flip, grouped by roles and rule.
    Replay {
        /// The candidate ACL file.
        file: PathBuf,
        /// The log: JSON lines, as a JSON `tracing` subscriber writes them; `-` for standard
        /// input.
        #[arg(long)]
        decisions: PathBuf,
        /// Exit with 1 when any decision would flip.
        #[arg(long)]
        exit_code: bool,
        /// The admin role.
        #[arg(long, default_value = "admin", conflicts_with = "no_admin")]
        admin_role: String,
        /// No admin role.
        #[arg(long)]
        no_admin: bool,
    },
}

pub(crate) fn run(command: AclCommand) -> Result<(), Failure> {
    match command {
        AclCommand::Check {
            file,
            rules,
            rules_from,
            strict,
        } => acl_check(&file, rules, rules_from, strict),
        AclCommand::Matrix {
            file,
            rules,
            rules_from,
            format,
            admin_role,
            no_admin,
        } => {
            let used = service_rules(rules, rules_from)?;
            let admin = (!no_admin).then_some(admin_role.as_str());
            acl_matrix(&file, &used, format, admin)
        }
        AclCommand::Explain {
            file,
            roles,
            rule,
            admin_role,
            no_admin,
        } => acl_explain(
            &file,
            &roles,
            &rule,
            (!no_admin).then_some(admin_role.as_str()),
        ),
        AclCommand::Test {
            file,
            cases,
            coverage,
            admin_role,
            no_admin,
        } => policy::test(
            &file,
            &cases,
            coverage,
            (!no_admin).then_some(admin_role.as_str()),
        ),
        AclCommand::Diff {
            old,
            new,
            rules_from,
            json,
            format,
            exit_code,
        } => {
            let format = if json { DiffFormat::Json } else { format };
            let rules = service_rules(Vec::new(), rules_from)?;
            policy::diff(&old, &new, &rules, format, exit_code)
        }
        AclCommand::Replay {
            file,
            decisions,
            exit_code,
            admin_role,
            no_admin,
        } => policy::replay(
            &file,
            &decisions,
            exit_code,
            (!no_admin).then_some(admin_role.as_str()),
        ),
    }
}

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
    say!(
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
        say!("{line}");
    }
    let problems = ungranted.len() + unused.len();
    if problems == 0 {
        say!("consistent with the {} rules the service uses", used.len());
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
        say!(
            "note: the map does not list the role(s) {}",
            unknown.join(", ")
        );
    }
    match map.decide(roles, rule, admin_role) {
        Decision::Admin { role } => say!("allowed: `{role}` is the admin role"),
        Decision::Granted { .. } => {
            let granting: Vec<String> = roles
                .iter()
                .map(String::as_str)
                .filter(|role| map.grants(role, rule))
                .map(|role| path_text(&map, role, rule))
                .collect();
            say!(
                "allowed: rule `{rule}` is granted by {}",
                granting.join(", ")
            );
        }
        Decision::Denied => {
            return Err(negative(format!(
                "denied: none of the roles {} grants rule `{rule}`",
                roles.join(", ")
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
        MatrixFormat::Md => say!("{}", matrix.markdown()),
        MatrixFormat::Html => say!("{}", matrix.html()),
    }
    Ok(())
}
