//! The ACL map: the decisions it gives and the errors it names, with their lines.

use crate::common::*;
use tokenleader_rbac::reload::ReloadError;
use tokenleader_rbac::{AclMap, Enforcer, Error, acl::AclError, acl::AclProblem, acl::Decision};

fn parse_error(yaml: &str) -> AclError {
    AclMap::from_yaml_str(yaml).unwrap_err()
}

#[test]
fn the_real_map_parses_and_decides() {
    let map = fixture_acl();
    assert_eq!(map.role_count(), 2);
    assert_eq!(map.grant_count(), 5);
    let roles = vec!["role2".to_owned(), "role1".to_owned()];
    assert_eq!(
        map.decide(
            &roles,
            "tokenleader.adminops.adminops_restapi.list_users",
            Some("admin")
        ),
        Decision::Granted { role: "role1" }
    );
    assert_eq!(
        map.decide(&roles, "service1:third_api:rulename3", None),
        Decision::Granted { role: "role2" }
    );
    assert_eq!(
        map.decide(&roles, "service1:unknown", Some("admin")),
        Decision::Denied
    );
    assert_eq!(map.decide(&[], FIRST_RULE, Some("admin")), Decision::Denied);
    let admin = vec!["admin".to_owned()];
    assert_eq!(
        map.decide(&admin, "anything", Some("admin")),
        Decision::Admin { role: "admin" }
    );
    assert_eq!(map.decide(&admin, "anything", None), Decision::Denied);
    assert!(map.grants("role2", "service1:third_api:rulename3"));
    assert!(!map.grants("role2", FIRST_RULE));
    assert!(
        !map.grants("admin", FIRST_RULE),
        "the admin role is not in the map"
    );
}

#[test]
fn rules_match_exactly() {
    let map = fixture_acl();
    let roles = vec!["role1".to_owned()];
    for near_miss in [
        "service1:first_api:rulename1 ",
        "Service1:first_api:rulename1",
        "service1:first_api",
        "service1.first_api.rulename1",
    ] {
        assert_eq!(
            map.decide(&roles, near_miss, Some("admin")),
            Decision::Denied,
            "{near_miss:?}"
        );
    }
    let look_alike = vec![
        "Admin".to_owned(),
        "admin ".to_owned(),
        "role1\u{200b}".to_owned(),
    ];
    assert_eq!(
        map.decide(&look_alike, FIRST_RULE, Some("admin")),
        Decision::Denied
    );
}

#[test]
fn duplicate_role_names_its_line() {
    let yaml = "- name: role1\n  allow:\n  - a\n- name: role2\n  allow:\n  - b\n- name: role2\n  allow:\n  - c\n";
    let error = parse_error(yaml);
    assert_eq!(error.line(), Some(7));
    assert!(matches!(error.problem(), AclProblem::DuplicateRole(role) if role == "role2"));
    assert_eq!(
        error.to_string(),
        "ACL map line 7: role `role2` listed twice"
    );
}

#[test]
fn unknown_key_names_its_line() {
    let error = parse_error("- name: role1\n  allow:\n  - a\n- name: role2\n  alow:\n  - b\n");
    assert_eq!(error.line(), Some(5), "{error}");
    assert!(error.to_string().contains("alow"), "{error}");
}

#[test]
fn wrong_types_name_their_line() {
    // a scalar where the list of rules belongs
    let error = parse_error("- name: role1\n  allow: service1:first_api:rulename1\n");
    assert_eq!(error.line(), Some(2), "{error}");
    // a mapping where the role name belongs
    let error = parse_error("- name: role1\n  allow: [a]\n- name: {x: 1}\n  allow: [b]\n");
    assert_eq!(error.line(), Some(3), "{error}");
    // a map at the top instead of a list
    let error = parse_error("role1:\n  allow: [a]\n");
    assert_eq!(error.line(), Some(1), "{error}");
}

#[test]
fn missing_allow_is_an_error() {
    let error = parse_error("- name: role1\n");
    assert!(error.to_string().contains("allow"), "{error}");
}

#[test]
fn invalid_yaml_names_its_line() {
    let error = parse_error("- name: role1\n  allow:\n  - a\n- name: [unclosed\n  allow:\n");
    assert!(matches!(error.problem(), AclProblem::Invalid(_)), "{error}");
    assert!(error.line().is_some_and(|line| line >= 4), "{error}");
}

#[test]
fn empty_and_comment_only_maps_are_refused() {
    for yaml in [
        "",
        "   \n\n",
        "# only a comment\n# and another\n",
        "[]\n",
        "---\n",
    ] {
        let error = parse_error(yaml);
        assert!(
            matches!(error.problem(), AclProblem::Empty),
            "{yaml:?}: {error}"
        );
    }
}

#[test]
fn empty_role_name_and_empty_rule_are_refused() {
    let error = parse_error("- name: ''\n  allow: [a]\n");
    assert!(matches!(error.problem(), AclProblem::EmptyRoleName));
    assert_eq!(error.line(), Some(1));
    let error = parse_error("- name: role1\n  allow:\n  - a\n  - ''\n");
    assert!(matches!(error.problem(), AclProblem::EmptyRule(role) if role == "role1"));
    assert_eq!(error.line(), Some(4));
}

