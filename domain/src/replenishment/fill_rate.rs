//! The fill rate report (需求满足率): what retailers wanted (the settings'
//! call before any cap), what the caps allowed (the proposal) and what was
//! ordered, over the confirmed orders of a period; by spec × class, where
//! the caps bite most first, and by week.
//!
//! Cut demand is wanted − allowed (never below 0: an order may hold specs
//! added by hand that nobody "wanted"); the fill rate is allowed ÷ wanted,
//! none when nothing was wanted. A week starts on Monday (ISO week).

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::Lang;

/// The longest period the report covers, in days.
pub const MAX_DAYS: i64 = 366;
/// The default period: this many weeks up to the end of this week.
pub const DEFAULT_WEEKS: u64 = 8;

/// Wanted, allowed and ordered cartons of some order lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Demand {
    /// What the settings called for before any cap.
    pub wanted: i64,
    /// What the caps allowed (the proposal).
    pub allowed: i64,
    /// What was ordered.
    pub ordered: i64,
}

impl Demand {
    /// Demand the caps cut: wanted − allowed, never below 0.
    pub fn cut(&self) -> i64 {
        (self.wanted - self.allowed).max(0)
    }

    /// allowed ÷ wanted (at most 1); `None` when nothing was wanted.
    pub fn fill_rate(&self) -> Option<f64> {
        (self.wanted > 0).then(|| (self.allowed as f64 / self.wanted as f64).min(1.0))
    }

    pub fn add(&mut self, other: Demand) {
        self.wanted += other.wanted;
        self.allowed += other.allowed;
        self.ordered += other.ordered;
    }
}

/// One spec for one customer class (the class when the retailer ordered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecClassFill {
    pub spec_id: i64,
    pub spec_code: String,
    pub spec_name: String,
    pub class_code: String,
    pub class_label: String,
    /// The class's rank (higher: a higher tier), for ties.
    pub class_rank: i64,
    pub demand: Demand,
    /// Retailers with at least one line of the spec cut by a cap.
    pub retailers_cut: i64,
}

/// One week's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeekFill {
    /// The Monday of the week.
    pub week: NaiveDate,
    pub demand: Demand,
}

/// The report of a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FillRateReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: Demand,
    /// Largest cut first.
    pub by_spec_class: Vec<SpecClassFill>,
    /// Every week of the period, oldest first (weeks without orders as 0).
    pub by_week: Vec<WeekFill>,
}

/// The Monday of `date`'s ISO week.
pub fn week_of(date: NaiveDate) -> NaiveDate {
    let back = u64::from(date.weekday().num_days_from_monday());
    date.checked_sub_days(Days::new(back)).unwrap_or(date)
}

/// Sorts rows where the caps bite most first: the largest cut, then the
/// lowest fill rate, then spec code and the higher class.
pub fn sort_by_cut(rows: &mut [SpecClassFill]) {
    rows.sort_by(|a, b| {
        b.demand
            .cut()
            .cmp(&a.demand.cut())
            .then(
                a.demand
                    .fill_rate()
                    .unwrap_or(1.0)
                    .total_cmp(&b.demand.fill_rate().unwrap_or(1.0)),
            )
            .then(a.spec_code.cmp(&b.spec_code))
            .then(b.class_rank.cmp(&a.class_rank))
    });
}

/// Folds the totals of order days into their weeks: every week from the
/// one of `from` to the one of `to`, oldest first; days outside are left
/// out.
pub fn by_week(days: &[(NaiveDate, Demand)], from: NaiveDate, to: NaiveDate) -> Vec<WeekFill> {
    let mut weeks = Vec::new();
    let mut week = week_of(from);
    while week <= to {
        weeks.push(WeekFill {
            week,
            demand: Demand::default(),
        });
        match week.checked_add_days(Days::new(7)) {
            Some(next) => week = next,
            None => break,
        }
    }
    for &(day, demand) in days {
        if day < from || day > to {
            continue;
        }
        let monday = week_of(day);
        if let Some(w) = weeks.iter_mut().find(|w| w.week == monday) {
            w.demand.add(demand);
        }
    }
    weeks
}

/// Why a period was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodError {
    /// Not a date (the field: `from` or `to`).
    NotADate(&'static str),
    Reversed,
    TooLong,
}

impl PeriodError {
    pub fn field(self) -> &'static str {
        match self {
            PeriodError::NotADate(field) => field,
            PeriodError::Reversed | PeriodError::TooLong => "to",
        }
    }

    pub fn message(self, lang: Lang) -> String {
        match (self, lang) {
            (PeriodError::NotADate(_), Lang::Zh) => "日期格式为 YYYY-MM-DD".into(),
            (PeriodError::NotADate(_), Lang::En) => "Dates are written YYYY-MM-DD".into(),
            (PeriodError::Reversed, Lang::Zh) => "结束日期不能早于开始日期".into(),
            (PeriodError::Reversed, Lang::En) => "The end cannot be before the start".into(),
            (PeriodError::TooLong, Lang::Zh) => format!("期间最长 {MAX_DAYS} 天"),
            (PeriodError::TooLong, Lang::En) => format!("The period is at most {MAX_DAYS} days"),
        }
    }
}

