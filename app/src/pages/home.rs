//! Each role's landing page: what is due, who the user is and their scope.

use chrono::{Datelike, NaiveDate};
use domain::home::{HomeSummary, ManagerRef, Reminder, ReportLinks, Scope};
use domain::month::YearMonth;
use domain::org::{online_share, UnitKind, UnitSummary};
use domain::policy::op;
use domain::{Lang, Role};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::components::error::ErrorNote;
use crate::format::percent;
use crate::i18n::{tr, T};
use crate::{api, routes, state};

#[component]
pub fn HomePage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let params = use_params_map();
    let navigate = use_navigate();

    // Send the visitor to their own role's home (the shell sends those
    // who are not signed in to sign-in).
    Effect::new(move |_| {
        if let Some(info) = session.session.get() {
            let own = routes::home_of(info.role);
            let here = params.get().get("role").map(|r| format!("/home/{r}"));
            if here.as_deref() != Some(own.as_str()) {
                navigate(&own, Default::default());
            }
        }
    });

    let summary = LocalResource::new(move || {
        let signed_in = session.session.get().map(|s| s.user_id);
        let lang = lang.get();
        async move {
            match signed_in {
                Some(_) => Some(api::home(lang).await),
                None => None,
            }
        }
    });

    view! {
        <Suspense fallback=move || view! { <p class="muted">{T::Loading.text(lang.get_untracked())}</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Some(Ok(home)) => view! { <HomeView home=home/> }.into_any(),
                    Some(Err(e)) => view! { <ErrorNote error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                    None => view! { <p class="muted">{T::Loading.text(lang.get_untracked())}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The summary card and the role's scope.
#[component]
fn HomeView(home: HomeSummary) -> impl IntoView {
    let lang = state::lang();
    let role = home.role;
    let scope = home.scope.clone();
    let reports = home.reports.clone();
    view! {
        <Reminders reminders=home.reminders.clone()/>
        <section class="card" data-test="home" data-role=role.as_str()>
            <h1>{move || format!("{}，{}", T::Welcome.text(lang.get()), home.display_name)}</h1>
            <dl class="facts">
                <dt>{move || T::Role.text(lang.get())}</dt><dd data-test="role">{move || role.label(lang.get())}</dd>
                <dt>{move || T::Unit.text(lang.get())}</dt><dd data-test="unit">{home.unit_name.clone()}</dd>
            </dl>
            <HomeLinks role=role reports=reports/>
        </section>
        {match scope {
            Scope::Retailer { licence_no, shop_name, class_label, online_replenishment, customer_manager } => view! {
                <section class="card" data-test="scope-retailer">
                    <dl class="facts">
                        <dt>{move || T::ShopName.text(lang.get())}</dt><dd>{shop_name}</dd>
                        <dt>{move || T::Licence.text(lang.get())}</dt><dd data-test="licence">{licence_no}</dd>
                        <dt>{move || T::Class.text(lang.get())}</dt><dd>{class_label}</dd>
                        <dt>{move || T::OnlineReplenishment.text(lang.get())}</dt>
                        <dd>{move || if online_replenishment { T::Joined.text(lang.get()) } else { T::NotJoined.text(lang.get()) }}</dd>
                        <dt>{move || T::CustomerManager.text(lang.get())}</dt><dd>{customer_manager}</dd>
                    </dl>
                </section>
            }.into_any(),
            Scope::Retailers { retailers, online_retailers } => view! {
                <section class="card stats" data-test="scope-retailers">
                    <Stat label=T::MyRetailers value=retailers.to_string() test="retailer-count"/>
                    <Stat label=T::OnlineRetailers value=online_retailers.to_string() test="online-count"/>
                    <Stat label=T::OnlineShare value=percent(online_share(online_retailers, retailers)) test="online-share"/>
                </section>
            }.into_any(),
            Scope::Units { units, specs } => view! { <UnitsView units=units specs=specs/> }.into_any(),
        }}
    }
}

/// What is due, each with a link to where it is done; nothing when
/// nothing is due.
#[component]
fn Reminders(
    /// From the server, most urgent cycle first.
    reminders: Vec<Reminder>,
) -> impl IntoView {
    let lang = state::lang();
    (!reminders.is_empty()).then(|| {
        view! {
            <section class="card reminders" data-test="reminders" aria-live="polite">
                <h2>{tr("待办提醒", "Reminders")}</h2>
                <ul>
                    {reminders.into_iter().map(|r| {
                        let href = reminder_link(&r);
                        let kind = reminder_kind(&r);
                        let urgent = matches!(r, Reminder::Late { .. } | Reminder::Returned { .. } | Reminder::LateManagers { .. } | Reminder::OrderWindow { confirmed: false, .. })
                            || matches!(r, Reminder::ToReview { overdue, .. } if overdue > 0);
                        view! {
                            <li data-test="reminder" data-kind=kind class:urgent=urgent>
                                <A href=href>{move || reminder_text(&r, lang.get())}</A>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        }
    })
}

/// Where a reminder leads: the manager's sheet, the review inbox, or the
/// cycle's dashboard (progress of every manager).
fn reminder_link(r: &Reminder) -> String {
    match r {
        Reminder::DueSoon { cycle_id, .. }
        | Reminder::Returned { cycle_id, .. }
        | Reminder::Reopened { cycle_id, .. }
        | Reminder::Late { cycle_id, .. } => routes::sheet_of(*cycle_id),
        Reminder::ToReview { .. } => routes::REVIEWS.to_string(),
        Reminder::NotStarted { cycle_id, .. } | Reminder::LateManagers { cycle_id, .. } => {
            routes::dashboard_of(*cycle_id)
        }
        Reminder::OrderWindow { retailer_id, .. } => routes::order_of(*retailer_id),
    }
}

fn reminder_kind(r: &Reminder) -> &'static str {
    match r {
        Reminder::DueSoon { .. } => "due_soon",
        Reminder::Returned { .. } => "returned",
        Reminder::Reopened { .. } => "reopened",
        Reminder::Late { .. } => "late",
        Reminder::ToReview { .. } => "to_review",
        Reminder::NotStarted { .. } => "not_started",
        Reminder::LateManagers { .. } => "late_managers",
        Reminder::OrderWindow { .. } => "order_window",
    }
}

fn month_text(month: YearMonth, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{}年{}月", month.year(), month.month()),
        Lang::En => month.to_string(),
    }
}

fn date_text(date: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("{}月{}日", date.month(), date.day()),
        Lang::En => date.format("%-d %b").to_string(),
    }
}

/// Managers by name and department, the first few, then how many more.
fn managers_text(managers: &[ManagerRef], lang: Lang) -> String {
    const SHOWN: usize = 5;
    let names: Vec<String> = managers
        .iter()
        .take(SHOWN)
        .map(|m| match lang {
            Lang::Zh => format!("{}（{}）", m.name, m.unit_name),
            Lang::En => format!("{} ({})", m.name, m.unit_name),
        })
        .collect();
    let more = managers.len().saturating_sub(SHOWN);
    match (lang, more) {
        (Lang::Zh, 0) => names.join("、"),
        (Lang::Zh, n) => format!("{} 等 {} 人", names.join("、"), n + SHOWN),
        (Lang::En, 0) => names.join(", "),
        (Lang::En, n) => format!("{} and {n} more", names.join(", ")),
    }
}

fn reminder_text(r: &Reminder, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    match r {
        Reminder::OrderWindow {
            order_date,
            cutoff,
            confirmed,
            ..
        } => {
            let (d, c) = (date_text(*order_date, lang), cutoff.format("%m-%d %H:%M"));
            match (zh, confirmed) {
                (true, true) => format!("{d}的订单已确认，{c} 截止前仍可修改或取消"),
                (true, false) => format!("{d}的订单尚未确认，订货 {c} 截止"),
                (false, true) => {
                    format!("The order for {d} is confirmed; it can change until {c}")
                }
                (false, false) => format!("No order for {d} yet; ordering closes {c}"),
            }
        }
        Reminder::DueSoon {
            month,
            deadline,
            days_left,
            filled,
            cells,
            ..
        } => {
            let (m, d) = (month_text(*month, lang), date_text(*deadline, lang));
            match (zh, *days_left) {
                (true, 0) => format!("{m}预测今天（{d}）截止提交，已填 {filled} / {cells} 格"),
                (true, n) => {
                    format!("{m}预测 {d} 截止提交（还有 {n} 天），已填 {filled} / {cells} 格")
                }
                (false, 0) => {
                    format!("{m} forecast due today ({d}): {filled} / {cells} cells entered")
                }
                (false, 1) => {
                    format!("{m} forecast due {d} (tomorrow): {filled} / {cells} cells entered")
                }
                (false, n) => {
                    format!("{m} forecast due {d} (in {n} days): {filled} / {cells} cells entered")
                }
            }
        }
        Reminder::Returned {
            month, comment, by, ..
        } => {
            let m = month_text(*month, lang);
            let by = by.as_deref().map_or_else(String::new, |b| {
                if zh {
                    format!("（{b}）")
                } else {
                    format!(" by {b}")
                }
            });
            let comment = comment.as_deref().unwrap_or("");
            if zh {
                format!("{m}预测表已被退回{by}：{comment}")
            } else {
                format!("{m} sheet returned{by}: {comment}")
            }
        }
        Reminder::Reopened {
            month,
            until,
            filled,
            cells,
            ..
        } => {
            let (m, d) = (month_text(*month, lang), date_text(*until, lang));
            if zh {
                format!("{m}预测已重新开放录入，至 {d}，已填 {filled} / {cells} 格")
            } else {
                format!("{m} entry reopened for you until {d}: {filled} / {cells} cells entered")
            }
        }
        Reminder::Late {
            month,
            deadline,
            filled,
            cells,
            ..
        } => {
            let (m, d) = (month_text(*month, lang), date_text(*deadline, lang));
            if zh {
                format!(
                    "{m}预测已逾期（{d} 截止）未提交，已填 {filled} / {cells} 格；请联系营销中心"
                )
            } else {
                format!("{m} forecast is late (due {d}): {filled} / {cells} cells entered; ask the marketing center")
            }
        }
        Reminder::ToReview { waiting, overdue } => match (zh, *overdue) {
            (true, 0) => format!("{waiting} 张预测表待您审核"),
            (true, o) => format!("{waiting} 张预测表待您审核，其中 {o} 张已过审核截止日期"),
            (false, 0) => format!("{waiting} sheets wait for your review"),
            (false, o) => {
                format!("{waiting} sheets wait for your review; {o} past the review deadline")
            }
        },
        Reminder::NotStarted {
            month, managers, ..
        } => {
            let (m, n, who) = (
                month_text(*month, lang),
                managers.len(),
                managers_text(managers, lang),
            );
            if zh {
                format!("{m}：{n} 位客户经理尚未开始录入：{who}")
            } else {
                format!("{m}: {n} customer managers have not opened their sheet: {who}")
            }
        }
        Reminder::LateManagers {
            month, managers, ..
        } => {
            let (m, n, who) = (
                month_text(*month, lang),
                managers.len(),
                managers_text(managers, lang),
            );
            if zh {
                format!("{m}：{n} 位客户经理逾期未提交：{who}")
            } else {
                format!("{m}: {n} customer managers are late: {who}")
            }
        }
    }
}

/// The role's ways into its work.
#[component]
fn HomeLinks(
    role: Role,
    /// The cycles the report links open.
    reports: ReportLinks,
) -> impl IntoView {
    // The code of the pages these links lead to, fetched while the home
    // page is read.
    crate::preload_for(role);
    let session = state::session();
    let retailer = session.session.get_untracked().and_then(|s| s.retailer_id);
    // What each role may reach comes from the one policy the server
    // enforces (`domain::policy`).
    let mut links: Vec<(String, &'static str, &'static str, &'static str)> = Vec::new();
    if role == Role::Retailer {
        if let Some(id) = retailer {
            links.push((
                routes::replenishment_of(id),
                "网上配货",
                "Online replenishment",
                "link-replenishment",
            ));
        }
    }
    if op::SAVE_CELLS.permits(role) || op::PROGRESS.permits(role) {
        let (zh, en) = if op::SAVE_CELLS.permits(role) {
            ("需求预测录入", "Demand forecasts")
        } else {
            ("需求预测", "Demand forecasts")
        };
        links.push((routes::FORECAST.to_string(), zh, en, "link-forecast"));
    }
    if op::MANAGED_RETAILERS.permits(role) {
        links.push((
            routes::RETAILERS.to_string(),
            "零售户网上配货",
            "Retailers' replenishment",
            "link-retailers",
        ));
    }
    if op::REVIEW_INBOX.permits(role) {
        links.push((
            routes::REVIEWS.to_string(),
            "预测审核",
            "Forecast review",
            "link-reviews",
        ));
    }
    // Reports: every staff level reads its own subtree.
    if op::DASHBOARD.permits(role) {
        if let Some(cycle) = reports.dashboard_cycle {
            links.push((
                routes::dashboard_of(cycle),
                "预测看板",
                "Forecast dashboard",
                "link-dashboard",
            ));
        }
    }
    if op::ACCURACY.permits(role) {
        if let Some(cycle) = reports.accuracy_cycle {
            links.push((
                routes::accuracy_of(cycle),
                "预测准确率",
                "Forecast accuracy",
                "link-accuracy",
            ));
        }
    }
    if op::ANALYSIS_SALES.permits(role) {
        links.push((
            routes::ANALYSIS.to_string(),
            "经营分析",
            "Analysis",
            "link-analysis",
        ));
    }
    if op::POLICY_CHANGE.permits(role) {
        links.push((
            routes::POLICY.to_string(),
            "网上配货政策",
            "Replenishment policy",
            "link-policy",
        ));
    }
    if op::ORDER_DAYS.permits(role) {
        links.push((
            routes::SUPPLY.to_string(),
            "货源与订单",
            "Supply and orders",
            "link-supply",
        ));
    }
    if op::USERS.permits(role) {
        links.push((
            routes::ADMIN_USERS.to_string(),
            "用户管理",
            "Users",
            "link-users",
        ));
    }
    if op::RETAILER_ACCOUNTS.permits(role) {
        links.push((
            routes::ADMIN_RETAILER_ACCOUNTS.to_string(),
            "零售户账号",
            "Retailer sign-ins",
            "link-retailer-accounts",
        ));
    }
    // 基础数据.
    if op::MASTER_RETAILERS.permits(role) {
        links.push((
            routes::MASTER_RETAILERS.to_string(),
            "基础数据 · 零售户",
            "Master data · Retailers",
            "link-master-retailers",
        ));
    }
    if op::MASTER_SPECS.permits(role) {
        links.push((
            routes::MASTER_SPECS.to_string(),
            "基础数据 · 品规",
            "Master data · Specs",
            "link-master-specs",
        ));
    }
    if op::EDIT_CLASSES.permits(role) {
        links.push((
            routes::MASTER_CLASSES.to_string(),
            "基础数据 · 客户档位",
            "Master data · Classes",
            "link-master-classes",
        ));
    }
    if op::RULES_CHANGE.permits(role) {
        links.push((
            routes::MASTER_RULES.to_string(),
            "基础数据 · 预测规则与上限",
            "Master data · Forecast rules and bounds",
            "link-master-rules",
        ));
    }
    if op::IMPORT.permits(role) {
        links.push((
            routes::MASTER_IMPORT.to_string(),
            "基础数据 · 导入",
            "Master data · Import",
            "link-master-import",
        ));
    }
    if op::AUDIT_LOG.permits(role) {
        links.push((
            routes::AUDIT.to_string(),
            "审计日志",
            "Audit log",
            "audit-link",
        ));
    }
    view! {
        <div class="actions">
            {links.into_iter().map(|(href, zh, en, test)| view! {
                <A href=href attr:class="button-link" attr:data-test=test>{tr(zh, en)}</A>
            }).collect_view()}
        </div>
    }
}

/// One figure with its label.
#[component]
fn Stat(label: T, value: String, test: &'static str) -> impl IntoView {
    let lang = state::lang();
    view! {
        <div class="stat">
            <div class="stat-value" data-test=test>{value}</div>
            <div class="stat-label">{move || label.text(lang.get())}</div>
        </div>
    }
}

/// Totals of the scope's root unit, a chart of the online share per market
/// department, and the table of units.
#[component]
fn UnitsView(units: Vec<UnitSummary>, specs: i64) -> impl IntoView {
    let lang = state::lang();
    let root = units.first().cloned();
    let departments: Vec<UnitSummary> = units
        .iter()
        .filter(|u| u.kind == UnitKind::MarketDepartment)
        .cloned()
        .collect();
    view! {
        {root.map(|r| view! {
            <section class="card stats" data-test="scope-units">
                <Stat label=T::Retailers value=r.retailers.to_string() test="retailer-count"/>
                <Stat label=T::CustomerManagers value=r.customer_managers.to_string() test="manager-count"/>
                <Stat label=T::OnlineShare value=percent(online_share(r.online_retailers, r.retailers)) test="online-share"/>
                <Stat label=T::Specs value=specs.to_string() test="spec-count"/>
            </section>
        })}
        <section class="card">
            <h2>{move || T::OnlineShareChart.text(lang.get())}</h2>
            <ShareChart units=departments/>
        </section>
        <section class="card table-wrap">
            <table class="grid-table" data-test="units">
                <thead><tr>
                    <th>{move || T::Units.text(lang.get())}</th>
                    <th class="num">{move || T::CustomerManagers.text(lang.get())}</th>
                    <th class="num">{move || T::Retailers.text(lang.get())}</th>
                    <th class="num">{move || T::OnlineRetailers.text(lang.get())}</th>
                </tr></thead>
                <tbody>
                    {units.into_iter().map(|u| view! {
                        <tr class=format!("unit-{}", u.kind.as_str())>
                            <td>{u.name}</td>
                            <td class="num">{u.customer_managers}</td>
                            <td class="num">{u.retailers}</td>
                            <td class="num">{u.online_retailers}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// Horizontal bars: share of retailers on online replenishment per unit.
#[component]
fn ShareChart(units: Vec<UnitSummary>) -> impl IntoView {
    let lang = state::lang();
    let bar_height = 28;
    let height = bar_height * units.len().max(1) as i32;
    view! {
        <svg class="bar-chart" viewBox=format!("0 0 400 {height}") role="img"
            aria-label=move || T::OnlineShareChart.text(lang.get())>
            {units.into_iter().enumerate().map(|(i, u)| {
                let share = online_share(u.online_retailers, u.retailers);
                let y = i as i32 * bar_height;
                let width = (share * 240.0).round();
                view! {
                    <g>
                        <text x="0" y=y + 18 class="bar-label">{u.name.clone()}</text>
                        <rect x="110" y=y + 6 width=width height="16" rx="3" class="bar"/>
                        <text x=width + 116.0 y=y + 18 class="bar-value">{percent(share)}</text>
                    </g>
                }
            }).collect_view()}
        </svg>
    }
}
