//! The system baseline (系统基线): a forecast per retailer × spec for a month
//! from that series' monthly history, with an 80 % interval. The rule:
//!
//! 1. Months before the series' first order are dropped (the retailer did not
//!    sell the spec yet). No order at all: the baseline is 0 ([`Method::None`]).
//! 2. Seasonality is removed first and put back on the forecast:
//!    - tobacco series share one seasonal profile ([`Profile::pooled`]),
//!      estimated on the sum of many series: the Spring Festival month, the
//!      month after it and the calendar months. Retailer × spec series are
//!      too short and too noisy to estimate their own (group seasonal
//!      indices, Withycombe 1989; Dekker, van Donselaar & Ouwehand 2004),
//!      and the festival moves between January and February, which a
//!      12-month season cannot follow;
//!    - a series of its own ([`forecast_path`], as the evaluation on public
//!      data uses) gets the 90 % seasonality test and classical
//!      multiplicative decomposition of `forecast::thetaf`, the indices
//!      estimated on its last six seasons so that a changing season is
//!      followed.
//! 3. Fewer than 4 months since the first order ([`Method::Short`]): the mean
//!    of those months.
//! 4. Intermittent series, average interval between orders (ADI) of at least
//!    1.32 months (the Syntetos–Boylan cut-off): the mean of SBA, TSB, ADIDA
//!    and IMAPA ([`Method::Intermittent`]); when the current run of months
//!    without an order is longer than twice the ADI, TSB alone
//!    ([`Method::Faded`]), which lowers the forecast as the gap grows, so a
//!    retailer who stopped selling a spec fades out.
//! 5. Otherwise the median of simple exponential smoothing with a fitted
//!    weight, AutoETS (augurs) and Theta ([`Method::Combined`]): a
//!    combination of a few strong methods is known to beat each of them on
//!    the M competitions (Makridakis et al. 2020), the median keeps one
//!    method's bad fit out, and choosing one method per series by a holdout on
//!    2 years of history is noisier than combining (measured by
//!    `scripts/forecast-eval.sh`; see the README).
//!
//! The interval: the spread of the series' own one-step errors (SES with a
//! fitted weight on the deseasonalised series), widened with the horizon as
//! for SES, ±1.2816 σ for 80 % of a normal error, at least the spread a
//! Poisson count with the forecast as mean would have, and never below 0. In
//! whole cartons ([`Forecast::range`]) it is the whole numbers inside it.

use serde::{Deserialize, Serialize};

use super::methods;
use crate::month::YearMonth;

/// The method chosen for a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    None,
    Short,
    /// The median of SES, AutoETS and Theta.
    Combined,
    /// SBA, TSB, ADIDA and IMAPA, averaged.
    Intermittent,
    /// TSB alone: the orders stopped.
    Faded,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::None,
        Method::Short,
        Method::Combined,
        Method::Intermittent,
        Method::Faded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::None => "none",
            Method::Short => "short",
            Method::Combined => "ses_ets_theta",
            Method::Intermittent => "intermittent",
            Method::Faded => "tsb_faded",
        }
    }
}

/// A forecast of one month of one series, its 80 % interval and the method
/// behind it. Values are cartons per month (not rounded).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub method: Method,
}

impl Forecast {
    const ZERO: Forecast = Forecast {
        value: 0.0,
        low: 0.0,
        high: 0.0,
        method: Method::None,
    };

    /// The forecast in whole cartons.
    pub fn cartons(self) -> i64 {
        whole(self.value)
    }

    /// The 80 % interval in whole cartons: the whole numbers inside it (a
    /// count is a whole number, so rounding the bounds outwards would cover
    /// far more than 80 % of small counts), widened to hold the forecast.
    pub fn range(self) -> (i64, i64) {
        let low = if self.low.is_finite() {
            self.low.ceil().clamp(0.0, 1e12) as i64
        } else {
            0
        };
        let high = if self.high.is_finite() {
            self.high.floor().clamp(0.0, 1e12) as i64
        } else {
            0
        };
        (low.min(self.cartons()), high.max(self.cartons()))
    }
}

fn whole(v: f64) -> i64 {
    if v.is_finite() {
        v.round().clamp(0.0, 1e12) as i64
    } else {
        0
    }
}

