//! A verified token's last decision, remembered with it: a client calls one route many times
//! with one token, and the ACL map and the route's rules do not change between its calls, so
//! the role lookups of a decision are made once per token, map and route.
//!
//! A remembered decision is keyed exactly: by the map that made it (each map built gets an id
//! of its own, never reused, so a reload forgets every remembered decision) and by the rules
//! asked for (each list of rules a route or gRPC method requires gets an id, the same for the
//! same rules). The admin role is checked before the memo is read, every time, so the
//! memo holds what the map decided and nothing an enforcer's settings add. When either kind of
//! id runs out (after millions of maps built, or of distinct rules required, by one process),
//! decisions are simply no longer remembered.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::{AclMap, Decision};

/// Ids fit in 24 bits, 0 meaning "not remembered".
const ID_BITS: u32 = 24;
const MAX_ID: u32 = (1 << ID_BITS) - 1;
/// The rule's index in a list of rules, and the role's index in the token's roles.
const RULE_INDEX_BITS: u32 = 4;
const ROLE_INDEX_BITS: u32 = 10;

/// The next id of `counter`, or 0 once the ids are used up.
fn next_id(counter: &AtomicU32) -> u32 {
    let id = counter.fetch_add(1, Ordering::Relaxed);
    if id > MAX_ID {
        // Keep it from wrapping to ids given before.
        counter.store(MAX_ID + 1, Ordering::Relaxed);
        return 0;
    }
    id
}

/// The id of a map just built.
pub(crate) fn next_map_id() -> u32 {
    static MAPS: AtomicU32 = AtomicU32::new(1);
    next_id(&MAPS)
}

/// The id of the rules a route requires: the same rules, the same id, however often a layer
/// is applied (axum applies a route's layers on every request of a router served without its
/// state set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RulesId(u32);

impl RulesId {
    /// Rules whose decisions are not remembered (`Enforcer::authorize`, a gRPC method without
    /// rules of its own, named by the request).
    pub(crate) const NONE: RulesId = RulesId(0);

    /// The id of `rules`, any one of which a route requires.
    pub(crate) fn of(rules: &[&str]) -> RulesId {
        static IDS: Mutex<Ids> = Mutex::new(Ids {
            single: BTreeMap::new(),
            lists: BTreeMap::new(),
        });
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let mut ids = IDS.lock().unwrap_or_else(PoisonError::into_inner);
        // One rule, the usual case, is found without an allocation.
        if let [rule] = rules {
            if let Some(&id) = ids.single.get(*rule) {
                return RulesId(id);
            }
            let id = next_id(&NEXT);
            if id != 0 {
                ids.single.insert((*rule).into(), id);
            }
            return RulesId(id);
        }
        let list: Vec<Box<str>> = rules.iter().map(|&rule| rule.into()).collect();
        if let Some(&id) = ids.lists.get(&list) {
            return RulesId(id);
        }
        let id = next_id(&NEXT);
        if id != 0 {
            ids.lists.insert(list, id);
        }
        RulesId(id)
    }
}

/// The ids given so far: of one rule, and of lists of rules.
struct Ids {
    single: BTreeMap<Box<str>, u32>,
    lists: BTreeMap<Vec<Box<str>>, u32>,
}

/// The last decision for one token: 0 when none, else map id, rules id, the index of the rule
/// that decided, the kind of decision and the index of the role that decided.
#[derive(Debug, Default)]
pub(crate) struct DecisionMemo(AtomicU64);

/// The kinds of decision remembered (an admin decision is never asked of the memo).
const GRANTED: u64 = 1;
const DENIED: u64 = 2;
const DENIED_BY: u64 = 3;

