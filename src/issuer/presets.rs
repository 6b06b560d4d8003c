//! Presets for the identity providers services run behind, each from its provider's own
//! documentation: where the provider puts the user, roles and scopes, what tells its access
//! tokens from its ID tokens, and which audience rule keeps another client's tokens out.
//!
//! ```
//! # #[cfg(feature = "jwks")] {
//! use tokenleader_rbac::{Enforcer, Issuer};
//!
//! let realm = Issuer::keycloak("https://kc.example/realms/acme")
//!     .audience("micros1") // the client an Audience mapper names in `aud`
//!     .client_roles("micros1"); // and that client's roles, besides the realm's
//! # fn build(realm: Issuer) -> Result<Enforcer, tokenleader_rbac::Error> {
//! // The build reads the realm's OpenID configuration and keys.
//! let enforcer = Enforcer::builder().trust(realm).acl_file("role_to_acl_map.yml").build()?;
//! # Ok(enforcer) }
//! # let _ = build;
//! # }
//! ```
//!
//! | preset | issuer (`iss`) | roles from | user | access tokens only | audience |
//! | --- | --- | --- | --- | --- | --- |
//! | [`Issuer::keycloak`] | `https://{host}/realms/{realm}` | `realm_access.roles`; with [`client_roles`](Issuer::client_roles), `resource_access.{client}.roles` | `preferred_username` | payload `typ` `Bearer` (ID tokens: `ID`) | required (`aud`: the client with an audience mapper, or `account`) |
//! | [`Issuer::entra`] | `https://login.microsoftonline.com/{tenant}/v2.0` | app roles `roles`, delegated scopes `scp` | `preferred_username`, else `azp` (an app) | `aud` is the API, not the client an ID token names | required: the API's application (client) id |
//! | [`Issuer::auth0`] | `https://{domain}/` | `permissions` (RBAC); with [`roles_claim`](Issuer::roles_claim), a namespaced claim | `sub` | `aud` is the API identifier (ID tokens name the client) | required: the API identifier |
//! | [`Issuer::cognito`] | `https://cognito-idp.{region}.amazonaws.com/{pool}` | `cognito:groups`, and scopes | `username` | `token_use` `access` | no `aud` in access tokens: [`client_id`](Issuer::client_id) required, an audience refused |
//! | [`Issuer::okta`] | the authorization server (`https://{org}.okta.com/oauth2/default`) | scopes `scp`, `groups` when the server adds them | `sub` | `aud` is the API (ID tokens name the client) | `api://default` unless given |
//!
//! Every preset is an [`Issuer::discover`] with these settings: keys from the provider's
//! `jwks_uri`, the algorithms its keys announce, every other check. Each also works without
//! reaching the provider's public host: [`discovery_url`](Issuer::discovery_url) reads the
//! configuration elsewhere (a mirror, a test's stand-in), [`jwks_url`](Issuer::jwks_url) takes
//! the keys from a JWKS URL, and [`static_keys_only`](Issuer::static_keys_only) with
//! [`public_key`](Issuer::public_key) fetches nothing.

#[cfg(feature = "jwks")]
use super::AudienceRule;
use super::Issuer;
use crate::claims::{ClaimMapping, ClaimShape};

