//! Backups (备份): the server copies its own database every night, keeps the
//! newest N copies, and `restore-check` proves that a copy opens and holds
//! the row counts written beside it.
//!
//! SQLite is copied with `VACUUM INTO`; PostgreSQL with `pg_dump -Fc` on a
//! snapshot exported by a REPEATABLE READ transaction that also counts the
//! rows, so the counts describe exactly the dumped data. A backup is complete
//! once its manifest exists: the data and then the manifest are written under
//! `.partial` names and renamed into place, so a half-written backup never
//! looks complete.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use chrono::{DateTime, FixedOffset, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::db::{Backend, Db};

/// Complete backups kept by default: two weeks of nightly copies.
pub const DEFAULT_KEEP: usize = 14;
/// Time of the nightly backup by default, China time.
pub const DEFAULT_AT: &str = "02:30";

const PREFIX: &str = "tobacco-";
const MANIFEST: &str = ".manifest.json";
const PARTIAL: &str = ".partial";
/// Leftovers of an interrupted backup older than this are deleted when pruning.
const STALE: Duration = Duration::from_secs(24 * 3600);

/// When and where the server backs itself up.
#[derive(Debug, Clone)]
pub struct BackupConfig {
    /// Folder of the backups and their manifests.
    pub dir: PathBuf,
    /// Complete backups kept; older ones are deleted after each new one.
    pub keep: usize,
    /// Time of day of the nightly backup, China time (UTC+8).
    pub at: NaiveTime,
    /// A backup every this long instead of nightly (tests, operations).
    pub every: Option<Duration>,
}

impl BackupConfig {
    /// Nightly at 02:30 China time into `dir`, keeping the last 14.
    pub fn nightly(dir: impl Into<PathBuf>) -> BackupConfig {
        BackupConfig {
            dir: dir.into(),
            keep: DEFAULT_KEEP,
            at: NaiveTime::from_hms_opt(2, 30, 0).expect("a valid time"),
            every: None,
        }
    }
}

/// Parses a time of day written `HH:MM`.
pub fn parse_at(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| format!("{text:?} is not a time HH:MM"))
}

/// China Standard Time, UTC+8 all year (no daylight saving).
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Where backups go unless told: `backups/` beside a SQLite file,
/// `data/backups` for PostgreSQL.
pub fn default_dir(database_url: &str) -> PathBuf {
    match crate::db::sqlite_path(database_url) {
        Some(path) => match Path::new(&path).parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.join("backups"),
            _ => PathBuf::from("backups"),
        },
        None => PathBuf::from("data/backups"),
    }
}

/// The database a backup file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// What a backup holds, written beside it as `<file>.manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// When the backup started, China time.
    pub created_at: DateTime<FixedOffset>,
    pub backend: Engine,
    /// File name of the backup, in the same folder as the manifest.
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    pub took_ms: u64,
    /// Rows per table at the moment of the backup.
    pub tables: BTreeMap<String, i64>,
}

impl Manifest {
    pub fn rows(&self) -> i64 {
        self.tables.values().sum()
    }
}

/// A backup just taken.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub file: PathBuf,
    pub manifest: Manifest,
    /// Older backups deleted to keep the newest `keep`.
    pub pruned: Vec<PathBuf>,
}

/// The manifest of the backup `file`.
pub fn manifest_path(file: &Path) -> PathBuf {
    with_suffix(file, MANIFEST)
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Checks at start that backups can run: the folder can be made and, for
/// PostgreSQL, a `pg_dump` able to dump this server is on PATH.
pub async fn preflight(db: &Db, config: &BackupConfig) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(&config.dir).await.with_context(|| {
        format!(
            "cannot create the backup folder {}; choose one with --backup-dir, or pass --no-backup",
            config.dir.display()
        )
    })?;
    if db.backend == Backend::Postgres {
        let dump_major = pg_dump_major().await?;
        let server: String = sqlx::query_scalar("SELECT current_setting('server_version_num')")
            .fetch_one(&db.pool)
            .await?;
        let server_major = server.trim().parse::<u32>().unwrap_or(0) / 10_000;
        if dump_major < server_major {
            bail!(
                "pg_dump {dump_major} cannot dump a PostgreSQL {server_major} server: install \
                 postgresql-client-{server_major} (or newer), or pass --no-backup to serve without backups"
            );
        }
    }
    Ok(())
}

