//! Command-line tools beside the server: the baseline evaluation, the
//! baseline as a CSV filter, and the sheet-save benchmark.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::forecast::baseline::Method;
use domain::forecast::evaluate::{evaluate, Contender, ErrorSums};
use domain::forecast::view::{CellWrite, SaveCellsRequest, SaveCellsResponse};
use domain::forecast::{default_month, CycleInput, Scope};
use domain::month::YearMonth;
use sqlx::Row;

use server::config::Config;
use server::db::{Db, Value};
use server::store::forecast as store;

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// Rolling-origin evaluation of the baseline on the database's order history.
pub async fn baseline_eval(db: &Db, origins: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let rows = sqlx::query("SELECT retailer_id, spec_id, month, cartons FROM monthly_orders")
        .fetch_all(&db.pool)
        .await?;
    let mut points: HashMap<(i64, i64), Vec<(YearMonth, i64)>> = HashMap::new();
    let (mut first, mut last) = (None::<YearMonth>, None::<YearMonth>);
    for row in &rows {
        let month: YearMonth = row.try_get::<String, _>(2)?.parse()?;
        first = Some(first.map_or(month, |f| f.min(month)));
        last = Some(last.map_or(month, |l| l.max(month)));
        points
            .entry((row.try_get(0)?, row.try_get(1)?))
            .or_default()
            .push((month, row.try_get(3)?));
    }
    let (Some(first), Some(last)) = (first, last) else {
        anyhow::bail!("no order history in the database; run `server demo` first");
    };
    let len = (first.months_until(last) + 1) as usize;
    let series: Vec<Vec<f64>> = points
        .values()
        .map(|p| {
            let mut s = vec![0.0; len];
            for &(m, v) in p {
                s[first.months_until(m) as usize] = v as f64;
            }
            s
        })
        .collect();
    let loaded = started.elapsed();
    let eval = evaluate(first, &series, origins);
    let (Some(from), Some(to)) = (eval.origins.first(), eval.origins.last()) else {
        anyhow::bail!("the history is too short to evaluate");
    };
    println!(
        "Baseline evaluation: rolling origin over the last {} months ({from} … {to}); {} retailer × spec series of {len} months ({first} … {last})",
        eval.origins.len(),
        series.len()
    );
    println!("Each month is forecast from the months before it; WAPE = Σ|F−A| / ΣA, sMAPE = mean 2|F−A| / (|F|+|A|).");
    println!();
    println!(
        "{:<16} {:>10} {:>9} {:>9} {:>10}",
        "method", "forecasts", "WAPE", "sMAPE", "accuracy"
    );
    for who in Contender::ALL {
        let s = eval.overall.get(&who).copied().unwrap_or_default();
        println!(
            "{:<16} {:>10} {:>9} {:>9} {:>10}",
            who.as_str(),
            s.points,
            percent(s.wape()),
            percent(s.smape()),
            percent(s.accuracy())
        );
    }
    println!();
    println!("By the method the baseline chose per series (each contender on the same points):");
    println!(
        "{:<14} {:>9}  {:>9} {:>9} {:>9}  {:>10} {:>9} {:>9}",
        "method", "forecasts", "WAPE base", "naive", "s-naive", "sMAPE base", "naive", "s-naive"
    );
    for method in Method::ALL {
        let Some(by) = eval.by_method.get(&method) else {
            continue;
        };
        let get = |c| by.get(&c).copied().unwrap_or_default();
        let (b, n, s): (ErrorSums, ErrorSums, ErrorSums) = (
            get(Contender::Baseline),
            get(Contender::Naive),
            get(Contender::SeasonalNaive),
        );
        println!(
            "{:<14} {:>9}  {:>9} {:>9} {:>9}  {:>10} {:>9} {:>9}",
            method.as_str(),
            b.points,
            percent(b.wape()),
            percent(n.wape()),
            percent(s.wape()),
            percent(b.smape()),
            percent(n.smape()),
            percent(s.smape())
        );
    }
    println!();
    println!(
        "loaded {} order rows in {:.0} ms; evaluated in {:.0} ms",
        rows.len(),
        loaded.as_secs_f64() * 1e3,
        (started.elapsed() - loaded).as_secs_f64() * 1e3
    );
    Ok(())
}

