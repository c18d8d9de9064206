//! The audit log viewer (审计日志): the query, the answer, and the rules that
//! flag unusual changes, as the business asked: "修订日志…对流程不正常的修订要有
//! 日志提示功能" (changes logged, abnormal changes flagged).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Lang;

/// China Standard Time (UTC+8, no daylight saving), in seconds east of UTC.
pub const CHINA_OFFSET_SECONDS: i64 = 8 * 3600;
const DAY_SECONDS: i64 = 86_400;
/// Entries on one page of the viewer.
pub const PAGE_SIZE: i64 = 50;
/// Rows in one export (and rows scanned for "flagged only"); more are cut.
pub const EXPORT_LIMIT: i64 = 100_000;
/// The highest page number accepted.
pub const MAX_PAGE: i64 = 1_000_000;
/// Longest text accepted in a filter field.
pub const MAX_FILTER_CHARS: usize = 100;

/// Night starts at this hour, China time (22:00) …
pub const NIGHT_FROM_HOUR: i64 = 22;
/// … and ends at this hour (06:00).
pub const NIGHT_UNTIL_HOUR: i64 = 6;
/// A record changed more than this many times on one China day is flagged.
pub const MANY_CHANGES_PER_DAY: i64 = 5;
/// A cap raised to more than this many times its old value is flagged.
pub const CAP_RAISE_FACTOR: i64 = 3;

/// The thresholds of the flags. The defaults are the constants above; the
/// rules take them as data so a setting can replace them later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagRules {
    pub night_from_hour: i64,
    pub night_until_hour: i64,
    pub many_changes_per_day: i64,
    pub cap_raise_factor: i64,
}

impl Default for FlagRules {
    fn default() -> Self {
        FlagRules {
            night_from_hour: NIGHT_FROM_HOUR,
            night_until_hour: NIGHT_UNTIL_HOUR,
            many_changes_per_day: MANY_CHANGES_PER_DAY,
            cap_raise_factor: CAP_RAISE_FACTOR,
        }
    }
}

/// Why an entry deserves a second look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AuditFlag {
    /// A cap (limit) raised to more than three times its old value.
    #[serde(rename = "cap_raised_over_3x")]
    CapRaisedOver3x,
    /// The same record changed more than five times on one China day.
    #[serde(rename = "many_changes_in_a_day")]
    ManyChangesInADay,
    /// A change made at night, China time (22:00–06:00).
    #[serde(rename = "at_night")]
    AtNight,
}

impl AuditFlag {
    pub const ALL: [AuditFlag; 3] = [
        AuditFlag::CapRaisedOver3x,
        AuditFlag::ManyChangesInADay,
        AuditFlag::AtNight,
    ];

    /// The code on the wire (as serialized).
    pub fn code(self) -> &'static str {
        match self {
            AuditFlag::CapRaisedOver3x => "cap_raised_over_3x",
            AuditFlag::ManyChangesInADay => "many_changes_in_a_day",
            AuditFlag::AtNight => "at_night",
        }
    }

    /// A short badge.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            AuditFlag::CapRaisedOver3x => lang.pick("限量大幅上调", "Cap raised >3×"),
            AuditFlag::ManyChangesInADay => lang.pick("当日频繁修改", "Many changes in a day"),
            AuditFlag::AtNight => lang.pick("夜间操作", "At night"),
        }
    }

    /// What the badge means (its tooltip).
    pub fn explanation(self, lang: Lang) -> &'static str {
        match self {
            AuditFlag::CapRaisedOver3x => lang.pick(
                "限量上调为原值的 3 倍以上",
                "A cap was raised to more than 3 times its old value",
            ),
            AuditFlag::ManyChangesInADay => lang.pick(
                "同一对象在同一天（北京时间）被修改超过 5 次",
                "The same record was changed more than 5 times on one day (China time)",
            ),
            AuditFlag::AtNight => lang.pick(
                "修改时间在北京时间 22:00 至次日 06:00 之间",
                "Changed between 22:00 and 06:00 China time",
            ),
        }
    }
}

