//! The defects an adversarial review found around the request path, one test each: hostile
//! files behind watched paths, a rotated `tl_public_key`, the verified `AuthToken`, revocation
//! precision and clocks, half-written files, and an endless JWKS body.

use std::io::Write as _;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::{Router, body::Body, routing::get};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use http::{HeaderName, Request, StatusCode};
use tokenleader_rbac::revocation::MemoryRevocation;
use tokenleader_rbac::token::TokenSource;
use tokenleader_rbac::{AclMap, AuthToken, Enforcer, TokenError};

use crate::common::*;

const ACL: &str = "- name: role1\n  allow:\n  - svc.old\n";

/// Runs `work` on a thread; fails the test when it has not returned within `bound` (a hang).
fn within<T: Send + 'static>(bound: Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(work());
    });
    result
        .recv_timeout(bound)
        .expect("returned in time instead of hanging")
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

/// F1, in a child process whose address space is limited to 2 GiB: a regression (an
/// unbounded read of `/dev/zero`) makes the child fail, never the machine.
#[cfg(target_os = "linux")]
#[test]
fn dev_zero_behind_the_acl_key_and_client_config_files_is_refused_with_flat_memory() {
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 2097152 && exec "$0" "$@""#)
        .arg(exe)
        .args([
            "--exact",
            "review_defects::dev_zero_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env("TL_RBAC_DEV_ZERO_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed"), "the child ran: {stdout}");
}

#[cfg(target_os = "linux")]
#[test]
#[ignore = "run by the test above, in a memory-limited child process"]
fn dev_zero_child() {
    if std::env::var_os("TL_RBAC_DEV_ZERO_CHILD").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let zero = |name: &str| {
        let path = dir.path().join(name);
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        path
    };
    let started = Instant::now();
    let builds = [
        Enforcer::builder()
            .public_key(trusted_public())
            .acl_file(zero("acl.yml"))
            .build(),
        Enforcer::builder()
            .public_key_file(zero("key.pub"))
            .acl(AclMap::empty())
            .build(),
        Enforcer::builder()
            .client_config(zero("client_configs.yml"))
            .acl(AclMap::empty())
            .build(),
    ];
    for build in builds {
        let error = build.unwrap_err().to_string();
        assert!(error.contains("not a regular file"), "{error}");
    }
    let direct = AclMap::from_file(dir.path().join("acl.yml")).unwrap_err();
    assert!(
        direct.to_string().contains("not a regular file"),
        "{direct}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once"
    );
}

/// F2: a FIFO at the ACL path neither blocks `build()` nor, renamed over the file later, the
/// status getters or later reloads.
#[cfg(unix)]
#[test]
fn a_fifo_at_the_acl_path_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.yml");
    mkfifo(&fifo);
    let refused = within(Duration::from_secs(10), move || {
        Enforcer::builder()
            .public_key(trusted_public())
            .acl_file(fifo)
            .build()
            .map(drop)
            .map_err(|e| e.to_string())
    });
    assert!(refused.unwrap_err().contains("not a regular file"));

    let acl = dir.path().join("acl.yml");
    std::fs::write(&acl, ACL).unwrap();
    let enforcer = Enforcer::builder()
        .public_key(trusted_public())
        .acl_file(&acl)
        .build()
        .unwrap();
    let fifo = dir.path().join("fifo2.yml");
    mkfifo(&fifo);
    std::fs::rename(&fifo, &acl).unwrap();
    let reloading = enforcer.clone();
    let reload = within(Duration::from_secs(10), move || {
        reloading.reload().map_err(|e| e.to_string())
    });
    assert!(reload.unwrap_err().contains("not a regular file"));
    let status = within(Duration::from_secs(10), {
        let enforcer = enforcer.clone();
        move || enforcer.acl_status()
    });
    assert!(status.last_error.is_some());
    assert_eq!(status.generation, 1, "the last good map stays");

    // Later reloads still happen.
    let next = dir.path().join("next.yml");
    std::fs::write(&next, "- name: role1\n  allow:\n  - svc.new\n").unwrap();
    std::fs::rename(&next, &acl).unwrap();
    eventually("the good file applied after the FIFO", || {
        enforcer
            .decide(&["role1".to_owned()], "svc.new")
            .is_allowed()
    });
}

/// The OpenSSH line of the test key (from its JWK), as `tl_public_key` holds it.
fn trusted_openssh_line() -> String {
    let jwk: serde_json::Value =
        serde_json::from_str(&fixture("test_keys/trusted_public.jwk.json")).unwrap();
    let member = |name: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().unwrap())
            .unwrap()
    };
    let mut blob = Vec::new();
    for (i, part) in [b"ssh-rsa".to_vec(), member("e"), member("n")]
        .into_iter()
        .enumerate()
    {
        // mpints carry a 0x00 in front when their top bit is set.
        let part = if i > 0 && part[0] & 0x80 != 0 {
            [vec![0], part].concat()
        } else {
            part
        };
        blob.extend((part.len() as u32).to_be_bytes());
        blob.extend(part);
    }
    format!("ssh-rsa {} test@rotated", STANDARD.encode(blob))
}

