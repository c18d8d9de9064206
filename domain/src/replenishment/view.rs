//! What the replenishment API sends and receives.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{
    OnOrder, OrderLineInput, OrderStatus, ProposalLine, ReplenishmentPolicy, SpecRule, SpecSettings,
};
use crate::quantity::Fen;
use crate::Role;

/// The retailer a replenishment page is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetailerHeader {
    pub id: i64,
    pub licence_no: String,
    pub name: String,
    pub class_code: String,
    pub class_label: String,
    /// Joined online replenishment (网上配货).
    pub online: bool,
    /// Order day of the week, 1 (Monday) to 7 (Sunday).
    pub order_weekday: u8,
    pub manager_name: String,
}

/// A catalogue spec with the terms that apply to one retailer's class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecTerms {
    pub spec_id: i64,
    pub code: String,
    pub brand: String,
    pub name: String,
    pub wholesale_per_carton: Fen,
    /// Cap per order for the retailer's class on the order day (单品批次购进量):
    /// a published allocation's when `cap_period` is set, else the standing one.
    pub class_cap: i64,
    /// The standing cap, which bounds the upper stock limit in the settings.
    #[serde(default)]
    pub standing_cap: i64,
    pub order_multiple: i64,
    /// Scarce spec (紧俏品牌), cut first under the total cap.
    pub scarce: bool,
    pub orderable: bool,
    /// Set when `class_cap` comes from a published allocation of scarce
    /// supply (货源投放) for the order day, not from the standing caps.
    #[serde(default)]
    pub cap_period: Option<CapPeriod>,
}

/// The period of order days a published allocation's cap holds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapPeriod {
    pub allocation_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl SpecTerms {
    /// The rule an order of the order day is held to.
    pub fn rule(&self) -> SpecRule {
        SpecRule {
            spec_id: self.spec_id,
            class_cap: self.class_cap,
            order_multiple: self.order_multiple,
            scarce: self.scarce,
            orderable: self.orderable,
        }
    }

    /// The rule the settings are held to: the standing cap, as an
    /// allocation's cap holds for its period only.
    pub fn settings_rule(&self) -> SpecRule {
        SpecRule {
            class_cap: self.standing_cap,
            ..self.rule()
        }
    }
}

/// A retailer's settings page: who, the terms, and the settings as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetailerSettingsView {
    pub retailer: RetailerHeader,
    /// Sent back on save; a save against an older version is refused (409).
    pub version: i64,
    pub policy: ReplenishmentPolicy,
    /// Total cap per order for the retailer's class (总量限量); none when unset.
    pub total_cap: Option<i64>,
    /// Every catalogue spec with its terms for this retailer.
    pub terms: Vec<SpecTerms>,
    pub settings: Vec<SpecSettings>,
    pub next_order_date: NaiveDate,
}

/// Replaces a retailer's settings list (added, changed and removed specs at once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaveSettingsRequest {
    /// The version the edits were made on.
    pub version: i64,
    pub settings: Vec<SpecSettings>,
}

/// The proposed order for the order day whose window is open, and the
/// order if confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalView {
    pub order_date: NaiveDate,
    /// When the window closes (China time); the order is locked from then on.
    /// China time, without an offset: `YYYY-MM-DDTHH:MM:SS`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-01T17:00:00"))]
    pub cutoff: NaiveDateTime,
    pub total_cap: Option<i64>,
    pub lines: Vec<ProposalLine>,
    pub total_cartons: i64,
    pub total_value: Fen,
    /// Ordered on earlier order days and not yet delivered (counted as stock).
    pub on_order: Vec<OnOrder>,
    pub confirmed: Option<ConfirmedOrder>,
}

/// Confirms the order for `order_date` with these quantities. Any orderable
/// spec may be listed, proposed or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfirmOrderRequest {
    pub order_date: NaiveDate,
    pub lines: Vec<OrderLineInput>,
}

/// Replaces the quantities of a confirmed order (or confirms a cancelled one
/// again) before the cutoff, if it is still at `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeOrderRequest {
    pub version: i64,
    pub lines: Vec<OrderLineInput>,
}

/// Cancels a confirmed order before the cutoff, if it is still at `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CancelOrderRequest {
    pub version: i64,
}

