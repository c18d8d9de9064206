//! Online replenishment: the policy, retailers' settings with their history,
//! and confirmed orders.

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::quantity::{Cartons, Fen};
use domain::replenishment::{
    ClassCap, ClassPolicy, ConfirmedLine, ConfirmedOrder, ManagedRetailer, ReplenishmentPolicy,
    RetailerHeader, SettingsChange, SpecPolicy, SpecRule, SpecSettings, SpecTerms,
};
use domain::Role;
use sqlx::{AnyConnection, AnyPool};

use crate::db::{insert_rows, now_unix, Value};

const POLICY_KEY: &str = "replenishment_policy";

fn decode_error(what: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(what.to_string().into())
}

fn cartons(v: i64) -> sqlx::Result<Cartons> {
    Cartons::new(v).map_err(|e| decode_error(format!("stored quantity {v}: {e}")))
}

/// The policy as set by the marketing center; the default until first set.
pub async fn policy(pool: &AnyPool) -> sqlx::Result<ReplenishmentPolicy> {
    super::settings::get(pool, POLICY_KEY).await
}

const POLICY_VERSION_KEY: &str = "replenishment_policy_version";

/// The policy's version: raised by every change.
pub async fn policy_version(pool: &AnyPool) -> sqlx::Result<i64> {
    super::settings::get(pool, POLICY_VERSION_KEY).await
}

/// Moves the policy from version `from` to the next, in the caller's
/// transaction: compare-and-set on the version row, so of two changes made
/// on the same version exactly one passes (on PostgreSQL the second waits
/// for the first's row lock and then finds the version moved). Returns
/// whether it moved.
pub async fn bump_policy_version(conn: &mut AnyConnection, from: i64) -> sqlx::Result<bool> {
    // A version no change can have reached is simply not the current one.
    let Some(next) = from.checked_add(1).filter(|_| from >= 0) else {
        return Ok(false);
    };
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, '0') ON CONFLICT (key) DO NOTHING")
        .bind(POLICY_VERSION_KEY)
        .execute(&mut *conn)
        .await?;
    let moved = sqlx::query("UPDATE settings SET value = $1 WHERE key = $2 AND value = $3")
        .bind(next.to_string())
        .bind(POLICY_VERSION_KEY)
        .bind(from.to_string())
        .execute(conn)
        .await?;
    Ok(moved.rows_affected() == 1)
}

pub async fn set_policy(conn: &mut AnyConnection, value: &ReplenishmentPolicy) -> sqlx::Result<()> {
    super::settings::set(conn, POLICY_KEY, value).await
}

/// A retailer with what access checks need.
#[derive(Debug, Clone)]
pub struct RetailerRow {
    pub header: RetailerHeader,
    pub manager_id: i64,
    pub market_unit_id: i64,
    pub settings_version: i64,
}

#[derive(sqlx::FromRow)]
struct RawRetailer {
    id: i64,
    licence_no: String,
    name: String,
    class_code: String,
    class_label: String,
    online_replenishment: i64,
    order_weekday: i64,
    manager_name: String,
    manager_id: i64,
    market_unit_id: i64,
    settings_version: i64,
}

pub async fn retailer(pool: &AnyPool, id: i64) -> sqlx::Result<Option<RetailerRow>> {
    let raw: Option<RawRetailer> = sqlx::query_as(
        "SELECT r.id, r.licence_no, r.name, r.class_code, c.label AS class_label, \
                r.online_replenishment, r.order_weekday, m.display_name AS manager_name, \
                r.manager_id, r.market_unit_id, r.settings_version \
         FROM retailers r \
         JOIN customer_classes c ON c.code = r.class_code \
         JOIN users m ON m.id = r.manager_id \
         WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(raw.map(|r| RetailerRow {
        header: RetailerHeader {
            id: r.id,
            licence_no: r.licence_no,
            name: r.name,
            class_code: r.class_code,
            class_label: r.class_label,
            online: r.online_replenishment != 0,
            order_weekday: u8::try_from(r.order_weekday).unwrap_or(1),
            manager_name: r.manager_name,
        },
        manager_id: r.manager_id,
        market_unit_id: r.market_unit_id,
        settings_version: r.settings_version,
    }))
}

#[derive(sqlx::FromRow)]
struct RawTerms {
    spec_id: i64,
    code: String,
    brand: String,
    name: String,
    wholesale_fen: i64,
    class_cap: i64,
    order_multiple: i64,
    scarce: i64,
    orderable: i64,
}

