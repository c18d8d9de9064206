//! The baseline as a CSV filter: monthly history in, forecasts out, with no
//! database. Also the product's side of the evaluation against
//! statsforecast (`scripts/forecast-eval.sh`), which calls it with
//! `--origins` for a rolling origin and reads its timing line.
//!
//! Input: a header row `series_id,month,quantity`, then one row per series
//! and month (months as YYYY-MM). Refused with the line number: a missing
//! header, a non-numeric, negative, non-finite or too large quantity, a bad
//! month and a month given twice for one series. Months of a series without
//! a row are zero between its first and its last row; each series ends at
//! its own last row, unless `--through` says that every series runs through
//! that month (order histories list only months with orders).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use domain::forecast::baseline::{forecast_months, forecast_path, Forecast, Profile};
use domain::month::YearMonth;

/// Larger quantities are refused rather than rounded or overflowed.
pub const MAX_QUANTITY: f64 = 1e12;

/// A file may span at most this many months (a hundred years): each series
/// is held month by month from its first row.
pub const MAX_SPAN: i64 = 1200;

/// At most this many rolling origins (ten years of months).
pub const MAX_ORIGINS: usize = 120;

/// How seasonality is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Calendar {
    /// Tobacco series: one profile pooled over all series, with the Spring
    /// Festival month and the month after it (the product's rule).
    Festival,
    /// One profile pooled over all series by calendar month only (to measure
    /// what the festival handling adds).
    Pooled,
    /// Each series its own: the seasonality test and classical decomposition
    /// with a season of `--season` (for data that are not tobacco sales).
    Own,
}

/// What to forecast.
#[derive(Debug, Clone)]
pub struct Options {
    pub horizon: usize,
    /// When > 0: for each of the last `origins` months of the file, forecast
    /// it (one month ahead) from the months before it, for every series
    /// with an order before it.
    pub origins: usize,
    pub through: Option<YearMonth>,
    pub calendar: Calendar,
    pub season: usize,
}

/// A series as read: its id, first month and values.
pub struct Series {
    pub id: String,
    pub first: YearMonth,
    pub values: Vec<f64>,
}

/// What a run did.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub series: usize,
    pub forecasts: usize,
    /// Time spent forecasting (profile and methods), not reading or writing.
    pub compute: Duration,
}

/// Reads and checks the file.
pub fn read(input: &Path, through: Option<YearMonth>) -> anyhow::Result<Vec<Series>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(input)
        .with_context(|| format!("reading {}", input.display()))?;
    let mut records = reader.records();
    let header = records
        .next()
        .with_context(|| format!("{} is empty", input.display()))?
        .context("line 1")?;
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    if names != ["series_id", "month", "quantity"] {
        let looks_like_data = header
            .get(2)
            .is_some_and(|v| v.trim().parse::<f64>().is_ok());
        bail!(
            "line 1: the header row must be `series_id,month,quantity`{}",
            if looks_like_data {
                " (the first line looks like data: add the header row)"
            } else {
                ""
            }
        );
    }
    let mut points: BTreeMap<String, BTreeMap<YearMonth, (f64, usize)>> = BTreeMap::new();
    let mut lines = LineCounter::open(input)?;
    let mut line = 1;
    // The earliest and latest months so far and the line of the first row.
    let mut span: Option<((YearMonth, YearMonth), usize)> = None;
    for record in records {
        // The file's line (blank lines and quoted line breaks counted).
        let position = match &record {
            Ok(r) => r.position(),
            Err(e) => e.position(),
        };
        line = match position {
            Some(p) => lines.line_at(p.byte())?,
            None => line + 1,
        };
        let record = record.with_context(|| format!("line {line}"))?;
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() != 3 {
            bail!(
                "line {line}: expected 3 fields (series_id,month,quantity), found {}",
                record.len()
            );
        }
        let field = |n: usize, name: &str| {
            record
                .get(n)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .with_context(|| format!("line {line}: {name} is missing"))
        };
        let id = field(0, "series_id")?.to_string();
        let month_text = field(1, "month")?;
        let month: YearMonth = month_text.parse().map_err(|_| {
            anyhow::anyhow!("line {line}: month `{month_text}` is not YYYY-MM (years 1900–9999)")
        })?;
        if let Some(t) = through {
            if month > t {
                bail!("line {line}: month {month} is after --through {t}");
            }
        }
        let text = field(2, "quantity")?;
        let quantity: f64 = text
            .parse()
            .map_err(|_| anyhow::anyhow!("line {line}: quantity `{text}` is not a number"))?;
        if quantity.is_nan() {
            bail!("line {line}: quantity `{text}` is not a number");
        }
        if quantity < 0.0 {
            bail!("line {line}: quantity {text} is negative");
        }
        if quantity > MAX_QUANTITY {
            bail!("line {line}: quantity `{text}` is too large (at most {MAX_QUANTITY:e})");
        }
        if let Some(&(earliest, first_line)) = span.as_ref() {
            let (from, to) = (month.min(earliest.0), month.max(earliest.1));
            if from.months_until(through.unwrap_or(to).max(to)) >= MAX_SPAN {
                bail!(
                    "line {line}: month {month} makes the file span more than {MAX_SPAN} months \
                     (from line {first_line}); split it"
                );
            }
            span = Some(((from, to), first_line));
        } else {
            if let Some(t) = through {
                if month.months_until(t) >= MAX_SPAN {
                    bail!("line {line}: month {month} is more than {MAX_SPAN} months before --through {t}");
                }
            }
            span = Some(((month, month), line));
        }
        let months = points.entry(id.clone()).or_default();
        if let Some((_, earlier)) = months.get(&month) {
            bail!("line {line}: series {id} month {month} is already on line {earlier}");
        }
        months.insert(month, (quantity, line));
    }
    if points.is_empty() {
        bail!("{} holds no rows after the header", input.display());
    }
    Ok(points
        .into_iter()
        .filter_map(|(id, months)| {
            let first = *months.keys().next()?;
            let last = through.unwrap_or(*months.keys().next_back()?);
            let mut values = vec![0.0; (first.months_until(last) + 1) as usize];
            for (m, (v, _)) in months {
                values[first.months_until(m) as usize] = v;
            }
            Some(Series { id, first, values })
        })
        .collect())
}

