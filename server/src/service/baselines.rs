//! Stored system baselines (系统基线): every retailer × spec's baseline and
//! 80 % interval for the three months after the last history month (cycles
//! are opened for any of them), computed in the background when the history
//! changes and read by the sheets.
//!
//! A run reads the 24-month window in slices of retailers, after the pooled
//! seasonal profile of the whole company (from the kept monthly totals);
//! each slice is computed on every core (threads under `spawn_blocking`,
//! never on the async runtime) while the next slice is read and the one
//! before it written, and written in one transaction that replaces the
//! slice's rows of those months. The run's progress and heartbeat are
//! written every second.
//!
//! One run at a time across server processes: a request queues a run (at
//! most one waits; a request while one waits joins it), and a process
//! claims the queued run by a compare-and-set UPDATE when none is running.
//! Every write of a run checks in the same statement that the run is still
//! its own, so a run taken over after a minute without heartbeat (its
//! process died or stalled) is never written by two processes.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use domain::forecast::baseline::{forecast_months, Forecast, Profile};
use domain::forecast::stored::{BaselineStatus, RunSource};
use domain::month::YearMonth;
use domain::Lang;
use serde_json::json;

use crate::db::{Backend, Db};
use crate::error::ApiResult;
use crate::store::audit;
use crate::store::baselines::{self as store, Row};
use crate::AppState;

/// Months of history behind a baseline.
pub const WINDOW: i64 = 24;
/// Months stored after the last history month: a cycle opened near a
/// month's end is for the third month after the last closed one.
pub const HORIZON: usize = 3;
/// A running run without a heartbeat for this long died with its process
/// and may be taken over.
pub const STALE_AFTER: i64 = 60;
/// How often a run writes its progress (and heartbeat).
const BEAT: Duration = Duration::from_secs(1);
/// How often a server looks for a run left queued or stale.
const WATCH: Duration = Duration::from_secs(30);
/// Retailers per slice: about 30,000 series of a city's 60 specs, a few
/// seconds of computing, and a write transaction short enough for SQLite's
/// other writers.
const SLICE: usize = 500;
/// Series handed to a thread at a time.
const CHUNK: usize = 32;
/// Stored months kept before the first month a run computes (older
/// cycles' sheets compute on read).
const KEEP_MONTHS: i64 = 12;
/// Runs listed in the status.
const RUNS_SHOWN: i64 = 5;

/// Starts and runs recomputes for one database. Cloned into the server
/// state; the tools make their own.
#[derive(Clone)]
pub struct Runner {
    db: Db,
    /// This runner's name in `claimed_by`.
    token: Arc<str>,
    /// Whether this runner has a worker task.
    active: Arc<AtomicBool>,
    /// A request came while the worker was busy: look again before stopping.
    again: Arc<AtomicBool>,
}

