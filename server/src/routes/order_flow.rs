//! Orders flowing on to the order and supply system (订单供货管理系统) and
//! the fill rate report: the marketing center's (`op::ORDER_*`,
//! `op::DELIVERIES_LOAD`, `op::ACTUALS_FROM_ORDERS`, `op::FILL_RATE`).
//! The export's columns and the delivery file are documented in the README
//! ("Orders to the order and supply system").

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use domain::policy::op;
use domain::replenishment::fill_rate::FillRateReport;
use domain::replenishment::order_flow::{
    ActualsFromOrders, ActualsFromOrdersRequest, DeliveriesLoaded, MarkedExported, OrderDays,
};
use domain::{ErrorBody, Lang};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::service::order_flow as service;
use crate::xlsx;
use crate::AppState;

const TAG: &str = "orders and supply";

/// An order day in the path, `YYYY-MM-DD`.
fn order_date(raw: &str, lang: Lang) -> ApiResult<NaiveDate> {
    raw.parse().map_err(|_| {
        let message = lang.pick(
            "订货日期格式为 YYYY-MM-DD",
            "Order days are written YYYY-MM-DD",
        );
        ApiError::invalid_fields(message, vec![("date".into(), message.into())])
    })
}

/// The language of a file: the link's `lang`, else the caller's.
fn file_lang(lang: Option<&str>, current: &CurrentUser) -> Lang {
    lang.map_or(current.lang, Lang::from_accept_language)
}

fn attachment(content_type: &str, name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

fn unknown_format(lang: Lang, allowed: &'static str) -> ApiError {
    ApiError::invalid_fields(
        lang.pick("导出格式有误", "Unknown export format"),
        vec![("format".into(), allowed.into())],
    )
}

/// The order days of the last 8 weeks and the coming 2, newest first: per
/// day its cutoff (China time), whether its window is still open, and the
/// confirmed, cancelled, exported and delivered orders with their cartons.
#[utoipa::path(get, path = "/api/replenishment/order-days", tag = TAG,
    responses((status = 200, body = OrderDays), (status = 403, body = ErrorBody)))]
pub async fn order_days(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<OrderDays>> {
    current.require(op::ORDER_DAYS)?;
    Ok(Json(service::order_days(&state).await?))
}

/// The format of an export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// `xlsx` (default) or `csv` (UTF-8 with a BOM).
    #[serde(default)]
    pub format: Option<String>,
    /// The language of the headers (`zh-CN` or `en`), for a link that
    /// cannot set `Accept-Language`; that header's otherwise.
    #[serde(default)]
    pub lang: Option<String>,
}

/// The locked orders of an order day for the order and supply system: one
/// line per retailer × spec with cartons, of the confirmed orders of a day
/// whose window has closed (409 while it is open). Columns: order date,
/// order id, licence no, retailer, class, spec code, spec name, cartons,
/// wholesale price (yuan/carton), amount (yuan), exported at (China time,
/// empty until marked). A pure read: see `…/exported` to mark them.
#[utoipa::path(get, path = "/api/replenishment/order-days/{date}/export", tag = TAG,
    params(("date" = String, Path, description = "Order day, YYYY-MM-DD"), ExportQuery),
    responses((status = 200, description = "xlsx workbook or CSV"), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(date): Path<String>,
    Query(query): Query<ExportQuery>,
) -> ApiResult<Response> {
    current.require(op::ORDER_EXPORT)?;
    let lang = file_lang(query.lang.as_deref(), &current);
    let date = order_date(&date, lang)?;
    let format = query.format.as_deref().unwrap_or("xlsx");
    if !matches!(format, "xlsx" | "csv") {
        return Err(unknown_format(
            lang,
            lang.pick("格式为 xlsx 或 csv", "Use xlsx or csv"),
        ));
    }
    let lines = service::export_lines(&state, date, lang).await?;
    if format == "csv" {
        let bytes = service::export_csv(&lines, lang)?;
        return Ok(attachment(
            "text/csv; charset=utf-8",
            &format!("orders-{date}.csv"),
            bytes,
        ));
    }
    let bytes = xlsx::write_tables(&[service::export_table(date, &lines, lang)])
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(attachment(
        xlsx::CONTENT_TYPE,
        &format!("orders-{date}.xlsx"),
        bytes,
    ))
}

