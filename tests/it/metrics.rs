//! Metrics through the `metrics` facade: decisions, cache, verification time, reloads,
//! revocations; no token or user name in any label.

#![cfg(feature = "metrics")]

use crate::common::*;
use http::HeaderMap;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tokenleader_rbac::revocation::MemoryRevocation;
use tokenleader_rbac::telemetry;

/// One recorded metric: name, labels, value.
type Record = (String, Vec<(String, String)>, DebugValue);

/// Runs `f` with a recorder of its own; returns what it recorded.
fn recorded(f: impl FnOnce()) -> Vec<Record> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, f);
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let labels = key
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            (key.key().name().to_owned(), labels, value)
        })
        .collect()
}

fn counter(records: &[Record], name: &str, labels: &[(&str, &str)]) -> u64 {
    records
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, value)| match value {
            DebugValue::Counter(count) => *count,
            _ => 0,
        })
        .sum()
}

#[test]
fn decisions_cache_and_verification_time_are_recorded() {
    let enforcer = fixture_builder().build().unwrap();
    let records = recorded(|| {
        let _ = enforcer.authorize(&headers(&fixture_token("token_user1")), FIRST_RULE);
        let _ = enforcer.authorize(&headers(&fixture_token("token_user1")), FIRST_RULE);
        let _ = enforcer.authorize(&headers(&fixture_token("token_admin")), FIRST_RULE);
        let _ = enforcer.authorize(&headers(&fixture_token("token_user3")), FIRST_RULE);
        let _ = enforcer.authorize(&headers(&fixture_token("token_user1_expired")), FIRST_RULE);
        let _ = enforcer.authorize(&HeaderMap::new(), FIRST_RULE);
    });
    let decisions = telemetry::DECISIONS;
    assert_eq!(
        counter(
            &records,
            decisions,
            &[("outcome", "allowed"), ("reason", "granted")]
        ),
        2
    );
    assert_eq!(
        counter(
            &records,
            decisions,
            &[("outcome", "allowed"), ("reason", "admin")]
        ),
        1
    );
    assert_eq!(
        counter(
            &records,
            decisions,
            &[("outcome", "forbidden"), ("reason", "no_grant")]
        ),
        1
    );
    assert_eq!(
        counter(
            &records,
            decisions,
            &[("outcome", "unauthenticated"), ("reason", "expired")]
        ),
        1
    );
    assert_eq!(
        counter(
            &records,
            decisions,
            &[("outcome", "unauthenticated"), ("reason", "missing")]
        ),
        1
    );
    let cache = telemetry::TOKEN_CACHE;
    assert_eq!(counter(&records, cache, &[("result", "hit")]), 1);
    assert_eq!(counter(&records, cache, &[("result", "miss")]), 4);
    let times = records
        .iter()
        .find(|(n, _, _)| n == telemetry::VERIFICATION_SECONDS)
        .map(|(_, _, v)| match v {
            DebugValue::Histogram(values) => values.len(),
            _ => 0,
        });
    assert_eq!(times, Some(4), "one time per full verification");
    for (name, labels, _) in &records {
        for (key, value) in labels {
            assert!(
                !value.contains("user") && !value.contains("eyJ") && !value.contains("service1"),
                "{name} {key}={value}"
            );
        }
    }
}

#[test]
fn reloads_and_revocations_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("role_to_acl_map.yml");
    std::fs::write(&path, fixture("tokenleader/role_to_acl_map.yml")).unwrap();
    let enforcer = test_key_builder()
        .acl_file(&path)
        .watch(false)
        .revocation(MemoryRevocation::new())
        .build()
        .unwrap();
    let records = recorded(|| {
        std::fs::write(&path, "- name: role1\n  allow: [a]\n").unwrap();
        enforcer.reload().unwrap();
        std::fs::write(&path, "").unwrap();
        let _ = enforcer.reload();
        enforcer.revoke_token(&mint(&user1_claims())).unwrap();
        enforcer
            .revoke_user_before("user1", std::time::SystemTime::now())
            .unwrap();
    });
    let reloads = telemetry::RELOADS;
    assert_eq!(
        counter(&records, reloads, &[("what", "acl"), ("result", "applied")]),
        1
    );
    assert_eq!(
        counter(&records, reloads, &[("what", "acl"), ("result", "refused")]),
        1
    );
    let revocations = telemetry::REVOCATIONS;
    assert_eq!(counter(&records, revocations, &[("kind", "token")]), 1);
    assert_eq!(counter(&records, revocations, &[("kind", "user")]), 1);
}