async fn pg_dump_major() -> anyhow::Result<u32> {
    let output = match tokio::process::Command::new("pg_dump")
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .await
    {
        Ok(output) if output.status.success() => output,
        _ => bail!(
            "pg_dump was not found on PATH; the nightly backup of a PostgreSQL database needs it. \
             Install postgresql-client (e.g. apt-get install postgresql-client), \
             or pass --no-backup to serve without backups"
        ),
    };
    // "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .nth(2)
        .and_then(|v| {
            let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .with_context(|| format!("cannot read the version of pg_dump from {:?}", text.trim()))
}

/// Takes a backup into `config.dir` under a name stamped with China time,
/// then deletes all but the newest `config.keep` complete backups.
pub async fn take(
    db: &Db,
    database_url: &str,
    config: &BackupConfig,
) -> anyhow::Result<BackupReport> {
    tokio::fs::create_dir_all(&config.dir)
        .await
        .with_context(|| format!("creating {}", config.dir.display()))?;
    let stamp = Utc::now().with_timezone(&china()).format("%Y%m%d-%H%M%S");
    let extension = match db.backend {
        Backend::Sqlite => "db",
        Backend::Postgres => "dump",
    };
    let file = config.dir.join(format!("{PREFIX}{stamp}.{extension}"));
    let manifest = write(db, database_url, &file).await?;
    let pruned = prune(&config.dir, config.keep).await?;
    Ok(BackupReport {
        file,
        manifest,
        pruned,
    })
}

/// Writes a backup to exactly `file` and its manifest beside it.
pub async fn write(db: &Db, database_url: &str, file: &Path) -> anyhow::Result<Manifest> {
    let started = Instant::now();
    let created_at = Utc::now().with_timezone(&china());
    let manifest_file = manifest_path(file);
    let partial = with_suffix(file, PARTIAL);
    let manifest_partial = with_suffix(&manifest_file, PARTIAL);
    for path in [file, manifest_file.as_path(), partial.as_path()] {
        if tokio::fs::try_exists(path).await? {
            bail!("{} exists already; choose a new file", path.display());
        }
    }
    let written = async {
        let tables = match db.backend {
            Backend::Sqlite => dump_sqlite(db, &partial).await?,
            Backend::Postgres => dump_postgres(database_url, &partial).await?,
        };
        let (bytes, sha256) = hash(&partial, true).await?;
        tokio::fs::rename(&partial, file).await?;
        let manifest = Manifest {
            created_at,
            backend: match db.backend {
                Backend::Sqlite => Engine::Sqlite,
                Backend::Postgres => Engine::Postgres,
            },
            file: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes,
            sha256,
            took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            tables,
        };
        tokio::fs::write(&manifest_partial, serde_json::to_vec_pretty(&manifest)?).await?;
        hash(&manifest_partial, true).await?;
        tokio::fs::rename(&manifest_partial, &manifest_file).await?;
        if let Some(dir) = file.parent() {
            sync_dir(dir).await;
        }
        anyhow::Ok(manifest)
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&partial).await;
        let _ = tokio::fs::remove_file(&manifest_partial).await;
    }
    written.with_context(|| format!("backup to {}", file.display()))
}

async fn dump_sqlite(db: &Db, partial: &Path) -> anyhow::Result<BTreeMap<String, i64>> {
    db.backup_sqlite(partial).await?;
    // The manifest describes the copy, counted from the copy.
    let mut copy = open_sqlite_read_only(partial).await?;
    let counts = count_sqlite(&mut copy).await?;
    copy.close().await?;
    Ok(counts)
}

async fn dump_postgres(url: &str, partial: &Path) -> anyhow::Result<BTreeMap<String, i64>> {
    // A connection of its own, not one of the pool's, held for the whole dump.
    let mut conn = PgConnection::connect(url)
        .await
        .context("connecting to PostgreSQL")?;
    let mut tx = conn
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?;
    let counts = count_postgres(&mut tx).await?;
    // pg_dump reads the exported snapshot, which lives as long as `tx`.
    let mut command = pg_command("pg_dump", url);
    command
        .args(["--format=custom", "--no-password"])
        .arg(format!("--snapshot={snapshot}"))
        .arg("--file")
        .arg(partial);
    run(command, "pg_dump").await?;
    tx.rollback().await?;
    conn.close().await?;
    Ok(counts)
}

/// A `pg_dump`/`pg_restore` command for `url`, with the password (if any) in
/// `PGPASSWORD` rather than on the command line, where `ps` would show it.
fn pg_command(program: &str, url: &str) -> tokio::process::Command {
    let (url, password) = split_password(url);
    let mut command = tokio::process::Command::new(program);
    command
        .arg("--dbname")
        .arg(url)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
}

async fn run(mut command: tokio::process::Command, program: &str) -> anyhow::Result<()> {
    let output = command.output().await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("{program} was not found on PATH: install postgresql-client")
        } else {
            anyhow::anyhow!("{program} could not start: {e}")
        }
    })?;
    if !output.status.success() {
        bail!(
            "{program} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Splits the password out of a `postgres://user:password@host/db` URL,
/// percent-decoded.
fn split_password(url: &str) -> (String, Option<String>) {
    let unchanged = || (url.to_string(), None);
    let Some((scheme, rest)) = url.split_once("://") else {
        return unchanged();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return unchanged();
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return unchanged();
    };
    let bytes = password.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(String::from_utf8_lossy(&decoded).into_owned()),
    )
}

/// `url` with its database name replaced by `name`, keeping any parameters.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(i) => &base[..host_start + i],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

async fn open_sqlite_read_only(file: &Path) -> sqlx::Result<SqliteConnection> {
    // Immutable: no locks, no -wal or -shm files made beside a backup.
    SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .immutable(true)
        .connect()
        .await
}

async fn count_sqlite(conn: &mut SqliteConnection) -> sqlx::Result<BTreeMap<String, i64>> {
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

async fn count_postgres(conn: &mut PgConnection) -> sqlx::Result<BTreeMap<String, i64>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut counts = BTreeMap::new();
    for table in tables {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM public.{}", quote(&table)))
            .fetch_one(&mut *conn)
            .await?;
        counts.insert(table, n);
    }
    Ok(counts)
}

/// Size and SHA-256 (hex) of a file, read on a blocking thread; with `sync`,
/// the file is flushed to disk as well.
async fn hash(path: &Path, sync: bool) -> std::io::Result<(u64, String)> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use sha2::Digest;
        use std::io::Read;
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = sha2::Sha256::new();
        let mut buffer = vec![0_u8; 1 << 20];
        let mut bytes = 0_u64;
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            bytes += n as u64;
        }
        if sync {
            file.sync_all()?;
        }
        let hex = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok((bytes, hex))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Makes the renames in `dir` durable. Best effort: not every platform can
