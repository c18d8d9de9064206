//! Stored system baselines through the API, on both databases: a recompute
//! stores a baseline and 80 % interval for every retailer × spec with
//! history, and the sheet shows the stored figures (the same a sheet
//! computed on read before they were stored; the ones recorded at
//! submission); requests sent at once, from two server processes, run one
//! recompute at a time; a history import, and a server started on
//! baselines older than the history, recompute them; a run left by a
//! stopped process is taken over; only the marketing center recomputes.

use std::time::Duration;

use domain::forecast::stored::{BaselineRun, BaselineStatus, RunSource, RunStatus};
use domain::forecast::view::SheetView;
use domain::forecast::Scope;
use domain::masterdata::ImportJob;
use domain::month::YearMonth;
use domain::{ErrorBody, ErrorCode};
use e2e::forecast::{move_cycle, open_cycle, sheet};
use e2e::{caller, demo_end, on_both_databases, spawn_app, spawn_app_on, Backend, Caller, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_databases!(
    a_recompute_stores_every_series_and_the_sheet_shows_it,
    recomputes_asked_at_once_from_two_processes_run_one_at_a_time,
    a_history_import_recomputes_the_baselines,
    a_server_started_on_older_baselines_recomputes_them,
    a_run_left_by_a_stopped_process_is_taken_over,
    only_the_marketing_center_recomputes,
);

const STATUS: &str = "/api/forecast/baselines";
const RECOMPUTE: &str = "/api/forecast/baselines/recompute";

async fn recompute(app: &TestApp, who: &Caller) -> BaselineStatus {
    let response = who.send(app, Method::POST, RECOMPUTE, json!({})).await;
    assert_eq!(response.status(), 202, "the recompute is accepted");
    response.json().await.expect("status")
}

/// Waits until no run is queued or running; returns the status.
async fn settled(app: &TestApp, who: &Caller) -> BaselineStatus {
    for _ in 0..1200 {
        let status: BaselineStatus = who.get_json(app, STATUS).await;
        if status.runs.iter().all(|r| !r.status.active()) && !status.runs.is_empty() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the baseline runs did not finish");
}

/// Every run, oldest first.
async fn all_runs(app: &TestApp) -> Vec<(i64, String, String, Option<i64>, Option<i64>)> {
    sqlx::query_as(
        "SELECT id, status, source, started_at, finished_at FROM baseline_runs ORDER BY id",
    )
    .fetch_all(&app.db().pool)
    .await
    .expect("runs")
}

/// The marketing center's name, as the runs show who asked.
async fn center_name(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT display_name FROM users WHERE login = 'center'")
        .fetch_one(&app.db().pool)
        .await
        .expect("the center")
}

/// Retailer × spec series with an order in the 24 months to `through`.
async fn series_with_history(app: &TestApp, through: YearMonth) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT retailer_id, spec_id FROM monthly_orders \
         WHERE month >= $1 AND month <= $2 AND cartons > 0 GROUP BY retailer_id, spec_id) s",
    )
    .bind(through.plus(-23).to_string())
    .bind(through.to_string())
    .fetch_one(&app.db().pool)
    .await
    .expect("series")
}

/// (baseline, low, high) of every cell.
fn cells(view: &SheetView) -> Vec<(i64, i64, i64)> {
    (0..view.baseline.len())
        .map(|i| {
            (
                view.baseline[i],
                view.baseline_low[i],
                view.baseline_high[i],
            )
        })
        .collect()
}

