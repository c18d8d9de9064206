//! Online replenishment: the policy, retailers' settings with their history,
//! and confirmed orders.

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::quantity::{Cartons, Fen};
use domain::replenishment::{
    cutoff_at, is_open, window_date, CapPeriod, ClassCap, ClassPolicy, ConfirmedLine,
    ConfirmedOrder, ManagedRetailer, OnOrder, OrderStatus, ReplenishmentPolicy, RetailerHeader,
    SettingsChange, SpecPolicy, SpecRule, SpecSettings, SpecTerms, STALE_ORDER_DAYS,
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

/// Every spec with its terms for one class on an order day: the cap of a
/// published allocation whose period holds the day (货源投放), else the
/// class's own standing cap, else the spec's default cap.
pub async fn terms_for_class(
    pool: &AnyPool,
    class_code: &str,
    order_date: Option<NaiveDate>,
) -> sqlx::Result<Vec<SpecTerms>> {
    let rows: Vec<RawTerms> = sqlx::query_as(
        "SELECT s.id AS spec_id, s.code, s.brand, s.name, s.wholesale_fen, \
                COALESCE(c.cap, s.default_cap) AS class_cap, s.order_multiple, s.scarce, s.orderable \
         FROM specs s LEFT JOIN class_caps c ON c.spec_id = s.id AND c.class_code = $1 \
         ORDER BY s.price_class, s.brand, s.name",
    )
    .bind(class_code)
    .fetch_all(pool)
    .await?;
    let allocated = match order_date {
        Some(day) => allocated_caps(pool, Some(class_code), day, day).await?,
        None => Vec::new(),
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut terms = SpecTerms {
                spec_id: r.spec_id,
                code: r.code,
                brand: r.brand,
                name: r.name,
                wholesale_per_carton: Fen(r.wholesale_fen),
                class_cap: r.class_cap,
                standing_cap: r.class_cap,
                order_multiple: r.order_multiple,
                scarce: r.scarce != 0,
                orderable: r.orderable != 0,
                cap_period: None,
            };
            if let Some(a) = allocated.iter().find(|a| a.spec_id == terms.spec_id) {
                terms.class_cap = a.cap;
                terms.cap_period = Some(a.period);
            }
            terms
        })
        .collect())
}

/// A published allocation's cap for one class.
#[derive(Debug, Clone)]
pub struct AllocatedCap {
    pub spec_id: i64,
    pub class_code: String,
    pub cap: i64,
    pub period: CapPeriod,
}

impl AllocatedCap {
    pub fn holds_on(&self, date: NaiveDate) -> bool {
        self.period.from <= date && date <= self.period.to
    }
}

