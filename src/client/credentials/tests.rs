//! The stored-credentials files the Python client writes, read and written here.

use super::*;

fn stored(dir: &Path) -> StoredCredentials {
    StoredCredentials {
        auth_file: dir.join("tlclient/user_settings.ini"),
        fernet_key_file: dir.join("tlclient/fernetkeys"),
    }
}

#[test]
fn a_stored_password_reads_back_and_both_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = stored(dir.path());
    credentials.store_password("pä ss:=word").unwrap();
    assert_eq!(credentials.read_password().unwrap(), "pä ss:=word");
    let ini = fs::read_to_string(credentials.auth_file()).unwrap();
    assert!(ini.starts_with("[DEFAULT]\ntl_password="), "{ini}");
    assert!(!ini.contains("pä ss"), "the password is stored encrypted");
    #[cfg(unix)]
    for file in [credentials.auth_file(), credentials.fernet_key_file()] {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
}

#[test]
fn an_existing_key_file_is_used_and_an_existing_ini_file_refused() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = stored(dir.path());
    let key = fernet::Fernet::generate_key();
    write_private(credentials.fernet_key_file(), format!("{key}\n").as_bytes()).unwrap();
    credentials.store_password("pw").unwrap();
    let token = credentials.read_token().unwrap();
    let fernet = fernet::Fernet::new(&key).unwrap();
    assert_eq!(fernet.decrypt(&token).unwrap(), b"pw");
    assert!(matches!(
        credentials.store_password("other"),
        Err(CredentialsError::AuthFileExists { .. })
    ));
    assert_eq!(credentials.read_password().unwrap(), "pw");
}

/// An INI file with `tl_password` set to `token`, and a key file holding `key`.
fn files(dir: &Path, key: &str, ini: &str) -> StoredCredentials {
    let credentials = stored(dir);
    write_private(credentials.fernet_key_file(), key.as_bytes()).unwrap();
    write_private(credentials.auth_file(), ini.as_bytes()).unwrap();
    credentials
}

fn python_ini(token: &str) -> String {
    format!("[DEFAULT]\ntl_password = {token}\n\n")
}

fn refusal(key: &str, ini: &str) -> CredentialsError {
    let dir = tempfile::tempdir().unwrap();
    let error = files(dir.path(), key, ini).read_password().unwrap_err();
    let text = error.to_string();
    assert!(!text.contains("secret-pw"), "{text}");
    error
}

fn token_for(key: &str, password: &str) -> String {
    fernet::Fernet::new(key)
        .unwrap()
        .encrypt(password.as_bytes())
}

#[test]
fn the_python_layout_reads() {
    let key = fernet::Fernet::generate_key();
    let dir = tempfile::tempdir().unwrap();
    let ini = python_ini(&token_for(&key, "secret-pw"));
    let credentials = files(dir.path(), &key, &ini);
    assert_eq!(credentials.read_password().unwrap(), "secret-pw");
    let ini = format!("[DEFAULT]\nTL_PASSWORD: {}\n", token_for(&key, "secret-pw"));
    fs::write(credentials.auth_file(), ini).unwrap();
    assert_eq!(credentials.read_password().unwrap(), "secret-pw");
}

#[test]
fn a_token_made_with_another_key_is_refused() {
    let key = fernet::Fernet::generate_key();
    let other = fernet::Fernet::generate_key();
    let error = refusal(&key, &python_ini(&token_for(&other, "secret-pw")));
    assert!(
        matches!(error, CredentialsError::WrongKey { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("another key, or altered"));
}

#[test]
fn a_tampered_token_is_refused() {
    let key = fernet::Fernet::generate_key();
    let token = token_for(&key, "secret-pw");
    let mut bytes = URL_SAFE.decode(&token).unwrap();
    bytes[30] ^= 1; // in the ciphertext
    let error = refusal(&key, &python_ini(&URL_SAFE.encode(&bytes)));
    assert!(
        matches!(error, CredentialsError::WrongKey { .. }),
        "{error}"
    );
    let mut bytes = URL_SAFE.decode(&token).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1; // in the HMAC
    let error = refusal(&key, &python_ini(&URL_SAFE.encode(&bytes)));
    assert!(
        matches!(error, CredentialsError::WrongKey { .. }),
        "{error}"
    );
}

#[test]
fn a_corrupted_token_is_refused() {
    let key = fernet::Fernet::generate_key();
    for token in ["not-base64!!", "gAAAAA", &URL_SAFE.encode([0x81; 80])] {
        let error = refusal(&key, &python_ini(token));
        assert!(
            matches!(error, CredentialsError::CorruptedToken { .. }),
            "{token}: {error}"
        );
    }
}

#[test]
fn a_missing_or_broken_key_file_is_refused() {
    let key = fernet::Fernet::generate_key();
    let ini = python_ini(&token_for(&key, "secret-pw"));
    let dir = tempfile::tempdir().unwrap();
    let credentials = files(dir.path(), &key, &ini);
    fs::remove_file(credentials.fernet_key_file()).unwrap();
    let error = credentials.read_password().unwrap_err();
    assert!(
        matches!(error, CredentialsError::MissingKeyFile { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("fernetkeys"), "{error}");
    for broken in ["", "short", "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"] {
        let error = refusal(broken, &ini);
        assert!(
            matches!(error, CredentialsError::InvalidKey { .. }),
            "{broken}: {error}"
        );
    }
}

#[test]
fn a_missing_or_broken_ini_file_is_refused() {
    let key = fernet::Fernet::generate_key();
    let token = token_for(&key, "secret-pw");
    let dir = tempfile::tempdir().unwrap();
    let credentials = files(dir.path(), &key, "");
    fs::remove_file(credentials.auth_file()).unwrap();
    let error = credentials.read_password().unwrap_err();
    assert!(
        matches!(error, CredentialsError::MissingAuthFile { .. }),
        "{error}"
    );
    for ini in [
        format!("[other]\ntl_password = {token}\n"),
        format!("[default]\ntl_password = {token}\n"),
        "[DEFAULT]\npassword = x\n".to_owned(),
        String::new(),
    ] {
        let error = refusal(&key, &ini);
        assert!(
            matches!(error, CredentialsError::MissingPassword { .. }),
            "{ini}: {error}"
        );
        assert!(error.to_string().contains("user_settings.ini"), "{error}");
    }
    let error = refusal(&key, "[DEFAULT\ntl_password = x\n");
    assert!(matches!(error, CredentialsError::Syntax { .. }), "{error}");
}

#[cfg(unix)]
#[test]
fn a_device_or_a_huge_file_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = StoredCredentials {
        auth_file: "/dev/zero".into(),
        fernet_key_file: dir.path().join("key"),
    };
    write_private(
        credentials.fernet_key_file(),
        fernet::Fernet::generate_key().as_bytes(),
    )
    .unwrap();
    let error = credentials.read_password().unwrap_err();
    assert!(
        matches!(error, CredentialsError::Unreadable { .. }),
        "{error}"
    );
}

#[test]
fn home_is_expanded_like_python() {
    let home = std::env::var("HOME").unwrap();
    assert_eq!(
        expand_home("~/.tl/keys").unwrap(),
        Path::new(&home).join(".tl/keys")
    );
    assert_eq!(expand_home("~").unwrap(), Path::new(&home));
    assert_eq!(expand_home("/etc/tl").unwrap(), Path::new("/etc/tl"));
    assert!(matches!(
        expand_home("~root/keys"),
        Err(CredentialsError::Tilde { .. })
    ));
}
