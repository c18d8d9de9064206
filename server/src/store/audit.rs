//! The audit log: who did what to which record, when.

use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};

use crate::db::now_unix;

/// Appends one entry; `detail` is stored as JSON.
pub async fn record(
    conn: &mut AnyConnection,
    actor_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: &impl Serialize,
) -> sqlx::Result<()> {
    let detail = serde_json::to_string(detail).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query("INSERT INTO audit_log (at, actor_id, action, entity, entity_id, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(now_unix())
        .bind(actor_id)
        .bind(action)
        .bind(entity)
        .bind(entity_id)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}

/// Appends one entry inside `tx` and commits it: the change and its audit
/// entry are stored together or not at all.
pub async fn record_and_commit(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    actor_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: &impl Serialize,
) -> sqlx::Result<()> {
    record(&mut tx, actor_id, action, entity, entity_id, detail).await?;
    tx.commit().await
}

/// One row of the log with its actor's names, as read by the viewer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogRow {
    pub id: i64,
    pub at: i64,
    pub actor_login: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: String,
}

/// A value bound to a placeholder of the viewer's query.
enum Arg {
    Text(String),
    Int(i64),
}

/// `text` for a `LIKE … ESCAPE '\'` pattern that matches it anywhere,
/// lower-cased: `%`, `_` and `\` in it match only themselves.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The WHERE clause of a filter and its arguments (placeholders only;
/// every value is bound).
fn where_clause(filter: &domain::audit::AuditFilter) -> (String, Vec<Arg>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args = Vec::new();
    let next = |arg: Arg, args: &mut Vec<Arg>| {
        args.push(arg);
        format!("${}", args.len())
    };
    if let Some(actor) = &filter.actor {
        let p = next(Arg::Text(contains_pattern(actor)), &mut args);
        clauses.push(format!(
            "(LOWER(u.login) LIKE {p} ESCAPE '\\' OR LOWER(u.display_name) LIKE {p} ESCAPE '\\')"
        ));
    }
    if let Some(action) = &filter.action {
        let p = next(Arg::Text(action.clone()), &mut args);
        clauses.push(format!("a.action = {p}"));
    }
    if let Some(entity) = &filter.entity {
        let p = next(Arg::Text(entity.clone()), &mut args);
        clauses.push(format!("a.entity = {p}"));
    }
    if let Some(id) = &filter.entity_id {
        let p = next(Arg::Text(id.clone()), &mut args);
        clauses.push(format!("a.entity_id = {p}"));
    }
    let (start, end) = filter.time_range();
    if let Some(start) = start {
        let p = next(Arg::Int(start), &mut args);
        clauses.push(format!("a.at >= {p}"));
    }
    if let Some(end) = end {
        let p = next(Arg::Int(end), &mut args);
        clauses.push(format!("a.at < {p}"));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (sql, args)
}

fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(t) => query.bind(t),
            Arg::Int(i) => query.bind(i),
        };
    }
    query
}

const FROM: &str = " FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id";

/// Entries matching `filter`.
pub async fn count(pool: &AnyPool, filter: &domain::audit::AuditFilter) -> sqlx::Result<i64> {
    let (clause, args) = where_clause(filter);
    let sql = format!("SELECT COUNT(*) AS n{FROM}{clause}");
    let (n,): (i64,) = bind_all(sqlx::query_as(&sql), args).fetch_one(pool).await?;
    Ok(n)
}

/// Entries matching `filter`, newest first, `limit` of them after `offset`.
pub async fn entries(
    pool: &AnyPool,
    filter: &domain::audit::AuditFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<LogRow>> {
    let (clause, mut args) = where_clause(filter);
    let (l, o) = (args.len() + 1, args.len() + 2);
    args.push(Arg::Int(limit));
    args.push(Arg::Int(offset));
    let sql = format!(
        "SELECT a.id, a.at, u.login AS actor_login, u.display_name AS actor_name, \
         a.action, a.entity, a.entity_id, a.detail{FROM}{clause} \
         ORDER BY a.at DESC, a.id DESC LIMIT ${l} OFFSET ${o}"
    );
    bind_all(sqlx::query_as(&sql), args).fetch_all(pool).await
}

/// The records changed more than `threshold` times on one China day in
/// `[start, end)`: (entity, entity_id, China day number), one grouped
/// query. `ids` narrows it to those entity ids (the ones on a page).
/// Actions in `not_changes` do not count.
pub async fn busy_days(
    pool: &AnyPool,
    start: i64,
    end: i64,
    ids: Option<&[String]>,
    threshold: i64,
    not_changes: &[&str],
) -> sqlx::Result<Vec<(String, String, i64)>> {
    let mut args = vec![
        Arg::Int(domain::audit::CHINA_OFFSET_SECONDS),
        Arg::Int(start),
        Arg::Int(end),
    ];
    let placeholders = |values: Vec<Arg>, args: &mut Vec<Arg>| {
        values
            .into_iter()
            .map(|v| {
                args.push(v);
                format!("${}", args.len())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let skipped = placeholders(
        not_changes
            .iter()
            .map(|a| Arg::Text(a.to_string()))
            .collect(),
        &mut args,
    );
    let mut sql = format!(
        "SELECT entity, entity_id, day FROM (\
         SELECT entity, entity_id, (at + $1) / 86400 AS day FROM audit_log \
         WHERE at >= $2 AND at < $3 AND action NOT IN ({skipped})"
    );
    if let Some(ids) = ids {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(
            ids.iter().map(|i| Arg::Text(i.clone())).collect(),
            &mut args,
        );
        sql.push_str(&format!(" AND entity_id IN ({list})"));
    }
    args.push(Arg::Int(threshold));
    sql.push_str(&format!(
        ") d GROUP BY entity, entity_id, day HAVING COUNT(*) > ${}",
        args.len()
    ));
    bind_all(sqlx::query_as(&sql), args).fetch_all(pool).await
}
