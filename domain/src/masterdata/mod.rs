//! Master data (基础数据): the company's own organisation, people, specs,
//! retailers and order history, edited in pages and loaded from the files
//! the company already has. This module holds the import's rules: which
//! columns each file may have and the Chinese headers they are recognised
//! by, how a row's cells are repaired and read ([`clean`]), what a preview
//! says, and the edit forms' checks, so the browser gives the same answer
//! at the field as the server does when it enforces them.

pub mod clean;
pub mod records;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::month::YearMonth;
use crate::org::UnitKind;
use crate::{Lang, Role};

use clean::Damage;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// 组织机构: county and market departments.
    Units,
    /// 人员: staff accounts and the unit each works in.
    Staff,
    /// 品规: the spec catalogue.
    Specs,
    /// 零售户: licences with class, customer manager and order day.
    Retailers,
    /// 客户经理分工: which customer manager serves which retailer.
    Assignment,
    /// 订货历史: cartons per licence × spec × month.
    History,
}

impl ImportKind {
    pub const ALL: [ImportKind; 6] = [
        ImportKind::Units,
        ImportKind::Staff,
        ImportKind::Specs,
        ImportKind::Retailers,
        ImportKind::Assignment,
        ImportKind::History,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Units => "units",
            ImportKind::Staff => "staff",
            ImportKind::Specs => "specs",
            ImportKind::Retailers => "retailers",
            ImportKind::Assignment => "assignment",
            ImportKind::History => "history",
        }
    }

    pub fn parse(s: &str) -> Option<ImportKind> {
        ImportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            ImportKind::Units => lang.pick("组织机构", "Organisation units"),
            ImportKind::Staff => lang.pick("人员", "Staff"),
            ImportKind::Specs => lang.pick("品规", "Specs"),
            ImportKind::Retailers => lang.pick("零售户", "Retailers"),
            ImportKind::Assignment => lang.pick("客户经理分工", "Customer manager assignment"),
            ImportKind::History => lang.pick("订货历史", "Order history"),
        }
    }

    /// The roles that may import this kind: the organisation and its people
    /// are the administrator's; the business data the marketing center's.
    pub fn importers(self) -> &'static [Role] {
        match self {
            ImportKind::Units | ImportKind::Staff => &[Role::Admin],
            _ => &[Role::MarketingCenter],
        }
    }

    /// The columns this kind reads.
    pub fn fields(self) -> &'static [Field] {
        match self {
            ImportKind::Units => UNIT_FIELDS,
            ImportKind::Staff => STAFF_FIELDS,
            ImportKind::Specs => SPEC_FIELDS,
            ImportKind::Retailers => RETAILER_FIELDS,
            ImportKind::Assignment => ASSIGNMENT_FIELDS,
            ImportKind::History => HISTORY_FIELDS,
        }
    }

    /// The field whose value names a row (the natural key).
    pub fn key(self) -> &'static str {
        self.fields()[0].key
    }
}

/// When a column must be in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Every row needs it.
    Always,
    /// A row that adds a record needs it; a row that changes one may leave
    /// it out (the record keeps its value).
    ToAdd,
    Optional,
}

/// How a cell of a column is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Text(usize),
    Code,
    Whole(i64),
    Yuan,
    Month,
    Date,
    Weekday,
    YesNo,
    UnitKind,
    Role,
    Status,
    /// Kept as written; used to pick the month (a week or a date column).
    Week,
}

/// One column an import understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// Other headers Chinese exports use for it (compared after
    /// [`clean::header`]).
    pub aliases: &'static [&'static str],
    pub need: Need,
    pub read: Read,
}

impl Field {
    pub fn label(&self, lang: Lang) -> &'static str {
        lang.pick(self.zh, self.en)
    }

    fn matches(&self, header: &str) -> bool {
        header == self.zh
            || header.eq_ignore_ascii_case(self.en)
            || header.eq_ignore_ascii_case(self.key)
            || self.aliases.contains(&header)
    }
}

