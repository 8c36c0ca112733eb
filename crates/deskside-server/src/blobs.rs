//! Attachment content: on disk under the data directory by default, or in
//! S3-compatible object storage (`DESKSIDE_BLOB_URL=s3://bucket/prefix`),
//! which several server nodes can share. Keys are random, so a name from a
//! client never becomes a path.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::RngCore;

/// Blob storage failures.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The disk failed.
    #[error("blob storage: {0}")]
    Io(#[from] std::io::Error),
    /// The object store failed.
    #[error("object storage: {0}")]
    Object(#[from] object_store::Error),
    /// The URL names no supported store.
    #[error("unsupported blob URL {0:?} (expected s3://bucket[/prefix])")]
    UnsupportedUrl(String),
    /// The key is not one this store made.
    #[error("bad blob key")]
    BadKey,
}

/// Where attachment content lives.
#[derive(Debug, Clone)]
pub enum Blobs {
    /// A directory on this node.
    Disk(DiskBlobs),
    /// A bucket (and prefix) in S3-compatible storage.
    Object {
        /// The bucket.
        store: Arc<dyn ObjectStore>,
        /// Prefix of every key.
        prefix: ObjectPath,
    },
}

fn new_key() -> String {
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

fn valid_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Blobs {
    /// S3-compatible storage at `url` (`s3://bucket/optional/prefix`).
    /// Credentials, region and endpoint come from the standard `AWS_*`
    /// environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`).
    pub fn s3(url: &str) -> Result<Self, BlobError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| BlobError::UnsupportedUrl(url.to_owned()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(BlobError::UnsupportedUrl(url.to_owned()));
        }
        // The HTTPS client is rustls without a built-in crypto provider;
        // ring is the one the whole workspace uses (a no-op when a provider
        // is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()?;
        Ok(Self::Object {
            store: Arc::new(store),
            prefix: ObjectPath::from(prefix),
        })
    }

    fn object_path(prefix: &ObjectPath, key: &str) -> ObjectPath {
        prefix.clone().join(key)
    }

    /// Stores `bytes` durably and returns the new key.
    pub async fn put(&self, bytes: Vec<u8>) -> Result<String, BlobError> {
        match self {
            Self::Disk(d) => {
                let d = d.clone();
                tokio::task::spawn_blocking(move || d.put(&bytes))
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .map_err(BlobError::from)
            }
            Self::Object { store, prefix } => {
                let key = new_key();
                store
                    .put(&Self::object_path(prefix, &key), PutPayload::from(bytes))
                    .await?;
                Ok(key)
            }
        }
    }

    /// The content of a blob.
    pub async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        if !valid_key(key) {
            return Err(BlobError::BadKey);
        }
        match self {
            Self::Disk(d) => {
                let (d, key) = (d.clone(), key.to_owned());
                tokio::task::spawn_blocking(move || d.get(&key))
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .map_err(BlobError::from)
            }
            Self::Object { store, prefix } => Ok(store
                .get(&Self::object_path(prefix, key))
                .await?
                .bytes()
                .await?
                .to_vec()),
        }
    }

    /// Removes a blob; a failure is logged, as an orphaned blob only costs
    /// space.
    pub async fn delete(&self, key: &str) {
        match self {
            Self::Disk(d) => d.delete(key),
            Self::Object { store, prefix } if valid_key(key) => {
                if let Err(e) = store.delete(&Self::object_path(prefix, key)).await {
                    tracing::warn!("cannot delete blob {key}: {e}");
                }
            }
            Self::Object { .. } => {}
        }
    }
}

impl From<DiskBlobs> for Blobs {
    fn from(d: DiskBlobs) -> Self {
        Self::Disk(d)
    }
}

/// A directory of blobs.
#[derive(Debug, Clone)]
pub struct DiskBlobs {
    dir: PathBuf,
}

impl DiskBlobs {
    /// Blobs under `dir` (created when missing).
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        crate::private_fs::private_dir(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        valid_key(key).then(|| self.dir.join(key))
    }

    /// Stores `bytes` durably (written, synced, renamed) and returns the key.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let key = new_key();
        let tmp = self.dir.join(format!(".{key}.tmp"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
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

    #[test]
    fn s3_urls() {
        assert!(matches!(
            Blobs::s3("gs://bucket"),
            Err(BlobError::UnsupportedUrl(_))
        ));
        assert!(matches!(
            Blobs::s3("s3://"),
            Err(BlobError::UnsupportedUrl(_))
        ));
        let Ok(Blobs::Object { prefix, .. }) = Blobs::s3("s3://desk/attachments/eu") else {
            panic!("an s3 URL")
        };
        assert_eq!(
            Blobs::object_path(&prefix, "00ff").as_ref(),
            "attachments/eu/00ff"
        );
    }
}
