//! What each role sees on landing: who they are, the size of their scope,
//! what is due (reminders drawn from the open forecast cycles) and the
//! reports they may open.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::forecast::view::SheetStatus;
use crate::month::YearMonth;
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
    /// What is due, from the open forecast cycles ([`reminders`]).
    #[serde(default)]
    pub reminders: Vec<Reminder>,
    /// The reports the home page links to.
    #[serde(default)]
    pub reports: ReportLinks,
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

/// Reports the home page links to: the cycle whose dashboard (预测看板) and
/// whose accuracy (准确率) to open, when the role may read them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportLinks {
    /// The latest cycle (an open one first).
    pub dashboard_cycle: Option<i64>,
    /// The latest cycle whose month has actual orders.
    pub accuracy_cycle: Option<i64>,
}

/// Days before a submission deadline that a customer manager is reminded
/// of a sheet not yet submitted (截止提醒): the deadline is today or within
/// this many days.
pub const DUE_SOON_DAYS: i64 = 3;

/// What the reminders know of one sheet of an open cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetFact {
    pub cycle_id: i64,
    pub month: YearMonth,
    pub manager_id: i64,
    pub manager_name: String,
    /// The manager's market department.
    pub unit_name: String,
    pub status: SheetStatus,
    pub submit_deadline: NaiveDate,
    pub review_deadline: NaiveDate,
    pub reopened_until: Option<NaiveDate>,
    /// Cells entered, and cells of the sheet.
    pub filled: i64,
    pub cells: i64,
    /// The latest return's comment and who returned it, when returned.
    pub returned_comment: Option<String>,
    pub returned_by: Option<String>,
    /// Whether the sheet waits at the viewer's level of the review chain
    /// (and the viewer may act on it).
    pub awaits_viewer: bool,
}

impl SheetFact {
    /// The last day of entry: the submission deadline, or a later date the
    /// marketing center reopened entry until.
    pub fn entry_deadline(&self) -> NaiveDate {
        self.reopened_until
            .map_or(self.submit_deadline, |d| d.max(self.submit_deadline))
    }

    fn manager(&self) -> ManagerRef {
        ManagerRef {
            manager_id: self.manager_id,
            name: self.manager_name.clone(),
            unit_name: self.unit_name.clone(),
        }
    }
}

/// A customer manager named in a reminder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManagerRef {
    pub manager_id: i64,
    pub name: String,
    /// Their market department.
    pub unit_name: String,
}

/// Something due, shown at the top of the home page with a link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reminder {
    /// The viewer's sheet is due within [`DUE_SOON_DAYS`] days.
    DueSoon {
        cycle_id: i64,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2027-01"))]
        month: YearMonth,
        deadline: NaiveDate,
        /// 0 when due today.
        days_left: i64,
        filled: i64,
        cells: i64,
    },
    /// The viewer's sheet was returned to them, with the reviewer's comment.
    Returned {
        cycle_id: i64,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2027-01"))]
        month: YearMonth,
        comment: Option<String>,
        /// Who returned it.
        by: Option<String>,
    },
    /// Entry was reopened for the viewer after the deadline, until a date.
    Reopened {
        cycle_id: i64,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2027-01"))]
        month: YearMonth,
        until: NaiveDate,
        filled: i64,
        cells: i64,
    },
    /// The viewer's sheet is past its deadline and not submitted.
    Late {
        cycle_id: i64,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2027-01"))]
        month: YearMonth,
        deadline: NaiveDate,
        filled: i64,
        cells: i64,
    },
    /// Sheets waiting at the viewer's level of review, and how many of
    /// them are past their review deadline.
    ToReview { waiting: i64, overdue: i64 },
    /// Customer managers who have not opened their sheet of a cycle.
    NotStarted {
        cycle_id: i64,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2027-01"))]
        month: YearMonth,
        managers: Vec<ManagerRef>,
    },
    /// Customer managers whose sheet of a cycle is past its deadline and
    /// not submitted.
    LateManagers {
        cycle_id: i64,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2027-01"))]
        month: YearMonth,
        managers: Vec<ManagerRef>,
    },
    /// A retailer in online replenishment: its open order window, until
    /// when, and whether its order of that day is confirmed.
    OrderWindow {
        retailer_id: i64,
        order_date: NaiveDate,
        /// China time, without an offset: `YYYY-MM-DDTHH:MM:SS`.
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-01T17:00:00"))]
        cutoff: chrono::NaiveDateTime,
        confirmed: bool,
    },
}

