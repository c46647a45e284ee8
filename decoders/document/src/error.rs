//! Why a view document was refused.

use std::fmt;

/// Why [`Document::from_cbor`](crate::Document::from_cbor) or
/// [`Document::validate`](crate::Document::validate) refused a document.
/// Offsets (`at`) count bytes from the start of the encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViewError {
    /// The encoding ends inside an item that starts or continues at `at`.
    Truncated {
        /// Offset where more bytes were needed.
        at: usize,
    },
    /// The item at `at` is valid CBOR but not canonical: a longer head than
    /// needed, an indefinite length, a tag, a float or a reserved value.
    NotCanonical {
        /// Offset of the item's head.
        at: usize,
        /// What is wrong with it.
        what: &'static str,
    },
    /// The item at `at` has another CBOR type than the model needs there.
    WrongType {
        /// Offset of the item's head.
        at: usize,
        /// What was expected, such as `"text string"`.
        expected: &'static str,
    },
    /// The text string at `at` is not UTF-8.
    InvalidUtf8 {
        /// Offset of the string's head.
        at: usize,
    },
    /// A map key other than the one the fixed key order requires.
    UnexpectedKey {
        /// Offset of the key.
        at: usize,
        /// The key that must stand there.
        expected: &'static str,
        /// The key found.
        found: String,
    },
    /// A map or fixed-size array has the wrong number of entries.
    WrongLength {
        /// Offset of the map or array head.
        at: usize,
        /// What the map or array is.
        what: &'static str,
        /// Entries required.
        expected: u64,
        /// Entries found.
        found: u64,
    },
    /// The document's `"v"` is not [`VIEW_VERSION`](crate::VIEW_VERSION).
    UnsupportedVersion {
        /// The version found.
        found: u64,
    },
    /// A block's `"t"` names no known kind of block.
    UnknownBlock {
        /// The name found.
        name: String,
    },
    /// A table's `"types"` names no known column type.
    UnknownColumnType {
        /// The name found.
        name: String,
    },
    /// An image's `"format"` names no known pixel format.
    UnknownPixelFormat {
        /// The name found.
        name: String,
    },
    /// A span's flags have bits other than emphasis (1), strong (2) and
    /// code (4).
    BadFlags {
        /// Offset of the flags.
        at: usize,
        /// The flags found.
        flags: u64,
    },
    /// A heading level outside 1 to 6.
    BadHeadingLevel {
        /// The level found.
        level: u64,
    },
    /// An unsigned integer too large for its field (width, height and page
    /// count are 32-bit).
    OutOfRange {
        /// Offset of the integer.
        at: usize,
        /// The field.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// An image with no pixels.
    EmptyImage {
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
    /// An image whose pixel bytes do not match width, height and format.
    PixelsMismatch {
        /// `width * height * bytes per pixel`.
        expected: u64,
        /// Bytes found.
        found: u64,
    },
    /// A table row with another number of cells than there are columns.
    RaggedRow {
        /// Index of the row, from 0.
        row: usize,
        /// Number of columns.
        expected: usize,
        /// Cells in the row.
        found: usize,
    },
    /// A table whose `types` has another length than its columns.
    TypesMismatch {
        /// Number of columns.
        expected: usize,
        /// Number of types.
        found: usize,
    },
    /// More than one pages block.
    DuplicatePages,
    /// A pages block with a count of 0.
    NoPages,
    /// A limit of the host's [`Limits`](crate::Limits) was exceeded.
    LimitExceeded {
        /// Which limit: `"bytes"`, `"blocks"`, `"pixels"`, `"cells"` or
        /// `"text length"`.
        what: &'static str,
        /// Its value.
        limit: u64,
    },
    /// Bytes follow the document.
    TrailingBytes {
        /// Offset of the first extra byte.
        at: usize,
    },
}

impl fmt::Display for ViewError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViewError::Truncated { at } => write!(f, "view document truncated at byte {at}"),
            ViewError::NotCanonical { at, what } => {
                write!(f, "view document not canonical at byte {at}: {what}")
            }
            ViewError::WrongType { at, expected } => {
                write!(
                    f,
                    "view document has a wrong type at byte {at}: expected {expected}"
                )
            }
            ViewError::InvalidUtf8 { at } => {
                write!(
                    f,
                    "view document has a text string that is not UTF-8 at byte {at}"
                )
            }
            ViewError::UnexpectedKey {
                at,
                expected,
                found,
            } => write!(
                f,
                "view document has key {found:?} at byte {at} where {expected:?} must stand"
            ),
            ViewError::WrongLength {
                at,
                what,
                expected,
                found,
            } => write!(
                f,
                "view document has a {what} of {found} entries at byte {at}, expected {expected}"
            ),
            ViewError::UnsupportedVersion { found } => write!(
                f,
                "view document version {found} is not supported (this reader knows {})",
                crate::VIEW_VERSION
            ),
            ViewError::UnknownBlock { name } => write!(f, "unknown block kind {name:?}"),
            ViewError::UnknownColumnType { name } => write!(f, "unknown column type {name:?}"),
            ViewError::UnknownPixelFormat { name } => write!(f, "unknown pixel format {name:?}"),
            ViewError::BadFlags { at, flags } => {
                write!(f, "span flags {flags} at byte {at} have unknown bits")
            }
            ViewError::BadHeadingLevel { level } => {
                write!(f, "heading level {level} is not between 1 and 6")
            }
            ViewError::OutOfRange { at, what, value } => {
                write!(f, "{what} {value} at byte {at} is out of range")
            }
            ViewError::EmptyImage { width, height } => {
                write!(f, "image of {width} x {height} pixels has no pixels")
            }
            ViewError::PixelsMismatch { expected, found } => {
                write!(f, "image has {found} pixel bytes, expected {expected}")
            }
            ViewError::RaggedRow {
                row,
                expected,
                found,
            } => write!(
                f,
                "table row {row} has {found} cells, expected one per column ({expected})"
            ),
            ViewError::TypesMismatch { expected, found } => write!(
                f,
                "table has {found} column types, expected one per column ({expected})"
            ),
            ViewError::DuplicatePages => write!(f, "view document has more than one pages block"),
            ViewError::NoPages => write!(f, "pages block with a count of 0"),
            ViewError::LimitExceeded { what, limit } => {
                write!(f, "view document over its limit on {what} ({limit})")
            }
            ViewError::TrailingBytes { at } => {
                write!(f, "view document followed by extra bytes at byte {at}")
            }
        }
    }
}

impl std::error::Error for ViewError {}
