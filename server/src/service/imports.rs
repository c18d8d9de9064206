//! Imports of the company's own files: units, staff, specs, retailers,
//! customer-manager assignment and order history.
//!
//! An upload is first checked into a preview (rows to add, change and
//! leave, every bad row named), in the background with its progress in the
//! job row, so any server process can answer the page's polling. Applying
//! sends the same file again (it must hash to the previewed one), checks
//! it again against the data as it is then, and writes everything in one
//! transaction: an upsert on the natural key (licence, spec code, login,
//! unit name), so the same file twice changes nothing. Every added or
//! changed record gets an audit entry with its old and new values.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::StatusCode;
use domain::masterdata::{
    check_mapping, field_choices, is_header, missing_fields, read_row, recognise, shown, Change,
    ColumnChoice, ImportJob, ImportKind, ImportPreview, ImportResult, ImportState, Mapping,
    MonthRows, ReadRow, Remembered, RetailerStatus, RowProblem, Value, CHANGES_LISTED,
    PROBLEMS_LISTED, REPAIRS_LISTED,
};
use domain::month::YearMonth;
use domain::org::UnitKind;
use domain::{ErrorBody, ErrorCode, Lang, Role};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::OwnedSemaphorePermit;

use crate::db::{insert_rows, now_unix, Value as DbValue};
use crate::error::{ApiError, ApiResult};
use crate::store::imports::{self as store, Job};
use crate::store::settings;
use crate::untrusted::table::{self, Table};
use crate::untrusted::{Budget, Refusal};
use crate::AppState;

/// How long one check or apply may run.
const RUN_TIME: Duration = Duration::from_secs(15 * 60);
/// A running job whose heartbeat is older than this died with its process.
pub const STALE_AFTER: i64 = 600;

fn mapping_key(kind: ImportKind) -> String {
    format!("import_mapping.{}", kind.as_str())
}

fn field_error(field: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::validation(
        ErrorBody::new(ErrorCode::Validation, message.clone()).with_field(field, message),
    )
}

fn hash(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts checking an upload; the job is answered at once and followed
/// with [`job`]. `permit` (one import per process at a time) is held until
/// the check ends.
#[allow(clippy::too_many_arguments)]
pub async fn start_check(
    state: &AppState,
    actor: (i64, Role),
    lang: Lang,
    kind: ImportKind,
    file_name: String,
    mapping: Option<Mapping>,
    body: Bytes,
    permit: OwnedSemaphorePermit,
) -> ApiResult<ImportJob> {
    if !kind.importers().contains(&actor.1) {
        return Err(ApiError::forbidden(lang));
    }
    if let Some(mapping) = &mapping {
        check_mapping(kind, mapping, lang).map_err(|m| field_error("mapping", m))?;
    }
    if body.is_empty() {
        return Err(field_error(
            "file",
            lang.pick("请选择要导入的文件", "Choose a file to import"),
        ));
    }
    let file_name = domain::masterdata::clean::text(&file_name)
        .chars()
        .take(120)
        .collect::<String>();
    let mapping_json = serde_json::to_string(&mapping).map_err(anyhow::Error::from)?;
    let id = store::insert(
        &state.db.pool,
        kind,
        actor.0,
        &file_name,
        &hash(&body),
        &mapping_json,
    )
    .await?;
    let job_state = state.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let state = job_state;
        let outcome = check(&state, id, kind, mapping, body, lang).await;
        if let Err(error) = outcome {
            let message = failure_message(&error, lang);
            tracing::warn!(job = id, %message, "import check failed");
            let _ = store::failed(&state.db.pool, id, ImportState::Failed, &message).await;
        }
    });
    job(state, lang, id).await
}

/// Applies a checked file, sent again. One apply per job: a second
/// request while it runs, or after, is refused.
pub async fn start_apply(
    state: &AppState,
    actor: (i64, Role),
    lang: Lang,
    id: i64,
    only_good_rows: bool,
    body: Bytes,
    permit: OwnedSemaphorePermit,
) -> ApiResult<ImportJob> {
    let stored = store::load(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(lang))?;
    if !stored.view.kind.importers().contains(&actor.1) {
        return Err(ApiError::forbidden(lang));
    }
    let preview = match (&stored.view.state, &stored.view.preview) {
        (ImportState::Checked, Some(preview)) => preview.clone(),
        _ => {
            return Err(ApiError::conflict(lang.pick(
                "该文件不在待导入状态（正在处理或已导入）",
                "This file is not waiting to be applied (running or applied already)",
            )))
        }
    };
    if hash(&body) != stored.file_hash {
        return Err(field_error(
            "file",
            lang.pick(
                "文件与预览时的不同，请重新上传并预览",
                "The file differs from the previewed one; upload and preview it again",
            ),
        ));
    }
    if !preview.missing.is_empty() {
        return Err(field_error(
            "mapping",
            lang.pick(
                "文件缺少必需的列，请先指定各列对应的字段",
                "Required columns are missing; map the columns first",
            ),
        ));
    }
    if preview.bad > 0 && !only_good_rows {
        return Err(field_error(
            "file",
            match lang {
                Lang::Zh => format!(
                    "文件有 {} 行有误：请修正后重新上传，或选择“仅导入正确的行”",
                    preview.bad
                ),
                Lang::En => format!(
                    "{} rows are not valid: fix the file and upload it again, or choose to apply only the good rows",
                    preview.bad
                ),
            },
        ));
    }
    if !store::transition(
        &state.db.pool,
        id,
        ImportState::Checked,
        ImportState::Applying,
    )
    .await?
    {
        return Err(ApiError::conflict(
            lang.pick("该文件已在导入中", "This file is being applied already"),
        ));
    }
    let mapping: Option<Mapping> =
        serde_json::from_str(&stored.mapping).map_err(anyhow::Error::from)?;
    let kind = stored.view.kind;
    let job_state = state.clone();
    let actor_id = actor.0;
    tokio::spawn(async move {
        let _permit = permit;
        let state = job_state;
        let outcome = apply(
            &state,
            id,
            actor_id,
            kind,
            mapping,
            body,
            only_good_rows,
            lang,
        )
        .await;
        if let Err(error) = outcome {
            let message = failure_message(&error, lang);
            tracing::warn!(job = id, %message, "import apply failed");
            let _ = store::failed(&state.db.pool, id, ImportState::Checked, &message).await;
        }
    });
    job(state, lang, id).await
}

/// A job as the page follows it; a running job whose process died is
/// reported failed.
pub async fn job(state: &AppState, lang: Lang, id: i64) -> ApiResult<ImportJob> {
    let job: Job = store::load(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found(lang))?;
    let mut view = job.view;
    if !view.state.running() {
        return Ok(view);
    }
    if let Some((done, total)) = running(id) {
        // Running here: the freshest figures, whatever the row says.
        view.done = done;
        view.total = total;
        return Ok(view);
    }
    if job.heartbeat < now_unix() - STALE_AFTER {
        let message = lang.pick(
            "处理该文件的服务器进程已停止，请重新上传",
            "The server process handling this file stopped; upload it again",
        );
        // Another process may hold SQLite's write lock for a long apply:
        // then the job is reported as it stands and marked later.
        if store::failed(&state.db.pool, id, ImportState::Failed, message)
            .await
            .is_ok()
        {
            view.state = ImportState::Failed;
            view.error = Some(message.into());
        }
    }
    Ok(view)
}

fn failure_message(error: &ApiError, lang: Lang) -> String {
    match error {
        ApiError::Client(_, body) | ApiError::Retry(_, _, body) => body.message.clone(),
        _ => lang
            .pick(
                "导入失败，未写入任何数据；请稍后重试",
                "The import failed and nothing was written; try again shortly",
            )
            .into(),
    }
}

