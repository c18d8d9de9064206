//! What the forecast API sends and receives.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::review::{AccuracySums, ReviewStep};
use super::{ForecastRules, Scope};
use crate::month::YearMonth;
use crate::quantity::CaseSize;
use crate::Lang;

/// Whether a cycle takes entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CycleStatus {
    Open,
    Closed,
}

impl CycleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CycleStatus::Open => "open",
            CycleStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> CycleStatus {
        if s == "closed" {
            CycleStatus::Closed
        } else {
            CycleStatus::Open
        }
    }
}

/// Where a customer manager's sheet stands. The review chain moves a sheet
/// from `Submitted` upwards; `Returned` gives it back to the manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SheetStatus {
    NotStarted,
    Draft,
    Submitted,
    Returned,
    Approved,
}

impl SheetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SheetStatus::NotStarted => "not_started",
            SheetStatus::Draft => "draft",
            SheetStatus::Submitted => "submitted",
            SheetStatus::Returned => "returned",
            SheetStatus::Approved => "approved",
        }
    }

    pub fn parse(s: &str) -> SheetStatus {
        match s {
            "draft" => SheetStatus::Draft,
            "submitted" => SheetStatus::Submitted,
            "returned" => SheetStatus::Returned,
            "approved" => SheetStatus::Approved,
            _ => SheetStatus::NotStarted,
        }
    }

    /// Whether the customer manager may edit the sheet in this state.
    pub fn editable(self) -> bool {
        matches!(
            self,
            SheetStatus::NotStarted | SheetStatus::Draft | SheetStatus::Returned
        )
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            SheetStatus::NotStarted => lang.pick("未开始", "Not started"),
            SheetStatus::Draft => lang.pick("草稿", "Draft"),
            SheetStatus::Submitted => lang.pick("已提交", "Submitted"),
            SheetStatus::Returned => lang.pick("已退回", "Returned"),
            SheetStatus::Approved => lang.pick("已审批", "Approved"),
        }
    }
}

/// A spec on a cycle's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CycleSpec {
    pub spec_id: i64,
    pub code: String,
    pub name: String,
}

/// A forecast cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CycleView {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2027-01"))]
    pub month: YearMonth,
    pub scope: Scope,
    /// The sampled group (0–2) for a sample cycle.
    pub sample_group: Option<u8>,
    pub submit_deadline: NaiveDate,
    pub review_deadline: NaiveDate,
    pub status: CycleStatus,
    pub specs: Vec<CycleSpec>,
    /// Retailers in scope.
    pub retailers: i64,
    /// All retailers, for scaling a sample up.
    pub population: i64,
    /// Population over retailers in scope (about 3 for a sample).
    pub scale_factor: f64,
    /// Whether any cell was entered; the cycle can be edited only before.
    pub has_entries: bool,
}

/// The cycles, with the defaults for a new one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CycleList {
    pub today: NaiveDate,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub default_month: YearMonth,
    pub cycles: Vec<CycleView>,
}

/// One customer manager's sheet in a cycle, for the marketing center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetProgress {
    pub sheet_id: i64,
    pub manager_id: i64,
    pub manager_name: String,
    pub unit_name: String,
    pub unit_id: i64,
    pub status: SheetStatus,
    /// The review level the sheet waits at, while submitted.
    pub level: Option<u8>,
    /// 待市场部审核（第1级） and the like.
    pub stage: String,
    /// Not submitted after its deadline, or not approved after the review deadline.
    pub late: bool,
    pub retailers: i64,
    /// Cells entered out of retailers × specs.
    pub filled: i64,
    pub cells: i64,
    pub reopened_until: Option<NaiveDate>,
}

/// A cycle with every sheet's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CycleProgress {
    pub cycle: CycleView,
    pub sheets: Vec<SheetProgress>,
}

/// Lets one customer manager enter after the deadline, until a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReopenRequest {
    pub manager_id: i64,
    pub until: NaiveDate,
}

/// A retailer row of a sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetRow {
    pub retailer_id: i64,
    pub licence_no: String,
    pub name: String,
    pub class_code: String,
    pub class_rank: i64,
    pub market_unit_id: i64,
    pub market_unit: String,
    /// Joined online replenishment.
    pub online: bool,
}

