//! The browser bundle as a browser receives it: hashed file names cached
//! for a year, the page revalidated, brotli or gzip by `Accept-Encoding`,
//! a favicon, 404 for missing files, and compressed JSON answers. Serving
//! does not touch the database, so these run on SQLite only.

use std::io::Read;

use e2e::{caller, dist_dir, spawn_app, Backend, TestApp};
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, IF_MODIFIED_SINCE,
    LAST_MODIFIED, VARY,
};

fn plain() -> reqwest::Client {
    reqwest::Client::builder().build().expect("client")
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The `/assets/…` addresses the page refers to.
async fn assets_of_page(app: &TestApp) -> Vec<String> {
    let page = plain()
        .get(app.url("/"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    let mut found: Vec<String> = page
        .split('"')
        .filter(|part| part.starts_with("/assets/"))
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

#[tokio::test]
async fn the_page_names_hashed_files_that_are_cached_for_a_year_in_brotli_or_gzip() {
    let app = spawn_app(Backend::Sqlite).await;
    let page = plain().get(app.url("/")).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(header(&page, CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(
        header(&page, CACHE_CONTROL),
        "no-cache",
        "the page is checked with the server on every visit"
    );

    let assets = assets_of_page(&app).await;
    for ext in [".css", ".js", ".wasm"] {
        assert!(
            assets.iter().any(|a| a.ends_with(ext)),
            "the page loads a {ext} file: {assets:?}"
        );
    }
    for asset in &assets {
        let file = dist_dir().join(asset.trim_start_matches('/'));
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let hash = name.split('.').nth(1).unwrap_or_default();
        assert_eq!(hash.len(), 12, "{name} carries a content hash");
        let raw = std::fs::read(&file).expect("the file is in dist");

        let br = plain()
            .get(app.url(asset))
            .header(ACCEPT_ENCODING, "gzip, deflate, br")
            .send()
            .await
            .expect("asset");
        assert_eq!(br.status(), 200, "{asset}");
        assert_eq!(header(&br, CONTENT_ENCODING), "br", "{asset} in brotli");
        assert_eq!(
            header(&br, CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{asset}"
        );
        assert!(header(&br, VARY)
            .to_ascii_lowercase()
            .contains("accept-encoding"));
        let body = br.bytes().await.expect("body");
        assert!(body.len() < raw.len(), "{asset}: brotli is smaller");
        assert_eq!(
            body.as_ref(),
            std::fs::read(format!("{}.br", file.display()))
                .expect("the .br file")
                .as_slice()
        );

        let gz = plain()
            .get(app.url(asset))
            .header(ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .expect("asset");
        assert_eq!(header(&gz, CONTENT_ENCODING), "gzip", "{asset} in gzip");
        assert_eq!(gunzip(&gz.bytes().await.expect("body")), raw, "{asset}");

        let none = plain().get(app.url(asset)).send().await.expect("asset");
        assert_eq!(header(&none, CONTENT_ENCODING), "", "{asset} as it is");
        assert_eq!(none.bytes().await.expect("body").as_ref(), raw.as_slice());
    }
}

#[tokio::test]
async fn the_page_is_revalidated_not_downloaded_again() {
    let app = spawn_app(Backend::Sqlite).await;
    let first = plain().get(app.url("/login")).send().await.expect("page");
    let modified = header(&first, LAST_MODIFIED);
    assert!(!modified.is_empty(), "the page says when it changed");
    let again = plain()
        .get(app.url("/login"))
        .header(IF_MODIFIED_SINCE, modified)
        .send()
        .await
        .expect("page");
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn the_start_script_and_the_loader_name_files_that_exist() {
    let app = spawn_app(Backend::Sqlite).await;
    let assets = assets_of_page(&app).await;
    let boot = assets
        .iter()
        .find(|a| a.starts_with("/assets/boot."))
        .expect("a start script");
    let boot_text = plain()
        .get(app.url(boot))
        .send()
        .await
        .expect("boot")
        .text()
        .await
        .expect("text");
    // Every `./name` the start script and the main module refer to is served.
    let mut referenced: Vec<String> = Vec::new();
    // Module imports (`from "./x"`) and fetched files (`new URL("./x"`);
    // other quoted names (the wasm's import keys) are not files.
    let collect = |text: &str, into: &mut Vec<String>| {
        for lead in ["from \"./", "new URL(\"./"] {
            for (at, _) in text.match_indices(lead) {
                let rest = &text[at + lead.len()..];
                let name = &rest[..rest.find('"').expect("closing quote")];
                into.push(format!("/assets/{name}"));
            }
        }
    };
    collect(&boot_text, &mut referenced);
    let main = referenced
        .iter()
        .find(|r| r.ends_with(".js"))
        .expect("the start script imports the main module")
        .clone();
    let main_text = plain()
        .get(app.url(&main))
        .send()
        .await
        .expect("main")
        .text()
        .await
        .expect("text");
    collect(&main_text, &mut referenced);
    let loader = referenced
        .iter()
        .find(|r| r.starts_with("/assets/split."))
        .expect("the main module imports the chunk loader")
        .clone();
    let loader_text = plain()
        .get(app.url(&loader))
        .send()
        .await
        .expect("loader")
        .text()
        .await
        .expect("text");
    collect(&loader_text, &mut referenced);
    assert!(
        referenced.iter().filter(|r| r.ends_with(".wasm")).count() > 5,
        "the main wasm and the chunks: {referenced:?}"
    );
    for file in &referenced {
        let response = plain().get(app.url(file)).send().await.expect("file");
        assert_eq!(response.status(), 200, "{file} is served");
    }
}

#[tokio::test]
async fn a_missing_file_is_404_the_favicon_an_icon_and_app_paths_the_page() {
    let app = spawn_app(Backend::Sqlite).await;
    for missing in ["/assets/app.AAAAAAAAAAAA.js", "/pkg/app.js", "/logo.png"] {
        let response = plain().get(app.url(missing)).send().await.expect("file");
        assert_eq!(response.status(), 404, "{missing}");
        assert!(
            !header(&response, CONTENT_TYPE).starts_with("text/html"),
            "{missing} is not answered with the page"
        );
        assert!(
            !header(&response, CACHE_CONTROL).contains("immutable"),
            "a 404 is not kept for a year"
        );
    }
    let icon = plain()
        .get(app.url("/favicon.ico"))
        .send()
        .await
        .expect("icon");
    assert_eq!(icon.status(), 200);
    assert_eq!(header(&icon, CONTENT_TYPE), "image/x-icon");
    assert_eq!(&icon.bytes().await.expect("body")[..4], &[0, 0, 1, 0]);
    for path in ["/forecast/3", "/masterdata/import", "/home/retailer"] {
        let page = plain().get(app.url(path)).send().await.expect("page");
        assert_eq!(page.status(), 200, "{path}");
        assert!(
            header(&page, CONTENT_TYPE).starts_with("text/html"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn json_answers_are_compressed_for_clients_that_ask() {
    let app = spawn_app(Backend::Sqlite).await;
    let center = caller(&app, "center").await;
    let plain_answer = center
        .client
        .get(app.url("/api/specs"))
        .send()
        .await
        .expect("specs");
    assert_eq!(header(&plain_answer, CONTENT_ENCODING), "");
    let expected: serde_json::Value = plain_answer.json().await.expect("json");
    let gz = center
        .client
        .get(app.url("/api/specs"))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("specs");
    assert_eq!(gz.status(), 200);
    assert_eq!(header(&gz, CONTENT_ENCODING), "gzip");
    let body = gz.bytes().await.expect("body");
    let decoded: serde_json::Value =
        serde_json::from_slice(&gunzip(&body)).expect("the JSON inside");
    assert_eq!(decoded, expected);
    let br = center
        .client
        .get(app.url("/api/specs"))
        .header(ACCEPT_ENCODING, "br")
        .send()
        .await
        .expect("specs");
    assert_eq!(header(&br, CONTENT_ENCODING), "br");
}

#[tokio::test]
async fn a_missing_file_stays_404_under_conditional_and_odd_requests() {
    let app = spawn_app(Backend::Sqlite).await;
    let modified = header(
        &plain().get(app.url("/")).send().await.expect("page"),
        LAST_MODIFIED,
    );
    // Not the page's 304 or 412: the file does not exist.
    let conditional = plain()
        .get(app.url("/missing.js"))
        .header(IF_MODIFIED_SINCE, &modified)
        .send()
        .await
        .expect("file");
    assert_eq!(conditional.status(), 404);
    let unmodified = plain()
        .get(app.url("/manifest.json"))
        .header("If-Unmodified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")
        .send()
        .await
        .expect("file");
    assert_eq!(unmodified.status(), 404);
    // Paths too long for any file: 404, not a 500 from the file system.
    let long = "a".repeat(300);
    for path in [
        format!("/{long}"),
        format!("/assets/{long}.js"),
        "/a".repeat(2100),
    ] {
        let response = plain().get(app.url(&path)).send().await.expect("long");
        assert_eq!(response.status(), 404, "{} characters", path.len());
    }
    // No redirect to a directory (`//assets` would send the browser to the host `assets`).
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for path in ["//assets", "/assets", "/assets/."] {
        let response = no_redirects.get(app.url(path)).send().await.expect("dir");
        assert!(
            !response.status().is_redirection(),
            "{path}: {} {:?}",
            response.status(),
            response.headers().get("location")
        );
    }
    // The API's own paths answer with the error body, never the page.
    for path in ["/api", "/api/"] {
        let response = plain().get(app.url(path)).send().await.expect("api");
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            header(&response, CONTENT_TYPE).starts_with("application/json"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_public_openapi_document_is_not_compressed_per_request() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = plain()
        .get(app.url("/api/openapi.json"))
        .header(ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .expect("document");
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, CONTENT_ENCODING), "");
    let document: serde_json::Value = response.json().await.expect("json");
    assert!(document["paths"].as_object().is_some_and(|p| p.len() > 40));
}
