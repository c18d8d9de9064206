//! Who may do what: the one role-and-scope policy. The server checks every
//! route against it, the app shows only the ways in it allows, and the
//! authorization test calls every route as every role and expects what
//! this table says.
//!
//! A rule names the roles that may call at all; rules with a scope
//! (`Retailer`, `OwnSheet`, `RetailersManager`, `Review`) also say which
//! objects: those in the caller's own subtree of the organisation, or
//! everywhere for the marketing center and administrators.

use crate::Role;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// These roles, whatever the object.
    Roles(&'static [Role]),
    /// A retailer's data: the retailer itself and its customer manager
    /// read and write; the market and county managers above it read; the
    /// center and administrators read everything.
    Retailer { write: bool },
    /// A customer manager's own sheet of a cycle; the center and
    /// administrators name any manager.
    OwnSheet,
    /// Only the retailer's own customer manager.
    RetailersManager,
    /// Retailers as master data: the market and county departments in
    /// their own subtree, the marketing center everywhere.
    Subtree,
    /// A sheet under review: the reviewers on its chain, the center and
    /// administrators (with `manager`, also the sheet's own customer manager).
    Review { manager: bool },
    /// Reports and analyses: every staff level reads its own subtree (a
    /// county department its county, a market manager their department, a
    /// customer manager their own retailers); the center and
    /// administrators read everything. A report narrowed to a unit or
    /// manager outside the caller's subtree is refused.
    Report,
}

pub const STAFF: &[Role] = &[
    Role::CustomerManager,
    Role::MarketManager,
    Role::CountyManager,
    Role::MarketingCenter,
    Role::Admin,
];
pub const CENTER: &[Role] = &[Role::MarketingCenter];
/// The marketing center and administrators: company-wide readers.
pub const READERS: &[Role] = &[Role::MarketingCenter, Role::Admin];
pub const REVIEWERS: &[Role] = &[
    Role::MarketManager,
    Role::CountyManager,
    Role::MarketingCenter,
    Role::Admin,
];
pub const MANAGERS: &[Role] = &[Role::CustomerManager];
/// Administrators: accounts, not business policy.
pub const ADMINS: &[Role] = &[Role::Admin];
/// Who keeps retailers' master data: their departments and the center.
pub const KEEPERS: &[Role] = &[
    Role::MarketManager,
    Role::CountyManager,
    Role::MarketingCenter,
];
/// Who imports files: the center (business data) and administrators
/// (units and staff); which kinds each is in `masterdata::ImportKind::importers`.
pub const IMPORTERS: &[Role] = &[Role::MarketingCenter, Role::Admin];
const RETAILER_READERS: &[Role] = &Role::ALL;
const RETAILER_WRITERS: &[Role] = &[Role::Retailer, Role::CustomerManager];
const SHEET_READERS: &[Role] = &[Role::CustomerManager, Role::MarketingCenter, Role::Admin];
const LINE_READERS: &[Role] = &[
    Role::CustomerManager,
    Role::MarketManager,
    Role::CountyManager,
    Role::MarketingCenter,
    Role::Admin,
];

impl Access {
    /// The roles that may call at all, in some scope.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Access::Public | Access::SignedIn => &Role::ALL,
            Access::Roles(roles) => roles,
            Access::Retailer { write: false } => RETAILER_READERS,
            Access::Retailer { write: true } => RETAILER_WRITERS,
            Access::OwnSheet => SHEET_READERS,
            Access::RetailersManager => MANAGERS,
            Access::Subtree => KEEPERS,
            Access::Review { manager: false } => REVIEWERS,
            Access::Review { manager: true } => LINE_READERS,
            Access::Report => STAFF,
        }
    }

    /// Whether `role` may call at all.
    pub fn permits(self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// Whether `role` may call on an object in its own subtree (`own`) or
    /// outside it.
    pub fn allows(self, role: Role, own: bool) -> bool {
        let everywhere = matches!(role, Role::MarketingCenter | Role::Admin);
        match self {
            Access::Public | Access::SignedIn => true,
            Access::Roles(roles) => roles.contains(&role),
            Access::Retailer { write } => match role {
                Role::Retailer | Role::CustomerManager => own,
                Role::MarketManager | Role::CountyManager => !write && own,
                Role::MarketingCenter | Role::Admin => !write,
            },
            Access::RetailersManager => role == Role::CustomerManager && own,
            Access::Subtree => match role {
                Role::MarketManager | Role::CountyManager => own,
                Role::MarketingCenter => true,
                _ => false,
            },
            Access::OwnSheet => role == Role::CustomerManager || everywhere,
            Access::Review { manager } => match role {
                Role::MarketManager | Role::CountyManager => own,
                Role::CustomerManager => manager && own,
                Role::Retailer => false,
                Role::MarketingCenter | Role::Admin => true,
            },
            Access::Report => match role {
                Role::CustomerManager | Role::MarketManager | Role::CountyManager => own,
                Role::Retailer => false,
                Role::MarketingCenter | Role::Admin => true,
            },
        }
    }
}

