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
        [
            UnitKind::MarketingCenter,
            UnitKind::CountyDepartment,
            UnitKind::MarketDepartment,
        ]
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

/// A unit of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub kind: UnitKind,
    pub name: String,
}

/// Counts attached directly to one unit, before rolling up the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnitCounts {
    pub unit_id: i64,
    pub customer_managers: i64,
    pub retailers: i64,
    pub online_retailers: i64,
}

/// The subtree rooted at `root`, depth first, each unit with the counts of
/// itself and everything below it. Empty when `root` is not in `units`.
pub fn roll_up(units: &[OrgUnit], counts: &[UnitCounts], root: i64) -> Vec<UnitSummary> {
    fn visit(
        units: &[OrgUnit],
        counts: &[UnitCounts],
        id: i64,
        depth: usize,
        out: &mut Vec<UnitSummary>,
    ) -> UnitCounts {
        // A cycle in the data must not hang the server.
        if depth > 32 {
            return UnitCounts::default();
        }
        let Some(unit) = units.iter().find(|u| u.id == id) else {
            return UnitCounts::default();
        };
        let at = out.len();
        let own = counts
            .iter()
            .find(|c| c.unit_id == id)
            .copied()
            .unwrap_or_default();
        out.push(UnitSummary {
            id,
            parent_id: unit.parent_id,
            kind: unit.kind,
            name: unit.name.clone(),
            customer_managers: own.customer_managers,
            retailers: own.retailers,
            online_retailers: own.online_retailers,
        });
        let mut total = own;
        for child in units.iter().filter(|u| u.parent_id == Some(id)) {
            let sub = visit(units, counts, child.id, depth + 1, out);
            total.customer_managers += sub.customer_managers;
            total.retailers += sub.retailers;
            total.online_retailers += sub.online_retailers;
        }
        let summary = &mut out[at];
        summary.customer_managers = total.customer_managers;
        summary.retailers = total.retailers;
        summary.online_retailers = total.online_retailers;
        total
    }
    let mut out = Vec::new();
    visit(units, counts, root, 0, &mut out);
    out
}

/// The ids of `root` and every unit below it. Empty when `root` is not in
/// `units`; a cycle in the data ends the walk instead of hanging it.
pub fn subtree(units: &[OrgUnit], root: i64) -> Vec<i64> {
    let mut out = Vec::new();
    if !units.iter().any(|u| u.id == root) {
        return out;
    }
    out.push(root);
    let mut at = 0;
    while at < out.len() && out.len() <= units.len() {
        let parent = out[at];
        for child in units.iter().filter(|u| u.parent_id == Some(parent)) {
            if !out.contains(&child.id) {
                out.push(child.id);
            }
        }
        at += 1;
    }
    out
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

    fn unit(id: i64, parent_id: Option<i64>, kind: UnitKind) -> OrgUnit {
        OrgUnit {
            id,
            parent_id,
            kind,
            name: format!("u{id}"),
        }
    }

    #[test]
    fn counts_roll_up_to_every_ancestor() {
        let units = [
            unit(1, None, UnitKind::MarketingCenter),
            unit(2, Some(1), UnitKind::CountyDepartment),
            unit(3, Some(2), UnitKind::MarketDepartment),
            unit(4, Some(2), UnitKind::MarketDepartment),
        ];
        let counts = [
            UnitCounts {
                unit_id: 3,
                customer_managers: 2,
                retailers: 10,
                online_retailers: 4,
            },
            UnitCounts {
                unit_id: 4,
                customer_managers: 1,
                retailers: 5,
                online_retailers: 5,
            },
        ];
        let tree = roll_up(&units, &counts, 1);
        assert_eq!(
            tree.iter().map(|u| u.id).collect::<Vec<_>>(),
            [1, 2, 3, 4],
            "depth-first order"
        );
        assert_eq!(
            (
                tree[0].customer_managers,
                tree[0].retailers,
                tree[0].online_retailers
            ),
            (3, 15, 9)
        );
        assert_eq!(tree[1].retailers, 15, "county includes both departments");
        assert_eq!(
            roll_up(&units, &counts, 4).len(),
            1,
            "a leaf is its own subtree"
        );
        assert!(roll_up(&units, &counts, 99).is_empty(), "unknown root");
    }

    #[test]
    fn a_subtree_holds_its_root_and_everything_below_and_survives_a_cycle() {
        let units = vec![
            unit(1, None, UnitKind::MarketingCenter),
            unit(2, Some(1), UnitKind::CountyDepartment),
            unit(3, Some(2), UnitKind::MarketDepartment),
            unit(4, Some(2), UnitKind::MarketDepartment),
            unit(5, Some(1), UnitKind::CountyDepartment),
            unit(6, Some(5), UnitKind::MarketDepartment),
        ];
        assert_eq!(subtree(&units, 2), vec![2, 3, 4]);
        assert_eq!(subtree(&units, 6), vec![6]);
        assert_eq!(subtree(&units, 1).len(), 6);
        assert!(subtree(&units, 99).is_empty());
        let looped = vec![
            unit(1, Some(2), UnitKind::CountyDepartment),
            unit(2, Some(1), UnitKind::MarketDepartment),
        ];
        assert_eq!(subtree(&looped, 1), vec![1, 2]);
    }

    #[test]
    fn online_share_of_no_retailers_is_zero() {
        assert_eq!(online_share(0, 0), 0.0);
        assert_eq!(online_share(1, 4), 0.25);
    }
}
