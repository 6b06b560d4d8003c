//! `tokenleader-rbac`: get and verify tokenleader tokens, check and explain ACL maps.
//!
//! ```text
//! TL_PASSWORD=user1 tokenleader-rbac gettoken --url http://127.0.0.1:5001 --user user1
//! tokenleader-rbac verify "$TOKEN" --key /etc/tokenleader/id_rsa.pub
//! tokenleader-rbac verify "$TOKEN" --remote --url http://127.0.0.1:5001
//! tokenleader-rbac acl check role_to_acl_map.yml --rules-from rules.txt
//! tokenleader-rbac acl explain role_to_acl_map.yml --roles role1,role2 --rule service1:first_api:rulename1
//! tokenleader-rbac acl matrix role_to_acl_map.yml --rules-from rules.txt --format html > matrix.html
//! ```
//!
//! Exit codes: 0 success (a valid token, an allowed decision, a consistent map), 1 a negative
//! answer (invalid token, denied, inconsistencies with `--strict`), 2 an error (bad input,
//! unreadable file, unreachable server), with one line on standard error.

use std::collections::BTreeSet;
use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use tokenleader_rbac::client::Client;
use tokenleader_rbac::{AclMap, AuthToken, Decision, Enforcer, PublicKey};

#[derive(Parser)]
#[command(
    name = "tokenleader-rbac",
    version,
    about = "Tokens and ACL maps of a tokenleader system"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Get a token from a tokenleader server. The password comes from TL_PASSWORD or, when
    /// that is not set, from the first line of standard input; never from the command line.
    Gettoken {
        #[command(flatten)]
        server: Server,
        /// The user name.
        #[arg(long, env = "TL_USER")]
        user: String,
        /// Print the token and the service catalog as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Verify a token, locally with the server's public key or remotely; print its claims.
    Verify {
        /// The token, or `-` to read it from standard input.
        token: String,
        /// The server's public key file (ssh-rsa line or PEM).
        #[arg(long, conflicts_with = "remote", required_unless_present = "remote")]
        key: Option<PathBuf>,
        /// Ask the server (`/token/verify_token`) instead of checking locally.
        #[arg(long, requires = "url")]
        remote: bool,
        #[command(flatten)]
        server: OptionalServer,
        /// Check as if the time were this Unix time (local verification).
        #[arg(long)]
        at: Option<u64>,
    },
    /// Check or explain an ACL map.
    Acl {
        #[command(subcommand)]
        command: AclCommand,
    },
}

#[derive(Subcommand)]
enum AclCommand {
    /// Validate a map; with the rules a service uses, list the rules no role grants and the
    /// grants of rules the service does not use.
    Check {
        /// The ACL file.
        file: PathBuf,
        /// A rule the service uses (repeatable).
        #[arg(long = "rule")]
        rules: Vec<String>,
        /// A file of rules the service uses, one per line (`#` starts a comment).
        #[arg(long)]
        rules_from: Option<PathBuf>,
        /// Exit with 1 when any inconsistency is found.
        #[arg(long)]
        strict: bool,
    },
    /// Print the role × rule matrix: who may do what.
    Matrix {
        /// The ACL file.
        file: PathBuf,
        /// A rule the service uses (repeatable): shown even when no role grants it.
        #[arg(long = "rule")]
        rules: Vec<String>,
        /// A file of rules the service uses, one per line (`#` starts a comment).
        #[arg(long)]
        rules_from: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "md")]
        format: MatrixFormat,
        /// The admin role, shown as allowed everything.
        #[arg(long, default_value = "admin", conflicts_with = "no_admin")]
        admin_role: String,
        /// No admin role.
        #[arg(long)]
        no_admin: bool,
    },
    /// Show the decision for some roles and a rule, and its reason.
    Explain {
        /// The ACL file.
        file: PathBuf,
        /// The caller's roles, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// The rule the route requires.
        #[arg(long)]
        rule: String,
        /// The admin role.
        #[arg(long, default_value = "admin", conflicts_with = "no_admin")]
        admin_role: String,
        /// No admin role.
        #[arg(long)]
        no_admin: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MatrixFormat {
    /// A Markdown table.
    Md,
    /// One self-contained HTML page.
    Html,
}

#[derive(Args)]
struct Server {
    /// The tokenleader server's URL.
    #[arg(long, env = "TL_URL")]
    url: String,
    /// Do not verify the server's TLS certificate (dangerous).
    #[arg(long)]
    insecure: bool,
}

#[derive(Args)]
struct OptionalServer {
    /// The tokenleader server's URL.
    #[arg(long, env = "TL_URL")]
    url: Option<String>,
    /// Do not verify the server's TLS certificate (dangerous).
    #[arg(long)]
    insecure: bool,
}

/// A failure with the exit code it ends in.
struct Failure {
    code: u8,
    message: String,
}

fn error(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 2,
        message: message.to_string(),
    }
}

