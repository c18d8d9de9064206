//! The order window (订货窗口) through the API, on SQLite and PostgreSQL: a
//! retailer orders any orderable spec within the day's caps, changes and
//! cancels until the cutoff and not after; each change is compare-and-set on
//! the order's version (concurrent writers: exactly one passes); the weekly
//! summaries follow every change; orders placed and not delivered count as
//! stock in the next proposal; the customer manager sees who has not ordered
//! and orders on their behalf.

use domain::replenishment::{
    ConfirmedOrder, ManagedRetailers, OrderStatus, PolicyView, ProposalView, Reason,
    RetailerSettingsView, SpecTerms,
};
use domain::ErrorBody;
use e2e::{caller, on_both_databases, spawn_app, statuses, Backend, Caller, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_databases!(
    a_retailer_adds_a_spec_changes_and_cancels_before_the_cutoff,
    after_the_cutoff_the_order_is_locked_and_counts_as_on_order,
    concurrent_writes_of_one_order_let_exactly_one_through,
    bad_orders_are_refused_whole,
    the_customer_manager_sees_who_has_not_ordered_and_orders_for_them,
);

struct Shop {
    me: Caller,
    id: i64,
    view: RetailerSettingsView,
}

impl Shop {
    async fn open(app: &TestApp) -> Shop {
        let me = caller(app, &app.retailer_login(0).await).await;
        let id = me.info.retailer_id.expect("a retailer account");
        // Online, so that it may order.
        let manager: String = sqlx::query_scalar(
            "SELECT u.login FROM retailers r JOIN users u ON u.id = r.manager_id WHERE r.id = $1",
        )
        .bind(id)
        .fetch_one(&app.db().pool)
        .await
        .expect("manager");
        let cm = caller(app, &manager).await;
        let joined = cm
            .send(
                app,
                Method::PUT,
                &format!("/api/replenishment/retailers/{id}/enrolment"),
                json!({ "online": true }),
            )
            .await;
        assert_eq!(joined.status(), 200);
        let view = me
            .get_json(app, &format!("/api/replenishment/retailers/{id}"))
            .await;
        Shop { me, id, view }
    }

    async fn proposal(&self, app: &TestApp) -> ProposalView {
        self.me
            .get_json(
                app,
                &format!("/api/replenishment/retailers/{}/proposal", self.id),
            )
            .await
    }

    /// An orderable spec, not scarce, not in the settings (so not proposed),
    /// with room under its cap for two order multiples.
    fn unproposed(&self) -> SpecTerms {
        self.view
            .terms
            .iter()
            .find(|t| {
                t.orderable
                    && !t.scarce
                    && t.class_cap >= 2 * t.order_multiple
                    && !self.view.settings.iter().any(|s| s.spec_id == t.spec_id)
            })
            .cloned()
            .expect("an orderable spec the retailer has no settings for")
    }

    async fn confirm(
        &self,
        app: &TestApp,
        date: chrono::NaiveDate,
        lines: serde_json::Value,
    ) -> reqwest::Response {
        self.me
            .send(
                app,
                Method::POST,
                &format!("/api/replenishment/retailers/{}/orders", self.id),
                json!({ "order_date": date, "lines": lines }),
            )
            .await
    }

    async fn change(
        &self,
        app: &TestApp,
        date: chrono::NaiveDate,
        version: i64,
        lines: serde_json::Value,
    ) -> reqwest::Response {
        self.me
            .send(
                app,
                Method::PUT,
                &format!("/api/replenishment/retailers/{}/orders/{date}", self.id),
                json!({ "version": version, "lines": lines }),
            )
            .await
    }

    async fn cancel(
        &self,
        app: &TestApp,
        date: chrono::NaiveDate,
        version: i64,
    ) -> reqwest::Response {
        self.me
            .send(
                app,
                Method::POST,
                &format!(
                    "/api/replenishment/retailers/{}/orders/{date}/cancel",
                    self.id
                ),
                json!({ "version": version }),
            )
            .await
    }

    async fn orders(&self, app: &TestApp) -> Vec<ConfirmedOrder> {
        self.me
            .get_json(
                app,
                &format!("/api/replenishment/retailers/{}/orders", self.id),
            )
            .await
    }
}

async fn ok_view(response: reqwest::Response) -> ProposalView {
    let status = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).expect("proposal view")
}

