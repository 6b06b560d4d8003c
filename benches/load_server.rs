//! The servers of the load test (`benches/load/run.py`): a bare axum service and ours, the
//! same route and response body, and the token files the test sends. Not a criterion bench:
//! `cargo bench` runs it without arguments, and then it only says how to use it.
//!
//! ```text
//! load_server bare PORT                  # GET /entries -> "ok", no auth
//! load_server layered PORT               # bare behind two pass-through layers placed as ours are
//! load_server ours PORT [CACHE]          # the same behind Enforcer + RequireRule; the handler takes Wfc + Identity
//! load_server ours-bound PORT [CACHE]    # the same with the bound layer (`enforcer.require`), no router layer
//! load_server ours-issuers PORT N        # ours trusting N issuers (the last N of issuer-0..9); tokens of issuer-9
//! load_server introspected PORT [DELAY_MS STAND_IN_PORT]
//!                                        # ours, opaque tokens asked of an RFC 7662 stand-in (feature
//!                                        # introspection) that answers after DELAY_MS; GET /calls on
//!                                        # STAND_IN_PORT says how many times it was asked
//! load_server ours-reload PORT ACL_FILE  # ours, its map read from ACL_FILE and reloaded when it changes
//! load_server ours-dpop PORT             # ours, the issuer requiring DPoP (proofs up to 20 h old)
//! load_server dpop-proofs FILE COUNT PORT
//!                                        # a token bound to a DPoP key (first line), then COUNT
//!                                        # proofs of that key for GET http://127.0.0.1:PORT/entries
//! load_server tokens FILE COUNT [KIND]   # COUNT distinct users' tokens, one per line; KIND: tokenleader
//!                                        # (default), flat (the peers' claims), flat-kid (and a `kid`),
//!                                        # issuer-9 (the peers' claims and `iss` issuer-9)
//! load_server build-map RULES            # build() with a map of RULES rules: time and memory
//! load_server in-process MODE COUNT      # COUNT requests through MODE's router (bare, layered, ours,
//!                                        # ours-bound) in this process, no network: for callgrind
//!                                        # (benches/load/count.py)
//! load_server idp PORT START PERIOD      # an IdP's JWKS that rotates every PERIOD s from START (Unix s)
//! load_server ours-jwks PORT JWKS_URL    # ours, its keys from that JWKS (refetched at most once a second)
//! load_server rotation-tokens FILE N     # for each of N key periods, 20 tokens: `period token` lines
//! ```
//!
//! The rotating IdP signs period `i`'s tokens with key `rot-i` and publishes `rot-(i-1)` and
//! `rot-i` during period `i` (a key outlives its period by one, as providers keep a retired key
//! published while its tokens live). The periods' keys alternate between two RSA key pairs of
//! the tests' fixtures, so a token checked with the wrong period's key fails.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use axum::{Router, extract::Request, routing::get};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{AclMap, Identity, RequireRule, Wfc};
use tower::util::MapRequestLayer;

const RULE: &str = "micros1.entries.list";

async fn bare() -> &'static str {
    "ok"
}

async fn guarded(wfc: Wfc, who: Identity) -> &'static str {
    // Read what a real handler reads.
    std::hint::black_box((&wfc.org, &who.username));
    "ok"
}

/// The map of every server of ours: role `reader` may call the route.
fn reader_acl() -> Result<AclMap, String> {
    AclMap::from_yaml_str(&format!("- name: reader\n  allow: [{RULE}]\n"))
        .map_err(|e| e.to_string())
}

/// A layer that hands the request on unchanged.
fn pass_through() -> MapRequestLayer<fn(Request) -> Request> {
    MapRequestLayer::new(std::convert::identity)
}

fn router(mode: &str, cache: usize) -> Result<Router, String> {
    match mode {
        "bare" => Ok(Router::new().route("/entries", get(bare))),
        // What axum's boxing of a route layer and a router layer costs any middleware.
        "layered" => Ok(Router::new()
            .route("/entries", get(bare).route_layer(pass_through()))
            .layer(pass_through())),
        "ours" | "ours-bound" => {
            let acl = reader_acl()?;
            let enforcer = TestIssuer::new()
                .enforcer_builder()
                .acl(acl)
                .token_cache(cache)
                .build()
                .map_err(|e| e.to_string())?;
            Ok(match mode {
                "ours" => Router::new()
                    .route("/entries", get(guarded).route_layer(RequireRule(RULE)))
                    .layer(enforcer),
                _ => Router::new()
                    .route("/entries", get(guarded).route_layer(enforcer.require(RULE))),
            })
        }
        other => Err(format!("unknown server `{other}`")),
    }
}

