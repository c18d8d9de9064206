//! Orders flowing on to the order and supply system (订单供货管理系统), the
//! marketing center's: the order days and where their orders stand, the
//! export of a day's locked orders and marking them exported, the delivery
//! file loaded back, a month's delivered orders standing as its actual
//! orders, and the fill rate report.
//!
//! A day's orders are locked once its window has closed
//! (`domain::replenishment::is_open` at the server's China time, under the
//! policy's cutoff): only then are they exported or delivered. Each write
//! is one transaction with its audit row.

use std::collections::BTreeSet;

use axum::body::Bytes;
use chrono::{Datelike, Days, NaiveDate};
use domain::month::YearMonth;
use domain::replenishment::fill_rate::{self, Demand, FillRateReport};
use domain::replenishment::order_flow::{
    check_deliveries, delivery_columns, read_deliveries, ActualsFromOrders, DeliveriesLoaded,
    DeliveryColumns, DeliveryError, DeliveryRow, MarkedExported, OrderDay, OrderDays,
};
use domain::replenishment::{cutoff_at, is_open};
use domain::Lang;
use serde_json::json;

use crate::clock::{now_china, today};
use crate::db::now_unix;
use crate::error::{ApiError, ApiResult};
use crate::store::order_flow::{self as store, ExportLine};
use crate::store::replenishment as repl;
use crate::store::{audit, summary};
use crate::untrusted::table;
use crate::untrusted::{self, Refusal};
use crate::xlsx::{Cell, Table};
use crate::AppState;

/// Weeks of past order days listed.
const PAST_WEEKS: u64 = 8;
/// Weeks of coming order days listed.
const COMING_WEEKS: u64 = 2;
/// Data rows a delivery file may hold (a city's order day is some 90,000).
pub const MAX_DELIVERY_ROWS: u64 = 300_000;
/// Order days one delivery file may cover.
pub const MAX_DELIVERY_DAYS: usize = 31;

fn field(field: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::invalid_fields(message.clone(), vec![(field.to_string(), message)])
}

fn window_open(date: NaiveDate, lang: Lang) -> ApiError {
    ApiError::conflict(match lang {
        Lang::Zh => format!("{date} 的订货窗口尚未截止，订单还可能修改，截止后才能导出"),
        Lang::En => format!(
            "The order window of {date} is still open and its orders may change; export after the cutoff"
        ),
    })
}

/// The order days of the last [`PAST_WEEKS`] weeks and the coming
/// [`COMING_WEEKS`], newest first: each day with orders, and each coming
/// order weekday of a retailer ordering online.
pub async fn order_days(state: &AppState) -> ApiResult<OrderDays> {
    let pool = &state.db.pool;
    let (today, now) = (today(), now_china());
    let from = today
        .checked_sub_days(Days::new(PAST_WEEKS * 7))
        .unwrap_or(today);
    let to = today
        .checked_add_days(Days::new(COMING_WEEKS * 7))
        .unwrap_or(today);
    let policy = repl::policy(pool).await?;
    let mut counts = store::day_counts(pool, from, to).await?;
    let weekdays = store::order_weekdays(pool).await?;
    let mut dates: BTreeSet<NaiveDate> = counts.keys().copied().collect();
    for date in today.iter_days().take_while(|d| *d <= to) {
        let weekday = date.weekday().number_from_monday() as u8;
        if weekdays.contains(&weekday) {
            dates.insert(date);
        }
    }
    let days = dates
        .into_iter()
        .rev()
        .map(|date| {
            let c = counts.remove(&date).unwrap_or_default();
            OrderDay {
                date,
                cutoff: cutoff_at(date, &policy),
                // A day handed over stays closed, whatever the cutoff says.
                open: is_open(date, now, &policy) && c.exported == 0,
                confirmed: c.confirmed,
                cartons: c.cartons,
                cancelled: c.cancelled,
                exported: c.exported,
                delivered: c.delivered,
                delivered_cartons: c.delivered_cartons,
            }
        })
        .collect();
    Ok(OrderDays { from, to, days })
}

