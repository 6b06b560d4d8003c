//! Public keys (OpenSSH, PEM, JWK) and the verification of tokenleader tokens.
//!
//! ```
//! use tokenleader_rbac::PublicKey;
//!
//! let line = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCpymNvah3I1GwYMonjZVL4kVw+nHeULmQj4VZS89gdeS/NVTzGt6SySV2xqaCahVOgg/G2XfN62e2jo1DX5ecvEnz6ca8H+JHe9Y/gGLR/SE6ry7vjWNR+44PwMZR/E/HfTTU5AWJ+ACjvkNVsZ44YaTcFFG+og9QfDMVhpZUSLnRh2oO224D8PDhfFJenkTqmg+Yx5KNLt1CY8i6B3iXRyTN10vsprFUrd1LW3O392FmEesjPFpdJrcepp94HvVion0Eg0S2QxcFILT+zqgJKGOrzdISuZcPWgUdfpFUDkxaL2PC1ohHCsLbI72Ypwr9M1xnyz/yIatx8HlTyE5z9 tokenleader@127.0.0.1";
//! let key = PublicKey::from_openssh(line)?;
//! assert_eq!(key.bits(), 2048);
//! # Ok::<(), tokenleader_rbac::KeyError>(())
//! ```
//!
//! Verification does not use `jsonwebtoken::decode` (its claim validation cannot read
//! tokenleader's object `sub`): the header and claims are parsed here into typed structs, the
//! signature is checked with jsonwebtoken's crypto provider, and `exp`, `nbf` and `iat` are
//! checked here with a leeway and a maximum lifetime.

use std::{fmt, path::Path, str::FromStr, sync::Arc, time::Duration};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use pkcs1::der::Encode as _;
use pkcs1::der::asn1::UintRef;
use serde::{Deserialize, Deserializer};

use crate::claims::{Audience, Claims, RawClaims};
use crate::error::{KeyError, TokenError};
use crate::mapping::{ClaimMapping, StrictJson};

/// The jsonwebtoken crypto provider this crate verifies with.
///
/// The crate never relies on jsonwebtoken's process-wide default, so it works whichever of
/// jsonwebtoken's backends the rest of a program turns on: with the `aws-lc-rs` feature it is
/// aws-lc-rs, otherwise RustCrypto. Code that signs with jsonwebtoken itself in a program where
/// both backends are on can install it: `tokenleader_rbac::crypto_provider().install_default()`.
pub fn crypto_provider() -> &'static jsonwebtoken::crypto::CryptoProvider {
    #[cfg(feature = "aws-lc-rs")]
    {
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    {
        &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
    }
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "tokenleader-rbac needs a crypto backend: enable the `aws-lc-rs` or `rust-crypto` feature"
);

const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// An RSA public key that verifies tokens, with an optional key id (`kid`).
///
/// Every way of loading a key checks it the same way: RSA only, a modulus of 2048 to 8192 bits,
/// an odd public exponent greater than 1.
#[derive(Clone)]
pub struct PublicKey {
    kid: Option<String>,
    algorithm: Option<Algorithm>,
    bits: usize,
    /// PKCS#1 DER, kept to compare keys.
    der: Arc<[u8]>,
    decoding_key: DecodingKey,
}

