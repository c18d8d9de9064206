//! The demo's past: a year of closed forecast cycles, approved up the review
//! chain, whose accuracy shows against the demo's orders on first start.

use domain::forecast::review::Compared;
use domain::forecast::view::{AccuracyReport, CycleList, CycleStatus, Dashboard, SheetStatus};
use e2e::{caller, on_both_databases, spawn_app_with_history, Backend, HISTORY_CYCLES};

async fn the_demo_has_a_year_of_closed_cycles_whose_review_added_accuracy(backend: Backend) {
    let app = spawn_app_with_history(backend).await;
    let center = caller(&app, "center").await;

    let list: CycleList = center.get_json(&app, "/api/forecast/cycles").await;
    assert_eq!(list.cycles.len(), HISTORY_CYCLES, "a year of cycles");
    assert!(
        list.cycles.iter().all(|c| c.status == CycleStatus::Closed),
        "every past cycle is closed"
    );
    // Each cycle counts the retailers in its scope over every manager.
    for cycle in &list.cycles {
        let in_scope: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM forecast_cycle_retailers WHERE cycle_id = $1")
                .bind(cycle.id)
                .fetch_one(&app.db().pool)
                .await
                .expect("count");
        assert_eq!(cycle.retailers, in_scope, "cycle {}", cycle.month);
        let stored: Option<i64> =
            sqlx::query_scalar("SELECT retailers FROM forecast_cycles WHERE id = $1")
                .bind(cycle.id)
                .fetch_one(&app.db().pool)
                .await
                .expect("stored count");
        assert_eq!(stored, Some(in_scope), "kept with cycle {}", cycle.month);
    }
    let latest = &list.cycles[0];
    assert_eq!(
        latest.month,
        e2e::demo_end(),
        "the latest is the last month of orders"
    );
    assert_eq!(
        list.cycles[HISTORY_CYCLES - 1].month,
        e2e::demo_end().plus(1 - HISTORY_CYCLES as i64)
    );

    let report: AccuracyReport = center
        .get_json(
            &app,
            &format!("/api/forecast/cycles/{}/accuracy", latest.id),
        )
        .await;
    assert!(report.has_actuals, "the month's orders are the actuals");
    let total = report.total;
    assert!(total.actual > 0 && total.lines > 0, "{total:?}");
    let accuracy = |of| total.accuracy(of).unwrap_or(-1.0);
    let (approved, entered, baseline) = (
        accuracy(Compared::Approved),
        accuracy(Compared::Entered),
        accuracy(Compared::Baseline),
    );
    assert!(
        approved > entered && entered > baseline && baseline > 0.0,
        "the review chain adds to the managers, the managers to the baseline: \
         approved {approved:.3}, entered {entered:.3}, baseline {baseline:.3}"
    );
    assert_eq!(report.trend.len(), HISTORY_CYCLES, "one point a month");
    assert!(
        !report.by_manager.is_empty() && report.by_manager.iter().all(|m| m.sums.lines > 0),
        "every manager is ranked"
    );

    // The records behind it: each sheet approved by the three levels, and
    // the corrections of the lines whose approved value is not the manager's.
    let pool = &app.db().pool;
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .expect(sql)
    };
    let sheets = count("SELECT COUNT(*) FROM forecast_sheets WHERE status = 'approved'").await;
    assert_eq!(
        count("SELECT COUNT(*) FROM forecast_sheets").await,
        sheets,
        "every sheet is approved"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM forecast_reviews WHERE action = 'approve'").await,
        3 * sheets,
        "market manager, county, center"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM forecast_reviews WHERE action = 'submit'").await,
        sheets
    );
    let corrected = count(
        "SELECT COUNT(*) FROM forecast_lines WHERE current_value IS NOT NULL AND final_value <> entered",
    )
    .await;
    assert!(corrected > 0, "some lines were corrected");
    assert_eq!(
        count("SELECT COUNT(*) FROM forecast_corrections").await,
        corrected
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM forecast_lines WHERE final_value IS NULL OR baseline IS NULL OR entered IS NULL")
            .await,
        0,
        "every line has its figures"
    );
    // The per-sheet summaries agree with the lines.
    assert_eq!(
        count(
            "SELECT CAST(SUM(approved) AS BIGINT) FROM forecast_sheet_totals WHERE kind = 'spec'"
        )
        .await,
        count("SELECT CAST(SUM(final_value) AS BIGINT) FROM forecast_lines").await
    );

    let dashboard: Dashboard = center
        .get_json(
            &app,
            &format!("/api/forecast/cycles/{}/dashboard", latest.id),
        )
        .await;
    assert!(
        dashboard
            .progress
            .iter()
            .all(|p| p.status == SheetStatus::Approved && !p.late),
        "every sheet approved, none late"
    );
    assert_eq!(dashboard.total.approved, dashboard.total.forecast);

    // A customer manager reads their own approved sheet and accuracy.
    let cm = caller(&app, "cm01").await;
    let sheet: domain::forecast::view::SheetView = cm
        .get_json(&app, &format!("/api/forecast/cycles/{}/sheet", latest.id))
        .await;
    assert_eq!(sheet.status, SheetStatus::Approved);
    assert!(!sheet.editable);
    let own: AccuracyReport = cm
        .get_json(
            &app,
            &format!("/api/forecast/cycles/{}/accuracy", latest.id),
        )
        .await;
    assert!(own.total.actual > 0);
    // Nothing waits for review: the review inbox is empty.
    let inbox: domain::forecast::view::ReviewInbox =
        center.get_json(&app, "/api/forecast/reviews").await;
    assert!(inbox.sheets.is_empty());
}

async fn the_history_is_the_same_on_every_run(backend: Backend) {
    let a = spawn_app_with_history(backend).await;
    let b = spawn_app_with_history(backend).await;
    let digest = |app: &e2e::TestApp| {
        let pool = app.db().pool.clone();
        async move {
            sqlx::query_as::<_, (i64, i64, i64, i64)>(
                "SELECT COUNT(*), CAST(SUM(entered) AS BIGINT), CAST(SUM(final_value) AS BIGINT), \
                        CAST(SUM(baseline * (retailer_id % 7 + 1)) AS BIGINT) FROM forecast_lines",
            )
            .fetch_one(&pool)
            .await
            .expect("digest")
        }
    };
    assert_eq!(
        digest(&a).await,
        digest(&b).await,
        "deterministic from the seed"
    );
}

on_both_databases!(
    the_demo_has_a_year_of_closed_cycles_whose_review_added_accuracy,
    the_history_is_the_same_on_every_run,
);