/// What is due for the viewer (`role`, user `viewer`) on `today`, from
/// the sheets of the open cycles the viewer may see, in the order given:
///
/// - a customer manager, for each of their own sheets not yet submitted:
///   returned (with the comment); late (past the submission deadline, or
///   the date entry was reopened until); else reopened (until when); else
///   due within `due_soon_days` days;
/// - a reviewer (market manager, county reviewer, marketing center): the
///   sheets waiting at their level, and how many are past the review
///   deadline;
/// - the marketing center, per cycle: the managers who have not opened
///   their sheet, and the managers who are late.
pub fn reminders(
    role: Role,
    viewer: i64,
    sheets: &[SheetFact],
    today: NaiveDate,
    due_soon_days: i64,
) -> Vec<Reminder> {
    let mut out = Vec::new();
    if role == Role::CustomerManager {
        for s in sheets.iter().filter(|s| s.manager_id == viewer) {
            out.extend(own_sheet(s, today, due_soon_days));
        }
    }
    if matches!(
        role,
        Role::MarketManager | Role::CountyManager | Role::MarketingCenter
    ) {
        let waiting: Vec<&SheetFact> = sheets.iter().filter(|s| s.awaits_viewer).collect();
        if !waiting.is_empty() {
            out.push(Reminder::ToReview {
                waiting: waiting.len() as i64,
                overdue: waiting.iter().filter(|s| today > s.review_deadline).count() as i64,
            });
        }
    }
    if role == Role::MarketingCenter {
        let mut cycles: Vec<(i64, YearMonth)> = Vec::new();
        for s in sheets {
            if !cycles.iter().any(|c| c.0 == s.cycle_id) {
                cycles.push((s.cycle_id, s.month));
            }
        }
        for (cycle_id, month) in cycles {
            let of_cycle = || sheets.iter().filter(move |s| s.cycle_id == cycle_id);
            let not_started: Vec<ManagerRef> = of_cycle()
                .filter(|s| s.status == SheetStatus::NotStarted)
                .map(SheetFact::manager)
                .collect();
            if !not_started.is_empty() {
                out.push(Reminder::NotStarted {
                    cycle_id,
                    month,
                    managers: not_started,
                });
            }
            let late: Vec<ManagerRef> = of_cycle()
                .filter(|s| s.status.editable() && today > s.entry_deadline())
                .map(SheetFact::manager)
                .collect();
            if !late.is_empty() {
                out.push(Reminder::LateManagers {
                    cycle_id,
                    month,
                    managers: late,
                });
            }
        }
    }
    out
}

