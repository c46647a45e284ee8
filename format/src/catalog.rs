//! The encrypted catalog: what each record is, paged so that nothing needs
//! to read it whole.
//!
//! Records are sorted by path (bytewise UTF-8) and cut into pages of
//! [`crate::PAGE_SIZE`]. Each page and the index are JSON, compressed with
//! DEFLATE (RFC 1951) and sealed as streams of their own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How a record's bytes are encoded inside its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The record's own bytes.
    Identity,
    /// Raw DEFLATE (RFC 1951) of the record's bytes.
    Deflate,
}

/// One record as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogRecord {
    /// Path relative to the packed folder, `/`-separated, NFC.
    pub path: String,
    /// Human title (Dublin Core title, else the file name).
    pub title: String,
    /// Media type, e.g. `text/csv`.
    pub media_type: String,
    /// Size of the record in bytes.
    pub size: u64,
    /// BLAKE3 of the record's bytes.
    #[serde(with = "crate::hex::array")]
    pub blake3: [u8; 32],
    /// Original modification time, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Container entry of the decoder that renders this record
    /// (`d/` and 16 hex digits and `.wasm`, listed in the manifest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder: Option<String>,
    /// What rendering the record gave when it was packed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render: Option<Render>,
    /// Dublin Core metadata: element name to values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Vec<String>>,
    /// Container entry holding the sealed stream.
    pub entry: String,
    /// Stream nonce from which the stream key is derived.
    #[serde(with = "crate::hex::array")]
    pub stream: [u8; 16],
    /// How the bytes are encoded in the stream.
    pub encoding: Encoding,
    /// Length of the encoded bytes; the stream is that, then zero padding.
    pub stored_size: u64,
    /// Where the encoded bytes start in the plaintext of `entry`'s stream:
    /// always 0 in format 1.x (a record has a stream of its own, and a
    /// 1.x reader ignores this member); in format 2.0, the record's place
    /// in its bundle, which a 2.0 reader derives from the catalog (this
    /// member is never written to a 1.x page).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The outcome of rendering a record at pack time: the hash of its view
/// documents, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Render {
    /// The decoder produced documents; `blake3` is their render hash.
    Rendered {
        /// The render hash.
        #[serde(with = "crate::hex::array")]
        blake3: [u8; 32],
        /// Number of pages (0 for a single document).
        pages: u32,
    },
    /// No view was recorded, and why (over the size cap, decoder failed).
    NotRendered {
        /// The reason, as the packer's host gave it.
        reason: String,
    },
    /// A status this reader does not know (from a later version): treated
    /// as no recorded view.
    #[serde(other)]
    Unknown,
}

/// A catalog page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Page number, from 0.
    pub page: u64,
    /// The page's records in path order.
    pub records: Vec<CatalogRecord>,
}

/// The catalog index: one line per page and the empty folders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Total number of records.
    pub records: u64,
    /// The pages in order.
    pub pages: Vec<PageRef>,
    /// Folders that hold no record, so that extraction recreates them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty_dirs: Vec<String>,
}

/// One page as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRef {
    /// Container entry of the page.
    pub entry: String,
    /// Number of records on the page.
    pub count: u64,
    /// Path of the first record on the page.
    pub first: String,
    /// Path of the last record on the page.
    pub last: String,
}

impl Index {
    /// Which page would hold `path`, by binary search over first paths.
    pub fn page_for(&self, path: &str) -> Option<usize> {
        let i = self.pages.partition_point(|p| p.first.as_str() <= path);
        let i = i.checked_sub(1)?;
        (path <= self.pages[i].last.as_str()).then_some(i)
    }

