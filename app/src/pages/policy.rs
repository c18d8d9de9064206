//! The marketing center's replenishment policy: lead days and the
//! stock-to-sales norm, per-spec order multiples, default caps and flags, the
//! cap per spec × class (a grid that takes a block pasted from a spreadsheet),
//! and the total cap per order per class.

use std::collections::HashMap;

use domain::quantity::{plain_number, Cartons};
use domain::replenishment::{
    check_cap, check_multiple, check_policy, ClassCap, ClassTotalCap, PolicyChanges, PolicyError,
    PolicyView, ReplenishmentPolicy, SpecPolicyChange,
};
use domain::{ErrorBody, Lang};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::error::ErrorNote;
use crate::i18n::tr;
use crate::{api, state};

#[derive(Clone)]
struct SpecRow {
    spec_id: i64,
    name: String,
    code: String,
    multiple: RwSignal<String>,
    default_cap: RwSignal<String>,
    scarce: RwSignal<bool>,
    orderable: RwSignal<bool>,
    /// One cell per class, in class order; empty: the default cap applies.
    caps: Vec<RwSignal<String>>,
}

/// The editor's state, built from what the server sent.
#[derive(Clone)]
struct Editor {
    original: PolicyView,
    lead_days: RwSignal<String>,
    norm: RwSignal<String>,
    weeks: RwSignal<String>,
    cutoff_days: RwSignal<String>,
    cutoff_hour: RwSignal<String>,
    specs: Vec<SpecRow>,
    totals: Vec<RwSignal<String>>,
}

impl Editor {
    fn new(view: PolicyView) -> Editor {
        let own: HashMap<(i64, &str), i64> = view
            .caps
            .iter()
            .map(|c| ((c.spec_id, c.class_code.as_str()), c.cap))
            .collect();
        let specs = view
            .specs
            .iter()
            .map(|s| SpecRow {
                spec_id: s.spec_id,
                name: s.name.clone(),
                code: s.code.clone(),
                multiple: RwSignal::new(s.order_multiple.to_string()),
                default_cap: RwSignal::new(s.default_cap.to_string()),
                scarce: RwSignal::new(s.scarce),
                orderable: RwSignal::new(s.orderable),
                caps: view
                    .classes
                    .iter()
                    .map(|c| {
                        RwSignal::new(
                            own.get(&(s.spec_id, c.code.as_str()))
                                .map(|v| v.to_string())
                                .unwrap_or_default(),
                        )
                    })
                    .collect(),
            })
            .collect();
        Editor {
            lead_days: RwSignal::new(view.policy.lead_days.to_string()),
            norm: RwSignal::new(view.policy.stock_to_sales_norm.to_string()),
            weeks: RwSignal::new(view.policy.weeks_per_month.to_string()),
            cutoff_days: RwSignal::new(view.policy.cutoff_days_before.to_string()),
            cutoff_hour: RwSignal::new(view.policy.cutoff_hour.to_string()),
            totals: view
                .classes
                .iter()
                .map(|c| RwSignal::new(c.total_cap.map(|v| v.to_string()).unwrap_or_default()))
                .collect(),
            specs,
            original: view,
        }
    }

