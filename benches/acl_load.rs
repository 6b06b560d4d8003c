//! The decision on the request path (one `ArcSwap::load` of the ACL map and a lookup per role)
//! with and without the file watcher running, to show that watching costs requests nothing.
//!
//! `cargo bench --bench acl_load`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tokenleader_rbac::{AclMap, Enforcer, PublicKey};

const ACL: &str = include_str!("../tests/fixtures/tokenleader/role_to_acl_map.yml");
const KEY: &str = include_str!("../tests/fixtures/tokenleader/tokenleader_public_key.spki.pem");
const RULE: &str = "service1:third_api:rulename3";

fn builder() -> tokenleader_rbac::EnforcerBuilder {
    Enforcer::builder().public_key(PublicKey::from_pem(KEY.as_bytes()).expect("fixture key"))
}

fn decide(c: &mut Criterion) {
    let roles = vec!["role1".to_owned(), "role2".to_owned()];
    let mut group = c.benchmark_group("decide");

    let unwatched = builder()
        .acl(AclMap::from_yaml_str(ACL).expect("fixture ACL"))
        .build()
        .expect("enforcer");
    group.bench_function("acl_in_memory_no_watcher", |b| {
        b.iter(|| black_box(unwatched.decide(black_box(&roles), black_box(RULE))))
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("role_to_acl_map.yml");
    std::fs::write(&path, ACL).expect("write ACL");
    let watched = builder().acl_file(&path).build().expect("enforcer");
    group.bench_function("acl_file_watcher_idle", |b| {
        b.iter(|| black_box(watched.decide(black_box(&roles), black_box(RULE))))
    });

    // The same while the file is rewritten every 100 ms, so the watcher keeps swapping maps.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let content = format!("{ACL}- name: role{i}\n  allow: [x]\n");
                let temporary = path.with_extension("tmp");
                if std::fs::write(&temporary, content)
                    .and_then(|()| std::fs::rename(&temporary, &path))
                    .is_err()
                {
                    break;
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    group.bench_function("acl_file_watcher_reloading", |b| {
        b.iter(|| black_box(watched.decide(black_box(&roles), black_box(RULE))))
    });
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
