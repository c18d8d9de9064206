//! Sales and stock analysis through the API, on both databases: each level
//! gets its own subtree's figures, equal to the same figures computed from
//! the order lines and recorded stock; the kept summaries follow a month's
//! actual orders, a retailer's saved stock, a confirmed online order and a
//! handover; plans are the center's and checked cell by cell; the tables
//! download as a workbook.

use domain::analysis::{PlansView, SalesAnalysis, StockAnalysis};
use domain::replenishment::RetailerSettingsView;
use e2e::{caller, demo_end, on_both_databases, spawn_app, Caller, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_databases!(
    stock_saved_at_once_by_one_managers_retailers_is_all_counted,
    each_level_gets_its_own_figures_equal_to_the_lines,
    the_summaries_follow_orders_stock_and_handovers,
    plans_are_the_centers_and_checked_cell_by_cell,
    the_tables_download_as_a_workbook_and_bad_queries_are_refused,
);

/// Cartons ordered in `months` by the retailers matching `scope` (SQL on
/// `retailers r`), straight from the order lines.
async fn ordered(app: &TestApp, scope: &str, months: &[String]) -> i64 {
    let list = months
        .iter()
        .map(|m| format!("'{m}'"))
        .collect::<Vec<_>>()
        .join(",");
    sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(SUM(m.cartons), 0) AS BIGINT) FROM monthly_orders m \
         JOIN retailers r ON r.id = m.retailer_id WHERE m.month IN ({list}) AND {scope}"
    ))
    .fetch_one(&app.db().pool)
    .await
    .expect("raw orders")
}

/// Cartons in stock at the retailers matching `scope`, from the settings.
async fn held(app: &TestApp, scope: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(SUM(s.stock), 0) AS BIGINT) FROM retailer_specs s \
         JOIN retailers r ON r.id = s.retailer_id WHERE {scope}"
    ))
    .fetch_one(&app.db().pool)
    .await
    .expect("raw stock")
}

fn period() -> Vec<String> {
    let end = demo_end();
    (0..3).map(|k| end.plus(-k).to_string()).collect()
}

fn last_year() -> Vec<String> {
    let end = demo_end();
    (0..3).map(|k| end.plus(-k - 12).to_string()).collect()
}

async fn user(app: &TestApp, login: &str) -> (i64, i64) {
    sqlx::query_as("SELECT id, org_unit_id FROM users WHERE login = $1")
        .bind(login)
        .fetch_one(&app.db().pool)
        .await
        .expect("user")
}

async fn sales(app: &TestApp, who: &Caller, query: &str) -> SalesAnalysis {
    who.get_json(
        app,
        &format!("/api/analysis/sales?end={}&months=3{query}", demo_end()),
    )
    .await
}

