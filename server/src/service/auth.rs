//! Sign-in and password change: the rules that must hold when many
//! attempts arrive at once.
//!
//! Order of a sign-in: the client address's throttle, then a place in the
//! (login, address) count committed before any hashing, then a hashing
//! slot, then the check. Unknown names, inactive accounts and wrong
//! passwords take the same path (one reservation, one Argon2 check, one
//! committed failure with its audit row), so neither the answer nor its
//! timing tells whether an account exists; a locked pair answers 423
//! whether or not the name is an account.

use std::net::IpAddr;

use axum::http::StatusCode;
use domain::auth::check_password;
use domain::{ErrorBody, ErrorCode, Lang};
use serde_json::json;

use crate::db::now_unix;
use crate::error::{ApiError, ApiResult};
use crate::guard::Busy;
use crate::store::login_attempts::{self, Reservation};
use crate::store::{audit, users, users::UserRow};
use crate::AppState;

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
            Lang::Zh => format!("连续登录失败次数过多，已暂停登录，请 {minutes} 分钟后再试"),
            Lang::En => format!("Too many failed sign-ins; try again in {minutes} minutes"),
        },
    )
}

fn throttled(lang: Lang, seconds: i64) -> ApiError {
    let minutes = (seconds + 59) / 60;
    ApiError::Retry(
        StatusCode::TOO_MANY_REQUESTS,
        u64::try_from(seconds).unwrap_or(1),
        ErrorBody::new(
            ErrorCode::RateLimited,
            match lang {
                Lang::Zh => format!("此网络登录失败次数过多，请 {minutes} 分钟后再试"),
                Lang::En => format!(
                    "Too many failed sign-ins from this network; try again in {minutes} minutes"
                ),
            },
        ),
    )
}

fn busy(lang: Lang, _: Busy) -> ApiError {
    ApiError::busy(lang, 5)
}

fn address_key(address: IpAddr) -> String {
    // IPv4-mapped IPv6 addresses are the IPv4 address.
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string()),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// Checks a sign-in; the signed-in account on success.
pub async fn sign_in(
    state: &AppState,
    address: IpAddr,
    login: &str,
    password: String,
    lang: Lang,
) -> ApiResult<UserRow> {
    let now = now_unix();
    let ticket = state
        .throttle
        .admit(address, now)
        .map_err(|wait| throttled(lang, wait))?;
    let policy = state.config.lockout;
    let key = login_attempts::key_of(login);
    let from = address_key(address);
    {
        let mut conn = state.db.pool.acquire().await?;
        if let Reservation::Refused { until } =
            login_attempts::reserve(&mut conn, &key, &from, policy, now).await?
        {
            // Not a failure of its own: the pair is locked already.
            ticket.passed();
            return Err(locked(lang, until));
        }
    }
    let user = users::by_login(&state.db.pool, login.trim())
        .await?
        .filter(|u| u.active);
    // Unknown and inactive accounts are checked against a random hash, so
    // that they take as long as a real check.
    let phc = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| state.dummy_hash.to_string());
    // An account holding a one-time password has only that one: read it
    // in any case and spacing, as typed from the printed handout.
    let password = if user.as_ref().is_some_and(|u| u.must_change_password) {
        domain::accounts::normalize_one_time(&password)
    } else {
        password
    };
    let matched = state
        .hash_slots
        .verify(password, phc)
        .await
        .map_err(|b| busy(lang, b))??;
    let ok = matched
        && user
            .as_ref()
            .and_then(|u| u.password_hash.as_deref())
            .is_some_and(|h| !h.is_empty());

    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    match user {
        Some(user) if ok => {
            login_attempts::forget(&mut tx, &key, &from).await?;
            users::clear_failures(&mut tx, user.id).await?;
            audit::record(
                &mut tx,
                Some(user.id),
                "login",
                "user",
                &user.id.to_string(),
                &json!({ "address": from }),
            )
            .await?;
            tx.commit().await?;
            ticket.passed();
            Ok(user)
        }
        user => {
            let locked_until =
                login_attempts::fail(&mut tx, &key, &from, policy, now_unix()).await?;
            let (actor, target_kind, target) = match &user {
                Some(u) => (Some(u.id), "user", u.id.to_string()),
                None => (None, "login", key.clone()),
            };
            audit::record(
                &mut tx,
                actor,
                "login_failed",
                target_kind,
                &target,
                &json!({ "known": user.is_some(), "address": from, "locked": locked_until.is_some() }),
            )
            .await?;
            tx.commit().await?;
            Err(match locked_until {
                Some(until) => locked(lang, until),
                None => wrong_credentials(lang),
            })
        }
    }
}

