//! Placeholder until this tab is built (issue 18, in progress).

use leptos::prelude::*;

#[component]
pub fn AllocationTab() -> impl IntoView {
    view! { <section class="card"></section> }
}
