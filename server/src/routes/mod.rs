//! The HTTP API: every route, its OpenAPI description, and the router.

pub mod admin;
pub mod allocation;
pub mod analysis;
pub mod audit_log;
pub mod auth;
pub mod catalogue;
pub mod forecast;
pub mod health;
pub mod home;
pub mod masterdata;
pub mod order_flow;
pub mod org;
pub mod replenishment;
pub mod review;
pub mod summary;

use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "烟草营销 API (tobacco marketing)",
        description = "Forecasting and online replenishment for a tobacco commercial company."
    ),
    components(schemas(domain::ErrorBody, domain::ErrorCode))
)]
struct ApiDoc;

/// All API routes with their OpenAPI document.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(home::home))
        .routes(routes!(org::units))
        .routes(routes!(catalogue::specs))
        .routes(routes!(replenishment::managed))
        .routes(routes!(replenishment::retailer_settings))
        .routes(routes!(replenishment::save_settings))
        .routes(routes!(replenishment::proposal))
        .routes(routes!(replenishment::confirm, replenishment::orders))
        .routes(routes!(replenishment::change_order))
        .routes(routes!(replenishment::cancel_order))
        .routes(routes!(replenishment::history))
        .routes(routes!(replenishment::enrol))
        .routes(routes!(
            replenishment::get_policy,
            replenishment::change_policy
        ))
        .routes(routes!(forecast::cycles, forecast::open_cycle))
        .routes(routes!(forecast::edit_cycle))
        .routes(routes!(forecast::close_cycle))
        .routes(routes!(forecast::progress))
        .routes(routes!(forecast::reopen))
        .routes(routes!(forecast::get_sheet))
        .routes(routes!(forecast::save_cells))
        .routes(routes!(forecast::submit))
        .routes(routes!(forecast::export))
        .routes(routes!(forecast::import))
        .routes(routes!(forecast::get_rules, forecast::set_rules))
        .routes(routes!(forecast::get_bounds, forecast::set_bounds))
        .routes(routes!(forecast::baselines))
        .routes(routes!(forecast::recompute_baselines))
        .routes(routes!(review::inbox))
        .routes(routes!(review::review))
        .routes(routes!(review::correct))
        .routes(routes!(review::approve))
        .routes(routes!(review::return_sheet))
        .routes(routes!(review::line_history))
        .routes(routes!(summary::dashboard))
        .routes(routes!(summary::export_approved))
        // A whole month of a city's orders: a larger body than the default.
        .routes(
            routes!(summary::import_actuals)
                .layer(DefaultBodyLimit::max(crate::untrusted::ACTUALS_BODY_LIMIT)),
        )
        .routes(routes!(summary::accuracy))
        .routes(routes!(analysis::sales))
        .routes(routes!(analysis::stock))
        .routes(routes!(analysis::get_plans, analysis::set_plans))
        .routes(routes!(order_flow::order_days))
        .routes(routes!(order_flow::export))
        .routes(routes!(order_flow::mark_exported))
        // A delivery file of a few order days of a city.
        .routes(
            routes!(order_flow::load_deliveries).layer(DefaultBodyLimit::max(
                crate::untrusted::DELIVERIES_BODY_LIMIT,
            )),
        )
        .routes(routes!(order_flow::actuals_from_orders))
        .routes(routes!(order_flow::fill_rate))
        .routes(routes!(allocation::list, allocation::publish))
        .routes(routes!(allocation::preview))
        .routes(routes!(allocation::withdraw))
        .routes(routes!(allocation::plan))
        .routes(routes!(audit_log::audit_log))
        .routes(routes!(admin::users, admin::create_user))
        .routes(routes!(admin::change_user))
        .routes(routes!(admin::unlock_user))
        .routes(routes!(admin::reset_password))
        .routes(routes!(admin::reset_retailer_password))
        .routes(routes!(admin::retailer_accounts))
        .routes(routes!(admin::account_job))
        .routes(routes!(admin::handout))
        .routes(routes!(masterdata::retailers))
        .routes(routes!(masterdata::edit_retailer))
        .routes(routes!(masterdata::reassign))
        .routes(routes!(masterdata::managers))
        .routes(routes!(masterdata::specs, masterdata::create_spec))
        .routes(routes!(masterdata::edit_spec))
        .routes(routes!(masterdata::classes, masterdata::save_classes))
        // Company files of up to 10 million rows.
        .routes(
            routes!(masterdata::start_import)
                .layer(DefaultBodyLimit::max(masterdata::IMPORT_BODY_LIMIT)),
        )
        .routes(routes!(masterdata::import_job))
        .routes(
            routes!(masterdata::apply_import)
                .layer(DefaultBodyLimit::max(masterdata::IMPORT_BODY_LIMIT)),
        )
}