fn negative(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: 1,
        message: message.to_string(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(cli.command)),
        Err(e) => Err(error(format!("cannot start the runtime: {e}"))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("tokenleader-rbac: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Gettoken { server, user, json } => {
            gettoken(&server.url, server.insecure, &user, json).await
        }
        Command::Verify {
            token,
            key,
            remote,
            server,
            at,
        } => {
            let token = read_token(&token)?;
            match (key, remote, server.url) {
                (Some(key), _, _) => verify_local(&token, &key, at),
                (None, true, Some(url)) => verify_remote(&token, &url, server.insecure).await,
                _ => Err(error("give --key FILE, or --remote with --url")),
            }
        }
        Command::Acl { command } => match command {
            AclCommand::Check {
                file,
                rules,
                rules_from,
                strict,
            } => acl_check(&file, rules, rules_from, strict),
            AclCommand::Matrix {
                file,
                rules,
                rules_from,
                format,
                admin_role,
                no_admin,
            } => {
                let used = service_rules(rules, rules_from)?;
                let admin = (!no_admin).then_some(admin_role.as_str());
                acl_matrix(&file, &used, format, admin)
            }
            AclCommand::Explain {
                file,
                roles,
                rule,
                admin_role,
                no_admin,
            } => acl_explain(
                &file,
                &roles,
                &rule,
                (!no_admin).then_some(admin_role.as_str()),
            ),
        },
    }
}

fn client(url: &str, insecure: bool) -> Result<Client, Failure> {
    if insecure {
        eprintln!("tokenleader-rbac: warning: TLS certificate verification is off");
    }
    Client::builder(url)
        .ssl_verify(!insecure)
        .build()
        .map_err(error)
}

async fn gettoken(url: &str, insecure: bool, user: &str, json: bool) -> Result<(), Failure> {
    let password = match std::env::var("TL_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| error(format!("cannot read the password from standard input: {e}")))?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.is_empty() {
        return Err(error(
            "no password: set TL_PASSWORD or give it on standard input",
        ));
    }
    let grant = client(url, insecure)?
        .get_token(user, &password)
        .await
        .map_err(error)?;
    if json {
        let out = serde_json::json!({
            "auth_token": grant.auth_token.as_str(),
            "service_catalog": grant.service_catalog,
        });
        println!("{out:#}");
    } else {
        println!("{}", grant.auth_token.as_str());
    }
    Ok(())
}

fn read_token(argument: &str) -> Result<String, Failure> {
    if argument != "-" {
        return Ok(argument.trim().to_owned());
    }
    let mut token = String::new();
    std::io::stdin()
        .read_to_string(&mut token)
        .map_err(|e| error(format!("cannot read the token from standard input: {e}")))?;
    Ok(token.trim().to_owned())
}

fn verify_local(token: &str, key: &PathBuf, at: Option<u64>) -> Result<(), Failure> {
    let key = PublicKey::from_file(key).map_err(error)?;
    let mut builder = Enforcer::builder()
        .public_key(key)
        // Only the token is checked here; no rule is decided.
        .acl(AclMap::default())
        .watch(false)
        .token_cache(0);
    if let Some(at) = at {
        builder = builder.clock(move || UNIX_EPOCH + Duration::from_secs(at));
    }
    let enforcer = builder.build().map_err(error)?;
    let claims = enforcer
        .verify(token)
        .map_err(|e| negative(format!("invalid: {e}")))?;
    print_json(&*claims)
}

