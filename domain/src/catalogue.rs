//! The product catalogue: cigarette specifications (品规).

use serde::{Deserialize, Serialize};

use crate::quantity::Fen;

/// Price class (价类) 1 to 5; class 1 is the most expensive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "u8", into = "u8")]
pub struct PriceClass(u8);

impl PriceClass {
    pub fn new(n: u8) -> Option<PriceClass> {
        (1..=5).contains(&n).then_some(PriceClass(n))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// 一类 … 五类.
    pub fn label_zh(self) -> &'static str {
        ["一类", "二类", "三类", "四类", "五类"][usize::from(self.0 - 1)]
    }
}

impl TryFrom<u8> for PriceClass {
    type Error = &'static str;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        PriceClass::new(n).ok_or("price class must be 1 to 5")
    }
}

impl From<PriceClass> for u8 {
    fn from(p: PriceClass) -> u8 {
        p.0
    }
}

/// A sellable cigarette specification (品规).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Spec {
    pub id: i64,
    /// Product code, e.g. `6901028075862`.
    pub code: String,
    /// Brand, e.g. 黄鹤楼.
    pub brand: String,
    /// Full name, e.g. 黄鹤楼(软蓝).
    pub name: String,
    pub price_class: PriceClass,
    /// Wholesale price per carton.
    pub wholesale_per_carton: Fen,
    /// Suggested retail price per carton.
    pub retail_per_carton: Fen,
    /// Scarce (紧俏): tighter caps.
    pub scarce: bool,
    /// New product (新品).
    pub new_product: bool,
    /// Whether retailers may currently order it.
    pub orderable: bool,
}
