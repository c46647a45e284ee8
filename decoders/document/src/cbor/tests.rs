use crate::{Block, ColumnType, Document, Limits, PixelFormat, Span, ViewError};

/// One document with every kind of block.
fn sample() -> Document {
    Document {
        title: "Register of deeds, 1921".into(),
        blocks: vec![
            Block::Heading {
                level: 2,
                text: "Entry 47".into(),
            },
            Block::Paragraph {
                spans: vec![
                    Span::plain("Sold to "),
                    Span {
                        text: "Jüri Tamm".into(),
                        strong: true,
                        ..Span::default()
                    },
                    Span {
                        text: "(see ".into(),
                        emphasis: true,
                        ..Span::default()
                    },
                    Span {
                        text: "r/12".into(),
                        emphasis: true,
                        strong: true,
                        code: true,
                    },
                ],
            },
            Block::Fields {
                items: vec![("parcel".into(), "1204".into()), ("area".into(), "".into())],
            },
            Block::Table {
                columns: vec!["date".into(), "price".into()],
                types: Some(vec![ColumnType::Date, ColumnType::Decimal]),
                rows: vec![
                    vec!["1921-03-04".into(), "1200.50".into()],
                    vec!["1930-01-01".into(), "".into()],
                ],
            },
            Block::Table {
                columns: vec!["a".into(), "b".into(), "c".into()],
                types: None,
                rows: vec![],
            },
            Block::Table {
                columns: vec!["t".into(), "b".into(), "i".into()],
                types: Some(vec![
                    ColumnType::Text,
                    ColumnType::Boolean,
                    ColumnType::Integer,
                ]),
                rows: vec![vec!["x".into(), "true".into(), "-3".into()]],
            },
            Block::Image {
                width: 2,
                height: 1,
                format: PixelFormat::GrayAlpha8,
                pixels: vec![0, 255, 128, 0],
            },
            Block::Image {
                width: 1,
                height: 1,
                format: PixelFormat::Rgb8,
                pixels: vec![1, 2, 3],
            },
            Block::Image {
                width: 1,
                height: 2,
                format: PixelFormat::Rgba8,
                pixels: vec![1, 2, 3, 4, 5, 6, 7, 8],
            },
            Block::Image {
                width: 300,
                height: 1,
                format: PixelFormat::Gray8,
                pixels: (0..300).map(|i| i as u8).collect(),
            },
            Block::Code {
                text: "fn main() {}\n".into(),
            },
            Block::Pages { count: 70_000 },
        ],
    }
}

fn decode(bytes: &[u8]) -> Result<Document, ViewError> {
    Document::from_cbor(bytes, &Limits::default())
}

/// Builds encodings by hand, canonical or not, for refusal tests.
#[derive(Default)]
struct Raw(Vec<u8>);

impl Raw {
    fn head(mut self, major: u8, value: u64) -> Self {
        super::head(&mut self.0, major, value);
        self
    }
    fn text(self, value: &str) -> Self {
        let mut raw = self.head(3, value.len() as u64);
        raw.0.extend_from_slice(value.as_bytes());
        raw
    }
    fn uint(self, value: u64) -> Self {
        self.head(0, value)
    }
    fn array(self, len: u64) -> Self {
        self.head(4, len)
    }
    fn map(self, len: u64) -> Self {
        self.head(5, len)
    }
    fn bytes(mut self, value: &[u8]) -> Self {
        self = self.head(2, value.len() as u64);
        self.0.extend_from_slice(value);
        self
    }
    fn raw(mut self, value: &[u8]) -> Self {
        self.0.extend_from_slice(value);
        self
    }
    /// The document head for `blocks` blocks.
    fn doc(blocks: u64) -> Self {
        Raw::default()
            .map(3)
            .text("v")
            .uint(1)
            .text("title")
            .text("T")
            .text("blocks")
            .array(blocks)
    }
    fn done(self) -> Vec<u8> {
        self.0
    }
}

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| (b as char).to_digit(16).unwrap() as u8)
        .collect();
    digits
        .chunks(2)
        .map(|pair| pair[0] << 4 | pair[1])
        .collect()
}

