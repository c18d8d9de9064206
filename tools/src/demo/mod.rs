//! The deterministic demo data generator: one city marketing center with one
//! county (or a whole city at benchmark scale), people, retailers in 30 tiers,
//! a real-brand catalogue and two years of monthly orders with a Spring
//! Festival peak, intermittent small retailers and trends, and the last
//! months of it as closed forecast cycles (`history`). A fixed seed gives
//! the same data on every machine.

mod catalogue;
mod history;
mod names;

pub use history::HistoryReport;

use domain::month::YearMonth;
use domain::quantity::CaseSize;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal, Poisson};

use server::db::{insert_rows, Backend, Db, Value};
use server::password;

/// How much data to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scale {
    /// A few retailers per manager; for tests.
    Tiny,
    /// One county: about 1,900 retailers (the default).
    County,
    /// A city of 15 counties: about 30,000 retailers; for benchmarks.
    City,
    /// A province of 10 cities of 15 counties each: about 300,000
    /// retailers; for benchmarks. The organisation has no provincial level:
    /// the 150 county departments sit under one marketing center, named
    /// after their city.
    Province,
}

/// Options of one generation run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub scale: Scale,
    /// The last month of order history.
    pub end_month: YearMonth,
    pub seed: u64,
    /// Give the demo people and some retailers sign-ins with the demo
    /// password. Without: the master data only (organisation, people,
    /// retailers, specs, history), no administrator and no password, as a
    /// real installation starts (`server create-admin` makes the first
    /// administrator).
    pub sign_ins: bool,
    /// Closed forecast cycles for the last months of order history (up to
    /// `end_month`), each with every customer manager's sheet approved up
    /// the review chain, so accuracy has a past. At most one fewer than the
    /// months of history; 0 for none.
    pub history_cycles: usize,
}

impl DemoOptions {
    /// History ending with the month before `today`.
    pub fn ending_before(scale: Scale, today: chrono::NaiveDate) -> DemoOptions {
        DemoOptions {
            scale,
            end_month: YearMonth::of_date(today).plus(-1),
            seed: 20_260_101,
            sign_ins: true,
            history_cycles: Self::default_history_cycles(scale),
        }
    }

    /// A year of past cycles at every scale.
    pub fn default_history_cycles(_scale: Scale) -> usize {
        12
    }

    /// The retailers in the past cycles' scope: every retailer of the tiny
    /// demo (so every manager has a sheet each month), the rotating
    /// one-third sample (1/3样本客户) of a county or city.
    fn history_scope(&self) -> domain::forecast::Scope {
        match self.scale {
            Scale::Tiny => domain::forecast::Scope::All,
            Scale::County | Scale::City | Scale::Province => domain::forecast::Scope::Sample,
        }
    }

    fn months(&self) -> i64 {
        match self.scale {
            Scale::Tiny => 13,
            Scale::County | Scale::City | Scale::Province => 24,
        }
    }
}

/// The shared password of the demo accounts, printed at start-up.
pub const DEMO_PASSWORD: &str = "Yancao@2026";

/// A demo account to print.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub role: domain::Role,
    pub login: String,
}

/// What a generation run made.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub retailers: i64,
    pub specs: i64,
    pub order_rows: i64,
    /// Cases (箱) per week over the last 12 months of history.
    pub weekly_cases: f64,
    pub accounts: Vec<DemoAccount>,
    /// The past forecast cycles made.
    pub history: HistoryReport,
}

const COUNTY_NAMES: [&str; 15] = [
    "城区", "东湖", "西山", "南岭", "北川", "青石", "白水", "红岩", "金沙", "银湖", "玉泉", "松林",
    "桃源", "梅岭", "竹溪",
];

/// The cities of the province scale.
const CITY_NAMES: [&str; 10] = [
    "江城", "襄州", "荆门", "宜昌", "黄石", "十堰", "孝感", "咸宁", "随州", "恩施",
];

/// The name of county `c` of `counties`: a province's carry their city's.
fn county_label(c: usize, counties: usize) -> String {
    let county = COUNTY_NAMES[c % COUNTY_NAMES.len()];
    if counties > COUNTY_NAMES.len() {
        format!(
            "{}{county}",
            CITY_NAMES[(c / COUNTY_NAMES.len()) % CITY_NAMES.len()]
        )
    } else {
        county.to_string()
    }
}

