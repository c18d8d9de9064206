//! The forecast pages in headless Chromium: the marketing center opens a
//! one-third sample cycle; a customer manager types, pastes, reloads, is
//! stopped by a missing reason, submits and is locked out; and the grid's
//! size and input latency on a full 9,000-cell sheet (printed).

use std::time::{Duration, Instant};

use domain::forecast::{in_scope, Scope};
use e2e::forecast::{approve_by, move_cycle, open_cycle, submit_every_cell};
use e2e::{
    accept, caller, click, element, spawn_app, spawn_app_scaled, text_of, wait_for_text, Backend,
    Browser, Scale, TestApp, DEMO_PASSWORD,
};
use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::json;

async fn sign_in(browser: &Browser, app: &TestApp, login: &str) {
    let c = &browser.client;
    c.goto(&app.url("/login")).await.expect("open sign-in page");
    element(browser, "[data-test=login]")
        .await
        .send_keys(login)
        .await
        .expect("type account");
    element(browser, "[data-test=password]")
        .await
        .send_keys(DEMO_PASSWORD)
        .await
        .expect("type password");
    element(browser, "[data-test=submit]")
        .await
        .click()
        .await
        .expect("sign in");
    element(browser, "[data-test=home]").await;
}

/// Types into the grid's editor (which holds the keyboard focus).
async fn keys(browser: &Browser, text: &str) {
    element(browser, "[data-test=cell-editor]")
        .await
        .send_keys(text)
        .await
        .expect("type");
}

/// A desktop-sized browser signed in as `login`.
async fn signed_in(app: &TestApp, login: &str) -> Browser {
    let browser = Browser::start().await;
    desktop(&browser).await;
    sign_in(&browser, app, login).await;
    browser
}

async fn desktop(browser: &Browser) {
    browser
        .client
        .set_window_size(1280, 900)
        .await
        .expect("window size");
}