/// z for a central 80 % interval of a normal error.
const Z80: f64 = 1.281_551_565_5;
const ADI_CUTOFF: f64 = 1.32;
/// At most the last this many months of a series are fitted (thirty years):
/// older months say little about next month, and the cost grows with them.
pub const MAX_FIT_MONTHS: usize = 360;
/// Seasons of a series' own history its seasonal indices are estimated on.
const SEASONS_KEPT: usize = 6;
const SHORT_MONTHS: usize = 4;
/// Seasonal indices are kept within this range whatever the data says.
const INDEX_RANGE: (f64, f64) = (0.3, 3.0);
/// Weight of the prior index 1 in a seasonal index, in months: the totals of
/// many series are smooth, so the data decides, but a kind of month seen
/// once is pulled a little towards ordinary.
const INDEX_PRIOR: f64 = 0.2;

/// Which kind of month a seasonal index belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The Spring Festival peak month ([`YearMonth::has_spring_festival_peak`]).
    Peak,
    /// The month after the peak: stocks bought for the festival are sold.
    AfterPeak,
    /// Any other month, by its calendar month 1–12.
    Calendar(u32),
}

fn slot(month: YearMonth, festival: bool) -> Slot {
    if !festival {
        Slot::Calendar(month.month())
    } else if month.has_spring_festival_peak() {
        Slot::Peak
    } else if month.plus(-1).has_spring_festival_peak() {
        Slot::AfterPeak
    } else {
        Slot::Calendar(month.month())
    }
}

/// The seasonal profile shared by tobacco series: an index per kind of month
/// (1 = an ordinary month).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    pub peak: f64,
    pub after_peak: f64,
    /// January to December, for months that are neither.
    pub calendar: [f64; 12],
    /// Whether the festival's months have their own index; if not, every
    /// month is indexed by its calendar month.
    pub festival: bool,
}

impl Profile {
    /// No seasonality.
    pub const FLAT: Profile = Profile {
        peak: 1.0,
        after_peak: 1.0,
        calendar: [1.0; 12],
        festival: false,
    };

    /// The index of a month.
    pub fn index(&self, month: YearMonth) -> f64 {
        match slot(month, self.festival) {
            Slot::Peak => self.peak,
            Slot::AfterPeak => self.after_peak,
            Slot::Calendar(m) => self.calendar[(m as usize).saturating_sub(1).min(11)],
        }
    }

    /// Estimates the profile from `totals`, a sum over many series with one
    /// value per month from `first` (leading months without any order are
    /// left out: the history had not started): each month over a linear trend of the
    /// deseasonalised totals, averaged per kind of month (with a small prior
    /// weight at 1), three rounds. Flat with fewer than 12 months.
    pub fn pooled(first: YearMonth, totals: &[f64]) -> Profile {
        Self::estimate(first, totals, true)
    }

    /// As [`Profile::pooled`] with calendar months only (no festival
    /// months), to measure what the festival handling adds.
    pub fn pooled_calendar(first: YearMonth, totals: &[f64]) -> Profile {
        Self::estimate(first, totals, false)
    }

    fn estimate(first: YearMonth, totals: &[f64], festival: bool) -> Profile {
        // Months before the history starts are not a season: leave them out.
        let skip = totals.iter().take_while(|&&v| v == 0.0).count();
        let (first, totals) = (first.plus(skip as i64), &totals[skip..]);
        let n = totals.len();
        if n < 12 || totals.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Profile::FLAT;
        }
        if totals.iter().sum::<f64>() <= 0.0 {
            return Profile::FLAT;
        }
        let months: Vec<YearMonth> = (0..n).map(|i| first.plus(i as i64)).collect();
        let mut profile = Profile {
            festival,
            ..Profile::FLAT
        };
        for _ in 0..3 {
            let adjusted: Vec<f64> = totals
                .iter()
                .zip(&months)
                .map(|(v, &m)| v / profile.index(m))
                .collect();
            let b = methods::slope(&adjusted);
            let mean = adjusted.iter().sum::<f64>() / n as f64;
            let mid = (n as f64 - 1.0) / 2.0;
            let mut sums = [(0.0, 0.0); 14];
            for (t, (&v, &m)) in totals.iter().zip(&months).enumerate() {
                let trend = mean + b * (t as f64 - mid);
                if trend <= 0.0 {
                    continue;
                }
                let k = match slot(m, festival) {
                    Slot::Peak => 12,
                    Slot::AfterPeak => 13,
                    Slot::Calendar(c) => (c as usize).saturating_sub(1).min(11),
                };
                sums[k].0 += v / trend;
                sums[k].1 += 1.0;
            }
            let index = |(s, c): (f64, f64)| {
                ((s + INDEX_PRIOR) / (c + INDEX_PRIOR)).clamp(INDEX_RANGE.0, INDEX_RANGE.1)
            };
            let mut next = Profile {
                festival,
                ..Profile::FLAT
            };
            for (k, c) in next.calendar.iter_mut().enumerate() {
                *c = index(sums[k]);
            }
            next.peak = index(sums[12]);
            next.after_peak = index(sums[13]);
            // Scale so the history's months average 1.
            let mean_index = months.iter().map(|&m| next.index(m)).sum::<f64>() / n as f64;
            let scale = |v: f64| (v / mean_index).clamp(INDEX_RANGE.0, INDEX_RANGE.1);
            if mean_index > 0.0 {
                next.peak = scale(next.peak);
                next.after_peak = scale(next.after_peak);
                for c in &mut next.calendar {
                    *c = scale(*c);
                }
            }
            profile = next;
        }
        profile
    }
}

