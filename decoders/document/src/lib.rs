//! The Legation view document.
//!
//! A decoder turns the bytes of one record into a [`Document`]: a title and
//! a flat list of [`Block`]s (headings, paragraphs, fields, tables, images,
//! code, and a page count for records shown page by page). Decoders hand
//! documents to their host in the canonical CBOR encoding of the [`cbor`]
//! module; the host reads that untrusted output with
//! [`Document::from_cbor`], which refuses anything but the one canonical
//! encoding of a valid document within the host's [`Limits`].
//!
//! The crate has no dependencies and builds for `wasm32-unknown-unknown`,
//! so the same code runs in decoders and in hosts.

#![deny(unsafe_code)]

pub mod cbor;
mod error;

pub use error::ViewError;

/// Version of the view document model, written as the `"v"` key of every
/// encoded document. A decoder of another version is refused.
pub const VIEW_VERSION: u64 = 1;

/// What a decoder makes of one record (or of one page of it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// Short title shown above the document.
    pub title: String,
    /// The content, in reading order.
    pub blocks: Vec<Block>,
}

/// One piece of a [`Document`]. Blocks do not nest.
///
/// A viewer shows the blocks in order, each the way its kind says; the
/// limits a host enforces on them are [`Limits`] (SPEC §14.4). One of
/// each, in a document a decoder could return:
///
/// ```
/// use legation_document::{Block, ColumnType, Document, Limits, PixelFormat, Span};
///
/// let document = Document {
///     title: "Land register, parcel 17".into(),
///     blocks: vec![
///         // A heading, level 1 (top) to 6.
///         Block::Heading { level: 1, text: "Parcel 17".into() },
///         // A paragraph of runs of text, each plain, emphasised, strong or code.
///         Block::Paragraph {
///             spans: vec![
///                 Span::plain("Registered in "),
///                 Span { text: "1921".into(), strong: true, ..Span::default() },
///                 Span::plain(" under the "),
///                 Span { text: "Land Act".into(), emphasis: true, ..Span::default() },
///                 Span::plain(", file "),
///                 Span { text: "LA-17".into(), code: true, ..Span::default() },
///             ],
///         },
///         // Label and value pairs, such as a record's metadata.
///         Block::Fields {
///             items: vec![
///                 ("owner".into(), "Ana Petrova".into()),
///                 ("area".into(), "1204 m²".into()),
///             ],
///         },
///         // A table: column names, optional column types, rows of text cells.
///         Block::Table {
///             columns: vec!["date".into(), "event".into(), "fee".into()],
///             types: Some(vec![ColumnType::Date, ColumnType::Text, ColumnType::Decimal]),
///             rows: vec![
///                 vec!["1921-03-02".into(), "registered".into(), "1.50".into()],
///                 vec!["1984-08-26".into(), "sold".into(), "12.00".into()],
///             ],
///         },
///         // A raster image: 2 × 1 pixels of RGB, 3 bytes each.
///         Block::Image {
///             width: 2,
///             height: 1,
///             format: PixelFormat::Rgb8,
///             pixels: vec![255, 0, 0, 0, 0, 255],
///         },
///         // Preformatted text in a fixed-width font.
///         Block::Code { text: "PARCEL 17\nOWNER  PETROVA".into() },
///         // The record has 3 pages: the host then asks the decoder's
///         // decode_page for pages 0, 1 and 2, one document each.
///         Block::Pages { count: 3 },
///     ],
/// };
/// document.validate(&Limits::default()).unwrap();
/// // What a decoder hands its host, and what the host reads back.
/// let cbor = document.to_cbor();
/// assert_eq!(Document::from_cbor(&cbor, &Limits::default()).unwrap(), document);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A section heading.
    Heading {
        /// Depth of the heading, 1 (top) to 6.
        level: u8,
        /// The heading text.
        text: String,
    },
    /// A paragraph of styled text.
    Paragraph {
        /// The runs of text, in order.
        spans: Vec<Span>,
    },
    /// Label and value pairs, such as metadata.
    Fields {
        /// `(label, value)` pairs, in display order.
        items: Vec<(String, String)>,
    },
    /// A table of text cells.
    Table {
        /// Column names.
        columns: Vec<String>,
        /// What each column holds, one entry per column, when known.
        types: Option<Vec<ColumnType>>,
        /// Rows, each with exactly one cell per column.
        rows: Vec<Vec<String>>,
    },
    /// A raster image, rows top to bottom, pixels left to right.
    Image {
        /// Width in pixels, at least 1.
        width: u32,
        /// Height in pixels, at least 1.
        height: u32,
        /// Layout of one pixel.
        format: PixelFormat,
        /// `width * height * format.bytes_per_pixel()` bytes.
        pixels: Vec<u8>,
    },
    /// Preformatted text shown in a fixed-width font.
    Code {
        /// The text, lines separated by line feeds.
        text: String,
    },
    /// The record has `count` pages; the host asks for each with
    /// `decode_page`. A document has at most one such block.
    Pages {
        /// Number of pages.
        count: u32,
    },
}

