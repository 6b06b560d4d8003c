//! JSON Web Keys (RFC 7517, RFC 8037): one key (RSA, EC P-256/P-384, Ed25519), or the
//! signing keys of a key set, where keys this crate cannot use are skipped and reported.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use super::{KeyError, KeyType, PublicKey, algorithm_named};
use crate::escape::cut;

/// How much of a key set member's text (`kty`, `crv`, `alg`, `kid`) a message quotes.
const QUOTED_MEMBER_CHARS: usize = 64;

impl PublicKey {
    /// Loads one JSON Web Key: RSA (`n`, `e`), EC (`crv` P-256 or P-384, `x`, `y`) or OKP
    /// (`crv` Ed25519, `x`). Its `kid` and `alg`, when present, are kept: `kid` selects the
    /// key, `alg` binds it to that algorithm, and must be one its type checks (`EdDSA`, or
    /// the fully-specified `Ed25519`, for an Ed25519 key).
    pub fn from_jwk(json: &str) -> Result<Self, KeyError> {
        let jwk: Jwk = serde_json::from_str(json)
            .map_err(|e| KeyError::format("JWK", format!("not a JSON Web Key: {e}")))?;
        jwk.into_key()
    }

    /// Loads the signing keys of a JSON Web Key Set (`{"keys":[…]}`): those this crate can
    /// verify with. Keys it cannot use (another curve, a symmetric key, an unknown `alg`) are
    /// skipped, as RFC 7517 §5 asks; [`JwkSet::parse`] says which and why. A set without any
    /// usable signing key is an error.
    pub fn from_jwks(json: &str) -> Result<Vec<Self>, KeyError> {
        JwkSet::parse(json)?.into_usable()
    }
}

impl PublicKey {
    /// The key's public members as a JSON Web Key (`kty` with `n`, `e`; or `crv`, `x`, `y`;
    /// or `crv`, `x`), without `kid` or `alg`: what a DPoP proof carries in its `jwk` header.
    /// `None` for the verifying form of an HMAC secret, which has no public form.
    ///
    /// ```
    /// use tokenleader_rbac::PublicKey;
    ///
    /// let jwk = r#"{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    /// let key = PublicKey::from_jwk(jwk)?;
    /// assert_eq!(key.to_jwk().unwrap().to_string(), jwk);
    /// // RFC 8037, appendix A.3:
    /// assert_eq!(key.jwk_thumbprint().unwrap(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    /// # Ok::<(), tokenleader_rbac::keys::KeyError>(())
    /// ```
    pub fn to_jwk(&self) -> Option<Value> {
        let b64 = |bytes: &[u8]| Value::String(URL_SAFE_NO_PAD.encode(bytes));
        let mut members = serde_json::Map::new();
        match self.key_type {
            KeyType::Rsa { .. } => {
                use pkcs1::der::Decode as _;
                let key = pkcs1::RsaPublicKeyRef::from_der(&self.der).ok()?;
                members.insert("e".into(), b64(key.public_exponent.as_bytes()));
                members.insert("kty".into(), "RSA".into());
                members.insert("n".into(), b64(key.modulus.as_bytes()));
            }
            KeyType::EcP256 | KeyType::EcP384 => {
                let crv = if self.key_type == KeyType::EcP256 {
                    "P-256"
                } else {
                    "P-384"
                };
                // An uncompressed point: 0x04 ‖ x ‖ y.
                let coordinates = self.der.get(1..)?;
                let (x, y) = coordinates.split_at(coordinates.len() / 2);
                members.insert("crv".into(), crv.into());
                members.insert("kty".into(), "EC".into());
                members.insert("x".into(), b64(x));
                members.insert("y".into(), b64(y));
            }
            KeyType::Ed25519 => {
                members.insert("crv".into(), "Ed25519".into());
                members.insert("kty".into(), "OKP".into());
                members.insert("x".into(), b64(&self.der));
            }
            KeyType::Hmac { .. } => return None,
        }
        Some(Value::Object(members))
    }

