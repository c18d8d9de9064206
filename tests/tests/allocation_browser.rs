//! 货源投放 in headless Chromium, as people use it: the marketing center
//! opens 货源与订单 from its home page, goes to 货源投放, is told at the
//! field when the supply is missing, picks a scarce spec, a period covering
//! a retailer's next order day and a supply, previews the caps per class,
//! publishes (accepting the confirmation) and downloads the month's
//! release plan by its link; then the retailer signs in and its
//! replenishment page shows the new cap and its period.

use calamine::Reader;
use chrono::Days;
use domain::replenishment::RetailerSettingsView;
use e2e::{
    accept, caller, click, downloaded, element, sign_in_at, spawn_app, text_of, type_into,
    wait_for_text, Backend, Browser,
};
use reqwest::Method;
use serde_json::{json, Value};

/// Sets a date input as the date picker would, and tells the page.
async fn set_date(browser: &Browser, css: &str, date: chrono::NaiveDate) {
    let input = element(browser, css).await;
    browser
        .client
        .execute(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change', { bubbles: true }));",
            vec![serde_json::to_value(&input).expect("element"), json!(date.to_string())],
        )
        .await
        .expect("set the date");
}

/// The page itself does not scroll sideways on a phone (wide tables
/// scroll inside their own box).
async fn fits(browser: &Browser) {
    let fits = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(fits, json!(true), "no page-level sideways scroll");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_center_allocates_a_scarce_spec_and_the_retailer_sees_its_cap_and_period() {
    let app = spawn_app(Backend::Sqlite).await;
    let pool = &app.db().pool;
    let (spec, spec_name): (i64, String) =
        sqlx::query_as("SELECT id, name FROM specs WHERE scarce = 1 ORDER BY id LIMIT 1")
            .fetch_one(pool)
            .await
            .expect("a scarce spec");
    let shop_login = app.retailer_login(0).await;
    let (retailer, class, manager, label): (i64, String, String, String) = sqlx::query_as(
        "SELECT r.id, r.class_code, m.login, c.label FROM users u JOIN retailers r ON r.id = u.retailer_id \
         JOIN users m ON m.id = r.manager_id JOIN customer_classes c ON c.code = r.class_code WHERE u.login = $1",
    )
    .bind(&shop_login)
    .fetch_one(pool)
    .await
    .expect("the retailer");
    // The retailer's customer manager records its turnover of the spec: 37
    // a week, far above the spec's standing cap.
    let cm = caller(&app, &manager).await;
    let path = format!("/api/replenishment/retailers/{retailer}");
    let view: RetailerSettingsView = cm.get_json(&app, &path).await;
    let mut settings: Vec<Value> = view
        .settings
        .iter()
        .filter(|s| s.spec_id != spec)
        .map(|s| serde_json::to_value(s).expect("json"))
        .collect();
    settings.push(
        json!({ "spec_id": spec, "stock": 0, "lower": 0, "upper": 1, "weekly_turnover": 37 }),
    );
    let saved = cm
        .send(
            &app,
            Method::PUT,
            &format!("{path}/settings"),
            json!({ "version": view.version, "settings": settings }),
        )
        .await;
    assert_eq!(saved.status(), 200);
    let order_day = view.next_order_date;
    let standing = view
        .terms
        .iter()
        .find(|t| t.spec_id == spec)
        .expect("terms")
        .class_cap;
    let to = order_day.checked_add_days(Days::new(6)).expect("date");

    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/", "center").await;
    click(&browser, "[data-test=link-supply]").await;
    click(&browser, "[data-test=tab-allocation]").await;
    element(
        &browser,
        &format!("[data-test=alloc-spec] option[value='{spec}']"),
    )
    .await;
    let option = text_of(
        &browser,
        &format!("[data-test=alloc-spec] option[value='{spec}']"),
    )
    .await;
    assert!(option.contains("紧俏"), "scarce specs are marked: {option}");
    element(&browser, "[data-test=alloc-spec]")
        .await
        .select_by_value(&spec.to_string())
        .await
        .expect("pick the spec");
    set_date(&browser, "[data-test=alloc-from]", order_day).await;
    set_date(&browser, "[data-test=alloc-to]", to).await;
    // No supply yet: said at the field, in Chinese.
    click(&browser, "[data-test=alloc-preview]").await;
    wait_for_text(&browser, "[data-test=error-supply]", "请填写可投放量").await;
    type_into(&browser, "[data-test=alloc-supply]", "100000").await;
    click(&browser, "[data-test=rule-tier]").await;
    click(&browser, "[data-test=alloc-preview]").await;
    let row =
        format!("[data-test=alloc-preview-table] [data-test=alloc-class][data-class='{class}']");
    wait_for_text(&browser, &row, &label).await;
    let rows = browser
        .client
        .find_all(fantoccini::Locator::Css(
            "[data-test=alloc-preview-table] tbody tr",
        ))
        .await
        .expect("rows");
    let classes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customer_classes")
        .fetch_one(pool)
        .await
        .expect("classes");
    assert_eq!(rows.len() as i64, classes, "a row per class");
    element(&browser, "[data-test=alloc-chart] svg").await;
    let cap: i64 = text_of(&browser, &format!("{row} [data-test=alloc-cap]"))
        .await
        .parse()
        .expect("a cap");
    assert!(
        cap >= 37,
        "enough supply meets the retailer's demand: {cap}"
    );
    assert_ne!(cap, standing);
    fits(&browser).await;

    click(&browser, "[data-test=alloc-publish]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=alloc-notice]", "已发布").await;
    wait_for_text(&browser, "[data-test=alloc-published]", &spec_name).await;
    wait_for_text(
        &browser,
        "[data-test=alloc-published] [data-test=alloc-status]",
        "生效",
    )
    .await;
    click(&browser, "[data-test=alloc-published] summary").await;
    element(&browser, "[data-test=alloc-caps]").await;
    fits(&browser).await;
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM allocations WHERE spec_id = $1")
        .bind(spec)
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(stored, 1, "published once");

    // The month's release plan, by its link.
    click(&browser, "[data-test=alloc-plan]").await;
    let file = downloaded(&browser, "xlsx").await;
    assert!(
        file.to_string_lossy()
            .contains(&format!("allocation-plan-{}", order_day.format("%Y-%m"))),
        "{file:?}"
    );
    let mut book = calamine::open_workbook_auto(&file).expect("workbook");
    let detail = book
        .worksheet_range("分档明细")
        .expect("the sheet by class");
    assert!(
        detail.rows().any(|r| {
            r.get(1).is_some_and(|c| c.to_string() == spec_name)
                && r.get(2)
                    .is_some_and(|c| c.to_string() == order_day.to_string())
                && r.get(4).is_some_and(|c| c.to_string() == label)
                && r.get(6).is_some_and(|c| c.to_string() == cap.to_string())
        }),
        "the plan lists the class's cap"
    );
    browser.close().await;

    // The retailer's page: the new cap and its period.
    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/", &shop_login).await;
    click(&browser, "[data-test=link-replenishment]").await;
    let card = format!(".spec-card[data-spec='{spec}']");
    wait_for_text(
        &browser,
        &format!("{card} [data-test=cap]"),
        &cap.to_string(),
    )
    .await;
    wait_for_text(
        &browser,
        &format!("{card} [data-test=cap-period]"),
        &format!("{} 至 {}", order_day.format("%m-%d"), to.format("%m-%d")),
    )
    .await;
    browser.close().await;
}
