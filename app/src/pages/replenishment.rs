//! A retailer's online replenishment (网上配货): settings per spec, the
//! proposed order for the next order day, and the history of changes. The
//! same page serves the retailer and their customer manager.

use std::collections::BTreeMap;

use domain::quantity::{Cartons, Fen};
use domain::replenishment::{
    check_not_empty, check_order, check_settings, days_of_cover, order_value, warnings,
    CancelOrderRequest, ChangeOrderRequest, ConfirmOrderRequest, OrderLineInput, OrderStatus,
    ProposalView, Reason, RetailerSettingsView, SaveSettingsRequest, SpecSettings, SpecTerms,
};
use domain::{ErrorBody, ErrorCode, Lang};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::confirm::confirm;
use crate::components::error::ErrorNote;
use crate::format::china_time;
use crate::i18n::tr;
use crate::{api, state};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Settings,
    Proposal,
    History,
}

#[component]
pub fn ReplenishmentPage() -> impl IntoView {
    let lang = state::lang();
    let params = use_params_map();
    let retailer_id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let data: RwSignal<Option<RetailerSettingsView>> = RwSignal::new(None);
    let load_error = RwSignal::new(None::<ErrorBody>);
    let reloads = RwSignal::new(0_u32);
    // `?tab=order` (the home page's reminder) opens at the order.
    let query = leptos_router::hooks::use_query_map();
    let first_tab = if query.read_untracked().get("tab").as_deref() == Some("order") {
        Tab::Proposal
    } else {
        Tab::Settings
    };
    let tab = RwSignal::new(first_tab);
    // Outlives the editor, which is rebuilt from the saved data after a save.
    let just_saved = RwSignal::new(false);
    let loaded = LocalResource::new(move || {
        reloads.track();
        let id = retailer_id();
        async move {
            match id {
                Some(id) => Some(api::retailer_settings(id, lang.get_untracked()).await),
                None => None,
            }
        }
    });
    // Into a signal of its own: a save hands back the saved settings, and a
    // failed reload leaves the last ones on screen.
    Effect::new(move |_| match loaded.get().flatten() {
        Some(Ok(view)) => {
            load_error.set(None);
            data.set(Some(view));
        }
        Some(Err(e)) => load_error.set(Some(e)),
        None => {}
    });
    let tab_button = move |which: Tab, zh: &'static str, en: &'static str, test: &'static str| {
        view! {
            <button class="tab" class:active=move || tab.get() == which data-test=test
                on:click=move |_| tab.set(which)>{move || lang.get().pick(zh, en)}</button>
        }
    };
    view! {
        <ErrorNote error=load_error/>
        {move || data.get().map(|v| view! { <RetailerCard view=v/> })}
        <nav class="tabs">
            {tab_button(Tab::Settings, "配货设置", "Settings", "tab-settings")}
            {tab_button(Tab::Proposal, "订单", "Order", "tab-proposal")}
            {tab_button(Tab::History, "变更记录", "History", "tab-history")}
        </nav>
        {move || match (tab.get(), data.get()) {
            (_, None) => view! { <p class="muted">{tr("加载中…", "Loading…")}</p> }.into_any(),
            (Tab::Settings, Some(v)) => view! { <SettingsEditor view=v data=data reloads=reloads just_saved=just_saved/> }.into_any(),
            (Tab::Proposal, Some(v)) => view! { <ProposalPanel view=v/> }.into_any(),
            (Tab::History, Some(v)) => view! { <HistoryPanel retailer_id=v.retailer.id/> }.into_any(),
        }}
    }
}

fn weekday_label(day: u8, lang: Lang) -> &'static str {
    const ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let i = usize::from(day.clamp(1, 7) - 1);
    lang.pick(ZH[i], EN[i])
}

#[component]
fn RetailerCard(view: RetailerSettingsView) -> impl IntoView {
    let lang = state::lang();
    let r = view.retailer.clone();
    let next = view.next_order_date;
    let total_cap = view.total_cap;
    view! {
        <section class="card" data-test="retailer-card">
            <h1>{r.name.clone()}</h1>
            <dl class="facts">
                <dt>{tr("许可证号", "Licence")}</dt><dd>{r.licence_no.clone()}</dd>
                <dt>{tr("档位", "Class")}</dt><dd>{r.class_label.clone()}</dd>
                <dt>{tr("网上配货", "Online replenishment")}</dt>
                <dd data-test="online">{move || if r.online { lang.get().pick("已开通", "Joined") } else { lang.get().pick("未开通", "Not joined") }}</dd>
                <dt>{tr("订货日", "Order day")}</dt>
                <dd>{move || format!("{}（{}）", next, weekday_label(r.order_weekday, lang.get()))}</dd>
                <dt>{tr("单次订货总量限量", "Total cap per order")}</dt>
                <dd>{move || match total_cap { Some(c) => format!("{c} {}", lang.get().pick("条", "cartons")), None => lang.get().pick("不限", "none").to_string() }}</dd>
                <dt>{tr("客户经理", "Customer manager")}</dt><dd>{r.manager_name.clone()}</dd>
            </dl>
        </section>
    }
}

