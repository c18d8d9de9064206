//! Supply and orders (货源与订单), the marketing center's: the locked orders
//! of each order day handed to the order and supply system and their
//! deliveries loaded back, the fill rate (where the caps bite), and the
//! allocation of scarce supply by customer class (货源投放).

mod allocation;
mod fill_rate;
mod orders;

use leptos::prelude::*;

use crate::i18n::tr;
use crate::state;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Orders,
    FillRate,
    Allocation,
}

#[component]
pub fn SupplyPage() -> impl IntoView {
    let lang = state::lang();
    let tab = RwSignal::new(Tab::Orders);
    let tab_button = move |t: Tab, zh: &'static str, en: &'static str, test: &'static str| {
        view! {
            <button type="button" role="tab" data-test=test
                class=move || if tab.get() == t { "tab active" } else { "tab" }
                aria-selected=move || (tab.get() == t).to_string()
                on:click=move |_| tab.set(t)>
                {move || lang.get().pick(zh, en)}
            </button>
        }
    };
    view! {
        <section class="supply">
            <h1>{tr("货源与订单", "Supply and orders")}</h1>
            <div class="tabs" role="tablist">
                {tab_button(Tab::Orders, "订单导出与到货", "Orders and deliveries", "tab-orders")}
                {tab_button(Tab::FillRate, "需求满足率", "Fill rate", "tab-fill-rate")}
                {tab_button(Tab::Allocation, "货源投放", "Scarce supply", "tab-allocation")}
            </div>
            {move || match tab.get() {
                Tab::Orders => view! { <orders::OrdersTab/> }.into_any(),
                Tab::FillRate => view! { <fill_rate::FillRateTab/> }.into_any(),
                Tab::Allocation => view! { <allocation::AllocationTab/> }.into_any(),
            }}
        </section>
    }
}
