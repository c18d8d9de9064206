//! The authorization matrix, generated from the route table: every operation
//! in the OpenAPI document × every role × (own scope, foreign scope), and
//! signed out. A denied call must get 403 and nothing else; an allowed read
//! must get 200; an allowed write must get past the role and scope checks
//! (the probes send bodies that then fail validation, so nothing changes);
//! no answer to a foreign-scope call may carry the foreign object's data.
//!
//! A route missing from the table below fails the test, so a new route
//! cannot ship without its row.

use std::collections::BTreeMap;

use domain::Role;
use e2e::{caller, on_both_databases, spawn_app, Backend, Caller, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

on_both_databases!(every_route_answers_every_role_as_the_matrix_says);

/// Which side of the org tree a call's object lies on, seen from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Own,
    Foreign,
}

/// The rules come from the one policy the server checks (`domain::policy`):
/// this test calls every route as every role and expects what it says.
use domain::policy::Access as Rule;

fn allows(rule: Rule, role: Role, side: Side) -> bool {
    rule.allows(role, side == Side::Own)
}

/// The objects the probes name, on both sides of the org tree.
struct Fixture {
    cycle: i64,
    closed_cycle: i64,
    spec: i64,
    /// A checked import of the marketing center's.
    import_job: i64,
    /// (retailer id, licence, manager id, manager name, sheet id) per side.
    own: Target,
    foreign: Target,
    /// Sign-ins per role: the own side's people.
    logins: Vec<(Role, String)>,
}

struct Target {
    retailer: i64,
    licence: String,
    manager: i64,
    manager_name: String,
    sheet: i64,
    /// A finished bulk run of retailer sign-ins with its handout unread.
    job: i64,
    /// A retailer of the same manager with no sign-in.
    unopened: i64,
}

impl Fixture {
    fn target(&self, side: Side) -> &Target {
        match side {
            Side::Own => &self.own,
            Side::Foreign => &self.foreign,
        }
    }
}

/// One call: method, path, query and body.
struct Probe {
    method: Method,
    path: String,
    body: Option<Value>,
    raw: Option<&'static [u8]>,
}

