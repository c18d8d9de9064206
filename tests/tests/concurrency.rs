//! Races where they happen: pairs of writers from the same base, sent at
//! the same moment from two sessions, on SQLite and on PostgreSQL (where
//! writers really run at once). Each pair must leave exactly one winner
//! (200), the loser a 409 with the error body, and the stored value the
//! winner's: nothing lost, nothing silently overwritten.

use domain::forecast::view::{ReviewView, SheetStatus, SheetView};
use domain::forecast::Scope;
use domain::replenishment::{PolicyView, RetailerSettingsView};
use domain::{ErrorBody, ErrorCode};
use e2e::forecast::{open_cycle, save, sheet, submit_every_cell};
use e2e::{caller, on_both_databases, spawn_app, Backend, Caller, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_databases!(
    paired_cell_saves_leave_one_winner,
    paired_corrections_leave_one_winner,
    paired_approvals_and_returns_leave_one_winner,
    a_sheet_is_never_submitted_with_a_cell_emptied_during_the_submission,
    paired_settings_saves_leave_one_winner,
    paired_policy_changes_leave_one_winner,
    a_closed_cycle_takes_no_review_write_and_cannot_be_reopened,
);

const PAIRS: usize = 50;

/// One pair's answers: (status, body) of each side.
async fn pair(a: reqwest::Response, b: reqwest::Response) -> [(u16, Value); 2] {
    let sa = a.status().as_u16();
    let sb = b.status().as_u16();
    [
        (sa, a.json().await.unwrap_or(Value::Null)),
        (sb, b.json().await.unwrap_or(Value::Null)),
    ]
}

/// Asserts one 200 and one 409 carrying the conflict body; returns the winner (0 or 1).
fn one_winner(answers: &[(u16, Value); 2], what: &str) -> usize {
    let statuses = [answers[0].0, answers[1].0];
    let winner = match statuses {
        [200, 409] => 0,
        [409, 200] => 1,
        other => panic!("{what}: expected one 200 and one 409, got {other:?}: {answers:?}"),
    };
    let loser: ErrorBody = serde_json::from_value(answers[1 - winner].1.clone())
        .expect("the loser gets the error body");
    assert_eq!(loser.code, ErrorCode::Conflict, "{what}");
    assert!(!loser.message.is_empty());
    winner
}

fn report(what: &str, backend: Backend, pairs: usize, winners: usize, lost: usize) {
    println!("race {what} ({backend:?}): {pairs} pairs, {winners} winners, {lost} lost");
}

async fn paired_cell_saves_leave_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 3).await;
    // One customer manager, two sessions (two tabs, or phone and desk).
    let (a, b) = (caller(&app, "cm01").await, caller(&app, "cm01").await);
    let view: SheetView = sheet(&a, &app, cycle.id).await;
    let (retailer, spec) = (view.rows[0].retailer_id, view.specs[0].spec_id);
    let mut base = 0;
    let mut winners = 0;
    let mut lost = 0;
    for round in 0..PAIRS {
        // Two different values within the sanity bound.
        let (va, vb) = (1 + (round % 30) as i64, 31 + (round % 30) as i64);
        let cell = |value: i64| json!([{ "retailer_id": retailer, "spec_id": spec, "value": value, "base_revision": base }]);
        let (ra, rb) = tokio::join!(
            save(&a, &app, cycle.id, cell(va)),
            save(&b, &app, cycle.id, cell(vb))
        );
        let answers = pair(ra, rb).await;
        let winner = one_winner(&answers, "a cell saved twice from one revision");
        winners += 1;
        let revision = answers[winner].1["revisions"][0]
            .as_i64()
            .expect("new revision");
        assert_eq!(revision, base + 1, "the winner's revision follows its base");
        let (stored, stored_revision): (Option<i64>, i64) = sqlx::query_as(
            "SELECT entered, revision FROM forecast_lines WHERE sheet_id = $1 AND retailer_id = $2 AND spec_id = $3",
        )
        .bind(view.sheet_id)
        .bind(retailer)
        .bind(spec)
        .fetch_one(&app.db().pool)
        .await
        .expect("the line");
        if stored != Some([va, vb][winner]) || stored_revision != base + 1 {
            lost += 1;
        }
        base += 1;
    }
    report("cell save", backend, PAIRS, winners, lost);
    assert_eq!(
        lost, 0,
        "a value the server acknowledged was not the one stored"
    );
    let audits: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'forecast.cells.save'")
            .fetch_one(&app.db().pool)
            .await
            .expect("audit");
    assert_eq!(
        audits, PAIRS as i64,
        "one audit row per acknowledged save, none for the losers"
    );
}

