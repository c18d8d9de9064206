//! Calendar months (the unit of forecasts and order history) and the Spring
//! Festival, which drives the seasonal peak.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A calendar month, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct YearMonth {
    year: i32,
    month: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a month of the form YYYY-MM: {0}")]
pub struct MonthError(String);

impl YearMonth {
    pub fn new(year: i32, month: u32) -> Option<YearMonth> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year))
            .then_some(YearMonth { year, month })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// Months since year 0, for arithmetic.
    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    fn from_index(i: i64) -> YearMonth {
        YearMonth {
            year: i.div_euclid(12) as i32,
            month: (i.rem_euclid(12) + 1) as u32,
        }
    }

    /// The month `n` months later (earlier for negative `n`).
    pub fn plus(self, n: i64) -> YearMonth {
        YearMonth::from_index(self.index() + n)
    }

    /// Whole months from `self` to `later`.
    pub fn months_until(self, later: YearMonth) -> i64 {
        later.index() - self.index()
    }

    pub fn of_date(date: chrono::NaiveDate) -> YearMonth {
        use chrono::Datelike;
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }

    /// Whether the Spring Festival (春节) falls in this month, or in the first
    /// week of the next one (shops stock up the month before).
    pub fn has_spring_festival_peak(self) -> bool {
        match spring_festival(self.year) {
            Some(d) if d.0 == self.month => true,
            _ => {
                matches!(spring_festival(self.year + 1), Some((1, day)) if self.month == 12 && day <= 25)
                    || matches!(spring_festival(self.year), Some((m, day)) if m == self.month + 1 && day <= 7)
            }
        }
    }
}

/// Month and day of the Spring Festival (Chinese New Year) in a Gregorian year.
pub fn spring_festival(year: i32) -> Option<(u32, u32)> {
    const DATES: [(u32, u32); 21] = [
        (2, 19),
        (2, 8),
        (1, 28),
        (2, 16),
        (2, 5),
        (1, 25),
        (2, 12),
        (2, 1),
        (1, 22),
        (2, 10),
        (1, 29),
        (2, 17),
        (2, 6),
        (1, 26),
        (2, 13),
        (2, 3),
        (1, 23),
        (2, 11),
        (1, 31),
        (2, 19),
        (2, 8),
    ];
    let i = usize::try_from(year - 2015).ok()?;
    DATES.get(i).copied()
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = MonthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || MonthError(s.to_string());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year = y.parse().map_err(|_| bad())?;
        let month = m.parse().map_err(|_| bad())?;
        YearMonth::new(year, month).ok_or_else(bad)
    }
}

impl TryFrom<String> for YearMonth {
    type Error = MonthError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<YearMonth> for String {
    fn from(m: YearMonth) -> String {
        m.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(s: &str) -> YearMonth {
        s.parse().expect("valid month")
    }

    #[test]
    fn months_parse_print_and_step_across_years() {
        assert_eq!(ym("2026-01").plus(-1).to_string(), "2025-12");
        assert_eq!(ym("2025-12").plus(1), ym("2026-01"));
        assert_eq!(ym("2024-03").months_until(ym("2026-02")), 23);
        for bad in ["2026-13", "2026-1", "26-01", "2026/01", "abcd-ef", ""] {
            assert!(bad.parse::<YearMonth>().is_err(), "{bad}");
        }
    }

    #[test]
    fn spring_festival_peak_month_follows_the_lunar_calendar() {
        assert!(ym("2026-02").has_spring_festival_peak(), "2026-02-17");
        assert!(ym("2025-01").has_spring_festival_peak(), "2025-01-29");
        assert!(!ym("2025-06").has_spring_festival_peak());
        assert!(
            ym("2027-01").has_spring_festival_peak(),
            "2027-02-06 is in the first week of February"
        );
    }
}
