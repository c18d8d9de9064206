//! Monthly demand forecasting (卷烟需求预测): the marketing center opens a
//! cycle; each customer manager fills a sheet of their retailers in scope ×
//! the cycle's specs, helped by history and the system baseline, and submits.
//!
//! Scope: cycles are read by all staff and changed by the marketing center.
//! A customer manager reads and writes only their own sheet, only while the
//! cycle is open, the sheet is a draft (or returned) and the deadline (or the
//! date it was reopened to) has not passed. The marketing center and admins
//! read any sheet.

use domain::policy::op;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use domain::forecast::review;
use domain::forecast::stored::BaselineStatus;
use domain::forecast::view::{
    CellWrite, CycleList, CycleProgress, CycleStatus, CycleView, ForecastBound, ImportReport,
    ReopenRequest, SaveCellsRequest, SaveCellsResponse, SheetStatus, SheetView,
};
use domain::forecast::{
    check_cycle, check_for_submit, check_reason, check_value, default_month, entry_open,
    CycleInput, ForecastRules,
};
use domain::month::YearMonth;
use domain::{ErrorBody, ErrorCode, Lang, Role};
use serde::Deserialize;
use serde_json::json;

use crate::clock::today;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::service::baselines;
use crate::service::forecast::{self as service, closed};
use crate::service::reach::Narrow;
use crate::service::reports;
use crate::store::forecast::{self as store, Sheet};
use crate::store::{audit, specs};
use crate::xlsx;
use crate::AppState;

const TAG: &str = "forecast";
/// Months of history behind the baseline and the helpers.
const HISTORY_MONTHS: i64 = baselines::WINDOW;

async fn cycle_or_404(state: &AppState, id: i64, lang: Lang) -> ApiResult<CycleView> {
    store::cycle(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(lang))
}

fn cycle_invalid(lang: Lang, errors: Vec<domain::forecast::CycleError>) -> ApiError {
    let body = ErrorBody::new(
        ErrorCode::Validation,
        lang.pick(
            "预测设置有误，请按提示修改",
            "Some settings are not valid; correct them",
        ),
    );
    ApiError::validation(
        errors
            .into_iter()
            .fold(body, |b, e| b.with_field(e.field(), e.message(lang))),
    )
}

async fn check_input(state: &AppState, input: &CycleInput, lang: Lang) -> ApiResult<()> {
    let known: Vec<i64> = specs::list(&state.db.pool)
        .await?
        .iter()
        .map(|s| s.id)
        .collect();
    let errors = check_cycle(input, &known, today());
    if errors.is_empty() {
        Ok(())
    } else {
        Err(cycle_invalid(lang, errors))
    }
}

