//! Accounts administration through the API, on both databases: staff
//! accounts with one-time passwords that must be changed, deactivation that
//! ends sessions, the last administrator, retailer sign-ins in bulk with a
//! handout served once, a customer manager's reset of their own retailers,
//! and the first administrator made from the command line.

use domain::accounts::{AccountJob, JobState, OneTimePassword, UserList, UserView};
use domain::Role;
use e2e::accounts::{handout_rows, run_bulk, sign_in_as};
use e2e::{caller, on_both_databases, spawn_app, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_databases!(
    staff_accounts_start_with_a_one_time_password_that_must_be_changed,
    bad_staff_accounts_are_refused_at_the_field_and_nothing_is_stored,
    deactivation_ends_sessions_at_once_and_the_last_administrator_stays,
    two_administrators_deactivating_each_other_at_once_leave_one,
    retailer_sign_ins_in_bulk_come_with_a_handout_served_once,
    a_customer_manager_resets_only_their_own_retailers,
    administrators_unlock_and_do_not_set_business_policy,
    account_writes_sent_at_once_leave_one_winner,
);

async fn market_unit(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT id FROM org_units WHERE kind = 'market_department' ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.db().pool)
    .await
    .expect("a market department")
}

async fn user_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.db().pool)
        .await
        .expect("count")
}

async fn create(app: &TestApp, admin: &e2e::Caller, body: Value) -> reqwest::Response {
    admin
        .send(app, Method::POST, "/api/admin/users", body)
        .await
}

async fn fields(response: reqwest::Response) -> Value {
    let body: Value = response.json().await.expect("error body");
    body["fields"].clone()
}

async fn staff_accounts_start_with_a_one_time_password_that_must_be_changed(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = caller(&app, "admin").await;
    let unit = market_unit(&app).await;
    let response = create(
        &app,
        &admin,
        json!({ "login": "li.ming", "display_name": "李明", "role": "customer_manager", "unit_id": unit }),
    )
    .await;
    assert_eq!(response.status(), 201);
    let made: OneTimePassword = response.json().await.expect("one-time password");
    assert!(made.user.must_change_password && made.user.active);
    assert_eq!(made.user.role, Role::CustomerManager);

    // Typed on a phone: lower case, no dashes.
    let typed = made.password.replace('-', "").to_lowercase();
    let (status, session) = sign_in_as(&app, "li.ming", &typed).await;
    assert_eq!(
        status, 200,
        "the one-time password signs in as typed on a phone"
    );
    let (client, info) = session.expect("session");
    assert!(
        info.must_change_password,
        "the session says a change is due"
    );
    // Nothing else is allowed until the password is changed.
    let home = client.get(app.url("/api/home")).send().await.expect("home");
    assert_eq!(home.status(), 403);
    let body: Value = home.json().await.expect("body");
    assert_eq!(body["code"], "password_change_required");
    let change = |new: &str| {
        client
            .post(app.url("/api/auth/password"))
            .header("X-CSRF-Token", &info.csrf_token)
            .json(&json!({ "current_password": made.password, "new_password": new }))
            .send()
    };
    for (weak, why) in [
        ("short1", "too short"),
        ("1234567890", "common"),
        ("li.ming-2026!", "contains the login"),
        (made.password.as_str(), "the one-time password again"),
    ] {
        let response = change(weak).await.expect("change");
        assert_eq!(response.status(), 422, "{why}");
        assert!(
            fields(response).await["new_password"][0].is_string(),
            "{why}: the message is at the field"
        );
    }
    let response = change("Green-Tea-Kettle-7").await.expect("change");
    assert_eq!(response.status(), 204);
    let home = client.get(app.url("/api/home")).send().await.expect("home");
    assert_eq!(home.status(), 200, "free to work after the change");
    let (status, _) = sign_in_as(&app, "li.ming", &made.password).await;
    assert_eq!(status, 401, "the one-time password no longer works");
    let (status, session) = sign_in_as(&app, "li.ming", "Green-Tea-Kettle-7").await;
    assert_eq!(status, 200);
    assert!(!session.expect("session").1.must_change_password);

    // The account list finds it, and the audit log names who made it.
    let list: UserList = admin.get_json(&app, "/api/admin/users?q=li.m").await;
    assert_eq!(list.total, 1);
    assert_eq!(list.users[0].login, "li.ming");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'user_created' AND actor_id = $1 AND entity_id = $2",
    )
    .bind(admin.info.user_id)
    .bind(made.user.id.to_string())
    .fetch_one(&app.db().pool)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
}

