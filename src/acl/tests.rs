//! Generated maps against a naive model of what they mean.

use proptest::prelude::*;

use super::compile::RawRole;
use super::pattern::naive_match;
use super::*;

/// A role of a generated map: what it allows, denies and includes (only roles listed
/// before it, so no cycle).
#[derive(Debug, Clone)]
struct Spec {
    allow: Vec<String>,
    deny: Vec<String>,
    includes: Vec<usize>,
}

fn rule() -> impl Strategy<Value = String> {
    let segment = prop_oneof![Just("a"), Just("b"), Just("c")];
    let separator = prop_oneof![Just("."), Just(":")];
    (
        segment.clone(),
        prop::collection::vec((separator, segment), 0..3),
    )
        .prop_map(|(first, rest)| {
            rest.into_iter()
                .fold(first.to_string(), |text, (sep, seg)| {
                    format!("{text}{sep}{seg}")
                })
        })
}

/// A rule, or a pattern made of one: some segments `*`, maybe a final `**`.
fn entry() -> impl Strategy<Value = String> {
    (rule(), any::<u8>(), any::<bool>()).prop_map(|(rule, stars, double)| {
        let mut out = String::new();
        let mut segments = rule.split_inclusive(['.', ':']).enumerate().peekable();
        while let Some((i, piece)) = segments.next() {
            let (segment, separator) = match piece.strip_suffix(['.', ':']) {
                Some(segment) => (segment, &piece[segment.len()..]),
                None => (piece, ""),
            };
            let last = segments.peek().is_none();
            let replaced = if last && double && i > 0 {
                "**"
            } else if stars & (1 << i) != 0 {
                "*"
            } else {
                segment
            };
            out.push_str(replaced);
            out.push_str(separator);
        }
        out
    })
}

fn specs() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(
        (
            prop::collection::vec(entry(), 0..4),
            prop::collection::vec(entry(), 0..2),
            prop::collection::vec(any::<usize>(), 0..3),
        ),
        1..6,
    )
    .prop_map(|roles| {
        roles
            .into_iter()
            .enumerate()
            .map(|(i, (allow, deny, includes))| Spec {
                allow,
                deny,
                includes: if i == 0 {
                    Vec::new()
                } else {
                    includes.into_iter().map(|n| n % i).collect()
                },
            })
            .collect()
    })
}

/// What a role allows and denies, its includes followed the slow way.
fn effective(specs: &[Spec], role: usize) -> (Vec<String>, Vec<String>) {
    let mut allow = specs[role].allow.clone();
    let mut deny = specs[role].deny.clone();
    for included in &specs[role].includes {
        let (a, d) = effective(specs, *included);
        allow.extend(a);
        deny.extend(d);
    }
    (allow, deny)
}

fn naive_decide(specs: &[Spec], caller: &[usize], rule: &str) -> bool {
    let matches = |entries: &[String]| entries.iter().any(|entry| naive_match(entry, rule));
    let sets: Vec<_> = caller.iter().map(|role| effective(specs, *role)).collect();
    !sets.iter().any(|(_, deny)| matches(deny)) && sets.iter().any(|(allow, _)| matches(allow))
}

fn compile(specs: &[Spec]) -> AclMap {
    let with_lines = |list: &[String]| list.iter().map(|e| (e.clone(), None)).collect();
    let raw = specs.iter().enumerate().map(|(i, spec)| RawRole {
        name: (format!("r{i}"), None),
        allow: with_lines(&spec.allow),
        deny: with_lines(&spec.deny),
        includes: spec
            .includes
            .iter()
            .map(|n| (format!("r{n}"), None))
            .collect(),
    });
    AclMap::compile(raw, AclOrigin::Text).expect("generated maps are valid")
}

proptest! {
    #[test]
    fn the_compiled_map_decides_as_the_naive_evaluator(
        specs in specs(),
        caller in prop::collection::vec(any::<usize>(), 1..4),
        rules in prop::collection::vec(rule(), 1..8),
    ) {
        let map = compile(&specs);
        let caller: Vec<usize> = caller.into_iter().map(|n| n % specs.len()).collect();
        let roles: Vec<String> = caller.iter().map(|n| format!("r{n}")).collect();
        for rule in &rules {
            let compiled = map.decide(&roles, rule, None).is_allowed();
            prop_assert_eq!(compiled, naive_decide(&specs, &caller, rule), "rule {}", rule);
        }
    }
}
