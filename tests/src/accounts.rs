//! Accounts helpers shared by the API and browser tests: bulk runs of
//! retailer sign-ins, and signing in with a one-time password.

use calamine::Reader;
use domain::accounts::{AccountJob, JobState};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{Caller, TestApp};

/// Starts a bulk run of retailer sign-ins for `scope` and waits for it to end.
pub async fn run_bulk(app: &TestApp, admin: &Caller, scope: Value) -> AccountJob {
    let response = admin
        .send(
            app,
            Method::POST,
            "/api/admin/retailer-accounts",
            json!({ "scope": scope }),
        )
        .await;
    assert_eq!(response.status(), 202, "the run starts");
    let job: AccountJob = response.json().await.expect("job");
    wait_for(app, admin, job.id).await
}

/// Polls a run until it is no longer running (at most 60 s).
pub async fn wait_for(app: &TestApp, admin: &Caller, id: i64) -> AccountJob {
    for _ in 0..600 {
        let job: AccountJob = admin
            .get_json(app, &format!("/api/admin/retailer-accounts/{id}"))
            .await;
        if job.state != JobState::Running {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the bulk run {id} did not end within 60 s");
}

/// Signs in with a password; the status and, on success, the client and
/// the session.
pub async fn sign_in_as(
    app: &TestApp,
    login: &str,
    password: &str,
) -> (u16, Option<(reqwest::Client, domain::auth::SessionInfo)>) {
    let client = app.client();
    let response = client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await
        .expect("login request");
    let status = response.status().as_u16();
    if status != 200 {
        return (status, None);
    }
    let info: domain::auth::SessionInfo = response.json().await.expect("session");
    (status, Some((client, info)))
}

/// The rows of a handout workbook's first sheet as text, header first.
pub fn handout_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("an xlsx");
    let sheet = book
        .worksheet_range_at(0)
        .expect("a sheet")
        .expect("readable");
    sheet
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    calamine::Data::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}
