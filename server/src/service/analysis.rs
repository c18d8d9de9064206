//! The sales and stock analysis (经营分析) of the caller's reach, its xlsx
//! workbook, and the sales plans.

use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use domain::analysis::{
    bucket_label, check_plan_update, period_allowed, period_months, share, Breakdown, Bucket,
    MonthSales, PlanCell, PlanUnit, PlanUpdate, PlansView, PriceBand, SalesAnalysis, SalesRow,
    SpecStock, StockAnalysis, UnitStock, BREADTH_EDGES, CHART_MONTHS, CHART_WEEKS, DEFAULT_PERIOD,
    STOCK_SIZE_EDGES,
};
use domain::month::YearMonth;
use domain::org::UnitKind;
use domain::policy::op;
use domain::quantity::CaseSize;
use domain::{Lang, Role};
use serde::Deserialize;
use serde_json::json;
use sqlx::AnyPool;

use super::reach::{self, Narrow, Reach};
use crate::error::{ApiError, ApiResult};
use crate::store::analysis::{self as store, Group};
use crate::store::users::UserRow;
use crate::store::{audit, settings};
use crate::xlsx::{Cell, Table};
use crate::AppState;

const CASE_SIZE_KEY: &str = "case_size";

/// The period and form of an analysis.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AnalysisQuery {
    /// The period's last month, `YYYY-MM`; the latest month with orders
    /// by default.
    #[serde(default)]
    pub end: Option<String>,
    /// The period's length in months: 1, 3 (default), 6 or 12.
    #[serde(default)]
    pub months: Option<u32>,
    /// `xlsx` for the tables as a workbook; JSON otherwise.
    #[serde(default)]
    pub format: Option<String>,
    /// The workbook's language (`zh-CN` or `en`), for a link that cannot
    /// set `Accept-Language`.
    #[serde(default)]
    pub lang: Option<String>,
}

/// A spec's facts the analysis uses.
struct Spec {
    id: i64,
    code: String,
    brand: String,
    name: String,
    price_class: i64,
    wholesale_fen: i64,
}

async fn specs(pool: &AnyPool) -> ApiResult<Vec<Spec>> {
    Ok(store::specs(pool)
        .await?
        .into_iter()
        .map(|(id, code, brand, name, price_class, wholesale_fen)| Spec {
            id,
            code,
            brand,
            name,
            price_class,
            wholesale_fen,
        })
        .collect())
}

/// The organisation as an analysis needs it, read once per request: the
/// units and the customer managers' names.
struct Org {
    units: Vec<domain::org::OrgUnit>,
    managers: HashMap<i64, String>,
}

impl Org {
    async fn load(pool: &AnyPool) -> ApiResult<Org> {
        Ok(Org {
            units: crate::store::org::units(pool).await?,
            managers: store::manager_names(pool).await?,
        })
    }

    /// The name of a group's member (a unit or a manager).
    fn name(&self, group: Group, id: i64) -> String {
        match group {
            Group::Unit => self
                .units
                .iter()
                .find(|u| u.id == id)
                .map(|u| u.name.clone()),
            Group::Manager => self.managers.get(&id).cloned(),
        }
        .unwrap_or_default()
    }

    /// Whose figures: the whole company, a unit, a customer manager.
    fn scope_label(&self, reach: &Reach, lang: Lang) -> String {
        match reach {
            Reach::Everything => lang.pick("全公司", "Whole company").to_string(),
            Reach::Units(units) => self
                .units
                .iter()
                .filter(|u| units.contains(&u.id))
                .find(|u| !u.parent_id.is_some_and(|p| units.contains(&p)))
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            Reach::Manager { id, .. } => {
                let name = self.name(Group::Manager, *id);
                match lang {
                    Lang::Zh => format!("{name}（客户经理）"),
                    Lang::En => format!("{name} (customer manager)"),
                }
            }
        }
    }

    /// How a reach's table breaks down: by department when it spans
    /// several, by customer manager within one department, not at all for
    /// a manager.
    fn breakdown(&self, reach: &Reach) -> Option<Group> {
        match reach {
            Reach::Everything => Some(Group::Unit),
            Reach::Manager { .. } => None,
            Reach::Units(_) => Some(if self.plan_units(reach).len() > 1 {
                Group::Unit
            } else {
                Group::Manager
            }),
        }
    }