/// Line numbers of byte offsets, read forward through a second handle on the
/// file (the CSV reader's own line count skips blank lines).
struct LineCounter {
    reader: std::io::BufReader<std::fs::File>,
    at: u64,
    line: usize,
}

impl LineCounter {
    fn open(path: &Path) -> anyhow::Result<LineCounter> {
        let file =
            std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(LineCounter {
            reader: std::io::BufReader::new(file),
            at: 0,
            line: 1,
        })
    }

    /// The line a record at `byte` starts on (offsets only grow).
    fn line_at(&mut self, byte: u64) -> anyhow::Result<usize> {
        use std::io::BufRead;
        while self.at < byte {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let take = buf.len().min((byte - self.at) as usize);
            self.line += buf[..take].iter().filter(|&&b| b == b'\n').count();
            self.reader.consume(take);
            self.at += take as u64;
        }
        // A record's offset is where the reader left the one before: blank
        // lines in between belong to it.
        loop {
            let buf = self.reader.fill_buf()?;
            let blank = buf
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
            if blank == 0 {
                break;
            }
            self.line += buf[..blank].iter().filter(|&&b| b == b'\n').count();
            self.reader.consume(blank);
            self.at += blank as u64;
        }
        Ok(self.line)
    }
}

/// Months of history the pooled profile is estimated on (as the product).
const PROFILE_MONTHS: i64 = 24;

/// The pooled profile for forecasts of `end` and later: estimated on the
/// totals of the series that cover the whole window of up to 24 months
/// before `end`, so that series starting or ending inside it do not read as
/// seasonality.
fn profile(series: &[Series], calendar: Calendar, end: YearMonth) -> Profile {
    let Some(earliest) = series.iter().map(|s| s.first).min() else {
        return Profile::FLAT;
    };
    let start = earliest.max(end.plus(-PROFILE_MONTHS));
    let len = start.months_until(end).max(0) as usize;
    let mut totals = vec![0.0; len];
    for s in series {
        let covered = s.first <= start && s.first.plus(s.values.len() as i64) >= end;
        if !covered {
            continue;
        }
        let offset = s.first.months_until(start) as usize;
        for (t, total) in totals.iter_mut().enumerate() {
            *total += s.values[offset + t];
        }
    }
    match calendar {
        Calendar::Festival => Profile::pooled(start, &totals),
        Calendar::Pooled => Profile::pooled_calendar(start, &totals),
        Calendar::Own => Profile::FLAT,
    }
}

