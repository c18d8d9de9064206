//! Orders flowing on to the order and supply system, through the API on
//! SQLite and (when `TEST_POSTGRES_URL` is set) PostgreSQL: a day's locked
//! orders export as xlsx and CSV line for line; an open window answers
//! 409; marking exported counts once, also with calls at once; delivery
//! files (CSV, GB18030, xlsx) load, and bad rows are named by line with
//! nothing stored; a month's delivered orders become its actual orders;
//! the fill rate equals a recomputation from the order lines.
//!
//! Orders for coming order days are placed through the API and locked the
//! way the center would: by moving the policy's cutoff so that it lies in
//! the past (there is no fake clock). Orders of past months, for the
//! actual orders and the concurrency test, are written into the database
//! as the order window would have stored them.

use calamine::{DataType, Reader};
use chrono::{Datelike, Days, NaiveDate};
use domain::replenishment::fill_rate::FillRateReport;
use domain::replenishment::order_flow::{
    ActualsFromOrders, DeliveriesLoaded, MarkedExported, OrderDays,
};
use domain::replenishment::{PolicyView, ProposalView, RetailerSettingsView};
use domain::ErrorBody;
use e2e::{caller, on_both_databases, spawn_app, Backend, Caller, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_databases!(
    a_locked_day_exports_its_lines_as_xlsx_and_csv_and_an_open_day_is_refused,
    marking_a_day_exported_counts_each_order_once,
    calls_at_once_mark_every_order_exactly_once,
    a_delivery_file_loads_in_csv_gb18030_and_xlsx_and_loads_again_the_same,
    bad_delivery_rows_are_named_by_line_and_nothing_is_stored,
    oversized_delivery_files_are_refused_naming_the_limit,
    a_months_delivered_orders_become_its_actual_orders,
    the_fill_rate_equals_a_recomputation_from_the_order_lines,
);

/// Today in China, as the server counts order days.
fn today_china() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// Two retailers with sign-ins ordering on the same coming order day,
/// their orders confirmed and locked.
struct Day {
    date: NaiveDate,
    retailers: Vec<Caller>,
    center: Caller,
}

/// Sets the retailers' order weekday (and the policy, when given) as the
/// center: one policy change on the current version.
async fn change_policy(app: &TestApp, center: &Caller, changes: serde_json::Value) -> PolicyView {
    let view: PolicyView = center.get_json(app, "/api/replenishment/policy").await;
    let mut body = changes;
    body["version"] = json!(view.version);
    let response = center
        .send(app, Method::PATCH, "/api/replenishment/policy", body)
        .await;
    assert_eq!(response.status(), 200, "the policy changes");
    response.json().await.expect("policy")
}

/// Locks the orders of `date` by moving the cutoff to the day before
/// yesterday's… enough days before `date` that it lies in the past.
async fn lock(app: &TestApp, center: &Caller, date: NaiveDate) {
    let view: PolicyView = center.get_json(app, "/api/replenishment/policy").await;
    let days = (date - today_china()).num_days() + 1;
    assert!((1..=14).contains(&days), "{date} can be locked");
    let mut policy = view.policy;
    policy.cutoff_days_before = days as u32;
    change_policy(app, center, json!({ "policy": policy })).await;
}

/// A retailer saves settings for two specs that order (one cut by its
/// class cap) and confirms its proposal, one carton under it on the cut
/// spec. Returns the order date.
async fn place_order(app: &TestApp, retailer: &Caller) -> NaiveDate {
    let id = retailer.info.retailer_id.expect("a retailer");
    let view: RetailerSettingsView = retailer
        .get_json(app, &format!("/api/replenishment/retailers/{id}"))
        .await;
    let usable = |scarce: bool| {
        view.terms
            .iter()
            .find(|t| {
                t.orderable && t.order_multiple == 1 && t.scarce == scarce && t.class_cap >= 3
            })
            .expect("an orderable spec")
    };
    let (cut, plain) = (usable(true), usable(false));
    let settings = json!([
        { "spec_id": cut.spec_id, "stock": 0, "lower": 1, "upper": cut.class_cap, "weekly_turnover": 14 },
        { "spec_id": plain.spec_id, "stock": 0, "lower": 1, "upper": plain.class_cap.min(10), "weekly_turnover": 0 },
    ]);
    let saved = retailer
        .send(
            app,
            Method::PUT,
            &format!("/api/replenishment/retailers/{id}/settings"),
            json!({ "version": view.version, "settings": settings }),
        )
        .await;
    assert_eq!(saved.status(), 200, "settings saved");
    let proposal: ProposalView = retailer
        .get_json(app, &format!("/api/replenishment/retailers/{id}/proposal"))
        .await;
    let lines: Vec<serde_json::Value> = proposal
        .lines
        .iter()
        .map(|l| {
            let quantity = if l.spec_id == cut.spec_id && l.quantity > 1 {
                l.quantity - 1
            } else {
                l.quantity
            };
            json!({ "spec_id": l.spec_id, "quantity": quantity })
        })
        .collect();
    let confirmed = retailer
        .send(
            app,
            Method::POST,
            &format!("/api/replenishment/retailers/{id}/orders"),
            json!({ "order_date": proposal.order_date, "lines": lines }),
        )
        .await;
    assert_eq!(confirmed.status(), 200, "the order is confirmed");
    proposal.order_date
}

/// Two signed-in retailers order for the same coming day (in three days),
/// then the center locks it.
async fn locked_day(app: &TestApp) -> Day {
    let center = caller(app, "center").await;
    let mut retailers = Vec::new();
    for n in 0..2 {
        retailers.push(caller(app, &app.retailer_login(n).await).await);
    }
    let date = today_china() + Days::new(3);
    let weekday = date.weekday().number_from_monday();
    let order_days: Vec<serde_json::Value> = retailers
        .iter()
        .map(|r| json!({ "retailer_id": r.info.retailer_id, "weekday": weekday }))
        .collect();
    change_policy(app, &center, json!({ "order_days": order_days })).await;
    for r in &retailers {
        assert_eq!(
            place_order(app, r).await,
            date,
            "the window of the coming day is open"
        );
    }
    lock(app, &center, date).await;
    Day {
        date,
        retailers,
        center,
    }
}

/// (order date, order id, licence, spec code, cartons) of the confirmed
/// orders' lines with cartons of `date`, straight from the tables.
async fn stored_lines(app: &TestApp, date: NaiveDate) -> Vec<(String, i64, String, String, i64)> {
    sqlx::query_as(
        "SELECT o.order_date, o.id, r.licence_no, s.code, l.quantity \
         FROM replenishment_orders o JOIN replenishment_order_lines l ON l.order_id = o.id \
         JOIN retailers r ON r.id = o.retailer_id JOIN specs s ON s.id = l.spec_id \
         WHERE o.order_date = $1 AND o.status = 'confirmed' AND l.quantity > 0 \
         ORDER BY r.licence_no, s.code",
    )
    .bind(date.to_string())
    .fetch_all(&app.db().pool)
    .await
    .expect("lines")
}

/// A CSV file's records (quoted fields with doubled quotes, as written).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

async fn a_locked_day_exports_its_lines_as_xlsx_and_csv_and_an_open_day_is_refused(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let day = locked_day(&app).await;
    let expected = stored_lines(&app, day.date).await;
    assert!(expected.len() >= 4, "two orders of two specs each");

    let csv = day
        .center
        .get(
            &app,
            &format!(
                "/api/replenishment/order-days/{}/export?format=csv&lang=zh-CN",
                day.date
            ),
        )
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .expect("header")
        .starts_with("text/csv"));
    let bytes = csv.bytes().await.expect("body");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with a BOM");
    let rows = parse_csv(std::str::from_utf8(&bytes[3..]).expect("UTF-8"));
    assert_eq!(
        rows[0],
        [
            "订货日期",
            "订单号",
            "许可证号",
            "零售户",
            "档位",
            "品规编码",
            "品规名称",
            "订货量（条）",
            "批发价（元/条）",
            "金额（元）",
            "导出时间"
        ]
    );
    let got: Vec<(String, i64, String, String, i64)> = rows[1..]
        .iter()
        .map(|r| {
            (
                r[0].clone(),
                r[1].parse().expect("order id"),
                r[2].clone(),
                r[5].clone(),
                r[7].parse().expect("cartons"),
            )
        })
        .collect();
    assert_eq!(
        got, expected,
        "one CSV line per retailer × spec with cartons"
    );
    // The amount is cartons × the wholesale price; not exported yet.
    for r in &rows[1..] {
        let cartons: f64 = r[7].parse().expect("a number");
        let price: f64 = r[8].parse().expect("a number");
        let amount: f64 = r[9].parse().expect("a number");
        assert!((cartons * price - amount).abs() < 0.005, "{r:?}");
        assert_eq!(r[10], "", "not marked exported yet");
    }
    let english = day
        .center
        .get(
            &app,
            &format!(
                "/api/replenishment/order-days/{}/export?format=csv&lang=en",
                day.date
            ),
        )
        .await
        .text()
        .await
        .expect("text");
    assert!(english
        .trim_start_matches('\u{feff}')
        .starts_with("Order date,Order id,Licence no"));

    let xlsx = day
        .center
        .get(
            &app,
            &format!("/api/replenishment/order-days/{}/export", day.date),
        )
        .await;
    assert_eq!(xlsx.status(), 200);
    assert!(xlsx.headers()["content-disposition"]
        .to_str()
        .expect("header")
        .contains(&format!("orders-{}.xlsx", day.date)));
    let bytes = xlsx.bytes().await.expect("body");
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let range = book.worksheet_range_at(0).expect("a sheet").expect("range");
    let sheet: Vec<(String, i64, String, String, i64)> = range
        .rows()
        .skip(1)
        .map(|r| {
            (
                r[0].to_string(),
                r[1].as_f64().expect("order id") as i64,
                r[2].to_string(),
                r[5].to_string(),
                r[7].as_f64().expect("cartons") as i64,
            )
        })
        .collect();
    assert_eq!(sheet, expected, "the workbook holds the same lines");

    // A day whose window is open: its orders may still change.
    let open = today_china() + Days::new(30);
    for response in [
        day.center
            .get(
                &app,
                &format!("/api/replenishment/order-days/{open}/export?format=csv"),
            )
            .await,
        day.center
            .send(
                &app,
                Method::POST,
                &format!("/api/replenishment/order-days/{open}/exported"),
                json!({}),
            )
            .await,
    ] {
        assert_eq!(response.status(), 409);
        let body: ErrorBody = response.json().await.expect("json");
        assert!(body.message.contains("尚未截止"), "{}", body.message);
    }
    for bad in [
        "/api/replenishment/order-days/2026-13-01/export",
        &format!(
            "/api/replenishment/order-days/{}/export?format=pdf",
            day.date
        ),
    ] {
        assert_eq!(day.center.get(&app, bad).await.status(), 422, "{bad}");
    }

    // The order days list the day as locked with its two orders.
    let days: OrderDays = day
        .center
        .get_json(&app, "/api/replenishment/order-days")
        .await;
    let listed = days
        .days
        .iter()
        .find(|d| d.date == day.date)
        .expect("the day is listed");
    assert!(!listed.open);
    assert_eq!(
        (listed.confirmed, listed.exported, listed.to_export()),
        (2, 0, 2)
    );
    assert_eq!(
        listed.cartons,
        expected.iter().map(|l| l.4).sum::<i64>(),
        "the day's cartons"
    );
    assert!(
        days.days.windows(2).all(|w| w[0].date > w[1].date),
        "newest first"
    );
    // A retailer may not export.
    assert_eq!(
        day.retailers[0]
            .get(
                &app,
                &format!("/api/replenishment/order-days/{}/export", day.date)
            )
            .await
            .status(),
        403
    );
}

