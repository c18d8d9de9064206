//! The editor around the grid: the sheet's header, the filter and action
//! toolbars, notes and errors, the conflict bar, the legend, and the grid
//! with its side panel.

use std::collections::HashMap;

use domain::forecast::view::SheetStatus;
use domain::Lang;
use leptos::prelude::*;

use super::grid::Grid;
use super::import::Import;
use super::panel::CellDetail;
use super::render::{cases, GridViewport};
use super::save::{autosave, SaveState};
use super::selection::Ui;
use super::submit::submit_action;
use crate::api;
use crate::components::error::ErrorNote;
use crate::i18n::tr;

#[component]
pub(super) fn SheetEditor(grid: Grid) -> impl IntoView {
    let lang = grid.lang;
    let (month, deadline, scope, rules) = grid
        .sheet
        .with_value(|s| (s.cycle.month, s.deadline, s.cycle.scope, s.rules));
    let (markets, tiers) = grid.sheet.with_value(|s| {
        let mut markets: Vec<String> = s.rows.iter().map(|r| r.market_unit.clone()).collect();
        markets.sort();
        markets.dedup();
        let mut tiers: Vec<(i64, String)> = s
            .rows
            .iter()
            .map(|r| (r.class_rank, r.class_code.clone()))
            .collect();
        tiers.sort();
        tiers.dedup();
        (
            markets,
            tiers.into_iter().map(|(_, c)| c).collect::<Vec<_>>(),
        )
    });
    let ui = Ui::new(grid);
    let Ui {
        market,
        tier,
        name,
        needing_reason,
        col_totals,
        ..
    } = ui;

    request_animation_frame(move || ui.measure());
    let resize = window_event_listener_untyped("resize", move |_| ui.measure());
    on_cleanup(move || resize.remove());

    autosave(grid);

    let grand_total = move || col_totals.with(|t| t.iter().sum::<i64>());
    let filled = move || {
        grid.values
            .with(|v| v.iter().filter(|x| x.is_some()).count())
    };
    let total_cells = grid.sheet.with_value(|s| s.value.len());
    let submit = submit_action(grid);
    let import = Import::new(grid);
    let export_href = api::export_sheet_url(grid.cycle_id(), None);

    view! {
        <header class="sheet-head">
            <h2>{move || match lang.get() {
                Lang::Zh => format!("{}年{}月 需求预测", month.year(), month.month()),
                Lang::En => format!("Demand forecast {month}"),
            }}</h2>
            <span class="chip" data-test="sheet-status">{move || grid.status.get().label(lang.get())}</span>
            <span class="muted">{move || format!("{} {} · {}", lang.get().pick("提交截止", "Due"), deadline, scope.label(lang.get()))}</span>
        </header>
        <div class="sheet-toolbar">
            <select data-test="filter-market" on:change=move |ev| market.set(event_target_value(&ev)) prop:value=move || market.get()>
                <option value="">{tr("全部市场部", "All departments")}</option>
                {markets.into_iter().map(|m| view! { <option value=m.clone()>{m.clone()}</option> }).collect_view()}
            </select>
            <select data-test="filter-tier" on:change=move |ev| tier.set(event_target_value(&ev)) prop:value=move || tier.get()>
                <option value="">{tr("全部档位", "All classes")}</option>
                {tiers.into_iter().map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
            </select>
            <input type="search" data-test="filter-name" placeholder=move || lang.get().pick("零售户名称或许可证号", "Retailer or licence")
                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <span class="spacer"></span>
            <span class="totals" data-test="grand-total">{move || format!("{} {} {} / {} {}", lang.get().pick("合计", "Total"), grand_total(), lang.get().pick("条", "cartons"), cases(grand_total()), lang.get().pick("箱", "cases"))}</span>
            <span class="muted" data-test="filled">{move || format!("{}/{}", filled(), total_cells)}</span>
        </div>
        <div class="sheet-toolbar">
            <button type="button" data-test="fill-baseline" disabled=move || !grid.editable.get()
                title=move || lang.get().pick("有选区时填充选区；否则只填充空格", "Fills the selection, or else every empty cell")
                on:click=move |_| ui.fill_from("baseline")>{tr("按系统基线填充", "Fill from baseline")}</button>
            <button type="button" data-test="fill-last-month" disabled=move || !grid.editable.get()
                on:click=move |_| ui.fill_from("last_month")>{tr("按上月实际填充", "Fill from last month")}</button>
            <button type="button" data-test="fill-down" disabled=move || !grid.editable.get()
                on:click=move |_| { ui.fill_down(); ui.focus_editor(); }>{tr("向下填充 Ctrl+D", "Fill down Ctrl+D")}</button>
            <a class="button-link secondary" href=export_href download="">{tr("导出 xlsx", "Export xlsx")}</a>
            <label class="button-link secondary file" class:disabled=move || !grid.editable.get() || import.action.pending().get()>
                {move || if import.action.pending().get() { tr("正在导入…", "Importing…")() } else { tr("导入 xlsx", "Import xlsx")() }}
                <input type="file" node_ref=import.input data-test="import-file" accept=".xlsx" disabled=move || !grid.editable.get()
                    on:change=move |_| import.on_change(grid)/>
            </label>
            <span class="chip reason-count" class:pending=move || needing_reason.with(|n| !n.is_empty()) data-test="needs-reason-count">
                {move || match (lang.get(), needing_reason.with(Vec::len)) {
                    (Lang::Zh, 0) => "没有需说明原因的格".to_string(),
                    (Lang::Zh, n) => format!("{n} 格需说明原因"),
                    (Lang::En, 0) => "No cell needs a reason".to_string(),
                    (Lang::En, n) => format!("{n} cells need a reason"),
                }}
            </span>
            <button type="button" data-test="next-reason" disabled=move || needing_reason.with(Vec::is_empty)
                title=move || lang.get().pick("跳到下一个需说明原因的格（F8）", "Go to the next cell that needs a reason (F8)")
                on:click=move |_| ui.next_reason()>{tr("下一个 F8", "Next F8")}</button>
            <span class="spacer"></span>
            <span class=move || grid.status_class() data-test="save-status" role="status">{move || grid.status_text()}</span>
            <button type="button" class="primary" data-test="submit-sheet" disabled=move || { !grid.editable.get() || submit.pending().get() }
                on:click=move |_| ui.submit(submit)>{move || if submit.pending().get() { tr("正在提交…", "Submitting…")() } else { tr("提交", "Submit")() }}</button>
        </div>
        {grid.sheet.with_value(|s| s.returned.clone()).filter(|_| grid.status.get_untracked() == SheetStatus::Returned).map(|a| {
            let corrected = grid.corrected.with_value(HashMap::len);
            view! {
                <div class="return-note" role="alert" data-test="return-comment">
                    <strong>{move || format!("{}（{} · {}）", lang.get().pick("退回意见", "Returned with a comment"), a.actor_name, crate::format::china_time(a.at))}</strong>
                    <q>{a.comment.clone().unwrap_or_default()}</q>
                    {(corrected > 0).then(|| view! { <p data-test="corrected-count">{move || match lang.get() {
                        Lang::Zh => format!("上级修正了 {corrected} 行，已用蓝色标出；点选单元格可看修正原因。修改后请重新提交。"),
                        Lang::En => format!("Reviewers corrected {corrected} lines, marked in blue; select a cell for the reason. Submit again when done."),
                    }}</p> })}
                </div>
            }
        })}
        {move || grid.note.get().map(|n| view! { <p class="note" data-test="sheet-note">{n}</p> })}
        <div data-test="sheet-error"><ErrorNote error=grid.error/></div>
        {move || import.errors.with(|e| !e.is_empty()).then(|| view! {
            <ul class="import-errors" data-test="import-errors">
                {import.errors.get().into_iter().map(|(cell, message)| view! {
                    <li><strong>{cell}</strong>{format!("：{message}")}</li>
                }).collect_view()}
            </ul>
        })}
        {move || grid.save_state.with(|s| matches!(s, SaveState::Conflict(_))).then(|| view! {
            <div class="conflict-bar" role="alert">
                <span>{move || grid.status_text()}</span>
                <button type="button" data-test="keep-mine" on:click=move |_| grid.resolve(true)>{tr("保留我的修改", "Keep mine")}</button>
                <button type="button" data-test="take-server" on:click=move |_| grid.resolve(false)>{tr("使用服务器上的数据", "Use the server's")}</button>
            </div>
        })}
        <p class="keys-help">{tr(
            "方向键/Tab/Enter 移动 · 直接输入即替换 · F2 修改 · Delete 清除 · Shift+方向键 选区 · Ctrl+C/Ctrl+V 复制粘贴 Excel 区块 · Ctrl+D 向下填充",
            "Arrows/Tab/Enter move · type to replace · F2 edits · Delete clears · Shift+arrows select · Ctrl+C/Ctrl+V copy and paste Excel blocks · Ctrl+D fills down",
        )}</p>
        <p class="grid-legend" data-test="reason-legend">
            <span><i class="swatch needs-reason"></i>{tr("需说明原因（与基线偏差大，尚无原因）", "Needs a reason (far from the baseline, none given)")}</span>
            <span><i class="swatch deviates"></i>{tr("偏差大，已说明原因", "Far from the baseline, reason given")}</span>
            <span><i class="swatch bad"></i>{tr("输入有误，未保存", "Invalid, not saved")}</span>
            <span><i class="swatch problem"></i>{tr("提交前须处理", "To fix before submitting")}</span>
            <span><i class="swatch corrected"></i>{tr("上级已修正", "Corrected by a reviewer")}</span>
        </p>
        <div class="sheet-main">
            <GridViewport ui=ui/>
            <CellDetail ui=ui/>
        </div>
        <p class="muted">{move || format!(
            "{} {}% {} {} {}",
            lang.get().pick("偏离提示：与基线相差超过", "Marked when more than"),
            rules.deviation_percent,
            lang.get().pick("且超过", "and more than"),
            rules.deviation_cartons,
            lang.get().pick("条时需填写原因（黄色）。", "cartons from the baseline (yellow): a reason is needed."),
        )}</p>
    }
}
