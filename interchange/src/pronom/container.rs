//! Container identification: formats that are ZIP files (DOCX, XLSX,
//! PPTX, ODT, ODS, EPUB, ...) told apart by the entries they hold and
//! byte sequences inside those entries, from PRONOM's container
//! signatures (`interchange/pronom/containers.tsv`, written by
//! `update.py` from the container signature file opf-fido ships; source
//! and licence in `interchange/pronom/README.md`).
//!
//! Only a record whose byte signature says ZIP (a "trigger" PUID of the
//! container file: `x-fmt/263`, `fmt/189`) is looked into, so other
//! records cost nothing more. Its central directory is found from the end
//! and read within fixed limits whatever the record claims: at most
//! [`MAX_DIRECTORY`] bytes and [`MAX_ENTRIES`] entries of it, and of the
//! entries the signatures name (a few dozen paths), at most
//! [`MAX_STORED`] stored bytes each, inflated to at most
//! [`ENTRY_WINDOW`] bytes (a zip bomb entry stops there). A central
//! directory over those limits, or one that does not hold together
//! (past the record's end, a bad entry header), leaves the record
//! identified as ZIP, with a warning saying why.
//!
//! Matching follows DROID: a container signature matches when every
//! entry it names is present (by exact path) and every byte sequence it
//! gives for an entry matches that entry's first [`ENTRY_WINDOW`] bytes
//! (an entry that cannot be read: encrypted, compressed by another
//! method than DEFLATE or stored, matches no sequence). Of the formats
//! matched, PRONOM's priorities and the record's extension choose, as for
//! byte signatures. OLE2 containers (Word 97, Excel 97, ...) are not
//! looked into yet: their signatures are not in the data file.

use super::pattern::{Budget, Pattern};
use super::{parse_sequence, registry, Anchor, BUDGET};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::OnceLock;

/// Most central directory bytes read.
pub const MAX_DIRECTORY: u64 = 4 << 20;
/// Most central directory entries looked at.
pub const MAX_ENTRIES: u64 = 65_536;
/// Most bytes of one entry's stored (compressed) data read.
pub const MAX_STORED: u64 = 256 * 1024;
/// Bytes of an entry's content its sequences are matched against.
pub const ENTRY_WINDOW: usize = 64 * 1024;
/// The end of central directory record and its comment lie in the last
/// this many bytes.
const EOCD_SEARCH: u64 = 22 + 65_535;

/// The container signatures, as compiled in.
const CONTAINERS: &str = include_str!("../../pronom/containers.tsv");

/// One entry a container signature needs.
struct Entry {
    path: String,
    /// The byte sequences its content must all hold (none: present is
    /// enough).
    sequences: Vec<Pattern>,
}

/// One ZIP container signature.
struct ContainerSignature {
    /// Index of its format in the byte signatures' registry.
    format: usize,
    entries: Vec<Entry>,
}

/// The parsed container file.
pub(super) struct Containers {
    /// Its version (`20200121`, from the file's name).
    pub(super) version: String,
    /// The formats whose records are looked into, by index.
    triggers: Vec<usize>,
    signatures: Vec<ContainerSignature>,
    /// Every path a signature names, and its number.
    paths: HashMap<String, usize>,
}

/// The container signatures, parsed on first use.
pub(super) fn containers() -> &'static Containers {
    static C: OnceLock<Containers> = OnceLock::new();
    C.get_or_init(|| Containers::parse(CONTAINERS).expect("the compiled-in container file parses"))
}

