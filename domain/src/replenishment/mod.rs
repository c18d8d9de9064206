//! Online replenishment (网上配货): a retailer's per-spec settings, the checks
//! on them, and the proposed order (建议订单) cut to the supply caps.
//!
//! The proposal rule, per spec:
//! 1. when stock ≤ lower limit, want = upper − stock + turnover × lead_days / 7
//!    (the part sold before delivery is rounded up to whole cartons);
//! 2. round `want` up to the order multiple;
//! 3. cut to the spec's cap for the retailer's class (rounded down to the multiple);
//! 4. if the order's sum exceeds the total cap per order, share the cap out
//!    fairly: scarce specs give up their quantity first; then the remaining
//!    cap is shared in proportion to what each spec wanted, in whole multiples,
//!    with the leftover multiples going to the largest remainders (ties: the
//!    larger want, then the lower spec id). The total never exceeds the cap.
//!
//! Caps, multiples, lead days and the stock-to-sales norm are data passed in.

pub mod allocation;
pub mod fill_rate;
mod order;
pub mod order_flow;
mod policy;
mod view;

pub use order::{
    check_not_empty, check_order, cutoff_at, is_open, next_order_date, order_lines, order_value,
    window_date, OrderError, OrderLineInput, OrderStatus, STALE_ORDER_DAYS,
};
pub use policy::{check_cap, check_multiple, check_policy, check_weekday, PolicyError};
pub use view::*;

use serde::{Deserialize, Serialize};

use crate::quantity::Cartons;
use crate::Lang;

/// Settings of the marketing center that drive proposals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplenishmentPolicy {
    /// Days from ordering to delivery.
    pub lead_days: u32,
    /// Upper end of the normal monthly stock-to-sales ratio (月库存销比), 0.5 by default.
    pub stock_to_sales_norm: f64,
    /// Weeks in a month for the norm, 4.3 by default.
    pub weeks_per_month: f64,
    /// The order window of an order day closes this many days before it
    /// (1: the day before) ...
    #[serde(default = "default_cutoff_days")]
    pub cutoff_days_before: u32,
    /// ... at this hour, China time (17: at 17:00).
    #[serde(default = "default_cutoff_hour")]
    pub cutoff_hour: u32,
}

fn default_cutoff_days() -> u32 {
    1
}

fn default_cutoff_hour() -> u32 {
    17
}

impl Default for ReplenishmentPolicy {
    fn default() -> Self {
        Self {
            lead_days: 2,
            stock_to_sales_norm: 0.5,
            weeks_per_month: 4.3,
            cutoff_days_before: default_cutoff_days(),
            cutoff_hour: default_cutoff_hour(),
        }
    }
}

/// The caps that apply to one spec for one retailer's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecRule {
    pub spec_id: i64,
    /// Per-order cap for the class (单品批次购进量不超过 N 条).
    pub class_cap: i64,
    /// Orders come in whole multiples of this many cartons (≥ 1).
    pub order_multiple: i64,
    pub scarce: bool,
    pub orderable: bool,
}

/// A retailer's settings for one spec, as entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecSettings {
    pub spec_id: i64,
    /// Stock on hand (品牌库存).
    pub stock: Cartons,
    /// Lower stock limit (库存下限).
    pub lower: Cartons,
    /// Upper stock limit (库存上限).
    pub upper: Cartons,
    /// Weekly turnover (周转数), cartons sold per week.
    pub weekly_turnover: Cartons,
}

/// Why a setting was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("lower limit above upper limit")]
    LowerAboveUpper,
    #[error("upper limit above the class cap {0}")]
    UpperAboveCap(i64),
    #[error("spec not orderable")]
    NotOrderable,
    #[error("spec not in the catalogue")]
    UnknownSpec,
    #[error("spec listed twice")]
    Duplicate,
}

