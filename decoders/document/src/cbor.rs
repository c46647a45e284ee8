//! Canonical CBOR encoding of view documents.
//!
//! A view document is encoded in CBOR (RFC 8949) restricted to one
//! canonical form: definite lengths only, shortest-form integer and length
//! heads, no tags, no floats, text strings in UTF-8, byte strings for
//! pixels, and maps whose keys are text strings in the fixed order listed
//! here (not sorted). A reader refuses anything else (non-shortest heads,
//! indefinite lengths, extra, missing or reordered keys, trailing bytes),
//! so one document has exactly one encoding: render hashes depend on it.
//!
//! - Document = map `{"v": VIEW_VERSION, "title": text, "blocks": array of
//!   Block}`.
//! - Block = map whose first key is `"t"` with the kind name, then:
//!   - heading: `{"t": "heading", "level": uint, "text": text}`, level 1
//!     to 6;
//!   - paragraph: `{"t": "paragraph", "spans": [[text, flags uint] ...]}`,
//!     where flags bit 0 is emphasis, bit 1 strong, bit 2 code (other bits
//!     are refused);
//!   - fields: `{"t": "fields", "items": [[label text, value text] ...]}`;
//!   - table: `{"t": "table", "columns": [text ...], "types": null or
//!     [name ...], "rows": [[text ...] ...]}`, type names `"text"`,
//!     `"integer"`, `"decimal"`, `"date"`, `"boolean"`; every row has one
//!     cell per column and `types`, when present, one entry per column;
//!   - image: `{"t": "image", "width": uint, "height": uint, "format":
//!     "gray8" | "graya8" | "rgb8" | "rgba8", "pixels": bytes}`, width and
//!     height 1 to 2^32-1, pixels exactly `width * height * bytes per pixel`
//!     (1, 2, 3, 4) bytes;
//!   - code: `{"t": "code", "text": text}`;
//!   - pages: `{"t": "pages", "count": uint}`, count 1 to 2^32-1, at most
//!     one pages block per document.
//!
//! Nothing nests beyond what is listed.

use crate::{Block, ColumnType, Document, Limits, PixelFormat, Span, ViewError, VIEW_VERSION};

const UINT: u8 = 0;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
/// The one simple value used: `null`, for a table without types.
const NULL: u8 = 0xf6;

const EMPHASIS: u64 = 1;
const STRONG: u64 = 2;
const CODE: u64 = 4;

/// Encodes `document` canonically. See [`Document::to_cbor`].
pub fn encode(document: &Document) -> Vec<u8> {
    let mut out = Vec::new();
    head(&mut out, MAP, 3);
    text(&mut out, "v");
    head(&mut out, UINT, VIEW_VERSION);
    text(&mut out, "title");
    text(&mut out, &document.title);
    text(&mut out, "blocks");
    head(&mut out, ARRAY, document.blocks.len() as u64);
    for block in &document.blocks {
        encode_block(&mut out, block);
    }
    out
}

fn encode_block(out: &mut Vec<u8>, block: &Block) {
    match block {
        Block::Heading { level, text: words } => {
            head(out, MAP, 3);
            kind(out, "heading");
            text(out, "level");
            head(out, UINT, u64::from(*level));
            text(out, "text");
            text(out, words);
        }
        Block::Paragraph { spans } => {
            head(out, MAP, 2);
            kind(out, "paragraph");
            text(out, "spans");
            head(out, ARRAY, spans.len() as u64);
            for span in spans {
                let flags = if span.emphasis { EMPHASIS } else { 0 }
                    | if span.strong { STRONG } else { 0 }
                    | if span.code { CODE } else { 0 };
                head(out, ARRAY, 2);
                text(out, &span.text);
                head(out, UINT, flags);
            }
        }
        Block::Fields { items } => {
            head(out, MAP, 2);
            kind(out, "fields");
            text(out, "items");
            head(out, ARRAY, items.len() as u64);
            for (label, value) in items {
                head(out, ARRAY, 2);
                text(out, label);
                text(out, value);
            }
        }
        Block::Table {
            columns,
            types,
            rows,
        } => {
            head(out, MAP, 4);
            kind(out, "table");
            text(out, "columns");
            text_array(out, columns);
            text(out, "types");
            match types {
                None => out.push(NULL),
                Some(types) => {
                    head(out, ARRAY, types.len() as u64);
                    for column_type in types {
                        text(out, column_type.name());
                    }
                }
            }
            text(out, "rows");
            head(out, ARRAY, rows.len() as u64);
            for row in rows {
                text_array(out, row);
            }
        }
        Block::Image {
            width,
            height,
            format,
            pixels,
        } => {
            head(out, MAP, 5);
            kind(out, "image");
            text(out, "width");
            head(out, UINT, u64::from(*width));
            text(out, "height");
            head(out, UINT, u64::from(*height));
            text(out, "format");
            text(out, format.name());
            text(out, "pixels");
            head(out, BYTES, pixels.len() as u64);
            out.extend_from_slice(pixels);
        }
        Block::Code { text: code } => {
            head(out, MAP, 2);
            kind(out, "code");
            text(out, "text");
            text(out, code);
        }
        Block::Pages { count } => {
            head(out, MAP, 2);
            kind(out, "pages");
            text(out, "count");
            head(out, UINT, u64::from(*count));
        }
    }
}

