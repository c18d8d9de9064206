//! Submitting the sheet: every cell is checked as the server will check
//! it, the cells at fault are outlined and the first one selected; once
//! the manager confirms, what is left unsaved is saved and the sheet sent.

use std::collections::HashMap;

use domain::{ErrorBody, ErrorCode, Lang};
use gloo_storage::{LocalStorage, Storage};
use leptos::prelude::*;

use super::grid::Grid;
use super::selection::Ui;
use crate::api;
use crate::components::confirm::confirm;

/// Saves what is left and submits; the outcome lands in the grid (status,
/// editability, problems by cell, the error).
pub(super) fn submit_action(grid: Grid) -> Action<(), ()> {
    let (lang, cols) = (grid.lang, grid.cols);
    Action::new_local(move |_: &()| async move {
        // A save already on its way (a reason typed, then 提交 at once)
        // finishes first; then what is left is saved with the submission.
        for _ in 0..100 {
            if !grid.saving.get_value() {
                break;
            }
            pause(100).await;
        }
        if !grid.flush().await && grid.dirty.with_untracked(|d| !d.is_empty()) {
            grid.error.set(Some(ErrorBody::new(
                ErrorCode::Conflict,
                lang.get_untracked().pick(
                    "还有修改未能保存（见保存状态），未提交；请处理后再提交",
                    "Some changes could not be saved (see the save status); not submitted",
                ),
            )));
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
    })
}

/// Waits `ms` milliseconds.
async fn pause(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

impl Ui {
    /// Checks the sheet, asks for confirmation and dispatches `action`.
    pub(super) fn submit(self, action: Action<(), ()>) {
        let Ui {
            grid,
            cols,
            lang,
            rows,
            market,
            tier,
            name,
            ..
        } = self;
        self.commit();
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
                    self.move_to(p as i64, (i % cols) as i64, false);
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
        grid.error.set(None);
        action.dispatch(());
    }
}
