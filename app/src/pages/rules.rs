//! 基础数据 → 预测规则与上限: the forecast rules (deviation thresholds and
//! the default sanity bound) and the sanity bound per spec × class, a grid
//! where an empty cell means the default bound applies. The marketing center
//! changes them; other staff read them with the inputs disabled.

use std::collections::HashMap;

use domain::catalogue::Spec;
use domain::forecast::view::ForecastBound;
use domain::forecast::ForecastRules;
use domain::masterdata::records::ClassRecord;
use domain::policy::op;
use domain::quantity::{plain_number, Cartons};
use domain::{ErrorBody, Lang};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::confirm::confirm;
use crate::components::error::field_error;
use crate::i18n::tr;
use crate::{api, state};

/// Everything the page shows, as loaded.
#[derive(Clone)]
struct Loaded {
    rules: ForecastRules,
    bounds: Vec<ForecastBound>,
    specs: Vec<Spec>,
    /// In rank order.
    classes: Vec<ClassRecord>,
}

async fn load(lang: Lang) -> Result<Loaded, ErrorBody> {
    let rules = api::forecast_rules(lang).await?;
    let bounds = api::forecast_bounds(lang).await?;
    let mut classes = api::master_classes(lang).await?.classes;
    classes.sort_by_key(|c| c.rank);
    let specs = api::specs(lang).await?;
    Ok(Loaded {
        rules,
        bounds,
        specs,
        classes,
    })
}

/// An error's message, in an element of class `error`.
#[component]
fn ErrorBox(#[prop(into)] error: Signal<Option<ErrorBody>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <p class="error error-note" role="alert">{e.message}</p> }
        })
    }
}

#[component]
pub fn RulesPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let fetched = LocalResource::new(move || load(lang.get_untracked()));
    let loaded = Signal::derive(move || fetched.get().and_then(Result::ok));
    let error = Signal::derive(move || fetched.get().and_then(Result::err));
    let can_edit = Signal::derive(move || {
        session.session.with(|s| {
            s.as_ref().is_some_and(|s| {
                op::RULES_CHANGE.permits(s.role) && op::BOUNDS_CHANGE.permits(s.role)
            })
        })
    });
    view! {
        <h1>{tr("基础数据 · 预测规则与上限", "Master data · Forecast rules and bounds")}</h1>
        <Show when=move || session.session.with(Option::is_some) && !can_edit.get()>
            <p class="hint" id="rules-readonly">{tr(
                "只有营销中心可以修改预测规则与上限，这里仅供查看。",
                "Only the marketing center may change the rules and bounds; shown read-only.")}</p>
        </Show>
        <ErrorBox error=error/>
        {move || loaded.get().map(|l| {
            let default_bound = RwSignal::new(l.rules.default_bound);
            view! {
                <RulesForm rules=l.rules default_bound=default_bound can_edit=can_edit/>
                <BoundsGrid bounds=l.bounds specs=l.specs classes=l.classes default_bound=default_bound can_edit=can_edit/>
            }
        })}
    }
}

// ----- The three rules -----

const RULE_FIELDS: [&str; 3] = ["deviation_percent", "deviation_cartons", "default_bound"];

/// The rules as typed, when valid, and an error per field otherwise (the
/// domain's own check, as the server applies it).
fn check_rules(
    texts: [String; 3],
    lang: Lang,
) -> (Option<ForecastRules>, HashMap<&'static str, String>) {
    let mut errors = HashMap::new();
    let mut values = [0_i64; 3];
    for (i, text) in texts.iter().enumerate() {
        match plain_number(text).and_then(|t| t.parse::<i64>().ok()) {
            Some(v) => values[i] = v,
            None => {
                errors.insert(
                    RULE_FIELDS[i],
                    lang.pick("请输入整数", "Enter a whole number").to_string(),
                );
            }
        }
    }
    let rules = ForecastRules {
        deviation_percent: values[0],
        deviation_cartons: values[1],
        default_bound: values[2],
    };
    for (field, zh, en) in rules.check() {
        errors
            .entry(field)
            .or_insert_with(|| lang.pick(zh, en).to_string());
    }
    (errors.is_empty().then_some(rules), errors)
}

