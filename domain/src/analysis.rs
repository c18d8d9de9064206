//! Sales and stock analysis (经营分析): what the county writes every quarter,
//! for any level's own subtree. The figures and their rules: price bands,
//! growth against last year, the monthly stock-to-sales ratio (月库存销比)
//! against its norm, stock presence rate (存货率), stock per retailer
//! (户均库存) and the spread of retailers by stock size and breadth.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::month::YearMonth;
use crate::quantity::CaseSize;
use crate::Lang;

/// Periods the analysis is shown over, in months ending with the chosen month.
pub const PERIODS: [u32; 4] = [1, 3, 6, 12];
/// The default period: a quarter, as the county reports.
pub const DEFAULT_PERIOD: u32 = 3;
/// Months of the monthly chart, ending with the period's last month.
pub const CHART_MONTHS: u32 = 12;
/// Weeks of the weekly chart, ending with the latest week with orders.
pub const CHART_WEEKS: u32 = 13;

/// Whether `months` is one of the offered periods.
pub fn period_allowed(months: u32) -> bool {
    PERIODS.contains(&months)
}

/// The months of a period of `months` ending with `end`, oldest first.
pub fn period_months(end: YearMonth, months: u32) -> Vec<YearMonth> {
    (0..i64::from(months.max(1)))
        .rev()
        .map(|k| end.plus(-k))
        .collect()
}

/// Price bands per carton at the wholesale price, as the business speaks of
/// them: under 100 元 (low margin), 100–400 元, 400–800 元 (premium) and
/// 800 元 and above (high price).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PriceBand {
    Low,
    Middle,
    Premium,
    High,
}

impl PriceBand {
    pub const ALL: [PriceBand; 4] = [
        PriceBand::Low,
        PriceBand::Middle,
        PriceBand::Premium,
        PriceBand::High,
    ];

    /// The band of a wholesale price per carton, in fen.
    pub fn of_fen(wholesale_fen: i64) -> PriceBand {
        match wholesale_fen {
            f if f < 10_000 => PriceBand::Low,
            f if f < 40_000 => PriceBand::Middle,
            f if f < 80_000 => PriceBand::Premium,
            _ => PriceBand::High,
        }
    }

    /// The lower bound of the band, in fen.
    pub fn from_fen(self) -> i64 {
        match self {
            PriceBand::Low => 0,
            PriceBand::Middle => 10_000,
            PriceBand::Premium => 40_000,
            PriceBand::High => 80_000,
        }
    }

    pub fn index(self) -> i64 {
        self as i64
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            PriceBand::Low => lang.pick("100元以下（低档）", "Under 100 yuan (low)"),
            PriceBand::Middle => lang.pick("100–400元（中档）", "100–400 yuan (middle)"),
            PriceBand::Premium => lang.pick("400–800元（高端）", "400–800 yuan (premium)"),
            PriceBand::High => lang.pick("800元及以上（高价）", "800 yuan and above (high)"),
        }
    }
}

/// The label of a price class (一类 … 五类).
pub fn price_class_label(class: i64, lang: Lang) -> String {
    const ZH: [&str; 5] = ["一类", "二类", "三类", "四类", "五类"];
    match lang {
        Lang::Zh => ZH
            .get((class - 1).clamp(0, 4) as usize)
            .copied()
            .unwrap_or("")
            .to_string(),
        Lang::En => format!("Class {class}"),
    }
}

/// Growth of `now` over `before`, as a fraction; `None` when there was
/// nothing before to compare with.
pub fn growth(now: i64, before: i64) -> Option<f64> {
    (before > 0).then(|| (now - before) as f64 / before as f64)
}

