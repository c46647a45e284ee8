//! Catalog pages: the facts of up to [`PAGE_RECORDS`] consecutive records
//! in a compact binary form, DEFLATE-compressed (raw, RFC 1951), then
//! sealed as a stream of their own (`docs/design/format-2.0.md` §11).
//!
//! A page is `varint count`, then per record: flags (u8), the path
//! front-coded against the previous path of the page, size, stored size
//! (only when stored DEFLATE), BLAKE3, media type and decoder as indices
//! into the index's [`Tables`], render, then the optional title, modified
//! time and Dublin Core metadata. A record's place in its bundle is not
//! stored: [`locate`] derives it from the index's start of the page.
//!
//! The same facts, without the storage fields and with strings in place
//! of table indices, make the record's leaf in the records tree
//! ([`Record::leaf`]).

use std::collections::{BTreeMap, HashMap};

use crate::catalog::{check_record_path, Encoding, Render};
use crate::v2::varint::{self, Reader};
use crate::v2::PAGE_RECORDS;
use crate::{Error, Result};

/// Largest inflated page a reader accepts (64 MiB).
pub const MAX_PAGE_BYTES: usize = 64 << 20;
/// Longest record path, in bytes (as 1.x, [`check_record_path`]).
pub const MAX_PATH: usize = 4096;
/// Longest title, media type, reason, metadata key or metadata value, in bytes.
pub const MAX_TEXT: usize = 1 << 16;
/// Most metadata items (keys plus values) of one record.
pub const MAX_RECORD_ITEMS: usize = 4096;
/// Most metadata items (keys plus values) of one page, all records together.
pub const MAX_PAGE_ITEMS: usize = 1 << 18;

/// Flag bit 0: a modification time follows.
const F_MODIFIED: u8 = 1;
/// Flag bit 1: a title follows.
const F_TITLE: u8 = 2;
/// Flag bit 2: metadata follows.
const F_METADATA: u8 = 4;
/// Flag bit 3 (pages only): the record starts the next bundle at offset 0.
const F_NEW_BUNDLE: u8 = 8;
/// Flag bit 4 (pages only): stored DEFLATE, and a stored size follows.
const F_DEFLATE: u8 = 16;
/// The flag bits a leaf may carry.
const LEAF_FLAGS: u8 = F_MODIFIED | F_TITLE | F_METADATA;
/// The flag bits a page record may carry.
const PAGE_FLAGS: u8 = LEAF_FLAGS | F_NEW_BUNDLE | F_DEFLATE;

/// Render status byte: no render recorded.
const R_NONE: u8 = 0;
/// Render status byte: rendered, a hash and a page count follow.
const R_RENDERED: u8 = 1;
/// Render status byte: not rendered, a reason follows.
const R_NOT_RENDERED: u8 = 2;

/// One record as a 2.0 catalog page describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Path relative to the packed folder, `/`-separated, NFC.
    pub path: String,
    /// Human title; `None` means the last path segment.
    pub title: Option<String>,
    /// Media type, e.g. `text/csv`.
    pub media_type: String,
    /// Size of the record in bytes.
    pub size: u64,
    /// BLAKE3 of the record's bytes.
    pub blake3: [u8; 32],
    /// Original modification time, seconds since 1970 (UTC).
    pub modified: Option<i64>,
    /// The decoder that renders the record: a `d/` entry name.
    pub decoder: Option<String>,
    /// What rendering gave at pack time ([`Render::Unknown`] cannot be encoded).
    pub render: Option<Render>,
    /// Dublin Core metadata: element name to values.
    pub metadata: BTreeMap<String, Vec<String>>,
    /// How the bytes are stored in the bundle.
    pub encoding: Encoding,
    /// Length of the stored bytes (equal to `size` for identity).
    pub stored_size: u64,
    /// Flag bit 3: the record starts the next bundle, at offset 0.
    pub new_bundle: bool,
}