async fn exported_marks(app: &TestApp, date: NaiveDate) -> Vec<(Option<i64>, Option<i64>)> {
    sqlx::query_as(
        "SELECT exported_at, exported_by FROM replenishment_orders WHERE order_date = $1 ORDER BY id",
    )
    .bind(date.to_string())
    .fetch_all(&app.db().pool)
    .await
    .expect("query")
}

async fn mark(app: &TestApp, who: &Caller, date: NaiveDate) -> MarkedExported {
    let response = who
        .send(
            app,
            Method::POST,
            &format!("/api/replenishment/order-days/{date}/exported"),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

async fn marking_a_day_exported_counts_each_order_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let day = locked_day(&app).await;
    let first = mark(&app, &day.center, day.date).await;
    assert_eq!(first.marked, 2);
    let marks = exported_marks(&app, day.date).await;
    assert!(marks
        .iter()
        .all(|m| m.0.is_some() && m.1 == Some(day.center.info.user_id)));
    let second = mark(&app, &day.center, day.date).await;
    assert_eq!(second.marked, 0, "a second call marks none");
    assert_eq!(
        exported_marks(&app, day.date).await,
        marks,
        "the first marks stand"
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'replenishment.orders.exported' AND entity_id = $1",
    )
    .bind(day.date.to_string())
    .fetch_one(&app.db().pool)
    .await
    .expect("query");
    assert_eq!(audited, 1, "the marking is audited once");
    // The export now carries the time (China time).
    let csv = day
        .center
        .get(
            &app,
            &format!(
                "/api/replenishment/order-days/{}/export?format=csv",
                day.date
            ),
        )
        .await
        .text()
        .await
        .expect("text");
    let rows = parse_csv(csv.trim_start_matches('\u{feff}'));
    let at = domain::audit::china_time_text(marks[0].0.expect("marked"));
    assert!(rows[1..].iter().all(|r| r[10] == at), "{rows:?}");
    let days: OrderDays = day
        .center
        .get_json(&app, "/api/replenishment/order-days")
        .await;
    let listed = days
        .days
        .iter()
        .find(|d| d.date == day.date)
        .expect("listed");
    assert_eq!((listed.exported, listed.to_export()), (2, 0));
}

/// Writes `count` confirmed orders of `date` (one per retailer, two lines
/// each) as the order window would have, and returns their ids.
async fn write_orders(app: &TestApp, date: NaiveDate, count: i64) -> Vec<i64> {
    let pool = &app.db().pool;
    let retailers: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, class_code FROM retailers ORDER BY id LIMIT $1")
            .bind(count)
            .fetch_all(pool)
            .await
            .expect("query");
    assert_eq!(retailers.len() as i64, count, "enough demo retailers");
    let specs: Vec<i64> = sqlx::query_scalar("SELECT id FROM specs ORDER BY id LIMIT 2")
        .fetch_all(pool)
        .await
        .expect("query");
    let center: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'center'")
        .fetch_one(pool)
        .await
        .expect("query");
    let mut ids = Vec::new();
    for (n, (retailer, class)) in retailers.into_iter().enumerate() {
        let n = n as i64;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO replenishment_orders (retailer_id, order_date, confirmed_at, confirmed_by, \
             total_cartons, total_fen, status, version, class_code) \
             VALUES ($1, $2, 0, $3, 0, 0, 'confirmed', 1, $4) RETURNING id",
        )
        .bind(retailer)
        .bind(date.to_string())
        .bind(center)
        .bind(class)
        .fetch_one(pool)
        .await
        .expect("query");
        // wanted, proposed (what the caps allowed), quantity ordered.
        for (k, spec) in specs.iter().enumerate() {
            let k = k as i64;
            let wanted = 5 + n % 3 + k * 2;
            let proposed = wanted - (n + k) % 3;
            let quantity = proposed - k;
            sqlx::query(
                "INSERT INTO replenishment_order_lines (order_id, spec_id, wanted, proposed, quantity, cut_off) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(spec)
            .bind(wanted)
            .bind(proposed)
            .bind(quantity)
            .bind(wanted - proposed)
            .execute(pool)
            .await
            .expect("query");
        }
        ids.push(id);
    }
    ids
}

async fn calls_at_once_mark_every_order_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let date = NaiveDate::from_ymd_opt(2026, 10, 7).expect("a date");
    let ids = write_orders(&app, date, 20).await;
    let center = caller(&app, "center").await;
    let path = format!("/api/replenishment/order-days/{date}/exported");
    let calls = (0..8).map(|_| center.send(&app, Method::POST, &path, json!({})));
    let mut marked = 0;
    for response in futures::future::join_all(calls).await {
        assert_eq!(response.status(), 200, "no call fails");
        let done: MarkedExported = response.json().await.expect("json");
        marked += done.marked;
    }
    assert_eq!(marked, ids.len() as i64, "the counts add up to the orders");
    let unmarked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM replenishment_orders WHERE order_date = $1 AND exported_at IS NULL",
    )
    .bind(date.to_string())
    .fetch_one(&app.db().pool)
    .await
    .expect("query");
    assert_eq!(unmarked, 0);
}

