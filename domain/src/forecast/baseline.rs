//! The system baseline (系统基线): a forecast per retailer × spec for a month
//! from that series' monthly history, chosen per series by this rule:
//!
//! 1. Months before the series' first order are dropped (the retailer did not
//!    sell the spec yet). No order at all: the baseline is 0 ([`Method::None`]).
//! 2. Spring Festival months are divided by the peak factor (estimated over
//!    many series with [`peak_factor`]), so that the peak does not inflate
//!    the level; a forecast for a peak month is multiplied by it again.
//! 3. Fewer than 4 months since the first order ([`Method::Short`]): the mean
//!    of those months.
//! 4. Intermittent series, average interval between orders (ADI) of at least
//!    1.32 months (the Syntetos–Boylan cut-off):
//!    - [`Method::Tsb`] (Teunter–Syntetos–Babai) when the current run of
//!      months without an order is longer than twice the ADI: TSB lowers its
//!      forecast as the gap grows, so a retailer who stopped selling a spec
//!      fades out instead of being forecast forever;
//!    - [`Method::Sba`] otherwise: Croston's method with the
//!      Syntetos–Boylan bias correction (1 − α/2).
//! 5. Otherwise ([`Method::Smooth`]): simple exponential smoothing.
//!
//! Smoothing constants: α = 0.1 for sizes and intervals of intermittent
//! series (the usual choice in the literature), β = 0.1 for TSB's
//! probability, α = 0.3 for smooth series. The forecast is flat over the
//! horizon apart from the Spring Festival factor.

use serde::{Deserialize, Serialize};

use crate::month::YearMonth;

/// The method chosen for a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    None,
    Short,
    Smooth,
    Sba,
    Tsb,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::None,
        Method::Short,
        Method::Smooth,
        Method::Sba,
        Method::Tsb,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::None => "none",
            Method::Short => "short",
            Method::Smooth => "ses",
            Method::Sba => "sba",
            Method::Tsb => "tsb",
        }
    }
}

/// A forecast of one series and the method behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    /// Cartons per month (not rounded).
    pub value: f64,
    pub method: Method,
}

impl Forecast {
    /// The forecast in whole cartons.
    pub fn cartons(self) -> i64 {
        self.value.round().max(0.0) as i64
    }
}

const ADI_CUTOFF: f64 = 1.32;
const SHORT_MONTHS: usize = 4;
const ALPHA_INTERMITTENT: f64 = 0.1;
const BETA_TSB: f64 = 0.1;
const ALPHA_SMOOTH: f64 = 0.3;
/// Peak factors are kept within this range whatever the data says.
const PEAK_RANGE: (f64, f64) = (1.0, 3.0);

/// The Spring Festival factor: mean of peak months over mean of the other
/// months of `totals` (a sum over many series, one value per month from
/// `first`). 1 when the history holds no peak month or fewer than 12 months.
pub fn peak_factor(first: YearMonth, totals: &[f64]) -> f64 {
    if totals.len() < 12 {
        return 1.0;
    }
    let (mut peak, mut np, mut other, mut no) = (0.0, 0usize, 0.0, 0usize);
    for (i, &v) in totals.iter().enumerate() {
        if first.plus(i as i64).has_spring_festival_peak() {
            peak += v;
            np += 1;
        } else {
            other += v;
            no += 1;
        }
    }
    if np == 0 || no == 0 || other <= 0.0 {
        return 1.0;
    }
    ((peak / np as f64) / (other / no as f64)).clamp(PEAK_RANGE.0, PEAK_RANGE.1)
}

/// Forecasts month `target` from `history`, the consecutive monthly values
/// starting at `first` and ending before `target`; `peak` is the Spring
/// Festival factor of [`peak_factor`].
pub fn forecast(first: YearMonth, history: &[f64], target: YearMonth, peak: f64) -> Forecast {
    let peak = if peak.is_finite() {
        peak.clamp(PEAK_RANGE.0, PEAK_RANGE.1)
    } else {
        1.0
    };
    let Some(start) = history.iter().position(|&v| v > 0.0) else {
        return Forecast {
            value: 0.0,
            method: Method::None,
        };
    };
    let series: Vec<f64> = history[start..]
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let month = first.plus((start + i) as i64);
            if month.has_spring_festival_peak() {
                v / peak
            } else {
                v
            }
        })
        .collect();
    let (level, method) = level_of(&series);
    let value = if target.has_spring_festival_peak() {
        level * peak
    } else {
        level
    };
    Forecast {
        value: value.max(0.0),
        method,
    }
}

/// The deseasonalised level of a series that starts with an order.
fn level_of(series: &[f64]) -> (f64, Method) {
    let n = series.len();
    if n < SHORT_MONTHS {
        return (series.iter().sum::<f64>() / n as f64, Method::Short);
    }
    let orders = series.iter().filter(|&&v| v > 0.0).count();
    let adi = n as f64 / orders.max(1) as f64;
    if adi >= ADI_CUTOFF {
        let trailing_zeros = series.iter().rev().take_while(|&&v| v <= 0.0).count();
        if trailing_zeros as f64 > 2.0 * adi {
            (tsb(series), Method::Tsb)
        } else {
            (sba(series), Method::Sba)
        }
    } else {
        (ses(series), Method::Smooth)
    }
}

