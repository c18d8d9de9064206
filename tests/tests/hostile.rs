//! Hostile input: oversized bodies, deep JSON, huge numbers, negative and
//! fractional cartons, unknown spec codes, bad UTF-8 and files that are not
//! spreadsheets. Each gets a 4xx with the project's error body and a
//! message in Chinese, and nothing is stored. The session cookie's flags
//! follow the configuration.

use domain::{ErrorBody, ErrorCode};
use e2e::forecast::{open_cycle, sheet};
use e2e::{caller, on_both_databases, spawn_app, spawn_app_on, Backend, Caller, TestApp};
use reqwest::Method;
use serde_json::json;
use server::config::Config;

on_both_databases!(
    hostile_bodies_get_a_clear_4xx_and_store_nothing,
    the_session_cookie_is_secure_when_served_behind_https,
);

/// Everything a refused write could have touched, summed.
async fn stored(app: &TestApp) -> Vec<i64> {
    let pool = &app.db().pool;
    let mut figures = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM forecast_lines",
        "SELECT COALESCE(CAST(SUM(entered) AS BIGINT), 0) FROM forecast_lines",
        "SELECT COUNT(*) FROM retailer_specs",
        "SELECT CAST(SUM(stock + lower_limit + upper_limit + weekly_turnover) AS BIGINT) FROM retailer_specs",
        "SELECT COUNT(*) FROM settings_changes",
        "SELECT COUNT(*) FROM monthly_orders",
        "SELECT CAST(SUM(cartons) AS BIGINT) FROM monthly_orders",
        "SELECT COUNT(*) FROM audit_log WHERE action NOT IN ('login', 'login_failed')",
        "SELECT COUNT(*) FROM replenishment_orders",
    ] {
        figures.push(
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        );
    }
    figures
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    content_type: &'static str,
    body: Vec<u8>,
    status: &'static [u16],
    /// A field the error must name.
    field: Option<&'static str>,
}

fn json_case(
    name: &'static str,
    method: Method,
    path: &str,
    body: &str,
    status: &'static [u16],
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        method,
        path: path.to_string(),
        content_type: "application/json",
        body: body.as_bytes().to_vec(),
        status,
        field,
    }
}

