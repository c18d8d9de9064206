//! User accounts and the sign-in bookkeeping (failed attempts, lockout).

use domain::Role;
use sqlx::{AnyConnection, AnyPool};

/// A user account as the server works with it (never sent to clients whole).
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub org_unit_id: i64,
    pub retailer_id: Option<i64>,
    pub password_hash: Option<String>,
    pub failed_attempts: i64,
    pub locked_until: Option<i64>,
    pub active: bool,
    /// Sessions signed in at an older epoch are ended.
    pub session_epoch: i64,
    /// Holds a one-time password: must choose its own before anything else.
    pub must_change_password: bool,
}

#[derive(sqlx::FromRow)]
struct RawUser {
    id: i64,
    login: String,
    display_name: String,
    role: String,
    org_unit_id: i64,
    retailer_id: Option<i64>,
    password_hash: Option<String>,
    failed_attempts: i64,
    locked_until: Option<i64>,
    active: i64,
    session_epoch: i64,
    must_change_password: i64,
}

impl TryFrom<RawUser> for UserRow {
    type Error = sqlx::Error;
    fn try_from(r: RawUser) -> Result<Self, Self::Error> {
        let role = Role::parse(&r.role)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {}", r.role).into()))?;
        Ok(UserRow {
            id: r.id,
            login: r.login,
            display_name: r.display_name,
            role,
            org_unit_id: r.org_unit_id,
            retailer_id: r.retailer_id,
            password_hash: r.password_hash,
            failed_attempts: r.failed_attempts,
            locked_until: r.locked_until,
            active: r.active != 0,
            session_epoch: r.session_epoch,
            must_change_password: r.must_change_password != 0,
        })
    }
}

const COLUMNS: &str = "id, login, display_name, role, org_unit_id, retailer_id, password_hash, failed_attempts, locked_until, active, session_epoch, must_change_password";

pub async fn by_id(pool: &AnyPool, id: i64) -> sqlx::Result<Option<UserRow>> {
    let raw: Option<RawUser> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    raw.map(UserRow::try_from).transpose()
}

pub async fn by_login(pool: &AnyPool, login: &str) -> sqlx::Result<Option<UserRow>> {
    let raw: Option<RawUser> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE login = $1"))
            .bind(login)
            .fetch_optional(pool)
            .await?;
    raw.map(UserRow::try_from).transpose()
}

/// Counts one more failed sign-in and returns the new count.
pub async fn record_failure(conn: &mut AnyConnection, id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = $1 RETURNING failed_attempts")
        .bind(id)
        .fetch_one(conn)
        .await
}

/// Locks the account until `until` and starts counting afresh.
pub async fn lock(conn: &mut AnyConnection, id: i64, until: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET locked_until = $2, failed_attempts = 0 WHERE id = $1")
        .bind(id)
        .bind(until)
        .execute(conn)
        .await?;
    Ok(())
}

/// Clears failures and any lock after a successful sign-in.
pub async fn clear_failures(conn: &mut AnyConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets a new password hash and ends every session signed in before it,
/// if the account is still at session epoch `epoch` (compare-and-set: of
/// two changes made at once, one passes). Returns the new epoch, which the
/// caller's own session takes, or `None` if the account moved first.
pub async fn set_password_hash(
    conn: &mut AnyConnection,
    id: i64,
    phc: &str,
    epoch: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1, \
             must_change_password = 0, version = version + 1 \
         WHERE id = $1 AND session_epoch = $3 RETURNING session_epoch",
    )
    .bind(id)
    .bind(phc)
    .bind(epoch)
    .fetch_optional(conn)
    .await
}

/// The retailer behind a retailer account, for its landing page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RetailerIdentity {
    pub licence_no: String,
    pub name: String,
    pub class_label: String,
    pub online_replenishment: i64,
    pub manager_name: String,
    pub unit_name: String,
}

pub async fn retailer_identity(
    pool: &AnyPool,
    retailer_id: i64,
) -> sqlx::Result<Option<RetailerIdentity>> {
    sqlx::query_as(
        "SELECT r.licence_no, r.name, c.label AS class_label, r.online_replenishment, \
                m.display_name AS manager_name, u.name AS unit_name \
         FROM retailers r \
         JOIN customer_classes c ON c.code = r.class_code \
         JOIN users m ON m.id = r.manager_id \
         JOIN org_units u ON u.id = r.market_unit_id \
         WHERE r.id = $1",
    )
    .bind(retailer_id)
    .fetch_optional(pool)
    .await
}

/// Retailers of one customer manager: total and joined online replenishment.
pub async fn manager_retailer_counts(pool: &AnyPool, manager_id: i64) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(online_replenishment), 0) AS BIGINT) FROM retailers WHERE manager_id = $1",
    )
    .bind(manager_id)
    .fetch_one(pool)
    .await
}