async fn error_of(response: reqwest::Response, status: u16) -> ErrorBody {
    assert_eq!(response.status(), status);
    response.json().await.expect("error body")
}

/// The cartons of the retailer's week in the weekly summaries.
async fn week_total(app: &TestApp, retailer: i64) -> i64 {
    let manager: i64 = sqlx::query_scalar("SELECT manager_id FROM retailers WHERE id = $1")
        .bind(retailer)
        .fetch_one(&app.db().pool)
        .await
        .expect("manager");
    sqlx::query_scalar::<_, Option<i64>>(
        "SELECT CAST(SUM(cartons) AS BIGINT) FROM sales_week WHERE manager_id = $1",
    )
    .bind(manager)
    .fetch_one(&app.db().pool)
    .await
    .expect("weekly summary")
    .unwrap_or(0)
}

async fn audited(app: &TestApp, action: &str, retailer: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = $1 AND entity_id = $2")
        .bind(action)
        .bind(retailer.to_string())
        .fetch_one(&app.db().pool)
        .await
        .expect("audit rows")
}

async fn a_retailer_adds_a_spec_changes_and_cancels_before_the_cutoff(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = Shop::open(&app).await;
    let extra = shop.unproposed();
    let m = extra.order_multiple;
    let proposal = shop.proposal(&app).await;
    assert!(
        proposal.cutoff < proposal.order_date.and_hms_opt(0, 0, 0).expect("midnight"),
        "by default the window closes the day before"
    );
    assert!(
        !proposal.lines.iter().any(|l| l.spec_id == extra.spec_id),
        "the spec is not proposed"
    );
    let before_week = week_total(&app, shop.id).await;

    // Confirmed with the proposal as it is and an unproposed spec added.
    let mut lines: Vec<serde_json::Value> = proposal
        .lines
        .iter()
        .map(|l| json!({ "spec_id": l.spec_id, "quantity": l.quantity }))
        .collect();
    lines.push(json!({ "spec_id": extra.spec_id, "quantity": m }));
    let proposed: i64 = proposal.lines.iter().map(|l| l.quantity).sum();
    let done = ok_view(shop.confirm(&app, proposal.order_date, json!(lines)).await).await;
    let order = done.confirmed.expect("confirmed");
    assert_eq!((order.status, order.version), (OrderStatus::Open, 1));
    let added = order
        .lines
        .iter()
        .find(|l| l.spec_id == extra.spec_id)
        .expect("the added spec is stored");
    assert_eq!((added.wanted, added.proposed, added.quantity), (0, 0, m));
    assert_eq!(order.total_cartons, proposed + m);
    assert_eq!(week_total(&app, shop.id).await, before_week + proposed + m);

    // Changed: the added spec doubled, everything else left out.
    let changed = ok_view(
        shop.change(
            &app,
            proposal.order_date,
            1,
            json!([{ "spec_id": extra.spec_id, "quantity": 2 * m }]),
        )
        .await,
    )
    .await;
    let order = changed.confirmed.expect("still confirmed");
    assert_eq!((order.version, order.total_cartons), (2, 2 * m));
    assert_eq!(
        order.updated_by.as_deref(),
        Some(shop.me.info.display_name.as_str())
    );
    assert_eq!(
        week_total(&app, shop.id).await,
        before_week + 2 * m,
        "the week moved by the difference"
    );

    // A change made on the first version is refused and changes nothing.
    let stale = shop
        .change(
            &app,
            proposal.order_date,
            1,
            json!([{ "spec_id": extra.spec_id, "quantity": m }]),
        )
        .await;
    let body = error_of(stale, 409).await;
    assert!(
        body.message.contains("刷新") || body.message.contains("Reload"),
        "{body}"
    );
    assert_eq!(
        shop.proposal(&app)
            .await
            .confirmed
            .expect("order")
            .total_cartons,
        2 * m
    );

    // Cancelled: kept in the list as cancelled, counted nowhere.
    let cancelled = ok_view(shop.cancel(&app, proposal.order_date, 2).await).await;
    let order = cancelled.confirmed.expect("kept");
    assert_eq!((order.status, order.version), (OrderStatus::Cancelled, 3));
    assert_eq!(week_total(&app, shop.id).await, before_week);
    let listed = shop.orders(&app).await;
    assert_eq!(listed[0].order_date, proposal.order_date);
    assert_eq!(listed[0].status, OrderStatus::Cancelled);
    error_of(shop.cancel(&app, proposal.order_date, 3).await, 409).await;

    // Confirmed again before the cutoff by changing the cancelled order.
    let again = ok_view(
        shop.change(
            &app,
            proposal.order_date,
            3,
            json!([{ "spec_id": extra.spec_id, "quantity": m }]),
        )
        .await,
    )
    .await;
    assert_eq!(again.confirmed.expect("order").status, OrderStatus::Open);
    assert_eq!(week_total(&app, shop.id).await, before_week + m);
    assert_eq!(
        audited(&app, "replenishment.order.confirm", shop.id).await,
        1
    );
    assert_eq!(
        audited(&app, "replenishment.order.change", shop.id).await,
        2
    );
    assert_eq!(
        audited(&app, "replenishment.order.cancel", shop.id).await,
        1
    );
}

