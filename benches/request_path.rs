//! The request path, piece by piece and whole.
//!
//! `cargo bench --bench request_path`
//!
//! - `verify_raw`: jsonwebtoken's RS512 signature check alone (the floor);
//! - `verify_cold`: our whole verification with the cache off (2048- and 4096-bit keys);
//! - `verify_cached`: a cache hit;
//! - `acl_decide`, `acl_decide_patterns`, `acl_decide_inherited`: a decision with maps of 10,
//!   1,000 and 100,000 rules: exact rules, patterns, inherited grants and denies;
//! - `layer`: one request through a tower service without the middleware (`no_layer`), allowed
//!   with a cached token (`allow_cached`: `.layer(enforcer)` and `RequireRule`;
//!   `allow_cached_bound`: the layer bound to the enforcer, `enforcer.require`), the same bare
//!   service given only the two values an allowed request carries in its extensions
//!   (`extensions_only`: what the extension contract costs by itself), allowed with the cache
//!   off, and denied for a garbage token;
//! - `layer/allow_dpop`: allowed with a cached DPoP-bound token and a new ES256 proof (made
//!   outside the timing), beside `dpop/es256_signature`, the proof's signature check alone.

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::Full;
use jsonwebtoken::{Algorithm, DecodingKey};
use tokenleader_rbac::dpop::Dpop;
use tokenleader_rbac::test_util::{DpopKey, TestIssuer};
use tokenleader_rbac::{
    AclMap, Authorized, Enforcer, EnforcerBuilder, Issuer, PublicKey, RequireRule,
};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

const PRIVATE_2048: &str = include_str!("../tests/fixtures/test_keys/trusted_private.pem");
const PUBLIC_2048: &str = include_str!("../tests/fixtures/test_keys/trusted_public.pem");
const PRIVATE_4096: &str = include_str!("../tests/fixtures/test_keys/trusted4096_private.pem");
const PUBLIC_4096: &str = include_str!("../tests/fixtures/test_keys/trusted4096_public.pem");
const ACL: &str = include_str!("../tests/fixtures/tokenleader/role_to_acl_map.yml");
const RULE: &str = "service1:first_api:rulename1";
const NOW: u64 = 1_800_000_000;

fn clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

/// A tokenleader-shaped token for user2 (roles role1, role2), signed with `private_pem`.
fn token(private_pem: &str, public_pem: &str) -> String {
    let public = PublicKey::from_pem(public_pem.as_bytes()).expect("bench key");
    TestIssuer::with_key(private_pem, public)
        .token()
        .id(2)
        .user("user2")
        .roles(["role2", "role1"])
        .wfc("wfc2", "org2", "ou2", "dept2")
        .issued_at(clock())
        .sign()
}

fn builder(public_pem: &str) -> EnforcerBuilder {
    Enforcer::builder()
        .public_key(PublicKey::from_pem(public_pem.as_bytes()).expect("bench key"))
        .acl(AclMap::from_yaml_str(ACL).expect("ACL"))
        .clock(clock)
}

