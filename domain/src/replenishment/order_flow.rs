//! Orders flowing on to the order and supply system (订单供货管理系统): the
//! order days with their counts, marking a day's locked orders exported,
//! and the delivery file loaded back, checked row by row against the
//! orders before anything is stored.
//!
//! A delivery file has a header row naming four columns, in any order:
//! 订货日期 (order date), 许可证号 (licence no), 品规编码 (spec code) and
//! 到货数量 (delivered cartons). Each row delivers one spec of one order:
//! the order must exist, its window must have closed, it must not be
//! cancelled, the spec must be in it and the delivered cartons may not
//! exceed the ordered ones. An order named in the file is delivered as a
//! whole: its lines the file does not name are delivered as 0.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{is_open, ReplenishmentPolicy};
use crate::masterdata::clean::{self, Damage};
use crate::month::YearMonth;
use crate::Lang;

/// One order day and where its orders stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderDay {
    pub date: NaiveDate,
    /// When the day's window closes or closed (China time).
    /// China time, without an offset: `YYYY-MM-DDTHH:MM:SS`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-12-01T17:00:00"))]
    pub cutoff: NaiveDateTime,
    /// The window is still open: orders can change; nothing can be exported.
    pub open: bool,
    /// Confirmed orders (not cancelled), and their cartons.
    pub confirmed: i64,
    pub cartons: i64,
    pub cancelled: i64,
    /// Confirmed orders marked exported.
    pub exported: i64,
    /// Confirmed orders whose delivery was loaded, and the cartons delivered.
    pub delivered: i64,
    pub delivered_cartons: i64,
}

impl OrderDay {
    /// Locked orders not yet marked exported.
    pub fn to_export(&self) -> i64 {
        if self.open {
            0
        } else {
            self.confirmed - self.exported
        }
    }
}

/// The order days of the last weeks and the coming ones, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderDays {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<OrderDay>,
}

/// What marking a day exported did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkedExported {
    pub date: NaiveDate,
    /// Orders marked now (0 when they were all marked before).
    pub marked: i64,
}

/// What a delivery file stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveriesLoaded {
    /// Rows of the file (lines delivered).
    pub rows: i64,
    /// Orders delivered.
    pub orders: i64,
    pub cartons: i64,
    /// Lines of those orders the file did not name, delivered as 0.
    pub missing_lines: i64,
}

/// Make a month's delivered orders its actual orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActualsFromOrdersRequest {
    /// `YYYY-MM`, not in the future.
    pub month: String,
}

/// What standing delivered orders as actual orders stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActualsFromOrders {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub month: YearMonth,
    /// Delivered orders summed.
    pub orders: i64,
    /// Retailer × spec rows written.
    pub rows: i64,
    pub cartons: i64,
}

/// A column of the delivery file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryColumn {
    OrderDate,
    Licence,
    SpecCode,
    Delivered,
}

impl DeliveryColumn {
    pub const ALL: [DeliveryColumn; 4] = [
        DeliveryColumn::OrderDate,
        DeliveryColumn::Licence,
        DeliveryColumn::SpecCode,
        DeliveryColumn::Delivered,
    ];

    /// The header the file is documented with.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            DeliveryColumn::OrderDate => lang.pick("订货日期", "Order date"),
            DeliveryColumn::Licence => lang.pick("许可证号", "Licence no"),
            DeliveryColumn::SpecCode => lang.pick("品规编码", "Spec code"),
            DeliveryColumn::Delivered => lang.pick("到货数量", "Delivered"),
        }
    }

    /// Headers read as this column (compared after [`clean::header`],
    /// English in lower case).
    fn names(self) -> &'static [&'static str] {
        match self {
            DeliveryColumn::OrderDate => &["订货日期", "订单日期", "orderdate", "date"],
            DeliveryColumn::Licence => &[
                "许可证号",
                "许可证",
                "专卖许可证号",
                "licenceno",
                "licenseno",
                "licence",
                "license",
            ],
            DeliveryColumn::SpecCode => &["品规编码", "卷烟编码", "speccode", "spec"],
            DeliveryColumn::Delivered => &[
                "到货数量",
                "到货量",
                "到货",
                "delivered",
                "deliveredcartons",
                "cartonsdelivered",
            ],
        }
    }
}