/// Two keys are equal when they are the same RSA key with the same `kid` and `alg`.
impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.kid == other.kid && self.algorithm == other.algorithm && self.der == other.der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Loads the OpenSSH one-line form that tokenleader's `client_configs.yml` carries as
    /// `tl_public_key`: `ssh-rsa AAAA… comment`.
    ///
    /// Refused: other key types, more than one key, and bytes after the key in its blob.
    pub fn from_openssh(line: &str) -> Result<Self, KeyError> {
        let openssh = |message: &str| KeyError::format("OpenSSH", message);
        let mut lines = line.lines().map(str::trim).filter(|l| !l.is_empty());
        let line = lines.next().ok_or_else(|| openssh("the input is empty"))?;
        if lines.next().is_some() {
            return Err(openssh("more than one line: give exactly one key"));
        }
        let mut words = line.split_ascii_whitespace();
        let key_type = words.next().unwrap_or_default();
        if key_type != "ssh-rsa" {
            return Err(KeyError::NotRsa(key_type.chars().take(40).collect()));
        }
        let blob = words
            .next()
            .ok_or_else(|| openssh("no key data after `ssh-rsa`"))?;
        // The comment is free text, but a second key type in it means two keys were pasted
        // into one line, which is almost certainly a mistake.
        if words.any(|w| w.starts_with("ssh-") || w.starts_with("ecdsa-") || w.starts_with("sk-")) {
            return Err(openssh(
                "more than one key on the line: give exactly one key",
            ));
        }
        let blob = STANDARD
            .decode(blob)
            .map_err(|e| openssh(&format!("key data is not valid base64: {e}")))?;
        let mut reader = SshReader(&blob);
        let blob_type = reader
            .string()
            .ok_or_else(|| openssh("key data is truncated"))?;
        if blob_type != b"ssh-rsa" {
            return Err(openssh("key data does not hold an ssh-rsa key"));
        }
        let e = reader
            .mpint()
            .ok_or_else(|| openssh("key data is truncated"))?;
        let n = reader
            .mpint()
            .ok_or_else(|| openssh("key data is truncated"))?;
        if !reader.0.is_empty() {
            return Err(openssh("trailing bytes after the key data"));
        }
        Self::from_rsa_components(n, e)
    }

    /// Loads a PEM public key: PKCS#1 (`BEGIN RSA PUBLIC KEY`) or SPKI (`BEGIN PUBLIC KEY`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let pem_error = |message: String| KeyError::format("PEM", message);
        let blocks = pem::parse_many(pem).map_err(|e| pem_error(e.to_string()))?;
        let block = match blocks.as_slice() {
            [block] => block,
            [] => return Err(pem_error("no PEM block found".into())),
            _ => {
                return Err(pem_error(
                    "more than one PEM block: give exactly one key".into(),
                ));
            }
        };
        let pkcs1_der = match block.tag() {
            "RSA PUBLIC KEY" => block.contents(),
            "PUBLIC KEY" => {
                let spki = spki::SubjectPublicKeyInfoRef::try_from(block.contents())
                    .map_err(|e| pem_error(format!("not a valid SubjectPublicKeyInfo: {e}")))?;
                if spki.algorithm.oid != pkcs1::ALGORITHM_OID {
                    return Err(KeyError::NotRsa(spki.algorithm.oid.to_string()));
                }
                spki.subject_public_key
                    .as_bytes()
                    .ok_or_else(|| pem_error("public key bit string is not byte aligned".into()))?
            }
            other => {
                return Err(pem_error(format!(
                    "`BEGIN {other}` is not a public key: expected `BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`"
                )));
            }
        };
        let rsa = pkcs1::RsaPublicKeyRef::try_from(pkcs1_der)
            .map_err(|e| pem_error(format!("not a valid PKCS#1 RSA public key: {e}")))?;
        Self::from_rsa_components(rsa.modulus.as_bytes(), rsa.public_exponent.as_bytes())
    }

    /// Loads a key file: an OpenSSH line or a PEM block, told apart by their content.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_file_bytes(&bytes)
    }

    /// Parses the content of a key file: PEM when it starts with `-----BEGIN`, else OpenSSH.
    pub(crate) fn from_file_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            Self::from_pem(bytes)
        } else {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| KeyError::format("OpenSSH", "the file is not UTF-8 text"))?;
            Self::from_openssh(text)
        }
    }

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

    /// Builds a key from its big-endian modulus and exponent, and checks it.
    pub fn from_rsa_components(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        // Leading zero bytes (an OpenSSH mpint, a DER INTEGER) make aws-lc-rs refuse every
        // signature, so the numbers are stored without them.
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = n
            .first()
            .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize);
        if bits < MIN_RSA_BITS {
            return Err(KeyError::TooSmall { bits });
        }
        if bits > MAX_RSA_BITS {
            return Err(KeyError::TooLarge { bits });
        }
        let e_bits = e
            .first()
            .map_or(0, |top| e.len() * 8 - top.leading_zeros() as usize);
        let odd = e.last().is_some_and(|low| low & 1 == 1);
        if !odd || !(2..=33).contains(&e_bits) {
            return Err(KeyError::BadExponent);
        }
        // Kept as PKCS#1 DER: aws-lc-rs verifies from DER faster than from raw components.
        let der = UintRef::new(n)
            .and_then(|modulus| {
                let public_exponent = UintRef::new(e)?;
                pkcs1::RsaPublicKeyRef {
                    modulus,
                    public_exponent,
                }
                .to_der()
            })
            .map_err(|e| KeyError::format("RSA", format!("cannot encode the key: {e}")))?;
        Ok(PublicKey {
            kid: None,
            algorithm: None,
            bits,
            decoding_key: DecodingKey::from_rsa_der(&der),
            der: der.into(),
        })
    }

    /// Checks `signature` over `message` with this key: the bare signature primitive of
    /// `algorithm`, through the crate's crypto provider. False for a non-RSA algorithm.
    pub fn verify_signature(&self, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.verify_signature_vec(algorithm, message, &signature.to_vec())
    }

    /// [`verify_signature`](Self::verify_signature) without the copy: jsonwebtoken's verifier
    /// takes a `&Vec<u8>`, which the token path already has.
    fn verify_signature_vec(
        &self,
        algorithm: Algorithm,
        message: &[u8],
        signature: &Vec<u8>,
    ) -> bool {
        is_rsa(algorithm)
            && (crypto_provider().verifier_factory)(&algorithm, &self.decoding_key)
                .is_ok_and(|verifier| verifier.verify(message, signature).is_ok())
    }

    /// Whether this key may check a token with this `kid` (if any) and algorithm.
    fn is_candidate(&self, kid: Option<&str>, algorithm: Algorithm) -> bool {
        let kid_matches = kid.is_none_or(|kid| self.kid.as_deref() == Some(kid));
        kid_matches && self.algorithm.is_none_or(|a| a == algorithm)
    }

    /// Gives the key a key id: tokens whose header names this `kid` are checked with it.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The size of the modulus in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Reads the SSH wire format (RFC 4251): length-prefixed strings and mpints.