impl SettingsError {
    /// The field the error belongs to.
    pub fn field(self) -> &'static str {
        match self {
            SettingsError::LowerAboveUpper => "lower",
            SettingsError::UpperAboveCap(_) => "upper",
            SettingsError::NotOrderable | SettingsError::UnknownSpec | SettingsError::Duplicate => {
                "spec_id"
            }
        }
    }

    pub fn message(self, lang: Lang) -> String {
        match (self, lang) {
            (SettingsError::LowerAboveUpper, Lang::Zh) => "库存下限不能大于上限".into(),
            (SettingsError::LowerAboveUpper, Lang::En) => {
                "The lower limit cannot exceed the upper limit".into()
            }
            (SettingsError::UpperAboveCap(cap), Lang::Zh) => {
                format!("库存上限不能超过本档位限量 {cap} 条")
            }
            (SettingsError::UpperAboveCap(cap), Lang::En) => {
                format!("The upper limit cannot exceed your class cap of {cap} cartons")
            }
            (SettingsError::NotOrderable, Lang::Zh) => "该品规目前不可订购".into(),
            (SettingsError::NotOrderable, Lang::En) => "This spec cannot be ordered now".into(),
            (SettingsError::UnknownSpec, Lang::Zh) => "品规不存在".into(),
            (SettingsError::UnknownSpec, Lang::En) => "No such spec".into(),
            (SettingsError::Duplicate, Lang::Zh) => "该品规已在列表中".into(),
            (SettingsError::Duplicate, Lang::En) => "This spec is already listed".into(),
        }
    }
}

/// Checks one spec's settings against the rules; every failure is reported.
pub fn check_settings(settings: &SpecSettings, rule: &SpecRule) -> Vec<SettingsError> {
    let mut errors = Vec::new();
    if !rule.orderable {
        errors.push(SettingsError::NotOrderable);
    }
    if settings.lower > settings.upper {
        errors.push(SettingsError::LowerAboveUpper);
    }
    if settings.upper.get() > rule.class_cap {
        errors.push(SettingsError::UpperAboveCap(rule.class_cap));
    }
    errors
}

/// Checks a retailer's whole list of settings: each line against its spec's
/// rule (matched by id), and no spec twice. Errors carry the line's index.
pub fn check_all_settings(
    settings: &[SpecSettings],
    rules: &[SpecRule],
) -> Vec<(usize, SettingsError)> {
    let mut errors = Vec::new();
    for (i, s) in settings.iter().enumerate() {
        if settings[..i].iter().any(|o| o.spec_id == s.spec_id) {
            errors.push((i, SettingsError::Duplicate));
            continue;
        }
        match rules.iter().find(|r| r.spec_id == s.spec_id) {
            Some(rule) => errors.extend(check_settings(s, rule).into_iter().map(|e| (i, e))),
            None => errors.push((i, SettingsError::UnknownSpec)),
        }
    }
    errors
}

/// Advice that does not block saving.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SettingsWarning {
    /// The upper limit exceeds what the stock-to-sales norm allows (the bound given).
    AboveStockNorm(i64),
    /// Limits are set but the spec does not sell.
    NoTurnover,
}

impl SettingsWarning {
    pub fn message(self, lang: Lang) -> String {
        match (self, lang) {
            (SettingsWarning::AboveStockNorm(bound), Lang::Zh) => {
                format!("上限高于库存销比建议值（约 {bound} 条）")
            }
            (SettingsWarning::AboveStockNorm(bound), Lang::En) => {
                format!("The upper limit is above the stock-to-sales norm (about {bound} cartons)")
            }
            (SettingsWarning::NoTurnover, Lang::Zh) => "周转数为 0，但设置了库存上下限".into(),
            (SettingsWarning::NoTurnover, Lang::En) => {
                "Turnover is 0 but stock limits are set".into()
            }
        }
    }
}

/// Warnings for one spec's settings under the policy.
pub fn warnings(settings: &SpecSettings, policy: &ReplenishmentPolicy) -> Vec<SettingsWarning> {
    let mut out = Vec::new();
    let turnover = settings.weekly_turnover.get();
    if turnover == 0 && (settings.lower.get() > 0 || settings.upper.get() > 0) {
        out.push(SettingsWarning::NoTurnover);
    } else {
        let bound =
            (policy.stock_to_sales_norm * policy.weeks_per_month * turnover as f64).ceil() as i64;
        if settings.upper.get() > bound {
            out.push(SettingsWarning::AboveStockNorm(bound));
        }
    }
    out
}