    /// The changes against what was loaded, and an error per invalid input
    /// (keyed by the input's `data-cell`).
    fn changes(&self, lang: Lang) -> (PolicyChanges, HashMap<String, String>) {
        let mut errors = HashMap::new();
        let mut changes = PolicyChanges {
            version: self.original.version,
            ..PolicyChanges::default()
        };
        // Whole cartons as typed, then the domain bound for the value.
        let checked = |text: &str, check: fn(i64) -> Result<(), PolicyError>| {
            Cartons::parse(text)
                .map_err(|e| e.message(lang).to_string())
                .and_then(|c| {
                    check(c.get())
                        .map(|()| c.get())
                        .map_err(|e| e.message(lang).to_string())
                })
        };

        let number = |text: String| plain_number(&text).ok_or(());
        let lead = number(self.lead_days.get()).and_then(|t| t.parse::<u32>().map_err(|_| ()));
        let norm = number(self.norm.get()).and_then(|t| t.parse::<f64>().map_err(|_| ()));
        let weeks = number(self.weeks.get()).and_then(|t| t.parse::<f64>().map_err(|_| ()));
        let cutoff_days =
            number(self.cutoff_days.get()).and_then(|t| t.parse::<u32>().map_err(|_| ()));
        let cutoff_hour =
            number(self.cutoff_hour.get()).and_then(|t| t.parse::<u32>().map_err(|_| ()));
        let number = lang.pick("请输入数字", "Enter a number").to_string();
        if lead.is_err() {
            errors.insert("policy-lead_days".into(), number.clone());
        }
        if norm.is_err() {
            errors.insert("policy-stock_to_sales_norm".into(), number.clone());
        }
        if weeks.is_err() {
            errors.insert("policy-weeks_per_month".into(), number.clone());
        }
        if cutoff_days.is_err() {
            errors.insert("policy-cutoff_days_before".into(), number.clone());
        }
        if cutoff_hour.is_err() {
            errors.insert("policy-cutoff_hour".into(), number);
        }
        if let (
            Ok(lead_days),
            Ok(stock_to_sales_norm),
            Ok(weeks_per_month),
            Ok(cutoff_days_before),
            Ok(cutoff_hour),
        ) = (lead, norm, weeks, cutoff_days, cutoff_hour)
        {
            let policy = ReplenishmentPolicy {
                lead_days,
                stock_to_sales_norm,
                weeks_per_month,
                cutoff_days_before,
                cutoff_hour,
            };
            for (field, e) in check_policy(&policy) {
                errors.insert(format!("policy-{field}"), e.message(lang).to_string());
            }
            if policy != self.original.policy {
                changes.policy = Some(policy);
            }
        }

        for (r, row) in self.specs.iter().enumerate() {
            let Some(before) = self
                .original
                .specs
                .iter()
                .find(|s| s.spec_id == row.spec_id)
            else {
                continue;
            };
            let multiple = checked(&row.multiple.get(), check_multiple);
            let default_cap = checked(&row.default_cap.get(), check_cap);
            match (&multiple, &default_cap) {
                (Ok(m), Ok(c)) => {
                    let change = SpecPolicyChange {
                        spec_id: row.spec_id,
                        order_multiple: *m,
                        default_cap: *c,
                        scarce: row.scarce.get(),
                        orderable: row.orderable.get(),
                    };
                    if (
                        change.order_multiple,
                        change.default_cap,
                        change.scarce,
                        change.orderable,
                    ) != (
                        before.order_multiple,
                        before.default_cap,
                        before.scarce,
                        before.orderable,
                    ) {
                        changes.specs.push(change);
                    }
                }
                _ => {
                    if let Err(e) = multiple {
                        errors.insert(format!("m-{r}"), e);
                    }
                    if let Err(e) = default_cap {
                        errors.insert(format!("d-{r}"), e);
                    }
                }
            }
            for (c, cell) in row.caps.iter().enumerate() {
                let class = &self.original.classes[c].code;
                let had = self
                    .original
                    .caps
                    .iter()
                    .find(|x| x.spec_id == row.spec_id && &x.class_code == class)
                    .map(|x| x.cap);
                let text = cell.get();
                if text.trim().is_empty() {
                    if let Some(had) = had {
                        errors.insert(
                            format!("{r}-{c}"),
                            match lang {
                                Lang::Zh => format!("请输入限量（原为 {had}）"),
                                Lang::En => format!("Enter a cap (was {had})"),
                            },
                        );
                    }
                    continue;
                }
                match checked(&text, check_cap) {
                    Ok(v) if Some(v) != had => changes.caps.push(ClassCap {
                        spec_id: row.spec_id,
                        class_code: class.clone(),
                        cap: v,
                    }),
                    Ok(_) => {}
                    Err(e) => {
                        errors.insert(format!("{r}-{c}"), e);
                    }
                }
            }
        }
        for (c, cell) in self.totals.iter().enumerate() {
            let class = &self.original.classes[c];
            let text = cell.get();
            let value = if text.trim().is_empty() {
                Ok(None)
            } else {
                checked(&text, check_cap).map(Some)
            };
            match value {
                Ok(v) if v != class.total_cap => changes.classes.push(ClassTotalCap {
                    code: class.code.clone(),
                    total_cap: v,
                }),
                Ok(_) => {}
                Err(e) => {
                    errors.insert(format!("t-{c}"), e);
                }
            }
        }
        (changes, errors)
    }
}

