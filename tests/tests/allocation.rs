//! Scarce supply allocation (货源投放) through the API, on both databases:
//! a preview never promises more than the supply and its figures equal a
//! recomputation from the retailers' settings rows; a published cap is the
//! cap a retailer of the class sees for an order day inside the period
//! (with the period), not outside it, and the standing cap returns when it
//! is withdrawn; overlapping periods of one spec are refused, also when
//! ten publishes arrive at once; bad requests are refused with their
//! fields and nothing stored; the month's plan downloads as a workbook.

use std::collections::BTreeMap;

use calamine::Reader;
use chrono::{Datelike, Days, NaiveDate};
use domain::replenishment::allocation::{AllocationList, AllocationPreview, PublishedAllocation};
use domain::replenishment::RetailerSettingsView;
use e2e::{caller, on_both_databases, spawn_app, Caller, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_databases!(
    a_preview_stays_within_the_supply_and_equals_the_settings,
    a_published_cap_holds_inside_its_period_and_the_standing_cap_returns,
    overlapping_publishes_at_once_store_exactly_one,
    bad_requests_are_refused_with_their_fields_and_nothing_is_stored,
);

const PREVIEW: &str = "/api/replenishment/allocations/preview";
const PUBLISH: &str = "/api/replenishment/allocations";

fn today() -> NaiveDate {
    server::clock::today()
}

fn plus(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).expect("date")
}

/// A scarce spec of the demo: (id, name, order multiple).
async fn scarce_spec(app: &TestApp, nth: i64) -> (i64, String, i64) {
    sqlx::query_as(
        "SELECT id, name, order_multiple FROM specs WHERE scarce = 1 ORDER BY id LIMIT 1 OFFSET $1",
    )
    .bind(nth)
    .fetch_one(&app.db().pool)
    .await
    .expect("a scarce spec")
}

/// The id, class and customer manager's login of the `nth` demo retailer
/// with a sign-in.
async fn retailer(app: &TestApp, nth: i64) -> (i64, String, String) {
    let login = app.retailer_login(nth).await;
    sqlx::query_as(
        "SELECT r.id, r.class_code, m.login FROM users u JOIN retailers r ON r.id = u.retailer_id \
         JOIN users m ON m.id = r.manager_id WHERE u.login = $1",
    )
    .bind(&login)
    .fetch_one(&app.db().pool)
    .await
    .expect("the retailer")
}

/// Records a weekly turnover of `spec` in the retailer's settings, as its
/// customer manager does.
async fn record_turnover(app: &TestApp, retailer_id: i64, manager: &str, spec: i64, turnover: i64) {
    let cm = caller(app, manager).await;
    let path = format!("/api/replenishment/retailers/{retailer_id}");
    let view: RetailerSettingsView = cm.get_json(app, &path).await;
    let mut settings: Vec<Value> = view
        .settings
        .iter()
        .filter(|s| s.spec_id != spec)
        .map(|s| serde_json::to_value(s).expect("json"))
        .collect();
    settings.push(
        json!({ "spec_id": spec, "stock": 0, "lower": 0, "upper": 1, "weekly_turnover": turnover }),
    );
    let saved = cm
        .send(
            app,
            Method::PUT,
            &format!("{path}/settings"),
            json!({ "version": view.version, "settings": settings }),
        )
        .await;
    assert_eq!(saved.status(), 200, "the manager records the turnover");
}

fn request(spec: i64, from: NaiveDate, to: NaiveDate, supply: i64, rule: Value) -> Value {
    json!({ "spec_id": spec, "from": from, "to": to, "supply": supply, "rule": rule })
}

async fn preview(app: &TestApp, center: &Caller, body: Value) -> AllocationPreview {
    let response = center.send(app, Method::POST, PREVIEW, body).await;
    assert_eq!(response.status(), 200, "preview");
    response.json().await.expect("preview json")
}

