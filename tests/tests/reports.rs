//! The reports of a cycle (progress, dashboard, accuracy) as each staff
//! level reads them: a market manager their department, a county department
//! its county, a customer manager their own sheet, the marketing center the
//! company; narrowing inside the reach narrows, outside it is refused.
//!
//! The tiny demo: 城关 (mm01: cm01, cm02), 钟山 (mm02: cm03, cm04) and 重新
//! (mm03: cm05, cm06) under one county (`county`).

use std::collections::{BTreeMap, BTreeSet};

use domain::forecast::review::{AccuracySums, Compared};
use domain::forecast::view::{AccuracyLine, AccuracyReport, CycleProgress, Dashboard, ReviewView};
use domain::forecast::Scope;
use domain::masterdata::{ImportJob, ImportState};
use domain::month::YearMonth;
use e2e::forecast::{approve_by, move_cycle, open_cycle, submit_every_cell};
use e2e::{caller, on_both_databases, spawn_app, Backend, Caller, TestApp};
use reqwest::Method;
use serde_json::json;

on_both_databases!(
    each_level_reads_the_dashboard_and_progress_of_its_own_subtree,
    accuracy_ranks_managers_company_wide_and_each_reader_sees_only_their_own,
    narrowing_inside_the_reach_narrows_and_outside_it_is_refused,
    the_accuracy_report_follows_approval_orders_and_reopening,
    an_orders_upload_beside_final_approvals_keeps_accuracy_equal_to_the_lines,
);

/// A person of the demo: id, display name and unit.
struct Person {
    id: i64,
    name: String,
    unit: i64,
}

async fn person(app: &TestApp, login: &str) -> Person {
    let (id, name, unit): (i64, String, i64) =
        sqlx::query_as("SELECT id, display_name, org_unit_id FROM users WHERE login = $1")
            .bind(login)
            .fetch_one(&app.db().pool)
            .await
            .unwrap_or_else(|e| panic!("{login}: {e}"));
    Person { id, name, unit }
}

async fn people(app: &TestApp, logins: &[&str]) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for login in logins {
        out.insert(person(app, login).await.id);
    }
    out
}

async fn unit_name(app: &TestApp, unit: i64) -> String {
    sqlx::query_scalar("SELECT name FROM org_units WHERE id = $1")
        .bind(unit)
        .fetch_one(&app.db().pool)
        .await
        .expect("unit name")
}

/// 重新市场部 (mm03's) moves under a second county, so the county
/// department's reach is not the whole company.
async fn second_county(app: &TestApp) {
    let pool = &app.db().pool;
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
    let moved = person(app, "mm03").await.unit;
    sqlx::query("UPDATE org_units SET parent_id = $1 WHERE id = $2")
        .bind(next)
        .bind(moved)
        .execute(pool)
        .await
        .expect("move the department");
}

async fn report<T: serde::de::DeserializeOwned>(
    who: &Caller,
    app: &TestApp,
    cycle: i64,
    report: &str,
    query: &str,
) -> (T, String) {
    let path = format!("/api/forecast/cycles/{cycle}/{report}{query}");
    let response = who.get(app, &path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    let body = response.text().await.expect("body");
    (
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}")),
        body,
    )
}

async fn status(who: &Caller, app: &TestApp, path: &str) -> u16 {
    who.get(app, path).await.status().as_u16()
}

fn ids<'a>(rows: impl IntoIterator<Item = &'a i64>) -> BTreeSet<i64> {
    rows.into_iter().copied().collect()
}

