//! Liveness and database reachability.

use axum::extract::State;
use axum::http::StatusCode;

use crate::error::ApiResult;
use crate::AppState;

/// 204 when the server and its database answer; 503 when the database does not.
#[utoipa::path(get, path = "/api/health", tag = "system",
    responses((status = 204, description = "Healthy"), (status = 503, body = domain::ErrorBody)))]
pub async fn health(State(state): State<AppState>) -> ApiResult<StatusCode> {
    sqlx::query("SELECT 1").execute(&state.db.pool).await?;
    Ok(StatusCode::NO_CONTENT)
}
