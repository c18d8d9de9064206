//! Orders flowing on: the counts of each order day, the locked lines of a
//! day for the order and supply system, marking them exported, deliveries
//! loaded back, delivered orders summed to a month's actual orders, and
//! the fill rate sums.
//!
//! Order dates are stored as `YYYY-MM-DD` text, so date ranges compare as
//! text on both databases.

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::month::YearMonth;
use domain::replenishment::fill_rate::{Demand, SpecClassFill};
use domain::replenishment::order_flow::{Delivered, OrderToDeliver};
use sqlx::{AnyConnection, AnyPool, Row};

fn decode_error(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

fn date_of(r: &sqlx::any::AnyRow, at: usize) -> sqlx::Result<NaiveDate> {
    r.try_get::<String, _>(at)?.parse().map_err(decode_error)
}

/// The stored counts of one order day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub confirmed: i64,
    pub cartons: i64,
    pub cancelled: i64,
    pub exported: i64,
    pub delivered: i64,
    pub delivered_cartons: i64,
}

/// Counts of the order days from `from` to `to` that have orders: two
/// grouped queries (orders by status, then their lines' cartons).
pub async fn day_counts(
    pool: &AnyPool,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<HashMap<NaiveDate, DayCounts>> {
    let mut days: HashMap<NaiveDate, DayCounts> = HashMap::new();
    let orders = sqlx::query(
        "SELECT o.order_date, \
                CAST(SUM(CASE WHEN o.status = 'confirmed' THEN 1 ELSE 0 END) AS BIGINT), \
                CAST(SUM(CASE WHEN o.status = 'cancelled' THEN 1 ELSE 0 END) AS BIGINT), \
                CAST(SUM(CASE WHEN o.status = 'confirmed' AND o.exported_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT), \
                CAST(SUM(CASE WHEN o.status = 'confirmed' AND o.delivered_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) \
         FROM replenishment_orders o WHERE o.order_date >= $1 AND o.order_date <= $2 \
         GROUP BY o.order_date",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await?;
    for r in &orders {
        let day = days.entry(date_of(r, 0)?).or_default();
        day.confirmed = r.try_get(1)?;
        day.cancelled = r.try_get(2)?;
        day.exported = r.try_get(3)?;
        day.delivered = r.try_get(4)?;
    }
    let cartons = sqlx::query(
        "SELECT o.order_date, CAST(SUM(l.quantity) AS BIGINT), \
                CAST(SUM(CASE WHEN o.delivered_at IS NOT NULL THEN COALESCE(l.delivered, 0) ELSE 0 END) AS BIGINT) \
         FROM replenishment_orders o JOIN replenishment_order_lines l ON l.order_id = o.id \
         WHERE o.order_date >= $1 AND o.order_date <= $2 AND o.status = 'confirmed' \
         GROUP BY o.order_date",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await?;
    for r in &cartons {
        let day = days.entry(date_of(r, 0)?).or_default();
        day.cartons = r.try_get(1)?;
        day.delivered_cartons = r.try_get(2)?;
    }
    Ok(days)
}

/// The order weekdays (1 = Monday … 7) of the retailers ordering online.
pub async fn order_weekdays(pool: &AnyPool) -> sqlx::Result<Vec<u8>> {
    let rows: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT order_weekday FROM retailers WHERE online_replenishment = 1",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|d| u8::try_from(d).ok())
        .collect())
}

/// One line of the export for the order and supply system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportLine {
    pub order_date: String,
    pub order_id: i64,
    pub licence_no: String,
    pub retailer_name: String,
    pub class_label: String,
    pub spec_code: String,
    pub spec_name: String,
    pub cartons: i64,
    pub wholesale_fen: i64,
    pub exported_at: Option<i64>,
}

/// The lines with cartons of the confirmed orders of `date`, by licence
/// and spec code. The class is the retailer's when it ordered.
pub async fn export_lines(pool: &AnyPool, date: NaiveDate) -> sqlx::Result<Vec<ExportLine>> {
    sqlx::query(
        "SELECT o.order_date, o.id, r.licence_no, r.name, \
                COALESCE(c.label, COALESCE(o.class_code, r.class_code)), s.code, s.name, \
                l.quantity, s.wholesale_fen, o.exported_at \
         FROM replenishment_orders o JOIN replenishment_order_lines l ON l.order_id = o.id \
         JOIN retailers r ON r.id = o.retailer_id JOIN specs s ON s.id = l.spec_id \
         LEFT JOIN customer_classes c ON c.code = COALESCE(o.class_code, r.class_code) \
         WHERE o.order_date = $1 AND o.status = 'confirmed' AND l.quantity > 0 \
         ORDER BY r.licence_no, s.code",
    )
    .bind(date.to_string())
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(ExportLine {
            order_date: r.try_get(0)?,
            order_id: r.try_get(1)?,
            licence_no: r.try_get(2)?,
            retailer_name: r.try_get(3)?,
            class_label: r.try_get(4)?,
            spec_code: r.try_get(5)?,
            spec_name: r.try_get(6)?,
            cartons: r.try_get(7)?,
            wholesale_fen: r.try_get(8)?,
            exported_at: r.try_get(9)?,
        })
    })
    .collect()
}

