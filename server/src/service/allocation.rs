//! Scarce supply allocation (货源投放), the marketing center's: a preview of
//! the caps a rule gives (nothing stored), publishing them for a period
//! (the caps then replace the standing caps on the order days inside it),
//! withdrawing them, the month's list, and the monthly release plan
//! (品牌投放方案) as a workbook for filing with the monopoly office.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use domain::month::YearMonth;
use domain::replenishment::allocation::{
    allocate, check_not_past, check_request, demand_per_order_day, order_days, AllocationInput,
    AllocationList, AllocationPreview, AllocationRequest, AllocationRule, ClassInput,
    PublishedAllocation, RetailerDemand,
};
use domain::Lang;
use serde_json::json;
use sqlx::AnyConnection;

use crate::db::now_unix;
use crate::error::{ApiError, ApiResult};
use crate::store::allocation::{self as store, Which, Withdrawal};
use crate::store::audit;
use crate::store::users::UserRow;
use crate::xlsx::{Cell, Table};
use crate::AppState;

/// The first and last day of the month asked for (this month by default).
fn month_of(month: Option<&str>, lang: Lang) -> ApiResult<(YearMonth, NaiveDate, NaiveDate)> {
    let month = match month {
        None => YearMonth::of_date(crate::clock::today()),
        Some(text) => text.parse::<YearMonth>().map_err(|_| {
            ApiError::invalid_fields(
                lang.pick("查询条件有误", "Invalid query"),
                vec![(
                    "month".to_string(),
                    lang.pick("月份格式为 YYYY-MM", "The month is written YYYY-MM")
                        .to_string(),
                )],
            )
        })?,
    };
    let first = NaiveDate::from_ymd_opt(month.year(), month.month(), 1)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("month {month} has no first day")))?;
    let next = month.plus(1);
    let last = NaiveDate::from_ymd_opt(next.year(), next.month(), 1)
        .and_then(|d| d.checked_sub_days(Days::new(1)))
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("month {month} has no last day")))?;
    Ok((month, first, last))
}

/// Computes the allocation a request asks for from the data as it is on
/// `conn` (in the caller's transaction when publishing). Refuses a bad
/// request with every field's error.
async fn compute(
    conn: &mut AnyConnection,
    request: &AllocationRequest,
    lang: Lang,
) -> ApiResult<AllocationPreview> {
    let spec = store::spec(conn, request.spec_id).await?;
    let classes = store::classes(conn).await?;
    let codes: Vec<String> = classes.iter().map(|c| c.code.clone()).collect();
    let mut errors = check_request(request, &codes, spec.is_some());
    if errors.iter().all(|e| !matches!(e.field(), "from" | "to")) {
        errors.extend(check_not_past(request, crate::clock::today()));
    }
    let Some(spec) = spec.filter(|_| errors.is_empty()) else {
        return Err(ApiError::invalid_fields(
            lang.pick(
                "投放条件有误，请检查标出的项目",
                "The allocation is not valid; check the marked fields",
            ),
            errors
                .iter()
                .map(|e| (e.field().to_string(), e.message(lang))),
        ));
    };
    let m = spec.order_multiple.max(1);
    let days: Vec<i64> = (1..=7)
        .map(|weekday| order_days(request.from, request.to, weekday))
        .collect();
    let mut demand: HashMap<String, Vec<RetailerDemand>> = HashMap::new();
    for (class, weekday, turnover) in store::demand(conn, spec.id).await? {
        let days = usize::try_from(weekday - 1)
            .ok()
            .and_then(|i| days.get(i))
            .copied()
            .unwrap_or(0);
        demand.entry(class).or_default().push(RetailerDemand {
            per_day: demand_per_order_day(turnover, m),
            days,
        });
    }
    let standing: HashMap<String, i64> = store::standing_caps(conn, spec.id)
        .await?
        .into_iter()
        .collect();
    let overlapping = store::overlapping(conn, spec.id, request.from, request.to).await?;
    let input = AllocationInput {
        order_multiple: m,
        supply: request.supply,
        classes: classes
            .into_iter()
            .map(|c| ClassInput {
                retailers: demand.remove(&c.code).unwrap_or_default(),
                code: c.code,
                label: c.label,
                rank: c.rank,
                enrolled: c.enrolled,
            })
            .collect(),
    };
    let mut allocation = allocate(&input, &request.rule);
    for class in &mut allocation.classes {
        class.standing_cap = Some(
            standing
                .get(&class.code)
                .copied()
                .unwrap_or(spec.default_cap),
        );
    }
    Ok(AllocationPreview {
        spec_id: spec.id,
        spec_code: spec.code,
        spec_name: spec.name,
        scarce: spec.scarce != 0,
        order_multiple: m,
        from: request.from,
        to: request.to,
        supply: request.supply,
        rule: normalised(&request.rule, &allocation.classes),
        classes: allocation.classes,
        totals: allocation.totals,
        overlapping,
    })
}

