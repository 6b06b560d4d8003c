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
    assert_eq!(watcher_threads(), 1);
    drop(enforcer);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(watcher_threads(), 1, "a clone is still alive");

    drop(clone);
    let start = Instant::now();
    while watcher_threads() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the watcher thread is still running"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Without watching, no thread is started at all.
    let _unwatched = Enforcer::builder()
        .public_key(trusted_public())
        .acl_file(&path)
        .watch(false)
        .build()
        .unwrap();
    assert_eq!(watcher_threads(), 0);
}