    /// The market departments of a reach, with their county.
    fn plan_units(&self, reach: &Reach) -> Vec<PlanUnit> {
        self.units
            .iter()
            .filter(|u| u.kind == UnitKind::MarketDepartment && reach.covers_unit(u.id))
            .map(|u| PlanUnit {
                unit_id: u.id,
                name: u.name.clone(),
                parent: u
                    .parent_id
                    .map(|p| self.name(Group::Unit, p))
                    .unwrap_or_default(),
            })
            .collect()
    }
}

fn kind_of(group: Group) -> Breakdown {
    match group {
        Group::Unit => Breakdown::Departments,
        Group::Manager => Breakdown::Managers,
    }
}

fn bad_query(lang: Lang, field: &str, zh: &'static str, en: &'static str) -> ApiError {
    ApiError::invalid_fields(
        lang.pick("查询条件有误", "Invalid query"),
        vec![(field.to_string(), lang.pick(zh, en).to_string())],
    )
}

/// The period asked for: (end, months).
fn period(
    query: &AnalysisQuery,
    latest: Option<YearMonth>,
    lang: Lang,
) -> ApiResult<(YearMonth, u32)> {
    let months = query.months.unwrap_or(DEFAULT_PERIOD);
    if !period_allowed(months) {
        return Err(bad_query(
            lang,
            "months",
            "期间为 1、3、6 或 12 个月",
            "The period is 1, 3, 6 or 12 months",
        ));
    }
    let this_month = YearMonth::of_date(crate::clock::today());
    let end = match &query.end {
        None => latest.unwrap_or(this_month.plus(-1)),
        Some(s) => match s.parse::<YearMonth>() {
            Ok(m) if m <= this_month && m.year() >= 2000 => m,
            Ok(_) => {
                return Err(bad_query(
                    lang,
                    "end",
                    "月份应在 2000 年以后且不晚于本月",
                    "The month must be from 2000 to this month",
                ))
            }
            Err(_) => {
                return Err(bad_query(
                    lang,
                    "end",
                    "月份格式为 YYYY-MM",
                    "Months are written YYYY-MM",
                ))
            }
        },
    };
    Ok((end, months))
}

