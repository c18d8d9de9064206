//! Master data through the API, on both databases: the demo company written
//! as import files and loaded into an empty database comes back the same
//! (and loading it twice changes nothing); bad rows are named and nothing
//! is applied until the file is clean or the good rows are chosen;
//! re-tiering changes the caps of the next proposal; a handover moves the
//! retailer to the other manager's list at once and to their sheet from
//! the next cycle; edits sent at once leave one winner.

use std::collections::BTreeMap;
use std::time::Duration;

use domain::masterdata::records::{Reassigned, RetailerPage, RetailerRecord};
use domain::masterdata::{ImportJob, ImportState};
use domain::replenishment::{ManagedRetailers, ProposalView};
use e2e::{caller, on_both_databases, spawn_app, spawn_app_on, Backend, Caller, TestApp, TestDb};
use reqwest::Method;
use serde_json::json;

on_both_databases!(
    the_demo_company_comes_back_from_its_files,
    bad_rows_are_named_and_applied_only_when_chosen,
    re_tiering_changes_caps_and_a_handover_moves_the_retailer,
    edits_and_imports_sent_at_once_leave_one_winner,
);

async fn upload(app: &TestApp, who: &Caller, path: &str, body: Vec<u8>) -> reqwest::Response {
    who.client
        .post(app.url(path))
        .header("X-CSRF-Token", &who.csrf)
        .body(body)
        .send()
        .await
        .expect("upload")
}

/// Uploads a file and waits for its preview.
async fn check(app: &TestApp, who: &Caller, kind: &str, body: &[u8]) -> ImportJob {
    let response = upload(
        app,
        who,
        &format!("/api/masterdata/imports?kind={kind}&name={kind}.csv"),
        body.to_vec(),
    )
    .await;
    assert_eq!(
        response.status(),
        202,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let job: ImportJob = response.json().await.expect("job");
    wait(app, who, job.id).await
}

async fn wait(app: &TestApp, who: &Caller, id: i64) -> ImportJob {
    for _ in 0..1200 {
        let job: ImportJob = who
            .get_json(app, &format!("/api/masterdata/imports/{id}"))
            .await;
        if !job.state.running() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish");
}

async fn apply(app: &TestApp, who: &Caller, id: i64, body: &[u8], good: bool) -> reqwest::Response {
    upload(
        app,
        who,
        &format!("/api/masterdata/imports/{id}/apply?only_good_rows={good}"),
        body.to_vec(),
    )
    .await
}

/// What makes a company: retailers, specs, people, units and the monthly totals.
async fn company(app: &TestApp) -> BTreeMap<&'static str, Vec<String>> {
    let pool = &app.db().pool;
    let mut out = BTreeMap::new();
    let rows: Vec<(String, String, String, String, i64, i64, String)> = sqlx::query_as(
        "SELECT r.licence_no, r.name, r.class_code, u.login, r.order_weekday, r.online_replenishment, o.name \
         FROM retailers r JOIN users u ON u.id = r.manager_id JOIN org_units o ON o.id = r.market_unit_id ORDER BY r.licence_no",
    )
    .fetch_all(pool)
    .await
    .expect("retailers");
    out.insert("retailers", rows.iter().map(|r| format!("{r:?}")).collect());
    let rows: Vec<(String, String, String, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT code, name, brand, price_class, wholesale_fen, retail_fen, order_multiple, scarce, is_new FROM specs ORDER BY code",
    )
    .fetch_all(pool)
    .await
    .expect("specs");
    out.insert("specs", rows.iter().map(|r| format!("{r:?}")).collect());
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT u.login, u.display_name, u.role, o.name FROM users u JOIN org_units o ON o.id = u.org_unit_id \
         WHERE u.role NOT IN ('retailer', 'admin') ORDER BY u.login",
    )
    .fetch_all(pool)
    .await
    .expect("people");
    out.insert("people", rows.iter().map(|r| format!("{r:?}")).collect());
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT u.name, u.kind, p.name FROM org_units u LEFT JOIN org_units p ON p.id = u.parent_id ORDER BY u.name",
    )
    .fetch_all(pool)
    .await
    .expect("units");
    out.insert("units", rows.iter().map(|r| format!("{r:?}")).collect());
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT month, CAST(SUM(cartons) AS BIGINT), COUNT(*) FROM monthly_orders GROUP BY month ORDER BY month",
    )
    .fetch_all(pool)
    .await
    .expect("history");
    out.insert("history", rows.iter().map(|r| format!("{r:?}")).collect());
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT month, CAST(SUM(cartons) AS BIGINT) FROM monthly_spec_totals GROUP BY month ORDER BY month",
    )
    .fetch_all(pool)
    .await
    .expect("totals");
    out.insert("totals", rows.iter().map(|r| format!("{r:?}")).collect());
    out
}

