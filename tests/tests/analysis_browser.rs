//! The 经营分析 page in headless Chromium, as people use it: the county
//! department opens the stock analysis and sees the specs above the 0.5
//! norm flagged (and only those), and downloads the table; the marketing
//! center types a sales plan, saves it, and finds it again after a reload;
//! a market manager sees their department and drills down to a manager.

use calamine::Reader;
use e2e::{
    caller, click, downloaded, element, sign_in_at, spawn_app, text_of, type_into, wait_for_text,
    Backend, Browser,
};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_county_department_sees_the_specs_above_the_norm_flagged() {
    let app = spawn_app(Backend::Sqlite).await;
    // One spec is certainly above the norm: a retailer records stock far
    // above what the whole county sells of it in a month.
    let pool = &app.db().pool;
    let latest: String = sqlx::query_scalar("SELECT MAX(month) FROM monthly_orders")
        .fetch_one(pool)
        .await
        .unwrap();
    let (retailer, spec, manager): (i64, i64, String) = sqlx::query_as(
        "SELECT s.retailer_id, s.spec_id, u.login FROM retailer_specs s \
         JOIN retailers r ON r.id = s.retailer_id JOIN users u ON u.id = r.manager_id \
         ORDER BY s.retailer_id, s.spec_id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let (sold, name): (i64, String) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(m.cartons), 0) AS BIGINT), p.name FROM specs p \
         LEFT JOIN monthly_orders m ON m.spec_id = p.id AND m.month = $2 WHERE p.id = $1 GROUP BY p.name",
    )
    .bind(spec)
    .bind(&latest)
    .fetch_one(pool)
    .await
    .unwrap();
    let who = caller(&app, &manager).await;
    let view: domain::replenishment::RetailerSettingsView = who
        .get_json(&app, &format!("/api/replenishment/retailers/{retailer}"))
        .await;
    let settings: Vec<serde_json::Value> = view
        .settings
        .iter()
        .map(|s| {
            let stock = if s.spec_id == spec {
                sold + 500
            } else {
                s.stock.get()
            };
            json!({ "spec_id": s.spec_id, "stock": stock, "lower": s.lower.get(),
                    "upper": s.upper.get(), "weekly_turnover": s.weekly_turnover.get() })
        })
        .collect();
    let saved = who
        .send(
            &app,
            Method::PUT,
            &format!("/api/replenishment/retailers/{retailer}/settings"),
            json!({ "version": view.version, "settings": settings }),
        )
        .await;
    assert_eq!(saved.status(), 200);

    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/analysis", "county").await;
    click(&browser, "[data-test=tab-stock]").await;
    element(&browser, "[data-test=spec-stock]").await;
    let rows = browser
        .client
        .find_all(fantoccini::Locator::Css("[data-test=spec-stock] tbody tr"))
        .await
        .unwrap();
    assert!(!rows.is_empty());
    let mut flagged = Vec::new();
    for row in rows {
        let test = row.attr("data-test").await.unwrap().unwrap_or_default();
        let cells = row.find_all(fantoccini::Locator::Css("td")).await.unwrap();
        let spec = cells[0].text().await.unwrap();
        let ratio = cells[3].text().await.unwrap();
        let above = test == "above-norm";
        match ratio.parse::<f64>() {
            Ok(r) => assert_eq!(above, r > 0.5, "{spec}: ratio {r}, flagged {above}"),
            Err(_) => assert_eq!(ratio, "—"),
        }
        if above {
            assert!(spec.contains("高于0.5"), "a flagged spec says so: {spec}");
            flagged.push(spec);
        }
    }
    assert!(
        flagged.iter().any(|s| s.starts_with(&name)),
        "{name} is flagged: {flagged:?}"
    );
    let count = text_of(&browser, "[data-test=above-count] strong").await;
    assert_eq!(count, flagged.len().to_string());

    // The table downloads as a workbook, by its link.
    click(&browser, "[data-test=export-stock]").await;
    let file = downloaded(&browser, "xlsx").await;
    let mut book = calamine::open_workbook_auto(&file).expect("workbook");
    let sheet = book.worksheet_range("品规库存").expect("the spec sheet");
    assert!(sheet
        .rows()
        .any(|r| r.iter().any(|c| c.to_string() == name)));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_center_types_a_plan_and_the_market_manager_drills_down() {
    let app = spawn_app(Backend::Sqlite).await;
    let year = e2e::demo_end().year();
    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/analysis", "center").await;
    click(&browser, "[data-test=tab-plans]").await;
    element(&browser, "[data-test=plan-year]").await;
    let year_input = element(&browser, "[data-test=plan-year]").await;
    year_input.clear().await.unwrap();
    year_input
        .send_keys(&format!("{year}\u{E007}"))
        .await
        .unwrap();
    type_into(&browser, "[data-test=plan-cell]", "12.5").await;
    click(&browser, "[data-test=save-plans]").await;
    element(&browser, "[data-test=plans-saved]").await;
    let stored: i64 = sqlx::query_scalar("SELECT cartons FROM sales_plans WHERE month = $1")
        .bind(format!("{year}-01"))
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(stored, 3125, "12.5 cases of 250 cartons");
    browser.client.refresh().await.unwrap();
    click(&browser, "[data-test=tab-plans]").await;
    let year_input = element(&browser, "[data-test=plan-year]").await;
    year_input.clear().await.unwrap();
    year_input
        .send_keys(&format!("{year}\u{E007}"))
        .await
        .unwrap();
    wait_for_text(&browser, "[data-test=plans] tbody tr", "").await;
    let first = element(&browser, "[data-test=plan-cell]").await;
    let mut value = String::new();
    for _ in 0..50 {
        value = first.prop("value").await.unwrap().unwrap_or_default();
        if value == "12.5" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(value, "12.5", "the plan is there after a reload");
    // Typed and not saved: leaving the tab asks, and staying keeps it.
    type_into(&browser, "[data-test=plan-cell]", "7").await;
    element(&browser, "[data-test=plans-unsaved]").await;
    click(&browser, "[data-test=tab-sales]").await;
    e2e::dismiss(&browser).await;
    let kept = element(&browser, "[data-test=plan-cell]").await;
    assert_eq!(kept.prop("value").await.unwrap().as_deref(), Some("7"));
    click(&browser, "[data-test=tab-sales]").await;
    e2e::accept(&browser).await;
    element(&browser, "[data-test=monthly]").await;

    // A block copied from a spreadsheet (with a thousands separator) pastes
    // from the cell rightwards and down, and saves.
    click(&browser, "[data-test=tab-plans]").await;
    let year_input = element(&browser, "[data-test=plan-year]").await;
    year_input.clear().await.unwrap();
    year_input
        .send_keys(&format!("{year}\u{E007}"))
        .await
        .unwrap();
    element(&browser, "[data-test=plan-cell]").await;
    browser
        .client
        .execute(
            "const data = new DataTransfer(); data.setData('text/plain', arguments[0]);
             document.querySelector('[data-test=plan-cell]').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));",
            vec![serde_json::json!("1,000\t2\r\n3\t4\r\n")],
        )
        .await
        .expect("paste");
    click(&browser, "[data-test=save-plans]").await;
    element(&browser, "[data-test=plans-saved]").await;
    let pasted: Vec<(String, i64)> = sqlx::query_as(
        "SELECT month, cartons FROM sales_plans WHERE month IN ($1, $2) ORDER BY unit_id, month",
    )
    .bind(format!("{year}-01"))
    .bind(format!("{year}-02"))
    .fetch_all(&app.db().pool)
    .await
    .unwrap();
    let cartons: Vec<i64> = pasted.iter().map(|p| p.1).collect();
    assert_eq!(&cartons[..4], [250_000, 500, 750, 1000], "{pasted:?}");
    browser.close().await;

    // A market manager: their department, then one of their managers.
    let department: String = sqlx::query_scalar(
        "SELECT o.name FROM users u JOIN org_units o ON o.id = u.org_unit_id WHERE u.login = 'mm01'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    let browser = Browser::start().await;
    // From the home page's link, as a person arrives.
    sign_in_at(&browser, &app, "/", "mm01").await;
    click(&browser, "[data-test=link-analysis]").await;
    wait_for_text(&browser, "[data-test=scope-label]", &department).await;
    element(&browser, "[data-test=monthly] svg").await;
    // A year instead of a quarter, then the workbook by its link.
    element(&browser, "[data-test=period]")
        .await
        .select_by_value("12")
        .await
        .unwrap();
    wait_for_text(&browser, ".scope-bar", "12 个月").await;
    click(&browser, "[data-test=export-sales]").await;
    let file = downloaded(&browser, "xlsx").await;
    assert!(file.to_string_lossy().contains("-12m"), "{file:?}");
    let mut book = calamine::open_workbook_auto(&file).expect("workbook");
    let months = book.worksheet_range("月度销量").expect("the monthly sheet");
    assert_eq!(months.height(), 13, "a header and 12 months");
    let manager = text_of(&browser, "[data-test=by-unit] [data-test=drill]").await;
    click(&browser, "[data-test=by-unit] [data-test=drill]").await;
    wait_for_text(&browser, "[data-test=scope-label]", &manager).await;
    click(&browser, "[data-test=narrow-back]").await;
    wait_for_text(&browser, "[data-test=scope-label]", &department).await;
    browser.close().await;
}