/// F3: `tl_public_key` is a watched key source: after a rotation, the old key's tokens are
/// refused and the new key's accepted.
#[test]
fn a_rotated_tl_public_key_replaces_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("client_configs.yml");
    let real_key = fixture("tokenleader/tokenleader_public_key.ssh-rsa.pub");
    std::fs::write(&config, format!("tl_public_key: {}", real_key.trim())).unwrap();
    let enforcer = Enforcer::builder()
        .client_config(&config)
        .acl(fixture_acl())
        .clock(at(FIXTURE_IAT + 60))
        .build()
        .unwrap();
    let old = fixture_token("token_user1");
    let mut claims = user1_claims();
    claims["iat"] = (FIXTURE_IAT).into();
    claims["exp"] = (FIXTURE_IAT + 3600).into();
    let new = mint(&claims);
    assert!(enforcer.verify(&old).is_ok());
    assert_eq!(enforcer.verify(&new).unwrap_err(), TokenError::BadSignature);

    let next = dir.path().join("next.yml");
    std::fs::write(
        &next,
        format!("tl_public_key: {}\n", trusted_openssh_line()),
    )
    .unwrap();
    std::fs::rename(&next, &config).unwrap();
    eventually("the rotated key in force", || enforcer.verify(&new).is_ok());
    assert_eq!(enforcer.verify(&old).unwrap_err(), TokenError::BadSignature);
    assert_eq!(enforcer.key_status().paths, [config]);
}

/// F4 (and the architecture issue, item 3): the `AuthToken` a handler gets is the token that
/// was verified, from the configured source, never an unchecked header.
#[tokio::test]
async fn auth_token_is_the_verified_token_from_the_configured_source() {
    let enforcer = test_key_builder()
        .token_sources([TokenSource::Header(HeaderName::from_static("x-custom"))])
        .build()
        .unwrap();
    async fn echo(token: AuthToken) -> axum::Json<String> {
        axum::Json(token.as_str().to_owned())
    }
    let app: Router =
        Router::new().route("/echo", get(echo).route_layer(enforcer.require(FIRST_RULE)));
    let valid = mint(&user1_claims());
    let request = Request::get("/echo")
        .header("x-custom", &valid)
        .header("x-auth-token", "unchecked.token.value")
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, valid, "the verified token, not X-Auth-Token");

    let only_custom = Request::get("/echo")
        .header("x-custom", &valid)
        .body(Body::empty())
        .unwrap();
    let answer = send(&app, only_custom).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, valid);
}

