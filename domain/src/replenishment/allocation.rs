//! Scarce supply allocation (货源投放): the marketing center shares the
//! supply of one spec for a period of order days among the customer
//! classes as a cap per class, by a stated rule, "fairly, impartially and
//! openly" (公平公正、公开透明), never promising more than it has.
//!
//! ## What is counted
//!
//! - A retailer's **recorded demand per order day** is the weekly turnover
//!   (周转数) it keeps for the spec in its settings, rounded up to the spec's
//!   order multiple `m` (none when the spec is not in its settings).
//! - A retailer orders once a week on its order weekday, so its **order
//!   days** in the period are the dates in [from, to] with that weekday.
//! - Only **enrolled** retailers count: in online replenishment and open.
//!   A retailer "with demand" has a demand per order day above 0 and at
//!   least one order day in the period; the others count for nothing.
//! - The **expected quantity** of a class under a cap `c` is
//!   Σ over its retailers of order_days × min(c, demand per order day);
//!   its **demand** is the same sum without the cap. A retailer is **left
//!   wanting** when its demand per order day is above the cap.
//!
//! Every cap is a whole number of order multiples, at least 0, and the
//! expected quantities of all classes together never exceed the supply.
//! When the supply covers every class's whole demand, each rule gives the
//! smallest caps of its kind that meet all of it (so a class without
//! recorded demand may get 0). Otherwise:
//!
//! ## The rules
//!
//! - **By tier** ([`AllocationRule::Tier`]): the classes in rank order
//!   (lowest first; a higher rank is a better class) get weights 1, 2, …, K.
//!   At level `t` (a whole number) class `k` gets the cap
//!   m × ⌊t × w_k / K⌋: the highest class `t` multiples, the others in
//!   proportion to their weight, rounded down. The level is the largest `t`
//!   whose total expected quantity fits the supply (found by bisection:
//!   the total grows with `t`), and no cap is above the largest demand per
//!   order day of any retailer (more would promise what nobody recorded).
//!   Then what is left goes to the highest
//!   classes first: from the highest rank down, each class's cap is raised
//!   one multiple at a time while that adds to its expected quantity, the
//!   total still fits, and the cap stays no higher than the next higher
//!   class's. A higher class therefore never gets a smaller cap than a
//!   lower one.
//! - **In proportion to demand** ([`AllocationRule::Demand`]): for a share
//!   `s` of demand, each class gets the largest cap (at most its largest
//!   demand per order day) whose expected quantity is at most `s` × its
//!   demand. `s` is the largest multiple of 2⁻³² whose total fits (found by
//!   bisection). Then what is left goes, one multiple at a time, to the
//!   class with the smallest share of its demand met whose raise adds to
//!   its expected quantity and still fits (ties: the higher rank), until
//!   no raise fits. Each class thus gets about the same share
//!   of its demand; a class with no recorded demand gets 0.
//! - **Equal shares** ([`AllocationRule::Equal`]): one cap for every
//!   enrolled retailer of the listed classes, the largest whose total
//!   expected quantity fits; every other class gets 0.
//!
//! The result depends on the input only: classes are taken in the order
//! of (rank, code) and retailers by their demand, whatever order they come
//! in, so the same input always gives the same caps.

use std::cmp::Ordering;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::CapPeriod;
use crate::Lang;

/// The most supply one allocation may share out, in cartons.
pub const MAX_SUPPLY: i64 = 10_000_000;

/// The longest period of one allocation, in days.
pub const MAX_PERIOD_DAYS: i64 = 62;

/// The years an allocation's dates may fall in.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// How the supply is shared among the classes (see the module rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AllocationRule {
    /// By tier (按档位): higher classes never get a smaller cap than lower ones.
    Tier,
    /// In proportion to recorded demand (按需求比例): every class gets about
    /// the same share of its demand.
    Demand,
    /// Equal shares (平均分配): one cap for every enrolled retailer of the
    /// listed classes (codes); other classes get 0.
    Equal { classes: Vec<String> },
}

impl AllocationRule {
    /// The rule's stored name: `tier`, `demand` or `equal`.
    pub fn code(&self) -> &'static str {
        match self {
            AllocationRule::Tier => "tier",
            AllocationRule::Demand => "demand",
            AllocationRule::Equal { .. } => "equal",
        }
    }

    /// The rule from its stored name and, for `equal`, its classes.
    pub fn from_code(code: &str, classes: Vec<String>) -> Option<AllocationRule> {
        match code {
            "tier" => Some(AllocationRule::Tier),
            "demand" => Some(AllocationRule::Demand),
            "equal" => Some(AllocationRule::Equal { classes }),
            _ => None,
        }
    }

    /// The rule as people call it.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            AllocationRule::Tier => lang.pick("按档位", "By tier"),
            AllocationRule::Demand => lang.pick("按需求比例", "In proportion to demand"),
            AllocationRule::Equal { .. } => lang.pick("指定档位平均分配", "Equal shares"),
        }
    }
}

