//! Attachment content, on disk under the data directory. Keys are random,
//! so a name from a client never becomes a path.
//!
//! On disk, blobs are local to one server node: several nodes need shared
//! storage (S3-compatible, planned) for attachments.

use std::io::Write;
use std::path::PathBuf;

use rand::RngCore;

/// A directory of blobs.
#[derive(Debug, Clone)]
pub struct DiskBlobs {
    dir: PathBuf,
}

impl DiskBlobs {
    /// Blobs under `dir` (created when missing).
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        (key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit())).then(|| self.dir.join(key))
    }

    /// Stores `bytes` durably (written, synced, renamed) and returns the key.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let mut raw = [0u8; 16];
        rand::rng().fill_bytes(&mut raw);
        let key: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = self.dir.join(format!(".{key}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, self.dir.join(&key))?;
        Ok(key)
    }

    /// The content of a blob.
    pub fn get(&self, key: &str) -> std::io::Result<Vec<u8>> {
        let path = self
            .path(key)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad blob key"))?;
        std::fs::read(path)
    }

    /// Removes a blob (missing is fine).
    pub fn delete(&self, key: &str) {
        if let Some(p) = self.path(key) {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete() {
        let dir = tempfile::tempdir().unwrap();
        let b = DiskBlobs::new(dir.path().join("blobs")).unwrap();
        let k = b.put(b"hello").unwrap();
        assert_eq!(b.get(&k).unwrap(), b"hello");
        assert!(b.get("../../etc/passwd").is_err(), "keys are not paths");
        b.delete(&k);
        assert!(b.get(&k).is_err());
    }
}
