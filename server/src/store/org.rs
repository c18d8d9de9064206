//! The org tree and the per-unit counts of people and retailers.

use domain::org::{OrgUnit, UnitCounts, UnitKind};
use sqlx::AnyPool;

#[derive(sqlx::FromRow)]
struct RawUnit {
    id: i64,
    parent_id: Option<i64>,
    kind: String,
    name: String,
}

pub async fn units(pool: &AnyPool) -> sqlx::Result<Vec<OrgUnit>> {
    let rows: Vec<RawUnit> =
        sqlx::query_as("SELECT id, parent_id, kind, name FROM org_units ORDER BY id")
            .fetch_all(pool)
            .await?;
    rows.into_iter()
        .map(|r| {
            let kind = UnitKind::parse(&r.kind)
                .ok_or_else(|| sqlx::Error::Decode(format!("bad unit kind {}", r.kind).into()))?;
            Ok(OrgUnit {
                id: r.id,
                parent_id: r.parent_id,
                kind,
                name: r.name,
            })
        })
        .collect()
}

pub async fn unit_name(pool: &AnyPool, id: i64) -> sqlx::Result<String> {
    sqlx::query_scalar("SELECT name FROM org_units WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
}

/// Direct counts per unit (not rolled up): customer managers on the unit,
/// retailers whose market department it is, and how many of those joined online.
pub async fn direct_counts(pool: &AnyPool) -> sqlx::Result<Vec<UnitCounts>> {
    let managers: Vec<(i64, i64)> =
        sqlx::query_as("SELECT org_unit_id, COUNT(*) FROM users WHERE role = 'customer_manager' AND active = 1 GROUP BY org_unit_id")
            .fetch_all(pool)
            .await?;
    let retailers: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT market_unit_id, COUNT(*), CAST(COALESCE(SUM(online_replenishment), 0) AS BIGINT) FROM retailers GROUP BY market_unit_id",
    )
    .fetch_all(pool)
    .await?;
    let mut out: Vec<UnitCounts> = retailers
        .into_iter()
        .map(|(unit_id, retailers, online_retailers)| UnitCounts {
            unit_id,
            customer_managers: 0,
            retailers,
            online_retailers,
        })
        .collect();
    for (unit_id, n) in managers {
        match out.iter_mut().find(|c| c.unit_id == unit_id) {
            Some(c) => c.customer_managers = n,
            None => out.push(UnitCounts {
                unit_id,
                customer_managers: n,
                retailers: 0,
                online_retailers: 0,
            }),
        }
    }
    Ok(out)
}