/// A customer manager's sheet: rows × specs, every per-cell vector dense in
/// row-major order (`row * specs.len() + spec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetView {
    pub cycle: CycleView,
    #[serde(default)]
    pub sheet_id: i64,
    pub manager_id: i64,
    pub status: SheetStatus,
    /// Whether the manager may change cells now (status and deadline).
    pub editable: bool,
    /// The deadline that applies to this sheet (reopening extends it).
    pub deadline: NaiveDate,
    pub rules: ForecastRules,
    pub rows: Vec<SheetRow>,
    pub specs: Vec<CycleSpec>,
    /// Entered cartons; `None` where nothing is entered.
    pub value: Vec<Option<i64>>,
    pub reason: Vec<Option<String>>,
    /// Per cell, incremented on every write; a write names the revision it
    /// was based on, so a newer value on the server is never overwritten
    /// silently.
    pub revision: Vec<i64>,
    /// Upper sanity bound per cell (spec × class).
    pub bound: Vec<i64>,
    /// The system baseline, in cartons.
    pub baseline: Vec<i64>,
    /// The low and high end of the baseline's 80 % interval, in whole
    /// cartons (0–0 for a series without history).
    #[serde(default)]
    pub baseline_low: Vec<i64>,
    #[serde(default)]
    pub baseline_high: Vec<i64>,
    /// Orders in the month before the forecast month's previous month
    /// (the last complete month).
    pub last_month: Vec<i64>,
    /// Orders in the same month a year before.
    pub last_year: Vec<i64>,
    /// Weekly turnover from online replenishment settings, if the retailer joined.
    pub turnover: Vec<Option<i64>>,
    /// The month `last_month` refers to.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub last_month_of: YearMonth,
    /// The latest return to the customer manager, with its comment.
    #[serde(default)]
    pub returned: Option<ReviewAction>,
    /// Lines a reviewer corrected; the grid's value is the corrected one.
    #[serde(default)]
    pub corrections: Vec<SheetCorrection>,
}

impl SheetView {
    pub fn index(&self, row: usize, spec: usize) -> usize {
        row * self.specs.len() + spec
    }

    /// Finds cells by retailer and spec id.
    pub fn cell_index(&self) -> CellIndex {
        CellIndex {
            rows: self
                .rows
                .iter()
                .enumerate()
                .map(|(i, r)| (r.retailer_id, i))
                .collect(),
            specs: self
                .specs
                .iter()
                .enumerate()
                .map(|(i, s)| (s.spec_id, i))
                .collect(),
        }
    }
}

/// Row and column of a sheet's cells by retailer and spec id.
#[derive(Debug, Clone)]
pub struct CellIndex {
    rows: std::collections::HashMap<i64, usize>,
    specs: std::collections::HashMap<i64, usize>,
}

impl CellIndex {
    /// (row, column) of the cell, if both are on the sheet.
    pub fn position(&self, retailer_id: i64, spec_id: i64) -> Option<(usize, usize)> {
        Some((*self.rows.get(&retailer_id)?, *self.specs.get(&spec_id)?))
    }

    /// The cell's index in the sheet's per-cell vectors.
    pub fn get(&self, retailer_id: i64, spec_id: i64) -> Option<usize> {
        self.position(retailer_id, spec_id)
            .map(|(r, s)| r * self.specs.len() + s)
    }
}

/// One cell to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CellWrite {
    pub retailer_id: i64,
    pub spec_id: i64,
    /// `None` clears the cell.
    pub value: Option<i64>,
    pub reason: Option<String>,
    /// The revision the change was made on (0 for a cell never saved).
    pub base_revision: i64,
}

/// Many cells at once; all are saved or none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaveCellsRequest {
    pub cells: Vec<CellWrite>,
}

/// The new revision of each written cell, in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaveCellsResponse {
    pub revisions: Vec<i64>,
}

/// What a spreadsheet import did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub rows: usize,
    pub cells: usize,
}

/// The upper sanity bound of one spec for one customer class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastBound {
    pub spec_id: i64,
    pub class_code: String,
    pub max_cartons: i64,
}

/// The latest correction of a line, as the customer manager sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetCorrection {
    pub retailer_id: i64,
    pub spec_id: i64,
    /// The customer manager's own value.
    pub entered: Option<i64>,
    pub value: i64,
    pub reason: String,
    pub actor_name: String,
    pub level: u8,
}

/// A step in a sheet's review: submitted, approved at a level, returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewActionKind {
    Submit,
    Approve,
    Return,
}

