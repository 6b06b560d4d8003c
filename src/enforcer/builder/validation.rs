//! The builder's token checks: what a token must be to be accepted, beside a valid signature.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::EnforcerBuilder;
use crate::token::{ClaimRequirement, Validation};

impl EnforcerBuilder {
    /// All validation settings at once, replacing those set so far.
    pub fn validation(mut self, validation: Validation) -> Self {
        self.validation = validation;
        self
    }

    /// The issuer tokens must name in `iss` (exact match); a token without `iss` is refused.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.validation.issuer = Some(issuer.into());
        self
    }

    /// A claim value tokens must carry (call it once per claim): `.require_claim("/typ",
    /// "access")` refuses the refresh, e-mail or password-reset tokens the same key signs,
    /// with a 401 that names the claim.
    pub fn require_claim(mut self, path: &str, value: impl Into<serde_json::Value>) -> Self {
        let requirement = ClaimRequirement::equals(path, value);
        self.validation.claim_requirements.push(requirement);
        self
    }

    /// The header `typ` tokens must carry: `.require_typ("at+jwt")` accepts only RFC 9068
    /// access tokens (`application/at+jwt` too, without case), so that an ID token of the
    /// same provider cannot pass as one. Default: `typ` is not read.
    pub fn require_typ(mut self, typ: impl Into<String>) -> Self {
        self.validation.required_typ = Some(typ.into());
        self
    }

    /// A claim tokens must not carry (e.g. `/refresh_claim`).
    pub fn forbid_claim(mut self, path: &str) -> Self {
        let requirement = ClaimRequirement::absent(path);
        self.validation.claim_requirements.push(requirement);
        self
    }

    /// Binds tokens to the caller's address: the claim at `path` (e.g. `/ip`) must be the
    /// client address (the peer's, or with [`trusted_proxies`](Self::trusted_proxies) the
    /// one the nearest trusted proxy saw; `X-Forwarded-For` is never trusted otherwise), or
    /// `*`. A token without the claim, or a request whose address is unknown (a server that
    /// does not record the peer: use `into_make_service_with_connect_info`), is a 401.
    pub fn bind_to_ip(mut self, path: &str) -> Self {
        self.validation.ip_claim = Some(path.to_owned());
        self
    }

    /// An audience this service accepts in `aud` (call it once per audience); with any
    /// configured, a token must name one of them.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.validation.audiences.push(audience.into());
        self
    }

    /// The signature algorithms accepted (default RS512 only, tokenleader's): RSA
    /// (RS256/384/512, PS256/384/512), ES256, ES384 and EdDSA. Each key checks only the
    /// algorithms of its own type; HMAC cannot be allowed with public keys.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.validation.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway;
        self
    }

    /// The longest lifetime a token may claim (default 24 h): `exp` may lie at most this far
    /// after `iat` and after now.
    pub fn max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.validation.max_lifetime = max_lifetime;
        self
    }

    /// The longest token accepted, in bytes (default 8 KiB). Longer tokens are refused before
    /// any parsing.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.validation.max_token_bytes = max;
        self
    }
}