/// Ours with its issuer requiring DPoP: every request brings a new proof, checked with its
/// own key (ES256), and the token comes from the cache. Proofs may be 20 h old, so that a file
/// made before the run serves it; the replay store holds every proof of a round.
fn ours_dpop() -> Result<Router, String> {
    use tokenleader_rbac::dpop::Dpop;
    let enforcer = TestIssuer::new()
        .enforcer_builder()
        .acl(reader_acl()?)
        .dpop(Dpop::required().max_age(Duration::from_secs(20 * 3600)))
        .dpop_replay_capacity(5_000_000)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Router::new()
        .route("/entries", get(guarded).route_layer(RequireRule(RULE)))
        .layer(enforcer))
}

/// A token bound to an ES256 DPoP key, then `count` proofs of that key for
/// `GET http://127.0.0.1:{port}/entries`, one per line.
fn dpop_proofs(path: &str, count: usize, port: &str) -> Result<(), String> {
    use tokenleader_rbac::test_util::DpopKey;
    let key = DpopKey::es256();
    let token = TestIssuer::new()
        .token()
        .roles(["reader"])
        .lifetime(Duration::from_secs(23 * 3600))
        .bound_to(&key)
        .sign();
    let url = format!("http://127.0.0.1:{port}/entries");
    let proofs = on_every_core(count, |i| {
        key.proof("GET", &url)
            .token(&token)
            .jti(&format!("load-{i}"))
            .sign()
    });
    let file = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
    let mut file = std::io::BufWriter::new(file);
    for line in std::iter::once(&token).chain(&proofs) {
        writeln!(file, "{line}").map_err(|e| format!("{path}: {e}"))?;
    }
    file.flush().map_err(|e| format!("{path}: {e}"))
}

/// The issuers that `ours-issuers` may trust; its tokens are of the last.
fn issuer_name(i: usize) -> String {
    format!("https://issuer-{i}.example")
}

/// Ours trusting the last `count` of ten issuers (each by its `iss`, all with the test key):
/// the tokens, of the tenth, are routed past the others.
fn ours_issuers(count: usize) -> Result<Router, String> {
    use tokenleader_rbac::claims::ClaimMapping;
    use tokenleader_rbac::{Enforcer, Issuer};
    let acl = reader_acl()?;
    let key = TestIssuer::new().public_key();
    let builder = (10 - count.clamp(1, 10)..10).fold(Enforcer::builder(), |builder, i| {
        builder.trust(
            Issuer::new(issuer_name(i))
                .public_key(key.clone())
                .algorithms([tokenleader_rbac::Algorithm::RS512])
                .claim_mapping(ClaimMapping::new().roles("/roles")),
        )
    });
    let enforcer = builder.acl(acl).build().map_err(|e| e.to_string())?;
    Ok(Router::new()
        .route("/entries", get(guarded).route_layer(RequireRule(RULE)))
        .layer(enforcer))
}

/// Ours with its map read from `path`, watched, and reloaded when it changes; each reload
/// printed (`reloaded` or `refused`) so the load test can count them.
fn ours_reload(path: &str) -> Result<Router, String> {
    use tokenleader_rbac::reload::ReloadEvent;
    let enforcer = TestIssuer::new()
        .enforcer_builder()
        .acl_file(path)
        .watch(true)
        .on_reload(|event| match event {
            ReloadEvent::Refused { error, .. } => println!("refused: {error}"),
            _ => println!("reloaded"),
        })
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Router::new()
        .route("/entries", get(guarded).route_layer(RequireRule(RULE)))
        .layer(enforcer))
}

