//! Sales and stock analysis (经营分析) of the reader's own part of the
//! company: charts first, each with its figures in a table underneath (for
//! screen readers and printing), every table as a workbook, and the sales
//! plans (set by the marketing center).

use domain::analysis::{
    read_plan_cases, share, Breakdown, PlanCell, PlanUpdate, PlansView, SalesAnalysis, SalesRow,
    StockAnalysis, PERIODS,
};
use domain::policy::op;
use domain::quantity::CaseSize;
use domain::{ErrorBody, Lang};
use leptos::prelude::*;

use crate::api::Narrow;
use crate::components::charts::{BarChart, BarRow, LineChart, Point};
use crate::components::error::{field_error, ErrorNote};
use crate::i18n::tr;
use crate::{api, state};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Sales,
    Stock,
    Plans,
}

fn may(access: domain::policy::Access) -> bool {
    state::session()
        .session
        .with_untracked(|s| s.as_ref().is_some_and(|s| access.permits(s.role)))
}

fn cases_text(size: CaseSize) -> impl Fn(i64) -> String {
    move |cartons| format!("{:.1}", size.cases(cartons))
}

fn growth_text(g: Option<f64>) -> String {
    g.map_or_else(|| "—".into(), |g| format!("{:+.1}%", g * 100.0))
}

fn wan_yuan(fen: i64) -> String {
    format!("{:.1}", fen as f64 / 100.0 / 10_000.0)
}

fn one_decimal(v: f64) -> String {
    format!("{v:.1}")
}

fn two_decimals(v: f64) -> String {
    format!("{v:.2}")
}

fn whole(v: f64) -> String {
    format!("{v:.0}")
}

#[component]
pub fn AnalysisPage() -> impl IntoView {
    let lang = state::lang();
    let tab = RwSignal::new(Tab::Sales);
    let narrow = RwSignal::new(Narrow::Whole);
    // Plans typed and not saved yet: leaving the tab asks first.
    let unsaved = RwSignal::new(false);
    let leave = move |to: Tab| {
        let lang = lang.get_untracked();
        if tab.get_untracked() == Tab::Plans && to != Tab::Plans && unsaved.get_untracked() {
            if !crate::components::confirm::confirm(lang.pick(
                "销售计划有未保存的修改，离开将丢失。确定离开？",
                "The plans have unsaved changes that will be lost. Leave?",
            )) {
                return;
            }
            unsaved.set(false);
        }
        tab.set(to);
    };
    let tab_button = move |t: Tab, zh: &'static str, en: &'static str, test: &'static str| {
        view! {
            <button type="button" role="tab" data-test=test
                class=move || if tab.get() == t { "tab active" } else { "tab" }
                aria-selected=move || (tab.get() == t).to_string()
                on:click=move |_| leave(t)>
                {move || lang.get().pick(zh, en)}
            </button>
        }
    };
    view! {
        <section class="analysis">
            <h1>{tr("经营分析", "Sales and stock analysis")}</h1>
            <div class="tabs" role="tablist">
                {tab_button(Tab::Sales, "销售分析", "Sales", "tab-sales")}
                {tab_button(Tab::Stock, "社会库存", "Stock", "tab-stock")}
                {may(op::PLANS_READ).then(|| tab_button(Tab::Plans, "销售计划", "Plans", "tab-plans"))}
            </div>
            {move || (narrow.get() != Narrow::Whole).then(|| view! {
                <p class="scope-bar">
                    <button type="button" class="link" data-test="narrow-back"
                        on:click=move |_| narrow.set(Narrow::Whole)>
                        {tr("← 返回全部范围", "← Back to the whole scope")}
                    </button>
                </p>
            })}
            {move || match tab.get() {
                Tab::Sales => view! { <SalesTab narrow/> }.into_any(),
                Tab::Stock => view! { <StockTab narrow/> }.into_any(),
                Tab::Plans => view! { <PlansTab unsaved/> }.into_any(),
            }}
        </section>
    }
}

/// Sets the narrowing from a row of a per-group table.
fn drill(breakdown: Option<Breakdown>, id: i64) -> Narrow {
    match breakdown {
        Some(Breakdown::Departments) => Narrow::Unit(id),
        Some(Breakdown::Managers) => Narrow::Manager(id),
        None => Narrow::Whole,
    }
}