/// Days of cover: stock ÷ turnover × 7; `None` when the spec does not sell.
pub fn days_of_cover(stock: Cartons, weekly_turnover: Cartons) -> Option<f64> {
    (weekly_turnover.get() > 0).then(|| stock.get() as f64 / weekly_turnover.get() as f64 * 7.0)
}

/// Why a proposed quantity is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// Stock is at or below the lower limit.
    BelowLower,
    /// Stock is above the lower limit: nothing to order.
    StockSufficient,
    /// Cartons ordered on an earlier order day and not yet delivered,
    /// counted as stock (not ordered twice).
    OnOrder { cartons: i64 },
    /// Rounded up to the order multiple.
    RoundedToMultiple { multiple: i64 },
    /// Cut to the class cap.
    CutByClassCap { cap: i64 },
    /// Cut when sharing out the total cap.
    CutByTotalCap { cap: i64 },
}

impl Reason {
    /// The reason as shown beside a proposed quantity.
    pub fn message(self, lang: Lang) -> String {
        match (self, lang) {
            (Reason::BelowLower, Lang::Zh) => "库存低于下限".into(),
            (Reason::BelowLower, Lang::En) => "Stock at or below the lower limit".into(),
            (Reason::StockSufficient, Lang::Zh) => "库存充足，无需订购".into(),
            (Reason::StockSufficient, Lang::En) => "Stock is sufficient".into(),
            (Reason::OnOrder { cartons }, Lang::Zh) => format!("已订未到 {cartons} 条，计入库存"),
            (Reason::OnOrder { cartons }, Lang::En) => {
                format!("{cartons} cartons ordered and not yet delivered count as stock")
            }
            (Reason::RoundedToMultiple { multiple }, Lang::Zh) => {
                format!("按 {multiple} 条的倍数取整")
            }
            (Reason::RoundedToMultiple { multiple }, Lang::En) => {
                format!("Rounded up to a multiple of {multiple}")
            }
            (Reason::CutByClassCap { cap }, Lang::Zh) => format!("受档位单品限量 {cap} 条限制"),
            (Reason::CutByClassCap { cap }, Lang::En) => {
                format!("Cut to the class cap of {cap} cartons")
            }
            (Reason::CutByTotalCap { cap }, Lang::Zh) => format!("受单次订货总量 {cap} 条限制"),
            (Reason::CutByTotalCap { cap }, Lang::En) => {
                format!("Cut to share the order cap of {cap} cartons")
            }
        }
    }

    /// Whether a cap bit (the line was cut).
    pub fn is_cut(self) -> bool {
        matches!(
            self,
            Reason::CutByClassCap { .. } | Reason::CutByTotalCap { .. }
        )
    }
}

/// One line of a proposed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalLine {
    pub spec_id: i64,
    /// What the settings call for before any cap.
    pub wanted: i64,
    /// What is proposed after the caps.
    pub quantity: i64,
    pub reasons: Vec<Reason>,
}

impl ProposalLine {
    /// Demand the caps cut off (censored demand), recorded on confirmation.
    pub fn cut_off(&self) -> i64 {
        self.wanted - self.quantity
    }
}

fn round_up(value: i64, multiple: i64) -> i64 {
    let m = multiple.max(1);
    (value + m - 1).div_euclid(m) * m
}

fn round_down(value: i64, multiple: i64) -> i64 {
    let m = multiple.max(1);
    value.div_euclid(m) * m
}

/// Cartons of one spec ordered on earlier order days and not yet delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OnOrder {
    pub spec_id: i64,
    pub cartons: i64,
}

