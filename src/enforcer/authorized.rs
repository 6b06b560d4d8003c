//! [`Authorized`]: the one value an allowed request carries in its extensions, the decision's
//! record: the verified claims and token, and the request's context.

use std::fmt;
use std::sync::Arc;

use super::RequestContext;
use crate::claims::{Claims, Identity, Wfc};
use crate::token::{AuthToken, Verified};

/// What `RequireRule` (or `Authenticate`) put into the request extensions when it let a
/// request through: the verified claims and the very token that was verified (none for an
/// anonymous caller of optional authentication), and the request's context. One value; the
/// axum extractors ([`Identity`], [`Wfc`], [`AuthToken`], [`RequestContext`],
/// and `Authorized` itself) and `GrpcRequestExt` read their part of it. Without axum, read it
/// from the request:
///
/// ```
/// use tokenleader_rbac::Authorized;
///
/// fn caller(request: &http::Request<()>) -> Option<String> {
///     let authorized = request.extensions().get::<Authorized>()?;
///     Some(authorized.identity()?.username.to_string())
/// }
/// # assert_eq!(caller(&http::Request::new(())), None);
/// ```
#[derive(Clone)]
pub struct Authorized {
    /// The verified token, shared with the verified-token cache; `None`: anonymous.
    verified: Option<Verified>,
    context: RequestContext,
}

impl Authorized {
    pub(crate) fn new(verified: Option<Verified>, context: RequestContext) -> Self {
        Authorized { verified, context }
    }

    /// The verified claims; `None` for an anonymous caller.
    pub fn claims(&self) -> Option<&Arc<Claims>> {
        self.verified.as_ref().map(|verified| &verified.claims)
    }

    /// The caller; `None` for an anonymous caller.
    pub fn identity(&self) -> Option<&Identity> {
        self.claims().map(|claims| &claims.identity)
    }

    /// The caller's work function context; `None` for an anonymous caller.
    pub fn wfc(&self) -> Option<&Wfc> {
        self.claims().map(|claims| &claims.wfc)
    }

    /// The token that was verified, to forward to the next service; `None` for an
    /// anonymous caller.
    pub fn token(&self) -> Option<&AuthToken> {
        self.verified.as_ref().map(|verified| &verified.token)
    }

    /// The request's id, the time of the decision and the client's address.
    pub fn context(&self) -> &RequestContext {
        &self.context
    }
}

impl fmt::Debug for Authorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token stays out: `AuthToken`'s own `Debug` hides it, but it is not needed here.
        f.debug_struct("Authorized")
            .field("claims", &self.claims())
            .field("context", self.context())
            .finish()
    }
}
