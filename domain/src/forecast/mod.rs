//! Monthly demand forecasting (卷烟需求预测): cycles, the one-third sample,
//! deadlines and the rules a forecast cell must meet. The browser checks
//! cells with these functions as they are typed; the API enforces them.

pub mod actuals;
pub mod baseline;
pub mod evaluate;
pub mod methods;
pub mod review;
pub mod stored;
pub mod view;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::month::YearMonth;
use crate::quantity::{Cartons, QuantityError};
use crate::Lang;

/// Which retailers a cycle asks forecasts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every retailer.
    All,
    /// The rotating one-third sample (1/3样本客户).
    Sample,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::Sample => "sample",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "all" => Some(Scope::All),
            "sample" => Some(Scope::Sample),
            _ => None,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Scope::All => lang.pick("全部零售户", "All retailers"),
            Scope::Sample => lang.pick("1/3样本客户", "One-third sample"),
        }
    }
}

/// The sample group (0, 1 or 2) of a retailer, from its licence number, so
/// that it does not depend on database ids and survives a restore.
///
/// The group is the 32-bit FNV-1a hash of the licence number's bytes, modulo
/// 3. FNV-1a is a few lines and fully specified, so the groups can be
/// recomputed by anyone; a crate would add nothing.
pub fn sample_group(licence_no: &str) -> u8 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in licence_no.trim().bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % 3) as u8
}

/// The group sampled in month `month`: months cycle through the groups 0, 1,
/// 2, so over any three consecutive months (a quarter) every retailer is
/// sampled exactly once.
pub fn month_sample_group(month: YearMonth) -> u8 {
    let index = i64::from(month.year()) * 12 + i64::from(month.month()) - 1;
    index.rem_euclid(3) as u8
}

/// Whether a retailer is in a cycle's scope.
pub fn in_scope(scope: Scope, month: YearMonth, licence_no: &str) -> bool {
    match scope {
        Scope::All => true,
        Scope::Sample => sample_group(licence_no) == month_sample_group(month),
    }
}

/// The scale factor from a sample to the whole population: population over
/// sampled retailers (about 3 for a one-third sample), 1 for a full scope.
pub fn scale_factor(population: i64, in_scope: i64) -> f64 {
    if in_scope <= 0 {
        1.0
    } else {
        population as f64 / in_scope as f64
    }
}

fn first_day(month: YearMonth) -> NaiveDate {
    NaiveDate::from_ymd_opt(month.year(), month.month(), 1).unwrap_or_default()
}

/// Default deadlines of a cycle for month M: submission on day 20 and review
/// on day 25 of month M−1.
pub fn default_deadlines(month: YearMonth) -> (NaiveDate, NaiveDate) {
    let before = month.plus(-1);
    let day = |d| NaiveDate::from_ymd_opt(before.year(), before.month(), d).unwrap_or_default();
    (day(20), day(25))
}

/// The month a new cycle is proposed for: the first month whose default
/// submission deadline has not passed.
pub fn default_month(today: NaiveDate) -> YearMonth {
    let next = YearMonth::of_date(today).plus(1);
    if today.day() <= 20 {
        next
    } else {
        next.plus(1)
    }
}

/// What the marketing center sets when it opens or edits a cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CycleInput {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2027-01"))]
    pub month: YearMonth,
    pub spec_ids: Vec<i64>,
    pub scope: Scope,
    /// Defaults to day 20 of the month before.
    pub submit_deadline: Option<NaiveDate>,
    /// Defaults to day 25 of the month before.
    pub review_deadline: Option<NaiveDate>,
}

impl CycleInput {
    /// The deadlines, defaults filled in.
    pub fn deadlines(&self) -> (NaiveDate, NaiveDate) {
        let (submit, review) = default_deadlines(self.month);
        (
            self.submit_deadline.unwrap_or(submit),
            self.review_deadline.unwrap_or(review),
        )
    }
}

/// Why a cycle was refused; each belongs to one field of [`CycleInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CycleError {
    #[error("month already begun")]
    MonthBegun,
    #[error("no specs")]
    NoSpecs,
    #[error("spec listed twice")]
    DuplicateSpec,
    #[error("unknown spec")]
    UnknownSpec,
    #[error("submission deadline passed")]
    SubmitPassed,
    #[error("review deadline before submission deadline")]
    ReviewBeforeSubmit,
    #[error("review deadline in the forecast month")]
    ReviewTooLate,
}