impl Runner {
    pub fn new(db: Db) -> Runner {
        use rand::Rng;
        let token = format!(
            "{}-{:016x}",
            std::process::id(),
            rand::thread_rng().gen::<u64>()
        );
        Runner {
            db,
            token: token.into(),
            active: Arc::new(AtomicBool::new(false)),
            again: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Queues a run (or joins the one queued) and makes sure a worker
    /// looks for it; returns the queued run's id.
    pub async fn request(&self, source: RunSource, by: Option<i64>) -> sqlx::Result<i64> {
        let mut conn = self.db.pool.acquire().await?;
        let id = store::request(&mut conn, source, by).await?;
        drop(conn);
        self.kick();
        Ok(id)
    }

    /// Queues a run without running it in this process: a server started
    /// on the database runs it (the tools' demo command, which exits).
    pub async fn queue(&self, source: RunSource, by: Option<i64>) -> sqlx::Result<i64> {
        let mut conn = self.db.pool.acquire().await?;
        store::request(&mut conn, source, by).await
    }

    /// A request that must not fail the caller's own work (an import that
    /// was stored): a failure to queue is logged, and the next start or
    /// the marketing center's button asks again.
    pub async fn request_after(&self, source: RunSource, by: Option<i64>) {
        if let Err(e) = self.request(source, by).await {
            tracing::error!(error = %e, source = source.as_str(), "could not queue a baseline recompute");
        }
    }

    /// Starts a worker task unless this runner has one; it runs queued
    /// runs until none is left (or another process runs one).
    pub fn kick(&self) {
        // Set before the check: a worker finishing now sees it.
        self.again.store(true, Ordering::SeqCst);
        if self.active.swap(true, Ordering::SeqCst) {
            return;
        }
        let runner = self.clone();
        tokio::spawn(async move {
            loop {
                runner.again.store(false, Ordering::SeqCst);
                if let Err(e) = runner.drain().await {
                    tracing::error!(error = %e, "baseline recompute worker stopped");
                }
                runner.active.store(false, Ordering::SeqCst);
                if !runner.again.swap(false, Ordering::SeqCst)
                    || runner.active.swap(true, Ordering::SeqCst)
                {
                    break;
                }
            }
        });
    }

    /// Runs every run this process can claim, one after the other, until
    /// none is left; returns when done (the tools await it).
    pub async fn drain(&self) -> anyhow::Result<()> {
        while let Some(id) = self.next().await? {
            if let Err(e) = self.execute(id).await {
                tracing::error!(run = id, error = %e, "baseline recompute failed");
                let mut conn = self.db.pool.acquire().await?;
                store::fail(
                    &mut conn,
                    id,
                    &self.token,
                    "计算失败，请重试 / the recompute failed; try again",
                )
                .await?;
            }
        }
        Ok(())
    }

    /// A run whose process stopped beating, or else the queued run.
    async fn next(&self) -> sqlx::Result<Option<i64>> {
        let mut conn = self.db.pool.acquire().await?;
        if let Some(id) = store::take_over(&mut conn, &self.token, STALE_AFTER).await? {
            tracing::warn!(
                run = id,
                "taking over a baseline recompute whose process stopped"
            );
            return Ok(Some(id));
        }
        store::claim(&mut conn, &self.token).await
    }

    /// At server start: a run if the stored baselines are older than the
    /// history (two indexed lookups; with `check_stale`), and runs left
    /// queued or stale by a process that stopped, looked for again every
    /// 30 seconds.
    pub fn watch(&self, check_stale: bool) -> tokio::task::JoinHandle<()> {
        let runner = self.clone();
        tokio::spawn(async move {
            if check_stale {
                if let Err(e) = runner.request_if_stale().await {
                    tracing::warn!(error = %e, "could not check the stored baselines");
                }
            }
            loop {
                match store::pending(&runner.db.pool, STALE_AFTER).await {
                    Ok(true) => runner.kick(),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "could not look for baseline runs"),
                }
                tokio::time::sleep(WATCH).await;
            }
        })
    }

    async fn request_if_stale(&self) -> sqlx::Result<()> {
        let pool = &self.db.pool;
        let Some(history) = store::history_through(pool).await? else {
            return Ok(());
        };
        let stored = store::stored_months(pool).await?;
        let through = stored.iter().map(|m| m.history_through).max();
        let under_way = store::runs(pool, 1)
            .await?
            .first()
            .is_some_and(|r| r.status.active());
        if through.is_none_or(|t| t < history) && !under_way {
            tracing::info!(%history, "the stored baselines are older than the history; recomputing");
            self.request(RunSource::Start, None).await?;
        }
        Ok(())
    }

    /// One run, from its claim to its end. Ok also when the run stopped
    /// because another process took it over.
    async fn execute(&self, id: i64) -> anyhow::Result<()> {
        let pool = &self.db.pool;
        let token = self.token.clone();
        let Some(through) = store::history_through(pool).await? else {
            // No history: nothing to store.
            let mut conn = pool.acquire().await?;
            let mut tx = self.db.begin(&mut conn).await?;
            store::start(&mut tx, id, &token, None, &[], 0).await?;
            store::finish(&mut tx, id, &token, None, &[], 0, None).await?;
            tx.commit().await?;
            return Ok(());
        };
        let first = through.plus(1 - WINDOW);
        let months: Vec<YearMonth> = (1..=HORIZON as i64).map(|h| through.plus(h)).collect();
        let profile = profile(&self.db, first, through).await?;
        let postgres = self.db.backend == Backend::Postgres;
        let total = store::series_count(pool, postgres, first, through).await?;
        let ids = store::retailer_ids(pool).await?;
        {
            let mut conn = pool.acquire().await?;
            if !store::start(&mut conn, id, &token, Some(through), &months, total).await? {
                return Ok(());
            }
        }
        let keep_from = months[0].plus(-KEEP_MONTHS);
        let mut clear = months.clone();
        clear.extend(store::months_before(pool, keep_from).await?);
        let done = Arc::new(AtomicI64::new(0));
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = {
            let (db, token, done, lost) =
                (self.db.clone(), token.clone(), done.clone(), lost.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(BEAT).await;
                    let beat = match db.pool.acquire().await {
                        Ok(mut conn) => {
                            store::beat(&mut conn, id, &token, done.load(Ordering::Relaxed)).await
                        }
                        Err(e) => Err(e),
                    };
                    match beat {
                        Ok(true) => {}
                        Ok(false) => {
                            lost.store(true, Ordering::SeqCst);
                            break;
                        }
                        Err(e) => tracing::warn!(run = id, error = %e, "baseline run heartbeat"),
                    }
                }
            })
        };
        let job = Job {
            db: self.db.clone(),
            id,
            token: token.clone(),
            through,
            first,
            months,
            profile,
            clear,
            done: done.clone(),
            lost: lost.clone(),
        };
        let outcome = job.slices(slices(&ids, SLICE)).await;
        heartbeat.abort();
        let Some(stored) = outcome? else {
            tracing::warn!(
                run = id,
                "baseline run taken over by another process; stopped here"
            );
            return Ok(());
        };
        let mut conn = pool.acquire().await?;
        let mut tx = self.db.begin(&mut conn).await?;
        let counted: Vec<(YearMonth, i64)> = job.months.iter().copied().zip(stored).collect();
        let finished = store::finish(
            &mut tx,
            id,
            &token,
            Some(through),
            &counted,
            done.load(Ordering::Relaxed),
            Some(keep_from),
        )
        .await?;
        if finished {
            tx.commit().await?;
            tracing::info!(run = id, %through, series = done.load(Ordering::Relaxed), "baselines stored");
        }
        Ok(())
    }
}