const fn f(
    key: &'static str,
    zh: &'static str,
    en: &'static str,
    aliases: &'static [&'static str],
    need: Need,
    read: Read,
) -> Field {
    Field {
        key,
        zh,
        en,
        aliases,
        need,
        read,
    }
}

const LICENCE: Field = f(
    "licence",
    "许可证号",
    "Licence",
    &[
        "许可证号码",
        "许可证编号",
        "专卖许可证号",
        "烟草专卖许可证号",
        "烟草专卖零售许可证号",
        "许可证",
        "零售许可证号",
    ],
    Need::Always,
    Read::Code,
);

const UNIT_FIELDS: &[Field] = &[
    f(
        "name",
        "单位名称",
        "Unit",
        &["单位", "机构名称", "部门名称", "部门", "名称"],
        Need::Always,
        Read::Text(100),
    ),
    f(
        "kind",
        "单位类型",
        "Kind",
        &["类型", "层级", "机构类型", "级别"],
        Need::ToAdd,
        Read::UnitKind,
    ),
    f(
        "parent",
        "上级单位",
        "Parent",
        &["上级", "上级机构", "上级部门", "所属单位"],
        Need::ToAdd,
        Read::Text(100),
    ),
];

const STAFF_FIELDS: &[Field] = &[
    f(
        "login",
        "账号",
        "Login",
        &["账号名", "登录名", "用户名", "工号", "员工编号", "登录账号"],
        Need::Always,
        Read::Text(64),
    ),
    f(
        "name",
        "姓名",
        "Name",
        &["员工姓名", "人员姓名", "名字"],
        Need::ToAdd,
        Read::Text(50),
    ),
    f(
        "role",
        "岗位",
        "Role",
        &["角色", "职务", "岗位名称"],
        Need::ToAdd,
        Read::Role,
    ),
    f(
        "unit",
        "所属单位",
        "Unit",
        &["单位", "部门", "所在部门", "所属部门", "市场部"],
        Need::ToAdd,
        Read::Text(100),
    ),
];

const SPEC_CODE: Field = f(
    "code",
    "卷烟编码",
    "Spec code",
    &[
        "品规编码",
        "商品编码",
        "卷烟代码",
        "产品编码",
        "条码",
        "条包条码",
        "编码",
        "规格编码",
    ],
    Need::Always,
    Read::Code,
);

const SPEC_FIELDS: &[Field] = &[
    SPEC_CODE,
    f(
        "name",
        "卷烟名称",
        "Name",
        &["品规名称", "商品名称", "品名", "规格名称", "名称", "规格"],
        Need::ToAdd,
        Read::Text(60),
    ),
    f(
        "brand",
        "品牌",
        "Brand",
        &["品牌名称", "卷烟品牌"],
        Need::ToAdd,
        Read::Text(30),
    ),
    f(
        "price_class",
        "价类",
        "Price class",
        &["价格类别", "卷烟类别", "类别", "价位段"],
        Need::ToAdd,
        Read::Whole(5),
    ),
    f(
        "wholesale",
        "批发价",
        "Wholesale price",
        &["批发价格", "单条批发价", "批发单价"],
        Need::ToAdd,
        Read::Yuan,
    ),
    f(
        "retail",
        "零售价",
        "Retail price",
        &["建议零售价", "零售指导价", "零售价格", "零售单价"],
        Need::ToAdd,
        Read::Yuan,
    ),
    f(
        "order_multiple",
        "订货倍数",
        "Order multiple",
        &["倍数", "起订倍数"],
        Need::Optional,
        Read::Whole(50),
    ),
    f(
        "orderable",
        "可订货",
        "Orderable",
        &["是否可订", "可订", "是否可订货", "在销"],
        Need::Optional,
        Read::YesNo,
    ),
    f(
        "scarce",
        "紧俏",
        "Scarce",
        &["是否紧俏", "紧俏品规", "紧俏标识"],
        Need::Optional,
        Read::YesNo,
    ),
    f(
        "new_product",
        "新品",
        "New product",
        &["是否新品", "新品标识"],
        Need::Optional,
        Read::YesNo,
    ),
];

