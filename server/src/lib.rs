//! The API server: axum routes over a sqlx store, serving the browser bundle.

pub mod backup;
pub mod clock;
pub mod config;
pub mod csrf;
pub mod csv_text;
pub mod db;
pub mod error;
pub mod extract;
pub mod guard;
pub mod password;
pub mod routes;
pub mod service;
pub mod session_store;
pub mod store;
pub mod untrusted;
pub mod web;
pub mod xlsx;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::Router;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;
use crate::db::Db;
use crate::error::ApiError;
use crate::session_store::DbSessionStore;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// A hash of a random password, verified against when an account does not
    /// exist, so that sign-in takes the same time either way.
    pub dummy_hash: Arc<str>,
    /// Failed sign-ins per client address.
    pub throttle: Arc<guard::AddressThrottle>,
    /// Concurrent password hashing.
    pub hash_slots: guard::HashSlots,
    /// One import (check or apply) at a time in this server: a file is
    /// held in memory while it is read, so parallel uploads wait their
    /// turn (503 before the body is read) instead of adding up.
    pub import_slot: Arc<tokio::sync::Semaphore>,
    /// Reports computed at once (dashboard, accuracy, analysis): a quarter
    /// of the pool, so a crowd opening reports queues for these instead of
    /// taking every connection from people saving their work.
    pub report_slots: Arc<tokio::sync::Semaphore>,
    /// Recomputes of the stored baselines, one at a time across processes.
    pub baselines: service::baselines::Runner,
}

impl AppState {
    pub async fn new(db: Db, config: Config) -> anyhow::Result<AppState> {
        let random: String = {
            use rand::Rng;
            rand::thread_rng()
                .sample_iter(&rand::distributions::Alphanumeric)
                .take(24)
                .map(char::from)
                .collect()
        };
        let dummy_hash = password::hash(random).await?;
        Ok(AppState {
            baselines: service::baselines::Runner::new(db.clone()),
            db,
            throttle: guard::AddressThrottle::new(
                config.address_failures,
                config.address_window_seconds,
            ),
            hash_slots: guard::HashSlots::new(config.hash_concurrency, config.hash_wait),
            import_slot: Arc::new(tokio::sync::Semaphore::new(1)),
            report_slots: Arc::new(tokio::sync::Semaphore::new(
                (config.max_connections as usize / 4).max(1),
            )),
            config: Arc::new(config),
            dummy_hash: dummy_hash.into(),
        })
    }
}

/// The whole application: API, OpenAPI document and the static browser bundle.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = routes::api().split_for_parts();
    // Every route of the table: the caller's role first (see `require_role`).
    let api = api.route_layer(middleware::from_fn_with_state(
        state.clone(),
        extract::require_role,
    ));
    // Serialized once: the document is public and 100 KB, so it is sent
    // as it is, never built or compressed again per request.
    let openapi = axum::body::Bytes::from(
        serde_json::to_vec(&openapi).expect("the OpenAPI document serializes"),
    );
    let store = DbSessionStore::new(state.db.clone());
    let sessions = SessionManagerLayer::new(store)
        .with_name("tobacco_session")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(state.config.secure_cookies)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            state.config.session_idle_minutes,
        )));
    let api = api
        .route(
            "/api/openapi.json",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    axum::Extension(Uncompressed),
                    openapi.clone(),
                )
            }),
        )
        .route("/api", any(api_not_found))
        .route("/api/", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .layer(middleware::from_fn(csrf::guard))
        .layer(middleware::from_fn(extract::refuse_nul_in_uri))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            extract::fail_fast,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn({
            let limit = state.config.max_body_bytes;
            move |request, next| extract::refuse_oversized(limit, request, next)
        }))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(middleware::from_fn(extract::error_body_everywhere))
        .layer(api_compression())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.request_timeout,
        ));

    Router::new()
        .merge(api)
        .merge(web::bundle(&state.config.static_dir))
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(TraceLayer::new_for_http())
}

