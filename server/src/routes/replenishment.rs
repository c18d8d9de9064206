//! Online replenishment (网上配货): a retailer's settings and proposed order,
//! kept by the retailer or by their customer manager, and the policy the
//! marketing center sets.
//!
//! Scope: a retailer reaches only itself; a customer manager only their own
//! retailers (both may write); market and county managers may read retailers
//! under their unit; the marketing center and admins may read all.

use axum::extract::{Path, State};
use axum::Json;
use chrono::NaiveDate;
use domain::policy::op;
use domain::quantity::Fen;
use domain::replenishment::{
    check_all_settings, check_cap, check_multiple, check_not_empty, check_order, check_policy,
    check_weekday, cutoff_at, order_lines, order_value, propose, CancelOrderRequest,
    ChangeOrderRequest, ConfirmOrderRequest, ConfirmedLine, ConfirmedOrder, EnrolmentRequest,
    ManagedRetailers, OrderLineInput, OrderStatus, PolicyChanges, PolicyView, ProposalView,
    RetailerHeader, RetailerSettingsView, SaveSettingsRequest, SettingsChange, SpecRule, SpecTerms,
};
use domain::{ErrorBody, ErrorCode, Lang, Role};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::service::replenishment as service;
use crate::store::replenishment::{self as repl, RetailerRow};
use crate::store::{self};
use crate::AppState;

const TAG: &str = "replenishment";