/// What one run's slices share.
struct Job {
    db: Db,
    id: i64,
    token: Arc<str>,
    through: YearMonth,
    first: YearMonth,
    months: Vec<YearMonth>,
    profile: Profile,
    /// Months whose rows each slice replaces: the computed ones and old
    /// ones being forgotten.
    clear: Vec<YearMonth>,
    done: Arc<AtomicI64>,
    lost: Arc<AtomicBool>,
}

impl Job {
    /// Reads, computes and writes the slices, each step beside the next
    /// slice's read and the previous slice's write. Rows stored per month,
    /// or None if the run was taken over.
    async fn slices(&self, slices: Vec<(i64, i64)>) -> anyhow::Result<Option<Vec<i64>>> {
        let mut stored = vec![0_i64; self.months.len()];
        let postgres = self.db.backend == Backend::Postgres;
        let read = |slice: (i64, i64)| {
            let (pool, first, last) = (self.db.pool.clone(), self.first, self.through);
            tokio::spawn(
                async move { store::slice_history(&pool, postgres, slice, first, last).await },
            )
        };
        let mut reading = slices.first().map(|&s| read(s));
        let mut writing: Option<tokio::task::JoinHandle<anyhow::Result<bool>>> = None;
        for (k, &slice) in slices.iter().enumerate() {
            let history = match reading.take() {
                Some(r) => r.await??,
                None => Vec::new(),
            };
            if let Some(&next) = slices.get(k + 1) {
                reading = Some(read(next));
            }
            if self.lost.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let (first, months, profile, done) = (
                self.first,
                self.months.clone(),
                self.profile,
                self.done.clone(),
            );
            let rows = tokio::task::spawn_blocking(move || {
                slice_rows(first, &months, &profile, history, &done)
            })
            .await??;
            for row in &rows {
                if let Some(i) = self.months.iter().position(|m| *m == row.month) {
                    stored[i] += 1;
                }
            }
            if let Some(w) = writing.take() {
                if !w.await?? {
                    return Ok(None);
                }
            }
            writing = Some(self.write(slice, rows));
        }
        if let Some(w) = writing.take() {
            if !w.await?? {
                return Ok(None);
            }
        }
        Ok(Some(stored))
    }