impl Record {
    /// Checks the rules a page and a leaf both impose, naming the record.
    fn check(&self) -> std::result::Result<(), String> {
        check_record_path(&self.path)?;
        let p = &self.path;
        let long = |what: &str, s: &str| {
            (s.len() > MAX_TEXT).then(|| format!("{p}: {what} is longer than {MAX_TEXT} bytes"))
        };
        if let Some(e) = self.title.as_deref().and_then(|t| long("title", t)) {
            return Err(e);
        }
        if let Some(e) = long("media type", &self.media_type) {
            return Err(e);
        }
        if let Some(d) = &self.decoder {
            check_decoder_name(d).map_err(|e| format!("{p}: {e}"))?;
        }
        match &self.render {
            Some(Render::Unknown) => {
                return Err(format!(
                    "{p}: a render status of unknown kind cannot be written"
                ))
            }
            Some(Render::NotRendered { reason }) => {
                if let Some(e) = long("reason", reason) {
                    return Err(e);
                }
            }
            _ => {}
        }
        let mut items = 0usize;
        for (k, vs) in &self.metadata {
            items += 1 + vs.len();
            if let Some(e) = std::iter::once(k)
                .chain(vs)
                .find_map(|s| long("metadata", s))
            {
                return Err(e);
            }
        }
        if items > MAX_RECORD_ITEMS {
            return Err(format!(
                "{p}: {items} metadata items, more than the {MAX_RECORD_ITEMS} allowed"
            ));
        }
        check_stored(p, self.encoding, self.size, self.stored_size)
    }

    /// The leaf flags (bits 0-2).
    fn leaf_flags(&self) -> u8 {
        let mut f = 0;
        if self.modified.is_some() {
            f |= F_MODIFIED;
        }
        if self.title.is_some() {
            f |= F_TITLE;
        }
        if !self.metadata.is_empty() {
            f |= F_METADATA;
        }
        f
    }

    /// Appends the optional fields (title, modified, metadata), in order.
    fn put_optional(&self, out: &mut Vec<u8>) {
        if let Some(t) = &self.title {
            varint::put_str(out, t);
        }
        if let Some(m) = self.modified {
            varint::put_signed(out, m);
        }
        if !self.metadata.is_empty() {
            varint::put(out, self.metadata.len() as u64);
            for (k, vs) in &self.metadata {
                varint::put_str(out, k);
                varint::put(out, vs.len() as u64);
                for v in vs {
                    varint::put_str(out, v);
                }
            }
        }
    }

    /// The record's leaf in the records tree (§11): `salt || flags || str
    /// path || varint size || BLAKE3 || str media type || str decoder ("" for
    /// none) || render || [title] || [modified] || [metadata]`.
    pub fn leaf(&self, salt: &[u8; 32]) -> Result<Vec<u8>> {
        self.check()
            .map_err(|e| Error::invalid("records tree leaf", e))?;
        let mut out = Vec::with_capacity(128 + self.path.len());
        out.extend_from_slice(salt);
        out.push(self.leaf_flags());
        varint::put_str(&mut out, &self.path);
        varint::put(&mut out, self.size);
        out.extend_from_slice(&self.blake3);
        varint::put_str(&mut out, &self.media_type);
        varint::put_str(&mut out, self.decoder.as_deref().unwrap_or(""));
        match &self.render {
            None => out.push(R_NONE),
            Some(Render::Rendered { blake3, pages }) => {
                out.push(R_RENDERED);
                out.extend_from_slice(blake3);
                varint::put(&mut out, u64::from(*pages));
            }
            Some(Render::NotRendered { reason }) => {
                out.push(R_NOT_RENDERED);
                varint::put_str(&mut out, reason);
            }
            Some(Render::Unknown) => unreachable!("refused by check"),
        }
        self.put_optional(&mut out);
        Ok(out)
    }

