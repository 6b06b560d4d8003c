//! [`Verified`]: what the verifier makes of a good token, and what the verified-token cache
//! keeps.

use std::ops::Deref;
use std::sync::Arc;

use super::{AuthToken, IpBinding};
use crate::acl::DecisionMemo;
use crate::claims::{Claims, Confirmation};
use crate::dpop::Dpop;

/// A token that verified, and what it says, shared with the verified-token cache behind one
/// reference count: a cache hit on two cores at once touches one shared counter, not one per
/// part.
#[derive(Debug, Clone)]
pub(crate) struct Verified(Arc<VerifiedToken>);

/// The parts of a [`Verified`] token.
#[derive(Debug)]
pub(crate) struct VerifiedToken {
    pub(crate) claims: Arc<Claims>,
    pub(crate) token: AuthToken,
    /// The address the token is bound to, when its issuer binds tokens.
    pub(crate) ip_binding: Option<IpBinding>,
    /// The `kid` that chose the key, and the `iss`: for the decision's span.
    pub(crate) key_id: Option<Arc<str>>,
    pub(crate) issuer: Option<Arc<str>>,
    /// Its last decision, for the next request with the same map and rules.
    pub(crate) memo: DecisionMemo,
    /// What it is bound to (`cnf`), when its issuer bound it to a key or a certificate.
    pub(crate) confirmation: Option<Confirmation>,
    /// Its issuer's DPoP settings, when the issuer takes DPoP.
    pub(crate) dpop: Option<Arc<Dpop>>,
}

impl Verified {
    pub(crate) fn new(parts: VerifiedToken) -> Self {
        Verified(Arc::new(parts))
    }
}

impl Deref for Verified {
    type Target = VerifiedToken;

    fn deref(&self) -> &VerifiedToken {
        &self.0
    }
}
