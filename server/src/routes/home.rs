//! Each role's landing page: who they are and the size of their scope.

use axum::extract::State;
use axum::Json;
use domain::home::{HomeSummary, Scope};
use domain::Role;

use crate::error::{ApiError, ApiResult};
use crate::extract::CurrentUser;
use crate::routes::org::unit_tree;
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
    Ok(Json(HomeSummary {
        role: user.role,
        display_name: user.display_name.clone(),
        unit_name,
        scope,
    }))
}
