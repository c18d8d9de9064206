//! Files uploaded by users (xlsx workbooks and CSV) are untrusted. Before
//! calamine sees a workbook, its zip directory, the real decompressed size
//! of every part, the shared-string counts, the sheet's dimension and its
//! cell references are checked against limits that suit the import; the
//! parse itself runs on a blocking thread, at most [`PARSE_SLOTS`] at once,
//! with a deadline. Past a limit the answer is 413 (size) or 422
//! (structure) with the project's error body, naming the limit.

mod package;
mod scan;
pub mod table;

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use domain::forecast::view::SheetView;
use domain::{ErrorBody, ErrorCode, Lang};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};
use crate::xlsx;

/// Parses of uploaded files running at once; more wait for a slot.
pub const PARSE_SLOTS: usize = 2;
/// How long an upload waits for a parse slot before 503.
pub const SLOT_WAIT: Duration = Duration::from_secs(5);
/// The `Retry-After` of that 503, in seconds.
const RETRY_AFTER_SECONDS: u64 = 5;
/// Wall-clock time a parse may take before the upload is refused as too complex.
pub const PARSE_DEADLINE: Duration = Duration::from_secs(30);

/// The actual-orders import takes a whole month of a city in one file
/// (about 13 MB of CSV); every other route keeps the configured default.
pub const ACTUALS_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// A delivery file of the order and supply system: a few order days of a
/// city, as large as a month of actual orders at most.
pub const DELIVERIES_BODY_LIMIT: usize = ACTUALS_BODY_LIMIT;
/// Routes whose body may be larger than the configured default, by route path.
const LARGER_BODIES: &[(&str, usize)] = &[
    ("/api/forecast/actuals", ACTUALS_BODY_LIMIT),
    ("/api/replenishment/deliveries", DELIVERIES_BODY_LIMIT),
    (
        "/api/masterdata/imports",
        crate::routes::masterdata::IMPORT_BODY_LIMIT,
    ),
    (
        "/api/masterdata/imports/{id}/apply",
        crate::routes::masterdata::IMPORT_BODY_LIMIT,
    ),
];

/// Columns an actual-orders row is read by: licence, spec code, cartons.
/// Cells further right only matter for being there (a row with any of them
/// is not blank), so at most one of them is kept.
const ACTUAL_COLUMNS: usize = 3;
/// A CSV line of actual orders longer than this is refused.
const MAX_LINE_BYTES: usize = 4096;

const MIB: u64 = 1024 * 1024;
/// Parts smaller than this are not held to the compression ratio.
const RATIO_FLOOR: u64 = MIB;

/// The body limit of `request`: larger than `default` for the routes in
/// [`LARGER_BODIES`] (which also carry a matching `DefaultBodyLimit` layer).
pub fn body_limit(request: &Request, default: usize) -> usize {
    request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|path| LARGER_BODIES.iter().find(|(p, _)| *p == path.as_str()))
        .map_or(default, |&(_, limit)| limit.max(default))
}

/// What one import accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Files in the zip archive.
    pub entries: usize,
    /// Decompressed bytes of one part.
    pub part_bytes: u64,
    /// Decompressed bytes of all parts together.
    pub total_bytes: u64,
    /// Decompressed : compressed, for parts over [`RATIO_FLOOR`].
    pub ratio: u64,
    /// Worksheet rows (the row index of every cell is below this).
    pub rows: u32,
    /// Worksheet columns.
    pub columns: u32,
    /// Shared strings, declared or present.
    pub strings: u64,
}

impl Limits {
    /// A customer manager's forecast sheet: the export's two header rows
    /// and four fixed columns around the sheet's retailers and specs, with
    /// room for a few notes.
    pub fn forecast_sheet(retailers: usize, specs: usize) -> Limits {
        let rows = clamp_u32(retailers + 2 + 50);
        let columns = clamp_u32(specs + 4 + 16);
        Limits {
            entries: 200,
            part_bytes: 32 * MIB,
            total_bytes: 64 * MIB,
            ratio: 200,
            rows,
            columns,
            strings: u64::from(rows) * u64::from(columns) + 1_000,
        }
    }

