//! Password hashing with Argon2id, always off the async threads.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// Hashes a password into a PHC string (Argon2id, the crate's recommended parameters).
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// Synchronous hashing, for callers already on a blocking thread.
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// Checks a password against a stored PHC string. A malformed hash never matches.
pub async fn verify(password: String, phc: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || verify_blocking(&password, &phc))
        .await
        .map_err(Into::into)
}

/// Synchronous checking, for callers already on a blocking thread.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let phc = hash("Tea-Kettle-42".into()).await.expect("hashes");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("Tea-Kettle-42".into(), phc.clone())
            .await
            .expect("runs"));
        assert!(!verify("Tea-Kettle-43".into(), phc).await.expect("runs"));
        assert!(!verify("x".into(), "not a hash".into()).await.expect("runs"));
    }
}