impl Issuer {
    /// A Keycloak realm (`https://kc.example/realms/acme`; with Keycloak before 17,
    /// `…/auth/realms/acme`): roles from `realm_access.roles` (add a client's with
    /// [`client_roles`](Self::client_roles)), the user in `preferred_username`, and only access
    /// tokens (their payload's `typ` is `Bearer`; an ID token's is `ID`). An audience is
    /// required: add an audience mapper to the client whose tokens the service takes, or
    /// accept `account`, the one Keycloak writes by default. See
    /// <https://www.keycloak.org/docs/latest/server_admin/#_oidc_token_role_mappings>.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn keycloak(realm_url: impl Into<String>) -> Self {
        let mapping = ClaimMapping::new()
            .username("/preferred_username")
            .roles_if_present("/realm_access/roles");
        Issuer::discover(realm_url)
            .claim_mapping(mapping)
            .require_claim("/typ", "Bearer")
    }

    /// Also the roles of the Keycloak client `client_id`
    /// (`resource_access.{client_id}.roles`), for [`keycloak`](Self::keycloak); call it once
    /// per client.
    pub fn client_roles(self, client_id: &str) -> Self {
        let path = format!("/resource_access/{}/roles", pointer_token(client_id));
        self.add_roles(|mapping| mapping.roles_if_present(&path))
    }

    /// Microsoft Entra ID (v2.0 access tokens) of the tenant `tenant_id` (its GUID):
    /// `iss` `https://login.microsoftonline.com/{tenant_id}/v2.0`, app roles from `roles` and
    /// delegated scopes from `scp` (space-separated), the user in `preferred_username` (an
    /// app's own token has none: its client id, `azp`, stands for it). The audience is
    /// required: the API's application (client) id, which an ID token of a client app does
    /// not name. Set `accessTokenAcceptedVersion` to 2 in the API's manifest. See
    /// <https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference>.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn entra(tenant_id: &str) -> Self {
        let mapping = ClaimMapping::new()
            .username("/preferred_username")
            .username_or("/azp")
            .roles_if_present("/roles")
            .scopes_as_roles("");
        let issuer = format!("https://login.microsoftonline.com/{tenant_id}/v2.0");
        Issuer::discover(issuer).claim_mapping(mapping)
    }

    /// Auth0's tenant at `domain` (`acme.eu.auth0.com`, or a custom domain): `iss`
    /// `https://{domain}/`, roles from `permissions` (turn on RBAC and "Add Permissions in the
    /// Access Token" for the API), and with [`roles_claim`](Self::roles_claim) also from a
    /// namespaced claim an Action adds; the user in `sub`. The audience is required: the
    /// API's identifier, which an ID token (its audience is the client) does not name. See
    /// <https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles>.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn auth0(domain: &str) -> Self {
        let mapping = ClaimMapping::new().roles_if_present("/permissions");
        Issuer::discover(format!("https://{}/", domain.trim_end_matches('/')))
            .claim_mapping(mapping)
    }

    /// Also roles from the namespaced claim `claim` (`https://example.com/roles`), for
    /// [`auth0`](Self::auth0): Auth0 puts no roles in access tokens itself; an Action adds
    /// them under a namespace.
    pub fn roles_claim(self, claim: &str) -> Self {
        let path = format!("/{}", pointer_token(claim));
        self.add_roles(|mapping| mapping.roles_if_present(&path))
    }

    /// An Amazon Cognito user pool: `iss`
    /// `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}`, roles from
    /// `cognito:groups` and the token's scopes, the user in `username`, and only access tokens
    /// (`token_use` is `access`; an ID token's is `id`). Cognito's access tokens carry no
    /// `aud`: [`client_id`](Self::client_id) names the app client whose tokens the service
    /// takes, and is required. See
    /// <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html>.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn cognito(region: &str, user_pool_id: &str) -> Self {
        let mapping = ClaimMapping::new()
            .username("/username")
            .roles_if_present("/cognito:groups")
            .scopes_as_roles("");
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}");
        Issuer {
            audience_rule: AudienceRule::ClientId,
            ..Issuer::discover(issuer)
        }
        .claim_mapping(mapping)
        .require_claim("/token_use", "access")
    }

    /// The app client whose tokens the service takes, checked in the tokens' `client_id`
    /// (Cognito's access tokens, which carry no `aud`).
    pub fn client_id(self, client_id: &str) -> Self {
        self.require_claim("/client_id", client_id)
    }

    /// An Okta authorization server (`https://acme.okta.com/oauth2/default`, or a custom
    /// server's issuer URL): roles from the scopes (`scp`) and from `groups` when the server
    /// adds a groups claim, the user in `sub`. The audience is `api://default` (the default
    /// server's) unless [`audience`](Self::audience) gives the API's. See
    /// <https://developer.okta.com/docs/api/openapi/okta-oauth/guides/overview/>.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn okta(issuer_url: impl Into<String>) -> Self {
        let mapping = ClaimMapping::new()
            .scopes_as_roles("")
            .roles_if_present("/groups");
        Issuer {
            default_audience: Some("api://default".into()),
            ..Issuer::discover(issuer_url)
        }
        .claim_mapping(mapping)
    }

    /// Reads the OpenID configuration from `url` rather than from the issuer's own
    /// `/.well-known/openid-configuration` (feature `jwks`): a mirror, a test's stand-in. Its
    /// `issuer` must still be this issuer's `iss`, exactly.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn discovery_url(mut self, url: impl Into<String>) -> Self {
        if let Some(config) = &mut self.jwks {
            config.discovery_url = Some(url.into());
        }
        self
    }

    /// Fetches no keys (feature `jwks`): only those given with
    /// [`public_key`](Self::public_key) and its kin verify, a preset's discovery left out.
    #[cfg(feature = "jwks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
    pub fn static_keys_only(mut self) -> Self {
        self.jwks = None;
        self
    }

    /// The claim mapping with one more source of roles.
    fn add_roles(mut self, add: impl FnOnce(ClaimMapping) -> ClaimMapping) -> Self {
        let mapping = match self.shape.take() {
            Some(ClaimShape::Mapped(mapping)) => *mapping,
            _ => ClaimMapping::new(),
        };
        self.shape = Some(ClaimShape::Mapped(Box::new(add(mapping))));
        self
    }
}

/// `text` as one token of a JSON Pointer (RFC 6901): `~` as `~0`, `/` as `~1`.
fn pointer_token(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}