/// `part` of `whole`, 0 when the whole is empty.
pub fn share(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The monthly stock-to-sales ratio (月库存销比 = stock ÷ monthly sales);
/// `None` without sales.
pub fn stock_to_sales(stock: i64, monthly_sales: i64) -> Option<f64> {
    (monthly_sales > 0).then(|| stock as f64 / monthly_sales as f64)
}

/// Whether a ratio lies above the norm's upper end (0.5 by default, the
/// replenishment policy's `stock_to_sales_norm`). Stock with no sales at
/// all is above any norm.
pub fn above_norm(stock: i64, monthly_sales: i64, norm: f64) -> bool {
    match stock_to_sales(stock, monthly_sales) {
        Some(ratio) => ratio > norm,
        None => stock > 0,
    }
}

/// Upper edges of the stock-size buckets, in cartons: under 50, 50–99,
/// 100–199, 200–499, 500 and more (the county counts "under 50 cartons").
pub const STOCK_SIZE_EDGES: [i64; 4] = [50, 100, 200, 500];
/// Upper edges of the breadth buckets, in specs held: under 10, 10–19,
/// 20–29, 30 and more (the county counts "fewer than 20 specs").
pub const BREADTH_EDGES: [i64; 3] = [10, 20, 30];

/// The bucket of `value` for `edges`: 0 below the first edge, `edges.len()`
/// at or above the last.
pub fn bucket_of(edges: &[i64], value: i64) -> usize {
    edges.iter().take_while(|&&e| value >= e).count()
}

/// The label of bucket `i` for `edges`, e.g. `50–99` or `500+`.
pub fn bucket_label(edges: &[i64], i: usize, lang: Lang) -> String {
    match (i.checked_sub(1).map(|j| edges[j]), edges.get(i)) {
        (None, Some(to)) => match lang {
            Lang::Zh => format!("{to} 以下"),
            Lang::En => format!("under {to}"),
        },
        (Some(from), Some(to)) => format!("{from}–{}", to - 1),
        (Some(from), None) => format!("{from}+"),
        (None, None) => String::new(),
    }
}

/// Sales of one group (a price class, a band, a department, a brand, a
/// spec) in the period and the same period a year before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalesRow {
    pub id: i64,
    pub label: String,
    pub cartons: i64,
    /// At today's wholesale prices, in fen.
    pub value_fen: i64,
    pub last_year_cartons: i64,
    pub last_year_value_fen: i64,
}

impl SalesRow {
    pub fn growth(&self) -> Option<f64> {
        growth(self.cartons, self.last_year_cartons)
    }

    pub fn add(&mut self, other: &SalesRow) {
        self.cartons += other.cartons;
        self.value_fen += other.value_fen;
        self.last_year_cartons += other.last_year_cartons;
        self.last_year_value_fen += other.last_year_value_fen;
    }
}

/// What the per-group tables of an analysis list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    /// Market departments (a reach over several).
    Departments,
    /// Customer managers (a reach over one department).
    Managers,
}

/// Sales of one month with the same month a year before and the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthSales {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub month: YearMonth,
    pub cartons: i64,
    pub value_fen: i64,
    pub last_year_cartons: i64,
    /// The plan of the departments in scope, when one is set.
    pub plan_cartons: Option<i64>,
}

/// Confirmed online orders of one week (from its Monday).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeekSales {
    pub week: NaiveDate,
    pub cartons: i64,
    pub value_fen: i64,
}

/// The sales analysis of a scope over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SalesAnalysis {
    /// Whose figures: 全公司, a department, a customer manager.
    pub scope_label: String,
    pub case_size: CaseSize,
    /// The latest month with orders loaded, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub latest: Option<YearMonth>,
    /// The period: `months` months ending with `end`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub end: YearMonth,
    pub months: u32,
    /// The period's total against the same period last year.
    pub total: SalesRow,
    /// Whether every month of last year's period has orders loaded; when
    /// not, growth against it means nothing and is not shown.
    pub last_year_complete: bool,
    /// The first month with orders loaded.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub first: Option<YearMonth>,
    /// The plan of the period and of the whole year, and the year's sales
    /// to the end of the period. A month's plan counts only when every
    /// market department in scope has one (a partial plan compared with the
    /// whole scope's sales would mislead).
    pub plan_cartons: Option<i64>,
    pub year_plan_cartons: Option<i64>,
    pub year_to_date_cartons: i64,
    /// The 12 months to the end of the period.
    pub monthly: Vec<MonthSales>,
    /// Confirmed online orders by week (the orders that carry dates).
    pub weekly: Vec<WeekSales>,
    pub by_price_class: Vec<SalesRow>,
    pub by_price_band: Vec<SalesRow>,
    /// Departments (or, in one department, its customer managers).
    pub by_unit: Vec<SalesRow>,
    /// What `by_unit` lists; none for one customer manager.
    pub breakdown: Option<Breakdown>,
    /// Brands and specs, fastest growing first.
    pub brands: Vec<SalesRow>,
    pub specs: Vec<SalesRow>,
}

