//! A forecast sheet as an xlsx workbook, in the grid's layout: row 1 holds
//! the spec names, row 2 their codes (what an import matches on), then one
//! row per retailer: licence number, name, class, market department and one
//! column per spec in cartons.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, DataRef, Reader, Xlsx, XlsxError};
use domain::forecast::parse_cell;
use domain::forecast::view::SheetView;
use domain::Lang;
use rust_xlsxwriter::{Format, Workbook};

use crate::untrusted::{ActualRow, Guard, ReadError, Refusal, Rows};

pub const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Columns before the first spec.
const FIXED: u16 = 4;
/// Rows before the first retailer.
const HEADER_ROWS: u32 = 2;

pub fn write_sheet(view: &SheetView, lang: Lang) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let grey = Format::new().set_font_color("#808080");
    let sheet = workbook.add_worksheet();
    sheet.set_name(view.cycle.month.to_string())?;
    let fixed = [
        lang.pick("许可证号", "Licence no."),
        lang.pick("零售户", "Retailer"),
        lang.pick("档位", "Class"),
        lang.pick("市场部", "Market dept."),
    ];
    for (c, title) in fixed.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *title, &bold)?;
    }
    sheet.write_string_with_format(1, 0, lang.pick("品规编码 →", "Spec code →"), &grey)?;
    for (s, spec) in view.specs.iter().enumerate() {
        let col = FIXED + s as u16;
        sheet.write_string_with_format(0, col, &spec.name, &bold)?;
        sheet.write_string_with_format(1, col, &spec.code, &grey)?;
        sheet.set_column_width(col, 12)?;
    }
    sheet.set_column_width(0, 16)?;
    sheet.set_column_width(1, 24)?;
    for (r, row) in view.rows.iter().enumerate() {
        let line = HEADER_ROWS + r as u32;
        sheet.write_string(line, 0, &row.licence_no)?;
        sheet.write_string(line, 1, &row.name)?;
        sheet.write_string(line, 2, &row.class_code)?;
        sheet.write_string(line, 3, &row.market_unit)?;
        for s in 0..view.specs.len() {
            if let Some(v) = view.value[view.index(r, s)] {
                sheet.write_number(line, FIXED + s as u16, v as f64)?;
            }
        }
    }
    sheet.set_freeze_panes(HEADER_ROWS, FIXED)?;
    workbook.save_to_buffer()
}

/// The cells of an import: (retailer, spec, value), and how many rows.
#[derive(Debug)]
pub struct Parsed {
    pub rows: usize,
    pub cells: Vec<(i64, i64, Option<i64>)>,
}

/// A cell reference such as `E7` for a zero-based row and column.
pub fn cell_ref(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut n = col + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect::<String>() + &(row + 1).to_string()
}

/// The error of an upload that is not a workbook.
pub fn not_xlsx(lang: Lang) -> Vec<(String, String)> {
    vec![(
        "file".to_string(),
        lang.pick(
            "不是有效的 xlsx 文件，请使用导出的模板",
            "Not an xlsx workbook; use the exported layout",
        )
        .to_string(),
    )]
}

/// The most of a cell's text an import keeps: licence numbers, spec codes
/// and quantities are far shorter; a longer text is wrong anyway, and is
/// kept (and echoed in error messages) only this far, marked with "…".
pub const MAX_CELL_TEXT: usize = 64;

