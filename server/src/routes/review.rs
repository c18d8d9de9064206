//! The review chain (层层提交修正) of submitted forecast sheets.
//!
//! Scope: a sheet is read by the reviewers along its chain (the market
//! manager of its department, the county reviewer of its county, the
//! marketing center) and admins; the customer manager reads the history of
//! their own lines. Only the level the sheet waits at corrects, approves or
//! returns it, never the person who entered or submitted it. A sheet outside
//! the caller's scope answers 403, like an unknown one.

use domain::policy::op;
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use domain::forecast::review::{
    acting_step, chain, check_comment, check_correction, is_late, may_read, stage_label, ReviewStep,
};
use domain::forecast::view::{
    ApproveRequest, CorrectRequest, LineHistory, ReturnRequest, ReviewInbox, ReviewSheet,
    ReviewView, SaveCellsResponse,
};
use domain::org::OrgUnit;
use domain::{ErrorBody, Role};
use serde::Deserialize;

use crate::clock::today;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::service::review::{self as service, actor, review_refused, state_of};
use crate::store::forecast as forecast_store;
use crate::store::org;
use crate::store::review::{self as store, LineFilter, SheetRecord};
use crate::AppState;

const TAG: &str = "forecast review";
/// Lines on one page of the review list.
const PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

/// The sheet, its chain and the cycle, if the caller may read it.
async fn readable(
    state: &AppState,
    current: &CurrentUser,
    sheet_id: i64,
) -> ApiResult<(SheetRecord, Vec<ReviewStep>, Vec<OrgUnit>)> {
    let pool = &state.db.pool;
    let forbidden = || ApiError::forbidden(current.lang);
    let sheet = store::sheet(pool, sheet_id).await?.ok_or_else(forbidden)?;
    let units = org::units(pool).await?;
    let steps = chain(&units, sheet.manager_unit);
    if !may_read(&steps, current.role(), current.user.org_unit_id) {
        return Err(forbidden());
    }
    Ok((sheet, steps, units))
}

async fn review_sheet(
    state: &AppState,
    current: &CurrentUser,
    sheet: &SheetRecord,
    steps: Vec<ReviewStep>,
) -> ApiResult<ReviewSheet> {
    let cycle = forecast_store::cycle(&state.db.pool, sheet.cycle_id)
        .await?
        .ok_or_else(|| ApiError::not_found(current.lang))?;
    Ok(sheet_view(current, sheet, steps, &cycle))
}

fn sheet_view(
    current: &CurrentUser,
    sheet: &SheetRecord,
    steps: Vec<ReviewStep>,
    cycle: &domain::forecast::view::CycleView,
) -> ReviewSheet {
    let entry_deadline = sheet
        .reopened_until
        .map_or(cycle.submit_deadline, |d| d.max(cycle.submit_deadline));
    ReviewSheet {
        sheet_id: sheet.id,
        cycle_id: sheet.cycle_id,
        month: sheet.month,
        manager_id: sheet.manager_id,
        manager_name: sheet.manager_name.clone(),
        unit_name: sheet.unit_name.clone(),
        status: sheet.status,
        level: sheet.level,
        stage: stage_label(sheet.status, sheet.level, &steps, current.lang),
        late: is_late(sheet.status, today(), entry_deadline, cycle.review_deadline),
        can_act: acting_step(&steps, state_of(sheet), actor(current)).is_ok(),
        retailers: sheet.retailers,
        specs: cycle.specs.len() as i64,
        corrected: sheet.corrected,
        chain: steps,
    }
}

