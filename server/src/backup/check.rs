//! The restore check: a backup restored (or opened) and compared with its
//! manifest, table by table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{hash, manifest_path, postgres, sqlite, Engine, Manifest};

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
        Engine::Sqlite => sqlite::restore(file).await,
        Engine::Postgres => {
            let admin = admin_url.context(
                "a PostgreSQL dump is checked by restoring it into a scratch database: \
                 pass --into postgres://user@host/postgres",
            )?;
            postgres::restore(file, admin).await
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