async fn bad_staff_accounts_are_refused_at_the_field_and_nothing_is_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = caller(&app, "admin").await;
    let unit = market_unit(&app).await;
    let county: i64 = sqlx::query_scalar(
        "SELECT id FROM org_units WHERE kind = 'county_department' ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.db().pool)
    .await
    .expect("county");
    let before = user_count(&app).await;
    let licence: String =
        sqlx::query_scalar("SELECT licence_no FROM retailers ORDER BY id LIMIT 1")
            .fetch_one(&app.db().pool)
            .await
            .expect("a licence");
    for (body, field, why) in [
        (
            json!({ "login": licence, "display_name": "抢注", "role": "customer_manager", "unit_id": unit }),
            "login",
            "a retailer's licence number, kept for its own sign-in",
        ),
        (
            json!({ "login": "new.cm", "display_name": "\u{202e}名字", "role": "customer_manager", "unit_id": unit }),
            "display_name",
            "a right-to-left override hidden in the name",
        ),
        (
            json!({ "login": "CM01", "display_name": "重名", "role": "customer_manager", "unit_id": unit }),
            "login",
            "a taken login, in another case",
        ),
        (
            json!({ "login": "new.cm", "display_name": "新人", "role": "customer_manager", "unit_id": county }),
            "unit_id",
            "a customer manager on a county department",
        ),
        (
            json!({ "login": "new.cm", "display_name": "新人", "role": "customer_manager", "unit_id": 999_999 }),
            "unit_id",
            "an unknown unit",
        ),
        (
            json!({ "login": "new.cm", "display_name": "新人", "role": "retailer", "unit_id": unit }),
            "role",
            "a retailer made as staff",
        ),
        (
            json!({ "login": "张三", "display_name": "  ", "role": "customer_manager", "unit_id": unit }),
            "login",
            "a login that is not plain ASCII",
        ),
    ] {
        let response = create(&app, &admin, body).await;
        assert_eq!(response.status(), 422, "{why}");
        let fields = fields(response).await;
        assert!(fields[field][0].is_string(), "{why}: {fields}");
    }
    // An unknown role does not parse at all.
    let response = create(
        &app,
        &admin,
        json!({ "login": "new.cm", "display_name": "新人", "role": "root", "unit_id": unit }),
    )
    .await;
    assert_eq!(response.status(), 422);
    assert_eq!(user_count(&app).await, before, "nothing stored");
    // Empty filters, as a form sends them, mean "any".
    let list: UserList = admin
        .get_json(&app, "/api/admin/users?q=&role=&unit_id=&active=&page=")
        .await;
    assert_eq!(list.total, before);
    let response = admin.get(&app, "/api/admin/users?page=x").await;
    assert_eq!(response.status(), 422);
    assert!(fields(response).await["page"][0].is_string());
}

