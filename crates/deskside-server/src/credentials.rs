//! Secrets the desk hands out or accepts: device tokens, API tokens and
//! enroll secrets are 256-bit random values stored only as SHA-256;
//! passwords are stored as argon2id.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random secret: `prefix_` and 64 hex digits (256 bits). The prefix
/// tells a leaked token's kind at a glance (`dsk_dev`, `dsk_api`, `dsk_enr`).
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex(&bytes))
}

/// A new random password an administrator hands to a user: 20 letters and
/// digits without look-alikes (0/O, 1/l/I), in groups of five, about 100
/// bits.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(23);
    for i in 0..20 {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        let n = rand::rng().random_range(0..ALPHABET.len());
        out.push(char::from(ALPHABET[n]));
    }
    out
}

/// What is stored of a token: its SHA-256, hex. A fast hash is right for
/// 256-bit random values, which cannot be guessed.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The CSRF token of a browser session, derived from the session token:
/// the console can ask for it again after a reload (`GET /auth/session`,
/// which only the session's own cookie reaches) and every tab of one
/// session shares it, while nobody without the cookie can compute it.
pub fn session_csrf(session_token: &str) -> String {
    format!(
        "dsk_csrf_{}",
        hex(&Sha256::digest(
            format!("deskside-csrf\0{session_token}").as_bytes()
        ))
    )
}

/// An argon2id hash of a password, with a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches an argon2 hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let (a, b) = (new_token("dsk_dev"), new_token("dsk_dev"));
        assert_ne!(a, b);
        assert!(a.starts_with("dsk_dev_") && a.len() == "dsk_dev_".len() + 64);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert!(!hash_token(&a).contains(&a[8..]));
    }

    #[test]
    fn a_session_has_one_csrf_token_that_does_not_reveal_it() {
        let s = new_token("dsk_ses");
        assert_eq!(session_csrf(&s), session_csrf(&s));
        assert_ne!(session_csrf(&s), session_csrf(&new_token("dsk_ses")));
        assert!(!session_csrf(&s).contains(&s[8..]));
    }

    #[test]
    fn passwords_are_argon2id() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(hash_password("correct horse").unwrap(), h, "salted");
    }
}
