//! Editing commands on the selection: fill from the baseline or last
//! month, fill down, clear, and going to the next cell needing a reason.

use domain::Lang;
use leptos::prelude::*;

use super::selection::Ui;

impl Ui {
    /// Cells of the selection, or of the whole filtered sheet.
    pub(super) fn target_cells(self, whole_if_single: bool) -> Vec<usize> {
        let Ui { cols, rows, .. } = self;
        let (p0, c0, p1, c1) = self.range();
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
    }

    /// Fills from `"baseline"` or `"last_month"`.
    pub(super) fn fill_from(self, source: &'static str) {
        let Ui { grid, lang, .. } = self;
        let (p0, c0, p1, c1) = self.range();
        let whole = p0 == p1 && c0 == c1;
        let cells = self.target_cells(true);
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
        self.focus_editor();
    }

    pub(super) fn fill_down(self) {
        let Ui {
            grid, cols, rows, ..
        } = self;
        let (p0, c0, p1, c1) = self.range();
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
    }

    pub(super) fn clear_range(self) {
        let Ui { grid, .. } = self;
        let changes = self
            .target_cells(false)
            .into_iter()
            .map(|i| (i, String::new()))
            .collect();
        grid.apply(changes);
    }

    /// Every cell still needing a reason is marked at once; 下一个 / F8 goes
    /// from one to the next (in sheet order, from the selected cell).
    pub(super) fn next_reason(self) {
        let Ui {
            cols,
            market,
            tier,
            name,
            rows,
            needing_reason,
            ..
        } = self;
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
        let here = self.selected_index().unwrap_or(0);
        let next = cells
            .iter()
            .copied()
            .find(|&i| i > here)
            .unwrap_or(cells[0]);
        if let Some(p) = rows.with_untracked(|rows| rows.iter().position(|&r| r == next / cols)) {
            self.commit();
            self.move_to(p as i64, (next % cols) as i64, false);
            self.focus_editor();
        }
    }
}
