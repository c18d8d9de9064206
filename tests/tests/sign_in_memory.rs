//! Memory under 200 parallel sign-ins, and the per-address throttle.
//! Alone in its test binary, and the two databases one after the other in
//! one test: it reads this process's memory, which other tests running
//! beside it would move.

use std::time::Instant;

use e2e::{available, client_from, sign_in_with, spawn_app, statuses, Backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_parallel_sign_ins_keep_memory_flat_and_the_address_is_throttled() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if available(backend) {
            on(backend).await;
        }
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn on(backend: Backend) {
    let app = spawn_app(backend).await;
    // 200 wrong sign-ins at once, each from its own address and for its
    // own name, so that neither the lockout nor the throttle stops them:
    // all reach the password check, and only the bound on concurrent
    // hashing keeps memory down.
    let wave =
        |n: u8| {
            let app = &app;
            futures::future::join_all((0..200u32).map(move |i| {
                let client = client_from([127, n, (i / 250) as u8 + 1, (i % 250) as u8 + 2].into());
                async move {
                    sign_in_with(&client, app, &format!("guess{n}-{i}"), "Wrong-password-9").await
                }
            }))
        };
    let before = rss_kib();
    let started = Instant::now();
    let first = statuses(wave(1).await).await;
    let after_first = rss_kib();
    let took = started.elapsed().as_secs_f64();
    let second = statuses(wave(2).await).await;
    let after_second = rss_kib();
    let first_grew = after_first.saturating_sub(before) / 1024;
    let second_grew = after_second.saturating_sub(after_first) / 1024;
    println!(
        "200 parallel wrong sign-ins ({backend:?}): {took:.1} s; test process RSS {} → {} MiB (+{first_grew}), a second wave of 200 → {} MiB (+{second_grew}); answers {} × 401, {} × 503",
        before / 1024,
        after_first / 1024,
        after_second / 1024,
        first.iter().chain(&second).filter(|&&s| s == 401).count(),
        first.iter().chain(&second).filter(|&&s| s == 503).count(),
    );
    assert!(
        first.iter().chain(&second).all(|&s| s == 401 || s == 503),
        "{first:?} {second:?}"
    );
    // Server and clients share this process: 200 connections and clients
    // plus two hashing threads' blocks. Unbounded, the first wave alone
    // added about 3 GB.
    assert!(
        first_grew < 400,
        "the first wave grew the process {first_grew} MiB"
    );
    assert!(
        second_grew < 40,
        "memory is not given back: a second wave grew it {second_grew} MiB"
    );

    // One address: past 30 failures (in flight included) it gets 429.
    let one = client_from([127, 0, 9, 9].into());
    let answers = futures::future::join_all::<Vec<_>>(
        (0..60u32)
            .map(|i| {
                let one = &one;
                let app = &app;
                async move { sign_in_with(one, app, &format!("spray{i}"), "Wrong-password-9").await }
            })
            .collect(),
    )
    .await;
    let retry = answers
        .iter()
        .find(|r| r.status() == 429)
        .and_then(|r| r.headers().get("retry-after").cloned());
    let answers = statuses(answers).await;
    let throttled = answers.iter().filter(|&&s| s == 429).count();
    println!("60 parallel failures from one address ({backend:?}): {throttled} answered 429");
    assert_eq!(throttled, 30, "{answers:?}");
    assert!(retry.is_some(), "429 says when to retry");
}
