//! tokenleader's `client_configs.yml`, as the Python client reads it (`tl_public_key`,
//! `tl_url`, `tl_user`, `ssl_verify`, and the stored credentials' `user_auth_info_from`,
//! `user_auth_info_file_location`, `fernet_key_file`; other keys are ignored). Read by the enforcer (its key,
//! watched like a key file) and, with the `client` feature, by `Client::from_client_config`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::acl::yaml_error;
use crate::file::read_bounded;
use crate::keys::PublicKey;

/// A `client_configs.yml` is a few hundred bytes; anything over this is refused unread.
const MAX_CLIENT_CONFIG_BYTES: u64 = 64 * 1024;

/// tokenleader's `client_configs.yml` could not be used.
#[derive(Debug, thiserror::Error)]
#[error("client config {}: {message}", path.display())]
pub struct ClientConfigError {
    path: PathBuf,
    message: String,
}

impl ClientConfigError {
    pub(crate) fn new(path: &Path, message: impl Into<String>) -> Self {
        ClientConfigError {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// The file that was read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The members this crate uses.
#[derive(Debug, Deserialize)]
// The client's members are only read with the `client` feature.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) struct ClientConfigFile {
    pub(crate) tl_public_key: Option<String>,
    pub(crate) tl_url: Option<String>,
    pub(crate) tl_user: Option<String>,
    pub(crate) ssl_verify: Option<bool>,
    pub(crate) user_auth_info_from: Option<String>,
    pub(crate) user_auth_info_file_location: Option<String>,
    pub(crate) fernet_key_file: Option<String>,
}

impl ClientConfigFile {
    /// Reads and parses the file (a regular file of at most 64 KiB).
    #[cfg(feature = "client")]
    pub(crate) fn read(path: &Path) -> Result<Self, ClientConfigError> {
        Self::parse(path, &read_client_config_bytes(path)?)
    }

    /// Parses the file's content; the error names the line.
    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<Self, ClientConfigError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ClientConfigError::new(path, "not UTF-8 text"))?;
        serde_saphyr::from_str(text).map_err(|e| {
            let message = match yaml_error(&e) {
                (Some(line), message) => format!("line {line}: {message}"),
                (None, message) => message,
            };
            ClientConfigError::new(path, message)
        })
    }

    /// The server's public key (`tl_public_key: ssh-rsa …`).
    pub(crate) fn public_key(&self, path: &Path) -> Result<PublicKey, ClientConfigError> {
        let line = self
            .tl_public_key
            .as_deref()
            .ok_or_else(|| ClientConfigError::new(path, "no `tl_public_key`"))?;
        PublicKey::from_openssh(line)
            .map_err(|e| ClientConfigError::new(path, format!("tl_public_key: {e}")))
    }
}

/// Reads the file whole, at most 64 KiB, for callers that compare versions.
pub(crate) fn read_client_config_bytes(path: &Path) -> Result<Vec<u8>, ClientConfigError> {
    read_bounded(path, MAX_CLIENT_CONFIG_BYTES)
        .map_err(|e| ClientConfigError::new(path, format!("cannot read: {e}")))
}
