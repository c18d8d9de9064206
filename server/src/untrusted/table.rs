//! The company's own files for the master-data imports: an xlsx workbook
//! (its first sheet) or CSV in UTF-8 (with or without BOM), GB18030 (what
//! Chinese Excel writes as "CSV") or UTF-16 with tabs (Excel's "Unicode
//! text"). Each line's encoding is decided on its own, so a file pasted
//! together from two exports is read, and the lines in the minority
//! encoding are named rather than turned into mojibake.

use std::borrow::Cow;

use axum::body::Bytes;

use super::{package, Budget, Guard, Limits, ReadError, Refusal, MIB};
use crate::xlsx;

/// A CSV line longer than this is refused.
pub const MAX_LINE_BYTES: usize = 8192;
/// CSV lines read at most (10 million history rows and room to spare).
pub const MAX_CSV_LINES: u32 = 12_000_000;
/// Columns read from a row; further cells are ignored.
pub const MAX_COLUMNS: usize = 64;

/// The workbook limits of an import: one sheet of at most Excel's rows.
pub fn workbook_limits() -> Limits {
    Limits {
        entries: 200,
        part_bytes: 256 * MIB,
        total_bytes: 320 * MIB,
        ratio: 200,
        rows: 1_048_576,
        columns: MAX_COLUMNS as u32,
        strings: 4_000_000,
    }
}

/// A file's rows, ready to be walked.
pub enum Table {
    /// CSV text, decoded; lines whose encoding is not the file's.
    Csv {
        /// UTF-8 text: the upload itself when it was UTF-8, else decoded.
        text: Bytes,
        delimiter: u8,
        encoding: &'static str,
        odd_lines: Vec<(u64, &'static str)>,
    },
    /// Rows of (column, text) cells.
    Xlsx(Vec<(u64, Vec<(u16, String)>)>),
}

impl Table {
    pub fn encoding(&self) -> &'static str {
        match self {
            Table::Csv { encoding, .. } => encoding,
            Table::Xlsx(_) => "xlsx",
        }
    }

    /// Lines in another encoding than the rest, with that encoding.
    pub fn odd_lines(&self) -> &[(u64, &'static str)] {
        match self {
            Table::Csv { odd_lines, .. } => odd_lines,
            Table::Xlsx(_) => &[],
        }
    }

    /// About how many rows (for progress).
    pub fn estimated_rows(&self) -> u64 {
        match self {
            Table::Csv { text, .. } => memchr::memchr_iter(b'\n', text).count() as u64 + 1,
            Table::Xlsx(rows) => rows.len() as u64,
        }
    }

    /// Calls `each` with every row's 1-based line and cells (at most
    /// [`MAX_COLUMNS`]); blank rows are skipped. Stops at a CSV error or
    /// a line past the limits.
    pub fn each(&self, budget: &Budget, mut each: impl FnMut(u64, &[&str])) -> Result<(), Refusal> {
        match self {
            Table::Xlsx(rows) => {
                let mut cells: Vec<&str> = Vec::with_capacity(16);
                for (n, (line, row)) in rows.iter().enumerate() {
                    if n % 8192 == 0 {
                        budget.check()?;
                    }
                    cells.clear();
                    let width = row
                        .iter()
                        .map(|(c, _)| usize::from(*c) + 1)
                        .max()
                        .unwrap_or(0);
                    cells.resize(width, "");
                    for (c, text) in row {
                        cells[usize::from(*c)] = text;
                    }
                    if cells.iter().any(|c| !c.trim().is_empty()) {
                        each(*line, &cells);
                    }
                }
                Ok(())
            }
            Table::Csv {
                text, delimiter, ..
            } => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .delimiter(*delimiter)
                    .from_reader(text.as_ref());
                let mut record = csv::StringRecord::new();
                let mut start = 0;
                let mut n = 0u64;
                loop {
                    let line = reader.position().line();
                    match reader.read_record(&mut record) {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(_) => return Err(Refusal::Unparseable),
                    }
                    n += 1;
                    let end = reader.position().byte();
                    if end.saturating_sub(start) > MAX_LINE_BYTES as u64 {
                        return Err(Refusal::LineTooLong {
                            line: line as usize,
                            limit: MAX_LINE_BYTES,
                        });
                    }
                    start = end;
                    if n > u64::from(MAX_CSV_LINES) {
                        return Err(Refusal::TooManyLines(MAX_CSV_LINES));
                    }
                    if n.is_multiple_of(8192) {
                        budget.check()?;
                    }
                    let cells: Vec<&str> = record.iter().take(MAX_COLUMNS).collect();
                    if cells.iter().any(|c| !c.trim().is_empty()) {
                        each(line, &cells);
                    }
                }
                Ok(())
            }
        }
    }
}

