//! Command line of the tools: demo data, load run, benchmarks, baseline evaluation.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use server::db::Db;
use tools::demo::{self, DemoOptions, Scale};

#[derive(Parser)]
#[command(
    name = "tools",
    about = "烟草营销 — demo data, load run, benchmarks and baseline tools (not the served binary)"
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
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill an empty database with demo data and print what was made.
    Demo {
        #[arg(long, value_enum, default_value = "county")]
        scale: Scale,
        /// Master data only: organisation, people, retailers, specs and
        /// history with no sign-in and no administrator, as a real
        /// installation starts (then `server create-admin`).
        #[arg(long)]
        no_sign_ins: bool,
        /// Closed forecast cycles for the last months of history, with
        /// approved sheets, corrections and accuracy (default 12; 0 for none).
        #[arg(long)]
        history_cycles: Option<usize>,
    },
    /// Benchmark: give every retailer of the demo at --scale (generated
    /// without sign-ins if the database is empty) a sign-in with a one-time
    /// password in one bulk run, as the administration page does, and print
    /// the time taken and the progress seen on the way.
    BenchAccounts {
        #[arg(long, value_enum, default_value = "city")]
        scale: Scale,
    },
    /// Write the company in the database as the files the import page
    /// takes (units, staff, specs, retailers, history) into --out.
    ExportMasterdata {
        #[arg(long, default_value = "target/masterdata")]
        out: std::path::PathBuf,
    },
    /// Benchmark: export the demo at --scale (generated into the database
    /// if it is empty) as import files, then import them into the empty
    /// database --into through the import service, and print the times.
    BenchImport {
        #[arg(long, value_enum, default_value = "city")]
        scale: Scale,
        /// An empty database to load the files into.
        #[arg(long)]
        into: String,
        #[arg(long, default_value = "target/bench-import")]
        out: std::path::PathBuf,
    },
    /// Benchmark: compute the proposed order of every retailer for its open
    /// order window, netting last week's orders not yet delivered (written
    /// first if there are none), and preview the allocation of a scarce
    /// spec's supply by each rule; each beside the raw SQL loading the same
    /// rows (generating the demo at --scale first if the database is empty).
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
    /// Forecast with the baseline from a CSV of monthly history (a header
    /// row series_id,month,quantity; months YYYY-MM) and write the next
    /// --horizon months of each series, from its own last month, as CSV
    /// (series_id,month,forecast,low,high,method; low–high is the 80 %
    /// interval). No database is used. Bad rows are refused with their line.
    BaselineCsv {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
        #[arg(long, default_value_t = 3)]
        horizon: usize,
        /// Every series runs through this month (YYYY-MM): months without a
        /// row are zero, as in order histories that list only orders.
        /// Without it each series ends at its own last row.
        #[arg(long)]
        through: Option<domain::month::YearMonth>,
        /// Rolling origin: forecast each of the last N months of the file
        /// one month ahead from the months before it (for evaluation).
        #[arg(long, default_value_t = 0)]
        origins: usize,
        #[arg(long, value_enum, default_value = "festival")]
        calendar: tools::baseline_csv::Calendar,
        /// Season length for --calendar own.
        #[arg(long, default_value_t = 12)]
        season: usize,
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
        /// A customer manager opens its sheet again after one save in this
        /// many, at random (timed under the load); 0: never.
        #[arg(long, default_value_t = 20)]
        cm_reopen_every: usize,
    },
    /// Benchmark: the accuracy report of the dashboard benchmark's cycle
    /// and of the latest past cycle, and the review inbox, through the API
    /// beside the raw SQL computing the accuracy from every approved line
    /// (generating the demo at --scale first if the database is empty)
    BenchReports {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, value_enum, default_value = "city")]
        scale: Scale,
    },
    /// Benchmark: the memory a server process keeps after every customer
    /// manager opens a full sheet (every retailer × 60 specs) --rounds
    /// times (generating the demo at --scale first if the database is empty)
    BenchMemory {
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[arg(long, value_enum, default_value = "county")]
        scale: Scale,
    },
    /// Benchmark: the marketing center's dashboard of a cycle with every
    /// line filled (1.8M lines at city scale), through the API and as raw SQL.
    BenchDashboard {
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, value_enum, default_value = "city")]
        scale: Scale,
    },
    /// Benchmark: recompute every stored baseline (系统基线) through the
    /// service as a server does in the background, generating the demo at
    /// --scale first if the database is empty; prints the series, the
    /// time, series/s and the progress seen on the way.
    BenchBaselines {
        #[arg(long, value_enum, default_value = "city")]
        scale: Scale,
    },
    /// Benchmark: the sales and stock analysis pages as the marketing
    /// center, a county department, a market manager and a customer
    /// manager read them (API, from the kept summaries), beside the raw SQL
    /// computing the same figures from the order lines and recorded stock
    /// (generating the demo at --scale first if the database is empty).
    BenchAnalysis {
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
    let today = server::clock::today();
    match cli.command {
        Command::Demo {
            scale,
            no_sign_ins,
            history_cycles,
        } => {
            let started = Instant::now();
            let db = Db::connect(&cli.database_url, 4).await?;
            db.migrate().await?;
            let defaults = DemoOptions::ending_before(scale, today);
            let options = DemoOptions {
                sign_ins: !no_sign_ins,
                history_cycles: history_cycles.unwrap_or(defaults.history_cycles),
                ..defaults
            };
            match demo::seed_if_empty(&db, &options).await? {
                Some(report) => {
                    print_report(&report);
                    println!("generated in {:.1} s", started.elapsed().as_secs_f64());
                    // The server computes them in the background when it starts.
                    server::service::baselines::Runner::new(db.clone())
                        .queue(domain::forecast::stored::RunSource::Demo, None)
                        .await?;
                    println!("系统基线 / system baselines: queued; the server computes them when it starts");
                }
                None => println!("the database already holds data; nothing generated"),
            }
            Ok(())
        }
        Command::BenchAccounts { scale } => {
            let db = Db::connect(&cli.database_url, 8).await?;
            db.migrate().await?;
            let started = Instant::now();
            let options = DemoOptions {
                sign_ins: false,
                history_cycles: 0,
                ..DemoOptions::ending_before(scale, today)
            };
            if let Some(report) = demo::seed_if_empty(&db, &options).await? {
                print_report(&report);
                println!("generated in {:.1} s", started.elapsed().as_secs_f64());
            }
            tools::bench::bench_accounts(db, &cli.database_url).await
        }
        Command::ExportMasterdata { out } => {
            let db = Db::connect(&cli.database_url, 4).await?;
            db.migrate().await?;
            for (path, rows) in tools::export::export(&db, &out).await? {
                println!("{:>10} rows  {}", rows, path.display());
            }
            Ok(())
        }
        Command::BenchImport { scale, into, out } => {
            if out.join("history.csv").exists() {
                println!("reusing the files in {}", out.display());
            } else {
                let source = seeded(&cli.database_url, scale, today).await?;
                let started = Instant::now();
                let files = tools::export::export(&source, &out).await?;
                println!("exported in {:.1} s:", started.elapsed().as_secs_f64());
                for (path, rows) in &files {
                    let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
                    println!(
                        "  {:>10} rows  {:>7.1} MB  {}",
                        rows,
                        bytes as f64 / 1e6,
                        path.display()
                    );
                }
            }
            let target = Db::connect(&into, 8).await?;
            target.migrate().await?;
            let retailers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retailers")
                .fetch_one(&target.pool)
                .await?;
            if retailers > 0 {
                anyhow::bail!("--into must be an empty database");
            }
            let _ = server::service::accounts::bootstrap_admin(
                &target,
                "bench-admin",
                "基准测试管理员",
                "营销中心",
                true,
            )
            .await;
            let state =
                server::AppState::new(target, server::config::Config::local(into.clone())).await?;
            println!(
                "importing into {}:",
                if into.starts_with("postgres") {
                    "PostgreSQL"
                } else {
                    "SQLite"
                }
            );
            let started = Instant::now();
            tools::export::load_company(&state, &out, "bench-admin", "center").await?;
            println!("all files in {:.1} s", started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::BenchProposals { scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            tools::bench_proposals::run(&db).await?;
            tools::bench_allocation::run(&db).await
        }
        Command::BaselineEval { origins, scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            tools::bench::baseline_eval(&db, origins).await
        }
        Command::BaselineCsv {
            input,
            output,
            horizon,
            through,
            origins,
            calendar,
            season,
        } => {
            let options = tools::baseline_csv::Options {
                horizon,
                origins,
                through,
                calendar,
                season,
            };
            let s = tools::baseline_csv::run(&input, &output, &options)?;
            println!(
                "{} series, {} forecasts written to {}",
                s.series,
                s.forecasts,
                output.display()
            );
            // Read by scripts/forecast-eval.sh: time spent forecasting only.
            println!(
                "fit-and-predict: {:.3} s for {} fits ({:.1} µs per fit)",
                s.compute.as_secs_f64(),
                s.forecasts.div_ceil(horizon.max(1)),
                s.compute.as_secs_f64() * 1e6 / s.forecasts.div_ceil(horizon.max(1)).max(1) as f64
            );
            Ok(())
        }
        Command::BenchReports { rounds, scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            tools::bench_reports::run(&db, rounds).await
        }
        Command::BenchMemory { rounds, scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            tools::load::sheet_memory(&db, &cli.database_url, rounds).await
        }
        Command::BenchSheetSave { rounds, scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            tools::bench::bench_sheet_save(&db, &cli.database_url, rounds.max(1)).await
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
            cm_reopen_every,
        } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            let options = tools::load::LoadOptions {
                duration: Duration::from_secs(seconds),
                cms,
                readers,
                retailers,
                processes,
                batch: batch.max(1),
                cm_think: Duration::from_millis(cm_think_ms),
                reader_think: Duration::from_millis(reader_think_ms),
                retailer_think: Duration::from_millis(retailer_think_ms),
                cm_reopen_every,
            };
            tools::load::run(&db, &cli.database_url, options).await
        }
        Command::BenchDashboard { rounds, scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            tools::bench::bench_dashboard(&db, rounds.max(1)).await
        }
        Command::BenchBaselines { scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            tools::bench_baselines::run(&db).await
        }
        Command::BenchAnalysis { rounds, scale } => {
            let db = seeded(&cli.database_url, scale, today).await?;
            tools::bench_analysis::bench_analysis(&db, rounds.max(1)).await
        }
    }
}

/// Connects, migrates and generates the demo at `scale` if the database is
/// empty, without past forecast cycles: the benchmarks measure the same data
/// as before the demo had them (`tools demo` makes them).
async fn seeded(url: &str, scale: Scale, today: chrono::NaiveDate) -> anyhow::Result<Db> {
    let db = Db::connect(url, 4).await?;
    db.migrate().await?;
    let started = Instant::now();
    let options = DemoOptions {
        history_cycles: 0,
        ..DemoOptions::ending_before(scale, today)
    };
    if let Some(report) = demo::seed_if_empty(&db, &options).await? {
        print_report(&report);
        println!("generated in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(db)
}

fn print_report(report: &demo::DemoReport) {
    println!(
        "演示数据 / demo data: {} retailers, {} specs, {} monthly order rows, {:.1} cases (箱) a week",
        report.retailers, report.specs, report.order_rows, report.weekly_cases
    );
    let history = &report.history;
    if history.cycles > 0 {
        print!(
            "预测历史 / past forecasts: {} closed cycles, {} sheets, {} lines, {} corrections",
            history.cycles, history.sheets, history.lines, history.corrections
        );
        match history.latest {
            Some((approved, entered, baseline)) => println!(
                "; latest accuracy: approved {:.1}%, managers {:.1}%, baseline {:.1}%",
                approved * 100.0,
                entered * 100.0,
                baseline * 100.0
            ),
            None => println!(),
        }
    }
    if report.accounts.is_empty() {
        println!("无登录账号 / no sign-ins: run `server create-admin` for the first administrator");
        return;
    }
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