struct SshReader<'a>(&'a [u8]);

impl<'a> SshReader<'a> {
    fn string(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.0.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (value, rest) = rest.split_at(len);
        self.0 = rest;
        Some(value)
    }

    /// A non-negative mpint; a negative one (high bit set) is refused.
    fn mpint(&mut self) -> Option<&'a [u8]> {
        let value = self.string()?;
        match value.first() {
            Some(top) if top & 0x80 != 0 => None,
            _ => Some(value),
        }
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

/// A raw token as a caller sent it, to forward to the next service. Its `Debug` output hides
/// the token, so it can sit in structs that are logged.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(Arc<str>);

impl AuthToken {
    /// Wraps a token.
    pub fn new(token: impl Into<Arc<str>>) -> Self {
        AuthToken(token.into())
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token as an HTTP header value, marked sensitive so that it stays out of logs.
    pub fn header_value(&self) -> Result<http::HeaderValue, http::header::InvalidHeaderValue> {
        let mut value = http::HeaderValue::from_str(self.as_str())?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

pub(crate) fn is_rsa(algorithm: Algorithm) -> bool {
    matches!(algorithm.family(), AlgorithmFamily::Rsa)
}

/// Settings of token verification, fixed when the `Enforcer` is built.
#[derive(Debug, Clone)]
pub(crate) struct TokenVerifier {
    pub(crate) mapping: Option<ClaimMapping>,
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway: Duration,
    pub(crate) max_lifetime: Duration,
    pub(crate) max_token_bytes: usize,
}

#[derive(Deserialize)]
struct JwsHeader {
    alg: Option<String>,
    kid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// True whenever the member is there, whatever its value (even `null`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

fn malformed(message: &str) -> TokenError {
    TokenError::Malformed(message.to_owned())
}

/// A compact JWS taken apart, its header checked; its signature not yet.
struct Jws<'t> {
    signed: &'t [u8],
    payload: Vec<u8>,
    signature: Vec<u8>,
    algorithm: Algorithm,
    kid: Option<String>,
}

impl TokenVerifier {
    /// Verifies a compact JWS and returns its claims; `now` is seconds since the Unix epoch.
    ///
    /// Everything that can be refused without RSA work is refused before the signature check,
    /// the claims' JSON included.
    pub(crate) fn verify(
        &self,
        keys: &[PublicKey],
        token: &str,
        now: u64,
    ) -> Result<Claims, TokenError> {
        let jws = self.parse(keys, token)?;
        let Some(mapping) = &self.mapping else {
            let raw = RawClaims::from_json(&jws.payload)?;
            self.check_signature(keys, &jws)?;
            self.check_times(raw.exp, raw.nbf, raw.iat, now)?;
            self.check_issuer_and_audience(raw.iss.as_deref(), raw.aud.as_ref())?;
            return raw.into_claims();
        };
        let StrictJson(claims) = serde_json::from_slice(&jws.payload)
            .map_err(|e| TokenError::Malformed(format!("payload is not valid JSON: {e}")))?;
        if !claims.is_object() {
            return Err(malformed("payload is not a JSON object"));
        }
        self.check_signature(keys, &jws)?;
        let time = |name: &str| match claims.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| {
                TokenError::InvalidClaims(format!("{name}: expected a non-negative integer"))
            }),
        };
        let (exp, nbf, iat) = (time("exp")?, time("nbf")?, time("iat")?);
        self.check_times(exp, nbf, iat, now)?;
        let iss = match claims.get("iss") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(iss)) => Some(iss.as_str()),
            Some(_) => return Err(TokenError::InvalidClaims("iss: expected a string".into())),
        };
        let aud = match claims.get("aud") {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => Some(serde_json::from_value::<Audience>(value.clone()).map_err(
                |_| {
                    TokenError::InvalidClaims(
                        "aud: expected a string or an array of strings".into(),
                    )
                },
            )?),
        };
        self.check_issuer_and_audience(iss, aud.as_ref())?;
        mapping.apply(&claims, exp.ok_or(TokenError::MissingExpiry)?, iat, nbf)
    }

