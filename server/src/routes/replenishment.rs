//! Online replenishment (网上配货): a retailer's settings and proposed order,
//! kept by the retailer or by their customer manager, and the policy the
//! marketing center sets.
//!
//! Scope: a retailer reaches only itself; a customer manager only their own
//! retailers (both may write); market and county managers may read retailers
//! under their unit; the marketing center and admins may read all.

use axum::extract::{Path, State};
use axum::Json;
use domain::policy::op;
use domain::quantity::Fen;
use domain::replenishment::{
    check_all_settings, check_cap, check_multiple, check_order, check_policy, check_weekday,
    next_order_date, order_value, propose, ConfirmOrderRequest, ConfirmedLine, EnrolmentRequest,
    ManagedRetailers, PolicyChanges, PolicyView, ProposalView, RetailerHeader,
    RetailerSettingsView, SaveSettingsRequest, SettingsChange, SpecRule, SpecTerms,
};
use domain::{ErrorBody, ErrorCode, Lang, Role};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::service::replenishment as service;
use crate::store::replenishment::{self as repl, RetailerRow};
use crate::store::{self};
use crate::AppState;

const TAG: &str = "replenishment";

pub use crate::clock::today;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// Loads the retailer if the caller may reach it for `need`; 403 otherwise
/// (also for retailers that do not exist, so ids cannot be probed).
async fn reach(
    state: &AppState,
    current: &CurrentUser,
    retailer_id: i64,
    need: Access,
) -> ApiResult<RetailerRow> {
    let user = &current.user;
    let forbidden = || ApiError::forbidden(current.lang);
    let retailer = repl::retailer(&state.db.pool, retailer_id)
        .await?
        .ok_or_else(forbidden)?;
    let allowed = match user.role {
        Role::Retailer => user.retailer_id == Some(retailer_id),
        Role::CustomerManager => retailer.manager_id == user.id,
        Role::MarketManager | Role::CountyManager => {
            need == Access::Read
                && unit_is_under(state, retailer.market_unit_id, user.org_unit_id).await?
        }
        Role::MarketingCenter | Role::Admin => need == Access::Read,
    };
    if allowed {
        Ok(retailer)
    } else {
        Err(forbidden())
    }
}

/// Whether `unit` is `ancestor` or lies below it in the org tree.
async fn unit_is_under(state: &AppState, unit: i64, ancestor: i64) -> ApiResult<bool> {
    let units = store::org::units(&state.db.pool).await?;
    let mut at = Some(unit);
    // The tree is shallow; the step bound guards against a cycle in bad data.
    for _ in 0..units.len() + 1 {
        match at {
            Some(id) if id == ancestor => return Ok(true),
            Some(id) => at = units.iter().find(|u| u.id == id).and_then(|u| u.parent_id),
            None => return Ok(false),
        }
    }
    Ok(false)
}

async fn settings_view(state: &AppState, retailer: RetailerRow) -> ApiResult<RetailerSettingsView> {
    let pool = &state.db.pool;
    let class = retailer.header.class_code.clone();
    Ok(RetailerSettingsView {
        version: retailer.settings_version,
        policy: repl::policy(pool).await?,
        total_cap: repl::total_cap(pool, &class).await?,
        terms: repl::terms_for_class(pool, &class).await?,
        settings: repl::settings(pool, retailer.header.id).await?,
        next_order_date: next_order_date(today(), retailer.header.order_weekday),
        retailer: retailer.header,
    })
}