impl AclMap {
    /// [`decide_any`](Self::decide_any), remembered in `memo` for `rules_id`: the first call
    /// for a token decides, the next ones with the same map and rules read the answer.
    pub(crate) fn decide_remembered<'r>(
        &self,
        roles: &'r [String],
        rules: &[&str],
        rules_id: RulesId,
        admin_role: Option<&str>,
        memo: &DecisionMemo,
    ) -> (usize, Decision<'r>) {
        if let Some(role) = roles.iter().find(|role| Some(role.as_str()) == admin_role) {
            return (0, Decision::Admin { role });
        }
        let key = match (self.memo_id, rules_id.0) {
            (0, _) | (_, 0) => return self.decide_any(roles, rules, None),
            (map, rules) => u64::from(map) << ID_BITS | u64::from(rules),
        };
        let remembered = memo.0.load(Ordering::Relaxed);
        if remembered != 0 && remembered >> 16 == key {
            let rule = ((remembered >> 12) & 0xf) as usize;
            let role = (remembered & 0x3ff) as usize;
            let decision = match (remembered >> 10) & 0x3 {
                GRANTED => roles.get(role).map(|role| Decision::Granted { role }),
                DENIED => Some(Decision::Denied),
                DENIED_BY => roles.get(role).map(|role| Decision::DeniedBy { role }),
                _ => None,
            };
            if let Some(decision) = decision {
                return (rule, decision);
            }
        }
        let (rule, decision) = self.decide_any(roles, rules, None);
        let role_index = |role: &str| roles.iter().position(|r| std::ptr::eq(r.as_str(), role));
        let (kind, role) = match decision {
            Decision::Granted { role } => (GRANTED, role_index(role)),
            Decision::DeniedBy { role } => (DENIED_BY, role_index(role)),
            Decision::Denied => (DENIED, Some(0)),
            Decision::Admin { .. } => return (rule, decision),
        };
        if let Some(role) = role
            && role < 1 << ROLE_INDEX_BITS
            && rule < 1 << RULE_INDEX_BITS
        {
            let value = key << 16 | (rule as u64) << 12 | kind << 10 | role as u64;
            memo.0.store(value, Ordering::Relaxed);
        }
        (rule, decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(yaml: &str) -> AclMap {
        AclMap::from_yaml_str(yaml).unwrap()
    }

    const MAP: &str = "- name: reader\n  allow: [entries.list]\n- name: banned\n  allow: [entries.list]\n  deny: [entries.delete]\n";

    fn roles(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn a_remembered_decision_is_the_decision() {
        let acl = map(MAP);
        let memo = DecisionMemo::default();
        let list = RulesId::of(&["entries.list"]);
        let roles = roles(&["other", "reader"]);
        for _ in 0..3 {
            let decided = acl.decide_remembered(&roles, &["entries.list"], list, None, &memo);
            assert_eq!(decided, (0, Decision::Granted { role: "reader" }));
        }
        let delete = RulesId::of(&["entries.delete"]);
        let banned = self::roles(&["banned", "reader"]);
        let memo = DecisionMemo::default();
        for _ in 0..3 {
            let decided = acl.decide_remembered(&banned, &["entries.delete"], delete, None, &memo);
            assert_eq!(decided, (0, Decision::DeniedBy { role: "banned" }));
        }
    }

    #[test]
    fn another_map_or_other_rules_decide_again() {
        let (first, second) = (map(MAP), map("- name: reader\n  allow: [entries.show]\n"));
        let memo = DecisionMemo::default();
        let roles = roles(&["reader"]);
        let list = RulesId::of(&["entries.list"]);
        let show = RulesId::of(&["entries.show"]);
        assert!(
            first
                .decide_remembered(&roles, &["entries.list"], list, None, &memo)
                .1
                .is_allowed()
        );
        // A reload: the same rules, another map.
        assert!(
            !second
                .decide_remembered(&roles, &["entries.list"], list, None, &memo)
                .1
                .is_allowed()
        );
        assert!(
            first
                .decide_remembered(&roles, &["entries.list"], list, None, &memo)
                .1
                .is_allowed()
        );
        // Another route, on the same map.
        assert!(
            !first
                .decide_remembered(&roles, &["entries.show"], show, None, &memo)
                .1
                .is_allowed()
        );
        assert!(
            second
                .decide_remembered(&roles, &["entries.show"], show, None, &memo)
                .1
                .is_allowed()
        );
    }

    #[test]
    fn the_admin_role_is_checked_before_the_memo() {
        let acl = map(MAP);
        let memo = DecisionMemo::default();
        let roles = roles(&["admin"]);
        let list = RulesId::of(&["entries.list"]);
        let denied = acl.decide_remembered(&roles, &["entries.list"], list, None, &memo);
        assert_eq!(denied, (0, Decision::Denied));
        let admin = acl.decide_remembered(&roles, &["entries.list"], list, Some("admin"), &memo);
        assert_eq!(admin, (0, Decision::Admin { role: "admin" }));
    }

    #[test]
    fn rules_without_an_id_are_not_remembered() {
        let acl = map(MAP);
        let memo = DecisionMemo::default();
        let roles = roles(&["reader"]);
        acl.decide_remembered(&roles, &["entries.list"], RulesId::NONE, None, &memo);
        assert_eq!(memo.0.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_same_rules_have_the_same_id() {
        assert_eq!(RulesId::of(&["a.b"]), RulesId::of(&["a.b"]));
        assert_ne!(RulesId::of(&["a.b"]), RulesId::of(&["a.c"]));
        assert_ne!(RulesId::of(&["a.b", "a.c"]), RulesId::of(&["a.b"]));
        assert_ne!(RulesId::of(&["a.b", "a.c"]), RulesId::of(&["a.c", "a.b"]));
        assert_ne!(RulesId::of(&["a.b"]), RulesId::NONE);
    }

    #[test]
    fn used_up_ids_are_zero_and_stay_so() {
        let counter = AtomicU32::new(MAX_ID);
        assert_eq!(next_id(&counter), MAX_ID);
        assert_eq!(next_id(&counter), 0);
        assert_eq!(next_id(&counter), 0);
    }
}