/// The caps of published, not withdrawn allocations whose period meets
/// [from, to] (for one class, or every class).
pub async fn allocated_caps(
    pool: &AnyPool,
    class_code: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<AllocatedCap>> {
    let sql = format!(
        "SELECT a.spec_id, ac.class_code, ac.cap, a.id, a.period_from, a.period_to \
         FROM allocations a JOIN allocation_caps ac ON ac.allocation_id = a.id \
         WHERE a.withdrawn_at IS NULL AND a.period_from <= $2 AND a.period_to >= $1 {} \
         ORDER BY a.id",
        if class_code.is_some() {
            "AND ac.class_code = $3"
        } else {
            ""
        }
    );
    let mut query = sqlx::query_as::<_, (i64, String, i64, i64, String, String)>(&sql)
        .bind(from.to_string())
        .bind(to.to_string());
    if let Some(class) = class_code {
        query = query.bind(class);
    }
    let rows = query.fetch_all(pool).await?;
    rows.into_iter()
        .map(|(spec_id, class_code, cap, id, from, to)| {
            Ok(AllocatedCap {
                spec_id,
                class_code,
                cap,
                period: CapPeriod {
                    allocation_id: id,
                    from: from.parse().map_err(decode_error)?,
                    to: to.parse().map_err(decode_error)?,
                },
            })
        })
        .collect()
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
    status: String,
    version: i64,
    confirmed_at: i64,
    confirmed_by: String,
    confirmed_by_role: String,
    updated_at: Option<i64>,
    updated_by: Option<String>,
    exported_at: Option<i64>,
    delivered_at: Option<i64>,
    total_cartons: i64,
    total_fen: i64,
}

const ORDER_SELECT: &str = "SELECT o.id, o.order_date, o.status, o.version, o.confirmed_at, \
        u.display_name AS confirmed_by, u.role AS confirmed_by_role, o.updated_at, \
        w.display_name AS updated_by, o.exported_at, o.delivered_at, o.total_cartons, o.total_fen \
     FROM replenishment_orders o JOIN users u ON u.id = o.confirmed_by \
     LEFT JOIN users w ON w.id = o.updated_by";

/// Orders with their lines, as their retailer sees them at `now` (China time).
async fn orders_with_lines(
    pool: &AnyPool,
    raw: Vec<RawOrder>,
    policy: &ReplenishmentPolicy,
    now: chrono::NaiveDateTime,
) -> sqlx::Result<Vec<ConfirmedOrder>> {
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    let ids = raw
        .iter()
        .map(|o| o.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let lines: Vec<(i64, i64, i64, i64, i64, i64, Option<i64>)> = sqlx::query_as(&format!(
        "SELECT order_id, spec_id, wanted, proposed, quantity, cut_off, delivered \
         FROM replenishment_order_lines WHERE order_id IN ({ids}) ORDER BY order_id, spec_id"
    ))
    .fetch_all(pool)
    .await?;
    let mut by_order: HashMap<i64, Vec<ConfirmedLine>> = HashMap::new();
    for (order_id, spec_id, wanted, proposed, quantity, cut_off, delivered) in lines {
        by_order.entry(order_id).or_default().push(ConfirmedLine {
            spec_id,
            wanted,
            proposed,
            quantity,
            cut_off,
            delivered,
        });
    }
    raw.into_iter()
        .map(|o| {
            let order_date: NaiveDate = o.order_date.parse().map_err(decode_error)?;
            Ok(ConfirmedOrder {
                id: o.id,
                order_date,
                status: OrderStatus::of(
                    o.status == "cancelled",
                    o.exported_at.is_some(),
                    o.delivered_at.is_some(),
                    is_open(order_date, now, policy),
                ),
                version: o.version,
                cutoff: cutoff_at(order_date, policy),
                confirmed_at: o.confirmed_at,
                confirmed_by: o.confirmed_by,
                confirmed_by_role: Role::parse(&o.confirmed_by_role)
                    .ok_or_else(|| decode_error(&o.confirmed_by_role))?,
                updated_at: o.updated_at,
                updated_by: o.updated_by,
                lines: by_order.remove(&o.id).unwrap_or_default(),
                total_cartons: o.total_cartons,
                total_value: Fen(o.total_fen),
            })
        })
        .collect()
}

/// The order of a retailer's order day, if any (cancelled ones too).
pub async fn order_of_day(
    pool: &AnyPool,
    retailer_id: i64,
    order_date: NaiveDate,
    policy: &ReplenishmentPolicy,
    now: chrono::NaiveDateTime,
) -> sqlx::Result<Option<ConfirmedOrder>> {
    let raw: Vec<RawOrder> = sqlx::query_as(&format!(
        "{ORDER_SELECT} WHERE o.retailer_id = $1 AND o.order_date = $2"
    ))
    .bind(retailer_id)
    .bind(order_date.to_string())
    .fetch_all(pool)
    .await?;
    Ok(orders_with_lines(pool, raw, policy, now).await?.pop())
}

/// Whether orders of `order_date` were handed to the order and supply system:
/// the day stays closed then, whatever the cutoff says (a cutoff moved
/// later must not reopen a day the supply system has received).
pub async fn day_handed_over(pool: &AnyPool, order_date: NaiveDate) -> sqlx::Result<bool> {
    let handed: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM replenishment_orders WHERE order_date = $1 AND exported_at IS NOT NULL LIMIT 1",
    )
    .bind(order_date.to_string())
    .fetch_optional(pool)
    .await?;
    Ok(handed.is_some())
}

/// The order days from `from` on with orders handed to the supply system.
pub async fn handed_over_days(
    pool: &AnyPool,
    from: NaiveDate,
) -> sqlx::Result<std::collections::HashSet<NaiveDate>> {
    let days: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT order_date FROM replenishment_orders \
         WHERE order_date >= $1 AND exported_at IS NOT NULL",
    )
    .bind(from.to_string())
    .fetch_all(pool)
    .await?;
    days.into_iter()
        .map(|d| d.parse().map_err(decode_error))
        .collect()
}

