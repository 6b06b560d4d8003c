//! PEM public keys: PKCS#1 (`BEGIN RSA PUBLIC KEY`) and SPKI (`BEGIN PUBLIC KEY`).

use super::{KeyError, PublicKey};

impl PublicKey {
    /// Loads a PEM public key: PKCS#1 (`BEGIN RSA PUBLIC KEY`) or SPKI (`BEGIN PUBLIC KEY`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let pem_error = |message: String| KeyError::format("PEM", message);
        let blocks = pem::parse_many(pem).map_err(|e| pem_error(e.to_string()))?;
        let block = match blocks.as_slice() {
            [block] => block,
            [] => return Err(pem_error("no PEM block found".into())),
            _ => {
                return Err(pem_error(
                    "more than one PEM block: give exactly one key".into(),
                ));
            }
        };
        let pkcs1_der = match block.tag() {
            "RSA PUBLIC KEY" => block.contents(),
            "PUBLIC KEY" => {
                let spki = spki::SubjectPublicKeyInfoRef::try_from(block.contents())
                    .map_err(|e| pem_error(format!("not a valid SubjectPublicKeyInfo: {e}")))?;
                if spki.algorithm.oid != pkcs1::ALGORITHM_OID {
                    return Err(KeyError::NotRsa(spki.algorithm.oid.to_string()));
                }
                spki.subject_public_key
                    .as_bytes()
                    .ok_or_else(|| pem_error("public key bit string is not byte aligned".into()))?
            }
            other => {
                return Err(pem_error(format!(
                    "`BEGIN {other}` is not a public key: expected `BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`"
                )));
            }
        };
        let rsa = pkcs1::RsaPublicKeyRef::try_from(pkcs1_der)
            .map_err(|e| pem_error(format!("not a valid PKCS#1 RSA public key: {e}")))?;
        Self::from_rsa_components(rsa.modulus.as_bytes(), rsa.public_exponent.as_bytes())
    }
}
