//! Accounts administration: staff accounts, one-time passwords, unlocking,
//! and the background runs that give retailers their sign-ins in bulk.
//! Every change is one transaction with its audit entry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use domain::accounts::{
    check_new_staff, name_error, role_unit_error, AccountJob, AccountScope, NewStaff,
    OneTimePassword, UserChange, UserList, UserView, MAX_LISTED_RETAILERS, PAGE_SIZE, STAFF_ROLES,
};
use domain::org::UnitKind;
use domain::{ErrorBody, ErrorCode, Lang, Role};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::store::accounts::{self as store, Filter, RetailerToOpen};
use crate::store::audit;
use crate::store::users::UserRow;
use crate::{password, AppState};

/// Unread handouts are deleted after a day.
pub const HANDOUT_KEEP_SECONDS: i64 = 24 * 3600;

/// One refusal at one field; its message is the answer's message too, so
/// a page that has no such field (a row's button) still shows the reason.
fn field(_lang: Lang, field: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::validation(
        ErrorBody::new(ErrorCode::Validation, message.clone()).with_field(field, message),
    )
}

fn not_found(lang: Lang) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        lang.pick("该账号不存在", "No such account"),
    )
}

/// Records `action` on account `id` in the audit log, reads the account
/// back and commits: the change, its entry and the answer agree.
async fn audited(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    actor_id: i64,
    action: &str,
    id: i64,
    detail: &serde_json::Value,
    lang: Lang,
) -> ApiResult<UserView> {
    audit::record(
        &mut tx,
        Some(actor_id),
        action,
        "user",
        &id.to_string(),
        detail,
    )
    .await?;
    let user = store::view(&mut tx, id)
        .await?
        .ok_or_else(|| not_found(lang))?;
    tx.commit().await?;
    Ok(user)
}

/// Hashes a one-time password on a blocking thread.
async fn one_time() -> ApiResult<(String, String)> {
    let password = password::one_time_password();
    let plain = password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash_one_time_blocking(&plain))
        .await
        .map_err(anyhow::Error::from)??;
    Ok((password, hash))
}

pub async fn list(state: &AppState, filter: Filter, page: i64) -> ApiResult<UserList> {
    let mut conn = state.db.pool.acquire().await?;
    let (users, total) = store::list(&mut conn, &filter, page).await?;
    Ok(UserList {
        users,
        total,
        page: page.max(1),
        page_size: PAGE_SIZE,
    })
}

/// Creates a staff account with a one-time password, shown once.
pub async fn create_staff(
    state: &AppState,
    actor: &UserRow,
    lang: Lang,
    staff: NewStaff,
) -> ApiResult<OneTimePassword> {
    let staff = NewStaff {
        login: staff.login.trim().to_string(),
        display_name: staff.display_name.trim().to_string(),
        ..staff
    };
    let (password, hash) = one_time().await?;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let kind = store::unit_kind(&mut tx, staff.unit_id).await?;
    check_new_staff(&staff, kind, lang).map_err(ApiError::validation)?;
    if store::login_taken(&mut tx, &staff.login).await? {
        return Err(field(
            lang,
            "login",
            lang.pick(
                "该登录账号已被使用，请换一个",
                "This login name is taken; choose another",
            ),
        ));
    }
    if store::is_licence(&mut tx, &staff.login).await? {
        return Err(field(
            lang,
            "login",
            lang.pick(
                "这是一户零售户的许可证号，留给该零售户登录用；员工账号请换一个",
                "This is a retailer's licence number, kept for its own sign-in; choose another",
            ),
        ));
    }
    let id = store::insert_staff(
        &mut tx,
        &staff.login,
        &staff.display_name,
        staff.role,
        staff.unit_id,
        &hash,
    )
    .await?;
    let user = audited(
        tx,
        actor.id,
        "user_created",
        id,
        &json!({ "login": staff.login, "role": staff.role, "unit_id": staff.unit_id }),
        lang,
    )
    .await?;
    Ok(OneTimePassword { user, password })
}

