//! Test support: a real server on a fresh database (SQLite file or a new
//! PostgreSQL database) on port 0, an HTTP client with cookies, and a headless
//! Chromium through chromedriver.

pub mod accounts;
pub mod forecast;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use domain::month::YearMonth;
use server::config::Config;
use server::db::Db;
use server::AppState;
use tools::demo::{DemoOptions, DemoReport};

pub use tools::demo::{Scale, DEMO_PASSWORD};

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server for the PostgreSQL pass, e.g. `postgres://postgres@127.0.0.1:5432/test`.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Whether a test for `backend` can run here; says so when it cannot.
///
/// With `REQUIRE_POSTGRES=1` (as `.ci/run` sets) a PostgreSQL test without
/// `TEST_POSTGRES_URL` fails instead: a pass that skipped its production
/// database is not a pass.
pub fn available(backend: Backend) -> bool {
    if backend == Backend::Postgres && postgres_url().is_none() {
        if std::env::var("REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set: the PostgreSQL pass cannot be skipped here");
        }
        println!("SKIPPED (PostgreSQL): TEST_POSTGRES_URL is not set");
        static SAID: OnceLock<()> = OnceLock::new();
        SAID.get_or_init(|| eprintln!("PostgreSQL pass skipped: TEST_POSTGRES_URL is not set"));
        return false;
    }
    true
}

/// A fresh, empty database; removed when dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite:{}", dir.path().join("test.db").display());
                TestDb {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin = postgres_url().expect("TEST_POSTGRES_URL");
                let name = format!("t_{}", rand::random::<u64>());
                sqlx::any::install_default_drivers();
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap_or(admin.clone());
                TestDb {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl TestDb {
    /// A database the test does not own (e.g. a private cluster's): kept
    /// when dropped.
    pub fn at(url: String) -> TestDb {
        TestDb {
            url,
            _dir: None,
            pg_name: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (Some(name), Some(admin)) = (self.pg_name.take(), postgres_url()) else {
            return;
        };
        // Drop runs inside the test's runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(mut conn) =
                    <sqlx::AnyConnection as sqlx::Connection>::connect(&admin).await
                {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    pub demo: Option<DemoReport>,
    pub db: std::sync::Arc<TestDb>,
}

/// The month the test demo data ends with, fixed so figures do not drift.
pub fn demo_end() -> YearMonth {
    YearMonth::new(2026, 10).expect("valid month")
}

/// The workspace's built browser bundle, or the one `E2E_DIST` names (to
/// run the browser tests against another build, e.g. an older commit's).
pub fn dist_dir() -> PathBuf {
    std::env::var_os("E2E_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(dist_dir_default)
}

/// The workspace's built browser bundle (`dist/`).
pub fn dist_dir_default() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist")
}

/// Starts the real server on port 0 over a fresh database with tiny demo data.
pub async fn spawn_app(backend: Backend) -> TestApp {
    let db = std::sync::Arc::new(TestDb::new(backend).await);
    spawn_app_on(db, Config::local(String::new()), true).await
}

/// The closed forecast cycles of [`spawn_app_with_history`]: a year.
pub const HISTORY_CYCLES: usize = 12;

/// Starts the real server on port 0 over a fresh database with the tiny demo
/// and its past: the [`HISTORY_CYCLES`] months up to [`demo_end`] as closed
/// cycles over every retailer and spec, each manager's sheet approved up the
/// chain (market manager, county, center) with corrections, so accuracy,
/// its trend and each manager's ranking show against the demo's orders
/// (cycle ids 1 to 12, oldest first; the latest is `demo_end()`).
pub async fn spawn_app_with_history(backend: Backend) -> TestApp {
    let db = std::sync::Arc::new(TestDb::new(backend).await);
    spawn_with(
        db,
        Config::local(String::new()),
        Some((Scale::Tiny, HISTORY_CYCLES)),
    )
    .await
}

/// Starts a server on a fresh database filled with the demo at `scale`
/// (without past cycles).
pub async fn spawn_app_scaled(backend: Backend, scale: Scale) -> TestApp {
    let db = std::sync::Arc::new(TestDb::new(backend).await);
    spawn_with(db, Config::local(String::new()), Some((scale, 0))).await
}

/// Starts a server on an existing test database (e.g. a second process on the same one).
pub async fn spawn_app_on(db: std::sync::Arc<TestDb>, config: Config, seed: bool) -> TestApp {
    spawn_with(db, config, seed.then_some((Scale::Tiny, 0))).await
}

/// `seed`: the demo's scale and its past cycles, for an empty database.
async fn spawn_with(
    db: std::sync::Arc<TestDb>,
    config: Config,
    seed: Option<(Scale, usize)>,
) -> TestApp {
    let config = Config {
        database_url: db.url.clone(),
        static_dir: dist_dir(),
        max_connections: 5,
        ..config
    };
    let demo = seed.map(|(scale, history_cycles)| DemoOptions {
        scale,
        end_month: demo_end(),
        seed: 7,
        sign_ins: true,
        history_cycles,
    });
    let state = server::prepare(config).await.expect("server prepares");
    let report = match demo {
        Some(options) => tools::demo::seed_if_empty(&state.db, &options)
            .await
            .expect("demo data"),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let served = state.clone();
    tokio::spawn(async move {
        let _ = server::serve(listener, served, std::future::pending()).await;
    });
    TestApp {
        addr,
        base: format!("http://{addr}"),
        state,
        demo: report,
        db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// A client with its own cookie jar.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client")
    }

    /// Signs in and returns the client and its CSRF token.
    pub async fn sign_in(&self, login: &str) -> (reqwest::Client, String) {
        let client = self.client();
        let response = client
            .post(self.url("/api/auth/login"))
            .json(&serde_json::json!({ "login": login, "password": DEMO_PASSWORD }))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "{login} signs in");
        let info: domain::auth::SessionInfo = response.json().await.expect("session info");
        (client, info.csrf_token)
    }

    /// The licence number of the first demo retailer with a sign-in.
    pub async fn retailer_login(&self, nth: i64) -> String {
        sqlx::query_scalar(
            "SELECT login FROM users WHERE role = 'retailer' ORDER BY id LIMIT 1 OFFSET $1",
        )
        .bind(nth)
        .fetch_one(&self.db().pool)
        .await
        .expect("a demo retailer account")
    }
}

/// A chromedriver process driving a headless Chromium; killed when dropped.
pub struct Browser {
    pub client: fantoccini::Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a fresh headless session.
    pub async fn start() -> Browser {
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let chrome_bin = std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_bin} ({e}); install chromium-driver"));
        let profile = tempfile::tempdir().expect("profile dir");
        let downloads = profile.path().join("downloads");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chrome_bin,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--window-size=375,800",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                // Files the page downloads land here (see `Browser::downloads`).
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                }
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..50 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match fantoccini::ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                    }
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("chromedriver did not answer: {last_error:?}");
    }

    /// Where the browser saves downloaded files.
    pub fn downloads(&self) -> PathBuf {
        self._profile.path().join("downloads")
    }

    /// Ends the browser session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Runs each listed `async fn name(backend: Backend)` as a test on SQLite and,
/// when `TEST_POSTGRES_URL` is set, on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name($crate::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() {
                if $crate::available($crate::Backend::Postgres) { super::$name($crate::Backend::Postgres).await }
            } )*
        }
    };
}

