//! Sign-in: what the browser sends, what it gets back, and the password policy.

use serde::{Deserialize, Serialize};

use crate::{Lang, Role};

/// Credentials. Retailers sign in with their licence number (许可证号) as `login`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("login", &self.login)
            .field("password", &"***")
            .finish()
    }
}

/// A password change by the signed-in user.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// The signed-in user and the scope of what they may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    pub user_id: i64,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    /// The retailer behind a retailer account.
    pub retailer_id: Option<i64>,
    /// Name of the org unit the user belongs to (or the retailer's market department).
    pub unit_name: String,
    /// Token the browser echoes in the `X-CSRF-Token` header on every write.
    pub csrf_token: String,
    /// Signed in with a one-time password: nothing but a password change
    /// (and signing out) is allowed until a new password is chosen.
    #[serde(default)]
    pub must_change_password: bool,
}

/// Settings of the sign-in lockout (data, not constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutPolicy {
    /// Failed attempts in a row that lock the account.
    pub max_failures: u32,
    /// How long the lock lasts, in seconds.
    pub lock_seconds: i64,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            lock_seconds: 15 * 60,
        }
    }
}

impl LockoutPolicy {
    /// Whether `failures` consecutive failures lock the account.
    pub fn locks_after(&self, failures: u32) -> bool {
        failures >= self.max_failures
    }
}

/// Minimum password length in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Why a password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password too short")]
    TooShort,
    #[error("password is commonly used")]
    Common,
    #[error("password contains the user name")]
    ContainsUserName,
    #[error("password is one repeated character")]
    Repetitive,
    #[error("password is the current one")]
    Reused,
}

impl PasswordError {
    pub fn message(self, lang: Lang) -> &'static str {
        match self {
            PasswordError::TooShort => lang.pick(
                "密码至少需要 10 个字符",
                "The password must have at least 10 characters",
            ),
            PasswordError::Common => lang.pick(
                "这个密码太常见，容易被猜中，请换一个",
                "This password is too common and easy to guess; choose another",
            ),
            PasswordError::ContainsUserName => lang.pick(
                "密码不能包含账号名",
                "The password must not contain the user name",
            ),
            PasswordError::Repetitive => lang.pick(
                "密码不能由同一个字符重复组成",
                "The password must not be one character repeated",
            ),
            PasswordError::Reused => lang.pick(
                "新密码不能与当前密码相同",
                "The new password must differ from the current one",
            ),
        }
    }
}

/// Passwords of 10+ characters that appear at the top of public leaked-password
/// lists, including the ones common among Chinese users. Kept short on purpose:
/// the same check runs in the browser bundle, where a full dictionary (such as
/// the one in `zxcvbn`) would add most of a megabyte.
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "0123456789",
    "0987654321",
    "9876543210",
    "12345678910",
    "123456789a",
    "a123456789",
    "1234567890a",
    "123456789q",
    "qwertyuiop",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "qazwsxedcrfv",
    "zaq12wsxcde3",
    "asdfghjkl;",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "p@ssw0rd123",
    "iloveyou12",
    "iloveyou123",
    "woaini1314",
    "woaini520",
    "5201314520",
    "1314520520",
    "woaiwojia123",
    "abc1234567",
    "abcd123456",
    "abcdefghij",
    "abc123456789",
    "qwerty12345",
    "qwerty123456",
    "1qaz2wsx3e",
    "aa12345678",
    "admin12345",
    "admin123456",
    "administrator",
    "welcome123",
    "letmein123",
    "1122334455",
    "1212121212",
    "1231231234",
    "5555555555",
    "zxcvbnm123",
    "asdf123456",
    "qweasdzxc1",
    "qweasdzxc123",
    "1234qwerasdf",
    "123qweasdzxc",
    "tobacco123",
    "yancao123456",
    "zhongguo123",
    "china12345",
    "huanghelou123",
];

/// Checks a new password against the policy: at least 10 characters, not a
/// common password, not containing the user name, not one repeated character.
pub fn check_password(user_name: &str, password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    let lowered = password.to_lowercase();
    if COMMON_PASSWORDS.iter().any(|p| *p == lowered) {
        return Err(PasswordError::Common);
    }
    let name = user_name.trim().to_lowercase();
    if name.chars().count() >= 3 && lowered.contains(&name) {
        return Err(PasswordError::ContainsUserName);
    }
    let mut chars = password.chars();
    if let Some(first) = chars.next() {
        if chars.all(|c| c == first) {
            return Err(PasswordError::Repetitive);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn password_policy_refuses_weak_passwords_with_the_reason() {
        let cases = [
            (
                "zhangsan",
                "short1",
                Err(PasswordError::TooShort),
                "under 10 characters",
            ),
            (
                "zhangsan",
                "1234567890",
                Err(PasswordError::Common),
                "common digits",
            ),
            (
                "zhangsan",
                "WoAiNi1314",
                Err(PasswordError::Common),
                "common, case-insensitive",
            ),
            (
                "zhangsan",
                "zhangsan2024!",
                Err(PasswordError::ContainsUserName),
                "contains name",
            ),
            (
                "zhangsan",
                "ZHANGSAN-2024",
                Err(PasswordError::ContainsUserName),
                "contains name, upper case",
            ),
            (
                "zhangsan",
                "xxxxxxxxxxxx",
                Err(PasswordError::Repetitive),
                "one repeated char",
            ),
            (
                "zhangsan",
                "青山绿水长流不息的河流啊",
                Ok(()),
                "10+ Chinese characters",
            ),
            ("zhangsan", "Tea-Kettle-42", Ok(()), "a reasonable password"),
        ];
        for (user, pw, expected, why) in cases {
            assert_eq!(check_password(user, pw), expected, "{why}");
        }
    }

    #[test]
    fn lockout_locks_at_the_configured_failure_count() {
        let policy = LockoutPolicy::default();
        assert!(!policy.locks_after(4));
        assert!(policy.locks_after(5));
    }

    #[test]
    fn login_request_debug_never_shows_the_password() {
        let req = LoginRequest {
            login: "u".into(),
            password: "secret-value-1".into(),
        };
        assert!(!format!("{req:?}").contains("secret"));
    }

    proptest! {
        #[test]
        fn every_accepted_password_is_long_enough(user in "[a-z]{3,8}", pw in "\\PC{0,16}") {
            if check_password(&user, &pw).is_ok() {
                prop_assert!(pw.chars().count() >= MIN_PASSWORD_CHARS);
                prop_assert!(!pw.to_lowercase().contains(&user));
            }
        }
    }
}