async fn send(app: &TestApp, who: &Caller, case: &Case) -> (u16, String) {
    let response = who
        .client
        .request(case.method.clone(), app.url(&case.path))
        .header("X-CSRF-Token", &who.csrf)
        .header("content-type", case.content_type)
        .body(case.body.clone())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

async fn hostile_bodies_get_a_clear_4xx_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, domain::forecast::Scope::All, 2).await;
    let cm = caller(&app, "cm01").await;
    let view = sheet(&cm, &app, cycle.id).await;
    let (retailer, spec) = (view.rows[0].retailer_id, view.specs[0].spec_id);
    let shop_login = app.retailer_login(0).await;
    let shop = caller(&app, &shop_login).await;
    let shop_id = shop.info.retailer_id.expect("a retailer");
    let settings: domain::replenishment::RetailerSettingsView = shop
        .get_json(&app, &format!("/api/replenishment/retailers/{shop_id}"))
        .await;
    let center = caller(&app, "center").await;
    let before = stored(&app).await;

    let cells = format!("/api/forecast/cycles/{}/sheet/cells", cycle.id);
    let cell = |value: &str, reason: &str| {
        format!(
            r#"{{"cells":[{{"retailer_id":{retailer},"spec_id":{spec},"value":{value},"reason":{reason},"base_revision":0}}]}}"#
        )
    };
    let settings_path = format!("/api/replenishment/retailers/{shop_id}/settings");
    let setting = |spec_id: i64, stock: &str| {
        format!(
            r#"{{"version":{},"settings":[{{"spec_id":{spec_id},"stock":{stock},"lower":1,"upper":5,"weekly_turnover":2}}]}}"#,
            settings.version
        )
    };
    let own_spec = settings.settings[0].spec_id;
    // A valid request made too large: 5 MiB of cells.
    let many: Vec<serde_json::Value> = (0..70_000)
        .map(|i| json!({ "retailer_id": retailer, "spec_id": spec, "value": i, "reason": "x".repeat(40), "base_revision": 0 }))
        .collect();
    let oversized = serde_json::to_vec(&json!({ "cells": many })).expect("json");
    assert!(oversized.len() > 4 * 1024 * 1024);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!(
        r#"{{"cells":[{{"retailer_id":{retailer},"spec_id":{spec},"value":1,"reason":{}null{},"base_revision":0}}]}}"#,
        "{\"a\":".repeat(5_000),
        "}".repeat(5_000)
    );
    let mut bad_utf8 = cell("1", "\"ok\"").into_bytes();
    let at = bad_utf8
        .windows(2)
        .position(|w| w == b"ok")
        .expect("reason");
    bad_utf8[at] = 0xff;
    bad_utf8[at + 1] = 0xfe;

    let mut cases = vec![
        Case {
            name: "a 5 MiB sheet save",
            method: Method::PUT,
            path: cells.clone(),
            content_type: "application/json",
            body: oversized,
            status: &[413],
            field: None,
        },
        json_case(
            "100,000 nested arrays",
            Method::PUT,
            &cells,
            &deep,
            &[400, 422],
            None,
        ),
        json_case(
            "5,000 nested objects",
            Method::PUT,
            &cells,
            &deep_object,
            &[400, 422],
            None,
        ),
        json_case(
            "a number beyond i64",
            Method::PUT,
            &cells,
            &cell("123456789012345678901234567890", "null"),
            &[422],
            None,
        ),
        json_case(
            "1e400",
            Method::PUT,
            &cells,
            &cell("1e400", "null"),
            &[400, 422],
            None,
        ),
        json_case(
            "i64::MAX cartons",
            Method::PUT,
            &cells,
            &cell("9223372036854775807", "null"),
            &[422],
            Some("cells.0.value"),
        ),
        json_case(
            "negative cartons",
            Method::PUT,
            &cells,
            &cell("-3", "null"),
            &[422],
            Some("cells.0.value"),
        ),
        json_case(
            "fractional cartons",
            Method::PUT,
            &cells,
            &cell("2.5", "null"),
            &[422],
            None,
        ),
        json_case(
            "NaN",
            Method::PUT,
            &cells,
            &cell("NaN", "null"),
            &[400],
            None,
        ),
        json_case(
            "an unknown spec",
            Method::PUT,
            &cells,
            &format!(
                r#"{{"cells":[{{"retailer_id":{retailer},"spec_id":999999,"value":1,"base_revision":0}}]}}"#
            ),
            &[422],
            Some("cells.0.retailer_id"),
        ),
        json_case(
            "a reason of 100,000 characters",
            Method::PUT,
            &cells,
            &cell("1", &format!("\"{}\"", "长".repeat(100_000))),
            &[422],
            Some("cells.0.reason"),
        ),
        Case {
            name: "bad UTF-8 in a reason",
            method: Method::PUT,
            path: cells.clone(),
            content_type: "application/json",
            body: bad_utf8,
            status: &[400],
            field: None,
        },
        json_case(
            "negative stock",
            Method::PUT,
            &settings_path,
            &setting(own_spec, "-1"),
            &[422],
            Some("settings.0.stock"),
        ),
        json_case(
            "fractional stock",
            Method::PUT,
            &settings_path,
            &setting(own_spec, "1.5"),
            &[422],
            None,
        ),
        json_case(
            "huge stock",
            Method::PUT,
            &settings_path,
            &setting(own_spec, "1e30"),
            &[400, 422],
            None,
        ),
        json_case(
            "a setting for an unknown spec",
            Method::PUT,
            &settings_path,
            &setting(999_999, "1"),
            &[422],
            Some("settings.0.spec_id"),
        ),
    ];
    let import = format!("/api/forecast/cycles/{}/sheet/import", cycle.id);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(std::iter::repeat_n(0u8, 512));
    // An empty zip archive: the container of xlsx, with no workbook in it.
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.extend([0u8; 18]);
    let unknown_code = {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let ws = workbook.add_worksheet();
        ws.write_string(0, 0, "许可证号").expect("write");
        ws.write_string(1, 4, "NOT-A-SPEC").expect("write");
        ws.write_string(2, 0, &view.rows[0].licence_no)
            .expect("write");
        ws.write_number(2, 4, 5.0).expect("write");
        workbook.save_to_buffer().expect("xlsx")
    };
    for (name, body, field) in [
        ("a PNG as the sheet", png.clone(), Some("file")),
        ("an empty zip as the sheet", empty_zip.clone(), Some("file")),
        (
            "random bytes as the sheet",
            (0..4096).map(|i| (i * 7919 % 251) as u8).collect(),
            Some("file"),
        ),
        ("an empty sheet file", Vec::new(), Some("file")),
        (
            "a workbook with an unknown spec code",
            unknown_code,
            Some("E2"),
        ),
    ] {
        cases.push(Case {
            name,
            method: Method::POST,
            path: import.clone(),
            content_type: "application/octet-stream",
            body,
            status: &[422],
            field,
        });
    }
    let actuals = "/api/forecast/actuals?month=2026-09".to_string();
    let mut bad_csv = b"licence_no,spec_code,cartons\n".to_vec();
    bad_csv.extend(b"\xff\xfe\xfd,\xc3\x28,1\n");
    for (name, body) in [
        ("a PNG as actual orders", png),
        ("an empty zip as actual orders", empty_zip),
        ("bad UTF-8 in actual orders", bad_csv),
    ] {
        cases.push(Case {
            name,
            method: Method::POST,
            path: actuals.clone(),
            content_type: "application/octet-stream",
            body,
            status: &[422],
            field: None,
        });
    }

    let mut seen = Vec::new();
    for case in &cases {
        let who = if case.path.starts_with("/api/replenishment") {
            &shop
        } else if case.path.starts_with("/api/forecast/actuals") {
            &center
        } else {
            &cm
        };
        let (status, text) = send(&app, who, case).await;
        assert!(
            case.status.contains(&status),
            "{}: {status}, expected {:?}: {text:.300}",
            case.name,
            case.status
        );
        let body: ErrorBody = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "{}: not the project's error body ({e}): {text:.300}",
                case.name
            )
        });
        assert!(
            has_chinese(&body.message),
            "{}: the message is in Chinese: {}",
            case.name,
            body.message
        );
        assert_ne!(body.code, ErrorCode::Internal, "{}", case.name);
        if let Some(field) = case.field {
            assert!(
                body.fields.contains_key(field),
                "{}: names {field}: {:?}",
                case.name,
                body.fields
            );
        }
        assert_eq!(stored(&app).await, before, "{}: nothing stored", case.name);
        seen.push(format!("{} → {status}", case.name));
    }
    // The server is still well after all of it.
    let health = app
        .client()
        .get(app.url("/api/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 204);
    println!("hostile bodies: {}", seen.join("; "));
}

async fn the_session_cookie_is_secure_when_served_behind_https(backend: Backend) {
    let config = Config {
        secure_cookies: true,
        ..Config::local(String::new())
    };
    let db = std::sync::Arc::new(e2e::TestDb::new(backend).await);
    let app = spawn_app_on(db, config, true).await;
    let response = app
        .client()
        .post(app.url("/api/auth/login"))
        .json(&json!({ "login": "center", "password": e2e::DEMO_PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Domain="), "host-only: {cookie}");
}