/// This month in China time (`YYYY-MM`), from the browser's clock.
fn this_month() -> String {
    let now = js_sys::Date::new_0();
    let china = js_sys::Date::new(&(now.get_time() + 8.0 * 3_600_000.0).into());
    format!(
        "{:04}-{:02}",
        china.get_utc_full_year(),
        china.get_utc_month() + 1
    )
}

#[component]
fn SalesTab(narrow: RwSignal<Narrow>) -> impl IntoView {
    let lang = state::lang();
    let end = RwSignal::new(String::new());
    let months = RwSignal::new(domain::analysis::DEFAULT_PERIOD);
    let report = LocalResource::new(move || {
        let (end, months, narrow, lang) = (end.get(), months.get(), narrow.get(), lang.get());
        async move { api::sales_analysis(Some(end), months, narrow, lang).await }
    });
    let export = move || {
        api::analysis_export_url(
            "sales",
            Some(&end.get()),
            months.get(),
            narrow.get(),
            lang.get(),
        )
    };
    view! {
        <form class="filters" on:submit=|ev| ev.prevent_default()>
            <label>{tr("截至月份", "Up to month")}
                <input type="month" data-test="end-month" prop:value=move || end.get()
                    max=this_month()
                    on:change=move |ev| end.set(event_target_value(&ev))/>
            </label>
            <label>{tr("期间", "Period")}
                <select data-test="period" prop:value=move || months.get().to_string()
                    on:change=move |ev| months.set(event_target_value(&ev).parse().unwrap_or(3))>
                    {PERIODS.iter().map(|m| view! {
                        <option value=m.to_string()>{move || match (lang.get(), m) {
                            (Lang::Zh, _) => format!("{m} 个月"),
                            (Lang::En, 1) => "1 month".to_string(),
                            (Lang::En, _) => format!("{m} months"),
                        }}</option>
                    }).collect_view()}
                </select>
            </label>
            <a class="button" data-test="export-sales" href=export download="">{tr("导出 Excel", "Export to Excel")}</a>
        </form>
        <Suspense fallback=|| view! { <p class="muted">{tr("加载中…", "Loading…")}</p> }>
            {move || report.get().map(|r| match r {
                Ok(r) => {
                    if end.get_untracked().is_empty() {
                        end.set(r.end.to_string());
                    }
                    view! { <SalesView report=r narrow/> }.into_any()
                }
                Err(e) => view! { <ErrorNote error=Some(e)/> }.into_any(),
            })}
        </Suspense>
    }
}

