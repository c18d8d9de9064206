//! A streaming scan of one XML part of a workbook for what would make the
//! spreadsheet parser allocate on the file's word: the shared-string counts
//! (calamine reserves `uniqueCount` strings up front), the sheet's
//! dimension and cell references. It holds no more than one tag in memory
//! and refuses tags and text runs longer than any real workbook has, so the
//! parser after it (quick-xml, which buffers one event at a time) never
//! buffers more either.
//!
//! It splits the input where quick-xml does: text ends at `<`, a tag at `>`
//! outside quotes, a comment at the first `-->` after `<!--`, CDATA at
//! `]]>`, a processing instruction at `?>`. Positions of cells without a
//! reference follow calamine's cell reader (`<row r>`, `</row>`, the count
//! of `<c>` in a row); the reader of the cells checks every position again.

use memchr::{memchr, memchr3};

use super::{Budget, Limits, Refusal};

/// Longest tag (`<…>`) a part may hold; real ones are a few hundred bytes.
pub(super) const MAX_TAG: usize = 64 * 1024;
/// Longest text, comment or CDATA between two tags; a cell holds at most
/// 32,767 characters.
pub(super) const MAX_TEXT: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// Just after `<`.
    Open,
    /// After `<!`: the bytes that tell a comment from CDATA are in `tag`.
    Bang,
    Tag {
        quote: Option<u8>,
    },
    Comment,
    CData,
    Instruction,
}

/// What the parts of one workbook add up to.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// `<si>` elements.
    pub strings: u64,
}

pub(super) struct Scan<'a> {
    limits: &'a Limits,
    state: State,
    /// The tag being read, between `<` and `>`.
    tag: Vec<u8>,
    /// Bytes of the current text, comment, CDATA or instruction.
    run: usize,
    /// The last two bytes of a comment, CDATA or instruction, for an end
    /// marker split between two chunks.
    tail: [u8; 2],
    in_sheet: bool,
    /// Where the next cell without a reference goes (zero-based).
    row: u64,
    col: u64,
}

