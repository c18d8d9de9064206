//! Importing a filled-in workbook (xlsx): the server checks it whole and
//! either takes every cell or names the cells it refused.

use std::collections::{BTreeSet, HashMap};

use domain::{ErrorBody, Lang};
use leptos::html;
use leptos::prelude::*;

use super::grid::Grid;
use crate::api;

/// The file input, the upload and the cells a refused file got wrong.
#[derive(Clone, Copy)]
pub(super) struct Import {
    pub(super) input: NodeRef<html::Input>,
    pub(super) action: Action<web_sys::File, ()>,
    /// The cells a refused file got wrong, as the server named them.
    pub(super) errors: RwSignal<Vec<(String, String)>>,
}

impl Import {
    pub(super) fn new(grid: Grid) -> Import {
        let lang = grid.lang;
        let import_errors = RwSignal::new(Vec::<(String, String)>::new());
        // Uploads the file, then reloads the sheet's values from the server.
        let action = Action::new_local(move |file: &web_sys::File| {
            let file = file.clone();
            async move {
                let lang = lang.get_untracked();
                let bytes = match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                    Ok(buffer) => js_sys::Uint8Array::new(&buffer).to_vec(),
                    Err(_) => return,
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
                                Lang::Zh => {
                                    format!("已导入 {} 户、{} 格", report.rows, report.cells)
                                }
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
            }
        });
        Import {
            input: NodeRef::new(),
            action,
            errors: import_errors,
        }
    }

    pub(super) fn on_change(self, grid: Grid) {
        let Some(input) = self.input.get_untracked() else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        grid.error.set(None);
        self.errors.set(Vec::new());
        self.action.dispatch(file);
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