impl Containers {
    fn parse(text: &str) -> Result<Containers, String> {
        let reg = registry();
        let mut c = Containers {
            version: String::new(),
            triggers: Vec::new(),
            signatures: Vec::new(),
            paths: HashMap::new(),
        };
        let format = |puid: &str| {
            reg.format_index(puid)
                .ok_or_else(|| format!("{puid} is not a format of the byte signatures"))
        };
        let mut ids: HashMap<String, usize> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split('\t').collect();
            let at = |e: String| format!("containers.tsv line {}: {e}", n + 1);
            match f.as_slice() {
                ["C", _, source] => {
                    c.version = source
                        .trim_start_matches("container-signature-")
                        .trim_end_matches(".xml")
                        .to_string()
                }
                ["T", puid] => c.triggers.push(format(puid).map_err(at)?),
                ["Z", id, puid, _] => {
                    ids.insert(id.to_string(), c.signatures.len());
                    c.signatures.push(ContainerSignature {
                        format: format(puid).map_err(at)?,
                        entries: Vec::new(),
                    });
                }
                ["E", id, path, seqs @ ..] => {
                    let &s = ids
                        .get(*id)
                        .ok_or_else(|| at(format!("entry of signature {id}, not listed")))?;
                    let mut sequences = Vec::new();
                    for q in seqs {
                        let (seq, _, _) = parse_sequence(q).map_err(at)?;
                        if seq.anchor == Anchor::Eof {
                            return Err(at("an EOF sequence in a container entry".into()));
                        }
                        sequences.push(seq.pattern);
                    }
                    let next = c.paths.len();
                    c.paths.entry(path.to_string()).or_insert(next);
                    c.signatures[s].entries.push(Entry {
                        path: path.to_string(),
                        sequences,
                    });
                }
                [""] => {}
                _ => return Err(at("not a C, T, Z or E line".into())),
            }
        }
        Ok(c)
    }

    /// Whether a record identified as format `index` is looked into.
    pub(super) fn triggers(&self, index: usize) -> bool {
        self.triggers.contains(&index)
    }

    /// Number of ZIP container signatures.
    pub(super) fn count(&self) -> usize {
        self.signatures.len()
    }
}

/// Where a container's bytes are read from: the record in memory, or a
/// reader that can seek. Every read is counted.
pub(super) trait Source {
    fn len(&self) -> u64;
    /// Fills `buf` from `at`; the caller keeps `at + buf.len()` within
    /// `len()`.
    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> std::io::Result<()>;
}

impl Source for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let at = at as usize;
        buf.copy_from_slice(&self[at..at + buf.len()]);
        Ok(())
    }
}

/// A seekable reader of known length.
pub(super) struct Seeking<R> {
    pub(super) reader: R,
    pub(super) len: u64,
}

impl<R: Read + Seek> Source for Seeking<R> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.reader.seek(SeekFrom::Start(at))?;
        self.reader.read_exact(buf)
    }
}

/// What looking into a ZIP gave.
pub(super) enum Outcome {
    /// Formats matched (indices, with the entries of the signature that
    /// matched first for each), in signature order.
    Matched(Vec<(usize, Vec<String>)>, bool),
    /// Nothing matched (the budget spent or not).
    Nothing(bool),
    /// The ZIP was not looked into fully: why.
    NotRead(String),
}

/// An entry of the central directory that a signature names.
#[derive(Clone, Copy)]
struct Found {
    method: u16,
    encrypted: bool,
    stored: u64,
    local: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Reads `n` bytes at `at`, refusing a range past the record's end.
fn read(src: &mut dyn Source, at: u64, n: u64, what: &str) -> Result<Vec<u8>, String> {
    if at.checked_add(n).is_none_or(|end| end > src.len()) {
        return Err(format!("{what} lies past the end of the record"));
    }
    let mut buf = vec![0u8; n as usize];
    src.read_at(at, &mut buf)
        .map_err(|e| format!("reading {what}: {e}"))?;
    Ok(buf)
}

/// The central directory's place: (offset, size, entries claimed).
fn directory(src: &mut dyn Source) -> Result<(u64, u64, u64), String> {
    let len = src.len();
    let from = len.saturating_sub(EOCD_SEARCH);
    let end = read(src, from, len - from, "the end of the ZIP")?;
    let at = (0..end.len().saturating_sub(21))
        .rev()
        .find(|&i| {
            end[i..].starts_with(b"PK\x05\x06")
                && i + 22 + u16_at(&end, i + 20) as usize <= end.len()
        })
        .ok_or("no end of central directory record")?;
    let eocd = &end[at..at + 22];
    let (mut entries, mut size, mut offset) = (
        u16_at(eocd, 10) as u64,
        u32_at(eocd, 12) as u64,
        u32_at(eocd, 16) as u64,
    );
    if entries == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        // ZIP64: the locator just before, then its own record.
        let locator = from + at as u64;
        let loc = read(
            src,
            locator.checked_sub(20).ok_or("no ZIP64 locator")?,
            20,
            "the ZIP64 locator",
        )?;
        if !loc.starts_with(b"PK\x06\x07") {
            return Err("no ZIP64 locator before a ZIP64 end record".into());
        }
        let rec = read(src, u64_at(&loc, 8), 56, "the ZIP64 end record")?;
        if !rec.starts_with(b"PK\x06\x06") {
            return Err("the ZIP64 end record's signature is wrong".into());
        }
        (entries, size, offset) = (u64_at(&rec, 32), u64_at(&rec, 40), u64_at(&rec, 48));
    }
    if offset.checked_add(size).is_none_or(|e| e > len) {
        return Err(format!(
            "its central directory ({size} bytes at {offset}) lies past the end of the record"
        ));
    }
    Ok((offset, size, entries))
}