/// `build()` with a map of `rules` rules (100 roles, each allowed its own share), read from a
/// file as a service reads it: the time it takes and the memory it adds, printed. The rules'
/// names are short (`r` and a hex number) so that 100,000 fit in an ACL file's 1 MiB.
fn build_map(rules: usize) -> Result<(), String> {
    use std::fmt::Write as _;
    let roles = 100;
    let mut yaml = String::new();
    for role in 0..roles {
        let names: Vec<String> = (role..rules)
            .step_by(roles)
            .map(|rule| format!("r{rule:x}"))
            .collect();
        let _ = writeln!(yaml, "- name: role{role}\n  allow: [{}]", names.join(", "));
    }
    let path = std::env::temp_dir().join(format!("load-map-{}.yml", std::process::id()));
    std::fs::write(&path, &yaml).map_err(|e| format!("{}: {e}", path.display()))?;
    let resident_before = memory_kib("VmRSS");
    let started = std::time::Instant::now();
    let built = TestIssuer::new().enforcer_builder().acl_file(&path).build();
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(&path);
    // Held until the memory is read.
    let _enforcer = built.map_err(|e| e.to_string())?;
    let resident_after = memory_kib("VmRSS");
    println!(
        "build() with a map of {rules} rules ({roles} roles, {:.2} MiB of YAML): {:.0} ms; \
         resident memory {:+.1} MiB (peak of the process {:.1} MiB)",
        yaml.len() as f64 / 1048576.0,
        elapsed.as_secs_f64() * 1000.0,
        (resident_after as f64 - resident_before as f64) / 1024.0,
        memory_kib("VmHWM") as f64 / 1024.0,
    );
    Ok(())
}

/// A line of `/proc/self/status` in KiB (0 where there is none).
fn memory_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Ours with no key: every token is asked of an RFC 7662 stand-in on loopback that answers
/// after `delay` that it is active for the next hour (so after the first request, the answer
/// comes from the cache). The stand-in listens on `stand_in_port` (0: any), where `GET /calls`
/// says how many times it was asked.
#[cfg(feature = "introspection")]
async fn introspected(delay: Duration, stand_in_port: u16) -> Result<Router, String> {
    use axum::{Json, routing::post};
    use tokenleader_rbac::Enforcer;
    use tokenleader_rbac::claims::ClaimMapping;
    use tokenleader_rbac::introspection::Introspection;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", stand_in_port))
        .await
        .map_err(|e| format!("port {stand_in_port}: {e}"))?;
    let url = format!(
        "http://{}/introspect",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let calls = Arc::new(AtomicU64::new(0));
    let counted = calls.clone();
    let stand_in = Router::new()
        .route(
            "/introspect",
            post(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(delay).await;
                    let exp = SystemTime::now()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs()
                        + 3600;
                    Json(
                        serde_json::json!({"active": true, "sub": "user1", "scope": "reader", "exp": exp}),
                    )
                }
            }),
        )
        .route(
            "/calls",
            get(move || async move { calls.load(Ordering::SeqCst).to_string() }),
        );
    tokio::spawn(async move { axum::serve(listener, stand_in).await });
    let acl = reader_acl()?;
    let introspection = Introspection::rfc7662(url)
        .claim_mapping(ClaimMapping::new().roles_space_separated("/scope"))
        .max_ttl(Duration::from_secs(3600));
    let enforcer = Enforcer::builder()
        .introspection(introspection)
        .acl(acl)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Router::new()
        .route("/entries", get(guarded).route_layer(RequireRule(RULE)))
        .layer(enforcer))
}

#[cfg(not(feature = "introspection"))]
async fn introspected(_delay: Duration, _stand_in_port: u16) -> Result<Router, String> {
    Err("build with `--features introspection`".into())
}

