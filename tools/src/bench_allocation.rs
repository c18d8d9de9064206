//! Benchmark of scarce supply allocation (货源投放): the preview of the
//! scarce spec with the most recorded demand over the whole database, for
//! a fortnight and half its demand as supply, by each rule, through the
//! API (a loopback server, as the marketing center), beside the raw SQL
//! that loads the same rows (the demand rows and the enrolled retailers
//! per class). Medians of 5 after one warm-up.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Days;
use domain::replenishment::allocation::AllocationPreview;
use serde_json::json;
use server::db::Db;
use server::store::allocation::demand_sql;

const ROUNDS: usize = 5;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

/// A client signed in as the marketing center, and its CSRF token.
async fn center(base: &str) -> anyhow::Result<(reqwest::Client, String)> {
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let info: domain::auth::SessionInfo = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "login": "center", "password": crate::demo::DEMO_PASSWORD }))
        .send()
        .await?
        .error_for_status()
        .context("signing in as center (demo password)")?
        .json()
        .await?;
    Ok((client, info.csrf_token))
}

/// Prints the preview's time by rule beside the raw SQL's.
pub async fn run(db: &Db) -> anyhow::Result<()> {
    let (spec, name, rows): (i64, String, i64) = sqlx::query_as(
        "SELECT s.id, s.name, COUNT(*) FROM specs s JOIN retailer_specs rs ON rs.spec_id = s.id \
         JOIN retailers r ON r.id = rs.retailer_id \
         WHERE s.scarce = 1 AND r.online_replenishment = 1 AND r.status = 'open' \
         GROUP BY s.id, s.name ORDER BY COUNT(*) DESC, s.id LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?
    .context("no scarce spec with recorded demand; generate the demo first")?;
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM retailers), \
                (SELECT COUNT(*) FROM retailers WHERE online_replenishment = 1 AND status = 'open'), \
                (SELECT COUNT(*) FROM customer_classes)",
    )
    .fetch_one(&db.pool)
    .await?;
    let from = server::clock::today();
    let to = from
        .checked_add_days(Days::new(13))
        .context("a fortnight ahead")?;
    println!(
        "{} retailers ({} enrolled), {} classes; spec {name} (id {spec}) in {rows} enrolled retailers' settings; \
         period {from} to {to}; {ROUNDS} rounds after a warm-up, medians",
        counts.0, counts.1, counts.2
    );

    let (base, server) = crate::bench::loopback_server(db).await?;
    let (client, csrf) = center(&base).await?;
    let url = format!("{base}/api/replenishment/allocations/preview");
    let preview = |supply: i64, rule: serde_json::Value| {
        let request = client.post(&url).header("X-CSRF-Token", &csrf).json(
            &json!({ "spec_id": spec, "from": from, "to": to, "supply": supply, "rule": rule }),
        );
        async move {
            let started = Instant::now();
            let body = request.send().await?.error_for_status()?.bytes().await?;
            let elapsed = started.elapsed();
            let preview: AllocationPreview = serde_json::from_slice(&body)?;
            anyhow::Ok((elapsed, preview))
        }
    };
    let (_, whole) = preview(0, json!({ "kind": "tier" })).await?;
    let supply = whole.totals.demand / 2;
    let top: Vec<String> = whole
        .classes
        .iter()
        .take(10)
        .map(|c| c.code.clone())
        .collect();
    println!(
        "demand {} cartons over the period; supply {supply} (half)\n\n| preview by | API (end to end) | expected | share met |\n|---|---|---|---|",
        whole.totals.demand
    );
    for (label, rule) in [
        ("tier", json!({ "kind": "tier" })),
        ("demand", json!({ "kind": "demand" })),
        (
            "equal (top 10 classes)",
            json!({ "kind": "equal", "classes": top }),
        ),
    ] {
        preview(supply, rule.clone()).await?;
        let mut times = Vec::with_capacity(ROUNDS);
        let mut last = None;
        for _ in 0..ROUNDS {
            let (elapsed, p) = preview(supply, rule.clone()).await?;
            times.push(elapsed);
            last = Some(p);
        }
        let p = last.context("a preview")?;
        println!(
            "| {label} | {:.1} ms | {} | {:.1}% |",
            median(times),
            p.totals.expected,
            p.totals.share_met().unwrap_or(0.0) * 100.0
        );
    }
    server.abort();

    // The same rows as raw SQL on one connection, as the preview reads
    // them: the demand rows and the enrolled retailers per class.
    let mut conn = db.pool.acquire().await?;
    let enrolled = "SELECT class_code, COUNT(*) FROM retailers \
                    WHERE online_replenishment = 1 AND status = 'open' GROUP BY class_code";
    let demand = demand_sql();
    let mut sql = Vec::with_capacity(ROUNDS);
    let mut loaded = 0;
    for round in 0..=ROUNDS {
        let started = Instant::now();
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(&demand)
            .bind(spec)
            .fetch_all(&mut *conn)
            .await?;
        sqlx::query(enrolled).fetch_all(&mut *conn).await?;
        if round > 0 {
            sql.push(started.elapsed());
        }
        loaded = rows.len();
    }
    println!(
        "| raw SQL: the {loaded} demand rows and the enrolled per class | {:.1} ms | | |",
        median(sql)
    );
    Ok(())
}
