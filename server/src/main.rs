//! Command line: serve (default), backup, restore-check, demo data generation.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use server::backup::{self, BackupConfig};
use server::config::Config;
use server::db::Db;
use server::demo::{self, DemoOptions, Scale};

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
        /// Do not fill an empty database with demo data.
        #[arg(long)]
        no_demo: bool,
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
    },
    /// Write a consistent copy of the database (SQLite `VACUUM INTO`,
    /// PostgreSQL `pg_dump -Fc`) and its manifest, while it is in use: to
    /// FILE, or under a dated name if FILE is a folder.
    Backup { file: PathBuf },
    /// Restore a backup (PostgreSQL: into a scratch database, dropped
    /// afterwards) and compare it with its manifest; fails on any difference.
    RestoreCheck {
        file: PathBuf,
        /// PostgreSQL: where to create the scratch database [default: the
        /// `postgres` database of --database-url].
        #[arg(long)]
        into: Option<String>,
    },
    /// Fill an empty database with demo data and print what was made.
    Demo {
        #[arg(long, value_enum, default_value = "county")]
        scale: Scale,
    },
    /// Benchmark: compute the proposed order of every retailer with settings
    /// (generating the demo at --scale first if the database is empty) and
    /// print the time taken.
    BenchProposals {
        #[arg(long, value_enum, default_value = "city")]
        scale: Scale,
    },
    /// Evaluate the forecast baseline on the order history (rolling origin
    /// over the last --origins months) against naive and seasonal-naive
    /// forecasts (generating the demo at --scale first if the database is
    /// empty).
    BaselineEval {
        #[arg(long, default_value_t = 6)]
        origins: usize,
        #[arg(long, value_enum, default_value = "county")]
        scale: Scale,
    },
    /// Forecast with the baseline from a CSV of monthly history
    /// (series_id,month,quantity) and write the next --horizon months as CSV
    /// (series_id,month,forecast,method). No database is used.
    BaselineCsv {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
        #[arg(long, default_value_t = 3)]
        horizon: i64,
    },
    /// Benchmark: save a full 9,000-cell forecast sheet through the API and
    /// with a raw insert, side by side (generating the demo at --scale first
    /// if the database is empty).
    BenchSheetSave {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, value_enum, default_value = "county")]
        scale: Scale,
    },
    /// Soak run: server processes on loopback over this database (the demo
    /// at --scale generated first if it is empty), with customer managers
    /// saving draft cells, marketing-center readers opening the dashboard
    /// and retailers saving settings at once for --seconds; prints the rate,
    /// latency percentiles per route, errors and server memory, then checks
    /// that every acknowledged write is stored exactly once.
    Load {
        #[arg(long, value_enum, default_value = "city")]
        scale: Scale,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 300)]
        cms: usize,
        #[arg(long, default_value_t = 100)]
        readers: usize,
        #[arg(long, default_value_t = 500)]
        retailers: usize,
        /// Server processes sharing the database.
        #[arg(long, default_value_t = 1)]
        processes: usize,
        /// Cells per save.
        #[arg(long, default_value_t = 20)]
        batch: usize,
        /// Mean pause between a customer manager's saves (a batch of cells
        /// typed, then autosaved).
        #[arg(long, default_value_t = 10000)]
        cm_think_ms: u64,
        /// Mean pause between a reader's dashboard opens.
        #[arg(long, default_value_t = 15000)]
        reader_think_ms: u64,
        /// Mean pause between a retailer's saves.
        #[arg(long, default_value_t = 15000)]
        retailer_think_ms: u64,
    },
    /// Benchmark: the marketing center's dashboard of a cycle with every
    /// line filled (1.8M lines at city scale), through the API and as raw SQL.
    BenchDashboard {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, value_enum, default_value = "city")]
        scale: Scale,
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
    let today = chrono::Local::now().date_naive();
    match cli.command.unwrap_or(Command::Serve {
        bind: "127.0.0.1:8080".parse()?,
        static_dir: "dist".into(),
        no_demo: false,
        secure_cookies: false,
        backup_dir: None,
        backup_keep: backup::DEFAULT_KEEP as u64,
        backup_at: backup::parse_at(backup::DEFAULT_AT).map_err(anyhow::Error::msg)?,
        backup_every: None,
        no_backup: false,
    }) {
        Command::Serve {
            bind,
            static_dir,
            no_demo,
            secure_cookies,
            backup_dir,
            backup_keep,
            backup_at,
            backup_every,
            no_backup,
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
                ..Config::local(cli.database_url)
            };
            let demo = (!no_demo).then(|| DemoOptions::ending_before(Scale::County, today));
            let (state, report) = server::prepare(config, demo).await?;
            if let Some(report) = &report {
                print_report(report);
            }
            println!("{backups}");
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
        Command::Demo { scale } => {
            let started = Instant::now();
            let db = Db::connect(&cli.database_url, 4).await?;
            db.migrate().await?;
            match demo::seed_if_empty(&db, &DemoOptions::ending_before(scale, today)).await? {
                Some(report) => {
                    print_report(&report);
                    println!("generated in {:.1} s", started.elapsed().as_secs_f64());
                }
                None => println!("the database already holds data; nothing generated"),
            }
            Ok(())
        }
        Command::BenchProposals { scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            bench_proposals(&db).await
        }
        Command::BaselineEval { origins, scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            server::commands::baseline_eval(&db, origins).await
        }
        Command::BaselineCsv {
            input,
            output,
            horizon,
        } => {
            let series = server::commands::baseline_csv(&input, &output, horizon)?;
            println!(
                "{series} series forecast for {horizon} months; written to {}",
                output.display()
            );
            Ok(())
        }
        Command::BenchSheetSave { rounds, scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            server::commands::bench_sheet_save(&db, rounds.max(1)).await
        }
        Command::Load {
            scale,
            seconds,
            cms,
            readers,
            retailers,
            processes,
            batch,
            cm_think_ms,
            reader_think_ms,
            retailer_think_ms,
        } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            let options = server::load::LoadOptions {
                duration: Duration::from_secs(seconds),
                cms,
                readers,
                retailers,
                processes,
                batch: batch.max(1),
                cm_think: Duration::from_millis(cm_think_ms),
                reader_think: Duration::from_millis(reader_think_ms),
                retailer_think: Duration::from_millis(retailer_think_ms),
            };
            server::load::run(&db, &cli.database_url, options).await
        }
        Command::BenchDashboard { rounds, scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            server::commands::bench_dashboard(&db, rounds.max(1)).await
        }
    }
}

