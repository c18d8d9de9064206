//! Confirming an order: the quantities a retailer (or their customer manager)
//! may confirm, the order day, and the order's value.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::SpecRule;
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
        }
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

    #[test]
    fn an_order_is_valued_at_wholesale_prices() {
        assert_eq!(
            order_value(&[(2, Fen(10_000)), (3, Fen(5_000))]),
            (5, Fen(35_000))
        );
    }
}
