//! The spec catalogue, readable by every signed-in user.

use axum::extract::State;
use axum::Json;
use domain::catalogue::Spec;

use crate::error::ApiResult;
use crate::extract::CurrentUser;
use crate::store;
use crate::AppState;

/// All specs, dearest price class first.
#[utoipa::path(get, path = "/api/specs", tag = "catalogue",
    responses((status = 200, body = Vec<Spec>), (status = 401, body = domain::ErrorBody)))]
pub async fn specs(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> ApiResult<Json<Vec<Spec>>> {
    Ok(Json(store::specs::list(&state.db.pool).await?))
}
