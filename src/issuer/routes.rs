//! The trusted issuers at run time: each token is routed by its `iss` to exactly one of them,
//! through an index, and verified there in one step that answers verified, denied, or wait
//! (its unknown `kid`'s keys are being fetched, its introspection call is under way). The
//! token is routed and its payload read for `iss` once; a refetch is asked once.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use crate::escape::cut;
use crate::reload::{KeySource, KeyStatus};
use crate::response::Denial;
use crate::token::{KeySet, TokenError, Validation, Verified, Verifier, VerifyWait};

/// How much of an unknown `iss` a refusal quotes.
const QUOTED_ISS_CHARS: usize = 64;

/// One trusted issuer on the request path.
pub(crate) struct TrustedIssuer {
    pub(crate) verifier: Verifier,
    pub(crate) keys: Arc<KeySource>,
    /// Its JWKS source, asked to fetch again when a token names an unknown `kid`.
    #[cfg(feature = "jwks")]
    pub(crate) jwks: Option<crate::reload::jwks::JwksSource>,
    /// Its introspection endpoint, for opaque tokens (or every token, without keys).
    #[cfg(feature = "introspection")]
    pub(crate) introspector: Option<Arc<crate::introspection::Introspector>>,
    /// Whether it has no keys at all, now or later: its introspection endpoint decides
    /// every token routed to it.
    pub(crate) introspects_all: bool,
}

/// What verification says of a token.
pub(crate) enum Verdict {
    Verified(Verified),
    Denied(Denial),
    /// Not decided yet: wait, then ask again without waiting. Only a JWKS source or an
    /// introspection endpoint makes one.
    #[cfg_attr(
        not(any(feature = "jwks", feature = "introspection")),
        allow(dead_code)
    )]
    Wait(VerifyWait),
}

/// The trusted issuers, indexed by `iss`.
pub(crate) struct Issuers {
    list: Vec<TrustedIssuer>,
    by_iss: HashMap<String, usize>,
    without_iss: Option<usize>,
    /// The issuer whose introspection endpoint takes tokens that are not JWTs.
    opaque: Option<usize>,
    /// The largest token any issuer accepts: longer ones are refused before routing.
    max_token_bytes: usize,
    /// The builder's own issuer, whose keys `key_status()` reports.
    own: Option<usize>,
    /// Whether tokens are routed by `iss`: not when the builder's own issuer is the only one
    /// (its verifier checks `iss`, and a token's payload is read once).
    routed: bool,
}

impl Issuers {
    /// Indexes `list`; two issuers with the same `iss`, two that take tokens without one, or
    /// two that introspect opaque tokens (which name no issuer) are refused.
    pub(crate) fn new(list: Vec<TrustedIssuer>, own: Option<usize>) -> Result<Self, String> {
        let mut by_iss = HashMap::new();
        let mut without_iss = None;
        let mut opaque = None;
        for (index, issuer) in list.iter().enumerate() {
            match &issuer.verifier.validation.issuer {
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
            if issuer.introspects() {
                if opaque.is_some() {
                    return Err(
                        "two issuers have an introspection endpoint: at most one may, because an opaque token names no issuer".into(),
                    );
                }
                opaque = Some(index);
            }
        }
        let max_token_bytes = list
            .iter()
            .map(|issuer| issuer.verifier.validation.max_token_bytes)
            .max()
            .unwrap_or_default();
        let routed = !(list.len() == 1 && own == Some(0));
        Ok(Issuers {
            list,
            by_iss,
            without_iss,
            opaque,
            max_token_bytes,
            own,
            routed,
        })
    }

    /// Verifies `token` at `now` with the issuer it names. With `may_wait`, a token that
    /// cannot be decided yet (an unknown `kid` whose keys are being fetched, an introspection
    /// call) gives a wait; without, it is refused. `cache_asked`: the caller looked in the
    /// issuers' caches already ([`cached`](Self::cached)).
    pub(crate) fn verify(
        &self,
        token: &str,
        now: u64,
        may_wait: bool,
        cache_asked: bool,
    ) -> Verdict {
        if let Some(index) = self.opaque
            && !looks_like_jws(token)
        {
            return self.list[index].introspect(token, now, may_wait);
        }
        if !self.routed {
            return self.list[0].verify(token, now, may_wait, cache_asked);
        }
        if !cache_asked && let Some(cached) = self.cached(token.as_bytes(), now) {
            return cached;
        }
        match self.route(token) {
            Ok(issuer) => issuer.verify(token, now, may_wait, true),
            Err(error) => Verdict::Denied(error.into()),
        }
    }

    /// Verifies the JWS layer of `token` only (structure, header, key, signature) with the
    /// issuer it names, and gives its payload.
    pub(crate) fn verify_jws(&self, token: &str) -> Result<Vec<u8>, TokenError> {
        let issuer = self.route(token)?;
        issuer.verifier.verify_jws(&issuer.keys.keys().keys, token)
    }

    /// The validation settings of the issuer `token` names.
    pub(crate) fn validation_for(&self, token: &str) -> Result<&Validation, TokenError> {
        Ok(&self.route(token)?.verifier.validation)
    }

    /// `token` (its bytes, as the request carries them) from the cache of the issuer that
    /// verified it before: found there without reading it as text or decoding its payload for
    /// `iss`. A cache holds only the tokens its issuer verified, keyed by the whole token, so a
    /// hit is the issuer `iss` names, and a token that is not a JWT is never found.
    pub(crate) fn cached(&self, token: &[u8], now: u64) -> Option<Verdict> {
        self.list.iter().find_map(|issuer| {
            let keys = issuer.keys.keys();
            let cache = keys.cache.as_ref()?;
            Some(match cache.get(token, now)? {
                Ok(verified) => Verdict::Verified(verified),
                Err(stale) => Verdict::Denied(issuer.verifier.stale(cache, stale, now).into()),
            })
        })
    }

    /// The issuer whose tokens name this token's `iss` (read before the signature is
    /// checked: the routed issuer's signature check and `iss` check then decide). With the
    /// builder's own issuer alone, that one, unread.
    fn route(&self, token: &str) -> Result<&TrustedIssuer, TokenError> {
        if !self.routed {
            return Ok(&self.list[0]);
        }
        let index = match peek_iss(token, self.max_token_bytes)? {
            Some(iss) => *self
                .by_iss
                .get(&iss)
                .ok_or_else(|| TokenError::UnknownIssuer(cut(&iss, QUOTED_ISS_CHARS)))?,
            None => self.without_iss.ok_or(TokenError::NoIssuer)?,
        };
        Ok(&self.list[index])
    }

    /// The keys of the issuer whose tokens name `iss` (`None`: tokens without `iss`).
    pub(crate) fn key_status(&self, iss: Option<&str>) -> Option<KeyStatus> {
        let index = match iss {
            Some(iss) => self.by_iss.get(iss).copied(),
            None => self.without_iss,
        };
        index.map(|index| self.list[index].keys.status())
    }

    /// The keys of the builder's own issuer, else of the first trusted one.
    pub(crate) fn own_key_status(&self) -> KeyStatus {
        let index = self.own.unwrap_or_default();
        self.list[index].keys.status()
    }

    /// The issuers, in the order given (the builder's own first).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &TrustedIssuer> {
        self.list.iter()
    }
}

