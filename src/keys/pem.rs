//! PEM public keys: PKCS#1 (`BEGIN RSA PUBLIC KEY`) and SPKI (`BEGIN PUBLIC KEY`: RSA, EC
//! P-256/P-384, Ed25519).

use spki::ObjectIdentifier;

use super::{KeyError, KeyType, PublicKey};

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

impl PublicKey {
    /// Loads a PEM public key: PKCS#1 (`BEGIN RSA PUBLIC KEY`) or SPKI (`BEGIN PUBLIC KEY`)
    /// of an RSA, EC (P-256, P-384) or Ed25519 key.
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
                let key = spki
                    .subject_public_key
                    .as_bytes()
                    .ok_or_else(|| pem_error("public key bit string is not byte aligned".into()))?;
                match spki.algorithm.oid {
                    oid if oid == pkcs1::ALGORITHM_OID => key,
                    oid if oid == EC_PUBLIC_KEY => {
                        let curve = match spki.algorithm.parameters_oid() {
                            Ok(P256) => KeyType::EcP256,
                            Ok(P384) => KeyType::EcP384,
                            Ok(other) => {
                                return Err(KeyError::Unsupported(format!("EC curve {other}")));
                            }
                            Err(_) => return Err(pem_error("an EC key without its curve".into())),
                        };
                        return Self::from_ec_point(curve, key);
                    }
                    oid if oid == ED25519 => return Self::from_ed25519_bytes(key),
                    other => return Err(KeyError::Unsupported(other.to_string())),
                }
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