/// A customer manager's retailers with their online-replenishment status and
/// the share who joined (网上配货户占比).
#[utoipa::path(get, path = "/api/replenishment/retailers", tag = TAG,
    responses((status = 200, body = ManagedRetailers), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn managed(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<ManagedRetailers>> {
    current.require(op::MANAGED_RETAILERS)?;
    let retailers = repl::managed_retailers(&state.db.pool, current.user.id).await?;
    Ok(Json(ManagedRetailers {
        total: retailers.len() as i64,
        online: retailers.iter().filter(|r| r.online).count() as i64,
        retailers,
    }))
}

/// A retailer's settings with the terms of its class.
#[utoipa::path(get, path = "/api/replenishment/retailers/{id}", tag = TAG,
    params(("id" = i64, Path, description = "Retailer id")),
    responses((status = 200, body = RetailerSettingsView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn retailer_settings(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<RetailerSettingsView>> {
    current.require(op::RETAILER_SETTINGS)?;
    let retailer = reach(&state, &current, id, Access::Read).await?;
    Ok(Json(settings_view(&state, retailer).await?))
}

fn settings_invalid(lang: Lang) -> ErrorBody {
    ErrorBody::new(
        ErrorCode::Validation,
        lang.pick(
            "部分设置不符合要求，请按提示修改后再保存",
            "Some settings are not valid; correct them and save again",
        ),
    )
}

/// Replaces the retailer's settings list. Every line is checked with the
/// domain rules; on any error nothing is saved. A save made on an older
/// version than the stored one is refused with 409.
#[utoipa::path(put, path = "/api/replenishment/retailers/{id}/settings", tag = TAG,
    params(("id" = i64, Path, description = "Retailer id")),
    request_body = SaveSettingsRequest,
    responses((status = 200, body = RetailerSettingsView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_settings(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<SaveSettingsRequest>,
) -> ApiResult<Json<RetailerSettingsView>> {
    current.require(op::SAVE_SETTINGS)?;
    let lang = current.lang;
    let retailer = reach(&state, &current, id, Access::Write).await?;
    let terms = repl::terms_for_class(&state.db.pool, &retailer.header.class_code).await?;
    let rules: Vec<SpecRule> = terms.iter().map(|t| t.rule()).collect();
    let errors = check_all_settings(&request.settings, &rules);
    if !errors.is_empty() {
        let body = errors
            .into_iter()
            .fold(settings_invalid(lang), |body, (i, e)| {
                body.with_field(format!("settings.{i}.{}", e.field()), e.message(lang))
            });
        return Err(ApiError::validation(body));
    }
    let version = service::save_settings(
        &state,
        current.user.id,
        lang,
        id,
        request.version,
        &request.settings,
    )
    .await?;
    let retailer = RetailerRow {
        settings_version: version,
        ..retailer
    };
    Ok(Json(settings_view(&state, retailer).await?))
}

/// The retailer's proposal for its next order day, with the class terms it
/// was computed from (confirming checks against the same terms).
async fn proposal_view(
    state: &AppState,
    retailer: &RetailerRow,
) -> ApiResult<(ProposalView, Vec<SpecTerms>)> {
    let pool = &state.db.pool;
    let class = &retailer.header.class_code;
    let terms = repl::terms_for_class(pool, class).await?;
    let rules: Vec<SpecRule> = terms.iter().map(|t| t.rule()).collect();
    let total_cap = repl::total_cap(pool, class).await?;
    let settings = repl::settings(pool, retailer.header.id).await?;
    let policy = repl::policy(pool).await?;
    let lines = propose(&settings, &rules, total_cap, &policy);
    let priced: Vec<(i64, Fen)> = lines
        .iter()
        .map(|l| (l.quantity, price_of(&terms, l.spec_id)))
        .collect();
    let (total_cartons, total_value) = order_value(&priced);
    let order_date = next_order_date(today(), retailer.header.order_weekday);
    let view = ProposalView {
        order_date,
        total_cap,
        lines,
        total_cartons,
        total_value,
        confirmed: repl::confirmed_order(pool, retailer.header.id, order_date).await?,
    };
    Ok((view, terms))
}

fn price_of(terms: &[SpecTerms], spec_id: i64) -> Fen {
    terms
        .iter()
        .find(|t| t.spec_id == spec_id)
        .map(|t| t.wholesale_per_carton)
        .unwrap_or_default()
}

/// The proposed order (建议订单) for the next order day, each quantity with
/// its reasons, and the order if it was confirmed already.
#[utoipa::path(get, path = "/api/replenishment/retailers/{id}/proposal", tag = TAG,
    params(("id" = i64, Path, description = "Retailer id")),
    responses((status = 200, body = ProposalView), (status = 403, body = ErrorBody)))]
pub async fn proposal(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProposalView>> {
    current.require(op::PROPOSAL)?;
    let retailer = reach(&state, &current, id, Access::Read).await?;
    Ok(Json(proposal_view(&state, &retailer).await?.0))
}

/// Confirms the order for the next order day with quantities within the caps.
/// Stored with what the caps cut off (censored demand). One order per day.
#[utoipa::path(post, path = "/api/replenishment/retailers/{id}/orders", tag = TAG,
    params(("id" = i64, Path, description = "Retailer id")),
    request_body = ConfirmOrderRequest,
    responses((status = 200, body = ProposalView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<ConfirmOrderRequest>,
) -> ApiResult<Json<ProposalView>> {
    current.require(op::CONFIRM_ORDER)?;
    let lang = current.lang;
    let retailer = reach(&state, &current, id, Access::Write).await?;
    if !retailer.header.online {
        return Err(ApiError::conflict(lang.pick(
            "该零售户未开通网上配货，不能确认订单",
            "This retailer has not joined online replenishment",
        )));
    }
    let (mut proposal, terms) = proposal_view(&state, &retailer).await?;
    if request.order_date != proposal.order_date {
        return Err(ApiError::conflict(match lang {
            Lang::Zh => format!("订货日已变为 {}，请刷新后重新确认", proposal.order_date),
            Lang::En => format!(
                "The order day is now {}; reload and confirm again",
                proposal.order_date
            ),
        }));
    }
    // Only specs on the retailer's list may be ordered.
    let rules: Vec<SpecRule> = terms
        .iter()
        .filter(|t| proposal.lines.iter().any(|l| l.spec_id == t.spec_id))
        .map(|t| t.rule())
        .collect();
    let errors = check_order(&request.lines, &rules, proposal.total_cap);
    if !errors.is_empty() {
        let body = ErrorBody::new(
            ErrorCode::Validation,
            lang.pick(
                "订单数量不符合限量要求，请修改后再确认",
                "Some quantities break the caps; correct them and confirm again",
            ),
        );
        let body = errors.into_iter().fold(body, |body, (i, e)| {
            let field = match i {
                Some(i) => format!("lines.{i}.quantity"),
                None => "total".to_string(),
            };
            body.with_field(field, e.message(lang))
        });
        return Err(ApiError::validation(body));
    }
    let lines: Vec<ConfirmedLine> = proposal
        .lines
        .iter()
        .map(|p| {
            let quantity = request
                .lines
                .iter()
                .find(|l| l.spec_id == p.spec_id)
                .map(|l| l.quantity.get())
                .unwrap_or(0);
            ConfirmedLine {
                spec_id: p.spec_id,
                wanted: p.wanted,
                proposed: p.quantity,
                quantity,
                cut_off: p.cut_off(),
            }
        })
        .collect();
    let priced: Vec<(i64, Fen)> = lines
        .iter()
        .map(|l| (l.quantity, price_of(&terms, l.spec_id)))
        .collect();
    let (total, value) = order_value(&priced);
    service::confirm_order(
        &state,
        current.user.id,
        lang,
        id,
        proposal.order_date,
        &lines,
        total,
        value,
    )
    .await?;
    proposal.confirmed = repl::confirmed_order(&state.db.pool, id, proposal.order_date).await?;
    Ok(Json(proposal))
}

/// The latest changes of the retailer's settings: who, when, from, to.
#[utoipa::path(get, path = "/api/replenishment/retailers/{id}/history", tag = TAG,
    params(("id" = i64, Path, description = "Retailer id")),
    responses((status = 200, body = [SettingsChange]), (status = 403, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<SettingsChange>>> {
    current.require(op::ORDER_HISTORY)?;
    reach(&state, &current, id, Access::Read).await?;
    Ok(Json(repl::history(&state.db.pool, id, 500).await?))
}

/// Joins a retailer to online replenishment or takes it off (customer manager).
#[utoipa::path(put, path = "/api/replenishment/retailers/{id}/enrolment", tag = TAG,
    params(("id" = i64, Path, description = "Retailer id")),
    request_body = EnrolmentRequest,
    responses((status = 200, body = RetailerHeader), (status = 403, body = ErrorBody)))]
pub async fn enrol(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<EnrolmentRequest>,
) -> ApiResult<Json<RetailerHeader>> {
    current.require(op::ENROL)?;
    let retailer = reach(&state, &current, id, Access::Write).await?;
    service::set_enrolment(
        &state,
        current.user.id,
        id,
        retailer.header.online,
        request.online,
    )
    .await?;
    Ok(Json(RetailerHeader {
        online: request.online,
        ..retailer.header
    }))
}

/// The replenishment policy: caps per spec × class, total caps per class,
/// order multiples, scarce flags, lead days and the stock-to-sales norm.
/// (Each retailer's order day is changed here too, and read on its page.)
#[utoipa::path(get, path = "/api/replenishment/policy", tag = TAG,
    responses((status = 200, body = PolicyView), (status = 403, body = ErrorBody)))]
pub async fn get_policy(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<PolicyView>> {
    current.require(op::POLICY_READ)?;
    Ok(Json(service::policy_view(&state).await?))
}

/// At most this many spec, cap, class and order-day changes in one request.
const MAX_POLICY_CHANGES: usize = 20_000;

/// Changes the policy (marketing center). Everything listed is checked and
/// saved in one transaction, each change audited with its old and new
/// value. The change names the policy version it was made on; if the
/// policy moved since, nothing is saved and the answer is 409.
#[utoipa::path(patch, path = "/api/replenishment/policy", tag = TAG,
    request_body = PolicyChanges,
    responses((status = 200, body = PolicyView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_policy(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(changes): ApiJson<PolicyChanges>,
) -> ApiResult<Json<PolicyView>> {
    current.require(op::POLICY_CHANGE)?;
    let lang = current.lang;
    let listed =
        changes.specs.len() + changes.caps.len() + changes.classes.len() + changes.order_days.len();
    if listed > MAX_POLICY_CHANGES {
        return Err(ApiError::validation(ErrorBody::new(
            ErrorCode::Validation,
            match lang {
                Lang::Zh => {
                    format!("一次最多修改 {MAX_POLICY_CHANGES} 项，本次 {listed} 项；请分批保存")
                }
                Lang::En => format!(
                    "At most {MAX_POLICY_CHANGES} changes at once ({listed} sent); save in parts"
                ),
            },
        )));
    }
    let before = service::policy_view(&state).await?;
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut push = |field: String, message: &str| errors.push((field, message.to_string()));
    if let Some(p) = &changes.policy {
        for (field, e) in check_policy(p) {
            push(format!("policy.{field}"), e.message(lang));
        }
    }
    let unknown_spec = lang.pick("品规不存在", "No such spec");
    let unknown_class = lang.pick("档位不存在", "No such class");
    for (i, s) in changes.specs.iter().enumerate() {
        if !before.specs.iter().any(|b| b.spec_id == s.spec_id) {
            push(format!("specs.{i}.spec_id"), unknown_spec);
        }
        if let Err(e) = check_multiple(s.order_multiple) {
            push(format!("specs.{i}.order_multiple"), e.message(lang));
        }
        if let Err(e) = check_cap(s.default_cap) {
            push(format!("specs.{i}.default_cap"), e.message(lang));
        }
    }
    for (i, c) in changes.caps.iter().enumerate() {
        if !before.specs.iter().any(|b| b.spec_id == c.spec_id) {
            push(format!("caps.{i}.spec_id"), unknown_spec);
        }
        if !before.classes.iter().any(|b| b.code == c.class_code) {
            push(format!("caps.{i}.class_code"), unknown_class);
        }
        if let Err(e) = check_cap(c.cap) {
            push(format!("caps.{i}.cap"), e.message(lang));
        }
    }
    for (i, c) in changes.classes.iter().enumerate() {
        if !before.classes.iter().any(|b| b.code == c.code) {
            push(format!("classes.{i}.code"), unknown_class);
        }
        if let Some(Err(e)) = c.total_cap.map(check_cap) {
            push(format!("classes.{i}.total_cap"), e.message(lang));
        }
    }
    let retailers: std::collections::HashSet<i64> = if changes.order_days.is_empty() {
        Default::default()
    } else {
        sqlx::query_scalar::<_, i64>("SELECT id FROM retailers")
            .fetch_all(&state.db.pool)
            .await?
            .into_iter()
            .collect()
    };
    for (i, d) in changes.order_days.iter().enumerate() {
        if let Err(e) = check_weekday(d.weekday) {
            push(format!("order_days.{i}.weekday"), e.message(lang));
        }
        if !retailers.contains(&d.retailer_id) {
            push(
                format!("order_days.{i}.retailer_id"),
                lang.pick("零售户不存在", "No such retailer"),
            );
        }
    }
    if !errors.is_empty() {
        let count = errors.len();
        return Err(ApiError::invalid_fields(
            match lang {
                Lang::Zh => format!("有 {count} 处政策值不符合要求，未保存任何修改"),
                Lang::En => format!("{count} values are not valid; nothing was saved"),
            },
            errors,
        ));
    }

    service::change_policy(&state, current.user.id, lang, &changes, &before).await?;
    Ok(Json(service::policy_view(&state).await?))
}
