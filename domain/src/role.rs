//! Who a signed-in person is to the product.

use serde::{Deserialize, Serialize};

use crate::Lang;

/// The role of a user account. Each role sees only its own scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A licensed shop (零售户), signs in with its licence number.
    Retailer,
    /// Customer manager (客户经理): a set of retailers.
    CustomerManager,
    /// Market manager (市场经理): one market department.
    MarketManager,
    /// County marketing department reviewer (县级营销部).
    CountyManager,
    /// Marketing center (营销中心): the whole company.
    MarketingCenter,
    /// Administrator: accounts and settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Retailer,
        Role::CustomerManager,
        Role::MarketManager,
        Role::CountyManager,
        Role::MarketingCenter,
        Role::Admin,
    ];

    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Retailer => "retailer",
            Role::CustomerManager => "customer_manager",
            Role::MarketManager => "market_manager",
            Role::CountyManager => "county_manager",
            Role::MarketingCenter => "marketing_center",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Role::Retailer => lang.pick("零售户", "Retailer"),
            Role::CustomerManager => lang.pick("客户经理", "Customer manager"),
            Role::MarketManager => lang.pick("市场经理", "Market manager"),
            Role::CountyManager => lang.pick("县级营销部", "County department"),
            Role::MarketingCenter => lang.pick("营销中心", "Marketing center"),
            Role::Admin => lang.pick("系统管理员", "Administrator"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_stored_name() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role), "{role:?}");
        }
        assert_eq!(Role::parse("root"), None);
    }
}