/// One spec's settings as typed.
#[derive(Clone, Copy)]
struct Row {
    spec_id: i64,
    stock: RwSignal<String>,
    lower: RwSignal<String>,
    upper: RwSignal<String>,
    turnover: RwSignal<String>,
}

impl Row {
    fn new(s: Option<&SpecSettings>, spec_id: i64) -> Row {
        let text =
            |v: Option<Cartons>| RwSignal::new(v.map(|c| c.get().to_string()).unwrap_or_default());
        Row {
            spec_id,
            stock: text(s.map(|s| s.stock)),
            lower: text(s.map(|s| s.lower)),
            upper: text(s.map(|s| s.upper)),
            turnover: text(s.map(|s| s.weekly_turnover)),
        }
    }
}

/// What the rules say about one row as typed.
#[derive(Clone, PartialEq, Default)]
struct RowCheck {
    /// Field name → message.
    errors: BTreeMap<&'static str, String>,
    warnings: Vec<String>,
    settings: Option<SpecSettings>,
}

fn check_row(
    row: &Row,
    terms: Option<&SpecTerms>,
    policy: &domain::replenishment::ReplenishmentPolicy,
    lang: Lang,
) -> RowCheck {
    let mut check = RowCheck::default();
    let mut parse = |field: &'static str, text: &RwSignal<String>| match Cartons::parse(&text.get())
    {
        Ok(c) => Some(c),
        Err(e) => {
            check.errors.insert(field, e.message(lang).to_string());
            None
        }
    };
    let stock = parse("stock", &row.stock);
    let lower = parse("lower", &row.lower);
    let upper = parse("upper", &row.upper);
    let turnover = parse("weekly_turnover", &row.turnover);
    let (Some(stock), Some(lower), Some(upper), Some(weekly_turnover)) =
        (stock, lower, upper, turnover)
    else {
        return check;
    };
    let settings = SpecSettings {
        spec_id: row.spec_id,
        stock,
        lower,
        upper,
        weekly_turnover,
    };
    match terms {
        Some(t) => {
            for e in check_settings(&settings, &t.settings_rule()) {
                check
                    .errors
                    .entry(e.field())
                    .or_insert_with(|| e.message(lang));
            }
        }
        None => {
            check
                .errors
                .insert("spec_id", lang.pick("品规不存在", "No such spec").into());
        }
    }
    check.warnings = warnings(&settings, policy)
        .into_iter()
        .map(|w| w.message(lang))
        .collect();
    check.settings = Some(settings);
    check
}

