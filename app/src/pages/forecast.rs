//! Forecast cycles (需求预测): the marketing center opens a cycle for a month
//! (specs, scope, deadlines), follows every customer manager's sheet, reopens
//! entry for one manager after the deadline and closes the cycle, and sees
//! (and asks for) the recompute of the stored system baselines; customer
//! managers find their sheet here.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use domain::catalogue::Spec;
use domain::forecast::stored::{BaselineStatus, RunStatus};
use domain::forecast::view::{CycleProgress, CycleStatus, CycleView, ReopenRequest};
use domain::forecast::{check_cycle, default_deadlines, CycleInput, Scope};
use domain::month::YearMonth;
use domain::policy::op;
use domain::{ErrorBody, Lang, Role};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::confirm::confirm;
use crate::components::error::{field_error, ErrorNote};
use crate::i18n::tr;
use crate::{api, routes, state};

#[component]
pub fn ForecastPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let cycles = LocalResource::new(move || api::forecast_cycles(lang.get_untracked()));
    let list = Signal::derive(move || cycles.get().and_then(Result::ok));
    let error = Signal::derive(move || cycles.get().and_then(Result::err));
    let reload = move || cycles.refetch();
    let role = move || session.session.with(|s| s.as_ref().map(|s| s.role));
    let is_center = move || role() == Some(Role::MarketingCenter);
    // The form stays (with its message) when the list reloads.
    let defaults =
        Memo::new(move |_| list.with(|l| l.as_ref().map(|l| (l.today, l.default_month))));
    let editing = RwSignal::new(None::<CycleView>);
    let notice = RwSignal::new(None::<String>);
    view! {
        <h2>{tr("需求预测", "Demand forecasts")}</h2>
        <ErrorNote error=error/>
        {move || defaults.get().filter(|_| is_center()).map(|(today, month)| view! {
            <OpenCycleForm today=today default_month=month editing=editing.get()
                on_done=Callback::new(move |message: String| { notice.set(Some(message)); editing.set(None); reload(); })
                on_cancel=Callback::new(move |_| editing.set(None))/>
        })}
        {move || notice.get().map(|n| view! { <p class="note" data-test="cycle-opened">{n}</p> })}
        {move || is_center().then(|| view! { <BaselinePanel/> })}
        <section class="card">
            <h3>{tr("预测周期", "Cycles")}</h3>
            {move || list.get().map(|l| if l.cycles.is_empty() {
                view! { <p class="muted">{tr("还没有预测周期", "No cycles yet")}</p> }.into_any()
            } else {
                view! {
                    <div class="cycle-list">
                        {l.cycles.into_iter().map(|c| view! { <CycleCard cycle=c center=is_center() role=role() on_change=Callback::new(move |_| reload())
                            on_edit=Callback::new(move |c: CycleView| {
                                editing.set(Some(c));
                                // The form sits at the top of the page.
                                window().scroll_to_with_x_and_y(0.0, 0.0);
                            })/> }).collect_view()}
                    </div>
                }.into_any()
            })}
        </section>
    }
}