/// A customer manager's reminders about one of their sheets.
fn own_sheet(s: &SheetFact, today: NaiveDate, due_soon_days: i64) -> Vec<Reminder> {
    let mut out = Vec::new();
    if !s.status.editable() {
        return out;
    }
    let (cycle_id, month, filled, cells) = (s.cycle_id, s.month, s.filled, s.cells);
    if s.status == SheetStatus::Returned {
        out.push(Reminder::Returned {
            cycle_id,
            month,
            comment: s.returned_comment.clone(),
            by: s.returned_by.clone(),
        });
    }
    let deadline = s.entry_deadline();
    let reopened = s
        .reopened_until
        .filter(|&until| until > s.submit_deadline && until >= today);
    if today > deadline {
        out.push(Reminder::Late {
            cycle_id,
            month,
            deadline,
            filled,
            cells,
        });
    } else if let Some(until) = reopened {
        out.push(Reminder::Reopened {
            cycle_id,
            month,
            until,
            filled,
            cells,
        });
    } else {
        let days_left = (deadline - today).num_days();
        if days_left <= due_soon_days {
            out.push(Reminder::DueSoon {
                cycle_id,
                month,
                deadline,
                days_left,
                filled,
                cells,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_default()
    }

    fn month() -> YearMonth {
        YearMonth::new(2027, 1).unwrap_or_else(|| YearMonth::of_date(day(1)))
    }

    /// A sheet of manager 7 in cycle 1, due on the 20th, review by the 25th.
    fn sheet(status: SheetStatus) -> SheetFact {
        SheetFact {
            cycle_id: 1,
            month: month(),
            manager_id: 7,
            manager_name: "张敏".into(),
            unit_name: "城关市场部".into(),
            status,
            submit_deadline: day(20),
            review_deadline: day(25),
            reopened_until: None,
            filled: 40,
            cells: 120,
            returned_comment: None,
            returned_by: None,
            awaits_viewer: false,
        }
    }

    fn kinds(reminders: &[Reminder]) -> Vec<&'static str> {
        reminders
            .iter()
            .map(|r| match r {
                Reminder::DueSoon { .. } => "due_soon",
                Reminder::Returned { .. } => "returned",
                Reminder::Reopened { .. } => "reopened",
                Reminder::Late { .. } => "late",
                Reminder::ToReview { .. } => "to_review",
                Reminder::NotStarted { .. } => "not_started",
                Reminder::LateManagers { .. } => "late_managers",
                Reminder::OrderWindow { .. } => "order_window",
            })
            .collect()
    }

    fn for_manager(sheets: &[SheetFact], today: NaiveDate) -> Vec<Reminder> {
        reminders(Role::CustomerManager, 7, sheets, today, DUE_SOON_DAYS)
    }

    #[test]
    fn a_manager_is_reminded_from_three_days_before_the_deadline() {
        let draft = [sheet(SheetStatus::Draft)];
        let cases = [
            (16, vec![], "four days before: nothing yet"),
            (17, vec!["due_soon"], "three days before"),
            (20, vec!["due_soon"], "on the day"),
            (21, vec!["late"], "the day after"),
        ];
        for (d, expected, why) in cases {
            assert_eq!(kinds(&for_manager(&draft, day(d))), expected, "{why}");
        }
        assert_eq!(
            for_manager(&draft, day(18)),
            vec![Reminder::DueSoon {
                cycle_id: 1,
                month: month(),
                deadline: day(20),
                days_left: 2,
                filled: 40,
                cells: 120,
            }]
        );
        let not_started = [sheet(SheetStatus::NotStarted)];
        assert_eq!(kinds(&for_manager(&not_started, day(19))), ["due_soon"]);
    }

    #[test]
    fn the_window_is_a_setting() {
        let draft = [sheet(SheetStatus::Draft)];
        assert!(reminders(Role::CustomerManager, 7, &draft, day(18), 1).is_empty());
        assert_eq!(
            kinds(&reminders(Role::CustomerManager, 7, &draft, day(13), 7)),
            ["due_soon"]
        );
    }

    #[test]
    fn a_submitted_or_approved_sheet_or_another_managers_reminds_nobody() {
        for status in [SheetStatus::Submitted, SheetStatus::Approved] {
            assert!(
                for_manager(&[sheet(status)], day(21)).is_empty(),
                "{status:?}"
            );
        }
        let other = SheetFact {
            manager_id: 8,
            ..sheet(SheetStatus::Draft)
        };
        assert!(for_manager(&[other], day(19)).is_empty());
    }

    #[test]
    fn a_returned_sheet_carries_the_comment_and_its_deadline() {
        let returned = SheetFact {
            returned_comment: Some("卷烟A偏高，请核实".into()),
            returned_by: Some("李强".into()),
            ..sheet(SheetStatus::Returned)
        };
        let early = for_manager(std::slice::from_ref(&returned), day(10));
        assert_eq!(
            early,
            vec![Reminder::Returned {
                cycle_id: 1,
                month: month(),
                comment: Some("卷烟A偏高，请核实".into()),
                by: Some("李强".into()),
            }]
        );
        assert_eq!(
            kinds(&for_manager(std::slice::from_ref(&returned), day(19))),
            ["returned", "due_soon"]
        );
        assert_eq!(
            kinds(&for_manager(&[returned], day(22))),
            ["returned", "late"]
        );
    }

    #[test]
    fn a_reopened_sheet_says_until_when_and_is_late_after_it() {
        let reopened = SheetFact {
            reopened_until: Some(day(23)),
            ..sheet(SheetStatus::Draft)
        };
        let on_22 = for_manager(std::slice::from_ref(&reopened), day(22));
        assert_eq!(
            on_22,
            vec![Reminder::Reopened {
                cycle_id: 1,
                month: month(),
                until: day(23),
                filled: 40,
                cells: 120,
            }]
        );
        assert_eq!(
            for_manager(std::slice::from_ref(&reopened), day(24)),
            vec![Reminder::Late {
                cycle_id: 1,
                month: month(),
                deadline: day(23),
                filled: 40,
                cells: 120,
            }],
            "late once the reopened date has passed"
        );
        // Reopened to a date before the deadline changes nothing.
        let early = SheetFact {
            reopened_until: Some(day(15)),
            ..sheet(SheetStatus::Draft)
        };
        assert_eq!(kinds(&for_manager(&[early], day(18))), ["due_soon"]);
    }

    #[test]
    fn reviewers_count_what_waits_at_their_level_and_what_is_overdue() {
        let waiting = SheetFact {
            awaits_viewer: true,
            ..sheet(SheetStatus::Submitted)
        };
        let elsewhere = sheet(SheetStatus::Submitted);
        let older = SheetFact {
            review_deadline: day(5),
            ..waiting.clone()
        };
        let sheets = [waiting, elsewhere, older];
        for role in [Role::MarketManager, Role::CountyManager] {
            assert_eq!(
                reminders(role, 99, &sheets, day(10), DUE_SOON_DAYS),
                vec![Reminder::ToReview {
                    waiting: 2,
                    overdue: 1
                }],
                "{role:?}"
            );
        }
        assert!(
            reminders(Role::MarketManager, 99, &sheets[1..2], day(10), 3).is_empty(),
            "nothing waits: no reminder"
        );
        assert!(reminders(Role::Admin, 99, &sheets, day(10), 3).is_empty());
        assert!(reminders(Role::Retailer, 99, &sheets, day(10), 3).is_empty());
    }

    #[test]
    fn the_center_sees_who_has_not_started_and_who_is_late_per_cycle() {
        let manager = |id: i64, name: &str, status: SheetStatus| SheetFact {
            manager_id: id,
            manager_name: name.into(),
            ..sheet(status)
        };
        let next = |s: SheetFact| SheetFact {
            cycle_id: 2,
            month: month().plus(1),
            submit_deadline: day(31),
            review_deadline: day(31),
            ..s
        };
        let sheets = [
            manager(1, "甲", SheetStatus::NotStarted),
            manager(2, "乙", SheetStatus::Draft),
            manager(3, "丙", SheetStatus::Submitted),
            next(manager(1, "甲", SheetStatus::NotStarted)),
        ];
        let on_21 = reminders(Role::MarketingCenter, 50, &sheets, day(21), DUE_SOON_DAYS);
        assert_eq!(
            kinds(&on_21),
            ["not_started", "late_managers", "not_started"]
        );
        let Reminder::NotStarted { managers, .. } = &on_21[0] else {
            panic!("not started first: {on_21:?}");
        };
        assert_eq!(
            managers,
            &[ManagerRef {
                manager_id: 1,
                name: "甲".into(),
                unit_name: "城关市场部".into()
            }]
        );
        let Reminder::LateManagers { managers, .. } = &on_21[1] else {
            panic!("then the late: {on_21:?}");
        };
        let late: Vec<&str> = managers.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(late, ["甲", "乙"], "not submitted after the deadline");
        assert_eq!(
            kinds(&reminders(Role::MarketingCenter, 50, &sheets, day(19), 3)),
            ["not_started", "not_started"],
            "before the deadline nobody is late"
        );
        assert!(
            reminders(Role::MarketManager, 50, &sheets, day(21), 3).is_empty(),
            "only the center follows every manager"
        );
    }
}
