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
        }
    }
}
