//! The stored baselines in headless Chromium: the marketing center follows
//! a recompute under way on 需求预测 (progress bar, polled), asks for one
//! with 重新计算 (confirmed) and sees it finish; a customer manager sees a
//! cell's 80 % interval beside the baseline in the side panel, and a hint
//! when the value typed is outside it.

use std::time::Duration;

use domain::forecast::stored::BaselineStatus;
use domain::forecast::view::SheetView;
use domain::forecast::Scope;
use e2e::forecast::{move_cycle, open_cycle, sheet};
use e2e::{
    accept, caller, click, demo_end, element, sign_in_at, spawn_app, text_of, wait_for_text,
    Backend, Browser, TestApp,
};
use fantoccini::key::Key;
use reqwest::Method;
use serde_json::json;

async fn desktop(browser: &Browser) {
    browser
        .client
        .set_window_size(1280, 900)
        .await
        .expect("window size");
}

/// Recomputes through the API and waits for the run to end.
async fn stored(app: &TestApp) {
    let center = caller(app, "center").await;
    let response = center
        .send(
            app,
            Method::POST,
            "/api/forecast/baselines/recompute",
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 202);
    for _ in 0..600 {
        let status: BaselineStatus = center.get_json(app, "/api/forecast/baselines").await;
        if !status.stored.is_empty() && status.active().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the recompute did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_center_follows_a_recompute_and_asks_for_one() {
    let app = spawn_app(Backend::Sqlite).await;
    let pool = &app.db().pool;
    // Another server process is a quarter through a run.
    let now = server::db::now_unix();
    sqlx::query(
        "INSERT INTO baseline_runs (status, source, requested_at, started_at, heartbeat, claimed_by, \
             history_through, first_month, last_month, total, done) \
         VALUES ('running', 'start', $1, $1, $1, 'another-process', $2, $3, $4, 1000, 250)",
    )
    .bind(now)
    .bind(demo_end().to_string())
    .bind(demo_end().plus(1).to_string())
    .bind(demo_end().plus(2).to_string())
    .execute(pool)
    .await
    .expect("a run under way");

    let browser = Browser::start().await;
    desktop(&browser).await;
    sign_in_at(&browser, &app, "/forecast", "center").await;
    wait_for_text(&browser, "[data-test=baseline-panel] h3", "系统基线").await;
    wait_for_text(&browser, "[data-test=baseline-running]", "250 / 1000").await;
    wait_for_text(&browser, "[data-test=baseline-running]", "25%").await;
    wait_for_text(&browser, "[data-test=baseline-running]", "北京时间").await;
    let progress = element(&browser, "[data-test=baseline-progress]").await;
    assert_eq!(
        progress.attr("value").await.expect("value").as_deref(),
        Some("25.0")
    );
    let enabled = element(&browser, "[data-test=baseline-recompute]")
        .await
        .is_enabled()
        .await
        .expect("enabled");
    assert!(!enabled, "no second run while one is under way");

    // It moves on (the page asks again every 2 s), then stops.
    sqlx::query("UPDATE baseline_runs SET done = 600, heartbeat = $1")
        .bind(server::db::now_unix())
        .execute(pool)
        .await
        .expect("progress");
    wait_for_text(&browser, "[data-test=baseline-running]", "600 / 1000").await;
    sqlx::query(
        "UPDATE baseline_runs SET status = 'failed', error = 'interrupted', finished_at = $1",
    )
    .bind(server::db::now_unix())
    .execute(pool)
    .await
    .expect("stopped");
    wait_for_text(&browser, "[data-test=baseline-state]", "尚未计算").await;
    wait_for_text(&browser, "[data-test=baseline-failed]", "interrupted").await;

    // 重新计算, confirmed: it runs and finishes.
    click(&browser, "[data-test=baseline-recompute]").await;
    accept(&browser).await;
    wait_for_text(
        &browser,
        "[data-test=baseline-state]",
        &format!("（历史截至 {}）", demo_end()),
    )
    .await;
    wait_for_text(&browser, "[data-test=baseline-state]", "已于").await;
    let done: Vec<(String, String)> =
        sqlx::query_as("SELECT status, source FROM baseline_runs ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("runs");
    assert_eq!(
        done,
        vec![
            ("failed".to_string(), "start".to_string()),
            ("done".to_string(), "manual".to_string())
        ]
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_manager_sees_the_interval_and_a_hint_outside_it() {
    let app = spawn_app(Backend::Sqlite).await;
    stored(&app).await;
    let cycle = open_cycle(&app, Scope::All, 4).await;
    move_cycle(&app, cycle.id, demo_end().plus(2)).await;
    let cm = caller(&app, "cm01").await;
    let view: SheetView = sheet(&cm, &app, cycle.id).await;
    // A cell with an interval that has a width, and room under its bound.
    let i = (0..view.baseline.len())
        .find(|&i| {
            view.baseline_high[i] > view.baseline_low[i]
                && view.bound[i] > view.baseline_high[i] + 5
        })
        .expect("a cell with an interval below its bound");
    let (r, c) = (i / view.specs.len(), i % view.specs.len());
    let (low, high) = (view.baseline_low[i], view.baseline_high[i]);

    let browser = Browser::start().await;
    desktop(&browser).await;
    sign_in_at(&browser, &app, "/forecast", "cm01").await;
    click(&browser, "[data-test=open-sheet]").await;
    let cell = format!("[data-test=cell-{r}-{c}]");
    click(&browser, &cell).await;
    wait_for_text(
        &browser,
        "[data-test=helper-baseline]",
        &view.baseline[i].to_string(),
    )
    .await;
    wait_for_text(
        &browser,
        "[data-test=helper-interval]",
        &format!("80% 区间 {low}–{high}"),
    )
    .await;
    assert!(
        browser
            .client
            .find(fantoccini::Locator::Css("[data-test=outside-interval]"))
            .await
            .is_err(),
        "no hint before a value is typed"
    );

    // Far above what the history supports (within the bound).
    let far = view.bound[i];
    element(&browser, "[data-test=cell-editor]")
        .await
        .send_keys(&format!("{far}{}", char::from(Key::Enter)))
        .await
        .expect("type");
    wait_for_text(&browser, &cell, &far.to_string()).await;
    click(&browser, &cell).await;
    wait_for_text(
        &browser,
        "[data-test=outside-interval]",
        "超出历史支持的区间",
    )
    .await;
    let hint = text_of(&browser, "[data-test=outside-interval]").await;
    assert!(hint.contains(&format!("{low}–{high}")), "{hint}");
    // Back inside: the hint goes.
    element(&browser, "[data-test=cell-editor]")
        .await
        .send_keys(&format!("{high}{}", char::from(Key::Enter)))
        .await
        .expect("type");
    click(&browser, &cell).await;
    wait_for_text(&browser, &cell, &high.to_string()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while browser
        .client
        .find(fantoccini::Locator::Css("[data-test=outside-interval]"))
        .await
        .is_ok()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the hint goes when the value is inside"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;
}
