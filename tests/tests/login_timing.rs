//! Sign-in timing: whether an account exists must not show in the time a
//! failed sign-in takes. Alone in its test binary, so that other tests do
//! not load the machine while it measures.

use std::time::{Duration, Instant};

use e2e::{on_both_databases, spawn_app_on, Backend, TestApp};
use serde_json::json;
use server::config::Config;

on_both_databases!(sign_in_takes_as_long_for_an_unknown_account_as_for_a_wrong_password);

/// The median time of `n` sign-ins of `login` with a wrong password.
async fn median_sign_in(app: &TestApp, login: &str, n: usize) -> Duration {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let response = app
            .client()
            .post(app.url("/api/auth/login"))
            .json(&json!({ "login": login, "password": "Wrong@password1" }))
            .send()
            .await
            .expect("login");
        times.push(started.elapsed());
        assert_eq!(response.status(), 401, "{login}");
    }
    times.sort();
    times[n / 2]
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
    median_sign_in(&app, "cm01", 2).await;
    median_sign_in(&app, "nobody-at-all", 2).await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..3 {
        known.push(median_sign_in(&app, "cm01", 5).await);
        unknown.push(median_sign_in(&app, "nobody-at-all", 5).await);
    }
    known.sort();
    unknown.sort();
    let (k, u) = (known[1].as_secs_f64(), unknown[1].as_secs_f64());
    println!(
        "sign-in with a wrong password: existing account {:.1} ms, no such account {:.1} ms (median of medians)",
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
