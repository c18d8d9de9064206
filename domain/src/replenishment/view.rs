//! What the replenishment API sends and receives.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{OrderLineInput, ProposalLine, ReplenishmentPolicy, SpecRule, SpecSettings};
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
    /// Cap per order for the retailer's class (单品批次购进量).
    pub class_cap: i64,
    pub order_multiple: i64,
    /// Scarce spec (紧俏品牌), cut first under the total cap.
    pub scarce: bool,
    pub orderable: bool,
}

impl SpecTerms {
    pub fn rule(&self) -> SpecRule {
        SpecRule {
            spec_id: self.spec_id,
            class_cap: self.class_cap,
            order_multiple: self.order_multiple,
            scarce: self.scarce,
            orderable: self.orderable,
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

/// The proposed order for the next order day, and the order if confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalView {
    pub order_date: NaiveDate,
    pub total_cap: Option<i64>,
    pub lines: Vec<ProposalLine>,
    pub total_cartons: i64,
    pub total_value: Fen,
    pub confirmed: Option<ConfirmedOrder>,
}

/// Confirms the order for `order_date` with these quantities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfirmOrderRequest {
    pub order_date: NaiveDate,
    pub lines: Vec<OrderLineInput>,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfirmedOrder {
    pub id: i64,
    pub order_date: NaiveDate,
    /// UNIX seconds.
    pub confirmed_at: i64,
    pub confirmed_by: String,
    pub confirmed_by_role: Role,
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