const MANAGER: Field = f(
    "manager",
    "客户经理",
    "Customer manager",
    &[
        "客户经理账号",
        "客户经理姓名",
        "负责客户经理",
        "服务客户经理",
        "客户经理名称",
    ],
    Need::ToAdd,
    Read::Text(64),
);

const RETAILER_FIELDS: &[Field] = &[
    LICENCE,
    f(
        "name",
        "客户名称",
        "Shop name",
        &[
            "零售户名称",
            "店名",
            "店铺名称",
            "商户名称",
            "企业名称",
            "客户名",
            "字号名称",
        ],
        Need::ToAdd,
        Read::Text(100),
    ),
    f(
        "address",
        "经营地址",
        "Address",
        &["地址", "详细地址", "店铺地址", "经营场所"],
        Need::Optional,
        Read::Text(200),
    ),
    f(
        "phone",
        "联系电话",
        "Phone",
        &[
            "电话",
            "手机",
            "手机号",
            "联系方式",
            "手机号码",
            "联系电话号码",
        ],
        Need::Optional,
        Read::Text(30),
    ),
    f(
        "class",
        "客户档位",
        "Class",
        &["档位", "客户分档", "分档", "星级", "客户星级", "客户等级"],
        Need::ToAdd,
        Read::Text(20),
    ),
    MANAGER,
    f(
        "market_unit",
        "市场部",
        "Market department",
        &["所属市场部", "所属部门", "片区", "营销部"],
        Need::Optional,
        Read::Text(100),
    ),
    f(
        "weekday",
        "订货日",
        "Order day",
        &["订货周期", "订货星期", "送货日"],
        Need::Optional,
        Read::Weekday,
    ),
    f(
        "status",
        "状态",
        "Status",
        &["经营状态", "客户状态", "许可证状态"],
        Need::Optional,
        Read::Status,
    ),
    f(
        "closed_on",
        "停业日期",
        "Closed on",
        &["注销日期", "歇业日期", "停止经营日期"],
        Need::Optional,
        Read::Date,
    ),
    f(
        "online",
        "网上配货",
        "Online replenishment",
        &["是否网上配货", "网上订货", "是否网上订货"],
        Need::Optional,
        Read::YesNo,
    ),
];

const ASSIGNMENT_FIELDS: &[Field] = &[
    LICENCE,
    Field {
        need: Need::Always,
        ..MANAGER
    },
];

const HISTORY_FIELDS: &[Field] = &[
    LICENCE,
    Field {
        key: "spec",
        ..SPEC_CODE
    },
    f(
        "month",
        "月份",
        "Month",
        &["年月", "订货月份", "统计月份", "期间", "月"],
        Need::Optional,
        Read::Month,
    ),
    f(
        "date",
        "日期",
        "Date",
        &["订货日期", "订单日期", "送货日期"],
        Need::Optional,
        Read::Date,
    ),
    f(
        "week",
        "周",
        "Week",
        &["周次", "订货周", "周别"],
        Need::Optional,
        Read::Week,
    ),
    f(
        "cartons",
        "订货量",
        "Cartons",
        &[
            "数量",
            "订货数量",
            "订货量条",
            "销量",
            "条数",
            "购进量",
            "实际订货量",
            "订购量",
            "销售量",
        ],
        Need::Always,
        Read::Whole(100_000),
    ),
];

/// A retailer's status (经营状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RetailerStatus {
    Open,
    Suspended,
    Closed,
}

impl RetailerStatus {
    pub const ALL: [RetailerStatus; 3] = [
        RetailerStatus::Open,
        RetailerStatus::Suspended,
        RetailerStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RetailerStatus::Open => "open",
            RetailerStatus::Suspended => "suspended",
            RetailerStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<RetailerStatus> {
        RetailerStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            RetailerStatus::Open => lang.pick("正常", "Open"),
            RetailerStatus::Suspended => lang.pick("暂停", "Suspended"),
            RetailerStatus::Closed => lang.pick("停业", "Closed"),
        }
    }

