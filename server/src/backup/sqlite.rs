//! SQLite backups: `VACUUM INTO` a new file, counted and checked through a
//! read-only, immutable connection to the copy.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use super::quote;
use crate::db::Db;

pub(super) async fn dump(db: &Db, partial: &Path) -> anyhow::Result<BTreeMap<String, i64>> {
    db.backup_sqlite(partial).await?;
    // The manifest describes the copy, counted from the copy.
    let mut copy = open_read_only(partial).await?;
    let counts = count(&mut copy).await?;
    copy.close().await?;
    Ok(counts)
}

async fn open_read_only(file: &Path) -> sqlx::Result<SqliteConnection> {
    // Immutable: no locks, no -wal or -shm files made beside a backup.
    SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .immutable(true)
        .connect()
        .await
}

async fn count(conn: &mut SqliteConnection) -> sqlx::Result<BTreeMap<String, i64>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = BTreeMap::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quote(&table)))
            .fetch_one(&mut *conn)
            .await?;
        counts.insert(table, n);
    }
    Ok(counts)
}

pub(super) async fn restore(file: &Path) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut conn = open_read_only(file).await.context("opening the backup")?;
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .context("integrity check")?;
    if verdict != ["ok"] {
        bail!("integrity check: {}", verdict.join("; "));
    }
    let counts = count(&mut conn).await?;
    conn.close().await?;
    Ok(counts)
}
