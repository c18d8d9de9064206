//! Component tests in a real browser (headless Chromium through
//! wasm-bindgen-test): the shared components mounted into a page and read
//! back from the DOM. Run by `scripts/test.sh` (`cargo test -p app --target
//! wasm32-unknown-unknown`, with `app/webdriver.json` for the browser flags).

#![cfg(target_arch = "wasm32")]

use app::components::charts::{BarChart, BarRow};
use app::components::confirm::confirm;
use app::components::error::ErrorNote;
use domain::{ErrorBody, ErrorCode};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh element in the page to mount into.
fn host() -> web_sys::HtmlElement {
    let document = document();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    host
}

fn all(host: &web_sys::HtmlElement, css: &str) -> Vec<web_sys::Element> {
    let list = host.query_selector_all(css).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

#[wasm_bindgen_test]
fn a_bar_chart_draws_each_value_to_one_scale_with_its_figure() {
    let host = host();
    let rows = vec![
        BarRow {
            label: "一档".into(),
            values: vec![10.0, 20.0],
        },
        BarRow {
            label: "三十档以上的很长的名字".into(),
            values: vec![40.0, 0.0],
        },
    ];
    let series = vec!["预测".to_string(), "实际".to_string()];
    let _mounted = leptos::mount::mount_to(host.clone(), move || {
        view! { <BarChart rows=rows series=series label="按档位" format=|v| format!("{v:.0} 条")/> }
    });
    let bars = all(&host, "rect.bar[class*=series-]");
    // Two legend swatches and four bars.
    let bars: Vec<_> = bars
        .into_iter()
        .filter(|b| b.get_attribute("x").as_deref() == Some("110"))
        .collect();
    assert_eq!(bars.len(), 4);
    let widths: Vec<f64> = bars
        .iter()
        .map(|b| b.get_attribute("width").unwrap().parse().unwrap())
        .collect();
    assert!(
        (widths[1] / widths[0] - 2.0).abs() < 0.01,
        "20 is twice 10: {widths:?}"
    );
    assert!(
        (widths[2] / widths[0] - 4.0).abs() < 0.01,
        "40 is four times 10: {widths:?}"
    );
    let figures: Vec<String> = all(&host, "text.bar-value")
        .iter()
        .map(|t| t.text_content().unwrap())
        .collect();
    assert_eq!(figures, ["10 条", "20 条", "40 条", "0 条"]);
    // A long label is shortened on the chart and kept whole in its title.
    let titles: Vec<String> = all(&host, "text.bar-label title")
        .iter()
        .map(|t| t.text_content().unwrap())
        .collect();
    assert!(
        titles.contains(&"三十档以上的很长的名字".to_string()),
        "{titles:?}"
    );
    let svg = all(&host, "svg").remove(0);
    assert_eq!(svg.get_attribute("aria-label").as_deref(), Some("按档位"));
}

#[wasm_bindgen_test]
async fn an_error_note_shows_the_message_while_there_is_an_error() {
    let host = host();
    let error = RwSignal::new(None::<ErrorBody>);
    let _mounted =
        leptos::mount::mount_to(host.clone(), move || view! { <ErrorNote error=error/> });
    assert!(
        all(&host, ".error-note").is_empty(),
        "nothing while there is no error"
    );
    error.set(Some(ErrorBody::new(
        ErrorCode::Validation,
        "上限不能小于下限",
    )));
    leptos::task::tick().await;
    let notes = all(&host, ".error-note");
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].text_content().as_deref(), Some("上限不能小于下限"));
    assert_eq!(notes[0].get_attribute("role").as_deref(), Some("alert"));
    error.set(None);
    leptos::task::tick().await;
    assert!(
        all(&host, ".error-note").is_empty(),
        "gone once the error is cleared"
    );
}

#[wasm_bindgen_test]
fn confirm_goes_ahead_only_when_the_user_says_ok() {
    let window = window();
    let answer = |ok: bool| {
        let f =
            js_sys::Function::new_with_args("q", &format!("window.lastQuestion = q; return {ok};"));
        js_sys::Reflect::set(&window, &"confirm".into(), &f).unwrap();
    };
    answer(false);
    assert!(!confirm("提交后不能再修改，确定提交？"));
    let asked = js_sys::Reflect::get(&window, &"lastQuestion".into()).unwrap();
    assert_eq!(
        asked.as_string().as_deref(),
        Some("提交后不能再修改，确定提交？")
    );
    answer(true);
    assert!(confirm("确定？"));
}

#[wasm_bindgen_test]
fn times_are_shown_in_china_time_whatever_the_device_zone() {
    // 2026-11-29 16:30:00 UTC is 2026-11-30 00:30:00 in China.
    assert_eq!(
        app::format::china_time(1_795_969_800),
        "2026-11-30 00:30:00"
    );
}
