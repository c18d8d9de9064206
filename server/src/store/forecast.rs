//! Forecast cycles, sheets and lines.

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::forecast::view::{
    CellWrite, CycleSpec, CycleStatus, CycleView, SheetProgress, SheetRow, SheetStatus,
};
use domain::forecast::{
    in_scope, month_sample_group, scale_factor, CycleInput, ForecastRules, Scope,
};
use domain::month::YearMonth;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::db::{insert_rows, update_rows, upsert_rows, Value};

const RULES_KEY: &str = "forecast_rules";

fn decode_error(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn date_of(s: &str) -> sqlx::Result<NaiveDate> {
    s.parse().map_err(decode_error)
}

pub async fn rules(pool: &AnyPool) -> sqlx::Result<ForecastRules> {
    super::settings::get(pool, RULES_KEY).await
}

pub async fn set_rules(conn: &mut AnyConnection, value: &ForecastRules) -> sqlx::Result<()> {
    super::settings::set(conn, RULES_KEY, value).await
}

#[derive(sqlx::FromRow)]
struct RawCycle {
    id: i64,
    month: String,
    scope: String,
    sample_group: Option<i64>,
    submit_deadline: String,
    review_deadline: String,
    status: String,
    population: i64,
    retailers: i64,
    has_entries: i64,
}

const CYCLE_SELECT: &str = "SELECT c.id, c.month, c.scope, c.sample_group, c.submit_deadline, \
        c.review_deadline, c.status, c.population, \
        COALESCE(c.retailers, \
                 (SELECT COUNT(*) FROM forecast_cycle_retailers r WHERE r.cycle_id = c.id)) AS retailers, \
        CASE WHEN EXISTS (SELECT 1 FROM forecast_sheets s WHERE s.cycle_id = c.id \
                          AND EXISTS (SELECT 1 FROM forecast_lines l WHERE l.sheet_id = s.id)) \
             THEN 1 ELSE 0 END AS has_entries \
        FROM forecast_cycles c";

/// The spec lists of one cycle, or of every cycle (`None`), by cycle.
async fn cycle_specs(
    pool: &AnyPool,
    cycle_id: Option<i64>,
) -> sqlx::Result<HashMap<i64, Vec<CycleSpec>>> {
    let rows = sqlx::query(
        "SELECT f.cycle_id, s.id, s.code, s.name FROM forecast_cycle_specs f JOIN specs s ON s.id = f.spec_id \
         WHERE $1 = 0 OR f.cycle_id = $1 ORDER BY f.cycle_id, f.position",
    )
    .bind(cycle_id.unwrap_or(0))
    .fetch_all(pool)
    .await?;
    let mut out: HashMap<i64, Vec<CycleSpec>> = HashMap::new();
    for r in &rows {
        out.entry(r.try_get(0)?).or_default().push(CycleSpec {
            spec_id: r.try_get(1)?,
            code: r.try_get(2)?,
            name: r.try_get(3)?,
        });
    }
    Ok(out)
}

fn view_of(raw: RawCycle, specs: Vec<CycleSpec>) -> sqlx::Result<CycleView> {
    let month: YearMonth = raw.month.parse().map_err(decode_error)?;
    Ok(CycleView {
        id: raw.id,
        month,
        scope: Scope::parse(&raw.scope).unwrap_or(Scope::All),
        sample_group: raw.sample_group.and_then(|g| u8::try_from(g).ok()),
        submit_deadline: date_of(&raw.submit_deadline)?,
        review_deadline: date_of(&raw.review_deadline)?,
        status: CycleStatus::parse(&raw.status),
        specs,
        retailers: raw.retailers,
        population: raw.population,
        scale_factor: scale_factor(raw.population, raw.retailers),
        has_entries: raw.has_entries != 0,
    })
}

/// All cycles, latest month first, with their specs read in one query.
pub async fn cycles(pool: &AnyPool) -> sqlx::Result<Vec<CycleView>> {
    let raws: Vec<RawCycle> = sqlx::query_as(&format!("{CYCLE_SELECT} ORDER BY c.month DESC"))
        .fetch_all(pool)
        .await?;
    let mut specs = cycle_specs(pool, None).await?;
    raws.into_iter()
        .map(|raw| {
            let list = specs.remove(&raw.id).unwrap_or_default();
            view_of(raw, list)
        })
        .collect()
}

pub async fn cycle(pool: &AnyPool, id: i64) -> sqlx::Result<Option<CycleView>> {
    let raw: Option<RawCycle> = sqlx::query_as(&format!("{CYCLE_SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    match raw {
        Some(raw) => {
            let specs = cycle_specs(pool, Some(id))
                .await?
                .remove(&id)
                .unwrap_or_default();
            view_of(raw, specs).map(Some)
        }
        None => Ok(None),
    }
}

/// A month that has a cycle already.
#[derive(Debug)]
pub struct MonthTaken;

/// Opens a cycle: the row, its specs, one sheet per customer manager with
/// retailers in scope, and the retailers in scope.
pub async fn open_cycle(
    conn: &mut AnyConnection,
    input: &CycleInput,
    actor: i64,
    now: i64,
) -> sqlx::Result<Result<i64, MonthTaken>> {
    let (submit, review) = input.deadlines();
    // A closed licence is no longer forecast.
    let population: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM retailers WHERE status <> 'closed'")
            .fetch_one(&mut *conn)
            .await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO forecast_cycles (month, scope, sample_group, submit_deadline, review_deadline, \
                                      status, population, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8) ON CONFLICT (month) DO NOTHING RETURNING id",
    )
    .bind(input.month.to_string())
    .bind(input.scope.as_str())
    .bind(sample_group_of(input))
    .bind(submit.to_string())
    .bind(review.to_string())
    .bind(population)
    .bind(actor)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = id else {
        return Ok(Err(MonthTaken));
    };
    fill_cycle(conn, id, input).await?;
    Ok(Ok(id))
}

fn sample_group_of(input: &CycleInput) -> Option<i64> {
    (input.scope == Scope::Sample).then(|| i64::from(month_sample_group(input.month)))
}

/// Writes a cycle's specs, sheets and retailers in scope.
async fn fill_cycle(conn: &mut AnyConnection, id: i64, input: &CycleInput) -> sqlx::Result<()> {
    let specs: Vec<Vec<Value>> = input
        .spec_ids
        .iter()
        .enumerate()
        .map(|(i, &spec)| vec![id.into(), spec.into(), (i as i64).into()])
        .collect();
    insert_rows(
        conn,
        "forecast_cycle_specs",
        &["cycle_id", "spec_id", "position"],
        &specs,
    )
    .await?;
    let retailers = sqlx::query(
        "SELECT id, licence_no, manager_id FROM retailers WHERE status <> 'closed' ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_manager: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for r in &retailers {
        let licence: String = r.try_get(1)?;
        if in_scope(input.scope, input.month, &licence) {
            by_manager
                .entry(r.try_get(2)?)
                .or_default()
                .push(r.try_get(0)?);
        }
    }
    let mut rows = Vec::new();
    for (manager, retailers) in by_manager {
        let sheet: i64 = sqlx::query_scalar(
            "INSERT INTO forecast_sheets (cycle_id, manager_id) VALUES ($1, $2) RETURNING id",
        )
        .bind(id)
        .bind(manager)
        .fetch_one(&mut *conn)
        .await?;
        rows.extend(
            retailers
                .into_iter()
                .map(|r| vec![id.into(), r.into(), sheet.into()]),
        );
    }
    insert_rows(
        conn,
        "forecast_cycle_retailers",
        &["cycle_id", "retailer_id", "sheet_id"],
        &rows,
    )
    .await?;
    sqlx::query("UPDATE forecast_cycles SET retailers = $1 WHERE id = $2")
        .bind(rows.len() as i64)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

/// Whether a cycle other than `except` is for `month`.
pub async fn month_taken(
    conn: &mut AnyConnection,
    month: YearMonth,
    except: i64,
) -> sqlx::Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM forecast_cycles WHERE month = $1 AND id <> $2")
            .bind(month.to_string())
            .bind(except)
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

/// Replaces a cycle's settings; only before the first entry (the caller
/// checks, inside the same transaction).
pub async fn replace_cycle(
    conn: &mut AnyConnection,
    id: i64,
    input: &CycleInput,
) -> sqlx::Result<()> {
    for table in [
        "forecast_cycle_retailers",
        "forecast_sheets",
        "forecast_cycle_specs",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE cycle_id = $1"))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    let (submit, review) = input.deadlines();
    sqlx::query(
        "UPDATE forecast_cycles SET month = $1, scope = $2, sample_group = $3, \
         submit_deadline = $4, review_deadline = $5 WHERE id = $6",
    )
    .bind(input.month.to_string())
    .bind(input.scope.as_str())
    .bind(sample_group_of(input))
    .bind(submit.to_string())
    .bind(review.to_string())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    fill_cycle(conn, id, input).await
}

/// Whether any line was entered in the cycle (read inside a transaction).
pub async fn has_entries(conn: &mut AnyConnection, id: i64) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM forecast_lines l JOIN forecast_sheets s ON s.id = l.sheet_id WHERE s.cycle_id = $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

pub async fn set_status(
    conn: &mut AnyConnection,
    id: i64,
    status: CycleStatus,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE forecast_cycles SET status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A customer manager's sheet in a cycle.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub id: i64,
    pub cycle_id: i64,
    pub manager_id: i64,
    pub status: SheetStatus,
    pub reopened_until: Option<NaiveDate>,
}

pub async fn sheet(pool: &AnyPool, cycle_id: i64, manager_id: i64) -> sqlx::Result<Option<Sheet>> {
    let row = sqlx::query(
        "SELECT id, status, reopened_until FROM forecast_sheets WHERE cycle_id = $1 AND manager_id = $2",
    )
    .bind(cycle_id)
    .bind(manager_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        let reopened: Option<String> = r.try_get(2)?;
        Ok(Sheet {
            id: r.try_get(0)?,
            cycle_id,
            manager_id,
            status: SheetStatus::parse(&r.try_get::<String, _>(1)?),
            reopened_until: reopened.as_deref().map(date_of).transpose()?,
        })
    })
    .transpose()
}

/// A sheet's state as read under [`lock_sheet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockedSheet {
    pub status: SheetStatus,
    pub level: Option<u8>,
    pub cycle_status: CycleStatus,
}

/// Reads a sheet's state and holds it for the rest of the caller's write
/// transaction: every write to a sheet (cells, submission, corrections,
/// approval, return) starts here, so that what it checks is still true
/// when it commits. On PostgreSQL the sheet row is locked (`FOR UPDATE`)
/// and its cycle row shared (`FOR SHARE`), so closing the cycle waits for
/// writes in flight and writes after it see it closed; on SQLite the
/// transaction already holds the database's write lock (`BEGIN IMMEDIATE`).
pub async fn lock_sheet(conn: &mut AnyConnection, sheet_id: i64) -> sqlx::Result<LockedSheet> {
    let lock = if conn.backend_name() == "PostgreSQL" {
        " FOR UPDATE OF s FOR SHARE OF c"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "SELECT s.status, s.review_level, c.status FROM forecast_sheets s \
         JOIN forecast_cycles c ON c.id = s.cycle_id WHERE s.id = $1{lock}"
    ))
    .bind(sheet_id)
    .fetch_one(conn)
    .await?;
    let level: Option<i64> = row.try_get(1)?;
    Ok(LockedSheet {
        status: SheetStatus::parse(&row.try_get::<String, _>(0)?),
        level: level.and_then(|l| u8::try_from(l).ok()),
        cycle_status: CycleStatus::parse(&row.try_get::<String, _>(2)?),
    })
}

