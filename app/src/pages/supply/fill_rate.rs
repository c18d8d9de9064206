//! 需求满足率: what retailers wanted, what the caps allowed and what they
//! ordered over a period, by week (a chart) and by spec × class where the
//! caps bite most first, with the tables as a workbook.

use domain::replenishment::fill_rate::{Demand, FillRateReport};
use leptos::prelude::*;

use crate::components::charts::{BarChart, BarRow};
use crate::components::error::{field_error, ErrorNote};
use crate::format::percent;
use crate::i18n::tr;
use crate::{api, state};

fn whole(v: f64) -> String {
    format!("{v:.0}")
}

fn rate_text(d: &Demand) -> String {
    d.fill_rate().map_or_else(|| "—".into(), percent)
}

#[component]
pub fn FillRateTab() -> impl IntoView {
    let lang = state::lang();
    // Empty: the server's default period (the last 8 weeks).
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let report = LocalResource::new(move || {
        let (from, to, lang) = (from.get(), to.get(), lang.get());
        async move { api::fill_rate(&from, &to, lang).await }
    });
    let export = move || api::fill_rate_export_url(&from.get(), &to.get(), lang.get());
    view! {
        <section class="card" data-test="fill-rate">
            <h2>{tr("需求满足率", "Fill rate")}</h2>
            <p class="muted">{tr(
                "需求 = 按库存设置应订的量；限量允许 = 经档位单品限量和总量限量截减后的建议量；订货 = 零售户确认的量。满足率 = 限量允许 ÷ 需求，截减 = 需求 − 限量允许（已确认、未取消的订单）。",
                "Wanted = what the stock settings called for; allowed = the proposal after the class and total caps; ordered = what the retailer confirmed. Fill rate = allowed ÷ wanted, cut = wanted − allowed (confirmed orders, not cancelled).")}</p>
            <form class="filters" on:submit=|ev| ev.prevent_default()>
                <label>{tr("从", "From")}
                    <input type="date" data-test="fill-from" prop:value=move || from.get()
                        on:change=move |ev| from.set(event_target_value(&ev))/>
                </label>
                <label>{tr("至", "To")}
                    <input type="date" data-test="fill-to" prop:value=move || to.get()
                        on:change=move |ev| to.set(event_target_value(&ev))/>
                </label>
                <a class="button-link secondary" data-test="fill-export" href=export download="">{tr("导出 Excel", "Export to Excel")}</a>
            </form>
            <Suspense fallback=|| view! { <p class="muted">{tr("加载中…", "Loading…")}</p> }>
                {move || report.get().map(|r| match r {
                    Ok(r) => {
                        if from.get_untracked().is_empty() {
                            from.set(r.from.to_string());
                        }
                        if to.get_untracked().is_empty() {
                            to.set(r.to.to_string());
                        }
                        view! { <FillRateView report=r/> }.into_any()
                    }
                    Err(e) => {
                        let at_field = ["from", "to"].iter().find_map(|f| field_error(&Some(e.clone()), f));
                        view! {
                            <ErrorNote error=Some(e)/>
                            {at_field.map(|m| view! { <p class="row-errors" data-test="fill-period-error">{m}</p> })}
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn FillRateView(report: FillRateReport) -> impl IntoView {
    let lang = state::lang().get_untracked();
    let total = report.total;
    let rows: Vec<BarRow> = report
        .by_week
        .iter()
        .map(|w| BarRow {
            label: w.week.format("%m-%d").to_string(),
            values: vec![
                w.demand.wanted as f64,
                w.demand.allowed as f64,
                w.demand.ordered as f64,
            ],
        })
        .collect();
    let series = vec![
        lang.pick("需求", "Wanted").to_string(),
        lang.pick("限量允许", "Allowed").to_string(),
        lang.pick("订货", "Ordered").to_string(),
    ];
    let title = lang.pick(
        "按周（周一起）：需求、限量允许、订货（条）",
        "By week (from Monday): wanted, allowed, ordered (cartons)",
    );
    view! {
        <div class="kpis" data-test="fill-totals">
            <div class="kpi"><span>{tr("需求（条）", "Wanted")}</span><strong data-test="fill-wanted">{total.wanted}</strong></div>
            <div class="kpi"><span>{tr("限量允许（条）", "Allowed")}</span><strong data-test="fill-allowed">{total.allowed}</strong></div>
            <div class="kpi"><span>{tr("订货（条）", "Ordered")}</span><strong data-test="fill-ordered">{total.ordered}</strong></div>
            <div class="kpi"><span>{tr("满足率", "Fill rate")}</span><strong data-test="fill-rate-total">{rate_text(&total)}</strong></div>
        </div>
        <h3>{title}</h3>
        <BarChart rows series label=title format=whole/>
        <h3>{tr("品规 × 档位（截减最多的在前）", "Spec × class (largest cut first)")}</h3>
        {if report.by_spec_class.is_empty() {
            view! { <p class="muted" data-test="fill-empty">{tr("该期间没有已确认的订单。", "No confirmed orders in this period.")}</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table class="figures" data-test="fill-table">
                        <thead><tr>
                            <th>{tr("品规", "Spec")}</th>
                            <th>{tr("档位", "Class")}</th>
                            <th class="num">{tr("需求", "Wanted")}</th>
                            <th class="num">{tr("限量允许", "Allowed")}</th>
                            <th class="num">{tr("订货", "Ordered")}</th>
                            <th class="num">{tr("截减", "Cut")}</th>
                            <th class="num">{tr("满足率", "Fill rate")}</th>
                            <th class="num">{tr("被截减零售户", "Retailers cut")}</th>
                        </tr></thead>
                        <tbody>
                            {report.by_spec_class.into_iter().map(|r| view! {
                                <tr data-test="fill-row">
                                    <td title=r.spec_code.clone()>{r.spec_name.clone()}</td>
                                    <td>{r.class_label.clone()}</td>
                                    <td class="num">{r.demand.wanted}</td>
                                    <td class="num">{r.demand.allowed}</td>
                                    <td class="num">{r.demand.ordered}</td>
                                    <td class="num">{r.demand.cut()}</td>
                                    <td class="num">{rate_text(&r.demand)}</td>
                                    <td class="num">{r.retailers_cut}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        }}
    }
}
