//! Joining the desk: enrollment with the device key's proof, the device
//! token, and enrolling again when the desk refuses the token.

use super::*;

impl Agent {
    /// Enrolls with the desk (`server` and `secret` override the
    /// configuration): the device token goes to the credential store.
    pub async fn enroll(&mut self, server: Option<&str>, secret: Option<&str>) -> SyncResult<i64> {
        if let Some(url) = server {
            check_server_url(url).map_err(SyncError::Invalid)?;
            let mut desk_cfg = self.cfg.desk.clone();
            desk_cfg.server_url = Some(url.to_owned());
            self.desk = Some(DeskClient::new(&desk_cfg)?);
        }
        let secret = match secret {
            Some(s) => s.to_owned(),
            None => self
                .cfg
                .desk
                .enroll_secret()
                .map_err(|e| SyncError::Invalid(e.to_string()))?
                .ok_or_else(|| SyncError::Invalid("no enroll secret given or configured".into()))?,
        };
        let id = self.enroll_with(&secret).await?;
        let url = self.desk()?.base().to_owned();
        self.store().set(KEY_SERVER, Some(&url))?;
        Ok(id)
    }

    pub(super) async fn enroll_with(&self, secret: &str) -> SyncResult<i64> {
        let identity = self.inventory().device;
        let desk = self.desk()?;
        // The key proves this is the device the desk knows (or a new one);
        // the enroll secret alone never takes over another device.
        let key = self.device_key()?;
        let proof = desk
            .enroll_challenge()
            .await?
            .map(|c| (key.public_key(), key.prove(&c.challenge)));
        if proof.is_none() {
            tracing::warn!("the desk does not know device keys; enrolling without one");
        }
        let answer = desk.enroll(secret, &identity, proof).await?;
        self.credentials.set(&answer.device_token)?;
        let store = self.store();
        store.set(KEY_DEVICE_ID, Some(&answer.device_id.to_string()))?;
        store.set(KEY_NEEDS_ENROLLMENT, None)?;
        tracing::info!(device_id = answer.device_id, "enrolled with the desk");
        Ok(answer.device_id)
    }

    /// The device's key pair, made on first use.
    pub(super) fn device_key(&self) -> SyncResult<crate::identity::DeviceKey> {
        crate::identity::DeviceKey::load_or_create(&self.key_store).map_err(|e| match e {
            crate::identity::IdentityError::Store(e) => SyncError::Credentials(e),
            other => SyncError::Invalid(other.to_string()),
        })
    }

    /// The device's public key, read from the credential store once.
    pub(super) fn public_key(&self) -> SyncResult<String> {
        if let Some(k) = self.public_key.get() {
            return Ok(k.clone());
        }
        let k = self.device_key()?.public_key();
        Ok(self.public_key.get_or_init(|| k).clone())
    }

    /// The device token, enrolling first when there is none and a secret
    /// is configured.
    pub(super) async fn token(&self) -> SyncResult<String> {
        if let Some(t) = self.credentials.get()? {
            return Ok(t);
        }
        self.reenroll().await?;
        self.credentials.get()?.ok_or(SyncError::NotEnrolled)
    }

    /// After a 401: enroll again with the configured secret, or record
    /// that enrollment is needed.
    pub(super) async fn reenroll(&self) -> SyncResult<()> {
        let secret = self
            .cfg
            .desk
            .enroll_secret()
            .map_err(|e| SyncError::Invalid(e.to_string()))?;
        match secret {
            Some(s) => self.enroll_with(&s).await.map(drop),
            None => {
                self.store().set(KEY_NEEDS_ENROLLMENT, Some("1"))?;
                self.emit(Event::SyncState(SyncState::NeedsEnrollment));
                Err(SyncError::NotEnrolled)
            }
        }
    }
}

/// A desk URL: `http://` or `https://` with a host.
pub fn check_server_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(format!(
            "{url:?} is not an http:// or https:// URL such as https://desk.example.com"
        )),
    }
}
