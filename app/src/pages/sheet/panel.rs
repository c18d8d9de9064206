//! The side panel: the selected cell's retailer and spec, the helper
//! figures (last month, same month last year, baseline with its 80 %
//! interval, turnover, bound), a note when the value is outside the
//! interval, a reviewer's correction and its line history, and the reason
//! field.

use domain::forecast::view::LineHistory;
use domain::forecast::{check_reason, deviates};
use domain::Lang;
use leptos::prelude::*;

use super::selection::Ui;
use crate::api;

#[component]
pub(super) fn CellDetail(ui: Ui) -> impl IntoView {
    let Ui {
        grid, cols, lang, ..
    } = ui;
    let (rules, last_month_of) = grid.sheet.with_value(|s| (s.rules, s.last_month_of));
    let history = RwSignal::new(None::<LineHistory>);
    // A corrected line's history: (sheet, retailer, spec).
    let load_history = Action::new_local(
        move |&(sheet_id, retailer, spec): &(i64, i64, i64)| async move {
            if let Ok(h) = api::line_history(sheet_id, retailer, spec, lang.get_untracked()).await {
                history.set(Some(h));
            }
        },
    );
    let detail = move || {
        let i = ui.selected_index()?;
        let (r, c) = (i / cols, i % cols);
        let lang = lang.get();
        let value = grid.values.with(|v| v[i]);
        // Read without tracking: typing a reason must not rebuild the panel
        // (and take the focus from the reason field).
        let reason = grid
            .reasons
            .with_untracked(|v| v[i].clone())
            .unwrap_or_default();
        let bad = grid.bad.with(|b| b.get(&i).map(|(_, m)| m.clone()));
        let conflict = grid.conflicts.with(|k| k.get(&i).cloned());
        let reason_error = move || {
            grid.reasons
                .with(|r| check_reason(r[i].as_deref()).err())
                .map(|e| view! { <p class="field-error">{e.message(lang)}</p> })
        };
        let problem = move || {
            grid.problems
                .with(|p| p.get(&i).cloned())
                .map(|m| view! { <p class="field-error" data-test="cell-problem">{m}</p> })
        };
        Some(grid.sheet.with_value(|s| {
            let row = &s.rows[r];
            let spec = &s.specs[c];
            let base = s.baseline[i];
            // Sheets from before intervals were stored carry none.
            let interval = s.baseline_low.get(i).zip(s.baseline_high.get(i)).map(|(&lo, &hi)| (lo, hi));
            // No order in the history: nothing to compare a value with.
            let no_history = base == 0 && interval == Some((0, 0));
            let outside = value
                .zip(interval)
                .filter(|&(v, (lo, hi))| !no_history && (v < lo || v > hi));
            let far = value.is_some_and(|v| deviates(v, base, &rules));
            let turnover = s.turnover[i];
            let editable = grid.editable.get();
            view! {
                <h3 data-test="detail-title">{row.name.clone()}<small>{format!(" {} · {} · {}", row.licence_no, row.class_code, row.market_unit)}</small></h3>
                <p class="detail-spec">{spec.name.clone()}<small>{format!(" {}", spec.code)}</small></p>
                <dl class="helpers">
                    <dt>{format!("{} {}", lang.pick("上月实际", "Last month"), last_month_of)}</dt><dd data-test="helper-last-month">{s.last_month[i]}</dd>
                    <dt>{lang.pick("去年同期", "Same month last year")}</dt><dd data-test="helper-last-year">{s.last_year[i]}</dd>
                    <dt>{lang.pick("系统基线", "System baseline")}</dt><dd><span data-test="helper-baseline">{base}</span>
                        {interval.map(|(lo, hi)| view! {
                            <small class="interval" data-test="helper-interval">{if no_history {
                                format!(" {}", lang.pick("无历史订货", "no orders in the history"))
                            } else {
                                format!(" {} {lo}–{hi}", lang.pick("80% 区间", "80% interval"))
                            }}</small>
                        })}</dd>
                    <dt>{lang.pick("配货周转数(周)", "Weekly turnover")}</dt><dd data-test="helper-turnover">{match turnover {
                        Some(t) => format!("{t} ≈ {:.0}/{}", t as f64 * 4.3, lang.pick("月", "month")),
                        None => lang.pick("未开通网上配货", "not on online replenishment").to_string(),
                    }}</dd>
                    <dt>{lang.pick("合理上限", "Sanity bound")}</dt><dd data-test="helper-bound">{s.bound[i]}</dd>
                </dl>
                {outside.map(|(v, (lo, hi))| view! {
                    <p class="interval-note" data-test="outside-interval">{match lang {
                        Lang::Zh => format!("{v} 超出历史支持的区间（{lo}–{hi}），请核实"),
                        Lang::En => format!("{v} is outside what the history supports ({lo}–{hi}); check it"),
                    }}</p>
                })}
                {grid.corrected.with_value(|k| k.get(&i).cloned()).map(|c| {
                    let (retailer, spec, sheet_id) = (c.retailer_id, c.spec_id, s.sheet_id);
                    view! {
                        <p class="correction-note" data-test="helper-correction">{match lang {
                            Lang::Zh => format!("第{}级 {} 修正：{} → {} 条（{}）", c.level, c.actor_name, c.entered.map(|v| v.to_string()).unwrap_or_else(|| "—".into()), c.value, c.reason),
                            Lang::En => format!("Level {} {} corrected {} → {} cartons ({})", c.level, c.actor_name, c.entered.map(|v| v.to_string()).unwrap_or_else(|| "—".into()), c.value, c.reason),
                        }}</p>
                        <button type="button" class="link" data-test="cell-history" on:click=move |_| {
                            load_history.dispatch((sheet_id, retailer, spec));
                        }>{lang.pick("查看修改历史", "Line history")}</button>
                    }
                })}
                {bad.map(|m| view! { <p class="field-error" data-test="cell-error">{m}</p> })}
                {conflict.map(|(v, _, _)| view! { <p class="field-error">{format!("{}{}", lang.pick("服务器上的值：", "On the server: "), v.map(|v| v.to_string()).unwrap_or_else(|| "—".into()))}</p> })}
                {far.then(|| view! {
                    <label class="reason">
                        <span>{lang.pick("与系统基线偏差较大，请说明原因", "Far from the baseline: give a reason")}</span>
                        <textarea data-test="reason-input" rows="2" maxlength="100" prop:value=reason.clone() disabled=!editable
                            on:input=move |ev| grid.set_reason(i, event_target_value(&ev))></textarea>
                    </label>
                })}
                {reason_error}
                {problem}
            }
        }))
    };
    view! {
        <aside class="cell-detail card" data-test="cell-detail">{detail}</aside>
        {move || history.get().map(|h| view! { <crate::pages::review::HistoryPanel history=h on_close=Callback::new(move |_| history.set(None))/> })}
    }
}
