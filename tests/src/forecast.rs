//! Forecast helpers shared by the API and browser tests: open a cycle, read
//! and save a sheet, fill it from the baseline.

use domain::forecast::view::{CycleList, CycleView, SheetView};
use domain::forecast::Scope;
use reqwest::Method;
use serde_json::{json, Value};

use crate::{caller, Caller, TestApp};

pub async fn spec_ids(app: &TestApp, n: i64) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM specs ORDER BY id LIMIT $1")
        .bind(n)
        .fetch_all(&app.db().pool)
        .await
        .expect("specs")
}

/// Opens a cycle for the first month open for entry; returns it.
pub async fn open_cycle(app: &TestApp, scope: Scope, specs: usize) -> CycleView {
    let center = caller(app, "center").await;
    let list: CycleList = center.get_json(app, "/api/forecast/cycles").await;
    let ids = spec_ids(app, specs as i64).await;
    let response = center
        .send(
            app,
            Method::POST,
            "/api/forecast/cycles",
            json!({ "month": list.default_month, "spec_ids": ids, "scope": scope }),
        )
        .await;
    assert_eq!(response.status(), 200, "the cycle opens");
    response.json().await.expect("cycle")
}

pub async fn sheet(who: &Caller, app: &TestApp, cycle: i64) -> SheetView {
    who.get_json(app, &format!("/api/forecast/cycles/{cycle}/sheet"))
        .await
}

pub async fn save(who: &Caller, app: &TestApp, cycle: i64, cells: Value) -> reqwest::Response {
    who.send(
        app,
        Method::PUT,
        &format!("/api/forecast/cycles/{cycle}/sheet/cells"),
        json!({ "cells": cells }),
    )
    .await
}

pub async fn fill_with_baseline(cm: &Caller, app: &TestApp, view: &SheetView) {
    let cells: Vec<Value> = view
        .rows
        .iter()
        .enumerate()
        .flat_map(|(r, row)| {
            view.specs.iter().enumerate().map(move |(s, spec)| {
                let i = view.index(r, s);
                json!({ "retailer_id": row.retailer_id, "spec_id": spec.spec_id, "value": view.baseline[i].min(view.bound[i]), "base_revision": view.revision[i] })
            })
        })
        .collect();
    let response = save(cm, app, view.cycle.id, json!(cells)).await;
    assert_eq!(response.status(), 200, "the sheet fills");
}

/// `login` enters `value` cartons in every cell of their sheet (with a
/// reason, as it may be far from the baseline) and submits; returns the sheet.
pub async fn submit_every_cell(app: &TestApp, cycle: i64, login: &str, value: i64) -> SheetView {
    let cm = caller(app, login).await;
    let view = sheet(&cm, app, cycle).await;
    let cells: Vec<Value> = view
        .rows
        .iter()
        .flat_map(|row| {
            view.specs.iter().map(move |spec| json!({ "retailer_id": row.retailer_id, "spec_id": spec.spec_id, "value": value, "reason": "走访确认", "base_revision": 0 }))
        })
        .collect();
    assert_eq!(save(&cm, app, cycle, json!(cells)).await.status(), 200);
    let submitted = cm
        .send(
            app,
            Method::POST,
            &format!("/api/forecast/cycles/{cycle}/sheet/submit"),
            json!({}),
        )
        .await;
    assert_eq!(submitted.status(), 200, "{login} submits");
    view
}

/// Each of `logins` approves the sheet in turn.
pub async fn approve_by(app: &TestApp, sheet_id: i64, logins: &[&str]) {
    for login in logins {
        let who = caller(app, login).await;
        let response = who
            .send(
                app,
                Method::POST,
                &format!("/api/forecast/sheets/{sheet_id}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(response.status(), 200, "{login} approves");
    }
}

/// Time passes: the cycle becomes one for `month` (a month that has ended).
pub async fn move_cycle(app: &TestApp, cycle: i64, month: domain::month::YearMonth) {
    sqlx::query("UPDATE forecast_cycles SET month = $1 WHERE id = $2")
        .bind(month.to_string())
        .bind(cycle)
        .execute(&app.db().pool)
        .await
        .expect("move the cycle");
}