/// The forecast cycles, latest first, with the defaults for a new one.
#[utoipa::path(get, path = "/api/forecast/cycles", tag = TAG,
    responses((status = 200, body = CycleList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn cycles(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<CycleList>> {
    current.require(op::CYCLES)?;
    let today = today();
    Ok(Json(CycleList {
        today,
        default_month: default_month(today),
        cycles: store::cycles(&state.db.pool).await?,
    }))
}

/// Opens a cycle for a month (marketing center).
#[utoipa::path(post, path = "/api/forecast/cycles", tag = TAG, request_body = CycleInput,
    responses((status = 200, body = CycleView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn open_cycle(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(input): ApiJson<CycleInput>,
) -> ApiResult<Json<CycleView>> {
    current.require(op::OPEN_CYCLE)?;
    let lang = current.lang;
    check_input(&state, &input, lang).await?;
    let id = service::open_cycle(&state, current.user.id, lang, &input).await?;
    Ok(Json(cycle_or_404(&state, id, lang).await?))
}

/// Changes a cycle's month, specs, scope or deadlines; only before the first
/// entry (marketing center).
#[utoipa::path(put, path = "/api/forecast/cycles/{id}", tag = TAG, request_body = CycleInput,
    params(("id" = i64, Path, description = "Cycle id")),
    responses((status = 200, body = CycleView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_cycle(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<CycleInput>,
) -> ApiResult<Json<CycleView>> {
    current.require(op::EDIT_CYCLE)?;
    let lang = current.lang;
    let cycle = cycle_or_404(&state, id, lang).await?;
    if cycle.status == CycleStatus::Closed {
        return Err(closed(lang));
    }
    check_input(&state, &input, lang).await?;
    service::edit_cycle(&state, current.user.id, lang, id, &input).await?;
    Ok(Json(cycle_or_404(&state, id, lang).await?))
}

/// Closes a cycle: no more entry (marketing center).
#[utoipa::path(post, path = "/api/forecast/cycles/{id}/close", tag = TAG,
    params(("id" = i64, Path, description = "Cycle id")),
    responses((status = 200, body = CycleView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close_cycle(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<CycleView>> {
    current.require(op::CLOSE_CYCLE)?;
    cycle_or_404(&state, id, current.lang).await?;
    service::close_cycle(&state, current.user.id, current.lang, id).await?;
    Ok(Json(cycle_or_404(&state, id, current.lang).await?))
}

/// Each customer manager's sheet in a cycle and how far it is, over the
/// reader's part of the company (narrowed to a unit or manager inside it
/// if asked).
#[utoipa::path(get, path = "/api/forecast/cycles/{id}/progress", tag = TAG,
    params(("id" = i64, Path, description = "Cycle id"), Narrow),
    responses((status = 200, body = CycleProgress), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn progress(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Query(narrow): Query<Narrow>,
) -> ApiResult<Json<CycleProgress>> {
    current.require(op::PROGRESS)?;
    let report = reports::progress(&state, &current.user, id, narrow, current.lang).await?;
    Ok(Json(report))
}

/// Lets one customer manager enter after the deadline, until a date
/// (marketing center).
#[utoipa::path(post, path = "/api/forecast/cycles/{id}/reopen", tag = TAG, request_body = ReopenRequest,
    params(("id" = i64, Path, description = "Cycle id")),
    responses((status = 200, body = CycleProgress), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reopen(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<ReopenRequest>,
) -> ApiResult<Json<CycleProgress>> {
    current.require(op::REOPEN)?;
    let lang = current.lang;
    let cycle = cycle_or_404(&state, id, lang).await?;
    if request.until < today() {
        return Err(ApiError::validation(
            ErrorBody::new(ErrorCode::Validation, lang.pick("日期有误", "Invalid date"))
                .with_field(
                    "until",
                    lang.pick("请选择今天或以后的日期", "Pick today or later"),
                ),
        ));
    }
    let sheet = store::sheet(&state.db.pool, id, request.manager_id)
        .await?
        .ok_or_else(|| {
            ApiError::validation(
                ErrorBody::new(
                    ErrorCode::Validation,
                    lang.pick("客户经理有误", "Invalid manager"),
                )
                .with_field(
                    "manager_id",
                    lang.pick(
                        "本期预测没有该客户经理的零售户",
                        "This manager has no retailers in the cycle",
                    ),
                ),
            )
        })?;
    service::reopen(
        &state,
        current.user.id,
        lang,
        &sheet,
        request.manager_id,
        request.until,
    )
    .await?;
    let sheets = reports::sheet_progress(&state, &cycle, lang).await?;
    Ok(Json(CycleProgress { cycle, sheets }))
}

/// Whose sheet to read: a customer manager's own; others name one.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SheetQuery {
    /// The customer manager (marketing center and admins).
    pub manager_id: Option<i64>,
}

async fn readable_sheet(
    state: &AppState,
    current: &CurrentUser,
    cycle_id: i64,
    query: &SheetQuery,
) -> ApiResult<(CycleView, Sheet)> {
    let lang = current.lang;
    let manager = match current.role() {
        Role::CustomerManager => current.user.id,
        Role::MarketingCenter | Role::Admin => query.manager_id.ok_or_else(|| {
            ApiError::bad_request(lang.pick(
                "请指定客户经理 (manager_id)",
                "Name the manager (manager_id)",
            ))
        })?,
        _ => return Err(ApiError::forbidden(lang)),
    };
    let cycle = cycle_or_404(state, cycle_id, lang).await?;
    let sheet = store::sheet(&state.db.pool, cycle_id, manager)
        .await?
        .ok_or_else(|| no_sheet(lang))?;
    Ok((cycle, sheet))
}

fn no_sheet(lang: Lang) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        lang.pick(
            "本期预测没有您负责的零售户",
            "None of your retailers is in this cycle",
        ),
    )
}

/// Why entry is closed, if it is.
fn entry_block(cycle: &CycleView, sheet: &Sheet, lang: Lang) -> Option<ApiError> {
    if cycle.status == CycleStatus::Closed {
        Some(closed(lang))
    } else if !sheet.status.editable() {
        Some(ApiError::conflict(lang.pick(
            "预测表已提交，不能再修改",
            "The sheet was submitted and cannot be changed",
        )))
    } else if !entry_open(today(), cycle.submit_deadline, sheet.reopened_until) {
        Some(ApiError::conflict(lang.pick(
            "已过提交截止日期，如需补录请联系营销中心",
            "The deadline has passed; ask the marketing center to reopen entry",
        )))
    } else {
        None
    }
}

async fn writable_sheet(
    state: &AppState,
    current: &CurrentUser,
    cycle_id: i64,
) -> ApiResult<(CycleView, Sheet)> {
    current.require(op::SAVE_CELLS)?;
    let (cycle, sheet) =
        readable_sheet(state, current, cycle_id, &SheetQuery { manager_id: None }).await?;
    match entry_block(&cycle, &sheet, current.lang) {
        Some(e) => Err(e),
        None => Ok((cycle, sheet)),
    }
}

/// Builds the sheet with its helpers: history, baseline, turnover, bounds.
pub async fn load_sheet(state: &AppState, cycle: CycleView, sheet: &Sheet) -> ApiResult<SheetView> {
    let pool = &state.db.pool;
    let rules = store::rules(pool).await?;
    let rows = store::sheet_rows(pool, sheet.id).await?;
    let specs = cycle.specs.clone();
    let cells = rows.len() * specs.len();
    let last = store::last_history_month(pool, cycle.month)
        .await?
        .unwrap_or(cycle.month.plus(-1));
    let first = last.plus(1 - HISTORY_MONTHS);
    let last_year = cycle.month.plus(-12);
    // Stored by the last recompute; computed now only for a month no run
    // has stored yet, which needs the whole window of history. Otherwise
    // the view shows two months of it: reading the window (240,000 rows for
    // a city sheet) only to keep two made opening a sheet slow and its
    // memory large.
    let stored = baselines::stored_for_sheet(state, sheet.id, cycle.id, cycle.month).await?;
    let history = match stored {
        Some(_) => store::sheet_orders_in(pool, sheet.id, cycle.id, &[last, last_year]).await?,
        None => store::sheet_history(pool, sheet.id, first).await?,
    };
    let turnover = store::sheet_turnover(pool, sheet.id).await?;
    let bounds = store::bounds(pool, cycle.id, rules.default_bound).await?;
    let mut conn = pool.acquire().await?;
    let lines: HashMap<(i64, i64), store::Line> = store::lines(&mut conn, sheet.id)
        .await?
        .into_iter()
        .map(|l| ((l.retailer_id, l.spec_id), l))
        .collect();
    drop(conn);
    let corrections = crate::store::review::sheet_corrections(pool, sheet.id).await?;
    let returned = if sheet.status == SheetStatus::Returned {
        crate::store::review::actions(pool, sheet.id)
            .await?
            .into_iter()
            .rev()
            .find(|a| a.action == domain::forecast::view::ReviewActionKind::Return)
    } else {
        None
    };

    // One pass over the history: a series per retailer × spec over the
    // window.
    let window = HISTORY_MONTHS as usize;
    let mut series: HashMap<(i64, i64), Vec<f64>> = HashMap::new();
    for &(retailer, spec, month, cartons) in &history {
        let Ok(i) = usize::try_from(first.months_until(month)) else {
            continue;
        };
        if i < window {
            series
                .entry((retailer, spec))
                .or_insert_with(|| vec![0.0; window])[i] = cartons as f64;
        }
    }
    let stored = match stored {
        Some(stored) => stored,
        None => {
            baselines::compute_for_sheet(state, sheet.id, cycle.month, (first, last), &series)
                .await?
        }
    };
    let no_orders = vec![0.0; window];
    let at = |s: &[f64], month: YearMonth| {
        usize::try_from(first.months_until(month))
            .ok()
            .and_then(|i| s.get(i))
            .map_or(0, |&v| v as i64)
    };

    let mut view = SheetView {
        sheet_id: sheet.id,
        manager_id: sheet.manager_id,
        status: sheet.status,
        editable: entry_block(&cycle, sheet, Lang::Zh).is_none(),
        deadline: sheet
            .reopened_until
            .map_or(cycle.submit_deadline, |d| d.max(cycle.submit_deadline)),
        rules,
        value: Vec::with_capacity(cells),
        reason: Vec::with_capacity(cells),
        revision: Vec::with_capacity(cells),
        bound: Vec::with_capacity(cells),
        baseline: Vec::with_capacity(cells),
        baseline_low: Vec::with_capacity(cells),
        baseline_high: Vec::with_capacity(cells),
        last_month: Vec::with_capacity(cells),
        last_year: Vec::with_capacity(cells),
        turnover: Vec::with_capacity(cells),
        last_month_of: last,
        returned,
        corrections,
        specs,
        rows,
        cycle,
    };
    for row in &view.rows {
        for spec in &view.specs {
            let key = (row.retailer_id, spec.spec_id);
            let line = lines.get(&key);
            // A reviewer's correction in effect is the value the manager sees.
            view.value.push(line.and_then(|l| l.current.or(l.entered)));
            view.reason.push(line.and_then(|l| l.reason.clone()));
            view.revision.push(line.map_or(0, |l| l.revision));
            view.bound.push(bounds.of(spec.spec_id, &row.class_code));
            let history = series.get(&key).unwrap_or(&no_orders);
            // A series without history: 0, interval 0–0.
            let (baseline, low, high) = stored.get(&key).copied().unwrap_or((0, 0, 0));
            view.baseline.push(baseline);
            view.baseline_low.push(low);
            view.baseline_high.push(high);
            view.last_month.push(at(history, last));
            view.last_year.push(at(history, last_year));
            // Turnover is the retailer's own figure only once it has joined.
            view.turnover
                .push(turnover.get(&key).copied().filter(|_| row.online));
        }
    }
    Ok(view)
}

/// A customer manager's sheet with history, baseline and turnover beside each
/// cell. The marketing center and admins name the manager.
#[utoipa::path(get, path = "/api/forecast/cycles/{id}/sheet", tag = TAG,
    params(("id" = i64, Path, description = "Cycle id"), SheetQuery),
    responses((status = 200, body = SheetView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_sheet(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<SheetQuery>,
) -> ApiResult<Json<SheetView>> {
    current.require(op::SHEET)?;
    let (cycle, sheet) = readable_sheet(&state, &current, id, &query).await?;
    Ok(Json(load_sheet(&state, cycle, &sheet).await?))
}

/// Checks cells against the sheet; field errors are `cells.{i}.{field}`.
fn check_cells(view: &SheetView, cells: &[CellWrite], lang: Lang) -> Vec<(String, String)> {
    let index = view.cell_index();
    let mut seen = std::collections::HashSet::new();
    let mut errors = Vec::new();
    for (i, cell) in cells.iter().enumerate() {
        let Some(at) = index.get(cell.retailer_id, cell.spec_id) else {
            errors.push((
                format!("cells.{i}.retailer_id"),
                lang.pick(
                    "该零售户或品规不在本期预测表中",
                    "Retailer or spec not on this sheet",
                )
                .to_string(),
            ));
            continue;
        };
        if !seen.insert((cell.retailer_id, cell.spec_id)) {
            errors.push((
                format!("cells.{i}.spec_id"),
                lang.pick("同一格重复", "Cell listed twice").to_string(),
            ));
        }
        if let Some(v) = cell.value {
            if let Err(e) = check_value(v, view.bound[at]) {
                errors.push((format!("cells.{i}.value"), e.message(lang)));
            }
        }
        if let Err(e) = check_reason(cell.reason.as_deref()) {
            errors.push((format!("cells.{i}.reason"), e.message(lang)));
        }
    }
    errors
}

fn invalid_cells(lang: Lang, errors: Vec<(String, String)>) -> ApiError {
    let count = errors.len();
    let message = match lang {
        Lang::Zh => format!("有 {count} 处需要修改，未保存任何数据"),
        Lang::En => format!("{count} entries need correcting; nothing was saved"),
    };
    ApiError::invalid_fields(message, errors)
}

/// Saves many cells of the caller's sheet in one transaction (autosave and
/// paste). Each cell names the revision it was based on; if any is older
/// than the stored one, nothing is saved and the answer is 409.
#[utoipa::path(put, path = "/api/forecast/cycles/{id}/sheet/cells", tag = TAG, request_body = SaveCellsRequest,
    params(("id" = i64, Path, description = "Cycle id")),
    responses((status = 200, body = SaveCellsResponse), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_cells(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<SaveCellsRequest>,
) -> ApiResult<Json<SaveCellsResponse>> {
    current.require(op::SAVE_CELLS)?;
    let lang = current.lang;
    let (cycle, sheet) = writable_sheet(&state, &current, id).await?;
    let view = load_bounds_only(&state, cycle, &sheet).await?;
    let errors = check_cells(&view, &request.cells, lang);
    if !errors.is_empty() {
        return Err(invalid_cells(lang, errors));
    }
    let revisions = service::write_cells(
        &state,
        current.user.id,
        lang,
        sheet.id,
        &request.cells,
        true,
        "forecast.cells.save",
    )
    .await?;
    Ok(Json(SaveCellsResponse { revisions }))
}

/// The sheet's rows, specs and bounds, without the history behind the
/// helpers: what checking a write needs.
async fn load_bounds_only(
    state: &AppState,
    cycle: CycleView,
    sheet: &Sheet,
) -> ApiResult<SheetView> {
    let pool = &state.db.pool;
    let rules = store::rules(pool).await?;
    let rows = store::sheet_rows(pool, sheet.id).await?;
    let bounds = store::bounds(pool, cycle.id, rules.default_bound).await?;
    let bound: Vec<i64> = rows
        .iter()
        .flat_map(|r| {
            cycle
                .specs
                .iter()
                .map(|s| bounds.of(s.spec_id, &r.class_code))
        })
        .collect();
    Ok(SheetView {
        sheet_id: sheet.id,
        manager_id: sheet.manager_id,
        status: sheet.status,
        editable: true,
        deadline: cycle.submit_deadline,
        rules,
        specs: cycle.specs.clone(),
        rows,
        value: Vec::new(),
        reason: Vec::new(),
        revision: Vec::new(),
        bound,
        baseline: Vec::new(),
        baseline_low: Vec::new(),
        baseline_high: Vec::new(),
        last_month: Vec::new(),
        last_year: Vec::new(),
        turnover: Vec::new(),
        last_month_of: cycle.month,
        returned: None,
        corrections: Vec::new(),
        cycle,
    })
}

/// Submits the caller's sheet: every cell entered, within its bound, and
/// with a reason where it is far from the baseline. Afterwards the sheet is
/// read-only to the manager unless it is returned.
#[utoipa::path(post, path = "/api/forecast/cycles/{id}/sheet/submit", tag = TAG,
    params(("id" = i64, Path, description = "Cycle id")),
    responses((status = 200, body = SheetView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submit(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<SheetView>> {
    current.require(op::SUBMIT)?;
    let lang = current.lang;
    let (cycle, sheet) = writable_sheet(&state, &current, id).await?;
    let view = load_sheet(&state, cycle.clone(), &sheet).await?;
    // A reviewer's reason stands for a corrected line.
    let corrected: HashMap<(i64, i64), &str> = view
        .corrections
        .iter()
        .map(|c| ((c.retailer_id, c.spec_id), c.reason.as_str()))
        .collect();
    let mut errors = Vec::new();
    let mut baselines = Vec::with_capacity(view.value.len());
    for (r, row) in view.rows.iter().enumerate() {
        for (s, spec) in view.specs.iter().enumerate() {
            let i = view.index(r, s);
            let reason = review::submit_reason(
                view.reason[i].as_deref(),
                corrected.get(&(row.retailer_id, spec.spec_id)).copied(),
            );
            if let Err(e) = check_for_submit(
                view.value[i],
                reason,
                view.baseline[i],
                view.bound[i],
                &view.rules,
            ) {
                errors.push((
                    format!("cells.{}.{}", row.retailer_id, spec.spec_id),
                    e.message(lang),
                ));
            }
            baselines.push(store::Recorded {
                retailer_id: row.retailer_id,
                spec_id: spec.spec_id,
                baseline: view.baseline[i],
                last_month: view.last_month[i],
                last_year: view.last_year[i],
            });
        }
    }
    if !errors.is_empty() {
        let count = errors.len();
        let message = match lang {
            Lang::Zh => format!("还有 {count} 格需要填写或说明原因，未提交"),
            Lang::En => format!("{count} cells still need a value or a reason; not submitted"),
        };
        return Err(ApiError::invalid_fields(message, errors));
    }
    let checked: HashMap<(i64, i64), i64> = view
        .rows
        .iter()
        .enumerate()
        .flat_map(|(r, row)| {
            view.specs
                .iter()
                .enumerate()
                .map(move |(s, spec)| ((row.retailer_id, spec.spec_id), (r, s)))
        })
        .map(|(key, (r, s))| (key, view.revision[view.index(r, s)]))
        .collect();
    service::submit(
        &state,
        current.user.id,
        lang,
        sheet.id,
        &checked,
        &baselines,
    )
    .await?;
    let sheet = Sheet {
        status: SheetStatus::Submitted,
        ..sheet
    };
    Ok(Json(load_sheet(&state, cycle, &sheet).await?))
}

/// The sheet as an xlsx workbook, laid out like the grid.
#[utoipa::path(get, path = "/api/forecast/cycles/{id}/sheet/export", tag = TAG,
    params(("id" = i64, Path, description = "Cycle id"), SheetQuery),
    responses((status = 200, description = "xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<SheetQuery>,
) -> ApiResult<impl IntoResponse> {
    current.require(op::EXPORT_SHEET)?;
    let (cycle, sheet) = readable_sheet(&state, &current, id, &query).await?;
    let view = load_sheet(&state, cycle, &sheet).await?;
    let bytes = xlsx::write_sheet(&view, current.lang).map_err(|e| ApiError::Internal(e.into()))?;
    let name = format!("forecast-{}-{}.xlsx", view.cycle.month, view.manager_id);
    Ok((
        [
            (header::CONTENT_TYPE, xlsx::CONTENT_TYPE.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    ))
}

/// Replaces the sheet's values with those of an xlsx workbook in the export's
/// layout. Every cell is checked; with any error nothing is saved and each
/// error names its cell (such as `E7`).
#[utoipa::path(post, path = "/api/forecast/cycles/{id}/sheet/import", tag = TAG,
    params(("id" = i64, Path, description = "Cycle id")),
    request_body(description = "xlsx workbook (sent as xlsx or as plain bytes)",
        content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (Vec<u8> = "application/octet-stream"))),
    responses((status = 200, body = ImportReport), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Json<ImportReport>> {
    current.require(op::IMPORT_SHEET)?;
    let lang = current.lang;
    let (cycle, sheet) = writable_sheet(&state, &current, id).await?;
    let view = load_bounds_only(&state, cycle, &sheet).await?;
    let parsed = crate::untrusted::read_sheet(body, view, lang)
        .await?
        .map_err(|errors| invalid_import(lang, errors))?;
    let mut conn = state.db.pool.acquire().await?;
    let reasons: HashMap<(i64, i64), Option<String>> = store::lines(&mut conn, sheet.id)
        .await?
        .into_iter()
        .map(|l| ((l.retailer_id, l.spec_id), l.reason))
        .collect();
    drop(conn);
    let cells: Vec<CellWrite> = parsed
        .cells
        .into_iter()
        .map(|(retailer_id, spec_id, value)| CellWrite {
            retailer_id,
            spec_id,
            value,
            reason: reasons.get(&(retailer_id, spec_id)).cloned().flatten(),
            base_revision: 0,
        })
        .collect();
    service::write_cells(
        &state,
        current.user.id,
        lang,
        sheet.id,
        &cells,
        false,
        "forecast.sheet.import",
    )
    .await?;
    Ok(Json(ImportReport {
        rows: parsed.rows,
        cells: cells.len(),
    }))
}

fn invalid_import(lang: Lang, errors: Vec<(String, String)>) -> ApiError {
    let count = errors.len();
    let message = match lang {
        Lang::Zh => format!("导入文件有 {count} 处错误，未导入任何数据"),
        Lang::En => format!("The file has {count} errors; nothing was imported"),
    };
    ApiError::invalid_fields(message, errors)
}

/// The forecast rules: deviation thresholds and the default sanity bound.
#[utoipa::path(get, path = "/api/forecast/rules", tag = TAG,
    responses((status = 200, body = ForecastRules), (status = 403, body = ErrorBody)))]
pub async fn get_rules(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<ForecastRules>> {
    current.require(op::RULES_READ)?;
    Ok(Json(store::rules(&state.db.pool).await?))
}

/// Changes the forecast rules (marketing center); audited with from and to.
#[utoipa::path(put, path = "/api/forecast/rules", tag = TAG, request_body = ForecastRules,
    responses((status = 200, body = ForecastRules), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_rules(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(rules): ApiJson<ForecastRules>,
) -> ApiResult<Json<ForecastRules>> {
    current.require(op::RULES_CHANGE)?;
    let lang = current.lang;
    let errors = rules.check();
    if !errors.is_empty() {
        let body = ErrorBody::new(
            ErrorCode::Validation,
            lang.pick("设置有误", "Invalid settings"),
        );
        return Err(ApiError::validation(
            errors
                .into_iter()
                .fold(body, |b, (f, zh, en)| b.with_field(f, lang.pick(zh, en))),
        ));
    }
    let before = store::rules(&state.db.pool).await?;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    store::set_rules(&mut tx, &rules).await?;
    audit::record_and_commit(
        tx,
        Some(current.user.id),
        "forecast.rules.change",
        "settings",
        "forecast_rules",
        &json!({ "from": before, "to": rules }),
    )
    .await?;
    Ok(Json(rules))
}

/// The upper sanity bounds set per spec and customer class (the rules'
/// default bound applies elsewhere).
#[utoipa::path(get, path = "/api/forecast/bounds", tag = TAG,
    responses((status = 200, body = Vec<ForecastBound>), (status = 403, body = ErrorBody)))]
pub async fn get_bounds(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<Vec<ForecastBound>>> {
    current.require(op::BOUNDS_READ)?;
    Ok(Json(store::all_bounds(&state.db.pool).await?))
}

/// Sets sanity bounds per spec and class (marketing center), all or none;
/// field errors are `bounds.{i}.{field}`. Audited with from and to.
#[utoipa::path(put, path = "/api/forecast/bounds", tag = TAG, request_body = Vec<ForecastBound>,
    responses((status = 200, body = Vec<ForecastBound>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_bounds(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(bounds): ApiJson<Vec<ForecastBound>>,
) -> ApiResult<Json<Vec<ForecastBound>>> {
    current.require(op::BOUNDS_CHANGE)?;
    let lang = current.lang;
    let pool = &state.db.pool;
    let specs: Vec<i64> = specs::list(pool).await?.iter().map(|s| s.id).collect();
    let classes: Vec<String> = sqlx::query_scalar("SELECT code FROM customer_classes")
        .fetch_all(pool)
        .await?;
    let mut errors = Vec::new();
    for (i, b) in bounds.iter().enumerate() {
        if !specs.contains(&b.spec_id) {
            errors.push((
                format!("bounds.{i}.spec_id"),
                lang.pick("品规不存在", "No such spec").to_string(),
            ));
        }
        if !classes.contains(&b.class_code) {
            errors.push((
                format!("bounds.{i}.class_code"),
                lang.pick("档位不存在", "No such class").to_string(),
            ));
        }
        if let Err(e) = domain::quantity::Cartons::new(b.max_cartons) {
            errors.push((
                format!("bounds.{i}.max_cartons"),
                e.message(lang).to_string(),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(invalid_cells(lang, errors));
    }
    let before = store::all_bounds(pool).await?;
    let mut conn = pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    store::set_bounds(&mut tx, &bounds).await?;
    for b in &bounds {
        let from = before
            .iter()
            .find(|o| o.spec_id == b.spec_id && o.class_code == b.class_code)
            .map(|o| o.max_cartons);
        audit::record(
            &mut tx,
            Some(current.user.id),
            "forecast.bound.change",
            "forecast_bound",
            &format!("{}:{}", b.spec_id, b.class_code),
            &json!({ "from": from, "to": b.max_cartons }),
        )
        .await?;
    }
    tx.commit().await?;
    drop(conn);
    Ok(Json(store::all_bounds(pool).await?))
}

/// The stored baselines: the history's last month, the months stored with
/// the history month behind them, and the latest recompute runs with their
/// progress (marketing center and administrators).
#[utoipa::path(get, path = "/api/forecast/baselines", tag = TAG,
    responses((status = 200, body = BaselineStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn baselines(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<BaselineStatus>> {
    current.require(op::BASELINES)?;
    Ok(Json(baselines::status(&state.db).await?))
}

/// Recomputes every baseline in the background (marketing center): a run
/// starts now, or is queued behind the one under way (a request while one
/// is queued joins it). Answers at once with the status to follow.
#[utoipa::path(post, path = "/api/forecast/baselines/recompute", tag = TAG,
    responses((status = 202, body = BaselineStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn recompute_baselines(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<(axum::http::StatusCode, Json<BaselineStatus>)> {
    current.require(op::RECOMPUTE_BASELINES)?;
    let status = baselines::recompute(&state, current.user.id, current.lang).await?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(status)))
}