#[component]
fn CycleCard(
    cycle: CycleView,
    center: bool,
    /// The reader's role: which of the cycle's pages it may open.
    role: Option<Role>,
    on_change: Callback<()>,
    on_edit: Callback<CycleView>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let progress = RwSignal::new(None::<CycleProgress>);
    let error = RwSignal::new(None::<ErrorBody>);
    let id = cycle.id;
    let open = cycle.status == CycleStatus::Open;
    let load_progress =
        Action::new_local(move |_: &()| api::cycle_progress(id, lang.get_untracked()));
    Effect::new(move |_| match load_progress.value().get() {
        Some(Ok(p)) => progress.set(Some(p)),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let show_progress = move || {
        load_progress.dispatch(());
    };
    let close_action = Action::new_local(move |csrf: &String| {
        let csrf = csrf.clone();
        async move { api::close_cycle(id, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match close_action.value().get() {
        Some(Ok(_)) => on_change.run(()),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let reopen_action = Action::new_local(move |request: &(ReopenRequest, String)| {
        let (request, csrf) = request.clone();
        async move { api::reopen_sheet(id, &request, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match reopen_action.value().get() {
        Some(Ok(p)) => {
            error.set(None);
            progress.set(Some(p));
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let close = move || {
        // Closing cannot be undone: no more entry, review or reopening.
        let question = lang.get_untracked().pick(
            "关闭后，本期预测不能再录入、审核，也不能重新开启。确定关闭吗？",
            "Once closed, the cycle takes no more entry or review and cannot be reopened. Close it?",
        );
        if !confirm(question) {
            return;
        }
        close_action.dispatch(session.csrf());
    };
    let reopen = move |manager_id: i64, until: String| {
        let Ok(until) = until.parse::<NaiveDate>() else {
            return;
        };
        reopen_action.dispatch((ReopenRequest { manager_id, until }, session.csrf()));
    };
    let editable = center && open && !cycle.has_entries;
    let may = |access: domain::policy::Access| role.is_some_and(|r| access.permits(r));
    // Every staff level follows its own part of the company; only the
    // marketing center reopens entry.
    let (enters, follows, reports) = (may(op::SAVE_CELLS), may(op::PROGRESS), may(op::DASHBOARD));
    let reopens = may(op::REOPEN) && open;
    let dashboard_class = if enters {
        "button-link secondary"
    } else {
        "button-link"
    };
    let to_edit = cycle.clone();
    let month = cycle.month;
    let scope = cycle.scope;
    let factor = cycle.scale_factor;
    view! {
        <article class="cycle" data-test=format!("cycle-{month}")>
            <header>
                <strong>{move || match lang.get() {
                    Lang::Zh => format!("{}年{}月", month.year(), month.month()),
                    Lang::En => month.to_string(),
                }}</strong>
                <span class="chip">{move || if open { tr("进行中", "Open")() } else { tr("已关闭", "Closed")() }}</span>
                <span class="chip" data-test="cycle-scope">{move || scope.label(lang.get())}</span>
            </header>
            <p class="muted">{move || format!(
                "{} {} · {} {} · {} {} · {} {}{}",
                lang.get().pick("提交截止", "Submit by"), cycle.submit_deadline,
                lang.get().pick("审核截止", "Review by"), cycle.review_deadline,
                cycle.specs.len(), lang.get().pick("个品规", "specs"),
                cycle.retailers, lang.get().pick("户", "retailers"),
                if scope == Scope::Sample { format!(" · {} ×{factor:.2}", lang.get().pick("放大系数", "scale factor")) } else { String::new() },
            )}</p>
            <div class="actions">
                {enters.then(|| view! {
                    <A href=routes::sheet_of(id) attr:class="button-link" attr:data-test="open-sheet">{tr("录入预测", "Enter forecasts")}</A>
                })}
                {(follows && !enters).then(|| view! {
                    <button type="button" data-test="show-progress" on:click=move |_| show_progress()>{tr("查看进度", "Progress")}</button>
                })}
                {reports.then(|| view! {
                    <A href=routes::dashboard_of(id) attr:class=dashboard_class attr:data-test="open-dashboard">{tr("预测看板", "Dashboard")}</A>
                    <A href=routes::accuracy_of(id) attr:class="button-link secondary" attr:data-test="open-accuracy">{tr("准确率", "Accuracy")}</A>
                })}
                {editable.then(|| view! {
                    <button type="button" class="secondary" data-test="edit-cycle" on:click=move |_| on_edit.run(to_edit.clone())>{tr("修改", "Edit")}</button>
                })}
                {(center && open).then(|| view! {
                    <button type="button" class="secondary" data-test="close-cycle" on:click=move |_| close()>{tr("关闭预测", "Close")}</button>
                })}
            </div>
            <ErrorNote error=error/>
            {move || progress.get().map(|p| view! {
                <table class="progress-table" data-test="progress">
                    <thead><tr>
                        <th>{tr("市场部", "Dept.")}</th><th>{tr("客户经理", "Manager")}</th><th>{tr("状态", "Status")}</th>
                        <th>{tr("已填", "Filled")}</th><th>{tr("补录至", "Reopened to")}</th>
                    </tr></thead>
                    <tbody>
                        {p.sheets.into_iter().map(|s| {
                            let until = RwSignal::new(String::new());
                            let manager = s.manager_id;
                            view! {
                                <tr>
                                    <td>{s.unit_name}</td><td>{s.manager_name}</td>
                                    <td>{s.stage.clone()}{s.late.then(|| view! { <span class="chip late">{tr("逾期", "Late")}</span> })}</td>
                                    <td>{format!("{}/{}", s.filled, s.cells)}</td>
                                    <td class="reopen">
                                        {s.reopened_until.map(|d| d.to_string())}
                                        {reopens.then(|| view! {
                                            <input type="date" prop:value=move || until.get() on:input=move |ev| until.set(event_target_value(&ev))/>
                                            <button type="button" class="secondary" on:click=move |_| reopen(manager, until.get_untracked())>{tr("允许补录", "Reopen")}</button>
                                        })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </article>
    }
}

#[component]
fn OpenCycleForm(
    today: NaiveDate,
    default_month: YearMonth,
    /// A cycle to change instead of opening a new one.
    editing: Option<CycleView>,
    on_done: Callback<String>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let chosen = RwSignal::new(std::collections::BTreeSet::<i64>::new());
    let start_month = editing.as_ref().map_or(default_month, |c| c.month);
    let month = RwSignal::new(start_month.to_string());
    let scope = RwSignal::new(editing.as_ref().map_or(Scope::All, |c| c.scope));
    let (submit0, review0) = editing.as_ref().map_or_else(
        || default_deadlines(default_month),
        |c| (c.submit_deadline, c.review_deadline),
    );
    let editing_id = editing.as_ref().map(|c| c.id);
    let kept_specs: Option<Vec<i64>> = editing
        .as_ref()
        .map(|c| c.specs.iter().map(|s| s.spec_id).collect());
    let submit_deadline = RwSignal::new(submit0.to_string());
    let review_deadline = RwSignal::new(review0.to_string());
    let error = RwSignal::new(None::<ErrorBody>);
    let loaded_specs = LocalResource::new(move || api::specs(lang.get_untracked()));
    let specs = Signal::derive(move || loaded_specs.get().and_then(Result::ok).unwrap_or_default());
    // Once the specs are in: the cycle's own, or every orderable one.
    Effect::new(move |_| match loaded_specs.get() {
        Some(Ok(list)) => chosen.set(match &kept_specs {
            Some(ids) => ids.iter().copied().collect(),
            None => list.iter().filter(|s| s.orderable).map(|s| s.id).collect(),
        }),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    // Changing the month moves the default deadlines with it.
    let on_month = move |value: String| {
        if let Ok(m) = value.parse::<YearMonth>() {
            let (s, r) = default_deadlines(m);
            submit_deadline.set(s.to_string());
            review_deadline.set(r.to_string());
        }
        month.set(value);
    };
    let input = move || -> Result<CycleInput, ErrorBody> {
        let lang = lang.get_untracked();
        let bad = |field: &str, zh: &'static str, en: &'static str| {
            ErrorBody::new(
                domain::ErrorCode::Validation,
                lang.pick("请检查标红的项目", "Check the marked fields"),
            )
            .with_field(field, lang.pick(zh, en))
        };
        let month = month
            .get_untracked()
            .parse::<YearMonth>()
            .map_err(|_| bad("month", "请选择月份", "Pick a month"))?;
        let date = |s: String, field: &str| {
            s.parse::<NaiveDate>()
                .map_err(|_| bad(field, "请选择日期", "Pick a date"))
        };
        Ok(CycleInput {
            month,
            spec_ids: chosen.get_untracked().into_iter().collect(),
            scope: scope.get_untracked(),
            submit_deadline: Some(date(submit_deadline.get_untracked(), "submit_deadline")?),
            review_deadline: Some(date(review_deadline.get_untracked(), "review_deadline")?),
        })
    };
    // Checked as the server will, as the form changes.
    let problems = move || {
        let lang = lang.get();
        month.track();
        submit_deadline.track();
        review_deadline.track();
        chosen.track();
        let known: Vec<i64> = specs.with(|s| s.iter().map(|s| s.id).collect());
        match input() {
            Err(e) => Some(e),
            Ok(i) if known.is_empty() => {
                let _ = i;
                None
            }
            Ok(i) => {
                let errors = check_cycle(&i, &known, today);
                (!errors.is_empty()).then(|| {
                    errors.into_iter().fold(
                        ErrorBody::new(
                            domain::ErrorCode::Validation,
                            lang.pick("请检查标红的项目", "Check the marked fields"),
                        ),
                        |b, e| b.with_field(e.field(), e.message(lang)),
                    )
                })
            }
        }
    };
    let save = Action::new_local(move |(request, csrf): &(CycleInput, String)| {
        let (request, csrf) = (request.clone(), csrf.clone());
        async move {
            match editing_id {
                Some(id) => api::edit_cycle(id, &request, &csrf, lang.get_untracked()).await,
                None => api::open_cycle(&request, &csrf, lang.get_untracked()).await,
            }
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(c)) => {
            error.set(None);
            on_done.run(match (lang.get_untracked(), editing_id.is_some()) {
                (Lang::Zh, false) => format!("已开启 {} 的预测，{} 户", c.month, c.retailers),
                (Lang::Zh, true) => format!("已修改 {} 的预测，{} 户", c.month, c.retailers),
                (Lang::En, false) => format!("Opened {} with {} retailers", c.month, c.retailers),
                (Lang::En, true) => format!("Changed {}: {} retailers", c.month, c.retailers),
            });
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let shown_error = move || error.get().or_else(problems);
    let field = move |name: &'static str| move || field_error(&shown_error(), name);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(request) = input() else { return };
        if problems().is_some() {
            return;
        }
        save.dispatch((request, session.csrf()));
    };
    let by_brand = move || {
        let mut groups: BTreeMap<String, Vec<Spec>> = BTreeMap::new();
        for s in specs.get() {
            groups.entry(s.brand.clone()).or_default().push(s);
        }
        groups
    };
    view! {
        <form class="card open-cycle" on:submit=submit data-test="open-cycle">
            <h3>{move || match editing_id {
                Some(_) => format!("{} {start_month}", lang.get().pick("修改预测", "Edit cycle")),
                None => lang.get().pick("开启预测", "Open a cycle").to_string(),
            }}</h3>
            <div class="form-row">
                <label>{tr("预测月份", "Month")}
                    <input type="month" data-test="cycle-month" prop:value=move || month.get() on:input=move |ev| on_month(event_target_value(&ev))/>
                    <span class="field-error">{field("month")}</span>
                </label>
                <label>{tr("提交截止", "Submission deadline")}
                    <input type="date" data-test="submit-deadline" prop:value=move || submit_deadline.get() on:input=move |ev| submit_deadline.set(event_target_value(&ev))/>
                    <span class="field-error">{field("submit_deadline")}</span>
                </label>
                <label>{tr("审核截止", "Review deadline")}
                    <input type="date" data-test="review-deadline" prop:value=move || review_deadline.get() on:input=move |ev| review_deadline.set(event_target_value(&ev))/>
                    <span class="field-error">{field("review_deadline")}</span>
                </label>
            </div>
            <fieldset class="scope">
                <legend>{tr("预测范围", "Scope")}</legend>
                <label class="check"><input type="radio" name="scope" data-test="scope-all" prop:checked=move || scope.get() == Scope::All on:change=move |_| scope.set(Scope::All)/>{tr("全部零售户", "All retailers")}</label>
                <label class="check"><input type="radio" name="scope" data-test="scope-sample" prop:checked=move || scope.get() == Scope::Sample on:change=move |_| scope.set(Scope::Sample)/>
                    {tr("1/3样本客户（按许可证号分三组轮换，每季度每户一次）", "One-third sample (three groups by licence number, rotating: each retailer once a quarter)")}</label>
            </fieldset>
            <fieldset class="spec-picker">
                <legend>{move || format!("{} ({}/{})", lang.get().pick("预测品规", "Specs"), chosen.with(|c| c.len()), specs.with(Vec::len))}</legend>
                <div class="actions">
                    <button type="button" class="secondary" data-test="specs-all" on:click=move |_| chosen.set(specs.with(|s| s.iter().map(|s| s.id).collect()))>{tr("全选", "All")}</button>
                    <button type="button" class="secondary" data-test="specs-none" on:click=move |_| chosen.set(Default::default())>{tr("全不选", "None")}</button>
                </div>
                <span class="field-error">{field("spec_ids")}</span>
                <div class="brands">
                    {move || by_brand().into_iter().map(|(brand, list)| view! {
                        <div class="brand"><strong>{brand}</strong>
                            {list.into_iter().map(|s| {
                                let id = s.id;
                                view! {
                                    <label class="check"><input type="checkbox" data-test=format!("spec-{}", s.code)
                                        prop:checked=move || chosen.with(|c| c.contains(&id))
                                        on:change=move |ev| chosen.update(|c| { if event_target_checked(&ev) { c.insert(id); } else { c.remove(&id); } })/>
                                        {s.name}</label>
                                }
                            }).collect_view()}
                        </div>
                    }).collect_view()}
                </div>
            </fieldset>
            <ErrorNote error=error/>
            <button type="submit" class="primary" data-test="open-cycle-submit" disabled=move || { save.pending().get() || problems().is_some() }>
                {move || if editing_id.is_some() { tr("保存修改", "Save changes")() } else { tr("开启预测", "Open")() }}</button>
            {editing_id.map(|_| view! { <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>{tr("取消", "Cancel")}</button> })}
        </form>
    }
}

/// How often the panel asks for the progress of a run under way.
const BASELINE_POLL_MS: i32 = 2000;

/// The stored system baselines (系统基线), for the marketing center: a
/// recompute under way with its progress (asked for every 2 s until it
/// ends), or when they were computed and from which history month, and
/// 重新计算 (asked first).
#[component]
fn BaselinePanel() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let status = RwSignal::new(None::<BaselineStatus>);
    let error = RwSignal::new(None::<ErrorBody>);
    let polling = RwSignal::new(false);
    // Reads the state, and again every 2 s while a run is under way. A
    // task of its own: it stops when the run ends or the page is left.
    let follow = move || {
        if polling.try_get_untracked() != Some(false) {
            return;
        }
        polling.set(true);
        leptos::task::spawn_local(async move {
            loop {
                let Some(l) = lang.try_get_untracked() else {
                    break;
                };
                let active = match api::baselines(l).await {
                    Ok(s) => {
                        let active = s.active().is_some();
                        if status.try_set(Some(s)).is_some() {
                            return;
                        }
                        active
                    }
                    Err(e) => {
                        let _ = error.try_set(Some(e));
                        false
                    }
                };
                if !active {
                    break;
                }
                sleep(BASELINE_POLL_MS).await;
            }
            let _ = polling.try_set(false);
        });
    };
    follow();
    let recompute = Action::new_local(move |csrf: &String| {
        let csrf = csrf.clone();
        async move { api::recompute_baselines(&csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match recompute.value().get() {
        Some(Ok(s)) => {
            error.set(None);
            status.set(Some(s));
            follow();
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let ask = move |_| {
        let question = lang.get_untracked().pick(
            "重新计算全部零售户 × 品规的系统基线和 80% 区间？计算在后台进行，期间预测表照常使用。",
            "Recompute every retailer × spec baseline and its 80% interval? It runs in the background; the sheets stay usable meanwhile.",
        );
        if confirm(question) {
            recompute.dispatch(session.csrf());
        }
    };
    let busy = move || {
        recompute.pending().get()
            || status.with(|s| s.as_ref().is_some_and(|s| s.active().is_some()))
    };
    let state_line = move || {
        let lang = lang.get();
        status.get().map(|s| match s.active() {
            Some(run) if run.status == RunStatus::Running => {
                let percent = run.share() * 100.0;
                let started = run.started_at.map(crate::format::china_time).unwrap_or_default();
                view! {
                    <p data-test="baseline-running">{match lang {
                        Lang::Zh => format!("正在计算：{} / {} 个序列（{percent:.0}%），开始于 {started}（北京时间）", run.done, run.total),
                        Lang::En => format!("Computing: {} of {} series ({percent:.0}%), started {started} (China time)", run.done, run.total),
                    }}</p>
                    <progress max="100" value=format!("{percent:.1}") data-test="baseline-progress"></progress>
                }
                .into_any()
            }
            Some(_) => view! {
                <p data-test="baseline-queued">{lang.pick("已排队，等待开始计算……", "Queued; starting soon…")}</p>
            }
            .into_any(),
            None => {
                let latest = s.stored.iter().max_by_key(|m| m.computed_at).cloned();
                let failed = s.runs.first().filter(|r| r.status == RunStatus::Failed).cloned();
                let stale = s.stale();
                view! {
                    <p data-test="baseline-state">{match (latest, lang) {
                        (Some(m), Lang::Zh) => format!("已于 {} 计算（历史截至 {}）", crate::format::china_time(m.computed_at), m.history_through),
                        (Some(m), Lang::En) => format!("Computed {} (history to {})", crate::format::china_time(m.computed_at), m.history_through),
                        (None, _) => lang.pick("尚未计算：打开预测表时临时计算", "Not computed yet: sheets compute them when opened").to_string(),
                    }}</p>
                    {stale.then(|| view! {
                        <p class="muted" data-test="baseline-stale">{match (s.history_through, lang) {
                            (Some(h), Lang::Zh) => format!("订货历史已到 {h}，系统基线尚未按新历史计算"),
                            (Some(h), Lang::En) => format!("The history now runs to {h}; the baselines are older"),
                            (None, _) => String::new(),
                        }}</p>
                    })}
                    {failed.map(|r| view! {
                        <p class="field-error" data-test="baseline-failed">{format!("{}{}", lang.pick("上次计算失败：", "The last run failed: "), r.error.unwrap_or_default())}</p>
                    })}
                }
                .into_any()
            }
        })
    };
    view! {
        <section class="card baseline-panel" data-test="baseline-panel">
            <h3>{tr("系统基线", "System baselines")}</h3>
            {state_line}
            <ErrorNote error=error/>
            <div class="actions">
                <button type="button" class="secondary" data-test="baseline-recompute" disabled=busy on:click=ask>
                    {tr("重新计算", "Recompute")}</button>
            </div>
        </section>
    }
}

/// Waits `ms` milliseconds in the browser.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
