//! Writes a company's master data as the files the import pages take, with
//! the Chinese headers and the encodings Chinese Excel produces: units,
//! staff and specs in UTF-8 with a BOM, retailers in GB18030, the order
//! history in plain UTF-8 (too large for one xlsx sheet at city scale).
//! Loading them into an empty database gives the same company back.

use std::io::Write;
use std::path::{Path, PathBuf};

use server::db::Db;

/// The files, in the order they are imported.
pub const FILES: [(&str, &str); 5] = [
    ("units", "units.csv"),
    ("staff", "staff.csv"),
    ("specs", "specs.csv"),
    ("retailers", "retailers.csv"),
    ("history", "history.csv"),
];

fn line(out: &mut Vec<u8>, cells: &[&str]) {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let _ = w.write_record(cells);
    if let Ok(bytes) = w.into_inner() {
        out.extend_from_slice(&bytes);
    }
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Writes the five files into `dir`; returns their paths and the rows of each.
pub async fn export(db: &Db, dir: &Path) -> anyhow::Result<Vec<(PathBuf, usize)>> {
    std::fs::create_dir_all(dir)?;
    let pool = &db.pool;
    let mut written = Vec::new();
    let mut save = |name: &str, bytes: Vec<u8>, rows: usize| -> anyhow::Result<()> {
        let path = dir.join(name);
        std::fs::File::create(&path)?.write_all(&bytes)?;
        written.push((path, rows));
        Ok(())
    };

    // Units: parents before children.
    let units: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT u.id, u.name, u.kind, p.name FROM org_units u LEFT JOIN org_units p ON p.id = u.parent_id \
         ORDER BY CASE u.kind WHEN 'marketing_center' THEN 0 WHEN 'county_department' THEN 1 ELSE 2 END, u.id",
    )
    .fetch_all(pool)
    .await?;
    let mut out = b"\xef\xbb\xbf".to_vec();
    line(&mut out, &["单位名称", "单位类型", "上级单位"]);
    for (_, name, kind, parent) in &units {
        let kind = domain::org::UnitKind::parse(kind).map_or("", |k| k.label(domain::Lang::Zh));
        line(&mut out, &[name, kind, parent.as_deref().unwrap_or("")]);
    }
    save("units.csv", out, units.len())?;

    let staff: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT u.login, u.display_name, u.role, o.name FROM users u JOIN org_units o ON o.id = u.org_unit_id \
         WHERE u.role NOT IN ('retailer', 'admin') ORDER BY u.id",
    )
    .fetch_all(pool)
    .await?;
    let mut out = b"\xef\xbb\xbf".to_vec();
    line(&mut out, &["账号", "姓名", "岗位", "所属单位"]);
    for (login, name, role, unit) in &staff {
        let role = domain::Role::parse(role).map_or("", |r| r.label(domain::Lang::Zh));
        line(&mut out, &[login, name, role, unit]);
    }
    save("staff.csv", out, staff.len())?;

    #[allow(clippy::type_complexity)]
    let specs: Vec<(String, String, String, i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT code, name, brand, price_class, wholesale_fen, retail_fen, order_multiple, orderable, scarce, is_new \
         FROM specs ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let mut out = b"\xef\xbb\xbf".to_vec();
    line(
        &mut out,
        &[
            "卷烟编码",
            "卷烟名称",
            "品牌",
            "价类",
            "批发价(元/条)",
            "零售价(元/条)",
            "订货倍数",
            "可订货",
            "紧俏",
            "新品",
        ],
    );
    let yes = |b: i64| if b == 1 { "是" } else { "否" };
    for s in &specs {
        line(
            &mut out,
            &[
                &s.0,
                &s.1,
                &s.2,
                &s.3.to_string(),
                &yuan(s.4),
                &yuan(s.5),
                &s.6.to_string(),
                yes(s.7),
                yes(s.8),
                yes(s.9),
            ],
        );
    }
    save("specs.csv", out, specs.len())?;

    #[allow(clippy::type_complexity)]
    let retailers: Vec<(String, String, String, String, String, String, String, i64, String, Option<String>, i64)> =
        sqlx::query_as(
            "SELECT r.licence_no, r.name, r.address, r.phone, c.label, u.login, o.name, r.order_weekday, r.status, \
             r.closed_on, r.online_replenishment FROM retailers r JOIN customer_classes c ON c.code = r.class_code \
             JOIN users u ON u.id = r.manager_id JOIN org_units o ON o.id = r.market_unit_id ORDER BY r.id",
        )
        .fetch_all(pool)
        .await?;
    let mut text = Vec::new();
    line(
        &mut text,
        &[
            "许可证号",
            "客户名称",
            "经营地址",
            "联系电话",
            "客户档位",
            "客户经理",
            "市场部",
            "订货日",
            "状态",
            "停业日期",
            "网上配货",
        ],
    );
    const DAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    for r in &retailers {
        let status = domain::masterdata::RetailerStatus::parse(&r.8)
            .map_or("正常", |s| s.label(domain::Lang::Zh));
        line(
            &mut text,
            &[
                &r.0,
                &r.1,
                &r.2,
                &r.3,
                &r.4,
                &r.5,
                &r.6,
                DAYS[(r.7.clamp(1, 7) - 1) as usize],
                status,
                r.9.as_deref().unwrap_or(""),
                yes(r.10),
            ],
        );
    }
    let text = String::from_utf8(text)?;
    let (gb, _, _) = encoding_rs::GB18030.encode(&text);
    save("retailers.csv", gb.into_owned(), retailers.len())?;

    let mut out = Vec::new();
    line(&mut out, &["许可证号", "卷烟编码", "月份", "订货量(条)"]);
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT r.licence_no, s.code, m.month, m.cartons FROM monthly_orders m \
         JOIN retailers r ON r.id = m.retailer_id JOIN specs s ON s.id = m.spec_id \
         ORDER BY m.month, r.licence_no, s.code",
    )
    .fetch_all(pool)
    .await?;
    for (licence, code, month, cartons) in &rows {
        // The months as Chinese exports often write them.
        let (y, m) = month.split_once('-').unwrap_or((month, ""));
        let month = format!("{y}年{}月", m.trim_start_matches('0'));
        line(&mut out, &[licence, code, &month, &cartons.to_string()]);
    }
    save("history.csv", out, rows.len())?;
    Ok(written)
}

