//! Rough edges users hit (issue 16, point 5), each in headless Chromium:
//! export links that download, a spec added on the settings page, a bad
//! import that names its cells, the cells still needing a reason, a paste
//! that is only partly saved, confirmations before what cannot be undone,
//! blank and full-width numbers, phone and wide-screen layouts, and China
//! time on every page.

use std::time::Duration;

use domain::forecast::view::SheetView;
use domain::forecast::{deviates, Scope};
use e2e::forecast::{approve_by, fill_with_baseline, open_cycle, save, sheet, submit_every_cell};
use e2e::{
    accept, caller, click, dismiss, downloaded, element, spawn_app, text_of, type_into,
    wait_for_text, Backend, Browser, TestApp,
};
use fantoccini::key::Key;
use fantoccini::Locator;
use serde_json::json;

async fn sign_in(browser: &Browser, app: &TestApp, login: &str) {
    e2e::sign_in_at(browser, app, "/login", login).await;
    element(browser, "[data-test=home]").await;
}

/// A browser of `width` × 900 signed in as `login`.
async fn signed_in_at(app: &TestApp, login: &str, width: u32) -> Browser {
    let browser = Browser::start().await;
    browser
        .client
        .set_window_size(width, 900)
        .await
        .expect("window size");
    sign_in(&browser, app, login).await;
    browser
}

async fn goto(browser: &Browser, app: &TestApp, path: &str) {
    browser
        .client
        .goto(&app.url(path))
        .await
        .expect("open page");
}

async fn open_sheet(browser: &Browser, app: &TestApp, cycle: i64) {
    goto(browser, app, &format!("/forecast/{cycle}")).await;
    element(browser, "[data-test=cell-0-0]").await;
}

/// Types into the grid's editor (which holds the keyboard focus).
async fn keys(browser: &Browser, text: &str) {
    element(browser, "[data-test=cell-editor]")
        .await
        .send_keys(text)
        .await
        .expect("type");
}

/// What an input holds.
async fn value_of(browser: &Browser, css: &str) -> String {
    element(browser, css)
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

/// Pastes `text` into the grid as Excel puts a block on the clipboard.
async fn paste(browser: &Browser, text: &str) {
    browser
        .client
        .execute(
            "const data = new DataTransfer(); data.setData('text/plain', arguments[0]);
             document.querySelector('[data-test=cell-editor]').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));",
            vec![json!(text)],
        )
        .await
        .expect("paste");
}

async fn sheet_status(app: &TestApp, sheet_id: i64) -> (String, Option<i64>) {
    sqlx::query_as("SELECT status, review_level FROM forecast_sheets WHERE id = $1")
        .bind(sheet_id)
        .fetch_one(&app.db().pool)
        .await
        .expect("the sheet's status")
}

// ----- 1. Export links download -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_export_links_download_files() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let view = submit_every_cell(&app, cycle.id, "cm01", 10).await;
    approve_by(&app, view.sheet_id, &["mm01", "county", "center"]).await;

    let browser = signed_in_at(&app, "center", 1280).await;
    goto(&browser, &app, &format!("/forecast/{}/dashboard", cycle.id)).await;
    click(&browser, "[data-test=export-xlsx]").await;
    let xlsx = downloaded(&browser, "xlsx").await;
    assert!(
        std::fs::read(&xlsx)
            .expect("the workbook")
            .starts_with(b"PK"),
        "an xlsx workbook arrived"
    );
    let url = browser.client.current_url().await.expect("url");
    assert_eq!(
        url.path(),
        format!("/forecast/{}/dashboard", cycle.id),
        "the page stays"
    );
    assert!(
        !text_of(&browser, "main").await.contains("页面不存在"),
        "no 'page not found'"
    );

    // The CSV of the lines: a BOM and Chinese headers, for Excel.
    click(&browser, "[data-test=export-csv-lines]").await;
    let csv = downloaded(&browser, "csv").await;
    let bytes = std::fs::read(&csv).expect("the CSV");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a UTF-8 BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
    assert!(text.starts_with("许可证号,"), "{text}");
    browser.close().await;
}

