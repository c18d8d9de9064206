//! The bounds on what the marketing center may set as replenishment policy.

use super::ReplenishmentPolicy;
use crate::quantity::Cartons;
use crate::Lang;

/// Why a policy value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("lead days out of range")]
    LeadDays,
    #[error("stock-to-sales norm out of range")]
    Norm,
    #[error("weeks per month out of range")]
    WeeksPerMonth,
    #[error("order multiple out of range")]
    OrderMultiple,
    #[error("cap out of range")]
    Cap,
    #[error("weekday out of range")]
    Weekday,
    #[error("cutoff days out of range")]
    CutoffDays,
    #[error("cutoff hour out of range")]
    CutoffHour,
}

impl PolicyError {
    pub fn message(self, lang: Lang) -> &'static str {
        match self {
            PolicyError::LeadDays => lang.pick(
                "到货天数须在 0 到 14 天之间",
                "Lead days must be between 0 and 14",
            ),
            PolicyError::Norm => lang.pick(
                "月库存销比须在 0.1 到 3 之间",
                "The stock-to-sales norm must be between 0.1 and 3",
            ),
            PolicyError::WeeksPerMonth => lang.pick(
                "每月周数须在 4 到 4.5 之间",
                "Weeks per month must be between 4 and 4.5",
            ),
            PolicyError::OrderMultiple => lang.pick(
                "订货倍数须为 1 到 50 的整数",
                "The order multiple must be a whole number from 1 to 50",
            ),
            PolicyError::Weekday => lang.pick(
                "订货日须为 1（周一）到 7（周日）",
                "The order day must be 1 (Monday) to 7 (Sunday)",
            ),
            PolicyError::CutoffDays => lang.pick(
                "截止时间须为订货日前 0 到 14 天",
                "The cutoff must be 0 to 14 days before the order day",
            ),
            PolicyError::CutoffHour => lang.pick(
                "截止钟点须为 0 到 23 点",
                "The cutoff hour must be from 0 to 23",
            ),
            PolicyError::Cap => lang.pick(
                "限量须为不超过 1000000 的非负整条数",
                "A cap must be whole cartons from 0 to 1,000,000",
            ),
        }
    }
}

/// Checks the policy's numbers; each error names its field.
pub fn check_policy(policy: &ReplenishmentPolicy) -> Vec<(&'static str, PolicyError)> {
    let mut errors = Vec::new();
    if policy.lead_days > 14 {
        errors.push(("lead_days", PolicyError::LeadDays));
    }
    if !(0.1..=3.0).contains(&policy.stock_to_sales_norm) {
        errors.push(("stock_to_sales_norm", PolicyError::Norm));
    }
    if !(4.0..=4.5).contains(&policy.weeks_per_month) {
        errors.push(("weeks_per_month", PolicyError::WeeksPerMonth));
    }
    if policy.cutoff_days_before > 14 {
        errors.push(("cutoff_days_before", PolicyError::CutoffDays));
    }
    if policy.cutoff_hour > 23 {
        errors.push(("cutoff_hour", PolicyError::CutoffHour));
    }
    errors
}

pub fn check_multiple(multiple: i64) -> Result<(), PolicyError> {
    if (1..=50).contains(&multiple) {
        Ok(())
    } else {
        Err(PolicyError::OrderMultiple)
    }
}

pub fn check_cap(cap: i64) -> Result<(), PolicyError> {
    if (0..=Cartons::MAX).contains(&cap) {
        Ok(())
    } else {
        Err(PolicyError::Cap)
    }
}

pub fn check_weekday(weekday: u8) -> Result<(), PolicyError> {
    if (1..=7).contains(&weekday) {
        Ok(())
    } else {
        Err(PolicyError::Weekday)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_valid_and_nonsense_is_refused() {
        assert_eq!(check_policy(&ReplenishmentPolicy::default()), vec![]);
        let bad = ReplenishmentPolicy {
            lead_days: 30,
            stock_to_sales_norm: f64::NAN,
            weeks_per_month: 7.0,
            cutoff_days_before: 15,
            cutoff_hour: 24,
        };
        assert_eq!(
            check_policy(&bad).iter().map(|e| e.0).collect::<Vec<_>>(),
            [
                "lead_days",
                "stock_to_sales_norm",
                "weeks_per_month",
                "cutoff_days_before",
                "cutoff_hour"
            ]
        );
        assert_eq!(check_multiple(0), Err(PolicyError::OrderMultiple));
        assert_eq!(check_cap(-1), Err(PolicyError::Cap));
        assert_eq!(check_cap(0), Ok(()));
        assert_eq!(check_weekday(7), Ok(()));
        assert_eq!(check_weekday(0), Err(PolicyError::Weekday));
    }
}