/// An equal-shares rule lists its classes once each, highest rank first.
fn normalised(
    rule: &AllocationRule,
    classes: &[domain::replenishment::allocation::ClassAllocation],
) -> AllocationRule {
    match rule {
        AllocationRule::Equal { classes: listed } => AllocationRule::Equal {
            classes: classes
                .iter()
                .filter(|c| listed.contains(&c.code))
                .map(|c| c.code.clone())
                .collect(),
        },
        other => other.clone(),
    }
}

/// The caps a request would give, per class, with what they mean.
pub async fn preview(
    state: &AppState,
    request: &AllocationRequest,
    lang: Lang,
) -> ApiResult<AllocationPreview> {
    let mut conn = state.db.pool.acquire().await?;
    compute(&mut conn, request, lang).await
}

fn overlap_error(lang: Lang, other: domain::replenishment::CapPeriod) -> ApiError {
    ApiError::conflict(match lang {
        Lang::Zh => format!(
            "该品规在 {} 至 {} 已有投放（第 {} 号），期间不能重叠；请先撤回该投放或另选期间",
            other.from, other.to, other.allocation_id
        ),
        Lang::En => format!(
            "This spec already has an allocation (no. {}) from {} to {}; periods cannot overlap. Withdraw it first or choose another period",
            other.allocation_id, other.from, other.to
        ),
    })
}

/// Publishes an allocation: computed again from the data as it is in the
/// transaction, stored with a cap for every class, audited. The spec's row
/// lock makes publishes of one spec follow one another, so two at once
/// cannot both pass the overlap check.
pub async fn publish(
    state: &AppState,
    user: &UserRow,
    request: &AllocationRequest,
    lang: Lang,
) -> ApiResult<PublishedAllocation> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    // A missing spec is reported with the other fields by `compute`.
    store::lock_spec(&mut tx, request.spec_id).await?;
    let preview = compute(&mut tx, request, lang).await?;
    if let Some(other) = preview.overlapping {
        return Err(overlap_error(lang, other));
    }
    let id = store::insert(
        &mut tx,
        preview.spec_id,
        preview.from,
        preview.to,
        preview.supply,
        &preview.rule,
        &preview.classes,
        user.id,
        now_unix(),
    )
    .await?;
    let caps: serde_json::Map<String, serde_json::Value> = preview
        .classes
        .iter()
        .map(|c| (c.code.clone(), json!(c.cap)))
        .collect();
    audit::record_and_commit(
        tx,
        Some(user.id),
        "allocation.publish",
        "allocation",
        &id.to_string(),
        &json!({
            "spec_id": preview.spec_id,
            "spec": preview.spec_name,
            "from": preview.from,
            "to": preview.to,
            "supply": preview.supply,
            "rule": preview.rule,
            "expected": preview.totals.expected,
            "demand": preview.totals.demand,
            "caps": caps,
        }),
    )
    .await?;
    one(&mut conn, id, lang).await
}

