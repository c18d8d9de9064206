//! What part of the company a report covers for the signed-in user: the
//! one place where a role becomes a subtree of the organisation (the rule
//! itself is `domain::policy::Access::Report`).
//!
//! - the marketing center and administrators: everything;
//! - a county department: its county and every department below it;
//! - a market manager: their department;
//! - a customer manager: their own retailers.
//!
//! A report may be narrowed to a unit or a customer manager; narrowing
//! outside the caller's reach answers 403 (404 for the company-wide
//! readers when the unit or manager does not exist).

use std::collections::BTreeSet;

use domain::policy::Access;
use domain::{Lang, Role};
use serde::Deserialize;
use sqlx::AnyPool;

use crate::error::{ApiError, ApiResult};
use crate::store::users::UserRow;

/// The part of the company a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// The whole company.
    Everything,
    /// These org units (a subtree): people and retailers hanging on them.
    Units(BTreeSet<i64>),
    /// One customer manager's retailers and sheets.
    Manager { id: i64, unit: i64 },
}

impl Reach {
    /// Whether a sheet, retailer or person of `manager_id`, hanging on
    /// `unit_id`, is inside.
    pub fn covers(&self, unit_id: i64, manager_id: i64) -> bool {
        match self {
            Reach::Everything => true,
            Reach::Units(units) => units.contains(&unit_id),
            Reach::Manager { id, .. } => *id == manager_id,
        }
    }

    /// Whether a whole unit is inside.
    pub fn covers_unit(&self, unit_id: i64) -> bool {
        match self {
            Reach::Everything => true,
            Reach::Units(units) => units.contains(&unit_id),
            Reach::Manager { .. } => false,
        }
    }

    pub fn is_everything(&self) -> bool {
        matches!(self, Reach::Everything)
    }

    /// The units inside, `None` for everything (a customer manager's reach
    /// is their own unit, narrowed further by `manager`).
    pub fn units(&self) -> Option<Vec<i64>> {
        match self {
            Reach::Everything => None,
            Reach::Units(units) => Some(units.iter().copied().collect()),
            Reach::Manager { unit, .. } => Some(vec![*unit]),
        }
    }

    /// The one manager inside, when the reach is a customer manager's.
    pub fn manager(&self) -> Option<i64> {
        match self {
            Reach::Manager { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Narrows a report to a unit or a customer manager (query parameters).
#[derive(Debug, Default, Clone, Copy, Deserialize, utoipa::IntoParams)]
pub struct Narrow {
    /// Only this org unit and everything below it.
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// Only this customer manager's retailers.
    #[serde(default)]
    pub manager_id: Option<i64>,
}

/// How long a report waits for its turn before answering 503.
const REPORT_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// A turn to compute a report (see `AppState::report_slots`), held until
/// the report is built; 503 with `Retry-After` after waiting too long.
pub async fn report_turn(
    state: &crate::AppState,
    lang: Lang,
) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    match tokio::time::timeout(REPORT_WAIT, state.report_slots.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(ApiError::busy(lang, 5)),
    }
}

/// The caller's own reach.
pub async fn of_user(pool: &AnyPool, user: &UserRow) -> ApiResult<Reach> {
    Ok(match user.role {
        Role::MarketingCenter | Role::Admin => Reach::Everything,
        Role::CustomerManager => Reach::Manager {
            id: user.id,
            unit: user.org_unit_id,
        },
        Role::MarketManager | Role::CountyManager => {
            let units = crate::store::org::units(pool).await?;
            Reach::Units(
                domain::org::subtree(&units, user.org_unit_id)
                    .into_iter()
                    .collect(),
            )
        }
        // No report covers a retailer; the policy refuses the role first.
        Role::Retailer => Reach::Units(BTreeSet::new()),
    })
}

/// The caller's reach, narrowed as asked, checked against `access`.
pub async fn narrowed(
    pool: &AnyPool,
    user: &UserRow,
    access: Access,
    narrow: Narrow,
    lang: Lang,
) -> ApiResult<Reach> {
    if narrow.unit_id.is_some() && narrow.manager_id.is_some() {
        return Err(ApiError::invalid_fields(
            lang.pick("范围有误", "Invalid scope"),
            vec![(
                "manager_id".to_string(),
                lang.pick(
                    "部门与客户经理只能选其一",
                    "Narrow to a department or to a manager, not both",
                )
                .to_string(),
            )],
        ));
    }
    let own = of_user(pool, user).await?;
    let everywhere = own.is_everything();
    let refuse = |exists: bool| {
        if everywhere && !exists {
            ApiError::not_found(lang)
        } else {
            ApiError::forbidden(lang)
        }
    };
    let mut reach = own.clone();
    if let Some(unit) = narrow.unit_id {
        let units = crate::store::org::units(pool).await?;
        let below = domain::org::subtree(&units, unit);
        let inside = !below.is_empty() && own.covers_unit(unit);
        if !access.allows(user.role, inside) || below.is_empty() {
            return Err(refuse(!below.is_empty()));
        }
        reach = Reach::Units(below.into_iter().collect());
    }
    if let Some(manager) = narrow.manager_id {
        let found: Option<(i64, String)> =
            sqlx::query_as("SELECT org_unit_id, role FROM users WHERE id = $1")
                .bind(manager)
                .fetch_optional(pool)
                .await?;
        let unit = match found {
            Some((unit, role)) if role == Role::CustomerManager.as_str() => Some(unit),
            _ => None,
        };
        let inside = unit.is_some_and(|u| own.covers(u, manager) && reach.covers(u, manager));
        if !access.allows(user.role, inside) || unit.is_none() {
            return Err(refuse(unit.is_some()));
        }
        reach = Reach::Manager {
            id: manager,
            unit: unit.unwrap_or_default(),
        };
    }
    Ok(reach)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manager_reach_covers_only_that_manager() {
        let reach = Reach::Manager { id: 7, unit: 3 };
        assert!(reach.covers(3, 7));
        assert!(!reach.covers(3, 8));
        assert!(!reach.covers_unit(3));
        let units = Reach::Units([3, 4].into());
        assert!(units.covers(4, 99));
        assert!(!units.covers(5, 7));
        assert!(Reach::Everything.covers(1, 1));
    }
}
