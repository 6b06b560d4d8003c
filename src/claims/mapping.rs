//! Claim mapping: tokens of issuers other than tokenleader (Keycloak, Auth0, any OIDC server).
//!
//! tokenleader's claim shape (`sub: {username, roles, wfc, …}`) is the default. Other issuers
//! put the user and the roles elsewhere; a [`ClaimMapping`] names where, with JSON Pointer
//! paths (RFC 6901: `/realm_access/roles`; a `/` inside a name is written `~1`).
//!
//! ```
//! use tokenleader_rbac::claims::ClaimMapping;
//!
//! // Keycloak: realm roles, and the roles of one client.
//! let keycloak = ClaimMapping::new()
//!     .username("/preferred_username")
//!     .email("/email")
//!     .roles("/realm_access/roles")
//!     .roles("/resource_access/micros1/roles");
//!
//! // Auth0: roles in a namespaced claim, scopes as a space-separated string.
//! let auth0 = ClaimMapping::new()
//!     .username("/sub")
//!     .roles("/https:~1~1example.com~1roles")
//!     .roles_space_separated("/scope")
//!     .wfc_org("/https:~1~1example.com~1org")
//!     .require_wfc(true);
//! # let _ = (keycloak, auth0);
//! ```
//!
//! A mapped claim that is missing or of the wrong type is a 401 that names its path. Use it
//! with `EnforcerBuilder::claim_mapping`, and usually
//! with `issuer` and
//! `audience`.

use serde_json::Value;

use super::json::{
    optional_number, optional_string, required_number, required_string, scopes, string_array,
};
use super::{Claims, ClaimsError, Identity, RegisteredClaims, Wfc};

/// Where the roles come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RolesSource {
    /// An array of strings.
    Array(String),
    /// An array of strings, when the claim is there: a user in no group, a token without the
    /// client's roles, has none from it.
    ArrayIfPresent(String),
    /// OAuth scopes: `scope` (space-separated) or `scp` (space-separated, or an array), each
    /// prefixed; none when the token has neither.
    Scopes { prefix: String },
    /// A string of space-separated names (`scope`).
    SpaceSeparated(String),
    /// The entries of an array of strings that start with a prefix, stripped of it.
    Prefixed { path: String, prefix: String },
}

/// Where to read the user, the roles and the work function context in a token that is not
/// tokenleader-shaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimMapping {
    username: Option<String>,
    username_fallback: Option<String>,
    email: Option<String>,
    id: Option<String>,
    roles: Vec<RolesSource>,
    wfc_id: Option<String>,
    wfc_name: Option<String>,
    wfc_org: Option<String>,
    wfc_orgunit: Option<String>,
    wfc_department: Option<String>,
    require_wfc: bool,
}

impl ClaimMapping {
    /// A mapping with the user name at `/sub` and no roles: add what your issuer sends.
    pub fn new() -> Self {
        ClaimMapping::default()
    }

    /// The user name (a string). Default `/sub`.
    pub fn username(mut self, path: &str) -> Self {
        self.username = Some(path.to_owned());
        self
    }

    /// Where the user name is when the claim of [`username`](Self::username) is absent: an
    /// RFC 7662 answer about a client-credentials token names its `client_id` and no `sub`
    /// (`.username_or("/client_id")`, the default of RFC 7662 introspection).
    pub fn username_or(mut self, path: &str) -> Self {
        self.username_fallback = Some(path.to_owned());
        self
    }

    /// The e-mail (a string); when unmapped, the user name.
    pub fn email(mut self, path: &str) -> Self {
        self.email = Some(path.to_owned());
        self
    }

    /// The numeric user id; when unmapped, 0.
    pub fn id(mut self, path: &str) -> Self {
        self.id = Some(path.to_owned());
        self
    }

    /// Roles from an array of strings. Call it for each place roles come from.
    pub fn roles(mut self, path: &str) -> Self {
        self.roles.push(RolesSource::Array(path.to_owned()));
        self
    }

    /// Roles from an array of strings when the token has that claim, none when it does not (a
    /// provider leaves out the groups claim of a user in no group).
    pub fn roles_if_present(mut self, path: &str) -> Self {
        self.roles
            .push(RolesSource::ArrayIfPresent(path.to_owned()));
        self
    }

