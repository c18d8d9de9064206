//! Benchmark: recompute every stored baseline of the demo through the
//! service, as a server does in the background, and print the series
//! count, the time, the rate and the progress the marketing center would
//! have seen on the way.

use std::time::{Duration, Instant};

use domain::forecast::stored::{RunSource, RunStatus};
use server::db::Db;
use server::service::baselines::Runner;
use server::store::baselines as store;

/// How often the progress is read, as the page polls it.
const POLL: Duration = Duration::from_secs(2);

pub async fn run(db: &Db) -> anyhow::Result<()> {
    let pool = db.pool.clone();
    let runner = Runner::new(db.clone());
    let id = runner.queue(RunSource::Manual, None).await?;
    let started = Instant::now();
    // The progress as GET /api/forecast/baselines reads it.
    let watcher = tokio::spawn(async move {
        loop {
            tokio::time::sleep(POLL).await;
            if let Ok(Some(run)) = store::run(&pool, id).await {
                println!(
                    "  {:>6.1} s  {:<8} {:>9} / {:<9} {:>5.1}%",
                    started.elapsed().as_secs_f64(),
                    run.status.as_str(),
                    run.done,
                    run.total,
                    run.share() * 100.0
                );
                if !run.status.active() {
                    break;
                }
            }
        }
    });
    runner.drain().await?;
    let elapsed = started.elapsed();
    watcher.abort();
    let run = store::run(&db.pool, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("run {id} is gone"))?;
    if run.status != RunStatus::Done {
        anyhow::bail!("run {id} ended {:?}: {:?}", run.status, run.error);
    }
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM baselines WHERE history_through = $1")
            .bind(run.history_through.map(|m| m.to_string()))
            .fetch_one(&db.pool)
            .await?;
    let retailers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retailers")
        .fetch_one(&db.pool)
        .await?;
    let specs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM specs")
        .fetch_one(&db.pool)
        .await?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "stored baselines: {} retailers × {} specs; {} series with history through {} → months {}",
        retailers,
        specs,
        run.total,
        run.history_through
            .map_or_else(|| "—".to_string(), |m| m.to_string()),
        run.months
            .iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "recomputed in {:.1} s on {threads} threads: {:.0} series/s, {} rows stored",
        elapsed.as_secs_f64(),
        run.total as f64 / elapsed.as_secs_f64().max(1e-9),
        stored
    );
    Ok(())
}
