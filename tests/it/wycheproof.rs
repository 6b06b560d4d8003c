//! Wycheproof test vectors (C2SP, Apache-2.0: tests/fixtures/wycheproof/LICENSE) through our
//! key loading and our signature check, and whole JWS tokens through our JWS verification.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::Value;
use tokenleader_rbac::keys::{KeyError, KeyType, SecretKey};
use tokenleader_rbac::{AclMap, Enforcer, PublicKey};

fn vectors(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/wycheproof/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The group's key, built three ways: from `n`/`e` as our JWK path does, from its JWK, and from
/// its PEM. All three must load alike.
fn group_keys(group: &Value) -> Result<Vec<PublicKey>, KeyError> {
    let n = hex(group["publicKey"]["modulus"].as_str().unwrap());
    let e = hex(group["publicKey"]["publicExponent"].as_str().unwrap());
    Ok(vec![
        PublicKey::from_rsa_components(&n, &e)?,
        PublicKey::from_jwk(&group["keyJwk"].to_string())?,
        PublicKey::from_pem(group["publicKeyPem"].as_str().unwrap().as_bytes())?,
    ])
}

/// Runs one file of RSASSA-PKCS1-v1_5 SHA-512 vectors; returns (checked, acceptable-accepted).
fn run_rsa_vectors(file: &str) -> (usize, Vec<u64>) {
    let data = vectors(file);
    let (mut checked, mut acceptable_accepted) = (0, Vec::new());
    for group in data["testGroups"].as_array().unwrap() {
        let keys = match group_keys(group) {
            Ok(keys) => keys,
            Err(error) => panic!(
                "{file}: key of group e={} refused: {error}",
                group["publicKey"]["publicExponent"]
            ),
        };
        for test in group["tests"].as_array().unwrap() {
            let msg = hex(test["msg"].as_str().unwrap());
            let sig = hex(test["sig"].as_str().unwrap());
            let id = test["tcId"].as_u64().unwrap();
            let verdicts: Vec<bool> = keys
                .iter()
                .map(|k| k.verify_signature(Algorithm::RS512, &msg, &sig))
                .collect();
            assert!(
                verdicts.windows(2).all(|w| w[0] == w[1]),
                "{file} #{id}: the key forms disagree"
            );
            match test["result"].as_str().unwrap() {
                "valid" => assert!(
                    verdicts[0],
                    "{file} #{id} ({}) valid but refused",
                    test["comment"]
                ),
                "invalid" => assert!(
                    !verdicts[0],
                    "{file} #{id} ({}) invalid but accepted",
                    test["comment"]
                ),
                _ => {
                    if verdicts[0] {
                        acceptable_accepted.push(id);
                    }
                }
            }
            checked += 1;
        }
    }
    (checked, acceptable_accepted)
}

#[test]
fn rsa_2048_sha512_vectors() {
    // Every valid signature is accepted and every invalid one refused, for the key loaded from
    // n/e, from JWK and from PEM. The group with public exponent 3 loads (it is odd and above 1)
    // and behaves like the others.
    //
    // `acceptable`: the one such vector (#8, a DigestInfo without its NULL parameter) is
    // refused: aws-lc-rs and RustCrypto both compare the whole encoded DigestInfo.
    let (checked, acceptable_accepted) = run_rsa_vectors("rsa_signature_2048_sha512_test.json");
    assert_eq!(checked, 259);
    assert!(
        acceptable_accepted.is_empty(),
        "accepted: {acceptable_accepted:?}"
    );
}

#[test]
fn rsa_4096_sha512_vectors() {
    let (checked, acceptable_accepted) = run_rsa_vectors("rsa_signature_4096_sha512_test.json");
    assert_eq!(checked, 259);
    assert!(
        acceptable_accepted.is_empty(),
        "accepted: {acceptable_accepted:?}"
    );
}

/// Valid in Wycheproof, refused by us on purpose: RFC 7520's Figure 20 token is signed with
/// PS384 by a key whose JWK declares `"alg": "PS256"`. We hold a key to the algorithm its JWK
/// declares (RFC 8725, section 3.1).
const REFUSED_ON_PURPOSE: [u64; 2] = [346, 350];

/// An enforcer that checks JWS with `key` (a private JWK: only the public members, `kid`,
/// `alg` and the usage members are read), allowing every algorithm of the key's type: the
/// key's own `alg` restricts it.
fn jws_enforcer(key: PublicKey) -> Enforcer {
    let algorithms = key.key_type().algorithms().to_vec();
    Enforcer::builder()
        .public_key(key)
        .algorithms(algorithms)
        .acl(AclMap::empty())
        .max_token_bytes(64 * 1024)
        .watch(false)
        .build()
        .unwrap()
}

#[test]
fn json_web_signature_vectors() {
    let data = vectors("json_web_signature_test.json");
    let (mut checked, mut ec_checked, mut other_checked, mut refused_on_purpose) = (0, 0, 0, 0);
    let mut refused_keys = Vec::new();
    // An RS512 enforcer with an unrelated key: tokens of keys we refuse go through it.
    let unrelated = jws_enforcer(
        PublicKey::from_pem(include_bytes!("../fixtures/test_keys/trusted_public.pem")).unwrap(),
    );
    for group in data["testGroups"].as_array().unwrap() {
        let jwk = &group["private"];
        let tests = group["tests"].as_array().unwrap();
        match PublicKey::from_jwk(&jwk.to_string()) {
            Ok(key) => {
                let is_ec = jwk["kty"] == "EC";
                let enforcer = jws_enforcer(key);
                for test in tests {
                    let jws = test["jws"].as_str().unwrap();
                    let outcome = enforcer.verify_jws(jws);
                    let id = test["tcId"].as_u64().unwrap();
                    match test["result"].as_str().unwrap() {
                        "valid" if REFUSED_ON_PURPOSE.contains(&id) => {
                            assert!(outcome.is_err(), "#{id}");
                            refused_on_purpose += 1;
                        }
                        "valid" => {
                            let payload = outcome.unwrap_or_else(|e| {
                                panic!("#{id} ({}) valid but refused: {e}", test["comment"])
                            });
                            let expected = URL_SAFE_NO_PAD
                                .decode(jws.split('.').nth(1).unwrap())
                                .unwrap();
                            assert_eq!(payload, expected, "#{id}");
                        }
                        _ => assert!(
                            outcome.is_err(),
                            "#{id} ({}) invalid but accepted",
                            test["comment"]
                        ),
                    }
                    checked += 1;
                    ec_checked += usize::from(is_ec);
                }
            }
            Err(error) => {
                // Refused at load: keys not for verifying (`use: enc`, `key_ops` without
                // verify: their groups hold only invalid tokens), HMAC secrets (`oct`: never a
                // public key) and P-521.
                let encryption = error.to_string().contains("not for verifying");
                let unsupported = matches!(error, KeyError::Unsupported(_));
                assert!(encryption || unsupported, "{error}");
                if encryption {
                    assert!(tests.iter().all(|t| t["result"] == "invalid"), "{error}");
                }
                for test in tests {
                    assert!(
                        unrelated.verify_jws(test["jws"].as_str().unwrap()).is_err(),
                        "#{}",
                        test["tcId"]
                    );
                    other_checked += 1;
                }
                refused_keys.push(error.to_string());
            }
        }
    }
    assert!(checked >= 340, "{checked} cases checked");
    assert_eq!(ec_checked, 39, "EC cases");
    assert_eq!(refused_keys.len(), 10, "{refused_keys:?}");
    assert!(other_checked >= 40, "{other_checked} cases of refused keys");
    assert_eq!(refused_on_purpose, REFUSED_ON_PURPOSE.len());
}

/// Runs one file of vectors whose groups carry their key as PEM, JWK and raw bytes, through
/// each of our key forms and our signature check: every `valid` accepted, every `invalid`
/// refused, the forms agreeing. Returns how many were checked.
fn run_vectors(
    file: &str,
    algorithm: Algorithm,
    raw_key: impl Fn(&Value) -> Result<PublicKey, KeyError>,
) -> usize {
    let data = vectors(file);
    let mut checked = 0;
    for group in data["testGroups"].as_array().unwrap() {
        // Some groups have no JWK (keys JWK cannot express): the other forms are checked.
        let jwk = Some(&group["publicKeyJwk"]).filter(|jwk| !jwk.is_null());
        let keys: Vec<PublicKey> = [
            Some(raw_key(&group["publicKey"])),
            Some(PublicKey::from_pem(
                group["publicKeyPem"].as_str().unwrap().as_bytes(),
            )),
            jwk.map(|jwk| PublicKey::from_jwk(&jwk.to_string())),
        ]
        .into_iter()
        .flatten()
        .map(|key| key.unwrap_or_else(|e| panic!("{file}: a key refused: {e}")))
        .collect();
        assert!(keys.windows(2).all(|w| w[0].key_type() == w[1].key_type()));
        for test in group["tests"].as_array().unwrap() {
            let msg = hex(test["msg"].as_str().unwrap());
            let sig = hex(test["sig"].as_str().unwrap());
            let id = test["tcId"].as_u64().unwrap();
            let verdicts: Vec<bool> = keys
                .iter()
                .map(|k| k.verify_signature(algorithm, &msg, &sig))
                .collect();
            assert!(
                verdicts.windows(2).all(|w| w[0] == w[1]),
                "{file} #{id}: the key forms disagree"
            );
            let expected = match test["result"].as_str().unwrap() {
                "valid" => true,
                "invalid" => false,
                other => panic!("{file} #{id}: result {other}"),
            };
            assert_eq!(verdicts[0], expected, "{file} #{id} ({})", test["comment"]);
            // A key never checks an algorithm of another type.
            assert!(!keys[0].verify_signature(Algorithm::RS256, &msg, &sig));
            checked += 1;
        }
    }
    checked
}

fn ec_point(curve: KeyType) -> impl Fn(&Value) -> Result<PublicKey, KeyError> {
    move |key| PublicKey::from_ec_point(curve, &hex(key["uncompressed"].as_str().unwrap()))
}

#[test]
fn ecdsa_p256_vectors() {
    let checked = run_vectors(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        Algorithm::ES256,
        ec_point(KeyType::EcP256),
    );
    assert_eq!(checked, 262);
}

#[test]
fn ecdsa_p384_vectors() {
    let checked = run_vectors(
        "ecdsa_secp384r1_sha384_p1363_test.json",
        Algorithm::ES384,
        ec_point(KeyType::EcP384),
    );
    assert_eq!(checked, 280);
}

#[test]
fn ed25519_vectors() {
    let checked = run_vectors("ed25519_test.json", Algorithm::EdDSA, |key| {
        PublicKey::from_ed25519_bytes(&hex(key["pk"].as_str().unwrap()))
    });
    assert_eq!(checked, 151);
}

/// HMAC vectors through a `SecretKey`: secrets under the minimum are refused at load, full
/// tags decided as Wycheproof says, truncated tags always refused (JWS never truncates).
fn run_hmac(file: &str, algorithm: Algorithm, tag_bits: u64) -> (usize, usize) {
    let data = vectors(file);
    let (mut checked, mut short_keys) = (0, 0);
    for group in data["testGroups"].as_array().unwrap() {
        let full_tag = group["tagSize"].as_u64() == Some(tag_bits);
        for test in group["tests"].as_array().unwrap() {
            let key = hex(test["key"].as_str().unwrap());
            let Ok(secret) = SecretKey::from_bytes(&key) else {
                assert!(key.len() < tokenleader_rbac::keys::MIN_SECRET_BYTES);
                short_keys += 1;
                continue;
            };
            let msg = hex(test["msg"].as_str().unwrap());
            let tag = hex(test["tag"].as_str().unwrap());
            let id = test["tcId"].as_u64().unwrap();
            let accepted = secret.verify_signature(algorithm, &msg, &tag);
            let expected = full_tag && test["result"] == "valid";
            assert_eq!(accepted, expected, "{file} #{id} ({})", test["comment"]);
            assert!(!secret.verify_signature(Algorithm::RS256, &msg, &tag));
            checked += 1;
        }
    }
    (checked, short_keys)
}

#[test]
fn hmac_vectors() {
    assert_eq!(
        run_hmac("hmac_sha256_test.json", Algorithm::HS256, 256),
        (168, 6)
    );
    assert_eq!(
        run_hmac("hmac_sha384_test.json", Algorithm::HS384, 384),
        (168, 6)
    );
    assert_eq!(
        run_hmac("hmac_sha512_test.json", Algorithm::HS512, 512),
        (174, 0)
    );
}