impl CycleError {
    pub fn field(self) -> &'static str {
        match self {
            CycleError::MonthBegun => "month",
            CycleError::NoSpecs | CycleError::DuplicateSpec | CycleError::UnknownSpec => "spec_ids",
            CycleError::SubmitPassed => "submit_deadline",
            CycleError::ReviewBeforeSubmit | CycleError::ReviewTooLate => "review_deadline",
        }
    }

    pub fn message(self, lang: Lang) -> &'static str {
        match self {
            CycleError::MonthBegun => lang.pick(
                "预测月份已开始，只能为以后的月份开启预测",
                "That month has begun; open cycles for later months",
            ),
            CycleError::NoSpecs => lang.pick("请至少选择一个预测品规", "Pick at least one spec"),
            CycleError::DuplicateSpec => lang.pick("品规重复", "A spec is listed twice"),
            CycleError::UnknownSpec => lang.pick("品规不存在", "No such spec"),
            CycleError::SubmitPassed => lang.pick(
                "提交截止日期已过，请选择今天或以后的日期",
                "The submission deadline has passed; pick today or later",
            ),
            CycleError::ReviewBeforeSubmit => lang.pick(
                "审核截止日期不能早于提交截止日期",
                "The review deadline cannot be before the submission deadline",
            ),
            CycleError::ReviewTooLate => lang.pick(
                "审核截止日期须在预测月份开始之前",
                "The review deadline must fall before the forecast month",
            ),
        }
    }
}

/// Checks a cycle against the catalogue (`known_specs`) and today's date.
pub fn check_cycle(input: &CycleInput, known_specs: &[i64], today: NaiveDate) -> Vec<CycleError> {
    let mut errors = Vec::new();
    if input.month <= YearMonth::of_date(today) {
        errors.push(CycleError::MonthBegun);
    }
    if input.spec_ids.is_empty() {
        errors.push(CycleError::NoSpecs);
    } else if input.spec_ids.iter().any(|s| !known_specs.contains(s)) {
        errors.push(CycleError::UnknownSpec);
    } else {
        let mut sorted = input.spec_ids.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            errors.push(CycleError::DuplicateSpec);
        }
    }
    let (submit, review) = input.deadlines();
    if submit < today {
        errors.push(CycleError::SubmitPassed);
    }
    if review < submit {
        errors.push(CycleError::ReviewBeforeSubmit);
    } else if review >= first_day(input.month) {
        errors.push(CycleError::ReviewTooLate);
    }
    errors
}

/// Whether a customer manager may still enter: on or before the submission
/// deadline, or on or before the date the marketing center reopened it to.
pub fn entry_open(
    today: NaiveDate,
    deadline: NaiveDate,
    reopened_until: Option<NaiveDate>,
) -> bool {
    today <= deadline || reopened_until.is_some_and(|until| today <= until)
}

/// The settings of the forecast rules (marketing center).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastRules {
    /// A cell deviates when it differs from the baseline by more than this
    /// percentage of the baseline …
    pub deviation_percent: i64,
    /// … and by more than this many cartons.
    pub deviation_cartons: i64,
    /// Upper sanity bound for a cell where no bound is set for the spec and
    /// class.
    pub default_bound: i64,
}

impl Default for ForecastRules {
    fn default() -> Self {
        ForecastRules {
            deviation_percent: 50,
            deviation_cartons: 5,
            default_bound: 500,
        }
    }
}

impl ForecastRules {
    /// Whether the rule values are sane: percent 1–1000, cartons 0–1000,
    /// bound 1–Cartons::MAX.
    pub fn check(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        let mut errors = Vec::new();
        if !(1..=1000).contains(&self.deviation_percent) {
            errors.push((
                "deviation_percent",
                "偏离比例须在 1% 到 1000% 之间",
                "The percentage must be 1–1000",
            ));
        }
        if !(0..=1000).contains(&self.deviation_cartons) {
            errors.push((
                "deviation_cartons",
                "偏离条数须在 0 到 1000 之间",
                "The cartons must be 0–1000",
            ));
        }
        if !(1..=Cartons::MAX).contains(&self.default_bound) {
            errors.push((
                "default_bound",
                "默认上限须为正整数",
                "The bound must be a positive whole number",
            ));
        }
        errors
    }
}

/// Whether `value` is far from the baseline and so needs a reason: more than
/// `deviation_percent`% of the baseline and more than `deviation_cartons`
/// cartons away (both).
pub fn deviates(value: i64, baseline: i64, rules: &ForecastRules) -> bool {
    let gap = (value - baseline).abs();
    gap > rules.deviation_cartons && gap * 100 > rules.deviation_percent * baseline.max(0)
}

/// Longest reason kept, in characters.
pub const REASON_MAX_CHARS: usize = 100;

