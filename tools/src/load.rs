//! `tools load`: a soak run against real server processes on loopback.
//!
//! Customer managers save draft cells in batches, marketing-center readers
//! open the dashboard and retailers save their replenishment settings, all
//! at once for a fixed time. Afterwards every acknowledged write is looked
//! up in the database: each must be there exactly once, with its value.
//!
//! The servers are child processes of this command (`server serve`, the
//! binary built beside this one: `cargo build -p server -p tools`), so
//! their memory can be read apart from the load generator's and one, two
//! or more of them can share the database. Each user's requests go to the
//! processes in turn, so a session made on one is used on the others.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use domain::auth::SessionInfo;
use domain::forecast::default_month;
use domain::forecast::view::{CellWrite, SaveCellsRequest, SaveCellsResponse, SheetView};
use domain::replenishment::{RetailerSettingsView, SaveSettingsRequest};
use rand::{Rng, SeedableRng};
use sqlx::Row;

use server::db::{now_unix, Db};
use server::store::forecast as store;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub duration: Duration,
    pub cms: usize,
    pub readers: usize,
    pub retailers: usize,
    /// Server processes sharing the database.
    pub processes: usize,
    /// Cells per save of a customer manager.
    pub batch: usize,
    /// Mean pause between one user's requests, per kind of user.
    pub cm_think: Duration,
    pub reader_think: Duration,
    pub retailer_think: Duration,
    /// A customer manager opens its sheet again after one save in this
    /// many, at random (as after a break or from another device), 0 never;
    /// the opens are timed under the load.
    pub cm_reopen_every: usize,
}

const SAVE_CELLS: &str = "PUT /api/forecast/cycles/{id}/sheet/cells";
const DASHBOARD: &str = "GET /api/forecast/cycles/{id}/dashboard";
const SAVE_SETTINGS: &str = "PUT /api/replenishment/retailers/{id}/settings";
const LOGIN: &str = "POST /api/auth/login";
const OPEN_SHEET: &str = "GET /api/forecast/cycles/{id}/sheet";
const OPEN_SETTINGS: &str = "GET /api/replenishment/retailers/{id}";

/// Latencies and failures of one route.
#[derive(Debug, Default)]
struct RouteStats {
    latencies: Vec<Duration>,
    /// Answers other than 2xx, by status (0: no answer).
    failures: BTreeMap<u16, usize>,
}

