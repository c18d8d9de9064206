//! CSV files for Excel on a Chinese Windows: UTF-8 with a BOM (without it
//! Excel reads the file as GBK and garbles it), every cell made inert.

/// A cell Excel will not run: text starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return is a formula to it (a retailer's name such as
/// `=HYPERLINK(…)` would run on the reader's PC), so it gets a leading `'`.
pub fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A header row and the rows as a CSV file with a BOM, every cell inert.
pub fn file<H, R, C>(header: &[H], rows: impl IntoIterator<Item = R>) -> anyhow::Result<Vec<u8>>
where
    H: AsRef<str>,
    R: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record(header.iter().map(|h| inert(h.as_ref()).into_owned()))?;
    for row in rows {
        out.write_record(row.into_iter().map(|c| inert(c.as_ref()).into_owned()))?;
    }
    out.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_made_text_and_everything_else_is_kept() {
        let bytes = file(
            &["店名", "数量"],
            [
                vec!["=HYPERLINK(\"http://x\")", "5"],
                vec!["+1+cmd|' /C calc'!A0", "0"],
                vec!["@SUM(1)", "1"],
                vec!["-2+3", "2"],
                vec!["好又多", "3"],
            ],
        )
        .expect("csv");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(
            lines,
            [
                "店名,数量",
                "\"'=HYPERLINK(\"\"http://x\"\")\",5",
                "'+1+cmd|' /C calc'!A0,0",
                "'@SUM(1),1",
                "'-2+3,2",
                "好又多,3",
            ]
        );
    }
}