/// Changes role, unit, name or active state, at the version the
/// administrator saw. The last active administrator can be neither
/// deactivated nor given another role; a deactivation ends the account's
/// sessions at once.
pub async fn change(
    state: &AppState,
    actor: &UserRow,
    lang: Lang,
    id: i64,
    change: UserChange,
) -> ApiResult<UserView> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    // The administrators first, then the account: every change takes its
    // locks in this order.
    let admins = store::lock_admins(&mut tx, state.db.backend).await?;
    let Some((role_before, version, active_before, _)) =
        store::lock_user(&mut tx, state.db.backend, id).await?
    else {
        return Err(not_found(lang));
    };
    if version != change.version {
        return Err(ApiError::conflict(lang.pick(
            "该账号刚被其他人修改，请刷新后再改",
            "Someone else changed this account first; reload and try again",
        )));
    }
    let before = store::view(&mut tx, id)
        .await?
        .ok_or_else(|| not_found(lang))?;
    let role = change.role.unwrap_or(role_before);
    let unit_id = change.unit_id.unwrap_or(before.unit_id);
    let active = change.active.unwrap_or(active_before);
    let display_name = change
        .display_name
        .as_deref()
        .map(str::trim)
        .unwrap_or(&before.display_name)
        .to_string();
    if let Some(m) = name_error(&display_name, lang) {
        return Err(field(lang, "display_name", m));
    }
    if role_before == Role::Retailer {
        if role != Role::Retailer || unit_id != before.unit_id {
            return Err(field(
                lang,
                "role",
                lang.pick(
                    "零售户账号的角色和单位随零售户档案，不能在此修改",
                    "A retailer account's role and unit follow the retailer's record",
                ),
            ));
        }
    } else {
        if !STAFF_ROLES.contains(&role) {
            return Err(field(
                lang,
                "role",
                lang.pick(
                    "员工账号不能改为零售户",
                    "A staff account cannot become a retailer",
                ),
            ));
        }
        let kind: Option<UnitKind> = store::unit_kind(&mut tx, unit_id).await?;
        if let Some((f, m)) = role_unit_error(role, kind, lang) {
            return Err(field(lang, f, m));
        }
    }
    if role_before == Role::CustomerManager && (role != role_before || unit_id != before.unit_id) {
        let served: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM retailers WHERE manager_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if served > 0 {
            let f = if role != role_before {
                "role"
            } else {
                "unit_id"
            };
            return Err(field(
                lang,
                f,
                match lang {
                    Lang::Zh => format!("该客户经理名下还有 {served} 户零售户，请先在基础数据中把零售户移交给其他客户经理"),
                    Lang::En => format!("This customer manager still serves {served} retailers; hand them to another manager in the master data first"),
                },
            ));
        }
    }
    let stays_admin = role == Role::Admin && active;
    if role_before == Role::Admin && active_before && !stays_admin && admins == [id] {
        let f = if active { "role" } else { "active" };
        return Err(field(
            lang,
            f,
            lang.pick(
                "这是最后一位在用的系统管理员，不能停用或改为其他角色",
                "This is the last active administrator; it cannot be deactivated or given another role",
            ),
        ));
    }
    if role == role_before
        && unit_id == before.unit_id
        && display_name == before.display_name
        && active == active_before
    {
        // Nothing to change: no new version, no audit entry.
        return Ok(before);
    }
    let ends_sessions = active_before && !active;
    let served: i64 = if ends_sessions && role_before == Role::CustomerManager {
        sqlx::query_scalar("SELECT COUNT(*) FROM retailers WHERE manager_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
    } else {
        0
    };
    store::change(
        &mut tx,
        id,
        version,
        role,
        unit_id,
        &display_name,
        active,
        ends_sessions,
    )
    .await?
    .ok_or_else(|| {
        ApiError::conflict(lang.pick(
            "该账号刚被其他人修改，请刷新后再改",
            "Someone else changed this account first; reload and try again",
        ))
    })?;
    let action = match (active_before, active) {
        (true, false) => "user_deactivated",
        (false, true) => "user_reactivated",
        _ => "user_changed",
    };
    audited(
        tx,
        actor.id,
        action,
        id,
        &json!({
            "login": before.login,
            "before": { "role": role_before, "unit_id": before.unit_id, "display_name": before.display_name, "active": active_before },
            "after": { "role": role, "unit_id": unit_id, "display_name": display_name, "active": active },
            "sessions_ended": ends_sessions,
            // A customer manager who leaves may still serve retailers: the
            // account is closed at once (a security matter) and the
            // retailers wait to be handed over in the master data.
            "retailers_served": served,
        }),
        lang,
    )
    .await
}

