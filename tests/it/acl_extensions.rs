//! The opt-in extensions of the map: `includes`, rule patterns, `deny`; each checked with the
//! file and line, decided in one place, and the tokenleader format unchanged beside them.

use http::StatusCode;
use tokenleader_rbac::acl::{AclMap, AclProblem, Decision};

use crate::common::*;

/// Flarecast's roles as compositions.
const FLARECAST: &str = "\
- name: reader
  allow: [micros1.entries.list, micros1.entries.show]
- name: writer
  allow: ['micros1.entries.*']
- name: moderator
  includes: [reader, writer]
  deny: [micros1.entries.purge]
- name: administrator
  includes: [moderator]
  allow: ['micros1:admin:**']
";

fn roles(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn roles_inherit_their_includes_grants_and_denies() {
    let map = AclMap::from_yaml_str(FLARECAST).unwrap();
    // Decisions borrow the caller's roles: compared by their Debug text.
    let decide =
        |caller: &[&str], rule| format!("{:?}", map.decide(&roles(caller), rule, Some("admin")));
    let expect = |decision: Decision<'_>| format!("{decision:?}");
    assert_eq!(
        decide(&["moderator"], "micros1.entries.list"),
        expect(Decision::Granted { role: "moderator" })
    );
    assert_eq!(
        decide(&["moderator"], "micros1.entries.edit"),
        expect(Decision::Granted { role: "moderator" })
    );
    assert_eq!(
        decide(&["reader"], "micros1.entries.edit"),
        expect(Decision::Denied)
    );
    // The moderator's deny beats the writer's pattern, for administrators too.
    assert_eq!(
        decide(&["moderator"], "micros1.entries.purge"),
        expect(Decision::DeniedBy { role: "moderator" })
    );
    assert_eq!(
        decide(&["administrator"], "micros1.entries.purge"),
        expect(Decision::DeniedBy {
            role: "administrator"
        })
    );
    assert_eq!(
        decide(&["writer", "moderator"], "micros1.entries.purge"),
        expect(Decision::DeniedBy { role: "moderator" })
    );
    assert_eq!(
        decide(&["administrator"], "micros1:admin:users:delete"),
        expect(Decision::Granted {
            role: "administrator"
        })
    );
    // A pattern never matches across another separator.
    assert_eq!(
        decide(&["writer"], "micros1:entries:edit"),
        expect(Decision::Denied)
    );
    assert_eq!(
        decide(&["administrator"], "micros1.admin.users"),
        expect(Decision::Denied)
    );
    // The admin role bypasses the map, denies included; without an admin role nothing does.
    assert_eq!(
        decide(&["admin", "moderator"], "micros1.entries.purge"),
        expect(Decision::Admin { role: "admin" })
    );
    let admin_only = roles(&["admin"]);
    let no_admin = map.decide(&admin_only, "micros1.entries.purge", None);
    assert_eq!(no_admin, Decision::Denied);
    assert!(map.grants("moderator", "micros1.entries.show"));
    assert!(!map.grants("moderator", "micros1.entries.purge"));
}

#[test]
fn broken_extensions_are_refused_with_their_line() {
    let refused = |yaml: &str| AclMap::from_yaml_str(yaml).unwrap_err();
    let error = refused(
        "- name: a\n  includes: [b]\n- name: b\n  includes: [c]\n- name: c\n  includes: [a]\n",
    );
    assert!(
        matches!(error.problem(), AclProblem::IncludeCycle(cycle) if cycle.contains("a -> b -> c -> a")),
        "{error}"
    );
    assert!(error.line().is_some(), "{error}");
    let error = refused("- name: a\n  includes: [a]\n");
    assert!(
        matches!(error.problem(), AclProblem::IncludeCycle(_)),
        "{error}"
    );
    let error = refused("- name: a\n  allow: [x]\n- name: b\n  includes:\n  - a\n  - ghost\n");
    assert_eq!(error.line(), Some(6), "{error}");
    assert!(
        error.to_string().contains("`b` includes `ghost`"),
        "{error}"
    );
    for (yaml, line) in [
        ("- name: a\n  allow:\n  - 'x.**.y'\n", 3),
        ("- name: a\n  allow: [x]\n  deny:\n  - 'x.y*'\n", 4),
        ("- name: a\n  allow: ['x..*']\n", 2),
    ] {
        let error = refused(yaml);
        assert_eq!(error.line(), Some(line), "{yaml}: {error}");
    }
    // A misspelt key is refused where it stands.
    let error = refused("- name: a\n  allow: [x]\n  denny: [y]\n");
    assert_eq!(error.line(), Some(3), "{error}");
    assert!(error.to_string().contains("denny"), "{error}");
    // A role cut off before its grants is refused, not read as granting nothing.
    assert_eq!(
        refused("- name: a\n  allow: [x]\n- name: b\n").line(),
        Some(3)
    );
    assert!(AclMap::from_yaml_str("- name: a\n  allow: []\n").is_ok());
}

#[tokio::test]
async fn a_deny_is_a_403_through_the_layers() {
    let yaml = "- name: role1\n  allow: ['service1:**']\n  deny: ['service1:third_api:*']\n";
    let enforcer = fixture_builder()
        .acl(AclMap::from_yaml_str(yaml).unwrap())
        .build()
        .unwrap();
    let app = app(enforcer);
    let token = fixture_token("token_user1");
    assert_eq!(
        get_with_token(&app, "/first", &token).await.status,
        StatusCode::OK
    );
    let answer = get_with_token(&app, "/third", &token).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_route_may_require_any_one_of_several_rules() {
    use axum::{Router, routing::get};
    use tokenleader_rbac::layer::RequireAnyRule;
    const EITHER: &[&str] = &[FIRST_RULE, THIRD_RULE];
    let enforcer = fixture_builder().build().unwrap();
    let app = Router::new()
        .route(
            "/either",
            get(|| async { "ok" }).route_layer(RequireAnyRule(EITHER)),
        )
        .layer(enforcer.clone());
    // user1 (role1) holds the first rule, user3 (role2) the third.
    for user in ["token_user1", "token_user3"] {
        let answer = get_with_token(&app, "/either", &fixture_token(user)).await;
        assert_eq!(answer.status, StatusCode::OK, "{user}");
    }
    let narrow = fixture_builder()
        .acl(AclMap::from_yaml_str("- name: role1\n  allow: [other]\n").unwrap())
        .build()
        .unwrap();
    let app = Router::new().route(
        "/either",
        get(|| async { "ok" }).route_layer(narrow.require_any(EITHER)),
    );
    let answer = get_with_token(&app, "/either", &fixture_token("token_user1")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        answer.body["message"],
        format!("none of your roles grants rule `{FIRST_RULE} | {THIRD_RULE}`")
    );
}
