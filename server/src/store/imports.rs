//! Import jobs and the master data an import compares its rows with.

use std::collections::HashMap;

use domain::masterdata::{ImportJob, ImportKind, ImportState};
use sqlx::{AnyConnection, AnyPool};

use crate::db::now_unix;

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    file_name: String,
    state: String,
    done: i64,
    total: i64,
    preview: Option<String>,
    result: Option<String>,
    error: Option<String>,
    created_at: i64,
    created_by: String,
    heartbeat: i64,
}

/// A job with its file's hash, its mapping and its owner.
pub struct Job {
    pub view: ImportJob,
    pub file_hash: String,
    pub mapping: String,
    pub created_by_id: i64,
    pub heartbeat: i64,
}

pub async fn insert(
    pool: &AnyPool,
    kind: ImportKind,
    actor_id: i64,
    file_name: &str,
    file_hash: &str,
    mapping: &str,
) -> sqlx::Result<i64> {
    let now = now_unix();
    sqlx::query_scalar(
        "INSERT INTO import_jobs (kind, created_by, created_at, file_name, file_hash, state, mapping, heartbeat) \
         VALUES ($1, $2, $3, $4, $5, 'checking', $6, $3) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(actor_id)
    .bind(now)
    .bind(file_name)
    .bind(file_hash)
    .bind(mapping)
    .fetch_one(pool)
    .await
}

pub async fn load(pool: &AnyPool, id: i64) -> sqlx::Result<Option<Job>> {
    let row: Option<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT created_by, file_hash, mapping, heartbeat FROM import_jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some((created_by_id, file_hash, mapping, heartbeat)) = row else {
        return Ok(None);
    };
    let Some(view) = view(pool, id).await? else {
        return Ok(None);
    };
    Ok(Some(Job {
        view,
        file_hash,
        mapping,
        created_by_id,
        heartbeat,
    }))
}

pub async fn view(pool: &AnyPool, id: i64) -> sqlx::Result<Option<ImportJob>> {
    let row: Option<JobRow> = sqlx::query_as(
        "SELECT j.id, j.kind, j.file_name, j.state, j.done, j.total, j.preview, j.result, j.error, \
                j.created_at, u.display_name AS created_by, j.heartbeat \
         FROM import_jobs j JOIN users u ON u.id = j.created_by WHERE j.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let decode = |e: serde_json::Error| sqlx::Error::Decode(e.into());
    let _ = r.heartbeat;
    Ok(Some(ImportJob {
        id: r.id,
        kind: ImportKind::parse(&r.kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("bad import kind {}", r.kind).into()))?,
        file_name: r.file_name,
        state: ImportState::parse(&r.state)
            .ok_or_else(|| sqlx::Error::Decode(format!("bad import state {}", r.state).into()))?,
        done: r.done.max(0) as u64,
        total: r.total.max(0) as u64,
        preview: r
            .preview
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(decode)?,
        result: r
            .result
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(decode)?,
        error: r.error,
        created_at: r.created_at,
        created_by: r.created_by,
    }))
}

/// Progress of the running step.
pub async fn progress(pool: &AnyPool, id: i64, done: u64, total: u64) -> sqlx::Result<()> {
    sqlx::query("UPDATE import_jobs SET done = $2, total = $3, heartbeat = $4 WHERE id = $1")
        .bind(id)
        .bind(done as i64)
        .bind(total as i64)
        .bind(now_unix())
        .execute(pool)
        .await
        .map(drop)
}

/// Moves a job from `from` to `to`; false when it was not in `from`
/// (another request moved it first).
pub async fn transition(
    pool: &AnyPool,
    id: i64,
    from: ImportState,
    to: ImportState,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE import_jobs SET state = $3, done = 0, heartbeat = $4 WHERE id = $1 AND state = $2",
    )
    .bind(id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(now_unix())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn checked(pool: &AnyPool, id: i64, mapping: &str, preview: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE import_jobs SET state = 'checked', mapping = $2, preview = $3, done = total, \
         heartbeat = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(mapping)
    .bind(preview)
    .bind(now_unix())
    .execute(pool)
    .await
    .map(drop)
}

/// Marks the job applied in the import's own transaction.
pub async fn applied(conn: &mut AnyConnection, id: i64, result: &str) -> sqlx::Result<()> {
    let now = now_unix();
    sqlx::query(
        "UPDATE import_jobs SET state = 'applied', result = $2, done = total, heartbeat = $3, \
         finished_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(result)
    .bind(now)
    .execute(conn)
    .await
    .map(drop)
}

/// A step ended in an error: back to `state` (a failed apply leaves the
/// checked preview to try again) with the message.
pub async fn failed(pool: &AnyPool, id: i64, state: ImportState, error: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE import_jobs SET state = $2, error = $3, heartbeat = $4 WHERE id = $1")
        .bind(id)
        .bind(state.as_str())
        .bind(error)
        .bind(now_unix())
        .execute(pool)
        .await
        .map(drop)
}

/// An org unit as imports read them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Unit {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub kind: String,
    pub name: String,
}

pub async fn units(conn: &mut AnyConnection) -> sqlx::Result<Vec<Unit>> {
    sqlx::query_as("SELECT id, parent_id, kind, name FROM org_units ORDER BY id")
        .fetch_all(conn)
        .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Person {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub role: String,
    pub org_unit_id: i64,
    pub active: i64,
}

pub async fn people(conn: &mut AnyConnection) -> sqlx::Result<Vec<Person>> {
    sqlx::query_as(
        "SELECT id, login, display_name, role, org_unit_id, active FROM users WHERE role <> 'retailer'",
    )
    .fetch_all(conn)
    .await
}

pub async fn classes(conn: &mut AnyConnection) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT code, label FROM customer_classes ORDER BY rank")
        .fetch_all(conn)
        .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SpecRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub brand: String,
    pub price_class: i64,
    pub wholesale_fen: i64,
    pub retail_fen: i64,
    pub order_multiple: i64,
    pub orderable: i64,
    pub scarce: i64,
    pub is_new: i64,
}

pub async fn specs(conn: &mut AnyConnection) -> sqlx::Result<Vec<SpecRow>> {
    sqlx::query_as(
        "SELECT id, code, name, brand, price_class, wholesale_fen, retail_fen, order_multiple, \
         orderable, scarce, is_new FROM specs",
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RetailerRow {
    pub id: i64,
    pub licence_no: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub class_code: String,
    pub manager_id: i64,
    pub market_unit_id: i64,
    pub order_weekday: i64,
    pub status: String,
    pub closed_on: Option<String>,
    pub online_replenishment: i64,
}

pub async fn retailers(conn: &mut AnyConnection) -> sqlx::Result<Vec<RetailerRow>> {
    sqlx::query_as(
        "SELECT id, licence_no, name, address, phone, class_code, manager_id, market_unit_id, \
         order_weekday, status, closed_on, online_replenishment FROM retailers",
    )
    .fetch_all(conn)
    .await
}

/// Licence → retailer id.
pub async fn licences(conn: &mut AnyConnection) -> sqlx::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT licence_no, id FROM retailers")
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Order rows already stored for a month.
pub async fn month_rows(conn: &mut AnyConnection, month: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM monthly_orders WHERE month = $1")
        .bind(month)
        .fetch_one(conn)
        .await
}

/// (retailer, spec) → cartons of a month.
pub async fn month_orders(
    conn: &mut AnyConnection,
    month: &str,
) -> sqlx::Result<HashMap<(i64, i64), i64>> {
    let rows: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT retailer_id, spec_id, cartons FROM monthly_orders WHERE month = $1")
            .bind(month)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(r, s, c)| ((r, s), c)).collect())
}

/// Upserts order rows (retailer, spec, month, cartons). PostgreSQL takes
/// each column as one text parameter unnested into an array (the `Any`
/// driver binds no arrays): four parameters for any number of rows, where
/// a multi-row `INSERT` makes the server parse and plan 30,000 of them per
/// statement (30,000 rows/s against about ten times that).
pub async fn upsert_orders(
    conn: &mut AnyConnection,
    postgres: bool,
    upsert: bool,
    rows: &[(i64, i64, &str, i64)],
) -> sqlx::Result<()> {
    // New keys go in without the conflict check (about a third faster).
    let conflict = if upsert {
        "ON CONFLICT (retailer_id, spec_id, month) DO UPDATE SET cartons = excluded.cartons"
    } else {
        ""
    };
    if !postgres {
        let values: Vec<Vec<crate::db::Value>> = rows
            .iter()
            .map(|&(r, s, m, c)| vec![r.into(), s.into(), m.into(), c.into()])
            .collect();
        crate::db::upsert_rows(
            conn,
            "monthly_orders",
            &["retailer_id", "spec_id", "month", "cartons"],
            &values,
            conflict,
        )
        .await?;
        return Ok(());
    }
    let join = |f: &dyn Fn(&(i64, i64, &str, i64)) -> String| {
        rows.iter().map(f).collect::<Vec<_>>().join(",")
    };
    sqlx::query(&format!(
        "INSERT INTO monthly_orders (retailer_id, spec_id, month, cartons) \
         SELECT * FROM UNNEST(string_to_array($1, ',')::bigint[], string_to_array($2, ',')::bigint[], \
                              string_to_array($3, ','), string_to_array($4, ',')::bigint[]) {conflict}"
    ))
    .bind(join(&|r| r.0.to_string()))
    .bind(join(&|r| r.1.to_string()))
    .bind(join(&|r| r.2.to_string()))
    .bind(join(&|r| r.3.to_string()))
    .execute(conn)
    .await?;
    Ok(())
}
