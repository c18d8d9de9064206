//! How figures are written on the pages.

/// A share (0–1) as a percentage with one decimal: `80.0%`.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A UNIX time (seconds) as China time, `YYYY-MM-DD HH:MM:SS`: every time
/// the app shows, whatever the device's time zone. China keeps UTC+8 all
/// year (Asia/Shanghai has no daylight saving); the server writes times in
/// files and the audit log the same way.
pub fn china_time(at: i64) -> String {
    domain::audit::china_time_text(at)
}
