//! [`DenialBody`]: the response bodies a denial can be written into, so that
//! [`RequireRule`](crate::RequireRule) answers in the inner service's own body type.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::Full;
use http_body_util::combinators::{BoxBody, UnsyncBoxBody};

/// A response body that can carry a denial's bytes: the body type of the services that
/// [`RequireRule`](crate::RequireRule) and [`Enforcer::require`](crate::Enforcer::require)
/// guard.
///
/// Implemented for `Bytes`, `String`, `Vec<u8>`, `http_body_util`'s `Full<Bytes>`,
/// `BoxBody<Bytes, E>` and `UnsyncBoxBody<Bytes, E>`, axum's `Body` (feature `axum`) and
/// tonic's `Body` (feature `tonic`). Implement it for a body type of your own:
///
/// ```
/// use bytes::Bytes;
/// use tokenleader_rbac::response::DenialBody;
///
/// struct MyBody(Bytes);
///
/// impl DenialBody for MyBody {
///     fn from_denial(bytes: Bytes) -> Self {
///         MyBody(bytes)
///     }
/// }
/// ```
pub trait DenialBody: Sized {
    /// The body holding `bytes`, the denial's response body (empty for gRPC denials).
    fn from_denial(bytes: Bytes) -> Self;
}

impl DenialBody for Bytes {
    fn from_denial(bytes: Bytes) -> Self {
        bytes
    }
}

impl DenialBody for Vec<u8> {
    fn from_denial(bytes: Bytes) -> Self {
        bytes.into()
    }
}

impl DenialBody for String {
    fn from_denial(bytes: Bytes) -> Self {
        // The crate's denials are JSON; a custom deny response's bytes may not be UTF-8.
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl DenialBody for Full<Bytes> {
    fn from_denial(bytes: Bytes) -> Self {
        Full::new(bytes)
    }
}

impl<E: 'static> DenialBody for BoxBody<Bytes, E> {
    fn from_denial(bytes: Bytes) -> Self {
        Full::new(bytes)
            .map_err(|never: Infallible| match never {})
            .boxed()
    }
}

impl<E: 'static> DenialBody for UnsyncBoxBody<Bytes, E> {
    fn from_denial(bytes: Bytes) -> Self {
        Full::new(bytes)
            .map_err(|never: Infallible| match never {})
            .boxed_unsync()
    }
}

#[cfg(feature = "axum")]
impl DenialBody for axum::body::Body {
    fn from_denial(bytes: Bytes) -> Self {
        axum::body::Body::from(bytes)
    }
}

#[cfg(feature = "tonic")]
impl DenialBody for tonic::body::Body {
    fn from_denial(bytes: Bytes) -> Self {
        if bytes.is_empty() {
            return tonic::body::Body::empty();
        }
        tonic::body::Body::new(Full::new(bytes))
    }
}
