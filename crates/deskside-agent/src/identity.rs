//! The device's identity: an Ed25519 key pair made on the device and kept
//! with its credentials (the OS credential store, or a 0600 file). The desk
//! knows only the public key. Enrolling again, or getting a new token,
//! takes a signature over a fresh challenge from the desk, so the fleet's
//! enroll secret alone cannot take over a device.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::credentials::{CredentialError, Credentials};

/// Why the key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Its store failed.
    #[error(transparent)]
    Store(#[from] CredentialError),
    /// What is stored is not a key (or no key could be made).
    #[error("the device key is unreadable: {0}")]
    Invalid(String),
}

/// The device's key pair.
pub struct DeviceKey(Ed25519KeyPair);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_tuple("DeviceKey")
            .field(&self.public_key())
            .finish()
    }
}

impl DeviceKey {
    /// The key kept in `store`, made (and kept) on first use.
    pub fn load_or_create(store: &Credentials) -> Result<Self, IdentityError> {
        if let Some(text) = store.get()? {
            let der = B64
                .decode(text.trim())
                .map_err(|e| IdentityError::Invalid(e.to_string()))?;
            return Ed25519KeyPair::from_pkcs8(&der)
                .map(Self)
                .map_err(|e| IdentityError::Invalid(e.to_string()));
        }
        let rng = ring::rand::SystemRandom::new();
        let der = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|e| IdentityError::Invalid(e.to_string()))?;
        store.set(&B64.encode(der.as_ref()))?;
        tracing::info!("device key pair created");
        Ed25519KeyPair::from_pkcs8(der.as_ref())
            .map(Self)
            .map_err(|e| IdentityError::Invalid(e.to_string()))
    }

    /// The public key, base64: what the desk knows the device by.
    pub fn public_key(&self) -> String {
        B64.encode(self.0.public_key().as_ref())
    }

    /// The proof for an enrollment answering `challenge`.
    pub fn prove(&self, challenge: &str) -> deskside_protocol::KeyProof {
        let message = deskside_protocol::enroll_proof_message(challenge, &self.public_key());
        deskside_protocol::KeyProof {
            challenge: challenge.to_owned(),
            signature: B64.encode(self.0.sign(&message).as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_kept_privately_and_signs_verifiably() {
        let dir = tempfile::tempdir().unwrap();
        let store = Credentials::File(dir.path().join("device-key"));
        let key = DeviceKey::load_or_create(&store).unwrap();
        let again = DeviceKey::load_or_create(&store).unwrap();
        assert_eq!(key.public_key(), again.public_key(), "kept, not made anew");
        assert_eq!(B64.decode(key.public_key()).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("device-key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let proof = key.prove("abc");
        let message = deskside_protocol::enroll_proof_message("abc", &key.public_key());
        let public = B64.decode(key.public_key()).unwrap();
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public)
            .verify(&message, &B64.decode(&proof.signature).unwrap())
            .unwrap();
        assert!(
            !format!("{key:?}")
                .contains(&std::fs::read_to_string(dir.path().join("device-key")).unwrap())
        );
    }
}