/// The order day whose window is open for an order weekday: the first
/// from now on not past its cutoff ([`window_date`]) and not handed over.
pub fn open_window(
    now: chrono::NaiveDateTime,
    weekday: u8,
    policy: &ReplenishmentPolicy,
    handed: &std::collections::HashSet<NaiveDate>,
) -> NaiveDate {
    let mut day = window_date(now, weekday, policy);
    while handed.contains(&day) {
        match day.checked_add_days(chrono::Days::new(7)) {
            Some(next) => day = next,
            None => break,
        }
    }
    day
}

/// The open order day of one retailer's order weekday.
pub async fn window_of(
    pool: &AnyPool,
    weekday: u8,
    policy: &ReplenishmentPolicy,
    now: chrono::NaiveDateTime,
) -> sqlx::Result<NaiveDate> {
    let handed = handed_over_days(pool, now.date()).await?;
    Ok(open_window(now, weekday, policy, &handed))
}

/// A retailer's latest `limit` orders, newest order day first.
pub async fn orders(
    pool: &AnyPool,
    retailer_id: i64,
    limit: i64,
    policy: &ReplenishmentPolicy,
    now: chrono::NaiveDateTime,
) -> sqlx::Result<Vec<ConfirmedOrder>> {
    let raw: Vec<RawOrder> = sqlx::query_as(&format!(
        "{ORDER_SELECT} WHERE o.retailer_id = $1 ORDER BY o.order_date DESC LIMIT $2"
    ))
    .bind(retailer_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    orders_with_lines(pool, raw, policy, now).await
}

/// The first order day from which an undelivered order is no longer taken
/// to be on its way (see [`STALE_ORDER_DAYS`]).
fn stale_before(window: NaiveDate) -> NaiveDate {
    window
        .checked_sub_days(chrono::Days::new(STALE_ORDER_DAYS))
        .unwrap_or(window)
}

/// Cartons per spec the retailer ordered on order days before `window` and
/// that are not delivered yet (nor cancelled): they count as stock in the
/// proposal for `window`, so that nothing is ordered twice.
pub async fn on_order(
    pool: &AnyPool,
    retailer_id: i64,
    window: NaiveDate,
) -> sqlx::Result<Vec<OnOrder>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT l.spec_id, CAST(SUM(l.quantity) AS BIGINT) \
         FROM replenishment_orders o JOIN replenishment_order_lines l ON l.order_id = o.id \
         WHERE o.retailer_id = $1 AND o.status = 'confirmed' AND o.delivered_at IS NULL \
           AND o.order_date < $2 AND o.order_date >= $3 AND l.quantity > 0 \
         GROUP BY l.spec_id ORDER BY l.spec_id",
    )
    .bind(retailer_id)
    .bind(window.to_string())
    .bind(stale_before(window).to_string())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(spec_id, cartons)| OnOrder { spec_id, cartons })
        .collect())
}

/// An order already exists for that day.
#[derive(Debug)]
pub struct AlreadyConfirmed;

fn line_rows(order_id: i64, lines: &[ConfirmedLine]) -> Vec<Vec<Value>> {
    lines
        .iter()
        .map(|l| {
            vec![
                order_id.into(),
                l.spec_id.into(),
                l.wanted.into(),
                l.proposed.into(),
                l.quantity.into(),
                l.cut_off.into(),
            ]
        })
        .collect()
}

const LINE_COLUMNS: [&str; 6] = [
    "order_id", "spec_id", "wanted", "proposed", "quantity", "cut_off",
];

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
        "INSERT INTO replenishment_orders (retailer_id, order_date, confirmed_at, confirmed_by, total_cartons, total_fen, class_code) \
         SELECT $1, $2, $3, $4, $5, $6, class_code FROM retailers WHERE id = $1 \
         ON CONFLICT (retailer_id, order_date) DO NOTHING RETURNING id",
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
    insert_rows(
        conn,
        "replenishment_order_lines",
        &LINE_COLUMNS,
        &line_rows(id, lines),
    )
    .await?;
    let week: Vec<(i64, i64)> = lines.iter().map(|l| (l.spec_id, l.quantity)).collect();
    super::analysis::add_order_week(conn, retailer_id, order_date, &week).await?;
    Ok(Ok(id))
}

