//! Benchmark: the accuracy report of a city cycle and the review inbox,
//! through the API, beside the raw SQL computing the accuracy figures from
//! every approved line (what the report did before it kept summaries).

use std::time::Instant;

use anyhow::Context;
use server::db::Db;

use crate::bench::{dashboard_cycle, loopback_server, median, ms, signed_in};

/// The accuracy sums of a cycle from its approved lines joined to the
/// orders of its month: per sheet × spec, the worst retailers and the worst
/// lines, as the report computed them before the summaries.
const RAW_ACCURACY: [&str; 3] = [
    "SELECT l.sheet_id, l.spec_id, COUNT(*), CAST(SUM(COALESCE(m.cartons, 0)) AS BIGINT), CAST(SUM(l.final_value) AS BIGINT), \
            CAST(SUM(ABS(l.final_value - COALESCE(m.cartons, 0))) AS BIGINT), \
            CAST(SUM(ABS(COALESCE(l.entered, 0) - COALESCE(m.cartons, 0))) AS BIGINT), \
            CAST(SUM(ABS(COALESCE(l.baseline, 0) - COALESCE(m.cartons, 0))) AS BIGINT) \
     FROM forecast_lines l LEFT JOIN monthly_orders m ON m.retailer_id = l.retailer_id AND m.spec_id = l.spec_id AND m.month = $2 \
     WHERE l.sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1) AND l.final_value IS NOT NULL \
     GROUP BY l.sheet_id, l.spec_id",
    "SELECT l.retailer_id, CAST(SUM(ABS(l.final_value - COALESCE(m.cartons, 0))) AS BIGINT) AS e \
     FROM forecast_lines l LEFT JOIN monthly_orders m ON m.retailer_id = l.retailer_id AND m.spec_id = l.spec_id AND m.month = $2 \
     WHERE l.sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1) AND l.final_value IS NOT NULL \
     GROUP BY l.retailer_id ORDER BY e DESC LIMIT 50",
    "SELECT l.retailer_id, l.spec_id, l.final_value, COALESCE(m.cartons, 0) \
     FROM forecast_lines l LEFT JOIN monthly_orders m ON m.retailer_id = l.retailer_id AND m.spec_id = l.spec_id AND m.month = $2 \
     WHERE l.sheet_id IN (SELECT id FROM forecast_sheets WHERE cycle_id = $1) AND l.final_value IS NOT NULL \
     ORDER BY ABS(l.final_value - COALESCE(m.cartons, 0)) DESC LIMIT 50",
];

pub async fn run(db: &Db, rounds: usize) -> anyhow::Result<()> {
    let rounds = rounds.max(1);
    let mut cycles = vec![dashboard_cycle(db).await?];
    // The latest past cycle whose month has orders, if the demo made one.
    let past: Option<i64> = sqlx::query_scalar(
        "SELECT c.id FROM forecast_cycles c WHERE c.status = 'closed' \
         AND EXISTS (SELECT 1 FROM monthly_spec_totals t WHERE t.month = c.month) ORDER BY c.month DESC LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?;
    cycles.extend(past);

    // What keeping the summaries costs: one sheet rebuilt at a time, as a
    // final approval does (and every sheet of the cycle, as loading the
    // month's orders does).
    for &cycle in &cycles {
        let sheets: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM forecast_sheets WHERE cycle_id = $1")
                .bind(cycle)
                .fetch_all(&db.pool)
                .await?;
        let started = Instant::now();
        let mut conn = db.pool.acquire().await?;
        let mut tx = db.begin(&mut conn).await?;
        for &sheet in &sheets {
            server::store::summary::refresh_accuracy(&mut tx, sheet).await?;
        }
        tx.commit().await?;
        let took = started.elapsed();
        println!(
            "cycle {cycle}: accuracy summaries of {} sheets rebuilt in {:.1} s ({} per sheet)",
            sheets.len(),
            took.as_secs_f64(),
            ms(took / sheets.len().max(1) as u32)
        );
    }
    db.analyze().await?;

    let (base, server) = loopback_server(db).await?;
    let center = signed_in(&base, "center").await?;
    let county = signed_in(&base, "county").await?;
    let market = signed_in(&base, "mm01").await?;
    let time = |client: &reqwest::Client, path: String| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let mut took = Vec::new();
            let mut bytes = 0;
            for _ in 0..rounds {
                let started = Instant::now();
                let body = client
                    .get(&url)
                    .send()
                    .await?
                    .error_for_status()
                    .with_context(|| url.clone())?
                    .bytes()
                    .await?;
                took.push(started.elapsed());
                bytes = body.len();
            }
            Ok::<_, anyhow::Error>((median(took), bytes))
        }
    };
    let backend = match db.backend {
        server::db::Backend::Sqlite => "SQLite",
        server::db::Backend::Postgres => "PostgreSQL",
    };
    println!("{backend}, median of {rounds} rounds");
    for &cycle in &cycles {
        let (month, lines): (String, i64) = sqlx::query_as(
            "SELECT c.month, (SELECT COUNT(*) FROM forecast_lines l JOIN forecast_sheets s ON s.id = l.sheet_id \
                              WHERE s.cycle_id = c.id AND l.final_value IS NOT NULL) FROM forecast_cycles c WHERE c.id = $1",
        )
        .bind(cycle)
        .fetch_one(&db.pool)
        .await?;
        let path = format!("/api/forecast/cycles/{cycle}/accuracy");
        let (api, bytes) = time(&center, path.clone()).await?;
        let (api_county, _) = time(&county, path).await?;
        let mut raw = Vec::new();
        for _ in 0..rounds {
            let started = Instant::now();
            for sql in RAW_ACCURACY {
                sqlx::query(sql)
                    .bind(cycle)
                    .bind(&month)
                    .fetch_all(&db.pool)
                    .await?;
            }
            raw.push(started.elapsed());
        }
        println!(
            "accuracy of cycle {cycle} ({month}, {lines} approved lines): API as the center {} ({} KB), as a county department {}; raw SQL from the lines {}",
            ms(api),
            bytes / 1024,
            ms(api_county),
            ms(median(raw))
        );
    }
    for (who, client) in [("center", &center), ("county", &county), ("mm01", &market)] {
        let (took, bytes) = time(client, "/api/forecast/reviews".to_string()).await?;
        println!("review inbox as {who}: {} ({} KB)", ms(took), bytes / 1024);
    }
    server.abort();
    Ok(())
}
