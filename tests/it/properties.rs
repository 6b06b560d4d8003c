//! Property tests: hostile input never panics and never allows; the compiled ACL decision
//! equals a naive reference.

use std::collections::HashSet;

use crate::common::*;
use axum::body::Body;
use http::{HeaderValue, Request, StatusCode};
use proptest::prelude::*;
use tokenleader_rbac::{AclMap, acl::Decision};
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

proptest! {
    #[test]
    fn arbitrary_bytes_as_a_token_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let enforcer = test_key_builder().build().unwrap();
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(enforcer.verify(&text).is_err());
        prop_assert!(enforcer.verify_jws(&text).is_err());
    }

    #[test]
    fn arbitrary_token_shaped_text_is_refused(
        header in "[A-Za-z0-9_=+/-]{0,60}",
        payload in "[A-Za-z0-9_=+/-]{0,200}",
        signature in "[A-Za-z0-9_=+/-]{0,400}",
    ) {
        let enforcer = test_key_builder().build().unwrap();
        let token = format!("{header}.{payload}.{signature}");
        prop_assert!(enforcer.verify(&token).is_err());
    }

    #[test]
    fn arbitrary_header_values_never_allow(
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        bearer in any::<bool>(),
    ) {
        let Ok(value) = HeaderValue::from_bytes(&bytes) else { return Ok(()) };
        let app = app(test_key_builder().build().unwrap());
        let name = if bearer { "authorization" } else { "x-auth-token" };
        let mut request = Request::get("/first").body(Body::empty()).unwrap();
        request.headers_mut().insert(name, value);
        let status = runtime().block_on(app.oneshot(request)).unwrap().status();
        prop_assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn yaml_ish_text_never_panics_the_acl_parser(text in r"[-a-z0-9:._ \n\t\[\]{},&*!|>'#~?@%`]{0,300}") {
        let _ = AclMap::from_yaml_str(&text);
        let _ = AclMap::from_yaml_str(&format!("- name: r\n  allow:\n{text}"));
    }

    #[test]
    fn the_compiled_decision_equals_a_naive_one(
        grants in proptest::collection::vec(("r[0-9]", proptest::collection::vec("x[0-9]", 0..5)), 1..8),
        roles in proptest::collection::vec("r[0-9]|admin", 0..5),
        rule in "x[0-9]",
        admin_on in any::<bool>(),
    ) {
        // The map builder refuses duplicate roles: keep the first of each.
        let mut seen = HashSet::new();
        let grants: Vec<(String, Vec<String>)> = grants.into_iter().filter(|(role, _)| seen.insert(role.clone())).collect();
        let map = AclMap::from_grants(grants.clone()).unwrap();
        let admin = admin_on.then_some("admin");

        let naive = roles.iter().any(|role| {
            Some(role.as_str()) == admin
                || grants.iter().any(|(name, rules)| name == role && rules.contains(&rule))
        });
        let decision = map.decide(&roles, &rule, admin);
        prop_assert_eq!(decision.is_allowed(), naive);
        match decision {
            Decision::Admin { role } => prop_assert_eq!(Some(role), admin),
            Decision::Granted { role } => {
                prop_assert!(roles.iter().any(|r| r == role));
                prop_assert!(grants.iter().any(|(name, rules)| name == role && rules.contains(&rule)));
            }
            // These maps have no `deny:`.
            Decision::Denied | Decision::DeniedBy { .. } => {
                prop_assert_eq!(decision, Decision::Denied);
            }
        }
    }
}
