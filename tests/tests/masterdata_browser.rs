//! A company loads its own files into an empty database, in headless
//! Chromium: the administrator imports the units and staff, the marketing
//! center the specs, a retailers file with bad rows (seen in the preview,
//! refused, then the fixed file) and 24 months of order history; a
//! customer manager then opens a forecast sheet whose baselines are those
//! the original company's history gives. On the demo company, a market
//! manager re-tiers a retailer (its next proposal has the new class's cap)
//! and hands another to a colleague from the retailers page.

use std::path::Path;
use std::time::{Duration, Instant};

use domain::forecast::view::{CycleView, SheetView};
use domain::masterdata::records::RetailerPage;
use domain::replenishment::ProposalView;
use e2e::{
    accept, click, element, text_of, type_into, wait_for_path, wait_for_text, Browser, TestApp,
    WAIT,
};
use reqwest::Method;
use serde_json::json;

async fn sign_in(browser: &Browser, app: &TestApp, login: &str, password: &str) {
    browser
        .client
        .goto(&app.url("/login"))
        .await
        .expect("open sign-in");
    type_into(browser, "[data-test=login]", login).await;
    type_into(browser, "[data-test=password]", password).await;
    click(browser, "[data-test=submit]").await;
}

/// Signs in with a one-time password and chooses `new`.
async fn first_sign_in(browser: &Browser, app: &TestApp, login: &str, one_time: &str, new: &str) {
    sign_in(browser, app, login, one_time).await;
    wait_for_path(browser, "/password").await;
    type_into(browser, "[data-test=current-password]", one_time).await;
    type_into(browser, "[data-test=new-password]", new).await;
    type_into(browser, "[data-test=repeat-password]", new).await;
    click(browser, "[data-test=password-submit]").await;
    element(browser, "[data-test=home]").await;
}

