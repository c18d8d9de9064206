//! 订单导出与到货: the order days with where their orders stand; for a day
//! whose window has closed, its orders as Excel or CSV for the order and
//! supply system and marking them exported; the delivery file loaded back;
//! and a month's delivered orders standing as its actual orders.

use chrono::NaiveDate;
use domain::replenishment::order_flow::{OrderDay, OrderDays};
use domain::{ErrorBody, Lang};
use leptos::html;
use leptos::prelude::*;

use crate::components::confirm::confirm;
use crate::components::error::{field_error, ErrorNote};
use crate::i18n::tr;
use crate::{api, state};

/// Field errors of an upload, `rows.{line}` first by line, as lines of text.
fn line_errors(error: &ErrorBody, lang: Lang) -> Vec<String> {
    let mut lines: Vec<(u64, String)> = error
        .fields
        .iter()
        .filter_map(|(field, messages)| {
            let line = field.strip_prefix("rows.")?.parse::<u64>().ok()?;
            let text = match lang {
                Lang::Zh => format!("第 {line} 行：{}", messages.join("；")),
                Lang::En => format!("Line {line}: {}", messages.join("; ")),
            };
            Some((line, text))
        })
        .collect();
    lines.sort();
    lines.into_iter().map(|(_, text)| text).collect()
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
pub fn OrdersTab() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let days =
        LocalResource::new(move || async move { api::order_days(lang.get_untracked()).await });
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);

    let mark = Action::new_local(move |(date, csrf): &(NaiveDate, String)| {
        let (date, csrf) = (*date, csrf.clone());
        async move { api::mark_exported(date, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match mark.value().get() {
        Some(Ok(done)) => {
            error.set(None);
            notice.set(Some(match lang.get_untracked() {
                Lang::Zh => format!("{} 的 {} 张订单已标记为已导出", done.date, done.marked),
                Lang::En => format!("{} orders of {} marked exported", done.marked, done.date),
            }));
            days.refetch();
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let ask_mark = move |day: &OrderDay| {
        let lang = lang.get_untracked();
        let question = match lang {
            Lang::Zh => format!(
                "将 {} 的 {} 张已截止订单标记为已导出（已交订单供货管理系统）？此操作不能撤销。",
                day.date,
                day.to_export()
            ),
            Lang::En => format!(
                "Mark the {} locked orders of {} exported (handed to the order and supply system)? This cannot be undone.",
                day.to_export(),
                day.date
            ),
        };
        if confirm(&question) {
            notice.set(None);
            mark.dispatch((day.date, session.csrf()));
        }
    };

    view! {
        <section class="card" data-test="order-days">
            <h2>{tr("订单导出与到货", "Orders and deliveries")}</h2>
            <p class="muted">{tr(
                "订货日截止后订单锁定：导出交订单供货管理系统，导出后标记为已导出；到货后导入到货文件。时间均为北京时间。",
                "After its cutoff a day's orders are locked: export them for the order and supply system, then mark them exported; load the delivery file once delivered. Times are China time.")}</p>
            {move || notice.get().map(|n| view! { <p class="note" data-test="orders-notice">{n}</p> })}
            <ErrorNote error=error/>
            <Suspense fallback=|| view! { <p class="muted">{tr("加载中…", "Loading…")}</p> }>
                {move || days.get().map(|r| match r {
                    Ok(d) => view! { <DaysTable days=d on_mark=ask_mark/> }.into_any(),
                    Err(e) => view! { <ErrorNote error=Some(e)/> }.into_any(),
                })}
            </Suspense>
        </section>
        <Deliveries on_loaded=move || days.refetch()/>
        <ActualsFromOrders/>
    }
}

/// The order days: those whose window has closed first (newest first, with
/// their exports), then the coming ones still open (soonest first).
#[component]
fn DaysTable(
    days: OrderDays,
    /// Asks, then marks the day's locked orders exported.
    on_mark: impl Fn(&OrderDay) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let (open, locked): (Vec<OrderDay>, Vec<OrderDay>) =
        days.days.into_iter().partition(|d| d.open);
    let open: Vec<OrderDay> = open.into_iter().rev().collect();
    view! {
        <h3>{tr("已截止的订货日", "Order days closed")}</h3>
        {if locked.is_empty() {
            view! { <p class="muted" data-test="no-locked-days">{tr("近 8 周没有已截止的订货日。", "No order day closed in the last 8 weeks.")}</p> }.into_any()
        } else {
            view! { <DayRows days=locked on_mark/> }.into_any()
        }}
        <h3>{tr("订货窗口开放中（截止前可修改）", "Windows open (orders may still change)")}</h3>
        {if open.is_empty() {
            view! { <p class="muted">{tr("未来 2 周没有开放的订货日。", "No open order day in the coming 2 weeks.")}</p> }.into_any()
        } else {
            view! { <DayRows days=open on_mark/> }.into_any()
        }}
    }
}

/// One table of order days; a closed day with orders has its exports and
/// the marking first, so they show on a phone without scrolling.
#[component]
fn DayRows(
    days: Vec<OrderDay>,
    on_mark: impl Fn(&OrderDay) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = state::lang();
    let any_locked = days.iter().any(|d| !d.open);
    view! {
        <div class="table-wrap">
            <table class="grid-table">
                <thead><tr>
                    <th>{tr("订货日", "Order day")}</th>
                    <th>{tr("状态", "Status")}</th>
                    {any_locked.then(|| view! { <th>{tr("导出", "Export")}</th> })}
                    <th class="num">{tr("订单", "Orders")}</th>
                    <th class="num">{tr("条数", "Cartons")}</th>
                    <th class="num">{tr("已取消", "Cancelled")}</th>
                    <th class="num">{tr("已导出", "Exported")}</th>
                    <th class="num">{tr("已到货（单/条）", "Delivered (orders/cartons)")}</th>
                    <th>{tr("截止（北京时间）", "Cutoff (China time)")}</th>
                </tr></thead>
                <tbody>
                    {days.into_iter().map(|day| {
                        let date = day.date;
                        let locked = !day.open;
                        let to_export = day.to_export();
                        let has_orders = day.confirmed > 0;
                        let url = move |format: &str| api::order_export_url(date, format, lang.get());
                        let delivered = format!("{} / {}", day.delivered, day.delivered_cartons);
                        let marked = day.clone();
                        view! {
                            <tr data-test="order-day" data-date=date.to_string()>
                                <td>{date.to_string()}</td>
                                <td>{if locked {
                                    view! { <span class="badge warn" data-test="day-status">{tr("已截止", "Locked")}</span> }.into_any()
                                } else {
                                    view! { <span class="badge ok" data-test="day-status">{tr("开放中", "Open")}</span> }.into_any()
                                }}</td>
                                {locked.then(|| view! { <td>{has_orders.then(|| view! {
                                    <span class="chips">
                                        <a class="button-link secondary" data-test="export-xlsx" href=move || url("xlsx")
                                            download=format!("orders-{date}.xlsx")>{tr("导出 Excel", "Export Excel")}</a>
                                        <a class="button-link secondary" data-test="export-csv" href=move || url("csv")
                                            download=format!("orders-{date}.csv")>{tr("导出 CSV", "Export CSV")}</a>
                                        <button type="button" class="link-button" data-test="mark-exported"
                                            disabled=to_export == 0
                                            on:click=move |_| on_mark(&marked)>
                                            {move || if to_export == 0 {
                                                lang.get().pick("已全部导出", "All exported").to_string()
                                            } else {
                                                match lang.get() {
                                                    Lang::Zh => format!("标记为已导出（{to_export}）"),
                                                    Lang::En => format!("Mark exported ({to_export})"),
                                                }
                                            }}
                                        </button>
                                    </span>
                                })}</td> })}
                                <td class="num" data-test="day-confirmed">{day.confirmed}</td>
                                <td class="num">{day.cartons}</td>
                                <td class="num">{day.cancelled}</td>
                                <td class="num" data-test="day-exported">{day.exported}</td>
                                <td class="num" data-test="day-delivered">{delivered}</td>
                                <td>{day.cutoff.format("%m-%d %H:%M").to_string()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The delivery file of the order and supply system, loaded back.
#[component]
fn Deliveries(
    /// Called after a file was loaded.
    on_loaded: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);
    // A `File` is not `Send`: the upload is an action local to this thread.
    let upload = Action::new_unsync_local(move |(file, csrf): &(web_sys::File, String)| {
        let (file, csrf) = (file.clone(), csrf.clone());
        async move {
            let lang = lang.get_untracked();
            let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
                .await
                .ok()?;
            let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
            Some((api::load_deliveries(bytes, &csrf, lang).await, lang))
        }
    });
    Effect::new(move |_| match upload.value().get() {
        Some(Some((Ok(r), lang))) => {
            notice.set(Some(match lang {
                Lang::Zh => format!(
                    "已导入到货 {} 行（{} 张订单，共 {} 条）；订单中文件未列出的 {} 行按到货 0 条记录",
                    r.rows, r.orders, r.cartons, r.missing_lines
                ),
                Lang::En => format!(
                    "Loaded {} delivered lines ({} orders, {} cartons); {} order lines not in the file were recorded as 0 delivered",
                    r.rows, r.orders, r.cartons, r.missing_lines
                ),
            }));
            on_loaded();
        }
        Some(Some((Err(e), _))) => error.set(Some(e)),
        Some(None) => error.set(Some(ErrorBody::new(
            domain::ErrorCode::Validation,
            lang.get_untracked()
                .pick("无法读取所选文件", "The chosen file cannot be read"),
        ))),
        None => {}
    });
    let loading = upload.pending();
    let file_input = NodeRef::<html::Input>::new();
    let send = move |_| {
        let Some(input) = file_input.get_untracked() else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        error.set(None);
        notice.set(None);
        upload.dispatch_local((file, session.csrf()));
    };
    view! {
        <section class="card">
            <h3>{tr("导入到货", "Load deliveries")}</h3>
            <p class="muted">{tr(
                "订单供货管理系统导出的到货文件（Excel 或 CSV，UTF-8 或 GB18030），首行为标题：订货日期、许可证号、品规编码、到货数量。只能登记已截止、未取消订单中的品规，到货不能超过订货量；文件中出现的订单按整单到货，未列出的品规记为到货 0 条。有任何错误时不导入任何数据。",
                "The delivery file of the order and supply system (Excel or CSV, UTF-8 or GB18030) with a header row: order date, licence no, spec code, delivered. Only specs of locked, not cancelled orders, at most the cartons ordered; an order in the file is delivered whole, its specs not listed as 0. With any error nothing is loaded.")}</p>
            <input type="file" accept=".csv,.xlsx,.txt" node_ref=file_input data-test="deliveries-file"
                on:change=send disabled=move || loading.get()/>
            {move || loading.get().then(|| view! { <span class="muted">{tr("正在导入…", "Loading…")}</span> })}
            {move || notice.get().map(|n| view! { <p class="note" data-test="deliveries-loaded">{n}</p> })}
            <ErrorNote error=error/>
            {move || error.get().map(|e| line_errors(&e, lang.get())).filter(|l| !l.is_empty()).map(|lines| view! {
                <ul class="row-errors" data-test="deliveries-errors">
                    {lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}
                </ul>
            })}
        </section>
    }
}

/// A month's delivered orders as its actual orders.
#[component]
fn ActualsFromOrders() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let month = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let notice = RwSignal::new(None::<String>);
    let apply = Action::new_local(move |(month, csrf): &(String, String)| {
        let (month, csrf) = (month.clone(), csrf.clone());
        async move { api::actuals_from_orders(&month, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match apply.value().get() {
        Some(Ok(r)) => {
            error.set(None);
            notice.set(Some(match lang.get_untracked() {
                Lang::Zh => format!(
                    "{} 的实际订货已替换为 {} 张到货订单：{} 行，共 {} 条",
                    r.month, r.orders, r.rows, r.cartons
                ),
                Lang::En => format!(
                    "The actual orders of {} are now its {} delivered orders: {} rows, {} cartons",
                    r.month, r.orders, r.rows, r.cartons
                ),
            }));
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = month.get_untracked();
        let lang = lang.get_untracked();
        if chosen.is_empty() {
            error.set(Some(
                ErrorBody::new(
                    domain::ErrorCode::Validation,
                    lang.pick("请选择月份", "Choose a month"),
                )
                .with_field("month", lang.pick("请选择月份", "Choose a month")),
            ));
            return;
        }
        let question = match lang {
            Lang::Zh => format!(
                "用 {chosen} 已到货的订单替换该月的实际订货？该月已导入的实际订货将被覆盖，预测准确率和经营分析随之更新。"
            ),
            Lang::En => format!(
                "Replace the actual orders of {chosen} with its delivered orders? The month's loaded actual orders are overwritten; accuracy and the analysis follow."
            ),
        };
        if confirm(&question) {
            notice.set(None);
            apply.dispatch((chosen, session.csrf()));
        }
    };
    view! {
        <section class="card">
            <h3>{tr("以到货订单作为实际订单", "Delivered orders as actual orders")}</h3>
            <p class="muted">{tr(
                "通过本系统订货时，某月已到货订单（按订货日期）按零售户 × 品规汇总后替换该月的实际订货，用于预测准确率和经营分析。",
                "Where the company orders through the product, a month's delivered orders (by order date), summed per retailer × spec, replace that month's actual orders for accuracy and the analysis.")}</p>
            <form class="filters" on:submit=submit>
                <label>{tr("月份", "Month")}
                    <input type="month" data-test="actuals-month" max=this_month()
                        prop:value=move || month.get()
                        on:input=move |ev| month.set(event_target_value(&ev))/>
                </label>
                <button type="submit" data-test="actuals-from-orders" disabled=move || apply.pending().get()>
                    {tr("以到货订单作为实际订单", "Use delivered orders")}
                </button>
            </form>
            {move || field_error(&error.get(), "month").map(|m| view! { <p class="row-errors" data-test="actuals-month-error">{m}</p> })}
            {move || error.get().filter(|e| !e.fields.contains_key("month")).map(|e| view! { <ErrorNote error=Some(e)/> })}
            {move || notice.get().map(|n| view! { <p class="note" data-test="actuals-done">{n}</p> })}
        </section>
    }
}
