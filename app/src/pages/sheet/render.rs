//! Rendering the virtualised grid: only the rows and columns in view are
//! in the page (a sheet can hold 9,000 cells); headers, row labels and
//! totals follow the scroll.

use domain::forecast::deviates;
use domain::quantity::CaseSize;
use leptos::prelude::*;

use super::selection::Ui;

pub(super) const ROW_H: f64 = 30.0;
pub(super) const COL_W: f64 = 76.0;
pub(super) const HEAD_H: f64 = 46.0;
pub(super) const FOOT_H: f64 = 40.0;
/// Rows and columns rendered beyond the visible ones.
pub(super) const OVERSCAN: usize = 3;

/// Widths of the row labels and the row totals: narrower on a phone.
pub(super) fn edges(viewport_width: f64) -> (f64, f64) {
    if viewport_width < 600.0 {
        (112.0, 72.0)
    } else {
        (190.0, 112.0)
    }
}

pub(super) fn cases(cartons: i64) -> String {
    format!("{:.1}", CaseSize::default().cases(cartons))
}

impl Ui {
    pub(super) fn canvas_style(self) -> String {
        let Ui {
            rows, cols, size, ..
        } = self;
        let (lw, tw) = edges(size.get().0);
        let width = lw + cols as f64 * COL_W + tw;
        let height = HEAD_H + rows.with(Vec::len) as f64 * ROW_H + FOOT_H;
        format!("width:{width}px;height:{height}px")
    }

    /// The cells in view, the row labels and totals at the left and right
    /// edges, the spec headers and column totals at the top and bottom.
    pub(super) fn body(self) -> Vec<AnyView> {
        let Ui {
            grid,
            cols,
            lang,
            rows,
            scroll,
            size,
            needing_reason,
            col_totals,
            window_rows,
            window_cols,
            ..
        } = self;
        let rules = grid.sheet.with_value(|s| s.rules);
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
    }

    pub(super) fn selection_box(self) -> String {
        let Ui { size, .. } = self;
        let (p0, c0, p1, c1) = self.range();
        let (lw, _) = edges(size.get().0);
        format!(
            "left:{}px;top:{}px;width:{}px;height:{}px",
            lw + c0 as f64 * COL_W,
            HEAD_H + p0 as f64 * ROW_H,
            (c1 - c0 + 1) as f64 * COL_W,
            (p1 - p0 + 1) as f64 * ROW_H
        )
    }

    pub(super) fn editor_style(self) -> String {
        let Ui { cursor, size, .. } = self;
        let (p, c) = cursor.get();
        let (lw, _) = edges(size.get().0);
        format!(
            "left:{}px;top:{}px",
            lw + c as f64 * COL_W,
            HEAD_H + p as f64 * ROW_H
        )
    }
}

/// The scrolled grid with the selection box and the cell editor on top.
#[component]
pub(super) fn GridViewport(ui: Ui) -> impl IntoView {
    let Ui {
        grid,
        viewport,
        editor,
        editing,
        edit_text,
        ..
    } = ui;
    view! {
        <div class="grid-viewport" node_ref=viewport data-test="grid" on:scroll=move |_| ui.measure()
            on:mousedown=move |ev| ui.on_mousedown(ev) on:dblclick=move |_| {
                if grid.editable.get_untracked() {
                    let current = ui.selected_index().and_then(|i| grid.values.with_untracked(|v| v[i])).map(|v| v.to_string()).unwrap_or_default();
                    edit_text.set(current);
                    editing.set(true);
                    ui.focus_editor();
                }
            }>
            <div class="grid-canvas" style=move || ui.canvas_style()>
                {move || ui.body()}
                <div class="selection" style=move || ui.selection_box()></div>
                <input class="cell-editor" class:editing=move || editing.get() node_ref=editor data-test="cell-editor"
                    style=move || ui.editor_style() inputmode="numeric" autocomplete="off" readonly=move || !grid.editable.get()
                    prop:value=move || edit_text.get()
                    on:input=move |ev| { edit_text.set(event_target_value(&ev)); if !editing.get_untracked() { editing.set(true); } }
                    on:keydown=move |ev| ui.on_keydown(ev) on:paste=move |ev| ui.on_paste(ev) on:copy=move |ev| ui.on_copy(ev) on:blur=move |_| ui.commit()/>
            </div>
        </div>
    }
}
