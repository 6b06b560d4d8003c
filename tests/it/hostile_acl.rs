//! Hostile ACL files: each is refused at start-up with a clear error, and a reload keeps the
//! last good map in force.

use crate::common::*;
use tokenleader_rbac::reload::ReloadError;
use tokenleader_rbac::{Enforcer, Error, acl::AclError, acl::AclProblem};

const GOOD: &str = "- name: role1\n  allow:\n  - service1:first_api:rulename1\n";

/// Refused by `build()`, then refused by a reload while the good map stays; returns the error.
fn refused(content: &[u8]) -> AclError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("role_to_acl_map.yml");
    std::fs::write(&path, content).unwrap();
    let start = Enforcer::builder()
        .public_key(trusted_public())
        .acl_file(&path)
        .build();
    let Err(Error::Input(ReloadError::Acl(start_error))) = start else {
        panic!("start-up accepted it: {start:?}")
    };
    assert_eq!(start_error.path(), Some(path.as_path()));

    std::fs::write(&path, GOOD).unwrap();
    let enforcer = Enforcer::builder()
        .public_key(trusted_public())
        .acl_file(&path)
        .watch(false)
        .build()
        .unwrap();
    std::fs::write(&path, content).unwrap();
    let reload_error = enforcer.reload().unwrap_err();
    assert_eq!(
        reload_error.to_string(),
        start_error.to_string(),
        "the same error at start and on reload"
    );
    assert!(
        enforcer
            .decide(&["role1".to_owned()], FIRST_RULE)
            .is_allowed(),
        "the good map stays"
    );
    assert_eq!(enforcer.acl_status().generation, 1);
    start_error
}

fn message(error: &AclError) -> String {
    error.to_string()
}

#[test]
fn deeply_nested_flow_lists() {
    let yaml = format!(
        "- name: role1\n  allow: {}a{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let error = refused(yaml.as_bytes());
    assert_eq!(error.line(), Some(2), "{error}");
    assert!(matches!(error.problem(), AclProblem::Invalid(_)));
}

#[test]
fn an_alias_bomb() {
    // Each level refers to the one before ten times: expanded, a billion rules.
    let mut yaml = String::from(
        "- name: role1\n  allow: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..=9 {
        let refs = vec![format!("*l{}", level - 1); 10].join(", ");
        yaml.push_str(&format!(
            "- name: role{}\n  allow: &l{level} [{refs}]\n",
            level + 1
        ));
    }
    let error = refused(yaml.as_bytes());
    assert!(matches!(error.problem(), AclProblem::Invalid(_)), "{error}");
}

#[test]
fn many_aliases_of_a_scalar() {
    // Linear, but past the alias budget of a file that should need none.
    let refs = vec!["*r"; 5_000].join(", ");
    let yaml = format!("- name: role1\n  allow: [&r rule, {refs}]\n");
    let error = refused(yaml.as_bytes());
    assert!(message(&error).contains("alias"), "{error}");
}

#[test]
fn tabs_for_indentation() {
    let error = refused(b"- name: role1\n\tallow: [a]\n");
    assert!(message(&error).contains("tab"), "{error}");
    assert!(error.line().is_some());
}

#[test]
fn a_scalar_where_the_list_belongs() {
    let error = refused(b"- name: role1\n  allow: service1:first_api:rulename1\n");
    assert_eq!(error.line(), Some(2));
}

#[test]
fn a_null_allow() {
    assert_eq!(refused(b"- name: role1\n  allow:\n").line(), Some(2));
    assert_eq!(refused(b"- name: role1\n  allow: ~\n").line(), Some(2));
}

#[test]
fn tilde_as_a_role_name() {
    let error = refused(b"- name: ~\n  allow: [a]\n");
    assert_eq!(error.line(), Some(1), "{error}");
}

#[test]
fn numbers_and_booleans_must_be_quoted() {
    for (yaml, line) in [
        ("- name: 123\n  allow: [a]\n", 1),
        ("- name: true\n  allow: [a]\n", 1),
        ("- name: yes\n  allow: [a]\n", 1),
        ("- name: role1\n  allow: [1.5]\n", 2),
        ("- name: role1\n  allow:\n  - false\n", 3),
    ] {
        let error = refused(yaml.as_bytes());
        assert_eq!(error.line(), Some(line), "{yaml:?}: {error}");
    }
    // Quoted, they are strings like any other.
    let map =
        tokenleader_rbac::AclMap::from_yaml_str("- name: '123'\n  allow: ['true']\n").unwrap();
    assert!(map.decide(&["123".to_owned()], "true", None).is_allowed());
}

#[test]
fn a_byte_order_mark() {
    let mut content = "\u{feff}".as_bytes().to_vec();
    content.extend_from_slice(GOOD.as_bytes());
    let error = refused(&content);
    assert!(message(&error).contains("byte-order mark"), "{error}");
}

#[test]
fn invalid_utf8() {
    let error = refused(b"- name: role\xff\xfe1\n  allow: [a]\n");
    assert!(message(&error).contains("not UTF-8"), "{error}");
}

#[test]
fn a_ten_megabyte_file() {
    let mut yaml = String::from(GOOD);
    while yaml.len() < 10 * 1024 * 1024 {
        yaml.push_str("  - service1:padding_api:a_rule_to_fill_the_file_up_to_ten_megabytes\n");
    }
    let error = refused(yaml.as_bytes());
    assert!(
        matches!(error.problem(), AclProblem::TooLarge { .. }),
        "{error}"
    );
}

#[test]
fn several_documents() {
    let error = refused(format!("{GOOD}---\n{GOOD}").as_bytes());
    assert!(matches!(error.problem(), AclProblem::Invalid(_)), "{error}");
}

#[test]
fn unknown_tags() {
    let error = refused(b"- name: !python/object:os.system role1\n  allow: [a]\n");
    assert_eq!(error.line(), Some(1), "{error}");
}