fn capped(text: &str) -> String {
    if text.len() <= MAX_CELL_TEXT {
        return text.to_string();
    }
    let mut end = MAX_CELL_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Streams the cells of the first worksheet that hold a value to `each`,
/// in file order, through calamine's cell reader: nothing is allocated by
/// the sheet's declared dimension or by the spread of its cells, and
/// `guard` sees every position (and the parse's deadline) first. Call it
/// on bytes that passed `untrusted`'s package checks: opening the workbook
/// reads its shared strings.
fn each_cell(
    bytes: &[u8],
    guard: &mut Guard,
    mut each: impl FnMut(u32, u32, Data),
) -> Result<(), ReadError> {
    let mut workbook: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| ReadError::NotXlsx)?;
    let Some(name) = workbook.sheet_names().first().cloned() else {
        return Err(ReadError::NotXlsx);
    };
    let mut cells = match workbook.worksheet_cells_reader(&name) {
        Ok(cells) => cells,
        // A chart sheet first: no cells, as calamine's range would have it.
        Err(XlsxError::NotAWorksheet(_)) => return Ok(()),
        Err(_) => return Err(ReadError::NotXlsx),
    };
    while let Some(cell) = cells.next_cell().map_err(|_| ReadError::NotXlsx)? {
        let (row, col) = cell.get_position();
        guard.cell(row, col)?;
        let value = match cell.get_value() {
            DataRef::Empty => continue,
            // Text is cut before it is copied: a cell may point at a
            // shared string of 60,000 characters, and 800,000 cells
            // pointing at it would otherwise be 48 GB of copies (seen).
            DataRef::SharedString(text) => Data::String(capped(text)),
            DataRef::String(text) => Data::String(capped(text)),
            other => Data::from(other.clone()),
        };
        each(row, col, value);
    }
    Ok(())
}

/// Reads a workbook in the export's layout and checks every cell against
/// the sheet's retailers, specs and bounds. Errors are (cell, message); a
/// cell past `guard`'s limits refuses the whole file.
pub fn read_sheet(
    bytes: &[u8],
    view: &SheetView,
    lang: Lang,
    guard: &mut Guard,
) -> Result<Result<Parsed, Vec<(String, String)>>, Refusal> {
    let mut grid: HashMap<(u32, u32), Data> = HashMap::new();
    let (mut bottom, mut right) = (0, 0);
    let read = each_cell(bytes, guard, |row, col, data| {
        bottom = bottom.max(row);
        right = right.max(col);
        grid.insert((row, col), data);
    });
    match read {
        Ok(()) => Ok(check_sheet(&grid, (bottom, right), view, lang)),
        Err(ReadError::NotXlsx) => Ok(Err(not_xlsx(lang))),
        Err(ReadError::Refused(refusal)) => Err(refusal),
    }
}

/// The checks of [`read_sheet`] on the cells read; `bottom` and `right`
/// are the last row and column that hold a value.
fn check_sheet(
    grid: &HashMap<(u32, u32), Data>,
    (bottom, right): (u32, u32),
    view: &SheetView,
    lang: Lang,
) -> Result<Parsed, Vec<(String, String)>> {
    let at = |row: u32, col: u32| -> &Data { grid.get(&(row, col)).unwrap_or(&Data::Empty) };
    let mut errors = Vec::new();

    let spec_ids: HashMap<&str, (usize, i64)> = view
        .specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.code.as_str(), (i, s.spec_id)))
        .collect();
    let mut columns = Vec::new();
    for col in u32::from(FIXED)..=right {
        let code = text_of(at(1, col));
        if code.is_empty() {
            continue;
        }
        match spec_ids.get(code.as_str()) {
            Some(&spec) => columns.push((col, spec)),
            None => errors.push((
                cell_ref(1, col),
                match lang {
                    Lang::Zh => format!("品规编码 {code} 不在本期预测品规中"),
                    Lang::En => format!("Spec code {code} is not in this cycle"),
                },
            )),
        }
    }
    if columns.is_empty() && errors.is_empty() {
        return Err(vec![(
            cell_ref(1, u32::from(FIXED)),
            lang.pick(
                "第 2 行没有品规编码，请使用导出的模板",
                "Row 2 has no spec codes; use the exported layout",
            )
            .to_string(),
        )]);
    }
    let rows: HashMap<&str, (usize, i64)> = view
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.licence_no.as_str(), (i, r.retailer_id)))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut cells = Vec::new();
    let mut row_count = 0;
    for row in HEADER_ROWS..=bottom.max(HEADER_ROWS) {
        let licence = text_of(at(row, 0));
        if licence.is_empty() {
            continue;
        }
        let Some(&(r, retailer_id)) = rows.get(licence.as_str()) else {
            errors.push((
                cell_ref(row, 0),
                match lang {
                    Lang::Zh => format!("许可证号 {licence} 不在您本期的预测表中"),
                    Lang::En => format!("Licence {licence} is not on your sheet"),
                },
            ));
            continue;
        };
        if !seen.insert(retailer_id) {
            errors.push((
                cell_ref(row, 0),
                lang.pick("零售户重复", "Retailer listed twice").to_string(),
            ));
            continue;
        }
        row_count += 1;
        for &(col, (s, spec_id)) in &columns {
            let bound = view.bound[view.index(r, s)];
            match parse_data(at(row, col), bound) {
                Ok(value) => cells.push((retailer_id, spec_id, value)),
                Err(message) => errors.push((cell_ref(row, col), message.message(lang))),
            }
        }
    }
    if errors.is_empty() {
        Ok(Parsed {
            rows: row_count,
            cells,
        })
    } else {
        Err(errors)
    }
}

