//! Certificate-bound tokens (RFC 8705): a token whose `cnf` holds `x5t#S256`, the SHA-256
//! hash of a client certificate, is let through only when the request's client certificate
//! hashes to it. A token stolen from its client is of no use without the client's private key.
//!
//! The certificate comes from one [`CertificateSource`], chosen with
//! [`EnforcerBuilder::client_certificates`](crate::EnforcerBuilder::client_certificates):
//!
//! - [`CertificateSource::Tls`]: the service terminates TLS itself and its accept loop puts the
//!   peer's [`ClientCertificate`] into each request's extensions (see
//!   `examples/mtls.rs`; for tonic, read `TlsConnectInfo::peer_certs()` in a layer);
//! - [`CertificateSource::EnvoyXfcc`]: Envoy's `X-Forwarded-Client-Cert` (its `Hash`, or
//!   its `Cert`), from [trusted proxies](crate::EnforcerBuilder::trusted_proxies) only;
//! - [`CertificateSource::EscapedPem`]: a header a proxy fills with the URL-escaped PEM
//!   certificate (nginx's `$ssl_client_escaped_cert`), from trusted proxies only.
//!
//! A header from any other peer is ignored: any client can send one. A certificate-bound
//! token with no certificate, or with another, is a 401; so is one on an enforcer with no
//! certificate source. Tokens without `x5t#S256` are not affected.
//!
//! ```
//! use tokenleader_rbac::mtls::ClientCertificate;
//!
//! // What an accept loop inserts after the TLS handshake (here, stand-in bytes):
//! let certificate = ClientCertificate::from_der(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
//! assert_eq!(certificate.thumbprint(), "G2X2ilIshYcV9d2VHNBALcFmkXeIFL8HWYIreiV0IdA");
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, HeaderName};
use sha2::Digest as _;

use crate::token::TokenError;

/// The client certificate of a request's TLS connection, DER: the accept loop inserts it into
/// the request extensions for [`CertificateSource::Tls`].
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate(Bytes);

impl ClientCertificate {
    /// The leaf certificate the client presented, DER-encoded.
    pub fn from_der(der: impl Into<Bytes>) -> Self {
        ClientCertificate(der.into())
    }

    /// Its DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.0
    }

    /// Its SHA-256 thumbprint, base64url: what a bound token names in `cnf["x5t#S256"]`.
    pub fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&self.0))
    }
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

/// Where the enforcer finds a request's client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateSource {
    /// A [`ClientCertificate`] in the request extensions, put there by the service's own TLS.
    Tls,
    /// Envoy's `X-Forwarded-Client-Cert` with one element (`forward_client_cert_details:
    /// SANITIZE_SET`), from trusted proxies only: its `Hash`, else its `Cert`.
    EnvoyXfcc,
    /// A header holding the URL-escaped PEM certificate, from trusted proxies only (nginx:
    /// `proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`).
    EscapedPem(HeaderName),
}

/// The parts of a request a certificate is read from.
pub(crate) struct CertificateCarrier<'r> {
    pub(crate) extensions: Option<&'r http::Extensions>,
    pub(crate) headers: &'r HeaderMap,
}

impl CertificateSource {
    /// The thumbprint of the request's client certificate; `trusted_peer`: the peer is a
    /// trusted proxy. A refusal when there is none, or a proxy header is unreadable.
    pub(crate) fn thumbprint(
        &self,
        request: &CertificateCarrier<'_>,
        trusted_peer: bool,
    ) -> Result<String, TokenError> {
        let none = || TokenError::NoClientCertificate;
        match self {
            CertificateSource::Tls => request
                .extensions
                .and_then(|extensions| extensions.get::<ClientCertificate>())
                .map(ClientCertificate::thumbprint)
                .ok_or_else(none),
            _ if !trusted_peer => Err(none()),
            CertificateSource::EnvoyXfcc => {
                let value = single_header(request.headers, "x-forwarded-client-cert")?;
                xfcc_thumbprint(value).ok_or(TokenError::Malformed(
                    "X-Forwarded-Client-Cert holds no single element with `Hash` or `Cert`".into(),
                ))
            }
            CertificateSource::EscapedPem(name) => {
                let value = single_header(request.headers, name.as_str())?;
                escaped_pem_der(value)
                    .map(|der| ClientCertificate::from_der(der).thumbprint())
                    .ok_or(TokenError::Malformed(
                        "the client certificate header is not a URL-escaped PEM certificate".into(),
                    ))
            }
        }
    }
}

