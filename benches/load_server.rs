//! The servers of the load test (`benches/load/run.py`): a bare axum service and ours, the
//! same route and response body, and the token files the test sends. Not a criterion bench:
//! `cargo bench` runs it without arguments, and then it only says how to use it.
//!
//! ```text
//! load_server bare PORT                  # GET /entries -> "ok", no auth
//! load_server layered PORT               # bare behind two pass-through layers placed as ours are
//! load_server ours PORT [CACHE]          # the same behind Enforcer + RequireRule; the handler takes Wfc + Identity
//! load_server introspected PORT          # ours, opaque tokens asked of an RFC 7662 stand-in (feature introspection)
//! load_server tokens FILE COUNT [flat]   # COUNT distinct users' tokens, one per line (flat: for the peer)
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
        "ours" => {
            let acl = AclMap::from_yaml_str(&format!("- name: reader\n  allow: [{RULE}]\n"))
                .map_err(|e| e.to_string())?;
            let enforcer = TestIssuer::new()
                .enforcer_builder()
                .acl(acl)
                .token_cache(cache)
                .build()
                .map_err(|e| e.to_string())?;
            Ok(Router::new()
                .route("/entries", get(guarded).route_layer(RequireRule(RULE)))
                .layer(enforcer))
        }
        other => Err(format!("unknown server `{other}`")),
    }
}

/// Ours with no key: every token is asked of an RFC 7662 stand-in on loopback that says it is
/// active for the next hour (so after the first request, the answer comes from the cache).
#[cfg(feature = "introspection")]
async fn introspected() -> Result<Router, String> {
    use axum::{Json, routing::post};
    use tokenleader_rbac::Enforcer;
    use tokenleader_rbac::claims::ClaimMapping;
    use tokenleader_rbac::introspection::Introspection;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let url = format!(
        "http://{}/introspect",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let stand_in = Router::new().route(
        "/introspect",
        post(|| async {
            let exp = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
                + 3600;
            Json(serde_json::json!({"active": true, "sub": "user1", "scope": "reader", "exp": exp}))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, stand_in).await });
    let acl = AclMap::from_yaml_str(&format!(
        "- name: reader
  allow: [{RULE}]
"
    ))
    .map_err(|e| e.to_string())?;
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
async fn introspected() -> Result<Router, String> {
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
    let acl = AclMap::from_yaml_str(&format!("- name: reader\n  allow: [{RULE}]\n"))
        .map_err(|e| e.to_string())?;
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

/// `count` tokens of distinct users, valid for the next 23 hours.
fn tokens(path: &str, count: usize, flat: bool) -> Result<(), String> {
    let issuer = TestIssuer::new();
    let now = SystemTime::now();
    let lines: Vec<String> = std::thread::scope(|scope| {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let issuer = &issuer;
                scope.spawn(move || {
                    (worker..count)
                        .step_by(workers)
                        .map(|i| token(issuer, i, now, flat))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    });
    let mut file = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
    for line in lines {
        writeln!(file, "{line}").map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

fn token(issuer: &TestIssuer, i: usize, now: SystemTime, flat: bool) -> String {
    let lifetime = Duration::from_secs(23 * 3600);
    if flat {
        // The peer's claims: a flat `sub`, as jwt-authorizer's users have them.
        let exp = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            + lifetime;
        let claims = serde_json::json!({"sub": format!("user{i}"), "exp": exp.as_secs(), "roles": ["reader"]});
        return issuer.sign_raw(
            r#"{"typ":"JWT","alg":"RS512"}"#,
            &claims.to_string(),
            jsonwebtoken::Algorithm::RS512,
        );
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
            .and_then(|count| tokens(path, count, rest.first() == Some(&"flat"))),
        ["rotation-tokens", path, periods] => periods
            .parse()
            .map_err(|e| format!("N: {e}"))
            .and_then(|periods| rotation_tokens(path, periods)),
        ["idp", port, start, period] => match (start.parse(), period.parse()) {
            (Ok(start), Ok(period)) => idp(port, start, period),
            _ => Err("START and PERIOD are whole seconds".into()),
        },
        [
            mode @ ("bare" | "layered" | "ours" | "introspected" | "ours-jwks"),
            port,
            rest @ ..,
        ] => serve(mode, port, rest.first().copied().unwrap_or_default()),
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

/// Serves `mode` on `port`; `argument` is ours' cache size, or ours-jwks' JWKS URL.
fn serve(mode: &str, port: &str, argument: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let router = match mode {
            "introspected" => introspected().await?,
            // Its first fetch blocks: off the runtime's workers.
            "ours-jwks" => {
                let url = argument.to_owned();
                tokio::task::spawn_blocking(move || ours_jwks(&url))
                    .await
                    .map_err(|e| e.to_string())??
            }
            mode => router(mode, argument.parse().unwrap_or(10_000))?,
        };
        let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}"))
            .await
            .map_err(|e| format!("port {port}: {e}"))?;
        axum::serve(listener, router)
            .await
            .map_err(|e| e.to_string())
    })
}