impl<'a> Scan<'a> {
    pub(super) fn new(limits: &'a Limits) -> Scan<'a> {
        Scan {
            limits,
            state: State::Text,
            tag: Vec::new(),
            run: 0,
            tail: [0, 0],
            in_sheet: false,
            row: 0,
            col: 0,
        }
    }

    /// Scans the next chunk of the part.
    pub(super) fn feed(
        &mut self,
        mut input: &[u8],
        tally: &mut Tally,
        budget: &Budget,
    ) -> Result<(), Refusal> {
        budget.check()?;
        while !input.is_empty() {
            match self.state {
                State::Text => match memchr(b'<', input) {
                    Some(i) => {
                        self.grow_run(i)?;
                        input = &input[i + 1..];
                        self.state = State::Open;
                    }
                    None => {
                        self.grow_run(input.len())?;
                        input = &[];
                    }
                },
                State::Open => {
                    self.tag.clear();
                    self.run = 0;
                    match input[0] {
                        b'!' => {
                            self.state = State::Bang;
                            input = &input[1..];
                        }
                        b'?' => {
                            // The `?` after `<` may be the one of `?>`, as in quick-xml.
                            self.tail = [0, b'?'];
                            self.state = State::Instruction;
                            input = &input[1..];
                        }
                        _ => self.state = State::Tag { quote: None },
                    }
                }
                State::Bang => {
                    self.tag.push(input[0]);
                    input = &input[1..];
                    if self.tag == b"--" {
                        self.tail = [0, 0];
                        self.state = State::Comment;
                    } else if self.tag == b"[CDATA[" {
                        self.tail = [0, 0];
                        self.state = State::CData;
                    } else if !b"--".starts_with(&self.tag) && !b"[CDATA[".starts_with(&self.tag) {
                        // A DOCTYPE (entities, external references) or
                        // something quick-xml would not read: xlsx has none.
                        return Err(Refusal::Declaration);
                    }
                }
                State::Tag { quote: None } => match memchr3(b'>', b'"', b'\'', input) {
                    Some(i) => {
                        let found = input[i];
                        self.push_tag(&input[..i])?;
                        input = &input[i + 1..];
                        if found == b'>' {
                            self.element(tally)?;
                            self.state = State::Text;
                        } else {
                            self.push_tag(&[found])?;
                            self.state = State::Tag { quote: Some(found) };
                        }
                    }
                    None => {
                        self.push_tag(input)?;
                        input = &[];
                    }
                },
                State::Tag { quote: Some(q) } => match memchr(q, input) {
                    Some(i) => {
                        self.push_tag(&input[..=i])?;
                        input = &input[i + 1..];
                        self.state = State::Tag { quote: None };
                    }
                    None => {
                        self.push_tag(input)?;
                        input = &[];
                    }
                },
                State::Comment | State::CData | State::Instruction => {
                    input = self.skip_to_end_marker(input)?;
                }
            }
        }
        Ok(())
    }

    fn grow_run(&mut self, n: usize) -> Result<(), Refusal> {
        self.run = self.run.saturating_add(n);
        if self.run > MAX_TEXT {
            return Err(Refusal::Oversized(MAX_TEXT));
        }
        Ok(())
    }

    fn push_tag(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        if self.tag.len() + bytes.len() > MAX_TAG {
            return Err(Refusal::Oversized(MAX_TAG));
        }
        self.tag.extend_from_slice(bytes);
        Ok(())
    }

    /// Consumes a comment, CDATA or instruction up to and including its
    /// end marker (`-->`, `]]>`, `?>`); returns what follows it.
    fn skip_to_end_marker<'i>(&mut self, input: &'i [u8]) -> Result<&'i [u8], Refusal> {
        let (mark, length) = match self.state {
            State::Comment => (b'-', 2),
            State::CData => (b']', 2),
            _ => (b'?', 1),
        };
        let tail = self.tail;
        let before = |i: usize, k: usize| -> u8 {
            if i >= k {
                input[i - k]
            } else {
                tail[2 + i - k]
            }
        };
        for i in memchr::memchr_iter(b'>', input) {
            if (1..=length).all(|k| before(i, k) == mark) {
                self.grow_run(i + 1)?;
                self.state = State::Text;
                self.run = 0;
                return Ok(&input[i + 1..]);
            }
        }
        self.grow_run(input.len())?;
        self.tail = match input {
            [.., a, b] => [*a, *b],
            [b] => [self.tail[1], *b],
            [] => self.tail,
        };
        Ok(&[])
    }

    /// A whole tag has been read into `self.tag`.
    fn element(&mut self, tally: &mut Tally) -> Result<(), Refusal> {
        let tag = std::mem::take(&mut self.tag);
        let result = self.element_of(&tag, tally);
        self.tag = tag;
        result
    }

    fn element_of(&mut self, tag: &[u8], tally: &mut Tally) -> Result<(), Refusal> {
        if let Some(end) = tag.strip_prefix(b"/") {
            match local_name(name_of(end)) {
                b"row" if self.in_sheet => self.end_row(),
                b"sheetData" => self.in_sheet = false,
                _ => {}
            }
            return Ok(());
        }
        let (content, empty) = match tag.strip_suffix(b"/") {
            Some(content) => (content, true),
            None => (tag, false),
        };
        let name = name_of(content);
        let attributes = &content[name.len()..];
        match local_name(name) {
            b"sheetData" => {
                self.in_sheet = !empty;
                self.row = 0;
                self.col = 0;
            }
            b"dimension" => {
                for (key, value) in Attributes(attributes) {
                    if is_named(key, b"ref") {
                        self.dimension(value)?;
                    }
                }
            }
            b"row" if self.in_sheet => {
                let mut row = None;
                for (key, value) in Attributes(attributes) {
                    if is_named(key, b"r") {
                        let (r, col) = reference(value)?;
                        self.check(r, col.unwrap_or(0))?;
                        if key == b"r" && row.is_none() {
                            row = Some(r);
                        }
                    }
                }
                if let Some(row) = row {
                    self.row = row;
                }
                if empty {
                    self.end_row();
                }
            }
            b"c" if self.in_sheet => {
                let mut at = None;
                for (key, value) in Attributes(attributes) {
                    if is_named(key, b"r") {
                        let (row, col) = reference(value)?;
                        let col = col.ok_or(Refusal::BadReference)?;
                        self.check(row, col)?;
                        if key == b"r" {
                            at = Some((row, col));
                        }
                    }
                }
                let (row, col) = at.unwrap_or((self.row, self.col));
                self.check(row, col)?;
                self.col = col + 1;
            }
            b"sst" => {
                for (key, value) in Attributes(attributes) {
                    if is_named(key, b"count") || is_named(key, b"uniqueCount") {
                        let count = count(value)?;
                        if count > self.limits.strings {
                            return Err(Refusal::TooManyStrings(self.limits.strings));
                        }
                    }
                }
            }
            b"si" => {
                tally.strings += 1;
                if tally.strings > self.limits.strings {
                    return Err(Refusal::TooManyStrings(self.limits.strings));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end_row(&mut self) {
        self.row = self.row.saturating_add(1);
        self.col = 0;
    }

    fn check(&self, row: u64, col: u64) -> Result<(), Refusal> {
        if row >= u64::from(self.limits.rows) {
            return Err(Refusal::TooManyRows(self.limits.rows));
        }
        if col >= u64::from(self.limits.columns) {
            return Err(Refusal::TooManyColumns(self.limits.columns));
        }
        Ok(())
    }

    /// `A1` or `A1:D20`, each corner within the limits and the range not reversed.
    fn dimension(&self, value: &[u8]) -> Result<(), Refusal> {
        let mut corners = Vec::with_capacity(2);
        for part in value.split(|&b| b == b':') {
            if corners.len() == 2 {
                return Err(Refusal::BadReference);
            }
            let (row, col) = reference(part)?;
            let col = col.ok_or(Refusal::BadReference)?;
            self.check(row, col)?;
            corners.push((row, col));
        }
        if let [start, end] = corners[..] {
            if end.0 < start.0 || end.1 < start.1 {
                return Err(Refusal::BadReference);
            }
        }
        Ok(())
    }
}

/// The element name: up to the first whitespace.
fn name_of(content: &[u8]) -> &[u8] {
    let end = content
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(content.len());
    &content[..end]
}

/// The part after the first `:`, as quick-xml's local name.
fn local_name(name: &[u8]) -> &[u8] {
    match memchr(b':', name) {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// `key` is `name` or `prefix:name`.
fn is_named(key: &[u8], name: &[u8]) -> bool {
    key == name
        || key
            .strip_suffix(name)
            .is_some_and(|prefix| prefix.last() == Some(&b':'))
}

/// Attributes as calamine reads them: a key up to `=`, then a quoted
/// value. A malformed one ends the list (calamine fails on it).
struct Attributes<'a>(&'a [u8]);

impl<'a> Iterator for Attributes<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let raw = self.0.trim_ascii_start();
        if raw.is_empty() {
            return None;
        }
        let eq = memchr(b'=', raw)?;
        let key = raw[..eq].trim_ascii_end();
        let rest = raw[eq + 1..].trim_ascii_start();
        let quote = *rest.first()?;
        if quote != b'"' && quote != b'\'' {
            self.0 = &[];
            return None;
        }
        let value_and_more = &rest[1..];
        let end = memchr(quote, value_and_more).unwrap_or(value_and_more.len());
        self.0 = value_and_more.get(end + 1..).unwrap_or(&[]);
        Some((key, &value_and_more[..end]))
    }
}

/// A reference as calamine reads it: letters (the column, `A` is 0), then
/// the 1-based row. Zero-based (row, column); no column without letters.
/// Numbers beyond every limit (and calamine's `u32`) read as `u64::MAX`,
/// so the limit check refuses them before calamine could overflow.
fn reference(text: &[u8]) -> Result<(u64, Option<u64>), Refusal> {
    let letters = text.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let digits = &text[letters..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Refusal::BadReference);
    }
    let row = if digits.len() > 12 {
        u64::MAX
    } else {
        let row = digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        row.checked_sub(1).ok_or(Refusal::BadReference)?
    };
    let col = match letters {
        0 => None,
        1..=7 => Some(
            text[..letters].iter().fold(0u64, |n, c| {
                n * 26 + u64::from(c.to_ascii_uppercase() - b'A') + 1
            }) - 1,
        ),
        _ => Some(u64::MAX),
    };
    Ok((row, col))
}

/// A count attribute: plain digits (calamine reads leading zeros too).
fn count(text: &[u8]) -> Result<u64, Refusal> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return Err(Refusal::BadCount);
    }
    Ok(text.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits() -> Limits {
        Limits {
            rows: 100,
            columns: 10,
            strings: 50,
            ..Limits::forecast_sheet(0, 0)
        }
    }

    /// Scans `xml` cut into chunks of `chunk` bytes.
    fn scan(xml: &str, chunk: usize) -> Result<Tally, Refusal> {
        let limits = limits();
        let budget = Budget::new(Duration::from_secs(5));
        let mut tally = Tally::default();
        let mut scan = Scan::new(&limits);
        for part in xml.as_bytes().chunks(chunk) {
            scan.feed(part, &mut tally, &budget)?;
        }
        Ok(tally)
    }

    fn scan_all(xml: &str) -> Result<Tally, Refusal> {
        let whole = scan(xml, xml.len().max(1));
        for chunk in [1, 2, 3, 7] {
            assert_eq!(
                scan(xml, chunk).map(|t| t.strings),
                whole.as_ref().map(|t| t.strings).map_err(Clone::clone),
                "the same answer in chunks of {chunk}: {xml}"
            );
        }
        whole
    }

    const SHEET: &str = r#"<?xml version="1.0"?><worksheet><dimension ref="A1:C3"/><sheetData>"#;

    fn sheet(rows: &str) -> String {
        format!("{SHEET}{rows}</sheetData></worksheet>")
    }

    #[test]
    fn references_are_read_as_calamine_reads_them() {
        assert_eq!(reference(b"A1"), Ok((0, Some(0))));
        assert_eq!(reference(b"xfd1048576"), Ok((1_048_575, Some(16_383))));
        assert_eq!(reference(b"12"), Ok((11, None)));
        assert_eq!(reference(b"A0"), Err(Refusal::BadReference));
        assert_eq!(reference(b"$A$1"), Err(Refusal::BadReference));
        assert_eq!(reference(b"A"), Err(Refusal::BadReference));
        assert_eq!(reference(b"1A"), Err(Refusal::BadReference));
        assert_eq!(reference(b"ZZZZZZZZZZZZZZZZ1"), Ok((0, Some(u64::MAX))));
        assert_eq!(reference(b"A99999999999999999999"), Ok((u64::MAX, Some(0))));
        assert_eq!(count(b"0004"), Ok(4));
        assert_eq!(count(b"99999999999999999999999"), Ok(u64::MAX));
        assert_eq!(count(b"+4"), Err(Refusal::BadCount));
    }

    #[test]
    fn a_sheet_within_its_limits_passes() {
        let xml = sheet(
            r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>2</v></c></row><row><c/><c><v>3</v></c></row><!-- a > comment --><![CDATA[<c r="XFD1">]]>"#,
        );
        assert!(scan_all(&xml).is_ok());
    }

    #[test]
    fn cells_beyond_the_limits_are_refused_wherever_their_position_comes_from() {
        let cases = [
            (
                r#"<row><c r="XFD1048576"><v>1</v></c></row>"#.to_string(),
                Refusal::TooManyRows(100),
            ),
            (
                r#"<row><c r="K1"/></row>"#.into(),
                Refusal::TooManyColumns(10),
            ),
            (
                r#"<row><c r="ZZZZZZZZZZ1"/></row>"#.into(),
                Refusal::TooManyColumns(10),
            ),
            (r#"<row r="101"/>"#.into(), Refusal::TooManyRows(100)),
            // The row comes from the count of rows, the column from the count of cells.
            (
                format!("{}<row><c/></row>", "<row/>".repeat(100)),
                Refusal::TooManyRows(100),
            ),
            (
                format!("<row>{}</row>", "<c/>".repeat(11)),
                Refusal::TooManyColumns(10),
            ),
            (
                r#"<row r="50"/><c x:r="A500"/>"#.into(),
                Refusal::TooManyRows(100),
            ),
            (
                r#"<row><c r="A1" r="Z1"/></row>"#.into(),
                Refusal::TooManyColumns(10),
            ),
            (
                r#"<row><c r='A1'/><c r="A1x"/></row>"#.into(),
                Refusal::BadReference,
            ),
        ];
        for (rows, refusal) in cases {
            assert_eq!(scan_all(&sheet(&rows)).map(|_| ()), Err(refusal), "{rows}");
        }
    }

    #[test]
    fn a_dimension_beyond_the_limits_or_reversed_is_refused() {
        for (dimension, refusal) in [
            ("A1:XFD1048576", Refusal::TooManyRows(100)),
            ("A1:K5", Refusal::TooManyColumns(10)),
            ("C3:A1", Refusal::BadReference),
            ("A1:B2:C3", Refusal::BadReference),
            ("", Refusal::BadReference),
        ] {
            let xml =
                format!(r#"<worksheet><dimension ref="{dimension}"/><sheetData/></worksheet>"#);
            assert_eq!(scan_all(&xml).map(|_| ()), Err(refusal), "{dimension}");
        }
    }

    #[test]
    fn shared_strings_are_counted_declared_and_present() {
        let declared =
            r#"<sst count="4000000000" uniqueCount="4000000000"><si><t>a</t></si></sst>"#;
        assert_eq!(
            scan_all(declared).map(|_| ()),
            Err(Refusal::TooManyStrings(50))
        );
        let odd = r#"<x:sst uniqueCount="4e9"></x:sst>"#;
        assert_eq!(scan_all(odd).map(|_| ()), Err(Refusal::BadCount));
        let present = format!(r#"<sst count="1">{}</sst>"#, "<si><t>a</t></si>".repeat(51));
        assert_eq!(
            scan_all(&present).map(|_| ()),
            Err(Refusal::TooManyStrings(50))
        );
        let fine = format!(r#"<sst count="50">{}</sst>"#, "<si/>".repeat(50));
        assert_eq!(scan_all(&fine).map(|t| t.strings), Ok(50));
    }

    #[test]
    fn comments_end_where_quick_xml_ends_them() {
        // `<!-->` and `<!--->` do not end the comment; the cell inside is skipped.
        assert!(scan_all(&sheet(r#"<!--><c r="XFD1"/>-->"#)).is_ok());
        assert!(scan_all(&sheet(r#"<!---><c r="XFD1"/>-->"#)).is_ok());
        // After `-->` the cell is read.
        assert_eq!(
            scan_all(&sheet(r#"<!-- x --><row><c r="XFD1"/></row>"#)).map(|_| ()),
            Err(Refusal::TooManyColumns(10))
        );
        // A `>` inside quotes does not end a tag.
        assert_eq!(
            scan_all(&sheet(r#"<row x=">"><c r="XFD1"/></row>"#)).map(|_| ()),
            Err(Refusal::TooManyColumns(10))
        );
        // `<?>` ends an instruction, as in quick-xml.
        assert_eq!(
            scan_all(&sheet(r#"<?><row><c r="XFD1"/></row>"#)).map(|_| ()),
            Err(Refusal::TooManyColumns(10))
        );
    }

    #[test]
    fn doctypes_and_oversized_runs_are_refused() {
        assert_eq!(
            scan_all(r#"<!DOCTYPE x [<!ENTITY a "b">]><sst/>"#).map(|_| ()),
            Err(Refusal::Declaration)
        );
        let text = format!("<sst>{}</sst>", " ".repeat(MAX_TEXT + 1));
        assert_eq!(
            scan(&text, 4096).map(|_| ()),
            Err(Refusal::Oversized(MAX_TEXT))
        );
        let tag = format!(r#"<sst a="{}"/>"#, "x".repeat(MAX_TAG));
        assert_eq!(
            scan(&tag, 4096).map(|_| ()),
            Err(Refusal::Oversized(MAX_TAG))
        );
        let comment = format!("<!--{}-->", "-".repeat(MAX_TEXT + 1));
        assert_eq!(
            scan(&comment, 4096).map(|_| ()),
            Err(Refusal::Oversized(MAX_TEXT))
        );
    }

    #[test]
    fn a_scan_past_its_deadline_stops() {
        let limits = limits();
        let budget = Budget::new(Duration::ZERO);
        std::thread::sleep(Duration::from_millis(2));
        let mut scan = Scan::new(&limits);
        assert_eq!(
            scan.feed(b"<sst/>", &mut Tally::default(), &budget),
            Err(Refusal::TooComplex)
        );
    }
}