async fn one(conn: &mut AnyConnection, id: i64, lang: Lang) -> ApiResult<PublishedAllocation> {
    store::published(conn, Which::One(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(lang))
}

/// Withdraws a published allocation: the standing caps hold again. 409 when
/// it was withdrawn already.
pub async fn withdraw(
    state: &AppState,
    user: &UserRow,
    id: i64,
    lang: Lang,
) -> ApiResult<PublishedAllocation> {
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    match store::withdraw(&mut tx, id, user.id, now_unix()).await? {
        Withdrawal::Done => {}
        Withdrawal::Missing => return Err(ApiError::not_found(lang)),
        Withdrawal::AlreadyWithdrawn => {
            return Err(ApiError::conflict(lang.pick(
                "该投放已撤回",
                "This allocation has been withdrawn already",
            )))
        }
    }
    audit::record_and_commit(
        tx,
        Some(user.id),
        "allocation.withdraw",
        "allocation",
        &id.to_string(),
        &json!({}),
    )
    .await?;
    one(&mut conn, id, lang).await
}

/// The published allocations (withdrawn ones too) whose period meets a month.
pub async fn list(state: &AppState, month: Option<&str>, lang: Lang) -> ApiResult<AllocationList> {
    let (month, first, last) = month_of(month, lang)?;
    let mut conn = state.db.pool.acquire().await?;
    Ok(AllocationList {
        month,
        allocations: store::published(&mut conn, Which::Meeting(first, last)).await?,
    })
}

/// The monthly release plan (品牌投放方案) as a workbook and its file name:
/// the allocations in force whose period meets the month, one row each,
/// and one row per allocation × class.
pub async fn plan(
    state: &AppState,
    month: Option<&str>,
    lang: Lang,
) -> ApiResult<(String, Vec<u8>)> {
    let list = list(state, month, lang).await?;
    let bytes = crate::xlsx::write_tables(&plan_tables(&list, lang))
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok((format!("allocation-plan-{}.xlsx", list.month), bytes))
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn number(n: i64) -> Cell {
    Cell::Number(n as f64)
}

fn headers(names: &[(&'static str, &'static str)], lang: Lang) -> Vec<String> {
    names
        .iter()
        .map(|(zh, en)| lang.pick(zh, en).to_string())
        .collect()
}

/// The plan's sheets: the allocations, and their caps per class.
pub fn plan_tables(list: &AllocationList, lang: Lang) -> Vec<Table> {
    let in_force: Vec<&PublishedAllocation> = list
        .allocations
        .iter()
        .filter(|a| a.withdrawn_at.is_none())
        .collect();
    let share = |s: Option<f64>| s.map_or(Cell::Empty, Cell::Percent);
    let summary = Table {
        name: lang.pick("投放方案", "Release plan").to_string(),
        headers: headers(
            &[
                ("品规编码", "Spec code"),
                ("品规", "Spec"),
                ("开始日期", "From"),
                ("结束日期", "To"),
                ("分配规则", "Rule"),
                ("可投放量（条）", "Supply (cartons)"),
                ("需求（条）", "Demand (cartons)"),
                ("预计投放（条）", "Expected (cartons)"),
                ("需求满足率", "Share of demand met"),
                ("网上配货户数", "Enrolled retailers"),
                ("有需求户数", "Retailers with demand"),
                ("未满足户数", "Retailers left wanting"),
                ("发布人", "Published by"),
                ("发布时间", "Published at"),
            ],
            lang,
        ),
        rows: in_force
            .iter()
            .map(|a| {
                vec![
                    text(&a.spec_code),
                    text(&a.spec_name),
                    text(a.from.to_string()),
                    text(a.to.to_string()),
                    text(a.rule.label(lang)),
                    number(a.supply),
                    number(a.totals.demand),
                    number(a.totals.expected),
                    share(a.totals.share_met()),
                    number(a.totals.enrolled),
                    number(a.totals.with_demand),
                    number(a.totals.wanting),
                    text(&a.published_by),
                    text(domain::audit::china_time_text(a.published_at)),
                ]
            })
            .collect(),
    };
    let detail = Table {
        name: lang.pick("分档明细", "By class").to_string(),
        headers: headers(
            &[
                ("品规编码", "Spec code"),
                ("品规", "Spec"),
                ("开始日期", "From"),
                ("结束日期", "To"),
                ("档位", "Class"),
                ("可投放量（条）", "Supply (cartons)"),
                (
                    "限量（条/户/订货日）",
                    "Cap (cartons per retailer and order day)",
                ),
                ("网上配货户数", "Enrolled retailers"),
                ("有需求户数", "Retailers with demand"),
                ("需求（条）", "Demand (cartons)"),
                ("预计投放（条）", "Expected (cartons)"),
                ("需求满足率", "Share of demand met"),
                ("未满足户数", "Retailers left wanting"),
            ],
            lang,
        ),
        rows: in_force
            .iter()
            .flat_map(|a| {
                a.classes.iter().map(move |c| {
                    vec![
                        text(&a.spec_code),
                        text(&a.spec_name),
                        text(a.from.to_string()),
                        text(a.to.to_string()),
                        text(&c.label),
                        number(a.supply),
                        number(c.cap),
                        number(c.enrolled),
                        number(c.with_demand),
                        number(c.demand),
                        number(c.expected),
                        share(c.share_met()),
                        number(c.wanting),
                    ]
                })
            })
            .collect(),
    };
    vec![summary, detail]
}