impl TrustedIssuer {
    /// Whether it has an introspection endpoint.
    fn introspects(&self) -> bool {
        #[cfg(feature = "introspection")]
        return self.introspector.is_some();
        #[cfg(not(feature = "introspection"))]
        false
    }

    /// Verifies `token` with this issuer's keys, or asks its introspection endpoint when it
    /// has no keys. `cache_asked`: the caller looked in the cache already.
    fn verify(&self, token: &str, now: u64, may_wait: bool, cache_asked: bool) -> Verdict {
        if self.introspects_all {
            return self.introspect(token, now, may_wait);
        }
        self.verify_with(&self.keys.keys(), token, now, may_wait, cache_asked)
    }

    /// Verifies `token` with `key_set`, the keys in force when the request read them. An
    /// unknown `kid` asks for a refetch; when none is under way (the rate limit holds) and the
    /// keys in force changed meanwhile, because a fetch ended while this token was checked,
    /// the token is checked once more with them.
    fn verify_with(
        &self,
        key_set: &Arc<KeySet>,
        token: &str,
        now: u64,
        may_wait: bool,
        cache_asked: bool,
    ) -> Verdict {
        let verify = |key_set: &KeySet| match cache_asked {
            true => self.verifier.verify_and_remember(key_set, token, now),
            false => self.verifier.verify(key_set, token, now),
        };
        let verified = match verify(key_set) {
            Err(TokenError::UnknownKeyId) => {
                if let Some(wait) = self.refetch(may_wait) {
                    return Verdict::Wait(wait);
                }
                // A fetch marks itself over only after its keys are in force: read now,
                // they are those of every fetch that ended before the refetch was asked.
                let in_force = self.keys.keys();
                match Arc::ptr_eq(&in_force, key_set) {
                    true => Err(TokenError::UnknownKeyId),
                    false => verify(&in_force),
                }
            }
            verified => verified,
        };
        match verified {
            Ok(verified) => Verdict::Verified(verified),
            Err(error) => Verdict::Denied(error.into()),
        }
    }

    /// A token named a `kid` the keys in force lack: the JWKS source is asked to fetch (at
    /// most once per interval); a request that may wait gets the wait for that fetch.
    fn refetch(&self, may_wait: bool) -> Option<VerifyWait> {
        #[cfg(feature = "jwks")]
        if let Some(wait) = self.jwks.as_ref().and_then(|jwks| jwks.request_refetch())
            && may_wait
        {
            return Some(wait);
        }
        let _ = may_wait;
        None
    }

    /// Asks the introspection endpoint about `token`, from its cache when it answered before.
    fn introspect(&self, token: &str, now: u64, may_wait: bool) -> Verdict {
        #[cfg(feature = "introspection")]
        if let Some(introspector) = &self.introspector {
            return match introspector.cached(token, now) {
                Some(Ok(verified)) => Verdict::Verified(verified),
                Some(Err(denial)) => Verdict::Denied(denial),
                None if may_wait => Verdict::Wait(introspector.wait(token, now)),
                None => Verdict::Denied(Denial::IntrospectionUnavailable),
            };
        }
        let _ = (token, now, may_wait);
        Verdict::Denied(Denial::IntrospectionUnavailable)
    }
}

/// Whether `token` looks like a JWS (three parts, a JSON object for header): such tokens are
/// never sent out while a local issuer could verify them.
fn looks_like_jws(token: &str) -> bool {
    let mut parts = token.split('.');
    let header = parts.next().unwrap_or_default();
    parts.count() == 2
        && URL_SAFE_NO_PAD
            .decode(header)
            .is_ok_and(|json| json.trim_ascii_start().starts_with(b"{"))
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

#[cfg(all(test, feature = "jwks"))]
mod tests;