/// Where each column is in the file's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryColumns {
    pub order_date: usize,
    pub licence: usize,
    pub spec_code: usize,
    pub delivered: usize,
}

/// Reads the header row; `Err` lists the columns it lacks.
pub fn delivery_columns(cells: &[&str]) -> Result<DeliveryColumns, Vec<DeliveryColumn>> {
    let names: Vec<String> = cells
        .iter()
        .map(|c| clean::header(c).to_lowercase())
        .collect();
    let find = |col: DeliveryColumn| names.iter().position(|n| col.names().contains(&n.as_str()));
    let found: Vec<Option<usize>> = DeliveryColumn::ALL.iter().map(|&c| find(c)).collect();
    match found.as_slice() {
        [Some(order_date), Some(licence), Some(spec_code), Some(delivered)] => {
            Ok(DeliveryColumns {
                order_date: *order_date,
                licence: *licence,
                spec_code: *spec_code,
                delivered: *delivered,
            })
        }
        _ => Err(DeliveryColumn::ALL
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(c, _)| *c)
            .collect()),
    }
}

/// A data row of a delivery file, its four cells as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// 1-based line in the file.
    pub line: u64,
    pub order_date: String,
    pub licence: String,
    pub spec_code: String,
    pub delivered: String,
}

impl DeliveryRow {
    /// The row's cells by the header's columns.
    pub fn of(line: u64, cells: &[&str], columns: &DeliveryColumns) -> DeliveryRow {
        let cell = |i: usize| cells.get(i).map_or(String::new(), |c| c.to_string());
        DeliveryRow {
            line,
            order_date: cell(columns.order_date),
            licence: cell(columns.licence),
            spec_code: cell(columns.spec_code),
            delivered: cell(columns.delivered),
        }
    }
}

/// A row read: the order it names and the cartons delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadDelivery {
    pub line: u64,
    pub order_date: NaiveDate,
    pub retailer_id: i64,
    pub spec_id: i64,
    pub delivered: i64,
}

/// An order as the check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderToDeliver {
    pub order_id: i64,
    pub cancelled: bool,
    /// Ordered cartons per spec.
    pub lines: HashMap<i64, i64>,
}

/// A line to store: cartons delivered of one spec of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub order_id: i64,
    pub spec_id: i64,
    pub delivered: i64,
}

/// The most cartons one line can be delivered (a sanity bound).
pub const MAX_DELIVERED: i64 = 1_000_000;

/// Why a row of a delivery file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    MissingColumns(Vec<DeliveryColumn>),
    NoRows,
    Date(Damage),
    Licence(Damage),
    SpecCode(Damage),
    Delivered(Damage),
    UnknownLicence(String),
    UnknownSpec(String),
    Repeated(u64),
    /// No order of that retailer on that day.
    NoOrder,
    Cancelled,
    /// The window of the order day has not closed: the order may still change.
    WindowOpen,
    NotInOrder,
    AboveOrdered(i64),
}

