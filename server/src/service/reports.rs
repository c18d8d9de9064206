//! The reports of a forecast cycle (progress, dashboard, accuracy), each
//! over the part of the company its reader reaches (`service::reach`): the
//! marketing center sees everything, a county department its county, a
//! market manager their department, a customer manager their own sheet.
//! Nothing outside the reach is read into a report, except the company-wide
//! accuracy ranking, of which only the ranks of the managers inside appear.

use std::collections::{BTreeMap, HashMap, HashSet};

use domain::forecast::review::{self, AccuracySums, Compared};
use domain::forecast::view::{
    AccuracyPoint, AccuracyReport, AccuracyRow, CycleProgress, CycleView, Dashboard, SheetProgress,
    TotalRow,
};
use domain::policy::op;
use domain::quantity::CaseSize;
use domain::Lang;

use crate::clock::today;
use crate::error::{ApiError, ApiResult};
use crate::service::reach::{self, Narrow, Reach};
use crate::store::users::UserRow;
use crate::store::{analysis, forecast as forecast_store, org, settings, summary};
use crate::AppState;

/// Lines listed as the largest deviations.
const DEVIATIONS: i64 = 20;
/// Retailers and lines listed when no manager or retailer is chosen.
const WORST: i64 = 50;
/// A single manager's retailers are listed in full (a few hundred at most).
const ONE_MANAGER: i64 = 2_000;
// The accuracy summaries keep as many retailers and lines per sheet as the
// report lists.
const _: () = assert!(
    WORST <= summary::ACCURACY_LINES_KEPT
        && WORST <= summary::ACCURACY_RETAILERS_KEPT
        && ONE_MANAGER <= summary::ACCURACY_RETAILERS_KEPT
);
const CASE_SIZE_KEY: &str = "case_size";

async fn cycle_of(state: &AppState, id: i64, lang: Lang) -> ApiResult<CycleView> {
    forecast_store::cycle(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(lang))
}

/// Every sheet of a cycle with its stage in the review chain and lateness,
/// over the whole company.
pub async fn sheet_progress(
    state: &AppState,
    cycle: &CycleView,
    lang: Lang,
) -> ApiResult<Vec<SheetProgress>> {
    let pool = &state.db.pool;
    let mut sheets = forecast_store::progress(pool, cycle.id, cycle.specs.len() as i64).await?;
    let units = org::units(pool).await?;
    let today = today();
    for p in &mut sheets {
        let chain = review::chain(&units, p.unit_id);
        p.stage = review::stage_label(p.status, p.level, &chain, lang);
        let entry_deadline = p
            .reopened_until
            .map_or(cycle.submit_deadline, |d| d.max(cycle.submit_deadline));
        p.late = review::is_late(p.status, today, entry_deadline, cycle.review_deadline);
    }
    Ok(sheets)
}

/// The sheets of a cycle inside `reach`.
async fn progress_within(
    state: &AppState,
    cycle: &CycleView,
    reach: &Reach,
    lang: Lang,
) -> ApiResult<Vec<SheetProgress>> {
    let mut sheets = sheet_progress(state, cycle, lang).await?;
    sheets.retain(|p| reach.covers(p.unit_id, p.manager_id));
    Ok(sheets)
}

/// Whose part of the company a report covers, for its header.
async fn scope_label(
    state: &AppState,
    user: &UserRow,
    narrow: Narrow,
    reach: &Reach,
    lang: Lang,
) -> ApiResult<String> {
    let pool = &state.db.pool;
    Ok(match reach {
        Reach::Everything => lang.pick("全公司", "Whole company").to_string(),
        Reach::Manager { id, .. } => {
            let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await?;
            match lang {
                Lang::Zh => format!("{name}（客户经理）"),
                Lang::En => format!("{name} (customer manager)"),
            }
        }
        Reach::Units(_) => org::unit_name(pool, narrow.unit_id.unwrap_or(user.org_unit_id)).await?,
    })
}

/// Each sheet of a cycle and how far it is, within the reader's reach.
pub async fn progress(
    state: &AppState,
    user: &UserRow,
    cycle_id: i64,
    narrow: Narrow,
    lang: Lang,
) -> ApiResult<CycleProgress> {
    let reach = reach::narrowed(&state.db.pool, user, op::PROGRESS, narrow, lang).await?;
    let cycle = cycle_of(state, cycle_id, lang).await?;
    let sheets = progress_within(state, &cycle, &reach, lang).await?;
    Ok(CycleProgress { cycle, sheets })
}

/// Rolls rows keyed by (sheet, spec) up to specs, managers and departments.
struct RollUp<T> {
    total: T,
    by_spec: BTreeMap<i64, T>,
    by_sheet: BTreeMap<i64, T>,
    by_unit: BTreeMap<i64, T>,
}

