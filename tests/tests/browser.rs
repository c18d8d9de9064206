//! The app in headless Chromium: signing in as each role, a wrong password,
//! the language switch, and the API refusing a retailer from the browser.

use std::time::Duration;

use e2e::{spawn_app, Backend, Browser, TestApp, DEMO_PASSWORD};
use fantoccini::Locator;

const WAIT: Duration = Duration::from_secs(20);

async fn sign_in(browser: &Browser, app: &TestApp, login: &str, password: &str) {
    let c = &browser.client;
    c.goto(&app.url("/login")).await.expect("open sign-in page");
    let account = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-test=login]"))
        .await
        .expect("account field");
    account.send_keys(login).await.expect("type account");
    c.find(Locator::Css("[data-test=password]"))
        .await
        .expect("password field")
        .send_keys(password)
        .await
        .expect("type password");
    c.find(Locator::Css("[data-test=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
}

async fn text_of(browser: &Browser, css: &str) -> String {
    let element = browser
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    element.text().await.expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_signs_in_and_lands_on_its_own_home_page() {
    let app = spawn_app(Backend::Sqlite).await;
    let retailer = app.retailer_login(0).await;
    let cases = [
        ("admin", "admin", "系统管理员"),
        ("center", "marketing_center", "营销中心"),
        ("county", "county_manager", "县级营销部"),
        ("mm01", "market_manager", "市场经理"),
        ("cm01", "customer_manager", "客户经理"),
        (retailer.as_str(), "retailer", "零售户"),
    ];
    for (login, role, label) in cases {
        let browser = Browser::start().await;
        sign_in(&browser, &app, login, DEMO_PASSWORD).await;
        let home = browser
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&format!("[data-test=home][data-role={role}]")))
            .await
            .unwrap_or_else(|e| panic!("{login} lands on the {role} home: {e}"));
        assert!(
            home.text().await.expect("text").contains(label),
            "{login} sees the role {label}"
        );
        let url = browser.client.current_url().await.expect("url");
        assert_eq!(url.path(), format!("/home/{role}"), "{login}");
        match role {
            "customer_manager" => {
                let count = text_of(&browser, "[data-test=retailer-count]").await;
                let expected: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM retailers r JOIN users u ON u.id = r.manager_id WHERE u.login = 'cm01'",
                )
                .fetch_one(&app.db().pool)
                .await
                .expect("count");
                assert_eq!(
                    count,
                    expected.to_string(),
                    "the customer manager sees the count of their retailers"
                );
            }
            "retailer" => assert_eq!(text_of(&browser, "[data-test=licence]").await, login),
            "marketing_center" => {
                assert!(text_of(&browser, "[data-test=units]")
                    .await
                    .contains("城关市场部"));
                browser
                    .client
                    .find(Locator::Css("svg.bar-chart rect.bar"))
                    .await
                    .expect("a chart bar per department");
            }
            _ => {}
        }
        browser.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_shows_the_error_and_keeps_the_user_on_the_form() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, "center", "definitely-wrong").await;
    let message = text_of(&browser, ".error-note").await;
    assert_eq!(message, "账号或密码错误");
    assert_eq!(
        browser.client.current_url().await.expect("url").path(),
        "/login"
    );
    let typed = browser
        .client
        .find(Locator::Css("[data-test=login]"))
        .await
        .expect("field")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(
        typed.as_deref(),
        Some("center"),
        "the account typed is kept"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_retailer_gets_403_from_a_marketing_center_route() {
    let app = spawn_app(Backend::Sqlite).await;
    let retailer = app.retailer_login(1).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &retailer, DEMO_PASSWORD).await;
    text_of(&browser, "[data-test=home][data-role=retailer]").await;
    let status = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; fetch('/api/org/units').then(r => done(r.status));",
            vec![],
        )
        .await
        .expect("fetch from the page");
    assert_eq!(status.as_i64(), Some(403));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_language_switch_turns_the_interface_to_english_and_back() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, "cm01", DEMO_PASSWORD).await;
    text_of(&browser, "[data-test=home]").await;
    browser
        .client
        .find(Locator::Css("[data-test=lang-switch]"))
        .await
        .expect("switch")
        .click()
        .await
        .expect("click");
    assert_eq!(
        text_of(&browser, "[data-test=role]").await,
        "Customer manager"
    );
    browser.client.refresh().await.expect("reload");
    assert_eq!(
        text_of(&browser, "[data-test=role]").await,
        "Customer manager",
        "the choice survives a reload"
    );
    browser
        .client
        .find(Locator::Css("[data-test=lang-switch]"))
        .await
        .expect("switch")
        .click()
        .await
        .expect("click");
    assert_eq!(text_of(&browser, "[data-test=role]").await, "客户经理");
    browser
        .client
        .find(Locator::Css("[data-test=sign-out]"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("click");
    browser
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-test=login]"))
        .await
        .expect("back on the sign-in page");
    browser.close().await;
}