/// A run of text in a paragraph, with its style.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Span {
    /// The text.
    pub text: String,
    /// Shown emphasised (usually italic).
    pub emphasis: bool,
    /// Shown strong (usually bold).
    pub strong: bool,
    /// Shown as code (fixed-width).
    pub code: bool,
}

impl Span {
    /// A span of unstyled text.
    pub fn plain(text: impl Into<String>) -> Span {
        Span {
            text: text.into(),
            ..Span::default()
        }
    }
}

/// What the cells of a table column hold, so that a viewer can align and
/// sort them. Cells stay text whatever the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ColumnType {
    /// Any text.
    Text,
    /// Whole numbers.
    Integer,
    /// Decimal numbers.
    Decimal,
    /// Dates written `YYYY-MM-DD`.
    Date,
    /// `true` or `false`.
    Boolean,
}

impl ColumnType {
    /// The name used in the encoding: `"text"`, `"integer"`, `"decimal"`,
    /// `"date"` or `"boolean"`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Decimal => "decimal",
            ColumnType::Date => "date",
            ColumnType::Boolean => "boolean",
        }
    }

    /// The type with this encoding name, if any.
    pub fn from_name(name: &str) -> Option<ColumnType> {
        Some(match name {
            "text" => ColumnType::Text,
            "integer" => ColumnType::Integer,
            "decimal" => ColumnType::Decimal,
            "date" => ColumnType::Date,
            "boolean" => ColumnType::Boolean,
            _ => return None,
        })
    }
}

/// Layout of one pixel: 8 bits per channel, channels in the order named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PixelFormat {
    /// One byte of grey.
    Gray8,
    /// Grey then alpha (not premultiplied).
    GrayAlpha8,
    /// Red, green, blue.
    Rgb8,
    /// Red, green, blue, alpha (not premultiplied).
    Rgba8,
}

impl PixelFormat {
    /// Bytes per pixel: 1, 2, 3 or 4.
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Gray8 => 1,
            PixelFormat::GrayAlpha8 => 2,
            PixelFormat::Rgb8 => 3,
            PixelFormat::Rgba8 => 4,
        }
    }

    /// The name used in the encoding: `"gray8"`, `"graya8"`, `"rgb8"` or
    /// `"rgba8"`.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Gray8 => "gray8",
            PixelFormat::GrayAlpha8 => "graya8",
            PixelFormat::Rgb8 => "rgb8",
            PixelFormat::Rgba8 => "rgba8",
        }
    }

    /// The format with this encoding name, if any.
    pub fn from_name(name: &str) -> Option<PixelFormat> {
        Some(match name {
            "gray8" => PixelFormat::Gray8,
            "graya8" => PixelFormat::GrayAlpha8,
            "rgb8" => PixelFormat::Rgb8,
            "rgba8" => PixelFormat::Rgba8,
            _ => return None,
        })
    }
}

/// Bounds a host puts on untrusted documents, checked by
/// [`Document::from_cbor`] and [`Document::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Length of the whole encoding, in bytes.
    pub max_bytes: usize,
    /// Number of blocks.
    pub max_blocks: usize,
    /// Pixels of all images together.
    pub max_pixels: u64,
    /// Small items of all blocks together: table cells and column names,
    /// field pairs and paragraph spans. Each costs a heap allocation
    /// however short its encoding, so this bounds the memory a document
    /// takes beyond its byte length.
    pub max_cells: u64,
    /// Length in bytes of any one text (title, heading, span, label,
    /// value, cell or code).
    pub max_text: usize,
}

impl Default for Limits {
    /// 256 MiB, 100 000 blocks, 100 million pixels, 10 million cells and
    /// 64 MiB per text.
    fn default() -> Self {
        Limits {
            max_bytes: 256 << 20,
            max_blocks: 100_000,
            max_pixels: 100_000_000,
            max_cells: 10_000_000,
            max_text: 64 << 20,
        }
    }
}

impl Document {
    /// The canonical CBOR encoding of this document (see [`cbor`]).
    ///
    /// Encoding never fails; an invalid document (a heading of level 7, a
    /// ragged table) encodes to bytes that [`Document::from_cbor`]
    /// refuses. Call [`Document::validate`] first to find out.
    pub fn to_cbor(&self) -> Vec<u8> {
        cbor::encode(self)
    }

