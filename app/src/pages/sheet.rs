//! The forecast entry grid (需求预测录入): a customer manager's retailers ×
//! the cycle's specs, in cartons.
//!
//! - Only the rows and columns in view are in the page (the sheet can hold
//!   9,000 cells); headers, row labels and totals follow the scroll.
//! - One input sits on the selected cell and takes the keyboard: arrows,
//!   Tab and Enter move, typing replaces, F2 edits, Delete clears, Ctrl+D
//!   fills down, Ctrl+C copies and Ctrl+V pastes a tab-separated block (as
//!   Excel and WPS copy it).
//! - Changes are saved in batches shortly after typing stops, and kept in
//!   local storage until the server has them, so a reload or a dropped
//!   connection loses nothing. Every write names the revision it was based
//!   on; newer data on the server is shown as a conflict for the manager to
//!   decide, never overwritten silently.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use domain::forecast::review::submit_reason;
use domain::forecast::view::{
    CellWrite, LineHistory, SaveCellsRequest, SheetCorrection, SheetStatus, SheetView,
};
use domain::forecast::{check_for_submit, check_reason, deviates, has_reason, parse_cell};
use domain::quantity::CaseSize;
use domain::{ErrorBody, ErrorCode, Lang};
use gloo_storage::{LocalStorage, Storage};
use leptos::ev::{ClipboardEvent, KeyboardEvent, MouseEvent};
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;

use crate::components::confirm::confirm;
use crate::components::error::ErrorNote;
use crate::i18n::tr;
use crate::{api, routes, state};

const ROW_H: f64 = 30.0;
const COL_W: f64 = 76.0;
const HEAD_H: f64 = 46.0;
const FOOT_H: f64 = 40.0;
/// Rows and columns rendered beyond the visible ones.
const OVERSCAN: usize = 3;

/// Widths of the row labels and the row totals: narrower on a phone.
fn edges(viewport_width: f64) -> (f64, f64) {
    if viewport_width < 600.0 {
        (112.0, 72.0)
    } else {
        (190.0, 112.0)
    }
}
const SAVE_DELAY: Duration = Duration::from_millis(800);
const RETRY_EVERY: Duration = Duration::from_secs(10);

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

/// A cell changed on the server meanwhile: its value, reason and revision there.
type ServerCell = (Option<i64>, Option<String>, i64);

#[derive(Debug, Clone, PartialEq)]
enum SaveState {
    Saved,
    Pending,
    Saving,
    Offline,
    Conflict(usize),
    Failed(String),
}

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
struct Grid {
    lang: RwSignal<Lang>,
    /// Taken from context when the grid is made: saves run later, outside it.
    session: state::SessionState,
    sheet: StoredValue<SheetView>,
    cols: usize,
    values: RwSignal<Vec<Option<i64>>>,
    reasons: RwSignal<Vec<Option<String>>>,
    /// Cells holding text that is not a valid quantity: (text, message).
    bad: RwSignal<HashMap<usize, (String, String)>>,
    revisions: StoredValue<Vec<i64>>,
    dirty: RwSignal<BTreeSet<usize>>,
    /// Cells changed on the server meanwhile: (server value, reason, revision).
    conflicts: RwSignal<BTreeMap<usize, ServerCell>>,
    /// Why a cell blocks submission.
    problems: RwSignal<HashMap<usize, String>>,
    save_state: RwSignal<SaveState>,
    saving: StoredValue<bool>,
    timer: StoredValue<Option<TimeoutHandle>>,
    editable: RwSignal<bool>,
    status: RwSignal<SheetStatus>,
    error: RwSignal<Option<ErrorBody>>,
    note: RwSignal<Option<String>>,
    /// Lines a reviewer corrected, by cell.
    corrected: StoredValue<HashMap<usize, SheetCorrection>>,
}