// ----- 2. A spec added on the settings page keeps its values -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_added_on_the_settings_page_keeps_what_was_typed() {
    let app = spawn_app(Backend::Sqlite).await;
    let login = app.retailer_login(0).await;
    let retailer_id: i64 = sqlx::query_scalar("SELECT retailer_id FROM users WHERE login = $1")
        .bind(&login)
        .fetch_one(&app.db().pool)
        .await
        .expect("retailer id");
    // An orderable spec the retailer does not list yet.
    let (spec, code): (i64, String) = sqlx::query_as(
        "SELECT id, code FROM specs WHERE orderable = 1 AND id NOT IN \
         (SELECT spec_id FROM retailer_specs WHERE retailer_id = $1) ORDER BY id LIMIT 1",
    )
    .bind(retailer_id)
    .fetch_one(&app.db().pool)
    .await
    .expect("an unlisted spec");

    let browser = signed_in_at(&app, &login, 375).await;
    click(&browser, "[data-test=link-replenishment]").await;
    element(&browser, "[data-test=settings] .spec-card").await;
    type_into(&browser, "[data-test=spec-search]", &code).await;
    click(&browser, "[data-test=spec-match]").await;
    let card = format!(".spec-card[data-spec='{spec}']");
    let cap: i64 = text_of(&browser, &format!("{card} [data-test=cap]"))
        .await
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("the cap is shown");
    assert!(cap >= 2, "room for the limits: cap {cap}");
    let at = |field: &str| format!("{card} [data-field={field}]");
    type_into(&browser, &at("stock"), "3").await;
    type_into(&browser, &at("lower"), "1").await;
    type_into(&browser, &at("upper"), &cap.to_string()).await;
    type_into(&browser, &at("weekly_turnover"), "2").await;
    click(&browser, "[data-test=save]").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;

    browser.client.refresh().await.expect("reload");
    element(&browser, &at("stock")).await;
    assert_eq!(value_of(&browser, &at("stock")).await, "3");
    assert_eq!(value_of(&browser, &at("lower")).await, "1");
    assert_eq!(value_of(&browser, &at("upper")).await, cap.to_string());
    assert_eq!(value_of(&browser, &at("weekly_turnover")).await, "2");
    let stored: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT stock, lower_limit, upper_limit, weekly_turnover FROM retailer_specs \
         WHERE retailer_id = $1 AND spec_id = $2",
    )
    .bind(retailer_id)
    .bind(spec)
    .fetch_one(&app.db().pool)
    .await
    .expect("the added spec is stored");
    assert_eq!(stored, (3, 1, cap, 2));
    browser.close().await;
}

// ----- 3. A bad import names its cells -----

/// A workbook in the export layout with three bad cells: E3, F3 and E4.
fn bad_workbook(view: &SheetView) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.write_string(0, 0, "许可证号").expect("write");
    for (s, spec) in view.specs.iter().enumerate() {
        ws.write_string(1, 4 + s as u16, &spec.code).expect("write");
    }
    for (r, row) in view.rows.iter().take(2).enumerate() {
        let at = 2 + r as u32;
        ws.write_string(at, 0, &row.licence_no).expect("write");
        for s in 0..view.specs.len() {
            ws.write_number(at, 4 + s as u16, 1.0).expect("write");
        }
    }
    ws.write_string(2, 4, "abc").expect("write");
    ws.write_number(2, 5, -1.0).expect("write");
    ws.write_number(3, 4, 2.5).expect("write");
    book.save_to_buffer().expect("xlsx")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_import_shows_each_bad_cell_with_its_message() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let cm = caller(&app, "cm01").await;
    let view = sheet(&cm, &app, cycle.id).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.xlsx");
    std::fs::write(&file, bad_workbook(&view)).expect("write");

    let browser = signed_in_at(&app, "cm01", 1280).await;
    open_sheet(&browser, &app, cycle.id).await;
    element(&browser, "[data-test=import-file]")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    wait_for_text(&browser, "[data-test=sheet-error]", "3 处错误").await;
    let list = "[data-test=import-errors]";
    wait_for_text(&browser, list, "E3").await;
    let shown = text_of(&browser, list).await;
    for expected in [
        "E3",
        "请输入数字",
        "F3",
        "数量不能为负数",
        "E4",
        "请输入整条数",
    ] {
        assert!(shown.contains(expected), "{expected} in {shown:?}");
    }
    // In the sheet's order: row 3 before row 4.
    assert!(shown.find("F3") < shown.find("E4"), "{shown:?}");
    browser.close().await;
}

