//! The resource this service is (RFC 9728): the identifier the builder was given, checked,
//! what the document says of it, the document itself and the `resource_metadata` parameter of
//! the 401 challenges. The `metadata` module, above this one, serves the document.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, Uri, header};

use crate::token::TokenSource;

/// The well-known path segment of RFC 9728 §3.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The resource this service is, as the builder was given it and checked, with what the
/// document says of it that is fixed at build.
#[derive(Debug, Clone)]
pub(crate) struct ProtectedResource {
    /// The resource identifier (`resource` in the document).
    resource: String,
    /// Where the document is served, on this service (the well-known path and the resource's).
    path: String,
    /// The document's full URL, for the challenges.
    url: String,
    /// The trusted issuers' `iss`, sorted, each once.
    authorization_servers: Vec<String>,
    /// `header` and `query`, as the token sources carry tokens.
    bearer_methods: Vec<&'static str>,
    /// What the document says of sender-constrained tokens.
    senders: SenderMetadata,
}

/// What the document says of DPoP and certificate-bound tokens (RFC 9728 §2).
#[derive(Debug, Clone, Default)]
pub(crate) struct SenderMetadata {
    /// The DPoP proof algorithms taken (none: no issuer takes DPoP).
    pub(crate) dpop_algs: Vec<String>,
    /// Whether every issuer requires DPoP.
    pub(crate) dpop_required: bool,
    /// Whether certificate-bound tokens can be checked (a certificate source is configured).
    pub(crate) certificate_bound: bool,
}

impl ProtectedResource {
    /// Checks `resource` as RFC 9728 §1.2 wants an identifier: an absolute URL with the
    /// `https` scheme (here `http` too on a loopback host, for tests), a host, no query and no
    /// fragment; and its path as one the document can be routed at. `issuers` are the trusted
    /// issuers' `iss`, `sources` where the service reads tokens.
    pub(crate) fn new(
        resource: &str,
        issuers: impl Iterator<Item = String>,
        sources: &[TokenSource],
        senders: SenderMetadata,
    ) -> Result<ProtectedResource, String> {
        let refuse = |why: &str| {
            Err(format!(
                "protected_resource(\"{}\"): {why}",
                crate::escape::Untrusted(resource)
            ))
        };
        if resource.contains('#') {
            return refuse("a resource identifier has no fragment");
        }
        // It is quoted in every challenge: nothing that could end the quotes.
        if !resource
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
        {
            return refuse("a URL of visible ASCII without quotes or backslashes");
        }
        let Ok(uri) = resource.parse::<Uri>() else {
            return refuse("not a URL");
        };
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return refuse("give an absolute URL, such as https://api.example.com");
        };
        let loopback = matches!(authority.host(), "127.0.0.1" | "localhost" | "[::1]");
        if scheme != "https" && !(scheme == "http" && loopback) {
            return refuse("the scheme must be https (http only on a loopback host)");
        }
        if uri.query().is_some() {
            return refuse("a resource identifier has no query");
        }
        let resource_path = uri.path().trim_end_matches('/');
        // The document's path is routed: route syntax in it would capture or panic.
        if resource_path.contains(['{', '}', '*', ':']) {
            return refuse("the path may not hold `{`, `}`, `*` or `:` (they are route syntax)");
        }
        let path = format!("{WELL_KNOWN}{resource_path}");
        let mut authorization_servers: Vec<String> = issuers.collect();
        authorization_servers.sort_unstable();
        authorization_servers.dedup();
        Ok(ProtectedResource {
            resource: resource.to_owned(),
            url: format!("{scheme}://{authority}{path}"),
            path,
            authorization_servers,
            bearer_methods: bearer_methods(sources),
            senders,
        })
    }

    /// Where this service serves the document: the well-known path and the resource's.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The document's URL.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

/// RFC 9728's names for where `sources` read tokens: cookies and sources of the service's own
/// have none.
fn bearer_methods(sources: &[TokenSource]) -> Vec<&'static str> {
    let mut methods = Vec::new();
    if sources.iter().any(|source| {
        matches!(
            source,
            TokenSource::XAuthToken | TokenSource::AuthorizationBearer | TokenSource::Header(_)
        )
    }) {
        methods.push("header");
    }
    if sources
        .iter()
        .any(|source| matches!(source, TokenSource::Query(_)))
    {
        methods.push("query");
    }
    methods
}

