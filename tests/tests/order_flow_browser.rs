//! Orders flowing on, in headless Chromium: a retailer's order is locked
//! when its window closes; the marketing center opens 货源与订单 → 订单导出
//! 与到货, downloads the day's orders by their Excel link, marks them
//! exported and loads the delivery file back. Until the delivery is loaded
//! the retailer's next proposal counts the order as stock (已订未到); after
//! it, no longer. The fill rate tab shows the period's totals, its weekly
//! chart and downloads its workbook.

use calamine::{DataType, Reader};
use chrono::NaiveDate;
use domain::replenishment::fill_rate::FillRateReport;
use domain::replenishment::{PolicyView, ProposalView, Reason, RetailerSettingsView};
use e2e::{
    accept, caller, click, downloaded, element, sign_in_at, spawn_app, text_of, wait_for_text,
    Backend, Browser, Caller, TestApp,
};
use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;

/// Today in China, as the server counts order days.
fn today_china() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

async fn proposal(app: &TestApp, me: &Caller, id: i64) -> ProposalView {
    me.get_json(app, &format!("/api/replenishment/retailers/{id}/proposal"))
        .await
}

/// The retailer sets a spec it is out of and orders two cartons of it for
/// its window: (order date, spec id, cartons ordered).
async fn confirm_an_order(app: &TestApp, me: &Caller, id: i64) -> (NaiveDate, i64, i64) {
    let view: RetailerSettingsView = me
        .get_json(app, &format!("/api/replenishment/retailers/{id}"))
        .await;
    let spec = view
        .terms
        .iter()
        .find(|t| t.orderable && !t.scarce && t.order_multiple == 1 && t.class_cap >= 6)
        .expect("an orderable spec");
    let upper = spec.class_cap.min(12);
    let saved = me
        .send(
            app,
            Method::PUT,
            &format!("/api/replenishment/retailers/{id}/settings"),
            json!({ "version": view.version, "settings": [
                { "spec_id": spec.spec_id, "stock": 0, "lower": upper, "upper": upper, "weekly_turnover": 0 }
            ] }),
        )
        .await;
    assert_eq!(saved.status(), 200);
    let proposed = proposal(app, me, id).await;
    let line = &proposed.lines[0];
    assert_eq!(
        line.quantity, upper,
        "an empty shelf orders up to the upper limit"
    );
    // Two cartons only: the next proposal still orders the spec, beside
    // the two on their way.
    let confirmed = me
        .send(
            app,
            Method::POST,
            &format!("/api/replenishment/retailers/{id}/orders"),
            json!({ "order_date": proposed.order_date,
                    "lines": [{ "spec_id": line.spec_id, "quantity": 2 }] }),
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    (proposed.order_date, line.spec_id, 2)
}

/// The center moves the cutoff so that the window of `date` has closed
/// (one day more before the order day than `date` is ahead of today).
async fn lock(app: &TestApp, date: NaiveDate) {
    let center = caller(app, "center").await;
    let view: PolicyView = center.get_json(app, "/api/replenishment/policy").await;
    let mut policy = view.policy;
    policy.cutoff_days_before =
        u32::try_from((date - today_china()).num_days() + 1).expect("days ahead");
    let moved = center
        .send(
            app,
            Method::PATCH,
            "/api/replenishment/policy",
            json!({ "version": view.version, "policy": policy }),
        )
        .await;
    assert_eq!(moved.status(), 200);
}

/// On a 375 px phone the page itself does not scroll sideways (wide
/// tables scroll inside their own box).
async fn assert_no_sideways_scroll(browser: &Browser) {
    let fits = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(
        fits,
        serde_json::Value::Bool(true),
        "no page-level sideways scroll"
    );
}

/// Waits for a download whose name starts with `prefix`.
async fn downloaded_named(browser: &Browser, prefix: &str) -> std::path::PathBuf {
    let deadline = std::time::Instant::now() + e2e::WAIT;
    loop {
        let found = std::fs::read_dir(browser.downloads())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".xlsx"))
            });
        if let Some(file) = found {
            return file;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{prefix}….xlsx was downloaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The texts of the retailer's reason chips on its proposal page.
async fn reason_chips(app: &TestApp, login: &str) -> Vec<String> {
    let browser = Browser::start().await;
    sign_in_at(&browser, app, "/", login).await;
    click(&browser, "[data-test=link-replenishment]").await;
    click(&browser, "[data-test=tab-proposal]").await;
    element(&browser, "[data-test=reason]").await;
    let mut texts = Vec::new();
    for chip in browser
        .client
        .find_all(Locator::Css("[data-test=reason]"))
        .await
        .expect("chips")
    {
        texts.push(chip.text().await.unwrap_or_default());
    }
    browser.close().await;
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_orders_export_deliveries_load_back_and_the_next_proposal_nets_them() {
    let app = spawn_app(Backend::Sqlite).await;
    let login = app.retailer_login(0).await;
    let me = caller(&app, &login).await;
    let id = me.info.retailer_id.expect("a retailer");
    let (date, spec, cartons) = confirm_an_order(&app, &me, id).await;
    lock(&app, date).await;
    let (licence, code): (String, String) = sqlx::query_as(
        "SELECT r.licence_no, s.code FROM retailers r, specs s WHERE r.id = $1 AND s.id = $2",
    )
    .bind(id)
    .bind(spec)
    .fetch_one(&app.db().pool)
    .await
    .expect("query");

    // Locked and not delivered: the next window's proposal counts it.
    let next = proposal(&app, &me, id).await;
    assert!(next.order_date > date, "the window moved on");
    assert_eq!(
        next.on_order
            .iter()
            .map(|o| (o.spec_id, o.cartons))
            .collect::<Vec<_>>(),
        [(spec, cartons)]
    );
    let line = next
        .lines
        .iter()
        .find(|l| l.spec_id == spec)
        .expect("the spec");
    assert!(
        line.reasons.contains(&Reason::OnOrder { cartons }),
        "{line:?}"
    );
    let chips = reason_chips(&app, &login).await;
    assert!(
        chips.contains(&format!("已订未到 {cartons} 条，计入库存")),
        "the retailer sees why: {chips:?}"
    );

    // The center exports, marks and loads the deliveries in the browser.
    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/", "center").await;
    click(&browser, "[data-test=link-supply]").await;
    click(&browser, "[data-test=tab-orders]").await;
    let row = format!("[data-test=order-day][data-date='{date}']");
    wait_for_text(&browser, &format!("{row} [data-test=day-status]"), "已截止").await;
    wait_for_text(&browser, &format!("{row} [data-test=day-confirmed]"), "1").await;
    assert_no_sideways_scroll(&browser).await;
    click(&browser, &format!("{row} [data-test=export-xlsx]")).await;
    let file = downloaded(&browser, "xlsx").await;
    let mut book = calamine::open_workbook_auto(&file).expect("the workbook opens");
    let range = book.worksheet_range_at(0).expect("a sheet").expect("range");
    let rows: Vec<_> = range.rows().collect();
    assert_eq!(rows[0][2].to_string(), "许可证号");
    assert_eq!(rows.len(), 2, "one line: the retailer × the spec");
    assert_eq!(rows[1][0].to_string(), date.to_string());
    assert_eq!(rows[1][2].to_string(), licence);
    assert_eq!(rows[1][5].to_string(), code);
    assert_eq!(rows[1][7].as_f64(), Some(cartons as f64));

    click(&browser, &format!("{row} [data-test=mark-exported]")).await;
    accept(&browser).await;
    wait_for_text(
        &browser,
        "[data-test=orders-notice]",
        "1 张订单已标记为已导出",
    )
    .await;
    wait_for_text(&browser, &format!("{row} [data-test=day-exported]"), "1").await;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("到货.csv");
    std::fs::write(
        &path,
        format!("订货日期,许可证号,品规编码,到货数量\n{date},{licence},{code},{cartons}\n"),
    )
    .expect("write the file");
    element(&browser, "[data-test=deliveries-file]")
        .await
        .send_keys(&path.display().to_string())
        .await
        .expect("choose the file");
    wait_for_text(&browser, "[data-test=deliveries-loaded]", "已导入到货 1 行").await;
    wait_for_text(
        &browser,
        &format!("{row} [data-test=day-delivered]"),
        &format!("1 / {cartons}"),
    )
    .await;

    // The fill rate of the last 8 weeks: the totals the API reads, the
    // weekly chart, and the workbook by its link.
    let center = caller(&app, "center").await;
    let report: FillRateReport = center.get_json(&app, "/api/replenishment/fill-rate").await;
    click(&browser, "[data-test=tab-fill-rate]").await;
    element(&browser, "[data-test=fill-rate] svg.bar-chart").await;
    wait_for_text(
        &browser,
        "[data-test=fill-wanted]",
        &report.total.wanted.to_string(),
    )
    .await;
    assert_eq!(
        text_of(&browser, "[data-test=fill-wanted]").await,
        report.total.wanted.to_string()
    );
    assert_no_sideways_scroll(&browser).await;
    click(&browser, "[data-test=fill-export]").await;
    let book = downloaded_named(&browser, "fill-rate-").await;
    let book = calamine::open_workbook_auto(&book).expect("the workbook opens");
    assert_eq!(book.sheet_names(), ["品规×档位", "按周"]);
    browser.close().await;

    // Delivered: no longer on order.
    let after = proposal(&app, &me, id).await;
    assert!(after.on_order.is_empty(), "{:?}", after.on_order);
    assert!(after.lines.iter().all(|l| !l
        .reasons
        .iter()
        .any(|r| matches!(r, Reason::OnOrder { .. }))));
    let chips = reason_chips(&app, &login).await;
    assert!(!chips.iter().any(|c| c.contains("已订未到")), "{chips:?}");
}
