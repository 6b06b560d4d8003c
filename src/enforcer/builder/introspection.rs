//! The builder's introspection endpoint (feature `introspection`).

use std::sync::Arc;

use super::EnforcerBuilder;
use crate::error::Error;
use crate::introspection::{Introspection, Introspector};

impl EnforcerBuilder {
    /// Verifies opaque tokens by asking their issuer (see
    /// [`introspection`](crate::introspection)). Beside keys, only tokens that do not look
    /// like JWTs are sent; without keys, every token is.
    #[cfg_attr(docsrs, doc(cfg(feature = "introspection")))]
    pub fn introspection(mut self, introspection: Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }

    pub(super) fn has_introspection(&self) -> bool {
        self.introspection.is_some()
    }

    /// Starts the introspection thread, when an endpoint is configured.
    pub(super) fn start_introspection(&mut self) -> Result<Option<Arc<Introspector>>, Error> {
        match self.introspection.take() {
            Some(config) => {
                { Introspector::start(config, self.token_cache, self.validation.max_token_bytes) }
                    .map(Some)
                    .map_err(Error::Config)
            }
            None => Ok(None),
        }
    }
}
