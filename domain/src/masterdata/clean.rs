//! Repairs of the damage spreadsheets do to the company's own exports:
//! stray and full-width spaces, full-width digits and letters, codes stored
//! as numbers (`421103000001.0`), long numbers shown in scientific notation,
//! thousands separators, months written `2025年11月` or as Excel date
//! serials. A repair is made only when the meaning is unambiguous; anything
//! else is a [`Damage`] the preview names.

use chrono::{Datelike, NaiveDate};

use crate::month::YearMonth;
use crate::Lang;

/// Why a cell could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    Empty,
    /// Excel showed a long number in scientific notation and dropped digits.
    LostDigits(String),
    NotANumber,
    Negative,
    NotWhole,
    TooLarge,
    NotAMonth,
    NotADate,
    NotAWeekday,
    NotYesNo,
    /// More than two decimals of a yuan amount.
    NotMoney,
    /// Characters a code never has.
    BadCode,
    TooLong(usize),
}

impl Damage {
    pub fn message(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        let pick = |a: &str, b: &str| if zh { a.to_string() } else { b.to_string() };
        match self {
            Damage::Empty => pick("不能为空", "Required"),
            Damage::LostDigits(shown) => {
                if zh {
                    format!("Excel 已把长数字显示为科学计数法（{shown}），位数已丢失；请把该列设为“文本”后重新导出")
                } else {
                    format!("Excel turned the long number into scientific notation ({shown}) and lost digits; format the column as text and export again")
                }
            }
            Damage::NotANumber => pick("不是数字", "Not a number"),
            Damage::Negative => pick("不能为负数", "Cannot be negative"),
            Damage::NotWhole => pick("须为整数", "Must be a whole number"),
            Damage::TooLarge => pick("数值过大", "Too large"),
            Damage::NotAMonth => pick(
                "不是月份（可写 2025-11、2025年11月 或 Excel 日期）",
                "Not a month (write 2025-11, 2025年11月 or an Excel date)",
            ),
            Damage::NotADate => pick(
                "不是日期（可写 2025-11-03 或 Excel 日期）",
                "Not a date (write 2025-11-03 or an Excel date)",
            ),
            Damage::NotAWeekday => pick(
                "不是星期几（可写 周一…周日 或 1–7）",
                "Not a weekday (write 周一…周日 or 1–7)",
            ),
            Damage::NotYesNo => pick("须为“是”或“否”", "Must be yes (是) or no (否)"),
            Damage::NotMoney => pick(
                "金额最多两位小数（元）",
                "An amount has at most two decimals (yuan)",
            ),
            Damage::BadCode => pick(
                "编码只能含数字和字母",
                "A code holds only digits and letters",
            ),
            Damage::TooLong(n) => {
                if zh {
                    format!("超过 {n} 个字符")
                } else {
                    format!("Longer than {n} characters")
                }
            }
        }
    }
}

/// Full-width ASCII (`０-９`, `Ａ-Ｚ`, `，`…) to its half-width form and the
/// ideographic space to a space. Other characters (Chinese) are kept.
pub fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' | '\u{2002}'..='\u{200A}' => ' ',
        _ => c,
    }
}

/// Full-width digits and letters to half-width; Chinese punctuation
/// (`（软蓝）`) is kept, as names are written with it.
fn half_width_alnum(c: char) -> char {
    let h = half_width(c);
    if h.is_ascii_alphanumeric() || h == ' ' {
        h
    } else {
        c
    }
}

/// Text as a person meant it: full-width digits, letters and spaces made
/// half-width, no zero-width or control characters, trimmed, inner runs
/// of spaces made one.
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut space = false;
    for c in raw.chars().map(half_width_alnum) {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        // Zero-width and direction-control characters: invisible, and the
        // latter can make a name read backwards on screen.
        if c.is_control()
            || matches!(
                c,
                '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{FEFF}'
                    | '\u{2060}'
            )
        {
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}

/// [`text`], required and at most `max` characters.
pub fn required_text(raw: &str, max: usize) -> Result<String, Damage> {
    let t = text(raw);
    if t.is_empty() {
        Err(Damage::Empty)
    } else if t.chars().count() > max {
        Err(Damage::TooLong(max))
    } else {
        Ok(t)
    }
}

/// A code (licence number, spec code, phone): digits and letters with no
/// spaces or dashes inside. A number stored by the spreadsheet
/// (`421103000001.0`, `4.21103000001E+11`) is written back as its digits
/// when every digit is there; scientific notation that dropped digits is
/// [`Damage::LostDigits`].
pub fn code(raw: &str) -> Result<String, Damage> {
    let t: String = text(raw)
        .chars()
        .map(half_width)
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if t.is_empty() {
        return Err(Damage::Empty);
    }
    // A sign is not part of a code: "-421103…" is not repaired.
    if text(raw).starts_with(['-', '+']) {
        return Err(Damage::BadCode);
    }
    if let Some(digits) = scientific(&t)? {
        return Ok(digits);
    }
    let t = match t.strip_suffix(".0") {
        Some(whole) if !whole.is_empty() && whole.bytes().all(|b| b.is_ascii_digit()) => {
            whole.to_string()
        }
        _ => t,
    };
    if t.chars().count() > 40 {
        return Err(Damage::TooLong(40));
    }
    if !t.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Damage::BadCode);
    }
    Ok(t.to_ascii_uppercase())
}

