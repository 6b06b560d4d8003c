//! Allocations on the allow path, counted: one request through a router guarded by
//! `Enforcer` + `RequireRule`, its handler taking `Wfc` and `Identity`, against the same
//! request through an unguarded route. Alone in its test crate: it installs a counting global
//! allocator, and counts on the test's own thread only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, UNIX_EPOCH};

use axum::{Router, body::Body, routing::get};
use http::{Request, StatusCode};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{Identity, RequireRule, Wfc};
use tower::{Service, ServiceExt};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counter is a
// const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

const NOW: u64 = 1_800_000_000;

async fn bare() -> &'static str {
    "ok"
}

async fn guarded(wfc: Wfc, who: Identity) -> &'static str {
    // Read them, as a real handler would.
    std::hint::black_box((&wfc.org, &who.username));
    "ok"
}

/// Allocations of one request through `router` (the request built beforehand, the response
/// dropped after counting), once warm.
async fn per_request(router: &mut Router, request: impl Fn() -> Request<Body>) -> usize {
    for _ in 0..3 {
        let response = ServiceExt::<Request<Body>>::ready(&mut *router)
            .await
            .unwrap()
            .call(request())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let request = request();
    let ready = ServiceExt::<Request<Body>>::ready(&mut *router)
        .await
        .unwrap();
    let before = allocations();
    let response = ready.call(request).await.unwrap();
    let after = allocations();
    assert_eq!(response.status(), StatusCode::OK);
    after - before
}

/// Allocations of one allowed request above an unguarded route's, with a token cache of
/// `token_cache` entries (0: every request verifies its token).
async fn ours_per_request(token_cache: usize) -> usize {
    let issuer = TestIssuer::new();
    let enforcer = issuer
        .enforcer_builder()
        .acl(tokenleader_rbac::AclMap::from_yaml_str("- name: role1\n  allow: [rule]\n").unwrap())
        .clock(|| UNIX_EPOCH + Duration::from_secs(NOW + 60))
        .token_cache(token_cache)
        .build()
        .unwrap();
    let token = issuer
        .token()
        .issued_at(UNIX_EPOCH + Duration::from_secs(NOW))
        .sign();
    // `with_state(())` turns handlers into routes once, as `axum::serve` does; a router called
    // without it would box its layered handlers again on every request.
    let mut unguarded: Router = Router::new().route("/bare", get(bare)).with_state(());
    let mut router: Router = Router::new()
        .route("/guarded", get(guarded).route_layer(RequireRule("rule")))
        .layer(enforcer)
        .with_state(());
    let request = |path: &'static str| {
        let token = token.clone();
        move || {
            Request::get(path)
                .header("x-auth-token", token.as_str())
                .body(Body::empty())
                .unwrap()
        }
    };
    let bare = per_request(&mut unguarded, request("/bare")).await;
    let guarded = per_request(&mut router, request("/guarded")).await;
    let ours = guarded - bare;
    println!(
        "token cache {token_cache}: allocations per request: unguarded route {bare}, guarded route {guarded}: {ours} ours"
    );
    ours
}

#[tokio::test(flavor = "current_thread")]
async fn the_allow_path_allocates_only_what_the_design_needs() {
    let ours = ours_per_request(10_000).await;
    assert!(
        ours <= MAX_OURS,
        "{ours} allocations on the allow path, at most {MAX_OURS} expected"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_token_seen_first_allocates_only_what_its_parts_need() {
    let ours = ours_per_request(0).await;
    assert!(
        ours <= MAX_OURS_VERIFIED,
        "{ours} allocations on the allow path with a verification, at most {MAX_OURS_VERIFIED} expected"
    );
}

/// What the allow path allocates (31 before the claims were shared, 13 before one value
/// carried the decision, 9 while that value had an `Arc` of its own): the `Enforcer`'s box in
/// the request extensions, the decision's record (`Authorized`, boxed), the extensions' map
/// growing once to hold the two, and
/// axum's boxing of the two layers' routes and futures (5). The extractors, a cache hit and the
/// metrics counters (feature `metrics`; 2 more before their keys were static) copy nothing.
/// Counted on a router without `with_state` (until 2026-11-30) every figure here read 4 more:
/// axum then boxes each layered handler again on every request, which a served router never
/// does.
const MAX_OURS: usize = 8;

/// The same when the token is verified (cache off): besides the above, what verifying makes
/// (the decoded payload, the roles, the claims' `Arc`, the token's own). The claims' text
/// fields are read straight into `SmolStr`, so short ones allocate nothing (28 before); the
/// header and the signature are decoded onto the stack and the header's members borrowed
/// (22 before); one record instead of six values (19 before). The verified token's parts
/// share one `Arc` with the cache, which the record holds: one allocation, as the record's own
/// `Arc` was.
const MAX_OURS_VERIFIED: usize = 15;
