//! Hostile spreadsheets: a workbook that declares four billion shared
//! strings, one with a cell at XFD1048576, one whose dimension is the whole
//! grid, zip bombs (honest and lying about their size), valid workbooks far
//! over the row and column limits, and bodies over the size limits. Both
//! imports (the forecast sheet and actual orders) refuse each with a 4xx,
//! the project's error body naming the limit in Chinese, and store nothing,
//! while `/api/health`, polled every 50 ms, answers each time within 200 ms.
//! A valid 13 MB month of actual orders for a city of 30,000 retailers
//! still loads.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use domain::forecast::view::ActualsReport;
use domain::ErrorBody;
use e2e::forecast::open_cycle;
use e2e::{caller, demo_end, on_both_databases, spawn_app, Backend, Caller, TestApp};

on_both_databases!(
    hostile_files_are_refused_by_both_imports_while_health_answers,
    eight_bombs_at_once_do_not_stall_health,
    a_city_month_of_actual_orders_loads,
);

/// The latency the health check must keep during an attack.
const HEALTH_BOUND: Duration = Duration::from_millis(200);

/// These tests measure latency: one at a time in this binary.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---- Workbooks written by hand, so they can say what no writer would. ----

const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const DOC: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// One zip entry: stored (method 0) or deflated (8) data, with the CRC and
/// the uncompressed size the archive declares.
struct Entry {
    name: String,
    method: u16,
    data: Vec<u8>,
    crc: u32,
    declared: u32,
}

fn stored(name: &str, text: &str) -> Entry {
    Entry {
        name: name.to_string(),
        method: 0,
        data: text.as_bytes().to_vec(),
        crc: crc32fast::hash(text.as_bytes()),
        declared: u32::try_from(text.len()).expect("small part"),
    }
}

/// A zip archive of `entries`, local headers then the central directory.
fn zip(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let offset = u32::try_from(out.len()).expect("under 4 GiB");
        let compressed = u32::try_from(entry.data.len()).expect("under 4 GiB");
        let name = entry.name.as_bytes();
        let name_len = u16::try_from(name.len()).expect("short name");
        let common = |buf: &mut Vec<u8>| {
            buf.extend(20u16.to_le_bytes()); // version needed
            buf.extend(0u16.to_le_bytes()); // flags
            buf.extend(entry.method.to_le_bytes());
            buf.extend(0u16.to_le_bytes()); // time
            buf.extend(0x21u16.to_le_bytes()); // date: 1980-01-01
            buf.extend(entry.crc.to_le_bytes());
            buf.extend(compressed.to_le_bytes());
            buf.extend(entry.declared.to_le_bytes());
            buf.extend(name_len.to_le_bytes());
            buf.extend(0u16.to_le_bytes()); // extra
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend(name);
        out.extend(&entry.data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend(0u16.to_le_bytes()); // comment
        central.extend(0u16.to_le_bytes()); // disk
        central.extend(0u16.to_le_bytes()); // internal attributes
        central.extend(0u32.to_le_bytes()); // external attributes
        central.extend(offset.to_le_bytes());
        central.extend(name);
    }
    let directory_at = u32::try_from(out.len()).expect("under 4 GiB");
    let directory_len = u32::try_from(central.len()).expect("small directory");
    let count = u16::try_from(entries.len()).expect("few entries");
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend(directory_len.to_le_bytes());
    out.extend(directory_at.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// A one-sheet workbook around `sheet` (the worksheet part), with
/// `shared` as its shared strings.
fn workbook(sheet: Entry, shared: Option<&str>) -> Vec<u8> {
    let mut entries = vec![
        stored(
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#,
        ),
        stored(
            "_rels/.rels",
            &format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        stored(
            "xl/workbook.xml",
            &format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOC}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#
            ),
        ),
        stored(
            "xl/_rels/workbook.xml.rels",
            &format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#
            ),
        ),
    ];
    if let Some(shared) = shared {
        entries.push(stored("xl/sharedStrings.xml", shared));
    }
    entries.push(sheet);
    zip(&entries)
}

fn sheet(dimension: &str, rows: &str) -> Entry {
    stored(
        "xl/worksheets/sheet1.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>"#
        ),
    )
}