/// The rotating IdP's two key pairs (private PEM, public JWK), from the tests' fixtures.
fn rotation_key(period: u64) -> (String, serde_json::Value) {
    let name = ["trusted", "attacker"][(period % 2) as usize];
    let fixture = |file: String| {
        let path = format!(
            "{}/tests/fixtures/test_keys/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))
    };
    let private = fixture(format!("{name}_private.pem")).unwrap_or_default();
    let mut jwk: serde_json::Value =
        serde_json::from_str(&fixture(format!("{name}_public.jwk.json")).unwrap_or_default())
            .unwrap_or_default();
    jwk["kid"] = format!("rot-{period}").into();
    jwk["alg"] = "RS512".into();
    (private, jwk)
}

/// For each of `periods` key periods, 20 users' tokens signed with that period's key.
fn rotation_tokens(path: &str, periods: u64) -> Result<(), String> {
    let now = SystemTime::now();
    let mut file = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
    for period in 0..periods {
        let (private, jwk) = rotation_key(period);
        let public =
            tokenleader_rbac::PublicKey::from_jwk(&jwk.to_string()).map_err(|e| e.to_string())?;
        let issuer = TestIssuer::with_key(&private, public);
        for user in 0..20 {
            let claims = issuer
                .token()
                .user(format!("user{user}"))
                .roles(["reader"])
                .issued_at(now)
                .lifetime(Duration::from_secs(23 * 3600))
                .claims();
            let header = format!(r#"{{"alg":"RS512","kid":"rot-{period}"}}"#);
            let token =
                issuer.sign_raw(&header, &claims.to_string(), jsonwebtoken::Algorithm::RS512);
            writeln!(file, "{period} {token}").map_err(|e| format!("{path}: {e}"))?;
        }
    }
    Ok(())
}

/// The rotating IdP: `/jwks` answers the keys of the period now and of the one before.
fn idp(port: &str, start: u64, period: u64) -> Result<(), String> {
    let fetches = Arc::new(AtomicU64::new(0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let jwks = get(move || {
            let fetches = fetches.clone();
            async move {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs();
                let current = now.saturating_sub(start) / period.max(1);
                let keys: Vec<serde_json::Value> = (current.saturating_sub(1)..=current)
                    .map(|period| rotation_key(period).1)
                    .collect();
                let fetch = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                println!("fetch {fetch} at {now}: periods up to {current}");
                axum::Json(serde_json::json!({ "keys": keys }))
            }
        });
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
            .await
            .map_err(|e| format!("port {port}: {e}"))?;
        axum::serve(listener, Router::new().route("/jwks", jwks))
            .await
            .map_err(|e| e.to_string())
    })
}

/// Ours, its keys from the rotating IdP's JWKS.
#[cfg(feature = "jwks")]
fn ours_jwks(url: &str) -> Result<Router, String> {
    let acl = reader_acl()?;
    let enforcer = tokenleader_rbac::Enforcer::builder()
        .jwks_url(url)
        .jwks_min_refetch_interval(Duration::from_secs(1))
        .acl(acl)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Router::new()
        .route("/entries", get(guarded).route_layer(RequireRule(RULE)))
        .layer(enforcer))
}

#[cfg(not(feature = "jwks"))]
fn ours_jwks(_url: &str) -> Result<Router, String> {
    Err("build with `--features jwks`".into())
}

/// What the tokens of `load_server tokens` look like.
#[derive(Clone, Copy)]
enum TokenKind {
    /// tokenleader's claims (`sub` an object holding the user, roles and wfc).
    Tokenleader,
    /// The peers' claims: a flat `sub` and `roles`.
    Flat,
    /// The peers' claims with `kid` `load-key` in the header (tower-oauth2-resource-server
    /// finds its key by it).
    FlatKid,
    /// The peers' claims with `iss` the tenth issuer of `ours-issuers`, as an OpenID
    /// provider's access token has them.
    Issuer9,
}

impl TokenKind {
    fn parse(kind: Option<&str>) -> Result<TokenKind, String> {
        match kind {
            None | Some("tokenleader") => Ok(TokenKind::Tokenleader),
            Some("flat") => Ok(TokenKind::Flat),
            Some("flat-kid") => Ok(TokenKind::FlatKid),
            Some("issuer-9") => Ok(TokenKind::Issuer9),
            Some(other) => Err(format!("unknown token kind `{other}`")),
        }
    }
}

/// `make(i)` for every `i` below `count`, spread over the cores (signing is the slow part).
fn on_every_core(count: usize, make: impl Fn(usize) -> String + Sync) -> Vec<String> {
    std::thread::scope(|scope| {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let make = &make;
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                scope.spawn(move || {
                    (worker..count)
                        .step_by(workers)
                        .map(make)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    })
}

/// `count` tokens of distinct users, valid for the next 23 hours.
fn tokens(path: &str, count: usize, kind: TokenKind) -> Result<(), String> {
    let issuer = TestIssuer::new();
    let now = SystemTime::now();
    let lines = on_every_core(count, |i| token(&issuer, i, now, kind));
    let mut file = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
    for line in lines {
        writeln!(file, "{line}").map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

fn token(issuer: &TestIssuer, i: usize, now: SystemTime, kind: TokenKind) -> String {
    let lifetime = Duration::from_secs(23 * 3600);
    let header = match kind {
        TokenKind::Flat => r#"{"typ":"JWT","alg":"RS512"}"#,
        TokenKind::FlatKid => r#"{"typ":"JWT","alg":"RS512","kid":"load-key"}"#,
        TokenKind::Issuer9 => r#"{"typ":"JWT","alg":"RS512"}"#,
        TokenKind::Tokenleader => "",
    };
    if !header.is_empty() {
        // The peers' claims: a flat `sub`, as their users have them.
        let exp = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            + lifetime;
        let mut claims = serde_json::json!({"sub": format!("user{i}"), "exp": exp.as_secs(), "roles": ["reader"]});
        if let TokenKind::Issuer9 = kind {
            claims["iss"] = issuer_name(9).into();
        }
        return issuer.sign_raw(header, &claims.to_string(), jsonwebtoken::Algorithm::RS512);
    }
    issuer
        .token()
        .user(format!("user{i}"))
        .roles(["reader"])
        .issued_at(now)
        .lifetime(lifetime)
        .sign()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["tokens", path, count, rest @ ..] => count
            .parse()
            .map_err(|e| format!("COUNT: {e}"))
            .and_then(|count| Ok((count, TokenKind::parse(rest.first().copied())?)))
            .and_then(|(count, kind)| tokens(path, count, kind)),
        ["dpop-proofs", path, count, port] => count
            .parse()
            .map_err(|e| format!("COUNT: {e}"))
            .and_then(|count| dpop_proofs(path, count, port)),
        ["in-process", mode, count] => count
            .parse()
            .map_err(|e| format!("COUNT: {e}"))
            .and_then(|count| in_process(mode, count)),
        ["build-map", rules] => rules
            .parse()
            .map_err(|e| format!("RULES: {e}"))
            .and_then(build_map),
        ["rotation-tokens", path, periods] => periods
            .parse()
            .map_err(|e| format!("N: {e}"))
            .and_then(|periods| rotation_tokens(path, periods)),
        ["idp", port, start, period] => match (start.parse(), period.parse()) {
            (Ok(start), Ok(period)) => idp(port, start, period),
            _ => Err("START and PERIOD are whole seconds".into()),
        },
        [
            mode @ ("bare" | "layered" | "ours" | "ours-bound" | "introspected" | "ours-jwks"
            | "ours-issuers" | "ours-reload" | "ours-dpop"),
            port,
            rest @ ..,
        ] => serve(mode, port, rest),
        _ => {
            println!("load_server: run benches/load/run.py (see the file's header)");
            Ok(())
        }
    };
    if let Err(error) = outcome {
        eprintln!("load_server: {error}");
        std::process::exit(2);
    }
}

/// Sends `count` requests with one token through `mode`'s router, in this process and on one
/// thread: no network, no other thread, so that an instruction count (callgrind) divided by
/// the requests is the same from run to run. Each request goes through a clone of the router,
/// as `axum::serve` hands each connection one.
fn in_process(mode: &str, count: usize) -> Result<(), String> {
    use tower::{Service, ServiceExt};
    let token = token(
        &TestIssuer::new(),
        0,
        SystemTime::now(),
        TokenKind::Tokenleader,
    );
    // As `axum::serve` does: with its state given, a router makes each route (its handler
    // boxed, its layers applied) once; without, it makes it again for every request.
    let router = router(mode, 10_000)?.with_state(());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        for _ in 0..count {
            let request = Request::get("/entries")
                .header("x-auth-token", &token)
                .body(axum::body::Body::empty())
                .map_err(|e| e.to_string())?;
            let mut service = router.clone();
            let ready = ServiceExt::<Request>::ready(&mut service)
                .await
                .map_err(|e| e.to_string())?;
            let response = ready.call(request).await.map_err(|e| e.to_string())?;
            if response.status() != http::StatusCode::OK {
                return Err(format!("answered {}", response.status()));
            }
        }
        Ok(())
    })
}

/// Serves `mode` on `port`; `arguments` are the mode's own (see the file's header).
fn serve(mode: &str, port: &str, arguments: &[&str]) -> Result<(), String> {
    let argument = |i: usize| arguments.get(i).copied().unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let router = match mode {
            "introspected" => {
                let delay = Duration::from_millis(argument(0).parse().unwrap_or(0));
                introspected(delay, argument(1).parse().unwrap_or(0)).await?
            }
            // Its first fetch blocks: off the runtime's workers.
            "ours-jwks" => {
                let url = argument(0).to_owned();
                tokio::task::spawn_blocking(move || ours_jwks(&url))
                    .await
                    .map_err(|e| e.to_string())??
            }
            "ours-issuers" => ours_issuers(argument(0).parse().unwrap_or(1))?,
            "ours-reload" => ours_reload(argument(0))?,
            "ours-dpop" => ours_dpop()?,
            mode => router(mode, argument(0).parse().unwrap_or(10_000))?,
        };
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
            .await
            .map_err(|e| format!("port {port}: {e}"))?;
        axum::serve(listener, router)
            .await
            .map_err(|e| e.to_string())
    })
}
