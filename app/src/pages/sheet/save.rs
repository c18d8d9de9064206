//! Saving: changes go to the server in one batch shortly after typing
//! stops, each naming the revision it was based on; a 409 turns the cells
//! that moved on the server into conflicts for the manager to resolve.
//! Also the save status shown in the toolbar.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use domain::forecast::view::{CellWrite, SaveCellsRequest};
use domain::{ErrorCode, Lang};
use leptos::prelude::*;

use super::grid::{Grid, ServerCell};
use crate::api;

const SAVE_DELAY: Duration = Duration::from_millis(800);
const RETRY_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub(super) enum SaveState {
    Saved,
    Pending,
    Saving,
    Offline,
    Conflict(usize),
    Failed(String),
}

/// Autosave and the local draft follow every change; a save that could not
/// reach the server is retried when the browser is back online, and every
/// `RETRY_EVERY` while changes wait.
pub(super) fn autosave(grid: Grid) {
    Effect::new(move |_| {
        let dirty = grid.dirty.with(|d| !d.is_empty());
        grid.values.track();
        grid.reasons.track();
        grid.persist_draft();
        if dirty
            && grid.editable.get_untracked()
            && grid.conflicts.with_untracked(BTreeMap::is_empty)
        {
            if grid.save_state.get_untracked() != SaveState::Offline {
                grid.save_state.set(SaveState::Pending);
            }
            grid.schedule_save();
        }
    });
    let retry = move || {
        if grid.dirty.with_untracked(|d| !d.is_empty()) && grid.editable.get_untracked() {
            // A background save, not an action: it is started by timers and
            // browser events, and its outcome lands in the grid's save state.
            leptos::task::spawn_local(async move {
                grid.flush().await;
            });
        }
    };
    let online = window_event_listener_untyped("online", move |_| retry());
    let interval = set_interval_with_handle(
        move || {
            if matches!(
                grid.save_state.get_untracked(),
                SaveState::Offline | SaveState::Pending
            ) {
                retry();
            }
        },
        RETRY_EVERY,
    )
    .ok();
    on_cleanup(move || {
        online.remove();
        if let Some(i) = interval {
            i.clear();
        }
    });
}

impl Grid {
    pub(super) fn schedule_save(&self) {
        if let Some(handle) = self.timer.get_value() {
            handle.clear();
        }
        let grid = *self;
        let handle = set_timeout_with_handle(
            move || {
                // The debounced save queue: it outlives the keystroke that
                // scheduled it and reports through `save_state`, so a plain
                // task rather than an action.
                leptos::task::spawn_local(async move {
                    grid.flush().await;
                });
            },
            SAVE_DELAY,
        )
        .ok();
        self.timer.set_value(handle);
    }

    /// Sends every unsaved change in one request. True when nothing is left
    /// unsaved.
    pub(super) async fn flush(self) -> bool {
        if self.saving.get_value() || !self.conflicts.with_untracked(BTreeMap::is_empty) {
            return false;
        }
        let dirty: Vec<usize> = self.dirty.with_untracked(|d| {
            d.iter()
                .copied()
                .filter(|i| !self.bad.with_untracked(|b| b.contains_key(i)))
                .collect()
        });
        let lang = self.lang.get_untracked();
        if dirty.is_empty() {
            // Only invalid cells are left: they wait for a correction (the
            // status names them).
            self.save_state.set(SaveState::Saved);
            return self.dirty.with_untracked(BTreeSet::is_empty);
        }
        let snapshot: Vec<(usize, Option<i64>, Option<String>)> = self.values.with_untracked(|v| {
            self.reasons
                .with_untracked(|r| dirty.iter().map(|&i| (i, v[i], r[i].clone())).collect())
        });
        let cells: Vec<CellWrite> = self.sheet.with_value(|s| {
            let revisions = self.revisions.get_value();
            snapshot
                .iter()
                .map(|(i, value, reason)| CellWrite {
                    retailer_id: s.rows[i / self.cols].retailer_id,
                    spec_id: s.specs[i % self.cols].spec_id,
                    value: *value,
                    reason: reason.clone(),
                    base_revision: revisions[*i],
                })
                .collect()
        });
        self.saving.set_value(true);
        self.save_state.set(SaveState::Saving);
        let csrf = self.session.csrf();
        let result =
            api::save_cells(self.cycle_id(), &SaveCellsRequest { cells }, &csrf, lang).await;
        self.saving.set_value(false);
        match result {
            Ok(saved) => {
                self.revisions.update_value(|revs| {
                    for ((i, _, _), rev) in snapshot.iter().zip(&saved.revisions) {
                        revs[*i] = *rev;
                    }
                });
                let (values, reasons) = (self.values.get_untracked(), self.reasons.get_untracked());
                self.dirty.update(|d| {
                    for (i, value, reason) in &snapshot {
                        if values[*i] == *value && reasons[*i] == *reason {
                            d.remove(i);
                        }
                    }
                });
                self.persist_draft();
                let left = self.dirty.with_untracked(|d| !d.is_empty());
                self.save_state.set(if left {
                    SaveState::Pending
                } else {
                    SaveState::Saved
                });
                if left {
                    self.schedule_save();
                }
                !left
            }
            Err(e)
                if e.code == ErrorCode::Conflict
                    && e.fields.keys().any(|k| k.starts_with("cells.")) =>
            {
                self.load_conflicts(lang).await;
                false
            }
            Err(e) if e.code == ErrorCode::Unavailable => {
                self.save_state.set(SaveState::Offline);
                false
            }
            Err(e) => {
                if e.code == ErrorCode::Conflict {
                    // Submitted, closed or past the deadline meanwhile.
                    self.editable.set(false);
                }
                let problems: HashMap<usize, String> = e
                    .fields
                    .iter()
                    .filter_map(|(k, m)| {
                        let n: usize = k.strip_prefix("cells.")?.split('.').next()?.parse().ok()?;
                        Some((snapshot.get(n)?.0, m.first()?.clone()))
                    })
                    .collect();
                self.problems.update(|p| p.extend(problems));
                self.save_state.set(SaveState::Failed(e.message.clone()));
                self.error.set(Some(e));
                false
            }
        }
    }

