//! Stored system baselines and their recompute runs: the history read in
//! retailer slices, the rows written per slice, and the compare-and-set
//! claims that let one server process run a recompute at a time.

use std::collections::HashMap;

use domain::forecast::stored::{BaselineRun, RunSource, RunStatus, StoredMonth};
use domain::month::YearMonth;
use sqlx::{AnyConnection, AnyPool};

use crate::db::{now_unix, upsert_rows, Value};

fn decode_error(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn month_of(s: &str) -> sqlx::Result<YearMonth> {
    s.parse().map_err(decode_error)
}

fn month_opt(s: Option<String>) -> sqlx::Result<Option<YearMonth>> {
    s.as_deref().map(month_of).transpose()
}

/// The latest month of order history (the month index answers it).
pub async fn history_through(pool: &AnyPool) -> sqlx::Result<Option<YearMonth>> {
    let m: Option<String> = sqlx::query_scalar("SELECT MAX(month) FROM monthly_orders")
        .fetch_one(pool)
        .await?;
    month_opt(m)
}

/// The company's orders per month from `first` to `last`, one value per
/// month (0 for a month without orders), from the kept monthly totals.
pub async fn month_totals(
    pool: &AnyPool,
    first: YearMonth,
    last: YearMonth,
) -> sqlx::Result<Vec<f64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT month, CAST(SUM(cartons) AS BIGINT) FROM monthly_spec_totals \
         WHERE month >= $1 AND month <= $2 GROUP BY month",
    )
    .bind(first.to_string())
    .bind(last.to_string())
    .fetch_all(pool)
    .await?;
    let mut totals = vec![0.0; (first.months_until(last) + 1).max(0) as usize];
    for (month, cartons) in rows {
        if let Some(v) = usize::try_from(first.months_until(month_of(&month)?))
            .ok()
            .and_then(|i| totals.get_mut(i))
        {
            *v = cartons as f64;
        }
    }
    Ok(totals)
}

/// Every retailer id, in order: the slices are cut from it.
pub async fn retailer_ids(pool: &AnyPool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM retailers ORDER BY id")
        .fetch_all(pool)
        .await
}

/// The month column in a condition that must not pick the month index.
/// SQLite has no statistics here and takes `monthly_orders_month_idx` for
/// any month range, even the whole window: a slice of 500 retailers then
/// visits all ten million rows of a city (26 s a slice instead of 60 ms).
/// `+month` is SQLite's way to keep a term off the indexes; PostgreSQL
/// plans from its statistics.
fn month_term(postgres: bool) -> &'static str {
    if postgres {
        "month"
    } else {
        "+month"
    }
}

/// Retailer × spec series with an order from `first` to `last` (along the
/// primary key: 4 s for a city's ten million rows on SQLite).
pub async fn series_count(
    pool: &AnyPool,
    postgres: bool,
    first: YearMonth,
    last: YearMonth,
) -> sqlx::Result<i64> {
    let month = month_term(postgres);
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM (SELECT retailer_id, spec_id FROM monthly_orders \
         WHERE {month} >= $1 AND {month} <= $2 AND cartons > 0 GROUP BY retailer_id, spec_id) s",
    ))
    .bind(first.to_string())
    .bind(last.to_string())
    .fetch_one(pool)
    .await
}

/// The orders of the retailers `lo..=hi` from `first` to `last`:
/// (retailer, spec, month, cartons), along the primary key.
pub async fn slice_history(
    pool: &AnyPool,
    postgres: bool,
    (lo, hi): (i64, i64),
    first: YearMonth,
    last: YearMonth,
) -> sqlx::Result<Vec<(i64, i64, YearMonth, i64)>> {
    let month = month_term(postgres);
    let rows: Vec<(i64, i64, String, i64)> = sqlx::query_as(&format!(
        "SELECT retailer_id, spec_id, month, cartons FROM monthly_orders \
         WHERE retailer_id >= $1 AND retailer_id <= $2 AND {month} >= $3 AND {month} <= $4 \
           AND cartons > 0",
    ))
    .bind(lo)
    .bind(hi)
    .bind(first.to_string())
    .bind(last.to_string())
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(r, s, m, c)| Ok((r, s, month_of(&m)?, c)))
        .collect()
}

/// One stored baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub month: YearMonth,
    pub retailer_id: i64,
    pub spec_id: i64,
    pub cartons: i64,
    pub low: i64,
    pub high: i64,
    pub method: &'static str,
}