    /// Reads a document from its canonical CBOR encoding, refusing any
    /// other encoding, any invalid document and anything beyond `limits`.
    pub fn from_cbor(bytes: &[u8], limits: &Limits) -> Result<Document, ViewError> {
        let document = cbor::decode(bytes, limits)?;
        document.validate(limits)?;
        Ok(document)
    }

    /// Checks the rules every document keeps, and `limits` except
    /// `max_bytes` (which applies to an encoding): heading levels 1 to 6,
    /// one cell per column in every row, one type per column, images of
    /// at least one pixel whose pixel bytes match their size, at most one
    /// [`Block::Pages`] block with a count of at least 1, and the counts
    /// and text lengths of `limits`.
    pub fn validate(&self, limits: &Limits) -> Result<(), ViewError> {
        let mut budget = Budget::new(limits);
        budget.text(&self.title)?;
        if self.blocks.len() > limits.max_blocks {
            return Err(ViewError::LimitExceeded {
                what: "blocks",
                limit: limits.max_blocks as u64,
            });
        }
        let mut pages = false;
        for block in &self.blocks {
            match block {
                Block::Heading { level, text } => {
                    if !(1..=6).contains(level) {
                        return Err(ViewError::BadHeadingLevel {
                            level: u64::from(*level),
                        });
                    }
                    budget.text(text)?;
                }
                Block::Paragraph { spans } => {
                    budget.cells(spans.len())?;
                    for span in spans {
                        budget.text(&span.text)?;
                    }
                }
                Block::Fields { items } => {
                    budget.cells(items.len())?;
                    for (label, value) in items {
                        budget.text(label)?;
                        budget.text(value)?;
                    }
                }
                Block::Table {
                    columns,
                    types,
                    rows,
                } => {
                    budget.cells(columns.len())?;
                    for column in columns {
                        budget.text(column)?;
                    }
                    if let Some(types) = types {
                        if types.len() != columns.len() {
                            return Err(ViewError::TypesMismatch {
                                expected: columns.len(),
                                found: types.len(),
                            });
                        }
                    }
                    for (index, row) in rows.iter().enumerate() {
                        if row.len() != columns.len() {
                            return Err(ViewError::RaggedRow {
                                row: index,
                                expected: columns.len(),
                                found: row.len(),
                            });
                        }
                        // A row without cells (no columns) counts as one.
                        budget.cells(row.len().max(1))?;
                        for cell in row {
                            budget.text(cell)?;
                        }
                    }
                }
                Block::Image {
                    width,
                    height,
                    format,
                    pixels,
                } => {
                    if *width == 0 || *height == 0 {
                        return Err(ViewError::EmptyImage {
                            width: *width,
                            height: *height,
                        });
                    }
                    let count = u64::from(*width) * u64::from(*height);
                    budget.pixels(count)?;
                    let expected = count.checked_mul(format.bytes_per_pixel() as u64).ok_or(
                        ViewError::LimitExceeded {
                            what: "pixels",
                            limit: limits.max_pixels,
                        },
                    )?;
                    if pixels.len() as u64 != expected {
                        return Err(ViewError::PixelsMismatch {
                            expected,
                            found: pixels.len() as u64,
                        });
                    }
                }
                Block::Code { text } => budget.text(text)?,
                Block::Pages { count } => {
                    if pages {
                        return Err(ViewError::DuplicatePages);
                    }
                    pages = true;
                    if *count == 0 {
                        return Err(ViewError::NoPages);
                    }
                }
            }
        }
        Ok(())
    }
}

/// What is left of the per-document limits while a document is checked.
struct Budget<'a> {
    limits: &'a Limits,
    cells: u64,
    pixels: u64,
}

impl<'a> Budget<'a> {
    fn new(limits: &'a Limits) -> Self {
        Budget {
            limits,
            cells: 0,
            pixels: 0,
        }
    }

    fn text(&self, text: &str) -> Result<(), ViewError> {
        if text.len() > self.limits.max_text {
            return Err(ViewError::LimitExceeded {
                what: "text length",
                limit: self.limits.max_text as u64,
            });
        }
        Ok(())
    }

    fn cells(&mut self, count: usize) -> Result<(), ViewError> {
        self.cells = self.cells.saturating_add(count as u64);
        if self.cells > self.limits.max_cells {
            return Err(ViewError::LimitExceeded {
                what: "cells",
                limit: self.limits.max_cells,
            });
        }
        Ok(())
    }

    fn pixels(&mut self, count: u64) -> Result<(), ViewError> {
        self.pixels = self.pixels.saturating_add(count);
        if self.pixels > self.limits.max_pixels {
            return Err(ViewError::LimitExceeded {
                what: "pixels",
                limit: self.limits.max_pixels,
            });
        }
        Ok(())
    }
}
