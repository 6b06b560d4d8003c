//! Against a real, certified OpenID provider: node's oidc-provider 9, started on loopback by
//! `tests/oidc_provider/start_provider.sh` (one instance per test, on a port of its own) and
//! stopped by its PID whatever happens. Its keys are fresh at each start, so a restart is a key
//! rotation. `.ci/run` installs its npm packages and runs these with `--ignored`:
//!
//! ```text
//! tests/oidc_provider/start_provider.sh --install-only
//! cargo test --all-features --test oidc_provider -- --ignored
//! ```

#![cfg(all(feature = "jwks", feature = "introspection"))]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use axum::{Router, routing::get};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use http::StatusCode;
use serde_json::Value;
use tokenleader_rbac::claims::ClaimMapping;
use tokenleader_rbac::dpop::{Dpop, DpopError};
use tokenleader_rbac::introspection::Introspection;
use tokenleader_rbac::test_util::DpopKey;
use tokenleader_rbac::{
    AclMap, Algorithm, Enforcer, EnforcerBuilder, Identity, Issuer, RequireRule,
};

const RULE: &str = "micros1.entries.list";
const ACL: &str = "- name: role1\n  allow: [micros1.entries.list]\n";

/// One oidc-provider process on a port of its own; stopped when dropped.
struct Provider {
    port: u16,
    /// The issuer's path: empty, or Keycloak's form (`/realms/acme`).
    path: &'static str,
}

impl Provider {
    fn script(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/oidc_provider/{name}"))
    }

    fn run(&self, script: &str) {
        let status = Command::new(Self::script(script))
            .env("OIDC_PORT", self.port.to_string())
            .env("OIDC_PATH", self.path)
            .status()
            .expect("the provider's scripts run");
        assert!(status.success(), "{script} failed on port {}", self.port);
    }

    fn start() -> Provider {
        Self::start_at("")
    }

    /// Started with its issuer at `path` on the loopback host.
    fn start_at(path: &'static str) -> Provider {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let provider = Provider { port, path };
        provider.run("start_provider.sh");
        provider
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.path)
    }

    fn stop(&self) {
        self.run("stop_provider.sh");
    }

    /// Stops it and starts it again on the same port: new keys, nothing remembered.
    fn restart(&self) {
        self.stop();
        self.run("start_provider.sh");
    }

    /// A client-credentials access token of `svc` for `resource` (RFC 8707).
    async fn token(&self, resource: &str) -> String {
        self.token_request(resource, None).await
    }

    /// A DPoP-bound client-credentials access token of `svc` for `resource`: the token
    /// request carries a proof of `key` (RFC 9449 §5), so the token names the key in
    /// `cnf.jkt`.
    async fn dpop_token(&self, resource: &str, key: &DpopKey) -> String {
        self.token_request(resource, Some(key)).await
    }

    async fn token_request(&self, resource: &str, dpop: Option<&DpopKey>) -> String {
        let url = format!("{}/token", self.issuer());
        let mut request = reqwest::Client::new()
            .post(&url)
            .basic_auth("svc", Some("svc-secret"));
        if let Some(key) = dpop {
            request = request.header("DPoP", key.proof("POST", &url).sign());
        }
        let answer: Value = request
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", "role1 role2"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token_type = if dpop.is_some() { "DPoP" } else { "Bearer" };
        assert_eq!(answer["token_type"], token_type, "{answer}");
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {answer}"))
            .to_owned()
    }

    /// Revokes `token` at the provider (RFC 7009), as the client it was issued to.
    async fn revoke(&self, token: &str) {
        let status = reqwest::Client::new()
            .post(format!("{}/token/revocation", self.issuer()))
            .basic_auth("svc", Some("svc-secret"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, reqwest::StatusCode::OK);
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = Command::new(Self::script("stop_provider.sh"))
            .env("OIDC_PORT", self.port.to_string())
            .env("OIDC_PATH", self.path)
            .status();
    }
}

/// RFC 9068 access tokens of a client-credentials grant: the client is the user, its scopes
/// are its roles.
fn client_credentials() -> ClaimMapping {
    ClaimMapping::new()
        .username("/client_id")
        .roles_space_separated("/scope")
}

fn trusted(issuer: Issuer) -> Issuer {
    issuer
        .algorithms([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA])
        .audience("micros1")
        .require_typ("at+jwt")
        .claim_mapping(client_credentials())
}

fn service(enforcer: Enforcer) -> Router {
    async fn entries(who: Identity) -> axum::Json<String> {
        axum::Json(who.username.to_string())
    }
    Router::new()
        .route("/entries", get(entries).route_layer(RequireRule(RULE)))
        .layer(enforcer)
}

async fn build(builder: EnforcerBuilder) -> Result<Enforcer, tokenleader_rbac::Error> {
    let builder = builder
        .acl(AclMap::from_yaml_str(ACL).unwrap())
        .watch(false);
    tokio::task::spawn_blocking(move || builder.build())
        .await
        .unwrap()
}

async fn status(app: &Router, token: &str) -> StatusCode {
    get_with_token(app, "/entries", token).await.status
}