    /// Parses a leaf back into its salt and record (encoding identity,
    /// stored size equal to size, not starting a bundle). Refuses what
    /// [`Record::leaf`] would not write.
    pub fn from_leaf(leaf: &[u8]) -> Result<([u8; 32], Record)> {
        const WHAT: &str = "records tree leaf";
        let mut r = Reader::new(leaf, WHAT);
        let salt = r.hash()?;
        let flags = r.byte()?;
        if flags & !LEAF_FLAGS != 0 {
            return Err(r.error(format!("unknown flag bits {flags:#04x}")));
        }
        let path = r.str(MAX_PATH, "path")?.to_owned();
        let size = r.varint()?;
        let blake3 = r.hash()?;
        let media_type = r.str(MAX_TEXT, "media type")?.to_owned();
        let decoder = match r.str(crate::container::MAX_NAME_LEN, "decoder entry")? {
            "" => None,
            d => Some(d.to_owned()),
        };
        let render = match r.byte()? {
            R_NONE => None,
            R_RENDERED => Some(rendered(&mut r)?),
            R_NOT_RENDERED => Some(Render::NotRendered {
                reason: r.str(MAX_TEXT, "reason")?.to_owned(),
            }),
            k => return Err(r.error(format!("unknown render status {k}"))),
        };
        let mut items = 0;
        let mut rec = Record {
            path,
            title: None,
            media_type,
            size,
            blake3,
            modified: None,
            decoder,
            render,
            metadata: BTreeMap::new(),
            encoding: Encoding::Identity,
            stored_size: size,
            new_bundle: false,
        };
        read_optional(&mut r, flags, &mut rec, &mut items)?;
        if !r.is_empty() {
            return Err(r.error("bytes after the leaf's last field"));
        }
        rec.check().map_err(|e| Error::invalid(WHAT, e))?;
        Ok((salt, rec))
    }
}

/// Reads a rendered status's hash and page count.
fn rendered(r: &mut Reader<'_>) -> Result<Render> {
    let blake3 = r.hash()?;
    let pages = r.bounded(u64::from(u32::MAX), "render pages")? as u32;
    Ok(Render::Rendered { blake3, pages })
}

/// Reads the optional fields `flags` announces into `rec`, counting
/// metadata items into `items` (refused past [`MAX_PAGE_ITEMS`]).
fn read_optional(r: &mut Reader<'_>, flags: u8, rec: &mut Record, items: &mut usize) -> Result<()> {
    if flags & F_TITLE != 0 {
        rec.title = Some(r.str(MAX_TEXT, "title")?.to_owned());
    }
    if flags & F_MODIFIED != 0 {
        rec.modified = Some(r.signed()?);
    }
    if flags & F_METADATA != 0 {
        // Each key is at least two bytes (its length and its count).
        let keys = r.bounded(
            (r.remaining() / 2).min(MAX_RECORD_ITEMS) as u64,
            "metadata keys",
        )?;
        if keys == 0 {
            return Err(r.error("metadata flagged but empty"));
        }
        let mut own = 0usize;
        let mut prev: Option<String> = None;
        for _ in 0..keys {
            let k = r.str(MAX_TEXT, "metadata key")?.to_owned();
            if prev.as_ref().is_some_and(|p| *p >= k) {
                return Err(r.error("metadata keys not in strictly increasing order"));
            }
            // Each value is at least one byte (its length).
            let n = r.bounded(
                r.remaining().min(MAX_RECORD_ITEMS) as u64,
                "metadata values",
            )? as usize;
            own += 1 + n;
            *items += 1 + n;
            if own > MAX_RECORD_ITEMS {
                return Err(r.error(format!(
                    "more than {MAX_RECORD_ITEMS} metadata items in one record"
                )));
            }
            if *items > MAX_PAGE_ITEMS {
                return Err(r.error(format!("more than {MAX_PAGE_ITEMS} metadata items")));
            }
            let mut vs = Vec::with_capacity(n);
            for _ in 0..n {
                vs.push(r.str(MAX_TEXT, "metadata value")?.to_owned());
            }
            rec.metadata.insert(k.clone(), vs);
            prev = Some(k);
        }
    }
    Ok(())
}

/// Checks a decoder entry name: a valid entry name under `d/`.
fn check_decoder_name(d: &str) -> std::result::Result<(), String> {
    crate::container::check_name(d).map_err(|e| e.to_string())?;
    if !d.starts_with(crate::manifest::DECODER_PREFIX) {
        return Err(format!("decoder {d:?} is not a d/ entry"));
    }
    Ok(())
}