/// Moves the cutoff so far before the order days that the open window's
/// order is locked: how the tests move time.
async fn close_the_window(app: &TestApp, days_before: u32) {
    let center = caller(app, "center").await;
    let policy: PolicyView = center.get_json(app, "/api/replenishment/policy").await;
    let mut changed = policy.policy_json();
    changed.insert("cutoff_days_before".into(), json!(days_before));
    let moved = center
        .send(
            app,
            Method::PATCH,
            "/api/replenishment/policy",
            json!({ "version": policy.version, "policy": changed }),
        )
        .await;
    assert_eq!(moved.status(), 200);
}

trait PolicyJson {
    fn policy_json(&self) -> serde_json::Map<String, serde_json::Value>;
}

impl PolicyJson for PolicyView {
    fn policy_json(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self.policy).expect("policy json") {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a policy is an object"),
        }
    }
}

async fn after_the_cutoff_the_order_is_locked_and_counts_as_on_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = Shop::open(&app).await;
    let extra = shop.unproposed();
    let m = extra.order_multiple;
    // Settings for the spec that would want it: stock 0, lower 0, upper 2m.
    let saved = shop
        .me
        .send(
            &app,
            Method::PUT,
            &format!("/api/replenishment/retailers/{}/settings", shop.id),
            json!({
                "version": shop.view.version,
                "settings": [{ "spec_id": extra.spec_id, "stock": 0, "lower": 0, "upper": 2 * m, "weekly_turnover": 0 }]
            }),
        )
        .await;
    assert_eq!(saved.status(), 200);
    let first = shop.proposal(&app).await;
    let line = first
        .lines
        .iter()
        .find(|l| l.spec_id == extra.spec_id)
        .expect("proposed");
    assert_eq!(line.quantity, 2 * m);
    let order = ok_view(
        shop.confirm(
            &app,
            first.order_date,
            json!([{ "spec_id": extra.spec_id, "quantity": m }]),
        )
        .await,
    )
    .await
    .confirmed
    .expect("confirmed");

    // Fourteen days before each order day: the window of `first.order_date`
    // is closed now, and the open window is a later order day.
    close_the_window(&app, 14).await;
    let next = shop.proposal(&app).await;
    assert!(next.order_date > first.order_date, "the window moved on");
    let listed = shop.orders(&app).await;
    assert_eq!(listed[0].status, OrderStatus::Locked);
    let change = shop
        .change(
            &app,
            first.order_date,
            order.version,
            json!([{ "spec_id": extra.spec_id, "quantity": 2 * m }]),
        )
        .await;
    let body = error_of(change, 409).await;
    assert!(body.message.contains("截止"), "{body}");
    error_of(
        shop.cancel(&app, first.order_date, order.version).await,
        409,
    )
    .await;
    let stored: i64 =
        sqlx::query_scalar("SELECT total_cartons FROM replenishment_orders WHERE id = $1")
            .bind(order.id)
            .fetch_one(&app.db().pool)
            .await
            .expect("order");
    assert_eq!(stored, m, "the locked order did not change");

    // The undelivered order counts as stock: 0 + m on order ≤ lower 0 is
    // false, so nothing is wanted until it arrives.
    assert_eq!(next.on_order.len(), 1);
    assert_eq!(next.on_order[0].cartons, m);
    let line = next
        .lines
        .iter()
        .find(|l| l.spec_id == extra.spec_id)
        .expect("line");
    assert_eq!(line.quantity, 0, "not ordered twice");
    assert!(line.reasons.contains(&Reason::OnOrder { cartons: m }));

    // The batch of every retailer's proposal (what the benchmark runs)
    // reads the same window, settings and orders on their way.
    let policy = server::store::replenishment::policy(&app.db().pool)
        .await
        .expect("policy");
    let batch = server::store::replenishment::proposal_inputs(
        app.db(),
        &policy,
        server::clock::now_china(),
    )
    .await
    .expect("batch inputs");
    let mine = batch
        .retailers
        .iter()
        .find(|r| r.id == shop.id)
        .expect("in the batch");
    assert_eq!(mine.window, next.order_date);
    assert_eq!(mine.on_order, next.on_order);
    let rules = batch.rules_on(&mine.class_code, mine.window);
    let total_cap = batch.total_caps.get(&mine.class_code).copied().flatten();
    let mut from_batch =
        domain::replenishment::propose(&mine.settings, &rules, total_cap, &policy, &mine.on_order);
    let mut from_api = next.lines.clone();
    from_batch.sort_by_key(|l| l.spec_id);
    from_api.sort_by_key(|l| l.spec_id);
    assert_eq!(
        from_batch, from_api,
        "the batch proposes what the page shows"
    );

    // Once it is delivered it no longer counts.
    sqlx::query("UPDATE replenishment_orders SET delivered_at = 1 WHERE id = $1")
        .bind(order.id)
        .execute(&app.db().pool)
        .await
        .expect("delivered");
    let after = shop.proposal(&app).await;
    assert!(after.on_order.is_empty());
    assert_eq!(
        after
            .lines
            .iter()
            .find(|l| l.spec_id == extra.spec_id)
            .expect("line")
            .quantity,
        2 * m
    );

    // Handed to the supply system, the day stays closed even if the cutoff
    // moves back (to the day before, as at first) so that its window would
    // be open again.
    let center = caller(&app, "center").await;
    let marked = center
        .send(
            &app,
            Method::POST,
            &format!(
                "/api/replenishment/order-days/{}/exported",
                first.order_date
            ),
            json!({}),
        )
        .await;
    assert_eq!(marked.status(), 200);
    close_the_window(&app, 1).await;
    let reopened = shop.proposal(&app).await;
    assert!(
        reopened.order_date > first.order_date,
        "the open window skips the day handed over"
    );
    let body = error_of(
        shop.change(
            &app,
            first.order_date,
            order.version,
            json!([{ "spec_id": extra.spec_id, "quantity": 2 * m }]),
        )
        .await,
        409,
    )
    .await;
    assert!(body.message.contains("已提交供货"), "{body}");
}

