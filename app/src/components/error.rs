//! The one display of an API error.

use domain::ErrorBody;
use leptos::prelude::*;

/// Shows an error's message (field messages are shown at their fields).
#[component]
pub fn ErrorNote(
    /// The error to show; nothing is rendered while `None`.
    #[prop(into)]
    error: Signal<Option<ErrorBody>>,
) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <p class="error-note" role="alert">{e.message}</p> }
        })
    }
}

/// The first message for `field` in an error, if any.
pub fn field_error(error: &Option<ErrorBody>, field: &str) -> Option<String> {
    error
        .as_ref()
        .and_then(|e| e.fields.get(field))
        .and_then(|m| m.first().cloned())
}
