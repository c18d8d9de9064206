//! Writes of online replenishment: a retailer's settings (compare-and-set
//! on its version), a confirmed order (one per order day), enrolment, and
//! the policy (compare-and-set on the policy's version). Each is one
//! transaction with its audit rows.

use chrono::NaiveDate;
use domain::quantity::Fen;
use domain::replenishment::{ConfirmedLine, PolicyChanges, PolicyView, SpecSettings};
use domain::Lang;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::store::replenishment::{self as repl, AlreadyConfirmed, VersionConflict};
use crate::store::{self};
use crate::AppState;

/// The whole policy as the marketing center edits it, with its version.
pub async fn policy_view(state: &AppState) -> ApiResult<PolicyView> {
    let pool = &state.db.pool;
    // Every change moves the version in the transaction that changes the
    // data: the same version before and after the reads means they saw
    // that version's data, with no change committed in between.
    loop {
        let version = repl::policy_version(pool).await?;
        let (specs, classes, caps) = repl::policy_tables(pool).await?;
        let policy = repl::policy(pool).await?;
        if repl::policy_version(pool).await? == version {
            return Ok(PolicyView {
                version,
                policy,
                specs,
                classes,
                caps,
            });
        }
    }
}

/// Replaces a retailer's settings (checked by the caller) if they are
/// still at `version`; returns the new version, or 409 if someone saved
/// first.
pub async fn save_settings(
    state: &AppState,
    actor: i64,
    lang: Lang,
    retailer_id: i64,
    version: i64,
    settings: &[SpecSettings],
) -> ApiResult<i64> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    match repl::save_settings(&mut tx, retailer_id, version, settings, actor).await? {
        Ok(version) => {
            store::audit::record(
                &mut tx,
                Some(actor),
                "replenishment.settings.save",
                "retailer",
                &retailer_id.to_string(),
                &json!({ "version": version, "specs": settings.len() }),
            )
            .await?;
            tx.commit().await?;
            Ok(version)
        }
        Err(VersionConflict) => Err(ApiError::conflict(lang.pick(
            "该零售户的配货设置已被他人修改，请刷新查看最新数据后再保存",
            "Someone else changed these settings meanwhile; reload to see the latest and save again",
        ))),
    }
}

/// Stores a confirmed order (checked by the caller); 409 if the order day
/// has one already.
#[allow(clippy::too_many_arguments)]
pub async fn confirm_order(
    state: &AppState,
    actor: i64,
    lang: Lang,
    retailer_id: i64,
    order_date: NaiveDate,
    lines: &[ConfirmedLine],
    cartons: i64,
    value: Fen,
) -> ApiResult<()> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    match repl::insert_order(&mut tx, retailer_id, order_date, actor, lines, value).await? {
        Ok(order_id) => {
            store::audit::record(
                &mut tx,
                Some(actor),
                "replenishment.order.confirm",
                "retailer",
                &retailer_id.to_string(),
                &json!({ "order_id": order_id, "order_date": order_date, "cartons": cartons }),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        Err(AlreadyConfirmed) => Err(already_confirmed(lang)),
    }
}

/// The order day has an order already (changes go through its version).
pub fn already_confirmed(lang: Lang) -> ApiError {
    ApiError::conflict(lang.pick(
        "本订货日的订单已确认，不能重复确认；请刷新后修改",
        "The order for this order day is confirmed already; reload to change it",
    ))
}

fn order_moved(lang: Lang) -> ApiError {
    ApiError::conflict(lang.pick(
        "订单已被他人修改、取消或已提交供货，未保存；请刷新后再操作",
        "Someone changed, cancelled or sent the order meanwhile; nothing was saved. Reload and try again",
    ))
}

/// Replaces the lines of order `order` = (retailer, order id, order day)
/// (checked by the caller) if it is still at `version`; 409 otherwise.
#[allow(clippy::too_many_arguments)]
pub async fn change_order(
    state: &AppState,
    actor: i64,
    lang: Lang,
    (retailer_id, order_id, order_date): (i64, i64, NaiveDate),
    version: i64,
    lines: &[ConfirmedLine],
    cartons: i64,
    value: Fen,
) -> ApiResult<i64> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let moved = repl::change_order(
        &mut tx,
        retailer_id,
        order_id,
        order_date,
        version,
        actor,
        lines,
        value,
    )
    .await?;
    let Ok(version) = moved else {
        return Err(order_moved(lang));
    };
    store::audit::record(
        &mut tx,
        Some(actor),
        "replenishment.order.change",
        "retailer",
        &retailer_id.to_string(),
        &json!({ "order_id": order_id, "order_date": order_date, "version": version, "cartons": cartons }),
    )
    .await?;
    tx.commit().await?;
    Ok(version)
}