/// Lifts the sign-in locks of an account.
pub async fn unlock(state: &AppState, actor: &UserRow, lang: Lang, id: i64) -> ApiResult<UserView> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let Some(before) = store::view(&mut tx, id).await? else {
        return Err(not_found(lang));
    };
    let pairs = store::unlock(&mut tx, id, &before.login).await?;
    let after = audited(
        tx,
        actor.id,
        "user_unlocked",
        id,
        &json!({ "login": before.login, "was_locked": before.locked, "addresses_cleared": pairs }),
        lang,
    )
    .await?;
    Ok(after)
}

/// Gives an account a one-time password (shown once) that it must change
/// at its next sign-in; its sessions end and its locks lift.
pub async fn reset_password(
    state: &AppState,
    actor: &UserRow,
    lang: Lang,
    id: i64,
) -> ApiResult<OneTimePassword> {
    let (password, hash) = one_time().await?;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let Some(before) = store::view(&mut tx, id).await? else {
        return Err(not_found(lang));
    };
    if !before.active {
        return Err(field(
            lang,
            "active",
            lang.pick(
                "该账号已停用，请先启用再重置密码",
                "This account is deactivated; reactivate it before resetting its password",
            ),
        ));
    }
    store::set_one_time_password(&mut tx, id, &hash).await?;
    store::unlock(&mut tx, id, &before.login).await?;
    let user = audited(
        tx,
        actor.id,
        "password_reset",
        id,
        &json!({ "login": before.login, "by_role": actor.role }),
        lang,
    )
    .await?;
    Ok(OneTimePassword { user, password })
}

/// A customer manager resets the password of one of their own retailers.
/// Anyone else's retailer answers 403, as the policy says.
pub async fn reset_retailer_password(
    state: &AppState,
    actor: &UserRow,
    lang: Lang,
    retailer_id: i64,
) -> ApiResult<OneTimePassword> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT r.manager_id, u.id FROM retailers r LEFT JOIN users u ON u.retailer_id = r.id WHERE r.id = $1",
    )
    .bind(retailer_id)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some((manager_id, account)) = row else {
        return Err(ApiError::not_found(lang));
    };
    let own = manager_id == actor.id;
    if !domain::policy::op::RESET_RETAILER_PASSWORD.allows(actor.role, own) {
        return Err(ApiError::forbidden(lang));
    }
    let Some(account) = account else {
        return Err(field(
            lang,
            "retailer_id",
            lang.pick(
                "该零售户还没有开通登录账号，请联系系统管理员开通",
                "This retailer has no sign-in yet; ask the administrator to create one",
            ),
        ));
    };
    reset_password(state, actor, lang, account).await
}

// ----- Retailer sign-ins in bulk -----