/// Stock of one spec in the scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecStock {
    pub spec_id: i64,
    pub code: String,
    pub name: String,
    pub brand: String,
    /// Cartons held by the retailers in scope.
    pub stock: i64,
    /// Cartons ordered in the sales month.
    pub sales: i64,
    /// Retailers holding any.
    pub holders: i64,
    /// 月库存销比, `None` without sales.
    pub ratio: Option<f64>,
    /// Above the norm's upper end.
    pub above_norm: bool,
    /// 存货率: holders ÷ retailers recording stock.
    pub presence: f64,
    /// 户均库存: cartons per retailer recording stock.
    pub per_retailer: f64,
}

/// Stock of one department (or customer manager) in the scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitStock {
    pub id: i64,
    pub label: String,
    pub stock: i64,
    pub sales: i64,
    pub retailers: i64,
    pub ratio: Option<f64>,
    pub above_norm: bool,
}

/// Retailers in one bucket of a spread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bucket {
    pub label: String,
    pub retailers: i64,
}

/// Social stock (社会库存) of a scope: what its retailers recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StockAnalysis {
    pub scope_label: String,
    pub case_size: CaseSize,
    /// The month whose orders stand for monthly sales (the latest loaded).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub sales_month: Option<YearMonth>,
    /// The norm's upper end (0.5 by default).
    pub norm: f64,
    /// Retailers recording stock.
    pub retailers: i64,
    pub stock: i64,
    pub sales: i64,
    pub ratio: Option<f64>,
    pub above_norm: bool,
    /// Specs, highest ratio first.
    pub specs: Vec<SpecStock>,
    pub units: Vec<UnitStock>,
    /// What `units` lists; none for one customer manager.
    pub breakdown: Option<Breakdown>,
    /// Retailers by total stock in cartons.
    pub by_stock_size: Vec<Bucket>,
    /// Retailers by the number of specs they hold.
    pub by_breadth: Vec<Bucket>,
}

impl SpecStock {
    /// The derived figures of one spec's stock in a scope of `retailers`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec_id: i64,
        code: String,
        name: String,
        brand: String,
        stock: i64,
        sales: i64,
        holders: i64,
        retailers: i64,
        norm: f64,
    ) -> SpecStock {
        SpecStock {
            spec_id,
            code,
            name,
            brand,
            stock,
            sales,
            holders,
            ratio: stock_to_sales(stock, sales),
            above_norm: above_norm(stock, sales, norm),
            presence: share(holders, retailers),
            per_retailer: share(stock, retailers),
        }
    }
}

/// A plan: one department's cartons for one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanCell {
    pub unit_id: i64,
    /// 1 to 12.
    pub month: u32,
    pub cartons: i64,
}

/// A department plans can be set for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanUnit {
    pub unit_id: i64,
    pub name: String,
    /// The county department above it.
    pub parent: String,
}

/// The plans of a year for the departments in scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlansView {
    pub year: i32,
    pub case_size: CaseSize,
    pub units: Vec<PlanUnit>,
    pub cells: Vec<PlanCell>,
}

/// Sets (or, with `cartons` absent from the list, keeps) plans of a year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanUpdate {
    pub year: i32,
    pub plans: Vec<PlanCell>,
}

