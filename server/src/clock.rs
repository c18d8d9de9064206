//! The business's clock: China Standard Time (UTC+8, no daylight saving).

use chrono::{FixedOffset, NaiveDate, Utc};

/// China Standard Time.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Today's date in China.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&china()).date_naive()
}

/// The time of day in China now, as the order windows count it.
pub fn now_china() -> chrono::NaiveDateTime {
    Utc::now().with_timezone(&china()).naive_local()
}