async fn each_level_reads_the_dashboard_and_progress_of_its_own_subtree(backend: Backend) {
    let app = spawn_app(backend).await;
    second_county(&app).await;
    let cycle = open_cycle(&app, Scope::All, 2).await;
    let mut cells = std::collections::HashMap::new();
    for login in ["cm01", "cm03", "cm05"] {
        let view = submit_every_cell(&app, cycle.id, login, 10).await;
        cells.insert(login, view.value.len() as i64);
    }
    let (cm01, cm03, cm05) = (
        person(&app, "cm01").await,
        person(&app, "cm03").await,
        person(&app, "cm05").await,
    );

    // The market manager: their department's two managers, nothing else.
    let mm01 = caller(&app, "mm01").await;
    let (d, body): (Dashboard, String) = report(&mm01, &app, cycle.id, "dashboard", "").await;
    let city = people(&app, &["cm01", "cm02"]).await;
    assert_eq!(d.scope_label, unit_name(&app, cm01.unit).await);
    assert_eq!(ids(d.progress.iter().map(|p| &p.manager_id)), city);
    assert_eq!(ids(d.by_manager.iter().map(|r| &r.id)), city);
    assert_eq!(
        d.by_department.iter().map(|r| r.id).collect::<Vec<_>>(),
        [cm01.unit]
    );
    assert_eq!(d.total.lines, cells["cm01"], "only cm01's submitted lines");
    assert_eq!(
        d.by_tier.iter().map(|r| r.lines).sum::<i64>(),
        d.total.lines,
        "classes of the department's lines"
    );
    assert!(!d.deviations.is_empty());
    assert!(d.deviations.iter().all(|l| l.manager_name == cm01.name));
    for other in [&cm03, &cm05] {
        assert!(!body.contains(&other.name), "{} leaks", other.name);
    }
    let center = caller(&app, "center").await;
    let (whole, _): (Dashboard, String) = report(&center, &app, cycle.id, "dashboard", "").await;
    assert_eq!(whole.scope_label, "全公司");
    assert_eq!(whole.progress.len(), 6, "every manager's sheet");
    assert_eq!(
        whole.total.lines,
        cells["cm01"] + cells["cm03"] + cells["cm05"]
    );
    // The department's orders over the year: part of the company's.
    let sum = |d: &Dashboard| d.trend.iter().map(|t| t.cartons).sum::<i64>();
    assert!(
        sum(&d) > 0 && sum(&d) < sum(&whole),
        "{} of {}",
        sum(&d),
        sum(&whole)
    );
    let (p, _): (CycleProgress, String) = report(&mm01, &app, cycle.id, "progress", "").await;
    assert_eq!(ids(p.sheets.iter().map(|s| &s.manager_id)), city);

    // The county department: its county's two departments, not the one
    // moved under the other county.
    let county = caller(&app, "county").await;
    let (d, body): (Dashboard, String) = report(&county, &app, cycle.id, "dashboard", "").await;
    assert_eq!(d.scope_label, "县级营销部");
    assert_eq!(
        ids(d.by_manager.iter().map(|r| &r.id)),
        people(&app, &["cm01", "cm02", "cm03", "cm04"]).await
    );
    assert_eq!(d.by_department.len(), 2);
    assert_eq!(d.total.lines, cells["cm01"] + cells["cm03"]);
    assert!(!body.contains(&cm05.name), "the other county leaks");

    // The customer manager: their own sheet.
    let cm = caller(&app, "cm01").await;
    let (d, body): (Dashboard, String) = report(&cm, &app, cycle.id, "dashboard", "").await;
    assert_eq!(d.scope_label, format!("{}（客户经理）", cm01.name));
    assert_eq!(
        d.progress.iter().map(|p| p.manager_id).collect::<Vec<_>>(),
        [cm01.id]
    );
    assert_eq!(
        d.by_manager.iter().map(|r| r.id).collect::<Vec<_>>(),
        [cm01.id]
    );
    assert_eq!(d.total.lines, cells["cm01"]);
    let cm02 = person(&app, "cm02").await;
    for other in [&cm02, &cm03, &cm05] {
        assert!(!body.contains(&other.name), "{} leaks", other.name);
    }
    let (p, _): (CycleProgress, String) = report(&cm, &app, cycle.id, "progress", "").await;
    assert_eq!(p.sheets.len(), 1);
    assert_eq!(p.sheets[0].manager_id, cm01.id);
}

/// cm01 (城关) and cm03 (钟山) forecast 10 cartons of both specs for each
/// retailer; the chain approves both; the month ends and its orders are
/// 8 and 12 for cm01's retailers (accuracy 80%), 10 and 10 for cm03's
/// (100%). Returns the cycle.
async fn measured_cycle(app: &TestApp) -> i64 {
    let cycle = open_cycle(app, Scope::All, 2).await;
    let first = submit_every_cell(app, cycle.id, "cm01", 10).await;
    let second = submit_every_cell(app, cycle.id, "cm03", 10).await;
    approve_by(app, first.sheet_id, &["mm01", "county", "center"]).await;
    approve_by(app, second.sheet_id, &["mm02", "county", "center"]).await;
    let month = e2e::demo_end();
    move_cycle(app, cycle.id, month).await;
    let (a, b) = (&first.specs[0].code, &first.specs[1].code);
    let mut csv = String::from("licence_no,spec_code,cartons\n");
    for row in &first.rows {
        csv += &format!("{0},{a},8\n{0},{b},12\n", row.licence_no);
    }
    for row in &second.rows {
        csv += &format!("{0},{a},10\n{0},{b},10\n", row.licence_no);
    }
    let center = caller(app, "center").await;
    load_actuals(app, &center, month, csv).await;
    cycle.id
}

