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

/// A retailer's online replenishment page, open at its order.
pub fn order_of(retailer_id: i64) -> String {
    format!("/retailers/{retailer_id}/replenishment?tab=order")
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

/// Sales and stock analysis (经营分析), each level its own subtree.
pub const ANALYSIS: &str = "/analysis";

/// Supply and orders (货源与订单): order export, deliveries, fill rate and
/// scarce supply allocation.
pub const SUPPLY: &str = "/supply";

/// Changing one's own password (forced after a one-time password).
pub const PASSWORD: &str = "/password";
/// 系统管理 → 用户.
pub const ADMIN_USERS: &str = "/admin/users";
/// Retailer sign-ins in bulk.
pub const ADMIN_RETAILER_ACCOUNTS: &str = "/admin/retailer-accounts";

/// The sign-in page, returning to `next` afterwards.
pub fn login_then(next: &str) -> String {
    let encoded: String = js_sys::encode_uri_component(next).into();
    format!("{LOGIN}?next={encoded}")
}

/// A `next` address from the query string that is safe to go to after
/// signing in: a path on this site only (not `//host` or `https://…`).
pub fn safe_next(next: Option<String>) -> Option<String> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\"))
        .filter(|n| !n.starts_with(LOGIN))
}

/// 基础数据 → 零售户.
pub const MASTER_RETAILERS: &str = "/masterdata/retailers";
/// 基础数据 → 品规.
pub const MASTER_SPECS: &str = "/masterdata/specs";
/// 基础数据 → 客户档位.
pub const MASTER_CLASSES: &str = "/masterdata/classes";
/// 基础数据 → 预测规则与上限.
pub const MASTER_RULES: &str = "/masterdata/rules";
/// 基础数据 → 导入.
pub const MASTER_IMPORT: &str = "/masterdata/import";

/// The import page with a kind chosen.
pub fn import_of(kind: domain::masterdata::ImportKind) -> String {
    format!("{MASTER_IMPORT}?kind={}", kind.as_str())
}