/// A point forecast path of a deseasonalised series that starts with an
/// order, with the spread of its one-step errors.
struct Projection {
    points: Vec<f64>,
    method: Method,
    /// Standard deviation of the one-step error, and SES's weight (for the
    /// growth of the error with the horizon).
    sigma: f64,
    alpha: f64,
}

fn project(series: &[f64], horizon: usize) -> Projection {
    let n = series.len();
    let ses = methods::ses_fit(series);
    let sigma = ses.mse.sqrt();
    if n < SHORT_MONTHS {
        let mean = series.iter().sum::<f64>() / n.max(1) as f64;
        let spread = series.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.max(1) as f64;
        return Projection {
            points: vec![mean; horizon],
            method: Method::Short,
            sigma: spread.sqrt(),
            alpha: 1.0,
        };
    }
    let adi = methods::adi(series);
    let (points, method) = if adi >= ADI_CUTOFF {
        let trailing_zeros = series.iter().rev().take_while(|&&v| v <= 0.0).count();
        if trailing_zeros as f64 > 2.0 * adi {
            (vec![methods::tsb(series); horizon], Method::Faded)
        } else {
            let f = (methods::croston(series, true)
                + methods::tsb(series)
                + methods::adida(series)
                + methods::imapa(series))
                / 4.0;
            (vec![f; horizon], Method::Intermittent)
        }
    } else {
        let theta = methods::theta(series, horizon);
        let points = match methods::ets(series, 1, horizon) {
            Some(ets) => (0..horizon)
                .map(|k| median3(ses.level, ets[k], theta[k]))
                .collect(),
            None => theta.iter().map(|t| (t + ses.level) / 2.0).collect(),
        };
        (points, Method::Combined)
    };
    Projection {
        points,
        method,
        sigma,
        alpha: ses.alpha,
    }
}

/// The middle one of three values.
fn median3(a: f64, b: f64, c: f64) -> f64 {
    a.max(b).min(a.min(b).max(c))
}

/// The forecast `h` steps ahead (1-based) with its interval, seasonal index
/// `index` put back.
fn finish(p: &Projection, h: usize, index: f64) -> Forecast {
    let point = p.points.get(h - 1).copied().unwrap_or(0.0).max(0.0);
    let spread = p.sigma * (1.0 + (h as f64 - 1.0) * p.alpha * p.alpha).sqrt();
    let value = point * index;
    // A count cannot be less spread than a Poisson count with this mean.
    let spread = (spread * index).max(value.sqrt());
    let value = if value.is_finite() { value } else { 0.0 };
    Forecast {
        value,
        low: (value - Z80 * spread).max(0.0),
        high: (value + Z80 * spread).max(value),
        method: p.method,
    }
}

/// Forecasts month `target` from `history`, the consecutive monthly values
/// starting at `first` and ending before `target`; `profile` is the shared
/// seasonal profile of [`Profile::pooled`].
pub fn forecast(
    first: YearMonth,
    history: &[f64],
    target: YearMonth,
    profile: &Profile,
) -> Forecast {
    let last = first.plus(history.len() as i64 - 1);
    let h = last.months_until(target).max(1) as usize;
    forecast_months(first, history, h, profile)
        .pop()
        .unwrap_or(Forecast::ZERO)
}