/// Every action the services record: code, Chinese, English.
pub const ACTIONS: &[(&str, &str, &str)] = &[
    ("login", "登录", "Signed in"),
    ("login_failed", "登录失败", "Failed sign-in"),
    ("password_changed", "修改密码", "Password changed"),
    (
        "password_change_failed",
        "修改密码失败",
        "Failed password change",
    ),
    ("user_created", "创建账号", "Account created"),
    ("user_changed", "修改账号", "Account changed"),
    ("password_reset", "重置密码", "Password reset"),
    ("user_unlocked", "解锁账号", "Account unlocked"),
    ("user_deactivated", "停用账号", "Account deactivated"),
    ("user_reactivated", "启用账号", "Account reactivated"),
    (
        "handout_downloaded",
        "下载初始密码单",
        "Password handout downloaded",
    ),
    (
        "retailer_accounts_created",
        "批量创建零售户账号",
        "Retailer accounts created",
    ),
    (
        "replenishment.settings.save",
        "保存配货设置",
        "Replenishment settings saved",
    ),
    ("replenishment.order.confirm", "确认订单", "Order confirmed"),
    ("replenishment.order.change", "修改订单", "Order changed"),
    ("replenishment.order.cancel", "取消订单", "Order cancelled"),
    (
        "replenishment.orders.exported",
        "订单标记为已导出",
        "Orders marked exported",
    ),
    (
        "replenishment.deliveries.load",
        "导入到货",
        "Deliveries loaded",
    ),
    (
        "forecast.actuals.from_orders",
        "以到货订单作为实际订单",
        "Delivered orders made actual orders",
    ),
    ("allocation.publish", "发布货源投放", "Allocation published"),
    (
        "allocation.withdraw",
        "撤回货源投放",
        "Allocation withdrawn",
    ),
    (
        "replenishment.enrolment",
        "加入/退出网上配货",
        "Online replenishment joined or left",
    ),
    ("replenishment.policy", "修改配货政策", "Policy changed"),
    ("replenishment.spec", "修改品规政策", "Spec policy changed"),
    (
        "replenishment.class_cap",
        "修改档位限量",
        "Class cap changed",
    ),
    (
        "replenishment.total_cap",
        "修改订单总量限量",
        "Order total cap changed",
    ),
    ("replenishment.order_day", "修改订货日", "Order day changed"),
    ("forecast.cells.save", "保存预测", "Forecast saved"),
    ("forecast.sheet.import", "导入预测", "Forecast imported"),
    ("forecast.sheet.submit", "提交预测", "Forecast submitted"),
    ("forecast.sheet.reopen", "重新开放填报", "Sheet reopened"),
    (
        "forecast.cycle.open",
        "发布预测任务",
        "Forecast cycle opened",
    ),
    (
        "forecast.cycle.edit",
        "修改预测任务",
        "Forecast cycle edited",
    ),
    (
        "forecast.cycle.close",
        "关闭预测任务",
        "Forecast cycle closed",
    ),
    ("forecast.lines.correct", "审核修正", "Lines corrected"),
    ("forecast.sheet.approve", "审核通过", "Approved"),
    ("forecast.sheet.final_approve", "终审通过", "Final approval"),
    ("forecast.sheet.return", "退回", "Returned"),
    (
        "forecast.actuals.load",
        "导入实际订单",
        "Actual orders loaded",
    ),
    (
        "forecast.rules.change",
        "修改预测规则",
        "Forecast rules changed",
    ),
    (
        "forecast.bound.change",
        "修改预测上限",
        "Forecast bound changed",
    ),
    (
        "forecast.baselines.recompute",
        "重新计算系统基线",
        "Baselines recomputed",
    ),
    ("backup.taken", "数据备份", "Backup taken"),
    ("analysis.plans.set", "修改销售计划", "Sales plans set"),
    ("masterdata.import.add", "导入新增", "Added by an import"),
    (
        "masterdata.import.change",
        "导入修改",
        "Changed by an import",
    ),
    (
        "masterdata.import.history",
        "导入订货历史",
        "Order history imported",
    ),
    (
        "masterdata.retailer.change",
        "修改零售户",
        "Retailer changed",
    ),
    (
        "masterdata.retailer.reassign",
        "移交客户经理",
        "Retailer handed over",
    ),
    ("masterdata.spec.add", "新增品规", "Spec added"),
    ("masterdata.spec.change", "修改品规", "Spec changed"),
    (
        "masterdata.classes.change",
        "修改客户档位",
        "Customer classes changed",
    ),
];