pub(crate) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// Saves a full sheet (150 retailers × 60 specs where the data allows)
/// through the HTTP API and with a raw multi-row insert, and prints both.
pub async fn bench_sheet_save(db: &Db, url: &str, rounds: usize) -> anyhow::Result<()> {
    let manager = sqlx::query(
        "SELECT u.id, u.login, COUNT(*) AS n FROM retailers r JOIN users u ON u.id = r.manager_id \
         GROUP BY u.id, u.login ORDER BY n DESC, u.id LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?
    .context("no customer manager with retailers; generate the demo first")?;
    let (manager_id, login): (i64, String) = (manager.try_get(0)?, manager.try_get(1)?);
    let spec_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM specs ORDER BY id LIMIT 60")
        .fetch_all(&db.pool)
        .await?;
    let taken: Vec<String> = sqlx::query_scalar("SELECT month FROM forecast_cycles")
        .fetch_all(&db.pool)
        .await?;
    let today = server::clock::today();
    let month = (0..240)
        .map(|k| default_month(today).plus(12 + k))
        .find(|m| !taken.contains(&m.to_string()))
        .context("no free month for the benchmark cycle")?;
    let input = CycleInput {
        month,
        spec_ids: spec_ids.clone(),
        scope: Scope::All,
        submit_deadline: None,
        review_deadline: None,
    };
    let mut conn = db.pool.acquire().await?;
    let mut tx = db.begin(&mut conn).await?;
    let cycle_id = store::open_cycle(&mut tx, &input, manager_id, server::db::now_unix())
        .await?
        .map_err(|_| anyhow::anyhow!("month {month} is taken"))?;
    tx.commit().await?;
    drop(conn);
    let result = bench_on_cycle(db, url, cycle_id, manager_id, &login, &spec_ids, rounds).await;
    drop_cycle(db, cycle_id).await?;
    result
}

pub(crate) async fn drop_cycle(db: &Db, cycle_id: i64) -> anyhow::Result<()> {
    let mut conn = db.pool.acquire().await?;
    let mut tx = db.begin(&mut conn).await?;
    for sql in [
        "DELETE FROM forecast_lines WHERE sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1)",
        "DELETE FROM forecast_sheet_totals WHERE sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1)",
        "DELETE FROM forecast_sheet_deviations WHERE sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1)",
        "DELETE FROM forecast_sheet_accuracy WHERE sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1)",
        "DELETE FROM forecast_sheet_accuracy_retailers WHERE sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1)",
        "DELETE FROM forecast_sheet_accuracy_lines WHERE sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1)",
        "DELETE FROM forecast_cycle_retailers WHERE cycle_id = $1",
        "DELETE FROM forecast_sheets WHERE cycle_id = $1",
        "DELETE FROM forecast_cycle_specs WHERE cycle_id = $1",
        "DELETE FROM audit_log WHERE entity = 'forecast_sheet' AND entity_id IN (SELECT CAST(id AS TEXT) FROM forecast_sheets WHERE cycle_id = $1)",
        "DELETE FROM forecast_cycles WHERE id = $1",
    ] {
        sqlx::query(sql).bind(cycle_id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn bench_on_cycle(
    db: &Db,
    database_url: &str,
    cycle_id: i64,
    manager_id: i64,
    login: &str,
    spec_ids: &[i64],
    rounds: usize,
) -> anyhow::Result<()> {
    let sheet = store::sheet(&db.pool, cycle_id, manager_id)
        .await?
        .context("the benchmark sheet")?;
    let retailers: Vec<i64> = store::sheet_rows(&db.pool, sheet.id)
        .await?
        .into_iter()
        .take(150)
        .map(|r| r.retailer_id)
        .collect();
    let cells: Vec<CellWrite> = retailers
        .iter()
        .enumerate()
        .flat_map(|(r, &retailer_id)| {
            spec_ids
                .iter()
                .enumerate()
                .map(move |(s, &spec_id)| CellWrite {
                    retailer_id,
                    spec_id,
                    value: Some(((r * 7 + s * 3) % 10) as i64),
                    reason: None,
                    base_revision: 0,
                })
        })
        .collect();
    let n = cells.len();

    // The server, on a loopback port, over the same database.
    let state = server::AppState::new(db.clone(), Config::local(String::new())).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move {
        let _ = server::serve(listener, state, std::future::pending()).await;
    });
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let session: domain::auth::SessionInfo = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({ "login": login, "password": crate::demo::DEMO_PASSWORD }))
        .send()
        .await?
        .error_for_status()
        .context("signing in as the customer manager (demo password)")?
        .json()
        .await?;
    let url = format!("{base}/api/forecast/cycles/{cycle_id}/sheet/cells");
    let body_bytes = serde_json::to_vec(&SaveCellsRequest {
        cells: cells.clone(),
    })?
    .len();

    let mut api_first = Vec::new();
    let mut api_again = Vec::new();
    let mut raw = Vec::new();
    let mut copy = Vec::new();
    // PostgreSQL's fastest bulk path, on a connection of its own.
    let mut pg = match db.backend {
        server::db::Backend::Postgres => {
            use sqlx::Connection;
            Some(sqlx::postgres::PgConnection::connect(database_url).await?)
        }
        server::db::Backend::Sqlite => None,
    };
    for _ in 0..rounds {
        clear_lines(db, sheet.id).await?;
        let mut request = SaveCellsRequest {
            cells: cells.clone(),
        };
        let t = Instant::now();
        let saved: SaveCellsResponse = client
            .put(&url)
            .header("x-csrf-token", &session.csrf_token)
            .json(&request)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        api_first.push(t.elapsed());
        for (cell, rev) in request.cells.iter_mut().zip(&saved.revisions) {
            cell.base_revision = *rev;
            cell.value = cell.value.map(|v| v + 1);
        }
        let t = Instant::now();
        client
            .put(&url)
            .header("x-csrf-token", &session.csrf_token)
            .json(&request)
            .send()
            .await?
            .error_for_status()?;
        api_again.push(t.elapsed());

        clear_lines(db, sheet.id).await?;
        let rows: Vec<Vec<Value>> = cells
            .iter()
            .map(|c| {
                vec![
                    sheet.id.into(),
                    c.retailer_id.into(),
                    c.spec_id.into(),
                    c.value.into(),
                    Value::OptText(None),
                    1i64.into(),
                    manager_id.into(),
                    0i64.into(),
                ]
            })
            .collect();
        let t = Instant::now();
        let mut conn = db.pool.acquire().await?;
        let mut tx = db.begin(&mut conn).await?;
        multi_row_insert(&mut tx, &rows).await?;
        tx.commit().await?;
        raw.push(t.elapsed());

        if let Some(pg) = pg.as_mut() {
            use sqlx::Connection;
            clear_lines(db, sheet.id).await?;
            let t = Instant::now();
            let mut text = String::with_capacity(cells.len() * 32);
            for c in &cells {
                use std::fmt::Write;
                let value = c.value.map_or("\\N".to_string(), |v| v.to_string());
                writeln!(
                    text,
                    "{}\t{}\t{}\t{value}\t\\N\t1\t{manager_id}\t0",
                    sheet.id, c.retailer_id, c.spec_id
                )?;
            }
            let mut tx = pg.begin().await?;
            let mut sink = tx
                .copy_in_raw(&format!(
                    "COPY forecast_lines ({}) FROM STDIN",
                    store::LINE_COLUMNS.join(", ")
                ))
                .await?;
            sink.send(text.into_bytes()).await?;
            sink.finish().await?;
            tx.commit().await?;
            copy.push(t.elapsed());
        }
    }
    server.abort();
    clear_lines(db, sheet.id).await?;

    let backend = match db.backend {
        server::db::Backend::Sqlite => "SQLite",
        server::db::Backend::Postgres => "PostgreSQL",
    };
    println!(
        "Saving a full sheet: {n} cells ({} retailers × {} specs), {backend}, median of {rounds} rounds",
        retailers.len(),
        spec_ids.len()
    );
    println!("{:<64} {:>10} {:>12}", "", "median", "cells/s");
    let line = |label: &str, d: Vec<Duration>| {
        let m = median(d);
        println!(
            "{label:<64} {:>10} {:>12.0}",
            ms(m),
            n as f64 / m.as_secs_f64().max(1e-9)
        );
    };
    line(
        &format!(
            "API PUT …/sheet/cells, new cells ({} KB JSON)",
            body_bytes / 1024
        ),
        api_first,
    );
    line(
        "API PUT …/sheet/cells, every cell changed (revisions checked)",
        api_again,
    );
    line(
        "raw multi-row INSERT … VALUES of the same rows, one transaction",
        raw,
    );
    if !copy.is_empty() {
        line(
            "raw COPY … FROM STDIN of the same rows, one transaction",
            copy,
        );
    }
    println!("(the API time includes HTTP, JSON, session and CSRF checks, scope, bounds, revisions and the audit row)");
    Ok(())
}

/// The same rows as one multi-row `INSERT … VALUES` per 30,000 parameters
/// on either database (the way every write went before PostgreSQL's took
/// arrays).
async fn multi_row_insert(
    conn: &mut sqlx::AnyConnection,
    rows: &[Vec<Value>],
) -> anyhow::Result<()> {
    let columns = store::LINE_COLUMNS;
    let positional = conn.backend_name() == "SQLite";
    for chunk in rows.chunks(30_000 / columns.len()) {
        let mut sql = format!(
            "INSERT INTO forecast_lines ({}) VALUES ",
            columns.join(", ")
        );
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            sql.push_str(if i > 0 { ",(" } else { "(" });
            for j in 0..row.len() {
                n += 1;
                if j > 0 {
                    sql.push(',');
                }
                if positional {
                    sql.push('?');
                } else {
                    sql.push_str(&format!("${n}"));
                }
            }
            sql.push(')');
        }
        let mut query = sqlx::query(&sql);
        for value in chunk.iter().flatten() {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::OptInt(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.clone()),
                Value::OptText(v) => query.bind(v.clone()),
            };
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Empties the benchmark sheet, as before its first save. On PostgreSQL the
/// deleted rows are vacuumed away too: each round deletes and writes the
/// same keys, and without a vacuum every insert's uniqueness check walks
/// the dead index entries of all the rounds before it (measured: 410–470 ms
/// for 9,000 new rows by any method, where a sheet saved for the first time
/// takes a fraction of that).
async fn clear_lines(db: &Db, sheet_id: i64) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM forecast_lines WHERE sheet_id = $1")
        .bind(sheet_id)
        .execute(&db.pool)
        .await?;
    if db.backend == server::db::Backend::Postgres {
        sqlx::query("VACUUM forecast_lines")
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

/// The month of the dashboard benchmark's cycle: far enough ahead that no
/// real cycle takes it, and fixed, so a second run reuses the lines.
fn bench_month(today: chrono::NaiveDate) -> YearMonth {
    default_month(today).plus(60)
}

/// The id of the cycle for `month`, if one is open or closed.
pub(crate) async fn cycle_at(db: &Db, month: YearMonth) -> anyhow::Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM forecast_cycles WHERE month = $1")
            .bind(month.to_string())
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// A cycle over every retailer and up to 60 specs with every line filled
/// (1.8M lines at city scale): a quarter of the sheets approved, a quarter
/// at level 2, a quarter at level 1, a quarter returned. Reused if present.
/// The server on a loopback port over `db`, for the benchmarks that time
/// the API: its address and its task (abort it when done).
pub(crate) async fn loopback_server(
    db: &Db,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let state = server::AppState::new(db.clone(), Config::local(String::new())).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        let _ = server::serve(listener, state, std::future::pending()).await;
    });
    Ok((base, task))
}

/// A client signed in as the demo account `login`.
pub(crate) async fn signed_in(base: &str, login: &str) -> anyhow::Result<reqwest::Client> {
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({ "login": login, "password": crate::demo::DEMO_PASSWORD }))
        .send()
        .await?
        .error_for_status()
        .with_context(|| format!("signing in as {login} (demo password)"))?;
    Ok(client)
}

pub(crate) async fn dashboard_cycle(db: &Db) -> anyhow::Result<i64> {
    let today = server::clock::today();
    let month = bench_month(today);
    if let Some(id) = cycle_at(db, month).await? {
        println!("reusing the benchmark cycle {month} (id {id})");
        return Ok(id);
    }
    let started = Instant::now();
    let (input, center) = every_retailer_cycle(db, month).await?;
    let last = store::last_history_month(&db.pool, month)
        .await?
        .context("no order history; generate the demo first")?;
    let mut conn = db.pool.acquire().await?;
    let mut tx = db.begin(&mut conn).await?;
    let id = store::open_cycle(&mut tx, &input, center, server::db::now_unix())
        .await?
        .map_err(|_| anyhow::anyhow!("month {month} is taken"))?;
    // Every line: the manager's value near last month's orders, the
    // baseline and history recorded as at submission.
    sqlx::query(
        "INSERT INTO forecast_lines (sheet_id, retailer_id, spec_id, entered, revision, baseline, \
                                     last_month, last_year, updated_by, updated_at) \
         SELECT f.sheet_id, f.retailer_id, c.spec_id, \
                COALESCE(m.cartons, 0) + (f.retailer_id + c.spec_id) % 3, 1, COALESCE(m.cartons, 0), \
                COALESCE(m.cartons, 0), COALESCE(y.cartons, 0), $2, $3 \
         FROM forecast_cycle_retailers f JOIN forecast_cycle_specs c ON c.cycle_id = f.cycle_id \
         LEFT JOIN monthly_orders m ON m.retailer_id = f.retailer_id AND m.spec_id = c.spec_id AND m.month = $4 \
         LEFT JOIN monthly_orders y ON y.retailer_id = f.retailer_id AND y.spec_id = c.spec_id AND y.month = $5 \
         WHERE f.cycle_id = $1",
    )
    .bind(id)
    .bind(center)
    .bind(server::db::now_unix())
    .bind(last.to_string())
    .bind(last.plus(-11).to_string())
    .execute(&mut *tx)
    .await?;
    for (rest, status, level) in [
        (0, "approved", None),
        (1, "submitted", Some(2_i64)),
        (2, "submitted", Some(1)),
        (3, "returned", None),
    ] {
        sqlx::query(
            "UPDATE forecast_sheets SET status = $1, review_level = $2 WHERE cycle_id = $3 AND id % 4 = $4",
        )
        .bind(status)
        .bind(level)
        .bind(id)
        .bind(rest)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE forecast_lines SET final_value = entered WHERE sheet_id IN \
         (SELECT id FROM forecast_sheets WHERE cycle_id = $1 AND status = 'approved')",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let sheets: Vec<i64> = sqlx::query_scalar("SELECT id FROM forecast_sheets WHERE cycle_id = $1")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    for sheet in sheets {
        server::store::summary::refresh_sheet(&mut tx, sheet).await?;
        server::store::summary::refresh_accuracy(&mut tx, sheet).await?;
    }
    tx.commit().await?;
    drop(conn);
    let lines: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM forecast_lines WHERE sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1)",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await?;
    println!(
        "benchmark cycle {month} (id {id}): {lines} lines written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(id)
}

/// A benchmark cycle for `month` over every retailer and up to 60 specs,
/// opened by the demo's marketing center (whose id comes back too).
pub(crate) async fn every_retailer_cycle(
    db: &Db,
    month: YearMonth,
) -> anyhow::Result<(CycleInput, i64)> {
    let spec_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM specs ORDER BY id LIMIT 60")
        .fetch_all(&db.pool)
        .await?;
    let center: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'center'")
        .fetch_one(&db.pool)
        .await
        .context("the demo's marketing center account")?;
    let input = CycleInput {
        month,
        spec_ids,
        scope: Scope::All,
        submit_deadline: None,
        review_deadline: None,
    };
    Ok((input, center))
}

/// The marketing center's dashboard summary of a city-scale cycle, through
/// the HTTP API and as the equivalent raw SQL on the same database.
pub async fn bench_dashboard(db: &Db, rounds: usize) -> anyhow::Result<()> {
    let cycle_id = dashboard_cycle(db).await?;
    let lines: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM forecast_lines WHERE sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1)",
    )
    .bind(cycle_id)
    .fetch_one(&db.pool)
    .await?;

    let (base, server) = loopback_server(db).await?;
    let client = signed_in(&base, "center").await?;
    let url = format!("{base}/api/forecast/cycles/{cycle_id}/dashboard");
    let mut api = Vec::with_capacity(rounds);
    let mut bytes = 0;
    let mut summary = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let body = client
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        api.push(started.elapsed());
        bytes = body.len();
        summary = Some(body);
    }
    server.abort();
    let dashboard: domain::forecast::view::Dashboard =
        serde_json::from_slice(&summary.unwrap_or_default())?;

    // The same figures as plain SQL: the grouped totals, the classes, the
    // largest deviations, the trend and the progress, timed one by one.
    let value = "COALESCE(l.final_value, l.current_value, l.entered, 0)";
    let in_cycle = "l.sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1)";
    let sums = format!(
        "COUNT(*), CAST(SUM({value}) AS BIGINT), CAST(SUM(l.final_value) AS BIGINT), \
         CAST(SUM(l.entered) AS BIGINT), CAST(SUM(l.baseline) AS BIGINT), \
         CAST(SUM(l.last_month) AS BIGINT), CAST(SUM(l.last_year) AS BIGINT)"
    );
    let statements = [
        (
            "summary rows by manager × spec",
            "SELECT t.sheet_id, t.key, t.lines, t.forecast, t.approved, t.entered, t.baseline, t.last_month, \
                    t.last_year FROM forecast_sheet_totals t JOIN forecast_sheets s ON s.id = t.sheet_id \
             WHERE s.cycle_id = $1 AND t.kind = 'spec'"
                .to_string(),
        ),
        (
            "summary rows by class",
            "SELECT t.key, CAST(SUM(t.forecast) AS BIGINT), CAST(SUM(t.approved) AS BIGINT), \
                    CAST(SUM(t.baseline) AS BIGINT) FROM forecast_sheet_totals t \
             JOIN forecast_sheets s ON s.id = t.sheet_id WHERE s.cycle_id = $1 AND t.kind = 'class' GROUP BY t.key"
                .to_string(),
        ),
        (
            "kept deviations",
            "SELECT d.sheet_id, d.retailer_id, d.spec_id FROM forecast_sheet_deviations d \
             JOIN forecast_sheets s ON s.id = d.sheet_id WHERE s.cycle_id = $1 \
             ORDER BY ABS(d.value - d.baseline) DESC LIMIT 20"
                .to_string(),
        ),
        (
            "totals by manager × spec from the lines",
            format!(
                "SELECT l.sheet_id, l.spec_id, {sums} FROM forecast_lines l \
                 WHERE {in_cycle} AND l.baseline IS NOT NULL GROUP BY l.sheet_id, l.spec_id"
            ),
        ),
        (
            "totals by class from the lines",
            format!(
                "SELECT r.class_code, {sums} FROM forecast_lines l JOIN retailers r ON r.id = l.retailer_id \
                 WHERE {in_cycle} AND l.baseline IS NOT NULL GROUP BY r.class_code"
            ),
        ),
        (
            "20 largest deviations from the lines",
            format!(
                "SELECT l.sheet_id, l.retailer_id, l.spec_id FROM forecast_lines l \
                 WHERE {in_cycle} AND l.baseline IS NOT NULL \
                 ORDER BY ABS({value} - l.baseline) DESC LIMIT 20"
            ),
        ),
        (
            "12-month trend",
            "SELECT t.month, CAST(SUM(t.cartons) AS BIGINT) FROM monthly_spec_totals t \
             JOIN forecast_cycle_specs f ON f.spec_id = t.spec_id AND f.cycle_id = $1 \
             GROUP BY t.month ORDER BY t.month DESC LIMIT 12"
                .to_string(),
        ),
        (
            "progress per sheet",
            "SELECT s.id, s.status, (SELECT COUNT(*) FROM forecast_cycle_retailers r WHERE r.sheet_id = s.id), \
                    CASE WHEN s.status IN ('submitted', 'approved', 'returned') \
                         THEN (SELECT CAST(COALESCE(SUM(t.lines), 0) AS BIGINT) FROM forecast_sheet_totals t \
                               WHERE t.sheet_id = s.id AND t.kind = 'spec') \
                         ELSE (SELECT COUNT(*) FROM forecast_lines l WHERE l.sheet_id = s.id AND l.entered IS NOT NULL) END \
             FROM forecast_sheets s WHERE s.cycle_id = $1"
                .to_string(),
        ),
    ];
    // The first three read the per-sheet summaries, as the API does; the
    // next three compute the same figures from every line of the cycle.
    let summary_statements = [0, 1, 2, 6, 7];
    let lines_statements = [3, 4, 5, 6, 7];
    let mut per_statement = vec![Vec::with_capacity(rounds); statements.len()];
    let (mut raw_summary, mut raw_lines) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (i, (_, sql)) in statements.iter().enumerate() {
            let started = Instant::now();
            sqlx::query(sql).bind(cycle_id).fetch_all(&db.pool).await?;
            per_statement[i].push(started.elapsed());
        }
        let round = |set: &[usize]| {
            set.iter()
                .map(|&i| per_statement[i].last().copied().unwrap_or_default())
                .sum::<Duration>()
        };
        raw_summary.push(round(&summary_statements));
        raw_lines.push(round(&lines_statements));
    }

    println!(
        "dashboard of a cycle with {lines} lines ({} sheets, {} specs), median of {rounds} rounds",
        dashboard.progress.len(),
        dashboard.cycle.specs.len()
    );
    println!(
        "  API  GET /api/forecast/cycles/{cycle_id}/dashboard: {} (min {}, max {}), {} KB JSON",
        ms(median(api.clone())),
        ms(api.iter().min().copied().unwrap_or_default()),
        ms(api.iter().max().copied().unwrap_or_default()),
        bytes / 1024
    );
    println!(
        "  raw SQL, the statements the API runs (per-sheet summaries, trend, progress): {}",
        ms(median(raw_summary))
    );
    println!(
        "  raw SQL, the same figures computed from every line: {}",
        ms(median(raw_lines))
    );
    for ((name, _), times) in statements.iter().zip(per_statement) {
        println!("    {name}: {}", ms(median(times)));
    }
    // What keeping the summaries costs: rebuilding one sheet's totals and
    // deviations, as a submission, correction or final approval does.
    let sheet: i64 = sqlx::query_scalar(
        "SELECT s.id FROM forecast_sheets s WHERE s.cycle_id = $1 ORDER BY \
         (SELECT COUNT(*) FROM forecast_cycle_retailers r WHERE r.sheet_id = s.id) DESC, s.id LIMIT 1",
    )
    .bind(cycle_id)
    .fetch_one(&db.pool)
    .await?;
    let sheet_lines: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM forecast_lines WHERE sheet_id = $1")
            .bind(sheet)
            .fetch_one(&db.pool)
            .await?;
    let mut refresh = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let mut conn = db.pool.acquire().await?;
        let mut tx = db.begin(&mut conn).await?;
        server::store::summary::refresh_sheet(&mut tx, sheet).await?;
        tx.commit().await?;
        refresh.push(started.elapsed());
    }
    println!(
        "  rebuilding one sheet's summary ({sheet_lines} lines), in a transaction: {}",
        ms(median(refresh))
    );
    println!(
        "  totals: {} lines submitted, forecast {} cartons ({:.0} cases), approved {}, baseline {}, last month {}",
        dashboard.total.lines,
        dashboard.total.forecast,
        dashboard.case_size.cases(dashboard.total.forecast),
        dashboard.total.approved,
        dashboard.total.baseline,
        dashboard.total.last_month
    );
    Ok(())
}