    /// Writes a slice in one transaction that first checks (and beats)
    /// that the run is still this process's. False if it is not.
    fn write(
        &self,
        slice: (i64, i64),
        rows: Vec<Row>,
    ) -> tokio::task::JoinHandle<anyhow::Result<bool>> {
        let (db, id, token, clear, through, done) = (
            self.db.clone(),
            self.id,
            self.token.clone(),
            self.clear.clone(),
            self.through,
            self.done.clone(),
        );
        tokio::spawn(async move {
            let mut conn = db.pool.acquire().await?;
            let mut tx = db.begin(&mut conn).await?;
            if !store::beat(&mut tx, id, &token, done.load(Ordering::Relaxed)).await? {
                return Ok(false);
            }
            let postgres = db.backend == Backend::Postgres;
            store::replace_slice(&mut tx, postgres, slice, &clear, &rows, through).await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}

/// Contiguous retailer id ranges of `per` retailers each, covering every id
/// (a retailer added during the run falls in the last).
fn slices(ids: &[i64], per: usize) -> Vec<(i64, i64)> {
    let starts: Vec<i64> = ids.chunks(per.max(1)).map(|c| c[0]).collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &start)| {
            let lo = if k == 0 { i64::MIN } else { start };
            let hi = starts.get(k + 1).map_or(i64::MAX, |next| next - 1);
            (lo, hi)
        })
        .collect()
}

/// A slice's series, each over the window from `first` (0 where no order),
/// computed on every core into rows for `months`.
fn slice_rows(
    first: YearMonth,
    months: &[YearMonth],
    profile: &Profile,
    history: Vec<(i64, i64, YearMonth, i64)>,
    done: &AtomicI64,
) -> anyhow::Result<Vec<Row>> {
    let window = WINDOW as usize;
    let mut by_series: BTreeMap<(i64, i64), Vec<f64>> = BTreeMap::new();
    for (retailer, spec, month, cartons) in history {
        if let Some(i) = usize::try_from(first.months_until(month))
            .ok()
            .filter(|&i| i < window)
        {
            by_series
                .entry((retailer, spec))
                .or_insert_with(|| vec![0.0; window])[i] = cartons as f64;
        }
    }
    let series: Vec<((i64, i64), Vec<f64>)> = by_series.into_iter().collect();
    let forecasts = compute(first, profile, &series, months.len(), done)?;
    let mut rows = Vec::with_capacity(series.len() * months.len());
    for (((retailer_id, spec_id), _), path) in series.iter().zip(forecasts) {
        for (&month, f) in months.iter().zip(path) {
            let (low, high) = f.range();
            rows.push(Row {
                month,
                retailer_id: *retailer_id,
                spec_id: *spec_id,
                cartons: f.cartons(),
                low,
                high,
                method: f.method.as_str(),
            });
        }
    }
    Ok(rows)
}

/// The next `horizon` months of every series (monthly values from
/// `first`), on every core; `done` counts the series as they finish. Blocking:
/// call it from `spawn_blocking`.
pub fn compute(
    first: YearMonth,
    profile: &Profile,
    series: &[(impl Sync, Vec<f64>)],
    horizon: usize,
    done: &AtomicI64,
) -> anyhow::Result<Vec<Vec<Forecast>>> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(series.len().div_ceil(CHUNK).max(1));
    let next = AtomicUsize::new(0);
    let mut out: Vec<Vec<Forecast>> = vec![Vec::new(); series.len()];
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                        if start >= series.len() {
                            break;
                        }
                        let end = (start + CHUNK).min(series.len());
                        for (i, (_, history)) in series.iter().enumerate().take(end).skip(start) {
                            mine.push((i, forecast_months(first, history, horizon, profile)));
                        }
                        done.fetch_add((end - start) as i64, Ordering::Relaxed);
                    }
                    mine
                })
            })
            .collect();
        for worker in workers {
            let part = worker
                .join()
                .map_err(|_| anyhow::anyhow!("a baseline thread panicked"))?;
            for (i, path) in part {
                out[i] = path;
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(out)
}

/// The seasonal profile shared by every series: the company's orders per
/// month from `first` to `last` (the sum over all series).
pub async fn profile(db: &Db, first: YearMonth, last: YearMonth) -> sqlx::Result<Profile> {
    let totals = store::month_totals(&db.pool, first, last).await?;
    Ok(Profile::pooled(first, &totals))
}

/// (cartons, low, high) per (retailer, spec).
pub type SheetBaselines = HashMap<(i64, i64), (i64, i64, i64)>;

/// The stored baselines of a sheet's cells for `month`, if a run has
/// stored that month.
pub async fn stored_for_sheet(
    state: &AppState,
    sheet_id: i64,
    cycle_id: i64,
    month: YearMonth,
) -> ApiResult<Option<SheetBaselines>> {
    let pool = &state.db.pool;
    if store::stored_month(pool, month).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(
        store::sheet_rows(pool, sheet_id, cycle_id, month).await?,
    ))
}