// ----- 4. Every cell needing a reason at once, and a way through them -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_needing_a_reason_is_marked_and_next_goes_through_them() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 3).await;
    let cm = caller(&app, "cm01").await;
    let view = sheet(&cm, &app, cycle.id).await;
    fill_with_baseline(&cm, &app, &view).await;
    let view = sheet(&cm, &app, cycle.id).await;
    // Three cells far above the baseline, the last at the bottom of the sheet.
    let last = view.rows.len() - 1;
    let far: Vec<(usize, usize)> = [(0, 1), (1, 0), (last, 2)]
        .into_iter()
        .filter(|&(r, s)| {
            let i = view.index(r, s);
            deviates(view.bound[i], view.baseline[i], &view.rules)
        })
        .collect();
    assert_eq!(far.len(), 3, "the bounds are far from the baselines");
    let cells: Vec<_> = far
        .iter()
        .map(|&(r, s)| {
            let i = view.index(r, s);
            json!({ "retailer_id": view.rows[r].retailer_id, "spec_id": view.specs[s].spec_id,
                    "value": view.bound[i], "base_revision": view.revision[i] })
        })
        .collect();
    assert_eq!(save(&cm, &app, cycle.id, json!(cells)).await.status(), 200);

    let browser = signed_in_at(&app, "cm01", 1280).await;
    open_sheet(&browser, &app, cycle.id).await;
    // Counted and explained before any submit.
    wait_for_text(&browser, "[data-test=needs-reason-count]", "3").await;
    wait_for_text(&browser, "[data-test=reason-legend]", "需说明原因").await;
    element(&browser, "[data-test=cell-0-1].needs-reason").await;
    element(&browser, "[data-test=cell-1-0].needs-reason").await;

    // 下一个 goes to each in turn, scrolling to the one at the bottom.
    for &(r, _) in &far {
        click(&browser, "[data-test=next-reason]").await;
        wait_for_text(&browser, "[data-test=detail-title]", &view.rows[r].name).await;
        element(&browser, "[data-test=reason-input]").await;
    }
    element(&browser, &format!("[data-test=cell-{last}-2].needs-reason")).await;
    // Giving the last a reason takes it off the list; the keyboard (F8)
    // goes on to the next.
    element(&browser, "[data-test=reason-input]")
        .await
        .send_keys("新店开业")
        .await
        .expect("type reason");
    wait_for_text(&browser, "[data-test=needs-reason-count]", "2").await;
    keys(&browser, &char::from(Key::F8).to_string()).await;
    wait_for_text(&browser, "[data-test=detail-title]", &view.rows[0].name).await;
    browser.close().await;
}

// ----- 5. A paste with bad cells says what was not saved -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paste_with_bad_cells_says_which_were_not_saved() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let cm = caller(&app, "cm01").await;
    let view = sheet(&cm, &app, cycle.id).await;
    let browser = signed_in_at(&app, "cm01", 1280).await;
    open_sheet(&browser, &app, cycle.id).await;
    click(&browser, "[data-test=cell-0-0]").await;
    paste(&browser, "1\tabc\r\n2\t3\r\n").await;
    wait_for_text(&browser, "[data-test=cell-1-1]", "3").await;
    let status = "[data-test=save-status]";
    wait_for_text(&browser, status, "未保存").await;
    let shown = text_of(&browser, status).await;
    assert!(!shown.contains("已保存"), "{shown}");
    assert!(shown.contains("1 格"), "{shown}");
    assert!(
        shown.contains(&view.rows[0].name) && shown.contains(&view.specs[1].name),
        "the cell is named: {shown}"
    );
    // The good cells did reach the server.
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM forecast_lines WHERE entered IS NOT NULL")
            .fetch_one(&app.db().pool)
            .await
            .expect("count");
    assert_eq!(stored, 3);
    browser.close().await;
}