/// Actions that change nothing (sign-ins, failures, backups): they do not
/// count towards "many changes in a day".
pub const NOT_CHANGES: &[&str] = &[
    "login",
    "login_failed",
    "password_change_failed",
    "backup.taken",
    "handout_downloaded",
];

/// The action's name for people; an unknown action shows its code.
pub fn action_label(action: &str, lang: Lang) -> String {
    ACTIONS
        .iter()
        .find(|(code, _, _)| *code == action)
        .map_or_else(
            || action.to_string(),
            |(_, zh, en)| lang.pick(zh, en).to_string(),
        )
}

/// Kinds of object in the log: code, Chinese, English.
pub const ENTITIES: &[(&str, &str, &str)] = &[
    ("user", "账号", "Account"),
    ("login", "登录名", "Sign-in name"),
    ("retailer", "零售户", "Retailer"),
    ("policy", "配货政策", "Policy"),
    ("spec", "品规", "Spec"),
    ("customer_class", "客户档位", "Customer class"),
    ("forecast_sheet", "预测表", "Forecast sheet"),
    ("forecast_cycle", "预测任务", "Forecast cycle"),
    ("monthly_orders", "月度订单", "Monthly orders"),
    ("settings", "设置", "Settings"),
    ("forecast_bound", "预测上限", "Forecast bound"),
    ("backup", "备份", "Backup"),
    ("account_job", "批量开户任务", "Bulk account job"),
    ("org_unit", "组织机构", "Unit"),
    ("customer_classes", "客户档位表", "Customer class list"),
    ("order_day", "订货日", "Order day"),
    ("allocation", "货源投放", "Allocation"),
];

/// The kind of object's name for people; an unknown kind shows its code.
pub fn entity_label(entity: &str, lang: Lang) -> String {
    ENTITIES
        .iter()
        .find(|(code, _, _)| *code == entity)
        .map_or_else(
            || entity.to_string(),
            |(_, zh, en)| lang.pick(zh, en).to_string(),
        )
}

/// Whether an action changed something (only changes count towards many
/// changes a day or are flagged at night).
pub fn is_change(action: &str) -> bool {
    !NOT_CHANGES.contains(&action)
}

/// The China day of a UNIX time, as a day number (days since 1970-01-01 in
/// China time).
pub fn china_day_number(at: i64) -> i64 {
    (at + CHINA_OFFSET_SECONDS).div_euclid(DAY_SECONDS)
}

/// The China date of a UNIX time.
pub fn china_date(at: i64) -> NaiveDate {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let days = china_day_number(at);
    if days >= 0 {
        epoch.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        epoch.checked_sub_days(Days::new(days.unsigned_abs()))
    }
    .unwrap_or(epoch)
}

/// UNIX seconds at which a China date starts (00:00 China time).
pub fn china_day_start(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp()
        - CHINA_OFFSET_SECONDS
}

/// A UNIX time as China time, `YYYY-MM-DD HH:MM:SS`.
pub fn china_time_text(at: i64) -> String {
    chrono::DateTime::from_timestamp(at + CHINA_OFFSET_SECONDS, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| at.to_string())
}

/// Whether `at` is at night, China time.
pub fn is_night(at: i64, rules: &FlagRules) -> bool {
    let hour = (at + CHINA_OFFSET_SECONDS).rem_euclid(DAY_SECONDS) / 3600;
    hour >= rules.night_from_hour || hour < rules.night_until_hour
}

/// Whether a record changed `changes` times on one day is "many".
pub fn is_many_changes(changes: i64, rules: &FlagRules) -> bool {
    changes > rules.many_changes_per_day
}

/// Whether a cap going from `from` to `to` was raised too far: `to` more
/// than the factor times `from`, for a `from` above zero (from nothing or
/// zero there is no ratio).
pub fn is_cap_raised_too_far(from: i64, to: i64, rules: &FlagRules) -> bool {
    from > 0 && i128::from(to) > i128::from(from) * i128::from(rules.cap_raise_factor)
}

