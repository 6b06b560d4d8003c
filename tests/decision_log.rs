//! What the decisions log: a refused request's decision id (in the body, a header and the
//! log) and the ACL map's revision (in `acl_status()` and the log), the request id of a
//! refusal, the decision's span, a shadow map's difference, a dry-run let-through. Every test
//! that asserts an event was logged lives here, alone in its test crate, one at a time: they
//! read the log of a scoped `tracing` subscriber, and a test on another thread that meets a
//! log call for the first time while such a subscriber is being installed can leave that call
//! muted for it.

mod common;

use common::*;
use http::StatusCode;
use tokenleader_rbac::acl::AclMap;

/// The tests here read logs: one at a time, so no other thread's events interfere.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds the log to one test until dropped (a test that failed before does not block it).
fn alone() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn a_refused_request_names_its_decision_and_the_map_revision() {
    let _alone = alone();
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

#[test]
fn each_decision_is_a_span_with_its_key_issuer_and_map() {
    let _alone = alone();
    use tracing_subscriber::fmt::format::FmtSpan;
    let issuer = "https://tl.example";
    let enforcer = test_key_builder()
        .public_key(trusted_public().with_kid("k1"))
        .issuer(issuer)
        .build();
    // Two keys of one content: the `kid` picks the second.
    let enforcer = match enforcer {
        Ok(enforcer) => enforcer,
        Err(error) => panic!("{error}"),
    };
    let mut claims = user1_claims();
    claims["iss"] = serde_json::json!(issuer);
    let token = mint_raw(
        r#"{"alg":"RS512","kid":"k1"}"#,
        &claims.to_string(),
        &trusted_issuer(),
        jsonwebtoken::Algorithm::RS512,
    );
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        enforcer.authorize(&headers(&token), FIRST_RULE).unwrap();
        let _ = enforcer.authorize(&headers("garbage"), FIRST_RULE);
    });
    let text = log.text();
    let closes: Vec<&str> = text.lines().filter(|line| line.contains("close")).collect();
    assert_eq!(closes.len(), 2, "{text}");
    let revision = enforcer.acl_status().revision;
    for field in [
        "outcome=\"allowed\"",
        "key_id=\"k1\"",
        &format!("issuer=\"{issuer}\""),
        &revision,
        FIRST_RULE,
    ] {
        assert!(closes[0].contains(field), "{field}: {}", closes[0]);
    }
    assert!(
        closes[1].contains("outcome=\"unauthorized\"")
            && closes[1].contains("reason=\"malformed\""),
        "{}",
        closes[1]
    );
    assert!(!text.contains(&token), "the token is never logged");
}

#[test]
fn the_decision_log_carries_the_request_id() {
    let _alone = alone();
    let enforcer = test_key_builder().build().unwrap();
    let mut headers = headers("not.a.token");
    headers.insert("x-request-id", "support-ticket-7".parse().unwrap());
    let log = logged(|| {
        let _ = enforcer.authorize(&headers, FIRST_RULE);
    });
    assert!(log.contains("request_id=support-ticket-7"), "{log}");
    assert!(log.contains("request refused"), "{log}");
}

#[test]
fn a_shadow_difference_is_logged_with_rule_user_and_both_answers() {
    let _alone = alone();
    let dir = tempfile::tempdir().unwrap();
    let candidate = dir.path().join("role_to_acl_map.next.yml");
    // The fixture map without role1's grant of the first rule.
    std::fs::write(
        &candidate,
        "- name: role1\n  allow:\n  - service1:second_api:rulename2\n",
    )
    .unwrap();
    let enforcer = fixture_builder()
        .shadow_acl_file(&candidate)
        .watch(false)
        .build()
        .unwrap();
    let log = logged(|| {
        enforcer
            .authorize(&headers(&fixture_token("token_user1")), FIRST_RULE)
            .unwrap();
    });
    assert!(
        log.contains("the shadow ACL map decides differently"),
        "{log}"
    );
    assert!(log.contains(&format!("rule=\"{FIRST_RULE}\"")), "{log}");
    assert!(log.contains("user=\"user1\""), "{log}");
    assert!(
        log.contains("enforced=\"allowed\"") && log.contains("candidate=\"denied\""),
        "{log}"
    );
    assert_eq!(enforcer.shadow_report()[0].count, 1);
}

#[test]
fn dry_run_logs_a_warning_for_what_it_lets_through() {
    let _alone = alone();
    let enforcer = fixture_builder().enforce(false).build().unwrap();
    let log = logged(|| {
        enforcer
            .authorize(&headers(&fixture_token("token_user3")), FIRST_RULE)
            .unwrap();
    });
    assert!(
        log.contains("WARN") && log.contains("request let through by dry-run mode"),
        "{log}"
    );
    assert!(log.contains("user=\"user3\""), "{log}");
}

