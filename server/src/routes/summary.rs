//! The dashboard of a cycle, the export of the approved forecast, the
//! loading of actual orders and forecast accuracy.
//!
//! Scope: every staff level reads the dashboard and accuracy of its own
//! part of the company (`service::reports`); the marketing center and
//! admins export; only the marketing center loads actual orders.

use domain::policy::op;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use domain::forecast::actuals::check_rows;
use domain::forecast::view::{AccuracyReport, ActualsReport, CycleView, Dashboard};
use domain::month::YearMonth;
use domain::quantity::CaseSize;
use domain::{ErrorBody, ErrorCode, Lang};
use serde::Deserialize;
use serde_json::json;

use crate::clock::today;
use crate::error::{ApiError, ApiResult};
use crate::extract::CurrentUser;
use crate::service::reach::Narrow;
use crate::service::reports;
use crate::store::{audit, forecast as forecast_store, settings, summary};
use crate::xlsx;
use crate::AppState;

const TAG: &str = "forecast summary";
const CASE_SIZE_KEY: &str = "case_size";

async fn cycle_of(state: &AppState, id: i64, lang: Lang) -> ApiResult<CycleView> {
    forecast_store::cycle(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(lang))
}

/// Progress, totals by spec, department, manager and class against last
/// month, last year and the baseline, the largest deviations and the trend
/// of the last 12 months, over the reader's part of the company (narrowed
/// to a unit or manager inside it if asked). Totals count lines submitted
/// at least once; for a sample cycle the client scales them by
/// `cycle.scale_factor`.
#[utoipa::path(get, path = "/api/forecast/cycles/{id}/dashboard", tag = TAG,
    params(("id" = i64, Path, description = "Cycle id"), Narrow),
    responses((status = 200, body = Dashboard), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn dashboard(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Query(narrow): Query<Narrow>,
) -> ApiResult<Json<Dashboard>> {
    current.require(op::DASHBOARD)?;
    let report = reports::dashboard(&state, &current.user, id, narrow, current.lang).await?;
    Ok(Json(report))
}

/// What to export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// `xlsx` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
    /// For CSV: `lines` (default, one row per retailer × spec) or `specs`
    /// (totals per spec). The workbook holds both.
    #[serde(default)]
    pub kind: Option<String>,
    /// The language of the headers (`zh-CN` or `en`), for a link that
    /// cannot set `Accept-Language`; that header's otherwise.
    #[serde(default)]
    pub lang: Option<String>,
}

/// A CSV file Excel opens right on a Chinese Windows (see [`crate::csv_text`]).
fn csv_file(header: &[&str], rows: &[Vec<String>]) -> ApiResult<Vec<u8>> {
    crate::csv_text::file(header, rows).map_err(ApiError::Internal)
}