/// The stored-size rules: identity stores exactly `size` bytes; DEFLATE
/// at most [`crate::writer::COMPRESS_MAX`] (as 1.x).
fn check_stored(
    path: &str,
    encoding: Encoding,
    size: u64,
    stored: u64,
) -> std::result::Result<(), String> {
    match encoding {
        Encoding::Identity if stored != size => Err(format!(
            "{path}: stored size {stored} differs from size {size}"
        )),
        Encoding::Deflate if stored > crate::writer::COMPRESS_MAX => Err(format!(
            "{path}: compressed record of {stored} bytes exceeds the 16 MiB limit"
        )),
        _ => Ok(()),
    }
}

/// The per-archive tables the index carries and pages refer to by index:
/// media types, decoder entries and not-rendered reasons.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    /// Media types.
    pub media: Vec<String>,
    /// Decoder entry names (`d/…`).
    pub decoders: Vec<String>,
    /// Reasons a record was not rendered.
    pub reasons: Vec<String>,
    media_at: HashMap<String, u64>,
    decoders_at: HashMap<String, u64>,
    reasons_at: HashMap<String, u64>,
}

impl PartialEq for Tables {
    fn eq(&self, other: &Self) -> bool {
        self.media == other.media
            && self.decoders == other.decoders
            && self.reasons == other.reasons
    }
}

impl Eq for Tables {}

/// The index of `s` in `list`, appending it if new; `at` is rebuilt if it
/// does not describe `list` (the lists are public and may be set directly).
fn intern(list: &mut Vec<String>, at: &mut HashMap<String, u64>, s: &str) -> u64 {
    if at.len() != list.len() {
        *at = list
            .iter()
            .enumerate()
            .map(|(i, x)| (x.clone(), i as u64))
            .collect();
    }
    if let Some(&i) = at.get(s) {
        return i;
    }
    list.push(s.to_owned());
    at.insert(s.to_owned(), list.len() as u64 - 1);
    list.len() as u64 - 1
}

impl Tables {
    /// The index of media type `s`, added if new.
    pub fn media(&mut self, s: &str) -> u64 {
        intern(&mut self.media, &mut self.media_at, s)
    }
    /// The index of decoder entry `s`, added if new.
    pub fn decoder(&mut self, s: &str) -> u64 {
        intern(&mut self.decoders, &mut self.decoders_at, s)
    }
    /// The index of not-rendered reason `s`, added if new.
    pub fn reason(&mut self, s: &str) -> u64 {
        intern(&mut self.reasons, &mut self.reasons_at, s)
    }
}

/// Encodes `records` (1 to [`PAGE_RECORDS`], in strictly increasing path
/// order) as a page, adding their media types, decoders and reasons to
/// `tables`, and returns the DEFLATEd bytes, ready to seal. Refuses what a
/// reader would refuse.
pub fn encode_page(records: &[Record], tables: &mut Tables) -> Result<Vec<u8>> {
    const WHAT: &str = "catalog page (writing)";
    if records.is_empty() || records.len() > PAGE_RECORDS {
        return Err(Error::invalid(
            WHAT,
            format!("{} records, not 1 to {PAGE_RECORDS}", records.len()),
        ));
    }
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(records.len() * 96));
    varint::put(&mut out, records.len() as u64);
    let mut items = 0usize;
    let mut prev = "";
    for (i, rec) in records.iter().enumerate() {
        rec.check().map_err(|e| Error::invalid(WHAT, e))?;
        if i > 0 && rec.path.as_str() <= prev {
            return Err(Error::invalid(
                WHAT,
                format!(
                    "{}: not after {prev} (paths must strictly increase)",
                    rec.path
                ),
            ));
        }
        items += rec.metadata.iter().map(|(_, v)| 1 + v.len()).sum::<usize>();
        if items > MAX_PAGE_ITEMS {
            return Err(Error::invalid(
                WHAT,
                format!("more than {MAX_PAGE_ITEMS} metadata items in one page"),
            ));
        }
        let mut flags = rec.leaf_flags();
        if rec.new_bundle {
            flags |= F_NEW_BUNDLE;
        }
        if rec.encoding == Encoding::Deflate {
            flags |= F_DEFLATE;
        }
        out.push(flags);
        let shared = shared_prefix(prev, &rec.path);
        varint::put(&mut out, shared as u64);
        varint::put_str(&mut out, &rec.path[shared..]);
        varint::put(&mut out, rec.size);
        if rec.encoding == Encoding::Deflate {
            varint::put(&mut out, rec.stored_size);
        }
        out.extend_from_slice(&rec.blake3);
        varint::put(&mut out, tables.media(&rec.media_type));
        varint::put(
            &mut out,
            rec.decoder.as_deref().map_or(0, |d| tables.decoder(d) + 1),
        );
        match &rec.render {
            None => out.push(R_NONE),
            Some(Render::Rendered { blake3, pages }) => {
                out.push(R_RENDERED);
                out.extend_from_slice(blake3);
                varint::put(&mut out, u64::from(*pages));
            }
            Some(Render::NotRendered { reason }) => {
                out.push(R_NOT_RENDERED);
                varint::put(&mut out, tables.reason(reason));
            }
            Some(Render::Unknown) => unreachable!("refused by check"),
        }
        rec.put_optional(&mut out);
        prev = &rec.path;
    }
    if out.len() > MAX_PAGE_BYTES {
        return Err(Error::invalid(
            WHAT,
            format!(
                "{} bytes, more than the {MAX_PAGE_BYTES} a reader accepts",
                out.len()
            ),
        ));
    }
    Ok(miniz_oxide::deflate::compress_to_vec(&out, 6))
}