/// The entries of the central directory that signatures name, by path
/// number, the first of each name.
fn entries(src: &mut dyn Source, c: &Containers) -> Result<Vec<Option<Found>>, String> {
    let (offset, size, claimed) = directory(src)?;
    if size > MAX_DIRECTORY {
        return Err(format!(
            "its central directory has {size} bytes, over the {MAX_DIRECTORY} looked at"
        ));
    }
    if claimed > MAX_ENTRIES {
        return Err(format!(
            "its central directory claims {claimed} entries, over the {MAX_ENTRIES} looked at"
        ));
    }
    let dir = read(src, offset, size, "the central directory")?;
    let mut found = vec![None; c.paths.len()];
    let mut at = 0usize;
    for n in 0..claimed {
        let Some(h) = dir.get(at..at + 46) else {
            return Err(format!(
                "central directory entry {n} of {claimed} lies past its end"
            ));
        };
        if !h.starts_with(b"PK\x01\x02") {
            return Err(format!(
                "central directory entry {n} does not start with its signature"
            ));
        }
        let (name_len, extra_len, comment_len) = (
            u16_at(h, 28) as usize,
            u16_at(h, 30) as usize,
            u16_at(h, 32) as usize,
        );
        let next = at + 46 + name_len + extra_len + comment_len;
        let (Some(name), Some(extra)) = (
            dir.get(at + 46..at + 46 + name_len),
            dir.get(at + 46 + name_len..at + 46 + name_len + extra_len),
        ) else {
            return Err(format!(
                "central directory entry {n}'s name lies past its end"
            ));
        };
        let number = std::str::from_utf8(name)
            .ok()
            .and_then(|name| c.paths.get(name));
        if let Some(&p) = number {
            if found[p].is_none() {
                let (mut stored, mut local) = (u32_at(h, 20) as u64, u32_at(h, 42) as u64);
                // ZIP64 sizes and offset, in the extra field's 0x0001 block.
                let mut e = 0;
                while e + 4 <= extra.len() {
                    let (id, l) = (u16_at(extra, e), u16_at(extra, e + 2) as usize);
                    let body = extra.get(e + 4..e + 4 + l).unwrap_or(&[]);
                    if id == 1 {
                        let mut k = 0;
                        let mut take = |v: &mut u64| {
                            if *v == 0xFFFF_FFFF && k + 8 <= body.len() {
                                *v = u64_at(body, k);
                                k += 8;
                            }
                        };
                        let mut plain = u32_at(h, 24) as u64;
                        take(&mut plain);
                        take(&mut stored);
                        take(&mut local);
                    }
                    e += 4 + l;
                }
                found[p] = Some(Found {
                    method: u16_at(h, 10),
                    encrypted: u16_at(h, 8) & 1 != 0,
                    stored,
                    local,
                });
            }
        }
        at = next;
    }
    Ok(found)
}