#[derive(Debug, Default)]
struct Stats(BTreeMap<&'static str, RouteStats>);

impl Stats {
    fn record(&mut self, route: &'static str, took: Duration, status: u16) {
        let entry = self.0.entry(route).or_default();
        entry.latencies.push(took);
        if !(200..300).contains(&status) {
            *entry.failures.entry(status).or_default() += 1;
        }
    }

    fn merge(&mut self, other: Stats) {
        for (route, stats) in other.0 {
            let entry = self.0.entry(route).or_default();
            entry.latencies.extend(stats.latencies);
            for (status, n) in stats.failures {
                *entry.failures.entry(status).or_default() += n;
            }
        }
    }
}

/// The rank-based percentile of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One signed-in user: a cookie jar and the session's CSRF token. Requests
/// go to the server processes in turn.
struct User {
    client: reqwest::Client,
    csrf: String,
    bases: Arc<Vec<String>>,
    turn: usize,
}

impl User {
    async fn sign_in(
        bases: Arc<Vec<String>>,
        first: usize,
        login: &str,
        stats: &mut Stats,
    ) -> anyhow::Result<User> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .pool_max_idle_per_host(1)
            // Requests rotate over the processes, so a user kept an idle
            // connection to each: 9,000 users and 4 processes were 36,000
            // sockets, past this process's limit of open files (20,000
            // here), and requests failed unanswered. A connection idle for
            // 5 s is closed; the next request opens another.
            .pool_idle_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build()?;
        let mut user = User {
            client,
            csrf: String::new(),
            bases,
            turn: first,
        };
        // One account from one address may have at most five sign-ins
        // counted at once (the lockout's reservation, `login_attempts`):
        // readers sharing the center's account that meet a full count
        // (423) try again a moment later, as a person would.
        let mut tries = 0;
        let answer = loop {
            let started = Instant::now();
            let url = user.url("/api/auth/login");
            let answer = user
                .client
                .post(url)
                .json(
                    &serde_json::json!({ "login": login, "password": crate::demo::DEMO_PASSWORD }),
                )
                .send()
                .await?;
            stats.record(LOGIN, started.elapsed(), answer.status().as_u16());
            tries += 1;
            if answer.status() != reqwest::StatusCode::LOCKED || tries >= 20 {
                break answer;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let info: SessionInfo = answer
            .error_for_status()
            .with_context(|| format!("signing in as {login}"))?
            .json()
            .await?;
        user.csrf = info.csrf_token;
        Ok(user)
    }

    /// The next server process's address for `path`.
    fn url(&mut self, path: &str) -> String {
        let base = &self.bases[self.turn % self.bases.len()];
        self.turn += 1;
        format!("{base}{path}")
    }

    fn get(&mut self, path: &str) -> reqwest::RequestBuilder {
        let url = self.url(path);
        self.client.get(url)
    }

    fn put(&mut self, path: &str) -> reqwest::RequestBuilder {
        let url = self.url(path);
        self.client.put(url)
    }

    /// Sends a request and records it; `None` when no answer came.
    async fn send(
        &mut self,
        stats: &mut Stats,
        route: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Option<(u16, bytes::Bytes)> {
        let started = Instant::now();
        let answer = async {
            let response = request.header("x-csrf-token", &self.csrf).send().await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.bytes().await?))
        }
        .await;
        let status = answer.as_ref().map(|(s, _)| *s).unwrap_or(0);
        stats.record(route, started.elapsed(), status);
        answer.ok()
    }
}

/// A pause of about `mean` (half to one and a half times it), never past
/// the end of the run.
async fn think(rng: &mut impl Rng, mean: Duration, until: Instant) {
    if mean.is_zero() {
        return;
    }
    let pause = mean.mul_f64(rng.gen_range(0.5..1.5));
    let left = until.saturating_duration_since(Instant::now());
    tokio::time::sleep(pause.min(left)).await;
}

/// What a customer-manager user had acknowledged: per cell, the last value
/// and how many saves of it were answered 200.
#[derive(Debug, Default)]
struct CellLedger {
    sheet_id: i64,
    /// (retailer, spec) → (value, acknowledged saves)
    acked: HashMap<(i64, i64), (i64, i64)>,
    /// Cells of a save that got no answer: their outcome is unknown.
    unknown: std::collections::HashSet<(i64, i64)>,
    saves: usize,
}

/// A customer manager working through their share of the sheet's cells.
async fn customer_manager(
    mut user: User,
    cycle_id: i64,
    sheet: Arc<SheetView>,
    (part, parts): (usize, usize),
    options: Arc<LoadOptions>,
    until: Instant,
    seed: u64,
) -> anyhow::Result<(Stats, CellLedger)> {
    let mut stats = Stats::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sheet_path = format!("/api/forecast/cycles/{cycle_id}/sheet");
    let specs = sheet.specs.len();
    let mine: Vec<usize> = (0..sheet.rows.len() * specs)
        .filter(|c| c % parts == part)
        .collect();
    let mut revision = sheet.revision.clone();
    let mut ledger = CellLedger {
        sheet_id: sheet.sheet_id,
        ..CellLedger::default()
    };
    if mine.is_empty() {
        return Ok((stats, ledger));
    }
    let key = |c: usize| {
        (
            sheet.rows[c / specs].retailer_id,
            sheet.specs[c % specs].spec_id,
        )
    };
    let save_path = format!("/api/forecast/cycles/{cycle_id}/sheet/cells");
    let mut next = 0;
    think(&mut rng, options.cm_think, until).await;
    while Instant::now() < until {
        let batch: Vec<usize> = (0..options.batch.min(mine.len()))
            .map(|k| mine[(next + k) % mine.len()])
            .collect();
        next += batch.len();
        let cells: Vec<CellWrite> = batch
            .iter()
            .map(|&c| {
                let (retailer_id, spec_id) = key(c);
                CellWrite {
                    retailer_id,
                    spec_id,
                    value: Some(rng.gen_range(0..=sheet.bound[c].min(40))),
                    reason: None,
                    base_revision: revision[c],
                }
            })
            .collect();
        let request = user.put(&save_path).json(&SaveCellsRequest {
            cells: cells.clone(),
        });
        match user.send(&mut stats, SAVE_CELLS, request).await {
            Some((200, body)) => {
                let saved: SaveCellsResponse = serde_json::from_slice(&body)?;
                ledger.saves += 1;
                for ((&c, cell), new) in batch.iter().zip(&cells).zip(saved.revisions) {
                    revision[c] = new;
                    let entry = ledger.acked.entry(key(c)).or_default();
                    *entry = (cell.value.unwrap_or_default(), entry.1 + 1);
                }
            }
            Some((status, _)) if (400..500).contains(&status) => {
                // Refused: nothing stored. Re-read the revisions before going on.
                let request = user.get(&sheet_path);
                if let Some((200, body)) = user.send(&mut stats, OPEN_SHEET, request).await {
                    revision = serde_json::from_slice::<SheetView>(&body)?.revision;
                }
            }
            _ => {
                ledger.unknown.extend(batch.iter().map(|&c| key(c)));
                let request = user.get(&sheet_path);
                if let Some((200, body)) = user.send(&mut stats, OPEN_SHEET, request).await {
                    revision = serde_json::from_slice::<SheetView>(&body)?.revision;
                }
            }
        }
        // At random, on average once every `cm_reopen_every` saves, so
        // that the opens spread over the run instead of coming together.
        if options.cm_reopen_every > 0
            && rng.gen_range(0..options.cm_reopen_every) == 0
            && Instant::now() < until
        {
            let request = user.get(&sheet_path);
            if let Some((200, body)) = user.send(&mut stats, OPEN_SHEET, request).await {
                revision = serde_json::from_slice::<SheetView>(&body)?.revision;
            }
        }
        think(&mut rng, options.cm_think, until).await;
    }
    Ok((stats, ledger))
}

/// A marketing-center reader opening the dashboard again and again.
async fn reader(
    mut user: User,
    cycle_id: i64,
    options: Arc<LoadOptions>,
    until: Instant,
    seed: u64,
) -> anyhow::Result<Stats> {
    let mut stats = Stats::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let path = format!("/api/forecast/cycles/{cycle_id}/dashboard");
    think(&mut rng, options.reader_think, until).await;
    while Instant::now() < until {
        let request = user.get(&path);
        user.send(&mut stats, DASHBOARD, request).await;
        think(&mut rng, options.reader_think, until).await;
    }
    Ok(stats)
}

/// What a retailer had acknowledged.
#[derive(Debug, Default)]
struct SettingsLedger {
    retailer_id: i64,
    spec_id: i64,
    first_version: i64,
    /// The version and stock of the last acknowledged save.
    last: Option<(i64, i64)>,
    saves: i64,
    unknown: bool,
}

/// A retailer changing the stock of one spec and saving, again and again.
async fn retailer(
    mut user: User,
    retailer_id: i64,
    view: RetailerSettingsView,
    options: Arc<LoadOptions>,
    until: Instant,
    seed: u64,
) -> anyhow::Result<(Stats, SettingsLedger)> {
    let mut stats = Stats::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let path = format!("/api/replenishment/retailers/{retailer_id}");
    let mut settings = view.settings;
    let Some(first) = settings.first() else {
        bail!("retailer {retailer_id} has no settings to change");
    };
    let mut ledger = SettingsLedger {
        retailer_id,
        spec_id: first.spec_id,
        first_version: view.version,
        ..SettingsLedger::default()
    };
    let mut version = view.version;
    let save_path = format!("{path}/settings");
    think(&mut rng, options.retailer_think, until).await;
    while Instant::now() < until {
        // A new stock figure every time, so every save changes one value.
        let stock = (settings[0].stock.get() + 1) % 1_000;
        settings[0].stock = domain::quantity::Cartons::new(stock)?;
        let request = user.put(&save_path).json(&SaveSettingsRequest {
            version,
            settings: settings.clone(),
        });
        match user.send(&mut stats, SAVE_SETTINGS, request).await {
            Some((200, body)) => {
                let saved: RetailerSettingsView = serde_json::from_slice(&body)?;
                version = saved.version;
                ledger.saves += 1;
                ledger.last = Some((version, stock));
            }
            answer => {
                ledger.unknown |= !matches!(answer, Some((400..=499, _)));
                let request = user.get(&path);
                if let Some((200, body)) = user.send(&mut stats, OPEN_SETTINGS, request).await {
                    let view: RetailerSettingsView = serde_json::from_slice(&body)?;
                    version = view.version;
                    settings = view.settings;
                }
            }
        }
        think(&mut rng, options.retailer_think, until).await;
    }
    Ok((stats, ledger))
}

/// A server child process and where it writes its log.
struct ServerProcess {
    child: Child,
    base: String,
    log: PathBuf,
}

impl ServerProcess {
    fn start(database_url: &str, dir: &Path, index: usize) -> anyhow::Result<ServerProcess> {
        // Take a free port from the system, then hand it to the child.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let bind = SocketAddr::from(([127, 0, 0, 1], port));
        let log = dir.join(format!("server-{index}.log"));
        let file = std::fs::File::create(&log)?;
        let child = Command::new(server_binary()?)
            .args(["--database-url", database_url, "serve", "--no-backup"])
            .arg("--bind")
            .arg(bind.to_string())
            .arg("--static-dir")
            .arg(dir)
            .env("RUST_LOG", "warn")
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .context("starting a server process")?;
        Ok(ServerProcess {
            child,
            base: format!("http://{bind}"),
            log,
        })
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the server process exited ({status}); its log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if let Ok(answer) = client.get(format!("{}/api/health", self.base)).send().await {
                if answer.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the server at {} did not become ready", self.base)
    }

    /// (current, peak) resident memory in KiB, from /proc.
    fn memory(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The cycle the customer managers write into: opened fresh on every run
/// (a month no real cycle takes), over every retailer and 60 specs.
async fn fresh_draft_cycle(db: &Db) -> anyhow::Result<i64> {
    let month = default_month(server::clock::today()).plus(61);
    if let Some(id) = crate::bench::cycle_at(db, month).await? {
        crate::bench::drop_cycle(db, id).await?;
    }
    let (input, center) = crate::bench::every_retailer_cycle(db, month).await?;
    let mut conn = db.pool.acquire().await?;
    let mut tx = db.begin(&mut conn).await?;
    let id = store::open_cycle(&mut tx, &input, center, now_unix())
        .await?
        .map_err(|_| anyhow::anyhow!("month {month} is taken"))?;
    tx.commit().await?;
    drop(conn);
    stored_baselines_for(db, month).await?;
    Ok(id)
}

/// A real cycle is for one of the months the stored baselines cover, and
/// its sheets read them. The load's cycle is years ahead (so that it never
/// takes a real cycle's month): the baselines of the last stored month are
/// stored for it too, so its sheets open as a real cycle's do. A run the
/// demo queued is run here first (as the first server start would), not
/// under the load.
async fn stored_baselines_for(db: &Db, month: domain::month::YearMonth) -> anyhow::Result<()> {
    let started = Instant::now();
    let runner = server::service::baselines::Runner::new(db.clone());
    // A demo the benchmark generated itself has none stored and none
    // queued: compute them as a server's first start would, or every sheet
    // would compute its own from the history when opened.
    let months: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM baseline_months")
        .fetch_one(&db.pool)
        .await?;
    if months == 0 {
        runner
            .queue(domain::forecast::stored::RunSource::Start, None)
            .await?;
    }
    loop {
        runner.drain().await?;
        // A run another process left (a benchmark that ended mid-run) is
        // taken over once its heartbeat is a minute old.
        let active: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM baseline_runs WHERE status IN ('queued', 'running')",
        )
        .fetch_one(&db.pool)
        .await?;
        if active == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    if started.elapsed() > Duration::from_secs(1) {
        println!(
            "stored baselines computed first in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let month = month.to_string();
    let mut conn = db.pool.acquire().await?;
    let mut tx = db.begin(&mut conn).await?;
    let from: Option<String> =
        sqlx::query_scalar("SELECT MAX(month) FROM baseline_months WHERE month < $1")
            .bind(&month)
            .fetch_one(&mut *tx)
            .await?;
    let Some(from) = from else {
        println!("no stored baselines: the load's sheets compute theirs when opened");
        return Ok(());
    };
    for sql in [
        "DELETE FROM baselines WHERE month = $1",
        "DELETE FROM baseline_months WHERE month = $1",
    ] {
        sqlx::query(sql).bind(&month).execute(&mut *tx).await?;
    }
    for sql in [
        "INSERT INTO baselines (month, retailer_id, spec_id, cartons, low, high, method, history_through) \
         SELECT $1, retailer_id, spec_id, cartons, low, high, method, history_through FROM baselines WHERE month = $2",
        "INSERT INTO baseline_months (month, history_through, run_id, computed_at, series) \
         SELECT $1, history_through, run_id, computed_at, series FROM baseline_months WHERE month = $2",
    ] {
        sqlx::query(sql)
            .bind(&month)
            .bind(&from)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The customer managers with a sheet in `cycle`, by id.
async fn managers_with_sheets(db: &Db, cycle: i64) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT u.login FROM users u WHERE u.role = 'customer_manager' \
         AND EXISTS (SELECT 1 FROM forecast_sheets s WHERE s.cycle_id = $1 AND s.manager_id = u.id) ORDER BY u.id",
    )
    .bind(cycle)
    .fetch_all(&db.pool)
    .await?)
}

/// Sign-ins for `wanted` retailers that joined online replenishment and
/// have settings: the demo has one per customer manager, so the rest get
/// one with the demo password.
async fn retailer_logins(db: &Db, wanted: usize) -> anyhow::Result<Vec<(String, i64)>> {
    let query =
        "SELECT u.login, u.retailer_id FROM users u JOIN retailers r ON r.id = u.retailer_id \
                 WHERE u.role = 'retailer' AND r.online_replenishment = 1 \
                 AND EXISTS (SELECT 1 FROM retailer_specs s WHERE s.retailer_id = r.id) \
                 ORDER BY r.id LIMIT $1";
    let have = sqlx::query(query)
        .bind(wanted as i64)
        .fetch_all(&db.pool)
        .await?;
    if have.len() < wanted {
        let hash: String =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE login = 'center'")
                .fetch_one(&db.pool)
                .await?;
        sqlx::query(
            "INSERT INTO users (id, login, display_name, role, org_unit_id, retailer_id, password_hash, created_at) \
             SELECT (SELECT MAX(id) FROM users) + ROW_NUMBER() OVER (ORDER BY r.id), r.licence_no, \
                    r.name, 'retailer', r.market_unit_id, r.id, $1, $2 \
             FROM retailers r WHERE r.online_replenishment = 1 \
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.retailer_id = r.id) \
             AND EXISTS (SELECT 1 FROM retailer_specs s WHERE s.retailer_id = r.id) \
             ORDER BY r.id LIMIT $3",
        )
        .bind(hash)
        .bind(now_unix())
        .bind((wanted - have.len()) as i64)
        .execute(&db.pool)
        .await?;
    }
    let rows = sqlx::query(query)
        .bind(wanted as i64)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Signs in `logins` with at most `parallel` sign-ins at a time (each is an
/// Argon2 check), spreading users over the processes.
async fn sign_in_all(
    bases: &Arc<Vec<String>>,
    logins: &[String],
    stats: &mut Stats,
) -> anyhow::Result<Vec<User>> {
    let mut users = Vec::with_capacity(logins.len());
    for chunk in logins.chunks(8).enumerate() {
        let (c, chunk) = chunk;
        let tasks: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(k, login)| {
                let bases = bases.clone();
                let login = login.clone();
                let first = c * 8 + k;
                tokio::spawn(async move {
                    let mut stats = Stats::default();
                    let user = User::sign_in(bases, first, &login, &mut stats).await;
                    (user, stats)
                })
            })
            .collect();
        for task in tasks {
            let (user, s) = task.await?;
            stats.merge(s);
            users.push(user?);
        }
    }
    Ok(users)
}

/// Has each user GET its path (at most 8 at a time) before the clock
/// starts: what a user reads once when they open the page.
async fn open_each<T: serde::de::DeserializeOwned + Send + 'static>(
    users: Vec<(User, String)>,
    route: &'static str,
    stats: &mut Stats,
) -> anyhow::Result<Vec<(User, T)>> {
    let mut opened = Vec::with_capacity(users.len());
    let mut users = users.into_iter();
    loop {
        let chunk: Vec<_> = users.by_ref().take(8).collect();
        if chunk.is_empty() {
            return Ok(opened);
        }
        let tasks: Vec<_> = chunk
            .into_iter()
            .map(|(mut user, path)| {
                tokio::spawn(async move {
                    let mut stats = Stats::default();
                    let request = user.get(&path);
                    let answer = user.send(&mut stats, route, request).await;
                    (user, path, answer, stats)
                })
            })
            .collect();
        for task in tasks {
            let (user, path, answer, s) = task.await?;
            stats.merge(s);
            match answer {
                Some((200, body)) => opened.push((user, serde_json::from_slice(&body)?)),
                Some((status, _)) => bail!("GET {path} answered {status}"),
                None => bail!("GET {path} got no answer"),
            }
        }
    }
}

/// Runs the load and the check; fails if any acknowledged write is missing,
/// doubled or wrong.
pub async fn run(db: &Db, database_url: &str, options: LoadOptions) -> anyhow::Result<()> {
    let options = Arc::new(options);
    let started = Instant::now();
    let dashboard_cycle = crate::bench::dashboard_cycle(db).await?;
    let draft_cycle = fresh_draft_cycle(db).await?;
    // As autovacuum would after the bulk writes above.
    db.analyze().await?;
    let managers = managers_with_sheets(db, draft_cycle).await?;
    if managers.is_empty() {
        bail!("no customer manager has a sheet; generate the demo first");
    }
    let shops = retailer_logins(db, options.retailers).await?;
    let retailers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retailers")
        .fetch_one(&db.pool)
        .await?;
    println!(
        "data: {retailers} retailers, {} customer managers with sheets; dashboard cycle {dashboard_cycle}, draft cycle {draft_cycle}; prepared in {:.1} s",
        managers.len(),
        started.elapsed().as_secs_f64()
    );

    let dir = tempfile_dir()?;
    let mut servers = Vec::new();
    for index in 0..options.processes.max(1) {
        servers.push(ServerProcess::start(database_url, &dir, index)?);
    }
    for server in &mut servers {
        server.wait_ready().await?;
    }
    let bases = Arc::new(servers.iter().map(|s| s.base.clone()).collect::<Vec<_>>());
    println!("{} server process(es): {}", servers.len(), bases.join(", "));

    // Sign everyone in before the clock starts.
    let signing = Instant::now();
    let mut setup = Stats::default();
    let cm_logins: Vec<String> = (0..options.cms)
        .map(|i| managers[i % managers.len()].clone())
        .collect();
    let cm_users = sign_in_all(&bases, &cm_logins, &mut setup).await?;
    let reader_logins = vec!["center".to_string(); options.readers];
    let reader_users = sign_in_all(&bases, &reader_logins, &mut setup).await?;
    let shop_logins: Vec<String> = shops.iter().map(|(l, _)| l.clone()).collect();
    let shop_users = sign_in_all(&bases, &shop_logins, &mut setup).await?;
    println!(
        "signed in {} users in {:.1} s ({} customer managers on {} accounts, {} readers, {} retailers)",
        cm_users.len() + reader_users.len() + shop_users.len(),
        signing.elapsed().as_secs_f64(),
        cm_users.len(),
        managers.len().min(options.cms),
        reader_users.len(),
        shop_users.len(),
    );

    // Open the pages before the clock starts: each account's sheet once
    // (shared by the users splitting it), each retailer's settings.
    let opening = Instant::now();
    let mut cm_users = cm_users.into_iter();
    let firsts: Vec<(User, String)> = cm_users
        .by_ref()
        .take(managers.len())
        .map(|u| (u, format!("/api/forecast/cycles/{draft_cycle}/sheet")))
        .collect();
    let opened: Vec<(User, SheetView)> = open_each(firsts, OPEN_SHEET, &mut setup).await?;
    let mut sheets = Vec::new();
    let mut cm_users: Vec<User> = {
        let mut all = Vec::new();
        for (user, sheet) in opened {
            all.push(user);
            sheets.push(Arc::new(sheet));
        }
        all.extend(cm_users);
        all
    };
    let shop_paths: Vec<(User, String)> = shop_users
        .into_iter()
        .zip(&shops)
        .map(|(u, (_, id))| (u, format!("/api/replenishment/retailers/{id}")))
        .collect();
    let shop_users: Vec<(User, RetailerSettingsView)> =
        open_each(shop_paths, OPEN_SETTINGS, &mut setup).await?;
    println!(
        "opened {} sheets and {} retailers' settings in {:.1} s",
        sheets.len(),
        shop_users.len(),
        opening.elapsed().as_secs_f64()
    );
    for (i, server) in servers.iter().enumerate() {
        if let Some((rss, hwm)) = server.memory() {
            println!(
                "server process {i} after sign-ins and opening: RSS {:.0} MiB (peak {:.0} MiB)",
                rss as f64 / 1024.0,
                hwm as f64 / 1024.0
            );
        }
    }

    let began = Instant::now();
    let until = began + options.duration;
    // Rows written from here on are this run's (ids, not times: a second
    // run can start within the same second as the last one's writes).
    let after: (i64, i64) = (
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM audit_log")
            .fetch_one(&db.pool)
            .await?,
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM settings_changes")
            .fetch_one(&db.pool)
            .await?,
    );
    let mut cm_tasks = Vec::new();
    for (i, user) in cm_users.drain(..).enumerate() {
        // Users sharing an account split its sheet's cells between them.
        let account = i % managers.len();
        let parts = (options.cms - account).div_ceil(managers.len());
        let part = i / managers.len();
        cm_tasks.push(tokio::spawn(customer_manager(
            user,
            draft_cycle,
            sheets[account].clone(),
            (part, parts),
            options.clone(),
            until,
            i as u64,
        )));
    }
    let reader_tasks: Vec<_> = reader_users
        .into_iter()
        .enumerate()
        .map(|(i, user)| {
            tokio::spawn(reader(
                user,
                dashboard_cycle,
                options.clone(),
                until,
                10_000 + i as u64,
            ))
        })
        .collect();
    let shop_tasks: Vec<_> = shop_users
        .into_iter()
        .zip(&shops)
        .enumerate()
        .map(|(i, ((user, view), (_, id)))| {
            tokio::spawn(retailer(
                user,
                *id,
                view,
                options.clone(),
                until,
                20_000 + i as u64,
            ))
        })
        .collect();

    // Sample the servers' memory while the load runs, and print it every
    // 10 s.
    let mut peak_rss = vec![0_u64; servers.len()];
    let print_rss = |at: &str, servers: &[ServerProcess]| {
        let now: Vec<String> = servers
            .iter()
            .map(|s| {
                s.memory().map_or("?".to_string(), |(rss, _)| {
                    format!("{:.0} MiB", rss as f64 / 1024.0)
                })
            })
            .collect();
        println!("RSS {at}: {}", now.join(" + "));
    };
    print_rss("at the start of the load", &servers);
    let mut next_print = began + Duration::from_secs(10);
    while Instant::now() < until {
        for (s, server) in servers.iter().enumerate() {
            if let Some((rss, _)) = server.memory() {
                peak_rss[s] = peak_rss[s].max(rss);
            }
        }
        if Instant::now() >= next_print {
            print_rss(&format!("at {:>3} s", began.elapsed().as_secs()), &servers);
            next_print += Duration::from_secs(10);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut stats = Stats::default();
    let mut cells = Vec::new();
    for task in cm_tasks {
        let (s, ledger) = task.await??;
        stats.merge(s);
        cells.push(ledger);
    }
    for task in reader_tasks {
        stats.merge(task.await??);
    }
    let mut settings = Vec::new();
    for task in shop_tasks {
        let (s, ledger) = task.await??;
        stats.merge(s);
        settings.push(ledger);
    }
    let elapsed = began.elapsed();
    let memory: Vec<_> = servers.iter().map(ServerProcess::memory).collect();
    drop(servers);

    print_stats(&setup, &stats, elapsed, &peak_rss, &memory);
    verify(db, draft_cycle, after, &cells, &settings).await
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tobacco-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("index.html"), "<!doctype html>")?;
    Ok(dir)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn print_stats(
    setup: &Stats,
    stats: &Stats,
    elapsed: Duration,
    peak_rss: &[u64],
    memory: &[Option<(u64, u64)>],
) {
    let seconds = elapsed.as_secs_f64();
    let total: usize = stats.0.values().map(|s| s.latencies.len()).sum();
    let failed: usize = stats.0.values().flat_map(|s| s.failures.values()).sum();
    println!(
        "ran {seconds:.1} s: {total} requests, {:.1} requests/s, {failed} errors",
        total as f64 / seconds
    );
    println!(
        "{:<48} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}  errors",
        "route", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let rows = setup
        .0
        .iter()
        .map(|(r, s)| (true, r, s))
        .chain(stats.0.iter().map(|(r, s)| (false, r, s)));
    for (is_setup, route, s) in rows {
        let mut sorted = s.latencies.clone();
        sorted.sort();
        let rate = if is_setup {
            "setup".to_string()
        } else {
            format!("{:.1}", sorted.len() as f64 / seconds)
        };
        let errors = if s.failures.is_empty() {
            "0".to_string()
        } else {
            s.failures
                .iter()
                .map(|(status, n)| format!("{n}×{status}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "{route:<48} {:>8} {rate:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}  {errors}",
            sorted.len(),
            ms(percentile(&sorted, 50.0)),
            ms(percentile(&sorted, 95.0)),
            ms(percentile(&sorted, 99.0)),
            ms(sorted.last().copied().unwrap_or_default()),
        );
    }
    for (s, (peak, now)) in peak_rss.iter().zip(memory).enumerate() {
        let (rss, hwm) = now.unwrap_or_default();
        println!(
            "server process {s}: RSS {:.1} MiB at the end, {:.1} MiB at most while sampled, peak (VmHWM) {:.1} MiB",
            rss as f64 / 1024.0,
            *peak as f64 / 1024.0,
            hwm as f64 / 1024.0
        );
    }
}

/// Every acknowledged write is stored exactly once with its value; nothing
/// unacknowledged is stored.
async fn verify(
    db: &Db,
    cycle_id: i64,
    (audit_after, changes_after): (i64, i64),
    cells: &[CellLedger],
    settings: &[SettingsLedger],
) -> anyhow::Result<()> {
    let mut problems = Vec::new();

    // Cells: one line per (sheet, retailer, spec); value = the last
    // acknowledged; revision = the number of acknowledged saves.
    let mut expected: HashMap<(i64, i64, i64), (i64, i64)> = HashMap::new();
    let mut unknown = std::collections::HashSet::new();
    let mut saves_by_sheet: HashMap<i64, usize> = HashMap::new();
    for ledger in cells {
        *saves_by_sheet.entry(ledger.sheet_id).or_default() += ledger.saves;
        for (&(r, s), &v) in &ledger.acked {
            expected.insert((ledger.sheet_id, r, s), v);
        }
        unknown.extend(ledger.unknown.iter().map(|&(r, s)| (ledger.sheet_id, r, s)));
    }
    let rows = sqlx::query(
        "SELECT l.sheet_id, l.retailer_id, l.spec_id, l.entered, l.revision, COUNT(*) OVER \
         (PARTITION BY l.sheet_id, l.retailer_id, l.spec_id) FROM forecast_lines l \
         JOIN forecast_sheets s ON s.id = l.sheet_id WHERE s.cycle_id = $1",
    )
    .bind(cycle_id)
    .fetch_all(&db.pool)
    .await?;
    let mut seen = 0;
    for row in &rows {
        let key: (i64, i64, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        let (value, revision, copies): (Option<i64>, i64, i64) =
            (row.try_get(3)?, row.try_get(4)?, row.try_get(5)?);
        if copies != 1 {
            problems.push(format!("cell {key:?} is stored {copies} times"));
        }
        match expected.get(&key) {
            Some(&(want, saves)) => {
                seen += 1;
                let settled = !unknown.contains(&key);
                if settled && (value != Some(want) || revision != saves) {
                    problems.push(format!(
                        "cell {key:?}: stored {value:?} at revision {revision}, acknowledged {want} after {saves} saves"
                    ));
                }
            }
            None if unknown.contains(&key) => {}
            None => problems.push(format!("cell {key:?} is stored but was never acknowledged")),
        }
    }
    if seen != expected.len() {
        problems.push(format!(
            "{} acknowledged cells are missing",
            expected.len() - seen
        ));
    }
    let audited: Vec<(i64, i64)> = sqlx::query(
        "SELECT CAST(a.entity_id AS BIGINT), COUNT(*) FROM audit_log a WHERE a.action = 'forecast.cells.save' \
         AND a.id > $1 GROUP BY a.entity_id",
    )
    .bind(audit_after)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect::<sqlx::Result<_>>()?;
    let audited: HashMap<i64, i64> = audited.into_iter().collect();
    let cell_saves: usize = saves_by_sheet.values().sum();
    if unknown.is_empty() {
        for (sheet, &saves) in &saves_by_sheet {
            let logged = audited.get(sheet).copied().unwrap_or(0);
            if logged != saves as i64 {
                problems.push(format!(
                    "sheet {sheet}: {saves} saves acknowledged, {logged} in the audit log"
                ));
            }
        }
    }

    // Settings: version advanced once per acknowledged save, the stock is
    // the last acknowledged, one change row per save.
    let mut settings_saves = 0;
    for ledger in settings {
        settings_saves += ledger.saves;
        let row = sqlx::query(
            "SELECT r.settings_version, s.stock, \
                    (SELECT COUNT(*) FROM settings_changes c WHERE c.retailer_id = r.id AND c.spec_id = $2 \
                     AND c.field = 'stock' AND c.id > $3) \
             FROM retailers r JOIN retailer_specs s ON s.retailer_id = r.id AND s.spec_id = $2 WHERE r.id = $1",
        )
        .bind(ledger.retailer_id)
        .bind(ledger.spec_id)
        .bind(changes_after)
        .fetch_one(&db.pool)
        .await?;
        let (version, stock, changes): (i64, i64, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if ledger.unknown {
            continue;
        }
        if version != ledger.first_version + ledger.saves {
            problems.push(format!(
                "retailer {}: version {version}, expected {} + {} saves",
                ledger.retailer_id, ledger.first_version, ledger.saves
            ));
        }
        if let Some((_, want)) = ledger.last {
            if stock != want {
                problems.push(format!(
                    "retailer {}: stock {stock}, last acknowledged {want}",
                    ledger.retailer_id
                ));
            }
        }
        if changes != ledger.saves {
            problems.push(format!(
                "retailer {}: {changes} stock changes recorded for {} saves",
                ledger.retailer_id, ledger.saves
            ));
        }
    }

    let unsettled = unknown.len() + settings.iter().filter(|l| l.unknown).count();
    println!(
        "check: {} acknowledged cells in {cell_saves} saves, {settings_saves} settings saves by {} retailers; {unsettled} writes without an answer",
        expected.len(),
        settings.len()
    );
    if problems.is_empty() {
        println!("check passed: every acknowledged write is stored exactly once with its value");
        Ok(())
    } else {
        for p in problems.iter().take(20) {
            eprintln!("  {p}");
        }
        bail!("check failed: {} problems", problems.len())
    }
}

/// The `server` binary built beside this one (same target folder and profile).
fn server_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no folder for {}", exe.display()))?;
    let server = dir.join(format!("server{}", std::env::consts::EXE_SUFFIX));
    if !server.exists() {
        bail!(
            "{} is missing: build it first (cargo build -p server -p tools, with the same profile)",
            server.display()
        );
    }
    Ok(server)
}

/// The memory a server process keeps after its customer managers open
/// their full sheets again and again: one process over the database, every
/// manager with a sheet signed in, each sheet of a fresh cycle (every
/// retailer × 60 specs) opened `rounds` times, 8 at a time. Prints the
/// process's resident memory after start, sign-in and each round, and the
/// opens' median.
pub async fn sheet_memory(db: &Db, database_url: &str, rounds: usize) -> anyhow::Result<()> {
    let draft_cycle = fresh_draft_cycle(db).await?;
    db.analyze().await?;
    let managers = managers_with_sheets(db, draft_cycle).await?;
    let cells: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) * (SELECT COUNT(*) FROM forecast_cycle_specs WHERE cycle_id = $1) AS BIGINT) \
         FROM forecast_cycle_retailers WHERE cycle_id = $1",
    )
    .bind(draft_cycle)
    .fetch_one(&db.pool)
    .await?;
    let dir = tempfile_dir()?;
    let mut server = ServerProcess::start(database_url, &dir, 0)?;
    server.wait_ready().await?;
    let rss = |server: &ServerProcess| {
        server.memory().map_or("?".to_string(), |(rss, hwm)| {
            format!(
                "{:.0} MiB (peak {:.0} MiB)",
                rss as f64 / 1024.0,
                hwm as f64 / 1024.0
            )
        })
    };
    println!(
        "{} sheets of cycle {draft_cycle}, {cells} cells in all; server RSS after start: {}",
        managers.len(),
        rss(&server)
    );
    let bases = Arc::new(vec![server.base.clone()]);
    let mut stats = Stats::default();
    let mut users = sign_in_all(&bases, &managers, &mut stats).await?;
    println!("after {} sign-ins: {}", users.len(), rss(&server));
    let path = format!("/api/forecast/cycles/{draft_cycle}/sheet");
    for round in 1..=rounds.max(1) {
        let mut opens = Stats::default();
        let opened: Vec<(User, serde::de::IgnoredAny)> = open_each(
            users.drain(..).map(|u| (u, path.clone())).collect(),
            OPEN_SHEET,
            &mut opens,
        )
        .await?;
        users = opened.into_iter().map(|(u, _)| u).collect();
        let mut took = opens.0.remove(OPEN_SHEET).unwrap_or_default().latencies;
        took.sort();
        println!(
            "round {round}: {} sheets opened (8 at a time), p50 {:.0} ms; server RSS {}",
            took.len(),
            ms(percentile(&took, 50.0)),
            rss(&server)
        );
    }
    Ok(())
}
