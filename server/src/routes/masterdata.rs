//! 基础数据: retailers, their handover, specs and classes, and the imports
//! of the company's own files.

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::Json;
use domain::masterdata::records::{
    ClassList, ManagerChoice, Reassign, Reassigned, RetailerEdit, RetailerPage, RetailerRecord,
    SpecRecord,
};
use domain::masterdata::{ApplyOptions, ImportJob, ImportKind, Mapping, RetailerStatus};
use domain::policy::op;
use domain::{ErrorBody, ErrorCode};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::service::{imports, masterdata as service};
use crate::AppState;

const TAG: &str = "master data";

/// The largest file an import takes: 10 million history rows of CSV.
pub const IMPORT_BODY_LIMIT: usize = 640 * 1024 * 1024;

fn bad_query(field: &str, message: &str) -> ApiError {
    ApiError::validation(ErrorBody::new(ErrorCode::Validation, message).with_field(field, message))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RetailersQuery {
    /// Part of the licence, the shop name or the customer manager.
    pub q: Option<String>,
    /// `open`, `suspended` or `closed`; empty means any.
    pub status: Option<String>,
    /// 0-based page of 50.
    pub page: Option<String>,
}

/// The retailers the caller keeps, 50 a page.
#[utoipa::path(get, path = "/api/masterdata/retailers", tag = TAG, params(RetailersQuery),
    responses((status = 200, body = RetailerPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn retailers(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<RetailersQuery>,
) -> ApiResult<Json<RetailerPage>> {
    current.require(op::MASTER_RETAILERS)?;
    let lang = current.lang;
    let status = match query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => Some(
            RetailerStatus::parse(s)
                .ok_or_else(|| bad_query("status", lang.pick("没有这个状态", "No such status")))?,
        ),
    };
    let page = match query
        .page
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => 0,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (0..=100_000).contains(p))
            .ok_or_else(|| bad_query("page", lang.pick("页码无效", "Not a page")))?,
    };
    Ok(Json(
        service::retailers(&state, &current.user, query.q, status, page).await?,
    ))
}

/// Edits one retailer (compare-and-set on `version`).
#[utoipa::path(patch, path = "/api/masterdata/retailers/{id}", tag = TAG, request_body = RetailerEdit,
    responses((status = 200, body = RetailerRecord), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_retailer(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(edit): ApiJson<RetailerEdit>,
) -> ApiResult<Json<RetailerRecord>> {
    current.require(op::EDIT_RETAILER)?;
    Ok(Json(
        service::edit_retailer(&state, &current.user, current.lang, id, edit).await?,
    ))
}

/// Hands retailers to another customer manager.
#[utoipa::path(post, path = "/api/masterdata/retailers/reassign", tag = TAG, request_body = Reassign,
    responses((status = 200, body = Reassigned), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reassign(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<Reassign>,
) -> ApiResult<Json<Reassigned>> {
    current.require(op::REASSIGN)?;
    Ok(Json(
        service::reassign(&state, &current.user, current.lang, request).await?,
    ))
}

/// Customer managers the caller may hand retailers to.
#[utoipa::path(get, path = "/api/masterdata/managers", tag = TAG,
    responses((status = 200, body = Vec<ManagerChoice>), (status = 403, body = ErrorBody)))]
pub async fn managers(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<Vec<ManagerChoice>>> {
    current.require(op::MANAGER_CHOICES)?;
    Ok(Json(service::managers(&state, &current.user).await?))
}

/// The spec catalogue with versions, for editing.
#[utoipa::path(get, path = "/api/masterdata/specs", tag = TAG,
    responses((status = 200, body = Vec<SpecRecord>), (status = 403, body = ErrorBody)))]