/// Proposes an order from settings and rules (matched by spec id; a setting
/// without a rule or for a spec not orderable gets nothing), under a total cap.
/// What is on order and not yet delivered counts as stock, so that nothing is
/// ordered twice: the stock position is stock + on order.
pub fn propose(
    settings: &[SpecSettings],
    rules: &[SpecRule],
    total_cap: Option<i64>,
    policy: &ReplenishmentPolicy,
    on_order: &[OnOrder],
) -> Vec<ProposalLine> {
    let mut lines: Vec<(ProposalLine, SpecRule)> = Vec::new();
    for s in settings {
        let Some(rule) = rules.iter().find(|r| r.spec_id == s.spec_id).copied() else {
            continue;
        };
        let mut reasons = Vec::new();
        let mut wanted = 0;
        let ordered: i64 = on_order
            .iter()
            .filter(|o| o.spec_id == s.spec_id)
            .map(|o| o.cartons.max(0))
            .sum();
        let position = s.stock.get().saturating_add(ordered);
        if ordered > 0 {
            reasons.push(Reason::OnOrder { cartons: ordered });
        }
        if rule.orderable && position <= s.lower.get() {
            reasons.push(Reason::BelowLower);
            let in_transit = (s.weekly_turnover.get() * i64::from(policy.lead_days) + 6) / 7;
            let raw = (s.upper.get() - position).max(0) + in_transit;
            wanted = round_up(raw, rule.order_multiple);
            if wanted != raw {
                reasons.push(Reason::RoundedToMultiple {
                    multiple: rule.order_multiple.max(1),
                });
            }
        } else if rule.orderable {
            reasons.push(Reason::StockSufficient);
        }
        let cap = round_down(rule.class_cap.max(0), rule.order_multiple);
        let mut quantity = wanted;
        if quantity > cap {
            quantity = cap;
            reasons.push(Reason::CutByClassCap {
                cap: rule.class_cap,
            });
        }
        lines.push((
            ProposalLine {
                spec_id: s.spec_id,
                wanted,
                quantity,
                reasons,
            },
            rule,
        ));
    }
    if let Some(cap) = total_cap {
        share_total_cap(&mut lines, cap.max(0));
    }
    lines.into_iter().map(|(line, _)| line).collect()
}

/// Cuts the lines so their sum fits `cap` (see the module rule).
fn share_total_cap(lines: &mut [(ProposalLine, SpecRule)], cap: i64) {
    let sum: i64 = lines.iter().map(|(l, _)| l.quantity).sum();
    if sum <= cap {
        return;
    }
    let (scarce, plain): (Vec<usize>, Vec<usize>) =
        (0..lines.len()).partition(|&i| lines[i].1.scarce);
    let plain_sum: i64 = plain.iter().map(|&i| lines[i].0.quantity).sum();
    if plain_sum <= cap {
        share(lines, &scarce, cap - plain_sum, cap);
    } else {
        share(lines, &scarce, 0, cap);
        share(lines, &plain, cap, cap);
    }
}

