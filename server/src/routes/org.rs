//! The org tree with its counts, for the marketing center and administrators.

use axum::extract::State;
use axum::Json;
use domain::org::{roll_up, UnitSummary};
use domain::policy::op;

use crate::error::ApiResult;
use crate::extract::CurrentUser;
use crate::store;
use crate::AppState;

/// Every unit, depth first from the root, with rolled-up counts.
#[utoipa::path(get, path = "/api/org/units", tag = "org",
    responses((status = 200, body = Vec<UnitSummary>), (status = 401, body = domain::ErrorBody), (status = 403, body = domain::ErrorBody)))]
pub async fn units(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<Vec<UnitSummary>>> {
    user.require(op::ORG_UNITS)?;
    Ok(Json(unit_tree(&state, user.user.org_unit_id).await?))
}

/// The subtree of `root` with counts rolled up.
pub async fn unit_tree(state: &AppState, root: i64) -> ApiResult<Vec<UnitSummary>> {
    let units = store::org::units(&state.db.pool).await?;
    let counts = store::org::direct_counts(&state.db.pool).await?;
    Ok(roll_up(&units, &counts, root))
}
