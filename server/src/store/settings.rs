//! Settings kept as JSON values under a key in the `settings` table.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};

/// The value under `key`, or the type's default when none is stored.
pub async fn get<T: DeserializeOwned + Default>(pool: &AnyPool, key: &str) -> sqlx::Result<T> {
    let raw: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await?;
    match raw {
        Some(json) => serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e))),
        None => Ok(T::default()),
    }
}

/// Stores `value` under `key`, replacing what was there.
pub async fn set<T: Serialize>(conn: &mut AnyConnection, key: &str, value: &T) -> sqlx::Result<()> {
    let json = serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(json)
    .execute(conn)
    .await?;
    Ok(())
}
