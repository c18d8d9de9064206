//! Failure: the server killed with SIGKILL in the middle of bulk saves,
//! a backup taken while writes go on, and (PostgreSQL) the database
//! stopped under a serving server.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use domain::forecast::view::SheetView;
use domain::forecast::Scope;
use domain::{ErrorBody, ErrorCode};
use e2e::forecast::{open_cycle, sheet};
use e2e::{
    caller, on_both_databases, postgres_url, server_binary, spawn_app, spawn_app_on,
    spawn_app_scaled, Backend, Caller, Scale, ServerProcess, TestApp, TestDb,
};
use reqwest::Method;
use serde_json::json;
use sqlx::Row;

on_both_databases!(
    a_server_killed_mid_bulk_save_keeps_all_or_nothing_and_restarts,
    a_backup_taken_during_writes_restores_to_an_identical_database,
);

/// (lines, sum of values, sum of revisions) of a sheet.
async fn sheet_state(app: &TestApp, sheet_id: i64) -> (i64, i64, i64) {
    let row = sqlx::query(
        "SELECT COUNT(*), COALESCE(CAST(SUM(entered) AS BIGINT), 0), COALESCE(CAST(SUM(revision) AS BIGINT), 0) \
         FROM forecast_lines WHERE sheet_id = $1",
    )
    .bind(sheet_id)
    .fetch_one(&app.db().pool)
    .await
    .expect("sheet state");
    (
        row.try_get(0).expect("count"),
        row.try_get(1).expect("sum"),
        row.try_get(2).expect("revisions"),
    )
}

/// A workbook in the export layout setting every cell of `view` to `value`.
fn workbook(view: &SheetView, value: i64) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.write_string(0, 0, "许可证号").expect("write");
    for (s, spec) in view.specs.iter().enumerate() {
        ws.write_string(1, 4 + s as u16, &spec.code).expect("write");
    }
    for (r, row) in view.rows.iter().enumerate() {
        let at = 2 + r as u32;
        ws.write_string(at, 0, &row.licence_no).expect("write");
        for s in 0..view.specs.len() {
            ws.write_number(at, 4 + s as u16, value as f64)
                .expect("write");
        }
    }
    book.save_to_buffer().expect("xlsx")
}

async fn a_server_killed_mid_bulk_save_keeps_all_or_nothing_and_restarts(backend: Backend) {
    // The county demo: cm01's sheet is 158 retailers × 60 specs.
    let app = spawn_app_scaled(backend, Scale::County).await;
    let cycle = open_cycle(&app, Scope::All, 60).await;
    let mut server = ServerProcess::start(&app.db.url).await;
    let mut child = server.app(&app);
    let cm = caller(&child, "cm01").await;
    let cells_path = format!("/api/forecast/cycles/{}/sheet/cells", cycle.id);
    let import_path = format!("/api/forecast/cycles/{}/sheet/import", cycle.id);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for round in 0..8_i64 {
        let view = sheet(&cm, &child, cycle.id).await;
        let n = (view.rows.len() * view.specs.len()) as i64;
        let before = sheet_state(&app, view.sheet_id).await;
        let value = round + 1;
        let import = round % 2 == 1;
        let request = if import {
            cm.client
                .post(child.url(&import_path))
                .header("X-CSRF-Token", &cm.csrf)
                .body(workbook(&view, value))
        } else {
            let v = &view;
            let cells: Vec<serde_json::Value> = v
                .rows
                .iter()
                .enumerate()
                .flat_map(|(r, row)| {
                    v.specs.iter().enumerate().map(move |(s, spec)| {
                        json!({ "retailer_id": row.retailer_id, "spec_id": spec.spec_id,
                                "value": value, "base_revision": v.revision[v.index(r, s)] })
                    })
                })
                .collect();
            cm.client
                .put(child.url(&cells_path))
                .header("X-CSRF-Token", &cm.csrf)
                .json(&json!({ "cells": cells }))
        };
        let sending = tokio::spawn(request.send());
        // From straight away to well after a save would finish.
        let delay = [5, 5, 60, 60, 400, 400, 3_000, 3_000][round as usize];
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill9();
        let answered = sending
            .await
            .expect("task")
            .map(|r| r.status().as_u16())
            .ok();

        // The server starts cleanly on what was left.
        server = ServerProcess::start(&app.db.url).await;
        child = server.app(&app);
        let after = sheet_state(&app, view.sheet_id).await;
        let all = after == (n, n * value, before.2 + n);
        let none = after == before;
        assert!(
            all || none,
            "round {round} ({}): {n} cells, before {before:?}, after {after:?}: partly saved",
            if import { "import" } else { "cells" }
        );
        if answered == Some(200) {
            assert!(all, "round {round}: acknowledged but not all stored");
        }
        let label = format!(
            "{}: {} ({})",
            if import { "import" } else { "cell save" },
            if all { "all stored" } else { "nothing stored" },
            match answered {
                Some(s) => format!("answered {s}"),
                None => "no answer".into(),
            }
        );
        *outcomes.entry(label).or_default() += 1;
    }
    // The same session works on the restarted process, and saving works.
    let view = sheet(&cm, &child, cycle.id).await;
    let response = e2e::forecast::save(
        &cm,
        &child,
        cycle.id,
        json!([{ "retailer_id": view.rows[0].retailer_id, "spec_id": view.specs[0].spec_id,
                 "value": 2, "base_revision": view.revision[0] }]),
    )
    .await;
    assert_eq!(response.status(), 200, "saving after the restarts");
    if backend == Backend::Sqlite {
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&app.db().pool)
            .await
            .expect("integrity check");
        assert_eq!(check, "ok");
    }
    println!("kill -9 during bulk saves ({backend:?}): {outcomes:?}");
}

