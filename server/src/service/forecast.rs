//! Writes to forecast sheets by their customer manager: cells (autosave,
//! paste, import) and submission. Each runs in one transaction that starts
//! by locking the sheet (`store::forecast::lock_sheet`), so the checks it
//! makes (cycle open, sheet editable, revisions unchanged, every cell
//! filled) still hold when it commits, on PostgreSQL as on SQLite.

use std::collections::HashMap;

use domain::forecast::view::{CellWrite, CycleStatus, ReviewActionKind, SheetStatus};
use domain::forecast::CycleInput;
use domain::Lang;
use serde_json::json;

use crate::db::now_unix;
use crate::error::{ApiError, ApiResult};
use crate::store::forecast::{self as store, MonthTaken, Recorded, Stale};
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

/// Locks a sheet for its manager's write: 409 if its cycle is closed or
/// it is not a draft (or returned) any more.
async fn lock_for_entry(
    conn: &mut sqlx::AnyConnection,
    sheet_id: i64,
    lang: Lang,
) -> ApiResult<store::LockedSheet> {
    let locked = store::lock_sheet(conn, sheet_id).await?;
    if locked.cycle_status == CycleStatus::Closed {
        return Err(closed(lang));
    }
    if !locked.status.editable() {
        return Err(submitted(lang));
    }
    Ok(locked)
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
    let locked = lock_for_entry(&mut tx, sheet_id, lang).await?;
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
    lock_for_entry(&mut tx, sheet_id, lang).await?;
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

pub fn month_taken(lang: Lang) -> ApiError {
    ApiError::conflict(lang.pick(
        "该月份的预测已开启",
        "A cycle for that month exists already",
    ))
}

/// Opens a cycle (checked by the caller): the row, its specs, sheets and
/// retailers in scope, in one transaction; 409 if the month has one.
pub async fn open_cycle(
    state: &AppState,
    actor: i64,
    lang: Lang,
    input: &CycleInput,
) -> ApiResult<i64> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let id = match store::open_cycle(&mut tx, input, actor, now_unix()).await? {
        Ok(id) => id,
        Err(MonthTaken) => return Err(month_taken(lang)),
    };
    audit::record_and_commit(
        tx,
        Some(actor),
        "forecast.cycle.open",
        "forecast_cycle",
        &id.to_string(),
        &json!({ "month": input.month, "scope": input.scope, "specs": input.spec_ids.len() }),
    )
    .await?;
    Ok(id)
}

/// Replaces a cycle's settings; only while it is open and before the first
/// entry, both checked under the cycle's lock (cell saves share it, so a
/// first entry cannot slip in between).
pub async fn edit_cycle(
    state: &AppState,
    actor: i64,
    lang: Lang,
    id: i64,
    input: &CycleInput,
) -> ApiResult<()> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    if store::lock_cycle(&mut tx, id).await? == Some(CycleStatus::Closed) {
        return Err(closed(lang));
    }
    if store::has_entries(&mut tx, id).await? {
        return Err(ApiError::conflict(lang.pick(
            "已有客户经理录入，预测设置不能再修改",
            "Entry has begun; the cycle can no longer be changed",
        )));
    }
    if store::month_taken(&mut tx, input.month, id).await? {
        return Err(month_taken(lang));
    }
    store::replace_cycle(&mut tx, id, input).await?;
    audit::record_and_commit(
        tx,
        Some(actor),
        "forecast.cycle.edit",
        "forecast_cycle",
        &id.to_string(),
        &json!({ "month": input.month, "scope": input.scope, "specs": input.spec_ids.len() }),
    )
    .await?;
    Ok(())
}

/// Closes a cycle; 409 if it is closed already. Waits, under the cycle's
/// lock, for sheet writes in flight; every write after it sees it closed.
pub async fn close_cycle(state: &AppState, actor: i64, lang: Lang, id: i64) -> ApiResult<()> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    if store::lock_cycle(&mut tx, id).await? == Some(CycleStatus::Closed) {
        return Err(closed(lang));
    }
    store::set_status(&mut tx, id, CycleStatus::Closed).await?;
    audit::record_and_commit(
        tx,
        Some(actor),
        "forecast.cycle.close",
        "forecast_cycle",
        &id.to_string(),
        &json!({}),
    )
    .await?;
    Ok(())
}

/// Lets one customer manager enter until `until`; refused on a closed cycle.
pub async fn reopen(
    state: &AppState,
    actor: i64,
    lang: Lang,
    sheet: &store::Sheet,
    manager_id: i64,
    until: chrono::NaiveDate,
) -> ApiResult<()> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    if store::lock_sheet(&mut tx, sheet.id).await?.cycle_status == CycleStatus::Closed {
        return Err(closed(lang));
    }
    store::reopen(&mut tx, sheet.id, until).await?;
    audit::record_and_commit(
        tx,
        Some(actor),
        "forecast.sheet.reopen",
        "forecast_sheet",
        &sheet.id.to_string(),
        &json!({ "manager_id": manager_id, "until": until }),
    )
    .await?;
    Ok(())
}
