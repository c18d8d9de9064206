//! Scarce supply allocation (货源投放), the marketing center's: preview the
//! caps per class a rule gives for a spec's supply over a period, publish
//! them (they replace the standing caps on the order days of the period),
//! withdraw them, list a month's, and download the month's release plan.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::policy::op;
use domain::replenishment::allocation::{
    AllocationList, AllocationPreview, AllocationRequest, PublishedAllocation,
};
use domain::{ErrorBody, Lang};
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{ApiJson, CurrentUser};
use crate::service::allocation;
use crate::AppState;

const TAG: &str = "allocation";

/// A month of allocations.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MonthQuery {
    /// `YYYY-MM`; this month (China time) by default.
    #[serde(default)]
    pub month: Option<String>,
    /// The workbook's language (`zh-CN` or `en`), for a download link.
    #[serde(default)]
    pub lang: Option<String>,
}

/// The published allocations (withdrawn ones too) whose period meets the
/// month, with their caps per class.
#[utoipa::path(get, path = "/api/replenishment/allocations", tag = TAG, params(MonthQuery),
    responses((status = 200, body = AllocationList), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<MonthQuery>,
) -> ApiResult<Json<AllocationList>> {
    current.require(op::ALLOCATION_LIST)?;
    Ok(Json(
        allocation::list(&state, query.month.as_deref(), current.lang).await?,
    ))
}

/// The caps per class a rule gives for a spec's supply over a period, with
/// each class's retailers, demand, expected quantity, share of demand met
/// and retailers left wanting. Nothing is stored.
#[utoipa::path(post, path = "/api/replenishment/allocations/preview", tag = TAG, request_body = AllocationRequest,
    responses((status = 200, body = AllocationPreview), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<AllocationRequest>,
) -> ApiResult<Json<AllocationPreview>> {
    current.require(op::ALLOCATION_PREVIEW)?;
    Ok(Json(
        allocation::preview(&state, &request, current.lang).await?,
    ))
}

/// Publishes an allocation, computed again from the current data: its caps
/// replace the standing caps on the order days of its period. 409 when a
/// published allocation of the spec meets the period.
#[utoipa::path(post, path = "/api/replenishment/allocations", tag = TAG, request_body = AllocationRequest,
    responses((status = 200, body = PublishedAllocation), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn publish(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<AllocationRequest>,
) -> ApiResult<Json<PublishedAllocation>> {
    current.require(op::ALLOCATION_PUBLISH)?;
    Ok(Json(
        allocation::publish(&state, &current.user, &request, current.lang).await?,
    ))
}

/// Withdraws a published allocation: the standing caps hold again. 409 when
/// it was withdrawn already.
#[utoipa::path(post, path = "/api/replenishment/allocations/{id}/withdraw", tag = TAG,
    params(("id" = i64, Path, description = "Allocation id")),
    responses((status = 200, body = PublishedAllocation), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<PublishedAllocation>> {
    current.require(op::ALLOCATION_WITHDRAW)?;
    Ok(Json(
        allocation::withdraw(&state, &current.user, id, current.lang).await?,
    ))
}

/// The month's release plan (品牌投放方案) as an xlsx workbook, for filing
/// with the monopoly office: the allocations in force, and their caps,
/// retailers, demand, expected quantity and share met per class.
#[utoipa::path(get, path = "/api/replenishment/allocations/plan", tag = TAG, params(MonthQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", description = "The workbook"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn plan(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<MonthQuery>,
) -> ApiResult<Response> {
    current.require(op::ALLOCATION_PLAN)?;
    let lang = query
        .lang
        .as_deref()
        .map(Lang::from_accept_language)
        .unwrap_or(current.lang);
    let (name, bytes) = allocation::plan(&state, query.month.as_deref(), lang).await?;
    Ok((
        [
            (header::CONTENT_TYPE, crate::xlsx::CONTENT_TYPE.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
