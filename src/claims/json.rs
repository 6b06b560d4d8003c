//! Claim values read from a token's JSON: the registered claims of a mapped payload, strings,
//! numbers and arrays at a JSON Pointer path (a missing or mistyped one named by its path), a
//! token's OAuth scopes, and JSON with duplicate object members refused.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Audience, ClaimsError, Confirmation, RegisteredClaims};

/// The registered claims of a mapped payload, their types checked.
pub(crate) fn registered(claims: &Value) -> Result<RegisteredClaims, ClaimsError> {
    let time = |name: &str| match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => super::seconds(number).map(Some).ok_or_else(|| {
            ClaimsError::Invalid(format!(
                "{name}: expected a non-negative number of seconds, found {number}"
            ))
        }),
        Some(_) => Err(ClaimsError::Invalid(format!(
            "{name}: expected a non-negative number of seconds"
        ))),
    };
    let iss = match claims.get("iss") {
        None | Some(Value::Null) => None,
        Some(Value::String(iss)) => Some(iss.as_str().into()),
        Some(_) => return Err(ClaimsError::Invalid("iss: expected a string".into())),
    };
    let aud = match claims.get("aud") {
        None | Some(Value::Null) => None,
        Some(value) => Some(Audience::deserialize(value).map_err(|_| {
            ClaimsError::Invalid("aud: expected a string or an array of strings".into())
        })?),
    };
    Ok(RegisteredClaims {
        exp: time("exp")?,
        nbf: time("nbf")?,
        iat: time("iat")?,
        iss,
        aud,
        cnf: Confirmation::read(claims.get("cnf"))?,
    })
}

pub(super) fn missing(path: &str) -> ClaimsError {
    ClaimsError::MissingMappedClaim(path.to_owned())
}

pub(super) fn mistyped(path: &str, expected: &str) -> ClaimsError {
    ClaimsError::Invalid(format!("{path}: expected {expected}"))
}

pub(super) fn optional_string(claims: &Value, path: &str) -> Result<Option<String>, ClaimsError> {
    match claims.pointer(path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(mistyped(path, "a string")),
    }
}

pub(super) fn required_string(claims: &Value, path: &str) -> Result<String, ClaimsError> {
    optional_string(claims, path)?.ok_or_else(|| missing(path))
}

pub(super) fn optional_number(claims: &Value, path: &str) -> Result<Option<u64>, ClaimsError> {
    match claims.pointer(path) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| mistyped(path, "a non-negative integer")),
    }
}

pub(super) fn required_number(claims: &Value, path: &str) -> Result<u64, ClaimsError> {
    optional_number(claims, path)?.ok_or_else(|| missing(path))
}

/// The token's scopes: `scope` (a space-separated string) or `scp` (one, or an array).
pub(super) fn scopes(claims: &Value) -> Result<Vec<String>, ClaimsError> {
    for path in ["/scope", "/scp"] {
        match claims.pointer(path) {
            None | Some(Value::Null) => continue,
            Some(Value::String(text)) => {
                return Ok(text.split_whitespace().map(str::to_owned).collect());
            }
            Some(Value::Array(_)) if path == "/scp" => return string_array(claims, path),
            Some(_) => return Err(mistyped(path, "a space-separated string of scopes")),
        }
    }
    Ok(Vec::new())
}

pub(super) fn string_array(claims: &Value, path: &str) -> Result<Vec<String>, ClaimsError> {
    let items = match claims.pointer(path) {
        None | Some(Value::Null) => return Err(missing(path)),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(mistyped(path, "an array of strings")),
    };
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| mistyped(path, "an array of strings"))
        })
        .collect()
}

/// A JSON value parsed with duplicate object members refused (serde_json's `Value` would keep
/// the last one silently).
pub(crate) struct StrictJson(pub(crate) Value);

impl<'de> Deserialize<'de> for StrictJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictJson)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictJson(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate member `{key}`")));
            }
            let StrictJson(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}
