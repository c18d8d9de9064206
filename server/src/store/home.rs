//! What the home page reads besides the scope: the open forecast cycles'
//! deadlines, how far a sheet is filled, and the cycles its report links
//! lead to.

use chrono::NaiveDate;
use domain::home::ReportLinks;
use sqlx::{AnyPool, Row};

fn decode_error(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// An open cycle's deadlines and the number of its specs.
#[derive(Debug, Clone)]
pub struct OpenCycle {
    pub id: i64,
    pub submit_deadline: NaiveDate,
    pub review_deadline: NaiveDate,
    pub specs: i64,
}

pub async fn open_cycles(pool: &AnyPool) -> sqlx::Result<Vec<OpenCycle>> {
    sqlx::query(
        "SELECT c.id, c.submit_deadline, c.review_deadline, \
                (SELECT COUNT(*) FROM forecast_cycle_specs s WHERE s.cycle_id = c.id) \
         FROM forecast_cycles c WHERE c.status = 'open' ORDER BY c.month",
    )
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        let date = |i: usize| -> sqlx::Result<NaiveDate> {
            r.try_get::<String, _>(i)?.parse().map_err(decode_error)
        };
        Ok(OpenCycle {
            id: r.try_get(0)?,
            submit_deadline: date(1)?,
            review_deadline: date(2)?,
            specs: r.try_get(3)?,
        })
    })
    .collect()
}

/// Cells of a sheet with a value entered.
pub async fn filled(pool: &AnyPool, sheet_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM forecast_lines WHERE sheet_id = $1 AND entered IS NOT NULL",
    )
    .bind(sheet_id)
    .fetch_one(pool)
    .await
}

/// The cycle whose dashboard the home page opens (the latest open one,
/// else the latest), and the latest whose month has actual orders.
pub async fn report_links(pool: &AnyPool) -> sqlx::Result<ReportLinks> {
    let dashboard_cycle: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM forecast_cycles \
         ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, month DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    let accuracy_cycle: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM forecast_cycles WHERE month IN (SELECT month FROM monthly_spec_totals) \
         ORDER BY month DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(ReportLinks {
        dashboard_cycle,
        accuracy_cycle,
    })
}
