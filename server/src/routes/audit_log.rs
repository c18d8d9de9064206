//! The audit log viewer (审计日志) for administrators and the marketing
//! center: a filtered page with flags of unusual changes, or the whole
//! filtered log as CSV or xlsx.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::audit::{AuditPage, AuditQuery};
use domain::policy::op;
use domain::{ErrorBody, ErrorCode};

use crate::error::{ApiError, ApiResult};
use crate::extract::CurrentUser;
use crate::service::audit_log as service;
use crate::AppState;

/// The log, newest first, a page of 50 with flags (a cap raised more than
/// 3×, a record changed more than 5 times on one day, a change at night,
/// China time); with `format=csv|xlsx` the whole filtered log as a file of
/// at most 100,000 rows (the header `X-Export-Truncated: true` and a last
/// line say when it was cut).
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage, description = "A page, or a CSV/xlsx file with `format`"),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn audit_log(
    State(state): State<AppState>,
    current: CurrentUser,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<Response> {
    current.require(op::AUDIT_LOG)?;
    let lang = current.lang;
    let Query(query) = query.map_err(|_| {
        ApiError::bad_request(lang.pick("查询参数有误", "The query parameters are malformed"))
    })?;
    let filter = query.parse().map_err(|errors| {
        ApiError::validation(errors.into_iter().fold(
            ErrorBody::new(
                ErrorCode::Validation,
                lang.pick("查询条件有误", "Check the filter"),
            ),
            |body, (field, e)| body.with_field(field, e.message(lang)),
        ))
    })?;
    let Some(format) = filter.format else {
        return Ok(Json(service::page(&state, &filter, lang).await?).into_response());
    };
    let file = service::export(&state, &filter, format, filter.lang.unwrap_or(lang)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file.file_name),
            ),
            (
                header::HeaderName::from_static("x-export-truncated"),
                file.truncated.to_string(),
            ),
        ],
        file.bytes,
    )
        .into_response())
}