/// Forecasts the `horizon` months after `history` (consecutive monthly
/// values from `first`).
pub fn forecast_months(
    first: YearMonth,
    history: &[f64],
    horizon: usize,
    profile: &Profile,
) -> Vec<Forecast> {
    let horizon = horizon.clamp(1, 120);
    let Some(first_order) = history.iter().position(|&v| v.is_finite() && v > 0.0) else {
        return vec![Forecast::ZERO; horizon];
    };
    let start = first_order.max(history.len().saturating_sub(MAX_FIT_MONTHS));
    let series: Vec<f64> = history[start..]
        .iter()
        .enumerate()
        .map(|(i, &v)| clean(v) / profile.index(first.plus((start + i) as i64)))
        .collect();
    let projection = project(&series, horizon);
    let end = first.plus(history.len() as i64 - 1);
    (1..=horizon)
        .map(|h| finish(&projection, h, profile.index(end.plus(h as i64))))
        .collect()
}

/// Forecasts the next `horizon` values of a series with no calendar (`y`
/// from its first value), with a season of `season` values (12 for monthly
/// data, 1 for none), tested and removed per series.
pub fn forecast_path(y: &[f64], season: usize, horizon: usize) -> Vec<Forecast> {
    let horizon = horizon.clamp(1, 120);
    let season = season.max(1);
    let Some(first_value) = y.iter().position(|&v| v.is_finite() && v > 0.0) else {
        return vec![Forecast::ZERO; horizon];
    };
    let start = first_value.max(y.len().saturating_sub(MAX_FIT_MONTHS));
    let y: Vec<f64> = y[start..].iter().map(|&v| clean(v)).collect();
    let n = y.len();
    // Indices from the last seasons only (at most SEASONS_KEPT), so that a
    // season that changes over the years is followed.
    let kept = season * SEASONS_KEPT;
    let window = if n >= kept {
        kept
    } else {
        n - n % season.max(1)
    };
    let indices = if methods::is_seasonal(&y, season) {
        methods::seasonal_indices(&y[n - window..], season)
    } else {
        None
    };
    let origin = (n - window) as i64;
    let index = |t: usize| {
        indices.as_ref().map_or(1.0, |ix| {
            ix[(t as i64 - origin).rem_euclid(season as i64) as usize]
        })
    };
    let series: Vec<f64> = y.iter().enumerate().map(|(t, v)| v / index(t)).collect();
    let projection = project(&series, horizon);
    (1..=horizon)
        .map(|h| finish(&projection, h, index(y.len() + h - 1)))
        .collect()
}