async fn the_demo_company_comes_back_from_its_files(backend: Backend) {
    let source = spawn_app(backend).await;
    let dir = tempfile::tempdir().expect("dir");
    let files = tools::export::export(source.db(), dir.path())
        .await
        .expect("export");
    assert_eq!(files.len(), 5);
    let retailers_bytes = std::fs::read(dir.path().join("retailers.csv")).expect("file");
    assert!(
        std::str::from_utf8(&retailers_bytes).is_err(),
        "the retailers file is GB18030, as Chinese Excel writes it"
    );

    let db = std::sync::Arc::new(TestDb::new(backend).await);
    let target = spawn_app_on(db, server::config::Config::local(String::new()), false).await;
    server::service::accounts::bootstrap_admin(target.db(), "admin", "管理员", "营销中心", true)
        .await
        .expect("first administrator");
    let loaded = tools::export::load_company(&target.state, dir.path(), "admin", "center")
        .await
        .expect("the files load");
    for (file, job, _, _) in &loaded {
        let preview = job.preview.as_ref().expect("preview");
        assert_eq!(preview.bad, 0, "{file}: {:?}", preview.problems);
        assert!(preview.missing.is_empty(), "{file}");
    }
    let history = &loaded[4].1;
    assert_eq!(
        history.result.expect("result").added as usize,
        files[4].1,
        "every history row is added"
    );
    let (before, after) = (company(&source).await, company(&target).await);
    for key in ["retailers", "specs", "people", "units", "history", "totals"] {
        assert_eq!(before[key], after[key], "{key} differ");
    }

    // The same files again change nothing.
    let again = tools::export::load_company(&target.state, dir.path(), "admin", "center")
        .await
        .expect("the files load again");
    for (file, job, _, _) in &again {
        let result = job.result.expect("result");
        assert_eq!((result.added, result.changed), (0, 0), "{file}: {result:?}");
    }
    assert_eq!(company(&target).await, after);
    // One changed quantity in the history: one row changed, its month's total follows.
    let history = std::fs::read_to_string(dir.path().join("history.csv")).expect("history");
    let mut lines: Vec<String> = history.lines().map(str::to_string).collect();
    let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
    let old: i64 = cells[3].parse().expect("cartons");
    cells[3] = (old + 7).to_string();
    lines[1] = cells.join(",");
    let changed_path = dir.path().join("history-changed.csv");
    std::fs::write(&changed_path, lines.join("\n") + "\n").expect("write");
    let (job, _, _) = tools::export::import_file(
        &target.state,
        "center",
        domain::masterdata::ImportKind::History,
        &changed_path,
    )
    .await
    .expect("the changed history loads");
    let result = job.result.expect("result");
    assert_eq!((result.added, result.changed), (0, 1), "{result:?}");
    let stored: i64 = sqlx::query_scalar(
        "SELECT m.cartons FROM monthly_orders m JOIN retailers r ON r.id = m.retailer_id \
         JOIN specs s ON s.id = m.spec_id WHERE r.licence_no = $1 AND s.code = $2 AND m.month = $3",
    )
    .bind(&cells[0])
    .bind(&cells[1])
    .bind(
        domain::masterdata::clean::month(&cells[2])
            .expect("a month")
            .to_string(),
    )
    .fetch_one(&target.db().pool)
    .await
    .expect("the changed row");
    assert!(cells[2].contains('年'), "{}", cells[2]);
    assert_eq!(stored, old + 7);
    let (totals_before, totals_after) = (&after["totals"], &company(&target).await["totals"]);
    assert_ne!(totals_before, totals_after, "the month's total follows");
    // Each added record was audited.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'masterdata.import.add' AND entity = 'retailer'",
    )
    .fetch_one(&target.db().pool)
    .await
    .expect("audit");
    assert_eq!(audited as usize, files[3].1);
}