/// The table: each operation's rule and a probe for a side. Writes carry
/// bodies that fail validation only after the role and scope checks.
fn probe_of(method: &Method, path: &str, f: &Fixture, side: Side) -> Option<Probe> {
    let t = f.target(side);
    let (cycle, closed, spec) = (f.cycle, f.closed_cycle, f.spec);
    let probe = |method: Method, path: String, body: Option<Value>| Probe {
        method,
        path,
        body,
        raw: None,
    };
    let get = |path: String| probe(Method::GET, path, None);
    // A report over the caller's own reach, or narrowed to the foreign
    // side's customer manager (refused below the center).
    let report = |path: String| match side {
        Side::Own => get(path),
        Side::Foreign => get(format!("{path}?manager_id={}", t.manager)),
    };
    let bad_cycle = json!({ "month": "2000-01", "spec_ids": [], "scope": "all" });
    let long_comment = "意".repeat(501);
    let m = method.clone();
    Some(match (method.as_str(), path) {
        ("GET", "/api/health") => get("/api/health".into()),
        ("POST", "/api/auth/login") => probe(
            m,
            path.into(),
            Some(json!({ "login": "nobody-here", "password": "wrong" })),
        ),
        // Signing out without a session does nothing, and says so with 204.
        ("POST", "/api/auth/logout") => probe(m, path.into(), Some(json!({}))),
        ("GET", "/api/auth/me") => get(path.into()),
        ("POST", "/api/auth/password") => probe(
            m,
            path.into(),
            Some(json!({ "current_password": "", "new_password": "" })),
        ),
        ("GET", "/api/home") => get(path.into()),
        ("GET", "/api/org/units") => get(path.into()),
        ("GET", "/api/specs") => get(path.into()),
        ("GET", "/api/forecast/cycles/{id}/dashboard") => {
            report(format!("/api/forecast/cycles/{cycle}/dashboard"))
        }
        ("GET", "/api/forecast/cycles/{id}/approved") => {
            get(format!("/api/forecast/cycles/{cycle}/approved?format=csv"))
        }
        ("POST", "/api/forecast/actuals") => Probe {
            method: m,
            path: "/api/forecast/actuals?month=2000-01".into(),
            body: None,
            raw: Some(b"not,a,file"),
        },
        ("GET", "/api/forecast/cycles/{id}/accuracy") => {
            report(format!("/api/forecast/cycles/{cycle}/accuracy"))
        }
        ("GET", "/api/replenishment/retailers") => get(path.into()),
        ("GET", "/api/replenishment/retailers/{id}") => {
            get(format!("/api/replenishment/retailers/{}", t.retailer))
        }
        ("PUT", "/api/replenishment/retailers/{id}/settings") => probe(
            m,
            format!("/api/replenishment/retailers/{}/settings", t.retailer),
            Some(json!({ "version": -1, "settings": [
                    { "spec_id": spec, "stock": 1, "lower": 5, "upper": 2, "weekly_turnover": 1 }
                ] })),
        ),
        ("GET", "/api/replenishment/retailers/{id}/proposal") => get(format!(
            "/api/replenishment/retailers/{}/proposal",
            t.retailer
        )),
        ("POST", "/api/replenishment/retailers/{id}/orders") => probe(
            m,
            format!("/api/replenishment/retailers/{}/orders", t.retailer),
            Some(json!({ "order_date": "2000-01-03", "lines": [] })),
        ),
        ("GET", "/api/replenishment/retailers/{id}/orders") => get(format!(
            "/api/replenishment/retailers/{}/orders",
            t.retailer
        )),
        // A past order day: closed, so an allowed caller gets 409.
        ("PUT", "/api/replenishment/retailers/{id}/orders/{date}") => probe(
            m,
            format!(
                "/api/replenishment/retailers/{}/orders/2000-01-03",
                t.retailer
            ),
            Some(json!({ "version": 1, "lines": [] })),
        ),
        ("POST", "/api/replenishment/retailers/{id}/orders/{date}/cancel") => probe(
            m,
            format!(
                "/api/replenishment/retailers/{}/orders/2000-01-03/cancel",
                t.retailer
            ),
            Some(json!({ "version": 1 })),
        ),
        ("GET", "/api/replenishment/retailers/{id}/history") => get(format!(
            "/api/replenishment/retailers/{}/history",
            t.retailer
        )),
        // Joining is the customer manager's decision for their own retailers.
        ("PUT", "/api/replenishment/retailers/{id}/enrolment") => probe(
            m,
            format!("/api/replenishment/retailers/{}/enrolment", t.retailer),
            Some(json!({ "online": true })),
        ),
        // Orders to the order and supply system: a past day (locked, no
        // orders) reads; writes are refused after the role check (a day
        // whose window is open, a file without a header, a bad month).
        ("GET", "/api/replenishment/order-days") => get(path.into()),
        ("GET", "/api/replenishment/order-days/{date}/export") => {
            get("/api/replenishment/order-days/2000-01-03/export?format=csv".into())
        }
        ("POST", "/api/replenishment/order-days/{date}/exported") => probe(
            m,
            "/api/replenishment/order-days/2999-01-04/exported".into(),
            Some(json!({})),
        ),
        ("POST", "/api/replenishment/deliveries") => Probe {
            method: m,
            path: path.into(),
            body: None,
            raw: Some(b"not,a,file"),
        },
        ("POST", "/api/replenishment/actuals-from-orders") => {
            probe(m, path.into(), Some(json!({ "month": "2000-13" })))
        }
        ("GET", "/api/replenishment/fill-rate") => get(path.into()),
        ("GET", "/api/replenishment/policy") => get(path.into()),
        ("PATCH", "/api/replenishment/policy") => {
            probe(m, path.into(), Some(json!({ "version": -1 })))
        }
        ("GET", "/api/forecast/reviews") => get(path.into()),
        ("GET", "/api/forecast/sheets/{id}/review") => {
            get(format!("/api/forecast/sheets/{}/review", t.sheet))
        }
        ("PUT", "/api/forecast/sheets/{id}/corrections") => probe(
            m,
            format!("/api/forecast/sheets/{}/corrections", t.sheet),
            Some(json!({ "corrections": [
                    { "retailer_id": -1, "spec_id": spec, "value": 1, "reason": "x", "base_revision": 0 }
                ] })),
        ),
        ("POST", "/api/forecast/sheets/{id}/approve") => probe(
            m,
            format!("/api/forecast/sheets/{}/approve", t.sheet),
            Some(json!({ "comment": long_comment })),
        ),
        ("POST", "/api/forecast/sheets/{id}/return") => probe(
            m,
            format!("/api/forecast/sheets/{}/return", t.sheet),
            Some(json!({ "comment": "" })),
        ),
        ("GET", "/api/forecast/sheets/{id}/lines/{retailer_id}/{spec_id}/history") => get(format!(
            "/api/forecast/sheets/{}/lines/{}/{spec}/history",
            t.sheet, t.retailer
        )),
        ("GET", "/api/forecast/cycles") => get(path.into()),
        ("POST", "/api/forecast/cycles") => probe(m, path.into(), Some(bad_cycle)),
        ("PUT", "/api/forecast/cycles/{id}") => {
            probe(m, format!("/api/forecast/cycles/{cycle}"), Some(bad_cycle))
        }
        // A closed cycle: closing it again changes nothing.
        ("POST", "/api/forecast/cycles/{id}/close") => probe(
            m,
            format!("/api/forecast/cycles/{closed}/close"),
            Some(json!({})),
        ),
        ("GET", "/api/forecast/cycles/{id}/progress") => {
            report(format!("/api/forecast/cycles/{cycle}/progress"))
        }
        ("POST", "/api/forecast/cycles/{id}/reopen") => probe(
            m,
            format!("/api/forecast/cycles/{closed}/reopen"),
            Some(json!({ "manager_id": t.manager, "until": "2000-01-01" })),
        ),
        ("GET", "/api/forecast/cycles/{id}/sheet") => get(format!(
            "/api/forecast/cycles/{cycle}/sheet?manager_id={}",
            t.manager
        )),
        ("PUT", "/api/forecast/cycles/{id}/sheet/cells") => probe(
            m,
            format!("/api/forecast/cycles/{cycle}/sheet/cells"),
            Some(json!({ "cells": [
                    { "retailer_id": t.retailer, "spec_id": spec, "value": -1, "base_revision": 0 }
                ] })),
        ),
        ("POST", "/api/forecast/cycles/{id}/sheet/submit") => probe(
            m,
            format!("/api/forecast/cycles/{cycle}/sheet/submit"),
            Some(json!({})),
        ),
        ("GET", "/api/forecast/cycles/{id}/sheet/export") => get(format!(
            "/api/forecast/cycles/{cycle}/sheet/export?manager_id={}",
            t.manager
        )),
        ("POST", "/api/forecast/cycles/{id}/sheet/import") => Probe {
            method: m,
            path: format!("/api/forecast/cycles/{cycle}/sheet/import"),
            body: None,
            raw: Some(b"this is not a workbook"),
        },
        ("GET", "/api/forecast/rules") => get(path.into()),
        ("PUT", "/api/forecast/rules") => probe(
            m,
            path.into(),
            Some(json!({ "deviation_percent": -1, "deviation_cartons": -1, "default_bound": -1 })),
        ),
        ("GET", "/api/forecast/bounds") => get(path.into()),
        ("GET", "/api/admin/users") => get(format!("{path}?q=cm")),
        ("POST", "/api/admin/users") => probe(
            m,
            path.into(),
            Some(
                json!({ "login": "", "display_name": "", "role": "customer_manager", "unit_id": -1 }),
            ),
        ),
        // A stale version: refused after the role check, nothing changes.
        ("PATCH", "/api/admin/users/{id}") => probe(
            m,
            format!("/api/admin/users/{}", t.manager),
            Some(json!({ "version": -1, "active": false })),
        ),
        ("POST", "/api/admin/users/{id}/unlock") => {
            probe(m, "/api/admin/users/-1/unlock".into(), Some(json!({})))
        }
        ("POST", "/api/admin/users/{id}/password-reset") => probe(
            m,
            "/api/admin/users/-1/password-reset".into(),
            Some(json!({})),
        ),
        ("POST", "/api/admin/retailer-accounts") => probe(
            m,
            path.into(),
            Some(json!({ "scope": { "kind": "licences", "licences": [] } })),
        ),
        ("GET", "/api/admin/retailer-accounts/{id}") => {
            get(format!("/api/admin/retailer-accounts/{}", t.job))
        }
        // Served once: each side's run has its own handout.
        ("GET", "/api/admin/retailer-accounts/{id}/handout") => {
            get(format!("/api/admin/retailer-accounts/{}/handout", t.job))
        }
        // A retailer without a sign-in: refused after the scope check.
        ("POST", "/api/replenishment/retailers/{id}/password-reset") => probe(
            m,
            format!("/api/replenishment/retailers/{}/password-reset", t.unopened),
            Some(json!({})),
        ),
        ("PUT", "/api/forecast/bounds") => probe(
            m,
            path.into(),
            Some(json!([{ "spec_id": spec, "class_code": "1", "max_cartons": -1 }])),
        ),
        ("GET", "/api/audit") => get("/api/audit?action=login".into()),
        ("GET", "/api/masterdata/retailers") => get(format!("{path}?q=4211")),
        // A bad phone number: refused after the scope check.
        ("PATCH", "/api/masterdata/retailers/{id}") => probe(
            m,
            format!("/api/masterdata/retailers/{}", t.retailer),
            Some(json!({ "version": -1, "phone": "#" })),
        ),
        ("POST", "/api/masterdata/retailers/reassign") => probe(
            m,
            path.into(),
            Some(json!({ "retailer_ids": [t.retailer], "manager_id": -1 })),
        ),
        ("GET", "/api/masterdata/managers") => get(path.into()),
        ("GET", "/api/masterdata/specs") => get(path.into()),
        ("POST", "/api/masterdata/specs") => probe(m, path.into(), Some(bad_spec(0))),
        ("PUT", "/api/masterdata/specs/{id}") => probe(
            m,
            format!("/api/masterdata/specs/{spec}"),
            Some(bad_spec(spec)),
        ),
        ("GET", "/api/masterdata/classes") => get(path.into()),
        ("PUT", "/api/masterdata/classes") => probe(m, path.into(), Some(json!({ "classes": [] }))),
        ("POST", "/api/masterdata/imports") => Probe {
            method: m,
            path: "/api/masterdata/imports?kind=nope".into(),
            body: None,
            raw: Some(b"not,a,file"),
        },
        ("GET", "/api/masterdata/imports/{id}") => {
            get(format!("/api/masterdata/imports/{}", f.import_job))
        }
        ("POST", "/api/masterdata/imports/{id}/apply") => Probe {
            method: m,
            path: "/api/masterdata/imports/999999999/apply".into(),
            body: None,
            raw: Some(b"x"),
        },
        ("GET", "/api/analysis/sales" | "/api/analysis/stock" | "/api/analysis/plans") => {
            report(path.into())
        }
        // Month 13 and negative cartons: refused after the role check.
        ("PUT", "/api/analysis/plans") => probe(
            m,
            path.into(),
            Some(json!({ "year": 1999, "plans": [{ "unit_id": 0, "month": 13, "cartons": -1 }] })),
        ),
        ("GET", "/api/forecast/baselines") => get(path.into()),
        // Queues a recompute (harmless: the baselines are computed again
        // from the same history).
        ("POST", "/api/forecast/baselines/recompute") => probe(m, path.into(), Some(json!({}))),
        ("GET", "/api/replenishment/allocations" | "/api/replenishment/allocations/plan") => {
            get(format!("{path}?month=2026-11"))
        }
        // A period that ends before it starts and a negative supply:
        // refused after the role check, nothing stored.
        ("POST", "/api/replenishment/allocations/preview" | "/api/replenishment/allocations") => {
            probe(
                m,
                path.into(),
                Some(
                    json!({ "spec_id": spec, "from": "2026-11-10", "to": "2026-11-01",
                             "supply": -1, "rule": { "kind": "tier" } }),
                ),
            )
        }
        ("POST", "/api/replenishment/allocations/{id}/withdraw") => probe(
            m,
            "/api/replenishment/allocations/999999999/withdraw".into(),
            Some(json!({})),
        ),
        _ => return None,
    })
}

