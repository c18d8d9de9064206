//! Forecasting methods on one series of monthly values (no calendar here:
//! seasonality is removed before and put back after, see `baseline`).
//!
//! ETS comes from the crate `augurs-ets` (a port of statsforecast's
//! AutoETS). The rest is written here because no maintained Rust crate has
//! them: Theta, simple exponential smoothing with a fitted weight, the
//! seasonality test and classical decomposition, and the intermittent-demand
//! methods (Croston/SBA, TSB, ADIDA, IMAPA). Each names its reference.

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;

/// Simple exponential smoothing fitted by least squares on its one-step
/// errors, the level started at the first value (as statsforecast's
/// `SimpleExponentialSmoothingOptimized`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ses {
    pub alpha: f64,
    /// The last smoothed level: the flat forecast.
    pub level: f64,
    /// Mean squared one-step error in the sample.
    pub mse: f64,
}

/// The level and in-sample mean squared one-step error of SES with `alpha`.
fn ses_run(y: &[f64], alpha: f64) -> (f64, f64) {
    let Some(&first) = y.first() else {
        return (0.0, 0.0);
    };
    let mut level = first;
    let mut sse = 0.0;
    for &v in &y[1..] {
        let e = v - level;
        sse += e * e;
        level += alpha * e;
    }
    (level, sse / (y.len().max(2) - 1) as f64)
}

/// Fits SES with α in [`lo`, `hi`]: a coarse grid, then golden-section
/// search around the best point (the error is smooth in α).
pub fn ses_fit_in(y: &[f64], lo: f64, hi: f64) -> Ses {
    if y.len() < 2 {
        let level = y.first().copied().unwrap_or(0.0);
        return Ses {
            alpha: hi,
            level,
            mse: 0.0,
        };
    }
    const GRID: usize = 10;
    let step = (hi - lo) / GRID as f64;
    let mut best = (lo, f64::INFINITY);
    for k in 0..=GRID {
        let a = lo + step * k as f64;
        let (_, mse) = ses_run(y, a);
        if mse < best.1 {
            best = (a, mse);
        }
    }
    let (mut a, mut b) = ((best.0 - step).max(lo), (best.0 + step).min(hi));
    let phi = 0.618_033_988_75;
    let mut c = b - phi * (b - a);
    let mut d = a + phi * (b - a);
    let (mut fc, mut fd) = (ses_run(y, c).1, ses_run(y, d).1);
    for _ in 0..12 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = ses_run(y, c).1;
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = ses_run(y, d).1;
        }
    }
    let alpha = (a + b) / 2.0;
    let (level, mse) = ses_run(y, alpha);
    Ses { alpha, level, mse }
}

/// SES with α fitted in [0.01, 1].
pub fn ses_fit(y: &[f64]) -> Ses {
    ses_fit_in(y, 0.01, 1.0)
}

/// Slope of the least-squares line through `y` against 0, 1, …
pub fn slope(y: &[f64]) -> f64 {
    let n = y.len() as f64;
    if y.len() < 2 {
        return 0.0;
    }
    let tm = (n - 1.0) / 2.0;
    let ym = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (t, &v) in y.iter().enumerate() {
        let dt = t as f64 - tm;
        sxy += dt * (v - ym);
        sxx += dt * dt;
    }
    if sxx > 0.0 {
        sxy / sxx
    } else {
        0.0
    }
}

/// The standard Theta method (Assimakopoulos & Nikolopoulos 2000), in the
/// form of Hyndman & Billah (2003) as R's `forecast::thetaf` computes it:
/// SES with a fitted weight plus half the slope of the linear trend,
/// `F(h) = ℓ + b/2 · (h − 1 + (1 − (1 − α)^n) / α)`. On a series already
/// without seasonality.
pub fn theta(y: &[f64], horizon: usize) -> Vec<f64> {
    let n = y.len();
    if n == 0 {
        return vec![0.0; horizon];
    }
    let ses = ses_fit(y);
    let half_slope = slope(y) / 2.0;
    let alpha = ses.alpha.max(1e-10);
    let lift = (1.0 - (1.0 - alpha).powi(n as i32)) / alpha;
    (0..horizon)
        .map(|h| ses.level + half_slope * (h as f64 + lift))
        .collect()
}

/// Damped-trend, error-trend-season models chosen by AICc: augurs' port of
/// statsforecast's AutoETS, non-seasonal (`ZZN`) on a series whose
/// seasonality is already removed, or with `season` > 1 on the raw series.
/// `None` when the series is too short or no model fits.
pub fn ets(y: &[f64], season: usize, horizon: usize) -> Option<Vec<f64>> {
    // AutoETS needs more points than parameters.
    if y.len() < 8 || y.iter().all(|&v| (v - y[0]).abs() < 1e-9) {
        return None;
    }
    let model = if season > 1 {
        AutoETS::new(season, "ZZZ").ok()?
    } else {
        AutoETS::non_seasonal()
    };
    let fitted = model.fit(y).ok()?;
    let forecast = fitted.predict(horizon, None).ok()?;
    let point = forecast.point;
    point.iter().all(|v| v.is_finite()).then_some(point)
}