fn verify(c: &mut Criterion) {
    let token_2048 = token(PRIVATE_2048, PUBLIC_2048);
    let (message, signature) = token_2048.rsplit_once('.').expect("three parts");
    let raw_key = DecodingKey::from_rsa_pem(PUBLIC_2048.as_bytes()).expect("key");
    c.bench_function("verify_raw/2048", |b| {
        b.iter(|| {
            jsonwebtoken::crypto::verify(
                black_box(signature),
                message.as_bytes(),
                &raw_key,
                Algorithm::RS512,
            )
            .expect("valid")
        })
    });

    let mut cold = c.benchmark_group("verify_cold");
    for (bits, private, public) in [
        (2048, PRIVATE_2048, PUBLIC_2048),
        (4096, PRIVATE_4096, PUBLIC_4096),
    ] {
        let enforcer = builder(public).token_cache(0).build().expect("enforcer");
        let token = token(private, public);
        cold.bench_function(BenchmarkId::from_parameter(bits), |b| {
            b.iter(|| enforcer.verify(black_box(&token)).expect("valid"))
        });
    }
    cold.finish();

    let enforcer = builder(PUBLIC_2048).build().expect("enforcer");
    enforcer.verify(&token_2048).expect("valid");
    c.bench_function("verify_cached", |b| {
        b.iter(|| enforcer.verify(black_box(&token_2048)).expect("valid"))
    });

    // A second, trusted issuer: its tokens name it in `iss`.
    let other = PublicKey::from_pem(PUBLIC_4096.as_bytes()).expect("bench key");
    let iss = "https://idp.example/realms/acme";
    let enforcer = builder(PUBLIC_2048)
        .trust(
            Issuer::new(iss)
                .public_key(other.clone())
                .algorithms([Algorithm::RS512]),
        )
        .build()
        .expect("enforcer");
    let token = TestIssuer::with_key(PRIVATE_4096, other)
        .token()
        .user("user2")
        .roles(["role1"])
        .issued_at(clock())
        .claim("iss", serde_json::json!(iss))
        .claim("sub", serde_json::json!("user2"))
        .sign();
    enforcer.verify(&token).expect("valid");
    c.bench_function("verify_cached_second_issuer", |b| {
        b.iter(|| enforcer.verify(black_box(&token)).expect("valid"))
    });
}

/// A map of `rules` rules: roles of ten rules each, plus the probe role.
fn map_of(rules: usize) -> AclMap {
    let teams = (0..rules / 10).map(|role| {
        let rules = (0..10).map(move |rule| format!("service{role}:api{rule}:rule"));
        (format!("team{role}"), rules.collect::<Vec<_>>())
    });
    let probe = std::iter::once(("role1".to_owned(), vec![RULE.to_owned()]));
    AclMap::from_grants(teams.chain(probe)).expect("generated map")
}

/// A map of `rules` patterns (`service{n}.api{m}.*`), the probe role granting the rule by a
/// pattern.
fn pattern_map(rules: usize) -> AclMap {
    let teams = (0..rules / 10).map(|role| {
        let patterns = (0..10).map(move |rule| format!("service{role}.api{rule}.*"));
        (format!("team{role}"), patterns.collect::<Vec<_>>())
    });
    let probe = std::iter::once(("role1".to_owned(), vec!["service1:first_api:*".to_owned()]));
    AclMap::from_grants(teams.chain(probe)).expect("generated map")
}

/// A YAML map of `rules` rules where the probe role inherits the rule through three levels
/// of `includes`, and a deny of another rule beside it.
fn inherited_map(rules: usize) -> AclMap {
    let mut yaml = String::new();
    for role in 0..rules / 10 {
        let allow: Vec<String> = (0..10).map(|rule| format!("s{role}.a{rule}")).collect();
        yaml += &format!("- {{name: team{role}, allow: [{}]}}\n", allow.join(", "));
    }
    yaml += &format!("- {{name: base, allow: ['{RULE}']}}\n");
    yaml += "- {name: middle, includes: [base], deny: [service1:other:rule]}\n";
    yaml += "- {name: role1, includes: [middle, team0]}\n";
    AclMap::from_yaml_str(&yaml).expect("generated map")
}

/// A bench group: its name, the map for a number of rules, and the numbers of rules.
type Variant = (&'static str, fn(usize) -> AclMap, &'static [usize]);

/// A decision with maps of 10 to 100,000 rules: exact rules, patterns, and inherited grants
/// and denies; the cost stays flat.
fn acl_decide(c: &mut Criterion) {
    // The caller's first role is in the map but lacks the rule; the second grants it.
    let roles = vec!["team3".to_owned(), "role1".to_owned()];
    let variants: [Variant; 3] = [
        ("acl_decide", map_of, &[10, 1_000, 100_000]),
        ("acl_decide_patterns", pattern_map, &[10, 1_000, 100_000]),
        // A YAML map is at most 1 MiB: about 50,000 rules in this form.
        ("acl_decide_inherited", inherited_map, &[10, 1_000, 10_000]),
    ];
    for (name, map, sizes) in variants {
        let mut group = c.benchmark_group(name);
        for &rules in sizes {
            let enforcer = builder(PUBLIC_2048)
                .acl(map(rules))
                .build()
                .expect("enforcer");
            group.bench_function(BenchmarkId::from_parameter(rules), |b| {
                b.iter(|| {
                    assert!(
                        enforcer
                            .decide(black_box(&roles), black_box(RULE))
                            .is_allowed()
                    )
                })
            });
        }
        group.finish();
    }
}