async fn verify_remote(token: &str, url: &str, insecure: bool) -> Result<(), Failure> {
    let claims = client(url, insecure)?
        .verify_token_remote(&AuthToken::new(token))
        .await
        .map_err(|e| match e {
            tokenleader_rbac::ClientError::TokenExpired
            | tokenleader_rbac::ClientError::TokenInvalid => negative(format!("invalid: {e}")),
            other => error(other),
        })?;
    print_json(&claims)
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(error)?;
    println!("{text}");
    Ok(())
}

/// The rules a service uses: from `--rule` and from `--rules-from`.
fn service_rules(
    mut rules: Vec<String>,
    rules_from: Option<PathBuf>,
) -> Result<Vec<String>, Failure> {
    if let Some(path) = rules_from {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
        rules.extend(
            text.lines()
                .map(|line| line.split('#').next().unwrap_or_default().trim())
                .filter(|line| !line.is_empty())
                .map(str::to_owned),
        );
    }
    Ok(rules)
}

fn acl_check(
    file: &PathBuf,
    rules: Vec<String>,
    rules_from: Option<PathBuf>,
    strict: bool,
) -> Result<(), Failure> {
    let map = AclMap::from_file(file).map_err(error)?;
    let rules = service_rules(rules, rules_from)?;
    println!(
        "{}: valid, {} roles, {} grants",
        file.display(),
        map.role_count(),
        map.grant_count()
    );
    if rules.is_empty() {
        return Ok(());
    }
    let used: BTreeSet<&str> = rules.iter().map(String::as_str).collect();
    let mut granted = BTreeSet::new();
    let mut unused = Vec::new();
    let mut roles: Vec<&str> = map.roles().collect();
    roles.sort_unstable();
    for role in roles {
        let mut role_rules: Vec<&str> = map.rules_of(role).into_iter().flatten().collect();
        role_rules.sort_unstable();
        for rule in role_rules {
            granted.insert(rule);
            if !used.contains(rule) {
                unused.push(format!(
                    "role `{role}` grants `{rule}`, which the service does not use"
                ));
            }
        }
    }
    let ungranted: Vec<String> = used
        .iter()
        .filter(|rule| !granted.contains(*rule))
        .map(|rule| format!("rule `{rule}` is granted by no role (only the admin role can use it)"))
        .collect();
    for line in ungranted.iter().chain(&unused) {
        println!("{line}");
    }
    let problems = ungranted.len() + unused.len();
    if problems == 0 {
        println!("consistent with the {} rules the service uses", used.len());
        Ok(())
    } else if strict {
        Err(negative(format!("{problems} inconsistencies")))
    } else {
        Ok(())
    }
}

fn acl_explain(
    file: &PathBuf,
    roles: &[String],
    rule: &str,
    admin_role: Option<&str>,
) -> Result<(), Failure> {
    let map = AclMap::from_file(file).map_err(error)?;
    match map.decide(roles, rule, admin_role) {
        Decision::Admin { role } => println!("allowed: `{role}` is the admin role"),
        Decision::Granted { role } => println!("allowed: role `{role}` grants rule `{rule}`"),
        Decision::Denied => {
            return Err(negative(format!(
                "denied: none of the roles {roles:?} grants rule `{rule}`"
            )));
        }
    }
    Ok(())
}

fn acl_matrix(
    file: &PathBuf,
    used: &[String],
    format: MatrixFormat,
    admin: Option<&str>,
) -> Result<(), Failure> {
    let map = AclMap::from_file(file).map_err(error)?;
    let matrix = Matrix::new(
        format!("ACL matrix of {}", file.display()),
        &map,
        used,
        admin,
    );
    match format {
        MatrixFormat::Md => println!("{}", matrix.markdown()),
        MatrixFormat::Html => println!("{}", matrix.html()),
    }
    Ok(())
}

/// One column of the matrix.
struct Column<'a> {
    rule: &'a str,
    granted_by_a_role: bool,
    used: bool,
}

impl Column<'_> {
    fn note(&self) -> &'static str {
        match (self.granted_by_a_role, self.used) {
            (false, _) => "no role grants it",
            (true, false) => "the service does not use it",
            (true, true) => "",
        }
    }
}

