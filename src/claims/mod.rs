//! The claims of a verified token: who the caller is ([`Identity`]), their work function
//! context ([`Wfc`]), and how to read them from tokens of other issuers ([`ClaimMapping`]).
//!
//! A tokenleader token carries its user as an object in `sub`:
//!
//! ```json
//! {"exp": 1549970780, "iat": 1549967180,
//!  "sub": {"id": 1, "username": "user1", "email": "user1", "roles": ["role1"],
//!          "wfc": {"id": 1, "name": "wfc1", "org": "org1", "orgunit": "ou1", "department": "dept1"}}}
//! ```
//!
//! After a request passes `RequireRule`, its extensions hold the
//! verified [`Claims`] (one `Arc<Claims>`, shared with the verified-token cache), and the
//! caller's [`Identity`] and [`Wfc`]; with the `axum` feature the last two are extractors.
//!
//! Their text fields are [`SmolStr`]: up to 23 bytes inline (a copy, no allocation), longer
//! ones behind a reference count; the roles are an `Arc<[String]>`. So handing them to a
//! request and to each extractor allocates nothing, and the requests of one caller on
//! different cores do not contend for one reference count per field. They read like strings:
//! `format!("{}", who.username)`, `who.username.len()`, `who.username == "alice"`,
//! `who.username.as_str()`.
//!
//! ```
//! use tokenleader_rbac::{Identity, Wfc};
//!
//! async fn list_entries(wfc: Wfc, who: Identity) -> String {
//!     // Compared with a `&str` directly; borrowed as one with `as_str()`.
//!     let scope = if wfc.org == "org1" { "everything" } else { wfc.department.as_str() };
//!     format!("{} sees {}/{}/{}: {scope}", who.username, wfc.org, wfc.orgunit, wfc.department)
//! }
//! ```

mod confirmation;
mod error;
mod json;
mod mapping;
mod tokenleader;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) use confirmation::Confirmation;
pub use error::ClaimsError;
pub use mapping::ClaimMapping;
/// The string type of the text fields of [`Identity`] and [`Wfc`] (the `smol_str` crate).
pub use smol_str::SmolStr;
#[cfg(feature = "client")]
pub(crate) use tokenleader::claims_from_json;

use json::StrictJson;

/// Who made the request: the `sub` of a verified token, without its `wfc`. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The user's id on the tokenleader server.
    pub id: u64,
    /// The user name.
    pub username: SmolStr,
    /// The user's e-mail (tokenleader fills it with the user name when none was given).
    pub email: SmolStr,
    /// The user's roles, as the token lists them.
    pub roles: Arc<[String]>,
    /// The token's `sub` when it is a string (OIDC issuers put a stable user id there, often
    /// a UUID, and leave `id` 0); `None` for tokenleader tokens, whose `sub` is the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<SmolStr>,
}

/// The caller's work function context: the part of the organisation they work for. Handlers
/// filter their data by it. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wfc {
    /// The context's id on the tokenleader server.
    pub id: u64,
    /// The context's name.
    pub name: SmolStr,
    /// Organisation.
    pub org: SmolStr,
    /// Organisational unit.
    pub orgunit: SmolStr,
    /// Department.
    pub department: SmolStr,
}

/// Everything a verified token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// The caller.
    pub identity: Identity,
    /// The caller's work function context.
    pub wfc: Wfc,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issue time, seconds since the Unix epoch, when the token gives one.
    pub iat: Option<u64>,
    /// Not-before time, seconds since the Unix epoch, when the token gives one.
    pub nbf: Option<u64>,
}

/// Seconds since the Unix epoch from a JSON number: an integer, or a number with a fraction,
/// truncated (some issuers send `exp` as a float). Negative numbers and numbers beyond `u64`
/// are refused.
pub(crate) fn seconds(number: &serde_json::Number) -> Option<u64> {
    // 2^64 as a float: every finite non-negative float below it converts exactly when
    // truncated.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|secs| secs.is_finite() && (0.0..LIMIT).contains(secs))
            .map(|secs| secs as u64)
    })
}

/// Deserializes an optional time claim with [`seconds`].
pub(crate) fn deserialize_seconds<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(deserializer)? {
        None => Ok(None),
        Some(number) => seconds(&number).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "expected a non-negative number of seconds, found {number}"
            ))
        }),
    }
}

/// The registered claims (RFC 7519) that validation checks, whatever the claim shape.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegisteredClaims {
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    /// Shared with what the verified-token cache keeps: cloned without a copy.
    pub(crate) iss: Option<Arc<str>>,
    pub(crate) aud: Option<Audience>,
    /// What a sender-constrained token is bound to.
    pub(crate) cnf: Option<Confirmation>,
}

/// `aud`: one audience or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub(crate) fn contains_any(&self, wanted: &[String]) -> bool {
        match self {
            Audience::One(aud) => wanted.contains(aud),
            Audience::Many(auds) => auds.iter().any(|aud| wanted.contains(aud)),
        }
    }
}

/// Where a token's claims put the user, the roles and the wfc: tokenleader's shape, or a
/// [`ClaimMapping`]. The one step of verification that differs between issuers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum ClaimShape {
    #[default]
    Tokenleader,
    Mapped(Box<ClaimMapping>),
}

/// A payload parsed as JSON, not yet trusted. It lives for one verification only, so its
/// variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Payload {
    /// tokenleader's shape, typed at parse time.
    Tokenleader {
        registered: RegisteredClaims,
        sub: Option<tokenleader::Subject>,
    },
    /// Any JSON object, read through a mapping.
    Mapped(Value),
}

impl ClaimShape {
    /// Parses the payload: refused here are payloads that are not the JSON they should be
    /// (before any signature work).
    pub(crate) fn parse(&self, json: &[u8]) -> Result<Payload, ClaimsError> {
        match self {
            ClaimShape::Tokenleader => {
                let (registered, sub) = tokenleader::parse(json)?;
                Ok(Payload::Tokenleader { registered, sub })
            }
            ClaimShape::Mapped(_) => {
                let StrictJson(value) = serde_json::from_slice(json).map_err(|e| {
                    ClaimsError::Malformed(format!("payload is not valid JSON: {e}"))
                })?;
                if !value.is_object() {
                    return Err(ClaimsError::Malformed(
                        "payload is not a JSON object".into(),
                    ));
                }
                Ok(Payload::Mapped(value))
            }
        }
    }
}

impl Payload {
    /// The registered claims of a payload whose signature has been checked.
    pub(crate) fn registered(&self) -> Result<RegisteredClaims, ClaimsError> {
        match self {
            Payload::Tokenleader { registered, .. } => Ok(registered.clone()),
            Payload::Mapped(value) => json::registered(value),
        }
    }

    /// The claims, read with `shape`, once the registered claims passed validation.
    pub(crate) fn into_claims(
        self,
        shape: &ClaimShape,
        registered: &RegisteredClaims,
    ) -> Result<Claims, ClaimsError> {
        match (self, shape) {
            (Payload::Tokenleader { sub, .. }, _) => tokenleader::into_claims(sub, registered),
            (Payload::Mapped(value), ClaimShape::Mapped(mapping)) => {
                mapping.apply(&value, registered)
            }
            (Payload::Mapped(_), ClaimShape::Tokenleader) => Err(ClaimsError::Malformed(
                "payload parsed for another claim shape".into(),
            )),
        }
    }
}