/// F5: a cut-off half a second after a token's `iat` revokes it (token times are whole
/// seconds, so the cut-off is rounded up).
#[test]
fn a_cut_off_within_the_second_of_iat_revokes_the_token() {
    let enforcer = test_key_builder()
        .revocation(MemoryRevocation::new())
        .build()
        .unwrap();
    let token = mint(&user1_claims());
    assert!(enforcer.verify(&token).is_ok());
    let cut_off = UNIX_EPOCH + Duration::from_millis(NOW * 1000 + 500);
    enforcer.revoke_user_before("user1", cut_off).unwrap();
    assert_eq!(enforcer.verify(&token).unwrap_err(), TokenError::Revoked);
}

/// F6: with a clock pinned far from the system clock, revoking a second token does not
/// resurrect the first (entries expire by the enforcer's clock only).
#[test]
fn revocations_expire_by_the_enforcers_clock() {
    // Years before the system clock: by that clock, these entries would have expired long ago.
    let past = 1_600_000_000;
    let enforcer = Enforcer::builder()
        .public_key(trusted_public())
        .acl(fixture_acl())
        .clock(at(past))
        .revocation(MemoryRevocation::new())
        .build()
        .unwrap();
    let token_for = |user: &str| {
        let mut claims = user1_claims();
        claims["iat"] = past.into();
        claims["exp"] = (past + 3600).into();
        claims["sub"]["username"] = user.into();
        mint(&claims)
    };
    let (first, second) = (token_for("user1"), token_for("user2"));
    enforcer.revoke_token(&first).unwrap();
    enforcer.revoke_token(&second).unwrap();
    assert_eq!(enforcer.verify(&first).unwrap_err(), TokenError::Revoked);
    assert_eq!(enforcer.verify(&second).unwrap_err(), TokenError::Revoked);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(
        now.as_secs() > past + 3600,
        "the system clock is past the entries"
    );
}

/// F7: a writer that pauses half-way through an in-place write never gets its prefix
/// applied; the whole file is applied once the writer closes it.
#[cfg(target_os = "linux")]
#[test]
fn a_half_written_file_is_not_applied_before_its_writer_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let acl = dir.path().join("acl.yml");
    std::fs::write(&acl, ACL).unwrap();
    let enforcer = Enforcer::builder()
        .public_key(trusted_public())
        .acl_file(&acl)
        .build()
        .unwrap();
    let role = ["role1".to_owned()];
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&acl)
        .unwrap();
    // The prefix parses, and grants `svc.read`: neither the old nor the new file does.
    file.write_all(b"- name: role1\n  allow:\n  - svc.read")
        .unwrap();
    file.sync_all().unwrap();
    let paused = Instant::now();
    while paused.elapsed() < Duration::from_millis(800) {
        assert!(
            !enforcer.decide(&role, "svc.read").is_allowed(),
            "the prefix was applied"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(enforcer.acl_status().generation, 1);
    file.write_all(b"_all\n").unwrap();
    drop(file);
    eventually("the whole file applied once closed", || {
        enforcer.decide(&role, "svc.read_all").is_allowed()
    });
    assert!(!enforcer.decide(&role, "svc.read").is_allowed());
    assert!(!enforcer.decide(&role, "svc.old").is_allowed());
}

/// F8: a JWKS server that sends an endless body is cut off at the cap; `build()` fails with
/// a message that says so, and memory does not grow for the whole timeout.
#[cfg(feature = "jwks")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_jwks_body_is_refused_at_the_cap() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/certs", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b' '; 64 * 1024];
        // Bounded: 64 MiB at most, or until the client hangs up.
        for _ in 0..1024 {
            if socket.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    let started = Instant::now();
    let error = tokio::task::spawn_blocking(move || {
        Enforcer::builder()
            .jwks_url(url)
            .acl(AclMap::empty())
            .build()
            .unwrap_err()
            .to_string()
    })
    .await
    .unwrap();
    assert!(
        error.contains("larger than the 1048576 bytes allowed"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "cut off, not timed out"
    );
}