/// Each operation of the API and who may call it.
pub mod op {
    use super::*;

    pub const HEALTH: Access = Access::Public;
    pub const LOGIN: Access = Access::Public;
    pub const LOGOUT: Access = Access::Public;
    pub const ME: Access = Access::SignedIn;
    pub const CHANGE_PASSWORD: Access = Access::SignedIn;
    pub const HOME: Access = Access::SignedIn;
    pub const ORG_UNITS: Access = Access::Roles(READERS);
    pub const SPECS: Access = Access::SignedIn;
    pub const DASHBOARD: Access = Access::Report;
    pub const EXPORT_APPROVED: Access = Access::Roles(READERS);
    pub const IMPORT_ACTUALS: Access = Access::Roles(CENTER);
    pub const ACCURACY: Access = Access::Report;
    pub const MANAGED_RETAILERS: Access = Access::Roles(MANAGERS);
    pub const RETAILER_SETTINGS: Access = Access::Retailer { write: false };
    pub const SAVE_SETTINGS: Access = Access::Retailer { write: true };
    pub const PROPOSAL: Access = Access::Retailer { write: false };
    pub const CONFIRM_ORDER: Access = Access::Retailer { write: true };
    pub const ORDER_HISTORY: Access = Access::Retailer { write: false };
    pub const ENROL: Access = Access::RetailersManager;
    pub const ORDER_LIST: Access = Access::Retailer { write: false };
    pub const CHANGE_ORDER: Access = Access::Retailer { write: true };
    pub const CANCEL_ORDER: Access = Access::Retailer { write: true };
    /// Orders flowing on to the order and supply system: the marketing center's.
    pub const ORDER_DAYS: Access = Access::Roles(CENTER);
    pub const ORDER_EXPORT: Access = Access::Roles(CENTER);
    pub const ORDER_MARK_EXPORTED: Access = Access::Roles(CENTER);
    pub const DELIVERIES_LOAD: Access = Access::Roles(CENTER);
    pub const ACTUALS_FROM_ORDERS: Access = Access::Roles(CENTER);
    pub const FILL_RATE: Access = Access::Roles(CENTER);
    /// Scarce supply allocation (货源投放): the marketing center's.
    pub const ALLOCATION_LIST: Access = Access::Roles(CENTER);
    pub const ALLOCATION_PREVIEW: Access = Access::Roles(CENTER);
    pub const ALLOCATION_PUBLISH: Access = Access::Roles(CENTER);
    pub const ALLOCATION_WITHDRAW: Access = Access::Roles(CENTER);
    pub const ALLOCATION_PLAN: Access = Access::Roles(CENTER);
    pub const POLICY_READ: Access = Access::Roles(STAFF);
    /// The supply policy is the marketing center's alone (separation of
    /// duties: administrators manage accounts).
    pub const POLICY_CHANGE: Access = Access::Roles(CENTER);
    pub const REVIEW_INBOX: Access = Access::Roles(REVIEWERS);
    pub const REVIEW_SHEET: Access = Access::Review { manager: false };
    pub const CORRECT: Access = Access::Review { manager: false };
    pub const APPROVE: Access = Access::Review { manager: false };
    pub const RETURN: Access = Access::Review { manager: false };
    pub const LINE_HISTORY: Access = Access::Review { manager: true };
    pub const CYCLES: Access = Access::Roles(STAFF);
    pub const OPEN_CYCLE: Access = Access::Roles(CENTER);
    pub const EDIT_CYCLE: Access = Access::Roles(CENTER);
    pub const CLOSE_CYCLE: Access = Access::Roles(CENTER);
    pub const PROGRESS: Access = Access::Report;
    pub const REOPEN: Access = Access::Roles(CENTER);
    pub const SHEET: Access = Access::OwnSheet;
    pub const SAVE_CELLS: Access = Access::Roles(MANAGERS);
    pub const SUBMIT: Access = Access::Roles(MANAGERS);
    pub const EXPORT_SHEET: Access = Access::OwnSheet;
    pub const IMPORT_SHEET: Access = Access::Roles(MANAGERS);
    pub const RULES_READ: Access = Access::Roles(STAFF);
    pub const RULES_CHANGE: Access = Access::Roles(CENTER);
    pub const BOUNDS_READ: Access = Access::Roles(STAFF);
    pub const BOUNDS_CHANGE: Access = Access::Roles(CENTER);
    /// The stored baselines' state: the marketing center and administrators
    /// read it; recomputing is the marketing center's.
    pub const BASELINES: Access = Access::Roles(READERS);
    pub const RECOMPUTE_BASELINES: Access = Access::Roles(CENTER);
    pub const USERS: Access = Access::Roles(ADMINS);
    pub const CREATE_USER: Access = Access::Roles(ADMINS);
    pub const CHANGE_USER: Access = Access::Roles(ADMINS);
    pub const UNLOCK_USER: Access = Access::Roles(ADMINS);
    pub const RESET_PASSWORD: Access = Access::Roles(ADMINS);
    pub const RETAILER_ACCOUNTS: Access = Access::Roles(ADMINS);
    pub const ACCOUNT_JOB: Access = Access::Roles(ADMINS);
    pub const ACCOUNT_HANDOUT: Access = Access::Roles(ADMINS);
    /// A customer manager resets the password of their own retailers.
    pub const RESET_RETAILER_PASSWORD: Access = Access::RetailersManager;
    /// The audit log: administrators and the marketing center.
    pub const AUDIT_LOG: Access = Access::Roles(READERS);
    /// Master data: retailers listed and edited by their departments and
    /// the center; specs and classes are the center's.
    pub const MASTER_RETAILERS: Access = Access::Roles(KEEPERS);
    pub const EDIT_RETAILER: Access = Access::Subtree;
    pub const REASSIGN: Access = Access::Roles(KEEPERS);
    pub const MANAGER_CHOICES: Access = Access::Roles(KEEPERS);
    pub const MASTER_SPECS: Access = Access::Roles(CENTER);
    pub const CREATE_SPEC: Access = Access::Roles(CENTER);
    pub const EDIT_SPEC: Access = Access::Roles(CENTER);
    pub const CLASSES: Access = Access::Roles(STAFF);
    pub const EDIT_CLASSES: Access = Access::Roles(CENTER);
    pub const IMPORT: Access = Access::Roles(IMPORTERS);
    pub const IMPORT_JOB: Access = Access::Roles(IMPORTERS);
    pub const APPLY_IMPORT: Access = Access::Roles(IMPORTERS);
    /// Sales and stock analysis (经营分析), each level its own subtree.
    pub const ANALYSIS_SALES: Access = Access::Report;
    pub const ANALYSIS_STOCK: Access = Access::Report;
    /// Sales plans: read with the analysis, set by the marketing center.
    pub const PLANS_READ: Access = Access::Report;
    pub const PLANS_CHANGE: Access = Access::Roles(CENTER);
}