    /// What the status says while cells hold invalid input (typed or
    /// pasted): they were not saved, and which they are. `None` when every
    /// cell is valid.
    fn unsaved_bad(&self, lang: Lang) -> Option<String> {
        const NAMED: usize = 3;
        let mut cells: Vec<(usize, String)> = self
            .bad
            .with(|b| b.iter().map(|(&i, (text, _))| (i, text.clone())).collect());
        if cells.is_empty() {
            return None;
        }
        cells.sort_unstable_by_key(|(i, _)| *i);
        let n = cells.len();
        let named: Vec<String> = self.sheet.with_value(|s| {
            cells
                .iter()
                .take(NAMED)
                .map(|(i, text)| {
                    let (r, c) = (i / self.cols, i % self.cols);
                    format!(
                        "{} · {}「{}」",
                        s.rows[r].name,
                        s.specs[c].name,
                        text.trim()
                    )
                })
                .collect()
        });
        let more = n > NAMED;
        Some(match lang {
            Lang::Zh => format!(
                "{n} 格输入有误，未保存：{}{}",
                named.join("、"),
                if more { " 等" } else { "" }
            ),
            Lang::En => format!(
                "{n} cells not saved (invalid input): {}{}",
                named.join("; "),
                if more { " …" } else { "" }
            ),
        })
    }

    /// After a 409: reads the server's sheet and marks the unsaved cells
    /// whose revision moved on.
    async fn load_conflicts(self, lang: Lang) {
        let Ok(fresh) = api::sheet(self.cycle_id(), None, lang).await else {
            self.save_state.set(SaveState::Offline);
            return;
        };
        let revisions = self.revisions.get_value();
        let conflicts: BTreeMap<usize, ServerCell> = self
            .dirty
            .get_untracked()
            .into_iter()
            .filter(|&i| fresh.revision.get(i).is_some_and(|&r| r != revisions[i]))
            .map(|i| {
                (
                    i,
                    (fresh.value[i], fresh.reason[i].clone(), fresh.revision[i]),
                )
            })
            .collect();
        let n = conflicts.len();
        self.conflicts.set(conflicts);
        self.save_state.set(SaveState::Conflict(n));
    }

    /// Resolves conflicts: keep the manager's values (written over the
    /// server's) or take the server's.
    pub(super) fn resolve(&self, keep_mine: bool) {
        let conflicts = self.conflicts.get_untracked();
        self.revisions.update_value(|revs| {
            for (&i, (_, _, rev)) in &conflicts {
                revs[i] = *rev;
            }
        });
        if !keep_mine {
            self.values.update(|v| {
                for (&i, (value, _, _)) in &conflicts {
                    v[i] = *value;
                }
            });
            self.reasons.update(|r| {
                for (&i, (_, reason, _)) in &conflicts {
                    r[i] = reason.clone();
                }
            });
            self.dirty.update(|d| {
                for i in conflicts.keys() {
                    d.remove(i);
                }
            });
        }
        self.conflicts.set(BTreeMap::new());
        self.save_state.set(SaveState::Pending);
        self.persist_draft();
        self.schedule_save();
    }

    /// The save status shown in the toolbar and the conflict bar.
    pub(super) fn status_text(self) -> String {
        let (grid, lang) = (self, self.lang);
        let lang = lang.get();
        match grid.save_state.get() {
            SaveState::Saved => grid
                .unsaved_bad(lang)
                .unwrap_or_else(|| lang.pick("已保存", "Saved").to_string()),
            SaveState::Pending => lang.pick("有修改待保存…", "Changes waiting…").to_string(),
            SaveState::Saving => lang.pick("正在保存…", "Saving…").to_string(),
            SaveState::Offline => format!(
                "{} {}",
                grid.dirty.with(BTreeSet::len),
                lang.pick(
                    "格已存在本机，连网后自动上传",
                    "cells kept on this device; sent when back online"
                )
            ),
            SaveState::Conflict(n) => match lang {
                Lang::Zh => format!("{n} 格与服务器上更新的数据冲突"),
                Lang::En => format!("{n} cells conflict with newer data on the server"),
            },
            SaveState::Failed(m) => m,
        }
    }

    pub(super) fn status_class(self) -> &'static str {
        let grid = self;
        match grid.save_state.get() {
            SaveState::Saved if grid.bad.with(|b| !b.is_empty()) => "save-status warn",
            SaveState::Saved => "save-status ok",
            SaveState::Offline | SaveState::Conflict(_) | SaveState::Failed(_) => {
                "save-status warn"
            }
            _ => "save-status",
        }
    }
}