/// Checks the scope and starts a background run; answers at once with the
/// job, whose progress the caller polls.
pub async fn start_retailer_accounts(
    state: &AppState,
    actor: &UserRow,
    lang: Lang,
    scope: AccountScope,
) -> ApiResult<AccountJob> {
    match &scope {
        AccountScope::Licences { licences } => {
            let n = licences.iter().filter(|l| !l.trim().is_empty()).count();
            if n == 0 {
                return Err(field(
                    lang,
                    "licences",
                    lang.pick(
                        "请粘贴至少一个许可证号",
                        "Paste at least one licence number",
                    ),
                ));
            }
            if licences.len() > MAX_LISTED_RETAILERS {
                return Err(field(
                    lang,
                    "licences",
                    match lang {
                        Lang::Zh => format!("一次最多 {MAX_LISTED_RETAILERS} 个许可证号"),
                        Lang::En => {
                            format!("At most {MAX_LISTED_RETAILERS} licence numbers at once")
                        }
                    },
                ));
            }
        }
        AccountScope::MarketUnit { unit_id } => {
            let mut conn = state.db.pool.acquire().await?;
            if store::unit_kind(&mut conn, *unit_id).await? != Some(UnitKind::MarketDepartment) {
                return Err(field(
                    lang,
                    "unit_id",
                    lang.pick("请选择一个市场部", "Choose a market department"),
                ));
            }
        }
        AccountScope::AllEnrolled => {}
    }
    let mut conn = state.db.pool.acquire().await?;
    let (open, skipped, unknown) = store::retailers_to_open(&mut conn, &scope).await?;
    if !unknown.is_empty() {
        // Shown cut short: a pasted "licence" may be anything.
        let shown: Vec<String> = unknown
            .iter()
            .take(5)
            .map(|l| {
                let mut s: String = l.chars().take(20).collect();
                if l.chars().count() > 20 {
                    s.push('…');
                }
                s
            })
            .collect();
        return Err(field(
            lang,
            "licences",
            match lang {
                Lang::Zh => format!(
                    "有 {} 个许可证号不是本公司的零售户：{}{}；未开通任何账号",
                    unknown.len(),
                    shown.join("、"),
                    if unknown.len() > 5 { "……" } else { "" }
                ),
                Lang::En => format!(
                    "{} licence numbers are not retailers of the company: {}{}; no account was made",
                    unknown.len(),
                    shown.join(", "),
                    if unknown.len() > 5 { ", …" } else { "" }
                ),
            },
        ));
    }
    // A staff account holding a licence number as its login would make the
    // retailer's sign-in fail; say which, and make none.
    let logins: Vec<&str> = open.iter().map(|r| r.licence_no.as_str()).collect();
    let clashes = store::taken_logins(&mut conn, &logins).await?;
    if !clashes.is_empty() {
        let mut shown: Vec<&String> = clashes.iter().collect();
        shown.sort();
        let shown: Vec<&str> = shown.into_iter().take(5).map(String::as_str).collect();
        return Err(field(
            lang,
            "scope",
            match lang {
                Lang::Zh => format!(
                    "有 {} 个许可证号已被员工账号用作登录名：{}；这些零售户无法用许可证号登录。本次未开通任何账号，请把它们从范围中去掉（改用“指定许可证号”）后重试",
                    clashes.len(),
                    shown.join("、")
                ),
                Lang::En => format!(
                    "{} licence numbers are the logins of staff accounts: {}; those retailers cannot sign in with them. No account was made; leave them out (use \"these licence numbers\") and try again",
                    clashes.len(),
                    shown.join(", ")
                ),
            },
        ));
    }
    if open.is_empty() {
        return Err(field(
            lang,
            "scope",
            match lang {
                Lang::Zh => format!("所选的 {skipped} 户零售户都已开通账号，无需再开"),
                Lang::En => format!("All {skipped} retailers chosen have a sign-in already"),
            },
        ));
    }
    let scope_text = serde_json::to_string(&match &scope {
        // The licences themselves are in the audit entry's count, not here.
        AccountScope::Licences { licences } => {
            json!({ "kind": "licences", "count": licences.len() })
        }
        other => serde_json::to_value(other).unwrap_or_default(),
    })
    .unwrap_or_default();
    let job_id = {
        let mut tx = state.db.begin(&mut conn).await?;
        let id = match store::start_job(&mut tx, actor.id, &scope_text, store::STALE_AFTER).await {
            Ok(id) => id,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(ApiError::conflict(lang.pick(
                    "另一批零售户账号正在生成，请等它完成后再开始",
                    "Another batch of retailer sign-ins is being made; wait for it to finish",
                )));
            }
            Err(e) => return Err(e.into()),
        };
        store::job_counts(&mut tx, id, open.len() as i64, 0, skipped).await?;
        tx.commit().await?;
        id
    };
    drop(conn);
    let job = {
        let mut conn = state.db.pool.acquire().await?;
        store::job(&mut conn, job_id)
            .await?
            .ok_or_else(|| not_found(lang))?
    };
    let state = state.clone();
    let actor_id = actor.id;
    tokio::spawn(async move {
        if let Err(e) = run_job(&state, job_id, actor_id, open, skipped, lang).await {
            tracing::error!(job = job_id, error = %e, "retailer accounts job failed");
            if let Ok(mut conn) = state.db.pool.acquire().await {
                let message = lang.pick(
                    "生成失败，没有开通任何账号；请重试",
                    "The run failed and no account was made; try again",
                );
                let _ = store::fail_job(&mut conn, job_id, message).await;
            }
        }
    });
    Ok(job)
}