fn kind(out: &mut Vec<u8>, name: &str) {
    text(out, "t");
    text(out, name);
}

fn text_array(out: &mut Vec<u8>, items: &[String]) {
    head(out, ARRAY, items.len() as u64);
    for item in items {
        text(out, item);
    }
}

fn text(out: &mut Vec<u8>, value: &str) {
    head(out, TEXT, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

/// Writes a head in its shortest form.
fn head(out: &mut Vec<u8>, major: u8, value: u64) {
    let major = major << 5;
    if value < 24 {
        out.push(major | value as u8);
    } else if value <= 0xff {
        out.extend_from_slice(&[major | 24, value as u8]);
    } else if value <= 0xffff {
        out.push(major | 25);
        out.extend_from_slice(&(value as u16).to_be_bytes());
    } else if value <= 0xffff_ffff {
        out.push(major | 26);
        out.extend_from_slice(&(value as u32).to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Reads a document, refusing any encoding but the canonical one and
/// keeping the allocations within `limits`. The caller still has to
/// [`Document::validate`] the result: see [`Document::from_cbor`].
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Document, ViewError> {
    if bytes.len() > limits.max_bytes {
        return Err(ViewError::LimitExceeded {
            what: "bytes",
            limit: limits.max_bytes as u64,
        });
    }
    let mut reader = Reader {
        bytes,
        pos: 0,
        limits,
        cells: 0,
    };
    let document = reader.document()?;
    if reader.pos != bytes.len() {
        return Err(ViewError::TrailingBytes { at: reader.pos });
    }
    Ok(document)
}

/// A cursor over an encoding being decoded.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    limits: &'a Limits,
    /// Cells allocated so far, against `limits.max_cells`.
    cells: u64,
}

impl Reader<'_> {
    fn document(&mut self) -> Result<Document, ViewError> {
        self.map(3, "document map")?;
        self.key("v")?;
        let (version, _) = self.uint()?;
        if version != VIEW_VERSION {
            return Err(ViewError::UnsupportedVersion { found: version });
        }
        self.key("title")?;
        let title = self.text()?;
        self.key("blocks")?;
        let count = self.array()?;
        if count > self.limits.max_blocks {
            return Err(ViewError::LimitExceeded {
                what: "blocks",
                limit: self.limits.max_blocks as u64,
            });
        }
        let mut blocks = Vec::with_capacity(count);
        for _ in 0..count {
            blocks.push(self.block()?);
        }
        Ok(Document { title, blocks })
    }

    fn block(&mut self) -> Result<Block, ViewError> {
        let (at, entries) = self.map_head()?;
        self.key("t")?;
        let name = self.text()?;
        let expected = match name.as_str() {
            "heading" => 3,
            "paragraph" | "fields" | "code" | "pages" => 2,
            "table" => 4,
            "image" => 5,
            _ => return Err(ViewError::UnknownBlock { name }),
        };
        if entries != expected {
            return Err(ViewError::WrongLength {
                at,
                what: "block map",
                expected,
                found: entries,
            });
        }
        Ok(match name.as_str() {
            "heading" => {
                self.key("level")?;
                let (level, _) = self.uint()?;
                if !(1..=6).contains(&level) {
                    return Err(ViewError::BadHeadingLevel { level });
                }
                self.key("text")?;
                Block::Heading {
                    level: level as u8,
                    text: self.text()?,
                }
            }
            "paragraph" => {
                self.key("spans")?;
                let count = self.array()?;
                self.count_cells(count)?;
                let mut spans = Vec::with_capacity(count);
                for _ in 0..count {
                    self.pair("span")?;
                    let text = self.text()?;
                    let (flags, at) = self.uint()?;
                    if flags & !(EMPHASIS | STRONG | CODE) != 0 {
                        return Err(ViewError::BadFlags { at, flags });
                    }
                    spans.push(Span {
                        text,
                        emphasis: flags & EMPHASIS != 0,
                        strong: flags & STRONG != 0,
                        code: flags & CODE != 0,
                    });
                }
                Block::Paragraph { spans }
            }
            "fields" => {
                self.key("items")?;
                let count = self.array()?;
                self.count_cells(count)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    self.pair("field")?;
                    let label = self.text()?;
                    items.push((label, self.text()?));
                }
                Block::Fields { items }
            }
            "table" => {
                self.key("columns")?;
                let columns = self.texts()?;
                self.key("types")?;
                let types = if self.bytes.get(self.pos) == Some(&NULL) {
                    self.pos += 1;
                    None
                } else {
                    let count = self.array()?;
                    let mut types = Vec::with_capacity(count);
                    for _ in 0..count {
                        let name = self.text()?;
                        match ColumnType::from_name(&name) {
                            Some(column_type) => types.push(column_type),
                            None => return Err(ViewError::UnknownColumnType { name }),
                        }
                    }
                    Some(types)
                };
                self.key("rows")?;
                let count = self.array()?;
                // A row of a table without columns holds no cell but still
                // costs an allocation: it counts as one cell (SPEC §14.4).
                // Other rows are counted by their cells as they are read,
                // so no more are reserved than the cell budget allows.
                if columns.is_empty() {
                    self.count_cells(count)?;
                }
                let affordable =
                    self.limits.max_cells.saturating_sub(self.cells) / columns.len().max(1) as u64;
                let mut rows = Vec::with_capacity(count.min(affordable as usize));
                for _ in 0..count {
                    rows.push(self.texts()?);
                }
                Block::Table {
                    columns,
                    types,
                    rows,
                }
            }
            "image" => {
                self.key("width")?;
                let width = self.u32("width")?;
                self.key("height")?;
                let height = self.u32("height")?;
                self.key("format")?;
                let name = self.text()?;
                let format =
                    PixelFormat::from_name(&name).ok_or(ViewError::UnknownPixelFormat { name })?;
                self.key("pixels")?;
                let (_, len) = self.string_head(BYTES, "byte string")?;
                let pixels = self.take(len)?.to_vec();
                Block::Image {
                    width,
                    height,
                    format,
                    pixels,
                }
            }
            "code" => {
                self.key("text")?;
                Block::Code { text: self.text()? }
            }
            _ => {
                self.key("count")?;
                Block::Pages {
                    count: self.u32("page count")?,
                }
            }
        })
    }

    /// Reads an array of text strings, each counted as a cell.
    fn texts(&mut self) -> Result<Vec<String>, ViewError> {
        let count = self.array()?;
        self.count_cells(count)?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(self.text()?);
        }
        Ok(items)
    }

    fn count_cells(&mut self, count: usize) -> Result<(), ViewError> {
        self.cells = self.cells.saturating_add(count as u64);
        if self.cells > self.limits.max_cells {
            return Err(ViewError::LimitExceeded {
                what: "cells",
                limit: self.limits.max_cells,
            });
        }
        Ok(())
    }

    /// Reads the head of an array of exactly two entries.
    fn pair(&mut self, what: &'static str) -> Result<(), ViewError> {
        let at = self.pos;
        let count = self.array()?;
        if count != 2 {
            return Err(ViewError::WrongLength {
                at,
                what,
                expected: 2,
                found: count as u64,
            });
        }
        Ok(())
    }

    /// Reads a map head that must announce `entries` entries.
    fn map(&mut self, entries: u64, what: &'static str) -> Result<(), ViewError> {
        let (at, found) = self.map_head()?;
        if found != entries {
            return Err(ViewError::WrongLength {
                at,
                what,
                expected: entries,
                found,
            });
        }
        Ok(())
    }

    fn map_head(&mut self) -> Result<(usize, u64), ViewError> {
        let (major, value, at) = self.head()?;
        if major != MAP {
            return Err(ViewError::WrongType {
                at,
                expected: "map",
            });
        }
        Ok((at, value))
    }

    /// Reads a map key that must be `expected`.
    fn key(&mut self, expected: &'static str) -> Result<(), ViewError> {
        let at = self.pos;
        let found = self.text()?;
        if found != expected {
            return Err(ViewError::UnexpectedKey {
                at,
                expected,
                found,
            });
        }
        Ok(())
    }

    /// Reads an array head. Every entry takes at least one byte, so a count
    /// beyond the bytes left is refused before anything is allocated.
    fn array(&mut self) -> Result<usize, ViewError> {
        let (major, value, at) = self.head()?;
        if major != ARRAY {
            return Err(ViewError::WrongType {
                at,
                expected: "array",
            });
        }
        let left = self.bytes.len() - self.pos;
        if value > left as u64 {
            return Err(ViewError::Truncated {
                at: self.bytes.len(),
            });
        }
        Ok(value as usize)
    }

    /// Reads an unsigned integer and the offset of its head.
    fn uint(&mut self) -> Result<(u64, usize), ViewError> {
        let (major, value, at) = self.head()?;
        if major != UINT {
            return Err(ViewError::WrongType {
                at,
                expected: "unsigned integer",
            });
        }
        Ok((value, at))
    }

    /// Reads an unsigned integer of at most 32 bits. (Zero is refused
    /// later, by [`Document::validate`].)
    fn u32(&mut self, what: &'static str) -> Result<u32, ViewError> {
        let (value, at) = self.uint()?;
        u32::try_from(value).map_err(|_| ViewError::OutOfRange { at, what, value })
    }

    fn text(&mut self) -> Result<String, ViewError> {
        let (at, len) = self.string_head(TEXT, "text string")?;
        if len > self.limits.max_text as u64 {
            return Err(ViewError::LimitExceeded {
                what: "text length",
                limit: self.limits.max_text as u64,
            });
        }
        let bytes = self.take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => Err(ViewError::InvalidUtf8 { at }),
        }
    }

    fn string_head(
        &mut self,
        major: u8,
        expected: &'static str,
    ) -> Result<(usize, u64), ViewError> {
        let (found, len, at) = self.head()?;
        if found != major {
            return Err(ViewError::WrongType { at, expected });
        }
        Ok((at, len))
    }

    /// Takes the `len` bytes of a string's content.
    fn take(&mut self, len: u64) -> Result<&[u8], ViewError> {
        let left = (self.bytes.len() - self.pos) as u64;
        if len > left {
            return Err(ViewError::Truncated {
                at: self.bytes.len(),
            });
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.bytes[start..self.pos])
    }

    /// Reads a head: major type, argument and the offset of the head,
    /// refusing the forms canonical CBOR excludes.
    fn head(&mut self) -> Result<(u8, u64, usize), ViewError> {
        let at = self.pos;
        let first = *self.bytes.get(at).ok_or(ViewError::Truncated { at })?;
        let major = first >> 5;
        let info = first & 0x1f;
        if major == 6 {
            return Err(ViewError::NotCanonical { at, what: "tag" });
        }
        if major == 7 && (25..=27).contains(&info) {
            return Err(ViewError::NotCanonical { at, what: "float" });
        }
        let (extra, minimum) = match info {
            0..=23 => (0, 0),
            24 => (1, 24),
            25 => (2, 0x100),
            26 => (4, 0x1_0000),
            27 => (8, 0x1_0000_0000),
            31 => {
                return Err(ViewError::NotCanonical {
                    at,
                    what: "indefinite length",
                })
            }
            _ => {
                return Err(ViewError::NotCanonical {
                    at,
                    what: "reserved additional information",
                })
            }
        };
        let end = at + 1 + extra;
        if end > self.bytes.len() {
            return Err(ViewError::Truncated { at });
        }
        let value = if extra == 0 {
            u64::from(info)
        } else {
            self.bytes[at + 1..end]
                .iter()
                .fold(0u64, |value, byte| value << 8 | u64::from(*byte))
        };
        if value < minimum {
            return Err(ViewError::NotCanonical {
                at,
                what: "head longer than needed",
            });
        }
        self.pos = end;
        Ok((major, value, at))
    }
}

#[cfg(test)]
mod tests;
