//! The decoder for legacy mainframe record files (`.ebc`).
//!
//! Such files are what a 1980s mainframe wrote to tape: fixed-length
//! records of text in EBCDIC (code page 037) and numbers in packed decimal
//! (COBOL `COMP-3`) or zoned decimal, with no delimiters and no line
//! breaks. A file is unreadable without its record layout, which is why it
//! comes with a header that describes it, and why an archive carries this
//! decoder. The layout (`LGN-EBC-1`, written by `samples/gen`):
//!
//! | record | bytes | content |
//! |---|---|---|
//! | header | 0..4 | `HDR1` |
//! | | 4..8 | record length `R` of every record in the file, 4 digits, 62 to 9999 |
//! | | 8..10 | number of field descriptors `F`, 2 digits, 1 to 99 |
//! | | 10..54 | data set name, 44 characters |
//! | | 54..62 | creation date `YYYYMMDD` |
//! | `F` descriptors | 0..4 | `FLD1` |
//! | | 4..20 | field name, 16 characters |
//! | | 20 | type: `C` text, `P` packed decimal, `Z` zoned decimal, `D` date `YYYYMMDD` |
//! | | 21..25 | offset of the field in a data record, 4 digits |
//! | | 25..28 | length in bytes, 3 digits |
//! | | 28..30 | decimal places (scale), 2 digits, `P` and `Z` only |
//! | | 30 | `T` if the field is summed into the trailer's control total |
//! | data records | | the fields at their offsets; bytes outside every field are filler |
//! | trailer (last) | 0..4 | `TRL1` |
//! | | 4..12 | number of data records, packed decimal, 15 digits |
//! | | 12..20 | control total of the `T` fields, packed decimal, 15 digits, at their scale |
//!
//! Every record is `R` bytes, padded with EBCDIC spaces (0x40); digits are
//! EBCDIC `0`-`9` (0xF0-0xF9). A packed-decimal field of `L` bytes holds
//! `2L - 1` digits, two per byte, and a sign in the last nibble: `C`, `F`
//! (and `A`, `E`) are plus, `D` (and `B`) minus. A zoned-decimal field
//! holds one digit per byte (zone `F`), the last byte's zone being its
//! sign. Numbers are shown as exact decimal strings (`-1234.50`), text with
//! trailing spaces removed, dates as `YYYY-MM-DD` (all zeros or spaces:
//! empty).
//!
//! Anything that does not fit refuses the file with a message naming the
//! record, the field and the byte: a length that is not a whole number of
//! records, a bad header or descriptor, a field outside the record, a digit
//! nibble above 9, a bad sign, an impossible date, a missing trailer, or a
//! trailer whose count or control total does not match the data.

#![deny(unsafe_code)]

use legation_decoder_sdk::{decoder, Block, ColumnType, DecodeError, Document};

decoder! {
    name: "ebcdic", version: "1.0.0", media_types: ["application/octet-stream"],
    decode: decode,
}

/// EBCDIC code page 037 to Unicode: each byte's code point (all below 256,
/// since code page 037 covers ISO 8859-1, the C0 and C1 controls).
pub const CP037: [u8; 256] = [
    0x00, 0x01, 0x02, 0x03, 0x9c, 0x09, 0x86, 0x7f, 0x97, 0x8d, 0x8e, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x9d, 0x85, 0x08, 0x87, 0x18, 0x19, 0x92, 0x8f, 0x1c, 0x1d, 0x1e, 0x1f,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x0a, 0x17, 0x1b, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x05, 0x06, 0x07,
    0x90, 0x91, 0x16, 0x93, 0x94, 0x95, 0x96, 0x04, 0x98, 0x99, 0x9a, 0x9b, 0x14, 0x15, 0x9e, 0x1a,
    0x20, 0xa0, 0xe2, 0xe4, 0xe0, 0xe1, 0xe3, 0xe5, 0xe7, 0xf1, 0xa2, 0x2e, 0x3c, 0x28, 0x2b, 0x7c,
    0x26, 0xe9, 0xea, 0xeb, 0xe8, 0xed, 0xee, 0xef, 0xec, 0xdf, 0x21, 0x24, 0x2a, 0x29, 0x3b, 0xac,
    0x2d, 0x2f, 0xc2, 0xc4, 0xc0, 0xc1, 0xc3, 0xc5, 0xc7, 0xd1, 0xa6, 0x2c, 0x25, 0x5f, 0x3e, 0x3f,
    0xf8, 0xc9, 0xca, 0xcb, 0xc8, 0xcd, 0xce, 0xcf, 0xcc, 0x60, 0x3a, 0x23, 0x40, 0x27, 0x3d, 0x22,
    0xd8, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0xab, 0xbb, 0xf0, 0xfd, 0xfe, 0xb1,
    0xb0, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xaa, 0xba, 0xe6, 0xb8, 0xc6, 0xa4,
    0xb5, 0x7e, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0xa1, 0xbf, 0xd0, 0xdd, 0xde, 0xae,
    0x5e, 0xa3, 0xa5, 0xb7, 0xa9, 0xa7, 0xb6, 0xbc, 0xbd, 0xbe, 0x5b, 0x5d, 0xaf, 0xa8, 0xb4, 0xd7,
    0x7b, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0xad, 0xf4, 0xf6, 0xf2, 0xf3, 0xf5,
    0x7d, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0xb9, 0xfb, 0xfc, 0xf9, 0xfa, 0xff,
    0x5c, 0xf7, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0xb2, 0xd4, 0xd6, 0xd2, 0xd3, 0xd5,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0xb3, 0xdb, 0xdc, 0xd9, 0xda, 0x9f,
];