    /// A month of actual orders: generous but bounded. A row of three
    /// cells is about 130 bytes of sheet XML, so 1,048,576 rows (Excel's
    /// most) stay under the part limit.
    pub fn actual_orders() -> Limits {
        Limits {
            entries: 200,
            part_bytes: 192 * MIB,
            total_bytes: 256 * MIB,
            ratio: 200,
            rows: 1_100_000,
            columns: 64,
            strings: 2_200_000,
        }
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    TooManyEntries(usize),
    PartTooLarge(u64),
    TooLargeUnpacked(u64),
    Ratio(u64),
    /// A part decompressed to more than its declared size.
    SizeMismatch,
    TooManyStrings(u64),
    BadCount,
    TooManyRows(u32),
    TooManyColumns(u32),
    /// CSV records.
    TooManyLines(u32),
    BadReference,
    /// A tag or a run of text longer than any real workbook has.
    Oversized(usize),
    /// A DOCTYPE or another declaration OOXML never uses.
    Declaration,
    LineTooLong {
        line: usize,
        limit: usize,
    },
    /// Past [`PARSE_DEADLINE`].
    TooComplex,
    /// The parser panicked on the file.
    Unparseable,
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::PartTooLarge(_) | Refusal::TooLargeUnpacked(_) | Refusal::Ratio(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub(crate) fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let pick = |zh_text: String, en_text: String| if zh { zh_text } else { en_text };
        match self {
            Refusal::TooManyEntries(n) => pick(
                format!("压缩包内文件超过 {} 个上限", grouped(*n as u64)),
                format!("The archive holds more than {} files", grouped(*n as u64)),
            ),
            Refusal::PartTooLarge(bytes) => pick(
                format!("文件中有一部分解压后超过 {} MB 上限", bytes / MIB),
                format!(
                    "A part of the file exceeds {} MB when unpacked",
                    bytes / MIB
                ),
            ),
            Refusal::TooLargeUnpacked(bytes) => pick(
                format!("文件解压后超过 {} MB 上限", bytes / MIB),
                format!("The file exceeds {} MB when unpacked", bytes / MIB),
            ),
            Refusal::Ratio(ratio) => pick(
                format!("文件压缩比超过 {ratio}:1 上限（疑似压缩炸弹）"),
                format!("The file is compressed more than {ratio}:1 (a zip bomb?)"),
            ),
            Refusal::SizeMismatch => pick(
                "文件结构异常：压缩包内文件的实际大小与声明不符".into(),
                "Malformed file: a part is larger than the archive declares".into(),
            ),
            Refusal::TooManyStrings(n) => pick(
                format!("共享字符串超过 {} 个上限", grouped(*n)),
                format!("The workbook has more than {} shared strings", grouped(*n)),
            ),
            Refusal::BadCount => pick(
                "文件结构异常：共享字符串数量无效".into(),
                "Malformed file: the shared-string count is not a number".into(),
            ),
            Refusal::TooManyRows(n) => pick(
                format!("工作表超过 {} 行上限", grouped(u64::from(*n))),
                format!("The sheet has more than {} rows", grouped(u64::from(*n))),
            ),
            Refusal::TooManyLines(n) => pick(
                format!("文件超过 {} 行上限", grouped(u64::from(*n))),
                format!("The file has more than {} lines", grouped(u64::from(*n))),
            ),
            Refusal::TooManyColumns(n) => pick(
                format!("工作表超过 {} 列上限", grouped(u64::from(*n))),
                format!("The sheet has more than {} columns", grouped(u64::from(*n))),
            ),
            Refusal::BadReference => pick(
                "文件结构异常：单元格引用无效".into(),
                "Malformed file: a cell reference is not valid".into(),
            ),
            Refusal::Oversized(limit) => pick(
                format!(
                    "文件结构异常：单个元素或文本超过 {} KB 上限",
                    grouped(*limit as u64 / 1024)
                ),
                format!(
                    "Malformed file: an element or text exceeds {} KB",
                    grouped(*limit as u64 / 1024)
                ),
            ),
            Refusal::Declaration => pick(
                "文件结构异常：含有 xlsx 不使用的 DOCTYPE 或声明".into(),
                "Malformed file: it holds a DOCTYPE or declaration xlsx never uses".into(),
            ),
            Refusal::LineTooLong { line, limit } => pick(
                format!("第 {line} 行超过 {} 字节上限", grouped(*limit as u64)),
                format!(
                    "Line {line} is longer than {} bytes",
                    grouped(*limit as u64)
                ),
            ),
            Refusal::TooComplex => pick(
                format!("文件过于复杂，{} 秒内未能读完", PARSE_DEADLINE.as_secs()),
                format!(
                    "The file is too complex to read within {} seconds",
                    PARSE_DEADLINE.as_secs()
                ),
            ),
            Refusal::Unparseable => pick(
                "文件无法解析，请使用导出的模板或另存为标准 xlsx".into(),
                "The file cannot be parsed; use the exported layout or save it as a standard xlsx"
                    .into(),
            ),
        }
    }

    pub(crate) fn into_api_error(self, lang: Lang) -> ApiError {
        tracing::warn!(refusal = ?self, "untrusted upload refused");
        let code = if self.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorCode::PayloadTooLarge
        } else {
            ErrorCode::Validation
        };
        let message = self.message(lang);
        ApiError::Client(
            self.status(),
            ErrorBody::new(code, message.clone()).with_field("file", message),
        )
    }
}