    /// The key's JWK SHA-256 thumbprint (RFC 7638), base64url: the hash of its required
    /// public members in lexicographic order, as a DPoP-bound token names its key in
    /// `cnf.jkt` (RFC 9449). `None` for an HMAC secret.
    pub fn jwk_thumbprint(&self) -> Option<String> {
        use sha2::Digest as _;
        let jwk = self.to_jwk()?;
        // `to_jwk` inserts exactly the required members in lexicographic order (serde_json's
        // map keeps that order with or without `preserve_order`), and RFC 7638 asks for
        // that order without whitespace.
        let canonical = serde_json::to_vec(&jwk).ok()?;
        Some(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical)))
    }
}

/// A JSON Web Key Set read: the keys this crate verifies with, and those it skipped.
/// Encryption keys (`"use": "enc"`) are left out of both: they are not meant for signatures.
///
/// ```
/// use tokenleader_rbac::keys::JwkSet;
///
/// let set = JwkSet::parse(r#"{"keys": [
///     {"kty": "OKP", "crv": "Ed25519", "alg": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///     {"kty": "EC", "crv": "P-521", "kid": "p521", "x": "AA", "y": "AA"}
/// ]}"#)?;
/// assert_eq!(set.keys.len(), 1);
/// assert_eq!(set.skipped[0].kid.as_deref(), Some("p521"));
/// # Ok::<(), tokenleader_rbac::keys::KeyError>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct JwkSet {
    /// The keys this crate verifies with.
    pub keys: Vec<PublicKey>,
    /// The signing keys it cannot use, each with why.
    pub skipped: Vec<SkippedKey>,
}

/// A key of a set that this crate cannot use, and why.
#[derive(Debug)]
#[non_exhaustive]
pub struct SkippedKey {
    /// Its `kid` (at most 64 characters of it), if it has one.
    pub kid: Option<String>,
    /// Why it cannot be used.
    pub reason: KeyError,
}

impl JwkSet {
    /// Reads a key set. Only a body that is not a key set at all is an error; each key is
    /// taken or skipped on its own.
    pub fn parse(json: &str) -> Result<Self, KeyError> {
        #[derive(Deserialize)]
        struct Jwks {
            keys: Vec<Value>,
        }
        let set: Jwks = serde_json::from_str(json)
            .map_err(|e| KeyError::format("JWK", format!("not a JSON Web Key Set: {e}")))?;
        let mut keys = Vec::new();
        let mut skipped = Vec::new();
        for member in set.keys {
            let kid = member
                .get("kid")
                .and_then(Value::as_str)
                .map(|kid| cut(kid, QUOTED_MEMBER_CHARS));
            let jwk = match Jwk::deserialize(member) {
                Ok(jwk) if jwk.key_use.as_deref() == Some("enc") => continue,
                Ok(jwk) => jwk,
                Err(e) => {
                    let reason = KeyError::format("JWK", format!("not a JSON Web Key: {e}"));
                    skipped.push(SkippedKey { kid, reason });
                    continue;
                }
            };
            match jwk.into_key() {
                Ok(key) => keys.push(key),
                Err(reason) => skipped.push(SkippedKey { kid, reason }),
            }
        }
        Ok(JwkSet { keys, skipped })
    }

    /// The usable keys; an error when there is none (naming why the first skipped key was).
    pub fn into_usable(self) -> Result<Vec<PublicKey>, KeyError> {
        if !self.keys.is_empty() {
            return Ok(self.keys);
        }
        let why = match self.skipped.first() {
            Some(first) => format!(
                ": {} key(s) skipped, the first because {}",
                self.skipped.len(),
                first.reason
            ),
            None => String::new(),
        };
        Err(KeyError::format(
            "JWK",
            format!("the key set holds no RSA, EC (P-256, P-384) or Ed25519 signing key{why}"),
        ))
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
                    cut(&self.kty, QUOTED_MEMBER_CHARS),
                    cut(crv.unwrap_or("(none)"), QUOTED_MEMBER_CHARS)
                )));
            }
            (kty, _) => return Err(KeyError::Unsupported(cut(kty, QUOTED_MEMBER_CHARS))),
        };
        key.kid = self.kid;
        match self.alg {
            Some(alg) => {
                let algorithm =
                    algorithm_named(&alg).ok_or_else(|| KeyError::AlgorithmMismatch {
                        algorithm: cut(&alg, QUOTED_MEMBER_CHARS),
                        key_type: key.key_type(),
                    })?;
                key.with_algorithm(algorithm)
            }
            None => Ok(key),
        }
    }
}
