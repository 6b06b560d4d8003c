//! Opaque tokens, verified by asking their issuer (feature `introspection`): RFC 7662 token
//! introspection, tokenleader's `GET /token/verify_token`, or a token-info URL that takes the
//! token as a query parameter.
//!
//! ```no_run
//! use std::time::Duration;
//! use tokenleader_rbac::{AclMap, Enforcer, claims::ClaimMapping};
//! use tokenleader_rbac::introspection::Introspection;
//!
//! // Keycloak, Okta, Ory: RFC 7662 with the service's client credentials.
//! let keycloak = Introspection::rfc7662("https://kc.example/realms/acme/protocol/openid-connect/token/introspect")
//!     .client_credentials("micros1", std::env::var("CLIENT_SECRET").unwrap_or_default())
//!     .claim_mapping(ClaimMapping::new().username("/username").roles_space_separated("/scope"));
//!
//! // A service without the tokenleader server's key asks the server itself.
//! let tokenleader = Introspection::tokenleader("http://127.0.0.1:5001");
//!
//! // Flarecast's token info: `GET …/oauth/tokeninfo?access_token=…`.
//! let flarecast = Introspection::query("https://flarecast.example/oauth/tokeninfo", "access_token")
//!     .claim_mapping(ClaimMapping::new().username("/uid").roles("/scope"))
//!     .max_ttl(Duration::from_secs(30));
//!
//! let enforcer = Enforcer::builder()
//!     .introspection(keycloak)
//!     .acl(AclMap::from_yaml_str("- name: read\n  allow: [micros1.entries.list]\n")?)
//!     .build()?;
//! # let _ = (tokenleader, flarecast);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! On the request path:
//!
//! - an answer is cached per token: a valid one until its `exp`, at most
//!   [`max_ttl`](Introspection::max_ttl) (60 s by default: how long a token revoked at the
//!   issuer may still pass), an inactive one ("inactive", "No such token": 401) for
//!   [`refusal_ttl`](Introspection::refusal_ttl) (5 s);
//! - concurrent requests with the same token share one call;
//! - calls run on a thread of their own with a timeout (5 s) and at most 32 at a time;
//! - an issuer that cannot answer (unreachable, a timeout, 5xx, HTML, malformed JSON) is a
//!   **503**, never an allowed request and never a cached valid answer (the outage is
//!   remembered for 1 s, so that a crowd of requests does not queue calls);
//! - the token is sent to the configured URL only, over HTTPS unless the URL is loopback or
//!   [`allow_plain_http`](Introspection::allow_plain_http) says otherwise, never after a
//!   redirect (a 3xx is a 503: configure the URL it points to), and never logged;
//! - a token longer than the enforcer's `max_token_bytes` (8 KiB by default) is refused (401)
//!   before it is sent anywhere;
//! - a token that looks like a JWT is never sent out when the enforcer has keys of its own: a
//!   local issuer decides it.
//!
//! Answers without `exp` are taken as valid for `max_ttl`. A numeric user claim (`uid`) is
//! taken as the user name. Under RFC 7662's default claims the user is `sub`, or `client_id`
//! when the answer has no `sub` (a client-credentials token). With
//! [`audience`](Introspection::audience), an answer must name one of the audiences in `aud`.
//! [`Introspection::discover`] takes the endpoint from the provider's OpenID configuration
//! (`introspection_endpoint`, RFC 8414) when the enforcer is built.

pub(crate) mod answer;
mod client;

use std::sync::Arc;
use std::time::Duration;

pub(crate) use client::Introspector;

use crate::claims::ClaimMapping;

/// How to ask an issuer about a token.
#[derive(Debug, Clone)]
pub struct Introspection {
    /// The endpoint; with `discover`, the issuer whose configuration names it.
    pub(crate) url: String,
    /// Whether `url` is an OpenID issuer whose `introspection_endpoint` is the endpoint.
    pub(crate) discover: bool,
    /// With any set, an answer's `aud` must name one of them.
    pub(crate) audiences: Vec<String>,
    pub(crate) form: Form,
    pub(crate) mapping: Option<ClaimMapping>,
    pub(crate) max_ttl: Duration,
    pub(crate) refusal_ttl: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_concurrent_calls: usize,
    pub(crate) allow_plain_http: bool,
}