/// The delivery file's header and a row per (licence, spec code, cartons).
fn delivery_csv(date: NaiveDate, rows: &[(String, String, i64)]) -> String {
    let mut text = String::from("订货日期,许可证号,品规编码,到货数量\n");
    for (licence, spec, cartons) in rows {
        text.push_str(&format!("{date},{licence},{spec},{cartons}\n"));
    }
    text
}

async fn upload(app: &TestApp, who: &Caller, body: Vec<u8>) -> reqwest::Response {
    who.client
        .post(app.url("/api/replenishment/deliveries"))
        .header("X-CSRF-Token", &who.csrf)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("upload")
}

/// (order id, spec code, ordered, delivered) of `date`'s lines, and the
/// orders' delivered_at.
async fn deliveries(
    app: &TestApp,
    date: NaiveDate,
) -> (Vec<(i64, String, i64, Option<i64>)>, Vec<Option<i64>>) {
    let pool = &app.db().pool;
    let lines = sqlx::query_as(
        "SELECT o.id, s.code, l.quantity, l.delivered FROM replenishment_orders o \
         JOIN replenishment_order_lines l ON l.order_id = o.id JOIN specs s ON s.id = l.spec_id \
         WHERE o.order_date = $1 ORDER BY o.id, s.code",
    )
    .bind(date.to_string())
    .fetch_all(pool)
    .await
    .expect("query");
    let at = sqlx::query_scalar(
        "SELECT delivered_at FROM replenishment_orders WHERE order_date = $1 ORDER BY id",
    )
    .bind(date.to_string())
    .fetch_all(pool)
    .await
    .expect("query");
    (lines, at)
}