pub async fn specs(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<Vec<SpecRecord>>> {
    current.require(op::MASTER_SPECS)?;
    Ok(Json(service::specs(&state).await?))
}

/// Adds a spec.
#[utoipa::path(post, path = "/api/masterdata/specs", tag = TAG, request_body = SpecRecord,
    responses((status = 200, body = SpecRecord), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_spec(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(spec): ApiJson<SpecRecord>,
) -> ApiResult<Json<SpecRecord>> {
    current.require(op::CREATE_SPEC)?;
    Ok(Json(
        service::create_spec(&state, &current.user, current.lang, spec).await?,
    ))
}

/// Edits a spec (compare-and-set on `version`).
#[utoipa::path(put, path = "/api/masterdata/specs/{id}", tag = TAG, request_body = SpecRecord,
    responses((status = 200, body = SpecRecord), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_spec(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(spec): ApiJson<SpecRecord>,
) -> ApiResult<Json<SpecRecord>> {
    current.require(op::EDIT_SPEC)?;
    Ok(Json(
        service::edit_spec(&state, &current.user, current.lang, id, spec).await?,
    ))
}

/// The customer classes (档位), lowest rank first.
#[utoipa::path(get, path = "/api/masterdata/classes", tag = TAG,
    responses((status = 200, body = ClassList), (status = 403, body = ErrorBody)))]
pub async fn classes(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<ClassList>> {
    current.require(op::CLASSES)?;
    Ok(Json(service::classes(&state).await?))
}

/// Saves the whole list of classes.
#[utoipa::path(put, path = "/api/masterdata/classes", tag = TAG, request_body = ClassList,
    responses((status = 200, body = ClassList), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_classes(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(list): ApiJson<ClassList>,
) -> ApiResult<Json<ClassList>> {
    current.require(op::EDIT_CLASSES)?;
    Ok(Json(
        service::save_classes(&state, &current.user, current.lang, list).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// `units`, `staff`, `specs`, `retailers`, `assignment` or `history`.
    pub kind: String,
    /// The file's name, as shown in the page.
    pub name: Option<String>,
    /// JSON array: the field each column is read as (`null`: ignored).
    pub mapping: Option<String>,
}

/// The server's import slot ([`AppState::import_slot`]), or 503 before
/// the body is read.
fn slot(state: &AppState, lang: domain::Lang) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    state
        .import_slot
        .clone()
        .try_acquire_owned()
        .map_err(|_| imports::busy(lang))
}

async fn file_body(request: Request, lang: domain::Lang) -> ApiResult<axum::body::Bytes> {
    axum::body::to_bytes(request.into_body(), IMPORT_BODY_LIMIT)
        .await
        .map_err(|_| {
            let message = lang.pick(
                "文件超过 640 MB 上限，或上传中断",
                "The file exceeds 640 MB or the upload broke off",
            );
            ApiError::Client(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorBody::new(ErrorCode::PayloadTooLarge, message).with_field("file", message),
            )
        })
}

/// Uploads a file (xlsx or CSV in UTF-8 or GB18030) to be checked; the
/// answer is the job, followed until its preview is ready.
#[utoipa::path(post, path = "/api/masterdata/imports", tag = TAG, params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 202, body = ImportJob), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn start_import(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<ImportQuery>,
    request: Request,
) -> ApiResult<(StatusCode, Json<ImportJob>)> {
    current.require(op::IMPORT)?;
    let lang = current.lang;
    let kind = ImportKind::parse(&query.kind)
        .ok_or_else(|| bad_query("kind", lang.pick("没有这种导入", "No such import")))?;
    let mapping: Option<Mapping> = match query.mapping.as_deref().filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => Some(serde_json::from_str(m).map_err(|_| {
            bad_query(
                "mapping",
                lang.pick("列对应关系无效", "The column mapping is not valid"),
            )
        })?),
    };
    if mapping.as_ref().is_some_and(|m| m.len() > 64) {
        return Err(bad_query(
            "mapping",
            lang.pick("列对应关系无效", "The column mapping is not valid"),
        ));
    }
    if !kind.importers().contains(&current.role()) {
        return Err(ApiError::forbidden(lang));
    }
    let permit = slot(&state, lang)?;
    let body = file_body(request, lang).await?;
    let job = imports::start_check(
        &state,
        (current.user.id, current.role()),
        lang,
        kind,
        query.name.unwrap_or_default(),
        mapping,
        body,
        permit,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// An import, with its progress, preview and result.
#[utoipa::path(get, path = "/api/masterdata/imports/{id}", tag = TAG,
    responses((status = 200, body = ImportJob), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn import_job(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<ImportJob>> {
    current.require(op::IMPORT_JOB)?;
    Ok(Json(imports::job(&state, current.lang, id).await?))
}

/// Applies a checked file, sent again as the body.
#[utoipa::path(post, path = "/api/masterdata/imports/{id}/apply", tag = TAG, params(ApplyOptions),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 202, body = ImportJob), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn apply_import(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Query(options): Query<ApplyOptions>,
    request: Request,
) -> ApiResult<(StatusCode, Json<ImportJob>)> {
    current.require(op::APPLY_IMPORT)?;
    let lang = current.lang;
    let permit = slot(&state, lang)?;
    let body = file_body(request, lang).await?;
    let job = imports::start_apply(
        &state,
        (current.user.id, current.role()),
        lang,
        id,
        options.only_good_rows,
        body,
        permit,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}
