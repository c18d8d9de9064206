//! Confirming an order: the quantities a retailer (or their customer manager)
//! may confirm, the order day, and the order's value.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use super::{ConfirmedLine, ProposalLine, ReplenishmentPolicy, SpecRule};
use crate::quantity::{Cartons, Fen};
use crate::Lang;

/// One line of an order as confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLineInput {
    pub spec_id: i64,
    pub quantity: Cartons,
}

/// Why a confirmed quantity was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("above the class cap")]
    AboveClassCap(i64),
    #[error("not a multiple of the order multiple")]
    NotMultiple(i64),
    #[error("spec not orderable")]
    NotOrderable,
    #[error("spec not in the catalogue")]
    UnknownSpec,
    #[error("spec listed twice")]
    Duplicate,
    #[error("order above the total cap")]
    AboveTotalCap(i64),
    #[error("order of nothing")]
    Empty,
}

impl OrderError {
    pub fn message(self, lang: Lang) -> String {
        match (self, lang) {
            (OrderError::AboveClassCap(cap), Lang::Zh) => format!("不能超过本档位限量 {cap} 条"),
            (OrderError::AboveClassCap(cap), Lang::En) => {
                format!("Cannot exceed the class cap of {cap} cartons")
            }
            (OrderError::NotMultiple(m), Lang::Zh) => format!("须为 {m} 条的整数倍"),
            (OrderError::NotMultiple(m), Lang::En) => format!("Must be a multiple of {m}"),
            (OrderError::NotOrderable, Lang::Zh) => "该品规目前不可订购".into(),
            (OrderError::NotOrderable, Lang::En) => "This spec cannot be ordered now".into(),
            (OrderError::UnknownSpec, Lang::Zh) => "品规不存在".into(),
            (OrderError::UnknownSpec, Lang::En) => "No such spec".into(),
            (OrderError::Duplicate, Lang::Zh) => "该品规重复".into(),
            (OrderError::Duplicate, Lang::En) => "This spec is listed twice".into(),
            (OrderError::AboveTotalCap(cap), Lang::Zh) => {
                format!("订单合计不能超过 {cap} 条")
            }
            (OrderError::AboveTotalCap(cap), Lang::En) => {
                format!("The order cannot exceed {cap} cartons in total")
            }
            (OrderError::Empty, Lang::Zh) => {
                "订单合计为 0 条；不订货时无需确认，已确认的订单请用“取消订单”".into()
            }
            (OrderError::Empty, Lang::En) => {
                "The order is 0 cartons; to order nothing, cancel the order instead".into()
            }
        }
    }

    /// The field of an order line the error belongs to.
    pub fn field(self) -> &'static str {
        match self {
            OrderError::NotOrderable | OrderError::UnknownSpec | OrderError::Duplicate => "spec_id",
            _ => "quantity",
        }
    }
}

/// An order must be of something: at least one carton in all.
pub fn check_not_empty(lines: &[OrderLineInput]) -> Result<(), OrderError> {
    if lines.iter().any(|l| l.quantity.get() > 0) {
        Ok(())
    } else {
        Err(OrderError::Empty)
    }
}

/// Checks the quantities of an order: each within its spec's class cap, in
/// whole order multiples, for an orderable spec; the sum within the total cap.
/// Line errors carry the line's index; the total cap error has none.
pub fn check_order(
    lines: &[OrderLineInput],
    rules: &[SpecRule],
    total_cap: Option<i64>,
) -> Vec<(Option<usize>, OrderError)> {
    let mut errors = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if lines[..i].iter().any(|o| o.spec_id == line.spec_id) {
            errors.push((Some(i), OrderError::Duplicate));
            continue;
        }
        let Some(rule) = rules.iter().find(|r| r.spec_id == line.spec_id) else {
            errors.push((Some(i), OrderError::UnknownSpec));
            continue;
        };
        let q = line.quantity.get();
        if q == 0 {
            continue;
        }
        if !rule.orderable {
            errors.push((Some(i), OrderError::NotOrderable));
        } else if q > rule.class_cap {
            errors.push((Some(i), OrderError::AboveClassCap(rule.class_cap)));
        } else if q % rule.order_multiple.max(1) != 0 {
            errors.push((Some(i), OrderError::NotMultiple(rule.order_multiple)));
        }
    }
    if let Some(cap) = total_cap {
        let total: i64 = lines.iter().map(|l| l.quantity.get()).sum();
        if total > cap {
            errors.push((None, OrderError::AboveTotalCap(cap)));
        }
    }
    errors
}