/// The request and answer shapes.
#[derive(Debug, Clone)]
pub(crate) enum Form {
    /// `POST url` with `token=…`, client credentials by HTTP Basic; `{"active": …}`.
    Rfc7662 {
        client: Option<(String, ClientSecret)>,
    },
    /// `GET url/token/verify_token` with `X-Auth-Token`; `{"status": …, "payload": …}`.
    Tokenleader,
    /// `GET url?parameter=…`; the claims, or an error status.
    Query { parameter: String },
}

/// The service's client secret: never shown by `Debug`.
#[derive(Clone)]
pub(crate) struct ClientSecret(pub(crate) Arc<str>);

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(<hidden>)")
    }
}

impl Introspection {
    fn new(url: String, form: Form) -> Self {
        Introspection {
            url,
            discover: false,
            audiences: Vec::new(),
            form,
            mapping: None,
            max_ttl: Duration::from_secs(60),
            refusal_ttl: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            max_concurrent_calls: 32,
            allow_plain_http: false,
        }
    }

    /// RFC 7662 token introspection at `url`. Claims, unless
    /// [`claim_mapping`](Self::claim_mapping) says otherwise: the user in `sub` (or
    /// `client_id` when the answer has no `sub`), roles from the space-separated `scope`.
    pub fn rfc7662(url: impl Into<String>) -> Self {
        Self::new(url.into(), Form::Rfc7662 { client: None })
    }

    /// RFC 7662 introspection at the endpoint the OpenID provider `issuer_url` names in its
    /// configuration (`{issuer_url}/.well-known/openid-configuration`, whose `issuer` must be
    /// `issuer_url` exactly; its `introspection_endpoint`, RFC 8414). Read once by `build()`,
    /// which fails when the configuration cannot be had or names no endpoint. Otherwise as
    /// [`rfc7662`](Self::rfc7662).
    pub fn discover(issuer_url: impl Into<String>) -> Self {
        Introspection {
            discover: true,
            ..Self::rfc7662(issuer_url)
        }
    }

    /// An audience the service accepts (call it once per audience): with any configured, an
    /// answer whose `aud` names none of them is a 401, as for a JWT. Without one, `aud` is not
    /// read: configure it wherever the provider issues tokens for several services.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The tokenleader server at `base_url`, asked `GET /token/verify_token`: for a service
    /// without the server's public key. Its claims are tokenleader's.
    pub fn tokenleader(base_url: impl Into<String>) -> Self {
        let base = base_url.into();
        let url = format!("{}/token/verify_token", base.trim_end_matches('/'));
        Self::new(url, Form::Tokenleader)
    }

    /// A token-info URL that takes the token as the query parameter `parameter` and answers
    /// its claims as JSON, or an error status (400, 401, 404) for an unknown token.
    pub fn query(url: impl Into<String>, parameter: impl Into<String>) -> Self {
        let parameter = parameter.into();
        Self::new(url.into(), Form::Query { parameter })
    }

    /// The service's client credentials, sent with HTTP Basic (RFC 7662 only).
    pub fn client_credentials(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        if let Form::Rfc7662 { client } = &mut self.form {
            *client = Some((id.into(), ClientSecret(secret.into().into())));
        }
        self
    }

    /// Where the answer holds the user, roles, wfc and `exp`.
    pub fn claim_mapping(mut self, mapping: ClaimMapping) -> Self {
        self.mapping = Some(mapping);
        self
    }

    /// The longest a valid answer is reused (default 60 s), even when its `exp` is later.
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl;
        self
    }

    /// How long an inactive answer is reused (default 5 s).
    pub fn refusal_ttl(mut self, ttl: Duration) -> Self {
        self.refusal_ttl = ttl;
        self
    }

    /// How long one call may take (default 5 s); past it the request is a 503.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many calls may run at once (default 32).
    pub fn max_concurrent_calls(mut self, calls: usize) -> Self {
        self.max_concurrent_calls = calls.max(1);
        self
    }

    /// Allows an `http://` URL to a host that is not loopback (the endpoint, or with
    /// [`discover`](Self::discover) the issuer and its endpoint): the token then crosses the
    /// network in clear text.
    pub fn allow_plain_http(mut self) -> Self {
        self.allow_plain_http = true;
        self
    }
}
