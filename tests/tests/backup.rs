//! Backups on the server's own schedule: taken while a retailer saves, the
//! newest N kept with their manifests; the restore check passes on a good
//! copy and fails on one whose file or manifest was altered. And `serve`
//! on PostgreSQL refuses to start when it could not back up.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::{
    available, caller, on_both_databases, postgres_url, server_binary, spawn_app_on, Backend,
    TestDb,
};
use serde_json::json;
use server::backup::{self, BackupConfig, CheckReport};
use server::config::Config;

on_both_databases!(scheduled_backups_are_kept_to_the_newest_two_and_pass_the_restore_check);

/// Copies a backup and its manifest to `dir/name`, out of the schedule's
/// reach (it prunes the originals while the test works).
fn copy_backup(from: &Path, dir: &Path, name: &str) -> PathBuf {
    let extension = from.extension().expect("an extension");
    let to = dir.join(name).with_extension(extension);
    std::fs::copy(from, &to).expect("copy the backup");
    std::fs::copy(backup::manifest_path(from), backup::manifest_path(&to))
        .expect("copy the manifest");
    to
}

async fn check(file: &Path) -> CheckReport {
    backup::check(file, postgres_url().as_deref())
        .await
        .expect("the check runs")
}

/// `server restore-check FILE`: its exit status and what it printed.
fn restore_check_command(file: &Path) -> (bool, String) {
    let mut command = std::process::Command::new(server_binary());
    command.arg("restore-check").arg(file);
    if let Some(admin) = postgres_url() {
        command.arg("--into").arg(admin);
    }
    let output = command.output().expect("server restore-check runs");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), printed)
}