/// Reads a cycle's status and locks its row for the caller's transaction
/// (closing waits for the sheet writes that share it).
pub async fn lock_cycle(
    conn: &mut AnyConnection,
    cycle_id: i64,
) -> sqlx::Result<Option<CycleStatus>> {
    let lock = if conn.backend_name() == "PostgreSQL" {
        " FOR UPDATE"
    } else {
        ""
    };
    let status: Option<String> = sqlx::query_scalar(&format!(
        "SELECT status FROM forecast_cycles WHERE id = $1{lock}"
    ))
    .bind(cycle_id)
    .fetch_optional(conn)
    .await?;
    Ok(status.map(|s| CycleStatus::parse(&s)))
}

pub async fn reopen(conn: &mut AnyConnection, sheet_id: i64, until: NaiveDate) -> sqlx::Result<()> {
    sqlx::query("UPDATE forecast_sheets SET reopened_until = $1 WHERE id = $2")
        .bind(until.to_string())
        .bind(sheet_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every sheet of a cycle with its progress. A sheet submitted once has
/// every cell filled; its count comes from its summary, not its lines.
pub async fn progress(
    pool: &AnyPool,
    cycle_id: i64,
    specs: i64,
) -> sqlx::Result<Vec<SheetProgress>> {
    let rows = sqlx::query(
        "SELECT s.manager_id, u.display_name, o.name, s.status, s.reopened_until, \
                (SELECT COUNT(*) FROM forecast_cycle_retailers r WHERE r.sheet_id = s.id), \
                CASE WHEN s.status IN ('submitted', 'approved', 'returned') \
                     THEN (SELECT CAST(COALESCE(SUM(t.lines), 0) AS BIGINT) FROM forecast_sheet_totals t \
                           WHERE t.sheet_id = s.id AND t.kind = 'spec') \
                     ELSE (SELECT COUNT(*) FROM forecast_lines l WHERE l.sheet_id = s.id AND l.entered IS NOT NULL) END, \
                s.id, u.org_unit_id, s.review_level \
         FROM forecast_sheets s JOIN users u ON u.id = s.manager_id JOIN org_units o ON o.id = u.org_unit_id \
         WHERE s.cycle_id = $1 ORDER BY o.name, u.display_name",
    )
    .bind(cycle_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let retailers: i64 = r.try_get(5)?;
            let reopened: Option<String> = r.try_get(4)?;
            let level: Option<i64> = r.try_get(9)?;
            Ok(SheetProgress {
                sheet_id: r.try_get(7)?,
                manager_id: r.try_get(0)?,
                manager_name: r.try_get(1)?,
                unit_name: r.try_get(2)?,
                unit_id: r.try_get(8)?,
                status: SheetStatus::parse(&r.try_get::<String, _>(3)?),
                level: level.and_then(|l| u8::try_from(l).ok()),
                // Filled in by the caller, which knows the chain and the day.
                stage: String::new(),
                late: false,
                retailers,
                filled: r.try_get(6)?,
                cells: retailers * specs,
                reopened_until: reopened.as_deref().map(date_of).transpose()?,
            })
        })
        .collect()
}

/// The retailers of a sheet, by market department and name.
pub async fn sheet_rows(pool: &AnyPool, sheet_id: i64) -> sqlx::Result<Vec<SheetRow>> {
    let rows = sqlx::query(
        "SELECT r.id, r.licence_no, r.name, r.class_code, c.rank, r.market_unit_id, o.name, r.online_replenishment \
         FROM forecast_cycle_retailers f JOIN retailers r ON r.id = f.retailer_id \
         JOIN customer_classes c ON c.code = r.class_code JOIN org_units o ON o.id = r.market_unit_id \
         WHERE f.sheet_id = $1 ORDER BY o.name, r.name, r.id",
    )
    .bind(sheet_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SheetRow {
                retailer_id: r.try_get(0)?,
                licence_no: r.try_get(1)?,
                name: r.try_get(2)?,
                class_code: r.try_get(3)?,
                class_rank: r.try_get(4)?,
                market_unit_id: r.try_get(5)?,
                market_unit: r.try_get(6)?,
                online: r.try_get::<i64, _>(7)? != 0,
            })
        })
        .collect()
}

