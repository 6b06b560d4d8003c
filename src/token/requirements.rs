//! What an issuer requires of a token beyond its signature and times: claim values that tell
//! one kind of token from another ([`ClaimRequirement`]), and a binding to the caller's address
//! ([`IpBinding`]).

use std::net::IpAddr;

use serde_json::Value;

use super::TokenError;

/// A claim a token must carry with a given value, or must not carry: so that a refresh,
/// e-mail confirmation or password-reset token signed with the same key is refused on API
/// routes. Paths are JSON Pointers (`/typ`).
///
/// ```
/// use tokenleader_rbac::token::{ClaimRequirement, Validation};
///
/// let mut validation = Validation::default();
/// validation.claim_requirements.push(ClaimRequirement::equals("/typ", "access"));
/// validation.claim_requirements.push(ClaimRequirement::absent("/refresh_claim"));
/// # let _ = validation;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimRequirement {
    /// The claim must be there with exactly this JSON value.
    Equals {
        /// JSON Pointer to the claim.
        path: String,
        /// The value it must have.
        value: Value,
    },
    /// The claim must not be there (`null` counts as there).
    Absent {
        /// JSON Pointer to the claim.
        path: String,
    },
}

impl ClaimRequirement {
    /// The claim at `path` must equal `value`.
    pub fn equals(path: impl Into<String>, value: impl Into<Value>) -> Self {
        ClaimRequirement::Equals {
            path: path.into(),
            value: value.into(),
        }
    }

    /// The claim at `path` must be absent.
    pub fn absent(path: impl Into<String>) -> Self {
        ClaimRequirement::Absent { path: path.into() }
    }

    /// Checks `claims`; the refusal names the claim.
    pub(crate) fn check(&self, claims: &Value) -> Result<(), TokenError> {
        match self {
            ClaimRequirement::Equals { path, value } => match claims.pointer(path) {
                Some(found) if found == value => Ok(()),
                _ => Err(TokenError::ClaimRequirement(format!(
                    "claim `{path}` must be {value}"
                ))),
            },
            ClaimRequirement::Absent { path } => match claims.pointer(path) {
                None => Ok(()),
                Some(_) => Err(TokenError::ClaimRequirement(format!(
                    "claim `{path}` must be absent"
                ))),
            },
        }
    }
}

/// The address a token is bound to, read from its claim when it was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpBinding {
    /// `*`: any address.
    Any,
    /// Only this address.
    Only(IpAddr),
}

impl IpBinding {
    /// The binding the claim at `path` gives; a missing or unreadable one is refused.
    pub(crate) fn read(claims: &Value, path: &str) -> Result<Self, TokenError> {
        let invalid = |why: &str| TokenError::InvalidClaims(format!("{path}: {why}"));
        match claims.pointer(path) {
            None | Some(Value::Null) => Err(invalid("the token is bound to no address")),
            Some(Value::String(text)) if text == "*" => Ok(IpBinding::Any),
            Some(Value::String(text)) => text
                .parse::<IpAddr>()
                .map(|ip| IpBinding::Only(ip.to_canonical()))
                .map_err(|_| invalid("expected an IP address or `*`")),
            Some(_) => Err(invalid("expected an IP address or `*`")),
        }
    }

    /// Whether a request from `client` may use the token. No known client address is a
    /// refusal, not a pass.
    pub(crate) fn check(self, client: Option<IpAddr>) -> Result<(), TokenError> {
        match (self, client) {
            (IpBinding::Any, _) => Ok(()),
            (IpBinding::Only(bound), Some(client)) if bound == client.to_canonical() => Ok(()),
            (IpBinding::Only(_), Some(_)) => Err(TokenError::WrongAddress),
            (IpBinding::Only(_), None) => Err(TokenError::NoClientAddress),
        }
    }
}
