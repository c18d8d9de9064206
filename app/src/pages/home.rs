//! Each role's landing page: who the user is and their scope.

use domain::home::{HomeSummary, Scope};
use domain::org::{online_share, UnitKind, UnitSummary};
use domain::policy::op;
use domain::Role;
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
    view! {
        <section class="card" data-test="home" data-role=role.as_str()>
            <h1>{move || format!("{}，{}", T::Welcome.text(lang.get()), home.display_name)}</h1>
            <dl class="facts">
                <dt>{move || T::Role.text(lang.get())}</dt><dd data-test="role">{move || role.label(lang.get())}</dd>
                <dt>{move || T::Unit.text(lang.get())}</dt><dd data-test="unit">{home.unit_name.clone()}</dd>
            </dl>
            <HomeLinks role=role/>
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

/// The role's ways into its work.
#[component]
fn HomeLinks(role: Role) -> impl IntoView {
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
    if op::POLICY_CHANGE.permits(role) {
        links.push((
            routes::POLICY.to_string(),
            "网上配货政策",
            "Replenishment policy",
            "link-policy",
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