async fn a_delivery_file_loads_in_csv_gb18030_and_xlsx_and_loads_again_the_same(backend: Backend) {
    let app = spawn_app(backend).await;
    let day = locked_day(&app).await;
    let lines = stored_lines(&app, day.date).await;
    // The first order is delivered in full; the second's first spec one
    // carton short and its other lines left out of the file (0 delivered).
    let second = lines.iter().map(|l| l.1).max().expect("an order");
    // (order id, spec code) → cartons in the file.
    let mut in_file: std::collections::HashMap<(i64, String), i64> = Default::default();
    let mut rows = Vec::new();
    for l in &lines {
        let delivered = match (l.1 == second, in_file.keys().any(|k| k.0 == second)) {
            (false, _) => l.4,
            (true, false) => l.4 - 1,
            (true, true) => continue,
        };
        in_file.insert((l.1, l.3.clone()), delivered);
        rows.push((l.2.clone(), l.3.clone(), delivered));
    }
    let expected_cartons: i64 = in_file.values().sum();
    let text = delivery_csv(day.date, &rows);
    let order_lines: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM replenishment_order_lines l JOIN replenishment_orders o ON o.id = l.order_id \
         WHERE o.order_date = $1",
    )
    .bind(day.date.to_string())
    .fetch_one(&app.db().pool)
    .await
    .expect("query");
    let response = upload(&app, &day.center, text.clone().into_bytes()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let loaded: DeliveriesLoaded = response.json().await.expect("json");
    assert_eq!(
        loaded,
        DeliveriesLoaded {
            rows: rows.len() as i64,
            orders: 2,
            cartons: expected_cartons,
            missing_lines: order_lines - rows.len() as i64,
        }
    );
    let (stored, at) = deliveries(&app, day.date).await;
    for (order, code, ordered, delivered) in &stored {
        assert_eq!(
            *delivered,
            Some(in_file.get(&(*order, code.clone())).copied().unwrap_or(0)),
            "order {order} spec {code} (ordered {ordered}): as in the file, else 0"
        );
    }
    assert!(at.iter().all(Option::is_some), "both orders delivered");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'replenishment.deliveries.load'",
    )
    .fetch_one(&app.db().pool)
    .await
    .expect("query");
    assert_eq!(audited, 1, "one audit row per upload");

    // The same file again, as GB18030 and as a workbook: the same values.
    let (gb, _, _) = encoding_rs::GB18030.encode(&text);
    let again = upload(&app, &day.center, gb.into_owned()).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        deliveries(&app, day.date).await,
        (stored.clone(), at.clone())
    );

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Order date", "Licence no", "Spec code", "Delivered"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).expect("workbook");
    }
    for (r, (licence, spec, cartons)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet
            .write_string(r, 0, day.date.to_string())
            .expect("workbook");
        sheet.write_string(r, 1, licence).expect("workbook");
        sheet.write_string(r, 2, spec).expect("workbook");
        sheet.write_number(r, 3, *cartons as f64).expect("workbook");
    }
    let xlsx = upload(&app, &day.center, book.save_to_buffer().expect("workbook")).await;
    assert_eq!(xlsx.status(), 200, "{:?}", xlsx.text().await);
    assert_eq!(
        deliveries(&app, day.date).await,
        (stored, at),
        "reloading is harmless"
    );

    let days: OrderDays = day
        .center
        .get_json(&app, "/api/replenishment/order-days")
        .await;
    let listed = days
        .days
        .iter()
        .find(|d| d.date == day.date)
        .expect("listed");
    assert_eq!(
        (listed.delivered, listed.delivered_cartons),
        (2, expected_cartons)
    );
}

