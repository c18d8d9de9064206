//! Online replenishment through the API, on SQLite and (when
//! `TEST_POSTGRES_URL` is set) PostgreSQL: settings with validation, history
//! and version checks; proposals cut by caps; confirmed orders; scope; policy.

use domain::quantity::Cartons;
use domain::replenishment::{
    ManagedRetailers, PolicyView, ProposalView, Reason, RetailerSettingsView, SettingsChange,
    SpecSettings,
};
use domain::ErrorBody;
use e2e::{caller, on_both_databases, spawn_app, Backend, Caller, TestApp};
use serde_json::json;

on_both_databases!(
    a_retailer_saves_its_settings_and_sees_them_with_their_history,
    invalid_settings_are_refused_at_the_field_and_nothing_is_saved,
    a_save_on_a_stale_version_gets_409_and_overwrites_nothing,
    each_role_reaches_only_the_retailers_in_its_scope,
    a_proposal_cut_by_the_class_cap_is_confirmed_with_the_cut_off_stored,
    policy_changes_are_checked_audited_and_drive_proposals,
    a_customer_manager_enrols_a_retailer_and_sees_the_joined_share,
);

/// Replenishment calls of a signed-in client.
trait ReplenishmentCalls {
    fn retailer_id(&self) -> i64;
    async fn view(&self, app: &TestApp, retailer: i64) -> RetailerSettingsView;
    async fn save(
        &self,
        app: &TestApp,
        retailer: i64,
        version: i64,
        settings: &[SpecSettings],
    ) -> reqwest::Response;
}

impl ReplenishmentCalls for Caller {
    fn retailer_id(&self) -> i64 {
        self.info.retailer_id.expect("a retailer account")
    }

    async fn view(&self, app: &TestApp, retailer: i64) -> RetailerSettingsView {
        self.get_json(app, &format!("/api/replenishment/retailers/{retailer}"))
            .await
    }

    async fn save(
        &self,
        app: &TestApp,
        retailer: i64,
        version: i64,
        settings: &[SpecSettings],
    ) -> reqwest::Response {
        self.send(
            app,
            reqwest::Method::PUT,
            &format!("/api/replenishment/retailers/{retailer}/settings"),
            json!({ "version": version, "settings": settings }),
        )
        .await
    }
}

fn c(n: i64) -> Cartons {
    Cartons::new(n).expect("valid")
}

fn setting(spec_id: i64, stock: i64, lower: i64, upper: i64, turnover: i64) -> SpecSettings {
    SpecSettings {
        spec_id,
        stock: c(stock),
        lower: c(lower),
        upper: c(upper),
        weekly_turnover: c(turnover),
    }
}

async fn stored_rows(app: &TestApp, retailer: i64) -> Vec<(i64, i64, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT spec_id, stock, lower_limit, upper_limit, weekly_turnover FROM retailer_specs WHERE retailer_id = $1 ORDER BY spec_id",
    )
    .bind(retailer)
    .fetch_all(&app.db().pool)
    .await
    .expect("rows")
}

async fn a_retailer_saves_its_settings_and_sees_them_with_their_history(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = caller(&app, &app.retailer_login(0).await).await;
    let id = me.retailer_id();
    let view = me.view(&app, id).await;
    assert!(view.retailer.online, "demo sign-in retailers have joined");
    assert!(view.settings.len() >= 2, "the demo gives settings");
    assert_eq!(view.terms.len(), 60, "every catalogue spec with its terms");

    // Change the first, drop the second, add a spec not yet listed.
    let mut settings = view.settings.clone();
    let dropped = settings.remove(1);
    let first = &mut settings[0];
    let cap = view
        .terms
        .iter()
        .find(|t| t.spec_id == first.spec_id)
        .expect("terms")
        .class_cap;
    first.upper = c(cap);
    first.lower = c(1);
    let added = view
        .terms
        .iter()
        .find(|t| !view.settings.iter().any(|s| s.spec_id == t.spec_id) && t.class_cap >= 3)
        .expect("a spec to add");
    settings.push(setting(added.spec_id, 1, 1, 3, 2));
    let response = me.save(&app, id, view.version, &settings).await;
    assert_eq!(response.status(), 200);
    let saved: RetailerSettingsView = response.json().await.expect("json");
    assert_eq!(saved.version, view.version + 1);

    let reread = me.view(&app, id).await;
    let mut expected = settings.clone();
    expected.sort_by_key(|s| s.spec_id);
    let mut got = reread.settings.clone();
    got.sort_by_key(|s| s.spec_id);
    assert_eq!(got, expected, "what was saved is what is read");

    let history: Vec<SettingsChange> = me
        .get_json(&app, &format!("/api/replenishment/retailers/{id}/history"))
        .await;
    assert!(history.iter().all(|h| h.actor == me.info.display_name));
    assert!(history
        .iter()
        .any(|h| h.spec_id == dropped.spec_id && h.field == "spec" && h.to.is_none()));
    assert!(history.iter().any(|h| h.spec_id == added.spec_id
        && h.field == "upper"
        && h.from.is_none()
        && h.to == Some(3)));
    assert!(history.iter().any(|h| h.spec_id == view.settings[0].spec_id
        && h.field == "upper"
        && h.from == Some(view.settings[0].upper.get())
        && h.to == Some(cap)));
}

