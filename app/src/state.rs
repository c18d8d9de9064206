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
    leptos::task::spawn_local(async move {
        if let Ok(info) = crate::api::me(lang.get_untracked()).await {
            state.session.set(Some(info));
        }
        state.checked.set(true);
    });
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