/// The report's period from the query: both dates, or the default (the
/// [`DEFAULT_WEEKS`] weeks ending with the week of `today`); an end
/// alone goes back the default length from it, a start alone runs to the
/// end of this week. At most [`MAX_DAYS`] days, start before end.
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), PeriodError> {
    let parse = |raw: Option<&str>, field| -> Result<Option<NaiveDate>, PeriodError> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| PeriodError::NotADate(field)),
        }
    };
    let (from, to) = (parse(from, "from")?, parse(to, "to")?);
    let default_length = Days::new(DEFAULT_WEEKS * 7 - 1);
    let to = to.unwrap_or_else(|| {
        week_of(today)
            .checked_add_days(Days::new(6))
            .unwrap_or(today)
    });
    let from = from.unwrap_or_else(|| {
        week_of(to)
            .checked_add_days(Days::new(6))
            .and_then(|sunday| sunday.checked_sub_days(default_length))
            .unwrap_or(to)
    });
    if to < from {
        return Err(PeriodError::Reversed);
    }
    if (to - from).num_days() + 1 > MAX_DAYS {
        return Err(PeriodError::TooLong);
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn demand(wanted: i64, allowed: i64, ordered: i64) -> Demand {
        Demand {
            wanted,
            allowed,
            ordered,
        }
    }

    #[test]
    fn nothing_wanted_has_no_fill_rate_and_no_cut() {
        assert_eq!(demand(0, 0, 0).fill_rate(), None);
        assert_eq!(demand(0, 0, 3).fill_rate(), None, "added by hand");
        assert_eq!(demand(0, 0, 3).cut(), 0);
        assert_eq!(demand(10, 4, 4).fill_rate(), Some(0.4));
        assert_eq!(demand(10, 4, 4).cut(), 6);
        assert_eq!(demand(2, 5, 5).cut(), 0, "never below 0");
        assert_eq!(demand(2, 5, 5).fill_rate(), Some(1.0));
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-30 is a Monday.
        assert_eq!(week_of(d(2026, 11, 30)), d(2026, 11, 30));
        assert_eq!(week_of(d(2026, 12, 6)), d(2026, 11, 30), "Sunday");
        assert_eq!(week_of(d(2026, 12, 7)), d(2026, 12, 7));
        assert_eq!(week_of(d(2027, 1, 1)), d(2026, 12, 28), "across the year");
    }

    #[test]
    fn days_fold_into_every_week_of_the_period() {
        let days = [
            (d(2026, 11, 30), demand(5, 4, 4)),
            (d(2026, 12, 2), demand(3, 3, 2)),
            (d(2026, 12, 16), demand(1, 0, 0)),
            (d(2027, 3, 1), demand(9, 9, 9)),
        ];
        let weeks = by_week(&days, d(2026, 12, 1), d(2026, 12, 20));
        assert_eq!(
            weeks,
            vec![
                WeekFill {
                    week: d(2026, 11, 30),
                    demand: demand(3, 3, 2)
                },
                WeekFill {
                    week: d(2026, 12, 7),
                    demand: Demand::default()
                },
                WeekFill {
                    week: d(2026, 12, 14),
                    demand: demand(1, 0, 0)
                },
            ],
            "the day before the period and the one after are left out"
        );
    }

    #[test]
    fn the_default_period_is_eight_whole_weeks_to_this_sunday() {
        let today = d(2026, 12, 2);
        let (from, to) = period(None, None, today).expect("default");
        assert_eq!(to, d(2026, 12, 6));
        assert_eq!(from, d(2026, 10, 12));
        assert_eq!(from.weekday(), chrono::Weekday::Mon);
        assert_eq!(by_week(&[], from, to).len(), 8);
        assert_eq!(
            period(Some("2026-01-01"), Some("2027-01-01"), today),
            Ok((d(2026, 1, 1), d(2027, 1, 1))),
            "366 days"
        );
        assert_eq!(
            period(Some("2026-01-01"), Some("2027-01-02"), today),
            Err(PeriodError::TooLong)
        );
        assert_eq!(
            period(Some("2026-02-01"), Some("2026-01-01"), today),
            Err(PeriodError::Reversed)
        );
        assert_eq!(
            period(Some("2026-13-01"), None, today),
            Err(PeriodError::NotADate("from"))
        );
    }

    #[test]
    fn the_largest_cut_comes_first() {
        let row = |code: &str, rank: i64, d: Demand| SpecClassFill {
            spec_id: 0,
            spec_code: code.into(),
            spec_name: String::new(),
            class_code: rank.to_string(),
            class_label: String::new(),
            class_rank: rank,
            demand: d,
            retailers_cut: 0,
        };
        let mut rows = vec![
            row("A", 1, demand(10, 9, 9)),
            row("B", 1, demand(20, 10, 10)),
            row("C", 1, demand(0, 0, 4)),
            row("A", 2, demand(10, 9, 9)),
        ];
        sort_by_cut(&mut rows);
        let order: Vec<(&str, i64)> = rows
            .iter()
            .map(|r| (r.spec_code.as_str(), r.class_rank))
            .collect();
        assert_eq!(order, [("B", 1), ("A", 2), ("A", 1), ("C", 1)]);
    }
}