/// Per class: (enrolled, [(demand per order day, order days)]) straight
/// from the settings rows, the days counted date by date.
async fn recomputed(
    app: &TestApp,
    spec: i64,
    multiple: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> BTreeMap<String, (i64, Vec<(i64, i64)>)> {
    let pool = &app.db().pool;
    let mut out: BTreeMap<String, (i64, Vec<(i64, i64)>)> = BTreeMap::new();
    let enrolled: Vec<(String, i64)> = sqlx::query_as(
        "SELECT class_code, COUNT(*) FROM retailers WHERE online_replenishment = 1 AND status = 'open' GROUP BY class_code",
    )
    .fetch_all(pool)
    .await
    .expect("enrolled");
    for (class, n) in enrolled {
        out.entry(class).or_default().0 = n;
    }
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT r.class_code, r.order_weekday, s.weekly_turnover FROM retailer_specs s \
         JOIN retailers r ON r.id = s.retailer_id \
         WHERE s.spec_id = $1 AND r.online_replenishment = 1 AND r.status = 'open'",
    )
    .bind(spec)
    .fetch_all(pool)
    .await
    .expect("settings rows");
    for (class, weekday, turnover) in rows {
        let mut days = 0;
        let mut d = from;
        while d <= to {
            if i64::from(d.weekday().number_from_monday()) == weekday {
                days += 1;
            }
            d = plus(d, 1);
        }
        let per_day = (turnover + multiple - 1) / multiple * multiple;
        out.entry(class).or_default().1.push((per_day, days));
    }
    out
}

async fn a_preview_stays_within_the_supply_and_equals_the_settings(backend: e2e::Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let (spec, _, multiple) = scarce_spec(&app, 0).await;
    // Two enrolled retailers of the demo record a turnover of the spec.
    for (nth, turnover) in [(0, 7), (1, 12), (2, 3)] {
        let (id, _, manager) = retailer(&app, nth).await;
        record_turnover(&app, id, &manager, spec, turnover).await;
    }
    let (from, to) = (today(), plus(today(), 20));
    let truth = recomputed(&app, spec, multiple, from, to).await;
    let demand: i64 = truth
        .values()
        .flat_map(|c| c.1.iter().map(|(q, d)| q * d))
        .sum();
    assert!(demand > 0, "some demand is recorded");
    let largest = truth
        .values()
        .flat_map(|c| c.1.iter().filter(|(_, d)| *d > 0).map(|(q, _)| *q))
        .max()
        .unwrap_or(0);
    let some_classes: Vec<String> = truth
        .iter()
        .filter(|(_, c)| !c.1.is_empty())
        .map(|(code, _)| code.clone())
        .take(2)
        .collect();
    for supply in [0, demand / 3, demand - 1, demand, demand * 2] {
        for rule in [
            json!({ "kind": "tier" }),
            json!({ "kind": "demand" }),
            json!({ "kind": "equal", "classes": some_classes }),
        ] {
            let p = preview(&app, &center, request(spec, from, to, supply, rule.clone())).await;
            let label = format!("supply {supply}, rule {rule}");
            assert!(p.totals.expected <= supply, "{label}: within the supply");
            assert_eq!(p.totals.demand, demand, "{label}: the whole demand");
            let classes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customer_classes")
                .fetch_one(&app.db().pool)
                .await
                .expect("classes");
            assert_eq!(p.classes.len() as i64, classes, "{label}: every class");
            for c in &p.classes {
                let (enrolled, rows) = truth.get(&c.code).cloned().unwrap_or_default();
                let with: Vec<&(i64, i64)> =
                    rows.iter().filter(|(q, d)| *q > 0 && *d > 0).collect();
                assert_eq!(c.enrolled, enrolled, "{label}: class {} enrolled", c.code);
                assert_eq!(
                    c.with_demand,
                    with.len() as i64,
                    "{label}: class {}",
                    c.code
                );
                assert_eq!(c.demand, with.iter().map(|(q, d)| q * d).sum::<i64>());
                assert_eq!(
                    c.expected,
                    with.iter().map(|(q, d)| d * c.cap.min(*q)).sum::<i64>(),
                    "{label}: class {} expected under cap {}",
                    c.code,
                    c.cap
                );
                assert_eq!(
                    c.wanting,
                    with.iter().filter(|(q, _)| *q > c.cap).count() as i64
                );
                assert_eq!(c.cap % multiple, 0, "{label}: whole multiples");
                assert!(c.cap <= largest, "{label}: no cap above the largest demand");
                assert!(c.standing_cap.is_some(), "the standing cap beside it");
            }
            if rule["kind"] == "tier" {
                assert!(
                    p.classes
                        .windows(2)
                        .all(|w| w[0].rank > w[1].rank && w[0].cap >= w[1].cap),
                    "{label}: a higher tier never gets less"
                );
            }
            if supply >= demand && rule["kind"] != "equal" {
                assert_eq!(p.totals.expected, demand, "{label}: all demand met");
            }
        }
    }
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM allocations")
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    assert_eq!(stored, 0, "a preview stores nothing");
}