use crate::clock::now_china;
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
    let policy = repl::policy(pool).await?;
    let window = repl::window_of(pool, retailer.header.order_weekday, &policy, now_china()).await?;
    Ok(RetailerSettingsView {
        version: retailer.settings_version,
        policy,
        total_cap: repl::total_cap(pool, &class).await?,
        terms: repl::terms_for_class(pool, &class, Some(window)).await?,
        settings: repl::settings(pool, retailer.header.id).await?,
        next_order_date: window,
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
    let pool = &state.db.pool;
    let policy = repl::policy(pool).await?;
    let retailers = repl::managed_retailers(pool, current.user.id, &policy, now_china()).await?;
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
    let terms = repl::terms_for_class(&state.db.pool, &retailer.header.class_code, None).await?;
    let rules: Vec<SpecRule> = terms.iter().map(|t| t.settings_rule()).collect();
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

/// The retailer's proposal for the order day whose window is open, with
/// the terms of that day it was computed from (an order is checked against
/// the same terms).
async fn proposal_view(
    state: &AppState,
    retailer: &RetailerRow,
) -> ApiResult<(ProposalView, Vec<SpecTerms>)> {
    let pool = &state.db.pool;
    let class = &retailer.header.class_code;
    let policy = repl::policy(pool).await?;
    let now = now_china();
    let order_date = repl::window_of(pool, retailer.header.order_weekday, &policy, now).await?;
    let terms = repl::terms_for_class(pool, class, Some(order_date)).await?;
    let rules: Vec<SpecRule> = terms.iter().map(|t| t.rule()).collect();
    let total_cap = repl::total_cap(pool, class).await?;
    let settings = repl::settings(pool, retailer.header.id).await?;
    let on_order = repl::on_order(pool, retailer.header.id, order_date).await?;
    let lines = propose(&settings, &rules, total_cap, &policy, &on_order);
    let priced: Vec<(i64, Fen)> = lines
        .iter()
        .map(|l| (l.quantity, price_of(&terms, l.spec_id)))
        .collect();
    let (total_cartons, total_value) = order_value(&priced);
    let view = ProposalView {
        order_date,
        cutoff: cutoff_at(order_date, &policy),
        total_cap,
        lines,
        total_cartons,
        total_value,
        on_order,
        confirmed: repl::order_of_day(pool, retailer.header.id, order_date, &policy, now).await?,
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

/// The proposed order (建议订单) for the order day whose window is open,
/// each quantity with its reasons, and that day's order if confirmed.
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

/// The retailer's orders, newest order day first, with where each stands.
#[utoipa::path(get, path = "/api/replenishment/retailers/{id}/orders", tag = TAG,
    params(("id" = i64, Path, description = "Retailer id")),
    responses((status = 200, body = [ConfirmedOrder]), (status = 403, body = ErrorBody)))]
pub async fn orders(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<ConfirmedOrder>>> {
    current.require(op::ORDER_LIST)?;
    reach(&state, &current, id, Access::Read).await?;
    let pool = &state.db.pool;
    let policy = repl::policy(pool).await?;
    Ok(Json(
        repl::orders(pool, id, 52, &policy, now_china()).await?,
    ))
}

/// The order the retailer may write for `date`: the open window's, and the
/// proposal with its terms; 409 when the day's window has closed or is not
/// open yet.
async fn writable_window(
    state: &AppState,
    current: &CurrentUser,
    id: i64,
    date: NaiveDate,
) -> ApiResult<(ProposalView, Vec<SpecTerms>)> {
    let lang = current.lang;
    let retailer = reach(state, current, id, Access::Write).await?;
    if !(2000..=2100).contains(&chrono::Datelike::year(&date)) {
        return Err(ApiError::validation(ErrorBody::new(
            ErrorCode::Validation,
            lang.pick(
                "订货日须在 2000 年到 2100 年之间",
                "The order day must be between 2000 and 2100",
            ),
        )));
    }
    if !retailer.header.online {
        return Err(ApiError::conflict(lang.pick(
            "该零售户未开通网上配货，不能订货",
            "This retailer has not joined online replenishment",
        )));
    }
    let (proposal, terms) = proposal_view(state, &retailer).await?;
    if repl::day_handed_over(&state.db.pool, date).await? {
        return Err(ApiError::conflict(lang.pick(
            "该订货日的订单已提交供货，不能再下单、修改或取消",
            "This order day's orders have been sent for supply; nothing can be ordered, changed or cancelled",
        )));
    }
    if date == proposal.order_date {
        return Ok((proposal, terms));
    }
    let policy = repl::policy(&state.db.pool).await?;
    let cutoff = cutoff_at(date, &policy).format("%Y-%m-%d %H:%M");
    Err(ApiError::conflict(if date < proposal.order_date {
        match lang {
            Lang::Zh => format!(
                "{date} 的订货已于 {cutoff} 截止，订单已锁定；当前可订货日为 {}",
                proposal.order_date
            ),
            Lang::En => format!(
                "Ordering for {date} closed at {cutoff} and the order is locked; the open order day is {}",
                proposal.order_date
            ),
        }
    } else {
        match lang {
            Lang::Zh => format!("{date} 还不能订货；当前可订货日为 {}", proposal.order_date),
            Lang::En => format!(
                "{date} is not open for orders yet; the open order day is {}",
                proposal.order_date
            ),
        }
    }))
}

/// Checks an order's quantities against the day's terms (any orderable spec,
/// proposed or not) and returns its lines with the proposal's figures, or
/// the 422 naming each bad line.
fn checked_lines(
    lang: Lang,
    proposal: &ProposalView,
    terms: &[SpecTerms],
    lines: &[OrderLineInput],
) -> ApiResult<(Vec<ConfirmedLine>, i64, Fen)> {
    let rules: Vec<SpecRule> = terms.iter().map(|t| t.rule()).collect();
    let errors = check_order(lines, &rules, proposal.total_cap);
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
                Some(i) => format!("lines.{i}.{}", e.field()),
                None => "total".to_string(),
            };
            body.with_field(field, e.message(lang))
        });
        return Err(ApiError::validation(body));
    }
    if let Err(e) = check_not_empty(lines) {
        return Err(ApiError::validation(
            ErrorBody::new(ErrorCode::Validation, e.message(lang))
                .with_field("total", e.message(lang)),
        ));
    }
    let lines = order_lines(&proposal.lines, lines);
    let priced: Vec<(i64, Fen)> = lines
        .iter()
        .map(|l| (l.quantity, price_of(terms, l.spec_id)))
        .collect();
    let (total, value) = order_value(&priced);
    Ok((lines, total, value))
}

/// At most this many lines in an order (a catalogue is a few hundred specs).
const MAX_ORDER_LINES: usize = 2_000;

fn too_many_lines(lang: Lang, lines: &[OrderLineInput]) -> ApiResult<()> {
    if lines.len() <= MAX_ORDER_LINES {
        return Ok(());
    }
    Err(ApiError::validation(ErrorBody::new(
        ErrorCode::Validation,
        match lang {
            Lang::Zh => format!("一张订单最多 {MAX_ORDER_LINES} 行"),
            Lang::En => format!("An order has at most {MAX_ORDER_LINES} lines"),
        },
    )))
}