    /// Checks the index is coherent: pages in order, counts adding up.
    pub fn check(&self, entry: &str) -> Result<()> {
        let total: u64 = self.pages.iter().map(|p| p.count).sum();
        if total != self.records {
            return Err(Error::invalid(
                entry,
                format!(
                    "pages hold {total} records but the index says {}",
                    self.records
                ),
            ));
        }
        for d in &self.empty_dirs {
            check_record_path(d)
                .map_err(|what| Error::invalid(entry, format!("empty folder: {what}")))?;
        }
        if self.empty_dirs.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(
                entry,
                "empty folders are not sorted and unique",
            ));
        }
        for (i, p) in self.pages.iter().enumerate() {
            if p.entry != crate::catalog_page_entry(i as u64) {
                return Err(Error::invalid(
                    entry,
                    format!(
                        "page {i} is entry {:?}, expected {:?}",
                        p.entry,
                        crate::catalog_page_entry(i as u64)
                    ),
                ));
            }
            if p.count == 0 || p.count > crate::PAGE_SIZE as u64 || p.first > p.last {
                return Err(Error::invalid(
                    entry,
                    format!("page {i} has {} records or first > last", p.count),
                ));
            }
            if i > 0 && self.pages[i - 1].last >= p.first {
                return Err(Error::invalid(
                    entry,
                    format!("page {i} is out of path order"),
                ));
            }
        }
        Ok(())
    }
}

impl Page {
    /// Checks a page against its line in the index.
    pub fn check(&self, number: u64, r: &PageRef) -> Result<()> {
        let bad = |what: String| Err(Error::invalid(r.entry.clone(), what));
        if self.page != number {
            return bad(format!(
                "claims to be page {} but is listed as page {number}",
                self.page
            ));
        }
        if self.records.len() as u64 != r.count {
            return bad(format!(
                "holds {} records, the index says {}",
                self.records.len(),
                r.count
            ));
        }
        if self.records.first().map(|x| &x.path) != Some(&r.first)
            || self.records.last().map(|x| &x.path) != Some(&r.last)
        {
            return bad("first or last path differs from the index".into());
        }
        if self.records.windows(2).any(|w| w[0].path >= w[1].path) {
            return bad("records are not in strict path order".into());
        }
        let mut streams = std::collections::HashSet::new();
        if !self.records.iter().all(|r| streams.insert(r.stream)) {
            return bad("two records share a stream nonce".into());
        }
        for rec in &self.records {
            check_record_path(&rec.path).map_err(|what| Error::invalid(r.entry.clone(), what))?;
            crate::container::check_name(&rec.entry)?;
            let hex16 = rec
                .entry
                .strip_prefix(crate::RECORD_PREFIX)
                .is_some_and(|h| h.len() == 16 && crate::hex::decode(h).is_some());
            if !hex16 {
                return bad(format!(
                    "{}: entry {:?} is not a record entry (r/ and 16 hex digits)",
                    rec.path, rec.entry
                ));
            }
            if rec
                .modified
                .as_deref()
                .is_some_and(|t| crate::time::parse_rfc3339(t).is_none())
            {
                return bad(format!(
                    "{}: modification time {:?} is not RFC 3339 UTC",
                    rec.path, rec.modified
                ));
            }
            if rec.encoding == Encoding::Deflate && rec.stored_size > crate::writer::COMPRESS_MAX {
                return bad(format!(
                    "{}: compressed record of {} bytes exceeds the 16 MiB limit",
                    rec.path, rec.stored_size
                ));
            }
            if rec.encoding == Encoding::Identity && rec.stored_size != rec.size {
                return bad(format!(
                    "{}: stored size {} differs from size {}",
                    rec.path, rec.stored_size, rec.size
                ));
            }
        }
        Ok(())
    }
}

/// Checks a record path is safe to create under any folder: relative,
/// `/`-separated, no empty, `.` or `..` segments, no NUL or backslash, no
/// Windows drive prefix, and NFC.
pub fn check_record_path(path: &str) -> std::result::Result<(), String> {
    use unicode_normalization::UnicodeNormalization;
    if path.is_empty() || path.len() > 4096 {
        return Err(format!(
            "record path {path:?} is empty or longer than 4096 bytes"
        ));
    }
    if path.starts_with('/')
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(format!(
            "record path {path:?} is absolute or has an empty, '.' or '..' segment"
        ));
    }
    if path.chars().any(|c| c == '\\' || c.is_control())
        || path
            .split('/')
            .next()
            .is_some_and(|s| s.len() == 2 && s.ends_with(':'))
    {
        return Err(format!(
            "record path {path:?} has a backslash, control character or drive prefix"
        ));
    }
    let nfc = match unicode_normalization::is_nfc_quick(path.chars()) {
        unicode_normalization::IsNormalized::Yes => true,
        _ => path.nfc().eq(path.chars()),
    };
    if !nfc {
        return Err(format!("record path {path:?} is not in Unicode NFC"));
    }
    Ok(())
}

