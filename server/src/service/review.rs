//! Review-chain writes: corrections, approval and return. Each transaction
//! starts by locking the sheet (`store::forecast::lock_sheet`) and checks
//! the caller may act on the sheet as it is then: two reviewers approving
//! at once, or an approval racing a return, leave exactly one winner and
//! the other a 409. Nothing is written to a sheet of a closed cycle.

use domain::forecast::review::{
    acting_step, check_return_level, next_level, Actor, ReviewError, ReviewStep, SheetState,
};
use domain::forecast::view::{Correction, CycleStatus, ReviewActionKind, SheetStatus};
use domain::{ErrorBody, ErrorCode, Lang};
use serde_json::json;

use crate::db::now_unix;
use crate::error::{ApiError, ApiResult};
use crate::extract::CurrentUser;
use crate::service::forecast::closed;
use crate::store::forecast::{self as forecast_store, Stale};
use crate::store::review::{self as store, SheetRecord};
use crate::store::{audit, summary};

pub fn actor(current: &CurrentUser) -> Actor {
    Actor {
        user_id: current.user.id,
        role: current.role(),
        unit_id: current.user.org_unit_id,
    }
}

pub fn state_of(sheet: &SheetRecord) -> SheetState {
    SheetState {
        status: sheet.status,
        level: sheet.level,
        manager_id: sheet.manager_id,
        submitted_by: sheet.submitted_by,
    }
}

pub fn review_refused(lang: Lang, error: ReviewError) -> ApiError {
    let message = error.message(lang);
    match error.field() {
        Some(field) => ApiError::validation(
            ErrorBody::new(ErrorCode::Validation, message.clone()).with_field(field, message),
        ),
        None if error == ReviewError::NotYourLevel || error == ReviewError::OwnSheet => {
            ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                message,
            )
        }
        None => ApiError::conflict(message),
    }
}

/// Locks the sheet and returns the step the caller acts at.
async fn acting<'a>(
    conn: &mut sqlx::AnyConnection,
    current: &CurrentUser,
    sheet: &SheetRecord,
    steps: &'a [ReviewStep],
    at_level: Option<u8>,
) -> ApiResult<&'a ReviewStep> {
    let locked = forecast_store::lock_sheet(conn, sheet.id).await?;
    if locked.cycle_status == CycleStatus::Closed {
        return Err(closed(current.lang));
    }
    // The caller acted on the sheet as read when the request began; if
    // another reviewer moved it since (approved, returned, resubmitted),
    // this is the loser of a race: 409, not an action on a state the
    // caller never saw.
    let moved_from_seen = at_level.is_some_and(|seen| {
        locked.status != domain::forecast::view::SheetStatus::Submitted
            || locked.level != Some(seen)
    });
    if moved_from_seen || (locked.status, locked.level) != (sheet.status, sheet.level) {
        return Err(ApiError::conflict(current.lang.pick(
            "该预测表刚被他人处理（审核、退回或重新提交），未执行；请刷新后再操作",
            "Someone acted on this sheet first; nothing was done. Reload and try again",
        )));
    }
    let now = SheetState {
        status: locked.status,
        level: locked.level,
        ..state_of(sheet)
    };
    acting_step(steps, now, actor(current)).map_err(|e| review_refused(current.lang, e))
}

/// Applies checked corrections at the caller's level; all or none. A line
/// not at the revision its correction names refuses the whole write (409
/// naming the lines).
pub async fn correct(
    state: &crate::AppState,
    current: &CurrentUser,
    sheet: &SheetRecord,
    steps: &[ReviewStep],
    corrections: &[Correction],
) -> ApiResult<Vec<i64>> {
    let lang = current.lang;
    let id = sheet.id;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let step = acting(&mut tx, current, sheet, steps, None).await?;
    let revisions = match store::correct(
        &mut tx,
        id,
        corrections,
        step.level,
        step.unit_id,
        current.user.id,
        now_unix(),
    )
    .await?
    {
        Ok(r) => r,
        Err(Stale(stale)) => {
            let changed = lang.pick("已被他人修改", "Changed by someone else");
            return Err(ApiError::conflict_fields(
                lang.pick(
                    "该行已被他人修改，未保存；请刷新后再修正",
                    "Someone changed the line first; nothing was saved. Reload and correct again",
                ),
                stale
                    .iter()
                    .map(|i| (format!("corrections.{i}"), changed.to_string())),
            ));
        }
    };
    summary::refresh_sheet(&mut tx, id).await?;
    audit::record_and_commit(
        tx,
        Some(current.user.id),
        "forecast.lines.correct",
        "forecast_sheet",
        &id.to_string(),
        &json!({
            "level": step.level,
            "lines": corrections.iter().map(|c| json!({
                "retailer_id": c.retailer_id, "spec_id": c.spec_id, "to": c.value, "reason": c.reason
            })).collect::<Vec<_>>(),
        }),
    )
    .await?;
    Ok(revisions)
}

/// Approves at the caller's level: up to the next level, or final at the
/// marketing center (every line's value becomes its approved value).
pub async fn approve(
    state: &crate::AppState,
    current: &CurrentUser,
    sheet: &SheetRecord,
    steps: &[ReviewStep],
    comment: Option<&str>,
    at_level: Option<u8>,
) -> ApiResult<()> {
    let id = sheet.id;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let step = acting(&mut tx, current, sheet, steps, at_level).await?;
    let next = next_level(steps, step);
    match next {
        Some(level) => store::set_state(&mut tx, id, SheetStatus::Submitted, Some(level)).await?,
        None => {
            store::approve_final(&mut tx, id).await?;
            summary::refresh_sheet(&mut tx, id).await?;
            summary::refresh_accuracy(&mut tx, id).await?;
        }
    }
    store::record_action(
        &mut tx,
        id,
        ReviewActionKind::Approve,
        step.level,
        next,
        comment,
        current.user.id,
        now_unix(),
    )
    .await?;
    audit::record_and_commit(
        tx,
        Some(current.user.id),
        if next.is_some() {
            "forecast.sheet.approve"
        } else {
            "forecast.sheet.final_approve"
        },
        "forecast_sheet",
        &id.to_string(),
        &json!({ "level": step.level, "to_level": next, "comment": comment }),
    )
    .await?;
    Ok(())
}

/// Returns the sheet down: to the customer manager (level 0) or a level below.
pub async fn return_sheet(
    state: &crate::AppState,
    current: &CurrentUser,
    sheet: &SheetRecord,
    steps: &[ReviewStep],
    to_level: u8,
    comment: &str,
    at_level: Option<u8>,
) -> ApiResult<()> {
    let id = sheet.id;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let step = acting(&mut tx, current, sheet, steps, at_level).await?;
    check_return_level(to_level, step).map_err(|e| review_refused(current.lang, e))?;
    if to_level == 0 {
        store::set_state(&mut tx, id, SheetStatus::Returned, None).await?;
    } else {
        store::set_state(&mut tx, id, SheetStatus::Submitted, Some(to_level)).await?;
    }
    store::record_action(
        &mut tx,
        id,
        ReviewActionKind::Return,
        step.level,
        Some(to_level),
        Some(comment),
        current.user.id,
        now_unix(),
    )
    .await?;
    audit::record_and_commit(
        tx,
        Some(current.user.id),
        "forecast.sheet.return",
        "forecast_sheet",
        &id.to_string(),
        &json!({ "level": step.level, "to_level": to_level, "comment": comment }),
    )
    .await?;
    Ok(())
}