/// What the marketing center asks for: share `supply` cartons of a spec
/// over the order days from `from` to `to` (both included) by `rule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllocationRequest {
    pub spec_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Cartons available for the period.
    pub supply: i64,
    pub rule: AllocationRule,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error("no supply given")]
    SupplyMissing,
    #[error("supply out of range")]
    Supply,
    #[error("date out of range")]
    DateRange(&'static str),
    #[error("period ends before it starts")]
    PeriodOrder,
    #[error("period too long")]
    PeriodTooLong,
    #[error("no class chosen")]
    NoClasses,
    #[error("unknown class {0}")]
    UnknownClass(String),
    #[error("unknown spec")]
    UnknownSpec,
    #[error("period over")]
    Past,
}

impl AllocationError {
    /// The request field the error belongs to.
    pub fn field(&self) -> &'static str {
        match self {
            AllocationError::SupplyMissing | AllocationError::Supply => "supply",
            AllocationError::DateRange(field) => field,
            AllocationError::PeriodOrder
            | AllocationError::PeriodTooLong
            | AllocationError::Past => "to",
            AllocationError::NoClasses | AllocationError::UnknownClass(_) => "rule.classes",
            AllocationError::UnknownSpec => "spec_id",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (AllocationError::SupplyMissing, Lang::Zh) => "请填写可投放量".into(),
            (AllocationError::SupplyMissing, Lang::En) => "Enter the supply".into(),
            (AllocationError::Supply, Lang::Zh) => {
                format!("可投放量须为 0 到 {MAX_SUPPLY} 之间的整条数")
            }
            (AllocationError::Supply, Lang::En) => {
                format!("The supply must be whole cartons from 0 to {MAX_SUPPLY}")
            }
            (AllocationError::DateRange(_), Lang::Zh) => {
                format!("日期须在 {} 至 {} 年之间", YEARS.start(), YEARS.end())
            }
            (AllocationError::DateRange(_), Lang::En) => {
                format!("The date must be from {} to {}", YEARS.start(), YEARS.end())
            }
            (AllocationError::Past, Lang::Zh) => {
                "投放期已过：结束日期须不早于今天（已过的订货日不再订货）".into()
            }
            (AllocationError::Past, Lang::En) => {
                "The period is over: it must end today or later (past order days take no orders)"
                    .into()
            }
            (AllocationError::PeriodOrder, Lang::Zh) => "结束日期不能早于开始日期".into(),
            (AllocationError::PeriodOrder, Lang::En) => {
                "The period cannot end before it starts".into()
            }
            (AllocationError::PeriodTooLong, Lang::Zh) => {
                format!("投放期间最长 {MAX_PERIOD_DAYS} 天")
            }
            (AllocationError::PeriodTooLong, Lang::En) => {
                format!("The period is at most {MAX_PERIOD_DAYS} days")
            }
            (AllocationError::NoClasses, Lang::Zh) => "请至少选择一个档位".into(),
            (AllocationError::NoClasses, Lang::En) => "Choose at least one class".into(),
            (AllocationError::UnknownClass(code), Lang::Zh) => format!("没有档位 {code}"),
            (AllocationError::UnknownClass(code), Lang::En) => format!("No class {code}"),
            (AllocationError::UnknownSpec, Lang::Zh) => "请选择品规".into(),
            (AllocationError::UnknownSpec, Lang::En) => "Choose a spec".into(),
        }
    }
}

/// Reads the supply as a person typed it ([`crate::quantity::plain_number`]):
/// whole cartons from 0 to [`MAX_SUPPLY`].
pub fn parse_supply(input: &str) -> Result<i64, AllocationError> {
    let text = crate::quantity::plain_number(input).ok_or(AllocationError::SupplyMissing)?;
    let value: i64 = text.parse().map_err(|_| AllocationError::Supply)?;
    check_supply(value)?;
    Ok(value)
}

fn check_supply(supply: i64) -> Result<(), AllocationError> {
    if (0..=MAX_SUPPLY).contains(&supply) {
        Ok(())
    } else {
        Err(AllocationError::Supply)
    }
}