/// open a folder to sync it.
async fn sync_dir(dir: &Path) {
    let dir = dir.to_path_buf();
    let _ = tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all()).await;
}

/// Whether `name` is one of the scheduled backups: `tobacco-YYYYMMDD-HHMMSS.db|dump`.
fn is_backup_name(name: &str) -> bool {
    let stamp = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(".db").or_else(|| rest.strip_suffix(".dump")));
    stamp.is_some_and(|s| {
        s.len() == 15
            && s.bytes()
                .enumerate()
                .all(|(i, b)| if i == 8 { b == b'-' } else { b.is_ascii_digit() })
    })
}

/// The complete scheduled backups in `dir` (those with a manifest), oldest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let named = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_backup_name);
        if named && manifest_path(&path).exists() {
            found.push(path);
        }
    }
    // The names sort by their China-time stamp.
    found.sort();
    Ok(found)
}

/// Deletes all but the newest `keep` complete backups (at least one is
/// kept), and leftovers of interrupted backups older than a day.
pub async fn prune(dir: &Path, keep: usize) -> anyhow::Result<Vec<PathBuf>> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let complete = list(&dir)?;
        let excess = complete.len().saturating_sub(keep.max(1));
        let mut removed = Vec::new();
        for file in &complete[..excess] {
            // Data first: a manifest alone is never taken for a backup.
            std::fs::remove_file(file)?;
            std::fs::remove_file(manifest_path(file))?;
            removed.push(file.clone());
        }
        let kept: BTreeSet<PathBuf> = complete[excess..].iter().cloned().collect();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let base = name.strip_suffix(PARTIAL).unwrap_or(name);
            let base = base.strip_suffix(MANIFEST).unwrap_or(base);
            if !is_backup_name(base) || kept.contains(&dir.join(base)) {
                continue;
            }
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .unwrap_or_default();
            let orphan_manifest = name.ends_with(MANIFEST) && !dir.join(base).exists();
            if orphan_manifest || age > STALE {
                std::fs::remove_file(&path)?;
            }
        }
        anyhow::Ok(removed)
    })
    .await?
}

