//! 系统管理 → 用户: accounts administration (administrators only), and a
//! customer manager's password reset for their own retailers.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use domain::accounts::{
    AccountJob, NewStaff, OneTimePassword, RetailerAccountsRequest, UserChange, UserList, UserView,
};
use domain::policy::op;
use domain::{ErrorBody, ErrorCode, Role};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::service::accounts as service;
use crate::store::accounts::Filter;
use crate::{xlsx, AppState};

const TAG: &str = "admin";

/// Filters of the account list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UsersQuery {
    /// Part of the login or the name.
    pub q: Option<String>,
    /// A role (`customer_manager`, `retailer`, …).
    pub role: Option<String>,
    /// A unit id; empty means any.
    pub unit_id: Option<String>,
    /// `true` or `false`; empty means both.
    pub active: Option<String>,
    /// 1-based page of 50; empty means the first.
    pub page: Option<String>,
}

/// An optional query value: empty is absent; anything else must parse.
fn optional<T: std::str::FromStr>(
    value: Option<&str>,
    field: &str,
    lang: domain::Lang,
    message: (&'static str, &'static str),
) -> Result<Option<T>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ApiError::validation(
                ErrorBody::new(
                    ErrorCode::Validation,
                    lang.pick("筛选条件有误", "Bad filter"),
                )
                .with_field(field, lang.pick(message.0, message.1)),
            )
        }),
    }
}

/// Lists and searches accounts, 50 a page.
#[utoipa::path(get, path = "/api/admin/users", tag = TAG, params(UsersQuery),
    responses((status = 200, body = UserList), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn users(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<UsersQuery>,
) -> ApiResult<Json<UserList>> {
    current.require(op::USERS)?;
    let lang = current.lang;
    let role = match query.role.as_deref().filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(Role::parse(r).ok_or_else(|| {
            ApiError::validation(
                ErrorBody::new(
                    ErrorCode::Validation,
                    lang.pick("筛选条件有误", "Bad filter"),
                )
                .with_field("role", lang.pick("没有这个角色", "No such role")),
            )
        })?),
    };
    let page: i64 = optional(
        query.page.as_deref(),
        "page",
        lang,
        ("页码须为正整数", "The page is a whole number from 1"),
    )?
    .unwrap_or(1);
    let unit_id: Option<i64> = optional(
        query.unit_id.as_deref(),
        "unit_id",
        lang,
        ("单位编号无效", "Not a unit id"),
    )?;
    let active: Option<bool> = optional(
        query.active.as_deref(),
        "active",
        lang,
        ("须为 true 或 false", "Must be true or false"),
    )?;
    if !(1..=1_000_000).contains(&page) {
        return Err(ApiError::validation(
            ErrorBody::new(
                ErrorCode::Validation,
                lang.pick("筛选条件有误", "Bad filter"),
            )
            .with_field(
                "page",
                lang.pick("页码须为正整数", "The page is a whole number from 1"),
            ),
        ));
    }
    let filter = Filter {
        text: query.q.map(|q| q.chars().take(64).collect()),
        role,
        unit_id,
        active,
    };
    Ok(Json(service::list(&state, filter, page).await?))
}

/// Creates a staff account with a one-time password, shown in this answer
/// only; the person must choose their own password at the first sign-in.
#[utoipa::path(post, path = "/api/admin/users", tag = TAG, request_body = NewStaff,
    responses((status = 201, body = OneTimePassword), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(staff): ApiJson<NewStaff>,
) -> ApiResult<(StatusCode, Json<OneTimePassword>)> {
    current.require(op::CREATE_USER)?;
    let made = service::create_staff(&state, &current.user, current.lang, staff).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// Changes an account's role, unit, name or active state at the version
/// read; deactivating ends its sessions at once.
#[utoipa::path(patch, path = "/api/admin/users/{id}", tag = TAG,
    params(("id" = i64, Path, description = "User id")), request_body = UserChange,
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_user(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<UserChange>,
) -> ApiResult<Json<UserView>> {
    current.require(op::CHANGE_USER)?;
    Ok(Json(
        service::change(&state, &current.user, current.lang, id, change).await?,
    ))
}

/// Lifts the account's sign-in locks (from every address).
#[utoipa::path(post, path = "/api/admin/users/{id}/unlock", tag = TAG,
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock_user(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<UserView>> {
    current.require(op::UNLOCK_USER)?;
    Ok(Json(
        service::unlock(&state, &current.user, current.lang, id).await?,
    ))
}

/// Resets the account's password to a one-time one (in this answer only);
/// its sessions end and it must choose a new password at its next sign-in.
#[utoipa::path(post, path = "/api/admin/users/{id}/password-reset", tag = TAG,
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = OneTimePassword), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn reset_password(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<OneTimePassword>> {
    current.require(op::RESET_PASSWORD)?;
    Ok(Json(
        service::reset_password(&state, &current.user, current.lang, id).await?,
    ))
}

/// A customer manager resets the password of one of their own retailers.
#[utoipa::path(post, path = "/api/replenishment/retailers/{id}/password-reset", tag = TAG,
    params(("id" = i64, Path, description = "Retailer id")),
    responses((status = 200, body = OneTimePassword), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn reset_retailer_password(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<OneTimePassword>> {
    current.require(op::RESET_RETAILER_PASSWORD)?;
    Ok(Json(
        service::reset_retailer_password(&state, &current.user, current.lang, id).await?,
    ))
}

/// Starts giving sign-ins (login = licence number, one-time passwords) to
/// the retailers of a scope that have none. Answers at once with the run;
/// poll it for progress, then download its handout once.
#[utoipa::path(post, path = "/api/admin/retailer-accounts", tag = TAG, request_body = RetailerAccountsRequest,
    responses((status = 202, body = AccountJob), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn retailer_accounts(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<RetailerAccountsRequest>,
) -> ApiResult<(StatusCode, Json<AccountJob>)> {
    current.require(op::RETAILER_ACCOUNTS)?;
    let job = service::start_retailer_accounts(&state, &current.user, current.lang, request.scope)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// A bulk run's progress.
#[utoipa::path(get, path = "/api/admin/retailer-accounts/{id}", tag = TAG,
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, body = AccountJob), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn account_job(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<AccountJob>> {
    current.require(op::ACCOUNT_JOB)?;
    Ok(Json(service::job(&state, current.lang, id).await?))
}

/// The handout of a finished run (xlsx: licence, shop, customer manager,
/// one-time password). Served once; 410 afterwards.
#[utoipa::path(get, path = "/api/admin/retailer-accounts/{id}/handout", tag = TAG,
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, description = "xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 410, body = ErrorBody)))]
pub async fn handout(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    current.require(op::ACCOUNT_HANDOUT)?;
    let bytes = service::take_handout(&state, &current.user, current.lang, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, xlsx::CONTENT_TYPE.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"retailer-accounts-{id}.xlsx\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    ))
}