async fn review_of(who: &Caller, app: &TestApp, sheet_id: i64) -> ReviewView {
    who.get_json(app, &format!("/api/forecast/sheets/{sheet_id}/review"))
        .await
}

async fn paired_corrections_leave_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let view = submit_every_cell(&app, cycle.id, "cm01", 5).await;
    let (a, b) = (caller(&app, "mm01").await, caller(&app, "mm01").await);
    let review = review_of(&a, &app, view.sheet_id).await;
    let line = review.lines[0].clone();
    let mut base = line.revision;
    let mut lost = 0;
    let rounds = PAIRS / 2;
    for round in 0..rounds {
        let (va, vb) = (10 + round as i64, 40 + round as i64);
        let body = |value: i64| json!({ "corrections": [{ "retailer_id": line.retailer_id, "spec_id": line.spec_id, "value": value, "reason": "走访核实", "base_revision": base }] });
        let path = format!("/api/forecast/sheets/{}/corrections", view.sheet_id);
        let (ra, rb) = tokio::join!(
            a.send(&app, Method::PUT, &path, body(va)),
            b.send(&app, Method::PUT, &path, body(vb))
        );
        let answers = pair(ra, rb).await;
        let winner = one_winner(&answers, "a line corrected twice from one revision");
        let (current, revision): (Option<i64>, i64) = sqlx::query_as(
            "SELECT current_value, revision FROM forecast_lines WHERE sheet_id = $1 AND retailer_id = $2 AND spec_id = $3",
        )
        .bind(view.sheet_id)
        .bind(line.retailer_id)
        .bind(line.spec_id)
        .fetch_one(&app.db().pool)
        .await
        .expect("the line");
        if current != Some([va, vb][winner]) || revision != base + 1 {
            lost += 1;
        }
        base += 1;
    }
    let corrections: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM forecast_corrections WHERE sheet_id = $1")
            .bind(view.sheet_id)
            .fetch_one(&app.db().pool)
            .await
            .expect("corrections");
    report("correction", backend, rounds, rounds, lost);
    assert_eq!(lost, 0);
    assert_eq!(
        corrections, rounds as i64,
        "one correction row per acknowledged correction"
    );
}

async fn paired_approvals_and_returns_leave_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let view = submit_every_cell(&app, cycle.id, "cm01", 5).await;
    let cm = caller(&app, "cm01").await;
    let (a, b) = (caller(&app, "mm01").await, caller(&app, "mm01").await);
    let path = |what: &str| format!("/api/forecast/sheets/{}/{what}", view.sheet_id);
    let rounds = 10;
    let actions = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM forecast_reviews WHERE sheet_id = $1")
            .bind(view.sheet_id)
            .fetch_one(&app.db().pool)
            .await
            .expect("actions")
    };
    for round in 0..rounds {
        let before = actions().await;
        // Approve against return, or approve against approve.
        let (approve_path, return_path) = (path("approve"), path("return"));
        let second = if round % 2 == 0 {
            b.send(
                &app,
                Method::POST,
                &return_path,
                json!({ "comment": "请核实", "to_level": 0, "at_level": 1 }),
            )
        } else {
            b.send(&app, Method::POST, &approve_path, json!({ "at_level": 1 }))
        };
        // Each names the level it saw the sheet at, as the review page does:
        // whichever runs second gets 409, however the two interleave.
        let (ra, rb) = tokio::join!(
            a.send(&app, Method::POST, &approve_path, json!({ "at_level": 1 })),
            second
        );
        let answers = pair(ra, rb).await;
        let winner = one_winner(&answers, "two actions on a sheet at one level");
        let (status, level): (String, Option<i64>) =
            sqlx::query_as("SELECT status, review_level FROM forecast_sheets WHERE id = $1")
                .bind(view.sheet_id)
                .fetch_one(&app.db().pool)
                .await
                .expect("sheet");
        let returned = round % 2 == 0 && winner == 1;
        if returned {
            assert_eq!((status.as_str(), level), ("returned", None));
        } else {
            assert_eq!(
                (status.as_str(), level),
                ("submitted", Some(2)),
                "approved once, not twice"
            );
        }
        assert_eq!(
            actions().await,
            before + 1,
            "one review action recorded, the winner's"
        );
        // Bring it back to the market manager for the next round.
        if returned {
            let resubmit = cm
                .send(
                    &app,
                    Method::POST,
                    &format!("/api/forecast/cycles/{}/sheet/submit", cycle.id),
                    json!({}),
                )
                .await;
            assert_eq!(resubmit.status(), 200);
        } else {
            let county = caller(&app, "county").await;
            let back = county
                .send(
                    &app,
                    Method::POST,
                    &path("return"),
                    json!({ "comment": "退回市场部", "to_level": 1 }),
                )
                .await;
            assert_eq!(
                back.status(),
                200,
                "the county returns it to the market department"
            );
        }
    }
    report("sheet transition", backend, rounds, rounds, 0);
}