/// Why a forecast cell was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CellError {
    #[error("{0}")]
    Quantity(QuantityError),
    #[error("above the bound {0}")]
    AboveBound(i64),
    #[error("empty")]
    Missing,
    #[error("reason needed")]
    ReasonMissing,
    #[error("a correction needs a reason")]
    CorrectionReasonMissing,
    #[error("reason too long")]
    ReasonTooLong,
}

impl CellError {
    pub fn message(self, lang: Lang) -> String {
        match (self, lang) {
            (CellError::Quantity(e), _) => e.message(lang).to_string(),
            (CellError::AboveBound(b), Lang::Zh) => format!("超出合理上限 {b} 条，请核实"),
            (CellError::AboveBound(b), Lang::En) => {
                format!("Above the sanity bound of {b} cartons; check it")
            }
            (CellError::Missing, _) => lang.pick("请填写预测量", "Enter a forecast").into(),
            (CellError::ReasonMissing, _) => lang
                .pick(
                    "与系统基线偏差较大，请填写原因",
                    "Far from the baseline: give a reason",
                )
                .into(),
            (CellError::CorrectionReasonMissing, _) => lang
                .pick("修正须填写原因", "A correction needs a reason")
                .into(),
            (CellError::ReasonTooLong, Lang::Zh) => {
                format!("原因不能超过 {REASON_MAX_CHARS} 个字")
            }
            (CellError::ReasonTooLong, Lang::En) => {
                format!("Keep the reason within {REASON_MAX_CHARS} characters")
            }
        }
    }
}

/// Checks a stored or received cell value against the bound.
pub fn check_value(value: i64, bound: i64) -> Result<(), CellError> {
    Cartons::new(value).map_err(CellError::Quantity)?;
    if value > bound {
        return Err(CellError::AboveBound(bound));
    }
    Ok(())
}

/// Parses what was typed or pasted into a cell: empty is "not entered".
pub fn parse_cell(text: &str, bound: i64) -> Result<Option<i64>, CellError> {
    let Some(value) = Cartons::parse_optional(text).map_err(CellError::Quantity)? else {
        return Ok(None);
    };
    check_value(value.get(), bound)?;
    Ok(Some(value.get()))
}

/// Checks a reason's length; blank counts as absent.
pub fn check_reason(reason: Option<&str>) -> Result<(), CellError> {
    match reason {
        Some(r) if r.trim().chars().count() > REASON_MAX_CHARS => Err(CellError::ReasonTooLong),
        _ => Ok(()),
    }
}

/// Whether a reason has some text.
pub fn has_reason(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| !r.trim().is_empty())
}