// ----- 6. Confirmations -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitting_a_sheet_asks_first() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let cm = caller(&app, "cm01").await;
    let view = sheet(&cm, &app, cycle.id).await;
    fill_with_baseline(&cm, &app, &view).await;
    let browser = signed_in_at(&app, "cm01", 1280).await;
    open_sheet(&browser, &app, cycle.id).await;

    click(&browser, "[data-test=submit-sheet]").await;
    dismiss(&browser).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(text_of(&browser, "[data-test=sheet-status]").await, "草稿");
    assert_eq!(sheet_status(&app, view.sheet_id).await.0, "draft");

    click(&browser, "[data-test=submit-sheet]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=sheet-status]", "已提交").await;
    assert_eq!(sheet_status(&app, view.sheet_id).await.0, "submitted");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approving_and_returning_ask_first() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let view = submit_every_cell(&app, cycle.id, "cm01", 10).await;
    let before = sheet_status(&app, view.sheet_id).await;

    let browser = signed_in_at(&app, "mm01", 1280).await;
    goto(&browser, &app, &format!("/reviews/{}", view.sheet_id)).await;
    wait_for_text(&browser, "[data-test=review-stage]", "第1级").await;
    click(&browser, "[data-test=approve]").await;
    dismiss(&browser).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sheet_status(&app, view.sheet_id).await, before);
    assert!(browser
        .client
        .find(Locator::Css("[data-test=review-notice]"))
        .await
        .is_err());

    let comment = "请与零售户再确认";
    element(&browser, "[data-test=review-comment]")
        .await
        .send_keys(comment)
        .await
        .expect("comment");
    click(&browser, "[data-test=return]").await;
    dismiss(&browser).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sheet_status(&app, view.sheet_id).await, before);

    click(&browser, "[data-test=approve]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=review-notice]", "第2级").await;

    // The county returns it, once it has said yes.
    browser.client.delete_all_cookies().await.expect("sign out");
    sign_in(&browser, &app, "county").await;
    goto(&browser, &app, &format!("/reviews/{}", view.sheet_id)).await;
    wait_for_text(&browser, "[data-test=review-stage]", "第2级").await;
    element(&browser, "[data-test=review-comment]")
        .await
        .send_keys(comment)
        .await
        .expect("comment");
    click(&browser, "[data-test=return]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=review-notice]", "已退回").await;
    assert_eq!(sheet_status(&app, view.sheet_id).await.0, "returned");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirming_an_order_asks_first() {
    let app = spawn_app(Backend::Sqlite).await;
    let login = app.retailer_login(0).await;
    let browser = signed_in_at(&app, &login, 375).await;
    click(&browser, "[data-test=link-replenishment]").await;
    let card = element(&browser, "[data-test=settings] .spec-card").await;
    let spec = card.attr("data-spec").await.expect("attr").expect("id");
    let at = |field: &str| format!(".spec-card[data-spec='{spec}'] [data-field={field}]");
    // An empty shelf: something to order.
    type_into(&browser, &at("stock"), "0").await;
    type_into(&browser, &at("lower"), "1").await;
    type_into(&browser, &at("weekly_turnover"), "3").await;
    click(&browser, "[data-test=save]").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    // Back up, from under the sticky top bar.
    browser
        .client
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .expect("scroll");
    click(&browser, "[data-test=tab-proposal]").await;
    text_of(&browser, "[data-test=order-total]").await;
    let orders = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM replenishment_orders")
            .fetch_one(&app.db().pool)
            .await
            .expect("count")
    };
    let before = orders().await;

    click(&browser, "[data-test=confirm]").await;
    dismiss(&browser).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(orders().await, before, "nothing confirmed");
    element(&browser, "[data-test=order-total]").await;

    click(&browser, "[data-test=confirm]").await;
    accept(&browser).await;
    wait_for_text(&browser, "[data-test=confirmed]", "订单已确认").await;
    assert_eq!(orders().await, before + 1);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_cycle_and_leaving_online_replenishment_ask_first() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let status = || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM forecast_cycles WHERE id = $1")
            .bind(cycle.id)
            .fetch_one(&app.db().pool)
            .await
            .expect("status")
    };
    let browser = signed_in_at(&app, "center", 1280).await;
    goto(&browser, &app, "/forecast").await;
    click(&browser, "[data-test=close-cycle]").await;
    dismiss(&browser).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(status().await, "open");
    click(&browser, "[data-test=close-cycle]").await;
    accept(&browser).await;
    let deadline = std::time::Instant::now() + e2e::WAIT;
    while status().await != "closed" {
        assert!(std::time::Instant::now() < deadline, "the cycle closes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;

    // A customer manager takes a retailer off online replenishment.
    let retailer: i64 = sqlx::query_scalar(
        "SELECT r.id FROM retailers r JOIN users u ON u.id = r.manager_id \
         WHERE u.login = 'cm01' AND r.online_replenishment = 1 ORDER BY r.id LIMIT 1",
    )
    .fetch_one(&app.db().pool)
    .await
    .expect("an online retailer");
    let online = || async {
        sqlx::query_scalar::<_, i64>("SELECT online_replenishment FROM retailers WHERE id = $1")
            .bind(retailer)
            .fetch_one(&app.db().pool)
            .await
            .expect("online")
    };
    let browser = signed_in_at(&app, "cm01", 1280).await;
    goto(&browser, &app, "/retailers").await;
    let toggle = format!("tr[data-retailer='{retailer}'] [data-test=enrol]");
    click(&browser, &toggle).await;
    dismiss(&browser).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(online().await, 1);
    click(&browser, &toggle).await;
    accept(&browser).await;
    let deadline = std::time::Instant::now() + e2e::WAIT;
    while online().await != 0 {
        assert!(std::time::Instant::now() < deadline, "the retailer leaves");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await;
}

// ----- 7. Blank stays blank; full-width digits and spaces are read -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blank_fields_stay_blank_and_full_width_digits_are_read() {
    let app = spawn_app(Backend::Sqlite).await;
    let login = app.retailer_login(0).await;
    let retailer_id: i64 = sqlx::query_scalar("SELECT retailer_id FROM users WHERE login = $1")
        .bind(&login)
        .fetch_one(&app.db().pool)
        .await
        .expect("retailer id");
    let browser = signed_in_at(&app, &login, 375).await;
    click(&browser, "[data-test=link-replenishment]").await;
    let card = element(&browser, "[data-test=settings] .spec-card").await;
    let spec: i64 = card
        .attr("data-spec")
        .await
        .expect("attr")
        .expect("id")
        .parse()
        .expect("number");
    let card = format!(".spec-card[data-spec='{spec}']");
    let at = |field: &str| format!("{card} [data-field={field}]");
    let stock_before: i64 = sqlx::query_scalar(
        "SELECT stock FROM retailer_specs WHERE retailer_id = $1 AND spec_id = $2",
    )
    .bind(retailer_id)
    .bind(spec)
    .fetch_one(&app.db().pool)
    .await
    .expect("stock");

    // Blank: a clear error at the field, and nothing saved.
    type_into(
        &browser,
        &at("stock"),
        &char::from(Key::Backspace).to_string(),
    )
    .await;
    wait_for_text(&browser, &format!("{card} .field-error"), "请填写").await;
    let save_button = element(&browser, "[data-test=save]").await;
    assert!(!save_button.is_enabled().await.expect("enabled"));
    assert_eq!(value_of(&browser, &at("stock")).await, "");

    // Full-width digits with full-width spaces around them are read.
    type_into(&browser, &at("stock"), "\u{3000}１２\u{3000}").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        browser
            .client
            .find(Locator::Css(&format!("{card} .field-error")))
            .await
            .is_err(),
        "no error"
    );
    click(&browser, "[data-test=save]").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    let stock: i64 = sqlx::query_scalar(
        "SELECT stock FROM retailer_specs WHERE retailer_id = $1 AND spec_id = $2",
    )
    .bind(retailer_id)
    .bind(spec)
    .fetch_one(&app.db().pool)
    .await
    .expect("stock");
    assert_eq!(stock, 12, "was {stock_before}");
    browser.close().await;

    // The grid: full-width digits are a value; a cleared cell is no value.
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let browser = signed_in_at(&app, "cm01", 1280).await;
    open_sheet(&browser, &app, cycle.id).await;
    click(&browser, "[data-test=cell-0-0]").await;
    keys(&browser, &format!("１５{}", char::from(Key::Enter))).await;
    wait_for_text(&browser, "[data-test=cell-0-0]", "15").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    let entered = || async {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT l.entered FROM forecast_lines l JOIN forecast_sheets s ON s.id = l.sheet_id \
             JOIN users u ON u.id = s.manager_id WHERE s.cycle_id = $1 AND u.login = 'cm01' \
             AND l.entered IS NOT NULL",
        )
        .bind(cycle.id)
        .fetch_all(&app.db().pool)
        .await
        .expect("lines")
    };
    assert_eq!(entered().await, vec![Some(15)]);
    click(&browser, "[data-test=cell-0-0]").await;
    keys(&browser, &char::from(Key::Delete).to_string()).await;
    wait_for_text(&browser, "[data-test=filled]", "0/").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    assert_eq!(entered().await, Vec::<Option<i64>>::new(), "blank, not 0");
    browser.close().await;
}

