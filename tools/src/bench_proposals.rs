//! Benchmark: the proposed order of every retailer for its open order
//! window, netting what it ordered last week and has not received yet, and
//! the caps of published allocations; end to end (load + compute), beside the
//! raw SQL that loads the same rows without building anything from them.

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDateTime};
use domain::replenishment::{propose, window_date, ReplenishmentPolicy, STALE_ORDER_DAYS};
use server::db::Db;
use server::store::replenishment as repl;

const ROUNDS: usize = 5;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort_unstable();
    v[v.len() / 2].as_secs_f64() * 1e3
}

/// Gives every retailer with settings an order on last week's order day,
/// confirmed and not delivered (one line per spec of its settings, its
/// weekly turnover), unless such orders exist: what netting reads.
async fn last_weeks_orders(db: &Db, now: chrono::NaiveDateTime) -> anyhow::Result<i64> {
    let policy = repl::policy(&db.pool).await?;
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM replenishment_orders WHERE status = 'confirmed' AND delivered_at IS NULL",
    )
    .fetch_one(&db.pool)
    .await?;
    if open > 0 {
        return Ok(open);
    }
    let before: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM replenishment_orders")
        .fetch_one(&db.pool)
        .await?;
    let mut tx = db.pool.begin().await?;
    for weekday in 1..=7_u8 {
        let Some(last) = window_date(now, weekday, &policy).checked_sub_days(Days::new(7)) else {
            continue;
        };
        sqlx::query(
            "INSERT INTO replenishment_orders \
                (retailer_id, order_date, confirmed_at, confirmed_by, total_cartons, total_fen, class_code) \
             SELECT r.id, $1, 0, r.manager_id, 0, 0, r.class_code FROM retailers r \
             WHERE r.order_weekday = $2 \
               AND EXISTS (SELECT 1 FROM retailer_specs rs WHERE rs.retailer_id = r.id)",
        )
        .bind(last.to_string())
        .bind(i64::from(weekday))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO replenishment_order_lines (order_id, spec_id, wanted, proposed, quantity, cut_off) \
         SELECT o.id, rs.spec_id, rs.weekly_turnover, rs.weekly_turnover, rs.weekly_turnover, 0 \
         FROM replenishment_orders o JOIN retailer_specs rs ON rs.retailer_id = o.retailer_id \
         WHERE o.id > $1",
    )
    .bind(before)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM replenishment_orders WHERE id > $1")
            .bind(before)
            .fetch_one(&db.pool)
            .await?,
    )
}

/// The same statements [`repl::proposal_inputs`] runs, on the same slices
/// of retailers at once, with every row fetched and dropped: what loading
/// costs before anything is built from the rows.
async fn raw_load(
    db: &Db,
    policy: &ReplenishmentPolicy,
    now: NaiveDateTime,
) -> anyhow::Result<usize> {
    let pool = &db.pool;
    let mut rows = 0;
    for sql in [
        "SELECT code, total_cap FROM customer_classes",
        "SELECT k.code, s.id, COALESCE(c.cap, s.default_cap), s.order_multiple, s.scarce, s.orderable \
         FROM customer_classes k CROSS JOIN specs s \
         LEFT JOIN class_caps c ON c.spec_id = s.id AND c.class_code = k.code ORDER BY k.code, s.id",
    ] {
        rows += sqlx::query(sql).fetch_all(pool).await?.len();
    }
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM retailers ORDER BY id")
        .fetch_all(pool)
        .await?;
    rows += ids.len();
    let windows: Vec<(String, String)> = (1..=7_u8)
        .map(|d| {
            let w = window_date(now, d, policy);
            let stale = w.checked_sub_days(Days::new(STALE_ORDER_DAYS)).unwrap_or(w);
            (w.to_string(), stale.to_string())
        })
        .collect();
    let per = ids.len().div_ceil(4).max(1);
    let backend = db.backend;
    let mut reads = tokio::task::JoinSet::new();
    for chunk in ids.chunks(per) {
        let (from, to) = (chunk[0], chunk[chunk.len() - 1]);
        let pool = pool.clone();
        let windows = windows.clone();
        reads.spawn(async move {
            let (settings, open) = repl::batch_sql(backend);
            let mut n = sqlx::query(&settings)
                .bind(from)
                .bind(to)
                .fetch_all(&pool)
                .await?
                .len();
            let mut query = sqlx::query(&open).bind(from).bind(to);
            for (w, _) in &windows {
                query = query.bind(w.clone());
            }
            for (_, s) in &windows {
                query = query.bind(s.clone());
            }
            n += query.fetch_all(&pool).await?.len();
            Ok::<usize, sqlx::Error>(n)
        });
    }
    while let Some(n) = reads.join_next().await {
        rows += n??;
    }
    Ok(rows)
}

pub async fn run(db: &Db) -> anyhow::Result<()> {
    let now = server::clock::now_china();
    let orders = last_weeks_orders(db, now).await?;
    println!("orders on their way (placed last week, not delivered): {orders}");
    let policy = repl::policy(&db.pool).await?;
    let (mut loads, mut computes, mut totals, mut raws) = (vec![], vec![], vec![], vec![]);
    let mut summary = String::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let inputs = repl::proposal_inputs(db, &policy, now).await?;
        let loaded = started.elapsed();
        let computing = Instant::now();
        let (mut lines, mut ordering, mut cut, mut cartons, mut netted) =
            (0_usize, 0_usize, 0_usize, 0_i64, 0_usize);
        for r in &inputs.retailers {
            let rules = inputs.rules_on(&r.class_code, r.window);
            let total_cap = inputs.total_caps.get(&r.class_code).copied().flatten();
            let proposal = propose(&r.settings, &rules, total_cap, &policy, &r.on_order);
            lines += proposal.len();
            ordering += usize::from(proposal.iter().any(|l| l.quantity > 0));
            cut += proposal.iter().filter(|l| l.cut_off() > 0).count();
            cartons += proposal.iter().map(|l| l.quantity).sum::<i64>();
            netted += usize::from(!r.on_order.is_empty());
        }
        computes.push(computing.elapsed());
        loads.push(loaded);
        totals.push(started.elapsed());
        summary = format!(
            "proposals: {} retailers ({netted} with orders on their way), {lines} spec lines, {ordering} retailers ordering, {cut} lines cut by a cap, {cartons} cartons proposed; {} allocation caps in force",
            inputs.retailers.len(),
            inputs.allocated.len()
        );
        let raw = Instant::now();
        raw_load(db, &policy, now).await?;
        raws.push(raw.elapsed());
    }
    println!("{summary}");
    println!(
        "median of {ROUNDS}: end to end {:.0} ms (load {:.0} ms, compute {:.0} ms); raw SQL loading the same rows {:.0} ms",
        median(totals),
        median(loads),
        median(computes),
        median(raws),
    );
    Ok(())
}