fn shared_strings(count: &str) -> String {
    format!(r#"<sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}"><si><t>x</t></si></sst>"#)
}

/// A sheet part of `mib` MiB deflated while it is generated: a worksheet
/// whose sheet data is `unit` over and over.
struct Bomb {
    deflated: Vec<u8>,
    crc: u32,
    size: u32,
}

fn deflated(unit: &[u8], mib: usize) -> Bomb {
    let head = format!(r#"<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>"#);
    let tail = "</sheetData></worksheet>";
    let chunk = unit.repeat(1024 * 1024 / unit.len());
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let mut crc = crc32fast::Hasher::new();
    let mut size = 0usize;
    let mut put = |bytes: &[u8]| {
        encoder.write_all(bytes).expect("deflate");
        crc.update(bytes);
        size += bytes.len();
    };
    put(head.as_bytes());
    for _ in 0..mib {
        put(&chunk);
    }
    put(tail.as_bytes());
    Bomb {
        deflated: encoder.finish().expect("deflate"),
        crc: crc.finalize(),
        size: u32::try_from(size).expect("under 4 GiB"),
    }
}

/// 1 GiB of whitespace between two tags (about 1 MB deflated).
fn bomb() -> &'static Bomb {
    static BOMB: OnceLock<Bomb> = OnceLock::new();
    BOMB.get_or_init(|| deflated(b" ", 1024))
}

/// Empty `<x/>` elements, which no limit counts: the most work a file can
/// ask for is to declare just under the part limit (at a ratio under
/// 200:1) and inflate past it. 64 MiB (about 320 KB deflated) for the
/// sheet import's 32 MiB parts, 1 GiB (about 5 MB) for actual orders'
/// 192 MiB.
fn busy_bomb(part_limit_mib: u32) -> &'static Bomb {
    static SMALL: OnceLock<Bomb> = OnceLock::new();
    static LARGE: OnceLock<Bomb> = OnceLock::new();
    if part_limit_mib <= 32 {
        SMALL.get_or_init(|| deflated(b"<x/>", 64))
    } else {
        LARGE.get_or_init(|| deflated(b"<x/>", 1024))
    }
}

fn bomb_entry(bomb: &Bomb, declared: u32) -> Vec<u8> {
    workbook(
        Entry {
            name: "xl/worksheets/sheet1.xml".into(),
            method: 8,
            data: bomb.deflated.clone(),
            crc: bomb.crc,
            declared,
        },
        None,
    )
}

/// The bomb as a workbook, declaring its true size or, when `lying`, a
/// size equal to its compressed length.
fn bomb_workbook(lying: bool) -> Vec<u8> {
    let bomb = bomb();
    let declared = if lying {
        u32::try_from(bomb.deflated.len()).expect("small")
    } else {
        bomb.size
    };
    bomb_entry(bomb, declared)
}

/// The busy bomb declaring a size just under `part_limit_mib` and within
/// 200:1 of its compressed length.
fn busy_workbook(part_limit_mib: u32) -> Vec<u8> {
    let bomb = busy_bomb(part_limit_mib);
    let compressed = u32::try_from(bomb.deflated.len()).expect("small");
    let declared = ((part_limit_mib - 1) << 20).min(compressed.saturating_mul(195));
    bomb_entry(bomb, declared)
}

/// A valid workbook of numbers, `rows` × `columns`.
fn numbers(rows: u32, columns: u16) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for r in 0..rows {
        for c in 0..columns {
            ws.write_number(r, c, f64::from(r) * 10.0 + f64::from(c))
                .expect("write");
        }
    }
    book.save_to_buffer().expect("xlsx")
}

// ---- The server side of the test. ----

