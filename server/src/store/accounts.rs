//! Accounts administration: the account list, staff accounts, one-time
//! passwords, and the bulk runs that give retailers their sign-ins.

use domain::accounts::{AccountJob, AccountScope, JobState, UserView, PAGE_SIZE};
use domain::org::UnitKind;
use domain::Role;
use sqlx::AnyConnection;

use crate::db::{now_unix, Backend};

#[derive(sqlx::FromRow)]
struct RawView {
    id: i64,
    login: String,
    display_name: String,
    role: String,
    org_unit_id: i64,
    unit_name: String,
    retailer_id: Option<i64>,
    active: i64,
    locked: i64,
    must_change_password: i64,
    has_password: i64,
    version: i64,
}

impl TryFrom<RawView> for UserView {
    type Error = sqlx::Error;
    fn try_from(r: RawView) -> Result<Self, Self::Error> {
        let role = Role::parse(&r.role)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {}", r.role).into()))?;
        Ok(UserView {
            id: r.id,
            login: r.login,
            display_name: r.display_name,
            role,
            unit_id: r.org_unit_id,
            unit_name: r.unit_name,
            retailer_id: r.retailer_id,
            active: r.active != 0,
            locked: r.locked != 0,
            must_change_password: r.must_change_password != 0,
            has_password: r.has_password != 0,
            version: r.version,
        })
    }
}

/// The columns of [`UserView`]; `$1` is the current time (for locks).
const VIEW: &str = "SELECT u.id, u.login, u.display_name, u.role, u.org_unit_id, o.name AS unit_name, \
        u.retailer_id, u.active, \
        CASE WHEN EXISTS (SELECT 1 FROM login_attempts a WHERE a.login = LOWER(u.login) AND a.locked_until > $1) \
             OR COALESCE(u.locked_until, 0) > $1 THEN 1 ELSE 0 END AS locked, \
        u.must_change_password, \
        CASE WHEN u.password_hash IS NULL OR u.password_hash = '' THEN 0 ELSE 1 END AS has_password, \
        u.version \
    FROM users u JOIN org_units o ON o.id = u.org_unit_id";

/// Which accounts to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Part of the login or the name.
    pub text: Option<String>,
    pub role: Option<Role>,
    pub unit_id: Option<i64>,
    pub active: Option<bool>,
}

/// `text` as a LIKE pattern that matches it anywhere, with `%`, `_` and
/// the escape character itself taken literally.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// One page of accounts (1-based) and the number that match.
pub async fn list(
    conn: &mut AnyConnection,
    filter: &Filter,
    page: i64,
) -> sqlx::Result<(Vec<UserView>, i64)> {
    let pattern = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(contains_pattern);
    let clause =
        "WHERE ($2 IS NULL OR LOWER(u.login) LIKE LOWER($2) ESCAPE '\\' OR LOWER(u.display_name) LIKE LOWER($2) ESCAPE '\\') \
          AND ($3 IS NULL OR u.role = $3) \
          AND ($4 IS NULL OR u.org_unit_id = $4) \
          AND ($5 IS NULL OR u.active = $5)";
    let role = filter.role.map(|r| r.as_str().to_string());
    let active = filter.active.map(i64::from);
    let now = now_unix();
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM users u WHERE $1 = $1 AND {}",
        &clause[6..]
    ))
    .bind(now)
    .bind(pattern.clone())
    .bind(role.clone())
    .bind(filter.unit_id)
    .bind(active)
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<RawView> = sqlx::query_as(&format!(
        "{VIEW} {clause} ORDER BY u.role = 'retailer', u.id LIMIT $6 OFFSET $7"
    ))
    .bind(now)
    .bind(pattern)
    .bind(role)
    .bind(filter.unit_id)
    .bind(active)
    .bind(PAGE_SIZE)
    .bind((page.max(1) - 1).saturating_mul(PAGE_SIZE))
    .fetch_all(&mut *conn)
    .await?;
    let users = rows
        .into_iter()
        .map(UserView::try_from)
        .collect::<sqlx::Result<Vec<_>>>()?;
    Ok((users, total))
}

pub async fn view(conn: &mut AnyConnection, id: i64) -> sqlx::Result<Option<UserView>> {
    let raw: Option<RawView> = sqlx::query_as(&format!("{VIEW} WHERE u.id = $2"))
        .bind(now_unix())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    raw.map(UserView::try_from).transpose()
}