impl ReviewActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewActionKind::Submit => "submit",
            ReviewActionKind::Approve => "approve",
            ReviewActionKind::Return => "return",
        }
    }

    pub fn parse(s: &str) -> ReviewActionKind {
        match s {
            "approve" => ReviewActionKind::Approve,
            "return" => ReviewActionKind::Return,
            _ => ReviewActionKind::Submit,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            ReviewActionKind::Submit => lang.pick("提交", "Submitted"),
            ReviewActionKind::Approve => lang.pick("审核通过", "Approved"),
            ReviewActionKind::Return => lang.pick("退回", "Returned"),
        }
    }
}

/// One recorded review action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewAction {
    pub action: ReviewActionKind,
    /// The level that acted (0: the customer manager).
    pub level: u8,
    /// Where a return sent the sheet (0: the customer manager).
    pub to_level: Option<u8>,
    pub comment: Option<String>,
    pub actor_name: String,
    /// UNIX seconds.
    pub at: i64,
}

/// A sheet as its reviewers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewSheet {
    pub sheet_id: i64,
    pub cycle_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub month: YearMonth,
    pub manager_id: i64,
    pub manager_name: String,
    pub unit_name: String,
    pub status: SheetStatus,
    pub level: Option<u8>,
    pub stage: String,
    pub chain: Vec<ReviewStep>,
    pub late: bool,
    /// Whether the caller may correct, approve or return it now.
    pub can_act: bool,
    pub retailers: i64,
    pub specs: i64,
    /// Lines a reviewer corrected.
    pub corrected: i64,
}

/// Sheets in the caller's review scope; the ones waiting for the caller first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewInbox {
    pub sheets: Vec<ReviewSheet>,
}

/// One line of a sheet under review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewLine {
    pub retailer_id: i64,
    pub licence_no: String,
    pub retailer_name: String,
    pub spec_id: i64,
    pub spec_name: String,
    /// The customer manager's value.
    pub entered: Option<i64>,
    /// The value now, after corrections.
    pub value: Option<i64>,
    pub final_value: Option<i64>,
    pub baseline: Option<i64>,
    pub last_month: i64,
    /// The customer manager's reason.
    pub reason: Option<String>,
    pub revision: i64,
    pub corrections: i64,
    pub bound: i64,
}

/// Totals of a sheet under review, in cartons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewTotals {
    pub entered: i64,
    pub value: i64,
    pub baseline: i64,
    pub last_month: i64,
}

/// A sheet under review: its chain and actions, and one page of its lines,
/// largest deviation from the baseline first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewView {
    pub sheet: ReviewSheet,
    pub actions: Vec<ReviewAction>,
    pub rules: ForecastRules,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub last_month_of: YearMonth,
    pub totals: ReviewTotals,
    /// Lines matching the filter, of which `lines` is one page.
    pub matching: i64,
    pub offset: i64,
    pub lines: Vec<ReviewLine>,
}

/// A reviewer's correction of one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Correction {
    pub retailer_id: i64,
    pub spec_id: i64,
    pub value: i64,
    pub reason: String,
    /// The line's revision the correction was made on.
    pub base_revision: i64,
}

/// Corrections saved together, or none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorrectRequest {
    pub corrections: Vec<Correction>,
}

/// Approves a sheet at the caller's level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApproveRequest {
    #[serde(default)]
    pub comment: Option<String>,
    /// The level the sheet waited at when the reviewer acted on it. If it
    /// has moved since (someone approved or returned it first), nothing is
    /// done and the answer is 409.
    #[serde(default)]
    pub at_level: Option<u8>,
}

/// Returns a sheet down the chain with a comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReturnRequest {
    pub comment: String,
    /// The level to return to; 0 (the default) is the customer manager.
    #[serde(default)]
    pub to_level: u8,
    /// The level the sheet waited at when the reviewer acted on it (see
    /// [`ApproveRequest::at_level`]).
    #[serde(default)]
    pub at_level: Option<u8>,
}

/// One correction in a line's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorrectionView {
    pub level: u8,
    pub unit_name: String,
    pub actor_name: String,
    /// UNIX seconds.
    pub at: i64,
    pub from: Option<i64>,
    pub to: i64,
    pub reason: String,
}

/// Everything that happened to one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineHistory {
    pub retailer_id: i64,
    pub licence_no: String,
    pub retailer_name: String,
    pub spec_id: i64,
    pub spec_name: String,
    pub manager_name: String,
    pub entered: Option<i64>,
    pub entered_reason: Option<String>,
    pub baseline: Option<i64>,
    pub value: Option<i64>,
    pub final_value: Option<i64>,
    pub revision: i64,
    pub corrections: Vec<CorrectionView>,
}

