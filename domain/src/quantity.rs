//! Quantities of cigarettes: cartons (条) as entered, cases (箱) in summaries.

use serde::{Deserialize, Serialize};

use crate::Lang;

/// A quantity in cartons (条): a whole, non-negative number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "i64", into = "i64")]
pub struct Cartons(i64);

/// Why a carton quantity was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("negative quantity")]
    Negative,
    #[error("not a whole number")]
    NotWhole,
    #[error("not a number")]
    NotANumber,
    #[error("quantity too large")]
    TooLarge,
}

impl QuantityError {
    pub fn message(self, lang: Lang) -> &'static str {
        match self {
            QuantityError::Negative => {
                lang.pick("数量不能为负数", "The quantity cannot be negative")
            }
            QuantityError::NotWhole => lang.pick("请输入整条数", "Enter whole cartons"),
            QuantityError::NotANumber => lang.pick("请输入数字", "Enter a number"),
            QuantityError::TooLarge => lang.pick("数量过大", "The quantity is too large"),
        }
    }
}

impl Cartons {
    /// More than any one retailer could order for one spec in a month; guards
    /// against typos and overflow in sums.
    pub const MAX: i64 = 1_000_000;

    pub const ZERO: Cartons = Cartons(0);

    pub fn new(value: i64) -> Result<Cartons, QuantityError> {
        if value < 0 {
            Err(QuantityError::Negative)
        } else if value > Self::MAX {
            Err(QuantityError::TooLarge)
        } else {
            Ok(Cartons(value))
        }
    }

    /// Parses what a person typed: surrounding blanks are ignored; an empty
    /// input is zero; fractions and signs are refused with the reason.
    pub fn parse(input: &str) -> Result<Cartons, QuantityError> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(Cartons::ZERO);
        }
        if let Ok(v) = s.parse::<i64>() {
            return Cartons::new(v);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v < 0.0 => Err(QuantityError::Negative),
            Ok(v) if v.is_finite() && v.fract() != 0.0 => Err(QuantityError::NotWhole),
            Ok(v) if v.is_finite() => Err(QuantityError::TooLarge),
            _ => Err(QuantityError::NotANumber),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Cartons {
    type Error = QuantityError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        Cartons::new(v)
    }
}

impl From<Cartons> for i64 {
    fn from(c: Cartons) -> i64 {
        c.0
    }
}

/// How many cartons make one case (箱); a setting, 250 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseSize(pub u32);

impl Default for CaseSize {
    fn default() -> Self {
        CaseSize(250)
    }
}

impl CaseSize {
    /// Cartons expressed in cases, for summaries.
    pub fn cases(self, cartons: i64) -> f64 {
        cartons as f64 / f64::from(self.0.max(1))
    }
}

/// An amount of money in fen (分, 1/100 元), so sums are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fen(pub i64);

impl Fen {
    pub fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    /// Formats as yuan with two decimals, e.g. `1234.50`.
    pub fn yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn typed_quantities_are_parsed_or_refused_with_the_reason() {
        let cases = [
            ("12", Ok(12), "plain"),
            (" 7 ", Ok(7), "blanks"),
            ("", Ok(0), "empty is zero"),
            ("-1", Err(QuantityError::Negative), "negative"),
            ("2.5", Err(QuantityError::NotWhole), "fraction"),
            ("-0.5", Err(QuantityError::Negative), "negative fraction"),
            ("abc", Err(QuantityError::NotANumber), "text"),
            ("1e30", Err(QuantityError::TooLarge), "huge"),
            (
                "99999999999999999999",
                Err(QuantityError::TooLarge),
                "overflow",
            ),
            ("NaN", Err(QuantityError::NotANumber), "nan"),
        ];
        for (input, expected, why) in cases {
            assert_eq!(Cartons::parse(input).map(Cartons::get), expected, "{why}");
        }
    }

    #[test]
    fn cartons_refuse_negative_values_when_deserialised() {
        assert!(serde_json::from_str::<Cartons>("-3").is_err());
        assert!(serde_json::from_str::<Cartons>("1.5").is_err());
        assert_eq!(serde_json::from_str::<Cartons>("3").ok(), Some(Cartons(3)));
    }

    #[test]
    fn money_formats_as_yuan() {
        assert_eq!(Fen(123450).yuan_string(), "1234.50");
        assert_eq!(Fen(-5).yuan_string(), "-0.05");
    }

    #[test]
    fn cases_use_the_configured_case_size() {
        assert_eq!(CaseSize::default().cases(500), 2.0);
        assert_eq!(CaseSize(200).cases(500), 2.5);
    }

    proptest! {
        #[test]
        fn parsed_quantities_are_never_negative(s in "\\PC{0,12}") {
            if let Ok(c) = Cartons::parse(&s) {
                prop_assert!(c.get() >= 0 && c.get() <= Cartons::MAX);
            }
        }
    }
}
