//! The order window in headless Chromium: a retailer adds a spec the
//! product did not propose, confirms, changes and cancels before the cutoff,
//! and after the cutoff its change is refused and the order shows as locked;
//! a customer manager sees who has not ordered yet.

use domain::replenishment::{PolicyView, RetailerSettingsView, SpecTerms};
use e2e::{
    accept, caller, click, element, sign_in_at, spawn_app, text_of, type_into, wait_for_text,
    Backend, Browser, Caller, TestApp,
};
use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;

async fn retailer(app: &TestApp) -> (String, i64, Caller) {
    let login = app.retailer_login(0).await;
    let me = caller(app, &login).await;
    let id = me.info.retailer_id.expect("retailer");
    (login, id, me)
}

/// An orderable spec the retailer has no settings for (so not proposed).
async fn unproposed(app: &TestApp, me: &Caller, id: i64) -> SpecTerms {
    let view: RetailerSettingsView = me
        .get_json(app, &format!("/api/replenishment/retailers/{id}"))
        .await;
    view.terms
        .iter()
        .find(|t| {
            t.orderable
                && !t.scarce
                && t.class_cap >= 2 * t.order_multiple
                && !view.settings.iter().any(|s| s.spec_id == t.spec_id)
        })
        .cloned()
        .expect("an orderable spec without settings")
}

async fn order_of(app: &TestApp, retailer: i64) -> Option<(String, i64, i64)> {
    sqlx::query_as(
        "SELECT status, total_cartons, version FROM replenishment_orders WHERE retailer_id = $1",
    )
    .bind(retailer)
    .fetch_optional(&app.db().pool)
    .await
    .expect("order")
}