/// The kind of a unit, if it exists.
pub async fn unit_kind(conn: &mut AnyConnection, id: i64) -> sqlx::Result<Option<UnitKind>> {
    let kind: Option<String> = sqlx::query_scalar("SELECT kind FROM org_units WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(kind.as_deref().and_then(UnitKind::parse))
}

/// Whether a login name is taken (case-insensitively: sign-in counts
/// failures by the lower-cased name).
pub async fn login_taken(conn: &mut AnyConnection, login: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE LOWER(login) = LOWER($1)")
        .bind(login)
        .fetch_one(conn)
        .await?;
    Ok(n > 0)
}

/// Whether a login name is a retailer's licence number: that name is
/// kept for the retailer's own sign-in.
pub async fn is_licence(conn: &mut AnyConnection, login: &str) -> sqlx::Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM retailers WHERE LOWER(licence_no) = LOWER($1)")
            .bind(login)
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

/// A new staff account with a one-time password; its id.
pub async fn insert_staff(
    conn: &mut AnyConnection,
    login: &str,
    display_name: &str,
    role: Role,
    unit_id: i64,
    hash: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO users (login, display_name, role, org_unit_id, password_hash, must_change_password, created_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
    )
    .bind(login)
    .bind(display_name)
    .bind(role.as_str())
    .bind(unit_id)
    .bind(hash)
    .bind(now_unix())
    .fetch_one(conn)
    .await
}

/// Takes the rows of the active administrators for the rest of the
/// transaction (PostgreSQL; SQLite's write transaction holds the whole
/// database), so that two changes at once cannot both remove "the other"
/// last administrator. Returns their ids.
pub async fn lock_admins(conn: &mut AnyConnection, backend: Backend) -> sqlx::Result<Vec<i64>> {
    let sql = match backend {
        Backend::Postgres => {
            "SELECT id FROM users WHERE role = 'admin' AND active = 1 ORDER BY id FOR UPDATE"
        }
        Backend::Sqlite => "SELECT id FROM users WHERE role = 'admin' AND active = 1 ORDER BY id",
    };
    sqlx::query_scalar(sql).fetch_all(conn).await
}

/// The account's row for a change, taken for the rest of the transaction.
pub async fn lock_user(
    conn: &mut AnyConnection,
    backend: Backend,
    id: i64,
) -> sqlx::Result<Option<(Role, i64, bool, String)>> {
    let sql = match backend {
        Backend::Postgres => {
            "SELECT role, version, active, login FROM users WHERE id = $1 FOR UPDATE"
        }
        Backend::Sqlite => "SELECT role, version, active, login FROM users WHERE id = $1",
    };
    let row: Option<(String, i64, i64, String)> =
        sqlx::query_as(sql).bind(id).fetch_optional(conn).await?;
    row.map(|(role, version, active, login)| {
        Role::parse(&role)
            .map(|r| (r, version, active != 0, login))
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))
    })
    .transpose()
}

/// Applies a change at `version` (compare-and-set); a deactivation also
/// ends every session of the account. `None` if the account moved first.
#[allow(clippy::too_many_arguments)]
pub async fn change(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    role: Role,
    unit_id: i64,
    display_name: &str,
    active: bool,
    end_sessions: bool,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "UPDATE users SET role = $3, org_unit_id = $4, display_name = $5, active = $6, \
             session_epoch = session_epoch + $7, version = version + 1 \
         WHERE id = $1 AND version = $2 RETURNING version",
    )
    .bind(id)
    .bind(version)
    .bind(role.as_str())
    .bind(unit_id)
    .bind(display_name)
    .bind(i64::from(active))
    .bind(i64::from(end_sessions))
    .fetch_optional(conn)
    .await
}

