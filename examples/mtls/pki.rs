//! A throwaway public key infrastructure for the example and its test: a CA, a server
//! certificate for `localhost`, and client certificates it issues.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The CA and the server's certificate and key.
pub struct Pki {
    /// The CA certificate, PEM: clients trust it for the server, the server for clients.
    pub ca_pem: String,
    pub ca_der: CertificateDer<'static>,
    /// The server's certificate and the CA's.
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key: PrivateKeyDer<'static>,
    ca: Issuer<'static, KeyPair>,
}

/// A client's certificate and key.
pub struct ClientIdentity {
    /// The certificate, DER: what a bound token names.
    pub der: Vec<u8>,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
}

/// Certificate parameters with their own subject name (rcgen's default is the same for all,
/// which makes every certificate look self-signed).
fn params(common_name: &str, names: &[&str]) -> Result<CertificateParams, rcgen::Error> {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let mut params = CertificateParams::new(names)?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    Ok(params)
}

impl Pki {
    /// A new CA and server certificate.
    pub fn generate() -> Result<Self, rcgen::Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = params("tokenleader-rbac example CA", &[])?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate()?;
        let server = params("localhost", &["localhost"])?.signed_by(&server_key, &ca)?;
        Ok(Pki {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            server_chain: vec![server.der().clone(), ca_cert.der().clone()],
            server_key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            ca,
        })
    }

    /// A client certificate the CA issues to `name`.
    pub fn client(&self, name: &str) -> Result<ClientIdentity, rcgen::Error> {
        let key = KeyPair::generate()?;
        let certificate = params(name, &[name])?.signed_by(&key, &self.ca)?;
        Ok(ClientIdentity {
            der: certificate.der().to_vec(),
            cert_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}