/// The sales analysis of the caller's reach (narrowed as asked).
pub async fn sales(
    state: &AppState,
    user: &UserRow,
    narrow: Narrow,
    query: &AnalysisQuery,
    lang: Lang,
) -> ApiResult<SalesAnalysis> {
    let _turn = reach::report_turn(state, lang).await?;
    let pool = &state.db.pool;
    let reach = reach::narrowed(pool, user, op::ANALYSIS_SALES, narrow, lang).await?;
    let org = Org::load(pool).await?;
    let latest = store::latest_month(pool).await?;
    let (end, months) = period(query, latest, lang)?;
    let specs = specs(pool).await?;
    let by_id: HashMap<i64, &Spec> = specs.iter().map(|s| (s.id, s)).collect();
    let value = |spec: i64, cartons: i64| by_id.get(&spec).map_or(0, |s| s.wholesale_fen) * cartons;

    // 24 months: the chart's 12 and the 12 before them, which also hold
    // the year to date and last year's period.
    let from = end.plus(-(i64::from(CHART_MONTHS) + 11));
    let rows = store::sales_by_month_spec(pool, &reach, from, end).await?;
    let mut month_spec: HashMap<(YearMonth, i64), i64> = HashMap::new();
    for &(m, spec, cartons) in &rows {
        *month_spec.entry((m, spec)).or_default() += cartons;
    }
    let mut month_total: BTreeMap<YearMonth, (i64, i64)> = BTreeMap::new();
    for &(m, spec, cartons) in &rows {
        let t = month_total.entry(m).or_default();
        t.0 += cartons;
        t.1 += value(spec, cartons);
    }
    let in_period = period_months(end, months);

    // Per spec over the period and the same months a year before.
    let mut per_spec: BTreeMap<i64, SalesRow> = BTreeMap::new();
    for spec in &specs {
        let mut row = SalesRow {
            id: spec.id,
            label: spec.name.clone(),
            ..SalesRow::default()
        };
        for m in &in_period {
            let now = month_spec.get(&(*m, spec.id)).copied().unwrap_or(0);
            let before = month_spec
                .get(&(m.plus(-12), spec.id))
                .copied()
                .unwrap_or(0);
            row.cartons += now;
            row.value_fen += now * spec.wholesale_fen;
            row.last_year_cartons += before;
            row.last_year_value_fen += before * spec.wholesale_fen;
        }
        if row.cartons > 0 || row.last_year_cartons > 0 {
            per_spec.insert(spec.id, row);
        }
    }
    let mut total = SalesRow {
        label: lang.pick("合计", "Total").to_string(),
        ..SalesRow::default()
    };
    let mut by_class: BTreeMap<i64, SalesRow> = BTreeMap::new();
    let mut by_band: BTreeMap<PriceBand, SalesRow> = BTreeMap::new();
    let mut by_brand: BTreeMap<String, SalesRow> = BTreeMap::new();
    for row in per_spec.values() {
        let spec = by_id[&row.id];
        total.add(row);
        by_class
            .entry(spec.price_class)
            .or_insert_with(|| SalesRow {
                id: spec.price_class,
                label: domain::analysis::price_class_label(spec.price_class, lang),
                ..SalesRow::default()
            })
            .add(row);
        let band = PriceBand::of_fen(spec.wholesale_fen);
        by_band
            .entry(band)
            .or_insert_with(|| SalesRow {
                id: band.index(),
                label: band.label(lang).to_string(),
                ..SalesRow::default()
            })
            .add(row);
        by_brand
            .entry(spec.brand.clone())
            .or_insert_with(|| SalesRow {
                label: spec.brand.clone(),
                ..SalesRow::default()
            })
            .add(row);
    }
    let mut brands: Vec<SalesRow> = by_brand
        .into_values()
        .enumerate()
        .map(|(i, r)| SalesRow {
            id: i as i64 + 1,
            ..r
        })
        .collect();
    let mut spec_rows: Vec<SalesRow> = per_spec.into_values().collect();
    for rows in [&mut brands, &mut spec_rows] {
        // Fastest growing first; what has no last year to compare with last.
        rows.sort_by(|a, b| {
            let key = |r: &SalesRow| r.growth().unwrap_or(f64::NEG_INFINITY);
            key(b).total_cmp(&key(a)).then(b.cartons.cmp(&a.cartons))
        });
    }

    // Plans of the market departments in the reach (none for one
    // manager); a month counts only when every one of them has a plan.
    let year_start = YearMonth::new(end.year(), 1).unwrap_or(end);
    let year_end = YearMonth::new(end.year(), 12).unwrap_or(end);
    let chart_from = end.plus(-(i64::from(CHART_MONTHS) - 1));
    let departments: Vec<i64> = match &reach {
        Reach::Manager { .. } => Vec::new(),
        _ => org.plan_units(&reach).iter().map(|u| u.unit_id).collect(),
    };
    let plans: BTreeMap<YearMonth, i64> = if departments.is_empty() {
        BTreeMap::new()
    } else {
        store::plans_by_month(
            pool,
            &departments,
            chart_from.min(year_start),
            year_end.max(end),
        )
        .await?
        .into_iter()
        .filter(|(_, _, count)| *count == departments.len() as i64)
        .map(|(m, cartons, _)| (m, cartons))
        .collect()
    };
    let sum_plans = |months: &mut dyn Iterator<Item = YearMonth>| -> Option<i64> {
        let found: Vec<i64> = months.filter_map(|m| plans.get(&m).copied()).collect();
        (!found.is_empty()).then(|| found.iter().sum())
    };
    let complete = |months: &[YearMonth]| months.iter().all(|m| plans.contains_key(m));
    let plan_cartons = complete(&in_period)
        .then(|| sum_plans(&mut in_period.iter().copied()))
        .flatten();
    let year: Vec<YearMonth> = (0..12).map(|k| year_start.plus(k)).collect();
    let year_plan_cartons = complete(&year)
        .then(|| sum_plans(&mut year.iter().copied()))
        .flatten();
    let first = store::first_month(pool).await?;
    let last_year_complete = first.is_some_and(|f| in_period.iter().all(|m| m.plus(-12) >= f));
    if !last_year_complete {
        // No growth to rank by: the largest first.
        for rows in [&mut brands, &mut spec_rows] {
            rows.sort_by(|a, b| b.cartons.cmp(&a.cartons).then(a.id.cmp(&b.id)));
        }
    }
    let year_to_date_cartons = month_total.range(year_start..=end).map(|(_, t)| t.0).sum();
    let monthly = (0..i64::from(CHART_MONTHS))
        .map(|k| {
            let m = chart_from.plus(k);
            let (cartons, value_fen) = month_total.get(&m).copied().unwrap_or_default();
            MonthSales {
                month: m,
                cartons,
                value_fen,
                last_year_cartons: month_total.get(&m.plus(-12)).map_or(0, |t| t.0),
                plan_cartons: plans.get(&m).copied(),
            }
        })
        .collect();

    // Weeks: the confirmed online orders, which carry their dates.
    let weekly = match store::latest_week(pool, &reach).await? {
        None => Vec::new(),
        Some(last) => {
            let first = last - Duration::weeks(i64::from(CHART_WEEKS) - 1);
            let mut weeks: BTreeMap<chrono::NaiveDate, (i64, i64)> = (0..i64::from(CHART_WEEKS))
                .map(|k| (first + Duration::weeks(k), (0, 0)))
                .collect();
            for (week, spec, cartons) in store::weeks(pool, &reach, first).await? {
                let w = weeks.entry(week).or_default();
                w.0 += cartons;
                w.1 += value(spec, cartons);
            }
            weeks
                .into_iter()
                .map(|(week, (cartons, value_fen))| domain::analysis::WeekSales {
                    week,
                    cartons,
                    value_fen,
                })
                .collect()
        }
    };

    let group = org.breakdown(&reach);
    let by_unit = match group {
        None => Vec::new(),
        Some(group) => {
            let mut months_both = in_period.clone();
            months_both.extend(in_period.iter().map(|m| m.plus(-12)));
            let rows = store::sales_by_group(pool, &reach, group, &months_both).await?;
            let mut out: BTreeMap<i64, SalesRow> = BTreeMap::new();
            for (id, m, spec, cartons) in rows {
                let row = out.entry(id).or_insert_with(|| SalesRow {
                    id,
                    label: org.name(group, id),
                    ..SalesRow::default()
                });
                if in_period.contains(&m) {
                    row.cartons += cartons;
                    row.value_fen += value(spec, cartons);
                } else {
                    row.last_year_cartons += cartons;
                    row.last_year_value_fen += value(spec, cartons);
                }
            }
            let mut out: Vec<SalesRow> = out.into_values().collect();
            out.sort_by(|a, b| b.cartons.cmp(&a.cartons).then(a.id.cmp(&b.id)));
            out
        }
    };

    Ok(SalesAnalysis {
        scope_label: org.scope_label(&reach, lang),
        case_size: settings::get::<CaseSize>(pool, CASE_SIZE_KEY).await?,
        latest,
        end,
        months,
        total,
        last_year_complete,
        first,
        plan_cartons,
        year_plan_cartons,
        year_to_date_cartons,
        monthly,
        weekly,
        by_price_class: by_class.into_values().collect(),
        by_price_band: by_band.into_values().collect(),
        by_unit,
        breakdown: group.map(kind_of),
        brands,
        specs: spec_rows,
    })
}

