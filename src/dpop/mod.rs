//! DPoP (RFC 9449): tokens bound to a key the client holds, so that a stolen token is of no
//! use without that key. The token names the key's thumbprint in `cnf.jkt`; each request
//! sends it as `Authorization: DPoP <token>` with a new proof in the `DPoP` header, a JWT the
//! client signs with the key for this request's method and URL.
//!
//! ```
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::get};
//! use tokenleader_rbac::{Issuer, RequireRule, dpop::Dpop};
//! use tokenleader_rbac::test_util::{DpopKey, TestIssuer};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = TestIssuer::new();
//! let enforcer = tokenleader_rbac::Enforcer::builder()
//!     .trust(Issuer::tokenleader().public_key(issuer.public_key()).dpop(Dpop::required()))
//!     .external_url("https://api.example")
//!     .acl(tokenleader_rbac::AclMap::from_yaml_str("- name: reader\n  allow: [entries.list]\n")?)
//!     .build()?;
//! let app = Router::new()
//!     .route("/entries", get(|| async { "entries" }).route_layer(RequireRule("entries.list")))
//!     .layer(enforcer);
//!
//! let key = DpopKey::es256(); // the client's key
//! let token = issuer.token().roles(["reader"]).bound_to(&key).sign();
//! let proof = key.proof("GET", "https://api.example/entries").token(&token).sign();
//! let request = Request::get("/entries")
//!     .header("Authorization", format!("DPoP {token}"))
//!     .header("DPoP", proof)
//!     .body(Body::empty())?;
//! assert_eq!(app.clone().oneshot(request).await?.status(), StatusCode::OK);
//!
//! // The same token without its proof, as a thief would send it:
//! let stolen = Request::get("/entries")
//!     .header("Authorization", format!("Bearer {token}"))
//!     .body(Body::empty())?;
//! assert_eq!(app.oneshot(stolen).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```
//!
//! Each issuer says whether its tokens may or must come with DPoP ([`Issuer::dpop`](crate::Issuer::dpop)):
//! off (the default: a DPoP-bound token is then refused, never taken as a bearer token),
//! [`Dpop::accepted`] (bearer tokens and DPoP-bound tokens with their proofs) or
//! [`Dpop::required`]. The proof is checked completely: `typ` `dpop+jwt`, an allowed
//! asymmetric `alg`, the signature with the public `jwk` of its header (private members
//! refused), `htm` and `htu` this request's method and URL (without query and fragment),
//! `iat` within [`Dpop::max_age`], `ath` the hash of the access token, `jti` never seen within
//! that time, and the key's RFC 7638 thumbprint the token's `cnf.jkt`; with
//! [`Dpop::require_nonce`], a nonce the service gave (`DPoP-Nonce`). A refused proof is a
//! 401 with `WWW-Authenticate: DPoP error="invalid_dpop_proof", algs="…"` (RFC 9449 §7.1).
//!
//! The URL a proof signs is the one the client called. Behind a proxy, give it with
//! [`EnforcerBuilder::external_url`](crate::EnforcerBuilder::external_url), or let trusted
//! proxies ([`trusted_proxies`](crate::EnforcerBuilder::trusted_proxies)) tell it with
//! `Forwarded` or `X-Forwarded-Proto`/`X-Forwarded-Host`; from any other peer those headers
//! are ignored, and the request's own `Host` (and `http`, unless its URI is absolute) is used.
//!
//! Seen `jti`s are kept in memory, per instance, for [`Dpop::max_age`] plus a second. When
//! that store is full of proofs still within their age, new proofs are refused with 503
//! rather than let through unchecked
//! ([`EnforcerBuilder::dpop_replay_capacity`](crate::EnforcerBuilder::dpop_replay_capacity)).
//! A fleet shares them through Redis (feature `redis`, `RedisReplay`): without it, a proof
//! replayed to another instance within its age is not caught.

