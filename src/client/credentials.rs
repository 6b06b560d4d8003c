//! Stored credentials, exactly as the Python client (`tokenleaderclient` 1.5.1) writes and
//! reads them: the password encrypted with Fernet in an INI file, the Fernet key in a file of
//! its own.
//!
//! ```no_run
//! use tokenleader_rbac::client::{Client, StoredCredentials};
//!
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! // client_configs.yml says `user_auth_info_from: file`: no password argument.
//! let client = Client::from_client_config("/etc/tokenleader/client_configs.yml")?.build()?;
//!
//! // Or name the two files yourself; `store_password` writes them as `tokenleader-auth` does.
//! let stored = StoredCredentials::new("~/.tokenleader/user_settings.ini", "~/.tokenleader/fernetkeys")?;
//! stored.store_password("s3cret")?;
//! let client = Client::builder("https://tokenleader.example:5001")
//!     .user("user1")
//!     .stored_credentials(stored)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! The three keys of `client_configs.yml`:
//!
//! - `user_auth_info_from: file`: the password is stored (no other value is supported);
//! - `user_auth_info_file_location`: the INI file whose `[DEFAULT]` section holds
//!   `tl_password`, the password as a Fernet token;
//! - `fernet_key_file`: the Fernet key (URL-safe base64 of 32 bytes, on the file's first
//!   line).
//!
//! Paths starting with `~/` are taken from `$HOME`, as Python's `os.path.expanduser` does.
//! Both files are written readable by their owner only (0600): the Python tool leaves them
//! to the umask. Errors name the file and what is wrong with it, never the password.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;

use crate::file::read_bounded;
use crate::tokenleader_config::ClientConfigFile;

/// Key and INI files are a few hundred bytes; larger ones are refused unread.
const MAX_CREDENTIAL_FILE_BYTES: u64 = 64 * 1024;

/// The section and key Python's `configparser` writes the encrypted password under.
const SECTION: &str = "DEFAULT";
const PASSWORD_KEY: &str = "tl_password";

/// The two files that hold a stored password: the INI file and the Fernet key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    auth_file: PathBuf,
    fernet_key_file: PathBuf,
}

/// A stored password could not be read or written. Each variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// `client_configs.yml` lacks a key the stored credentials need, or has a value this
    /// crate does not support.
    #[error("client config {}: {message}", path.display())]
    Config {
        /// The `client_configs.yml`.
        path: PathBuf,
        /// What to fix.
        message: String,
    },
    /// A path starts with `~user/`: only `~` and `~/` are expanded.
    #[error("{path}: only `~` and `~/…` are expanded; write the full path")]
    Tilde {
        /// The path as configured.
        path: String,
    },
    /// `~` cannot be expanded: `$HOME` is not set.
    #[error("{path}: `~` needs $HOME, which is not set")]
    NoHome {
        /// The path as configured.
        path: String,
    },
    /// The Fernet key file does not exist.
    #[error(
        "Fernet key file {} does not exist: store the password again (`tokenleader-rbac credentials store`) or restore the key",
        path.display()
    )]
    MissingKeyFile {
        /// The key file.
        path: PathBuf,
    },
    /// The INI file does not exist.
    #[error(
        "credentials file {} does not exist: store the password first (`tokenleader-rbac credentials store`)",
        path.display()
    )]
    MissingAuthFile {
        /// The INI file.
        path: PathBuf,
    },
    /// A file could not be read (permissions, not a regular file, too large).
    #[error("cannot read {}: {message}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The key file does not hold a Fernet key.
    #[error(
        "Fernet key file {}: not a Fernet key (URL-safe base64 of 32 bytes on the first line)",
        path.display()
    )]
    InvalidKey {
        /// The key file.
        path: PathBuf,
    },
    /// The INI file cannot be parsed.
    #[error("credentials file {}: line {line}: {message}", path.display())]
    Syntax {
        /// The INI file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// The INI file has no `tl_password` in its `[DEFAULT]` section.
    #[error("credentials file {}: no `tl_password` in its [DEFAULT] section", path.display())]
    MissingPassword {
        /// The INI file.
        path: PathBuf,
    },
    /// `tl_password` is not a Fernet token at all.
    #[error(
        "credentials file {}: `tl_password` is corrupted (not a Fernet token)",
        path.display()
    )]
    CorruptedToken {
        /// The INI file.
        path: PathBuf,
    },
    /// The Fernet token does not decrypt with the key: made with another key, or altered.
    #[error(
        "credentials file {}: `tl_password` does not decrypt with the key in {}: it was made with another key, or altered",
        path.display(), key_file.display()
    )]
    WrongKey {
        /// The INI file.
        path: PathBuf,
        /// The key file.
        key_file: PathBuf,
    },
    /// The decrypted password is not UTF-8 text.
    #[error("credentials file {}: the decrypted password is not UTF-8 text", path.display())]
    NotText {
        /// The INI file.
        path: PathBuf,
    },
    /// Storing: the INI file exists already (the Python tool refuses too).
    #[error(
        "credentials file {} exists already: remove it (the CLI: `--replace`) to store a new password",
        path.display()
    )]
    AuthFileExists {
        /// The INI file.
        path: PathBuf,
    },
    /// Storing: a file or folder could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