/// Hashes every one-time password on all cores, then creates every account
/// in one transaction with the handout, or none.
async fn run_job(
    state: &AppState,
    job_id: i64,
    actor_id: i64,
    open: Vec<RetailerToOpen>,
    skipped: i64,
    lang: Lang,
) -> anyhow::Result<()> {
    let total = open.len();
    let hashed = Arc::new(AtomicUsize::new(0));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let passwords: Vec<String> = (0..total).map(|_| password::one_time_password()).collect();
    let passwords = Arc::new(passwords);
    let work = {
        let hashed = Arc::clone(&hashed);
        let passwords = Arc::clone(&passwords);
        tokio::task::spawn_blocking(move || hash_all(&passwords, threads, &hashed))
    };
    // Progress every half second while the threads hash.
    let reporter = {
        let state = state.clone();
        let hashed = Arc::clone(&hashed);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let done = hashed.load(Ordering::Relaxed) as i64;
                if let Ok(mut conn) = state.db.pool.acquire().await {
                    let _ = store::job_counts(&mut conn, job_id, total as i64, done, skipped).await;
                }
                if done >= total as i64 {
                    break;
                }
            }
        })
    };
    let hashes = work.await??;
    reporter.abort();

    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    // Someone may have given one of these a sign-in since the run began.
    let logins: Vec<&str> = open.iter().map(|r| r.licence_no.as_str()).collect();
    let taken = store::taken_logins(&mut tx, &logins).await?;
    let taken_retailers: std::collections::HashSet<i64> = {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT retailer_id FROM users WHERE retailer_id IS NOT NULL")
                .fetch_all(&mut *tx)
                .await?;
        ids.into_iter().collect()
    };
    let now = crate::db::now_unix();
    let mut rows = Vec::with_capacity(total);
    let mut handout = Vec::with_capacity(total);
    for ((r, hash), password) in open.iter().zip(hashes).zip(passwords.iter()) {
        if taken.contains(&r.licence_no.to_lowercase()) || taken_retailers.contains(&r.retailer_id)
        {
            continue;
        }
        rows.push(vec![
            r.licence_no.clone().into(),
            r.name.clone().into(),
            Role::Retailer.as_str().into(),
            r.market_unit_id.into(),
            Some(r.retailer_id).into(),
            hash.into(),
            1_i64.into(),
            now.into(),
        ]);
        handout.push([
            r.licence_no.clone(),
            r.name.clone(),
            r.manager_name.clone(),
            password.clone(),
        ]);
    }
    let created = rows.len() as i64;
    let skipped = skipped + (total as i64 - created);
    crate::db::insert_rows(
        &mut tx,
        "users",
        &[
            "login",
            "display_name",
            "role",
            "org_unit_id",
            "retailer_id",
            "password_hash",
            "must_change_password",
            "created_at",
        ],
        &rows,
    )
    .await?;
    let sheet =
        tokio::task::spawn_blocking(move || crate::xlsx::write_handout(&handout, lang)).await??;
    audit::record(
        &mut tx,
        Some(actor_id),
        "retailer_accounts_created",
        "account_job",
        &job_id.to_string(),
        &json!({ "created": created, "skipped": skipped }),
    )
    .await?;
    store::finish_job(&mut tx, job_id, created, skipped, sheet).await?;
    tx.commit().await?;
    Ok(())
}

/// Hashes every password on `threads` threads, counting as it goes.
fn hash_all(
    passwords: &[String],
    threads: usize,
    hashed: &AtomicUsize,
) -> anyhow::Result<Vec<String>> {
    let chunk = passwords.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = passwords
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|p| {
                            let h = password::hash_one_time_blocking(p);
                            hashed.fetch_add(1, Ordering::Relaxed);
                            h
                        })
                        .collect::<anyhow::Result<Vec<String>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(passwords.len());
        for w in workers {
            out.extend(
                w.join()
                    .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))??,
            );
        }
        Ok(out)
    })
}

pub async fn job(state: &AppState, lang: Lang, id: i64) -> ApiResult<AccountJob> {
    let mut conn = state.db.pool.acquire().await?;
    store::job(&mut conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found(lang))
}