const COLUMNS: [&str; 8] = [
    "month",
    "retailer_id",
    "spec_id",
    "cartons",
    "low",
    "high",
    "method",
    "history_through",
];

/// Replaces the stored rows of the retailers `lo..=hi` for each month of
/// `clear` with `rows`, in the caller's transaction. PostgreSQL takes each
/// column as one text parameter unnested into an array (as the history
/// import does); SQLite takes multi-row inserts.
pub async fn replace_slice(
    conn: &mut AnyConnection,
    postgres: bool,
    (lo, hi): (i64, i64),
    clear: &[YearMonth],
    rows: &[Row],
    through: YearMonth,
) -> sqlx::Result<()> {
    for month in clear {
        sqlx::query(
            "DELETE FROM baselines WHERE month = $1 AND retailer_id >= $2 AND retailer_id <= $3",
        )
        .bind(month.to_string())
        .bind(lo)
        .bind(hi)
        .execute(&mut *conn)
        .await?;
    }
    if rows.is_empty() {
        return Ok(());
    }
    let through = through.to_string();
    if !postgres {
        let values: Vec<Vec<Value>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.month.to_string().into(),
                    r.retailer_id.into(),
                    r.spec_id.into(),
                    r.cartons.into(),
                    r.low.into(),
                    r.high.into(),
                    r.method.into(),
                    through.as_str().into(),
                ]
            })
            .collect();
        upsert_rows(conn, "baselines", &COLUMNS, &values, "").await?;
        return Ok(());
    }
    let join = |f: &dyn Fn(&Row) -> String| rows.iter().map(f).collect::<Vec<_>>().join(",");
    sqlx::query(
        "INSERT INTO baselines (month, retailer_id, spec_id, cartons, low, high, method, history_through) \
         SELECT m, r, s, c, l, h, k, $8 FROM UNNEST(string_to_array($1, ','), \
             string_to_array($2, ',')::bigint[], string_to_array($3, ',')::bigint[], \
             string_to_array($4, ',')::bigint[], string_to_array($5, ',')::bigint[], \
             string_to_array($6, ',')::bigint[], string_to_array($7, ',')) AS t(m, r, s, c, l, h, k)",
    )
    .bind(join(&|r| r.month.to_string()))
    .bind(join(&|r| r.retailer_id.to_string()))
    .bind(join(&|r| r.spec_id.to_string()))
    .bind(join(&|r| r.cartons.to_string()))
    .bind(join(&|r| r.low.to_string()))
    .bind(join(&|r| r.high.to_string()))
    .bind(join(&|r| r.method.to_string()))
    .bind(through)
    .execute(conn)
    .await?;
    Ok(())
}

/// The history month behind the stored baselines of `month`, if a run has
/// stored it.
pub async fn stored_month(pool: &AnyPool, month: YearMonth) -> sqlx::Result<Option<YearMonth>> {
    let m: Option<String> =
        sqlx::query_scalar("SELECT history_through FROM baseline_months WHERE month = $1")
            .bind(month.to_string())
            .fetch_optional(pool)
            .await?;
    month_opt(m)
}

/// (retailer, spec) → (cartons, low, high) stored for `month`, for the
/// retailers of a sheet and the specs of its cycle: one query, from the
/// sheet's retailers into the primary key (`CROSS JOIN` keeps that order on
/// SQLite, which would otherwise scan the whole month's rows first).
pub async fn sheet_rows(
    pool: &AnyPool,
    sheet_id: i64,
    cycle_id: i64,
    month: YearMonth,
) -> sqlx::Result<HashMap<(i64, i64), (i64, i64, i64)>> {
    let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT b.retailer_id, b.spec_id, b.cartons, b.low, b.high \
         FROM forecast_cycle_retailers f CROSS JOIN baselines b \
         WHERE f.sheet_id = $1 AND b.month = $3 AND b.retailer_id = f.retailer_id \
           AND b.spec_id IN (SELECT spec_id FROM forecast_cycle_specs WHERE cycle_id = $2)",
    )
    .bind(sheet_id)
    .bind(cycle_id)
    .bind(month.to_string())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(r, s, c, l, h)| ((r, s), (c, l, h)))
        .collect())
}

// ----- Runs -----

