//! Where the device token lives: the OS credential store (Secret Service on
//! Linux desktops, Windows Credential Manager, macOS Keychain) through
//! `keyring` with explicitly chosen backends, or — when no credential store
//! is usable (a headless server, a CI box) — a file in the state directory
//! that only the agent's user can read (0600). Which one is used is logged
//! once.

use std::path::{Path, PathBuf};

/// Credential failures.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The credential store failed.
    #[error("credential store: {0}")]
    Keyring(#[from] keyring::Error),
    /// The token file failed.
    #[error("token file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Where the token is kept.
#[derive(Debug)]
pub enum Credentials {
    /// The OS credential store.
    Keyring(keyring::Entry),
    /// A 0600 file.
    File(PathBuf),
}

const SERVICE: &str = "deskside-agent";

impl Credentials {
    /// The credential store for the agent whose state is in `state_dir`:
    /// the OS store when it answers, else the file. `DESKSIDE_CREDENTIAL_STORE=file`
    /// forces the file (for services that must not depend on a session).
    pub fn open(state_dir: &Path) -> Self {
        Self::open_named(state_dir, "device-token")
    }

    /// The device's key pair ([`crate::identity`]), kept like the token.
    pub fn open_key(state_dir: &Path) -> Self {
        Self::open_named(state_dir, "device-key")
    }

    fn open_named(state_dir: &Path, name: &str) -> Self {
        let file = state_dir.join(name);
        let forced_file = std::env::var("DESKSIDE_CREDENTIAL_STORE").is_ok_and(|v| v == "file");
        // One entry per state directory, so two agents (a system service
        // and a user's) do not share a token; the token keeps the entry
        // name it always had.
        let account = match name {
            "device-token" => state_dir.display().to_string(),
            other => format!("{}#{other}", state_dir.display()),
        };
        // "device token", "device key": what the log says it keeps.
        let name = name.replace('-', " ");
        if !forced_file {
            match keyring::Entry::new(SERVICE, &account) {
                Ok(entry) => match entry.get_password() {
                    Ok(_) | Err(keyring::Error::NoEntry) => {
                        tracing::info!("{name} kept in the OS credential store");
                        return Self::Keyring(entry);
                    }
                    Err(e) => tracing::info!(
                        "no usable OS credential store ({e}); {name} kept in {} (mode 0600)",
                        file.display()
                    ),
                },
                Err(e) => tracing::info!(
                    "no usable OS credential store ({e}); {name} kept in {} (mode 0600)",
                    file.display()
                ),
            }
        }
        Self::File(file)
    }

    /// A short name of the store, for `status`.
    pub fn describe(&self) -> String {
        match self {
            Self::Keyring(_) => "OS credential store".to_owned(),
            Self::File(p) => format!("file {}", p.display()),
        }
    }

    /// The token, when one is stored.
    pub fn get(&self) -> Result<Option<String>, CredentialError> {
        match self {
            Self::Keyring(e) => match e.get_password() {
                Ok(t) => Ok(Some(t)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(e.into()),
            },
            Self::File(path) => match std::fs::read_to_string(path) {
                Ok(t) => Ok(Some(t.trim().to_owned()).filter(|t| !t.is_empty())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(CredentialError::File {
                    path: path.clone(),
                    source,
                }),
            },
        }
    }

    /// Stores the token.
    pub fn set(&self, token: &str) -> Result<(), CredentialError> {
        match self {
            Self::Keyring(e) => Ok(e.set_password(token)?),
            Self::File(path) => {
                write_private(path, token).map_err(|source| CredentialError::File {
                    path: path.clone(),
                    source,
                })
            }
        }
    }

    /// Forgets the token.
    pub fn clear(&self) -> Result<(), CredentialError> {
        match self {
            Self::Keyring(e) => match e.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(e.into()),
            },
            Self::File(path) => match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(CredentialError::File {
                    path: path.clone(),
                    source,
                }),
            },
        }
    }
}

/// Writes `text` to a file only its owner can read, replacing it
/// atomically; the mode is set at creation, so the token is never readable
/// by others, not even for an instant.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_store_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let c = Credentials::File(dir.path().join("device-token"));
        assert_eq!(c.get().unwrap(), None);
        c.set("dsk_dev_secret").unwrap();
        assert_eq!(c.get().unwrap().as_deref(), Some("dsk_dev_secret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("device-token"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        c.clear().unwrap();
        assert_eq!(c.get().unwrap(), None);
        assert!(c.describe().contains("device-token"));
    }
}