/// Confirms the order for the open order day: any orderable spec, within
/// the day's caps. Stored with what the caps cut off (censored demand). One
/// order per day; later changes go through `PUT …/orders/{date}`.
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
    too_many_lines(lang, &request.lines)?;
    let (proposal, terms) = writable_window(&state, &current, id, request.order_date).await?;
    if proposal.confirmed.is_some() {
        return Err(service::already_confirmed(lang));
    }
    let (lines, total, value) = checked_lines(lang, &proposal, &terms, &request.lines)?;
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
    let retailer = reach(&state, &current, id, Access::Read).await?;
    Ok(Json(proposal_view(&state, &retailer).await?.0))
}

/// The open order day's order, or 409 when there is none to change.
fn existing_order(lang: Lang, proposal: &ProposalView) -> ApiResult<&ConfirmedOrder> {
    let order = proposal.confirmed.as_ref().ok_or_else(|| {
        ApiError::conflict(lang.pick(
            "该订货日还没有订单，请先确认订单",
            "There is no order for this order day yet; confirm one first",
        ))
    })?;
    if matches!(order.status, OrderStatus::Exported | OrderStatus::Delivered) {
        return Err(ApiError::conflict(lang.pick(
            "订单已提交供货，不能再修改",
            "The order has been sent for supply and can no longer change",
        )));
    }
    Ok(order)
}

/// Changes the quantities of the open order day's order (or confirms a
/// cancelled one again) until the cutoff, if it is still at the version the
/// change was made on (409 otherwise). Within the day's caps.
#[utoipa::path(put, path = "/api/replenishment/retailers/{id}/orders/{date}", tag = TAG,
    params(("id" = i64, Path, description = "Retailer id"),
        ("date" = NaiveDate, Path, description = "Order day, YYYY-MM-DD")),
    request_body = ChangeOrderRequest,
    responses((status = 200, body = ProposalView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_order(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((id, date)): Path<(i64, NaiveDate)>,
    ApiJson(request): ApiJson<ChangeOrderRequest>,
) -> ApiResult<Json<ProposalView>> {
    current.require(op::CHANGE_ORDER)?;
    let lang = current.lang;
    too_many_lines(lang, &request.lines)?;
    let (proposal, terms) = writable_window(&state, &current, id, date).await?;
    let order = existing_order(lang, &proposal)?;
    let (lines, total, value) = checked_lines(lang, &proposal, &terms, &request.lines)?;
    service::change_order(
        &state,
        current.user.id,
        lang,
        (id, order.id, date),
        request.version,
        &lines,
        total,
        value,
    )
    .await?;
    let retailer = reach(&state, &current, id, Access::Read).await?;
    Ok(Json(proposal_view(&state, &retailer).await?.0))
}

/// Cancels the open order day's order until the cutoff, if it is still at
/// the version the cancellation was made on (409 otherwise).
#[utoipa::path(post, path = "/api/replenishment/retailers/{id}/orders/{date}/cancel", tag = TAG,
    params(("id" = i64, Path, description = "Retailer id"),
        ("date" = NaiveDate, Path, description = "Order day, YYYY-MM-DD")),
    request_body = CancelOrderRequest,
    responses((status = 200, body = ProposalView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn cancel_order(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((id, date)): Path<(i64, NaiveDate)>,
    ApiJson(request): ApiJson<CancelOrderRequest>,
) -> ApiResult<Json<ProposalView>> {
    current.require(op::CANCEL_ORDER)?;
    let lang = current.lang;
    let (proposal, _) = writable_window(&state, &current, id, date).await?;
    let order = existing_order(lang, &proposal)?;
    if order.status == OrderStatus::Cancelled {
        return Err(ApiError::conflict(
            lang.pick("订单已取消", "The order is cancelled already"),
        ));
    }
    service::cancel_order(
        &state,
        current.user.id,
        lang,
        (id, order.id, date),
        request.version,
    )
    .await?;
    let retailer = reach(&state, &current, id, Access::Read).await?;
    Ok(Json(proposal_view(&state, &retailer).await?.0))
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