struct Plan {
    units: Vec<Vec<Value>>,
    users: Vec<Vec<Value>>,
    accounts: Vec<DemoAccount>,
    /// (manager user id, market unit id)
    managers: Vec<(i64, i64)>,
    /// Who reviews forecasts at each unit, and each unit's parent.
    reviewers: history::Reviewers,
}

/// Fills an empty database; does nothing (returns `None`) if it holds data.
pub async fn seed_if_empty(db: &Db, options: &DemoOptions) -> anyhow::Result<Option<DemoReport>> {
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&db.pool)
        .await?;
    if users > 0 {
        return Ok(None);
    }
    seed(db, options).await.map(Some)
}

/// Generates the demo data in one transaction.
pub async fn seed(db: &Db, options: &DemoOptions) -> anyhow::Result<DemoReport> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let (counties, managers_per_dept, retailers_per_manager) = match options.scale {
        Scale::Tiny => (1, 2, 6),
        Scale::County => (1, 4, 158),
        Scale::City => (15, 4, 167),
        Scale::Province => (15 * CITY_NAMES.len(), 4, 167),
    };
    let now = server::db::now_unix();
    let plan = plan_org(&mut rng, counties, managers_per_dept, now, options.sign_ins);
    let password_hash = if options.sign_ins {
        hash_accounts(plan.users.len() + plan.managers.len()).await?
    } else {
        Vec::new()
    };

    let mut conn = db.pool.acquire().await?;
    let mut tx = db.begin(&mut conn).await?;

    insert_rows(
        &mut tx,
        "org_units",
        &["id", "parent_id", "kind", "name"],
        &plan.units,
    )
    .await?;
    // The installation's default classes make way for the demo's own.
    sqlx::query("DELETE FROM customer_classes")
        .execute(&mut *tx)
        .await?;
    let classes: Vec<Vec<Value>> = (1..=30_i64)
        .map(|t| {
            vec![
                t.to_string().into(),
                format!("{t}档").into(),
                t.into(),
                Some(total_cap(t)).into(),
            ]
        })
        .collect();
    insert_rows(
        &mut tx,
        "customer_classes",
        &["code", "label", "rank", "total_cap"],
        &classes,
    )
    .await?;

    let user_columns = [
        "id",
        "login",
        "display_name",
        "role",
        "org_unit_id",
        "retailer_id",
        "password_hash",
        "created_at",
    ];
    let mut hashes = password_hash.into_iter();
    let mut next_hash = || {
        // Without sign-ins a person has no password (and cannot sign in).
        Value::OptText(hashes.next())
    };
    let staff: Vec<Vec<Value>> = plan
        .users
        .iter()
        .map(|u| {
            let mut row = u.clone();
            row.insert(6, next_hash());
            row
        })
        .collect();
    insert_rows(&mut tx, "users", &user_columns, &staff).await?;

    let specs: Vec<Vec<Value>> = catalogue::SPECS
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i as i64 + 1).into(),
                format!("69010{:08}", 28_000_000 + i * 7_919).into(),
                s.brand.into(),
                s.name.into(),
                i64::from(s.price_class).into(),
                (s.wholesale_yuan * 100).into(),
                (s.retail_yuan * 100).into(),
                s.scarce.into(),
                s.new_product.into(),
                true.into(),
                order_multiple(s).into(),
                default_cap(s).into(),
            ]
        })
        .collect();
    insert_rows(
        &mut tx,
        "specs",
        &[
            "id",
            "code",
            "brand",
            "name",
            "price_class",
            "wholesale_fen",
            "retail_fen",
            "scarce",
            "is_new",
            "orderable",
            "order_multiple",
            "default_cap",
        ],
        &specs,
    )
    .await?;
    let mut caps: Vec<Vec<Value>> = Vec::new();
    for (i, spec) in catalogue::SPECS.iter().enumerate() {
        for tier in 1..=30 {
            if let Some(cap) = own_class_cap(spec, tier) {
                caps.push(vec![
                    (i as i64 + 1).into(),
                    tier.to_string().into(),
                    cap.into(),
                ]);
            }
        }
    }
    insert_rows(
        &mut tx,
        "class_caps",
        &["spec_id", "class_code", "cap"],
        &caps,
    )
    .await?;

    let months: Vec<YearMonth> = (0..options.months())
        .rev()
        .map(|k| options.end_month.plus(-k))
        .collect();
    let mut history = (options.history_cycles > 0).then(|| {
        history::History::new(
            options.history_cycles,
            options.history_scope(),
            catalogue::SPECS.len(),
            &months,
            plan.reviewers,
            options.seed,
        )
    });
    if let Some(history) = &history {
        let population = (plan.managers.len() * retailers_per_manager) as i64;
        history.write_cycles(&mut tx, population).await?;
    }
    let mut next_sheet = 1_i64;
    let mut accounts = if options.sign_ins {
        plan.accounts
    } else {
        Vec::new()
    };
    let mut retailer_id = 0_i64;
    let mut user_id = plan.users.len() as i64 + 1;
    let mut order_rows = 0_i64;
    let mut retailer_users = Vec::new();
    // Settings draw from their own stream so the order history does not
    // depend on them.
    let mut settings_rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0x5e77_1165);
    for (m, &(manager_id, unit_id)) in plan.managers.iter().enumerate() {
        let mut retailers = Vec::with_capacity(retailers_per_manager);
        let mut past = Vec::new();
        let mut orders = Vec::new();
        let mut settings = Vec::new();
        for k in 0..retailers_per_manager {
            retailer_id += 1;
            let shop = Shop::generate(&mut rng);
            let licence = format!("4211{:02}{:06}", unit_id % 100, retailer_id);
            retailers.push(vec![
                retailer_id.into(),
                licence.clone().into(),
                names::shop_name(&mut rng).into(),
                unit_id.into(),
                manager_id.into(),
                shop.tier.to_string().into(),
                // Every demo sign-in retailer has joined online replenishment.
                (shop.online || k == 0).into(),
                names::address(&mut rng).into(),
                (retailer_id % 5 + 1).into(),
            ]);
            shop.settings(
                &mut settings_rng,
                |spec_id, [stock, lower, upper, turnover]| {
                    settings.push(vec![
                        retailer_id.into(),
                        spec_id.into(),
                        stock.into(),
                        lower.into(),
                        upper.into(),
                        turnover.into(),
                        now.into(),
                        None::<i64>.into(),
                    ]);
                },
            );
            // The same orders by spec and month, for the past cycles.
            let mut by_spec = vec![0_i64; catalogue::SPECS.len() * months.len()];
            shop.orders(&mut rng, &months, |spec_id, month, cartons| {
                orders.push(vec![
                    retailer_id.into(),
                    spec_id.into(),
                    month.to_string().into(),
                    cartons.into(),
                ]);
                let t = months[0].months_until(month) as usize;
                if let Some(cell) = by_spec.get_mut((spec_id - 1) as usize * months.len() + t) {
                    *cell = cartons;
                }
            });
            if history.is_some() {
                past.push(history::RetailerHistory {
                    id: retailer_id,
                    licence: licence.clone(),
                    orders: by_spec,
                });
            }
            if k == 0 && options.sign_ins {
                // The first retailer of every manager gets a demo sign-in.
                retailer_users.push(vec![
                    user_id.into(),
                    licence.clone().into(),
                    format!("{}（{}档）", names::person(&mut rng), shop.tier).into(),
                    "retailer".into(),
                    unit_id.into(),
                    Some(retailer_id).into(),
                    next_hash(),
                    now.into(),
                ]);
                if m < 3 {
                    accounts.push(DemoAccount {
                        role: domain::Role::Retailer,
                        login: licence,
                    });
                }
                user_id += 1;
            }
        }
        insert_rows(
            &mut tx,
            "retailers",
            &[
                "id",
                "licence_no",
                "name",
                "market_unit_id",
                "manager_id",
                "class_code",
                "online_replenishment",
                "address",
                "order_weekday",
            ],
            &retailers,
        )
        .await?;
        insert_rows(
            &mut tx,
            "retailer_specs",
            &server::store::replenishment::SETTINGS_COLUMNS,
            &settings,
        )
        .await?;
        order_rows += orders.len() as i64;
        insert_rows(
            &mut tx,
            "monthly_orders",
            &["retailer_id", "spec_id", "month", "cartons"],
            &orders,
        )
        .await?;
        if let Some(history) = &mut history {
            next_sheet = history
                .write_manager(&mut tx, manager_id, unit_id, &past, next_sheet)
                .await?;
        }
    }
    insert_rows(&mut tx, "users", &user_columns, &retailer_users).await?;
    server::store::summary::refresh_all_totals(&mut tx).await?;
    if let Some(history) = &history {
        history.refresh_summaries(&mut tx).await?;
    }
    // The approved past cycles against their months' orders.
    server::store::summary::refresh_all_accuracy(&mut tx).await?;
    // Forecast sanity bounds: three times the largest month a retailer of the
    // class ordered of the spec, plus 10 cartons.
    sqlx::query(
        "INSERT INTO forecast_bounds (spec_id, class_code, max_cartons) \
         SELECT m.spec_id, r.class_code, CAST(MAX(m.cartons) * 3 + 10 AS BIGINT) \
         FROM monthly_orders m JOIN retailers r ON r.id = m.retailer_id GROUP BY m.spec_id, r.class_code",
    )
    .execute(&mut *tx)
    .await?;

    if db.backend == Backend::Postgres {
        for table in [
            "org_units",
            "users",
            "retailers",
            "specs",
            "forecast_cycles",
            "forecast_sheets",
        ] {
            // A table left empty (no past cycles) keeps its sequence.
            sqlx::query(&format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table} HAVING COUNT(*) > 0"))
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    drop(conn);
    db.analyze().await?;

    let weekly_cases = weekly_cases(db, options.end_month, CaseSize::default()).await?;
    Ok(DemoReport {
        retailers: retailer_id,
        specs: specs.len() as i64,
        order_rows,
        weekly_cases,
        accounts,
        history: history.map(|h| h.report()).unwrap_or_default(),
    })
}

/// Average cases a week over the 12 months ending with `end`.
pub async fn weekly_cases(db: &Db, end: YearMonth, case_size: CaseSize) -> anyhow::Result<f64> {
    let cartons: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(cartons), 0) AS BIGINT) FROM monthly_orders WHERE month > $1 AND month <= $2",
    )
    .bind(end.plus(-12).to_string())
    .bind(end.to_string())
    .fetch_one(&db.pool)
    .await?;
    Ok(case_size.cases(cartons) / (365.25 / 7.0))
}