/// Chooses a file of `kind` on the import page and waits for its preview.
async fn check_file(browser: &Browser, app: &TestApp, kind: &str, file: &Path) {
    browser
        .client
        .goto(&app.url("/masterdata/import"))
        .await
        .expect("import page");
    element(browser, "#import-kind")
        .await
        .select_by_value(kind)
        .await
        .expect("choose the kind");
    element(browser, "#import-file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    click(browser, "#import-check").await;
    element(browser, "#import-preview").await;
}

/// Applies the checked file and waits for the result.
async fn apply(browser: &Browser, button: &str) -> String {
    click(browser, button).await;
    accept(browser).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(result) = browser
            .client
            .find(fantoccini::Locator::Css("#import-result"))
            .await
        {
            return result.text().await.expect("result");
        }
        if let Ok(error) = browser
            .client
            .find(fantoccini::Locator::Css("#import-error"))
            .await
        {
            let text = error.text().await.unwrap_or_default();
            assert!(text.trim().is_empty(), "the import failed: {text}");
        }
        assert!(Instant::now() < deadline, "the import finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A one-time password for `login`, given by the administrator.
async fn reset(app: &TestApp, admin: &e2e::Caller, login: &str) -> String {
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = $1")
        .bind(login)
        .fetch_one(&app.db().pool)
        .await
        .expect("account");
    let response = admin
        .send(
            app,
            Method::POST,
            &format!("/api/admin/users/{id}/password-reset"),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let otp: domain::accounts::OneTimePassword = response.json().await.expect("password");
    otp.password
}

/// Baselines of a sheet by (licence, spec code).
fn baselines(view: &SheetView) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    for (r, row) in view.rows.iter().enumerate() {
        for (s, spec) in view.specs.iter().enumerate() {
            out.push((
                row.licence_no.clone(),
                spec.code.clone(),
                view.baseline[r * view.specs.len() + s],
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_loads_its_own_files_and_forecasts_from_them() {
    // The original company (a county: 24 months of history) and its files.
    let source = e2e::spawn_app_scaled(e2e::Backend::Sqlite, tools::demo::Scale::County).await;
    let dir = tempfile::tempdir().expect("dir");
    tools::export::export(source.db(), dir.path())
        .await
        .expect("export");
    // A retailers file with two bad rows: an unknown manager, a repeated licence.
    let good = std::fs::read(dir.path().join("retailers.csv")).expect("file");
    let (text, _, _) = encoding_rs::GB18030.decode(&good);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let first = lines[1].clone();
    lines.push(
        first
            .replacen(",cm0", ",nobody-cm0", 1)
            .replacen("4211", "4299", 1),
    );
    lines.push(first);
    let bad_text = lines.join("\n") + "\n";
    let (bad, _, _) = encoding_rs::GB18030.encode(&bad_text);
    let bad_path = dir.path().join("retailers-with-errors.csv");
    std::fs::write(&bad_path, &bad).expect("write");
    let bad_rows = (lines.len() - 1, lines.len());

    // An empty database and its first administrator.
    let db = std::sync::Arc::new(e2e::TestDb::new(e2e::Backend::Sqlite).await);
    {
        let empty = server::db::Db::connect(&db.url, 2).await.expect("connect");
        empty.migrate().await.expect("migrate");
    }
    let out = std::process::Command::new(e2e::server_binary())
        .args([
            "--database-url",
            &db.url,
            "create-admin",
            "--login",
            "admin",
        ])
        .output()
        .expect("create-admin runs");
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{printed}");
    let admin_otp = printed
        .lines()
        .find_map(|l| l.strip_prefix("一次性密码 / one-time password: "))
        .expect("the one-time password is printed")
        .trim()
        .to_string();
    let app = e2e::spawn_app_on(
        db.clone(),
        server::config::Config::local(String::new()),
        false,
    )
    .await;

    // The administrator: units, then staff.
    let admin = Browser::start().await;
    first_sign_in(&admin, &app, "admin", &admin_otp, "Harbour-Lantern-42").await;
    check_file(&admin, &app, "units", &dir.path().join("units.csv")).await;
    assert_eq!(text_of(&admin, "#preview-bad").await.trim(), "0");
    let result = apply(&admin, "#import-apply").await;
    assert!(result.contains('4'), "{result}");
    check_file(&admin, &app, "staff", &dir.path().join("staff.csv")).await;
    let staff: i64 = text_of(&admin, "#preview-add")
        .await
        .trim()
        .parse()
        .expect("a count");
    let staff_rows = std::fs::read_to_string(dir.path().join("staff.csv"))
        .expect("staff file")
        .lines()
        .count()
        - 1;
    assert_eq!(staff as usize, staff_rows, "every person is new");
    apply(&admin, "#import-apply").await;
    admin.close().await;

    // The marketing center signs in with a password from the administrator.
    let admin_api = e2e::caller_with(&app, "admin", "Harbour-Lantern-42").await;
    let center_otp = reset(&app, &admin_api, "center").await;
    let center = Browser::start().await;
    first_sign_in(&center, &app, "center", &center_otp, "Quiet-River-Stone-7").await;
    check_file(&center, &app, "specs", &dir.path().join("specs.csv")).await;
    apply(&center, "#import-apply").await;

    // A retailers file with bad rows: named in the preview, not importable as is.
    check_file(&center, &app, "retailers", &bad_path).await;
    assert_eq!(text_of(&center, "#preview-bad").await.trim(), "2");
    let lines_named: Vec<String> = {
        let mut out = Vec::new();
        for row in center
            .client
            .find_all(fantoccini::Locator::Css(
                "#import-problems tr.problem td.line",
            ))
            .await
            .expect("problems")
        {
            out.push(row.text().await.expect("line").trim().to_string());
        }
        out
    };
    assert_eq!(
        lines_named,
        vec![bad_rows.0.to_string(), bad_rows.1.to_string()]
    );
    let problems = text_of(&center, "#import-problems").await;
    assert!(problems.contains("nobody-cm0"), "{problems}");
    assert!(problems.contains("重复"), "{problems}");
    let disabled = element(&center, "#import-apply")
        .await
        .attr("disabled")
        .await
        .expect("attribute");
    assert!(
        disabled.is_some(),
        "a file with bad rows is not applied as is"
    );
    let retailers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retailers")
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    assert_eq!(retailers, 0, "nothing was written");
    // The fixed file.
    check_file(
        &center,
        &app,
        "retailers",
        &dir.path().join("retailers.csv"),
    )
    .await;
    assert_eq!(text_of(&center, "#preview-bad").await.trim(), "0");
    apply(&center, "#import-apply").await;
    check_file(&center, &app, "history", &dir.path().join("history.csv")).await;
    let months = text_of(&center, "#import-months").await;
    assert!(months.contains("2026-10"), "{months}");
    let listed = center
        .client
        .find_all(fantoccini::Locator::Css("#import-months tbody tr"))
        .await
        .expect("months");
    assert_eq!(listed.len(), 24, "24 months of history: {months}");
    apply(&center, "#import-apply").await;
    center.close().await;

    // The same cycle in both companies: the baselines agree.
    let source_cycle = open_cycle(&source, None).await;
    let target_cycle = open_cycle(&app, Some("Quiet-River-Stone-7")).await;
    let source_cm = e2e::caller(&source, "cm01").await;
    let source_sheet: SheetView = source_cm
        .get_json(
            &source,
            &format!("/api/forecast/cycles/{}/sheet", source_cycle.id),
        )
        .await;

    let cm_otp = reset(&app, &admin_api, "cm01").await;
    let cm = Browser::start().await;
    first_sign_in(&cm, &app, "cm01", &cm_otp, "Morning-Tea-Route-8").await;
    let cm_api = e2e::caller_with(&app, "cm01", "Morning-Tea-Route-8").await;
    let target_sheet: SheetView = cm_api
        .get_json(
            &app,
            &format!("/api/forecast/cycles/{}/sheet", target_cycle.id),
        )
        .await;
    assert!(
        target_sheet.baseline.iter().sum::<i64>() > 0,
        "a baseline from the history"
    );
    assert_eq!(baselines(&source_sheet), baselines(&target_sheet));
    // In the grid: filled from the baseline, the first cell shows it.
    cm.client
        .goto(&app.url("/forecast"))
        .await
        .expect("forecast");
    click(&cm, "[data-test=open-sheet]").await;
    element(&cm, "[data-test=cell-0-0]").await;
    click(&cm, "[data-test=cell-0-0]").await;
    click(&cm, "[data-test=fill-baseline]").await;
    wait_for_text(
        &cm,
        "[data-test=cell-0-0]",
        &target_sheet.baseline[0].to_string(),
    )
    .await;
    cm.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_market_manager_re_tiers_and_hands_over_retailers() {
    let app = e2e::spawn_app(e2e::Backend::Sqlite).await;
    let pool = &app.db().pool;
    let mm_api = e2e::caller(&app, "mm01").await;
    let page: RetailerPage = mm_api.get_json(&app, "/api/masterdata/retailers").await;
    let target = page.rows[0].clone();
    let handed = page
        .rows
        .iter()
        .find(|r| r.manager_id == target.manager_id && r.id != target.id)
        .expect("a second retailer of the same manager")
        .clone();
    let (class, cap): (String, i64) = sqlx::query_as(
        "SELECT code, total_cap FROM customer_classes WHERE total_cap IS NOT NULL \
         AND total_cap <> COALESCE((SELECT total_cap FROM customer_classes WHERE code = $1), -1) ORDER BY rank DESC LIMIT 1",
    )
    .bind(&target.class_code)
    .fetch_one(pool)
    .await
    .expect("another class");
    let cm_login: String = sqlx::query_scalar("SELECT login FROM users WHERE id = $1")
        .bind(target.manager_id)
        .fetch_one(pool)
        .await
        .expect("login");
    let cm = e2e::caller(&app, &cm_login).await;
    let path = format!("/api/replenishment/retailers/{}/proposal", target.id);
    let before: ProposalView = cm.get_json(&app, &path).await;
    assert_ne!(before.total_cap, Some(cap));

    let mm = Browser::start().await;
    sign_in(&mm, &app, "mm01", e2e::DEMO_PASSWORD).await;
    element(&mm, "[data-test=home]").await;
    mm.client
        .goto(&app.url("/masterdata/retailers"))
        .await
        .expect("retailers page");
    let row = format!("tr[data-licence=\"{}\"]", target.licence_no);
    click(&mm, &format!("{row} button.edit")).await;
    element(&mm, "#edit-class")
        .await
        .select_by_value(&class)
        .await
        .expect("choose the class");
    click(&mm, "#edit-save").await;
    let deadline = Instant::now() + WAIT;
    loop {
        let stored: String = sqlx::query_scalar("SELECT class_code FROM retailers WHERE id = $1")
            .bind(target.id)
            .fetch_one(pool)
            .await
            .expect("class");
        if stored == class {
            break;
        }
        assert!(Instant::now() < deadline, "the class was saved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after: ProposalView = cm.get_json(&app, &path).await;
    assert_eq!(
        after.total_cap,
        Some(cap),
        "the next proposal has the new class's cap"
    );

    // Hand the second retailer to a colleague; the page says what happens.
    let other: (i64, String) = sqlx::query_as(
        "SELECT id, login FROM users WHERE role = 'customer_manager' AND org_unit_id = $1 AND id <> $2 ORDER BY id LIMIT 1",
    )
    .bind(handed.market_unit_id)
    .bind(handed.manager_id)
    .fetch_one(pool)
    .await
    .expect("a colleague");
    mm.client.refresh().await.expect("reload");
    click(
        &mm,
        &format!("tr[data-licence=\"{}\"] input.pick", handed.licence_no),
    )
    .await;
    element(&mm, "#reassign-manager")
        .await
        .select_by_value(&other.0.to_string())
        .await
        .expect("choose the colleague");
    click(&mm, "#reassign").await;
    let said = text_of(&mm, "#reassign-confirm-box").await;
    assert!(said.contains("下一个预测周期"), "{said}");
    click(&mm, "#reassign-confirm").await;
    wait_for_text(&mm, "#reassign-result", "1").await;
    let colleague = e2e::caller(&app, &other.1).await;
    let list: domain::replenishment::ManagedRetailers = colleague
        .get_json(&app, "/api/replenishment/retailers")
        .await;
    assert!(
        list.retailers.iter().any(|r| r.id == handed.id),
        "on the colleague's list"
    );
    mm.close().await;
}

/// Opens next month's cycle of the first four specs by code, as the center.
async fn open_cycle(app: &TestApp, password: Option<&str>) -> CycleView {
    let center = match password {
        Some(p) => e2e::caller_with(app, "center", p).await,
        None => e2e::caller(app, "center").await,
    };
    let list: domain::forecast::view::CycleList =
        center.get_json(app, "/api/forecast/cycles").await;
    let specs: Vec<domain::catalogue::Spec> = center.get_json(app, "/api/specs").await;
    let mut codes: Vec<(String, i64)> = specs.iter().map(|s| (s.code.clone(), s.id)).collect();
    codes.sort();
    let ids: Vec<i64> = codes.iter().take(4).map(|(_, id)| *id).collect();
    let response = center
        .send(
            app,
            Method::POST,
            "/api/forecast/cycles",
            json!({ "month": list.default_month, "spec_ids": ids, "scope": "all" }),
        )
        .await;
    assert_eq!(
        response.status(),
        200,
        "{}",
        response.text().await.unwrap_or_default()
    );
    response.json().await.expect("cycle")
}
