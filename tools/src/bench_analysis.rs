//! Benchmark of the sales and stock analysis: each page as each level reads
//! it through the API (from the kept summaries), beside the raw SQL that
//! computes the same figures from the order lines and the recorded stock.

use std::time::{Duration, Instant};

use anyhow::Context;
use domain::analysis::{BREADTH_EDGES, STOCK_SIZE_EDGES};
use domain::month::YearMonth;
use server::db::Db;
use server::store::analysis::bucket_case;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

/// Who reads, and the condition on `retailers r` that is their reach.
struct Reader {
    login: &'static str,
    label: &'static str,
    retailers: String,
}

async fn readers(db: &Db) -> anyhow::Result<Vec<Reader>> {
    let unit_of = |login: &'static str| async move {
        sqlx::query_as::<_, (i64, i64)>("SELECT id, org_unit_id FROM users WHERE login = $1")
            .bind(login)
            .fetch_one(&db.pool)
            .await
            .with_context(|| format!("the demo account {login}"))
    };
    let (_, county) = unit_of("county").await?;
    let (_, department) = unit_of("mm01").await?;
    let (manager, _) = unit_of("cm01").await?;
    let departments: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM org_units WHERE parent_id = $1 OR id = $1")
            .bind(county)
            .fetch_all(&db.pool)
            .await?;
    let list = departments
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    Ok(vec![
        Reader {
            login: "center",
            label: "marketing center (whole city)",
            retailers: "1 = 1".into(),
        },
        Reader {
            login: "county",
            label: "county department",
            retailers: format!("r.market_unit_id IN ({list})"),
        },
        Reader {
            login: "mm01",
            label: "market manager (department)",
            retailers: format!("r.market_unit_id = {department}"),
        },
        Reader {
            login: "cm01",
            label: "customer manager (own retailers)",
            retailers: format!("r.manager_id = {manager}"),
        },
    ])
}

/// The raw statements computing each page's figures from the lines.
fn raw_sales(reader: &Reader, end: YearMonth) -> Vec<String> {
    let scope = &reader.retailers;
    let from = end.plus(-23);
    // The whole company needs no join to the retailers.
    let join = if scope == "1 = 1" {
        ""
    } else {
        "JOIN retailers r ON r.id = m.retailer_id"
    };
    vec![
        // 24 months per spec (chart, last year, year to date, structure,
        // brands and specs are derived from these rows).
        format!(
            "SELECT m.month, m.spec_id, CAST(SUM(m.cartons) AS BIGINT) FROM monthly_orders m {join} \
             WHERE m.month >= '{from}' AND m.month <= '{end}' AND {scope} GROUP BY m.month, m.spec_id"
        ),
        // The period and last year's by department and manager.
        format!(
            "SELECT r.market_unit_id, r.manager_id, m.month, m.spec_id, CAST(SUM(m.cartons) AS BIGINT) FROM monthly_orders m \
             JOIN retailers r ON r.id = m.retailer_id \
             WHERE m.month IN ('{end}', '{}', '{}', '{}', '{}', '{}') AND {scope} \
             GROUP BY r.market_unit_id, r.manager_id, m.month, m.spec_id",
            end.plus(-1),
            end.plus(-2),
            end.plus(-12),
            end.plus(-13),
            end.plus(-14)
        ),
        // Weeks of confirmed online orders.
        format!(
            "SELECT o.order_date, l.spec_id, CAST(SUM(l.quantity) AS BIGINT) FROM replenishment_order_lines l \
             JOIN replenishment_orders o ON o.id = l.order_id JOIN retailers r ON r.id = o.retailer_id \
             WHERE {scope} GROUP BY o.order_date, l.spec_id"
        ),
    ]
}

fn raw_stock(reader: &Reader, end: YearMonth) -> Vec<String> {
    let scope = &reader.retailers;
    vec![
        format!(
            "SELECT s.spec_id, CAST(SUM(s.stock) AS BIGINT), CAST(SUM(CASE WHEN s.stock > 0 THEN 1 ELSE 0 END) AS BIGINT) FROM retailer_specs s \
             JOIN retailers r ON r.id = s.retailer_id WHERE {scope} GROUP BY s.spec_id"
        ),
        format!(
            "SELECT m.spec_id, r.market_unit_id, r.manager_id, CAST(SUM(m.cartons) AS BIGINT) FROM monthly_orders m \
             JOIN retailers r ON r.id = m.retailer_id WHERE m.month = '{end}' AND {scope} \
             GROUP BY m.spec_id, r.market_unit_id, r.manager_id"
        ),
        format!(
            "SELECT {}, {}, COUNT(*) FROM (SELECT s.retailer_id, CAST(SUM(s.stock) AS BIGINT) AS stock, \
             CAST(SUM(CASE WHEN s.stock > 0 THEN 1 ELSE 0 END) AS BIGINT) AS specs FROM retailer_specs s \
             JOIN retailers r ON r.id = s.retailer_id WHERE {scope} GROUP BY s.retailer_id) t GROUP BY 1, 2",
            bucket_case("stock", &STOCK_SIZE_EDGES),
            bucket_case("specs", &BREADTH_EDGES)
        ),
    ]
}

/// Times each analysis page for each level through the API and the raw SQL
/// beside it, `rounds` times each, and prints the medians.
pub async fn bench_analysis(db: &Db, rounds: usize) -> anyhow::Result<()> {
    let end: Option<String> = sqlx::query_scalar("SELECT MAX(month) FROM monthly_orders")
        .fetch_one(&db.pool)
        .await?;
    let end: YearMonth = end.context("no orders in the database")?.parse()?;
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM retailers), (SELECT COUNT(*) FROM monthly_orders), \
                (SELECT COUNT(*) FROM retailer_specs)",
    )
    .fetch_one(&db.pool)
    .await?;
    println!(
        "{} retailers, {} order rows, {} recorded stock rows; period: 3 months to {end}; {rounds} rounds, medians",
        counts.0, counts.1, counts.2
    );
    let (base, server) = crate::bench::loopback_server(db).await?;
    println!(
        "| page | reader | API (summaries) | raw SQL from the lines | answer |\n|---|---|---|---|---|"
    );
    for reader in readers(db).await? {
        let client = crate::bench::signed_in(&base, reader.login).await?;
        for (page, path, raw) in [
            ("sales", "/api/analysis/sales", raw_sales(&reader, end)),
            ("stock", "/api/analysis/stock", raw_stock(&reader, end)),
        ] {
            let url = format!("{base}{path}?end={end}&months=3");
            let mut api = Vec::new();
            let mut bytes = 0;
            for _ in 0..rounds + 1 {
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
            }
            api.remove(0);
            let mut sql = Vec::new();
            for _ in 0..rounds {
                let started = Instant::now();
                for statement in &raw {
                    sqlx::query(statement).fetch_all(&db.pool).await?;
                }
                sql.push(started.elapsed());
            }
            println!(
                "| {page} | {} | {:.1} ms | {:.1} ms | {:.1} KB |",
                reader.label,
                median(api),
                median(sql),
                bytes as f64 / 1024.0
            );
        }
    }
    server.abort();
    Ok(())
}