async fn open_sheet(browser: &Browser, app: &TestApp) {
    browser
        .client
        .goto(&app.url("/forecast"))
        .await
        .expect("forecast page");
    click(browser, "[data-test=open-sheet]").await;
    element(browser, "[data-test=cell-0-0]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_manager_types_pastes_reloads_gives_a_reason_and_submits() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 4).await;
    let browser = signed_in(&app, "cm01").await;
    open_sheet(&browser, &app).await;

    // Keyboard: typing replaces, Enter moves down, Tab moves right.
    click(&browser, "[data-test=cell-0-0]").await;
    keys(&browser, &format!("7{}", char::from(Key::Enter))).await;
    keys(&browser, &format!("8{}", char::from(Key::Tab))).await;
    keys(&browser, &format!("9{}", char::from(Key::Enter))).await;
    wait_for_text(&browser, "[data-test=cell-0-0]", "7").await;
    assert_eq!(text_of(&browser, "[data-test=cell-1-0]").await, "8");
    assert_eq!(text_of(&browser, "[data-test=cell-1-1]").await, "9");

    // A 3 × 4 block as Excel puts it on the clipboard, pasted at row 2.
    click(&browser, "[data-test=cell-2-0]").await;
    browser
        .client
        .execute(
            "const data = new DataTransfer(); data.setData('text/plain', arguments[0]);
             document.querySelector('[data-test=cell-editor]').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));",
            vec![json!("1\t2\t3\t4\r\n5\t6\t7\t8\r\n9\t10\t11\t12\r\n")],
        )
        .await
        .expect("paste");
    wait_for_text(&browser, "[data-test=cell-4-3]", "12").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;

    // After a reload the values come from the server.
    browser.client.refresh().await.expect("reload");
    element(&browser, "[data-test=cell-0-0]").await;
    for (cell, value) in [
        ("0-0", "7"),
        ("1-1", "9"),
        ("2-0", "1"),
        ("3-2", "7"),
        ("4-3", "12"),
    ] {
        wait_for_text(&browser, &format!("[data-test=cell-{cell}]"), value).await;
    }
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM forecast_lines WHERE entered IS NOT NULL")
            .fetch_one(&app.db().pool)
            .await
            .expect("count");
    assert_eq!(stored, 15);

    // Everything from the baseline (select all, fill), then one cell far
    // above it.
    click(&browser, "[data-test=cell-0-0]").await;
    keys(
        &browser,
        &format!("{}a{}", char::from(Key::Control), char::from(Key::Null)),
    )
    .await;
    click(&browser, "[data-test=fill-baseline]").await;
    wait_for_text(&browser, "[data-test=filled]", "24/24").await;
    click(&browser, "[data-test=cell-5-2]").await;
    // The sanity bound is far enough above the baseline to need a reason.
    let far: i64 = text_of(&browser, "[data-test=helper-bound]")
        .await
        .parse()
        .expect("bound");
    keys(&browser, &format!("{far}{}", char::from(Key::Enter))).await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;

    click(&browser, "[data-test=submit-sheet]").await;
    wait_for_text(&browser, "[data-test=sheet-error]", "1 格").await;
    wait_for_text(&browser, "[data-test=cell-problem]", "原因").await;
    assert_eq!(text_of(&browser, "[data-test=sheet-status]").await, "草稿");
    let reason = element(&browser, "[data-test=reason-input]").await;
    reason
        .send_keys("新店开业，节前备货")
        .await
        .expect("type reason");
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    click(&browser, "[data-test=submit-sheet]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=sheet-status]", "已提交").await;

    // Read-only now: typing changes nothing, and the server agrees.
    click(&browser, "[data-test=cell-0-1]").await;
    let before = text_of(&browser, "[data-test=cell-0-1]").await;
    keys(&browser, &format!("55{}", char::from(Key::Enter))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(text_of(&browser, "[data-test=cell-0-1]").await, before);
    let submit_enabled = element(&browser, "[data-test=submit-sheet]")
        .await
        .is_enabled()
        .await
        .expect("enabled");
    assert!(!submit_enabled);
    let (status, reason): (String, Option<String>) = sqlx::query_as(
        "SELECT s.status, l.reason FROM forecast_sheets s JOIN forecast_lines l ON l.sheet_id = s.id \
         JOIN users u ON u.id = s.manager_id WHERE u.login = 'cm01' AND s.cycle_id = $1 AND l.entered = $2 AND l.reason IS NOT NULL",
    )
    .bind(cycle.id)
    .bind(far)
    .fetch_one(&app.db().pool)
    .await
    .expect("the submitted line");
    assert_eq!(status, "submitted");
    assert_eq!(reason.as_deref(), Some("新店开业，节前备货"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_center_opens_a_cycle_changes_it_to_the_sample_and_a_manager_sees_only_sampled_retailers(
) {
    let app = spawn_app(Backend::Sqlite).await;
    let center = signed_in(&app, "center").await;
    center
        .client
        .goto(&app.url("/forecast"))
        .await
        .expect("forecast page");
    // Opened for every retailer, then (before any entry) changed to the sample.
    element(&center, "[data-test=specs-all]").await;
    click(&center, "[data-test=open-cycle-submit]").await;
    wait_for_text(&center, "[data-test=cycle-opened]", "已开启").await;
    wait_for_text(&center, "[data-test=cycle-scope]", "全部零售户").await;
    click(&center, "[data-test=edit-cycle]").await;
    wait_for_text(&center, "[data-test=open-cycle] h3", "修改预测").await;
    click(&center, "[data-test=scope-sample]").await;
    click(&center, "[data-test=open-cycle-submit]").await;
    wait_for_text(&center, "[data-test=cycle-opened]", "已修改").await;
    wait_for_text(&center, "[data-test=cycle-scope]", "1/3样本客户").await;
    center.close().await;

    let month: String = sqlx::query_scalar("SELECT month FROM forecast_cycles")
        .fetch_one(&app.db().pool)
        .await
        .expect("the cycle");
    let month = month.parse().expect("month");
    let retailers: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.login, r.licence_no FROM retailers r JOIN users u ON u.id = r.manager_id ORDER BY r.id",
    )
    .fetch_all(&app.db().pool)
    .await
    .expect("retailers");
    assert!(
        retailers
            .iter()
            .any(|(_, l)| !in_scope(Scope::Sample, month, l)),
        "some retailers are left out"
    );
    // The manager with the most sampled retailers.
    let mut sampled: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (login, licence) in &retailers {
        if in_scope(Scope::Sample, month, licence) {
            sampled
                .entry(login.as_str())
                .or_default()
                .push(licence.as_str());
        }
    }
    let (login, mut expected) = sampled
        .into_iter()
        .max_by_key(|(_, v)| v.len())
        .expect("a sampled retailer");
    expected.sort_unstable();

    let manager = signed_in(&app, login).await;
    open_sheet(&manager, &app).await;
    let labels = manager
        .client
        .find_all(Locator::Css(".row-label"))
        .await
        .expect("rows");
    let mut shown = Vec::new();
    for label in labels {
        shown.push(
            label
                .attr("title")
                .await
                .expect("title")
                .unwrap_or_default(),
        );
    }
    shown.sort_unstable();
    assert_eq!(
        shown, expected,
        "{login} sees exactly the sampled retailers"
    );
    manager.close().await;
}

/// Not a timing assertion: prints how the grid behaves on a full sheet
/// and checks only that it renders a window of the cells, not all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sheet_renders_only_the_cells_in_view() {
    let app = spawn_app_scaled(Backend::Sqlite, Scale::County).await;
    open_cycle(&app, Scope::All, 60).await;
    let browser = signed_in(&app, "cm01").await;
    browser
        .client
        .goto(&app.url("/forecast"))
        .await
        .expect("forecast page");
    let started = Instant::now();
    click(&browser, "[data-test=open-sheet]").await;
    element(&browser, "[data-test=cell-0-0]").await;
    let loaded = started.elapsed();
    let total = text_of(&browser, "[data-test=filled]").await;
    let cells = total
        .split('/')
        .nth(1)
        .unwrap_or("0")
        .trim()
        .parse::<usize>()
        .expect("cell count");
    assert!(cells >= 9_000, "a full sheet: {total}");
    let rendered = browser
        .client
        .find_all(Locator::Css(".cell"))
        .await
        .expect("cells")
        .len();
    assert!(
        rendered > 50 && rendered < cells / 5,
        "{rendered} of {cells} cells in the page"
    );

    click(&browser, "[data-test=cell-0-0]").await;
    let figures = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const editor = document.querySelector('[data-test=cell-editor]');
             const grid = document.querySelector('[data-test=grid]');
             const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
             (async () => {
               const commit = [];
               for (let i = 0; i < 40; i++) {
                 const t0 = performance.now();
                 editor.value = String(i % 9 + 1);
                 editor.dispatchEvent(new Event('input', { bubbles: true }));
                 editor.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
                 await frame();
                 commit.push(performance.now() - t0);
               }
               const scroll = [];
               for (let i = 1; i <= 20; i++) {
                 const t0 = performance.now();
                 grid.scrollTop = i * 150; grid.scrollLeft = i * 90;
                 grid.dispatchEvent(new Event('scroll'));
                 await frame();
                 scroll.push(performance.now() - t0);
               }
               const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
               done({ commit50: q(commit, 0.5), commit95: q(commit, 0.95), scroll50: q(scroll, 0.5), scroll95: q(scroll, 0.95),
                      rendered: document.querySelectorAll('.cell').length });
             })();",
            vec![],
        )
        .await
        .expect("measure");
    println!(
        "grid on a full sheet: {cells} cells, {rendered} rendered at load ({} after scrolling); sheet opened in {} ms; \
         type+Enter to next frame p50 {:.1} ms, p95 {:.1} ms; scroll to next frame p50 {:.1} ms, p95 {:.1} ms",
        figures["rendered"],
        loaded.as_millis(),
        figures["commit50"].as_f64().unwrap_or(f64::NAN),
        figures["commit95"].as_f64().unwrap_or(f64::NAN),
        figures["scroll50"].as_f64().unwrap_or(f64::NAN),
        figures["scroll95"].as_f64().unwrap_or(f64::NAN),
    );
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM forecast_lines")
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    assert_eq!(stored, 40, "every committed cell reached the server");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_draft_survives_a_reload_and_never_overwrites_newer_server_data() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 3).await;
    let browser = signed_in(&app, "cm01").await;
    open_sheet(&browser, &app).await;
    click(&browser, "[data-test=cell-0-0]").await;
    keys(&browser, &format!("4{}", char::from(Key::Enter))).await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;

    // The connection drops: the change stays on the device.
    browser
        .client
        .execute(
            "window.fetch = () => Promise.reject(new TypeError('offline'));",
            vec![],
        )
        .await
        .expect("go offline");
    click(&browser, "[data-test=cell-1-0]").await;
    keys(&browser, &format!("6{}", char::from(Key::Enter))).await;
    wait_for_text(&browser, "[data-test=save-status]", "已存在本机").await;
    let stored = |row: usize| {
        let app = &app;
        async move {
            let cm = caller(app, "cm01").await;
            let sheet: domain::forecast::view::SheetView = cm
                .get_json(app, &format!("/api/forecast/cycles/{}/sheet", cycle.id))
                .await;
            (
                sheet.value[sheet.index(row, 0)],
                sheet.revision[sheet.index(row, 0)],
                sheet,
            )
        }
    };
    assert_eq!(stored(1).await.0, None, "not on the server yet");

    // A reload (the connection is back): the draft is restored and sent.
    browser.client.refresh().await.expect("reload");
    wait_for_text(&browser, "[data-test=sheet-note]", "已恢复 1 格").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    assert_eq!(stored(1).await.0, Some(6));

    // Offline again, a change to cell 0-0; meanwhile the same cell changes
    // on the server (another tab).
    browser
        .client
        .execute(
            "window.fetch = () => Promise.reject(new TypeError('offline'));",
            vec![],
        )
        .await
        .expect("go offline");
    click(&browser, "[data-test=cell-0-0]").await;
    keys(&browser, &format!("5{}", char::from(Key::Enter))).await;
    wait_for_text(&browser, "[data-test=save-status]", "已存在本机").await;
    let (_, revision, sheet) = stored(0).await;
    let cm = caller(&app, "cm01").await;
    let other_tab = cm
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/forecast/cycles/{}/sheet/cells", cycle.id),
            json!({ "cells": [{ "retailer_id": sheet.rows[0].retailer_id, "spec_id": sheet.specs[0].spec_id, "value": 9, "base_revision": revision }] }),
        )
        .await;
    assert_eq!(other_tab.status(), 200);

    // Back online after a reload: the conflict is shown, not written over.
    browser.client.refresh().await.expect("reload");
    element(&browser, "[data-test=take-server]").await;
    assert_eq!(
        text_of(&browser, "[data-test=save-status]").await,
        "1 格与服务器上更新的数据冲突"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(stored(0).await.0, Some(9), "the newer server value is kept");
    click(&browser, "[data-test=take-server]").await;
    wait_for_text(&browser, "[data-test=cell-0-0]", "9").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    assert_eq!(stored(0).await.0, Some(9));
    browser.close().await;
}