/// JSON and CSV answers compressed for browsers that ask (a sheet of
/// 10,000 cells is a tenth of its size in gzip). Brotli at quality 4: close
/// to gzip -9 in size at a fraction of quality 11's time. Files that are
/// zip archives already (xlsx) are sent as they are.
fn api_compression() -> CompressionLayer<impl tower_http::compression::Predicate + Clone> {
    use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
    let not_marked = |_: StatusCode,
                      _: axum::http::Version,
                      _: &axum::http::HeaderMap,
                      extensions: &axum::http::Extensions| {
        extensions.get::<Uncompressed>().is_none()
    };
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(4))
        .compress_when(
            DefaultPredicate::new()
                .and(NotForContentType::new("application/vnd.openxmlformats"))
                .and(NotForContentType::new("application/zip"))
                .and(not_marked),
        )
}

/// Marks an answer that is sent as it is (the public OpenAPI document: an
/// anonymous client could otherwise make the server compress 100 KB on
/// every request).
#[derive(Clone, Copy)]
struct Uncompressed;

async fn api_not_found(request: Request) -> impl IntoResponse {
    let parts = request.into_parts().0;
    let lang = extract::lang_of(&parts);
    ApiError::new(
        StatusCode::NOT_FOUND,
        domain::ErrorCode::NotFound,
        lang.pick("接口不存在", "No such API route"),
    )
}

/// Connects, migrates and checks that backups can be taken. Demo data is
/// the `tools` crate's (`tools demo`), never the served binary's.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    let db = Db::connect(&config.database_url, config.max_connections).await?;
    db.migrate().await?;
    if let Some(backup) = &config.backup {
        backup::preflight(&db, backup).await?;
    }
    AppState::new(db, config).await
}

/// Serves until the future `shutdown` completes; expired sessions are swept
/// hourly, the stored baselines are recomputed when older than the history,
/// and the database is backed up on the schedule of `config.backup`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let sweeper = DbSessionStore::new(state.db.clone());
    let (db, lockout) = (state.db.clone(), state.config.lockout);
    let sweep = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            if let Err(e) = sweeper.delete_expired().await {
                tracing::warn!(error = %e, "could not sweep expired sessions");
            }
            // Failed sign-ins that no longer lock or count anything.
            let swept = match db.pool.acquire().await {
                Ok(mut conn) => {
                    store::login_attempts::sweep(&mut conn, lockout, db::now_unix()).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = swept {
                tracing::warn!(error = %e, "could not sweep old sign-in failures");
            }
            // Handouts of one-time passwords nobody downloaded.
            if let Ok(mut conn) = db.pool.acquire().await {
                if let Err(e) = store::accounts::expire_handouts(
                    &mut conn,
                    service::accounts::HANDOUT_KEEP_SECONDS,
                )
                .await
                {
                    tracing::warn!(error = %e, "could not delete old account handouts");
                }
            }
        }
    });
    let backups =
        state.config.backup.clone().map(|config| {
            backup::spawn(state.db.clone(), state.config.database_url.clone(), config)
        });
    // Stored baselines older than the history are recomputed, and runs
    // left by a stopped process are taken up.
    let baselines = state.baselines.watch(state.config.baselines_at_start);
    let reach = state.db.watch_reach();
    let header_timeout = state.config.header_timeout;
    let limits = state.config.connections;
    let result = serve_connections(listener, app(state), header_timeout, limits, shutdown).await;
    sweep.abort();
    baselines.abort();
    if let Some(reach) = reach {
        reach.abort();
    }
    if let Some(backups) = backups {
        backups.abort();
    }
    result
}

/// The accept loop. `axum::serve` sets no timer on hyper, so a client that
/// sends half a request's headers holds its connection (and a task) for
/// ever; here each connection must send its first byte, and then a
/// request's headers, within `header_timeout`. HTTP/1.1 only: the browser
/// bundle and the API need nothing else, and HTTP/2 without TLS let idle
/// connections stay open past every timeout (seen: 20,000 of them used up
/// the file descriptors and stopped the server). One client address may
/// hold at most `limits.per_address` connections, all clients together
/// `limits.total`; past that a new connection is closed at once. The peer
/// address is put on every request for the per-address sign-in throttle.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: std::time::Duration,
    limits: guard::ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let open = guard::OpenConnections::new(limits);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = open.admit(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: too many open");
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(request.map(axum::body::Body::new))
            },
        );
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            // A connection that sends nothing is closed after the header
            // timeout; hyper's own timer starts only with the first byte.
            let mut first = [0_u8; 1];
            match tokio::time::timeout(header_timeout, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Requests in flight get a moment to finish.
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(10)) => {
            tracing::warn!("connections still open after 10 s; closing");
        }
    }
    Ok(())
}
