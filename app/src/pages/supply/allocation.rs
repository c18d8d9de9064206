//! 货源投放: the marketing center shares a scarce spec's supply for a period
//! among the customer classes. It picks the spec, the period, the supply
//! and a rule; the preview shows each class's cap, retailers, demand,
//! expected quantity, share met and retailers left wanting (nothing is
//! stored); publishing (after a confirmation) makes the caps hold on the
//! order days of the period. Below: the month's published allocations, to
//! withdraw, and the month's release plan (品牌投放方案) to download.

use chrono::{Days, NaiveDate};
use domain::catalogue::Spec;
use domain::masterdata::records::ClassRecord;
use domain::replenishment::allocation::{
    check_request, parse_supply, AllocationError, AllocationPreview, AllocationRequest,
    AllocationRule, ClassAllocation, PublishedAllocation,
};
use domain::{ErrorBody, ErrorCode, Lang};
use leptos::prelude::*;

use crate::components::charts::{BarChart, BarRow};
use crate::components::confirm::confirm;
use crate::components::error::{field_error, ErrorNote};
use crate::format::{china_time, percent};
use crate::i18n::tr;
use crate::{api, state};

/// Today in China time, from the browser's clock.
fn china_today() -> NaiveDate {
    let now = js_sys::Date::new_0();
    let china = js_sys::Date::new(&(now.get_time() + 8.0 * 3_600_000.0).into());
    NaiveDate::from_ymd_opt(
        china.get_utc_full_year() as i32,
        china.get_utc_month() + 1,
        china.get_utc_date(),
    )
    .unwrap_or_default()
}

fn month_of(date: NaiveDate) -> String {
    date.format("%Y-%m").to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tier,
    Demand,
    Equal,
}

fn share_text(share: Option<f64>) -> String {
    share.map_or_else(|| "—".into(), percent)
}

fn whole_percent(v: f64) -> String {
    format!("{v:.0}%")
}

fn period_text(from: NaiveDate, to: NaiveDate, lang: Lang) -> String {
    format!("{from} {} {to}", lang.pick("至", "to"))
}

/// The form as typed, read into a request with the same checks the server
/// makes; every field's error otherwise.
struct Form {
    spec: String,
    from: String,
    to: String,
    supply: String,
    kind: Kind,
    chosen: Vec<String>,
}

impl Form {
    fn read(
        &self,
        specs: &[Spec],
        classes: &[String],
        lang: Lang,
    ) -> Result<AllocationRequest, ErrorBody> {
        let mut fields: Vec<(String, String)> = Vec::new();
        let date = |text: &str, field: &str, fields: &mut Vec<(String, String)>| {
            let parsed = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
            if parsed.is_none() {
                fields.push((
                    field.to_string(),
                    lang.pick("请选择日期", "Choose a date").to_string(),
                ));
            }
            parsed
        };
        let from = date(&self.from, "from", &mut fields);
        let to = date(&self.to, "to", &mut fields);
        let supply = match parse_supply(&self.supply) {
            Ok(s) => s,
            Err(e) => {
                fields.push((e.field().to_string(), e.message(lang)));
                0
            }
        };
        let spec_id = self.spec.parse::<i64>().unwrap_or(0);
        let rule = match self.kind {
            Kind::Tier => AllocationRule::Tier,
            Kind::Demand => AllocationRule::Demand,
            Kind::Equal => AllocationRule::Equal {
                classes: self.chosen.clone(),
            },
        };
        let day = from.or(to).unwrap_or_default();
        let request = AllocationRequest {
            spec_id,
            from: from.unwrap_or(day),
            to: to.unwrap_or(day),
            supply,
            rule,
        };
        let exists = specs.iter().any(|s| s.id == spec_id);
        for e in check_request(&request, classes, exists) {
            // A date that could not be read has its own error already.
            let unread = match e {
                AllocationError::PeriodOrder | AllocationError::PeriodTooLong => {
                    from.is_none() || to.is_none()
                }
                AllocationError::DateRange("from") => from.is_none(),
                AllocationError::DateRange(_) => to.is_none(),
                _ => false,
            };
            if !unread {
                fields.push((e.field().to_string(), e.message(lang)));
            }
        }
        if fields.is_empty() {
            return Ok(request);
        }
        Err(fields.into_iter().fold(
            ErrorBody::new(
                ErrorCode::Validation,
                lang.pick(
                    "投放条件有误，请检查标出的项目",
                    "The allocation is not valid; check the marked fields",
                ),
            ),
            |body, (field, message)| body.with_field(field, message),
        ))
    }
}

