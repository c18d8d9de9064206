//! The review chain (层层提交修正): a submitted sheet goes up the org tree,
//! market department → [county department] → marketing center. Each level
//! may correct lines (with a reason), approve upward or return the sheet
//! down with a comment; the marketing center's approval is final.
//!
//! Who acts, when a sheet is late and how accuracy is read all live here, so
//! the browser and the API agree.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::view::SheetStatus;
use super::{has_reason, CellError, REASON_MAX_CHARS};
use crate::org::{OrgUnit, UnitKind};
use crate::{Lang, Role};

/// One level of a sheet's review chain; levels count from 1 upwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewStep {
    pub level: u8,
    pub kind: UnitKind,
    pub unit_id: i64,
    pub unit_name: String,
}

/// The chain above a customer manager's unit: every market department,
/// county department and marketing center from that unit up to the root, in
/// that order. A tree without a county level gives a two-level chain.
pub fn chain(units: &[OrgUnit], manager_unit: i64) -> Vec<ReviewStep> {
    let mut steps = Vec::new();
    let mut at = Some(manager_unit);
    // The depth guard keeps a cycle in the data from hanging the server.
    for _ in 0..32 {
        let Some(unit) = at.and_then(|id| units.iter().find(|u| u.id == id)) else {
            break;
        };
        steps.push(ReviewStep {
            level: steps.len() as u8 + 1,
            kind: unit.kind,
            unit_id: unit.id,
            unit_name: unit.name.clone(),
        });
        if unit.kind == UnitKind::MarketingCenter {
            break;
        }
        at = unit.parent_id;
    }
    steps
}

/// Whether a person with `role` in unit `unit` reviews at `step`: the market
/// manager of that department, the county reviewer of that county, or the
/// marketing center.
pub fn reviews_at(step: &ReviewStep, role: Role, unit: i64) -> bool {
    match step.kind {
        UnitKind::MarketDepartment => role == Role::MarketManager && unit == step.unit_id,
        UnitKind::CountyDepartment => role == Role::CountyManager && unit == step.unit_id,
        UnitKind::MarketingCenter => role == Role::MarketingCenter,
    }
}

/// Whether a person with `role` in unit `unit` may read sheets reviewed along
/// `chain`: anyone who reviews at one of its steps, and admins.
pub fn may_read(chain: &[ReviewStep], role: Role, unit: i64) -> bool {
    role == Role::Admin || chain.iter().any(|s| reviews_at(s, role, unit))
}

/// Why a review action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("the sheet is not waiting for review")]
    NotInReview,
    #[error("the sheet is approved and locked")]
    Locked,
    #[error("the sheet waits for another level")]
    NotYourLevel,
    #[error("a reviewer cannot review a sheet they entered")]
    OwnSheet,
    #[error("a comment is needed")]
    CommentMissing,
    #[error("the comment is too long")]
    CommentTooLong,
    #[error("no such level below")]
    BadLevel,
}

impl ReviewError {
    pub fn message(self, lang: Lang) -> String {
        match (self, lang) {
            (ReviewError::NotInReview, _) => lang
                .pick("该预测表不在审核中", "The sheet is not waiting for review")
                .into(),
            (ReviewError::Locked, _) => lang
                .pick(
                    "营销中心已审批，数据已锁定",
                    "Approved by the marketing center; the data is locked",
                )
                .into(),
            (ReviewError::NotYourLevel, _) => lang
                .pick(
                    "该预测表正等待其他层级审核",
                    "The sheet is waiting for another level",
                )
                .into(),
            (ReviewError::OwnSheet, _) => lang
                .pick(
                    "不能审核自己录入的预测表",
                    "You cannot review a sheet you entered",
                )
                .into(),
            (ReviewError::CommentMissing, _) => lang
                .pick("退回须填写意见", "Give a comment when returning")
                .into(),
            (ReviewError::CommentTooLong, Lang::Zh) => {
                format!("意见不能超过 {COMMENT_MAX_CHARS} 个字")
            }
            (ReviewError::CommentTooLong, Lang::En) => {
                format!("Keep the comment within {COMMENT_MAX_CHARS} characters")
            }
            (ReviewError::BadLevel, _) => lang
                .pick("只能退回到下级", "A sheet can only be returned downwards")
                .into(),
        }
    }

    /// The request field the error belongs to, if any.
    pub fn field(self) -> Option<&'static str> {
        match self {
            ReviewError::CommentMissing | ReviewError::CommentTooLong => Some("comment"),
            ReviewError::BadLevel => Some("to_level"),
            _ => None,
        }
    }
}

/// Longest review comment kept, in characters.
pub const COMMENT_MAX_CHARS: usize = 500;

