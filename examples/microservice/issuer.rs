//! A stand-in for the tokenleader server's `POST /token/gettoken`, with demo users and the
//! DEMO-ONLY key pair of `examples/demo/`. It answers like the real server.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{Json, extract::State, http::StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};

/// DEMO ONLY: this private key is public. Never trust tokens signed with it.
pub const DEMO_PRIVATE_KEY: &str = include_str!("../demo/demo_only_private_key.pem");
/// The public half of [`DEMO_PRIVATE_KEY`].
pub const DEMO_PUBLIC_KEY: &str = include_str!("../demo/demo_only_public_key.pem");

struct DemoUser {
    id: u64,
    username: &'static str,
    roles: &'static [&'static str],
    wfc: (&'static str, &'static str, &'static str, &'static str),
}

/// The demo users; each one's password is its user name.
const USERS: &[DemoUser] = &[
    DemoUser {
        id: 1,
        username: "user1",
        roles: &["role1"],
        wfc: ("wfc1", "org1", "ou1", "dept1"),
    },
    DemoUser {
        id: 2,
        username: "user2",
        roles: &["role1", "role2"],
        wfc: ("wfc2", "org2", "ou2", "dept2"),
    },
    DemoUser {
        id: 3,
        username: "user3",
        roles: &["role2"],
        wfc: ("wfc3", "org3", "ou3", "dept3"),
    },
    DemoUser {
        id: 4,
        username: "admin",
        roles: &["admin"],
        wfc: ("wfcadmin", "orgadmin", "ouadmin", "deptadmin"),
    },
];

/// Issues tokenleader-shaped RS512 tokens for the demo users.
#[derive(Clone)]
pub struct DemoIssuer {
    key: EncodingKey,
    base_url: String,
}

impl DemoIssuer {
    /// `base_url` is where the example listens, for the service catalog.
    pub fn new(base_url: String) -> Result<Self, jsonwebtoken::errors::Error> {
        // The example signs with jsonwebtoken directly; under `--all-features` both of its
        // backends are on, so pick the one the crate verifies with.
        let _ = tokenleader_rbac::keys::crypto_provider().install_default();
        Ok(DemoIssuer {
            key: EncodingKey::from_rsa_pem(DEMO_PRIVATE_KEY.as_bytes())?,
            base_url,
        })
    }

    fn token_for(&self, user: &DemoUser) -> Result<String, jsonwebtoken::errors::Error> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (name, org, orgunit, department) = user.wfc;
        let claims = json!({
            "exp": iat + 3600, "iat": iat,
            "sub": {"id": user.id, "username": user.username, "email": user.username, "roles": user.roles,
                    "wfc": {"id": user.id, "name": name, "org": org, "orgunit": orgunit, "department": department}},
        });
        jsonwebtoken::encode(&Header::new(Algorithm::RS512), &claims, &self.key)
    }
}

#[derive(Deserialize)]
pub struct Login {
    username: String,
    password: String,
}

/// `POST /token/gettoken` with `{"username", "password"}`. Like the real server: 201 with the
/// token and service catalog; 200 with `status` `Wrong Password` or `User not registered`.
pub async fn get_token(
    State(issuer): State<DemoIssuer>,
    Json(login): Json<Login>,
) -> (StatusCode, Json<Value>) {
    let Some(user) = USERS.iter().find(|u| u.username == login.username) else {
        return (
            StatusCode::OK,
            Json(json!({"status": "User not registered", "message": "User not registered"})),
        );
    };
    if login.password != user.username {
        return (
            StatusCode::OK,
            Json(json!({"status": "Wrong Password", "message": "Wrong Password"})),
        );
    }
    match issuer.token_for(user) {
        Ok(token) => (
            StatusCode::CREATED,
            Json(json!({
                "status": "success", "message": "success", "auth_token": token,
                "service_catalog": {"micros1": {"id": 1, "name": "micros1",
                    "endpoint_url_internal": issuer.base_url, "endpoint_url_external": issuer.base_url,
                    "endpoint_url_admin": issuer.base_url}},
            })),
        ),
        Err(error) => {
            tracing::error!(%error, "demo issuer could not sign");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"status": "error", "message": "could not sign"})),
            )
        }
    }
}