/// The social stock of the caller's reach (narrowed as asked).
pub async fn stock(
    state: &AppState,
    user: &UserRow,
    narrow: Narrow,
    lang: Lang,
) -> ApiResult<StockAnalysis> {
    let _turn = reach::report_turn(state, lang).await?;
    let pool = &state.db.pool;
    let reach = reach::narrowed(pool, user, op::ANALYSIS_STOCK, narrow, lang).await?;
    let org = Org::load(pool).await?;
    let norm = crate::store::replenishment::policy(pool)
        .await?
        .stock_to_sales_norm;
    let sales_month = store::latest_month(pool).await?;
    let specs = specs(pool).await?;
    let sales: HashMap<i64, i64> = match sales_month {
        Some(m) => store::sales_by_month_spec(pool, &reach, m, m)
            .await?
            .into_iter()
            .map(|(_, spec, cartons)| (spec, cartons))
            .collect(),
        None => HashMap::new(),
    };
    let held: HashMap<i64, (i64, i64)> = store::stock_by_spec(pool, &reach)
        .await?
        .into_iter()
        .map(|(spec, stock, holders)| (spec, (stock, holders)))
        .collect();
    let group = org.breakdown(&reach);
    let by_group = store::stock_by_group(pool, &reach, group.unwrap_or(Group::Manager)).await?;
    let retailers: i64 = by_group.iter().map(|g| g.2).sum();
    let mut spec_rows: Vec<SpecStock> = specs
        .iter()
        .filter_map(|s| {
            let (stock, holders) = held.get(&s.id).copied().unwrap_or_default();
            let sold = sales.get(&s.id).copied().unwrap_or(0);
            (stock > 0 || sold > 0).then(|| {
                SpecStock::new(
                    s.id,
                    s.code.clone(),
                    s.name.clone(),
                    s.brand.clone(),
                    stock,
                    sold,
                    holders,
                    retailers,
                    norm,
                )
            })
        })
        .collect();
    // Highest ratio first; stock without sales before everything.
    spec_rows.sort_by(|a, b| {
        let key = |s: &SpecStock| {
            s.ratio
                .unwrap_or(if s.stock > 0 { f64::INFINITY } else { -1.0 })
        };
        key(b).total_cmp(&key(a)).then(a.spec_id.cmp(&b.spec_id))
    });
    let stock_total: i64 = spec_rows.iter().map(|s| s.stock).sum();
    let sales_total: i64 = sales.values().sum();

    let units = match group {
        None => Vec::new(),
        Some(group) => {
            let group_sales: HashMap<i64, i64> = match sales_month {
                Some(m) => {
                    let mut out = HashMap::new();
                    for (id, _, _, cartons) in
                        store::sales_by_group(pool, &reach, group, &[m]).await?
                    {
                        *out.entry(id).or_default() += cartons;
                    }
                    out
                }
                None => HashMap::new(),
            };
            let mut rows: Vec<UnitStock> = by_group
                .iter()
                .map(|&(id, stock, retailers)| {
                    let sold = group_sales.get(&id).copied().unwrap_or(0);
                    UnitStock {
                        id,
                        label: org.name(group, id),
                        stock,
                        sales: sold,
                        retailers,
                        ratio: domain::analysis::stock_to_sales(stock, sold),
                        above_norm: domain::analysis::above_norm(stock, sold, norm),
                    }
                })
                .collect();
            rows.sort_by(|a, b| {
                let key = |u: &UnitStock| u.ratio.unwrap_or(-1.0);
                key(b).total_cmp(&key(a)).then(a.id.cmp(&b.id))
            });
            rows
        }
    };
    let (size, breadth) = store::stock_spreads(pool, &reach).await?;
    let buckets = |edges: &[i64], counts: Vec<i64>| -> Vec<Bucket> {
        counts
            .into_iter()
            .enumerate()
            .map(|(i, retailers)| Bucket {
                label: bucket_label(edges, i, lang),
                retailers,
            })
            .collect()
    };
    Ok(StockAnalysis {
        scope_label: org.scope_label(&reach, lang),
        case_size: settings::get::<CaseSize>(pool, CASE_SIZE_KEY).await?,
        sales_month,
        norm,
        retailers,
        stock: stock_total,
        sales: sales_total,
        ratio: domain::analysis::stock_to_sales(stock_total, sales_total),
        above_norm: domain::analysis::above_norm(stock_total, sales_total, norm),
        specs: spec_rows,
        units,
        breakdown: group.map(kind_of),
        by_stock_size: buckets(&STOCK_SIZE_EDGES, size),
        by_breadth: buckets(&BREADTH_EDGES, breadth),
    })
}