/// Compresses a JSON document for sealing.
pub fn deflate(json: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(json, 6)
}

/// Inflates a sealed JSON document, refusing more than `limit` bytes.
pub fn inflate(data: &[u8], limit: usize, entry: &str) -> Result<Vec<u8>> {
    miniz_oxide::inflate::decompress_to_vec_with_limit(data, limit).map_err(|e| {
        Error::invalid(
            entry,
            format!(
                "compressed document does not inflate within {limit} bytes: {:?}",
                e.status
            ),
        )
    })
}

/// Largest inflated catalog page a reader accepts (64 MiB).
pub const MAX_PAGE_BYTES: usize = 64 << 20;
/// Largest inflated catalog index a reader accepts (64 MiB; 256 MiB before
/// text 1.3.1, SPEC §10.1).
pub const MAX_INDEX_BYTES: usize = 64 << 20;
/// Most JSON items a catalog page may hold (SPEC §10.1): what a page costs
/// once parsed is bounded by its bytes and its items, not its bytes alone.
pub const MAX_PAGE_ITEMS: usize = 1 << 18;
/// Most JSON items the catalog index may hold (SPEC §10.1).
pub const MAX_INDEX_ITEMS: usize = 1 << 19;
/// Inflated size up to which a document is inflated whole and parsed from
/// memory; a larger one is parsed as it inflates, so that its text and
/// its parsed form are never held at once.
const WHOLE_BELOW: usize = 4 << 20;

/// Counts the JSON items of a document as SPEC §10.1 defines them: one,
/// plus each `,`, `[` and `{` outside strings. Every element of an array
/// and every member of an object (ignored ones too) adds at least one, so
/// the count bounds what parsing the document can allocate beyond its
/// text.
#[derive(Debug, Default, Clone)]
pub struct ItemCounter {
    items: usize,
    in_string: bool,
    escaped: bool,
}

impl ItemCounter {
    /// Counts the items in `bytes`, the next part of the document.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b',' | b'[' | b'{' => self.items += 1,
                    _ => {}
                }
            }
        }
    }
    /// The items counted so far (the document's one included).
    pub fn items(&self) -> usize {
        self.items + 1
    }
}

/// Items of a whole document (SPEC §10.1).
pub fn count_items(json: &[u8]) -> usize {
    let mut c = ItemCounter::default();
    c.feed(json);
    c.items()
}

/// What a parsed catalog document may cost at most, in bytes of memory:
/// its text (every string it holds comes from there) and a fixed cost an
/// item, the largest a map member or vector element of the catalog takes.
pub fn parsed_cost(json_len: usize, items: usize) -> usize {
    json_len.saturating_add(items.saturating_mul(ITEM_COST))
}

/// Bytes of memory an item of a parsed catalog document may cost.
const ITEM_COST: usize = 64;

/// A parsed catalog document and what it may cost in memory.
pub struct Parsed<T> {
    /// The document.
    pub value: T,
    /// Its cost bound, [`parsed_cost`] of its text and items.
    pub cost: usize,
}