/// The next nightly backup after `now`: the next `at` in China time.
pub fn next_run(now: DateTime<Utc>, at: NaiveTime) -> DateTime<Utc> {
    let local = now.with_timezone(&china());
    let today = local.date_naive().and_time(at);
    let next = if today > local.naive_local() {
        today
    } else {
        today + chrono::Duration::days(1)
    };
    next.and_local_timezone(china())
        .single()
        .expect("a fixed offset maps every time once")
        .with_timezone(&Utc)
}

async fn wait_for_next(config: &BackupConfig) {
    if let Some(every) = config.every {
        tokio::time::sleep(every).await;
        return;
    }
    let due = next_run(Utc::now(), config.at);
    // Short sleeps against the wall clock, so a clock set right (or a
    // suspended machine) does not shift the backup by the error.
    while let Ok(left) = (due - Utc::now()).to_std() {
        if left.is_zero() {
            break;
        }
        tokio::time::sleep(left.min(Duration::from_secs(600))).await;
    }
}

/// The backup schedule, run beside the server until aborted: a failed
/// backup is logged and tried again at the next scheduled time.
pub fn spawn(db: Db, database_url: String, config: BackupConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            wait_for_next(&config).await;
            match take(&db, &database_url, &config).await {
                Ok(report) => {
                    tracing::info!(
                        file = %report.file.display(),
                        bytes = report.manifest.bytes,
                        rows = report.manifest.rows(),
                        took_ms = report.manifest.took_ms,
                        pruned = report.pruned.len(),
                        "backup taken"
                    );
                    if let Err(e) = audit(&db, &report).await {
                        tracing::warn!(error = %e, "could not record the backup in the audit log");
                    }
                }
                Err(e) => tracing::error!(
                    error = format!("{e:#}"),
                    dir = %config.dir.display(),
                    "backup failed; it is tried again at the next scheduled time"
                ),
            }
        }
    })
}

async fn audit(db: &Db, report: &BackupReport) -> sqlx::Result<()> {
    let mut conn = db.pool.acquire().await?;
    let detail = serde_json::json!({
        "bytes": report.manifest.bytes,
        "rows": report.manifest.rows(),
        "took_ms": report.manifest.took_ms,
        "pruned": report.pruned.len(),
    });
    crate::store::audit::record(
        &mut conn,
        None,
        "backup.taken",
        "backup",
        &report.manifest.file,
        &detail,
    )
    .await
}

/// One table of a restore check.
#[derive(Debug, Clone)]
pub struct TableCheck {
    pub table: String,
    /// Rows in the manifest; `None` when the table is not listed there.
    pub expected: Option<i64>,
    /// Rows in the restored copy; `None` when it could not be counted.
    pub actual: Option<i64>,
}

impl TableCheck {
    pub fn matches(&self) -> bool {
        self.expected.is_some() && self.expected == self.actual
    }
}

