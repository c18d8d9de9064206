//! The organisation tree: marketing center → county department → market department.
//! People and retailers hang on units, so a reorganisation only re-maps units.

use serde::{Deserialize, Serialize};

use crate::Lang;

/// The level of an org unit in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// 营销中心 of the city company: the root.
    MarketingCenter,
    /// 县级营销部: optional review level.
    CountyDepartment,
    /// 市场部 / 客户服务部: groups customer managers.
    MarketDepartment,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::MarketingCenter => "marketing_center",
            UnitKind::CountyDepartment => "county_department",
            UnitKind::MarketDepartment => "market_department",
        }
    }

    pub fn parse(s: &str) -> Option<UnitKind> {
        [UnitKind::MarketingCenter, UnitKind::CountyDepartment, UnitKind::MarketDepartment]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            UnitKind::MarketingCenter => lang.pick("营销中心", "Marketing center"),
            UnitKind::CountyDepartment => lang.pick("县级营销部", "County department"),
            UnitKind::MarketDepartment => lang.pick("市场部", "Market department"),
        }
    }
}

/// One unit of the tree, as listed to the marketing center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitSummary {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub kind: UnitKind,
    pub name: String,
    /// Customer managers in this unit and below.
    pub customer_managers: i64,
    /// Retailers in this unit and below.
    pub retailers: i64,
    /// Of those, retailers who joined online replenishment (网上配货户).
    pub online_retailers: i64,
}

/// Share of retailers on online replenishment (网上配货户占比), 0..=1.
pub fn online_share(online: i64, total: i64) -> f64 {
    if total <= 0 {
        0.0
    } else {
        online as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_share_of_no_retailers_is_zero() {
        assert_eq!(online_share(0, 0), 0.0);
        assert_eq!(online_share(1, 4), 0.25);
    }
}