/// The lines of the locked orders of `date`; 409 while its window is open.
/// A pure read: exporting marks nothing (see [`mark_exported`]).
pub async fn export_lines(
    state: &AppState,
    date: NaiveDate,
    lang: Lang,
) -> ApiResult<Vec<ExportLine>> {
    let pool = &state.db.pool;
    let policy = repl::policy(pool).await?;
    if is_open(date, now_china(), &policy) && !repl::day_handed_over(pool, date).await? {
        return Err(window_open(date, lang));
    }
    Ok(store::export_lines(pool, date).await?)
}

/// The export's columns, as documented in the README.
fn export_headers(lang: Lang) -> Vec<String> {
    [
        ("订货日期", "Order date"),
        ("订单号", "Order id"),
        ("许可证号", "Licence no"),
        ("零售户", "Retailer"),
        ("档位", "Class"),
        ("品规编码", "Spec code"),
        ("品规名称", "Spec name"),
        ("订货量（条）", "Cartons"),
        ("批发价（元/条）", "Wholesale price (yuan/carton)"),
        ("金额（元）", "Amount (yuan)"),
        ("导出时间", "Exported at"),
    ]
    .iter()
    .map(|(zh, en)| lang.pick(zh, en).to_string())
    .collect()
}

fn exported_text(at: Option<i64>) -> String {
    at.map(domain::audit::china_time_text).unwrap_or_default()
}

/// The export as one worksheet, numbers as numbers.
pub fn export_table(date: NaiveDate, lines: &[ExportLine], lang: Lang) -> Table {
    Table {
        name: format!("{}{date}", lang.pick("订单", "Orders ")),
        headers: export_headers(lang),
        rows: lines
            .iter()
            .map(|l| {
                vec![
                    Cell::Text(l.order_date.clone()),
                    Cell::Number(l.order_id as f64),
                    Cell::Text(l.licence_no.clone()),
                    Cell::Text(l.retailer_name.clone()),
                    Cell::Text(l.class_label.clone()),
                    Cell::Text(l.spec_code.clone()),
                    Cell::Text(l.spec_name.clone()),
                    Cell::Number(l.cartons as f64),
                    Cell::Number(l.wholesale_fen as f64 / 100.0),
                    Cell::Number((l.cartons * l.wholesale_fen) as f64 / 100.0),
                    Cell::Text(exported_text(l.exported_at)),
                ]
            })
            .collect(),
    }
}

/// The export as CSV text: UTF-8 with a BOM (Excel on a Chinese Windows
/// reads a file without one as GBK), a header row, then the lines.
pub fn export_csv(lines: &[ExportLine], lang: Lang) -> ApiResult<Vec<u8>> {
    let rows = lines.iter().map(|l| {
        [
            l.order_date.clone(),
            l.order_id.to_string(),
            l.licence_no.clone(),
            l.retailer_name.clone(),
            l.class_label.clone(),
            l.spec_code.clone(),
            l.spec_name.clone(),
            l.cartons.to_string(),
            domain::quantity::Fen(l.wholesale_fen).yuan_string(),
            domain::quantity::Fen(l.cartons * l.wholesale_fen).yuan_string(),
            exported_text(l.exported_at),
        ]
    });
    crate::csv_text::file(&export_headers(lang), rows).map_err(ApiError::Internal)
}