/// The plans of a year for the market departments in the caller's reach.
pub async fn plans(
    state: &AppState,
    user: &UserRow,
    narrow: Narrow,
    year: Option<i32>,
    lang: Lang,
) -> ApiResult<PlansView> {
    let pool = &state.db.pool;
    let reach = reach::narrowed(pool, user, op::PLANS_READ, narrow, lang).await?;
    let year = year.unwrap_or_else(|| YearMonth::of_date(crate::clock::today()).year());
    if !domain::analysis::PLAN_YEARS.contains(&year) {
        return Err(bad_query(
            lang,
            "year",
            "年份应在 2000–2100 之间",
            "The year must be 2000–2100",
        ));
    }
    let units = Org::load(pool).await?.plan_units(&reach);
    let cells = store::plans_of_year(pool, year)
        .await?
        .into_iter()
        .filter(|(unit, _, _)| units.iter().any(|u| u.unit_id == *unit))
        .map(|(unit_id, month, cartons)| PlanCell {
            unit_id,
            month,
            cartons,
        })
        .collect();
    Ok(PlansView {
        year,
        case_size: settings::get::<CaseSize>(pool, CASE_SIZE_KEY).await?,
        units,
        cells,
    })
}

/// Sets plans of a year (the marketing center), all or nothing, audited.
pub async fn set_plans(
    state: &AppState,
    user: &UserRow,
    update: PlanUpdate,
    lang: Lang,
) -> ApiResult<PlansView> {
    debug_assert_eq!(user.role, Role::MarketingCenter);
    let pool = &state.db.pool;
    let units: Vec<i64> = Org::load(pool)
        .await?
        .plan_units(&Reach::Everything)
        .iter()
        .map(|u| u.unit_id)
        .collect();
    let errors = check_plan_update(&update, &units, lang);
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(
            lang.pick(
                "计划有误，未保存",
                "The plans are not valid; nothing was saved",
            ),
            errors,
        ));
    }
    let mut conn = pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    store::set_plans(&mut tx, update.year, &update.plans, user.id).await?;
    let total: i64 = update.plans.iter().map(|c| c.cartons).sum();
    audit::record_and_commit(
        tx,
        Some(user.id),
        "analysis.plans.set",
        "sales_plans",
        &update.year.to_string(),
        &json!({ "cells": update.plans.len(), "cartons": total }),
    )
    .await?;
    // The connection goes back before the answer is read with others: a
    // request holding one while waiting for another starves the pool.
    drop(conn);
    plans(state, user, Narrow::default(), Some(update.year), lang).await
}