    /// As a file writes it: 正常/营业/有效, 暂停/暂停营业, 停业/注销/歇业.
    pub fn read(raw: &str) -> Option<RetailerStatus> {
        let t = clean::text(raw).to_lowercase();
        match t.as_str() {
            "正常" | "营业" | "有效" | "在营" | "open" => Some(RetailerStatus::Open),
            "暂停" | "暂停营业" | "suspended" => Some(RetailerStatus::Suspended),
            "停业" | "注销" | "歇业" | "已注销" | "closed" => Some(RetailerStatus::Closed),
            _ => None,
        }
    }
}

/// A unit kind as a file writes it.
pub fn read_unit_kind(raw: &str) -> Option<UnitKind> {
    let t = clean::text(raw);
    match t.as_str() {
        "营销中心" | "marketing_center" => Some(UnitKind::MarketingCenter),
        "县级营销部" | "营销部" | "县局" | "县局营销部" | "county_department" => {
            Some(UnitKind::CountyDepartment)
        }
        "市场部" | "客户服务部" | "片区" | "market_department" => {
            Some(UnitKind::MarketDepartment)
        }
        _ => None,
    }
}

/// A staff role as a file writes it (a retailer is not staff; the
/// administrator is made from the accounts page only).
pub fn read_role(raw: &str) -> Option<Role> {
    let t = clean::text(raw);
    match t.as_str() {
        "客户经理" | "customer_manager" => Some(Role::CustomerManager),
        "市场经理" | "市场部经理" | "market_manager" => Some(Role::MarketManager),
        "县级营销部" | "县局" | "营销部" | "county_manager" => Some(Role::CountyManager),
        "营销中心" | "marketing_center" => Some(Role::MarketingCenter),
        _ => None,
    }
}

/// A cell's value once read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    Text(String),
    Int(i64),
    Bool(bool),
    Month(YearMonth),
    Date(NaiveDate),
    Kind(UnitKind),
    Role(Role),
    Status(RetailerStatus),
}