/// Smallest record length: the header's fixed part.
pub const MIN_RECORD: usize = 62;

/// Most data cells shown; the rest of the records are checked, not shown.
pub const MAX_CELLS: usize = 2_000_000;

/// The EBCDIC encoding of an ASCII tag such as `HDR1`.
fn tag(text: &str) -> Vec<u8> {
    text.chars()
        .map(|ch| {
            CP037
                .iter()
                .position(|&c| u32::from(c) == u32::from(ch))
                .unwrap_or(0x6f) as u8 // '?' for what the code page lacks
        })
        .collect()
}

/// Decodes EBCDIC text (code page 037), removing trailing spaces. C0 and
/// C1 controls become U+FFFD so that the view cannot hold control codes.
pub fn text(bytes: &[u8]) -> String {
    let s: String = bytes
        .iter()
        .map(|&b| {
            let c = char::from(CP037[usize::from(b)]);
            if c.is_control() {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    s.trim_end_matches(' ').to_owned()
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// EBCDIC text.
    Text,
    /// Packed decimal (COMP-3).
    Packed,
    /// Zoned decimal.
    Zoned,
    /// A date as 8 EBCDIC digits, `YYYYMMDD`.
    Date,
}

/// One field of the record layout, from a `FLD1` descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Name, trailing spaces removed.
    pub name: String,
    /// What it holds.
    pub kind: Kind,
    /// Offset in a data record.
    pub offset: usize,
    /// Length in bytes.
    pub length: usize,
    /// Decimal places.
    pub scale: usize,
    /// Summed into the trailer's control total.
    pub control: bool,
}

/// The header and layout of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Length of every record.
    pub record_length: usize,
    /// Data set name.
    pub dataset: String,
    /// Creation date, `YYYY-MM-DD`.
    pub created: String,
    /// The fields, in descriptor order.
    pub fields: Vec<Field>,
}

/// Decodes a record file into its facts, layout and records.
pub fn decode(input: &[u8]) -> Result<Document, DecodeError> {
    let layout = read_layout(input)?;
    let r = layout.record_length;
    let records = input.len() / r;
    let first_data = 1 + layout.fields.len();
    // The trailer is the last record; anything without one is cut short.
    let trailer_at = records - 1;
    if trailer_at < first_data || input[trailer_at * r..trailer_at * r + 4] != tag("TRL1")[..] {
        return Err(DecodeError::new(format!(
            "EBCDIC: the last record (number {}) is not a TRL1 trailer; the file is incomplete",
            records
        )));
    }
    let data_count = trailer_at - first_data;
    let control_scale = layout
        .fields
        .iter()
        .find(|f| f.control)
        .map_or(0, |f| f.scale);
    let shown = data_count.min(MAX_CELLS / layout.fields.len());
    let mut rows = Vec::with_capacity(shown);
    let mut total: i128 = 0;
    for n in 0..data_count {
        let at = (first_data + n) * r;
        let record = &input[at..at + r];
        if record[..4] == tag("TRL1")[..] {
            return Err(DecodeError::new(format!(
                "EBCDIC: record {} is a trailer before the end of the file",
                first_data + n + 1
            )));
        }
        let mut row = Vec::with_capacity(if n < shown { layout.fields.len() } else { 0 });
        for field in &layout.fields {
            let bytes = &record[field.offset..field.offset + field.length];
            let place = || {
                format!(
                    "data record {} (file offset {}), field {}",
                    n + 1,
                    at + field.offset,
                    field.name
                )
            };
            let cell = match field.kind {
                Kind::Text => text(bytes),
                Kind::Packed | Kind::Zoned => {
                    let (value, shown_value) = number(field, bytes)
                        .map_err(|e| DecodeError::new(format!("EBCDIC: {}: {e}", place())))?;
                    if field.control {
                        total = total.checked_add(value).ok_or_else(|| {
                            DecodeError::new("EBCDIC: the control total overflows")
                        })?;
                    }
                    shown_value
                }
                Kind::Date => date(bytes)
                    .map_err(|e| DecodeError::new(format!("EBCDIC: {}: {e}", place())))?,
            };
            if n < shown {
                row.push(cell);
            }
        }
        if n < shown {
            rows.push(row);
        }
    }
    let trailer = &input[trailer_at * r..trailer_at * r + r];
    let counted = packed(&trailer[4..12])
        .map_err(|e| DecodeError::new(format!("EBCDIC: trailer record count: {e}")))?;
    let stated_total = packed(&trailer[12..20])
        .map_err(|e| DecodeError::new(format!("EBCDIC: trailer control total: {e}")))?;
    if counted != data_count as i128 {
        return Err(DecodeError::new(format!(
            "EBCDIC: the trailer counts {counted} data records, the file holds {data_count}"
        )));
    }
    if stated_total != total {
        return Err(DecodeError::new(format!(
            "EBCDIC: the trailer's control total is {}, the data records sum to {}",
            decimal(stated_total, control_scale),
            decimal(total, control_scale)
        )));
    }
    let mut items = vec![
        ("data set".to_owned(), layout.dataset.clone()),
        ("created".to_owned(), layout.created.clone()),
        ("code page".to_owned(), "EBCDIC 037".to_owned()),
        (
            "record length".to_owned(),
            format!("{} bytes", layout.record_length),
        ),
        ("fields".to_owned(), layout.fields.len().to_string()),
        ("data records".to_owned(), data_count.to_string()),
    ];
    let controlled: Vec<&str> = layout
        .fields
        .iter()
        .filter(|f| f.control)
        .map(|f| f.name.as_str())
        .collect();
    items.push((
        "trailer".to_owned(),
        if controlled.is_empty() {
            format!("{data_count} records: matches")
        } else {
            format!(
                "{data_count} records, control total of {} {}: matches",
                controlled.join(" + "),
                decimal(total, control_scale)
            )
        },
    ));
    if shown < data_count {
        items.push((
            "shown".to_owned(),
            format!("first {shown} of {data_count} data records (all checked)"),
        ));
    }
    let layout_rows = layout
        .fields
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                match f.kind {
                    Kind::Text => "text",
                    Kind::Packed => "packed decimal",
                    Kind::Zoned => "zoned decimal",
                    Kind::Date => "date",
                }
                .to_owned(),
                f.offset.to_string(),
                f.length.to_string(),
                f.scale.to_string(),
            ]
        })
        .collect();
    let types = layout
        .fields
        .iter()
        .map(|f| match f.kind {
            Kind::Text => ColumnType::Text,
            Kind::Date => ColumnType::Date,
            _ if f.scale > 0 => ColumnType::Decimal,
            _ => ColumnType::Integer,
        })
        .collect();
    Ok(Document {
        title: format!("Mainframe records: {}", layout.dataset),
        blocks: vec![
            Block::Fields { items },
            Block::Heading {
                level: 2,
                text: "Record layout".into(),
            },
            Block::Table {
                columns: ["field", "type", "offset", "length", "scale"]
                    .map(String::from)
                    .to_vec(),
                types: Some(vec![
                    ColumnType::Text,
                    ColumnType::Text,
                    ColumnType::Integer,
                    ColumnType::Integer,
                    ColumnType::Integer,
                ]),
                rows: layout_rows,
            },
            Block::Heading {
                level: 2,
                text: "Records".into(),
            },
            Block::Table {
                columns: layout.fields.iter().map(|f| f.name.clone()).collect(),
                types: Some(types),
                rows,
            },
        ],
    })
}

