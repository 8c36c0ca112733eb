//! Files that hold data are readable by their owner only: directories
//! 0700, files 0600, also when an older version created them wider. (On
//! Windows and macOS the per-user locations are private already; the
//! modes apply on Unix.)

use std::io;
use std::path::Path;

/// Creates `dir` (with its parents) and makes it 0700.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    set_mode(dir, 0o700)
}

/// Makes the file at `path` 0600, if it exists.
pub fn private_file(path: &Path) -> io::Result<()> {
    match set_mode(path, 0o600) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// A SQLite database and its WAL and shared-memory files, 0600. SQLite
/// gives the files it creates later the database file's mode.
pub fn private_database(db: &Path) -> io::Result<()> {
    private_file(db)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        private_file(Path::new(&name))?;
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)?;
    if meta.permissions().mode() & 0o777 != mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_mode(path: &Path, _mode: u32) -> io::Result<()> {
    std::fs::metadata(path).map(drop)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p)
            .expect("the file exists")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn created_private_and_tightened_when_wider() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(
            mode(&dir),
            0o700,
            "an old world-readable directory is tightened"
        );
        let db = dir.join("x.db");
        std::fs::write(&db, b"").unwrap();
        std::fs::write(dir.join("x.db-wal"), b"").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_database(&db).unwrap();
        assert_eq!((mode(&db), mode(&dir.join("x.db-wal"))), (0o600, 0o600));
        private_file(&dir.join("missing")).unwrap();
    }
}
