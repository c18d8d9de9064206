//! The database handle: one pool over SQLite (embedded default) or PostgreSQL,
//! with the portable-SQL conventions the stores follow.
//!
//! Queries use `$1`-style placeholders, which both SQLite and PostgreSQL accept,
//! and only integer, text and float columns, so one query text serves both.
//! Sums are cast to BIGINT: PostgreSQL widens `SUM(bigint)` to NUMERIC, which
//! the `Any` driver cannot decode.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

/// Which database a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A pool and the backend behind it.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

impl Db {
    /// Connects to `url` (`sqlite:` or `postgres://`), creating a missing SQLite
    /// file and its folder.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://");
        };
        let url = match backend {
            Backend::Sqlite => {
                if let Some(path) = sqlite_path(url) {
                    if let Some(dir) = std::path::Path::new(&path).parent() {
                        if !dir.as_os_str().is_empty() {
                            std::fs::create_dir_all(dir)?;
                        }
                    }
                }
                if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                }
            }
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; the busy
                        // timeout makes writers queue rather than fail.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                    } else {
                        // The API runs short queries. PostgreSQL's JIT
                        // compiles any plan estimated above its cost bar,
                        // counting branches that never run: the progress
                        // query of a city cycle spent 270 of its 320 ms
                        // compiling, on every call.
                        conn.execute("SET jit = off").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Db { pool, backend })
    }

    /// Applies the migrations of this backend's dialect.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }
}

impl Db {
    /// Starts a write transaction on `conn`. SQLite takes the write lock at
    /// once (`BEGIN IMMEDIATE`): a deferred transaction that reads first
    /// cannot upgrade its lock while another connection writes, and fails
    /// with "database is locked" instead of waiting out the busy timeout.
    pub async fn begin<'c>(
        &self,
        conn: &'c mut AnyConnection,
    ) -> sqlx::Result<sqlx::Transaction<'c, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => sqlx::Connection::begin(conn).await,
        }
    }

    /// Refreshes the planner's statistics after a bulk load. PostgreSQL
    /// plans from them: with none for millions of new order rows it picks a
    /// sequential scan over the history where an index probe per retailer
    /// takes milliseconds (2.5 s against 24 ms for a city sheet's history).
    /// Autovacuum gets there too, in its own time.
    pub async fn analyze(&self) -> sqlx::Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("ANALYZE").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Writes a consistent snapshot of a SQLite database to a new file while
    /// other connections keep reading and writing (`VACUUM INTO`).
    pub async fn backup_sqlite(&self, file: &std::path::Path) -> anyhow::Result<()> {
        if self.backend != Backend::Sqlite {
            anyhow::bail!("backup covers the embedded SQLite database; for PostgreSQL use pg_dump (see README)");
        }
        if file.exists() {
            anyhow::bail!("{} exists already; choose a new file", file.display());
        }
        let target = file
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("the backup path must be valid UTF-8"))?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// The file path of a `sqlite:` URL, if it names a file.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| path.to_string())
}

/// Current time as UNIX seconds, the form times are stored in.
pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Inserts many rows in multi-row `INSERT` statements, keeping each under the
/// bind-parameter limits of both databases. Values are bound, never spliced.
pub async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Value>],
) -> sqlx::Result<()> {
    upsert_rows(conn, table, columns, rows, "").await.map(drop)
}

/// [`insert_rows`] with a clause after the values, such as
/// `ON CONFLICT (…) DO UPDATE SET …`. Returns the rows inserted or updated
/// (a conflict whose update's `WHERE` is false counts none).
pub async fn upsert_rows(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Value>],
    on_conflict: &str,
) -> sqlx::Result<u64> {
    let mut written = 0;
    // SQLite allows 32,766 parameters per statement, PostgreSQL 65,535.
    const MAX_PARAMS: usize = 30_000;
    // SQLite resolves `$N` names by a linear search while preparing, which is
    // quadratic on statements this long; plain `?` is positional and cheap.
    let positional = conn.backend_name() == "SQLite";
    let per_chunk = (MAX_PARAMS / columns.len().max(1)).max(1);
    for chunk in rows.chunks(per_chunk) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut n = 0;
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for j in 0..row.len() {
                if j > 0 {
                    sql.push(',');
                }
                n += 1;
                if positional {
                    sql.push('?');
                } else {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
            }
            sql.push(')');
        }
        if !on_conflict.is_empty() {
            sql.push(' ');
            sql.push_str(on_conflict);
        }
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for value in row {
                query = match value {
                    Value::Int(v) => query.bind(*v),
                    Value::Text(v) => query.bind(v.clone()),
                    Value::OptInt(v) => query.bind(*v),
                    Value::OptText(v) => query.bind(v.clone()),
                };
            }
        }
        written += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(written)
}

/// A value for [`insert_rows`].
#[derive(Debug, Clone)]
pub enum Value {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::OptInt(v)
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::OptText(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite://data/app.db").as_deref(),
            Some("data/app.db")
        );
        assert_eq!(
            sqlite_path("sqlite:data/app.db?mode=rwc").as_deref(),
            Some("data/app.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