/// Connects, migrates and generates the demo at `scale` if the database is empty.
async fn seeded(url: &str, scale: Scale, today: chrono::NaiveDate) -> anyhow::Result<Db> {
    let db = Db::connect(url, 4).await?;
    db.migrate().await?;
    let started = Instant::now();
    if let Some(report) =
        demo::seed_if_empty(&db, &DemoOptions::ending_before(scale, today)).await?
    {
        print_report(&report);
        println!("generated in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(db)
}

async fn bench_proposals(db: &Db) -> anyhow::Result<()> {
    use domain::replenishment::propose;
    use server::store::replenishment as repl;

    let started = Instant::now();
    let policy = repl::policy(&db.pool).await?;
    let inputs = repl::proposal_inputs(&db.pool).await?;
    let loaded = started.elapsed();
    let computing = Instant::now();
    let (mut lines, mut ordering, mut cut, mut cartons) = (0_usize, 0_usize, 0_usize, 0_i64);
    for (_, class, settings) in &inputs.retailers {
        let rules = inputs.rules.get(class).map(Vec::as_slice).unwrap_or(&[]);
        let total_cap = inputs.total_caps.get(class).copied().flatten();
        let proposal = propose(settings, rules, total_cap, &policy);
        lines += proposal.len();
        ordering += usize::from(proposal.iter().any(|l| l.quantity > 0));
        cut += proposal.iter().filter(|l| l.cut_off() > 0).count();
        cartons += proposal.iter().map(|l| l.quantity).sum::<i64>();
    }
    let computed = computing.elapsed();
    let retailers = inputs.retailers.len();
    println!("proposals: {retailers} retailers, {lines} spec lines, {ordering} retailers ordering, {cut} lines cut by a cap, {cartons} cartons proposed");
    println!(
        "load from database: {:.0} ms; compute: {:.0} ms ({:.2} µs per retailer, {:.0} retailers/s); total {:.0} ms",
        loaded.as_secs_f64() * 1e3,
        computed.as_secs_f64() * 1e3,
        computed.as_secs_f64() * 1e6 / retailers.max(1) as f64,
        retailers as f64 / computed.as_secs_f64().max(1e-9),
        started.elapsed().as_secs_f64() * 1e3,
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
            println!(
                "peak memory (VmHWM): {}",
                line.trim_start_matches("VmHWM:").trim()
            );
        }
    }
    Ok(())
}

fn print_report(report: &demo::DemoReport) {
    println!(
        "演示数据 / demo data: {} retailers, {} specs, {} monthly order rows, {:.1} cases (箱) a week",
        report.retailers, report.specs, report.order_rows, report.weekly_cases
    );
    println!(
        "演示账号 / demo accounts (password {}):",
        demo::DEMO_PASSWORD
    );
    for account in &report.accounts {
        println!(
            "  {:<10} {}",
            account.login,
            account.role.label(domain::Lang::Zh)
        );
    }
}