/// A signed-in client with what it needs to write.
pub struct Caller {
    pub client: reqwest::Client,
    pub csrf: String,
    pub info: domain::auth::SessionInfo,
}

pub async fn caller(app: &TestApp, login: &str) -> Caller {
    let (client, csrf) = app.sign_in(login).await;
    caller_of(app, client, csrf).await
}

/// A caller signed in with its own password (not the demo one).
pub async fn caller_with(app: &TestApp, login: &str, password: &str) -> Caller {
    let client = app.client();
    let response = sign_in_with(&client, app, login, password).await;
    assert_eq!(response.status(), 200, "{login} signs in");
    let info: domain::auth::SessionInfo = response.json().await.expect("session info");
    caller_of(app, client, info.csrf_token).await
}

async fn caller_of(app: &TestApp, client: reqwest::Client, csrf: String) -> Caller {
    let info: domain::auth::SessionInfo = client
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    Caller { client, csrf, info }
}

impl Caller {
    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client
            .get(app.url(path))
            .send()
            .await
            .expect("request")
    }

    /// GETs `path` and reads the JSON body of a 200.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, app: &TestApp, path: &str) -> T {
        let response = self.get(app, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("json")
    }

    pub async fn send(
        &self,
        app: &TestApp,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .request(method, app.url(path))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("request")
    }
}

/// How long browser tests wait for the page.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// The element `css` once it is on the page.
pub async fn element(browser: &Browser, css: &str) -> fantoccini::elements::Element {
    browser
        .client
        .wait()
        .at_most(WAIT)
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

/// The text of the element `css`, found again if the page re-rendered it
/// between finding and reading (a reactive page may replace an element
/// when its data arrives).
pub async fn text_of(browser: &Browser, css: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        match element(browser, css).await.text().await {
            Ok(text) => return text,
            Err(e) if std::time::Instant::now() < deadline && e.to_string().contains("stale") => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{css}: text: {e}"),
        }
    }
}