async fn accuracy_ranks_managers_company_wide_and_each_reader_sees_only_their_own(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let cycle = measured_cycle(&app).await;
    let (cm01, cm03) = (person(&app, "cm01").await, person(&app, "cm03").await);
    let near = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);

    // The center: both managers ranked, cm03 first.
    let center = caller(&app, "center").await;
    let (r, _): (AccuracyReport, String) = report(&center, &app, cycle, "accuracy", "").await;
    assert_eq!(r.scope_label, "全公司");
    assert_eq!(r.ranked, 2);
    let ranking: Vec<(i64, Option<i64>)> = r.by_manager.iter().map(|m| (m.id, m.rank)).collect();
    assert_eq!(ranking, [(cm03.id, Some(1)), (cm01.id, Some(2))]);
    assert!(r.by_spec.iter().all(|s| s.rank.is_none()));

    // The customer manager: their own row with their company-wide rank, no
    // peer's name anywhere.
    let cm = caller(&app, "cm01").await;
    let (r, body): (AccuracyReport, String) = report(&cm, &app, cycle, "accuracy", "").await;
    assert_eq!(r.scope_label, format!("{}（客户经理）", cm01.name));
    assert_eq!(r.ranked, 2, "ranked among every manager");
    let ranking: Vec<(i64, Option<i64>)> = r.by_manager.iter().map(|m| (m.id, m.rank)).collect();
    assert_eq!(ranking, [(cm01.id, Some(2))]);
    assert!(
        near(r.total.accuracy(Compared::Approved), 0.8),
        "{:?}",
        r.total
    );
    assert_eq!(r.trend.len(), 1);
    assert!(near(r.trend[0].sums.accuracy(Compared::Approved), 0.8));
    assert!(r.lines.iter().all(|l| l.manager_name == cm01.name));
    let own: BTreeSet<String> =
        sqlx::query_scalar("SELECT licence_no FROM retailers WHERE manager_id = $1")
            .bind(cm01.id)
            .fetch_all(&app.db().pool)
            .await
            .expect("licences")
            .into_iter()
            .collect();
    assert!(r.lines.iter().all(|l| own.contains(&l.licence_no)));
    assert!(!body.contains(&cm03.name), "a peer's name leaks");

    // The market manager of 钟山: cm03 alone, first in the company.
    let mm02 = caller(&app, "mm02").await;
    let (r, body): (AccuracyReport, String) = report(&mm02, &app, cycle, "accuracy", "").await;
    assert_eq!(r.scope_label, unit_name(&app, cm03.unit).await);
    let ranking: Vec<(i64, Option<i64>)> = r.by_manager.iter().map(|m| (m.id, m.rank)).collect();
    assert_eq!(ranking, [(cm03.id, Some(1))]);
    assert_eq!(
        r.by_department.iter().map(|d| d.id).collect::<Vec<_>>(),
        [cm03.unit]
    );
    assert!(near(r.total.accuracy(Compared::Approved), 1.0));
    assert!(!body.contains(&cm01.name));
    // A retailer of another department lists no lines.
    let foreign: i64 = sqlx::query_scalar("SELECT MIN(id) FROM retailers WHERE manager_id = $1")
        .bind(cm01.id)
        .fetch_one(&app.db().pool)
        .await
        .expect("a retailer");
    let (r, _): (AccuracyReport, String) = report(
        &mm02,
        &app,
        cycle,
        "accuracy",
        &format!("?retailer_id={foreign}"),
    )
    .await;
    assert!(r.lines.is_empty(), "{:?}", r.lines);
}

