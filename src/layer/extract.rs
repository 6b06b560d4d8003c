//! axum extractors for [`Identity`], [`Wfc`], [`AuthToken`], [`RequestContext`] and
//! [`Authorized`] (feature `axum`).
//!
//! ```
//! use axum::{Router, routing::get};
//! use tokenleader_rbac::{Identity, RequireRule, Wfc};
//!
//! async fn entries(wfc: Wfc, who: Identity) -> String {
//!     format!("{} sees {}", who.username, wfc.org)
//! }
//!
//! // `Option<Wfc>` never rejects: `None` when no RequireRule ran.
//! async fn maybe(wfc: Option<Wfc>) -> String {
//!     wfc.map(|wfc| wfc.org.to_string()).unwrap_or_default()
//! }
//!
//! let routes: Router = Router::new()
//!     .route("/entries", get(entries).route_layer(RequireRule("micros1.entries.list")))
//!     .route("/maybe", get(maybe));
//! ```
//!
//! Each reads its part of the one value [`RequireRule`](crate::RequireRule) puts into the
//! request extensions, [`Authorized`] (take `Authorized` itself for the claims whole). On a
//! route without it they reject with [`MissingRequireRule`]: a 500 that names the missing
//! layer, because that is a mistake in the service, not in the request. (Behind
//! [`Authenticate`](crate::layer::Authenticate), an anonymous caller has no `Identity`, `Wfc` or
//! `AuthToken`: take `Option<…>` there.)

use std::convert::Infallible;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::claims::{Identity, Wfc};
use crate::enforcer::{Authorized, RequestContext};
use crate::response::{Denial, DenyResponse, JsonDenyResponse, json_response};
use crate::token::AuthToken;

/// The rejection of the [`Identity`] and [`Wfc`] extractors on a route that has no
/// [`RequireRule`](crate::RequireRule): 500, with a message that names the missing layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the {extractor} extractor needs RequireRule on its route: add `.route_layer(RequireRule(\"rule\"))`"
)]
pub struct MissingRequireRule {
    extractor: &'static str,
}

impl MissingRequireRule {
    /// The status it answers with: 500, a mistake of the service, not of the request.
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// The message of its body, which names the missing layer.
    pub fn body_text(&self) -> String {
        self.to_string()
    }
}

impl IntoResponse for MissingRequireRule {
    fn into_response(self) -> Response {
        tracing::error!("{self}");
        json_response(self.status(), "error", &self.body_text(), None, |_| {})
            .map(axum::body::Body::from)
            .into_response()
    }
}

/// A denial as the default JSON response ([`JsonDenyResponse`]), for `from_fn` middleware
/// that calls [`Enforcer::authorize`](crate::Enforcer::authorize). It knows no enforcer: for
/// the builder's deny response and the challenges it adds (`resource_metadata`, `DPoP`),
/// answer with [`Enforcer::deny_response`](crate::Enforcer::deny_response) instead.
///
/// ```
/// use axum::{extract::Request, middleware::Next, response::{IntoResponse, Response}};
/// use tokenleader_rbac::Enforcer;
///
/// async fn guard(enforcer: Enforcer, request: Request, next: Next) -> Response {
///     match enforcer.authorize(request.headers(), "micros1.entries.list") {
///         Ok(_claims) => next.run(request).await,
///         Err(denial) => denial.into_response(),
///     }
/// }
/// ```
impl IntoResponse for Denial {
    fn into_response(self) -> Response {
        JsonDenyResponse
            .respond(&self)
            .map(axum::body::Body::from)
            .into_response()
    }
}

/// An extractor of the part `$part` of the request's [`Authorized`] record.
macro_rules! record_extractor {
    ($type:ident, $part:expr) => {
        impl<S: Send + Sync> FromRequestParts<S> for $type {
            type Rejection = MissingRequireRule;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Self, Self::Rejection> {
                parts
                    .extensions
                    .get::<Authorized>()
                    .and_then($part)
                    .cloned()
                    .ok_or(MissingRequireRule {
                        extractor: stringify!($type),
                    })
            }
        }

        impl<S: Send + Sync> OptionalFromRequestParts<S> for $type {
            type Rejection = Infallible;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Option<Self>, Self::Rejection> {
                let authorized = parts.extensions.get::<Authorized>();
                Ok(authorized.and_then($part).cloned())
            }
        }
    };
}

record_extractor!(Identity, Authorized::identity);
record_extractor!(Wfc, Authorized::wfc);
// The token RequireRule verified, to forward to the next service.
record_extractor!(AuthToken, Authorized::token);
record_extractor!(RequestContext, |authorized: &Authorized| Some(
    authorized.context()
));
record_extractor!(Authorized, Some);