/// `4.21103000001E+11` as `421103000001` when the mantissa holds every
/// digit of the number; `None` when `t` is not scientific notation.
fn scientific(t: &str) -> Result<Option<String>, Damage> {
    let Some((mantissa, exponent)) = t.split_once(['E', 'e']) else {
        return Ok(None);
    };
    let Ok(exponent) = exponent.trim_start_matches('+').parse::<usize>() else {
        return Ok(None);
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.len() != 1
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Ok(None);
    }
    // Every digit is in the mantissa exactly when the exponent equals the
    // fraction's length; with fewer fraction digits, zeros would be made up.
    if fraction.len() == exponent {
        Ok(Some(format!("{whole}{fraction}")))
    } else {
        Err(Damage::LostDigits(t.to_string()))
    }
}

/// A number as written in a cell: half-width, thousands separators and a
/// trailing unit or currency sign dropped.
fn number_text(raw: &str) -> String {
    text(raw)
        .chars()
        .map(half_width)
        .filter(|c| !matches!(c, ',' | ' ' | '¥' | '￥' | '元' | '条'))
        .collect()
}

/// A whole non-negative quantity (cartons, order multiples, ranks);
/// `12.0` is 12, `12.5` is not whole.
pub fn whole(raw: &str, max: i64) -> Result<i64, Damage> {
    let t = number_text(raw);
    if t.is_empty() {
        return Err(Damage::Empty);
    }
    let value: f64 = t.parse().map_err(|_| Damage::NotANumber)?;
    if !value.is_finite() {
        return Err(Damage::NotANumber);
    }
    if value < 0.0 {
        return Err(Damage::Negative);
    }
    if value.fract() != 0.0 {
        return Err(Damage::NotWhole);
    }
    if value > max as f64 {
        return Err(Damage::TooLarge);
    }
    Ok(value as i64)
}

/// A price in yuan (`23.5`, `¥23.50`, `1,200`) as fen.
pub fn yuan_to_fen(raw: &str) -> Result<i64, Damage> {
    let t = number_text(raw);
    if t.is_empty() {
        return Err(Damage::Empty);
    }
    let negative = t.starts_with('-');
    let body = t.trim_start_matches(['-', '+']);
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(Damage::NotANumber);
    }
    if negative {
        return Err(Damage::Negative);
    }
    // A spreadsheet's float noise (23.499999999) is not a third decimal.
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > 2 {
        let value: f64 = body.parse().map_err(|_| Damage::NotANumber)?;
        let fen = (value * 100.0).round();
        if (value * 100.0 - fen).abs() > 1e-6 {
            return Err(Damage::NotMoney);
        }
        return if fen > 1e12 {
            Err(Damage::TooLarge)
        } else {
            Ok(fen as i64)
        };
    }
    if whole.len() > 10 {
        return Err(Damage::TooLarge);
    }
    let yuan: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| Damage::NotANumber)?
    };
    let mut cents = fraction.to_string();
    while cents.len() < 2 {
        cents.push('0');
    }
    Ok(yuan * 100 + cents.parse::<i64>().map_err(|_| Damage::NotANumber)?)
}

/// The day an Excel date serial stands for (1900 date system; serial 60,
/// the 29 February 1900 Excel believes in, is refused).
pub fn excel_date(serial: f64) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) || serial.trunc() as i64 == 60 {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    base.checked_add_signed(chrono::Duration::days(serial.trunc() as i64))
}