/// Reads an upload as a table; `Ok(None)` when it is neither a workbook
/// nor text in a known encoding.
pub fn read(body: &Bytes, budget: &Budget) -> Result<Option<Table>, Refusal> {
    if body.starts_with(b"PK") {
        let limits = workbook_limits();
        let read = package::inspect(body, &limits, budget)
            .and_then(|()| xlsx::read_table(body, MAX_COLUMNS, &mut Guard::new(&limits, budget)));
        return match read {
            Ok(rows) => Ok(Some(Table::Xlsx(rows))),
            Err(ReadError::NotXlsx) => Ok(None),
            Err(ReadError::Refused(refusal)) => Err(refusal),
        };
    }
    let Some((text, encoding, odd_lines)) = decode(body) else {
        return Ok(None);
    };
    // The line limit before any parsing: a file past it is refused at once.
    let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    if lines > MAX_CSV_LINES as usize {
        return Err(Refusal::TooManyLines(MAX_CSV_LINES));
    }
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches('\t').count() > first.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let text = match text {
        // The upload itself, without a copy (a history file is hundreds of MB).
        Cow::Borrowed(t) => body.slice(body.len() - t.len()..),
        Cow::Owned(t) => Bytes::from(t),
    };
    Ok(Some(Table::Csv {
        text,
        delimiter,
        encoding,
        odd_lines,
    }))
}

const UTF8: &str = "UTF-8";
const UTF8_BOM: &str = "UTF-8 BOM";
const GB18030: &str = "GB18030";

/// The text of a CSV upload. UTF-16 with a BOM is decoded whole; otherwise
/// each line is UTF-8 if it is valid UTF-8, else GB18030 (a GB18030 line
/// of Chinese is almost never valid UTF-8), and the file's encoding is
/// that of most lines with non-ASCII text. `None`: not text.
fn decode(body: &[u8]) -> Option<(Cow<'_, str>, &'static str, Vec<(u64, &'static str)>)> {
    if body.starts_with(&[0xFF, 0xFE]) || body.starts_with(&[0xFE, 0xFF]) {
        let (text, _, malformed) = encoding_rs::UTF_16LE.decode(body);
        return (!malformed).then(|| (Cow::Owned(text.into_owned()), "UTF-16", Vec::new()));
    }
    if body.contains(&0) {
        return None;
    }
    let (bom, rest) = match body.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    if let Ok(text) = std::str::from_utf8(rest) {
        return Some((
            Cow::Borrowed(text),
            if bom { UTF8_BOM } else { UTF8 },
            Vec::new(),
        ));
    }
    let mut out = String::with_capacity(rest.len() + rest.len() / 2);
    let mut lines: Vec<(u64, bool)> = Vec::new();
    for (i, line) in rest.split_inclusive(|&b| b == b'\n').enumerate() {
        if line.is_ascii() {
            out.push_str(std::str::from_utf8(line).ok()?);
            continue;
        }
        if let Ok(text) = std::str::from_utf8(line) {
            out.push_str(text);
            lines.push((i as u64 + 1, true));
        } else {
            let text =
                encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(line)?;
            out.push_str(&text);
            lines.push((i as u64 + 1, false));
        }
    }
    let utf8 = lines.iter().filter(|(_, u)| *u).count();
    let gb = lines.len() - utf8;
    let (encoding, odd) = if utf8 > gb {
        (if bom { UTF8_BOM } else { UTF8 }, GB18030)
    } else {
        (GB18030, UTF8)
    };
    let odd_lines = lines
        .into_iter()
        .filter(|(_, u)| (*u && odd == UTF8) || (!*u && odd == GB18030))
        .map(|(line, _)| (line, odd))
        .collect();
    Some((Cow::Owned(out), encoding, odd_lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rows(
        body: &[u8],
    ) -> (
        Vec<(u64, Vec<String>)>,
        &'static str,
        Vec<(u64, &'static str)>,
    ) {
        let budget = Budget::new(Duration::from_secs(5));
        let table = read(&Bytes::copy_from_slice(body), &budget)
            .expect("read")
            .expect("a table");
        let mut out = Vec::new();
        table
            .each(&budget, |line, cells| {
                out.push((line, cells.iter().map(|c| c.to_string()).collect()))
            })
            .expect("rows");
        (out, table.encoding(), table.odd_lines().to_vec())
    }

    #[test]
    fn utf8_with_a_bom_and_gb18030_read_the_same() {
        let text = "许可证号,客户名称\n421103000001,王记烟酒\n";
        let (utf8, enc, _) = rows(format!("\u{feff}{text}").as_bytes());
        assert_eq!(enc, "UTF-8 BOM");
        let (gb_bytes, _, _) = encoding_rs::GB18030.encode(text);
        let (gb, enc, odd) = rows(&gb_bytes);
        assert_eq!(enc, "GB18030");
        assert!(odd.is_empty());
        assert_eq!(utf8, gb);
        assert_eq!(gb[1].1, vec!["421103000001", "王记烟酒"]);
        assert_eq!(gb[1].0, 2);
    }

    #[test]
    fn a_line_in_the_other_encoding_is_named() {
        let (gb_line, _, _) = encoding_rs::GB18030.encode("421103000002,李家小卖部\n");
        let mut body = "许可证号,客户名称\n421103000001,王记烟酒\n421103000003,张三商店\n"
            .as_bytes()
            .to_vec();
        body.extend_from_slice(&gb_line);
        let (rows, enc, odd) = rows(&body);
        assert_eq!(enc, "UTF-8");
        assert_eq!(odd, vec![(4, "GB18030")]);
        assert_eq!(rows[3].1[1], "李家小卖部");
    }

    #[test]
    fn binary_is_not_a_table_and_tabs_are_delimiters() {
        let budget = Budget::new(Duration::from_secs(5));
        assert!(read(&Bytes::from_static(b"\x00\x01\x02"), &budget)
            .expect("read")
            .is_none());
        let (rows, _, _) = rows("a\tb\n1\t2\n".as_bytes());
        assert_eq!(rows[1].1, vec!["1", "2"]);
    }
}
