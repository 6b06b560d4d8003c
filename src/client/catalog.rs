//! What the server hands out with a token: the token and the service catalog.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;

use crate::token::AuthToken;

/// Which of a service's endpoints to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// `endpoint_url_internal`.
    Internal,
    /// `endpoint_url_external`.
    External,
    /// `endpoint_url_admin`.
    Admin,
}

/// One service of the catalog the server returns with a token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Service {
    /// The service's id.
    pub id: u64,
    /// The service's name.
    pub name: String,
    /// Its URL inside the network.
    pub endpoint_url_internal: Option<String>,
    /// Its URL from outside.
    pub endpoint_url_external: Option<String>,
    /// Its administration URL.
    pub endpoint_url_admin: Option<String>,
}

impl Service {
    /// The endpoint for `network`, if the catalog gives one.
    pub fn url(&self, network: Network) -> Option<&str> {
        match network {
            Network::Internal => self.endpoint_url_internal.as_deref(),
            Network::External => self.endpoint_url_external.as_deref(),
            Network::Admin => self.endpoint_url_admin.as_deref(),
        }
    }
}

/// The service catalog: services by name.
pub type ServiceCatalog = HashMap<String, Service>;

/// What `POST /token/gettoken` gives: the token and the service catalog.
#[derive(Clone)]
pub struct TokenGrant {
    /// The token.
    pub auth_token: AuthToken,
    /// The services the server knows.
    pub service_catalog: ServiceCatalog,
}

impl fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGrant")
            .field("auth_token", &self.auth_token)
            .field("service_catalog", &self.service_catalog)
            .finish()
    }
}