/// A stored line.
#[derive(Debug, Clone)]
pub struct Line {
    pub retailer_id: i64,
    pub spec_id: i64,
    pub entered: Option<i64>,
    /// A reviewer's correction in effect, if any.
    pub current: Option<i64>,
    pub reason: Option<String>,
    pub revision: i64,
}

pub async fn lines(conn: &mut AnyConnection, sheet_id: i64) -> sqlx::Result<Vec<Line>> {
    let rows = sqlx::query(
        "SELECT retailer_id, spec_id, entered, current_value, reason, revision FROM forecast_lines WHERE sheet_id = $1",
    )
    .bind(sheet_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Line {
                retailer_id: r.try_get(0)?,
                spec_id: r.try_get(1)?,
                entered: r.try_get(2)?,
                current: r.try_get(3)?,
                reason: r.try_get(4)?,
                revision: r.try_get(5)?,
            })
        })
        .collect()
}

/// Monthly orders of a sheet's retailers from `from` on: (retailer, spec, month, cartons).
pub async fn sheet_history(
    pool: &AnyPool,
    sheet_id: i64,
    from: YearMonth,
) -> sqlx::Result<Vec<(i64, i64, YearMonth, i64)>> {
    let rows = sqlx::query(
        "SELECT m.retailer_id, m.spec_id, m.month, m.cartons FROM monthly_orders m \
         JOIN forecast_cycle_retailers f ON f.retailer_id = m.retailer_id \
         WHERE f.sheet_id = $1 AND m.month >= $2",
    )
    .bind(sheet_id)
    .bind(from.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let month: YearMonth = r.try_get::<String, _>(2)?.parse().map_err(decode_error)?;
            Ok((r.try_get(0)?, r.try_get(1)?, month, r.try_get(3)?))
        })
        .collect()
}

