//! Interface texts in Chinese and English.
//!
//! A closed enum rather than a translation-file crate: every text is checked
//! at compile time, and the bundle carries no loader or parser.

use domain::Lang;

/// One interface text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    AppName,
    SignIn,
    SignOut,
    Account,
    AccountHint,
    Password,
    Signing,
    Welcome,
    Unit,
    Role,
    MyRetailers,
    OnlineRetailers,
    OnlineShare,
    Licence,
    ShopName,
    Class,
    OnlineReplenishment,
    Joined,
    NotJoined,
    CustomerManager,
    Units,
    Retailers,
    CustomerManagers,
    Specs,
    Loading,
    NotFound,
    BackHome,
    OnlineShareChart,
}

impl T {
    pub fn text(self, lang: Lang) -> &'static str {
        use T::*;
        let (zh, en) = match self {
            AppName => ("卷烟营销管理", "Cigarette Marketing"),
            SignIn => ("登录", "Sign in"),
            SignOut => ("退出", "Sign out"),
            Account => ("账号", "Account"),
            AccountHint => ("零售户请输入许可证号", "Retailers: your licence number"),
            Password => ("密码", "Password"),
            Signing => ("正在登录…", "Signing in…"),
            Welcome => ("欢迎", "Welcome"),
            Unit => ("所属单位", "Unit"),
            Role => ("角色", "Role"),
            MyRetailers => ("我的零售户", "My retailers"),
            OnlineRetailers => ("网上配货户", "Online replenishment retailers"),
            OnlineShare => ("网上配货户占比", "Share on online replenishment"),
            Licence => ("许可证号", "Licence number"),
            ShopName => ("店名", "Shop"),
            Class => ("档位", "Class"),
            OnlineReplenishment => ("网上配货", "Online replenishment"),
            Joined => ("已开通", "Joined"),
            NotJoined => ("未开通", "Not joined"),
            CustomerManager => ("客户经理", "Customer manager"),
            Units => ("下辖单位", "Units"),
            Retailers => ("零售户", "Retailers"),
            CustomerManagers => ("客户经理", "Customer managers"),
            Specs => ("在销品规", "Specs on sale"),
            Loading => ("加载中…", "Loading…"),
            NotFound => ("页面不存在", "Page not found"),
            BackHome => ("返回首页", "Back to home"),
            OnlineShareChart => ("各单位网上配货户占比", "Online replenishment share by unit"),
        };
        lang.pick(zh, en)
    }
}

/// A page-specific text in both languages, following the language switch.
pub fn tr(zh: &'static str, en: &'static str) -> impl Fn() -> &'static str + Copy + 'static {
    use leptos::prelude::Get;
    let lang = crate::state::lang();
    move || lang.get().pick(zh, en)
}
