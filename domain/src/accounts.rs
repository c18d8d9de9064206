//! Accounts administration: the people who sign in, what an administrator
//! may change about them, and the rules a new or edited account must pass.
//! The browser checks these as the administrator types; the server enforces
//! the same functions.

use serde::{Deserialize, Serialize};

use crate::org::UnitKind;
use crate::{ErrorBody, ErrorCode, Lang, Role};

/// Longest login name, in characters.
pub const MAX_LOGIN_CHARS: usize = 32;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 50;
/// Most retailers one bulk request may name by licence number.
pub const MAX_LISTED_RETAILERS: usize = 50_000;

/// One account as the administrator sees it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: i64,
    pub unit_name: String,
    pub retailer_id: Option<i64>,
    pub active: bool,
    /// Locked by failed sign-ins (from any address) right now.
    pub locked: bool,
    /// Signs in with a one-time password and must choose a new one first.
    pub must_change_password: bool,
    /// Whether the account has any password (an account loaded with the
    /// master data but never given a sign-in has none).
    pub has_password: bool,
    /// Compare-and-set token of edits.
    pub version: i64,
}

/// One page of accounts and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserList {
    pub users: Vec<UserView>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// Rows per page of the account list.
pub const PAGE_SIZE: i64 = 50;

/// A new staff account. Retailer accounts are made in bulk from the
/// retailers (login = licence number), not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewStaff {
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: i64,
}

/// A change to an account: any of role, unit, display name, active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserChange {
    /// The version the administrator saw; a newer one answers 409.
    pub version: i64,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub unit_id: Option<i64>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// A one-time password, shown once to whoever set it. The account must
/// choose its own password at its next sign-in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OneTimePassword {
    pub user: UserView,
    pub password: String,
}

impl std::fmt::Debug for OneTimePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneTimePassword")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// Which retailers get sign-ins in one bulk run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountScope {
    /// These licence numbers (pasted from a list).
    Licences { licences: Vec<String> },
    /// Every retailer of one market department.
    MarketUnit { unit_id: i64 },
    /// Every retailer that joined online replenishment.
    AllEnrolled,
}

/// Starts a bulk creation of retailer sign-ins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetailerAccountsRequest {
    pub scope: AccountScope,
}

/// Where a bulk run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        [JobState::Running, JobState::Done, JobState::Failed]
            .into_iter()
            .find(|j| j.as_str() == s)
    }
}

/// A bulk run of retailer sign-ins and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountJob {
    pub id: i64,
    pub state: JobState,
    /// Retailers in the scope without a sign-in, to be created.
    pub total: i64,
    /// One-time passwords hashed so far.
    pub hashed: i64,
    /// Accounts created (all at once, when every hash is ready).
    pub created: i64,
    /// Retailers in the scope that already had a sign-in.
    pub skipped: i64,
    pub error: Option<String>,
    /// The handout can still be downloaded (once).
    pub handout_ready: bool,
    /// When the handout was downloaded (UNIX seconds), if it was.
    pub downloaded_at: Option<i64>,
    pub created_at: i64,
}

/// Columns of the handout sheet, in order.
pub fn handout_headers(lang: Lang) -> [&'static str; 4] {
    [
        lang.pick("许可证号（登录账号）", "Licence (login)"),
        lang.pick("店名", "Shop name"),
        lang.pick("客户经理", "Customer manager"),
        lang.pick(
            "一次性密码（首次登录须修改）",
            "One-time password (change at first sign-in)",
        ),
    ]
}

/// A one-time password as typed, in the printed form: 12 letters and
/// digits in any case, with or without dashes or spaces, become
/// `ABCD-EFGH-JKLM` (phone keyboards type lower case). Anything else is
/// left as it is.
pub fn normalize_one_time(typed: &str) -> String {
    let plain: String = typed.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    if plain.chars().count() != 12 || !plain.chars().all(|c| c.is_ascii_alphanumeric()) {
        return typed.to_string();
    }
    let upper = plain.to_ascii_uppercase();
    format!("{}-{}-{}", &upper[0..4], &upper[4..8], &upper[8..12])
}

/// Which kind of unit a role's account sits on.
pub fn unit_kind_of(role: Role) -> UnitKind {
    match role {
        Role::Retailer | Role::CustomerManager | Role::MarketManager => UnitKind::MarketDepartment,
        Role::CountyManager => UnitKind::CountyDepartment,
        Role::MarketingCenter | Role::Admin => UnitKind::MarketingCenter,
    }
}

/// Roles an administrator may give a staff account.
pub const STAFF_ROLES: [Role; 5] = [
    Role::CustomerManager,
    Role::MarketManager,
    Role::CountyManager,
    Role::MarketingCenter,
    Role::Admin,
];

/// Checks a login name: 2–32 characters of letters, digits, `.`, `_`, `-`.
pub fn login_error(login: &str, lang: Lang) -> Option<&'static str> {
    let n = login.chars().count();
    if n == 0 {
        return Some(lang.pick("请输入登录账号", "Enter a login name"));
    }
    if !(2..=MAX_LOGIN_CHARS).contains(&n) {
        return Some(lang.pick(
            "登录账号须为 2–32 个字符",
            "The login name must have 2–32 characters",
        ));
    }
    if !login
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Some(lang.pick(
            "登录账号只能包含字母、数字和 . _ -",
            "The login name may hold only letters, digits and . _ -",
        ));
    }
    None
}