/// The length of the longest common prefix of `a` and `b` that ends on a
/// character boundary of both.
fn shared_prefix(a: &str, b: &str) -> usize {
    let mut n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    while !b.is_char_boundary(n) {
        n -= 1;
    }
    n
}

/// Inflates raw DEFLATE `data` to at most `limit` bytes, refusing a
/// stream that does not end or that has bytes after its final block.
pub(crate) fn inflate_exact(
    data: &[u8],
    limit: usize,
    entry: &str,
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    use miniz_oxide::inflate::stream::{inflate, InflateState};
    use miniz_oxide::{DataFormat, MZFlush, MZStatus};
    let bad = |what: String| Error::invalid(entry, format!("compressed document {what}"));
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    // One byte beyond the limit, so that reaching it shows the stream is longer.
    let cap = limit.saturating_add(1);
    let mut out = zeroize::Zeroizing::new(vec![0u8; data.len().saturating_mul(4).clamp(4096, cap)]);
    let (mut input, mut written) = (data, 0usize);
    loop {
        let r = inflate(&mut state, input, &mut out[written..], MZFlush::None);
        input = &input[r.bytes_consumed..];
        written += r.bytes_written;
        if written > limit {
            return Err(bad(format!("inflates to more than {limit} bytes")));
        }
        match r.status {
            Ok(MZStatus::StreamEnd) => break,
            Ok(_) if written == out.len() => {
                let mut grown =
                    zeroize::Zeroizing::new(vec![0u8; out.len().saturating_mul(2).min(cap)]);
                grown[..written].copy_from_slice(&out[..written]);
                out = grown;
            }
            Ok(_) if r.bytes_consumed == 0 && r.bytes_written == 0 => {
                return Err(bad("ends before its final block".into()))
            }
            Ok(_) => {}
            Err(e) => return Err(bad(format!("does not inflate: {e:?}"))),
        }
    }
    if !input.is_empty() {
        return Err(bad(format!(
            "has {} bytes after its final block",
            input.len()
        )));
    }
    out.truncate(written);
    Ok(out)
}

/// Parses a page's DEFLATEd bytes (already unsealed) against the index's
/// `tables`; errors name `entry`. Bounded before it allocates: at most
/// [`MAX_PAGE_BYTES`] inflated, [`PAGE_RECORDS`] records, [`MAX_TEXT`] a
/// string, [`MAX_RECORD_ITEMS`] metadata items a record and
/// [`MAX_PAGE_ITEMS`] a page.
pub fn parse_page(deflated: &[u8], tables: &Tables, entry: &str) -> Result<Vec<Record>> {
    let plain = inflate_exact(deflated, MAX_PAGE_BYTES, entry)?;
    parse_plain(&plain, tables, entry)
}

