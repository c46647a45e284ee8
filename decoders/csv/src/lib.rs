//! The CSV and TSV decoder.
//!
//! Reads delimiter-separated tables as RFC 4180 describes them (fields in
//! double quotes may hold delimiters, line breaks and doubled quotes) with
//! the delimiter found from the text: comma, tab, semicolon or vertical
//! bar. The document is a summary ([`Block::Fields`]) and the table.
//!
//! Choices where files differ from the RFC:
//!
//! - Lines may end in CR LF, LF or CR. Empty lines are skipped.
//! - Text after a closing quote and before the next delimiter is kept as
//!   part of the field. A quote that is never closed is refused.
//! - The first row is a header when none of its cells is empty or looks
//!   like a number, date or boolean, while at least one column below it
//!   holds only such values. Otherwise columns are named `Column 1` to
//!   `Column n`.
//! - Ragged rows are padded: the table has as many columns as the longest
//!   row, shorter rows get empty cells, and the summary counts them.
//! - Column types are inferred from the non-empty cells below the header:
//!   integer, decimal, date (`YYYY-MM-DD`), boolean (`true` or `false`,
//!   any case) or text.
//! - Text that is not UTF-8 is read as Latin-1, with a note.
//! - A table beyond the view document's cell limit is cut after the last
//!   row that fits, and the summary says so.

#![deny(unsafe_code)]

use std::collections::BTreeMap;

use legation_decoder_sdk::text::{decode_text, find_any, find_byte};
use legation_decoder_sdk::{decoder, Block, ColumnType, DecodeError, Document, Limits};

decoder! {
    name: "csv", version: "1.0.0", media_types: ["text/csv", "text/tab-separated-values"],
    decode: decode,
}

/// The delimiters tried, in order of preference when they fit equally.
const DELIMITERS: [(u8, &str); 4] = [
    (b',', "comma"),
    (b'\t', "tab"),
    (b';', "semicolon"),
    (b'|', "vertical bar"),
];

/// Records read to choose the delimiter.
const SAMPLE_RECORDS: usize = 100;

/// Decodes a CSV or TSV table.
pub fn decode(input: &[u8]) -> Result<Document, DecodeError> {
    let (text, encoding) = decode_text(input);
    let (delimiter, delimiter_name) = detect_delimiter(&text);
    let Parsed {
        records: mut rows,
        unkept,
    } = parse(&text, delimiter, usize::MAX)?;
    let title = match delimiter {
        b'\t' => "Tab-separated table",
        b',' => "Comma-separated table",
        _ => "Delimiter-separated table",
    };

    // Records past what a view could show were counted, not kept: they
    // still count in the width, the padding and the number of rows.
    let width = rows
        .iter()
        .map(Vec::len)
        .chain(unkept.keys().copied())
        .max()
        .unwrap_or(0);
    let header = has_header(&rows);
    let mut columns: Vec<String> = if header { rows.remove(0) } else { Vec::new() };
    for index in columns.len()..width {
        columns.push(format!("Column {}", index + 1));
    }
    let mut padded: usize = unkept.range(..width).map(|(_, n)| n).sum();
    for row in &mut rows {
        if row.len() < width {
            padded += 1;
            row.resize(width, String::new());
        }
    }
    let total_rows = rows.len() + unkept.values().sum::<usize>();
    // Keep within the view document's cell limit, leaving room for the
    // column names and the summary.
    let budget = (Limits::default().max_cells as usize).saturating_sub(width + 16);
    if width > 0 && rows.len() * width > budget {
        rows.truncate(budget / width);
    }
    let types = column_types(&rows, width);

    let mut items = vec![
        ("rows".to_owned(), total_rows.to_string()),
        ("columns".to_owned(), width.to_string()),
        ("delimiter".to_owned(), delimiter_name.to_owned()),
        (
            "header".to_owned(),
            if header {
                "first row".to_owned()
            } else {
                format!("none found; columns named Column 1 to Column {width}")
            },
        ),
    ];
    if padded > 0 {
        items.push((
            "padded rows".to_owned(),
            format!("{padded} rows had fewer than {width} cells and were padded with empty cells"),
        ));
    }
    if rows.len() < total_rows {
        items.push((
            "shown".to_owned(),
            format!("first {} of {total_rows} rows", rows.len()),
        ));
    }
    items.extend(encoding.note());
    Ok(Document {
        title: title.to_owned(),
        blocks: vec![
            Block::Fields { items },
            Block::Table {
                columns,
                types: Some(types),
                rows,
            },
        ],
    })
}