/// A spec form that fails validation (no name, price class 0).
fn bad_spec(id: i64) -> Value {
    json!({ "id": id, "code": "X1", "name": "", "brand": "", "price_class": 0,
            "wholesale_fen": 0, "retail_fen": 0, "order_multiple": 1, "orderable": true,
            "scarce": false, "new_product": false, "version": -1 })
}

/// The policy's rule for an operation and the probe that calls it.
fn row(method: &Method, path: &str, f: &Fixture, side: Side) -> Option<(Rule, Probe)> {
    let rule = domain::policy::route(method.as_str(), path)?;
    Some((rule, probe_of(method, path, f, side)?))
}

async fn fixture(app: &TestApp) -> Fixture {
    let pool = &app.db().pool;
    // A second county: the third market department moves under it, so the
    // county reviewer has a foreign side too.
    let root: i64 = sqlx::query_scalar("SELECT id FROM org_units WHERE parent_id IS NULL")
        .fetch_one(pool)
        .await
        .expect("root unit");
    let next: i64 = sqlx::query_scalar("SELECT MAX(id) + 1 FROM org_units")
        .fetch_one(pool)
        .await
        .expect("next unit id");
    sqlx::query(
        "INSERT INTO org_units (id, parent_id, kind, name) VALUES ($1, $2, 'county_department', '另一县营销部')",
    )
    .bind(next)
    .bind(root)
    .execute(pool)
    .await
    .expect("second county");
    let foreign_unit: i64 = sqlx::query_scalar(
        "SELECT id FROM org_units WHERE kind = 'market_department' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("a department");
    sqlx::query("UPDATE org_units SET parent_id = $1 WHERE id = $2")
        .bind(next)
        .bind(foreign_unit)
        .execute(pool)
        .await
        .expect("move the department");

    let cycle = e2e::forecast::open_cycle(app, domain::forecast::Scope::All, 2).await;
    let spec = cycle.specs[0].spec_id;
    // A second cycle, closed.
    let center = caller(app, "center").await;
    let month = cycle.month.plus(1);
    let response = center
        .send(
            app,
            Method::POST,
            "/api/forecast/cycles",
            json!({ "month": month, "spec_ids": [spec], "scope": "all" }),
        )
        .await;
    assert_eq!(response.status(), 200, "a second cycle opens");
    let closed: domain::forecast::view::CycleView = response.json().await.expect("cycle");
    let response = center
        .send(
            app,
            Method::POST,
            &format!("/api/forecast/cycles/{}/close", closed.id),
            json!({}),
        )
        .await;
    assert_eq!(response.status(), 200, "the second cycle closes");

    let target = |unit_filter: &'static str| async move {
        let row = sqlx::query_as::<_, (i64, String, i64, String, String)>(&format!(
            "SELECT r.id, r.licence_no, u.id, u.display_name, u.login FROM retailers r \
             JOIN users u ON u.id = r.manager_id WHERE r.market_unit_id {unit_filter} \
             ORDER BY u.id, r.id LIMIT 1"
        ))
        .bind(foreign_unit)
        .fetch_one(pool)
        .await
        .expect("a retailer");
        (row.0, row.1, row.2, row.3, row.4)
    };
    let (retailer, licence, manager, manager_name, cm_login) = target("<> $1").await;
    let (f_retailer, f_licence, f_manager, f_manager_name, f_cm_login) = target("= $1").await;

    // One line in each sheet, so line histories exist.
    let mut sheets = Vec::new();
    for (login, retailer) in [(&cm_login, retailer), (&f_cm_login, f_retailer)] {
        let cm = caller(app, login).await;
        let response = e2e::forecast::save(
            &cm,
            app,
            cycle.id,
            json!([{ "retailer_id": retailer, "spec_id": spec, "value": 3, "base_revision": 0 }]),
        )
        .await;
        assert_eq!(response.status(), 200, "{login} saves a cell");
        sheets.push(e2e::forecast::sheet(&cm, app, cycle.id).await.sheet_id);
    }

    // A bulk run of sign-ins per side (one retailer each), finished, and a
    // retailer per side left without a sign-in.
    let admin = caller(app, "admin").await;
    let mut jobs = Vec::new();
    let mut unopened = Vec::new();
    for manager in [manager, f_manager] {
        let free: Vec<(i64, String)> = sqlx::query_as(
            "SELECT r.id, r.licence_no FROM retailers r LEFT JOIN users u ON u.retailer_id = r.id \
             WHERE r.manager_id = $1 AND u.id IS NULL ORDER BY r.id LIMIT 2",
        )
        .bind(manager)
        .fetch_all(pool)
        .await
        .expect("retailers without a sign-in");
        assert_eq!(free.len(), 2, "two retailers without a sign-in");
        let job = e2e::accounts::run_bulk(
            app,
            &admin,
            json!({ "kind": "licences", "licences": [free[0].1] }),
        )
        .await;
        jobs.push(job.id);
        unopened.push(free[1].0);
    }

    let unit_of = |login: String| async move {
        sqlx::query_scalar::<_, i64>("SELECT org_unit_id FROM users WHERE login = $1")
            .bind(login)
            .fetch_one(pool)
            .await
            .expect("unit")
    };
    let own_unit = unit_of(cm_login.clone()).await;
    let first_of = |role: &'static str, unit: Option<i64>| async move {
        sqlx::query_scalar::<_, String>(
            "SELECT login FROM users WHERE role = $1 AND ($2 < 0 OR org_unit_id = $2) ORDER BY id LIMIT 1",
        )
        .bind(role)
        .bind(unit.unwrap_or(-1))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|_| panic!("a {role}"))
    };
    let shop: String = sqlx::query_scalar("SELECT login FROM users WHERE retailer_id = $1")
        .bind(retailer)
        .fetch_one(pool)
        .await
        .expect("the own retailer's sign-in");
    let logins = vec![
        (Role::Retailer, shop),
        (Role::CustomerManager, cm_login),
        (
            Role::MarketManager,
            first_of("market_manager", Some(own_unit)).await,
        ),
        (Role::CountyManager, first_of("county_manager", None).await),
        (Role::MarketingCenter, "center".to_string()),
        (Role::Admin, "admin".to_string()),
    ];
    let response = center
        .client
        .post(app.url("/api/masterdata/imports?kind=specs&name=specs.csv"))
        .header("X-CSRF-Token", &center.csrf)
        .body("卷烟编码,卷烟名称\nX1,测试\n")
        .send()
        .await
        .expect("import");
    assert_eq!(response.status().as_u16(), 202);
    let job: domain::masterdata::ImportJob = response.json().await.expect("job");
    Fixture {
        import_job: job.id,
        cycle: cycle.id,
        closed_cycle: closed.id,
        spec,
        own: Target {
            retailer,
            licence,
            manager,
            manager_name,
            sheet: sheets[0],
            job: jobs[0],
            unopened: unopened[0],
        },
        foreign: Target {
            retailer: f_retailer,
            licence: f_licence,
            manager: f_manager,
            manager_name: f_manager_name,
            sheet: sheets[1],
            job: jobs[1],
            unopened: unopened[1],
        },
        logins,
    }
}