/// Each demo account has its own salt: `n` hashes of the demo password.
/// `n` hashes of the demo password, one thread per core. Each Argon2 hash
/// takes 19 MiB while it runs: one blocking task per account (the blocking
/// pool runs up to 512 at once) took 8 GB for the city's 400 accounts.
async fn hash_accounts(n: usize) -> anyhow::Result<Vec<String>> {
    let threads = std::thread::available_parallelism().map_or(2, |t| t.get());
    tokio::task::spawn_blocking(move || {
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        (t..n)
                            .step_by(threads)
                            .map(|_| password::hash_blocking(DEMO_PASSWORD))
                            .collect::<anyhow::Result<Vec<String>>>()
                    })
                })
                .collect();
            let mut out = Vec::with_capacity(n);
            for worker in workers {
                let hashes = worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))??;
                out.extend(hashes);
            }
            Ok(out)
        })
    })
    .await?
}

fn plan_org(
    rng: &mut ChaCha8Rng,
    counties: usize,
    managers_per_dept: usize,
    now: i64,
    sign_ins: bool,
) -> Plan {
    let mut units = Vec::new();
    let mut users: Vec<Vec<Value>> = Vec::new();
    let mut accounts = Vec::new();
    let mut managers = Vec::new();
    let mut reviewers = history::Reviewers {
        center: 0,
        root_unit: 1,
        by_unit: Default::default(),
        parent: Default::default(),
    };
    let mut unit_id = 1_i64;
    let user = |users: &mut Vec<Vec<Value>>,
                login: String,
                name: String,
                role: domain::Role,
                unit: i64|
     -> i64 {
        let id = users.len() as i64 + 1;
        users.push(vec![
            id.into(),
            login.into(),
            name.into(),
            role.as_str().into(),
            unit.into(),
            Option::<i64>::None.into(),
            now.into(),
        ]);
        id
    };
    units.push(vec![
        unit_id.into(),
        Option::<i64>::None.into(),
        "marketing_center".into(),
        "营销中心".into(),
    ]);
    let root = unit_id;
    if sign_ins {
        user(
            &mut users,
            "admin".into(),
            "系统管理员".into(),
            domain::Role::Admin,
            root,
        );
        accounts.push(DemoAccount {
            role: domain::Role::Admin,
            login: "admin".into(),
        });
    }
    reviewers.center = user(
        &mut users,
        "center".into(),
        format!("{}（营销中心）", names::person(rng)),
        domain::Role::MarketingCenter,
        root,
    );
    accounts.push(DemoAccount {
        role: domain::Role::MarketingCenter,
        login: "center".into(),
    });
    let mut cm = 0;
    let mut mm = 0;
    for c in 0..counties {
        let county_label = county_label(c, counties);
        unit_id += 1;
        let county = unit_id;
        let county_name = if counties == 1 {
            "县级营销部".to_string()
        } else {
            format!("{county_label}营销部")
        };
        units.push(vec![
            county.into(),
            Some(root).into(),
            "county_department".into(),
            county_name.into(),
        ]);
        let login = if c == 0 {
            "county".to_string()
        } else {
            format!("county{:02}", c + 1)
        };
        let reviewer = user(
            &mut users,
            login.clone(),
            format!("{}（县级营销部）", names::person(rng)),
            domain::Role::CountyManager,
            county,
        );
        reviewers.by_unit.insert(county, reviewer);
        if c == 0 {
            accounts.push(DemoAccount {
                role: domain::Role::CountyManager,
                login,
            });
        }
        let depts: [String; 3] = if c == 0 {
            [
                "城关市场部".into(),
                "钟山市场部".into(),
                "重新市场部".into(),
            ]
        } else {
            ["一部", "二部", "三部"].map(|d| format!("{county_label}{d}"))
        };
        for dept in depts {
            unit_id += 1;
            units.push(vec![
                unit_id.into(),
                Some(county).into(),
                "market_department".into(),
                dept.into(),
            ]);
            mm += 1;
            let login = format!("mm{mm:02}");
            let reviewer = user(
                &mut users,
                login.clone(),
                format!("{}（市场经理）", names::person(rng)),
                domain::Role::MarketManager,
                unit_id,
            );
            reviewers.by_unit.insert(unit_id, reviewer);
            reviewers.parent.insert(unit_id, county);
            if mm == 1 {
                accounts.push(DemoAccount {
                    role: domain::Role::MarketManager,
                    login,
                });
            }
            for _ in 0..managers_per_dept {
                cm += 1;
                let login = format!("cm{cm:02}");
                let id = user(
                    &mut users,
                    login.clone(),
                    names::person(rng),
                    domain::Role::CustomerManager,
                    unit_id,
                );
                if cm == 1 {
                    accounts.push(DemoAccount {
                        role: domain::Role::CustomerManager,
                        login,
                    });
                }
                managers.push((id, unit_id));
            }
        }
    }
    Plan {
        units,
        users,
        accounts,
        managers,
        reviewers,
    }
}

