//! JSON Web Keys (RFC 7517): one RSA key, or the RSA signing keys of a key set.

use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::provider::is_rsa;
use super::{KeyError, PublicKey};

impl PublicKey {
    /// Loads one RSA JSON Web Key (`{"kty":"RSA","n":…,"e":…,"kid":…}`). Its `kid` and `alg`,
    /// when present, are kept: `kid` selects the key, `alg` restricts it to that algorithm.
    pub fn from_jwk(json: &str) -> Result<Self, KeyError> {
        let jwk: Jwk = serde_json::from_str(json)
            .map_err(|e| KeyError::format("JWK", format!("not a JSON Web Key: {e}")))?;
        jwk.into_key()
    }

    /// Loads every RSA signing key of a JSON Web Key Set (`{"keys":[…]}`). Keys of other types
    /// and encryption keys (`"use":"enc"`) are skipped; a set without any RSA signing key is an
    /// error.
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
            .filter(|jwk| jwk.kty == "RSA" && jwk.key_use.as_deref() != Some("enc"))
            .map(Jwk::into_key)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::format(
                "JWK",
                "the key set holds no RSA signing key",
            ));
        }
        Ok(keys)
    }
}

/// The RSA members of a JSON Web Key.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    n: Option<String>,
    e: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
}

impl Jwk {
    fn into_key(self) -> Result<PublicKey, KeyError> {
        if self.kty != "RSA" {
            return Err(KeyError::NotRsa(self.kty));
        }
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
        let n = member(self.n, "n")?;
        let e = member(self.e, "e")?;
        let mut key = PublicKey::from_rsa_components(&n, &e)?;
        key.kid = self.kid;
        if let Some(alg) = self.alg {
            let algorithm = Algorithm::from_str(&alg)
                .ok()
                .filter(|a| is_rsa(*a))
                .ok_or_else(|| {
                    KeyError::format("JWK", format!("`alg` {alg} is not an RSA algorithm"))
                })?;
            key.algorithm = Some(algorithm);
        }
        Ok(key)
    }
}
