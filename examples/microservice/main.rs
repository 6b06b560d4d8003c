//! An example microservice guarded by tokenleader-rbac.
//!
//! ```text
//! cargo run --example microservice --all-features # demo keys, demo token issuer, example ACL
//! cargo run --example microservice --all-features -- --public-key /etc/tokenleader/id_rsa.pub \
//!     --acl-file /etc/tokenleader/role_to_acl_map.yml --port 8080
//! cargo run --example microservice --all-features -- \
//!     --verify-remote http://127.0.0.1:5001 --acl-file role_to_acl_map.example.yml
//! ```
//!
//! With its embedded defaults it verifies tokens with the DEMO-ONLY key pair of
//! `examples/demo/` and issues them itself at `POST /token/gettoken` for the demo users
//! (user1/user1 role1, user2/user2 role1+role2, user3/user3 role2, admin/admin admin).
//! Given `--public-key`, it verifies the tokens of a real tokenleader server instead, and
//! issues none; given `--verify-remote URL` (feature `introspection`), it has no key and asks
//! that server (`GET /token/verify_token`) about each token, its answers cached. Its routes require `micros1.*` rules (`examples/microservice/rules.txt`):
//! against a real server, run it with `--acl-file role_to_acl_map.example.yml`, or add those
//! rules to your roles in the server's map; the start-up banner says which role reaches which
//! route with the map actually loaded.
//!
//! A start-up error is printed as its message (`error: ACL file dup.yml line 3: role `role1`
//! listed twice`) and the process exits with status 1.

mod app;
mod issuer;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokenleader_rbac::{AclMap, Enforcer, PublicKey, revocation::MemoryRevocation};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(about = "Example microservice guarded by tokenleader-rbac")]
struct Args {
    /// Port on 127.0.0.1.
    #[arg(long, env = "PORT", default_value_t = 5003)]
    port: u16,
    /// The tokenleader server's public key (ssh-rsa line or PEM). Default: the demo key, and
    /// the demo token issuer.
    #[arg(long, env = "TL_PUBLIC_KEY_FILE")]
    public_key: Option<PathBuf>,
    /// The ACL file. Default: the embedded role_to_acl_map.example.yml.
    #[arg(long, env = "TL_ACL_FILE")]
    acl_file: Option<PathBuf>,
    /// Print the rules this service uses, as `service_access_policy.yml` (for
    /// `tokenleader-rbac acl check MAP --rules-from FILE` in CI), and exit.
    #[arg(long)]
    print_rules: bool,
    /// Ask this tokenleader server about each token (`/token/verify_token`) instead of
    /// checking it with a key.
    #[cfg(feature = "introspection")]
    #[arg(long, env = "TL_VERIFY_REMOTE", conflicts_with = "public_key")]
    verify_remote: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    // `main` returning `Err` would print the error's Debug form: print its message instead.
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to standard error: standard output carries `--print-rules`.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tokenleader_rbac=debug")),
        )
        .init();
    let args = Args::parse();

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let base_url = format!("http://{}", listener.local_addr()?);

    // Files given by path are watched and hot-reloaded; the embedded defaults are not.
    #[cfg(feature = "introspection")]
    let remote = args.verify_remote.as_deref();
    #[cfg(not(feature = "introspection"))]
    let remote: Option<&str> = None;
    let demo = args.public_key.is_none() && remote.is_none();
    let builder = match &args.public_key {
        Some(path) => Enforcer::builder().public_key_file(path),
        None => {
            Enforcer::builder().public_key(PublicKey::from_pem(issuer::DEMO_PUBLIC_KEY.as_bytes())?)
        }
    };
    #[cfg(feature = "introspection")]
    let builder = match remote {
        Some(url) => {
            let server = tokenleader_rbac::introspection::Introspection::tokenleader(url);
            Enforcer::builder().introspection(server)
        }
        None => builder,
    };
    let enforcer = match &args.acl_file {
        Some(path) => builder.acl_file(path),
        None => builder.acl(AclMap::from_yaml_str(app::EXAMPLE_ACL)?),
    }
    .revocation(MemoryRevocation::new())
    .build()?;
    reload_on_sighup(enforcer.clone());
    let issuer = match demo {
        true => Some(issuer::DemoIssuer::new(base_url.clone())?),
        false => None,
    };

    let downstream = app::Downstream {
        http: reqwest::Client::new(),
        base_url: base_url.clone(),
    };
    let router = app::router(enforcer.clone(), issuer, downstream);
    if args.print_rules {
        print!(
            "{}",
            tokenleader_rbac::rules::AccessPolicy::used().to_yaml()?
        );
        return Ok(());
    }
    log_rules_report(&enforcer);
    print_walkthrough(&base_url, demo);
    print_access(&enforcer.acl());
    axum::serve(listener, router).await?;
    Ok(())
}