/// Signs out (drops the session cookie) and signs in as `login`.
async fn switch_to(browser: &Browser, app: &TestApp, login: &str) {
    browser
        .client
        .delete_all_cookies()
        .await
        .expect("clear cookies");
    sign_in(browser, app, login).await;
}

async fn open_review(browser: &Browser, app: &TestApp, sheet_id: i64) {
    browser
        .client
        .goto(&app.url(&format!("/reviews/{sheet_id}")))
        .await
        .expect("review page");
    element(browser, "[data-test=review-stage]").await;
}

async fn approve_in_browser(
    browser: &Browser,
    app: &TestApp,
    login: &str,
    sheet_id: i64,
    next: &str,
) {
    switch_to(browser, app, login).await;
    open_review(browser, app, sheet_id).await;
    click(browser, "[data-test=approve]").await;
    accept(browser).await;
    wait_for_text(browser, "[data-test=review-notice]", next).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sheet_is_corrected_returned_resubmitted_and_approved_up_the_chain() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;

    // The customer manager fills the sheet from the baseline and submits.
    let browser = signed_in(&app, "cm01").await;
    open_sheet(&browser, &app).await;
    click(&browser, "[data-test=fill-baseline]").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    click(&browser, "[data-test=submit-sheet]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=sheet-status]", "已提交").await;
    let sheet_id: i64 = sqlx::query_scalar(
        "SELECT s.id FROM forecast_sheets s JOIN users u ON u.id = s.manager_id \
         WHERE s.cycle_id = $1 AND u.login = 'cm01'",
    )
    .bind(cycle.id)
    .fetch_one(&app.db().pool)
    .await
    .expect("sheet");

    // The market manager finds it waiting, corrects the first line (the
    // largest deviation) with a reason, and approves it upward.
    switch_to(&browser, &app, "mm01").await;
    click(&browser, "[data-test=link-reviews]").await;
    click(
        &browser,
        &format!("[data-test=inbox-{sheet_id}] [data-test=open-review]"),
    )
    .await;
    wait_for_text(&browser, "[data-test=review-stage]", "第1级").await;
    let before = text_of(&browser, "[data-test=line-0] [data-test=line-value]").await;
    let before: i64 = before.trim().parse().expect("a number");
    let corrected = before + 6;
    click(&browser, "[data-test=line-0] [data-test=line-correct]").await;
    let value = element(&browser, "[data-test=correct-value]").await;
    value.clear().await.expect("clear");
    value.send_keys(&corrected.to_string()).await.expect("type");
    click(&browser, "[data-test=correct-save]").await;
    wait_for_text(&browser, "[data-test=correct-error]", "修正须填写原因").await;
    element(&browser, "[data-test=correct-reason]")
        .await
        .send_keys("新店开业，加大备货")
        .await
        .expect("type reason");
    click(&browser, "[data-test=correct-save]").await;
    wait_for_text(
        &browser,
        "[data-test=line-0] [data-test=line-value]",
        &corrected.to_string(),
    )
    .await;
    click(&browser, "[data-test=approve]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=review-notice]", "第2级").await;

    // The county approves; the marketing center returns it with a comment.
    approve_in_browser(&browser, &app, "county", sheet_id, "第3级").await;
    switch_to(&browser, &app, "center").await;
    open_review(&browser, &app, sheet_id).await;
    let comment = "新店备货偏高，请与零售户再确认";
    element(&browser, "[data-test=review-comment]")
        .await
        .send_keys(comment)
        .await
        .expect("comment");
    click(&browser, "[data-test=return]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=review-notice]", "已退回").await;

    // The manager sees the comment and the corrected line, and resubmits.
    switch_to(&browser, &app, "cm01").await;
    open_sheet(&browser, &app).await;
    wait_for_text(&browser, "[data-test=return-comment]", comment).await;
    wait_for_text(&browser, "[data-test=corrected-count]", "1 行").await;
    click(&browser, ".cell.corrected").await;
    wait_for_text(
        &browser,
        "[data-test=helper-correction]",
        "新店开业，加大备货",
    )
    .await;
    wait_for_text(
        &browser,
        "[data-test=helper-correction]",
        &format!("{before} → {corrected}"),
    )
    .await;
    click(&browser, "[data-test=submit-sheet]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=sheet-status]", "已提交").await;

    // Both levels below approve again, then the center's approval is final.
    approve_in_browser(&browser, &app, "mm01", sheet_id, "第2级").await;
    approve_in_browser(&browser, &app, "county", sheet_id, "第3级").await;
    approve_in_browser(&browser, &app, "center", sheet_id, "已审批").await;
    element(&browser, "[data-test=locked]").await;
    assert!(
        browser
            .client
            .find(Locator::Css("[data-test=approve]"))
            .await
            .is_err(),
        "nothing left to approve"
    );
    // The line's history shows every step.
    let filter = element(&browser, "[data-test=review-filter]").await;
    filter
        .select_by_value("corrected")
        .await
        .expect("only corrected lines");
    wait_for_text(&browser, "[data-test=review-lines]", "✎1").await;
    click(&browser, "[data-test=line-0] [data-test=line-history]").await;
    wait_for_text(&browser, "[data-test=history-entered]", &before.to_string()).await;
    wait_for_text(
        &browser,
        "[data-test=history-correction]",
        &format!("{before} → {corrected}"),
    )
    .await;
    wait_for_text(
        &browser,
        "[data-test=history-correction]",
        "新店开业，加大备货",
    )
    .await;
    wait_for_text(
        &browser,
        "[data-test=history-final]",
        &corrected.to_string(),
    )
    .await;
    let actions = text_of(&browser, "[data-test=review-actions]").await;
    assert_eq!(actions.matches("审核通过").count(), 5, "{actions}");
    assert!(actions.contains(comment), "{actions}");

    // The data is locked for the manager too.
    let (status, locked): (String, i64) = sqlx::query_as(
        "SELECT s.status, (SELECT COUNT(*) FROM forecast_lines l WHERE l.sheet_id = s.id AND l.final_value IS NULL) \
         FROM forecast_sheets s WHERE s.id = $1",
    )
    .bind(sheet_id)
    .fetch_one(&app.db().pool)
    .await
    .expect("sheet");
    assert_eq!((status.as_str(), locked), ("approved", 0));

    // The dashboard shows the approved total and the charts.
    let approved: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(final_value) AS BIGINT) FROM forecast_lines WHERE sheet_id = $1",
    )
    .bind(sheet_id)
    .fetch_one(&app.db().pool)
    .await
    .expect("approved");
    browser
        .client
        .goto(&app.url("/forecast"))
        .await
        .expect("forecast page");
    click(&browser, "[data-test=open-dashboard]").await;
    wait_for_text(
        &browser,
        "[data-test=total-approved]",
        &approved.to_string(),
    )
    .await;
    let bars = browser
        .client
        .find_all(Locator::Css("svg.bar-chart rect.bar"))
        .await
        .expect("bars");
    assert!(bars.len() >= 3, "a bar per series and spec: {}", bars.len());
    element(&browser, "svg.line-chart polyline").await;
    wait_for_text(&browser, "[data-test=dashboard-progress]", "已审批").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actuals_are_imported_and_the_accuracy_page_shows_the_hand_computed_figure() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    // cm01 forecasts 10 of each spec for each retailer; the chain approves.
    let view = submit_every_cell(&app, cycle.id, "cm01", 10).await;
    approve_by(&app, view.sheet_id, &["mm01", "county", "center"]).await;
    // The month has since ended: it becomes the last month of the history.
    move_cycle(&app, cycle.id, e2e::demo_end()).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (&view.specs[0].code, &view.specs[1].code);
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!(
            "licence_no,spec_code,cartons\n{},{a},8\nNOPE,{a},3\n",
            view.rows[0].licence_no
        ),
    )
    .expect("write");
    // A = 8 of the first spec and 12 of the second; F = 10 everywhere:
    // accuracy = 1 − Σ|F − A| / ΣA = 1 − (2 + 2)·n / (20·n) = 80.0 %.
    let mut csv = String::from("licence_no,spec_code,cartons\n");
    for row in &view.rows {
        csv += &format!("{},{a},8\n{},{b},12\n", row.licence_no, row.licence_no);
    }
    let good = dir.path().join("actuals.csv");
    std::fs::write(&good, csv).expect("write");

    let browser = signed_in(&app, "center").await;
    browser
        .client
        .goto(&app.url("/forecast"))
        .await
        .expect("forecast page");
    click(&browser, "[data-test=open-accuracy]").await;
    wait_for_text(&browser, "[data-test=formula]", "max(0, 1 − Σ|F − A| / ΣA)").await;
    element(&browser, "[data-test=actuals-file]")
        .await
        .send_keys(&bad.display().to_string())
        .await
        .expect("choose the bad file");
    wait_for_text(&browser, "[data-test=actuals-errors]", "第 3 行").await;
    wait_for_text(&browser, "[data-test=actuals-errors]", "NOPE").await;
    element(&browser, "[data-test=actuals-file]")
        .await
        .send_keys(&good.display().to_string())
        .await
        .expect("choose the file");
    wait_for_text(
        &browser,
        "[data-test=actuals-loaded]",
        &format!("{} 行", view.rows.len() * 2),
    )
    .await;
    wait_for_text(&browser, "[data-test=accuracy-approved]", "80.0%").await;
    wait_for_text(&browser, "[data-test=accuracy-specs]", "75.0%").await;
    wait_for_text(&browser, "[data-test=accuracy-specs]", "83.3%").await;
    wait_for_text(&browser, "[data-test=accuracy-managers]", "80.0%").await;
    wait_for_text(&browser, "[data-test=accuracy-lines]", "25.0%").await;
    browser.close().await;
}