async fn a_sheet_is_never_submitted_with_a_cell_emptied_during_the_submission(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let (a, b) = (caller(&app, "cm01").await, caller(&app, "cm01").await);
    let mm = caller(&app, "mm01").await;
    let submit_path = format!("/api/forecast/cycles/{}/sheet/submit", cycle.id);
    let rounds = 20;
    let (mut submitted, mut emptied) = (0, 0);
    for round in 0..rounds {
        // Fill every cell, then race a submission against emptying one;
        // the emptying save leaves 0 to 190 ms later, so that both orders
        // (and the overlap where the submission has checked but not yet
        // committed) happen.
        let delay = std::time::Duration::from_millis((round * 10) as u64);
        let view: SheetView = sheet(&a, &app, cycle.id).await;
        let cells: Vec<Value> = view
            .rows
            .iter()
            .enumerate()
            .flat_map(|(r, row)| {
                let view = &view;
                view.specs.iter().enumerate().map(move |(s, spec)| {
                    json!({ "retailer_id": row.retailer_id, "spec_id": spec.spec_id, "value": 5, "reason": "走访确认", "base_revision": view.revision[view.index(r, s)] })
                })
            })
            .collect();
        assert_eq!(save(&a, &app, cycle.id, json!(cells)).await.status(), 200);
        let view: SheetView = sheet(&a, &app, cycle.id).await;
        let first = json!([{ "retailer_id": view.rows[0].retailer_id, "spec_id": view.specs[0].spec_id, "value": null, "base_revision": view.revision[0] }]);
        let (rs, re) = tokio::join!(a.send(&app, Method::POST, &submit_path, json!({})), async {
            tokio::time::sleep(delay).await;
            save(&b, &app, cycle.id, first).await
        });
        let (s, e) = (rs.status().as_u16(), re.status().as_u16());
        let status: String = sqlx::query_scalar("SELECT status FROM forecast_sheets WHERE id = $1")
            .bind(view.sheet_id)
            .fetch_one(&app.db().pool)
            .await
            .expect("status");
        let empty: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM forecast_lines WHERE sheet_id = $1 AND entered IS NULL AND current_value IS NULL")
            .bind(view.sheet_id)
            .fetch_one(&app.db().pool)
            .await
            .expect("empty");
        match (s, e) {
            (200, 409) => {
                submitted += 1;
                assert_eq!((status.as_str(), empty), ("submitted", 0));
                let back = mm
                    .send(
                        &app,
                        Method::POST,
                        &format!("/api/forecast/sheets/{}/return", view.sheet_id),
                        json!({ "comment": "再核", "to_level": 0 }),
                    )
                    .await;
                assert_eq!(back.status(), 200);
            }
            (409 | 422, 200) => {
                emptied += 1;
                assert_ne!(
                    status.as_str(),
                    "submitted",
                    "a sheet with an empty cell was submitted"
                );
                assert_eq!(empty, 1);
            }
            other => panic!("submission against an emptying save: {other:?}"),
        }
    }
    println!("race submit/empty ({backend:?}): {rounds} rounds, {submitted} submitted whole, {emptied} emptied first, 0 submitted with a hole");
}

async fn paired_settings_saves_leave_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let login = app.retailer_login(0).await;
    let (a, b) = (caller(&app, &login).await, caller(&app, &login).await);
    let id = a.info.retailer_id.expect("a retailer");
    let path = format!("/api/replenishment/retailers/{id}");
    let mut lost = 0;
    for round in 0..PAIRS {
        let view: RetailerSettingsView = a.get_json(&app, &path).await;
        let with_stock = |stock: i64| {
            let mut settings = view.settings.clone();
            settings[0].stock = domain::quantity::Cartons::new(stock).expect("cartons");
            json!({ "version": view.version, "settings": settings })
        };
        let (sa, sb) = (100 + round as i64, 300 + round as i64);
        let save_path = format!("{path}/settings");
        let (ra, rb) = tokio::join!(
            a.send(&app, Method::PUT, &save_path, with_stock(sa)),
            b.send(&app, Method::PUT, &save_path, with_stock(sb))
        );
        let answers = pair(ra, rb).await;
        let winner = one_winner(&answers, "settings saved twice from one version");
        let after: RetailerSettingsView = a.get_json(&app, &path).await;
        if after.version != view.version + 1 || after.settings[0].stock.get() != [sa, sb][winner] {
            lost += 1;
        }
    }
    report("settings save", backend, PAIRS, PAIRS, lost);
    assert_eq!(lost, 0);
}