async fn close_the_window(app: &TestApp) {
    let center = caller(app, "center").await;
    let policy: PolicyView = center.get_json(app, "/api/replenishment/policy").await;
    let mut changed = match serde_json::to_value(policy.policy).expect("json") {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a policy is an object"),
    };
    changed.insert("cutoff_days_before".into(), json!(14));
    let moved = center
        .send(
            app,
            Method::PATCH,
            "/api/replenishment/policy",
            json!({ "version": policy.version, "policy": changed }),
        )
        .await;
    assert_eq!(moved.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retailer_adds_a_spec_changes_and_cancels_before_the_cutoff_and_not_after() {
    let app = spawn_app(Backend::Sqlite).await;
    let (login, id, me) = retailer(&app).await;
    let extra = unproposed(&app, &me, id).await;
    let m = extra.order_multiple;
    let line = format!(".proposal-line[data-spec='{}']", extra.spec_id);

    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/", &login).await;
    // The home page reminds it of the open window; the reminder leads there.
    wait_for_text(&browser, "[data-kind=order_window]", "尚未确认").await;
    click(&browser, "[data-kind=order_window] a").await;
    // It opens at the order.
    wait_for_text(&browser, "[data-test=window]", "订货截止").await;

    // Add the spec the product did not propose, and confirm.
    type_into(&browser, "[data-test=order-spec-search]", &extra.code).await;
    click(&browser, "[data-test=order-spec-match]").await;
    type_into(
        &browser,
        &format!("{line} [data-test=quantity]"),
        &m.to_string(),
    )
    .await;
    click(&browser, "[data-test=confirm]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=confirmed]", "订单已确认").await;
    wait_for_text(&browser, "[data-test=order-row-status]", "截止前可修改").await;
    let (status, first_total, _) = order_of(&app, id).await.expect("stored");
    assert_eq!(status, "confirmed");
    let added: i64 = sqlx::query_scalar(
        "SELECT l.quantity FROM replenishment_order_lines l JOIN replenishment_orders o ON o.id = l.order_id \
         WHERE o.retailer_id = $1 AND l.spec_id = $2",
    )
    .bind(id)
    .bind(extra.spec_id)
    .fetch_one(&app.db().pool)
    .await
    .expect("the added line");
    assert_eq!(added, m);

    // Change it: twice the cartons of the added spec; survives a reload.
    click(&browser, "[data-test=change]").await;
    type_into(
        &browser,
        &format!("{line} [data-test=quantity]"),
        &(2 * m).to_string(),
    )
    .await;
    click(&browser, "[data-test=confirm]").await;
    accept(&browser).await;
    let (_, total, version) = loop {
        let now = order_of(&app, id).await.expect("stored");
        if now.2 == 2 {
            break now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(total, first_total + m, "the change was saved");
    assert_eq!(version, 2);
    browser.client.refresh().await.expect("reload");
    click(&browser, "[data-test=tab-proposal]").await;
    wait_for_text(
        &browser,
        &format!("{line} [data-test=confirmed-quantity]"),
        &format!("已订 {}", 2 * m),
    )
    .await;

    // Cancel it (asked first).
    click(&browser, "[data-test=cancel-order]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=order-status]", "已取消").await;
    assert_eq!(order_of(&app, id).await.expect("kept").0, "cancelled");

    // Confirm again, then the cutoff passes while the page is open: the
    // change is refused with the reason, and the order shows as locked.
    type_into(&browser, "[data-test=order-spec-search]", &extra.code).await;
    click(&browser, "[data-test=order-spec-match]").await;
    type_into(
        &browser,
        &format!("{line} [data-test=quantity]"),
        &m.to_string(),
    )
    .await;
    click(&browser, "[data-test=confirm]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=confirmed]", "订单已确认").await;
    close_the_window(&app).await;
    click(&browser, "[data-test=change]").await;
    type_into(
        &browser,
        &format!("{line} [data-test=quantity]"),
        &(2 * m).to_string(),
    )
    .await;
    click(&browser, "[data-test=confirm]").await;
    accept(&browser).await;
    wait_for_text(&browser, ".error-note", "截止").await;
    let (status, total, _) = order_of(&app, id).await.expect("stored");
    assert_eq!(
        (status.as_str(), total),
        ("confirmed", first_total),
        "not changed after the cutoff"
    );
    browser.client.refresh().await.expect("reload");
    click(&browser, "[data-test=tab-proposal]").await;
    wait_for_text(&browser, "[data-test=order-row-status]", "已截止锁定").await;
    assert!(
        browser
            .client
            .find(Locator::Css("[data-test=cancel-order]"))
            .await
            .is_err(),
        "nothing to cancel: the open window is a later order day"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_manager_sees_who_has_not_ordered_and_orders_on_their_behalf() {
    let app = spawn_app(Backend::Sqlite).await;
    let (_, id, me) = retailer(&app).await;
    let extra = unproposed(&app, &me, id).await;
    let manager: String = sqlx::query_scalar(
        "SELECT u.login FROM retailers r JOIN users u ON u.id = r.manager_id WHERE r.id = $1",
    )
    .bind(id)
    .fetch_one(&app.db().pool)
    .await
    .expect("manager");
    let cm = caller(&app, &manager).await;
    let joined = cm
        .send(
            &app,
            Method::PUT,
            &format!("/api/replenishment/retailers/{id}/enrolment"),
            json!({ "online": true }),
        )
        .await;
    assert_eq!(joined.status(), 200);

    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/retailers", &manager).await;
    let row = format!("tr[data-retailer='{id}']");
    wait_for_text(
        &browser,
        &format!("{row} [data-test=window-order]"),
        "未确认",
    )
    .await;
    let waiting: i64 = text_of(&browser, "[data-test=unconfirmed-count]")
        .await
        .parse()
        .expect("count");
    assert!(waiting >= 1);
    click(&browser, "[data-test=only-unconfirmed]").await;
    element(&browser, &row).await;

    // Into the retailer's page and order for it.
    click(&browser, &format!("{row} a")).await;
    click(&browser, "[data-test=tab-proposal]").await;
    type_into(&browser, "[data-test=order-spec-search]", &extra.code).await;
    click(&browser, "[data-test=order-spec-match]").await;
    let line = format!(".proposal-line[data-spec='{}']", extra.spec_id);
    type_into(
        &browser,
        &format!("{line} [data-test=quantity]"),
        &extra.order_multiple.to_string(),
    )
    .await;
    click(&browser, "[data-test=confirm]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=confirmed]", "订单已确认").await;

    browser
        .client
        .goto(&app.url("/retailers"))
        .await
        .expect("back to the list");
    wait_for_text(
        &browser,
        &format!("{row} [data-test=window-order]"),
        "已确认",
    )
    .await;
    let after: i64 = text_of(&browser, "[data-test=unconfirmed-count]")
        .await
        .parse()
        .expect("count");
    assert_eq!(after, waiting - 1);
    browser.close().await;
}
