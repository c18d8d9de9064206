//! Every client-side path, named once.

use domain::Role;

pub const LOGIN: &str = "/login";
pub const ROOT: &str = "/";

/// Where each role lands after signing in.
pub fn home_of(role: Role) -> String {
    format!("/home/{}", role.as_str())
}

pub const RETAILERS: &str = "/retailers";
pub const POLICY: &str = "/policy";
/// The audit log viewer (审计日志).
pub const AUDIT: &str = "/admin/audit";

/// A retailer's online replenishment page.
pub fn replenishment_of(retailer_id: i64) -> String {
    format!("/retailers/{retailer_id}/replenishment")
}

pub const FORECAST: &str = "/forecast";

/// A customer manager's forecast sheet in a cycle.
pub fn sheet_of(cycle_id: i64) -> String {
    format!("/forecast/{cycle_id}")
}

/// Sheets waiting for review.
pub const REVIEWS: &str = "/reviews";

/// One sheet under review.
pub fn review_of(sheet_id: i64) -> String {
    format!("/reviews/{sheet_id}")
}

/// The marketing center's dashboard of a cycle.
pub fn dashboard_of(cycle_id: i64) -> String {
    format!("/forecast/{cycle_id}/dashboard")
}

/// Forecast accuracy of a cycle.
pub fn accuracy_of(cycle_id: i64) -> String {
    format!("/forecast/{cycle_id}/accuracy")
}