/// Autocorrelation of `y` at lags 1..=`max_lag`.
fn acf(y: &[f64], max_lag: usize) -> Vec<f64> {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let denom: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    (1..=max_lag)
        .map(|k| {
            if denom <= 0.0 || k >= n {
                return 0.0;
            }
            (k..n)
                .map(|t| (y[t] - mean) * (y[t - k] - mean))
                .sum::<f64>()
                / denom
        })
        .collect()
}

/// The 90 % seasonality test of `forecast::thetaf` (also used by the M4
/// benchmarks): the autocorrelation at lag `m` against its standard error
/// under the hypothesis of no seasonality. Needs more than two seasons.
pub fn is_seasonal(y: &[f64], m: usize) -> bool {
    let n = y.len();
    if m < 2 || n <= 2 * m {
        return false;
    }
    let r = acf(y, m);
    let stat = ((1.0 + 2.0 * r[..m - 1].iter().map(|v| v * v).sum::<f64>()) / n as f64).sqrt();
    stat > 0.0 && r[m - 1].abs() / stat > 1.645
}

/// Multiplicative seasonal indices of classical decomposition (R's
/// `decompose(type = "multiplicative")`): the series over its centred moving
/// average of order `m`, averaged per position in the season and scaled to
/// mean 1. Index `k` belongs to positions `t` with `t % m == k`. `None` when
/// the series has a value ≤ 0 (a ratio would be meaningless) or is shorter
/// than two seasons.
pub fn seasonal_indices(y: &[f64], m: usize) -> Option<Vec<f64>> {
    let n = y.len();
    if m < 2 || n < 2 * m || y.iter().any(|&v| v <= 0.0) {
        return None;
    }
    let half = m / 2;
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in half..n - half {
        let ma = if m % 2 == 0 {
            let inner: f64 = y[t + 1 - half..t + half].iter().sum();
            (inner + 0.5 * (y[t - half] + y[t + half])) / m as f64
        } else {
            y[t - half..=t + half].iter().sum::<f64>() / m as f64
        };
        if ma > 0.0 {
            sums[t % m] += y[t] / ma;
            counts[t % m] += 1;
        }
    }
    if counts.contains(&0) {
        return None;
    }
    let mut idx: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s / c as f64)
        .collect();
    let mean = idx.iter().sum::<f64>() / m as f64;
    if mean <= 0.0 {
        return None;
    }
    for v in &mut idx {
        *v /= mean;
    }
    Some(idx)
}

/// Average interval between non-zero values (ADI); infinite without any.
pub fn adi(y: &[f64]) -> f64 {
    let orders = y.iter().filter(|&&v| v > 0.0).count();
    if orders == 0 {
        f64::INFINITY
    } else {
        y.len() as f64 / orders as f64
    }
}

/// Croston's method (Croston 1972) with fitted weights as statsforecast's
/// `CrostonOptimized`: SES of the non-zero sizes and of the intervals
/// between them, each with α fitted in [0.1, 0.3]; the forecast is size over
/// interval. `sba` applies the Syntetos–Boylan (2005) correction 1 − α/2.
pub fn croston(y: &[f64], sba: bool) -> f64 {
    let mut sizes = Vec::new();
    let mut intervals = Vec::new();
    let mut since = 0.0;
    for &v in y {
        since += 1.0;
        if v > 0.0 {
            sizes.push(v);
            intervals.push(since);
            since = 0.0;
        }
    }
    if sizes.is_empty() {
        return 0.0;
    }
    let size = ses_fit_in(&sizes, 0.1, 0.3);
    let interval = ses_fit_in(&intervals, 0.1, 0.3);
    let f = size.level / interval.level.max(1.0);
    if sba {
        (1.0 - interval.alpha / 2.0) * f
    } else {
        f
    }
}

/// Teunter–Syntetos–Babai (2011): the size smoothed on orders, the
/// probability of an order smoothed every month, so it decays through a run
/// of zeros. Both weights are fitted on the in-sample one-step error over a
/// grid in [0.05, 0.5] (the probability's from 0.1).
pub fn tsb(y: &[f64]) -> f64 {
    let n = y.len();
    let orders = y.iter().filter(|&&v| v > 0.0).count();
    if orders == 0 || n == 0 {
        return 0.0;
    }
    let p0 = orders as f64 / n as f64;
    let z0 = y.iter().filter(|&&v| v > 0.0).sum::<f64>() / orders as f64;
    let run = |ad: f64, ap: f64| -> (f64, f64) {
        let (mut z, mut p, mut sse) = (z0, p0, 0.0);
        for &v in y {
            let e = v - z * p;
            sse += e * e;
            if v > 0.0 {
                z += ad * (v - z);
                p += ap * (1.0 - p);
            } else {
                p -= ap * p;
            }
        }
        (z * p, sse)
    };
    const SIZE: [f64; 6] = [0.05, 0.1, 0.15, 0.2, 0.3, 0.5];
    // At least 0.1 for the probability, so a stopped series fades in months.
    const PROBABILITY: [f64; 5] = [0.1, 0.15, 0.2, 0.3, 0.5];
    let mut best = (0.0, f64::INFINITY);
    for ad in SIZE {
        for ap in PROBABILITY {
            let (f, sse) = run(ad, ap);
            if sse < best.1 {
                best = (f, sse);
            }
        }
    }
    best.0
}