/// Gives every retailer without a sign-in one, in one bulk run through the
/// service the administration page calls (one-time passwords hashed on
/// every core, the accounts written in one transaction, the handout built),
/// and prints the time and the progress seen while it ran.
pub async fn bench_accounts(db: Db, database_url: &str) -> anyhow::Result<()> {
    use domain::accounts::{AccountScope, JobState};
    use server::service::accounts as service;

    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'retailer'")
        .fetch_one(&db.pool)
        .await?;
    if existing > 0 {
        anyhow::bail!(
            "this database has {existing} retailer sign-ins already; run the benchmark on a fresh database"
        );
    }
    let admin_login = "bench-admin";
    let _ = service::bootstrap_admin(&db, admin_login, "基准测试管理员", "营销中心", true).await;
    let licences: Vec<String> = sqlx::query_scalar("SELECT licence_no FROM retailers ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    let state = server::AppState::new(db, Config::local(database_url.to_string())).await?;
    let actor = server::store::users::by_login(&state.db.pool, admin_login)
        .await?
        .context("the benchmark administrator")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "bulk retailer sign-ins: {} retailers, {threads} hashing threads, {} database",
        licences.len(),
        if database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let started = Instant::now();
    let job = service::start_retailer_accounts(
        &state,
        &actor,
        domain::Lang::Zh,
        AccountScope::Licences { licences },
    )
    .await
    .map_err(|e| anyhow::anyhow!("the run did not start: {e:?}"))?;
    let accepted = started.elapsed();
    let mut last_print = Instant::now();
    let job = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = service::job(&state, domain::Lang::Zh, job.id)
            .await
            .map_err(|e| anyhow::anyhow!("progress: {e:?}"))?;
        if now.state != JobState::Running {
            break now;
        }
        if last_print.elapsed() >= Duration::from_secs(5) {
            println!(
                "  {:>5.1} s: {} of {} hashed",
                started.elapsed().as_secs_f64(),
                now.hashed,
                now.total
            );
            last_print = Instant::now();
        }
    };
    let took = started.elapsed();
    if job.state != JobState::Done {
        anyhow::bail!("the run failed: {:?}", job.error);
    }
    let handout = service::take_handout(&state, &actor, domain::Lang::Zh, job.id)
        .await
        .map_err(|e| anyhow::anyhow!("handout: {e:?}"))?;
    let stored: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'retailer' AND must_change_password = 1",
    )
    .fetch_one(&state.db.pool)
    .await?;
    println!(
        "created {} sign-ins ({} skipped) in {:.1} s (answered in {} ms; {:.0} accounts/s); handout {} KiB; {} retailer accounts stored, each to change its password",
        job.created,
        job.skipped,
        took.as_secs_f64(),
        accepted.as_millis(),
        job.created as f64 / took.as_secs_f64().max(1e-9),
        handout.len() / 1024,
        stored
    );
    if stored != job.created {
        anyhow::bail!("{} accounts reported but {stored} stored", job.created);
    }
    Ok(())
}
