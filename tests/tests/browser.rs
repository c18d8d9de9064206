//! The app in headless Chromium: signing in as each role, a wrong password,
//! the language switch, and the API refusing a retailer from the browser.

use e2e::{
    accept, click, element, spawn_app, text_of, type_into, wait_for_text, Backend, Browser,
    TestApp, DEMO_PASSWORD,
};
use fantoccini::Locator;

async fn sign_in(browser: &Browser, app: &TestApp, login: &str, password: &str) {
    let c = &browser.client;
    c.goto(&app.url("/login")).await.expect("open sign-in page");
    let account = element(browser, "[data-test=login]").await;
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

/// The HTTP status the signed-in page gets when it fetches `path` itself.
async fn fetch_status(browser: &Browser, path: &str) -> Option<i64> {
    browser
        .client
        .execute_async(
            &format!("const done = arguments[arguments.length - 1]; fetch('{path}').then(r => done(r.status));"),
            vec![],
        )
        .await
        .expect("fetch from the page")
        .as_i64()
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
        let home = element(&browser, &format!("[data-test=home][data-role={role}]")).await;
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
    assert_eq!(fetch_status(&browser, "/api/org/units").await, Some(403));
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
    element(&browser, "[data-test=login]").await;
    browser.close().await;
}

async fn value_of(browser: &Browser, css: &str) -> String {
    let input = element(browser, css).await;
    input
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retailer_sets_limits_fixes_an_error_saves_and_confirms_a_capped_order() {
    let app = spawn_app(Backend::Sqlite).await;
    let login = app.retailer_login(0).await;
    let retailer_id: i64 = sqlx::query_scalar("SELECT retailer_id FROM users WHERE login = $1")
        .bind(&login)
        .fetch_one(&app.db().pool)
        .await
        .expect("retailer id");
    let browser = Browser::start().await;
    sign_in(&browser, &app, &login, DEMO_PASSWORD).await;
    click(&browser, "[data-test=link-replenishment]").await;
    let card = element(&browser, "[data-test=settings] .spec-card").await;
    let spec = card
        .attr("data-spec")
        .await
        .expect("attr")
        .expect("spec id");
    let at = |field: &str| format!(".spec-card[data-spec='{spec}'] [data-field={field}]");
    let cap_text = text_of(
        &browser,
        &format!(".spec-card[data-spec='{spec}'] [data-test=cap]"),
    )
    .await;
    let cap: i64 = cap_text
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("the cap is shown");

    // lower > upper: refused at the field, and the save button stays off.
    type_into(&browser, &at("upper"), "1").await;
    type_into(&browser, &at("lower"), "2").await;
    wait_for_text(
        &browser,
        &format!(".spec-card[data-spec='{spec}'] .field-error"),
        "库存下限不能大于上限",
    )
    .await;
    let save = browser
        .client
        .find(Locator::Css("[data-test=save]"))
        .await
        .expect("save button");
    assert!(
        !save.is_enabled().await.expect("enabled state"),
        "wrong input is never saved"
    );

    // Fix it: empty shelf, upper at the cap and a fast seller, so the want exceeds the cap.
    type_into(&browser, &at("stock"), "0").await;
    type_into(&browser, &at("lower"), "1").await;
    type_into(&browser, &at("upper"), &cap.to_string()).await;
    type_into(&browser, &at("weekly_turnover"), "14").await;
    click(&browser, "[data-test=save]").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;

    browser.client.refresh().await.expect("reload");
    assert_eq!(value_of(&browser, &at("lower")).await, "1");
    assert_eq!(value_of(&browser, &at("upper")).await, cap.to_string());
    assert_eq!(value_of(&browser, &at("weekly_turnover")).await, "14");

    click(&browser, "[data-test=tab-proposal]").await;
    let line = format!(".proposal-line[data-spec='{spec}']");
    wait_for_text(&browser, &format!("{line} .chip-cut"), "限").await;
    text_of(&browser, "[data-test=order-total]").await;
    click(&browser, "[data-test=confirm]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=confirmed]", "订单已确认").await;
    let stored: (i64, i64) = sqlx::query_as(
        "SELECT l.proposed, l.cut_off FROM replenishment_order_lines l JOIN replenishment_orders o ON o.id = l.order_id \
         WHERE o.retailer_id = $1 AND l.spec_id = $2",
    )
    .bind(retailer_id)
    .bind(spec.parse::<i64>().expect("id"))
    .fetch_one(&app.db().pool)
    .await
    .expect("the confirmed line");
    assert!(
        stored.0 <= cap && stored.1 > 0,
        "stored with the demand the cap cut off: {stored:?}"
    );

    // Another retailer's settings stay out of reach from this page.
    let other: i64 = sqlx::query_scalar("SELECT MAX(id) FROM retailers")
        .fetch_one(&app.db().pool)
        .await
        .expect("id");
    assert_eq!(
        fetch_status(&browser, &format!("/api/replenishment/retailers/{other}")).await,
        Some(403)
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_manager_edits_a_retailers_settings_on_its_behalf() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, "cm01", DEMO_PASSWORD).await;
    click(&browser, "[data-test=link-retailers]").await;
    text_of(&browser, "[data-test=online-share]").await;
    let row = element(&browser, "[data-test=retailers] tbody tr:nth-child(2)").await;
    let retailer_id: i64 = row
        .attr("data-retailer")
        .await
        .expect("attr")
        .expect("id")
        .parse()
        .expect("number");
    row.find(Locator::Css("a"))
        .await
        .expect("link")
        .click()
        .await
        .expect("open");
    let card = element(&browser, "[data-test=settings] .spec-card").await;
    let spec: i64 = card
        .attr("data-spec")
        .await
        .expect("attr")
        .expect("spec")
        .parse()
        .expect("number");
    type_into(
        &browser,
        &format!(".spec-card[data-spec='{spec}'] [data-field=stock]"),
        "123",
    )
    .await;
    click(&browser, "[data-test=save]").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    let (stock, actor): (i64, String) = sqlx::query_as(
        "SELECT rs.stock, u.login FROM retailer_specs rs JOIN users u ON u.id = rs.updated_by \
         WHERE rs.retailer_id = $1 AND rs.spec_id = $2",
    )
    .bind(retailer_id)
    .bind(spec)
    .fetch_one(&app.db().pool)
    .await
    .expect("saved row");
    assert_eq!(
        (stock, actor.as_str()),
        (123, "cm01"),
        "saved, recorded as done by the manager"
    );
    click(&browser, "[data-test=tab-history]").await;
    wait_for_text(&browser, "[data-test=history]", "客户经理").await;
    browser.close().await;
}
