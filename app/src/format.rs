//! How figures are written on the pages.

/// A share (0–1) as a percentage with one decimal: `80.0%`.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}
