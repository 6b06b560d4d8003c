//! The identity provider presets, against access tokens shaped exactly as each provider
//! documents them (claims, header, issuer form; the page is cited above each), signed with a
//! test key behind a loopback stand-in with the provider's path layout. Each is decided
//! through `RequireRule`: allowed, 403 for a role without the rule, 401 for the provider's ID
//! token or another audience.

#![cfg(feature = "jwks")]

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use tokenleader_rbac::{AclMap, Enforcer, Issuer, RequireRule};

use crate::common::*;

const RULE: &str = "micros1.entries.list";
const KID: &str = "provider-key-1";

/// The stand-in's documents: `{path}` → JSON, where `{base}` in a string is the stand-in's URL.
async fn provider(documents: Vec<(&'static str, Value)>) -> String {
    async fn serve(
        State((base, documents)): State<(String, Vec<(&'static str, Value)>)>,
        Path(path): Path<String>,
    ) -> Result<Json<Value>, StatusCode> {
        let (_, document) = documents
            .iter()
            .find(|(at, _)| at.trim_start_matches('/') == path)
            .ok_or(StatusCode::NOT_FOUND)?;
        let text = document.to_string().replace("{base}", &base);
        Ok(Json(serde_json::from_str(&text).unwrap()))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/{*path}", get(serve))
        .with_state((base.clone(), documents));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// The provider's signing key as its JWKS lists it (RS256, `use: sig`).
fn jwks() -> Value {
    let mut key: Value =
        serde_json::from_str(&fixture("test_keys/trusted_public.jwk.json")).unwrap();
    key["kid"] = json!(KID);
    key["alg"] = json!("RS256");
    json!({"keys": [key]})
}

fn sign(header: Value, claims: &Value) -> String {
    mint_raw(
        &header.to_string(),
        &claims.to_string(),
        &trusted_issuer(),
        Algorithm::RS256,
    )
}

fn acl(role: &str) -> AclMap {
    AclMap::from_yaml_str(&format!("- name: '{role}'\n  allow: [{RULE}]\n")).unwrap()
}

async fn service(issuer: Issuer, acl: AclMap) -> Router {
    let builder = Enforcer::builder()
        .trust(issuer)
        .acl(acl)
        .clock(at(NOW))
        .watch(false);
    let enforcer = tokio::task::spawn_blocking(move || builder.build())
        .await
        .unwrap()
        .unwrap();
    Router::new()
        .route(
            "/entries",
            get(|| async { "ok" }).route_layer(RequireRule(RULE)),
        )
        .layer(enforcer)
}

async fn status(app: &Router, token: &str) -> StatusCode {
    get_with_token(app, "/entries", token).await.status
}

// ---- Keycloak ------------------------------------------------------------------------------

/// An access token of a Keycloak realm, as
/// <https://www.keycloak.org/docs/latest/server_admin/#_oidc_token_role_mappings> and
/// <https://www.keycloak.org/docs/latest/securing_apps/#_token-exchange> show one: header
/// `{"alg":"RS256","typ":"JWT","kid":…}`; payload `typ` `Bearer` (ID tokens: `ID`),
/// `realm_access.roles`, `resource_access.{client}.roles`, `preferred_username`, `azp`, `aud`
/// (`account` unless an audience mapper adds the client).
fn keycloak_token(iss: &str, typ: &str, realm_roles: &[&str], client_roles: &[&str]) -> String {
    let claims = json!({
        "exp": NOW + 300, "iat": NOW, "auth_time": NOW, "jti": "1b7e5c2a-6c43-4c1e-9a4b-0f3b1d2e3c4d",
        "iss": iss, "aud": ["micros1", "account"], "sub": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "typ": typ, "azp": "micros1-frontend", "session_state": "8d2f2b1c",
        "acr": "1", "allowed-origins": ["https://app.example"],
        "realm_access": {"roles": realm_roles},
        "resource_access": {"micros1": {"roles": client_roles}, "account": {"roles": ["view-profile"]}},
        "scope": "openid email profile", "email_verified": true,
        "preferred_username": "alice", "email": "alice@example.com"
    });
    sign(json!({"alg": "RS256", "typ": "JWT", "kid": KID}), &claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_realm_and_client_roles() {
    let base = provider(vec![
        (
            "/realms/acme/.well-known/openid-configuration",
            json!({
            "issuer": "{base}/realms/acme",
            "jwks_uri": "{base}/realms/acme/protocol/openid-connect/certs"}),
        ),
        ("/realms/acme/protocol/openid-connect/certs", jwks()),
    ])
    .await;
    let iss = format!("{base}/realms/acme");
    let realm = Issuer::keycloak(&iss).audience("micros1");
    let app = service(realm, acl("reader")).await;
    assert_eq!(
        status(&app, &keycloak_token(&iss, "Bearer", &["reader"], &[])).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, &keycloak_token(&iss, "Bearer", &["auditor"], &[])).await,
        StatusCode::FORBIDDEN
    );
    // The realm's ID token: signed alike, payload `typ` `ID`.
    assert_eq!(
        status(&app, &keycloak_token(&iss, "ID", &["reader"], &[])).await,
        StatusCode::UNAUTHORIZED
    );

    // A client's roles count once the client is named.
    let clients = Issuer::keycloak(&iss)
        .audience("micros1")
        .client_roles("micros1");
    let app = service(clients, acl("editor")).await;
    assert_eq!(
        status(&app, &keycloak_token(&iss, "Bearer", &[], &["editor"])).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, &keycloak_token(&iss, "Bearer", &["editor"], &[])).await,
        StatusCode::OK
    );
}

// ---- Microsoft Entra ID --------------------------------------------------------------------

const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const API_CLIENT_ID: &str = "6e74172b-be56-4843-9ff4-e66a39bb12e3";

/// A v2.0 access token, as
/// <https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference>
/// lists its claims: header `{"typ":"JWT","alg":"RS256","kid":…}`; `aud` the API's client id,
/// `iss` `https://login.microsoftonline.com/{tid}/v2.0`, `roles` (app roles), `scp`
/// (delegated scopes, space-separated), `preferred_username`, `azp`, `ver` `2.0`. An ID token
/// names the client app in `aud` instead.
fn entra_token(aud: &str, roles: &[&str], scp: &str) -> String {
    let claims = json!({
        "aud": aud, "iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        "iat": NOW, "nbf": NOW, "exp": NOW + 3600,
        "aio": "AXQAi/8UAAAA", "azp": "a3e5c7e9-1111-2222-3333-444455556666", "azpacr": "0",
        "name": "Alice Example", "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "preferred_username": "alice@contoso.com", "rh": "I", "roles": roles, "scp": scp,
        "sub": "MF4f-ggWMEji12KynJUNQZphaUTvLcQug5jdF2nl01Q", "tid": TENANT,
        "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0"
    });
    sign(json!({"typ": "JWT", "alg": "RS256", "kid": KID}), &claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_app_roles_and_delegated_scopes() {
    let base = provider(vec![
        (
            "/tenant/v2.0/.well-known/openid-configuration",
            json!({
            "issuer": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
            "jwks_uri": "{base}/tenant/discovery/v2.0/keys"}),
        ),
        ("/tenant/discovery/v2.0/keys", jwks()),
    ])
    .await;
    let entra = || {
        Issuer::entra(TENANT)
            .discovery_url(format!(
                "{base}/tenant/v2.0/.well-known/openid-configuration"
            ))
            .audience(API_CLIENT_ID)
    };
    let app = service(entra(), acl("Entries.Read")).await;
    assert_eq!(
        status(&app, &entra_token(API_CLIENT_ID, &["Entries.Read"], "")).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, &entra_token(API_CLIENT_ID, &[], "Entries.Read Other")).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, &entra_token(API_CLIENT_ID, &["Other"], "")).await,
        StatusCode::FORBIDDEN
    );
    // The client app's ID token (its own client id in `aud`).
    let id_token = entra_token(
        "a3e5c7e9-1111-2222-3333-444455556666",
        &["Entries.Read"],
        "",
    );
    assert_eq!(status(&app, &id_token).await, StatusCode::UNAUTHORIZED);
}

// ---- Auth0 ---------------------------------------------------------------------------------

/// An access token for an API with RBAC, as
/// <https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles> shows it (the RFC
/// 9068 profile: header `typ` `at+jwt`): `iss` `https://{domain}/`, `aud` the API identifier
/// (and `/userinfo`), `permissions`, `scope`, `azp`; an Action's namespaced roles claim.
fn auth0_token(aud: Value, permissions: &[&str], roles: &[&str]) -> String {
    let claims = json!({
        "iss": "https://acme.eu.auth0.com/", "sub": "auth0|6501f3c0a1b2c3d4e5f60718",
        "aud": aud, "iat": NOW, "exp": NOW + 86_000, "azp": "x0KtRKSqo9TPUvZtJ8LiDzAQ9vqmG1Ga",
        "scope": "openid profile", "permissions": permissions,
        "https://example.com/roles": roles, "client_id": "x0KtRKSqo9TPUvZtJ8LiDzAQ9vqmG1Ga",
        "jti": "fQ8Ht5rF6Y"
    });
    sign(
        json!({"alg": "RS256", "typ": "at+jwt", "kid": KID}),
        &claims,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth0_permissions_and_a_namespaced_roles_claim() {
    let base = provider(vec![
        (
            "/.well-known/openid-configuration",
            json!({
            "issuer": "https://acme.eu.auth0.com/", "jwks_uri": "{base}/.well-known/jwks.json"}),
        ),
        ("/.well-known/jwks.json", jwks()),
    ])
    .await;
    let auth0 = Issuer::auth0("acme.eu.auth0.com")
        .discovery_url(format!("{base}/.well-known/openid-configuration"))
        .audience("https://api.example.com")
        .roles_claim("https://example.com/roles");
    let app = service(auth0, acl("read:entries")).await;
    let api = json!([
        "https://api.example.com",
        "https://acme.eu.auth0.com/userinfo"
    ]);
    assert_eq!(
        status(&app, &auth0_token(api.clone(), &["read:entries"], &[])).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, &auth0_token(api.clone(), &[], &["read:entries"])).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, &auth0_token(api, &["write:entries"], &[])).await,
        StatusCode::FORBIDDEN
    );
    // An ID token: its audience is the client.
    let id_token = auth0_token(
        json!("x0KtRKSqo9TPUvZtJ8LiDzAQ9vqmG1Ga"),
        &["read:entries"],
        &[],
    );
    assert_eq!(status(&app, &id_token).await, StatusCode::UNAUTHORIZED);
}

// ---- Amazon Cognito ------------------------------------------------------------------------

const POOL: &str = "eu-west-1_aBcDeFgHi";
const APP_CLIENT: &str = "1example23456789";

/// A user pool's access token, as
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html>
/// shows it: header `{"kid":…,"alg":"RS256"}`; `token_use` `access` (ID tokens: `id`),
/// `cognito:groups`, `client_id` and no `aud`, `scope`, `username`, `version` 2.
fn cognito_token(token_use: &str, client_id: &str, groups: &[&str]) -> String {
    let claims = json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-example", "cognito:groups": groups,
        "iss": format!("https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"), "version": 2,
        "client_id": client_id, "origin_jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "event_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "token_use": token_use,
        "scope": "aws.cognito.signin.user.admin phone openid profile email",
        "auth_time": NOW, "exp": NOW + 3600, "iat": NOW,
        "jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "username": "alice"
    });
    sign(json!({"kid": KID, "alg": "RS256"}), &claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_groups_with_the_app_client_checked() {
    let base = provider(vec![
        (
            "/pool/.well-known/openid-configuration",
            json!({
            "issuer": format!("https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"),
            "jwks_uri": "{base}/pool/.well-known/jwks.json"}),
        ),
        ("/pool/.well-known/jwks.json", jwks()),
    ])
    .await;
    let discovery = format!("{base}/pool/.well-known/openid-configuration");
    let cognito = Issuer::cognito("eu-west-1", POOL)
        .discovery_url(&discovery)
        .client_id(APP_CLIENT);
    let app = service(cognito, acl("readers")).await;
    assert_eq!(
        status(&app, &cognito_token("access", APP_CLIENT, &["readers"])).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, &cognito_token("access", APP_CLIENT, &["writers"])).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(&app, &cognito_token("id", APP_CLIENT, &["readers"])).await,
        StatusCode::UNAUTHORIZED
    );
    // Another app client of the same pool.
    assert_eq!(
        status(&app, &cognito_token("access", "9other", &["readers"])).await,
        StatusCode::UNAUTHORIZED
    );
    // Without the app client named, nothing would check whose token it is.
    let unnamed = Issuer::cognito("eu-west-1", POOL).discovery_url(&discovery);
    let error = build_error(Enforcer::builder().trust(unnamed));
    assert!(error.contains("give `.client_id(..)`"), "{error}");
}

// ---- Okta ----------------------------------------------------------------------------------

/// An access token of Okta's default authorization server, as
/// <https://developer.okta.com/docs/api/openapi/okta-oauth/guides/overview/> describes it:
/// header `{"kid":…,"alg":"RS256"}`; `ver` 1, `iss` the server, `aud` `api://default`, `cid`,
/// `uid`, `scp` (an array), `sub` (the user's login), `groups` when the server adds them.
fn okta_token(iss: &str, aud: &str, scp: &[&str], groups: Option<&[&str]>) -> String {
    let mut claims = json!({
        "ver": 1, "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE", "iss": iss,
        "aud": aud, "iat": NOW, "exp": NOW + 3600, "cid": "0oa1pa7q7wZJxdH2m0h8",
        "uid": "00u1pcla5qYIREDLWCQV", "scp": scp, "auth_time": NOW,
        "sub": "alice@example.com"
    });
    if let Some(groups) = groups {
        claims["groups"] = json!(groups);
    }
    sign(json!({"kid": KID, "alg": "RS256"}), &claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_scopes_and_groups_with_the_default_audience() {
    let base = provider(vec![
        (
            "/oauth2/default/.well-known/openid-configuration",
            json!({
            "issuer": "{base}/oauth2/default", "jwks_uri": "{base}/oauth2/default/v1/keys"}),
        ),
        ("/oauth2/default/v1/keys", jwks()),
    ])
    .await;
    let iss = format!("{base}/oauth2/default");
    let app = service(Issuer::okta(&iss), acl("entries.read")).await;
    let api = "api://default";
    assert_eq!(
        status(&app, &okta_token(&iss, api, &["entries.read"], None)).await,
        StatusCode::OK
    );
    assert_eq!(
        status(
            &app,
            &okta_token(&iss, api, &["openid"], Some(&["entries.read"]))
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        status(&app, &okta_token(&iss, api, &["openid"], None)).await,
        StatusCode::FORBIDDEN
    );
    // An ID token: its audience is the client (`cid`).
    let id_token = okta_token(&iss, "0oa1pa7q7wZJxdH2m0h8", &["entries.read"], None);
    assert_eq!(status(&app, &id_token).await, StatusCode::UNAUTHORIZED);
    // Another API's audience, given: the default is replaced.
    let reports = service(
        Issuer::okta(&iss).audience("api://reports"),
        acl("entries.read"),
    )
    .await;
    assert_eq!(
        status(&reports, &okta_token(&iss, api, &["entries.read"], None)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(
            &reports,
            &okta_token(&iss, "api://reports", &["entries.read"], None)
        )
        .await,
        StatusCode::OK
    );
}

/// A preset works with static keys too: nothing is fetched.
#[test]
fn a_preset_with_static_keys_fetches_nothing() {
    let iss = "https://kc.example/realms/acme";
    let realm = Issuer::keycloak(iss)
        .static_keys_only()
        .public_key(trusted_public().with_kid(KID))
        .audience("micros1");
    let enforcer = Enforcer::builder()
        .trust(realm)
        .acl(acl("reader"))
        .clock(at(NOW))
        .build()
        .unwrap();
    let token = keycloak_token(iss, "Bearer", &["reader"], &[]);
    // The static PEM key checks any RSA algorithm the issuer allows, RS256 among them.
    let claims = enforcer.authorize(&headers(&token), RULE).unwrap();
    assert_eq!(claims.identity.username.as_str(), "alice");
}

/// No preset leaves the audience unchecked: Keycloak, Entra ID and Auth0 refuse to build
/// without one (their providers issue tokens for many clients), Cognito without the app
/// client (and refuses an audience, which its access tokens never carry), and Okta checks
/// `api://default` by default (its test above).
#[test]
fn a_preset_without_its_audience_does_not_build() {
    let stand_in = "http://127.0.0.1:9/.well-known/openid-configuration";
    for preset in [
        Issuer::keycloak("https://kc.example/realms/acme"),
        Issuer::entra(TENANT),
        Issuer::auth0("acme.eu.auth0.com"),
    ] {
        let error = build_error(Enforcer::builder().trust(preset.discovery_url(stand_in)));
        assert!(error.contains("give `.audience(..)`"), "{error}");
    }
    let error = build_error(
        Enforcer::builder().trust(
            Issuer::cognito("eu-west-1", POOL)
                .discovery_url(stand_in)
                .audience("something"),
        ),
    );
    assert!(
        error.contains("name the app client with `.client_id(..)`"),
        "{error}"
    );
}