impl Value {
    /// As the preview shows it.
    pub fn show(&self, lang: Lang) -> String {
        match self {
            Value::Text(t) => t.clone(),
            Value::Int(n) => n.to_string(),
            Value::Bool(b) => lang
                .pick(if *b { "是" } else { "否" }, if *b { "yes" } else { "no" })
                .into(),
            Value::Month(m) => m.to_string(),
            Value::Date(d) => d.to_string(),
            Value::Kind(k) => k.label(lang).into(),
            Value::Role(r) => r.label(lang).into(),
            Value::Status(s) => s.label(lang).into(),
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// Reads one cell as `field` says. `Ok(None)`: the cell is blank and the
/// field may be left out. The `bool` says whether the cell was repaired
/// (what was read differs from what was written).
pub fn read_cell(field: &Field, raw: &str) -> Result<Option<(Value, bool)>, Damage> {
    if let Some(value) = clean_cell(field.read, raw) {
        return Ok(Some((value, false)));
    }
    let trimmed = raw.trim();
    if clean::text(raw).is_empty() {
        return if field.need == Need::Always {
            Err(Damage::Empty)
        } else {
            Ok(None)
        };
    }
    let value = match field.read {
        Read::Text(max) => Value::Text(clean::required_text(raw, max)?),
        Read::Code => Value::Text(clean::code(raw)?),
        Read::Whole(max) => Value::Int(clean::whole(raw, max)?),
        Read::Yuan => Value::Int(clean::yuan_to_fen(raw)?),
        Read::Month => Value::Month(clean::month(raw)?),
        Read::Date => Value::Date(clean::date(raw)?),
        Read::Weekday => Value::Int(i64::from(clean::weekday(raw)?)),
        Read::YesNo => Value::Bool(clean::yes_no(raw)?),
        Read::UnitKind => Value::Kind(read_unit_kind(raw).ok_or(Damage::BadCode)?),
        Read::Role => Value::Role(read_role(raw).ok_or(Damage::BadCode)?),
        Read::Status => Value::Status(RetailerStatus::read(raw).ok_or(Damage::BadCode)?),
        Read::Week => Value::Text(clean::text(raw)),
    };
    let repaired = match &value {
        Value::Text(t) => t != trimmed,
        Value::Int(n) => matches!(field.read, Read::Whole(_)) && n.to_string() != trimmed,
        _ => false,
    };
    Ok(Some((value, repaired)))
}

/// A cell that needs no repair, read without the general path's copies:
/// a code of digits and capitals, a number of digits, a month written
/// `2025-11` or `2025年11月`. `None`: read it the general way (which gives
/// the same value for these cells; a history file has ten million rows).
fn clean_cell(read: Read, raw: &str) -> Option<Value> {
    let b = raw.as_bytes();
    match read {
        Read::Code
            if !b.is_empty()
                && b.len() <= 40
                && b.iter()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) =>
        {
            Some(Value::Text(raw.to_string()))
        }
        Read::Whole(max) if !b.is_empty() && b.len() <= 15 && b.iter().all(u8::is_ascii_digit) => {
            raw.parse::<i64>()
                .ok()
                .filter(|n| *n <= max)
                .map(Value::Int)
        }
        Read::Month => {
            let (year, rest) = (raw.get(..4)?, raw.get(4..)?);
            let month = rest
                .strip_prefix('-')
                .filter(|m| m.len() == 2)
                .or_else(|| rest.strip_prefix('年')?.strip_suffix('月'))?;
            if !year.bytes().all(|c| c.is_ascii_digit())
                || !month.bytes().all(|c| c.is_ascii_digit())
            {
                return None;
            }
            YearMonth::new(year.parse().ok()?, month.parse().ok()?).map(Value::Month)
        }
        _ => None,
    }
}

/// Why a cell of a kind-specific column was refused: the message for
/// unit kinds, roles and statuses names what is accepted.
pub fn damage_message(field: &Field, damage: &Damage, lang: Lang) -> String {
    match (field.read, damage) {
        (Read::UnitKind, Damage::BadCode) => lang
            .pick(
                "单位类型须为 营销中心、县级营销部 或 市场部",
                "A unit kind is 营销中心, 县级营销部 or 市场部",
            )
            .into(),
        (Read::Role, Damage::BadCode) => lang
            .pick(
                "岗位须为 客户经理、市场经理、县级营销部 或 营销中心",
                "A role is 客户经理, 市场经理, 县级营销部 or 营销中心",
            )
            .into(),
        (Read::Status, Damage::BadCode) => lang
            .pick(
                "状态须为 正常、暂停 或 停业",
                "A status is 正常 (open), 暂停 (suspended) or 停业 (closed)",
            )
            .into(),
        _ => damage.message(lang),
    }
}

/// Which field each column of a file is read as (`None`: ignored).
pub type Mapping = Vec<Option<String>>;

/// Headers people chose a field for before, by [`clean::header`] form:
/// `""` means "ignore this column".
pub type Remembered = BTreeMap<String, String>;

/// The mapping of a file's header row: a remembered choice first, then a
/// field's own names; a field is given to one column at most.
pub fn recognise(
    kind: ImportKind,
    headers: &[impl AsRef<str>],
    remembered: &Remembered,
) -> Mapping {
    let mut taken: Vec<&str> = Vec::new();
    headers
        .iter()
        .map(|raw| {
            let header = clean::header(raw.as_ref());
            if header.is_empty() {
                return None;
            }
            let chosen = match remembered.get(&header) {
                Some(key) if key.is_empty() => return None,
                Some(key) => kind.fields().iter().find(|f| f.key == key),
                None => None,
            }
            .or_else(|| kind.fields().iter().find(|f| f.matches(&header)))?;
            if taken.contains(&chosen.key) {
                return None;
            }
            taken.push(chosen.key);
            Some(chosen.key.to_string())
        })
        .collect()
}

/// A mapping as sent by the client, checked against the kind: unknown
/// fields and a field given to two columns are refused.
pub fn check_mapping(kind: ImportKind, mapping: &Mapping, lang: Lang) -> Result<(), String> {
    let mut seen: Vec<&str> = Vec::new();
    for key in mapping.iter().flatten() {
        let Some(field) = kind.fields().iter().find(|f| f.key == key) else {
            return Err(match lang {
                Lang::Zh => format!("没有名为 {key} 的字段"),
                Lang::En => format!("There is no field {key}"),
            });
        };
        if seen.contains(&field.key) {
            return Err(match lang {
                Lang::Zh => format!("“{}”对应了多列", field.zh),
                Lang::En => format!("{} is chosen for more than one column", field.en),
            });
        }
        seen.push(field.key);
    }
    Ok(())
}

/// Fields a file must carry a column for, missing from `mapping`; a history
/// file needs a month or a date column.
pub fn missing_fields(kind: ImportKind, mapping: &Mapping) -> Vec<&'static Field> {
    let has = |key: &str| mapping.iter().flatten().any(|k| k == key);
    let mut missing: Vec<&'static Field> = kind
        .fields()
        .iter()
        .filter(|f| f.need == Need::Always && !has(f.key))
        .collect();
    if kind == ImportKind::History && !has("month") && !has("date") {
        missing.extend(kind.fields().iter().filter(|f| f.key == "month"));
    }
    missing
}

/// A row as read: its line number in the file, the key and the values of
/// the mapped columns (blank optional cells left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRow {
    pub line: u64,
    pub key: String,
    pub values: BTreeMap<&'static str, Value>,
    pub repaired: Vec<(&'static str, String, String)>,
}

impl ReadRow {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    pub fn text(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::text)
    }
}