/// Every spec with its terms for one class: the class's own cap, or the
/// spec's default cap.
pub async fn terms_for_class(pool: &AnyPool, class_code: &str) -> sqlx::Result<Vec<SpecTerms>> {
    let rows: Vec<RawTerms> = sqlx::query_as(
        "SELECT s.id AS spec_id, s.code, s.brand, s.name, s.wholesale_fen, \
                COALESCE(c.cap, s.default_cap) AS class_cap, s.order_multiple, s.scarce, s.orderable \
         FROM specs s LEFT JOIN class_caps c ON c.spec_id = s.id AND c.class_code = $1 \
         ORDER BY s.price_class, s.brand, s.name",
    )
    .bind(class_code)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SpecTerms {
            spec_id: r.spec_id,
            code: r.code,
            brand: r.brand,
            name: r.name,
            wholesale_per_carton: Fen(r.wholesale_fen),
            class_cap: r.class_cap,
            order_multiple: r.order_multiple,
            scarce: r.scarce != 0,
            orderable: r.orderable != 0,
        })
        .collect())
}

pub async fn total_cap(pool: &AnyPool, class_code: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT total_cap FROM customer_classes WHERE code = $1")
        .bind(class_code)
        .fetch_one(pool)
        .await
}

#[derive(sqlx::FromRow)]
struct RawSettings {
    spec_id: i64,
    stock: i64,
    lower_limit: i64,
    upper_limit: i64,
    weekly_turnover: i64,
}

impl TryFrom<RawSettings> for SpecSettings {
    type Error = sqlx::Error;
    fn try_from(r: RawSettings) -> sqlx::Result<SpecSettings> {
        stored_settings(
            r.spec_id,
            r.stock,
            r.lower_limit,
            r.upper_limit,
            r.weekly_turnover,
        )
    }
}

/// Settings as stored, refused if a value is out of range.
fn stored_settings(
    spec_id: i64,
    stock: i64,
    lower: i64,
    upper: i64,
    weekly_turnover: i64,
) -> sqlx::Result<SpecSettings> {
    Ok(SpecSettings {
        spec_id,
        stock: cartons(stock)?,
        lower: cartons(lower)?,
        upper: cartons(upper)?,
        weekly_turnover: cartons(weekly_turnover)?,
    })
}

/// The columns of `retailer_specs`, in the order rows for [`insert_rows`] give them.
pub const SETTINGS_COLUMNS: [&str; 8] = [
    "retailer_id",
    "spec_id",
    "stock",
    "lower_limit",
    "upper_limit",
    "weekly_turnover",
    "updated_at",
    "updated_by",
];

