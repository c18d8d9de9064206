//! Offline drafts: unsaved changes kept in the browser's local storage
//! until the server has them, so a reload or a dropped connection loses
//! nothing. A draft made on a revision the server has since moved past is
//! restored as a conflict, never written over the newer data.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use domain::Lang;
use gloo_storage::{LocalStorage, Storage};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::grid::Grid;
use super::save::SaveState;

/// A change kept in local storage until the server has it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DraftCell {
    retailer_id: i64,
    spec_id: i64,
    value: Option<i64>,
    reason: Option<String>,
    /// The server revision the change was made on.
    base: i64,
}

fn draft_key(cycle: i64, manager: i64) -> String {
    format!("forecast-draft:{cycle}:{manager}")
}

impl Grid {
    pub(super) fn key(&self) -> String {
        self.sheet
            .with_value(|s| draft_key(s.cycle.id, s.manager_id))
    }

    /// Writes the unsaved changes to local storage.
    pub(super) fn persist_draft(&self) {
        let dirty = self.dirty.get_untracked();
        if dirty.is_empty() {
            LocalStorage::delete(self.key());
            return;
        }
        let cells: Vec<DraftCell> = self.sheet.with_value(|s| {
            let revisions = self.revisions.get_value();
            self.values.with_untracked(|values| {
                self.reasons.with_untracked(|reasons| {
                    dirty
                        .iter()
                        .map(|&i| DraftCell {
                            retailer_id: s.rows[i / self.cols].retailer_id,
                            spec_id: s.specs[i % self.cols].spec_id,
                            value: values[i],
                            reason: reasons[i].clone(),
                            base: revisions[i],
                        })
                        .collect()
                })
            })
        });
        let _ = LocalStorage::set(self.key(), cells);
    }

    /// Takes back a draft left in local storage: changes made on the
    /// revision the server still has are re-applied; others are conflicts.
    pub(super) fn restore_draft(&self) {
        let Ok(cells) = LocalStorage::get::<Vec<DraftCell>>(self.key()) else {
            return;
        };
        let (rows, specs): (HashMap<i64, usize>, HashMap<i64, usize>) =
            self.sheet.with_value(|s| {
                (
                    s.rows
                        .iter()
                        .enumerate()
                        .map(|(i, r)| (r.retailer_id, i))
                        .collect(),
                    s.specs
                        .iter()
                        .enumerate()
                        .map(|(i, r)| (r.spec_id, i))
                        .collect(),
                )
            });
        let revisions = self.revisions.get_value();
        let (server_values, server_reasons) =
            (self.values.get_untracked(), self.reasons.get_untracked());
        let mut restored = 0;
        let mut conflicts = BTreeMap::new();
        let mut dirty = BTreeSet::new();
        self.values.update(|values| {
            self.reasons.update(|reasons| {
                for cell in cells {
                    let (Some(&r), Some(&c)) =
                        (rows.get(&cell.retailer_id), specs.get(&cell.spec_id))
                    else {
                        continue;
                    };
                    let i = r * self.cols + c;
                    if values[i] == cell.value && reasons[i] == cell.reason {
                        continue;
                    }
                    if revisions[i] != cell.base {
                        conflicts.insert(
                            i,
                            (server_values[i], server_reasons[i].clone(), revisions[i]),
                        );
                    }
                    values[i] = cell.value;
                    reasons[i] = cell.reason;
                    dirty.insert(i);
                    restored += 1;
                }
            });
        });
        if restored > 0 {
            self.note.set(Some(match self.lang.get_untracked() {
                Lang::Zh => format!("已恢复 {restored} 格未保存的修改"),
                Lang::En => format!("Restored {restored} unsaved changes"),
            }));
        }
        let n = conflicts.len();
        self.conflicts.set(conflicts);
        self.dirty.set(dirty);
        if n > 0 {
            self.save_state.set(SaveState::Conflict(n));
        }
    }
}