/// The rules no role grants (their routes are the admin's only), and the grants no route
/// uses: a map and a service that drifted apart.
fn log_rules_report(enforcer: &Enforcer) {
    let report = enforcer.rules_report();
    for rule in &report.ungranted {
        tracing::warn!(
            rule,
            "no role grants this rule: its routes are the admin's only"
        );
    }
    for (role, rule) in &report.unused_grants {
        tracing::info!(role, rule, "this grant matches no route of the service");
    }
}

/// `kill -HUP <pid>` re-reads the ACL and key files now (they are also watched).
#[cfg(unix)]
fn reload_on_sighup(enforcer: Enforcer) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP");
        return;
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let enforcer = enforcer.clone();
            // reload() reads files and waits for them to settle: keep it off the async workers.
            match tokio::task::spawn_blocking(move || enforcer.reload()).await {
                Ok(Ok(())) => tracing::info!("SIGHUP: reload done"),
                Ok(Err(error)) => tracing::error!(%error, "SIGHUP: reload refused"),
                Err(error) => tracing::error!(%error, "SIGHUP: reload task failed"),
            }
        }
    });
}

#[cfg(not(unix))]
fn reload_on_sighup(_enforcer: Enforcer) {}

/// Which role reaches which route with the map actually loaded.
fn print_access(acl: &AclMap) {
    println!("# with the ACL map loaded now:");
    for line in app::access_report(acl) {
        println!("#   {line}");
    }
    println!();
}

fn print_walkthrough(base: &str, demo: bool) {
    println!("tokenleader-rbac example microservice listening on {base}");
    if demo {
        println!("DEMO MODE: tokens are signed with the demo-only key in examples/demo/\n");
        println!("# get a token (user1/user1 has role1; also user2, user3, admin)");
        println!(
            "TOKEN=$(curl -s -X POST {base}/token/gettoken -H 'Content-Type: application/json' \
             -d '{{\"username\":\"user1\",\"password\":\"user1\"}}' \
             | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"auth_token\"])')"
        );
    } else {
        println!("\n# get a token from your tokenleader server, then:");
        println!("TOKEN=...");
    }
    println!("\n# the entries of your org only (rule micros1.entries.list)");
    println!("curl -i {base}/entries -H \"X-Auth-Token: $TOKEN\"");
    println!("# create an entry in your org (rule micros1.entries.create)");
    println!(
        "curl -i -X POST {base}/entries -H \"X-Auth-Token: $TOKEN\" -H 'Content-Type: application/json' -d '{{\"title\":\"new\"}}'"
    );
    println!("# who am I, as the token says");
    println!("curl -i {base}/whoami -H \"Authorization: Bearer $TOKEN\"");
    println!("# admins only, unless a role lists micros1.users.list");
    println!("curl -i {base}/admin/users -H \"X-Auth-Token: $TOKEN\"");
    println!("# service to service: /report calls /entries with your own token");
    println!("curl -s {base}/report -H \"X-Auth-Token: $TOKEN\"");
    println!("# log out: the token is refused from now on");
    println!("curl -i -X POST {base}/logout -H \"X-Auth-Token: $TOKEN\"");
    println!("# 401: no token");
    println!("curl -i {base}/entries\n");
    println!(
        "# with --acl-file, edits to the file apply live; `kill -HUP {}` reloads at once",
        std::process::id()
    );
}
