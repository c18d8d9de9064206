//! Forecast error measures and the rolling-origin evaluation of the
//! baseline against the naive and seasonal-naive forecasts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::baseline::{forecast, Method, Profile};
use crate::month::YearMonth;

/// Weighted absolute percentage error Σ|F − A| / ΣA; `None` when nothing
/// was ordered.
pub fn wape(abs_error: f64, actual: f64) -> Option<f64> {
    (actual > 0.0).then(|| abs_error / actual)
}

/// Forecast accuracy (预测准确率) = max(0, 1 − Σ|F − A| / ΣA); `None` when
/// nothing was ordered.
pub fn accuracy(abs_error: f64, actual: f64) -> Option<f64> {
    wape(abs_error, actual).map(|w| (1.0 - w).max(0.0))
}

/// Sums from which the error measures are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorSums {
    /// Σ|F − A|
    pub abs_error: f64,
    /// ΣA
    pub actual: f64,
    /// Σ 2|F − A| / (|F| + |A|) over points where F and A are not both 0.
    pub smape_sum: f64,
    pub smape_points: u64,
    pub points: u64,
}

impl ErrorSums {
    pub fn add(&mut self, forecast: f64, actual: f64) {
        let error = (forecast - actual).abs();
        self.abs_error += error;
        self.actual += actual;
        self.points += 1;
        let scale = forecast.abs() + actual.abs();
        if scale > 0.0 {
            self.smape_sum += 2.0 * error / scale;
            self.smape_points += 1;
        }
    }

    /// Weighted absolute percentage error Σ|F − A| / ΣA (None without actuals).
    pub fn wape(&self) -> Option<f64> {
        wape(self.abs_error, self.actual)
    }

    /// Forecast accuracy (预测准确率) = max(0, 1 − WAPE).
    pub fn accuracy(&self) -> Option<f64> {
        accuracy(self.abs_error, self.actual)
    }

    /// Symmetric MAPE, 0–2 (shown as 0–200%).
    pub fn smape(&self) -> Option<f64> {
        (self.smape_points > 0).then(|| self.smape_sum / self.smape_points as f64)
    }
}

/// The methods compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contender {
    /// Last month's value.
    Naive,
    /// The same month a year before (last month's value when the history is
    /// shorter than a year).
    SeasonalNaive,
    /// The system baseline.
    Baseline,
}

impl Contender {
    pub const ALL: [Contender; 3] = [
        Contender::Naive,
        Contender::SeasonalNaive,
        Contender::Baseline,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Contender::Naive => "naive",
            Contender::SeasonalNaive => "seasonal naive",
            Contender::Baseline => "baseline",
        }
    }
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub origins: Vec<YearMonth>,
    pub overall: BTreeMap<Contender, ErrorSums>,
    /// Per method the baseline chose: how many forecasts, and each
    /// contender's errors on those same points.
    pub by_method: BTreeMap<Method, BTreeMap<Contender, ErrorSums>>,
}

/// Rolling-origin evaluation: for each of the last `origins` months of the
/// history, every series is forecast from the months before it and compared
/// with what was ordered. `series` hold consecutive months starting at
/// `first`, all of the same length. The seasonal profile is estimated from the
/// series' total up to each origin, so no future month is used.
pub fn evaluate(first: YearMonth, series: &[Vec<f64>], origins: usize) -> Evaluation {
    let len = series.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = Evaluation::default();
    let start = len.saturating_sub(origins).max(1);
    for t in start..len {
        let target = first.plus(t as i64);
        out.origins.push(target);
        let totals: Vec<f64> = (0..t)
            .map(|i| {
                series
                    .iter()
                    .map(|s| s.get(i).copied().unwrap_or(0.0))
                    .sum()
            })
            .collect();
        let profile = Profile::pooled(first, &totals);
        for s in series {
            let Some(&actual) = s.get(t) else { continue };
            let history = &s[..t];
            let naive = history.last().copied().unwrap_or(0.0);
            let seasonal = if t >= 12 { s[t - 12] } else { naive };
            let base = forecast(first, history, target, &profile);
            // Series that never ordered before and do not order now say
            // nothing about any method.
            if base.method == Method::None && actual == 0.0 {
                continue;
            }
            for (who, f) in [
                (Contender::Naive, naive),
                (Contender::SeasonalNaive, seasonal),
                (Contender::Baseline, base.value),
            ] {
                out.overall.entry(who).or_default().add(f, actual);
                out.by_method
                    .entry(base.method)
                    .or_default()
                    .entry(who)
                    .or_default()
                    .add(f, actual);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wape_smape_and_accuracy_follow_their_formulas() {
        let mut sums = ErrorSums::default();
        sums.add(12.0, 10.0);
        sums.add(0.0, 10.0);
        sums.add(0.0, 0.0);
        assert_eq!(sums.wape(), Some(12.0 / 20.0));
        assert_eq!(sums.accuracy(), Some(1.0 - 0.6));
        let smape = (2.0 * 2.0 / 22.0 + 2.0) / 2.0;
        assert!((sums.smape().unwrap_or(0.0) - smape).abs() < 1e-12);
        let mut worse = ErrorSums::default();
        worse.add(40.0, 10.0);
        assert_eq!(worse.accuracy(), Some(0.0));
        assert_eq!(ErrorSums::default().wape(), None);
    }

    #[test]
    fn on_a_steady_series_with_noise_the_baseline_beats_naive() {
        let first: YearMonth = "2024-11".parse().unwrap_or_else(|_| panic!("month"));
        let noise = [3.0, -4.0, 5.0, -2.0, 4.0, -5.0, 2.0, -3.0];
        let series: Vec<Vec<f64>> = (0..20)
            .map(|k| {
                (0..24)
                    .map(|t| 30.0 + noise[(t + k) % noise.len()])
                    .collect()
            })
            .collect();
        let eval = evaluate(first, &series, 6);
        assert_eq!(eval.origins.len(), 6);
        let wape = |c| eval.overall[&c].wape().unwrap_or(1.0);
        assert!(wape(Contender::Baseline) < wape(Contender::Naive));
        assert_eq!(eval.overall[&Contender::Baseline].points, 6 * 20);
    }
}