/// Reads the header and the field descriptors, and checks the file's
/// length against the record length.
pub fn read_layout(input: &[u8]) -> Result<Layout, DecodeError> {
    if input.len() < MIN_RECORD || input[..4] != tag("HDR1")[..] {
        return Err(DecodeError::new(
            "EBCDIC: not a LGN-EBC-1 record file (no HDR1 header record)",
        ));
    }
    let r = digits(&input[4..8])
        .ok_or_else(|| DecodeError::new("EBCDIC: the header's record length is not 4 digits"))?;
    if r < MIN_RECORD {
        return Err(DecodeError::new(format!(
            "EBCDIC: record length {r} is below the minimum of {MIN_RECORD}"
        )));
    }
    if !input.len().is_multiple_of(r) {
        return Err(DecodeError::new(format!(
            "EBCDIC: the file is {} bytes, not a whole number of {r}-byte records ({} bytes left over)",
            input.len(),
            input.len() % r
        )));
    }
    let count = digits(&input[8..10])
        .filter(|&c| c >= 1)
        .ok_or_else(|| DecodeError::new("EBCDIC: the header's field count is not 01 to 99"))?;
    if input.len() / r < 2 + count {
        return Err(DecodeError::new(format!(
            "EBCDIC: the file has {} records, too few for a header, {count} field descriptors and a trailer",
            input.len() / r
        )));
    }
    let created = date(&input[54..62])
        .map_err(|e| DecodeError::new(format!("EBCDIC: the header's creation date: {e}")))?;
    let mut fields = Vec::with_capacity(count);
    for i in 0..count {
        let d = &input[(1 + i) * r..(2 + i) * r];
        let bad = |what: &str| {
            DecodeError::new(format!(
                "EBCDIC: field descriptor {} (record {}): {what}",
                i + 1,
                i + 2
            ))
        };
        if d[..4] != tag("FLD1")[..] {
            return Err(bad("does not start with FLD1"));
        }
        let name = text(&d[4..20]);
        let kind = match char::from(CP037[usize::from(d[20])]) {
            'C' => Kind::Text,
            'P' => Kind::Packed,
            'Z' => Kind::Zoned,
            'D' => Kind::Date,
            other => return Err(bad(&format!("unknown field type {other:?}"))),
        };
        let offset = digits(&d[21..25]).ok_or_else(|| bad("offset is not 4 digits"))?;
        let length = digits(&d[25..28])
            .filter(|&l| l >= 1)
            .ok_or_else(|| bad("length is not 001 to 999"))?;
        let scale = digits(&d[28..30]).ok_or_else(|| bad("scale is not 2 digits"))?;
        let control = match char::from(CP037[usize::from(d[30])]) {
            'T' => true,
            ' ' => false,
            other => {
                return Err(bad(&format!(
                    "control flag {other:?} is neither T nor space"
                )))
            }
        };
        if offset + length > r {
            return Err(bad(&format!(
                "{name} at offset {offset}, {length} bytes, runs past the {r}-byte record"
            )));
        }
        let max_digits = match kind {
            Kind::Packed if length > 16 => {
                return Err(bad(&format!(
                    "packed field {name} of {length} bytes (at most 16)"
                )))
            }
            Kind::Packed => 2 * length - 1,
            Kind::Zoned if length > 31 => {
                return Err(bad(&format!(
                    "zoned field {name} of {length} bytes (at most 31)"
                )))
            }
            Kind::Zoned => length,
            Kind::Date if length != 8 => {
                return Err(bad(&format!("date field {name} of {length} bytes, not 8")))
            }
            _ => 0,
        };
        if scale > max_digits {
            return Err(bad(&format!("{name} has {scale} decimal places")));
        }
        if control && !matches!(kind, Kind::Packed | Kind::Zoned) {
            return Err(bad(&format!(
                "{name} is in the control total but not a number"
            )));
        }
        fields.push(Field {
            name,
            kind,
            offset,
            length,
            scale,
            control,
        });
    }
    let mut scales = fields.iter().filter(|f| f.control).map(|f| f.scale);
    if let Some(first) = scales.next() {
        if scales.any(|s| s != first) {
            return Err(DecodeError::new(
                "EBCDIC: the control total's fields have different scales",
            ));
        }
    }
    Ok(Layout {
        record_length: r,
        dataset: text(&input[10..54]),
        created,
        fields,
    })
}

