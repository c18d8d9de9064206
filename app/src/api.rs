//! Typed client of the API: one function per endpoint; every non-2xx answer
//! becomes the shared [`ErrorBody`].

use domain::audit::{AuditPage, AuditQuery};
use domain::auth::{LoginRequest, SessionInfo};
use domain::catalogue::Spec;
use domain::forecast::view::{
    AccuracyReport, ActualsReport, ApproveRequest, CorrectRequest, CycleList, CycleProgress,
    CycleView, Dashboard, ImportReport, LineHistory, ReopenRequest, ReturnRequest, ReviewInbox,
    ReviewSheet, ReviewView, SaveCellsRequest, SaveCellsResponse, SheetView,
};
use domain::forecast::CycleInput;
use domain::home::HomeSummary;
use domain::org::UnitSummary;
use domain::replenishment::{
    CancelOrderRequest, ChangeOrderRequest, ConfirmOrderRequest, ConfirmedOrder, EnrolmentRequest,
    ManagedRetailers, PolicyChanges, PolicyView, ProposalView, RetailerHeader,
    RetailerSettingsView, SaveSettingsRequest, SettingsChange,
};
use domain::{ErrorBody, ErrorCode, Lang};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub type ApiResult<T> = Result<T, ErrorBody>;

fn network_error(lang: Lang) -> ErrorBody {
    ErrorBody::new(
        ErrorCode::Unavailable,
        lang.pick(
            "网络连接失败，请检查网络后重试",
            "Network error; check the connection and try again",
        ),
    )
}

async fn read<T: DeserializeOwned>(response: Response, lang: Lang) -> ApiResult<T> {
    if response.ok() {
        return response.json::<T>().await.map_err(|_| network_error(lang));
    }
    let status = response.status();
    if status == 401 {
        // The session ended (idle timeout, signed out elsewhere): every page
        // goes back to sign-in the same way and returns here afterwards.
        crate::state::session_ended();
    }
    Err(response.json::<ErrorBody>().await.unwrap_or_else(|_| {
        ErrorBody::new(
            ErrorCode::Internal,
            format!("{} ({status})", lang.pick("服务器错误", "Server error")),
        )
    }))
}

async fn read_empty(response: Response, lang: Lang) -> ApiResult<()> {
    if response.ok() {
        return Ok(());
    }
    read::<()>(response, lang).await
}

fn get(path: &str, lang: Lang) -> RequestBuilder {
    Request::get(path).header("Accept-Language", lang.tag())
}

fn post(path: &str, lang: Lang, csrf: Option<&str>) -> RequestBuilder {
    let builder = Request::post(path).header("Accept-Language", lang.tag());
    match csrf {
        Some(token) => builder.header("X-CSRF-Token", token),
        None => builder,
    }
}

async fn send_json<B: Serialize, T: DeserializeOwned>(
    builder: RequestBuilder,
    body: &B,
    lang: Lang,
) -> ApiResult<T> {
    let request = builder.json(body).map_err(|_| network_error(lang))?;
    let response = request.send().await.map_err(|_| network_error(lang))?;
    read(response, lang).await
}

pub async fn login(request: &LoginRequest, lang: Lang) -> ApiResult<SessionInfo> {
    send_json(post("/api/auth/login", lang, None), request, lang).await
}

pub async fn logout(csrf: &str, lang: Lang) -> ApiResult<()> {
    let response = post("/api/auth/logout", lang, Some(csrf))
        .send()
        .await
        .map_err(|_| network_error(lang))?;
    read_empty(response, lang).await
}

async fn get_json<T: DeserializeOwned>(path: &str, lang: Lang) -> ApiResult<T> {
    let response = get(path, lang)
        .send()
        .await
        .map_err(|_| network_error(lang))?;
    read(response, lang).await
}

pub async fn me(lang: Lang) -> ApiResult<SessionInfo> {
    get_json("/api/auth/me", lang).await
}