/// Who is acting on a sheet, and the sheet's state.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub user_id: i64,
    pub role: Role,
    pub unit_id: i64,
}

/// Where a sheet stands in its chain.
#[derive(Debug, Clone, Copy)]
pub struct SheetState {
    pub status: SheetStatus,
    /// The level it waits at, while submitted.
    pub level: Option<u8>,
    pub manager_id: i64,
    /// Whoever submitted it last.
    pub submitted_by: Option<i64>,
}

/// The step `actor` may act at now (correct, approve, return), or why not.
/// Separation of duties: whoever entered or submitted the sheet cannot
/// review it, whatever their role is now.
pub fn acting_step(
    chain: &[ReviewStep],
    sheet: SheetState,
    actor: Actor,
) -> Result<&ReviewStep, ReviewError> {
    match sheet.status {
        SheetStatus::Approved => return Err(ReviewError::Locked),
        SheetStatus::Submitted => {}
        _ => return Err(ReviewError::NotInReview),
    }
    let step = sheet
        .level
        .and_then(|l| chain.iter().find(|s| s.level == l))
        .ok_or(ReviewError::NotInReview)?;
    if !reviews_at(step, actor.role, actor.unit_id) {
        return Err(ReviewError::NotYourLevel);
    }
    if actor.user_id == sheet.manager_id || sheet.submitted_by == Some(actor.user_id) {
        return Err(ReviewError::OwnSheet);
    }
    Ok(step)
}

/// The level after `step`, or `None` when `step` is the last (final approval).
pub fn next_level(chain: &[ReviewStep], step: &ReviewStep) -> Option<u8> {
    chain
        .iter()
        .find(|s| s.level == step.level + 1)
        .map(|s| s.level)
}

/// Checks a comment; returning needs one.
pub fn check_comment(comment: Option<&str>, required: bool) -> Result<(), ReviewError> {
    match comment.map(str::trim) {
        Some(c) if c.chars().count() > COMMENT_MAX_CHARS => Err(ReviewError::CommentTooLong),
        Some(c) if !c.is_empty() => Ok(()),
        _ if required => Err(ReviewError::CommentMissing),
        _ => Ok(()),
    }
}

/// Checks where a return goes: 0 is the customer manager, otherwise a level
/// below the one returning.
pub fn check_return_level(to_level: u8, from: &ReviewStep) -> Result<(), ReviewError> {
    if to_level < from.level {
        Ok(())
    } else {
        Err(ReviewError::BadLevel)
    }
}

/// Checks a reviewer's correction of one line: a valid quantity within the
/// bound, and a reason, always.
pub fn check_correction(value: i64, reason: Option<&str>, bound: i64) -> Result<(), CellError> {
    super::check_value(value, bound)?;
    if !has_reason(reason) {
        return Err(CellError::CorrectionReasonMissing);
    }
    match reason {
        Some(r) if r.trim().chars().count() > REASON_MAX_CHARS => Err(CellError::ReasonTooLong),
        _ => Ok(()),
    }
}

/// The reason that counts for a cell at submission: the manager's own, or
/// else the reviewer's reason for a correction still in effect.
pub fn submit_reason<'a>(own: Option<&'a str>, correction: Option<&'a str>) -> Option<&'a str> {
    own.filter(|r| has_reason(Some(r))).or(correction)
}

/// Whether a sheet is late: not submitted after its entry deadline, or not
/// approved after the review deadline.
pub fn is_late(
    status: SheetStatus,
    today: NaiveDate,
    entry_deadline: NaiveDate,
    review_deadline: NaiveDate,
) -> bool {
    match status {
        SheetStatus::Approved => false,
        SheetStatus::Submitted => today > review_deadline,
        SheetStatus::NotStarted | SheetStatus::Draft | SheetStatus::Returned => {
            today > entry_deadline
        }
    }
}

/// How a sheet's stage reads: 未开始, 草稿, 待市场部审核 (第1级), 已退回, 已审批.
pub fn stage_label(
    status: SheetStatus,
    level: Option<u8>,
    chain: &[ReviewStep],
    lang: Lang,
) -> String {
    match (status, level) {
        (SheetStatus::Submitted, Some(l)) => {
            let unit = chain
                .iter()
                .find(|s| s.level == l)
                .map_or_else(String::new, |s| s.kind.label(lang).to_string());
            match lang {
                Lang::Zh => format!("待{unit}审核（第{l}级）"),
                Lang::En => format!("At level {l}: {unit}"),
            }
        }
        _ => status.label(lang).to_string(),
    }
}

/// Per-line relative error |F − A| / A; `None` when nothing was ordered.
pub fn relative_error(forecast: i64, actual: i64) -> Option<f64> {
    (actual > 0).then(|| (forecast - actual).abs() as f64 / actual as f64)
}

