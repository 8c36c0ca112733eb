//! Reading a file the employee names (an attachment, a screenshot) without
//! trusting what it claims: only a regular file, and never more than the
//! limit, whatever its size says. `/dev/zero` reports 0 bytes and never
//! ends; a FIFO blocks its reader until a writer comes.

use std::io::Read;
use std::path::Path;

/// Why a file cannot be attached.
#[derive(Debug, thiserror::Error)]
pub enum LocalFileError {
    /// It is a device, FIFO, socket or directory.
    #[error("{0} is not a regular file")]
    NotRegular(String),
    /// It holds more than the limit.
    #[error("{name} is larger than {}", size(*limit))]
    TooLarge {
        /// The file.
        name: String,
        /// The limit.
        limit: usize,
    },
    /// It cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn size(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Reads at most `limit` bytes of the regular file at `path`.
pub fn read_regular(path: &Path, limit: usize) -> Result<Vec<u8>, LocalFileError> {
    let shown = path.display().to_string();
    let io = |source| LocalFileError::Io {
        path: shown.clone(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a FIFO for reading blocks until a writer opens it; without
    // blocking, the open returns at once and the check below refuses it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io)?;
    // Checked on the open handle: what was checked is what is read.
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(LocalFileError::NotRegular(shown));
    }
    let too_large = || LocalFileError::TooLarge {
        name: shown.clone(),
        limit,
    };
    if usize::try_from(meta.len()).map_or(true, |n| n > limit) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    // One byte past the limit tells a file that grew from one that fits.
    file.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("notes.txt");
        std::fs::write(&ok, b"hello").unwrap();
        assert_eq!(read_regular(&ok, 5).unwrap(), b"hello");
        assert!(matches!(
            read_regular(&ok, 4),
            Err(LocalFileError::TooLarge { limit: 4, .. })
        ));
        // A device that says it is empty and never ends.
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), 1024),
            Err(LocalFileError::NotRegular(_))
        ));
        assert!(matches!(
            read_regular(dir.path(), 1024),
            Err(LocalFileError::NotRegular(_)) | Err(LocalFileError::Io { .. })
        ));
        // A FIFO nobody writes to: refused at once instead of blocking.
        let fifo = dir.path().join("pipe");
        // (mkfifo(3) is unsafe to call; the crate denies unsafe code.)
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert!(matches!(
            read_regular(&fifo, 1024),
            Err(LocalFileError::NotRegular(_))
        ));
        assert!(matches!(
            read_regular(&dir.path().join("missing"), 1),
            Err(LocalFileError::Io { .. })
        ));
    }
}
