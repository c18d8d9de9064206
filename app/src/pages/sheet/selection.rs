//! The editor's view state, `Ui`: the row filters and the rows they let
//! through, the selection (a cursor and an anchor), the one cell editor
//! that takes the keyboard, and the scrolled viewport. Also moving the
//! selection about.

use leptos::html;
use leptos::prelude::*;

use super::grid::Grid;
use super::render::{edges, COL_W, FOOT_H, HEAD_H, OVERSCAN, ROW_H};

/// Everything the grid's handlers share; signals and node refs only, so it
/// is Copy and moves freely into closures.
#[derive(Clone, Copy)]
pub(super) struct Ui {
    pub(super) grid: Grid,
    pub(super) cols: usize,
    pub(super) lang: RwSignal<domain::Lang>,
    /// Filters: market department, class (档位) and a name or licence search.
    pub(super) market: RwSignal<String>,
    pub(super) tier: RwSignal<String>,
    pub(super) name: RwSignal<String>,
    /// The rows the filters let through, as indexes into the sheet.
    pub(super) rows: Memo<Vec<usize>>,
    /// Selection: (visible row position, column); the anchor starts a range.
    pub(super) cursor: RwSignal<(usize, usize)>,
    pub(super) anchor: RwSignal<Option<(usize, usize)>>,
    pub(super) editing: RwSignal<bool>,
    pub(super) edit_text: RwSignal<String>,
    pub(super) viewport: NodeRef<html::Div>,
    pub(super) editor: NodeRef<html::Input>,
    /// The viewport's scroll offsets and size, in pixels.
    pub(super) scroll: RwSignal<(f64, f64)>,
    pub(super) size: RwSignal<(f64, f64)>,
    /// The rows and columns to render: `[first, last)`.
    pub(super) window_rows: Memo<(usize, usize)>,
    pub(super) window_cols: Memo<(usize, usize)>,
    /// Every cell still needing a reason, in sheet order.
    pub(super) needing_reason: Memo<Vec<usize>>,
    /// Column totals over the filtered rows.
    pub(super) col_totals: Memo<Vec<i64>>,
}

impl Ui {
    pub(super) fn new(grid: Grid) -> Ui {
        let cols = grid.cols;
        let market = RwSignal::new(String::new());
        let tier = RwSignal::new(String::new());
        let name = RwSignal::new(String::new());
        let rows = Memo::new(move |_| {
            let (m, t, q) = (market.get(), tier.get(), name.get().trim().to_lowercase());
            grid.sheet.with_value(|s| {
                s.rows
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| m.is_empty() || r.market_unit == m)
                    .filter(|(_, r)| t.is_empty() || r.class_code == t)
                    .filter(|(_, r)| {
                        q.is_empty()
                            || r.name.to_lowercase().contains(&q)
                            || r.licence_no.contains(&q)
                    })
                    .map(|(i, _)| i)
                    .collect::<Vec<usize>>()
            })
        });
        let cursor = RwSignal::new((0usize, 0usize));
        let anchor = RwSignal::new(None::<(usize, usize)>);
        let editing = RwSignal::new(false);
        let edit_text = RwSignal::new(String::new());
        let viewport = NodeRef::<html::Div>::new();
        let editor = NodeRef::<html::Input>::new();
        let scroll = RwSignal::new((0.0f64, 0.0f64));
        let size = RwSignal::new((900.0f64, 520.0f64));
        let window_rows = Memo::new(move |_| {
            let (_, top) = scroll.get();
            let (_, h) = size.get();
            let n = rows.with(Vec::len);
            let first = ((top / ROW_H) as usize).saturating_sub(OVERSCAN);
            let last = ((((top + h - HEAD_H - FOOT_H).max(0.0)) / ROW_H).ceil() as usize
                + OVERSCAN)
                .min(n);
            (first.min(last), last)
        });
        let window_cols = Memo::new(move |_| {
            let (left, _) = scroll.get();
            let (w, _) = size.get();
            let first = ((left / COL_W) as usize).saturating_sub(OVERSCAN);
            let (lw, tw) = edges(w);
            let last =
                ((((left + w - lw - tw).max(0.0)) / COL_W).ceil() as usize + OVERSCAN).min(cols);
            (first.min(last), last)
        });
        let needing_reason = Memo::new(move |_| grid.needing_reason());
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
        Ui {
            grid,
            cols,
            lang: grid.lang,
            market,
            tier,
            name,
            rows,
            cursor,
            anchor,
            editing,
            edit_text,
            viewport,
            editor,
            scroll,
            size,
            window_rows,
            window_cols,
            needing_reason,
            col_totals,
        }
    }

    pub(super) fn range(self) -> (usize, usize, usize, usize) {
        let Ui { cursor, anchor, .. } = self;
        let (p, c) = cursor.get();
        let (ap, ac) = anchor.get().unwrap_or((p, c));
        (p.min(ap), c.min(ac), p.max(ap), c.max(ac))
    }

    pub(super) fn selected_index(self) -> Option<usize> {
        let Ui {
            cols, rows, cursor, ..
        } = self;
        let (p, c) = cursor.get();
        rows.with(|r| r.get(p).map(|&row| row * cols + c))
    }

    /// Reads the viewport's scroll offsets and size.
    pub(super) fn measure(self) {
        let Ui {
            viewport,
            scroll,
            size,
            ..
        } = self;
        if let Some(el) = viewport.get_untracked() {
            scroll.set((f64::from(el.scroll_left()), f64::from(el.scroll_top())));
            size.set((f64::from(el.client_width()), f64::from(el.client_height())));
        }
    }

    pub(super) fn focus_editor(self) {
        let Ui { editor, .. } = self;
        if let Some(input) = editor.get_untracked() {
            let _ = input.focus();
        }
    }

    /// Keeps the cursor's cell in view.
    pub(super) fn reveal(self, p: usize, c: usize) {
        let Ui { viewport, .. } = self;
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
    }

    pub(super) fn move_to(self, p: i64, c: i64, extend: bool) {
        let Ui {
            cols,
            rows,
            cursor,
            anchor,
            ..
        } = self;
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
        self.reveal(p, c);
    }

    /// Applies what the cell editor holds to the selected cell.
    pub(super) fn commit(self) {
        let Ui {
            grid,
            editing,
            edit_text,
            ..
        } = self;
        if !editing.get_untracked() {
            return;
        }
        editing.set(false);
        if let Some(i) = self.selected_index() {
            grid.apply(vec![(i, edit_text.get_untracked())]);
        }
        edit_text.set(String::new());
    }
}
