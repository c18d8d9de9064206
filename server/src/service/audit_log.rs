//! The audit log viewer: one page of the filtered log with the flags of
//! unusual changes, or the whole filtered log as CSV or xlsx.

use std::collections::HashSet;

use domain::audit::{
    action_label, china_day_number, china_time_text, detail_summary, entity_label, flags_of,
    AuditEntry, AuditFilter, AuditPage, ExportFormat, FlagRules, EXPORT_LIMIT, NOT_CHANGES,
    PAGE_SIZE,
};
use domain::Lang;
use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self as store, LogRow};
use crate::AppState;

/// Records changed many times on a day: (entity, entity_id, China day).
type Busy = HashSet<(String, String, i64)>;

/// The busy days of the records among `rows`, one grouped query over the
/// days the rows span. `narrow`: only the records on these rows (a page);
/// otherwise every record in the span (an export or a scan).
async fn busy_of(
    state: &AppState,
    rows: &[LogRow],
    narrow: bool,
    rules: &FlagRules,
) -> ApiResult<Busy> {
    let (Some(first), Some(last)) = (
        rows.iter().map(|r| china_day_number(r.at)).min(),
        rows.iter().map(|r| china_day_number(r.at)).max(),
    ) else {
        return Ok(Busy::new());
    };
    let start = first * 86_400 - domain::audit::CHINA_OFFSET_SECONDS;
    let end = (last + 1) * 86_400 - domain::audit::CHINA_OFFSET_SECONDS;
    let ids: Option<Vec<String>> = narrow.then(|| {
        let mut ids: Vec<String> = rows.iter().map(|r| r.entity_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    });
    let days = store::busy_days(
        &state.db.pool,
        start,
        end,
        ids.as_deref(),
        rules.many_changes_per_day,
        NOT_CHANGES,
    )
    .await?;
    Ok(days.into_iter().collect())
}

fn entry(row: LogRow, busy: &Busy, rules: &FlagRules, lang: Lang) -> AuditEntry {
    // The detail is written by the services as JSON; anything else is
    // shown as the text it is.
    let detail: Value =
        serde_json::from_str(&row.detail).unwrap_or_else(|_| Value::String(row.detail.clone()));
    let many = busy.contains(&(
        row.entity.clone(),
        row.entity_id.clone(),
        china_day_number(row.at),
    ));
    AuditEntry {
        id: row.id,
        at: row.at,
        flags: flags_of(&row.action, row.at, &detail, many, rules),
        action_label: action_label(&row.action, lang),
        actor_login: row.actor_login,
        actor_name: row.actor_name,
        action: row.action,
        entity: row.entity,
        entity_id: row.entity_id,
        detail,
    }
}

/// Up to [`EXPORT_LIMIT`] entries matching the filter, flagged; and
/// whether there were more.
async fn scan(
    state: &AppState,
    filter: &AuditFilter,
    lang: Lang,
) -> ApiResult<(Vec<AuditEntry>, bool)> {
    let rules = FlagRules::default();
    let mut rows = store::entries(&state.db.pool, filter, EXPORT_LIMIT + 1, 0).await?;
    let truncated = rows.len() as i64 > EXPORT_LIMIT;
    rows.truncate(EXPORT_LIMIT as usize);
    let busy = busy_of(state, &rows, false, &rules).await?;
    let entries = rows
        .into_iter()
        .map(|r| entry(r, &busy, &rules, lang))
        .collect();
    Ok((entries, truncated))
}

/// One page of the log, newest first, with flags. With "flagged only" the
/// first [`EXPORT_LIMIT`] matching entries are scanned for flags.
pub async fn page(state: &AppState, filter: &AuditFilter, lang: Lang) -> ApiResult<AuditPage> {
    let rules = FlagRules::default();
    if filter.flagged_only {
        let (entries, truncated) = scan(state, filter, lang).await?;
        let flagged: Vec<AuditEntry> = entries
            .into_iter()
            .filter(|e| !e.flags.is_empty())
            .collect();
        return Ok(AuditPage {
            total: flagged.len() as i64,
            entries: flagged
                .into_iter()
                .skip(filter.offset() as usize)
                .take(PAGE_SIZE as usize)
                .collect(),
            page: filter.page,
            page_size: PAGE_SIZE,
            truncated,
        });
    }
    let pool = &state.db.pool;
    let total = store::count(pool, filter).await?;
    let rows = store::entries(pool, filter, PAGE_SIZE, filter.offset()).await?;
    let busy = busy_of(state, &rows, true, &rules).await?;
    Ok(AuditPage {
        entries: rows
            .into_iter()
            .map(|r| entry(r, &busy, &rules, lang))
            .collect(),
        total,
        page: filter.page,
        page_size: PAGE_SIZE,
        truncated: false,
    })
}

/// A file of the whole filtered log.
pub struct Export {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub file_name: String,
    /// Rows were cut at [`EXPORT_LIMIT`].
    pub truncated: bool,
}

/// The filtered log (at most [`EXPORT_LIMIT`] rows) as CSV (UTF-8 with a
/// BOM, so that Excel opens it right) or xlsx, times in China time.
pub async fn export(
    state: &AppState,
    filter: &AuditFilter,
    format: ExportFormat,
    lang: Lang,
) -> ApiResult<Export> {
    let (mut entries, truncated) = scan(state, filter, lang).await?;
    if filter.flagged_only {
        entries.retain(|e| !e.flags.is_empty());
    }
    let rows: Vec<[String; 9]> = entries.iter().map(|e| cells(e, lang)).collect();
    let note = truncated.then(|| match lang {
        Lang::Zh => format!("仅导出最新的 {EXPORT_LIMIT} 条；请缩小日期范围导出其余记录"),
        Lang::En => {
            format!("Only the newest {EXPORT_LIMIT} entries; narrow the dates to export the rest")
        }
    });
    let stamp = china_time_text(crate::db::now_unix()).replace([' ', ':'], "-");
    let work = move || -> anyhow::Result<Export> {
        Ok(match format {
            ExportFormat::Csv => Export {
                bytes: csv(&rows, note.as_deref(), lang)?,
                content_type: "text/csv; charset=utf-8",
                file_name: format!("audit-{stamp}.csv"),
                truncated,
            },
            ExportFormat::Xlsx => Export {
                bytes: xlsx(&rows, note.as_deref(), lang)?,
                content_type: crate::xlsx::CONTENT_TYPE,
                file_name: format!("audit-{stamp}.xlsx"),
                truncated,
            },
        })
    };
    // Up to 100,000 rows: written off the async threads.
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(ApiError::Internal)
}

fn headers(lang: Lang) -> [&'static str; 9] {
    [
        lang.pick("时间（北京时间）", "Time (China)"),
        lang.pick("账号", "Sign-in name"),
        lang.pick("姓名", "Name"),
        lang.pick("操作", "Action"),
        lang.pick("操作代码", "Action code"),
        lang.pick("对象", "Object"),
        lang.pick("对象编号", "Object id"),
        lang.pick("详情", "Detail"),
        lang.pick("异常提示", "Flags"),
    ]
}

fn cells(e: &AuditEntry, lang: Lang) -> [String; 9] {
    [
        china_time_text(e.at),
        e.actor_login.clone().unwrap_or_default(),
        e.actor_name.clone().unwrap_or_default(),
        e.action_label.clone(),
        e.action.clone(),
        entity_label(&e.entity, lang),
        e.entity_id.clone(),
        format!("{} {}", detail_summary(&e.detail), e.detail)
            .trim()
            .to_string(),
        e.flags
            .iter()
            .map(|f| f.label(lang))
            .collect::<Vec<_>>()
            .join("、"),
    ]
}

/// Keeps a spreadsheet from running a cell as a formula (CSV injection).
fn csv(rows: &[[String; 9]], note: Option<&str>, lang: Lang) -> anyhow::Result<Vec<u8>> {
    let note_row = note.map(|n| {
        let mut row = vec![n.to_string()];
        row.resize(9, String::new());
        row
    });
    let rows = rows.iter().map(|r| r.to_vec()).chain(note_row);
    crate::csv_text::file(&headers(lang)[..], rows)
}

fn xlsx(rows: &[[String; 9]], note: Option<&str>, lang: Lang) -> anyhow::Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name(lang.pick("审计日志", "Audit log"))?;
    for (c, title) in headers(lang).iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *title, &bold)?;
    }
    for (c, width) in [20, 14, 12, 18, 24, 12, 14, 60, 20].into_iter().enumerate() {
        sheet.set_column_width(c as u16, width)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            // Text cells: rust_xlsxwriter never turns a string into a formula.
            sheet.write_string(r as u32 + 1, c as u16, cell)?;
        }
    }
    if let Some(note) = note {
        sheet.write_string_with_format(rows.len() as u32 + 1, 0, note, &bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_looks_like_a_formula_is_kept_as_text() {
        use crate::csv_text::inert;
        assert_eq!(inert("=1+1"), "'=1+1");
        assert_eq!(inert("-5 → 7"), "'-5 → 7");
        assert_eq!(inert("张三"), "张三");
    }

    #[test]
    fn the_csv_starts_with_a_bom_and_chinese_headers() {
        let bytes = csv(&[], None, Lang::Zh).expect("csv");
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(bytes[3..].to_vec()).expect("utf-8");
        assert!(
            text.starts_with("时间（北京时间）,账号,姓名,操作"),
            "{text}"
        );
    }
}