/// Sums behind the accuracy of a group of lines, for the three forecasts
/// compared: the approved value, the customer manager's own, the baseline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccuracySums {
    pub lines: i64,
    /// ΣA
    pub actual: i64,
    /// Σ of each forecast.
    pub approved: i64,
    pub entered: i64,
    pub baseline: i64,
    /// Σ|F − A| for each forecast.
    pub approved_error: i64,
    pub entered_error: i64,
    pub baseline_error: i64,
}

/// Which forecast was compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Compared {
    Approved,
    Entered,
    Baseline,
}

impl Compared {
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Compared::Approved => lang.pick("审批值", "Approved"),
            Compared::Entered => lang.pick("客户经理原值", "Manager's own"),
            Compared::Baseline => lang.pick("系统基线", "Baseline"),
        }
    }
}

impl AccuracySums {
    pub fn add(&mut self, approved: i64, entered: i64, baseline: i64, actual: i64) {
        self.lines += 1;
        self.actual += actual;
        self.approved += approved;
        self.entered += entered;
        self.baseline += baseline;
        self.approved_error += (approved - actual).abs();
        self.entered_error += (entered - actual).abs();
        self.baseline_error += (baseline - actual).abs();
    }

    pub fn merge(&mut self, other: &AccuracySums) {
        self.lines += other.lines;
        self.actual += other.actual;
        self.approved += other.approved;
        self.entered += other.entered;
        self.baseline += other.baseline;
        self.approved_error += other.approved_error;
        self.entered_error += other.entered_error;
        self.baseline_error += other.baseline_error;
    }

    pub fn accuracy(&self, of: Compared) -> Option<f64> {
        let error = match of {
            Compared::Approved => self.approved_error,
            Compared::Entered => self.entered_error,
            Compared::Baseline => self.baseline_error,
        };
        super::evaluate::accuracy(error as f64, self.actual as f64)
    }

    /// The forecast with the smallest absolute error; ties go to the
    /// approved value, then the manager's own.
    pub fn closest(&self) -> Compared {
        let mut best = (Compared::Approved, self.approved_error);
        for (c, e) in [
            (Compared::Entered, self.entered_error),
            (Compared::Baseline, self.baseline_error),
        ] {
            if e < best.1 {
                best = (c, e);
            }
        }
        best.0
    }