/// The value of a header sent once, as text; `NoClientCertificate` when it is absent.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, TokenError> {
    let mut values = headers.get_all(name).iter();
    let value = values.next().ok_or(TokenError::NoClientCertificate)?;
    if values.next().is_some() {
        return Err(TokenError::Ambiguous(
            "the client certificate header is sent more than once",
        ));
    }
    value
        .to_str()
        .map_err(|_| TokenError::Malformed("the client certificate header is not text".into()))
}

/// The DER of a URL-escaped PEM certificate.
fn escaped_pem_der(value: &str) -> Option<Vec<u8>> {
    let pem_text = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .ok()?;
    let block = pem::parse(pem_text.as_bytes()).ok()?;
    (block.tag() == "CERTIFICATE").then(|| block.into_contents())
}

/// The thumbprint in an XFCC value of one element: its `Hash` (hex SHA-256 of the DER), else
/// the hash of its `Cert` (URL-escaped PEM).
fn xfcc_thumbprint(value: &str) -> Option<String> {
    let elements = split_unquoted(value, ',');
    let [element] = elements.as_slice() else {
        return None;
    };
    let mut hash = None;
    let mut cert = None;
    for pair in split_unquoted(element, ';') {
        let (name, value) = pair.split_once('=')?;
        let value = unquote(value.trim());
        match name.trim().to_ascii_lowercase().as_str() {
            "hash" => hash = Some(value),
            "cert" => cert = Some(value),
            _ => {}
        }
    }
    if let Some(hash) = hash {
        let digest = hex_bytes(&hash)?;
        return (digest.len() == 32).then(|| URL_SAFE_NO_PAD.encode(digest));
    }
    escaped_pem_der(&cert?).map(|der| ClientCertificate::from_der(der).thumbprint())
}

/// `text` split at `separator` outside double quotes (a quoted `Subject` holds commas).
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A value without its surrounding quotes and with `\"` unescaped.
fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\""),
        None => value.to_owned(),
    }
}

/// Hexadecimal text as bytes.
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xfcc_gives_its_hash_or_the_hash_of_its_cert_and_refuses_two_elements() {
        let der = [0x30, 0x03, 0x02, 0x01, 0x01];
        let expected = ClientCertificate::from_der(der.to_vec()).thumbprint();
        let hex: String = sha2::Sha256::digest(der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let by_hash = format!(r#"By=spiffe://a;Hash={hex};Subject="CN=x, O=y, OU=z";URI=s"#);
        assert_eq!(xfcc_thumbprint(&by_hash).as_deref(), Some(&*expected));
        let pem = pem::encode(&pem::Pem::new("CERTIFICATE", der.to_vec()));
        let escaped =
            percent_encoding::utf8_percent_encode(&pem, percent_encoding::NON_ALPHANUMERIC);
        let by_cert = format!(r#"By=spiffe://a;Cert="{escaped}""#);
        assert_eq!(xfcc_thumbprint(&by_cert).as_deref(), Some(&*expected));
        assert_eq!(xfcc_thumbprint(&format!("{by_hash},{by_hash}")), None);
        assert_eq!(xfcc_thumbprint("By=spiffe://a"), None);
        assert_eq!(xfcc_thumbprint("Hash=zz"), None);
    }
}
