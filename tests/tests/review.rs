//! The review chain, the marketing center's dashboard, the approved export,
//! actual orders and accuracy through the API, on SQLite and (when
//! `TEST_POSTGRES_URL` is set) PostgreSQL.

use domain::forecast::review::Compared;
use domain::forecast::view::{
    AccuracyReport, Dashboard, LineHistory, ReviewActionKind, ReviewInbox, ReviewSheet, ReviewView,
    SaveCellsResponse, SheetStatus, SheetView,
};
use domain::forecast::Scope;
use domain::ErrorBody;
use e2e::forecast::{
    approve_by, fill_with_baseline, move_cycle, open_cycle, save, sheet, submit_every_cell,
};
use e2e::{caller, demo_end, on_both_databases, spawn_app, Backend, Caller, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_databases!(
    a_sheet_goes_up_the_chain_is_corrected_returned_resubmitted_and_locked,
    the_dashboard_totals_the_export_and_accuracy_against_loaded_actuals,
);

async fn submit(cm: &Caller, app: &TestApp, cycle: i64) -> reqwest::Response {
    cm.send(
        app,
        Method::POST,
        &format!("/api/forecast/cycles/{cycle}/sheet/submit"),
        json!({}),
    )
    .await
}

async fn inbox(who: &Caller, app: &TestApp) -> ReviewInbox {
    who.get_json(app, "/api/forecast/reviews").await
}

async fn act(
    who: &Caller,
    app: &TestApp,
    sheet: i64,
    action: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    who.send(
        app,
        Method::POST,
        &format!("/api/forecast/sheets/{sheet}/{action}"),
        body,
    )
    .await
}

async fn correct(
    who: &Caller,
    app: &TestApp,
    sheet: i64,
    corrections: serde_json::Value,
) -> reqwest::Response {
    who.send(
        app,
        Method::PUT,
        &format!("/api/forecast/sheets/{sheet}/corrections"),
        json!({ "corrections": corrections }),
    )
    .await
}

async fn a_sheet_goes_up_the_chain_is_corrected_returned_resubmitted_and_locked(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let cm = caller(&app, "cm01").await;
    let view = sheet(&cm, &app, cycle.id).await;
    fill_with_baseline(&cm, &app, &view).await;
    assert_eq!(submit(&cm, &app, cycle.id).await.status(), 200);
    let sheet_id = view.sheet_id;

    // Only the market manager of cm01's department acts first.
    let (mm, other_mm, county, center) = (
        caller(&app, "mm01").await,
        caller(&app, "mm02").await,
        caller(&app, "county").await,
        caller(&app, "center").await,
    );
    let waiting = inbox(&mm, &app).await;
    let mine = waiting
        .sheets
        .iter()
        .find(|s| s.sheet_id == sheet_id)
        .expect("mm01 sees cm01's sheet");
    assert!(mine.can_act);
    assert_eq!(mine.level, Some(1));
    assert_eq!(mine.chain.len(), 3, "market → county → center");
    assert_eq!(mine.stage, "待市场部审核（第1级）");
    assert!(
        inbox(&other_mm, &app)
            .await
            .sheets
            .iter()
            .all(|s| s.sheet_id != sheet_id),
        "another department's manager does not see it"
    );
    let review_path = format!("/api/forecast/sheets/{sheet_id}/review");
    assert_eq!(other_mm.get(&app, &review_path).await.status(), 403);
    assert_eq!(cm.get(&app, &review_path).await.status(), 403);
    assert_eq!(
        act(&center, &app, sheet_id, "approve", json!({}))
            .await
            .status(),
        403,
        "the center waits for the levels below"
    );

    // A correction needs a reason; the line keeps the manager's value.
    let review: ReviewView = mm.get_json(&app, &review_path).await;
    assert_eq!(review.matching, view.value.len() as i64);
    let line = review.lines[0].clone();
    let entered = line.entered.expect("entered");
    let corrected = entered + 7;
    let no_reason = correct(&mm, &app, sheet_id, json!([{ "retailer_id": line.retailer_id, "spec_id": line.spec_id, "value": corrected, "reason": " ", "base_revision": line.revision }])).await;
    assert_eq!(no_reason.status(), 422);
    let body: ErrorBody = no_reason.json().await.expect("body");
    assert!(body.fields.contains_key("corrections.0.reason"), "{body:?}");
    let ok = correct(&mm, &app, sheet_id, json!([{ "retailer_id": line.retailer_id, "spec_id": line.spec_id, "value": corrected, "reason": "新店开业", "base_revision": line.revision }])).await;
    assert_eq!(ok.status(), 200);
    let revisions: SaveCellsResponse = ok.json().await.expect("revisions");
    assert_eq!(revisions.revisions, [line.revision + 1]);
    // A second correction made on the same revision (another tab, another
    // reviewer) is refused, not applied over the first.
    let late = correct(&mm, &app, sheet_id, json!([{ "retailer_id": line.retailer_id, "spec_id": line.spec_id, "value": 1, "reason": "另一意见", "base_revision": line.revision }])).await;
    assert_eq!(late.status(), 409);

    assert_eq!(
        act(&mm, &app, sheet_id, "approve", json!({}))
            .await
            .status(),
        200
    );
    assert_eq!(
        act(&mm, &app, sheet_id, "approve", json!({}))
            .await
            .status(),
        403,
        "once approved upward it waits for the county"
    );
    let at_county: ReviewSheet = act(&county, &app, sheet_id, "approve", json!({}))
        .await
        .json()
        .await
        .expect("sheet");
    assert_eq!(
        (at_county.status, at_county.level),
        (SheetStatus::Submitted, Some(3))
    );

    // The center returns it with a comment; the manager sees both.
    let no_comment = act(&center, &app, sheet_id, "return", json!({ "comment": "" })).await;
    assert_eq!(no_comment.status(), 422);
    let body: ErrorBody = no_comment.json().await.expect("body");
    assert!(body.fields.contains_key("comment"));
    let comment = "请核实新店的备货量";
    assert_eq!(
        act(
            &center,
            &app,
            sheet_id,
            "return",
            json!({ "comment": comment })
        )
        .await
        .status(),
        200
    );
    let returned: SheetView = sheet(&cm, &app, cycle.id).await;
    assert_eq!(returned.status, SheetStatus::Returned);
    assert!(returned.editable);
    assert_eq!(
        returned
            .returned
            .as_ref()
            .and_then(|a| a.comment.as_deref()),
        Some(comment)
    );
    assert_eq!(returned.corrections.len(), 1);
    assert_eq!(returned.corrections[0].value, corrected);
    assert_eq!(returned.corrections[0].entered, Some(entered));
    let r = returned
        .rows
        .iter()
        .position(|r| r.retailer_id == line.retailer_id)
        .expect("row");
    let s = returned
        .specs
        .iter()
        .position(|s| s.spec_id == line.spec_id)
        .expect("spec");
    assert_eq!(
        returned.value[returned.index(r, s)],
        Some(corrected),
        "the grid shows the corrected value"
    );

    // Resubmitted, it starts again at level 1.
    assert_eq!(submit(&cm, &app, cycle.id).await.status(), 200);
    // Separation of duties: were cm01 made a market manager of the same
    // department, they still could not approve the sheet they entered.
    sqlx::query("UPDATE users SET role = 'market_manager' WHERE login = 'cm01'")
        .execute(&app.db().pool)
        .await
        .expect("promote");
    let own = act(&cm, &app, sheet_id, "approve", json!({})).await;
    assert_eq!(own.status(), 403);
    let body: ErrorBody = own.json().await.expect("body");
    assert!(body.message.contains("自己"), "{body:?}");
    sqlx::query("UPDATE users SET role = 'customer_manager' WHERE login = 'cm01'")
        .execute(&app.db().pool)
        .await
        .expect("restore");

    for who in [&mm, &county, &center] {
        assert_eq!(
            act(who, &app, sheet_id, "approve", json!({}))
                .await
                .status(),
            200
        );
    }
    let locked: SheetView = sheet(&cm, &app, cycle.id).await;
    assert_eq!(locked.status, SheetStatus::Approved);
    assert!(!locked.editable);
    assert_eq!(
        save(&cm, &app, cycle.id, json!([{ "retailer_id": line.retailer_id, "spec_id": line.spec_id, "value": 1, "base_revision": 99 }])).await.status(),
        409
    );
    let after = correct(&center, &app, sheet_id, json!([{ "retailer_id": line.retailer_id, "spec_id": line.spec_id, "value": 1, "reason": "x", "base_revision": line.revision + 1 }])).await;
    assert_eq!(after.status(), 409, "approved data is locked");
    let (entered_db, final_db): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT entered, final_value FROM forecast_lines WHERE sheet_id = $1 AND retailer_id = $2 AND spec_id = $3",
    )
    .bind(sheet_id)
    .bind(line.retailer_id)
    .bind(line.spec_id)
    .fetch_one(&app.db().pool)
    .await
    .expect("line");
    assert_eq!(
        (entered_db, final_db),
        (Some(entered), Some(corrected)),
        "the manager's value is kept beside the approved one"
    );

    // The line's history, for the reviewers and for the manager.
    let history_path = format!(
        "/api/forecast/sheets/{sheet_id}/lines/{}/{}/history",
        line.retailer_id, line.spec_id
    );
    let history: LineHistory = cm.get_json(&app, &history_path).await;
    assert_eq!(history.entered, Some(entered));
    assert_eq!(history.final_value, Some(corrected));
    assert_eq!(history.corrections.len(), 1);
    let c = &history.corrections[0];
    assert_eq!(
        (c.level, c.from, c.to, c.reason.as_str()),
        (1, Some(entered), corrected, "新店开业")
    );
    assert_eq!(other_mm.get(&app, &history_path).await.status(), 403);
    let review: ReviewView = center.get_json(&app, &review_path).await;
    let steps: Vec<(ReviewActionKind, u8)> =
        review.actions.iter().map(|a| (a.action, a.level)).collect();
    use ReviewActionKind::{Approve, Return, Submit};
    assert_eq!(
        steps,
        [
            (Submit, 0),
            (Approve, 1),
            (Approve, 2),
            (Return, 3),
            (Submit, 0),
            (Approve, 1),
            (Approve, 2),
            (Approve, 3)
        ]
    );
    assert_eq!(review.actions[3].comment.as_deref(), Some(comment));
}

