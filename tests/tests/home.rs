//! The home page's reminders (待办提醒) and report links, computed by the
//! server from the open forecast cycles on today's China date.

use chrono::Duration;
use domain::home::{HomeSummary, ManagerRef, Reminder};
use domain::policy::op;
use domain::Role;
use e2e::forecast::{open_cycle, submit_every_cell};
use e2e::{caller, on_both_databases, spawn_app, spawn_app_with_history, Backend, Caller, TestApp};
use reqwest::Method;
use serde_json::json;

async fn home(who: &Caller, app: &TestApp) -> HomeSummary {
    who.get_json(app, "/api/home").await
}

fn names(managers: &[ManagerRef]) -> Vec<&str> {
    managers.iter().map(|m| m.name.as_str()).collect()
}

async fn display_name(app: &TestApp, login: &str) -> String {
    sqlx::query_scalar("SELECT display_name FROM users WHERE login = $1")
        .bind(login)
        .fetch_one(&app.db().pool)
        .await
        .expect("a demo account")
}

async fn a_manager_is_reminded_of_a_sheet_due_or_returned_and_the_center_of_who_has_not_started(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let today = server::clock::today();
    let center = caller(&app, "center").await;
    assert!(
        home(&center, &app).await.reminders.is_empty(),
        "no cycle, nothing due"
    );

    // A cycle due in two days.
    let cycle = open_cycle(&app, domain::forecast::Scope::All, 3).await;
    let due = today + Duration::days(2);
    let edited = center
        .send(
            &app,
            Method::PUT,
            &format!("/api/forecast/cycles/{}", cycle.id),
            json!({ "month": cycle.month, "spec_ids": cycle.specs.iter().map(|s| s.spec_id).collect::<Vec<_>>(),
                    "scope": "all", "submit_deadline": due, "review_deadline": due + Duration::days(1) }),
        )
        .await;
    assert_eq!(
        edited.status(),
        200,
        "the deadline moves to the day after tomorrow"
    );

    let cm01 = caller(&app, "cm01").await;
    let retailers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM retailers r JOIN users u ON u.id = r.manager_id WHERE u.login = 'cm01'")
            .fetch_one(&app.db().pool)
            .await
            .expect("count");
    assert_eq!(
        home(&cm01, &app).await.reminders,
        vec![Reminder::DueSoon {
            cycle_id: cycle.id,
            month: cycle.month,
            deadline: due,
            days_left: 2,
            filled: 0,
            cells: retailers * 3,
        }]
    );

    // Every manager has yet to open their sheet: the center sees them all,
    // by name and department.
    let reminders = home(&center, &app).await.reminders;
    let [Reminder::NotStarted {
        cycle_id, managers, ..
    }] = reminders.as_slice()
    else {
        panic!("the center sees who has not started: {reminders:?}");
    };
    assert_eq!(*cycle_id, cycle.id);
    assert_eq!(managers.len(), 6, "the tiny demo's six managers");
    let cm01_name = display_name(&app, "cm01").await;
    assert!(
        managers
            .iter()
            .any(|m| m.name == cm01_name && m.unit_name == "城关市场部"),
        "{managers:?}"
    );

    // cm02 submits; their market manager sees it wait, returns it with a
    // comment, and cm02 sees the comment beside the deadline.
    submit_every_cell(&app, cycle.id, "cm02", 1).await;
    let mm01 = caller(&app, "mm01").await;
    assert_eq!(
        home(&mm01, &app).await.reminders,
        vec![Reminder::ToReview {
            waiting: 1,
            overdue: 0
        }]
    );
    assert!(
        home(&caller(&app, "mm02").await, &app)
            .await
            .reminders
            .is_empty(),
        "another department's market manager has nothing waiting"
    );
    let sheet_id: i64 = sqlx::query_scalar(
        "SELECT s.id FROM forecast_sheets s JOIN users u ON u.id = s.manager_id WHERE u.login = 'cm02'",
    )
    .fetch_one(&app.db().pool)
    .await
    .expect("cm02's sheet");
    let returned = mm01
        .send(
            &app,
            Method::POST,
            &format!("/api/forecast/sheets/{sheet_id}/return"),
            json!({ "comment": "第一品规偏高，请核实", "to_level": 0 }),
        )
        .await;
    assert_eq!(returned.status(), 200);
    let cm02 = caller(&app, "cm02").await;
    let reminders = home(&cm02, &app).await.reminders;
    assert_eq!(reminders.len(), 2, "{reminders:?}");
    assert_eq!(
        reminders[0],
        Reminder::Returned {
            cycle_id: cycle.id,
            month: cycle.month,
            comment: Some("第一品规偏高，请核实".into()),
            by: Some(display_name(&app, "mm01").await),
        }
    );
    assert!(matches!(
        reminders[1],
        Reminder::DueSoon { days_left: 2, .. }
    ));
    assert!(
        home(&mm01, &app).await.reminders.is_empty(),
        "nothing waits any more"
    );

    // cm01 starts: the center's list is down to the four who have not.
    let saved = e2e::forecast::save(
        &cm01,
        &app,
        cycle.id,
        json!([{ "retailer_id": sqlx::query_scalar::<_, i64>("SELECT r.id FROM retailers r JOIN users u ON u.id = r.manager_id WHERE u.login = 'cm01' ORDER BY r.id LIMIT 1").fetch_one(&app.db().pool).await.expect("a retailer"),
                  "spec_id": cycle.specs[0].spec_id, "value": 2, "base_revision": 0 }]),
    )
    .await;
    assert_eq!(saved.status(), 200);
    assert!(matches!(
        home(&cm01, &app).await.reminders.as_slice(),
        [Reminder::DueSoon { filled: 1, .. }]
    ));
    let reminders = home(&center, &app).await.reminders;
    let [Reminder::NotStarted { managers, .. }] = reminders.as_slice() else {
        panic!("{reminders:?}");
    };
    assert_eq!(managers.len(), 4, "cm01 and cm02 have opened theirs");
    assert!(!names(managers).contains(&cm01_name.as_str()));

    // Entry reopened for cm03 beyond the deadline: until when.
    let cm03_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'cm03'")
        .fetch_one(&app.db().pool)
        .await
        .expect("cm03");
    let until = due + Duration::days(3);
    let reopened = center
        .send(
            &app,
            Method::POST,
            &format!("/api/forecast/cycles/{}/reopen", cycle.id),
            json!({ "manager_id": cm03_id, "until": until }),
        )
        .await;
    assert_eq!(reopened.status(), 200);
    assert!(matches!(
        home(&caller(&app, "cm03").await, &app).await.reminders.as_slice(),
        [Reminder::Reopened { until: u, .. }] if *u == until
    ));

    // Time passes: the deadline is yesterday. cm01 is late, and the center
    // sees who is; cm03's reopened entry still runs.
    sqlx::query("UPDATE forecast_cycles SET submit_deadline = $1 WHERE id = $2")
        .bind((today - Duration::days(1)).to_string())
        .bind(cycle.id)
        .execute(&app.db().pool)
        .await
        .expect("the deadline passes");
    assert!(matches!(
        home(&cm01, &app).await.reminders.as_slice(),
        [Reminder::Late { filled: 1, .. }]
    ));
    let reminders = home(&center, &app).await.reminders;
    let late = reminders
        .iter()
        .find_map(|r| match r {
            Reminder::LateManagers { managers, .. } => Some(managers.len()),
            _ => None,
        })
        .expect("the center sees who is late");
    assert_eq!(late, 5, "all but cm03, whose entry was reopened");
}