#[component]
pub fn AllocationTab() -> impl IntoView {
    let lang = state::lang();
    let specs = LocalResource::new(move || async move { api::specs(lang.get_untracked()).await });
    let classes =
        LocalResource::new(move || async move { api::master_classes(lang.get_untracked()).await });
    let today = china_today();
    let spec = RwSignal::new(String::new());
    let from = RwSignal::new(today.to_string());
    let to = RwSignal::new(
        today
            .checked_add_days(Days::new(6))
            .unwrap_or(today)
            .to_string(),
    );
    let supply = RwSignal::new(String::new());
    let kind = RwSignal::new(Kind::Tier);
    let chosen = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);
    // The preview and the request it is of: publishing sends that request.
    let shown = RwSignal::new(None::<(AllocationRequest, AllocationPreview)>);
    let month = RwSignal::new(month_of(today));
    let reload = RwSignal::new(0_u32);
    let list = LocalResource::new(move || {
        let (month, _, lang) = (month.get(), reload.get(), lang.get());
        async move { api::allocations(&month, lang).await }
    });

    let spec_list = move || -> Vec<Spec> {
        let mut list = specs.get().and_then(|r| r.ok()).unwrap_or_default();
        // Scarce specs first, each group in catalogue order.
        list.sort_by_key(|s| !s.scarce);
        list
    };
    let class_list = move || -> Vec<ClassRecord> {
        let mut list = classes
            .get()
            .and_then(|r| r.ok())
            .map(|l| l.classes)
            .unwrap_or_default();
        list.sort_by_key(|c| std::cmp::Reverse(c.rank));
        list
    };
    // Any change to the form makes the preview out of date.
    let changed = move || {
        shown.set(None);
        notice.set(None);
    };

    let preview = Action::new_local(move |request: &AllocationRequest| {
        let request = request.clone();
        async move {
            let csrf = state::session().csrf();
            let answer = api::preview_allocation(&request, &csrf, lang.get_untracked()).await;
            (request, answer)
        }
    });
    Effect::new(move |_| {
        if let Some((request, answer)) = preview.value().get() {
            match answer {
                Ok(p) => {
                    error.set(None);
                    shown.set(Some((request, p)));
                }
                Err(e) => error.set(Some(e)),
            }
        }
    });
    let publish = Action::new_local(move |request: &AllocationRequest| {
        let request = request.clone();
        async move {
            let csrf = state::session().csrf();
            api::publish_allocation(&request, &csrf, lang.get_untracked()).await
        }
    });
    Effect::new(move |_| {
        if let Some(answer) = publish.value().get() {
            match answer {
                Ok(published) => {
                    error.set(None);
                    shown.set(None);
                    let lang = lang.get_untracked();
                    notice.set(Some(match lang {
                        Lang::Zh => format!(
                            "已发布：{} {}，第 {} 号投放",
                            published.spec_name,
                            period_text(published.from, published.to, lang),
                            published.id
                        ),
                        Lang::En => format!(
                            "Published: {}, {}, allocation no. {}",
                            published.spec_name,
                            period_text(published.from, published.to, lang),
                            published.id
                        ),
                    }));
                    month.set(month_of(published.from));
                    reload.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        }
    });
    let withdraw = Action::new_local(move |id: &i64| {
        let id = *id;
        async move {
            let csrf = state::session().csrf();
            api::withdraw_allocation(id, &csrf, lang.get_untracked()).await
        }
    });
    Effect::new(move |_| {
        if let Some(answer) = withdraw.value().get() {
            match answer {
                Ok(w) => {
                    error.set(None);
                    notice.set(Some(match lang.get_untracked() {
                        Lang::Zh => format!("已撤回第 {} 号投放，恢复常规限量", w.id),
                        Lang::En => format!(
                            "Allocation no. {} withdrawn; the standing caps hold again",
                            w.id
                        ),
                    }));
                    reload.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        }
    });

    let on_preview = move |_| {
        notice.set(None);
        let lang = lang.get_untracked();
        let codes: Vec<String> = class_list().into_iter().map(|c| c.code).collect();
        let form = Form {
            spec: spec.get_untracked(),
            from: from.get_untracked(),
            to: to.get_untracked(),
            supply: supply.get_untracked(),
            kind: kind.get_untracked(),
            chosen: chosen.get_untracked(),
        };
        match form.read(&spec_list(), &codes, lang) {
            Ok(request) => {
                error.set(None);
                preview.dispatch(request);
            }
            Err(e) => {
                shown.set(None);
                error.set(Some(e));
            }
        }
    };
    let on_publish = move |_| {
        let Some((request, p)) = shown.get_untracked() else {
            return;
        };
        let lang = lang.get_untracked();
        let question = match lang {
            Lang::Zh => format!(
                "发布 {} 的货源投放？\n期间 {}，可投放 {} 条，{}。\n发布后各档位在期间内的订货日按新限量订货，常规限量在期间后恢复。",
                p.spec_name,
                period_text(p.from, p.to, lang),
                p.supply,
                p.rule.label(lang)
            ),
            Lang::En => format!(
                "Publish the allocation of {}?\nPeriod {}, supply {} cartons, {}.\nEach class then orders within the new caps on the order days of the period; the standing caps return after it.",
                p.spec_name,
                period_text(p.from, p.to, lang),
                p.supply,
                p.rule.label(lang)
            ),
        };
        if confirm(&question) {
            publish.dispatch(request);
        }
    };
    let on_withdraw = move |a: &PublishedAllocation| {
        let lang = lang.get_untracked();
        let question = match lang {
            Lang::Zh => format!(
                "撤回第 {} 号投放（{} {}）？撤回后恢复常规限量。",
                a.id,
                a.spec_name,
                period_text(a.from, a.to, lang)
            ),
            Lang::En => format!(
                "Withdraw allocation no. {} ({}, {})? The standing caps hold again.",
                a.id,
                a.spec_name,
                period_text(a.from, a.to, lang)
            ),
        };
        if confirm(&question) {
            withdraw.dispatch(a.id);
        }
    };
    let field = move |name: &'static str| {
        move || {
            error.with(|e| field_error(e, name)).map(|m| {
                view! { <span class="field-error" data-test=format!("error-{}", name.replace('.', "-"))>{m}</span> }
            })
        }
    };
    let invalid = move |name: &'static str| move || error.with(|e| field_error(e, name).is_some());

    view! {
        <section class="card allocation" data-test="allocation">
            <h2>{tr("货源投放", "Scarce supply allocation")}</h2>
            <p class="muted">{tr(
                "按档位公开分配紧俏品规的货源：选择品规、投放期间和可投放量（条），按规则算出各档位每户每个订货日的限量，预计投放量不超过可投放量。预览不保存；发布后限量只在期间内的订货日生效，期间过后或撤回后恢复常规限量。",
                "Share a scarce spec's supply openly by customer class: choose the spec, the period and the supply (cartons); the rule gives each class a cap per retailer and order day, and the expected quantity never exceeds the supply. A preview stores nothing; published caps hold on the order days of the period only, and the standing caps return after it or when withdrawn.")}</p>
            <form class="alloc-form" on:submit=|ev| ev.prevent_default()>
                <label class="wide">{tr("品规", "Spec")}
                    <select data-test="alloc-spec" class:invalid=invalid("spec_id")
                        prop:value=move || spec.get()
                        on:change=move |ev| { spec.set(event_target_value(&ev)); changed(); }>
                        <option value="">{tr("请选择品规", "Choose a spec")}</option>
                        {move || spec_list().into_iter().map(|s| {
                            let lang = lang.get();
                            let text = if s.scarce {
                                format!("{} {}", lang.pick("【紧俏】", "[scarce]"), s.name)
                            } else {
                                s.name.clone()
                            };
                            view! { <option value=s.id.to_string() selected=spec.get_untracked() == s.id.to_string()>{text}</option> }
                        }).collect_view()}
                    </select>
                    {field("spec_id")}
                </label>
                <label>{tr("开始日期", "From")}
                    <input type="date" data-test="alloc-from" class:invalid=invalid("from")
                        prop:value=move || from.get()
                        on:change=move |ev| { from.set(event_target_value(&ev)); changed(); }/>
                    {field("from")}
                </label>
                <label>{tr("结束日期", "To")}
                    <input type="date" data-test="alloc-to" class:invalid=invalid("to")
                        prop:value=move || to.get()
                        on:change=move |ev| { to.set(event_target_value(&ev)); changed(); }/>
                    {field("to")}
                </label>
                <label>{tr("可投放量（条）", "Supply (cartons)")}
                    <input inputmode="numeric" data-test="alloc-supply" class:invalid=invalid("supply")
                        prop:value=move || supply.get()
                        on:input=move |ev| { supply.set(event_target_value(&ev)); changed(); }/>
                    {field("supply")}
                </label>
                <fieldset class="wide rules">
                    <legend>{tr("分配规则", "Rule")}</legend>
                    {[
                        (Kind::Tier, "rule-tier", "按档位：高档位每户限量不低于低档位，按档位高低成比例", "By tier: a higher class never gets a smaller cap, caps grow with the tier"),
                        (Kind::Demand, "rule-demand", "按需求比例：各档位的需求满足率大致相同", "In proportion to demand: every class gets about the same share of its demand"),
                        (Kind::Equal, "rule-equal", "指定档位平均分配：所选档位每户同一限量，其余档位为 0", "Equal shares: one cap for every retailer of the chosen classes, 0 for the others"),
                    ].into_iter().map(|(k, test, zh, en)| view! {
                        <label class="radio">
                            <input type="radio" name="alloc-rule" data-test=test
                                prop:checked=move || kind.get() == k
                                on:change=move |_| { kind.set(k); changed(); }/>
                            {move || lang.get().pick(zh, en)}
                        </label>
                    }).collect_view()}
                    {move || (kind.get() == Kind::Equal).then(|| view! {
                        <div class="class-picks" data-test="equal-classes">
                            {class_list().into_iter().map(|c| {
                                let code = c.code.clone();
                                let checked = { let code = code.clone(); move || chosen.with(|l| l.contains(&code)) };
                                view! {
                                    <label class="check">
                                        <input type="checkbox" data-test="equal-class" value=c.code.clone()
                                            prop:checked=checked
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                let code = code.clone();
                                                chosen.update(|l| {
                                                    l.retain(|x| *x != code);
                                                    if on { l.push(code); }
                                                });
                                                changed();
                                            }/>
                                        {c.label.clone()}
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                        {field("rule.classes")}
                    })}
                </fieldset>
                <p class="actions wide">
                    <button type="button" data-test="alloc-preview" on:click=on_preview
                        disabled=move || preview.pending().get()>{tr("预览", "Preview")}</button>
                </p>
            </form>
            <ErrorNote error=error/>
            {move || notice.get().map(|n| view! { <p class="ok" role="status" data-test="alloc-notice">{n}</p> })}
            {move || shown.get().map(|(_, p)| {
                // An overlapping allocation must be withdrawn first (the
                // preview says so).
                let blocked = p.overlapping.is_some();
                view! {
                    <PreviewView preview=p/>
                    <p class="actions">
                        <button type="button" class="publish" data-test="alloc-publish" on:click=on_publish
                            disabled=move || blocked || publish.pending().get()>{tr("发布", "Publish")}</button>
                    </p>
                }
            })}
        </section>
        <section class="card allocation" data-test="alloc-list">
            <h2>{tr("已发布的投放", "Published allocations")}</h2>
            <form class="filters" on:submit=|ev| ev.prevent_default()>
                <label>{tr("月份", "Month")}
                    <input type="month" data-test="alloc-month" prop:value=move || month.get()
                        on:change=move |ev| month.set(event_target_value(&ev))/>
                </label>
                <a class="button-link secondary" data-test="alloc-plan" download=""
                    href=move || api::allocation_plan_url(&month.get(), lang.get())>
                    {tr("导出投放方案", "Download the release plan")}</a>
            </form>
            <Suspense fallback=|| view! { <p class="muted">{tr("加载中…", "Loading…")}</p> }>
                {move || list.get().map(|r| match r {
                    Ok(l) if l.allocations.is_empty() => view! {
                        <p class="muted" data-test="alloc-none">{tr("本月没有货源投放。", "No allocations this month.")}</p>
                    }.into_any(),
                    Ok(l) => view! {
                        <ul class="alloc-items">
                            {l.allocations.into_iter().map(|a| view! { <PublishedItem allocation=a on_withdraw/> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorNote error=Some(e)/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The per-class table of an allocation (and its totals).
#[component]
fn ClassTable(
    classes: Vec<ClassAllocation>,
    totals: domain::replenishment::allocation::AllocationTotals,
    /// Show the standing caps beside the allocated ones.
    standing: bool,
    test: &'static str,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="figures" data-test=test>
                <thead><tr>
                    <th>{tr("档位", "Class")}</th>
                    <th class="num">{tr("网上配货户", "Enrolled")}</th>
                    <th class="num">{tr("有需求户", "With demand")}</th>
                    <th class="num">{tr("需求（条）", "Demand")}</th>
                    {standing.then(|| view! { <th class="num">{tr("常规限量", "Standing cap")}</th> })}
                    <th class="num">{tr("投放限量", "Cap")}</th>
                    <th class="num">{tr("预计投放（条）", "Expected")}</th>
                    <th class="num">{tr("满足率", "Share met")}</th>
                    <th class="num">{tr("未满足户", "Left wanting")}</th>
                </tr></thead>
                <tbody>
                    {classes.into_iter().map(|c| {
                        let wanting = if c.wanting > 0 { "num wanting" } else { "num" };
                        view! {
                        <tr data-test="alloc-class" data-class=c.code.clone()>
                            <td>{c.label.clone()}</td>
                            <td class="num">{c.enrolled}</td>
                            <td class="num">{c.with_demand}</td>
                            <td class="num">{c.demand}</td>
                            {standing.then(|| view! { <td class="num muted">{c.standing_cap.map_or_else(|| "—".to_string(), |s| s.to_string())}</td> })}
                            <td class="num"><strong data-test="alloc-cap">{c.cap}</strong></td>
                            <td class="num">{c.expected}</td>
                            <td class="num">{share_text(c.share_met())}</td>
                            <td class=wanting>{c.wanting}</td>
                        </tr>
                    }}).collect_view()}
                </tbody>
                <tfoot><tr>
                    <th>{tr("合计", "Total")}</th>
                    <th class="num">{totals.enrolled}</th>
                    <th class="num">{totals.with_demand}</th>
                    <th class="num">{totals.demand}</th>
                    {standing.then(|| view! { <th></th> })}
                    <th></th>
                    <th class="num">{totals.expected}</th>
                    <th class="num">{share_text(totals.share_met())}</th>
                    <th class="num">{totals.wanting}</th>
                </tr></tfoot>
            </table>
        </div>
    }
}

#[component]
fn PreviewView(preview: AllocationPreview) -> impl IntoView {
    let lang = state::lang().get_untracked();
    let totals = preview.totals;
    let chart: Vec<BarRow> = preview
        .classes
        .iter()
        .filter(|c| c.demand > 0)
        .map(|c| BarRow {
            label: c.label.clone(),
            values: vec![c.share_met().unwrap_or(0.0) * 100.0],
        })
        .collect();
    let series = vec![lang.pick("需求满足率", "Share of demand met").to_string()];
    let title = lang.pick("各档位需求满足率（%）", "Share of demand met by class (%)");
    view! {
        <section class="alloc-preview" data-test="alloc-result">
            <h3>{format!("{} · {} · {}", preview.spec_name, period_text(preview.from, preview.to, lang), preview.rule.label(lang))}</h3>
            {preview.overlapping.map(|o| view! {
                <p class="note warn" data-test="alloc-overlap">{match lang {
                    Lang::Zh => format!("该品规在 {} 已有第 {} 号投放，期间重叠，需先撤回才能发布。", period_text(o.from, o.to, lang), o.allocation_id),
                    Lang::En => format!("Allocation no. {} of this spec covers {}: withdraw it before publishing.", o.allocation_id, period_text(o.from, o.to, lang)),
                }}</p>
            })}
            {(totals.demand == 0).then(|| view! {
                <p class="note warn">{tr("期间内没有记录的需求（网上配货户的周转数）：各档位限量为 0。", "No demand is recorded for the period (enrolled retailers' turnover): every cap is 0.")}</p>
            })}
            <div class="kpis">
                <div class="kpi"><span>{tr("可投放（条）", "Supply")}</span><strong data-test="alloc-supply-total">{preview.supply}</strong></div>
                <div class="kpi"><span>{tr("需求（条）", "Demand")}</span><strong>{totals.demand}</strong></div>
                <div class="kpi"><span>{tr("预计投放（条）", "Expected")}</span><strong data-test="alloc-expected">{totals.expected}</strong></div>
                <div class="kpi"><span>{tr("需求满足率", "Share met")}</span><strong>{share_text(totals.share_met())}</strong></div>
                <div class="kpi"><span>{tr("未满足户", "Left wanting")}</span><strong>{totals.wanting}</strong></div>
            </div>
            <p class="muted">{match lang {
                Lang::Zh => format!("限量为每户每个订货日的条数，按订货倍数 {} 条取整；需求 = 网上配货户设置的周转数 × 期间内订货日数。", preview.order_multiple),
                Lang::En => format!("Caps are cartons per retailer and order day, in multiples of {}; demand = the turnover enrolled retailers recorded × their order days in the period.", preview.order_multiple),
            }}</p>
            {(!chart.is_empty()).then(|| view! {
                <div class="chart" data-test="alloc-chart">
                    <BarChart rows=chart series label=title format=whole_percent/>
                </div>
            })}
            <ClassTable classes=preview.classes.clone() totals standing=true test="alloc-preview-table"/>
        </section>
    }
}

#[component]
fn PublishedItem(
    allocation: PublishedAllocation,
    on_withdraw: impl Fn(&PublishedAllocation) + Copy + 'static,
) -> impl IntoView {
    let lang = state::lang().get_untracked();
    let a = allocation;
    let withdrawn = a.withdrawn_at;
    let item = StoredValue::new(a.clone());
    view! {
        <li class="alloc-item" data-test="alloc-published" data-id=a.id.to_string()>
            <div class="alloc-head">
                <strong>{a.spec_name.clone()}</strong>
                <span>{period_text(a.from, a.to, lang)}</span>
                <span class="chip">{a.rule.label(lang)}</span>
                {match withdrawn {
                    Some(at) => view! { <span class="badge off" data-test="alloc-status">{tr("已撤回", "Withdrawn")}" "{china_time(at)}</span> }.into_any(),
                    None => view! { <span class="badge ok" data-test="alloc-status">{tr("生效", "In force")}</span> }.into_any(),
                }}
            </div>
            <p class="muted">{match lang {
                Lang::Zh => format!(
                    "第 {} 号 · 可投放 {} 条 · 预计投放 {} 条 · 满足率 {} · {} 发布于 {}",
                    a.id, a.supply, a.totals.expected, share_text(a.totals.share_met()), a.published_by, china_time(a.published_at)
                ),
                Lang::En => format!(
                    "No. {} · supply {} · expected {} · share met {} · published by {} at {}",
                    a.id, a.supply, a.totals.expected, share_text(a.totals.share_met()), a.published_by, china_time(a.published_at)
                ),
            }}</p>
            <details>
                <summary>{tr("各档位限量", "Caps by class")}</summary>
                <ClassTable classes=a.classes.clone() totals=a.totals standing=false test="alloc-caps"/>
            </details>
            {withdrawn.is_none().then(|| view! {
                <button type="button" class="button-link secondary" data-test="alloc-withdraw"
                    on:click=move |_| item.with_value(on_withdraw)>{tr("撤回", "Withdraw")}</button>
            })}
        </li>
    }
}