/// The lines an order is stored with: every proposed spec with what the
/// settings wanted, what the caps allowed and what was ordered (0 when left
/// out), then every spec ordered that was not proposed (nothing wanted or
/// cut: the retailer's own choice).
pub fn order_lines(proposal: &[ProposalLine], ordered: &[OrderLineInput]) -> Vec<ConfirmedLine> {
    let quantity = |spec_id: i64| {
        ordered
            .iter()
            .find(|l| l.spec_id == spec_id)
            .map_or(0, |l| l.quantity.get())
    };
    let mut lines: Vec<ConfirmedLine> = proposal
        .iter()
        .map(|p| ConfirmedLine {
            spec_id: p.spec_id,
            wanted: p.wanted,
            proposed: p.quantity,
            quantity: quantity(p.spec_id),
            cut_off: p.cut_off(),
            delivered: None,
        })
        .collect();
    for o in ordered {
        if o.quantity.get() > 0 && !lines.iter().any(|l| l.spec_id == o.spec_id) {
            lines.push(ConfirmedLine {
                spec_id: o.spec_id,
                wanted: 0,
                proposed: 0,
                quantity: o.quantity.get(),
                cut_off: 0,
                delivered: None,
            });
        }
    }
    lines
}

/// Cartons and money (at wholesale prices) of an order's lines.
pub fn order_value(lines: &[(i64, Fen)]) -> (i64, Fen) {
    let cartons = lines.iter().map(|l| l.0).sum();
    let fen = lines.iter().map(|l| l.0 * l.1 .0).sum();
    (cartons, Fen(fen))
}

/// The retailer's next order day on or after `today`; `weekday` is 1 (Monday)
/// to 7 (Sunday), anything else is read as Monday.
pub fn next_order_date(today: NaiveDate, weekday: u8) -> NaiveDate {
    let target = u32::from(weekday.clamp(1, 7)) - 1;
    let now = today.weekday().num_days_from_monday();
    let ahead = (target + 7 - now) % 7;
    today
        .checked_add_days(Days::new(u64::from(ahead)))
        .unwrap_or(today)
}

/// When the order window of `order_date` closes (China time): the policy's
/// days before it, at its hour. Until then the order can be placed, changed
/// and cancelled; from then on it is locked.
pub fn cutoff_at(order_date: NaiveDate, policy: &ReplenishmentPolicy) -> NaiveDateTime {
    let day = order_date
        .checked_sub_days(Days::new(u64::from(policy.cutoff_days_before)))
        .unwrap_or(order_date);
    let time = NaiveTime::from_hms_opt(policy.cutoff_hour.min(23), 0, 0).unwrap_or_default();
    day.and_time(time)
}

/// Whether the window of `order_date` is still open at `now` (China time).
pub fn is_open(order_date: NaiveDate, now: NaiveDateTime, policy: &ReplenishmentPolicy) -> bool {
    now < cutoff_at(order_date, policy)
}

/// The order day whose window is open at `now` (China time): the first of
/// the retailer's order days, from today on, that has not reached its cutoff.
pub fn window_date(now: NaiveDateTime, weekday: u8, policy: &ReplenishmentPolicy) -> NaiveDate {
    let mut date = next_order_date(now.date(), weekday);
    // The cutoff is at most a few weeks before the day, so this ends fast.
    for _ in 0..60 {
        if is_open(date, now, policy) {
            break;
        }
        match date.checked_add_days(Days::new(7)) {
            Some(next) => date = next,
            None => break,
        }
    }
    date
}

/// Orders placed more than this many days before an order day and still
/// not marked delivered are taken as delivered without the file having been
/// loaded: they no longer count as on order (deliveries follow in 1–2 days).
pub const STALE_ORDER_DAYS: u64 = 14;

/// Where an order stands, as its retailer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Confirmed, and can still be changed or cancelled (window open).
    Open,
    Cancelled,
    /// The window closed: waiting to go to the order and supply system.
    Locked,
    /// Handed to the order and supply system.
    Exported,
    Delivered,
}

