//! What the forecast API sends and receives.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{ForecastRules, Scope};
use crate::month::YearMonth;
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
    pub manager_id: i64,
    pub manager_name: String,
    pub unit_name: String,
    pub status: SheetStatus,
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
}

impl SheetView {
    pub fn index(&self, row: usize, spec: usize) -> usize {
        row * self.specs.len() + spec
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