/// Sheets in the caller's review scope in open cycles, those waiting for the
/// caller first.
#[utoipa::path(get, path = "/api/forecast/reviews", tag = TAG,
    responses((status = 200, body = ReviewInbox), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn inbox(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<ReviewInbox>> {
    current.require(op::REVIEW_INBOX)?;
    let pool = &state.db.pool;
    let units = org::units(pool).await?;
    let cycles: HashMap<i64, domain::forecast::view::CycleView> = forecast_store::cycles(pool)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut sheets = Vec::new();
    for sheet in store::open_sheets(pool).await? {
        let steps = chain(&units, sheet.manager_unit);
        if !may_read(&steps, current.role(), current.user.org_unit_id) {
            continue;
        }
        if let Some(cycle) = cycles.get(&sheet.cycle_id) {
            sheets.push(sheet_view(&current, &sheet, steps, cycle));
        }
    }
    // Stable: waiting for the caller first, then the listing order.
    sheets.sort_by_key(|s| !s.can_act);
    Ok(Json(ReviewInbox { sheets }))
}

/// Which lines to list and which page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LinesQuery {
    /// Part of a retailer's name or licence number, or of a spec's name.
    #[serde(default)]
    pub q: String,
    /// `all` (default), `corrected` or `with_reason`.
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
}

/// A sheet under review: its chain, its actions with their comments and
/// one page of lines, largest deviation from the baseline first.
#[utoipa::path(get, path = "/api/forecast/sheets/{id}/review", tag = TAG,
    params(("id" = i64, Path, description = "Sheet id"), LinesQuery),
    responses((status = 200, body = ReviewView), (status = 403, body = ErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<LinesQuery>,
) -> ApiResult<Json<ReviewView>> {
    current.require(op::REVIEW_SHEET)?;
    let (sheet, steps, _) = readable(&state, &current, id).await?;
    let pool = &state.db.pool;
    let filter = match query.filter.as_deref() {
        Some("corrected") => LineFilter::Corrected,
        Some("with_reason") => LineFilter::WithReason,
        _ => LineFilter::All,
    };
    let offset = query.offset.unwrap_or(0).max(0);
    let limit = query.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE);
    let (mut lines, matching, totals) =
        store::lines(pool, id, &query.q, filter, offset, limit).await?;
    let rules = forecast_store::rules(pool).await?;
    let bounds = forecast_store::bounds(pool, sheet.cycle_id, rules.default_bound).await?;
    let classes = store::classes(pool, id).await?;
    for line in &mut lines {
        line.bound = classes
            .get(&line.retailer_id)
            .map_or(rules.default_bound, |c| bounds.of(line.spec_id, c));
    }
    let last_month_of = forecast_store::last_history_month(pool, sheet.month)
        .await?
        .unwrap_or(sheet.month.plus(-1));
    let actions = store::actions(pool, id).await?;
    let sheet = review_sheet(&state, &current, &sheet, steps).await?;
    Ok(Json(ReviewView {
        sheet,
        actions,
        rules,
        last_month_of,
        totals,
        matching,
        offset,
        lines,
    }))
}

/// Corrects lines at the caller's level (a reason for each), all or none.
/// Each correction names the line's revision it was made on; if a line
/// changed since, nothing is saved and the answer is 409.
#[utoipa::path(put, path = "/api/forecast/sheets/{id}/corrections", tag = TAG, request_body = CorrectRequest,
    params(("id" = i64, Path, description = "Sheet id")),
    responses((status = 200, body = SaveCellsResponse), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn correct(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<CorrectRequest>,
) -> ApiResult<Json<SaveCellsResponse>> {
    current.require(op::CORRECT)?;
    let lang = current.lang;
    let (sheet, steps, _) = readable(&state, &current, id).await?;
    let pool = &state.db.pool;
    let rules = forecast_store::rules(pool).await?;
    let bounds = forecast_store::bounds(pool, sheet.cycle_id, rules.default_bound).await?;
    let classes = store::classes(pool, id).await?;
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, c) in request.corrections.iter().enumerate() {
        let Some(class) = classes.get(&c.retailer_id) else {
            errors.push((
                format!("corrections.{i}.retailer_id"),
                lang.pick("该零售户不在本预测表中", "Retailer not on this sheet")
                    .to_string(),
            ));
            continue;
        };
        if !seen.insert((c.retailer_id, c.spec_id)) {
            errors.push((
                format!("corrections.{i}.spec_id"),
                lang.pick("同一行重复", "Line listed twice").to_string(),
            ));
        }
        if let Err(e) = check_correction(c.value, Some(&c.reason), bounds.of(c.spec_id, class)) {
            let field = match e {
                domain::forecast::CellError::CorrectionReasonMissing
                | domain::forecast::CellError::ReasonTooLong => "reason",
                _ => "value",
            };
            errors.push((format!("corrections.{i}.{field}"), e.message(lang)));
        }
    }
    if request.corrections.is_empty() {
        errors.push((
            "corrections".into(),
            lang.pick("没有要修正的行", "Nothing to correct").into(),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_fields(
            lang.pick(
                "修正有误，未保存任何数据",
                "Some corrections are not valid; nothing was saved",
            ),
            errors,
        ));
    }
    let revisions =
        service::correct(&state, &current, &sheet, &steps, &request.corrections).await?;
    Ok(Json(SaveCellsResponse { revisions }))
}

/// Approves the sheet at the caller's level: it goes up to the next level,
/// or, at the marketing center, is final: every line's value becomes its
/// approved value and the sheet is locked.
#[utoipa::path(post, path = "/api/forecast/sheets/{id}/approve", tag = TAG, request_body = ApproveRequest,
    params(("id" = i64, Path, description = "Sheet id")),
    responses((status = 200, body = ReviewSheet), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<ApproveRequest>,
) -> ApiResult<Json<ReviewSheet>> {
    current.require(op::APPROVE)?;
    let lang = current.lang;
    let (sheet, steps, _) = readable(&state, &current, id).await?;
    check_comment(request.comment.as_deref(), false).map_err(|e| review_refused(lang, e))?;
    service::approve(
        &state,
        &current,
        &sheet,
        &steps,
        request.comment.as_deref(),
        request.at_level,
    )
    .await?;
    after_action(&state, &current, id).await
}

async fn after_action(
    state: &AppState,
    current: &CurrentUser,
    id: i64,
) -> ApiResult<Json<ReviewSheet>> {
    let sheet = store::sheet(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(current.lang))?;
    let units = org::units(&state.db.pool).await?;
    let steps = chain(&units, sheet.manager_unit);
    Ok(Json(review_sheet(state, current, &sheet, steps).await?))
}

/// Returns the sheet down with a comment: to the customer manager (level 0,
/// the default), who may change it and submit again, or to a level below.
#[utoipa::path(post, path = "/api/forecast/sheets/{id}/return", tag = TAG, request_body = ReturnRequest,
    params(("id" = i64, Path, description = "Sheet id")),
    responses((status = 200, body = ReviewSheet), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn return_sheet(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<ReturnRequest>,
) -> ApiResult<Json<ReviewSheet>> {
    current.require(op::RETURN)?;
    let lang = current.lang;
    let (sheet, steps, _) = readable(&state, &current, id).await?;
    check_comment(Some(&request.comment), true).map_err(|e| review_refused(lang, e))?;
    service::return_sheet(
        &state,
        &current,
        &sheet,
        &steps,
        request.to_level,
        &request.comment,
        request.at_level,
    )
    .await?;
    after_action(&state, &current, id).await
}

/// Everything that happened to one line: the customer manager's value and
/// reason, the baseline, every correction (who, when, level, from, to, why)
/// and the approved value. Read by the sheet's reviewers and its manager.
#[utoipa::path(get, path = "/api/forecast/sheets/{id}/lines/{retailer_id}/{spec_id}/history", tag = TAG,
    params(("id" = i64, Path, description = "Sheet id"), ("retailer_id" = i64, Path, description = "Retailer id"),
        ("spec_id" = i64, Path, description = "Spec id")),
    responses((status = 200, body = LineHistory), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn line_history(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((id, retailer_id, spec_id)): Path<(i64, i64, i64)>,
) -> ApiResult<Json<LineHistory>> {
    current.require(op::LINE_HISTORY)?;
    let own = current.role() == Role::CustomerManager
        && store::sheet(&state.db.pool, id)
            .await?
            .is_some_and(|s| s.manager_id == current.user.id);
    if !own {
        readable(&state, &current, id).await?;
    }
    store::line_history(&state.db.pool, id, retailer_id, spec_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(current.lang))
}
