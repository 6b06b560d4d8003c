//! [`Validation`]: the settings a token is checked against, and the checks of its registered
//! claims (`exp`, `nbf`, `iat`, `iss`, `aud`), made once whatever the claim shape.

use std::ops::RangeInclusive;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::{ClaimRequirement, TokenError};
use crate::claims::RegisteredClaims;

/// How tokens are validated. The defaults are tokenleader's: RS512 only, a leeway of 30 s, a
/// maximum lifetime of 24 h, tokens of at most 8 KiB, no issuer or audience required.
///
/// ```
/// use std::time::Duration;
/// use tokenleader_rbac::token::Validation;
///
/// let mut validation = Validation::default();
/// validation.leeway = Duration::from_secs(5);
/// validation.audiences.push("micros1".into());
/// # let _ = validation;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Validation {
    /// The signature algorithms accepted: RSA, ES256, ES384 and EdDSA ones; each key checks
    /// only those of its own type. Empty: whatever each key announces (its JWK `alg`, else the
    /// algorithms of its type), the default of [`Issuer::new`](crate::Issuer::new) and
    /// [`Issuer::discover`](crate::Issuer::discover).
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// The longest lifetime a token may claim: `exp` may lie at most this far after `iat` and
    /// after now.
    pub max_lifetime: Duration,
    /// The longest token accepted, in bytes; longer tokens are refused before any parsing.
    pub max_token_bytes: usize,
    /// The issuer tokens must name in `iss` (exact match); a token without `iss` is then
    /// refused.
    pub issuer: Option<String>,
    /// The audiences this service accepts in `aud`; with any set, a token must name one.
    pub audiences: Vec<String>,
    /// Claim values a token must (or must not) carry, to tell access tokens from refresh,
    /// e-mail or password-reset tokens signed with the same key.
    pub claim_requirements: Vec<ClaimRequirement>,
    /// The header `typ` tokens must carry (e.g. `at+jwt`, RFC 9068 §4: so that an ID token
    /// cannot pass as an access token); compared without case, `application/at+jwt` counting
    /// as `at+jwt` (RFC 7515 §4.1.9). `None` (the default): `typ` is not read.
    pub required_typ: Option<String>,
    /// The claim (a JSON Pointer, e.g. `/ip`) that binds a token to the caller's address
    /// (`*` binds it to none): checked on every request against the client address, the
    /// peer's or the one the nearest trusted proxy saw. A token without the claim, or a
    /// request whose client address is unknown, is refused.
    pub ip_claim: Option<String>,
}

impl Default for Validation {
    fn default() -> Self {
        Validation {
            algorithms: vec![Algorithm::RS512],
            leeway: Duration::from_secs(30),
            max_lifetime: Duration::from_secs(24 * 60 * 60),
            max_token_bytes: 8 * 1024,
            issuer: None,
            audiences: Vec::new(),
            claim_requirements: Vec::new(),
            required_typ: None,
            ip_claim: None,
        }
    }
}

impl Validation {
    /// Whether a header's `typ` is the required one (or none is required).
    pub(crate) fn typ_accepted(&self, typ: Option<&str>) -> bool {
        fn media_type(typ: &str) -> &str {
            match typ.get(..12) {
                Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
                _ => typ,
            }
        }
        match &self.required_typ {
            None => true,
            Some(required) => {
                typ.is_some_and(|typ| media_type(typ).eq_ignore_ascii_case(media_type(required)))
            }
        }
    }

    /// Whether a check reads claims that no claim shape keeps (requirements, the address).
    pub(crate) fn reads_raw_claims(&self) -> bool {
        !self.claim_requirements.is_empty() || self.ip_claim.is_some()
    }

    /// Checks the registered claims of a token whose signature verified; `now` is seconds
    /// since the Unix epoch.
    pub(crate) fn check(&self, claims: &RegisteredClaims, now: u64) -> Result<(), TokenError> {
        self.check_times(claims.exp, claims.nbf, claims.iat, now)?;
        if let Some(expected) = &self.issuer {
            match claims.iss.as_deref() {
                None => return Err(TokenError::MissingIssuer),
                Some(iss) if iss != expected => return Err(TokenError::WrongIssuer),
                Some(_) => {}
            }
        }
        let aud_accepted = claims
            .aud
            .as_ref()
            .is_some_and(|aud| aud.contains_any(&self.audiences));
        if !self.audiences.is_empty() && !aud_accepted {
            return Err(TokenError::WrongAudience);
        }
        Ok(())
    }

    /// The seconds at which [`check_times`](Self::check_times) passes for a token with these
    /// times, once its checks that do not depend on the clock passed: each one that does bounds
    /// `now` on one side (`exp` from above; `nbf`, `iat` and the maximum lifetime from below).
    /// The verified-token cache keeps it with each token, so that a hit is checked with two
    /// comparisons.
    pub(crate) fn valid_times(
        &self,
        exp: u64,
        nbf: Option<u64>,
        iat: Option<u64>,
    ) -> RangeInclusive<u64> {
        let leeway = self.leeway.as_secs();
        let longest = self.max_lifetime.as_secs().saturating_add(leeway);
        let from = [nbf, iat]
            .into_iter()
            .flatten()
            .map(|time| time.saturating_sub(leeway))
            .fold(exp.saturating_sub(longest), u64::max);
        from..=exp.saturating_add(leeway)
    }