async fn a_recompute_stores_every_series_and_the_sheet_shows_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let pool = &app.db().pool;
    let center = caller(&app, "center").await;
    let through = demo_end();
    let (next, after, third) = (through.plus(1), through.plus(2), through.plus(3));

    // Nothing stored yet: the sheet of the month after next computes its
    // baselines on read, intervals included.
    let cycle = open_cycle(&app, Scope::All, 6).await;
    move_cycle(&app, cycle.id, after).await;
    let cm = caller(&app, "cm01").await;
    let on_read = sheet(&cm, &app, cycle.id).await;
    assert_eq!(on_read.baseline_low.len(), on_read.baseline.len());
    assert_eq!(on_read.baseline_high.len(), on_read.baseline.len());

    let status: BaselineStatus = center.get_json(&app, STATUS).await;
    assert_eq!(status.history_through, Some(through));
    assert!(status.stored.is_empty() && status.stale());
    recompute(&app, &center).await;
    let status = settled(&app, &center).await;

    // One run, done, over every series with history, for both months.
    let series = series_with_history(&app, through).await;
    assert!(series > 100, "the tiny demo has history: {series}");
    let run: &BaselineRun = &status.runs[0];
    assert_eq!(status.runs.len(), 1);
    assert_eq!(
        (run.status, run.source, run.history_through),
        (RunStatus::Done, RunSource::Manual, Some(through))
    );
    assert_eq!(run.months, vec![next, after, third]);
    assert_eq!((run.total, run.done), (series, series));
    assert!(run.started_at.is_some() && run.finished_at >= run.started_at);
    assert_eq!(run.requested_by, Some(center_name(&app).await));
    let months: Vec<(YearMonth, YearMonth, i64)> = status
        .stored
        .iter()
        .map(|m| (m.month, m.history_through, m.series))
        .collect();
    assert_eq!(
        months,
        vec![
            (third, through, series),
            (after, through, series),
            (next, through, series)
        ]
    );
    assert!(!status.stale());
    for month in [next, after, third] {
        let (stored, without_history, bad): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), \
                    COALESCE(SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM monthly_orders o \
                        WHERE o.retailer_id = b.retailer_id AND o.spec_id = b.spec_id \
                          AND o.month >= $2 AND o.cartons > 0) THEN 1 ELSE 0 END), 0), \
                    COALESCE(SUM(CASE WHEN b.low <= b.cartons AND b.cartons <= b.high \
                        AND b.history_through = $3 THEN 0 ELSE 1 END), 0) \
             FROM baselines b WHERE b.month = $1",
        )
        .bind(month.to_string())
        .bind(through.plus(-23).to_string())
        .bind(through.to_string())
        .fetch_one(pool)
        .await
        .expect("stored rows");
        assert_eq!(
            (stored, without_history, bad),
            (series, 0, 0),
            "{month}: a row for every series with history, each low ≤ baseline ≤ high"
        );
    }

    // The sheet now reads the stored rows: the same figures it computed.
    let view = sheet(&cm, &app, cycle.id).await;
    assert_eq!(cells(&view), cells(&on_read), "stored = computed on read");
    assert!(cells(&view)
        .iter()
        .all(|&(b, low, high)| low <= b && b <= high));
    assert!(
        cells(&view).iter().any(|&(_, low, high)| high > low),
        "some intervals have a width"
    );
    for (r, row) in view.rows.iter().enumerate() {
        for (s, spec) in view.specs.iter().enumerate() {
            let stored: Option<(i64, i64, i64)> = sqlx::query_as(
                "SELECT cartons, low, high FROM baselines WHERE month = $1 AND retailer_id = $2 AND spec_id = $3",
            )
            .bind(after.to_string())
            .bind(row.retailer_id)
            .bind(spec.spec_id)
            .fetch_optional(pool)
            .await
            .expect("stored");
            assert_eq!(
                Some(cells(&view)[view.index(r, s)]),
                Some(stored.unwrap_or((0, 0, 0))),
                "retailer {} spec {}: absent is 0, interval 0–0",
                row.licence_no,
                spec.code
            );
        }
    }

    // Changed in the store, changed on the sheet (it reads, it does not
    // compute), and recorded beside the line at submission.
    let i = cells(&view)
        .iter()
        .position(|&(b, _, _)| b > 0)
        .expect("a cell with a baseline");
    let (retailer, spec) = (
        view.rows[i / view.specs.len()].retailer_id,
        view.specs[i % view.specs.len()].spec_id,
    );
    let marked = view.baseline[i] + 2;
    sqlx::query(
        "UPDATE baselines SET cartons = $1, high = $1 + 3 WHERE month = $2 AND retailer_id = $3 AND spec_id = $4",
    )
    .bind(marked)
    .bind(after.to_string())
    .bind(retailer)
    .bind(spec)
    .execute(pool)
    .await
    .expect("mark a stored baseline");
    let view = sheet(&cm, &app, cycle.id).await;
    assert_eq!(
        (view.baseline[i], view.baseline_high[i]),
        (marked, marked + 3)
    );
    e2e::forecast::fill_with_baseline(&cm, &app, &view).await;
    let submitted = cm
        .send(
            &app,
            Method::POST,
            &format!("/api/forecast/cycles/{}/sheet/submit", cycle.id),
            json!({}),
        )
        .await;
    assert_eq!(submitted.status(), 200, "the sheet is submitted");
    let recorded: i64 = sqlx::query_scalar(
        "SELECT baseline FROM forecast_lines WHERE sheet_id = $1 AND retailer_id = $2 AND spec_id = $3",
    )
    .bind(view.sheet_id)
    .bind(retailer)
    .bind(spec)
    .fetch_one(pool)
    .await
    .expect("recorded");
    assert_eq!(recorded, marked, "the stored baseline is recorded");
}

