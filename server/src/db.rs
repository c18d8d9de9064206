//! The database handle: one pool over SQLite (embedded default) or PostgreSQL,
//! with the portable-SQL conventions the stores follow.
//!
//! Queries use `$1`-style placeholders, which both SQLite and PostgreSQL accept,
//! and only integer, text and float columns, so one query text serves both.
//! Sums are cast to BIGINT: PostgreSQL widens `SUM(bigint)` to NUMERIC, which
//! the `Any` driver cannot decode.

use std::str::FromStr;
use std::sync::Arc;
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
    /// Whether the database answers, as [`Db::watch_reach`] sees it.
    pub reach: Reach,
    options: AnyConnectOptions,
}

/// Whether the database is known to refuse connections. A request that
/// meets a database refusing connections would otherwise wait out the
/// pool's acquire timeout (5 s): the pool retries a refused connect until
/// then, taking it for a server starting up.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    down: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Reach {
    /// The database refuses connections (seen by the watcher's last probe).
    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// Completes when the database is seen refusing connections.
    pub async fn went_down(&self) {
        let mut rx = self.down.subscribe();
        if rx.wait_for(|down| *down).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    fn set(&self, down: bool) {
        self.down
            .send_if_modified(|d| std::mem::replace(d, down) != down);
    }
}

/// How often the watcher probes, how long a probe may take, and how many
/// refusals in a row mark the database down.
const REACH_EVERY: Duration = Duration::from_millis(250);
const REACH_PROBE: Duration = Duration::from_millis(600);
const REACH_REFUSALS: u32 = 2;

/// A connection attempt the database refused: nothing listening (the
/// server stopped), the connection closed on the way, or PostgreSQL
/// shutting down or starting up (57P01–57P03) or a connection exception
/// (08).
fn refuses(e: &sqlx::Error) -> bool {
    use std::io::ErrorKind;
    match e {
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotConnected
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
                | ErrorKind::AddrNotAvailable
        ),
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
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
        let pool_options = options.clone();
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
            .connect_with(pool_options)
            .await?;
        Ok(Db {
            pool,
            backend,
            reach: Reach::default(),
            options,
        })
    }

    /// Watches whether PostgreSQL answers, on a connection of its own
    /// outside the pool: a `SELECT 1` every 250 ms, and after a failure a
    /// new connection. When two attempts in a row are refused ([`refuses`])
    /// the database is marked down and requests answer 503 at once
    /// (`extract::fail_fast`); the next probe that connects marks it up.
    /// A slow probe or a slow connection changes nothing (a busy server is
    /// not a down one), nor do errors that are not a refusal (too many
    /// connections, out of file descriptors, a rejected password), since
    /// the pool's own connections may still work. SQLite is a file: no
    /// watcher.
    pub fn watch_reach(&self) -> Option<tokio::task::JoinHandle<()>> {
        if self.backend != Backend::Postgres {
            return None;
        }
        let (reach, options) = (self.reach.clone(), self.options.clone());
        Some(tokio::spawn(async move {
            let mut conn: Option<AnyConnection> = None;
            // Refusals in a row: one alone never marks the database down.
            let mut refused = 0;
            loop {
                if let Some(c) = conn.as_mut() {
                    match tokio::time::timeout(REACH_PROBE, c.ping()).await {
                        Ok(Ok(())) => {
                            refused = 0;
                            reach.set(false);
                        }
                        // Failed or slow: a new connection next.
                        Ok(Err(_)) | Err(_) => conn = None,
                    }
                }
                if conn.is_none() {
                    match tokio::time::timeout(REACH_PROBE, AnyConnection::connect_with(&options))
                        .await
                    {
                        Ok(Ok(c)) => {
                            conn = Some(c);
                            refused = 0;
                            if reach.is_down() {
                                tracing::warn!("the database accepts connections again");
                            }
                            reach.set(false);
                        }
                        Ok(Err(e)) if refuses(&e) => {
                            refused += 1;
                            if refused >= REACH_REFUSALS {
                                if !reach.is_down() {
                                    tracing::warn!(error = %e, "the database refuses connections");
                                }
                                reach.set(true);
                            }
                        }
                        // Slow (a busy server), out of connection slots,
                        // out of file descriptors, a credential problem:
                        // not a database that is down. The pool reports
                        // those on its own, without waiting.
                        Ok(Err(e)) => {
                            refused = 0;
                            tracing::debug!(error = %e, "the database watcher could not connect");
                        }
                        Err(_) => refused = 0,
                    }
                }
                tokio::time::sleep(REACH_EVERY).await;
            }
        }))
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
    if conn.backend_name() == "PostgreSQL" {
        return upsert_unnest(conn, table, columns, rows, on_conflict).await;
    }
    let mut written = 0;
    let per_chunk = (MAX_PARAMS / columns.len().max(1)).max(1);
    for chunk in rows.chunks(per_chunk) {
        let mut sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(", "),
            sqlite_values(columns.len(), chunk.len())
        );
        if !on_conflict.is_empty() {
            sql.push(' ');
            sql.push_str(on_conflict);
        }
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for value in row {
                query = bind_value(query, value.clone());
            }
        }
        written += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(written)
}