/// Checks a display name: 1–50 characters, not blank.
pub fn name_error(name: &str, lang: Lang) -> Option<&'static str> {
    let n = name.trim().chars().count();
    if n == 0 {
        return Some(lang.pick("请输入姓名", "Enter the person's name"));
    }
    if n > MAX_NAME_CHARS
        || name
            .chars()
            .any(|c| c.is_control() || is_invisible_format(c))
    {
        return Some(lang.pick(
            "姓名须为 1–50 个字符，且不含控制字符或不可见字符",
            "The name must have 1–50 characters and no control or invisible characters",
        ));
    }
    None
}

/// Invisible formatting characters (Unicode category Cf) that can hide or
/// reorder text: zero-width spaces and joiners, direction marks and
/// overrides, the word joiner family and the byte-order mark. A name with
/// one can pass for another in lists and in the audit log. Listed by hand:
/// the standard library has no Unicode category lookup, and the ranges of
/// Cf in use in Chinese and English text are these.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// Checks that a staff role is given and fits the kind of unit chosen.
pub fn role_unit_error(
    role: Role,
    unit: Option<UnitKind>,
    lang: Lang,
) -> Option<(&'static str, String)> {
    if !STAFF_ROLES.contains(&role) {
        return Some((
            "role",
            lang.pick(
                "零售户账号请在“零售户账号”中按许可证号批量开通",
                "Retailer sign-ins are made in bulk from their licence numbers",
            )
            .to_string(),
        ));
    }
    let Some(kind) = unit else {
        return Some((
            "unit_id",
            lang.pick("所选单位不存在", "The chosen unit does not exist")
                .to_string(),
        ));
    };
    let wanted = unit_kind_of(role);
    (kind != wanted).then(|| {
        (
            "unit_id",
            match lang {
                Lang::Zh => format!("{}的单位须为{}", role.label(lang), wanted.label(lang)),
                Lang::En => format!("A {} belongs to a {}", role.label(lang), wanted.label(lang)),
            },
        )
    })
}

/// Every rule a new staff account must pass, as one error body with the
/// messages at their fields; `unit` is the kind of the chosen unit, if it exists.
pub fn check_new_staff(
    staff: &NewStaff,
    unit: Option<UnitKind>,
    lang: Lang,
) -> Result<(), ErrorBody> {
    let mut body = ErrorBody::new(
        ErrorCode::Validation,
        lang.pick(
            "账号信息有误，未保存",
            "The account has errors; nothing was saved",
        ),
    );
    if let Some(m) = login_error(staff.login.trim(), lang) {
        body = body.with_field("login", m);
    }
    if let Some(m) = name_error(&staff.display_name, lang) {
        body = body.with_field("display_name", m);
    }
    if staff.unit_id <= 0 && STAFF_ROLES.contains(&staff.role) {
        body = body.with_field("unit_id", lang.pick("请选择所属单位", "Choose the unit"));
    } else if let Some((field, m)) = role_unit_error(staff.role, unit, lang) {
        body = body.with_field(field, m);
    }
    if body.fields.is_empty() {
        Ok(())
    } else {
        Err(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(login: &str, name: &str, role: Role) -> NewStaff {
        NewStaff {
            login: login.into(),
            display_name: name.into(),
            role,
            unit_id: 1,
        }
    }

    #[test]
    fn a_customer_manager_belongs_to_a_market_department() {
        let cm = staff("li.ming", "李明", Role::CustomerManager);
        assert!(check_new_staff(&cm, Some(UnitKind::MarketDepartment), Lang::Zh).is_ok());
        let err = check_new_staff(&cm, Some(UnitKind::CountyDepartment), Lang::Zh)
            .expect_err("wrong unit kind");
        assert!(err.fields["unit_id"][0].contains("市场部"), "{err:?}");
        let err = check_new_staff(&cm, None, Lang::Zh).expect_err("unknown unit");
        assert!(err.fields.contains_key("unit_id"));
    }

    #[test]
    fn retailers_are_not_made_as_staff() {
        let r = staff("110101000001", "小店", Role::Retailer);
        let err =
            check_new_staff(&r, Some(UnitKind::MarketDepartment), Lang::Zh).expect_err("refused");
        assert!(err.fields.contains_key("role"));
    }

    #[test]
    fn one_time_passwords_are_read_in_any_case_and_spacing() {
        for typed in [
            "kfqs-7ugm-e858",
            "KFQS 7UGM E858",
            "kfqs7ugme858",
            " KFQS-7UGM-E858 ",
        ] {
            assert_eq!(normalize_one_time(typed), "KFQS-7UGM-E858", "{typed:?}");
        }
        assert_eq!(normalize_one_time("Tea-Kettle-42"), "Tea-Kettle-42");
        assert_eq!(
            normalize_one_time("密码密码密码密码密码密码"),
            "密码密码密码密码密码密码"
        );
    }

    #[test]
    fn login_names_are_short_plain_ascii() {
        assert!(login_error("cm01", Lang::Zh).is_none());
        assert!(login_error("a", Lang::Zh).is_some());
        assert!(login_error("张三", Lang::Zh).is_some());
        assert!(login_error("has space", Lang::Zh).is_some());
        assert!(login_error(&"x".repeat(33), Lang::Zh).is_some());
    }

    #[test]
    fn names_are_not_blank_or_huge() {
        assert!(name_error("  ", Lang::Zh).is_some());
        assert!(name_error(&"名".repeat(51), Lang::Zh).is_some());
        assert!(name_error("王\u{7}", Lang::Zh).is_some());
        for hidden in ['\u{202E}', '\u{200B}', '\u{FEFF}', '\u{2066}'] {
            assert!(
                name_error(&format!("{hidden}王芳"), Lang::Zh).is_some(),
                "{hidden:?}"
            );
        }
        assert!(name_error("王芳", Lang::Zh).is_none());
    }
}
