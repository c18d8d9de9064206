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
//!
//! Where things are:
//!
//! - `mod.rs`: the page, [`SheetPage`], which loads the sheet (a
//!   `LocalResource`) and hands it to the editor.
//! - `grid.rs`: the model, `Grid`: the sheet as loaded, values, reasons
//!   and the marks on cells; applying typed text; the submission checks.
//! - `draft.rs`: offline drafts in local storage, and restoring them.
//! - `save.rs`: the debounced save queue, conflicts and their resolution,
//!   retries, and the save status.
//! - `selection.rs`: the view state, `Ui`: filters, filtered rows, the
//!   selection and cell editor, the viewport; moving the cursor.
//! - `commands.rs`: fill from baseline or last month, fill down, clear,
//!   next cell needing a reason.
//! - `keys.rs`: keyboard, clipboard (copy and paste blocks) and mouse.
//! - `render.rs`: the virtualised grid (cells, labels, totals in view).
//! - `panel.rs`: the side panel for the selected cell, with line history.
//! - `submit.rs`: checking and submitting the sheet (an `Action`).
//! - `import.rs`: importing an xlsx workbook (an `Action`).
//! - `editor.rs`: the editor around the grid: header, toolbars, notes.

mod commands;
mod draft;
mod editor;
mod grid;
mod import;
mod keys;
mod panel;
mod render;
mod save;
mod selection;
mod submit;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use self::editor::SheetEditor;
use self::grid::Grid;
use crate::components::error::ErrorNote;
use crate::i18n::tr;
use crate::{api, routes, state};

#[component]
pub fn SheetPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let params = use_params_map();
    let cycle_id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    // Loaded again only when the cycle in the address changes.
    let sheet = LocalResource::new(move || {
        let id = cycle_id();
        async move {
            match id {
                Some(id) => Some(api::sheet(id, None, lang.get_untracked()).await),
                None => None,
            }
        }
    });
    let error = Signal::derive(move || match sheet.get() {
        Some(Some(Err(e))) => Some(e),
        _ => None,
    });
    view! {
        <div class="sheet-page">
            <p class="crumbs"><A href=routes::FORECAST>{tr("← 需求预测", "← Forecasts")}</A></p>
            <ErrorNote error=error/>
            {move || match sheet.get() {
                Some(Some(Ok(view))) => {
                    // The grid's signals belong to this branch: a new cycle
                    // gets a new grid.
                    let grid = Grid::new(view, lang, session);
                    grid.restore_draft();
                    view! { <SheetEditor grid=grid/> }.into_any()
                }
                Some(Some(Err(_))) => ().into_any(),
                _ => view! { <p class="muted">{tr("正在加载…", "Loading…")}</p> }.into_any(),
            }}
        </div>
    }
}