/// One route of the API with its rule.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn r(method: &'static str, path: &'static str, access: Access) -> Route {
    Route {
        method,
        path,
        access,
    }
}

/// Every route of the API. A route the server serves without a row here
/// fails the authorization test.
pub const ROUTES: &[Route] = &[
    r("GET", "/api/health", op::HEALTH),
    r("POST", "/api/auth/login", op::LOGIN),
    r("POST", "/api/auth/logout", op::LOGOUT),
    r("GET", "/api/auth/me", op::ME),
    r("POST", "/api/auth/password", op::CHANGE_PASSWORD),
    r("GET", "/api/home", op::HOME),
    r("GET", "/api/org/units", op::ORG_UNITS),
    r("GET", "/api/specs", op::SPECS),
    r("GET", "/api/forecast/cycles/{id}/dashboard", op::DASHBOARD),
    r(
        "GET",
        "/api/forecast/cycles/{id}/approved",
        op::EXPORT_APPROVED,
    ),
    r("POST", "/api/forecast/actuals", op::IMPORT_ACTUALS),
    r("GET", "/api/forecast/cycles/{id}/accuracy", op::ACCURACY),
    r("GET", "/api/replenishment/retailers", op::MANAGED_RETAILERS),
    r(
        "GET",
        "/api/replenishment/retailers/{id}",
        op::RETAILER_SETTINGS,
    ),
    r(
        "PUT",
        "/api/replenishment/retailers/{id}/settings",
        op::SAVE_SETTINGS,
    ),
    r(
        "GET",
        "/api/replenishment/retailers/{id}/proposal",
        op::PROPOSAL,
    ),
    r(
        "POST",
        "/api/replenishment/retailers/{id}/orders",
        op::CONFIRM_ORDER,
    ),
    r(
        "GET",
        "/api/replenishment/retailers/{id}/history",
        op::ORDER_HISTORY,
    ),
    r(
        "PUT",
        "/api/replenishment/retailers/{id}/enrolment",
        op::ENROL,
    ),
    r(
        "GET",
        "/api/replenishment/retailers/{id}/orders",
        op::ORDER_LIST,
    ),
    r(
        "PUT",
        "/api/replenishment/retailers/{id}/orders/{date}",
        op::CHANGE_ORDER,
    ),
    r(
        "POST",
        "/api/replenishment/retailers/{id}/orders/{date}/cancel",
        op::CANCEL_ORDER,
    ),
    r("GET", "/api/replenishment/order-days", op::ORDER_DAYS),
    r(
        "GET",
        "/api/replenishment/order-days/{date}/export",
        op::ORDER_EXPORT,
    ),
    r(
        "POST",
        "/api/replenishment/order-days/{date}/exported",
        op::ORDER_MARK_EXPORTED,
    ),
    r("POST", "/api/replenishment/deliveries", op::DELIVERIES_LOAD),
    r(
        "POST",
        "/api/replenishment/actuals-from-orders",
        op::ACTUALS_FROM_ORDERS,
    ),
    r("GET", "/api/replenishment/fill-rate", op::FILL_RATE),
    r("GET", "/api/replenishment/allocations", op::ALLOCATION_LIST),
    r(
        "POST",
        "/api/replenishment/allocations/preview",
        op::ALLOCATION_PREVIEW,
    ),
    r(
        "POST",
        "/api/replenishment/allocations",
        op::ALLOCATION_PUBLISH,
    ),
    r(
        "POST",
        "/api/replenishment/allocations/{id}/withdraw",
        op::ALLOCATION_WITHDRAW,
    ),
    r(
        "GET",
        "/api/replenishment/allocations/plan",
        op::ALLOCATION_PLAN,
    ),
    r("GET", "/api/replenishment/policy", op::POLICY_READ),
    r("PATCH", "/api/replenishment/policy", op::POLICY_CHANGE),
    r("GET", "/api/forecast/reviews", op::REVIEW_INBOX),
    r("GET", "/api/forecast/sheets/{id}/review", op::REVIEW_SHEET),
    r("PUT", "/api/forecast/sheets/{id}/corrections", op::CORRECT),
    r("POST", "/api/forecast/sheets/{id}/approve", op::APPROVE),
    r("POST", "/api/forecast/sheets/{id}/return", op::RETURN),
    r(
        "GET",
        "/api/forecast/sheets/{id}/lines/{retailer_id}/{spec_id}/history",
        op::LINE_HISTORY,
    ),
    r("GET", "/api/forecast/cycles", op::CYCLES),
    r("POST", "/api/forecast/cycles", op::OPEN_CYCLE),
    r("PUT", "/api/forecast/cycles/{id}", op::EDIT_CYCLE),
    r("POST", "/api/forecast/cycles/{id}/close", op::CLOSE_CYCLE),
    r("GET", "/api/forecast/cycles/{id}/progress", op::PROGRESS),
    r("POST", "/api/forecast/cycles/{id}/reopen", op::REOPEN),
    r("GET", "/api/forecast/cycles/{id}/sheet", op::SHEET),
    r(
        "PUT",
        "/api/forecast/cycles/{id}/sheet/cells",
        op::SAVE_CELLS,
    ),
    r("POST", "/api/forecast/cycles/{id}/sheet/submit", op::SUBMIT),
    r(
        "GET",
        "/api/forecast/cycles/{id}/sheet/export",
        op::EXPORT_SHEET,
    ),
    r(
        "POST",
        "/api/forecast/cycles/{id}/sheet/import",
        op::IMPORT_SHEET,
    ),
    r("GET", "/api/forecast/rules", op::RULES_READ),
    r("PUT", "/api/forecast/rules", op::RULES_CHANGE),
    r("GET", "/api/forecast/bounds", op::BOUNDS_READ),
    r("PUT", "/api/forecast/bounds", op::BOUNDS_CHANGE),
    r("GET", "/api/forecast/baselines", op::BASELINES),
    r(
        "POST",
        "/api/forecast/baselines/recompute",
        op::RECOMPUTE_BASELINES,
    ),
    r("GET", "/api/admin/users", op::USERS),
    r("POST", "/api/admin/users", op::CREATE_USER),
    r("PATCH", "/api/admin/users/{id}", op::CHANGE_USER),
    r("POST", "/api/admin/users/{id}/unlock", op::UNLOCK_USER),
    r(
        "POST",
        "/api/admin/users/{id}/password-reset",
        op::RESET_PASSWORD,
    ),
    r(
        "POST",
        "/api/admin/retailer-accounts",
        op::RETAILER_ACCOUNTS,
    ),
    r("GET", "/api/admin/retailer-accounts/{id}", op::ACCOUNT_JOB),
    r(
        "GET",
        "/api/admin/retailer-accounts/{id}/handout",
        op::ACCOUNT_HANDOUT,
    ),
    r(
        "POST",
        "/api/replenishment/retailers/{id}/password-reset",
        op::RESET_RETAILER_PASSWORD,
    ),
    r("GET", "/api/audit", op::AUDIT_LOG),
    r("GET", "/api/masterdata/retailers", op::MASTER_RETAILERS),
    r("PATCH", "/api/masterdata/retailers/{id}", op::EDIT_RETAILER),
    r("POST", "/api/masterdata/retailers/reassign", op::REASSIGN),
    r("GET", "/api/masterdata/managers", op::MANAGER_CHOICES),
    r("GET", "/api/masterdata/specs", op::MASTER_SPECS),
    r("POST", "/api/masterdata/specs", op::CREATE_SPEC),
    r("PUT", "/api/masterdata/specs/{id}", op::EDIT_SPEC),
    r("GET", "/api/masterdata/classes", op::CLASSES),
    r("PUT", "/api/masterdata/classes", op::EDIT_CLASSES),
    r("POST", "/api/masterdata/imports", op::IMPORT),
    r("GET", "/api/masterdata/imports/{id}", op::IMPORT_JOB),
    r(
        "POST",
        "/api/masterdata/imports/{id}/apply",
        op::APPLY_IMPORT,
    ),
    r("GET", "/api/analysis/sales", op::ANALYSIS_SALES),
    r("GET", "/api/analysis/stock", op::ANALYSIS_STOCK),
    r("GET", "/api/analysis/plans", op::PLANS_READ),
    r("PUT", "/api/analysis/plans", op::PLANS_CHANGE),
];