/// Changes a password after checking the current one. Wrong current
/// passwords count like failed sign-ins (the same lock), and a new
/// password ends every other session of the account: returns the new
/// session epoch for the caller's own session.
pub async fn change_password(
    state: &AppState,
    address: IpAddr,
    user: &UserRow,
    current_password: String,
    new_password: String,
    lang: Lang,
) -> ApiResult<i64> {
    let policy = state.config.lockout;
    let key = login_attempts::key_of(&user.login);
    let from = address_key(address);
    let now = now_unix();
    {
        let mut conn = state.db.pool.acquire().await?;
        if let Reservation::Refused { until } =
            login_attempts::reserve(&mut conn, &key, &from, policy, now).await?
        {
            return Err(locked(lang, until));
        }
    }
    let phc = user
        .password_hash
        .clone()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| state.dummy_hash.to_string());
    let current_password = if user.must_change_password {
        domain::accounts::normalize_one_time(&current_password)
    } else {
        current_password
    };
    let current_password_copy = current_password.clone();
    let matched = state
        .hash_slots
        .verify(current_password, phc)
        .await
        .map_err(|b| busy(lang, b))??
        && user.password_hash.as_deref().is_some_and(|h| !h.is_empty());
    if !matched {
        let mut conn = state.db.pool.acquire().await?;
        let mut tx = state.db.begin(&mut conn).await?;
        let locked_until = login_attempts::fail(&mut tx, &key, &from, policy, now_unix()).await?;
        audit::record(
            &mut tx,
            Some(user.id),
            "password_change_failed",
            "user",
            &user.id.to_string(),
            &json!({ "address": from, "locked": locked_until.is_some() }),
        )
        .await?;
        tx.commit().await?;
        if let Some(until) = locked_until {
            return Err(locked(lang, until));
        }
        let message = lang.pick("当前密码不正确", "The current password is wrong");
        return Err(ApiError::validation(
            ErrorBody::new(ErrorCode::Validation, message).with_field("current_password", message),
        ));
    }
    let checked = if new_password == current_password_copy
        || (user.must_change_password
            && domain::accounts::normalize_one_time(&new_password) == current_password_copy)
    {
        Err(domain::auth::PasswordError::Reused)
    } else {
        check_password(&user.login, &new_password)
    };
    if let Err(e) = checked {
        let mut conn = state.db.pool.acquire().await?;
        login_attempts::forget(&mut conn, &key, &from).await?;
        return Err(ApiError::validation(
            ErrorBody::new(ErrorCode::Validation, e.message(lang))
                .with_field("new_password", e.message(lang)),
        ));
    }
    let new_hash = state
        .hash_slots
        .hash(new_password)
        .await
        .map_err(|b| busy(lang, b))??;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    login_attempts::forget(&mut tx, &key, &from).await?;
    let Some(epoch) =
        users::set_password_hash(&mut tx, user.id, &new_hash, user.session_epoch).await?
    else {
        // Another session changed the password first: this one has ended.
        return Err(ApiError::conflict(lang.pick(
            "密码刚在另一处被修改，本次修改未生效；请用新密码重新登录",
            "The password was just changed elsewhere; this change was not made. Sign in with the new password",
        )));
    };
    audit::record(
        &mut tx,
        Some(user.id),
        "password_changed",
        "user",
        &user.id.to_string(),
        &json!({ "other_sessions_ended": true }),
    )
    .await?;
    tx.commit().await?;
    Ok(epoch)
}
