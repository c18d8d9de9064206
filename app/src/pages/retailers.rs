//! A customer manager's retailers: online-replenishment status, the share who
//! joined (网上配货户占比), and a way into each retailer's settings.

use domain::org::online_share;
use domain::replenishment::{ManagedRetailer, ManagedRetailers};
use domain::ErrorBody;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::confirm::confirm;
use crate::components::error::ErrorNote;
use crate::i18n::tr;
use crate::{api, routes, state};

/// Whether the retailer's order of its open window is confirmed (and not cancelled).
fn confirmed(r: &ManagedRetailer) -> bool {
    r.window_status
        .is_some_and(|s| s != domain::replenishment::OrderStatus::Cancelled)
}

#[component]
pub fn RetailersPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let list = RwSignal::new(None::<ManagedRetailers>);
    let error = RwSignal::new(None::<ErrorBody>);
    let query = RwSignal::new(String::new());
    let only_online = RwSignal::new(false);
    let only_unconfirmed = RwSignal::new(false);
    let loaded = LocalResource::new(move || api::managed_retailers(lang.get_untracked()));
    // Into a signal of its own: joining or leaving changes one row in place.
    Effect::new(move |_| match loaded.get() {
        Some(Ok(l)) => list.set(Some(l)),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let enrol = Action::new_local(move |(id, online, csrf): &(i64, bool, String)| {
        let (id, online, csrf) = (*id, *online, csrf.clone());
        async move { api::enrol(id, online, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match enrol.value().get() {
        Some(Ok(header)) => list.update(|l| {
            if let Some(l) = l {
                if let Some(row) = l.retailers.iter_mut().find(|x| x.id == header.id) {
                    row.online = header.online;
                }
                l.online = l.retailers.iter().filter(|x| x.online).count() as i64;
            }
        }),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let toggle = move |r: ManagedRetailer| {
        let asked = match lang.get_untracked() {
            domain::Lang::Zh if r.online => format!("让 {} 退出网上配货？", r.name),
            domain::Lang::Zh => format!("为 {} 开通网上配货？", r.name),
            domain::Lang::En if r.online => format!("Take {} off online replenishment?", r.name),
            domain::Lang::En => format!("Join {} to online replenishment?", r.name),
        };
        if !confirm(&asked) {
            return;
        }
        enrol.dispatch((r.id, !r.online, session.csrf()));
    };
    let otp = RwSignal::new(None::<domain::accounts::OneTimePassword>);
    let reset_password = Action::new_local(move |(id, csrf): &(i64, String)| {
        let (id, csrf) = (*id, csrf.clone());
        async move { api::reset_retailer_password(id, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match reset_password.value().get() {
        Some(Ok(made)) => {
            error.set(None);
            otp.set(Some(made));
            crate::pages::admin::reveal();
        }
        Some(Err(e)) => {
            error.set(Some(e));
            crate::pages::admin::reveal();
        }
        None => {}
    });
    let reset = move |r: ManagedRetailer| {
        let l = lang.get_untracked();
        let asked = match l {
            domain::Lang::Zh => format!(
                "为 {}（{}）重置登录密码？原密码立即失效。",
                r.name, r.licence_no
            ),
            domain::Lang::En => format!(
                "Reset the password of {} ({})? The old one stops working.",
                r.name, r.licence_no
            ),
        };
        if !confirm(&asked) {
            return;
        }
        reset_password.dispatch((r.id, session.csrf()));
    };
    let shown = move || {
        let q = query.get().trim().to_lowercase();
        list.with(|l| {
            l.as_ref()
                .map(|l| {
                    l.retailers
                        .iter()
                        .filter(|r| !only_online.get() || r.online)
                        .filter(|r| !only_unconfirmed.get() || (r.online && !confirmed(r)))
                        .filter(|r| {
                            q.is_empty()
                                || r.name.to_lowercase().contains(&q)
                                || r.licence_no.contains(&q)
                        })
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <ErrorNote error=error/>
        {move || otp.get().map(|o| view! {
            <section class="card otp-card" role="status" data-test="otp-card">
                <p>{o.user.display_name.clone()}" · "{o.user.login.clone()}</p>
                <p class="otp" data-test="one-time-password">{o.password.clone()}</p>
                <p class="hint">{tr("一次性密码只显示这一次，请交给零售户本人；首次登录时必须修改。",
                    "Shown this once: give it to the retailer in person; it must be changed at the first sign-in.")}</p>
                <button class="secondary" on:click=move |_| otp.set(None)>{tr("我已记下", "Done")}</button>
            </section>
        })}
        {move || list.get().map(|l| {
            let waiting = l.retailers.iter().filter(|r| r.online && !confirmed(r)).count();
            let ordered = l.retailers.iter().filter(|r| r.online && confirmed(r)).count();
            view! {
            <section class="card stats" data-test="retailer-stats">
                <div class="stat"><div class="stat-value" data-test="confirmed-count">{ordered}</div><div class="stat-label">{tr("本期已确认订单", "Ordered this window")}</div></div>
                <div class="stat"><div class="stat-value" data-test="unconfirmed-count">{waiting}</div><div class="stat-label">{tr("本期未确认", "Not yet ordered")}</div></div>
                <div class="stat"><div class="stat-value">{l.total}</div><div class="stat-label">{tr("我的零售户", "My retailers")}</div></div>
                <div class="stat"><div class="stat-value" data-test="online-count">{l.online}</div><div class="stat-label">{tr("网上配货户", "Joined")}</div></div>
                <div class="stat"><div class="stat-value" data-test="online-share">{format!("{:.1}%", online_share(l.online, l.total) * 100.0)}</div><div class="stat-label">{tr("网上配货户占比", "Share joined")}</div></div>
            </section>
        }})}
        <section class="card">
            <div class="filters">
                <input type="search" data-test="retailer-filter" placeholder=move || lang.get().pick("按店名或许可证号筛选", "Filter by shop or licence")
                    prop:value=move || query.get() on:input=move |ev| query.set(event_target_value(&ev))/>
                <label class="check"><input type="checkbox" prop:checked=move || only_online.get()
                    on:change=move |ev| only_online.set(event_target_checked(&ev))/>{tr("只看已开通", "Joined only")}</label>
                <label class="check"><input type="checkbox" data-test="only-unconfirmed" prop:checked=move || only_unconfirmed.get()
                    on:change=move |ev| only_unconfirmed.set(event_target_checked(&ev))/>{tr("只看本期未确认订单", "Not yet ordered only")}</label>
            </div>
            <div class="table-wrap">
                <table class="grid-table stack-on-phone" data-test="retailers">
                    <thead><tr>
                        <th>{tr("店名", "Shop")}</th><th>{tr("许可证号", "Licence")}</th><th>{tr("档位", "Class")}</th>
                        <th>{tr("市场部", "Department")}</th><th>{tr("网上配货", "Online")}</th>
                        <th class="num">{tr("设置品规", "Specs set")}</th><th>{tr("本期订单", "This window")}</th><th>{tr("最近订单", "Last order")}</th>
                        <th>{tr("登录", "Sign-in")}</th>
                    </tr></thead>
                    <tbody>
                        <For each=shown key=|r| (r.id, r.online, r.window_status) let:r>
                            {
                                let href = routes::replenishment_of(r.id);
                                let row = r.clone();
                                let for_reset = r.clone();
                                view! {
                                    <tr data-retailer=r.id>
                                        <td data-label=tr("店名", "Shop")><A href=href>{r.name.clone()}</A></td>
                                        <td data-label=tr("许可证号", "Licence")>{r.licence_no.clone()}</td>
                                        <td data-label=tr("档位", "Class")>{r.class_label.clone()}</td>
                                        <td data-label=tr("市场部", "Department")>{r.market_unit.clone()}</td>
                                        <td data-label=tr("网上配货", "Online")>
                                            <button class="toggle" class:on=r.online data-test="enrol" on:click=move |_| toggle(row.clone())>
                                                {move || if r.online { lang.get().pick("已开通 · 取消", "Joined · leave") } else { lang.get().pick("未开通 · 开通", "Not joined · join") }}
                                            </button>
                                        </td>
                                        <td class="num" data-label=tr("设置品规", "Specs set")>{r.specs}</td>
                                        <td data-label=tr("本期订单", "This window") data-test="window-order">{
                                            let (date, cutoff, status, cartons) = (r.window_date, r.window_cutoff, r.window_status, r.window_cartons);
                                            let online = r.online;
                                            move || {
                                                let l = lang.get();
                                                if !online && status.is_none() {
                                                    return "—".to_string();
                                                }
                                                let state = match status {
                                                    Some(domain::replenishment::OrderStatus::Cancelled) => l.pick("已取消", "cancelled").to_string(),
                                                    Some(_) => format!("{} {cartons} {}", l.pick("已确认", "ordered"), l.pick("条", "ctn")),
                                                    None => l.pick("未确认", "not yet").to_string(),
                                                };
                                                format!("{} · {state} · {} {}", date.format("%m-%d"), l.pick("截止", "closes"), cutoff.format("%m-%d %H:%M"))
                                            }
                                        }</td>
                                        <td data-label=tr("最近订单", "Last order")>{r.last_order_date.map(|d| d.to_string()).unwrap_or_else(|| "—".into())}</td>
                                        <td data-label=tr("登录", "Sign-in")><button class="link-button" data-test="reset-retailer-password" on:click=move |_| reset(for_reset.clone())>{tr("重置密码", "Reset password")}</button></td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </div>
        </section>
    }
}
