//! JSON Web Keys (RFC 7517, RFC 8037): one key (RSA, EC P-256/P-384, Ed25519), or the
//! signing keys of a key set.

use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::{KeyError, KeyType, PublicKey};

/// The key types a key set may hold that this crate verifies with.
const SUPPORTED_KTY: [&str; 3] = ["RSA", "EC", "OKP"];

impl PublicKey {
    /// Loads one JSON Web Key: RSA (`n`, `e`), EC (`crv` P-256 or P-384, `x`, `y`) or OKP
    /// (`crv` Ed25519, `x`). Its `kid` and `alg`, when present, are kept: `kid` selects the
    /// key, `alg` binds it to that algorithm, and must be one its type checks.
    pub fn from_jwk(json: &str) -> Result<Self, KeyError> {
        let jwk: Jwk = serde_json::from_str(json)
            .map_err(|e| KeyError::format("JWK", format!("not a JSON Web Key: {e}")))?;
        jwk.into_key()
    }

    /// Loads every signing key of a JSON Web Key Set (`{"keys":[…]}`). Keys of other types
    /// (`oct`, …) and encryption keys (`"use":"enc"`) are skipped; a set without any signing
    /// key is an error.
    pub fn from_jwks(json: &str) -> Result<Vec<Self>, KeyError> {
        #[derive(Deserialize)]
        struct Jwks {
            keys: Vec<Jwk>,
        }
        let set: Jwks = serde_json::from_str(json)
            .map_err(|e| KeyError::format("JWK", format!("not a JSON Web Key Set: {e}")))?;
        let keys = set
            .keys
            .into_iter()
            .filter(|jwk| {
                SUPPORTED_KTY.contains(&jwk.kty.as_str()) && jwk.key_use.as_deref() != Some("enc")
            })
            .map(Jwk::into_key)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::format(
                "JWK",
                "the key set holds no RSA, EC or Ed25519 signing key",
            ));
        }
        Ok(keys)
    }
}

/// The members of a JSON Web Key this crate reads.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
}

impl Jwk {
    fn into_key(self) -> Result<PublicKey, KeyError> {
        // A key meant for encryption must not verify signatures. (`key_ops` entries are
        // matched loosely: some publishers write `["sign, verify"]`.)
        let for_encryption = self.key_use.as_deref().is_some_and(|u| u != "sig");
        let cannot_verify = self
            .key_ops
            .as_ref()
            .is_some_and(|ops| !ops.iter().any(|op| op.contains("verify")));
        if for_encryption || cannot_verify {
            return Err(KeyError::format(
                "JWK",
                "the key is not for verifying signatures (`use` or `key_ops` says otherwise)",
            ));
        }
        let member = |value: Option<String>, name: &str| -> Result<Vec<u8>, KeyError> {
            let value = value.ok_or_else(|| KeyError::format("JWK", format!("no `{name}`")))?;
            URL_SAFE_NO_PAD
                .decode(value)
                .map_err(|e| KeyError::format("JWK", format!("`{name}` is not base64url: {e}")))
        };
        let crv = self.crv.as_deref();
        let mut key = match (self.kty.as_str(), crv) {
            ("RSA", _) => {
                PublicKey::from_rsa_components(&member(self.n, "n")?, &member(self.e, "e")?)?
            }
            ("EC", Some(crv @ ("P-256" | "P-384"))) => {
                let curve = if crv == "P-256" {
                    KeyType::EcP256
                } else {
                    KeyType::EcP384
                };
                let mut point = vec![0x04];
                point.extend(member(self.x, "x")?);
                point.extend(member(self.y, "y")?);
                PublicKey::from_ec_point(curve, &point)?
            }
            ("OKP", Some("Ed25519")) => PublicKey::from_ed25519_bytes(&member(self.x, "x")?)?,
            ("EC" | "OKP", crv) => {
                return Err(KeyError::Unsupported(format!(
                    "{} curve {}",
                    self.kty,
                    crv.unwrap_or("(none)")
                )));
            }
            (kty, _) => return Err(KeyError::Unsupported(kty.to_owned())),
        };
        key.kid = self.kid;
        match self.alg {
            Some(alg) => {
                let algorithm =
                    Algorithm::from_str(&alg).map_err(|_| KeyError::AlgorithmMismatch {
                        algorithm: alg.chars().take(16).collect(),
                        key_type: key.key_type(),
                    })?;
                key.with_algorithm(algorithm)
            }
            None => Ok(key),
        }
    }
}
