//! 系统管理: accounts (list, search, create staff, change role or unit,
//! deactivate and reactivate, unlock, one-time passwords) and retailer
//! sign-ins in bulk with their handout sheet.

use domain::accounts::{
    check_new_staff, unit_kind_of, AccountJob, AccountScope, JobState, NewStaff, OneTimePassword,
    RetailerAccountsRequest, UserChange, UserList, UserView, STAFF_ROLES,
};
use domain::org::{UnitKind, UnitSummary};
use domain::{ErrorBody, Lang, Role};
use leptos::prelude::*;

use crate::components::confirm::confirm;
use crate::components::error::{field_error, ErrorNote};
use crate::i18n::tr;
use crate::{api, state};

/// Brings the top of the page, where a row action's result or error is
/// shown, into view (the row may be far down a long list).
pub fn reveal() {
    window().scroll_to_with_x_and_y(0.0, 0.0);
}

/// A one-time password, shown once with what to do with it.
#[component]
fn OneTimeNote(shown: RwSignal<Option<OneTimePassword>>) -> impl IntoView {
    move || {
        shown.get().map(|otp| {
            view! {
                <section class="card otp-card" role="status" data-test="otp-card">
                    <h2>{tr("一次性密码", "One-time password")}</h2>
                    <p>{otp.user.display_name.clone()}" · "{otp.user.login.clone()}</p>
                    <p class="otp" data-test="one-time-password">{otp.password.clone()}</p>
                    <p class="hint">{tr(
                        "只显示这一次，请当面或通过可靠渠道交给本人；对方首次登录时必须设置自己的新密码。",
                        "Shown this once: hand it over in person or by a trusted channel. The person must choose their own password at the first sign-in.")}</p>
                    <button class="secondary" data-test="otp-close" on:click=move |_| shown.set(None)>{tr("我已记下", "Done")}</button>
                </section>
            }
        })
    }
}

fn role_options(lang: Lang, roles: &[Role]) -> Vec<(String, String)> {
    roles
        .iter()
        .map(|r| (r.as_str().to_string(), r.label(lang).to_string()))
        .collect()
}