/// Replaces the password with a one-time one that must be changed at the
/// next sign-in, and ends every session of the account.
pub async fn set_one_time_password(
    conn: &mut AnyConnection,
    id: i64,
    hash: &str,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE users SET password_hash = $2, must_change_password = 1, \
             session_epoch = session_epoch + 1, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Lifts every sign-in lock of a login name, from every address.
pub async fn unlock(conn: &mut AnyConnection, id: i64, login: &str) -> sqlx::Result<u64> {
    let key = crate::store::login_attempts::key_of(login);
    let pairs = sqlx::query("DELETE FROM login_attempts WHERE login = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(pairs)
}

/// A retailer that will get a sign-in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RetailerToOpen {
    pub retailer_id: i64,
    pub licence_no: String,
    pub name: String,
    pub market_unit_id: i64,
    pub manager_name: String,
}

/// The retailers of a scope without a sign-in, by licence number, and how
/// many of the scope have one already. Licences that are not retailers are
/// returned in the third place.
pub async fn retailers_to_open(
    conn: &mut AnyConnection,
    scope: &AccountScope,
) -> sqlx::Result<(Vec<RetailerToOpen>, i64, Vec<String>)> {
    const SELECT: &str = "SELECT r.id AS retailer_id, r.licence_no, r.name, r.market_unit_id, \
            m.display_name AS manager_name, \
            CASE WHEN a.id IS NULL THEN 0 ELSE 1 END AS has_account \
        FROM retailers r JOIN users m ON m.id = r.manager_id \
        LEFT JOIN users a ON a.retailer_id = r.id";
    #[derive(sqlx::FromRow)]
    struct Row {
        retailer_id: i64,
        licence_no: String,
        name: String,
        market_unit_id: i64,
        manager_name: String,
        has_account: i64,
    }
    let (rows, unknown): (Vec<Row>, Vec<String>) = match scope {
        AccountScope::MarketUnit { unit_id } => (
            sqlx::query_as(&format!(
                "{SELECT} WHERE r.market_unit_id = $1 ORDER BY r.licence_no"
            ))
            .bind(unit_id)
            .fetch_all(&mut *conn)
            .await?,
            Vec::new(),
        ),
        AccountScope::AllEnrolled => (
            sqlx::query_as(&format!(
                "{SELECT} WHERE r.online_replenishment = 1 ORDER BY r.licence_no"
            ))
            .fetch_all(&mut *conn)
            .await?,
            Vec::new(),
        ),
        AccountScope::Licences { licences } => {
            let wanted: std::collections::BTreeSet<&str> = licences
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .collect();
            let mut rows = Vec::with_capacity(wanted.len());
            let list: Vec<&str> = wanted.iter().copied().collect();
            // Bound in chunks: both databases limit the parameters of one statement.
            for chunk in list.chunks(5_000) {
                let marks = (1..=chunk.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(",");
                let sql = format!("{SELECT} WHERE r.licence_no IN ({marks}) ORDER BY r.licence_no");
                let mut q = sqlx::query_as::<_, Row>(&sql);
                for l in chunk {
                    q = q.bind(*l);
                }
                rows.extend(q.fetch_all(&mut *conn).await?);
            }
            let found: std::collections::BTreeSet<&str> =
                rows.iter().map(|r| r.licence_no.as_str()).collect();
            let unknown = wanted
                .iter()
                .filter(|l| !found.contains(*l))
                .map(|l| l.to_string())
                .collect();
            (rows, unknown)
        }
    };
    let skipped = rows.iter().filter(|r| r.has_account != 0).count() as i64;
    let open = rows
        .into_iter()
        .filter(|r| r.has_account == 0)
        .map(|r| RetailerToOpen {
            retailer_id: r.retailer_id,
            licence_no: r.licence_no,
            name: r.name,
            market_unit_id: r.market_unit_id,
            manager_name: r.manager_name,
        })
        .collect();
    Ok((open, skipped, unknown))
}

/// Logins among `logins` that are taken already (lower-cased).
pub async fn taken_logins(
    conn: &mut AnyConnection,
    logins: &[&str],
) -> sqlx::Result<std::collections::HashSet<String>> {
    let mut taken = std::collections::HashSet::new();
    for chunk in logins.chunks(5_000) {
        let marks = (1..=chunk.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!("SELECT LOWER(login) FROM users WHERE LOWER(login) IN ({marks})");
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for l in chunk {
            q = q.bind(l.to_lowercase());
        }
        taken.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(taken)
}

/// Marks running jobs whose process stopped beating as failed, then
/// starts a new one. Fails with a unique violation while another runs.
pub async fn start_job(
    conn: &mut AnyConnection,
    created_by: i64,
    scope: &str,
    stale_after: i64,
) -> sqlx::Result<i64> {
    let now = now_unix();
    sqlx::query(
        "UPDATE account_jobs SET state = 'failed', error = 'interrupted', finished_at = $1 \
         WHERE state = 'running' AND heartbeat < $2",
    )
    .bind(now)
    .bind(now - stale_after)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar(
        "INSERT INTO account_jobs (created_by, created_at, scope, state, heartbeat) \
         VALUES ($1, $2, $3, 'running', $2) RETURNING id",
    )
    .bind(created_by)
    .bind(now)
    .bind(scope)
    .fetch_one(conn)
    .await
}

pub async fn job_counts(
    conn: &mut AnyConnection,
    id: i64,
    total: i64,
    hashed: i64,
    skipped: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE account_jobs SET total = $2, hashed = $3, skipped = $4, heartbeat = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(total)
    .bind(hashed)
    .bind(skipped)
    .bind(now_unix())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn finish_job(
    conn: &mut AnyConnection,
    id: i64,
    created: i64,
    skipped: i64,
    handout: Vec<u8>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE account_jobs SET state = 'done', created = $2, skipped = $3, handout = $4, finished_at = $5, heartbeat = $5, \
             hashed = total \
         WHERE id = $1",
    )
    .bind(id)
    .bind(created)
    .bind(skipped)
    .bind(handout)
    .bind(now_unix())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn fail_job(conn: &mut AnyConnection, id: i64, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE account_jobs SET state = 'failed', error = $2, finished_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(now_unix())
    .execute(conn)
    .await?;
    Ok(())
}

/// A running job that has not written progress for this long is taken
/// to have died with its process.
pub const STALE_AFTER: i64 = 300;

/// A job as its starter sees it.
pub async fn job(conn: &mut AnyConnection, id: i64) -> sqlx::Result<Option<AccountJob>> {
    #[derive(sqlx::FromRow)]
    struct Raw {
        id: i64,
        state: String,
        total: i64,
        hashed: i64,
        created: i64,
        skipped: i64,
        error: Option<String>,
        handout_ready: i64,
        downloaded_at: Option<i64>,
        created_at: i64,
    }
    // A run whose process stopped beating shows as failed at once, not
    // only when the next run starts.
    let raw: Option<Raw> = sqlx::query_as(
        "SELECT id, \
                CASE WHEN state = 'running' AND heartbeat < $2 THEN 'failed' ELSE state END AS state, \
                total, hashed, created, skipped, \
                CASE WHEN state = 'running' AND heartbeat < $2 THEN 'interrupted' ELSE error END AS error, \
                CASE WHEN handout IS NULL THEN 0 ELSE 1 END AS handout_ready, downloaded_at, created_at \
         FROM account_jobs WHERE id = $1",
    )
    .bind(id)
    .bind(now_unix() - STALE_AFTER)
    .fetch_optional(conn)
    .await?;
    raw.map(|r| {
        Ok(AccountJob {
            id: r.id,
            state: JobState::parse(&r.state)
                .ok_or_else(|| sqlx::Error::Decode(format!("bad job state {}", r.state).into()))?,
            total: r.total,
            hashed: r.hashed,
            created: r.created,
            skipped: r.skipped,
            error: r.error,
            handout_ready: r.handout_ready != 0,
            downloaded_at: r.downloaded_at,
            created_at: r.created_at,
        })
    })
    .transpose()
}

/// Takes the handout out of the job, once: the first caller gets the bytes
/// and they are deleted in the same statement.
pub async fn take_handout(conn: &mut AnyConnection, id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    // Read and clear in one transaction owned by the caller; the UPDATE's
    // WHERE makes a second taker find nothing.
    let bytes: Option<Option<Vec<u8>>> = sqlx::query_scalar(
        "SELECT handout FROM account_jobs WHERE id = $1 AND handout IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(Some(bytes)) = bytes else {
        return Ok(None);
    };
    let n = sqlx::query(
        "UPDATE account_jobs SET handout = NULL, downloaded_at = $2 WHERE id = $1 AND handout IS NOT NULL",
    )
    .bind(id)
    .bind(now_unix())
    .execute(conn)
    .await?
    .rows_affected();
    Ok((n == 1).then_some(bytes))
}

/// Deletes handouts nobody downloaded within `keep` seconds.
pub async fn expire_handouts(conn: &mut AnyConnection, keep: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE account_jobs SET handout = NULL WHERE handout IS NOT NULL AND finished_at < $1",
    )
    .bind(now_unix() - keep)
    .execute(conn)
    .await?
    .rows_affected())
}
