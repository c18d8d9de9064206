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
use leptos_router::{path, Lazy, LazyRoute};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::components::layout::Shell;
use crate::pages::login::LoginPage;
use crate::pages::not_found::NotFound;

/// The pages, in families. Each family is compiled into a chunk of its own
/// and fetched the first time one of its pages is visited
/// (`scripts/build-web.sh` splits the wasm at each family's `#[lazy]`
/// function). Only the shell and the sign-in page are in the main bundle;
/// while someone types their password the home family (home, password and
/// online replenishment: all a retailer's phone needs) is fetched in the
/// background ([`preload_after_sign_in`]), and a role's home page fetches
/// the families its links lead to ([`preload_for`]).
macro_rules! families {
    ($(
        $(#[$doc:meta])*
        $family:ident / $preload:ident / $kind:ident { $($page:ident => $component:path),* $(,)? }
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy)]
            enum $kind { $($page),* }

            // A load failure (the network dropped the chunk) is an `Err`,
            // not a panic: with `panic = "abort"` a panic would stop the
            // whole app, even for a chunk fetched in the background.
            #[cfg_attr(feature = "split", leptos::wasm_split::wasm_split(
                $family,
                wasm_split_path = ::leptos::wasm_split,
                fallible,
                preload($preload)
            ))]
            fn $family(page: $kind) -> Result<AnyView, SplitLoaderError> {
                Ok(match page {
                    $($kind::$page => $component().into_any()),*
                })
            }

            $(
                /// A route of this family: the router waits for the
                /// family's chunk before showing it.
                struct $page;

                impl LazyRoute for $page {
                    fn data() -> Self {
                        $page
                    }

                    #[cfg(feature = "split")]
                    async fn view(_this: Self) -> AnyView {
                        $family($kind::$page).await.unwrap_or_else(|_| chunk_failed())
                    }

                    #[cfg(feature = "split")]
                    async fn preload() {
                        if $preload().await.is_err() {
                            chunk_lost();
                        }
                    }

                    #[cfg(not(feature = "split"))]
                    async fn view(_this: Self) -> AnyView {
                        $family($kind::$page).unwrap_or_else(|_| chunk_failed())
                    }
                }
            )*
        )*
    };
}

#[cfg(feature = "split")]
use leptos::wasm_split::SplitLoaderError;
/// Never made without the split: the families are in the one module.
#[cfg(not(feature = "split"))]
#[derive(Debug)]
pub enum SplitLoaderError {}