pub async fn home(lang: Lang) -> ApiResult<HomeSummary> {
    get_json("/api/home", lang).await
}

pub async fn units(lang: Lang) -> ApiResult<Vec<UnitSummary>> {
    get_json("/api/org/units", lang).await
}

pub async fn specs(lang: Lang) -> ApiResult<Vec<Spec>> {
    get_json("/api/specs", lang).await
}

/// A write request carrying the session's CSRF token.
fn write(builder: RequestBuilder, lang: Lang, csrf: &str) -> RequestBuilder {
    builder
        .header("Accept-Language", lang.tag())
        .header("X-CSRF-Token", csrf)
}

pub async fn managed_retailers(lang: Lang) -> ApiResult<ManagedRetailers> {
    get_json("/api/replenishment/retailers", lang).await
}

pub async fn retailer_settings(id: i64, lang: Lang) -> ApiResult<RetailerSettingsView> {
    get_json(&format!("/api/replenishment/retailers/{id}"), lang).await
}

pub async fn save_settings(
    id: i64,
    request: &SaveSettingsRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<RetailerSettingsView> {
    let path = format!("/api/replenishment/retailers/{id}/settings");
    send_json(write(Request::put(&path), lang, csrf), request, lang).await
}

pub async fn proposal(id: i64, lang: Lang) -> ApiResult<ProposalView> {
    get_json(&format!("/api/replenishment/retailers/{id}/proposal"), lang).await
}

pub async fn confirm_order(
    id: i64,
    request: &ConfirmOrderRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<ProposalView> {
    let path = format!("/api/replenishment/retailers/{id}/orders");
    send_json(write(Request::post(&path), lang, csrf), request, lang).await
}

/// Changes the open order day's order (or confirms a cancelled one again).
pub async fn change_order(
    id: i64,
    date: chrono::NaiveDate,
    request: &ChangeOrderRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<ProposalView> {
    let path = format!("/api/replenishment/retailers/{id}/orders/{date}");
    send_json(write(Request::put(&path), lang, csrf), request, lang).await
}

pub async fn cancel_order(
    id: i64,
    date: chrono::NaiveDate,
    request: &CancelOrderRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<ProposalView> {
    let path = format!("/api/replenishment/retailers/{id}/orders/{date}/cancel");
    send_json(write(Request::post(&path), lang, csrf), request, lang).await
}

/// The retailer's orders, newest first.
pub async fn retailer_orders(id: i64, lang: Lang) -> ApiResult<Vec<ConfirmedOrder>> {
    get_json(&format!("/api/replenishment/retailers/{id}/orders"), lang).await
}

pub async fn settings_history(id: i64, lang: Lang) -> ApiResult<Vec<SettingsChange>> {
    get_json(&format!("/api/replenishment/retailers/{id}/history"), lang).await
}

pub async fn enrol(id: i64, online: bool, csrf: &str, lang: Lang) -> ApiResult<RetailerHeader> {
    let path = format!("/api/replenishment/retailers/{id}/enrolment");
    send_json(
        write(Request::put(&path), lang, csrf),
        &EnrolmentRequest { online },
        lang,
    )
    .await
}

pub async fn policy(lang: Lang) -> ApiResult<PolicyView> {
    get_json("/api/replenishment/policy", lang).await
}

pub async fn change_policy(
    changes: &PolicyChanges,
    csrf: &str,
    lang: Lang,
) -> ApiResult<PolicyView> {
    send_json(
        write(Request::patch("/api/replenishment/policy"), lang, csrf),
        changes,
        lang,
    )
    .await
}

pub async fn forecast_cycles(lang: Lang) -> ApiResult<CycleList> {
    get_json("/api/forecast/cycles", lang).await
}

pub async fn open_cycle(input: &CycleInput, csrf: &str, lang: Lang) -> ApiResult<CycleView> {
    send_json(
        write(Request::post("/api/forecast/cycles"), lang, csrf),
        input,
        lang,
    )
    .await
}

pub async fn edit_cycle(
    id: i64,
    input: &CycleInput,
    csrf: &str,
    lang: Lang,
) -> ApiResult<CycleView> {
    let path = format!("/api/forecast/cycles/{id}");
    send_json(write(Request::put(&path), lang, csrf), input, lang).await
}

pub async fn close_cycle(id: i64, csrf: &str, lang: Lang) -> ApiResult<CycleView> {
    let path = format!("/api/forecast/cycles/{id}/close");
    send_json(write(Request::post(&path), lang, csrf), &(), lang).await
}

/// The stored baselines and their latest recompute runs.
pub async fn baselines(lang: Lang) -> ApiResult<domain::forecast::stored::BaselineStatus> {
    get_json("/api/forecast/baselines", lang).await
}

/// Asks for a recompute of every baseline (marketing center); runs in the
/// background.
pub async fn recompute_baselines(
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::forecast::stored::BaselineStatus> {
    send_json(
        write(
            Request::post("/api/forecast/baselines/recompute"),
            lang,
            csrf,
        ),
        &(),
        lang,
    )
    .await
}

pub async fn cycle_progress(id: i64, lang: Lang) -> ApiResult<CycleProgress> {
    get_json(&format!("/api/forecast/cycles/{id}/progress"), lang).await
}

pub async fn reopen_sheet(
    id: i64,
    request: &ReopenRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<CycleProgress> {
    let path = format!("/api/forecast/cycles/{id}/reopen");
    send_json(write(Request::post(&path), lang, csrf), request, lang).await
}

/// The sheet of the signed-in customer manager, or of `manager` for the
/// marketing center.
pub async fn sheet(id: i64, manager: Option<i64>, lang: Lang) -> ApiResult<SheetView> {
    let query = manager
        .map(|m| format!("?manager_id={m}"))
        .unwrap_or_default();
    get_json(&format!("/api/forecast/cycles/{id}/sheet{query}"), lang).await
}

pub async fn save_cells(
    id: i64,
    request: &SaveCellsRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<SaveCellsResponse> {
    let path = format!("/api/forecast/cycles/{id}/sheet/cells");
    send_json(write(Request::put(&path), lang, csrf), request, lang).await
}

pub async fn submit_sheet(id: i64, csrf: &str, lang: Lang) -> ApiResult<SheetView> {
    let path = format!("/api/forecast/cycles/{id}/sheet/submit");
    send_json(write(Request::post(&path), lang, csrf), &(), lang).await
}

/// Uploads an xlsx workbook into the sheet.
pub async fn import_sheet(
    id: i64,
    bytes: Vec<u8>,
    csrf: &str,
    lang: Lang,
) -> ApiResult<ImportReport> {
    let path = format!("/api/forecast/cycles/{id}/sheet/import");
    let body = js_sys::Uint8Array::from(bytes.as_slice());
    let request = write(Request::post(&path), lang, csrf)
        .header(
            "Content-Type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(body)
        .map_err(|_| network_error(lang))?;
    let response = request.send().await.map_err(|_| network_error(lang))?;
    read(response, lang).await
}

pub fn export_sheet_url(id: i64, manager: Option<i64>) -> String {
    let query = manager
        .map(|m| format!("?manager_id={m}"))
        .unwrap_or_default();
    format!("/api/forecast/cycles/{id}/sheet/export{query}")
}

pub async fn review_inbox(lang: Lang) -> ApiResult<ReviewInbox> {
    get_json("/api/forecast/reviews", lang).await
}

/// One page of a sheet under review; `filter` is `all`, `corrected` or `with_reason`.
pub async fn review(
    sheet: i64,
    search: &str,
    filter: &str,
    offset: i64,
    lang: Lang,
) -> ApiResult<ReviewView> {
    let q: String = js_sys::encode_uri_component(search).into();
    get_json(
        &format!("/api/forecast/sheets/{sheet}/review?q={q}&filter={filter}&offset={offset}"),
        lang,
    )
    .await
}

pub async fn correct(
    sheet: i64,
    request: &CorrectRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<SaveCellsResponse> {
    let path = format!("/api/forecast/sheets/{sheet}/corrections");
    send_json(write(Request::put(&path), lang, csrf), request, lang).await
}

pub async fn approve(
    sheet: i64,
    request: &ApproveRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<ReviewSheet> {
    let path = format!("/api/forecast/sheets/{sheet}/approve");
    send_json(write(Request::post(&path), lang, csrf), request, lang).await
}

pub async fn return_sheet(
    sheet: i64,
    request: &ReturnRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<ReviewSheet> {
    let path = format!("/api/forecast/sheets/{sheet}/return");
    send_json(write(Request::post(&path), lang, csrf), request, lang).await
}

pub async fn line_history(
    sheet: i64,
    retailer: i64,
    spec: i64,
    lang: Lang,
) -> ApiResult<LineHistory> {
    get_json(
        &format!("/api/forecast/sheets/{sheet}/lines/{retailer}/{spec}/history"),
        lang,
    )
    .await
}

/// Narrows a report to part of the reader's reach: a unit (and the units
/// below it) or one customer manager; `Whole` is the reader's whole reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Narrow {
    #[default]
    Whole,
    Unit(i64),
    Manager(i64),
}

impl Narrow {
    /// The report's query parameters.
    fn params(self) -> Vec<String> {
        match self {
            Narrow::Whole => Vec::new(),
            Narrow::Unit(id) => vec![format!("unit_id={id}")],
            Narrow::Manager(id) => vec![format!("manager_id={id}")],
        }
    }
}

pub async fn dashboard(cycle: i64, narrow: Narrow, lang: Lang) -> ApiResult<Dashboard> {
    get_json(
        &format!(
            "/api/forecast/cycles/{cycle}/dashboard?{}",
            narrow.params().join("&")
        ),
        lang,
    )
    .await
}

/// A link to the approved forecast's file; it carries the page's language
/// (a download sends no `Accept-Language` of the app's choosing).
pub fn approved_export_url(cycle: i64, query: &str, lang: Lang) -> String {
    format!(
        "/api/forecast/cycles/{cycle}/approved?{query}&lang={}",
        lang.tag()
    )
}

pub async fn accuracy(
    cycle: i64,
    narrow: Narrow,
    retailer: Option<i64>,
    lang: Lang,
) -> ApiResult<AccuracyReport> {
    let mut query = narrow.params();
    if let Some(r) = retailer {
        query.push(format!("retailer_id={r}"));
    }
    get_json(
        &format!("/api/forecast/cycles/{cycle}/accuracy?{}", query.join("&")),
        lang,
    )
    .await
}

/// Uploads a month's actual orders (CSV or xlsx).
pub async fn import_actuals(
    month: &str,
    bytes: Vec<u8>,
    csrf: &str,
    lang: Lang,
) -> ApiResult<ActualsReport> {
    let path = format!("/api/forecast/actuals?month={month}");
    let body = js_sys::Uint8Array::from(bytes.as_slice());
    let request = write(Request::post(&path), lang, csrf)
        .header("Content-Type", "application/octet-stream")
        .body(body)
        .map_err(|_| network_error(lang))?;
    let response = request.send().await.map_err(|_| network_error(lang))?;
    read(response, lang).await
}

/// The audit log query as URL parameters (every value encoded).
fn audit_params(query: &AuditQuery) -> Vec<String> {
    let pairs = [
        ("actor", &query.actor),
        ("action", &query.action),
        ("entity", &query.entity),
        ("entity_id", &query.entity_id),
        ("from", &query.from),
        ("to", &query.to),
        ("page", &query.page),
        ("flagged", &query.flagged),
    ];
    pairs
        .into_iter()
        .filter_map(|(key, value)| {
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
            let encoded: String = js_sys::encode_uri_component(value).into();
            Some(format!("{key}={encoded}"))
        })
        .collect()
}

/// One page of the audit log.
pub async fn audit_log(query: &AuditQuery, lang: Lang) -> ApiResult<AuditPage> {
    get_json(
        &format!("/api/audit?{}", audit_params(query).join("&")),
        lang,
    )
    .await
}

/// The whole filtered audit log as a file (`csv` or `xlsx`) in `lang`,
/// for a link (the browser follows a link with its own language).
pub fn audit_export_url(query: &AuditQuery, format: &str, lang: Lang) -> String {
    let mut params = audit_params(&AuditQuery {
        page: None,
        ..query.clone()
    });
    params.push(format!("format={format}"));
    params.push(format!("lang={}", lang.tag()));
    format!("/api/audit?{}", params.join("&"))
}

// ----- Accounts: own password, administration, retailer sign-ins -----

/// Changes the signed-in account's password.
pub async fn change_password(
    request: &domain::auth::ChangePasswordRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<()> {
    let builder = write(Request::post("/api/auth/password"), lang, csrf);
    let request = builder.json(request).map_err(|_| network_error(lang))?;
    let response = request.send().await.map_err(|_| network_error(lang))?;
    read_empty(response, lang).await
}

/// One page of accounts matching the filters (already query-encoded pairs).
pub async fn users(params: &[(&str, String)], lang: Lang) -> ApiResult<domain::accounts::UserList> {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| {
            let encoded: String = js_sys::encode_uri_component(v.trim()).into();
            format!("{k}={encoded}")
        })
        .collect();
    get_json(&format!("/api/admin/users?{}", query.join("&")), lang).await
}

pub async fn create_user(
    staff: &domain::accounts::NewStaff,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::accounts::OneTimePassword> {
    send_json(
        write(Request::post("/api/admin/users"), lang, csrf),
        staff,
        lang,
    )
    .await
}

pub async fn change_user(
    id: i64,
    change: &domain::accounts::UserChange,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::accounts::UserView> {
    let path = format!("/api/admin/users/{id}");
    send_json(write(Request::patch(&path), lang, csrf), change, lang).await
}

pub async fn unlock_user(id: i64, csrf: &str, lang: Lang) -> ApiResult<domain::accounts::UserView> {
    let path = format!("/api/admin/users/{id}/unlock");
    send_json(
        write(Request::post(&path), lang, csrf),
        &serde_json::json!({}),
        lang,
    )
    .await
}

pub async fn reset_password(
    id: i64,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::accounts::OneTimePassword> {
    let path = format!("/api/admin/users/{id}/password-reset");
    send_json(
        write(Request::post(&path), lang, csrf),
        &serde_json::json!({}),
        lang,
    )
    .await
}

/// A customer manager resets one of their retailers' passwords.
pub async fn reset_retailer_password(
    retailer_id: i64,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::accounts::OneTimePassword> {
    let path = format!("/api/replenishment/retailers/{retailer_id}/password-reset");
    send_json(
        write(Request::post(&path), lang, csrf),
        &serde_json::json!({}),
        lang,
    )
    .await
}

pub async fn start_retailer_accounts(
    request: &domain::accounts::RetailerAccountsRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::accounts::AccountJob> {
    send_json(
        write(Request::post("/api/admin/retailer-accounts"), lang, csrf),
        request,
        lang,
    )
    .await
}

pub async fn account_job(id: i64, lang: Lang) -> ApiResult<domain::accounts::AccountJob> {
    get_json(&format!("/api/admin/retailer-accounts/{id}"), lang).await
}

/// The handout's address, for a download link (served once).
pub fn handout_url(job_id: i64) -> String {
    format!("/api/admin/retailer-accounts/{job_id}/handout")
}

// ----- Master data (基础数据): retailers, specs, classes, imports -----

/// One page (0-based) of the retailers the caller keeps.
pub async fn master_retailers(
    q: &str,
    status: &str,
    page: i64,
    lang: Lang,
) -> ApiResult<domain::masterdata::records::RetailerPage> {
    let q: String = js_sys::encode_uri_component(q.trim()).into();
    let status: String = js_sys::encode_uri_component(status).into();
    get_json(
        &format!("/api/masterdata/retailers?q={q}&status={status}&page={page}"),
        lang,
    )
    .await
}

pub async fn edit_master_retailer(
    id: i64,
    edit: &domain::masterdata::records::RetailerEdit,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::masterdata::records::RetailerRecord> {
    let path = format!("/api/masterdata/retailers/{id}");
    send_json(write(Request::patch(&path), lang, csrf), edit, lang).await
}

pub async fn reassign_retailers(
    request: &domain::masterdata::records::Reassign,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::masterdata::records::Reassigned> {
    send_json(
        write(
            Request::post("/api/masterdata/retailers/reassign"),
            lang,
            csrf,
        ),
        request,
        lang,
    )
    .await
}

/// The customer managers the caller may hand retailers to.
pub async fn manager_choices(
    lang: Lang,
) -> ApiResult<Vec<domain::masterdata::records::ManagerChoice>> {
    get_json("/api/masterdata/managers", lang).await
}

pub async fn master_classes(lang: Lang) -> ApiResult<domain::masterdata::records::ClassList> {
    get_json("/api/masterdata/classes", lang).await
}

pub async fn save_master_classes(
    list: &domain::masterdata::records::ClassList,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::masterdata::records::ClassList> {
    send_json(
        write(Request::put("/api/masterdata/classes"), lang, csrf),
        list,
        lang,
    )
    .await
}

pub async fn master_specs(lang: Lang) -> ApiResult<Vec<domain::masterdata::records::SpecRecord>> {
    get_json("/api/masterdata/specs", lang).await
}

/// Creates a spec (`id` 0) or saves one (with its `version`).
pub async fn save_master_spec(
    spec: &domain::masterdata::records::SpecRecord,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::masterdata::records::SpecRecord> {
    let builder = if spec.id == 0 {
        Request::post("/api/masterdata/specs")
    } else {
        Request::put(&format!("/api/masterdata/specs/{}", spec.id))
    };
    send_json(write(builder, lang, csrf), spec, lang).await
}

/// Sends a file's raw bytes as the body of a write.
async fn send_bytes<T: DeserializeOwned>(
    builder: RequestBuilder,
    bytes: &[u8],
    csrf: &str,
    lang: Lang,
) -> ApiResult<T> {
    let body = js_sys::Uint8Array::from(bytes);
    let request = write(builder, lang, csrf)
        .header("Content-Type", "application/octet-stream")
        .body(body)
        .map_err(|_| network_error(lang))?;
    let response = request.send().await.map_err(|_| network_error(lang))?;
    read(response, lang).await
}

/// Uploads a file to be checked as `kind` (with the columns read as
/// `mapping`, or as recognised from its header when `None`).
pub async fn start_import(
    kind: domain::masterdata::ImportKind,
    file_name: &str,
    mapping: Option<&domain::masterdata::Mapping>,
    bytes: &[u8],
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::masterdata::ImportJob> {
    let name: String = js_sys::encode_uri_component(file_name).into();
    let mut path = format!("/api/masterdata/imports?kind={}&name={name}", kind.as_str());
    if let Some(mapping) = mapping {
        let json = serde_json::to_string(mapping).unwrap_or_else(|_| "[]".into());
        let encoded: String = js_sys::encode_uri_component(&json).into();
        path.push_str(&format!("&mapping={encoded}"));
    }
    send_bytes(Request::post(&path), bytes, csrf, lang).await
}

pub async fn import_job(id: i64, lang: Lang) -> ApiResult<domain::masterdata::ImportJob> {
    get_json(&format!("/api/masterdata/imports/{id}"), lang).await
}

/// Applies a checked import, sending the same file again.
pub async fn apply_import(
    id: i64,
    only_good_rows: bool,
    bytes: &[u8],
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::masterdata::ImportJob> {
    let path = format!("/api/masterdata/imports/{id}/apply?only_good_rows={only_good_rows}");
    send_bytes(Request::post(&path), bytes, csrf, lang).await
}

pub async fn forecast_rules(lang: Lang) -> ApiResult<domain::forecast::ForecastRules> {
    get_json("/api/forecast/rules", lang).await
}

/// Changes the forecast rules (marketing center); 422 names the fields.
pub async fn save_forecast_rules(
    rules: &domain::forecast::ForecastRules,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::forecast::ForecastRules> {
    send_json(
        write(Request::put("/api/forecast/rules"), lang, csrf),
        rules,
        lang,
    )
    .await
}

/// The sanity bounds set per spec and class (the default applies elsewhere).
pub async fn forecast_bounds(lang: Lang) -> ApiResult<Vec<domain::forecast::view::ForecastBound>> {
    get_json("/api/forecast/bounds", lang).await
}

/// Sets the changed bounds, all or none; answers every bound now set.
/// Field errors are `bounds.{i}.{field}`, `i` indexing `bounds`.
pub async fn save_forecast_bounds(
    bounds: &[domain::forecast::view::ForecastBound],
    csrf: &str,
    lang: Lang,
) -> ApiResult<Vec<domain::forecast::view::ForecastBound>> {
    send_json(
        write(Request::put("/api/forecast/bounds"), lang, csrf),
        &bounds,
        lang,
    )
    .await
}

/// The analysis's period and narrowing as URL parameters.
fn analysis_query(end: Option<&str>, months: u32, narrow: Narrow) -> String {
    let mut query = narrow.params();
    if let Some(end) = end.filter(|e| !e.is_empty()) {
        query.push(format!("end={}", js_sys::encode_uri_component(end)));
    }
    query.push(format!("months={months}"));
    query.join("&")
}

pub async fn sales_analysis(
    end: Option<String>,
    months: u32,
    narrow: Narrow,
    lang: Lang,
) -> ApiResult<domain::analysis::SalesAnalysis> {
    let query = analysis_query(end.as_deref(), months, narrow);
    get_json(&format!("/api/analysis/sales?{query}"), lang).await
}

pub async fn stock_analysis(
    narrow: Narrow,
    lang: Lang,
) -> ApiResult<domain::analysis::StockAnalysis> {
    get_json(
        &format!("/api/analysis/stock?{}", narrow.params().join("&")),
        lang,
    )
    .await
}

/// A link to an analysis's workbook, in the page's language.
pub fn analysis_export_url(
    page: &str,
    end: Option<&str>,
    months: u32,
    narrow: Narrow,
    lang: Lang,
) -> String {
    format!(
        "/api/analysis/{page}?{}&format=xlsx&lang={}",
        analysis_query(end, months, narrow),
        lang.tag()
    )
}

/// A link to the stock analysis's workbook, in the page's language.
pub fn stock_export_url(narrow: Narrow, lang: Lang) -> String {
    let mut query = narrow.params();
    query.push("format=xlsx".into());
    query.push(format!("lang={}", lang.tag()));
    format!("/api/analysis/stock?{}", query.join("&"))
}

pub async fn plans(year: i32, lang: Lang) -> ApiResult<domain::analysis::PlansView> {
    get_json(&format!("/api/analysis/plans?year={year}"), lang).await
}

pub async fn set_plans(
    update: &domain::analysis::PlanUpdate,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::analysis::PlansView> {
    send_json(
        write(Request::put("/api/analysis/plans"), lang, csrf),
        update,
        lang,
    )
    .await
}

// Orders to the order and supply system and the fill rate (货源与订单).

pub async fn order_days(lang: Lang) -> ApiResult<domain::replenishment::order_flow::OrderDays> {
    get_json("/api/replenishment/order-days", lang).await
}

/// A link to the locked orders of `date` as `xlsx` or `csv`, in the page's language.
pub fn order_export_url(date: chrono::NaiveDate, format: &str, lang: Lang) -> String {
    format!(
        "/api/replenishment/order-days/{date}/export?format={format}&lang={}",
        lang.tag()
    )
}

pub async fn mark_exported(
    date: chrono::NaiveDate,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::replenishment::order_flow::MarkedExported> {
    let path = format!("/api/replenishment/order-days/{date}/exported");
    let response = write(Request::post(&path), lang, csrf)
        .send()
        .await
        .map_err(|_| network_error(lang))?;
    read(response, lang).await
}

/// Uploads a delivery file (CSV or xlsx) of the order and supply system.
pub async fn load_deliveries(
    bytes: Vec<u8>,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::replenishment::order_flow::DeliveriesLoaded> {
    let body = js_sys::Uint8Array::from(bytes.as_slice());
    let request = write(Request::post("/api/replenishment/deliveries"), lang, csrf)
        .header("Content-Type", "application/octet-stream")
        .body(body)
        .map_err(|_| network_error(lang))?;
    let response = request.send().await.map_err(|_| network_error(lang))?;
    read(response, lang).await
}

pub async fn actuals_from_orders(
    month: &str,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::replenishment::order_flow::ActualsFromOrders> {
    send_json(
        write(
            Request::post("/api/replenishment/actuals-from-orders"),
            lang,
            csrf,
        ),
        &domain::replenishment::order_flow::ActualsFromOrdersRequest {
            month: month.to_string(),
        },
        lang,
    )
    .await
}

/// The fill rate report's period as URL parameters (empty: the default).
fn fill_rate_query(from: &str, to: &str) -> Vec<String> {
    [("from", from), ("to", to)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", js_sys::encode_uri_component(v)))
        .collect()
}

pub async fn fill_rate(
    from: &str,
    to: &str,
    lang: Lang,
) -> ApiResult<domain::replenishment::fill_rate::FillRateReport> {
    let query = fill_rate_query(from, to).join("&");
    get_json(&format!("/api/replenishment/fill-rate?{query}"), lang).await
}

/// A link to the fill rate report's workbook, in the page's language.
pub fn fill_rate_export_url(from: &str, to: &str, lang: Lang) -> String {
    let mut query = fill_rate_query(from, to);
    query.push("format=xlsx".into());
    query.push(format!("lang={}", lang.tag()));
    format!("/api/replenishment/fill-rate?{}", query.join("&"))
}

// Scarce supply allocation (货源投放).

pub async fn allocations(
    month: &str,
    lang: Lang,
) -> ApiResult<domain::replenishment::allocation::AllocationList> {
    let month = js_sys::encode_uri_component(month);
    get_json(
        &format!("/api/replenishment/allocations?month={month}"),
        lang,
    )
    .await
}

pub async fn preview_allocation(
    request: &domain::replenishment::allocation::AllocationRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::replenishment::allocation::AllocationPreview> {
    send_json(
        write(
            Request::post("/api/replenishment/allocations/preview"),
            lang,
            csrf,
        ),
        request,
        lang,
    )
    .await
}

pub async fn publish_allocation(
    request: &domain::replenishment::allocation::AllocationRequest,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::replenishment::allocation::PublishedAllocation> {
    send_json(
        write(Request::post("/api/replenishment/allocations"), lang, csrf),
        request,
        lang,
    )
    .await
}

pub async fn withdraw_allocation(
    id: i64,
    csrf: &str,
    lang: Lang,
) -> ApiResult<domain::replenishment::allocation::PublishedAllocation> {
    let path = format!("/api/replenishment/allocations/{id}/withdraw");
    let response = write(Request::post(&path), lang, csrf)
        .send()
        .await
        .map_err(|_| network_error(lang))?;
    read(response, lang).await
}

/// A link to the month's release plan (品牌投放方案) workbook, in the page's language.
pub fn allocation_plan_url(month: &str, lang: Lang) -> String {
    format!(
        "/api/replenishment/allocations/plan?month={}&lang={}",
        js_sys::encode_uri_component(month),
        lang.tag()
    )
}