async fn bad_delivery_rows_are_named_by_line_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let day = locked_day(&app).await;
    let lines = stored_lines(&app, day.date).await;
    let first = &lines[0];
    let other_spec: String = sqlx::query_scalar(
        "SELECT code FROM specs WHERE id NOT IN (SELECT spec_id FROM replenishment_order_lines) ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.db().pool)
    .await
    .expect("query");
    let before = deliveries(&app, day.date).await;
    let text = format!(
        "订货日期,许可证号,品规编码,到货数量\n\
         {d},{l},{s},{ok}\n\
         {d},{l},{s},{over}\n\
         {d},999999999999,{s},1\n\
         {d},{l},{other},1\n\
         someday,{l},{s},1\n\
         {d},{l},{s2},-1\n",
        d = day.date,
        l = first.2,
        s = first.3,
        ok = first.4,
        over = first.4 + 1,
        other = other_spec,
        s2 = lines[1].3,
    );
    let response = upload(&app, &day.center, text.into_bytes()).await;
    assert_eq!(response.status(), 422);
    let body: ErrorBody = response.json().await.expect("json");
    assert!(body.message.contains("未导入任何数据"), "{}", body.message);
    let field = |line: u32| {
        body.fields
            .get(&format!("rows.{line}"))
            .map(|m| m[0].clone())
    };
    assert_eq!(field(2), None, "line 2 is fine");
    assert_eq!(field(3), Some("与第 2 行重复".to_string()));
    assert_eq!(field(4), Some("许可证号 999999999999 不存在".to_string()));
    assert_eq!(field(5), Some("订单中没有该品规".to_string()));
    assert!(
        field(6)
            .expect("an error at the line")
            .starts_with("订货日期"),
        "{body}"
    );
    assert!(
        field(7)
            .expect("an error at the line")
            .contains("不能为负数"),
        "{body}"
    );
    assert_eq!(
        deliveries(&app, day.date).await,
        before,
        "nothing was stored"
    );

    // Delivered above ordered, alone.
    let over = format!(
        "订货日期,许可证号,品规编码,到货数量\n{},{},{},{}\n",
        day.date,
        first.2,
        first.3,
        first.4 + 1
    );
    let response = upload(&app, &day.center, over.into_bytes()).await;
    assert_eq!(response.status(), 422);
    let body: ErrorBody = response.json().await.expect("json");
    assert_eq!(
        body.fields.get("rows.2").map(|m| m[0].clone()),
        Some(format!("到货数量不能超过订货量 {} 条", first.4))
    );
    // No header, no rows, not a table.
    for (file, field) in [
        (
            format!("{},{},{},1\n", day.date, first.2, first.3),
            "rows.1",
        ),
        ("订货日期,许可证号,品规编码,到货数量\n".to_string(), "file"),
    ] {
        let response = upload(&app, &day.center, file.into_bytes()).await;
        assert_eq!(response.status(), 422);
        let body: ErrorBody = response.json().await.expect("json");
        assert!(body.fields.contains_key(field), "{body}");
    }
    let response = upload(&app, &day.center, vec![0, 159, 146, 150]).await;
    assert_eq!(response.status(), 422);
    // The retailer's next order day, whose window is open: its order may
    // still change, so nothing can be delivered (nor exported) yet.
    let me = &day.retailers[0];
    let id = me.info.retailer_id.expect("a retailer");
    let proposal: ProposalView = me
        .get_json(&app, &format!("/api/replenishment/retailers/{id}/proposal"))
        .await;
    let next = proposal.order_date;
    assert!(next > day.date, "the next window is a later day");
    let placed = me
        .send(
            &app,
            Method::POST,
            &format!("/api/replenishment/retailers/{id}/orders"),
            json!({ "order_date": next, "lines": [{ "spec_id": proposal.lines[0].spec_id, "quantity": 1 }] }),
        )
        .await;
    assert_eq!(placed.status(), 200);
    let open = stored_lines(&app, next).await;
    let response = upload(
        &app,
        &day.center,
        format!(
            "订货日期,许可证号,品规编码,到货数量\n{next},{},{},1\n",
            open[0].2, open[0].3
        )
        .into_bytes(),
    )
    .await;
    assert_eq!(response.status(), 422);
    let body: ErrorBody = response.json().await.expect("json");
    assert!(body.fields["rows.2"][0].contains("尚未截止"), "{body}");
    assert_eq!(
        day.center
            .get(
                &app,
                &format!("/api/replenishment/order-days/{next}/export")
            )
            .await
            .status(),
        409
    );
    let unknown_day = next + Days::new(1);
    let response = upload(
        &app,
        &day.center,
        format!(
            "订货日期,许可证号,品规编码,到货数量\n{unknown_day},{},{},1\n",
            first.2, first.3
        )
        .into_bytes(),
    )
    .await;
    assert_eq!(response.status(), 422);
    let body: ErrorBody = response.json().await.expect("json");
    assert_eq!(body.fields["rows.2"][0], "该零售户在该订货日没有订单");
    assert_eq!(
        deliveries(&app, day.date).await,
        before,
        "still nothing stored"
    );
    assert_eq!(
        upload(&app, &day.retailers[0], b"x".to_vec())
            .await
            .status(),
        403
    );
}