fn cases(cartons: i64, size: CaseSize) -> Cell {
    Cell::Number(size.cases(cartons))
}

fn yuan(fen: i64) -> Cell {
    Cell::Number(fen as f64 / 100.0)
}

fn ratio(r: Option<f64>) -> Cell {
    r.map_or(Cell::Empty, Cell::Percent)
}

/// The sales analysis as workbook sheets: the months, the structure by
/// price class and band, departments, brands and specs.
pub fn sales_tables(a: &SalesAnalysis, lang: Lang) -> Vec<Table> {
    let size = a.case_size;
    let growth_headers = |first: &'static str, first_en: &'static str| -> Vec<String> {
        [
            (first, first_en),
            ("销量（箱）", "Cases"),
            ("销售额（元）", "Value (yuan)"),
            ("同期（箱）", "Last year (cases)"),
            ("同期销售额（元）", "Last year value (yuan)"),
            ("同比增长", "Growth"),
            ("占比", "Share"),
        ]
        .iter()
        .map(|(zh, en)| lang.pick(zh, en).to_string())
        .collect()
    };
    let rows_of = |rows: &[SalesRow]| -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|r| {
                vec![
                    Cell::Text(r.label.clone()),
                    cases(r.cartons, size),
                    yuan(r.value_fen),
                    cases(r.last_year_cartons, size),
                    yuan(r.last_year_value_fen),
                    ratio(r.growth().filter(|_| a.last_year_complete)),
                    Cell::Percent(share(r.cartons, a.total.cartons)),
                ]
            })
            .collect()
    };
    let mut tables = vec![Table {
        name: lang.pick("月度销量", "Monthly sales").to_string(),
        headers: [
            ("月份", "Month"),
            ("销量（箱）", "Cases"),
            ("销售额（元）", "Value (yuan)"),
            ("同期（箱）", "Last year (cases)"),
            ("计划（箱）", "Plan (cases)"),
            ("计划完成率", "Of plan"),
        ]
        .iter()
        .map(|(zh, en)| lang.pick(zh, en).to_string())
        .collect(),
        rows: a
            .monthly
            .iter()
            .map(|m| {
                vec![
                    Cell::Text(m.month.to_string()),
                    cases(m.cartons, size),
                    yuan(m.value_fen),
                    cases(m.last_year_cartons, size),
                    m.plan_cartons.map_or(Cell::Empty, |p| cases(p, size)),
                    ratio(
                        m.plan_cartons
                            .filter(|p| *p > 0)
                            .map(|p| share(m.cartons, p)),
                    ),
                ]
            })
            .collect(),
    }];
    if !a.weekly.is_empty() {
        tables.push(Table {
            name: lang.pick("周销量", "Weekly sales").to_string(),
            headers: [
                ("周（自周一）", "Week from Monday"),
                ("销量（箱）", "Cases"),
                ("销售额（元）", "Value (yuan)"),
            ]
            .iter()
            .map(|(zh, en)| lang.pick(zh, en).to_string())
            .collect(),
            rows: a
                .weekly
                .iter()
                .map(|w| {
                    vec![
                        Cell::Text(w.week.to_string()),
                        cases(w.cartons, size),
                        yuan(w.value_fen),
                    ]
                })
                .collect(),
        });
    }
    for (name, first, rows) in [
        (
            ("价类结构", "By price class"),
            ("价类", "Price class"),
            &a.by_price_class,
        ),
        (
            ("价位段结构", "By price band"),
            ("价位段", "Price band"),
            &a.by_price_band,
        ),
        (
            ("部门", "Departments"),
            ("部门 / 客户经理", "Department / manager"),
            &a.by_unit,
        ),
        (("品牌", "Brands"), ("品牌", "Brand"), &a.brands),
        (("品规", "Specs"), ("品规", "Spec"), &a.specs),
    ] {
        if rows.is_empty() {
            continue;
        }
        tables.push(Table {
            name: lang.pick(name.0, name.1).to_string(),
            headers: growth_headers(first.0, first.1),
            rows: rows_of(rows),
        });
    }
    tables
}

