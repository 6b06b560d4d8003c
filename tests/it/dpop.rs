//! DPoP (RFC 9449): a bound token passes with a good proof of its key, and every part of a
//! proof that can be wrong is refused on its own; bearer tokens are unchanged where DPoP is
//! off.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use http::{Request, StatusCode};
use serde_json::{Value, json};
use tokenleader_rbac::dpop::{Dpop, DpopError};
use tokenleader_rbac::test_util::{DpopKey, TestIssuer};
use tokenleader_rbac::{
    AclMap, Algorithm, Denial, Enforcer, EnforcerBuilder, Identity, Issuer, RequireRule, TokenError,
};

use crate::common::{Answer, build_error, send};

const ACL: &str = "- name: reader\n  allow: [entries.list]\n";
const URL: &str = "https://api.example/entries";

fn builder(issuer: &TestIssuer, dpop: Dpop) -> EnforcerBuilder {
    Enforcer::builder()
        .trust(
            Issuer::tokenleader()
                .public_key(issuer.public_key())
                .dpop(dpop),
        )
        .external_url("https://api.example")
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .watch(false)
}

fn app(enforcer: Enforcer) -> Router {
    async fn who(identity: Identity) -> String {
        identity.username.to_string()
    }
    Router::new()
        .route(
            "/entries",
            get(who).post(who).route_layer(RequireRule("entries.list")),
        )
        .layer(enforcer)
}

fn service(dpop: Dpop) -> (TestIssuer, Router) {
    let issuer = TestIssuer::new();
    let enforcer = builder(&issuer, dpop).build().unwrap();
    (issuer, app(enforcer))
}

async fn call(app: &Router, method: &str, authorization: &str, proofs: &[&str]) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri("/entries?page=2")
        .header("Authorization", authorization);
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    send(app, request.body(Body::empty()).unwrap()).await
}

/// Asserts a refused proof: 401, `DPoP error="invalid_dpop_proof"` with the algorithms, and
/// the message of `error`.
fn assert_bad_proof(answer: &Answer, error: DpopError) {
    let message = Denial::InvalidDpopProof(error).to_string();
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{message}: {}",
        answer.body
    );
    assert_eq!(
        answer.headers["www-authenticate"],
        r#"DPoP error="invalid_dpop_proof", algs="ES256 ES384 EdDSA PS256 PS384 PS512 RS256 RS384 RS512""#
    );
    assert_eq!(answer.body["message"], message);
}

fn assert_token_refused(answer: &Answer, error: TokenError) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(answer.body["message"], error.to_string());
}

#[tokio::test]
async fn a_bound_token_with_a_good_proof_passes_and_the_query_is_not_part_of_htu() {
    let (issuer, app) = service(Dpop::required());
    let key = DpopKey::es256();
    let token = issuer
        .token()
        .user("alice")
        .roles(["reader"])
        .bound_to(&key)
        .sign();
    for method in ["GET", "POST"] {
        let proof = key.proof(method, URL).token(&token).sign();
        let answer = call(&app, method, &format!("DPoP {token}"), &[&proof]).await;
        assert_eq!(answer.status, StatusCode::OK, "{method}: {}", answer.body);
    }
    // Every algorithm family of the defaults, and the scheme in any case.
    for key in [DpopKey::es384(), DpopKey::ed25519()] {
        let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
        let proof = key.proof("GET", URL).token(&token).sign();
        let answer = call(&app, "GET", &format!("dpop {token}"), &[&proof]).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{:?}: {}",
            key.algorithm(),
            answer.body
        );
    }
}

