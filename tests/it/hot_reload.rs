//! Hot reload of the ACL file and key files. Each test works in its own temporary folder;
//! waits are bounded polls, never sleeps tuned to pass.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use http::StatusCode;
use tokenleader_rbac::{
    Enforcer, EnforcerBuilder, acl::AclProblem, acl::Decision, reload::ReloadError,
    reload::ReloadEvent,
};

/// Polls `condition` until it holds or the bound passes.
/// A map with one role `role1` that allows `rule`.
fn map_granting(rule: &str) -> String {
    format!("- name: role1\n  allow:\n  - {rule}\n")
}

fn grants(enforcer: &Enforcer, rule: &str) -> bool {
    enforcer.decide(&["role1".to_owned()], rule).is_allowed()
}

fn write_renamed(path: &Path, content: &str) {
    let temporary = path.with_extension("yml.tmp");
    std::fs::write(&temporary, content).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

struct Setup {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn acl_setup(content: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("role_to_acl_map.yml");
    std::fs::write(&path, content).unwrap();
    Setup { _dir: dir, path }
}

fn watched(setup: &Setup) -> EnforcerBuilder {
    Enforcer::builder()
        .public_key(trusted_public())
        .acl_file(&setup.path)
        .clock(at(NOW))
}

#[test]
fn in_place_write_is_applied() {
    let setup = acl_setup(&map_granting("v1"));
    let enforcer = watched(&setup).build().unwrap();
    assert_eq!(enforcer.acl_status().generation, 1);
    std::fs::write(&setup.path, map_granting("v2")).unwrap();
    eventually("v2 in force", || grants(&enforcer, "v2"));
    assert!(!grants(&enforcer, "v1"));
    let status = enforcer.acl_status();
    assert_eq!(status.generation, 2);
    assert_eq!(status.path.as_deref(), Some(setup.path.as_path()));
    assert_eq!((status.roles, status.grants), (1, 1));
    assert!(status.last_error.is_none());
}

#[test]
fn write_temp_then_rename_is_applied() {
    let setup = acl_setup(&map_granting("v1"));
    let enforcer = watched(&setup).build().unwrap();
    write_renamed(&setup.path, &map_granting("v2"));
    eventually("v2 in force", || grants(&enforcer, "v2"));
}

#[cfg(unix)]
#[test]
fn configmap_symlink_swaps_are_each_applied_in_turn() {
    use std::os::unix::fs::symlink;
    // The layout a Kubernetes ConfigMap volume has: the file is a symlink through `..data`,
    // and an update points `..data` at a new timestamped folder.
    let dir = tempfile::tempdir().unwrap();
    let version_dir = |i: usize| {
        let name = format!("..2026_11_22_00_00_{i:02}");
        std::fs::create_dir(dir.path().join(&name)).unwrap();
        std::fs::write(
            dir.path().join(&name).join("role_to_acl_map.yml"),
            map_granting(&format!("v{i}")),
        )
        .unwrap();
        name
    };
    symlink(version_dir(0), dir.path().join("..data")).unwrap();
    let path = dir.path().join("role_to_acl_map.yml");
    symlink("..data/role_to_acl_map.yml", &path).unwrap();

    let enforcer = Enforcer::builder()
        .public_key(trusted_public())
        .acl_file(&path)
        .build()
        .unwrap();
    assert!(grants(&enforcer, "v0"));
    for i in 1..=10 {
        let target = version_dir(i);
        let temporary = dir.path().join("..data_tmp");
        symlink(&target, &temporary).unwrap();
        std::fs::rename(&temporary, dir.path().join("..data")).unwrap();
        eventually(&format!("v{i} in force"), || {
            grants(&enforcer, &format!("v{i}"))
        });
        assert_eq!(enforcer.acl_status().generation, 1 + i as u64);
    }
}

#[test]
fn delete_keeps_the_old_map_and_recreate_applies() {
    let setup = acl_setup(&map_granting("v1"));
    let enforcer = watched(&setup).build().unwrap();
    std::fs::remove_file(&setup.path).unwrap();
    eventually("the deletion reported", || {
        enforcer.acl_status().last_error.is_some()
    });
    assert!(grants(&enforcer, "v1"), "the old map stays in force");
    let error = enforcer.acl_status().last_error.unwrap();
    assert!(
        matches!(&*error, ReloadError::Acl(e) if matches!(e.problem(), AclProblem::Read(_))),
        "{error}"
    );

    std::fs::write(&setup.path, map_granting("v2")).unwrap();
    eventually("v2 in force", || grants(&enforcer, "v2"));
    assert!(
        enforcer.acl_status().last_error.is_none(),
        "the error is cleared"
    );
}

fn assert_refused_then_recovers(bad: &str, expected_line: Option<u64>) {
    let setup = acl_setup(&map_granting("v1"));
    let enforcer = watched(&setup).build().unwrap();
    write_renamed(&setup.path, bad);
    eventually("the refusal reported", || {
        enforcer.acl_status().last_error.is_some()
    });
    assert!(grants(&enforcer, "v1"), "the old map stays in force");
    let status = enforcer.acl_status();
    assert_eq!(status.generation, 1);
    let error = status.last_error.unwrap();
    let ReloadError::Acl(acl_error) = &*error else {
        panic!("not an ACL error: {error}")
    };
    assert_eq!(acl_error.line(), expected_line, "{error}");
    assert_eq!(acl_error.path(), Some(setup.path.as_path()));

    write_renamed(&setup.path, &map_granting("v3"));
    eventually("v3 in force", || grants(&enforcer, "v3"));
    assert!(
        enforcer.acl_status().last_error.is_none(),
        "the error is cleared"
    );
}

#[test]
fn invalid_yaml_is_refused_with_its_line() {
    // `]` cannot start a value
    assert_refused_then_recovers(
        "- name: role1\n  allow: [a]\n- name: role2\n  allow: ]b[\n",
        Some(4),
    );
}

#[test]
fn duplicate_role_is_refused_with_its_line() {
    assert_refused_then_recovers(
        "- name: role1\n  allow: [a]\n- name: role1\n  allow: [b]\n",
        Some(3),
    );
}

#[test]
fn empty_file_is_refused() {
    assert_refused_then_recovers("", None);
}

#[test]
fn truncated_file_is_refused() {
    let full = "- name: role1\n  allow:\n  - a\n- name: role2\n  allow:\n  - b\n";
    let truncated = &full[..full.find("role2").unwrap() + 5];
    assert_refused_then_recovers(truncated, Some(4));
}

#[test]
fn a_burst_of_1000_writes_ends_with_the_last_in_force() {
    let setup = acl_setup(&map_granting("v0"));
    let reloads = Arc::new(AtomicUsize::new(0));
    let counter = reloads.clone();
    let enforcer = watched(&setup)
        .on_reload(move |event: &ReloadEvent<'_>| {
            if matches!(event, ReloadEvent::Applied { .. }) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();
    let start = std::time::Instant::now();
    for i in 1..=1000 {
        write_renamed(&setup.path, &map_granting(&format!("v{i}")));
    }
    eventually("v1000 in force", || grants(&enforcer, "v1000"));
    // The callback is told after the new map is in force: a moment later.
    eventually("the reload reported", || {
        reloads.load(Ordering::SeqCst) >= 1
    });
    // Each reload of a burst waits for 50 ms of quiet (the watcher's debounce), so a burst
    // seen over `elapsed` makes at most one reload per 50 ms of it, however the threads were
    // scheduled (a fixed bound failed once on a busy machine, the burst stretched out).
    let most = 1 + (start.elapsed().as_millis() / 50) as usize;
    let applied = reloads.load(Ordering::SeqCst);
    assert!(
        (1..=most).contains(&applied),
        "{applied} reloads for one burst of 1000 writes seen over {:?}",
        start.elapsed()
    );
}

/// An enforcer on `setup` that reloads only when asked, and the events its callback was told.
fn reloaded_by_hand_telling(setup: &Setup) -> (Enforcer, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let enforcer = watched(setup)
        .watch(false)
        .on_reload(move |event: &ReloadEvent<'_>| log.lock().unwrap().push(event.to_string()))
        .build()
        .unwrap();
    (enforcer, seen)
}

#[test]
fn the_callback_is_told_of_successes_and_failures() {
    let setup = acl_setup(&map_granting("v1"));
    let (enforcer, seen) = reloaded_by_hand_telling(&setup);
    std::fs::write(&setup.path, "- name: role1\n  alow: [x]\n").unwrap();
    let error = enforcer.reload().unwrap_err();
    assert!(error.to_string().contains("line 2"), "{error}");
    let again = enforcer.reload().unwrap_err();
    assert!(
        Arc::ptr_eq(&error, &again),
        "the same refusal is reported, not told twice"
    );
    std::fs::write(&setup.path, map_granting("v2")).unwrap();
    enforcer.reload().unwrap();
    assert!(grants(&enforcer, "v2"));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].starts_with("Acl reload refused, the previous version stays: ACL file"),
        "{}",
        seen[0]
    );
    assert_eq!(seen[1], "Acl reloaded: generation 2 in force");
}

#[test]
fn manual_reload_without_watching() {
    let setup = acl_setup(&map_granting("v1"));
    let enforcer = watched(&setup).watch(false).build().unwrap();
    std::fs::write(&setup.path, map_granting("v2")).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(grants(&enforcer, "v1"), "nothing is watched");
    enforcer.reload().unwrap();
    assert!(grants(&enforcer, "v2"));
    enforcer.reload().unwrap();
    assert_eq!(
        enforcer.acl_status().generation,
        2,
        "an unchanged file is no new generation"
    );
}

#[test]
fn an_oversized_file_is_refused_on_reload() {
    let setup = acl_setup(&map_granting("v1"));
    let enforcer = watched(&setup).watch(false).build().unwrap();
    let mut big = map_granting("v2");
    while (big.len() as u64) <= tokenleader_rbac::acl::MAX_ACL_FILE_BYTES {
        big.push_str("  - filler_rule_to_make_the_file_too_large_for_the_cap\n");
    }
    std::fs::write(&setup.path, big).unwrap();
    let error = enforcer.reload().unwrap_err();
    assert!(
        matches!(&*error, ReloadError::Acl(e) if matches!(e.problem(), AclProblem::TooLarge { .. })),
        "{error}"
    );
    assert!(grants(&enforcer, "v1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_never_denies_and_a_revocation_takes_effect() {
    let setup = acl_setup(&map_granting(FIRST_RULE));
    let enforcer = watched(&setup).build().unwrap();
    let app = app(enforcer.clone());
    let token = mint(&user1_claims());

    // Two valid maps that both grant the probe rule to the probe role, swapped as fast as
    // possible: through the file (watcher) and directly (set_acl).
    let map_a = map_granting(FIRST_RULE);
    let map_b = format!(
        "- name: role2\n  allow: [other]\n- name: role1\n  allow:\n  - unrelated\n  - {FIRST_RULE}\n"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, enforcer, path) = (stop.clone(), enforcer.clone(), setup.path.clone());
        std::thread::spawn(move || {
            let maps = [map_a, map_b];
            let parsed = maps
                .clone()
                .map(|m| tokenleader_rbac::AclMap::from_yaml_str(&m).unwrap());
            let mut swaps = 0usize;
            while !stop.load(Ordering::SeqCst) {
                write_renamed(&path, &maps[swaps % 2]);
                enforcer.set_acl(parsed[swaps % 2].clone());
                swaps += 1;
            }
            swaps
        })
    };

    let deadline = Instant::now() + Duration::from_secs(2);
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (app, token) = (app.clone(), token.clone());
        clients.push(tokio::spawn(async move {
            let (mut ok, mut bad) = (0usize, Vec::new());
            while Instant::now() < deadline {
                let answer = get_with_token(&app, "/first", &token).await;
                if answer.status == StatusCode::OK {
                    ok += 1
                } else {
                    bad.push(answer.status)
                }
            }
            (ok, bad)
        }));
    }
    let mut total = 0;
    for client in clients {
        let (ok, bad) = client.await.unwrap();
        assert!(bad.is_empty(), "denials or errors during reloads: {bad:?}");
        total += ok;
    }
    stop.store(true, Ordering::SeqCst);
    let swaps = swapper.join().unwrap();
    assert!(
        total > 100 && swaps > 100,
        "{total} requests, {swaps} swaps: the test must load both"
    );

    eventually("the swaps settled", || {
        enforcer.reload().is_ok() && grants(&enforcer, FIRST_RULE)
    });
    write_renamed(&setup.path, &map_granting("something_else"));
    let start = Instant::now();
    loop {
        let status = get_with_token(&app, "/first", &token).await.status;
        if status == StatusCode::FORBIDDEN {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            start.elapsed() < WAIT_BOUND,
            "the revocation did not take effect"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn a_rotated_key_file_replaces_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("tl_public_key.pem");
    std::fs::write(&key_path, fixture("test_keys/trusted_public.pem")).unwrap();
    let enforcer = Enforcer::builder()
        .public_key_file(&key_path)
        .acl(fixture_acl())
        .clock(at(NOW))
        .build()
        .unwrap();
    let old_token = mint(&user1_claims());
    let new_token = mint_raw(
        r#"{"alg":"RS512","typ":"JWT"}"#,
        &user1_claims().to_string(),
        &attacker_issuer(),
        jsonwebtoken::Algorithm::RS512,
    );
    assert!(enforcer.verify(&old_token).is_ok());
    assert!(enforcer.verify(&new_token).is_err());

    let temporary = dir.path().join("tl_public_key.pem.tmp");
    std::fs::write(&temporary, fixture("test_keys/attacker_public.pem")).unwrap();
    std::fs::rename(&temporary, &key_path).unwrap();
    eventually("the new key in force", || {
        enforcer.key_status().generation == 2
    });
    assert!(
        enforcer.verify(&new_token).is_ok(),
        "the new key's tokens are accepted"
    );
    assert!(
        enforcer.verify(&old_token).is_err(),
        "the old key's tokens are refused"
    );
    assert_eq!(enforcer.key_status().keys, 1);
}

#[test]
fn a_bad_key_file_keeps_the_current_keys() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("id_rsa.pub");
    std::fs::write(
        &key_path,
        fixture("tokenleader/tokenleader_public_key.ssh-rsa.pub"),
    )
    .unwrap();
    let enforcer = Enforcer::builder()
        .public_key_file(&key_path)
        .acl(fixture_acl())
        .clock(at(FIXTURE_IAT + 60))
        .build()
        .unwrap();
    assert!(enforcer.verify(&fixture_token("token_user1")).is_ok());
    std::fs::write(&key_path, fixture("test_keys/small_1024_public.pem")).unwrap();
    eventually("the refusal reported", || {
        enforcer.key_status().last_error.is_some()
    });
    let error = enforcer.key_status().last_error.unwrap();
    assert!(error.to_string().contains("1024 bits refused"), "{error}");
    assert!(
        enforcer.verify(&fixture_token("token_user1")).is_ok(),
        "the old key stays"
    );
    assert_eq!(enforcer.key_status().generation, 1);
}

#[test]
fn build_is_strict_about_key_files() {
    let error = Enforcer::builder()
        .public_key_file("/nonexistent/id_rsa.pub")
        .acl(fixture_acl())
        .build()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cannot read key file /nonexistent/id_rsa.pub"),
        "{error}"
    );
}

#[test]
fn decisions_carry_their_reason() {
    let enforcer = fixture_builder().build().unwrap();
    let roles = vec!["role2".to_owned(), "admin".to_owned()];
    assert_eq!(
        enforcer.decide(&roles, "x"),
        Decision::Admin { role: "admin" }
    );
    assert_eq!(
        enforcer.decide(&roles[..1], THIRD_RULE),
        Decision::Granted { role: "role2" }
    );
}

/// Writing back the map in force after a refused edit clears the refusal, and says so.
#[test]
fn a_recovery_is_reported_and_told() {
    let setup = acl_setup(&map_granting("v1"));
    let (enforcer, seen) = reloaded_by_hand_telling(&setup);
    std::fs::write(&setup.path, "- name: role1\n  alow: [x]\n").unwrap();
    enforcer.reload().unwrap_err();
    std::fs::write(&setup.path, map_granting("v1")).unwrap();
    enforcer.reload().unwrap();
    assert!(enforcer.acl_status().last_error.is_none());
    assert_eq!(
        enforcer.acl_status().generation,
        1,
        "the same map, not a new one"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[1],
        "Acl file is again the version in force: refusal cleared"
    );
}

/// A key file that holds no key is refused with its path and a message that says so.
#[test]
fn a_refused_key_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_rsa.pub");
    std::fs::write(
        &key,
        fixture("tokenleader/tokenleader_public_key.ssh-rsa.pub"),
    )
    .unwrap();
    let enforcer = Enforcer::builder()
        .public_key_file(&key)
        .acl(fixture_acl())
        .watch(false)
        .build()
        .unwrap();
    std::fs::write(&key, "garbage\n").unwrap();
    let error = enforcer.reload().unwrap_err().to_string();
    assert!(error.contains(&key.display().to_string()), "{error}");
    assert!(
        error.contains("not an OpenSSH, PEM or JWK public key"),
        "{error}"
    );
}