/// The order moved since the version the change was made on (changed,
/// cancelled, handed over or delivered meanwhile).
#[derive(Debug)]
pub struct OrderMoved;

/// Replaces an order's lines (and confirms it again if it was cancelled) if
/// it is still at `version` and not handed over; returns the new version.
/// Run it in a transaction.
#[allow(clippy::too_many_arguments)]
pub async fn change_order(
    conn: &mut AnyConnection,
    retailer_id: i64,
    order_id: i64,
    order_date: NaiveDate,
    version: i64,
    actor_id: i64,
    lines: &[ConfirmedLine],
    total_value: Fen,
) -> sqlx::Result<Result<i64, OrderMoved>> {
    let total: i64 = lines.iter().map(|l| l.quantity).sum();
    let Some(before) = moved_from(conn, order_id, version).await? else {
        return Ok(Err(OrderMoved));
    };
    let bumped = sqlx::query(
        "UPDATE replenishment_orders SET version = version + 1, status = 'confirmed', \
                total_cartons = $3, total_fen = $4, updated_at = $5, updated_by = $6 \
         WHERE id = $1 AND version = $2 AND exported_at IS NULL AND delivered_at IS NULL",
    )
    .bind(order_id)
    .bind(version)
    .bind(total)
    .bind(total_value.0)
    .bind(now_unix())
    .bind(actor_id)
    .execute(&mut *conn)
    .await?;
    if bumped.rows_affected() != 1 {
        return Ok(Err(OrderMoved));
    }
    sqlx::query("DELETE FROM replenishment_order_lines WHERE order_id = $1")
        .bind(order_id)
        .execute(&mut *conn)
        .await?;
    insert_rows(
        conn,
        "replenishment_order_lines",
        &LINE_COLUMNS,
        &line_rows(order_id, lines),
    )
    .await?;
    // The weekly summaries move by the difference.
    let mut delta: HashMap<i64, i64> = HashMap::new();
    for &(spec, cartons) in &before {
        *delta.entry(spec).or_default() -= cartons;
    }
    for l in lines {
        *delta.entry(l.spec_id).or_default() += l.quantity;
    }
    let delta: Vec<(i64, i64)> = delta.into_iter().filter(|d| d.1 != 0).collect();
    super::analysis::add_order_week(conn, retailer_id, order_date, &delta).await?;
    Ok(Ok(version + 1))
}

/// What an order at `version` counted in the summaries (nothing when
/// cancelled), or `None` if it is no longer at that version or no longer
/// open to changes. A compare-and-set on the version follows it in the same
/// transaction: when that passes, this was that version's.
async fn moved_from(
    conn: &mut AnyConnection,
    order_id: i64,
    version: i64,
) -> sqlx::Result<Option<Vec<(i64, i64)>>> {
    let status: Option<String> = sqlx::query_scalar(
        "SELECT status FROM replenishment_orders \
         WHERE id = $1 AND version = $2 AND exported_at IS NULL AND delivered_at IS NULL",
    )
    .bind(order_id)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(status) = status else {
        return Ok(None);
    };
    if status == "cancelled" {
        return Ok(Some(Vec::new()));
    }
    sqlx::query_as("SELECT spec_id, quantity FROM replenishment_order_lines WHERE order_id = $1")
        .bind(order_id)
        .fetch_all(&mut *conn)
        .await
        .map(Some)
}