#[component]
fn SettingsEditor(
    view: RetailerSettingsView,
    data: RwSignal<Option<RetailerSettingsView>>,
    reloads: RwSignal<u32>,
    just_saved: RwSignal<bool>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let terms = StoredValue::new(view.terms.clone());
    let policy = view.policy;
    let saved = StoredValue::new(view.settings.clone());
    let rows = RwSignal::new(
        view.settings
            .iter()
            .map(|s| Row::new(Some(s), s.spec_id))
            .collect::<Vec<_>>(),
    );
    let checks = Memo::new(move |_| {
        let lang = lang.get();
        rows.get()
            .iter()
            .map(|r| {
                terms.with_value(|t| {
                    check_row(r, t.iter().find(|t| t.spec_id == r.spec_id), &policy, lang)
                })
            })
            .collect::<Vec<_>>()
    });
    let error_count =
        Memo::new(move |_| checks.get().iter().map(|c| c.errors.len()).sum::<usize>());
    let dirty = Memo::new(move |_| {
        let now: Vec<Option<SpecSettings>> = checks.get().iter().map(|c| c.settings).collect();
        saved.with_value(|s| {
            now.len() != s.len() || now.iter().zip(s.iter()).any(|(n, s)| n.as_ref() != Some(s))
        })
    });
    let save_error = RwSignal::new(None::<ErrorBody>);
    let conflict = RwSignal::new(false);
    let version = view.version;
    let retailer_id = view.retailer.id;
    let save_action = Action::new_local(move |(request, csrf): &(SaveSettingsRequest, String)| {
        let (request, csrf) = (request.clone(), csrf.clone());
        async move { api::save_settings(retailer_id, &request, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match save_action.value().get() {
        Some(Ok(view)) => {
            data.set(Some(view));
            just_saved.set(true);
        }
        Some(Err(e)) => {
            conflict.set(e.code == ErrorCode::Conflict);
            save_error.set(Some(e));
        }
        None => {}
    });
    let saving = save_action.pending();

    let save = move |_| {
        if error_count.get_untracked() > 0 || saving.get_untracked() {
            return;
        }
        let settings: Vec<SpecSettings> = checks
            .get_untracked()
            .iter()
            .filter_map(|c| c.settings)
            .collect();
        save_error.set(None);
        save_action.dispatch((SaveSettingsRequest { version, settings }, session.csrf()));
    };
    Effect::new(move |_| {
        if dirty.get() {
            just_saved.set(false);
        }
    });

    let remove = move |spec_id: i64| rows.update(|r| r.retain(|row| row.spec_id != spec_id));
    // A new row's signals belong to the editor: made under the search
    // results' owner (where the click runs), they would be disposed with
    // the results as soon as the search is cleared, and what is typed
    // into the new row would be lost.
    let owner = StoredValue::new(Owner::current().unwrap_or_default());
    let add = move |spec_id: i64| {
        rows.update(|r| {
            if !r.iter().any(|row| row.spec_id == spec_id) {
                r.push(owner.with_value(|o| o.with(|| Row::new(None, spec_id))));
            }
        })
    };

    view! {
        <section class="card" data-test="settings">
            <h2>{tr("各品规库存上下限", "Stock limits per spec")}</h2>
            <p class="muted small">{tr("单位：条。可销天数 = 库存 ÷ 周转数 × 7。", "In cartons. Days of cover = stock ÷ weekly turnover × 7.")}</p>
            <div class="spec-list">
                <For each=move || rows.get() key=|r| r.spec_id let:row>
                    {
                        let spec_id = row.spec_id;
                        let t = terms.with_value(|t| t.iter().find(|t| t.spec_id == spec_id).cloned());
                        let check = Memo::new(move |_| {
                            rows.with(|rs| rs.iter().position(|r| r.spec_id == spec_id))
                                .and_then(|i| checks.with(|c| c.get(i).cloned()))
                                .unwrap_or_default()
                        });
                        let err = move |field: &'static str| Signal::derive(move || check.with(|c| c.errors.get(field).cloned()));
                        let name = t.as_ref().map(|t| t.name.clone()).unwrap_or_default();
                        let code = t.as_ref().map(|t| t.code.clone()).unwrap_or_default();
                        let scarce = t.as_ref().is_some_and(|t| t.scarce);
                        let chip = t.as_ref().map(cap_chip);
                        view! {
                            <div class="spec-card" data-spec=spec_id>
                                <div class="spec-head">
                                    <strong>{name}</strong>
                                    <span class="muted small">{code}</span>
                                    {scarce.then(|| view! { <span class="chip chip-scarce">{tr("紧俏", "Scarce")}</span> })}
                                    {chip}
                                    <button class="icon-button" data-test="remove" on:click=move |_| remove(spec_id)>
                                        {tr("移除", "Remove")}
                                    </button>
                                </div>
                                <div class="spec-fields">
                                    <NumField label=tr("库存", "Stock") value=row.stock error=err("stock") field="stock"/>
                                    <NumField label=tr("下限", "Lower") value=row.lower error=err("lower") field="lower"/>
                                    <NumField label=tr("上限", "Upper") value=row.upper error=err("upper") field="upper"/>
                                    <NumField label=tr("周转数/周", "Turnover/wk") value=row.turnover error=err("weekly_turnover") field="weekly_turnover"/>
                                </div>
                                <div class="spec-foot">
                                    <span data-test="cover">{move || {
                                        let lang = lang.get();
                                        match check.with(|c| c.settings.and_then(|s| days_of_cover(s.stock, s.weekly_turnover))) {
                                            Some(d) => format!("{} {d:.1} {}", lang.pick("可销", "Cover"), lang.pick("天", "days")),
                                            None => lang.pick("可销天数：—", "Cover: —").to_string(),
                                        }
                                    }}</span>
                                    {move || check.with(|c| c.errors.get("spec_id").cloned()).map(|m| view! { <span class="field-error">{m}</span> })}
                                </div>
                                {move || check.with(|c| c.warnings.clone()).into_iter().map(|w| view! {
                                    <p class="warning" data-test="warning">{w}</p>
                                }).collect_view()}
                            </div>
                        }
                    }
                </For>
            </div>
            <AddSpec terms=terms listed=Signal::derive(move || rows.with(|r| r.iter().map(|r| r.spec_id).collect()))
                label=("添加品规", "Add a spec") test="spec" pickable=settable on_add=add/>
        </section>
        <div class="save-bar">
            <span class="save-status" data-test="save-status">{move || {
                let lang = lang.get();
                let n = error_count.get();
                if n > 0 {
                    format!("{n} {}", lang.pick("处输入有误，修正后才能保存", "entries to correct before saving"))
                } else if saving.get() {
                    lang.pick("正在保存…", "Saving…").to_string()
                } else if dirty.get() {
                    lang.pick("有未保存的修改", "Unsaved changes").to_string()
                } else if just_saved.get() {
                    lang.pick("已保存", "Saved").to_string()
                } else {
                    lang.pick("没有修改", "No changes").to_string()
                }
            }}</span>
            <button class="primary" data-test="save" on:click=save
                disabled=move || { error_count.get() > 0 || saving.get() || !dirty.get() }>
                {tr("保存全部修改", "Save all changes")}
            </button>
        </div>
        <ErrorNote error=save_error/>
        <Show when=move || conflict.get()>
            <button class="secondary" data-test="reload" on:click=move |_| { conflict.set(false); save_error.set(None); reloads.update(|n| *n += 1); }>
                {tr("刷新为最新数据（放弃本页修改）", "Load the latest (discard my edits)")}
            </button>
        </Show>
    }
}

/// A carton input with its label and error under it.
#[component]
fn NumField(
    label: impl Fn() -> &'static str + Send + Sync + 'static,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
    field: &'static str,
) -> impl IntoView {
    view! {
        <label class="num-field" class:invalid=move || error.with(Option::is_some)>
            <span>{label}</span>
            <input type="text" inputmode="numeric" autocomplete="off" data-field=field
                aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))/>
            {move || error.get().map(|m| view! { <span class="field-error" data-test="field-error">{m}</span> })}
        </label>
    }
}

/// Search the catalogue by name, brand or code and add a spec.
/// A search over the catalogue that adds a spec not yet listed: to the
/// settings (`test` = "spec") or to the order ("order-spec"); `pickable`
/// says which specs may be added.
#[component]
fn AddSpec(
    terms: StoredValue<Vec<SpecTerms>>,
    /// The specs listed already.
    #[prop(into)]
    listed: Signal<Vec<i64>>,
    label: (&'static str, &'static str),
    test: &'static str,
    pickable: fn(&SpecTerms) -> bool,
    on_add: impl Fn(i64) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = state::lang();
    let query = RwSignal::new(String::new());
    let matches = move || {
        let q = query.get().trim().to_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        let listed = listed.get();
        terms.with_value(|t| {
            t.iter()
                .filter(|t| !listed.contains(&t.spec_id))
                .filter(|t| {
                    t.name.to_lowercase().contains(&q)
                        || t.brand.to_lowercase().contains(&q)
                        || t.code.contains(&q)
                })
                .take(8)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="add-spec">
            <label class="field">
                <span>{tr(label.0, label.1)}</span>
                <input type="search" data-test=format!("{test}-search") autocomplete="off"
                    placeholder=move || lang.get().pick("输入品规名称、品牌或条码", "Name, brand or code")
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))/>
            </label>
            <ul class="spec-matches">
                {move || matches().into_iter().map(|t| {
                    let id = t.spec_id;
                    let orderable = pickable(&t);
                    view! {
                        <li>
                            <button class="match" data-test=format!("{test}-match") disabled=!orderable
                                on:click=move |_| { on_add(id); query.set(String::new()); }>
                                <span>{t.name.clone()}</span>
                                <span class="muted small">{t.code.clone()}</span>
                                <span class="muted small">{move || if orderable {
                                    format!("{} {} {}", lang.get().pick("限量", "cap"), t.class_cap, lang.get().pick("条", "ctn"))
                                } else { lang.get().pick("不可订购", "not orderable").to_string() }}</span>
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

/// A spec that may be added to the settings.
fn settable(t: &SpecTerms) -> bool {
    t.orderable
}

/// A spec that may be added to the order of the day: orderable, with room
/// under the day's cap.
fn orderable_now(t: &SpecTerms) -> bool {
    t.orderable && t.class_cap > 0
}

fn yuan(fen: Fen) -> String {
    format!("¥{}", fen.yuan_string())
}

/// A cap chip: the cap of the order day, and the period of the published
/// allocation (货源投放) it comes from, if any.
fn cap_chip(t: &SpecTerms) -> impl IntoView {
    let lang = state::lang();
    let cap = t.class_cap;
    let period = t.cap_period;
    view! {
        <span class="chip" data-test="cap">{move || format!("{} {cap} {}", lang.get().pick("限量", "Cap"), lang.get().pick("条", "ctn"))}</span>
        {period.map(|p| view! {
            <span class="chip chip-period" data-test="cap-period">{move || format!(
                "{} {} {} {}",
                lang.get().pick("货源投放", "Allocated supply"),
                p.from.format("%m-%d"),
                lang.get().pick("至", "to"),
                p.to.format("%m-%d"),
            )}</span>
        })}
    }
}

fn status_text(status: OrderStatus, lang: Lang) -> &'static str {
    status.label(lang)
}

/// What the order panel is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Typing the quantities of a new order (or of a cancelled one, again).
    New,
    /// Showing the confirmed order.
    Show,
    /// Changing the confirmed order.
    Change,
}

/// The order of the open order day: the proposal to start from, any
/// orderable spec added, confirmed, changed or cancelled until the cutoff;
/// then the retailer's orders and where each stands.
#[component]
fn ProposalPanel(view: RetailerSettingsView) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let retailer_id = view.retailer.id;
    let online = view.retailer.online;
    let terms = StoredValue::new(view.terms.clone());
    let proposal = RwSignal::new(None::<ProposalView>);
    let error = RwSignal::new(None::<ErrorBody>);
    let mode = RwSignal::new(Mode::New);
    let orders_changed = RwSignal::new(0_u32);
    let quantities: RwSignal<Vec<(i64, RwSignal<String>)>> = RwSignal::new(Vec::new());
    // The quantities' signals belong to the panel, not to the effect that
    // takes a proposal in (which would dispose them when it runs again).
    let owner = StoredValue::new(Owner::current().unwrap_or_default());
    // Starts typing from the confirmed order when there is one (that is not
    // cancelled), else from the proposal.
    let fill = move |p: &ProposalView| {
        let from_order = p
            .confirmed
            .as_ref()
            .filter(|c| c.status != OrderStatus::Cancelled);
        let start: Vec<(i64, i64)> = match from_order {
            Some(c) => c
                .lines
                .iter()
                .filter(|l| l.quantity > 0 || l.wanted > 0)
                .map(|l| (l.spec_id, l.quantity))
                .collect(),
            None => p
                .lines
                .iter()
                .filter(|l| l.wanted > 0)
                .map(|l| (l.spec_id, l.quantity))
                .collect(),
        };
        quantities.set(owner.with_value(|o| {
            o.with(|| {
                start
                    .into_iter()
                    .map(|(spec, q)| (spec, RwSignal::new(q.to_string())))
                    .collect()
            })
        }));
    };
    let take = move |p: ProposalView| {
        fill(&p);
        mode.set(match &p.confirmed {
            Some(c) if c.status != OrderStatus::Cancelled => Mode::Show,
            _ => Mode::New,
        });
        proposal.set(Some(p));
        orders_changed.update(|n| *n += 1);
    };
    let loaded = LocalResource::new(move || api::proposal(retailer_id, lang.get_untracked()));
    Effect::new(move |_| match loaded.get() {
        Some(Ok(p)) => take(p),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    #[derive(Clone)]
    enum Write {
        Confirm(ConfirmOrderRequest),
        Change(chrono::NaiveDate, ChangeOrderRequest),
        Cancel(chrono::NaiveDate, CancelOrderRequest),
    }
    let write = Action::new_local(move |(w, csrf): &(Write, String)| {
        let (w, csrf) = (w.clone(), csrf.clone());
        let lang = lang.get_untracked();
        async move {
            match w {
                Write::Confirm(r) => api::confirm_order(retailer_id, &r, &csrf, lang).await,
                Write::Change(d, r) => api::change_order(retailer_id, d, &r, &csrf, lang).await,
                Write::Cancel(d, r) => api::cancel_order(retailer_id, d, &r, &csrf, lang).await,
            }
        }
    });
    // Every write answers with the proposal and the day's order as they are now.
    Effect::new(move |_| match write.value().get() {
        Some(Ok(p)) => take(p),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let busy = write.pending();
    let term =
        move |spec_id: i64| terms.with_value(|t| t.iter().find(|t| t.spec_id == spec_id).cloned());
    // Each quantity as typed, checked with the same rules the server applies:
    // any orderable spec, within the day's caps.
    let checked = Memo::new(move |_| {
        let lang = lang.get();
        let mut field_errors: BTreeMap<i64, String> = BTreeMap::new();
        let mut lines = Vec::new();
        for (spec_id, text) in quantities.get() {
            match Cartons::parse(&text.get()) {
                Ok(q) => lines.push(OrderLineInput {
                    spec_id,
                    quantity: q,
                }),
                Err(e) => {
                    field_errors.insert(spec_id, e.message(lang).to_string());
                }
            }
        }
        let mut total_error = None;
        if let Some(p) = proposal.get() {
            let rules: Vec<_> = terms.with_value(|t| t.iter().map(|t| t.rule()).collect());
            for (i, e) in check_order(&lines, &rules, p.total_cap) {
                match i {
                    Some(i) => {
                        field_errors
                            .entry(lines[i].spec_id)
                            .or_insert_with(|| e.message(lang));
                    }
                    None => total_error = Some(e.message(lang)),
                }
            }
            if field_errors.is_empty() && total_error.is_none() {
                total_error = check_not_empty(&lines).err().map(|e| e.message(lang));
            }
        }
        (lines, field_errors, total_error)
    });
    let totals = move || {
        let priced: Vec<(i64, Fen)> = checked.with(|c| {
            c.0.iter()
                .map(|l| {
                    (
                        l.quantity.get(),
                        term(l.spec_id)
                            .map(|t| t.wholesale_per_carton)
                            .unwrap_or_default(),
                    )
                })
                .collect()
        });
        order_value(&priced)
    };
    let submit = move |_| {
        let Some(p) = proposal.get_untracked() else {
            return;
        };
        let (lines, errors, total_error) = checked.get_untracked();
        if !errors.is_empty() || total_error.is_some() || busy.get_untracked() {
            return;
        }
        let cartons: i64 = lines.iter().map(|l| l.quantity.get()).sum();
        let cutoff = p.cutoff.format("%m-%d %H:%M");
        let question = match lang.get_untracked() {
            Lang::Zh => format!(
                "确认 {} 的订单，共 {cartons} 条？截止 {cutoff} 前仍可修改或取消。",
                p.order_date
            ),
            Lang::En => format!(
                "Confirm the order of {} for {cartons} cartons? It can be changed or cancelled until {cutoff}.",
                p.order_date
            ),
        };
        if !confirm(&question) {
            return;
        }
        error.set(None);
        let w = match &p.confirmed {
            // A cancelled order is confirmed again by changing it.
            Some(c) => Write::Change(
                p.order_date,
                ChangeOrderRequest {
                    version: c.version,
                    lines,
                },
            ),
            None => Write::Confirm(ConfirmOrderRequest {
                order_date: p.order_date,
                lines,
            }),
        };
        write.dispatch((w, session.csrf()));
    };
    let cancel = move |_| {
        let Some(p) = proposal.get_untracked() else {
            return;
        };
        let Some(c) = p.confirmed.clone() else { return };
        let question = match lang.get_untracked() {
            Lang::Zh => format!(
                "取消 {} 的订单（共 {} 条）？",
                p.order_date, c.total_cartons
            ),
            Lang::En => format!(
                "Cancel the order of {} ({} cartons)?",
                p.order_date, c.total_cartons
            ),
        };
        if !confirm(&question) || busy.get_untracked() {
            return;
        }
        error.set(None);
        write.dispatch((
            Write::Cancel(p.order_date, CancelOrderRequest { version: c.version }),
            session.csrf(),
        ));
    };
    let add = move |spec_id: i64| {
        if quantities.with_untracked(|q| q.iter().any(|q| q.0 == spec_id)) {
            return;
        }
        let text = owner.with_value(|o| o.with(|| RwSignal::new(String::new())));
        quantities.update(|q| q.push((spec_id, text)));
    };

    view! {
        <ErrorNote error=error/>
        {move || proposal.get().map(|p| {
            let confirmed = p.confirmed.clone();
            let shown_order = StoredValue::new(p.confirmed.clone());
            let status = confirmed.as_ref().map(|c| c.status);
            let open = status.is_none_or(|s| matches!(s, OrderStatus::Open | OrderStatus::Cancelled));
            let idle = p.lines.iter().filter(|l| l.wanted == 0).count();
            let proposal_lines = StoredValue::new(p.lines.clone());
            let cutoff = p.cutoff;
            let date = p.order_date;
            let on_order: i64 = p.on_order.iter().map(|o| o.cartons).sum();
            view! {
                <section class="card" data-test="proposal">
                    <h2>{move || format!("{} · {}", lang.get().pick("本期订单", "This order"), date)}</h2>
                    <p class="window" data-test="window">
                        {move || format!("{} {} {}", lang.get().pick("订货截止", "Ordering closes"), cutoff.format("%Y-%m-%d %H:%M"), lang.get().pick("（北京时间），截止前可修改或取消", "(China time); until then the order can be changed or cancelled"))}
                    </p>
                    {status.map(|s| view! {
                        <p><span class="chip" class:chip-cut=s == OrderStatus::Cancelled data-test="order-status">{move || status_text(s, lang.get())}</span></p>
                    })}
                    {(on_order > 0).then(|| view! { <p class="muted small" data-test="on-order">{move || format!("{} {on_order} {}", lang.get().pick("前期已订未到货", "Ordered earlier, not yet delivered:"), lang.get().pick("条，已计入库存", "cartons, counted as stock"))}</p> })}
                    {(!online).then(|| view! { <p class="warning">{tr("尚未开通网上配货，建议订单仅供参考，不能确认。", "Not joined to online replenishment: the proposal is for reference and cannot be confirmed.")}</p> })}
                    {move || (mode.get() != Mode::Show && quantities.with(|q| q.is_empty())).then(|| view! { <p class="muted">{tr("各品规库存均高于下限，本订货日无需订购；也可在下方添加品规。", "Every spec is above its lower limit: nothing proposed. You can still add a spec below.")}</p> })}
                    <div class="proposal-lines">
                        {move || {
                            let editing = mode.get() != Mode::Show && open;
                            let shown: Vec<(i64, Option<RwSignal<String>>)> = if editing {
                                quantities.get().into_iter().map(|(s, t)| (s, Some(t))).collect()
                            } else {
                                shown_order.with_value(|o| o.as_ref().map(|c| c.lines.iter().filter(|l| l.quantity > 0 || l.wanted > 0).map(|l| (l.spec_id, None)).collect()).unwrap_or_default())
                            };
                            shown.into_iter().map(|(spec_id, text)| {
                                let t = term(spec_id);
                                let line = proposal_lines.with_value(|l| l.iter().find(|l| l.spec_id == spec_id).cloned());
                                let confirmed_q = shown_order.with_value(|o| o.as_ref().and_then(|c| c.lines.iter().find(|l| l.spec_id == spec_id).map(|l| l.quantity)));
                                let err = move || checked.with(|c| c.1.get(&spec_id).cloned());
                                let reasons = line.as_ref().map(|l| l.reasons.clone()).unwrap_or_default();
                                let head = line.as_ref().map(|l| (l.wanted, l.quantity));
                                view! {
                                    <div class="proposal-line" data-spec=spec_id>
                                        <div class="spec-head">
                                            <strong>{t.as_ref().map(|t| t.name.clone())}</strong>
                                            {t.as_ref().map(cap_chip)}
                                            <span class="muted small">{move || match head {
                                                Some((wanted, proposed)) if wanted > 0 => format!("{} {wanted} · {} {proposed}", lang.get().pick("需", "wants"), lang.get().pick("建议", "proposed")),
                                                _ => lang.get().pick("自选品规", "Added by choice").to_string(),
                                            }}</span>
                                        </div>
                                        <div class="reasons">
                                            {reasons.into_iter().map(|r: Reason| view! {
                                                <span class="chip" class:chip-cut=r.is_cut() data-test="reason">{move || r.message(lang.get())}</span>
                                            }).collect_view()}
                                        </div>
                                        {match text {
                                            Some(text) => view! {
                                                <label class="num-field" class:invalid=move || err().is_some()>
                                                    <span>{tr("订购数量（条）", "Quantity (cartons)")}</span>
                                                    <input type="text" inputmode="numeric" data-test="quantity"
                                                        prop:value=move || text.get()
                                                        on:input=move |ev| text.set(event_target_value(&ev))/>
                                                    {move || err().map(|m| view! { <span class="field-error" data-test="field-error">{m}</span> })}
                                                </label>
                                            }.into_any(),
                                            None => view! {
                                                <p data-test="confirmed-quantity">{move || format!("{} {} {}", lang.get().pick("已订", "Ordered"), confirmed_q.unwrap_or(0), lang.get().pick("条", "cartons"))}</p>
                                            }.into_any(),
                                        }}
                                    </div>
                                }
                            }).collect_view()
                        }}
                    </div>
                    {(idle > 0).then(|| view! { <p class="muted small">{move || format!("{} {idle} {}", lang.get().pick("另有", "Another"), lang.get().pick("个品规库存充足，无需订购", "specs have enough stock"))}</p> })}
                    {move || (open && online && mode.get() != Mode::Show).then(|| view! {
                        <AddSpec terms listed=Signal::derive(move || quantities.with(|q| q.iter().map(|q| q.0).collect()))
                            label=("添加订购品规", "Add a spec to the order") test="order-spec"
                            pickable=orderable_now on_add=add/>
                    })}
                    {match confirmed.clone() {
                        Some(c) if c.status != OrderStatus::Cancelled => view! {
                            <div class="confirmed" data-test="confirmed">
                                <p><strong>{move || format!("{} {} {} · {}", lang.get().pick("订单已确认：共", "Order confirmed:"), c.total_cartons, lang.get().pick("条", "cartons"), yuan(c.total_value))}</strong></p>
                                <p class="muted small">{
                                    let (by, role, at) = match (&c.updated_by, c.updated_at) {
                                        (Some(by), Some(at)) => (by.clone(), None, at),
                                        _ => (c.confirmed_by.clone(), Some(c.confirmed_by_role), c.confirmed_at),
                                    };
                                    move || format!("{} {}{} · {}", lang.get().pick("最后操作", "Last by"), by, role.map(|r| format!("（{}）", r.label(lang.get()))).unwrap_or_default(), china_time(at))
                                }</p>
                                {let cut: i64 = c.lines.iter().map(|l| l.cut_off).sum();
                                 (cut > 0).then(|| view! { <p class="muted small">{move || format!("{} {cut} {}", lang.get().pick("因限量未满足的需求", "Demand cut by the caps:"), lang.get().pick("条（已记录）", "cartons (recorded)"))}</p> })}
                            </div>
                        }.into_any(),
                        _ => ().into_any(),
                    }}
                    {move || match (open && online, mode.get()) {
                        (false, _) => ().into_any(),
                        (true, Mode::Show) => view! {
                            <div class="actions">
                                <button class="primary" data-test="change" on:click=move |_| mode.set(Mode::Change) disabled=move || busy.get()>
                                    {tr("修改订单", "Change the order")}
                                </button>
                                <button class="secondary danger" data-test="cancel-order" on:click=cancel disabled=move || busy.get()>
                                    {tr("取消订单", "Cancel the order")}
                                </button>
                            </div>
                        }.into_any(),
                        (true, m) => view! {
                            <div class="order-total" data-test="order-total">
                                <span>{move || { let (c, v) = totals(); format!("{} {c} {} · {}", lang.get().pick("合计", "Total"), lang.get().pick("条", "cartons"), yuan(v)) }}</span>
                                {move || checked.with(|c| c.2.clone()).map(|m| view! { <span class="field-error" data-test="total-error">{m}</span> })}
                            </div>
                            <div class="actions">
                                <button class="primary" data-test="confirm" on:click=submit
                                    disabled=move || busy.get() || quantities.with(|q| q.is_empty()) || checked.with(|c| !c.1.is_empty() || c.2.is_some())>
                                    {move || if m == Mode::Change { lang.get().pick("保存修改", "Save the changes") } else { lang.get().pick("确认订单", "Confirm the order") }}
                                </button>
                                {(m == Mode::Change).then(|| view! {
                                    <button class="secondary" data-test="discard" on:click=move |_| {
                                        if let Some(p) = proposal.get_untracked() { fill(&p); }
                                        mode.set(Mode::Show);
                                    }>{tr("放弃修改", "Discard the changes")}</button>
                                })}
                            </div>
                        }.into_any(),
                    }}
                    {(!open).then(|| view! { <p class="muted" data-test="locked">{tr("订货已截止，订单已锁定，不能再修改。", "Ordering has closed: the order is locked.")}</p> })}
                </section>
            }
        })}
        <OrdersList retailer_id changed=orders_changed/>
    }
}

/// The retailer's orders and where each stands (我的订单).
#[component]
fn OrdersList(retailer_id: i64, changed: RwSignal<u32>) -> impl IntoView {
    let lang = state::lang();
    let orders = LocalResource::new(move || {
        changed.track();
        api::retailer_orders(retailer_id, lang.get_untracked())
    });
    view! {
        <section class="card table-wrap" data-test="orders">
            <h2>{tr("订单记录", "Orders")}</h2>
            {move || match orders.get() {
                None => view! { <p class="muted">{tr("加载中…", "Loading…")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error-note">{e.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="muted">{tr("还没有订单", "No orders yet")}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="orders">
                        <thead><tr>
                            <th>{tr("订货日", "Order day")}</th>
                            <th>{tr("状态", "Status")}</th>
                            <th class="num">{tr("数量（条）", "Cartons")}</th>
                            <th class="num">{tr("金额", "Value")}</th>
                            <th class="num">{tr("到货（条）", "Delivered")}</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|o| {
                                let delivered: Option<i64> = o.lines.iter().map(|l| l.delivered).sum::<Option<i64>>();
                                let status = o.status;
                                view! {
                                    <tr data-test="order-row" data-date=o.order_date.to_string()>
                                        <td>{o.order_date.to_string()}</td>
                                        <td data-test="order-row-status">{move || status_text(status, lang.get())}</td>
                                        <td class="num">{o.total_cartons}</td>
                                        <td class="num">{yuan(o.total_value)}</td>
                                        <td class="num">{delivered.map_or_else(|| "—".to_string(), |d| d.to_string())}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </section>
    }
}

fn field_label(field: &str, lang: Lang) -> &'static str {
    match field {
        "stock" => lang.pick("库存", "Stock"),
        "lower" => lang.pick("下限", "Lower"),
        "upper" => lang.pick("上限", "Upper"),
        "weekly_turnover" => lang.pick("周转数", "Turnover"),
        _ => lang.pick("品规", "Spec"),
    }
}

#[component]
fn HistoryPanel(retailer_id: i64) -> impl IntoView {
    let lang = state::lang();
    let loaded =
        LocalResource::new(move || api::settings_history(retailer_id, lang.get_untracked()));
    let changes = Signal::derive(move || loaded.get().and_then(Result::ok));
    let error = Signal::derive(move || loaded.get().and_then(Result::err));
    let value = move |v: Option<i64>, field: &str| match (v, field) {
        (None, _) => "—".to_string(),
        (Some(_), "spec") => lang.get().pick("在列", "listed").to_string(),
        (Some(v), _) => v.to_string(),
    };
    view! {
        <ErrorNote error=error/>
        <section class="card table-wrap" data-test="history">
            {move || changes.get().map(|list| if list.is_empty() {
                view! { <p class="muted">{tr("暂无变更记录", "No changes yet")}</p> }.into_any()
            } else {
                view! {
                    <table class="grid-table stack-on-phone">
                        <thead><tr>
                            <th>{tr("时间", "When")}</th><th>{tr("操作人", "Who")}</th><th>{tr("品规", "Spec")}</th>
                            <th>{tr("项目", "Field")}</th><th class="num">{tr("原值", "From")}</th><th class="num">{tr("新值", "To")}</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|c| {
                                let field = c.field.clone();
                                let field2 = c.field.clone();
                                let field3 = c.field.clone();
                                view! {
                                    <tr>
                                        <td data-label=tr("时间", "When")>{china_time(c.at)}</td>
                                        <td data-label=tr("操作人", "Who")>{move || format!("{}（{}）", c.actor, c.actor_role.label(lang.get()))}</td>
                                        <td data-label=tr("品规", "Spec")>{c.spec_name.clone()}</td>
                                        <td data-label=tr("项目", "Field")>{move || field_label(&field, lang.get())}</td>
                                        <td class="num" data-label=tr("原值", "From")>{move || value(c.from, &field2)}</td>
                                        <td class="num" data-label=tr("新值", "To")>{move || value(c.to, &field3)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            })}
        </section>
    }
}