/// Everything a refused import could have touched, summed.
async fn stored_figures(app: &TestApp) -> Vec<i64> {
    let pool = &app.db().pool;
    let mut figures = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM forecast_lines",
        "SELECT COALESCE(CAST(SUM(entered) AS BIGINT), 0) FROM forecast_lines",
        "SELECT COUNT(*) FROM monthly_orders",
        "SELECT COALESCE(CAST(SUM(cartons) AS BIGINT), 0) FROM monthly_orders",
        "SELECT COUNT(*) FROM audit_log WHERE action NOT IN ('login', 'login_failed')",
    ] {
        figures.push(
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        );
    }
    figures
}

/// Polls `/api/health` every 50 ms until stopped, timing each answer.
struct HealthProbe {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<Duration>>,
}

impl HealthProbe {
    fn start(app: &TestApp) -> HealthProbe {
        let stop = Arc::new(AtomicBool::new(false));
        let url = app.url("/api/health");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(50));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut latencies = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                every.tick().await;
                let started = Instant::now();
                let status = client.get(&url).send().await.map(|r| r.status().as_u16());
                latencies.push(started.elapsed());
                assert_eq!(status.ok(), Some(204), "health answers 204");
            }
            latencies
        });
        HealthProbe { stop, task }
    }

    /// Stops polling; the slowest answer and how many there were.
    async fn finish(self) -> (Duration, usize) {
        self.stop.store(true, Ordering::Relaxed);
        let latencies = self.task.await.expect("the probe ran");
        let slowest = latencies.iter().max().copied().unwrap_or_default();
        (slowest, latencies.len())
    }
}

/// An answer to a post: status, `Retry-After`, body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    text: String,
}

async fn post_once(who: &Caller, app: &TestApp, path: &str, body: &[u8]) -> Answer {
    let response = who
        .client
        .post(app.url(path))
        .header("X-CSRF-Token", &who.csrf)
        .header("content-type", "application/octet-stream")
        .timeout(Duration::from_secs(120))
        .body(body.to_vec())
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Answer {
        status,
        retry_after,
        text: response.text().await.unwrap_or_default(),
    }
}