impl DeliveryError {
    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let pick = |a: String, b: String| if zh { a } else { b };
        match self {
            DeliveryError::MissingColumns(cols) => {
                let names = |l| {
                    cols.iter()
                        .map(|c| c.label(l))
                        .collect::<Vec<_>>()
                        .join(if l == Lang::Zh { "、" } else { ", " })
                };
                pick(
                    format!(
                        "第一行须为标题行，缺少列：{}（须有 订货日期、许可证号、品规编码、到货数量）",
                        names(Lang::Zh)
                    ),
                    format!(
                        "The first row must name the columns; missing: {} (order date, licence no, spec code, delivered)",
                        names(Lang::En)
                    ),
                )
            }
            DeliveryError::NoRows => pick(
                "文件中没有数据行，未导入".into(),
                "The file has no data rows; nothing was loaded".into(),
            ),
            DeliveryError::Date(d) => pick(
                format!("订货日期：{}", d.message(lang)),
                format!("Order date: {}", d.message(lang)),
            ),
            DeliveryError::Licence(d) => pick(
                format!("许可证号：{}", d.message(lang)),
                format!("Licence no: {}", d.message(lang)),
            ),
            DeliveryError::SpecCode(d) => pick(
                format!("品规编码：{}", d.message(lang)),
                format!("Spec code: {}", d.message(lang)),
            ),
            DeliveryError::Delivered(d) => pick(
                format!("到货数量：{}", d.message(lang)),
                format!("Delivered: {}", d.message(lang)),
            ),
            DeliveryError::UnknownLicence(l) => pick(
                format!("许可证号 {l} 不存在"),
                format!("No retailer has licence {l}"),
            ),
            DeliveryError::UnknownSpec(c) => pick(
                format!("品规编码 {c} 不存在"),
                format!("No spec has code {c}"),
            ),
            DeliveryError::Repeated(line) => pick(
                format!("与第 {line} 行重复"),
                format!("Repeats line {line}"),
            ),
            DeliveryError::NoOrder => pick(
                "该零售户在该订货日没有订单".into(),
                "The retailer has no order on that order day".into(),
            ),
            DeliveryError::Cancelled => pick(
                "该订单已取消，不能登记到货".into(),
                "The order was cancelled; nothing can be delivered".into(),
            ),
            DeliveryError::WindowOpen => pick(
                "该订货日尚未截止，订单还可能修改，不能登记到货".into(),
                "The order day's window is still open (the order may change); deliveries cannot be loaded yet".into(),
            ),
            DeliveryError::NotInOrder => pick(
                "订单中没有该品规".into(),
                "The order does not hold this spec".into(),
            ),
            DeliveryError::AboveOrdered(ordered) => pick(
                format!("到货数量不能超过订货量 {ordered} 条"),
                format!("Cannot exceed the {ordered} cartons ordered"),
            ),
        }
    }
}

/// Reads the data rows against the known licences and spec codes: every
/// row is read, and every error comes back with its line.
#[allow(clippy::type_complexity)]
pub fn read_deliveries(
    rows: &[DeliveryRow],
    licences: &HashMap<String, i64>,
    specs: &HashMap<String, i64>,
) -> (Vec<ReadDelivery>, Vec<(u64, DeliveryError)>) {
    let mut out = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    // A code is looked up as written (trimmed), then as repaired.
    let lookup = |map: &HashMap<String, i64>, raw: &str| -> Result<Option<i64>, Damage> {
        if let Some(&id) = map.get(raw.trim()) {
            return Ok(Some(id));
        }
        let code = clean::code(raw)?;
        Ok(map.get(&code).copied())
    };
    for row in rows {
        let date = clean::date(&row.order_date).map_err(DeliveryError::Date);
        let retailer = match lookup(licences, &row.licence) {
            Ok(Some(id)) => Ok(id),
            Ok(None) => Err(DeliveryError::UnknownLicence(clean::text(&row.licence))),
            Err(d) => Err(DeliveryError::Licence(d)),
        };
        let spec = match lookup(specs, &row.spec_code) {
            Ok(Some(id)) => Ok(id),
            Ok(None) => Err(DeliveryError::UnknownSpec(clean::text(&row.spec_code))),
            Err(d) => Err(DeliveryError::SpecCode(d)),
        };
        let delivered =
            clean::whole(&row.delivered, MAX_DELIVERED).map_err(DeliveryError::Delivered);
        match (date, retailer, spec, delivered) {
            (Ok(order_date), Ok(retailer_id), Ok(spec_id), Ok(delivered)) => {
                out.push(ReadDelivery {
                    line: row.line,
                    order_date,
                    retailer_id,
                    spec_id,
                    delivered,
                })
            }
            (date, retailer, spec, delivered) => {
                let first = [date.err(), retailer.err(), spec.err(), delivered.err()]
                    .into_iter()
                    .flatten()
                    .next();
                if let Some(e) = first {
                    errors.push((row.line, e));
                }
            }
        }
    }
    (out, errors)
}

