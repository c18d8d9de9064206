//! The front end's own behaviour in headless Chromium: pages arrive in
//! chunks by family (a retailer never downloads a staff page), and a
//! session that ends under an open page leads to sign-in and back.

use e2e::{click, element, fill_sign_in, sign_in_at, spawn_app, wait_for_path, Backend, Browser};

/// The names of the wasm files the page has fetched so far.
async fn wasm_fetched(browser: &Browser) -> Vec<String> {
    let names = browser
        .client
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.endsWith('.wasm'));",
            vec![],
        )
        .await
        .expect("resource timing");
    names
        .as_array()
        .expect("a list")
        .iter()
        .map(|n| {
            n.as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retailer_downloads_no_staff_page_and_a_manager_gets_the_grid_family() {
    let app = spawn_app(Backend::Sqlite).await;
    let retailer = app.retailer_login(0).await;

    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/login", &retailer).await;
    click(&browser, "[data-test=link-replenishment]").await;
    element(&browser, "[data-test=settings]").await;
    let fetched = wasm_fetched(&browser).await;
    assert!(
        fetched.iter().any(|f| f.starts_with("split_home_pages")),
        "the home family arrived: {fetched:?}"
    );
    for staff in [
        "split_entry_pages",
        "split_review_pages",
        "split_report_pages",
        "split_admin_pages",
    ] {
        assert!(
            !fetched.iter().any(|f| f.starts_with(staff)),
            "a retailer does not download {staff}: {fetched:?}"
        );
    }

    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/login", "cm01").await;
    click(&browser, "[data-test=link-forecast]").await;
    element(&browser, "[data-test=cycle-scope], .card").await;
    let fetched = wasm_fetched(&browser).await;
    assert!(
        fetched.iter().any(|f| f.starts_with("split_entry_pages")),
        "the entry family arrived for the customer manager: {fetched:?}"
    );
    assert!(
        !fetched.iter().any(|f| f.starts_with("split_admin_pages")),
        "a customer manager does not download the administration pages: {fetched:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_session_leads_to_sign_in_and_back_to_the_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/login", "cm01").await;
    click(&browser, "[data-test=link-forecast]").await;
    wait_for_path(&browser, "/forecast").await;

    // The session ends on the server (idle timeout, signed out elsewhere).
    sqlx::query("DELETE FROM sessions")
        .execute(&app.db().pool)
        .await
        .expect("end the sessions");

    // The next thing the page asks the server for gets 401: sign-in,
    // remembering where the manager was.
    browser
        .client
        .execute("history.back(); return null;", vec![])
        .await
        .expect("back to home");
    element(&browser, "[data-test=login]").await;
    let url = browser.client.current_url().await.expect("url");
    assert_eq!(url.path(), "/login");
    let next = url
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.to_string())
        .expect("the page to return to");
    assert!(next.starts_with("/home/"), "{next}");

    fill_sign_in(&browser, "cm01").await;
    wait_for_path(&browser, &next).await;
    element(&browser, "[data-test=link-forecast]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_signing_in_the_back_button_does_not_return_to_the_sign_in_form() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::start().await;
    browser
        .client
        .goto(&app.url("/forecast"))
        .await
        .expect("deep link");
    wait_for_path(&browser, "/login").await;
    fill_sign_in(&browser, "cm01").await;
    wait_for_path(&browser, "/forecast").await;
    browser.client.back().await.expect("back");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let url = browser.client.current_url().await.expect("url");
    assert_ne!(url.path(), "/login", "back went to the sign-in form: {url}");
}