mod nonce;
mod proof;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod replay;
mod url;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use jsonwebtoken::Algorithm;

use crate::escape::Untrusted;
use nonce::NonceSecret;

pub(crate) use proof::{CheckedProof, ProofTarget, check_proof};
#[cfg(feature = "redis")]
pub(crate) use redis::FleetAnswer;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::RedisReplay;
pub(crate) use replay::{ReplayCache, ReplayKey};
pub(crate) use url::{ExternalUrl, RequestUrl};

/// The proof algorithms accepted unless [`Dpop::algorithms`] says otherwise: every asymmetric
/// one this crate verifies.
const DEFAULT_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
];

/// How long a proof is accepted after its `iat` unless [`Dpop::max_age`] says otherwise.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);

/// How far ahead of this server's clock a proof's `iat` may be.
pub(crate) const FUTURE_SKEW_SECS: u64 = 5;

/// Whether an issuer's tokens may or must come with DPoP proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Off,
    Accepted,
    Required,
}

/// An issuer's DPoP settings ([`Issuer::dpop`](crate::Issuer::dpop)).
///
/// ```
/// use std::time::Duration;
/// use tokenleader_rbac::{Algorithm, Issuer, dpop::Dpop};
///
/// let issuer = Issuer::new("https://idp.example")
///     .dpop(Dpop::required().algorithms([Algorithm::ES256]).max_age(Duration::from_secs(30)));
/// # let _ = issuer;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dpop {
    pub(crate) mode: Mode,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) max_age: Duration,
    /// The secret of server nonces, when proofs must carry one.
    pub(crate) nonce: Option<NonceSecret>,
}

impl Dpop {
    fn of(mode: Mode) -> Self {
        Dpop {
            mode,
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            max_age: DEFAULT_MAX_AGE,
            nonce: None,
        }
    }

    /// No DPoP: tokens are bearer tokens, and a DPoP-bound one (`cnf.jkt`) is refused. The
    /// default.
    pub fn off() -> Self {
        Self::of(Mode::Off)
    }

    /// Bearer tokens, and DPoP-bound tokens with their proofs (`Authorization: DPoP`). A
    /// DPoP-bound token sent as `Bearer` is refused.
    pub fn accepted() -> Self {
        Self::of(Mode::Accepted)
    }

    /// DPoP-bound tokens with their proofs only: a bearer token of this issuer is refused.
    pub fn required() -> Self {
        Self::of(Mode::Required)
    }

    /// The algorithms a proof may be signed with (asymmetric ones only: `build()` refuses
    /// HMAC). By default ES256, ES384, EdDSA, PS256/384/512 and RS256/384/512.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How long after its `iat` a proof is accepted, and its `jti` remembered (60 s by
    /// default). A proof's `iat` may also lie up to 5 s ahead of this server's clock.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Proofs must carry a nonce this service gave (RFC 9449 §8): a proof without one, or
    /// with one older than a minute or two, is refused with 401,
    /// `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a fresh nonce in the `DPoP-Nonce`
    /// header, which the client puts in its next proof. A proof with the previous minute's
    /// nonce passes, and its response carries the current one in `DPoP-Nonce` (RFC 9449
    /// §8.2), so a client that calls at least once a minute is never refused for it. This
    /// bounds how long a proof made in advance can serve. The nonce is an HMAC of the current
    /// minute under `secret` (at least 32 bytes, from a secret store): instances that share
    /// the secret take each other's nonces, and nothing is stored.
    pub fn require_nonce(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.nonce = Some(NonceSecret::new(secret.as_ref()));
        self
    }

    /// Whether tokens of this issuer may come with proofs.
    pub(crate) fn is_on(&self) -> bool {
        self.mode != Mode::Off
    }

