//! Sign-in failures per attempted login name and client address.
//!
//! An attempt is counted before the password is checked ([`reserve`]) and
//! refused once the count reaches the limit, in one statement: parallel
//! attempts each take a place in the count, so no more than the limit are
//! ever checked. A failure then locks the pair once the count is full
//! ([`fail`]); a success forgets the pair ([`forget`]). Names that are not
//! accounts are counted the same way, so a lock tells nothing about which
//! accounts exist.

use domain::auth::LockoutPolicy;
use sqlx::AnyConnection;

/// The outcome of asking to check a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Go ahead; this is the n-th attempt in the current run.
    Granted(i64),
    /// Locked until this time, or full of attempts still being checked.
    Refused { until: i64 },
}

/// The key a login name is counted under: trimmed, lower case, at most 64 characters.
pub fn key_of(login: &str) -> String {
    login.trim().to_lowercase().chars().take(64).collect()
}

/// Takes a place in the count for `login` from `address`, unless the pair
/// is locked or already has `policy.max_failures` attempts counted. A lock
/// that has expired, or failures older than the lock time, start afresh.
pub async fn reserve(
    conn: &mut AnyConnection,
    login: &str,
    address: &str,
    policy: LockoutPolicy,
    now: i64,
) -> sqlx::Result<Reservation> {
    let max = i64::from(policy.max_failures);
    let stale_before = now - policy.lock_seconds;
    let granted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO login_attempts (login, address, failures, locked_until, updated_at) \
         VALUES ($1, $2, 1, 0, $3) \
         ON CONFLICT (login, address) DO UPDATE SET \
           failures = CASE WHEN (login_attempts.locked_until > 0 AND login_attempts.locked_until <= $3) \
                             OR (login_attempts.locked_until = 0 AND login_attempts.updated_at < $5) \
                           THEN 1 ELSE login_attempts.failures + 1 END, \
           locked_until = CASE WHEN login_attempts.locked_until <= $3 THEN 0 ELSE login_attempts.locked_until END, \
           updated_at = $3 \
         WHERE (login_attempts.locked_until = 0 AND (login_attempts.failures < $4 OR login_attempts.updated_at < $5)) \
            OR (login_attempts.locked_until > 0 AND login_attempts.locked_until <= $3) \
         RETURNING failures",
    )
    .bind(login)
    .bind(address)
    .bind(now)
    .bind(max)
    .bind(stale_before)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(n) = granted {
        return Ok(Reservation::Granted(n));
    }
    let locked: Option<i64> = sqlx::query_scalar(
        "SELECT locked_until FROM login_attempts WHERE login = $1 AND address = $2",
    )
    .bind(login)
    .bind(address)
    .fetch_optional(conn)
    .await?;
    let until = locked
        .filter(|&t| t > now)
        .unwrap_or(now + policy.lock_seconds);
    Ok(Reservation::Refused { until })
}

/// Records that a reserved attempt failed: locks the pair when its count is
/// full. Returns the lock's end if this failure set it.
pub async fn fail(
    conn: &mut AnyConnection,
    login: &str,
    address: &str,
    policy: LockoutPolicy,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    let until = now + policy.lock_seconds;
    let locked = sqlx::query(
        "UPDATE login_attempts SET locked_until = $3, updated_at = $4 \
         WHERE login = $1 AND address = $2 AND failures >= $5 AND locked_until = 0",
    )
    .bind(login)
    .bind(address)
    .bind(until)
    .bind(now)
    .bind(i64::from(policy.max_failures))
    .execute(conn)
    .await?;
    Ok((locked.rows_affected() > 0).then_some(until))
}

/// Forgets the pair's failures after a successful sign-in.
pub async fn forget(conn: &mut AnyConnection, login: &str, address: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_attempts WHERE login = $1 AND address = $2")
        .bind(login)
        .bind(address)
        .execute(conn)
        .await?;
    Ok(())
}

/// Clears every lock on a login (an administrator's unlock).
pub async fn unlock(conn: &mut AnyConnection, login: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM login_attempts WHERE login = $1")
        .bind(login)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Drops rows that no longer lock or count anything.
pub async fn sweep(conn: &mut AnyConnection, policy: LockoutPolicy, now: i64) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM login_attempts WHERE locked_until <= $1 AND updated_at < $2")
            .bind(now)
            .bind(now - policy.lock_seconds)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}
