#!/usr/bin/env python3
"""What the crate costs to build: a minimal axum service (one guarded route) built cold in
release mode, bare and with each of: this crate (default features: aws-lc-rs, axum; and with
the RustCrypto backend instead),
jwt-authorizer 0.15 and tower-oauth2-resource-server 0.12.5. The peers' defaults take TLS from
OpenSSL (native-tls), which a fresh machine cannot build without its headers: they get rustls
instead (the TLS this crate's network features use), and tower-oauth2-resource-server the
aws-lc-rs backend this crate defaults to; their other defaults stay. Prints, for each, the wall time of
a cold `cargo build --release` (its own empty target directory; sources fetched beforehand, so
the network is not timed), the number of crates compiled, and both minus the bare service's.

    python3 benches/build_cost/run.py [--rounds 1] [--jobs N] [--only SERVICE...]

The services are written to target/build-cost/ (each its own package and lock file, resolved
to the newest versions when first run). Needs network access to crates.io for the first run.
Each cold build takes one to three minutes on a 2-core machine.
"""

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "target" / "build-cost"

COMMON = """tokio = { version = "1", features = ["rt-multi-thread", "net", "macros"] }
"""

SERVICES = {
    "bare": (
        'axum = "0.8"\n',
        """use axum::{Router, routing::get};

async fn entries() -> &'static str {
    "ok"
}

#[tokio::main]
async fn main() {
    let app = Router::new().route("/entries", get(entries));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
""",
    ),
    "tokenleader-rbac": (
        f'axum = "0.8"\ntokenleader-rbac = {{ path = "{ROOT}" }}\n',
        """use axum::{Router, routing::get};
use tokenleader_rbac::{Enforcer, Identity, RequireRule};

async fn entries(who: Identity) -> String {
    who.username.to_string()
}

#[tokio::main]
async fn main() {
    let enforcer = Enforcer::builder()
        .public_key_file("public_key.pem")
        .acl_file("role_to_acl_map.yml")
        .build()
        .unwrap();
    let app = Router::new()
        .route("/entries", get(entries).route_layer(RequireRule("micros1.entries.list")))
        .layer(enforcer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
""",
    ),
    # The same service with the RustCrypto backend instead of aws-lc-rs (no C to build).
    "tokenleader-rbac-rust-crypto": None,
    "jwt-authorizer": (
        # jwt-authorizer 0.15 is built on axum 0.7.
        'axum = "0.7"\n'
        'jwt-authorizer = { version = "0.15", default-features = false, features = ["rustls-tls", "chrono"] }\n'
        'serde = { version = "1", features = ["derive"] }\n',
        """use axum::{Router, routing::get};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims};
use serde::Deserialize;

#[derive(Clone, Deserialize)]
struct User {
    sub: String,
}

async fn entries(JwtClaims(user): JwtClaims<User>) -> String {
    user.sub
}

#[tokio::main]
async fn main() {
    let authorizer: Authorizer<User> = JwtAuthorizer::from_rsa_pem("public_key.pem")
        .build()
        .await
        .unwrap();
    let app = Router::new()
        .route("/entries", get(entries))
        .layer(authorizer.into_layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
""",
    ),
    "tower-oauth2-resource-server": (
        'axum = "0.8"\n'
        'tower-oauth2-resource-server = { version = "0.12.5", default-features = false, features = ["rustls", "jwt-aws-lc-rs"] }\n'
        'serde = { version = "1", features = ["derive"] }\n',
        """use axum::{Extension, Router, routing::get};
use serde::Deserialize;
use tower_oauth2_resource_server::server::OAuth2ResourceServer;
use tower_oauth2_resource_server::tenant::TenantConfiguration;

#[derive(Clone, Debug, Deserialize)]
struct User {
    sub: String,
}

async fn entries(Extension(user): Extension<User>) -> String {
    user.sub
}

#[tokio::main]
async fn main() {
    let tenant = TenantConfiguration::static_builder(std::fs::read_to_string("jwks.json").unwrap())
        .build()
        .unwrap();
    let resource_server = OAuth2ResourceServer::<User>::builder()
        .add_tenant(tenant)
        .build()
        .await
        .unwrap();
    let app = Router::new()
        .route("/entries", get(entries))
        .layer(resource_server.into_layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
""",
    ),
}


SERVICES["tokenleader-rbac-rust-crypto"] = (
    f'axum = "0.8"\ntokenleader-rbac = {{ path = "{ROOT}", default-features = false, features = ["rust-crypto", "axum"] }}\n',
    SERVICES["tokenleader-rbac"][1],
)


def write(name, dependencies, main):
    package = WORK / name
    (package / "src").mkdir(parents=True, exist_ok=True)
    (package / "Cargo.toml").write_text(
        f'[package]\nname = "build-cost-{name}"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
        f"[dependencies]\n{COMMON}{dependencies}\n[workspace]\nmembers = [\".\"]\n"
    )
    (package / "src" / "main.rs").write_text(main)
    return package


def cold_build(package, jobs):
    """Seconds and crates compiled by a cold release build of `package`."""
    target = package / "target"
    shutil.rmtree(target, ignore_errors=True)
    command = ["cargo", "build", "--release", "--manifest-path", str(package / "Cargo.toml")]
    if jobs:
        command += ["--jobs", str(jobs)]
    started = time.monotonic()
    out = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if out.returncode != 0:
        sys.exit(f"{package.name} does not build:\n{out.stderr}")
    return elapsed, len(re.findall(r"^\s+Compiling ", out.stderr, re.MULTILINE))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--only", nargs="+", choices=[n for n in SERVICES if n != "bare"],
                        help="these services (and bare) alone")
    args = parser.parse_args()
    chosen = {n: s for n, s in SERVICES.items() if not args.only or n == "bare" or n in args.only}
    packages = {name: write(name, *service) for name, service in chosen.items()}
    for package in packages.values():
        subprocess.run(["cargo", "fetch", "--manifest-path", str(package / "Cargo.toml")], check=True)
    results = {name: [] for name in packages}
    for round_ in range(args.rounds):
        for name, package in packages.items():
            results[name].append(cold_build(package, args.jobs))
            seconds, crates = results[name][-1]
            print(f"round {round_ + 1}: {name} built in {seconds:.0f} s, {crates} crates", file=sys.stderr)
    seconds = {name: statistics.median(r[0] for r in rs) for name, rs in results.items()}
    crates = {name: rs[0][1] for name, rs in results.items()}
    print(f"\ncold `cargo build --release` of a minimal axum service, median of {args.rounds} round(s)\n")
    print("| service | build time | crates compiled | added to bare axum |")
    print("| --- | --- | --- | --- |")
    for name in packages:
        added = "" if name == "bare" else f"+{seconds[name] - seconds['bare']:.0f} s, +{crates[name] - crates['bare']} crates"
        print(f"| {name} | {seconds[name]:.0f} s | {crates[name]} | {added} |")


if __name__ == "__main__":
    main()