/// `1100000` as `1,100,000`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The rows of an actual-orders file: 1-based line number and cells.
pub type Rows = Vec<(usize, Vec<String>)>;

/// Why a workbook was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// Not a workbook calamine can open; the import answers as it always has.
    NotXlsx,
    Refused(Refusal),
}

impl From<Refusal> for ReadError {
    fn from(refusal: Refusal) -> Self {
        ReadError::Refused(refusal)
    }
}

/// The wall-clock bound of one parse, checked as it goes so that a slow
/// file frees its thread instead of running on after the answer.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    deadline: Instant,
}

impl Budget {
    pub fn new(time: Duration) -> Budget {
        Budget {
            deadline: Instant::now() + time,
        }
    }

    pub fn check(&self) -> Result<(), Refusal> {
        if Instant::now() > self.deadline {
            Err(Refusal::TooComplex)
        } else {
            Ok(())
        }
    }
}

/// What the streaming cell reader checks before keeping a cell: its
/// position against the limits, and the deadline.
pub struct Guard<'a> {
    limits: &'a Limits,
    budget: &'a Budget,
    cells: u32,
}

impl<'a> Guard<'a> {
    pub fn new(limits: &'a Limits, budget: &'a Budget) -> Guard<'a> {
        Guard {
            limits,
            budget,
            cells: 0,
        }
    }

    pub fn cell(&mut self, row: u32, col: u32) -> Result<(), Refusal> {
        if row >= self.limits.rows {
            return Err(Refusal::TooManyRows(self.limits.rows));
        }
        if col >= self.limits.columns {
            return Err(Refusal::TooManyColumns(self.limits.columns));
        }
        self.cells = self.cells.wrapping_add(1);
        if self.cells.is_multiple_of(1024) {
            self.budget.check()?;
        }
        Ok(())
    }
}

static SLOTS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(PARSE_SLOTS)));

/// Runs `parse` on a blocking thread once one of the global parse slots is
/// free. The slot is held by the thread, not by the request, so a parse
/// that outlives its request (past the deadline, the answer goes out and
/// the thread finishes in the background) still counts against the bound.
pub(crate) async fn off_the_runtime<T: Send + 'static>(
    lang: Lang,
    parse: impl FnOnce(&Budget) -> Result<T, Refusal> + Send + 'static,
) -> ApiResult<T> {
    run_in_slot(&SLOTS, SLOT_WAIT, PARSE_DEADLINE, lang, parse).await
}

