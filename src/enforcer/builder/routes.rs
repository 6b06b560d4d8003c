//! The issuers given to [`EnforcerBuilder::trust`](super::EnforcerBuilder::trust), made into
//! the routes the request path indexes by `iss`.

use std::sync::Arc;

use crate::enforcer::{IssuerRoutes, Route};
use crate::error::Error;
use crate::issuer::Issuer;
use crate::token::{IssuerKeys, Verifier};

/// The routes of `own` (the builder's own issuer, on the live key set) and the trusted
/// `issuers`; `None` without trusted issuers. Issuers with a JWKS source fetch their keys
/// here: a failed first fetch fails the build.
pub(super) fn issuer_routes(
    own: Option<Verifier>,
    issuers: Vec<Issuer>,
    cache_capacity: usize,
) -> Result<Option<IssuerRoutes>, Error> {
    if issuers.is_empty() {
        return Ok(None);
    }
    let mut routes: Vec<Route> = own
        .map(|verifier| Route {
            verifier,
            keys: None,
            #[cfg(feature = "jwks")]
            jwks: None,
        })
        .into_iter()
        .collect();
    for issuer in issuers {
        let name = issuer.iss().unwrap_or("(tokens without iss)").to_owned();
        let keys = Arc::new(IssuerKeys::new(name, issuer.keys, cache_capacity));
        #[cfg(feature = "jwks")]
        let jwks = match issuer.jwks {
            Some(mut config) => {
                config.allow_plain_http = issuer.allow_plain_http;
                Some(crate::reload::jwks::start(config, &keys)?)
            }
            None => None,
        };
        routes.push(Route {
            verifier: Verifier {
                validation: issuer.validation,
                shape: issuer.shape,
            },
            keys: Some(keys),
            #[cfg(feature = "jwks")]
            jwks,
        });
    }
    IssuerRoutes::new(routes).map(Some).map_err(Error::Config)
}
