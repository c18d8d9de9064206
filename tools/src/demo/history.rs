//! The demo's past forecast cycles: the last months of order history as
//! closed cycles, each with every customer manager's sheet approved up the
//! review chain. A line carries what the product records: the manager's
//! figure, the system baseline and the retailer's orders last month and a
//! year before (as at submission), reviewers' corrections with their rows,
//! and the approved value. The actual orders of those months are the
//! demo's order history, so accuracy, its trend and the value the review
//! chain added show on first start.
//!
//! How the figures are made (deterministic from the seed, on a stream of
//! its own so the order history does not change): the baseline is
//! `domain::forecast::baseline` over the 24 months before the cycle, as the
//! product computes it at submission; a manager's figure closes part of the
//! gap from the baseline to what the retailer then ordered (each manager
//! knows their shops to a degree of their own, a little better each month),
//! with some noise and now and then an optimistic figure; reviewers correct a share of the lines that
//! are off, towards what was ordered. On average the approved value is then
//! more accurate than the manager's, and the manager's than the baseline.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use domain::forecast::baseline::{forecast, Profile};
use domain::forecast::review::{AccuracySums, Compared};
use domain::forecast::{
    default_deadlines, deviates, in_scope, month_sample_group, ForecastRules, Scope,
};
use domain::month::YearMonth;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use server::db::insert_rows;
use sqlx::AnyConnection;

/// Months of history behind a baseline: what the product reads at
/// submission (`HISTORY_MONTHS` of `server::routes::forecast`).
const WINDOW: i64 = 24;

/// How much closer to the actual a manager's figures get each month.
const LEARNING: f64 = 0.02;

/// Why a manager's figure is above or below the baseline.
const REASONS_UP: [&str; 5] = [
    "节前备货",
    "周边新开小区，客流增加",
    "客户反馈需求上升",
    "门店扩大经营",
    "竞品断货，替代需求",
];
const REASONS_DOWN: [&str; 4] = [
    "客户库存偏高",
    "周边道路施工，客流减少",
    "客户反馈需求下降",
    "品规调价后销量回落",
];
/// Why a reviewer corrected a line.
const CORRECTIONS: [&str; 5] = [
    "按近三月订货核定",
    "结合市场走势调整",
    "参考同档位客户调整",
    "按货源投放计划调整",
    "与客户经理核实后修正",
];

/// One retailer of a manager with its order history: cartons per spec
/// (index spec id − 1) and month of the demo's history (index from its
/// first month).
pub struct RetailerHistory {
    pub id: i64,
    pub licence: String,
    pub orders: Vec<i64>,
}

/// Who reviews at each level: the market manager of each market
/// department, the county reviewer of each county department, the
/// marketing center; and each unit's parent.
pub struct Reviewers {
    pub center: i64,
    pub root_unit: i64,
    pub by_unit: HashMap<i64, i64>,
    pub parent: HashMap<i64, i64>,
}

/// The history being written: cycles first, then each manager's sheets as
/// their retailers are made.
pub struct History {
    /// The cycles' months, oldest first; cycle ids are 1, 2, …
    months: Vec<YearMonth>,
    scope: Scope,
    specs: usize,
    /// The first month of order history and the number of months.
    first_order_month: YearMonth,
    order_months: usize,
    reviewers: Reviewers,
    rules: ForecastRules,
    rng: ChaCha8Rng,
    sheets: Vec<i64>,
    lines: i64,
    corrections: i64,
    /// Per cycle: accuracy sums of its lines against the month's orders.
    sums: Vec<AccuracySums>,
}

/// What was made.
#[derive(Debug, Clone, Default)]
pub struct HistoryReport {
    pub cycles: i64,
    pub sheets: i64,
    pub lines: i64,
    pub corrections: i64,
    /// Accuracy of the latest cycle: approved, entered, baseline.
    pub latest: Option<(f64, f64, f64)>,
}

/// Seconds since the epoch of a China time (UTC+8) on `date`.
fn china_unix(date: NaiveDate, hour: u32, minute: u32) -> i64 {
    date.and_hms_opt(hour, minute, 0)
        .map_or(0, |t| t.and_utc().timestamp() - 8 * 3600)
}