/// The cap an entry changed, as (from, to), for the actions that change a
/// cap: a class cap, an order total cap, a spec's default cap, a forecast
/// bound. `None` for other actions or when either side is missing.
pub fn cap_change(action: &str, detail: &Value) -> Option<(i64, i64)> {
    match action {
        "replenishment.class_cap" | "replenishment.total_cap" | "forecast.bound.change" => {
            Some((detail.get("from")?.as_i64()?, detail.get("to")?.as_i64()?))
        }
        "replenishment.spec" => Some((
            detail.get("from")?.get("default_cap")?.as_i64()?,
            detail.get("to")?.get("default_cap")?.as_i64()?,
        )),
        _ => None,
    }
}

/// The flags of one entry. `many_that_day` is whether its record was
/// changed many times on its China day (counted by the caller over the log).
pub fn flags_of(
    action: &str,
    at: i64,
    detail: &Value,
    many_that_day: bool,
    rules: &FlagRules,
) -> Vec<AuditFlag> {
    let mut flags = Vec::new();
    if cap_change(action, detail).is_some_and(|(a, b)| is_cap_raised_too_far(a, b, rules)) {
        flags.push(AuditFlag::CapRaisedOver3x);
    }
    if many_that_day && is_change(action) {
        flags.push(AuditFlag::ManyChangesInADay);
    }
    // Sign-ins and the nightly backup are not changes: only changes at
    // night are flagged.
    if is_night(at, rules) && is_change(action) {
        flags.push(AuditFlag::AtNight);
    }
    flags
}

/// A one-line summary of an entry's detail: `from → to` where it has both,
/// otherwise its plain fields as `key: value`.
pub fn detail_summary(detail: &Value) -> String {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::Null => Some("—".into()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }
    let Some(map) = detail.as_object() else {
        return scalar(detail).unwrap_or_else(|| detail.to_string());
    };
    let mut parts = Vec::new();
    let pair = [("from", "to"), ("before", "after")]
        .into_iter()
        .find(|(a, b)| map.contains_key(*a) && map.contains_key(*b));
    if let Some((a, b)) = pair {
        let (from, to) = (&map[a], &map[b]);
        match (scalar(from), scalar(to)) {
            (Some(a), Some(b)) => parts.push(format!("{a} → {b}")),
            _ => {
                if let Some((a, b)) = changed_fields(from, to) {
                    parts.push(format!("{a} → {b}"));
                }
            }
        }
    }
    for (key, value) in map {
        if pair.is_some_and(|(a, b)| key == a || key == b) {
            continue;
        }
        if let Some(v) = scalar(value) {
            parts.push(format!("{key}: {v}"));
        }
    }
    parts.join("; ")
}

/// The fields two objects differ in, as `a=1, b=2` on each side.
fn changed_fields(from: &Value, to: &Value) -> Option<(String, String)> {
    let (Some(a), Some(b)) = (from.as_object(), to.as_object()) else {
        return None;
    };
    let keys: BTreeMap<&String, ()> = a.keys().chain(b.keys()).map(|k| (k, ())).collect();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for key in keys.keys() {
        let (x, y) = (a.get(*key), b.get(*key));
        if x != y && x.is_some() && y.is_some() {
            left.push(format!(
                "{key}={}",
                x.map(Value::to_string).unwrap_or_default()
            ));
            right.push(format!(
                "{key}={}",
                y.map(Value::to_string).unwrap_or_default()
            ));
        }
    }
    (!left.is_empty()).then(|| (left.join(", "), right.join(", ")))
}

/// The viewer's query as it arrives (every value text, so that a bad one
/// gets a message at its field rather than a bare 400).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// Part of the person's sign-in name or name.
    #[serde(default)]
    pub actor: Option<String>,
    /// An action code, e.g. `replenishment.class_cap`.
    #[serde(default)]
    pub action: Option<String>,
    /// A kind of object, e.g. `retailer`.
    #[serde(default)]
    pub entity: Option<String>,
    /// The object's id (with `entity`).
    #[serde(default)]
    pub entity_id: Option<String>,
    /// First China date, `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub from: Option<String>,
    /// Last China date, `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub to: Option<String>,
    /// Page number from 1.
    #[serde(default)]
    pub page: Option<String>,
    /// `true`: only flagged entries.
    #[serde(default)]
    pub flagged: Option<String>,
    /// `csv` or `xlsx`: the whole filtered log as a file (at most
    /// 100,000 rows); none: one page as JSON.
    #[serde(default)]
    pub format: Option<String>,
    /// `zh` (or `zh-CN`) or `en`: the language of an export (a download link does not
    /// carry the page's language); otherwise the request's.
    #[serde(default)]
    pub lang: Option<String>,
}

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// The viewer's query, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub page: i64,
    pub flagged_only: bool,
    pub format: Option<ExportFormat>,
    pub lang: Option<Lang>,
}