/// Cancels a confirmed order if it is still at `version` and not handed
/// over; returns the new version. Its lines are kept (the demand they
/// recorded) but it counts nowhere. Run it in a transaction.
pub async fn cancel_order(
    conn: &mut AnyConnection,
    retailer_id: i64,
    order_id: i64,
    order_date: NaiveDate,
    version: i64,
    actor_id: i64,
) -> sqlx::Result<Result<i64, OrderMoved>> {
    let Some(before) = moved_from(conn, order_id, version).await? else {
        return Ok(Err(OrderMoved));
    };
    let done = sqlx::query(
        "UPDATE replenishment_orders SET version = version + 1, status = 'cancelled', \
                updated_at = $3, updated_by = $4 \
         WHERE id = $1 AND version = $2 AND status = 'confirmed' \
           AND exported_at IS NULL AND delivered_at IS NULL",
    )
    .bind(order_id)
    .bind(version)
    .bind(now_unix())
    .bind(actor_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(Err(OrderMoved));
    }
    let delta: Vec<(i64, i64)> = before
        .into_iter()
        .filter(|b| b.1 != 0)
        .map(|(spec, cartons)| (spec, -cartons))
        .collect();
    super::analysis::add_order_week(conn, retailer_id, order_date, &delta).await?;
    Ok(Ok(version + 1))
}

#[derive(sqlx::FromRow)]
struct RawManaged {
    id: i64,
    licence_no: String,
    name: String,
    class_label: String,
    market_unit: String,
    online_replenishment: i64,
    order_weekday: i64,
    specs: i64,
    last_order_date: Option<String>,
}

