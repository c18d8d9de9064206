//! The dashboard of a cycle (progress, totals, charts, deviations, export)
//! and forecast accuracy (actual orders loaded, accuracy per spec,
//! department, manager, retailer and line, and over months). Every staff
//! level reads them over its own part of the company, named in the header,
//! and may narrow them to one of its departments or customer managers.

use domain::forecast::review::{AccuracySums, Compared};
use domain::forecast::view::{AccuracyReport, AccuracyRow, SheetStatus, TotalRow};
use domain::forecast::Scope;
use domain::policy::{op, Access};
use domain::{ErrorBody, Lang, Role};
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::Narrow;
use crate::components::charts::{BarChart, BarRow, LineChart, Point};
use crate::components::error::ErrorNote;
use crate::i18n::tr;
use crate::{api, routes, state};

fn cycle_param() -> impl Fn() -> i64 + Copy {
    let params = use_params_map();
    move || {
        params
            .with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()))
            .unwrap_or(0)
    }
}

fn whole(v: f64) -> String {
    format!("{v:.0}")
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), crate::format::percent)
}

fn percent_of(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// Change against a reference, as a signed percentage.
fn change(now: i64, before: i64) -> String {
    if before == 0 {
        "—".into()
    } else {
        format!("{:+.1}%", (now - before) as f64 * 100.0 / before as f64)
    }
}

/// Whether the signed-in user's role may call `access`.
fn may(access: Access) -> bool {
    state::session()
        .session
        .with_untracked(|s| s.as_ref().is_some_and(|s| access.permits(s.role)))
}

/// What a report may be narrowed to: the departments and customer managers
/// of the reader's whole reach, kept from the report before any narrowing.
#[derive(Debug, Clone, Default, PartialEq)]
struct Choices {
    departments: Vec<(i64, String)>,
    managers: Vec<(i64, String)>,
}

impl Choices {
    fn of(departments: &[(i64, String)], managers: &[(i64, String)]) -> Choices {
        Choices {
            departments: departments.to_vec(),
            managers: managers.to_vec(),
        }
    }

    /// Worth a select: more than one manager to choose from.
    fn any(&self) -> bool {
        self.managers.len() > 1
    }
}

/// The value of a narrowing in the select.
fn narrow_value(narrow: Narrow) -> String {
    match narrow {
        Narrow::Whole => String::new(),
        Narrow::Unit(id) => format!("u{id}"),
        Narrow::Manager(id) => format!("m{id}"),
    }
}

fn narrow_of(value: &str) -> Narrow {
    let id = |v: &str| v.parse::<i64>().ok();
    match value.split_at_checked(1) {
        Some(("u", v)) => id(v).map_or(Narrow::Whole, Narrow::Unit),
        Some(("m", v)) => id(v).map_or(Narrow::Whole, Narrow::Manager),
        _ => Narrow::Whole,
    }
}

/// Whose figures a report shows, and a select to narrow them to one of the
/// departments or customer managers in view.
#[component]
fn ScopeBar(
    /// 城关市场部, 张三（客户经理）, 全公司: from the report.
    label: Signal<Option<String>>,
    narrow: RwSignal<Narrow>,
    choices: Signal<Choices>,
) -> impl IntoView {
    let lang = state::lang();
    view! {
        <p class="scope-bar">
            <span class="muted">{tr("范围", "Scope")}</span>
            <strong data-test="scope-label">{move || label.get().unwrap_or_default()}</strong>
            {move || choices.get().any().then(|| {
                let c = choices.get();
                view! {
                    <select data-test="narrow" aria-label=move || lang.get().pick("缩小范围", "Narrow down")
                        prop:value=move || narrow_value(narrow.get())
                        on:change=move |ev| narrow.set(narrow_of(&event_target_value(&ev)))>
                        <option value="">{tr("全部", "All")}</option>
                        {(c.departments.len() > 1).then(|| view! {
                            <optgroup label=move || lang.get().pick("市场部", "Departments")>
                                {c.departments.iter().map(|(id, name)| view! {
                                    <option value=format!("u{id}")>{name.clone()}</option>
                                }).collect_view()}
                            </optgroup>
                        })}
                        <optgroup label=move || lang.get().pick("客户经理", "Customer managers")>
                            {c.managers.iter().map(|(id, name)| view! {
                                <option value=format!("m{id}")>{name.clone()}</option>
                            }).collect_view()}
                        </optgroup>
                    </select>
                }
            })}
        </p>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Spec,
    Department,
    Manager,
    Tier,
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let lang = state::lang();
    let cycle_id = cycle_param();
    let group = RwSignal::new(Group::Spec);
    let scaled = RwSignal::new(true);
    let narrow = RwSignal::new(Narrow::Whole);
    let loaded = LocalResource::new(move || {
        let (id, narrow) = (cycle_id(), narrow.get());
        async move { api::dashboard(id, narrow, lang.get_untracked()).await }
    });
    let data = Signal::derive(move || loaded.get().and_then(Result::ok));
    let error = Signal::derive(move || loaded.get().and_then(Result::err));
    let choices = RwSignal::new(Choices::default());
    Effect::new(move |_| {
        if narrow.get_untracked() == Narrow::Whole {
            if let Some(d) = data.get() {
                let pairs = |rows: &[TotalRow]| -> Vec<(i64, String)> {
                    rows.iter().map(|r| (r.id, r.label.clone())).collect()
                };
                choices.set(Choices::of(&pairs(&d.by_department), &pairs(&d.by_manager)));
            }
        }
    });
    let label = Signal::derive(move || data.with(|d| d.as_ref().map(|d| d.scope_label.clone())));
    // Reviews and the export are for those who may open them.
    let reviewer = may(op::REVIEW_SHEET);
    let exporter = may(op::EXPORT_APPROVED);
    view! {
        <p><A href=routes::FORECAST>{tr("← 需求预测", "← Forecasts")}</A></p>
        <ErrorNote error=error/>
        {move || data.get().map(|d| {
            let sample = d.cycle.scope == Scope::Sample;
            let factor = if sample { d.cycle.scale_factor } else { 1.0 };
            let case = d.case_size;
            let scale = move |v: i64| if scaled.get() { (v as f64 * factor).round() as i64 } else { v };
            let cases = move |v: i64| format!("{:.1}", case.cases(v));
            let late = d.progress.iter().filter(|p| p.late).count();
            let counts = [
                (SheetStatus::NotStarted, tr("未开始", "Not started")),
                (SheetStatus::Draft, tr("草稿", "Draft")),
                (SheetStatus::Submitted, tr("审核中", "In review")),
                (SheetStatus::Returned, tr("已退回", "Returned")),
                (SheetStatus::Approved, tr("已审批", "Approved")),
            ].map(|(s, label)| (label, d.progress.iter().filter(|p| p.status == s).count()));
            let total = d.total.clone();
            let spec_rows: Vec<BarRow> = d.by_spec.iter().filter(|r| r.lines > 0).take(15).map(|r| BarRow {
                label: r.label.clone(),
                values: vec![scale(r.forecast) as f64, scale(r.last_month) as f64],
            }).collect();
            let mut trend: Vec<Point> = d.trend.iter().map(|t| Point { label: t.month.to_string(), value: t.cartons as f64, marked: false }).collect();
            trend.push(Point { label: d.cycle.month.to_string(), value: (total.forecast as f64 * factor).round(), marked: true });
            let month = d.cycle.month.to_string();
            let id = d.cycle.id;
            let (population, in_scope) = (d.cycle.population, d.cycle.retailers);
            let progress = d.progress.clone();
            let deviations = d.deviations.clone();
            let groups = (d.by_spec.clone(), d.by_department.clone(), d.by_manager.clone(), d.by_tier.clone());
            let rows = move || {
                let list = match group.get() {
                    Group::Spec => groups.0.clone(),
                    Group::Department => groups.1.clone(),
                    Group::Manager => groups.2.clone(),
                    Group::Tier => groups.3.clone(),
                };
                list.into_iter().map(|r| view! { <TotalLine row=r scale=scale cases=cases/> }).collect_view()
            };
            view! {
                <h2>{move || format!("{} {month}", lang.get().pick("预测看板", "Forecast dashboard"))}</h2>
                <ScopeBar label=label narrow=narrow choices=choices.into()/>
                {sample.then(|| view! {
                    <p class="note" data-test="scale-note">
                        {move || format!("{} ×{factor:.2}（{} {} / {} {}）", lang.get().pick("1/3样本，汇总按放大系数推算全体", "One-third sample; totals scaled to all retailers by"),
                            population, lang.get().pick("户", "retailers"), in_scope, lang.get().pick("户样本", "sampled"))}
                        <label class="check"><input type="checkbox" prop:checked=move || scaled.get() on:change=move |ev| scaled.set(event_target_checked(&ev))/>{tr("按放大系数推算", "Scale up")}</label>
                    </p>
                })}
                <section class="kpis">
                    <div class="kpi"><span>{tr("预测量（箱）", "Forecast (cases)")}</span><strong data-test="total-forecast">{move || cases(scale(total.forecast))}</strong>
                        <small>{move || format!("{} {}", scale(total.forecast), lang.get().pick("条", "cartons"))}</small></div>
                    <div class="kpi"><span>{tr("已审批（条）", "Approved (cartons)")}</span><strong data-test="total-approved">{move || scale(total.approved)}</strong></div>
                    <div class="kpi"><span>{tr("比上月", "vs last month")}</span><strong>{change(total.forecast, total.last_month)}</strong></div>
                    <div class="kpi"><span>{tr("比去年同月", "vs last year")}</span><strong>{change(total.forecast, total.last_year)}</strong></div>
                    <div class="kpi"><span>{tr("比系统基线", "vs baseline")}</span><strong>{change(total.forecast, total.baseline)}</strong></div>
                </section>
                <section class="card">
                    <h3>{tr("填报进度", "Progress")}</h3>
                    <p class="chips">{counts.into_iter().map(|(label, n)| view! { <span class="chip">{move || format!("{} {n}", label())}</span> }).collect_view()}
                        {(late > 0).then(|| view! { <span class="chip late" data-test="late-count">{move || format!("{} {late}", lang.get().pick("逾期", "late"))}</span> })}</p>
                    <div class="table-scroll">
                        <table class="progress-table" data-test="dashboard-progress">
                            <thead><tr><th>{tr("市场部", "Dept.")}</th><th>{tr("客户经理", "Manager")}</th><th>{tr("状态", "Stage")}</th><th>{tr("已填", "Filled")}</th><th></th></tr></thead>
                            <tbody>
                                {progress.iter().map(|p| view! {
                                    <tr class:late=p.late>
                                        <td>{p.unit_name.clone()}</td><td>{p.manager_name.clone()}</td>
                                        <td>{p.stage.clone()}{p.late.then(|| view! { <span class="chip late">{tr("逾期", "Late")}</span> })}</td>
                                        <td>{format!("{}/{}", p.filled, p.cells)}</td>
                                        <td>{(reviewer && p.status != SheetStatus::NotStarted && p.status != SheetStatus::Draft).then(|| view! {
                                            <A href=routes::review_of(p.sheet_id)>{tr("查看", "Open")}</A> })}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </section>
                <section class="card charts">
                    <div>
                        <h3>{tr("各品规预测量与上月实际（条）", "Forecast and last month by spec (cartons)")}</h3>
                        {move || view! { <BarChart rows=spec_rows.clone() label=lang.get().pick("各品规预测量", "Forecast by spec")
                            series=vec![lang.get().pick("预测", "Forecast").to_string(), lang.get().pick("上月实际", "Last month").to_string()] format=whole/> }}
                    </div>
                    <div>
                        <h3>{tr("近12个月订货量与本期预测（条）", "Orders over 12 months and this forecast (cartons)")}</h3>
                        {move || view! { <LineChart points=trend.clone() label=lang.get().pick("近12个月趋势", "12-month trend") format=whole/> }}
                    </div>
                </section>
                <section class="card">
                    <h3>{tr("汇总", "Totals")}</h3>
                    <div class="tabs">
                        {[(Group::Spec, tr("按品规", "By spec")), (Group::Department, tr("按市场部", "By department")),
                          (Group::Manager, tr("按客户经理", "By manager")), (Group::Tier, tr("按档位", "By class"))].into_iter().map(|(g, label)| view! {
                            <button type="button" class:active=move || group.get() == g on:click=move |_| group.set(g)>{label}</button>
                        }).collect_view()}
                    </div>
                    <div class="table-scroll">
                        <table class="totals" data-test="totals">
                            <thead><tr><th></th><th>{tr("预测（条）", "Forecast")}</th><th>{tr("箱", "Cases")}</th><th>{tr("已审批", "Approved")}</th>
                                <th>{tr("上月", "Last month")}</th><th>{tr("去年同月", "Last year")}</th><th>{tr("基线", "Baseline")}</th><th>{tr("比基线", "vs baseline")}</th></tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                </section>
                <section class="card">
                    <h3>{tr("偏离基线最大的行", "Largest deviations from the baseline")}</h3>
                    <table class="totals" data-test="deviations">
                        <thead><tr><th>{tr("零售户", "Retailer")}</th><th>{tr("品规", "Spec")}</th><th>{tr("客户经理", "Manager")}</th><th>{tr("预测", "Forecast")}</th><th>{tr("基线", "Baseline")}</th></tr></thead>
                        <tbody>
                            {deviations.into_iter().map(|l| {
                                let name = l.retailer_name.clone();
                                view! {
                                <tr>
                                    <td>{if reviewer {
                                        view! { <A href=format!("{}?q={}", routes::review_of(l.sheet_id), l.licence_no)>{name}</A> }.into_any()
                                    } else {
                                        name.into_any()
                                    }}</td>
                                    <td>{l.spec_name.clone()}</td><td>{l.manager_name.clone()}</td><td>{l.value}</td><td>{l.baseline}</td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                </section>
                {exporter.then(|| view! { <section class="card">
                    <h3>{tr("导出审批后的预测", "Export the approved forecast")}</h3>
                    <p class="actions">
                        // `download`: a file, not a page of this app (the router leaves it alone).
                        <a class="button-link" data-test="export-xlsx" download=""
                            href=move || api::approved_export_url(id, "format=xlsx", lang.get())>{tr("Excel（零售户×品规、品规汇总）", "Excel (retailer × spec, spec totals)")}</a>
                        <a class="button-link secondary" data-test="export-csv-lines" download=""
                            href=move || api::approved_export_url(id, "format=csv&kind=lines", lang.get())>{tr("CSV 明细", "CSV lines")}</a>
                        <a class="button-link secondary" data-test="export-csv-specs" download=""
                            href=move || api::approved_export_url(id, "format=csv&kind=specs", lang.get())>{tr("CSV 品规汇总", "CSV spec totals")}</a>
                    </p>
                </section> })}
                <p class="actions"><A href=routes::accuracy_of(id) attr:class="button-link secondary" attr:data-test="dashboard-accuracy">{tr("预测准确率", "Accuracy")}</A></p>
            }
        })}
    }
}

#[component]
fn TotalLine(
    row: TotalRow,
    scale: impl Fn(i64) -> i64 + Copy + Send + Sync + 'static,
    cases: impl Fn(i64) -> String + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <tr>
            <th>{row.label.clone()}</th>
            <td>{move || scale(row.forecast)}</td>
            <td>{move || cases(scale(row.forecast))}</td>
            <td>{move || scale(row.approved)}</td>
            <td>{move || scale(row.last_month)}</td>
            <td>{move || scale(row.last_year)}</td>
            <td>{move || scale(row.baseline)}</td>
            <td>{change(row.forecast, row.baseline)}</td>
        </tr>
    }
}

#[component]
pub fn AccuracyPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let cycle_id = cycle_param();
    let report = RwSignal::new(None::<AccuracyReport>);
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);
    let narrow = RwSignal::new(Narrow::Whole);
    let retailer = RwSignal::new(None::<i64>);
    // Fetched again when the report is narrowed or a retailer is picked,
    // and after an import.
    let loaded = LocalResource::new(move || {
        let (id, narrow, retailer) = (cycle_id(), narrow.get(), retailer.get());
        async move { api::accuracy(id, narrow, retailer, lang.get_untracked()).await }
    });
    let choices = RwSignal::new(Choices::default());
    // Kept in a signal of its own so that a failed reload leaves the report
    // on screen beside the error.
    Effect::new(move |_| match loaded.get() {
        Some(Ok(r)) => {
            if narrow.get_untracked() == Narrow::Whole {
                let pairs = |rows: &[AccuracyRow]| -> Vec<(i64, String)> {
                    rows.iter().map(|r| (r.id, r.label.clone())).collect()
                };
                choices.set(Choices::of(&pairs(&r.by_department), &pairs(&r.by_manager)));
            }
            report.set(Some(r));
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let label = Signal::derive(move || report.with(|r| r.as_ref().map(|r| r.scope_label.clone())));
    let me = session
        .session
        .with_untracked(|s| s.as_ref().map(|s| (s.user_id, s.role)));
    let importer = may(op::IMPORT_ACTUALS);
    // A `File` is not `Send`: the import is an action local to this thread.
    let import = Action::new_unsync_local(
        move |(file, month, csrf): &(web_sys::File, String, String)| {
            let (file, month, csrf) = (file.clone(), month.clone(), csrf.clone());
            async move {
                let lang = lang.get_untracked();
                // A file the browser cannot read is dropped without a word.
                let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
                    .await
                    .ok()?;
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                Some((api::import_actuals(&month, bytes, &csrf, lang).await, lang))
            }
        },
    );
    Effect::new(move |_| match import.value().get() {
        Some(Some((Ok(r), lang))) => {
            notice.set(Some(match lang {
                Lang::Zh => format!(
                    "已导入 {} 的实际订货 {} 行，共 {} 条",
                    r.month, r.rows, r.cartons
                ),
                Lang::En => format!(
                    "Loaded {} rows of {} ({} cartons)",
                    r.rows, r.month, r.cartons
                ),
            }));
            loaded.refetch();
        }
        Some(Some((Err(e), _))) => error.set(Some(e)),
        Some(None) | None => {}
    });
    let loading = import.pending();
    let file_input = NodeRef::<html::Input>::new();
    let upload = move |_| {
        let Some(input) = file_input.get_untracked() else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        let Some(month) = report.with_untracked(|r| r.as_ref().map(|r| r.cycle.month.to_string()))
        else {
            return;
        };
        input.set_value("");
        error.set(None);
        import.dispatch_local((file, month, session.csrf()));
    };
    view! {
        <p><A href=routes::FORECAST>{tr("← 需求预测", "← Forecasts")}</A></p>
        <h2>{move || format!("{} {}", lang.get().pick("预测准确率", "Forecast accuracy"),
            report.with(|r| r.as_ref().map(|r| r.cycle.month.to_string()).unwrap_or_default()))}</h2>
        <ScopeBar label=label narrow=narrow choices=choices.into()/>
        <p class="formula" data-test="formula">{tr(
            "准确率 = max(0, 1 − Σ|F − A| / ΣA)，F 为预测量，A 为实际订货量（条）；单行相对误差 = |F − A| / A。",
            "Accuracy = max(0, 1 − Σ|F − A| / ΣA), F the forecast and A the actual orders (cartons); per-line relative error = |F − A| / A.")}</p>
        {importer.then(|| view! { <section class="card">
            <h3>{tr("导入实际订货", "Load actual orders")}</h3>
            <p class="muted">{tr("CSV 或 Excel，三列：许可证号、品规编码、条数；可有标题行。有错误时不导入任何数据。",
                "CSV or Excel with three columns: licence number, spec code, cartons; a header row is allowed. With any error nothing is loaded.")}</p>
            <input type="file" accept=".csv,.xlsx" node_ref=file_input data-test="actuals-file" on:change=upload disabled=move || loading.get()/>
            {move || loading.get().then(|| view! { <span class="muted">{tr("正在导入…", "Loading…")}</span> })}
            {move || notice.get().map(|n| view! { <p class="note" data-test="actuals-loaded">{n}</p> })}
            <ErrorNote error=error/>
            {move || error.get().filter(|e| !e.fields.is_empty()).map(|e| view! {
                <ul class="row-errors" data-test="actuals-errors">
                    {e.fields.into_iter().map(|(f, m)| view! {
                        <li>{format!("{}：{}", f.replace("rows.", lang.get_untracked().pick("第 ", "line ")) + lang.get_untracked().pick(" 行", ""), m.join("；"))}</li>
                    }).collect_view()}
                </ul>
            })}
        </section> })}
        // The import's errors show beside it; others here.
        {(!importer).then(|| view! { <ErrorNote error=error/> })}
        {move || report.get().map(|r| if !r.has_actuals || r.total.lines == 0 {
            view! { <p class="muted" data-test="no-actuals">{tr("尚无可计算的数据：需要营销中心审批后的预测和该月的实际订货。",
                "Nothing to measure yet: this needs approved forecasts and the month's actual orders.")}</p> }.into_any()
        } else {
            let total = r.total;
            let closest = total.closest();
            let trend: Vec<Point> = r.trend.iter().map(|p| Point { label: p.month.to_string(), value: p.sums.accuracy(Compared::Approved).unwrap_or(0.0), marked: false }).collect();
            let managers = r.by_manager.clone();
            let ranked = r.ranked;
            // One manager in view (a customer manager's own report, or one
            // narrowed to a manager): their place in the company, up front.
            let single = (r.by_manager.len() == 1).then(|| r.by_manager[0].clone());
            let mine = single.as_ref().is_some_and(|m| me == Some((m.id, Role::CustomerManager)));
            view! {
                {single.map(|m| {
                    let (name, place, accuracy) = (m.label, m.rank, m.sums.accuracy(Compared::Approved));
                    view! {
                    <section class="kpis rank-card">
                        <div class="kpi best">
                            <span>{move || if mine { lang.get().pick("我的准确率排名", "My accuracy rank").to_string() } else {
                                format!("{name} {}", lang.get().pick("的准确率排名", "— accuracy rank"))
                            }}</span>
                            <strong data-test="my-rank">{move || match (place, lang.get()) {
                                (Some(place), Lang::Zh) => format!("第 {place} 名 / 共 {ranked} 名"),
                                (Some(place), Lang::En) => format!("No. {place} of {ranked}"),
                                (None, l) => l.pick("未排名（无实际订货）", "Not ranked (no actual orders)").to_string(),
                            }}</strong>
                            <small>{move || format!("{} {}", lang.get().pick("准确率", "Accuracy"), percent(accuracy))}</small>
                        </div>
                    </section>
                }})}
                <section class="kpis">
                    {[Compared::Approved, Compared::Entered, Compared::Baseline].into_iter().map(|c| view! {
                        <div class="kpi" class:best={closest == c}>
                            <span>{move || c.label(lang.get())}</span>
                            <strong data-test=format!("accuracy-{}", match c { Compared::Approved => "approved", Compared::Entered => "entered", Compared::Baseline => "baseline" })>{percent(total.accuracy(c))}</strong>
                        </div>
                    }).collect_view()}
                    <div class="kpi"><span>{tr("预测增值（审核后较系统基线）", "Value added over the baseline")}</span>
                        <strong>{total.value_added().map_or_else(|| "—".into(), |v| format!("{:+.1}", v * 100.0))}</strong><small>{tr("个百分点", "points")}</small></div>
                </section>
                <p class="muted">{move || format!("{} {} · ΣA {} · Σ|F − A| {} · {}：{}", total.lines, lang.get().pick("行", "lines"), total.actual, total.approved_error,
                    lang.get().pick("最接近实际", "closest"), closest.label(lang.get()))}</p>
                <section class="card charts">
                    <div>
                        <h3>{tr("客户经理准确率排名", "Customer managers ranked")}</h3>
                        {move || view! { <BarChart rows=managers.iter().take(15).map(|m| BarRow { label: m.label.clone(),
                            values: vec![m.sums.accuracy(Compared::Approved).unwrap_or(0.0)] }).collect()
                            series=vec![lang.get().pick("准确率", "Accuracy").to_string()] label=lang.get().pick("客户经理准确率", "Accuracy by manager") format=percent_of/> }}
                    </div>
                    <div>
                        <h3>{tr("逐月准确率", "Accuracy by month")}</h3>
                        {move || view! { <LineChart points=trend.clone() label=lang.get().pick("逐月准确率", "Accuracy by month") format=percent_of/> }}
                    </div>
                </section>
                <AccuracyTable title=tr("按品规", "By spec") rows=r.by_spec.clone() test="accuracy-specs"/>
                {(!r.by_department.is_empty()).then(|| view! {
                    <AccuracyTable title=tr("按市场部", "By department") rows=r.by_department.clone() test="accuracy-departments"/>
                })}
                <section class="card">
                    <h3>{tr("客户经理排名", "Customer manager ranking")}</h3>
                    <table class="totals" data-test="accuracy-managers">
                        <thead><tr><th title=move || lang.get().pick("全公司排名", "Rank in the company")>{move || format!("# / {ranked}")}</th><th>{tr("客户经理", "Manager")}</th><th>{tr("准确率", "Accuracy")}</th><th>{tr("原值准确率", "Own value")}</th><th>{tr("基线准确率", "Baseline")}</th><th></th></tr></thead>
                        <tbody>{r.by_manager.iter().map(|m| {
                            let id = m.id;
                            view! {
                                <tr><td>{m.rank.map_or_else(|| "—".to_string(), |r| r.to_string())}</td><td>{m.label.clone()}</td><td>{percent(m.sums.accuracy(Compared::Approved))}</td>
                                    <td>{percent(m.sums.accuracy(Compared::Entered))}</td><td>{percent(m.sums.accuracy(Compared::Baseline))}</td>
                                    <td><button type="button" class="link" on:click=move |_| { narrow.set(Narrow::Manager(id)); retailer.set(None); }>{tr("零售户", "Retailers")}</button></td></tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                </section>
                <section class="card">
                    <h3>{move || if matches!(narrow.get(), Narrow::Manager(_)) { tr("该客户经理的零售户", "This manager's retailers")() } else { tr("误差最大的零售户", "Retailers with the largest error")() }}</h3>
                    <table class="totals" data-test="accuracy-retailers">
                        <thead><tr><th>{tr("零售户", "Retailer")}</th><th>{tr("预测", "Forecast")}</th><th>{tr("实际", "Actual")}</th><th>{tr("准确率", "Accuracy")}</th><th></th></tr></thead>
                        <tbody>{r.retailers.iter().map(|row| {
                            let id = row.id;
                            view! {
                                <tr><td>{row.label.clone()}</td><td>{row.sums.approved}</td><td>{row.sums.actual}</td><td>{percent(row.sums.accuracy(Compared::Approved))}</td>
                                    <td><button type="button" class="link" on:click=move |_| { retailer.set(Some(id)); }>{tr("明细", "Lines")}</button></td></tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                </section>
                <section class="card">
                    <h3>{move || if retailer.get().is_some() { tr("该零售户的明细", "This retailer's lines")() } else { tr("误差最大的行", "Lines with the largest error")() }}</h3>
                    <div class="table-scroll">
                        <table class="totals" data-test="accuracy-lines">
                            <thead><tr><th>{tr("零售户", "Retailer")}</th><th>{tr("品规", "Spec")}</th><th>{tr("审批值", "Approved")}</th><th>{tr("原值", "Own")}</th>
                                <th>{tr("基线", "Baseline")}</th><th>{tr("实际", "Actual")}</th><th>{tr("相对误差", "Relative error")}</th></tr></thead>
                            <tbody>{r.lines.iter().map(|l| view! {
                                <tr><td>{l.retailer_name.clone()}</td><td>{l.spec_name.clone()}</td><td>{l.approved}</td><td>{l.entered}</td>
                                    <td>{l.baseline}</td><td>{l.actual}</td><td>{percent(l.relative_error)}</td></tr>
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                </section>
            }.into_any()
        })}
    }
}

#[component]
fn AccuracyTable(
    title: impl Fn() -> &'static str + Send + Sync + 'static,
    rows: Vec<AccuracyRow>,
    test: &'static str,
) -> impl IntoView {
    let sums: Vec<(String, AccuracySums)> = rows
        .into_iter()
        .filter(|r| r.sums.lines > 0)
        .map(|r| (r.label, r.sums))
        .collect();
    view! {
        <section class="card">
            <h3>{title}</h3>
            <table class="totals" data-test=test>
                <thead><tr><th></th><th>{tr("预测", "Forecast")}</th><th>{tr("实际", "Actual")}</th><th>{tr("准确率", "Accuracy")}</th>
                    <th>{tr("原值准确率", "Own value")}</th><th>{tr("基线准确率", "Baseline")}</th></tr></thead>
                <tbody>{sums.into_iter().map(|(label, s)| view! {
                    <tr><th>{label}</th><td>{s.approved}</td><td>{s.actual}</td>
                        <td>{percent(s.accuracy(Compared::Approved))}</td>
                        <td>{percent(s.accuracy(Compared::Entered))}</td><td>{percent(s.accuracy(Compared::Baseline))}</td></tr>
                }).collect_view()}</tbody>
            </table>
        </section>
    }
}
