//! The one bounded file reader every input file goes through (ACL maps, key files,
//! `client_configs.yml`), at start-up and on reload alike.
//!
//! A path an operator controls may lead anywhere: a symlink to `/dev/zero`, a FIFO nobody
//! writes to, a file that grows while it is read. So the file is opened once, without
//! blocking (a FIFO would otherwise block `open(2)` until a writer comes), it must be a regular
//! file on the open handle (after following symlinks), and at most `max + 1` bytes are read:
//! one byte more than allowed is enough to refuse it.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadFileError {
    /// Opening or reading failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A FIFO, a device, a socket or a folder.
    #[error("not a regular file (a FIFO, device, socket or folder)")]
    NotRegular,
    /// More than the cap.
    #[error("larger than the {max} bytes allowed")]
    TooLarge {
        /// The cap.
        max: u64,
    },
}

impl ReadFileError {
    /// As an I/O error, for the error types that carry one.
    pub(crate) fn into_io(self) -> io::Error {
        match self {
            ReadFileError::Io(error) => error,
            other => io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}

/// Reads the regular file at `path`, refusing anything else and anything over `max` bytes.
pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, ReadFileError> {
    let file = open_nonblocking(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(ReadFileError::NotRegular);
    }
    if metadata.len() > max {
        return Err(ReadFileError::TooLarge { max });
    }
    // The size is only a hint (the file may change): the `take` is the bound.
    let capacity = usize::try_from(metadata.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(ReadFileError::TooLarge { max });
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_regular_file_within_the_cap_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read_bounded(&path, 5).unwrap(), b"12345");
        assert!(matches!(
            read_bounded(&path, 4),
            Err(ReadFileError::TooLarge { max: 4 })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_device_behind_a_symlink_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(matches!(
            read_bounded(&link, 1024),
            Err(ReadFileError::NotRegular)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_neither_blocks_nor_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let started = Instant::now();
        assert!(matches!(
            read_bounded(&fifo, 1024),
            Err(ReadFileError::NotRegular)
        ));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_bounded(dir.path(), 1024).is_err());
    }
}