/// The retailer's terms for `spec`: (cap, period).
async fn terms(
    app: &TestApp,
    who: &Caller,
    retailer_id: i64,
    spec: i64,
) -> (i64, Option<(i64, NaiveDate, NaiveDate)>, NaiveDate) {
    let view: RetailerSettingsView = who
        .get_json(app, &format!("/api/replenishment/retailers/{retailer_id}"))
        .await;
    let t = view
        .terms
        .iter()
        .find(|t| t.spec_id == spec)
        .expect("the spec's terms");
    (
        t.class_cap,
        t.cap_period.map(|p| (p.allocation_id, p.from, p.to)),
        view.next_order_date,
    )
}

async fn a_published_cap_holds_inside_its_period_and_the_standing_cap_returns(
    backend: e2e::Backend,
) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let (spec, spec_name, _) = scarce_spec(&app, 0).await;
    let (other_spec, _, _) = scarce_spec(&app, 1).await;
    let (id, class, manager) = retailer(&app, 0).await;
    let shop = caller(&app, &app.retailer_login(0).await).await;
    record_turnover(&app, id, &manager, spec, 37).await;
    let (standing, period, window) = terms(&app, &shop, id, spec).await;
    assert_eq!(period, None, "standing caps before any allocation");
    let (other_standing, _, _) = terms(&app, &shop, id, other_spec).await;

    // Equal shares for the retailer's class only, with supply for all of
    // its demand: the cap is the largest demand per order day, 37.
    let from = window.checked_sub_days(Days::new(2)).expect("date");
    let to = plus(window, 5);
    let rule = json!({ "kind": "equal", "classes": [class] });
    let response = center
        .send(
            &app,
            Method::POST,
            PUBLISH,
            request(spec, from, to, 100_000, rule.clone()),
        )
        .await;
    assert_eq!(response.status(), 200, "published");
    let published: PublishedAllocation = response.json().await.expect("json");
    let mine = published
        .classes
        .iter()
        .find(|c| c.code == class)
        .expect("the class");
    assert_eq!(mine.cap, 37);
    assert!(
        published
            .classes
            .iter()
            .filter(|c| c.code != class)
            .all(|c| c.cap == 0),
        "other classes get nothing of it"
    );
    let classes: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM allocation_caps WHERE allocation_id = $1")
            .bind(published.id)
            .fetch_one(&app.db().pool)
            .await
            .expect("caps");
    assert_eq!(
        classes,
        published.classes.len() as i64,
        "a cap row for every class"
    );
    assert_ne!(standing, 37);
    assert_eq!(
        terms(&app, &shop, id, spec).await,
        (37, Some((published.id, from, to)), window),
        "the retailer sees the allocated cap and its period"
    );

    // Another spec's allocation for days after the order day does not
    // touch this order day.
    let after = center
        .send(
            &app,
            Method::POST,
            PUBLISH,
            request(
                other_spec,
                plus(window, 1),
                plus(window, 10),
                50,
                json!({ "kind": "tier" }),
            ),
        )
        .await;
    assert_eq!(after.status(), 200);
    let (cap, period, _) = terms(&app, &shop, id, other_spec).await;
    assert_eq!((cap, period), (other_standing, None), "outside its period");

    // A period meeting the published one is refused, and nothing stored.
    let clash = center
        .send(
            &app,
            Method::POST,
            PUBLISH,
            request(spec, to, plus(to, 7), 10, json!({ "kind": "demand" })),
        )
        .await;
    assert_eq!(clash.status(), 409);
    let body: domain::ErrorBody = clash.json().await.expect("error body");
    assert!(body.message.contains("不能重叠"), "{}", body.message);
    let count = |spec: i64| {
        let pool = app.db().pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM allocations WHERE spec_id = $1")
                .bind(spec)
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    assert_eq!(count(spec).await, 1);

    // The month's list and plan.
    let month = format!("{:04}-{:02}", window.year(), window.month());
    let list: AllocationList = center
        .get_json(
            &app,
            &format!("/api/replenishment/allocations?month={month}"),
        )
        .await;
    assert!(list.allocations.iter().any(|a| a.id == published.id));
    let plan = center
        .get(
            &app,
            &format!("/api/replenishment/allocations/plan?month={month}&lang=zh-CN"),
        )
        .await;
    assert_eq!(plan.status(), 200);
    let disposition = plan.headers()["content-disposition"]
        .to_str()
        .expect("header")
        .to_string();
    assert!(
        disposition.contains(&format!("allocation-plan-{month}.xlsx")),
        "{disposition}"
    );
    let bytes = plan.bytes().await.expect("bytes");
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let detail = book
        .worksheet_range("分档明细")
        .expect("the sheet by class");
    let label: String = sqlx::query_scalar("SELECT label FROM customer_classes WHERE code = $1")
        .bind(&class)
        .fetch_one(&app.db().pool)
        .await
        .expect("label");
    assert!(
        detail.rows().any(|r| {
            r.first()
                .is_some_and(|c| c.to_string() == published.spec_code)
                && r.get(1).is_some_and(|c| c.to_string() == spec_name)
                && r.get(2).is_some_and(|c| c.to_string() == from.to_string())
                && r.get(4).is_some_and(|c| c.to_string() == label)
                && r.get(6).is_some_and(|c| *c == 37.0)
        }),
        "the plan has the class's cap"
    );

    // Withdrawn: the standing cap holds again; a second withdrawal is 409;
    // the period is free for a new allocation.
    let path = format!("/api/replenishment/allocations/{}/withdraw", published.id);
    let withdrawn = center.send(&app, Method::POST, &path, json!({})).await;
    assert_eq!(withdrawn.status(), 200);
    let withdrawn: PublishedAllocation = withdrawn.json().await.expect("json");
    assert!(withdrawn.withdrawn_at.is_some());
    assert_eq!(terms(&app, &shop, id, spec).await, (standing, None, window));
    let again = center.send(&app, Method::POST, &path, json!({})).await;
    assert_eq!(again.status(), 409);
    let missing = center
        .send(
            &app,
            Method::POST,
            "/api/replenishment/allocations/999999/withdraw",
            json!({}),
        )
        .await;
    assert_eq!(missing.status(), 404);
    let renewed = center
        .send(
            &app,
            Method::POST,
            PUBLISH,
            request(spec, from, to, 10, rule),
        )
        .await;
    assert_eq!(
        renewed.status(),
        200,
        "a withdrawn allocation no longer blocks the period"
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'allocation' AND action IN ('allocation.publish', 'allocation.withdraw')",
    )
    .fetch_one(&app.db().pool)
    .await
    .expect("audit");
    assert_eq!(audited, 4, "three publishes and a withdrawal");

    // A class without retailers can still be removed; the published
    // allocations keep it as it was.
    let mut classes: domain::masterdata::records::ClassList =
        center.get_json(&app, "/api/masterdata/classes").await;
    let empty = classes
        .classes
        .iter()
        .position(|c| c.retailers == 0)
        .expect("a class without retailers");
    let removed = classes.classes.remove(empty);
    let saved = center
        .send(
            &app,
            Method::PUT,
            "/api/masterdata/classes",
            serde_json::to_value(&classes).expect("json"),
        )
        .await;
    assert_eq!(saved.status(), 200, "the class is removed");
    let list: AllocationList = center
        .get_json(
            &app,
            &format!("/api/replenishment/allocations?month={month}"),
        )
        .await;
    let kept = list
        .allocations
        .iter()
        .find(|a| a.id == published.id)
        .expect("the withdrawn allocation");
    assert!(
        kept.classes
            .iter()
            .any(|c| c.code == removed.code && c.label == removed.label),
        "the published caps keep the removed class"
    );
}