/// The baselines of a sheet's cells for a `month` no run has stored yet,
/// computed now from `series` (the sheet's history over the window from
/// `first`, ending with `last`) as a run would, and said in the log.
pub async fn compute_for_sheet(
    state: &AppState,
    sheet_id: i64,
    month: YearMonth,
    (first, last): (YearMonth, YearMonth),
    series: &HashMap<(i64, i64), Vec<f64>>,
) -> ApiResult<SheetBaselines> {
    tracing::info!(
        sheet = sheet_id,
        %month,
        series = series.len(),
        "no stored baselines for the month yet; computing them on read"
    );
    let profile = profile(&state.db, first, last).await?;
    let horizon = last.months_until(month).max(1) as usize;
    let series: Vec<((i64, i64), Vec<f64>)> = series.iter().map(|(k, v)| (*k, v.clone())).collect();
    let computed = tokio::task::spawn_blocking(move || {
        let forecasts = compute(first, &profile, &series, horizon, &AtomicI64::new(0))?;
        Ok::<_, anyhow::Error>(
            series
                .into_iter()
                .zip(forecasts)
                .filter_map(|((key, _), path)| {
                    let f = path.last()?;
                    let (low, high) = f.range();
                    Some((key, (f.cartons(), low, high)))
                })
                .collect::<SheetBaselines>(),
        )
    })
    .await
    .map_err(anyhow::Error::from)??;
    Ok(computed)
}

/// What the marketing center sees: the history's last month, the stored
/// months and the latest runs.
pub async fn status(db: &Db) -> sqlx::Result<BaselineStatus> {
    Ok(BaselineStatus {
        history_through: store::history_through(&db.pool).await?,
        stored: store::stored_months(&db.pool).await?,
        runs: store::runs(&db.pool, RUNS_SHOWN).await?,
    })
}

/// The marketing center's 重新计算: a run queued (or the queued one
/// joined), audited.
pub async fn recompute(state: &AppState, actor: i64, lang: Lang) -> ApiResult<BaselineStatus> {
    let _ = lang;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let id = store::request(&mut tx, RunSource::Manual, Some(actor)).await?;
    audit::record(
        &mut tx,
        Some(actor),
        "forecast.baselines.recompute",
        "baseline_run",
        &id.to_string(),
        &json!({ "run": id }),
    )
    .await?;
    tx.commit().await?;
    drop(conn);
    state.baselines.kick();
    Ok(status(&state.db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap_or_else(|_| panic!("bad month {s}"))
    }

    #[test]
    fn slices_cover_every_id_without_overlap() {
        assert_eq!(
            slices(&[3, 4, 9, 10, 11], 2),
            vec![(i64::MIN, 8), (9, 10), (11, i64::MAX)]
        );
        assert_eq!(slices(&[5], 500), vec![(i64::MIN, i64::MAX)]);
        assert!(slices(&[], 500).is_empty());
    }

    #[test]
    fn a_run_stores_what_the_sheet_would_compute() {
        // The stored months are the first and second step of one path; a
        // sheet falling back computes each as its own target.
        let first = ym("2024-11");
        let profile = Profile::FLAT;
        let series: Vec<((i64, i64), Vec<f64>)> = vec![
            ((1, 1), (0..24).map(|t| 10.0 + (t % 5) as f64).collect()),
            (
                (1, 2),
                (0..24)
                    .map(|t| if t % 3 == 0 { 4.0 } else { 0.0 })
                    .collect(),
            ),
            ((2, 1), (0..24).map(|t| t as f64).collect()),
        ];
        let done = AtomicI64::new(0);
        let stored = compute(first, &profile, &series, 2, &done).expect("computed");
        assert_eq!(done.load(Ordering::Relaxed), 3);
        let last = first.plus(23);
        for ((_, history), path) in series.iter().zip(&stored) {
            for (h, f) in path.iter().enumerate() {
                let target = last.plus(h as i64 + 1);
                let on_read =
                    domain::forecast::baseline::forecast(first, history, target, &profile);
                assert_eq!(
                    (f.cartons(), f.range()),
                    (on_read.cartons(), on_read.range())
                );
                let (low, high) = f.range();
                assert!(low <= f.cartons() && f.cartons() <= high, "{f:?}");
            }
        }
    }

    #[test]
    fn a_slice_stores_only_series_with_orders() {
        let first = ym("2024-11");
        let history = vec![
            (7, 1, ym("2025-01"), 5),
            (7, 1, ym("2026-10"), 6),
            (8, 2, ym("2026-09"), 3),
            // Before the window: not read.
            (9, 3, ym("2020-01"), 3),
        ];
        let months = [ym("2026-11"), ym("2026-12")];
        let rows =
            slice_rows(first, &months, &Profile::FLAT, history, &AtomicI64::new(0)).expect("rows");
        let keys: Vec<(YearMonth, i64, i64)> = rows
            .iter()
            .map(|r| (r.month, r.retailer_id, r.spec_id))
            .collect();
        assert_eq!(
            keys,
            vec![
                (months[0], 7, 1),
                (months[1], 7, 1),
                (months[0], 8, 2),
                (months[1], 8, 2)
            ]
        );
    }
}
