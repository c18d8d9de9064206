//! The browser app: a Leptos single-page app compiled to wasm.

pub mod api;
pub mod components;
pub mod format;
pub mod i18n;
pub mod pages;
pub mod routes;
pub mod state;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::components::layout::Shell;
use crate::pages::audit::AuditPage;
use crate::pages::forecast::ForecastPage;
use crate::pages::home::HomePage;
use crate::pages::login::LoginPage;
use crate::pages::not_found::NotFound;
use crate::pages::policy::PolicyPage;
use crate::pages::replenishment::ReplenishmentPage;
use crate::pages::retailers::RetailersPage;
use crate::pages::review::{ReviewInboxPage, ReviewPage};
use crate::pages::sheet::SheetPage;
use crate::pages::summary::{AccuracyPage, DashboardPage};

/// The root component: session and language context, then the routes.
#[component]
pub fn App() -> impl IntoView {
    state::provide();
    view! {
        <Router>
            <Shell>
                <Routes fallback=NotFound>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/") view=HomePage/>
                    <Route path=path!("/home/:role") view=HomePage/>
                    <Route path=path!("/retailers") view=RetailersPage/>
                    <Route path=path!("/retailers/:id/replenishment") view=ReplenishmentPage/>
                    <Route path=path!("/policy") view=PolicyPage/>
                    <Route path=path!("/forecast") view=ForecastPage/>
                    <Route path=path!("/forecast/:id") view=SheetPage/>
                    <Route path=path!("/forecast/:id/dashboard") view=DashboardPage/>
                    <Route path=path!("/forecast/:id/accuracy") view=AccuracyPage/>
                    <Route path=path!("/reviews") view=ReviewInboxPage/>
                    <Route path=path!("/reviews/:id") view=ReviewPage/>
                    <Route path=path!("/admin/audit") view=AuditPage/>
                    <Route path=path!("/admin/users") view=crate::pages::admin::AdminUsersPage/>
                    <Route path=path!("/admin/retailer-accounts") view=crate::pages::admin::RetailerAccountsPage/>
                    <Route path=path!("/password") view=crate::pages::password::PasswordPage/>
                    <Route path=path!("/masterdata/retailers") view=crate::pages::masterdata::MasterRetailersPage/>
                    <Route path=path!("/masterdata/specs") view=crate::pages::masterdata::MasterSpecsPage/>
                    <Route path=path!("/masterdata/classes") view=crate::pages::masterdata::ClassesPage/>
                    <Route path=path!("/masterdata/import") view=crate::pages::masterdata::ImportPage/>
                    <Route path=path!("/masterdata/rules") view=crate::pages::rules::RulesPage/>
                </Routes>
            </Shell>
        </Router>
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
