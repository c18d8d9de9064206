//! 基础数据: retailers (search, edit, hand over to another customer
//! manager), the spec catalogue, the customer classes, and the imports of
//! the files the company already has (check, preview, map columns, apply).

use chrono::NaiveDate;
use domain::masterdata::clean::yuan_to_fen;
use domain::masterdata::records::{
    check_classes, check_retailer_edit, check_spec, reassign_effect, ClassList, ClassRecord,
    Reassign, Reassigned, RetailerEdit, RetailerPage, RetailerRecord, SpecRecord,
};
use domain::masterdata::{
    check_mapping, missing_fields, ImportJob, ImportKind, ImportState, Mapping, Need,
    RetailerStatus, PROBLEMS_LISTED,
};
use domain::quantity::{plain_number, Cartons};
use domain::{ErrorBody, ErrorCode, Lang, Role};
use leptos::html::Input;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::confirm::confirm;
use crate::components::error::field_error;
use crate::i18n::tr;
use crate::{api, state};

// ----- Shared helpers -----

fn reveal() {
    window().scroll_to_with_x_and_y(0.0, 0.0);
}

/// Waits `ms` milliseconds in the browser.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Today in China (UTC+8), from the browser's clock.
fn china_today() -> NaiveDate {
    let millis = js_sys::Date::now() as i64 + 8 * 3_600_000;
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

/// Yuan with two decimals from fen.
fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, (fen % 100).abs())
}

/// Field errors found in the browser, as the server would answer them.
fn local_errors<K: Into<String>>(pairs: Vec<(K, String)>, lang: Lang) -> ErrorBody {
    pairs.into_iter().fold(
        ErrorBody::new(
            ErrorCode::Validation,
            lang.pick(
                "请修正标红的内容后再保存",
                "Correct the marked fields, then save",
            ),
        ),
        |body, (field, message)| body.with_field(field, message),
    )
}

/// The first message for any of `keys`.
fn first_field_error(error: &Option<ErrorBody>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| field_error(error, k))
}

/// An error's message, in an element of class `error`.
#[component]
fn ErrorBox(
    #[prop(into)] error: Signal<Option<ErrorBody>>,
    #[prop(optional)] id: Option<&'static str>,
) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <p class="error error-note" role="alert" id=id>{e.message}</p> }
        })
    }
}

fn weekday_label(day: u8, lang: Lang) -> &'static str {
    match day {
        1 => lang.pick("周一", "Monday"),
        2 => lang.pick("周二", "Tuesday"),
        3 => lang.pick("周三", "Wednesday"),
        4 => lang.pick("周四", "Thursday"),
        5 => lang.pick("周五", "Friday"),
        6 => lang.pick("周六", "Saturday"),
        7 => lang.pick("周日", "Sunday"),
        _ => "—",
    }
}

fn role_of_session() -> impl Fn() -> Option<Role> + Copy {
    let session = state::session();
    move || session.session.with(|s| s.as_ref().map(|s| s.role))
}

// ----- Retailers -----