fn text_of(data: &Data) -> String {
    match data {
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
        Data::Empty => String::new(),
        other => other.to_string().trim().to_string(),
    }
}

fn parse_data(data: &Data, bound: i64) -> Result<Option<i64>, domain::forecast::CellError> {
    match data {
        Data::Float(f) => parse_cell(&f.to_string(), bound),
        Data::Int(i) => parse_cell(&i.to_string(), bound),
        Data::String(s) => parse_cell(s, bound),
        Data::Empty => Ok(None),
        other => parse_cell(&other.to_string(), bound),
    }
}

/// One retailer's row of the approved forecast.
pub struct ApprovedRetailer {
    pub licence_no: String,
    pub name: String,
    pub manager: String,
    pub unit: String,
    /// Cartons per spec, in the cycle's spec order.
    pub values: Vec<Option<i64>>,
}

/// The approved forecast of a cycle, for supply planning.
pub struct Approved<'a> {
    pub month: String,
    pub specs: &'a [domain::forecast::view::CycleSpec],
    pub retailers: Vec<ApprovedRetailer>,
    pub case_size: domain::quantity::CaseSize,
}

/// Two worksheets: retailers × specs, and the totals per spec in 条 and 箱.
pub fn write_approved(
    approved: &Approved,
    lang: Lang,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let grey = Format::new().set_font_color("#808080");
    let sheet = workbook.add_worksheet();
    sheet.set_name(lang.pick("按零售户", "By retailer"))?;
    let fixed = [
        lang.pick("许可证号", "Licence no."),
        lang.pick("零售户", "Retailer"),
        lang.pick("客户经理", "Customer manager"),
        lang.pick("市场部", "Market dept."),
    ];
    for (c, title) in fixed.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *title, &bold)?;
    }
    sheet.write_string_with_format(1, 0, lang.pick("品规编码 →", "Spec code →"), &grey)?;
    for (s, spec) in approved.specs.iter().enumerate() {
        let col = FIXED + s as u16;
        sheet.write_string_with_format(0, col, &spec.name, &bold)?;
        sheet.write_string_with_format(1, col, &spec.code, &grey)?;
    }
    let mut totals = vec![0_i64; approved.specs.len()];
    for (r, retailer) in approved.retailers.iter().enumerate() {
        let line = HEADER_ROWS + r as u32;
        sheet.write_string(line, 0, &retailer.licence_no)?;
        sheet.write_string(line, 1, &retailer.name)?;
        sheet.write_string(line, 2, &retailer.manager)?;
        sheet.write_string(line, 3, &retailer.unit)?;
        for (s, v) in retailer.values.iter().enumerate() {
            if let Some(v) = v {
                sheet.write_number(line, FIXED + s as u16, *v as f64)?;
                totals[s] += v;
            }
        }
    }
    sheet.set_column_width(0, 16)?;
    sheet.set_column_width(1, 24)?;
    sheet.set_freeze_panes(HEADER_ROWS, FIXED)?;

    let sums = workbook.add_worksheet();
    sums.set_name(lang.pick("按品规", "By spec"))?;
    let titles = [
        lang.pick("品规编码", "Spec code"),
        lang.pick("品规", "Spec"),
        lang.pick("预测量（条）", "Forecast (cartons)"),
        lang.pick("预测量（箱）", "Forecast (cases)"),
    ];
    for (c, title) in titles.iter().enumerate() {
        sums.write_string_with_format(0, c as u16, *title, &bold)?;
    }
    for (s, spec) in approved.specs.iter().enumerate() {
        let line = 1 + s as u32;
        sums.write_string(line, 0, &spec.code)?;
        sums.write_string(line, 1, &spec.name)?;
        sums.write_number(line, 2, totals[s] as f64)?;
        sums.write_number(line, 3, approved.case_size.cases(totals[s]))?;
    }
    sums.set_column_width(1, 24)?;
    workbook.save_to_buffer()
}