/// Checks a cell for submission: entered, within the bound, and with a
/// reason when it deviates from the baseline.
pub fn check_for_submit(
    value: Option<i64>,
    reason: Option<&str>,
    baseline: i64,
    bound: i64,
    rules: &ForecastRules,
) -> Result<(), CellError> {
    let value = value.ok_or(CellError::Missing)?;
    check_value(value, bound)?;
    check_reason(reason)?;
    if deviates(value, baseline, rules) && !has_reason(reason) {
        return Err(CellError::ReasonMissing);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap_or_else(|_| panic!("bad month {s}"))
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn deadlines_default_to_day_20_and_25_of_the_month_before() {
        assert_eq!(
            default_deadlines(ym("2027-01")),
            (date(2026, 12, 20), date(2026, 12, 25))
        );
        assert_eq!(default_month(date(2026, 11, 20)), ym("2026-12"));
        assert_eq!(default_month(date(2026, 11, 23)), ym("2027-01"));
    }

    #[test]
    fn cycles_are_checked_field_by_field() {
        let today = date(2026, 11, 23);
        let good = CycleInput {
            month: ym("2027-01"),
            spec_ids: vec![1, 2],
            scope: Scope::All,
            submit_deadline: None,
            review_deadline: None,
        };
        assert!(check_cycle(&good, &[1, 2, 3], today).is_empty());
        let late = CycleInput {
            month: ym("2026-12"),
            ..good.clone()
        };
        assert_eq!(
            check_cycle(&late, &[1, 2], today),
            vec![CycleError::SubmitPassed]
        );
        let bad = CycleInput {
            month: ym("2026-11"),
            spec_ids: vec![2, 2],
            submit_deadline: Some(date(2026, 11, 24)),
            review_deadline: Some(date(2026, 11, 23)),
            ..good.clone()
        };
        assert_eq!(
            check_cycle(&bad, &[2], today),
            vec![
                CycleError::MonthBegun,
                CycleError::DuplicateSpec,
                CycleError::ReviewBeforeSubmit
            ]
        );
        let unknown = CycleInput {
            spec_ids: vec![9],
            review_deadline: Some(date(2027, 1, 3)),
            ..good
        };
        assert_eq!(
            check_cycle(&unknown, &[1], today),
            vec![CycleError::UnknownSpec, CycleError::ReviewTooLate]
        );
    }

    #[test]
    fn entry_closes_after_the_deadline_unless_reopened() {
        let deadline = date(2026, 12, 20);
        assert!(entry_open(date(2026, 12, 20), deadline, None));
        assert!(!entry_open(date(2026, 12, 21), deadline, None));
        assert!(entry_open(
            date(2026, 12, 21),
            deadline,
            Some(date(2026, 12, 22))
        ));
        assert!(!entry_open(
            date(2026, 12, 23),
            deadline,
            Some(date(2026, 12, 22))
        ));
    }

    #[test]
    fn deviation_needs_both_the_share_and_the_cartons() {
        let rules = ForecastRules::default();
        assert!(!deviates(14, 10, &rules), "40% off");
        assert!(!deviates(7, 2, &rules), "250% off but only 5 cartons");
        assert!(deviates(9, 2, &rules), "7 cartons and 350%");
        assert!(!deviates(5, 0, &rules), "5 cartons is not more than 5");
        assert!(deviates(6, 0, &rules));
        assert!(deviates(0, 12, &rules), "dropping to zero");
        assert!(!deviates(106, 100, &rules));
    }

    #[test]
    fn submission_needs_a_value_and_a_reason_where_far_off() {
        let rules = ForecastRules::default();
        assert_eq!(
            check_for_submit(None, None, 3, 100, &rules),
            Err(CellError::Missing)
        );
        assert_eq!(
            check_for_submit(Some(30), None, 3, 100, &rules),
            Err(CellError::ReasonMissing)
        );
        assert_eq!(
            check_for_submit(Some(30), Some("  "), 3, 100, &rules),
            Err(CellError::ReasonMissing)
        );
        assert_eq!(
            check_for_submit(Some(30), Some("新店开业"), 3, 100, &rules),
            Ok(())
        );
        assert_eq!(
            check_for_submit(Some(300), Some("x"), 3, 100, &rules),
            Err(CellError::AboveBound(100))
        );
        let long = "很".repeat(REASON_MAX_CHARS + 1);
        assert_eq!(
            check_for_submit(Some(3), Some(&long), 3, 100, &rules),
            Err(CellError::ReasonTooLong)
        );
    }

    #[test]
    fn typed_cells_parse_to_whole_cartons() {
        assert_eq!(parse_cell(" 12 ", 50), Ok(Some(12)));
        assert_eq!(parse_cell("", 50), Ok(None));
        assert_eq!(parse_cell("\u{3000}", 50), Ok(None));
        assert_eq!(parse_cell("４２", 50), Ok(Some(42)));
        assert_eq!(
            parse_cell("-1", 50),
            Err(CellError::Quantity(QuantityError::Negative))
        );
        assert_eq!(
            parse_cell("1.5", 50),
            Err(CellError::Quantity(QuantityError::NotWhole))
        );
        assert_eq!(
            parse_cell("abc", 50),
            Err(CellError::Quantity(QuantityError::NotANumber))
        );
        assert_eq!(parse_cell("51", 50), Err(CellError::AboveBound(50)));
    }

    #[test]
    fn the_sample_splits_retailers_into_thirds() {
        let licences: Vec<String> = (0..3000)
            .map(|i| format!("4201{:08}", 1000 + i * 7))
            .collect();
        let mut counts = [0usize; 3];
        for l in &licences {
            counts[usize::from(sample_group(l))] += 1;
        }
        for c in counts {
            assert!((850..=1150).contains(&c), "groups {counts:?}");
        }
    }

    proptest! {
        #[test]
        fn every_retailer_is_sampled_once_a_quarter(licence in "[0-9]{12}", start in 0i64..600) {
            let first = ym("2020-01").plus(start);
            let times = (0..3)
                .filter(|k| in_scope(Scope::Sample, first.plus(*k), &licence))
                .count();
            prop_assert_eq!(times, 1);
        }

        #[test]
        fn a_value_that_parses_passes_the_value_check(text in "[ 0-9.-]{0,8}", bound in 0i64..1000) {
            if let Ok(Some(v)) = parse_cell(&text, bound) {
                prop_assert_eq!(check_value(v, bound), Ok(()));
            }
        }
    }
}