/// An entry's first [`ENTRY_WINDOW`] bytes of content, or `None` when it
/// cannot be read (encrypted, another compression method, a bad local
/// header).
fn content(src: &mut dyn Source, e: Found) -> Option<Vec<u8>> {
    if e.encrypted || (e.method != 0 && e.method != 8) {
        return None;
    }
    let local = read(src, e.local, 30, "a local header").ok()?;
    if !local.starts_with(b"PK\x03\x04") {
        return None;
    }
    let start = e
        .local
        .saturating_add(30 + u16_at(&local, 26) as u64 + u16_at(&local, 28) as u64);
    let limit = if e.method == 0 {
        ENTRY_WINDOW as u64
    } else {
        MAX_STORED
    };
    let n = e.stored.min(limit).min(src.len().saturating_sub(start));
    let data = read(src, start, n, "an entry").ok()?;
    if e.method == 0 {
        return Some(data);
    }
    // DEFLATE, stopped at the window (a bomb inflates no further) or
    // where the data read ends.
    Some(
        match miniz_oxide::inflate::decompress_to_vec_with_limit(&data, ENTRY_WINDOW) {
            Ok(v) => v,
            Err(partial) => partial.output,
        },
    )
}

/// Looks into a ZIP record and matches every container signature.
pub(super) fn look_into(src: &mut dyn Source) -> Outcome {
    let c = containers();
    let found = match entries(src, c) {
        Ok(f) => f,
        Err(why) => return Outcome::NotRead(why),
    };
    let mut contents: Vec<Option<Option<Vec<u8>>>> = vec![None; found.len()];
    let mut budget = Budget::new(BUDGET);
    let mut matched: Vec<(usize, Vec<String>)> = Vec::new();
    'signatures: for sig in &c.signatures {
        if matched.iter().any(|(f, _)| *f == sig.format) {
            continue;
        }
        for entry in &sig.entries {
            let p = c.paths[&entry.path];
            let Some(e) = found[p] else {
                continue 'signatures;
            };
            if entry.sequences.is_empty() {
                continue;
            }
            let data = contents[p].get_or_insert_with(|| content(src, e));
            let Some(data) = data else {
                continue 'signatures;
            };
            for q in &entry.sequences {
                if !q.matches_at_start(data, &mut budget) {
                    if budget.exhausted {
                        break 'signatures;
                    }
                    continue 'signatures;
                }
            }
        }
        matched.push((
            sig.format,
            sig.entries.iter().map(|e| e.path.clone()).collect(),
        ));
    }
    if matched.is_empty() {
        Outcome::Nothing(budget.exhausted)
    } else {
        Outcome::Matched(matched, budget.exhausted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_container_signatures_parse() {
        let c = containers();
        assert_eq!(c.version, "20200121");
        assert_eq!(c.count(), 77);
        assert_eq!(c.paths.len(), 22);
        let reg = registry();
        let triggers: Vec<&str> = c
            .triggers
            .iter()
            .map(|&i| reg.formats[i].puid.as_str())
            .collect();
        assert_eq!(triggers, ["fmt/189", "x-fmt/263"]);
        // Every entry a signature names is a path of the table, and a
        // signature names at least one.
        for s in &c.signatures {
            assert!(!s.entries.is_empty());
            assert!(s.entries.iter().all(|e| c.paths.contains_key(&e.path)));
        }
    }

    #[test]
    fn bad_container_lines_are_refused_by_line() {
        for (text, says) in [
            ("Q\tx\n", "line 1: not a C, T, Z or E line"),
            ("T\tfmt/999999\n", "not a format of the byte signatures"),
            ("E\t1\tmimetype\n", "entry of signature 1, not listed"),
            (
                "Z\t1\tfmt/412\tx\nE\t1\tm\tEOF:0::41\n",
                "an EOF sequence in a container entry",
            ),
        ] {
            let e = Containers::parse(text).err().unwrap();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn no_end_record_is_said() {
        let data: &[u8] = b"PK\x03\x04 not much of a zip";
        match look_into(&mut { data }) {
            Outcome::NotRead(why) => assert!(why.contains("no end of central directory"), "{why}"),
            _ => panic!("read"),
        }
    }
}
