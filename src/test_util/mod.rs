//! A test kit (feature `test-util`): test your own handlers without a tokenleader server.
//!
//! ```
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::get};
//! use tokenleader_rbac::{RequireRule, Wfc, test_util::TestIssuer};
//! use tower::ServiceExt;
//!
//! async fn entries(wfc: Wfc) -> String {
//!     format!("entries of {}", wfc.org)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let issuer = TestIssuer::new();
//! let app = Router::new()
//!     .route("/entries", get(entries).route_layer(RequireRule("micros1.entries.list")))
//!     .layer(issuer.enforcer("- name: reader\n  allow: [micros1.entries.list]\n"));
//!
//! let token = issuer.token().user("alice").roles(["reader"]).org("org7").sign();
//! let request = Request::get("/entries").header("X-Auth-Token", token).body(Body::empty()).unwrap();
//! assert_eq!(app.clone().oneshot(request).await.unwrap().status(), StatusCode::OK);
//!
//! let stranger = issuer.token().roles(["guest"]).sign();
//! let request = Request::get("/entries").header("X-Auth-Token", stranger).body(Body::empty()).unwrap();
//! assert_eq!(app.oneshot(request).await.unwrap().status(), StatusCode::FORBIDDEN);
//! # }
//! ```
//!
//! The issuer signs with a fixed RSA key pair shipped in this crate for tests only
//! (`src/test_util/test_only_private_key.pem`): anybody can sign with it, so never trust its
//! public key outside tests. [`TestIssuer::es256`], [`es384`](TestIssuer::es384) and
//! [`ed25519`](TestIssuer::ed25519) sign ES256, ES384 and EdDSA tokens with test-only EC and
//! Ed25519 key pairs in the same folder; [`hs256`](TestIssuer::hs256) signs HS256 tokens with
//! a test-only secret.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value, json};

mod dpop;

pub use dpop::{DpopKey, DpopProof};

use crate::acl::AclMap;
use crate::enforcer::{Enforcer, EnforcerBuilder};
use crate::keys::{PublicKey, SecretKey, crypto_provider};

/// TEST ONLY: these private keys are public.
const TEST_ONLY_PRIVATE_KEY: &str = include_str!("test_only_private_key.pem");
const TEST_ONLY_PUBLIC_KEY: &str = include_str!("test_only_public_key.pem");
const TEST_ONLY_P256_PRIVATE_KEY: &str = include_str!("test_only_p256_private_key.pem");
const TEST_ONLY_P256_PUBLIC_KEY: &str = include_str!("test_only_p256_public_key.pem");
const TEST_ONLY_P384_PRIVATE_KEY: &str = include_str!("test_only_p384_private_key.pem");
const TEST_ONLY_P384_PUBLIC_KEY: &str = include_str!("test_only_p384_public_key.pem");
const TEST_ONLY_ED25519_PRIVATE_KEY: &str = include_str!("test_only_ed25519_private_key.pem");
const TEST_ONLY_ED25519_PUBLIC_KEY: &str = include_str!("test_only_ed25519_public_key.pem");
const TEST_ONLY_HMAC_SECRET: &[u8] = b"test-only HMAC secret: never trust it in production";

/// Mints tokenleader-shaped RS512 tokens with the crate's test-only key pair, or with a key
/// pair of the test's own ([`with_key`](Self::with_key)); [`sign_raw`](Self::sign_raw) signs
/// any header and claims text, byte for byte, for tests of odd or hostile tokens.
#[derive(Clone)]
pub struct TestIssuer {
    key: EncodingKey,
    public_key: PublicKey,
    /// An HMAC issuer's secret: enforcers trust it instead of a public key.
    secret: Option<SecretKey>,
    /// What [`TestToken::sign`] signs with.
    algorithm: Algorithm,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

impl Default for TestIssuer {
    fn default() -> Self {
        Self::new()
    }
}

impl TestIssuer {
    /// An issuer with the test-only key pair.
    pub fn new() -> Self {
        // The key is a constant of this crate: if it failed to parse, no test could run.
        let public_key = PublicKey::from_pem(TEST_ONLY_PUBLIC_KEY.as_bytes())
            .expect("the test-only public key is valid");
        Self::with_key(TEST_ONLY_PRIVATE_KEY, public_key)
    }