async fn deactivation_ends_sessions_at_once_and_the_last_administrator_stays(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = caller(&app, "admin").await;
    let cm = caller(&app, "cm01").await;
    assert_eq!(cm.get(&app, "/api/home").await.status(), 200);
    let user: UserView = {
        let list: UserList = admin.get_json(&app, "/api/admin/users?q=cm01").await;
        list.users
            .into_iter()
            .find(|u| u.login == "cm01")
            .expect("cm01")
    };
    let response = admin
        .send(
            &app,
            Method::PATCH,
            &format!("/api/admin/users/{}", user.id),
            json!({ "version": user.version, "active": false }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let after: UserView = response.json().await.expect("user");
    assert!(!after.active);
    assert_eq!(
        cm.get(&app, "/api/home").await.status(),
        401,
        "the open session ended at once"
    );
    let (status, _) = sign_in_as(&app, "cm01", tools::demo::DEMO_PASSWORD).await;
    assert_eq!(status, 401, "a deactivated account cannot sign in");
    // A stale version is refused.
    let response = admin
        .send(
            &app,
            Method::PATCH,
            &format!("/api/admin/users/{}", user.id),
            json!({ "version": user.version, "active": true }),
        )
        .await;
    assert_eq!(response.status(), 409);
    // A change that changes nothing writes nothing.
    let response = admin
        .send(
            &app,
            Method::PATCH,
            &format!("/api/admin/users/{}", user.id),
            json!({ "version": after.version, "active": false }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let same: UserView = response.json().await.expect("user");
    assert_eq!(same.version, after.version, "no new version for no change");
    let response = admin
        .send(
            &app,
            Method::PATCH,
            &format!("/api/admin/users/{}", user.id),
            json!({ "version": after.version, "active": true }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let (status, _) = sign_in_as(&app, "cm01", tools::demo::DEMO_PASSWORD).await;
    assert_eq!(status, 200, "reactivated");

    // The only administrator can neither leave nor change role.
    let me: UserList = admin.get_json(&app, "/api/admin/users?role=admin").await;
    let me = &me.users[0];
    for (body, field) in [
        (json!({ "version": me.version, "active": false }), "active"),
        (
            json!({ "version": me.version, "role": "marketing_center" }),
            "role",
        ),
    ] {
        let response = admin
            .send(
                &app,
                Method::PATCH,
                &format!("/api/admin/users/{}", me.id),
                body,
            )
            .await;
        assert_eq!(response.status(), 422);
        assert!(fields(response).await[field][0].is_string());
    }
    let still: UserList = admin
        .get_json(&app, "/api/admin/users?role=admin&active=true")
        .await;
    assert_eq!(still.total, 1);
}

/// Two administrators each deactivate the other at the same moment: on
/// PostgreSQL both checks could see "another administrator is active"
/// without the lock on the administrators' rows. One must win.
async fn two_administrators_deactivating_each_other_at_once_leave_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut admin = caller(&app, "admin").await;
    let center_unit: i64 = sqlx::query_scalar("SELECT id FROM org_units WHERE parent_id IS NULL")
        .fetch_one(&app.db().pool)
        .await
        .expect("root");
    let rounds = 10;
    for round in 0..rounds {
        // Two fresh administrators with their own passwords.
        let mut pair = Vec::new();
        for k in 0..2 {
            let login = format!("adm{round}x{k}");
            let made: OneTimePassword = create(
                &app,
                &admin,
                json!({ "login": login, "display_name": "管理员", "role": "admin", "unit_id": center_unit }),
            )
            .await
            .json()
            .await
            .expect("made");
            let (_, session) = sign_in_as(&app, &login, &made.password).await;
            let (client, info) = session.expect("session");
            let response = client
                .post(app.url("/api/auth/password"))
                .header("X-CSRF-Token", &info.csrf_token)
                .json(&json!({ "current_password": made.password, "new_password": "Blue-Harbour-Lamp-9" }))
                .send()
                .await
                .expect("change");
            assert_eq!(response.status(), 204);
            pair.push(e2e::caller_with(&app, &login, "Blue-Harbour-Lamp-9").await);
        }
        // The original administrator steps aside for the round.
        let all: UserList = admin
            .get_json(&app, "/api/admin/users?role=admin&active=true")
            .await;
        let views: Vec<UserView> = all.users;
        let view = |login: &str| {
            views
                .iter()
                .find(|u| u.login == login)
                .cloned()
                .expect("listed")
        };
        let original = view("admin");
        let response = admin
            .send(
                &app,
                Method::PATCH,
                &format!("/api/admin/users/{}", original.id),
                json!({ "version": original.version, "active": false }),
            )
            .await;
        assert_eq!(response.status(), 200, "round {round}: admin steps aside");
        let a = view(&format!("adm{round}x0"));
        let b = view(&format!("adm{round}x1"));
        let (path_a, path_b) = (
            format!("/api/admin/users/{}", a.id),
            format!("/api/admin/users/{}", b.id),
        );
        let (ra, rb) = tokio::join!(
            pair[0].send(
                &app,
                Method::PATCH,
                &path_b,
                json!({ "version": b.version, "active": false }),
            ),
            pair[1].send(
                &app,
                Method::PATCH,
                &path_a,
                json!({ "version": a.version, "active": false }),
            ),
        );
        let statuses = [ra.status().as_u16(), rb.status().as_u16()];
        let active: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1")
                .fetch_one(&app.db().pool)
                .await
                .expect("count");
        assert_eq!(
            active, 1,
            "round {round}: one administrator left, {statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: exactly one deactivation wins: {statuses:?}"
        );
        // Put the original administrator back for the next round.
        let survivor = if statuses[0] == 200 {
            &pair[0]
        } else {
            &pair[1]
        };
        let original: UserList = survivor
            .get_json(&app, "/api/admin/users?q=admin&role=admin")
            .await;
        let original = original
            .users
            .into_iter()
            .find(|u| u.login == "admin")
            .expect("admin");
        let response = survivor
            .send(
                &app,
                Method::PATCH,
                &format!("/api/admin/users/{}", original.id),
                json!({ "version": original.version, "active": true }),
            )
            .await;
        assert_eq!(response.status(), 200);
        let admin_again = caller(&app, "admin").await;
        let survivor_view: UserList = admin_again
            .get_json(&app, &format!("/api/admin/users?q={}", survivor.info.login))
            .await;
        let s = &survivor_view.users[0];
        let response = admin_again
            .send(
                &app,
                Method::PATCH,
                &format!("/api/admin/users/{}", s.id),
                json!({ "version": s.version, "active": false }),
            )
            .await;
        assert_eq!(response.status(), 200);
        admin = admin_again;
    }
    println!("last-administrator race: {rounds} rounds, one winner each, one administrator left each time");
}

async fn retailer_sign_ins_in_bulk_come_with_a_handout_served_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = caller(&app, "admin").await;
    let unit = market_unit(&app).await;
    let pool = &app.db().pool;
    let (in_unit, with_account): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COUNT(u.id) AS BIGINT) FROM retailers r LEFT JOIN users u ON u.retailer_id = r.id WHERE r.market_unit_id = $1",
    )
    .bind(unit)
    .fetch_one(pool)
    .await
    .expect("counts");
    assert!(in_unit > with_account && with_account > 0);

    // Bad scopes: nothing starts.
    let jobs_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM account_jobs")
        .fetch_one(pool)
        .await
        .expect("jobs");
    for (scope, field) in [
        (
            json!({ "kind": "licences", "licences": ["000000000000", "not-a-licence"] }),
            "licences",
        ),
        (json!({ "kind": "licences", "licences": [] }), "licences"),
        (json!({ "kind": "market_unit", "unit_id": 1 }), "unit_id"),
    ] {
        let response = admin
            .send(
                &app,
                Method::POST,
                "/api/admin/retailer-accounts",
                json!({ "scope": scope }),
            )
            .await;
        assert_eq!(response.status(), 422, "{scope}");
        assert!(fields(response).await[field][0].is_string());
    }
    let jobs_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM account_jobs")
        .fetch_one(pool)
        .await
        .expect("jobs");
    assert_eq!(jobs_before, jobs_after, "no run started");

    let job: AccountJob = run_bulk(
        &app,
        &admin,
        json!({ "kind": "market_unit", "unit_id": unit }),
    )
    .await;
    assert_eq!(job.state, JobState::Done, "{job:?}");
    println!("bulk run: {job:?}");
    assert_eq!(job.created, in_unit - with_account);
    assert_eq!(job.skipped, with_account);
    assert_eq!(job.hashed, job.total);
    assert!(job.handout_ready);

    let path = format!("/api/admin/retailer-accounts/{}/handout", job.id);
    // Only administrators; a refused caller does not use the download up.
    let center = caller(&app, "center").await;
    assert_eq!(center.get(&app, &path).await.status(), 403);
    let response = admin.get(&app, &path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"]
            .to_str()
            .expect("header"),
        "no-store"
    );
    let rows = handout_rows(&response.bytes().await.expect("bytes"));
    assert_eq!(rows[0][0], "许可证号（登录账号）");
    assert_eq!(rows.len() as i64 - 1, job.created);
    let second = admin.get(&app, &path).await;
    assert_eq!(second.status(), 410, "the handout is served once");
    let body: Value = second.json().await.expect("error body");
    assert_eq!(body["code"], "gone");
    let stored: Option<i64> =
        sqlx::query_scalar("SELECT downloaded_at FROM account_jobs WHERE id = $1")
            .bind(job.id)
            .fetch_one(pool)
            .await
            .expect("job row");
    assert!(stored.is_some());

    // A retailer signs in with the password from the sheet, must change it,
    // then reaches its own replenishment page.
    let row = &rows[1];
    let (licence, password) = (&row[0], &row[3]);
    let (status, session) = sign_in_as(&app, licence, password).await;
    assert_eq!(status, 200, "the handout's password signs in");
    let (client, info) = session.expect("session");
    assert!(info.must_change_password);
    assert_eq!(info.role, Role::Retailer);
    let retailer = info.retailer_id.expect("a retailer account");
    let page = format!("/api/replenishment/retailers/{retailer}");
    assert_eq!(
        client
            .get(app.url(&page))
            .send()
            .await
            .expect("page")
            .status(),
        403
    );
    let response = client
        .post(app.url("/api/auth/password"))
        .header("X-CSRF-Token", &info.csrf_token)
        .json(&json!({ "current_password": password, "new_password": "Shop-Counter-Blue-5" }))
        .send()
        .await
        .expect("change");
    assert_eq!(response.status(), 204);
    assert_eq!(
        client
            .get(app.url(&page))
            .send()
            .await
            .expect("page")
            .status(),
        200
    );

    // A staff account that holds a licence number as its login (made
    // before that was refused) stops a run that would include the
    // retailer, with the licence named, and nothing is made.
    let (other_unit, clash): (i64, String) = sqlx::query_as(
        "SELECT r.market_unit_id, r.licence_no FROM retailers r LEFT JOIN users u ON u.retailer_id = r.id \
         WHERE r.market_unit_id <> $1 AND u.id IS NULL ORDER BY r.id LIMIT 1",
    )
    .bind(unit)
    .fetch_one(pool)
    .await
    .expect("a retailer elsewhere without a sign-in");
    sqlx::query(
        "INSERT INTO users (login, display_name, role, org_unit_id, created_at) VALUES ($1, '旧账号', 'customer_manager', $2, 0)",
    )
    .bind(&clash)
    .bind(other_unit)
    .execute(pool)
    .await
    .expect("a clashing staff login");
    let users_before = user_count(&app).await;
    let response = admin
        .send(
            &app,
            Method::POST,
            "/api/admin/retailer-accounts",
            json!({ "scope": { "kind": "market_unit", "unit_id": other_unit } }),
        )
        .await;
    assert_eq!(response.status(), 422);
    let message = fields(response).await["scope"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains(&clash), "{message}");
    assert_eq!(user_count(&app).await, users_before, "nothing made");

    // Again: every retailer of the unit has a sign-in now.
    let response = admin
        .send(
            &app,
            Method::POST,
            "/api/admin/retailer-accounts",
            json!({ "scope": { "kind": "market_unit", "unit_id": unit } }),
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(fields(response).await["scope"][0].is_string());
}

async fn a_customer_manager_resets_only_their_own_retailers(backend: Backend) {
    let app = spawn_app(backend).await;
    let cm = caller(&app, "cm01").await;
    let pool = &app.db().pool;
    let own: (i64, String) = sqlx::query_as(
        "SELECT r.id, u.login FROM retailers r JOIN users u ON u.retailer_id = r.id WHERE r.manager_id = $1 LIMIT 1",
    )
    .bind(cm.info.user_id)
    .fetch_one(pool)
    .await
    .expect("own retailer with a sign-in");
    let foreign: i64 = sqlx::query_scalar(
        "SELECT r.id FROM retailers r JOIN users u ON u.retailer_id = r.id WHERE r.manager_id <> $1 LIMIT 1",
    )
    .bind(cm.info.user_id)
    .fetch_one(pool)
    .await
    .expect("another manager's retailer");
    let shop = caller(&app, &own.1).await;
    assert_eq!(shop.get(&app, "/api/home").await.status(), 200);

    let response = cm
        .send(
            &app,
            Method::POST,
            &format!("/api/replenishment/retailers/{foreign}/password-reset"),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 403, "another manager's retailer");
    let (status, _) = sign_in_as(&app, &own.1, tools::demo::DEMO_PASSWORD).await;
    assert_eq!(status, 200, "untouched so far");

    let response = cm
        .send(
            &app,
            Method::POST,
            &format!("/api/replenishment/retailers/{}/password-reset", own.0),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let made: OneTimePassword = response.json().await.expect("otp");
    assert_eq!(
        shop.get(&app, "/api/home").await.status(),
        401,
        "its sessions ended"
    );
    let (status, _) = sign_in_as(&app, &own.1, tools::demo::DEMO_PASSWORD).await;
    assert_eq!(status, 401, "the old password is gone");
    let (status, session) = sign_in_as(&app, &own.1, &made.password).await;
    assert_eq!(status, 200);
    assert!(session.expect("session").1.must_change_password);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'password_reset' AND actor_id = $1",
    )
    .bind(cm.info.user_id)
    .fetch_one(pool)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
}

async fn administrators_unlock_and_do_not_set_business_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = caller(&app, "admin").await;
    for attempt in 1..=5 {
        let (status, _) = sign_in_as(&app, "cm02", "wrong-password-1").await;
        assert_eq!(status, if attempt < 5 { 401 } else { 423 });
    }
    let (status, _) = sign_in_as(&app, "cm02", tools::demo::DEMO_PASSWORD).await;
    assert_eq!(status, 423, "locked after five failures");
    let list: UserList = admin.get_json(&app, "/api/admin/users?q=cm02").await;
    let user = &list.users[0];
    assert!(user.locked, "the list shows the lock");
    let response = admin
        .send(
            &app,
            Method::POST,
            &format!("/api/admin/users/{}/unlock", user.id),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let after: UserView = response.json().await.expect("user");
    assert!(!after.locked);
    let (status, _) = sign_in_as(&app, "cm02", tools::demo::DEMO_PASSWORD).await;
    assert_eq!(status, 200, "unlocked");

    // The supply policy is the marketing center's.
    let response = admin
        .send(
            &app,
            Method::PATCH,
            "/api/replenishment/policy",
            json!({ "version": 0 }),
        )
        .await;
    assert_eq!(response.status(), 403);

    // The role is checked before the body is read: a role that may not
    // call gets 403 whatever it sends, never a 422 that describes the body.
    let shop = caller(&app, &app.retailer_login(0).await).await;
    for (who, method, path) in [
        (&shop, Method::PATCH, "/api/replenishment/policy"),
        (&shop, Method::POST, "/api/admin/users"),
        (&admin, Method::PATCH, "/api/replenishment/policy"),
    ] {
        let response = who
            .client
            .request(method.clone(), app.url(path))
            .header("X-CSRF-Token", &who.csrf)
            .header("content-type", "application/json")
            .body("{ not json")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 403, "{method} {path} with a broken body");
    }
}

/// `server create-admin` on an empty database: the first administrator,
/// with a one-time password, and the organisation's root; a second run is
/// refused while an administrator is active, and `--reset` recovers one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_administrator_is_made_from_the_command_line() {
    let db = std::sync::Arc::new(e2e::TestDb::new(Backend::Sqlite).await);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(e2e::server_binary())
            .args(["--database-url", &db.url, "create-admin"])
            .args(args)
            .output()
            .expect("server runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = run(&["--login", "boss", "--name", "王经理"]);
    assert!(ok, "{out}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("一次性密码 / one-time password: "))
        .expect("the password is printed")
        .trim()
        .to_string();
    let (ok, out) = run(&["--login", "other"]);
    assert!(!ok, "a second administrator from the command line: {out}");
    let app = e2e::spawn_app_on(
        db.clone(),
        server::config::Config::local(String::new()),
        false,
    )
    .await;
    let (status, session) = sign_in_as(&app, "boss", &password).await;
    assert_eq!(status, 200);
    assert!(session.expect("session").1.must_change_password);
    let (ok, out) = run(&["--login", "boss", "--reset"]);
    assert!(ok, "{out}");
    let (status, _) = sign_in_as(&app, "boss", &password).await;
    assert_eq!(status, 401, "the old one-time password is replaced");
    let demo_data: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retailers")
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    assert_eq!(demo_data, 0, "no demo data on a real installation");
}

/// Writes that can race, sent at once: creates of one login in different
/// cases, edits from one version, bulk runs, and handout downloads. Each
/// leaves exactly one winner, on PostgreSQL as on SQLite.
async fn account_writes_sent_at_once_leave_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = caller(&app, "admin").await;
    let unit = market_unit(&app).await;
    let pool = &app.db().pool;

    let creates = futures::future::join_all((0..8).map(|k| {
        let login = if k % 2 == 0 { "Race.Login" } else { "race.login" };
        create(
            &app,
            &admin,
            json!({ "login": login, "display_name": "同时", "role": "customer_manager", "unit_id": unit }),
        )
    }))
    .await;
    let statuses: Vec<u16> = creates.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [201, 409, 422].contains(s)),
        "{statuses:?}"
    );
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE LOWER(login) = 'race.login'")
            .fetch_one(pool)
            .await
            .expect("count");
    assert_eq!(stored, 1);

    let list: UserList = admin.get_json(&app, "/api/admin/users?q=race.login").await;
    let user = list.users[0].clone();
    let path = format!("/api/admin/users/{}", user.id);
    let edits = futures::future::join_all((0..8).map(|k| {
        admin.send(
            &app,
            Method::PATCH,
            &path,
            json!({ "version": user.version, "display_name": format!("名字{k}") }),
        )
    }))
    .await;
    let statuses: Vec<u16> = edits.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 409].contains(s)),
        "{statuses:?}"
    );

    let units: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM org_units WHERE kind = 'market_department' ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("units");
    let starts = futures::future::join_all(units.iter().map(|u| {
        admin.send(
            &app,
            Method::POST,
            "/api/admin/retailer-accounts",
            json!({ "scope": { "kind": "market_unit", "unit_id": u } }),
        )
    }))
    .await;
    let statuses: Vec<u16> = starts.iter().map(|r| r.status().as_u16()).collect();
    // A tiny department's run may end before the next request arrives, so
    // more than one may be accepted in turn; never two at once (a partial
    // unique index), and every accepted run ends with each retailer's one
    // sign-in.
    assert!(statuses.contains(&202), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [202, 409].contains(s)),
        "{statuses:?}"
    );
    let mut job = None;
    for response in starts.into_iter().filter(|r| r.status() == 202) {
        let started: AccountJob = response.json().await.expect("job");
        let done = e2e::accounts::wait_for(&app, &admin, started.id).await;
        assert_eq!(done.state, JobState::Done, "{done:?}");
        job = Some(done);
    }
    let job = job.expect("a run");
    let doubled: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT retailer_id FROM users WHERE retailer_id IS NOT NULL \
         GROUP BY retailer_id HAVING COUNT(*) > 1) d",
    )
    .fetch_one(pool)
    .await
    .expect("count");
    assert_eq!(doubled, 0, "no retailer has two sign-ins");

    let handout = format!("/api/admin/retailer-accounts/{}/handout", job.id);
    let takes = futures::future::join_all((0..6).map(|_| admin.get(&app, &handout))).await;
    let statuses: Vec<u16> = takes.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "served once: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 410].contains(s)),
        "{statuses:?}"
    );
}