thread_local! {
    static CHUNK_LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A family's code could not be downloaded. The splitter's loader does not
/// recover within the page (a second attempt waits for ever), so the next
/// navigation is a full page load instead, which fetches what is missing
/// (everything else comes from the cache). See `components::layout::Shell`.
fn chunk_lost() {
    CHUNK_LOST.with(|lost| lost.set(true));
}

/// Whether a download failed since the page was loaded.
pub fn chunk_was_lost() -> bool {
    CHUNK_LOST.with(|lost| lost.get())
}

/// What a page shows when its code could not be downloaded: a clear note
/// and a way to try again (a reload fetches only what is missing).
fn chunk_failed() -> AnyView {
    chunk_lost();
    let lang = state::lang();
    view! {
        <section class="card" role="alert" data-test="chunk-failed">
            <p class="error-note">
                {move || lang.get().pick(
                    "页面加载失败，请检查网络后重试。",
                    "The page could not be loaded; check the connection and try again.",
                )}
            </p>
            <button type="button" class="primary" data-test="chunk-retry"
                on:click=|_| { let _ = window().location().reload(); }>
                {move || lang.get().pick("重试", "Try again")}
            </button>
        </section>
    }
    .into_any()
}

families! {
    /// Every role's home, the password page and online replenishment.
    home_pages / __preload_home_pages / HomeFamily {
        Home => pages::home::HomePage,
        Password => pages::password::PasswordPage,
        Replenishment => pages::replenishment::ReplenishmentPage,
    }
    /// A customer manager's work: forecast cycles, the entry grid, their retailers.
    entry_pages / __preload_entry_pages / EntryFamily {
        Forecast => pages::forecast::ForecastPage,
        Sheet => pages::sheet::SheetPage,
        Retailers => pages::retailers::RetailersPage,
    }
    /// The review chain.
    review_pages / __preload_review_pages / ReviewFamily {
        ReviewInbox => pages::review::ReviewInboxPage,
        Review => pages::review::ReviewPage,
    }
    /// Dashboard and accuracy.
    report_pages / __preload_report_pages / ReportFamily {
        Dashboard => pages::summary::DashboardPage,
        Accuracy => pages::summary::AccuracyPage,
        Analysis => pages::analysis::AnalysisPage,
    }
    /// Supply policy, master data and administration.
    admin_pages / __preload_admin_pages / AdminFamily {
        Policy => pages::policy::PolicyPage,
        Supply => pages::supply::SupplyPage,
        Rules => pages::rules::RulesPage,
        MasterRetailers => pages::masterdata::MasterRetailersPage,
        MasterSpecs => pages::masterdata::MasterSpecsPage,
        Classes => pages::masterdata::ClassesPage,
        Import => pages::masterdata::ImportPage,
        Audit => pages::audit::AuditPage,
        AdminUsers => pages::admin::AdminUsersPage,
        RetailerAccounts => pages::admin::RetailerAccountsPage,
    }
}

/// Fetches the home family while the sign-in form is being filled in.
pub fn preload_after_sign_in() {
    #[cfg(feature = "split")]
    leptos::task::spawn_local(async {
        // A failure is retried when a page of the family is visited.
        if __preload_home_pages().await.is_err() {
            chunk_lost();
        }
    });
}

/// Fetches, in the background, the families a role's home page links to,
/// so that its first click does not wait for code.
#[cfg_attr(not(feature = "split"), allow(unused_variables))]
pub fn preload_for(role: domain::Role) {
    #[cfg(feature = "split")]
    preload_families_for(role);
}

#[cfg(feature = "split")]
fn preload_families_for(role: domain::Role) {
    use domain::policy::op;
    leptos::task::spawn_local(async move {
        if op::SAVE_CELLS.permits(role)
            || op::PROGRESS.permits(role)
            || op::MANAGED_RETAILERS.permits(role)
        {
            if __preload_entry_pages().await.is_err() {
                chunk_lost();
            }
        }
        if op::REVIEW_INBOX.permits(role) {
            if __preload_review_pages().await.is_err() {
                chunk_lost();
            }
        }
        if op::DASHBOARD.permits(role) {
            if __preload_report_pages().await.is_err() {
                chunk_lost();
            }
        }
        if [
            op::POLICY_CHANGE,
            op::USERS,
            op::RETAILER_ACCOUNTS,
            op::MASTER_RETAILERS,
            op::MASTER_SPECS,
            op::EDIT_CLASSES,
        ]
        .iter()
        .any(|o| o.permits(role))
        {
            if __preload_admin_pages().await.is_err() {
                chunk_lost();
            }
        }
    });
}

/// The root component: session and language context, then the routes.
/// Whether the router is fetching the next page's code (shown as a bar at
/// the top of the shell).
#[derive(Clone, Copy)]
pub struct Routing(pub ReadSignal<bool>);

#[component]
pub fn App() -> impl IntoView {
    state::provide();
    let (routing, set_routing) = signal(false);
    provide_context(Routing(routing));
    view! {
        <Router set_is_routing=set_routing>
            <Shell>
                <Routes fallback=NotFound>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/") view={Lazy::<Home>::new()}/>
                    <Route path=path!("/home/:role") view={Lazy::<Home>::new()}/>
                    <Route path=path!("/retailers/:id/replenishment") view={Lazy::<Replenishment>::new()}/>
                    <Route path=path!("/password") view={Lazy::<Password>::new()}/>
                    <Route path=path!("/retailers") view={Lazy::<Retailers>::new()}/>
                    <Route path=path!("/policy") view={Lazy::<Policy>::new()}/>
                    <Route path=path!("/supply") view={Lazy::<Supply>::new()}/>
                    <Route path=path!("/forecast") view={Lazy::<Forecast>::new()}/>
                    <Route path=path!("/forecast/:id") view={Lazy::<Sheet>::new()}/>
                    <Route path=path!("/forecast/:id/dashboard") view={Lazy::<Dashboard>::new()}/>
                    <Route path=path!("/forecast/:id/accuracy") view={Lazy::<Accuracy>::new()}/>
                    <Route path=path!("/analysis") view={Lazy::<Analysis>::new()}/>
                    <Route path=path!("/reviews") view={Lazy::<ReviewInbox>::new()}/>
                    <Route path=path!("/reviews/:id") view={Lazy::<Review>::new()}/>
                    <Route path=path!("/admin/audit") view={Lazy::<Audit>::new()}/>
                    <Route path=path!("/admin/users") view={Lazy::<AdminUsers>::new()}/>
                    <Route path=path!("/admin/retailer-accounts") view={Lazy::<RetailerAccounts>::new()}/>
                    <Route path=path!("/masterdata/retailers") view={Lazy::<MasterRetailers>::new()}/>
                    <Route path=path!("/masterdata/specs") view={Lazy::<MasterSpecs>::new()}/>
                    <Route path=path!("/masterdata/classes") view={Lazy::<Classes>::new()}/>
                    <Route path=path!("/masterdata/import") view={Lazy::<Import>::new()}/>
                    <Route path=path!("/masterdata/rules") view={Lazy::<Rules>::new()}/>
                </Routes>
            </Shell>
        </Router>
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    // The page's own "loading" note, shown until the app is running.
    if let Some(note) = document().get_element_by_id("boot") {
        note.remove();
    }
    leptos::mount::mount_to_body(App);
}