async fn run_in_slot<T: Send + 'static>(
    slots: &Arc<Semaphore>,
    wait: Duration,
    deadline: Duration,
    lang: Lang,
    parse: impl FnOnce(&Budget) -> Result<T, Refusal> + Send + 'static,
) -> ApiResult<T> {
    let slot = match tokio::time::timeout(wait, slots.clone().acquire_owned()).await {
        Ok(Ok(slot)) => slot,
        _ => {
            let message = lang
                .pick(
                    "正在处理的文件较多，请稍后重试",
                    "The server is busy reading other files; try again shortly",
                )
                .to_string();
            return Err(ApiError::Retry(
                StatusCode::SERVICE_UNAVAILABLE,
                RETRY_AFTER_SECONDS,
                ErrorBody::new(ErrorCode::Unavailable, message.clone()).with_field("file", message),
            ));
        }
    };
    let budget = Budget::new(deadline);
    let task = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        parse(&budget)
    });
    // The parse checks its budget as it goes; this is the bound for a
    // parser stuck between checks (the thread then finishes unobserved).
    match tokio::time::timeout(deadline + Duration::from_secs(2), task).await {
        Ok(Ok(Ok(value))) => Ok(value),
        Ok(Ok(Err(refusal))) => Err(refusal.into_api_error(lang)),
        Ok(Err(join)) => {
            tracing::error!(error = %join, "a file parser failed");
            Err(Refusal::Unparseable.into_api_error(lang))
        }
        Err(_) => Err(Refusal::TooComplex.into_api_error(lang)),
    }
}

/// Reads a forecast sheet upload: the checks of [`Limits::forecast_sheet`],
/// then [`xlsx::read_sheet`]. The inner error is the cell errors of a
/// workbook that was read (or the "not an xlsx" error), as before.
pub async fn read_sheet(
    body: Bytes,
    view: SheetView,
    lang: Lang,
) -> ApiResult<Result<xlsx::Parsed, Vec<(String, String)>>> {
    off_the_runtime(lang, move |budget| {
        let limits = Limits::forecast_sheet(view.rows.len(), view.specs.len());
        match package::inspect(&body, &limits, budget) {
            Ok(()) => {}
            Err(ReadError::NotXlsx) => return Ok(Err(xlsx::not_xlsx(lang))),
            Err(ReadError::Refused(refusal)) => return Err(refusal),
        }
        xlsx::read_sheet(&body, &view, lang, &mut Guard::new(&limits, budget))
    })
    .await
}

/// The rows of an actual-orders file with their 1-based line numbers: an
/// xlsx workbook (it starts with `PK`) or UTF-8 CSV, within
/// [`Limits::actual_orders`]. `None` when it is neither, as before.
pub async fn actual_rows(body: Bytes, lang: Lang) -> ApiResult<Option<Rows>> {
    off_the_runtime(lang, move |budget| {
        let limits = Limits::actual_orders();
        if body.starts_with(b"PK") {
            let read = package::inspect(&body, &limits, budget)
                .and_then(|()| xlsx::read_rows(&body, &mut Guard::new(&limits, budget)));
            match read {
                Ok(rows) => Ok(Some(rows)),
                Err(ReadError::NotXlsx) => Ok(None),
                Err(ReadError::Refused(refusal)) => Err(refusal),
            }
        } else {
            csv_rows(&body, &limits, budget)
        }
    })
    .await
}

fn csv_rows(body: &[u8], limits: &Limits, budget: &Budget) -> Result<Option<Rows>, Refusal> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Ok(None);
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut rows = Vec::new();
    let mut start = 0;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(_) => return Ok(None),
        }
        let line = rows.len() + 1;
        let end = reader.position().byte();
        if end.saturating_sub(start) > MAX_LINE_BYTES as u64 {
            return Err(Refusal::LineTooLong {
                line,
                limit: MAX_LINE_BYTES,
            });
        }
        start = end;
        if line > limits.rows as usize {
            return Err(Refusal::TooManyLines(limits.rows));
        }
        if line.is_multiple_of(4096) {
            budget.check()?;
        }
        rows.push((line, actual_row(record.iter().map(str::to_string))));
    }
    Ok(Some(rows))
}

/// The cells of one actual-orders row as the row check reads them: the
/// first [`ACTUAL_COLUMNS`], then the first non-blank cell after them, if
/// any. Keeping every cell would let a line of commas cost 24 bytes each.
pub(crate) fn actual_row(cells: impl Iterator<Item = String>) -> Vec<String> {
    let mut row = Vec::with_capacity(ACTUAL_COLUMNS + 1);
    for (i, cell) in cells.enumerate() {
        if i < ACTUAL_COLUMNS {
            row.push(cell);
        } else if !cell.trim().is_empty() {
            row.push(cell);
            break;
        }
    }
    row
}