/// Waits until the element `css` shows `expected` in its text.
pub async fn wait_for_text(browser: &Browser, css: &str, expected: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let text = match browser.client.find(fantoccini::Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(expected) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css} shows {expected:?}; it shows {text:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Replaces an input's text by typing, as a person would (select all, type).
pub async fn type_into(browser: &Browser, css: &str, text: &str) {
    let input = element(browser, css).await;
    // Bring it out from under the sticky save bar, as a person scrolling would.
    browser
        .client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            vec![serde_json::to_value(&input).expect("element")],
        )
        .await
        .expect("scroll");
    input.click().await.expect("focus");
    // Control+A selects all; NULL releases the modifier; then the new text replaces it.
    input
        .send_keys(&format!("\u{E009}a\u{E000}{text}"))
        .await
        .expect("type");
}

/// Waits for the browser to finish downloading a file ending in `.ext`
/// into its download folder, and returns the file's path.
pub async fn downloaded(browser: &Browser, ext: &str) -> PathBuf {
    let dir = browser.downloads();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let done = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == ext));
        if let Some(file) = done {
            return file;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a .{ext} file arrived in {}",
            dir.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Clicks `css`, first brought to the middle of the window (out from
/// under the sticky top bar and save bars), as a person scrolling would.
pub async fn click(browser: &Browser, css: &str) {
    let target = element(browser, css).await;
    let _ = browser
        .client
        .execute(
            // The window only (a scroll box inside, such as the grid, keeps
            // its place): when near the top or bottom edge.
            "const r = arguments[0].getBoundingClientRect();
             if (r.top < 100 || r.bottom > window.innerHeight - 100) {
               window.scrollBy(0, r.top - window.innerHeight / 2);
             }",
            vec![serde_json::to_value(&target).expect("element")],
        )
        .await;
    target
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// The `server` binary of this workspace, built on first use (debug profile).
pub fn server_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "server", "--bin", "server"])
                .status()
                .expect("cargo build runs");
            assert!(status.success(), "the server binary builds");
            // target/debug/deps/<test> → target/debug/server
            let exe = std::env::current_exe().expect("test binary path");
            let dir = exe
                .parent()
                .and_then(|d| d.parent())
                .expect("target directory");
            dir.join("server")
        })
        .clone()
}

/// The server as a child process on a loopback port, over an existing
/// database; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    pub addr: SocketAddr,
}

impl ServerProcess {
    pub async fn start(database_url: &str) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(server_binary())
            .args([
                "--database-url",
                database_url,
                "serve",
                "--no-backup",
                "--no-baseline-check",
            ])
            .arg("--bind")
            .arg(addr.to_string())
            .arg("--static-dir")
            .arg(dist_dir())
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("server starts");
        let base = format!("http://{addr}");
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("{base}/api/health")).send().await {
                if r.status() == 204 {
                    break;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server process became ready"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        ServerProcess { child, base, addr }
    }

    /// This process seen as a test app over `app`'s database.
    pub fn app(&self, app: &TestApp) -> TestApp {
        TestApp {
            addr: self.addr,
            base: self.base.clone(),
            state: app.state.clone(),
            demo: None,
            db: app.db.clone(),
        }
    }

    /// SIGKILL: no shutdown, no flushing.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A client with its own cookie jar whose connections come from `address`
/// (any 127.x.y.z works on loopback): a client at another address, for the
/// per-address sign-in limits.
pub fn client_from(address: std::net::IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .local_address(address)
        .build()
        .expect("client")
}

/// One sign-in attempt with `client`, whatever its answer.
pub async fn sign_in_with(
    client: &reqwest::Client,
    app: &TestApp,
    login: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/auth/login"))
        .json(&serde_json::json!({ "login": login, "password": password }))
        .send()
        .await
        .expect("login request")
}

/// Types `login` and the demo password into the sign-in form already on
/// screen and presses 登录, as a person would.
pub async fn fill_sign_in(browser: &Browser, login: &str) {
    element(browser, "[data-test=login]")
        .await
        .send_keys(login)
        .await
        .expect("type account");
    element(browser, "[data-test=password]")
        .await
        .send_keys(DEMO_PASSWORD)
        .await
        .expect("type password");
    click(browser, "[data-test=submit]").await;
}

/// Opens `path` (the sign-in page, or a page that leads to it) and signs
/// in as `login` with the demo password.
pub async fn sign_in_at(browser: &Browser, app: &TestApp, path: &str, login: &str) {
    browser
        .client
        .goto(&app.url(path))
        .await
        .expect("open sign-in page");
    fill_sign_in(browser, login).await;
}

/// The status codes of answers, in order.
pub async fn statuses(responses: Vec<reqwest::Response>) -> Vec<u16> {
    responses.iter().map(|r| r.status().as_u16()).collect()
}

/// Waits until the browser is at `path`.
pub async fn wait_for_path(browser: &Browser, path: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let url = browser.client.current_url().await.expect("url");
        if url.path() == path {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reached {path}; at {url}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Accepts the page's confirmation dialog.
pub async fn accept(browser: &Browser) {
    let deadline = std::time::Instant::now() + WAIT;
    while browser.client.accept_alert().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "a confirmation was asked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Dismisses (cancels) the page's confirmation dialog.
pub async fn dismiss(browser: &Browser) {
    let deadline = std::time::Instant::now() + WAIT;
    while browser.client.dismiss_alert().await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "a confirmation was asked"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
