//! tokenleader's `client_configs.yml`, as the Python client reads it (`tl_public_key`,
//! `tl_url`, `tl_user`, `ssl_verify`; other keys are ignored). Read by
//! [`Enforcer::from_client_config`](crate::Enforcer::from_client_config) and, with the
//! `client` feature, by `Client::from_client_config`.

use std::path::Path;

use serde::Deserialize;

use crate::error::yaml_error;

/// The members this crate uses.
#[derive(Debug, Deserialize)]
// The client's members are only read with the `client` feature.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) struct ClientConfigFile {
    pub(crate) tl_public_key: Option<String>,
    pub(crate) tl_url: Option<String>,
    pub(crate) tl_user: Option<String>,
    pub(crate) ssl_verify: Option<bool>,
}

impl ClientConfigFile {
    /// Reads and parses the file; the error says what is wrong (with the line), not which file.
    pub(crate) fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
        serde_saphyr::from_str(&text).map_err(|e| match yaml_error(&e) {
            (Some(line), message) => format!("line {line}: {message}"),
            (None, message) => message,
        })
    }
}