/// A sheet's orders of its cycle's specs in the given months only
/// (retailer, spec, month, cartons): one primary-key probe per cell
/// (`CROSS JOIN` keeps the sheet's retailers first on SQLite, which would
/// otherwise walk the whole month by its month index).
pub async fn sheet_orders_in(
    pool: &AnyPool,
    sheet_id: i64,
    cycle_id: i64,
    months: &[YearMonth],
) -> sqlx::Result<Vec<(i64, i64, YearMonth, i64)>> {
    let mut out = Vec::new();
    for &month in months {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT m.retailer_id, m.spec_id, m.cartons \
             FROM forecast_cycle_retailers f CROSS JOIN monthly_orders m \
             WHERE f.sheet_id = $1 AND m.retailer_id = f.retailer_id AND m.month = $2 \
               AND m.spec_id IN (SELECT spec_id FROM forecast_cycle_specs WHERE cycle_id = $3)",
        )
        .bind(sheet_id)
        .bind(month.to_string())
        .bind(cycle_id)
        .fetch_all(pool)
        .await?;
        out.extend(rows.into_iter().map(|(r, s, c)| (r, s, month, c)));
    }
    Ok(out)
}

/// The latest month with orders before `month`.
pub async fn last_history_month(
    pool: &AnyPool,
    month: YearMonth,
) -> sqlx::Result<Option<YearMonth>> {
    let m: Option<String> =
        sqlx::query_scalar("SELECT MAX(month) FROM monthly_orders WHERE month < $1")
            .bind(month.to_string())
            .fetch_one(pool)
            .await?;
    m.map(|m| m.parse().map_err(decode_error)).transpose()
}

