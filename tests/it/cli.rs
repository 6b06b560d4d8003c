//! The `tokenleader-rbac` command: each subcommand's success and failure, and exit codes.

#![cfg(feature = "cli")]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::*;

fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenleader-rbac"));
    command
        .args(args)
        .env_remove("TL_PASSWORD")
        .env_remove("TL_URL")
        .env_remove("TL_USER")
        .env_remove("TL_CLIENT_CONFIG")
        .env_remove("TL_OTP")
        .env_remove("TL_NEW_USER_PASSWORD")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary runs");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .expect("write stdin");
    drop(input);
    child.wait_with_output().expect("the binary ends")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn fixture_path(path: &str) -> String {
    format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn at_fixture_hour() -> String {
    (FIXTURE_IAT + 60).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn gettoken_with_the_password_from_the_environment_or_stdin() {
    let (_, base) = stand_in::stand_in().await;
    let url = format!("{base}/ok");
    let output = run(
        &["gettoken", "--url", &url, "--user", "user1"],
        &[("TL_PASSWORD", "user1")],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).trim().starts_with("eyJ"));

    let output = run(
        &["gettoken", "--user", "user1", "--json"],
        &[("TL_URL", url.as_str())],
        Some("user1\n"),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(json["auth_token"].as_str().unwrap().starts_with("eyJ"));
    assert_eq!(
        json["service_catalog"]["tokenleader"]["name"],
        "tokenleader"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gettoken_failures_are_one_line_and_exit_2() {
    let (_, base) = stand_in::stand_in().await;
    let url = format!("{base}/ok");
    let output = run(
        &["gettoken", "--url", &url, "--user", "user1"],
        &[("TL_PASSWORD", "wrong")],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output).trim(),
        "tokenleader-rbac: the tokenleader server refused the password (Wrong Password)"
    );
    assert!(stdout(&output).is_empty());

    let output = run(
        &["gettoken", "--url", &url, "--user", "user1"],
        &[],
        Some(""),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no password"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_password_is_never_taken_from_the_command_line() {
    let output = run(
        &[
            "gettoken",
            "--url",
            "http://127.0.0.1:1",
            "--user",
            "user1",
            "--password",
            "user1",
        ],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unexpected argument '--password'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn verify_locally_prints_the_claims_of_a_valid_token() {
    let token = fixture_token("token_user1");
    let key = fixture_path("tokenleader/tokenleader_public_key.ssh-rsa.pub");
    let output = run(
        &["verify", &token, "--key", &key, "--at", &at_fixture_hour()],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let claims: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(claims["identity"]["username"], "user1");
    assert_eq!(claims["wfc"]["org"], "org1");

    // the token from standard input, the key as PEM
    let pem = fixture_path("tokenleader/tokenleader_public_key.spki.pem");
    let output = run(
        &["verify", "-", "--key", &pem, "--at", &at_fixture_hour()],
        &[],
        Some(&token),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn verify_locally_refuses_with_exit_1_and_says_why() {
    let key = fixture_path("tokenleader/tokenleader_public_key.ssh-rsa.pub");
    let expired = fixture_token("token_user1_expired");
    let output = run(
        &[
            "verify",
            &expired,
            "--key",
            &key,
            "--at",
            &at_fixture_hour(),
        ],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim(),
        "tokenleader-rbac: invalid: token has expired"
    );

    let forged = mint(&user1_claims());
    let output = run(
        &["verify", &forged, "--key", &key, "--at", &NOW.to_string()],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("token signature is invalid"));
}

#[test]
fn verify_with_a_bad_key_file_is_an_error() {
    let output = run(&["verify", "a.b.c", "--key", "/nonexistent.pub"], &[], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot read key file /nonexistent.pub"));
    let output = run(&["verify", "a.b.c"], &[], None);
    assert_eq!(output.status.code(), Some(2), "neither --key nor --remote");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_remotely() {
    let (_, base) = stand_in::stand_in().await;
    let url = format!("{base}/ok");
    let rs512 = b64(br#"{"typ":"JWT","alg":"RS512"}"#);
    let valid = format!("{rs512}.valid.signature");
    let output = run(&["verify", &valid, "--remote", "--url", &url], &[], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("\"username\": \"user1\""));
    let forged = format!("{rs512}.forged.signature");
    let output = run(&["verify", &forged, "--remote", "--url", &url], &[], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("Invalid token"));
}

/// A token our verifier refuses on its header is invalid at once (exit 1), and not sent: the
/// 1.8 server answers such tokens with an HTML 500.
#[tokio::test(flavor = "multi_thread")]
async fn verify_remotely_checks_the_header_first() {
    let (server, base) = stand_in::stand_in().await;
    let url = format!("{base}/ok");
    for header in [r#"{"alg":"none"}"#, r#"{"alg":"HS256"}"#, "not json"] {
        let token = format!("{}.valid.", b64(header.as_bytes()));
        let output = run(&["verify", &token, "--remote", "--url", &url], &[], None);
        assert_eq!(output.status.code(), Some(1), "{header}");
        assert!(
            stderr(&output).contains("not sent to the server"),
            "{header}"
        );
    }
    assert_eq!(server.verify_calls(), 0, "nothing reached the server");
}

#[test]
fn acl_check_validates_and_reports_inconsistencies() {
    let map = fixture_path("tokenleader/role_to_acl_map.yml");
    let output = run(&["acl", "check", &map], &[], None);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).ends_with("valid, 2 roles, 5 grants\n"),
        "{}",
        stdout(&output)
    );

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.txt");
    std::fs::write(
        &rules,
        "# the routes of service1\nservice1:first_api:rulename1\nservice1:second_api:rulename2\nservice1:third_api:rulename3\n\nservice1:fourthapi_api:rulename4  # fourth\n",
    )
    .unwrap();
    let rules = rules.display().to_string();
    let output = run(
        &[
            "acl",
            "check",
            &map,
            "--rules-from",
            &rules,
            "--rule",
            "service1:fifth_api:rulename5",
        ],
        &[],
        None,
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "without --strict, a report only"
    );
    let report = stdout(&output);
    assert!(
        report.contains("rule `service1:fifth_api:rulename5` is granted by no role"),
        "{report}"
    );
    assert!(
        report.contains("role `role1` grants `tokenleader.adminops.adminops_restapi.list_users`, which the service does not use"),
        "{report}"
    );
    assert_eq!(report.lines().count(), 3, "{report}");

    let output = run(
        &[
            "acl",
            "check",
            &map,
            "--rules-from",
            &rules,
            "--rule",
            "service1:fifth_api:rulename5",
            "--strict",
        ],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim(),
        "tokenleader-rbac: 2 inconsistencies"
    );

    let consistent = run(
        &[
            "acl",
            "check",
            &map,
            "--rules-from",
            &rules,
            "--rule",
            "tokenleader.adminops.adminops_restapi.list_users",
            "--strict",
        ],
        &[],
        None,
    );
    assert_eq!(consistent.status.code(), Some(0));
    assert!(stdout(&consistent).contains("consistent with the 5 rules the service uses"));
}

#[test]
fn acl_check_of_a_broken_map_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("role_to_acl_map.yml");
    std::fs::write(
        &map,
        "- name: role1\n  allow: [a]\n- name: role1\n  allow: [b]\n",
    )
    .unwrap();
    let output = run(&["acl", "check", &map.display().to_string()], &[], None);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output).trim(),
        format!(
            "tokenleader-rbac: ACL file {} line 3: role `role1` listed twice",
            map.display()
        )
    );
}

#[test]
fn acl_explain_gives_the_decision_and_its_reason() {
    let map = fixture_path("tokenleader/role_to_acl_map.yml");
    let explain = |roles: &str, extra: &[&str]| {
        let mut args = vec![
            "acl", "explain", &map, "--roles", roles, "--rule", FIRST_RULE,
        ];
        args.extend_from_slice(extra);
        run(&args, &[], None)
    };
    let output = explain("role2,role1", &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output).trim(),
        "allowed: rule `service1:first_api:rulename1` is granted by `role1`"
    );

    let output = explain("role2", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("denied: none of the roles role2 grants rule"));

    let output = explain("admin", &[]);
    assert_eq!(stdout(&output).trim(), "allowed: `admin` is the admin role");
    assert_eq!(explain("admin", &["--no-admin"]).status.code(), Some(1));
    assert_eq!(
        explain("boss", &["--admin-role", "boss"]).status.code(),
        Some(0)
    );
}

#[test]
fn acl_matrix_in_markdown() {
    let map = fixture_path("tokenleader/role_to_acl_map.yml");
    let output = run(
        &[
            "acl",
            "matrix",
            &map,
            "--rule",
            FIRST_RULE,
            "--rule",
            THIRD_RULE,
            "--rule",
            "service1:fifth_api:rulename5",
        ],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let table = stdout(&output);
    let lines: Vec<&str> = table.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(
        lines.len(),
        5,
        "header, separator, admin, role1, role2:\n{table}"
    );
    let header: Vec<&str> = lines[0].split('|').map(str::trim).collect();
    let column = |name: &str| header.iter().position(|h| h.contains(name)).unwrap();
    assert!(header[column("rulename5")].contains("(no role grants it)"));
    assert!(header[column("list_users")].contains("(the service does not use it)"));
    assert!(!header[column("rulename1")].contains('('));
    let cells =
        |row: &str| -> Vec<String> { row.split('|').map(|c| c.trim().to_owned()).collect() };
    let admin = cells(lines[2]);
    assert!(admin[1].contains("admin role"));
    assert!(admin[2..admin.len() - 1].iter().all(|c| c == "✓ (admin)"));
    let role1 = cells(lines[3]);
    assert_eq!(role1[1], "`role1`");
    assert_eq!(role1[column("rulename1")], "✓");
    assert_eq!(role1[column("rulename3")], "");
    assert_eq!(role1[column("rulename5")], "");
    let role2 = cells(lines[4]);
    assert_eq!(role2[column("rulename3")], "✓");
    assert_eq!(role2[column("rulename1")], "");

    let without_admin = run(&["acl", "matrix", &map, "--no-admin"], &[], None);
    assert_eq!(
        stdout(&without_admin)
            .lines()
            .filter(|l| l.starts_with('|'))
            .count(),
        4
    );
}

#[test]
fn acl_matrix_in_html_is_one_well_formed_page() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("role_to_acl_map.yml");
    std::fs::write(
        &map,
        "- name: '<script>alert(1)</script>'\n  allow: ['a&b']\n- name: role2\n  allow: [c]\n",
    )
    .unwrap();
    let output = run(
        &[
            "acl",
            "matrix",
            &map.display().to_string(),
            "--format",
            "html",
            "--rule",
            "d",
        ],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let page = stdout(&output);
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(page.trim_end().ends_with("</html>"));
    assert!(!page.contains("<script"), "role names are escaped");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("a&amp;b"));
    assert!(
        !page.contains("<link") && !page.contains("src="),
        "self-contained: nothing to fetch"
    );
    for tag in [
        "html", "head", "body", "table", "thead", "tbody", "tr", "style",
    ] {
        let opened =
            page.matches(&format!("<{tag}>")).count() + page.matches(&format!("<{tag} ")).count();
        assert_eq!(
            opened,
            page.matches(&format!("</{tag}>")).count(),
            "<{tag}> balanced"
        );
    }
    assert_eq!(page.matches("<table>").count(), 1);
    // header row + admin + two roles
    assert_eq!(page.matches("<tr>").count(), 4);
    // 3 rules × 3 rows of cells
    assert_eq!(page.matches("<td").count(), 9);
    assert_eq!(page.matches("class=\"yes\"").count(), 2);
    assert!(page.contains("class=\"flagged\" title=\"no role grants it\">d<br>"));
}

/// `--config` reads `client_configs.yml` as the Python CLI does: the key for `verify`, the URL
/// and the user for `gettoken`.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_reads_client_configs_yml() {
    let (_, base) = stand_in::stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("client_configs.yml");
    let key = fixture("tokenleader/tokenleader_public_key.ssh-rsa.pub");
    std::fs::write(
        &config,
        format!(
            "tl_public_key: {}\ntl_url: {base}/ok\ntl_user: user1\nssl_verify: true\n",
            key.trim()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let token = fixture_token("token_user1");
    let at = at_fixture_hour();
    let output = run(
        &["verify", &token, "--config", config, "--at", &at],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("\"username\": \"user1\""));
    let output = run(
        &["gettoken", "--config", config],
        &[("TL_PASSWORD", "user1")],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("eyJ"));
}

#[test]
fn verify_raw_prints_the_token_s_own_claims() {
    let key = fixture_path("tokenleader/tokenleader_public_key.ssh-rsa.pub");
    let token = fixture_token("token_user1");
    let at = at_fixture_hour();
    let output = run(
        &["verify", &token, "--key", &key, "--at", &at, "--raw"],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let claims: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        claims["sub"]["username"], "user1",
        "the wire shape: `sub` is an object"
    );
    assert_eq!(claims["iat"], FIXTURE_IAT);
}

#[test]
fn explain_names_unknown_roles_and_every_granting_role() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.yml");
    std::fs::write(&map, "- name: a\n  allow: [r]\n- name: b\n  allow: [r]\n").unwrap();
    let map = map.to_str().unwrap();
    let output = run(
        &["acl", "explain", map, "--roles", "a,ghost,b", "--rule", "r"],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(0));
    let out = stdout(&output);
    assert!(out.contains("does not list the role(s) ghost"), "{out}");
    assert!(out.contains("granted by `a`, `b`"), "{out}");
}

#[test]
fn check_counts_in_words_and_the_matrix_escapes_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.yml");
    std::fs::write(
        &map,
        "- name: 'pipe|role'\n  description: can | read\n  allow: ['rule`tick']\n",
    )
    .unwrap();
    let map = map.to_str().unwrap();
    let output = run(
        &[
            "acl",
            "check",
            map,
            "--rule",
            "rule`tick",
            "--rule",
            "unused.rule",
            "--strict",
        ],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("1 inconsistency"),
        "{}",
        stderr(&output)
    );
    let output = run(
        &["acl", "matrix", map, "--rule", "rule`tick", "--no-admin"],
        &[],
        None,
    );
    let table = stdout(&output);
    assert!(table.contains("`` rule`tick ``"), "{table}");
    assert!(table.contains("`pipe\\|role` (can \\| read)"), "{table}");
    for row in table.lines().filter(|line| line.starts_with('|')) {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 3, "two cells in {row}");
    }
}

/// A `client_configs.yml` for the stand-in at `url`, with stored credentials under `dir`.
fn stored_credentials_config(dir: &std::path::Path, url: &str) -> String {
    let path = dir.join("client_configs.yml");
    let text = format!(
        "user_auth_info_from: file\nuser_auth_info_file_location: {}\nfernet_key_file: {}\ntl_url: {url}\ntl_user: user1\n",
        dir.join("auth/user_settings.ini").display(),
        dir.join("auth/fernetkeys").display()
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_store_then_gettoken_without_a_password() {
    let (_, base) = stand_in::stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    let config = stored_credentials_config(dir.path(), &format!("{base}/ok"));

    let output = run(&["credentials", "check", "--config", &config], &[], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("fernetkeys"),
        "{}",
        stderr(&output)
    );

    let output = run(
        &["credentials", "store", "--config", &config],
        &[],
        Some("user1\n"),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stdout(&output).contains("user1\n"));
    let ini = std::fs::read_to_string(dir.path().join("auth/user_settings.ini")).unwrap();
    assert!(ini.starts_with("[DEFAULT]\ntl_password=gAAAAA"), "{ini}");

    let output = run(&["credentials", "check", "--config", &config], &[], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        !stdout(&output).contains("user1"),
        "the password is never printed"
    );

    // No password on the command line, no prompt: the stored one is used.
    let output = run(&["gettoken", "--config", &config], &[], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).trim().starts_with("eyJ"));

    // Storing again is refused unless asked to replace.
    let output = run(
        &["credentials", "store", "--config", &config],
        &[("TL_PASSWORD", "x")],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("exists already: give `--replace`"),
        "{}",
        stderr(&output)
    );
    let output = run(
        &["credentials", "store", "--config", &config, "--replace"],
        &[("TL_PASSWORD", "wrong")],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = run(&["gettoken", "--config", &config], &[], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("Wrong Password"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn gettoken_sends_domain_and_the_one_time_password() {
    let (server, base) = stand_in::stand_in().await;
    let url = format!("{base}/ok");
    let output = run(
        &[
            "gettoken", "--url", &url, "--user", "user1", "--domain", "example", "--otp",
        ],
        &[("TL_PASSWORD", "user1")],
        Some("654321\n"),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let login = server.last_login.lock().unwrap().clone();
    assert_eq!(login["domain"], "example");
    assert_eq!(login["otp"], "654321");
}

#[tokio::test(flavor = "multi_thread")]
async fn users_list_show_add_delete() {
    let (server, base) = stand_in::stand_in().await;
    let url = format!("{base}/ok");
    let user1 = [("TL_PASSWORD", "user1")];
    let output = run(
        &["users", "--url", &url, "--user", "user1", "list"],
        &user1,
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let table = stdout(&output);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("ID  USER   EMAIL  ROLES"), "{table}");
    assert!(
        lines[2].contains("user3") && lines[2].contains("org1"),
        "{table}"
    );

    let output = run(
        &[
            "users", "--url", &url, "--user", "user1", "show", "user1", "--json",
        ],
        &user1,
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json[0]["wfc"]["department"], "dept1");

    let output = run(
        &["users", "--url", &url, "--user", "user1", "show", "nobody"],
        &user1,
        None,
    );
    assert_eq!(output.status.code(), Some(1));

    let output = run(
        &["users", "--url", &url, "--user", "user3", "list"],
        &[("TL_PASSWORD", "user3")],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no role of the user grants the rule"),
        "{}",
        stderr(&output)
    );

    let add = [
        "users",
        "--url",
        &url,
        "--user",
        "user1",
        "add",
        "--name",
        "user5",
        "--email",
        "u5@x",
        "--wfc",
        "wfc1",
        "--roles",
        "role1,role2",
    ];
    let output = run(
        &add,
        &[("TL_PASSWORD", "user1"), ("TL_NEW_USER_PASSWORD", "pw5")],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stderr(&output).contains("warning"), "loopback: no warning");
    let sent = server.users_calls.lock().unwrap().last().cloned().unwrap();
    assert_eq!(sent["password"], "pw5");
    assert_eq!(sent["roles"], serde_json::json!(["role1", "role2"]));

    let output = run(
        &["users", "--url", &url, "--user", "user1", "delete", "ghost"],
        &user1,
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no user `ghost`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn users_add_over_plain_http_to_another_host_warns() {
    // 192.0.2.1 (TEST-NET-1) is never routed: the call fails after the warning.
    let output = run(
        &[
            "users",
            "--url",
            "http://192.0.2.1:9",
            "--user",
            "user1",
            "delete",
            "user5",
        ],
        &[("TL_PASSWORD", "user1")],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("warning: http://192.0.2.1:9 is plain HTTP"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn verify_takes_ec_and_ed25519_keys_with_their_algorithms() {
    use tokenleader_rbac::test_util::TestIssuer;
    let key_file = |name: &str| format!("{}/src/test_util/{name}", env!("CARGO_MANIFEST_DIR"));
    for (issuer, key, algorithms) in [
        (
            TestIssuer::es256(),
            "test_only_p256_public_key.pem",
            "ES256,ES384",
        ),
        (
            TestIssuer::es384(),
            "test_only_p384_public_key.pem",
            "ES384",
        ),
        (
            TestIssuer::ed25519(),
            "test_only_ed25519_public_key.pem",
            "EdDSA",
        ),
    ] {
        let token = issuer.token().sign();
        let key = key_file(key);
        let output = run(
            &["verify", &token, "--key", &key, "--algorithms", algorithms],
            &[],
            None,
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        // RS512 alone (the default) cannot be checked with such a key: an error that says so.
        let output = run(&["verify", &token, "--key", &key], &[], None);
        assert_eq!(output.status.code(), Some(2));
        assert!(
            stderr(&output).contains("checks none of the allowed algorithms"),
            "{}",
            stderr(&output)
        );
    }
    let output = run(
        &["verify", "x.y.z", "--key", "k", "--algorithms", "ES999"],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`ES999` is not a JWS algorithm"),
        "{}",
        stderr(&output)
    );

    // A JWK file, and a token of another key type refused with exit 1.
    let dir = tempfile::tempdir().unwrap();
    let jwk = dir.path().join("key.jwk.json");
    std::fs::write(&jwk, fixture("test_keys/trusted_public.jwk.json")).unwrap();
    let output = run(
        &[
            "verify",
            &TestIssuer::es256().token().sign(),
            "--key",
            jwk.to_str().unwrap(),
            "--algorithms",
            "RS512,ES256",
        ],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn acl_check_reads_the_rules_from_a_service_access_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("service_access_policy.yml");
    std::fs::write(
        &policy,
        "- rule_name: service1:first_api:rulename1\n  api: /first\n  method: GET\n- \"service1:never:granted\"\n",
    )
    .unwrap();
    let map = fixture_path("tokenleader/role_to_acl_map.yml");
    let output = run(
        &[
            "acl",
            "check",
            &map,
            "--rules-from",
            policy.to_str().unwrap(),
            "--strict",
        ],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("service1:never:granted"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn explain_and_matrix_show_inheritance_patterns_and_denies() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("flarecast.yml");
    std::fs::write(
        &map,
        "- name: reader\n  allow: [micros1.entries.list]\n- name: writer\n  allow: ['micros1.entries.*']\n\
         - name: moderator\n  includes: [reader, writer]\n  deny: [micros1.entries.purge]\n\
         - name: administrator\n  includes: [moderator]\n",
    )
    .unwrap();
    let map = map.to_str().unwrap();
    let explain = |roles: &str, rule: &str| {
        run(
            &["acl", "explain", map, "--roles", roles, "--rule", rule],
            &[],
            None,
        )
    };
    let output = explain("moderator", "micros1.entries.edit");
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output)
            .contains("granted by `moderator` (through `writer`, pattern `micros1.entries.*`)"),
        "{}",
        stdout(&output)
    );
    let output = explain("administrator", "micros1.entries.purge");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .contains("`administrator` (through `moderator`) denies rule `micros1.entries.purge`"),
        "{}",
        stderr(&output)
    );
    let output = run(
        &[
            "acl",
            "matrix",
            map,
            "--rule",
            "micros1.entries.purge",
            "--rule",
            "micros1.entries.edit",
        ],
        &[],
        None,
    );
    let table = stdout(&output);
    let row = |role: &str| {
        table
            .lines()
            .find(|line| line.starts_with(&format!("| `{role}`")))
            .unwrap()
            .to_owned()
    };
    assert!(
        row("moderator").contains("deny") && row("moderator").contains("✓* via writer"),
        "{table}"
    );
}

/// `… | head -c 10` closed the pipe under the tool, which panicked ("failed printing to stdout:
/// Broken pipe", exit 101) in 1 to 2 runs of 6. The pipe is closed before the tool starts here,
/// every time: it ends quietly, as other command-line tools end (141, SIGPIPE's status).
#[test]
fn a_closed_pipe_ends_the_tool_quietly() {
    let map = format!("{}/role_to_acl_map.example.yml", env!("CARGO_MANIFEST_DIR"));
    let cases = format!(
        "{}/role_to_acl_map.example.test.yml",
        env!("CARGO_MANIFEST_DIR")
    );
    let key = fixture_path("tokenleader/tokenleader_public_key.ssh-rsa.pub");
    let token = fixture_token("token_user1");
    let at = at_fixture_hour();
    let commands: [&[&str]; 4] = [
        &["acl", "check", &map],
        &["acl", "matrix", &map],
        &["acl", "test", &map, &cases],
        &["verify", &token, "--key", &key, "--at", &at],
    ];
    for args in commands {
        for _ in 0..10 {
            // A pipe whose reading end is closed before the tool starts.
            let (reader, writer) = std::io::pipe().expect("a pipe");
            drop(reader);
            let output = Command::new(env!("CARGO_BIN_EXE_tokenleader-rbac"))
                .args(args)
                .stdout(writer)
                .stderr(Stdio::piped())
                .output()
                .expect("the binary runs");
            assert_eq!(
                output.status.code(),
                Some(141),
                "{args:?}: {}",
                stderr(&output)
            );
            assert!(output.stderr.is_empty(), "{args:?}: {}", stderr(&output));
        }
    }
}

/// `users list --config X` failed with "unexpected argument '--config'": a command group's
/// options are taken after its subcommand too, as the tool's own help writes them.
#[test]
fn a_groups_options_may_follow_its_subcommand() {
    for args in [
        &[
            "users",
            "list",
            "--config",
            "/nonexistent/client_configs.yml",
        ][..],
        &[
            "users",
            "--config",
            "/nonexistent/client_configs.yml",
            "list",
        ][..],
        &[
            "users",
            "show",
            "user1",
            "--url",
            "http://127.0.0.1:1",
            "--user",
            "user1",
        ][..],
    ] {
        let output = run(args, &[("TL_PASSWORD", "x")], None);
        let message = stderr(&output);
        assert!(
            !message.contains("unexpected argument"),
            "{args:?}: {message}"
        );
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
    }
}

/// The tool's messages spoke Rust: `(InvalidToken)`, `["role2"]`, and `.algorithms(..)` where
/// its flag is `--algorithms`.
#[test]
fn messages_speak_the_tools_language() {
    let output = run(
        &[
            "verify",
            "not-a-token",
            "--remote",
            "--url",
            "http://127.0.0.1:1",
        ],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("it is not a JSON Web Token"),
        "{}",
        stderr(&output)
    );
    let map = format!("{}/role_to_acl_map.example.yml", env!("CARGO_MANIFEST_DIR"));
    let output = run(
        &[
            "acl",
            "explain",
            &map,
            "--roles",
            "role2,guest",
            "--rule",
            "micros1.report",
        ],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("none of the roles role2, guest grants rule `micros1.report`"),
        "{}",
        stderr(&output)
    );
    let key = fixture_path("tokenleader/tokenleader_public_key.ssh-rsa.pub");
    let token = fixture_token("token_user1");
    let output = run(
        &["verify", &token, "--key", &key, "--algorithms", "ES256"],
        &[],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("with `--algorithms`"),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains(".algorithms(..)"),
        "{}",
        stderr(&output)
    );
}
