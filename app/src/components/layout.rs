//! The page frame: top bar with the app name, the user, the language switch
//! and sign-out. Works from 375 px phones to desktops.

use domain::Lang;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::i18n::T;
use crate::{api, routes, state};

#[component]
pub fn Shell(children: ChildrenFn) -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let navigate = use_navigate();
    let sign_out = move |_| {
        let navigate = navigate.clone();
        let csrf = session.csrf();
        leptos::task::spawn_local(async move {
            // Signed out locally even if the server is unreachable.
            let _ = api::logout(&csrf, lang.get_untracked()).await;
            session.session.set(None);
            navigate(routes::LOGIN, Default::default());
        });
    };
    // The address the router is showing or going to (the window's own is
    // updated only once a lazily loaded page has arrived).
    let location = leptos_router::hooks::use_location();
    let here = move || {
        let search = location.search.get_untracked();
        let path = location.pathname.get_untracked();
        if search.is_empty() {
            path
        } else {
            format!("{path}?{}", search.trim_start_matches('?'))
        }
    };
    // An account holding a one-time password goes nowhere but the password
    // page until it has chosen its own (the server refuses everything else).
    {
        let navigate = use_navigate();
        Effect::new(move |_| {
            location.pathname.track();
            let forced = session
                .session
                .with(|s| s.as_ref().is_some_and(|s| s.must_change_password));
            if forced {
                let here = here();
                if !here.starts_with(routes::PASSWORD) {
                    let encoded: String = js_sys::encode_uri_component(&here).into();
                    navigate(
                        &format!("{}?next={encoded}", routes::PASSWORD),
                        Default::default(),
                    );
                }
            }
        });
    }
    // Signed out, or the session ended under an open page (the API client
    // clears it on a 401): to sign-in, and back here afterwards.
    {
        let navigate = use_navigate();
        Effect::new(move |_| {
            location.pathname.track();
            if session.checked.get() && session.session.with(Option::is_none) {
                let here = here();
                if !here.starts_with(routes::LOGIN) {
                    navigate(
                        &routes::login_then(&here),
                        leptos_router::NavigateOptions {
                            replace: true,
                            ..Default::default()
                        },
                    );
                }
            }
        });
    }
    // Pages other than sign-in appear only to a signed-in visitor: a deep
    // link or an ended session goes to sign-in before any page (or its
    // chunk) starts loading, so that no half-loaded page races the redirect.
    let page_may_show = {
        move || {
            location.pathname.with(|p| p.starts_with(routes::LOGIN))
                || session.session.with(Option::is_some)
        }
    };
    let routing = use_context::<crate::Routing>();
    // After a page family failed to download, moving to another page is a
    // full page load (see `crate::chunk_lost`), so nothing waits for ever.
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|p| p != path) && crate::chunk_was_lost() {
            let _ = window().location().assign(&here());
        }
        path
    });
    let toggle = move |_| lang.update(|l| *l = if *l == Lang::Zh { Lang::En } else { Lang::Zh });
    view! {
        <div class="routing-bar" role="progressbar" aria-label=move || lang.get().pick("页面加载中", "Loading the page")
            class:active=move || routing.is_some_and(|r| r.0.get())></div>
        <header class="topbar">
            <A href=routes::ROOT attr:class="brand">{move || T::AppName.text(lang.get())}</A>
            <nav class="topbar-actions">
                {move || session.session.get().map(|s| view! {
                    <span class="who" data-test="who">{s.display_name.clone()}" · "{s.role.label(lang.get())}</span>
                })}
                <button class="link-button" data-test="lang-switch" on:click=toggle>
                    {move || if lang.get() == Lang::Zh { "English" } else { "中文" }}
                </button>
                <Show when=move || session.session.get().is_some()>
                    <A href=routes::PASSWORD attr:class="link-button" attr:data-test="change-password">
                        {move || lang.get().pick("修改密码", "Password")}
                    </A>
                </Show>
                <Show when=move || session.session.get().is_some()>
                    <button class="link-button" data-test="sign-out" on:click=sign_out.clone()>
                        {move || T::SignOut.text(lang.get())}
                    </button>
                </Show>
            </nav>
        </header>
        <main class="page">
            <Show when=page_may_show fallback=move || view! { <p class="muted">{T::Loading.text(lang.get_untracked())}</p> }>
                {children()}
            </Show>
        </main>
    }
}