async fn narrowing_inside_the_reach_narrows_and_outside_it_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = measured_cycle(&app).await;
    let (cm01, cm02, cm03) = (
        person(&app, "cm01").await,
        person(&app, "cm02").await,
        person(&app, "cm03").await,
    );
    let (mm01, cm, center) = (
        caller(&app, "mm01").await,
        caller(&app, "cm01").await,
        caller(&app, "center").await,
    );
    for name in ["dashboard", "progress", "accuracy"] {
        let path = |query: String| format!("/api/forecast/cycles/{cycle}/{name}?{query}");
        // Outside: another department's manager or the department itself,
        // another manager's sheet.
        let cases = [
            (&mm01, format!("manager_id={}", cm03.id), 403),
            (&mm01, format!("unit_id={}", cm03.unit), 403),
            (&cm, format!("manager_id={}", cm02.id), 403),
            (&cm, format!("unit_id={}", cm01.unit), 403),
            // Inside.
            (&mm01, format!("manager_id={}", cm02.id), 200),
            (&mm01, format!("unit_id={}", cm01.unit), 200),
            (&cm, format!("manager_id={}", cm01.id), 200),
            // The center everywhere; no such manager is 404.
            (&center, format!("manager_id={}", cm03.id), 200),
            (&center, "manager_id=999999".to_string(), 404),
            (&center, "unit_id=999999".to_string(), 404),
        ];
        for (i, (who, query, expected)) in cases.iter().enumerate() {
            assert_eq!(
                status(who, &app, &path(query.clone())).await,
                *expected,
                "case {i}: {name}?{query}"
            );
        }
    }

    // The center narrowed to one manager: that manager only.
    let query = format!("?manager_id={}", cm03.id);
    let (d, body): (Dashboard, String) = report(&center, &app, cycle, "dashboard", &query).await;
    assert_eq!(d.scope_label, format!("{}（客户经理）", cm03.name));
    assert_eq!(
        d.progress.iter().map(|p| p.manager_id).collect::<Vec<_>>(),
        [cm03.id]
    );
    assert_eq!(
        d.by_manager.iter().map(|r| r.id).collect::<Vec<_>>(),
        [cm03.id]
    );
    assert!(!body.contains(&cm01.name));
    let (r, _): (AccuracyReport, String) = report(&center, &app, cycle, "accuracy", &query).await;
    let ranking: Vec<(i64, Option<i64>)> = r.by_manager.iter().map(|m| (m.id, m.rank)).collect();
    assert_eq!(ranking, [(cm03.id, Some(1))]);
    assert_eq!(r.ranked, 2);
    // To a department: its managers.
    let query = format!("?unit_id={}", cm03.unit);
    let (p, _): (CycleProgress, String) = report(&center, &app, cycle, "progress", &query).await;
    assert_eq!(
        ids(p.sheets.iter().map(|s| &s.manager_id)),
        people(&app, &["cm03", "cm04"]).await
    );
    // The market manager narrowed to one of theirs.
    let query = format!("?manager_id={}", cm02.id);
    let (d, _): (Dashboard, String) = report(&mm01, &app, cycle, "dashboard", &query).await;
    assert_eq!(
        d.by_manager.iter().map(|r| r.id).collect::<Vec<_>>(),
        [cm02.id]
    );
    assert_eq!(d.total.lines, 0, "cm02 submitted nothing");
    // A retailer's account has no report at all.
    let shop = caller(&app, &app.retailer_login(0).await).await;
    assert_eq!(
        status(
            &shop,
            &app,
            &format!("/api/forecast/cycles/{cycle}/dashboard")
        )
        .await,
        403
    );
}

/// The accuracy figures computed from the lines, with the queries the
/// report ran before it read the per-sheet summaries.
mod from_lines {
    use std::collections::BTreeMap;

    use domain::forecast::review::{relative_error, AccuracySums};
    use domain::forecast::view::{AccuracyLine, AccuracyPoint};
    use e2e::TestApp;
    use sqlx::any::AnyRow;
    use sqlx::Row;

    /// Approved lines `l` of sheets `s` of cycles `c`, with the orders `m`
    /// of the cycle's month.
    const APPROVED: &str = "FROM forecast_lines l JOIN forecast_sheets s ON s.id = l.sheet_id \
         JOIN forecast_cycles c ON c.id = s.cycle_id \
         JOIN retailers r ON r.id = l.retailer_id JOIN specs p ON p.id = l.spec_id \
         JOIN users u ON u.id = s.manager_id \
         LEFT JOIN monthly_orders m ON m.retailer_id = l.retailer_id \
         AND m.spec_id = l.spec_id AND m.month = c.month";
    const SUMS: &str = "COUNT(*), CAST(COALESCE(SUM(COALESCE(m.cartons, 0)), 0) AS BIGINT), \
         CAST(COALESCE(SUM(l.final_value), 0) AS BIGINT), \
         CAST(COALESCE(SUM(COALESCE(l.entered, 0)), 0) AS BIGINT), \
         CAST(COALESCE(SUM(COALESCE(l.baseline, 0)), 0) AS BIGINT), \
         CAST(COALESCE(SUM(ABS(l.final_value - COALESCE(m.cartons, 0))), 0) AS BIGINT), \
         CAST(COALESCE(SUM(ABS(COALESCE(l.entered, 0) - COALESCE(m.cartons, 0))), 0) AS BIGINT), \
         CAST(COALESCE(SUM(ABS(COALESCE(l.baseline, 0) - COALESCE(m.cartons, 0))), 0) AS BIGINT)";

