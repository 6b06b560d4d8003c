//! ACL maps with patterns, includes and denies, built from the input, decided against a
//! model written here apart from the crate (patterns matched segment by segment, includes
//! followed transitively, a deny beating every allow): the two must agree on every rule.
//!
//! The input's bytes pick, for up to 4 roles, entries from a small alphabet of segments, so
//! that rules and patterns meet often.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use tokenleader_rbac::AclMap;

const SEGMENTS: [&str; 6] = ["a", "b", "c", "*", "**", ""];
const SEPARATORS: [char; 2] = ['.', ':'];

/// An entry (rule or pattern) of 1 to 3 segments, from 2 bytes.
fn entry(bytes: &[u8]) -> String {
    let (count, seed) = (bytes[0] % 3 + 1, bytes[1]);
    let mut out = String::new();
    for i in 0..count {
        if i > 0 {
            out.push(SEPARATORS[((seed >> i) & 1) as usize]);
        }
        let pick = (bytes[0] / 3).wrapping_add(seed.rotate_left(i.into()));
        out.push_str(SEGMENTS[usize::from(pick % 6)]);
    }
    out
}

fn segments(text: &str) -> Vec<(char, &str)> {
    let mut out = Vec::new();
    let mut separator = '^';
    let mut rest = text;
    loop {
        match rest.find(['.', ':']) {
            Some(at) => {
                out.push((separator, &rest[..at]));
                separator = rest.as_bytes()[at] as char;
                rest = &rest[at + 1..];
            }
            None => {
                out.push((separator, rest));
                return out;
            }
        }
    }
}

/// The model: `*` one non-empty segment, a final `**` one or more, separators equal.
fn model_match(entry: &str, rule: &str) -> bool {
    if !entry.contains('*') {
        return entry == rule;
    }
    let (pattern, rule) = (segments(entry), segments(rule));
    for (i, (separator, segment)) in pattern.iter().enumerate() {
        let Some((rule_separator, rule_segment)) = rule.get(i) else {
            return false;
        };
        if separator != rule_separator {
            return false;
        }
        match *segment {
            "**" => return rule[i..].iter().all(|(_, s)| !s.is_empty()),
            "*" if !rule_segment.is_empty() => {}
            literal if literal == *rule_segment => {}
            _ => return false,
        }
    }
    pattern.len() == rule.len()
}

struct Role {
    name: String,
    allow: Vec<String>,
    deny: Vec<String>,
    includes: Vec<usize>,
}

fn yaml_list(items: impl Iterator<Item = String>) -> String {
    let quoted: Vec<String> = items.map(|item| format!("{item:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

fuzz_target!(|data: &[u8]| {
    let mut roles = Vec::new();
    for (index, chunk) in data.chunks(13).take(4).enumerate() {
        if chunk.len() < 13 {
            break;
        }
        roles.push(Role {
            name: format!("r{index}"),
            allow: chunk[1..7].chunks(2).take(usize::from(chunk[0] % 4)).map(entry).collect(),
            deny: chunk[7..11].chunks(2).take(usize::from(chunk[0] / 4 % 3)).map(entry).collect(),
            includes: (0..4).filter(|bit| chunk[11] >> bit & 1 == 1).collect(),
        });
    }
    let count = roles.len();
    let mut yaml = String::new();
    for role in &roles {
        let includes = role.includes.iter().filter(|i| **i < count).map(|i| format!("r{i}"));
        yaml += &format!(
            "- name: {}\n  allow: {}\n  deny: {}\n  includes: {}\n",
            role.name,
            yaml_list(role.allow.iter().cloned()),
            yaml_list(role.deny.iter().cloned()),
            yaml_list(includes),
        );
    }
    let Ok(map) = AclMap::from_yaml_str(&yaml) else {
        return; // an empty segment, a cycle of includes, a misplaced `**`: refused
    };
    // Includes, transitively.
    let reach = |start: usize| {
        let mut seen = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(role) = stack.pop() {
            for &next in &roles[role].includes {
                if next < count && seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        seen
    };
    let mut rules: BTreeSet<String> = roles
        .iter()
        .flat_map(|role| role.allow.iter().chain(&role.deny))
        .map(|entry| entry.replace("**", "a.b").replace('*', "a"))
        .collect();
    rules.extend(["a", "a.b", "a:b", "a.", "a..b", "b.c.a", "c:a:b"].map(str::to_owned));
    for (index, role) in roles.iter().enumerate() {
        let reached = reach(index);
        let names = vec![role.name.clone()];
        for rule in &rules {
            let matches = |pick: fn(&Role) -> &Vec<String>| {
                reached
                    .iter()
                    .any(|&r| pick(&roles[r]).iter().any(|entry| model_match(entry, rule)))
            };
            let expected = matches(|r| &r.allow) && !matches(|r| &r.deny);
            let decided = map.decide(&names, rule, None).is_allowed();
            assert_eq!(decided, expected, "role {} rule {rule:?} in\n{yaml}", role.name);
        }
    }
});