/// One generated retailer and how it buys.
struct Shop {
    tier: i64,
    online: bool,
    /// Cartons a month across all specs, before season and trend.
    base: f64,
    /// Yearly growth of the shop.
    growth: f64,
    /// (spec id, share of the shop's volume)
    assortment: Vec<(i64, f64)>,
}

impl Shop {
    fn generate(rng: &mut ChaCha8Rng) -> Shop {
        let tier_draw: f64 = Normal::new(11.0, 6.0)
            .map(|d| d.sample(rng))
            .unwrap_or(11.0);
        let tier = tier_draw.round().clamp(1.0, 30.0) as i64;
        let online = rng.gen_bool((0.15 + 0.6 * tier as f64 / 30.0).min(0.95));
        let size_noise = LogNormal::new(0.0, 0.25)
            .map(|d| d.sample(rng))
            .unwrap_or(1.0);
        let base = (12.0 + 8.0 * tier as f64) * size_noise;
        let growth = rng.gen_range(-0.08..0.12);
        let wanted =
            ((5.0 + 0.9 * tier as f64) + rng.gen_range(-2.0..3.0)).clamp(4.0, 45.0) as usize;
        // Better shops lean towards dearer classes.
        let lean = (tier as f64 - 15.0) / 15.0;
        let weighted: Vec<(i64, f64)> = catalogue::SPECS
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    i as i64 + 1,
                    s.popularity * (0.45 * (3.0 - f64::from(s.price_class)) * lean).exp(),
                )
            })
            .collect();
        let chosen = weighted
            .choose_multiple_weighted(rng, wanted, |item| item.1)
            .map(|it| it.cloned().collect::<Vec<_>>())
            .unwrap_or_default();
        let total: f64 = chosen.iter().map(|c| c.1).sum::<f64>().max(f64::EPSILON);
        let assortment = chosen.into_iter().map(|(id, w)| (id, w / total)).collect();
        Shop {
            tier,
            online,
            base,
            growth,
            assortment,
        }
    }

    /// Emits the non-zero monthly orders of the shop.
    fn orders(
        &self,
        rng: &mut ChaCha8Rng,
        months: &[YearMonth],
        mut emit: impl FnMut(i64, YearMonth, i64),
    ) {
        let noise = LogNormal::new(0.0, 0.18).ok();
        for (t, &month) in months.iter().enumerate() {
            let years = t as f64 / 12.0;
            let level = self.base * season(month) * (1.0 + self.growth).powf(years);
            for &(spec_id, share) in &self.assortment {
                let spec = &catalogue::SPECS[(spec_id - 1) as usize];
                let spec_trend = if spec.new_product {
                    (0.4 + 0.6 * years).min(1.5)
                } else if spec.price_class >= 4 {
                    0.96_f64.powf(years)
                } else {
                    1.03_f64.powf(years)
                };
                let mean = level * share * spec_trend * noise.map(|n| n.sample(rng)).unwrap_or(1.0);
                let cartons = match Poisson::new(mean.max(1e-6)) {
                    Ok(p) => p.sample(rng) as i64,
                    Err(_) => mean.round() as i64,
                };
                if cartons > 0 {
                    emit(spec_id, month, cartons);
                }
            }
        }
    }
}