/// Totals of a group of lines, in cartons.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotalRow {
    pub id: i64,
    pub label: String,
    pub lines: i64,
    /// The value now (approved, corrected or entered).
    pub forecast: i64,
    /// Of approved lines only.
    pub approved: i64,
    /// The customer managers' own values.
    pub entered: i64,
    /// The baseline recorded at submission.
    pub baseline: i64,
    /// The same retailers' orders in the last complete month.
    pub last_month: i64,
    /// The same retailers' orders in the same month a year before.
    pub last_year: i64,
}

impl TotalRow {
    pub fn add(&mut self, other: &TotalRow) {
        self.lines += other.lines;
        self.forecast += other.forecast;
        self.approved += other.approved;
        self.entered += other.entered;
        self.baseline += other.baseline;
        self.last_month += other.last_month;
        self.last_year += other.last_year;
    }
}

/// Orders of one month across the company, for the trend chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendPoint {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub month: YearMonth,
    pub cartons: i64,
}

/// A line far from its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviationLine {
    pub sheet_id: i64,
    pub manager_name: String,
    pub retailer_id: i64,
    pub licence_no: String,
    pub retailer_name: String,
    pub spec_id: i64,
    pub spec_name: String,
    pub value: i64,
    pub baseline: i64,
}

/// A cycle's progress, totals and deviations over the part of the company
/// the reader reaches (the whole company for the marketing center).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    pub cycle: CycleView,
    /// Whose part of the company the figures cover: 全公司, 城关市场部,
    /// 张三（客户经理）.
    pub scope_label: String,
    pub today: NaiveDate,
    pub case_size: CaseSize,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub last_month_of: YearMonth,
    pub progress: Vec<SheetProgress>,
    pub total: TotalRow,
    pub by_spec: Vec<TotalRow>,
    pub by_department: Vec<TotalRow>,
    pub by_manager: Vec<TotalRow>,
    pub by_tier: Vec<TotalRow>,
    /// Orders of the cycle's specs within the scope over the 12 months up
    /// to `last_month_of`.
    pub trend: Vec<TrendPoint>,
    /// The lines furthest from their baseline.
    pub deviations: Vec<DeviationLine>,
}

/// Accuracy of one group (spec, retailer, manager, department, month).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccuracyRow {
    pub id: i64,
    pub label: String,
    pub sums: AccuracySums,
    /// A customer manager's place among every manager of the company in
    /// the cycle (1 = most accurate), whoever reads it; `None` for other
    /// groups and for managers without actual orders to compare.
    #[serde(default)]
    pub rank: Option<i64>,
}

/// One approved line against what was ordered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccuracyLine {
    pub retailer_id: i64,
    pub licence_no: String,
    pub retailer_name: String,
    pub manager_name: String,
    pub spec_id: i64,
    pub spec_name: String,
    pub approved: i64,
    pub entered: i64,
    pub baseline: i64,
    pub actual: i64,
    /// |F − A| / A of the approved value; `None` when nothing was ordered.
    pub relative_error: Option<f64>,
}

/// Accuracy of one month, for the trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccuracyPoint {
    pub cycle_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub month: YearMonth,
    pub sums: AccuracySums,
}

/// Forecast accuracy (预测准确率) of a cycle's approved lines against the
/// actual orders of its month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccuracyReport {
    pub cycle: CycleView,
    /// Whose part of the company the figures cover (as in the dashboard).
    pub scope_label: String,
    /// How many customer managers the company-wide ranking holds.
    pub ranked: i64,
    /// Whether actual orders of the month are loaded.
    pub has_actuals: bool,
    pub total: AccuracySums,
    pub by_spec: Vec<AccuracyRow>,
    pub by_department: Vec<AccuracyRow>,
    /// The customer managers within the scope, most accurate first, each
    /// with their company-wide `rank`.
    pub by_manager: Vec<AccuracyRow>,
    /// Retailers with the largest error first (or one manager's, all).
    pub retailers: Vec<AccuracyRow>,
    /// Lines with the largest error first (or one retailer's, all).
    pub lines: Vec<AccuracyLine>,
    /// Every cycle with actuals, by month, within the scope.
    pub trend: Vec<AccuracyPoint>,
}

/// What an import of actual orders stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActualsReport {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub month: YearMonth,
    pub rows: usize,
    pub cartons: i64,
}
