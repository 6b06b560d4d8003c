//! Key loading: every accepted form, and the keys that must be refused at load.

use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use tokenleader_rbac::test_util::TestIssuer;
use tokenleader_rbac::{Enforcer, PublicKey, keys::KeyError};

fn ssh_line() -> String {
    fixture("tokenleader/tokenleader_public_key.ssh-rsa.pub")
        .trim()
        .to_owned()
}

fn ssh_blob() -> Vec<u8> {
    STANDARD
        .decode(ssh_line().split(' ').nth(1).unwrap())
        .unwrap()
}

fn trusted_modulus() -> Vec<u8> {
    let jwk: serde_json::Value =
        serde_json::from_str(&fixture("test_keys/trusted_public.jwk.json")).unwrap();
    URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap()
}

/// An enforcer that trusts `key`, with the fixture ACL and the clock at [`NOW`].
fn trusting(key: PublicKey) -> Enforcer {
    Enforcer::builder()
        .public_key(key)
        .acl(fixture_acl())
        .clock(at(NOW))
        .build()
        .unwrap()
}

#[test]
fn openssh_line_without_comment_loads() {
    let line = ssh_line();
    let without_comment = line.rsplit_once(' ').unwrap().0;
    assert_eq!(
        PublicKey::from_openssh(without_comment).unwrap().bits(),
        2048
    );
}

#[test]
fn openssh_non_rsa_type_is_refused() {
    let error = PublicKey::from_openssh(&fixture("test_keys/ed25519.pub")).unwrap_err();
    assert!(
        matches!(&error, KeyError::NotRsa(kind) if kind == "ssh-ed25519"),
        "{error}"
    );
}

#[test]
fn openssh_two_keys_on_one_line_are_refused() {
    let line = ssh_line();
    let error = PublicKey::from_openssh(&format!("{line} {line}")).unwrap_err();
    assert!(error.to_string().contains("more than one key"), "{error}");
}

#[test]
fn openssh_two_lines_are_refused() {
    let line = ssh_line();
    let error = PublicKey::from_openssh(&format!("{line}\n{line}\n")).unwrap_err();
    assert!(error.to_string().contains("more than one line"), "{error}");
}

#[test]
fn openssh_trailing_bytes_in_the_blob_are_refused() {
    let mut blob = ssh_blob();
    blob.extend_from_slice(b"\x00\x00\x00\x04junk");
    let error = PublicKey::from_openssh(&format!("ssh-rsa {}", STANDARD.encode(blob))).unwrap_err();
    assert!(error.to_string().contains("trailing bytes"), "{error}");
}

#[test]
fn openssh_trailing_garbage_in_the_base64_is_refused() {
    let line = ssh_line();
    let (kind_and_blob, _) = line.rsplit_once(' ').unwrap();
    let error = PublicKey::from_openssh(&format!("{kind_and_blob}!!garbage")).unwrap_err();
    assert!(error.to_string().contains("not valid base64"), "{error}");
}

#[test]
fn openssh_truncated_blob_is_refused() {
    let blob = ssh_blob();
    let error = PublicKey::from_openssh(&format!(
        "ssh-rsa {}",
        STANDARD.encode(&blob[..blob.len() - 10])
    ))
    .unwrap_err();
    assert!(error.to_string().contains("truncated"), "{error}");
}

#[test]
fn openssh_blob_of_another_type_is_refused() {
    let mut blob = ssh_blob();
    blob[4..11].copy_from_slice(b"ssh-dss");
    let error = PublicKey::from_openssh(&format!("ssh-rsa {}", STANDARD.encode(blob))).unwrap_err();
    assert!(
        error.to_string().contains("does not hold an ssh-rsa key"),
        "{error}"
    );
}

#[test]
fn openssh_empty_input_is_refused() {
    assert!(PublicKey::from_openssh("  \n").is_err());
    assert!(PublicKey::from_openssh("ssh-rsa").is_err());
}

#[test]
fn rsa_under_2048_bits_is_refused() {
    let error =
        PublicKey::from_pem(fixture("test_keys/small_1024_public.pem").as_bytes()).unwrap_err();
    assert!(
        matches!(error, KeyError::TooSmall { bits: 1024 }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "RSA key of 1024 bits refused: at least 2048 bits are required"
    );
}

#[test]
fn the_largest_rsa_key_accepted_verifies_its_tokens() {
    // 8,192 bits: its 1,024-byte signatures are the longest a token may carry.
    let public = fixture("test_keys/largest8192_public.pem");
    let key = PublicKey::from_pem(public.as_bytes()).unwrap();
    assert_eq!(key.bits(), 8192);
    let issuer = TestIssuer::with_key(&fixture("test_keys/largest8192_private.pem"), key.clone());
    let token = issuer
        .token()
        .issued_at(std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW))
        .sign();
    let (_, signature) = token.rsplit_once('.').unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 1024);
    let claims = trusting(key).verify(&token).expect("verified");
    assert!(!claims.identity.username.is_empty());
}

#[test]
fn exponent_one_or_even_is_refused() {
    let n = trusted_modulus();
    for e in [&[1u8][..], &[2], &[4], &[1, 0, 0], &[0], &[]] {
        let error = PublicKey::from_rsa_components(&n, e).unwrap_err();
        assert!(matches!(error, KeyError::BadExponent), "e = {e:?}: {error}");
    }
    assert!(PublicKey::from_rsa_components(&n, &[1, 0, 1]).is_ok());
    assert!(PublicKey::from_rsa_components(&n, &[3]).is_ok());
}

