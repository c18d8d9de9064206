//! The reports in headless Chromium, read below the marketing center: a
//! market manager opens their department's dashboard from the forecast page
//! and sees only their managers (and narrows it to one); a customer manager
//! opens their accuracy and sees their rank among every manager.
//!
//! The tiny demo: 城关 (mm01: cm01, cm02), 钟山 (mm02: cm03, cm04).

use domain::forecast::Scope;
use e2e::forecast::{approve_by, move_cycle, open_cycle, submit_every_cell};
use e2e::{
    caller, click, element, sign_in_at, spawn_app, text_of, wait_for_text, Backend, Browser,
    TestApp,
};
use fantoccini::Locator;

async fn name_of(app: &TestApp, login: &str) -> (i64, String) {
    sqlx::query_as("SELECT id, display_name FROM users WHERE login = $1")
        .bind(login)
        .fetch_one(&app.db().pool)
        .await
        .unwrap_or_else(|e| panic!("{login}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_market_manager_sees_only_their_departments_managers_on_the_dashboard() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    for login in ["cm01", "cm03"] {
        submit_every_cell(&app, cycle.id, login, 10).await;
    }
    let ((_, cm01), (cm02_id, cm02), (_, cm03)) = (
        name_of(&app, "cm01").await,
        name_of(&app, "cm02").await,
        name_of(&app, "cm03").await,
    );

    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/login", "mm01").await;
    element(&browser, "[data-test=home]").await;
    browser
        .client
        .goto(&app.url("/forecast"))
        .await
        .expect("forecast page");
    click(&browser, "[data-test=open-dashboard]").await;
    wait_for_text(&browser, "[data-test=scope-label]", "城关市场部").await;
    let progress = text_of(&browser, "[data-test=dashboard-progress]").await;
    assert!(
        progress.contains(&cm01) && progress.contains(&cm02),
        "{progress}"
    );
    assert!(!progress.contains(&cm03), "{progress}");
    let page = text_of(&browser, "main").await;
    assert!(!page.contains(&cm03), "another department's manager shows");
    assert!(
        browser
            .client
            .find(Locator::Css("[data-test=export-xlsx]"))
            .await
            .is_err(),
        "the export is the center's"
    );

    // Narrowed to one of the department's managers.
    element(&browser, "[data-test=narrow]")
        .await
        .select_by_value(&format!("m{cm02_id}"))
        .await
        .expect("choose cm02");
    wait_for_text(&browser, "[data-test=scope-label]", &cm02).await;
    wait_for_text(&browser, "[data-test=dashboard-progress]", &cm02).await;
    let progress = text_of(&browser, "[data-test=dashboard-progress]").await;
    assert!(!progress.contains(&cm01), "{progress}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_manager_sees_their_accuracy_rank_among_every_manager() {
    let app = spawn_app(Backend::Sqlite).await;
    // cm01 and cm03 forecast 10 cartons everywhere; the chains approve;
    // the month ends with orders of 8 and 12 at cm01's retailers (80%) and
    // 10 and 10 at cm03's (100%): cm03 first, cm01 second of two.
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let first = submit_every_cell(&app, cycle.id, "cm01", 10).await;
    let second = submit_every_cell(&app, cycle.id, "cm03", 10).await;
    approve_by(&app, first.sheet_id, &["mm01", "county", "center"]).await;
    approve_by(&app, second.sheet_id, &["mm02", "county", "center"]).await;
    let month = e2e::demo_end();
    move_cycle(&app, cycle.id, month).await;
    let (a, b) = (&first.specs[0].code, &first.specs[1].code);
    let mut csv = String::from("licence_no,spec_code,cartons\n");
    for row in &first.rows {
        csv += &format!("{0},{a},8\n{0},{b},12\n", row.licence_no);
    }
    for row in &second.rows {
        csv += &format!("{0},{a},10\n{0},{b},10\n", row.licence_no);
    }
    let center = caller(&app, "center").await;
    let loaded = center
        .client
        .post(app.url(&format!("/api/forecast/actuals?month={month}")))
        .header("X-CSRF-Token", &center.csrf)
        .body(csv)
        .send()
        .await
        .expect("import");
    assert_eq!(loaded.status(), 200, "the actual orders load");
    let (_, cm01) = name_of(&app, "cm01").await;
    let (_, cm03) = name_of(&app, "cm03").await;

    let browser = Browser::start().await;
    // A deep link: the accuracy page opens after signing in.
    sign_in_at(
        &browser,
        &app,
        &format!("/forecast/{}/accuracy", cycle.id),
        "cm01",
    )
    .await;
    wait_for_text(&browser, "[data-test=my-rank]", "第 2 名 / 共 2 名").await;
    wait_for_text(&browser, "[data-test=scope-label]", &cm01).await;
    wait_for_text(&browser, "[data-test=accuracy-approved]", "80.0%").await;
    let managers = text_of(&browser, "[data-test=accuracy-managers]").await;
    assert!(managers.contains(&cm01), "{managers}");
    let page = text_of(&browser, "main").await;
    assert!(!page.contains(&cm03), "a peer's name shows: {page}");
    assert!(
        browser
            .client
            .find(Locator::Css("[data-test=actuals-file]"))
            .await
            .is_err(),
        "loading actual orders is the center's"
    );
    browser.close().await;
}
