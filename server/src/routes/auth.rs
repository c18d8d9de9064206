//! Sign-in, sign-out, the current session and password changes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use domain::auth::{check_password, ChangePasswordRequest, LoginRequest, SessionInfo};
use domain::{ErrorBody, ErrorCode, Lang};
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::json;
use tower_sessions::Session;

use crate::db::now_unix;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, CurrentUser, ReqLang, SESSION_CSRF, SESSION_USER};
use crate::store::{self, users::UserRow};
use crate::{password, AppState};

fn wrong_credentials(lang: Lang) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
        lang.pick("账号或密码错误", "Wrong account or password"),
    )
}

fn locked(lang: Lang, until: i64) -> ApiError {
    let minutes = ((until - now_unix()) as f64 / 60.0).ceil().max(1.0) as i64;
    ApiError::new(
        StatusCode::LOCKED,
        ErrorCode::Locked,
        match lang {
            Lang::Zh => format!("连续登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试"),
            Lang::En => format!(
                "Too many failed sign-ins; the account is locked. Try again in {minutes} minutes"
            ),
        },
    )
}

fn session_error(e: tower_sessions::session::Error) -> ApiError {
    ApiError::from(e)
}

/// Signs in. Five failures in a row lock the account for 15 minutes (settings).
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = SessionInfo), (status = 401, body = ErrorBody), (status = 423, body = ErrorBody), (status = 422, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(login = %request.login))]
pub async fn login(
    State(state): State<AppState>,
    ReqLang(lang): ReqLang,
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
    let user = store::users::by_login(&state.db.pool, login).await?;
    let now = now_unix();
    let Some(user) = user.filter(|u| u.active) else {
        // Spend the same time as a real check so timing does not tell
        // whether the account exists: one Argon2 check, and one committed
        // write, as a wrong password records its failure.
        password::verify(request.password, state.dummy_hash.to_string()).await?;
        let mut conn = state.db.pool.acquire().await?;
        let mut tx = state.db.begin(&mut conn).await?;
        let attempted: String = login.chars().take(64).collect();
        store::audit::record(
            &mut tx,
            None,
            "login_failed",
            "login",
            &attempted,
            &json!({ "known": false }),
        )
        .await?;
        tx.commit().await?;
        return Err(wrong_credentials(lang));
    };
    if let Some(until) = user.locked_until.filter(|until| *until > now) {
        return Err(locked(lang, until));
    }
    let phc = user
        .password_hash
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| state.dummy_hash.to_string());
    let ok = password::verify(request.password, phc).await?
        && user.password_hash.as_deref().is_some_and(|h| !h.is_empty());

    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    if !ok {
        let failures = store::users::record_failure(&mut tx, user.id).await?;
        let policy = state.config.lockout;
        let now_locked = policy.locks_after(u32::try_from(failures).unwrap_or(u32::MAX));
        if now_locked {
            store::users::lock(&mut tx, user.id, now + policy.lock_seconds).await?;
        }
        store::audit::record(
            &mut tx,
            Some(user.id),
            "login_failed",
            "user",
            &user.id.to_string(),
            &json!({ "failures": failures, "locked": now_locked }),
        )
        .await?;
        tx.commit().await?;
        return Err(if now_locked {
            locked(lang, now + policy.lock_seconds)
        } else {
            wrong_credentials(lang)
        });
    }
    store::users::clear_failures(&mut tx, user.id).await?;
    store::audit::record(
        &mut tx,
        Some(user.id),
        "login",
        "user",
        &user.id.to_string(),
        &json!({}),
    )
    .await?;
    tx.commit().await?;

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
    responses((status = 204, description = "Changed"), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> ApiResult<StatusCode> {
    let lang = current.lang;
    let user = &current.user;
    let phc = user.password_hash.clone().unwrap_or_default();
    if !password::verify(request.current_password, phc).await? {
        return Err(ApiError::validation(
            ErrorBody::new(
                ErrorCode::Validation,
                lang.pick("当前密码不正确", "The current password is wrong"),
            )
            .with_field(
                "current_password",
                lang.pick("当前密码不正确", "The current password is wrong"),
            ),
        ));
    }
    if let Err(e) = check_password(&user.login, &request.new_password) {
        return Err(ApiError::validation(
            ErrorBody::new(ErrorCode::Validation, e.message(lang))
                .with_field("new_password", e.message(lang)),
        ));
    }
    let new_hash = password::hash(request.new_password).await?;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    store::users::set_password_hash(&mut tx, user.id, &new_hash).await?;
    store::audit::record(
        &mut tx,
        Some(user.id),
        "password_changed",
        "user",
        &user.id.to_string(),
        &json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