async fn concurrent_writes_of_one_order_let_exactly_one_through(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = Shop::open(&app).await;
    let extra = shop.unproposed();
    let m = extra.order_multiple;
    let date = shop.proposal(&app).await.order_date;

    // Ten first confirmations at once: one order.
    let confirms = futures::future::join_all((0..10).map(|_| {
        shop.confirm(
            &app,
            date,
            json!([{ "spec_id": extra.spec_id, "quantity": m }]),
        )
    }))
    .await;
    let mut codes = statuses(confirms).await;
    codes.sort_unstable();
    assert_eq!(codes, [200, 409, 409, 409, 409, 409, 409, 409, 409, 409]);

    // Ten changes made on the same version at once: exactly one passes and
    // the order is that one's, whole.
    let changes = futures::future::join_all((1..=10).map(|k| {
        let k = i64::from(k % 2) + 1;
        shop.change(
            &app,
            date,
            1,
            json!([{ "spec_id": extra.spec_id, "quantity": k * m }]),
        )
    }))
    .await;
    let mut codes = statuses(changes).await;
    codes.sort_unstable();
    assert_eq!(codes, [200, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    let order = shop.proposal(&app).await.confirmed.expect("order");
    assert_eq!(order.version, 2);
    let lines: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT spec_id, quantity FROM replenishment_order_lines WHERE order_id = $1 AND quantity > 0",
    )
    .bind(order.id)
    .fetch_all(&app.db().pool)
    .await
    .expect("lines");
    assert_eq!(lines.len(), 1, "one change's lines, not two mixed");
    assert_eq!(lines[0].1, order.total_cartons);

    // A change and a cancellation on the same version at once: one of them.
    let (change, cancel) = futures::future::join(
        shop.change(
            &app,
            date,
            2,
            json!([{ "spec_id": extra.spec_id, "quantity": m }]),
        ),
        shop.cancel(&app, date, 2),
    )
    .await;
    let mut codes = vec![change.status().as_u16(), cancel.status().as_u16()];
    codes.sort_unstable();
    assert_eq!(codes, [200, 409]);
    let order = shop.proposal(&app).await.confirmed.expect("order");
    assert_eq!(order.version, 3);
    let summary = week_total(&app, shop.id).await;
    let counted = if order.status == OrderStatus::Cancelled {
        0
    } else {
        order.total_cartons
    };
    let others: i64 = sqlx::query_scalar::<_, Option<i64>>(
        "SELECT CAST(SUM(l.quantity) AS BIGINT) FROM replenishment_order_lines l \
         JOIN replenishment_orders o ON o.id = l.order_id JOIN retailers r ON r.id = o.retailer_id \
         WHERE o.status = 'confirmed' AND o.id <> $1 \
           AND r.manager_id = (SELECT manager_id FROM retailers WHERE id = $2)",
    )
    .bind(order.id)
    .bind(shop.id)
    .fetch_one(&app.db().pool)
    .await
    .expect("other orders")
    .unwrap_or(0);
    assert_eq!(
        summary,
        others + counted,
        "the weekly summary equals the orders that count"
    );
}

async fn bad_orders_are_refused_whole(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = Shop::open(&app).await;
    let extra = shop.unproposed();
    let date = shop.proposal(&app).await.order_date;
    let not_orderable = shop
        .view
        .terms
        .iter()
        .find(|t| !t.orderable)
        .map(|t| t.spec_id);

    let over = shop
        .confirm(&app, date, json!([{ "spec_id": extra.spec_id, "quantity": extra.class_cap + extra.order_multiple }]))
        .await;
    let body = error_of(over, 422).await;
    assert!(body.fields.contains_key("lines.0.quantity"), "{body}");
    let unknown = shop
        .confirm(&app, date, json!([{ "spec_id": 999_999, "quantity": 1 }]))
        .await;
    assert!(error_of(unknown, 422)
        .await
        .fields
        .contains_key("lines.0.spec_id"));
    let nothing = shop
        .confirm(
            &app,
            date,
            json!([{ "spec_id": extra.spec_id, "quantity": 0 }]),
        )
        .await;
    assert!(
        error_of(nothing, 422).await.fields.contains_key("total"),
        "an order of nothing"
    );
    let ancient = shop
        .me
        .send(
            &app,
            Method::POST,
            &format!(
                "/api/replenishment/retailers/{}/orders/0000-01-01/cancel",
                shop.id
            ),
            json!({ "version": 1 }),
        )
        .await;
    assert_eq!(ancient.status(), 422);
    if let Some(spec) = not_orderable {
        let refused = shop
            .confirm(&app, date, json!([{ "spec_id": spec, "quantity": 1 }]))
            .await;
        error_of(refused, 422).await;
    }
    let negative = shop
        .confirm(
            &app,
            date,
            json!([{ "spec_id": extra.spec_id, "quantity": -1 }]),
        )
        .await;
    assert_eq!(negative.status(), 422);
    let many: Vec<serde_json::Value> = (0..5_000)
        .map(|i| json!({ "spec_id": i, "quantity": 0 }))
        .collect();
    error_of(shop.confirm(&app, date, json!(many)).await, 422).await;
    let wrong_day = date + chrono::Days::new(7);
    let body = error_of(
        shop.confirm(
            &app,
            wrong_day,
            json!([{ "spec_id": extra.spec_id, "quantity": extra.order_multiple }]),
        )
        .await,
        409,
    )
    .await;
    assert!(
        body.message.contains(&date.to_string()),
        "names the open day: {body}"
    );
    let bad_date = shop
        .me
        .send(
            &app,
            Method::PUT,
            &format!("/api/replenishment/retailers/{}/orders/2026-13-45", shop.id),
            json!({ "version": 1, "lines": [] }),
        )
        .await;
    assert_eq!(bad_date.status(), 400);
    // Nothing was stored by any of them.
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM replenishment_orders WHERE retailer_id = $1")
            .bind(shop.id)
            .fetch_one(&app.db().pool)
            .await
            .expect("count");
    assert_eq!(stored, 0);
    // No order to change or cancel yet.
    error_of(shop.change(&app, date, 1, json!([])).await, 409).await;
    error_of(shop.cancel(&app, date, 1).await, 409).await;
}

async fn the_customer_manager_sees_who_has_not_ordered_and_orders_for_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let shop = Shop::open(&app).await;
    let manager: String = sqlx::query_scalar(
        "SELECT u.login FROM retailers r JOIN users u ON u.id = r.manager_id WHERE r.id = $1",
    )
    .bind(shop.id)
    .fetch_one(&app.db().pool)
    .await
    .expect("manager");
    let cm = caller(&app, &manager).await;
    let list: ManagedRetailers = cm.get_json(&app, "/api/replenishment/retailers").await;
    let row = list
        .retailers
        .iter()
        .find(|r| r.id == shop.id)
        .expect("own retailer");
    let date = shop.proposal(&app).await.order_date;
    assert_eq!(
        (row.window_date, row.window_status),
        (date, None),
        "not ordered yet"
    );

    let extra = shop.unproposed();
    let done = cm
        .send(
            &app,
            Method::POST,
            &format!("/api/replenishment/retailers/{}/orders", shop.id),
            json!({ "order_date": date, "lines": [{ "spec_id": extra.spec_id, "quantity": extra.order_multiple }] }),
        )
        .await;
    let order = ok_view(done).await.confirmed.expect("confirmed");
    assert_eq!(
        order.confirmed_by, cm.info.display_name,
        "on the retailer's behalf"
    );
    let list: ManagedRetailers = cm.get_json(&app, "/api/replenishment/retailers").await;
    let row = list
        .retailers
        .iter()
        .find(|r| r.id == shop.id)
        .expect("own retailer");
    assert_eq!(row.window_status, Some(OrderStatus::Open));
    assert_eq!(row.window_cartons, extra.order_multiple);
    let actor: i64 = sqlx::query_scalar(
        "SELECT actor_id FROM audit_log WHERE action = 'replenishment.order.confirm' AND entity_id = $1",
    )
    .bind(shop.id.to_string())
    .fetch_one(&app.db().pool)
    .await
    .expect("audited");
    assert_eq!(actor, cm.info.user_id);
}