async fn recomputes_asked_at_once_from_two_processes_run_one_at_a_time(backend: Backend) {
    let app = spawn_app(backend).await;
    // A second server process on the same database.
    let other = spawn_app_on(
        app.db.clone(),
        server::config::Config::local(String::new()),
        false,
    )
    .await;
    let (one, two) = (caller(&app, "center").await, caller(&other, "center").await);
    // Watch the runs while the requests come in: never two running.
    let pool = app.db().pool.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watch = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut most = 0_i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let running: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM baseline_runs WHERE status = 'running'",
                )
                .fetch_one(&pool)
                .await
                .expect("running");
                most = most.max(running);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            most
        })
    };
    let requests = [(&app, &one), (&other, &two), (&app, &one), (&other, &two)]
        .map(|(app, who)| who.send(app, Method::POST, RECOMPUTE, json!({})));
    let statuses = e2e::statuses(futures::future::join_all(requests).await).await;
    assert_eq!(statuses, vec![202; 4]);
    settled(&app, &one).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(watch.await.expect("watcher") <= 1, "one run at a time");

    // Four requests: one run, and at most one more queued behind it;
    // each started after the one before ended.
    let runs = all_runs(&app).await;
    assert!(
        (1..=2).contains(&runs.len()),
        "four requests made {} runs: {runs:?}",
        runs.len()
    );
    for pair in runs.windows(2) {
        assert!(
            pair[1].3 >= pair[0].4,
            "run {} started before run {} ended: {runs:?}",
            pair[1].0,
            pair[0].0
        );
    }
    assert!(runs.iter().all(|r| r.1 == "done"), "{runs:?}");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'forecast.baselines.recompute'",
    )
    .fetch_one(&app.db().pool)
    .await
    .expect("audit");
    assert_eq!(audited, 4, "every request is in the audit log");
}

async fn a_history_import_recomputes_the_baselines(backend: Backend) {
    let app = spawn_app(backend).await;
    let pool = &app.db().pool;
    let center = caller(&app, "center").await;
    let (licence, code): (String, String) = sqlx::query_as(
        "SELECT r.licence_no, s.code FROM monthly_orders o JOIN retailers r ON r.id = o.retailer_id \
         JOIN specs s ON s.id = o.spec_id WHERE o.month = $1 ORDER BY r.id, s.id LIMIT 1",
    )
    .bind(demo_end().to_string())
    .fetch_one(pool)
    .await
    .expect("an order");
    // One month's quantity corrected.
    let file = format!(
        "许可证号,卷烟编码,月份,订货量\n{licence},{code},{},977\n",
        demo_end()
    );
    let upload = |path: String, body: Vec<u8>| {
        center
            .client
            .post(app.url(&path))
            .header("X-CSRF-Token", &center.csrf)
            .body(body)
            .send()
    };
    let response = upload(
        "/api/masterdata/imports?kind=history&name=history.csv".into(),
        file.clone().into_bytes(),
    )
    .await
    .expect("upload");
    assert_eq!(response.status(), 202);
    let job: ImportJob = response.json().await.expect("job");
    let checked = wait_for_import(&app, &center, job.id).await;
    assert_eq!(checked.preview.expect("preview").change, 1);
    let response = upload(
        format!("/api/masterdata/imports/{}/apply", job.id),
        file.into_bytes(),
    )
    .await
    .expect("apply");
    assert_eq!(response.status(), 202);
    wait_for_import(&app, &center, job.id).await;

    let status = settled(&app, &center).await;
    let run = &status.runs[0];
    assert_eq!(
        (run.source, run.status, run.requested_by.clone()),
        (
            RunSource::HistoryImport,
            RunStatus::Done,
            Some(center_name(&app).await)
        )
    );
    let stored: Option<i64> = sqlx::query_scalar(
        "SELECT b.cartons FROM baselines b JOIN retailers r ON r.id = b.retailer_id \
         JOIN specs s ON s.id = b.spec_id WHERE b.month = $1 AND r.licence_no = $2 AND s.code = $3",
    )
    .bind(demo_end().plus(1).to_string())
    .bind(&licence)
    .bind(&code)
    .fetch_optional(pool)
    .await
    .expect("stored");
    assert!(stored.is_some(), "the corrected series is stored");
}