/// The delimiter that splits the first records most consistently into
/// more than one field, or comma if none does.
fn detect_delimiter(text: &str) -> (u8, &'static str) {
    let mut best = (DELIMITERS[0], (false, 0usize, 0usize));
    for (delimiter, name) in DELIMITERS {
        let Ok(Parsed {
            records: sample, ..
        }) = parse(text, delimiter, SAMPLE_RECORDS)
        else {
            continue;
        };
        // The most common field count, and how many records have it.
        let mut counts: Vec<(usize, usize)> = Vec::new();
        for record in &sample {
            match counts.iter_mut().find(|(width, _)| *width == record.len()) {
                Some((_, n)) => *n += 1,
                None => counts.push((record.len(), 1)),
            }
        }
        let Some(&(width, records)) = counts
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
        else {
            continue;
        };
        if width < 2 {
            continue;
        }
        let score = (records == sample.len(), records, width);
        if score > best.1 {
            best = ((delimiter, name), score);
        }
    }
    best.0
}

/// The records of a text: those kept, then the field counts of the rest.
struct Parsed {
    /// The first records, with their fields.
    records: Vec<Vec<String>>,
    /// For the records after them: how many have each number of fields.
    unkept: BTreeMap<usize, usize>,
}

/// Records and fields kept with their text, at most: past either, records
/// are only counted. A view shows at most `max_cells` cells, and a table
/// of width `w` shows at most `max_cells / w` rows, whose cells are within
/// these bounds; so every row a view can show is kept, while a huge file
/// does not hold all its fields in memory at once.
const KEEP: usize = 10_000_000;

/// Splits `text` into records of fields: at most `limit` records, of
/// which the first are kept (see [`KEEP`]) and the rest counted.
fn parse(text: &str, delimiter: u8, limit: usize) -> Result<Parsed, DecodeError> {
    let bytes = text.as_bytes();
    let mut parsed = Parsed {
        records: Vec::new(),
        unkept: BTreeMap::new(),
    };
    let mut kept_cells = 0usize;
    let mut keeping = true;
    let mut record: Vec<String> = Vec::new();
    // A record that is counted: its fields, and whether any is not empty.
    let (mut counted, mut filled) = (0usize, false);
    // One buffer for every field; a kept field is copied out of it, so a
    // counted one allocates nothing (decoders' memory is never freed).
    let mut field = String::new();
    let mut total = 0usize;
    let mut line = 1usize;
    let mut at = 0;
    while at < bytes.len() && total < limit {
        // One field, starting at `at`. Fields are cut at ASCII bytes only,
        // so every piece is a slice of the text (not validated again).
        field.clear();
        if bytes[at] == b'"' {
            let opened = line;
            at += 1;
            loop {
                let Some(quote) = find_byte(&bytes[at..], b'"') else {
                    return Err(DecodeError::new(format!(
                        "a quoted field opened on line {opened} is never closed"
                    )));
                };
                line += count_line_breaks(&bytes[at..at + quote]);
                field.push_str(&text[at..at + quote]);
                at += quote + 1;
                if bytes.get(at) == Some(&b'"') {
                    field.push('"');
                    at += 1;
                } else {
                    break;
                }
            }
        }
        let end = find_any(&bytes[at..], [delimiter, b'\n', b'\r']).map_or(bytes.len(), |n| at + n);
        field.push_str(&text[at..end]);
        if keeping {
            record.push(field.clone());
        } else {
            counted += 1;
            filled |= !field.is_empty();
        }
        at = end;
        let mut ended = false;
        match bytes.get(at) {
            Some(&b) if b == delimiter => {
                at += 1;
                if at == bytes.len() {
                    // A delimiter at the very end leaves one empty field.
                    if keeping {
                        record.push(String::new());
                    } else {
                        counted += 1;
                    }
                }
            }
            Some(b'\r') | Some(b'\n') => {
                at += if bytes[at..].starts_with(b"\r\n") {
                    2
                } else {
                    1
                };
                line += 1;
                ended = true;
            }
            _ => {}
        }
        if ended || at >= bytes.len() {
            if keeping {
                kept_cells += record.len();
                push_record(&mut parsed.records, std::mem::take(&mut record));
            } else if counted > 1 || filled {
                // (One empty field is an empty line, skipped as
                // `push_record` skips it.)
                *parsed.unkept.entry(counted).or_insert(0) += 1;
            }
            (counted, filled) = (0, false);
            keeping = parsed.records.len() < KEEP && kept_cells < KEEP;
            total = parsed.records.len() + parsed.unkept.values().sum::<usize>();
        }
    }
    Ok(parsed)
}