async fn overlapping_publishes_at_once_store_exactly_one(backend: e2e::Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let (spec, _, _) = scarce_spec(&app, 0).await;
    let from = plus(today(), 1);
    // Ten periods, each meeting every other one.
    let sends = (0..10).map(|k| {
        let body = request(
            spec,
            plus(from, k),
            plus(from, k + 10),
            20,
            json!({ "kind": "tier" }),
        );
        center.send(&app, Method::POST, PUBLISH, body)
    });
    let statuses = e2e::statuses(futures::future::join_all(sends).await).await;
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        9,
        "{statuses:?}"
    );
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM allocations WHERE spec_id = $1")
        .bind(spec)
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    assert_eq!(stored, 1, "one allocation stored");
}

async fn bad_requests_are_refused_with_their_fields_and_nothing_is_stored(backend: e2e::Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let (spec, _, _) = scarce_spec(&app, 0).await;
    let day = today();
    let fields_of = |body: &domain::ErrorBody| body.fields.keys().cloned().collect::<Vec<_>>();
    for path in [PREVIEW, PUBLISH] {
        for (body, fields) in [
            (
                request(
                    spec,
                    plus(day, 3),
                    day,
                    -1,
                    json!({ "kind": "equal", "classes": [] }),
                ),
                vec!["rule.classes", "supply", "to"],
            ),
            (
                request(spec, day, plus(day, 62), 10, json!({ "kind": "tier" })),
                vec!["to"],
            ),
            (
                request(spec, day, day, 10_000_001, json!({ "kind": "demand" })),
                vec!["supply"],
            ),
            (
                request(999_999, day, day, 1, json!({ "kind": "tier" })),
                vec!["spec_id"],
            ),
            (
                request(
                    spec,
                    NaiveDate::from_ymd_opt(1999, 12, 31).expect("date"),
                    NaiveDate::from_ymd_opt(2000, 1, 2).expect("date"),
                    1,
                    json!({ "kind": "tier" }),
                ),
                vec!["from"],
            ),
            (
                request(
                    spec,
                    day,
                    day,
                    1,
                    json!({ "kind": "equal", "classes": ["没有"] }),
                ),
                vec!["rule.classes"],
            ),
            (
                json!({ "spec_id": spec, "from": "2026-13-01", "to": day, "supply": 1, "rule": { "kind": "tier" } }),
                vec!["from"],
            ),
            // A period already over: nobody can order in it any more.
            (
                request(
                    spec,
                    NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"),
                    NaiveDate::from_ymd_opt(2025, 1, 31).expect("date"),
                    1,
                    json!({ "kind": "tier" }),
                ),
                vec!["to"],
            ),
        ] {
            let response = center.send(&app, Method::POST, path, body.clone()).await;
            assert_eq!(response.status(), 422, "{path} {body}");
            let error: domain::ErrorBody = response.json().await.expect("error body");
            assert_eq!(fields_of(&error), fields, "{path} {body}: {error}");
        }
    }
    let error: domain::ErrorBody = center
        .send(
            &app,
            Method::POST,
            PREVIEW,
            request(spec, plus(day, 1), day, 1, json!({ "kind": "tier" })),
        )
        .await
        .json()
        .await
        .expect("error body");
    assert_eq!(error.fields["to"], ["结束日期不能早于开始日期"]);
    let month = center
        .get(&app, "/api/replenishment/allocations?month=2026-13")
        .await;
    assert_eq!(month.status(), 422);
    for login in ["cm01", "mm01", "county", "admin"] {
        let who = caller(&app, login).await;
        let body = request(spec, day, day, 1, json!({ "kind": "tier" }));
        for path in [PREVIEW, PUBLISH] {
            let response = who.send(&app, Method::POST, path, body.clone()).await;
            assert_eq!(response.status(), 403, "{login} {path}");
        }
        assert_eq!(who.get(&app, PUBLISH).await.status(), 403, "{login} list");
    }
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM allocations")
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    assert_eq!(stored, 0, "nothing stored");
}