/// One problem of one row, as the preview lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowProblem {
    /// 1-based line of the file (the header is line 1 when there is one).
    pub line: u64,
    /// The column's label.
    pub field: String,
    /// What the cell held.
    pub value: String,
    pub message: String,
}

/// Reads the mapped cells of one data row. Every problem is returned, so
/// the preview can name them all.
pub fn read_row(
    kind: ImportKind,
    mapping: &Mapping,
    line: u64,
    cells: &[impl AsRef<str>],
    lang: Lang,
) -> Result<ReadRow, Vec<RowProblem>> {
    let mut values = BTreeMap::new();
    let mut repaired = Vec::new();
    let mut problems = Vec::new();
    for (column, key) in mapping.iter().enumerate() {
        let Some(key) = key else { continue };
        let Some(field) = kind.fields().iter().find(|f| f.key == key) else {
            continue;
        };
        let raw = cells.get(column).map_or("", |c| c.as_ref());
        match read_cell(field, raw) {
            Ok(Some((value, was_repaired))) => {
                if was_repaired {
                    repaired.push((field.key, raw.to_string(), value.show(lang)));
                }
                values.insert(field.key, value);
            }
            Ok(None) => {}
            Err(damage) => problems.push(RowProblem {
                line,
                field: field.label(lang).to_string(),
                value: shown(raw),
                message: damage_message(field, &damage, lang),
            }),
        }
    }
    if kind == ImportKind::History && problems.is_empty() {
        // The month: from the month column, else from the date.
        let month = match (values.get("month"), values.get("date")) {
            (Some(Value::Month(m)), _) => Some(*m),
            (None, Some(Value::Date(d))) => Some(YearMonth::of_date(*d)),
            _ => None,
        };
        match month {
            Some(m) => {
                values.insert("month", Value::Month(m));
            }
            None => problems.push(RowProblem {
                line,
                field: lang.pick("月份", "Month").into(),
                value: String::new(),
                message: Damage::Empty.message(lang),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let key = values
        .get(kind.key())
        .map(|v| v.show(lang))
        .unwrap_or_default();
    Ok(ReadRow {
        line,
        key,
        values,
        repaired,
    })
}

/// A cell as quoted in a message: at most 40 characters.
pub fn shown(raw: &str) -> String {
    let mut out: String = raw.chars().take(40).collect();
    if raw.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Whether `row` names a header: at least two of its cells are known
/// names of the kind's fields (a file without a header row is read with
/// the kind's own column order).
pub fn is_header(kind: ImportKind, row: &[impl AsRef<str>]) -> bool {
    row.iter()
        .filter(|c| {
            let h = clean::header(c.as_ref());
            kind.fields().iter().any(|f| f.matches(&h))
        })
        .count()
        >= 2
}

/// One column of the file as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ColumnChoice {
    pub header: String,
    /// The field it is read as; `None`: ignored.
    pub field: Option<String>,
    /// A few values of the column, to tell what it holds.
    pub sample: Vec<String>,
}

/// A field as the mapping's choices list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChoice {
    pub key: String,
    pub label: String,
    /// Must the file have it (for every row, or for rows that add)?
    pub required: bool,
}

/// The fields of `kind` for the mapping's selects.
pub fn field_choices(kind: ImportKind, lang: Lang) -> Vec<FieldChoice> {
    kind.fields()
        .iter()
        .map(|f| FieldChoice {
            key: f.key.into(),
            label: f.label(lang).into(),
            required: f.need != Need::Optional,
        })
        .collect()
}

/// One changed value of a record, as the preview samples them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub line: u64,
    pub key: String,
    pub field: String,
    pub from: String,
    pub to: String,
}

/// The rows of one month of a history file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthRows {
    pub month: String,
    pub rows: u64,
    pub cartons: i64,
}

/// What applying a file would do, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportPreview {
    /// Data rows read (blank rows are not counted).
    pub rows: u64,
    pub add: u64,
    pub change: u64,
    /// Rows equal to what is stored already.
    pub same: u64,
    /// Rows with at least one problem.
    pub bad: u64,
    /// Cells read after a repair (spaces, full-width digits, numbers as codes…).
    pub repaired: u64,
    /// The file's encoding as read: `UTF-8`, `UTF-8 BOM`, `GB18030`, `xlsx`.
    pub encoding: String,
    pub header_row: bool,
    pub columns: Vec<ColumnChoice>,
    pub fields: Vec<FieldChoice>,
    /// Required fields no column is read as; the file cannot be applied.
    pub missing: Vec<String>,
    /// Problems, by line (the first [`PROBLEMS_LISTED`]).
    pub problems: Vec<RowProblem>,
    /// Repairs made, as examples (the first [`REPAIRS_LISTED`]).
    pub repairs: Vec<RowProblem>,
    /// Changed values, as examples (the first [`CHANGES_LISTED`]).
    pub changes: Vec<Change>,
    /// A history file's months.
    pub months: Vec<MonthRows>,
}