/// Simple exponential smoothing, started from the mean of the first three.
fn ses(series: &[f64]) -> f64 {
    let mut level = series.iter().take(3).sum::<f64>() / series.len().min(3) as f64;
    for &v in series {
        level += ALPHA_SMOOTH * (v - level);
    }
    level
}

/// Croston's method with the Syntetos–Boylan correction: smoothed size over
/// smoothed interval, times (1 − α/2). Size and interval start from the
/// series' mean order size and mean interval: the series starts with an
/// order, so its first interval says nothing.
fn sba(series: &[f64]) -> f64 {
    let sizes: Vec<f64> = series.iter().copied().filter(|&v| v > 0.0).collect();
    if sizes.is_empty() {
        return 0.0;
    }
    let mut size = sizes.iter().sum::<f64>() / sizes.len() as f64;
    let mut interval = series.len() as f64 / sizes.len() as f64;
    let mut since: f64 = 0.0;
    for (i, &v) in series.iter().enumerate() {
        since += 1.0;
        if v > 0.0 {
            if i > 0 {
                size += ALPHA_INTERMITTENT * (v - size);
                interval += ALPHA_INTERMITTENT * (since - interval);
            }
            since = 0.0;
        }
    }
    (1.0 - ALPHA_INTERMITTENT / 2.0) * size / interval.max(1.0)
}

/// Teunter–Syntetos–Babai: smoothed size times a probability of an order
/// that is updated every month, so it decays through a run of zeros.
fn tsb(series: &[f64]) -> f64 {
    let orders = series.iter().filter(|&&v| v > 0.0).count();
    let mut probability = orders as f64 / series.len() as f64;
    let mut size = series.iter().copied().find(|&v| v > 0.0).unwrap_or(0.0);
    for &v in series {
        if v > 0.0 {
            size += ALPHA_INTERMITTENT * (v - size);
            probability += BETA_TSB * (1.0 - probability);
        } else {
            probability += BETA_TSB * (0.0 - probability);
        }
    }
    size * probability
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap_or_else(|_| panic!("bad month {s}"))
    }

    #[test]
    fn a_series_without_orders_forecasts_zero() {
        let f = forecast(ym("2025-01"), &[0.0; 12], ym("2026-01"), 1.0);
        assert_eq!((f.cartons(), f.method), (0, Method::None));
    }

    #[test]
    fn short_histories_use_their_mean_and_ignore_months_before_the_first_order() {
        let mut h = vec![0.0; 10];
        h.extend([4.0, 6.0, 8.0]);
        let f = forecast(ym("2025-06"), &h, ym("2026-07"), 1.0);
        assert_eq!((f.cartons(), f.method), (6, Method::Short));
    }

    #[test]
    fn steady_series_are_smoothed_to_their_level() {
        let h = vec![20.0; 12];
        let f = forecast(ym("2025-03"), &h, ym("2026-03"), 1.0);
        assert_eq!((f.cartons(), f.method), (20, Method::Smooth));
    }

    #[test]
    fn intermittent_series_forecast_the_rate_not_the_size() {
        // 6 cartons every third month: about 2 a month.
        let h: Vec<f64> = (0..18)
            .map(|i| if i % 3 == 0 { 6.0 } else { 0.0 })
            .collect();
        let f = forecast(ym("2025-01"), &h, ym("2026-07"), 1.0);
        assert_eq!(f.method, Method::Sba);
        assert!((1.5..=2.5).contains(&f.value), "{f:?}");
    }

    #[test]
    fn a_retailer_who_stopped_fades_out() {
        let mut h: Vec<f64> = (0..12)
            .map(|i| if i % 2 == 0 { 6.0 } else { 0.0 })
            .collect();
        h.extend([0.0; 8]);
        let f = forecast(ym("2025-01"), &h, ym("2026-09"), 1.0);
        assert_eq!(f.method, Method::Tsb);
        let sba_like = 0.95 * 6.0 / 2.0;
        assert!(f.value < sba_like / 2.0, "{f:?}");
    }

    #[test]
    fn the_spring_festival_month_is_raised_by_the_peak_factor() {
        // 2026's festival is on 17 February: February is the peak month.
        let first = ym("2025-01");
        let h: Vec<f64> = (0..13)
            .map(|i| {
                if first.plus(i).has_spring_festival_peak() {
                    20.0
                } else {
                    10.0
                }
            })
            .collect();
        let peak = peak_factor(first, &h);
        assert!((1.9..=2.1).contains(&peak), "{peak}");
        let before = forecast(first, &h, ym("2026-02"), peak);
        let after = forecast(first, &h, ym("2026-03"), peak);
        assert_eq!(after.cartons(), 10);
        assert_eq!(before.cartons(), 20);
    }

    #[test]
    fn peak_factors_need_a_year_and_stay_in_range() {
        assert_eq!(peak_factor(ym("2025-01"), &[5.0; 6]), 1.0);
        let mut h = vec![1.0; 13];
        h[0] = 100.0;
        assert_eq!(peak_factor(ym("2025-01"), &h), 3.0);
    }
}
