//! Real decisions replayed against a candidate map: the decision events the service logged
//! (with a JSON subscriber) are read line by line, each decided again with the candidate, and
//! the ones whose answer would flip are counted by roles and rule.
//!
//! The events are those of target `tokenleader_rbac::enforcer::record`: a refused request
//! (`info`) and an allowed one (`debug`: enable it, e.g. `RUST_LOG=tokenleader_rbac::enforcer::record=debug`)
//! carry `rule` (the rule, or a route's rules joined with ` | `), `roles` (the caller's, a JSON
//! array in a string), `outcome` (`allowed`, `forbidden`, `allowed (dry run)`) and
//! `acl_revision`; never the token. Both of `tracing_subscriber`'s JSON layouts are read: the
//! fields under `"fields"`, or flattened. Other lines, and events without `roles` (requests
//! refused before any decision), are skipped; a line longer than 64 KiB is skipped unread.
//!
//! ```
//! use tokenleader_rbac::acl::{AclMap, replay::Replay};
//!
//! let log = r#"{"level":"DEBUG","fields":{"message":"","rule":"micros1.entries.list","roles":"[\"reader\"]","outcome":"allowed","acl_revision":"0123456789abcdef"},"target":"tokenleader_rbac::enforcer::record"}"#;
//! let candidate = AclMap::from_yaml_str("- name: reader\n  allow: []\n")?;
//! let replay = Replay::read(log.as_bytes(), &candidate, Some("admin"))?;
//! assert_eq!((replay.decisions, replay.flips.len()), (1, 1));
//! assert_eq!(replay.flips[0].count, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use serde::Deserialize;

use super::AclMap;

/// The longest line read; longer ones are skipped.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Decisions the candidate would answer otherwise, for one (roles, rule) and direction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Flip {
    /// The caller's roles.
    pub roles: Vec<String>,
    /// The rule (or a route's rules joined with ` | `).
    pub rule: String,
    /// Whether the logged decision allowed it (and the candidate would deny it).
    pub was_allowed: bool,
    /// How many logged decisions flip so.
    pub count: u64,
}

/// What a replay found.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Replay {
    /// The decisions read.
    pub decisions: u64,
    /// The lines skipped: not a decision event, unreadable, or too long.
    pub skipped: u64,
    /// The decisions that would flip, by roles, rule and direction, most frequent first.
    pub flips: Vec<Flip>,
}

#[derive(Deserialize)]
struct Line {
    fields: Option<Fields>,
    #[serde(flatten)]
    flat: Fields,
}

#[derive(Deserialize, Default)]
struct Fields {
    rule: Option<String>,
    roles: Option<String>,
    outcome: Option<String>,
}

impl Replay {
    /// Reads the JSON lines of `log`, streamed, and decides each decision again with
    /// `candidate` (`admin_role` bypasses it, as in the service).
    pub fn read(
        log: impl Read,
        candidate: &AclMap,
        admin_role: Option<&str>,
    ) -> std::io::Result<Self> {
        let mut reader = BufReader::new(log);
        let mut replay = Replay::default();
        let mut flips: BTreeMap<(Vec<String>, String, bool), u64> = BTreeMap::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = (&mut reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            if !line.ends_with(b"\n") && read > MAX_LINE_BYTES {
                replay.skipped += 1;
                // The rest of the long line, unread into memory.
                skip_line(&mut reader)?;
                continue;
            }
            let Some((roles, rule, was_allowed)) = decision(&line) else {
                replay.skipped += 1;
                continue;
            };
            replay.decisions += 1;
            let rules: Vec<&str> = rule.split(" | ").collect();
            let (_, now) = candidate.decide_any(&roles, &rules, admin_role);
            if now.is_allowed() != was_allowed {
                *flips.entry((roles, rule, was_allowed)).or_default() += 1;
            }
        }
        replay.flips = flips
            .into_iter()
            .map(|((roles, rule, was_allowed), count)| Flip {
                roles,
                rule,
                was_allowed,
                count,
            })
            .collect();
        replay
            .flips
            .sort_by_key(|flip| std::cmp::Reverse(flip.count));
        Ok(replay)
    }
}

/// The roles, rule and outcome of a decision event; `None` for another line.
fn decision(line: &[u8]) -> Option<(Vec<String>, String, bool)> {
    let line: Line = serde_json::from_slice(line).ok()?;
    let fields = match line.fields {
        Some(fields) if fields.rule.is_some() => fields,
        _ => line.flat,
    };
    let roles: Vec<String> = serde_json::from_str(fields.roles.as_deref()?).ok()?;
    let allowed = match fields.outcome.as_deref()? {
        "allowed" => true,
        // Dry run lets through what the map denied: the map's answer was no.
        "forbidden" | "allowed (dry run)" => false,
        _ => return None,
    };
    Some((roles, fields.rule?, allowed))
}

/// Reads past the end of the current line without keeping it.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|byte| *byte == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(());
            }
            None => {
                let length = buffer.len();
                reader.consume(length);
            }
        }
    }
}