/// Checks a request against the classes there are (codes) and whether
/// its spec exists; every failure is reported.
pub fn check_request(
    request: &AllocationRequest,
    classes: &[String],
    spec_exists: bool,
) -> Vec<AllocationError> {
    let mut errors = Vec::new();
    if !spec_exists {
        errors.push(AllocationError::UnknownSpec);
    }
    if let Err(e) = check_supply(request.supply) {
        errors.push(e);
    }
    let out_of_range: Vec<AllocationError> = [("from", request.from), ("to", request.to)]
        .into_iter()
        .filter(|(_, d)| !YEARS.contains(&d.year()))
        .map(|(field, _)| AllocationError::DateRange(field))
        .collect();
    if !out_of_range.is_empty() {
        errors.extend(out_of_range);
    } else if request.from > request.to {
        errors.push(AllocationError::PeriodOrder);
    } else if period_days(request.from, request.to) > MAX_PERIOD_DAYS {
        errors.push(AllocationError::PeriodTooLong);
    }
    if let AllocationRule::Equal { classes: chosen } = &request.rule {
        if chosen.is_empty() {
            errors.push(AllocationError::NoClasses);
        }
        for code in chosen {
            if !classes.contains(code) {
                errors.push(AllocationError::UnknownClass(
                    code.chars().take(20).collect(),
                ));
                break;
            }
        }
    }
    errors
}

/// A period that ended before `today` (China) allocates nothing anyone can
/// order: refused, so that no such plan is published or filed.
pub fn check_not_past(request: &AllocationRequest, today: NaiveDate) -> Option<AllocationError> {
    (request.to < today).then_some(AllocationError::Past)
}

/// Days in [from, to], both included.
pub fn period_days(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days() + 1
}

/// A retailer's recorded demand per order day: its weekly turnover rounded
/// up to the order multiple.
pub fn demand_per_order_day(weekly_turnover: i64, order_multiple: i64) -> i64 {
    let m = order_multiple.max(1);
    let t = weekly_turnover.max(0);
    (t + m - 1) / m * m
}

/// The dates in [from, to] that fall on `weekday` (1 = Monday … 7 = Sunday).
pub fn order_days(from: NaiveDate, to: NaiveDate, weekday: u8) -> i64 {
    if from > to || !(1..=7).contains(&weekday) {
        return 0;
    }
    let start = i64::from(from.weekday().number_from_monday());
    let ahead = (i64::from(weekday) - start).rem_euclid(7);
    let days = (to - from).num_days();
    if ahead > days {
        0
    } else {
        (days - ahead) / 7 + 1
    }
}

/// One enrolled retailer's demand for the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetailerDemand {
    /// Recorded demand per order day ([`demand_per_order_day`]).
    pub per_day: i64,
    /// Its order days in the period ([`order_days`]).
    pub days: i64,
}

/// One class as the allocation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassInput {
    pub code: String,
    pub label: String,
    /// Higher is a better class.
    pub rank: i64,
    /// Enrolled retailers of the class, with demand or not.
    pub enrolled: i64,
    /// The enrolled retailers that have the spec in their settings.
    pub retailers: Vec<RetailerDemand>,
}

/// Everything an allocation depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationInput {
    pub order_multiple: i64,
    pub supply: i64,
    pub classes: Vec<ClassInput>,
}

/// One class's cap and what it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassAllocation {
    pub code: String,
    pub label: String,
    pub rank: i64,
    /// Enrolled retailers (online replenishment, open).
    pub enrolled: i64,
    /// Retailers with recorded demand in the period.
    pub with_demand: i64,
    /// Recorded demand over the period, cartons.
    pub demand: i64,
    /// Cap per retailer and order day, cartons.
    pub cap: i64,
    /// Expected quantity under the cap over the period, cartons.
    pub expected: i64,
    /// Retailers whose demand per order day is above the cap.
    pub wanting: i64,
    /// The standing cap the allocation replaces, where known.
    #[serde(default)]
    pub standing_cap: Option<i64>,
}

impl ClassAllocation {
    /// Share of the demand the cap meets; none without demand.
    pub fn share_met(&self) -> Option<f64> {
        share(self.expected, self.demand)
    }
}

/// The classes together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllocationTotals {
    pub enrolled: i64,
    pub with_demand: i64,
    pub demand: i64,
    pub expected: i64,
    pub wanting: i64,
}

impl AllocationTotals {
    pub fn share_met(&self) -> Option<f64> {
        share(self.expected, self.demand)
    }

    pub fn of(classes: &[ClassAllocation]) -> AllocationTotals {
        classes
            .iter()
            .fold(AllocationTotals::default(), |t, c| AllocationTotals {
                enrolled: t.enrolled + c.enrolled,
                with_demand: t.with_demand + c.with_demand,
                demand: t.demand + c.demand,
                expected: t.expected + c.expected,
                wanting: t.wanting + c.wanting,
            })
    }
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The caps of one allocation: the classes highest rank first, and totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub classes: Vec<ClassAllocation>,
    pub totals: AllocationTotals,
}

