//! The summaries behind the sales and stock analysis, and their upkeep.
//!
//! Written where the facts are written, in the writer's transaction:
//! - a month's orders (`refresh_month`, called with `monthly_spec_totals`);
//! - a retailer's recorded stock (`refresh_retailer_stock`);
//! - a confirmed online order (`add_order_week`);
//! - retailers moving between managers or departments (`refresh_managers`).
//!
//! Reads take a [`Reach`] and read the smallest summary that answers: the
//! company-wide month totals for everything, the department table for
//! departments, the manager table for one customer manager. Ids put into
//! SQL text are integers from the database, never from the request.

use domain::analysis::{BREADTH_EDGES, STOCK_SIZE_EDGES};
use domain::forecast::view::TrendPoint;
use domain::month::YearMonth;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::db::{now_unix, upsert_rows, Value};
use crate::service::reach::Reach;

fn decode_error(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn month_of(s: String) -> sqlx::Result<YearMonth> {
    s.parse().map_err(decode_error)
}

fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        "NULL".into()
    } else {
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    }
}

/// A reach as a condition on a summary's `unit_id` / `manager_id`.
fn reach_sql(reach: &Reach) -> String {
    match reach {
        Reach::Everything => "1 = 1".into(),
        Reach::Units(units) => format!(
            "unit_id IN ({})",
            id_list(&units.iter().copied().collect::<Vec<_>>())
        ),
        Reach::Manager { id, .. } => format!("manager_id = {id}"),
    }
}

/// Which summary answers month totals for a reach.
fn month_table(reach: &Reach) -> &'static str {
    match reach {
        Reach::Everything => "monthly_spec_totals",
        Reach::Units(_) => "sales_unit_month",
        Reach::Manager { .. } => "sales_manager_month",
    }
}

// ---------------------------------------------------------------- upkeep

const MANAGER_ROWS: &str =
    "INSERT INTO sales_manager_month (month, manager_id, unit_id, spec_id, cartons, retailers) \
     SELECT m.month, r.manager_id, r.market_unit_id, m.spec_id, CAST(SUM(m.cartons) AS BIGINT), COUNT(*) \
     FROM monthly_orders m JOIN retailers r ON r.id = m.retailer_id";
const MANAGER_GROUP: &str = "GROUP BY m.month, r.manager_id, r.market_unit_id, m.spec_id";
const UNIT_ROWS: &str =
    "INSERT INTO sales_unit_month (month, unit_id, spec_id, cartons, retailers) \
     SELECT month, unit_id, spec_id, CAST(SUM(cartons) AS BIGINT), CAST(SUM(retailers) AS BIGINT) \
     FROM sales_manager_month";
const UNIT_GROUP: &str = "GROUP BY month, unit_id, spec_id";

/// Rebuilds the department and manager summaries of one month from its
/// order lines (called with `monthly_spec_totals`).
pub async fn refresh_month(conn: &mut AnyConnection, month: YearMonth) -> sqlx::Result<()> {
    let month = month.to_string();
    for sql in [
        "DELETE FROM sales_manager_month WHERE month = $1".to_string(),
        format!("{MANAGER_ROWS} WHERE m.month = $1 {MANAGER_GROUP}"),
        "DELETE FROM sales_unit_month WHERE month = $1".to_string(),
        format!("{UNIT_ROWS} WHERE month = $1 {UNIT_GROUP}"),
    ] {
        sqlx::query(&sql).bind(&month).execute(&mut *conn).await?;
    }
    Ok(())
}

const STOCK_MANAGER_ROWS: &str =
    "INSERT INTO stock_manager_spec (manager_id, unit_id, spec_id, stock, holders) \
     SELECT r.manager_id, r.market_unit_id, s.spec_id, CAST(SUM(s.stock) AS BIGINT), \
            CAST(SUM(CASE WHEN s.stock > 0 THEN 1 ELSE 0 END) AS BIGINT) \
     FROM retailer_specs s JOIN retailers r ON r.id = s.retailer_id";
