//! Master data kept in pages: retailers (by their departments and the
//! center), their handover to another customer manager, the spec
//! catalogue and the customer classes (the center's). Every write is
//! compare-and-set on the record's version, in one transaction with its
//! audit entry (who, when, from, to).

use std::collections::HashSet;

use axum::http::StatusCode;
use domain::masterdata::records::{
    check_classes, check_retailer_edit, check_spec, ClassList, ClassRecord, ManagerChoice,
    Reassign, Reassigned, RetailerEdit, RetailerPage, RetailerRecord, SpecRecord, MAX_REASSIGN,
    RETAILER_PAGE_SIZE,
};
use domain::masterdata::{clean, RetailerStatus};
use domain::policy::op;
use domain::{ErrorBody, ErrorCode, Lang, Role};
use serde_json::json;
use sqlx::AnyConnection;

use crate::error::{ApiError, ApiResult};
use crate::store::audit;
use crate::store::users::UserRow;
use crate::AppState;

fn invalid(lang: Lang, errors: Vec<(String, String)>) -> ApiError {
    let message = errors
        .first()
        .map(|(_, m)| m.clone())
        .unwrap_or_else(|| lang.pick("输入有误", "Invalid input").into());
    let body = errors.into_iter().fold(
        ErrorBody::new(ErrorCode::Validation, message),
        |b, (f, m)| b.with_field(f, m),
    );
    ApiError::validation(body)
}

fn stale(lang: Lang) -> ApiError {
    ApiError::conflict(lang.pick(
        "该记录已被他人修改，已为您载入最新内容，请核对后重新保存",
        "Someone else changed this record first; reload it and save again",
    ))
}

/// The units the caller keeps: their own and every unit below it; `None`
/// for the whole company.
async fn kept_units(conn: &mut AnyConnection, user: &UserRow) -> ApiResult<Option<HashSet<i64>>> {
    if matches!(user.role, Role::MarketingCenter | Role::Admin) {
        return Ok(None);
    }
    let units: Vec<(i64, Option<i64>)> = sqlx::query_as("SELECT id, parent_id FROM org_units")
        .fetch_all(&mut *conn)
        .await?;
    let mut kept: HashSet<i64> = HashSet::from([user.org_unit_id]);
    // The tree is three levels deep; a few passes reach every descendant.
    for _ in 0..4 {
        for (id, parent) in &units {
            if parent.is_some_and(|p| kept.contains(&p)) {
                kept.insert(*id);
            }
        }
    }
    Ok(Some(kept))
}

fn in_list(ids: &HashSet<i64>) -> String {
    let mut v: Vec<String> = ids.iter().map(i64::to_string).collect();
    v.sort();
    if v.is_empty() {
        "NULL".into()
    } else {
        v.join(",")
    }
}

const RETAILER_SELECT: &str = "SELECT r.id, r.licence_no, r.name, r.address, r.phone, r.class_code, \
    c.label AS class_label, r.manager_id, u.display_name AS manager_name, r.market_unit_id, \
    o.name AS market_unit, r.order_weekday, r.status, r.closed_on, r.online_replenishment, r.version \
    FROM retailers r JOIN customer_classes c ON c.code = r.class_code \
    JOIN users u ON u.id = r.manager_id JOIN org_units o ON o.id = r.market_unit_id";

#[derive(sqlx::FromRow)]
struct Raw {
    id: i64,
    licence_no: String,
    name: String,
    address: String,
    phone: String,
    class_code: String,
    class_label: String,
    manager_id: i64,
    manager_name: String,
    market_unit_id: i64,
    market_unit: String,
    order_weekday: i64,
    status: String,
    closed_on: Option<String>,
    online_replenishment: i64,
    version: i64,
}

impl From<Raw> for RetailerRecord {
    fn from(r: Raw) -> Self {
        RetailerRecord {
            id: r.id,
            licence_no: r.licence_no,
            name: r.name,
            address: r.address,
            phone: r.phone,
            class_code: r.class_code,
            class_label: r.class_label,
            manager_id: r.manager_id,
            manager_name: r.manager_name,
            market_unit_id: r.market_unit_id,
            market_unit: r.market_unit,
            order_weekday: r.order_weekday.clamp(1, 7) as u8,
            status: RetailerStatus::parse(&r.status).unwrap_or(RetailerStatus::Open),
            closed_on: r.closed_on,
            online: r.online_replenishment == 1,
            version: r.version,
        }
    }
}

