//! Asking before an action that cannot be taken back (submitting, approving,
//! returning, closing, confirming an order, leaving online replenishment).

/// Shows `question` in the browser's own dialog; true when the user said OK.
/// No window (or a dialog the browser refused) counts as "no".
pub fn confirm(question: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false)
}