/// Orders of the cheap, high-volume classes come in pairs of cartons.
fn order_multiple(spec: &catalogue::DemoSpec) -> i64 {
    if spec.price_class >= 4 {
        2
    } else {
        1
    }
}

/// Cap per order for classes without their own.
fn default_cap(spec: &catalogue::DemoSpec) -> i64 {
    if spec.scarce {
        4
    } else {
        match spec.price_class {
            1 => 20,
            2 => 30,
            _ => 60,
        }
    }
}

/// Scarce and premium specs have a cap per class (紧俏品牌限量): better
/// classes may buy more.
fn own_class_cap(spec: &catalogue::DemoSpec, tier: i64) -> Option<i64> {
    if spec.scarce {
        Some(2 + tier / 3)
    } else if spec.price_class == 1 {
        Some(8 + tier)
    } else {
        None
    }
}

fn class_cap(spec: &catalogue::DemoSpec, tier: i64) -> i64 {
    own_class_cap(spec, tier).unwrap_or_else(|| default_cap(spec))
}

/// Total cap per order for a class.
fn total_cap(tier: i64) -> i64 {
    12 + 2 * tier
}

impl Shop {
    /// Emits the shop's replenishment settings per spec of its assortment:
    /// [stock, lower, upper, weekly turnover], within its class caps.
    fn settings(&self, rng: &mut ChaCha8Rng, mut emit: impl FnMut(i64, [i64; 4])) {
        for &(spec_id, share) in &self.assortment {
            let spec = &catalogue::SPECS[(spec_id - 1) as usize];
            let turnover = (self.base * share / 4.3).round() as i64;
            let cap = class_cap(spec, self.tier);
            let upper = ((turnover as f64 * rng.gen_range(1.2..2.4)).ceil() as i64)
                .clamp(1, cap.max(1))
                .min(cap);
            let lower = (upper as f64 * rng.gen_range(0.2..0.5)).floor() as i64;
            let stock = rng.gen_range(0..=upper + turnover);
            emit(spec_id, [stock, lower, upper, turnover]);
        }
    }
}

