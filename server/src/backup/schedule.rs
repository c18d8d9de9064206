//! The schedule: nightly at a China-time hour (or every N seconds), a
//! backup, a log line and an audit row; a failure is logged and the next
//! run tries again.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};

use super::{take, BackupConfig, BackupReport};
use crate::clock::china;
use crate::db::Db;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::parse_at;

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
}