async fn call(app: &TestApp, who: Option<&Caller>, probe: &Probe) -> (u16, String) {
    let client = who.map_or_else(|| app.client(), |c| c.client.clone());
    let mut request = client.request(probe.method.clone(), app.url(&probe.path));
    if let Some(who) = who {
        request = request.header("X-CSRF-Token", &who.csrf);
    }
    if let Some(body) = &probe.body {
        request = request.json(body);
    }
    if let Some(raw) = probe.raw {
        request = request
            .header("content-type", "application/octet-stream")
            .body(raw.to_vec());
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

async fn every_route_answers_every_role_as_the_matrix_says(backend: Backend) {
    let app = spawn_app(backend).await;
    let f = fixture(&app).await;
    let doc: Value = app
        .client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                operations.push((method, path.clone()));
            }
        }
    }
    let missing: Vec<String> = operations
        .iter()
        .filter(|(m, p)| row(m, p, &f, Side::Own).is_none())
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization matrix: {missing:?}"
    );
    // Sign-out last, so each caller's session lasts through its probes.
    operations.sort_by_key(|(m, p)| p == "/api/auth/logout" && m == Method::POST);

    let mut problems = Vec::new();
    let mut calls = 0;
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    // Signed out: 401 everywhere but the public routes.
    for (method, path) in &operations {
        let (rule, probe) = row(method, path, &f, Side::Own).expect("row");
        let (status, _) = call(&app, None, &probe).await;
        calls += 1;
        let ok = match rule {
            Rule::Public => status < 500,
            _ => status == 401,
        };
        *outcomes
            .entry(if ok {
                "signed out: as expected"
            } else {
                "signed out: WRONG"
            })
            .or_default() += 1;
        if !ok {
            problems.push(format!(
                "signed out: {method} {} → {status}, expected 401",
                probe.path
            ));
        }
    }
    for (role, login) in &f.logins {
        let who = caller(&app, login).await;
        for (method, path) in &operations {
            for side in [Side::Own, Side::Foreign] {
                let (rule, probe) = row(method, path, &f, side).expect("row");
                if path == "/api/auth/logout" && side == Side::Own {
                    continue;
                }
                let (status, body) = call(&app, Some(&who), &probe).await;
                calls += 1;
                let allowed = allows(rule, *role, side);
                let write = *method != Method::GET;
                let ok = match rule {
                    Rule::Public => status < 500,
                    _ if !allowed => status == 403,
                    _ if write => status != 401 && status != 403 && status < 500,
                    _ => status == 200,
                };
                let label = format!("{role:?} {side:?}: {method} {}", probe.path);
                if !ok {
                    let expected = if allowed { "allowed" } else { "403" };
                    problems.push(format!(
                        "{label} → {status}, expected {expected}: {body:.200}"
                    ));
                }
                // A foreign object's data never reaches one who may not see
                // it, nor does a report over the caller's own reach carry it.
                let foreign = f.target(Side::Foreign);
                if (200..300).contains(&status)
                    && (side == Side::Foreign || rule == Rule::Report)
                    && !matches!(role, Role::MarketingCenter | Role::Admin)
                    && (body.contains(&foreign.licence) || body.contains(&foreign.manager_name))
                {
                    problems.push(format!(
                        "LEAK {label}: the answer carries the foreign side's data"
                    ));
                }
                *outcomes
                    .entry(match (allowed, ok) {
                        (true, true) => "allowed: as expected",
                        (false, true) => "denied: 403 as expected",
                        _ => "WRONG",
                    })
                    .or_default() += 1;
            }
        }
    }
    // The own side's data is what the own side gets back: a sanity check
    // that the probes reached real objects.
    assert!(!f.own.licence.is_empty() && f.own.manager != f.foreign.manager);
    println!(
        "authorization matrix: {} operations × {} roles × 2 sides + signed out = {calls} calls; {outcomes:?}",
        operations.len(),
        f.logins.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