#[component]
pub fn MasterRetailersPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let q = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let page = RwSignal::new(0_i64);
    let list = RwSignal::new(None::<RetailerPage>);
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);
    let editing = RwSignal::new(None::<RetailerRecord>);
    let form_error = RwSignal::new(None::<ErrorBody>);
    let picked = RwSignal::new(Vec::<i64>::new());
    let manager = RwSignal::new(String::new());
    let confirming = RwSignal::new(false);
    let reassign_error = RwSignal::new(None::<ErrorBody>);
    let reassigned = RwSignal::new(None::<Reassigned>);
    let searches = RwSignal::new(0_u32);

    // Loads the page (the filters are read when it is fetched, not as they
    // are typed); `refresh` re-opens that retailer's form with its stored
    // values (after someone else changed it). Each fetch carries its number,
    // so that a result is taken in once.
    let refresh = StoredValue::new(None::<i64>);
    let fetches = StoredValue::new(0_u64);
    let taken = StoredValue::new(0_u64);
    let retailers = LocalResource::new(move || {
        let (text, st, p) = (
            q.get_untracked(),
            status.get_untracked(),
            page.get_untracked(),
        );
        let reopen = refresh.get_value();
        refresh.set_value(None);
        let n = fetches.get_value() + 1;
        fetches.set_value(n);
        async move {
            let result = api::master_retailers(&text, &st, p, lang.get_untracked()).await;
            (n, reopen, result)
        }
    });
    Effect::new(move |_| {
        let Some((n, reopen, result)) = retailers.get() else {
            return;
        };
        if taken.get_value() == n {
            return;
        }
        taken.set_value(n);
        match result {
            Ok(l) => {
                if let Some(id) = reopen {
                    let fresh = l.rows.iter().find(|r| r.id == id).cloned();
                    editing.set(fresh);
                }
                list.set(Some(l));
                error.set(None);
            }
            Err(e) => error.set(Some(e)),
        }
    });
    let load = move |reopen: Option<i64>| {
        refresh.set_value(reopen);
        retailers.refetch();
    };
    // Empty until they are in (or if they cannot be had).
    let classes_loaded = LocalResource::new(move || api::master_classes(lang.get_untracked()));
    let classes = Signal::derive(move || {
        classes_loaded
            .get()
            .and_then(Result::ok)
            .map(|c| c.classes)
            .unwrap_or_default()
    });
    let managers_loaded = LocalResource::new(move || api::manager_choices(lang.get_untracked()));
    let managers = Signal::derive(move || {
        managers_loaded
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
    });

    let search_now = move || {
        page.set(0);
        load(None);
    };
    let on_search = move |ev: leptos::ev::Event| {
        q.set(event_target_value(&ev));
        let n = searches.get_untracked().wrapping_add(1);
        searches.set(n);
        // A debounce timer, not a load: stays a task of its own.
        leptos::task::spawn_local(async move {
            sleep(350).await;
            if searches.try_get_untracked() == Some(n) {
                search_now();
            }
        });
    };

    let on_saved = Callback::new(move |r: RetailerRecord| {
        list.update(|l| {
            if let Some(l) = l {
                if let Some(row) = l.rows.iter_mut().find(|x| x.id == r.id) {
                    *row = r.clone();
                }
            }
        });
        editing.set(None);
        form_error.set(None);
        notice.set(Some(match lang.get_untracked() {
            Lang::Zh => format!("已保存 {}（{}）", r.name, r.licence_no),
            Lang::En => format!("Saved {} ({})", r.name, r.licence_no),
        }));
    });
    let on_conflict = Callback::new(move |id: i64| load(Some(id)));

    let toggle_pick = move |id: i64, on: bool| {
        picked.update(|p| {
            p.retain(|x| *x != id);
            if on {
                p.push(id);
            }
        });
        reassigned.set(None);
    };
    let page_ids = move || {
        list.with(|l| {
            l.as_ref()
                .map(|l| l.rows.iter().map(|r| r.id).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    };
    let all_picked = move || {
        let ids = page_ids();
        !ids.is_empty() && picked.with(|p| ids.iter().all(|i| p.contains(i)))
    };
    let manager_name = move || {
        let id: i64 = manager.get().parse().unwrap_or(0);
        managers.with(|m| {
            m.iter()
                .find(|m| m.id == id)
                .map(|m| format!("{}（{}）", m.name, m.login))
        })
    };
    let open_confirm = move |_| {
        reassign_error.set(None);
        reassigned.set(None);
        let l = lang.get_untracked();
        if picked.with_untracked(Vec::is_empty) {
            reassign_error.set(Some(ErrorBody::new(
                ErrorCode::Validation,
                l.pick(
                    "请先勾选要移交的零售户",
                    "Tick the retailers to hand over first",
                ),
            )));
            return;
        }
        if manager.get_untracked().parse::<i64>().is_err() {
            reassign_error.set(Some(ErrorBody::new(
                ErrorCode::Validation,
                l.pick("请选择新的客户经理", "Choose the new customer manager"),
            )));
            return;
        }
        confirming.set(true);
    };
    let reassign = Action::new_local(move |(request, csrf): &(Reassign, String)| {
        let (request, csrf) = (request.clone(), csrf.clone());
        async move { api::reassign_retailers(&request, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match reassign.value().get() {
        Some(Ok(done)) => {
            reassigned.set(Some(done));
            picked.set(Vec::new());
            confirming.set(false);
            reassign_error.set(None);
            load(None);
        }
        Some(Err(e)) => reassign_error.set(Some(e)),
        None => {}
    });
    let pending = reassign.pending();
    let do_reassign = move |_| {
        let request = Reassign {
            retailer_ids: picked.get_untracked(),
            manager_id: manager.get_untracked().parse().unwrap_or(0),
        };
        reassign.dispatch((request, session.csrf()));
    };

    view! {
        <h1>{tr("基础数据 · 零售户", "Master data · Retailers")}</h1>
        {move || notice.get().map(|n| view! { <p class="ok-note" role="status">{n}</p> })}
        {move || editing.get().map(|r| view! {
            <RetailerForm record=r classes=classes editing=editing error=form_error on_saved=on_saved on_conflict=on_conflict/>
        })}
        <section class="card">
            <form class="filters md-filters" on:submit=move |ev| { ev.prevent_default(); search_now(); }>
                <input type="search" id="retailer-search" placeholder=move || lang.get().pick("许可证号、店名或客户经理", "Licence, shop or customer manager")
                    prop:value=q on:input=on_search/>
                <select id="retailer-status" on:change=move |ev| { status.set(event_target_value(&ev)); search_now(); }>
                    <option value="">{tr("全部状态", "Every status")}</option>
                    {move || RetailerStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.label(lang.get())}</option> }).collect_view()}
                </select>
                <button type="submit" class="secondary">{tr("查询", "Search")}</button>
            </form>
            <ErrorBox error=error/>
            {move || list.get().map(|l| {
                let pages = ((l.total + l.page_size - 1) / l.page_size.max(1)).max(1);
                let shown_page = l.page + 1;
                let total = l.total;
                view! {
                    <p class="hint" id="retailer-total">{move || match lang.get() {
                        Lang::Zh => format!("共 {total} 户，第 {shown_page} / {pages} 页"),
                        Lang::En => format!("{total} retailers, page {shown_page} of {pages}"),
                    }}</p>
                    <div class="table-wrap">
                        <table class="grid-table md-table" id="master-retailers">
                            <thead><tr>
                                <th><input type="checkbox" class="pick-all" aria-label=move || lang.get().pick("全选本页", "Tick this page")
                                    prop:checked=all_picked
                                    on:change=move |ev| { let on = event_target_checked(&ev); for id in page_ids() { toggle_pick(id, on); } }/></th>
                                <th>{tr("许可证号", "Licence")}</th>
                                <th>{tr("客户名称", "Shop")}</th>
                                <th>{tr("档位", "Class")}</th>
                                <th>{tr("客户经理", "Customer manager")}</th>
                                <th>{tr("市场部", "Market dept.")}</th>
                                <th>{tr("订货日", "Order day")}</th>
                                <th>{tr("状态", "Status")}</th>
                                <th>{tr("操作", "Actions")}</th>
                            </tr></thead>
                            <tbody>
                                {l.rows.into_iter().map(|r| {
                                    let id = r.id;
                                    let for_edit = r.clone();
                                    let st = r.status;
                                    let day = r.order_weekday;
                                    view! {
                                        <tr data-licence=r.licence_no.clone() data-id=id.to_string() class:inactive=st != RetailerStatus::Open>
                                            <td><input type="checkbox" class="pick" aria-label=r.licence_no.clone()
                                                prop:checked=move || picked.with(|p| p.contains(&id))
                                                on:change=move |ev| toggle_pick(id, event_target_checked(&ev))/></td>
                                            <td class="code">{r.licence_no.clone()}</td>
                                            <td>{r.name.clone()}</td>
                                            <td>{r.class_label.clone()}</td>
                                            <td>{r.manager_name.clone()}</td>
                                            <td>{r.market_unit.clone()}</td>
                                            <td>{move || weekday_label(day, lang.get())}</td>
                                            <td>{move || st.label(lang.get())}{r.closed_on.clone().map(|d| view! { <span class="hint">" "{d}</span> })}</td>
                                            <td><button class="link-button edit" on:click=move |_| {
                                                form_error.set(None);
                                                notice.set(None);
                                                editing.set(Some(for_edit.clone()));
                                                reveal();
                                            }>{tr("编辑", "Edit")}</button></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <div class="pager">
                        <button class="secondary" disabled=move || { page.get() <= 0 } on:click=move |_| { page.update(|p| *p -= 1); load(None); }>{tr("上一页", "Previous")}</button>
                        <button class="secondary" disabled=move || { page.get() + 1 >= pages } on:click=move |_| { page.update(|p| *p += 1); load(None); }>{tr("下一页", "Next")}</button>
                    </div>
                }
            })}
        </section>
        <section class="card" id="reassign-card">
            <h2>{tr("移交给其他客户经理", "Hand over to another customer manager")}</h2>
            <p class="notice reassign-effect">{move || reassign_effect(lang.get())}</p>
            <p class="hint" id="reassign-count">{move || match lang.get() {
                Lang::Zh => format!("已勾选 {} 户", picked.with(Vec::len)),
                Lang::En => format!("{} retailers ticked", picked.with(Vec::len)),
            }}</p>
            <label class="field"><span>{tr("新客户经理", "New customer manager")}</span>
                <select id="reassign-manager" prop:value=manager on:change=move |ev| { manager.set(event_target_value(&ev)); confirming.set(false); }>
                    <option value="">{tr("请选择", "Choose")}</option>
                    {move || managers.get().into_iter().map(|m| view! {
                        <option value=m.id.to_string()>{format!("{}（{}）· {}", m.name, m.login, m.unit)}</option>
                    }).collect_view()}
                </select>
                {move || first_field_error(&reassign_error.get(), &["manager_id"]).map(|m| view! { <span class="field-error">{m}</span> })}
                {move || first_field_error(&reassign_error.get(), &["retailer_ids"]).map(|m| view! { <span class="field-error">{m}</span> })}
            </label>
            <button class="primary md-inline" id="reassign" on:click=open_confirm disabled=move || confirming.get()>{tr("移交…", "Hand over…")}</button>
            <Show when=move || confirming.get()>
                <div class="md-confirm" id="reassign-confirm-box" role="alertdialog">
                    <p><strong>{move || match lang.get() {
                        Lang::Zh => format!("确认将 {} 户零售户移交给 {}？", picked.with(Vec::len), manager_name().unwrap_or_default()),
                        Lang::En => format!("Hand {} retailers over to {}?", picked.with(Vec::len), manager_name().unwrap_or_default()),
                    }}</strong></p>
                    <p>{move || reassign_effect(lang.get())}</p>
                    <div class="button-row">
                        <button class="primary" id="reassign-confirm" disabled=move || pending.get() on:click=do_reassign>{tr("确认移交", "Hand over")}</button>
                        <button class="secondary" on:click=move |_| confirming.set(false)>{tr("取消", "Cancel")}</button>
                    </div>
                </div>
            </Show>
            <ErrorBox error=reassign_error/>
            <div id="reassign-result" role="status">
                {move || reassigned.get().map(|r| view! {
                    <p class="ok-note">{move || match lang.get() {
                        Lang::Zh => format!("已移交 {} 户；其中 {} 户在进行中的预测周期里，本周期仍留在原客户经理的预测表上。", r.moved, r.in_open_cycle),
                        Lang::En => format!("{} retailers handed over; {} of them stay on the former manager's sheet of the cycle under way.", r.moved, r.in_open_cycle),
                    }}</p>
                })}
            </div>
        </section>
    }
}

#[component]
fn RetailerForm(
    record: RetailerRecord,
    classes: Signal<Vec<ClassRecord>>,
    editing: RwSignal<Option<RetailerRecord>>,
    error: RwSignal<Option<ErrorBody>>,
    on_saved: Callback<RetailerRecord>,
    on_conflict: Callback<i64>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let r = StoredValue::new(record.clone());
    let name = RwSignal::new(record.name.clone());
    let phone = RwSignal::new(record.phone.clone());
    let address = RwSignal::new(record.address.clone());
    let class_code = RwSignal::new(record.class_code.clone());
    let weekday = RwSignal::new(record.order_weekday.to_string());
    let status = RwSignal::new(record.status.as_str().to_string());
    let closed_on = RwSignal::new(record.closed_on.clone().unwrap_or_default());
    let edit_retailer = Action::new_local(move |(id, edit, csrf): &(i64, RetailerEdit, String)| {
        let (id, edit, csrf) = (*id, edit.clone(), csrf.clone());
        async move {
            (
                id,
                api::edit_master_retailer(id, &edit, &csrf, lang.get_untracked()).await,
            )
        }
    });
    Effect::new(move |_| match edit_retailer.value().get() {
        Some((_, Ok(saved))) => on_saved.run(saved),
        Some((id, Err(e))) => {
            // A stale version (not a taken key, which names its field).
            let conflict = e.code == ErrorCode::Conflict && e.fields.is_empty();
            error.set(Some(e));
            if conflict {
                on_conflict.run(id);
            }
        }
        None => {}
    });
    let pending = edit_retailer.pending();

    let build = move || {
        let r = r.get_value();
        let mut e = RetailerEdit {
            version: r.version,
            ..RetailerEdit::default()
        };
        let changed = |now: String, was: &str| (now != was).then_some(now);
        e.name = changed(name.get_untracked(), &r.name);
        e.phone = changed(phone.get_untracked(), &r.phone);
        e.address = changed(address.get_untracked(), &r.address);
        e.class_code = changed(class_code.get_untracked(), &r.class_code);
        let day: u8 = weekday.get_untracked().parse().unwrap_or(0);
        e.order_weekday = (day != r.order_weekday).then_some(day);
        let st = RetailerStatus::parse(&status.get_untracked()).unwrap_or(r.status);
        e.status = (st != r.status).then_some(st);
        if st == RetailerStatus::Closed {
            let date = closed_on.get_untracked().trim().to_string();
            if !date.is_empty()
                && (e.status.is_some() || Some(date.as_str()) != r.closed_on.as_deref())
            {
                e.closed_on = Some(date);
            }
        }
        e
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let edit = build();
        let unchanged = RetailerEdit {
            version: edit.version,
            ..RetailerEdit::default()
        };
        if edit == unchanged {
            error.set(Some(ErrorBody::new(
                ErrorCode::Validation,
                l.pick("没有需要保存的修改", "Nothing was changed"),
            )));
            return;
        }
        let problems = check_retailer_edit(&edit, china_today(), l);
        if !problems.is_empty() {
            error.set(Some(local_errors(problems, l)));
            return;
        }
        edit_retailer.dispatch((r.get_value().id, edit, session.csrf()));
    };
    let at = move |keys: &'static [&'static str]| {
        move || {
            first_field_error(&error.get(), keys)
                .map(|m| view! { <span class="field-error">{m}</span> })
        }
    };
    let current_class = record.class_code.clone();
    let current_label = record.class_label.clone();
    view! {
        <section class="card md-edit" id="retailer-edit">
            <h2>{tr("编辑零售户", "Edit retailer")}" · "{record.licence_no.clone()}</h2>
            <form class="form-grid" on:submit=save novalidate>
                <label class="field"><span>{tr("客户名称", "Shop name")}</span>
                    <input id="edit-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>{at(&["name"])}</label>
                <label class="field"><span>{tr("联系电话", "Phone")}</span>
                    <input id="edit-phone" type="tel" prop:value=phone on:input=move |ev| phone.set(event_target_value(&ev))/>{at(&["phone"])}</label>
                <label class="field md-wide"><span>{tr("经营地址", "Address")}</span>
                    <input id="edit-address" prop:value=address on:input=move |ev| address.set(event_target_value(&ev))/>{at(&["address"])}</label>
                <label class="field"><span>{tr("客户档位", "Class")}</span>
                    <select id="edit-class" on:change=move |ev| class_code.set(event_target_value(&ev))>
                        {move || {
                            let mut options: Vec<(String, String)> = classes.with(|c| c.iter().map(|c| (c.code.clone(), c.label.clone())).collect());
                            if !options.iter().any(|(c, _)| *c == current_class) {
                                options.insert(0, (current_class.clone(), current_label.clone()));
                            }
                            options.into_iter().map(|(code, label)| {
                                let selected = code == class_code.get_untracked();
                                view! { <option value=code.clone() selected=selected>{format!("{label}（{code}）")}</option> }
                            }).collect_view()
                        }}
                    </select>{at(&["class_code", "class"])}</label>
                <label class="field"><span>{tr("订货日", "Order day")}</span>
                    <select id="edit-weekday" on:change=move |ev| weekday.set(event_target_value(&ev))>
                        {move || (1..=7u8).map(|d| {
                            let selected = d.to_string() == weekday.get_untracked();
                            view! { <option value=d.to_string() selected=selected>{weekday_label(d, lang.get())}</option> }
                        }).collect_view()}
                    </select>{at(&["order_weekday"])}</label>
                <label class="field"><span>{tr("状态", "Status")}</span>
                    <select id="edit-status" on:change=move |ev| status.set(event_target_value(&ev))>
                        {move || RetailerStatus::ALL.into_iter().map(|s| {
                            let selected = s.as_str() == status.get_untracked();
                            view! { <option value=s.as_str() selected=selected>{s.label(lang.get())}</option> }
                        }).collect_view()}
                    </select>{at(&["status"])}</label>
                <label class="field"><span>{tr("停业日期（状态为停业时必填）", "Closed on (needed when closed)")}</span>
                    <input id="edit-closed-on" type="date" prop:value=closed_on on:input=move |ev| closed_on.set(event_target_value(&ev))
                        on:change=move |ev| closed_on.set(event_target_value(&ev))/>{at(&["closed_on"])}</label>
                <ErrorBox error=error/>
                <div class="button-row">
                    <button type="submit" class="primary" id="edit-save" disabled=move || pending.get()>{tr("保存", "Save")}</button>
                    <button type="button" class="secondary" id="edit-cancel" on:click=move |_| { error.set(None); editing.set(None); }>{tr("取消", "Cancel")}</button>
                </div>
            </form>
        </section>
    }
}

// ----- Specs -----

fn new_spec() -> SpecRecord {
    SpecRecord {
        id: 0,
        code: String::new(),
        name: String::new(),
        brand: String::new(),
        price_class: 0,
        wholesale_fen: 0,
        retail_fen: 0,
        order_multiple: 1,
        orderable: true,
        scarce: false,
        new_product: false,
        version: 0,
    }
}

#[component]
pub fn MasterSpecsPage() -> impl IntoView {
    let lang = state::lang();
    let list = RwSignal::new(None::<Vec<SpecRecord>>);
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);
    let form = RwSignal::new(None::<SpecRecord>);
    let form_error = RwSignal::new(None::<ErrorBody>);
    let filter = RwSignal::new(String::new());

    // `refresh` re-opens that spec's form with its stored values (after
    // someone else changed it). Each fetch carries its number, so that a
    // result is taken in once.
    let refresh = StoredValue::new(None::<i64>);
    let fetches = StoredValue::new(0_u64);
    let taken = StoredValue::new(0_u64);
    let specs = LocalResource::new(move || {
        let reopen = refresh.get_value();
        refresh.set_value(None);
        let n = fetches.get_value() + 1;
        fetches.set_value(n);
        async move { (n, reopen, api::master_specs(lang.get_untracked()).await) }
    });
    Effect::new(move |_| {
        let Some((n, reopen, result)) = specs.get() else {
            return;
        };
        if taken.get_value() == n {
            return;
        }
        taken.set_value(n);
        match result {
            Ok(specs) => {
                if let Some(id) = reopen {
                    let fresh = specs.iter().find(|s| s.id == id).cloned();
                    form.set(fresh);
                }
                list.set(Some(specs));
                error.set(None);
            }
            Err(e) => error.set(Some(e)),
        }
    });
    let load = move |reopen: Option<i64>| {
        refresh.set_value(reopen);
        specs.refetch();
    };
    let on_saved = Callback::new(move |s: SpecRecord| {
        list.update(|l| {
            if let Some(l) = l {
                match l.iter_mut().find(|x| x.id == s.id) {
                    Some(row) => *row = s.clone(),
                    None => l.push(s.clone()),
                }
            }
        });
        form.set(None);
        form_error.set(None);
        notice.set(Some(match lang.get_untracked() {
            Lang::Zh => format!("已保存品规 {}（{}）", s.name, s.code),
            Lang::En => format!("Saved spec {} ({})", s.name, s.code),
        }));
    });
    let on_conflict = Callback::new(move |id: i64| load(Some(id)));

    view! {
        <h1>{tr("基础数据 · 品规", "Master data · Specs")}</h1>
        {move || notice.get().map(|n| view! { <p class="ok-note" role="status">{n}</p> })}
        <div class="button-row md-actions">
            <button class="primary md-inline" id="spec-new" on:click=move |_| { form_error.set(None); notice.set(None); form.set(Some(new_spec())); }>{tr("新增品规", "New spec")}</button>
        </div>
        {move || form.get().map(|s| view! { <SpecForm spec=s form=form error=form_error on_saved=on_saved on_conflict=on_conflict/> })}
        <section class="card">
            <div class="filters md-filters">
                <input type="search" id="spec-search" placeholder=move || lang.get().pick("编码、名称或品牌", "Code, name or brand")
                    prop:value=filter on:input=move |ev| filter.set(event_target_value(&ev))/>
            </div>
            <ErrorBox error=error/>
            <div class="table-wrap">
                <table class="grid-table md-table" id="master-specs">
                    <thead><tr>
                        <th>{tr("卷烟编码", "Code")}</th>
                        <th>{tr("名称", "Name")}</th>
                        <th>{tr("品牌", "Brand")}</th>
                        <th class="num">{tr("价类", "Class")}</th>
                        <th class="num">{tr("批发价（元）", "Wholesale (¥)")}</th>
                        <th class="num">{tr("零售价（元）", "Retail (¥)")}</th>
                        <th class="num">{tr("倍数", "Multiple")}</th>
                        <th>{tr("标识", "Flags")}</th>
                        <th>{tr("操作", "Actions")}</th>
                    </tr></thead>
                    <tbody>
                        {move || {
                            let needle = filter.get().trim().to_lowercase();
                            list.get().unwrap_or_default().into_iter()
                                .filter(|s| needle.is_empty() || s.code.to_lowercase().contains(&needle) || s.name.to_lowercase().contains(&needle) || s.brand.to_lowercase().contains(&needle))
                                .map(|s| {
                                    let for_edit = s.clone();
                                    view! {
                                        <tr data-code=s.code.clone() class:inactive=!s.orderable>
                                            <td class="code">{s.code.clone()}</td>
                                            <td>{s.name.clone()}</td>
                                            <td>{s.brand.clone()}</td>
                                            <td class="num">{s.price_class}</td>
                                            <td class="num">{yuan(s.wholesale_fen)}</td>
                                            <td class="num">{yuan(s.retail_fen)}</td>
                                            <td class="num">{s.order_multiple}</td>
                                            <td>
                                                {(!s.orderable).then(|| view! { <span class="badge off">{tr("停订", "Not orderable")}</span> })}
                                                {s.scarce.then(|| view! { <span class="badge warn">{tr("紧俏", "Scarce")}</span> })}
                                                {s.new_product.then(|| view! { <span class="badge ok">{tr("新品", "New")}</span> })}
                                            </td>
                                            <td><button class="link-button edit" on:click=move |_| {
                                                form_error.set(None);
                                                notice.set(None);
                                                form.set(Some(for_edit.clone()));
                                                reveal();
                                            }>{tr("编辑", "Edit")}</button></td>
                                        </tr>
                                    }
                                }).collect_view()
                        }}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn SpecForm(
    spec: SpecRecord,
    form: RwSignal<Option<SpecRecord>>,
    error: RwSignal<Option<ErrorBody>>,
    on_saved: Callback<SpecRecord>,
    on_conflict: Callback<i64>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let is_new = spec.id == 0;
    let base = StoredValue::new(spec.clone());
    let code = RwSignal::new(spec.code.clone());
    let name = RwSignal::new(spec.name.clone());
    let brand = RwSignal::new(spec.brand.clone());
    let price_class = RwSignal::new(if spec.price_class == 0 {
        String::new()
    } else {
        spec.price_class.to_string()
    });
    let wholesale = RwSignal::new(if is_new {
        String::new()
    } else {
        yuan(spec.wholesale_fen)
    });
    let retail = RwSignal::new(if is_new {
        String::new()
    } else {
        yuan(spec.retail_fen)
    });
    let multiple = RwSignal::new(spec.order_multiple.to_string());
    let orderable = RwSignal::new(spec.orderable);
    let scarce = RwSignal::new(spec.scarce);
    let new_product = RwSignal::new(spec.new_product);
    let save_spec = Action::new_local(move |(record, csrf): &(SpecRecord, String)| {
        let (record, csrf) = (record.clone(), csrf.clone());
        async move {
            let id = record.id;
            (
                id,
                api::save_master_spec(&record, &csrf, lang.get_untracked()).await,
            )
        }
    });
    Effect::new(move |_| match save_spec.value().get() {
        Some((_, Ok(saved))) => on_saved.run(saved),
        Some((id, Err(e))) => {
            let conflict = e.code == ErrorCode::Conflict && e.fields.is_empty() && id != 0;
            error.set(Some(e));
            if conflict {
                on_conflict.run(id);
            }
        }
        None => {}
    });
    let pending = save_spec.pending();

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        let mut money = |key: &'static str, raw: String| match yuan_to_fen(&raw) {
            Ok(fen) => fen,
            Err(d) => {
                problems.push((key, d.message(l)));
                0
            }
        };
        let wholesale_fen = money("wholesale_fen", wholesale.get_untracked());
        let retail_fen = money("retail_fen", retail.get_untracked());
        let order_multiple = match Cartons::parse(&multiple.get_untracked()) {
            Ok(m) => m.get(),
            Err(e) => {
                problems.push(("order_multiple", e.message(l).to_string()));
                0
            }
        };
        let record = SpecRecord {
            code: code.get_untracked().trim().to_string(),
            name: name.get_untracked(),
            brand: brand.get_untracked(),
            price_class: plain_number(&price_class.get_untracked())
                .and_then(|t| t.parse().ok())
                .unwrap_or(0),
            wholesale_fen,
            retail_fen,
            order_multiple,
            orderable: orderable.get_untracked(),
            scarce: scarce.get_untracked(),
            new_product: new_product.get_untracked(),
            ..base.get_value()
        };
        for (key, message) in check_spec(&record, l) {
            if !problems.iter().any(|(k, _)| *k == key) {
                problems.push((key, message));
            }
        }
        if !problems.is_empty() {
            error.set(Some(local_errors(problems, l)));
            return;
        }
        save_spec.dispatch((record, session.csrf()));
    };
    let at = move |keys: &'static [&'static str]| {
        move || {
            first_field_error(&error.get(), keys)
                .map(|m| view! { <span class="field-error">{m}</span> })
        }
    };
    view! {
        <section class="card md-edit" id="spec-form">
            <h2>{move || if is_new { lang.get().pick("新增品规", "New spec") } else { lang.get().pick("编辑品规", "Edit spec") }}</h2>
            <form class="form-grid" on:submit=save novalidate>
                <label class="field"><span>{tr("卷烟编码", "Spec code")}</span>
                    <input id="spec-code" inputmode="numeric" autocomplete="off" readonly=!is_new prop:value=code on:input=move |ev| code.set(event_target_value(&ev))/>{at(&["code"])}</label>
                <label class="field"><span>{tr("卷烟名称", "Name")}</span>
                    <input id="spec-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>{at(&["name"])}</label>
                <label class="field"><span>{tr("品牌", "Brand")}</span>
                    <input id="spec-brand" prop:value=brand on:input=move |ev| brand.set(event_target_value(&ev))/>{at(&["brand"])}</label>
                <label class="field"><span>{tr("价类", "Price class")}</span>
                    <select id="spec-price-class" on:change=move |ev| price_class.set(event_target_value(&ev))>
                        <option value="" selected=price_class.get_untracked().is_empty()>{tr("请选择", "Choose")}</option>
                        {(1..=5u8).map(|c| {
                            let selected = c.to_string() == price_class.get_untracked();
                            view! { <option value=c.to_string() selected=selected>{move || match lang.get() { Lang::Zh => format!("{c} 类"), Lang::En => format!("Class {c}") }}</option> }
                        }).collect_view()}
                    </select>{at(&["price_class"])}</label>
                <label class="field"><span>{tr("批发价（元/条）", "Wholesale price (¥ a carton)")}</span>
                    <input id="spec-wholesale" inputmode="decimal" placeholder="0.00" prop:value=wholesale on:input=move |ev| wholesale.set(event_target_value(&ev))/>{at(&["wholesale_fen", "wholesale"])}</label>
                <label class="field"><span>{tr("零售价（元/条）", "Retail price (¥ a carton)")}</span>
                    <input id="spec-retail" inputmode="decimal" placeholder="0.00" prop:value=retail on:input=move |ev| retail.set(event_target_value(&ev))/>{at(&["retail_fen", "retail"])}</label>
                <label class="field"><span>{tr("订货倍数", "Order multiple")}</span>
                    <input id="spec-multiple" type="number" min="1" max="50" inputmode="numeric" prop:value=multiple on:input=move |ev| multiple.set(event_target_value(&ev))/>{at(&["order_multiple"])}</label>
                <fieldset class="choices md-checks">
                    <label class="check"><input type="checkbox" id="spec-orderable" prop:checked=orderable on:change=move |ev| orderable.set(event_target_checked(&ev))/>{tr("可订货", "Orderable")}</label>
                    <label class="check"><input type="checkbox" id="spec-scarce" prop:checked=scarce on:change=move |ev| scarce.set(event_target_checked(&ev))/>{tr("紧俏", "Scarce")}</label>
                    <label class="check"><input type="checkbox" id="spec-new-product" prop:checked=new_product on:change=move |ev| new_product.set(event_target_checked(&ev))/>{tr("新品", "New product")}</label>
                </fieldset>
                <ErrorBox error=error/>
                <div class="button-row">
                    <button type="submit" class="primary" id="spec-save" disabled=move || pending.get()>{tr("保存", "Save")}</button>
                    <button type="button" class="secondary" id="spec-cancel" on:click=move |_| { error.set(None); form.set(None); }>{tr("取消", "Cancel")}</button>
                </div>
            </form>
        </section>
    }
}

// ----- Classes -----

/// One row of the class list as edited.
#[derive(Clone, Copy)]
struct ClassRow {
    key: u64,
    code: RwSignal<String>,
    label: RwSignal<String>,
    retailers: i64,
    /// The code it was saved with (empty for a new row).
    saved_code: StoredValue<String>,
}

#[component]
pub fn ClassesPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let rows = RwSignal::new(Vec::<ClassRow>::new());
    let saved = RwSignal::new(Vec::<String>::new());
    let next_key = StoredValue::new(0_u64);
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);
    // The rows' signals belong to the page, not to the effect that takes a
    // list in (which would dispose them when it runs again).
    let owner = StoredValue::new(Owner::current().unwrap_or_default());

    let make_row = move |c: &ClassRecord| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        owner.with_value(|o| {
            o.with(|| ClassRow {
                key,
                code: RwSignal::new(c.code.clone()),
                label: RwSignal::new(c.label.clone()),
                retailers: c.retailers,
                saved_code: StoredValue::new(c.code.clone()),
            })
        })
    };
    let show = move |list: ClassList| {
        let mut classes = list.classes;
        classes.sort_by_key(|c| c.rank);
        saved.set(classes.iter().map(|c| c.code.clone()).collect());
        rows.set(classes.iter().map(make_row).collect());
    };
    let loaded = LocalResource::new(move || api::master_classes(lang.get_untracked()));
    Effect::new(move |_| match loaded.get() {
        Some(Ok(list)) => show(list),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let save_classes = Action::new_local(move |(list, csrf): &(ClassList, String)| {
        let (list, csrf) = (list.clone(), csrf.clone());
        async move { api::save_master_classes(&list, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match save_classes.value().get() {
        Some(Ok(list)) => {
            show(list);
            error.set(None);
            notice.set(Some(
                lang.get_untracked()
                    .pick("已保存客户档位", "The classes are saved")
                    .into(),
            ));
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let pending = save_classes.pending();
    let collect = move || {
        rows.with_untracked(|r| {
            r.iter()
                .enumerate()
                .map(|(i, row)| ClassRecord {
                    code: row.code.get_untracked().trim().to_string(),
                    label: row.label.get_untracked().trim().to_string(),
                    rank: i as i64 + 1,
                    retailers: row.retailers,
                })
                .collect::<Vec<_>>()
        })
    };
    let move_row = move |key: u64, up: bool| {
        rows.update(|r| {
            if let Some(i) = r.iter().position(|x| x.key == key) {
                let j = if up { i.checked_sub(1) } else { Some(i + 1) };
                if let Some(j) = j.filter(|j| *j < r.len()) {
                    r.swap(i, j);
                }
            }
        });
        error.set(None);
    };
    let remove_row = move |key: u64| {
        rows.update(|r| r.retain(|x| x.key != key));
        error.set(None);
    };
    let add_row = move |_| {
        let row = make_row(&ClassRecord {
            code: String::new(),
            label: String::new(),
            rank: 0,
            retailers: 0,
        });
        row.saved_code.set_value(String::new());
        rows.update(|r| r.push(row));
        notice.set(None);
    };
    let save = move |_| {
        let l = lang.get_untracked();
        let classes = collect();
        let problems = check_classes(&classes, l);
        if !problems.is_empty() {
            error.set(Some(local_errors(problems, l)));
            return;
        }
        let removed: Vec<String> = saved.with_untracked(|s| {
            s.iter()
                .filter(|code| {
                    rows.with_untracked(|r| {
                        !r.iter().any(|row| row.saved_code.get_value() == **code)
                    })
                })
                .cloned()
                .collect()
        });
        if !removed.is_empty()
            && !confirm(&match l {
                Lang::Zh => format!("删除档位 {}？保存后这些档位不再可选。", removed.join("、")),
                Lang::En => format!(
                    "Remove the classes {}? Once saved they can no longer be chosen.",
                    removed.join(", ")
                ),
            })
        {
            return;
        }
        save_classes.dispatch((ClassList { classes }, session.csrf()));
    };
    let at = move |key: u64, field: &'static str| {
        move || {
            let i = rows.with(|r| r.iter().position(|x| x.key == key))?;
            field_error(&error.get(), &format!("classes[{i}].{field}"))
                .map(|m| view! { <span class="field-error">{m}</span> })
        }
    };

    view! {
        <h1>{tr("基础数据 · 客户档位", "Master data · Customer classes")}</h1>
        {move || notice.get().map(|n| view! { <p class="ok-note" role="status">{n}</p> })}
        <section class="card">
            <p class="hint">{tr(
                "从上到下依次为第 1、2、3… 位（排名按行序保存）。已有零售户的档位不能删除。",
                "Rows are ranked 1, 2, 3… from the top, as saved. A class with retailers cannot be removed.")}</p>
            <div class="table-wrap">
                <table class="grid-table md-table" id="classes">
                    <thead><tr>
                        <th class="num">{tr("序", "#")}</th>
                        <th>{tr("编码", "Code")}</th>
                        <th>{tr("名称", "Name")}</th>
                        <th class="num">{tr("零售户", "Retailers")}</th>
                        <th>{tr("操作", "Actions")}</th>
                    </tr></thead>
                    <tbody>
                        <For each=move || rows.get() key=|r| r.key let:row>
                            {
                                let key = row.key;
                                let in_use = row.retailers > 0;
                                let position = move || rows.with(|r| r.iter().position(|x| x.key == key).unwrap_or(0));
                                view! {
                                    <tr class="class-row" data-code=move || row.saved_code.get_value()>
                                        <td class="num">{move || position() + 1}</td>
                                        <td><input class="class-code" maxlength="20" aria-label=move || lang.get().pick("编码", "Code")
                                            prop:value=row.code on:input=move |ev| row.code.set(event_target_value(&ev))/>{at(key, "code")}</td>
                                        <td><input class="class-label" maxlength="20" aria-label=move || lang.get().pick("名称", "Name")
                                            prop:value=row.label on:input=move |ev| row.label.set(event_target_value(&ev))/>{at(key, "label")}</td>
                                        <td class="num">{row.retailers}</td>
                                        <td class="md-row-actions">
                                            <button type="button" class="link-button up" disabled=move || { position() == 0 }
                                                aria-label=move || lang.get().pick("上移", "Move up") on:click=move |_| move_row(key, true)>"↑"</button>
                                            <button type="button" class="link-button down" disabled=move || { position() + 1 >= rows.with(Vec::len) }
                                                aria-label=move || lang.get().pick("下移", "Move down") on:click=move |_| move_row(key, false)>"↓"</button>
                                            <button type="button" class="link-button danger remove" disabled=in_use
                                                title=move || if in_use { lang.get().pick("已有零售户使用该档位，不能删除", "Retailers are in this class; it cannot be removed") } else { "" }
                                                on:click=move |_| remove_row(key)>{tr("删除", "Remove")}</button>
                                        </td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </div>
            <ErrorBox error=error/>
            <div class="button-row">
                <button type="button" class="secondary" id="class-add" on:click=add_row>{tr("添加档位", "Add a class")}</button>
                <button type="button" class="primary md-inline" id="classes-save" disabled=move || pending.get() on:click=save>{tr("保存", "Save")}</button>
            </div>
        </section>
    }
}

// ----- Imports -----

fn need_label(need: Need, lang: Lang) -> &'static str {
    match need {
        Need::Always => lang.pick("必填", "required"),
        Need::ToAdd => lang.pick("新增时必填", "required to add"),
        Need::Optional => lang.pick("可选", "optional"),
    }
}

fn allowed_kinds(role: Option<Role>) -> Vec<ImportKind> {
    ImportKind::ALL
        .into_iter()
        .filter(|k| role.is_some_and(|r| k.importers().contains(&r)))
        .collect()
}

/// The uploaded file, kept so a recheck and the apply send the same bytes.
#[derive(Clone)]
struct Upload {
    name: String,
    bytes: Vec<u8>,
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let role = role_of_session();
    let query = use_query_map();
    let chosen = RwSignal::new(
        query
            .with_untracked(|q| q.get("kind"))
            .and_then(|k| ImportKind::parse(&k)),
    );
    let kind = Memo::new(move |_| {
        let allowed = allowed_kinds(role());
        chosen
            .get()
            .filter(|k| allowed.contains(k))
            .or(allowed.first().copied())
    });
    let file_input = NodeRef::<Input>::new();
    let upload = StoredValue::new(None::<Upload>);
    let job = RwSignal::new(None::<ImportJob>);
    let error = RwSignal::new(None::<ErrorBody>);
    let mapping = RwSignal::new(Mapping::new());
    let generation = RwSignal::new(0_u32);
    let busy = RwSignal::new(false);

    // Shows a job and follows it every 500 ms while it runs.
    let follow = move |first: ImportJob| {
        let mine = generation.get_untracked().wrapping_add(1);
        generation.set(mine);
        leptos::task::spawn_local(async move {
            let mut current = first;
            loop {
                let running = current.state.running();
                let id = current.id;
                if current.state == ImportState::Checked {
                    if let Some(p) = &current.preview {
                        let _ =
                            mapping.try_set(p.columns.iter().map(|c| c.field.clone()).collect());
                    }
                }
                if job.try_set(Some(current)).is_some() {
                    break;
                }
                if !running {
                    break;
                }
                sleep(500).await;
                if generation.try_get_untracked() != Some(mine) {
                    break;
                }
                let Some(l) = lang.try_get_untracked() else {
                    break;
                };
                match api::import_job(id, l).await {
                    Ok(j) => current = j,
                    Err(e) => {
                        let _ = error.try_set(Some(e));
                        break;
                    }
                }
            }
        });
    };
    let reset = move || {
        generation.update(|g| *g = g.wrapping_add(1));
        job.set(None);
        error.set(None);
        mapping.set(Mapping::new());
    };

    // Uploads the file (again, with `with_mapping`) for a new check.
    let send = move |with_mapping: Option<Mapping>| {
        let Some(k) = kind.get_untracked() else {
            return;
        };
        let l = lang.get_untracked();
        let csrf = session.csrf();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let Some(up) = upload.try_get_value().flatten() else {
                let _ = busy.try_set(false);
                return;
            };
            match api::start_import(k, &up.name, with_mapping.as_ref(), &up.bytes, &csrf, l).await {
                Ok(j) => follow(j),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
            let _ = busy.try_set(false);
        });
    };
    let check = move |_| {
        let l = lang.get_untracked();
        let file = file_input
            .get_untracked()
            .and_then(|input| input.files())
            .and_then(|f| f.get(0));
        let Some(file) = file else {
            error.set(Some(ErrorBody::new(
                ErrorCode::Validation,
                l.pick("请先选择文件", "Choose a file first"),
            )));
            return;
        };
        reset();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let bytes = match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buffer) => js_sys::Uint8Array::new(&buffer).to_vec(),
                Err(_) => {
                    let _ = error.try_set(Some(ErrorBody::new(
                        ErrorCode::BadRequest,
                        l.pick("无法读取所选文件", "The chosen file cannot be read"),
                    )));
                    let _ = busy.try_set(false);
                    return;
                }
            };
            if upload
                .try_set_value(Some(Upload {
                    name: file.name(),
                    bytes,
                }))
                .is_some()
            {
                return;
            }
            send(None);
        });
    };
    let recheck = move |_| {
        let m = mapping.get_untracked();
        send(Some(m));
    };
    let apply = move |only_good: bool| {
        let Some(j) = job.get_untracked() else {
            return;
        };
        let Some(p) = j.preview.clone() else {
            return;
        };
        let l = lang.get_untracked();
        let good = p.rows.saturating_sub(p.bad);
        let message = match (l, only_good) {
            (Lang::Zh, false) => format!(
                "确认导入“{}”？将新增 {} 条、修改 {} 条，导入后不能撤销。",
                j.file_name, p.add, p.change
            ),
            (Lang::En, false) => format!(
                "Import “{}”? {} records are added and {} changed; this cannot be undone.",
                j.file_name, p.add, p.change
            ),
            (Lang::Zh, true) => format!(
                "仅导入正确的 {good} 行？有误的 {} 行不会导入，系统不会为它们写入任何内容。导入后不能撤销。",
                p.bad
            ),
            (Lang::En, true) => format!(
                "Import only the {good} good rows? The {} bad rows are not imported and nothing is written for them. This cannot be undone.",
                p.bad
            ),
        };
        if !confirm(&message) {
            return;
        }
        let Some(up) = upload.get_value() else {
            return;
        };
        let csrf = session.csrf();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::apply_import(j.id, only_good, &up.bytes, &csrf, l).await {
                Ok(next) => follow(next),
                Err(e) => {
                    let _ = error.try_set(Some(e));
                }
            }
            let _ = busy.try_set(false);
        });
    };
    let mapping_problem = move || {
        let k = kind.get()?;
        let m = mapping.get();
        check_mapping(k, &m, lang.get()).err()
    };
    let still_missing = move || {
        let k = kind.get()?;
        let m = mapping.get();
        let missing = missing_fields(k, &m);
        (!missing.is_empty()).then(|| {
            let l = lang.get();
            let names: Vec<&str> = missing.iter().map(|f| f.label(l)).collect();
            match l {
                Lang::Zh => format!("按当前对应仍缺少：{}", names.join("、")),
                Lang::En => format!("Still missing with this mapping: {}", names.join(", ")),
            }
        })
    };

    view! {
        <h1>{tr("基础数据 · 导入", "Master data · Import")}</h1>
        <section class="card">
            <div class="form-grid">
                <label class="field"><span>{tr("导入内容", "What the file holds")}</span>
                    <select id="import-kind" prop:value=move || kind.get().map(|k| k.as_str()).unwrap_or("") on:change=move |ev| { chosen.set(ImportKind::parse(&event_target_value(&ev))); reset(); }>
                        {move || allowed_kinds(role()).into_iter().map(|k| {
                            let selected = kind.get() == Some(k);
                            view! { <option value=k.as_str() selected=selected>{k.label(lang.get())}</option> }
                        }).collect_view()}
                    </select></label>
                <label class="field"><span>{tr("文件（xlsx 或 csv）", "File (xlsx or csv)")}</span>
                    <input type="file" id="import-file" node_ref=file_input accept=".xlsx,.csv,.txt,.xls"
                        on:change=move |_| { error.set(None); }/>
                </label>
            </div>
            {move || kind.get().map(|k| {
                let l = lang.get();
                view! {
                    <div class="hint md-kind-hint" id="import-hint">
                        <p>{match l { Lang::Zh => "可识别的列（表头用以下名称即可自动对应）：", Lang::En => "Recognised columns (headers with these names are matched):" }}</p>
                        <ul class="md-fields">
                            {k.fields().iter().map(|f| view! {
                                <li class:required=f.need == Need::Always>
                                    <strong>{f.label(l)}</strong>" "<span>{format!("（{}）", need_label(f.need, l))}</span>
                                    {(!f.aliases.is_empty()).then(|| view! { <span class="md-aliases">{format!(" {} {}", l.pick("也可写作", "also"), f.aliases.join(" / "))}</span> })}
                                </li>
                            }).collect_view()}
                        </ul>
                    </div>
                }
            })}
            <button class="primary md-inline" id="import-check" disabled=move || busy.get() || job.with(|j| j.as_ref().is_some_and(|j| j.state.running())) on:click=check>
                {tr("上传并检查", "Upload and check")}
            </button>
            {move || (allowed_kinds(role()).is_empty() && session.checked.get() && session.session.with(Option::is_some)).then(|| view! {
                <p class="error error-note">{tr("您的角色不能导入文件。", "Your role does not import files.")}</p>
            })}
        </section>
        {move || {
            let running = job.with(|j| j.as_ref().map(|j| (j.state, j.done, j.total))).filter(|(s, _, _)| s.running());
            (busy.get() || running.is_some()).then(|| {
                let (state, done, total) = running.unwrap_or((ImportState::Checking, 0, 0));
                view! {
                    <section class="card" id="import-progress" role="status">
                        {if total > 0 {
                            view! { <progress max=total.to_string() value=done.to_string()></progress> }.into_any()
                        } else {
                            view! { <progress></progress> }.into_any()
                        }}
                        <p>{move || match (lang.get(), running.is_some(), state) {
                            (Lang::Zh, false, _) => "正在上传…".to_string(),
                            (Lang::En, false, _) => "Uploading…".to_string(),
                            (Lang::Zh, true, ImportState::Applying) => format!("正在导入：{done} / {total} 行"),
                            (Lang::En, true, ImportState::Applying) => format!("Importing: {done} of {total} rows"),
                            (Lang::Zh, true, _) => format!("正在检查：{done} / {total} 行"),
                            (Lang::En, true, _) => format!("Checking: {done} of {total} rows"),
                        }}</p>
                    </section>
                }
            })
        }}
        <div id="import-error" class:error=move || error.with(Option::is_some) || job.with(|j| j.as_ref().is_some_and(|j| j.error.is_some()))>
            <ErrorBox error=error/>
            {move || job.get().and_then(|j| j.error.clone().map(|e| view! {
                <p class="error error-note" role="alert">{move || match (lang.get(), j.state) {
                    (Lang::Zh, ImportState::Failed) => format!("导入失败：{e}"),
                    (Lang::En, ImportState::Failed) => format!("The import failed: {e}"),
                    (Lang::Zh, _) => format!("未能导入：{e}"),
                    (Lang::En, _) => format!("Not imported: {e}"),
                }}</p>
            }))}
        </div>
        {move || job.get().filter(|j| j.state == ImportState::Applied).map(|j| {
            let r = j.result.unwrap_or_default();
            view! {
                <section class="card ok-card" id="import-result" role="status">
                    <h2>{tr("导入完成", "Imported")}</h2>
                    <p>{move || match lang.get() {
                        Lang::Zh => format!("“{}”：新增 {} 条，修改 {} 条，不变 {} 条，跳过 {} 条（有误未导入）。", j.file_name, r.added, r.changed, r.unchanged, r.skipped),
                        Lang::En => format!("“{}”: {} added, {} changed, {} unchanged, {} skipped (bad rows, not imported).", j.file_name, r.added, r.changed, r.unchanged, r.skipped),
                    }}</p>
                </section>
            }
        })}
        {move || job.get().filter(|j| j.state == ImportState::Checked).and_then(|j| j.preview.clone().map(|p| (j, p))).map(|(j, p)| {
            let l = lang.get();
            let good = p.rows.saturating_sub(p.bad);
            let can_apply = p.bad == 0 && p.missing.is_empty();
            let bad = p.bad;
            let missing_ok = p.missing.is_empty();
            let fields = p.fields.clone();
            let is_history = j.kind == ImportKind::History;
            view! {
                <section class="card" id="import-preview">
                    <h2>{match l { Lang::Zh => format!("检查结果 · {}", j.file_name), Lang::En => format!("Check · {}", j.file_name) }}</h2>
                    <div class="md-counts">
                        <div class="md-count"><span class="md-count-value" id="preview-add">{p.add}</span><span>{l.pick("新增", "Add")}</span></div>
                        <div class="md-count"><span class="md-count-value" id="preview-change">{p.change}</span><span>{l.pick("修改", "Change")}</span></div>
                        <div class="md-count"><span class="md-count-value" id="preview-same">{p.same}</span><span>{l.pick("不变", "Same")}</span></div>
                        <div class="md-count" class:bad=bad != 0><span class="md-count-value" id="preview-bad">{p.bad}</span><span>{l.pick("有误", "Bad")}</span></div>
                        <div class="md-count"><span class="md-count-value" id="preview-repaired">{p.repaired}</span><span>{l.pick("已修复", "Repaired")}</span></div>
                    </div>
                    <p class="hint">{match l {
                        Lang::Zh => format!("共 {} 行数据；编码 {}；{}", p.rows, p.encoding, if p.header_row { "第 1 行为表头" } else { "没有表头行，按默认列序读取" }),
                        Lang::En => format!("{} data rows; encoding {}; {}", p.rows, p.encoding, if p.header_row { "line 1 is the header" } else { "no header row, read in the default column order" }),
                    }}</p>
                    {(!p.missing.is_empty()).then(|| view! {
                        <p class="error error-note" id="import-missing">{match l {
                            Lang::Zh => format!("缺少必需的列：{}。请在下表中为它们选择对应的列，然后重新检查。", p.missing.join("、")),
                            Lang::En => format!("Required columns missing: {}. Choose their columns below and check again.", p.missing.join(", ")),
                        }}</p>
                    })}

                    <h3>{l.pick("列对应", "Columns")}</h3>
                    <div class="table-wrap">
                        <table class="grid-table md-table" id="import-mapping">
                            <thead><tr>
                                <th>{l.pick("文件中的列", "Column in the file")}</th>
                                <th>{l.pick("示例", "Sample")}</th>
                                <th>{l.pick("读作", "Read as")}</th>
                            </tr></thead>
                            <tbody>
                                {p.columns.iter().enumerate().map(|(i, c)| {
                                    let current = c.field.clone().unwrap_or_default();
                                    let fields = fields.clone();
                                    view! {
                                        <tr>
                                            <td>{if c.header.is_empty() { format!("{} {}", l.pick("第", "Column"), i + 1) } else { c.header.clone() }}</td>
                                            <td class="md-sample">{c.sample.iter().take(3).cloned().collect::<Vec<_>>().join(" · ")}</td>
                                            <td>
                                                <select class="map-field" on:change=move |ev| {
                                                    let v = event_target_value(&ev);
                                                    mapping.update(|m| {
                                                        if m.len() <= i { m.resize(i + 1, None); }
                                                        m[i] = (!v.is_empty()).then_some(v);
                                                    });
                                                }>
                                                    <option value="" selected=current.is_empty()>{l.pick("忽略", "Ignore")}</option>
                                                    {fields.into_iter().map(|f| {
                                                        let selected = f.key == current;
                                                        let text = if f.required { format!("{} *", f.label) } else { f.label.clone() };
                                                        view! { <option value=f.key.clone() selected=selected>{text}</option> }
                                                    }).collect_view()}
                                                </select>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <p class="hint">{l.pick("带 * 的为必需或新增时必需的字段。", "* marks fields required (always, or to add).")}</p>
                    {move || mapping_problem().map(|m| view! { <p class="field-error">{m}</p> })}
                    {move || still_missing().map(|m| view! { <p class="field-error">{m}</p> })}
                    <button class="secondary" id="import-recheck" disabled=move || busy.get() || mapping_problem().is_some() on:click=recheck>
                        {tr("按此对应重新检查", "Check again with this mapping")}
                    </button>

                    {(!p.problems.is_empty()).then(|| view! {
                        <h3>{match l { Lang::Zh => format!("问题（{} 个）", p.problems.len()), Lang::En => format!("Problems ({})", p.problems.len()) }}</h3>
                        {(p.problems.len() >= PROBLEMS_LISTED).then(|| view! {
                            <p class="hint">{match l { Lang::Zh => format!("只列出前 {PROBLEMS_LISTED} 个问题。"), Lang::En => format!("The first {PROBLEMS_LISTED} problems are listed.") }}</p>
                        })}
                    })}
                    <div class="table-wrap md-problems">
                        <table class="grid-table md-table" id="import-problems">
                            <thead><tr>
                                <th class="num">{l.pick("行号", "Line")}</th>
                                <th>{l.pick("字段", "Field")}</th>
                                <th>{l.pick("内容", "Value")}</th>
                                <th>{l.pick("问题", "Problem")}</th>
                            </tr></thead>
                            <tbody>
                                {p.problems.iter().map(|pr| view! {
                                    <tr class="problem">
                                        <td class="line num">{pr.line}</td>
                                        <td class="field">{pr.field.clone()}</td>
                                        <td class="value">{pr.value.clone()}</td>
                                        <td class="message">{pr.message.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>

                    {(!p.repairs.is_empty()).then(|| view! {
                        <details class="md-repairs" id="import-repairs">
                            <summary>{match l { Lang::Zh => format!("已自动修复 {} 处（点此展开示例）", p.repaired), Lang::En => format!("{} cells repaired (open for examples)", p.repaired) }}</summary>
                            <div class="table-wrap">
                                <table class="grid-table md-table">
                                    <thead><tr><th class="num">{l.pick("行号", "Line")}</th><th>{l.pick("字段", "Field")}</th><th>{l.pick("原内容", "As written")}</th><th>{l.pick("修复", "Repair")}</th></tr></thead>
                                    <tbody>
                                        {p.repairs.iter().map(|r| view! {
                                            <tr><td class="num">{r.line}</td><td>{r.field.clone()}</td><td>{r.value.clone()}</td><td>{r.message.clone()}</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        </details>
                    })}

                    {(!p.changes.is_empty()).then(|| view! {
                        <h3>{l.pick("修改示例", "Sample changes")}</h3>
                        <div class="table-wrap">
                            <table class="grid-table md-table" id="import-changes">
                                <thead><tr><th>{l.pick("记录", "Record")}</th><th>{l.pick("字段", "Field")}</th><th>{l.pick("原值 → 新值", "From → to")}</th></tr></thead>
                                <tbody>
                                    {p.changes.iter().map(|c| view! {
                                        <tr><td>{c.key.clone()}</td><td>{c.field.clone()}</td><td>{format!("{} → {}", c.from, c.to)}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    })}

                    {(is_history && !p.months.is_empty()).then(|| view! {
                        <h3>{l.pick("各月数据", "Months")}</h3>
                        <div class="table-wrap">
                            <table class="grid-table md-table" id="import-months">
                                <thead><tr><th>{l.pick("月份", "Month")}</th><th class="num">{l.pick("行数", "Rows")}</th><th class="num">{l.pick("订货量（条）", "Cartons")}</th></tr></thead>
                                <tbody>
                                    {p.months.iter().map(|m| view! {
                                        <tr><td>{m.month.clone()}</td><td class="num">{m.rows}</td><td class="num">{m.cartons}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    })}

                    <div class="md-apply">
                        <button class="primary md-inline" id="import-apply" disabled=move || { busy.get() || !can_apply } on:click=move |_| apply(false)>
                            {tr("导入", "Import")}
                        </button>
                        {(bad > 0).then(|| view! {
                            <button class="secondary" id="import-apply-good" disabled=move || { busy.get() || !missing_ok || good == 0 } on:click=move |_| apply(true)>
                                {move || match lang.get() { Lang::Zh => format!("仅导入正确的 {good} 行"), Lang::En => format!("Import only the {good} good rows") }}
                            </button>
                            <p class="notice" id="import-good-note">{move || match lang.get() {
                                Lang::Zh => format!("有误的 {bad} 行不会导入，系统不会为这些行写入任何内容；改正文件后可再次导入它们。"),
                                Lang::En => format!("The {bad} bad rows are NOT imported and nothing is written for them; correct the file and import them again later."),
                            }}</p>
                        })}
                    </div>
                </section>
            }
        })}
    }
}
