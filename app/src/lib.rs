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
use leptos_router::{lazy_route, path, Lazy, LazyRoute};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::components::layout::Shell;
use crate::pages::home::HomePage;
use crate::pages::login::LoginPage;
use crate::pages::not_found::NotFound;
use crate::pages::password::PasswordPage;
use crate::pages::replenishment::ReplenishmentPage;

/// A route whose page is compiled into its own chunk of the bundle and
/// fetched the first time the route is visited (`scripts/build-web.sh`
/// splits the wasm at these points). The sign-in, home, password and
/// online-replenishment pages — all a retailer's phone ever needs — stay in
/// the main bundle; every staff page is one of these.
macro_rules! lazy_page {
    ($($route:ident => $page:path;)*) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )*};
}

lazy_page! {
    RetailersRoute => pages::retailers::RetailersPage;
    PolicyRoute => pages::policy::PolicyPage;
    ForecastRoute => pages::forecast::ForecastPage;
    SheetRoute => pages::sheet::SheetPage;
    DashboardRoute => pages::summary::DashboardPage;
    AccuracyRoute => pages::summary::AccuracyPage;
    ReviewInboxRoute => pages::review::ReviewInboxPage;
    ReviewRoute => pages::review::ReviewPage;
    AuditRoute => pages::audit::AuditPage;
    AdminUsersRoute => pages::admin::AdminUsersPage;
    RetailerAccountsRoute => pages::admin::RetailerAccountsPage;
    MasterRetailersRoute => pages::masterdata::MasterRetailersPage;
    MasterSpecsRoute => pages::masterdata::MasterSpecsPage;
    ClassesRoute => pages::masterdata::ClassesPage;
    ImportRoute => pages::masterdata::ImportPage;
    RulesRoute => pages::rules::RulesPage;
}

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
                    <Route path=path!("/retailers/:id/replenishment") view=ReplenishmentPage/>
                    <Route path=path!("/password") view=PasswordPage/>
                    <Route path=path!("/retailers") view={Lazy::<RetailersRoute>::new()}/>
                    <Route path=path!("/policy") view={Lazy::<PolicyRoute>::new()}/>
                    <Route path=path!("/forecast") view={Lazy::<ForecastRoute>::new()}/>
                    <Route path=path!("/forecast/:id") view={Lazy::<SheetRoute>::new()}/>
                    <Route path=path!("/forecast/:id/dashboard") view={Lazy::<DashboardRoute>::new()}/>
                    <Route path=path!("/forecast/:id/accuracy") view={Lazy::<AccuracyRoute>::new()}/>
                    <Route path=path!("/reviews") view={Lazy::<ReviewInboxRoute>::new()}/>
                    <Route path=path!("/reviews/:id") view={Lazy::<ReviewRoute>::new()}/>
                    <Route path=path!("/admin/audit") view={Lazy::<AuditRoute>::new()}/>
                    <Route path=path!("/admin/users") view={Lazy::<AdminUsersRoute>::new()}/>
                    <Route path=path!("/admin/retailer-accounts") view={Lazy::<RetailerAccountsRoute>::new()}/>
                    <Route path=path!("/masterdata/retailers") view={Lazy::<MasterRetailersRoute>::new()}/>
                    <Route path=path!("/masterdata/specs") view={Lazy::<MasterSpecsRoute>::new()}/>
                    <Route path=path!("/masterdata/classes") view={Lazy::<ClassesRoute>::new()}/>
                    <Route path=path!("/masterdata/import") view={Lazy::<ImportRoute>::new()}/>
                    <Route path=path!("/masterdata/rules") view={Lazy::<RulesRoute>::new()}/>
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