/// The stock analysis as workbook sheets: specs, departments and spreads.
pub fn stock_tables(a: &StockAnalysis, lang: Lang) -> Vec<Table> {
    let size = a.case_size;
    let headers = |cols: &[(&'static str, &'static str)]| -> Vec<String> {
        cols.iter()
            .map(|(zh, en)| lang.pick(zh, en).to_string())
            .collect()
    };
    let flag = |above: bool| {
        Cell::Text(if above {
            lang.pick("高于上限", "Above the norm").to_string()
        } else {
            String::new()
        })
    };
    let mut tables = vec![Table {
        name: lang.pick("品规库存", "Stock by spec").to_string(),
        headers: headers(&[
            ("品规编码", "Spec code"),
            ("品规", "Spec"),
            ("品牌", "Brand"),
            ("社会库存（条）", "Stock (cartons)"),
            ("月销量（条）", "Monthly sales (cartons)"),
            ("月库存销比", "Stock-to-sales"),
            ("库存销比", "Norm"),
            ("存货户数", "Retailers holding"),
            ("存货率", "Presence"),
            ("户均库存（条）", "Per retailer (cartons)"),
        ]),
        rows: a
            .specs
            .iter()
            .map(|s| {
                vec![
                    Cell::Text(s.code.clone()),
                    Cell::Text(s.name.clone()),
                    Cell::Text(s.brand.clone()),
                    Cell::Number(s.stock as f64),
                    Cell::Number(s.sales as f64),
                    s.ratio.map_or(Cell::Empty, Cell::Number),
                    flag(s.above_norm),
                    Cell::Number(s.holders as f64),
                    Cell::Percent(s.presence),
                    Cell::Number(s.per_retailer),
                ]
            })
            .collect(),
    }];
    if !a.units.is_empty() {
        tables.push(Table {
            name: lang.pick("部门库存", "Stock by department").to_string(),
            headers: headers(&[
                ("部门 / 客户经理", "Department / manager"),
                ("社会库存（箱）", "Stock (cases)"),
                ("月销量（箱）", "Monthly sales (cases)"),
                ("月库存销比", "Stock-to-sales"),
                ("库存销比", "Norm"),
                ("记录库存户数", "Retailers recording"),
            ]),
            rows: a
                .units
                .iter()
                .map(|u| {
                    vec![
                        Cell::Text(u.label.clone()),
                        cases(u.stock, size),
                        cases(u.sales, size),
                        u.ratio.map_or(Cell::Empty, Cell::Number),
                        flag(u.above_norm),
                        Cell::Number(u.retailers as f64),
                    ]
                })
                .collect(),
        });
    }
    for (name, first, buckets) in [
        (
            ("按库存量分布", "By stock size"),
            ("库存（条）", "Stock (cartons)"),
            &a.by_stock_size,
        ),
        (
            ("按品规数分布", "By breadth"),
            ("在库品规数", "Specs held"),
            &a.by_breadth,
        ),
    ] {
        tables.push(Table {
            name: lang.pick(name.0, name.1).to_string(),
            headers: headers(&[first, ("零售户数", "Retailers"), ("占比", "Share")]),
            rows: buckets
                .iter()
                .map(|b| {
                    vec![
                        Cell::Text(b.label.clone()),
                        Cell::Number(b.retailers as f64),
                        Cell::Percent(share(b.retailers, a.retailers)),
                    ]
                })
                .collect(),
        });
    }
    tables
}