/// A grouped bar chart of rows (this period and last year's) with the
/// figures in a table underneath.
#[component]
fn SalesRows(
    rows: Vec<SalesRow>,
    total: i64,
    size: CaseSize,
    /// Last year's period is fully loaded: growth means something.
    comparable: bool,
    #[prop(into)] title: String,
    test: &'static str,
    /// Rows link to a narrowing.
    #[prop(optional)]
    drill_to: Option<(Option<Breakdown>, RwSignal<Narrow>)>,
) -> impl IntoView {
    let lang = state::lang().get_untracked();
    let cases = cases_text(size);
    let chart: Vec<BarRow> = rows
        .iter()
        .take(15)
        .map(|r| BarRow {
            label: r.label.clone(),
            values: vec![size.cases(r.cartons), size.cases(r.last_year_cartons)],
        })
        .collect();
    let series = vec![
        lang.pick("本期（箱）", "This period (cases)").to_string(),
        lang.pick("同期（箱）", "Last year (cases)").to_string(),
    ];
    view! {
        <section class="panel" data-test=test>
            <h2>{title.clone()}</h2>
            <BarChart rows=chart series label=title format=one_decimal/>
            <table class="figures">
                <thead><tr>
                    <th>{tr("名称", "Name")}</th>
                    <th class="num">{tr("销量（箱）", "Cases")}</th>
                    <th class="num">{tr("同期（箱）", "Last year")}</th>
                    <th class="num">{tr("同比", "Growth")}</th>
                    <th class="num">{tr("销售额（万元）", "Value (10k yuan)")}</th>
                    <th class="num">{tr("占比", "Share")}</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        let g = r.growth().filter(|_| comparable);
                        let label = match drill_to {
                            Some((breakdown, narrow)) if breakdown.is_some() => {
                                let id = r.id;
                                view! {
                                    <button type="button" class="link" data-test="drill"
                                        on:click=move |_| narrow.set(drill(breakdown, id))>{r.label.clone()}</button>
                                }.into_any()
                            }
                            _ => view! { <span>{r.label.clone()}</span> }.into_any(),
                        };
                        view! {
                            <tr>
                                <td>{label}</td>
                                <td class="num">{cases(r.cartons)}</td>
                                <td class="num">{cases(r.last_year_cartons)}</td>
                                <td class=move || if g.unwrap_or(0.0) < 0.0 { "num down" } else { "num up" }>{growth_text(g)}</td>
                                <td class="num">{wan_yuan(r.value_fen)}</td>
                                <td class="num">{crate::format::percent(share(r.cartons, total))}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn SalesView(report: SalesAnalysis, narrow: RwSignal<Narrow>) -> impl IntoView {
    let lang = state::lang().get_untracked();
    let size = report.case_size;
    let cases = cases_text(size);
    let total = report.total.clone();
    let comparable = report.last_year_complete;
    let total_growth = total.growth().filter(|_| comparable);
    let per_case = if total.cartons > 0 {
        format!(
            "{:.0}",
            total.value_fen as f64 / 100.0 / size.cases(total.cartons)
        )
    } else {
        "—".into()
    };
    let monthly_rows: Vec<BarRow> = report
        .monthly
        .iter()
        .map(|m| {
            let mut values = vec![size.cases(m.cartons), size.cases(m.last_year_cartons)];
            if report.year_plan_cartons.is_some() {
                values.push(m.plan_cartons.map_or(0.0, |p| size.cases(p)));
            }
            BarRow {
                label: m.month.to_string(),
                values,
            }
        })
        .collect();
    let mut monthly_series = vec![
        lang.pick("销量（箱）", "Cases").to_string(),
        lang.pick("同期（箱）", "Last year").to_string(),
    ];
    if report.year_plan_cartons.is_some() {
        monthly_series.push(lang.pick("计划（箱）", "Plan").to_string());
    }
    let weekly_points: Vec<Point> = report
        .weekly
        .iter()
        .map(|w| Point {
            label: w.week.format("%m-%d").to_string(),
            value: size.cases(w.cartons),
            marked: false,
        })
        .collect();
    let risers: Vec<SalesRow> = report
        .brands
        .iter()
        .filter(|b| comparable && b.growth().is_some_and(|g| g > 0.0))
        .take(10)
        .cloned()
        .collect();
    let fallers: Vec<SalesRow> = report
        .brands
        .iter()
        .rev()
        .filter(|b| comparable && b.growth().is_some_and(|g| g < 0.0))
        .take(10)
        .cloned()
        .collect();
    let brands_up = report
        .brands
        .iter()
        .filter(|b| comparable && b.growth().is_some_and(|g| g > 0.0))
        .count();
    let period_label = match lang {
        Lang::Zh => format!("{} 个月，截至 {}", report.months, report.end),
        Lang::En => format!("{} months to {}", report.months, report.end),
    };
    let unit_title = match report.breakdown {
        Some(Breakdown::Managers) => lang.pick("客户经理", "Customer managers"),
        _ => lang.pick("市场部", "Departments"),
    };
    view! {
        <p class="scope-bar">
            <span class="muted">{tr("范围", "Scope")}</span>
            <strong data-test="scope-label">{report.scope_label.clone()}</strong>
            <span class="muted">{period_label}</span>
        </p>
        {(!comparable).then(|| view! {
            <p class="note" data-test="no-last-year">{match (lang, report.first) {
                (Lang::Zh, Some(f)) => format!("订货数据自 {f} 起，同期数据不完整，不计算同比。"),
                (Lang::En, Some(f)) => format!("Orders are loaded from {f}: last year's period is incomplete, so no growth is shown."),
                (Lang::Zh, None) => "尚无订货数据。".to_string(),
                (Lang::En, None) => "No orders loaded yet.".to_string(),
            }}</p>
        })}
        <div class="stats">
            <div class="stat" data-test="sales-cases">
                <span class="stat-label">{tr("销量（箱）", "Sales (cases)")}</span>
                <strong>{cases(total.cartons)}</strong>
                <span class="muted">{tr("同期", "Last year")}" "{cases(total.last_year_cartons)}" · "{growth_text(total_growth)}</span>
            </div>
            <div class="stat">
                <span class="stat-label">{tr("销售额（万元）", "Value (10k yuan)")}</span>
                <strong>{wan_yuan(total.value_fen)}</strong>
                <span class="muted">{tr("单箱均价（元）", "Per case (yuan)")}" "{per_case}</span>
            </div>
            {report.year_plan_cartons.map(|plan| view! {
                <div class="stat" data-test="plan-share">
                    <span class="stat-label">{tr("年度计划完成", "Of the year's plan")}</span>
                    <strong>{crate::format::percent(share(report.year_to_date_cartons, plan))}</strong>
                    <span class="muted">{cases(report.year_to_date_cartons)}" / "{cases(plan)}{tr(" 箱", " cases")}</span>
                </div>
            })}
            <div class="stat">
                <span class="stat-label">{tr("品牌增长", "Brands up")}</span>
                <strong>{if comparable { format!("{brands_up} / {}", report.brands.len()) } else { "—".into() }}</strong>
            </div>
        </div>
        <section class="panel" data-test="monthly">
            <h2>{tr("月度销量：本期、同期与计划", "Monthly sales against last year and plan")}</h2>
            <BarChart rows=monthly_rows series=monthly_series label=lang.pick("月度销量", "Monthly sales") format=one_decimal/>
            <table class="figures">
                <thead><tr>
                    <th>{tr("月份", "Month")}</th>
                    <th class="num">{tr("销量（箱）", "Cases")}</th>
                    <th class="num">{tr("同期（箱）", "Last year")}</th>
                    <th class="num">{tr("同比", "Growth")}</th>
                    <th class="num">{tr("计划（箱）", "Plan")}</th>
                    <th class="num">{tr("销售额（万元）", "Value (10k yuan)")}</th>
                </tr></thead>
                <tbody>
                    {report.monthly.iter().map(|m| view! {
                        <tr>
                            <td>{m.month.to_string()}</td>
                            <td class="num">{cases(m.cartons)}</td>
                            <td class="num">{cases(m.last_year_cartons)}</td>
                            <td class="num">{growth_text(domain::analysis::growth(m.cartons, m.last_year_cartons)
                                .filter(|_| report.first.is_some_and(|f| m.month.plus(-12) >= f)))}</td>
                            <td class="num">{m.plan_cartons.map_or_else(|| "—".into(), &cases)}</td>
                            <td class="num">{wan_yuan(m.value_fen)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        {(!report.weekly.is_empty()).then(|| view! {
            <section class="panel" data-test="weekly">
                <h2>{tr("周销量（网上配货订单，箱）", "Weekly sales (online orders, cases)")}</h2>
                <LineChart points=weekly_points label=lang.pick("周销量", "Weekly sales") format=one_decimal/>
                <table class="figures">
                    <thead><tr><th>{tr("周（自周一）", "Week from Monday")}</th><th class="num">{tr("销量（箱）", "Cases")}</th></tr></thead>
                    <tbody>
                        {report.weekly.iter().map(|w| view! {
                            <tr><td>{w.week.to_string()}</td><td class="num">{cases(w.cartons)}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        })}
        <div class="panels">
            <SalesRows rows=report.by_price_class.clone() total=total.cartons size comparable
                title=lang.pick("价类结构", "By price class") test="by-class"/>
            <SalesRows rows=report.by_price_band.clone() total=total.cartons size comparable
                title=lang.pick("价位段结构", "By price band") test="by-band"/>
        </div>
        {(!report.by_unit.is_empty()).then(|| view! {
            <SalesRows rows=report.by_unit.clone() total=total.cartons size comparable
                title=unit_title test="by-unit" drill_to=(report.breakdown, narrow)/>
        })}
        <div class="panels">
            <SalesRows rows=risers total=total.cartons size comparable
                title=lang.pick("增长最快的品牌", "Brands rising fastest") test="risers"/>
            <SalesRows rows=fallers total=total.cartons size comparable
                title=lang.pick("下降最多的品牌", "Brands falling most") test="fallers"/>
        </div>
        <SalesRows rows=report.specs.clone() total=total.cartons size comparable
            title=lang.pick("品规（按同比增长排序）", "Specs (by growth)") test="specs"/>
    }
}

#[component]
fn StockTab(narrow: RwSignal<Narrow>) -> impl IntoView {
    let lang = state::lang();
    let report = LocalResource::new(move || {
        let (narrow, lang) = (narrow.get(), lang.get());
        async move { api::stock_analysis(narrow, lang).await }
    });
    let export = move || api::stock_export_url(narrow.get(), lang.get());
    view! {
        <p class="filters">
            <a class="button" data-test="export-stock" href=export download="">{tr("导出 Excel", "Export to Excel")}</a>
        </p>
        <Suspense fallback=|| view! { <p class="muted">{tr("加载中…", "Loading…")}</p> }>
            {move || report.get().map(|r| match r {
                Ok(r) => view! { <StockView report=r narrow/> }.into_any(),
                Err(e) => view! { <ErrorNote error=Some(e)/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn StockView(report: StockAnalysis, narrow: RwSignal<Narrow>) -> impl IntoView {
    let lang = state::lang().get_untracked();
    let size = report.case_size;
    let cases = cases_text(size);
    let norm = report.norm;
    let above = report.specs.iter().filter(|s| s.above_norm).count();
    let ratio_rows: Vec<BarRow> = report
        .specs
        .iter()
        .filter(|s| s.ratio.is_some())
        .take(15)
        .map(|s| BarRow {
            label: s.name.clone(),
            values: vec![s.ratio.unwrap_or(0.0)],
        })
        .collect();
    let spread = |buckets: &[domain::analysis::Bucket]| -> Vec<BarRow> {
        buckets
            .iter()
            .map(|b| BarRow {
                label: b.label.clone(),
                values: vec![b.retailers as f64],
            })
            .collect()
    };
    let size_rows = spread(&report.by_stock_size);
    let breadth_rows = spread(&report.by_breadth);
    let retailers_series = vec![lang.pick("零售户数", "Retailers").to_string()];
    let unit_title = match report.breakdown {
        Some(Breakdown::Managers) => lang.pick("客户经理库存", "Stock by customer manager"),
        _ => lang.pick("市场部库存", "Stock by department"),
    };
    let ratio_text = |r: Option<f64>| r.map_or_else(|| "—".into(), two_decimals);
    let norm_text = two_decimals(norm);
    view! {
        <p class="scope-bar">
            <span class="muted">{tr("范围", "Scope")}</span>
            <strong data-test="scope-label">{report.scope_label.clone()}</strong>
            <span class="muted">{match (lang, report.sales_month) {
                (Lang::Zh, Some(m)) => format!("月销量取 {m}"),
                (Lang::En, Some(m)) => format!("Monthly sales of {m}"),
                (Lang::Zh, None) => "尚无订货数据".to_string(),
                (Lang::En, None) => "no orders loaded yet".to_string(),
            }}</span>
        </p>
        <div class="stats">
            <div class="stat" data-test="stock-cases">
                <span class="stat-label">{tr("社会库存（箱）", "Social stock (cases)")}</span>
                <strong>{cases(report.stock)}</strong>
            </div>
            <div class=if report.above_norm { "stat warn" } else { "stat" } data-test="stock-ratio">
                <span class="stat-label">{tr("月库存销比", "Stock-to-sales ratio")}</span>
                <strong>{ratio_text(report.ratio)}</strong>
                <span class="muted">{tr("上限", "norm")}" "{norm_text.clone()}</span>
            </div>
            <div class="stat">
                <span class="stat-label">{tr("记录库存的零售户", "Retailers recording stock")}</span>
                <strong>{report.retailers}</strong>
            </div>
            <div class="stat" data-test="above-count">
                <span class="stat-label">{tr("高于上限的品规", "Specs above the norm")}</span>
                <strong>{above}</strong>
            </div>
        </div>
        <section class="panel" data-test="ratios">
            <h2>{move || match lang {
                Lang::Zh => format!("月库存销比最高的品规（上限 {norm:.2}）"),
                Lang::En => format!("Highest stock-to-sales ratios (norm {norm:.2})"),
            }}</h2>
            <BarChart rows=ratio_rows series=vec![lang.pick("月库存销比", "Ratio").to_string()]
                label=lang.pick("月库存销比", "Stock-to-sales ratio") format=two_decimals/>
            <table class="figures" data-test="spec-stock">
                <thead><tr>
                    <th>{tr("品规", "Spec")}</th>
                    <th class="num">{tr("社会库存（条）", "Stock (cartons)")}</th>
                    <th class="num">{tr("月销量（条）", "Monthly sales")}</th>
                    <th class="num">{tr("月库存销比", "Ratio")}</th>
                    <th class="num">{tr("存货率", "Presence")}</th>
                    <th class="num">{tr("户均库存（条）", "Per retailer")}</th>
                </tr></thead>
                <tbody>
                    {report.specs.iter().map(|s| {
                        let flagged = s.above_norm;
                        view! {
                            <tr class=if flagged { "above-norm" } else { "" } data-test=if flagged { "above-norm" } else { "within-norm" }>
                                <td>{s.name.clone()}
                                    {flagged.then(|| view! { <span class="flag" title=lang.pick("高于库存销比上限", "Above the norm")>{match lang {
                                        Lang::Zh => format!(" 高于{norm:.1}"),
                                        Lang::En => format!(" above {norm:.1}"),
                                    }}</span> })}
                                </td>
                                <td class="num">{s.stock}</td>
                                <td class="num">{s.sales}</td>
                                <td class="num">{ratio_text(s.ratio)}</td>
                                <td class="num">{crate::format::percent(s.presence)}</td>
                                <td class="num">{format!("{:.2}", s.per_retailer)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        {(!report.units.is_empty()).then(|| {
            let breakdown = report.breakdown;
            view! {
                <section class="panel" data-test="unit-stock">
                    <h2>{unit_title}</h2>
                    <table class="figures">
                        <thead><tr>
                            <th>{tr("名称", "Name")}</th>
                            <th class="num">{tr("社会库存（箱）", "Stock (cases)")}</th>
                            <th class="num">{tr("月销量（箱）", "Monthly sales (cases)")}</th>
                            <th class="num">{tr("月库存销比", "Ratio")}</th>
                            <th class="num">{tr("零售户", "Retailers")}</th>
                        </tr></thead>
                        <tbody>
                            {report.units.iter().map(|u| {
                                let id = u.id;
                                view! {
                                    <tr class=if u.above_norm { "above-norm" } else { "" }>
                                        <td><button type="button" class="link" data-test="drill"
                                            on:click=move |_| narrow.set(drill(breakdown, id))>{u.label.clone()}</button></td>
                                        <td class="num">{cases(u.stock)}</td>
                                        <td class="num">{cases(u.sales)}</td>
                                        <td class="num">{ratio_text(u.ratio)}</td>
                                        <td class="num">{u.retailers}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
            }
        })}
        <div class="panels">
            <section class="panel" data-test="by-size">
                <h2>{tr("零售户按库存量分布（条）", "Retailers by stock size (cartons)")}</h2>
                <BarChart rows=size_rows series=retailers_series.clone() label=lang.pick("按库存量分布", "By stock size") format=whole/>
                <BucketTable buckets=report.by_stock_size.clone() retailers=report.retailers/>
            </section>
            <section class="panel" data-test="by-breadth">
                <h2>{tr("零售户按在库品规数分布", "Retailers by specs held")}</h2>
                <BarChart rows=breadth_rows series=retailers_series label=lang.pick("按品规数分布", "By breadth") format=whole/>
                <BucketTable buckets=report.by_breadth.clone() retailers=report.retailers/>
            </section>
        </div>
    }
}

#[component]
fn BucketTable(buckets: Vec<domain::analysis::Bucket>, retailers: i64) -> impl IntoView {
    view! {
        <table class="figures">
            <thead><tr><th>{tr("区间", "Range")}</th><th class="num">{tr("零售户", "Retailers")}</th><th class="num">{tr("占比", "Share")}</th></tr></thead>
            <tbody>
                {buckets.into_iter().map(|b| view! {
                    <tr><td>{b.label}</td><td class="num">{b.retailers}</td>
                        <td class="num">{crate::format::percent(share(b.retailers, retailers))}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The plans grid: departments × 12 months in cases; the marketing center
/// edits it (a block copied from a spreadsheet pastes from the cell).
#[component]
fn PlansTab(unsaved: RwSignal<bool>) -> impl IntoView {
    let lang = state::lang();
    // China time: the browser's clock, at UTC+8.
    let now = js_sys::Date::new_0();
    let this_year =
        js_sys::Date::new(&(now.get_time() + 8.0 * 3_600_000.0).into()).get_utc_full_year() as i32;
    let year = RwSignal::new(this_year);
    let editable = may(op::PLANS_CHANGE);
    let view_of = LocalResource::new(move || {
        let (year, lang) = (year.get(), lang.get());
        async move { api::plans(year, lang).await }
    });
    view! {
        <form class="filters" on:submit=|ev| ev.prevent_default()>
            <label>{tr("年度", "Year")}
                <input type="number" data-test="plan-year" min="2000" max="2100" prop:value=move || year.get().to_string()
                    on:change=move |ev| {
                        if let Ok(y) = event_target_value(&ev).parse() {
                            let ask = lang.get_untracked().pick(
                                "销售计划有未保存的修改，换年度将丢失。确定？",
                                "The plans have unsaved changes that will be lost. Change the year?",
                            );
                            if !unsaved.get_untracked() || crate::components::confirm::confirm(ask) {
                                unsaved.set(false);
                                year.set(y);
                            }
                        }
                    }/>
            </label>
        </form>
        <Suspense fallback=|| view! { <p class="muted">{tr("加载中…", "Loading…")}</p> }>
            {move || view_of.get().map(|r| match r {
                Ok(v) => view! { <PlansGrid plans=v editable unsaved/> }.into_any(),
                Err(e) => view! { <ErrorNote error=Some(e)/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn PlansGrid(plans: PlansView, editable: bool, unsaved: RwSignal<bool>) -> impl IntoView {
    let lang = state::lang();
    let size = plans.case_size;
    let year = plans.year;
    let units = plans.units.clone();
    // Cases as typed, per (unit row, month).
    let cells: Vec<Vec<RwSignal<String>>> = units
        .iter()
        .map(|u| {
            (1..=12)
                .map(|m| {
                    let v = plans
                        .cells
                        .iter()
                        .find(|c| c.unit_id == u.unit_id && c.month == m)
                        .map(|c| format!("{}", size.cases(c.cartons)))
                        .unwrap_or_default();
                    RwSignal::new(v)
                })
                .collect()
        })
        .collect();
    let error = RwSignal::new(None::<ErrorBody>);
    let saved = RwSignal::new(false);
    let grid = StoredValue::new(cells.clone());
    let unit_ids: Vec<i64> = units.iter().map(|u| u.unit_id).collect();
    let unit_ids = StoredValue::new(unit_ids);
    let unit_names = StoredValue::new(units.iter().map(|u| u.name.clone()).collect::<Vec<_>>());
    let no_units = units.is_empty();
    let no_plans = plans.cells.is_empty();
    let save = Action::new_local(move |update: &PlanUpdate| {
        let update = update.clone();
        async move {
            let csrf = state::session().csrf();
            api::set_plans(&update, &csrf, lang.get_untracked()).await
        }
    });
    Effect::new(move |_| {
        if let Some(result) = save.value().get() {
            match result {
                Ok(_) => {
                    error.set(None);
                    saved.set(true);
                    unsaved.set(false);
                }
                Err(e) => error.set(Some(e)),
            }
        }
    });
    let submit = move |_| {
        saved.set(false);
        let mut plans = Vec::new();
        let mut bad = Vec::new();
        grid.with_value(|rows| {
            for (r, row) in rows.iter().enumerate() {
                for (m, cell) in row.iter().enumerate() {
                    let text = cell.get_untracked();
                    let text = text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    let lang = lang.get_untracked();
                    match read_plan_cases(text, size) {
                        Ok(cartons) => plans.push(PlanCell {
                            unit_id: unit_ids.with_value(|u| u[r]),
                            month: m as u32 + 1,
                            cartons,
                        }),
                        Err(e) => {
                            let name = unit_names.with_value(|n| n[r].clone());
                            let at = match lang {
                                Lang::Zh => format!("{name} {}月", m + 1),
                                Lang::En => format!("{name}, month {}", m + 1),
                            };
                            bad.push((
                                format!("plans.{r}.{m}"),
                                format!("{at}: {}", e.message(lang)),
                            ));
                        }
                    }
                }
            }
        });
        if !bad.is_empty() {
            let lang = lang.get_untracked();
            let listed = bad.iter().map(|b| b.1.as_str()).collect::<Vec<_>>();
            let mut body = ErrorBody::new(
                domain::ErrorCode::Validation,
                match lang {
                    Lang::Zh => format!("{} 处计划有误，未保存：{}", bad.len(), listed.join("；")),
                    Lang::En => format!(
                        "{} plans are not valid; nothing was saved: {}",
                        bad.len(),
                        listed.join("; ")
                    ),
                },
            );
            for (key, message) in bad {
                body = body.with_field(key, message);
            }
            error.set(Some(body));
            return;
        }
        save.dispatch(PlanUpdate { year, plans });
    };
    // A block pasted from a spreadsheet fills from the cell rightwards and down.
    let paste = move |r: usize, m: usize, ev: web_sys::ClipboardEvent| {
        let Some(text) = ev
            .clipboard_data()
            .and_then(|d| d.get_data("text/plain").ok())
        else {
            return;
        };
        if !text.contains('\t') && !text.trim_end().contains('\n') {
            return;
        }
        ev.prevent_default();
        unsaved.set(true);
        saved.set(false);
        grid.with_value(|rows| {
            for (dr, line) in text.trim_end().lines().enumerate() {
                for (dm, value) in line.split('\t').enumerate() {
                    if let Some(cell) = rows.get(r + dr).and_then(|row| row.get(m + dm)) {
                        cell.set(value.trim().to_string());
                    }
                }
            }
        });
    };
    view! {
        <section class="panel" data-test="plans">
            <h2>{move || match lang.get() {
                Lang::Zh => format!("{year} 年销售计划（箱）"),
                Lang::En => format!("Sales plans {year} (cases)"),
            }}</h2>
            {no_units.then(|| view! { <p class="muted">{tr("您的范围内没有市场部。", "There is no market department in your scope.")}</p> })}
            {(!no_units && no_plans && !editable).then(|| view! { <p class="muted" data-test="no-plans">{tr("本年度尚未制定计划。", "No plans set for this year yet.")}</p> })}
            <div class="table-scroll">
            <table class="figures plans">
                <thead><tr>
                    <th>{tr("市场部", "Department")}</th>
                    {(1..=12).map(|m| view! { <th class="num">{move || match lang.get() {
                        Lang::Zh => format!("{m}月"),
                        Lang::En => format!("M{m}"),
                    }}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {units.iter().zip(cells).enumerate().map(|(r, (u, row))| view! {
                        <tr>
                            <th scope="row">{u.name.clone()}<span class="muted">{format!(" {}", u.parent)}</span></th>
                            {row.into_iter().enumerate().map(|(m, cell)| {
                                let key = format!("plans.{r}.{m}");
                                let invalid = move || error.with(|e| field_error(e, &key).is_some());
                                view! {
                                    <td>{if editable {
                                        view! {
                                            <input class="cell" inputmode="decimal" data-test="plan-cell"
                                                aria-label=format!("{} {}", u.name, m + 1)
                                                class:invalid=invalid
                                                prop:value=move || cell.get()
                                                on:input=move |ev| {
                                                    cell.set(event_target_value(&ev));
                                                    unsaved.set(true);
                                                    saved.set(false);
                                                }
                                                on:paste=move |ev| paste(r, m, ev)/>
                                        }.into_any()
                                    } else {
                                        view! { <span class="num">{move || cell.get()}</span> }.into_any()
                                    }}</td>
                                }
                            }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
            {editable.then(|| view! {
                <p class="actions">
                    <button type="button" data-test="save-plans" on:click=submit
                        disabled=move || save.pending().get()>{tr("保存计划", "Save plans")}</button>
                    {move || saved.get().then(|| view! { <span class="ok" data-test="plans-saved">{tr("已保存", "Saved")}</span> })}
                    {move || unsaved.get().then(|| view! { <span class="muted" data-test="plans-unsaved">{tr("有未保存的修改", "Unsaved changes")}</span> })}
                </p>
            })}
            <ErrorNote error=error/>
        </section>
    }
}
