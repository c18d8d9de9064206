//! The review chain's records: sheet states, actions, corrections and the
//! lines a reviewer reads.

use std::collections::HashMap;

use domain::forecast::view::{
    Correction, CorrectionView, LineHistory, ReviewAction, ReviewActionKind, ReviewLine,
    ReviewTotals, SheetCorrection, SheetStatus,
};
use domain::month::YearMonth;
use sqlx::{AnyConnection, AnyPool, Row};

use super::forecast::Stale;

/// A sheet with what the review chain needs to know about it.
#[derive(Debug, Clone)]
pub struct SheetRecord {
    pub id: i64,
    pub cycle_id: i64,
    pub month: YearMonth,
    pub manager_id: i64,
    pub manager_name: String,
    pub manager_unit: i64,
    pub unit_name: String,
    pub status: SheetStatus,
    pub level: Option<u8>,
    pub submitted_by: Option<i64>,
    pub reopened_until: Option<chrono::NaiveDate>,
    pub retailers: i64,
    pub corrected: i64,
}

const SHEET_SELECT: &str = "SELECT s.id, s.cycle_id, c.month, s.manager_id, u.display_name, \
        u.org_unit_id, o.name, s.status, s.review_level, s.submitted_by, s.reopened_until, \
        (SELECT COUNT(*) FROM forecast_cycle_retailers f WHERE f.sheet_id = s.id), \
        (SELECT COUNT(*) FROM forecast_lines l WHERE l.sheet_id = s.id AND l.current_value IS NOT NULL) \
     FROM forecast_sheets s JOIN forecast_cycles c ON c.id = s.cycle_id \
     JOIN users u ON u.id = s.manager_id JOIN org_units o ON o.id = u.org_unit_id";

