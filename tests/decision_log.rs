//! A refused request's decision id (in the body, a header and the log) and the ACL map's
//! revision (in `acl_status()` and the log). Alone in its test crate: it reads the log of a
//! scoped `tracing` subscriber, which tests running beside it on other threads could keep
//! from seeing the events.

mod common;

use common::*;
use http::StatusCode;
use tokenleader_rbac::acl::AclMap;

#[test]
fn a_refused_request_names_its_decision_and_the_map_revision() {
    use axum::body::Body;
    use axum::http::Request;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let enforcer = fixture_builder().build().unwrap();
    let revision = enforcer.acl_status().revision;
    assert_eq!(revision.len(), 16);
    assert_eq!(revision, fixture_acl().revision());
    assert_ne!(
        revision,
        AclMap::from_yaml_str("- name: other\n  allow: [x]\n")
            .unwrap()
            .revision()
    );
    let app = app(enforcer);
    let forbidden = |request_id: Option<&str>| {
        let mut request =
            Request::get("/first").header("x-auth-token", fixture_token("token_user3"));
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        request.body(Body::empty()).unwrap()
    };
    let mut answers = Vec::new();
    let log = logged(|| {
        runtime.block_on(async {
            answers.push(send(&app, forbidden(Some("support-42"))).await);
            answers.push(send(&app, forbidden(None)).await);
        })
    });
    let (given, made) = (&answers[0], &answers[1]);
    assert_eq!(given.status, StatusCode::FORBIDDEN);
    assert_eq!(given.body["decision_id"], "support-42");
    assert_eq!(given.headers["x-decision-id"], "support-42");
    let made_id = made.body["decision_id"].as_str().unwrap();
    assert!(made_id.starts_with("tlr-"), "{made_id}");
    assert_eq!(made.headers["x-decision-id"], made_id);
    for id in ["support-42", made_id] {
        let line = log
            .lines()
            .find(|line| line.contains(id))
            .unwrap_or_else(|| panic!("{log}"));
        assert!(line.contains(&revision), "{line}");
        assert!(line.contains("forbidden"), "{line}");
    }
}