/// A value as the methods take it: finite and not below 0.
fn clean(v: f64) -> f64 {
    if v.is_finite() {
        v.max(0.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap_or_else(|_| panic!("bad month {s}"))
    }

    #[test]
    fn a_series_without_orders_forecasts_zero() {
        let f = forecast(ym("2025-01"), &[0.0; 12], ym("2026-01"), &Profile::FLAT);
        assert_eq!(
            (f.cartons(), f.range(), f.method),
            (0, (0, 0), Method::None)
        );
    }

    #[test]
    fn short_histories_use_their_mean_and_ignore_months_before_the_first_order() {
        let mut h = vec![0.0; 10];
        h.extend([4.0, 6.0, 8.0]);
        let f = forecast(ym("2025-06"), &h, ym("2026-07"), &Profile::FLAT);
        assert_eq!((f.cartons(), f.method), (6, Method::Short));
    }

    #[test]
    fn steady_series_are_forecast_at_their_level() {
        let h: Vec<f64> = (0..24).map(|t| 20.0 + [1.0, -1.0, 0.0][t % 3]).collect();
        let f = forecast(ym("2025-03"), &h, ym("2027-03"), &Profile::FLAT);
        assert_eq!((f.cartons(), f.method), (20, Method::Combined));
        let (low, high) = f.range();
        assert!(low <= 20 && high >= 20 && high - low <= 16, "{f:?}");
    }

    #[test]
    fn intermittent_series_forecast_the_rate_not_the_size() {
        // 6 cartons every third month: about 2 a month.
        let h: Vec<f64> = (0..18)
            .map(|i| if i % 3 == 0 { 6.0 } else { 0.0 })
            .collect();
        let f = forecast(ym("2025-01"), &h, ym("2026-07"), &Profile::FLAT);
        assert_eq!(f.method, Method::Intermittent);
        assert!((1.5..=2.5).contains(&f.value), "{f:?}");
    }

    #[test]
    fn a_retailer_who_stopped_fades_out() {
        let mut h: Vec<f64> = (0..12)
            .map(|i| if i % 2 == 0 { 6.0 } else { 0.0 })
            .collect();
        h.extend([0.0; 8]);
        let f = forecast(ym("2025-01"), &h, ym("2026-09"), &Profile::FLAT);
        assert_eq!(f.method, Method::Faded);
        assert!(f.value < 6.0 / 2.0 / 2.0, "{f:?}");
    }

    #[test]
    fn the_spring_festival_month_is_raised_by_the_pooled_profile() {
        // 2026's festival is on 17 February: February is the peak month.
        let first = ym("2024-02");
        let h: Vec<f64> = (0..24)
            .map(|i| {
                let m = first.plus(i);
                if m.has_spring_festival_peak() {
                    20.0
                } else if m.plus(-1).has_spring_festival_peak() {
                    8.0
                } else {
                    10.0
                }
            })
            .collect();
        let profile = Profile::pooled(first, &h);
        assert!(profile.peak / profile.calendar[5] > 1.6, "{profile:?}");
        let peak = forecast(first, &h, ym("2026-02"), &profile);
        let after = forecast(first, &h, ym("2026-03"), &profile);
        let before = forecast(first, &h, ym("2026-04"), &profile);
        assert!(peak.cartons() >= 17, "{peak:?}");
        assert!(after.cartons() < before.cartons(), "{after:?} {before:?}");
    }

    #[test]
    fn months_before_the_history_starts_are_not_a_season() {
        // 13 months of flat history at the end of a 24-month window.
        let mut totals = vec![0.0; 11];
        totals.extend([100.0; 13]);
        let first = ym("2024-11");
        let p = Profile::pooled(first, &totals);
        for m in 0..24 {
            let i = p.index(first.plus(m));
            assert!((0.8..=1.25).contains(&i), "{m}: {i} {p:?}");
        }
        let series: Vec<f64> = totals.iter().map(|t| t / 10.0).collect();
        let f = forecast(first, &series, first.plus(24), &p);
        assert_eq!(f.cartons(), 10, "{f:?}");
    }

    #[test]
    fn a_short_or_empty_total_gives_a_flat_profile() {
        assert_eq!(Profile::pooled(ym("2025-01"), &[5.0; 6]), Profile::FLAT);
        assert_eq!(Profile::pooled(ym("2025-01"), &[0.0; 24]), Profile::FLAT);
        let mut h = vec![1.0; 13];
        h[0] = 1000.0;
        let p = Profile::pooled(ym("2025-01"), &h);
        assert!(p.peak <= INDEX_RANGE.1);
    }

    #[test]
    fn a_seasonal_series_of_its_own_keeps_its_season() {
        let pattern = [1.0, 0.8, 0.9, 1.0, 1.1, 1.2, 1.5, 1.2, 1.0, 0.9, 0.8, 0.8];
        let y: Vec<f64> = (0..48).map(|t| 100.0 * pattern[t % 12]).collect();
        let f = forecast_path(&y, 12, 12);
        assert!((f[6].value - 150.0).abs() < 5.0, "{:?}", f[6]);
        assert!((f[1].value - 80.0).abs() < 5.0, "{:?}", f[1]);
    }

    fn shapes() -> impl Strategy<Value = Vec<f64>> {
        prop_oneof![
            // anything from a month to 3 years, including huge values
            proptest::collection::vec(0.0..1e9_f64, 1..36),
            // a single spike among zeros
            (1usize..36, 0usize..36, 1.0..1e6_f64).prop_map(|(n, at, v)| {
                let mut y = vec![0.0; n];
                y[at % n] = v;
                y
            }),
            // a strong trend, up or down
            (2usize..36, -50.0..50.0_f64)
                .prop_map(|(n, b)| { (0..n).map(|t| (100.0 + b * t as f64).max(0.0)).collect() }),
            // a series that stopped
            (1usize..24, 1usize..24, 1.0..100.0_f64).prop_map(|(on, off, v)| [
                vec![v; on],
                vec![0.0; off]
            ]
            .concat()),
            // zeros
            (1usize..36).prop_map(|n| vec![0.0; n]),
        ]
    }

    proptest! {
        #[test]
        fn forecasts_are_finite_and_not_negative(y in shapes(), h in 1usize..4) {
            let profile = Profile::pooled(ym("2024-01"), &y);
            for f in forecast_months(ym("2024-01"), &y, h, &profile)
                .into_iter()
                .chain(forecast_path(&y, 12, h))
            {
                prop_assert!(f.value.is_finite() && f.value >= 0.0, "{f:?}");
                prop_assert!(f.low >= 0.0 && f.low <= f.value && f.value <= f.high, "{f:?}");
                prop_assert!(f.high.is_finite(), "{f:?}");
                if y.iter().all(|&v| v == 0.0) {
                    prop_assert_eq!(f.value, 0.0);
                }
            }
        }
    }
}