/// An actual-orders row being read from a workbook: its first
/// [`ACTUAL_COLUMNS`] cells and the first non-blank one further right.
#[derive(Debug, Default)]
pub(crate) struct ActualRow {
    cells: [Option<String>; ACTUAL_COLUMNS],
    further: Option<String>,
}

impl ActualRow {
    pub(crate) fn set(&mut self, col: u32, text: String) {
        match self.cells.get_mut(col as usize) {
            Some(cell) => *cell = Some(text),
            None if self.further.is_none() && !text.trim().is_empty() => self.further = Some(text),
            None => {}
        }
    }

    /// Adds the cells of the same row met later in the file.
    pub(crate) fn merge(&mut self, later: ActualRow) {
        for (cell, text) in self.cells.iter_mut().zip(later.cells) {
            if text.is_some() {
                *cell = text;
            }
        }
        if self.further.is_none() {
            self.further = later.further;
        }
    }

    /// The cells, padded with empty ones to `width` (the sheet's used
    /// columns) as far as the row check reads.
    pub(crate) fn into_cells(self, width: usize) -> Vec<String> {
        let shown = width.min(ACTUAL_COLUMNS);
        let mut out: Vec<String> = self
            .cells
            .into_iter()
            .take(shown)
            .map(Option::unwrap_or_default)
            .collect();
        out.extend(self.further);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_grouped_in_messages() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_100_000), "1,100,000");
        assert_eq!(
            Refusal::TooManyRows(1_100_000).message(Lang::Zh),
            "工作表超过 1,100,000 行上限"
        );
        assert_eq!(
            Refusal::TooLargeUnpacked(64 * MIB).message(Lang::Zh),
            "文件解压后超过 64 MB 上限"
        );
    }

    #[test]
    fn sizes_answer_413_and_structure_422_with_the_file_named() {
        for (refusal, status) in [
            (Refusal::TooLargeUnpacked(64 * MIB), 413),
            (Refusal::PartTooLarge(32 * MIB), 413),
            (Refusal::Ratio(200), 413),
            (Refusal::TooManyStrings(10), 422),
            (Refusal::TooManyColumns(64), 422),
            (Refusal::TooComplex, 422),
        ] {
            let (got, body) = match refusal.clone().into_api_error(Lang::Zh) {
                ApiError::Client(got, body) => (got, body),
                other => panic!("{refusal:?} is a client error: {other:?}"),
            };
            assert_eq!(got.as_u16(), status, "{refusal:?}");
            assert!(body.fields.contains_key("file"), "{refusal:?}");
        }
    }

    #[test]
    fn the_forecast_sheet_limits_follow_its_retailers_and_specs() {
        let limits = Limits::forecast_sheet(120, 30);
        assert_eq!(limits.rows, 120 + 2 + 50);
        assert_eq!(limits.columns, 30 + 4 + 16);
        let mut budget_limits = limits.clone();
        budget_limits.rows = 3;
        let budget = Budget::new(Duration::from_secs(5));
        let mut guard = Guard::new(&budget_limits, &budget);
        assert_eq!(guard.cell(2, 49), Ok(()));
        assert_eq!(guard.cell(3, 0), Err(Refusal::TooManyRows(3)));
        assert_eq!(guard.cell(0, 50), Err(Refusal::TooManyColumns(50)));
    }

    #[test]
    fn a_csv_past_its_line_limits_is_refused() {
        let limits = Limits {
            rows: 3,
            ..Limits::actual_orders()
        };
        let budget = Budget::new(Duration::from_secs(5));
        let ok = csv_rows(
            b"\xef\xbb\xbfa,b,1\nc,d,2,,,\ne,f,3,,x,y\n",
            &limits,
            &budget,
        )
        .expect("within the limits")
        .expect("readable");
        assert_eq!(
            ok,
            vec![
                (1, vec!["a".into(), "b".into(), "1".into()]),
                (2, vec!["c".into(), "d".into(), "2".into()]),
                (3, vec!["e".into(), "f".into(), "3".into(), "x".into()]),
            ]
        );
        assert_eq!(
            csv_rows(b"a,b,1\na,b,1\na,b,1\na,b,1\n", &limits, &budget),
            Err(Refusal::TooManyLines(3))
        );
        let long = format!("a,b,1\n{},b,1\n", "x".repeat(MAX_LINE_BYTES));
        assert_eq!(
            csv_rows(long.as_bytes(), &limits, &budget),
            Err(Refusal::LineTooLong {
                line: 2,
                limit: MAX_LINE_BYTES
            })
        );
        assert_eq!(csv_rows(b"\xff\xfe,1", &limits, &budget), Ok(None));
    }

    #[test]
    fn a_row_of_a_workbook_keeps_what_the_row_check_reads() {
        let mut row = ActualRow::default();
        row.set(1, "S1".into());
        row.set(40, " ".into());
        row.set(63, "note".into());
        row.set(62, "later".into());
        assert_eq!(row.into_cells(64), vec!["", "S1", "", "note"]);
        let mut narrow = ActualRow::default();
        narrow.set(0, "L1".into());
        assert_eq!(narrow.into_cells(2), vec!["L1", ""]);
    }

    /// The limit the middleware sees for a request to `uri` routed by `path`.
    async fn limit_of(path: &str, uri: &str) -> usize {
        use axum::middleware::{from_fn, Next};
        let app: axum::Router = axum::Router::new()
            .route(path, axum::routing::post(|| async {}))
            .layer(from_fn(|request: Request, _next: Next| async move {
                body_limit(&request, 4096).to_string()
            }));
        let request = Request::post(uri)
            .body(axum::body::Body::empty())
            .expect("request");
        let response = tower::ServiceExt::oneshot(app, request)
            .await
            .expect("response");
        let text = axum::body::to_bytes(response.into_body(), 64)
            .await
            .expect("body");
        String::from_utf8_lossy(&text).parse().expect("a number")
    }

    #[tokio::test]
    async fn larger_bodies_are_allowed_on_their_route_only() {
        assert_eq!(
            limit_of(
                "/api/forecast/actuals",
                "/api/forecast/actuals?month=2026-09"
            )
            .await,
            ACTUALS_BODY_LIMIT
        );
        assert_eq!(
            limit_of(
                "/api/forecast/cycles/{id}/sheet/import",
                "/api/forecast/cycles/7/sheet/import"
            )
            .await,
            4096
        );
    }

    #[tokio::test]
    async fn a_full_queue_answers_503_with_retry_after() {
        let slots = Arc::new(Semaphore::new(0));
        let refused = run_in_slot(
            &slots,
            Duration::from_millis(20),
            Duration::from_secs(1),
            Lang::Zh,
            |_| Ok(()),
        )
        .await;
        let (status, seconds, body) = match refused {
            Err(ApiError::Retry(status, seconds, body)) => (status, seconds, body),
            other => panic!("503 with Retry-After: {other:?}"),
        };
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(seconds, RETRY_AFTER_SECONDS);
        assert_eq!(body.code, ErrorCode::Unavailable);
    }

    #[tokio::test]
    async fn a_parse_past_its_deadline_answers_422_too_complex() {
        let slots = Arc::new(Semaphore::new(1));
        // A parse that checks its budget refuses itself.
        let checked: ApiResult<()> = run_in_slot(
            &slots,
            Duration::from_secs(1),
            Duration::from_millis(10),
            Lang::Zh,
            |budget| loop {
                budget.check()?;
                std::thread::sleep(Duration::from_millis(2));
            },
        )
        .await;
        let (status, body) = match checked {
            Err(ApiError::Client(status, body)) => (status, body),
            other => panic!("422: {other:?}"),
        };
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(body.message.contains("文件过于复杂"), "{}", body.message);
        // The slot came back when the thread ended.
        assert_eq!(slots.available_permits(), 1);
        // A panic in a parser is a 422 about the file, not a 500.
        let panicked: ApiResult<()> = run_in_slot(
            &slots,
            Duration::from_secs(1),
            Duration::from_secs(1),
            Lang::Zh,
            |_| panic!("a parser bug"),
        )
        .await;
        assert!(
            matches!(panicked, Err(ApiError::Client(s, _)) if s == StatusCode::UNPROCESSABLE_ENTITY)
        );
    }
}