/// Cancels order `order` = (retailer, order id, order day) (checked by the
/// caller) if it is still at `version`; 409 otherwise.
pub async fn cancel_order(
    state: &AppState,
    actor: i64,
    lang: Lang,
    (retailer_id, order_id, order_date): (i64, i64, NaiveDate),
    version: i64,
) -> ApiResult<i64> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let moved =
        repl::cancel_order(&mut tx, retailer_id, order_id, order_date, version, actor).await?;
    let Ok(version) = moved else {
        return Err(order_moved(lang));
    };
    store::audit::record(
        &mut tx,
        Some(actor),
        "replenishment.order.cancel",
        "retailer",
        &retailer_id.to_string(),
        &json!({ "order_id": order_id, "order_date": order_date, "version": version }),
    )
    .await?;
    tx.commit().await?;
    Ok(version)
}

/// Joins a retailer to online replenishment or takes it off.
pub async fn set_enrolment(
    state: &AppState,
    actor: i64,
    retailer_id: i64,
    from: bool,
    to: bool,
) -> ApiResult<()> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    repl::set_online(&mut tx, retailer_id, to).await?;
    store::audit::record(
        &mut tx,
        Some(actor),
        "replenishment.enrolment",
        "retailer",
        &retailer_id.to_string(),
        &json!({ "from": from, "to": to }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Applies policy changes (checked by the caller) made on
/// `changes.version`: all in one transaction, each audited with the value
/// it replaced, or 409 if the policy moved since.
pub async fn change_policy(
    state: &AppState,
    actor: i64,
    lang: Lang,
    changes: &PolicyChanges,
    before: &PolicyView,
) -> ApiResult<()> {
    let actor = Some(actor);
    let stale = || {
        ApiError::conflict(lang.pick(
            "政策已被他人修改，未保存；请刷新后再修改",
            "Someone changed the policy first; nothing was saved. Reload and change again",
        ))
    };
    // `before` is what the change replaces, read by the caller (with
    // `policy_view`) before the transaction: one connection a request, as
    // reading inside it from the pool let parallel changes hold every
    // connection and wait for a second. It is the data of version
    // `changes.version` exactly when the version is still that one under
    // the transaction's compare-and-set below.
    if before.version != changes.version {
        return Err(stale());
    }
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    if !repl::bump_policy_version(&mut tx, changes.version).await? {
        return Err(stale());
    }
    if let Some(p) = &changes.policy {
        if *p != before.policy {
            repl::set_policy(&mut tx, p).await?;
            store::audit::record(
                &mut tx,
                actor,
                "replenishment.policy",
                "policy",
                "replenishment",
                &json!({ "from": before.policy, "to": p }),
            )
            .await?;
        }
    }
    for s in &changes.specs {
        let old = before.specs.iter().find(|b| b.spec_id == s.spec_id);
        repl::update_spec_policy(&mut tx, s).await?;
        store::audit::record(
            &mut tx,
            actor,
            "replenishment.spec",
            "spec",
            &s.spec_id.to_string(),
            &json!({ "from": old, "to": s }),
        )
        .await?;
    }
    for c in &changes.caps {
        let old = before
            .caps
            .iter()
            .find(|b| b.spec_id == c.spec_id && b.class_code == c.class_code)
            .map(|b| b.cap);
        repl::upsert_cap(&mut tx, c).await?;
        store::audit::record(
            &mut tx,
            actor,
            "replenishment.class_cap",
            "spec",
            &c.spec_id.to_string(),
            &json!({ "class": c.class_code, "from": old, "to": c.cap }),
        )
        .await?;
    }
    for c in &changes.classes {
        let old = before
            .classes
            .iter()
            .find(|b| b.code == c.code)
            .and_then(|b| b.total_cap);
        repl::set_total_cap(&mut tx, &c.code, c.total_cap).await?;
        store::audit::record(
            &mut tx,
            actor,
            "replenishment.total_cap",
            "customer_class",
            &c.code,
            &json!({ "from": old, "to": c.total_cap }),
        )
        .await?;
    }
    for d in &changes.order_days {
        let old = repl::set_order_weekday(&mut tx, d.retailer_id, d.weekday).await?;
        store::audit::record(
            &mut tx,
            actor,
            "replenishment.order_day",
            "retailer",
            &d.retailer_id.to_string(),
            &json!({ "from": old, "to": d.weekday }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