pub const PROBLEMS_LISTED: usize = 500;
pub const REPAIRS_LISTED: usize = 50;
pub const CHANGES_LISTED: usize = 100;

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    Checking,
    Checked,
    Applying,
    Applied,
    Failed,
}

impl ImportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Checking => "checking",
            ImportState::Checked => "checked",
            ImportState::Applying => "applying",
            ImportState::Applied => "applied",
            ImportState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ImportState> {
        [
            ImportState::Checking,
            ImportState::Checked,
            ImportState::Applying,
            ImportState::Applied,
            ImportState::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    pub fn running(self) -> bool {
        matches!(self, ImportState::Checking | ImportState::Applying)
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportResult {
    pub added: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// Bad rows left out (only when applying the good rows was chosen).
    pub skipped: u64,
}

/// One import, as the page follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportJob {
    pub id: i64,
    pub kind: ImportKind,
    pub file_name: String,
    pub state: ImportState,
    /// Rows done of `total` in the current step.
    pub done: u64,
    pub total: u64,
    pub preview: Option<ImportPreview>,
    pub result: Option<ImportResult>,
    pub error: Option<String>,
    pub created_at: i64,
    pub created_by: String,
}

/// How to apply a checked file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct ApplyOptions {
    /// Leave the bad rows out and apply the rest; without it a file with
    /// any bad row is refused.
    #[serde(default)]
    pub only_good_rows: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn chinese_headers_in_the_companys_order_are_recognised() {
        let headers = cells(&[
            "序号",
            " 客户名称 ",
            "专卖许可证号",
            "客户档位",
            "客户经理",
            "订货日",
            "联系电话",
        ]);
        let mapping = recognise(ImportKind::Retailers, &headers, &Remembered::new());
        assert_eq!(
            mapping,
            vec![
                None,
                Some("name".into()),
                Some("licence".into()),
                Some("class".into()),
                Some("manager".into()),
                Some("weekday".into()),
                Some("phone".into()),
            ]
        );
        assert!(missing_fields(ImportKind::Retailers, &mapping).is_empty());
        assert!(is_header(ImportKind::Retailers, &headers));
    }

    #[test]
    fn a_remembered_choice_wins_and_a_field_is_given_once() {
        let headers = cells(&["户号", "许可证号", "许可证"]);
        let mut remembered = Remembered::new();
        remembered.insert("户号".into(), "licence".into());
        let mapping = recognise(ImportKind::Assignment, &headers, &remembered);
        assert_eq!(mapping, vec![Some("licence".into()), None, None]);
        assert_eq!(
            missing_fields(ImportKind::Assignment, &mapping)
                .iter()
                .map(|f| f.key)
                .collect::<Vec<_>>(),
            vec!["manager"]
        );
        let twice = vec![Some("licence".into()), Some("licence".into())];
        assert!(check_mapping(ImportKind::Assignment, &twice, Lang::Zh).is_err());
        let unknown = vec![Some("password".into())];
        assert!(check_mapping(ImportKind::Assignment, &unknown, Lang::Zh).is_err());
    }

    #[test]
    fn a_history_row_takes_its_month_from_a_date_and_names_every_problem() {
        let mapping: Mapping = vec![
            Some("licence".into()),
            Some("spec".into()),
            Some("date".into()),
            Some("cartons".into()),
        ];
        let row = read_row(
            ImportKind::History,
            &mapping,
            2,
            &cells(&["4.21103000001E+11", "6901028075862", "2025/11/3", "１２"]),
            Lang::Zh,
        )
        .expect("a good row");
        assert_eq!(row.key, "421103000001");
        assert_eq!(
            row.get("month"),
            Some(&Value::Month(YearMonth::new(2025, 11).expect("month")))
        );
        assert_eq!(row.get("cartons"), Some(&Value::Int(12)));
        assert_eq!(row.repaired.len(), 2, "{:?}", row.repaired);
        let bad = read_row(
            ImportKind::History,
            &mapping,
            3,
            &cells(&["4.21103E+11", "", "2025/11/3", "-3"]),
            Lang::Zh,
        )
        .expect_err("bad row");
        assert_eq!(
            bad.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(),
            vec!["许可证号", "卷烟编码", "订货量"]
        );
    }

    #[test]
    fn clean_cells_read_the_same_on_the_short_path() {
        for (read, raw) in [
            (Read::Code, "421103000001"),
            (Read::Code, "AB12"),
            (Read::Whole(100), "12"),
            (Read::Whole(100), "101"),
            (Read::Month, "2025-11"),
            (Read::Month, "2025年1月"),
            (Read::Month, "2025年13月"),
        ] {
            let field = Field {
                key: "x",
                zh: "x",
                en: "x",
                aliases: &[],
                need: Need::Always,
                read,
            };
            let general = match read {
                Read::Code => clean::code(raw).map(Value::Text),
                Read::Whole(max) => clean::whole(raw, max).map(Value::Int),
                _ => clean::month(raw).map(Value::Month),
            };
            assert_eq!(
                read_cell(&field, raw).map(|v| v.map(|(v, _)| v)),
                general.map(Some),
                "{raw}"
            );
        }
    }

    #[test]
    fn kinds_statuses_and_roles_read_from_their_chinese_names() {
        assert_eq!(read_unit_kind("市场部"), Some(UnitKind::MarketDepartment));
        assert_eq!(read_role(" 客户经理 "), Some(Role::CustomerManager));
        assert_eq!(read_role("系统管理员"), None);
        assert_eq!(RetailerStatus::read("注销"), Some(RetailerStatus::Closed));
        let field = &ImportKind::Retailers.fields()[8];
        assert_eq!(field.key, "status");
        let err = read_cell(field, "倒闭").expect_err("unknown status");
        assert!(damage_message(field, &err, Lang::Zh).contains("正常"));
    }
}
