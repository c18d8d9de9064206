//! Command line of the served binary: serve (the default), backup, restore-check.
//! Demo data, the load run and the benchmarks are in the `tools` crate.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

/// mimalloc, not the system's allocator. glibc raises its mmap threshold to
/// the size of the largest block freed, so after the first sign-in every
/// 19 MiB Argon2 block came from the heap and stayed there: a county server
/// went from 23 to 216 MiB after 12 sign-ins, and the city load's server
/// to 1.5 GB. mimalloc returns freed memory to the system
/// (`tools bench-memory`, README "Memory").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use server::backup::{self, BackupConfig};
use server::config::Config;
use server::db::Db;

#[derive(Parser)]
#[command(
    name = "server",
    about = "烟草营销 — forecasting and online replenishment server"
)]
struct Cli {
    /// sqlite:data/app.db (default) or postgres://user@host/db
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite:data/app.db",
        global = true
    )]
    database_url: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the browser bundle (the default).
    Serve {
        #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Folder with the built browser bundle.
        #[arg(long, env = "STATIC_DIR", default_value = "dist")]
        static_dir: PathBuf,
        /// Set the Secure flag on the session cookie (behind HTTPS).
        #[arg(long, env = "SECURE_COOKIES")]
        secure_cookies: bool,
        /// Folder of the nightly backups [default: `backups` beside the
        /// SQLite file; `data/backups` for PostgreSQL].
        #[arg(long, env = "BACKUP_DIR")]
        backup_dir: Option<PathBuf>,
        /// Complete backups kept; older ones are deleted.
        #[arg(long, env = "BACKUP_KEEP", default_value_t = backup::DEFAULT_KEEP as u64,
              value_parser = clap::value_parser!(u64).range(1..))]
        backup_keep: u64,
        /// Time of the nightly backup, China time (UTC+8), HH:MM.
        #[arg(long, env = "BACKUP_AT", default_value = backup::DEFAULT_AT, value_parser = backup::parse_at)]
        backup_at: chrono::NaiveTime,
        /// A backup every this many seconds instead of nightly.
        #[arg(long, hide = true, value_parser = clap::value_parser!(u64).range(1..))]
        backup_every: Option<u64>,
        /// Serve without backups (only when the database is backed up some
        /// other way).
        #[arg(long)]
        no_backup: bool,
        /// Do not recompute stored baselines older than the history at
        /// start (tests; requested recomputes still run).
        #[arg(long, hide = true)]
        no_baseline_check: bool,
    },
    /// Write a consistent copy of the database (SQLite `VACUUM INTO`,
    /// PostgreSQL `pg_dump -Fc`) and its manifest, while it is in use: to
    /// FILE, or under a dated name if FILE is a folder.
    Backup { file: PathBuf },
    /// First start of an installation: create the first administrator with a
    /// one-time password, printed once, to be replaced at the first sign-in.
    /// With --reset, give an existing administrator a new one-time password.
    CreateAdmin {
        #[arg(long, default_value = "admin")]
        login: String,
        #[arg(long, default_value = "系统管理员")]
        name: String,
        /// Name of the marketing center unit, made if the database has none.
        #[arg(long, default_value = "营销中心")]
        center: String,
        #[arg(long)]
        reset: bool,
    },
    /// Restore a backup (PostgreSQL: into a scratch database, dropped
    /// afterwards) and compare it with its manifest; fails on any difference.
    RestoreCheck {
        file: PathBuf,
        /// PostgreSQL: where to create the scratch database [default: the
        /// `postgres` database of --database-url].
        #[arg(long)]
        into: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=error,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve {
        bind: "127.0.0.1:8080".parse()?,
        static_dir: "dist".into(),
        secure_cookies: false,
        backup_dir: None,
        backup_keep: backup::DEFAULT_KEEP as u64,
        backup_at: backup::parse_at(backup::DEFAULT_AT).map_err(anyhow::Error::msg)?,
        backup_every: None,
        no_backup: false,
        no_baseline_check: false,
    }) {
        Command::Serve {
            bind,
            static_dir,
            secure_cookies,
            backup_dir,
            backup_keep,
            backup_at,
            backup_every,
            no_backup,
            no_baseline_check,
        } => {
            let started = Instant::now();
            let backup = (!no_backup).then(|| BackupConfig {
                dir: backup_dir.unwrap_or_else(|| backup::default_dir(&cli.database_url)),
                keep: usize::try_from(backup_keep).unwrap_or(usize::MAX),
                at: backup_at,
                every: backup_every.map(Duration::from_secs),
            });
            let backups = match &backup {
                Some(b) => format!(
                    "备份 / backups: {} into {}, keeping the last {}",
                    b.every.map_or_else(
                        || format!("nightly at {} China time", b.at.format("%H:%M")),
                        |every| format!("every {} s", every.as_secs())
                    ),
                    b.dir.display(),
                    b.keep
                ),
                None => "备份 / backups: OFF (--no-backup)".to_string(),
            };
            let config = Config {
                bind,
                static_dir,
                secure_cookies,
                backup,
                baselines_at_start: !no_baseline_check,
                ..Config::local(cli.database_url)
            };
            let state = server::prepare(config).await?;
            println!("{backups}");
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1",
            )
            .fetch_one(&state.db.pool)
            .await?;
            if admins == 0 {
                println!(
                    "尚无系统管理员 / no administrator yet: run `server create-admin --login <name>` once; it prints a one-time password"
                );
            }
            let listener = tokio::net::TcpListener::bind(bind).await?;
            println!(
                "服务已启动 / listening on http://{bind}  (ready in {:.2} s)",
                started.elapsed().as_secs_f64()
            );
            server::serve(listener, state, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
        }
        Command::CreateAdmin {
            login,
            name,
            center,
            reset,
        } => {
            let db = Db::connect(&cli.database_url, 1).await?;
            db.migrate().await?;
            let outcome =
                server::service::accounts::bootstrap_admin(&db, &login, &name, &center, reset)
                    .await?;
            let (what, password) = match outcome {
                server::service::accounts::Bootstrap::Created { password } => {
                    ("管理员账号已创建 / administrator created", password)
                }
                server::service::accounts::Bootstrap::Reset { password } => {
                    ("管理员密码已重置 / administrator password reset", password)
                }
            };
            println!("{what}: {login}");
            println!("一次性密码 / one-time password: {password}");
            println!("首次登录后须设置新密码；此密码不会再次显示。 / Choose a new password at the first sign-in; this one is not shown again.");
            Ok(())
        }
        Command::Backup { file } => {
            let db = Db::connect(&cli.database_url, 1).await?;
            let (file, manifest) = if file.is_dir() {
                // Nothing pruned: the folder may be the schedule's own.
                let into = BackupConfig {
                    keep: usize::MAX,
                    ..BackupConfig::nightly(file)
                };
                let report = backup::take(&db, &cli.database_url, &into).await?;
                (report.file, report.manifest)
            } else {
                let manifest = backup::write(&db, &cli.database_url, &file).await?;
                (file, manifest)
            };
            println!(
                "备份完成 / backup written to {} ({} bytes, {} tables, {} rows, {} ms)",
                file.display(),
                manifest.bytes,
                manifest.tables.len(),
                manifest.rows(),
                manifest.took_ms
            );
            Ok(())
        }
        Command::RestoreCheck { file, into } => {
            let admin = into.or_else(|| {
                let url = &cli.database_url;
                (url.starts_with("postgres://") || url.starts_with("postgresql://"))
                    .then(|| backup::with_database(url, "postgres"))
            });
            let report = backup::check(&file, admin.as_deref()).await?;
            println!("{report}");
            if !report.passed() {
                anyhow::bail!("the backup {} failed its restore check", file.display());
            }
            Ok(())
        }
    }
}
