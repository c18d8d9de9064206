//! Each role's landing page: who they are, the size of their scope, what is
//! due (reminders from the open forecast cycles) and the reports to open.

use axum::extract::State;
use axum::Json;
use domain::forecast::review::{acting_step, chain};
use domain::forecast::view::{ReviewActionKind, SheetStatus};
use domain::home::{
    reminders, HomeSummary, Reminder, ReportLinks, Scope, SheetFact, DUE_SOON_DAYS,
};
use domain::policy::op;
use domain::Role;

use crate::clock::today;
use crate::error::{ApiError, ApiResult};
use crate::extract::CurrentUser;
use crate::routes::org::unit_tree;
use crate::service::review::{actor, state_of};
use crate::store;
use crate::AppState;

#[utoipa::path(get, path = "/api/home", tag = "home",
    responses((status = 200, body = HomeSummary), (status = 401, body = domain::ErrorBody)))]
pub async fn home(
    State(state): State<AppState>,
    current: CurrentUser,
) -> ApiResult<Json<HomeSummary>> {
    let user = &current.user;
    let pool = &state.db.pool;
    let (unit_name, scope) = match user.role {
        Role::Retailer => {
            let retailer_id = user
                .retailer_id
                .ok_or_else(|| ApiError::not_found(current.lang))?;
            let r = store::users::retailer_identity(pool, retailer_id)
                .await?
                .ok_or_else(|| ApiError::not_found(current.lang))?;
            (
                r.unit_name,
                Scope::Retailer {
                    licence_no: r.licence_no,
                    shop_name: r.name,
                    class_label: r.class_label,
                    online_replenishment: r.online_replenishment != 0,
                    customer_manager: r.manager_name,
                },
            )
        }
        Role::CustomerManager => {
            let (retailers, online_retailers) =
                store::users::manager_retailer_counts(pool, user.id).await?;
            (
                store::org::unit_name(pool, user.org_unit_id).await?,
                Scope::Retailers {
                    retailers,
                    online_retailers,
                },
            )
        }
        Role::MarketManager | Role::CountyManager | Role::MarketingCenter | Role::Admin => {
            let units = unit_tree(&state, user.org_unit_id).await?;
            let unit_name = units.first().map(|u| u.name.clone()).unwrap_or_default();
            (
                unit_name,
                Scope::Units {
                    units,
                    specs: store::specs::count(pool).await?,
                },
            )
        }
    };
    let reports = if op::DASHBOARD.permits(user.role) || op::ACCURACY.permits(user.role) {
        store::home::report_links(pool).await?
    } else {
        ReportLinks::default()
    };
    Ok(Json(HomeSummary {
        role: user.role,
        display_name: user.display_name.clone(),
        unit_name,
        scope,
        reminders: due(&state, &current).await?,
        reports,
    }))
}

/// A retailer's reminder of its open order window, when it orders online.
async fn order_window(state: &AppState, current: &CurrentUser) -> ApiResult<Vec<Reminder>> {
    use crate::store::replenishment as repl;
    let Some(id) = current.user.retailer_id else {
        return Ok(Vec::new());
    };
    let pool = &state.db.pool;
    let Some(retailer) = repl::retailer(pool, id).await? else {
        return Ok(Vec::new());
    };
    if !retailer.header.online {
        return Ok(Vec::new());
    }
    let policy = repl::policy(pool).await?;
    let now = crate::clock::now_china();
    let order_date = repl::window_of(pool, retailer.header.order_weekday, &policy, now).await?;
    let order = repl::order_of_day(pool, id, order_date, &policy, now).await?;
    Ok(vec![Reminder::OrderWindow {
        retailer_id: id,
        order_date,
        cutoff: domain::replenishment::cutoff_at(order_date, &policy),
        confirmed: order.is_some_and(|o| o.status != domain::replenishment::OrderStatus::Cancelled),
    }])
}

/// The caller's reminders: the facts of the open cycles' sheets they may
/// see, and the rules of `domain::home::reminders` on today's China date.
async fn due(state: &AppState, current: &CurrentUser) -> ApiResult<Vec<Reminder>> {
    let role = current.role();
    if role == Role::Retailer {
        return order_window(state, current).await;
    }
    let reviewer = matches!(
        role,
        Role::MarketManager | Role::CountyManager | Role::MarketingCenter
    );
    if role != Role::CustomerManager && !reviewer {
        return Ok(Vec::new());
    }
    let pool = &state.db.pool;
    let cycles = store::home::open_cycles(pool).await?;
    if cycles.is_empty() {
        return Ok(Vec::new());
    }
    let units = if reviewer {
        store::org::units(pool).await?
    } else {
        Vec::new()
    };
    let mut facts = Vec::new();
    for sheet in store::review::open_sheets(pool).await? {
        let Some(cycle) = cycles.iter().find(|c| c.id == sheet.cycle_id) else {
            continue;
        };
        let own = sheet.manager_id == current.user.id;
        if role == Role::CustomerManager && !own {
            continue;
        }
        let awaits_viewer = reviewer
            && sheet.status == SheetStatus::Submitted
            && acting_step(
                &chain(&units, sheet.manager_unit),
                state_of(&sheet),
                actor(current),
            )
            .is_ok();
        // Only the center follows every manager; other reviewers count
        // what waits for them.
        if reviewer && role != Role::MarketingCenter && !awaits_viewer {
            continue;
        }
        let (filled, returned) = if own && sheet.status.editable() {
            let returned = if sheet.status == SheetStatus::Returned {
                store::review::actions(pool, sheet.id)
                    .await?
                    .into_iter()
                    .rev()
                    .find(|a| a.action == ReviewActionKind::Return)
            } else {
                None
            };
            (store::home::filled(pool, sheet.id).await?, returned)
        } else {
            (0, None)
        };
        facts.push(SheetFact {
            cycle_id: sheet.cycle_id,
            month: sheet.month,
            manager_id: sheet.manager_id,
            manager_name: sheet.manager_name.clone(),
            unit_name: sheet.unit_name.clone(),
            status: sheet.status,
            submit_deadline: cycle.submit_deadline,
            review_deadline: cycle.review_deadline,
            reopened_until: sheet.reopened_until,
            filled,
            cells: sheet.retailers * cycle.specs,
            returned_comment: returned.as_ref().and_then(|a| a.comment.clone()),
            returned_by: returned.map(|a| a.actor_name),
            awaits_viewer,
        });
    }
    // Oldest cycle first: its deadline comes first.
    facts.sort_by_key(|f| f.month);
    Ok(reminders(
        role,
        current.user.id,
        &facts,
        today(),
        DUE_SOON_DAYS,
    ))
}