/// Marks the confirmed orders of `date` not yet exported as exported, in
/// one statement: of two calls at once each order is marked by exactly
/// one (the second waits for the first's row locks, then finds
/// `exported_at` set). Returns how many this call marked.
pub async fn mark_exported(
    conn: &mut AnyConnection,
    date: NaiveDate,
    actor_id: i64,
    at: i64,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE replenishment_orders SET exported_at = $1, exported_by = $2 \
         WHERE order_date = $3 AND status = 'confirmed' AND exported_at IS NULL",
    )
    .bind(at)
    .bind(actor_id)
    .bind(date.to_string())
    .execute(conn)
    .await?
    .rows_affected())
}

/// The orders of `dates` with their lines, by (retailer, order day).
pub async fn orders_to_deliver(
    pool: &AnyPool,
    dates: &[NaiveDate],
) -> sqlx::Result<HashMap<(i64, NaiveDate), OrderToDeliver>> {
    let mut orders: HashMap<(i64, NaiveDate), OrderToDeliver> = HashMap::new();
    if dates.is_empty() {
        return Ok(orders);
    }
    let marks: Vec<String> = (1..=dates.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT o.id, o.retailer_id, o.order_date, o.status, l.spec_id, l.quantity \
         FROM replenishment_orders o LEFT JOIN replenishment_order_lines l ON l.order_id = o.id \
         WHERE o.order_date IN ({})",
        marks.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for date in dates {
        query = query.bind(date.to_string());
    }
    for r in query.fetch_all(pool).await? {
        let key = (r.try_get::<i64, _>(1)?, date_of(&r, 2)?);
        let order = orders.entry(key).or_insert(OrderToDeliver {
            order_id: r.try_get(0)?,
            cancelled: r.try_get::<String, _>(3)? == "cancelled",
            lines: HashMap::new(),
        });
        if let (Some(spec), Some(quantity)) = (
            r.try_get::<Option<i64>, _>(4)?,
            r.try_get::<Option<i64>, _>(5)?,
        ) {
            order.lines.insert(spec, quantity);
        }
    }
    Ok(orders)
}

/// Ids written into a statement: integers from the database, never text
/// from outside.
fn id_list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Stores the delivered quantities of whole orders, in the caller's
/// transaction: every line of `orders` is delivered as 0 first (a line the
/// file does not name got nothing), then `lines` are written, and the
/// orders' `delivered_at` is set (kept from the first load on a reload).
pub async fn store_deliveries(
    conn: &mut AnyConnection,
    orders: &[i64],
    lines: &[Delivered],
    at: i64,
) -> sqlx::Result<()> {
    for chunk in orders.chunks(1000) {
        let ids = id_list(chunk);
        sqlx::query(&format!(
            "UPDATE replenishment_order_lines SET delivered = 0 WHERE order_id IN ({ids})"
        ))
        .execute(&mut *conn)
        .await?;
        sqlx::query(&format!(
            "UPDATE replenishment_orders SET delivered_at = COALESCE(delivered_at, $1) WHERE id IN ({ids})"
        ))
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    // One statement per chunk of lines: an update joined to the values.
    // SQLite resolves `$N` by a linear search while preparing (quadratic
    // on long statements); plain `?` is positional there.
    let positional = conn.backend_name() == "SQLite";
    for chunk in lines.chunks(5000) {
        let mut values = String::with_capacity(chunk.len() * 16);
        for i in 0..chunk.len() {
            if i > 0 {
                values.push(',');
            }
            if positional {
                values.push_str("(?, ?, ?)");
            } else {
                let n = i * 3;
                values.push_str(&format!("(${}, ${}, ${})", n + 1, n + 2, n + 3));
            }
        }
        let sql = format!(
            "WITH v (order_id, spec_id, delivered) AS (VALUES {values}) \
             UPDATE replenishment_order_lines SET delivered = v.delivered FROM v \
             WHERE replenishment_order_lines.order_id = v.order_id \
               AND replenishment_order_lines.spec_id = v.spec_id"
        );
        let mut query = sqlx::query(&sql);
        for line in chunk {
            query = query
                .bind(line.order_id)
                .bind(line.spec_id)
                .bind(line.delivered);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The first day of `month` and of the month after, as stored dates.
fn month_bounds(month: YearMonth) -> (String, String) {
    (format!("{month}-01"), format!("{}-01", month.plus(1)))
}

/// Delivered cartons per (retailer, spec) over the delivered orders of
/// `month` (by order date), rows with none left out, and how many orders
/// that is. In the caller's transaction.
pub async fn delivered_in_month(
    conn: &mut AnyConnection,
    month: YearMonth,
) -> sqlx::Result<(i64, Vec<(i64, i64, i64)>)> {
    let (from, until) = month_bounds(month);
    let orders: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM replenishment_orders \
         WHERE status = 'confirmed' AND delivered_at IS NOT NULL AND order_date >= $1 AND order_date < $2",
    )
    .bind(&from)
    .bind(&until)
    .fetch_one(&mut *conn)
    .await?;
    let rows = sqlx::query(
        "SELECT o.retailer_id, l.spec_id, CAST(SUM(COALESCE(l.delivered, 0)) AS BIGINT) \
         FROM replenishment_orders o JOIN replenishment_order_lines l ON l.order_id = o.id \
         WHERE o.status = 'confirmed' AND o.delivered_at IS NOT NULL \
           AND o.order_date >= $1 AND o.order_date < $2 \
         GROUP BY o.retailer_id, l.spec_id HAVING SUM(COALESCE(l.delivered, 0)) > 0 \
         ORDER BY o.retailer_id, l.spec_id",
    )
    .bind(&from)
    .bind(&until)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect::<sqlx::Result<Vec<_>>>()?;
    Ok((orders, rows))
}

/// The confirmed orders' lines of `from`..=`to` in one place.
const FILL_FROM: &str = "FROM replenishment_order_lines l \
     JOIN replenishment_orders o ON o.id = l.order_id \
     WHERE o.status = 'confirmed' AND o.order_date >= $1 AND o.order_date <= $2";

/// Wanted, allowed and ordered per spec × class (the class when the
/// retailer ordered), with the retailers a cap cut; unsorted.
pub async fn fill_by_spec_class(
    pool: &AnyPool,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<SpecClassFill>> {
    let class = "COALESCE(o.class_code, r.class_code)";
    sqlx::query(&format!(
        "SELECT l.spec_id, s.code, s.name, {class}, COALESCE(c.label, {class}), COALESCE(c.rank, 0), \
                CAST(SUM(l.wanted) AS BIGINT), CAST(SUM(l.proposed) AS BIGINT), CAST(SUM(l.quantity) AS BIGINT), \
                COUNT(DISTINCT CASE WHEN l.proposed < l.wanted THEN o.retailer_id END) \
         FROM replenishment_order_lines l \
         JOIN replenishment_orders o ON o.id = l.order_id \
         JOIN retailers r ON r.id = o.retailer_id JOIN specs s ON s.id = l.spec_id \
         LEFT JOIN customer_classes c ON c.code = {class} \
         WHERE o.status = 'confirmed' AND o.order_date >= $1 AND o.order_date <= $2 \
         GROUP BY l.spec_id, s.code, s.name, {class}, c.label, c.rank"
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(SpecClassFill {
            spec_id: r.try_get(0)?,
            spec_code: r.try_get(1)?,
            spec_name: r.try_get(2)?,
            class_code: r.try_get(3)?,
            class_label: r.try_get(4)?,
            class_rank: r.try_get(5)?,
            demand: Demand {
                wanted: r.try_get(6)?,
                allowed: r.try_get(7)?,
                ordered: r.try_get(8)?,
            },
            retailers_cut: r.try_get(9)?,
        })
    })
    .collect()
}

/// Wanted, allowed and ordered per order day.
pub async fn fill_by_day(
    pool: &AnyPool,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<(NaiveDate, Demand)>> {
    sqlx::query(&format!(
        "SELECT o.order_date, CAST(SUM(l.wanted) AS BIGINT), CAST(SUM(l.proposed) AS BIGINT), \
                CAST(SUM(l.quantity) AS BIGINT) {FILL_FROM} GROUP BY o.order_date ORDER BY o.order_date"
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            date_of(r, 0)?,
            Demand {
                wanted: r.try_get(1)?,
                allowed: r.try_get(2)?,
                ordered: r.try_get(3)?,
            },
        ))
    })
    .collect()
}