impl AuditFilter {
    /// The UNIX-seconds range `[start, end)` the dates cover.
    pub fn time_range(&self) -> (Option<i64>, Option<i64>) {
        (
            self.from.map(china_day_start),
            self.to
                .and_then(|d| d.checked_add_days(Days::new(1)))
                .map(china_day_start),
        )
    }

    /// Rows skipped before the page.
    pub fn offset(&self) -> i64 {
        (self.page - 1) * PAGE_SIZE
    }
}

/// Why a query was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuditQueryError {
    #[error("not a date")]
    Date,
    #[error("from after to")]
    Order,
    #[error("bad page")]
    Page,
    #[error("unknown format")]
    Format,
    #[error("not true or false")]
    Flag,
    #[error("too long")]
    TooLong,
    #[error("unknown language")]
    Lang,
}

impl AuditQueryError {
    pub fn message(self, lang: Lang) -> &'static str {
        match self {
            AuditQueryError::Date => lang.pick(
                "日期格式应为 年-月-日，如 2026-03-01",
                "A date is written year-month-day, e.g. 2026-03-01",
            ),
            AuditQueryError::Order => lang.pick(
                "结束日期不能早于开始日期",
                "The end date must not be before the start date",
            ),
            AuditQueryError::Page => {
                lang.pick("页码须为 1 以上的整数", "The page is a whole number from 1")
            }
            AuditQueryError::Format => {
                lang.pick("导出格式为 csv 或 xlsx", "The export format is csv or xlsx")
            }
            AuditQueryError::Flag => lang.pick("应为 true 或 false", "Use true or false"),
            AuditQueryError::TooLong => lang.pick("不能超过 100 个字", "At most 100 characters"),
            AuditQueryError::Lang => lang.pick("语言为 zh 或 en", "The language is zh or en"),
        }
    }
}

fn text(value: &Option<String>) -> Result<Option<String>, AuditQueryError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > MAX_FILTER_CHARS => Err(AuditQueryError::TooLong),
        Some(v) => Ok(Some(v.to_string())),
    }
}

fn date(value: &Option<String>) -> Result<Option<NaiveDate>, AuditQueryError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AuditQueryError::Date),
    }
}

impl AuditQuery {
    /// Checks every field; the errors name their fields.
    pub fn parse(&self) -> Result<AuditFilter, Vec<(&'static str, AuditQueryError)>> {
        let mut errors = Vec::new();
        let mut keep = |field: &'static str, r: Result<Option<String>, AuditQueryError>| {
            r.map_err(|e| errors.push((field, e))).ok().flatten()
        };
        let actor = keep("actor", text(&self.actor));
        let action = keep("action", text(&self.action));
        let entity = keep("entity", text(&self.entity));
        let entity_id = keep("entity_id", text(&self.entity_id));
        let from = date(&self.from)
            .map_err(|e| errors.push(("from", e)))
            .ok()
            .flatten();
        let to = date(&self.to)
            .map_err(|e| errors.push(("to", e)))
            .ok()
            .flatten();
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                errors.push(("to", AuditQueryError::Order));
            }
        }
        let page = match self.page.as_deref().map(str::trim) {
            None | Some("") => 1,
            Some(v) => match v.parse::<i64>() {
                Ok(p) if (1..=MAX_PAGE).contains(&p) => p,
                _ => {
                    errors.push(("page", AuditQueryError::Page));
                    1
                }
            },
        };
        let flagged_only = match self.flagged.as_deref().map(str::trim) {
            None | Some("") | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => {
                errors.push(("flagged", AuditQueryError::Flag));
                false
            }
        };
        let format = match self.format.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("csv") => Some(ExportFormat::Csv),
            Some("xlsx") => Some(ExportFormat::Xlsx),
            Some(_) => {
                errors.push(("format", AuditQueryError::Format));
                None
            }
        };
        let lang = match self.lang.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("zh") | Some("zh-CN") => Some(Lang::Zh),
            Some("en") => Some(Lang::En),
            Some(_) => {
                errors.push(("lang", AuditQueryError::Lang));
                None
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AuditFilter {
            actor,
            action,
            entity,
            entity_id,
            from,
            to,
            page,
            flagged_only,
            format,
            lang,
        })
    }
}