async fn scheduled_backups_are_kept_to_the_newest_two_and_pass_the_restore_check(backend: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let backups = dir.path().join("backups");
    let config = Config {
        backup: Some(BackupConfig {
            keep: 2,
            every: Some(Duration::from_secs(1)),
            ..BackupConfig::nightly(&backups)
        }),
        ..Config::local(String::new())
    };
    let db = Arc::new(TestDb::new(backend).await);
    let app = spawn_app_on(db, config, true).await;
    let shop = caller(&app, &app.retailer_login(0).await).await;
    let shop_id = shop.info.retailer_id.expect("a retailer");

    // A retailer saves the stock of its first spec again and again while
    // the schedule runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let url = app.base.clone();
        tokio::spawn(async move {
            let path = format!("{url}/api/replenishment/retailers/{shop_id}");
            let mut saves = 0_i64;
            while !stop.load(Ordering::Relaxed) {
                let view: domain::replenishment::RetailerSettingsView = shop
                    .client
                    .get(&path)
                    .send()
                    .await
                    .expect("get")
                    .json()
                    .await
                    .expect("json");
                let mut settings = view.settings;
                let first = settings
                    .iter_mut()
                    .min_by_key(|s| s.spec_id)
                    .expect("a setting");
                first.stock = domain::quantity::Cartons::new(saves % 50 + 1).expect("stock");
                let response = shop
                    .client
                    .put(format!("{path}/settings"))
                    .header("X-CSRF-Token", &shop.csrf)
                    .json(&json!({ "version": view.version, "settings": settings }))
                    .send()
                    .await
                    .expect("save");
                assert_eq!(response.status(), 200, "save {saves}");
                saves += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            saves
        })
    };

    // The schedule records each backup in the audit log.
    let deadline = Instant::now() + Duration::from_secs(120);
    let taken = loop {
        let taken: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'backup.taken'")
                .fetch_one(&app.db().pool)
                .await
                .expect("count backups");
        if taken >= 3 {
            break taken;
        }
        assert!(
            Instant::now() < deadline,
            "three backups within two minutes; {taken} so far"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop.store(true, Ordering::Relaxed);
    let saves = writer.await.expect("writer");
    assert!(saves > 0, "the retailer saved during the backups");

    // Two complete backups, each with its manifest, and nothing else but a
    // half-written one in progress. (Looked at again if a backup completes
    // meanwhile: for an instant before pruning, there are three.)
    let deadline = Instant::now() + Duration::from_secs(10);
    let kept = loop {
        let kept = backup::list(&backups).expect("list backups");
        let others: Vec<PathBuf> = std::fs::read_dir(&backups)
            .expect("read the folder")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| {
                !path.to_string_lossy().ends_with(".partial")
                    && !kept
                        .iter()
                        .any(|k| path == k || *path == backup::manifest_path(k))
            })
            .collect();
        if (kept.len() == 2 && others.is_empty()) || Instant::now() > deadline {
            assert_eq!(kept.len(), 2, "the newest two are kept: {kept:?}");
            assert!(others.is_empty(), "nothing else is left: {others:?}");
            break kept;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for file in &kept {
        let manifest: backup::Manifest = serde_json::from_slice(
            &std::fs::read(backup::manifest_path(file)).expect("a manifest"),
        )
        .expect("a manifest in JSON");
        assert_eq!(
            Some(manifest.file.as_str()),
            file.file_name().and_then(|n| n.to_str()),
            "the manifest names its backup"
        );
    }
    let newest = copy_backup(&kept[1], dir.path(), "newest");

    // The newest passes the restore check, with the data in it.
    let report = check(&newest).await;
    assert!(report.passed(), "{report}");
    assert!(report.actual("users") > Some(0), "{report}");
    assert!(report.actual("monthly_orders") > Some(0), "{report}");
    let (ok, printed) = restore_check_command(&newest);
    assert!(ok, "restore-check exits 0 on a good backup:\n{printed}");

    // A manifest that disagrees with the data fails, on that table.
    let edited = copy_backup(&newest, dir.path(), "edited");
    let manifest_file = backup::manifest_path(&edited);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_file).expect("read")).expect("json");
    let users = manifest["tables"]["users"].as_i64().expect("users counted");
    manifest["tables"]["users"] = json!(users + 1);
    std::fs::write(&manifest_file, manifest.to_string()).expect("write");
    let edited_report = check(&edited).await;
    assert!(!edited_report.passed(), "{edited_report}");
    let users_line = edited_report
        .tables
        .iter()
        .find(|t| t.table == "users")
        .expect("users checked");
    assert_eq!(
        (users_line.expected, users_line.actual),
        (Some(users + 1), Some(users))
    );
    let (ok, printed) = restore_check_command(&edited);
    assert!(
        !ok,
        "restore-check exits non-zero on a mismatch:\n{printed}"
    );
    assert!(printed.contains("FAILED"), "{printed}");

    // A damaged file fails: SQLite cut in half, a PostgreSQL dump with a
    // byte changed in the middle.
    let damaged = copy_backup(&newest, dir.path(), "damaged");
    let mut bytes = std::fs::read(&damaged).expect("read");
    match backend {
        Backend::Sqlite => bytes.truncate(bytes.len() / 2),
        Backend::Postgres => {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0xff;
        }
    }
    std::fs::write(&damaged, &bytes).expect("write");
    let damaged_report = check(&damaged).await;
    assert!(!damaged_report.passed(), "{damaged_report}");

    println!(
        "scheduled backups ({backend:?}): {taken} taken while the retailer saved {saves} times, 2 kept; \
         newest {} bytes, {} tables, {} rows, taken in {} ms; restore check passed in {} ms; \
         edited manifest: {}; damaged file: {}",
        report.manifest.bytes,
        report.tables.len(),
        report.manifest.rows(),
        report.manifest.took_ms,
        report.took.as_millis(),
        edited_report.to_string().lines().last().unwrap_or(""),
        damaged_report.problems.join(" | ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_on_postgresql_refuses_to_start_without_pg_dump() {
    if !available(Backend::Postgres) {
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    let empty = tempfile::tempdir().expect("temp dir");
    let binary = server_binary();
    let run = tokio::process::Command::new(binary)
        .args(["--database-url", &db.url, "serve"])
        .args(["--bind", "127.0.0.1:0", "--backup-dir"])
        .arg(empty.path().join("backups"))
        .env("PATH", empty.path())
        .env("RUST_LOG", "error")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("serve stops at once rather than serving")
        .expect("the server runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "serve refuses to start");
    assert!(
        stderr.contains("pg_dump")
            && stderr.contains("postgresql-client")
            && stderr.contains("--no-backup"),
        "the message says what to do: {stderr}"
    );
}