async fn paired_policy_changes_leave_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let (a, b) = (caller(&app, "center").await, caller(&app, "center").await);
    let mut lost = 0;
    let rounds = PAIRS / 2;
    for round in 0..rounds {
        let view: PolicyView = a.get_json(&app, "/api/replenishment/policy").await;
        let spec = &view.specs[0];
        let change = |cap: i64| json!({ "version": view.version, "specs": [{ "spec_id": spec.spec_id, "default_cap": cap, "order_multiple": spec.order_multiple, "scarce": spec.scarce, "orderable": spec.orderable }] });
        let (ca, cb) = (20 + round as i64, 60 + round as i64);
        let (ra, rb) = tokio::join!(
            a.send(&app, Method::PATCH, "/api/replenishment/policy", change(ca)),
            b.send(&app, Method::PATCH, "/api/replenishment/policy", change(cb))
        );
        let answers = pair(ra, rb).await;
        let winner = one_winner(&answers, "the policy changed twice from one version");
        let after: PolicyView = a.get_json(&app, "/api/replenishment/policy").await;
        let stored = after
            .specs
            .iter()
            .find(|s| s.spec_id == spec.spec_id)
            .expect("spec");
        if after.version != view.version + 1 || stored.default_cap != [ca, cb][winner] {
            lost += 1;
        }
    }
    report("policy change", backend, rounds, rounds, lost);
    assert_eq!(lost, 0);
}

async fn a_closed_cycle_takes_no_review_write_and_cannot_be_reopened(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let view = submit_every_cell(&app, cycle.id, "cm01", 5).await;
    let center = caller(&app, "center").await;
    let mm = caller(&app, "mm01").await;
    let review = review_of(&mm, &app, view.sheet_id).await;
    let line = review.lines[0].clone();
    let close_path = format!("/api/forecast/cycles/{}/close", cycle.id);
    assert_eq!(
        center
            .send(&app, Method::POST, &close_path, json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(
        center
            .send(&app, Method::POST, &close_path, json!({}))
            .await
            .status(),
        409,
        "closing twice"
    );
    let sheet_path = |what: &str| format!("/api/forecast/sheets/{}/{what}", view.sheet_id);
    let correction = mm
        .send(&app, Method::PUT, &sheet_path("corrections"), json!({ "corrections": [{ "retailer_id": line.retailer_id, "spec_id": line.spec_id, "value": 9, "reason": "核实", "base_revision": line.revision }] }))
        .await;
    assert_eq!(correction.status(), 409, "a correction on a closed cycle");
    let body: ErrorBody = correction.json().await.expect("body");
    assert!(body.message.contains("已关闭"), "{}", body.message);
    assert_eq!(
        mm.send(&app, Method::POST, &sheet_path("approve"), json!({}))
            .await
            .status(),
        409
    );
    assert_eq!(
        mm.send(
            &app,
            Method::POST,
            &sheet_path("return"),
            json!({ "comment": "退回", "to_level": 0 })
        )
        .await
        .status(),
        409
    );
    let until = chrono::Utc::now().date_naive() + chrono::Days::new(3);
    let reopen = center
        .send(
            &app,
            Method::POST,
            &format!("/api/forecast/cycles/{}/reopen", cycle.id),
            json!({ "manager_id": view.manager_id, "until": until }),
        )
        .await;
    assert_eq!(reopen.status(), 409, "a closed cycle is not reopened");
    let (status, level, corrections): (String, Option<i64>, i64) = sqlx::query_as(
        "SELECT s.status, s.review_level, (SELECT COUNT(*) FROM forecast_corrections c WHERE c.sheet_id = s.id) FROM forecast_sheets s WHERE s.id = $1",
    )
    .bind(view.sheet_id)
    .fetch_one(&app.db().pool)
    .await
    .expect("sheet");
    assert_eq!(
        (status.as_str(), level, corrections),
        ("submitted", Some(1), 0),
        "nothing moved"
    );
    let _ = SheetStatus::Submitted;
}