async fn raw_post(
    who: &Caller,
    app: &TestApp,
    path: &str,
    body: &'static str,
) -> reqwest::Response {
    who.client
        .post(app.url(path))
        .header("X-CSRF-Token", &who.csrf)
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn the_dashboard_totals_the_export_and_accuracy_against_loaded_actuals(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let center = caller(&app, "center").await;
    // cm01 forecasts 10 cartons of every spec for every retailer and the
    // chain approves it; cm03 submits the baseline.
    let cm = caller(&app, "cm01").await;
    let view = submit_every_cell(&app, cycle.id, "cm01", 10).await;
    let other = caller(&app, "cm03").await;
    let other_view = sheet(&other, &app, cycle.id).await;
    fill_with_baseline(&other, &app, &other_view).await;
    assert_eq!(submit(&other, &app, cycle.id).await.status(), 200);
    approve_by(&app, view.sheet_id, &["mm01", "county", "center"]).await;

    let cells = view.value.len() as i64;
    let other_cells = other_view.value.len() as i64;
    let dashboard: Dashboard = center
        .get_json(
            &app,
            &format!("/api/forecast/cycles/{}/dashboard", cycle.id),
        )
        .await;
    assert_eq!(dashboard.total.lines, cells + other_cells);
    assert_eq!(dashboard.total.approved, 10 * cells);
    let other_sum: i64 = other_view
        .baseline
        .iter()
        .zip(&other_view.bound)
        .map(|(b, m)| *b.min(m))
        .sum();
    assert_eq!(dashboard.total.forecast, 10 * cells + other_sum);
    assert_eq!(
        dashboard.by_spec.iter().map(|r| r.forecast).sum::<i64>(),
        dashboard.total.forecast
    );
    let cm01 = dashboard
        .by_manager
        .iter()
        .find(|r| r.id == cm.info.user_id)
        .expect("cm01 row");
    assert_eq!(cm01.approved, 10 * cells);
    let stages: Vec<(&str, bool)> = dashboard
        .progress
        .iter()
        .filter(|p| [cm.info.user_id, other.info.user_id].contains(&p.manager_id))
        .map(|p| (p.stage.as_str(), p.late))
        .collect();
    assert!(stages.contains(&("已审批", false)), "{stages:?}");
    assert!(
        stages.contains(&("待市场部审核（第1级）", false)),
        "{stages:?}"
    );
    assert_eq!(dashboard.trend.len(), 12, "a year of monthly orders");
    assert!(dashboard.by_tier.iter().map(|r| r.lines).sum::<i64>() == dashboard.total.lines);
    // The market manager reads their own department's part (tests/reports.rs).
    let market: Dashboard = caller(&app, "mm01")
        .await
        .get_json(
            &app,
            &format!("/api/forecast/cycles/{}/dashboard", cycle.id),
        )
        .await;
    assert!(market.by_manager.iter().all(|r| r.id != other.info.user_id));

    // The approved forecast: only cm01's lines.
    let export = |q: &str| {
        let path = format!("/api/forecast/cycles/{}/approved?{q}", cycle.id);
        let center = &center;
        let app = &app;
        async move { center.get(app, &path).await }
    };
    let lines = export("format=csv&kind=lines")
        .await
        .text()
        .await
        .expect("csv");
    assert_eq!(lines.lines().count() as i64, cells + 1, "{lines}");
    let specs = export("format=csv&kind=specs")
        .await
        .text()
        .await
        .expect("csv");
    assert!(
        specs
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains(&format!(",{},", 10 * view.rows.len()))),
        "{specs}"
    );
    let workbook = export("format=xlsx").await.bytes().await.expect("xlsx");
    assert!(workbook.starts_with(b"PK"));
    assert_eq!(export("format=pdf").await.status(), 422);

    // Actual orders: not before the month has ended; every bad row named;
    // nothing stored on error.
    let path = |month: &str| format!("/api/forecast/actuals?month={month}");
    let early = raw_post(&center, &app, &path(&cycle.month.to_string()), "x,y,1").await;
    assert_eq!(early.status(), 422);
    // Time passes: the cycle's month becomes the last month of the history.
    let month = demo_end();
    move_cycle(&app, cycle.id, month).await;
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM monthly_orders WHERE month = $1")
        .bind(month.to_string())
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    let codes: Vec<String> = view.specs.iter().map(|s| s.code.clone()).collect();
    let licences: Vec<String> = view.rows.iter().map(|r| r.licence_no.clone()).collect();
    let bad = format!(
        "许可证号,品规编码,条数\n{},{},8\nNOPE,{},1\n{},{},-2\n",
        licences[0], codes[0], codes[0], licences[1], codes[0]
    );
    let response = center
        .client
        .post(app.url(&path(&month.to_string())))
        .header("X-CSRF-Token", &center.csrf)
        .body(bad)
        .send()
        .await
        .expect("import");
    assert_eq!(response.status(), 422);
    let body: ErrorBody = response.json().await.expect("body");
    assert_eq!(
        body.fields.keys().cloned().collect::<Vec<_>>(),
        ["rows.3", "rows.4"],
        "{body:?}"
    );
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM monthly_orders WHERE month = $1")
        .bind(month.to_string())
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    assert_eq!(after, before, "nothing stored");
    assert_eq!(
        raw_post(&center, &app, &path(&month.to_string()), "\u{0}\u{1}")
            .await
            .status(),
        422
    );

    // The hand-computed case: F = 10 everywhere; A = 8 for the first spec
    // and 12 for the second. Σ|F − A| = 2 per line, ΣA = n·8 + n·12:
    // accuracy = 1 − 2·2n / 20n = 0.8; per spec 1 − 2/8 = 0.75 and
    // 1 − 2/12 ≈ 0.833.
    let mut csv = String::from("licence_no,spec_code,cartons\n");
    for licence in &licences {
        csv += &format!("{licence},{},8\n{licence},{},12\n", codes[0], codes[1]);
    }
    let loaded = center
        .client
        .post(app.url(&path(&month.to_string())))
        .header("X-CSRF-Token", &center.csrf)
        .body(csv)
        .send()
        .await
        .expect("import");
    assert_eq!(loaded.status(), 200);
    // The same rows as an xlsx workbook load the same way.
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let book = workbook.add_worksheet();
    for (i, cells) in ["许可证号", "品规编码", "条数"].iter().enumerate() {
        book.write_string(0, i as u16, *cells).expect("header");
    }
    let mut row = 1;
    for licence in &licences {
        for (code, cartons) in [(&codes[0], 8.0), (&codes[1], 12.0)] {
            book.write_string(row, 0, licence).expect("licence");
            book.write_string(row, 1, code).expect("code");
            book.write_number(row, 2, cartons).expect("cartons");
            row += 1;
        }
    }
    let bytes = workbook.save_to_buffer().expect("xlsx");
    let from_xlsx = center
        .client
        .post(app.url(&path(&month.to_string())))
        .header("X-CSRF-Token", &center.csrf)
        .body(bytes)
        .send()
        .await
        .expect("import");
    assert_eq!(from_xlsx.status(), 200);
    let report: domain::forecast::view::ActualsReport = from_xlsx.json().await.expect("report");
    assert_eq!(report.rows, licences.len() * 2);
    assert_eq!(report.cartons, 20 * licences.len() as i64);
    let report: AccuracyReport = center
        .get_json(&app, &format!("/api/forecast/cycles/{}/accuracy", cycle.id))
        .await;
    assert!(report.has_actuals);
    assert_eq!(report.total.lines, cells, "approved lines only");
    let near = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
    assert!(
        near(report.total.accuracy(Compared::Approved), 0.8),
        "{:?}",
        report.total
    );
    assert!(near(
        report.by_spec[0].sums.accuracy(Compared::Approved),
        0.75
    ));
    assert!(near(
        report.by_spec[1].sums.accuracy(Compared::Approved),
        1.0 - 2.0 / 12.0
    ));
    assert_eq!(report.by_manager.len(), 1);
    assert_eq!(report.by_manager[0].id, cm.info.user_id);
    assert!(report.lines.iter().all(|l| {
        let expected = if l.spec_id == view.specs[0].spec_id {
            0.25
        } else {
            2.0 / 12.0
        };
        near(l.relative_error, expected)
    }));
    assert_eq!(report.trend.len(), 1);
    assert_eq!(report.trend[0].month, month);
}