    fn get<'r, T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>>(
        r: &'r AnyRow,
        at: usize,
    ) -> T {
        r.try_get(at).unwrap_or_else(|e| panic!("column {at}: {e}"))
    }

    fn sums(r: &AnyRow, at: usize) -> AccuracySums {
        AccuracySums {
            lines: get(r, at),
            actual: get(r, at + 1),
            approved: get(r, at + 2),
            entered: get(r, at + 3),
            baseline: get(r, at + 4),
            approved_error: get(r, at + 5),
            entered_error: get(r, at + 6),
            baseline_error: get(r, at + 7),
        }
    }

    /// What a reader whose sheets `s` satisfy `reach` sees.
    #[derive(Debug, Default)]
    pub struct Expected {
        pub total: AccuracySums,
        pub by_spec: BTreeMap<i64, AccuracySums>,
        pub by_manager: BTreeMap<i64, AccuracySums>,
        pub by_unit: BTreeMap<i64, AccuracySums>,
        pub retailers: Vec<(i64, String, AccuracySums)>,
        pub lines: Vec<AccuracyLine>,
        pub trend: Vec<AccuracyPoint>,
    }

    /// The figures of `cycle` within `reach`, the `listed` retailers with
    /// the largest error, and the 50 lines with the largest error (or
    /// `retailer`'s lines).
    pub async fn expected(
        app: &TestApp,
        cycle: i64,
        reach: &str,
        listed: i64,
        retailer: Option<i64>,
    ) -> Expected {
        let pool = &app.db().pool;
        let mut out = Expected::default();
        let rows = sqlx::query(&format!(
            "SELECT l.spec_id, s.manager_id, MIN(u.org_unit_id), {SUMS} {APPROVED} \
             WHERE s.cycle_id = $1 AND l.final_value IS NOT NULL AND {reach} \
             GROUP BY l.spec_id, s.manager_id"
        ))
        .bind(cycle)
        .fetch_all(pool)
        .await
        .expect("sums by spec and manager");
        for r in &rows {
            let s = sums(r, 3);
            out.total.merge(&s);
            out.by_spec.entry(get(r, 0)).or_default().merge(&s);
            out.by_manager.entry(get(r, 1)).or_default().merge(&s);
            out.by_unit.entry(get(r, 2)).or_default().merge(&s);
        }
        out.retailers = sqlx::query(&format!(
            "SELECT l.retailer_id, MIN(r.name), {SUMS} {APPROVED} \
             WHERE s.cycle_id = $1 AND l.final_value IS NOT NULL AND {reach} \
             GROUP BY l.retailer_id ORDER BY 8 DESC, l.retailer_id LIMIT $2"
        ))
        .bind(cycle)
        .bind(listed)
        .fetch_all(pool)
        .await
        .expect("retailers")
        .iter()
        .map(|r| (get(r, 0), get(r, 1), sums(r, 2)))
        .collect();
        out.lines = sqlx::query(&format!(
            "SELECT l.retailer_id, r.licence_no, r.name, u.display_name, l.spec_id, p.name, \
                    l.final_value, COALESCE(l.entered, 0), COALESCE(l.baseline, 0), COALESCE(m.cartons, 0) \
             {APPROVED} WHERE s.cycle_id = $1 AND l.final_value IS NOT NULL AND {reach} \
               AND ($2 = 0 OR l.retailer_id = $2) \
             ORDER BY ABS(l.final_value - COALESCE(m.cartons, 0)) DESC, l.retailer_id, l.spec_id LIMIT 50"
        ))
        .bind(cycle)
        .bind(retailer.unwrap_or(0))
        .fetch_all(pool)
        .await
        .expect("lines")
        .iter()
        .map(|r| AccuracyLine {
            retailer_id: get(r, 0),
            licence_no: get(r, 1),
            retailer_name: get(r, 2),
            manager_name: get(r, 3),
            spec_id: get(r, 4),
            spec_name: get(r, 5),
            approved: get(r, 6),
            entered: get(r, 7),
            baseline: get(r, 8),
            actual: get(r, 9),
            relative_error: relative_error(get(r, 6), get(r, 9)),
        })
        .collect();
        out.trend = sqlx::query(&format!(
            "SELECT c.id, c.month, {SUMS} {APPROVED} \
             WHERE c.month IN (SELECT month FROM monthly_spec_totals) \
               AND l.final_value IS NOT NULL AND {reach} \
             GROUP BY c.id, c.month ORDER BY c.month"
        ))
        .fetch_all(pool)
        .await
        .expect("trend")
        .iter()
        .map(|r| AccuracyPoint {
            cycle_id: get(r, 0),
            month: get::<String>(r, 1).parse().expect("month"),
            sums: sums(r, 2),
        })
        .collect();
        out
    }
}