async fn invalid_settings_are_refused_at_the_field_and_nothing_is_saved(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = caller(&app, &app.retailer_login(0).await).await;
    let id = me.retailer_id();
    let view = me.view(&app, id).await;
    let before = stored_rows(&app, id).await;
    let cap = view
        .terms
        .iter()
        .find(|t| t.spec_id == view.settings[0].spec_id)
        .expect("terms")
        .class_cap;
    let mut settings = view.settings.clone();
    settings[0].upper = c(cap + 1);
    settings[1].lower = c(9);
    settings[1].upper = c(5);
    let response = me.save(&app, id, view.version, &settings).await;
    assert_eq!(response.status(), 422);
    let body: ErrorBody = response.json().await.expect("error body");
    assert_eq!(
        body.fields.get("settings.0.upper").map(|m| m[0].clone()),
        Some(format!("库存上限不能超过本档位限量 {cap} 条"))
    );
    assert_eq!(
        body.fields.get("settings.1.lower").map(|m| m[0].as_str()),
        Some("库存下限不能大于上限")
    );

    // Fractions and negatives never reach the rules.
    let raw = me
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/replenishment/retailers/{id}/settings"),
            json!({ "version": view.version, "settings": [
                { "spec_id": view.settings[0].spec_id, "stock": -1, "lower": 0, "upper": 1, "weekly_turnover": 1.5 }
            ]}),
        )
        .await;
    assert_eq!(raw.status(), 422);
    assert_eq!(stored_rows(&app, id).await, before, "nothing was changed");
    assert_eq!(me.view(&app, id).await.version, view.version);
}

async fn a_save_on_a_stale_version_gets_409_and_overwrites_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let retailer = caller(&app, &app.retailer_login(0).await).await;
    let manager = caller(&app, "cm01").await;
    let id = retailer.retailer_id();
    let view = retailer.view(&app, id).await;

    let mut theirs = view.settings.clone();
    theirs[0].stock = c(theirs[0].stock.get() + 1);
    assert_eq!(
        manager.save(&app, id, view.version, &theirs).await.status(),
        200
    );

    let mut mine = view.settings.clone();
    mine[0].stock = c(0);
    let response = retailer.save(&app, id, view.version, &mine).await;
    assert_eq!(response.status(), 409);
    let body: ErrorBody = response.json().await.expect("error body");
    assert!(body.message.contains("已被他人修改"), "{}", body.message);
    let now = retailer.view(&app, id).await;
    assert_eq!(
        now.settings[0].stock, theirs[0].stock,
        "the first save stands"
    );
    assert_eq!(now.version, view.version + 1);
}

