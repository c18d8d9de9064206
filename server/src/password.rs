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

/// Letters and digits of one-time passwords: no 0/O, 1/I to misread on a
/// printed handout.
const ONE_TIME_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A one-time password: 12 random characters of a 32-letter alphabet (60
/// bits) in three groups, `ABCD-EFGH-JKLM`. It passes the password policy.
pub fn one_time_password() -> String {
    use argon2::password_hash::rand_core::RngCore;
    let mut out = String::with_capacity(14);
    let mut bytes = [0_u8; 12];
    OsRng.fill_bytes(&mut bytes);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        // 256 is a multiple of 32: every letter is equally likely.
        out.push(char::from(ONE_TIME_ALPHABET[usize::from(*b) % 32]));
    }
    out
}

/// Hashes a one-time password with lighter Argon2id parameters (4 MiB,
/// one pass) than chosen passwords get. A one-time password is 60 random
/// bits that the account must replace at its first sign-in, so guessing
/// it from a stolen hash costs 2^59 Argon2 evaluations on average whatever
/// the parameters; the lighter cost is what lets a city's 30,000 retailer
/// sign-ins be made in under a minute. Verification reads the parameters
/// from the stored hash.
pub fn hash_one_time_blocking(password: &str) -> anyhow::Result<String> {
    let params = argon2::Params::new(4 * 1024, 1, 1, None)
        .map_err(|e| anyhow::anyhow!("bad Argon2 parameters: {e}"))?;
    let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut OsRng);
    argon
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

    #[test]
    fn one_time_passwords_pass_the_policy_and_verify() {
        let pw = one_time_password();
        assert_eq!(pw.len(), 14);
        assert_eq!(pw.matches('-').count(), 2);
        assert!(domain::auth::check_password("110101000001", &pw).is_ok());
        assert_ne!(pw, one_time_password());
        let phc = hash_one_time_blocking(&pw).expect("hashes");
        assert!(phc.starts_with("$argon2id$v=19$m=4096,t=1,p=1$"), "{phc}");
        assert!(verify_blocking(&pw, &phc));
        assert!(!verify_blocking("ABCD-EFGH-JKLM", &phc));
    }

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