/// Defect 6 of the network-edges issue: an unknown `iss` holding a line break and a forged log
/// line started a line of its own in the standard `fmt` output (`reason = %denial`); so did a
/// quoted `alg` and a claim-type message. Each is now escaped and cut short, in the log and in
/// the body alike.
#[test]
fn attacker_text_never_starts_a_log_line_of_its_own() {
    let _alone = alone();
    use tokenleader_rbac::{Issuer, TokenError};
    let forged = "\nINFO tokenleader_rbac: request allowed user=\"admin\"";
    let enforcer = test_key_builder()
        .trust(Issuer::new("https://idp.example").public_key(trusted_public()))
        .build()
        .unwrap();
    let mut unknown_iss = user1_claims();
    unknown_iss["iss"] = serde_json::json!(format!("https://other{forged}{}", "x".repeat(5000)));
    let bad_alg = mint_raw(
        &serde_json::json!({ "alg": format!("RS512{forged}") }).to_string(),
        &user1_claims().to_string(),
        &trusted_issuer(),
        jsonwebtoken::Algorithm::RS512,
    );
    let mut wrong_type = user1_claims();
    wrong_type["sub"]["wfc"]["id"] = serde_json::json!(format!("1{forged}"));
    let tokens = [mint(&unknown_iss), bad_alg, mint(&wrong_type)];
    let mut messages = Vec::new();
    let log = logged(|| {
        for token in &tokens {
            let denial = enforcer.authorize(&headers(token), FIRST_RULE).unwrap_err();
            assert!(
                matches!(
                    denial.token_error(),
                    Some(
                        TokenError::UnknownIssuer(_)
                            | TokenError::AlgorithmNotAllowed(_)
                            | TokenError::InvalidClaims(_)
                    )
                ),
                "{denial:?}"
            );
            messages.push(denial.to_string());
        }
    });
    for line in log.lines() {
        assert!(
            !line.starts_with("INFO tokenleader_rbac: request allowed"),
            "{log}"
        );
    }
    assert_eq!(log.matches("request refused").count(), 3, "{log}");
    for message in &messages {
        assert!(!message.contains('\n'), "{message}");
        assert!(
            message.contains(r"\nINFO"),
            "escaped, still readable: {message}"
        );
        assert!(message.chars().count() < 300, "cut short: {message}");
        assert!(
            log.contains(message.as_str()),
            "the log quotes the same text: {log}"
        );
    }
}

/// `acl replay`: the decision events carry what a replay needs (roles, rule, outcome, map
/// revision; never the token), and a candidate map is judged by the decisions it would flip.
#[test]
fn logged_decisions_replay_against_a_candidate_map() {
    let _alone = alone();
    use tokenleader_rbac::acl::replay::Replay;
    let enforcer = fixture_builder().build().unwrap();
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let (user1, user3) = (fixture_token("token_user1"), fixture_token("token_user3"));
    tracing::subscriber::with_default(subscriber, || {
        for (token, rule) in [
            (&user1, FIRST_RULE),
            (&user1, FIRST_RULE),
            (&user3, FIRST_RULE),
            (&user3, THIRD_RULE),
        ] {
            let _ = enforcer.authorize(&headers(token), rule);
        }
    });
    let text = log.text();
    assert!(
        !text.contains(&user1) && !text.contains(&user3),
        "never the token"
    );
    assert!(text.contains(r#""roles":"[\"role1\"]""#), "{text}");
    let revision = enforcer.acl_status().revision;
    let decisions: Vec<&str> = text
        .lines()
        .filter(|line| line.contains(r#""roles""#))
        .collect();
    assert_eq!(decisions.len(), 4, "{text}");
    for line in decisions {
        assert!(
            line.contains(&format!(r#""acl_revision":"{revision}""#)),
            "{line}"
        );
    }

    // role1 loses the first rule, role2 gains it.
    let candidate = AclMap::from_yaml_str(&format!(
        "- name: role1\n  allow: [{THIRD_RULE}]\n- name: role2\n  allow: [{FIRST_RULE}, {THIRD_RULE}]\n"
    ))
    .unwrap();
    let replay = Replay::read(text.as_bytes(), &candidate, Some("admin")).unwrap();
    assert_eq!(replay.decisions, 4);
    let flips: Vec<(Vec<String>, String, bool, u64)> = replay
        .flips
        .iter()
        .map(|flip| {
            (
                flip.roles.clone(),
                flip.rule.clone(),
                flip.was_allowed,
                flip.count,
            )
        })
        .collect();
    assert_eq!(
        flips,
        [
            (vec!["role1".to_owned()], FIRST_RULE.to_owned(), true, 2),
            (vec!["role2".to_owned()], FIRST_RULE.to_owned(), false, 1),
        ]
    );
    let unchanged = Replay::read(text.as_bytes(), &fixture_acl(), Some("admin")).unwrap();
    assert!(unchanged.flips.is_empty());

    #[cfg(feature = "cli")]
    {
        let dir = tempfile::tempdir().unwrap();
        let (log_file, map_file) = (
            dir.path().join("decisions.jsonl"),
            dir.path().join("new.yml"),
        );
        std::fs::write(&log_file, &text).unwrap();
        std::fs::write(
            &map_file,
            format!("- name: role1\n  allow: [{THIRD_RULE}]\n- name: role2\n  allow: [{FIRST_RULE}, {THIRD_RULE}]\n"),
        )
        .unwrap();
        let replay = |map: &std::path::Path| {
            std::process::Command::new(env!("CARGO_BIN_EXE_tokenleader-rbac"))
                .args(["acl", "replay", map.to_str().unwrap(), "--decisions"])
                .arg(&log_file)
                .arg("--exit-code")
                .output()
                .unwrap()
        };
        let output = replay(&map_file);
        let out = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{out}");
        assert!(
            out.contains(&format!(
                "2 × [role1] {FIRST_RULE}: allowed, would be denied"
            )),
            "{out}"
        );
        assert!(out.contains("4 decisions replayed"), "{out}");
        let fixture_map = format!(
            "{}/tests/fixtures/tokenleader/role_to_acl_map.yml",
            env!("CARGO_MANIFEST_DIR")
        );
        let output = replay(std::path::Path::new(&fixture_map));
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}