async fn each_level_gets_its_own_figures_equal_to_the_lines(backend: e2e::Backend) {
    let app = spawn_app(backend).await;
    let (cm, _) = user(&app, "cm01").await;
    let (_, department) = user(&app, "mm01").await;
    let (_, county) = user(&app, "county").await;
    let cases = [
        ("center", "1 = 1".to_string()),
        (
            "county",
            format!(
                "r.market_unit_id IN (SELECT id FROM org_units WHERE parent_id = {county} OR id = {county})"
            ),
        ),
        ("mm01", format!("r.market_unit_id = {department}")),
        ("cm01", format!("r.manager_id = {cm}")),
    ];
    let mut totals = Vec::new();
    for (login, scope) in &cases {
        let who = caller(&app, login).await;
        let report = sales(&app, &who, "").await;
        // The tiny demo's 13 months hold last year's first month of the
        // quarter only: no growth against it.
        assert!(!report.last_year_complete, "{login}");
        assert_eq!(report.first, Some(demo_end().plus(-12)));
        let month: SalesAnalysis = who
            .get_json(
                &app,
                &format!("/api/analysis/sales?end={}&months=1", demo_end()),
            )
            .await;
        assert!(
            month.last_year_complete,
            "{login}: one month has its last year"
        );
        let expected = ordered(&app, scope, &period()).await;
        assert!(expected > 0, "the demo has orders for {login}");
        assert_eq!(
            report.total.cartons, expected,
            "{login}: the period's total"
        );
        assert_eq!(
            report.total.last_year_cartons,
            ordered(&app, scope, &last_year()).await,
            "{login}: last year's period"
        );
        assert_eq!(
            report.specs.iter().map(|s| s.cartons).sum::<i64>(),
            expected,
            "{login}: specs add up"
        );
        assert_eq!(
            report.by_price_class.iter().map(|s| s.cartons).sum::<i64>(),
            expected,
            "{login}: price classes add up"
        );
        if *login != "cm01" {
            assert_eq!(
                report.by_unit.iter().map(|s| s.cartons).sum::<i64>(),
                expected,
                "{login}: departments or managers add up"
            );
        }
        let last = report.monthly.last().expect("months");
        assert_eq!(last.month, demo_end());
        assert_eq!(
            last.cartons,
            ordered(&app, scope, &[demo_end().to_string()]).await
        );
        let stock: StockAnalysis = who.get_json(&app, "/api/analysis/stock").await;
        assert_eq!(stock.stock, held(&app, scope).await, "{login}: stock");
        for spec in &stock.specs {
            assert_eq!(
                spec.above_norm,
                domain::analysis::above_norm(spec.stock, spec.sales, stock.norm)
            );
        }
        assert_eq!(
            stock.by_stock_size.iter().map(|b| b.retailers).sum::<i64>(),
            stock.retailers,
            "{login}: every retailer recording stock is in one bucket"
        );
        totals.push(report.total.cartons);
    }
    // Each level sees no more than the one above it (the tiny demo's one
    // county is the whole company), a department less than the company.
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
    assert!(totals[0] > totals[2] && totals[2] > totals[3], "{totals:?}");
    // A market manager sees their own managers only, by name.
    let mm = caller(&app, "mm01").await;
    let mine = sales(&app, &mm, "").await;
    let managers: Vec<String> = sqlx::query_scalar(
        "SELECT display_name FROM users WHERE org_unit_id = $1 AND role = 'customer_manager'",
    )
    .bind(department)
    .fetch_all(&app.db().pool)
    .await
    .unwrap();
    assert!(!mine.by_unit.is_empty());
    for row in &mine.by_unit {
        assert!(managers.contains(&row.label), "{} is not mm01's", row.label);
    }
    // Narrowing outside the reach is refused; inside it answers.
    let (other_cm, _) = user(&app, "cm06").await;
    let outside = mm
        .get(&app, &format!("/api/analysis/sales?manager_id={other_cm}"))
        .await;
    assert_eq!(outside.status(), 403);
    let (own_cm, _) = user(&app, "cm02").await;
    let inside: SalesAnalysis = mm
        .get_json(
            &app,
            &format!(
                "/api/analysis/sales?end={}&months=3&manager_id={own_cm}",
                demo_end()
            ),
        )
        .await;
    assert_eq!(
        inside.total.cartons,
        ordered(&app, &format!("r.manager_id = {own_cm}"), &period()).await
    );
    let cm01 = caller(&app, "cm01").await;
    let not_mine = cm01
        .get(&app, &format!("/api/analysis/stock?manager_id={own_cm}"))
        .await;
    assert_eq!(not_mine.status(), 403);
    let retailer = caller(&app, &app.retailer_login(0).await).await;
    assert_eq!(
        retailer.get(&app, "/api/analysis/sales").await.status(),
        403
    );
}

