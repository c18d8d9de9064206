//! The master-data records as the pages list and edit them, and the checks
//! of their edit forms (the server enforces the same functions).

use serde::{Deserialize, Serialize};

use super::RetailerStatus;
use crate::Lang;

/// A retailer as the master-data page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetailerRecord {
    pub id: i64,
    pub licence_no: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub class_code: String,
    pub class_label: String,
    pub manager_id: i64,
    pub manager_name: String,
    pub market_unit_id: i64,
    pub market_unit: String,
    /// 1 (Monday) to 7.
    pub order_weekday: u8,
    pub status: RetailerStatus,
    /// `YYYY-MM-DD` when closed.
    pub closed_on: Option<String>,
    pub online: bool,
    /// For compare-and-set edits.
    pub version: i64,
}

/// A page of retailers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetailerPage {
    pub rows: Vec<RetailerRecord>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

pub const RETAILER_PAGE_SIZE: i64 = 50;

/// An edit of one retailer: the fields given change, from `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetailerEdit {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub class_code: Option<String>,
    #[serde(default)]
    pub order_weekday: Option<u8>,
    #[serde(default)]
    pub status: Option<RetailerStatus>,
    /// Required with status `closed`.
    #[serde(default)]
    pub closed_on: Option<String>,
}

/// Field errors of a retailer edit, as (field, message).
pub fn check_retailer_edit(
    edit: &RetailerEdit,
    today: chrono::NaiveDate,
    lang: Lang,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(name) = &edit.name {
        let n = super::clean::text(name).chars().count();
        if n == 0 || n > 100 {
            out.push((
                "name",
                lang.pick(
                    "客户名称须为 1–100 个字符",
                    "The shop name has 1–100 characters",
                )
                .into(),
            ));
        }
    }
    if let Some(address) = &edit.address {
        if address.chars().count() > 200 {
            out.push((
                "address",
                lang.pick(
                    "地址最多 200 个字符",
                    "The address has at most 200 characters",
                )
                .into(),
            ));
        }
    }
    if let Some(phone) = &edit.phone {
        let t = super::clean::text(phone);
        if t.chars().count() > 30
            || !t
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')'))
        {
            out.push((
                "phone",
                lang.pick(
                    "电话只能含数字、空格和 - + ( )，最多 30 个字符",
                    "A phone number holds digits, spaces and - + ( ), at most 30",
                )
                .into(),
            ));
        }
    }
    if let Some(day) = edit.order_weekday {
        if !(1..=7).contains(&day) {
            out.push((
                "order_weekday",
                lang.pick("订货日须为周一至周日", "The order day is Monday to Sunday")
                    .into(),
            ));
        }
    }
    match (edit.status, &edit.closed_on) {
        (Some(RetailerStatus::Closed), None) => out.push((
            "closed_on",
            lang.pick(
                "停业须填写停业日期",
                "A closed retailer needs its closing date",
            )
            .into(),
        )),
        (_, Some(date)) => match date.parse::<chrono::NaiveDate>() {
            Ok(d) if d > today => out.push((
                "closed_on",
                lang.pick(
                    "停业日期不能晚于今天",
                    "A closing date cannot be in the future",
                )
                .into(),
            )),
            Ok(_) => {}
            Err(_) => out.push((
                "closed_on",
                lang.pick("日期格式为 YYYY-MM-DD", "Dates are written YYYY-MM-DD")
                    .into(),
            )),
        },
        _ => {}
    }
    out
}

/// Hands retailers to another customer manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reassign {
    pub retailer_ids: Vec<i64>,
    pub manager_id: i64,
}

/// The most retailers one reassignment moves.
pub const MAX_REASSIGN: usize = 5_000;

/// What a reassignment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reassigned {
    pub moved: i64,
    /// Of those, retailers on a sheet of an open forecast cycle: they stay
    /// on their former manager's sheet until that cycle closes.
    pub in_open_cycle: i64,
}

/// What the page says a reassignment does, in one place.
pub fn reassign_effect(lang: Lang) -> &'static str {
    lang.pick(
        "移交后：零售户立即出现在新客户经理的零售户列表和网上配货中，历史订货、配货设置和订单随零售户一并转移；\
         正在进行的预测周期中，该零售户仍留在原客户经理的预测表上直至本周期结束，从下一个预测周期起进入新客户经理的预测表。",
        "After the handover the retailer is at once on the new customer manager's list and online replenishment, \
         with its order history, settings and orders; in a forecast cycle under way it stays on the former manager's \
         sheet until that cycle ends, and is on the new manager's sheet from the next cycle.",
    )
}

/// A customer manager a retailer can be handed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManagerChoice {
    pub id: i64,
    pub login: String,
    pub name: String,
    pub unit: String,
}

/// A customer class (档位) as its page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassRecord {
    pub code: String,
    pub label: String,
    /// Higher is a better class; the list is shown best last.
    pub rank: i64,
    /// Retailers in the class (a class in use cannot be removed).
    pub retailers: i64,
}

/// The whole list of classes as saved from its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassList {
    pub classes: Vec<ClassRecord>,
}