fn change_count(c: &PolicyChanges) -> usize {
    usize::from(c.policy.is_some()) + c.specs.len() + c.caps.len() + c.classes.len()
}

fn focus_cell(key: &str) {
    let found = document()
        .query_selector(&format!("[data-cell='{key}']"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(el) = found {
        let _ = el.focus();
    }
}

#[component]
pub fn PolicyPage() -> impl IntoView {
    let lang = state::lang();
    let editor = RwSignal::new(None::<Editor>);
    let error = RwSignal::new(None::<ErrorBody>);
    // The editor's cells are signals: made under the page, not under the
    // effect that takes the policy in, nor under the editor that a save
    // replaces (either would dispose them).
    let owner = StoredValue::new(Owner::current().unwrap_or_default());
    let take = move |v: PolicyView| {
        editor.set(Some(owner.with_value(|o| o.with(|| Editor::new(v)))));
    };
    let loaded = LocalResource::new(move || api::policy(lang.get_untracked()));
    Effect::new(move |_| match loaded.get() {
        Some(Ok(v)) => take(v),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let reset = Callback::new(take);
    view! {
        <ErrorNote error=error/>
        {move || editor.get().map(|e| view! { <PolicyEditor editor=e reset=reset/> })}
    }
}

#[component]
fn PolicyEditor(
    editor: Editor,
    /// Starts over from the policy as saved.
    reset: Callback<PolicyView>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let ed = StoredValue::new(editor.clone());
    let checked = Memo::new(move |_| {
        let lang = lang.get();
        ed.with_value(|e| {
            let (changes, errors) = e.changes(lang);
            (change_count(&changes), errors)
        })
    });
    let cell_error = move |key: String| move || checked.with(|c| c.1.get(&key).cloned());
    let save_error = RwSignal::new(None::<ErrorBody>);
    let saved = RwSignal::new(false);
    let save_action = Action::new_local(move |(changes, csrf): &(PolicyChanges, String)| {
        let (changes, csrf) = (changes.clone(), csrf.clone());
        async move { api::change_policy(&changes, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match save_action.value().get() {
        Some(Ok(view)) => {
            save_error.set(None);
            reset.run(view);
            saved.set(true);
        }
        Some(Err(e)) => save_error.set(Some(e)),
        None => {}
    });
    let saving = save_action.pending();
    let save = move |_| {
        let (changes, errors) = ed.with_value(|e| e.changes(lang.get_untracked()));
        if !errors.is_empty() || change_count(&changes) == 0 || saving.get_untracked() {
            return;
        }
        let before = ed.with_value(|e| e.original.policy);
        if let Some(p) = changes.policy {
            if (p.cutoff_days_before, p.cutoff_hour)
                != (before.cutoff_days_before, before.cutoff_hour)
            {
                let asked = match lang.get_untracked() {
                    Lang::Zh => format!(
                        "订货截止将改为订货日前 {} 天 {}:00，立即对所有零售户生效：已过新截止时间的订货日会马上锁定。确定保存？",
                        p.cutoff_days_before, p.cutoff_hour
                    ),
                    Lang::En => format!(
                        "Ordering will close {} days before each order day at {}:00, for every retailer at once: order days past the new cutoff lock now. Save?",
                        p.cutoff_days_before, p.cutoff_hour
                    ),
                };
                if !crate::components::confirm::confirm(&asked) {
                    return;
                }
            }
        }
        save_action.dispatch((changes, session.csrf()));
    };

    let classes = editor.original.classes.clone();
    let n_rows = editor.specs.len();
    let n_cols = classes.len();
    // Pastes a tab-separated block (Excel, WPS) into the cap grid from the cell at (r, c).
    let paste = move |ev: leptos::ev::ClipboardEvent, r: usize, c: usize| {
        let Some(text) = ev.clipboard_data().and_then(|d| d.get_data("text").ok()) else {
            return;
        };
        if !text.contains('\t') && !text.trim_end().contains('\n') {
            return; // a single value: let the input take it
        }
        ev.prevent_default();
        ed.with_value(|e| {
            for (dr, line) in text.trim_end_matches(['\r', '\n']).split('\n').enumerate() {
                for (dc, value) in line.trim_end_matches('\r').split('\t').enumerate() {
                    if let Some(cell) = e.specs.get(r + dr).and_then(|row| row.caps.get(c + dc)) {
                        cell.set(value.trim().to_string());
                    }
                }
            }
        });
    };
    let keys = move |ev: leptos::ev::KeyboardEvent, r: usize, c: usize| {
        let target = match ev.key().as_str() {
            "ArrowDown" | "Enter" if r + 1 < n_rows => Some((r + 1, c)),
            "ArrowUp" if r > 0 => Some((r - 1, c)),
            "ArrowRight" if ev.ctrl_key() && c + 1 < n_cols => Some((r, c + 1)),
            "ArrowLeft" if ev.ctrl_key() && c > 0 => Some((r, c - 1)),
            _ => None,
        };
        if let Some((r, c)) = target {
            ev.prevent_default();
            focus_cell(&format!("{r}-{c}"));
        }
    };

    let field = move |label: &'static str,
                      label_en: &'static str,
                      value: RwSignal<String>,
                      key: &'static str| {
        let err = cell_error(format!("policy-{key}"));
        let err2 = err.clone();
        view! {
            <label class="field">
                <span>{move || lang.get().pick(label, label_en)}</span>
                <input type="text" inputmode="decimal" data-cell=format!("policy-{key}") class:invalid=move || err().is_some()
                    prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
                {move || err2().map(|m| view! { <span class="field-error">{m}</span> })}
            </label>
        }
    };

    view! {
        <section class="card">
            <h1>{tr("网上配货政策", "Online replenishment policy")}</h1>
            <div class="policy-fields">
                {field("到货天数", "Lead days", editor.lead_days, "lead_days")}
                {field("月库存销比上限", "Stock-to-sales norm (monthly)", editor.norm, "stock_to_sales_norm")}
                {field("每月周数", "Weeks per month", editor.weeks, "weeks_per_month")}
                {field("订货截止：提前天数", "Order cutoff: days before", editor.cutoff_days, "cutoff_days_before")}
                {field("订货截止：钟点（0–23）", "Order cutoff: hour (0–23)", editor.cutoff_hour, "cutoff_hour")}
            </div>
        </section>
        <section class="card">
            <h2>{tr("品规限量（条/次）", "Caps per order (cartons)")}</h2>
            <p class="muted small">{tr(
                "格子为空时按默认限量。可从 Excel/WPS 复制一块数据，选中起始格后粘贴；回车或方向键上下移动，Ctrl+方向键左右移动。",
                "Empty cells use the default cap. Paste a block copied from Excel/WPS into the starting cell; Enter or arrows move up and down, Ctrl+arrows left and right.")}</p>
            <div class="table-wrap cap-grid-wrap">
                <table class="cap-grid" data-test="cap-grid">
                    <thead>
                        <tr>
                            <th class="sticky">{tr("品规", "Spec")}</th>
                            <th>{tr("倍数", "Multiple")}</th>
                            <th>{tr("默认限量", "Default")}</th>
                            <th>{tr("紧俏", "Scarce")}</th>
                            <th>{tr("可订", "Orderable")}</th>
                            {classes.iter().map(|c| view! { <th class="num">{c.label.clone()}</th> }).collect_view()}
                        </tr>
                        <tr class="totals-row">
                            <th class="sticky">{tr("单次总量限量", "Total cap per order")}</th>
                            <th></th><th></th><th></th><th></th>
                            {editor.totals.iter().enumerate().map(|(c, cell)| {
                                let cell = *cell;
                                let err = cell_error(format!("t-{c}"));
                                let err2 = err.clone();
                                view! {
                                    <th><input class="cell" data-cell=format!("t-{c}") inputmode="numeric"
                                        class:invalid=move || err().is_some() title=move || err2().unwrap_or_default()
                                        placeholder=move || lang.get().pick("不限", "none")
                                        prop:value=move || cell.get() on:input=move |ev| cell.set(event_target_value(&ev))/></th>
                                }
                            }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {editor.specs.iter().enumerate().map(|(r, row)| {
                            let row = row.clone();
                            let (m_err, d_err) = (cell_error(format!("m-{r}")), cell_error(format!("d-{r}")));
                            let (m_err2, d_err2) = (m_err.clone(), d_err.clone());
                            let default_cap = row.default_cap;
                            view! {
                                <tr data-spec=row.spec_id>
                                    <th class="sticky" title=row.code.clone()>{row.name.clone()}</th>
                                    <td><input class="cell" data-cell=format!("m-{r}") inputmode="numeric"
                                        class:invalid=move || m_err().is_some() title=move || m_err2().unwrap_or_default()
                                        prop:value=move || row.multiple.get() on:input=move |ev| row.multiple.set(event_target_value(&ev))/></td>
                                    <td><input class="cell" data-cell=format!("d-{r}") inputmode="numeric"
                                        class:invalid=move || d_err().is_some() title=move || d_err2().unwrap_or_default()
                                        prop:value=move || default_cap.get() on:input=move |ev| default_cap.set(event_target_value(&ev))/></td>
                                    <td><input type="checkbox" prop:checked=move || row.scarce.get() on:change=move |ev| row.scarce.set(event_target_checked(&ev))/></td>
                                    <td><input type="checkbox" prop:checked=move || row.orderable.get() on:change=move |ev| row.orderable.set(event_target_checked(&ev))/></td>
                                    {row.caps.iter().enumerate().map(|(c, cell)| {
                                        let cell = *cell;
                                        let err = cell_error(format!("{r}-{c}"));
                                        let err2 = err.clone();
                                        view! {
                                            <td><input class="cell" data-cell=format!("{r}-{c}") inputmode="numeric"
                                                class:invalid=move || err().is_some() title=move || err2().unwrap_or_default()
                                                placeholder=move || default_cap.get()
                                                prop:value=move || cell.get()
                                                on:input=move |ev| cell.set(event_target_value(&ev))
                                                on:paste=move |ev| paste(ev, r, c)
                                                on:keydown=move |ev| keys(ev, r, c)/></td>
                                        }
                                    }).collect_view()}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <div class="save-bar">
            <span class="save-status" data-test="policy-status">{move || {
                let lang = lang.get();
                let (changes, errors) = checked.get();
                if !errors.is_empty() {
                    format!("{} {}", errors.len(), lang.pick("处输入有误（红框），修正后才能保存", "entries to correct (red) before saving"))
                } else if changes > 0 {
                    format!("{changes} {}", lang.pick("项未保存的修改", "unsaved changes"))
                } else if saved.get() {
                    lang.pick("已保存", "Saved").to_string()
                } else {
                    lang.pick("没有修改", "No changes").to_string()
                }
            }}</span>
            <button class="primary" data-test="save-policy" on:click=save
                disabled=move || saving.get() || checked.with(|c| c.0 == 0 || !c.1.is_empty())>
                {tr("保存政策", "Save the policy")}
            </button>
            // In the sticky bar, where the eye is when saving: a refusal
            // (someone changed the policy first) is seen at once.
            <ErrorNote error=save_error/>
        </div>
    }
}