impl Grid {
    fn new(view: SheetView, lang: RwSignal<Lang>, session: state::SessionState) -> Grid {
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

    fn cycle_id(&self) -> i64 {
        self.sheet.with_value(|s| s.cycle.id)
    }

    fn key(&self) -> String {
        self.sheet
            .with_value(|s| draft_key(s.cycle.id, s.manager_id))
    }

    /// Applies typed or pasted texts; valid ones become values (and are
    /// saved), invalid ones are kept as typed and marked.
    fn apply(&self, changes: Vec<(usize, String)>) {
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

    fn set_reason(&self, i: usize, reason: String) {
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

    /// Writes the unsaved changes to local storage.
    fn persist_draft(&self) {
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
    fn restore_draft(&self) {
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

    fn schedule_save(&self) {
        if let Some(handle) = self.timer.get_value() {
            handle.clear();
        }
        let grid = *self;
        let handle = set_timeout_with_handle(
            move || {
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
    async fn flush(self) -> bool {
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
    fn resolve(&self, keep_mine: bool) {
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

    /// The cells far from the baseline that still lack a reason (their own,
    /// or a reviewer's correction still in effect), in sheet order.
    fn needing_reason(&self) -> Vec<usize> {
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
    fn submit_problems(&self) -> HashMap<usize, String> {
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

#[component]
pub fn SheetPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let params = use_params_map();
    let cycle_id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let grid = RwSignal::new(None::<Grid>);
    let error = RwSignal::new(None::<ErrorBody>);
    Effect::new(move |_| {
        let Some(id) = cycle_id() else { return };
        leptos::task::spawn_local(async move {
            match api::sheet(id, None, lang.get_untracked()).await {
                Ok(view) => {
                    let g = Grid::new(view, lang, session);
                    g.restore_draft();
                    grid.set(Some(g));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    view! {
        <div class="sheet-page">
            <p class="crumbs"><A href=routes::FORECAST>{tr("← 需求预测", "← Forecasts")}</A></p>
            <ErrorNote error=error/>
            {move || match grid.get() {
                Some(g) => view! { <SheetEditor grid=g/> }.into_any(),
                None => (error.with(Option::is_none)).then(|| view! { <p class="muted">{tr("正在加载…", "Loading…")}</p> }).into_any(),
            }}
        </div>
    }
}

/// The cells an import refused, as (cell, message), in the workbook's
/// order: row by row, column by column (`E3`, `F3`, `E10`).
fn cell_errors(error: &ErrorBody) -> Vec<(String, String)> {
    let mut cells: Vec<(String, String)> = error
        .fields
        .iter()
        .flat_map(|(cell, messages)| messages.iter().map(move |m| (cell.clone(), m.clone())))
        .collect();
    cells.sort_by_key(|(cell, _)| {
        let digits = cell
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(cell.len());
        let (column, row) = cell.split_at(digits);
        (
            row.parse::<u32>().unwrap_or(0),
            column.len(),
            column.to_string(),
        )
    });
    cells
}

fn cases(cartons: i64) -> String {
    format!("{:.1}", CaseSize::default().cases(cartons))
}

#[component]
fn SheetEditor(grid: Grid) -> impl IntoView {
    let lang = grid.lang;
    let cols = grid.cols;
    let (month, deadline, scope, rules, last_month_of) = grid.sheet.with_value(|s| {
        (
            s.cycle.month,
            s.deadline,
            s.cycle.scope,
            s.rules,
            s.last_month_of,
        )
    });

    // Filters.
    let market = RwSignal::new(String::new());
    let tier = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let (markets, tiers) = grid.sheet.with_value(|s| {
        let mut markets: Vec<String> = s.rows.iter().map(|r| r.market_unit.clone()).collect();
        markets.sort();
        markets.dedup();
        let mut tiers: Vec<(i64, String)> = s
            .rows
            .iter()
            .map(|r| (r.class_rank, r.class_code.clone()))
            .collect();
        tiers.sort();
        tiers.dedup();
        (
            markets,
            tiers.into_iter().map(|(_, c)| c).collect::<Vec<_>>(),
        )
    });
    let rows = Memo::new(move |_| {
        let (m, t, q) = (market.get(), tier.get(), name.get().trim().to_lowercase());
        grid.sheet.with_value(|s| {
            s.rows
                .iter()
                .enumerate()
                .filter(|(_, r)| m.is_empty() || r.market_unit == m)
                .filter(|(_, r)| t.is_empty() || r.class_code == t)
                .filter(|(_, r)| {
                    q.is_empty() || r.name.to_lowercase().contains(&q) || r.licence_no.contains(&q)
                })
                .map(|(i, _)| i)
                .collect::<Vec<usize>>()
        })
    });

    // Selection: (visible row position, column); the anchor starts a range.
    let cursor = RwSignal::new((0usize, 0usize));
    let anchor = RwSignal::new(None::<(usize, usize)>);
    let editing = RwSignal::new(false);
    let edit_text = RwSignal::new(String::new());
    let range = move || {
        let (p, c) = cursor.get();
        let (ap, ac) = anchor.get().unwrap_or((p, c));
        (p.min(ap), c.min(ac), p.max(ap), c.max(ac))
    };
    let selected_index = move || {
        let (p, c) = cursor.get();
        rows.with(|r| r.get(p).map(|&row| row * cols + c))
    };

    // Viewport.
    let viewport = NodeRef::<html::Div>::new();
    let editor = NodeRef::<html::Input>::new();
    let scroll = RwSignal::new((0.0f64, 0.0f64));
    let size = RwSignal::new((900.0f64, 520.0f64));
    let measure = move || {
        if let Some(el) = viewport.get_untracked() {
            scroll.set((f64::from(el.scroll_left()), f64::from(el.scroll_top())));
            size.set((f64::from(el.client_width()), f64::from(el.client_height())));
        }
    };
    request_animation_frame(measure);
    let resize = window_event_listener_untyped("resize", move |_| measure());
    on_cleanup(move || resize.remove());

    let canvas_w = move || {
        let (lw, tw) = edges(size.get().0);
        lw + cols as f64 * COL_W + tw
    };
    let canvas_h = move || HEAD_H + rows.with(Vec::len) as f64 * ROW_H + FOOT_H;
    let window_rows = Memo::new(move |_| {
        let (_, top) = scroll.get();
        let (_, h) = size.get();
        let n = rows.with(Vec::len);
        let first = ((top / ROW_H) as usize).saturating_sub(OVERSCAN);
        let last =
            ((((top + h - HEAD_H - FOOT_H).max(0.0)) / ROW_H).ceil() as usize + OVERSCAN).min(n);
        (first.min(last), last)
    });
    let window_cols = Memo::new(move |_| {
        let (left, _) = scroll.get();
        let (w, _) = size.get();
        let first = ((left / COL_W) as usize).saturating_sub(OVERSCAN);
        let (lw, tw) = edges(w);
        let last = ((((left + w - lw - tw).max(0.0)) / COL_W).ceil() as usize + OVERSCAN).min(cols);
        (first.min(last), last)
    });

    let focus_editor = move || {
        if let Some(input) = editor.get_untracked() {
            let _ = input.focus();
        }
    };
    // Keeps the cursor's cell in view.
    let reveal = move |p: usize, c: usize| {
        let Some(el) = viewport.get_untracked() else {
            return;
        };
        let (w, h) = (f64::from(el.client_width()), f64::from(el.client_height()));
        let (left, top) = (f64::from(el.scroll_left()), f64::from(el.scroll_top()));
        let (x, y) = (c as f64 * COL_W, p as f64 * ROW_H);
        let (lw, tw) = edges(w);
        let view_w = w - lw - tw;
        let view_h = h - HEAD_H - FOOT_H;
        if y < top {
            el.set_scroll_top(y as i32);
        } else if y + ROW_H > top + view_h {
            el.set_scroll_top((y + ROW_H - view_h).ceil() as i32);
        }
        if x < left {
            el.set_scroll_left(x as i32);
        } else if x + COL_W > left + view_w {
            el.set_scroll_left((x + COL_W - view_w).ceil() as i32);
        }
    };
    let move_to = move |p: i64, c: i64, extend: bool| {
        let n = rows.with(Vec::len) as i64;
        if n == 0 {
            return;
        }
        let p = p.clamp(0, n - 1) as usize;
        let c = c.clamp(0, cols as i64 - 1) as usize;
        if extend {
            if anchor.get_untracked().is_none() {
                anchor.set(Some(cursor.get_untracked()));
            }
        } else {
            anchor.set(None);
        }
        cursor.set((p, c));
        reveal(p, c);
    };
    let commit = move || {
        if !editing.get_untracked() {
            return;
        }
        editing.set(false);
        if let Some(i) = selected_index() {
            grid.apply(vec![(i, edit_text.get_untracked())]);
        }
        edit_text.set(String::new());
    };
    // Cells of the selection, or of the whole filtered sheet.
    let target_cells = move |whole_if_single: bool| -> Vec<usize> {
        let (p0, c0, p1, c1) = range();
        let single = p0 == p1 && c0 == c1;
        rows.with(|rows| {
            if single && whole_if_single {
                rows.iter()
                    .flat_map(|&r| (0..cols).map(move |c| r * cols + c))
                    .collect()
            } else {
                (p0..=p1.min(rows.len().saturating_sub(1)))
                    .filter_map(|p| rows.get(p))
                    .flat_map(|&r| (c0..=c1).map(move |c| r * cols + c))
                    .collect()
            }
        })
    };
    let fill_from = move |source: &'static str| {
        let (p0, c0, p1, c1) = range();
        let whole = p0 == p1 && c0 == c1;
        let cells = target_cells(true);
        let values = grid.values.get_untracked();
        let changes: Vec<(usize, String)> = grid.sheet.with_value(|s| {
            let from = if source == "baseline" {
                &s.baseline
            } else {
                &s.last_month
            };
            cells
                .into_iter()
                // The whole sheet: only empty cells; a selection: every cell.
                .filter(|&i| !whole || values[i].is_none())
                .map(|i| (i, from[i].to_string()))
                .collect()
        });
        let n = changes.len();
        grid.apply(changes);
        grid.note.set(Some(match lang.get_untracked() {
            Lang::Zh => format!("已填充 {n} 格"),
            Lang::En => format!("Filled {n} cells"),
        }));
        focus_editor();
    };
    let fill_down = move || {
        let (p0, c0, p1, c1) = range();
        if p0 == p1 {
            return;
        }
        let values = grid.values.get_untracked();
        let changes: Vec<(usize, String)> = rows.with(|rows| {
            (c0..=c1)
                .flat_map(|c| {
                    let top = values[rows[p0] * cols + c];
                    (p0 + 1..=p1).map(move |p| {
                        (
                            rows[p] * cols + c,
                            top.map(|v| v.to_string()).unwrap_or_default(),
                        )
                    })
                })
                .collect()
        });
        grid.apply(changes);
    };
    let clear_range = move || {
        let changes = target_cells(false)
            .into_iter()
            .map(|i| (i, String::new()))
            .collect();
        grid.apply(changes);
    };

    // Every cell still needing a reason, marked at once; 下一个 / F8 goes
    // from one to the next (in sheet order, from the selected cell).
    let needing_reason = Memo::new(move |_| grid.needing_reason());
    let next_reason = move || {
        let cells = needing_reason.get_untracked();
        if cells.is_empty() {
            return;
        }
        if cells
            .iter()
            .any(|&i| !rows.with_untracked(|rows| rows.contains(&(i / cols))))
        {
            market.set(String::new());
            tier.set(String::new());
            name.set(String::new());
        }
        let here = selected_index().unwrap_or(0);
        let next = cells
            .iter()
            .copied()
            .find(|&i| i > here)
            .unwrap_or(cells[0]);
        if let Some(p) = rows.with_untracked(|rows| rows.iter().position(|&r| r == next / cols)) {
            commit();
            move_to(p as i64, (next % cols) as i64, false);
            focus_editor();
        }
    };

    let on_keydown = move |ev: KeyboardEvent| {
        let key = ev.key();
        let (p, c) = cursor.get_untracked();
        let (p, c) = (p as i64, c as i64);
        let ctrl = ev.ctrl_key() || ev.meta_key();
        let shift = ev.shift_key();
        let is_editing = editing.get_untracked();
        let jump = |d: i64, len: i64| if ctrl { d * len } else { d };
        let n = rows.with_untracked(Vec::len) as i64;
        match key.as_str() {
            "ArrowUp" | "ArrowDown" | "ArrowLeft" | "ArrowRight" => {
                ev.prevent_default();
                commit();
                let (dp, dc) = match key.as_str() {
                    "ArrowUp" => (jump(-1, n), 0),
                    "ArrowDown" => (jump(1, n), 0),
                    "ArrowLeft" => (0, jump(-1, cols as i64)),
                    _ => (0, jump(1, cols as i64)),
                };
                move_to(p + dp, c + dc, shift && !is_editing);
            }
            "Enter" => {
                ev.prevent_default();
                commit();
                move_to(if shift { p - 1 } else { p + 1 }, c, false);
            }
            "Tab" => {
                ev.prevent_default();
                commit();
                move_to(p, if shift { c - 1 } else { c + 1 }, false);
            }
            "Escape" => {
                editing.set(false);
                edit_text.set(String::new());
            }
            "F8" => {
                ev.prevent_default();
                next_reason();
            }
            "F2" if grid.editable.get_untracked() => {
                ev.prevent_default();
                let current = selected_index()
                    .and_then(|i| grid.values.with_untracked(|v| v[i]))
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                edit_text.set(current);
                editing.set(true);
            }
            "Delete" | "Backspace" if !is_editing => {
                ev.prevent_default();
                clear_range();
            }
            "d" | "D" if ctrl => {
                ev.prevent_default();
                fill_down();
            }
            "a" | "A" if ctrl && !is_editing => {
                ev.prevent_default();
                anchor.set(Some((0, 0)));
                cursor.set(((n - 1).max(0) as usize, cols.saturating_sub(1)));
            }
            _ => {
                if !is_editing && !ctrl && key.chars().count() == 1 {
                    if grid.editable.get_untracked() {
                        // Typing replaces: the key's character lands in the
                        // emptied editor.
                        anchor.set(None);
                        edit_text.set(String::new());
                        if let Some(input) = editor.get_untracked() {
                            input.set_value("");
                        }
                        editing.set(true);
                    } else {
                        ev.prevent_default();
                    }
                }
            }
        }
    };
    let on_paste = move |ev: ClipboardEvent| {
        let Some(text) = ev
            .clipboard_data()
            .and_then(|d| d.get_data("text/plain").ok())
        else {
            return;
        };
        if editing.get_untracked() && !text.contains(['\t', '\n']) {
            return;
        }
        ev.prevent_default();
        editing.set(false);
        let block: Vec<Vec<String>> = text
            .trim_end_matches(['\n', '\r'])
            .split('\n')
            .map(|line| {
                line.trim_end_matches('\r')
                    .split('\t')
                    .map(str::to_string)
                    .collect()
            })
            .collect();
        let (p0, c0, _, _) = range();
        let mut changes = Vec::new();
        let mut cut = false;
        let (mut p_end, mut c_end) = (p0, c0);
        rows.with_untracked(|rows| {
            for (dp, line) in block.iter().enumerate() {
                let Some(&row) = rows.get(p0 + dp) else {
                    cut = true;
                    break;
                };
                for (dc, text) in line.iter().enumerate() {
                    if c0 + dc >= cols {
                        cut = true;
                        break;
                    }
                    changes.push((row * cols + c0 + dc, text.clone()));
                    p_end = p_end.max(p0 + dp);
                    c_end = c_end.max(c0 + dc);
                }
            }
        });
        grid.apply(changes);
        anchor.set(Some((p0, c0)));
        cursor.set((p_end, c_end));
        if cut {
            grid.note.set(Some(
                lang.get_untracked()
                    .pick(
                        "粘贴区域超出表格，超出部分未粘贴",
                        "The pasted block ran past the sheet; the rest was left out",
                    )
                    .to_string(),
            ));
        }
    };
    let on_copy = move |ev: ClipboardEvent| {
        if editing.get_untracked() {
            return;
        }
        let (p0, c0, p1, c1) = range();
        let values = grid.values.get_untracked();
        let tsv = rows.with_untracked(|rows| {
            (p0..=p1)
                .filter_map(|p| rows.get(p))
                .map(|&r| {
                    (c0..=c1)
                        .map(|c| {
                            values[r * cols + c]
                                .map(|v| v.to_string())
                                .unwrap_or_default()
                        })
                        .collect::<Vec<_>>()
                        .join("\t")
                })
                .collect::<Vec<_>>()
                .join("\n")
        });
        if let Some(data) = ev.clipboard_data() {
            let _ = data.set_data("text/plain", &tsv);
            ev.prevent_default();
        }
    };
    let on_mousedown = move |ev: MouseEvent| {
        let Some(target) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        let Some(cell) = target.closest("[data-p]").ok().flatten() else {
            return;
        };
        let attr = |name: &str| cell.get_attribute(name).and_then(|v| v.parse::<i64>().ok());
        let (Some(p), Some(c)) = (attr("data-p"), attr("data-c")) else {
            return;
        };
        ev.prevent_default();
        commit();
        move_to(p, c, ev.shift_key());
        focus_editor();
    };

    // Autosave and the local draft follow every change.
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

    // Totals over the filtered rows.
    let col_totals = Memo::new(move |_| {
        rows.with(|rows| {
            grid.values.with(|v| {
                (0..cols)
                    .map(|c| {
                        rows.iter()
                            .map(|&r| v[r * cols + c].unwrap_or(0))
                            .sum::<i64>()
                    })
                    .collect::<Vec<i64>>()
            })
        })
    });
    let grand_total = move || col_totals.with(|t| t.iter().sum::<i64>());
    let filled = move || {
        grid.values
            .with(|v| v.iter().filter(|x| x.is_some()).count())
    };
    let total_cells = grid.sheet.with_value(|s| s.value.len());

    let submitting = RwSignal::new(false);
    let submit = move || {
        commit();
        let problems = grid.submit_problems();
        if !problems.is_empty() {
            let n = problems.len();
            let first = problems.keys().min().copied();
            grid.problems.set(problems);
            grid.error.set(Some(ErrorBody::new(
                ErrorCode::Validation,
                match lang.get_untracked() {
                    Lang::Zh => format!("还有 {n} 格需要填写或说明原因，未提交（红框标出）"),
                    Lang::En => format!(
                        "{n} cells still need a value or a reason (outlined in red); not submitted"
                    ),
                },
            )));
            if let Some(i) = first {
                let r = i / cols;
                if !rows.with_untracked(|rows| rows.contains(&r)) {
                    market.set(String::new());
                    tier.set(String::new());
                    name.set(String::new());
                }
                if let Some(p) = rows.with_untracked(|rows| rows.iter().position(|&x| x == r)) {
                    move_to(p as i64, (i % cols) as i64, false);
                }
            }
            return;
        }
        // After submission the sheet is the reviewers' until it comes back.
        if !confirm(lang.get_untracked().pick(
            "提交后不能再修改，除非上级退回。确定提交吗？",
            "Once submitted, the sheet cannot be changed unless a reviewer returns it. Submit?",
        )) {
            return;
        }
        submitting.set(true);
        grid.error.set(None);
        leptos::task::spawn_local(async move {
            if !grid.flush().await && grid.dirty.with_untracked(|d| !d.is_empty()) {
                submitting.set(false);
                return;
            }
            let csrf = grid.session.csrf();
            match api::submit_sheet(grid.cycle_id(), &csrf, lang.get_untracked()).await {
                Ok(view) => {
                    grid.editable.set(view.editable);
                    grid.status.set(view.status);
                    grid.problems.set(HashMap::new());
                    LocalStorage::delete(grid.key());
                    grid.note.set(Some(
                        lang.get_untracked()
                            .pick("预测表已提交", "The sheet was submitted")
                            .to_string(),
                    ));
                }
                Err(e) => {
                    let problems: HashMap<usize, String> = grid.sheet.with_value(|s| {
                        e.fields
                            .iter()
                            .filter_map(|(k, m)| {
                                let mut parts = k.strip_prefix("cells.")?.split('.');
                                let rid: i64 = parts.next()?.parse().ok()?;
                                let sid: i64 = parts.next()?.parse().ok()?;
                                let r = s.rows.iter().position(|x| x.retailer_id == rid)?;
                                let c = s.specs.iter().position(|x| x.spec_id == sid)?;
                                Some((r * cols + c, m.first()?.clone()))
                            })
                            .collect()
                    });
                    grid.problems.set(problems);
                    grid.error.set(Some(e));
                }
            }
            submitting.set(false);
        });
    };

    let import_input = NodeRef::<html::Input>::new();
    let importing = RwSignal::new(false);
    // The cells a refused file got wrong, as the server named them.
    let import_errors = RwSignal::new(Vec::<(String, String)>::new());
    let on_import = move |_| {
        let Some(input) = import_input.get_untracked() else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        importing.set(true);
        grid.error.set(None);
        import_errors.set(Vec::new());
        leptos::task::spawn_local(async move {
            let lang = lang.get_untracked();
            let bytes = match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buffer) => js_sys::Uint8Array::new(&buffer).to_vec(),
                Err(_) => {
                    importing.set(false);
                    return;
                }
            };
            let csrf = grid.session.csrf();
            match api::import_sheet(grid.cycle_id(), bytes, &csrf, lang).await {
                Ok(report) => match api::sheet(grid.cycle_id(), None, lang).await {
                    Ok(view) => {
                        grid.revisions.set_value(view.revision.clone());
                        grid.values.set(view.value.clone());
                        grid.reasons.set(view.reason.clone());
                        grid.bad.set(HashMap::new());
                        grid.dirty.set(BTreeSet::new());
                        grid.note.set(Some(match lang {
                            Lang::Zh => format!("已导入 {} 户、{} 格", report.rows, report.cells),
                            Lang::En => format!(
                                "Imported {} retailers, {} cells",
                                report.rows, report.cells
                            ),
                        }));
                    }
                    Err(e) => grid.error.set(Some(e)),
                },
                Err(e) => {
                    import_errors.set(cell_errors(&e));
                    grid.error.set(Some(e));
                }
            }
            importing.set(false);
        });
    };

    // The body: the cells in view, the row labels and totals at the left
    // and right edges, the spec headers and column totals at the top and
    // bottom.
    let body = move || {
        let (p0, p1) = window_rows.get();
        let (c0, c1) = window_cols.get();
        let (left, top) = scroll.get();
        let (w, h) = size.get();
        let n_rows = rows.with(Vec::len);
        let (lw, tw) = edges(w);
        let total_x = (left + w - tw).min(lw + cols as f64 * COL_W);
        let foot_y = (top + h - FOOT_H).min(HEAD_H + n_rows as f64 * ROW_H);
        let lang_now = lang.get();
        let needing = needing_reason.get();
        let mut out: Vec<AnyView> = Vec::with_capacity((p1 - p0 + 2) * (c1 - c0 + 3));
        grid.sheet.with_value(|s| {
            rows.with(|rows| {
                grid.values.with(|values| {
                        grid.bad.with(|bad| {
                            grid.problems.with(|problems| {
                                grid.conflicts.with(|conflicts| {
                                    for (p, &r) in rows.iter().enumerate().take(p1).skip(p0) {
                                        let y = HEAD_H + p as f64 * ROW_H;
                                        let mut row_total = 0;
                                        for c in 0..cols {
                                            row_total += values[r * cols + c].unwrap_or(0);
                                        }
                                        for c in c0..c1 {
                                            let i = r * cols + c;
                                            let x = lw + c as f64 * COL_W;
                                            let mut class = String::from("cell");
                                            let text = match (bad.get(&i), values[i]) {
                                                (Some((t, _)), _) => {
                                                    class.push_str(" bad");
                                                    t.clone()
                                                }
                                                (None, Some(v)) => {
                                                    if deviates(v, s.baseline[i], &rules) {
                                                        class.push_str(if needing.binary_search(&i).is_ok() { " needs-reason" } else { " deviates" });
                                                    }
                                                    v.to_string()
                                                }
                                                (None, None) => String::new(),
                                            };
                                            if problems.contains_key(&i) {
                                                class.push_str(" problem");
                                            }
                                            if conflicts.contains_key(&i) {
                                                class.push_str(" conflict");
                                            }
                                            if grid.corrected.with_value(|k| k.get(&i).is_some_and(|c| values[i] == Some(c.value))) {
                                                class.push_str(" corrected");
                                            }
                                            out.push(view! {
                                                <div class=class data-p=p data-c=c data-test=format!("cell-{r}-{c}")
                                                    style=format!("left:{x}px;top:{y}px")>{text}</div>
                                            }.into_any());
                                        }
                                        let row = &s.rows[r];
                                        out.push(view! {
                                            <div class="row-label" style=format!("left:{left}px;top:{y}px;width:{lw}px") title=row.licence_no.clone()>
                                                <span class="row-name">{row.name.clone()}</span>
                                                <span class="row-meta">{format!("{} · {}", row.class_code, row.market_unit)}</span>
                                            </div>
                                        }.into_any());
                                        out.push(view! {
                                            <div class="row-total" data-test=format!("row-total-{r}") style=format!("left:{total_x}px;top:{y}px;width:{tw}px")>
                                                {row_total}<small>{format!(" / {}箱", cases(row_total))}</small>
                                            </div>
                                        }.into_any());
                                    }
                                    for c in c0..c1 {
                                        let x = lw + c as f64 * COL_W;
                                        let spec = &s.specs[c];
                                        out.push(view! {
                                            <div class="col-head" style=format!("left:{x}px;top:{top}px") title=spec.code.clone()>{spec.name.clone()}</div>
                                        }.into_any());
                                        let t = col_totals.with(|t| t[c]);
                                        out.push(view! {
                                            <div class="col-total" data-test=format!("col-total-{c}") style=format!("left:{x}px;top:{foot_y}px")>
                                                {t}<small>{format!("{}箱", cases(t))}</small>
                                            </div>
                                        }.into_any());
                                    }
                                });
                            });
                        });
                });
            });
        });
        let corner = lang_now.pick("零售户 · 档位 · 市场部", "Retailer · class · dept.");
        out.push(view! { <div class="corner" style=format!("left:{left}px;top:{top}px;width:{lw}px")>{corner}</div> }.into_any());
        out.push(view! { <div class="corner total-head" style=format!("left:{total_x}px;top:{top}px;width:{tw}px")>{lang_now.pick("合计(条)", "Total")}</div> }.into_any());
        out.push(view! { <div class="corner foot" style=format!("left:{left}px;top:{foot_y}px;width:{lw}px")>{lang_now.pick("合计(条/箱)", "Total (cartons/cases)")}</div> }.into_any());
        out
    };

    let selection_box = move || {
        let (p0, c0, p1, c1) = range();
        let (lw, _) = edges(size.get().0);
        format!(
            "left:{}px;top:{}px;width:{}px;height:{}px",
            lw + c0 as f64 * COL_W,
            HEAD_H + p0 as f64 * ROW_H,
            (c1 - c0 + 1) as f64 * COL_W,
            (p1 - p0 + 1) as f64 * ROW_H
        )
    };
    let editor_style = move || {
        let (p, c) = cursor.get();
        let (lw, _) = edges(size.get().0);
        format!(
            "left:{}px;top:{}px",
            lw + c as f64 * COL_W,
            HEAD_H + p as f64 * ROW_H
        )
    };

    // What the side panel shows for the selected cell.
    let history = RwSignal::new(None::<LineHistory>);
    let detail = move || {
        let i = selected_index()?;
        let (r, c) = (i / cols, i % cols);
        let lang = lang.get();
        let value = grid.values.with(|v| v[i]);
        // Read without tracking: typing a reason must not rebuild the panel
        // (and take the focus from the reason field).
        let reason = grid
            .reasons
            .with_untracked(|v| v[i].clone())
            .unwrap_or_default();
        let bad = grid.bad.with(|b| b.get(&i).map(|(_, m)| m.clone()));
        let conflict = grid.conflicts.with(|k| k.get(&i).cloned());
        let reason_error = move || {
            grid.reasons
                .with(|r| check_reason(r[i].as_deref()).err())
                .map(|e| view! { <p class="field-error">{e.message(lang)}</p> })
        };
        let problem = move || {
            grid.problems
                .with(|p| p.get(&i).cloned())
                .map(|m| view! { <p class="field-error" data-test="cell-problem">{m}</p> })
        };
        Some(grid.sheet.with_value(|s| {
            let row = &s.rows[r];
            let spec = &s.specs[c];
            let base = s.baseline[i];
            let far = value.is_some_and(|v| deviates(v, base, &rules));
            let turnover = s.turnover[i];
            let editable = grid.editable.get();
            view! {
                <h3 data-test="detail-title">{row.name.clone()}<small>{format!(" {} · {} · {}", row.licence_no, row.class_code, row.market_unit)}</small></h3>
                <p class="detail-spec">{spec.name.clone()}<small>{format!(" {}", spec.code)}</small></p>
                <dl class="helpers">
                    <dt>{format!("{} {}", lang.pick("上月实际", "Last month"), last_month_of)}</dt><dd data-test="helper-last-month">{s.last_month[i]}</dd>
                    <dt>{lang.pick("去年同期", "Same month last year")}</dt><dd data-test="helper-last-year">{s.last_year[i]}</dd>
                    <dt>{lang.pick("系统基线", "System baseline")}</dt><dd data-test="helper-baseline">{base}</dd>
                    <dt>{lang.pick("配货周转数(周)", "Weekly turnover")}</dt><dd data-test="helper-turnover">{match turnover {
                        Some(t) => format!("{t} ≈ {:.0}/{}", t as f64 * 4.3, lang.pick("月", "month")),
                        None => lang.pick("未开通网上配货", "not on online replenishment").to_string(),
                    }}</dd>
                    <dt>{lang.pick("合理上限", "Sanity bound")}</dt><dd data-test="helper-bound">{s.bound[i]}</dd>
                </dl>
                {grid.corrected.with_value(|k| k.get(&i).cloned()).map(|c| {
                    let (retailer, spec, sheet_id) = (c.retailer_id, c.spec_id, s.sheet_id);
                    view! {
                        <p class="correction-note" data-test="helper-correction">{match lang {
                            Lang::Zh => format!("第{}级 {} 修正：{} → {} 条（{}）", c.level, c.actor_name, c.entered.map(|v| v.to_string()).unwrap_or_else(|| "—".into()), c.value, c.reason),
                            Lang::En => format!("Level {} {} corrected {} → {} cartons ({})", c.level, c.actor_name, c.entered.map(|v| v.to_string()).unwrap_or_else(|| "—".into()), c.value, c.reason),
                        }}</p>
                        <button type="button" class="link" data-test="cell-history" on:click=move |_| {
                            leptos::task::spawn_local(async move {
                                if let Ok(h) = api::line_history(sheet_id, retailer, spec, lang).await {
                                    history.set(Some(h));
                                }
                            });
                        }>{lang.pick("查看修改历史", "Line history")}</button>
                    }
                })}
                {bad.map(|m| view! { <p class="field-error" data-test="cell-error">{m}</p> })}
                {conflict.map(|(v, _, _)| view! { <p class="field-error">{format!("{}{}", lang.pick("服务器上的值：", "On the server: "), v.map(|v| v.to_string()).unwrap_or_else(|| "—".into()))}</p> })}
                {far.then(|| view! {
                    <label class="reason">
                        <span>{lang.pick("与系统基线偏差较大，请说明原因", "Far from the baseline: give a reason")}</span>
                        <textarea data-test="reason-input" rows="2" maxlength="100" prop:value=reason.clone() disabled=!editable
                            on:input=move |ev| grid.set_reason(i, event_target_value(&ev))></textarea>
                    </label>
                })}
                {reason_error}
                {problem}
            }
        }))
    };

    let status_text = move || {
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
    };
    let status_class = move || match grid.save_state.get() {
        SaveState::Saved if grid.bad.with(|b| !b.is_empty()) => "save-status warn",
        SaveState::Saved => "save-status ok",
        SaveState::Offline | SaveState::Conflict(_) | SaveState::Failed(_) => "save-status warn",
        _ => "save-status",
    };
    let export_href = api::export_sheet_url(grid.cycle_id(), None);

    view! {
        <header class="sheet-head">
            <h2>{move || match lang.get() {
                Lang::Zh => format!("{}年{}月 需求预测", month.year(), month.month()),
                Lang::En => format!("Demand forecast {month}"),
            }}</h2>
            <span class="chip" data-test="sheet-status">{move || grid.status.get().label(lang.get())}</span>
            <span class="muted">{move || format!("{} {} · {}", lang.get().pick("提交截止", "Due"), deadline, scope.label(lang.get()))}</span>
        </header>
        <div class="sheet-toolbar">
            <select data-test="filter-market" on:change=move |ev| market.set(event_target_value(&ev)) prop:value=move || market.get()>
                <option value="">{tr("全部市场部", "All departments")}</option>
                {markets.into_iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
            </select>
            <select data-test="filter-tier" on:change=move |ev| tier.set(event_target_value(&ev)) prop:value=move || tier.get()>
                <option value="">{tr("全部档位", "All classes")}</option>
                {tiers.into_iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
            </select>
            <input type="search" data-test="filter-name" placeholder=move || lang.get().pick("零售户名称或许可证号", "Retailer or licence")
                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <span class="spacer"></span>
            <span class="totals" data-test="grand-total">{move || format!("{} {} {} / {} {}", lang.get().pick("合计", "Total"), grand_total(), lang.get().pick("条", "cartons"), cases(grand_total()), lang.get().pick("箱", "cases"))}</span>
            <span class="muted" data-test="filled">{move || format!("{}/{}", filled(), total_cells)}</span>
        </div>
        <div class="sheet-toolbar">
            <button type="button" data-test="fill-baseline" disabled=move || !grid.editable.get()
                title=move || lang.get().pick("有选区时填充选区；否则只填充空格", "Fills the selection, or else every empty cell")
                on:click=move |_| fill_from("baseline")>{tr("按系统基线填充", "Fill from baseline")}</button>
            <button type="button" data-test="fill-last-month" disabled=move || !grid.editable.get()
                on:click=move |_| fill_from("last_month")>{tr("按上月实际填充", "Fill from last month")}</button>
            <button type="button" data-test="fill-down" disabled=move || !grid.editable.get()
                on:click=move |_| { fill_down(); focus_editor(); }>{tr("向下填充 Ctrl+D", "Fill down Ctrl+D")}</button>
            <a class="button-link secondary" href=export_href download="">{tr("导出 xlsx", "Export xlsx")}</a>
            <label class="button-link secondary file" class:disabled=move || !grid.editable.get() || importing.get()>
                {move || if importing.get() { tr("正在导入…", "Importing…")() } else { tr("导入 xlsx", "Import xlsx")() }}
                <input type="file" node_ref=import_input data-test="import-file" accept=".xlsx" disabled=move || !grid.editable.get()
                    on:change=on_import/>
            </label>
            <span class="chip reason-count" class:pending=move || needing_reason.with(|n| !n.is_empty()) data-test="needs-reason-count">
                {move || match (lang.get(), needing_reason.with(Vec::len)) {
                    (Lang::Zh, 0) => "没有需说明原因的格".to_string(),
                    (Lang::Zh, n) => format!("{n} 格需说明原因"),
                    (Lang::En, 0) => "No cell needs a reason".to_string(),
                    (Lang::En, n) => format!("{n} cells need a reason"),
                }}
            </span>
            <button type="button" data-test="next-reason" disabled=move || needing_reason.with(Vec::is_empty)
                title=move || lang.get().pick("跳到下一个需说明原因的格（F8）", "Go to the next cell that needs a reason (F8)")
                on:click=move |_| next_reason()>{tr("下一个 F8", "Next F8")}</button>
            <span class="spacer"></span>
            <span class=status_class data-test="save-status" role="status">{status_text}</span>
            <button type="button" class="primary" data-test="submit-sheet" disabled=move || { !grid.editable.get() || submitting.get() }
                on:click=move |_| submit()>{move || if submitting.get() { tr("正在提交…", "Submitting…")() } else { tr("提交", "Submit")() }}</button>
        </div>
        {grid.sheet.with_value(|s| s.returned.clone()).filter(|_| grid.status.get_untracked() == SheetStatus::Returned).map(|a| {
            let corrected = grid.corrected.with_value(HashMap::len);
            view! {
                <div class="return-note" role="alert" data-test="return-comment">
                    <strong>{move || format!("{}（{} · {}）", lang.get().pick("退回意见", "Returned with a comment"), a.actor_name, crate::format::china_time(a.at))}</strong>
                    <q>{a.comment.clone().unwrap_or_default()}</q>
                    {(corrected > 0).then(|| view! { <p data-test="corrected-count">{move || match lang.get() {
                        Lang::Zh => format!("上级修正了 {corrected} 行，已用蓝色标出；点选单元格可看修正原因。修改后请重新提交。"),
                        Lang::En => format!("Reviewers corrected {corrected} lines, marked in blue; select a cell for the reason. Submit again when done."),
                    }}</p> })}
                </div>
            }
        })}
        {move || grid.note.get().map(|n| view! { <p class="note" data-test="sheet-note">{n}</p> })}
        <div data-test="sheet-error"><ErrorNote error=grid.error/></div>
        {move || import_errors.with(|e| !e.is_empty()).then(|| view! {
            <ul class="import-errors" data-test="import-errors">
                {import_errors.get().into_iter().map(|(cell, message)| view! {
                    <li><strong>{cell}</strong>{format!("：{message}")}</li>
                }).collect_view()}
            </ul>
        })}
        {move || grid.save_state.with(|s| matches!(s, SaveState::Conflict(_))).then(|| view! {
            <div class="conflict-bar" role="alert">
                <span>{status_text}</span>
                <button type="button" data-test="keep-mine" on:click=move |_| grid.resolve(true)>{tr("保留我的修改", "Keep mine")}</button>
                <button type="button" data-test="take-server" on:click=move |_| grid.resolve(false)>{tr("使用服务器上的数据", "Use the server's")}</button>
            </div>
        })}
        <p class="keys-help">{tr(
            "方向键/Tab/Enter 移动 · 直接输入即替换 · F2 修改 · Delete 清除 · Shift+方向键 选区 · Ctrl+C/Ctrl+V 复制粘贴 Excel 区块 · Ctrl+D 向下填充",
            "Arrows/Tab/Enter move · type to replace · F2 edits · Delete clears · Shift+arrows select · Ctrl+C/Ctrl+V copy and paste Excel blocks · Ctrl+D fills down",
        )}</p>
        <p class="grid-legend" data-test="reason-legend">
            <span><i class="swatch needs-reason"></i>{tr("需说明原因（与基线偏差大，尚无原因）", "Needs a reason (far from the baseline, none given)")}</span>
            <span><i class="swatch deviates"></i>{tr("偏差大，已说明原因", "Far from the baseline, reason given")}</span>
            <span><i class="swatch bad"></i>{tr("输入有误，未保存", "Invalid, not saved")}</span>
            <span><i class="swatch problem"></i>{tr("提交前须处理", "To fix before submitting")}</span>
            <span><i class="swatch corrected"></i>{tr("上级已修正", "Corrected by a reviewer")}</span>
        </p>
        <div class="sheet-main">
            <div class="grid-viewport" node_ref=viewport data-test="grid" on:scroll=move |_| measure()
                on:mousedown=on_mousedown on:dblclick=move |_| {
                    if grid.editable.get_untracked() {
                        let current = selected_index().and_then(|i| grid.values.with_untracked(|v| v[i])).map(|v| v.to_string()).unwrap_or_default();
                        edit_text.set(current);
                        editing.set(true);
                        focus_editor();
                    }
                }>
                <div class="grid-canvas" style=move || format!("width:{}px;height:{}px", canvas_w(), canvas_h())>
                    {body}
                    <div class="selection" style=selection_box></div>
                    <input class="cell-editor" class:editing=move || editing.get() node_ref=editor data-test="cell-editor"
                        style=editor_style inputmode="numeric" autocomplete="off" readonly=move || !grid.editable.get()
                        prop:value=move || edit_text.get()
                        on:input=move |ev| { edit_text.set(event_target_value(&ev)); if !editing.get_untracked() { editing.set(true); } }
                        on:keydown=on_keydown on:paste=on_paste on:copy=on_copy on:blur=move |_| commit()/>
                </div>
            </div>
            <aside class="cell-detail card" data-test="cell-detail">{detail}</aside>
            {move || history.get().map(|h| view! { <crate::pages::review::HistoryPanel history=h on_close=Callback::new(move |_| history.set(None))/> })}
        </div>
        <p class="muted">{move || format!(
            "{} {}% {} {} {}",
            lang.get().pick("偏离提示：与基线相差超过", "Marked when more than"),
            rules.deviation_percent,
            lang.get().pick("且超过", "and more than"),
            rules.deviation_cartons,
            lang.get().pick("条时需填写原因（黄色）。", "cartons from the baseline (yellow): a reason is needed."),
        )}</p>
    }
}