/// Queues a run unless one is queued already; returns the queued run.
pub async fn request(
    conn: &mut AnyConnection,
    source: RunSource,
    requested_by: Option<i64>,
) -> sqlx::Result<i64> {
    loop {
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO baseline_runs (status, source, requested_by, requested_at) \
             VALUES ('queued', $1, $2, $3) \
             ON CONFLICT (status) WHERE status = 'queued' DO NOTHING RETURNING id",
        )
        .bind(source.as_str())
        .bind(requested_by)
        .bind(now_unix())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = inserted {
            return Ok(id);
        }
        let queued: Option<i64> =
            sqlx::query_scalar("SELECT id FROM baseline_runs WHERE status = 'queued'")
                .fetch_optional(&mut *conn)
                .await?;
        // None: it was claimed between the two statements and runs now;
        // queue one more behind it.
        if let Some(id) = queued {
            return Ok(id);
        }
    }
}

/// Takes over a run whose process stopped beating (no heartbeat for
/// `stale_after` seconds): it starts again from the beginning here.
pub async fn take_over(
    conn: &mut AnyConnection,
    token: &str,
    stale_after: i64,
) -> sqlx::Result<Option<i64>> {
    let now = now_unix();
    sqlx::query_scalar(
        "UPDATE baseline_runs SET claimed_by = $1, heartbeat = $2, started_at = $2, done = 0, \
             error = NULL \
         WHERE status = 'running' AND heartbeat < $3 RETURNING id",
    )
    .bind(token)
    .bind(now)
    .bind(now - stale_after)
    .fetch_optional(conn)
    .await
}

/// Claims the queued run for the process `token` while none runs: the
/// status moves from queued to running in the statement that checks it,
/// so of two processes claiming at once one gets it (and the unique index
/// on the running status refuses a second running run outright).
pub async fn claim(conn: &mut AnyConnection, token: &str) -> sqlx::Result<Option<i64>> {
    let now = now_unix();
    let claimed = sqlx::query_scalar(
        "UPDATE baseline_runs SET status = 'running', claimed_by = $1, started_at = $2, heartbeat = $2 \
         WHERE status = 'queued' \
           AND NOT EXISTS (SELECT 1 FROM baseline_runs r WHERE r.status = 'running') \
         RETURNING id",
    )
    .bind(token)
    .bind(now)
    .fetch_optional(conn)
    .await;
    match claimed {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        other => other,
    }
}

/// Whether a run waits to be claimed or taken over.
pub async fn pending(pool: &AnyPool, stale_after: i64) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM baseline_runs WHERE status = 'queued' \
            OR (status = 'running' AND heartbeat < $1)",
    )
    .bind(now_unix() - stale_after)
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

/// Records what a claimed run reads and computes. False if the run is no
/// longer this process's.
pub async fn start(
    conn: &mut AnyConnection,
    id: i64,
    token: &str,
    through: Option<YearMonth>,
    months: &[YearMonth],
    total: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE baseline_runs SET history_through = $3, first_month = $4, last_month = $5, \
             total = $6, done = 0, heartbeat = $7 \
         WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(token)
    .bind(through.map(|m| m.to_string()))
    .bind(months.first().map(|m| m.to_string()))
    .bind(months.last().map(|m| m.to_string()))
    .bind(total)
    .bind(now_unix())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The heartbeat with the series computed so far. False if the run is no
/// longer this process's (taken over, or ended elsewhere): then it must
/// write nothing more.
pub async fn beat(conn: &mut AnyConnection, id: i64, token: &str, done: i64) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "UPDATE baseline_runs SET done = $3, heartbeat = $4 \
         WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(token)
    .bind(done)
    .bind(now_unix())
    .execute(conn)
    .await?;
    Ok(n.rows_affected() == 1)
}

