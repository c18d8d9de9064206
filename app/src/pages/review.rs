//! The review chain (层层提交修正): reviewers find the sheets waiting for them,
//! read the lines largest deviation first, correct a line with a reason,
//! approve upward or return the sheet down with a comment. Every line's
//! history is one click away.

use domain::forecast::review::{check_comment, check_correction};
use domain::forecast::view::{
    ApproveRequest, CorrectRequest, Correction, LineHistory, ReturnRequest, ReviewLine, ReviewView,
    SheetStatus,
};
use domain::{ErrorBody, ErrorCode, Lang};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::components::confirm::confirm;
use crate::components::error::ErrorNote;
use crate::format::china_time;
use crate::i18n::tr;
use crate::{api, routes, state};

fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "—".into(), |v| v.to_string())
}

#[component]
pub fn ReviewInboxPage() -> impl IntoView {
    let lang = state::lang();
    let loaded = LocalResource::new(move || api::review_inbox(lang.get_untracked()));
    let inbox = Signal::derive(move || loaded.get().and_then(Result::ok));
    let error = Signal::derive(move || loaded.get().and_then(Result::err));
    view! {
        <h2>{tr("预测审核", "Forecast review")}</h2>
        <ErrorNote error=error/>
        {move || inbox.get().map(|i| if i.sheets.is_empty() {
            view! { <p class="muted">{tr("暂无需要审核的预测表", "No sheets to review")}</p> }.into_any()
        } else {
            view! {
                <table class="progress-table" data-test="review-inbox">
                    <thead><tr>
                        <th>{tr("月份", "Month")}</th><th>{tr("市场部", "Dept.")}</th><th>{tr("客户经理", "Manager")}</th>
                        <th>{tr("状态", "Stage")}</th><th>{tr("已修正", "Corrected")}</th><th></th>
                    </tr></thead>
                    <tbody>
                        {i.sheets.into_iter().map(|s| view! {
                            <tr class:waiting=s.can_act data-test=format!("inbox-{}", s.sheet_id)>
                                <td>{s.month.to_string()}</td><td>{s.unit_name}</td><td>{s.manager_name}</td>
                                <td>{s.stage}{s.late.then(|| view! { <span class="chip late">{tr("逾期", "Late")}</span> })}</td>
                                <td>{s.corrected}</td>
                                <td><A href=routes::review_of(s.sheet_id) attr:class="button-link" attr:data-test="open-review">
                                    {if s.can_act { tr("审核", "Review")() } else { tr("查看", "View")() }}</A></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        })}
    }
}

#[component]
pub fn ReviewPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let params = use_params_map();
    let query = use_query_map();
    let sheet_id = move || {
        params
            .with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok()))
            .unwrap_or(0)
    };
    let view_data = RwSignal::new(None::<ReviewView>);
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);
    let search = RwSignal::new(query.with_untracked(|q| q.get("q").unwrap_or_default()));
    let filter = RwSignal::new("all".to_string());
    let offset = RwSignal::new(0_i64);
    let history = RwSignal::new(None::<LineHistory>);
    // Fetched again when the search, filter or page changes, and after
    // every write.
    let loaded = LocalResource::new(move || {
        let (id, q, f, o) = (sheet_id(), search.get(), filter.get(), offset.get());
        async move { api::review(id, &q, &f, o, lang.get_untracked()).await }
    });
    // Kept in a signal of its own so that a failed reload leaves the sheet
    // on screen beside the error.
    Effect::new(move |_| match loaded.get() {
        Some(Ok(v)) => view_data.set(Some(v)),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let load = move || loaded.refetch();
    let fetch_history = Action::new_local(move |&(retailer, spec): &(i64, i64)| {
        let id = sheet_id();
        async move { api::line_history(id, retailer, spec, lang.get_untracked()).await }
    });
    Effect::new(move |_| match fetch_history.value().get() {
        Some(Ok(h)) => history.set(Some(h)),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let show_history = move |retailer: i64, spec: i64| {
        fetch_history.dispatch((retailer, spec));
    };

    let comment = RwSignal::new(String::new());
    let to_level = RwSignal::new(0_u8);
    let decide = Action::new_local(move |decision: &Decision| {
        let Decision {
            approve,
            id,
            comment,
            to_level,
            at_level,
            csrf,
        } = decision.clone();
        let lang_now = lang.get_untracked();
        async move {
            if approve {
                let request = ApproveRequest {
                    comment: Some(comment).filter(|c| !c.trim().is_empty()),
                    at_level,
                };
                api::approve(id, &request, &csrf, lang_now).await
            } else {
                let request = ReturnRequest {
                    comment,
                    to_level,
                    at_level,
                };
                api::return_sheet(id, &request, &csrf, lang_now).await
            }
        }
    });
    Effect::new(move |_| match decide.value().get() {
        Some(Ok(sheet)) => {
            error.set(None);
            comment.set(String::new());
            notice.set(Some(sheet.stage.clone()));
            load();
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let busy = decide.pending();
    let act = move |approve: bool| {
        let lang_now = lang.get_untracked();
        let text = comment.get_untracked();
        if let Err(e) = check_comment(Some(&text), !approve) {
            error.set(Some(
                ErrorBody::new(ErrorCode::Validation, e.message(lang_now))
                    .with_field("comment", e.message(lang_now)),
            ));
            return;
        }
        let question = if approve {
            lang_now.pick("确定审核通过这张预测表吗？", "Approve this sheet?")
        } else {
            lang_now.pick("确定退回这张预测表吗？", "Return this sheet?")
        };
        if !confirm(question) {
            return;
        }
        let at_level = view_data.with_untracked(|v| v.as_ref().and_then(|v| v.sheet.level));
        decide.dispatch(Decision {
            approve,
            id: sheet_id(),
            comment: text,
            to_level: to_level.get_untracked(),
            at_level,
            csrf: session.csrf(),
        });
    };

    view! {
        <p><A href=routes::REVIEWS>{tr("← 审核列表", "← Review list")}</A></p>
        <ErrorNote error=error/>
        {move || view_data.get().map(|v| {
            let sheet = v.sheet.clone();
            let can_act = sheet.can_act;
            let level = sheet.level.unwrap_or(0);
            let (has_prev, has_next) = (v.offset > 0, v.offset + (v.lines.len() as i64) < v.matching);
            let lower: Vec<(u8, String)> = std::iter::once((0, lang.get().pick("客户经理", "Customer manager").to_string()))
                .chain(sheet.chain.iter().filter(|s| s.level < level).map(|s| (s.level, s.unit_name.clone())))
                .collect();
            view! {
                <section class="card review-head">
                    <h2>{format!("{} · {} · {}", sheet.month, sheet.unit_name, sheet.manager_name)}</h2>
                    <ol class="chain" data-test="chain">
                        <li class="done">{tr("客户经理", "Customer manager")}</li>
                        {sheet.chain.iter().map(|s| {
                            let class = match (sheet.status, sheet.level) {
                                (SheetStatus::Approved, _) => "done",
                                (SheetStatus::Submitted, Some(l)) if l == s.level => "current",
                                (SheetStatus::Submitted, Some(l)) if l > s.level => "done",
                                _ => "",
                            };
                            view! { <li class=class>{format!("{} {}", s.kind.label(lang.get()), s.unit_name)}</li> }
                        }).collect_view()}
                    </ol>
                    <p><strong data-test="review-stage">{sheet.stage.clone()}</strong>
                        {sheet.late.then(|| view! { <span class="chip late">{tr("逾期", "Late")}</span> })}
                        {(sheet.status == SheetStatus::Approved).then(|| view! { <span class="chip" data-test="locked">{tr("已锁定", "Locked")}</span> })}</p>
                    <p class="muted">{move || format!("{} {} · {} {} · {} {} · {}{} {}",
                        lang.get().pick("客户经理原值", "Manager's total"), v.totals.entered,
                        lang.get().pick("当前值", "Now"), v.totals.value,
                        lang.get().pick("系统基线", "Baseline"), v.totals.baseline,
                        lang.get().pick("上月实际 ", "Orders "), v.last_month_of, v.totals.last_month)}</p>
                    <ul class="actions-log" data-test="review-actions">
                        {v.actions.iter().map(|a| {
                            let who = if a.level == 0 { lang.get().pick("客户经理", "Manager").to_string() } else { format!("{} {}", lang.get().pick("第", "level "), a.level) + lang.get().pick("级", "") };
                            view! {
                                <li class=format!("action-{}", a.action.as_str())>
                                    {format!("{} · {} {} · {}", china_time(a.at), who, a.actor_name, a.action.label(lang.get()))}
                                    {a.comment.clone().map(|c| view! { <q>{c}</q> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {can_act.then(|| view! {
                        <div class="review-actions">
                            <label>{tr("审核意见（退回必填）", "Comment (needed to return)")}
                                <textarea data-test="review-comment" maxlength="500" prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
                            </label>
                            <div class="actions">
                                <button type="button" class="primary" data-test="approve" disabled=move || busy.get() on:click=move |_| act(true)>
                                    {if sheet.chain.last().is_some_and(|s| Some(s.level) == sheet.level) { tr("审批通过（最终）", "Approve (final)")() } else { tr("审核通过，提交上级", "Approve upward")() }}</button>
                                <select data-test="return-to" on:change=move |ev| to_level.set(event_target_value(&ev).parse().unwrap_or(0))>
                                    {lower.into_iter().map(|(l, name)| view! { <option value=l.to_string()>{format!("{} {name}", lang.get().pick("退回至", "Return to"))}</option> }).collect_view()}
                                </select>
                                <button type="button" class="secondary" data-test="return" disabled=move || busy.get() on:click=move |_| act(false)>{tr("退回", "Return")}</button>
                            </div>
                        </div>
                    })}
                    {move || notice.get().map(|n| view! { <p class="note" data-test="review-notice">{n}</p> })}
                </section>
                <section class="card">
                    <div class="form-row">
                        <label>{tr("搜索零售户或品规", "Search retailer or spec")}
                            <input type="search" data-test="review-search" prop:value=move || search.get()
                                on:change=move |ev| { search.set(event_target_value(&ev)); offset.set(0); }/></label>
                        <label>{tr("显示", "Show")}
                            <select data-test="review-filter" on:change=move |ev| { filter.set(event_target_value(&ev)); offset.set(0); }>
                                <option value="all">{tr("全部（偏差大的在前）", "All (largest deviation first)")}</option>
                                <option value="corrected">{tr("已修正的行", "Corrected lines")}</option>
                                <option value="with_reason">{tr("有原因说明的行", "Lines with a reason")}</option>
                            </select></label>
                    </div>
                    <div class="table-scroll">
                        <table class="review-lines" data-test="review-lines">
                            <thead><tr>
                                <th>{tr("零售户", "Retailer")}</th><th>{tr("品规", "Spec")}</th><th>{tr("客户经理填报", "Entered")}</th>
                                <th>{tr("当前值", "Now")}</th><th>{tr("基线", "Baseline")}</th><th>{tr("上月", "Last month")}</th>
                                <th>{tr("原因", "Reason")}</th><th></th>
                            </tr></thead>
                            <tbody>
                                {v.lines.iter().cloned().enumerate().map(|(i, line)| view! {
                                    <LineRow line=line index=i can_act=can_act sheet_id=sheet.sheet_id
                                        on_saved=Callback::new(move |_| load())
                                        on_history=Callback::new(move |(r, s)| show_history(r, s))/>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <p class="pager">
                        <button type="button" class="secondary" disabled=!has_prev on:click=move |_| { offset.update(|o| *o = (*o - 50).max(0)); }>{tr("上一页", "Previous")}</button>
                        <span>{format!("{}–{} / {}", v.offset + 1, v.offset + v.lines.len() as i64, v.matching)}</span>
                        <button type="button" class="secondary" disabled=!has_next on:click=move |_| { offset.update(|o| *o += 50); }>{tr("下一页", "Next")}</button>
                    </p>
                </section>
            }
        })}
        {move || history.get().map(|h| view! { <HistoryPanel history=h on_close=Callback::new(move |_| history.set(None))/> })}
    }
}

/// An approval or a return, as the reviewer asked for it.
#[derive(Clone)]
struct Decision {
    approve: bool,
    id: i64,
    comment: String,
    to_level: u8,
    at_level: Option<u8>,
    csrf: String,
}

#[component]
fn LineRow(
    line: ReviewLine,
    index: usize,
    can_act: bool,
    sheet_id: i64,
    on_saved: Callback<()>,
    on_history: Callback<(i64, i64)>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let value = RwSignal::new(line.value.map(|v| v.to_string()).unwrap_or_default());
    let reason = RwSignal::new(String::new());
    let editing = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let (retailer, spec, revision, bound) =
        (line.retailer_id, line.spec_id, line.revision, line.bound);
    let correct = Action::new_local(move |(request, csrf): &(CorrectRequest, String)| {
        let (request, csrf) = (request.clone(), csrf.clone());
        async move { api::correct(sheet_id, &request, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match correct.value().get() {
        Some(Ok(_)) => {
            error.set(None);
            editing.set(false);
            on_saved.run(());
        }
        Some(Err(e)) => error.set(Some(
            e.fields
                .values()
                .flatten()
                .next()
                .map(|m| format!("{}：{m}", e.message))
                .unwrap_or(e.message),
        )),
        None => {}
    });
    let save = move || {
        let lang_now = lang.get_untracked();
        let parsed = domain::quantity::Cartons::parse(&value.get_untracked());
        let v = match parsed {
            Ok(c) => c.get(),
            Err(e) => {
                error.set(Some(e.message(lang_now).to_string()));
                return;
            }
        };
        let why = reason.get_untracked();
        if let Err(e) = check_correction(v, Some(&why), bound) {
            error.set(Some(e.message(lang_now)));
            return;
        }
        correct.dispatch((
            CorrectRequest {
                corrections: vec![Correction {
                    retailer_id: retailer,
                    spec_id: spec,
                    value: v,
                    reason: why,
                    base_revision: revision,
                }],
            },
            session.csrf(),
        ));
    };
    let corrected = line.value != line.entered;
    view! {
        <tr class:corrected=corrected data-test=format!("line-{index}")>
            <td>{line.retailer_name.clone()}<br/><small class="muted">{line.licence_no.clone()}</small></td>
            <td>{line.spec_name.clone()}</td>
            <td>{opt(line.entered)}</td>
            <td data-test="line-value">{opt(line.value)}{(line.corrections > 0).then(|| view! { <span class="chip">{format!("✎{}", line.corrections)}</span> })}</td>
            <td>{opt(line.baseline)}</td>
            <td>{line.last_month}</td>
            <td class="reason">{line.reason.clone()}</td>
            <td class="line-actions">
                <button type="button" class="link" data-test="line-history" on:click=move |_| on_history.run((retailer, spec))>{tr("历史", "History")}</button>
                {can_act.then(|| view! {
                    <button type="button" class="link" data-test="line-correct" on:click=move |_| editing.update(|e| *e = !*e)>{tr("修正", "Correct")}</button>
                })}
            </td>
        </tr>
        {move || editing.get().then(|| view! {
            <tr class="correct-row">
                <td colspan="8"><div class="correct-form">
                    <label>{tr("修正为（条）", "Correct to (cartons)")}
                        <input type="text" inputmode="numeric" data-test="correct-value" prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/></label>
                    <label>{tr("修正原因（必填）", "Reason (needed)")}
                        <input type="text" maxlength="100" data-test="correct-reason" prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/></label>
                    <button type="button" class="primary" data-test="correct-save" on:click=move |_| save()>{tr("保存修正", "Save correction")}</button>
                    {move || error.get().map(|e| view! { <span class="field-error" data-test="correct-error">{e}</span> })}
                </div></td>
            </tr>
        })}
    }
}

/// Everything that happened to one line.
#[component]
pub fn HistoryPanel(history: LineHistory, on_close: Callback<()>) -> impl IntoView {
    let lang = state::lang();
    view! {
        <aside class="history-panel card" data-test="line-history-panel" role="dialog">
            <header>
                <strong>{format!("{} · {}", history.retailer_name, history.spec_name)}</strong>
                <button type="button" class="link" on:click=move |_| on_close.run(())>{tr("关闭", "Close")}</button>
            </header>
            <ol class="history">
                <li data-test="history-entered">{move || format!("{} {}：{} {}", lang.get().pick("客户经理", "Customer manager"), history.manager_name,
                    opt(history.entered), lang.get().pick("条", "cartons"))}
                    {history.entered_reason.clone().map(|r| view! { <q>{r}</q> })}
                    <small class="muted">{move || format!(" · {} {}", lang.get().pick("系统基线", "baseline"), opt(history.baseline))}</small></li>
                {history.corrections.iter().map(|c| {
                    let c = c.clone();
                    view! {
                        <li data-test="history-correction">{move || match lang.get() {
                            Lang::Zh => format!("{} 第{}级 {} {}：{} → {} 条", china_time(c.at), c.level, c.unit_name, c.actor_name, opt(c.from), c.to),
                            Lang::En => format!("{} level {} {} {}: {} → {} cartons", china_time(c.at), c.level, c.unit_name, c.actor_name, opt(c.from), c.to),
                        }}<q>{c.reason.clone()}</q></li>
                    }
                }).collect_view()}
                {history.final_value.map(|f| view! {
                    <li data-test="history-final">{move || format!("{}：{f} {}", lang.get().pick("营销中心审批", "Approved"), lang.get().pick("条", "cartons"))}</li>
                })}
            </ol>
        </aside>
    }
}