    /// OAuth scopes as roles, so that a map can grant rules to scopes: the token's `scope`
    /// (space-separated, RFC 8693 and RFC 9068) or `scp` (space-separated, or an array, as
    /// Entra ID and Okta write it), each with `prefix` before it (`""`, or `"scope:"` to keep
    /// scopes apart from roles in the map: `scope:read`). A token with neither has no roles
    /// from them.
    ///
    /// ```
    /// use tokenleader_rbac::{AclMap, Issuer, claims::ClaimMapping};
    ///
    /// let mapping = ClaimMapping::new().scopes_as_roles("scope:");
    /// let issuer = Issuer::new("https://idp.example").claim_mapping(mapping);
    /// // The map grants rules to a scope by its prefixed name.
    /// let acl = AclMap::from_yaml_str("- name: 'scope:entries.read'\n  allow: [micros1.entries.list]\n")?;
    /// # let _ = (issuer, acl);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scopes_as_roles(mut self, prefix: &str) -> Self {
        self.roles.push(RolesSource::Scopes {
            prefix: prefix.to_owned(),
        });
        self
    }

    /// Roles from a space-separated string, such as OAuth's `scope`.
    pub fn roles_space_separated(mut self, path: &str) -> Self {
        self.roles
            .push(RolesSource::SpaceSeparated(path.to_owned()));
        self
    }

    /// Roles from the entries of an array of strings (directory groups) that start with
    /// `prefix`, the prefix stripped; the others are ignored. py_auth_micro's groups:
    /// `.roles_with_prefix("/groups", "API_PERM_")` makes `API_PERM_reports` the role
    /// `reports`.
    pub fn roles_with_prefix(mut self, path: &str, prefix: &str) -> Self {
        self.roles.push(RolesSource::Prefixed {
            path: path.to_owned(),
            prefix: prefix.to_owned(),
        });
        self
    }

    /// The wfc's numeric id.
    pub fn wfc_id(mut self, path: &str) -> Self {
        self.wfc_id = Some(path.to_owned());
        self
    }

    /// The wfc's name.
    pub fn wfc_name(mut self, path: &str) -> Self {
        self.wfc_name = Some(path.to_owned());
        self
    }

    /// The wfc's org.
    pub fn wfc_org(mut self, path: &str) -> Self {
        self.wfc_org = Some(path.to_owned());
        self
    }

    /// The wfc's orgunit.
    pub fn wfc_orgunit(mut self, path: &str) -> Self {
        self.wfc_orgunit = Some(path.to_owned());
        self
    }

    /// The wfc's department.
    pub fn wfc_department(mut self, path: &str) -> Self {
        self.wfc_department = Some(path.to_owned());
        self
    }

    /// Whether every mapped wfc field must be in the token (default `false`: a missing field
    /// is empty, and handlers see an empty [`Wfc`] when the issuer sends none).
    pub fn require_wfc(mut self, required: bool) -> Self {
        self.require_wfc = required;
        self
    }

    /// Reads the claims of a verified token.
    pub(crate) fn apply(
        &self,
        claims: &Value,
        registered: &RegisteredClaims,
    ) -> Result<Claims, ClaimsError> {
        // A numeric user id (Flarecast's `uid`) is its own name.
        let mut username_path = self.username.as_deref().unwrap_or("/sub");
        if let Some(fallback) = &self.username_fallback
            && matches!(claims.pointer(username_path), None | Some(Value::Null))
        {
            username_path = fallback;
        }
        let username = match claims.pointer(username_path) {
            Some(Value::Number(id)) => id.to_string(),
            _ => required_string(claims, username_path)?,
        };
        let email = match &self.email {
            Some(path) => required_string(claims, path)?,
            None => username.clone(),
        };
        let id = match &self.id {
            Some(path) => required_number(claims, path)?,
            None => 0,
        };
        let mut roles = Vec::new();
        for source in &self.roles {
            match source {
                RolesSource::Array(path) => roles.extend(string_array(claims, path)?),
                RolesSource::ArrayIfPresent(path) => {
                    if !matches!(claims.pointer(path), None | Some(Value::Null)) {
                        roles.extend(string_array(claims, path)?);
                    }
                }
                RolesSource::Scopes { prefix } => {
                    for scope in scopes(claims)? {
                        roles.push(format!("{prefix}{scope}"));
                    }
                }
                RolesSource::SpaceSeparated(path) => {
                    roles.extend(
                        required_string(claims, path)?
                            .split_whitespace()
                            .map(str::to_owned),
                    );
                }
                RolesSource::Prefixed { path, prefix } => {
                    let groups = string_array(claims, path)?;
                    roles.extend(groups.into_iter().filter_map(|group| {
                        group
                            .strip_prefix(prefix.as_str())
                            .filter(|role| !role.is_empty())
                            .map(str::to_owned)
                    }));
                }
            }
        }
        let text = |path: &Option<String>| -> Result<String, ClaimsError> {
            match path {
                Some(path) if self.require_wfc => required_string(claims, path),
                Some(path) => optional_string(claims, path).map(Option::unwrap_or_default),
                None => Ok(String::new()),
            }
        };
        let wfc_id = match &self.wfc_id {
            Some(path) if self.require_wfc => required_number(claims, path)?,
            Some(path) => optional_number(claims, path)?.unwrap_or_default(),
            None => 0,
        };
        Ok(Claims {
            identity: Identity {
                id,
                username: username.into(),
                email: email.into(),
                roles: roles.into(),
                subject: claims.get("sub").and_then(Value::as_str).map(Into::into),
            },
            wfc: Wfc {
                id: wfc_id,
                name: text(&self.wfc_name)?.into(),
                org: text(&self.wfc_org)?.into(),
                orgunit: text(&self.wfc_orgunit)?.into(),
                department: text(&self.wfc_department)?.into(),
            },
            exp: registered.exp.ok_or(ClaimsError::MissingExpiry)?,
            iat: registered.iat,
            nbf: registered.nbf,
        })
    }
}
