//! The grid's keyboard, clipboard and mouse: arrows, Tab and Enter move,
//! typing replaces, F2 edits, Delete clears, Ctrl+D fills down, Ctrl+C
//! copies and Ctrl+V pastes a tab-separated block (as Excel and WPS copy
//! it); a click selects, Shift+click extends.

use leptos::ev::{ClipboardEvent, KeyboardEvent, MouseEvent};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::selection::Ui;

impl Ui {
    pub(super) fn on_keydown(self, ev: KeyboardEvent) {
        let Ui {
            grid,
            cols,
            rows,
            cursor,
            anchor,
            editing,
            edit_text,
            editor,
            ..
        } = self;
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
                self.commit();
                let (dp, dc) = match key.as_str() {
                    "ArrowUp" => (jump(-1, n), 0),
                    "ArrowDown" => (jump(1, n), 0),
                    "ArrowLeft" => (0, jump(-1, cols as i64)),
                    _ => (0, jump(1, cols as i64)),
                };
                self.move_to(p + dp, c + dc, shift && !is_editing);
            }
            "Enter" => {
                ev.prevent_default();
                self.commit();
                self.move_to(if shift { p - 1 } else { p + 1 }, c, false);
            }
            "Tab" => {
                ev.prevent_default();
                self.commit();
                self.move_to(p, if shift { c - 1 } else { c + 1 }, false);
            }
            "Escape" => {
                editing.set(false);
                edit_text.set(String::new());
            }
            "F8" => {
                ev.prevent_default();
                self.next_reason();
            }
            "F2" if grid.editable.get_untracked() => {
                ev.prevent_default();
                let current = self
                    .selected_index()
                    .and_then(|i| grid.values.with_untracked(|v| v[i]))
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                edit_text.set(current);
                editing.set(true);
            }
            "Delete" | "Backspace" if !is_editing => {
                ev.prevent_default();
                self.clear_range();
            }
            "d" | "D" if ctrl => {
                ev.prevent_default();
                self.fill_down();
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
    }

    /// Pastes a tab-separated block from the selection's top-left cell.
    pub(super) fn on_paste(self, ev: ClipboardEvent) {
        let Ui {
            grid,
            cols,
            lang,
            rows,
            cursor,
            anchor,
            editing,
            ..
        } = self;
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
        let (p0, c0, _, _) = self.range();
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
    }

    /// Copies the selection as a tab-separated block.
    pub(super) fn on_copy(self, ev: ClipboardEvent) {
        let Ui {
            grid,
            cols,
            rows,
            editing,
            ..
        } = self;
        if editing.get_untracked() {
            return;
        }
        let (p0, c0, p1, c1) = self.range();
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
    }

    pub(super) fn on_mousedown(self, ev: MouseEvent) {
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
        self.commit();
        self.move_to(p, c, ev.shift_key());
        self.focus_editor();
    }
}