/// The handout of a bulk run of retailer sign-ins: licence, shop name,
/// customer manager, one-time password, one retailer per row, sorted by
/// customer manager so each can hand out their own page.
pub fn write_handout(
    rows: &[[String; 4]],
    lang: Lang,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let mono = Format::new().set_font_name("Consolas").set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name(lang.pick("零售户账号", "Retailer sign-ins"))?;
    for (c, title) in domain::accounts::handout_headers(lang).iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *title, &bold)?;
    }
    let mut order: Vec<&[String; 4]> = rows.iter().collect();
    order.sort_by(|a, b| (&a[2], &a[0]).cmp(&(&b[2], &b[0])));
    for (r, row) in order.iter().enumerate() {
        let line = 1 + r as u32;
        sheet.write_string(line, 0, &row[0])?;
        sheet.write_string(line, 1, &row[1])?;
        sheet.write_string(line, 2, &row[2])?;
        sheet.write_string_with_format(line, 3, &row[3], &mono)?;
    }
    sheet.set_column_width(0, 18)?;
    sheet.set_column_width(1, 28)?;
    sheet.set_column_width(2, 12)?;
    sheet.set_column_width(3, 30)?;
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

/// The rows of a workbook's first worksheet as text, with their 1-based
/// line numbers, as the actual-orders check reads them (see
/// [`ActualRow`]); rows without a value are left out. A cell past
/// `guard`'s limits refuses the file.
pub fn read_rows(bytes: &[u8], guard: &mut Guard) -> Result<Rows, ReadError> {
    // Rows in file order; a row met again later (cells need not be
    // sorted) is merged after a stable sort.
    let mut rows: Vec<(u32, ActualRow)> = Vec::new();
    let mut width = 0;
    let mut sorted = true;
    each_cell(bytes, guard, |row, col, data| {
        width = width.max(col as usize + 1);
        match rows.last_mut() {
            Some((last, cells)) if *last == row => cells.set(col, text_of(&data)),
            last => {
                sorted &= last.is_none_or(|(previous, _)| *previous < row);
                let mut cells = ActualRow::default();
                cells.set(col, text_of(&data));
                rows.push((row, cells));
            }
        }
    })?;
    if !sorted {
        rows.sort_by_key(|(row, _)| *row);
        let mut merged: Vec<(u32, ActualRow)> = Vec::with_capacity(rows.len());
        for (row, cells) in rows {
            match merged.last_mut() {
                Some((last, into)) if *last == row => into.merge(cells),
                _ => merged.push((row, cells)),
            }
        }
        rows = merged;
    }
    Ok(rows
        .into_iter()
        .map(|(row, cells)| (row as usize + 1, cells.into_cells(width)))
        .collect())
}