#[tokio::test]
async fn a_bound_token_sent_as_bearer_is_refused_with_both_challenges() {
    let (issuer, app) = service(Dpop::accepted());
    let key = DpopKey::es256();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let proof = key.proof("GET", URL).token(&token).sign();
    let answer = call(&app, "GET", &format!("Bearer {token}"), &[&proof]).await;
    assert_token_refused(&answer, TokenError::DpopBound);
    let challenges: Vec<_> = answer.headers.get_all("www-authenticate").iter().collect();
    assert_eq!(challenges[0], r#"Bearer error="invalid_token""#);
    assert!(
        challenges[1]
            .to_str()
            .unwrap()
            .starts_with(r#"DPoP error="invalid_token", algs="ES256"#)
    );
    // In X-Auth-Token too.
    let request = Request::get("/entries")
        .header("X-Auth-Token", &token)
        .body(Body::empty())
        .unwrap();
    assert_token_refused(&send(&app, request).await, TokenError::DpopBound);
}

#[tokio::test]
async fn required_refuses_bearer_tokens_and_accepted_takes_them() {
    let issuer = TestIssuer::new();
    let plain = issuer.token().roles(["reader"]).sign();
    let required = app(builder(&issuer, Dpop::required()).build().unwrap());
    let answer = call(&required, "GET", &format!("Bearer {plain}"), &[]).await;
    assert_token_refused(&answer, TokenError::DpopRequired);
    let accepted = app(builder(&issuer, Dpop::accepted()).build().unwrap());
    let answer = call(&accepted, "GET", &format!("Bearer {plain}"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // An unbound token sent with DPoP is refused, proof or not.
    let key = DpopKey::es256();
    let proof = key.proof("GET", URL).token(&plain).sign();
    let answer = call(&accepted, "GET", &format!("DPoP {plain}"), &[&proof]).await;
    assert_token_refused(&answer, TokenError::NotDpopBound);
}

#[tokio::test]
async fn where_dpop_is_off_bound_tokens_are_refused_and_the_scheme_is_not_read() {
    let issuer = TestIssuer::new();
    let enforcer = Enforcer::builder()
        .public_key(issuer.public_key())
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .watch(false)
        .build()
        .unwrap();
    let app = app(enforcer);
    let key = DpopKey::es256();
    let bound = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let proof = key.proof("GET", URL).token(&bound).sign();
    let answer = call(&app, "GET", &format!("Bearer {bound}"), &[&proof]).await;
    assert_token_refused(&answer, TokenError::DpopNotAccepted);
    // No DPoP challenge where no issuer takes DPoP.
    assert_eq!(answer.headers.get_all("www-authenticate").iter().count(), 1);
    let answer = call(&app, "GET", &format!("DPoP {bound}"), &[&proof]).await;
    assert_token_refused(&answer, TokenError::Missing);
    // Bearer tokens as before.
    let plain = issuer.token().roles(["reader"]).sign();
    let answer = call(&app, "GET", &format!("Bearer {plain}"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn each_bad_part_of_a_proof_is_refused() {
    let (issuer, app) = service(Dpop::required());
    let key = DpopKey::es256();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let other_token = issuer
        .token()
        .user("other")
        .roles(["reader"])
        .bound_to(&key)
        .sign();
    let now = SystemTime::now();
    let good = || key.proof("GET", URL).token(&token);
    let cases: Vec<(&str, String, DpopError)> = vec![
        (
            "wrong htm",
            key.proof("POST", URL).token(&token).sign(),
            DpopError::WrongMethod,
        ),
        (
            "htu with a query",
            key.proof("GET", &format!("{URL}?page=2"))
                .token(&token)
                .sign(),
            DpopError::WrongUrl,
        ),
        (
            "htu of another host",
            key.proof("GET", "https://evil.example/entries")
                .token(&token)
                .sign(),
            DpopError::WrongUrl,
        ),
        (
            "stale iat",
            good().issued_at(now - Duration::from_secs(120)).sign(),
            DpopError::Stale,
        ),
        (
            "iat in the future",
            good().issued_at(now + Duration::from_secs(60)).sign(),
            DpopError::Stale,
        ),
        (
            "ath of another token",
            key.proof("GET", URL).token(&other_token).sign(),
            DpopError::WrongToken,
        ),
        (
            "no ath",
            key.proof("GET", URL).sign(),
            DpopError::BadClaim("ath"),
        ),
        (
            "no jti",
            good().claim("jti", Value::Null).sign(),
            DpopError::BadClaim("jti"),
        ),
        (
            "typ of a JWT",
            good().header("typ", json!("JWT")).sign(),
            DpopError::WrongType,
        ),
        (
            "no jwk",
            good().header("jwk", Value::Null).sign(),
            DpopError::BadKey("missing".into()),
        ),
        (
            "private members in jwk",
            {
                let mut jwk = key.jwk();
                jwk["d"] = json!("AAAA");
                good().header("jwk", jwk).sign()
            },
            DpopError::BadKey(
                "it holds the private member `d`: a proof carries the public key only".into(),
            ),
        ),
        (
            "another key than the token's",
            DpopKey::ed25519().proof("GET", URL).token(&token).sign(),
            DpopError::WrongKey,
        ),
        (
            "the token's key in jwk, signed by another",
            DpopKey::es256()
                .proof("GET", URL)
                .token(&token)
                .header("jwk", DpopKey::es384().jwk())
                .header("alg", json!("ES384"))
                .sign(),
            DpopError::WrongKey,
        ),
        (
            "alg none",
            {
                let signed = good().header("alg", json!("none")).sign();
                let unsigned = signed.rsplit_once('.').unwrap().0;
                format!("{unsigned}.")
            },
            DpopError::AlgorithmNotAllowed("none".into()),
        ),
        (
            "HS256",
            {
                let hmac = TestIssuer::hs256();
                let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": key.jwk()});
                let claims = json!({"jti": "x", "htm": "GET", "htu": URL,
                    "iat": now.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()});
                hmac.sign_raw(&header.to_string(), &claims.to_string(), Algorithm::HS256)
            },
            DpopError::AlgorithmNotAllowed("HS256".into()),
        ),
        (
            "not a JWS",
            "abc".into(),
            DpopError::Malformed("a proof has exactly three dot-separated parts".into()),
        ),
    ];
    for (what, proof, error) in cases {
        let answer = call(&app, "GET", &format!("DPoP {token}"), &[&proof]).await;
        assert_eq!(
            answer.body["message"],
            Denial::InvalidDpopProof(error.clone()).to_string(),
            "{what}"
        );
        assert_bad_proof(&answer, error);
    }
    // A signature that does not verify.
    let proof = good().sign();
    let (signed, signature) = proof.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{signed}.{flipped}{}", &signature[1..]);
    let answer = call(&app, "GET", &format!("DPoP {token}"), &[&forged]).await;
    assert_bad_proof(&answer, DpopError::BadSignature);
    // No proof, two proofs.
    let answer = call(&app, "GET", &format!("DPoP {token}"), &[]).await;
    assert_bad_proof(&answer, DpopError::Missing);
    let (one, two) = (good().sign(), good().sign());
    let answer = call(&app, "GET", &format!("DPoP {token}"), &[&one, &two]).await;
    assert_bad_proof(&answer, DpopError::Repeated);
}

#[tokio::test]
async fn a_proof_is_good_once() {
    let (issuer, app) = service(Dpop::required());
    let key = DpopKey::es256();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let proof = key.proof("GET", URL).token(&token).sign();
    let first = call(&app, "GET", &format!("DPoP {token}"), &[&proof]).await;
    assert_eq!(first.status, StatusCode::OK);
    let replay = call(&app, "GET", &format!("DPoP {token}"), &[&proof]).await;
    assert_bad_proof(&replay, DpopError::Replayed);
    // A refused proof takes no place: the same proof, fixed, is its first use.
    let jti = "refused-then-fixed";
    let refused = key.proof("POST", URL).token(&token).jti(jti).sign();
    let answer = call(&app, "GET", &format!("DPoP {token}"), &[&refused]).await;
    assert_bad_proof(&answer, DpopError::WrongMethod);
    let fixed = key.proof("GET", URL).token(&token).jti(jti).sign();
    let answer = call(&app, "GET", &format!("DPoP {token}"), &[&fixed]).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn a_full_replay_store_answers_503_rather_than_forget() {
    let issuer = TestIssuer::new();
    let enforcer = builder(&issuer, Dpop::required())
        .dpop_replay_capacity(1)
        .build()
        .unwrap();
    let app = app(enforcer);
    let key = DpopKey::es256();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let first = key.proof("GET", URL).token(&token).sign();
    assert_eq!(
        call(&app, "GET", &format!("DPoP {token}"), &[&first])
            .await
            .status,
        StatusCode::OK
    );
    let second = key.proof("GET", URL).token(&token).sign();
    let answer = call(&app, "GET", &format!("DPoP {token}"), &[&second]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        answer.body["message"],
        Denial::DpopReplayUnavailable.to_string()
    );
}

#[tokio::test]
async fn behind_a_proxy_the_url_comes_from_trusted_proxies_only() {
    let issuer = TestIssuer::new();
    let enforcer = Enforcer::builder()
        .trust(
            Issuer::tokenleader()
                .public_key(issuer.public_key())
                .dpop(Dpop::required()),
        )
        .trusted_proxies(["10.0.0.0/8"])
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .watch(false)
        .build()
        .unwrap();
    let app = app(enforcer);
    let key = DpopKey::es256();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let from = |peer: &str| {
        let proof = key.proof("GET", URL).token(&token).sign();
        let mut request = Request::get("/entries")
            .header("Host", "backend:8080")
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "api.example")
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", proof)
            .body(Body::empty())
            .unwrap();
        let peer: SocketAddr = peer.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    };
    assert_eq!(
        send(&app, from("10.1.2.3:5000")).await.status,
        StatusCode::OK
    );
    let spoofed = send(&app, from("192.0.2.7:5000")).await;
    assert_bad_proof_any_algs(&spoofed, DpopError::WrongUrl);
    // Without a proxy, the request's own Host: http://backend:8080/entries.
    let proof = key
        .proof("GET", "http://backend:8080/entries")
        .token(&token)
        .sign();
    let request = Request::get("/entries")
        .header("Host", "backend:8080")
        .header("Authorization", format!("DPoP {token}"))
        .header("DPoP", proof)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::OK);
}

fn assert_bad_proof_any_algs(answer: &Answer, error: DpopError) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(
        answer.body["message"],
        Denial::InvalidDpopProof(error).to_string()
    );
}

#[tokio::test]
async fn authorize_without_a_request_refuses_dpop_tokens() {
    let issuer = TestIssuer::new();
    let enforcer = builder(&issuer, Dpop::required()).build().unwrap();
    let key = DpopKey::es256();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", format!("DPoP {token}").parse().unwrap());
    let proof = key.proof("GET", URL).token(&token).sign();
    headers.insert("dpop", proof.parse().unwrap());
    assert_eq!(
        enforcer.authorize(&headers, "entries.list").unwrap_err(),
        Denial::InvalidDpopProof(DpopError::UnknownUrl)
    );
}

#[test]
fn settings_that_cannot_work_fail_the_build() {
    let issuer = TestIssuer::new();
    let plain = || Enforcer::builder().public_key(issuer.public_key());
    assert!(
        build_error(plain().external_url("https://api.example"))
            .contains("`.external_url(..)` applies to DPoP proofs")
    );
    assert!(build_error(plain().dpop_replay_capacity(10)).contains("no issuer takes DPoP"));
    let hmac = Dpop::required().algorithms([Algorithm::HS256]);
    assert!(build_error(plain().dpop(hmac)).contains("HS256 (a shared secret) cannot sign one"));
    assert!(
        build_error(plain().dpop(Dpop::required().algorithms([]))).contains("no proof algorithm")
    );
    assert!(
        build_error(plain().dpop(Dpop::off().require_nonce([1u8; 32])))
            .contains("apply to proofs, and off takes none")
    );
    assert!(
        build_error(plain().dpop(Dpop::required()).dpop_replay_capacity(0))
            .contains("would refuse every DPoP proof")
    );
    assert!(
        build_error(
            plain()
                .dpop(Dpop::required())
                .external_url("https://api.example/?q")
        )
        .contains("external URL")
    );
}

#[tokio::test]
async fn post_routes_check_htm_and_the_builder_forwards_dpop_to_its_own_issuer() {
    let issuer = TestIssuer::new();
    let enforcer = Enforcer::builder()
        .public_key(issuer.public_key())
        .dpop(Dpop::required().algorithms([Algorithm::EdDSA]))
        .external_url("https://api.example")
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .watch(false)
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/entries",
            post(|| async { "made" }).route_layer(RequireRule("entries.list")),
        )
        .layer(enforcer);
    let key = DpopKey::ed25519();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let proof = key.proof("POST", URL).token(&token).sign();
    assert_eq!(
        call(&app, "POST", &format!("DPoP {token}"), &[&proof])
            .await
            .status,
        StatusCode::OK
    );
    // ES256 is not among this issuer's algorithms.
    let es = DpopKey::es256();
    let token = issuer.token().roles(["reader"]).bound_to(&es).sign();
    let proof = es.proof("POST", URL).token(&token).sign();
    let answer = call(&app, "POST", &format!("DPoP {token}"), &[&proof]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.headers["www-authenticate"],
        r#"DPoP error="invalid_dpop_proof", algs="EdDSA""#
    );
}

#[tokio::test]
async fn with_nonces_required_a_proof_without_the_services_nonce_gets_one() {
    let issuer = TestIssuer::new();
    let secret = [42u8; 32];
    let enforcer = builder(&issuer, Dpop::required().require_nonce(secret))
        .build()
        .unwrap();
    let app = app(enforcer);
    let key = DpopKey::es256();
    let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
    let first = call(
        &app,
        "GET",
        &format!("DPoP {token}"),
        &[&key.proof("GET", URL).token(&token).sign()],
    )
    .await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert!(
        first.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with(r#"DPoP error="use_dpop_nonce", algs="ES256"#)
    );
    let nonce = first.headers["dpop-nonce"].to_str().unwrap().to_owned();
    let proof = key.proof("GET", URL).token(&token).nonce(&nonce).sign();
    let answer = call(&app, "GET", &format!("DPoP {token}"), &[&proof]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // A nonce of another secret, and a forged one.
    let (window, _) = nonce.split_once('.').unwrap();
    for forged in [format!("{window}.AAAAAAAAAAAAAAAAAAAAAA"), "1.x".to_owned()] {
        let proof = key.proof("GET", URL).token(&token).nonce(&forged).sign();
        let answer = call(&app, "GET", &format!("DPoP {token}"), &[&proof]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(answer.headers.contains_key("dpop-nonce"));
    }
    // Another instance with the same secret takes the nonce.
    let twin = app_with(builder(&issuer, Dpop::required().require_nonce(secret)));
    let proof = key.proof("GET", URL).token(&token).nonce(&nonce).sign();
    assert_eq!(
        call(&twin, "GET", &format!("DPoP {token}"), &[&proof])
            .await
            .status,
        StatusCode::OK
    );
    let short = Enforcer::builder()
        .public_key(issuer.public_key())
        .dpop(Dpop::required().require_nonce([1u8; 16]));
    assert!(build_error(short).contains("at least 32 random bytes"));
}

/// RFC 9449 §8.2: a proof with the previous minute's nonce passes, and its response hands out
/// the current one, so that a client that calls at least once a minute never meets a refusal.
#[tokio::test]
async fn a_proof_with_the_previous_minutes_nonce_passes_and_gets_the_next_one() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let issuer = TestIssuer::new();
    // The start of a minute (1,800,000,000 s is 30,000,000 minutes), so that each step below
    // lands in a known window.
    let start = 1_800_000_000;
    let clock = Arc::new(AtomicU64::new(start));
    let at = |clock: &AtomicU64| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(clock.load(Ordering::SeqCst))
    };
    let now = {
        let clock = clock.clone();
        move || at(&clock)
    };
    let enforcer = builder(&issuer, Dpop::required().require_nonce([42u8; 32]))
        .clock(now)
        .build()
        .unwrap();
    let app = app(enforcer);
    let key = DpopKey::es256();
    let token = issuer
        .token()
        .roles(["reader"])
        .issued_at(at(&clock))
        .bound_to(&key)
        .sign();
    let authorization = format!("DPoP {token}");
    let send_with = |nonce: Option<&str>| {
        let mut proof = key.proof("GET", URL).token(&token).issued_at(at(&clock));
        if let Some(nonce) = nonce {
            proof = proof.nonce(nonce);
        }
        let proof = proof.sign();
        let (app, authorization) = (app.clone(), authorization.clone());
        async move { call(&app, "GET", &authorization, &[&proof]).await }
    };

    let refused = send_with(None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let first = refused.headers["dpop-nonce"].to_str().unwrap().to_owned();
    let current = send_with(Some(&first)).await;
    assert_eq!(current.status, StatusCode::OK, "{}", current.body);
    assert!(
        !current.headers.contains_key("dpop-nonce"),
        "a current nonce needs no successor"
    );

    clock.fetch_add(60, Ordering::SeqCst);
    let previous = send_with(Some(&first)).await;
    assert_eq!(previous.status, StatusCode::OK, "{}", previous.body);
    let next = previous.headers["dpop-nonce"].to_str().unwrap().to_owned();
    assert_ne!(next, first);
    let with_next = send_with(Some(&next)).await;
    assert_eq!(with_next.status, StatusCode::OK);
    assert!(!with_next.headers.contains_key("dpop-nonce"));

    // Two minutes on, the first nonce is refused, with a fresh one to use.
    clock.fetch_add(60, Ordering::SeqCst);
    let stale = send_with(Some(&first)).await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    assert!(challenge(&stale).starts_with(r#"DPoP error="use_dpop_nonce""#));
    assert!(stale.headers.contains_key("dpop-nonce"));
}

/// A caller whose proof is good but whose roles lack the rule gets the 403 challenge in the
/// scheme it used, not an invitation to come back with a bearer token.
#[tokio::test]
async fn a_forbidden_dpop_request_is_answered_in_the_dpop_scheme() {
    let (issuer, app) = service(Dpop::required().algorithms([Algorithm::ES256]));
    let key = DpopKey::es256();
    let token = issuer.token().roles(["writer"]).bound_to(&key).sign();
    let proof = key.proof("GET", URL).token(&token).sign();
    let answer = call(&app, "GET", &format!("DPoP {token}"), &[&proof]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let challenges: Vec<_> = answer.headers.get_all("www-authenticate").iter().collect();
    assert_eq!(
        challenges,
        [
            r#"DPoP error="insufficient_scope", scope="entries.list", error_description="no role of the caller grants the rule entries.list", algs="ES256""#
        ]
    );
    // The same caller with a bearer token where DPoP is accepted: the bearer scheme.
    let (issuer, app) = service(Dpop::accepted());
    let bearer = issuer.token().roles(["writer"]).sign();
    let answer = call(&app, "GET", &format!("Bearer {bearer}"), &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(challenge(&answer).starts_with(r#"Bearer error="insufficient_scope""#));
}

/// The first `WWW-Authenticate` challenge of `answer`.
fn challenge(answer: &Answer) -> &str {
    answer.headers["www-authenticate"].to_str().unwrap()
}

fn app_with(builder: EnforcerBuilder) -> Router {
    app(builder.build().unwrap())
}