/// Who may do what, computed once and rendered as Markdown or HTML.
struct Matrix<'a> {
    title: String,
    admin: Option<&'a str>,
    columns: Vec<Column<'a>>,
    /// Each role with, per column, whether it grants the column's rule.
    rows: Vec<(&'a str, Vec<bool>)>,
}

impl<'a> Matrix<'a> {
    fn new(title: String, map: &'a AclMap, used: &'a [String], admin: Option<&'a str>) -> Self {
        let mut roles: Vec<&str> = map.roles().collect();
        roles.sort_unstable();
        let granted: BTreeSet<&str> = roles
            .iter()
            .flat_map(|role| map.rules_of(role).into_iter().flatten())
            .collect();
        let all_rules: BTreeSet<&str> = granted
            .iter()
            .copied()
            .chain(used.iter().map(String::as_str))
            .collect();
        let columns: Vec<Column<'_>> = all_rules
            .into_iter()
            .map(|rule| Column {
                rule,
                granted_by_a_role: granted.contains(rule),
                used: used.is_empty() || used.iter().any(|u| u == rule),
            })
            .collect();
        let rows = roles
            .into_iter()
            .map(|role| {
                (
                    role,
                    columns.iter().map(|c| map.grants(role, c.rule)).collect(),
                )
            })
            .collect();
        Matrix {
            title,
            admin,
            columns,
            rows,
        }
    }

    fn markdown(&self) -> String {
        let header = self.columns.iter().map(|c| match c.note() {
            "" => format!("`{}`", c.rule),
            note => format!("**`{}`** ({note})", c.rule),
        });
        let mut out = format!(
            "# {}\n\n| role | {} |\n|---|{}\n",
            self.title,
            header.collect::<Vec<_>>().join(" | "),
            "---|".repeat(self.columns.len())
        );
        if let Some(admin) = self.admin {
            let cells = vec!["✓ (admin)"; self.columns.len()].join(" | ");
            out.push_str(&format!("| `{admin}` (admin role) | {cells} |\n"));
        }
        for (role, grants) in &self.rows {
            let cells: Vec<&str> = grants.iter().map(|&g| if g { "✓" } else { " " }).collect();
            out.push_str(&format!("| `{role}` | {} |\n", cells.join(" | ")));
        }
        out
    }

    fn html(&self) -> String {
        let (title, columns) = (&self.title, &self.columns);
        let mut rows = String::new();
        if let Some(admin) = self.admin {
            let cells: String = columns
                .iter()
                .map(|_| "<td class=\"admin\">✓ admin</td>")
                .collect();
            rows.push_str(&format!(
                "<tr><th scope=\"row\">{} <small>(admin role)</small></th>{cells}</tr>\n",
                escape(admin)
            ));
        }
        for (role, grants) in &self.rows {
            let cells: String = grants
                .iter()
                .map(|&granted| {
                    if granted {
                        "<td class=\"yes\">✓</td>"
                    } else {
                        "<td></td>"
                    }
                })
                .collect();
            rows.push_str(&format!(
                "<tr><th scope=\"row\">{}</th>{cells}</tr>\n",
                escape(role)
            ));
        }
        let header: String = columns
        .iter()
        .map(|c| match c.note() {
            "" => format!("<th scope=\"col\">{}</th>", escape(c.rule)),
            note => format!("<th scope=\"col\" class=\"flagged\" title=\"{note}\">{}<br><small>{note}</small></th>", escape(c.rule)),
        })
        .collect();
        format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #999; padding: 0.3em 0.6em; text-align: center; }}
thead th {{ writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }}
tbody th {{ text-align: left; }}
td.yes {{ background: #c8f0c8; }}
td.admin {{ background: #e8e0f8; color: #555; }}
th.flagged {{ background: #ffd8a8; }}
</style>
</head>
<body>
<h1>{title}</h1>
<table>
<thead><tr><th scope="col">role \ rule</th>{header}</tr></thead>
<tbody>
{rows}</tbody>
</table>
<p>✓: the role grants the rule. Orange columns: rules no role grants (only the admin role can use them), or rules the service does not use.</p>
</body>
</html>"#,
            title = escape(title)
        )
    }
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
