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
    #[error("no quantity given")]
    Missing,
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
            QuantityError::Missing => lang.pick("请填写数量", "Enter a quantity"),
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

    /// Parses what a person typed where a quantity may be left out (a
    /// forecast cell): read as [`plain_number`] does, a blank input is
    /// `None`, never zero; fractions, signs and text are refused with the
    /// reason.
    pub fn parse_optional(input: &str) -> Result<Option<Cartons>, QuantityError> {
        let Some(s) = plain_number(input) else {
            return Ok(None);
        };
        if let Ok(v) = s.parse::<i64>() {
            return Cartons::new(v).map(Some);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v < 0.0 => Err(QuantityError::Negative),
            Ok(v) if v.is_finite() && v.fract() != 0.0 => Err(QuantityError::NotWhole),
            Ok(v) if v.is_finite() => Err(QuantityError::TooLarge),
            _ => Err(QuantityError::NotANumber),
        }
    }

    /// Parses what a person typed where a quantity is required (stock,
    /// limits, an order line, a correction): as [`Cartons::parse_optional`],
    /// and a blank input is [`QuantityError::Missing`].
    pub fn parse(input: &str) -> Result<Cartons, QuantityError> {
        Cartons::parse_optional(input)?.ok_or(QuantityError::Missing)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A number as a person typed or pasted it, made plain for parsing: the
/// full-width digits, signs and point a Chinese input method types (`１２`,
/// `－`, `．`) become ASCII, and blanks around it (ASCII, the full-width
/// space U+3000, no-break spaces) are dropped. `None` when nothing is left:
/// a blank field holds no value, it is not zero.
///
/// The one reading of typed numbers: every number field of the app goes
/// through it (directly, or through [`Cartons::parse`]).
pub fn plain_number(input: &str) -> Option<String> {
    let plain: String = input
        .trim()
        .chars()
        .map(|c| match c {
            // The full-width forms U+FF01..=U+FF5E mirror ASCII 0x21..=0x7E.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{3002}' => '.',
            c => c,
        })
        .collect();
    (!plain.is_empty()).then_some(plain)
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
            ("", Err(QuantityError::Missing), "blank is no quantity"),
            (
                " \u{3000} ",
                Err(QuantityError::Missing),
                "full-width blank",
            ),
            ("１２", Ok(12), "full-width digits"),
            ("\u{3000}１２\u{3000}", Ok(12), "full-width spaces around"),
            ("\u{a0}7\t", Ok(7), "no-break space and tab"),
            ("－１", Err(QuantityError::Negative), "full-width minus"),
            ("２．５", Err(QuantityError::NotWhole), "full-width point"),
            (
                "１２条",
                Err(QuantityError::NotANumber),
                "a unit is not a number",
            ),
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

    #[test]
    fn a_blank_input_is_no_value_where_a_value_may_be_left_out() {
        assert_eq!(Cartons::parse_optional(""), Ok(None));
        assert_eq!(Cartons::parse_optional("\u{3000}"), Ok(None));
        assert_eq!(Cartons::parse_optional(" ０ "), Ok(Some(Cartons::ZERO)));
        assert_eq!(plain_number(" ３．５ "), Some("3.5".to_string()));
        assert_eq!(plain_number(" \t\u{3000}"), None);
    }

    proptest! {
        #[test]
        fn full_width_digits_read_as_their_ascii_twins(v in 0_i64..=Cartons::MAX, pad in 0_usize..3) {
            let wide: String = v
                .to_string()
                .chars()
                .map(|c| char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c))
                .collect();
            let blanks = "\u{3000}".repeat(pad);
            prop_assert_eq!(Cartons::parse(&format!("{blanks}{wide}{blanks}")), Ok(Cartons(v)));
            prop_assert_eq!(Cartons::parse(&format!(" {v} ")), Ok(Cartons(v)));
        }

        #[test]
        fn only_a_blank_input_is_no_value(s in "\\PC{0,12}") {
            let blank = s.trim().is_empty();
            prop_assert_eq!(Cartons::parse_optional(&s).is_ok_and(|c| c.is_none()), blank);
            prop_assert_eq!(Cartons::parse(&s) == Err(QuantityError::Missing), blank);
        }

        #[test]
        fn parsed_quantities_are_never_negative(s in "\\PC{0,12}") {
            if let Ok(c) = Cartons::parse(&s) {
                prop_assert!(c.get() >= 0 && c.get() <= Cartons::MAX);
            }
        }
    }
}