/// An unsigned number in EBCDIC digits.
fn digits(bytes: &[u8]) -> Option<usize> {
    bytes.iter().try_fold(0usize, |n, &b| {
        (0xf0..=0xf9)
            .contains(&b)
            .then(|| n * 10 + usize::from(b - 0xf0))
    })
}

/// A number field's value (scaled to an integer) and its decimal string.
fn number(field: &Field, bytes: &[u8]) -> Result<(i128, String), String> {
    let value = match field.kind {
        Kind::Packed => packed(bytes)?,
        _ => zoned(bytes)?,
    };
    Ok((value, decimal(value, field.scale)))
}

/// A packed-decimal value: two digit nibbles per byte, the last nibble the
/// sign.
pub fn packed(bytes: &[u8]) -> Result<i128, String> {
    let mut value: i128 = 0;
    let last = bytes.len() - 1;
    for (i, &b) in bytes.iter().enumerate() {
        let nibbles = if i == last { 1 } else { 2 };
        for (k, d) in [b >> 4, b & 0x0f].into_iter().take(nibbles).enumerate() {
            if d > 9 {
                return Err(format!(
                    "packed decimal byte {} holds {} nibble 0x{d:X}, not a digit",
                    i + 1,
                    if k == 0 { "high" } else { "low" }
                ));
            }
            value = value * 10 + i128::from(d);
        }
    }
    match bytes[last] & 0x0f {
        0xA | 0xC | 0xE | 0xF => Ok(value),
        0xB | 0xD => Ok(-value),
        s => Err(format!(
            "packed decimal sign nibble 0x{s:X} (plus is C or F, minus D)"
        )),
    }
}