async fn retailer(conn: &mut AnyConnection, id: i64) -> ApiResult<Option<RetailerRecord>> {
    let row: Option<Raw> = sqlx::query_as(&format!("{RETAILER_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(RetailerRecord::from))
}

/// A page of the retailers the caller keeps, searched by licence, name or
/// customer manager.
pub async fn retailers(
    state: &AppState,
    user: &UserRow,
    q: Option<String>,
    status: Option<RetailerStatus>,
    page: i64,
) -> ApiResult<RetailerPage> {
    let mut conn = state.db.pool.acquire().await?;
    let mut filter = String::from(" WHERE 1 = 1");
    if let Some(units) = kept_units(&mut conn, user).await? {
        filter.push_str(&format!(" AND r.market_unit_id IN ({})", in_list(&units)));
    }
    let q = q.map(|q| clean::text(&q)).filter(|q| !q.is_empty());
    let pattern = q.as_ref().map(|q| {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{}%", escaped.to_lowercase())
    });
    if pattern.is_some() {
        filter.push_str(
            " AND (LOWER(r.licence_no) LIKE $1 ESCAPE '\\' OR LOWER(r.name) LIKE $1 ESCAPE '\\' \
             OR LOWER(u.display_name) LIKE $1 ESCAPE '\\' OR LOWER(u.login) LIKE $1 ESCAPE '\\')",
        );
    }
    if let Some(s) = status {
        filter.push_str(&format!(" AND r.status = '{}'", s.as_str()));
    }
    let page = page.clamp(0, 100_000);
    let count_sql =
        format!("SELECT COUNT(*) FROM retailers r JOIN users u ON u.id = r.manager_id{filter}");
    let list_sql = format!(
        "{RETAILER_SELECT}{filter} ORDER BY r.licence_no LIMIT {RETAILER_PAGE_SIZE} OFFSET {}",
        page * RETAILER_PAGE_SIZE
    );
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    let mut list = sqlx::query_as::<_, Raw>(&list_sql);
    if let Some(p) = &pattern {
        count = count.bind(p.clone());
        list = list.bind(p.clone());
    }
    let total = count.fetch_one(&mut *conn).await?;
    let rows = list.fetch_all(&mut *conn).await?;
    Ok(RetailerPage {
        rows: rows.into_iter().map(RetailerRecord::from).collect(),
        total,
        page,
        page_size: RETAILER_PAGE_SIZE,
    })
}

/// Edits one retailer the caller keeps, from the version they saw.
pub async fn edit_retailer(
    state: &AppState,
    user: &UserRow,
    lang: Lang,
    id: i64,
    edit: RetailerEdit,
) -> ApiResult<RetailerRecord> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    // Scope first: a retailer outside it (or none) is 403 whatever the body.
    let before = retailer(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::forbidden(lang))?;
    let own = match kept_units(&mut tx, user).await? {
        None => true,
        Some(units) => units.contains(&before.market_unit_id),
    };
    if !op::EDIT_RETAILER.allows(user.role, own) {
        return Err(ApiError::forbidden(lang));
    }
    let errors = check_retailer_edit(&edit, crate::clock::today(), lang);
    if !errors.is_empty() {
        return Err(invalid(
            lang,
            errors
                .into_iter()
                .map(|(f, m)| (f.to_string(), m))
                .collect(),
        ));
    }
    if let Some(class) = &edit.class_code {
        let known: Option<String> =
            sqlx::query_scalar("SELECT code FROM customer_classes WHERE code = $1")
                .bind(class)
                .fetch_optional(&mut *tx)
                .await?;
        if known.is_none() {
            return Err(invalid(
                lang,
                vec![(
                    "class_code".into(),
                    lang.pick("没有该客户档位", "No such customer class").into(),
                )],
            ));
        }
    }
    let status = edit.status.unwrap_or(before.status);
    let closed_on = match status {
        RetailerStatus::Closed => edit.closed_on.clone().or(before.closed_on.clone()),
        _ => None,
    };
    let name = edit
        .name
        .as_deref()
        .map(clean::text)
        .unwrap_or(before.name.clone());
    let address = edit
        .address
        .as_deref()
        .map(clean::text)
        .unwrap_or(before.address.clone());
    let phone = edit
        .phone
        .as_deref()
        .map(clean::text)
        .unwrap_or(before.phone.clone());
    let class = edit.class_code.clone().unwrap_or(before.class_code.clone());
    let weekday = edit.order_weekday.unwrap_or(before.order_weekday);
    let updated = sqlx::query(
        "UPDATE retailers SET name = $1, address = $2, phone = $3, class_code = $4, \
         order_weekday = $5, status = $6, closed_on = $7, version = version + 1 \
         WHERE id = $8 AND version = $9",
    )
    .bind(&name)
    .bind(&address)
    .bind(&phone)
    .bind(&class)
    .bind(i64::from(weekday))
    .bind(status.as_str())
    .bind(&closed_on)
    .bind(id)
    .bind(edit.version)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(stale(lang));
    }
    let after = retailer(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::forbidden(lang))?;
    let (from, to) = differences(&before, &after);
    audit::record(
        &mut tx,
        Some(user.id),
        "masterdata.retailer.change",
        "retailer",
        &before.licence_no,
        &json!({ "from": from, "to": to }),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

fn differences(a: &RetailerRecord, b: &RetailerRecord) -> (serde_json::Value, serde_json::Value) {
    let (mut from, mut to) = (serde_json::Map::new(), serde_json::Map::new());
    let mut diff = |k: &str, x: serde_json::Value, y: serde_json::Value| {
        if x != y {
            from.insert(k.into(), x);
            to.insert(k.into(), y);
        }
    };
    diff("name", json!(a.name), json!(b.name));
    diff("address", json!(a.address), json!(b.address));
    diff("phone", json!(a.phone), json!(b.phone));
    diff("class", json!(a.class_code), json!(b.class_code));
    diff(
        "order_weekday",
        json!(a.order_weekday),
        json!(b.order_weekday),
    );
    diff("status", json!(a.status.as_str()), json!(b.status.as_str()));
    diff("closed_on", json!(a.closed_on), json!(b.closed_on));
    diff("manager", json!(a.manager_name), json!(b.manager_name));
    (from.into(), to.into())
}

/// The active customer managers the caller may hand retailers to.
pub async fn managers(state: &AppState, user: &UserRow) -> ApiResult<Vec<ManagerChoice>> {
    let mut conn = state.db.pool.acquire().await?;
    let mut sql = String::from(
        "SELECT u.id, u.login, u.display_name, o.name FROM users u JOIN org_units o ON o.id = u.org_unit_id \
         WHERE u.role = 'customer_manager' AND u.active = 1",
    );
    if let Some(units) = kept_units(&mut conn, user).await? {
        sql.push_str(&format!(" AND u.org_unit_id IN ({})", in_list(&units)));
    }
    sql.push_str(" ORDER BY o.name, u.login");
    let rows: Vec<(i64, String, String, String)> =
        sqlx::query_as(&sql).fetch_all(&mut *conn).await?;
    Ok(rows
        .into_iter()
        .map(|(id, login, name, unit)| ManagerChoice {
            id,
            login,
            name,
            unit,
        })
        .collect())
}

/// Hands retailers the caller keeps to an active customer manager the
/// caller keeps; the retailers follow the manager's market department.
/// Open forecast cycles keep them on their former manager's sheet.
pub async fn reassign(
    state: &AppState,
    user: &UserRow,
    lang: Lang,
    request: Reassign,
) -> ApiResult<Reassigned> {
    let mut ids = request.retailer_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || ids.len() > MAX_REASSIGN {
        return Err(invalid(
            lang,
            vec![(
                "retailer_ids".into(),
                match lang {
                    Lang::Zh => format!("请选择 1–{MAX_REASSIGN} 个零售户"),
                    Lang::En => format!("Choose 1 to {MAX_REASSIGN} retailers"),
                },
            )],
        ));
    }
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let kept = kept_units(&mut tx, user).await?;
    let manager: Option<(i64, String, i64, String)> = sqlx::query_as(
        "SELECT id, display_name, org_unit_id, role FROM users WHERE id = $1 AND active = 1",
    )
    .bind(request.manager_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((manager_id, manager_name, manager_unit, role)) = manager
        .filter(|m| m.3 == Role::CustomerManager.as_str())
        .filter(|m| kept.as_ref().is_none_or(|k| k.contains(&m.2)))
    else {
        return Err(invalid(
            lang,
            vec![(
                "manager_id".into(),
                lang.pick(
                    "请选择您管辖范围内在岗的客户经理",
                    "Choose an active customer manager in your departments",
                )
                .into(),
            )],
        ));
    };
    let _ = role;
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let rows: Vec<(i64, String, i64, i64, String)> = sqlx::query_as(&format!(
        "SELECT r.id, r.licence_no, r.market_unit_id, r.manager_id, u.display_name FROM retailers r \
         JOIN users u ON u.id = r.manager_id WHERE r.id IN ({list})"
    ))
    .fetch_all(&mut *tx)
    .await?;
    if rows.len() != ids.len()
        || rows
            .iter()
            .any(|r| kept.as_ref().is_some_and(|k| !k.contains(&r.2)))
    {
        return Err(ApiError::forbidden(lang));
    }
    let moving: Vec<&(i64, String, i64, i64, String)> =
        rows.iter().filter(|r| r.3 != manager_id).collect();
    let moved_list = moving
        .iter()
        .map(|r| r.0.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut in_open_cycle = 0;
    if !moving.is_empty() {
        sqlx::query(&format!(
            "UPDATE retailers SET manager_id = $1, market_unit_id = $2, version = version + 1 \
             WHERE id IN ({moved_list})"
        ))
        .bind(manager_id)
        .bind(manager_unit)
        .execute(&mut *tx)
        .await?;
        let mut managers: Vec<i64> = moving.iter().map(|r| r.3).collect();
        managers.push(manager_id);
        managers.sort_unstable();
        managers.dedup();
        crate::store::analysis::refresh_managers(&mut tx, &managers).await?;
        in_open_cycle = sqlx::query_scalar(&format!(
            "SELECT COUNT(DISTINCT cr.retailer_id) FROM forecast_cycle_retailers cr \
             JOIN forecast_cycles c ON c.id = cr.cycle_id WHERE c.status = 'open' AND cr.retailer_id IN ({moved_list})"
        ))
        .fetch_one(&mut *tx)
        .await?;
        let now = crate::db::now_unix();
        let entries: Vec<Vec<crate::db::Value>> = moving
            .iter()
            .map(|r| {
                vec![
                    now.into(),
                    Some(user.id).into(),
                    "masterdata.retailer.reassign".into(),
                    "retailer".into(),
                    r.1.clone().into(),
                    json!({ "from": { "manager": r.4 }, "to": { "manager": manager_name } })
                        .to_string()
                        .into(),
                ]
            })
            .collect();
        crate::db::insert_rows(
            &mut tx,
            "audit_log",
            &["at", "actor_id", "action", "entity", "entity_id", "detail"],
            &entries,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Reassigned {
        moved: moving.len() as i64,
        in_open_cycle,
    })
}

#[derive(sqlx::FromRow)]
struct SpecRaw {
    id: i64,
    code: String,
    name: String,
    brand: String,
    price_class: i64,
    wholesale_fen: i64,
    retail_fen: i64,
    order_multiple: i64,
    orderable: i64,
    scarce: i64,
    is_new: i64,
    version: i64,
}

impl From<SpecRaw> for SpecRecord {
    fn from(s: SpecRaw) -> Self {
        SpecRecord {
            id: s.id,
            code: s.code,
            name: s.name,
            brand: s.brand,
            price_class: s.price_class.clamp(1, 5) as u8,
            wholesale_fen: s.wholesale_fen,
            retail_fen: s.retail_fen,
            order_multiple: s.order_multiple,
            orderable: s.orderable == 1,
            scarce: s.scarce == 1,
            new_product: s.is_new == 1,
            version: s.version,
        }
    }
}

const SPEC_SELECT: &str = "SELECT id, code, name, brand, price_class, wholesale_fen, retail_fen, \
    order_multiple, orderable, scarce, is_new, version FROM specs";

pub async fn specs(state: &AppState) -> ApiResult<Vec<SpecRecord>> {
    let rows: Vec<SpecRaw> = sqlx::query_as(&format!("{SPEC_SELECT} ORDER BY price_class, code"))
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows.into_iter().map(SpecRecord::from).collect())
}

async fn spec(conn: &mut AnyConnection, id: i64) -> ApiResult<Option<SpecRecord>> {
    let row: Option<SpecRaw> = sqlx::query_as(&format!("{SPEC_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(SpecRecord::from))
}

fn checked_spec(mut spec: SpecRecord, lang: Lang) -> ApiResult<SpecRecord> {
    let errors = check_spec(&spec, lang);
    if !errors.is_empty() {
        return Err(invalid(
            lang,
            errors
                .into_iter()
                .map(|(f, m)| (f.to_string(), m))
                .collect(),
        ));
    }
    spec.code = clean::code(&spec.code).unwrap_or(spec.code);
    spec.name = clean::text(&spec.name);
    spec.brand = clean::text(&spec.brand);
    Ok(spec)
}

/// Binds a spec's ten columns as `$1`–`$10`, in the order of the insert
/// and the update.
fn bind_spec<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    s: &'q SpecRecord,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(&s.code)
        .bind(&s.brand)
        .bind(&s.name)
        .bind(i64::from(s.price_class))
        .bind(s.wholesale_fen)
        .bind(s.retail_fen)
        .bind(i64::from(s.scarce))
        .bind(i64::from(s.new_product))
        .bind(i64::from(s.orderable))
        .bind(s.order_multiple)
}

/// A unique-key violation as a 409 at the field it concerns.
fn taken(e: sqlx::Error, lang: Lang) -> ApiError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let field = if db.message().contains("code") {
                "code"
            } else {
                "name"
            };
            let message = lang.pick(
                "卷烟编码或名称已被其他品规使用",
                "The spec code or name is used by another spec",
            );
            ApiError::Client(
                StatusCode::CONFLICT,
                ErrorBody::new(ErrorCode::Conflict, message).with_field(field, message),
            )
        }
        _ => e.into(),
    }
}

pub async fn create_spec(
    state: &AppState,
    user: &UserRow,
    lang: Lang,
    input: SpecRecord,
) -> ApiResult<SpecRecord> {
    let s = checked_spec(input, lang)?;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let id: i64 = bind_spec(
        sqlx::query(
            "INSERT INTO specs (code, brand, name, price_class, wholesale_fen, retail_fen, scarce, is_new, \
             orderable, order_multiple) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        ),
        &s,
    )
    .fetch_one(&mut *tx)
    .await
    .and_then(|row| sqlx::Row::try_get(&row, 0))
    .map_err(|e| taken(e, lang))?;
    let after = spec(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(lang))?;
    audit::record(
        &mut tx,
        Some(user.id),
        "masterdata.spec.add",
        "spec",
        &after.code,
        &json!({ "to": spec_detail(&after) }),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn edit_spec(
    state: &AppState,
    user: &UserRow,
    lang: Lang,
    id: i64,
    spec_in: SpecRecord,
) -> ApiResult<SpecRecord> {
    let s = checked_spec(spec_in, lang)?;
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let before = spec(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(lang))?;
    let updated = bind_spec(
        sqlx::query(
        "UPDATE specs SET code = $1, brand = $2, name = $3, price_class = $4, wholesale_fen = $5, \
         retail_fen = $6, scarce = $7, is_new = $8, orderable = $9, order_multiple = $10, \
         version = version + 1 WHERE id = $11 AND version = $12",
        ),
        &s,
    )
    .bind(id)
    .bind(s.version)
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, lang))?;
    if updated.rows_affected() != 1 {
        return Err(stale(lang));
    }
    let after = spec(&mut tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found(lang))?;
    audit::record(
        &mut tx,
        Some(user.id),
        "masterdata.spec.change",
        "spec",
        &after.code,
        &spec_changes(&before, &after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// A spec as the audit log shows it: Chinese names, prices in yuan.
fn spec_detail(s: &SpecRecord) -> serde_json::Map<String, serde_json::Value> {
    let yuan = |fen: i64| format!("{}.{:02}", fen / 100, fen % 100);
    let yes = |b: bool| if b { "是" } else { "否" };
    [
        ("卷烟编码", json!(s.code)),
        ("卷烟名称", json!(s.name)),
        ("品牌", json!(s.brand)),
        ("价类", json!(s.price_class)),
        ("批发价", json!(yuan(s.wholesale_fen))),
        ("零售价", json!(yuan(s.retail_fen))),
        ("订货倍数", json!(s.order_multiple)),
        ("可订货", json!(yes(s.orderable))),
        ("紧俏", json!(yes(s.scarce))),
        ("新品", json!(yes(s.new_product))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The changed values of a spec, from and to.
fn spec_changes(before: &SpecRecord, after: &SpecRecord) -> serde_json::Value {
    let (a, b) = (spec_detail(before), spec_detail(after));
    let (mut from, mut to) = (serde_json::Map::new(), serde_json::Map::new());
    for (k, v) in &b {
        if a.get(k) != Some(v) {
            from.insert(k.clone(), a.get(k).cloned().unwrap_or_default());
            to.insert(k.clone(), v.clone());
        }
    }
    json!({ "from": from, "to": to })
}

/// The entries of `a` that `b` does not have alike.
fn changed(
    a: &serde_json::Map<String, serde_json::Value>,
    b: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The class list as the audit log shows it: code → "name (position)".
fn class_detail(list: &ClassList) -> serde_json::Map<String, serde_json::Value> {
    list.classes
        .iter()
        .map(|c| (c.code.clone(), json!(format!("{} ({})", c.label, c.rank))))
        .collect()
}

pub async fn classes(state: &AppState) -> ApiResult<ClassList> {
    let mut conn = state.db.pool.acquire().await?;
    class_list(&mut conn).await
}

async fn class_list(conn: &mut AnyConnection) -> ApiResult<ClassList> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT c.code, c.label, c.rank, (SELECT COUNT(*) FROM retailers r WHERE r.class_code = c.code) \
         FROM customer_classes c ORDER BY c.rank",
    )
    .fetch_all(conn)
    .await?;
    Ok(ClassList {
        classes: rows
            .into_iter()
            .map(|(code, label, rank, retailers)| ClassRecord {
                code,
                label,
                rank,
                retailers,
            })
            .collect(),
    })
}

/// Saves the whole list of classes: renames, reorders (rank = position),
/// adds, and removes classes no retailer is in. Classes are keyed by code;
/// the list is written under the write lock, so two saves at once apply
/// one after the other, each whole.
pub async fn save_classes(
    state: &AppState,
    user: &UserRow,
    lang: Lang,
    list: ClassList,
) -> ApiResult<ClassList> {
    let errors = check_classes(&list.classes, lang);
    if !errors.is_empty() {
        return Err(invalid(lang, errors));
    }
    if list.classes.is_empty() || list.classes.len() > 100 {
        return Err(invalid(
            lang,
            vec![(
                "classes".into(),
                lang.pick("客户档位须为 1–100 个", "Keep 1 to 100 classes")
                    .into(),
            )],
        ));
    }
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    // Serialise class-list saves on PostgreSQL as SQLite's write lock does.
    if state.db.backend == crate::db::Backend::Postgres {
        sqlx::query("LOCK TABLE customer_classes IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
    }
    let before = class_list(&mut tx).await?;
    let kept: HashSet<String> = list.classes.iter().map(|c| clean::text(&c.code)).collect();
    for old in &before.classes {
        if !kept.contains(&old.code) {
            if old.retailers > 0 {
                return Err(invalid(
                    lang,
                    vec![(
                        "classes".into(),
                        match lang {
                            Lang::Zh => format!(
                                "档位“{}”还有 {} 个零售户，不能删除",
                                old.label, old.retailers
                            ),
                            Lang::En => format!(
                                "Class {} still has {} retailers and cannot be removed",
                                old.label, old.retailers
                            ),
                        },
                    )],
                ));
            }
            for table in ["class_caps", "forecast_bounds"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE class_code = $1"))
                    .bind(&old.code)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM customer_classes WHERE code = $1")
                .bind(&old.code)
                .execute(&mut *tx)
                .await?;
        }
    }
    // Ranks move out of the way first (they are unique).
    sqlx::query("UPDATE customer_classes SET rank = -rank - 1000000")
        .execute(&mut *tx)
        .await?;
    for (i, c) in list.classes.iter().enumerate() {
        let code = clean::text(&c.code);
        let label = clean::text(&c.label);
        let rank = i as i64 + 1;
        let changed = sqlx::query(
            "UPDATE customer_classes SET label = $1, rank = $2, version = version + 1 WHERE code = $3",
        )
        .bind(&label)
        .bind(rank)
        .bind(&code)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            sqlx::query("INSERT INTO customer_classes (code, label, rank) VALUES ($1, $2, $3)")
                .bind(&code)
                .bind(&label)
                .bind(rank)
                .execute(&mut *tx)
                .await?;
        }
    }
    let after = class_list(&mut tx).await?;
    if after != before {
        audit::record(
            &mut tx,
            Some(user.id),
            "masterdata.classes.change",
            "customer_classes",
            "all",
            &json!({
                "from": changed(&class_detail(&before), &class_detail(&after)),
                "to": changed(&class_detail(&after), &class_detail(&before)),
            }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(after)
}