const STOCK_MANAGER_GROUP: &str = "GROUP BY r.manager_id, r.market_unit_id, s.spec_id";
const STOCK_RETAILER_ROWS: &str =
    "INSERT INTO stock_retailer (retailer_id, manager_id, unit_id, stock, specs) \
     SELECT r.id, r.manager_id, r.market_unit_id, CAST(SUM(s.stock) AS BIGINT), \
            CAST(SUM(CASE WHEN s.stock > 0 THEN 1 ELSE 0 END) AS BIGINT) \
     FROM retailer_specs s JOIN retailers r ON r.id = s.retailer_id";
const STOCK_RETAILER_GROUP: &str = "GROUP BY r.id, r.manager_id, r.market_unit_id";

/// The Monday of an order date's week, in SQL for either database: dates
/// are `YYYY-MM-DD` text, computed here rather than in SQL.
fn week_of(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    (date - chrono::Duration::days(i64::from(date.weekday().num_days_from_monday()))).to_string()
}

/// Rebuilds every summary (after generating demo data or a bulk load).
pub async fn refresh_all(conn: &mut AnyConnection) -> sqlx::Result<()> {
    for sql in [
        "DELETE FROM sales_manager_month".to_string(),
        format!("{MANAGER_ROWS} {MANAGER_GROUP}"),
        "DELETE FROM sales_unit_month".to_string(),
        format!("{UNIT_ROWS} {UNIT_GROUP}"),
        "DELETE FROM stock_manager_spec".to_string(),
        format!("{STOCK_MANAGER_ROWS} {STOCK_MANAGER_GROUP}"),
        "DELETE FROM stock_retailer".to_string(),
        format!("{STOCK_RETAILER_ROWS} {STOCK_RETAILER_GROUP}"),
    ] {
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    rebuild_weeks(conn, None).await
}

/// Rebuilds the weekly summary from the confirmed orders (of `managers`'
/// retailers, or all).
async fn rebuild_weeks(conn: &mut AnyConnection, managers: Option<&[i64]>) -> sqlx::Result<()> {
    // Cancelled orders count nowhere.
    let filter = managers.map_or("WHERE o.status = 'confirmed'".to_string(), |m| {
        format!(
            "WHERE o.status = 'confirmed' AND r.manager_id IN ({})",
            id_list(m)
        )
    });
    let delete = managers.map_or("DELETE FROM sales_week".to_string(), |m| {
        format!(
            "DELETE FROM sales_week WHERE manager_id IN ({})",
            id_list(m)
        )
    });
    sqlx::query(&delete).execute(&mut *conn).await?;
    let rows = sqlx::query(&format!(
        "SELECT o.order_date, r.manager_id, r.market_unit_id, l.spec_id, CAST(SUM(l.quantity) AS BIGINT) \
         FROM replenishment_order_lines l JOIN replenishment_orders o ON o.id = l.order_id \
         JOIN retailers r ON r.id = o.retailer_id {filter} \
         GROUP BY o.order_date, r.manager_id, r.market_unit_id, l.spec_id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    // Orders of a day summed to their week here (the Monday is computed in
    // Rust, the same on both databases), then written in one statement.
    let mut weeks: std::collections::BTreeMap<(String, i64, i64, i64), i64> =
        std::collections::BTreeMap::new();
    for r in rows {
        let date: String = r.try_get(0)?;
        let Ok(date) = date.parse::<chrono::NaiveDate>() else {
            continue;
        };
        let key = (week_of(date), r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        *weeks.entry(key).or_default() += r.try_get::<i64, _>(4)?;
    }
    let rows: Vec<Vec<Value>> = weeks
        .into_iter()
        .map(|((week, manager, unit, spec), cartons)| {
            vec![
                week.into(),
                manager.into(),
                unit.into(),
                spec.into(),
                cartons.into(),
            ]
        })
        .collect();
    add_weeks(conn, &rows).await
}

/// Adds (week, manager, unit, spec, cartons) rows to the weekly summary.
async fn add_weeks(conn: &mut AnyConnection, rows: &[Vec<Value>]) -> sqlx::Result<()> {
    upsert_rows(
        conn,
        "sales_week",
        &["week", "manager_id", "unit_id", "spec_id", "cartons"],
        rows,
        "ON CONFLICT (week, manager_id, unit_id, spec_id) DO UPDATE SET cartons = sales_week.cartons + excluded.cartons",
    )
    .await
    .map(drop)
}

/// Adds a confirmed online order's lines to its week.
pub async fn add_order_week(
    conn: &mut AnyConnection,
    retailer_id: i64,
    order_date: chrono::NaiveDate,
    lines: &[(i64, i64)],
) -> sqlx::Result<()> {
    let (manager, unit): (i64, i64) =
        sqlx::query_as("SELECT manager_id, market_unit_id FROM retailers WHERE id = $1")
            .bind(retailer_id)
            .fetch_one(&mut *conn)
            .await?;
    let week = week_of(order_date);
    let rows: Vec<Vec<Value>> = lines
        .iter()
        .filter(|l| l.1 != 0)
        .map(|&(spec, cartons)| {
            vec![
                week.clone().into(),
                manager.into(),
                unit.into(),
                spec.into(),
                cartons.into(),
            ]
        })
        .collect();
    add_weeks(conn, &rows).await
}

/// Takes the managers' rows until the transaction ends, so that two
/// writers rebuilding the same manager's summaries (two of their retailers
/// saving stock at once, a handover) follow one another: each rebuild then
/// reads what the other committed. SQLite serializes writers anyway; on
/// PostgreSQL two overlapping delete-and-insert rebuilds would otherwise
/// collide on the summary's key.
async fn lock_managers(conn: &mut AnyConnection, managers: &[i64]) -> sqlx::Result<()> {
    let mut ids = managers.to_vec();
    ids.sort_unstable();
    for id in ids {
        sqlx::query("UPDATE users SET active = active WHERE id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Rebuilds one retailer's stock summaries after its settings were saved:
/// its own row and its manager's rows per spec.
pub async fn refresh_retailer_stock(
    conn: &mut AnyConnection,
    retailer_id: i64,
) -> sqlx::Result<()> {
    let manager: i64 = sqlx::query_scalar("SELECT manager_id FROM retailers WHERE id = $1")
        .bind(retailer_id)
        .fetch_one(&mut *conn)
        .await?;
    lock_managers(conn, &[manager]).await?;
    for (sql, key) in [
        (
            "DELETE FROM stock_retailer WHERE retailer_id = $1".to_string(),
            retailer_id,
        ),
        (
            format!("{STOCK_RETAILER_ROWS} WHERE r.id = $1 {STOCK_RETAILER_GROUP}"),
            retailer_id,
        ),
        (
            "DELETE FROM stock_manager_spec WHERE manager_id = $1".to_string(),
            manager,
        ),
        (
            format!("{STOCK_MANAGER_ROWS} WHERE r.manager_id = $1 {STOCK_MANAGER_GROUP}"),
            manager,
        ),
    ] {
        sqlx::query(&sql).bind(key).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rebuilds every summary of `managers` after retailers moved between
/// managers or departments (a handover, a department change): their
/// sales in every month, their departments' sales, their stock and their
/// weeks. `managers` holds the former and the new managers.
pub async fn refresh_managers(conn: &mut AnyConnection, managers: &[i64]) -> sqlx::Result<()> {
    if managers.is_empty() {
        return Ok(());
    }
    lock_managers(conn, managers).await?;
    let list = id_list(managers);
    // The departments concerned: those the managers' rows were on, and
    // those their retailers are on now.
    let mut units: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT DISTINCT unit_id FROM sales_manager_month WHERE manager_id IN ({list}) \
         UNION SELECT DISTINCT market_unit_id FROM retailers WHERE manager_id IN ({list})"
    ))
    .fetch_all(&mut *conn)
    .await?;
    units.sort_unstable();
    let units = id_list(&units);
    for sql in [
        format!("DELETE FROM sales_manager_month WHERE manager_id IN ({list})"),
        format!("{MANAGER_ROWS} WHERE r.manager_id IN ({list}) {MANAGER_GROUP}"),
        format!("DELETE FROM sales_unit_month WHERE unit_id IN ({units})"),
        format!("{UNIT_ROWS} WHERE unit_id IN ({units}) {UNIT_GROUP}"),
        format!("DELETE FROM stock_manager_spec WHERE manager_id IN ({list})"),
        format!("{STOCK_MANAGER_ROWS} WHERE r.manager_id IN ({list}) {STOCK_MANAGER_GROUP}"),
        format!(
            "DELETE FROM stock_retailer WHERE manager_id IN ({list}) \
             OR retailer_id IN (SELECT id FROM retailers WHERE manager_id IN ({list}))"
        ),
        format!("{STOCK_RETAILER_ROWS} WHERE r.manager_id IN ({list}) {STOCK_RETAILER_GROUP}"),
    ] {
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    rebuild_weeks(conn, Some(managers)).await
}

// ---------------------------------------------------------------- reads

/// The latest month with orders.
pub async fn latest_month(pool: &AnyPool) -> sqlx::Result<Option<YearMonth>> {
    let m: Option<String> = sqlx::query_scalar("SELECT MAX(month) FROM monthly_spec_totals")
        .fetch_one(pool)
        .await?;
    m.map(month_of).transpose()
}

/// Cartons per (month, spec) of the reach from `from` to `to`.
pub async fn sales_by_month_spec(
    pool: &AnyPool,
    reach: &Reach,
    from: YearMonth,
    to: YearMonth,
) -> sqlx::Result<Vec<(YearMonth, i64, i64)>> {
    sqlx::query(&format!(
        "SELECT month, spec_id, CAST(SUM(cartons) AS BIGINT) FROM {} \
         WHERE month >= $1 AND month <= $2 AND {} GROUP BY month, spec_id",
        month_table(reach),
        reach_sql(reach)
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Ok((month_of(r.try_get(0)?)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

/// Cartons and value per group (`unit_id` or `manager_id`) of the reach,
/// in the months given: (group, month, spec, cartons).
pub async fn sales_by_group(
    pool: &AnyPool,
    reach: &Reach,
    group: Group,
    months: &[YearMonth],
) -> sqlx::Result<Vec<(i64, YearMonth, i64, i64)>> {
    let (table, column) = match group {
        Group::Unit => (
            if reach.is_everything() {
                "sales_unit_month"
            } else {
                month_table(reach)
            },
            "unit_id",
        ),
        Group::Manager => ("sales_manager_month", "manager_id"),
    };
    let months: Vec<String> = months.iter().map(|m| format!("'{m}'")).collect();
    sqlx::query(&format!(
        "SELECT {column}, month, spec_id, CAST(SUM(cartons) AS BIGINT) FROM {table} \
         WHERE month IN ({}) AND {} GROUP BY {column}, month, spec_id",
        months.join(","),
        reach_sql(reach)
    ))
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok((
            r.try_get(0)?,
            month_of(r.try_get(1)?)?,
            r.try_get(2)?,
            r.try_get(3)?,
        ))
    })
    .collect()
}

/// How a table of the analysis breaks a reach down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Unit,
    Manager,
}

/// Confirmed online orders per (week, spec) from `from`.
pub async fn weeks(
    pool: &AnyPool,
    reach: &Reach,
    from: chrono::NaiveDate,
) -> sqlx::Result<Vec<(chrono::NaiveDate, i64, i64)>> {
    sqlx::query(&format!(
        "SELECT week, spec_id, CAST(SUM(cartons) AS BIGINT) FROM sales_week \
         WHERE week >= $1 AND {} GROUP BY week, spec_id",
        reach_sql(reach)
    ))
    .bind(from.to_string())
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        let week: String = r.try_get(0)?;
        Ok((
            week.parse().map_err(decode_error)?,
            r.try_get(1)?,
            r.try_get(2)?,
        ))
    })
    .collect()
}

/// The latest week with confirmed orders in the reach.
pub async fn latest_week(pool: &AnyPool, reach: &Reach) -> sqlx::Result<Option<chrono::NaiveDate>> {
    let w: Option<String> = sqlx::query_scalar(&format!(
        "SELECT MAX(week) FROM sales_week WHERE {}",
        reach_sql(reach)
    ))
    .fetch_one(pool)
    .await?;
    w.map(|w| w.parse().map_err(decode_error)).transpose()
}

/// The first month with orders.
pub async fn first_month(pool: &AnyPool) -> sqlx::Result<Option<YearMonth>> {
    let m: Option<String> = sqlx::query_scalar("SELECT MIN(month) FROM monthly_spec_totals")
        .fetch_one(pool)
        .await?;
    m.map(month_of).transpose()
}

/// Plans per month of the market departments `units` from `from` to
/// `to`: (month, cartons, departments with a plan).
pub async fn plans_by_month(
    pool: &AnyPool,
    units: &[i64],
    from: YearMonth,
    to: YearMonth,
) -> sqlx::Result<Vec<(YearMonth, i64, i64)>> {
    sqlx::query(&format!(
        "SELECT month, CAST(SUM(cartons) AS BIGINT), COUNT(*) FROM sales_plans \
         WHERE month >= $1 AND month <= $2 AND unit_id IN ({}) GROUP BY month",
        id_list(units)
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Ok((month_of(r.try_get(0)?)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

/// The plans of a year: (unit, month 1–12, cartons).
pub async fn plans_of_year(pool: &AnyPool, year: i32) -> sqlx::Result<Vec<(i64, u32, i64)>> {
    sqlx::query("SELECT unit_id, month, cartons FROM sales_plans WHERE month >= $1 AND month <= $2")
        .bind(format!("{year:04}-01"))
        .bind(format!("{year:04}-12"))
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| {
            let month = month_of(r.try_get(1)?)?;
            Ok((r.try_get(0)?, month.month(), r.try_get(2)?))
        })
        .collect()
}

/// Stores plans of a year in one statement, in the caller's transaction.
pub async fn set_plans(
    conn: &mut AnyConnection,
    year: i32,
    cells: &[domain::analysis::PlanCell],
    actor: i64,
) -> sqlx::Result<()> {
    let now = now_unix();
    let rows: Vec<Vec<Value>> = cells
        .iter()
        .map(|cell| {
            vec![
                cell.unit_id.into(),
                format!("{year:04}-{:02}", cell.month).into(),
                cell.cartons.into(),
                actor.into(),
                now.into(),
            ]
        })
        .collect();
    upsert_rows(
        conn,
        "sales_plans",
        &["unit_id", "month", "cartons", "updated_by", "updated_at"],
        &rows,
        "ON CONFLICT (unit_id, month) DO UPDATE SET cartons = excluded.cartons, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .await
    .map(drop)
}

/// Stock per spec of the reach: (spec, stock, holders).
pub async fn stock_by_spec(pool: &AnyPool, reach: &Reach) -> sqlx::Result<Vec<(i64, i64, i64)>> {
    sqlx::query(&format!(
        "SELECT spec_id, CAST(SUM(stock) AS BIGINT), CAST(SUM(holders) AS BIGINT) \
         FROM stock_manager_spec WHERE {} GROUP BY spec_id",
        reach_sql(reach)
    ))
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

/// Stock and retailers recording it per group: (group, stock, retailers).
pub async fn stock_by_group(
    pool: &AnyPool,
    reach: &Reach,
    group: Group,
) -> sqlx::Result<Vec<(i64, i64, i64)>> {
    let column = match group {
        Group::Unit => "unit_id",
        Group::Manager => "manager_id",
    };
    sqlx::query(&format!(
        "SELECT {column}, CAST(SUM(stock) AS BIGINT), COUNT(*) FROM stock_retailer \
         WHERE {} GROUP BY {column}",
        reach_sql(reach)
    ))
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

/// The bucket of `column` for `edges` in SQL: the domain's
/// `analysis::bucket_of` over the same edges.
pub fn bucket_case(column: &str, edges: &[i64]) -> String {
    let mut sql = "CASE".to_string();
    for (i, e) in edges.iter().enumerate() {
        sql.push_str(&format!(" WHEN {column} < {e} THEN {i}"));
    }
    sql.push_str(&format!(" ELSE {} END", edges.len()));
    sql
}

/// Retailers recording stock per bucket of total stock and of breadth.
pub async fn stock_spreads(pool: &AnyPool, reach: &Reach) -> sqlx::Result<(Vec<i64>, Vec<i64>)> {
    let mut size = vec![0_i64; STOCK_SIZE_EDGES.len() + 1];
    let mut breadth = vec![0_i64; BREADTH_EDGES.len() + 1];
    for (column, edges, out) in [
        ("stock", &STOCK_SIZE_EDGES[..], &mut size),
        ("specs", &BREADTH_EDGES[..], &mut breadth),
    ] {
        let rows = sqlx::query(&format!(
            "SELECT {} AS b, COUNT(*) FROM stock_retailer WHERE {} GROUP BY 1",
            bucket_case(column, edges),
            reach_sql(reach)
        ))
        .fetch_all(pool)
        .await?;
        for r in rows {
            let b: i64 = r.try_get(0)?;
            let n: i64 = r.try_get(1)?;
            if let Some(slot) = out.get_mut(b as usize) {
                *slot += n;
            }
        }
    }
    Ok((size, breadth))
}

/// Orders of a cycle's specs per month in the reach (the dashboard's trend
/// for a department or a customer manager).
pub async fn trend(
    pool: &AnyPool,
    reach: &Reach,
    cycle_id: i64,
    from: YearMonth,
    to: YearMonth,
) -> sqlx::Result<Vec<TrendPoint>> {
    sqlx::query(&format!(
        "SELECT t.month, CAST(SUM(t.cartons) AS BIGINT) FROM {} t \
         JOIN forecast_cycle_specs f ON f.spec_id = t.spec_id AND f.cycle_id = $1 \
         WHERE t.month >= $2 AND t.month <= $3 AND {} GROUP BY t.month ORDER BY t.month",
        month_table(reach),
        reach_sql(reach)
    ))
    .bind(cycle_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(TrendPoint {
            month: month_of(r.try_get(0)?)?,
            cartons: r.try_get(1)?,
        })
    })
    .collect()
}

/// Specs with what the analysis needs of them:
/// (id, code, brand, name, price class, wholesale fen).
pub async fn specs(pool: &AnyPool) -> sqlx::Result<Vec<(i64, String, String, String, i64, i64)>> {
    sqlx::query_as(
        "SELECT id, code, brand, name, CAST(price_class AS BIGINT), wholesale_fen FROM specs ORDER BY id",
    )
    .fetch_all(pool)
    .await
}

/// Customer managers' names by id.
pub async fn manager_names(pool: &AnyPool) -> sqlx::Result<std::collections::HashMap<i64, String>> {
    Ok(sqlx::query_as::<_, (i64, String)>(
        "SELECT id, display_name FROM users WHERE role = 'customer_manager'",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect())
}