/// Marks the locked orders of `date` not yet exported as exported; 409
/// while the window is open. Calls at once never mark an order twice.
pub async fn mark_exported(
    state: &AppState,
    actor: i64,
    date: NaiveDate,
    lang: Lang,
) -> ApiResult<MarkedExported> {
    let policy = repl::policy(&state.db.pool).await?;
    if is_open(date, now_china(), &policy) && !repl::day_handed_over(&state.db.pool, date).await? {
        return Err(window_open(date, lang));
    }
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let marked = store::mark_exported(&mut tx, date, actor, now_unix()).await?;
    let marked = i64::try_from(marked).unwrap_or(i64::MAX);
    if marked > 0 {
        audit::record(
            &mut tx,
            Some(actor),
            "replenishment.orders.exported",
            "order_day",
            &date.to_string(),
            &json!({ "marked": marked }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(MarkedExported { date, marked })
}

/// What the parse of a delivery file found.
enum DeliveryFile {
    NotReadable,
    /// The first row is not a header: its line and the columns it lacks.
    NoHeader(u64, DeliveryError),
    Rows(Vec<DeliveryRow>),
}

/// Reads a delivery file (xlsx, or CSV in UTF-8 with or without BOM or
/// GB18030) on a parse slot, within the hardened reader's limits and
/// [`MAX_DELIVERY_ROWS`].
async fn read_file(body: Bytes, lang: Lang) -> ApiResult<DeliveryFile> {
    untrusted::off_the_runtime(lang, move |budget| {
        let Some(table) = table::read(&body, budget)? else {
            return Ok(DeliveryFile::NotReadable);
        };
        let limit = u32::try_from(MAX_DELIVERY_ROWS).unwrap_or(u32::MAX);
        if table.estimated_rows() > MAX_DELIVERY_ROWS + 1 {
            return Err(Refusal::TooManyLines(limit));
        }
        let mut header: Option<Result<DeliveryColumns, (u64, DeliveryError)>> = None;
        let mut rows = Vec::new();
        let mut too_many = false;
        table.each(budget, |line, cells| match &header {
            None => {
                header = Some(
                    delivery_columns(cells)
                        .map_err(|missing| (line, DeliveryError::MissingColumns(missing))),
                )
            }
            Some(Ok(columns)) if (rows.len() as u64) < MAX_DELIVERY_ROWS => {
                rows.push(DeliveryRow::of(line, cells, columns))
            }
            Some(Ok(_)) => too_many = true,
            Some(Err(_)) => {}
        })?;
        if too_many {
            return Err(Refusal::TooManyLines(limit));
        }
        Ok(match header {
            None => DeliveryFile::Rows(Vec::new()),
            Some(Err((line, error))) => DeliveryFile::NoHeader(line, error),
            Some(Ok(_)) => DeliveryFile::Rows(rows),
        })
    })
    .await
}

fn row_errors(errors: Vec<(u64, DeliveryError)>, lang: Lang) -> ApiError {
    let count = errors.len();
    ApiError::invalid_fields(
        match lang {
            Lang::Zh => format!("文件有 {count} 行有误，未导入任何数据"),
            Lang::En => format!("{count} rows are not valid; nothing was loaded"),
        },
        errors
            .into_iter()
            .map(|(line, e)| (format!("rows.{line}"), e.message(lang))),
    )
}

/// Loads the delivered quantities of a file from the order and supply
/// system. Every row is checked first (see `domain::replenishment::
/// order_flow`); with any error nothing is stored and each error names its
/// line (`rows.{line}`). Orders named in the file are delivered whole:
/// their lines the file leaves out are delivered as 0. Loading the same
/// file again stores the same values.
pub async fn load_deliveries(
    state: &AppState,
    actor: i64,
    body: Bytes,
    lang: Lang,
) -> ApiResult<DeliveriesLoaded> {
    if body.is_empty() {
        return Err(field(
            "file",
            lang.pick("请选择到货文件", "Choose a delivery file"),
        ));
    }
    let rows = match read_file(body, lang).await? {
        DeliveryFile::NotReadable => {
            return Err(field(
                "file",
                lang.pick(
                    "无法读取该文件：请上传 xlsx 或 CSV（UTF-8 或 GB18030 编码）",
                    "The file cannot be read: upload xlsx or CSV (UTF-8 or GB18030)",
                ),
            ))
        }
        DeliveryFile::NoHeader(line, error) => return Err(row_errors(vec![(line, error)], lang)),
        DeliveryFile::Rows(rows) if rows.is_empty() => {
            return Err(field("file", DeliveryError::NoRows.message(lang)))
        }
        DeliveryFile::Rows(rows) => rows,
    };
    let pool = &state.db.pool;
    let (licences, specs) = summary::import_keys(pool).await?;
    // Up to 300,000 rows of dates, codes and numbers: off the async threads.
    let (read, mut errors) =
        tokio::task::spawn_blocking(move || read_deliveries(&rows, &licences, &specs))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
    let dates: Vec<NaiveDate> = read
        .iter()
        .map(|r| r.order_date)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if dates.len() > MAX_DELIVERY_DAYS {
        return Err(field(
            "file",
            match lang {
                Lang::Zh => format!("一个文件最多含 {MAX_DELIVERY_DAYS} 个订货日，请分开导入"),
                Lang::En => format!(
                    "A file may cover at most {MAX_DELIVERY_DAYS} order days; load them in parts"
                ),
            },
        ));
    }
    let orders = store::orders_to_deliver(pool, &dates).await?;
    let policy = repl::policy(pool).await?;
    let lines = match check_deliveries(&read, &orders, now_china(), &policy) {
        Ok(lines) if errors.is_empty() => lines,
        Ok(_) => return Err(row_errors(errors, lang)),
        Err(more) => {
            errors.extend(more);
            errors.sort_by_key(|(line, _)| *line);
            return Err(row_errors(errors, lang));
        }
    };
    let delivered: BTreeSet<i64> = lines.iter().map(|l| l.order_id).collect();
    let order_ids: Vec<i64> = delivered.iter().copied().collect();
    let order_lines: usize = orders
        .values()
        .filter(|o| delivered.contains(&o.order_id))
        .map(|o| o.lines.len())
        .sum();
    let report = DeliveriesLoaded {
        rows: lines.len() as i64,
        orders: order_ids.len() as i64,
        cartons: lines.iter().map(|l| l.delivered).sum(),
        missing_lines: order_lines.saturating_sub(lines.len()) as i64,
    };
    let mut conn = pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    store::store_deliveries(&mut tx, &order_ids, &lines, now_unix()).await?;
    let days: Vec<String> = dates.iter().map(NaiveDate::to_string).collect();
    audit::record_and_commit(
        tx,
        Some(actor),
        "replenishment.deliveries.load",
        "order_day",
        &days.join(","),
        &json!({
            "rows": report.rows,
            "orders": report.orders,
            "cartons": report.cartons,
            "missing_lines": report.missing_lines,
        }),
    )
    .await?;
    Ok(report)
}

/// Where the company orders through the product: the delivered orders of
/// `month` (by order date) summed per retailer × spec replace the month's
/// actual orders, written by the same store function as a loaded
/// actual-orders file, so accuracy, the dashboard and the analysis
/// summaries follow as after an upload. 422 for a malformed or future
/// month, or a month without delivered cartons.
pub async fn actuals_from_orders(
    state: &AppState,
    actor: i64,
    month: &str,
    lang: Lang,
) -> ApiResult<ActualsFromOrders> {
    let month: YearMonth = month.trim().parse().map_err(|_| {
        field(
            "month",
            lang.pick("月份格式为 YYYY-MM", "Months are written YYYY-MM"),
        )
    })?;
    if month > YearMonth::of_date(today()) {
        return Err(field(
            "month",
            lang.pick("不能选择未来的月份", "The month cannot be in the future"),
        ));
    }
    let mut conn = state.db.pool.acquire().await?;
    let mut tx = state.db.begin(&mut conn).await?;
    let (orders, rows) = store::delivered_in_month(&mut tx, month).await?;
    let cartons: i64 = rows.iter().map(|r| r.2).sum();
    if orders == 0 || cartons == 0 {
        return Err(field(
            "month",
            match lang {
                Lang::Zh => format!("{month} 没有已到货的订单，实际订货未改变"),
                Lang::En => {
                    format!("{month} has no delivered orders; its actual orders are unchanged")
                }
            },
        ));
    }
    summary::replace_actuals(&mut tx, month, &rows).await?;
    let report = ActualsFromOrders {
        month,
        orders,
        rows: rows.len() as i64,
        cartons,
    };
    audit::record_and_commit(
        tx,
        Some(actor),
        "forecast.actuals.from_orders",
        "monthly_orders",
        &month.to_string(),
        &json!({ "orders": orders, "rows": report.rows, "cartons": cartons }),
    )
    .await?;
    // The month closed: the stored baselines are computed again.
    state
        .baselines
        .request_after(domain::forecast::stored::RunSource::Actuals, Some(actor))
        .await;
    Ok(report)
}

/// The fill rate of the confirmed orders of a period (default: the last 8
/// weeks; at most 366 days): by spec × class, largest cut first, and by
/// week. Two grouped queries.
pub async fn fill_rate(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
    lang: Lang,
) -> ApiResult<FillRateReport> {
    let (from, to) =
        fill_rate::period(from, to, today()).map_err(|e| field(e.field(), e.message(lang)))?;
    let _turn = crate::service::reach::report_turn(state, lang).await?;
    let pool = &state.db.pool;
    let mut by_spec_class = store::fill_by_spec_class(pool, from, to).await?;
    fill_rate::sort_by_cut(&mut by_spec_class);
    let mut total = Demand::default();
    for row in &by_spec_class {
        total.add(row.demand);
    }
    let days = store::fill_by_day(pool, from, to).await?;
    Ok(FillRateReport {
        from,
        to,
        total,
        by_spec_class,
        by_week: fill_rate::by_week(&days, from, to),
    })
}

fn ratio(value: Option<f64>) -> Cell {
    value.map_or(Cell::Empty, Cell::Percent)
}

/// The fill rate report as worksheets: by spec × class, and by week.
pub fn fill_rate_tables(report: &FillRateReport, lang: Lang) -> Vec<Table> {
    let demand_headers = [
        ("需求（条）", "Wanted (cartons)"),
        ("限量允许（条）", "Allowed (cartons)"),
        ("订货（条）", "Ordered (cartons)"),
        ("被截减（条）", "Cut (cartons)"),
        ("满足率", "Fill rate"),
    ];
    let demand_cells = |d: &Demand| {
        vec![
            Cell::Number(d.wanted as f64),
            Cell::Number(d.allowed as f64),
            Cell::Number(d.ordered as f64),
            Cell::Number(d.cut() as f64),
            ratio(d.fill_rate()),
        ]
    };
    let headers = |first: &[(&'static str, &'static str)],
                   last: &[(&'static str, &'static str)]| {
        first
            .iter()
            .chain(demand_headers.iter())
            .chain(last.iter())
            .map(|(zh, en)| lang.pick(zh, en).to_string())
            .collect::<Vec<_>>()
    };
    let by_spec = Table {
        name: lang.pick("品规×档位", "Spec x class").to_string(),
        headers: headers(
            &[
                ("品规编码", "Spec code"),
                ("品规", "Spec"),
                ("档位", "Class"),
            ],
            &[("被截减零售户", "Retailers cut")],
        ),
        rows: report
            .by_spec_class
            .iter()
            .map(|r| {
                let mut row = vec![
                    Cell::Text(r.spec_code.clone()),
                    Cell::Text(r.spec_name.clone()),
                    Cell::Text(r.class_label.clone()),
                ];
                row.extend(demand_cells(&r.demand));
                row.push(Cell::Number(r.retailers_cut as f64));
                row
            })
            .collect(),
    };
    let by_week = Table {
        name: lang.pick("按周", "By week").to_string(),
        headers: headers(&[("周（周一）", "Week (Monday)")], &[]),
        rows: report
            .by_week
            .iter()
            .map(|w| {
                let mut row = vec![Cell::Text(w.week.to_string())];
                row.extend(demand_cells(&w.demand));
                row
            })
            .collect(),
    };
    vec![by_spec, by_week]
}