/// Progress of the jobs running in this process, by job id. The job row
/// carries it for other processes too, but on SQLite an apply holds the
/// only write lock for its whole transaction, so the row cannot be
/// written meanwhile: this process answers from memory instead.
static RUNNING: LazyLock<Mutex<HashMap<i64, (Arc<AtomicU64>, Arc<AtomicU64>)>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn running(id: i64) -> Option<(u64, u64)> {
    let map = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    map.get(&id)
        .map(|(d, t)| (d.load(Ordering::Relaxed), t.load(Ordering::Relaxed)))
}

/// Reports `done` of `total` to the job row every half second, and to
/// [`RUNNING`], until dropped.
struct Progress {
    id: i64,
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
    reporter: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// `to_row`: also write the job row (not while this job holds
    /// SQLite's write lock).
    fn start(state: &AppState, id: i64, to_row: bool) -> Progress {
        let done = Arc::new(AtomicU64::new(0));
        let total = Arc::new(AtomicU64::new(0));
        RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (Arc::clone(&done), Arc::clone(&total)));
        let reporter = {
            let pool = state.db.pool.clone();
            let (done, total) = (Arc::clone(&done), Arc::clone(&total));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if !to_row {
                        continue;
                    }
                    let _ = store::progress(
                        &pool,
                        id,
                        done.load(Ordering::Relaxed),
                        total.load(Ordering::Relaxed),
                    )
                    .await;
                }
            })
        };
        Progress {
            id,
            done,
            total,
            reporter,
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.reporter.abort();
        RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

async fn check(
    state: &AppState,
    id: i64,
    kind: ImportKind,
    mapping: Option<Mapping>,
    body: Bytes,
    lang: Lang,
) -> ApiResult<()> {
    let progress = Progress::start(state, id, true);
    let lookups = Lookups::load(state, kind).await?;
    let remembered: Remembered = settings::get(&state.db.pool, &mapping_key(kind)).await?;
    let plan = plan(
        state, &progress, kind, mapping, remembered, body, lookups, lang,
    )
    .await?;
    drop(progress);
    let mapping_json = serde_json::to_string(&Some(&plan.mapping)).map_err(anyhow::Error::from)?;
    let preview = serde_json::to_string(&plan.preview).map_err(anyhow::Error::from)?;
    store::checked(&state.db.pool, id, &mapping_json, &preview).await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn apply(
    state: &AppState,
    id: i64,
    actor_id: i64,
    kind: ImportKind,
    mapping: Option<Mapping>,
    body: Bytes,
    only_good_rows: bool,
    lang: Lang,
) -> ApiResult<()> {
    let progress = Progress::start(state, id, state.db.backend != crate::db::Backend::Sqlite);
    let lookups = Lookups::load(state, kind).await?;
    let plan = plan(
        state,
        &progress,
        kind,
        mapping,
        Remembered::new(),
        body,
        lookups,
        lang,
    )
    .await?;
    if plan.preview.bad > 0 && !only_good_rows {
        return Err(field_error(
            "file",
            lang.pick(
                "数据已变化，文件中出现有误的行；请重新预览",
                "The data changed and the file now has bad rows; preview it again",
            ),
        ));
    }
    let mut conn = state.db.pool.acquire().await?;
    let sqlite = state.db.backend == crate::db::Backend::Sqlite;
    if sqlite {
        // A bigger page cache for this transaction (a history file writes
        // hundreds of MB of pages); set back when it ends.
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(&mut *conn)
            .await?;
    }
    let outcome = apply_in(state, &mut conn, id, actor_id, kind, &plan, &progress, lang).await;
    if sqlite {
        sqlx::query("PRAGMA cache_size = -2000")
            .execute(&mut *conn)
            .await?;
    }
    outcome?;
    drop(conn);
    drop(progress);
    if kind == ImportKind::History {
        state.db.analyze().await?;
        // The history changed: the stored baselines are computed again.
        state
            .baselines
            .request_after(
                domain::forecast::stored::RunSource::HistoryImport,
                Some(actor_id),
            )
            .await;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn apply_in(
    state: &AppState,
    conn: &mut sqlx::AnyConnection,
    id: i64,
    actor_id: i64,
    kind: ImportKind,
    plan: &Plan,
    progress: &Progress,
    lang: Lang,
) -> ApiResult<()> {
    let mut tx = state.db.begin(conn).await?;
    progress.done.store(0, Ordering::Relaxed);
    let mut result = ImportResult {
        unchanged: plan.preview.same,
        skipped: plan.preview.bad,
        ..ImportResult::default()
    };
    let postgres = state.db.backend == crate::db::Backend::Postgres;
    let audit = write(
        &mut tx,
        postgres,
        kind,
        plan,
        &progress.done,
        &mut result,
        lang,
    )
    .await?;
    let mut entries: Vec<Vec<DbValue>> = Vec::with_capacity(audit.len());
    let now = now_unix();
    for (action, entity_id, detail) in audit {
        let mut detail = detail;
        detail["import"] = json!(id);
        entries.push(vec![
            now.into(),
            Some(actor_id).into(),
            action.into(),
            kind_entity(kind).into(),
            entity_id.into(),
            detail.to_string().into(),
        ]);
    }
    insert_rows(
        &mut tx,
        "audit_log",
        &["at", "actor_id", "action", "entity", "entity_id", "detail"],
        &entries,
    )
    .await?;
    // Remember the columns chosen for these headers.
    let mut remembered: Remembered = settings::get(&state.db.pool, &mapping_key(kind)).await?;
    for (column, field) in plan.preview.columns.iter().zip(&plan.mapping) {
        let header = domain::masterdata::clean::header(&column.header);
        if plan.header_row && !header.is_empty() {
            remembered.insert(header, field.clone().unwrap_or_default());
        }
    }
    settings::set(&mut tx, &mapping_key(kind), &remembered).await?;
    let result_json = serde_json::to_string(&result).map_err(anyhow::Error::from)?;
    store::applied(&mut tx, id, &result_json).await?;
    tx.commit().await?;
    Ok(())
}

fn kind_entity(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Units => "org_unit",
        ImportKind::Staff => "user",
        ImportKind::Specs => "spec",
        ImportKind::Retailers | ImportKind::Assignment => "retailer",
        ImportKind::History => "monthly_orders",
    }
}

/// What the rows are compared with and resolved against.
#[derive(Default)]
struct Lookups {
    units: Vec<store::Unit>,
    people: Vec<store::Person>,
    /// Class code and label.
    classes: Vec<(String, String)>,
    specs: Vec<store::SpecRow>,
    retailers: Vec<store::RetailerRow>,
    licences: HashMap<String, i64>,
    /// The first month a history row may not have: the current one.
    this_month: Option<YearMonth>,
}

impl Lookups {
    async fn load(state: &AppState, kind: ImportKind) -> ApiResult<Lookups> {
        let mut conn = state.db.pool.acquire().await?;
        let mut out = Lookups {
            units: store::units(&mut conn).await?,
            people: store::people(&mut conn).await?,
            classes: store::classes(&mut conn).await?,
            ..Lookups::default()
        };
        match kind {
            ImportKind::Specs => out.specs = store::specs(&mut conn).await?,
            ImportKind::Retailers | ImportKind::Assignment => {
                out.retailers = store::retailers(&mut conn).await?
            }
            ImportKind::History => {
                out.specs = store::specs(&mut conn).await?;
                out.licences = store::licences(&mut conn).await?;
                out.this_month = Some(YearMonth::of_date(crate::clock::today()));
            }
            ImportKind::Units | ImportKind::Staff => {}
        }
        Ok(out)
    }
}

/// A record to add, or to change with its id.
struct Row {
    id: Option<i64>,
    read: ReadRow,
    /// Values resolved to ids (manager, unit, parent, class).
    ids: BTreeMap<&'static str, i64>,
    /// (field, from, to) of a change.
    changes: Vec<(&'static str, String, String)>,
}

enum Writes {
    Records(Vec<Row>),
    /// Rows to add (no such key stored) and rows to change, by month.
    History {
        add: HistoryRows,
        change: HistoryRows,
    },
}

struct Plan {
    mapping: Mapping,
    header_row: bool,
    preview: ImportPreview,
    writes: Writes,
}

/// Collects a row's problems, the counts and the examples.
struct Tally {
    preview: ImportPreview,
    bad_lines: HashSet<u64>,
}

impl Tally {
    fn problem(&mut self, line: u64, field: &str, value: &str, message: String) {
        if self.bad_lines.insert(line) {
            self.preview.bad += 1;
        }
        if self.preview.problems.len() < PROBLEMS_LISTED {
            self.preview.problems.push(RowProblem {
                line,
                field: field.into(),
                value: shown(value),
                message,
            });
        }
    }

    fn problems(&mut self, problems: Vec<RowProblem>) {
        for p in problems {
            self.problem(p.line, &p.field, &p.value, p.message);
        }
    }

    fn repairs(&mut self, row: &ReadRow, kind: ImportKind, lang: Lang) {
        for (key, from, to) in &row.repaired {
            self.preview.repaired += 1;
            if self.preview.repairs.len() < REPAIRS_LISTED {
                let label = kind
                    .fields()
                    .iter()
                    .find(|f| f.key == *key)
                    .map_or("", |f| f.label(lang));
                self.preview.repairs.push(RowProblem {
                    line: row.line,
                    field: label.into(),
                    value: shown(from),
                    message: to.clone(),
                });
            }
        }
    }
}

/// Reads the file on a blocking thread and plans the writes.
#[allow(clippy::too_many_arguments)]
async fn plan(
    state: &AppState,
    progress: &Progress,
    kind: ImportKind,
    mapping: Option<Mapping>,
    remembered: Remembered,
    body: Bytes,
    lookups: Lookups,
    lang: Lang,
) -> ApiResult<Plan> {
    let done = Arc::clone(&progress.done);
    let total = Arc::clone(&progress.total);
    let task = tokio::task::spawn_blocking(move || {
        let budget = Budget::new(RUN_TIME);
        let table = table::read(&body, &budget)?.ok_or(Refusal::Unparseable)?;
        drop(body);
        total.store(table.estimated_rows(), Ordering::Relaxed);
        Ok::<_, Refusal>(read_plan(
            &table,
            &budget,
            kind,
            mapping,
            &remembered,
            &lookups,
            &done,
            lang,
        ))
    });
    let (mut plan, history) = match task.await {
        Ok(Ok(Ok(plan))) => plan,
        Ok(Ok(Err(message))) => return Err(field_error("file", message)),
        Ok(Err(Refusal::Unparseable)) => {
            return Err(field_error(
                "file",
                lang.pick(
                    "无法读取该文件：请上传 xlsx 或 CSV（UTF-8 或 GB18030 编码）",
                    "The file cannot be read: upload xlsx or CSV (UTF-8 or GB18030)",
                ),
            ))
        }
        Ok(Err(refusal)) => return Err(refusal.into_api_error(lang)),
        Err(join) => return Err(ApiError::Internal(join.into())),
    };
    if let Some(months) = history {
        let (add, change) = compare_history(state, &mut plan.preview, months).await?;
        plan.writes = Writes::History { add, change };
    }
    Ok(plan)
}

/// A history file's rows by month, before comparing with what is stored.
/// (retailer, spec) → (cartons, the first line of the key in the file).
type HistoryRows = BTreeMap<YearMonth, HashMap<(i64, i64), (i64, u64)>>;

#[allow(clippy::too_many_arguments)]
fn read_plan(
    table: &Table,
    budget: &Budget,
    kind: ImportKind,
    mapping: Option<Mapping>,
    remembered: &Remembered,
    lookups: &Lookups,
    done: &AtomicU64,
    lang: Lang,
) -> Result<(Plan, Option<HistoryRows>), String> {
    let mut tally = Tally {
        preview: ImportPreview {
            encoding: table.encoding().into(),
            fields: field_choices(kind, lang),
            ..ImportPreview::default()
        },
        bad_lines: HashSet::new(),
    };
    let odd: HashMap<u64, &str> = table.odd_lines().iter().copied().collect();
    let mut mapping = mapping;
    let mut header_row = false;
    let mut first = true;
    let mut headers: Vec<String> = Vec::new();
    let mut samples: Vec<Vec<String>> = Vec::new();
    let mut resolver = Resolver::new(kind, lookups, lang);
    let mut missing: Option<bool> = None;
    let walked = table.each(budget, |line, cells| {
        done.fetch_add(1, Ordering::Relaxed);
        if first {
            first = false;
            header_row = is_header(kind, cells);
            if header_row {
                headers = cells.iter().map(|c| c.to_string()).collect();
                if mapping.is_none() {
                    mapping = Some(recognise(kind, cells, remembered));
                }
                return;
            }
            headers = (0..cells.len())
                .map(|i| match lang {
                    Lang::Zh => format!("第 {} 列", i + 1),
                    Lang::En => format!("Column {}", i + 1),
                })
                .collect();
            if mapping.is_none() {
                mapping = Some(
                    kind.fields()
                        .iter()
                        .take(cells.len())
                        .map(|f| Some(f.key.to_string()))
                        .collect(),
                );
            }
        }
        let Some(mapping) = mapping.as_ref() else {
            return;
        };
        let lacking = *missing.get_or_insert_with(|| !missing_fields(kind, mapping).is_empty());
        for (c, cell) in cells.iter().enumerate() {
            if samples.len() <= c {
                samples.resize(c + 1, Vec::new());
            }
            if samples[c].len() < 3 && !cell.trim().is_empty() {
                samples[c].push(shown(cell));
            }
        }
        tally.preview.rows += 1;
        if lacking {
            // Nothing is read until every required column is mapped.
            return;
        }
        if let Some(encoding) = odd.get(&line) {
            tally.problem(
                line,
                lang.pick("编码", "Encoding"),
                "",
                match lang {
                    Lang::Zh => format!(
                        "此行的编码（{encoding}）与文件其余部分不同，可能是两个文件拼接而成；请统一编码后重新上传"
                    ),
                    Lang::En => format!(
                        "This line is in another encoding ({encoding}) than the rest of the file; save the file in one encoding"
                    ),
                },
            );
            return;
        }
        match read_row(kind, mapping, line, cells, lang) {
            Ok(row) => {
                tally.repairs(&row, kind, lang);
                resolver.row(row, &mut tally);
            }
            Err(problems) => tally.problems(problems),
        }
    });
    match walked {
        Ok(()) => {}
        Err(refusal) => return Err(refusal.message(lang)),
    }
    let mapping = mapping.unwrap_or_default();
    let width = headers.len().max(mapping.len());
    headers.resize(width, String::new());
    tally.preview.header_row = header_row;
    tally.preview.columns = headers
        .iter()
        .enumerate()
        .map(|(c, header)| ColumnChoice {
            header: header.clone(),
            field: mapping.get(c).cloned().flatten(),
            sample: samples.get(c).cloned().unwrap_or_default(),
        })
        .collect();
    tally.preview.missing = missing_fields(kind, &mapping)
        .iter()
        .map(|f| f.label(lang).to_string())
        .collect();
    let (writes, history) = resolver.finish(&mut tally);
    Ok((
        Plan {
            mapping,
            header_row,
            preview: tally.preview,
            writes,
        },
        history,
    ))
}

/// Compares a history file's months with what is stored: a month with no
/// rows yet is all additions (the first load), otherwise row by row.
async fn compare_history(
    state: &AppState,
    preview: &mut ImportPreview,
    mut months: HistoryRows,
) -> ApiResult<(HistoryRows, HistoryRows)> {
    let mut conn = state.db.pool.acquire().await?;
    let mut changes = HistoryRows::new();
    for (month, rows) in months.iter_mut() {
        let key = month.to_string();
        let cartons: i64 = rows.values().map(|(c, _)| c).sum();
        preview.months.push(MonthRows {
            month: key.clone(),
            rows: rows.len() as u64,
            cartons,
        });
        if store::month_rows(&mut conn, &key).await? == 0 {
            preview.add += rows.len() as u64;
            continue;
        }
        let stored = store::month_orders(&mut conn, &key).await?;
        let changed = changes.entry(*month).or_default();
        rows.retain(|k, row| match stored.get(k) {
            None => {
                preview.add += 1;
                true
            }
            Some(old) if *old == row.0 => {
                preview.same += 1;
                false
            }
            Some(_) => {
                preview.change += 1;
                changed.insert(*k, *row);
                false
            }
        });
    }
    Ok((months, changes))
}

/// A row's problems: (field, value, message).
type Problems = Vec<(&'static str, String, String)>;

/// Resolves names to ids and compares each good row with the stored
/// record of its key, kind by kind.
struct Resolver<'a> {
    kind: ImportKind,
    lookups: &'a Lookups,
    lang: Lang,
    /// Keys met so far, with their line.
    seen: HashMap<String, u64>,
    rows: Vec<Row>,
    units: HashMap<&'a str, &'a store::Unit>,
    /// Units added by earlier rows of the same file: name → kind.
    new_units: HashMap<String, UnitKind>,
    unit_names: HashMap<i64, &'a str>,
    people: HashMap<String, &'a store::Person>,
    managers_by_name: HashMap<&'a str, Vec<&'a store::Person>>,
    classes: HashMap<&'a str, &'a str>,
    specs: HashMap<&'a str, &'a store::SpecRow>,
    spec_names: HashMap<String, String>,
    retailers: HashMap<&'a str, &'a store::RetailerRow>,
    people_by_id: HashMap<i64, &'a store::Person>,
    history: HistoryRows,
    /// A week or date column: several rows of a month are summed.
    summed: bool,
}

impl<'a> Resolver<'a> {
    fn new(kind: ImportKind, lookups: &'a Lookups, lang: Lang) -> Resolver<'a> {
        let mut classes: HashMap<&str, &str> = HashMap::new();
        for (code, label) in &lookups.classes {
            classes.insert(code, code);
            classes.insert(label, code);
        }
        Resolver {
            kind,
            lookups,
            lang,
            seen: HashMap::new(),
            rows: Vec::new(),
            units: lookups.units.iter().map(|u| (u.name.as_str(), u)).collect(),
            new_units: HashMap::new(),
            unit_names: lookups
                .units
                .iter()
                .map(|u| (u.id, u.name.as_str()))
                .collect(),
            people: lookups
                .people
                .iter()
                .map(|p| (p.login.to_lowercase(), p))
                .collect(),
            managers_by_name: {
                let mut m: HashMap<&str, Vec<&store::Person>> = HashMap::new();
                for p in &lookups.people {
                    if p.role == Role::CustomerManager.as_str() && p.active == 1 {
                        m.entry(p.display_name.as_str()).or_default().push(p);
                    }
                }
                m
            },
            classes,
            specs: lookups.specs.iter().map(|s| (s.code.as_str(), s)).collect(),
            spec_names: lookups
                .specs
                .iter()
                .map(|s| (s.name.clone(), s.code.clone()))
                .collect(),
            retailers: lookups
                .retailers
                .iter()
                .map(|r| (r.licence_no.as_str(), r))
                .collect(),
            people_by_id: lookups.people.iter().map(|p| (p.id, p)).collect(),
            history: BTreeMap::new(),
            summed: false,
        }
    }

    fn label(&self, key: &str) -> &'static str {
        self.kind
            .fields()
            .iter()
            .find(|f| f.key == key)
            .map_or("", |f| f.label(self.lang))
    }

    fn zh(&self, zh: String, en: String) -> String {
        match self.lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn row(&mut self, row: ReadRow, tally: &mut Tally) {
        if self.kind == ImportKind::History {
            self.history_row(row, tally);
            return;
        }
        let key = row.key.clone();
        let lookup_key = if self.kind == ImportKind::Staff {
            key.to_lowercase()
        } else {
            key.clone()
        };
        if let Some(first) = self.seen.get(&lookup_key) {
            let message = self.zh(
                format!("与第 {first} 行重复"),
                format!("Repeats line {first}"),
            );
            tally.problem(row.line, self.label(self.kind.key()), &key, message);
            return;
        }
        self.seen.insert(lookup_key, row.line);
        let line = row.line;
        let checked = match self.kind {
            ImportKind::Units => self.unit(row),
            ImportKind::Staff => self.staff(row),
            ImportKind::Specs => self.spec(row),
            ImportKind::Retailers | ImportKind::Assignment => self.retailer(row),
            ImportKind::History => unreachable!("handled above"),
        };
        match checked {
            Ok(row) => {
                if row.id.is_none() {
                    tally.preview.add += 1;
                } else if row.changes.is_empty() {
                    tally.preview.same += 1;
                    return;
                } else {
                    tally.preview.change += 1;
                    for (field, from, to) in &row.changes {
                        if tally.preview.changes.len() < CHANGES_LISTED {
                            tally.preview.changes.push(Change {
                                line: row.read.line,
                                key: row.read.key.clone(),
                                field: self.label(field).into(),
                                from: from.clone(),
                                to: to.clone(),
                            });
                        }
                    }
                }
                self.rows.push(row);
            }
            Err(problems) => {
                for (field, value, message) in problems {
                    let label = self.label(field);
                    tally.problem(line, label, &value, message);
                }
            }
        }
    }

    fn finish(self, tally: &mut Tally) -> (Writes, Option<HistoryRows>) {
        let _ = tally;
        if self.kind == ImportKind::History {
            (
                Writes::History {
                    add: BTreeMap::new(),
                    change: BTreeMap::new(),
                },
                Some(self.history),
            )
        } else {
            (Writes::Records(self.rows), None)
        }
    }

    /// A row that adds a record, unless it has problems or lacks a field
    /// an addition needs.
    fn added(
        &self,
        row: ReadRow,
        ids: BTreeMap<&'static str, i64>,
        mut problems: Problems,
    ) -> Result<Row, Problems> {
        problems.extend(self.lacks(&row));
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Row {
            id: None,
            read: row,
            ids,
            changes: Vec::new(),
        })
    }

    /// A row of a stored record, with what it changes of `stored`.
    fn changed(
        &self,
        id: i64,
        row: ReadRow,
        ids: BTreeMap<&'static str, i64>,
        stored: &[(&'static str, Value)],
    ) -> Row {
        let changes = self.compare(&row, stored);
        Row {
            id: Some(id),
            read: row,
            ids,
            changes,
        }
    }

    /// Required-to-add fields a new record lacks.
    fn lacks(&self, row: &ReadRow) -> Vec<(&'static str, String, String)> {
        self.kind
            .fields()
            .iter()
            .filter(|f| f.need == domain::masterdata::Need::ToAdd && row.get(f.key).is_none())
            .map(|f| {
                (
                    f.key,
                    String::new(),
                    self.zh("新增时不能为空".into(), "Required when adding".into()),
                )
            })
            .collect()
    }

    fn compare(
        &self,
        row: &ReadRow,
        stored: &[(&'static str, Value)],
    ) -> Vec<(&'static str, String, String)> {
        stored
            .iter()
            .filter_map(|(key, old)| {
                let new = row.get(key)?;
                (new != old).then(|| (*key, old.show(self.lang), new.show(self.lang)))
            })
            .collect()
    }

    fn unit(&mut self, mut row: ReadRow) -> Result<Row, Vec<(&'static str, String, String)>> {
        let name = row.key.clone();
        let parent = row.text("parent").map(str::to_string);
        let parent_kind = parent.as_deref().and_then(|p| {
            self.units
                .get(p)
                .and_then(|u| UnitKind::parse(&u.kind))
                .or_else(|| self.new_units.get(p).copied())
        });
        let mut problems = Vec::new();
        if let (Some(p), None) = (&parent, parent_kind) {
            problems.push((
                "parent",
                p.clone(),
                self.zh(
                    format!("上级单位“{p}”不存在（须先导入或在本文件前面的行中）"),
                    format!("No unit {p} (import it first, or list it on an earlier line)"),
                ),
            ));
        }
        let mut ids = BTreeMap::new();
        if let Some(p) = &parent {
            if let Some(u) = self.units.get(p.as_str()) {
                ids.insert("parent", u.id);
            }
        }
        match self.units.get(name.as_str()).copied() {
            Some(stored) => {
                let stored_kind =
                    UnitKind::parse(&stored.kind).unwrap_or(UnitKind::MarketDepartment);
                if let Some(Value::Kind(k)) = row.get("kind") {
                    if *k != stored_kind {
                        problems.push((
                            "kind",
                            k.label(self.lang).into(),
                            self.zh(
                                "已有单位的类型不能通过导入修改".into(),
                                "An existing unit's kind cannot be changed by an import".into(),
                            ),
                        ));
                    }
                }
                row.values.insert("kind", Value::Kind(stored_kind));
                if let Some(pk) = parent_kind {
                    if let Some(e) = self.parent_error(stored_kind, pk) {
                        problems.push(("parent", parent.clone().unwrap_or_default(), e));
                    }
                }
                if !problems.is_empty() {
                    return Err(problems);
                }
                let stored_parent = stored
                    .parent_id
                    .and_then(|id| self.unit_names.get(&id))
                    .map(|n| Value::Text(n.to_string()));
                let mut compared = vec![("kind", Value::Kind(stored_kind))];
                if let Some(p) = stored_parent {
                    compared.push(("parent", p));
                }
                Ok(self.changed(stored.id, row, ids, &compared))
            }
            None => {
                problems.extend(self.lacks(&row).into_iter().filter(|(k, _, _)| {
                    // The marketing center has no parent.
                    !(*k == "parent"
                        && matches!(
                            row.get("kind"),
                            Some(Value::Kind(UnitKind::MarketingCenter))
                        ))
                }));
                if let Some(Value::Kind(kind)) = row.get("kind") {
                    if *kind == UnitKind::MarketingCenter
                        && (self.units.values().any(|u| u.kind == "marketing_center")
                            || self
                                .new_units
                                .values()
                                .any(|k| *k == UnitKind::MarketingCenter))
                    {
                        problems.push((
                            "kind",
                            kind.label(self.lang).into(),
                            self.zh(
                                "只能有一个营销中心".into(),
                                "There is one marketing center only".into(),
                            ),
                        ));
                    } else if let Some(pk) = parent_kind {
                        if let Some(e) = self.parent_error(*kind, pk) {
                            problems.push(("parent", parent.clone().unwrap_or_default(), e));
                        }
                    }
                    if problems.is_empty() {
                        self.new_units.insert(name, *kind);
                    }
                }
                if !problems.is_empty() {
                    return Err(problems);
                }
                Ok(Row {
                    id: None,
                    read: row,
                    ids,
                    changes: Vec::new(),
                })
            }
        }
    }

    fn parent_error(&self, kind: UnitKind, parent: UnitKind) -> Option<String> {
        let fits = match kind {
            UnitKind::MarketingCenter => false,
            UnitKind::CountyDepartment => parent == UnitKind::MarketingCenter,
            UnitKind::MarketDepartment => {
                matches!(
                    parent,
                    UnitKind::CountyDepartment | UnitKind::MarketingCenter
                )
            }
        };
        (!fits).then(|| {
            self.zh(
                format!(
                    "{}不能设在{}之下",
                    kind.label(Lang::Zh),
                    parent.label(Lang::Zh)
                ),
                format!(
                    "A {} cannot sit under a {}",
                    kind.label(Lang::En),
                    parent.label(Lang::En)
                ),
            )
        })
    }

    fn staff(&mut self, row: ReadRow) -> Result<Row, Vec<(&'static str, String, String)>> {
        let mut problems = Vec::new();
        if let Some(e) = domain::accounts::login_error(&row.key, self.lang) {
            problems.push(("login", row.key.clone(), e.to_string()));
        }
        if let Some(name) = row.text("name") {
            if let Some(e) = domain::accounts::name_error(name, self.lang) {
                problems.push(("name", name.to_string(), e.to_string()));
            }
        }
        let unit = row.text("unit").map(|u| (u, self.units.get(u).copied()));
        let mut ids = BTreeMap::new();
        if let Some((name, found)) = unit {
            match found {
                Some(u) => {
                    ids.insert("unit", u.id);
                }
                None => problems.push((
                    "unit",
                    name.to_string(),
                    self.zh(format!("单位“{name}”不存在"), format!("No unit {name}")),
                )),
            }
        }
        let stored = self.people.get(&row.key.to_lowercase()).copied();
        let role = match row.get("role") {
            Some(Value::Role(r)) => Some(*r),
            _ => stored.and_then(|p| Role::parse(&p.role)),
        };
        if let (Some(role), Some((_, Some(u)))) = (role, unit) {
            if let Some((_, e)) =
                domain::accounts::role_unit_error(role, UnitKind::parse(&u.kind), self.lang)
            {
                problems.push(("unit", u.name.clone(), e));
            }
        }
        match stored {
            Some(p) => {
                if matches!(Role::parse(&p.role), Some(Role::Admin)) {
                    problems.push((
                        "login",
                        row.key.clone(),
                        self.zh(
                            "该账号是系统管理员，请在账号管理中修改".into(),
                            "This is an administrator; change it on the accounts page".into(),
                        ),
                    ));
                }
                if let Some(Value::Role(r)) = row.get("role") {
                    if r.as_str() != p.role {
                        problems.push((
                            "role",
                            r.label(self.lang).into(),
                            self.zh(
                                "岗位变更请在账号管理中办理".into(),
                                "Change a role on the accounts page".into(),
                            ),
                        ));
                    }
                }
                if !problems.is_empty() {
                    return Err(problems);
                }
                let unit_name = self
                    .unit_names
                    .get(&p.org_unit_id)
                    .copied()
                    .unwrap_or("")
                    .to_string();
                let compared = [
                    ("name", Value::Text(p.display_name.clone())),
                    ("unit", Value::Text(unit_name)),
                ];
                Ok(self.changed(p.id, row, ids, &compared))
            }
            None => self.added(row, ids, problems),
        }
    }

    fn spec(&mut self, row: ReadRow) -> Result<Row, Vec<(&'static str, String, String)>> {
        let mut problems = Vec::new();
        if let Some(Value::Int(0)) = row.get("price_class") {
            problems.push((
                "price_class",
                "0".into(),
                self.zh("价类须为 1–5".into(), "A price class is 1 to 5".into()),
            ));
        }
        if let Some(Value::Int(0)) = row.get("order_multiple") {
            problems.push((
                "order_multiple",
                "0".into(),
                self.zh(
                    "订货倍数须为 1–50".into(),
                    "An order multiple is 1 to 50".into(),
                ),
            ));
        }
        for key in ["wholesale", "retail"] {
            if let Some(Value::Int(0)) = row.get(key) {
                problems.push((
                    key,
                    "0".into(),
                    self.zh("价格须大于 0".into(), "A price is above 0".into()),
                ));
            }
        }
        let stored_prices = self
            .specs
            .get(row.key.as_str())
            .map(|s| (s.wholesale_fen, s.retail_fen));
        let wholesale = row
            .get("wholesale")
            .and_then(Value::int)
            .or(stored_prices.map(|p| p.0));
        let retail = row
            .get("retail")
            .and_then(Value::int)
            .or(stored_prices.map(|p| p.1));
        if let (Some(w), Some(r)) = (wholesale, retail) {
            if let Some(message) = domain::masterdata::records::price_order_error(w, r, self.lang) {
                problems.push(("retail", r.to_string(), message));
            }
        }
        if let Some(name) = row.text("name") {
            match self.spec_names.get(name) {
                Some(code) if *code != row.key => problems.push((
                    "name",
                    name.to_string(),
                    self.zh(
                        format!("卷烟名称已被编码 {code} 使用"),
                        format!("The name is taken by spec {code}"),
                    ),
                )),
                _ => {
                    self.spec_names.insert(name.to_string(), row.key.clone());
                }
            }
        }
        match self.specs.get(row.key.as_str()).copied() {
            Some(s) => {
                if !problems.is_empty() {
                    return Err(problems);
                }
                let compared = [
                    ("name", Value::Text(s.name.clone())),
                    ("brand", Value::Text(s.brand.clone())),
                    ("price_class", Value::Int(s.price_class)),
                    ("wholesale", Value::Int(s.wholesale_fen)),
                    ("retail", Value::Int(s.retail_fen)),
                    ("order_multiple", Value::Int(s.order_multiple)),
                    ("orderable", Value::Bool(s.orderable == 1)),
                    ("scarce", Value::Bool(s.scarce == 1)),
                    ("new_product", Value::Bool(s.is_new == 1)),
                ];
                Ok(self.changed(s.id, row, BTreeMap::new(), &compared))
            }
            None => self.added(row, BTreeMap::new(), problems),
        }
    }

    fn retailer(&mut self, mut row: ReadRow) -> Result<Row, Vec<(&'static str, String, String)>> {
        let mut problems = Vec::new();
        let mut ids = BTreeMap::new();
        if let Some(class) = row.text("class").map(str::to_string) {
            let compact: String = class.chars().filter(|c| !c.is_whitespace()).collect();
            match self
                .classes
                .get(class.as_str())
                .or_else(|| self.classes.get(compact.as_str()))
                .or_else(|| self.classes.get(compact.trim_end_matches('档')))
            {
                Some(code) => {
                    row.values.insert("class", Value::Text(code.to_string()));
                }
                None => problems.push((
                    "class",
                    class.clone(),
                    self.zh(
                        format!("档位“{class}”不在客户档位列表中"),
                        format!("{class} is not a customer class"),
                    ),
                )),
            }
        }
        let mut manager_unit = None;
        if let Some(manager) = row.text("manager").map(str::to_string) {
            match self.manager(&manager) {
                Ok(p) => {
                    ids.insert("manager", p.id);
                    ids.insert("market_unit", p.org_unit_id);
                    manager_unit = Some(p.org_unit_id);
                    row.values.insert("manager", Value::Text(p.login.clone()));
                }
                Err(message) => problems.push(("manager", manager, message)),
            }
        }
        if let (Some(unit), Some(unit_id)) = (row.text("market_unit"), manager_unit) {
            if self.unit_names.get(&unit_id).copied() != Some(unit) {
                let actual = self.unit_names.get(&unit_id).copied().unwrap_or("");
                problems.push((
                    "market_unit",
                    unit.to_string(),
                    self.zh(
                        format!("客户经理属于“{actual}”，与所填市场部不符"),
                        format!("The customer manager works in {actual}, not in this department"),
                    ),
                ));
            }
        }
        if let Some(Value::Date(d)) = row.get("closed_on") {
            if *d > crate::clock::today() {
                problems.push((
                    "closed_on",
                    d.to_string(),
                    self.zh(
                        "停业日期不能晚于今天".into(),
                        "A closing date cannot be in the future".into(),
                    ),
                ));
            }
        }
        let stored = self.retailers.get(row.key.as_str()).copied();
        let closing = matches!(
            row.get("status"),
            Some(Value::Status(RetailerStatus::Closed))
        );
        let has_date =
            row.get("closed_on").is_some() || stored.is_some_and(|s| s.closed_on.is_some());
        if closing && !has_date {
            problems.push((
                "closed_on",
                String::new(),
                self.zh(
                    "停业须填写停业日期".into(),
                    "A closed retailer needs its closing date".into(),
                ),
            ));
        }
        if self.kind == ImportKind::Assignment && stored.is_none() {
            problems.push((
                "licence",
                row.key.clone(),
                self.zh(
                    "该许可证号的零售户不存在（请先导入零售户）".into(),
                    "No retailer has this licence (import the retailers first)".into(),
                ),
            ));
        }
        if row.key.len() > 20 {
            problems.push((
                "licence",
                row.key.clone(),
                self.zh(
                    "许可证号过长".into(),
                    "The licence number is too long".into(),
                ),
            ));
        }
        match stored {
            Some(s) => {
                if !problems.is_empty() {
                    return Err(problems);
                }
                let manager_login = self
                    .people_by_id
                    .get(&s.manager_id)
                    .map(|p| p.login.clone())
                    .unwrap_or_default();
                let compared = [
                    ("name", Value::Text(s.name.clone())),
                    ("address", Value::Text(s.address.clone())),
                    ("phone", Value::Text(s.phone.clone())),
                    ("class", Value::Text(s.class_code.clone())),
                    ("manager", Value::Text(manager_login)),
                    ("weekday", Value::Int(s.order_weekday)),
                    (
                        "status",
                        Value::Status(
                            RetailerStatus::parse(&s.status).unwrap_or(RetailerStatus::Open),
                        ),
                    ),
                    (
                        "closed_on",
                        s.closed_on
                            .as_deref()
                            .and_then(|d| d.parse().ok())
                            .map_or(Value::Text(String::new()), Value::Date),
                    ),
                    ("online", Value::Bool(s.online_replenishment == 1)),
                ];
                Ok(self.changed(s.id, row, ids, &compared))
            }
            None => self.added(row, ids, problems),
        }
    }

    /// A customer manager by login, or by name when only one active
    /// customer manager has it.
    fn manager(&self, named: &str) -> Result<&'a store::Person, String> {
        if let Some(p) = self.people.get(&named.to_lowercase()).copied() {
            return if p.role != Role::CustomerManager.as_str() {
                Err(self.zh(
                    format!("“{named}”不是客户经理"),
                    format!("{named} is not a customer manager"),
                ))
            } else if p.active != 1 {
                Err(self.zh(
                    format!("客户经理“{named}”的账号已停用"),
                    format!("Customer manager {named} is deactivated"),
                ))
            } else {
                Ok(p)
            };
        }
        match self.managers_by_name.get(named).map(Vec::as_slice) {
            Some([p]) => Ok(p),
            Some([_, _, ..]) => Err(self.zh(
                format!("有多位客户经理名为“{named}”，请改填账号"),
                format!("Several customer managers are called {named}; use the login"),
            )),
            _ => Err(self.zh(
                format!("客户经理“{named}”不存在"),
                format!("No customer manager {named}"),
            )),
        }
    }

    fn history_row(&mut self, row: ReadRow, tally: &mut Tally) {
        let lookups = self.lookups;
        let mut problems: Vec<(&'static str, String, String)> = Vec::new();
        let retailer = lookups.licences.get(&row.key).copied();
        if retailer.is_none() {
            problems.push((
                "licence",
                row.key.clone(),
                self.zh(
                    "该许可证号的零售户不存在（请先导入零售户）".into(),
                    "No retailer has this licence (import the retailers first)".into(),
                ),
            ));
        }
        let code = row.text("spec").unwrap_or("").to_string();
        let spec = self.specs.get(code.as_str()).map(|s| s.id);
        if spec.is_none() {
            problems.push((
                "spec",
                code.clone(),
                self.zh(
                    format!("卷烟编码 {code} 不在品规目录中（请先导入品规）"),
                    format!("Spec code {code} is not in the catalogue (import the specs first)"),
                ),
            ));
        }
        let month = match row.get("month") {
            Some(Value::Month(m)) => *m,
            _ => return,
        };
        if lookups.this_month.is_some_and(|this| month >= this) {
            problems.push((
                "month",
                month.to_string(),
                self.zh(
                    "该月尚未结束，不能导入订货历史".into(),
                    "The month has not ended; its history cannot be loaded".into(),
                ),
            ));
        }
        let (Some(retailer), Some(spec), true) = (retailer, spec, problems.is_empty()) else {
            for (field, value, message) in problems {
                let label = self.label(field);
                tally.problem(row.line, label, &value, message);
            }
            return;
        };
        let cartons = row.get("cartons").and_then(Value::int).unwrap_or(0);
        let weekly = row.get("week").is_some() || row.get("date").is_some();
        self.summed |= weekly;
        let entry = self
            .history
            .entry(month)
            .or_default()
            .entry((retailer, spec))
            .or_insert((0, row.line));
        if entry.1 != row.line && !weekly {
            let first = entry.1;
            let message = self.zh(
                format!("与第 {first} 行的许可证号、卷烟编码和月份相同"),
                format!("Same licence, spec and month as line {first}"),
            );
            tally.problem(row.line, self.label("licence"), &row.key, message);
        } else {
            entry.0 += cartons;
        }
    }
}

/// Writes a plan in the caller's transaction; returns the audit entries
/// (action, entity id, detail).
async fn write(
    tx: &mut sqlx::AnyConnection,
    postgres: bool,
    kind: ImportKind,
    plan: &Plan,
    done: &AtomicU64,
    result: &mut ImportResult,
    lang: Lang,
) -> ApiResult<Vec<(String, String, serde_json::Value)>> {
    let _ = lang;
    let mut audit = Vec::new();
    match &plan.writes {
        Writes::History { add, change } => {
            // In key order (retailer, spec, month): the rows land in the
            // primary key's B-tree in sequence instead of at random pages,
            // which on SQLite is the difference between minutes and seconds.
            // New keys are plain inserts; changed ones are upserts.
            let keys: BTreeMap<YearMonth, String> = add
                .keys()
                .chain(change.keys())
                .map(|m| (*m, m.to_string()))
                .collect();
            for (rows_of, upsert) in [(add, false), (change, true)] {
                let mut rows: Vec<(i64, i64, YearMonth, i64)> =
                    Vec::with_capacity(rows_of.values().map(HashMap::len).sum());
                for (month, by_key) in rows_of {
                    rows.extend(by_key.iter().map(|(&(r, s), &(c, _))| (r, s, *month, c)));
                }
                rows.sort_unstable();
                for chunk in rows.chunks(if postgres { 200_000 } else { 30_000 }) {
                    let values: Vec<(i64, i64, &str, i64)> = chunk
                        .iter()
                        .map(|&(r, s, m, c)| (r, s, keys.get(&m).map_or("", String::as_str), c))
                        .collect();
                    store::upsert_orders(tx, postgres, upsert, &values).await?;
                    done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            }
            let months: BTreeMap<YearMonth, usize> = keys
                .keys()
                .map(|m| {
                    let n =
                        add.get(m).map_or(0, HashMap::len) + change.get(m).map_or(0, HashMap::len);
                    (*m, n)
                })
                .collect();
            for (month, rows) in months {
                crate::store::summary::refresh_month_totals(tx, month).await?;
                crate::store::summary::refresh_accuracy_month(tx, month).await?;
                let key = month.to_string();
                audit.push((
                    "masterdata.import.history".to_string(),
                    key.clone(),
                    json!({ "month": key, "rows": rows }),
                ));
            }
            result.added = plan.preview.add;
            result.changed = plan.preview.change;
        }
        Writes::Records(rows) => {
            let now = now_unix();
            // Additions with the same columns go in multi-row inserts.
            let mut adds: BTreeMap<Vec<String>, Vec<Vec<DbValue>>> = BTreeMap::new();
            // Managers whose retailers move: the analysis summaries follow.
            let mut moved: Vec<i64> = Vec::new();
            for row in rows {
                match (kind, row.id) {
                    (ImportKind::Retailers | ImportKind::Assignment, Some(id))
                        if row.ids.contains_key("manager")
                            || row.ids.contains_key("market_unit") =>
                    {
                        let before: i64 =
                            sqlx::query_scalar("SELECT manager_id FROM retailers WHERE id = $1")
                                .bind(id)
                                .fetch_one(&mut *tx)
                                .await?;
                        moved.push(before);
                        moved.extend(row.ids.get("manager").copied());
                    }
                    (ImportKind::Staff, Some(id)) if row.ids.contains_key("unit") => moved.push(id),
                    _ => {}
                }
                if let Some((columns, values)) = write_record(tx, kind, row, now).await? {
                    adds.entry(columns).or_default().push(values);
                }
                done.fetch_add(1, Ordering::Relaxed);
                let to: serde_json::Map<String, serde_json::Value> = row
                    .read
                    .values
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v.show(Lang::Zh))))
                    .collect();
                if row.id.is_none() {
                    result.added += 1;
                    audit.push((
                        "masterdata.import.add".to_string(),
                        row.read.key.clone(),
                        json!({ "to": to }),
                    ));
                } else {
                    result.changed += 1;
                    let from: serde_json::Map<String, serde_json::Value> = row
                        .changes
                        .iter()
                        .map(|(k, from, _)| (k.to_string(), json!(from)))
                        .collect();
                    let to: serde_json::Map<String, serde_json::Value> = row
                        .changes
                        .iter()
                        .map(|(k, _, to)| (k.to_string(), json!(to)))
                        .collect();
                    audit.push((
                        "masterdata.import.change".to_string(),
                        row.read.key.clone(),
                        json!({ "from": from, "to": to }),
                    ));
                }
            }
            let table = match kind {
                ImportKind::Specs => "specs",
                _ => "retailers",
            };
            for (columns, values) in adds {
                let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
                insert_rows(tx, table, &columns, &values).await?;
            }
            moved.sort_unstable();
            moved.dedup();
            crate::store::analysis::refresh_managers(tx, &moved).await?;
        }
    }
    Ok(audit)
}

fn int(row: &Row, key: &str) -> Option<i64> {
    row.read.get(key).and_then(Value::int)
}

fn text(row: &Row, key: &str) -> Option<String> {
    row.read.text(key).map(str::to_string)
}

fn flag(row: &Row, key: &str) -> Option<i64> {
    match row.read.get(key) {
        Some(Value::Bool(b)) => Some(i64::from(*b)),
        _ => None,
    }
}

/// One column's new value for an UPDATE.
enum Set {
    Int(&'static str, i64),
    Text(&'static str, String),
    OptText(&'static str, Option<String>),
}

/// An added record's columns and values: its key, then `sets`.
fn insertion(key_column: &str, key: &str, sets: Vec<Set>) -> (Vec<String>, Vec<DbValue>) {
    let mut columns = vec![key_column.to_string()];
    let mut values = vec![DbValue::Text(key.to_string())];
    for set in sets {
        let (column, value) = match set {
            Set::Int(c, v) => (c, v.into()),
            Set::Text(c, v) => (c, v.into()),
            Set::OptText(c, v) => (c, v.into()),
        };
        columns.push(column.into());
        values.push(value);
    }
    (columns, values)
}

async fn update(
    tx: &mut sqlx::AnyConnection,
    table: &str,
    id: i64,
    sets: Vec<Set>,
    bump_version: bool,
) -> sqlx::Result<()> {
    if sets.is_empty() {
        return Ok(());
    }
    let mut sql = format!("UPDATE {table} SET ");
    for (i, set) in sets.iter().enumerate() {
        let column = match set {
            Set::Int(c, _) | Set::Text(c, _) | Set::OptText(c, _) => c,
        };
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("{column} = ${}", i + 1));
    }
    if bump_version {
        sql.push_str(", version = version + 1");
    }
    sql.push_str(&format!(" WHERE id = ${}", sets.len() + 1));
    let mut query = sqlx::query(&sql);
    for set in sets {
        query = match set {
            Set::Int(_, v) => query.bind(v),
            Set::Text(_, v) => query.bind(v),
            Set::OptText(_, v) => query.bind(v),
        };
    }
    query.bind(id).execute(tx).await.map(drop)
}

async fn unit_id(tx: &mut sqlx::AnyConnection, name: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM org_units WHERE name = $1")
        .bind(name)
        .fetch_optional(tx)
        .await
}

/// Writes a change, or an addition of a unit or person; an added spec or
/// retailer is returned as (columns, values) for a multi-row insert.
async fn write_record(
    tx: &mut sqlx::AnyConnection,
    kind: ImportKind,
    row: &Row,
    now: i64,
) -> ApiResult<Option<(Vec<String>, Vec<DbValue>)>> {
    match kind {
        ImportKind::Units => {
            let parent = match text(row, "parent") {
                Some(name) => unit_id(tx, &name).await?,
                None => None,
            };
            match row.id {
                Some(id) => {
                    if row.changes.iter().any(|(k, _, _)| *k == "parent") {
                        sqlx::query("UPDATE org_units SET parent_id = $1 WHERE id = $2")
                            .bind(parent)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                None => {
                    let kind = match row.read.get("kind") {
                        Some(Value::Kind(k)) => *k,
                        _ => UnitKind::MarketDepartment,
                    };
                    sqlx::query(
                        "INSERT INTO org_units (parent_id, kind, name) VALUES ($1, $2, $3)",
                    )
                    .bind(parent)
                    .bind(kind.as_str())
                    .bind(&row.read.key)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        ImportKind::Staff => match row.id {
            Some(id) => {
                let mut sets = Vec::new();
                if let Some(name) = text(row, "name") {
                    sets.push(Set::Text("display_name", name));
                }
                if let Some(&unit) = row.ids.get("unit") {
                    sets.push(Set::Int("org_unit_id", unit));
                    // A customer manager's retailers follow them.
                    sqlx::query("UPDATE retailers SET market_unit_id = $1 WHERE manager_id = $2")
                        .bind(unit)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                update(tx, "users", id, sets, true).await?;
            }
            None => {
                let role = match row.read.get("role") {
                    Some(Value::Role(r)) => *r,
                    _ => Role::CustomerManager,
                };
                sqlx::query(
                    "INSERT INTO users (login, display_name, role, org_unit_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&row.read.key)
                .bind(text(row, "name").unwrap_or_default())
                .bind(role.as_str())
                .bind(row.ids.get("unit").copied().unwrap_or_default())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        },
        ImportKind::Specs => {
            let mut sets = Vec::new();
            for (key, column) in [
                ("price_class", "price_class"),
                ("wholesale", "wholesale_fen"),
                ("retail", "retail_fen"),
                ("order_multiple", "order_multiple"),
            ] {
                if let Some(v) = int(row, key) {
                    sets.push(Set::Int(column, v));
                }
            }
            for (key, column) in [
                ("orderable", "orderable"),
                ("scarce", "scarce"),
                ("new_product", "is_new"),
            ] {
                if let Some(v) = flag(row, key) {
                    sets.push(Set::Int(column, v));
                }
            }
            for key in ["name", "brand"] {
                if let Some(v) = text(row, key) {
                    sets.push(Set::Text(key, v));
                }
            }
            match row.id {
                Some(id) => update(tx, "specs", id, sets, true).await?,
                None => return Ok(Some(insertion("code", &row.read.key, sets))),
            }
        }
        ImportKind::Retailers | ImportKind::Assignment => {
            let mut sets = Vec::new();
            for key in ["name", "address", "phone"] {
                if let Some(v) = text(row, key) {
                    sets.push(Set::Text(key, v));
                }
            }
            if let Some(v) = text(row, "class") {
                sets.push(Set::Text("class_code", v));
            }
            if let Some(&m) = row.ids.get("manager") {
                sets.push(Set::Int("manager_id", m));
            }
            if let Some(&u) = row.ids.get("market_unit") {
                sets.push(Set::Int("market_unit_id", u));
            }
            if let Some(v) = int(row, "weekday") {
                sets.push(Set::Int("order_weekday", v));
            }
            if let Some(v) = flag(row, "online") {
                sets.push(Set::Int("online_replenishment", v));
            }
            if let Some(Value::Status(s)) = row.read.get("status") {
                sets.push(Set::Text("status", s.as_str().into()));
                if *s != RetailerStatus::Closed && row.read.get("closed_on").is_none() {
                    sets.push(Set::OptText("closed_on", None));
                }
            }
            if let Some(Value::Date(d)) = row.read.get("closed_on") {
                sets.push(Set::OptText("closed_on", Some(d.to_string())));
            }
            match row.id {
                Some(id) => update(tx, "retailers", id, sets, true).await?,
                None => return Ok(Some(insertion("licence_no", &row.read.key, sets))),
            }
        }
        ImportKind::History => {}
    }
    Ok(None)
}

/// The answer when another import holds this process's import slot.
pub fn busy(lang: Lang) -> ApiError {
    let message = lang
        .pick(
            "另一个文件正在导入，请稍后重试",
            "Another file is being imported; try again shortly",
        )
        .to_string();
    ApiError::Retry(
        StatusCode::SERVICE_UNAVAILABLE,
        10,
        ErrorBody::new(ErrorCode::Unavailable, message.clone()).with_field("file", message),
    )
}