/// Checks and applies one file through the import service as `login`,
/// as the page does; returns the applied job and the seconds of the check
/// and of the apply.
pub async fn import_file(
    state: &server::AppState,
    login: &str,
    kind: domain::masterdata::ImportKind,
    path: &Path,
) -> anyhow::Result<(domain::masterdata::ImportJob, f64, f64)> {
    use domain::masterdata::ImportState;
    use server::service::imports;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    let actor = server::store::users::by_login(&state.db.pool, login)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no account {login}"))?;
    let body = bytes::Bytes::from(std::fs::read(path)?);
    let slot = Arc::new(tokio::sync::Semaphore::new(2));
    let lang = domain::Lang::Zh;
    let wait = |id: i64| {
        let state = state.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let job = imports::job(&state, lang, id)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                if !job.state.running() {
                    return Ok::<_, anyhow::Error>(job);
                }
            }
        }
    };
    let started = Instant::now();
    let job = imports::start_check(
        state,
        (actor.id, actor.role),
        lang,
        kind,
        path.file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into()),
        None,
        body.clone(),
        slot.clone().try_acquire_owned()?,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let checked = wait(job.id).await?;
    let check_seconds = started.elapsed().as_secs_f64();
    if checked.state != ImportState::Checked {
        anyhow::bail!("{} was not checked: {:?}", path.display(), checked.error);
    }
    let started = Instant::now();
    imports::start_apply(
        state,
        (actor.id, actor.role),
        lang,
        job.id,
        false,
        body,
        slot.try_acquire_owned()?,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{} not applied: {e:?}", path.display()))?;
    let applied = wait(job.id).await?;
    if applied.state != ImportState::Applied {
        anyhow::bail!("{} was not applied: {:?}", path.display(), applied.error);
    }
    Ok((applied, check_seconds, started.elapsed().as_secs_f64()))
}

/// Loads the exported files in `dir` into the empty database behind
/// `state`: an administrator `admin_login` (made here) imports units and
/// staff, the marketing center account `center_login` (from the staff
/// file) the rest. Prints each file's figures.
pub async fn load_company(
    state: &server::AppState,
    dir: &Path,
    admin_login: &str,
    center_login: &str,
) -> anyhow::Result<Vec<(String, domain::masterdata::ImportJob, f64, f64)>> {
    use domain::masterdata::ImportKind;
    let mut out = Vec::new();
    for (kind, file) in FILES {
        let kind = ImportKind::parse(kind).ok_or_else(|| anyhow::anyhow!("kind {kind}"))?;
        let login = if kind.importers().contains(&domain::Role::Admin) {
            admin_login
        } else {
            center_login
        };
        let path = dir.join(file);
        let (job, check, apply) = import_file(state, login, kind, &path).await?;
        let preview = job.preview.clone().unwrap_or_default();
        println!(
            "{file:<14} {:>10} rows  check {:>6.2} s  apply {:>6.2} s  ({} added, {} changed, {} unchanged; {})",
            preview.rows,
            check,
            apply,
            job.result.map_or(0, |r| r.added),
            job.result.map_or(0, |r| r.changed),
            job.result.map_or(0, |r| r.unchanged),
            preview.encoding
        );
        out.push((file.to_string(), job, check, apply));
    }
    Ok(out)
}
