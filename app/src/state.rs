//! App-wide state in context: the session and the chosen language.

use domain::auth::SessionInfo;
use domain::Lang;
use gloo_storage::{LocalStorage, Storage};
use leptos::prelude::*;

const LANG_KEY: &str = "lang";

/// The signed-in session; `None` until known or when signed out.
#[derive(Clone, Copy)]
pub struct SessionState {
    pub session: RwSignal<Option<SessionInfo>>,
    /// Whether the first `/api/auth/me` has answered.
    pub checked: RwSignal<bool>,
}

/// The interface language.
#[derive(Clone, Copy)]
pub struct LangState(pub RwSignal<Lang>);

pub fn provide() {
    let stored: Lang = LocalStorage::get(LANG_KEY).unwrap_or_default();
    let lang = RwSignal::new(stored);
    Effect::new(move |_| {
        let l = lang.get();
        let _ = LocalStorage::set(LANG_KEY, l);
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("lang", l.tag());
        }
    });
    provide_context(LangState(lang));
    let state = SessionState {
        session: RwSignal::new(None),
        checked: RwSignal::new(false),
    };
    provide_context(state);
    SESSION.with(|s| s.set(Some(state)));
    leptos::task::spawn_local(async move {
        if let Ok(info) = crate::api::me(lang.get_untracked()).await {
            state.session.set(Some(info));
        }
        state.checked.set(true);
    });
}

thread_local! {
    /// The app's one session state, for the API client, which runs outside
    /// any component.
    static SESSION: std::cell::Cell<Option<SessionState>> = const { std::cell::Cell::new(None) };
}

/// The server answered 401: the session is gone. The shell then sends the
/// visitor to sign-in, which brings them back to the page they were on.
pub fn session_ended() {
    if let Some(state) = SESSION.with(|s| s.get()) {
        if state.session.with_untracked(Option::is_some) {
            state.session.set(None);
        }
    }
}

pub fn lang() -> RwSignal<Lang> {
    expect_context::<LangState>().0
}

pub fn session() -> SessionState {
    expect_context::<SessionState>()
}

impl SessionState {
    /// The session's CSRF token for a write (empty when signed out; the server refuses it).
    pub fn csrf(&self) -> String {
        self.session
            .with_untracked(|s| s.as_ref().map(|s| s.csrf_token.clone()))
            .unwrap_or_default()
    }
}
