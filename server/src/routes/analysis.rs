//! Sales and stock analysis (经营分析) and sales plans. Every staff level
//! reads its own subtree (`Access::Report`); plans are set by the
//! marketing center.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::analysis::{PlanUpdate, PlansView, SalesAnalysis, StockAnalysis};
use domain::policy::op;
use domain::{ErrorBody, Lang};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::service::analysis::{self, AnalysisQuery};
use crate::service::reach::Narrow;
use crate::xlsx;
use crate::AppState;

const TAG: &str = "analysis";

/// The language of a workbook: the link's `lang`, else the caller's.
fn workbook_lang(query: &AnalysisQuery, current: &CurrentUser) -> Lang {
    query
        .lang
        .as_deref()
        .map(Lang::from_accept_language)
        .unwrap_or(current.lang)
}

/// The narrowing in a file name, so a department's and a manager's
/// workbooks do not share one.
fn scope_suffix(narrow: Narrow) -> String {
    match (narrow.unit_id, narrow.manager_id) {
        (_, Some(m)) => format!("-manager{m}"),
        (Some(u), None) => format!("-unit{u}"),
        (None, None) => String::new(),
    }
}

/// JSON, or the tables as an xlsx workbook with `format=xlsx`.
fn answer<T: serde::Serialize>(
    value: T,
    query: &AnalysisQuery,
    lang: Lang,
    name: &str,
    tables: impl FnOnce(&T) -> Vec<xlsx::Table>,
) -> ApiResult<Response> {
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(value).into_response()),
        Some("xlsx") => {
            let bytes =
                xlsx::write_tables(&tables(&value)).map_err(|e| ApiError::Internal(e.into()))?;
            Ok((
                [
                    (header::CONTENT_TYPE, xlsx::CONTENT_TYPE.to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}.xlsx\""),
                    ),
                ],
                bytes,
            )
                .into_response())
        }
        Some(_) => Err(ApiError::invalid_fields(
            lang.pick("导出格式有误", "Unknown export format"),
            vec![(
                "format".into(),
                lang.pick("格式为 json 或 xlsx", "Use json or xlsx").into(),
            )],
        )),
    }
}

/// Sales of the caller's subtree over a period: by month against last year
/// and plan, by week (confirmed online orders), by price class and band, by
/// department or manager, and brands and specs fastest growing first.
/// Values are at today's wholesale prices. Narrow with `unit_id` or
/// `manager_id`; `format=xlsx` gives the tables as a workbook.
#[utoipa::path(get, path = "/api/analysis/sales", tag = TAG, params(AnalysisQuery, Narrow),
    responses((status = 200, body = SalesAnalysis, description = "JSON, or an xlsx workbook with format=xlsx"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn sales(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<AnalysisQuery>,
    Query(narrow): Query<Narrow>,
) -> ApiResult<Response> {
    let lang = workbook_lang(&query, &current);
    let report = analysis::sales(&state, &current.user, narrow, &query, lang).await?;
    let name = format!(
        "sales-{}-{}m{}",
        report.end,
        report.months,
        scope_suffix(narrow)
    );
    answer(report, &query, lang, &name, |r| {
        analysis::sales_tables(r, lang)
    })
}

/// Social stock (社会库存) of the caller's subtree from the retailers'
/// recorded stock: per spec the monthly stock-to-sales ratio against the
/// norm (flagged above it), stock presence rate and stock per retailer; per
/// department or manager; and retailers by stock size and by breadth.
#[utoipa::path(get, path = "/api/analysis/stock", tag = TAG, params(StockQuery, Narrow),
    responses((status = 200, body = StockAnalysis, description = "JSON, or an xlsx workbook with format=xlsx"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn stock(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<StockQuery>,
    Query(narrow): Query<Narrow>,
) -> ApiResult<Response> {
    // Stock is what is recorded now, against the latest month's sales:
    // it has no period.
    let query = AnalysisQuery {
        format: query.format,
        lang: query.lang,
        ..AnalysisQuery::default()
    };
    let lang = workbook_lang(&query, &current);
    let report = analysis::stock(&state, &current.user, narrow, lang).await?;
    let name = format!("stock-{}{}", crate::clock::today(), scope_suffix(narrow));
    answer(report, &query, lang, &name, |r| {
        analysis::stock_tables(r, lang)
    })
}

/// The form of the stock analysis.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StockQuery {
    /// `xlsx` for the tables as a workbook; JSON otherwise.
    #[serde(default)]
    pub format: Option<String>,
    /// The workbook's language (`zh-CN` or `en`).
    #[serde(default)]
    pub lang: Option<String>,
}

/// The year of the plans.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PlansQuery {
    /// This year by default.
    #[serde(default)]
    pub year: Option<i32>,
}

/// Sales plans of a year for the market departments in the caller's subtree,
/// in cartons per department and month.
#[utoipa::path(get, path = "/api/analysis/plans", tag = TAG, params(PlansQuery, Narrow),
    responses((status = 200, body = PlansView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn get_plans(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<PlansQuery>,
    Query(narrow): Query<Narrow>,
) -> ApiResult<Json<PlansView>> {
    Ok(Json(
        analysis::plans(&state, &current.user, narrow, query.year, current.lang).await?,
    ))
}

/// Sets sales plans (marketing center): every cell is checked first, and
/// with any error nothing is stored.
#[utoipa::path(put, path = "/api/analysis/plans", tag = TAG, request_body = PlanUpdate,
    responses((status = 200, body = PlansView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_plans(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(update): ApiJson<PlanUpdate>,
) -> ApiResult<Json<PlansView>> {
    current.require(op::PLANS_CHANGE)?;
    Ok(Json(
        analysis::set_plans(&state, &current.user, update, current.lang).await?,
    ))
}
