//! The browser bundle as the web expects it: content-hashed assets cached for
//! a year, the page itself revalidated on every visit, brotli or gzip chosen
//! by the browser's `Accept-Encoding` from files compressed at build time
//! (`scripts/build-web.sh`).

use std::convert::Infallible;
use std::path::Path;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the hashed files live, under the bundle directory and in the URL.
pub const ASSETS: &str = "assets";

/// `Cache-Control` of a file whose name changes with its content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of the page and of the few unhashed files: kept, but
/// checked with the server (`Last-Modified`) before each use.
const REVALIDATE: &str = "no-cache";

/// Longest path the bundle answers; longer ones are 404 before the file
/// system is asked (which would fail with "file name too long").
const MAX_PATH: usize = 512;

/// Routes for the bundle in `dir`: `/assets/…` (hashed, immutable), the
/// files at the top (`favicon.ico`), and the page for every other path so
/// that the app's own routes load it.
pub fn bundle<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let assets = ServeDir::new(dir.join(ASSETS))
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    let page = ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    // A path that names a file (`/logo.png`, `/pkg/app.js`) and is not in
    // the bundle gets 404, decided before the page is served (so that no
    // conditional request turns it into the page's 304): a script or image
    // that turns out to be HTML fails in confusing ways. Paths without an
    // extension are the app's own routes and get the page.
    let page_or_404 = tower::service_fn(move |request: Request| {
        let page = page.clone();
        async move {
            if names_a_file(request.uri().path()) {
                return Ok::<_, Infallible>(StatusCode::NOT_FOUND.into_response());
            }
            let response = page.oneshot(request).await?;
            Ok(response.map(Body::new))
        }
    });
    let top = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .fallback(page_or_404);
    // The same URL answers in brotli, gzip or plain: shared caches must
    // keep them apart.
    let vary = SetResponseHeaderLayer::if_not_present(
        header::VARY,
        HeaderValue::from_static("accept-encoding"),
    );
    Router::new()
        .nest_service(
            &format!("/{ASSETS}"),
            Router::new()
                .fallback_service(assets)
                .layer(middleware::from_fn(immutable_when_found)),
        )
        .fallback_service(Router::new().fallback_service(top).layer(
            SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static(REVALIDATE),
            ),
        ))
        .layer(middleware::from_fn(refuse_long_paths))
        .layer(vary)
}

fn names_a_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

/// A path no bundle file can have is 404 at once.
async fn refuse_long_paths(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.len() > MAX_PATH || path.split('/').any(|segment| segment.len() > 255) {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

/// A year of caching for what was found; a missing asset (an old hash after
/// a new release) is a plain 404 that no cache keeps.
async fn immutable_when_found(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let value = if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        IMMUTABLE
    } else {
        "no-store"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}
