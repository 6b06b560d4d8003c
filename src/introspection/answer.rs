//! An introspection answer read: active (with its claims), inactive, or no answer at all.

use std::time::Duration;

use serde_json::Value;

use super::Form;
use crate::claims::{ClaimMapping, ClaimShape, Claims, ClaimsError, Confirmation};
use crate::token::TokenError;

/// What the issuer said about a token.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Valid: the claims as the issuer gave them.
    Active(Value),
    /// Not valid: why, in the issuer's words (never the token).
    Inactive(String),
    /// No usable answer: why.
    Unavailable(String),
}

/// Reads an HTTP answer of `form`.
pub(crate) fn read(form: &Form, status: u16, body: &[u8]) -> Answer {
    let html = body.trim_ascii_start().starts_with(b"<");
    if status >= 500 || html {
        return Answer::Unavailable(format!("HTTP {status}{}", if html { ", HTML" } else { "" }));
    }
    let json = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object);
    match form {
        Form::Rfc7662 { .. } => match (status, json) {
            (200, Some(answer)) => match answer.get("active") {
                Some(Value::Bool(true)) => Answer::Active(answer),
                Some(Value::Bool(false)) => Answer::Inactive("inactive".into()),
                _ => Answer::Unavailable("an answer without a boolean `active`".into()),
            },
            (status, _) => Answer::Unavailable(format!("HTTP {status} or not a JSON object")),
        },
        Form::Tokenleader => match json {
            Some(mut answer) if matches!(status, 200 | 201) => {
                match answer.get("status").and_then(Value::as_str) {
                    Some("Verification Successful") => match answer.get_mut("payload") {
                        Some(payload) if payload.is_object() => Answer::Active(payload.take()),
                        _ => Answer::Unavailable("a success without `payload`".into()),
                    },
                    Some(status) => Answer::Inactive(status.chars().take(64).collect()),
                    None => Answer::Unavailable("an answer without `status`".into()),
                }
            }
            _ => Answer::Unavailable(format!("HTTP {status} or not a JSON object")),
        },
        Form::Query { .. } => match (status, json) {
            (200, Some(answer)) => Answer::Active(answer),
            (200, None) => Answer::Unavailable("not a JSON object".into()),
            (400 | 401 | 403 | 404, _) => Answer::Inactive(format!("HTTP {status}")),
            (status, _) => Answer::Unavailable(format!("HTTP {status}")),
        },
    }
}

/// How the answers of `form` hold the user, roles and wfc: `mapping` when given, else
/// tokenleader's shape for its `verify_token`, else roles as the space-separated `scope`.
pub(crate) fn shape(form: &Form, mapping: Option<&ClaimMapping>) -> ClaimShape {
    match (form, mapping) {
        (_, Some(mapping)) => ClaimShape::Mapped(Box::new(mapping.clone())),
        (Form::Tokenleader, None) => ClaimShape::Tokenleader,
        (_, None) => ClaimShape::Mapped(Box::new(
            ClaimMapping::new()
                .username_or("/client_id")
                .roles_space_separated("/scope"),
        )),
    }
}

/// The claims of an active answer, read with `shape`. Without `exp`, the answer counts for
/// `max_ttl` from `now`. With `audiences`, its `aud` must name one of them. With them, what
/// the token is bound to (`cnf`, RFC 7662 §2.2 with RFC 8705 and RFC 9449).
pub(crate) fn claims(
    shape: &ClaimShape,
    mut answer: Value,
    now: u64,
    max_ttl: Duration,
    audiences: &[String],
) -> Result<(Claims, Option<Confirmation>), TokenError> {
    if let Some(object) = answer.as_object_mut() {
        object
            .entry("exp")
            .or_insert_with(|| Value::from(now.saturating_add(max_ttl.as_secs())));
    }
    let json = serde_json::to_vec(&answer)
        .map_err(|e| ClaimsError::Malformed(format!("the answer: {e}")))?;
    let payload = shape.parse(&json)?;
    let registered = payload.registered()?;
    let aud_accepted = registered
        .aud
        .as_ref()
        .is_some_and(|aud| aud.contains_any(audiences));
    if !audiences.is_empty() && !aud_accepted {
        return Err(TokenError::WrongAudience);
    }
    let claims = payload.into_claims(shape, &registered)?;
    Ok((claims, registered.cnf))
}