/// A zoned-decimal value: one digit per byte in the low nibble, zone F,
/// the last zone the sign.
pub fn zoned(bytes: &[u8]) -> Result<i128, String> {
    let mut value: i128 = 0;
    let last = bytes.len() - 1;
    for (i, &b) in bytes.iter().enumerate() {
        let (zone, d) = (b >> 4, b & 0x0f);
        if d > 9 || (i < last && zone != 0xF) {
            return Err(format!(
                "zoned decimal byte {} is 0x{b:02X}, not a digit",
                i + 1
            ));
        }
        value = value * 10 + i128::from(d);
    }
    match bytes[last] >> 4 {
        0xA | 0xC | 0xE | 0xF => Ok(value),
        0xB | 0xD => Ok(-value),
        s => Err(format!("zoned decimal sign zone 0x{s:X}")),
    }
}

/// `value / 10^scale` written exactly, with `scale` decimal places.
pub fn decimal(value: i128, scale: usize) -> String {
    let digits = value.unsigned_abs().to_string();
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = digits.split_at(digits.len() - scale);
    let sign = if value < 0 { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// A date of 8 EBCDIC digits as `YYYY-MM-DD`; all zeros or all spaces is
/// no date.
fn date(bytes: &[u8]) -> Result<String, String> {
    if bytes.iter().all(|&b| b == 0x40) || bytes.iter().all(|&b| b == 0xf0) {
        return Ok(String::new());
    }
    let n = digits(bytes).ok_or_else(|| format!("date {:?} is not 8 digits", text(bytes)))?;
    let (y, m, d) = (n / 10_000, n / 100 % 100, n % 100);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    if d == 0 || d > days {
        return Err(format!("date {n:08} does not exist"));
    }
    Ok(format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes ASCII text as EBCDIC, padded with spaces to `width`.
    fn e(text: &str, width: usize) -> Vec<u8> {
        let mut v = tag(text);
        v.resize(width, 0x40);
        v
    }

    /// A small file: two fields (a name and a packed amount in the
    /// control total) and the given data records.
    fn file(records: &[(&str, &[u8])], count: u64, total: &[u8]) -> Vec<u8> {
        const R: usize = 64;
        let record = |parts: &[&[u8]]| {
            let mut v = parts.concat();
            v.resize(R, 0x40);
            v
        };
        let mut out = record(&[
            &tag("HDR1006402"),
            &e("TEST.DATA.SET", 44),
            &tag("19871231"),
        ]);
        out.extend(record(&[&e("FLD1NAME", 20), &tag("C000101000 ")]));
        out.extend(record(&[&e("FLD1AMOUNT", 20), &tag("P001100502T")]));
        for (name, amount) in records {
            out.extend(record(&[&tag("D"), &e(name, 10), amount]));
        }
        let c = format!("{count:015}");
        out.extend(record(&[&tag("TRL1"), &pack(&c, 0xC), total]));
        out
    }

    fn pack(digits: &str, sign: u8) -> Vec<u8> {
        let mut nibbles: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
        nibbles.push(sign);
        nibbles.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
    }

    fn rows(document: &Document) -> Vec<Vec<String>> {
        match &document.blocks[4] {
            Block::Table { rows, .. } => rows.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn code_page_037_letters_digits_and_latin_1() {
        assert_eq!(CP037[0xC1], b'A');
        assert_eq!(CP037[0x81], b'a');
        assert_eq!(CP037[0xF0], b'0');
        assert_eq!(CP037[0x40], b' ');
        assert_eq!(CP037[0x4B], b'.');
        assert_eq!(
            text(&[0xC8, 0x51, 0x93, 0x54, 0x95, 0x85, 0x40, 0x40]),
            "Hélène"
        );
        // A bijection: every code point below 256 appears once.
        let mut seen = [false; 256];
        for &c in &CP037 {
            assert!(!seen[usize::from(c)]);
            seen[usize::from(c)] = true;
        }
        assert_eq!(text(&[0x05, 0xC1]), "\u{fffd}A");
    }

    #[test]
    fn packed_and_zoned_decimals() {
        assert_eq!(packed(&[0x12, 0x34, 0x5C]), Ok(12345));
        assert_eq!(packed(&[0x12, 0x34, 0x5D]), Ok(-12345));
        assert_eq!(packed(&[0x00, 0x00, 0x7F]), Ok(7));
        assert_eq!(packed(&[0x0C]), Ok(0));
        assert!(packed(&[0x1A, 0x0C])
            .unwrap_err()
            .contains("low nibble 0xA"));
        assert!(packed(&[0xB1, 0x0C])
            .unwrap_err()
            .contains("high nibble 0xB"));
        assert!(packed(&[0x12, 0x33])
            .unwrap_err()
            .contains("sign nibble 0x3"));
        assert_eq!(zoned(&[0xF1, 0xF2, 0xD3]), Ok(-123));
        assert_eq!(zoned(&[0xF0, 0xC5]), Ok(5));
        assert!(zoned(&[0xF1, 0xFA]).is_err());
        assert!(zoned(&[0xC1, 0xF2]).is_err());
        assert_eq!(decimal(-12345, 2), "-123.45");
        assert_eq!(decimal(5, 2), "0.05");
        assert_eq!(decimal(-5, 3), "-0.005");
        assert_eq!(decimal(0, 0), "0");
        assert_eq!(decimal(120, 0), "120");
    }

    #[test]
    fn decodes_a_small_file() {
        let input = file(
            &[
                ("ANA", &pack("000012345", 0xC)),
                ("BORIS", &pack("000000550", 0xD)),
                ("ZOÉ", &pack("000000001", 0xF)),
            ],
            3,
            &pack("000000000011796", 0xC),
        );
        let document = decode(&input).unwrap();
        assert_eq!(document.title, "Mainframe records: TEST.DATA.SET");
        assert_eq!(
            rows(&document),
            vec![
                vec!["ANA".to_owned(), "123.45".to_owned()],
                vec!["BORIS".to_owned(), "-5.50".to_owned()],
                vec!["ZOÉ".to_owned(), "0.01".to_owned()],
            ]
        );
        let Block::Fields { items } = &document.blocks[0] else {
            panic!()
        };
        assert!(items.contains(&(
            "trailer".to_owned(),
            "3 records, control total of AMOUNT 117.96: matches".to_owned()
        )));
        assert!(items.contains(&("created".to_owned(), "1987-12-31".to_owned())));
        assert!(
            legation_decoder_sdk::read_response(&legation_decoder_sdk::respond(Ok(document)))
                .is_ok()
        );
    }

    #[test]
    fn decodes_the_generated_tax_rolls() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/national/legacy");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ebc"))
            .collect();
        files.sort();
        assert_eq!(files.len(), 18);
        let mut total_rows = 0;
        for path in files {
            let bytes = std::fs::read(&path).unwrap();
            let document = decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let Block::Fields { items } = &document.blocks[0] else {
                panic!()
            };
            let count: usize = items
                .iter()
                .find(|(k, _)| k == "data records")
                .map(|(_, v)| v.parse().unwrap())
                .unwrap();
            let Block::Table { columns, rows, .. } = &document.blocks[4] else {
                panic!()
            };
            assert_eq!(columns.len(), 13);
            assert_eq!(columns[8], "TAX-DUE");
            assert_eq!(rows.len(), count);
            for row in rows {
                assert_eq!(row[0], "D");
                assert!(row[2].starts_with('P') && row[2].len() == 8, "{row:?}");
                // Amounts are exact decimals with two places.
                assert!(row[7].split_once('.').is_some_and(|(_, f)| f.len() == 2));
                assert_eq!(row[9].len(), 10);
            }
            total_rows += rows.len();
            // Any cut refuses the file with a reason.
            for cut in [1, 119, 120, bytes.len() / 2] {
                assert!(decode(&bytes[..bytes.len() - cut]).is_err());
            }
        }
        assert!(total_rows > 50, "{total_rows}");
    }

    #[test]
    fn hostile_files_are_refused_with_a_reason() {
        let good = file(
            &[("ANA", &pack("000012345", 0xC))],
            1,
            &pack("000000000012345", 0xC),
        );
        assert!(decode(&good).is_ok());
        let refusal = |input: &[u8]| decode(input).unwrap_err().into_message();
        // Short and empty files, wrong lengths.
        assert!(refusal(b"").contains("no HDR1"));
        assert!(refusal(&good[..40]).contains("no HDR1"));
        assert!(refusal(&good[..good.len() - 1]).contains("not a whole number of 64-byte records"));
        assert!(refusal(&good[..64 * 3]).contains("too few"));
        // Cut after the data: no trailer.
        assert!(refusal(&good[..64 * 4]).contains("not a TRL1 trailer"));
        // A bad nibble in the amount of data record 1 (file offset 64*3 + 11).
        let mut bad = good.clone();
        bad[64 * 3 + 12] = 0x3A;
        let m = refusal(&bad);
        assert!(
            m.contains("data record 1 (file offset 203), field AMOUNT")
                && m.contains("low nibble 0xA"),
            "{m}"
        );
        // A bad sign.
        let mut bad = good.clone();
        bad[64 * 3 + 15] = 0x51;
        assert!(refusal(&bad).contains("sign nibble 0x1"));
        // Count and total mismatches.
        let bad = file(
            &[("ANA", &pack("000012345", 0xC))],
            2,
            &pack("000000000012345", 0xC),
        );
        assert!(refusal(&bad).contains("counts 2 data records, the file holds 1"));
        let bad = file(
            &[("ANA", &pack("000012345", 0xC))],
            1,
            &pack("000000000012344", 0xC),
        );
        assert!(refusal(&bad).contains("control total is 123.44, the data records sum to 123.45"));
        // Record length below the minimum, and a huge one.
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&tag("0010"));
        assert!(refusal(&bad).contains("below the minimum"));
        let mut bad = good.clone();
        bad[4..8].copy_from_slice(&tag("9999"));
        assert!(refusal(&bad).contains("not a whole number"));
        // A field past the end of the record.
        let mut bad = good.clone();
        bad[64 * 2 + 21..64 * 2 + 25].copy_from_slice(&tag("0060"));
        assert!(refusal(&bad).contains("runs past the 64-byte record"));
        // Unknown type, bad control flag, an impossible date in the header.
        let mut bad = good.clone();
        bad[64 + 20] = tag("X")[0];
        assert!(refusal(&bad).contains("unknown field type 'X'"));
        let mut bad = good.clone();
        bad[64 + 30] = tag("T")[0];
        assert!(refusal(&bad).contains("not a number"));
        let mut bad = good.clone();
        bad[54..62].copy_from_slice(&tag("19870230"));
        assert!(refusal(&bad).contains("does not exist"));
        // Every truncation and every single-byte change either decodes or
        // is refused; none panics.
        for cut in 0..good.len() {
            let _ = decode(&good[..cut]);
        }
        for at in 0..good.len() {
            for b in [0x00, 0x40, 0xf0, 0xff, 0x0f, 0xc3] {
                let mut v = good.clone();
                v[at] = b;
                let _ = decode(&v);
            }
        }
    }
}
