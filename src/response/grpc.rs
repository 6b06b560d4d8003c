//! [`GrpcDenyResponse`]: denials as gRPC answers (HTTP 200 with `grpc-status` and
//! `grpc-message`), the enforcer's default for requests whose content type is
//! `application/grpc`.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::{Denial, DenyResponse};

/// Denials as gRPC answers: HTTP 200, `content-type: application/grpc`, an empty body, and
/// the status in `grpc-status` with the reason in `grpc-message`:
///
/// | denial | HTTP equivalent | `grpc-status` |
/// | --- | --- | --- |
/// | no usable token | 401 | 16 `UNAUTHENTICATED` |
/// | no role grants the rule | 403 | 7 `PERMISSION_DENIED` |
/// | revocation store or introspection endpoint down | 503 | 14 `UNAVAILABLE` |
/// | misconfigured server, clock before 1970 | 500 | 13 `INTERNAL` |
///
/// The enforcer answers this way by itself for requests whose content type starts with
/// `application/grpc`; give it to
/// [`EnforcerBuilder::deny_response`](crate::EnforcerBuilder::deny_response) to answer every
/// denial this way.
///
/// ```
/// use tokenleader_rbac::response::{Denial, DenyResponse, GrpcDenyResponse};
/// use tokenleader_rbac::token::TokenError;
///
/// let response = GrpcDenyResponse.respond(&Denial::Unauthenticated(TokenError::Expired));
/// assert_eq!(response.status(), http::StatusCode::OK);
/// assert_eq!(response.headers()["grpc-status"], "16");
/// assert_eq!(response.headers()["grpc-message"], "token has expired");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcDenyResponse;

impl DenyResponse for GrpcDenyResponse {
    fn respond(&self, denial: &Denial) -> Response<Bytes> {
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(&GRPC_STATUS, HeaderValue::from_static(grpc_code(denial)));
        let message = utf8_percent_encode(&denial.to_string(), GRPC_MESSAGE_ESCAPED).to_string();
        // Percent-encoded text is always a valid header value.
        if let Ok(message) = HeaderValue::from_str(&message) {
            headers.insert(&GRPC_MESSAGE, message);
        }
        response
    }
}

/// Whether a request is a gRPC call: its content type is `application/grpc`, with or
/// without a `+format` suffix (gRPC-Web's `application/grpc-web` too).
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

/// The gRPC status code of a denial, by its HTTP status.
fn grpc_code(denial: &Denial) -> &'static str {
    match denial.status() {
        StatusCode::UNAUTHORIZED => "16",
        StatusCode::FORBIDDEN => "7",
        StatusCode::SERVICE_UNAVAILABLE => "14",
        _ => "13",
    }
}

static GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
static GRPC_MESSAGE: http::HeaderName = http::HeaderName::from_static("grpc-message");

/// The gRPC spec's `grpc-message` encoding: every byte outside printable ASCII, and `%`.
const GRPC_MESSAGE_ESCAPED: &AsciiSet = &CONTROLS.add(b'%');

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenError;

    #[test]
    fn every_denial_has_its_grpc_code() {
        let forbidden = Denial::Forbidden {
            rule: "hello.say".into(),
            username: "user1".into(),
        };
        let cases = [
            (Denial::Unauthenticated(TokenError::Missing), "16"),
            (forbidden, "7"),
            (Denial::RevocationUnavailable, "14"),
            (Denial::IntrospectionUnavailable, "14"),
            (Denial::NoEnforcer, "13"),
            (Denial::ClockBeforeEpoch, "13"),
        ];
        for (denial, code) in cases {
            let response = GrpcDenyResponse.respond(&denial);
            assert_eq!(response.status(), StatusCode::OK, "{denial:?}");
            assert_eq!(response.headers()["grpc-status"], code, "{denial:?}");
            assert_eq!(response.headers()["content-type"], "application/grpc");
            assert!(response.body().is_empty());
        }
    }

    #[test]
    fn the_message_is_percent_encoded_as_grpc_asks() {
        let denial = Denial::Forbidden {
            rule: "100% ü".into(),
            username: "u".into(),
        };
        let response = GrpcDenyResponse.respond(&denial);
        assert_eq!(
            response.headers()["grpc-message"],
            "none of your roles grants rule `100%25 %C3%BC`"
        );
    }

    #[test]
    fn grpc_requests_are_told_by_their_content_type() {
        let mut headers = HeaderMap::new();
        assert!(!is_grpc(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert!(!is_grpc(&headers));
        for grpc in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc-web",
        ] {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(grpc));
            assert!(is_grpc(&headers), "{grpc}");
        }
    }
}