/// The handout of a finished run, once; 410 afterwards.
pub async fn take_handout(
    state: &AppState,
    actor: &UserRow,
    lang: Lang,
    id: i64,
) -> ApiResult<Vec<u8>> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let Some(job) = store::job(&mut tx, id).await? else {
        return Err(ApiError::not_found(lang));
    };
    let gone = || {
        ApiError::new(
            axum::http::StatusCode::GONE,
            ErrorCode::Gone,
            lang.pick(
                "这批账号的发放表已下载过（或已超过一天被删除），密码不再显示；如有遗失，请逐个重置密码",
                "This handout was downloaded already (or deleted after a day); the passwords are not shown again. Reset lost ones one by one",
            ),
        )
    };
    if job.state != domain::accounts::JobState::Done {
        return Err(ApiError::conflict(
            lang.pick("这批账号还没有生成完", "This batch is not finished yet"),
        ));
    }
    let Some(bytes) = store::take_handout(&mut tx, id).await? else {
        return Err(gone());
    };
    audit::record(
        &mut tx,
        Some(actor.id),
        "handout_downloaded",
        "account_job",
        &id.to_string(),
        &json!({ "accounts": job.created }),
    )
    .await?;
    tx.commit().await?;
    Ok(bytes)
}

// ----- First start -----

/// What [`bootstrap_admin`] did.
#[derive(Debug)]
pub enum Bootstrap {
    /// A new administrator with this one-time password.
    Created { password: String },
    /// An existing administrator's password replaced by this one-time one.
    Reset { password: String },
}

/// The first administrator of an installation, made from the command line
/// (`server create-admin`): a one-time password that must be replaced by
/// one passing the password policy at the first sign-in. Creates the
/// marketing center unit when the database has no organisation yet.
/// Refuses while another administrator is active, unless `reset` names an
/// existing administrator's login (recovery of a lost password).
pub async fn bootstrap_admin(
    db: &crate::db::Db,
    login: &str,
    name: &str,
    center_name: &str,
    reset: bool,
) -> anyhow::Result<Bootstrap> {
    let login = login.trim();
    if let Some(m) = domain::accounts::login_error(login, Lang::Zh) {
        anyhow::bail!("{m} ({login})");
    }
    if let Some(m) = name_error(name, Lang::Zh) {
        anyhow::bail!("{m}");
    }
    let password = password::one_time_password();
    let plain = password.clone();
    let hash =
        tokio::task::spawn_blocking(move || password::hash_one_time_blocking(&plain)).await??;
    let mut conn = db.pool.acquire().await?;
    let mut tx = db.begin(&mut conn).await?;
    let existing: Option<(i64, String)> =
        sqlx::query_as("SELECT id, role FROM users WHERE LOWER(login) = LOWER($1)")
            .bind(login)
            .fetch_optional(&mut *tx)
            .await?;
    let outcome = match existing {
        Some((id, role)) => {
            if role != Role::Admin.as_str() || !reset {
                anyhow::bail!(
                    "the login {login} exists already{}",
                    if role == Role::Admin.as_str() {
                        "; add --reset to give it a new one-time password"
                    } else {
                        " and is not an administrator; choose another login"
                    }
                );
            }
            sqlx::query("UPDATE users SET active = 1 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            store::set_one_time_password(&mut tx, id, &hash).await?;
            store::unlock(&mut tx, id, login).await?;
            audit::record(
                &mut tx,
                None,
                "password_reset",
                "user",
                &id.to_string(),
                &json!({ "login": login, "by": "command line" }),
            )
            .await?;
            Bootstrap::Reset { password }
        }
        None => {
            let admins = store::lock_admins(&mut tx, db.backend).await?;
            if !admins.is_empty() {
                anyhow::bail!(
                    "this installation has an active administrator already; new accounts are made on the administration page (系统管理 → 用户)"
                );
            }
            let center: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM org_units WHERE kind = 'marketing_center' ORDER BY id LIMIT 1",
            )
            .fetch_optional(&mut *tx)
            .await?;
            let center = match center {
                Some(id) => id,
                None => {
                    sqlx::query_scalar(
                        "INSERT INTO org_units (parent_id, kind, name) VALUES (NULL, 'marketing_center', $1) RETURNING id",
                    )
                    .bind(center_name)
                    .fetch_one(&mut *tx)
                    .await?
                }
            };
            let id = store::insert_staff(&mut tx, login, name.trim(), Role::Admin, center, &hash)
                .await?;
            audit::record(
                &mut tx,
                None,
                "user_created",
                "user",
                &id.to_string(),
                &json!({ "login": login, "role": Role::Admin, "by": "command line" }),
            )
            .await?;
            Bootstrap::Created { password }
        }
    };
    tx.commit().await?;
    Ok(outcome)
}
