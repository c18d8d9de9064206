//! Sign-in, sign-out, the current session and password changes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::auth::{ChangePasswordRequest, LoginRequest, SessionInfo};
use domain::{ErrorBody, ErrorCode};
use rand::distributions::Alphanumeric;
use rand::Rng;
use tower_sessions::Session;

use crate::error::{ApiError, ApiResult};
use crate::extract::{
    ApiJson, ClientAddr, CurrentUser, ReqLang, SESSION_CSRF, SESSION_EPOCH, SESSION_USER,
};
use crate::store::{self, users::UserRow};
use crate::{service, AppState};

fn session_error(e: tower_sessions::session::Error) -> ApiError {
    ApiError::from(e)
}

/// Signs in. Five failures in a row for one name from one address lock
/// that name there for 15 minutes (settings), whether or not it is an
/// account; too many failures from one address answer 429.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody), (status = 423, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(login = %request.login))]
pub async fn login(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
    ClientAddr(address): ClientAddr,
    session: Session,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Json<SessionInfo>> {
    let login = request.login.trim();
    if login.is_empty() || request.password.is_empty() {
        let mut body = ErrorBody::new(
            ErrorCode::Validation,
            lang.pick("请输入账号和密码", "Enter your account and password"),
        );
        if login.is_empty() {
            body = body.with_field(
                "login",
                lang.pick(
                    "请输入账号（零售户请输入许可证号）",
                    "Enter your account (retailers: licence number)",
                ),
            );
        }
        if request.password.is_empty() {
            body = body.with_field("password", lang.pick("请输入密码", "Enter your password"));
        }
        return Err(ApiError::validation(body));
    }
    let user = service::auth::sign_in(&state, address, login, request.password, lang).await?;

    // A fresh session id on sign-in defeats session fixation.
    session.cycle_id().await.map_err(session_error)?;
    let csrf: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    session
        .insert(SESSION_USER, user.id)
        .await
        .map_err(session_error)?;
    session
        .insert(SESSION_CSRF, csrf.clone())
        .await
        .map_err(session_error)?;
    session
        .insert(SESSION_EPOCH, user.session_epoch)
        .await
        .map_err(session_error)?;
    Ok(Json(session_info(&state, &user, csrf).await?))
}

async fn session_info(
    state: &AppState,
    user: &UserRow,
    csrf_token: String,
) -> ApiResult<SessionInfo> {
    Ok(SessionInfo {
        user_id: user.id,
        login: user.login.clone(),
        display_name: user.display_name.clone(),
        role: user.role,
        retailer_id: user.retailer_id,
        unit_name: store::org::unit_name(&state.db.pool, user.org_unit_id).await?,
        csrf_token,
        must_change_password: user.must_change_password,
    })
}

/// Signs out and deletes the server-side session.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", responses((status = 204, description = "Signed out")))]
pub async fn logout(session: Session) -> ApiResult<StatusCode> {
    session.flush().await.map_err(session_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user, with the CSRF token for writes.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    session: Session,
    user: CurrentUser,
) -> ApiResult<Json<SessionInfo>> {
    let csrf: String = session
        .get(SESSION_CSRF)
        .await
        .map_err(session_error)?
        .unwrap_or_default();
    Ok(Json(session_info(&state, &user.user, csrf).await?))
}

/// Changes the signed-in user's password, checked against the password policy.
#[utoipa::path(post, path = "/api/auth/password", tag = "auth", request_body = ChangePasswordRequest,
    responses((status = 204, description = "Changed; every other session of the account has ended"), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 423, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    session: Session,
    current: CurrentUser,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let epoch = service::auth::change_password(
        &state,
        address,
        &current.user,
        request.current_password,
        request.new_password,
        current.lang,
    )
    .await?;
    // Every other session of the account has ended; this one goes on
    // under a new id.
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(SESSION_EPOCH, epoch)
        .await
        .map_err(session_error)?;
    Ok(StatusCode::NO_CONTENT)
}
