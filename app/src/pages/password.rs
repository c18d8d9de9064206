//! Changing one's own password, under the password policy checked as the
//! person types (the same rule the server enforces). After a one-time
//! password this page is the only way on.

use domain::auth::{check_password, ChangePasswordRequest, PasswordError};
use domain::{ErrorBody, ErrorCode};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::components::error::{field_error, ErrorNote};
use crate::i18n::tr;
use crate::{api, routes, state};

#[component]
pub fn PasswordPage() -> impl IntoView {
    let lang = state::lang();
    let session = state::session();
    let navigate = use_navigate();
    let query = use_query_map();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ErrorBody>);
    let done = RwSignal::new(false);
    let forced = move || {
        session
            .session
            .with(|s| s.as_ref().is_some_and(|s| s.must_change_password))
    };
    let login = move || {
        session
            .session
            .with(|s| s.as_ref().map(|s| s.login.clone()).unwrap_or_default())
    };
    // Instant feedback from the shared policy, once something is typed.
    let policy_error = move || {
        let pw = new.get();
        if pw.is_empty() {
            return None;
        }
        let checked = if pw == current.get() {
            Err(PasswordError::Reused)
        } else {
            check_password(&login(), &pw)
        };
        checked.err().map(|e| e.message(lang.get()).to_string())
    };
    let repeat_error = move || {
        let r = repeat.get();
        (!r.is_empty() && r != new.get()).then(|| {
            lang.get()
                .pick("两次输入的新密码不一致", "The two new passwords differ")
                .to_string()
        })
    };
    let submit = Action::new_local(move |request: &ChangePasswordRequest| {
        let request = request.clone();
        let csrf = session.csrf();
        async move { api::change_password(&request, &csrf, lang.get_untracked()).await }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(())) => {
            // Untracked: this effect changes the session below.
            let (was_forced, role) = session.session.with_untracked(|s| {
                (
                    s.as_ref().is_some_and(|s| s.must_change_password),
                    s.as_ref().map(|s| s.role),
                )
            });
            error.set(None);
            done.set(true);
            current.set(String::new());
            new.set(String::new());
            repeat.set(String::new());
            if was_forced {
                session.session.update(|s| {
                    if let Some(s) = s {
                        s.must_change_password = false;
                    }
                });
            }
            let next = routes::safe_next(query.with_untracked(|q| q.get("next")))
                .filter(|n| !n.starts_with(routes::PASSWORD))
                .or_else(|| was_forced.then(|| role.map(routes::home_of)).flatten());
            if let Some(next) = next {
                navigate(&next, Default::default());
            }
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        done.set(false);
        if let Some(m) = policy_error().or_else(repeat_error) {
            error.set(Some(
                ErrorBody::new(ErrorCode::Validation, m.clone()).with_field("new_password", m),
            ));
            return;
        }
        if repeat.get_untracked() != new.get_untracked() || new.get_untracked().is_empty() {
            let m = lang
                .get_untracked()
                .pick("请输入并确认新密码", "Enter and confirm the new password");
            error.set(Some(
                ErrorBody::new(ErrorCode::Validation, m).with_field("repeat", m),
            ));
            return;
        }
        submit.dispatch(ChangePasswordRequest {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        });
    };
    view! {
        <section class="card login-card" data-test="password-page">
            <h1>{tr("修改密码", "Change password")}</h1>
            <Show when=forced>
                <p class="notice" data-test="forced-notice">{tr(
                    "您正在使用一次性密码登录。请先设置自己的新密码，设置后才能继续使用。",
                    "You signed in with a one-time password. Choose your own password to go on.")}</p>
            </Show>
            <p class="hint">{tr(
                "新密码至少 10 个字符，不能是常见密码，不能包含账号名。修改后，您在其他设备上的登录会退出。",
                "At least 10 characters, not a common password, not containing your login. Your other sessions end.")}</p>
            <form on:submit=on_submit novalidate>
                <label class="field">
                    <span>{move || if forced() { lang.get().pick("一次性密码", "One-time password") } else { lang.get().pick("当前密码", "Current password") }}</span>
                    <input type="password" autocomplete="current-password" data-test="current-password"
                        prop:value=current on:input=move |ev| current.set(event_target_value(&ev))/>
                    {move || field_error(&error.get(), "current_password").map(|m| view! { <span class="field-error">{m}</span> })}
                </label>
                <label class="field">
                    <span>{tr("新密码", "New password")}</span>
                    <input type="password" autocomplete="new-password" data-test="new-password"
                        prop:value=new on:input=move |ev| new.set(event_target_value(&ev))/>
                    {move || policy_error()
                        .or_else(|| field_error(&error.get(), "new_password"))
                        .map(|m| view! { <span class="field-error" data-test="new-password-error">{m}</span> })}
                </label>
                <label class="field">
                    <span>{tr("再输入一次新密码", "New password again")}</span>
                    <input type="password" autocomplete="new-password" data-test="repeat-password"
                        prop:value=repeat on:input=move |ev| repeat.set(event_target_value(&ev))/>
                    {move || repeat_error()
                        .or_else(|| field_error(&error.get(), "repeat"))
                        .map(|m| view! { <span class="field-error">{m}</span> })}
                </label>
                <ErrorNote error=error/>
                <Show when=move || done.get()>
                    <p class="ok-note" role="status" data-test="password-changed">{tr("密码已修改", "Password changed")}</p>
                </Show>
                <button type="submit" class="primary" data-test="password-submit" disabled=move || submit.pending().get()>
                    {tr("保存新密码", "Save new password")}
                </button>
            </form>
        </section>
    }
}
