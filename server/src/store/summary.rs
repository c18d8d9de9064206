//! The summaries of a cycle: totals, deviations, trend, accuracy against
//! actual orders, and the loading of actual orders.
//!
//! Every grouped query groups by (sheet, spec) or by class, so the rows sent
//! back stay small (managers × specs) however many lines a cycle has; the
//! caller rolls them up to specs, departments and managers. The reports'
//! queries keep only the sheets inside the reader's reach. The dashboard
//! and the accuracy report read per-sheet summaries, kept by
//! [`refresh_sheet`] and [`refresh_accuracy`] in the transaction that
//! changes their inputs, not the lines.

use domain::forecast::review::AccuracySums;
use domain::forecast::view::{AccuracyLine, DeviationLine, TotalRow, TrendPoint};
use domain::month::YearMonth;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::db::{insert_rows, Value};
use crate::service::reach::Reach;

/// A condition on `s`, a `forecast_sheets` row, keeping the sheets of the
/// customer managers inside `reach`. The ids are integers written into the
/// statement by this function (no text from outside), and a subtree has a
/// handful of units, so no array parameter is needed.
fn sheets_within(reach: &Reach) -> String {
    match reach {
        Reach::Everything => "1 = 1".into(),
        Reach::Manager { id, .. } => format!("s.manager_id = {id}"),
        Reach::Units(units) if units.is_empty() => "1 = 0".into(),
        Reach::Units(units) => format!(
            "s.manager_id IN (SELECT id FROM users WHERE org_unit_id IN ({}))",
            units
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn decode_error(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// The value a line has now: approved, else corrected, else entered.
const VALUE: &str = "COALESCE(l.final_value, l.current_value, l.entered, 0)";

fn sums_sql() -> String {
    format!(
        "COUNT(*), CAST(SUM({VALUE}) AS BIGINT), CAST(COALESCE(SUM(l.final_value), 0) AS BIGINT), \
         CAST(COALESCE(SUM(l.entered), 0) AS BIGINT), CAST(COALESCE(SUM(l.baseline), 0) AS BIGINT), \
         CAST(COALESCE(SUM(l.last_month), 0) AS BIGINT), CAST(COALESCE(SUM(l.last_year), 0) AS BIGINT)"
    )
}

fn total_of(r: &sqlx::any::AnyRow, at: usize) -> sqlx::Result<TotalRow> {
    Ok(TotalRow {
        id: 0,
        label: String::new(),
        lines: r.try_get(at)?,
        forecast: r.try_get(at + 1)?,
        approved: r.try_get(at + 2)?,
        entered: r.try_get(at + 3)?,
        baseline: r.try_get(at + 4)?,
        last_month: r.try_get(at + 5)?,
        last_year: r.try_get(at + 6)?,
    })
}

/// The columns of `forecast_sheet_totals` after the key.
const TOTAL_COLUMNS: &str = "lines, forecast, approved, entered, baseline, last_month, last_year";

/// Rebuilds one sheet's totals and largest deviations from its submitted
/// lines, in the caller's transaction. Called whenever those values change.
pub async fn refresh_sheet(conn: &mut AnyConnection, sheet_id: i64) -> sqlx::Result<()> {
    let sums = sums_sql();
    for sql in [
        "DELETE FROM forecast_sheet_totals WHERE sheet_id = $1".to_string(),
        format!(
            "INSERT INTO forecast_sheet_totals (sheet_id, kind, key, {TOTAL_COLUMNS}) \
             SELECT l.sheet_id, 'spec', CAST(l.spec_id AS TEXT), {sums} FROM forecast_lines l \
             WHERE l.sheet_id = $1 AND l.baseline IS NOT NULL GROUP BY l.sheet_id, l.spec_id"
        ),
        format!(
            "INSERT INTO forecast_sheet_totals (sheet_id, kind, key, {TOTAL_COLUMNS}) \
             SELECT l.sheet_id, 'class', r.class_code, {sums} FROM forecast_lines l \
             JOIN retailers r ON r.id = l.retailer_id \
             WHERE l.sheet_id = $1 AND l.baseline IS NOT NULL GROUP BY l.sheet_id, r.class_code"
        ),
        "DELETE FROM forecast_sheet_deviations WHERE sheet_id = $1".to_string(),
        format!(
            "INSERT INTO forecast_sheet_deviations (sheet_id, retailer_id, spec_id, value, baseline) \
             SELECT l.sheet_id, l.retailer_id, l.spec_id, {VALUE}, l.baseline FROM forecast_lines l \
             WHERE l.sheet_id = $1 AND l.baseline IS NOT NULL \
             ORDER BY ABS({VALUE} - l.baseline) DESC, l.retailer_id, l.spec_id LIMIT {DEVIATIONS_KEPT}"
        ),
    ] {
        sqlx::query(&sql).bind(sheet_id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deviations kept per sheet; the dashboard lists at most this many.
pub const DEVIATIONS_KEPT: i64 = 20;

fn stored_sums() -> String {
    "CAST(SUM(t.lines) AS BIGINT), CAST(SUM(t.forecast) AS BIGINT), CAST(SUM(t.approved) AS BIGINT), \
     CAST(SUM(t.entered) AS BIGINT), CAST(SUM(t.baseline) AS BIGINT), CAST(SUM(t.last_month) AS BIGINT), \
     CAST(SUM(t.last_year) AS BIGINT)"
        .to_string()
}

/// Totals per (sheet, spec) of a cycle's lines submitted at least once
/// (their baseline and history are recorded at submission), within `reach`.
pub async fn totals_by_sheet_spec(
    pool: &AnyPool,
    cycle_id: i64,
    reach: &Reach,
) -> sqlx::Result<Vec<(i64, i64, TotalRow)>> {
    sqlx::query(&format!(
        "SELECT t.sheet_id, CAST(t.key AS BIGINT), {TOTAL_COLUMNS} FROM forecast_sheet_totals t \
         JOIN forecast_sheets s ON s.id = t.sheet_id WHERE s.cycle_id = $1 AND t.kind = 'spec' AND {}",
        sheets_within(reach)
    ))
    .bind(cycle_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, total_of(r, 2)?)))
    .collect()
}

/// Totals per customer class (档位) within `reach`, highest first.
pub async fn totals_by_class(
    pool: &AnyPool,
    cycle_id: i64,
    reach: &Reach,
) -> sqlx::Result<Vec<TotalRow>> {
    sqlx::query(&format!(
        "SELECT c.rank, c.label, {} FROM forecast_sheet_totals t \
         JOIN forecast_sheets s ON s.id = t.sheet_id JOIN customer_classes c ON c.code = t.key \
         WHERE s.cycle_id = $1 AND t.kind = 'class' AND {} \
         GROUP BY c.rank, c.label ORDER BY c.rank DESC",
        stored_sums(),
        sheets_within(reach)
    ))
    .bind(cycle_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(TotalRow {
            id: r.try_get(0)?,
            label: r.try_get(1)?,
            ..total_of(r, 2)?
        })
    })
    .collect()
}

/// The submitted lines within `reach` furthest from their baseline.
pub async fn deviations(
    pool: &AnyPool,
    cycle_id: i64,
    reach: &Reach,
    limit: i64,
) -> sqlx::Result<Vec<DeviationLine>> {
    sqlx::query(&format!(
        "SELECT d.sheet_id, u.display_name, d.retailer_id, r.licence_no, r.name, d.spec_id, p.name, \
                d.value, d.baseline \
         FROM forecast_sheet_deviations d JOIN forecast_sheets s ON s.id = d.sheet_id \
         JOIN retailers r ON r.id = d.retailer_id JOIN specs p ON p.id = d.spec_id \
         JOIN users u ON u.id = s.manager_id \
         WHERE s.cycle_id = $1 AND {} \
         ORDER BY ABS(d.value - d.baseline) DESC, d.sheet_id, d.retailer_id, d.spec_id LIMIT $2",
        sheets_within(reach)
    ))
    .bind(cycle_id)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(DeviationLine {
            sheet_id: r.try_get(0)?,
            manager_name: r.try_get(1)?,
            retailer_id: r.try_get(2)?,
            licence_no: r.try_get(3)?,
            retailer_name: r.try_get(4)?,
            spec_id: r.try_get(5)?,
            spec_name: r.try_get(6)?,
            value: r.try_get(7)?,
            baseline: r.try_get(8)?,
        })
    })
    .collect()
}

/// Company-wide orders of `specs` per month from `from` to `to`.
pub async fn trend(
    pool: &AnyPool,
    cycle_id: i64,
    from: YearMonth,
    to: YearMonth,
) -> sqlx::Result<Vec<TrendPoint>> {
    sqlx::query(
        "SELECT t.month, CAST(SUM(t.cartons) AS BIGINT) FROM monthly_spec_totals t \
         JOIN forecast_cycle_specs f ON f.spec_id = t.spec_id AND f.cycle_id = $1 \
         WHERE t.month >= $2 AND t.month <= $3 GROUP BY t.month ORDER BY t.month",
    )
    .bind(cycle_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(TrendPoint {
            month: r.try_get::<String, _>(0)?.parse().map_err(decode_error)?,
            cartons: r.try_get(1)?,
        })
    })
    .collect()
}

/// Rebuilds the monthly totals per spec of `month` from its order lines.
pub async fn refresh_month_totals(conn: &mut AnyConnection, month: YearMonth) -> sqlx::Result<()> {
    let month = month.to_string();
    sqlx::query("DELETE FROM monthly_spec_totals WHERE month = $1")
        .bind(&month)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO monthly_spec_totals (month, spec_id, cartons, retailers) \
         SELECT month, spec_id, CAST(SUM(cartons) AS BIGINT), COUNT(*) FROM monthly_orders \
         WHERE month = $1 GROUP BY month, spec_id",
    )
    .bind(&month)
    .execute(&mut *conn)
    .await?;
    super::analysis::refresh_month(conn, month.parse().map_err(decode_error)?).await
}