    /// Refuses settings that cannot work, and settings of `Dpop::off()`, which apply to
    /// nothing.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.mode == Mode::Off {
            let off = Dpop::off();
            let given = self.nonce.is_some()
                || self.algorithms != off.algorithms
                || self.max_age != off.max_age;
            return match given {
                true => Err("`Dpop::off()` with algorithms, a maximum age or a nonce: they apply to proofs, and off takes none; use `Dpop::accepted()` or `Dpop::required()`, or drop them".into()),
                false => Ok(()),
            };
        }
        if self.algorithms.is_empty() {
            return Err("`.dpop(..)` with no proof algorithm: give at least one".into());
        }
        if let Some(hmac) = self
            .algorithms
            .iter()
            .find(|alg| matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(format!(
                "`.dpop(..)`: a proof is signed with the client's private key, so {hmac:?} (a shared secret) cannot sign one; give asymmetric algorithms"
            ));
        }
        if let Some(secret) = &self.nonce
            && secret.len() < nonce::MIN_SECRET_BYTES
        {
            return Err(format!(
                "`.dpop(..).require_nonce(..)`: the secret is {} bytes; give at least {} random bytes",
                secret.len(),
                nonce::MIN_SECRET_BYTES
            ));
        }
        if self.max_age.is_zero() {
            return Err("`.dpop(..).max_age(..)` must be longer than zero".into());
        }
        Ok(())
    }
}

/// The header that carries a server nonce (RFC 9449 §8).
static DPOP_NONCE: http::HeaderName = http::HeaderName::from_static("dpop-nonce");

/// Sets the server nonce the client's next proofs must carry (`DPoP-Nonce`).
pub(crate) fn add_nonce(headers: &mut http::HeaderMap, nonce: &str) {
    // A nonce is digits, a dot and base64url: always a valid header value.
    if let Ok(value) = HeaderValue::from_str(nonce) {
        headers.insert(&DPOP_NONCE, value);
    }
}