/// Every table, row by row, as text: what "identical" compares.
async fn dump(pool: &sqlx::AnyPool, backend: Backend) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = match backend {
        Backend::Sqlite => sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        ),
        Backend::Postgres => sqlx::query_scalar(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
        ),
    }
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut out = BTreeMap::new();
    for table in tables {
        let columns: Vec<String> = match backend {
            Backend::Sqlite => {
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
            }
            Backend::Postgres => sqlx::query_scalar(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
            ),
        }
        .bind(&table)
        .fetch_all(pool)
        .await
        .expect("columns");
        // Every column as text, so that one reader serves every type
        // (SQLite's quote() also spells out blobs).
        let select = columns
            .iter()
            .map(|c| match backend {
                Backend::Sqlite => format!("quote({c})"),
                Backend::Postgres => format!("CAST({c} AS TEXT)"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!("SELECT {select} FROM {table}"))
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        let mut lines: Vec<String> = rows
            .iter()
            .map(|row| {
                (0..columns.len())
                    .map(|i| format!("{:?}", row.try_get::<Option<String>, _>(i).expect("text")))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        lines.sort();
        out.insert(table, lines);
    }
    out
}

/// Takes a backup of `app`'s database into a new database and returns its URL.
async fn backup(
    app: &TestApp,
    backend: Backend,
    dir: &std::path::Path,
    name: &str,
) -> (String, Option<TestDb>) {
    match backend {
        Backend::Sqlite => {
            let file = dir.join(format!("{name}.db"));
            // The product's own command, against the live database.
            let status = Command::new(server_binary())
                .args(["--database-url", &app.db.url, "backup"])
                .arg(&file)
                .status()
                .expect("server backup runs");
            assert!(status.success(), "server backup succeeds");
            (format!("sqlite:{}", file.display()), None)
        }
        Backend::Postgres => {
            let file = dir.join(format!("{name}.dump"));
            let status = Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(&file)
                .arg(&app.db.url)
                .status()
                .expect("pg_dump runs (apt-get install postgresql-client)");
            assert!(status.success(), "pg_dump succeeds");
            let target = TestDb::new(Backend::Postgres).await;
            let status = Command::new("pg_restore")
                .args(["--no-owner", "--exit-on-error", "--dbname"])
                .arg(&target.url)
                .arg(&file)
                .status()
                .expect("pg_restore runs");
            assert!(status.success(), "pg_restore succeeds");
            (target.url.clone(), Some(target))
        }
    }
}

async fn a_backup_taken_during_writes_restores_to_an_identical_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, Scope::All, 5).await;
    let cm = caller(&app, "cm01").await;
    let view = sheet(&cm, &app, cycle.id).await;
    let shop = caller(&app, &app.retailer_login(0).await).await;
    let shop_id = shop.info.retailer_id.expect("retailer");
    let dir = tempfile::tempdir().expect("temp dir");

    // Writers: cm01 saves the same 20 cells with value k % 20 on its k-th save;
    // the retailer sets the stock of its first spec to k on its k-th save.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cells: Vec<(i64, i64)> = view
        .rows
        .iter()
        .flat_map(|r| view.specs.iter().map(move |s| (r.retailer_id, s.spec_id)))
        .take(20)
        .collect();
    let writer = |who: Caller, kind: &'static str| {
        let stop = stop.clone();
        let cells = cells.clone();
        let url = app.base.clone();
        let cycle_id = cycle.id;
        tokio::spawn(async move {
            let mut k = 0_i64;
            let mut version = None;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                k += 1;
                let response = if kind == "cells" {
                    let body: Vec<serde_json::Value> = cells
                        .iter()
                        .map(|&(r, s)| json!({ "retailer_id": r, "spec_id": s, "value": k % 20, "base_revision": k - 1 }))
                        .collect();
                    who.client
                        .put(format!("{url}/api/forecast/cycles/{cycle_id}/sheet/cells"))
                        .header("X-CSRF-Token", &who.csrf)
                        .json(&json!({ "cells": body }))
                        .send()
                        .await
                } else {
                    let path = format!("{url}/api/replenishment/retailers/{shop_id}");
                    let view: domain::replenishment::RetailerSettingsView = who
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
                    first.stock = domain::quantity::Cartons::new(k).expect("stock");
                    version.get_or_insert(view.version);
                    who.client
                        .put(format!("{path}/settings"))
                        .header("X-CSRF-Token", &who.csrf)
                        .json(&json!({ "version": view.version, "settings": settings }))
                        .send()
                        .await
                };
                assert_eq!(response.expect("write").status(), 200, "{kind} save {k}");
            }
            (k, version.unwrap_or(0))
        })
    };
    let spec0: i64 = sqlx::query_scalar(
        "SELECT spec_id FROM retailer_specs WHERE retailer_id = $1 ORDER BY spec_id LIMIT 1",
    )
    .bind(shop_id)
    .fetch_one(&app.db().pool)
    .await
    .expect("a setting");
    let writers = [writer(cm, "cells"), writer(shop, "settings")];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let (during_url, _during_db) = backup(&app, backend, dir.path(), "during").await;
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut written = Vec::new();
    for w in writers {
        written.push(w.await.expect("writer"));
    }

    // The backup taken during the writes is one moment of the database:
    // its data and its audit log agree save by save.
    let during = server::db::Db::connect(&during_url, 2)
        .await
        .expect("open the backup");
    during
        .migrate()
        .await
        .expect("the backup takes the migrations");
    let count = |sql: &'static str, bind: i64| {
        let pool = during.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(bind)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    };
    let saves = count(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'forecast.cells.save' AND entity_id = CAST($1 AS TEXT)",
        view.sheet_id,
    )
    .await;
    let (n, values, revisions): (i64, i64, i64) = {
        let row = sqlx::query(
            "SELECT COUNT(*), COALESCE(CAST(SUM(entered) AS BIGINT), 0), COALESCE(CAST(SUM(revision) AS BIGINT), 0) \
             FROM forecast_lines WHERE sheet_id = $1",
        )
        .bind(view.sheet_id)
        .fetch_one(&during.pool)
        .await
        .expect("lines");
        (
            row.try_get(0).expect("n"),
            row.try_get(1).expect("v"),
            row.try_get(2).expect("r"),
        )
    };
    assert!(saves > 0, "the backup was taken after some saves");
    assert_eq!(
        (n, values, revisions),
        (20, 20 * (saves % 20), 20 * saves),
        "every cell holds the value of the last save in the backup's audit log"
    );
    let settings_saves = count(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'replenishment.settings.save' AND entity_id = CAST($1 AS TEXT)",
        shop_id,
    )
    .await;
    let (stock, version): (i64, i64) = {
        let row = sqlx::query(
            "SELECT s.stock, r.settings_version FROM retailer_specs s JOIN retailers r ON r.id = s.retailer_id \
             WHERE s.retailer_id = $1 AND s.spec_id = $2",
        )
        .bind(shop_id)
        .bind(spec0)
        .fetch_one(&during.pool)
        .await
        .expect("settings");
        (
            row.try_get(0).expect("stock"),
            row.try_get(1).expect("version"),
        )
    };
    let first_version = written[1].1;
    assert_eq!(
        version - first_version,
        settings_saves,
        "one version per audited save"
    );
    if settings_saves > 0 {
        assert_eq!(stock, settings_saves, "the stock of the last audited save");
    }
    let (cell_saves, setting_saves) = (written[0].0, written[1].0);
    during.pool.close().await;

    // Quiet now: a second backup restores to a database identical, table
    // by table and row by row, to the live one.
    let (after_url, _after_db) = backup(&app, backend, dir.path(), "after").await;
    let restored = server::db::Db::connect(&after_url, 2)
        .await
        .expect("open the restore");
    let live = dump(&app.db().pool, backend).await;
    let copy = dump(&restored.pool, backend).await;
    let rows: usize = live.values().map(Vec::len).sum();
    for (table, lines) in &live {
        assert_eq!(
            copy.get(table).map(Vec::len),
            Some(lines.len()),
            "{table}: row count after restore"
        );
        assert!(
            copy.get(table) == Some(lines),
            "{table}: rows differ after restore"
        );
    }
    assert_eq!(copy.len(), live.len(), "the same tables");
    println!(
        "backup during writes ({backend:?}): taken in {} ms while {cell_saves} sheet saves and {setting_saves} settings saves ran; \
         it holds {saves} and {settings_saves}, each consistent with its audit row; \
         the quiet backup restores {} tables, {rows} rows, identical",
        took.as_millis(),
        live.len()
    );
}

