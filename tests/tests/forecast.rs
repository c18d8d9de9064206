//! Monthly demand forecasting through the API, on SQLite and (when
//! `TEST_POSTGRES_URL` is set) PostgreSQL: cycles and the one-third sample,
//! bulk saves in one transaction with revision checks, submission rules,
//! deadlines and reopening, and the xlsx round trip.

use domain::forecast::view::{CycleList, CycleView, SaveCellsResponse, SheetStatus, SheetView};
use domain::forecast::{default_month, in_scope, Scope};
use domain::ErrorBody;
use e2e::forecast::{fill_with_baseline, open_cycle, save, sheet};
use e2e::{caller, on_both_databases, spawn_app, Backend, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_databases!(
    the_marketing_center_opens_a_sample_cycle_and_managers_see_only_sampled_retailers,
    a_bulk_save_is_all_or_nothing_and_never_overwrites_newer_data,
    submission_needs_every_cell_and_reasons_then_locks_the_sheet,
    entry_closes_after_the_deadline_until_the_center_reopens_it,
    a_sheet_round_trips_through_xlsx_and_a_bad_file_saves_nothing,
);

async fn stored_lines(app: &TestApp, cycle: i64) -> Vec<(i64, i64, Option<i64>, i64)> {
    sqlx::query_as(
        "SELECT l.retailer_id, l.spec_id, l.entered, l.revision FROM forecast_lines l \
         JOIN forecast_sheets s ON s.id = l.sheet_id WHERE s.cycle_id = $1 ORDER BY l.retailer_id, l.spec_id",
    )
    .bind(cycle)
    .fetch_all(&app.db().pool)
    .await
    .expect("lines")
}

async fn the_marketing_center_opens_a_sample_cycle_and_managers_see_only_sampled_retailers(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let list: CycleList = center.get_json(&app, "/api/forecast/cycles").await;
    assert_eq!(list.default_month, default_month(list.today));

    // Checked field by field; nothing stored.
    let bad = center
        .send(
            &app,
            Method::POST,
            "/api/forecast/cycles",
            json!({ "month": "2020-01", "spec_ids": [], "scope": "sample" }),
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body: ErrorBody = bad.json().await.expect("error body");
    assert!(
        body.fields.contains_key("month") && body.fields.contains_key("spec_ids"),
        "{body:?}"
    );
    let cm = caller(&app, "cm01").await;
    let refused = cm
        .send(
            &app,
            Method::POST,
            "/api/forecast/cycles",
            json!({ "month": list.default_month, "spec_ids": [1], "scope": "all" }),
        )
        .await;
    assert_eq!(
        refused.status(),
        403,
        "only the marketing center opens cycles"
    );
    let none: CycleList = center.get_json(&app, "/api/forecast/cycles").await;
    assert!(none.cycles.is_empty());

    let cycle = open_cycle(&app, Scope::Sample, 4).await;
    assert!(cycle.sample_group.is_some());
    let licences: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, licence_no, manager_id FROM retailers")
            .fetch_all(&app.db().pool)
            .await
            .expect("retailers");
    let sampled: Vec<&(i64, String, i64)> = licences
        .iter()
        .filter(|(_, l, _)| in_scope(Scope::Sample, cycle.month, l))
        .collect();
    assert_eq!(cycle.retailers, sampled.len() as i64);
    assert_eq!(cycle.population, licences.len() as i64);
    assert!(
        cycle.scale_factor > 1.5,
        "a sample scales up: {}",
        cycle.scale_factor
    );

    let view = sheet(&cm, &app, cycle.id).await;
    let mut expected: Vec<i64> = sampled
        .iter()
        .filter(|(_, _, m)| *m == cm.info.user_id)
        .map(|(id, _, _)| *id)
        .collect();
    let mut got: Vec<i64> = view.rows.iter().map(|r| r.retailer_id).collect();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected, "only cm01's sampled retailers");
    assert_eq!(view.specs.len(), 4);
    assert_eq!(view.value.len(), view.rows.len() * 4);

    // A second cycle for the same month is refused; the first can be edited
    // until the first entry.
    let again = center
        .send(
            &app,
            Method::POST,
            "/api/forecast/cycles",
            json!({ "month": cycle.month, "spec_ids": [1], "scope": "all" }),
        )
        .await;
    assert_eq!(again.status(), 409);
    let edit = |scope: &str| json!({ "month": cycle.month, "spec_ids": spec_ids_json(&view), "scope": scope });
    let edited = center
        .send(
            &app,
            Method::PUT,
            &format!("/api/forecast/cycles/{}", cycle.id),
            edit("all"),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let edited: CycleView = edited.json().await.expect("cycle");
    assert_eq!(
        edited.retailers,
        licences.len() as i64,
        "now every retailer"
    );
    let view = sheet(&cm, &app, cycle.id).await;
    let first = &view.rows[0];
    let saved = save(&cm, &app, cycle.id, json!([{ "retailer_id": first.retailer_id, "spec_id": view.specs[0].spec_id, "value": 3, "base_revision": 0 }])).await;
    assert_eq!(saved.status(), 200);
    let late = center
        .send(
            &app,
            Method::PUT,
            &format!("/api/forecast/cycles/{}", cycle.id),
            edit("sample"),
        )
        .await;
    assert_eq!(late.status(), 409, "no edits after the first entry");
}

fn spec_ids_json(view: &SheetView) -> Vec<i64> {
    view.specs.iter().map(|s| s.spec_id).collect()
}

async fn a_bulk_save_is_all_or_nothing_and_never_overwrites_newer_data(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 3).await;
    let cm = caller(&app, "cm01").await;
    let view = sheet(&cm, &app, cycle.id).await;
    let (r0, r1) = (view.rows[0].retailer_id, view.rows[1].retailer_id);
    let (s0, s1) = (view.specs[0].spec_id, view.specs[1].spec_id);

    let ok = save(
        &cm,
        &app,
        cycle.id,
        json!([
            { "retailer_id": r0, "spec_id": s0, "value": 5, "base_revision": 0 },
            { "retailer_id": r0, "spec_id": s1, "value": 0, "base_revision": 0 },
            { "retailer_id": r1, "spec_id": s0, "value": 7, "reason": "新店", "base_revision": 0 },
        ]),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let revisions: SaveCellsResponse = ok.json().await.expect("revisions");
    assert_eq!(revisions.revisions, vec![1, 1, 1]);
    let before = stored_lines(&app, cycle.id).await;
    assert_eq!(before.len(), 3);

    // One bad cell refuses the whole request, naming the cell.
    let bound = view.bound[view.index(1, 1)];
    let bad = save(
        &cm,
        &app,
        cycle.id,
        json!([
            { "retailer_id": r1, "spec_id": s1, "value": 4, "base_revision": 0 },
            { "retailer_id": r0, "spec_id": s0, "value": -1, "base_revision": 1 },
            { "retailer_id": r1, "spec_id": s1, "value": bound + 1, "base_revision": 0 },
        ]),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let body: ErrorBody = bad.json().await.expect("body");
    assert!(body.fields.contains_key("cells.1.value"), "{body:?}");
    assert!(body.fields.contains_key("cells.2.value"), "{body:?}");
    assert_eq!(stored_lines(&app, cycle.id).await, before, "nothing saved");

    // A write based on an older revision is refused as a whole.
    let stale = save(
        &cm,
        &app,
        cycle.id,
        json!([
            { "retailer_id": r1, "spec_id": s1, "value": 4, "base_revision": 0 },
            { "retailer_id": r0, "spec_id": s0, "value": 9, "base_revision": 0 },
        ]),
    )
    .await;
    assert_eq!(stale.status(), 409);
    let body: ErrorBody = stale.json().await.expect("body");
    assert!(body.fields.contains_key("cells.1"), "{body:?}");
    assert_eq!(
        stored_lines(&app, cycle.id).await,
        before,
        "newer data kept"
    );
    let fresh = save(
        &cm,
        &app,
        cycle.id,
        json!([{ "retailer_id": r0, "spec_id": s0, "value": 9, "base_revision": 1 }]),
    )
    .await;
    let revisions: SaveCellsResponse = fresh.json().await.expect("revisions");
    assert_eq!(revisions.revisions, vec![2]);

    // A base the sheet never gave is stale too: a later revision of a cell
    // never saved (beside a good change and a good new cell, neither kept),
    // a negative one and one with no next revision.
    let s2 = view.specs[2].spec_id;
    let after_fresh = stored_lines(&app, cycle.id).await;
    for (i, base) in [(1, 3), (0, -1), (0, i64::MAX)] {
        let mut cells = vec![
            json!({ "retailer_id": r0, "spec_id": s0, "value": 8, "base_revision": 2 }),
            json!({ "retailer_id": r0, "spec_id": s2, "value": 1, "base_revision": 0 }),
        ];
        cells.insert(
            i,
            json!({ "retailer_id": r1, "spec_id": s1, "value": 2, "base_revision": base }),
        );
        let refused = save(&cm, &app, cycle.id, json!(cells)).await;
        assert_eq!(refused.status(), 409, "base {base}");
        let body: ErrorBody = refused.json().await.expect("body");
        assert!(
            body.fields.contains_key(&format!("cells.{i}")) && body.fields.len() == 1,
            "base {base}: {body:?}"
        );
        assert_eq!(
            stored_lines(&app, cycle.id).await,
            after_fresh,
            "base {base}: nothing saved"
        );
    }
    // A change and a new cell in one save are both kept.
    let mixed = save(
        &cm,
        &app,
        cycle.id,
        json!([
            { "retailer_id": r0, "spec_id": s0, "value": 9, "base_revision": 2 },
            { "retailer_id": r0, "spec_id": s2, "value": 2, "base_revision": 0 },
        ]),
    )
    .await;
    assert_eq!(mixed.status(), 200);
    let revisions: SaveCellsResponse = mixed.json().await.expect("revisions");
    assert_eq!(revisions.revisions, vec![3, 1]);
    let stored = stored_lines(&app, cycle.id).await;
    assert!(stored.contains(&(r0, s0, Some(9), 3)), "{stored:?}");
    assert!(stored.contains(&(r0, s2, Some(2), 1)), "{stored:?}");
    assert_eq!(stored.len(), after_fresh.len() + 1);

    // Scope: another manager cannot write cm01's retailers; a retailer and
    // the marketing center cannot write at all; the center reads any sheet.
    let other = caller(&app, "cm02").await;
    let foreign = save(
        &other,
        &app,
        cycle.id,
        json!([{ "retailer_id": r0, "spec_id": s0, "value": 1, "base_revision": 2 }]),
    )
    .await;
    assert_eq!(foreign.status(), 422, "not on cm02's sheet");
    let retailer = caller(&app, &app.retailer_login(0).await).await;
    assert_eq!(
        save(&retailer, &app, cycle.id, json!([])).await.status(),
        403
    );
    assert_eq!(
        retailer
            .get(&app, &format!("/api/forecast/cycles/{}/sheet", cycle.id))
            .await
            .status(),
        403
    );
    let center = caller(&app, "center").await;
    assert_eq!(save(&center, &app, cycle.id, json!([])).await.status(), 403);
    let seen: SheetView = center
        .get_json(
            &app,
            &format!(
                "/api/forecast/cycles/{}/sheet?manager_id={}",
                cycle.id, cm.info.user_id
            ),
        )
        .await;
    assert_eq!(seen.value[seen.index(0, 0)], Some(9));
    assert_eq!(seen.reason[seen.index(1, 0)].as_deref(), Some("新店"));
    // The center sets a bound for one spec and class; the next save obeys it.
    let class = view.rows[1].class_code.clone();
    let refused = center
        .send(&app, Method::PUT, "/api/forecast/bounds", json!([{ "spec_id": s1, "class_code": class, "max_cartons": 3 }, { "spec_id": s1, "class_code": "nope", "max_cartons": -1 }]))
        .await;
    assert_eq!(refused.status(), 422);
    let body: ErrorBody = refused.json().await.expect("body");
    assert!(
        body.fields.contains_key("bounds.1.class_code")
            && body.fields.contains_key("bounds.1.max_cartons"),
        "{body:?}"
    );
    let set = center
        .send(
            &app,
            Method::PUT,
            "/api/forecast/bounds",
            json!([{ "spec_id": s1, "class_code": class, "max_cartons": 3 }]),
        )
        .await;
    assert_eq!(set.status(), 200);
    assert_eq!(
        cm.send(&app, Method::PUT, "/api/forecast/bounds", json!([]))
            .await
            .status(),
        403
    );
    let over = save(
        &cm,
        &app,
        cycle.id,
        json!([{ "retailer_id": r1, "spec_id": s1, "value": 4, "base_revision": 0 }]),
    )
    .await;
    assert_eq!(over.status(), 422, "above the new bound");
    let within = save(
        &cm,
        &app,
        cycle.id,
        json!([{ "retailer_id": r1, "spec_id": s1, "value": 3, "base_revision": 0 }]),
    )
    .await;
    assert_eq!(within.status(), 200);
    let unsigned = reqwest::Client::new()
        .get(app.url(&format!("/api/forecast/cycles/{}/sheet", cycle.id)))
        .send()
        .await
        .expect("request");
    assert_eq!(unsigned.status(), 401);
}

async fn submission_needs_every_cell_and_reasons_then_locks_the_sheet(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 3).await;
    let cm = caller(&app, "cm01").await;
    let submit_path = format!("/api/forecast/cycles/{}/sheet/submit", cycle.id);

    let empty = cm.send(&app, Method::POST, &submit_path, json!({})).await;
    assert_eq!(empty.status(), 422, "every cell must be entered");

    let view = sheet(&cm, &app, cycle.id).await;
    fill_with_baseline(&cm, &app, &view).await;
    // One cell far above the baseline, without a reason.
    let i = view.index(0, 0);
    let far = view.baseline[i] + 40;
    let (rid, sid) = (view.rows[0].retailer_id, view.specs[0].spec_id);
    let view = sheet(&cm, &app, cycle.id).await;
    assert_eq!(save(&cm, &app, cycle.id, json!([{ "retailer_id": rid, "spec_id": sid, "value": far, "base_revision": view.revision[i] }])).await.status(), 200);
    let missing = cm.send(&app, Method::POST, &submit_path, json!({})).await;
    assert_eq!(missing.status(), 422);
    let body: ErrorBody = missing.json().await.expect("body");
    assert_eq!(
        body.fields.keys().collect::<Vec<_>>(),
        vec![&format!("cells.{rid}.{sid}")],
        "{body:?}"
    );
    assert_eq!(sheet(&cm, &app, cycle.id).await.status, SheetStatus::Draft);

    let view = sheet(&cm, &app, cycle.id).await;
    assert_eq!(save(&cm, &app, cycle.id, json!([{ "retailer_id": rid, "spec_id": sid, "value": far, "reason": "节前备货", "base_revision": view.revision[i] }])).await.status(), 200);
    let submitted = cm.send(&app, Method::POST, &submit_path, json!({})).await;
    assert_eq!(submitted.status(), 200);
    let submitted: SheetView = submitted.json().await.expect("sheet");
    assert_eq!(submitted.status, SheetStatus::Submitted);
    assert!(!submitted.editable);

    // The baseline is kept beside every line; the sheet is read-only now.
    let missing_baselines: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM forecast_lines l JOIN forecast_sheets s ON s.id = l.sheet_id WHERE s.cycle_id = $1 AND l.baseline IS NULL",
    )
    .bind(cycle.id)
    .fetch_one(&app.db().pool)
    .await
    .expect("count");
    assert_eq!(missing_baselines, 0);
    let after = save(
        &cm,
        &app,
        cycle.id,
        json!([{ "retailer_id": rid, "spec_id": sid, "value": 1, "base_revision": 99 }]),
    )
    .await;
    assert_eq!(after.status(), 409);
    assert_eq!(
        cm.send(&app, Method::POST, &submit_path, json!({}))
            .await
            .status(),
        409
    );
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'forecast.sheet.submit'")
            .fetch_one(&app.db().pool)
            .await
            .expect("count");
    assert_eq!(audited, 1);
}

async fn entry_closes_after_the_deadline_until_the_center_reopens_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let cm = caller(&app, "cm01").await;
    let view = sheet(&cm, &app, cycle.id).await;
    let cell = json!([{ "retailer_id": view.rows[0].retailer_id, "spec_id": view.specs[0].spec_id, "value": 2, "base_revision": 0 }]);
    sqlx::query("UPDATE forecast_cycles SET submit_deadline = '2020-01-20', review_deadline = '2020-01-25' WHERE id = $1")
        .bind(cycle.id)
        .execute(&app.db().pool)
        .await
        .expect("move the deadline");
    let late = save(&cm, &app, cycle.id, cell.clone()).await;
    assert_eq!(late.status(), 409);
    assert!(!sheet(&cm, &app, cycle.id).await.editable);

    let center = caller(&app, "center").await;
    let path = format!("/api/forecast/cycles/{}/reopen", cycle.id);
    let past = center
        .send(
            &app,
            Method::POST,
            &path,
            json!({ "manager_id": cm.info.user_id, "until": "2020-02-01" }),
        )
        .await;
    assert_eq!(past.status(), 422);
    let until = chrono::Utc::now().date_naive() + chrono::Days::new(2);
    let reopened = center
        .send(
            &app,
            Method::POST,
            &path,
            json!({ "manager_id": cm.info.user_id, "until": until }),
        )
        .await;
    assert_eq!(reopened.status(), 200);
    assert_eq!(
        save(&cm, &app, cycle.id, cell.clone()).await.status(),
        200,
        "reopened for cm01"
    );
    let other = caller(&app, "cm02").await;
    let theirs = sheet(&other, &app, cycle.id).await;
    assert!(!theirs.editable, "still closed for cm02");

    let closed = center
        .send(
            &app,
            Method::POST,
            &format!("/api/forecast/cycles/{}/close", cycle.id),
            json!({}),
        )
        .await;
    assert_eq!(closed.status(), 200);
    assert_eq!(
        save(&cm, &app, cycle.id, cell).await.status(),
        409,
        "a closed cycle takes no entry"
    );
}