/// Adds the `DPoP` challenge of RFC 9449 §7.1 to a 401 (`algs` appended to a proof's refusal,
/// or beside the `Bearer` challenge one with the same `error`: `invalid_token`, or none for a
/// missing token), and the server `nonce` a refused proof must use next.
pub(crate) fn add_challenge(response: &mut Response<Bytes>, algs: &str, nonce: Option<&str>) {
    if response.status() != StatusCode::UNAUTHORIZED {
        return;
    }
    let headers = response.headers_mut();
    if let Some(nonce) = nonce {
        add_nonce(headers, nonce);
    }
    let current = headers
        .get(header::WWW_AUTHENTICATE)
        .and_then(|value| value.to_str().ok());
    let challenge = match current {
        Some(proof) if proof.starts_with("DPoP ") => {
            let value = format!(r#"{proof}, algs="{algs}""#);
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
            return;
        }
        Some(bearer) if bearer.starts_with(r#"Bearer error="invalid_token""#) => {
            format!(r#"DPoP error="invalid_token", algs="{algs}""#)
        }
        Some(bearer) if bearer.starts_with("Bearer") => format!(r#"DPoP algs="{algs}""#),
        _ => return,
    };
    // The names of algorithms are header-safe.
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        headers.append(header::WWW_AUTHENTICATE, value);
    }
}

/// A 403 to a request made with the DPoP scheme answers in that scheme: its
/// `Bearer error="insufficient_scope"` challenge becomes the same challenge of the `DPoP`
/// scheme, with `algs`, so that the client is not told to come back with a bearer token.
pub(crate) fn forbidden_in_dpop_scheme(response: &mut Response<Bytes>, algs: &str) {
    if response.status() != StatusCode::FORBIDDEN {
        return;
    }
    let headers = response.headers_mut();
    let challenge = headers
        .get(header::WWW_AUTHENTICATE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|params| format!(r#"DPoP {params}, algs="{algs}""#));
    // The parameters were a header value already; the names of algorithms are header-safe.
    if let Some(Ok(value)) = challenge.map(HeaderValue::try_from) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
}

/// Why a DPoP proof was refused: answered with 401 and
/// `WWW-Authenticate: DPoP error="invalid_dpop_proof"`. Quoted proof text is escaped and cut
/// short.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// `Authorization: DPoP` without a `DPoP` header.
    #[error("no DPoP proof: send one in the DPoP header with `Authorization: DPoP`")]
    Missing,
    /// More than one `DPoP` header.
    #[error("the DPoP header is sent more than once")]
    Repeated,
    /// Not a compact JWS, or a part that is not the JSON it should be.
    #[error("malformed DPoP proof: {}", Untrusted(.0))]
    Malformed(String),
    /// The header's `typ` is not `dpop+jwt`.
    #[error("DPoP proof `typ` must be `dpop+jwt`")]
    WrongType,
    /// `alg` is missing, symmetric, `none`, or not allowed for this issuer.
    #[error("DPoP proof algorithm `{}` is not allowed", Untrusted(.0))]
    AlgorithmNotAllowed(String),
    /// The `jwk` header is missing, holds private members, or is not a usable public key.
    #[error("DPoP proof key (`jwk` header): {}", Untrusted(.0))]
    BadKey(String),
    /// The signature does not verify with the proof's own key.
    #[error("DPoP proof signature is invalid")]
    BadSignature,
    /// A claim the proof must carry is missing or of the wrong type.
    #[error("DPoP proof claim `{0}` is missing or not of its type")]
    BadClaim(&'static str),
    /// `htm` is not this request's method.
    #[error("DPoP proof is for another HTTP method (`htm`)")]
    WrongMethod,
    /// `htu` is not this request's URL (or holds a query or fragment).
    #[error("DPoP proof is for another URL (`htu`)")]
    WrongUrl,
    /// `iat` is older than the maximum age, or ahead of this server's clock.
    #[error("DPoP proof is too old, or made in the future (`iat`)")]
    Stale,
    /// `ath` is not the hash of the access token sent with it.
    #[error("DPoP proof is for another access token (`ath`)")]
    WrongToken,
    /// The proof's key is not the key the token is bound to (`cnf.jkt`).
    #[error("DPoP proof is signed with another key than the token is bound to")]
    WrongKey,
    /// The proof's `jti` was seen within its age: a replay.
    #[error("DPoP proof was used before (`jti`)")]
    Replayed,
    /// The proof carries no nonce, or one that is not this service's or too old: answered
    /// with `WWW-Authenticate: DPoP error="use_dpop_nonce"` and `nonce` in the `DPoP-Nonce`
    /// header.
    #[error(
        "DPoP proof needs this service's nonce: make a new proof with the one in the DPoP-Nonce header"
    )]
    UseNonce {
        /// The nonce to use.
        nonce: String,
    },
    /// The request's URL cannot be known (no `Host`), so `htu` cannot be checked.
    #[error("this request's URL is not known (no Host), so the DPoP proof cannot be checked")]
    UnknownUrl,
}

impl DpopError {
    /// A short, fixed name of the failure (`dpop_replayed`, …), for logs and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            DpopError::Missing => "dpop_missing",
            DpopError::Repeated => "dpop_repeated",
            DpopError::Malformed(_) => "dpop_malformed",
            DpopError::WrongType => "dpop_typ",
            DpopError::AlgorithmNotAllowed(_) => "dpop_algorithm",
            DpopError::BadKey(_) => "dpop_key",
            DpopError::BadSignature => "dpop_signature",
            DpopError::BadClaim(_) => "dpop_claim",
            DpopError::WrongMethod => "dpop_htm",
            DpopError::WrongUrl => "dpop_htu",
            DpopError::Stale => "dpop_iat",
            DpopError::WrongToken => "dpop_ath",
            DpopError::WrongKey => "dpop_wrong_key",
            DpopError::Replayed => "dpop_replayed",
            DpopError::UseNonce { .. } => "dpop_nonce",
            DpopError::UnknownUrl => "dpop_url",
        }
    }
}
