//! Sign-in form. Retailers use their licence number as the account.

use domain::auth::LoginRequest;
use domain::ErrorBody;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::components::error::{field_error, ErrorNote};
use crate::i18n::T;
use crate::{api, routes, state};

#[component]
pub fn LoginPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let navigate = use_navigate();
    let query = use_query_map();
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(Option::<ErrorBody>::None);
    let entering = RwSignal::new(false);

    // The home and replenishment pages are chunks of their own: fetch them
    // while the form is being filled in, so that signing in does not wait.
    Effect::new(move |_| crate::preload_after_sign_in());

    let submit = Action::new_local(move |request: &LoginRequest| {
        let request = request.clone();
        async move { api::login(&request, lang.get_untracked()).await }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(info)) => {
            // Back to the page that was asked for; through the password
            // page first when the account holds a one-time password.
            let next = routes::safe_next(query.with_untracked(|q| q.get("next")))
                .unwrap_or_else(|| routes::home_of(info.role));
            let home = if info.must_change_password {
                let encoded: String = js_sys::encode_uri_component(&next).into();
                format!("{}?next={encoded}", routes::PASSWORD)
            } else {
                next
            };
            session.session.set(Some(info));
            error.set(None);
            // The form stays, saying so, until the next page's code and data
            // have arrived; sign-in leaves no entry in the history for the
            // back button to return to.
            entering.set(true);
            navigate(
                &home,
                leptos_router::NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit.dispatch(LoginRequest {
            login: login.get_untracked(),
            password: password.get_untracked(),
        });
    };
    let login_error = move || field_error(&error.get(), "login");
    let password_error = move || field_error(&error.get(), "password");

    view! {
        <section class="card login-card">
            <h1>{move || T::SignIn.text(lang.get())}</h1>
            <form on:submit=on_submit novalidate>
                <label class="field">
                    <span>{move || T::Account.text(lang.get())}</span>
                    <input name="login" autocomplete="username" data-test="login"
                        placeholder=move || T::AccountHint.text(lang.get())
                        prop:value=login on:input=move |ev| login.set(event_target_value(&ev))/>
                    {move || login_error().map(|m| view! { <span class="field-error">{m}</span> })}
                </label>
                <label class="field">
                    <span>{move || T::Password.text(lang.get())}</span>
                    <input name="password" type="password" autocomplete="current-password" data-test="password"
                        prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                    {move || password_error().map(|m| view! { <span class="field-error">{m}</span> })}
                </label>
                <ErrorNote error=error/>
                <button type="submit" class="primary" data-test="submit" disabled=move || submit.pending().get() || entering.get()>
                    {move || if entering.get() {
                        lang.get().pick("登录成功，正在进入…", "Signed in; opening…")
                    } else if submit.pending().get() {
                        T::Signing.text(lang.get())
                    } else {
                        T::SignIn.text(lang.get())
                    }}
                </button>
            </form>
        </section>
    }
}