    /// `iss` and `aud` against the configured issuer and audiences (when configured).
    fn check_issuer_and_audience(
        &self,
        iss: Option<&str>,
        aud: Option<&Audience>,
    ) -> Result<(), TokenError> {
        if let Some(expected) = &self.issuer {
            match iss {
                None => return Err(TokenError::MissingIssuer),
                Some(iss) if iss != expected => return Err(TokenError::WrongIssuer),
                Some(_) => {}
            }
        }
        if !self.audiences.is_empty() && !aud.is_some_and(|aud| aud.contains_any(&self.audiences)) {
            return Err(TokenError::WrongAudience);
        }
        Ok(())
    }

    /// Verifies the JWS layer only (structure, header, algorithm, key, signature) and returns
    /// the payload, whatever it holds.
    pub(crate) fn verify_jws(
        &self,
        keys: &[PublicKey],
        token: &str,
    ) -> Result<Vec<u8>, TokenError> {
        let jws = self.parse(keys, token)?;
        self.check_signature(keys, &jws)?;
        Ok(jws.payload)
    }

    fn parse<'t>(&self, keys: &[PublicKey], token: &'t str) -> Result<Jws<'t>, TokenError> {
        if token.len() > self.max_token_bytes {
            return Err(TokenError::TooLong {
                max: self.max_token_bytes,
            });
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("a token has exactly three dot-separated parts"));
        };
        if header_b64.is_empty() || signature_b64.is_empty() {
            return Err(malformed(
                "the header or the signature of the token is empty",
            ));
        }
        let header_json = URL_SAFE_NO_PAD
            .decode(header_b64)
            .map_err(|_| malformed("header is not base64url without padding"))?;
        let header: JwsHeader = serde_json::from_slice(&header_json).map_err(|e| {
            TokenError::Malformed(format!("header is not a valid JSON object: {e}"))
        })?;

        let alg = header.alg.as_deref().unwrap_or("");
        let algorithm = Algorithm::from_str(alg)
            .ok()
            .filter(|a| self.algorithms.contains(a))
            .ok_or_else(|| TokenError::AlgorithmNotAllowed(alg.chars().take(16).collect()))?;
        if header.crit {
            return Err(TokenError::CriticalHeader);
        }
        let kid = header.kid;
        if !keys
            .iter()
            .any(|key| key.is_candidate(kid.as_deref(), algorithm))
        {
            return Err(match kid {
                Some(_) => TokenError::UnknownKeyId,
                None => TokenError::AlgorithmNotAllowed(alg.to_owned()),
            });
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| malformed("payload is not base64url without padding"))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| malformed("signature is not base64url without padding"))?;
        Ok(Jws {
            signed: &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()],
            payload,
            signature,
            algorithm,
            kid,
        })
    }

    fn check_signature(&self, keys: &[PublicKey], jws: &Jws<'_>) -> Result<(), TokenError> {
        let verified = keys
            .iter()
            .filter(|key| key.is_candidate(jws.kid.as_deref(), jws.algorithm))
            .any(|key| key.verify_signature_vec(jws.algorithm, jws.signed, &jws.signature));
        if verified {
            Ok(())
        } else {
            Err(TokenError::BadSignature)
        }
    }

    /// Checks the times of claims verified earlier (a cache hit) against `now`.
    pub(crate) fn check_times_again(&self, claims: &Claims, now: u64) -> Result<(), TokenError> {
        self.check_times(Some(claims.exp), claims.nbf, claims.iat, now)
    }

    fn check_times(
        &self,
        exp: Option<u64>,
        nbf: Option<u64>,
        iat: Option<u64>,
        now: u64,
    ) -> Result<(), TokenError> {
        let leeway = self.leeway.as_secs();
        let max_lifetime = self.max_lifetime.as_secs();
        let exp = exp.ok_or(TokenError::MissingExpiry)?;
        if now > exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(TokenError::NotYetValid);
        }
        if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(TokenError::IssuedInFuture);
        }
        let too_long = exp > now.saturating_add(max_lifetime).saturating_add(leeway)
            || iat.is_some_and(|iat| exp.saturating_sub(iat) > max_lifetime);
        if too_long {
            return Err(TokenError::LifetimeTooLong {
                max_secs: max_lifetime,
            });
        }
        Ok(())
    }
}