/// Weekly turnover from the replenishment settings of a sheet's retailers.
pub async fn sheet_turnover(
    pool: &AnyPool,
    sheet_id: i64,
) -> sqlx::Result<HashMap<(i64, i64), i64>> {
    let rows = sqlx::query(
        "SELECT s.retailer_id, s.spec_id, s.weekly_turnover FROM retailer_specs s \
         JOIN forecast_cycle_retailers f ON f.retailer_id = s.retailer_id WHERE f.sheet_id = $1",
    )
    .bind(sheet_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok(((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?)))
        .collect()
}

/// The sanity bounds of a cycle's specs per customer class; the rules'
/// default bound where none is set.
#[derive(Debug, Clone)]
pub struct Bounds {
    set: HashMap<(i64, String), i64>,
    default: i64,
}

impl Bounds {
    pub fn of(&self, spec_id: i64, class_code: &str) -> i64 {
        self.set
            .get(&(spec_id, class_code.to_string()))
            .copied()
            .unwrap_or(self.default)
    }
}

/// The bounds set for the cycle's specs, with `default` elsewhere.
pub async fn bounds(pool: &AnyPool, cycle_id: i64, default: i64) -> sqlx::Result<Bounds> {
    let rows = sqlx::query(
        "SELECT b.spec_id, b.class_code, b.max_cartons FROM forecast_bounds b \
         JOIN forecast_cycle_specs f ON f.spec_id = b.spec_id WHERE f.cycle_id = $1",
    )
    .bind(cycle_id)
    .fetch_all(pool)
    .await?;
    let set = rows
        .iter()
        .map(|r| Ok(((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?)))
        .collect::<sqlx::Result<_>>()?;
    Ok(Bounds { set, default })
}

/// Cells whose stored revision is not the one the write was based on.
#[derive(Debug)]
pub struct Stale(pub Vec<usize>);

/// The columns of a line write.
pub const LINE_COLUMNS: [&str; 8] = [
    "sheet_id",
    "retailer_id",
    "spec_id",
    "entered",
    "reason",
    "revision",
    "updated_by",
    "updated_at",
];
/// An import's write of a line, after reading the revisions under the sheet
/// lock: it updates only a line still at the revision before the new one
/// (so it never refuses), and the count of rows written is checked against
/// the cells sent.
const LINE_UPSERT: &str = "ON CONFLICT (sheet_id, retailer_id, spec_id) DO UPDATE SET \
    entered = excluded.entered, reason = excluded.reason, revision = excluded.revision, \
    updated_by = excluded.updated_by, updated_at = excluded.updated_at, current_value = NULL \
    WHERE forecast_lines.revision = excluded.revision - 1";

/// Writes cells (already checked) in the caller's transaction. With
/// `check_base`, a cell whose stored revision differs from its
/// `base_revision` refuses the whole write; without (an import), the stored
/// value is replaced. Returns the new revision of each cell.
pub async fn save_cells(
    conn: &mut AnyConnection,
    sheet_id: i64,
    cells: &[CellWrite],
    check_base: bool,
    actor: i64,
    now: i64,
) -> sqlx::Result<Result<Vec<i64>, Stale>> {
    let revisions = if check_base {
        match write_at_base(conn, sheet_id, cells, actor, now).await? {
            Ok(revisions) => revisions,
            Err(stale) => return Ok(Err(stale)),
        }
    } else {
        let stored = stored_revisions(conn, sheet_id).await?;
        let revisions: Vec<i64> = cells.iter().map(|c| revision_of(&stored, c) + 1).collect();
        let rows = line_rows(sheet_id, cells, &revisions, actor, now);
        let written =
            upsert_rows(conn, "forecast_lines", &LINE_COLUMNS, &rows, LINE_UPSERT).await?;
        if written != rows.len() as u64 {
            // A line moved between the read above and the write: refuse all.
            return Ok(Err(Stale(Vec::new())));
        }
        revisions
    };
    sqlx::query(
        "UPDATE forecast_sheets SET status = 'draft' WHERE id = $1 AND status = 'not_started'",
    )
    .bind(sheet_id)
    .execute(conn)
    .await?;
    Ok(Ok(revisions))
}

/// A save from the grid: each cell is written at its base revision + 1, and
/// the write itself is the compare-and-set, so the usual save reads no
/// revision. Revision 0 means "no line" (a CHECK keeps every stored line
/// at 1 or more): a cell based on 0 is inserted, and a line already there
/// refuses the insert; a cell based on a later revision updates its line
/// only while the line is at that revision, so a cell not updated is stale.
/// When a cell is stale the write is undone to a savepoint and the stored
/// revisions name the stale cells. It runs inside the caller's transaction
/// (so `begin` here is a savepoint), holding the sheet lock.
async fn write_at_base(
    conn: &mut AnyConnection,
    sheet_id: i64,
    cells: &[CellWrite],
    actor: i64,
    now: i64,
) -> sqlx::Result<Result<Vec<i64>, Stale>> {
    use sqlx::Connection;
    // No stored line is at a negative revision (nor at the largest, which
    // has no next): such a base is stale as it stands.
    if cells
        .iter()
        .all(|c| (0..i64::MAX).contains(&c.base_revision))
    {
        let revisions: Vec<i64> = cells.iter().map(|c| c.base_revision + 1).collect();
        let mut attempt = conn.begin().await?;
        if written_at_base(&mut attempt, sheet_id, cells, &revisions, actor, now).await? {
            attempt.commit().await?;
            return Ok(Ok(revisions));
        }
        attempt.rollback().await?;
    }
    let stored = stored_revisions(conn, sheet_id).await?;
    Ok(Err(Stale(
        cells
            .iter()
            .enumerate()
            .filter(|(_, c)| revision_of(&stored, c) != c.base_revision)
            .map(|(i, _)| i)
            .collect(),
    )))
}

/// The two writes of [`write_at_base`]: whether every cell was written.
async fn written_at_base(
    conn: &mut AnyConnection,
    sheet_id: i64,
    cells: &[CellWrite],
    revisions: &[i64],
    actor: i64,
    now: i64,
) -> sqlx::Result<bool> {
    let rows = line_rows(sheet_id, cells, revisions, actor, now);
    let (new, changed): (Vec<_>, Vec<_>) = cells
        .iter()
        .zip(rows)
        .partition(|(c, _)| c.base_revision == 0);
    let new: Vec<Vec<Value>> = new.into_iter().map(|(_, row)| row).collect();
    let changed: Vec<Vec<Value>> = changed.into_iter().map(|(_, row)| row).collect();
    match insert_rows(conn, "forecast_lines", &LINE_COLUMNS, &new).await {
        Ok(()) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(false),
        Err(e) => return Err(e),
    }
    let (keys, sets) = LINE_COLUMNS.split_at(3);
    let updated = update_rows(
        conn,
        "forecast_lines",
        keys,
        sets,
        &changed,
        "current_value = NULL",
        "t.revision = u.revision - 1",
    )
    .await?;
    Ok(updated == changed.len() as u64)
}

/// Every line's revision, by retailer and spec.
/// A cell's stored revision in [`stored_revisions`]; 0 for no line.
fn revision_of(stored: &HashMap<(i64, i64), i64>, cell: &CellWrite) -> i64 {
    stored
        .get(&(cell.retailer_id, cell.spec_id))
        .copied()
        .unwrap_or(0)
}

async fn stored_revisions(
    conn: &mut AnyConnection,
    sheet_id: i64,
) -> sqlx::Result<HashMap<(i64, i64), i64>> {
    // The key and revision only: the lines' other columns are not needed
    // here, and each column read costs at 10,000 lines.
    Ok(sqlx::query_as::<_, (i64, i64, i64)>(
        "SELECT retailer_id, spec_id, revision FROM forecast_lines WHERE sheet_id = $1",
    )
    .bind(sheet_id)
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|(r, s, rev)| ((r, s), rev))
    .collect())
}

/// The rows of a line write ([`LINE_COLUMNS`]); a blank reason is none.
fn line_rows(
    sheet_id: i64,
    cells: &[CellWrite],
    revisions: &[i64],
    actor: i64,
    now: i64,
) -> Vec<Vec<Value>> {
    cells
        .iter()
        .zip(revisions)
        .map(|(c, &rev)| {
            vec![
                sheet_id.into(),
                c.retailer_id.into(),
                c.spec_id.into(),
                c.value.into(),
                c.reason
                    .clone()
                    .filter(|r| !r.trim().is_empty())
                    .map(|r| r.trim().to_string())
                    .into(),
                rev.into(),
                actor.into(),
                now.into(),
            ]
        })
        .collect()
}

/// What is recorded beside a line at submission: the baseline, and the
/// retailer's orders last month and a year before.
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    pub retailer_id: i64,
    pub spec_id: i64,
    pub baseline: i64,
    pub last_month: i64,
    pub last_year: i64,
}