async fn each_role_reaches_only_the_retailers_in_its_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = caller(&app, &app.retailer_login(0).await).await;
    let second = caller(&app, &app.retailer_login(1).await).await;
    let (a, b) = (first.retailer_id(), second.retailer_id());
    let cm01 = caller(&app, "cm01").await;
    let owner_of = |id: i64| {
        let pool = app.db().pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT u.login FROM retailers r JOIN users u ON u.id = r.manager_id WHERE r.id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("owner")
        }
    };
    assert_eq!(owner_of(a).await, "cm01");
    assert_ne!(owner_of(b).await, "cm01");

    for path in ["", "/proposal", "/history"] {
        let response = first
            .get(&app, &format!("/api/replenishment/retailers/{b}{path}"))
            .await;
        assert_eq!(
            response.status(),
            403,
            "a retailer cannot read another: {path}"
        );
        let body: ErrorBody = response.json().await.expect("error body");
        assert_eq!(body.code, domain::ErrorCode::Forbidden);
    }
    assert_eq!(
        first
            .get(&app, "/api/replenishment/retailers/999999")
            .await
            .status(),
        403,
        "unknown ids answer like foreign ones"
    );
    let view = second.view(&app, b).await;
    let before = stored_rows(&app, b).await;
    assert_eq!(
        first
            .save(&app, b, view.version, &view.settings[..1])
            .await
            .status(),
        403
    );
    assert_eq!(
        cm01.save(&app, b, view.version, &view.settings[..1])
            .await
            .status(),
        403
    );
    assert_eq!(
        stored_rows(&app, b).await,
        before,
        "refused writes change nothing"
    );
    assert_eq!(
        cm01.get(&app, &format!("/api/replenishment/retailers/{b}"))
            .await
            .status(),
        403,
        "a customer manager cannot read another manager's retailer"
    );
    assert_eq!(
        cm01.get(&app, &format!("/api/replenishment/retailers/{a}"))
            .await
            .status(),
        200
    );

    let center = caller(&app, "center").await;
    assert_eq!(
        center
            .get(&app, &format!("/api/replenishment/retailers/{b}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        center
            .save(&app, b, view.version, &view.settings)
            .await
            .status(),
        403,
        "the center reads, managers write"
    );
    assert_eq!(
        first.get(&app, "/api/replenishment/policy").await.status(),
        403
    );
    assert_eq!(
        first
            .get(&app, "/api/replenishment/retailers")
            .await
            .status(),
        403
    );
    let patch = first
        .send(
            &app,
            reqwest::Method::PATCH,
            "/api/replenishment/policy",
            json!({ "version": 0, "classes": [] }),
        )
        .await;
    assert_eq!(patch.status(), 403);
}

async fn a_proposal_cut_by_the_class_cap_is_confirmed_with_the_cut_off_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let me = caller(&app, &app.retailer_login(0).await).await;
    let id = me.retailer_id();
    let view = me.view(&app, id).await;
    let scarce = view
        .terms
        .iter()
        .find(|t| t.scarce && t.orderable && t.order_multiple == 1)
        .expect("a scarce spec");
    let cap = scarce.class_cap;
    // Empty shelf, upper at the cap, 14 a week: the two days until delivery push the want over the cap.
    let settings = [setting(scarce.spec_id, 0, 1, cap, 14)];
    assert_eq!(
        me.save(&app, id, view.version, &settings).await.status(),
        200
    );

    let proposal: ProposalView = me
        .get_json(&app, &format!("/api/replenishment/retailers/{id}/proposal"))
        .await;
    assert_eq!(proposal.lines.len(), 1);
    let line = &proposal.lines[0];
    assert_eq!(line.wanted, cap + 4, "upper − stock + 14 × 2 / 7");
    assert_eq!(line.quantity, cap);
    assert!(line.reasons.contains(&Reason::CutByClassCap { cap }));
    assert_eq!(
        proposal.total_value.0,
        cap * scarce.wholesale_per_carton.0,
        "the order's value at wholesale prices"
    );

    let path = format!("/api/replenishment/retailers/{id}/orders");
    let over = me
        .send(
            &app,
            reqwest::Method::POST,
            &path,
            json!({
                "order_date": proposal.order_date,
                "lines": [{ "spec_id": scarce.spec_id, "quantity": cap + 1 }]
            }),
        )
        .await;
    assert_eq!(over.status(), 422);
    let body: ErrorBody = over.json().await.expect("error body");
    assert!(body.fields.contains_key("lines.0.quantity"), "{body}");

    let ok = me
        .send(
            &app,
            reqwest::Method::POST,
            &path,
            json!({
                "order_date": proposal.order_date,
                "lines": [{ "spec_id": scarce.spec_id, "quantity": cap - 1 }]
            }),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let done: ProposalView = ok.json().await.expect("json");
    let confirmed = done.confirmed.expect("confirmed");
    assert_eq!(confirmed.total_cartons, cap - 1);
    assert_eq!(confirmed.confirmed_by, me.info.display_name);
    let stored: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT l.wanted, l.proposed, l.quantity, l.cut_off FROM replenishment_order_lines l \
         JOIN replenishment_orders o ON o.id = l.order_id WHERE o.retailer_id = $1",
    )
    .bind(id)
    .fetch_one(&app.db().pool)
    .await
    .expect("order line");
    assert_eq!(
        stored,
        (cap + 4, cap, cap - 1, 4),
        "censored demand is what the caps cut"
    );

    let again = me
        .send(
            &app,
            reqwest::Method::POST,
            &path,
            json!({ "order_date": proposal.order_date, "lines": [] }),
        )
        .await;
    assert_eq!(again.status(), 409, "one order per order day");
}

