//! tokenleader's wire shape: the user as an object in `sub`, with its `wfc` inside.

use serde::Deserialize;
use smol_str::SmolStr;

use super::{Audience, Claims, ClaimsError, Identity, RegisteredClaims, Wfc};

/// The payload as it arrives. Every member is optional here so that a missing one is reported
/// by name; serde's derive refuses duplicate members and ignores unknown ones. Text members
/// are read straight into `SmolStr`: a short one is never allocated.
#[derive(Deserialize)]
struct Payload {
    #[serde(default, deserialize_with = "super::deserialize_seconds")]
    exp: Option<u64>,
    #[serde(default, deserialize_with = "super::deserialize_seconds")]
    iat: Option<u64>,
    #[serde(default, deserialize_with = "super::deserialize_seconds")]
    nbf: Option<u64>,
    iss: Option<std::sync::Arc<str>>,
    aud: Option<Audience>,
    sub: Option<Subject>,
    #[serde(default, deserialize_with = "super::confirmation::deserialize")]
    cnf: Option<super::Confirmation>,
}

#[derive(Deserialize)]
pub(crate) struct Subject {
    id: Option<u64>,
    username: Option<SmolStr>,
    email: Option<SmolStr>,
    roles: Option<Vec<String>>,
    wfc: Option<RawWfc>,
}

#[derive(Deserialize)]
struct RawWfc {
    id: Option<u64>,
    name: Option<SmolStr>,
    org: Option<SmolStr>,
    orgunit: Option<SmolStr>,
    department: Option<SmolStr>,
}

/// Parses the payload JSON; type errors name the claim (`sub.roles: invalid type …`).
pub(crate) fn parse(json: &[u8]) -> Result<(RegisteredClaims, Option<Subject>), ClaimsError> {
    // The common case parses straight; only a refused payload is parsed again, with the
    // path tracking that names the faulty claim.
    let payload: Payload = serde_json::from_slice(json).map_err(|_| explain(json))?;
    let registered = RegisteredClaims {
        exp: payload.exp,
        nbf: payload.nbf,
        iat: payload.iat,
        iss: payload.iss,
        aud: payload.aud,
        cnf: payload.cnf,
    };
    Ok((registered, payload.sub))
}

fn explain(json: &[u8]) -> ClaimsError {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    match serde_path_to_error::deserialize::<_, Payload>(&mut deserializer) {
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() || path == "." {
                ClaimsError::Malformed(format!("payload is not a valid JSON object: {inner}"))
            } else {
                ClaimsError::Invalid(format!("{path}: {inner}"))
            }
        }
        Ok(_) => ClaimsError::Malformed("payload has data after its JSON object".into()),
    }
}

/// Checks that everything tokenleader always sends is there.
pub(crate) fn into_claims(
    sub: Option<Subject>,
    registered: &RegisteredClaims,
) -> Result<Claims, ClaimsError> {
    use ClaimsError::MissingClaim;
    let sub = sub.ok_or(MissingClaim("sub"))?;
    let wfc = sub.wfc.ok_or(MissingClaim("sub.wfc"))?;
    Ok(Claims {
        identity: Identity {
            id: sub.id.ok_or(MissingClaim("sub.id"))?,
            username: sub.username.ok_or(MissingClaim("sub.username"))?,
            email: sub.email.ok_or(MissingClaim("sub.email"))?,
            roles: sub.roles.ok_or(MissingClaim("sub.roles"))?.into(),
            subject: None,
        },
        wfc: Wfc {
            id: wfc.id.ok_or(MissingClaim("sub.wfc.id"))?,
            name: wfc.name.ok_or(MissingClaim("sub.wfc.name"))?,
            org: wfc.org.ok_or(MissingClaim("sub.wfc.org"))?,
            orgunit: wfc.orgunit.ok_or(MissingClaim("sub.wfc.orgunit"))?,
            department: wfc.department.ok_or(MissingClaim("sub.wfc.department"))?,
        },
        exp: registered.exp.ok_or(ClaimsError::MissingExpiry)?,
        iat: registered.iat,
        nbf: registered.nbf,
    })
}

/// The claims of a tokenleader payload verified elsewhere (by the server, for the client).
#[cfg(any(feature = "client", test))]
pub(crate) fn claims_from_json(json: &[u8]) -> Result<Claims, ClaimsError> {
    let (registered, sub) = parse(json)?;
    into_claims(sub, &registered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_claim_is_named_by_its_path() {
        let error = claims_from_json(br#"{"exp": 1, "sub": {"roles": "admin"}}"#).unwrap_err();
        assert!(
            matches!(&error, ClaimsError::Invalid(m) if m.starts_with("sub.roles")),
            "{error:?}"
        );
    }

    #[test]
    fn a_missing_claim_is_named() {
        let error = claims_from_json(br#"{"exp": 1, "sub": {"id": 1}}"#).unwrap_err();
        assert_eq!(error, ClaimsError::MissingClaim("sub.wfc"));
        assert!(matches!(
            claims_from_json(b"[1]"),
            Err(ClaimsError::Malformed(_))
        ));
    }
}
