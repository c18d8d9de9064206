//! The grid's model: the sheet as loaded, the values and reasons being
//! entered, and the marks on cells (invalid input, unsaved changes,
//! conflicts, problems that block submission). The rules that judge the
//! cells are the domain's (`domain::forecast`), the same the server applies.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use domain::forecast::review::submit_reason;
use domain::forecast::view::{SheetCorrection, SheetStatus, SheetView};
use domain::forecast::{check_for_submit, deviates, has_reason, parse_cell};
use domain::{ErrorBody, Lang};
use leptos::prelude::*;

use super::save::SaveState;
use crate::state;

/// A cell changed on the server meanwhile: its value, reason and revision there.
pub(super) type ServerCell = (Option<i64>, Option<String>, i64);

/// A sheet's corrected lines keyed by cell index.
fn corrections_by_cell(view: &SheetView) -> HashMap<usize, SheetCorrection> {
    let cells = view.cell_index();
    view.corrections
        .iter()
        .filter_map(|c| Some((cells.get(c.retailer_id, c.spec_id)?, c.clone())))
        .collect()
}

/// The grid's state; every field is a signal or a stored value, so it is Copy.
#[derive(Clone, Copy)]
pub(super) struct Grid {
    pub(super) lang: RwSignal<Lang>,
    /// Taken from context when the grid is made: saves run later, outside it.
    pub(super) session: state::SessionState,
    pub(super) sheet: StoredValue<SheetView>,
    pub(super) cols: usize,
    pub(super) values: RwSignal<Vec<Option<i64>>>,
    pub(super) reasons: RwSignal<Vec<Option<String>>>,
    /// Cells holding text that is not a valid quantity: (text, message).
    pub(super) bad: RwSignal<HashMap<usize, (String, String)>>,
    pub(super) revisions: StoredValue<Vec<i64>>,
    pub(super) dirty: RwSignal<BTreeSet<usize>>,
    /// Cells changed on the server meanwhile: (server value, reason, revision).
    pub(super) conflicts: RwSignal<BTreeMap<usize, ServerCell>>,
    /// Why a cell blocks submission.
    pub(super) problems: RwSignal<HashMap<usize, String>>,
    pub(super) save_state: RwSignal<SaveState>,
    pub(super) saving: StoredValue<bool>,
    pub(super) timer: StoredValue<Option<TimeoutHandle>>,
    pub(super) editable: RwSignal<bool>,
    pub(super) status: RwSignal<SheetStatus>,
    pub(super) error: RwSignal<Option<ErrorBody>>,
    pub(super) note: RwSignal<Option<String>>,
    /// Lines a reviewer corrected, by cell.
    pub(super) corrected: StoredValue<HashMap<usize, SheetCorrection>>,
}

impl Grid {
    pub(super) fn new(view: SheetView, lang: RwSignal<Lang>, session: state::SessionState) -> Grid {
        let cols = view.specs.len();
        Grid {
            lang,
            session,
            cols,
            values: RwSignal::new(view.value.clone()),
            reasons: RwSignal::new(view.reason.clone()),
            bad: RwSignal::new(HashMap::new()),
            revisions: StoredValue::new(view.revision.clone()),
            dirty: RwSignal::new(BTreeSet::new()),
            conflicts: RwSignal::new(BTreeMap::new()),
            problems: RwSignal::new(HashMap::new()),
            save_state: RwSignal::new(SaveState::Saved),
            saving: StoredValue::new(false),
            timer: StoredValue::new(None),
            editable: RwSignal::new(view.editable),
            status: RwSignal::new(view.status),
            error: RwSignal::new(None),
            note: RwSignal::new(None),
            corrected: StoredValue::new(corrections_by_cell(&view)),
            sheet: StoredValue::new(view),
        }
    }

    pub(super) fn cycle_id(&self) -> i64 {
        self.sheet.with_value(|s| s.cycle.id)
    }

    /// Applies typed or pasted texts; valid ones become values (and are
    /// saved), invalid ones are kept as typed and marked.
    pub(super) fn apply(&self, changes: Vec<(usize, String)>) {
        if !self.editable.get_untracked() || changes.is_empty() {
            return;
        }
        let lang = self.lang.get_untracked();
        let bounds = self.sheet.with_value(|s| s.bound.clone());
        let mut changed = Vec::new();
        let mut invalid = Vec::new();
        let mut valid = Vec::new();
        self.values.update(|values| {
            for (i, text) in changes {
                match parse_cell(&text, bounds[i]) {
                    Ok(v) => {
                        valid.push(i);
                        if values[i] != v {
                            values[i] = v;
                            changed.push(i);
                        }
                    }
                    Err(e) => invalid.push((i, text, e.message(lang))),
                }
            }
        });
        if !valid.is_empty() || !invalid.is_empty() {
            self.bad.update(|bad| {
                for i in &valid {
                    bad.remove(i);
                }
                for (i, text, message) in invalid {
                    bad.insert(i, (text, message));
                }
            });
        }
        if !changed.is_empty() {
            self.problems.update(|p| {
                for i in &changed {
                    p.remove(i);
                }
            });
            self.dirty.update(|d| d.extend(changed));
        }
    }

    pub(super) fn set_reason(&self, i: usize, reason: String) {
        if !self.editable.get_untracked() {
            return;
        }
        self.reasons
            .update(|r| r[i] = (!reason.trim().is_empty()).then_some(reason));
        self.problems.update(|p| {
            p.remove(&i);
        });
        self.dirty.update(|d| {
            d.insert(i);
        });
    }

    /// The cells far from the baseline that still lack a reason (their own,
    /// or a reviewer's correction still in effect), in sheet order.
    pub(super) fn needing_reason(&self) -> Vec<usize> {
        let rules = self.sheet.with_value(|s| s.rules);
        self.sheet.with_value(|s| {
            self.values.with(|values| {
                self.reasons.with(|reasons| {
                    values
                        .iter()
                        .enumerate()
                        .filter_map(|(i, v)| Some((i, (*v)?)))
                        .filter(|&(i, v)| {
                            let correction = self.corrected.with_value(|k| {
                                k.get(&i).filter(|c| c.value == v).map(|c| c.reason.clone())
                            });
                            deviates(v, s.baseline[i], &rules)
                                && !has_reason(submit_reason(
                                    reasons[i].as_deref(),
                                    correction.as_deref(),
                                ))
                        })
                        .map(|(i, _)| i)
                        .collect()
                })
            })
        })
    }

    /// Checks every cell as the server will at submission.
    pub(super) fn submit_problems(&self) -> HashMap<usize, String> {
        let lang = self.lang.get_untracked();
        let mut problems = HashMap::new();
        self.sheet.with_value(|s| {
            self.values.with_untracked(|values| {
                self.reasons.with_untracked(|reasons| {
                    for i in 0..values.len() {
                        // A correction still in effect brings its reason.
                        let correction = self.corrected.with_value(|k| {
                            k.get(&i)
                                .filter(|c| values[i] == Some(c.value))
                                .map(|c| c.reason.clone())
                        });
                        if let Err(e) = check_for_submit(
                            values[i],
                            submit_reason(reasons[i].as_deref(), correction.as_deref()),
                            s.baseline[i],
                            s.bound[i],
                            &s.rules,
                        ) {
                            problems.insert(i, e.message(lang));
                        }
                    }
                })
            })
        });
        self.bad.with_untracked(|bad| {
            for (i, (_, m)) in bad {
                problems.insert(*i, m.clone());
            }
        });
        problems
    }
}