/// Inflates and parses a sealed catalog document (a page or the index),
/// refusing more than `limit` bytes or more than `max_items` items
/// (SPEC §10.1) before they are parsed. A document larger than a few MiB
/// is parsed as it inflates, so that memory holds the parsed document and
/// no copy of its text.
pub fn parse_sealed<T: serde::de::DeserializeOwned>(
    deflated: &[u8],
    limit: usize,
    max_items: usize,
    entry: &str,
) -> Result<Parsed<T>> {
    let json_error = |e: serde_json::Error| Error::Json {
        entry: entry.into(),
        reason: e.to_string(),
    };
    let too_many = |items: usize| {
        Error::invalid(
            entry,
            format!("holds {items} JSON items, more than the {max_items} allowed (SPEC §10.1)"),
        )
    };
    match miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, WHOLE_BELOW.min(limit)) {
        Ok(json) => {
            let json = zeroize::Zeroizing::new(json);
            let items = count_items(&json);
            if items > max_items {
                return Err(too_many(items));
            }
            let value = serde_json::from_slice(&json).map_err(json_error)?;
            Ok(Parsed {
                value,
                cost: parsed_cost(json.len(), items),
            })
        }
        Err(e)
            if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput
                && limit > WHOLE_BELOW =>
        {
            let mut reader = Inflating::new(deflated, limit, max_items);
            let parsed = serde_json::from_reader(&mut reader);
            if let Some(stop) = reader.stopped.take() {
                return Err(match stop {
                    Stop::TooLong => Error::invalid(
                        entry,
                        format!("compressed document does not inflate within {limit} bytes"),
                    ),
                    Stop::TooManyItems => Error::invalid(
                        entry,
                        format!("holds more than the {max_items} JSON items allowed (SPEC §10.1)"),
                    ),
                    Stop::Corrupt(status) => Error::invalid(
                        entry,
                        format!("compressed document does not inflate: {status}"),
                    ),
                });
            }
            let value = parsed.map_err(json_error)?;
            Ok(Parsed {
                value,
                cost: parsed_cost(reader.total, reader.counter.items()),
            })
        }
        Err(e) => Err(Error::invalid(
            entry,
            format!(
                "compressed document does not inflate within {limit} bytes: {:?}",
                e.status
            ),
        )),
    }
}

/// [`parse_sealed`] for a catalog page, within the page limits
/// (instantiated here, so that its callers get this crate's optimization).
pub fn parse_page(deflated: &[u8], limit: usize, entry: &str) -> Result<Parsed<Page>> {
    parse_sealed(deflated, limit.min(MAX_PAGE_BYTES), MAX_PAGE_ITEMS, entry)
}

/// [`parse_sealed`] for the catalog index, within the index limits.
pub fn parse_index(deflated: &[u8], entry: &str) -> Result<Parsed<Index>> {
    parse_sealed(deflated, MAX_INDEX_BYTES, MAX_INDEX_ITEMS, entry)
}

/// Why [`Inflating`] stopped early.
enum Stop {
    TooLong,
    TooManyItems,
    Corrupt(String),
}

/// Raw DEFLATE inflated as it is read, counting bytes and items.
struct Inflating<'a> {
    state: Box<miniz_oxide::inflate::stream::InflateState>,
    input: &'a [u8],
    out: zeroize::Zeroizing<Vec<u8>>,
    at: usize,
    len: usize,
    ended: bool,
    total: usize,
    limit: usize,
    max_items: usize,
    counter: ItemCounter,
    stopped: Option<Stop>,
}

impl<'a> Inflating<'a> {
    fn new(input: &'a [u8], limit: usize, max_items: usize) -> Self {
        Inflating {
            state: miniz_oxide::inflate::stream::InflateState::new_boxed(
                miniz_oxide::DataFormat::Raw,
            ),
            input,
            out: zeroize::Zeroizing::new(vec![0; 64 << 10]),
            at: 0,
            len: 0,
            ended: false,
            total: 0,
            limit,
            max_items,
            counter: ItemCounter::default(),
            stopped: None,
        }
    }

    fn stop(&mut self, why: Stop) -> std::io::Error {
        self.stopped = Some(why);
        std::io::Error::other("catalog document refused")
    }
}