impl OrderStatus {
    /// The status of an order from what is stored and the time.
    pub fn of(cancelled: bool, exported: bool, delivered: bool, open: bool) -> OrderStatus {
        if cancelled {
            OrderStatus::Cancelled
        } else if delivered {
            OrderStatus::Delivered
        } else if exported {
            OrderStatus::Exported
        } else if open {
            OrderStatus::Open
        } else {
            OrderStatus::Locked
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            OrderStatus::Open => lang.pick("已确认，截止前可修改", "Confirmed, open until cutoff"),
            OrderStatus::Cancelled => lang.pick("已取消", "Cancelled"),
            OrderStatus::Locked => lang.pick("已截止锁定", "Locked"),
            OrderStatus::Exported => lang.pick("已提交供货", "Sent for supply"),
            OrderStatus::Delivered => lang.pick("已到货", "Delivered"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(spec_id: i64, class_cap: i64, order_multiple: i64) -> SpecRule {
        SpecRule {
            spec_id,
            class_cap,
            order_multiple,
            scarce: false,
            orderable: true,
        }
    }

    fn line(spec_id: i64, quantity: i64) -> OrderLineInput {
        OrderLineInput {
            spec_id,
            quantity: Cartons::new(quantity).expect("valid"),
        }
    }

    #[test]
    fn confirmed_quantities_stay_within_the_caps_and_multiples() {
        let rules = [rule(1, 10, 1), rule(2, 20, 5)];
        assert_eq!(
            check_order(&[line(1, 10), line(2, 15)], &rules, Some(25)),
            vec![]
        );
        assert_eq!(
            check_order(&[line(1, 11), line(2, 12)], &rules, Some(20)),
            vec![
                (Some(0), OrderError::AboveClassCap(10)),
                (Some(1), OrderError::NotMultiple(5)),
                (None, OrderError::AboveTotalCap(20)),
            ]
        );
        assert_eq!(
            check_order(&[line(3, 1)], &rules, None),
            vec![(Some(0), OrderError::UnknownSpec)]
        );
    }

    #[test]
    fn an_order_of_nothing_is_refused_and_line_errors_name_their_field() {
        assert_eq!(check_not_empty(&[]), Err(OrderError::Empty));
        assert_eq!(check_not_empty(&[line(1, 0)]), Err(OrderError::Empty));
        assert_eq!(check_not_empty(&[line(1, 0), line(2, 1)]), Ok(()));
        assert_eq!(OrderError::UnknownSpec.field(), "spec_id");
        assert_eq!(OrderError::AboveClassCap(3).field(), "quantity");
    }

    #[test]
    fn the_next_order_day_is_the_first_matching_weekday_from_today() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        assert_eq!(next_order_date(monday, 1), monday);
        assert_eq!(
            next_order_date(monday, 3),
            NaiveDate::from_ymd_opt(2026, 11, 25).expect("date")
        );
        assert_eq!(
            next_order_date(NaiveDate::from_ymd_opt(2026, 11, 26).expect("date"), 1),
            NaiveDate::from_ymd_opt(2026, 11, 30).expect("date")
        );
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .expect("time")
    }

    #[test]
    fn the_window_closes_the_day_before_at_five_and_moves_to_the_next_week() {
        let policy = ReplenishmentPolicy::default();
        let wednesday = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        assert_eq!(cutoff_at(wednesday, &policy), at(2026, 12, 1, 17, 0));
        // Tuesday 16:59: Wednesday's window is still open.
        assert_eq!(window_date(at(2026, 12, 1, 16, 59), 3, &policy), wednesday);
        assert!(is_open(wednesday, at(2026, 12, 1, 16, 59), &policy));
        // Tuesday 17:00: closed; the window is next Wednesday's.
        assert!(!is_open(wednesday, at(2026, 12, 1, 17, 0), &policy));
        assert_eq!(
            window_date(at(2026, 12, 1, 17, 0), 3, &policy),
            NaiveDate::from_ymd_opt(2026, 12, 9).expect("date")
        );
        // On the order day itself the window is next week's.
        assert_eq!(
            window_date(at(2026, 12, 2, 8, 0), 3, &policy),
            NaiveDate::from_ymd_opt(2026, 12, 9).expect("date")
        );
        let same_day = ReplenishmentPolicy {
            cutoff_days_before: 0,
            cutoff_hour: 10,
            ..policy
        };
        assert_eq!(window_date(at(2026, 12, 2, 9, 0), 3, &same_day), wednesday);
    }

    #[test]
    fn an_order_keeps_every_proposed_line_and_adds_the_specs_chosen_freely() {
        let proposal = [ProposalLine {
            spec_id: 1,
            wanted: 12,
            quantity: 10,
            reasons: vec![],
        }];
        let lines = order_lines(&proposal, &[line(2, 5), line(3, 0)]);
        assert_eq!(
            lines
                .iter()
                .map(|l| (l.spec_id, l.wanted, l.proposed, l.quantity, l.cut_off))
                .collect::<Vec<_>>(),
            [(1, 12, 10, 0, 2), (2, 0, 0, 5, 0)],
            "the proposed spec left out is kept at 0 with its cut demand; a 0 line not proposed is not stored"
        );
    }

    #[test]
    fn an_order_is_valued_at_wholesale_prices() {
        assert_eq!(
            order_value(&[(2, Fen(10_000)), (3, Fen(5_000))]),
            (5, Fen(35_000))
        );
    }
}