    /// `exp` (required), `nbf` and `iat` with the leeway, and the maximum lifetime; for a cache
    /// hit outside its [`valid_times`](Self::valid_times), the reason.
    pub(crate) fn check_times(
        &self,
        exp: Option<u64>,
        nbf: Option<u64>,
        iat: Option<u64>,
        now: u64,
    ) -> Result<(), TokenError> {
        let leeway = self.leeway.as_secs();
        let max_lifetime = self.max_lifetime.as_secs();
        let exp = exp.ok_or(TokenError::MissingExpiry)?;
        if now > exp.saturating_add(leeway) {
            return Err(TokenError::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(TokenError::NotYetValid);
        }
        if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
            return Err(TokenError::IssuedInFuture);
        }
        let too_long = exp > now.saturating_add(max_lifetime).saturating_add(leeway)
            || iat.is_some_and(|iat| exp.saturating_sub(iat) > max_lifetime);
        if too_long {
            return Err(TokenError::LifetimeTooLong {
                max_secs: max_lifetime,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Audience;

    const NOW: u64 = 1_000_000;

    fn times(exp: Option<u64>, nbf: Option<u64>, iat: Option<u64>) -> Result<(), TokenError> {
        Validation::default().check_times(exp, nbf, iat, NOW)
    }

    #[test]
    fn exp_is_required_and_checked_with_the_leeway() {
        assert_eq!(times(None, None, None), Err(TokenError::MissingExpiry));
        assert_eq!(times(Some(NOW - 30), None, None), Ok(()));
        assert_eq!(times(Some(NOW - 31), None, None), Err(TokenError::Expired));
    }

    #[test]
    fn nbf_and_iat_may_not_lie_ahead_beyond_the_leeway() {
        let exp = Some(NOW + 60);
        assert_eq!(times(exp, Some(NOW + 30), None), Ok(()));
        assert_eq!(
            times(exp, Some(NOW + 31), None),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(
            times(exp, None, Some(NOW + 31)),
            Err(TokenError::IssuedInFuture)
        );
    }

    #[test]
    fn a_lifetime_over_the_maximum_is_refused_however_it_is_claimed() {
        let day = 24 * 60 * 60;
        let too_long = Err(TokenError::LifetimeTooLong { max_secs: day });
        assert_eq!(times(Some(u64::MAX), None, None), too_long);
        assert_eq!(times(Some(NOW + day + 31), None, None), too_long);
        assert_eq!(times(Some(NOW + 60), None, Some(NOW - day)), too_long);
        assert_eq!(times(Some(NOW + day), None, Some(NOW)), Ok(()));
    }

    /// Defect 7 of the network-edges issue: `typ` was never read.
    #[test]
    fn a_required_typ_is_compared_as_a_media_type() {
        let validation = Validation {
            required_typ: Some("at+jwt".into()),
            ..Validation::default()
        };
        for typ in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+Jwt",
        ] {
            assert!(validation.typ_accepted(Some(typ)), "{typ}");
        }
        for typ in [
            None,
            Some("JWT"),
            Some("jwt"),
            Some("application/jwt"),
            Some("at+jwt "),
        ] {
            assert!(!validation.typ_accepted(typ), "{typ:?}");
        }
        assert!(Validation::default().typ_accepted(None));
        assert!(Validation::default().typ_accepted(Some("anything")));
    }

    #[test]
    fn issuer_and_audience_are_exact() {
        let validation = Validation {
            issuer: Some("https://idp".into()),
            audiences: vec!["svc".into()],
            ..Validation::default()
        };
        let mut claims = RegisteredClaims {
            exp: Some(NOW + 60),
            ..RegisteredClaims::default()
        };
        assert_eq!(
            validation.check(&claims, NOW),
            Err(TokenError::MissingIssuer)
        );
        claims.iss = Some("https://idp/".into());
        assert_eq!(validation.check(&claims, NOW), Err(TokenError::WrongIssuer));
        claims.iss = Some("https://idp".into());
        assert_eq!(
            validation.check(&claims, NOW),
            Err(TokenError::WrongAudience)
        );
        claims.aud = Some(Audience::Many(vec!["other".into(), "svc".into()]));
        assert_eq!(validation.check(&claims, NOW), Ok(()));
    }

    /// A cache hit is checked against `valid_times` instead of `check_times`: they must agree
    /// at every second, edges and overflow included, for every token that passed the checks
    /// that do not depend on the clock (only those are cached).
    #[test]
    fn valid_times_agree_with_check_times_at_every_second() {
        let times = [
            0,
            1,
            29,
            30,
            31,
            59,
            60,
            3_600,
            NOW - 1,
            NOW,
            NOW + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        let optional: Vec<Option<u64>> = std::iter::once(None)
            .chain(times.iter().copied().map(Some))
            .collect();
        let mut compared = 0;
        for (leeway, max_lifetime) in [(0, 86_400), (30, 86_400), (30, 0), (u64::MAX, u64::MAX)] {
            let validation = Validation {
                leeway: Duration::from_secs(leeway),
                max_lifetime: Duration::from_secs(max_lifetime),
                ..Validation::default()
            };
            for &exp in &times {
                for &nbf in &optional {
                    for &iat in &optional {
                        if iat.is_some_and(|iat| exp.saturating_sub(iat) > max_lifetime) {
                            continue;
                        }
                        let window = validation.valid_times(exp, nbf, iat);
                        let edges = [window.start(), window.end()]
                            .into_iter()
                            .flat_map(|&edge| {
                                [edge.saturating_sub(1), edge, edge.saturating_add(1)]
                            });
                        for now in times.iter().copied().chain(edges) {
                            let checked = validation.check_times(Some(exp), nbf, iat, now);
                            assert_eq!(
                                checked.is_ok(),
                                window.contains(&now),
                                "exp {exp} nbf {nbf:?} iat {iat:?} leeway {leeway} \
                                 max_lifetime {max_lifetime} now {now}: {checked:?}"
                            );
                            compared += 1;
                        }
                    }
                }
            }
        }
        assert!(compared > 10_000, "{compared} comparisons");
    }
}