/// The cells of every row of a workbook's first worksheet as text,
/// (column, text), with 1-based line numbers, in row order; cells right of
/// `columns` are dropped. Rows are kept sparse: a crafted sheet with one
/// far-right cell per row must not cost a padded row each. Dates are given
/// as their Excel serial, which the month reader understands.
pub fn read_table(
    bytes: &[u8],
    columns: usize,
    guard: &mut Guard,
) -> Result<Vec<(u64, Vec<(u16, String)>)>, ReadError> {
    let mut rows: Vec<(u32, Vec<(u16, String)>)> = Vec::new();
    let mut sorted = true;
    each_cell(bytes, guard, |row, col, data| {
        let col = col as usize;
        if col >= columns {
            return;
        }
        let text = match &data {
            Data::DateTime(d) => d.as_f64().to_string(),
            other => text_of(other),
        };
        let at = match rows.last() {
            Some((last, _)) if *last == row => rows.len() - 1,
            last => {
                sorted &= last.is_none_or(|(previous, _)| *previous < row);
                rows.push((row, Vec::new()));
                rows.len() - 1
            }
        };
        rows[at].1.push((col as u16, text));
    })?;
    if !sorted {
        // A row met again later (cells need not be sorted) is merged.
        rows.sort_by_key(|(row, _)| *row);
        let mut merged: Vec<(u32, Vec<(u16, String)>)> = Vec::with_capacity(rows.len());
        for (row, cells) in rows {
            match merged.last_mut() {
                Some((last, into)) if *last == row => into.extend(cells),
                _ => merged.push((row, cells)),
            }
        }
        rows = merged;
    }
    Ok(rows
        .into_iter()
        .map(|(row, cells)| (u64::from(row) + 1, cells))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::{capped, cell_ref, MAX_CELL_TEXT};

    #[test]
    fn long_cell_text_is_cut_on_a_character_boundary() {
        assert_eq!(capped("421103000001"), "421103000001");
        let long = "烟".repeat(100);
        let cut = capped(&long);
        assert!(cut.len() <= MAX_CELL_TEXT + "…".len());
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn cell_references_follow_the_spreadsheet_letters() {
        assert_eq!(cell_ref(0, 0), "A1");
        assert_eq!(cell_ref(6, 4), "E7");
        assert_eq!(cell_ref(1, 25), "Z2");
        assert_eq!(cell_ref(1, 26), "AA2");
        assert_eq!(cell_ref(9, 63), "BL10");
    }
}

/// One cell of a report table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// A fraction shown as a percentage.
    Percent(f64),
    Empty,
}

/// A report table: one worksheet with a bold header row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Report tables as a workbook, one worksheet each, numbers as numbers
/// (two decimals) and fractions as percentages, so they can be summed
/// and charted in Excel.
pub fn write_tables(tables: &[Table]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let number = Format::new().set_num_format("#,##0.00");
    let percent = Format::new().set_num_format("0.0%");
    for table in tables {
        let sheet = workbook.add_worksheet();
        // Worksheet names are at most 31 characters and a few are forbidden.
        let name: String = table
            .name
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        sheet.set_name(&name)?;
        for (c, h) in table.headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(t) => {
                        sheet.write_string(r, c, t)?;
                    }
                    Cell::Number(n) if n.is_finite() => {
                        sheet.write_number_with_format(r, c, *n, &number)?;
                    }
                    Cell::Percent(p) if p.is_finite() => {
                        sheet.write_number_with_format(r, c, *p, &percent)?;
                    }
                    _ => {}
                }
            }
        }
        for (c, width) in column_widths(table).into_iter().enumerate() {
            sheet.set_column_width(c as u16, width)?;
        }
        sheet.set_freeze_panes(1, 0)?;
    }
    workbook.save_to_buffer()
}

/// Widths that show each column's header and text whole: a Chinese
/// character takes two character widths; at most 60.
fn column_widths(table: &Table) -> Vec<f64> {
    let width = |t: &str| -> usize { t.chars().map(|ch| if ch.is_ascii() { 1 } else { 2 }).sum() };
    let mut widths: Vec<usize> = table.headers.iter().map(|h| width(h)).collect();
    for row in &table.rows {
        for (c, cell) in row.iter().enumerate() {
            let w = match cell {
                Cell::Text(t) => width(t),
                _ => 12,
            };
            if c >= widths.len() {
                widths.resize(c + 1, 0);
            }
            widths[c] = widths[c].max(w);
        }
    }
    widths
        .into_iter()
        .map(|w| (w + 2).clamp(8, 60) as f64)
        .collect()
}