async fn bad_rows_are_named_and_applied_only_when_chosen(backend: Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let pool = &app.db().pool;
    let (licence, cm): (String, String) = sqlx::query_as(
        "SELECT r.licence_no, u.login FROM retailers r JOIN users u ON u.id = r.manager_id ORDER BY r.id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("a retailer");
    // Stray spaces, a full-width licence, a licence as a number, a
    // duplicate, an unknown manager and class, a GB18030 line in UTF-8.
    let mut file = format!(
        "序号,专卖许可证号,客户名称,客户档位,客户经理,订货日\n\
         1, 421199000001 ,新开烟酒店,5档,{cm},周三\n\
         2,４２１１９９０００００２,全角商店,6,{cm},3\n\
         3,4.21199000003E+11,数字商店,7,{cm},周四\n\
         4,421199000001,重复商店,5,{cm},周一\n\
         5,421199000005,无名经理店,5,nobody,周一\n\
         6,421199000006,无档位店,99档,{cm},周一\n\
         7,4.211E+11,丢位店,5,{cm},周一\n"
    )
    .into_bytes();
    let odd_line = format!("8,421199000008,编码店,5,{cm},周一\n");
    let (gb, _, _) = encoding_rs::GB18030.encode(&odd_line);
    file.extend_from_slice(&gb);
    let job = check(&app, &center, "retailers", &file).await;
    assert_eq!(job.state, ImportState::Checked, "{:?}", job.error);
    let preview = job.preview.clone().expect("preview");
    assert_eq!((preview.add, preview.bad), (3, 5), "{:?}", preview.problems);
    let named: Vec<(u64, &str)> = preview
        .problems
        .iter()
        .map(|p| (p.line, p.field.as_str()))
        .collect();
    assert_eq!(
        named,
        vec![
            (5, "许可证号"),
            (6, "客户经理"),
            (7, "客户档位"),
            (8, "许可证号"),
            (9, "编码"),
        ],
        "{:?}",
        preview.problems
    );
    assert!(preview.problems[0].message.contains("第 2 行"));
    assert!(preview.problems[3].message.contains("科学计数法"));
    assert_eq!(preview.repaired, 2, "{:?}", preview.repairs);

    // Not applied while bad rows remain, unless chosen.
    let refused = apply(&app, &center, job.id, &file, false).await;
    assert_eq!(refused.status(), 422);
    assert_eq!(count(&app, "421199000001").await, 0, "nothing was written");
    // Another file than the previewed one is refused.
    let other = apply(&app, &center, job.id, b"x", true).await;
    assert_eq!(other.status(), 422);
    let accepted = apply(&app, &center, job.id, &file, true).await;
    assert_eq!(accepted.status(), 202);
    let done = wait(&app, &center, job.id).await;
    assert_eq!(done.state, ImportState::Applied, "{:?}", done.error);
    let result = done.result.expect("result");
    assert_eq!((result.added, result.skipped), (3, 5));
    for good in ["421199000001", "421199000002", "421199000003"] {
        assert_eq!(count(&app, good).await, 1, "{good}");
    }
    for bad in ["421199000005", "421199000006", "421199000008"] {
        assert_eq!(count(&app, bad).await, 0, "{bad}");
    }
    let name: String =
        sqlx::query_scalar("SELECT name FROM retailers WHERE licence_no = '421199000001'")
            .fetch_one(pool)
            .await
            .expect("name");
    assert_eq!(name, "新开烟酒店", "the first of the duplicates");
    // A second apply of the same job is refused.
    assert_eq!(
        apply(&app, &center, job.id, &file, true).await.status(),
        409
    );

    // History: a future month, an unknown spec, a negative quantity.
    let code: String = sqlx::query_scalar("SELECT code FROM specs ORDER BY id LIMIT 1")
        .fetch_one(pool)
        .await
        .expect("spec");
    let history = format!(
        "许可证号,卷烟编码,月份,订货量\n{licence},{code},2025年11月,12\n{licence},{code},2099-01,3\n\
         {licence},NOSUCH,2025-11,3\n{licence},{code},2025-10,-4\n"
    );
    let job = check(&app, &center, "history", history.as_bytes()).await;
    let preview = job.preview.expect("preview");
    assert_eq!(preview.bad, 3, "{:?}", preview.problems);
    let fields: Vec<&str> = preview.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, vec!["月份", "卷烟编码", "订货量"]);
    // A specs file with a negative price.
    let job = check(
        &app,
        &center,
        "specs",
        "卷烟编码,卷烟名称,品牌,价类,批发价,零售价\n6901000000001,测试(软),测试,3,-5,10\n"
            .as_bytes(),
    )
    .await;
    let preview = job.preview.expect("preview");
    assert_eq!(preview.problems[0].field, "批发价");
    assert!(preview.problems[0].message.contains("负数"));
    // Units and staff are the administrator's.
    let refused = upload(
        &app,
        &center,
        "/api/masterdata/imports?kind=units",
        b"a".to_vec(),
    )
    .await;
    assert_eq!(refused.status(), 403);
}