/// Shares `budget` among the lines `idx` in proportion to their quantities, in
/// whole order multiples, leftovers to the largest remainders.
fn share(lines: &mut [(ProposalLine, SpecRule)], idx: &[usize], budget: i64, cap: i64) {
    let demand: i64 = idx.iter().map(|&i| lines[i].0.quantity).sum();
    if demand <= budget {
        return;
    }
    let mut allocated: Vec<(usize, i64, i128)> = idx
        .iter()
        .map(|&i| {
            let (line, rule) = &lines[i];
            let exact = i128::from(line.quantity) * i128::from(budget);
            let floor = (exact / i128::from(demand)) as i64;
            let whole = round_down(floor, rule.order_multiple);
            (i, whole, exact - i128::from(whole) * i128::from(demand))
        })
        .collect();
    let mut left = budget - allocated.iter().map(|a| a.1).sum::<i64>();
    allocated.sort_by(|a, b| {
        b.2.cmp(&a.2)
            .then(lines[b.0].0.quantity.cmp(&lines[a.0].0.quantity))
            .then(lines[a.0].0.spec_id.cmp(&lines[b.0].0.spec_id))
    });
    let mut progress = true;
    while left > 0 && progress {
        progress = false;
        for a in allocated.iter_mut() {
            let step = lines[a.0].1.order_multiple.max(1);
            if step <= left && a.1 + step <= lines[a.0].0.quantity {
                a.1 += step;
                left -= step;
                progress = true;
            }
        }
    }
    for (i, quantity, _) in allocated {
        let line = &mut lines[i].0;
        if quantity < line.quantity {
            line.quantity = quantity;
            line.reasons.push(Reason::CutByTotalCap { cap });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(n: i64) -> Cartons {
        Cartons::new(n).expect("valid")
    }

    fn setting(spec_id: i64, stock: i64, lower: i64, upper: i64, turnover: i64) -> SpecSettings {
        SpecSettings {
            spec_id,
            stock: c(stock),
            lower: c(lower),
            upper: c(upper),
            weekly_turnover: c(turnover),
        }
    }

    fn rule(spec_id: i64, class_cap: i64, order_multiple: i64, scarce: bool) -> SpecRule {
        SpecRule {
            spec_id,
            class_cap,
            order_multiple,
            scarce,
            orderable: true,
        }
    }

    #[test]
    fn below_the_lower_limit_orders_up_to_the_upper_plus_what_sells_before_delivery() {
        let policy = ReplenishmentPolicy {
            lead_days: 3,
            ..Default::default()
        };
        let lines = propose(
            &[setting(1, 2, 3, 10, 7)],
            &[rule(1, 100, 1, false)],
            None,
            &policy,
            &[],
        );
        assert_eq!(lines[0].quantity, 10 - 2 + 3, "upper − stock + 7 × 3 / 7");
        assert_eq!(lines[0].reasons, vec![Reason::BelowLower]);
    }

    #[test]
    fn cartons_on_order_count_as_stock_so_nothing_is_ordered_twice() {
        let policy = ReplenishmentPolicy {
            lead_days: 0,
            ..Default::default()
        };
        let rules = [rule(1, 100, 1, false)];
        let settings = [setting(1, 2, 3, 10, 0)];
        let on = |cartons| {
            [OnOrder {
                spec_id: 1,
                cartons,
            }]
        };
        let lines = propose(&settings, &rules, None, &policy, &on(5));
        assert_eq!(
            lines[0].quantity, 0,
            "2 in stock + 5 on order is above the lower limit 3"
        );
        assert_eq!(
            lines[0].reasons,
            vec![Reason::OnOrder { cartons: 5 }, Reason::StockSufficient]
        );
        let lines = propose(&settings, &rules, None, &policy, &on(1));
        assert_eq!(
            lines[0].quantity,
            10 - 3,
            "up to the upper limit from stock + on order"
        );
        let other = [OnOrder {
            spec_id: 2,
            cartons: 50,
        }];
        assert_eq!(
            propose(&settings, &rules, None, &policy, &other)[0].quantity,
            8
        );
    }

    #[test]
    fn stock_above_the_lower_limit_orders_nothing() {
        let lines = propose(
            &[setting(1, 5, 3, 10, 7)],
            &[rule(1, 100, 1, false)],
            None,
            &Default::default(),
            &[],
        );
        assert_eq!(
            (lines[0].quantity, lines[0].reasons.clone()),
            (0, vec![Reason::StockSufficient])
        );
    }

    #[test]
    fn quantities_round_up_to_the_multiple_and_are_cut_by_the_class_cap() {
        let policy = ReplenishmentPolicy {
            lead_days: 0,
            ..Default::default()
        };
        let lines = propose(
            &[setting(1, 0, 0, 7, 0), setting(2, 0, 0, 30, 0)],
            &[rule(1, 100, 5, false), rule(2, 12, 5, false)],
            None,
            &policy,
            &[],
        );
        assert_eq!(lines[0].quantity, 10);
        assert_eq!(
            lines[0].reasons,
            vec![
                Reason::BelowLower,
                Reason::RoundedToMultiple { multiple: 5 }
            ]
        );
        assert_eq!(lines[1].quantity, 10, "cap 12 in multiples of 5");
        assert_eq!(
            lines[1].reasons,
            vec![Reason::BelowLower, Reason::CutByClassCap { cap: 12 }]
        );
        assert_eq!(lines[1].cut_off(), 20);
    }

    #[test]
    fn the_total_cap_cuts_scarce_specs_first_then_shares_fairly() {
        let policy = ReplenishmentPolicy {
            lead_days: 0,
            ..Default::default()
        };
        let settings = [
            setting(1, 0, 0, 10, 0),
            setting(2, 0, 0, 20, 0),
            setting(3, 0, 0, 5, 0),
        ];
        let rules = [
            rule(1, 100, 1, false),
            rule(2, 100, 1, false),
            rule(3, 100, 1, true),
        ];
        let lines = propose(&settings, &rules, Some(32), &policy, &[]);
        assert_eq!(
            lines.iter().map(|l| l.quantity).collect::<Vec<_>>(),
            [10, 20, 2],
            "scarce gives up first"
        );
        let lines = propose(&settings, &rules, Some(20), &policy, &[]);
        assert_eq!(
            lines.iter().map(|l| l.quantity).collect::<Vec<_>>(),
            [7, 13, 0],
            "10:20 of 20, largest remainder"
        );
        assert!(lines[2]
            .reasons
            .contains(&Reason::CutByTotalCap { cap: 20 }));
    }

    #[test]
    fn settings_errors_name_their_field() {
        let errors = check_settings(&setting(1, 0, 9, 5, 1), &rule(1, 4, 1, false));
        assert_eq!(
            errors,
            vec![
                SettingsError::LowerAboveUpper,
                SettingsError::UpperAboveCap(4)
            ]
        );
        assert_eq!(
            errors.iter().map(|e| e.field()).collect::<Vec<_>>(),
            ["lower", "upper"]
        );
        assert_eq!(errors[0].message(Lang::Zh), "库存下限不能大于上限");
    }

    #[test]
    fn a_list_refuses_a_spec_twice_and_specs_not_in_the_catalogue() {
        let errors = check_all_settings(
            &[
                setting(1, 0, 1, 2, 1),
                setting(1, 0, 1, 2, 1),
                setting(9, 0, 1, 2, 1),
            ],
            &[rule(1, 10, 1, false)],
        );
        assert_eq!(
            errors,
            vec![
                (1, SettingsError::Duplicate),
                (2, SettingsError::UnknownSpec)
            ]
        );
    }

    #[test]
    fn warnings_flag_limits_beyond_the_stock_norm_and_limits_without_turnover() {
        let policy = ReplenishmentPolicy::default();
        assert_eq!(
            warnings(&setting(1, 0, 2, 20, 4), &policy),
            vec![SettingsWarning::AboveStockNorm(9)],
            "0.5 × 4.3 × 4 = 8.6"
        );
        assert_eq!(warnings(&setting(1, 0, 2, 8, 4), &policy), vec![]);
        assert_eq!(
            warnings(&setting(1, 0, 1, 2, 0), &policy),
            vec![SettingsWarning::NoTurnover]
        );
        assert_eq!(days_of_cover(c(4), c(14)), Some(2.0));
        assert_eq!(days_of_cover(c(4), c(0)), None);
    }

    proptest! {
        #[test]
        fn a_proposal_never_exceeds_a_cap_and_never_goes_negative(
            specs in proptest::collection::vec((0i64..60, 0i64..40, 0i64..80, 0i64..50, 0i64..60, 1i64..6, any::<bool>()), 1..12),
            total_cap in proptest::option::of(0i64..200),
            lead_days in 0u32..8,
        ) {
            let policy = ReplenishmentPolicy { lead_days, ..Default::default() };
            let settings: Vec<SpecSettings> = specs.iter().enumerate()
                .map(|(i, s)| setting(i as i64, s.0, s.1.min(s.2), s.2, s.3)).collect();
            let rules: Vec<SpecRule> = specs.iter().enumerate()
                .map(|(i, s)| rule(i as i64, s.4, s.5, s.6)).collect();
            let lines = propose(&settings, &rules, total_cap, &policy, &[]);
            for (line, rule) in lines.iter().zip(&rules) {
                prop_assert!(line.quantity >= 0);
                prop_assert!(line.quantity <= rule.class_cap, "class cap");
                prop_assert!(line.quantity <= line.wanted, "never more than wanted");
                prop_assert_eq!(line.quantity % rule.order_multiple, 0, "whole multiples");
            }
            if let Some(cap) = total_cap {
                prop_assert!(lines.iter().map(|l| l.quantity).sum::<i64>() <= cap, "total cap");
            }
            let as_order: Vec<OrderLineInput> = lines.iter()
                .map(|l| OrderLineInput { spec_id: l.spec_id, quantity: c(l.quantity) })
                .collect();
            prop_assert_eq!(check_order(&as_order, &rules, total_cap), vec![], "a proposal can always be confirmed as it is");
        }
    }
}
