//! Sign-in timing: whether an account exists must not show in the time a
//! failed sign-in takes. Alone in its test binary, so that other tests do
//! not load the machine while it measures.

use std::time::{Duration, Instant};

use e2e::{on_both_databases, spawn_app_on, Backend, TestApp};
use serde_json::json;
use server::config::Config;

on_both_databases!(sign_in_takes_as_long_for_an_unknown_account_as_for_a_wrong_password);

/// The time of one sign-in of `login` with a wrong password.
async fn sign_in_time(app: &TestApp, login: &str) -> Duration {
    let started = Instant::now();
    let response = app
        .client()
        .post(app.url("/api/auth/login"))
        .json(&json!({ "login": login, "password": "Wrong@password1" }))
        .send()
        .await
        .expect("login");
    let took = started.elapsed();
    assert_eq!(response.status(), 401, "{login}");
    took
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

async fn sign_in_takes_as_long_for_an_unknown_account_as_for_a_wrong_password(backend: Backend) {
    // No lockout in the way: many failures in a row for one account.
    let config = Config {
        lockout: domain::auth::LockoutPolicy {
            max_failures: 1_000,
            ..Default::default()
        },
        address_failures: 10_000,
        ..Config::local(String::new())
    };
    let db = std::sync::Arc::new(e2e::TestDb::new(backend).await);
    let app = spawn_app_on(db, config, true).await;
    // Warm up both paths.
    for _ in 0..2 {
        sign_in_time(&app, "cm01").await;
        sign_in_time(&app, "nobody-at-all").await;
    }
    // Interleaved, so that whatever else the machine does (the database's
    // disk flushes, another process) falls on both alike, and in turns
    // first: the hashing threads take jobs in turn, and one of them can be
    // slower for a while (seen: 20 against 30 ms, whichever account it
    // checked), so a fixed order would measure the threads, not the accounts.
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for round in 0..22 {
        if round % 2 == 0 {
            known.push(sign_in_time(&app, "cm01").await);
            unknown.push(sign_in_time(&app, "nobody-at-all").await);
        } else {
            unknown.push(sign_in_time(&app, "nobody-at-all").await);
            known.push(sign_in_time(&app, "cm01").await);
        }
    }
    let (k, u) = (median(known).as_secs_f64(), median(unknown).as_secs_f64());
    println!(
        "sign-in with a wrong password: existing account {:.1} ms, no such account {:.1} ms (median of 22, interleaved, in turns first)",
        k * 1e3,
        u * 1e3
    );
    // Both run one Argon2 verification; what remains is one indexed read.
    let ratio = k.max(u) / k.min(u);
    assert!(
        ratio < 1.5,
        "the two take different times ({:.1} vs {:.1} ms): an attacker could tell accounts apart",
        k * 1e3,
        u * 1e3
    );
}