/// The largest plan of one department and month, in cartons (ten times a
/// big city's monthly sales).
pub const MAX_PLAN_CARTONS: i64 = 100_000_000;
/// Years plans may be set for.
pub const PLAN_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// The field errors of a plan update; `units` are the departments plans
/// may be set for. Empty when it may be stored.
pub fn check_plan_update(update: &PlanUpdate, units: &[i64], lang: Lang) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    if !PLAN_YEARS.contains(&update.year) {
        errors.push((
            "year".to_string(),
            lang.pick("年份应在 2000–2100 之间", "The year must be 2000–2100")
                .to_string(),
        ));
    }
    if update.plans.len() > units.len().max(1) * 12 {
        errors.push((
            "plans".to_string(),
            lang.pick("计划条数过多", "Too many plans").to_string(),
        ));
        return errors;
    }
    let mut seen = std::collections::HashSet::new();
    for (i, cell) in update.plans.iter().enumerate() {
        let mut bad = |field: &str, zh: &'static str, en: &'static str| {
            errors.push((format!("plans.{i}.{field}"), lang.pick(zh, en).to_string()));
        };
        if !units.contains(&cell.unit_id) {
            bad("unit_id", "没有该市场部", "No such market department");
        }
        if !(1..=12).contains(&cell.month) {
            bad("month", "月份应为 1–12", "The month must be 1–12");
        }
        if !(0..=MAX_PLAN_CARTONS).contains(&cell.cartons) {
            bad(
                "cartons",
                "计划量应为不小于 0 的整数（条），且不超过一亿条",
                "The plan must be 0 to 100,000,000 cartons",
            );
        }
        if !seen.insert((cell.unit_id, cell.month)) {
            bad(
                "month",
                "同一市场部同一月份重复",
                "The same department and month twice",
            );
        }
    }
    errors
}

/// Cases typed by a person to whole cartons (a plan is entered in 箱).
pub fn cartons_of_cases(cases: f64, case_size: CaseSize) -> Option<i64> {
    let cartons = (cases * f64::from(case_size.0.max(1))).round();
    (cases.is_finite() && cases >= 0.0 && cartons <= MAX_PLAN_CARTONS as f64)
        .then_some(cartons as i64)
}

/// Why a plan typed in cases cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanCellError {
    NotANumber,
    Negative,
    TooLarge,
}

impl PlanCellError {
    pub fn message(self, lang: Lang) -> &'static str {
        match self {
            PlanCellError::NotANumber => lang.pick("请输入数字（箱）", "enter a number of cases"),
            PlanCellError::Negative => lang.pick("计划不能为负数", "a plan cannot be negative"),
            PlanCellError::TooLarge => lang.pick(
                "计划过大（最多 40 万箱）",
                "too large (at most 400,000 cases)",
            ),
        }
    }
}

