//! `cnf` (RFC 7800): what a sender-constrained token is bound to. Two bindings are checked: a
//! DPoP key's thumbprint (`jkt`, RFC 9449) and a client certificate's hash (`x5t#S256`,
//! RFC 8705). A `cnf` that binds the token some other way is refused rather than ignored: a
//! token its issuer bound must never pass as a bearer token.

use serde::Deserialize;
use serde_json::Value;

use super::ClaimsError;

/// The binding of a token with `cnf`: at least one of the two is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Confirmation {
    /// The RFC 7638 SHA-256 thumbprint of the DPoP key, base64url.
    pub(crate) jkt: Option<Box<str>>,
    /// The SHA-256 hash of the client certificate's DER, base64url.
    pub(crate) x5t_s256: Option<Box<str>>,
}

impl Confirmation {
    /// Reads `cnf` from its JSON value (`None`: no binding).
    pub(crate) fn read(value: Option<&Value>) -> Result<Option<Self>, ClaimsError> {
        let invalid = |why: &str| ClaimsError::Invalid(format!("cnf: {why}"));
        let members = match value {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(members)) => members,
            Some(_) => return Err(invalid("expected an object")),
        };
        let mut confirmation = Confirmation {
            jkt: None,
            x5t_s256: None,
        };
        for (name, value) in members {
            let slot = match name.as_str() {
                "jkt" => &mut confirmation.jkt,
                "x5t#S256" => &mut confirmation.x5t_s256,
                _ => {
                    return Err(invalid(
                        "binds the token by a method this service cannot check (it checks `jkt` and `x5t#S256`)",
                    ));
                }
            };
            match value {
                Value::String(text) if !text.is_empty() => *slot = Some(text.as_str().into()),
                _ => return Err(invalid("`jkt` and `x5t#S256` are non-empty strings")),
            }
        }
        match confirmation.jkt.is_some() || confirmation.x5t_s256.is_some() {
            true => Ok(Some(confirmation)),
            false => Err(invalid("binds the token to nothing")),
        }
    }
}

/// `cnf` as a typed payload member (tokenleader's shape): read as JSON, then checked.
pub(crate) fn deserialize<'de, D>(deserializer: D) -> Result<Option<Confirmation>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = Option::<Value>::deserialize(deserializer)?;
    Confirmation::read(value.as_ref()).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_two_bindings_and_refuses_the_rest() {
        let both = json!({"jkt": "abc", "x5t#S256": "def"});
        let read = Confirmation::read(Some(&both)).unwrap().unwrap();
        assert_eq!(read.jkt.as_deref(), Some("abc"));
        assert_eq!(read.x5t_s256.as_deref(), Some("def"));
        assert_eq!(Confirmation::read(None).unwrap(), None);
        for refused in [
            json!({"jwk": {"kty": "EC"}}),
            json!({"jkt": "abc", "kid": "k"}),
            json!({}),
            json!({"jkt": 7}),
            json!({"jkt": ""}),
            json!("abc"),
        ] {
            assert!(Confirmation::read(Some(&refused)).is_err(), "{refused}");
        }
    }
}