/// The approved forecast: an xlsx workbook (retailers × specs, and totals per
/// spec in 条 and 箱) or CSV. Only lines approved by the marketing center.
#[utoipa::path(get, path = "/api/forecast/cycles/{id}/approved", tag = TAG,
    params(("id" = i64, Path, description = "Cycle id"), ExportQuery),
    responses((status = 200, description = "xlsx workbook or CSV"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_approved(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<impl IntoResponse> {
    current.require(op::EXPORT_APPROVED)?;
    let lang = query
        .lang
        .as_deref()
        .map_or(current.lang, Lang::from_accept_language);
    let pool = &state.db.pool;
    let cycle = cycle_of(&state, id, lang).await?;
    let case_size = settings::get::<CaseSize>(pool, CASE_SIZE_KEY).await?;
    let lines = summary::approved_lines(pool, id).await?;
    let position: HashMap<i64, usize> = cycle
        .specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.spec_id, i))
        .collect();
    let month = cycle.month.to_string();
    let (bytes, content_type, name) = match (query.format.as_deref(), query.kind.as_deref()) {
        (None | Some("xlsx"), _) => {
            let mut retailers: Vec<xlsx::ApprovedRetailer> = Vec::new();
            for line in &lines {
                if retailers
                    .last()
                    .is_none_or(|r| r.licence_no != line.licence_no)
                {
                    retailers.push(xlsx::ApprovedRetailer {
                        licence_no: line.licence_no.clone(),
                        name: line.retailer_name.clone(),
                        manager: line.manager_name.clone(),
                        unit: line.unit_name.clone(),
                        values: vec![None; cycle.specs.len()],
                    });
                }
                if let (Some(&s), Some(r)) = (position.get(&line.spec_id), retailers.last_mut()) {
                    r.values[s] = Some(line.cartons);
                }
            }
            let approved = xlsx::Approved {
                month: month.clone(),
                specs: &cycle.specs,
                retailers,
                case_size,
            };
            let bytes =
                xlsx::write_approved(&approved, lang).map_err(|e| ApiError::Internal(e.into()))?;
            (
                bytes,
                xlsx::CONTENT_TYPE,
                format!("approved-{}.xlsx", approved.month),
            )
        }
        (Some("csv"), None | Some("lines")) => {
            let header = match lang {
                Lang::Zh => [
                    "许可证号",
                    "零售户",
                    "客户经理",
                    "市场部",
                    "品规编码",
                    "品规",
                    "预测量（条）",
                ],
                Lang::En => [
                    "Licence",
                    "Retailer",
                    "Customer manager",
                    "Department",
                    "Spec code",
                    "Spec",
                    "Cartons",
                ],
            };
            let specs: HashMap<i64, (&str, &str)> = cycle
                .specs
                .iter()
                .map(|s| (s.spec_id, (s.code.as_str(), s.name.as_str())))
                .collect();
            let rows: Vec<Vec<String>> = lines
                .iter()
                .map(|line| {
                    let (code, spec) = specs.get(&line.spec_id).copied().unwrap_or(("", ""));
                    vec![
                        line.licence_no.clone(),
                        line.retailer_name.clone(),
                        line.manager_name.clone(),
                        line.unit_name.clone(),
                        code.to_string(),
                        spec.to_string(),
                        line.cartons.to_string(),
                    ]
                })
                .collect();
            (
                csv_file(&header, &rows)?,
                "text/csv; charset=utf-8",
                format!("approved-{month}-lines.csv"),
            )
        }
        (Some("csv"), Some("specs")) => {
            let mut totals = vec![0_i64; cycle.specs.len()];
            for line in &lines {
                if let Some(&s) = position.get(&line.spec_id) {
                    totals[s] += line.cartons;
                }
            }
            let header = match lang {
                Lang::Zh => ["品规编码", "品规", "预测量（条）", "预测量（箱）"],
                Lang::En => ["Spec code", "Spec", "Cartons", "Cases"],
            };
            let rows: Vec<Vec<String>> = cycle
                .specs
                .iter()
                .zip(&totals)
                .map(|(spec, &total)| {
                    vec![
                        spec.code.clone(),
                        spec.name.clone(),
                        total.to_string(),
                        format!("{:.2}", case_size.cases(total)),
                    ]
                })
                .collect();
            (
                csv_file(&header, &rows)?,
                "text/csv; charset=utf-8",
                format!("approved-{month}-specs.csv"),
            )
        }
        _ => {
            return Err(ApiError::validation(
                ErrorBody::new(
                    ErrorCode::Validation,
                    lang.pick("导出格式有误", "Unknown export format"),
                )
                .with_field(
                    "format",
                    lang.pick(
                        "格式为 xlsx 或 csv；csv 的内容为 lines 或 specs",
                        "Use xlsx or csv; csv kind is lines or specs",
                    ),
                ),
            ))
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    ))
}

/// The month whose actual orders are loaded.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ActualsQuery {
    /// `YYYY-MM`; the month must have ended.
    pub month: String,
}

