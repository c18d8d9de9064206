//! A company goes live, in headless Chromium, from an empty database: the
//! master data is loaded with no sign-in, `server create-admin` makes the
//! first administrator, who signs in through a deep link, must choose a
//! password, creates a customer manager and, in bulk, the sign-ins of one
//! market department, downloading the handout with a click. A retailer
//! signs in with the password from the sheet, is made to change it and
//! sets its replenishment; the administrator deactivates the customer
//! manager, whose open session ends.

use e2e::{
    accept, click, downloaded, element, text_of, type_into, wait_for_path, wait_for_text, Backend,
    Browser, TestApp,
};

/// Signs in on the sign-in page the browser is at (or opens it).
async fn sign_in(browser: &Browser, app: &TestApp, login: &str, password: &str, open: bool) {
    if open {
        browser
            .client
            .goto(&app.url("/login"))
            .await
            .expect("open sign-in");
    }
    type_into(browser, "[data-test=login]", login).await;
    type_into(browser, "[data-test=password]", password).await;
    click(browser, "[data-test=submit]").await;
}

/// On the forced password page: the one-time password, then a new one twice.
async fn choose_password(browser: &Browser, one_time: &str, new: &str) {
    element(browser, "[data-test=forced-notice]").await;
    type_into(browser, "[data-test=current-password]", one_time).await;
    // A weak one is refused as it is typed, at the field.
    type_into(browser, "[data-test=new-password]", "12345").await;
    wait_for_text(
        browser,
        "[data-test=new-password-error]",
        "至少需要 10 个字符",
    )
    .await;
    type_into(browser, "[data-test=new-password]", new).await;
    type_into(browser, "[data-test=repeat-password]", new).await;
    click(browser, "[data-test=password-submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_goes_live_from_an_empty_database() {
    let db = std::sync::Arc::new(e2e::TestDb::new(Backend::Sqlite).await);
    // The master data only: organisation, people, retailers, history; no
    // sign-in, no administrator, no known password.
    {
        let seeded = server::db::Db::connect(&db.url, 2).await.expect("connect");
        seeded.migrate().await.expect("migrate");
        tools::demo::seed(
            &seeded,
            &tools::demo::DemoOptions {
                scale: tools::demo::Scale::Tiny,
                end_month: e2e::demo_end(),
                seed: 7,
                sign_ins: false,
                history_cycles: 0,
            },
        )
        .await
        .expect("master data");
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
    let pool = &app.db().pool;
    let signed_in: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL")
            .fetch_one(pool)
            .await
            .expect("count");
    assert_eq!(signed_in, 1, "only the administrator can sign in");

    // The administrator follows a link to the users page: signed in first,
    // made to choose a password, then brought back to the page asked for.
    let admin = Browser::start().await;
    admin
        .client
        .goto(&app.url("/admin/users"))
        .await
        .expect("deep link");
    wait_for_path(&admin, "/login").await;
    sign_in(&admin, &app, "admin", &admin_otp, false).await;
    wait_for_path(&admin, "/password").await;
    choose_password(&admin, &admin_otp, "Harbour-Lantern-42").await;
    wait_for_path(&admin, "/admin/users").await;
    element(&admin, "[data-test=users]").await;

    // A new customer manager in the first market department.
    let (unit, unit_name): (i64, String) = sqlx::query_as(
        "SELECT id, name FROM org_units WHERE kind = 'market_department' ORDER BY id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("a department");
    click(&admin, "[data-test=new-staff] summary").await;
    type_into(&admin, "[data-test=new-login]", "wang.cm").await;
    type_into(&admin, "[data-test=new-name]", "王小明").await;
    element(&admin, "[data-test=new-unit]")
        .await
        .select_by_value(&unit.to_string())
        .await
        .expect("choose the department");
    click(&admin, "[data-test=create-user]").await;
    let cm_otp = text_of(&admin, "[data-test=one-time-password]").await;
    assert_eq!(cm_otp.len(), 14, "{cm_otp}");
    click(&admin, "[data-test=otp-close]").await;

    // The customer manager signs in on their own phone and chooses a password.
    let cm = Browser::start().await;
    sign_in(&cm, &app, "wang.cm", &cm_otp, true).await;
    wait_for_path(&cm, "/password").await;
    choose_password(&cm, &cm_otp, "Morning-Tea-Route-8").await;
    wait_for_path(&cm, "/home/customer_manager").await;

    // Sign-ins for every retailer of the department, with the handout.
    let retailers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM retailers WHERE market_unit_id = $1")
            .bind(unit)
            .fetch_one(pool)
            .await
            .expect("count");
    admin.client.goto(&app.url("/")).await.expect("home");
    click(&admin, "[data-test=link-retailer-accounts]").await;
    element(&admin, "[data-test=scope-unit-select]")
        .await
        .select_by_value(&unit.to_string())
        .await
        .expect("choose the department");
    assert!(text_of(&admin, "[data-test=scope-unit-select]")
        .await
        .contains(&unit_name));
    click(&admin, "[data-test=start-accounts]").await;
    accept(&admin).await;
    wait_for_text(
        &admin,
        "[data-test=job-state]",
        &format!("已开通 {retailers} 个账号"),
    )
    .await;
    click(&admin, "[data-test=handout]").await;
    let file = downloaded(&admin, "xlsx").await;
    element(&admin, "[data-test=handout-taken]").await;
    let bytes = std::fs::read(&file).expect("the handout");
    let rows = e2e::accounts::handout_rows(&bytes);
    assert_eq!(rows.len() as i64 - 1, retailers, "one row per retailer");
    // The handout is served once: the same link again is refused.
    let job: i64 = sqlx::query_scalar("SELECT MAX(id) FROM account_jobs")
        .fetch_one(pool)
        .await
        .expect("the run");
    let again = admin
        .client
        .execute_async(
            &format!("const done = arguments[arguments.length - 1]; fetch('/api/admin/retailer-accounts/{job}/handout').then(r => done(r.status));"),
            vec![],
        )
        .await
        .expect("fetch from the page");
    assert_eq!(again.as_i64(), Some(410), "the handout is served once");

    // A retailer signs in with the sheet's password, must change it, and
    // sets its replenishment.
    let (licence, shop_otp) = (rows[1][0].clone(), rows[1][3].clone());
    let shop = Browser::start().await;
    sign_in(&shop, &app, &licence, &shop_otp, true).await;
    wait_for_path(&shop, "/password").await;
    choose_password(&shop, &shop_otp, "Corner-Shop-Bright-3").await;
    wait_for_path(&shop, "/home/retailer").await;
    click(&shop, "[data-test=link-replenishment]").await;
    let card = element(&shop, "[data-test=settings] .spec-card").await;
    let spec = card
        .attr("data-spec")
        .await
        .expect("attr")
        .expect("spec id");
    let at = |field: &str| format!(".spec-card[data-spec='{spec}'] [data-field={field}]");
    let cap: i64 = text_of(
        &shop,
        &format!(".spec-card[data-spec='{spec}'] [data-test=cap]"),
    )
    .await
    .chars()
    .filter(char::is_ascii_digit)
    .collect::<String>()
    .parse()
    .expect("the cap is shown");
    let upper = cap.min(9);
    type_into(&shop, &at("stock"), "0").await;
    type_into(&shop, &at("lower"), "1").await;
    type_into(&shop, &at("upper"), &upper.to_string()).await;
    type_into(&shop, &at("weekly_turnover"), "4").await;
    click(&shop, "[data-test=save]").await;
    wait_for_text(&shop, "[data-test=save-status]", "已保存").await;
    let stored: i64 = sqlx::query_scalar(
        "SELECT s.upper_limit FROM retailer_specs s JOIN retailers r ON r.id = s.retailer_id \
         WHERE r.licence_no = $1 AND s.spec_id = $2",
    )
    .bind(&licence)
    .bind(spec.parse::<i64>().expect("id"))
    .fetch_one(pool)
    .await
    .expect("saved settings");
    assert_eq!(stored, upper);

    // The administrator deactivates the customer manager; their open
    // session ends at once.
    admin
        .client
        .goto(&app.url("/admin/users"))
        .await
        .expect("users");

    type_into(&admin, "[data-test=user-search]", "wang.cm").await;
    click(&admin, "[data-test=user-search-submit]").await;
    wait_for_text(&admin, "[data-test=user-total]", "共 1 个账号").await;
    // The administrator renames the account from its row's 编辑.
    click(&admin, "tr[data-user='wang.cm'] [data-test=edit-user]").await;
    type_into(&admin, "[data-test=edit-name]", "王晓明").await;
    click(&admin, "[data-test=save-user]").await;
    wait_for_text(&admin, "tr[data-user='wang.cm']", "王晓明").await;
    click(&admin, "tr[data-user='wang.cm'] [data-test=deactivate]").await;
    accept(&admin).await;
    wait_for_text(
        &admin,
        "tr[data-user='wang.cm'] [data-test=user-state]",
        "已停用",
    )
    .await;
    cm.client.refresh().await.expect("reload");
    wait_for_path(&cm, "/login").await;
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('user_created', 'retailer_accounts_created', 'handout_downloaded', 'user_deactivated')",
    )
    .fetch_one(pool)
    .await
    .expect("audit");
    assert!(audited >= 5, "every step is in the audit log: {audited}");
    for b in [admin, cm, shop] {
        b.close().await;
    }
}