#[test]
fn a_role_with_no_rules_is_allowed_but_grants_nothing() {
    let map = AclMap::from_yaml_str("- name: role1\n  allow: []\n").unwrap();
    assert_eq!(map.role_count(), 1);
    assert_eq!(
        map.decide(&["role1".to_owned()], "a", None),
        Decision::Denied
    );
}

#[test]
fn file_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("role_to_acl_map.yml");
    std::fs::write(
        &path,
        "- name: role1\n  allow: [a]\n- name: role1\n  allow: [b]\n",
    )
    .unwrap();
    let error = AclMap::from_file(&path).unwrap_err();
    assert_eq!(error.path(), Some(path.as_path()));
    assert_eq!(
        error.to_string(),
        format!(
            "ACL file {} line 3: role `role1` listed twice",
            path.display()
        )
    );
}

#[test]
fn build_refuses_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("role_to_acl_map.yml");
    std::fs::write(&path, "").unwrap();
    let error = fixture_builder().acl_file(&path).build().unwrap_err();
    assert!(
        matches!(&error, Error::Input(ReloadError::Acl(e)) if matches!(e.problem(), AclProblem::Empty)),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("ACL file {}", path.display())),
        "{error}"
    );
}

#[test]
fn build_refuses_a_missing_file() {
    let error = fixture_builder()
        .acl_file("/nonexistent/role_to_acl_map.yml")
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, Error::Input(ReloadError::Acl(e)) if matches!(e.problem(), AclProblem::Read(_))),
        "{error}"
    );
}

#[test]
fn build_refuses_an_oversized_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("role_to_acl_map.yml");
    let mut yaml = String::from("- name: role1\n  allow:\n");
    while yaml.len() as u64 <= tokenleader_rbac::acl::MAX_ACL_FILE_BYTES {
        yaml.push_str("  - service1:some_api:some_rule_name_that_is_long\n");
    }
    std::fs::write(&path, yaml).unwrap();
    let error = AclMap::from_file(&path).unwrap_err();
    assert!(
        matches!(error.problem(), AclProblem::TooLarge { .. }),
        "{error}"
    );
}

#[test]
fn build_needs_an_acl() {
    let error = Enforcer::builder()
        .public_key(trusted_public())
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("no ACL map"), "{error}");
}

#[test]
fn set_acl_swaps_the_map_whole() {
    let enforcer = fixture_builder().build().unwrap();
    let before = enforcer.acl();
    enforcer.set_acl(AclMap::from_yaml_str("- name: role9\n  allow: [z]\n").unwrap());
    assert_eq!(
        before.role_count(),
        2,
        "a snapshot taken before stays as it was"
    );
    assert_eq!(enforcer.acl().role_count(), 1);
    assert!(enforcer.acl().rules_of("role1").is_none());
}

#[test]
fn from_grants_builds_and_checks_like_a_file() {
    let map = AclMap::from_grants([("role1", vec!["a", "b"]), ("role2", vec!["c"])]).unwrap();
    assert_eq!((map.role_count(), map.grant_count()), (2, 3));
    assert_eq!(
        map.decide(&["role2".to_owned()], "c", None),
        Decision::Granted { role: "role2" }
    );

    let duplicate = AclMap::from_grants([("role1", vec!["a"]), ("role1", vec!["b"])]).unwrap_err();
    assert!(matches!(duplicate.problem(), AclProblem::DuplicateRole(role) if role == "role1"));
    assert_eq!(duplicate.line(), None);
    let empty = AclMap::from_grants(Vec::<(String, Vec<String>)>::new()).unwrap_err();
    assert!(matches!(empty.problem(), AclProblem::Empty));
    let empty_rule = AclMap::from_grants([("role1", vec![""])]).unwrap_err();
    assert!(matches!(empty_rule.problem(), AclProblem::EmptyRule(_)));
}

#[test]
fn a_description_is_accepted_and_kept() {
    let map = AclMap::from_yaml_str(
        "- name: reader\n  description: reads entries\n  allow: [micros1.entries.list]\n",
    )
    .unwrap();
    assert_eq!(map.description("reader"), Some("reads entries"));
    assert!(map.grants("reader", "micros1.entries.list"));
    let typo = parse_error("- name: reader\n  descripton: x\n  allow: []\n");
    assert_eq!(typo.line(), Some(2), "{typo}");
}

#[test]
fn parser_messages_speak_of_the_file() {
    let empty_allow = parse_error("- name: role1\n  allow:\n").to_string();
    assert!(empty_allow.contains("write `allow: []`"), "{empty_allow}");
    let twice = parse_error("- name: role1\n  allow: [a]\n  allow: [b]\n").to_string();
    assert!(twice.contains("`allow` is given twice"), "{twice}");
    assert!(!twice.contains("DuplicateKeyPolicy"), "{twice}");
}

/// A file that is one mapping (no `- ` before the role) was answered as if `allow` were the
/// mistake; it says the file must be a list of `- name:` entries. A role whose `allow` is not a
/// list still hears about `allow`.
#[test]
fn a_mapping_where_the_file_should_be_a_list_says_so() {
    let error = AclMap::from_yaml_str("# a map\nname: role1\nallow: [rule]\n").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the file must be a list of roles, each starting with `- name:`"),
        "{error}"
    );
    let error = AclMap::from_yaml_str("- name: role1\n  allow: rule\n").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`allow` (and `deny`, `includes`) must be a list"),
        "{error}"
    );
    assert_eq!(error.line(), Some(2), "{error}");
}