fn roll_up<T: Default + Clone>(
    rows: &[(i64, i64, T)],
    sheets: &HashMap<i64, &SheetProgress>,
    add: impl Fn(&mut T, &T),
) -> RollUp<T> {
    let mut out = RollUp {
        total: T::default(),
        by_spec: BTreeMap::new(),
        by_sheet: BTreeMap::new(),
        by_unit: BTreeMap::new(),
    };
    for (sheet, spec, row) in rows {
        // Rows of sheets outside the report's sheets are not counted.
        let Some(p) = sheets.get(sheet) else {
            continue;
        };
        add(&mut out.total, row);
        add(out.by_spec.entry(*spec).or_default(), row);
        add(out.by_sheet.entry(*sheet).or_default(), row);
        add(out.by_unit.entry(p.unit_id).or_default(), row);
    }
    out
}

/// The departments of `sheets`, by id.
fn departments(sheets: &[SheetProgress]) -> Vec<(i64, String)> {
    let mut units: Vec<(i64, String)> = sheets
        .iter()
        .map(|p| (p.unit_id, p.unit_name.clone()))
        .collect();
    units.sort();
    units.dedup();
    units
}

/// Progress, totals by spec, department, manager and class against last
/// month, last year and the baseline, the largest deviations and the trend
/// of the last 12 months, within the reader's reach.
pub async fn dashboard(
    state: &AppState,
    user: &UserRow,
    cycle_id: i64,
    narrow: Narrow,
    lang: Lang,
) -> ApiResult<Dashboard> {
    let _turn = reach::report_turn(state, lang).await?;
    let pool = &state.db.pool;
    let reach = reach::narrowed(pool, user, op::DASHBOARD, narrow, lang).await?;
    let cycle = cycle_of(state, cycle_id, lang).await?;
    let progress = progress_within(state, &cycle, &reach, lang).await?;
    let sheets: HashMap<i64, &SheetProgress> = progress.iter().map(|p| (p.sheet_id, p)).collect();
    let rows = summary::totals_by_sheet_spec(pool, cycle_id, &reach).await?;
    let rolled = roll_up(&rows, &sheets, TotalRow::add);
    let by_spec = cycle
        .specs
        .iter()
        .map(|s| TotalRow {
            id: s.spec_id,
            label: s.name.clone(),
            ..rolled.by_spec.get(&s.spec_id).cloned().unwrap_or_default()
        })
        .collect();
    let by_manager = progress
        .iter()
        .map(|p| TotalRow {
            id: p.manager_id,
            label: p.manager_name.clone(),
            ..rolled
                .by_sheet
                .get(&p.sheet_id)
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let by_department = departments(if reach.manager().is_some() {
        &[]
    } else {
        &progress[..]
    })
    .into_iter()
    .map(|(unit, name)| TotalRow {
        id: unit,
        label: name,
        ..rolled.by_unit.get(&unit).cloned().unwrap_or_default()
    })
    .collect();
    let last_month_of = forecast_store::last_history_month(pool, cycle.month)
        .await?
        .unwrap_or(cycle.month.plus(-1));
    let (from, to) = (last_month_of.plus(-11), last_month_of);
    // A subtree's orders come from the analysis summaries (per month ×
    // unit × manager × spec); the company's from the smaller per-spec ones.
    let trend = if reach.is_everything() {
        summary::trend(pool, cycle_id, from, to).await?
    } else {
        analysis::trend(pool, &reach, cycle_id, from, to).await?
    };
    Ok(Dashboard {
        scope_label: scope_label(state, user, narrow, &reach, lang).await?,
        today: today(),
        case_size: settings::get::<CaseSize>(pool, CASE_SIZE_KEY).await?,
        last_month_of,
        total: rolled.total,
        by_spec,
        by_department,
        by_manager,
        by_tier: summary::totals_by_class(pool, cycle_id, &reach).await?,
        trend,
        deviations: summary::deviations(pool, cycle_id, &reach, DEVIATIONS).await?,
        progress,
        cycle,
    })
}

/// Every manager's accuracy row, most accurate first, each with its rank
/// (1 = most accurate; equal accuracy, equal rank: 1, 2, 2, 4). Managers
/// without orders to compare come last, unranked. Returns how many are
/// ranked.
fn rank(rows: &mut [AccuracyRow]) -> i64 {
    let key = |r: &AccuracyRow| r.sums.accuracy(Compared::Approved);
    rows.sort_by(|a, b| {
        let (a, b) = (key(a).unwrap_or(-1.0), key(b).unwrap_or(-1.0));
        b.total_cmp(&a)
    });
    let mut ranked = 0;
    let mut previous: Option<(f64, i64)> = None;
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = key(row).map(|accuracy| {
            ranked += 1;
            let place = match previous {
                Some((p, place)) if p == accuracy => place,
                _ => i as i64 + 1,
            };
            previous = Some((accuracy, place));
            place
        });
    }
    ranked
}

/// Forecast accuracy of a cycle's approved lines against the actual orders
/// of its month, within the reader's reach; `retailer` lists that retailer's
/// lines (if it is inside). Read from the sheets' accuracy summaries
/// (`summary::refresh_accuracy`), a few rows per sheet, not from the lines.
pub async fn accuracy(
    state: &AppState,
    user: &UserRow,
    cycle_id: i64,
    narrow: Narrow,
    retailer: Option<i64>,
    lang: Lang,
) -> ApiResult<AccuracyReport> {
    let _turn = reach::report_turn(state, lang).await?;
    let pool = &state.db.pool;
    let reach = reach::narrowed(pool, user, op::ACCURACY, narrow, lang).await?;
    let cycle = cycle_of(state, cycle_id, lang).await?;
    let month = cycle.month;
    let everyone = sheet_progress(state, &cycle, lang).await?;
    let all_sheets: HashMap<i64, &SheetProgress> =
        everyone.iter().map(|p| (p.sheet_id, p)).collect();
    let rows = summary::accuracy_by_sheet_spec(pool, cycle_id).await?;
    // The ranking is the company's: every manager's place, whoever reads.
    let company = roll_up(&rows, &all_sheets, AccuracySums::merge);
    let mut ranking: Vec<AccuracyRow> = everyone
        .iter()
        .filter_map(|p| {
            company.by_sheet.get(&p.sheet_id).map(|s| AccuracyRow {
                id: p.manager_id,
                label: p.manager_name.clone(),
                sums: *s,
                rank: None,
            })
        })
        .collect();
    let ranked = rank(&mut ranking);

    let inside: Vec<SheetProgress> = everyone
        .iter()
        .filter(|p| reach.covers(p.unit_id, p.manager_id))
        .cloned()
        .collect();
    let sheets: HashMap<i64, &SheetProgress> = inside.iter().map(|p| (p.sheet_id, p)).collect();
    let managers: HashSet<i64> = inside.iter().map(|p| p.manager_id).collect();
    let rolled = roll_up(&rows, &sheets, AccuracySums::merge);
    let row = |id: i64, label: &str, sums: &AccuracySums| AccuracyRow {
        id,
        label: label.to_string(),
        sums: *sums,
        rank: None,
    };
    let by_spec = cycle
        .specs
        .iter()
        .map(|s| {
            row(
                s.spec_id,
                &s.name,
                &rolled.by_spec.get(&s.spec_id).copied().unwrap_or_default(),
            )
        })
        .collect();
    let by_manager = ranking
        .into_iter()
        .filter(|r| managers.contains(&r.id))
        .collect();
    // A customer manager's own figures are not their department's.
    let by_department = if reach.manager().is_some() {
        Vec::new()
    } else {
        departments(&inside)
            .iter()
            .filter_map(|(unit, name)| rolled.by_unit.get(unit).map(|s| row(*unit, name, s)))
            .collect()
    };
    let listed = if reach.manager().is_some() {
        ONE_MANAGER
    } else {
        WORST
    };
    let retailers = summary::accuracy_by_retailer(pool, cycle_id, &reach, listed)
        .await?
        .into_iter()
        .map(|(id, name, sums)| row(id, &name, &sums))
        .collect();
    let lines = summary::accuracy_lines(pool, cycle_id, month, &reach, retailer, WORST).await?;
    let trend = summary::accuracy_trend(pool, &reach)
        .await?
        .into_iter()
        .map(|(cycle_id, month, sums)| AccuracyPoint {
            cycle_id,
            month,
            sums,
        })
        .collect();
    Ok(AccuracyReport {
        scope_label: scope_label(state, user, narrow, &reach, lang).await?,
        ranked,
        has_actuals: summary::has_orders(pool, month).await?,
        total: rolled.total,
        by_spec,
        by_department,
        by_manager,
        retailers,
        lines,
        trend,
        cycle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(id: i64, actual: i64, error: i64) -> AccuracyRow {
        AccuracyRow {
            id,
            label: format!("m{id}"),
            sums: AccuracySums {
                lines: 1,
                actual,
                approved_error: error,
                ..AccuracySums::default()
            },
            rank: None,
        }
    }

    #[test]
    fn managers_are_ranked_most_accurate_first_with_ties_sharing_a_place() {
        // Accuracies 0.9, 0.5, 0.9, none (no orders), 0.7.
        let mut rows = vec![
            manager(1, 10, 1),
            manager(2, 10, 5),
            manager(3, 10, 1),
            manager(4, 0, 0),
            manager(5, 10, 3),
        ];
        let ranked = rank(&mut rows);
        let places: Vec<(i64, Option<i64>)> = rows.iter().map(|r| (r.id, r.rank)).collect();
        assert_eq!(ranked, 4, "the manager without orders is not ranked");
        assert_eq!(
            places,
            [
                (1, Some(1)),
                (3, Some(1)),
                (5, Some(3)),
                (2, Some(4)),
                (4, None)
            ]
        );
    }
}