/// Loads a month's actual orders from a CSV or xlsx file (columns: licence
/// number, spec code, cartons; a header row is allowed) and replaces what
/// was stored for that month. Every row is checked first; with any error
/// nothing is stored and each error names its line (`rows.{line}`).
#[utoipa::path(post, path = "/api/forecast/actuals", tag = TAG, params(ActualsQuery),
    request_body(content = Vec<u8>, description = "CSV (UTF-8) or xlsx", content_type = "application/octet-stream"),
    responses((status = 200, body = ActualsReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_actuals(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<ActualsQuery>,
    body: Bytes,
) -> ApiResult<Json<ActualsReport>> {
    current.require(op::IMPORT_ACTUALS)?;
    let lang = current.lang;
    let month: YearMonth = match query.month.parse() {
        Ok(m) if m < YearMonth::of_date(today()) => m,
        Ok(_) => {
            return Err(ApiError::invalid_fields(
                lang.pick("月份有误", "Invalid month"),
                vec![(
                    "month".into(),
                    lang.pick(
                        "该月尚未结束，不能导入实际订货",
                        "The month has not ended; actual orders cannot be loaded yet",
                    )
                    .into(),
                )],
            ))
        }
        Err(_) => {
            return Err(ApiError::invalid_fields(
                lang.pick("月份有误", "Invalid month"),
                vec![(
                    "month".into(),
                    lang.pick("月份格式为 YYYY-MM", "Months are written YYYY-MM")
                        .into(),
                )],
            ))
        }
    };
    let not_readable = || {
        ApiError::invalid_fields(
            lang.pick("文件无法读取", "The file cannot be read"),
            vec![(
                "file".into(),
                lang.pick(
                    "请上传 CSV（UTF-8）或 xlsx 文件",
                    "Upload a CSV (UTF-8) or xlsx file",
                )
                .into(),
            )],
        )
    };
    let rows = crate::untrusted::actual_rows(body, lang)
        .await?
        .ok_or_else(not_readable)?;
    if rows.is_empty() {
        return Err(not_readable());
    }
    let pool = &state.db.pool;
    let (licences, specs) = summary::import_keys(pool).await?;
    let checked = check_rows(&rows, &licences, &specs).map_err(|errors| {
        let count = errors.len();
        ApiError::invalid_fields(
            match lang {
                Lang::Zh => format!("文件有 {count} 行有误，未导入任何数据"),
                Lang::En => format!("{count} rows are not valid; nothing was loaded"),
            },
            errors
                .into_iter()
                .map(|(line, e)| (format!("rows.{line}"), e.message(lang))),
        )
    })?;
    let cartons = checked.iter().map(|r| r.2).sum();
    let mut conn = pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    summary::replace_actuals(&mut tx, month, &checked).await?;
    audit::record_and_commit(
        tx,
        Some(current.user.id),
        "forecast.actuals.load",
        "monthly_orders",
        &month.to_string(),
        &json!({ "rows": checked.len(), "cartons": cartons }),
    )
    .await?;
    // The month closed: the stored baselines are computed again.
    state
        .baselines
        .request_after(
            domain::forecast::stored::RunSource::Actuals,
            Some(current.user.id),
        )
        .await;
    Ok(Json(ActualsReport {
        month,
        rows: checked.len(),
        cartons,
    }))
}

/// Which retailer's lines to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AccuracyQuery {
    /// List all of this retailer's lines.
    #[serde(default)]
    pub retailer_id: Option<i64>,
}

/// Forecast accuracy of a cycle's approved lines against the actual orders
/// of its month: max(0, 1 − Σ|F − A| / ΣA) per spec, department, customer
/// manager (with each one's rank in the company) and retailer, the per-line
/// relative error |F − A| / A, the trend over months, and the same figures
/// for the managers' own values and the baseline; over the reader's part of
/// the company (narrowed to a unit or manager inside it if asked).
#[utoipa::path(get, path = "/api/forecast/cycles/{id}/accuracy", tag = TAG,
    params(("id" = i64, Path, description = "Cycle id"), Narrow, AccuracyQuery),
    responses((status = 200, body = AccuracyReport), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn accuracy(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Query(narrow): Query<Narrow>,
    Query(query): Query<AccuracyQuery>,
) -> ApiResult<Json<AccuracyReport>> {
    current.require(op::ACCURACY)?;
    let report = reports::accuracy(
        &state,
        &current.user,
        id,
        narrow,
        query.retailer_id,
        current.lang,
    )
    .await?;
    Ok(Json(report))
}