/// The document: what was fixed at build, and the rules the service uses now (routes record
/// theirs as they are built, so they are read when the document is asked for).
pub(crate) fn document(resource: &ProtectedResource) -> serde_json::Value {
    let scopes: Vec<String> = crate::rules::used_rules()
        .into_iter()
        .map(|used| used.rule)
        .collect();
    let mut document = serde_json::json!({
        "resource": resource.resource,
        "authorization_servers": resource.authorization_servers,
        "bearer_methods_supported": resource.bearer_methods,
        "scopes_supported": scopes,
    });
    let senders = &resource.senders;
    if !senders.dpop_algs.is_empty() {
        document["dpop_signing_alg_values_supported"] = senders.dpop_algs.clone().into();
        document["dpop_bound_access_tokens_required"] = senders.dpop_required.into();
    }
    if senders.certificate_bound {
        document["tls_client_certificate_bound_access_tokens"] = true.into();
    }
    document
}

/// Adds `resource_metadata="url"` to the `Bearer` challenge of a 401 (RFC 9728 §5.1); other
/// answers, and challenges of other schemes, are left as they are.
pub(crate) fn add_to_challenge(response: &mut Response<Bytes>, url: &str) {
    if response.status() != StatusCode::UNAUTHORIZED {
        return;
    }
    let Some(challenge) = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|value| value.to_str().ok())
    else {
        return;
    };
    let amended = match challenge {
        "Bearer" => format!(r#"Bearer resource_metadata="{url}""#),
        bearer if bearer.starts_with("Bearer ") => {
            format!(r#"{bearer}, resource_metadata="{url}""#)
        }
        _ => return,
    };
    // The URL was checked as a URI when the enforcer was built, so it is a valid value.
    if let Ok(value) = HeaderValue::from_str(&amended) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(identifier: &str) -> Result<ProtectedResource, String> {
        ProtectedResource::new(
            identifier,
            std::iter::empty(),
            &[],
            SenderMetadata::default(),
        )
    }

    #[test]
    fn the_document_url_inserts_the_well_known_path_before_the_resource_path() {
        let micros1 = resource("https://api.example.com/micros1/").unwrap();
        assert_eq!(
            micros1.url(),
            "https://api.example.com/.well-known/oauth-protected-resource/micros1"
        );
        let root = resource("https://api.example.com").unwrap();
        assert_eq!(
            root.url(),
            "https://api.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn identifiers_that_rfc_9728_refuses_are_refused() {
        for bad in [
            "api.example.com",
            "/micros1",
            "http://api.example.com",
            "https://api.example.com/?a=b",
            "https://api.example.com/#top",
            "ftp://api.example.com",
            "https://api.example.com/\"",
            "https://api.example.com/{id}",
            "https://api.example.com/:id",
            "https://api.example.com/*rest",
        ] {
            assert!(resource(bad).is_err(), "{bad} was accepted");
        }
        assert!(resource("http://127.0.0.1:8080").is_ok());
        assert!(resource("http://[::1]:8080/micros1").is_ok());
    }

    #[test]
    fn only_bearer_challenges_of_401_answers_are_amended() {
        let answer = |status, challenge: &'static str| {
            let mut response = Response::new(Bytes::new());
            *response.status_mut() = status;
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
            add_to_challenge(&mut response, "https://a.example/m");
            response.headers()[header::WWW_AUTHENTICATE].clone()
        };
        assert_eq!(
            answer(StatusCode::UNAUTHORIZED, "Bearer"),
            r#"Bearer resource_metadata="https://a.example/m""#
        );
        assert_eq!(
            answer(StatusCode::UNAUTHORIZED, r#"Bearer error="invalid_token""#),
            r#"Bearer error="invalid_token", resource_metadata="https://a.example/m""#
        );
        assert_eq!(
            answer(
                StatusCode::FORBIDDEN,
                r#"Bearer error="insufficient_scope""#
            ),
            r#"Bearer error="insufficient_scope""#
        );
        assert_eq!(answer(StatusCode::UNAUTHORIZED, "Basic"), "Basic");
    }
}