/// One line of a confirmed order with the demand the caps cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfirmedLine {
    pub spec_id: i64,
    /// What the settings called for before any cap.
    pub wanted: i64,
    /// What the product proposed after the caps.
    pub proposed: i64,
    /// What was confirmed.
    pub quantity: i64,
    /// Censored demand: wanted − proposed.
    pub cut_off: i64,
    /// Delivered, as loaded back from the order and supply system.
    #[serde(default)]
    pub delivered: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfirmedOrder {
    pub id: i64,
    pub order_date: NaiveDate,
    pub status: OrderStatus,
    /// Sent back with a change or a cancellation (compare-and-set).
    pub version: i64,
    /// When the window closes or closed (China time).
    /// China time, without an offset: `YYYY-MM-DDTHH:MM:SS`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-01T17:00:00"))]
    pub cutoff: NaiveDateTime,
    /// UNIX seconds.
    pub confirmed_at: i64,
    pub confirmed_by: String,
    pub confirmed_by_role: Role,
    /// The last change or cancellation: UNIX seconds, and by whom.
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
    pub lines: Vec<ConfirmedLine>,
    pub total_cartons: i64,
    pub total_value: Fen,
}

/// One changed value of a retailer's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsChange {
    /// UNIX seconds.
    pub at: i64,
    pub actor: String,
    pub actor_role: Role,
    pub spec_id: i64,
    pub spec_name: String,
    /// `stock`, `lower`, `upper`, `weekly_turnover`; `spec` when a spec was added (from none) or removed (to none).
    pub field: String,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// A customer manager's retailer in the replenishment list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManagedRetailer {
    pub id: i64,
    pub licence_no: String,
    pub name: String,
    pub class_label: String,
    pub market_unit: String,
    pub online: bool,
    /// Specs with settings.
    pub specs: i64,
    pub last_order_date: Option<NaiveDate>,
    /// The retailer's order day whose window is open, with its cutoff.
    pub window_date: NaiveDate,
    /// China time, without an offset: `YYYY-MM-DDTHH:MM:SS`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-01T17:00:00"))]
    pub window_cutoff: NaiveDateTime,
    /// The order of that day: none when not confirmed yet.
    pub window_status: Option<OrderStatus>,
    pub window_cartons: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManagedRetailers {
    pub retailers: Vec<ManagedRetailer>,
    pub total: i64,
    pub online: i64,
}

/// Joins or leaves online replenishment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolmentRequest {
    pub online: bool,
}

/// A spec's replenishment terms for every class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecPolicy {
    pub spec_id: i64,
    pub code: String,
    pub name: String,
    pub order_multiple: i64,
    /// Cap for classes without their own.
    pub default_cap: i64,
    pub scarce: bool,
    pub orderable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassPolicy {
    pub code: String,
    pub label: String,
    /// Total cap per order; none when unset.
    pub total_cap: Option<i64>,
}

/// The cap of one spec for one class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassCap {
    pub spec_id: i64,
    pub class_code: String,
    pub cap: i64,
}

/// The whole replenishment policy, as the marketing center edits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyView {
    /// Raised by every change; a change names the version it was made on.
    #[serde(default)]
    pub version: i64,
    pub policy: ReplenishmentPolicy,
    pub specs: Vec<SpecPolicy>,
    pub classes: Vec<ClassPolicy>,
    /// Caps per spec × class that differ from the spec's default.
    pub caps: Vec<ClassCap>,
}

/// Changes to the policy; only what is listed changes. Saved in one transaction.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyChanges {
    /// The policy version these changes were made on; if the policy has
    /// changed since, nothing is saved (409).
    pub version: i64,
    #[serde(default)]
    pub policy: Option<ReplenishmentPolicy>,
    #[serde(default)]
    pub specs: Vec<SpecPolicyChange>,
    #[serde(default)]
    pub caps: Vec<ClassCap>,
    #[serde(default)]
    pub classes: Vec<ClassTotalCap>,
    #[serde(default)]
    pub order_days: Vec<RetailerOrderDay>,
}

/// A retailer's order day of the week, 1 (Monday) to 7 (Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetailerOrderDay {
    pub retailer_id: i64,
    pub weekday: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecPolicyChange {
    pub spec_id: i64,
    pub order_multiple: i64,
    pub default_cap: i64,
    pub scarce: bool,
    pub orderable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassTotalCap {
    pub code: String,
    pub total_cap: Option<i64>,
}