async fn a_sheet_round_trips_through_xlsx_and_a_bad_file_saves_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 3).await;
    let cm = caller(&app, "cm01").await;
    let view = sheet(&cm, &app, cycle.id).await;
    fill_with_baseline(&cm, &app, &view).await;
    let before = stored_lines(&app, cycle.id).await;

    let export = cm
        .get(
            &app,
            &format!("/api/forecast/cycles/{}/sheet/export", cycle.id),
        )
        .await;
    assert_eq!(export.status(), 200);
    assert!(export.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .contains("spreadsheetml"));
    let bytes = export.bytes().await.expect("bytes").to_vec();
    let import_path = format!("/api/forecast/cycles/{}/sheet/import", cycle.id);
    let upload = |body: Vec<u8>| {
        cm.client
            .post(app.url(&import_path))
            .header("X-CSRF-Token", &cm.csrf)
            .body(body)
            .send()
    };
    let back = upload(bytes).await.expect("import");
    assert_eq!(back.status(), 200);
    let after: Vec<(i64, i64, Option<i64>)> = stored_lines(&app, cycle.id)
        .await
        .into_iter()
        .map(|(r, s, v, _)| (r, s, v))
        .collect();
    let before_values: Vec<(i64, i64, Option<i64>)> =
        before.iter().map(|(r, s, v, _)| (*r, *s, *v)).collect();
    assert_eq!(after, before_values, "the round trip keeps every value");

    // A workbook with a bad cell and an unknown licence: both reported by
    // cell, nothing saved.
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let ws = workbook.add_worksheet();
    ws.write_string(0, 0, "许可证号").expect("write");
    for (s, spec) in view.specs.iter().enumerate() {
        ws.write_string(1, 4 + s as u16, &spec.code).expect("write");
    }
    ws.write_string(2, 0, &view.rows[0].licence_no)
        .expect("write");
    ws.write_number(2, 4, 12.0).expect("write");
    ws.write_string(2, 5, "十二").expect("write");
    ws.write_number(2, 6, 2.5).expect("write");
    ws.write_string(3, 0, "999999999999").expect("write");
    let bad = workbook.save_to_buffer().expect("xlsx");
    let refused = upload(bad).await.expect("import");
    assert_eq!(refused.status(), 422);
    let body: ErrorBody = refused.json().await.expect("body");
    for cell in ["F3", "G3", "A4"] {
        assert!(body.fields.contains_key(cell), "{cell} reported: {body:?}");
    }
    assert!(!body.fields.contains_key("E3"));
    let now: Vec<(i64, i64, Option<i64>)> = stored_lines(&app, cycle.id)
        .await
        .into_iter()
        .map(|(r, s, v, _)| (r, s, v))
        .collect();
    assert_eq!(now, before_values, "nothing partial saved");

    let junk = upload(b"licence,spec\n1,2\n".to_vec())
        .await
        .expect("import");
    assert_eq!(junk.status(), 422);
    let body: ErrorBody = junk.json().await.expect("body");
    assert!(body.fields.contains_key("file"), "{body:?}");
}