async fn every_staff_level_gets_its_report_links(backend: Backend) {
    let app = spawn_app_with_history(backend).await;
    let latest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM forecast_cycles")
        .fetch_one(&app.db().pool)
        .await
        .expect("cycles");
    for (login, role) in [
        ("cm01", Role::CustomerManager),
        ("mm01", Role::MarketManager),
        ("county", Role::CountyManager),
        ("center", Role::MarketingCenter),
    ] {
        let summary = home(&caller(&app, login).await, &app).await;
        assert_eq!(summary.role, role);
        assert!(op::DASHBOARD.permits(role) && op::ACCURACY.permits(role));
        assert_eq!(
            (
                summary.reports.dashboard_cycle,
                summary.reports.accuracy_cycle
            ),
            (Some(latest), Some(latest)),
            "{login}: the latest cycle, whose month has orders"
        );
        assert!(
            summary.reminders.is_empty(),
            "{login}: past cycles are closed"
        );
    }
    let shop = app.retailer_login(0).await;
    let summary = home(&caller(&app, &shop).await, &app).await;
    assert_eq!(
        summary.reports,
        Default::default(),
        "a retailer reads no report"
    );
}

/// A retailer in online replenishment is reminded of its open order window
/// until it confirms the order, and then that it can still change it.
async fn a_retailer_is_reminded_of_its_order_window(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = caller(&app, &app.retailer_login(0).await).await;
    let id = shop.info.retailer_id.expect("a retailer");
    let online: i64 =
        sqlx::query_scalar("SELECT online_replenishment FROM retailers WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db().pool)
            .await
            .expect("retailer");
    assert_eq!(online, 1, "the first demo retailer orders online");
    let proposal: domain::replenishment::ProposalView = shop
        .get_json(&app, &format!("/api/replenishment/retailers/{id}/proposal"))
        .await;
    let summary = home(&shop, &app).await;
    assert_eq!(
        summary.reminders,
        vec![Reminder::OrderWindow {
            retailer_id: id,
            order_date: proposal.order_date,
            cutoff: proposal.cutoff,
            confirmed: false,
        }]
    );
    let view: domain::replenishment::RetailerSettingsView = shop
        .get_json(&app, &format!("/api/replenishment/retailers/{id}"))
        .await;
    let spec = view
        .terms
        .iter()
        .find(|t| t.orderable && t.class_cap >= t.order_multiple)
        .expect("an orderable spec");
    let done = shop
        .send(
            &app,
            reqwest::Method::POST,
            &format!("/api/replenishment/retailers/{id}/orders"),
            json!({ "order_date": proposal.order_date,
                    "lines": [{ "spec_id": spec.spec_id, "quantity": spec.order_multiple }] }),
        )
        .await;
    assert_eq!(done.status(), 200);
    let summary = home(&shop, &app).await;
    assert!(matches!(
        summary.reminders.as_slice(),
        [Reminder::OrderWindow {
            confirmed: true,
            ..
        }]
    ));
}

on_both_databases!(
    a_manager_is_reminded_of_a_sheet_due_or_returned_and_the_center_of_who_has_not_started,
    every_staff_level_gets_its_report_links,
    a_retailer_is_reminded_of_its_order_window,
);
