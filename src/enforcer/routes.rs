//! Several trusted issuers: each token is routed by its `iss` to exactly one of them, through
//! an index, and checked only with that issuer's keys, validation and claim shape.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use crate::escape::cut;
use crate::token::{IssuerKeys, TokenError, Verifier};

/// How much of an unknown `iss` a refusal quotes.
const QUOTED_ISS_CHARS: usize = 64;

/// One trusted issuer on the request path.
pub(crate) struct Route {
    pub(crate) verifier: Verifier,
    /// `None`: the enforcer's live key set (the single-issuer form, kept fresh by its key
    /// files or JWKS source); otherwise this issuer's own keys and their cache.
    pub(crate) keys: Option<Arc<IssuerKeys>>,
    /// The issuer's JWKS source, asked to fetch again when a token names an unknown `kid`.
    #[cfg(feature = "jwks")]
    pub(crate) jwks: Option<crate::reload::jwks::JwksSource>,
}

/// The trusted issuers, indexed by `iss`.
pub(crate) struct IssuerRoutes {
    routes: Vec<Route>,
    by_iss: HashMap<String, usize>,
    without_iss: Option<usize>,
    /// The largest token any issuer accepts: longer ones are refused before routing.
    max_token_bytes: usize,
}

impl IssuerRoutes {
    /// Indexes `routes`; two issuers with the same `iss`, or two without one, are refused.
    pub(crate) fn new(routes: Vec<Route>) -> Result<Self, String> {
        let mut by_iss = HashMap::new();
        let mut without_iss = None;
        for (index, route) in routes.iter().enumerate() {
            match &route.verifier.validation.issuer {
                Some(iss) => {
                    if by_iss.insert(iss.clone(), index).is_some() {
                        return Err(format!("two trusted issuers have the `iss` `{iss}`"));
                    }
                }
                None if without_iss.is_some() => {
                    return Err(
                        "two trusted issuers take tokens without `iss`: at most one may (give the others their `iss`)"
                            .into(),
                    );
                }
                None => without_iss = Some(index),
            }
        }
        let max_token_bytes = routes
            .iter()
            .map(|route| route.verifier.validation.max_token_bytes)
            .max()
            .unwrap_or_default();
        Ok(IssuerRoutes {
            routes,
            by_iss,
            without_iss,
            max_token_bytes,
        })
    }

    /// The issuer of tokens that name `iss` (or of tokens without one).
    pub(crate) fn find(&self, iss: Option<&str>) -> Option<&Route> {
        let index = match iss {
            Some(iss) => self.by_iss.get(iss).copied(),
            None => self.without_iss,
        };
        index.map(|index| &self.routes[index])
    }

    /// The routes with keys of their own: their verifiers and key sets.
    pub(crate) fn with_keys(&self) -> impl Iterator<Item = (&Verifier, &IssuerKeys)> {
        self.routes
            .iter()
            .filter_map(|route| Some((&route.verifier, route.keys.as_deref()?)))
    }

    /// The issuer whose tokens name this token's `iss` (read before the signature is checked:
    /// the routed issuer's signature check and `iss` check then decide).
    pub(crate) fn route(&self, token: &str) -> Result<&Route, TokenError> {
        let index = match peek_iss(token, self.max_token_bytes)? {
            Some(iss) => *self
                .by_iss
                .get(&iss)
                .ok_or_else(|| TokenError::UnknownIssuer(cut(&iss, QUOTED_ISS_CHARS)))?,
            None => self.without_iss.ok_or(TokenError::NoIssuer)?,
        };
        Ok(&self.routes[index])
    }
}

/// The `iss` of a token's payload, unverified.
fn peek_iss(token: &str, max_token_bytes: usize) -> Result<Option<String>, TokenError> {
    #[derive(Deserialize)]
    struct Peek {
        #[serde(default)]
        iss: Value,
    }
    if token.len() > max_token_bytes {
        return Err(TokenError::TooLong {
            max: max_token_bytes,
        });
    }
    let malformed = |what: &str| TokenError::Malformed(what.to_owned());
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| malformed("a token has exactly three dot-separated parts"))?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| malformed("payload is not base64url without padding"))?;
    let peek: Peek = serde_json::from_slice(&json)
        .map_err(|e| TokenError::Malformed(format!("payload is not a valid JSON object: {e}")))?;
    match peek.iss {
        Value::Null => Ok(None),
        Value::String(iss) => Ok(Some(iss)),
        _ => Err(TokenError::InvalidClaims("iss: expected a string".into())),
    }
}