fn request(token: &str) -> Request<Full<Bytes>> {
    Request::get("/entries")
        .header("x-auth-token", token)
        .body(Full::default())
        .expect("request")
}

async fn handler(_: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
}

fn layer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let token = token(PRIVATE_2048, PUBLIC_2048);
    let mut group = c.benchmark_group("layer");

    let bare = ServiceBuilder::new().service(service_fn(handler));
    group.bench_function("no_layer", |b| {
        b.to_async(&runtime).iter_batched(
            || request(&token),
            |req| bare.oneshot(req),
            BatchSize::SmallInput,
        )
    });

    let guarded = |enforcer: Enforcer| {
        ServiceBuilder::new()
            .layer(enforcer)
            .layer(RequireRule(RULE))
            .service(service_fn(handler))
    };
    let cached_enforcer = builder(PUBLIC_2048).build().expect("enforcer");
    let cached = guarded(cached_enforcer.clone());
    group.bench_function("allow_cached", |b| {
        b.to_async(&runtime).iter_batched(
            || request(&token),
            |req| cached.clone().oneshot(req),
            BatchSize::SmallInput,
        )
    });

    // The layer bound to the enforcer: no enforcer in the request extensions.
    let bound = ServiceBuilder::new()
        .layer(cached_enforcer.require(RULE))
        .service(service_fn(handler));
    group.bench_function("allow_cached_bound", |b| {
        b.to_async(&runtime).iter_batched(
            || request(&token),
            |req| bound.clone().oneshot(req),
            BatchSize::SmallInput,
        )
    });

    // The floor of the extension contract: the same bare service, each request given the two
    // values an allowed request carries (the enforcer and the record, taken from one), inserted
    // one by one as the layers do.
    let carried = Arc::new(Mutex::new(None));
    let mut capture = ServiceBuilder::new()
        .layer(cached_enforcer.clone())
        .layer(RequireRule(RULE))
        .service(service_fn({
            let carried = carried.clone();
            move |request: Request<Full<Bytes>>| {
                *carried.lock().expect("not poisoned") = Some(request.extensions().clone());
                handler(request)
            }
        }));
    runtime
        .block_on(ServiceExt::ready(&mut capture))
        .expect("ready");
    let allowed = runtime
        .block_on(capture.call(request(&token)))
        .expect("allowed");
    assert_eq!(allowed.status(), http::StatusCode::OK);
    let carried = carried
        .lock()
        .expect("not poisoned")
        .take()
        .expect("captured");
    // In an `Arc`, so that cloning the service per request costs what cloning ours does.
    let values = Arc::new((
        carried.get::<Enforcer>().cloned().expect("Enforcer"),
        carried.get::<Authorized>().cloned().expect("Authorized"),
    ));
    let floor = ServiceBuilder::new()
        .map_request(move |mut request: Request<Full<Bytes>>| {
            let extensions = request.extensions_mut();
            extensions.insert(values.0.clone());
            // Ours also allocates the record's `Arc` anew for each request: one allocation
            // more than this clone.
            extensions.insert(values.1.clone());
            request
        })
        .service(service_fn(handler));
    group.bench_function("extensions_only", |b| {
        b.to_async(&runtime).iter_batched(
            || request(&token),
            |req| floor.clone().oneshot(req),
            BatchSize::SmallInput,
        )
    });

    let cold = guarded(
        builder(PUBLIC_2048)
            .token_cache(0)
            .build()
            .expect("enforcer"),
    );
    group.bench_function("allow_cold", |b| {
        b.to_async(&runtime).iter_batched(
            || request(&token),
            |req| cold.clone().oneshot(req),
            BatchSize::SmallInput,
        )
    });

    let key = DpopKey::es256();
    let bound = TestIssuer::with_key(
        PRIVATE_2048,
        PublicKey::from_pem(PUBLIC_2048.as_bytes()).expect("bench key"),
    )
    .token()
    .roles(["role1"])
    .issued_at(clock())
    .bound_to(&key)
    .sign();
    let dpop = guarded(
        builder(PUBLIC_2048)
            .dpop(Dpop::required())
            .dpop_replay_capacity(50_000_000)
            .external_url("https://api.example")
            .build()
            .expect("enforcer"),
    );
    let dpop_request = || {
        let proof = key
            .proof("GET", "https://api.example/entries")
            .token(&bound)
            .issued_at(clock())
            .sign();
        Request::get("/entries")
            .header("authorization", format!("DPoP {bound}"))
            .header("dpop", proof)
            .body(Full::default())
            .expect("request")
    };
    let allowed = runtime
        .block_on(dpop.clone().oneshot(dpop_request()))
        .expect("allowed");
    assert_eq!(allowed.status(), http::StatusCode::OK);
    group.bench_function("allow_dpop", |b| {
        b.to_async(&runtime).iter_batched(
            dpop_request,
            |req| dpop.clone().oneshot(req),
            BatchSize::SmallInput,
        )
    });

    let garbage = "eyJhbGciOiJSUzUxMiJ9.bm90IGpzb24.c2lnbmF0dXJl!";
    group.bench_function("deny_garbage", |b| {
        b.to_async(&runtime).iter_batched(
            || request(garbage),
            |req| cached.clone().oneshot(req),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let proof = key.proof("GET", "https://api.example/entries").sign();
    let (signed, signature) = proof.rsplit_once('.').expect("three parts");
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
            .expect("base64url");
    let public = key.public_key();
    c.bench_function("dpop/es256_signature", |b| {
        b.iter(|| {
            public.verify_signature(Algorithm::ES256, black_box(signed.as_bytes()), &signature)
        })
    });
}

/// An opaque token whose introspection answer is cached, beside a cached JWT: one request
/// each through the same layers (`cargo bench --features introspection --bench request_path`).
#[cfg(feature = "introspection")]
fn introspected(c: &mut Criterion) {
    use axum::{Json, Router, routing::post};
    use tokenleader_rbac::introspection::Introspection;

    // An RFC 7662 stand-in on loopback that says every token is active.
    let server = tokio::runtime::Runtime::new().expect("runtime");
    let url = server.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/introspect", listener.local_addr().expect("addr"));
        let answer = serde_json::json!({"active": true, "sub": "user2", "scope": "role1", "exp": NOW + 3600});
        let app = Router::new().route("/introspect", post(move || async move { Json(answer) }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    });
    let enforcer = Enforcer::builder()
        .introspection(Introspection::rfc7662(url))
        .acl(AclMap::from_yaml_str(ACL).expect("ACL"))
        .clock(clock)
        .build()
        .expect("enforcer");
    let guarded = ServiceBuilder::new()
        .layer(enforcer)
        .layer(RequireRule(RULE))
        .service(service_fn(handler));
    let opaque = "0paque-4ccess-t0ken-5f0c2a7e9b3d41c8a6e2f7b9d0c3a1e4";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let warm = server.block_on(guarded.clone().oneshot(request(opaque)));
    assert_eq!(warm.expect("infallible").status(), 200);
    c.bench_function("layer/allow_introspected_cached", |b| {
        b.to_async(&runtime).iter_batched(
            || request(opaque),
            |req| guarded.clone().oneshot(req),
            BatchSize::SmallInput,
        )
    });
}

#[cfg(feature = "introspection")]
criterion_group!(benches, verify, acl_decide, layer, introspected);
#[cfg(not(feature = "introspection"))]
criterion_group!(benches, verify, acl_decide, layer);
criterion_main!(benches);
