//! The audit log: who did what to which record, when.

use serde::Serialize;
use sqlx::AnyConnection;

use crate::db::now_unix;

/// Appends one entry; `detail` is stored as JSON.
pub async fn record(
    conn: &mut AnyConnection,
    actor_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: &impl Serialize,
) -> sqlx::Result<()> {
    let detail = serde_json::to_string(detail).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query("INSERT INTO audit_log (at, actor_id, action, entity, entity_id, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(now_unix())
        .bind(actor_id)
        .bind(action)
        .bind(entity)
        .bind(entity_id)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}

/// Appends one entry inside `tx` and commits it: the change and its audit
/// entry are stored together or not at all.
pub async fn record_and_commit(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    actor_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: &impl Serialize,
) -> sqlx::Result<()> {
    record(&mut tx, actor_id, action, entity, entity_id, detail).await?;
    tx.commit().await
}