/// The outcome of restoring a backup and comparing it with its manifest.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub file: PathBuf,
    pub manifest: Manifest,
    pub tables: Vec<TableCheck>,
    /// What else went wrong: checksum, integrity, restore errors.
    pub problems: Vec<String>,
    pub took: Duration,
}

impl CheckReport {
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.tables.iter().all(TableCheck::matches)
    }

    /// Rows of `table` in the restored copy.
    pub fn actual(&self, table: &str) -> Option<i64> {
        self.tables
            .iter()
            .find(|t| t.table == table)
            .and_then(|t| t.actual)
    }
}

/// Restores the backup `file` and compares it with its manifest: the
/// checksum, SQLite's integrity check, and the rows of every table.
/// PostgreSQL dumps are restored into a scratch database made through
/// `admin_url` (any database the user may create databases from) and
/// dropped afterwards.
pub async fn check(file: &Path, admin_url: Option<&str>) -> anyhow::Result<CheckReport> {
    let started = Instant::now();
    let manifest_file = manifest_path(file);
    let text = tokio::fs::read_to_string(&manifest_file)
        .await
        .with_context(|| format!("reading the manifest {}", manifest_file.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("reading the manifest {}", manifest_file.display()))?;
    let mut problems = Vec::new();
    match hash(file, false).await {
        Ok((bytes, _)) if bytes != manifest.bytes => problems.push(format!(
            "the file holds {bytes} bytes; its manifest says {}",
            manifest.bytes
        )),
        Ok((_, sha256)) if sha256 != manifest.sha256 => problems.push(
            "the file's SHA-256 differs from its manifest's: it changed after the backup".into(),
        ),
        Ok(_) => {}
        Err(e) => problems.push(format!("cannot read {}: {e}", file.display())),
    }
    let restored = match manifest.backend {
        Engine::Sqlite => restore_sqlite(file).await,
        Engine::Postgres => {
            let admin = admin_url.context(
                "a PostgreSQL dump is checked by restoring it into a scratch database: \
                 pass --into postgres://user@host/postgres",
            )?;
            restore_postgres(file, admin).await
        }
    };
    let actual = restored.unwrap_or_else(|e| {
        problems.push(format!("{e:#}"));
        BTreeMap::new()
    });
    let names: BTreeSet<&String> = manifest.tables.keys().chain(actual.keys()).collect();
    let tables = names
        .into_iter()
        .map(|name| TableCheck {
            table: name.clone(),
            expected: manifest.tables.get(name).copied(),
            actual: actual.get(name).copied(),
        })
        .collect();
    Ok(CheckReport {
        file: file.to_path_buf(),
        manifest,
        tables,
        problems,
        took: started.elapsed(),
    })
}

async fn restore_sqlite(file: &Path) -> anyhow::Result<BTreeMap<String, i64>> {
    let mut conn = open_sqlite_read_only(file)
        .await
        .context("opening the backup")?;
    let verdict: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .context("integrity check")?;
    if verdict != ["ok"] {
        bail!("integrity check: {}", verdict.join("; "));
    }
    let counts = count_sqlite(&mut conn).await?;
    conn.close().await?;
    Ok(counts)
}

async fn restore_postgres(file: &Path, admin_url: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let scratch = format!("restore_check_{:016x}", rand::random::<u64>());
    let mut admin = PgConnection::connect(admin_url)
        .await
        .context("connecting to the admin database (--into)")?;
    sqlx::query(&format!("CREATE DATABASE {scratch}"))
        .execute(&mut admin)
        .await
        .with_context(|| format!("creating the scratch database {scratch}"))?;
    let url = with_database(admin_url, &scratch);
    let counted = async {
        let mut command = pg_command("pg_restore", &url);
        command
            .args(["--no-owner", "--no-password", "--exit-on-error"])
            .arg(file);
        run(command, "pg_restore").await?;
        let mut conn = PgConnection::connect(&url).await?;
        let counts = count_postgres(&mut conn).await?;
        conn.close().await?;
        anyhow::Ok(counts)
    }
    .await;
    let dropped = sqlx::query(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
    let _ = admin.close().await;
    let counts = counted?;
    dropped.with_context(|| format!("dropping the scratch database {scratch}"))?;
    Ok(counts)
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |n: Option<i64>| n.map_or_else(|| "—".to_string(), |n| n.to_string());
        writeln!(
            f,
            "restore check of {} ({:?}, taken {}, {} bytes)",
            self.file.display(),
            self.manifest.backend,
            self.manifest.created_at.format("%Y-%m-%d %H:%M:%S %:z"),
            self.manifest.bytes
        )?;
        writeln!(f, "{:<32} {:>12} {:>12}", "table", "manifest", "restored")?;
        for t in &self.tables {
            let mark = if t.matches() { "" } else { "  ← differs" };
            writeln!(
                f,
                "{:<32} {:>12} {:>12}{mark}",
                t.table,
                show(t.expected),
                show(t.actual)
            )?;
        }
        for problem in &self.problems {
            writeln!(f, "problem: {problem}")?;
        }
        let differ = self.tables.iter().filter(|t| !t.matches()).count();
        if self.passed() {
            write!(
                f,
                "PASSED: {} tables, {} rows as in the manifest ({:.1} s)",
                self.tables.len(),
                self.manifest.rows(),
                self.took.as_secs_f64()
            )
        } else {
            write!(
                f,
                "FAILED: {differ} of {} tables differ, {} other problems ({:.1} s)",
                self.tables.len(),
                self.problems.len(),
                self.took.as_secs_f64()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a valid time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_nightly_backup_runs_at_the_next_china_time() {
        let at = parse_at("02:30").expect("valid");
        // 01:00 in Beijing (17:00 UTC the day before): tonight at 02:30.
        assert_eq!(
            next_run(utc("2026-11-22T17:00:00Z"), at),
            utc("2026-11-22T18:30:00Z")
        );
        // 02:30 exactly has just run: tomorrow.
        assert_eq!(
            next_run(utc("2026-11-22T18:30:00Z"), at),
            utc("2026-11-23T18:30:00Z")
        );
        // 12:00 in Beijing: the next night.
        assert_eq!(
            next_run(utc("2026-11-23T04:00:00Z"), at),
            utc("2026-11-23T18:30:00Z")
        );
        assert!(parse_at("25:00").is_err(), "no hour 25");
    }

    #[test]
    fn only_stamped_names_are_scheduled_backups() {
        assert!(is_backup_name("tobacco-20261123-023000.db"));
        assert!(is_backup_name("tobacco-20261123-023000.dump"));
        assert!(!is_backup_name("tobacco-20261123-023000.db.partial"));
        assert!(!is_backup_name("tobacco-20261123-023000.db.manifest.json"));
        assert!(!is_backup_name("tobacco-2026112-023000.db"));
        assert!(!is_backup_name("before-upgrade.db"));
    }

    #[test]
    fn passwords_leave_the_url_for_the_environment() {
        assert_eq!(
            split_password("postgres://app:s%40cret@db:5432/tobacco?sslmode=require"),
            (
                "postgres://app@db:5432/tobacco?sslmode=require".to_string(),
                Some("s@cret".to_string())
            )
        );
        assert_eq!(
            split_password("postgres://postgres@127.0.0.1/test"),
            ("postgres://postgres@127.0.0.1/test".to_string(), None)
        );
    }

    #[test]
    fn the_database_of_a_url_can_be_swapped() {
        assert_eq!(
            with_database("postgres://u@h:5432/test?sslmode=require", "postgres"),
            "postgres://u@h:5432/postgres?sslmode=require"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }

    #[test]
    fn backups_go_beside_the_sqlite_file() {
        assert_eq!(
            default_dir("sqlite:data/app.db"),
            PathBuf::from("data/backups")
        );
        assert_eq!(default_dir("sqlite:app.db"), PathBuf::from("backups"));
        assert_eq!(
            default_dir("postgres://u@h/db"),
            PathBuf::from("data/backups")
        );
    }
}