/// Posts, and when the server is busy parsing other files (503 with
/// `Retry-After`, as other tests' uploads may hold the parse slots) tries
/// again after the time it asks for, as a client would.
async fn post(who: &Caller, app: &TestApp, path: &str, body: &[u8]) -> Answer {
    for _ in 0..10 {
        let answer = post_once(who, app, path, body).await;
        if answer.status != 503 {
            return answer;
        }
        let wait: u64 = answer
            .retry_after
            .as_deref()
            .and_then(|v| v.parse().ok())
            .expect("a 503 says when to retry");
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    panic!("POST {path} stayed busy");
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// What one route must answer to one file.
struct Expect {
    status: &'static [u16],
    /// Text the message must contain.
    says: &'static str,
}

struct Case {
    name: &'static str,
    body: Vec<u8>,
    forecast: Expect,
    actuals: Expect,
}

const fn expect(status: &'static [u16], says: &'static str) -> Expect {
    Expect { status, says }
}

/// The refusals seen: (largest refused workbook, its name), largest body.
#[derive(Default)]
struct Seen {
    largest_workbook: (usize, &'static str),
    largest_body: usize,
    lines: Vec<String>,
}

async fn refused(
    app: &TestApp,
    who: &Caller,
    path: &str,
    case: &Case,
    expected: &Expect,
    seen: &mut Seen,
) {
    let before = stored_figures(app).await;
    let answer = post(who, app, path, &case.body).await;
    let route = if path.contains("actuals") {
        "actuals"
    } else {
        "forecast"
    };
    assert!(
        expected.status.contains(&answer.status),
        "{} → {route}: {}, expected {:?}: {:.300}",
        case.name,
        answer.status,
        expected.status,
        answer.text
    );
    assert!(
        answer.text.len() < 256 * 1024,
        "{} → {route}: an error body of {} bytes",
        case.name,
        answer.text.len()
    );
    let body: ErrorBody = serde_json::from_str(&answer.text).unwrap_or_else(|e| {
        panic!(
            "{} → {route}: not the error body ({e}): {:.300}",
            case.name, answer.text
        )
    });
    assert!(
        has_chinese(&body.message),
        "{} → {route}: a Chinese message: {}",
        case.name,
        body.message
    );
    assert!(
        body.message.contains(expected.says),
        "{} → {route}: says {:?}: {}",
        case.name,
        expected.says,
        body.message
    );
    assert_eq!(
        stored_figures(app).await,
        before,
        "{} → {route}: nothing stored",
        case.name
    );
    if case.body.starts_with(b"PK") && case.body.len() > seen.largest_workbook.0 {
        seen.largest_workbook = (case.body.len(), case.name);
    }
    seen.largest_body = seen.largest_body.max(case.body.len());
    seen.lines.push(format!(
        "{} → {route} {}: {}",
        case.name, answer.status, body.message
    ));
}

async fn hostile_files_are_refused_by_both_imports_while_health_answers(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let app = spawn_app(backend).await;
    let cycle = open_cycle(&app, domain::forecast::Scope::All, 2).await;
    let cm = caller(&app, "cm01").await;
    let center = caller(&app, "center").await;
    let sheet_path = format!("/api/forecast/cycles/{}/sheet/import", cycle.id);
    let actuals_path = format!("/api/forecast/actuals?month={}", demo_end());

    // The files, made before the clock starts.
    let cases = tokio::task::spawn_blocking(|| {
        let a1 = r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#;
        let mut csv = String::from("licence_no,spec_code,cartons\n");
        for _ in 0..1_100_000 {
            csv.push_str("1,2,3\n");
        }
        vec![
            Case {
                name: "a hand-made workbook within every limit (control)",
                body: workbook(sheet("A1", a1), Some(&shared_strings("1"))),
                // Read, then refused for its content: no limit named.
                forecast: expect(&[422], "处错误"),
                actuals: expect(&[422], "行有误"),
            },
            Case {
                name: "shared strings declaring uniqueCount=4000000000",
                body: workbook(sheet("A1", a1), Some(&shared_strings("4000000000"))),
                forecast: expect(&[422], "共享字符串超过"),
                actuals: expect(&[422], "共享字符串超过 2,200,000 个上限"),
            },
            Case {
                name: "a cell at XFD1048576",
                body: workbook(
                    sheet(
                        "A1",
                        r#"<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#,
                    ),
                    None,
                ),
                forecast: expect(&[422], "行上限"),
                actuals: expect(&[422], "工作表超过 64 列上限"),
            },
            Case {
                name: "a dimension of A1:XFD1048576",
                body: workbook(sheet("A1:XFD1048576", a1), Some(&shared_strings("1"))),
                forecast: expect(&[422], "上限"),
                actuals: expect(&[422], "工作表超过 64 列上限"),
            },
            Case {
                name: "a 1 GiB sheet deflated (zip bomb)",
                body: bomb_workbook(false),
                forecast: expect(&[413], "解压后超过 32 MB 上限"),
                actuals: expect(&[413], "解压后超过 192 MB 上限"),
            },
            Case {
                name: "a 1 GiB sheet declared as 1 MB (lying zip bomb)",
                body: bomb_workbook(true),
                forecast: expect(&[422], "文件结构异常"),
                actuals: expect(&[422], "文件结构异常"),
            },
            Case {
                name: "one 60,000-character shared string in 300,000 cells",
                body: {
                    // Varied text, so that it does not compress away.
                    let long: String = (0..60_000u32)
                        .map(|i| char::from(b'a' + ((i * 7 + i / 13) % 26) as u8))
                        .collect();
                    let shared = format!(
                        r#"<sst xmlns="{MAIN}" count="300000" uniqueCount="1"><si><t>{long}</t></si></sst>"#
                    );
                    let mut rows = String::with_capacity(10_000_000);
                    for r in 1..=100_000 {
                        rows.push_str(&format!(
                            r#"<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="B{r}" t="s"><v>0</v></c><c r="C{r}" t="s"><v>0</v></c></row>"#
                        ));
                    }
                    workbook(sheet("A1:C100000", &rows), Some(&shared))
                },
                // Over the sheet import's 4 MiB body limit.
                forecast: expect(&[413], "请求内容过大"),
                // Read with each cell's text cut to 64 bytes (before, the
                // copies took 6 GB and the 30 s deadline), then every row
                // is refused, and the answer does not echo the long text.
                actuals: expect(&[422], "行有误"),
            },
            Case {
                name: "a valid workbook of 100,000 rows",
                body: numbers(100_000, 3),
                forecast: expect(&[422], "行上限"),
                // Within the file limits; every row is then refused.
                actuals: expect(&[422], "行有误"),
            },
            Case {
                name: "a valid workbook 70 columns wide",
                body: numbers(20, 70),
                forecast: expect(&[422], "列上限"),
                actuals: expect(&[422], "工作表超过 64 列上限"),
            },
            Case {
                name: "a CSV of 1,100,001 lines",
                body: csv.into_bytes(),
                // Over the sheet import's 4 MiB before anything reads it.
                forecast: expect(&[413], "请求内容过大"),
                actuals: expect(&[422], "文件超过 1,100,000 行上限"),
            },
            Case {
                name: "a 5 MiB body without newlines",
                body: vec![b'7'; 5 * 1024 * 1024],
                forecast: expect(&[413], "请求内容过大"),
                actuals: expect(&[422], "字节上限"),
            },
            Case {
                name: "a 33 MiB body",
                body: vec![b'7'; 33 * 1024 * 1024],
                forecast: expect(&[413], "请求内容过大"),
                actuals: expect(&[413], "请求内容过大"),
            },
        ]
    })
    .await
    .expect("the files");

    let probe = HealthProbe::start(&app);
    let mut seen = Seen::default();
    for case in &cases {
        refused(&app, &cm, &sheet_path, case, &case.forecast, &mut seen).await;
        refused(&app, &center, &actuals_path, case, &case.actuals, &mut seen).await;
    }
    let (slowest, probes) = probe.finish().await;
    eprintln!("{}", seen.lines.join("\n"));
    eprintln!(
        "[{backend:?}] largest refused workbook: {} KiB ({}); largest refused body: {} KiB; health max {} ms over {probes} probes",
        seen.largest_workbook.0 / 1024,
        seen.largest_workbook.1,
        seen.largest_body / 1024,
        slowest.as_millis()
    );
    assert!(
        probes >= 5,
        "health was polled during the attack ({probes})"
    );
    assert!(
        slowest < HEALTH_BOUND,
        "health answered within {HEALTH_BOUND:?} during the attack; slowest {slowest:?}"
    );
}

async fn eight_bombs_at_once_do_not_stall_health(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let app = Arc::new(spawn_app(backend).await);
    let cycle = open_cycle(&app, domain::forecast::Scope::All, 2).await;
    let cm = Arc::new(caller(&app, "cm01").await);
    let center = Arc::new(caller(&app, "center").await);
    let sheet_path = format!("/api/forecast/cycles/{}/sheet/import", cycle.id);
    let actuals_path = format!("/api/forecast/actuals?month={}", demo_end());
    // Four that inflate to just under each route's part limit before they
    // are refused (32 MiB for the sheet, 192 MiB for actual orders), then
    // four refused from the zip directory or within the first megabyte.
    let bombs = tokio::task::spawn_blocking(|| {
        [
            busy_workbook(32),
            busy_workbook(192),
            busy_workbook(32),
            busy_workbook(192),
            bomb_workbook(false),
            bomb_workbook(false),
            bomb_workbook(true),
            bomb_workbook(true),
        ]
    })
    .await
    .expect("bombs");
    let largest = bombs.iter().map(Vec::len).max().unwrap_or_default();
    let before = stored_figures(&app).await;

    let probe = HealthProbe::start(&app);
    let started = Instant::now();
    let mut uploads = Vec::new();
    for (i, body) in bombs.into_iter().enumerate() {
        let (who, path) = if i % 2 == 0 {
            (cm.clone(), sheet_path.clone())
        } else {
            (center.clone(), actuals_path.clone())
        };
        let app = app.clone();
        uploads.push(tokio::spawn(async move {
            let sent = Instant::now();
            let answer = post_once(&who, &app, &path, &body).await;
            (answer, path, sent.elapsed())
        }));
    }
    let mut answers = Vec::new();
    for upload in uploads {
        let (answer, path, took) = upload.await.expect("upload");
        let body: ErrorBody = serde_json::from_str(&answer.text)
            .unwrap_or_else(|e| panic!("{path}: the error body ({e}): {:.300}", answer.text));
        assert!(has_chinese(&body.message), "{path}: {}", body.message);
        match answer.status {
            413 | 422 => {}
            503 => assert!(
                answer.retry_after.is_some(),
                "{path}: 503 says when to retry"
            ),
            other => panic!("{path}: {other}: {}", body.message),
        }
        answers.push(format!(
            "{} in {} ms ({})",
            answer.status,
            took.as_millis(),
            body.message
        ));
    }
    let elapsed = started.elapsed();
    let (slowest, probes) = probe.finish().await;
    assert_eq!(stored_figures(&app).await, before, "nothing stored");
    eprintln!(
        "[{backend:?}] 8 bombs (largest {} KiB) at once:\n  {}\nall answered in {} ms; health max {} ms over {probes} probes",
        largest / 1024,
        answers.join("\n  "),
        elapsed.as_millis(),
        slowest.as_millis()
    );
    assert!(probes >= 1, "health was polled");
    assert!(
        slowest < HEALTH_BOUND,
        "health answered within {HEALTH_BOUND:?} under 8 bombs; slowest {slowest:?}"
    );
}

async fn a_city_month_of_actual_orders_loads(backend: Backend) {
    let _serial = SERIAL.lock().await;
    let app = spawn_app(backend).await;
    let pool = &app.db().pool;
    // A city: 30,000 retailers more, under the first demo retailer's
    // department, manager and class.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) \
         INSERT INTO retailers (licence_no, name, market_unit_id, manager_id, class_code) \
         SELECT '9' || CAST(100000000000 + n.i AS TEXT), '城市零售户' || CAST(n.i AS TEXT), \
                r.market_unit_id, r.manager_id, r.class_code \
         FROM n, (SELECT market_unit_id, manager_id, class_code FROM retailers ORDER BY id LIMIT 1) r",
    )
    .execute(pool)
    .await
    .expect("a city of retailers");
    let licences: Vec<String> = sqlx::query_scalar(
        "SELECT licence_no FROM retailers WHERE licence_no LIKE '9%' ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .expect("licences");
    let codes: Vec<String> = sqlx::query_scalar("SELECT code FROM specs ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("spec codes");
    assert_eq!(licences.len(), 30_000);

    // About 13 MB: a line per retailer and spec, spec by spec.
    let target = 13 * 1000 * 1000;
    let mut csv = String::from("许可证号,品规编码,条数\n");
    let (mut lines, mut cartons) = (0usize, 0i64);
    'fill: for code in &codes {
        for (i, licence) in licences.iter().enumerate() {
            let n = (i % 40) as i64 + 1;
            csv.push_str(&format!("{licence},{code},{n}\n"));
            lines += 1;
            cartons += n;
            if csv.len() >= target {
                break 'fill;
            }
        }
    }
    assert!(
        csv.len() >= target,
        "the specs fill 13 MB ({} bytes)",
        csv.len()
    );

    let center = caller(&app, "center").await;
    let month = demo_end();
    let started = Instant::now();
    let answer = post(
        &center,
        &app,
        &format!("/api/forecast/actuals?month={month}"),
        csv.as_bytes(),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(answer.status, 200, "the month loads: {:.300}", answer.text);
    let report: ActualsReport = serde_json::from_str(&answer.text).expect("report");
    assert_eq!((report.rows, report.cartons), (lines, cartons));
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM monthly_orders WHERE month = $1")
        .bind(month.to_string())
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(stored, i64::try_from(lines).expect("count"));
    eprintln!(
        "[{backend:?}] a city month of actual orders: {:.1} MB, {lines} lines, loaded in {} ms",
        csv.len() as f64 / 1e6,
        elapsed.as_millis()
    );
}