async fn policy_changes_are_checked_audited_and_drive_proposals(backend: Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let retailer = caller(&app, &app.retailer_login(0).await).await;
    let id = retailer.retailer_id();
    let view = retailer.view(&app, id).await;
    let spec = view.settings[0].spec_id;
    let class = view.retailer.class_code.clone();

    let bad = center
        .send(&app, reqwest::Method::PATCH, "/api/replenishment/policy", json!({
            "version": 0,
            "policy": { "lead_days": 30, "stock_to_sales_norm": 0.5, "weeks_per_month": 4.3 },
            "caps": [{ "spec_id": spec, "class_code": class, "cap": 1 }],
            "specs": [{ "spec_id": spec, "order_multiple": 0, "default_cap": 10, "scarce": false, "orderable": true }],
            "order_days": [{ "retailer_id": id, "weekday": 8 }]
        }))
        .await;
    assert_eq!(bad.status(), 422);
    let body: ErrorBody = bad.json().await.expect("error body");
    assert!(body.fields.contains_key("policy.lead_days"));
    assert!(body.fields.contains_key("specs.0.order_multiple"));
    assert!(body.fields.contains_key("order_days.0.weekday"));
    let after_bad = retailer.view(&app, id).await;
    assert_eq!(after_bad.terms, view.terms, "nothing partial is saved");
    assert_eq!(after_bad.policy, view.policy);

    let ok = center
        .send(
            &app,
            reqwest::Method::PATCH,
            "/api/replenishment/policy",
            json!({
                "version": 0,
                "policy": { "lead_days": 3, "stock_to_sales_norm": 0.6, "weeks_per_month": 4.3 },
                "caps": [{ "spec_id": spec, "class_code": class, "cap": 1 }],
                "classes": [{ "code": class, "total_cap": 2 }],
                "order_days": [{ "retailer_id": id, "weekday": 7 }]
            }),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let policy: PolicyView = ok.json().await.expect("json");
    assert_eq!(policy.policy.lead_days, 3);
    assert_eq!(policy.version, 1, "the change moved the version");
    let stale = center
        .send(
            &app,
            reqwest::Method::PATCH,
            "/api/replenishment/policy",
            json!({
                "version": 0,
                "classes": [{ "code": class, "total_cap": 9 }]
            }),
        )
        .await;
    assert_eq!(
        stale.status(),
        409,
        "a change made on an older version is refused"
    );
    assert!(policy
        .caps
        .iter()
        .any(|c| c.spec_id == spec && c.class_code == class && c.cap == 1));

    let after = retailer.view(&app, id).await;
    assert_eq!(after.policy.lead_days, 3);
    assert_eq!(after.total_cap, Some(2));
    assert_eq!(after.retailer.order_weekday, 7);
    assert_eq!(
        chrono::Datelike::weekday(&after.next_order_date),
        chrono::Weekday::Sun,
        "the next order day follows the retailer's order day"
    );
    assert_eq!(
        after
            .terms
            .iter()
            .find(|t| t.spec_id == spec)
            .map(|t| t.class_cap),
        Some(1)
    );
    let proposal: ProposalView = retailer
        .get_json(&app, &format!("/api/replenishment/retailers/{id}/proposal"))
        .await;
    assert!(
        proposal.lines.iter().map(|l| l.quantity).sum::<i64>() <= 2,
        "the new total cap holds"
    );

    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'replenishment.%' AND actor_id = $1",
    )
    .bind(center.info.user_id)
    .fetch_one(&app.db().pool)
    .await
    .expect("count");
    assert_eq!(
        audited, 4,
        "policy, class cap, total cap and order day each audited"
    );
    let manager = caller(&app, "cm01").await;
    let refused = manager
        .send(
            &app,
            reqwest::Method::PATCH,
            "/api/replenishment/policy",
            json!({ "version": 0, "classes": [] }),
        )
        .await;
    assert_eq!(refused.status(), 403);
}

async fn a_customer_manager_enrols_a_retailer_and_sees_the_joined_share(backend: Backend) {
    let app = spawn_app(backend).await;
    let manager = caller(&app, "cm01").await;
    let list: ManagedRetailers = manager.get_json(&app, "/api/replenishment/retailers").await;
    let own: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retailers WHERE manager_id = $1")
        .bind(manager.info.user_id)
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    assert_eq!(list.total, own);
    let target = list
        .retailers
        .iter()
        .find(|r| !r.online)
        .or(list.retailers.last())
        .expect("a retailer");
    let was_online = target.online;
    let response = manager
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/replenishment/retailers/{}/enrolment", target.id),
            json!({ "online": !was_online }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let after: ManagedRetailers = manager.get_json(&app, "/api/replenishment/retailers").await;
    let expected = if was_online {
        list.online - 1
    } else {
        list.online + 1
    };
    assert_eq!(after.online, expected);
}
