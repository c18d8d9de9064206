//! A page family's code that cannot be downloaded (a dropped connection on
//! a phone): the app keeps working, the page says so and offers to try
//! again, and other pages still open. Its own test binary: it serves a copy
//! of the bundle with the review family's chunk missing (`E2E_DIST`).

use e2e::{click, element, sign_in_at, spawn_app, text_of, Backend, Browser};

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read dist") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_family_that_cannot_be_downloaded_says_so_and_the_rest_of_the_app_works() {
    let broken = tempfile::tempdir().expect("temp dir");
    copy_dir(&e2e::dist_dir_default(), broken.path());
    let mut removed = 0;
    for entry in std::fs::read_dir(broken.path().join("assets")).expect("assets") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("split_review_pages") {
            std::fs::remove_file(&path).expect("remove");
            removed += 1;
        }
    }
    assert!(removed > 0, "the review family's chunk was in the bundle");
    // This binary holds this one test: the variable is read by spawn_app.
    std::env::set_var("E2E_DIST", broken.path());
    let app = spawn_app(Backend::Sqlite).await;

    // The market manager's home page fetches the review family in the
    // background; that failure must not stop the app.
    let browser = Browser::start().await;
    sign_in_at(&browser, &app, "/login", "mm01").await;
    element(&browser, "[data-test=link-reviews]").await;
    click(&browser, "[data-test=link-reviews]").await;
    element(&browser, "[data-test=chunk-failed]").await;
    assert!(
        text_of(&browser, "[data-test=chunk-failed]")
            .await
            .contains("页面加载失败"),
        "the page says it could not be loaded"
    );
    element(&browser, "[data-test=chunk-retry]").await;

    // The rest of the app still works, without a reload: back home.
    click(&browser, "a.brand").await;
    element(&browser, "[data-test=home]").await;
    element(&browser, "[data-test=link-reviews]").await;

    // Back on the page that failed, once the file can be downloaded again,
    // 重试 brings it.
    click(&browser, "[data-test=link-reviews]").await;
    element(&browser, "[data-test=chunk-failed]").await;
    for entry in std::fs::read_dir(e2e::dist_dir_default().join("assets")).expect("assets") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("split_review_pages") {
            std::fs::copy(&path, broken.path().join("assets").join(&name)).expect("restore");
        }
    }
    click(&browser, "[data-test=chunk-retry]").await;
    e2e::wait_for_text(&browser, "main h2", "预测审核").await;
    assert!(
        browser
            .client
            .find(fantoccini::Locator::Css("[data-test=chunk-failed]"))
            .await
            .is_err(),
        "the page arrived this time"
    );
}