async fn wait_for_import(app: &TestApp, who: &Caller, id: i64) -> ImportJob {
    for _ in 0..1200 {
        let job: ImportJob = who
            .get_json(app, &format!("/api/masterdata/imports/{id}"))
            .await;
        if !job.state.running() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish");
}

async fn a_server_started_on_older_baselines_recomputes_them(backend: Backend) {
    let app = spawn_app(backend).await;
    // As `serve` starts: stored baselines older than the history (none).
    let config = server::config::Config {
        baselines_at_start: true,
        ..server::config::Config::local(String::new())
    };
    let started = spawn_app_on(app.db.clone(), config, false).await;
    let status = settled(&started, &caller(&started, "center").await).await;
    assert_eq!(
        status
            .runs
            .iter()
            .map(|r| (r.source, r.status))
            .collect::<Vec<_>>(),
        vec![(RunSource::Start, RunStatus::Done)]
    );
    // A second start on fresh baselines asks for nothing.
    let again = spawn_app_on(
        app.db.clone(),
        server::config::Config {
            baselines_at_start: true,
            ..server::config::Config::local(String::new())
        },
        false,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let runs = all_runs(&again).await;
    assert_eq!(
        runs.len(),
        1,
        "fresh baselines are not recomputed: {runs:?}"
    );
}

async fn a_run_left_by_a_stopped_process_is_taken_over(backend: Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    // A process that claimed a run two minutes ago and stopped beating.
    let stale = server::db::now_unix() - 120;
    sqlx::query(
        "INSERT INTO baseline_runs (status, source, requested_at, started_at, heartbeat, claimed_by, total, done) \
         VALUES ('running', 'manual', $1, $1, $1, 'stopped-process', 500, 17)",
    )
    .bind(stale)
    .execute(&app.db().pool)
    .await
    .expect("a stale run");
    // A new request: the stale run is taken over and finished here, then
    // the request's own run.
    recompute(&app, &center).await;
    settled(&app, &center).await;
    let runs = all_runs(&app).await;
    assert_eq!(
        runs.iter()
            .map(|r| (r.1.as_str(), r.2.as_str()))
            .collect::<Vec<_>>(),
        vec![("done", "manual"), ("done", "manual")],
        "{runs:?}"
    );
    let claimed: String = sqlx::query_scalar("SELECT claimed_by FROM baseline_runs WHERE id = $1")
        .bind(runs[0].0)
        .fetch_one(&app.db().pool)
        .await
        .expect("claimed by");
    assert_ne!(claimed, "stopped-process", "taken over");
}

async fn only_the_marketing_center_recomputes(backend: Backend) {
    let app = spawn_app(backend).await;
    let forbidden = ErrorBody::new(ErrorCode::Forbidden, "您没有权限执行此操作");
    for login in ["cm01", "mm01", "county"] {
        let who = caller(&app, login).await;
        for response in [
            who.get(&app, STATUS).await,
            who.send(&app, Method::POST, RECOMPUTE, json!({})).await,
        ] {
            assert_eq!(response.status(), 403, "{login}");
            let body: ErrorBody = response.json().await.expect("error body");
            assert_eq!(body, forbidden, "{login}");
        }
    }
    // Administrators read the state but do not recompute.
    let admin = caller(&app, "admin").await;
    let _: BaselineStatus = admin.get_json(&app, STATUS).await;
    let response = admin.send(&app, Method::POST, RECOMPUTE, json!({})).await;
    assert_eq!(response.status(), 403);
    assert!(all_runs(&app).await.is_empty(), "no run was asked for");
}