impl History {
    /// The last `cycles` months up to `end` (at most one month fewer than
    /// the order history, so each cycle has a month before it).
    pub fn new(
        cycles: usize,
        scope: Scope,
        specs: usize,
        order_months: &[YearMonth],
        reviewers: Reviewers,
        seed: u64,
    ) -> History {
        let end = order_months
            .last()
            .copied()
            .unwrap_or_else(|| YearMonth::of_date(NaiveDate::MIN));
        let n = cycles.min(order_months.len().saturating_sub(1));
        let months = (0..n as i64).rev().map(|k| end.plus(-k)).collect();
        History {
            months,
            scope,
            specs,
            first_order_month: order_months.first().copied().unwrap_or(end),
            order_months: order_months.len(),
            reviewers,
            rules: ForecastRules::default(),
            rng: <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed ^ 0x4157_0e11_c7c1_e5e5),
            sheets: Vec::new(),
            lines: 0,
            corrections: 0,
            sums: vec![AccuracySums::default(); n],
        }
    }

    /// Writes the cycles (closed) and their specs: every spec of the
    /// catalogue, as a new cycle proposes.
    pub async fn write_cycles(
        &self,
        conn: &mut AnyConnection,
        population: i64,
    ) -> sqlx::Result<()> {
        let mut cycles = Vec::new();
        let mut specs = Vec::new();
        for (c, &month) in self.months.iter().enumerate() {
            let id = c as i64 + 1;
            let (submit, review) = default_deadlines(month);
            let sample_group =
                (self.scope == Scope::Sample).then(|| i64::from(month_sample_group(month)));
            cycles.push(vec![
                id.into(),
                month.to_string().into(),
                self.scope.as_str().into(),
                sample_group.into(),
                submit.to_string().into(),
                review.to_string().into(),
                "closed".into(),
                population.into(),
                self.reviewers.center.into(),
                china_unix(submit - Duration::days(19), 9, 0).into(),
            ]);
            for spec in 0..self.specs as i64 {
                specs.push(vec![id.into(), (spec + 1).into(), spec.into()]);
            }
        }
        insert_rows(
            conn,
            "forecast_cycles",
            &[
                "id",
                "month",
                "scope",
                "sample_group",
                "submit_deadline",
                "review_deadline",
                "status",
                "population",
                "created_by",
                "created_at",
            ],
            &cycles,
        )
        .await?;
        insert_rows(
            conn,
            "forecast_cycle_specs",
            &["cycle_id", "spec_id", "position"],
            &specs,
        )
        .await
    }

    /// A retailer's orders of a spec (id) in a month; 0 outside the history.
    fn ordered(&self, retailer: &RetailerHistory, spec: i64, month: YearMonth) -> i64 {
        let t = self.first_order_month.months_until(month);
        if t < 0 || t as usize >= self.order_months {
            return 0;
        }
        retailer
            .orders
            .get((spec - 1) as usize * self.order_months + t as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Writes one customer manager's approved sheet in every cycle where
    /// they have retailers in scope: the sheet, its retailers, lines,
    /// corrections and review records.
    pub async fn write_manager(
        &mut self,
        conn: &mut AnyConnection,
        manager: i64,
        unit: i64,
        retailers: &[RetailerHistory],
        first_sheet_id: i64,
    ) -> sqlx::Result<i64> {
        let mut next_sheet = first_sheet_id;
        // How much of the gap from the baseline to the actual this manager
        // closes: they know some shops better than others, and learn month
        // by month (accuracy is expected to keep improving).
        let skill: f64 = self.rng.gen_range(0.2..0.45);
        let county = self.reviewers.parent.get(&unit).copied();
        // The review chain: market department, county department, center.
        let mut chain: Vec<(i64, i64)> = Vec::new();
        if let Some(&mm) = self.reviewers.by_unit.get(&unit) {
            chain.push((unit, mm));
        }
        if let Some(county) = county {
            if let Some(&reviewer) = self.reviewers.by_unit.get(&county) {
                chain.push((county, reviewer));
            }
        }
        chain.push((self.reviewers.root_unit, self.reviewers.center));

        let mut sheets = Vec::new();
        let mut in_scope_rows = Vec::new();
        let mut lines = Vec::new();
        let mut corrections = Vec::new();
        let mut reviews = Vec::new();
        let months = self.months.clone();
        for (c, &month) in months.iter().enumerate() {
            let cycle_id = c as i64 + 1;
            let scoped: Vec<&RetailerHistory> = retailers
                .iter()
                .filter(|r| in_scope(self.scope, month, &r.licence))
                .collect();
            if scoped.is_empty() {
                continue;
            }
            let skill = (skill + LEARNING * c as f64).min(0.8);
            let sheet = next_sheet;
            next_sheet += 1;
            self.sheets.push(sheet);
            let (submit_deadline, review_deadline) = default_deadlines(month);
            let submitted_on = submit_deadline - Duration::days(self.rng.gen_range(0..=6));
            let submitted_at = china_unix(
                submitted_on,
                self.rng.gen_range(9..18),
                self.rng.gen_range(0..60),
            );
            // Each level approves a day or two after the one below; the
            // center by the review deadline.
            let approved_at: Vec<i64> = (0..chain.len())
                .map(|level| {
                    let day = if level + 1 == chain.len() {
                        review_deadline - Duration::days(self.rng.gen_range(0..=1))
                    } else {
                        submit_deadline + Duration::days(1 + 2 * level as i64)
                    };
                    china_unix(day, self.rng.gen_range(9..17), self.rng.gen_range(0..60))
                })
                .collect();
            sheets.push(vec![
                sheet.into(),
                cycle_id.into(),
                manager.into(),
                "approved".into(),
                None::<i64>.into(),
                Some(manager).into(),
                Some(submitted_at).into(),
            ]);
            reviews.push(vec![
                sheet.into(),
                "submit".into(),
                0_i64.into(),
                None::<i64>.into(),
                None::<String>.into(),
                manager.into(),
                submitted_at.into(),
            ]);
            for (level, (&(_, reviewer), &at)) in chain.iter().zip(&approved_at).enumerate() {
                let next = (level + 1 < chain.len()).then_some(level as i64 + 2);
                reviews.push(vec![
                    sheet.into(),
                    "approve".into(),
                    (level as i64 + 1).into(),
                    next.into(),
                    None::<String>.into(),
                    reviewer.into(),
                    at.into(),
                ]);
            }

            // The baseline as at submission: the 24 months before the
            // cycle, and the Spring Festival factor of the sheet's totals.
            let last = month.plus(-1);
            let first = last.plus(1 - WINDOW);
            let mut totals = vec![0.0; WINDOW as usize];
            for r in &scoped {
                for spec in 1..=self.specs as i64 {
                    for (i, total) in totals.iter_mut().enumerate() {
                        *total += self.ordered(r, spec, first.plus(i as i64)) as f64;
                    }
                }
            }
            let profile = Profile::pooled(first, &totals);
            let mut series = vec![0.0; WINDOW as usize];
            for r in &scoped {
                in_scope_rows.push(vec![cycle_id.into(), r.id.into(), sheet.into()]);
                for spec in 1..=self.specs as i64 {
                    for (i, v) in series.iter_mut().enumerate() {
                        *v = self.ordered(r, spec, first.plus(i as i64)) as f64;
                    }
                    let baseline = forecast(first, &series, month, &profile).cartons();
                    let actual = self.ordered(r, spec, month);
                    let entered = self.entered(actual, baseline, skill);
                    let reason = deviates(entered, baseline, &self.rules).then(|| {
                        let list: &[&str] = if entered > baseline {
                            &REASONS_UP
                        } else {
                            &REASONS_DOWN
                        };
                        list[self.rng.gen_range(0..list.len())].to_string()
                    });
                    let corrected = self.corrected(entered, actual);
                    let approved = corrected.unwrap_or(entered);
                    let (revision, updated_by, updated_at, current) = match corrected {
                        Some(value) => {
                            // Mostly the market manager; sometimes a level above.
                            let roll: f64 = self.rng.gen();
                            let level = if roll < 0.7 || chain.len() == 1 {
                                0
                            } else if roll < 0.9 || chain.len() == 2 {
                                1.min(chain.len() - 1)
                            } else {
                                chain.len() - 1
                            };
                            let (unit_id, reviewer) = chain[level];
                            let at = approved_at[level] - self.rng.gen_range(600..7200);
                            corrections.push(vec![
                                sheet.into(),
                                r.id.into(),
                                spec.into(),
                                (level as i64 + 1).into(),
                                unit_id.into(),
                                Some(entered).into(),
                                value.into(),
                                CORRECTIONS[self.rng.gen_range(0..CORRECTIONS.len())].into(),
                                reviewer.into(),
                                at.into(),
                            ]);
                            (2_i64, reviewer, at, Some(value))
                        }
                        None => (
                            1,
                            manager,
                            submitted_at - self.rng.gen_range(3600..86_400),
                            None,
                        ),
                    };
                    self.sums[c].add(approved, entered, baseline, actual);
                    lines.push(vec![
                        sheet.into(),
                        r.id.into(),
                        spec.into(),
                        Some(entered).into(),
                        reason.into(),
                        revision.into(),
                        Some(baseline).into(),
                        Some(approved).into(),
                        updated_by.into(),
                        updated_at.into(),
                        current.into(),
                        Some(self.ordered(r, spec, last)).into(),
                        Some(self.ordered(r, spec, month.plus(-12))).into(),
                    ]);
                }
            }
        }
        self.lines += lines.len() as i64;
        self.corrections += corrections.len() as i64;
        insert_rows(
            conn,
            "forecast_sheets",
            &[
                "id",
                "cycle_id",
                "manager_id",
                "status",
                "review_level",
                "submitted_by",
                "submitted_at",
            ],
            &sheets,
        )
        .await?;
        insert_rows(
            conn,
            "forecast_cycle_retailers",
            &["cycle_id", "retailer_id", "sheet_id"],
            &in_scope_rows,
        )
        .await?;
        insert_rows(
            conn,
            "forecast_lines",
            &[
                "sheet_id",
                "retailer_id",
                "spec_id",
                "entered",
                "reason",
                "revision",
                "baseline",
                "final_value",
                "updated_by",
                "updated_at",
                "current_value",
                "last_month",
                "last_year",
            ],
            &lines,
        )
        .await?;
        insert_rows(
            conn,
            "forecast_corrections",
            &[
                "sheet_id",
                "retailer_id",
                "spec_id",
                "level",
                "unit_id",
                "from_value",
                "to_value",
                "reason",
                "actor_id",
                "at",
            ],
            &corrections,
        )
        .await?;
        insert_rows(
            conn,
            "forecast_reviews",
            &[
                "sheet_id", "action", "level", "to_level", "comment", "actor_id", "at",
            ],
            &reviews,
        )
        .await?;
        Ok(next_sheet)
    }

    /// The manager's figure for a line.
    fn entered(&mut self, actual: i64, baseline: i64, skill: f64) -> i64 {
        if actual == 0 && baseline == 0 {
            return 0;
        }
        let (a, b) = (actual as f64, baseline as f64);
        if self.rng.gen_bool(0.03) {
            // Optimism: asking for more than the shop will take (scarce
            // specs are asked for generously).
            return (a.max(b) * self.rng.gen_range(1.4..1.9) + 1.0).round() as i64;
        }
        let noise = Normal::new(0.0, 0.1 * a.max(b) + 0.3)
            .map(|n| n.sample(&mut self.rng))
            .unwrap_or(0.0);
        (b + skill * (a - b) + noise).round().max(0.0) as i64
    }

    /// A reviewer's correction of a line that is off, towards what was
    /// ordered; `None` when the line stands.
    fn corrected(&mut self, entered: i64, actual: i64) -> Option<i64> {
        let error = (entered - actual).abs();
        if error < 3 || (error as f64) < 0.25 * actual.max(1) as f64 {
            return None;
        }
        if !self.rng.gen_bool(0.5) {
            return None;
        }
        let share: f64 = self.rng.gen_range(0.5..0.9);
        let value = (entered as f64 + share * (actual - entered) as f64).round() as i64;
        (value != entered).then_some(value.max(0))
    }

    /// Rebuilds every sheet's summary (totals and deviations), as the
    /// product does after each approval.
    /// After every manager's part: each cycle's number of retailers in
    /// scope (as opening a cycle keeps it) and each sheet's summary.
    pub async fn refresh_summaries(&self, conn: &mut AnyConnection) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE forecast_cycles SET retailers = \
             (SELECT COUNT(*) FROM forecast_cycle_retailers r WHERE r.cycle_id = forecast_cycles.id)",
        )
        .execute(&mut *conn)
        .await?;
        for &sheet in &self.sheets {
            server::store::summary::refresh_sheet(conn, sheet).await?;
        }
        Ok(())
    }

    pub fn report(&self) -> HistoryReport {
        let latest = self.sums.last().and_then(|s| {
            Some((
                s.accuracy(Compared::Approved)?,
                s.accuracy(Compared::Entered)?,
                s.accuracy(Compared::Baseline)?,
            ))
        });
        HistoryReport {
            cycles: self.months.len() as i64,
            sheets: self.sheets.len() as i64,
            lines: self.lines,
            corrections: self.corrections,
            latest,
        }
    }
}