impl StoredCredentials {
    /// The INI file and the Fernet key file; `~/` at the start of either is taken from
    /// `$HOME`.
    pub fn new(
        auth_file: impl AsRef<str>,
        fernet_key_file: impl AsRef<str>,
    ) -> Result<Self, CredentialsError> {
        Ok(StoredCredentials {
            auth_file: expand_home(auth_file.as_ref())?,
            fernet_key_file: expand_home(fernet_key_file.as_ref())?,
        })
    }

    /// The stored credentials a `client_configs.yml` names: `None` when it has no
    /// `user_auth_info_from`; an error when that is not `file` or a path is missing.
    pub fn from_client_config(path: impl AsRef<Path>) -> Result<Option<Self>, CredentialsError> {
        let path = path.as_ref();
        let config = ClientConfigFile::read(path).map_err(|e| CredentialsError::Config {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Self::from_config(path, &config)
    }

    pub(crate) fn from_config(
        path: &Path,
        config: &ClientConfigFile,
    ) -> Result<Option<Self>, CredentialsError> {
        let config_error = |message: String| CredentialsError::Config {
            path: path.to_owned(),
            message,
        };
        match config.user_auth_info_from.as_deref() {
            None => return Ok(None),
            Some("file") => {}
            Some(other) => {
                return Err(config_error(format!(
                    "`user_auth_info_from: {other}` is not supported: the only source is `file`"
                )));
            }
        }
        let required = |value: &Option<String>, key: &str| {
            value
                .clone()
                .ok_or_else(|| config_error(format!("`user_auth_info_from: file` needs `{key}`")))
        };
        let auth_file = required(
            &config.user_auth_info_file_location,
            "user_auth_info_file_location",
        )?;
        let key_file = required(&config.fernet_key_file, "fernet_key_file")?;
        Self::new(auth_file, key_file).map(Some)
    }

    /// The INI file that holds the encrypted password.
    pub fn auth_file(&self) -> &Path {
        &self.auth_file
    }

    /// The file that holds the Fernet key.
    pub fn fernet_key_file(&self) -> &Path {
        &self.fernet_key_file
    }

    /// Decrypts the stored password, as the Python client's `Configs().decrypt_password()`
    /// does (no age limit on the Fernet token).
    pub fn read_password(&self) -> Result<String, CredentialsError> {
        let fernet = self.read_key()?;
        let token = self.read_token()?;
        let plain = fernet.decrypt(&token).map_err(|_| {
            if looks_like_fernet_token(&token) {
                CredentialsError::WrongKey {
                    path: self.auth_file.clone(),
                    key_file: self.fernet_key_file.clone(),
                }
            } else {
                CredentialsError::CorruptedToken {
                    path: self.auth_file.clone(),
                }
            }
        })?;
        String::from_utf8(plain).map_err(|_| CredentialsError::NotText {
            path: self.auth_file.clone(),
        })
    }

    /// Encrypts `password` into the INI file, as `tokenleader-auth -p` does: the key file is
    /// made (with a new random key) when it is missing, folders are created, and an existing
    /// INI file is refused. Both files are written with mode 0600.
    pub fn store_password(&self, password: &str) -> Result<(), CredentialsError> {
        if self.auth_file.exists() {
            return Err(CredentialsError::AuthFileExists {
                path: self.auth_file.clone(),
            });
        }
        if !self.fernet_key_file.exists() {
            let key = fernet::Fernet::generate_key();
            write_private(&self.fernet_key_file, key.as_bytes())?;
            tracing::info!(path = %self.fernet_key_file.display(), "made a new Fernet key file");
        }
        let token = self.read_key()?.encrypt(password.as_bytes());
        let mut ini = ini::Ini::new();
        ini.with_section(Some(SECTION)).set(PASSWORD_KEY, token);
        let mut text = Vec::new();
        ini.write_to_policy(&mut text, ini::EscapePolicy::Nothing)
            .map_err(|source| self.write_error(source))?;
        write_private(&self.auth_file, &text)
    }

    fn write_error(&self, source: io::Error) -> CredentialsError {
        CredentialsError::Write {
            path: self.auth_file.clone(),
            source,
        }
    }

    fn read_key(&self) -> Result<fernet::Fernet, CredentialsError> {
        let path = &self.fernet_key_file;
        let bytes = read_file(path, || CredentialsError::MissingKeyFile {
            path: path.clone(),
        })?;
        // Python reads the first line; its base64 decoder skips the line end.
        let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        std::str::from_utf8(first_line)
            .ok()
            .and_then(|key| fernet::Fernet::new(key.trim()))
            .ok_or_else(|| CredentialsError::InvalidKey { path: path.clone() })
    }

    fn read_token(&self) -> Result<String, CredentialsError> {
        let path = &self.auth_file;
        let bytes = read_file(path, || CredentialsError::MissingAuthFile {
            path: path.clone(),
        })?;
        let syntax = |line: usize, message: String| CredentialsError::Syntax {
            path: path.clone(),
            line,
            message,
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| syntax(1, "not UTF-8 text".into()))?;
        let ini = ini::Ini::load_from_str_noescape(text)
            .map_err(|e| syntax(e.line, e.msg.into_owned()))?;
        // configparser reads option names case-insensitively.
        ini.section(Some(SECTION))
            .and_then(|section| {
                section
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(PASSWORD_KEY))
                    .map(|(_, value)| value.trim().to_owned())
            })
            .ok_or_else(|| CredentialsError::MissingPassword { path: path.clone() })
    }
}

/// Whether `token` has a Fernet token's shape (version 0x80, room for timestamp, IV, one
/// block and the HMAC): tells a corrupted file from one made with another key.
fn looks_like_fernet_token(token: &str) -> bool {
    const MIN_LEN: usize = 1 + 8 + 16 + 16 + 32;
    URL_SAFE
        .decode(token)
        .is_ok_and(|bytes| bytes.len() >= MIN_LEN && bytes[0] == 0x80)
}

fn read_file(
    path: &Path,
    missing: impl FnOnce() -> CredentialsError,
) -> Result<Vec<u8>, CredentialsError> {
    read_bounded(path, MAX_CREDENTIAL_FILE_BYTES).map_err(|e| match e.into_io() {
        e if e.kind() == io::ErrorKind::NotFound => missing(),
        e => CredentialsError::Unreadable {
            path: path.to_owned(),
            message: e.to_string(),
        },
    })
}

/// `~` and `~/…` from `$HOME`, like Python's `os.path.expanduser`; `~user/…` is refused.
fn expand_home(path: &str) -> Result<PathBuf, CredentialsError> {
    let rest = match path.strip_prefix('~') {
        None => return Ok(PathBuf::from(path)),
        Some("") => "",
        Some(rest) => rest
            .strip_prefix('/')
            .ok_or_else(|| CredentialsError::Tilde {
                path: path.to_owned(),
            })?,
    };
    let home = std::env::var_os("HOME").ok_or_else(|| CredentialsError::NoHome {
        path: path.to_owned(),
    })?;
    Ok(Path::new(&home).join(rest))
}

/// Creates `path` (not there before) readable and writable by its owner only; its folder is
/// created when missing.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CredentialsError> {
    let error = |path: &Path| {
        let path = path.to_owned();
        move |source| CredentialsError::Write { path, source }
    };
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(folder).map_err(error(folder))?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(error(path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(error(path))
}

#[cfg(test)]
mod tests;
