//! Why an HTTP call failed, in words: its kind (timed out, cannot connect, the answer broke
//! off) and its innermost cause ("Connection refused (os error 111)", a TLS error's own
//! words), never reqwest's bare "error sending request", and never the URL (a query-form
//! introspection URL holds the token). Used by every call the crate makes.

use crate::escape::untrusted;

/// What went wrong with a call, by its innermost cause ("Connection refused (os error 111)",
/// "invalid peer certificate: UnknownIssuer") and its kind; never the URL (a query-form
/// introspection URL holds the token).
pub(crate) fn cause(error: &reqwest::Error) -> String {
    let innermost = innermost(error);
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "the call failed"
    };
    match innermost {
        Some(cause) if error.is_timeout() && cause.contains("timed out") => kind.to_owned(),
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_owned(),
    }
}

/// The innermost cause of `error` alone, escaped: what a caller that says the kind itself
/// adds ("cannot connect to the tokenleader server: Connection refused (os error 111)").
pub(crate) fn innermost(error: &reqwest::Error) -> Option<String> {
    let mut innermost = None;
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(cause) = source {
        innermost = Some(untrusted(&cause.to_string(), 200));
        source = cause.source();
    }
    innermost
}
