//! What each role sees on landing: who they are and the size of their scope.

use serde::{Deserialize, Serialize};

use crate::org::UnitSummary;
use crate::Role;

/// The landing page figures for the signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HomeSummary {
    pub role: Role,
    pub display_name: String,
    /// The unit the scope is rooted at (or the retailer's market department).
    pub unit_name: String,
    pub scope: Scope,
}

/// The scope of the signed-in user, by role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
// Named apart from the forecast cycle's `Scope` in the OpenAPI document.
#[cfg_attr(feature = "openapi", schema(as = HomeScope))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// A retailer sees itself.
    Retailer {
        licence_no: String,
        shop_name: String,
        class_label: String,
        online_replenishment: bool,
        customer_manager: String,
    },
    /// A customer manager sees their retailers.
    Retailers {
        retailers: i64,
        online_retailers: i64,
    },
    /// A manager of units sees the units below them.
    Units { units: Vec<UnitSummary>, specs: i64 },
}