// ----- 8. Phones and wide screens -----

/// Fails when the page is wider than the window (it scrolls sideways).
async fn fits(browser: &Browser, page: &str) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (scroll, inner) = browser
        .client
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .expect("measure")
        .as_array()
        .map(|a| (a[0].as_i64().unwrap_or(-1), a[1].as_i64().unwrap_or(-1)))
        .expect("two numbers");
    let culprits = browser
        .client
        .execute(
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className).join(' ');",
            vec![],
        )
        .await
        .expect("culprits");
    assert!(
        scroll <= inner,
        "{page} fits {inner} px; it is {scroll} px wide ({culprits})"
    );
}

/// Fails when part of `css` lies beyond the window's edges, even inside a
/// box that scrolls sideways (a phone user would have to swipe to it).
async fn on_screen(browser: &Browser, css: &str) {
    let outside = browser
        .client
        .execute(
            "const w = window.innerWidth;
             return [...document.querySelectorAll(arguments[0] + ', ' + arguments[0] + ' *')]
               .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > w + 1 || r.left < -1); })
               .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + JSON.stringify(e.getBoundingClientRect())).join('; ');",
            vec![json!(css)],
        )
        .await
        .expect("measure");
    assert_eq!(outside.as_str(), Some(""), "{css} is on screen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retailer_list_history_and_correction_form_fit_a_phone() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 24).await;
    let view = submit_every_cell(&app, cycle.id, "cm01", 10).await;

    // The customer manager's retailer list and a retailer's history.
    let browser = signed_in_at(&app, "cm01", 375).await;
    goto(&browser, &app, "/retailers").await;
    element(&browser, "[data-test=retailers] tbody tr").await;
    fits(&browser, "the retailer list").await;
    on_screen(&browser, "[data-test=retailers]").await;
    let retailer = view.rows[0].retailer_id;
    goto(
        &browser,
        &app,
        &format!("/retailers/{retailer}/replenishment"),
    )
    .await;
    let card = element(&browser, "[data-test=settings] .spec-card").await;
    let spec = card.attr("data-spec").await.expect("attr").expect("id");
    type_into(
        &browser,
        &format!(".spec-card[data-spec='{spec}'] [data-field=stock]"),
        "77",
    )
    .await;
    click(&browser, "[data-test=save]").await;
    wait_for_text(&browser, "[data-test=save-status]", "已保存").await;
    fits(&browser, "the settings").await;
    click(&browser, "[data-test=tab-history]").await;
    wait_for_text(&browser, "[data-test=history]", "77").await;
    fits(&browser, "the history").await;
    on_screen(&browser, "[data-test=history]").await;
    browser.close().await;

    // The market manager's correction form.
    let browser = signed_in_at(&app, "mm01", 375).await;
    goto(&browser, &app, &format!("/reviews/{}", view.sheet_id)).await;
    click(&browser, "[data-test=line-0] [data-test=line-correct]").await;
    element(&browser, "[data-test=correct-value]").await;
    fits(&browser, "the review with the correction form").await;
    on_screen(&browser, ".correct-form").await;
    // However far the wide table of lines is scrolled.
    browser
        .client
        .execute(
            "document.querySelector('.table-scroll').scrollLeft = 10000;",
            vec![],
        )
        .await
        .expect("scroll the table");
    tokio::time::sleep(Duration::from_millis(200)).await;
    on_screen(&browser, ".correct-form").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_entry_grid_uses_the_width_of_a_desktop() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 24).await;
    let browser = signed_in_at(&app, "cm01", 1280).await;
    open_sheet(&browser, &app, cycle.id).await;
    let widths = browser
        .client
        .execute(
            "const g = document.querySelector('[data-test=grid]').getBoundingClientRect();
             return [g.width, window.innerWidth, document.querySelectorAll('.col-head').length];",
            vec![],
        )
        .await
        .expect("measure");
    let widths: Vec<f64> = widths
        .as_array()
        .expect("numbers")
        .iter()
        .map(|v| v.as_f64().unwrap_or(0.0))
        .collect();
    assert!(
        widths[0] >= 0.7 * widths[1],
        "the grid is {} px of {} px",
        widths[0],
        widths[1]
    );
    fits(&browser, "the grid on a desktop").await;
    browser.close().await;
}