/// The units, for the unit pickers; empty until they are in (or if they
/// cannot be had: the server still checks the unit).
fn units_signal(lang: RwSignal<Lang>) -> Signal<Vec<UnitSummary>> {
    let units = LocalResource::new(move || api::units(lang.get_untracked()));
    Signal::derive(move || units.get().and_then(Result::ok).unwrap_or_default())
}

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let units = units_signal(lang);
    let list = RwSignal::new(None::<UserList>);
    let error = RwSignal::new(None::<ErrorBody>);
    let otp = RwSignal::new(None::<OneTimePassword>);
    let q = RwSignal::new(String::new());
    let role_filter = RwSignal::new(String::new());
    let active_filter = RwSignal::new(String::new());
    let page = RwSignal::new(1_i64);

    // The filters are read when the form is sent (or the page turned), not
    // as they are typed: fetched again by `load`.
    let users = LocalResource::new(move || {
        let params = vec![
            ("q", q.get_untracked()),
            ("role", role_filter.get_untracked()),
            ("active", active_filter.get_untracked()),
            ("page", page.get_untracked().to_string()),
        ];
        async move { api::users(&params, lang.get_untracked()).await }
    });
    // Into a signal of its own: a row's change replaces that row in place.
    Effect::new(move |_| match users.get() {
        Some(Ok(l)) => {
            list.set(Some(l));
            error.set(None);
        }
        Some(Err(e)) => {
            error.set(Some(e));
            reveal();
        }
        None => {}
    });
    let load = move || users.refetch();

    let replace_row = move |user: UserView| {
        list.update(|l| {
            if let Some(l) = l {
                if let Some(row) = l.users.iter_mut().find(|u| u.id == user.id) {
                    *row = user;
                }
            }
        })
    };
    let me = session
        .session
        .with_untracked(|s| s.as_ref().map(|s| s.user_id));
    let change_active = Action::new_local(move |(id, change, csrf): &(i64, UserChange, String)| {
        let (id, change, csrf) = (*id, change.clone(), csrf.clone());
        async move { api::change_user(id, &change, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match change_active.value().get() {
        Some(Ok(u)) => {
            replace_row(u);
            error.set(None);
        }
        Some(Err(e)) => {
            error.set(Some(e));
            reveal();
        }
        None => {}
    });
    let unlock_user = Action::new_local(move |(id, csrf): &(i64, String)| {
        let (id, csrf) = (*id, csrf.clone());
        async move { api::unlock_user(id, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match unlock_user.value().get() {
        Some(Ok(u)) => replace_row(u),
        Some(Err(e)) => {
            error.set(Some(e));
            reveal();
        }
        None => {}
    });
    let reset_password = Action::new_local(move |(id, csrf): &(i64, String)| {
        let (id, csrf) = (*id, csrf.clone());
        async move { api::reset_password(id, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match reset_password.value().get() {
        Some(Ok(made)) => {
            replace_row(made.user.clone());
            otp.set(Some(made));
            reveal();
        }
        Some(Err(e)) => {
            error.set(Some(e));
            reveal();
        }
        None => {}
    });
    let set_active = move |user: UserView, active: bool| {
        let l = lang.get_untracked();
        if !active
            && !confirm(&match l {
                _ if Some(user.id) == me => match l {
                    Lang::Zh => "停用您自己的账号？您会立即退出登录。".to_string(),
                    Lang::En => "Deactivate your own account? You are signed out at once.".to_string(),
                },
                Lang::Zh => format!(
                    "停用 {}（{}）？其所有登录会立即退出；如是客户经理，其名下零售户需在基础数据中移交。",
                    user.display_name, user.login
                ),
                Lang::En => format!(
                    "Deactivate {} ({})? Every session of the account ends at once; a customer manager's retailers wait to be handed over in the master data.",
                    user.display_name, user.login
                ),
            })
        {
            return;
        }
        let change = UserChange {
            version: user.version,
            role: None,
            unit_id: None,
            display_name: None,
            active: Some(active),
        };
        change_active.dispatch((user.id, change, session.csrf()));
    };
    let unlock = move |user: UserView| {
        unlock_user.dispatch((user.id, session.csrf()));
    };
    let reset = move |user: UserView| {
        let l = lang.get_untracked();
        if !confirm(&match l {
            Lang::Zh if !user.has_password => format!(
                "为 {}（{}）开通登录并生成一次性密码？",
                user.display_name, user.login
            ),
            Lang::En if !user.has_password => format!(
                "Give {} ({}) a sign-in with a one-time password?",
                user.display_name, user.login
            ),
            Lang::Zh => format!(
                "为 {}（{}）重置一次性密码？原密码立即失效，其登录会退出。",
                user.display_name, user.login
            ),
            Lang::En => format!(
                "Give {} ({}) a one-time password? The old one stops working and its sessions end.",
                user.display_name, user.login
            ),
        }) {
            return;
        }
        reset_password.dispatch((user.id, session.csrf()));
    };
    let editing = RwSignal::new(None::<UserView>);

    view! {
        <h1>{tr("系统管理 · 用户", "Administration · Users")}</h1>
        <OneTimeNote shown=otp/>
        <NewStaffForm units=units otp=otp on_made=Callback::new(move |_| load())/>
        {move || editing.get().map(|u| view! { <EditUser user=u units=units editing=editing on_saved=Callback::new(move |u: UserView| replace_row(u))/> })}
        <section class="card">
            <form class="filters" on:submit=move |ev| { ev.prevent_default(); page.set(1); load(); }>
                <input type="search" data-test="user-search" placeholder=move || lang.get().pick("账号或姓名", "Login or name")
                    prop:value=q on:input=move |ev| q.set(event_target_value(&ev))/>
                <select data-test="role-filter" on:change=move |ev| { role_filter.set(event_target_value(&ev)); page.set(1); load(); }>
                    <option value="">{tr("全部角色", "All roles")}</option>
                    {move || role_options(lang.get(), &Role::ALL).into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                </select>
                <select data-test="active-filter" on:change=move |ev| { active_filter.set(event_target_value(&ev)); page.set(1); load(); }>
                    <option value="">{tr("在用和停用", "Active and not")}</option>
                    <option value="true">{tr("在用", "Active")}</option>
                    <option value="false">{tr("已停用", "Deactivated")}</option>
                </select>
                <button type="submit" class="secondary" data-test="user-search-submit">{tr("查询", "Search")}</button>
            </form>
            <ErrorNote error=error/>
            {move || list.get().map(|l| {
                let pages = ((l.total + l.page_size - 1) / l.page_size).max(1);
                view! {
                    <p class="hint" data-test="user-total">{move || match lang.get() {
                        Lang::Zh => format!("共 {} 个账号，第 {} / {} 页", l.total, l.page, pages),
                        Lang::En => format!("{} accounts, page {} of {}", l.total, l.page, pages),
                    }}</p>
                    <div class="table-wrap">
                        <table class="grid-table" data-test="users">
                            <thead><tr>
                                <th>{tr("账号", "Login")}</th><th>{tr("姓名", "Name")}</th><th>{tr("角色", "Role")}</th>
                                <th>{tr("单位", "Unit")}</th><th>{tr("状态", "State")}</th><th>{tr("操作", "Actions")}</th>
                            </tr></thead>
                            <tbody>
                                {l.users.into_iter().map(|u| {
                                    let (a, b, c, d) = (u.clone(), u.clone(), u.clone(), u.clone());
                                    let e = u.clone();
                                    view! {
                                        <tr data-user=u.login.clone() class:inactive=!u.active>
                                            <td>{u.login.clone()}</td>
                                            <td>{u.display_name.clone()}</td>
                                            <td>{move || u.role.label(lang.get())}</td>
                                            <td>{u.unit_name.clone()}</td>
                                            <td data-test="user-state">
                                                {if u.active { view! { <span class="badge ok">{tr("在用", "Active")}</span> }.into_any() } else { view! { <span class="badge off">{tr("已停用", "Deactivated")}</span> }.into_any() }}
                                                {u.locked.then(|| view! { <span class="badge warn">{tr("已锁定", "Locked")}</span> })}
                                                {u.must_change_password.then(|| view! { <span class="badge">{tr("待改密", "Must change password")}</span> })}
                                                {(!u.has_password).then(|| view! { <span class="badge">{tr("未开通", "No sign-in")}</span> })}
                                            </td>
                                            <td class="actions">
                                                <button class="link-button" data-test="edit-user" on:click=move |_| { editing.set(Some(e.clone())); reveal(); }>{tr("编辑", "Edit")}</button>
                                                {if u.active {
                                                    view! { <button class="link-button danger" data-test="deactivate" on:click=move |_| set_active(a.clone(), false)>{tr("停用", "Deactivate")}</button> }.into_any()
                                                } else {
                                                    view! { <button class="link-button" data-test="reactivate" on:click=move |_| set_active(a.clone(), true)>{tr("启用", "Reactivate")}</button> }.into_any()
                                                }}
                                                {u.locked.then(|| view! { <button class="link-button" data-test="unlock" on:click=move |_| unlock(b.clone())>{tr("解锁", "Unlock")}</button> })}
                                                {u.active.then(|| view! { <button class="link-button" data-test="reset-password" on:click=move |_| reset(c.clone())>{if d.has_password { tr("重置密码", "Reset password") } else { tr("开通登录", "Give a sign-in") }}</button> })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <div class="pager">
                        <button class="secondary" disabled=move || { page.get() <= 1 } on:click=move |_| { page.update(|p| *p -= 1); load(); }>{tr("上一页", "Previous")}</button>
                        <button class="secondary" disabled=move || { page.get() >= pages } on:click=move |_| { page.update(|p| *p += 1); load(); }>{tr("下一页", "Next")}</button>
                    </div>
                }
            })}
        </section>
    }
}

fn units_for(units: &[UnitSummary], kind: UnitKind) -> Vec<(i64, String)> {
    units
        .iter()
        .filter(|u| u.kind == kind)
        .map(|u| (u.id, u.name.clone()))
        .collect()
}

#[component]
fn NewStaffForm(
    units: Signal<Vec<UnitSummary>>,
    otp: RwSignal<Option<OneTimePassword>>,
    on_made: Callback<()>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let login = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::CustomerManager);
    let unit = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let create = Action::new_local(move |(staff, csrf): &(NewStaff, String)| {
        let (staff, csrf) = (staff.clone(), csrf.clone());
        async move { api::create_user(&staff, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match create.value().get() {
        Some(Ok(made)) => {
            error.set(None);
            login.set(String::new());
            name.set(String::new());
            otp.set(Some(made));
            reveal();
            on_made.run(());
        }
        Some(Err(e)) => {
            error.set(Some(e));
            reveal();
        }
        None => {}
    });
    let pending = create.pending();
    let staff = move || NewStaff {
        login: login.get().trim().to_string(),
        display_name: name.get(),
        role: role.get(),
        unit_id: unit.get().parse().unwrap_or(0),
    };
    let unit_kind = move |id: i64| units.with(|u| u.iter().find(|u| u.id == id).map(|u| u.kind));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let staff = staff();
        let l = lang.get_untracked();
        if let Err(e) = check_new_staff(&staff, unit_kind(staff.unit_id), l) {
            {
                error.set(Some(e));
                reveal();
            };
            return;
        }
        create.dispatch((staff, session.csrf()));
    };
    let at = move |field: &'static str| {
        move || {
            field_error(&error.get(), field).map(|m| view! { <span class="field-error">{m}</span> })
        }
    };
    view! {
        <details class="card" data-test="new-staff">
            <summary>{tr("新建员工账号", "New staff account")}</summary>
            <form class="form-grid" on:submit=submit novalidate>
                <label class="field"><span>{tr("登录账号", "Login")}</span>
                    <input data-test="new-login" autocomplete="off" prop:value=login on:input=move |ev| login.set(event_target_value(&ev))/>{at("login")}</label>
                <label class="field"><span>{tr("姓名", "Name")}</span>
                    <input data-test="new-name" autocomplete="off" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>{at("display_name")}</label>
                <label class="field"><span>{tr("角色", "Role")}</span>
                    <select data-test="new-role" on:change=move |ev| {
                        if let Some(r) = Role::parse(&event_target_value(&ev)) { role.set(r); unit.set(String::new()); }
                    }>
                        {move || role_options(lang.get(), &STAFF_ROLES).into_iter().map(|(v, l)| {
                            let selected = v == role.get().as_str();
                            view! { <option value=v selected=selected>{l}</option> }
                        }).collect_view()}
                    </select>{at("role")}</label>
                <label class="field"><span>{move || unit_kind_of(role.get()).label(lang.get())}</span>
                    <select data-test="new-unit" prop:value=unit on:change=move |ev| unit.set(event_target_value(&ev))>
                        <option value="">{tr("请选择", "Choose")}</option>
                        {move || units.with(|u| units_for(u, unit_kind_of(role.get()))).into_iter().map(|(id, n)| view! { <option value=id.to_string()>{n}</option> }).collect_view()}
                    </select>{at("unit_id")}</label>
                <ErrorNote error=error/>
                <button type="submit" class="primary" data-test="create-user" disabled=move || pending.get()>{tr("创建并生成一次性密码", "Create with a one-time password")}</button>
            </form>
        </details>
    }
}

#[component]
fn EditUser(
    user: UserView,
    units: Signal<Vec<UnitSummary>>,
    editing: RwSignal<Option<UserView>>,
    on_saved: Callback<UserView>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let name = RwSignal::new(user.display_name.clone());
    let role = RwSignal::new(user.role);
    let unit = RwSignal::new(user.unit_id.to_string());
    let error = RwSignal::new(None::<ErrorBody>);
    let is_retailer = user.role == Role::Retailer;
    let change_user = Action::new_local(move |(id, change, csrf): &(i64, UserChange, String)| {
        let (id, change, csrf) = (*id, change.clone(), csrf.clone());
        async move { api::change_user(id, &change, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match change_user.value().get() {
        Some(Ok(u)) => {
            on_saved.run(u);
            editing.set(None);
        }
        Some(Err(e)) => {
            error.set(Some(e));
            reveal();
        }
        None => {}
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let change = UserChange {
            version: user.version,
            role: Some(role.get_untracked()),
            unit_id: unit.get_untracked().parse().ok(),
            display_name: Some(name.get_untracked()),
            active: None,
        };
        change_user.dispatch((user.id, change, session.csrf()));
    };
    let at = move |field: &'static str| {
        move || {
            field_error(&error.get(), field).map(|m| view! { <span class="field-error">{m}</span> })
        }
    };
    view! {
        <section class="card" data-test="edit-user-card">
            <h2>{tr("编辑账号", "Edit account")}" · "{user.login.clone()}</h2>
            <form class="form-grid" on:submit=save novalidate>
                <label class="field"><span>{tr("姓名", "Name")}</span>
                    <input data-test="edit-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>{at("display_name")}</label>
                <Show when=move || !is_retailer>
                    <label class="field"><span>{tr("角色", "Role")}</span>
                        <select data-test="edit-role" on:change=move |ev| { if let Some(r) = Role::parse(&event_target_value(&ev)) { role.set(r); } }>
                            {move || role_options(lang.get(), &STAFF_ROLES).into_iter().map(|(v, l)| {
                                let selected = v == role.get().as_str();
                                view! { <option value=v selected=selected>{l}</option> }
                            }).collect_view()}
                        </select>{at("role")}</label>
                    <label class="field"><span>{move || unit_kind_of(role.get()).label(lang.get())}</span>
                        <select data-test="edit-unit" on:change=move |ev| unit.set(event_target_value(&ev))>
                            <option value="">{tr("请选择", "Choose")}</option>
                            {move || units.with(|u| units_for(u, unit_kind_of(role.get()))).into_iter().map(|(id, n)| {
                                let selected = id.to_string() == unit.get();
                                view! { <option value=id.to_string() selected=selected>{n}</option> }
                            }).collect_view()}
                        </select>{at("unit_id")}</label>
                </Show>
                <ErrorNote error=error/>
                <div class="button-row">
                    <button type="submit" class="primary" data-test="save-user">{tr("保存", "Save")}</button>
                    <button type="button" class="secondary" on:click=move |_| editing.set(None)>{tr("取消", "Cancel")}</button>
                </div>
            </form>
        </section>
    }
}

/// Which retailers a bulk run covers, as chosen on the page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScopeChoice {
    Unit,
    Enrolled,
    Pasted,
}

#[component]
pub fn RetailerAccountsPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let units = units_signal(lang);
    let choice = RwSignal::new(ScopeChoice::Unit);
    let unit = RwSignal::new(String::new());
    let pasted = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let job = RwSignal::new(None::<AccountJob>);
    let downloaded = RwSignal::new(false);
    // Polls a running job until it ends. A task of its own, not an action:
    // it shows every state of the job as it comes, not one outcome.
    let poll = move |id: i64| {
        leptos::task::spawn_local(async move {
            loop {
                gloo_timers_sleep(500).await;
                match api::account_job(id, lang.get_untracked()).await {
                    Ok(j) => {
                        let running = j.state == JobState::Running;
                        job.set(Some(j));
                        if !running {
                            break;
                        }
                    }
                    Err(e) => {
                        {
                            error.set(Some(e));
                            reveal();
                        };
                        break;
                    }
                }
            }
        });
    };
    let start_job =
        Action::new_local(move |(request, csrf): &(RetailerAccountsRequest, String)| {
            let (request, csrf) = (request.clone(), csrf.clone());
            async move { api::start_retailer_accounts(&request, &csrf, lang.get_untracked()).await }
        });
    Effect::new(move |_| match start_job.value().get() {
        Some(Ok(j)) => {
            error.set(None);
            let id = j.id;
            job.set(Some(j));
            poll(id);
        }
        Some(Err(e)) => {
            error.set(Some(e));
            reveal();
        }
        None => {}
    });
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let scope = match choice.get_untracked() {
            ScopeChoice::Unit => match unit.get_untracked().parse() {
                Ok(unit_id) => AccountScope::MarketUnit { unit_id },
                Err(_) => {
                    let m = l.pick("请选择一个市场部", "Choose a market department");
                    error.set(Some(
                        ErrorBody::new(domain::ErrorCode::Validation, m).with_field("unit_id", m),
                    ));
                    return;
                }
            },
            ScopeChoice::Enrolled => AccountScope::AllEnrolled,
            ScopeChoice::Pasted => AccountScope::Licences {
                licences: pasted
                    .get_untracked()
                    .split(|c: char| c.is_whitespace() || c == ',' || c == '，' || c == ';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            },
        };
        if !confirm(l.pick(
            "为所选零售户开通登录账号并生成一次性密码？发放表只能下载一次。",
            "Give the chosen retailers sign-ins with one-time passwords? The handout can be downloaded once only.",
        )) {
            return;
        }
        downloaded.set(false);
        start_job.dispatch((RetailerAccountsRequest { scope }, session.csrf()));
    };
    let at = move |field: &'static str| {
        move || {
            field_error(&error.get(), field).map(|m| view! { <span class="field-error">{m}</span> })
        }
    };
    view! {
        <h1>{tr("系统管理 · 零售户账号", "Administration · Retailer sign-ins")}</h1>
        <section class="card">
            <p class="hint">{tr(
                "为零售户开通登录账号：账号为许可证号，密码为一次性密码，首次登录时必须修改。已有账号的零售户会跳过。",
                "Give retailers sign-ins: the login is the licence number, the password a one-time one to change at the first sign-in. Retailers with a sign-in are skipped.")}</p>
            <form class="form-grid" on:submit=start novalidate>
                <fieldset class="choices">
                    <label class="check"><input type="radio" name="scope" data-test="scope-unit" prop:checked=move || choice.get() == ScopeChoice::Unit on:change=move |_| choice.set(ScopeChoice::Unit)/>{tr("一个市场部的全部零售户", "Every retailer of a market department")}</label>
                    <label class="check"><input type="radio" name="scope" data-test="scope-enrolled" prop:checked=move || choice.get() == ScopeChoice::Enrolled on:change=move |_| choice.set(ScopeChoice::Enrolled)/>{tr("所有已开通网上配货的零售户", "Every retailer in online replenishment")}</label>
                    <label class="check"><input type="radio" name="scope" data-test="scope-pasted" prop:checked=move || choice.get() == ScopeChoice::Pasted on:change=move |_| choice.set(ScopeChoice::Pasted)/>{tr("指定许可证号", "These licence numbers")}</label>
                </fieldset>
                <Show when=move || choice.get() == ScopeChoice::Unit>
                    <label class="field"><span>{tr("市场部", "Market department")}</span>
                        <select data-test="scope-unit-select" on:change=move |ev| unit.set(event_target_value(&ev))>
                            <option value="">{tr("请选择", "Choose")}</option>
                            {move || units.get().into_iter().filter(|u| u.kind == UnitKind::MarketDepartment).map(|u| view! {
                                <option value=u.id.to_string()>{format!("{}（{} 户）", u.name, u.retailers)}</option>
                            }).collect_view()}
                        </select>{at("unit_id")}</label>
                </Show>
                <Show when=move || choice.get() == ScopeChoice::Pasted>
                    <label class="field"><span>{tr("许可证号（每行一个，可从表格粘贴）", "Licence numbers (one a line, paste from a spreadsheet)")}</span>
                        <textarea rows="6" data-test="scope-licences" prop:value=pasted on:input=move |ev| pasted.set(event_target_value(&ev))></textarea>{at("licences")}</label>
                </Show>
                {at("scope")}
                <ErrorNote error=error/>
                <button type="submit" class="primary" data-test="start-accounts" disabled=move || job.with(|j| j.as_ref().is_some_and(|j| j.state == JobState::Running))>
                    {tr("开通账号", "Make sign-ins")}
                </button>
            </form>
        </section>
        {move || job.get().map(|j| {
            let percent = if j.total > 0 { j.hashed * 100 / j.total } else { 100 };
            view! {
                <section class="card" data-test="job">
                    <h2>{tr("开通进度", "Progress")}</h2>
                    <progress max="100" value=percent.to_string() data-test="job-progress"></progress>
                    <p data-test="job-state">{move || match (j.state, lang.get()) {
                        (JobState::Running, Lang::Zh) => format!("正在生成一次性密码：{} / {}", j.hashed, j.total),
                        (JobState::Running, Lang::En) => format!("Making one-time passwords: {} of {}", j.hashed, j.total),
                        (JobState::Done, Lang::Zh) => format!("已开通 {} 个账号，跳过 {} 户（已有账号）", j.created, j.skipped),
                        (JobState::Done, Lang::En) => format!("{} sign-ins made, {} retailers skipped (had one)", j.created, j.skipped),
                        (JobState::Failed, Lang::Zh) => format!("失败：{}", j.error.clone().unwrap_or_default()),
                        (JobState::Failed, Lang::En) => format!("Failed: {}", j.error.clone().unwrap_or_default()),
                    }}</p>
                    {(j.state == JobState::Done && j.handout_ready).then(|| view! {
                        <Show when=move || !downloaded.get() fallback=|| view! {
                            <p class="hint" data-test="handout-taken">{tr("发放表已下载；密码不会再次显示。", "The handout was downloaded; the passwords are not shown again.")}</p>
                        }>
                            <p class="notice">{tr("发放表只能下载一次，请妥善保存，按客户经理分发。", "The handout downloads once only: keep it safe and hand it out by customer manager.")}</p>
                            <a class="button-link primary" data-test="handout" href=api::handout_url(j.id) download=format!("retailer-accounts-{}.xlsx", j.id)
                                on:click=move |_| downloaded.set(true)>{tr("下载发放表（xlsx）", "Download the handout (xlsx)")}</a>
                        </Show>
                    })}
                    {(j.state == JobState::Done && !j.handout_ready).then(|| view! {
                        <p class="hint" data-test="handout-taken">{tr("发放表已下载；密码不会再次显示。", "The handout was downloaded; the passwords are not shown again.")}</p>
                    })}
                </section>
            }
        })}
    }
}

/// Waits `ms` milliseconds in the browser.
async fn gloo_timers_sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