#[component]
fn RulesForm(
    rules: ForecastRules,
    default_bound: RwSignal<i64>,
    can_edit: Signal<bool>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let percent = RwSignal::new(rules.deviation_percent.to_string());
    let cartons = RwSignal::new(rules.deviation_cartons.to_string());
    let bound = RwSignal::new(rules.default_bound.to_string());
    let server = RwSignal::new(None::<ErrorBody>);
    let saved = RwSignal::new(false);
    let save_rules = Action::new_local(move |(rules, csrf): &(ForecastRules, String)| {
        let (rules, csrf) = (rules.clone(), csrf.clone());
        async move { api::save_forecast_rules(&rules, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match save_rules.value().get() {
        Some(Ok(r)) => {
            percent.set(r.deviation_percent.to_string());
            cartons.set(r.deviation_cartons.to_string());
            bound.set(r.default_bound.to_string());
            default_bound.set(r.default_bound);
            server.set(None);
            saved.set(true);
        }
        Some(Err(e)) => server.set(Some(e)),
        None => {}
    });
    let pending = save_rules.pending();
    let checked =
        Memo::new(move |_| check_rules([percent.get(), cartons.get(), bound.get()], lang.get()));
    let save = move |_| {
        if pending.get_untracked() || !can_edit.get_untracked() {
            return;
        }
        let Some(rules) = checked.get_untracked().0 else {
            return;
        };
        saved.set(false);
        save_rules.dispatch((rules, session.csrf()));
    };
    let field = move |id: &'static str,
                      name: &'static str,
                      zh: &'static str,
                      en: &'static str,
                      value: RwSignal<String>| {
        let message = move || {
            checked
                .with(|c| c.1.get(name).cloned())
                .or_else(|| field_error(&server.get(), name))
        };
        view! {
            <label class="field">
                <span>{tr(zh, en)}</span>
                <input type="text" id=id inputmode="numeric" autocomplete="off"
                    class:invalid=move || message().is_some()
                    aria-invalid=move || if message().is_some() { "true" } else { "false" }
                    disabled=move || !can_edit.get()
                    prop:value=move || value.get()
                    on:input=move |ev| {
                        value.set(event_target_value(&ev));
                        saved.set(false);
                    }/>
                {move || message().map(|m| view! { <span class="field-error">{m}</span> })}
            </label>
        }
    };
    view! {
        <section class="card rules-card">
            <h2>{tr("预测规则", "Forecast rules")}</h2>
            <p class="hint">{tr(
                "预测值与基准相差超过偏差比例且超过偏差条数时，须填写原因；未单独设置上限的格子按默认上限检查。",
                "A forecast that differs from its baseline by more than the percentage and more than the cartons needs a reason; cells without their own bound are checked against the default bound.")}</p>
            <div class="rules-fields">
                {field("rule-deviation-percent", "deviation_percent", "偏差比例 %", "Deviation %", percent)}
                {field("rule-deviation-cartons", "deviation_cartons", "偏差条数", "Deviation (cartons)", cartons)}
                {field("rule-default-bound", "default_bound", "默认上限（条）", "Default bound (cartons)", bound)}
            </div>
            <ErrorBox error=server/>
            <Show when=move || saved.get()>
                <div id="rules-saved" class="ok-note" role="status">{tr("规则已保存", "The rules are saved")}</div>
            </Show>
            <div class="button-row">
                <button type="button" class="primary md-inline" id="rules-save"
                    disabled=move || pending.get() || !can_edit.get()
                    on:click=save>{tr("保存规则", "Save the rules")}</button>
            </div>
        </section>
    }
}

// ----- The bounds grid -----

/// The bounds grid's inputs and what they were loaded (or last saved) as.
#[derive(Clone, Copy)]
struct Grid {
    specs: StoredValue<Vec<Spec>>,
    classes: StoredValue<Vec<ClassRecord>>,
    /// One row per spec, one cell per class; empty: the default applies.
    cells: StoredValue<Vec<Vec<RwSignal<String>>>>,
    /// The bounds set, by spec and class code.
    original: RwSignal<HashMap<(i64, String), i64>>,
}

/// A cell's key, as in its `data-cell`.
fn cell_key(r: usize, c: usize) -> String {
    format!("{r}-{c}")
}

impl Grid {
    fn had(&self, r: usize, c: usize) -> Option<i64> {
        let spec = self.specs.with_value(|s| s[r].id);
        let class = self.classes.with_value(|cl| cl[c].code.clone());
        self.original.with(|o| o.get(&(spec, class)).copied())
    }

    fn cell(&self, r: usize, c: usize) -> RwSignal<String> {
        self.cells.with_value(|cells| cells[r][c])
    }

    /// The changed bounds with their cells, and an error per invalid cell.
    fn changes(
        &self,
        lang: Lang,
    ) -> (
        Vec<((usize, usize), ForecastBound)>,
        HashMap<(usize, usize), String>,
    ) {
        let mut changes = Vec::new();
        let mut errors = HashMap::new();
        let rows = self.cells.with_value(Vec::len);
        let cols = self.classes.with_value(Vec::len);
        for r in 0..rows {
            for c in 0..cols {
                let text = self.cell(r, c).get();
                let text = text.trim();
                let had = self.had(r, c);
                if text.is_empty() {
                    if let Some(had) = had {
                        errors.insert(
                            (r, c),
                            match lang {
                                Lang::Zh => format!("已设的上限不能清空，请输入上限（原为 {had}）"),
                                Lang::En => format!(
                                    "A bound once set cannot be cleared; enter a bound (was {had})"
                                ),
                            },
                        );
                    }
                    continue;
                }
                match Cartons::parse(text) {
                    Ok(v) if Some(v.get()) != had => changes.push((
                        (r, c),
                        ForecastBound {
                            spec_id: self.specs.with_value(|s| s[r].id),
                            class_code: self.classes.with_value(|cl| cl[c].code.clone()),
                            max_cartons: v.get(),
                        },
                    )),
                    Ok(_) => {}
                    Err(e) => {
                        errors.insert((r, c), e.message(lang).to_string());
                    }
                }
            }
        }
        (changes, errors)
    }

    /// Shows the bounds as now set: every cell back to its saved value.
    fn reset(&self, bounds: &[ForecastBound]) {
        let original: HashMap<(i64, String), i64> = bounds
            .iter()
            .map(|b| ((b.spec_id, b.class_code.clone()), b.max_cartons))
            .collect();
        self.specs.with_value(|specs| {
            self.classes.with_value(|classes| {
                for (r, s) in specs.iter().enumerate() {
                    for (c, cl) in classes.iter().enumerate() {
                        let text = original
                            .get(&(s.id, cl.code.clone()))
                            .map(|v| v.to_string())
                            .unwrap_or_default();
                        self.cell(r, c).set(text);
                    }
                }
            })
        });
        self.original.set(original);
    }
}

fn focus_cell(key: &str) {
    let found = document()
        .query_selector(&format!("#bounds [data-cell='{key}']"))
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(el) = found {
        let _ = el.focus();
    }
}

#[component]
fn BoundsGrid(
    bounds: Vec<ForecastBound>,
    specs: Vec<Spec>,
    classes: Vec<ClassRecord>,
    default_bound: RwSignal<i64>,
    can_edit: Signal<bool>,
) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let n_rows = specs.len();
    let n_cols = classes.len();
    let grid = Grid {
        specs: StoredValue::new(specs.clone()),
        classes: StoredValue::new(classes.clone()),
        cells: StoredValue::new(
            (0..n_rows)
                .map(|_| (0..n_cols).map(|_| RwSignal::new(String::new())).collect())
                .collect(),
        ),
        original: RwSignal::new(HashMap::new()),
    };
    grid.reset(&bounds);

    let checked = Memo::new(move |_| {
        let (changes, errors) = grid.changes(lang.get());
        (changes.len(), errors)
    });
    // The server's refusal per cell, until the cell is edited.
    let server_cells = RwSignal::new(HashMap::<(usize, usize), String>::new());
    let server = RwSignal::new(None::<ErrorBody>);
    let saved = RwSignal::new(None::<usize>);
    let notice = RwSignal::new(None::<String>);
    // The answer comes back with the cells the bounds were sent from, so
    // that a refusal of the i-th bound marks its cell.
    let save_bounds = Action::new_local(
        move |(body, cells, csrf): &(Vec<ForecastBound>, Vec<(usize, usize)>, String)| {
            let (body, cells, csrf) = (body.clone(), cells.clone(), csrf.clone());
            async move {
                let result = api::save_forecast_bounds(&body, &csrf, lang.get_untracked()).await;
                (result, cells)
            }
        },
    );
    Effect::new(move |_| match save_bounds.value().get() {
        Some((Ok(now), cells)) => {
            grid.reset(&now);
            server.set(None);
            server_cells.set(HashMap::new());
            saved.set(Some(cells.len()));
        }
        Some((Err(e), cells)) => {
            // `bounds.{i}.{field}` names the i-th bound sent.
            let at: HashMap<(usize, usize), String> = e
                .fields
                .iter()
                .filter_map(|(field, messages)| {
                    let i: usize = field
                        .strip_prefix("bounds.")?
                        .split('.')
                        .next()?
                        .parse()
                        .ok()?;
                    Some((*cells.get(i)?, messages.first()?.clone()))
                })
                .collect();
            server_cells.set(at);
            server.set(Some(e));
        }
        None => {}
    });
    let pending = save_bounds.pending();

    let cell_error = move |r: usize, c: usize| {
        checked
            .with(|x| x.1.get(&(r, c)).cloned())
            .or_else(|| server_cells.with(|s| s.get(&(r, c)).cloned()))
    };
    let cell_name = move |r: usize, c: usize| {
        let spec = grid.specs.with_value(|s| s[r].name.clone());
        let class = grid.classes.with_value(|cl| cl[c].label.clone());
        format!("{spec} · {class}")
    };

    let save = move |_| {
        if pending.get_untracked() || !can_edit.get_untracked() {
            return;
        }
        let l = lang.get_untracked();
        let (changes, errors) = grid.changes(l);
        if let Some(first) = errors.keys().min().copied() {
            notice.set(Some(match l {
                Lang::Zh => format!("{} 处输入有误（红框），修正后才能保存", errors.len()),
                Lang::En => format!("{} entries to correct (red) before saving", errors.len()),
            }));
            focus_cell(&cell_key(first.0, first.1));
            return;
        }
        if changes.is_empty() {
            notice.set(Some(l.pick("没有修改", "No changes").to_string()));
            return;
        }
        let question = match l {
            Lang::Zh => format!(
                "保存 {} 处上限修改？保存后立即用于预测检查。",
                changes.len()
            ),
            Lang::En => format!(
                "Save {} changed bounds? They apply to forecast checks at once.",
                changes.len()
            ),
        };
        if !confirm(&question) {
            return;
        }
        let (cells, body): (Vec<(usize, usize)>, Vec<ForecastBound>) = changes.into_iter().unzip();
        notice.set(None);
        saved.set(None);
        save_bounds.dispatch((body, cells, session.csrf()));
    };

    // Pastes a tab-separated block (Excel, WPS) from the cell at (r, c).
    let paste = move |ev: leptos::ev::ClipboardEvent, r: usize, c: usize| {
        let Some(text) = ev.clipboard_data().and_then(|d| d.get_data("text").ok()) else {
            return;
        };
        if !text.contains('\t') && !text.trim_end().contains('\n') {
            return; // a single value: let the input take it
        }
        ev.prevent_default();
        for (dr, line) in text.trim_end_matches(['\r', '\n']).split('\n').enumerate() {
            for (dc, value) in line.trim_end_matches('\r').split('\t').enumerate() {
                if r + dr < n_rows && c + dc < n_cols {
                    grid.cell(r + dr, c + dc).set(value.trim().to_string());
                    server_cells.update(|s| {
                        s.remove(&(r + dr, c + dc));
                    });
                }
            }
        }
        saved.set(None);
        notice.set(None);
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
            focus_cell(&cell_key(r, c));
        }
    };

    view! {
        <section class="card">
            <h2>{tr("预测上限（条）", "Sanity bounds (cartons)")}</h2>
            <p class="muted small">{move || match lang.get() {
                Lang::Zh => format!(
                    "每个品规、每个客户档位的单户预测上限。格子为空时按默认上限（{} 条）。可从 Excel/WPS 复制一块数据粘贴；回车或方向键上下移动，Ctrl+方向键左右移动。",
                    default_bound.get()),
                Lang::En => format!(
                    "The highest forecast per retailer for each spec and customer class. Empty cells use the default bound ({} cartons). Paste a block copied from Excel/WPS; Enter or arrows move up and down, Ctrl+arrows left and right.",
                    default_bound.get()),
            }}</p>
            <div class="table-wrap cap-grid-wrap bounds-wrap">
                <table class="cap-grid bounds-grid" id="bounds">
                    <thead>
                        <tr>
                            <th class="sticky">{tr("品规", "Spec")}</th>
                            {classes.iter().map(|c| view! { <th class="num" title=c.code.clone()>{c.label.clone()}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {specs.iter().enumerate().map(|(r, spec)| {
                            let spec_id = spec.id;
                            view! {
                                <tr data-spec=spec_id>
                                    <th class="sticky" title=spec.code.clone()>{spec.name.clone()}</th>
                                    {classes.iter().enumerate().map(|(c, class)| {
                                        let cell = grid.cell(r, c);
                                        let code = class.code.clone();
                                        let edited = move || {
                                            let had = grid.had(r, c).map(|v| v.to_string()).unwrap_or_default();
                                            cell.with(|t| t.trim() != had)
                                        };
                                        let label = move || cell_name(r, c);
                                        view! {
                                            <td>
                                                <input class="cell bound" type="text" inputmode="numeric" autocomplete="off"
                                                    data-spec=spec_id data-class=code data-cell=cell_key(r, c)
                                                    aria-label=label
                                                    class:edited=edited
                                                    class:invalid=move || cell_error(r, c).is_some()
                                                    aria-invalid=move || if cell_error(r, c).is_some() { "true" } else { "false" }
                                                    title=move || cell_error(r, c).unwrap_or_default()
                                                    placeholder=move || default_bound.get().to_string()
                                                    disabled=move || !can_edit.get()
                                                    prop:value=move || cell.get()
                                                    on:input=move |ev| {
                                                        cell.set(event_target_value(&ev));
                                                        server_cells.update(|s| { s.remove(&(r, c)); });
                                                        saved.set(None);
                                                        notice.set(None);
                                                    }
                                                    on:paste=move |ev| paste(ev, r, c)
                                                    on:keydown=move |ev| keys(ev, r, c)/>
                                                {move || cell_error(r, c).map(|m| view! { <span class="cell-error" role="alert">{m}</span> })}
                                            </td>
                                        }
                                    }).collect_view()}
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <div class="save-bar bounds-bar">
            <span class="save-status" id="bounds-status">{move || {
                let lang = lang.get();
                if let Some(n) = notice.get() {
                    return n;
                }
                let (changes, errors) = checked.get();
                if let Some(&(r, c)) = errors.keys().min() {
                    let first = format!("{}：{}", cell_name(r, c), errors[&(r, c)]);
                    match lang {
                        Lang::Zh => format!("{} 处输入有误（红框）。{first}", errors.len()),
                        Lang::En => format!("{} entries to correct (red). {first}", errors.len()),
                    }
                } else if changes > 0 {
                    format!("{changes} {}", lang.pick("处未保存的修改", "unsaved changes"))
                } else {
                    lang.pick("没有修改", "No changes").to_string()
                }
            }}</span>
            <button type="button" class="primary" id="bounds-save"
                disabled=move || pending.get() || !can_edit.get()
                on:click=save>{tr("保存上限", "Save the bounds")}</button>
            {move || saved.get().map(|n| view! {
                <div id="bounds-saved" class="ok-note" role="status">{match lang.get() {
                    Lang::Zh => format!("已保存 {n} 处上限"),
                    Lang::En => format!("{n} bounds saved"),
                }}</div>
            })}
            <ErrorBox error=server/>
        </div>
    }
}