/// Keeps a record unless it is an empty line.
fn push_record(records: &mut Vec<Vec<String>>, record: Vec<String>) {
    if !(record.len() == 1 && record[0].is_empty()) {
        records.push(record);
    }
}

fn count_line_breaks(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

/// What a cell looks like, for header detection and column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Empty,
    Integer,
    Decimal,
    Date,
    Boolean,
    Text,
}

fn kind(cell: &str) -> Kind {
    let cell = cell.trim();
    if cell.is_empty() {
        Kind::Empty
    } else if is_integer(cell) {
        Kind::Integer
    } else if is_decimal(cell) {
        Kind::Decimal
    } else if is_date(cell) {
        Kind::Date
    } else if cell.eq_ignore_ascii_case("true") || cell.eq_ignore_ascii_case("false") {
        Kind::Boolean
    } else {
        Kind::Text
    }
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn is_integer(text: &str) -> bool {
    digits(text.strip_prefix(['+', '-']).unwrap_or(text))
}

/// `[+-]digits.digits`, either side of the point may be empty but not
/// both, with an optional exponent; or an integer with an exponent.
fn is_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (whole.is_empty() || digits(whole))
                && (fraction.is_empty() || digits(fraction))
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => exponent.is_some() && digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(is_integer)
}

/// `YYYY-MM-DD`, a real day of the proleptic Gregorian calendar.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &text[range];
        digits(part).then(|| part.parse().ok()).flatten()
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// The type of each column, from the non-empty cells of `rows` (short
/// rows count as empty cells).
fn column_types(rows: &[Vec<String>], width: usize) -> Vec<ColumnType> {
    (0..width)
        .map(|column| {
            let mut result = None;
            for row in rows {
                let found = match row.get(column).map_or(Kind::Empty, |cell| kind(cell)) {
                    Kind::Empty => continue,
                    Kind::Integer => ColumnType::Integer,
                    Kind::Decimal => ColumnType::Decimal,
                    Kind::Date => ColumnType::Date,
                    Kind::Boolean => ColumnType::Boolean,
                    Kind::Text => return ColumnType::Text,
                };
                result = Some(match (result, found) {
                    (None, found) => found,
                    (Some(so_far), found) if so_far == found => found,
                    (
                        Some(ColumnType::Integer | ColumnType::Decimal),
                        ColumnType::Integer | ColumnType::Decimal,
                    ) => ColumnType::Decimal,
                    _ => return ColumnType::Text,
                });
            }
            result.unwrap_or(ColumnType::Text)
        })
        .collect()
}

/// Whether the first row names the columns: none of its cells is empty or
/// typed, and some column it names is typed throughout the rows below.
fn has_header(rows: &[Vec<String>]) -> bool {
    let Some((first, rest)) = rows.split_first() else {
        return false;
    };
    if rest.is_empty() || first.iter().any(|cell| kind(cell) != Kind::Text) {
        return false;
    }
    column_types(rest, first.len())
        .iter()
        .any(|&column_type| column_type != ColumnType::Text)
}

#[cfg(test)]
mod tests;
