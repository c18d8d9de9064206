//! Server-side session records in the product's own database, so several server
//! processes behind one PostgreSQL share sign-ins.
//!
//! Written here because the published stores for tower-sessions each bind to one
//! concrete sqlx driver, while this server runs on the `Any` driver over either
//! SQLite or PostgreSQL.

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::db::{now_unix, Db};

/// Sessions stored in the `sessions` table.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Removes expired sessions; run periodically.
    pub async fn delete_expired(&self) -> sqlx::Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expiry_date < $1")
            .bind(now_unix())
            .execute(&self.db.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

fn backend(e: sqlx::Error) -> session_store::Error {
    if crate::error::unreachable(&e) {
        session_store::Error::Backend(format!("{}{e}", crate::error::UNREACHABLE_MARK))
    } else {
        session_store::Error::Backend(e.to_string())
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        // Retry on the (astronomically unlikely) id collision rather than overwrite.
        loop {
            let done = sqlx::query(
                "INSERT INTO sessions (id, data, expiry_date) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
            )
            .bind(record.id.to_string())
            .bind(data.clone())
            .bind(record.expiry_date.unix_timestamp())
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        sqlx::query(
            "INSERT INTO sessions (id, data, expiry_date) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_date = excluded.expiry_date",
        )
        .bind(record.id.to_string())
        .bind(data)
        .bind(record.expiry_date.unix_timestamp())
        .execute(&self.db.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT data, expiry_date FROM sessions WHERE id = $1 AND expiry_date > $2",
        )
        .bind(id.to_string())
        .bind(now_unix())
        .fetch_optional(&self.db.pool)
        .await
        .map_err(backend)?;
        let Some((data, expiry)) = row else {
            return Ok(None);
        };
        let data =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(expiry)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.db.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