/// Seasonal factor: stocking up for the Spring Festival, a slump after it,
/// and the mid-autumn / national-day gifting season.
fn season(month: YearMonth) -> f64 {
    if month.has_spring_festival_peak() {
        1.55
    } else if month.plus(-1).has_spring_festival_peak() {
        0.8
    } else if matches!(month.month(), 9 | 10) {
        1.08
    } else if matches!(month.month(), 7 | 8) {
        0.95
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spring_festival_month_is_the_peak_of_the_year() {
        let months: Vec<YearMonth> = (1..=12).filter_map(|m| YearMonth::new(2026, m)).collect();
        let peak = months
            .iter()
            .copied()
            .max_by(|a, b| season(*a).total_cmp(&season(*b)));
        assert_eq!(
            peak.map(|m| m.month()),
            Some(2),
            "Spring Festival 2026 is on 17 February"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_shops() {
        let a = Shop::generate(&mut ChaCha8Rng::seed_from_u64(7));
        let b = Shop::generate(&mut ChaCha8Rng::seed_from_u64(7));
        assert_eq!(
            (a.tier, a.online, a.assortment.len()),
            (b.tier, b.online, b.assortment.len())
        );
        let shares: f64 = a.assortment.iter().map(|s| s.1).sum();
        assert!(
            (shares - 1.0).abs() < 1e-9,
            "shares of a shop's assortment add up to one"
        );
    }
}