/// Marks the locked orders of an order day not yet exported as exported
/// (time and by whom), in one statement: calls at once never mark an order
/// twice, and a second call marks none. 409 while the window is open.
#[utoipa::path(post, path = "/api/replenishment/order-days/{date}/exported", tag = TAG,
    params(("date" = String, Path, description = "Order day, YYYY-MM-DD")),
    responses((status = 200, body = MarkedExported), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn mark_exported(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(date): Path<String>,
) -> ApiResult<Json<MarkedExported>> {
    current.require(op::ORDER_MARK_EXPORTED)?;
    let date = order_date(&date, current.lang)?;
    Ok(Json(
        service::mark_exported(&state, current.user.id, date, current.lang).await?,
    ))
}

/// Loads delivered quantities from the order and supply system: xlsx or
/// CSV (UTF-8 with or without BOM, or GB18030) with a header row naming
/// 订货日期 (order date), 许可证号 (licence no), 品规编码 (spec code) and
/// 到货数量 (delivered). Every row is checked first: the order exists, its
/// window has closed, it is not cancelled, the spec is in it, delivered ≤
/// ordered; with any error nothing is stored and each error names its line
/// (`rows.{line}`). Orders in the file are delivered whole: their lines
/// the file leaves out are delivered as 0.
#[utoipa::path(post, path = "/api/replenishment/deliveries", tag = TAG,
    request_body(content = Vec<u8>, description = "CSV or xlsx", content_type = "application/octet-stream"),
    responses((status = 200, body = DeliveriesLoaded), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn load_deliveries(
    State(state): State<AppState>,
    current: CurrentUser,
    body: Bytes,
) -> ApiResult<Json<DeliveriesLoaded>> {
    current.require(op::DELIVERIES_LOAD)?;
    Ok(Json(
        service::load_deliveries(&state, current.user.id, body, current.lang).await?,
    ))
}

/// Where the company orders through the product: a month's delivered
/// orders (by order date), summed per retailer × spec, replace that
/// month's actual orders, as a loaded actual-orders file would (accuracy,
/// dashboard and analysis follow). 422 for a malformed or future month or
/// a month without delivered orders.
#[utoipa::path(post, path = "/api/replenishment/actuals-from-orders", tag = TAG,
    request_body = ActualsFromOrdersRequest,
    responses((status = 200, body = ActualsFromOrders), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn actuals_from_orders(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<ActualsFromOrdersRequest>,
) -> ApiResult<Json<ActualsFromOrders>> {
    current.require(op::ACTUALS_FROM_ORDERS)?;
    Ok(Json(
        service::actuals_from_orders(&state, current.user.id, &request.month, current.lang).await?,
    ))
}

/// The period and form of the fill rate report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FillRateQuery {
    /// First order day, `YYYY-MM-DD` (default: 8 weeks back).
    #[serde(default)]
    pub from: Option<String>,
    /// Last order day (default: the end of this week). At most 366 days.
    #[serde(default)]
    pub to: Option<String>,
    /// `xlsx` for the tables as a workbook; JSON otherwise.
    #[serde(default)]
    pub format: Option<String>,
    /// The workbook's language (`zh-CN` or `en`).
    #[serde(default)]
    pub lang: Option<String>,
}

/// Fill rate and cut demand (需求满足率) of the confirmed orders of a period:
/// what retailers wanted (the settings' call), what the caps allowed (the
/// proposal) and what they ordered, by spec × class (the class when the
/// retailer ordered), largest cut first, and by week (Monday).
#[utoipa::path(get, path = "/api/replenishment/fill-rate", tag = TAG, params(FillRateQuery),
    responses((status = 200, body = FillRateReport, description = "JSON, or an xlsx workbook with format=xlsx"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn fill_rate(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<FillRateQuery>,
) -> ApiResult<Response> {
    current.require(op::FILL_RATE)?;
    let lang = file_lang(query.lang.as_deref(), &current);
    let xlsx = match query.format.as_deref() {
        None | Some("json") => false,
        Some("xlsx") => true,
        Some(_) => {
            return Err(unknown_format(
                lang,
                lang.pick("格式为 json 或 xlsx", "Use json or xlsx"),
            ))
        }
    };
    let report =
        service::fill_rate(&state, query.from.as_deref(), query.to.as_deref(), lang).await?;
    if !xlsx {
        return Ok(Json(report).into_response());
    }
    let bytes = xlsx::write_tables(&service::fill_rate_tables(&report, lang))
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(attachment(
        xlsx::CONTENT_TYPE,
        &format!("fill-rate-{}-{}.xlsx", report.from, report.to),
        bytes,
    ))
}
