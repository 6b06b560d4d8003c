//! Measures the time from a completed rename of the ACL file to the new map being in force,
//! over 100 reloads.
//!
//! `cargo run --release --example reload_latency`

use std::time::{Duration, Instant};

use tokenleader_rbac::{Enforcer, PublicKey};

const KEY: &str = include_str!("../tests/fixtures/tokenleader/tokenleader_public_key.spki.pem");
const RELOADS: usize = 100;

fn map_granting(rule: &str) -> String {
    format!("- name: role1\n  allow:\n  - {rule}\n")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("role_to_acl_map.yml");
    std::fs::write(&path, map_granting("v0"))?;
    let enforcer = Enforcer::builder()
        .public_key(PublicKey::from_pem(KEY.as_bytes())?)
        .acl_file(&path)
        .build()?;
    let roles = vec!["role1".to_owned()];

    let mut latencies = Vec::with_capacity(RELOADS);
    for i in 1..=RELOADS {
        let rule = format!("v{i}");
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, map_granting(&rule))?;
        std::fs::rename(&temporary, &path)?;
        let renamed = Instant::now();
        while !enforcer.decide(&roles, &rule).is_allowed() {
            if renamed.elapsed() > Duration::from_secs(10) {
                return Err(format!("reload {i} not applied within 10 s").into());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        latencies.push(renamed.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "rename -> in force over {RELOADS} reloads: median {:?}, p90 {:?}, min {:?}, max {:?}",
        at(0.5),
        at(0.9),
        latencies[0],
        latencies[latencies.len() - 1]
    );
    Ok(())
}
