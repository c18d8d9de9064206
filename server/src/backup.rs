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

mod check;
mod postgres;
mod retention;
mod schedule;
mod sqlite;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, FixedOffset, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::china;
use crate::db::{Backend, Db};

pub use check::{check, CheckReport, TableCheck};
pub use postgres::with_database;
pub use retention::{list, prune};
pub use schedule::{next_run, spawn};

/// Complete backups kept by default: two weeks of nightly copies.
pub const DEFAULT_KEEP: usize = 14;
/// Time of the nightly backup by default, China time.
pub const DEFAULT_AT: &str = "02:30";

const PREFIX: &str = "tobacco-";
const MANIFEST: &str = ".manifest.json";
const PARTIAL: &str = ".partial";

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
    tokio::fs::create_dir_all(&config.dir)
        .await
        .with_context(|| {
            format!(
            "cannot create the backup folder {}; choose one with --backup-dir, or pass --no-backup",
            config.dir.display()
        )
        })?;
    if db.backend == Backend::Postgres {
        let dump_major = postgres::pg_dump_major().await?;
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
            Backend::Sqlite => sqlite::dump(db, &partial).await?,
            Backend::Postgres => postgres::dump(database_url, &partial).await?,
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

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
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

#[cfg(test)]
mod tests {
    use super::*;

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