fn decode_error(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn record_of(r: &sqlx::any::AnyRow) -> sqlx::Result<SheetRecord> {
    let month: String = r.try_get(2)?;
    let level: Option<i64> = r.try_get(8)?;
    let reopened: Option<String> = r.try_get(10)?;
    Ok(SheetRecord {
        id: r.try_get(0)?,
        cycle_id: r.try_get(1)?,
        month: month.parse().map_err(decode_error)?,
        manager_id: r.try_get(3)?,
        manager_name: r.try_get(4)?,
        manager_unit: r.try_get(5)?,
        unit_name: r.try_get(6)?,
        status: SheetStatus::parse(&r.try_get::<String, _>(7)?),
        level: level.and_then(|l| u8::try_from(l).ok()),
        submitted_by: r.try_get(9)?,
        reopened_until: reopened
            .as_deref()
            .map(|d| d.parse().map_err(decode_error))
            .transpose()?,
        retailers: r.try_get(11)?,
        corrected: r.try_get(12)?,
    })
}

pub async fn sheet(pool: &AnyPool, id: i64) -> sqlx::Result<Option<SheetRecord>> {
    sqlx::query(&format!("{SHEET_SELECT} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(record_of)
        .transpose()
}

/// Sheets of open cycles, latest month first.
pub async fn open_sheets(pool: &AnyPool) -> sqlx::Result<Vec<SheetRecord>> {
    sqlx::query(&format!(
        "{SHEET_SELECT} WHERE c.status = 'open' ORDER BY c.month DESC, o.name, u.display_name"
    ))
    .fetch_all(pool)
    .await?
    .iter()
    .map(record_of)
    .collect()
}

/// The sheet's status and level, read again inside a write transaction.
pub async fn state(conn: &mut AnyConnection, id: i64) -> sqlx::Result<(SheetStatus, Option<u8>)> {
    let row = sqlx::query("SELECT status, review_level FROM forecast_sheets WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await?;
    let level: Option<i64> = row.try_get(1)?;
    Ok((
        SheetStatus::parse(&row.try_get::<String, _>(0)?),
        level.and_then(|l| u8::try_from(l).ok()),
    ))
}

/// Moves a sheet to `status` at `level`.
pub async fn set_state(
    conn: &mut AnyConnection,
    id: i64,
    status: SheetStatus,
    level: Option<u8>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE forecast_sheets SET status = $1, review_level = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(level.map(i64::from))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Submission: to level 1, remembering who submitted.
pub async fn submit(conn: &mut AnyConnection, id: i64, actor: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE forecast_sheets SET status = 'submitted', review_level = 1, submitted_by = $1, \
         submitted_at = $2 WHERE id = $3",
    )
    .bind(actor)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Final approval: every line's value now becomes its approved value.
pub async fn approve_final(conn: &mut AnyConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE forecast_lines SET final_value = COALESCE(current_value, entered) WHERE sheet_id = $1",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    set_state(conn, id, SheetStatus::Approved, None).await
}

#[allow(clippy::too_many_arguments)]
pub async fn record_action(
    conn: &mut AnyConnection,
    sheet_id: i64,
    action: ReviewActionKind,
    level: u8,
    to_level: Option<u8>,
    comment: Option<&str>,
    actor: i64,
    at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO forecast_reviews (sheet_id, action, level, to_level, comment, actor_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(sheet_id)
    .bind(action.as_str())
    .bind(i64::from(level))
    .bind(to_level.map(i64::from))
    .bind(comment.map(str::trim).filter(|c| !c.is_empty()))
    .bind(actor)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A sheet's actions, oldest first.
pub async fn actions(pool: &AnyPool, sheet_id: i64) -> sqlx::Result<Vec<ReviewAction>> {
    sqlx::query(
        "SELECT r.action, r.level, r.to_level, r.comment, u.display_name, r.at \
         FROM forecast_reviews r JOIN users u ON u.id = r.actor_id WHERE r.sheet_id = $1 ORDER BY r.id",
    )
    .bind(sheet_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        let level: i64 = r.try_get(1)?;
        let to_level: Option<i64> = r.try_get(2)?;
        Ok(ReviewAction {
            action: ReviewActionKind::parse(&r.try_get::<String, _>(0)?),
            level: u8::try_from(level).unwrap_or(0),
            to_level: to_level.and_then(|l| u8::try_from(l).ok()),
            comment: r.try_get(3)?,
            actor_name: r.try_get(4)?,
            at: r.try_get(5)?,
        })
    })
    .collect()
}

/// The corrections still in effect on a sheet, the latest per line.
pub async fn sheet_corrections(
    pool: &AnyPool,
    sheet_id: i64,
) -> sqlx::Result<Vec<SheetCorrection>> {
    let rows = sqlx::query(
        "SELECT c.retailer_id, c.spec_id, l.entered, c.to_value, c.reason, u.display_name, c.level \
         FROM forecast_corrections c JOIN users u ON u.id = c.actor_id \
         JOIN forecast_lines l ON l.sheet_id = c.sheet_id AND l.retailer_id = c.retailer_id \
                              AND l.spec_id = c.spec_id \
         WHERE c.sheet_id = $1 AND l.current_value IS NOT NULL ORDER BY c.id",
    )
    .bind(sheet_id)
    .fetch_all(pool)
    .await?;
    let mut latest: HashMap<(i64, i64), SheetCorrection> = HashMap::new();
    for r in &rows {
        let level: i64 = r.try_get(6)?;
        let c = SheetCorrection {
            retailer_id: r.try_get(0)?,
            spec_id: r.try_get(1)?,
            entered: r.try_get(2)?,
            value: r.try_get(3)?,
            reason: r.try_get(4)?,
            actor_name: r.try_get(5)?,
            level: u8::try_from(level).unwrap_or(0),
        };
        latest.insert((c.retailer_id, c.spec_id), c);
    }
    let mut out: Vec<SheetCorrection> = latest.into_values().collect();
    out.sort_by_key(|c| (c.retailer_id, c.spec_id));
    Ok(out)
}

/// Which lines a reviewer lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFilter {
    All,
    /// Only lines a reviewer corrected.
    Corrected,
    /// Only lines with the customer manager's reason.
    WithReason,
}

/// One page of a sheet's lines, largest deviation from the baseline first,
/// the number matching and the sheet's totals.
pub async fn lines(
    pool: &AnyPool,
    sheet_id: i64,
    search: &str,
    filter: LineFilter,
    offset: i64,
    limit: i64,
) -> sqlx::Result<(Vec<ReviewLine>, i64, ReviewTotals)> {
    let filter_sql = match filter {
        LineFilter::All => "",
        LineFilter::Corrected => " AND l.current_value IS NOT NULL",
        LineFilter::WithReason => " AND l.reason IS NOT NULL",
    };
    // An empty search is "%%", which matches every name.
    let like = format!("%{}%", search.trim().replace(['%', '_'], ""));
    let from = format!(
        "FROM forecast_lines l JOIN retailers r ON r.id = l.retailer_id JOIN specs p ON p.id = l.spec_id \
         WHERE l.sheet_id = $1{filter_sql} AND (r.name LIKE $2 OR r.licence_no LIKE $2 OR p.name LIKE $2)"
    );
    let matching: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {from}"))
        .bind(sheet_id)
        .bind(&like)
        .fetch_one(pool)
        .await?;
    let rows = sqlx::query(&format!(
        "SELECT l.retailer_id, r.licence_no, r.name, l.spec_id, p.name, l.entered, \
                COALESCE(l.current_value, l.entered), l.final_value, l.baseline, \
                COALESCE(l.last_month, 0), l.reason, l.revision, \
                (SELECT COUNT(*) FROM forecast_corrections c WHERE c.sheet_id = l.sheet_id \
                   AND c.retailer_id = l.retailer_id AND c.spec_id = l.spec_id), r.class_code \
         {from} ORDER BY ABS(COALESCE(l.current_value, l.entered, 0) - COALESCE(l.baseline, 0)) DESC, \
                r.name, p.id LIMIT $3 OFFSET $4"
    ))
    .bind(sheet_id)
    .bind(&like)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let lines = rows
        .iter()
        .map(|r| {
            Ok(ReviewLine {
                retailer_id: r.try_get(0)?,
                licence_no: r.try_get(1)?,
                retailer_name: r.try_get(2)?,
                spec_id: r.try_get(3)?,
                spec_name: r.try_get(4)?,
                entered: r.try_get(5)?,
                value: r.try_get(6)?,
                final_value: r.try_get(7)?,
                baseline: r.try_get(8)?,
                last_month: r.try_get(9)?,
                reason: r.try_get(10)?,
                revision: r.try_get(11)?,
                corrections: r.try_get(12)?,
                // Filled in by the caller from the bounds.
                bound: 0,
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    let t = sqlx::query(
        "SELECT CAST(COALESCE(SUM(entered), 0) AS BIGINT), \
                CAST(COALESCE(SUM(COALESCE(current_value, entered)), 0) AS BIGINT), \
                CAST(COALESCE(SUM(baseline), 0) AS BIGINT), CAST(COALESCE(SUM(last_month), 0) AS BIGINT) \
         FROM forecast_lines WHERE sheet_id = $1",
    )
    .bind(sheet_id)
    .fetch_one(pool)
    .await?;
    let totals = ReviewTotals {
        entered: t.try_get(0)?,
        value: t.try_get(1)?,
        baseline: t.try_get(2)?,
        last_month: t.try_get(3)?,
    };
    Ok((lines, matching, totals))
}

/// The class of each retailer on a sheet, for bounds.
pub async fn classes(pool: &AnyPool, sheet_id: i64) -> sqlx::Result<HashMap<i64, String>> {
    sqlx::query(
        "SELECT r.id, r.class_code FROM forecast_cycle_retailers f JOIN retailers r ON r.id = f.retailer_id \
         WHERE f.sheet_id = $1",
    )
    .bind(sheet_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// Applies corrections (already checked) at `level` in the caller's
/// transaction. A line whose revision is not the one the correction was
/// made on refuses the whole write (the caller then drops the transaction);
/// every such line is named. Returns the new revisions.
#[allow(clippy::too_many_arguments)]
pub async fn correct(
    conn: &mut AnyConnection,
    sheet_id: i64,
    corrections: &[Correction],
    level: u8,
    unit_id: i64,
    actor: i64,
    now: i64,
) -> sqlx::Result<Result<Vec<i64>, Stale>> {
    let mut revisions = Vec::with_capacity(corrections.len());
    let mut stale = Vec::new();
    for (i, c) in corrections.iter().enumerate() {
        // The correction row takes the line's value before it (from), and
        // is written only if the line is still at the revision the
        // reviewer saw; the update then checks the revision again, so a
        // concurrent correction in between updates nothing.
        let recorded = sqlx::query(
            "INSERT INTO forecast_corrections (sheet_id, retailer_id, spec_id, level, unit_id, from_value, \
                                              to_value, reason, actor_id, at) \
             SELECT sheet_id, retailer_id, spec_id, $4, $5, COALESCE(current_value, entered), $6, $7, $8, $9 \
             FROM forecast_lines WHERE sheet_id = $1 AND retailer_id = $2 AND spec_id = $3 AND revision = $10",
        )
        .bind(sheet_id)
        .bind(c.retailer_id)
        .bind(c.spec_id)
        .bind(i64::from(level))
        .bind(unit_id)
        .bind(c.value)
        .bind(c.reason.trim())
        .bind(actor)
        .bind(now)
        .bind(c.base_revision)
        .execute(&mut *conn)
        .await?;
        if recorded.rows_affected() != 1 {
            stale.push(i);
            continue;
        }
        let updated = sqlx::query(
            "UPDATE forecast_lines SET current_value = $1, revision = revision + 1, updated_by = $2, \
             updated_at = $3 WHERE sheet_id = $4 AND retailer_id = $5 AND spec_id = $6 AND revision = $7",
        )
        .bind(c.value)
        .bind(actor)
        .bind(now)
        .bind(sheet_id)
        .bind(c.retailer_id)
        .bind(c.spec_id)
        .bind(c.base_revision)
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() == 1 {
            revisions.push(c.base_revision + 1);
        } else {
            stale.push(i);
        }
    }
    if stale.is_empty() {
        Ok(Ok(revisions))
    } else {
        Ok(Err(Stale(stale)))
    }
}

/// Everything that happened to one line, or `None` if the line does not exist.
pub async fn line_history(
    pool: &AnyPool,
    sheet_id: i64,
    retailer_id: i64,
    spec_id: i64,
) -> sqlx::Result<Option<LineHistory>> {
    let Some(line) = sqlx::query(
        "SELECT r.licence_no, r.name, p.name, u.display_name, l.entered, l.reason, l.baseline, \
                COALESCE(l.current_value, l.entered), l.final_value, l.revision \
         FROM forecast_lines l JOIN retailers r ON r.id = l.retailer_id JOIN specs p ON p.id = l.spec_id \
         JOIN forecast_sheets s ON s.id = l.sheet_id JOIN users u ON u.id = s.manager_id \
         WHERE l.sheet_id = $1 AND l.retailer_id = $2 AND l.spec_id = $3",
    )
    .bind(sheet_id)
    .bind(retailer_id)
    .bind(spec_id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let corrections = sqlx::query(
        "SELECT c.level, o.name, u.display_name, c.at, c.from_value, c.to_value, c.reason \
         FROM forecast_corrections c JOIN users u ON u.id = c.actor_id JOIN org_units o ON o.id = c.unit_id \
         WHERE c.sheet_id = $1 AND c.retailer_id = $2 AND c.spec_id = $3 ORDER BY c.id",
    )
    .bind(sheet_id)
    .bind(retailer_id)
    .bind(spec_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        let level: i64 = r.try_get(0)?;
        Ok(CorrectionView {
            level: u8::try_from(level).unwrap_or(0),
            unit_name: r.try_get(1)?,
            actor_name: r.try_get(2)?,
            at: r.try_get(3)?,
            from: r.try_get(4)?,
            to: r.try_get(5)?,
            reason: r.try_get(6)?,
        })
    })
    .collect::<sqlx::Result<Vec<_>>>()?;
    Ok(Some(LineHistory {
        retailer_id,
        licence_no: line.try_get(0)?,
        retailer_name: line.try_get(1)?,
        spec_id,
        spec_name: line.try_get(2)?,
        manager_name: line.try_get(3)?,
        entered: line.try_get(4)?,
        entered_reason: line.try_get(5)?,
        baseline: line.try_get(6)?,
        value: line.try_get(7)?,
        final_value: line.try_get(8)?,
        revision: line.try_get(9)?,
        corrections,
    }))
}
