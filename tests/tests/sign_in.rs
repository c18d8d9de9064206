//! Sign-in under parallel attack, password changes, slow clients and
//! hostile text, on SQLite and PostgreSQL. Alone in its test binary: it
//! measures the process's memory.

use std::time::{Duration, Instant};

use domain::{ErrorBody, ErrorCode};
use e2e::{
    caller, client_from, on_both_databases, sign_in_with, spawn_app, spawn_app_on, statuses,
    Backend, DEMO_PASSWORD,
};
use reqwest::Method;
use serde_json::json;
use server::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_databases!(
    parallel_wrong_passwords_cannot_exceed_the_lockout,
    an_unknown_name_locks_like_an_account_and_a_lock_stays_with_its_address,
    a_password_change_ends_the_other_sessions_and_counts_wrong_passwords,
    half_sent_headers_do_not_hold_connections,
    nul_bytes_and_bad_paths_answer_4xx_with_the_error_body,
    two_password_changes_at_once_leave_one_winner,
);

/// Two sessions change the password at the same moment, each to its own:
/// one 204, the other 409, and the winner's password is the one that works.
async fn two_password_changes_at_once_leave_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut wins = 0;
    for round in 0..5 {
        let current = if round == 0 {
            DEMO_PASSWORD.to_string()
        } else {
            format!("Round-{round}-Secret-x")
        };
        let (a, b) = (
            caller_with(&app, "cm03", &current).await,
            caller_with(&app, "cm03", &current).await,
        );
        let next = [
            format!("Round-{}-Secret-x", round + 1),
            format!("Other-{}-Secret-y", round + 1),
        ];
        let body = |new: &str| json!({ "current_password": current, "new_password": new });
        let path = "/api/auth/password";
        let (ra, rb) = tokio::join!(
            a.send(&app, Method::POST, path, body(&next[0])),
            b.send(&app, Method::POST, path, body(&next[1]))
        );
        let answers = [ra.status().as_u16(), rb.status().as_u16()];
        let winner = match answers {
            [204, 409] => 0,
            [409, 204] => 1,
            other => panic!("two password changes at once: {other:?}"),
        };
        wins += 1;
        let fresh = app.client();
        assert_eq!(
            sign_in_with(&fresh, &app, "cm03", &next[winner])
                .await
                .status(),
            200,
            "the winner's password works"
        );
        assert_eq!(
            sign_in_with(&app.client(), &app, "cm03", &next[1 - winner])
                .await
                .status(),
            401,
            "the loser's does not"
        );
        // The next round starts from the first name's password.
        if winner == 1 {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE login = 'cm03'")
                .bind(server::password::hash(next[0].clone()).await.expect("hash"))
                .execute(&app.db().pool)
                .await
                .expect("set");
        }
        sqlx::query("DELETE FROM login_attempts")
            .execute(&app.db().pool)
            .await
            .expect("clear");
    }
    println!("race password change ({backend:?}): 5 pairs, {wins} winners, 0 lost");
}

async fn caller_with(app: &e2e::TestApp, login: &str, password: &str) -> e2e::Caller {
    let client = app.client();
    let response = sign_in_with(&client, app, login, password).await;
    assert_eq!(response.status(), 200, "{login} signs in");
    let info: domain::auth::SessionInfo = response.json().await.expect("session");
    e2e::Caller {
        client,
        csrf: info.csrf_token.clone(),
        info,
    }
}

async fn parallel_wrong_passwords_cannot_exceed_the_lockout(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.client();
    let attempts = 30;
    let answers = futures::future::join_all::<Vec<_>>(
        (0..attempts)
            .map(|_| sign_in_with(&client, &app, "center", "Wrong-password-9"))
            .collect(),
    )
    .await;
    let answers = statuses(answers).await;
    let checked = answers.iter().filter(|&&s| s == 401).count();
    let locked = answers.iter().filter(|&&s| s == 423).count();
    println!("{attempts} parallel wrong passwords ({backend:?}): {checked} checked (401), {locked} refused (423)");
    assert_eq!(
        checked + locked,
        attempts,
        "every answer is 401 or 423: {answers:?}"
    );
    assert!(
        checked <= 5 - 1,
        "at most 4 plain failures before the fifth locks: {answers:?}"
    );
    let failures: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'login_failed'")
            .fetch_one(&app.db().pool)
            .await
            .expect("audit");
    assert_eq!(failures, 5, "exactly five passwords were checked");
    // The right password from the same address is refused while locked.
    assert_eq!(
        sign_in_with(&client, &app, "center", DEMO_PASSWORD)
            .await
            .status(),
        423
    );
}

async fn an_unknown_name_locks_like_an_account_and_a_lock_stays_with_its_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let attacker = client_from([127, 0, 0, 2].into());
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..6 {
        known.push(
            sign_in_with(&attacker, &app, "cm01", "Wrong-password-9")
                .await
                .status()
                .as_u16(),
        );
        unknown.push(
            sign_in_with(&attacker, &app, "no-such-person", "Wrong-password-9")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        known, unknown,
        "an unknown name answers exactly like an account"
    );
    assert_eq!(known, [401, 401, 401, 401, 423, 423]);
    let body: ErrorBody = sign_in_with(&attacker, &app, "no-such-person", "x")
        .await
        .json()
        .await
        .expect("body");
    assert_eq!(body.code, ErrorCode::Locked);
    // The owner, elsewhere, still signs in: a stranger cannot lock them out.
    let owner = client_from([127, 0, 0, 3].into());
    assert_eq!(
        sign_in_with(&owner, &app, "cm01", DEMO_PASSWORD)
            .await
            .status(),
        200
    );
}

