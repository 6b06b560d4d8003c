//! Shadow ACL maps and dry-run mode: reported, counted, and never changing a response they
//! should not.

use crate::common::*;
use http::StatusCode;
use tokenleader_rbac::{
    Enforcer, EnforcerBuilder, Error, acl::AclProblem, reload::ReloadError,
    rollout::ShadowDifference,
};

struct Files {
    _dir: tempfile::TempDir,
    candidate: std::path::PathBuf,
}

/// The fixture map enforced (as a map), and `candidate` as the shadow file.
fn with_candidate(candidate: &str) -> (Files, EnforcerBuilder) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("role_to_acl_map.next.yml");
    std::fs::write(&path, candidate).unwrap();
    let builder = fixture_builder().shadow_acl_file(&path).watch(false);
    (
        Files {
            _dir: dir,
            candidate: path,
        },
        builder,
    )
}

const DROPS_FIRST_RULE: &str = "- name: role1\n  allow:\n  - service1:second_api:rulename2\n- name: role2\n  allow:\n  - service1:third_api:rulename3\n";

#[tokio::test]
async fn a_candidate_that_drops_a_grant_changes_no_response_but_is_reported() {
    let (_files, builder) = with_candidate(DROPS_FIRST_RULE);
    let enforcer = builder.build().unwrap();
    let app = app(enforcer.clone());
    for _ in 0..3 {
        let answer = get_with_token(&app, "/first", &fixture_token("token_user1")).await;
        assert_eq!(answer.status, StatusCode::OK, "the enforced map decides");
    }
    let report: Vec<_> = enforcer
        .shadow_report()
        .into_iter()
        .map(|d: ShadowDifference| (d.rule, d.enforced_allowed, d.candidate_allowed, d.count))
        .collect();
    assert_eq!(report, [(FIRST_RULE.to_owned(), true, false, 3)]);
    assert_eq!(
        enforcer.shadow_report()[0].to_string(),
        "rule `service1:first_api:rulename1`: 3 requests allowed now would be denied by the candidate map"
    );
    // Its log event: `tests/decision_log.rs`.
}

#[test]
fn a_candidate_that_adds_a_grant_is_reported_too() {
    let candidate = format!(
        "{}  - {FIRST_RULE}\n",
        fixture("tokenleader/role_to_acl_map.yml")
    );
    let (_files, builder) = with_candidate(&candidate);
    let enforcer = builder.build().unwrap();
    let denial = enforcer.authorize(&headers(&fixture_token("token_user3")), FIRST_RULE);
    assert!(
        denial.is_err(),
        "still denied: the candidate changes nothing"
    );
    let report = enforcer.shadow_report();
    assert_eq!(
        (
            report[0].enforced_allowed,
            report[0].candidate_allowed,
            report[0].count
        ),
        (false, true, 1)
    );
}

#[test]
fn identical_maps_report_nothing() {
    let (_files, builder) = with_candidate(&fixture("tokenleader/role_to_acl_map.yml"));
    let enforcer = builder.build().unwrap();
    for name in ["token_user1", "token_user2", "token_user3", "token_admin"] {
        let _ = enforcer.authorize(&headers(&fixture_token(name)), FIRST_RULE);
        let _ = enforcer.authorize(&headers(&fixture_token(name)), THIRD_RULE);
    }
    assert!(enforcer.shadow_report().is_empty());
    assert_eq!(enforcer.shadow_status().unwrap().generation, 1);
}

#[test]
fn a_bad_candidate_leaves_the_enforced_map_alone() {
    let (files, builder) = with_candidate(DROPS_FIRST_RULE);
    let enforcer = builder.build().unwrap();
    std::fs::write(&files.candidate, "- name: role1\n  alow: [x]\n").unwrap();
    let error = enforcer.reload().unwrap_err();
    assert!(error.to_string().contains("line 2"), "{error}");
    let status = enforcer.shadow_status().unwrap();
    let Some(shadow_error) = status.last_error else {
        panic!("the shadow status carries the error")
    };
    assert!(matches!(&*shadow_error, ReloadError::Acl(e) if e.line() == Some(2)));
    assert!(
        enforcer.acl_status().last_error.is_none(),
        "the enforced map is untouched"
    );
    assert!(
        enforcer
            .authorize(&headers(&fixture_token("token_user1")), FIRST_RULE)
            .is_ok()
    );
    // The last good candidate stays in force too.
    let _ = enforcer.authorize(&headers(&fixture_token("token_user1")), FIRST_RULE);
    assert_eq!(enforcer.shadow_report()[0].count, 2);
}

#[test]
fn a_bad_candidate_at_start_up_is_refused() {
    let (_files, builder) = with_candidate("");
    let error = builder.build().unwrap_err();
    assert!(
        matches!(&error, Error::Input(ReloadError::Acl(e)) if matches!(e.problem(), AclProblem::Empty)),
        "{error}"
    );
}

#[tokio::test]
async fn dry_run_lets_a_denied_request_through_and_counts_it() {
    let enforcer = fixture_builder().enforce(false).build().unwrap();
    let app = app(enforcer.clone());
    let answer = get_with_token(&app, "/first", &fixture_token("token_user3")).await;
    assert_eq!(answer.status, StatusCode::OK, "dry run: allowed");
    assert_eq!(answer.body["username"], "user3");
    // Its warning in the log: `tests/decision_log.rs`.
    enforcer
        .authorize(&headers(&fixture_token("token_user3")), FIRST_RULE)
        .unwrap();
    let report = enforcer.dry_run_report();
    assert_eq!((report[0].rule.as_str(), report[0].count), (FIRST_RULE, 2));
}

#[tokio::test]
async fn dry_run_still_refuses_bad_tokens() {
    let enforcer = fixture_builder().enforce(false).build().unwrap();
    let app = app(enforcer.clone());
    let forged = mint(&user1_claims());
    assert_eq!(
        get_with_token(&app, "/first", &forged).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_with_token(&app, "/first", &fixture_token("token_user1_expired"))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let no_token = axum::http::Request::get("/first")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(send(&app, no_token).await.status, StatusCode::UNAUTHORIZED);
    assert!(enforcer.dry_run_report().is_empty());
}

#[test]
fn without_shadow_or_dry_run_nothing_is_reported() {
    let enforcer: Enforcer = fixture_builder().build().unwrap();
    let _ = enforcer.authorize(&headers(&fixture_token("token_user3")), FIRST_RULE);
    assert!(enforcer.shadow_report().is_empty());
    assert!(enforcer.shadow_status().is_none());
    assert!(enforcer.dry_run_report().is_empty());
}

#[test]
fn the_candidate_is_hot_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("role_to_acl_map.next.yml");
    std::fs::write(&path, fixture("tokenleader/role_to_acl_map.yml")).unwrap();
    let enforcer = fixture_builder().shadow_acl_file(&path).build().unwrap();
    let temporary = dir.path().join("next.tmp");
    std::fs::write(&temporary, DROPS_FIRST_RULE).unwrap();
    std::fs::rename(&temporary, &path).unwrap();
    let start = std::time::Instant::now();
    while enforcer.shadow_status().unwrap().generation < 2 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "the candidate was not reloaded"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = enforcer.authorize(&headers(&fixture_token("token_user1")), FIRST_RULE);
    assert_eq!(enforcer.shadow_report().len(), 1);
}
