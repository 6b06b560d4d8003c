//! [`Verified`]: what the verifier makes of a good token, and what the verified-token cache
//! keeps.

use std::sync::Arc;

use super::{AuthToken, IpBinding};
use crate::claims::Claims;

/// A token that verified, and what it says. Cheap to clone: two reference counts, shared with
/// the verified-token cache.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub(crate) claims: Arc<Claims>,
    pub(crate) token: AuthToken,
    /// The address the token is bound to, when its issuer binds tokens.
    pub(crate) ip_binding: Option<IpBinding>,
    /// The `kid` that chose the key, and the `iss`: for the decision's span.
    pub(crate) key_id: Option<Arc<str>>,
    pub(crate) issuer: Option<Arc<str>>,
}