/// Field errors of a class list: codes and labels 1–20 characters and
/// unique, ranks unique.
pub fn check_classes(list: &[ClassRecord], lang: Lang) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if list.is_empty() || list.len() > MAX_CLASSES {
        out.push((
            "classes".into(),
            lang.pick("客户档位须为 1–100 个", "Keep 1 to 100 classes")
                .into(),
        ));
        return out;
    }
    let mut codes = std::collections::HashSet::new();
    let mut labels = std::collections::HashSet::new();
    for (i, c) in list.iter().enumerate() {
        let code = super::clean::text(&c.code);
        let label = super::clean::text(&c.label);
        if code.is_empty() || code.chars().count() > 20 || code.contains(' ') {
            out.push((
                format!("classes[{i}].code"),
                lang.pick(
                    "编码须为 1–20 个字符，不含空格",
                    "A code has 1–20 characters and no spaces",
                )
                .into(),
            ));
        }
        if label.is_empty() || label.chars().count() > 20 {
            out.push((
                format!("classes[{i}].label"),
                lang.pick("名称须为 1–20 个字符", "A name has 1–20 characters")
                    .into(),
            ));
        }
        if !codes.insert(code) {
            out.push((
                format!("classes[{i}].code"),
                lang.pick("编码重复", "The code is used twice").into(),
            ));
        }
        if !labels.insert(label) {
            out.push((
                format!("classes[{i}].label"),
                lang.pick("名称重复", "The name is used twice").into(),
            ));
        }
    }
    out
}

/// The most classes a company keeps.
pub const MAX_CLASSES: usize = 100;

/// A spec as the catalogue page edits it (prices in fen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecRecord {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub brand: String,
    pub price_class: u8,
    pub wholesale_fen: i64,
    pub retail_fen: i64,
    pub order_multiple: i64,
    pub orderable: bool,
    pub scarce: bool,
    pub new_product: bool,
    pub version: i64,
}

/// A retail price below the wholesale price is a typing mistake (the
/// retailer would sell at a loss); the import names it the same way.
pub fn price_order_error(wholesale_fen: i64, retail_fen: i64, lang: Lang) -> Option<String> {
    (retail_fen < wholesale_fen).then(|| {
        lang.pick(
            "零售价不能低于批发价",
            "The retail price cannot be below the wholesale price",
        )
        .into()
    })
}

/// Field errors of a spec form.
pub fn check_spec(spec: &SpecRecord, lang: Lang) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if super::clean::code(&spec.code).is_err() {
        out.push((
            "code",
            lang.pick(
                "卷烟编码只能含数字和字母",
                "A spec code holds digits and letters",
            )
            .into(),
        ));
    }
    for (field, value, max) in [("name", &spec.name, 60), ("brand", &spec.brand, 30)] {
        let n = super::clean::text(value).chars().count();
        if n == 0 || n > max {
            out.push((
                field,
                match lang {
                    Lang::Zh => format!("须为 1–{max} 个字符"),
                    Lang::En => format!("1–{max} characters"),
                },
            ));
        }
    }
    if !(1..=5).contains(&spec.price_class) {
        out.push((
            "price_class",
            lang.pick("价类须为 1–5", "A price class is 1 to 5").into(),
        ));
    }
    for (field, value) in [
        ("wholesale_fen", spec.wholesale_fen),
        ("retail_fen", spec.retail_fen),
    ] {
        if !(1..=10_000_000).contains(&value) {
            out.push((
                field,
                lang.pick(
                    "价格须为 0.01–100,000 元",
                    "A price is 0.01 to 100,000 yuan",
                )
                .into(),
            ));
        }
    }
    if let Some(message) = price_order_error(spec.wholesale_fen, spec.retail_fen, lang) {
        out.push(("retail_fen", message));
    }
    if !(1..=50).contains(&spec.order_multiple) {
        out.push((
            "order_multiple",
            lang.pick("订货倍数须为 1–50", "An order multiple is 1 to 50")
                .into(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_retailer_needs_a_past_date() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).expect("date");
        let mut edit = RetailerEdit {
            status: Some(RetailerStatus::Closed),
            ..RetailerEdit::default()
        };
        assert_eq!(
            check_retailer_edit(&edit, today, Lang::Zh)[0].0,
            "closed_on"
        );
        edit.closed_on = Some("2026-12-01".into());
        assert_eq!(check_retailer_edit(&edit, today, Lang::Zh).len(), 1);
        edit.closed_on = Some("2026-11-01".into());
        assert!(check_retailer_edit(&edit, today, Lang::Zh).is_empty());
        edit.order_weekday = Some(8);
        assert_eq!(
            check_retailer_edit(&edit, today, Lang::Zh)[0].0,
            "order_weekday"
        );
    }

    #[test]
    fn class_lists_refuse_repeats() {
        let c = |code: &str, label: &str, rank| ClassRecord {
            code: code.into(),
            label: label.into(),
            rank,
            retailers: 0,
        };
        assert!(check_classes(&[c("1", "1档", 1), c("2", "2档", 2)], Lang::Zh).is_empty());
        let errors = check_classes(&[c("1", "1档", 1), c("1", "1档", 2)], Lang::Zh);
        assert_eq!(errors.len(), 2);
    }
}