/// A plan as a person types or pastes it, in cases (箱): full-width
/// digits and a spreadsheet's thousands separators are read; whole cartons
/// out, within the plan's bounds.
pub fn read_plan_cases(text: &str, case_size: CaseSize) -> Result<i64, PlanCellError> {
    let cases = crate::quantity::plain_number(&text.replace([',', '，'], ""))
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|c| c.is_finite())
        .ok_or(PlanCellError::NotANumber)?;
    if cases < 0.0 {
        return Err(PlanCellError::Negative);
    }
    cartons_of_cases(cases, case_size).ok_or(PlanCellError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bands_follow_the_wholesale_price_per_carton() {
        assert_eq!(PriceBand::of_fen(9_999), PriceBand::Low);
        assert_eq!(PriceBand::of_fen(10_000), PriceBand::Middle);
        assert_eq!(PriceBand::of_fen(40_000), PriceBand::Premium);
        assert_eq!(PriceBand::of_fen(80_000), PriceBand::High);
        for band in PriceBand::ALL {
            assert_eq!(PriceBand::of_fen(band.from_fen()), band);
        }
    }

    #[test]
    fn the_county_ratio_is_stock_over_monthly_sales_against_the_norm() {
        // 红金龙(软虹之彩) 2.46 in the county's report.
        assert_eq!(stock_to_sales(246, 100), Some(2.46));
        assert!(above_norm(246, 100, 0.5));
        assert!(!above_norm(50, 100, 0.5), "0.5 is inside the norm");
        assert!(
            above_norm(1, 0, 0.5),
            "stock without sales is above any norm"
        );
        assert!(!above_norm(0, 0, 0.5));
        assert_eq!(stock_to_sales(10, 0), None);
    }

    #[test]
    fn presence_and_stock_per_retailer() {
        // 黄鹤楼(软珍品) 48 % of 100 retailers.
        let s = SpecStock::new(1, "c".into(), "n".into(), "b".into(), 96, 300, 48, 100, 0.5);
        assert_eq!(s.presence, 0.48);
        assert_eq!(s.per_retailer, 0.96);
        assert_eq!(s.ratio, Some(0.32));
        assert!(!s.above_norm);
    }

    #[test]
    fn growth_needs_something_to_compare_with() {
        assert_eq!(growth(110, 100), Some(0.1));
        assert_eq!(growth(90, 100), Some(-0.1));
        assert_eq!(growth(5, 0), None);
    }

    #[test]
    fn buckets_and_their_labels() {
        assert_eq!(bucket_of(&STOCK_SIZE_EDGES, 0), 0);
        assert_eq!(bucket_of(&STOCK_SIZE_EDGES, 49), 0);
        assert_eq!(bucket_of(&STOCK_SIZE_EDGES, 50), 1);
        assert_eq!(bucket_of(&STOCK_SIZE_EDGES, 10_000), 4);
        assert_eq!(bucket_label(&STOCK_SIZE_EDGES, 0, Lang::Zh), "50 以下");
        assert_eq!(bucket_label(&STOCK_SIZE_EDGES, 1, Lang::En), "50–99");
        assert_eq!(bucket_label(&STOCK_SIZE_EDGES, 4, Lang::En), "500+");
    }

    #[test]
    fn a_period_ends_with_its_month() {
        let end: YearMonth = "2026-02".parse().expect("a month");
        let months = period_months(end, 3);
        assert_eq!(
            months.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
            ["2025-12", "2026-01", "2026-02"]
        );
        assert!(period_allowed(3) && !period_allowed(5));
    }

    #[test]
    fn plan_updates_are_checked_cell_by_cell() {
        let ok = PlanUpdate {
            year: 2026,
            plans: vec![PlanCell {
                unit_id: 3,
                month: 1,
                cartons: 12_000,
            }],
        };
        assert!(check_plan_update(&ok, &[3], Lang::Zh).is_empty());
        let bad = PlanUpdate {
            year: 1999,
            plans: vec![
                PlanCell {
                    unit_id: 9,
                    month: 13,
                    cartons: -1,
                },
                PlanCell {
                    unit_id: 3,
                    month: 1,
                    cartons: 1,
                },
                PlanCell {
                    unit_id: 3,
                    month: 1,
                    cartons: 2,
                },
            ],
        };
        let fields: Vec<String> = check_plan_update(&bad, &[3], Lang::En)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "year",
                "plans.0.unit_id",
                "plans.0.month",
                "plans.0.cartons",
                "plans.2.month"
            ]
        );
    }

    #[test]
    fn cases_typed_become_whole_cartons() {
        assert_eq!(cartons_of_cases(1.5, CaseSize(250)), Some(375));
        assert_eq!(cartons_of_cases(-1.0, CaseSize(250)), None);
        assert_eq!(cartons_of_cases(f64::NAN, CaseSize(250)), None);
        assert_eq!(cartons_of_cases(1e12, CaseSize(250)), None);
    }

    #[test]
    fn plans_are_read_as_people_type_and_paste_them() {
        let size = CaseSize(250);
        assert_eq!(read_plan_cases("12.5", size), Ok(3125));
        assert_eq!(read_plan_cases("1,000", size), Ok(250_000));
        assert_eq!(read_plan_cases("１２", size), Ok(3000));
        assert_eq!(read_plan_cases("abc", size), Err(PlanCellError::NotANumber));
        assert_eq!(read_plan_cases("-3", size), Err(PlanCellError::Negative));
        assert_eq!(read_plan_cases("1e9", size), Err(PlanCellError::TooLarge));
    }

    proptest! {
        #[test]
        fn every_value_falls_in_exactly_one_bucket(v in 0_i64..10_0000) {
            let i = bucket_of(&STOCK_SIZE_EDGES, v);
            prop_assert!(i <= STOCK_SIZE_EDGES.len());
            if i > 0 { prop_assert!(v >= STOCK_SIZE_EDGES[i - 1]); }
            if i < STOCK_SIZE_EDGES.len() { prop_assert!(v < STOCK_SIZE_EDGES[i]); }
        }

        #[test]
        fn the_ratio_flag_agrees_with_the_ratio(stock in 0_i64..10_000, sales in 1_i64..10_000) {
            let ratio = stock_to_sales(stock, sales).expect("sales");
            prop_assert_eq!(above_norm(stock, sales, 0.5), ratio > 0.5);
        }
    }
}
