//! Writes to forecast sheets by their customer manager: cells (autosave,
//! paste, import) and submission. Each runs in one transaction that starts
//! by locking the sheet (`store::forecast::lock_sheet`), so the checks it
//! makes (cycle open, sheet editable, revisions unchanged, every cell
//! filled) still hold when it commits, on PostgreSQL as on SQLite.

use std::collections::HashMap;

use domain::forecast::view::{CellWrite, CycleStatus, ReviewActionKind, SheetStatus};
use domain::Lang;
use serde_json::json;

use crate::db::now_unix;
use crate::error::{ApiError, ApiResult};
use crate::store::forecast::{self as store, Recorded, Stale};
use crate::store::{audit, review, summary};
use crate::AppState;

pub fn closed(lang: Lang) -> ApiError {
    ApiError::conflict(lang.pick("本期预测已关闭", "This cycle is closed"))
}

fn submitted(lang: Lang) -> ApiError {
    ApiError::conflict(lang.pick(
        "预测表已提交，不能再修改",
        "The sheet was submitted and cannot be changed",
    ))
}

fn stale_cells(lang: Lang, stale: &[usize]) -> ApiError {
    let message = match (lang, stale.len()) {
        (Lang::Zh, 0) => "表格在保存时被同时修改，未保存；请刷新后再保存".to_string(),
        (Lang::En, 0) => {
            "The sheet changed while saving; nothing was saved. Reload and save again".to_string()
        }
        (Lang::Zh, n) => format!("有 {n} 格在服务器上已有更新的数据，未保存；请核对后再保存"),
        (Lang::En, n) => format!("{n} cells have newer data on the server; nothing was saved"),
    };
    let newer = lang.pick("服务器上有更新的数据", "Newer on the server");
    ApiError::conflict_fields(
        message,
        stale
            .iter()
            .map(|i| (format!("cells.{i}"), newer.to_string())),
    )
}

/// Writes checked cells of a sheet in one transaction. With `check_base`
/// each cell must still be at the revision it names (a save from the
/// grid); without (an import) the stored values are replaced. Returns the
/// new revision of each cell; a stale cell refuses the whole write (409
/// naming the cells).
pub async fn write_cells(
    state: &AppState,
    actor: i64,
    lang: Lang,
    sheet_id: i64,
    cells: &[CellWrite],
    check_base: bool,
    action: &str,
) -> ApiResult<Vec<i64>> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let locked = store::lock_sheet(&mut tx, sheet_id).await?;
    if locked.cycle_status == CycleStatus::Closed {
        return Err(closed(lang));
    }
    if !locked.status.editable() {
        return Err(submitted(lang));
    }
    let revisions =
        match store::save_cells(&mut tx, sheet_id, cells, check_base, actor, now_unix()).await? {
            Ok(revisions) => revisions,
            Err(Stale(stale)) => return Err(stale_cells(lang, &stale)),
        };
    // A returned sheet's lines were submitted before: keep its summary current.
    if locked.status == SheetStatus::Returned {
        summary::refresh_sheet(&mut tx, sheet_id).await?;
    }
    audit::record_and_commit(
        tx,
        Some(actor),
        action,
        "forecast_sheet",
        &sheet_id.to_string(),
        &json!({ "cells": cells.len() }),
    )
    .await?;
    Ok(revisions)
}

/// Submits a sheet checked by the caller against `checked`, the revision
/// of every line as it was when checked. Inside the transaction the sheet
/// is locked and its lines read again: if any moved since the check (a
/// save that emptied a cell, say), nothing is submitted and the answer is
/// 409, so a sheet is never submitted with a cell its check did not see.
pub async fn submit(
    state: &AppState,
    actor: i64,
    lang: Lang,
    sheet_id: i64,
    checked: &HashMap<(i64, i64), i64>,
    recorded: &[Recorded],
) -> ApiResult<()> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let locked = store::lock_sheet(&mut tx, sheet_id).await?;
    if locked.cycle_status == CycleStatus::Closed {
        return Err(closed(lang));
    }
    if !locked.status.editable() {
        return Err(ApiError::conflict(
            lang.pick("预测表已提交", "The sheet was submitted already"),
        ));
    }
    let moved = store::lines(&mut tx, sheet_id).await?.iter().any(|l| {
        checked
            .get(&(l.retailer_id, l.spec_id))
            .copied()
            .unwrap_or(0)
            != l.revision
    });
    if moved {
        return Err(ApiError::conflict(lang.pick(
            "提交时表格被同时修改，未提交；请刷新核对后再提交",
            "The sheet changed while submitting; nothing was submitted. Reload, check and submit again",
        )));
    }
    let now = now_unix();
    store::record_baselines(&mut tx, sheet_id, recorded, actor, now).await?;
    review::submit(&mut tx, sheet_id, actor, now).await?;
    review::record_action(
        &mut tx,
        sheet_id,
        ReviewActionKind::Submit,
        0,
        None,
        None,
        actor,
        now,
    )
    .await?;
    summary::refresh_sheet(&mut tx, sheet_id).await?;
    audit::record_and_commit(
        tx,
        Some(actor),
        "forecast.sheet.submit",
        "forecast_sheet",
        &sheet_id.to_string(),
        &json!({ "cells": recorded.len() }),
    )
    .await?;
    Ok(())
}