async fn a_months_delivered_orders_become_its_actual_orders(backend: Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let pool = &app.db().pool;
    // Two order days of October, the second one's last order not delivered.
    let (first, second) = (
        NaiveDate::from_ymd_opt(2026, 10, 7).expect("a date"),
        NaiveDate::from_ymd_opt(2026, 10, 14).expect("a date"),
    );
    write_orders(&app, first, 3).await;
    let later = write_orders(&app, second, 3).await;
    let mut text = String::from("许可证号,品规编码,订货日期,到货数量（条）\n");
    let lines: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT r.licence_no, s.code, o.order_date, l.quantity, o.id FROM replenishment_orders o \
         JOIN replenishment_order_lines l ON l.order_id = o.id JOIN retailers r ON r.id = o.retailer_id \
         JOIN specs s ON s.id = l.spec_id WHERE o.id <> $1 ORDER BY o.id, s.code",
    )
    .bind(later[2])
    .fetch_all(pool)
    .await
    .expect("query");
    for (licence, spec, date, quantity, _) in &lines {
        // Columns in another order than documented: the header says which.
        text.push_str(&format!("{licence},{spec},{date},{}\n", quantity - 1));
    }
    let response = upload(&app, &center, text.into_bytes()).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);

    let before: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM monthly_orders WHERE month = '2026-10'")
            .fetch_one(pool)
            .await
            .expect("query");
    assert!(before > 0, "the demo's October orders are loaded");
    let response = center
        .send(
            &app,
            Method::POST,
            "/api/replenishment/actuals-from-orders",
            json!({ "month": "2026-10" }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let done: ActualsFromOrders = response.json().await.expect("json");
    // Delivered lines summed per retailer × spec, from the tables.
    let expected: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT o.retailer_id, l.spec_id, CAST(SUM(l.delivered) AS BIGINT) FROM replenishment_orders o \
         JOIN replenishment_order_lines l ON l.order_id = o.id \
         WHERE o.delivered_at IS NOT NULL AND o.status = 'confirmed' AND o.order_date LIKE '2026-10-%' \
         GROUP BY o.retailer_id, l.spec_id HAVING SUM(l.delivered) > 0 ORDER BY o.retailer_id, l.spec_id",
    )
    .fetch_all(pool)
    .await
    .expect("query");
    let actual: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT retailer_id, spec_id, cartons FROM monthly_orders WHERE month = '2026-10' ORDER BY retailer_id, spec_id",
    )
    .fetch_all(pool)
    .await
    .expect("query");
    assert_eq!(
        actual, expected,
        "the month's actual orders are the delivered lines"
    );
    assert_eq!(done.orders, 5, "the undelivered order is left out");
    assert_eq!(done.rows, expected.len() as i64);
    assert_eq!(done.cartons, expected.iter().map(|e| e.2).sum::<i64>());
    // The totals accuracy and the dashboard read follow, as after an upload.
    let totals: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(cartons), 0) AS BIGINT) FROM monthly_spec_totals WHERE month = '2026-10'",
    )
    .fetch_one(pool)
    .await
    .expect("query");
    assert_eq!(totals, done.cartons);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'forecast.actuals.from_orders' AND entity_id = '2026-10'",
    )
    .fetch_one(pool)
    .await
    .expect("query");
    assert_eq!(audited, 1);

    let september: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM monthly_orders WHERE month = '2026-09'")
            .fetch_one(pool)
            .await
            .expect("query");
    let next_year = format!("{}-01", today_china().year() + 1);
    for month in ["2026-13", "october", "2026-09", next_year.as_str()] {
        let response = center
            .send(
                &app,
                Method::POST,
                "/api/replenishment/actuals-from-orders",
                json!({ "month": month }),
            )
            .await;
        assert_eq!(response.status(), 422, "{month}");
        let body: ErrorBody = response.json().await.expect("json");
        assert!(body.fields.contains_key("month"), "{month}: {body}");
    }
    let after: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM monthly_orders WHERE month = '2026-09'")
            .fetch_one(pool)
            .await
            .expect("query");
    assert_eq!(
        after, september,
        "a month without deliveries keeps its actual orders"
    );
}

