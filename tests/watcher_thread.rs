//! The watcher thread ends with the last Enforcer. Alone in its test binary, so that no other
//! test's watcher is counted.

#![cfg(target_os = "linux")]

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokenleader_rbac::Enforcer;

/// Threads of this process named like the watcher.
fn watcher_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "tl-rbac-watch")
        .count()
}

/// Polls until `count` threads are named like the watcher, within a bound.
fn wait_for_watcher_threads(count: usize) {
    let start = Instant::now();
    // A new thread names itself once it runs, so it may not show at once.
    while watcher_threads() != count {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "expected {count} watcher threads, see {}",
            watcher_threads()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn dropping_every_enforcer_stops_the_watcher_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("role_to_acl_map.yml");
    std::fs::write(&path, fixture("tokenleader/role_to_acl_map.yml")).unwrap();
    assert_eq!(watcher_threads(), 0);

    let enforcer = Enforcer::builder()
        .public_key(trusted_public())
        .acl_file(&path)
        .build()
        .unwrap();
    let clone = enforcer.clone();
    wait_for_watcher_threads(1);
    drop(enforcer);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(watcher_threads(), 1, "a clone is still alive");

    drop(clone);
    wait_for_watcher_threads(0);

    // Without watching, no thread is started at all.
    let _unwatched = Enforcer::builder()
        .public_key(trusted_public())
        .acl_file(&path)
        .watch(false)
        .build()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(watcher_threads(), 0);
}