/// A reader of the accuracy report, their reach as a condition on the
/// sheet `s`, and how many retailers their report lists.
struct Reader {
    login: &'static str,
    who: Caller,
    reach: String,
    listed: i64,
}

/// Lines with their relative error to 12 places (a JSON round trip may
/// move a float by its last bit).
fn comparable(lines: &[AccuracyLine]) -> Vec<AccuracyLine> {
    lines
        .iter()
        .map(|l| AccuracyLine {
            relative_error: l.relative_error.map(|e| (e * 1e12).round() / 1e12),
            ..l.clone()
        })
        .collect()
}

/// Each reader's report of `cycle` equals the figures computed from the
/// lines; so does the report of one `retailer`'s lines.
async fn accuracy_matches_the_lines(
    app: &TestApp,
    cycle: i64,
    readers: &[Reader],
    retailer: i64,
    step: &str,
) -> AccuracyReport {
    let mut company = None;
    for reader in readers {
        let login = reader.login;
        let (r, _): (AccuracyReport, String) =
            report(&reader.who, app, cycle, "accuracy", "").await;
        let e = from_lines::expected(app, cycle, &reader.reach, reader.listed, None).await;
        assert_eq!(r.total, e.total, "{step}, {login}: total");
        for row in &r.by_spec {
            let expected = e.by_spec.get(&row.id).copied().unwrap_or_default();
            assert_eq!(row.sums, expected, "{step}, {login}: spec {}", row.id);
        }
        assert!(
            e.by_spec
                .keys()
                .all(|s| r.by_spec.iter().any(|row| row.id == *s)),
            "{step}, {login}: every spec"
        );
        let managers: BTreeMap<i64, AccuracySums> =
            r.by_manager.iter().map(|m| (m.id, m.sums)).collect();
        assert_eq!(managers, e.by_manager, "{step}, {login}: managers");
        if reader.listed < 2_000 {
            let units: BTreeMap<i64, AccuracySums> =
                r.by_department.iter().map(|d| (d.id, d.sums)).collect();
            assert_eq!(units, e.by_unit, "{step}, {login}: departments");
        }
        let retailers: Vec<(i64, String, AccuracySums)> = r
            .retailers
            .iter()
            .map(|x| (x.id, x.label.clone(), x.sums))
            .collect();
        assert_eq!(retailers, e.retailers, "{step}, {login}: retailers");
        assert_eq!(
            comparable(&r.lines),
            comparable(&e.lines),
            "{step}, {login}: lines"
        );
        assert_eq!(r.trend, e.trend, "{step}, {login}: trend");

        let query = format!("?retailer_id={retailer}");
        let (one, _): (AccuracyReport, String) =
            report(&reader.who, app, cycle, "accuracy", &query).await;
        let e =
            from_lines::expected(app, cycle, &reader.reach, reader.listed, Some(retailer)).await;
        assert_eq!(
            comparable(&one.lines),
            comparable(&e.lines),
            "{step}, {login}: retailer {retailer}'s lines"
        );
        if company.is_none() {
            company = Some(r);
        }
    }
    company.expect("a reader")
}

/// Loads `csv` as the actual orders of `month` (the marketing center).
async fn load_actuals(app: &TestApp, center: &Caller, month: YearMonth, csv: String) {
    let response = center
        .client
        .post(app.url(&format!("/api/forecast/actuals?month={month}")))
        .header("X-CSRF-Token", &center.csrf)
        .body(csv)
        .send()
        .await
        .expect("actuals");
    assert_eq!(response.status(), 200, "the actual orders load");
}