async fn the_fill_rate_equals_a_recomputation_from_the_order_lines(backend: Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let pool = &app.db().pool;
    let (first, second) = (
        NaiveDate::from_ymd_opt(2026, 10, 7).expect("a date"),
        NaiveDate::from_ymd_opt(2026, 10, 14).expect("a date"),
    );
    write_orders(&app, first, 6).await;
    let later = write_orders(&app, second, 4).await;
    // A cancelled order counts nowhere.
    sqlx::query("UPDATE replenishment_orders SET status = 'cancelled' WHERE id = $1")
        .bind(later[0])
        .execute(pool)
        .await
        .expect("query");
    let report: FillRateReport = center
        .get_json(
            &app,
            "/api/replenishment/fill-rate?from=2026-10-01&to=2026-10-31",
        )
        .await;
    let expected: Vec<(i64, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT l.spec_id, o.class_code, CAST(SUM(l.wanted) AS BIGINT), CAST(SUM(l.proposed) AS BIGINT), \
                CAST(SUM(l.quantity) AS BIGINT), COUNT(DISTINCT CASE WHEN l.proposed < l.wanted THEN o.retailer_id END) \
         FROM replenishment_order_lines l JOIN replenishment_orders o ON o.id = l.order_id \
         WHERE o.status = 'confirmed' AND o.order_date BETWEEN '2026-10-01' AND '2026-10-31' \
         GROUP BY l.spec_id, o.class_code",
    )
    .fetch_all(pool)
    .await
    .expect("query");
    let mut got: Vec<(i64, String, i64, i64, i64, i64)> = report
        .by_spec_class
        .iter()
        .map(|r| {
            (
                r.spec_id,
                r.class_code.clone(),
                r.demand.wanted,
                r.demand.allowed,
                r.demand.ordered,
                r.retailers_cut,
            )
        })
        .collect();
    let mut sorted = expected.clone();
    sorted.sort();
    got.sort();
    assert_eq!(got, sorted, "spec × class sums equal the lines");
    assert!(
        report
            .by_spec_class
            .windows(2)
            .all(|w| w[0].demand.cut() >= w[1].demand.cut()),
        "largest cut first"
    );
    for r in &report.by_spec_class {
        let d = r.demand;
        assert_eq!(d.cut(), (d.wanted - d.allowed).max(0));
        assert_eq!(
            d.fill_rate(),
            (d.wanted > 0).then(|| (d.allowed as f64 / d.wanted as f64).min(1.0))
        );
    }
    let total_wanted: i64 = expected.iter().map(|e| e.2).sum();
    assert_eq!(report.total.wanted, total_wanted);
    assert_eq!(
        report.total.ordered,
        expected.iter().map(|e| e.4).sum::<i64>()
    );
    // By week: October 7 and 14 are Wednesdays of the weeks of the 5th and 12th.
    let week = |d: u32| NaiveDate::from_ymd_opt(2026, 10, d).expect("a date");
    assert_eq!(
        report.by_week.first().expect("a week").week,
        week(1) - Days::new(3),
        "the week of Oct 1 starts on Monday Sep 28"
    );
    assert_eq!(report.by_week.len(), 5);
    let by_day: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT o.order_date, CAST(SUM(l.wanted) AS BIGINT), CAST(SUM(l.proposed) AS BIGINT), CAST(SUM(l.quantity) AS BIGINT) \
         FROM replenishment_order_lines l JOIN replenishment_orders o ON o.id = l.order_id \
         WHERE o.status = 'confirmed' GROUP BY o.order_date ORDER BY o.order_date",
    )
    .fetch_all(pool)
    .await
    .expect("query");
    for (day, monday) in [(first, week(5)), (second, week(12))] {
        let w = report
            .by_week
            .iter()
            .find(|w| w.week == monday)
            .expect("the week");
        let d = by_day
            .iter()
            .find(|d| d.0 == day.to_string())
            .expect("header");
        assert_eq!(
            (w.demand.wanted, w.demand.allowed, w.demand.ordered),
            (d.1, d.2, d.3),
            "week of {monday}"
        );
    }
    assert!(report
        .by_week
        .iter()
        .filter(|w| w.week != week(5) && w.week != week(12))
        .all(|w| w.demand.wanted == 0));

    let book = center
        .get(
            &app,
            "/api/replenishment/fill-rate?from=2026-10-01&to=2026-10-31&format=xlsx&lang=zh-CN",
        )
        .await;
    assert_eq!(book.status(), 200);
    let bytes = book.bytes().await.expect("body");
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    assert_eq!(book.sheet_names(), ["品规×档位", "按周"]);
    let range = book.worksheet_range("品规×档位").expect("workbook");
    assert_eq!(range.height(), report.by_spec_class.len() + 1);

    // The default period: 8 whole weeks.
    let default: FillRateReport = center.get_json(&app, "/api/replenishment/fill-rate").await;
    assert_eq!(default.by_week.len(), 8);
    assert_eq!(default.from.weekday(), chrono::Weekday::Mon);
    for bad in [
        "from=2026-10-31&to=2026-10-01",
        "from=2025-01-01&to=2026-10-31",
        "from=2026-10-32",
        "format=pdf",
    ] {
        let response = center
            .get(&app, &format!("/api/replenishment/fill-rate?{bad}"))
            .await;
        assert_eq!(response.status(), 422, "{bad}");
    }
    let manager = caller(&app, "cm01").await;
    assert_eq!(
        manager
            .get(&app, "/api/replenishment/fill-rate")
            .await
            .status(),
        403
    );
}