/// [`parse_page`] on the inflated bytes.
fn parse_plain(plain: &[u8], tables: &Tables, entry: &str) -> Result<Vec<Record>> {
    let mut r = Reader::new(plain, entry);
    // A record takes at least 38 bytes (flags, two path lengths, size,
    // hash, media type, decoder, render).
    let count = r.bounded(
        (r.remaining() / 38).min(PAGE_RECORDS) as u64,
        "record count",
    )? as usize;
    if count == 0 {
        return Err(r.error("a page holds no record"));
    }
    let mut records: Vec<Record> = Vec::with_capacity(count);
    let mut items = 0usize;
    for i in 0..count {
        let flags = r.byte()?;
        if flags & !PAGE_FLAGS != 0 {
            return Err(r.error(format!("record {i}: unknown flag bits {flags:#04x}")));
        }
        let prev = records.last().map_or("", |p| p.path.as_str());
        let shared = r.bounded(prev.len() as u64, "shared path prefix")? as usize;
        if !prev.is_char_boundary(shared) {
            return Err(r.error(format!("record {i}: shared prefix ends inside a character")));
        }
        let suffix_len = r.bounded((MAX_PATH - shared) as u64, "path length")? as usize;
        let suffix = r.bytes(suffix_len)?;
        let suffix = std::str::from_utf8(suffix)
            .map_err(|_| r.error(format!("record {i}: path is not UTF-8")))?;
        let mut path = String::with_capacity(shared + suffix_len);
        path.push_str(&prev[..shared]);
        path.push_str(suffix);
        if i > 0 && path.as_str() <= prev {
            return Err(r.error(format!(
                "{path}: not after {prev} (paths must strictly increase)"
            )));
        }
        let size = r.varint()?;
        let (encoding, stored_size) = if flags & F_DEFLATE != 0 {
            (Encoding::Deflate, r.varint()?)
        } else {
            (Encoding::Identity, size)
        };
        let blake3 = r.hash()?;
        let media_type = table(&mut r, &tables.media, "media type")?;
        let decoder = match r.varint()? {
            0 => None,
            k => Some(lookup(&r, &tables.decoders, "decoder", k - 1)?),
        };
        let render = match r.byte()? {
            R_NONE => None,
            R_RENDERED => Some(rendered(&mut r)?),
            R_NOT_RENDERED => Some(Render::NotRendered {
                reason: table(&mut r, &tables.reasons, "reason")?,
            }),
            k => return Err(r.error(format!("{path}: unknown render status {k}"))),
        };
        let mut rec = Record {
            path,
            title: None,
            media_type,
            size,
            blake3,
            modified: None,
            decoder,
            render,
            metadata: BTreeMap::new(),
            encoding,
            stored_size,
            new_bundle: flags & F_NEW_BUNDLE != 0,
        };
        read_optional(&mut r, flags, &mut rec, &mut items)?;
        rec.check().map_err(|e| Error::invalid(entry, e))?;
        records.push(rec);
    }
    if !r.is_empty() {
        return Err(r.error("bytes after the last record"));
    }
    Ok(records)
}

/// Reads a `varint` index into `list` and returns the item.
fn table(r: &mut Reader<'_>, list: &[String], name: &str) -> Result<String> {
    let k = r.varint()?;
    lookup(r, list, name, k)
}

/// Item `k` of `list`, or an error naming the table.
fn lookup(r: &Reader<'_>, list: &[String], name: &str, k: u64) -> Result<String> {
    usize::try_from(k)
        .ok()
        .and_then(|k| list.get(k))
        .cloned()
        .ok_or_else(|| {
            r.error(format!(
                "{name} index {k} is outside the index's table of {}",
                list.len()
            ))
        })
}

/// Where each record of a page starts: `(bundle, offset)`. The first
/// record is at the page's first place (the index's `first_bundle`,
/// `first_offset`, which already accounts for its flag bit 3); each next
/// record follows the previous one's stored bytes, or starts the next
/// bundle at 0 when its flag bit 3 says so.
pub fn locate(records: &[Record], first_bundle: u64, first_offset: u64) -> Vec<(u64, u64)> {
    let (mut bundle, mut offset) = (first_bundle, first_offset);
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        if r.new_bundle && i > 0 {
            bundle += 1;
            offset = 0;
        }
        out.push((bundle, offset));
        offset = offset.saturating_add(r.stored_size);
    }
    out
}