    /// An issuer that signs with the test's own RSA key: `private_pem` is a PKCS#1 PEM
    /// (`BEGIN RSA PRIVATE KEY`), `public_key` the key that verifies it.
    ///
    /// # Panics
    ///
    /// When `private_pem` is not a PKCS#1 PEM block: a test's own mistake.
    pub fn with_key(private_pem: &str, public_key: PublicKey) -> Self {
        let block = pem::parse(private_pem).expect("the test's private key is valid PEM");
        assert_eq!(
            block.tag(),
            "RSA PRIVATE KEY",
            "the test's private key is PKCS#1"
        );
        TestIssuer {
            key: EncodingKey::from_rsa_der(block.contents()),
            public_key,
            secret: None,
            algorithm: Algorithm::RS512,
        }
    }

    /// An issuer of HS256 tokens, with a test-only shared secret.
    pub fn hs256() -> Self {
        // A constant of this crate, longer than the minimum.
        let secret = SecretKey::from_bytes(TEST_ONLY_HMAC_SECRET)
            .expect("the test-only secret is long enough");
        TestIssuer {
            key: EncodingKey::from_secret(TEST_ONLY_HMAC_SECRET),
            public_key: secret.clone().into_verifying_key(),
            secret: Some(secret),
            algorithm: Algorithm::HS256,
        }
    }

    /// An issuer of ES256 tokens, with a test-only P-256 key pair.
    pub fn es256() -> Self {
        Self::pkcs8(
            TEST_ONLY_P256_PRIVATE_KEY,
            TEST_ONLY_P256_PUBLIC_KEY,
            Algorithm::ES256,
        )
    }

    /// An issuer of ES384 tokens, with a test-only P-384 key pair.
    pub fn es384() -> Self {
        Self::pkcs8(
            TEST_ONLY_P384_PRIVATE_KEY,
            TEST_ONLY_P384_PUBLIC_KEY,
            Algorithm::ES384,
        )
    }

    /// An issuer of EdDSA tokens, with a test-only Ed25519 key pair.
    pub fn ed25519() -> Self {
        Self::pkcs8(
            TEST_ONLY_ED25519_PRIVATE_KEY,
            TEST_ONLY_ED25519_PUBLIC_KEY,
            Algorithm::EdDSA,
        )
    }

    /// An issuer from one of the crate's PKCS#8 test-only key pairs.
    fn pkcs8(private_pem: &str, public_pem: &str, algorithm: Algorithm) -> Self {
        // Constants of this crate: if they failed to parse, no test could run.
        let public_key =
            PublicKey::from_pem(public_pem.as_bytes()).expect("the test-only public key is valid");
        let block = pem::parse(private_pem).expect("the test-only private key is valid PEM");
        let key = if algorithm == Algorithm::EdDSA {
            EncodingKey::from_ed_der(block.contents())
        } else {
            EncodingKey::from_ec_der(block.contents())
        };
        TestIssuer {
            key,
            public_key,
            secret: None,
            algorithm,
        }
    }

    /// The algorithm [`TestToken::sign`] signs with (RS512 unless made by
    /// [`es256`](Self::es256), [`es384`](Self::es384) or [`ed25519`](Self::ed25519)).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public key that verifies this issuer's tokens (for an [`hs256`](Self::hs256)
    /// issuer, the verifying form of its secret: give enforcers
    /// [`secret_key`](Self::secret_key) instead).
    pub fn public_key(&self) -> PublicKey {
        self.public_key.clone()
    }

    /// The signature of `message` with this issuer's key and `algorithm` (one of its key's
    /// type), raw bytes.
    ///
    /// # Panics
    ///
    /// When `algorithm` is not one of the key's type, or the backend cannot sign: a test's
    /// mistake or a bug.
    pub fn signature(&self, message: &[u8], algorithm: Algorithm) -> Vec<u8> {
        // Signed through the crate's provider, not jsonwebtoken's process-wide default, so the
        // kit works whichever backends the test build turns on.
        (crypto_provider().signer_factory)(&algorithm, &self.key)
            .and_then(|signer| signer.try_sign(message).map_err(Into::into))
            .expect("the test key signs with an algorithm of its type")
    }

    /// A compact JWS of `header` and `claims` exactly as given (JSON text, not re-encoded:
    /// duplicate members, odd spacing and hostile values stay), signed with `algorithm`.
    pub fn sign_raw(&self, header: &str, claims: &str, algorithm: Algorithm) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = self.signature(input.as_bytes(), algorithm);
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// An enforcer builder that trusts this issuer and its algorithm (add the ACL and
    /// settings of your test).
    pub fn enforcer_builder(&self) -> EnforcerBuilder {
        let builder = match &self.secret {
            Some(secret) => Enforcer::builder().secret_key(secret.clone()),
            None => Enforcer::builder().public_key(self.public_key()),
        };
        builder.algorithms([self.algorithm]).watch(false)
    }

    /// An [`hs256`](Self::hs256) issuer's secret; `None` for the others.
    pub fn secret_key(&self) -> Option<SecretKey> {
        self.secret.clone()
    }

