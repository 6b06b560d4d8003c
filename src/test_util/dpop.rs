//! DPoP keys and proofs for tests ([`DpopKey`]), and tokens bound to a key or a client
//! certificate ([`TestToken::bound_to`], [`TestToken::bound_to_certificate`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};
use sha2::Digest as _;

use super::{TestIssuer, TestToken};
use crate::keys::PublicKey;
use crate::mtls::ClientCertificate;

/// A client's DPoP key pair (test-only: the private keys ship in this crate), which makes
/// proofs ([`proof`](Self::proof)) and names itself in bound tokens
/// ([`TestToken::bound_to`]).
///
/// ```
/// use tokenleader_rbac::test_util::{DpopKey, TestIssuer};
///
/// let key = DpopKey::es256();
/// let token = TestIssuer::new().token().bound_to(&key).sign();
/// let proof = key.proof("POST", "https://api.example/entries").token(&token).sign();
/// assert_eq!(proof.split('.').count(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct DpopKey {
    signer: TestIssuer,
}

impl DpopKey {
    /// An ES256 key (the test-only P-256 pair).
    pub fn es256() -> Self {
        DpopKey {
            signer: TestIssuer::es256(),
        }
    }

    /// An ES384 key (the test-only P-384 pair).
    pub fn es384() -> Self {
        DpopKey {
            signer: TestIssuer::es384(),
        }
    }

    /// An EdDSA key (the test-only Ed25519 pair).
    pub fn ed25519() -> Self {
        DpopKey {
            signer: TestIssuer::ed25519(),
        }
    }

    /// The algorithm its proofs are signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.signer.algorithm()
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    /// Its public key as the `jwk` of a proof's header.
    pub fn jwk(&self) -> Value {
        // The test keys are EC and Ed25519 keys: each has a public JWK.
        self.signer.public_key().to_jwk().unwrap_or_default()
    }

    /// Its RFC 7638 thumbprint: what a token bound to it names in `cnf.jkt`.
    pub fn thumbprint(&self) -> String {
        self.signer
            .public_key()
            .jwk_thumbprint()
            .unwrap_or_default()
    }

    /// Starts a proof for a request with `method` to `url` (`htu`: the URL without query or
    /// fragment), issued now, with a fresh `jti`. Add the access token with
    /// [`DpopProof::token`].
    pub fn proof(&self, method: &str, url: &str) -> DpopProof<'_> {
        static NEXT_JTI: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let jti = format!(
            "{}-{}",
            now.as_nanos(),
            NEXT_JTI.fetch_add(1, Ordering::Relaxed)
        );
        let header = json!({
            "typ": "dpop+jwt",
            "alg": format!("{:?}", self.algorithm()),
            "jwk": self.jwk(),
        });
        let claims = json!({"jti": jti, "htm": method, "htu": url, "iat": now.as_secs()});
        DpopProof {
            key: self,
            header: into_map(header),
            claims: into_map(claims),
        }
    }
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A DPoP proof being built by [`DpopKey::proof`]; [`sign`](Self::sign) gives the compact
/// JWS for the `DPoP` header. Its members can be changed or removed for tests of refusals.
#[derive(Debug, Clone)]
pub struct DpopProof<'k> {
    key: &'k DpopKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl DpopProof<'_> {
    /// The access token it goes with: its hash becomes `ath`.
    pub fn token(self, token: &str) -> Self {
        let ath = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token));
        self.claim("ath", Value::String(ath))
    }

    /// When it was made (`iat`).
    pub fn issued_at(self, time: SystemTime) -> Self {
        let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.claim("iat", secs.into())
    }

    /// The server nonce it carries (from a 401's `DPoP-Nonce` header).
    pub fn nonce(self, nonce: &str) -> Self {
        self.claim("nonce", nonce.into())
    }

    /// Its `jti`.
    pub fn jti(self, jti: &str) -> Self {
        self.claim("jti", jti.into())
    }

    /// Sets a claim (`Value::Null` removes it).
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        match value {
            Value::Null => self.claims.remove(name),
            value => self.claims.insert(name.to_owned(), value),
        };
        self
    }

    /// Sets a header member (`Value::Null` removes it): `typ`, `alg`, `jwk`.
    pub fn header(mut self, name: &str, value: Value) -> Self {
        match value {
            Value::Null => self.header.remove(name),
            value => self.header.insert(name.to_owned(), value),
        };
        self
    }

    /// The compact JWS, signed with the key's algorithm (whatever `alg` the header says).
    pub fn sign(&self) -> String {
        self.key.signer.sign_raw(
            &Value::Object(self.header.clone()).to_string(),
            &Value::Object(self.claims.clone()).to_string(),
            self.key.algorithm(),
        )
    }
}

impl TestToken<'_> {
    /// Binds the token to a DPoP key: `cnf.jkt` is the key's thumbprint.
    pub fn bound_to(self, key: &DpopKey) -> Self {
        self.confirm("jkt", key.thumbprint())
    }

    /// Binds the token to a client certificate: `cnf["x5t#S256"]` is its thumbprint.
    pub fn bound_to_certificate(self, certificate: &ClientCertificate) -> Self {
        self.confirm("x5t#S256", certificate.thumbprint())
    }

    fn confirm(mut self, member: &str, value: String) -> Self {
        let cnf = self
            .extra
            .entry("cnf")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(cnf) = cnf {
            cnf.insert(member.to_owned(), value.into());
        }
        self
    }
}