/// Imports `csv` as order history through the master-data import.
async fn import_history(app: &TestApp, center: &Caller, csv: &str) {
    let upload = |path: String| {
        center
            .client
            .post(app.url(&path))
            .header("X-CSRF-Token", &center.csrf)
            .body(csv.as_bytes().to_vec())
            .send()
    };
    let wait = |id: i64| async move {
        for _ in 0..1200 {
            let job: ImportJob = center
                .get_json(app, &format!("/api/masterdata/imports/{id}"))
                .await;
            if !job.state.running() {
                return job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("import {id} did not finish");
    };
    let response = upload("/api/masterdata/imports?kind=history&name=history.csv".into())
        .await
        .expect("upload");
    assert_eq!(response.status(), 202);
    let job: ImportJob = response.json().await.expect("job");
    let job = wait(job.id).await;
    assert_eq!(job.state, ImportState::Checked, "{:?}", job.error);
    let response = upload(format!(
        "/api/masterdata/imports/{}/apply?only_good_rows=false",
        job.id
    ))
    .await
    .expect("apply");
    assert_eq!(response.status(), 202);
    let job = wait(job.id).await;
    assert_eq!(job.state, ImportState::Applied, "{:?}", job.error);
}

/// cm01 and cm03 forecast ten specs for each retailer (60 lines a sheet, so
/// the 50 worst lines leave some out), mm01 corrects three of cm01's; after
/// each change of the approved values or the month's orders, every level's
/// report equals the figures computed from the lines.
async fn the_accuracy_report_follows_approval_orders_and_reopening(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 10).await;
    let first = submit_every_cell(&app, cycle.id, "cm01", 10).await;
    let second = submit_every_cell(&app, cycle.id, "cm03", 7).await;
    let mm01 = caller(&app, "mm01").await;
    let review: ReviewView = mm01
        .get_json(
            &app,
            &format!("/api/forecast/sheets/{}/review", first.sheet_id),
        )
        .await;
    let corrections: Vec<serde_json::Value> = review.lines[..3]
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({ "retailer_id": l.retailer_id, "spec_id": l.spec_id, "value": 20 + i,
                    "reason": "走访确认", "base_revision": l.revision })
        })
        .collect();
    let corrected = mm01
        .send(
            &app,
            Method::PUT,
            &format!("/api/forecast/sheets/{}/corrections", first.sheet_id),
            json!({ "corrections": corrections }),
        )
        .await;
    assert_eq!(corrected.status(), 200, "mm01 corrects three lines");
    // The month has ended: its orders (the demo's so far) are the actuals.
    let month = e2e::demo_end();
    move_cycle(&app, cycle.id, month).await;

    let (cm01, cm03) = (person(&app, "cm01").await, person(&app, "cm03").await);
    let readers = [
        Reader {
            login: "center",
            who: caller(&app, "center").await,
            reach: "1 = 1".into(),
            listed: 50,
        },
        Reader {
            login: "mm01",
            who: caller(&app, "mm01").await,
            reach: format!(
                "s.manager_id IN (SELECT id FROM users WHERE org_unit_id = {})",
                cm01.unit
            ),
            listed: 50,
        },
        Reader {
            login: "cm01",
            who: caller(&app, "cm01").await,
            reach: format!("s.manager_id = {}", cm01.id),
            listed: 2_000,
        },
    ];
    let retailer = first.rows[1].retailer_id;
    let check =
        |step: &'static str| accuracy_matches_the_lines(&app, cycle.id, &readers, retailer, step);

    // (a) Final approval, one sheet and then the other.
    let r = check("nothing approved").await;
    assert_eq!(r.total.lines, 0);
    approve_by(&app, first.sheet_id, &["mm01", "county", "center"]).await;
    let r = check("cm01 approved").await;
    assert_eq!(r.total.lines, 60);
    approve_by(&app, second.sheet_id, &["mm02", "county", "center"]).await;
    let r = check("both approved").await;
    assert_eq!((r.total.lines, r.lines.len()), (120, 50));
    assert_eq!(r.by_manager.len(), 2);

    // (b) The month's actual orders are loaded; (c) replaced by others,
    // some lines without orders.
    let center = &readers[0].who;
    let csv = |formula: &dyn Fn(usize, usize) -> usize| {
        let mut csv = String::from("licence_no,spec_code,cartons\n");
        for (i, row) in first.rows.iter().chain(&second.rows).enumerate() {
            for (j, spec) in first.specs.iter().enumerate() {
                let cartons = formula(i, j);
                if cartons > 0 {
                    csv += &format!("{},{},{cartons}\n", row.licence_no, spec.code);
                }
            }
        }
        csv
    };
    load_actuals(&app, center, month, csv(&|i, j| (i * 7 + j * 3) % 13)).await;
    let loaded = check("orders loaded").await;
    load_actuals(&app, center, month, csv(&|i, j| (i * 5 + j * 11 + 4) % 17)).await;
    let replaced = check("orders replaced").await;
    assert_ne!(loaded.total.actual, replaced.total.actual);
    assert_ne!(loaded.lines, replaced.lines);

    // (d) A reopened sheet keeps its approved values.
    let reopened = center
        .send(
            &app,
            Method::POST,
            &format!("/api/forecast/cycles/{}/reopen", cycle.id),
            json!({ "manager_id": cm03.id, "until": "2099-12-31" }),
        )
        .await;
    assert_eq!(reopened.status(), 200, "the center reopens cm03's entry");
    let after = check("reopened").await;
    assert_eq!(
        (&after.total, &after.retailers, &after.lines),
        (&replaced.total, &replaced.retailers, &replaced.lines)
    );

    // (e) An imported history changes one of the month's quantities.
    let line = &replaced.lines[0];
    let code: String = sqlx::query_scalar("SELECT code FROM specs WHERE id = $1")
        .bind(line.spec_id)
        .fetch_one(&app.db().pool)
        .await
        .expect("spec code");
    import_history(
        &app,
        center,
        &format!(
            "许可证号,卷烟编码,月份,订货量\n{},{code},{month},{}\n",
            line.licence_no,
            line.approved + 40
        ),
    )
    .await;
    let imported = check("history imported").await;
    assert_ne!(imported.total.actual, replaced.total.actual);
}

