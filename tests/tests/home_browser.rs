//! The home page's reminders in headless Chromium at a phone's width
//! (375 px): a customer manager sees their sheet is due and opens it from
//! the reminder.

use chrono::Duration;
use domain::forecast::Scope;
use e2e::forecast::open_cycle;
use e2e::{
    caller, click, element, sign_in_at, spawn_app, text_of, wait_for_path, wait_for_text, Backend,
    Browser,
};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_sees_the_sheet_due_tomorrow_and_opens_it_from_the_reminder() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 3).await;
    let due = server::clock::today() + Duration::days(1);
    let edited = caller(&app, "center")
        .await
        .send(
            &app,
            Method::PUT,
            &format!("/api/forecast/cycles/{}", cycle.id),
            json!({ "month": cycle.month, "spec_ids": cycle.specs.iter().map(|s| s.spec_id).collect::<Vec<_>>(),
                    "scope": "all", "submit_deadline": due, "review_deadline": due }),
        )
        .await;
    assert_eq!(edited.status(), 200, "due tomorrow");

    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/login", "cm01").await;
    wait_for_text(&browser, "[data-test=reminders]", "截止提交").await;
    let text = text_of(&browser, "[data-test=reminder]").await;
    assert!(
        text.contains("还有 1 天") && text.contains("已填 0 / 18 格"),
        "the deadline and the cells entered: {text}"
    );
    let fits: bool = browser
        .client
        .execute(
            "const r = document.querySelector('[data-test=reminders]').getBoundingClientRect();
             return r.right <= window.innerWidth && document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .expect("layout")
        .as_bool()
        .unwrap_or(false);
    assert!(fits, "the reminders fit a 375 px phone");

    // In English too.
    click(&browser, "[data-test=lang-switch]").await;
    wait_for_text(&browser, "[data-test=reminder]", "due").await;
    assert!(text_of(&browser, "[data-test=reminder]")
        .await
        .contains("(tomorrow): 0 / 18 cells entered"));

    click(&browser, "[data-test=reminder] a").await;
    wait_for_path(&browser, &format!("/forecast/{}", cycle.id)).await;
    element(&browser, "[data-test=grid]").await;
    browser.close().await;
}