/// A retailer's settings in catalogue order.
pub async fn settings(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    retailer_id: i64,
) -> sqlx::Result<Vec<SpecSettings>> {
    let rows: Vec<RawSettings> = sqlx::query_as(
        "SELECT rs.spec_id, rs.stock, rs.lower_limit, rs.upper_limit, rs.weekly_turnover \
         FROM retailer_specs rs JOIN specs s ON s.id = rs.spec_id \
         WHERE rs.retailer_id = $1 ORDER BY s.price_class, s.brand, s.name",
    )
    .bind(retailer_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(SpecSettings::try_from).collect()
}

/// Someone saved the retailer's settings since the version the edits started from.
#[derive(Debug)]
pub struct VersionConflict;

/// Replaces a retailer's settings if they are still at `version`, recording
/// every changed value. Returns the new version. Run it in a transaction.
pub async fn save_settings(
    conn: &mut AnyConnection,
    retailer_id: i64,
    version: i64,
    new: &[SpecSettings],
    actor_id: i64,
) -> sqlx::Result<Result<i64, VersionConflict>> {
    let bumped = sqlx::query(
        "UPDATE retailers SET settings_version = settings_version + 1 \
         WHERE id = $1 AND settings_version = $2",
    )
    .bind(retailer_id)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    if bumped.rows_affected() == 0 {
        return Ok(Err(VersionConflict));
    }
    let old = settings(&mut *conn, retailer_id).await?;
    let now = now_unix();
    let mut changes: Vec<Vec<Value>> = Vec::new();
    let mut change = |spec_id: i64, field: &str, from: Option<i64>, to: Option<i64>| {
        changes.push(vec![
            retailer_id.into(),
            spec_id.into(),
            now.into(),
            actor_id.into(),
            field.into(),
            from.into(),
            to.into(),
        ]);
    };
    let fields = |s: &SpecSettings| {
        [
            ("stock", s.stock.get()),
            ("lower", s.lower.get()),
            ("upper", s.upper.get()),
            ("weekly_turnover", s.weekly_turnover.get()),
        ]
    };
    for o in &old {
        match new.iter().find(|n| n.spec_id == o.spec_id) {
            None => change(o.spec_id, "spec", Some(1), None),
            Some(n) => {
                for ((field, from), (_, to)) in fields(o).into_iter().zip(fields(n)) {
                    if from != to {
                        change(o.spec_id, field, Some(from), Some(to));
                    }
                }
            }
        }
    }
    for n in new
        .iter()
        .filter(|n| !old.iter().any(|o| o.spec_id == n.spec_id))
    {
        change(n.spec_id, "spec", None, Some(1));
        for (field, to) in fields(n) {
            change(n.spec_id, field, None, Some(to));
        }
    }
    sqlx::query("DELETE FROM retailer_specs WHERE retailer_id = $1")
        .bind(retailer_id)
        .execute(&mut *conn)
        .await?;
    let rows: Vec<Vec<Value>> = new
        .iter()
        .map(|s| {
            vec![
                retailer_id.into(),
                s.spec_id.into(),
                s.stock.get().into(),
                s.lower.get().into(),
                s.upper.get().into(),
                s.weekly_turnover.get().into(),
                now.into(),
                Some(actor_id).into(),
            ]
        })
        .collect();
    insert_rows(conn, "retailer_specs", &SETTINGS_COLUMNS, &rows).await?;
    insert_rows(
        conn,
        "settings_changes",
        &[
            "retailer_id",
            "spec_id",
            "at",
            "actor_id",
            "field",
            "old_value",
            "new_value",
        ],
        &changes,
    )
    .await?;
    super::analysis::refresh_retailer_stock(conn, retailer_id).await?;
    Ok(Ok(version + 1))
}

#[derive(sqlx::FromRow)]
struct RawChange {
    at: i64,
    actor: String,
    actor_role: String,
    spec_id: i64,
    spec_name: String,
    field: String,
    old_value: Option<i64>,
    new_value: Option<i64>,
}

/// The latest `limit` changed values of a retailer's settings, newest first.
pub async fn history(
    pool: &AnyPool,
    retailer_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<SettingsChange>> {
    let rows: Vec<RawChange> = sqlx::query_as(
        "SELECT c.at, u.display_name AS actor, u.role AS actor_role, c.spec_id, s.name AS spec_name, \
                c.field, c.old_value, c.new_value \
         FROM settings_changes c JOIN users u ON u.id = c.actor_id JOIN specs s ON s.id = c.spec_id \
         WHERE c.retailer_id = $1 ORDER BY c.id DESC LIMIT $2",
    )
    .bind(retailer_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(SettingsChange {
                at: r.at,
                actor: r.actor,
                actor_role: Role::parse(&r.actor_role)
                    .ok_or_else(|| decode_error(&r.actor_role))?,
                spec_id: r.spec_id,
                spec_name: r.spec_name,
                field: r.field,
                from: r.old_value,
                to: r.new_value,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct RawOrder {
    id: i64,
    order_date: String,
    confirmed_at: i64,
    confirmed_by: String,
    confirmed_by_role: String,
    total_cartons: i64,
    total_fen: i64,
}

/// The order confirmed for a retailer's order day, if any.
pub async fn confirmed_order(
    pool: &AnyPool,
    retailer_id: i64,
    order_date: NaiveDate,
) -> sqlx::Result<Option<ConfirmedOrder>> {
    let raw: Option<RawOrder> = sqlx::query_as(
        "SELECT o.id, o.order_date, o.confirmed_at, u.display_name AS confirmed_by, \
                u.role AS confirmed_by_role, o.total_cartons, o.total_fen \
         FROM replenishment_orders o JOIN users u ON u.id = o.confirmed_by \
         WHERE o.retailer_id = $1 AND o.order_date = $2",
    )
    .bind(retailer_id)
    .bind(order_date.to_string())
    .fetch_optional(pool)
    .await?;
    let Some(o) = raw else { return Ok(None) };
    let lines: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT spec_id, wanted, proposed, quantity, cut_off FROM replenishment_order_lines \
         WHERE order_id = $1 ORDER BY spec_id",
    )
    .bind(o.id)
    .fetch_all(pool)
    .await?;
    Ok(Some(ConfirmedOrder {
        id: o.id,
        order_date: o.order_date.parse().map_err(decode_error)?,
        confirmed_at: o.confirmed_at,
        confirmed_by: o.confirmed_by,
        confirmed_by_role: Role::parse(&o.confirmed_by_role)
            .ok_or_else(|| decode_error(&o.confirmed_by_role))?,
        lines: lines
            .into_iter()
            .map(
                |(spec_id, wanted, proposed, quantity, cut_off)| ConfirmedLine {
                    spec_id,
                    wanted,
                    proposed,
                    quantity,
                    cut_off,
                },
            )
            .collect(),
        total_cartons: o.total_cartons,
        total_value: Fen(o.total_fen),
    }))
}

/// An order already exists for that day.
#[derive(Debug)]
pub struct AlreadyConfirmed;

/// Stores a confirmed order with its lines; refuses a second order for the
/// same day. Run it in a transaction.
pub async fn insert_order(
    conn: &mut AnyConnection,
    retailer_id: i64,
    order_date: NaiveDate,
    actor_id: i64,
    lines: &[ConfirmedLine],
    total_value: Fen,
) -> sqlx::Result<Result<i64, AlreadyConfirmed>> {
    let total: i64 = lines.iter().map(|l| l.quantity).sum();
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO replenishment_orders (retailer_id, order_date, confirmed_at, confirmed_by, total_cartons, total_fen) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (retailer_id, order_date) DO NOTHING RETURNING id",
    )
    .bind(retailer_id)
    .bind(order_date.to_string())
    .bind(now_unix())
    .bind(actor_id)
    .bind(total)
    .bind(total_value.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(id) = id else {
        return Ok(Err(AlreadyConfirmed));
    };
    let rows: Vec<Vec<Value>> = lines
        .iter()
        .map(|l| {
            vec![
                id.into(),
                l.spec_id.into(),
                l.wanted.into(),
                l.proposed.into(),
                l.quantity.into(),
                l.cut_off.into(),
            ]
        })
        .collect();
    insert_rows(
        conn,
        "replenishment_order_lines",
        &[
            "order_id", "spec_id", "wanted", "proposed", "quantity", "cut_off",
        ],
        &rows,
    )
    .await?;
    let week: Vec<(i64, i64)> = lines.iter().map(|l| (l.spec_id, l.quantity)).collect();
    super::analysis::add_order_week(conn, retailer_id, order_date, &week).await?;
    Ok(Ok(id))
}

#[derive(sqlx::FromRow)]
struct RawManaged {
    id: i64,
    licence_no: String,
    name: String,
    class_label: String,
    market_unit: String,
    online_replenishment: i64,
    specs: i64,
    last_order_date: Option<String>,
}

/// A customer manager's retailers with their replenishment status.
pub async fn managed_retailers(
    pool: &AnyPool,
    manager_id: i64,
) -> sqlx::Result<Vec<ManagedRetailer>> {
    let rows: Vec<RawManaged> = sqlx::query_as(
        "SELECT r.id, r.licence_no, r.name, c.label AS class_label, u.name AS market_unit, \
                r.online_replenishment, \
                (SELECT COUNT(*) FROM retailer_specs rs WHERE rs.retailer_id = r.id) AS specs, \
                (SELECT MAX(o.order_date) FROM replenishment_orders o WHERE o.retailer_id = r.id) AS last_order_date \
         FROM retailers r \
         JOIN customer_classes c ON c.code = r.class_code \
         JOIN org_units u ON u.id = r.market_unit_id \
         WHERE r.manager_id = $1 ORDER BY r.licence_no",
    )
    .bind(manager_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(ManagedRetailer {
                id: r.id,
                licence_no: r.licence_no,
                name: r.name,
                class_label: r.class_label,
                market_unit: r.market_unit,
                online: r.online_replenishment != 0,
                specs: r.specs,
                last_order_date: r
                    .last_order_date
                    .map(|d| d.parse())
                    .transpose()
                    .map_err(decode_error)?,
            })
        })
        .collect()
}

pub async fn set_online(
    conn: &mut AnyConnection,
    retailer_id: i64,
    online: bool,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE retailers SET online_replenishment = $2 WHERE id = $1")
        .bind(retailer_id)
        .bind(i64::from(online))
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RawSpecPolicy {
    spec_id: i64,
    code: String,
    name: String,
    order_multiple: i64,
    default_cap: i64,
    scarce: i64,
    orderable: i64,
}

/// The whole policy for the marketing center's editor.
pub async fn policy_tables(
    pool: &AnyPool,
) -> sqlx::Result<(Vec<SpecPolicy>, Vec<ClassPolicy>, Vec<ClassCap>)> {
    let specs: Vec<RawSpecPolicy> = sqlx::query_as(
        "SELECT id AS spec_id, code, name, order_multiple, default_cap, scarce, orderable \
         FROM specs ORDER BY price_class, brand, name",
    )
    .fetch_all(pool)
    .await?;
    let classes: Vec<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT code, label, total_cap FROM customer_classes ORDER BY rank")
            .fetch_all(pool)
            .await?;
    let caps: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT spec_id, class_code, cap FROM class_caps ORDER BY spec_id, class_code",
    )
    .fetch_all(pool)
    .await?;
    Ok((
        specs
            .into_iter()
            .map(|s| SpecPolicy {
                spec_id: s.spec_id,
                code: s.code,
                name: s.name,
                order_multiple: s.order_multiple,
                default_cap: s.default_cap,
                scarce: s.scarce != 0,
                orderable: s.orderable != 0,
            })
            .collect(),
        classes
            .into_iter()
            .map(|(code, label, total_cap)| ClassPolicy {
                code,
                label,
                total_cap,
            })
            .collect(),
        caps.into_iter()
            .map(|(spec_id, class_code, cap)| ClassCap {
                spec_id,
                class_code,
                cap,
            })
            .collect(),
    ))
}

pub async fn update_spec_policy(
    conn: &mut AnyConnection,
    change: &domain::replenishment::SpecPolicyChange,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE specs SET order_multiple = $2, default_cap = $3, scarce = $4, orderable = $5 WHERE id = $1",
    )
    .bind(change.spec_id)
    .bind(change.order_multiple)
    .bind(change.default_cap)
    .bind(i64::from(change.scarce))
    .bind(i64::from(change.orderable))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn upsert_cap(conn: &mut AnyConnection, cap: &ClassCap) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO class_caps (spec_id, class_code, cap) VALUES ($1, $2, $3) \
         ON CONFLICT (spec_id, class_code) DO UPDATE SET cap = excluded.cap",
    )
    .bind(cap.spec_id)
    .bind(&cap.class_code)
    .bind(cap.cap)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_total_cap(
    conn: &mut AnyConnection,
    class_code: &str,
    total_cap: Option<i64>,
) -> sqlx::Result<u64> {
    let done = sqlx::query("UPDATE customer_classes SET total_cap = $2 WHERE code = $1")
        .bind(class_code)
        .bind(total_cap)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Sets a retailer's order day; returns the previous one.
pub async fn set_order_weekday(
    conn: &mut AnyConnection,
    retailer_id: i64,
    weekday: u8,
) -> sqlx::Result<Option<i64>> {
    let old: Option<i64> = sqlx::query_scalar("SELECT order_weekday FROM retailers WHERE id = $1")
        .bind(retailer_id)
        .fetch_optional(&mut *conn)
        .await?;
    sqlx::query("UPDATE retailers SET order_weekday = $2 WHERE id = $1")
        .bind(retailer_id)
        .bind(i64::from(weekday))
        .execute(conn)
        .await?;
    Ok(old)
}

/// Everything a batch run of proposals needs: rules per class, total caps per
/// class, and every retailer's class with its settings.
pub struct ProposalInputs {
    pub rules: HashMap<String, Vec<SpecRule>>,
    pub total_caps: HashMap<String, Option<i64>>,
    /// (retailer id, class code, settings), by retailer id.
    pub retailers: Vec<(i64, String, Vec<SpecSettings>)>,
}

pub async fn proposal_inputs(pool: &AnyPool) -> sqlx::Result<ProposalInputs> {
    let classes: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT code, total_cap FROM customer_classes")
            .fetch_all(pool)
            .await?;
    let mut rules = HashMap::new();
    for (code, _) in &classes {
        let terms = terms_for_class(pool, code).await?;
        rules.insert(code.clone(), terms.iter().map(|t| t.rule()).collect());
    }
    let rows: Vec<(i64, String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT r.id, r.class_code, rs.spec_id, rs.stock, rs.lower_limit, rs.upper_limit, rs.weekly_turnover \
         FROM retailer_specs rs JOIN retailers r ON r.id = rs.retailer_id ORDER BY r.id",
    )
    .fetch_all(pool)
    .await?;
    let mut retailers: Vec<(i64, String, Vec<SpecSettings>)> = Vec::new();
    for (id, class, spec_id, stock, lower, upper, turnover) in rows {
        let s = stored_settings(spec_id, stock, lower, upper, turnover)?;
        match retailers.last_mut() {
            Some(last) if last.0 == id => last.2.push(s),
            _ => retailers.push((id, class, vec![s])),
        }
    }
    Ok(ProposalInputs {
        rules,
        total_caps: classes.into_iter().collect(),
        retailers,
    })
}