/// A day: `2025-11-03`, `2025/11/3`, `2025.11.3`, `2025年11月3日`,
/// `20251103`, an Excel serial, or a date-time whose time is dropped.
pub fn date(raw: &str) -> Result<NaiveDate, Damage> {
    let t = text(raw);
    if t.is_empty() {
        return Err(Damage::Empty);
    }
    let day_part = t.split([' ', 'T']).next().unwrap_or("");
    if let Some(d) = ymd(day_part) {
        return Ok(d);
    }
    if let Ok(serial) = t.parse::<f64>() {
        if (20_000.0..80_000.0).contains(&serial) {
            return excel_date(serial).ok_or(Damage::NotADate);
        }
    }
    Err(Damage::NotADate)
}

fn ymd(t: &str) -> Option<NaiveDate> {
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::from_ymd_opt(
            t[..4].parse().ok()?,
            t[4..6].parse().ok()?,
            t[6..].parse().ok()?,
        );
    }
    let parts: Vec<&str> = t
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => {
            NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
        }
        _ => None,
    }
}

/// A month: `2025-11`, `2025/11`, `2025.11`, `202511`, `2025年11月`,
/// `2025年1月`, a day of it (`2025-11-01`, `2025/11/1`), or an Excel date
/// serial (a month column Excel turned into dates).
pub fn month(raw: &str) -> Result<YearMonth, Damage> {
    let t = text(raw);
    if t.is_empty() {
        return Err(Damage::Empty);
    }
    if let Ok(d) = date(&t) {
        return YearMonth::new(d.year(), d.month()).ok_or(Damage::NotAMonth);
    }
    if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
        return YearMonth::new(
            t[..4].parse().map_err(|_| Damage::NotAMonth)?,
            t[4..].parse().map_err(|_| Damage::NotAMonth)?,
        )
        .ok_or(Damage::NotAMonth);
    }
    let parts: Vec<&str> = t
        .split(['-', '/', '.', '年', '月'])
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        [y, m] if y.len() == 4 && (1..=2).contains(&m.len()) => YearMonth::new(
            y.parse().map_err(|_| Damage::NotAMonth)?,
            m.parse().map_err(|_| Damage::NotAMonth)?,
        )
        .ok_or(Damage::NotAMonth),
        _ => Err(Damage::NotAMonth),
    }
}

/// A weekday, 1 (Monday) to 7: `周一`, `星期一`, `礼拜一`, `一`, `1`, `Mon`.
pub fn weekday(raw: &str) -> Result<u8, Damage> {
    let t = text(raw).to_lowercase();
    if t.is_empty() {
        return Err(Damage::Empty);
    }
    let t = t
        .trim_start_matches("星期")
        .trim_start_matches("礼拜")
        .trim_start_matches('周');
    let n = match t {
        "一" | "1" | "mon" | "monday" => 1,
        "二" | "2" | "tue" | "tuesday" => 2,
        "三" | "3" | "wed" | "wednesday" => 3,
        "四" | "4" | "thu" | "thursday" => 4,
        "五" | "5" | "fri" | "friday" => 5,
        "六" | "6" | "sat" | "saturday" => 6,
        "日" | "天" | "7" | "sun" | "sunday" => 7,
        _ => return Err(Damage::NotAWeekday),
    };
    Ok(n)
}

/// Yes or no: `是`/`否`, `Y`/`N`, `1`/`0`, `√`/`×`, `true`/`false`.
pub fn yes_no(raw: &str) -> Result<bool, Damage> {
    match text(raw).to_lowercase().as_str() {
        "是" | "y" | "yes" | "1" | "√" | "✓" | "true" | "有" | "开通" | "已开通" => {
            Ok(true)
        }
        "否" | "n" | "no" | "0" | "×" | "x" | "false" | "无" | "未开通" => Ok(false),
        "" => Err(Damage::Empty),
        _ => Err(Damage::NotYesNo),
    }
}