/// Sums of consecutive non-overlapping blocks of `k`, from the end of the
/// series (so the last block is complete and the most recent).
fn aggregate(y: &[f64], k: usize) -> Vec<f64> {
    let skip = y.len() % k;
    y[skip..].chunks(k).map(|c| c.iter().sum()).collect()
}

/// ADIDA (Nikolopoulos et al. 2011): SES with a fitted weight on the series
/// summed over blocks as long as its average interval, the forecast spread
/// back over the block.
pub fn adida(y: &[f64]) -> f64 {
    let a = adi(y);
    if !a.is_finite() {
        return 0.0;
    }
    let k = (a.round() as usize).clamp(1, y.len().max(1));
    let blocks = aggregate(y, k);
    if blocks.is_empty() {
        return 0.0;
    }
    ses_fit(&blocks).level / k as f64
}

/// IMAPA (Petropoulos & Kourentzes 2015): the mean over block sizes 1 to the
/// average interval of SES on the series summed over each block size.
pub fn imapa(y: &[f64]) -> f64 {
    let a = adi(y);
    if !a.is_finite() {
        return 0.0;
    }
    let top = (a.round() as usize).clamp(1, y.len().max(1));
    let mut sum = 0.0;
    let mut used = 0usize;
    for k in 1..=top {
        let blocks = aggregate(y, k);
        if blocks.is_empty() {
            continue;
        }
        sum += ses_fit(&blocks).level / k as f64;
        used += 1;
    }
    if used == 0 {
        0.0
    } else {
        sum / used as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ses_finds_a_small_weight_for_noise_around_a_level() {
        let y: Vec<f64> = (0..40)
            .map(|t| 10.0 + if t % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let s = ses_fit(&y);
        assert!(s.alpha < 0.2, "{s:?}");
        assert!((s.level - 10.0).abs() < 0.6, "{s:?}");
    }

    #[test]
    fn ses_follows_a_random_walk_closely() {
        let y: Vec<f64> = (0..30).map(|t| (t * t) as f64).collect();
        assert!(ses_fit(&y).alpha > 0.9);
    }

    #[test]
    fn theta_extends_half_the_trend() {
        let y: Vec<f64> = (0..24).map(|t| 100.0 + 2.0 * t as f64).collect();
        let f = theta(&y, 3);
        // A clean line: SES follows it (α → 1) and adds half the slope per
        // step, so the forecast rises by 1 a month from just above the end.
        assert!(f[0] > 146.0 && f[0] < 149.0, "{f:?}");
        assert!((f[2] - f[0] - 2.0).abs() < 0.2, "{f:?}");
    }

    #[test]
    fn seasonality_is_found_in_a_seasonal_series_and_not_in_noise() {
        let pattern = [1.0, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.2, 1.0, 0.9, 0.8, 0.8];
        let y: Vec<f64> = (0..60).map(|t| 100.0 * pattern[t % 12]).collect();
        assert!(is_seasonal(&y, 12));
        let idx = seasonal_indices(&y, 12).unwrap_or_default();
        assert!((idx[6] / idx[1] - 1.3 / 0.8).abs() < 0.05, "{idx:?}");
        let noise: Vec<f64> = (0..60).map(|t| 100.0 + ((t * 7919) % 13) as f64).collect();
        assert!(!is_seasonal(&noise, 12));
    }

    #[test]
    fn intermittent_methods_forecast_the_rate() {
        let y: Vec<f64> = (0..24)
            .map(|t| if t % 3 == 0 { 6.0 } else { 0.0 })
            .collect();
        for (name, f) in [
            ("croston", croston(&y, false)),
            ("sba", croston(&y, true)),
            ("tsb", tsb(&y)),
            ("adida", adida(&y)),
            ("imapa", imapa(&y)),
        ] {
            assert!((1.5..=2.5).contains(&f), "{name}: {f}");
        }
    }

    #[test]
    fn tsb_fades_after_the_orders_stop() {
        let mut y: Vec<f64> = (0..12)
            .map(|t| if t % 2 == 0 { 6.0 } else { 0.0 })
            .collect();
        y.extend([0.0; 10]);
        assert!(tsb(&y) < 1.0, "{}", tsb(&y));
    }

    #[test]
    fn ets_forecasts_a_trend_and_refuses_a_constant() {
        let y: Vec<f64> = (0..36)
            .map(|t| 50.0 + 3.0 * t as f64 + (t % 3) as f64)
            .collect();
        let f = ets(&y, 1, 2).unwrap_or_default();
        assert_eq!(f.len(), 2);
        assert!(f[0] > 150.0, "{f:?}");
        assert!(ets(&[5.0; 20], 1, 1).is_none());
    }
}