/// The preview of an allocation (nothing stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllocationPreview {
    pub spec_id: i64,
    pub spec_code: String,
    pub spec_name: String,
    pub scarce: bool,
    pub order_multiple: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub supply: i64,
    pub rule: AllocationRule,
    /// Highest rank first.
    pub classes: Vec<ClassAllocation>,
    pub totals: AllocationTotals,
    /// A published allocation of the spec whose period meets this one:
    /// publishing is refused until it is withdrawn.
    #[serde(default)]
    pub overlapping: Option<CapPeriod>,
}

/// A published allocation with its caps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishedAllocation {
    pub id: i64,
    pub spec_id: i64,
    pub spec_code: String,
    pub spec_name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub supply: i64,
    pub rule: AllocationRule,
    /// UNIX seconds.
    pub published_at: i64,
    pub published_by: String,
    /// UNIX seconds; the standing caps hold again from then on.
    pub withdrawn_at: Option<i64>,
    /// Highest rank first.
    pub classes: Vec<ClassAllocation>,
    pub totals: AllocationTotals,
}

/// The allocations whose period meets a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllocationList {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub month: crate::month::YearMonth,
    /// By period, then spec.
    pub allocations: Vec<PublishedAllocation>,
}

/// A class's retailers with demand, by demand per order day, with what
/// the expected quantity under any cap needs.
struct Curve {
    /// Demand per order day, ascending.
    per_day: Vec<i64>,
    /// `before[i]`: Σ days × demand of the first `i` retailers.
    before: Vec<i64>,
    /// `days_from[i]`: Σ days of retailers `i` and after.
    days_from: Vec<i64>,
}

impl Curve {
    fn new(retailers: &[RetailerDemand]) -> Curve {
        let mut rows: Vec<(i64, i64)> = retailers
            .iter()
            .filter(|r| r.per_day > 0 && r.days > 0)
            .map(|r| (r.per_day, r.days))
            .collect();
        rows.sort_unstable();
        let mut before = Vec::with_capacity(rows.len() + 1);
        before.push(0);
        for (q, d) in &rows {
            before.push(before.last().copied().unwrap_or(0) + q * d);
        }
        let mut days_from = vec![0; rows.len() + 1];
        for i in (0..rows.len()).rev() {
            days_from[i] = days_from[i + 1] + rows[i].1;
        }
        Curve {
            per_day: rows.into_iter().map(|r| r.0).collect(),
            before,
            days_from,
        }
    }

    /// Retailers at or below `cap`.
    fn within(&self, cap: i64) -> usize {
        self.per_day.partition_point(|&q| q <= cap)
    }

    fn expected(&self, cap: i64) -> i64 {
        let i = self.within(cap);
        self.before[i] + cap.max(0) * self.days_from[i]
    }

    fn demand(&self) -> i64 {
        self.before.last().copied().unwrap_or(0)
    }

    fn largest(&self) -> i64 {
        self.per_day.last().copied().unwrap_or(0)
    }

    fn wanting(&self, cap: i64) -> i64 {
        (self.per_day.len() - self.within(cap)) as i64
    }

    /// What one more multiple adds.
    fn step(&self, cap: i64, m: i64) -> i64 {
        self.expected(cap + m) - self.expected(cap)
    }
}

/// Shares the supply by `rule` (see the module rules). Classes come back
/// highest rank first.
pub fn allocate(input: &AllocationInput, rule: &AllocationRule) -> Allocation {
    let m = input.order_multiple.max(1);
    let supply = input.supply.max(0);
    let mut classes: Vec<&ClassInput> = input.classes.iter().collect();
    classes.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.code.cmp(&b.code)));
    let curves: Vec<Curve> = classes.iter().map(|c| Curve::new(&c.retailers)).collect();
    let caps = match rule {
        AllocationRule::Tier => by_tier(&curves, m, supply),
        AllocationRule::Demand => by_demand(&curves, m, supply),
        AllocationRule::Equal { classes: chosen } => {
            let listed: Vec<bool> = classes.iter().map(|c| chosen.contains(&c.code)).collect();
            equal(&curves, &listed, m, supply)
        }
    };
    let mut out: Vec<ClassAllocation> = classes
        .iter()
        .zip(&curves)
        .zip(caps)
        .map(|((class, curve), cap)| ClassAllocation {
            code: class.code.clone(),
            label: class.label.clone(),
            rank: class.rank,
            enrolled: class.enrolled,
            with_demand: curve.per_day.len() as i64,
            demand: curve.demand(),
            cap,
            expected: curve.expected(cap),
            wanting: curve.wanting(cap),
            standing_cap: None,
        })
        .collect();
    out.reverse();
    let totals = AllocationTotals::of(&out);
    Allocation {
        classes: out,
        totals,
    }
}