/// A header cell as compared with the known column names: [`text`] without
/// any spaces, a trailing unit in brackets (`批发价(元/条)`) or colon dropped.
pub fn header(raw: &str) -> String {
    let t: String = text(raw).chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.trim_end_matches([':', '：']);
    match t.find(['(', '（']) {
        Some(at) if at > 0 => t[..at].to_string(),
        _ => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_and_full_width_characters_are_repaired() {
        assert_eq!(text("  王记\u{3000}烟酒店 \t"), "王记 烟酒店");
        assert_eq!(text("１２３ＡＢ"), "123AB");
        assert_eq!(text("黄鹤楼（软蓝）"), "黄鹤楼（软蓝）");
        assert_eq!(text("a\u{200B}b"), "ab");
        assert_eq!(header(" 批发价（元/条） "), "批发价");
        assert_eq!(header("许可证号："), "许可证号");
    }

    #[test]
    fn codes_stored_as_numbers_come_back_when_no_digit_was_lost() {
        assert_eq!(
            code(" ４２１１０３０００００１ "),
            Ok("421103000001".into())
        );
        assert_eq!(code("421103000001.0"), Ok("421103000001".into()));
        assert_eq!(code("4.21103000001E+11"), Ok("421103000001".into()));
        assert_eq!(code("4.21103000001e11"), Ok("421103000001".into()));
        assert_eq!(
            code("4.21103E+11"),
            Err(Damage::LostDigits("4.21103E+11".into()))
        );
        assert_eq!(code("6901-028-075862"), Ok("6901028075862".into()));
        assert_eq!(code("ab12"), Ok("AB12".into()));
        assert_eq!(code("12#4"), Err(Damage::BadCode));
        assert_eq!(code("-421103999993"), Err(Damage::BadCode));
        assert_eq!(text("\u{202E}abc"), "abc");
        assert_eq!(code("  "), Err(Damage::Empty));
    }

    #[test]
    fn quantities_and_prices_read_as_people_write_them() {
        assert_eq!(whole("１２", 100), Ok(12));
        assert_eq!(whole("1,200", 10_000), Ok(1200));
        assert_eq!(whole("12.0", 100), Ok(12));
        assert_eq!(whole("12.5", 100), Err(Damage::NotWhole));
        assert_eq!(whole("-1", 100), Err(Damage::Negative));
        assert_eq!(whole("abc", 100), Err(Damage::NotANumber));
        assert_eq!(whole("101", 100), Err(Damage::TooLarge));
        assert_eq!(yuan_to_fen("23.5"), Ok(2350));
        assert_eq!(yuan_to_fen("¥1,200.05"), Ok(120_005));
        assert_eq!(yuan_to_fen("230元"), Ok(23_000));
        assert_eq!(yuan_to_fen("23.495"), Err(Damage::NotMoney));
        assert_eq!(yuan_to_fen("23.4999999999999"), Ok(2350));
        assert_eq!(yuan_to_fen("-5"), Err(Damage::Negative));
        assert_eq!(yuan_to_fen("."), Err(Damage::NotANumber));
    }

    #[test]
    fn months_in_every_common_spelling() {
        let nov = YearMonth::new(2025, 11);
        for raw in [
            "2025-11",
            "2025/11",
            "2025.11",
            "202511",
            "2025年11月",
            "２０２５年１１月",
            "2025-11-01",
            "2025/11/1",
            "2025-11-01 00:00:00",
            "45962",
        ] {
            assert_eq!(month(raw).ok(), nov, "{raw}");
        }
        assert_eq!(month("2025年1月").ok(), YearMonth::new(2025, 1));
        assert_eq!(month("2025-13"), Err(Damage::NotAMonth));
        assert_eq!(month("11月"), Err(Damage::NotAMonth));
        assert_eq!(month(""), Err(Damage::Empty));
    }

    #[test]
    fn excel_serials_are_1900_dates() {
        assert_eq!(excel_date(45962.0), NaiveDate::from_ymd_opt(2025, 11, 1));
        assert_eq!(excel_date(1.0), NaiveDate::from_ymd_opt(1899, 12, 31));
        assert_eq!(excel_date(60.0), None);
        assert_eq!(
            date("2025年11月3日"),
            Ok(NaiveDate::from_ymd_opt(2025, 11, 3).unwrap_or_default())
        );
    }

    #[test]
    fn weekdays_and_yes_no() {
        assert_eq!(weekday("周三"), Ok(3));
        assert_eq!(weekday("星期日"), Ok(7));
        assert_eq!(weekday("礼拜六"), Ok(6));
        assert_eq!(weekday("5"), Ok(5));
        assert_eq!(weekday("Mon"), Ok(1));
        assert_eq!(weekday("周八"), Err(Damage::NotAWeekday));
        assert_eq!(yes_no("是"), Ok(true));
        assert_eq!(yes_no(" N "), Ok(false));
        assert_eq!(yes_no("maybe"), Err(Damage::NotYesNo));
    }
}
