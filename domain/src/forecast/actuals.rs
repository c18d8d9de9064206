//! A month's actual orders as loaded from a file (licence number, spec code,
//! cartons), checked row by row before anything is stored.

use std::collections::{HashMap, HashSet};

use crate::quantity::{Cartons, QuantityError};
use crate::Lang;

/// Why a row of an actual-orders file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActualError {
    #[error("unknown licence")]
    UnknownLicence(String),
    #[error("unknown spec")]
    UnknownSpec(String),
    #[error("{0}")]
    Cartons(QuantityError),
    #[error("repeated row")]
    Repeated(usize),
    #[error("missing column")]
    MissingColumns,
    #[error("no data rows")]
    NoRows,
}

impl ActualError {
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (ActualError::UnknownLicence(l), Lang::Zh) => format!("许可证号 {l} 不存在"),
            (ActualError::UnknownLicence(l), Lang::En) => format!("No retailer has licence {l}"),
            (ActualError::UnknownSpec(c), Lang::Zh) => format!("品规编码 {c} 不存在"),
            (ActualError::UnknownSpec(c), Lang::En) => format!("No spec has code {c}"),
            (ActualError::Cartons(e), _) => e.message(lang).to_string(),
            (ActualError::Repeated(line), Lang::Zh) => format!("与第 {line} 行重复"),
            (ActualError::Repeated(line), Lang::En) => format!("Repeats line {line}"),
            (ActualError::NoRows, _) => lang
                .pick(
                    "文件中没有数据行，未导入；该月已有的订单保持不变",
                    "The file has no data rows; nothing was loaded and the month's orders are unchanged",
                )
                .to_string(),
            (ActualError::MissingColumns, _) => lang
                .pick(
                    "每行须有三列：许可证号、品规编码、条数",
                    "Each row needs three columns: licence, spec code, cartons",
                )
                .to_string(),
        }
    }
}

/// Checks the rows of a file (line number, cells) against the known
/// licences and spec codes. Returns (retailer id, spec id, cartons) per row,
/// or every error with its line number; a header row (the first line, when
/// its first cell is no known licence and its third is not a number) is
/// skipped. A file without a data row is refused (line 0): loading it would
/// wipe the month.
#[allow(clippy::type_complexity)]
pub fn check_rows(
    rows: &[(usize, Vec<String>)],
    licences: &HashMap<String, i64>,
    specs: &HashMap<String, i64>,
) -> Result<Vec<(i64, i64, i64)>, Vec<(usize, ActualError)>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    let mut seen: HashMap<(i64, i64), usize> = HashMap::new();
    let mut blank = HashSet::new();
    for (i, (line, cells)) in rows.iter().enumerate() {
        let cell = |k: usize| cells.get(k).map_or("", |c| c.trim());
        if cells.iter().all(|c| c.trim().is_empty()) {
            blank.insert(*line);
            continue;
        }
        if i == 0
            && !licences.contains_key(cell(0))
            && cell(2).parse::<f64>().is_err()
            && !cell(2).is_empty()
        {
            continue;
        }
        if cells.len() < 3 || cell(0).is_empty() || cell(1).is_empty() {
            errors.push((*line, ActualError::MissingColumns));
            continue;
        }
        let retailer = licences.get(cell(0)).copied();
        let spec = specs.get(cell(1)).copied();
        // A blank quantity in an orders file is no order: zero.
        let cartons = Cartons::parse_optional(cell(2)).map(|c| c.map_or(0, Cartons::get));
        match (retailer, spec, cartons) {
            (None, _, _) => errors.push((*line, ActualError::UnknownLicence(cell(0).into()))),
            (_, None, _) => errors.push((*line, ActualError::UnknownSpec(cell(1).into()))),
            (_, _, Err(e)) => errors.push((*line, ActualError::Cartons(e))),
            (Some(r), Some(s), Ok(c)) => match seen.get(&(r, s)) {
                Some(&first) => errors.push((*line, ActualError::Repeated(first))),
                None => {
                    seen.insert((r, s), *line);
                    out.push((r, s, c));
                }
            },
        }
    }
    if errors.is_empty() && out.is_empty() {
        errors.push((0, ActualError::NoRows));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_first_data_line_is_an_error_not_a_header_and_an_empty_file_is_refused() {
        let licences = HashMap::from([("421103000001".to_string(), 1)]);
        let specs = HashMap::from([("6901028079190".to_string(), 7)]);
        let bad_first = [
            row(1, &["421103000001", "6901028079190", "0x10"]),
            row(2, &["421103000001", "6901028079190", "5"]),
        ];
        let errors = check_rows(&bad_first, &licences, &specs).expect_err("line 1 is checked");
        assert_eq!(errors[0].0, 1);
        let header_only = [row(1, &["licence", "spec", "cartons"])];
        let errors = check_rows(&header_only, &licences, &specs).expect_err("nothing to load");
        assert_eq!(errors, vec![(0, ActualError::NoRows)]);
    }

    fn row(line: usize, cells: &[&str]) -> (usize, Vec<String>) {
        (line, cells.iter().map(|c| c.to_string()).collect())
    }

    #[test]
    fn every_bad_row_is_named_and_nothing_passes_with_errors() {
        let licences = HashMap::from([("L1".to_string(), 1), ("L2".to_string(), 2)]);
        let specs = HashMap::from([("S1".to_string(), 10)]);
        let good = [
            row(1, &["许可证号", "品规编码", "条数"]),
            row(2, &["L1", "S1", "12"]),
            row(3, &["", "", ""]),
            row(4, &[" L2 ", "S1", "0"]),
        ];
        assert_eq!(
            check_rows(&good, &licences, &specs),
            Ok(vec![(1, 10, 12), (2, 10, 0)])
        );
        let bad = [
            row(1, &["L1", "S1", "12"]),
            row(2, &["L9", "S1", "1"]),
            row(3, &["L1", "S9", "1"]),
            row(4, &["L2", "S1", "-3"]),
            row(5, &["L2", "S1", "2.5"]),
            row(6, &["L1", "S1", "4"]),
            row(7, &["L1"]),
        ];
        let errors = check_rows(&bad, &licences, &specs)
            .err()
            .unwrap_or_default();
        let lines: Vec<usize> = errors.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
        assert_eq!(errors[4].1, ActualError::Repeated(1));
        assert_eq!(errors[0].1.message(Lang::Zh), "许可证号 L9 不存在");
    }
}
