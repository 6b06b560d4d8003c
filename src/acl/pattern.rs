//! Rule patterns: `*` stands for exactly one segment, a final `**` for one or more; segments
//! are split on `.` and `:` (the two spellings tokenleader rules use), and a pattern matches
//! only where its separators are the rule's. A segment a pattern stands for is never empty:
//! `a.*` does not grant `a.`, nor `a.**` the rule `a..b`. Nothing else is special. Patterns are kept in a
//! segment trie, so matching a rule costs a walk along its segments, whatever the number of
//! patterns.

use std::collections::HashMap;

use foldhash::fast::RandomState;

/// What comes before a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Separator {
    Start,
    Dot,
    Colon,
}

impl Separator {
    fn index(self) -> usize {
        self as usize
    }
}

/// The first segment of `rest` (which follows `separator`), the separator after it, and what
/// follows that.
fn next_segment(rest: &str) -> (&str, Option<(Separator, &str)>) {
    match rest.find(['.', ':']) {
        Some(at) => {
            let separator = match rest.as_bytes()[at] {
                b'.' => Separator::Dot,
                _ => Separator::Colon,
            };
            (&rest[..at], Some((separator, &rest[at + 1..])))
        }
        None => (rest, None),
    }
}

/// Whether `text` is one or more segments, none of them empty (what `**` stands for).
fn nonempty_segments(text: &str) -> bool {
    let mut rest = Some(text);
    while let Some(text) = rest {
        let (segment, after) = next_segment(text);
        if segment.is_empty() {
            return false;
        }
        rest = after.map(|(_, text)| text);
    }
    true
}

/// Whether `rule` is a pattern (holds a `*`).
pub(crate) fn is_pattern(rule: &str) -> bool {
    rule.contains('*')
}

/// Checks a pattern: no empty segment, `*` and `**` only as whole segments, `**` only last.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), String> {
    let mut rest = Some(pattern);
    while let Some(text) = rest {
        let (segment, after) = next_segment(text);
        if segment.is_empty() {
            return Err(format!("pattern `{pattern}` has an empty segment"));
        }
        if segment.contains('*') && segment != "*" && segment != "**" {
            return Err(format!(
                "pattern `{pattern}`: `*` stands for a whole segment (`a.*.c`), not part of one"
            ));
        }
        if segment == "**" && after.is_some() {
            return Err(format!("pattern `{pattern}`: `**` may only end a pattern"));
        }
        rest = after.map(|(_, text)| text);
    }
    Ok(())
}

/// Whether a map entry (a rule or a pattern) covers `rule`.
pub(crate) fn entry_matches(entry: &str, rule: &str) -> bool {
    match is_pattern(entry) {
        true => naive_match(entry, rule),
        false => entry == rule,
    }
}

/// Matches `pattern` against `rule` segment by segment: the naive evaluation (for reports and
/// tests; decisions use the trie).
pub(crate) fn naive_match(pattern: &str, rule: &str) -> bool {
    fn split(text: &str) -> Vec<(Separator, &str)> {
        let mut out = Vec::new();
        let mut separator = Separator::Start;
        let mut rest = Some(text);
        while let Some(text) = rest {
            let (segment, after) = next_segment(text);
            out.push((separator, segment));
            rest = after.map(|(next, text)| {
                separator = next;
                text
            });
        }
        out
    }
    let (pattern, rule) = (split(pattern), split(rule));
    for (i, (separator, segment)) in pattern.iter().enumerate() {
        let Some((rule_separator, rule_segment)) = rule.get(i) else {
            return false;
        };
        if separator != rule_separator {
            return false;
        }
        match *segment {
            "**" => {
                let rest: Vec<&str> = rule[i..].iter().map(|(_, segment)| *segment).collect();
                return rest.iter().all(|segment| !segment.is_empty());
            }
            "*" if !rule_segment.is_empty() => {}
            literal if literal == *rule_segment => {}
            _ => return false,
        }
    }
    pattern.len() == rule.len()
}

