//! `credentials store|check`: the password stored as the Python client stores it.

use std::path::Path;

use tokenleader_rbac::client::{CredentialsError, StoredCredentials};

use crate::token::secret;
use crate::{Failure, error};

fn stored(config: &Path) -> Result<StoredCredentials, Failure> {
    StoredCredentials::from_client_config(config)
        .map_err(error)?
        .ok_or_else(|| {
            error(format!(
                "{}: no `user_auth_info_from: file`: add it with `user_auth_info_file_location` and `fernet_key_file`",
                config.display()
            ))
        })
}

/// Writes the Fernet key file (when missing) and the INI file; `replace` removes an existing
/// INI file first.
pub(crate) fn store(config: &Path, replace: bool) -> Result<(), Failure> {
    let stored = stored(config)?;
    let password = secret("TL_PASSWORD", "Password")?;
    if replace {
        match std::fs::remove_file(stored.auth_file()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(error(format!(
                    "cannot remove {}: {e}",
                    stored.auth_file().display()
                )));
            }
            _ => {}
        }
    }
    stored.store_password(&password).map_err(|e| match e {
        CredentialsError::AuthFileExists { path } => error(format!(
            "credentials file {} exists already: give `--replace` to store a new password over it",
            path.display()
        )),
        other => error(other),
    })?;
    say!(
        "stored the password in {} (key: {})",
        stored.auth_file().display(),
        stored.fernet_key_file().display()
    );
    Ok(())
}

/// Decrypts the stored password and says whether that worked, without printing it.
pub(crate) fn check(config: &Path) -> Result<(), Failure> {
    let stored = stored(config)?;
    stored.read_password().map_err(error)?;
    say!(
        "{} decrypts with the key in {}",
        stored.auth_file().display(),
        stored.fernet_key_file().display()
    );
    Ok(())
}
