//! Scarce supply allocation (货源投放): what an allocation is computed from
//! (the spec, the classes with their enrolled retailers, the recorded
//! demand), and the published allocations with their caps per class.

use chrono::NaiveDate;
use domain::replenishment::allocation::{
    AllocationRule, AllocationTotals, ClassAllocation, PublishedAllocation,
};
use domain::replenishment::CapPeriod;
use sqlx::AnyConnection;

use crate::db::{insert_rows, Value};

fn decode_error(what: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(what.to_string().into())
}

fn date(text: &str) -> sqlx::Result<NaiveDate> {
    text.parse()
        .map_err(|e| decode_error(format!("stored date {text}: {e}")))
}

/// The facts of a spec an allocation needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SpecFacts {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub scarce: i64,
    pub order_multiple: i64,
    pub default_cap: i64,
}

pub async fn spec(conn: &mut AnyConnection, id: i64) -> sqlx::Result<Option<SpecFacts>> {
    sqlx::query_as(
        "SELECT id, code, name, scarce, order_multiple, default_cap FROM specs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Takes the spec's row lock for the rest of the transaction, so that
/// publishes of one spec follow one another (the overlap check of the
/// second sees the first). False when there is no such spec.
pub async fn lock_spec(conn: &mut AnyConnection, id: i64) -> sqlx::Result<bool> {
    let locked = sqlx::query("UPDATE specs SET version = version WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(locked.rows_affected() == 1)
}

/// A class with its enrolled retailers (online replenishment, open).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClassRow {
    pub code: String,
    pub label: String,
    pub rank: i64,
    pub enrolled: i64,
}

/// The enrolled retailers, as a condition on `retailers r`.
const ENROLLED: &str = "r.online_replenishment = 1 AND r.status = 'open'";

/// Every class with its count of enrolled retailers, lowest rank first.
pub async fn classes(conn: &mut AnyConnection) -> sqlx::Result<Vec<ClassRow>> {
    sqlx::query_as(&format!(
        "SELECT c.code, c.label, c.rank, COALESCE(n.enrolled, 0) AS enrolled \
         FROM customer_classes c LEFT JOIN ( \
             SELECT r.class_code, COUNT(*) AS enrolled FROM retailers r WHERE {ENROLLED} \
             GROUP BY r.class_code) n ON n.class_code = c.code \
         ORDER BY c.rank"
    ))
    .fetch_all(conn)
    .await
}

/// The statement loading the recorded demand of one spec: one row per
/// enrolled retailer with the spec in its settings.
pub fn demand_sql() -> String {
    format!(
        "SELECT r.class_code, r.order_weekday, rs.weekly_turnover \
         FROM retailer_specs rs JOIN retailers r ON r.id = rs.retailer_id \
         WHERE rs.spec_id = $1 AND {ENROLLED}"
    )
}

/// (class, order weekday, weekly turnover) of every enrolled retailer with
/// the spec in its settings, in one query.
pub async fn demand(
    conn: &mut AnyConnection,
    spec_id: i64,
) -> sqlx::Result<Vec<(String, i64, i64)>> {
    sqlx::query_as(&demand_sql())
        .bind(spec_id)
        .fetch_all(conn)
        .await
}

/// The spec's own standing caps per class (others have its default cap).
pub async fn standing_caps(
    conn: &mut AnyConnection,
    spec_id: i64,
) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT class_code, cap FROM class_caps WHERE spec_id = $1")
        .bind(spec_id)
        .fetch_all(conn)
        .await
}

/// A published, not withdrawn allocation of the spec whose period meets
/// [from, to], if any.
pub async fn overlapping(
    conn: &mut AnyConnection,
    spec_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Option<CapPeriod>> {
    let row: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT id, period_from, period_to FROM allocations \
         WHERE spec_id = $1 AND withdrawn_at IS NULL AND period_from <= $3 AND period_to >= $2 \
         ORDER BY period_from, id LIMIT 1",
    )
    .bind(spec_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|(id, from, to)| {
        Ok(CapPeriod {
            allocation_id: id,
            from: date(&from)?,
            to: date(&to)?,
        })
    })
    .transpose()
}

/// Stores a published allocation and its cap for every class; returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut AnyConnection,
    spec_id: i64,
    from: NaiveDate,
    to: NaiveDate,
    supply: i64,
    rule: &AllocationRule,
    classes: &[ClassAllocation],
    by: i64,
    at: i64,
) -> sqlx::Result<i64> {
    let listed = match rule {
        AllocationRule::Equal { classes } => {
            Some(serde_json::to_string(classes).map_err(|e| sqlx::Error::Encode(e.into()))?)
        }
        _ => None,
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO allocations (spec_id, period_from, period_to, supply, rule, classes, published_at, published_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(spec_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(supply)
    .bind(rule.code())
    .bind(listed)
    .bind(at)
    .bind(by)
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<Vec<Value>> = classes
        .iter()
        .map(|c| {
            vec![
                id.into(),
                c.code.clone().into(),
                c.label.clone().into(),
                c.rank.into(),
                c.cap.into(),
                c.enrolled.into(),
                c.with_demand.into(),
                c.demand.into(),
                c.expected.into(),
                c.wanting.into(),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "allocation_caps",
        &[
            "allocation_id",
            "class_code",
            "class_label",
            "class_rank",
            "cap",
            "retailers",
            "with_demand",
            "demand",
            "expected",
            "wanting",
        ],
        &rows,
    )
    .await?;
    Ok(id)
}

/// What withdrawing found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    Done,
    AlreadyWithdrawn,
    Missing,
}

/// Withdraws a published allocation (compare-and-set on `withdrawn_at`).
pub async fn withdraw(
    conn: &mut AnyConnection,
    id: i64,
    by: i64,
    at: i64,
) -> sqlx::Result<Withdrawal> {
    let done = sqlx::query(
        "UPDATE allocations SET withdrawn_at = $2, withdrawn_by = $3 \
         WHERE id = $1 AND withdrawn_at IS NULL",
    )
    .bind(id)
    .bind(at)
    .bind(by)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(Withdrawal::Done);
    }
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM allocations WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(if exists.is_some() {
        Withdrawal::AlreadyWithdrawn
    } else {
        Withdrawal::Missing
    })
}

#[derive(sqlx::FromRow)]
struct RawAllocation {
    id: i64,
    spec_id: i64,
    spec_code: String,
    spec_name: String,
    period_from: String,
    period_to: String,
    supply: i64,
    rule: String,
    classes: Option<String>,
    published_at: i64,
    published_by: String,
    withdrawn_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct RawCap {
    allocation_id: i64,
    class_code: String,
    label: String,
    rank: i64,
    cap: i64,
    retailers: i64,
    with_demand: i64,
    demand: i64,
    expected: i64,
    wanting: i64,
}

/// Which allocations to read.
#[derive(Debug, Clone, Copy)]
pub enum Which {
    /// Those whose period meets [from, to].
    Meeting(NaiveDate, NaiveDate),
    One(i64),
}

/// Published allocations (withdrawn ones too) with their caps, by period,
/// spec code and id; classes highest rank first.
pub async fn published(
    conn: &mut AnyConnection,
    which: Which,
) -> sqlx::Result<Vec<PublishedAllocation>> {
    let condition = match which {
        Which::Meeting(..) => "a.period_from <= $2 AND a.period_to >= $1",
        Which::One(_) => "a.id = $1",
    };
    let rows_sql = format!(
        "SELECT a.id, a.spec_id, s.code AS spec_code, s.name AS spec_name, a.period_from, a.period_to, \
                a.supply, a.rule, a.classes, a.published_at, u.display_name AS published_by, a.withdrawn_at \
         FROM allocations a JOIN specs s ON s.id = a.spec_id JOIN users u ON u.id = a.published_by \
         WHERE {condition} ORDER BY a.period_from, s.code, a.id"
    );
    let caps_sql = format!(
        "SELECT ac.allocation_id, ac.class_code, ac.class_label AS label, ac.class_rank AS rank, ac.cap, \
                ac.retailers, ac.with_demand, ac.demand, ac.expected, ac.wanting \
         FROM allocation_caps ac JOIN allocations a ON a.id = ac.allocation_id \
         WHERE {condition} ORDER BY ac.allocation_id, ac.class_rank DESC"
    );
    let (rows, caps): (Vec<RawAllocation>, Vec<RawCap>) = match which {
        Which::Meeting(from, to) => (
            sqlx::query_as(&rows_sql)
                .bind(from.to_string())
                .bind(to.to_string())
                .fetch_all(&mut *conn)
                .await?,
            sqlx::query_as(&caps_sql)
                .bind(from.to_string())
                .bind(to.to_string())
                .fetch_all(&mut *conn)
                .await?,
        ),
        Which::One(id) => (
            sqlx::query_as(&rows_sql)
                .bind(id)
                .fetch_all(&mut *conn)
                .await?,
            sqlx::query_as(&caps_sql)
                .bind(id)
                .fetch_all(&mut *conn)
                .await?,
        ),
    };
    rows.into_iter()
        .map(|r| {
            let listed: Vec<String> = match &r.classes {
                Some(json) => serde_json::from_str(json).map_err(decode_error)?,
                None => Vec::new(),
            };
            let rule = AllocationRule::from_code(&r.rule, listed)
                .ok_or_else(|| decode_error(format!("stored rule {}", r.rule)))?;
            let classes: Vec<ClassAllocation> = caps
                .iter()
                .filter(|c| c.allocation_id == r.id)
                .map(|c| ClassAllocation {
                    code: c.class_code.clone(),
                    label: c.label.clone(),
                    rank: c.rank,
                    enrolled: c.retailers,
                    with_demand: c.with_demand,
                    demand: c.demand,
                    cap: c.cap,
                    expected: c.expected,
                    wanting: c.wanting,
                    standing_cap: None,
                })
                .collect();
            Ok(PublishedAllocation {
                id: r.id,
                spec_id: r.spec_id,
                spec_code: r.spec_code,
                spec_name: r.spec_name,
                from: date(&r.period_from)?,
                to: date(&r.period_to)?,
                supply: r.supply,
                rule,
                published_at: r.published_at,
                published_by: r.published_by,
                withdrawn_at: r.withdrawn_at,
                totals: AllocationTotals::of(&classes),
                classes,
            })
        })
        .collect()
}