impl std::io::Read for Inflating<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.len && !self.ended {
            let r = miniz_oxide::inflate::stream::inflate(
                &mut self.state,
                self.input,
                &mut self.out,
                miniz_oxide::MZFlush::None,
            );
            self.input = &self.input[r.bytes_consumed..];
            match r.status {
                Ok(miniz_oxide::MZStatus::StreamEnd) => self.ended = true,
                Ok(_) if r.bytes_written == 0 && r.bytes_consumed == 0 => {
                    return Err(self.stop(Stop::Corrupt("it ends early".into())))
                }
                Ok(_) => {}
                Err(e) => return Err(self.stop(Stop::Corrupt(format!("{e:?}")))),
            }
            self.at = 0;
            self.len = r.bytes_written;
            self.total += r.bytes_written;
            if self.total > self.limit {
                return Err(self.stop(Stop::TooLong));
            }
            let (len, out) = (self.len, &self.out);
            self.counter.feed(&out[..len]);
            if self.counter.items() > self.max_items {
                return Err(self.stop(Stop::TooManyItems));
            }
        }
        let n = buf.len().min(self.len - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_paths() {
        for ok in ["a", "legal/GPL-3", "Ωμέγα/ß.txt"] {
            check_record_path(ok).unwrap();
        }
        for bad in [
            "",
            "/a",
            "a/../b",
            "a//b",
            "./a",
            "a\\b",
            "C:/x",
            "e\u{301}.txt",
            "a\nb",
        ] {
            assert!(check_record_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn items_are_counted_outside_strings() {
        assert_eq!(count_items(b"{}"), 2);
        assert_eq!(count_items(br#"{"a":[1,2,3]}"#), 5);
        assert_eq!(count_items(br#"{"a":"x,[{y"}"#), 2);
        assert_eq!(count_items(br#"{"a":"q\"[,","b":[]}"#), 4);
        assert_eq!(count_items(br#"["\\",""]"#), 3);
        // Fed in pieces that cut strings and escapes, the count is the same.
        let doc = br#"{"t":"a\",b","m":{"s":["",",","\\"]}}"#;
        let whole = count_items(doc);
        for cut in 0..doc.len() {
            let mut c = ItemCounter::default();
            c.feed(&doc[..cut]);
            c.feed(&doc[cut..]);
            assert_eq!(c.items(), whole, "cut at {cut}");
        }
    }

    #[test]
    fn sealed_documents_parse_whole_or_streamed_alike() {
        let small = Page {
            page: 3,
            records: vec![],
        };
        let mut big = small.clone();
        big.records.push(CatalogRecord {
            path: "a".into(),
            title: "t".repeat(WHOLE_BELOW + 10),
            media_type: "text/plain".into(),
            size: 1,
            blake3: [7; 32],
            modified: None,
            decoder: None,
            render: None,
            metadata: BTreeMap::from([("subject".into(), vec!["x".into(); 1000])]),
            entry: "r/1".into(),
            stream: [1; 16],
            encoding: Encoding::Identity,
            stored_size: 1,
            offset: 0,
        });
        for page in [small, big] {
            let json = serde_json::to_vec(&page).unwrap();
            let sealed = deflate(&json);
            let p: Parsed<Page> =
                parse_sealed(&sealed, MAX_PAGE_BYTES, MAX_PAGE_ITEMS, "c/x").unwrap();
            assert_eq!(p.value, page);
            assert_eq!(p.cost, parsed_cost(json.len(), count_items(&json)));
            // One item fewer than the document has is refused, naming it.
            let items = count_items(&json);
            let e = parse_sealed::<Page>(&sealed, MAX_PAGE_BYTES, items - 1, "c/x")
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("c/x") && e.contains("JSON items"), "{e}");
            // So is a byte fewer than it inflates to.
            assert!(parse_sealed::<Page>(&sealed, json.len() - 1, items, "c/x").is_err());
            assert!(parse_sealed::<Page>(&sealed, json.len(), items, "c/x").is_ok());
            // And a cut stream.
            assert!(parse_sealed::<Page>(
                &sealed[..sealed.len() / 2],
                MAX_PAGE_BYTES,
                items,
                "c/x"
            )
            .is_err());
        }
    }

    #[test]
    fn page_lookup() {
        let p = |e: u64, f: &str, l: &str| PageRef {
            entry: crate::catalog_page_entry(e),
            count: 2,
            first: f.into(),
            last: l.into(),
        };
        let idx = Index {
            records: 4,
            pages: vec![p(0, "a", "c"), p(1, "d", "f")],
            empty_dirs: vec![],
        };
        idx.check("c/index").unwrap();
        assert_eq!(idx.page_for("b"), Some(0));
        assert_eq!(idx.page_for("d"), Some(1));
        assert_eq!(idx.page_for("ca"), None);
        assert_eq!(idx.page_for("0"), None);
        assert_eq!(idx.page_for("z"), None);
    }
}