// ----- 9. China time everywhere -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_times_are_shown_in_china_time() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let view = submit_every_cell(&app, cycle.id, "cm01", 10).await;
    // Submitted at 20:30 UTC on 1 March: 04:30 on 2 March in China.
    let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
        .and_then(|d| d.and_hms_opt(20, 30, 0))
        .expect("time")
        .and_utc()
        .timestamp();
    sqlx::query("UPDATE forecast_reviews SET at = $1 WHERE sheet_id = $2")
        .bind(at)
        .bind(view.sheet_id)
        .execute(&app.db().pool)
        .await
        .expect("set the time");
    let browser = signed_in_at(&app, "mm01", 1280).await;
    goto(&browser, &app, &format!("/reviews/{}", view.sheet_id)).await;
    wait_for_text(&browser, "[data-test=review-actions]", "2026-03-02 04:30").await;
    assert!(!text_of(&browser, "[data-test=review-actions]")
        .await
        .contains("2026-03-01 20:30"));
    browser.close().await;
}

// ----- 10. CSV exports Excel reads: BOM and Chinese headers -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_csv_exports_have_a_bom_and_headers_in_the_language_asked() {
    let app = spawn_app(Backend::Sqlite).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let view = submit_every_cell(&app, cycle.id, "cm01", 10).await;
    approve_by(&app, view.sheet_id, &["mm01", "county", "center"]).await;
    let center = caller(&app, "center").await;
    for (query, header) in [
        (
            "format=csv&kind=lines",
            "许可证号,零售户,客户经理,市场部,品规编码,品规,预测量（条）",
        ),
        (
            "format=csv&kind=specs",
            "品规编码,品规,预测量（条）,预测量（箱）",
        ),
        (
            "format=csv&kind=lines&lang=en",
            "Licence,Retailer,Customer manager,Department,Spec code,Spec,Cartons",
        ),
        (
            "format=csv&kind=specs&lang=en",
            "Spec code,Spec,Cartons,Cases",
        ),
    ] {
        let response = center
            .get(
                &app,
                &format!("/api/forecast/cycles/{}/approved?{query}", cycle.id),
            )
            .await;
        assert_eq!(response.status(), 200, "{query}");
        let bytes = response.bytes().await.expect("body");
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "{query}: a UTF-8 BOM");
        let text = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
        assert_eq!(text.lines().next(), Some(header), "{query}");
        assert!(text.lines().count() > 1, "{query}: rows follow");
    }
}
