//! Unknown paths.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::T;
use crate::{routes, state};

#[component]
pub fn NotFound() -> impl IntoView {
    let lang = state::lang();
    view! {
        <section class="card">
            <h1>{move || T::NotFound.text(lang.get())}</h1>
            <A href=routes::ROOT>{move || T::BackHome.text(lang.get())}</A>
        </section>
    }
}