async fn oversized_delivery_files_are_refused_naming_the_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let mut rows = String::from("订货日期,许可证号,品规编码,到货数量\n");
    for _ in 0..300_001 {
        rows.push_str("2026-10-07,1,2,3\n");
    }
    for (name, body, status, says) in [
        (
            "300,001 data rows",
            rows.into_bytes(),
            422,
            "文件超过 300,000 行上限",
        ),
        (
            "a line of 5 MiB",
            vec![b'7'; 5 * 1024 * 1024],
            422,
            "字节上限",
        ),
        (
            "a 33 MiB body",
            vec![b'7'; 33 * 1024 * 1024],
            413,
            "请求内容过大",
        ),
        ("binary", vec![0, 1, 2, 3], 422, "无法读取该文件"),
        ("nothing", Vec::new(), 422, "请选择到货文件"),
    ] {
        let response = upload(&app, &center, body).await;
        assert_eq!(response.status(), status, "{name}");
        let body: ErrorBody = response.json().await.expect("json");
        assert!(body.message.contains(says), "{name}: {}", body.message);
    }
    let delivered: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM replenishment_order_lines WHERE delivered IS NOT NULL",
    )
    .fetch_one(&app.db().pool)
    .await
    .expect("query");
    assert_eq!(delivered, 0, "nothing stored");
}