/// A set of patterns, as a trie of segments.
#[derive(Debug, Clone, Default)]
pub(crate) struct PatternSet {
    root: Node,
    len: usize,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// Literal segments, per separator before them.
    literal: [HashMap<Box<str>, Node, RandomState>; 3],
    /// `*` after each separator.
    any: [Option<Box<Node>>; 3],
    /// `**` after each separator.
    rest: [bool; 3],
    /// A pattern ends here.
    end: bool,
}

impl PatternSet {
    /// Adds a pattern that [`check_pattern`] accepted.
    pub(crate) fn insert(&mut self, pattern: &str) {
        let mut node = &mut self.root;
        let mut separator = Separator::Start;
        let mut rest = Some(pattern);
        while let Some(text) = rest {
            let (segment, after) = next_segment(text);
            let slot = separator.index();
            node = match segment {
                "**" => {
                    node.rest[slot] = true;
                    self.len += 1;
                    return;
                }
                "*" => node.any[slot].get_or_insert_with(Box::default),
                literal => node.literal[slot].entry(literal.into()).or_default(),
            };
            rest = after.map(|(next, text)| {
                separator = next;
                text
            });
        }
        node.end = true;
        self.len += 1;
    }

    /// How many patterns the set holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether a pattern of the set matches `rule`.
    pub(crate) fn matches(&self, rule: &str) -> bool {
        self.len > 0 && self.root.matches(Separator::Start, rule)
    }
}

impl Node {
    /// Whether a pattern below this node matches `text`, which follows `separator`.
    fn matches(&self, separator: Separator, text: &str) -> bool {
        let slot = separator.index();
        if self.rest[slot] && nonempty_segments(text) {
            return true;
        }
        let (segment, after) = next_segment(text);
        let next = |node: &Node| match after {
            Some((separator, rest)) => node.matches(separator, rest),
            None => node.end,
        };
        self.literal[slot].get(segment).is_some_and(next)
            || (!segment.is_empty() && self.any[slot].as_deref().is_some_and(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> PatternSet {
        let mut set = PatternSet::default();
        for pattern in patterns {
            check_pattern(pattern).unwrap();
            set.insert(pattern);
        }
        set
    }

    #[test]
    fn a_star_is_one_segment_and_a_final_double_star_one_or_more() {
        let s = set(&["micros1.entries.*", "micros1:admin:**"]);
        assert!(s.matches("micros1.entries.list"));
        assert!(!s.matches("micros1.entries.list.all"));
        assert!(!s.matches("micros1.entries"));
        assert!(s.matches("micros1:admin:users"));
        assert!(s.matches("micros1:admin:users:delete"));
        assert!(!s.matches("micros1:admin"));
    }

    #[test]
    fn a_pattern_never_matches_across_another_separator() {
        let s = set(&["micros1.entries.*", "svc:**"]);
        assert!(!s.matches("micros1:entries:list"));
        assert!(!s.matches("micros1.entries:list"));
        assert!(!s.matches("svc.first_api.rule"));
        assert!(s.matches("svc:first_api.rule"));
    }

    /// Defect 8 of the network-edges issue: `a.*` granted `a.`.
    #[test]
    fn a_pattern_never_stands_for_an_empty_segment() {
        let s = set(&["a.*", "b:*:c", "d.**"]);
        for rule in ["a.", "b::c", "d.", "d..x", "d.x.", "d.x::y"] {
            assert!(!s.matches(rule), "{rule}");
        }
        for rule in ["a.x", "b:x:c", "d.x", "d.x.y"] {
            assert!(s.matches(rule), "{rule}");
        }
        for (pattern, rule) in [("a.*", "a."), ("b:*:c", "b::c"), ("d.**", "d..x")] {
            assert!(!naive_match(pattern, rule), "{pattern} {rule}");
        }
        assert!(naive_match("d.**", "d.x.y"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for pattern in ["a.**.c", "a.b*.c", "a..*", "*x", ".*", "a.*."] {
            assert!(check_pattern(pattern).is_err(), "{pattern}");
        }
        for pattern in ["*", "**", "a.*", "*.b:**"] {
            assert!(check_pattern(pattern).is_ok(), "{pattern}");
        }
    }
}