/// PostgreSQL's side of [`upsert_rows`]: `INSERT … SELECT` from
/// [`unnest_source`], so the server parses and plans one short statement
/// whatever the number of rows; a multi-row `VALUES` of 9,000 rows spent
/// most of its 370 ms there.
async fn upsert_unnest(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Value>],
    on_conflict: &str,
) -> sqlx::Result<u64> {
    let mut written = 0;
    for chunk in rows.chunks(PER_UNNEST) {
        let (source, binds) = unnest_source(columns, chunk, 1);
        let sql = format!(
            "INSERT INTO {table} ({}) {source} {on_conflict}",
            columns.join(", ")
        );
        written += bind_all(sqlx::query(&sql), binds)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(written)
}

/// Rows per statement of a PostgreSQL bulk write.
const PER_UNNEST: usize = 50_000;

/// Updates many rows of `table`, one statement per chunk: each row holds
/// the values of the `keys` columns, then of the `sets` columns. A stored
/// row (`t`) matching a row (`u`) on every key takes its `sets` values and
/// the assignments in `also` (such as `current_value = NULL`) where
/// `condition` holds (such as `t.revision = u.revision - 1`). Returns the
/// rows updated. A plain `UPDATE … FROM` skips what an upsert pays for each
/// row that exists (a speculative insertion, then a row lock): 9,000 lines
/// updated took 80 ms through `INSERT … ON CONFLICT DO UPDATE` and 37 ms so
/// on PostgreSQL.
pub async fn update_rows(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    keys: &[&str],
    sets: &[&str],
    rows: &[Vec<Value>],
    also: &str,
    condition: &str,
) -> sqlx::Result<u64> {
    let columns: Vec<&str> = keys.iter().chain(sets).copied().collect();
    let mut assignments: Vec<String> = sets.iter().map(|c| format!("{c} = u.{c}")).collect();
    if !also.is_empty() {
        assignments.push(also.to_string());
    }
    let matched = keys
        .iter()
        .map(|k| format!("t.{k} = u.{k}"))
        .chain((!condition.is_empty()).then(|| format!("({condition})")))
        .collect::<Vec<_>>()
        .join(" AND ");
    let set = assignments.join(", ");
    let mut updated = 0;
    if conn.backend_name() == "PostgreSQL" {
        for chunk in rows.chunks(PER_UNNEST) {
            let (source, binds) = unnest_source(&columns, chunk, 1);
            let sql = format!("UPDATE {table} AS t SET {set} FROM ({source}) AS u WHERE {matched}");
            updated += bind_all(sqlx::query(&sql), binds)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        }
        return Ok(updated);
    }
    // SQLite: the rows as a common table expression of `VALUES`, named.
    let per_chunk = (MAX_PARAMS / columns.len().max(1)).max(1);
    for chunk in rows.chunks(per_chunk) {
        let sql = format!(
            "WITH u ({}) AS (VALUES {}) UPDATE {table} AS t SET {set} FROM u WHERE {matched}",
            columns.join(", "),
            sqlite_values(columns.len(), chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for value in chunk.iter().flatten() {
            query = bind_value(query, value.clone());
        }
        updated += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(updated)
}

/// SQLite: the placeholders of `rows` rows of `columns` values,
/// `(?,?),(?,?)`. Plain `?` is positional: SQLite resolves `$N` names by a
/// linear search while preparing, which is quadratic on statements this long.
fn sqlite_values(columns: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(","));
    vec![row.as_str(); rows].join(",")
}

/// What a PostgreSQL bulk write binds: one value, or the text of one array.
enum Bound {
    Scalar(Value),
    Array(String),
}

/// PostgreSQL: the rows as a `SELECT` naming `columns`, from `UNNEST` over
/// one array per column (`SELECT $1::bigint AS sheet_id, a.retailer_id, …
/// FROM UNNEST($2::bigint[], …) AS a (retailer_id, …)`), with what to bind
/// from `$first` on (`rows` is not empty: callers write in chunks). A column holding one value in every row (the sheet,
/// the author, the time of a save) is bound once: each array element is
/// parsed, and three such columns cost 10 of the 39 ms of inserting 9,000
/// lines. The `Any` driver binds no arrays, so each is sent as the text of
/// an array literal and cast.
fn unnest_source(columns: &[&str], rows: &[Vec<Value>], first: usize) -> (String, Vec<Bound>) {
    let head = &rows[0];
    // A value's variant names its column's type, NULL or not (`OptInt(None)`
    // is a NULL integer); callers keep one variant per column.
    let kind = |v: &Value| match v {
        Value::Int(_) | Value::OptInt(_) => "bigint",
        Value::Text(_) | Value::OptText(_) => "text",
    };
    debug_assert!(rows
        .iter()
        .all(|row| row.iter().zip(head).all(|(v, h)| kind(v) == kind(h))));
    let mut constant: Vec<bool> = (0..columns.len())
        .map(|j| rows.len() > 1 && rows.iter().all(|row| row[j] == head[j]))
        .collect();
    if constant.iter().all(|&c| c) {
        // UNNEST needs one array at least.
        constant[0] = false;
    }
    let mut binds = Vec::new();
    let mut selected = Vec::new();
    let mut arrays = Vec::new();
    let mut named = Vec::new();
    for (j, column) in columns.iter().enumerate() {
        let param = first + binds.len();
        let cast = kind(&head[j]);
        if constant[j] {
            selected.push(format!("${param}::{cast} AS {column}"));
            binds.push(Bound::Scalar(head[j].clone()));
        } else {
            selected.push(format!("a.{column}"));
            arrays.push(format!("${param}::{cast}[]"));
            named.push(*column);
            binds.push(Bound::Array(array_literal(rows.iter().map(|row| &row[j]))));
        }
    }
    (
        format!(
            "SELECT {} FROM UNNEST({}) AS a ({})",
            selected.join(", "),
            arrays.join(", "),
            named.join(", ")
        ),
        binds,
    )
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind_all(mut query: AnyQuery<'_>, binds: Vec<Bound>) -> AnyQuery<'_> {
    for bound in binds {
        query = match bound {
            Bound::Scalar(value) => bind_value(query, value),
            Bound::Array(text) => query.bind(text),
        };
    }
    query
}

fn bind_value(query: AnyQuery<'_>, value: Value) -> AnyQuery<'_> {
    match value {
        Value::Int(v) => query.bind(v),
        Value::Text(v) => query.bind(v),
        Value::OptInt(v) => query.bind(v),
        Value::OptText(v) => query.bind(v),
    }
}

/// The text of a PostgreSQL array literal: `{1,NULL,"a \"b\""}`. Texts are
/// always quoted, with `\` and `"` escaped, so commas, braces, spaces and
/// the word NULL inside a text stay text.
fn array_literal<'a>(values: impl Iterator<Item = &'a Value>) -> String {
    let mut out = String::from("{");
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        match value {
            Value::Int(v) | Value::OptInt(Some(v)) => out.push_str(&v.to_string()),
            Value::OptInt(None) | Value::OptText(None) => out.push_str("NULL"),
            Value::Text(t) | Value::OptText(Some(t)) => {
                out.push('"');
                for c in t.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
    out.push('}');
    out
}

/// Parameters per statement of a bulk write: SQLite allows 32,766,
/// PostgreSQL 65,535.
const MAX_PARAMS: usize = 30_000;

/// A value for [`insert_rows`].
#[derive(Debug, Clone, PartialEq)]
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
    fn array_literals_keep_texts_whole() {
        let values = [
            Value::Int(-3),
            Value::OptInt(None),
            Value::Text(r#"a,"b"\c {NULL}"#.into()),
            Value::OptText(Some("NULL".into())),
            Value::OptText(None),
        ];
        assert_eq!(
            array_literal(values.iter()),
            r#"{-3,NULL,"a,\"b\"\\c {NULL}","NULL",NULL}"#
        );
    }

    #[test]
    fn a_column_with_one_value_in_every_row_is_bound_once() {
        let rows = vec![
            vec![Value::Int(7), Value::Int(1), Value::OptText(None)],
            vec![
                Value::Int(7),
                Value::Int(2),
                Value::OptText(Some("x".into())),
            ],
        ];
        let (sql, binds) = unnest_source(&["sheet_id", "retailer_id", "reason"], &rows, 1);
        assert_eq!(
            sql,
            "SELECT $1::bigint AS sheet_id, a.retailer_id, a.reason \
             FROM UNNEST($2::bigint[], $3::text[]) AS a (retailer_id, reason)"
        );
        assert!(matches!(binds[0], Bound::Scalar(Value::Int(7))));
        assert!(matches!(&binds[2], Bound::Array(t) if t == r#"{NULL,"x"}"#));
        // Rows all alike still unnest one array, so that every row is kept.
        let (sql, _) = unnest_source(
            &["x", "y"],
            &[rows[0][..2].to_vec(), rows[0][..2].to_vec()],
            4,
        );
        assert_eq!(
            sql,
            "SELECT a.x, $5::bigint AS y FROM UNNEST($4::bigint[]) AS a (x)"
        );
    }

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