    /// An enforcer that trusts this issuer, with the ACL map `acl_yaml`.
    ///
    /// # Panics
    ///
    /// When `acl_yaml` is not a valid map: a test's own mistake, reported with its line.
    pub fn enforcer(&self, acl_yaml: &str) -> Enforcer {
        let acl = AclMap::from_yaml_str(acl_yaml).unwrap_or_else(|e| panic!("test ACL map: {e}"));
        self.enforcer_builder()
            .acl(acl)
            .build()
            .unwrap_or_else(|e| panic!("test enforcer: {e}"))
    }

    /// Starts a token: user `user1`, roles `[role1]`, wfc `wfc1` org1/ou1/dept1, issued now,
    /// valid for one hour, as the tokenleader server issues them.
    pub fn token(&self) -> TestToken<'_> {
        TestToken {
            issuer: self,
            id: 1,
            username: "user1".into(),
            email: None,
            roles: vec!["role1".into()],
            wfc: json!({"id": 1, "name": "wfc1", "org": "org1", "orgunit": "ou1", "department": "dept1"}),
            issued_at: None,
            lifetime: Duration::from_secs(3600),
            not_before: None,
            extra: Map::new(),
        }
    }
}

/// A token being built by [`TestIssuer::token`]; [`sign`](Self::sign) gives the compact JWS.
#[derive(Debug)]
pub struct TestToken<'i> {
    issuer: &'i TestIssuer,
    id: u64,
    username: String,
    email: Option<String>,
    roles: Vec<String>,
    wfc: Value,
    issued_at: Option<SystemTime>,
    lifetime: Duration,
    not_before: Option<SystemTime>,
    extra: Map<String, Value>,
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl TestToken<'_> {
    /// The user name (also the e-mail unless [`email`](Self::email) is set).
    pub fn user(mut self, username: impl Into<String>) -> Self {
        self.username = username.into();
        self
    }

    /// The user id.
    pub fn id(mut self, id: u64) -> Self {
        self.id = id;
        self
    }

    /// The e-mail.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// The roles.
    pub fn roles<R: Into<String>>(mut self, roles: impl IntoIterator<Item = R>) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// The whole work function context.
    pub fn wfc(mut self, name: &str, org: &str, orgunit: &str, department: &str) -> Self {
        self.wfc = json!({"id": 1, "name": name, "org": org, "orgunit": orgunit, "department": department});
        self
    }

    /// Only the org of the work function context.
    pub fn org(mut self, org: &str) -> Self {
        self.wfc["org"] = org.into();
        self
    }

    /// When the token was issued (default: now); `exp` is this plus the lifetime.
    pub fn issued_at(mut self, time: SystemTime) -> Self {
        self.issued_at = Some(time);
        self
    }

    /// How long the token lives (default one hour).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// A token that expired an hour ago (issued two hours ago, one hour lifetime).
    pub fn expired(self) -> Self {
        let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
        self.issued_at(two_hours_ago)
            .lifetime(Duration::from_secs(3600))
    }

    /// `nbf`: the token is not valid before this time.
    pub fn not_before(mut self, time: SystemTime) -> Self {
        self.not_before = Some(time);
        self
    }

    /// An extra top-level claim, or one that replaces a standard claim (`"exp"`, `"sub"`, …).
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.extra.insert(name.to_owned(), value);
        self
    }

    /// The claims as they will be signed.
    pub fn claims(&self) -> Value {
        let iat = unix(self.issued_at.unwrap_or_else(SystemTime::now));
        let mut claims = json!({
            "exp": iat + self.lifetime.as_secs(),
            "iat": iat,
            "sub": {
                "id": self.id,
                "username": self.username,
                "email": self.email.as_deref().unwrap_or(&self.username),
                "roles": self.roles,
                "wfc": self.wfc,
            },
        });
        if let Some(nbf) = self.not_before {
            claims["nbf"] = unix(nbf).into();
        }
        for (name, value) in &self.extra {
            claims[name.as_str()] = value.clone();
        }
        claims
    }

    /// Signs the token with the issuer's algorithm (RS512 unless the issuer says otherwise),
    /// header `{"typ":"JWT","alg":"RS512"}` like tokenleader's.
    ///
    /// # Panics
    ///
    /// When the crypto backend cannot sign with the issuer's key, which would be a bug.
    pub fn sign(&self) -> String {
        let algorithm = self.issuer.algorithm;
        let header = format!(r#"{{"typ":"JWT","alg":"{algorithm:?}"}}"#);
        self.issuer
            .sign_raw(&header, &self.claims().to_string(), algorithm)
    }
}
