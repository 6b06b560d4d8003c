//! `acl test`, `acl diff`, `acl replay`: a map reviewed as code, on the library's
//! `acl::testing`, `acl::diff` and `acl::replay`.

use std::path::Path;

use tokenleader_rbac::AclMap;
use tokenleader_rbac::acl::diff::MapDiff;
use tokenleader_rbac::acl::replay::Replay;
use tokenleader_rbac::acl::testing::TestCases;

use crate::{Failure, error, negative};

/// How `acl diff` prints.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    /// `+ role rule  (because)` lines.
    Text,
    /// A Markdown review comment.
    Markdown,
    /// JSON (as `--json`).
    Json,
}

/// Runs the cases; prints each failure (name, expected, actual, why) and `N passed, M failed`.
pub(crate) fn test(
    map: &Path,
    cases: &Path,
    coverage: bool,
    admin_role: Option<&str>,
) -> Result<(), Failure> {
    let map = AclMap::from_file(map).map_err(error)?;
    let cases = TestCases::from_file(cases).map_err(error)?;
    let report = cases.run(&map, admin_role);
    for result in report.failed() {
        let line = result
            .case
            .line
            .map(|line| format!(" (line {line})"))
            .unwrap_or_default();
        say!(
            "FAIL {}{line}: expected {}, got {}: {}",
            result.case.label(),
            result.case.expect,
            result.actual,
            result.why
        );
    }
    if coverage {
        for entry in &report.uncovered {
            say!("not exercised: {entry}");
        }
    }
    let failed = report.failed().count();
    say!("{} passed, {failed} failed", report.passed());
    match failed {
        0 => Ok(()),
        _ => Err(negative(format!("{failed} case(s) failed"))),
    }
}

/// Prints what the new map grants and takes away.
pub(crate) fn diff(
    old: &Path,
    new: &Path,
    rules: &[String],
    format: DiffFormat,
    exit_code: bool,
) -> Result<(), Failure> {
    let old = AclMap::from_file(old).map_err(error)?;
    let new = AclMap::from_file(new).map_err(error)?;
    let diff = MapDiff::between(&old, &new, rules);
    match format {
        DiffFormat::Text => diff.to_lines().iter().for_each(|line| say!("{line}")),
        DiffFormat::Markdown => say_raw!("{}", diff.to_markdown()),
        DiffFormat::Json => say!("{}", serde_json::to_string_pretty(&diff).map_err(error)?),
    }
    match exit_code && !diff.is_empty() {
        true => Err(negative(format!(
            "{} gained, {} lost",
            diff.gained.len(),
            diff.lost.len()
        ))),
        false => Ok(()),
    }
}

/// Replays the logged decisions against the candidate map.
pub(crate) fn replay(
    map: &Path,
    decisions: &Path,
    exit_code: bool,
    admin_role: Option<&str>,
) -> Result<(), Failure> {
    let map = AclMap::from_file(map).map_err(error)?;
    let replay = if decisions == Path::new("-") {
        Replay::read(std::io::stdin().lock(), &map, admin_role)
    } else {
        let file = std::fs::File::open(decisions)
            .map_err(|e| error(format!("cannot read {}: {e}", decisions.display())))?;
        Replay::read(file, &map, admin_role)
    }
    .map_err(|e| error(format!("cannot read {}: {e}", decisions.display())))?;
    for flip in &replay.flips {
        let (was, would) = match flip.was_allowed {
            true => ("allowed", "denied"),
            false => ("denied", "allowed"),
        };
        say!(
            "{} × [{}] {}: {was}, would be {would}",
            flip.count,
            flip.roles.join(", "),
            flip.rule
        );
    }
    let flipped: u64 = replay.flips.iter().map(|flip| flip.count).sum();
    say!(
        "{} decisions replayed ({} other lines skipped), {flipped} would flip",
        replay.decisions,
        replay.skipped
    );
    match exit_code && flipped > 0 {
        true => Err(negative(format!("{flipped} decision(s) would flip"))),
        false => Ok(()),
    }
}