async fn a_password_change_ends_the_other_sessions_and_counts_wrong_passwords(backend: Backend) {
    let app = spawn_app(backend).await;
    let phone = caller(&app, "cm02").await;
    let desk = caller(&app, "cm02").await;
    let change = |current: &str, new: &str| {
        phone.send(
            &app,
            Method::POST,
            "/api/auth/password",
            json!({ "current_password": current, "new_password": new }),
        )
    };
    for n in 1..=4 {
        let wrong = change("Not-the-password-1", "Brand-new-Secret-77").await;
        assert_eq!(wrong.status(), 422, "wrong current password {n}");
    }
    let fifth = change("Not-the-password-1", "Brand-new-Secret-77").await;
    assert_eq!(
        fifth.status(),
        423,
        "the fifth wrong current password locks"
    );
    // Someone with the session cannot keep guessing, even with the right one.
    assert_eq!(
        change(DEMO_PASSWORD, "Brand-new-Secret-77").await.status(),
        423
    );
    sqlx::query("DELETE FROM login_attempts")
        .execute(&app.db().pool)
        .await
        .expect("the lock expires");

    let changed = change(DEMO_PASSWORD, "Brand-new-Secret-77").await;
    assert_eq!(changed.status(), 204);
    assert_eq!(
        phone.get(&app, "/api/auth/me").await.status(),
        200,
        "the changing session goes on"
    );
    assert_eq!(
        desk.get(&app, "/api/auth/me").await.status(),
        401,
        "the other session has ended"
    );
    let fresh = app.client();
    assert_eq!(
        sign_in_with(&fresh, &app, "cm02", DEMO_PASSWORD)
            .await
            .status(),
        401
    );
    assert_eq!(
        sign_in_with(&fresh, &app, "cm02", "Brand-new-Secret-77")
            .await
            .status(),
        200
    );
}

async fn half_sent_headers_do_not_hold_connections(backend: Backend) {
    let db = std::sync::Arc::new(e2e::TestDb::new(backend).await);
    let config = Config {
        header_timeout: Duration::from_secs(2),
        ..Config::local(String::new())
    };
    let app = spawn_app_on(db, config, true).await;
    let mut open = Vec::new();
    // 100 connections that send nothing at all, and 200 that send half a
    // request's headers.
    for _ in 0..100 {
        open.push(
            tokio::net::TcpStream::connect(app.addr)
                .await
                .expect("connect"),
        );
    }
    for _ in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(app.addr)
            .await
            .expect("connect");
        stream
            .write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("half the headers");
        open.push(stream);
    }
    // Health answers meanwhile.
    let started = Instant::now();
    let health = app
        .client()
        .get(app.url("/api/health"))
        .send()
        .await
        .expect("health");
    assert!(health.status().is_success());
    let health_ms = started.elapsed().as_millis();
    // Each connection must be closed by the server (end of stream, or a
    // reset) within a few seconds of the 2 s timeout; whatever it sends
    // first (a 408) is read past.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    let mut closed = 0;
    let mut answered_408 = 0;
    for stream in &mut open {
        let mut seen = Vec::new();
        loop {
            let mut buf = [0u8; 1024];
            match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed += 1;
                    break;
                }
                Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        if seen.starts_with(b"HTTP/1.1 408") {
            answered_408 += 1;
        }
    }
    let waited = started.elapsed().as_secs_f64();
    println!("100 silent connections and 200 half-sent requests ({backend:?}): {closed} closed by the server ({answered_408} with a 408) within {waited:.1} s under a 2 s header timeout; health {health_ms} ms meanwhile");
    assert_eq!(closed, 300);
}

async fn nul_bytes_and_bad_paths_answer_4xx_with_the_error_body(backend: Backend) {
    let app = spawn_app(backend).await;
    let client = app.client();
    let nul_login = client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "login": "cm\u{0}01", "password": "x-y-z-1234" }))
        .send()
        .await
        .expect("request");
    assert_eq!(nul_login.status(), 400);
    let body: ErrorBody = nul_login.json().await.expect("the error body");
    assert!(body.message.contains("空字符"), "{}", body.message);

    let center = caller(&app, "center").await;
    for path in [
        "/api/forecast/cycles/not-a-number/progress",
        "/api/forecast/cycles/1/sheet?manager_id=abc",
        "/api/replenishment/retailers?q=%00x",
    ] {
        let response = center.get(&app, path).await;
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{path}: {status}");
        let body: Result<ErrorBody, _> = response.json().await;
        assert!(body.is_ok(), "{path} answers the error body");
    }
    let wrong_method = center
        .send(&app, Method::DELETE, "/api/forecast/cycles", json!({}))
        .await;
    assert_eq!(wrong_method.status(), 405);
    assert!(
        wrong_method.json::<ErrorBody>().await.is_ok(),
        "405 has the error body"
    );
}