/// `token` with one character of its payload changed: the signature no longer holds.
fn tampered(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["scope"] = "role1 admin".into();
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    parts.join(".")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node: tests/oidc_provider/start_provider.sh"]
async fn discovered_rs256_es256_and_eddsa_tokens_are_decided() {
    let provider = Provider::start();
    let enforcer = build(Enforcer::builder().trust(trusted(Issuer::discover(provider.issuer()))))
        .await
        .unwrap();
    let key_status = enforcer
        .issuer_key_status(Some(&provider.issuer()))
        .unwrap();
    assert_eq!(key_status.keys, 3, "RS256, ES256, Ed25519");
    assert_eq!(
        key_status.skipped_keys, 1,
        "the P-521 key; the encryption key is not counted"
    );
    let app = service(enforcer);
    for resource in [
        "urn:micros1:rs256",
        "urn:micros1:es256",
        "urn:micros1:eddsa",
    ] {
        let token = provider.token(resource).await;
        let answer = get_with_token(&app, "/entries", &token).await;
        assert_eq!(answer.status, StatusCode::OK, "{resource}: {}", answer.body);
        assert_eq!(
            status(&app, &tampered(&token)).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let other_audience = provider.token("urn:billing").await;
    let answer = get_with_token(&app, "/entries", &other_audience).await;
    assert!(assert_invalid_token(&answer).contains("aud"));
    // A token its own issuer signed, but for another service, then re-labelled: refused too.
    let mut relabelled: Vec<&str> = other_audience.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(
        String::from_utf8(URL_SAFE_NO_PAD.decode(relabelled[1]).unwrap())
            .unwrap()
            .replace("\"billing\"", "\"micros1\""),
    );
    relabelled[1] = &payload;
    assert_eq!(
        status(&app, &relabelled.join(".")).await,
        StatusCode::UNAUTHORIZED
    );
}

/// A restart with new keys, after the provider has closed the idle connection of the last
/// fetch (node: after 5 s): not one request with a new token is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node: tests/oidc_provider/start_provider.sh"]
async fn a_rotation_while_the_enforcer_runs_refuses_no_request_with_a_new_token() {
    let provider = Provider::start();
    let builder = Enforcer::builder()
        .oidc_discovery(provider.issuer())
        .algorithms([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA])
        .audience("micros1")
        .require_typ("at+jwt")
        .claim_mapping(client_credentials())
        .jwks_min_refetch_interval(Duration::from_secs(1));
    let enforcer = build(builder).await.unwrap();
    let app = service(enforcer.clone());
    let before = provider.token("urn:micros1:rs256").await;
    assert_eq!(status(&app, &before).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(6)).await;
    for round in 0..3 {
        provider.restart();
        let mut new_tokens = Vec::new();
        for resource in [
            "urn:micros1:rs256",
            "urn:micros1:es256",
            "urn:micros1:eddsa",
        ] {
            new_tokens.push(provider.token(resource).await);
        }
        // Many at once, as traffic would come: they share one fetch.
        let requests = new_tokens.iter().cycle().take(30).map(|token| {
            let app = app.clone();
            let token = token.clone();
            tokio::spawn(async move { get_with_token(&app, "/entries", &token).await })
        });
        let started = std::time::Instant::now();
        for answer in futures_join(requests).await {
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "round {round}, after {:?}: {}; keys: {:?}",
                started.elapsed(),
                answer.body,
                enforcer.key_status()
            );
        }
        assert_eq!(
            status(&app, &before).await,
            StatusCode::UNAUTHORIZED,
            "the old key is gone with the old process"
        );
        assert!(enforcer.key_status().last_error.is_none());
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
}

async fn futures_join(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Answer>>,
) -> Vec<Answer> {
    let mut answers = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        answers.push(handle.await.unwrap());
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node: tests/oidc_provider/start_provider.sh"]
async fn a_service_starts_from_the_key_cache_file_while_the_provider_is_down() {
    let provider = Provider::start();
    let cache = tempfile::tempdir().unwrap();
    let cache_file = cache.path().join("keys.json");
    let with_cache = || {
        Enforcer::builder()
            .trust(trusted(Issuer::discover(provider.issuer())))
            .jwks_cache_file(&cache_file)
    };
    let first = build(with_cache()).await.unwrap();
    let token = provider.token("urn:micros1:es256").await;
    assert_eq!(status(&service(first), &token).await, StatusCode::OK);

    provider.stop();
    assert!(
        build(Enforcer::builder().trust(trusted(Issuer::discover(provider.issuer()))))
            .await
            .is_err(),
        "without the cache file, a provider that is down fails the build"
    );
    let second = build(with_cache()).await.unwrap();
    let key_status = second.issuer_key_status(Some(&provider.issuer())).unwrap();
    assert!(key_status.keys_from_cache.is_some());
    assert!(
        key_status
            .last_error
            .is_some_and(|e| e.to_string().contains("cannot connect"))
    );
    assert_eq!(status(&service(second), &token).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node: tests/oidc_provider/start_provider.sh"]
async fn opaque_tokens_are_introspected_revoked_and_refused_when_the_provider_is_down() {
    let provider = Provider::start();
    let introspection = Introspection::discover(provider.issuer())
        .client_credentials("micros1", "micros1-secret")
        .audience("micros1")
        .max_ttl(Duration::from_secs(1));
    let app = service(
        build(Enforcer::builder().introspection(introspection))
            .await
            .unwrap(),
    );
    let token = provider.token("urn:micros1:opaque").await;
    let answer = get_with_token(&app, "/entries", &token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    provider.revoke(&token).await;
    let revoked = std::time::Instant::now();
    loop {
        let answer = get_with_token(&app, "/entries", &token).await;
        if answer.status == StatusCode::UNAUTHORIZED {
            assert!(assert_invalid_token(&answer).contains("not active"));
            break;
        }
        assert_eq!(answer.status, StatusCode::OK);
        assert!(
            revoked.elapsed() < Duration::from_secs(3),
            "seen after the cache's TTL (1 s)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let unseen = provider.token("urn:micros1:opaque").await;
    provider.stop();
    let answer = get_with_token(&app, "/entries", &unseen).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
}

/// The provider emits Keycloak's claim layout under a realm's issuer path: `Issuer::keycloak`
/// takes the realm's roles, a client's roles once named, and refuses a token labelled as
/// Keycloak's ID token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node: tests/oidc_provider/start_provider.sh"]
async fn keycloak_layout_tokens_are_decided_by_the_keycloak_preset() {
    let provider = Provider::start_at("/realms/acme");
    let realm = || Issuer::keycloak(provider.issuer()).audience("micros1");
    let app = service(build(Enforcer::builder().trust(realm())).await.unwrap());
    let token = provider.token("urn:micros1:keycloak").await;
    let answer = get_with_token(&app, "/entries", &token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, "service-account-svc", "preferred_username");
    let id_token = provider.token("urn:micros1:keycloak-id").await;
    let answer = get_with_token(&app, "/entries", &id_token).await;
    assert!(
        assert_invalid_token(&answer).contains("typ"),
        "{}",
        answer.body
    );
    // Not Keycloak's layout: no realm roles, no `typ` claim.
    let plain = provider.token("urn:micros1:rs256").await;
    assert_eq!(status(&app, &plain).await, StatusCode::UNAUTHORIZED);

    let editors = "- name: editor\n  allow: [micros1.entries.list]\n";
    let with_acl = |issuer: Issuer| {
        let builder = Enforcer::builder()
            .trust(issuer)
            .acl(AclMap::from_yaml_str(editors).unwrap())
            .watch(false);
        async move {
            tokio::task::spawn_blocking(move || builder.build())
                .await
                .unwrap()
                .unwrap()
        }
    };
    let realm_only = service(with_acl(realm()).await);
    assert_eq!(status(&realm_only, &token).await, StatusCode::FORBIDDEN);
    let with_client = service(with_acl(realm().client_roles("micros1")).await);
    assert_eq!(status(&with_client, &token).await, StatusCode::OK);
}

/// A DPoP-bound token the provider issued passes `RequireRule` with its proofs (one per
/// request), and fails without them, with a replayed one and with another key's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node: tests/oidc_provider/start_provider.sh"]
async fn dpop_bound_tokens_of_the_provider_pass_with_their_proofs_only() {
    let provider = Provider::start();
    let issuer = trusted(Issuer::discover(provider.issuer())).dpop(Dpop::required());
    let enforcer = build(
        Enforcer::builder()
            .trust(issuer)
            .external_url("https://api.example"),
    )
    .await
    .unwrap();
    let app = service(enforcer);
    let key = DpopKey::es256();
    let token = provider.dpop_token("urn:micros1:es256", &key).await;
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["cnf"]["jkt"], key.thumbprint());

    let url = "https://api.example/entries";
    let request = |proof: &str| {
        http::Request::get("/entries")
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", proof)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let proof = key.proof("GET", url).token(&token).sign();
    let answer = send(&app, request(&proof)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, "svc");
    let next = key.proof("GET", url).token(&token).sign();
    assert_eq!(send(&app, request(&next)).await.status, StatusCode::OK);

    let replayed = send(&app, request(&proof)).await;
    assert_eq!(
        replayed.body["message"],
        tokenleader_rbac::Denial::InvalidDpopProof(DpopError::Replayed).to_string()
    );
    let other = DpopKey::ed25519().proof("GET", url).token(&token).sign();
    let answer = send(&app, request(&other)).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let answer = get_with_token(&app, "/entries", &token).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        answer.body["message"],
        tokenleader_rbac::TokenError::DpopBound.to_string()
    );
    // A bearer token of the same provider: this service requires DPoP.
    let bearer = provider.token("urn:micros1:es256").await;
    let answer = get_with_token(&app, "/entries", &bearer).await;
    assert_eq!(
        answer.body["message"],
        tokenleader_rbac::TokenError::DpopRequired.to_string()
    );
}