/// A final approval arrives while the month's orders are being replaced
/// (the replacement's transaction is held open by the test for 300 ms,
/// four times over, four sheets and four different sets of orders). Each
/// rebuilds accuracy summaries from what the other writes: without a lock
/// between them PostgreSQL runs them side by side and the approved sheet
/// keeps the figures of the orders before the replacement. After all of
/// them the report still equals the figures computed from the lines.
async fn an_orders_upload_beside_final_approvals_keeps_accuracy_equal_to_the_lines(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 10).await;
    let mut sheets = Vec::new();
    for (login, reviewer) in [
        ("cm01", "mm01"),
        ("cm02", "mm01"),
        ("cm03", "mm02"),
        ("cm04", "mm02"),
    ] {
        let sheet = submit_every_cell(&app, cycle.id, login, 6).await;
        approve_by(&app, sheet.sheet_id, &[reviewer, "county"]).await;
        sheets.push(sheet);
    }
    let month = e2e::demo_end();
    move_cycle(&app, cycle.id, month).await;
    let center = caller(&app, "center").await;
    let orders = |round: usize| {
        let mut rows = Vec::new();
        for (i, row) in sheets.iter().flat_map(|s| &s.rows).enumerate() {
            for (j, spec) in sheets[0].specs.iter().enumerate() {
                let cartons = ((i * 7 + j * 3 + round * 5) % 13) as i64;
                if cartons > 0 {
                    rows.push((row.retailer_id, spec.spec_id, cartons));
                }
            }
        }
        rows
    };
    for (round, sheet) in sheets.iter().enumerate() {
        let db = app.db();
        let mut conn = db.pool.acquire().await.expect("a connection");
        let mut tx = db.begin(&mut conn).await.expect("begin");
        server::store::summary::replace_actuals(&mut tx, month, &orders(round))
            .await
            .expect("the orders replaced");
        let path = format!("/api/forecast/sheets/{}/approve", sheet.sheet_id);
        let approve = center.send(&app, Method::POST, &path, json!({}));
        let commit_later = async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            tx.commit().await.expect("commit");
        };
        let (approved, ()) = tokio::join!(approve, commit_later);
        assert_eq!(approved.status(), 200, "round {round}: the center approves");
    }
    let readers = [Reader {
        login: "center",
        who: center,
        reach: "1 = 1".into(),
        listed: 50,
    }];
    let r = accuracy_matches_the_lines(
        &app,
        cycle.id,
        &readers,
        sheets[0].rows[0].retailer_id,
        "after the races",
    )
    .await;
    assert_eq!(
        r.total.lines,
        sheets.iter().map(|s| s.value.len() as i64).sum::<i64>()
    );
}
