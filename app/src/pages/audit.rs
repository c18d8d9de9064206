//! The audit log viewer (审计日志) for administrators and the marketing
//! center: filters, a page of entries with flags of unusual changes, and
//! CSV / Excel exports of the filtered log.

use domain::audit::{
    detail_summary, entity_label, AuditEntry, AuditPage, AuditQuery, ACTIONS, ENTITIES,
    EXPORT_LIMIT,
};
use domain::{ErrorBody, ErrorCode};
use leptos::prelude::*;

use crate::components::error::{field_error, ErrorNote};
use crate::i18n::tr;
use crate::{api, state};

/// Text of an input, `None` when blank.
fn given(signal: RwSignal<String>) -> Option<String> {
    let v = signal.get_untracked();
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let lang = state::lang();
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let entity = RwSignal::new(String::new());
    let entity_id = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let flagged = RwSignal::new(false);
    // The filter the page shows (set by "search" and the pager).
    let applied = RwSignal::new(AuditQuery::default());
    let checked = RwSignal::new(None::<ErrorBody>);

    let log = LocalResource::new(move || {
        let query = applied.get();
        let lang = lang.get();
        async move { api::audit_log(&query, lang).await }
    });
    let server_error = move || log.get().and_then(|r| r.err());
    // Field messages come from the same checks as the server's, then the server's.
    let error = Signal::derive(move || checked.get().or_else(server_error));
    let field = move |name: &'static str| move || field_error(&error.get(), name);

    let search = move |page: i64| {
        let query = AuditQuery {
            actor: given(actor),
            action: given(action),
            entity: given(entity),
            entity_id: given(entity_id),
            from: given(from),
            to: given(to),
            page: (page > 1).then(|| page.to_string()),
            flagged: flagged.get_untracked().then(|| "true".to_string()),
            format: None,
            lang: None,
        };
        let lang = lang.get_untracked();
        match query.parse() {
            Ok(_) => {
                checked.set(None);
                applied.set(query);
            }
            Err(errors) => checked.set(Some(errors.into_iter().fold(
                ErrorBody::new(
                    ErrorCode::Validation,
                    lang.pick("查询条件有误", "Check the filter"),
                ),
                |body, (f, e)| body.with_field(f, e.message(lang)),
            ))),
        }
    };

    view! {
        <section class="card audit-filters">
            <h1>{tr("审计日志", "Audit log")}</h1>
            <form class="audit-form" on:submit=move |ev| { ev.prevent_default(); search(1); }>
                <label class="field">
                    <span>{tr("人员（账号或姓名）", "Person (sign-in or name)")}</span>
                    <input type="search" data-test="audit-actor" prop:value=move || actor.get()
                        on:input=move |ev| actor.set(event_target_value(&ev))/>
                    <span class="field-error">{field("actor")}</span>
                </label>
                <label class="field">
                    <span>{tr("操作", "Action")}</span>
                    <select data-test="audit-action" on:change=move |ev| action.set(event_target_value(&ev))>
                        <option value="">{tr("全部", "All")}</option>
                        {ACTIONS.iter().map(|(code, zh, en)| view! {
                            <option value=*code selected=move || action.get() == *code>{move || lang.get().pick(zh, en)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span>{tr("对象", "Object")}</span>
                    <select data-test="audit-entity" on:change=move |ev| entity.set(event_target_value(&ev))>
                        <option value="">{tr("全部", "All")}</option>
                        {ENTITIES.iter().map(|(code, zh, en)| view! {
                            <option value=*code selected=move || entity.get() == *code>{move || lang.get().pick(zh, en)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span>{tr("对象编号", "Object id")}</span>
                    <input type="text" data-test="audit-entity-id" prop:value=move || entity_id.get()
                        on:input=move |ev| entity_id.set(event_target_value(&ev))/>
                </label>
                <label class="field">
                    <span>{tr("开始日期", "From")}</span>
                    <input type="date" data-test="audit-from" prop:value=move || from.get()
                        on:input=move |ev| from.set(event_target_value(&ev))/>
                    <span class="field-error" data-test="audit-from-error">{field("from")}</span>
                </label>
                <label class="field">
                    <span>{tr("结束日期", "To")}</span>
                    <input type="date" data-test="audit-to" prop:value=move || to.get()
                        on:input=move |ev| to.set(event_target_value(&ev))/>
                    <span class="field-error" data-test="audit-to-error">{field("to")}</span>
                </label>
                <label class="check">
                    <input type="checkbox" data-test="audit-flagged" prop:checked=move || flagged.get()
                        on:change=move |ev| flagged.set(event_target_checked(&ev))/>
                    {tr("只看异常提示", "Flagged only")}
                </label>
                <div class="audit-buttons">
                    <button type="submit" class="primary" data-test="audit-search">{tr("查询", "Search")}</button>
                </div>
            </form>
            <p class="actions">
                <a class="button-link secondary" data-test="export-csv" download=""
                    href=move || api::audit_export_url(&applied.get(), "csv", lang.get())>{tr("导出 CSV", "Export CSV")}</a>
                <a class="button-link secondary" data-test="export-xlsx" download=""
                    href=move || api::audit_export_url(&applied.get(), "xlsx", lang.get())>{tr("导出 Excel", "Export Excel")}</a>
                <span class="muted small">{move || format!("{} {EXPORT_LIMIT} {}",
                    lang.get().pick("导出当前查询的全部记录，最多", "Exports every entry of this filter, at most"),
                    lang.get().pick("条", "rows"))}</span>
            </p>
            <ErrorNote error=error/>
        </section>
        <Transition fallback=move || view! { <p class="muted">{tr("加载中…", "Loading…")}</p> }>
            {move || log.get().and_then(|r| r.ok()).map(|page| {
                view! { <LogTable page=page on_page=Callback::new(search)/> }
            })}
        </Transition>
    }
}

/// One page of entries and the pager.
#[component]
fn LogTable(
    /// The page to show.
    page: AuditPage,
    /// Asks for another page.
    on_page: Callback<i64>,
) -> impl IntoView {
    let lang = state::lang();
    let (number, pages, total, truncated) = (page.page, page.pages(), page.total, page.truncated);
    let empty = page.entries.is_empty();
    view! {
        <section class="card">
            <p class="muted" data-test="audit-total">{move || match lang.get() {
                domain::Lang::Zh => format!("共 {total} 条，第 {number} / {pages} 页"),
                domain::Lang::En => format!("{total} entries, page {number} of {pages}"),
            }}</p>
            {truncated.then(|| view! { <p class="note">{tr(
                "只检查了最新的 100000 条记录；请缩小日期范围查看更早的异常",
                "Only the newest 100,000 entries were checked; narrow the dates for older ones")}</p> })}
            {empty.then(|| view! { <p class="muted" data-test="audit-empty">{tr("没有符合条件的记录", "No entries match")}</p> })}
            <div class="table-scroll">
                <table class="grid-table audit-table" data-test="audit-table">
                    <thead><tr>
                        <th>{tr("时间（北京时间）", "Time (China)")}</th><th>{tr("人员", "Person")}</th>
                        <th>{tr("操作", "Action")}</th><th>{tr("对象", "Object")}</th>
                        <th>{tr("详情", "Detail")}</th><th>{tr("提示", "Flags")}</th>
                    </tr></thead>
                    <tbody>
                        {page.entries.into_iter().map(|e| view! { <LogRow entry=e/> }).collect_view()}
                    </tbody>
                </table>
            </div>
            <div class="pager">
                <button type="button" data-test="audit-prev" disabled={ number <= 1 }
                    on:click=move |_| on_page.run(number - 1)>{tr("上一页", "Previous")}</button>
                <button type="button" data-test="audit-next" disabled={ number >= pages }
                    on:click=move |_| on_page.run(number + 1)>{tr("下一页", "Next")}</button>
            </div>
        </section>
    }
}

/// One entry.
#[component]
fn LogRow(entry: AuditEntry) -> impl IntoView {
    let lang = state::lang();
    let person = match (&entry.actor_name, &entry.actor_login) {
        (Some(name), Some(login)) => format!("{name}（{login}）"),
        (None, Some(login)) => login.clone(),
        (Some(name), None) => name.clone(),
        (None, None) => "—".to_string(),
    };
    let summary = detail_summary(&entry.detail);
    let full = entry.detail.to_string();
    let (kind, id) = (entry.entity.clone(), entry.entity_id.clone());
    let flagged = !entry.flags.is_empty();
    view! {
        <tr data-test="audit-row" data-action=entry.action.clone() class:flagged=flagged>
            <td class="num">{crate::format::china_time(entry.at)}</td>
            <td>{person}</td>
            <td>{entry.action_label.clone()}</td>
            <td>{move || format!("{} {id}", entity_label(&kind, lang.get()))}</td>
            <td class="detail" title=full>{summary}</td>
            <td>{entry.flags.iter().map(|f| {
                let f = *f;
                view! {
                    <span class=format!("chip flag flag-{}", f.code()) data-test=format!("flag-{}", f.code())
                        title=move || f.explanation(lang.get())>{move || f.label(lang.get())}</span>
                }
            }).collect_view()}</td>
        </tr>
    }
}