/// A customer manager's retailers with their replenishment status and the
/// order of each one's open window (none when not confirmed yet).
pub async fn managed_retailers(
    pool: &AnyPool,
    manager_id: i64,
    policy: &ReplenishmentPolicy,
    now: chrono::NaiveDateTime,
) -> sqlx::Result<Vec<ManagedRetailer>> {
    let rows: Vec<RawManaged> = sqlx::query_as(
        "SELECT r.id, r.licence_no, r.name, c.label AS class_label, u.name AS market_unit, \
                r.online_replenishment, r.order_weekday, \
                (SELECT COUNT(*) FROM retailer_specs rs WHERE rs.retailer_id = r.id) AS specs, \
                (SELECT MAX(o.order_date) FROM replenishment_orders o \
                  WHERE o.retailer_id = r.id AND o.status = 'confirmed') AS last_order_date \
         FROM retailers r \
         JOIN customer_classes c ON c.code = r.class_code \
         JOIN org_units u ON u.id = r.market_unit_id \
         WHERE r.manager_id = $1 ORDER BY r.licence_no",
    )
    .bind(manager_id)
    .fetch_all(pool)
    .await?;
    // Every order of these retailers from today on: the open windows are among them.
    let upcoming: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT o.retailer_id, o.order_date, o.status, o.total_cartons \
         FROM replenishment_orders o JOIN retailers r ON r.id = o.retailer_id \
         WHERE r.manager_id = $1 AND o.order_date >= $2",
    )
    .bind(manager_id)
    .bind(now.date().to_string())
    .fetch_all(pool)
    .await?;
    let upcoming: HashMap<(i64, String), (String, i64)> = upcoming
        .into_iter()
        .map(|(r, d, status, cartons)| ((r, d), (status, cartons)))
        .collect();
    let handed = handed_over_days(pool, now.date()).await?;
    rows.into_iter()
        .map(|r| {
            let weekday = u8::try_from(r.order_weekday).unwrap_or(1);
            let window = open_window(now, weekday, policy, &handed);
            let order = upcoming.get(&(r.id, window.to_string()));
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
                window_date: window,
                window_cutoff: cutoff_at(window, policy),
                window_status: order
                    .map(|(status, _)| OrderStatus::of(status == "cancelled", false, false, true)),
                window_cartons: order
                    .filter(|(status, _)| status != "cancelled")
                    .map_or(0, |o| o.1),
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

/// One retailer in a batch run of proposals.
pub struct BatchRetailer {
    pub id: i64,
    pub class_code: String,
    /// The order day whose window is open.
    pub window: NaiveDate,
    pub settings: Vec<SpecSettings>,
    pub on_order: Vec<OnOrder>,
}

/// Everything a batch run of proposals needs: standing rules and total caps
/// per class, the published allocations, and every retailer's class, open
/// window, settings and what it has on order.
pub struct ProposalInputs {
    pub rules: HashMap<String, Vec<SpecRule>>,
    pub total_caps: HashMap<String, Option<i64>>,
    pub allocated: Vec<AllocatedCap>,
    /// By retailer id.
    pub retailers: Vec<BatchRetailer>,
}

impl ProposalInputs {
    /// The rules of a class on an order day: the standing ones with the
    /// caps of allocations holding that day put over them.
    pub fn rules_on(&self, class_code: &str, date: NaiveDate) -> Vec<SpecRule> {
        let mut rules = self.rules.get(class_code).cloned().unwrap_or_default();
        for a in self
            .allocated
            .iter()
            .filter(|a| a.class_code == class_code && a.holds_on(date))
        {
            if let Some(rule) = rules.iter_mut().find(|r| r.spec_id == a.spec_id) {
                rule.class_cap = a.cap;
            }
        }
        rules
    }
}

/// Loads the inputs of every retailer's proposal for its open window at
/// `now` (China time): a few whole-table reads, no query per retailer.
pub async fn proposal_inputs(
    db: &crate::db::Db,
    policy: &ReplenishmentPolicy,
    now: chrono::NaiveDateTime,
) -> sqlx::Result<ProposalInputs> {
    let pool = &db.pool;
    let classes: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT code, total_cap FROM customer_classes")
            .fetch_all(pool)
            .await?;
    let standing: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT k.code, s.id, COALESCE(c.cap, s.default_cap), s.order_multiple, s.scarce, s.orderable \
         FROM customer_classes k CROSS JOIN specs s \
         LEFT JOIN class_caps c ON c.spec_id = s.id AND c.class_code = k.code \
         ORDER BY k.code, s.id",
    )
    .fetch_all(pool)
    .await?;
    let mut rules: HashMap<String, Vec<SpecRule>> = HashMap::new();
    for (class, spec_id, class_cap, order_multiple, scarce, orderable) in standing {
        rules.entry(class).or_default().push(SpecRule {
            spec_id,
            class_cap,
            order_multiple,
            scarce: scarce != 0,
            orderable: orderable != 0,
        });
    }
    let heads: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, class_code, order_weekday FROM retailers ORDER BY id")
            .fetch_all(pool)
            .await?;
    let handed = handed_over_days(pool, now.date()).await?;
    let mut retailers: Vec<BatchRetailer> = heads
        .into_iter()
        .map(|(id, class_code, weekday)| BatchRetailer {
            id,
            class_code,
            window: open_window(now, u8::try_from(weekday).unwrap_or(1), policy, &handed),
            settings: Vec::new(),
            on_order: Vec::new(),
        })
        .collect();
    let index: HashMap<i64, usize> = retailers
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i))
        .collect();
    // The settings and the orders on their way, one text per retailer
    // (most of the time of reading 450,000 rows one by one goes into
    // handing each row through the driver, not into the database), read in
    // slices of retailers at once on several connections.
    let windows: Vec<(String, String)> = (1..=7_u8)
        .map(|weekday| {
            let w = open_window(now, weekday, policy, &handed);
            (w.to_string(), stale_before(w).to_string())
        })
        .collect();
    let slices = batch_slices(&retailers);
    let mut reads = tokio::task::JoinSet::new();
    let backend = db.backend;
    for (from, to) in slices {
        let pool = pool.clone();
        let windows = windows.clone();
        reads.spawn(async move { batch_slice(&pool, backend, from, to, &windows).await });
    }
    while let Some(read) = reads.join_next().await {
        let (settings, open) = read.map_err(|e| sqlx::Error::Protocol(e.to_string()))??;
        for (id, packed) in settings {
            let Some(&i) = index.get(&id) else { continue };
            for [spec_id, stock, lower, upper, turnover] in unpack::<5>(&packed)? {
                retailers[i]
                    .settings
                    .push(stored_settings(spec_id, stock, lower, upper, turnover)?);
            }
        }
        for (id, packed) in open {
            let Some(&i) = index.get(&id) else { continue };
            let r = &mut retailers[i];
            for [spec_id, cartons] in unpack::<2>(&packed)? {
                match r.on_order.iter_mut().find(|o| o.spec_id == spec_id) {
                    Some(o) => o.cartons += cartons,
                    None => r.on_order.push(OnOrder { spec_id, cartons }),
                }
            }
        }
    }
    for r in &mut retailers {
        r.settings.sort_by_key(|s| s.spec_id);
    }
    let last = retailers
        .iter()
        .map(|r| r.window)
        .max()
        .unwrap_or(now.date());
    let allocated = allocated_caps(pool, None, now.date(), last).await?;
    Ok(ProposalInputs {
        rules,
        total_caps: classes.into_iter().collect(),
        allocated,
        retailers,
    })
}