#[test]
fn leading_zero_bytes_are_stripped() {
    let mut n = vec![0, 0];
    n.extend(trusted_modulus());
    let key = PublicKey::from_rsa_components(&n, &[0, 1, 0, 1]).unwrap();
    assert_eq!(key.bits(), 2048);
    assert!(trusting(key).verify(&mint(&user1_claims())).is_ok());
}

#[test]
fn pem_other_blocks_are_refused() {
    let error = PublicKey::from_pem(trusted_private().as_bytes()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`BEGIN RSA PRIVATE KEY` is not a public key"),
        "{error}"
    );
    let two = format!(
        "{}{}",
        fixture("test_keys/trusted_public.pem"),
        fixture("test_keys/attacker_public.pem")
    );
    assert!(
        PublicKey::from_pem(two.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("more than one PEM block")
    );
    assert!(PublicKey::from_pem(b"not a pem").is_err());
}

#[test]
fn pem_with_a_corrupt_body_is_refused() {
    let pem = fixture("test_keys/trusted_public.pem");
    let block = pem::parse(&pem).unwrap();
    let mut der = block.contents().to_vec();
    der.truncate(der.len() - 3);
    let corrupt = pem::encode(&pem::Pem::new("PUBLIC KEY", der));
    assert!(PublicKey::from_pem(corrupt.as_bytes()).is_err());
}

#[test]
fn jwk_loads_with_kid_and_alg() {
    let key = PublicKey::from_jwk(&fixture("test_keys/trusted_public.jwk.json")).unwrap();
    assert_eq!(key.kid(), Some("trusted-2026"));
    assert_eq!(key.bits(), 2048);
    let enforcer = trusting(key);
    let token = mint_raw(
        r#"{"alg":"RS512","kid":"trusted-2026"}"#,
        &user1_claims().to_string(),
        &trusted_issuer(),
        jsonwebtoken::Algorithm::RS512,
    );
    assert_eq!(
        enforcer.verify(&token).unwrap().identity.username.as_str(),
        "user1"
    );
}

#[test]
fn jwks_keeps_signing_keys_of_supported_types_only() {
    let jwk: serde_json::Value =
        serde_json::from_str(&fixture("test_keys/trusted_public.jwk.json")).unwrap();
    let mut enc = jwk.clone();
    enc["use"] = "enc".into();
    enc["kid"] = "enc-key".into();
    let set = serde_json::json!({"keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        jwk, enc,
    ]});
    let keys = PublicKey::from_jwks(&set.to_string()).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].kid(), Some("trusted-2026"));
    // A malformed key of a supported type is an error, not skipped.
    let broken = serde_json::json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]});
    assert!(PublicKey::from_jwks(&broken.to_string()).is_err());
    assert!(PublicKey::from_jwks(r#"{"keys":[]}"#).is_err());
}

#[test]
fn jwk_refusals() {
    assert!(matches!(
        PublicKey::from_jwk(r#"{"kty":"EC","x":"AA","y":"AA"}"#),
        Err(KeyError::Unsupported(_))
    ));
    assert!(matches!(
        PublicKey::from_jwk(r#"{"kty":"oct","k":"c2VjcmV0"}"#),
        Err(KeyError::Unsupported(_))
    ));
    assert!(
        PublicKey::from_jwk(r#"{"kty":"RSA","e":"AQAB"}"#)
            .unwrap_err()
            .to_string()
            .contains("no `n`")
    );
    let jwk = fixture("test_keys/trusted_public.jwk.json").replace("\"RS512\"", "\"HS256\"");
    assert!(
        PublicKey::from_jwk(&jwk)
            .unwrap_err()
            .to_string()
            .contains("HS256 cannot be used with a RSA (2048 bits) key")
    );
}

#[test]
fn a_jwk_alg_restricts_the_key() {
    let jwk = fixture("test_keys/trusted_public.jwk.json").replace("\"RS512\"", "\"RS256\"");
    let enforcer = trusting(PublicKey::from_jwk(&jwk).unwrap());
    // RS512 is allowed by the enforcer, but this key is for RS256 only.
    assert!(enforcer.verify(&mint(&user1_claims())).is_err());
}

#[test]
fn build_needs_a_key_and_distinct_kids() {
    let error = Enforcer::builder().acl(fixture_acl()).build().unwrap_err();
    assert!(error.to_string().contains("no public key"), "{error}");
    let error = Enforcer::builder()
        .public_key(trusted_public().with_kid("a"))
        .public_key(trusted_public().with_kid("a"))
        .acl(fixture_acl())
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("two keys have the key id `a`"),
        "{error}"
    );
}

#[test]
fn debug_output_is_a_summary() {
    let debug = format!("{:?}", trusted_public().with_kid("k"));
    assert_eq!(
        debug,
        r#"PublicKey { kid: Some("k"), algorithm: None, key_type: Rsa { bits: 2048 }, .. }"#
    );
}

/// A key file that holds no key named no file ("key file key: …"), or named it twice through
/// the example; a word that is no key type was called an unsupported key type.
#[test]
fn a_file_that_is_no_key_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notakey.pub");
    std::fs::write(&path, "hello\n").unwrap();
    let error = tokenleader_rbac::PublicKey::from_file(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "key file {}: not an OpenSSH, PEM or JWK public key",
            path.display()
        )
    );
    let error = tokenleader_rbac::PublicKey::from_openssh("hello").unwrap_err();
    assert_eq!(
        error.to_string(),
        "OpenSSH key: not an OpenSSH public key line (`ssh-rsa AAAA… comment`)"
    );
}