async fn re_tiering_changes_caps_and_a_handover_moves_the_retailer(backend: Backend) {
    let app = spawn_app(backend).await;
    let pool = &app.db().pool;
    let mm = caller(&app, "mm01").await;
    let page: RetailerPage = mm.get_json(&app, "/api/masterdata/retailers").await;
    let target = page.rows[0].clone();
    // A class with another total cap than the retailer's.
    let (class, cap): (String, i64) = sqlx::query_as(
        "SELECT code, total_cap FROM customer_classes WHERE total_cap IS NOT NULL AND code <> $1 \
         AND total_cap <> COALESCE((SELECT total_cap FROM customer_classes WHERE code = $1), -1) ORDER BY rank LIMIT 1",
    )
    .bind(&target.class_code)
    .fetch_one(pool)
    .await
    .expect("another class");
    let cm = e2e::caller(&app, &manager_login(&app, target.manager_id).await).await;
    let path = format!("/api/replenishment/retailers/{}/proposal", target.id);
    let before: ProposalView = cm.get_json(&app, &path).await;
    assert_ne!(before.total_cap, Some(cap));
    let response = mm
        .send(
            &app,
            Method::PATCH,
            &format!("/api/masterdata/retailers/{}", target.id),
            json!({ "version": target.version, "class_code": class }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let changed: RetailerRecord = response.json().await.expect("record");
    assert_eq!(changed.class_code, class);
    let after: ProposalView = cm.get_json(&app, &path).await;
    assert_eq!(after.total_cap, Some(cap), "the new class's cap");
    let audited: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'masterdata.retailer.change' AND entity_id = $1",
    )
    .bind(&target.licence_no)
    .fetch_one(pool)
    .await
    .expect("audited");
    assert!(
        audited.contains(&format!("\"class\":\"{}\"", target.class_code)),
        "{audited}"
    );

    // Hand it to another customer manager of the department while a cycle is open.
    let open = e2e::forecast::open_cycle(&app, domain::forecast::Scope::All, 2).await;
    let managers: Vec<domain::masterdata::records::ManagerChoice> =
        mm.get_json(&app, "/api/masterdata/managers").await;
    let other = managers
        .iter()
        .find(|m| m.id != target.manager_id)
        .expect("another manager")
        .clone();
    let response = mm
        .send(
            &app,
            Method::POST,
            "/api/masterdata/retailers/reassign",
            json!({ "retailer_ids": [target.id], "manager_id": other.id }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let moved: Reassigned = response.json().await.expect("moved");
    assert_eq!((moved.moved, moved.in_open_cycle), (1, 1));
    let new_cm = caller(&app, &other.login).await;
    let list: ManagedRetailers = new_cm.get_json(&app, "/api/replenishment/retailers").await;
    assert!(
        list.retailers.iter().any(|r| r.id == target.id),
        "on the new list"
    );
    let old: ManagedRetailers = cm.get_json(&app, "/api/replenishment/retailers").await;
    assert!(
        !old.retailers.iter().any(|r| r.id == target.id),
        "off the old list"
    );
    // As the page says: this cycle keeps it on the former sheet …
    assert_eq!(sheet_of(&app, open.id, target.id).await, target.manager_id);
    // … and the next cycle puts it on the new manager's sheet.
    let center = caller(&app, "center").await;
    let next = center
        .send(
            &app,
            Method::POST,
            "/api/forecast/cycles",
            json!({ "month": open.month.plus(1), "spec_ids": open.specs.iter().map(|s| s.spec_id).collect::<Vec<_>>(), "scope": "all" }),
        )
        .await;
    assert_eq!(
        next.status(),
        200,
        "{}",
        next.text().await.unwrap_or_default()
    );
    let next: domain::forecast::view::CycleView = next.json().await.expect("cycle");
    assert_eq!(sheet_of(&app, next.id, target.id).await, other.id);
    // Outside the department: refused.
    let foreign: i64 = sqlx::query_scalar(
        "SELECT r.id FROM retailers r WHERE r.market_unit_id <> (SELECT org_unit_id FROM users WHERE login = 'mm01') LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("a foreign retailer");
    let response = mm
        .send(
            &app,
            Method::POST,
            "/api/masterdata/retailers/reassign",
            json!({ "retailer_ids": [foreign], "manager_id": other.id }),
        )
        .await;
    assert_eq!(response.status(), 403);
}

async fn manager_login(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT login FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db().pool)
        .await
        .expect("login")
}

async fn edits_and_imports_sent_at_once_leave_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let mm = caller(&app, "mm01").await;
    let page: RetailerPage = mm.get_json(&app, "/api/masterdata/retailers").await;
    let target = &page.rows[0];
    let edits = (0..6).map(|i| {
        let mm = &mm;
        let app = &app;
        async move {
            mm.send(
                app,
                Method::PATCH,
                &format!("/api/masterdata/retailers/{}", target.id),
                json!({ "version": target.version, "phone": format!("1380000000{i}") }),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let mut statuses = futures::future::join_all(edits).await;
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 409, 409, 409, 409, 409]);
    let version: i64 = sqlx::query_scalar("SELECT version FROM retailers WHERE id = $1")
        .bind(target.id)
        .fetch_one(&app.db().pool)
        .await
        .expect("version");
    assert_eq!(version, target.version + 1);

    // Two edits of one spec from the same version at once: one is saved.
    let center = caller(&app, "center").await;
    let specs: Vec<domain::masterdata::records::SpecRecord> =
        center.get_json(&app, "/api/masterdata/specs").await;
    let spec = specs[0].clone();
    let edits = (0..4).map(|i| {
        let (center, app, spec) = (&center, &app, &spec);
        async move {
            let mut body = serde_json::to_value(spec).expect("json");
            body["retail_fen"] = json!(spec.retail_fen + 100 + i);
            center
                .send(
                    app,
                    Method::PUT,
                    &format!("/api/masterdata/specs/{}", spec.id),
                    body,
                )
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures::future::join_all(edits).await;
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 409, 409, 409]);
    // Two saves of the class list at once: each is whole, none is lost half-way.
    let list: domain::masterdata::records::ClassList =
        center.get_json(&app, "/api/masterdata/classes").await;
    let saves = ["甲", "乙"].map(|tag| {
        let mut list = list.clone();
        for c in &mut list.classes {
            c.label = format!("{}{tag}", c.code);
        }
        let (center, app) = (&center, &app);
        async move {
            center
                .send(
                    app,
                    Method::PUT,
                    "/api/masterdata/classes",
                    serde_json::to_value(&list).expect("json"),
                )
                .await
                .status()
                .as_u16()
        }
    });
    assert_eq!(futures::future::join_all(saves).await, vec![200, 200]);
    let labels: Vec<String> =
        sqlx::query_scalar("SELECT label FROM customer_classes ORDER BY rank")
            .fetch_all(&app.db().pool)
            .await
            .expect("labels");
    let tags: std::collections::BTreeSet<char> =
        labels.iter().filter_map(|l| l.chars().last()).collect();
    assert_eq!(tags.len(), 1, "one save or the other, whole: {labels:?}");

    // Two applies of one checked file at once: one runs.
    let file = "卷烟编码,卷烟名称,品牌,价类,批发价,零售价\n6901000000009,并发(软),并发,3,100,120\n";
    let job = check(&app, &center, "specs", file.as_bytes()).await;
    let applies = (0..2).map(|_| apply(&app, &center, job.id, file.as_bytes(), false));
    let mut statuses: Vec<u16> = futures::future::join_all(applies)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert!(
        statuses == vec![202, 409] || statuses == vec![202, 503],
        "{statuses:?}"
    );
    let done = wait(&app, &center, job.id).await;
    assert_eq!(done.result.expect("result").added, 1);
    let specs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM specs WHERE code = '6901000000009'")
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    assert_eq!(specs, 1);
}

async fn count(app: &TestApp, licence: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM retailers WHERE licence_no = $1")
        .bind(licence)
        .fetch_one(&app.db().pool)
        .await
        .expect("count")
}

/// The manager whose sheet of `cycle` holds the retailer.
async fn sheet_of(app: &TestApp, cycle: i64, retailer: i64) -> i64 {
    sqlx::query_scalar::<_, i64>(
        "SELECT s.manager_id FROM forecast_cycle_retailers cr JOIN forecast_sheets s ON s.id = cr.sheet_id \
         WHERE cr.cycle_id = $1 AND cr.retailer_id = $2",
    )
    .bind(cycle)
    .bind(retailer)
    .fetch_one(&app.db().pool)
    .await
    .expect("on a sheet")
}