/// Records the baseline and history beside every line at submission.
pub async fn record_baselines(
    conn: &mut AnyConnection,
    sheet_id: i64,
    recorded: &[Recorded],
    actor: i64,
    now: i64,
) -> sqlx::Result<()> {
    let rows: Vec<Vec<Value>> = recorded
        .iter()
        .map(|r| {
            vec![
                sheet_id.into(),
                r.retailer_id.into(),
                r.spec_id.into(),
                1i64.into(),
                actor.into(),
                now.into(),
                r.baseline.into(),
                r.last_month.into(),
                r.last_year.into(),
            ]
        })
        .collect();
    upsert_rows(
        conn,
        "forecast_lines",
        &[
            "sheet_id",
            "retailer_id",
            "spec_id",
            "revision",
            "updated_by",
            "updated_at",
            "baseline",
            "last_month",
            "last_year",
        ],
        &rows,
        "ON CONFLICT (sheet_id, retailer_id, spec_id) DO UPDATE SET baseline = excluded.baseline, \
         last_month = excluded.last_month, last_year = excluded.last_year",
    )
    .await
    .map(drop)
}

/// Every bound set per spec and class.
pub async fn all_bounds(
    pool: &AnyPool,
) -> sqlx::Result<Vec<domain::forecast::view::ForecastBound>> {
    let rows = sqlx::query(
        "SELECT spec_id, class_code, max_cartons FROM forecast_bounds ORDER BY spec_id, class_code",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(domain::forecast::view::ForecastBound {
                spec_id: r.try_get(0)?,
                class_code: r.try_get(1)?,
                max_cartons: r.try_get(2)?,
            })
        })
        .collect()
}

/// Sets bounds (checked by the caller) in the caller's transaction.
pub async fn set_bounds(
    conn: &mut AnyConnection,
    bounds: &[domain::forecast::view::ForecastBound],
) -> sqlx::Result<()> {
    let rows: Vec<Vec<Value>> = bounds
        .iter()
        .map(|b| {
            vec![
                b.spec_id.into(),
                b.class_code.clone().into(),
                b.max_cartons.into(),
            ]
        })
        .collect();
    upsert_rows(
        conn,
        "forecast_bounds",
        &["spec_id", "class_code", "max_cartons"],
        &rows,
        "ON CONFLICT (spec_id, class_code) DO UPDATE SET max_cartons = excluded.max_cartons",
    )
    .await
    .map(drop)
}