/// Rebuilds every month's totals (after generating demo data).
pub async fn refresh_all_totals(conn: &mut AnyConnection) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM monthly_spec_totals")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO monthly_spec_totals (month, spec_id, cartons, retailers) \
         SELECT month, spec_id, CAST(SUM(cartons) AS BIGINT), COUNT(*) FROM monthly_orders \
         GROUP BY month, spec_id",
    )
    .execute(&mut *conn)
    .await?;
    super::analysis::refresh_all(conn).await
}

/// Replaces a month's actual orders (checked by the caller), its totals and
/// the accuracy of its cycles, in the caller's transaction.
pub async fn replace_actuals(
    conn: &mut AnyConnection,
    month: YearMonth,
    rows: &[(i64, i64, i64)],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM monthly_orders WHERE month = $1")
        .bind(month.to_string())
        .execute(&mut *conn)
        .await?;
    let values: Vec<Vec<Value>> = rows
        .iter()
        .map(|&(retailer, spec, cartons)| {
            vec![
                retailer.into(),
                spec.into(),
                month.to_string().into(),
                cartons.into(),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "monthly_orders",
        &["retailer_id", "spec_id", "month", "cartons"],
        &values,
    )
    .await?;
    refresh_month_totals(conn, month).await?;
    refresh_accuracy_month(conn, month).await
}

/// Whether any orders of `month` are loaded.
pub async fn has_orders(pool: &AnyPool, month: YearMonth) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM monthly_spec_totals WHERE month = $1")
        .bind(month.to_string())
        .fetch_one(pool)
        .await?;
    Ok(n > 0)
}

/// Orders of the line's retailer and spec in the month given after it.
const ORDERS_OF: &str = "LEFT JOIN monthly_orders m ON m.retailer_id = l.retailer_id \
     AND m.spec_id = l.spec_id AND m.month =";

/// Accuracy sums of approved lines `l` joined to their orders `m`, named
/// as the columns of the accuracy summaries.
const ACCURACY_SUMS: &str = "COUNT(*) AS lines, \
     CAST(COALESCE(SUM(COALESCE(m.cartons, 0)), 0) AS BIGINT) AS actual, \
     CAST(COALESCE(SUM(l.final_value), 0) AS BIGINT) AS approved, \
     CAST(COALESCE(SUM(COALESCE(l.entered, 0)), 0) AS BIGINT) AS entered, \
     CAST(COALESCE(SUM(COALESCE(l.baseline, 0)), 0) AS BIGINT) AS baseline, \
     CAST(COALESCE(SUM(ABS(l.final_value - COALESCE(m.cartons, 0))), 0) AS BIGINT) AS approved_error, \
     CAST(COALESCE(SUM(ABS(COALESCE(l.entered, 0) - COALESCE(m.cartons, 0))), 0) AS BIGINT) AS entered_error, \
     CAST(COALESCE(SUM(ABS(COALESCE(l.baseline, 0) - COALESCE(m.cartons, 0))), 0) AS BIGINT) AS baseline_error";

/// The accuracy summaries' columns after the key, in `AccuracySums` order.
const ACCURACY_COLUMNS: [&str; 8] = [
    "lines",
    "actual",
    "approved",
    "entered",
    "baseline",
    "approved_error",
    "entered_error",
    "baseline_error",
];

/// The accuracy columns of summary `a`, each summed when `sum`.
fn stored_accuracy(sum: bool) -> String {
    ACCURACY_COLUMNS
        .iter()
        .map(|c| {
            if sum {
                format!("CAST(SUM(a.{c}) AS BIGINT)")
            } else {
                format!("a.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn sums_of(r: &sqlx::any::AnyRow, at: usize) -> sqlx::Result<AccuracySums> {
    Ok(AccuracySums {
        lines: r.try_get(at)?,
        actual: r.try_get(at + 1)?,
        approved: r.try_get(at + 2)?,
        entered: r.try_get(at + 3)?,
        baseline: r.try_get(at + 4)?,
        approved_error: r.try_get(at + 5)?,
        entered_error: r.try_get(at + 6)?,
        baseline_error: r.try_get(at + 7)?,
    })
}

/// Retailers kept per sheet by approved error, largest first: as many as
/// the accuracy report lists for one manager (their whole sheet).
pub const ACCURACY_RETAILERS_KEPT: i64 = 2_000;
/// Approved lines kept per sheet by distance from the orders, furthest
/// first: as many as the accuracy report lists.
pub const ACCURACY_LINES_KEPT: i64 = 50;

/// Rebuilds one sheet's accuracy summaries (sums per spec and for the
/// sheet, the retailers and lines furthest from the orders) from its
/// approved lines and the actual orders of its cycle's month, in the
/// caller's transaction. Called whenever either changes: at final approval
/// and when the month's orders are loaded or replaced
/// ([`refresh_accuracy_month`]). Keep in step with migration 0012.
pub async fn refresh_accuracy(conn: &mut AnyConnection, sheet_id: i64) -> sqlx::Result<()> {
    for table in [
        "forecast_sheet_accuracy",
        "forecast_sheet_accuracy_retailers",
        "forecast_sheet_accuracy_lines",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE sheet_id = $1"))
            .bind(sheet_id)
            .execute(&mut *conn)
            .await?;
    }
    // A sheet without approved lines has no summary (one look at its
    // lines, where the statements below would read them three times).
    let approved: Option<i64> = sqlx::query_scalar(
        "SELECT sheet_id FROM forecast_lines WHERE sheet_id = $1 AND final_value IS NOT NULL LIMIT 1",
    )
    .bind(sheet_id)
    .fetch_optional(&mut *conn)
    .await?;
    let month: Option<String> = sqlx::query_scalar(
        "SELECT c.month FROM forecast_sheets s JOIN forecast_cycles c ON c.id = s.cycle_id WHERE s.id = $1",
    )
    .bind(sheet_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (Some(_), Some(month)) = (approved, month) else {
        return Ok(());
    };
    let columns = ACCURACY_COLUMNS.join(", ");
    // The sheet's approved lines against the orders of the month.
    let from = format!(
        "FROM forecast_lines l {ORDERS_OF} $2 WHERE l.sheet_id = $1 AND l.final_value IS NOT NULL"
    );
    for sql in [
        format!(
            "INSERT INTO forecast_sheet_accuracy (sheet_id, kind, key, {columns}) \
             SELECT l.sheet_id, 'spec', l.spec_id, {ACCURACY_SUMS} {from} GROUP BY l.sheet_id, l.spec_id"
        ),
        format!(
            "INSERT INTO forecast_sheet_accuracy_retailers (sheet_id, place, retailer_id, {columns}) \
             SELECT sheet_id, place, retailer_id, {columns} FROM ( \
                 SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.sheet_id \
                                                ORDER BY t.approved_error DESC, t.retailer_id) AS place \
                 FROM (SELECT l.sheet_id, l.retailer_id, {ACCURACY_SUMS} {from} \
                       GROUP BY l.sheet_id, l.retailer_id) t) ranked \
             WHERE place <= {ACCURACY_RETAILERS_KEPT}"
        ),
        format!(
            "INSERT INTO forecast_sheet_accuracy_lines \
                 (sheet_id, place, retailer_id, spec_id, approved, entered, baseline, actual) \
             SELECT sheet_id, place, retailer_id, spec_id, approved, entered, baseline, actual FROM ( \
                 SELECT l.sheet_id, l.retailer_id, l.spec_id, l.final_value AS approved, \
                        COALESCE(l.entered, 0) AS entered, COALESCE(l.baseline, 0) AS baseline, \
                        COALESCE(m.cartons, 0) AS actual, \
                        ROW_NUMBER() OVER (PARTITION BY l.sheet_id \
                                           ORDER BY ABS(l.final_value - COALESCE(m.cartons, 0)) DESC, \
                                                    l.retailer_id, l.spec_id) AS place \
                 {from}) ranked \
             WHERE place <= {ACCURACY_LINES_KEPT}"
        ),
    ] {
        sqlx::query(&sql)
            .bind(sheet_id)
            .bind(&month)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(&format!(
        "INSERT INTO forecast_sheet_accuracy (sheet_id, kind, key, {columns}) \
         SELECT a.sheet_id, 'sheet', 0, {} FROM forecast_sheet_accuracy a \
         WHERE a.sheet_id = $1 AND a.kind = 'spec' GROUP BY a.sheet_id",
        stored_accuracy(true)
    ))
    .bind(sheet_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rebuilds the accuracy summaries of every sheet of the cycles of
/// `month`, after its actual orders changed, in the caller's transaction.
///
/// On PostgreSQL the month's cycles are locked first (`FOR UPDATE`): a
/// final approval holds its cycle `FOR SHARE` while it rebuilds its sheet
/// from the orders it reads, so the two wait for each other instead of each
/// rebuilding from the other's state before it committed (an approval
/// beside an orders upload could keep the old orders' figures). SQLite
/// runs one writer at a time.
pub async fn refresh_accuracy_month(
    conn: &mut AnyConnection,
    month: YearMonth,
) -> sqlx::Result<()> {
    let lock = if conn.backend_name() == "PostgreSQL" {
        " FOR UPDATE OF c"
    } else {
        ""
    };
    let sheets: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT s.id FROM forecast_cycles c JOIN forecast_sheets s ON s.cycle_id = c.id \
         WHERE c.month = $1 ORDER BY s.id{lock}"
    ))
    .bind(month.to_string())
    .fetch_all(&mut *conn)
    .await?;
    refresh_accuracy_of(conn, &sheets).await
}

/// Rebuilds every sheet's accuracy summaries (after generating demo data).
pub async fn refresh_all_accuracy(conn: &mut AnyConnection) -> sqlx::Result<()> {
    let sheets: Vec<i64> = sqlx::query_scalar("SELECT id FROM forecast_sheets ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    refresh_accuracy_of(conn, &sheets).await
}

async fn refresh_accuracy_of(conn: &mut AnyConnection, sheets: &[i64]) -> sqlx::Result<()> {
    for &sheet in sheets {
        refresh_accuracy(conn, sheet).await?;
    }
    Ok(())
}

/// Accuracy sums per (sheet, spec) of the whole company (the ranking of
/// managers needs every sheet).
pub async fn accuracy_by_sheet_spec(
    pool: &AnyPool,
    cycle_id: i64,
) -> sqlx::Result<Vec<(i64, i64, AccuracySums)>> {
    sqlx::query(&format!(
        "SELECT a.sheet_id, a.key, {} FROM forecast_sheet_accuracy a \
         JOIN forecast_sheets s ON s.id = a.sheet_id WHERE s.cycle_id = $1 AND a.kind = 'spec'",
        stored_accuracy(false)
    ))
    .bind(cycle_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, sums_of(r, 2)?)))
    .collect()
}

/// Accuracy per retailer within `reach`, the `limit` (at most
/// [`ACCURACY_RETAILERS_KEPT`]) with the largest error first. A retailer
/// is on one sheet of a cycle, so the company's first `limit` are among
/// the first `limit` of each sheet.
pub async fn accuracy_by_retailer(
    pool: &AnyPool,
    cycle_id: i64,
    reach: &Reach,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String, AccuracySums)>> {
    debug_assert!(limit <= ACCURACY_RETAILERS_KEPT);
    sqlx::query(&format!(
        "SELECT a.retailer_id, r.name, {} FROM forecast_sheet_accuracy_retailers a \
         JOIN forecast_sheets s ON s.id = a.sheet_id JOIN retailers r ON r.id = a.retailer_id \
         WHERE s.cycle_id = $1 AND a.place <= $2 AND {} \
         ORDER BY a.approved_error DESC, a.retailer_id LIMIT $2",
        stored_accuracy(false),
        sheets_within(reach)
    ))
    .bind(cycle_id)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, sums_of(r, 2)?)))
    .collect()
}

fn accuracy_line(r: &sqlx::any::AnyRow) -> sqlx::Result<AccuracyLine> {
    let approved: i64 = r.try_get(6)?;
    let actual: i64 = r.try_get(9)?;
    Ok(AccuracyLine {
        retailer_id: r.try_get(0)?,
        licence_no: r.try_get(1)?,
        retailer_name: r.try_get(2)?,
        manager_name: r.try_get(3)?,
        spec_id: r.try_get(4)?,
        spec_name: r.try_get(5)?,
        approved,
        entered: r.try_get(7)?,
        baseline: r.try_get(8)?,
        actual,
        relative_error: domain::forecast::review::relative_error(approved, actual),
    })
}

/// Approved lines within `reach` against orders: one retailer's (read from
/// its lines, a few dozen), or the `limit` (at most [`ACCURACY_LINES_KEPT`])
/// with the largest error, from the summaries.
pub async fn accuracy_lines(
    pool: &AnyPool,
    cycle_id: i64,
    month: YearMonth,
    reach: &Reach,
    retailer: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<AccuracyLine>> {
    let names = "JOIN retailers r ON r.id = l.retailer_id JOIN specs p ON p.id = l.spec_id \
                 JOIN forecast_sheets s ON s.id = l.sheet_id JOIN users u ON u.id = s.manager_id";
    let within = sheets_within(reach);
    let rows = match retailer {
        Some(retailer) => {
            sqlx::query(&format!(
                "SELECT l.retailer_id, r.licence_no, r.name, u.display_name, l.spec_id, p.name, \
                        l.final_value, COALESCE(l.entered, 0), COALESCE(l.baseline, 0), \
                        COALESCE(m.cartons, 0) \
                 FROM forecast_lines l {names} {ORDERS_OF} $2 \
                 WHERE s.cycle_id = $1 AND l.retailer_id = $3 AND l.final_value IS NOT NULL AND {within} \
                 ORDER BY ABS(l.final_value - COALESCE(m.cartons, 0)) DESC, l.retailer_id, l.spec_id \
                 LIMIT $4"
            ))
            .bind(cycle_id)
            .bind(month.to_string())
            .bind(retailer)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        None => {
            debug_assert!(limit <= ACCURACY_LINES_KEPT);
            // The kept lines, named `l` as the lines are for `names`.
            sqlx::query(&format!(
                "SELECT l.retailer_id, r.licence_no, r.name, u.display_name, l.spec_id, p.name, \
                        l.approved, l.entered, l.baseline, l.actual \
                 FROM forecast_sheet_accuracy_lines l {names} \
                 WHERE s.cycle_id = $1 AND l.place <= $2 AND {within} \
                 ORDER BY ABS(l.approved - l.actual) DESC, l.retailer_id, l.spec_id LIMIT $2"
            ))
            .bind(cycle_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter().map(accuracy_line).collect()
}

/// Accuracy within `reach` of every cycle whose month has orders, by
/// month, from the sheets' summaries.
pub async fn accuracy_trend(
    pool: &AnyPool,
    reach: &Reach,
) -> sqlx::Result<Vec<(i64, YearMonth, AccuracySums)>> {
    sqlx::query(&format!(
        "SELECT c.id, c.month, {} FROM forecast_cycles c \
         JOIN forecast_sheets s ON s.cycle_id = c.id \
         JOIN forecast_sheet_accuracy a ON a.sheet_id = s.id AND a.kind = 'sheet' \
         WHERE c.month IN (SELECT month FROM monthly_spec_totals) AND {} \
         GROUP BY c.id, c.month ORDER BY c.month",
        stored_accuracy(true),
        sheets_within(reach)
    ))
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        let month: YearMonth = r.try_get::<String, _>(1)?.parse().map_err(decode_error)?;
        Ok((r.try_get(0)?, month, sums_of(r, 2)?))
    })
    .collect()
}

/// Licence numbers and spec codes to ids, for checking an import.
pub async fn import_keys(
    pool: &AnyPool,
) -> sqlx::Result<(
    std::collections::HashMap<String, i64>,
    std::collections::HashMap<String, i64>,
)> {
    let licences = sqlx::query("SELECT licence_no, id FROM retailers")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<sqlx::Result<_>>()?;
    let specs = sqlx::query("SELECT code, id FROM specs")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<sqlx::Result<_>>()?;
    Ok((licences, specs))
}

/// One approved line for the export.
#[derive(Debug, Clone)]
pub struct ApprovedLine {
    pub licence_no: String,
    pub retailer_name: String,
    pub manager_name: String,
    pub unit_name: String,
    pub spec_id: i64,
    pub cartons: i64,
}

/// A cycle's approved lines, by department, manager and licence number.
pub async fn approved_lines(pool: &AnyPool, cycle_id: i64) -> sqlx::Result<Vec<ApprovedLine>> {
    sqlx::query(
        "SELECT r.licence_no, r.name, u.display_name, o.name, l.spec_id, l.final_value \
         FROM forecast_lines l JOIN forecast_sheets s ON s.id = l.sheet_id \
         JOIN retailers r ON r.id = l.retailer_id JOIN users u ON u.id = s.manager_id \
         JOIN org_units o ON o.id = u.org_unit_id \
         WHERE s.cycle_id = $1 AND l.final_value IS NOT NULL \
         ORDER BY o.name, u.display_name, r.licence_no, l.spec_id",
    )
    .bind(cycle_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(ApprovedLine {
            licence_no: r.try_get(0)?,
            retailer_name: r.try_get(1)?,
            manager_name: r.try_get(2)?,
            unit_name: r.try_get(3)?,
            spec_id: r.try_get(4)?,
            cartons: r.try_get(5)?,
        })
    })
    .collect()
}
