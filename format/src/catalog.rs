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
/// Largest inflated catalog index a reader accepts (256 MiB).
pub const MAX_INDEX_BYTES: usize = 256 << 20;

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
