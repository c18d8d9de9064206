//! Server configuration, read from the command line and the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use domain::auth::LockoutPolicy;

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// `sqlite:data/app.db` (default) or `postgres://…`.
    pub database_url: String,
    /// Folder holding the built browser bundle (`index.html`, wasm, js, css).
    pub static_dir: PathBuf,
    /// Sets the `Secure` flag on the session cookie; on behind HTTPS.
    pub secure_cookies: bool,
    /// Sign-in lockout settings.
    pub lockout: LockoutPolicy,
    /// Session lifetime without activity, in minutes.
    pub session_idle_minutes: i64,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Maximum pooled database connections.
    pub max_connections: u32,
    /// A request (headers and body included) that has not been answered
    /// in this time gets 408.
    pub request_timeout: std::time::Duration,
    /// A connection that has not sent a request's headers in this time is
    /// closed (slow or half-sent headers hold no connection for long).
    pub header_timeout: std::time::Duration,
    /// Open connections allowed per client address and in all.
    pub connections: crate::guard::ConnectionLimits,
    /// Password hashes computed at once (Argon2 takes 19 MiB each); more
    /// wait in line.
    pub hash_concurrency: usize,
    /// How long a sign-in waits for a hashing slot before 503.
    pub hash_wait: std::time::Duration,
    /// Failed sign-ins accepted from one client address per window before
    /// it gets 429 (attempts in flight count as failures until they pass).
    pub address_failures: u32,
    /// The window of [`Config::address_failures`], in seconds.
    pub address_window_seconds: i64,
    /// The backup schedule; `None` only when turned off explicitly
    /// (`serve --no-backup`) or in tests.
    pub backup: Option<crate::backup::BackupConfig>,
    /// At start, recompute the stored baselines when they are older than
    /// the history. `serve` does unless told not to; tests and tools start
    /// without (they ask for a recompute when they want one).
    pub baselines_at_start: bool,
}

impl Config {
    /// Defaults suitable for a local run and for tests.
    pub fn local(database_url: impl Into<String>) -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: database_url.into(),
            static_dir: PathBuf::from("dist"),
            secure_cookies: false,
            lockout: LockoutPolicy::default(),
            session_idle_minutes: 8 * 60,
            max_body_bytes: 4 * 1024 * 1024,
            max_connections: 16,
            request_timeout: std::time::Duration::from_secs(120),
            header_timeout: std::time::Duration::from_secs(10),
            connections: crate::guard::ConnectionLimits::default(),
            hash_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            hash_wait: std::time::Duration::from_secs(10),
            address_failures: 30,
            address_window_seconds: 15 * 60,
            backup: None,
            baselines_at_start: false,
        }
    }
}
