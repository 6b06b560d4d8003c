//! The rules a service uses, recorded as its router is built, against the map in force; and
//! `service_access_policy.yml` written and read. Alone in its test crate: the record is the
//! process's.

mod common;

use axum::{Router, routing::get};
use common::*;
use tokenleader_rbac::layer::RequireAnyRule;
use tokenleader_rbac::rules::{self, AccessPolicy, RuleUse};
use tokenleader_rbac::{AclMap, RequireRule};

const MAP: &str = "\
- name: reader
  allow: [micros1.entries.list, 'micros1:reports:*']
- name: legacy
  allow: [micros0.old.rule]
";

#[test]
fn the_routes_rules_are_checked_against_the_map() {
    let enforcer = test_key_builder()
        .acl(AclMap::from_yaml_str(MAP).unwrap())
        .build()
        .unwrap();
    const REPORTS: &[&str] = &["micros1:reports:daily", "micros1:reports:export"];
    let _app: Router = Router::new()
        .route(
            "/entries",
            get(|| async { "" }).route_layer(RequireRule("micros1.entries.list")),
        )
        .route(
            "/reports",
            get(|| async { "" }).route_layer(RequireAnyRule(REPORTS)),
        )
        .route(
            "/purge",
            get(|| async { "" }).route_layer(enforcer.require("micros1.entries.purge")),
        )
        .layer(enforcer.clone())
        // axum applies route layers when the router gets its state (or is served).
        .with_state(());
    rules::record_route("GET", "/entries", "micros1.entries.list");

    let report = enforcer.rules_report();
    assert_eq!(report.ungranted, ["micros1.entries.purge"]);
    assert_eq!(
        report.unused_grants,
        [("legacy".to_owned(), "micros0.old.rule".to_owned())]
    );

    let policy = AccessPolicy::used();
    let entries = policy
        .rules
        .iter()
        .find(|used| used.rule == "micros1.entries.list")
        .unwrap();
    assert_eq!(
        (entries.method.as_deref(), entries.path.as_deref()),
        (Some("GET"), Some("/entries"))
    );
    let yaml = policy.to_yaml().unwrap();
    assert_eq!(
        AccessPolicy::from_yaml_str(&yaml).unwrap(),
        policy,
        "{yaml}"
    );
}

#[test]
fn the_python_clients_policy_file_reads_in_both_forms() {
    let names = "- \"micros1:firstapi:read_all_entries\"\n\n- \"micros1:firstapi:add_new_entry\"\n";
    let policy = AccessPolicy::from_yaml_str(names).unwrap();
    assert_eq!(
        policy.rule_names().collect::<Vec<_>>(),
        [
            "micros1:firstapi:read_all_entries",
            "micros1:firstapi:add_new_entry"
        ]
    );
    let full =
        "- rule_name: micros1:firstapi:read_single_entry\n  api: /firstapi1/<id>\n  method: GET\n";
    let policy = AccessPolicy::from_yaml_str(full).unwrap();
    assert_eq!(
        policy.rules,
        [RuleUse {
            rule: "micros1:firstapi:read_single_entry".into(),
            path: Some("/firstapi1/<id>".into()),
            method: Some("GET".into()),
        }]
    );
    let error = AccessPolicy::from_yaml_str("- rule_name: x\n  apii: /y\n- [1, 2]\n").unwrap_err();
    assert!(error.line().is_some(), "{error}");
}