/// Checks rows read against the orders they name (by retailer and order
/// day) at `now` (China time): returns the lines to store, or every error
/// with its line.
pub fn check_deliveries(
    rows: &[ReadDelivery],
    orders: &HashMap<(i64, NaiveDate), OrderToDeliver>,
    now: NaiveDateTime,
    policy: &ReplenishmentPolicy,
) -> Result<Vec<Delivered>, Vec<(u64, DeliveryError)>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    let mut seen: HashMap<(i64, NaiveDate, i64), u64> = HashMap::new();
    for row in rows {
        let key = (row.retailer_id, row.order_date, row.spec_id);
        if let Some(&first) = seen.get(&key) {
            errors.push((row.line, DeliveryError::Repeated(first)));
            continue;
        }
        seen.insert(key, row.line);
        let Some(order) = orders.get(&(row.retailer_id, row.order_date)) else {
            errors.push((row.line, DeliveryError::NoOrder));
            continue;
        };
        let error = if is_open(row.order_date, now, policy) {
            Some(DeliveryError::WindowOpen)
        } else if order.cancelled {
            Some(DeliveryError::Cancelled)
        } else {
            match order.lines.get(&row.spec_id) {
                None => Some(DeliveryError::NotInOrder),
                Some(&ordered) if row.delivered > ordered => {
                    Some(DeliveryError::AboveOrdered(ordered))
                }
                Some(_) => None,
            }
        };
        match error {
            Some(e) => errors.push((row.line, e)),
            None => out.push(Delivered {
                order_id: order.order_id,
                spec_id: row.spec_id,
                delivered: row.delivered,
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn row(line: u64, date: &str, licence: &str, spec: &str, delivered: &str) -> DeliveryRow {
        DeliveryRow {
            line,
            order_date: date.into(),
            licence: licence.into(),
            spec_code: spec.into(),
            delivered: delivered.into(),
        }
    }

    #[test]
    fn the_header_names_the_columns_in_any_order_in_chinese_or_english() {
        assert_eq!(
            delivery_columns(&["许可证号", "订货日期", "到货数量（条）", "品规编码"]),
            Ok(DeliveryColumns {
                order_date: 1,
                licence: 0,
                spec_code: 3,
                delivered: 2
            })
        );
        assert_eq!(
            delivery_columns(&["Order date", "Licence no", "Spec code", "Delivered"]),
            Ok(DeliveryColumns {
                order_date: 0,
                licence: 1,
                spec_code: 2,
                delivered: 3
            })
        );
        assert_eq!(
            delivery_columns(&["2026-12-02", "421103000001", "S1", "5"]),
            Err(DeliveryColumn::ALL.to_vec())
        );
        assert_eq!(
            delivery_columns(&["订货日期", "许可证号", "品规编码"]),
            Err(vec![DeliveryColumn::Delivered])
        );
    }

    #[test]
    fn rows_are_read_with_every_error_on_its_line() {
        let licences = HashMap::from([("421103000001".to_string(), 1)]);
        let specs = HashMap::from([("S1".to_string(), 10)]);
        let (read, errors) = read_deliveries(
            &[
                row(2, "2026/12/2", " 421103000001 ", "S1", "5"),
                row(3, "2026-12-02", "421103000009", "S1", "5"),
                row(4, "yesterday", "421103000001", "S1", "5"),
                row(5, "2026-12-02", "421103000001", "S9", "5"),
                row(6, "2026-12-02", "421103000001", "S1", "2.5"),
                row(7, "46358", "421103000001.0", "s1", "1"),
            ],
            &licences,
            &specs,
        );
        assert_eq!(
            read,
            vec![
                ReadDelivery {
                    line: 2,
                    order_date: d(2026, 12, 2),
                    retailer_id: 1,
                    spec_id: 10,
                    delivered: 5
                },
                ReadDelivery {
                    line: 7,
                    order_date: d(2026, 12, 2),
                    retailer_id: 1,
                    spec_id: 10,
                    delivered: 1
                },
            ],
            "an Excel date serial and a licence stored as a number are repaired"
        );
        assert_eq!(
            errors,
            vec![
                (3, DeliveryError::UnknownLicence("421103000009".into())),
                (4, DeliveryError::Date(Damage::NotADate)),
                (5, DeliveryError::UnknownSpec("S9".into())),
                (6, DeliveryError::Delivered(Damage::NotWhole)),
            ]
        );
        assert_eq!(
            errors[0].1.message(Lang::Zh),
            "许可证号 421103000009 不存在"
        );
    }

    #[test]
    fn deliveries_are_checked_against_locked_orders() {
        let policy = ReplenishmentPolicy::default();
        let day = d(2026, 12, 2);
        // Tuesday 17:00: Wednesday's window has just closed.
        let now = d(2026, 12, 1).and_hms_opt(17, 0, 0).expect("time");
        let orders = HashMap::from([
            (
                (1, day),
                OrderToDeliver {
                    order_id: 100,
                    cancelled: false,
                    lines: HashMap::from([(10, 5), (11, 2)]),
                },
            ),
            (
                (2, day),
                OrderToDeliver {
                    order_id: 200,
                    cancelled: true,
                    lines: HashMap::from([(10, 5)]),
                },
            ),
        ]);
        let read = |line, retailer_id, spec_id, delivered| ReadDelivery {
            line,
            order_date: day,
            retailer_id,
            spec_id,
            delivered,
        };
        assert_eq!(
            check_deliveries(
                &[read(2, 1, 10, 5), read(3, 1, 11, 0)],
                &orders,
                now,
                &policy
            ),
            Ok(vec![
                Delivered {
                    order_id: 100,
                    spec_id: 10,
                    delivered: 5
                },
                Delivered {
                    order_id: 100,
                    spec_id: 11,
                    delivered: 0
                },
            ])
        );
        let errors = check_deliveries(
            &[
                read(2, 1, 10, 6),
                read(3, 1, 12, 1),
                read(4, 2, 10, 1),
                read(5, 3, 10, 1),
                read(6, 1, 11, 1),
                read(7, 1, 11, 1),
            ],
            &orders,
            now,
            &policy,
        )
        .expect_err("refused");
        assert_eq!(
            errors,
            vec![
                (2, DeliveryError::AboveOrdered(5)),
                (3, DeliveryError::NotInOrder),
                (4, DeliveryError::Cancelled),
                (5, DeliveryError::NoOrder),
                (7, DeliveryError::Repeated(6)),
            ]
        );
        let before = d(2026, 12, 1).and_hms_opt(16, 59, 0).expect("time");
        assert_eq!(
            check_deliveries(&[read(2, 1, 10, 5)], &orders, before, &policy),
            Err(vec![(2, DeliveryError::WindowOpen)])
        );
    }

    #[test]
    fn only_closed_days_have_orders_to_export() {
        let day = OrderDay {
            date: d(2026, 12, 2),
            cutoff: d(2026, 12, 1).and_hms_opt(17, 0, 0).expect("time"),
            open: false,
            confirmed: 5,
            cartons: 50,
            cancelled: 1,
            exported: 2,
            delivered: 0,
            delivered_cartons: 0,
        };
        assert_eq!(day.to_export(), 3);
        assert_eq!(
            OrderDay {
                open: true,
                ..day.clone()
            }
            .to_export(),
            0
        );
    }
}