/// Ends a run as done and records the months it stored, in the caller's
/// transaction; months before `keep_from` are forgotten (their rows were
/// deleted slice by slice). False if the run is no longer this process's.
pub async fn finish(
    conn: &mut AnyConnection,
    id: i64,
    token: &str,
    through: Option<YearMonth>,
    stored: &[(YearMonth, i64)],
    done: i64,
    keep_from: Option<YearMonth>,
) -> sqlx::Result<bool> {
    let now = now_unix();
    let n = sqlx::query(
        "UPDATE baseline_runs SET status = 'done', done = $3, finished_at = $4, heartbeat = $4 \
         WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(token)
    .bind(done)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if n.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(keep_from) = keep_from {
        sqlx::query("DELETE FROM baseline_months WHERE month < $1")
            .bind(keep_from.to_string())
            .execute(&mut *conn)
            .await?;
    }
    let Some(through) = through else {
        return Ok(true);
    };
    for (month, series) in stored {
        sqlx::query(
            "INSERT INTO baseline_months (month, history_through, run_id, computed_at, series) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (month) DO UPDATE SET \
             history_through = excluded.history_through, run_id = excluded.run_id, \
             computed_at = excluded.computed_at, series = excluded.series",
        )
        .bind(month.to_string())
        .bind(through.to_string())
        .bind(id)
        .bind(now)
        .bind(series)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

/// Ends a run as failed (only while it is this process's).
pub async fn fail(conn: &mut AnyConnection, id: i64, token: &str, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE baseline_runs SET status = 'failed', error = $3, finished_at = $4 \
         WHERE id = $1 AND claimed_by = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(token)
    .bind(error)
    .bind(now_unix())
    .execute(conn)
    .await?;
    Ok(())
}

/// Months that may still have stored rows before `before`: those stored,
/// and those any run set out to compute (a failed run leaves some).
pub async fn months_before(pool: &AnyPool, before: YearMonth) -> sqlx::Result<Vec<YearMonth>> {
    let months: Vec<String> = sqlx::query_scalar(
        "SELECT month FROM baseline_months WHERE month < $1 \
         UNION SELECT first_month FROM baseline_runs WHERE first_month < $1 \
         UNION SELECT last_month FROM baseline_runs WHERE last_month < $1",
    )
    .bind(before.to_string())
    .fetch_all(pool)
    .await?;
    months.iter().map(|m| month_of(m)).collect()
}

#[derive(sqlx::FromRow)]
struct RawRun {
    id: i64,
    status: String,
    source: String,
    requested_by: Option<String>,
    requested_at: i64,
    history_through: Option<String>,
    first_month: Option<String>,
    last_month: Option<String>,
    total: i64,
    done: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    error: Option<String>,
}

impl TryFrom<RawRun> for BaselineRun {
    type Error = sqlx::Error;

    fn try_from(r: RawRun) -> sqlx::Result<BaselineRun> {
        let bad = |what: &str, v: &str| sqlx::Error::Decode(format!("bad run {what} {v}").into());
        let (first, last) = (month_opt(r.first_month)?, month_opt(r.last_month)?);
        let months = match (first, last) {
            (Some(f), Some(l)) => (0..=f.months_until(l)).map(|k| f.plus(k)).collect(),
            _ => Vec::new(),
        };
        Ok(BaselineRun {
            id: r.id,
            status: RunStatus::parse(&r.status).ok_or_else(|| bad("status", &r.status))?,
            source: RunSource::parse(&r.source).ok_or_else(|| bad("source", &r.source))?,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            history_through: month_opt(r.history_through)?,
            months,
            total: r.total,
            done: r.done,
            started_at: r.started_at,
            finished_at: r.finished_at,
            error: r.error,
        })
    }
}

/// The latest `limit` runs, newest first. A running run whose process
/// stopped beating shows as such until another process takes it over.
pub async fn runs(pool: &AnyPool, limit: i64) -> sqlx::Result<Vec<BaselineRun>> {
    let raw: Vec<RawRun> = sqlx::query_as(
        "SELECT r.id, r.status, r.source, u.display_name AS requested_by, r.requested_at, \
                r.history_through, r.first_month, r.last_month, r.total, r.done, r.started_at, \
                r.finished_at, r.error \
         FROM baseline_runs r LEFT JOIN users u ON u.id = r.requested_by \
         ORDER BY r.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    raw.into_iter().map(BaselineRun::try_from).collect()
}

/// One run.
pub async fn run(pool: &AnyPool, id: i64) -> sqlx::Result<Option<BaselineRun>> {
    let raw: Option<RawRun> = sqlx::query_as(
        "SELECT r.id, r.status, r.source, u.display_name AS requested_by, r.requested_at, \
                r.history_through, r.first_month, r.last_month, r.total, r.done, r.started_at, \
                r.finished_at, r.error \
         FROM baseline_runs r LEFT JOIN users u ON u.id = r.requested_by WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    raw.map(BaselineRun::try_from).transpose()
}

/// The stored months, latest first.
pub async fn stored_months(pool: &AnyPool) -> sqlx::Result<Vec<StoredMonth>> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT month, history_through, computed_at, series FROM baseline_months ORDER BY month DESC",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(m, t, at, series)| {
            Ok(StoredMonth {
                month: month_of(&m)?,
                history_through: month_of(&t)?,
                computed_at: at,
                series,
            })
        })
        .collect()
}
