//! The JSON decoder.
//!
//! Parses JSON (RFC 8259) with its own strict parser ([`parse`]) and lays
//! the value out as a document:
//!
//! - an object's scalar members (and empty arrays and objects) become one
//!   [`Block::Fields`], in order; each member that is a non-empty object
//!   or array becomes a heading with the member's name and its own
//!   section below, one heading level deeper (down to level 6);
//! - an array of objects becomes a table whose columns are the union of
//!   the objects' member names, in the order first seen;
//! - any other array becomes a table of one column, `value`;
//! - table cells are scalars as written, or compact JSON for nested
//!   values; a column whose values are all numbers or all booleans is
//!   typed so;
//! - a scalar at the top becomes a field named `value`.
//!
//! Numbers are shown as written, never converted, so nothing is rounded.

#![deny(unsafe_code)]

pub mod parse;

use std::collections::BTreeMap;

use legation_decoder_sdk::{decoder, Block, ColumnType, DecodeError, Document, Limits};
use parse::Value;

decoder! {
    name: "json", version: "1.0.0", media_types: ["application/json"],
    decode: decode,
}

/// Decodes a JSON document.
pub fn decode(input: &[u8]) -> Result<Document, DecodeError> {
    let limits = Limits::default();
    // Room for the closing note.
    decode_within(input, limits.max_cells as usize - 1, limits.max_blocks - 1)
}

/// Decodes, cutting the layout at `cells` cells and `blocks` blocks.
fn decode_within(input: &[u8], cells: usize, blocks: usize) -> Result<Document, DecodeError> {
    let value = parse::parse(input)?;
    let mut layout = Layout {
        blocks: Vec::new(),
        cells_left: cells,
        blocks_left: blocks,
        cut: false,
    };
    match &value {
        Value::Object(members) => layout.object(members, 1),
        Value::Array(items) => layout.array(items),
        scalar => layout.blocks.push(Block::Fields {
            items: vec![("value".into(), display(scalar))],
        }),
    }
    let mut blocks = layout.blocks;
    if layout.cut {
        blocks.push(Block::Fields {
            items: vec![(
                "note".into(),
                "the document is too large to show whole; the rest is cut".into(),
            )],
        });
    }
    let title = match value {
        Value::Object(_) => "JSON object",
        Value::Array(_) => "JSON array",
        _ => "JSON value",
    };
    Ok(Document {
        title: title.into(),
        blocks,
    })
}

/// Blocks being laid out, within the view document's limits.
struct Layout {
    blocks: Vec<Block>,
    cells_left: usize,
    blocks_left: usize,
    /// Whether something was left out to keep within the limits.
    cut: bool,
}

impl Layout {
    fn push(&mut self, block: Block, cells: usize) -> bool {
        if self.blocks_left == 0 || cells > self.cells_left {
            self.cut = true;
            return false;
        }
        self.blocks_left -= 1;
        self.cells_left -= cells;
        self.blocks.push(block);
        true
    }

    fn object(&mut self, members: &[(String, Value)], level: u8) {
        let items: Vec<(String, String)> = members
            .iter()
            .filter(|(_, value)| !has_section(value))
            .map(|(name, value)| (name.clone(), display(value)))
            .collect();
        if !items.is_empty() {
            let cells = items.len();
            self.push(Block::Fields { items }, cells);
        }
        for (name, value) in members.iter().filter(|(_, value)| has_section(value)) {
            let heading = Block::Heading {
                level,
                text: name.clone(),
            };
            if !self.push(heading, 0) {
                return;
            }
            match value {
                Value::Object(members) => self.object(members, (level + 1).min(6)),
                Value::Array(items) => self.array(items),
                _ => {}
            }
        }
    }

    fn array(&mut self, items: &[Value]) {
        // Column names in the order first seen, and where each one is.
        let mut columns: Vec<&str> = Vec::new();
        let mut position: BTreeMap<&str, usize> = BTreeMap::new();
        let objects = items.iter().all(|item| matches!(item, Value::Object(_)));
        if objects {
            for item in items {
                if let Value::Object(members) = item {
                    for (name, _) in members {
                        position.entry(name).or_insert_with(|| {
                            columns.push(name);
                            columns.len() - 1
                        });
                    }
                }
            }
        } else {
            columns.push("value");
        }
        // Only the rows that fit are built, so a huge array costs no more
        // memory than the view document may hold.
        let width = columns.len().max(1);
        let fit = (self.cells_left.saturating_sub(columns.len()) / width).min(items.len());
        if fit < items.len() {
            self.cut = true;
        }
        let rows: Vec<Vec<Option<&Value>>> = items[..fit]
            .iter()
            .map(|item| match item {
                Value::Object(members) if objects => {
                    let mut row = vec![None; columns.len()];
                    for (name, value) in members {
                        // The first of duplicate members wins.
                        let slot = &mut row[position[name.as_str()]];
                        if slot.is_none() {
                            *slot = Some(value);
                        }
                    }
                    row
                }
                other => vec![Some(other)],
            })
            .collect();
        let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let types = columns
            .iter()
            .enumerate()
            .map(|(index, _)| column_type(rows.iter().filter_map(|row| row[index])))
            .collect();
        let cells = columns.len() + rows.len() * columns.len();
        let table = Block::Table {
            columns,
            types: Some(types),
            rows: rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|cell| cell.map_or(String::new(), cell_text))
                        .collect()
                })
                .collect(),
        };
        self.push(table, cells);
    }
}

/// Whether a member gets a heading and section of its own rather than a
/// field: non-empty objects and arrays.
fn has_section(value: &Value) -> bool {
    match value {
        Value::Object(members) => !members.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

/// A value for a field: scalars as written, strings unquoted, anything
/// else as compact JSON.
fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(text) => text.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        nested => compact(nested),
    }
}

/// A value for a table cell: like [`display`], but `null` is empty.
fn cell_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => display(other),
    }
}

/// The type of a column from its present, non-null values.
fn column_type<'a>(values: impl Iterator<Item = &'a Value>) -> ColumnType {
    let mut result = None;
    for value in values {
        let found = match value {
            Value::Null => continue,
            Value::Number(text) if text.contains(['.', 'e', 'E']) => ColumnType::Decimal,
            Value::Number(_) => ColumnType::Integer,
            Value::Bool(_) => ColumnType::Boolean,
            _ => return ColumnType::Text,
        };
        result = Some(match (result, found) {
            (None, found) => found,
            (Some(so_far), found) if so_far == found => found,
            (Some(ColumnType::Integer | ColumnType::Decimal), ColumnType::Integer)
            | (Some(ColumnType::Integer | ColumnType::Decimal), ColumnType::Decimal) => {
                ColumnType::Decimal
            }
            _ => return ColumnType::Text,
        });
    }
    result.unwrap_or(ColumnType::Text)
}

/// Compact JSON for a value: no whitespace, members in order.
fn compact(value: &Value) -> String {
    let mut out = String::new();
    write_compact(value, &mut out);
    out
}

fn write_compact(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(text) => out.push_str(text),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_compact(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (index, (name, item)) in members.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_compact(item, out);
            }
            out.push('}');
        }
    }
}

fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
