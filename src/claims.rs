//! The claims of a tokenleader token: who the caller is ([`Identity`]) and their work function
//! context ([`Wfc`]).
//!
//! A tokenleader token carries its user as an object in `sub`:
//!
//! ```json
//! {"exp": 1549970780, "iat": 1549967180,
//!  "sub": {"id": 1, "username": "user1", "email": "user1", "roles": ["role1"],
//!          "wfc": {"id": 1, "name": "wfc1", "org": "org1", "orgunit": "ou1", "department": "dept1"}}}
//! ```
//!
//! After a request passes [`RequireRule`](crate::RequireRule), its extensions hold the
//! caller's [`Identity`] and [`Wfc`]; with the `axum` feature both are extractors:
//!
//! ```
//! use tokenleader_rbac::{Identity, Wfc};
//!
//! async fn list_entries(wfc: Wfc, who: Identity) -> String {
//!     format!("{} sees {}/{}/{}", who.username, wfc.org, wfc.orgunit, wfc.department)
//! }
//! ```

use serde::{Deserialize, Serialize};

use crate::error::TokenError;

/// Who made the request: the `sub` of a verified token, without its `wfc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The user's id on the tokenleader server.
    pub id: u64,
    /// The user name.
    pub username: String,
    /// The user's e-mail (tokenleader fills it with the user name when none was given).
    pub email: String,
    /// The user's roles, as the token lists them.
    pub roles: Vec<String>,
}

/// The caller's work function context: the part of the organisation they work for. Handlers
/// filter their data by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wfc {
    /// The context's id on the tokenleader server.
    pub id: u64,
    /// The context's name.
    pub name: String,
    /// Organisation.
    pub org: String,
    /// Organisational unit.
    pub orgunit: String,
    /// Department.
    pub department: String,
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

/// The claims as they arrive. Every member is optional here so that a missing one is reported
/// by name; serde's derive refuses duplicate members and ignores unknown ones.
#[derive(Deserialize)]
pub(crate) struct RawClaims {
    pub(crate) exp: Option<u64>,
    pub(crate) iat: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iss: Option<String>,
    pub(crate) aud: Option<Audience>,
    sub: Option<RawSubject>,
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

#[derive(Deserialize)]
struct RawSubject {
    id: Option<u64>,
    username: Option<String>,
    email: Option<String>,
    roles: Option<Vec<String>>,
    wfc: Option<RawWfc>,
}

#[derive(Deserialize)]
struct RawWfc {
    id: Option<u64>,
    name: Option<String>,
    org: Option<String>,
    orgunit: Option<String>,
    department: Option<String>,
}

impl RawClaims {
    /// Parses the payload JSON; type errors name the claim (`sub.roles: invalid type …`).
    pub(crate) fn from_json(json: &[u8]) -> Result<Self, TokenError> {
        // The common case parses straight; only a refused payload is parsed again, with the
        // path tracking that names the faulty claim.
        serde_json::from_slice(json).map_err(|_| Self::explain(json))
    }

    fn explain(json: &[u8]) -> TokenError {
        let mut deserializer = serde_json::Deserializer::from_slice(json);
        match serde_path_to_error::deserialize::<_, RawClaims>(&mut deserializer) {
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() || path == "." {
                    TokenError::Malformed(format!("payload is not a valid JSON object: {inner}"))
                } else {
                    TokenError::InvalidClaims(format!("{path}: {inner}"))
                }
            }
            Ok(_) => TokenError::Malformed("payload has data after its JSON object".into()),
        }
    }

    /// Checks that everything tokenleader always sends is there.
    pub(crate) fn into_claims(self) -> Result<Claims, TokenError> {
        use TokenError::MissingClaim;
        let sub = self.sub.ok_or(MissingClaim("sub"))?;
        let wfc = sub.wfc.ok_or(MissingClaim("sub.wfc"))?;
        Ok(Claims {
            identity: Identity {
                id: sub.id.ok_or(MissingClaim("sub.id"))?,
                username: sub.username.ok_or(MissingClaim("sub.username"))?,
                email: sub.email.ok_or(MissingClaim("sub.email"))?,
                roles: sub.roles.ok_or(MissingClaim("sub.roles"))?,
            },
            wfc: Wfc {
                id: wfc.id.ok_or(MissingClaim("sub.wfc.id"))?,
                name: wfc.name.ok_or(MissingClaim("sub.wfc.name"))?,
                org: wfc.org.ok_or(MissingClaim("sub.wfc.org"))?,
                orgunit: wfc.orgunit.ok_or(MissingClaim("sub.wfc.orgunit"))?,
                department: wfc.department.ok_or(MissingClaim("sub.wfc.department"))?,
            },
            exp: self.exp.ok_or(TokenError::MissingExpiry)?,
            iat: self.iat,
            nbf: self.nbf,
        })
    }
}