async fn the_summaries_follow_orders_stock_and_handovers(backend: e2e::Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let (cm, _) = user(&app, "cm01").await;
    let scope = format!("r.manager_id = {cm}");

    // A retailer's saved stock.
    let retailer: i64 = sqlx::query_scalar(
        "SELECT r.id FROM retailers r JOIN retailer_specs s ON s.retailer_id = r.id \
         WHERE r.manager_id = $1 ORDER BY r.id LIMIT 1",
    )
    .bind(cm)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    let manager = caller(&app, "cm01").await;
    let view: RetailerSettingsView = manager
        .get_json(&app, &format!("/api/replenishment/retailers/{retailer}"))
        .await;
    let settings: Vec<serde_json::Value> = view
        .settings
        .iter()
        .map(|s| {
            json!({ "spec_id": s.spec_id, "stock": s.stock.get() + 7, "lower": s.lower.get(),
                    "upper": s.upper.get(), "weekly_turnover": s.weekly_turnover.get() })
        })
        .collect();
    let saved = manager
        .send(
            &app,
            Method::PUT,
            &format!("/api/replenishment/retailers/{retailer}/settings"),
            json!({ "version": view.version, "settings": settings }),
        )
        .await;
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    let stock: StockAnalysis = manager.get_json(&app, "/api/analysis/stock").await;
    assert_eq!(
        stock.stock,
        held(&app, &scope).await,
        "stock follows a save"
    );

    // A month's actual orders, loaded from a file.
    let month = demo_end();
    let (licence, code): (String, String) = sqlx::query_as(
        "SELECT r.licence_no, p.code FROM retailers r, specs p WHERE r.id = $1 ORDER BY p.id LIMIT 1",
    )
    .bind(retailer)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    let loaded = center
        .client
        .post(app.url(&format!("/api/forecast/actuals?month={month}")))
        .header("X-CSRF-Token", &center.csrf)
        .body(format!("licence,spec,cartons\n{licence},{code},4321\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(loaded.status(), 200, "{}", loaded.text().await.unwrap());
    let after = sales(&app, &center, "").await;
    assert_eq!(after.monthly.last().unwrap().cartons, 4321);
    let mine = sales(&app, &manager, "").await;
    assert_eq!(mine.total.cartons, ordered(&app, &scope, &period()).await);

    // A handover moves the retailer's history and stock to the new manager.
    let (other, _) = user(&app, "cm02").await;
    let mm = caller(&app, "mm01").await;
    let moved = mm
        .send(
            &app,
            Method::POST,
            "/api/masterdata/retailers/reassign",
            json!({ "retailer_ids": [retailer], "manager_id": other }),
        )
        .await;
    assert_eq!(moved.status(), 200, "{}", moved.text().await.unwrap());
    for (login, id) in [("cm01", cm), ("cm02", other)] {
        let who = caller(&app, login).await;
        let scope = format!("r.manager_id = {id}");
        let report = sales(&app, &who, "").await;
        assert_eq!(
            report.total.cartons,
            ordered(&app, &scope, &period()).await,
            "{login}'s sales after the handover"
        );
        let stock: StockAnalysis = who.get_json(&app, "/api/analysis/stock").await;
        assert_eq!(stock.stock, held(&app, &scope).await, "{login}'s stock");
    }
    // The company's figures did not change with the handover.
    let company = sales(&app, &center, "").await;
    assert_eq!(company.total.cartons, after.total.cartons);
}

async fn plans_are_the_centers_and_checked_cell_by_cell(backend: e2e::Backend) {
    let app = spawn_app(backend).await;
    let center = caller(&app, "center").await;
    let year = demo_end().year();
    let view: PlansView = center
        .get_json(&app, &format!("/api/analysis/plans?year={year}"))
        .await;
    assert_eq!(view.units.len(), 3, "the tiny demo's market departments");
    let cells: Vec<serde_json::Value> = view
        .units
        .iter()
        .flat_map(|u| {
            (1..=12).map(move |m| json!({ "unit_id": u.unit_id, "month": m, "cartons": 1000 }))
        })
        .collect();
    // One bad cell: nothing is stored, and the cell is named.
    let mut bad = cells.clone();
    bad[5] = json!({ "unit_id": view.units[0].unit_id, "month": 13, "cartons": -4 });
    let refused = center
        .send(
            &app,
            Method::PUT,
            "/api/analysis/plans",
            json!({ "year": year, "plans": bad }),
        )
        .await;
    assert_eq!(refused.status(), 422);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["fields"]["plans.5.month"].is_array(), "{body}");
    assert!(body["fields"]["plans.5.cartons"].is_array(), "{body}");
    let still: PlansView = center
        .get_json(&app, &format!("/api/analysis/plans?year={year}"))
        .await;
    assert!(still.cells.is_empty(), "nothing stored from a bad update");
    // A market manager may read but not set.
    let mm = caller(&app, "mm01").await;
    let theirs: PlansView = mm
        .get_json(&app, &format!("/api/analysis/plans?year={year}"))
        .await;
    assert_eq!(theirs.units.len(), 1, "their own department only");
    assert_eq!(
        mm.send(
            &app,
            Method::PUT,
            "/api/analysis/plans",
            json!({ "year": year, "plans": cells.clone() })
        )
        .await
        .status(),
        403
    );
    // One department's plans alone: the company has no plan to compare with.
    let first_unit: Vec<serde_json::Value> = cells[..12].to_vec();
    let partial = center
        .send(
            &app,
            Method::PUT,
            "/api/analysis/plans",
            json!({ "year": year, "plans": first_unit }),
        )
        .await;
    assert_eq!(partial.status(), 200);
    let company = sales(&app, &center, "").await;
    assert_eq!(
        company.year_plan_cartons, None,
        "a partial plan is not the company's"
    );
    assert!(company.monthly.iter().all(|m| m.plan_cartons.is_none()));
    let stored = center
        .send(
            &app,
            Method::PUT,
            "/api/analysis/plans",
            json!({ "year": year, "plans": cells }),
        )
        .await;
    assert_eq!(stored.status(), 200);
    let report = sales(&app, &center, "").await;
    assert_eq!(report.year_plan_cartons, Some(36_000));
    assert_eq!(report.plan_cartons, Some(9_000));
    assert_eq!(report.monthly.last().unwrap().plan_cartons, Some(3_000));
    let theirs = sales(&app, &mm, "").await;
    assert_eq!(
        theirs.year_plan_cartons,
        Some(12_000),
        "one department's plan"
    );
    // Many saves at once (more than the pool's connections) all answer,
    // and the plans stored are one save's, whole.
    let saves = (0..40).map(|k| {
        let cells: Vec<serde_json::Value> = view
            .units
            .iter()
            .flat_map(|u| {
                (1..=12)
                    .map(move |m| json!({ "unit_id": u.unit_id, "month": m, "cartons": 2000 + k }))
            })
            .collect();
        let center = &center;
        let app = &app;
        async move {
            center
                .send(
                    app,
                    Method::PUT,
                    "/api/analysis/plans",
                    json!({ "year": year, "plans": cells }),
                )
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures::future::join_all(saves).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let distinct: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT cartons FROM sales_plans")
        .fetch_all(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(distinct.len(), 1, "one save's plans, whole: {distinct:?}");
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'analysis.plans.set'")
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(audited, 42, "every save is audited once");
}

async fn the_tables_download_as_a_workbook_and_bad_queries_are_refused(backend: e2e::Backend) {
    use calamine::Reader;
    let app = spawn_app(backend).await;
    let county = caller(&app, "county").await;
    for (path, sheet) in [
        ("/api/analysis/sales?format=xlsx&lang=zh-CN", "月度销量"),
        ("/api/analysis/stock?format=xlsx&lang=zh-CN", "品规库存"),
    ] {
        let response = county.get(&app, path).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".xlsx"));
        let bytes = response.bytes().await.unwrap();
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
        assert!(
            book.sheet_names().contains(&sheet.to_string()),
            "{:?}",
            book.sheet_names()
        );
        let range = book.worksheet_range(sheet).expect("sheet");
        assert!(range.height() > 1, "{sheet} has rows");
    }
    for bad in [
        "/api/analysis/sales?months=5",
        "/api/analysis/sales?end=2026-13",
        "/api/analysis/sales?end=2999-01",
        "/api/analysis/sales?format=pdf",
        "/api/analysis/plans?year=1800",
        "/api/analysis/sales?unit_id=1&manager_id=1",
    ] {
        let response = county.get(&app, bad).await;
        assert_eq!(response.status(), 422, "{bad}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["message"].is_string(),
            "{bad}: the project's error body"
        );
    }
    let nonsense = county.get(&app, "/api/analysis/sales?unit_id=abc").await;
    assert!(nonsense.status().is_client_error());
}

/// Every retailer of one manager saves its stock at the same moment: the
/// manager's summary rows are rebuilt by each save, and must end up
/// counting every one of them (on PostgreSQL the saves really overlap).
async fn stock_saved_at_once_by_one_managers_retailers_is_all_counted(backend: e2e::Backend) {
    let app = spawn_app(backend).await;
    let (cm, _) = user(&app, "cm01").await;
    let manager = caller(&app, "cm01").await;
    let retailers: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT r.id FROM retailers r JOIN retailer_specs s ON s.retailer_id = r.id \
         WHERE r.manager_id = $1 ORDER BY r.id",
    )
    .bind(cm)
    .fetch_all(&app.db().pool)
    .await
    .unwrap();
    assert!(retailers.len() >= 3, "{retailers:?}");
    // Several rounds: whether saves overlap is a matter of timing.
    for round in 1..=5 {
        let mut bodies = Vec::new();
        for &retailer in &retailers {
            let view: RetailerSettingsView = manager
                .get_json(&app, &format!("/api/replenishment/retailers/{retailer}"))
                .await;
            let settings: Vec<serde_json::Value> = view
                .settings
                .iter()
                .map(|s| {
                    json!({ "spec_id": s.spec_id, "stock": s.stock.get() + round, "lower": s.lower.get(),
                            "upper": s.upper.get(), "weekly_turnover": s.weekly_turnover.get() })
                })
                .collect();
            bodies.push((
                retailer,
                json!({ "version": view.version, "settings": settings }),
            ));
        }
        let saves = bodies.iter().map(|(retailer, body)| {
            let (manager, app) = (&manager, &app);
            async move {
                manager
                    .send(
                        app,
                        Method::PUT,
                        &format!("/api/replenishment/retailers/{retailer}/settings"),
                        body.clone(),
                    )
                    .await
                    .status()
                    .as_u16()
            }
        });
        let statuses = futures::future::join_all(saves).await;
        assert!(
            statuses.iter().all(|s| *s == 200),
            "round {round}: {statuses:?}"
        );
    }
    let scope = format!("r.manager_id = {cm}");
    let stock: StockAnalysis = manager.get_json(&app, "/api/analysis/stock").await;
    assert_eq!(
        stock.stock,
        held(&app, &scope).await,
        "every save is counted"
    );
    let holders: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(DISTINCT s.retailer_id) FROM retailer_specs s JOIN retailers r ON r.id = s.retailer_id WHERE {scope}"
    ))
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(stock.retailers, holders);
}