#[test]
fn every_block_kind_round_trips() {
    let document = sample();
    let bytes = document.to_cbor();
    assert_eq!(decode(&bytes).unwrap(), document);
    // Each block alone too, so that a failure names the kind.
    for block in sample().blocks {
        let one = Document {
            title: String::new(),
            blocks: vec![block],
        };
        assert_eq!(decode(&one.to_cbor()).unwrap(), one);
    }
    let empty = Document::default();
    assert_eq!(decode(&empty.to_cbor()).unwrap(), empty);
}

#[test]
fn known_encoding_byte_for_byte() {
    let document = Document {
        title: "T".into(),
        blocks: vec![
            Block::Heading {
                level: 1,
                text: "Hi".into(),
            },
            Block::Paragraph {
                spans: vec![Span {
                    text: "a".into(),
                    strong: true,
                    ..Span::default()
                }],
            },
            Block::Pages { count: 300 },
        ],
    };
    // Computed by hand from RFC 8949 section 3.
    let expected = hex("a3 6176 01 657469746c65 6154 66626c6f636b73 83
         a3 6174 6768656164696e67 656c6576656c 01 6474657874 624869
         a2 6174 69706172616772617068 657370616e73 81 82 6161 02
         a2 6174 657061676573 65636f756e74 19012c");
    assert_eq!(document.to_cbor(), expected);
    assert_eq!(decode(&expected).unwrap(), document);
}

#[test]
fn every_truncation_is_refused_without_panic() {
    let bytes = sample().to_cbor();
    for len in 0..bytes.len() {
        match decode(&bytes[..len]) {
            Err(ViewError::Truncated { at }) => assert!(at <= len, "{len}: at {at}"),
            other => panic!("prefix of {len} bytes: {other:?}"),
        }
    }
}

#[test]
fn every_single_byte_change_is_refused_or_changes_the_document() {
    // A byte flip never panics, and whatever still decodes re-encodes to
    // the same bytes: the encoding is one-to-one.
    let bytes = sample().to_cbor();
    for at in 0..bytes.len() {
        for flip in [0x01u8, 0x20, 0x80, 0xff] {
            let mut changed = bytes.clone();
            changed[at] ^= flip;
            if let Ok(document) = decode(&changed) {
                assert_eq!(document.to_cbor(), changed, "flip {flip:#x} at {at}");
            }
        }
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = Document::default().to_cbor();
    let at = bytes.len();
    bytes.push(0);
    assert_eq!(decode(&bytes), Err(ViewError::TrailingBytes { at }));
}

#[test]
fn non_shortest_heads_are_refused() {
    // The version 1 written in one extra byte, then in 2, 4 and 8.
    for long in [&[0x18, 0x01][..], &[0x19, 0, 1], &[0x1a, 0, 0, 0, 1]] {
        let bytes = Raw::default()
            .map(3)
            .text("v")
            .raw(long)
            .text("title")
            .text("")
            .text("blocks")
            .array(0)
            .done();
        assert_eq!(
            decode(&bytes),
            Err(ViewError::NotCanonical {
                at: 3,
                what: "head longer than needed"
            })
        );
    }
    // A text length of 1 written in two bytes.
    let bytes = Raw::default().map(3).raw(&[0x78, 0x01, b'v']).done();
    assert!(matches!(
        decode(&bytes),
        Err(ViewError::NotCanonical { at: 1, .. })
    ));
    // 8-byte head for a value that fits in 4.
    let mut bytes = Raw::doc(1)
        .map(2)
        .text("t")
        .text("pages")
        .text("count")
        .done();
    bytes.extend([0x1b, 0, 0, 0, 0, 0, 0, 1, 0]);
    assert!(matches!(
        decode(&bytes),
        Err(ViewError::NotCanonical {
            what: "head longer than needed",
            ..
        })
    ));
}

#[test]
fn indefinite_lengths_tags_floats_and_reserved_values_are_refused() {
    let cases: [(&[u8], &str); 5] = [
        (&[0x9f, 0xff], "indefinite length"),
        (&[0xc1, 0x00], "tag"),
        (&[0xf9, 0, 0], "float"),
        (&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0], "float"),
        (&[0x9c], "reserved additional information"),
    ];
    for (item, what) in cases {
        let mut bytes = Raw::doc(0).done();
        let at = bytes.len() - 1;
        bytes.truncate(at);
        bytes.extend_from_slice(item);
        assert_eq!(decode(&bytes), Err(ViewError::NotCanonical { at, what }));
    }
    // An indefinite-length map as the document.
    assert_eq!(
        decode(&[0xbf, 0xff]),
        Err(ViewError::NotCanonical {
            at: 0,
            what: "indefinite length"
        })
    );
}

#[test]
fn keys_must_be_exactly_the_listed_ones_in_order() {
    // Reordered.
    let bytes = Raw::default()
        .map(3)
        .text("title")
        .text("")
        .text("v")
        .uint(1)
        .text("blocks")
        .array(0)
        .done();
    assert_eq!(
        decode(&bytes),
        Err(ViewError::UnexpectedKey {
            at: 1,
            expected: "v",
            found: "title".into()
        })
    );
    // Extra key.
    let bytes = Raw::default()
        .map(4)
        .text("v")
        .uint(1)
        .text("title")
        .text("")
        .text("blocks")
        .array(0)
        .text("x")
        .uint(0)
        .done();
    assert_eq!(
        decode(&bytes),
        Err(ViewError::WrongLength {
            at: 0,
            what: "document map",
            expected: 3,
            found: 4
        })
    );
    // Missing key in a block.
    let bytes = Raw::doc(1).map(2).text("t").text("heading").done();
    assert!(matches!(
        decode(&bytes),
        Err(ViewError::WrongLength {
            what: "block map",
            expected: 3,
            found: 2,
            ..
        })
    ));
    // "t" not first.
    let bytes = Raw::doc(1).map(2).text("text").text("x").done();
    assert!(matches!(
        decode(&bytes),
        Err(ViewError::UnexpectedKey { expected: "t", .. })
    ));
}

#[test]
fn wrong_types_are_refused() {
    let bytes = Raw::default()
        .map(3)
        .text("v")
        .uint(1)
        .text("title")
        .uint(5)
        .done();
    assert_eq!(
        decode(&bytes),
        Err(ViewError::WrongType {
            at: 10,
            expected: "text string"
        })
    );
    assert_eq!(
        decode(&[0x80]),
        Err(ViewError::WrongType {
            at: 0,
            expected: "map"
        })
    );
    // Pixels as a text string.
    let bytes = Raw::doc(1)
        .map(5)
        .text("t")
        .text("image")
        .text("width")
        .uint(1)
        .text("height")
        .uint(1)
        .text("format")
        .text("gray8")
        .text("pixels")
        .text("a")
        .done();
    assert!(matches!(
        decode(&bytes),
        Err(ViewError::WrongType {
            expected: "byte string",
            ..
        })
    ));
    // A span that is not a pair.
    let bytes = Raw::doc(1)
        .map(2)
        .text("t")
        .text("paragraph")
        .text("spans")
        .array(1)
        .array(3)
        .text("a")
        .uint(0)
        .uint(0)
        .done();
    assert!(matches!(
        decode(&bytes),
        Err(ViewError::WrongLength {
            what: "span",
            expected: 2,
            found: 3,
            ..
        })
    ));
}

#[test]
fn invalid_utf8_is_refused() {
    let bytes = Raw::default()
        .map(3)
        .text("v")
        .uint(1)
        .text("title")
        .head(3, 2)
        .raw(&[0xc3, 0x28])
        .text("blocks")
        .array(0)
        .done();
    assert_eq!(decode(&bytes), Err(ViewError::InvalidUtf8 { at: 10 }));
}

#[test]
fn version_must_match() {
    let bytes = Raw::default()
        .map(3)
        .text("v")
        .uint(2)
        .text("title")
        .text("")
        .text("blocks")
        .array(0)
        .done();
    assert_eq!(
        decode(&bytes),
        Err(ViewError::UnsupportedVersion { found: 2 })
    );
}

#[test]
fn unknown_names_are_refused() {
    let bytes = Raw::doc(1).map(2).text("t").text("video").done();
    assert_eq!(
        decode(&bytes),
        Err(ViewError::UnknownBlock {
            name: "video".into()
        })
    );
    let bytes = Raw::doc(1)
        .map(4)
        .text("t")
        .text("table")
        .text("columns")
        .array(1)
        .text("a")
        .text("types")
        .array(1)
        .text("float")
        .text("rows")
        .array(0)
        .done();
    assert_eq!(
        decode(&bytes),
        Err(ViewError::UnknownColumnType {
            name: "float".into()
        })
    );
    let bytes = Raw::doc(1)
        .map(5)
        .text("t")
        .text("image")
        .text("width")
        .uint(1)
        .text("height")
        .uint(1)
        .text("format")
        .text("cmyk8")
        .text("pixels")
        .bytes(&[0; 4])
        .done();
    assert_eq!(
        decode(&bytes),
        Err(ViewError::UnknownPixelFormat {
            name: "cmyk8".into()
        })
    );
}

#[test]
fn bad_flags_are_refused() {
    for flags in [8u64, 15, 255, 1 << 40] {
        let raw = Raw::doc(1)
            .map(2)
            .text("t")
            .text("paragraph")
            .text("spans")
            .array(1)
            .array(2)
            .text("a");
        let at = raw.0.len();
        let bytes = raw.uint(flags).done();
        assert_eq!(decode(&bytes), Err(ViewError::BadFlags { at, flags }));
    }
}

fn heading(level: u64) -> Vec<u8> {
    Raw::doc(1)
        .map(3)
        .text("t")
        .text("heading")
        .text("level")
        .uint(level)
        .text("text")
        .text("x")
        .done()
}

#[test]
fn heading_levels_are_1_to_6() {
    for level in 1..=6 {
        assert!(decode(&heading(level)).is_ok());
    }
    for level in [0, 7, 256, u64::MAX] {
        assert_eq!(
            decode(&heading(level)),
            Err(ViewError::BadHeadingLevel { level })
        );
    }
    let document = Document {
        title: String::new(),
        blocks: vec![Block::Heading {
            level: 9,
            text: String::new(),
        }],
    };
    assert_eq!(
        document.validate(&Limits::default()),
        Err(ViewError::BadHeadingLevel { level: 9 })
    );
}

fn image(width: u64, height: u64, format: &str, pixels: usize) -> Vec<u8> {
    Raw::doc(1)
        .map(5)
        .text("t")
        .text("image")
        .text("width")
        .uint(width)
        .text("height")
        .uint(height)
        .text("format")
        .text(format)
        .text("pixels")
        .bytes(&vec![7; pixels])
        .done()
}

#[test]
fn pixel_bytes_must_match_the_size() {
    assert!(decode(&image(3, 2, "rgba8", 24)).is_ok());
    assert_eq!(
        decode(&image(3, 2, "rgba8", 23)),
        Err(ViewError::PixelsMismatch {
            expected: 24,
            found: 23
        })
    );
    assert_eq!(
        decode(&image(3, 2, "graya8", 13)),
        Err(ViewError::PixelsMismatch {
            expected: 12,
            found: 13
        })
    );
    assert_eq!(
        decode(&image(0, 2, "gray8", 0)),
        Err(ViewError::EmptyImage {
            width: 0,
            height: 2
        })
    );
    // Width beyond 32 bits.
    assert!(matches!(
        decode(&image(1 << 32, 1, "gray8", 1)),
        Err(ViewError::OutOfRange {
            what: "width",
            value: 4_294_967_296,
            ..
        })
    ));
    // The largest image does not overflow the check: its byte count does
    // not fit in 64 bits, so it breaks any pixel limit.
    let limits = Limits {
        max_pixels: u64::MAX,
        ..Limits::default()
    };
    assert_eq!(
        Document::from_cbor(
            &image(u32::MAX.into(), u32::MAX.into(), "rgba8", 1),
            &limits
        ),
        Err(ViewError::LimitExceeded {
            what: "pixels",
            limit: u64::MAX
        })
    );
}

fn table(columns: usize, types: Option<usize>, rows: &[usize]) -> Vec<u8> {
    let mut raw = Raw::doc(1)
        .map(4)
        .text("t")
        .text("table")
        .text("columns")
        .array(columns as u64);
    for _ in 0..columns {
        raw = raw.text("c");
    }
    raw = raw.text("types");
    raw = match types {
        None => raw.raw(&[0xf6]),
        Some(count) => {
            let mut raw = raw.array(count as u64);
            for _ in 0..count {
                raw = raw.text("integer");
            }
            raw
        }
    };
    raw = raw.text("rows").array(rows.len() as u64);
    for cells in rows {
        raw = raw.array(*cells as u64);
        for _ in 0..*cells {
            raw = raw.text("1");
        }
    }
    raw.done()
}

#[test]
fn tables_must_be_rectangular() {
    assert!(decode(&table(2, Some(2), &[2, 2])).is_ok());
    assert!(decode(&table(0, None, &[0])).is_ok());
    assert_eq!(
        decode(&table(2, None, &[2, 3, 2])),
        Err(ViewError::RaggedRow {
            row: 1,
            expected: 2,
            found: 3
        })
    );
    assert_eq!(
        decode(&table(2, Some(1), &[2])),
        Err(ViewError::TypesMismatch {
            expected: 2,
            found: 1
        })
    );
    // Any simple value but null is a wrong type for "types".
    let mut bytes = table(1, None, &[]);
    let at = bytes.iter().position(|b| *b == 0xf6).unwrap();
    bytes[at] = 0xf5;
    assert_eq!(
        decode(&bytes),
        Err(ViewError::WrongType {
            at,
            expected: "array"
        })
    );
}

#[test]
fn pages_appear_at_most_once_with_a_count() {
    let pages = |count| Block::Pages { count };
    let doc = |blocks| Document {
        title: String::new(),
        blocks,
    };
    assert!(decode(&doc(vec![pages(1)]).to_cbor()).is_ok());
    assert_eq!(
        decode(&doc(vec![pages(1), pages(2)]).to_cbor()),
        Err(ViewError::DuplicatePages)
    );
    assert_eq!(
        decode(&doc(vec![pages(0)]).to_cbor()),
        Err(ViewError::NoPages)
    );
}

#[test]
fn limits_are_enforced() {
    let bytes = sample().to_cbor();
    let base = Limits::default();
    let cases = [
        (
            Limits {
                max_bytes: bytes.len() - 1,
                ..base.clone()
            },
            "bytes",
        ),
        (
            Limits {
                max_blocks: 11,
                ..base.clone()
            },
            "blocks",
        ),
        (
            Limits {
                max_text: 22,
                ..base.clone()
            },
            "text length",
        ),
        (
            Limits {
                max_cells: 20,
                ..base.clone()
            },
            "cells",
        ),
        (
            Limits {
                max_pixels: 304,
                ..base.clone()
            },
            "pixels",
        ),
    ];
    for (limits, what) in cases {
        match Document::from_cbor(&bytes, &limits) {
            Err(ViewError::LimitExceeded { what: found, .. }) => assert_eq!(found, what),
            other => panic!("{what}: {other:?}"),
        }
        match sample().validate(&limits) {
            Err(ViewError::LimitExceeded { what: found, .. }) => assert_eq!(found, what),
            Ok(()) => assert_eq!(what, "bytes"),
            other => panic!("{what}: {other:?}"),
        }
    }
    // One less than each limit is fine.
    let exact = Limits {
        max_bytes: bytes.len(),
        max_blocks: 12,
        max_text: 23,
        max_cells: 21,
        max_pixels: 305,
    };
    assert_eq!(Document::from_cbor(&bytes, &exact).unwrap(), sample());
}

#[test]
fn huge_declared_lengths_are_refused_before_allocating() {
    // An array claiming 2^32 blocks in a few bytes.
    let mut bytes = Raw::doc(0).done();
    bytes.pop();
    bytes.extend([0x9a, 0xff, 0xff, 0xff, 0xff]);
    let limits = Limits {
        max_blocks: usize::MAX,
        ..Limits::default()
    };
    assert!(matches!(
        Document::from_cbor(&bytes, &limits),
        Err(ViewError::Truncated { .. })
    ));
    // A text of 2^63 bytes.
    let mut bytes = Raw::default().map(3).text("v").uint(1).text("title").done();
    bytes.extend([0x7b, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert!(matches!(
        decode(&bytes),
        Err(ViewError::LimitExceeded {
            what: "text length",
            ..
        })
    ));
}

#[test]
fn errors_display_a_sentence() {
    let errors = [
        ViewError::Truncated { at: 1 },
        ViewError::NotCanonical { at: 1, what: "tag" },
        ViewError::WrongType {
            at: 1,
            expected: "map",
        },
        ViewError::InvalidUtf8 { at: 1 },
        ViewError::UnexpectedKey {
            at: 1,
            expected: "v",
            found: "w".into(),
        },
        ViewError::WrongLength {
            at: 1,
            what: "span",
            expected: 2,
            found: 3,
        },
        ViewError::UnsupportedVersion { found: 2 },
        ViewError::UnknownBlock { name: "x".into() },
        ViewError::UnknownColumnType { name: "x".into() },
        ViewError::UnknownPixelFormat { name: "x".into() },
        ViewError::BadFlags { at: 1, flags: 8 },
        ViewError::BadHeadingLevel { level: 7 },
        ViewError::OutOfRange {
            at: 1,
            what: "width",
            value: 1 << 40,
        },
        ViewError::EmptyImage {
            width: 0,
            height: 1,
        },
        ViewError::PixelsMismatch {
            expected: 1,
            found: 2,
        },
        ViewError::RaggedRow {
            row: 1,
            expected: 2,
            found: 3,
        },
        ViewError::TypesMismatch {
            expected: 1,
            found: 2,
        },
        ViewError::DuplicatePages,
        ViewError::NoPages,
        ViewError::LimitExceeded {
            what: "bytes",
            limit: 1,
        },
        ViewError::TrailingBytes { at: 1 },
    ];
    for error in errors {
        let text = error.to_string();
        assert!(text.len() > 10 && !text.ends_with('.'), "{text}");
    }
}

/// Rows of a table without columns hold no cell but each costs an
/// allocation: they count as one cell each (SPEC §14.4), in the reader and
/// in `validate`, so a few bytes a row cannot ask for unbounded memory.
#[test]
fn rows_without_cells_count_as_cells() {
    let limits = |max_cells| Limits {
        max_cells,
        ..Limits::default()
    };
    let empty_rows = table(0, None, &[0; 5]);
    assert!(Document::from_cbor(&empty_rows, &limits(5)).is_ok());
    let refused = ViewError::LimitExceeded {
        what: "cells",
        limit: 4,
    };
    assert_eq!(
        Document::from_cbor(&empty_rows, &limits(4)),
        Err(refused.clone())
    );
    let doc = decode(&empty_rows).unwrap();
    assert_eq!(doc.validate(&limits(5)), Ok(()));
    assert_eq!(doc.validate(&limits(4)), Err(refused));
    // Rows with cells count their cells only, as before: 1 column name
    // and 3 cells.
    let one_column = table(1, None, &[1; 3]);
    assert!(Document::from_cbor(&one_column, &limits(4)).is_ok());
    assert!(Document::from_cbor(&one_column, &limits(3)).is_err());
    // Ten million and one empty rows, a byte each: refused by the count
    // before any room is reserved for them.
    let mut flood = table(0, None, &[]);
    flood.pop();
    flood.extend([0x9a, 0x00, 0x98, 0x96, 0x81]);
    flood.resize(flood.len() + 10_000_001, 0x80);
    assert_eq!(
        Document::from_cbor(&flood, &Limits::default()),
        Err(ViewError::LimitExceeded {
            what: "cells",
            limit: 10_000_000
        })
    );
}