/// Routes a signed-in account that must change its one-time password may
/// still call: who am I, the password change and signing out.
pub const BEFORE_PASSWORD_CHANGE: &[(&str, &str)] = &[
    ("GET", "/api/auth/me"),
    ("POST", "/api/auth/password"),
    ("POST", "/api/auth/logout"),
];

/// Whether an account that must change its password may call this route.
pub fn allowed_before_password_change(method: &str, path: &str) -> bool {
    BEFORE_PASSWORD_CHANGE
        .iter()
        .any(|(m, p)| m.eq_ignore_ascii_case(method) && *p == path)
}

/// The rule of a route, by method and path template.
pub fn route(method: &str, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
        .map(|r| r.access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_listed_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} listed twice",
                    a.method,
                    a.path
                );
            }
        }
    }

    #[test]
    fn scoped_rules_never_reach_outside_for_the_lower_levels() {
        for access in ROUTES.iter().map(|r| r.access) {
            // A customer manager naming another's sheet is answered with
            // their own: `OwnSheet` needs no scope beyond the role.
            if matches!(
                access,
                Access::Public | Access::SignedIn | Access::Roles(_) | Access::OwnSheet
            ) {
                continue;
            }
            for role in [
                Role::Retailer,
                Role::CustomerManager,
                Role::MarketManager,
                Role::CountyManager,
            ] {
                assert!(
                    !access.allows(role, false),
                    "{access:?} lets {role:?} outside its scope"
                );
            }
        }
    }

    #[test]
    fn who_may_call_at_all_agrees_with_who_may_call_in_scope() {
        for access in ROUTES.iter().map(|r| r.access) {
            for role in Role::ALL {
                let somewhere = access.allows(role, true) || access.allows(role, false);
                assert_eq!(access.permits(role), somewhere, "{access:?} {role:?}");
            }
        }
    }

    #[test]
    fn administrators_manage_accounts_and_not_business_policy() {
        for r in ROUTES.iter().filter(|r| r.path.starts_with("/api/admin/")) {
            assert_eq!(r.access.roles(), ADMINS, "{} {}", r.method, r.path);
        }
        for access in [op::POLICY_CHANGE, op::RULES_CHANGE, op::BOUNDS_CHANGE] {
            assert!(!access.permits(Role::Admin));
        }
    }

    #[test]
    fn only_the_marketing_center_changes_forecast_settings() {
        for access in [
            op::OPEN_CYCLE,
            op::CLOSE_CYCLE,
            op::RULES_CHANGE,
            op::BOUNDS_CHANGE,
            op::POLICY_CHANGE,
        ] {
            assert_eq!(access.roles(), CENTER);
        }
    }
}