    /// Forecast value added (预测增值) of the review chain and the managers
    /// over the baseline, in accuracy points: approved − baseline.
    pub fn value_added(&self) -> Option<f64> {
        Some(self.accuracy(Compared::Approved)? - self.accuracy(Compared::Baseline)?)
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

    fn tree() -> Vec<OrgUnit> {
        vec![
            unit(1, None, UnitKind::MarketingCenter),
            unit(2, Some(1), UnitKind::CountyDepartment),
            unit(3, Some(2), UnitKind::MarketDepartment),
            unit(4, Some(1), UnitKind::MarketDepartment),
        ]
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_default()
    }

    #[test]
    fn the_chain_follows_the_tree_with_or_without_a_county() {
        let with = chain(&tree(), 3);
        assert_eq!(
            with.iter()
                .map(|s| (s.level, s.unit_id))
                .collect::<Vec<_>>(),
            [(1, 3), (2, 2), (3, 1)]
        );
        let without = chain(&tree(), 4);
        assert_eq!(
            without
                .iter()
                .map(|s| (s.level, s.kind))
                .collect::<Vec<_>>(),
            [
                (1, UnitKind::MarketDepartment),
                (2, UnitKind::MarketingCenter)
            ]
        );
        assert_eq!(next_level(&with, &with[1]), Some(3));
        assert_eq!(next_level(&with, &with[2]), None, "the center is final");
        assert!(chain(&tree(), 99).is_empty());
    }

    #[test]
    fn only_the_waiting_level_acts_and_never_on_its_own_sheet() {
        let steps = chain(&tree(), 3);
        let sheet = SheetState {
            status: SheetStatus::Submitted,
            level: Some(1),
            manager_id: 10,
            submitted_by: Some(10),
        };
        let market = Actor {
            user_id: 20,
            role: Role::MarketManager,
            unit_id: 3,
        };
        assert_eq!(acting_step(&steps, sheet, market).map(|s| s.level), Ok(1));
        let other_market = Actor {
            unit_id: 4,
            ..market
        };
        assert_eq!(
            acting_step(&steps, sheet, other_market).map(|s| s.level),
            Err(ReviewError::NotYourLevel)
        );
        let center = Actor {
            user_id: 30,
            role: Role::MarketingCenter,
            unit_id: 1,
        };
        assert_eq!(
            acting_step(&steps, sheet, center).map(|s| s.level),
            Err(ReviewError::NotYourLevel),
            "the center waits for the levels below"
        );
        let at_center = SheetState {
            level: Some(3),
            ..sheet
        };
        assert_eq!(
            acting_step(&steps, at_center, center).map(|s| s.level),
            Ok(3)
        );
        // The manager was promoted and now reviews their old department.
        let promoted = Actor {
            user_id: 10,
            ..market
        };
        assert_eq!(
            acting_step(&steps, sheet, promoted).map(|s| s.level),
            Err(ReviewError::OwnSheet)
        );
        for (status, error) in [
            (SheetStatus::Approved, ReviewError::Locked),
            (SheetStatus::Draft, ReviewError::NotInReview),
            (SheetStatus::Returned, ReviewError::NotInReview),
        ] {
            let s = SheetState { status, ..sheet };
            assert_eq!(acting_step(&steps, s, market).map(|s| s.level), Err(error));
        }
        assert!(may_read(&steps, Role::CountyManager, 2));
        assert!(!may_read(&steps, Role::CountyManager, 5));
        assert!(!may_read(&steps, Role::CustomerManager, 3));
    }

    #[test]
    fn returns_need_a_comment_and_go_down() {
        assert_eq!(
            check_comment(Some("  "), true),
            Err(ReviewError::CommentMissing)
        );
        assert_eq!(check_comment(None, false), Ok(()));
        assert_eq!(
            check_comment(Some(&"意".repeat(COMMENT_MAX_CHARS + 1)), false),
            Err(ReviewError::CommentTooLong)
        );
        let steps = chain(&tree(), 3);
        assert_eq!(check_return_level(0, &steps[2]), Ok(()));
        assert_eq!(check_return_level(2, &steps[2]), Ok(()));
        assert_eq!(check_return_level(1, &steps[0]), Err(ReviewError::BadLevel));
    }

    #[test]
    fn a_correction_needs_a_reason_and_a_valid_value() {
        assert_eq!(
            check_correction(5, Some(" "), 100),
            Err(CellError::CorrectionReasonMissing)
        );
        assert_eq!(
            check_correction(101, Some("活动"), 100),
            Err(CellError::AboveBound(100))
        );
        assert!(check_correction(-1, Some("活动"), 100).is_err());
        assert_eq!(check_correction(5, Some("节前备货"), 100), Ok(()));
    }

    #[test]
    fn a_reviewers_reason_stands_for_a_corrected_cell() {
        assert_eq!(submit_reason(Some("节前"), Some("新店")), Some("节前"));
        assert_eq!(submit_reason(Some("  "), Some("新店")), Some("新店"));
        assert_eq!(submit_reason(None, None), None);
    }

    #[test]
    fn lateness_depends_on_the_stage() {
        let (entry, review) = (day(20), day(25));
        assert!(!is_late(SheetStatus::Draft, day(20), entry, review));
        assert!(is_late(SheetStatus::Draft, day(21), entry, review));
        assert!(is_late(SheetStatus::Returned, day(21), entry, review));
        assert!(!is_late(SheetStatus::Submitted, day(25), entry, review));
        assert!(is_late(SheetStatus::Submitted, day(26), entry, review));
        assert!(!is_late(SheetStatus::Approved, day(28), entry, review));
    }

    #[test]
    fn accuracy_is_one_minus_the_weighted_error() {
        // F = 12, 8, 0; A = 10, 10, 5: Σ|F−A| = 2 + 2 + 5 = 9, ΣA = 25.
        let mut sums = AccuracySums::default();
        for (f, a) in [(12, 10), (8, 10), (0, 5)] {
            sums.add(f, f, a, a);
        }
        assert_eq!(sums.approved_error, 9);
        let acc = sums.accuracy(Compared::Approved).unwrap_or_default();
        assert!((acc - 0.64).abs() < 1e-9, "{acc}");
        assert_eq!(sums.accuracy(Compared::Baseline), Some(1.0));
        assert_eq!(sums.closest(), Compared::Baseline);
        assert!((sums.value_added().unwrap_or_default() + 0.36).abs() < 1e-9);
        // Far off: never below zero; nothing ordered: no figure.
        use super::super::evaluate::accuracy;
        assert_eq!(accuracy(30.0, 10.0), Some(0.0));
        assert_eq!(accuracy(3.0, 0.0), None);
        assert_eq!(relative_error(12, 10), Some(0.2));
        assert_eq!(relative_error(3, 0), None);
        let mut total = AccuracySums::default();
        total.merge(&sums);
        total.merge(&sums);
        assert_eq!((total.lines, total.actual), (6, 50));
    }
}