/// Retailer id ranges of about equal size for the parallel reads of a batch.
fn batch_slices(retailers: &[BatchRetailer]) -> Vec<(i64, i64)> {
    const SLICES: usize = 4;
    if retailers.is_empty() {
        return Vec::new();
    }
    let per = retailers.len().div_ceil(SLICES);
    retailers
        .chunks(per)
        .map(|c| (c[0].id, c[c.len() - 1].id))
        .collect()
}

/// Reads `a,b,…;a,b,…` (N whole numbers a group) as packed by [`batch_sql`].
fn unpack<const N: usize>(packed: &str) -> sqlx::Result<Vec<[i64; N]>> {
    packed
        .split(';')
        .filter(|g| !g.is_empty())
        .map(|group| {
            let mut out = [0_i64; N];
            let mut parts = group.split(',');
            for slot in &mut out {
                *slot = parts
                    .next()
                    .and_then(|p| p.trim().parse().ok())
                    .ok_or_else(|| decode_error(format!("packed row {group:?}")))?;
            }
            Ok(out)
        })
        .collect()
}

/// The two statements of a batch slice, one text per retailer: settings of
/// retailers $1..=$2 (`spec,stock,lower,upper,turnover;…`), and their orders
/// on their way (`spec,cartons;…`; $3..$9 the windows of order weekdays
/// 1..7, $10..$16 their stale limits).
pub fn batch_sql(backend: crate::db::Backend) -> (String, String) {
    let agg = match backend {
        crate::db::Backend::Sqlite => "group_concat",
        crate::db::Backend::Postgres => "string_agg",
    };
    let case = |first: usize| {
        let arms: String = (0..7)
            .map(|d| format!(" WHEN {} THEN ${}", d + 1, first + d))
            .collect();
        format!("CASE r.order_weekday{arms} END")
    };
    (
        format!(
            "SELECT retailer_id, {agg}(spec_id || ',' || stock || ',' || lower_limit || ',' \
                    || upper_limit || ',' || weekly_turnover, ';') \
             FROM retailer_specs WHERE retailer_id BETWEEN $1 AND $2 GROUP BY retailer_id"
        ),
        format!(
            "SELECT o.retailer_id, {agg}(l.spec_id || ',' || l.quantity, ';') \
             FROM replenishment_orders o JOIN retailers r ON r.id = o.retailer_id \
             JOIN replenishment_order_lines l ON l.order_id = o.id \
             WHERE o.retailer_id BETWEEN $1 AND $2 AND o.status = 'confirmed' \
               AND o.delivered_at IS NULL AND l.quantity > 0 \
               AND o.order_date < {} AND o.order_date >= {} \
             GROUP BY o.retailer_id",
            case(3),
            case(10)
        ),
    )
}

/// The packed settings and orders on their way of retailers `from..=to`:
/// orders confirmed, not delivered, placed before the retailer's open
/// window and not more than [`STALE_ORDER_DAYS`] before it (`windows[d]` is
/// the window and its stale limit of order weekday d + 1).
async fn batch_slice(
    pool: &AnyPool,
    backend: crate::db::Backend,
    from: i64,
    to: i64,
    windows: &[(String, String)],
) -> sqlx::Result<(Vec<(i64, String)>, Vec<(i64, String)>)> {
    let (settings_sql, open_sql) = batch_sql(backend);
    let settings: Vec<(i64, String)> = sqlx::query_as(&settings_sql)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    let mut query = sqlx::query_as::<_, (i64, String)>(&open_sql)
        .bind(from)
        .bind(to);
    for (window, _) in windows {
        query = query.bind(window.clone());
    }
    for (_, stale) in windows {
        query = query.bind(stale.clone());
    }
    let open = query.fetch_all(pool).await?;
    Ok((settings, open))
}