fn forecast_series(
    s: &[f64],
    first: YearMonth,
    horizon: usize,
    options: &Options,
    profile: &Profile,
) -> Vec<Forecast> {
    match options.calendar {
        Calendar::Own => forecast_path(s, options.season, horizon),
        Calendar::Festival | Calendar::Pooled => forecast_months(first, s, horizon, profile),
    }
}

/// Forecasts and writes `series_id,month,forecast,low,high,method` (the
/// 80 % interval's bounds).
pub fn run(input: &Path, output: &Path, options: &Options) -> anyhow::Result<Summary> {
    if !(1..=24).contains(&options.horizon) {
        bail!("--horizon must be 1 to 24 months");
    }
    if options.season < 1 || options.season > 24 {
        bail!("--season must be 1 to 24");
    }
    if options.origins > MAX_ORIGINS {
        bail!("--origins must be 0 to {MAX_ORIGINS} months");
    }
    let series = read(input, options.through)?;
    let mut writer =
        csv::Writer::from_path(output).with_context(|| format!("writing {}", output.display()))?;
    writer.write_record(["series_id", "month", "forecast", "low", "high", "method"])?;
    let mut rows: Vec<(usize, YearMonth, Forecast)> = Vec::new();
    let started = Instant::now();
    if options.origins == 0 {
        // Each series from its own last month; the profile from every month
        // of the file.
        let end = series
            .iter()
            .map(|s| s.first.plus(s.values.len() as i64))
            .max()
            .context("no series")?;
        let profile = profile(&series, options.calendar, end);
        for (k, s) in series.iter().enumerate() {
            let last = s.first.plus(s.values.len() as i64 - 1);
            for (h, f) in forecast_series(&s.values, s.first, options.horizon, options, &profile)
                .into_iter()
                .enumerate()
            {
                rows.push((k, last.plus(h as i64 + 1), f));
            }
        }
    } else {
        let last = series
            .iter()
            .map(|s| s.first.plus(s.values.len() as i64 - 1))
            .max()
            .context("no series")?;
        let first = series.iter().map(|s| s.first).min().context("no series")?;
        let span = (first.months_until(last) + 1) as usize;
        if options.origins >= span {
            bail!(
                "--origins {} leaves no history: the file spans {span} months",
                options.origins
            );
        }
        for o in (0..options.origins).rev() {
            let target = last.plus(-(o as i64));
            // Nothing from the target month on is seen, not even by the profile.
            let profile = profile(&series, options.calendar, target);
            for (k, s) in series.iter().enumerate() {
                let Ok(seen) = usize::try_from(s.first.months_until(target)) else {
                    continue;
                };
                if seen == 0 || seen > s.values.len() - 1 {
                    continue;
                }
                let history = &s.values[..seen];
                if history.iter().all(|&v| v <= 0.0) {
                    continue;
                }
                if let Some(f) = forecast_series(history, s.first, 1, options, &profile).pop() {
                    rows.push((k, target, f));
                }
            }
        }
    }
    let compute = started.elapsed();
    for (k, month, f) in &rows {
        writer.write_record([
            series[*k].id.as_str(),
            &month.to_string(),
            &format!("{:.4}", f.value),
            &format!("{:.4}", f.low),
            &format!("{:.4}", f.high),
            f.method.as_str(),
        ])?;
    }
    writer.flush()?;
    Ok(Summary {
        series: series.len(),
        forecasts: rows.len(),
        compute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(horizon: usize) -> Options {
        Options {
            horizon,
            origins: 0,
            through: None,
            calendar: Calendar::Festival,
            season: 12,
        }
    }

    fn run_text(text: &str, options: &Options) -> anyhow::Result<String> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static RUN: AtomicUsize = AtomicUsize::new(0);
        let n = RUN.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("baseline-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let input = dir.join(format!("in-{n}.csv"));
        let output = dir.join(format!("out-{n}.csv"));
        std::fs::write(&input, text)?;
        run(&input, &output, options)?;
        Ok(std::fs::read_to_string(&output)?)
    }

    fn error(text: &str) -> String {
        match run_text(text, &options(1)) {
            Ok(out) => panic!("accepted: {out}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn bad_quantities_are_refused_with_their_line() {
        let head = "series_id,month,quantity\na,2025-01,3\n";
        assert!(error(&format!("{head}a,2025-02,-1\n")).contains("line 3: quantity -1 is negative"));
        assert!(error(&format!("{head}a,2025-02,lots\n"))
            .contains("line 3: quantity `lots` is not a number"));
        assert!(error(&format!("{head}a,2025-02,1e400\n")).contains("line 3"));
        assert!(error(&format!("{head}a,2025-02,1e13\n")).contains("too large"));
        assert!(error(&format!("{head}a,2025-13,1\n")).contains("line 3: month"));
        assert!(error(&format!("{head}a,2025-01,4\n")).contains("already on line 2"));
    }

    #[test]
    fn origins_beyond_the_file_or_the_limit_are_refused() {
        let text = "series_id,month,quantity\na,2025-01,3\na,2025-02,4\n";
        let o = |origins| Options {
            origins,
            ..options(1)
        };
        let e = run_text(text, &o(2)).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("spans 2 months"), "{e}");
        let e = run_text(text, &o(usize::MAX))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--origins must be 0 to 120"), "{e}");
        assert!(run_text(text, &o(1)).is_ok());
    }

    #[test]
    fn errors_name_the_file_line_and_spans_are_bounded() {
        let e = error("series_id,month,quantity\n\n\na,2024-01,abc\n");
        assert!(e.contains("line 4: quantity `abc` is not a number"), "{e}");
        let e = error("series_id,month,quantity\na,2024-01,NaN\n");
        assert!(e.contains("is not a number"), "{e}");
        let e = error("series_id,month,quantity\na,2024-01,-inf\n");
        assert!(e.contains("negative"), "{e}");
        let e = error("series_id,month,quantity\na,1900-01,5\nb,9999-12,5\n");
        assert!(
            e.contains("line 3") && e.contains("span more than 1200 months"),
            "{e}"
        );
        let e = error("series_id,month,quantity\na,1899-12,5\n");
        assert!(e.contains("years 1900–9999"), "{e}");
    }

    #[test]
    fn a_file_without_its_header_row_is_refused() {
        let e = error("a,2025-01,3\na,2025-02,4\n");
        assert!(
            e.contains("header row") && e.contains("looks like data"),
            "{e}"
        );
    }

    #[test]
    fn each_series_is_forecast_from_its_own_last_month() {
        let mut text = String::from("series_id,month,quantity\n");
        for m in 1..=12 {
            text.push_str(&format!("long,2025-{m:02},10\n"));
        }
        for m in 1..=6 {
            text.push_str(&format!("short,2025-{m:02},10\n"));
        }
        let out = run_text(&text, &options(1)).unwrap_or_default();
        assert!(out.contains("long,2026-01,"), "{out}");
        // Not read as zeros from July on: forecast for July at its level.
        let short = out.lines().find(|l| l.starts_with("short,")).unwrap_or("");
        assert!(short.starts_with("short,2025-07,"), "{out}");
        let value: f64 = short
            .split(',')
            .nth(2)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        assert!((value - 10.0).abs() < 1.0, "{short}");
    }

    #[test]
    fn through_makes_missing_months_zero() {
        let mut text = String::from("series_id,month,quantity\n");
        for m in 1..=4 {
            text.push_str(&format!("gone,2025-{m:02},10\n"));
        }
        let o = Options {
            through: "2025-12".parse().ok(),
            ..options(1)
        };
        let out = run_text(&text, &o).unwrap_or_default();
        let row = out.lines().nth(1).unwrap_or("");
        assert!(row.starts_with("gone,2026-01,"), "{out}");
        let value: f64 = row
            .split(',')
            .nth(2)
            .and_then(|v| v.parse().ok())
            .unwrap_or(99.0);
        assert!(value < 5.0, "{row}");
    }

    #[test]
    fn zeros_forecast_zero_and_values_are_written_in_full() {
        let text = "series_id,month,quantity\nz,2025-01,0\nz,2025-02,0\nbig,2025-01,900000000000\n";
        let out = run_text(text, &options(1)).unwrap_or_default();
        assert!(out.contains("z,2025-03,0.0000,0.0000,0.0000,none"), "{out}");
        assert!(out.contains("big,2025-02,900000000000.0000"), "{out}");
    }
}