/// The largest `x` in [lo, hi] with `fits(x)`, for a `fits` true at `lo`
/// and true up to some point, false after.
fn largest_fitting(mut lo: i64, mut hi: i64, fits: impl Fn(i64) -> bool) -> i64 {
    while lo < hi {
        let mid = lo + (hi - lo + 1) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

fn by_tier(curves: &[Curve], m: i64, supply: i64) -> Vec<i64> {
    let k = curves.len() as i64;
    if k == 0 {
        return Vec::new();
    }
    let caps_at = |t: i64| -> Vec<i64> { (1..=k).map(|w| m * (t * w / k)).collect() };
    let total = |t: i64| -> i64 {
        curves
            .iter()
            .zip(caps_at(t))
            .map(|(c, cap)| c.expected(cap))
            .sum()
    };
    let largest = curves.iter().map(Curve::largest).max().unwrap_or(0);
    let demand: i64 = curves.iter().map(Curve::demand).sum();
    // From this level on even the lowest class's cap meets every demand.
    let top = k * (largest / m + 1);
    let t = if total(top) <= supply {
        // All demand fits: the lowest level that meets it.
        top - largest_fitting(0, top, |x| total(top - x) >= demand)
    } else {
        largest_fitting(0, top, |t| total(t) <= supply)
    };
    let mut caps: Vec<i64> = caps_at(t).into_iter().map(|c| c.min(largest)).collect();
    let mut used: i64 = curves
        .iter()
        .zip(&caps)
        .map(|(c, &cap)| c.expected(cap))
        .sum();
    for i in (0..curves.len()).rev() {
        loop {
            let next = caps[i] + m;
            if i + 1 < caps.len() && next > caps[i + 1] {
                break;
            }
            let step = curves[i].step(caps[i], m);
            if step == 0 || used + step > supply {
                break;
            }
            caps[i] = next;
            used += step;
        }
    }
    caps
}

fn by_demand(curves: &[Curve], m: i64, supply: i64) -> Vec<i64> {
    let total_demand: i64 = curves.iter().map(Curve::demand).sum();
    if total_demand <= supply {
        return curves.iter().map(Curve::largest).collect();
    }
    const WHOLE: i64 = 1 << 32;
    // The largest cap of a class whose expected quantity is at most
    // share/WHOLE of its demand.
    let cap_for = |curve: &Curve, share: i64| -> i64 {
        let bound = i128::from(share) * i128::from(curve.demand());
        let x = largest_fitting(0, curve.largest() / m, |x| {
            i128::from(curve.expected(x * m)) * i128::from(WHOLE) <= bound
        });
        x * m
    };
    let total = |share: i64| -> i64 { curves.iter().map(|c| c.expected(cap_for(c, share))).sum() };
    let share = largest_fitting(0, WHOLE, |s| total(s) <= supply);
    let mut caps: Vec<i64> = curves.iter().map(|c| cap_for(c, share)).collect();
    let mut used: i64 = curves
        .iter()
        .zip(&caps)
        .map(|(c, &cap)| c.expected(cap))
        .sum();
    loop {
        // Classes in rank order, lowest first: of equal shares the later
        // (higher rank) wins.
        let mut best: Option<(usize, i64)> = None;
        for (i, curve) in curves.iter().enumerate() {
            let step = curve.step(caps[i], m);
            if step == 0 || used + step > supply {
                continue;
            }
            let lower = match best {
                None => true,
                Some((b, _)) => {
                    let mine = i128::from(curve.expected(caps[i])) * i128::from(curves[b].demand());
                    let theirs =
                        i128::from(curves[b].expected(caps[b])) * i128::from(curve.demand());
                    mine.cmp(&theirs) != Ordering::Greater
                }
            };
            if lower {
                best = Some((i, step));
            }
        }
        let Some((i, step)) = best else {
            break;
        };
        caps[i] += m;
        used += step;
    }
    caps
}

fn equal(curves: &[Curve], listed: &[bool], m: i64, supply: i64) -> Vec<i64> {
    let chosen: Vec<&Curve> = curves
        .iter()
        .zip(listed)
        .filter(|(_, &l)| l)
        .map(|(c, _)| c)
        .collect();
    let largest = chosen.iter().map(|c| c.largest()).max().unwrap_or(0);
    let total = |cap: i64| -> i64 { chosen.iter().map(|c| c.expected(cap)).sum() };
    let x = largest_fitting(0, largest / m, |x| total(x * m) <= supply);
    let cap = x * m;
    listed.iter().map(|&l| if l { cap } else { 0 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn class(rank: i64, retailers: &[(i64, i64)]) -> ClassInput {
        ClassInput {
            code: rank.to_string(),
            label: format!("{rank}档"),
            rank,
            enrolled: retailers.len() as i64 + 1,
            retailers: retailers
                .iter()
                .map(|&(per_day, days)| RetailerDemand { per_day, days })
                .collect(),
        }
    }

    fn caps(a: &Allocation) -> Vec<(String, i64)> {
        a.classes.iter().map(|c| (c.code.clone(), c.cap)).collect()
    }

    #[test]
    fn order_days_are_the_dates_on_the_retailers_weekday() {
        // 2026-11-02 is a Monday.
        let (from, to) = (day(2026, 11, 2), day(2026, 11, 15));
        assert_eq!(order_days(from, to, 1), 2, "two Mondays");
        assert_eq!(order_days(from, to, 7), 2, "two Sundays");
        assert_eq!(order_days(day(2026, 11, 3), to, 1), 1, "the 9th only");
        assert_eq!(order_days(from, from, 1), 1);
        assert_eq!(order_days(from, from, 2), 0);
        assert_eq!(order_days(to, from, 1), 0, "an empty period");
        assert_eq!(order_days(from, to, 0), 0, "no such weekday");
    }

    #[test]
    fn demand_per_order_day_is_the_turnover_rounded_up_to_the_multiple() {
        assert_eq!(demand_per_order_day(5, 2), 6);
        assert_eq!(demand_per_order_day(6, 2), 6);
        assert_eq!(demand_per_order_day(0, 2), 0);
        assert_eq!(demand_per_order_day(3, 1), 3);
    }

    #[test]
    fn enough_supply_meets_all_demand_with_the_smallest_caps() {
        let input = AllocationInput {
            order_multiple: 1,
            supply: 1000,
            classes: vec![class(1, &[(2, 1), (3, 2)]), class(2, &[(5, 1)])],
        };
        for rule in [AllocationRule::Tier, AllocationRule::Demand] {
            let a = allocate(&input, &rule);
            assert_eq!(a.totals.expected, a.totals.demand, "{rule:?}");
            assert_eq!(a.totals.demand, 2 + 6 + 5);
            assert_eq!(a.totals.wanting, 0);
        }
        assert_eq!(
            caps(&allocate(&input, &AllocationRule::Demand)),
            [("2".into(), 5), ("1".into(), 3)]
        );
        // By tier: level t gives the top class t and the lower one ⌊t/2⌋;
        // the lower class needs 3, so t = 6, and no cap is above the
        // largest demand, 5.
        assert_eq!(
            caps(&allocate(&input, &AllocationRule::Tier)),
            [("2".into(), 5), ("1".into(), 3)]
        );
    }

    #[test]
    fn by_tier_the_higher_class_gets_more_and_leftovers_go_to_the_top() {
        // Ten retailers per class, each wanting 10 a day on one order day.
        let ten = [(10, 1); 10];
        let input = AllocationInput {
            order_multiple: 1,
            supply: 95,
            classes: vec![class(1, &ten), class(2, &ten)],
        };
        let a = allocate(&input, &AllocationRule::Tier);
        // Level 6: caps 6 and 3 → 90; level 7: 7 and 3 → 100 > 95. No
        // leftover raise of 10 fits.
        assert_eq!(caps(&a), [("2".into(), 6), ("1".into(), 3)]);
        assert_eq!(a.totals.expected, 90);
        assert_eq!(a.classes[0].wanting, 10);
        assert_eq!(a.classes[0].share_met(), Some(0.6));
    }

    #[test]
    fn in_proportion_to_demand_every_class_gets_about_the_same_share() {
        let input = AllocationInput {
            order_multiple: 1,
            supply: 60,
            classes: vec![class(1, &[(10, 1); 4]), class(2, &[(10, 1); 8])],
        };
        let a = allocate(&input, &AllocationRule::Demand);
        assert_eq!(a.totals.expected, 60);
        assert_eq!(a.classes[0].share_met(), Some(0.5));
        assert_eq!(a.classes[1].share_met(), Some(0.5));
        assert_eq!(caps(&a), [("2".into(), 5), ("1".into(), 5)]);
    }

    #[test]
    fn equal_shares_give_one_cap_to_the_listed_classes_and_none_to_the_rest() {
        let input = AllocationInput {
            order_multiple: 2,
            supply: 25,
            classes: vec![
                class(1, &[(10, 1); 3]),
                class(2, &[(10, 1); 2]),
                class(3, &[(10, 1); 5]),
            ],
        };
        let rule = AllocationRule::Equal {
            classes: vec!["1".into(), "2".into()],
        };
        let a = allocate(&input, &rule);
        // Five retailers: cap 4 uses 20; cap 6 would use 30.
        assert_eq!(
            caps(&a),
            [("3".into(), 0), ("2".into(), 4), ("1".into(), 4)]
        );
        assert_eq!(a.totals.expected, 20);
        assert_eq!(a.classes[0].wanting, 5);
    }

    #[test]
    fn a_class_without_demand_gets_nothing_in_proportion_to_demand() {
        let input = AllocationInput {
            order_multiple: 1,
            supply: 5,
            classes: vec![class(1, &[]), class(2, &[(10, 1)])],
        };
        let a = allocate(&input, &AllocationRule::Demand);
        assert_eq!(caps(&a), [("2".into(), 5), ("1".into(), 0)]);
        assert_eq!(a.classes[1].share_met(), None);
    }

    #[test]
    fn requests_are_checked_field_by_field() {
        let classes = vec!["1".to_string(), "2".to_string()];
        let request = AllocationRequest {
            spec_id: 1,
            from: day(2026, 11, 10),
            to: day(2026, 11, 1),
            supply: -1,
            rule: AllocationRule::Equal { classes: vec![] },
        };
        let errors = check_request(&request, &classes, false);
        assert_eq!(
            errors
                .iter()
                .map(AllocationError::field)
                .collect::<Vec<_>>(),
            ["spec_id", "supply", "to", "rule.classes"]
        );
        assert_eq!(errors[2].message(Lang::Zh), "结束日期不能早于开始日期");
        let long = AllocationRequest {
            to: day(2027, 1, 11),
            supply: MAX_SUPPLY,
            rule: AllocationRule::Equal {
                classes: vec!["9".into()],
            },
            ..request.clone()
        };
        assert_eq!(
            check_request(&long, &classes, true),
            [
                AllocationError::PeriodTooLong,
                AllocationError::UnknownClass("9".into())
            ]
        );
        let fine = AllocationRequest {
            to: day(2027, 1, 10),
            rule: AllocationRule::Tier,
            ..long
        };
        assert_eq!(check_request(&fine, &classes, true), [], "62 days");
        let far = AllocationRequest {
            from: day(1999, 12, 31),
            to: day(2101, 1, 1),
            ..fine.clone()
        };
        assert_eq!(
            check_request(&far, &classes, true)
                .iter()
                .map(AllocationError::field)
                .collect::<Vec<_>>(),
            ["from", "to"]
        );
        assert_eq!(parse_supply(" １２０ "), Ok(120));
        assert_eq!(parse_supply(""), Err(AllocationError::SupplyMissing));
        assert_eq!(parse_supply("1.5"), Err(AllocationError::Supply));
        assert_eq!(parse_supply("10000001"), Err(AllocationError::Supply));
    }

    #[test]
    fn rules_read_and_write_as_tagged_json() {
        let rule = AllocationRule::Equal {
            classes: vec!["30".into()],
        };
        let json = serde_json::to_value(&rule).expect("json");
        assert_eq!(
            json,
            serde_json::json!({ "kind": "equal", "classes": ["30"] })
        );
        assert_eq!(
            serde_json::from_value::<AllocationRule>(serde_json::json!({ "kind": "tier" }))
                .expect("tier"),
            AllocationRule::Tier
        );
        assert_eq!(
            AllocationRule::from_code(rule.code(), vec!["30".into()]),
            Some(rule)
        );
    }

    /// An input and a rule; an equal-shares rule lists some of the
    /// input's classes (and perhaps none).
    fn arb_case() -> impl Strategy<Value = (AllocationInput, AllocationRule)> {
        let retailer = (0i64..40, 0i64..6);
        let class_input = (
            0i64..1000,
            proptest::collection::vec(retailer, 0..25),
            0i64..5,
        );
        (
            1i64..6,
            0i64..3000,
            proptest::collection::vec(class_input, 1..8),
            0u8..3,
            proptest::collection::vec(any::<bool>(), 8),
        )
            .prop_map(|(m, supply, classes, kind, listed)| {
                let mut seen = std::collections::HashSet::new();
                let input = AllocationInput {
                    order_multiple: m,
                    supply,
                    classes: classes
                        .into_iter()
                        .filter(|c| seen.insert(c.0))
                        .map(|(rank, retailers, extra)| ClassInput {
                            code: format!("c{rank}"),
                            label: String::new(),
                            rank,
                            enrolled: retailers.len() as i64 + extra,
                            retailers: retailers
                                .into_iter()
                                .map(|(t, days)| RetailerDemand {
                                    per_day: demand_per_order_day(t, m),
                                    days,
                                })
                                .collect(),
                        })
                        .collect(),
                };
                let rule = match kind {
                    0 => AllocationRule::Tier,
                    1 => AllocationRule::Demand,
                    _ => AllocationRule::Equal {
                        classes: input
                            .classes
                            .iter()
                            .zip(&listed)
                            .filter(|(_, &l)| l)
                            .map(|(c, _)| c.code.clone())
                            .collect(),
                    },
                };
                (input, rule)
            })
    }

    /// Whether one class's cap could be raised by a multiple under the
    /// rule without breaking it (more expected, within supply, monotone).
    fn could_raise(
        input: &AllocationInput,
        a: &Allocation,
        i: usize,
        rule: &AllocationRule,
    ) -> bool {
        let m = input.order_multiple;
        let class = &a.classes[i];
        let curve = Curve::new(
            &input
                .classes
                .iter()
                .find(|c| c.code == class.code)
                .expect("class")
                .retailers,
        );
        let step = curve.step(class.cap, m);
        let fits = step > 0 && a.totals.expected + step <= input.supply;
        match rule {
            AllocationRule::Tier => fits && (i == 0 || class.cap + m <= a.classes[i - 1].cap),
            AllocationRule::Demand => fits,
            AllocationRule::Equal { .. } => false,
        }
    }

    proptest! {
        #[test]
        fn an_allocation_never_exceeds_the_supply_and_keeps_whole_multiples(
            (input, rule) in arb_case(),
        ) {
            let a = allocate(&input, &rule);
            let m = input.order_multiple;
            prop_assert!(a.totals.expected <= input.supply, "within the supply");
            prop_assert!(a.totals.expected <= a.totals.demand);
            let largest = input.classes.iter().flat_map(|c| &c.retailers)
                .filter(|r| r.days > 0).map(|r| r.per_day).max().unwrap_or(0);
            for c in &a.classes {
                prop_assert!(c.cap >= 0);
                prop_assert!(c.cap <= largest, "no cap above the largest demand");
                prop_assert_eq!(c.cap % m, 0, "whole multiples");
                prop_assert!(c.expected >= 0 && c.expected <= c.demand);
            }
            if a.totals.demand <= input.supply && !matches!(rule, AllocationRule::Equal { .. }) {
                prop_assert_eq!(a.totals.expected, a.totals.demand, "enough supply meets all demand");
            }
            for i in 0..a.classes.len() {
                prop_assert!(!could_raise(&input, &a, i, &rule), "no supply left that a raise could use: class {}", i);
            }
            match &rule {
                AllocationRule::Tier => {
                    for pair in a.classes.windows(2) {
                        prop_assert!(pair[0].rank > pair[1].rank);
                        prop_assert!(pair[0].cap >= pair[1].cap, "a higher tier never gets less");
                    }
                }
                AllocationRule::Equal { classes } => {
                    let listed: Vec<i64> = a.classes.iter().filter(|c| classes.contains(&c.code)).map(|c| c.cap).collect();
                    prop_assert!(listed.windows(2).all(|w| w[0] == w[1]), "one cap");
                    prop_assert!(a.classes.iter().filter(|c| !classes.contains(&c.code)).all(|c| c.cap == 0));
                    let cap = listed.first().copied().unwrap_or(0);
                    let more: i64 = input.classes.iter().filter(|c| classes.contains(&c.code))
                        .map(|c| Curve::new(&c.retailers).expected(cap + m)).sum();
                    prop_assert!(more == a.totals.expected || more > input.supply, "the largest cap that fits");
                }
                AllocationRule::Demand => {}
            }
        }

        #[test]
        fn the_same_input_in_any_order_gives_the_same_caps(
            (input, rule) in arb_case(), seed in any::<u64>(),
        ) {
            let a = allocate(&input, &rule);
            prop_assert_eq!(&allocate(&input, &rule), &a, "stable");
            let mut shuffled = input.clone();
            // A deterministic shuffle from the seed.
            let mut state = seed | 1;
            let mut next = move |n: usize| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % n.max(1) as u64) as usize
            };
            for c in &mut shuffled.classes {
                for i in (1..c.retailers.len()).rev() {
                    let j = next(i + 1);
                    c.retailers.swap(i, j);
                }
            }
            for i in (1..shuffled.classes.len()).rev() {
                let j = next(i + 1);
                shuffled.classes.swap(i, j);
            }
            prop_assert_eq!(allocate(&shuffled, &rule), a);
        }
    }
}