/// One entry of the log as the viewer shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    /// UNIX seconds.
    pub at: i64,
    /// Who did it; none for the system (backups) or an unknown sign-in name.
    pub actor_login: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    /// The action's name in the caller's language.
    pub action_label: String,
    pub entity: String,
    pub entity_id: String,
    /// What was recorded, e.g. `{ "from": 10, "to": 40 }`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Value,
    pub flags: Vec<AuditFlag>,
}

/// One page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Entries matching the filter (with "flagged only": flagged entries
    /// among the first [`EXPORT_LIMIT`] scanned).
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    /// "Flagged only" scanned [`EXPORT_LIMIT`] entries and stopped: narrow
    /// the dates to see older ones.
    #[serde(default)]
    pub truncated: bool,
}

impl AuditPage {
    pub fn pages(&self) -> i64 {
        ((self.total + self.page_size - 1) / self.page_size.max(1)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> i64 {
        // A China time `YYYY-MM-DD HH:MM` as UNIX seconds.
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
            .expect("a time")
            .and_utc()
            .timestamp()
            - CHINA_OFFSET_SECONDS
    }

    #[test]
    fn night_is_from_ten_in_the_evening_to_six_in_the_morning_china_time() {
        let rules = FlagRules::default();
        for (time, night) in [
            ("2026-03-01 21:59", false),
            ("2026-03-01 22:00", true),
            ("2026-03-01 23:30", true),
            ("2026-03-02 00:00", true),
            ("2026-03-02 05:59", true),
            ("2026-03-02 06:00", false),
            ("2026-03-02 12:00", false),
        ] {
            assert_eq!(is_night(at(time), &rules), night, "{time}");
        }
        // 15:00 UTC is 23:00 in China: night, though daytime in UTC terms.
        assert!(is_night(
            chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                .and_then(|d| d.and_hms_opt(15, 0, 0))
                .expect("a time")
                .and_utc()
                .timestamp(),
            &rules
        ));
    }

    #[test]
    fn a_cap_raised_to_more_than_three_times_is_flagged() {
        let rules = FlagRules::default();
        for (from, to, flagged, why) in [
            (10, 31, true, "just over 3×"),
            (10, 30, false, "exactly 3× is allowed"),
            (10, 40, true, "4×"),
            (10, 5, false, "lowered"),
            (0, 100, false, "from zero there is no ratio"),
            (1, i64::MAX, true, "no overflow"),
        ] {
            assert_eq!(is_cap_raised_too_far(from, to, &rules), flagged, "{why}");
        }
    }

    #[test]
    fn caps_are_read_from_the_detail_of_each_cap_action() {
        let cases = [
            (
                "replenishment.class_cap",
                json!({ "class": "30", "from": 10, "to": 40 }),
                Some((10, 40)),
            ),
            (
                "replenishment.total_cap",
                json!({ "from": 100, "to": null }),
                None,
            ),
            (
                "replenishment.spec",
                json!({ "from": { "default_cap": 5, "scarce": false }, "to": { "default_cap": 20 } }),
                Some((5, 20)),
            ),
            (
                "forecast.bound.change",
                json!({ "from": 50, "to": 60 }),
                Some((50, 60)),
            ),
            (
                "replenishment.class_cap",
                json!({ "from": null, "to": 40 }),
                None,
            ),
            ("forecast.cells.save", json!({ "from": 1, "to": 9 }), None),
        ];
        for (action, detail, expected) in cases {
            assert_eq!(cap_change(action, &detail), expected, "{action} {detail}");
        }
    }

    #[test]
    fn more_than_five_changes_of_one_record_in_a_day_is_many() {
        let rules = FlagRules::default();
        assert!(!is_many_changes(5, &rules));
        assert!(is_many_changes(6, &rules));
    }

    #[test]
    fn flags_combine_and_sign_ins_never_count_as_many_changes() {
        let rules = FlagRules::default();
        let night = at("2026-03-01 23:00");
        let day = at("2026-03-01 10:00");
        let raise = json!({ "class": "1", "from": 10, "to": 40 });
        assert_eq!(
            flags_of("replenishment.class_cap", night, &raise, true, &rules),
            vec![
                AuditFlag::CapRaisedOver3x,
                AuditFlag::ManyChangesInADay,
                AuditFlag::AtNight
            ]
        );
        assert_eq!(flags_of("login", day, &json!({}), true, &rules), vec![]);
        assert_eq!(
            flags_of("backup.taken", night, &json!({}), true, &rules),
            vec![],
            "the nightly backup is no change"
        );
        assert_eq!(
            flags_of(
                "replenishment.settings.save",
                day,
                &json!({}),
                false,
                &rules
            ),
            vec![]
        );
    }

    #[test]
    fn china_days_start_at_midnight_china_time() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        let start = china_day_start(date);
        assert_eq!(china_date(start), date);
        assert_eq!(china_date(start - 1), date.pred_opt().expect("date"));
        assert_eq!(china_day_number(start), china_day_number(start + 86_399));
        assert_eq!(
            china_time_text(at("2026-03-01 23:05")),
            "2026-03-01 23:05:00"
        );
    }

    #[test]
    fn the_query_is_checked_field_by_field() {
        let good = AuditQuery {
            actor: Some(" 张 ".into()),
            from: Some("2026-03-01".into()),
            to: Some("2026-03-01".into()),
            page: Some("2".into()),
            format: Some("csv".into()),
            ..AuditQuery::default()
        }
        .parse()
        .expect("a good query");
        assert_eq!(good.actor.as_deref(), Some("张"));
        assert_eq!(good.offset(), PAGE_SIZE);
        assert_eq!(good.format, Some(ExportFormat::Csv));
        let (start, end) = good.time_range();
        assert_eq!(end.zip(start).map(|(e, s)| e - s), Some(86_400));

        let fields = |q: AuditQuery| -> Vec<&'static str> {
            q.parse()
                .err()
                .unwrap_or_default()
                .iter()
                .map(|e| e.0)
                .collect()
        };
        assert_eq!(
            fields(AuditQuery {
                from: Some("2026-13-01".into()),
                ..AuditQuery::default()
            }),
            ["from"]
        );
        assert_eq!(
            fields(AuditQuery {
                from: Some("2026-03-02".into()),
                to: Some("2026-03-01".into()),
                ..AuditQuery::default()
            }),
            ["to"],
            "from after to"
        );
        assert_eq!(
            fields(AuditQuery {
                page: Some("0".into()),
                format: Some("pdf".into()),
                flagged: Some("maybe".into()),
                actor: Some("x".repeat(101)),
                ..AuditQuery::default()
            }),
            ["actor", "page", "flagged", "format"]
        );
    }

    #[test]
    fn the_detail_summary_shows_what_changed() {
        assert_eq!(
            detail_summary(&json!({ "class": "30", "from": 10, "to": 40 })),
            "10 → 40; class: 30"
        );
        assert_eq!(
            detail_summary(
                &json!({ "from": { "lead_days": 1, "norm": 0.5 }, "to": { "lead_days": 2, "norm": 0.5 } })
            ),
            "lead_days=1 → lead_days=2"
        );
        assert_eq!(detail_summary(&json!({ "cells": 3 })), "cells: 3");
        assert_eq!(
            detail_summary(
                &json!({ "login": "cm01", "before": { "active": true }, "after": { "active": false } })
            ),
            "active=true → active=false; login: cm01"
        );
    }

    #[test]
    fn every_action_has_a_label_and_unknown_ones_show_their_code() {
        assert_eq!(action_label("login", Lang::Zh), "登录");
        assert_eq!(action_label("something.new", Lang::En), "something.new");
        assert_eq!(entity_label("retailer", Lang::En), "Retailer");
    }
}