/// A private PostgreSQL cluster for this test alone, so it can be stopped
/// and started without touching the shared server.
struct PrivateCluster {
    dir: tempfile::TempDir,
    port: u16,
    bin: std::path::PathBuf,
}

impl PrivateCluster {
    fn as_postgres(&self, tool: &str, args: &[&str]) {
        let status = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(status.success(), "{tool} {args:?}");
    }

    fn start() -> PrivateCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries under /usr/lib/postgresql")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|p| p.join("pg_ctl").exists())
            .expect("pg_ctl");
        let dir = tempfile::tempdir().expect("temp dir");
        let status = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(status.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let cluster = PrivateCluster { dir, port, bin };
        let data = cluster.data();
        cluster.as_postgres(
            "initdb",
            &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        );
        cluster.up();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn up(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            self.port,
            self.dir.path().display()
        );
        self.as_postgres(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-w",
                "-l",
                &format!("{}/log", self.dir.path().display()),
                "start",
            ],
        );
    }

    fn down(&self) {
        self.as_postgres("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_while_serving_gives_503_and_recovers_without_a_restart() {
    if postgres_url().is_none() {
        eprintln!("PostgreSQL pass skipped: TEST_POSTGRES_URL is not set");
        return;
    }
    let cluster = PrivateCluster::start();
    let db = std::sync::Arc::new(TestDb::at(cluster.url()));
    let app = spawn_app_on(db, server::config::Config::local(String::new()), true).await;
    let center = caller(&app, "center").await;
    let read = |who: &Caller| {
        who.client
            .get(app.url("/api/forecast/cycles"))
            .timeout(Duration::from_secs(30))
            .send()
    };
    assert_eq!(read(&center).await.expect("read").status(), 200);

    cluster.down();
    let stopped = Instant::now();
    let mut statuses = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    for path in ["/api/health", "/api/forecast/cycles", "/api/home"] {
        let asked = Instant::now();
        let response = center
            .client
            .get(app.url(path))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("an answer while the database is down");
        let status = response.status().as_u16();
        let body: ErrorBody = response.json().await.unwrap_or_else(|e| {
            panic!("{path}: the project's error body while the database is down: {e}")
        });
        assert_eq!(status, 503, "{path}: {body:?}");
        assert_eq!(body.code, ErrorCode::Unavailable, "{path}");
        // Fail fast: not after the pool's 5 s acquire timeout.
        let took = asked.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "{path} answered 503 after {took:?}"
        );
        slowest = slowest.max(took);
        assert!(
            body.message.contains("数据库暂时不可用"),
            "{}",
            body.message
        );
        statuses.insert(path, status);
    }
    let write = center
        .send(
            &app,
            Method::PUT,
            "/api/forecast/rules",
            json!({ "deviation_percent": 30, "deviation_cartons": 5, "default_bound": 500 }),
        )
        .await;
    assert_eq!(write.status(), 503, "a write while the database is down");
    let answered_in = stopped.elapsed();
    assert!(
        answered_in < Duration::from_secs(4),
        "four calls while the database is down took {answered_in:?}"
    );

    cluster.up();
    let back = Instant::now();
    loop {
        let status = read(&center)
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        if status == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "the server recovers by itself once the database is back (last {status})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recovered = back.elapsed();
    // The same session, kept in the database, still signs the caller in.
    let me = center.get(&app, "/api/auth/me").await;
    assert_eq!(me.status(), 200);
    println!(
        "database stopped: {statuses:?} and a write 503, all answered within {} ms (slowest read {} ms); serving again {} ms after it came back, same session",
        answered_in.as_millis(),
        slowest.as_millis(),
        recovered.as_millis()
    );
}
