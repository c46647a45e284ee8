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
/// Flag bit 5 (series-form pages only, SPEC §33.4): the record's place,
/// `varint bundle` and `varint offset`, follows its stored size.
const F_PLACED: u8 = 32;
/// Flag bit 6 (series-form overlay pages only): a tombstone, the path and
/// nothing else.
const F_REMOVED: u8 = 64;
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
        put_render(&mut out, self.render.as_ref(), |out, reason| {
            varint::put_str(out, reason)
        });
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
        let render = read_render(
            &mut r,
            |r| Ok(r.str(MAX_TEXT, "reason")?.to_owned()),
            |k| format!("unknown render status {k}"),
        )?;
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

/// Writes a render status: its byte, then a rendered status's hash and
/// page count, or a not-rendered status's reason as `reason` writes it.
fn put_render(out: &mut Vec<u8>, render: Option<&Render>, reason: impl FnOnce(&mut Vec<u8>, &str)) {
    match render {
        None => out.push(R_NONE),
        Some(Render::Rendered { blake3, pages }) => {
            out.push(R_RENDERED);
            out.extend_from_slice(blake3);
            varint::put(out, u64::from(*pages));
        }
        Some(Render::NotRendered { reason: why }) => {
            out.push(R_NOT_RENDERED);
            reason(out, why);
        }
        Some(Render::Unknown) => unreachable!("refused by check"),
    }
}

/// Reads a render status as [`put_render`] writes it, the reason of a
/// not-rendered status by `reason`; an unknown status byte is refused with
/// the words `unknown` gives for it.
fn read_render(
    r: &mut Reader<'_>,
    reason: impl FnOnce(&mut Reader<'_>) -> Result<String>,
    unknown: impl FnOnce(u8) -> String,
) -> Result<Option<Render>> {
    Ok(match r.byte()? {
        R_NONE => None,
        R_RENDERED => {
            let blake3 = r.hash()?;
            let pages = r.bounded(u64::from(u32::MAX), "render pages")? as u32;
            Some(Render::Rendered { blake3, pages })
        }
        R_NOT_RENDERED => Some(Render::NotRendered { reason: reason(r)? }),
        k => return Err(r.error(unknown(k))),
    })
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
pub(crate) fn check_decoder_name(d: &str) -> std::result::Result<(), String> {
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
    media_at: Lookup,
    decoders_at: Lookup,
    reasons_at: Lookup,
}

/// Where each item of a table is (its first place), and how many items of
/// the list that describes.
#[derive(Debug, Clone, Default)]
struct Lookup {
    at: HashMap<String, u64>,
    len: usize,
}

impl Lookup {
    /// The lookup of `list`, an item listed twice at its first place.
    fn of(list: &[String]) -> Lookup {
        let mut at = HashMap::with_capacity(list.len());
        for (i, x) in list.iter().enumerate() {
            at.entry(x.clone()).or_insert(i as u64);
        }
        Lookup {
            at,
            len: list.len(),
        }
    }
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
fn intern(list: &mut Vec<String>, at: &mut Lookup, s: &str) -> u64 {
    if at.len != list.len() {
        *at = Lookup::of(list);
    }
    if let Some(&i) = at.at.get(s) {
        return i;
    }
    list.push(s.to_owned());
    at.at.insert(s.to_owned(), at.len as u64);
    at.len += 1;
    at.len as u64 - 1
}

impl Tables {
    /// Tables holding these lists (as the index lists them). An item
    /// listed twice is looked up at its first place.
    pub fn new(media: Vec<String>, decoders: Vec<String>, reasons: Vec<String>) -> Tables {
        Tables {
            media_at: Lookup::of(&media),
            decoders_at: Lookup::of(&decoders),
            reasons_at: Lookup::of(&reasons),
            media,
            decoders,
            reasons,
        }
    }
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
    let items: Vec<ItemRef<'_>> = records.iter().map(|r| ItemRef::Live(r, None)).collect();
    encode_items(&items, tables, "catalog page (writing)")
}

/// One item of a series-form page (SPEC §33.4): a live record, with its
/// place when flag bit 5 gives it, or a tombstone (flag bit 6).
// Most items of a page are live records: boxing them would cost an
// allocation each for the few tombstones' sake.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesItem {
    /// A record in the catalog, with `(bundle, offset)` when the page
    /// places it explicitly (bit 5; the bundle an index into the series
    /// index's bundle list), else `None` (it follows the previous live
    /// item, or starts where the page line says).
    Live(Record, Option<(u64, u64)>),
    /// A path removed from the catalog (overlay runs only).
    Removed(String),
}

impl SeriesItem {
    /// The item's path.
    pub fn path(&self) -> &str {
        match self {
            SeriesItem::Live(r, _) => &r.path,
            SeriesItem::Removed(p) => p,
        }
    }
}

/// An item to encode, borrowed.
enum ItemRef<'a> {
    Live(&'a Record, Option<(u64, u64)>),
    Removed(&'a str),
}

/// Encodes the items of a series-form page (1 to [`PAGE_RECORDS`], paths
/// strictly increasing), as [`encode_page`] does plain pages.
pub fn encode_series_page(items: &[SeriesItem], tables: &mut Tables) -> Result<Vec<u8>> {
    let items: Vec<ItemRef<'_>> = items
        .iter()
        .map(|i| match i {
            SeriesItem::Live(r, p) => ItemRef::Live(r, *p),
            SeriesItem::Removed(p) => ItemRef::Removed(p),
        })
        .collect();
    encode_items(&items, tables, "series catalog page (writing)")
}

/// The encoder behind [`encode_page`] and [`encode_series_page`]; `what`
/// names the page in errors.
fn encode_items(items: &[ItemRef<'_>], tables: &mut Tables, what: &str) -> Result<Vec<u8>> {
    if items.is_empty() || items.len() > PAGE_RECORDS {
        return Err(Error::invalid(
            what,
            format!("{} records, not 1 to {PAGE_RECORDS}", items.len()),
        ));
    }
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(items.len() * 96));
    varint::put(&mut out, items.len() as u64);
    let mut items_meta = 0usize;
    let mut prev = "";
    for (i, item) in items.iter().enumerate() {
        let path = match item {
            ItemRef::Live(rec, _) => rec.path.as_str(),
            ItemRef::Removed(p) => {
                check_record_path(p).map_err(|e| Error::invalid(what, e))?;
                p
            }
        };
        if i > 0 && path <= prev {
            return Err(Error::invalid(
                what,
                format!("{path}: not after {prev} (paths must strictly increase)"),
            ));
        }
        let shared = shared_prefix(prev, path);
        let ItemRef::Live(rec, place) = item else {
            out.push(F_REMOVED);
            varint::put(&mut out, shared as u64);
            varint::put_str(&mut out, &path[shared..]);
            prev = path;
            continue;
        };
        rec.check().map_err(|e| Error::invalid(what, e))?;
        items_meta += rec.metadata.values().map(|v| 1 + v.len()).sum::<usize>();
        if items_meta > MAX_PAGE_ITEMS {
            return Err(Error::invalid(
                what,
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
        if place.is_some() {
            flags |= F_PLACED;
        }
        out.push(flags);
        varint::put(&mut out, shared as u64);
        varint::put_str(&mut out, &rec.path[shared..]);
        varint::put(&mut out, rec.size);
        if rec.encoding == Encoding::Deflate {
            varint::put(&mut out, rec.stored_size);
        }
        if let Some((bundle, offset)) = place {
            varint::put(&mut out, *bundle);
            varint::put(&mut out, *offset);
        }
        out.extend_from_slice(&rec.blake3);
        varint::put(&mut out, tables.media(&rec.media_type));
        varint::put(
            &mut out,
            rec.decoder.as_deref().map_or(0, |d| tables.decoder(d) + 1),
        );
        put_render(&mut out, rec.render.as_ref(), |out, reason| {
            varint::put(out, tables.reason(reason))
        });
        rec.put_optional(&mut out);
        prev = &rec.path;
    }
    if out.len() > MAX_PAGE_BYTES {
        return Err(Error::invalid(
            what,
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
    let mut out =
        zeroize::Zeroizing::new(vec![0u8; data.len().saturating_mul(4).max(4096).min(cap)]);
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
    Ok(parse_items(plain, tables, entry, false)?
        .into_iter()
        .filter_map(|i| match i {
            SeriesItem::Live(r, _) => Some(r),
            SeriesItem::Removed(_) => None,
        })
        .collect())
}

/// Parses a series-form page (SPEC §33.4: flag bits 5 and 6 allowed) with
/// the bounds of [`parse_page`]; tombstones only when `tombstones` (an
/// overlay run's page).
pub fn parse_series_page(
    deflated: &[u8],
    tables: &Tables,
    entry: &str,
    tombstones: bool,
) -> Result<Vec<SeriesItem>> {
    let plain = inflate_exact(deflated, MAX_PAGE_BYTES, entry)?;
    let items = parse_items(&plain, tables, entry, true)?;
    if !tombstones {
        if let Some(SeriesItem::Removed(p)) =
            items.iter().find(|i| matches!(i, SeriesItem::Removed(_)))
        {
            return Err(Error::invalid(
                entry,
                format!("{p}: a tombstone in a base run's page (only overlay runs hold them)"),
            ));
        }
    }
    Ok(items)
}

/// The parser behind [`parse_page`] (`series` false: bits 5 and 6
/// refused) and [`parse_series_page`].
fn parse_items(
    plain: &[u8],
    tables: &Tables,
    entry: &str,
    series: bool,
) -> Result<Vec<SeriesItem>> {
    let mut r = Reader::new(plain, entry);
    // A record takes at least 38 bytes (flags, two path lengths, size,
    // hash, media type, decoder, render), a tombstone 3.
    let min = if series { 3 } else { 38 };
    let count = r.bounded(
        (r.remaining() / min).min(PAGE_RECORDS) as u64,
        "record count",
    )? as usize;
    if count == 0 {
        return Err(r.error("a page holds no record"));
    }
    let allowed = if series {
        PAGE_FLAGS | F_PLACED
    } else {
        PAGE_FLAGS
    };
    let mut items: Vec<SeriesItem> = Vec::with_capacity(count);
    let mut meta_items = 0usize;
    for i in 0..count {
        let flags = r.byte()?;
        let tombstone = series && flags == F_REMOVED;
        if !tombstone && flags & !allowed != 0 {
            return Err(r.error(format!("record {i}: unknown flag bits {flags:#04x}")));
        }
        let prev = items.last().map_or("", |p| p.path());
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
        if shared != shared_prefix(prev, &path) {
            return Err(r.error(format!(
                "{path}: shares {shared} bytes with the previous path, not the longest whole-character prefix"
            )));
        }
        if i > 0 && path.as_str() <= prev {
            return Err(r.error(format!(
                "{path}: not after {prev} (paths must strictly increase)"
            )));
        }
        if tombstone {
            check_record_path(&path).map_err(|e| r.error(e))?;
            items.push(SeriesItem::Removed(path));
            continue;
        }
        let size = r.varint()?;
        let (encoding, stored_size) = if flags & F_DEFLATE != 0 {
            (Encoding::Deflate, r.varint()?)
        } else {
            (Encoding::Identity, size)
        };
        let place = if flags & F_PLACED != 0 {
            Some((r.varint()?, r.varint()?))
        } else {
            None
        };
        let blake3 = r.hash()?;
        let media_type = table(&mut r, &tables.media, "media type")?;
        let decoder = match r.varint()? {
            0 => None,
            k => Some(lookup(&r, &tables.decoders, "decoder", k - 1)?),
        };
        let render = read_render(
            &mut r,
            |r| table(r, &tables.reasons, "reason"),
            |k| format!("{path}: unknown render status {k}"),
        )?;
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
        read_optional(&mut r, flags, &mut rec, &mut meta_items)?;
        rec.check().map_err(|e| Error::invalid(entry, e))?;
        items.push(SeriesItem::Live(rec, place));
    }
    if !r.is_empty() {
        return Err(r.error("bytes after the last record"));
    }
    Ok(items)
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

/// Where each live item of a series-form page starts, `None` for a
/// tombstone: a placed item (bit 5) where it says; the first live item
/// without a place at the page line's `(first_bundle, first_offset)`;
/// any other one after the previous live item's stored bytes, or at the
/// next bundle's offset 0 when its bit 3 says so.
pub fn locate_series(
    items: &[SeriesItem],
    first_bundle: u64,
    first_offset: u64,
) -> Vec<Option<(u64, u64)>> {
    let mut at: Option<(u64, u64)> = None;
    items
        .iter()
        .map(|item| {
            let SeriesItem::Live(r, place) = item else {
                return None;
            };
            let here = match (place, at) {
                (Some(p), _) => *p,
                (None, None) => (first_bundle, first_offset),
                (None, Some((b, _))) if r.new_bundle => (b.saturating_add(1), 0),
                (None, Some(p)) => p,
            };
            at = Some((here.0, here.1.saturating_add(r.stored_size)));
            Some(here)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRY: &str = "c/0000002a";

    fn hash(seed: u64, salt: u8) -> [u8; 32] {
        *blake3::hash(&[&seed.to_le_bytes()[..], &[salt]].concat()).as_bytes()
    }

    fn plain_record(path: &str) -> Record {
        Record {
            path: path.into(),
            title: None,
            media_type: "text/plain".into(),
            size: 3,
            blake3: hash(1, 0),
            modified: None,
            decoder: None,
            render: None,
            metadata: BTreeMap::new(),
            encoding: Encoding::Identity,
            stored_size: 3,
            new_bundle: false,
        }
    }

    /// A record with every optional field, varied by `i`.
    fn full_record(i: u64, path: String) -> Record {
        let deflate = i.is_multiple_of(3);
        Record {
            path,
            title: Some(format!("Acte n° {i} — «naissance»")),
            media_type: ["text/plain", "image/tiff", "application/pdf"][(i % 3) as usize].into(),
            size: 1000 + i * 7,
            blake3: hash(i, 1),
            modified: Some(if i.is_multiple_of(2) {
                1_700_000_000 + i as i64
            } else {
                -(i as i64) * 86_400
            }),
            decoder: (!i.is_multiple_of(4)).then(|| format!("d/{:016x}.wasm", i % 4)),
            render: match i % 3 {
                0 => Some(Render::Rendered {
                    blake3: hash(i, 2),
                    pages: (i % 5) as u32,
                }),
                1 => Some(Render::NotRendered {
                    reason: format!("decoder failed: case {}", i % 7),
                }),
                _ => None,
            },
            metadata: BTreeMap::from([
                (
                    "creator".into(),
                    vec!["Mairie de Cluny".into(), format!("officier {}", i % 11)],
                ),
                ("date".into(), vec![format!("18{:02}", i % 100)]),
                ("subject".into(), vec![]),
            ]),
            encoding: if deflate {
                Encoding::Deflate
            } else {
                Encoding::Identity
            },
            stored_size: if deflate { 500 + i } else { 1000 + i * 7 },
            new_bundle: i % 1000 == 999,
        }
    }

    fn plain_of(records: &[Record], tables: &mut Tables) -> Vec<u8> {
        inflate_exact(
            &encode_page(records, tables).unwrap(),
            MAX_PAGE_BYTES,
            ENTRY,
        )
        .unwrap()
        .to_vec()
    }

    #[test]
    fn a_full_page_round_trips() {
        // Multi-byte UTF-8 both in the shared prefixes and where paths
        // diverge inside a character (é is C3 A9, ê is C3 AA).
        let mut paths: Vec<String> = (0..4094u64)
            .map(|i| format!("Ωμέγα/régistre/{:02}/acte-ß{i:05}.txt", i / 100))
            .collect();
        paths.push("Ωμέγα/séries/é".into());
        paths.push("Ωμέγα/séries/ê".into());
        paths.sort();
        let records: Vec<Record> = paths
            .into_iter()
            .enumerate()
            .map(|(i, p)| full_record(i as u64, p))
            .collect();
        let mut tables = Tables::default();
        let page = encode_page(&records, &mut tables).unwrap();
        assert_eq!(tables.media.len(), 3);
        assert_eq!(tables.decoders.len(), 3);
        assert_eq!(tables.reasons.len(), 7);
        let back = parse_page(&page, &tables, ENTRY).unwrap();
        assert_eq!(back, records);
        // The same tables as the index would give them back.
        let t2 = Tables::new(
            tables.media.clone(),
            tables.decoders.clone(),
            tables.reasons.clone(),
        );
        assert_eq!(parse_page(&page, &t2, ENTRY).unwrap(), records);
        // A record without optional fields, and the first record of a page
        // flagged as starting a bundle, round-trip too.
        let mut minimal = plain_record("a/é");
        minimal.new_bundle = true;
        let page = encode_page(&[minimal.clone()], &mut tables).unwrap();
        assert_eq!(parse_page(&page, &tables, ENTRY).unwrap(), vec![minimal]);
    }

    #[test]
    fn series_pages_round_trip_places_and_tombstones() {
        let mut a = full_record(1, "a/1".into());
        a.new_bundle = false;
        let mut b = plain_record("a/2");
        b.new_bundle = true;
        let items = vec![
            SeriesItem::Removed("a/0".into()),
            SeriesItem::Live(a.clone(), None),
            SeriesItem::Live(b.clone(), None),
            SeriesItem::Removed("a/3".into()),
            SeriesItem::Live(plain_record("a/4"), Some((7, 1234))),
            SeriesItem::Live(plain_record("a/5"), None),
        ];
        let mut tables = Tables::default();
        let page = encode_series_page(&items, &mut tables).unwrap();
        let back = parse_series_page(&page, &tables, ENTRY, true).unwrap();
        assert_eq!(back, items);
        // Places: the first live item at the line's start, the next one
        // starts the next bundle, the placed one where it says, the last
        // after it; tombstones have none.
        assert_eq!(
            locate_series(&back, 2, 10),
            vec![
                None,
                Some((2, 10)),
                Some((3, 0)),
                None,
                Some((7, 1234)),
                Some((7, 1237))
            ]
        );
        // A base run's page holds no tombstone.
        let e = parse_series_page(&page, &tables, ENTRY, false).unwrap_err();
        assert!(
            e.to_string().contains("a/0: a tombstone in a base run"),
            "{e}"
        );
        // Bits 5 and 6 are refused in a plain page.
        let e = parse_page(&page, &tables, ENTRY).unwrap_err();
        assert!(e.to_string().contains("unknown flag bits 0x40"), "{e}");
        let placed = encode_series_page(
            &[SeriesItem::Live(plain_record("x"), Some((0, 0)))],
            &mut tables,
        )
        .unwrap();
        let e = parse_page(&placed, &tables, ENTRY).unwrap_err();
        assert!(e.to_string().contains("unknown flag bits 0x20"), "{e}");
    }

    #[test]
    fn hostile_series_pages_are_refused() {
        let tables = Tables::default();
        let deflate = |plain: &[u8]| miniz_oxide::deflate::compress_to_vec(plain, 6);
        // A tombstone with another bit set.
        let e =
            parse_series_page(&deflate(&[1, 0x41, 0, 1, b'a']), &tables, ENTRY, true).unwrap_err();
        assert!(e.to_string().contains("unknown flag bits 0x41"), "{e}");
        // A count over what the bytes left can hold.
        let e =
            parse_series_page(&deflate(&[9, 0x40, 0, 1, b'a']), &tables, ENTRY, true).unwrap_err();
        assert!(
            e.to_string()
                .contains("record count 9 is over the limit of 1"),
            "{e}"
        );
        // Paths out of order, and a tombstone's path that is not a record path.
        let e = parse_series_page(
            &deflate(&[2, 0x40, 0, 1, b'b', 0x40, 0, 1, b'a']),
            &tables,
            ENTRY,
            true,
        )
        .unwrap_err();
        assert!(e.to_string().contains("not after b"), "{e}");
        let e = parse_series_page(&deflate(&[1, 0x40, 0, 2, b'.', b'.']), &tables, ENTRY, true)
            .unwrap_err();
        assert!(e.to_string().contains(ENTRY), "{e}");
        // A place cut short.
        let mut tables = Tables::default();
        let ok = encode_series_page(
            &[SeriesItem::Live(plain_record("x"), Some((300, 300)))],
            &mut tables,
        )
        .unwrap();
        let plain = inflate_exact(&ok, MAX_PAGE_BYTES, ENTRY).unwrap();
        let e = parse_series_page(&deflate(&plain[..8]), &tables, ENTRY, true).unwrap_err();
        assert!(e.to_string().contains("ends early"), "{e}");
    }

    #[test]
    fn front_coding_shares_whole_characters_only() {
        assert_eq!(shared_prefix("", "abc"), 0);
        assert_eq!(shared_prefix("a/é", "a/ê"), 2);
        assert_eq!(shared_prefix("Ωμ/x", "Ωμ/y"), 5);
        assert_eq!(shared_prefix("ab", "abc"), 2);
        let recs = [
            plain_record("a/é"),
            plain_record("a/ê"),
            plain_record("a/ê/Ωx"),
            plain_record("a/ê/Ωy"),
        ];
        let mut t = Tables::default();
        let plain = plain_of(&recs, &mut t);
        // count, then record 0: flags, shared 0, length 4, "a/é".
        assert_eq!(&plain[..4], &[4, 0, 0, 4]);
        assert_eq!(&plain[4..8], "a/é".as_bytes());
        // Record 1 shares "a/" (2 bytes), not the é's first byte.
        let r1 = 8 + 1 + 32 + 3; // size, hash, media, decoder, render
        assert_eq!(&plain[r1..r1 + 3], &[0, 2, 2]);
        assert_eq!(&plain[r1 + 3..r1 + 5], "ê".as_bytes());
        assert_eq!(parse_plain(&plain, &t, ENTRY).unwrap(), recs);
    }

    /// Appends one hand-made record: flags, front-coded path, then `tail`.
    fn raw(out: &mut Vec<u8>, flags: u8, shared: u64, suffix: &[u8], tail: &[u8]) {
        out.push(flags);
        varint::put(out, shared);
        varint::put(out, suffix.len() as u64);
        out.extend_from_slice(suffix);
        out.extend_from_slice(tail);
    }

    /// The fields after a path: size 3, a hash, media 0, no decoder, no render.
    fn tail() -> Vec<u8> {
        [&[3u8][..], &[9; 32], &[0, 0, 0]].concat()
    }

    fn tables() -> Tables {
        Tables::new(
            vec!["text/plain".into()],
            vec!["d/0000000000000001.wasm".into()],
            vec!["too big".into()],
        )
    }

    /// A page of two records, the second with `flags`, `shared`, `suffix`
    /// and `tail2`, then `extra` bytes.
    fn two(flags: u8, shared: u64, suffix: &[u8], tail2: &[u8], extra: &[u8]) -> Vec<u8> {
        let mut p = vec![2];
        raw(&mut p, 0, 0, "a/é".as_bytes(), &tail());
        raw(&mut p, flags, shared, suffix, tail2);
        p.extend_from_slice(extra);
        p
    }

    fn refused(plain: &[u8], what: &str) {
        let e = parse_plain(plain, &tables(), ENTRY)
            .expect_err(what)
            .to_string();
        assert!(e.contains(ENTRY), "{what}: {e}");
        // Deflated, it is refused as well.
        let d = miniz_oxide::deflate::compress_to_vec(plain, 6);
        assert!(parse_page(&d, &tables(), ENTRY).is_err(), "{what}");
    }

    #[test]
    fn hostile_pages_are_refused() {
        let t = tables();
        let good = two(0, 2, "ü".as_bytes(), &tail(), &[]);
        assert_eq!(parse_plain(&good, &t, ENTRY).unwrap()[1].path, "a/ü");
        // Every truncation of a small page, plain or deflated, is refused.
        for cut in 0..good.len() {
            refused(&good[..cut], "truncated page");
        }
        let d = miniz_oxide::deflate::compress_to_vec(&good, 6);
        for cut in 0..d.len() {
            assert!(
                parse_page(&d[..cut], &t, ENTRY).is_err(),
                "deflated cut at {cut}"
            );
        }
        assert!(parse_page(&d, &t, ENTRY).is_ok());
        // Bytes after the final DEFLATE block, or after the last record.
        let e = parse_page(&[&d[..], &[0]].concat(), &t, ENTRY)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(ENTRY) && e.contains("after its final block"),
            "{e}"
        );
        refused(
            &two(0, 2, "ü".as_bytes(), &tail(), &[0]),
            "a byte after the last record",
        );
        // Counts: none, one over a page, one claiming 2^60, more than the bytes hold.
        refused(&[0], "empty page");
        let mut big = Vec::new();
        varint::put(&mut big, PAGE_RECORDS as u64 + 1);
        for i in 0..=PAGE_RECORDS {
            raw(&mut big, 0, 0, format!("p{i:05}").as_bytes(), &tail());
        }
        refused(&big, "4097 records");
        let mut huge = Vec::new();
        varint::put(&mut huge, 1 << 60);
        huge.extend_from_slice(&good[1..]);
        refused(&huge, "2^60 records");
        refused(
            &[&[3u8][..], &good[1..]].concat(),
            "three records claimed, two present",
        );
        // A count in a non-shortest form.
        refused(
            &[&[0x82u8, 0x00][..], &good[1..]].concat(),
            "non-shortest count",
        );
        refused(
            &two(
                0,
                2,
                "ü".as_bytes(),
                &[&[0x83u8, 0x00][..], &tail()[1..]].concat(),
                &[],
            ),
            "non-shortest size",
        );
        // Flags: unknown bits.
        for bit in [0x20u8, 0x40, 0x80] {
            refused(
                &two(bit, 2, "ü".as_bytes(), &tail(), &[]),
                "unknown flag bit",
            );
        }
        // Front coding: more than the previous path, inside a character.
        refused(
            &two(0, 5, "ü".as_bytes(), &tail(), &[]),
            "shared prefix past the previous path",
        );
        refused(
            &two(0, 3, &[0xAA], &tail(), &[]),
            "shared prefix inside a character",
        );
        refused(
            &two(0, 3, b"", &tail(), &[]),
            "shared prefix inside a character, empty suffix",
        );
        // Paths: not increasing, equal, unsafe, not UTF-8, too long.
        let mut e = vec![2];
        raw(&mut e, 0, 0, "a/é".as_bytes(), &tail());
        raw(&mut e, 0, 1, "/ü".as_bytes(), &tail());
        refused(&e, "a shared prefix shorter than the longest");
        refused(
            &two(0, 2, b"a", &tail(), &[]),
            "path before the previous one",
        );
        refused(&two(0, 4, b"", &tail(), &[]), "the same path twice");
        refused(&two(0, 4, b"/../x", &tail(), &[]), "path with ..");
        refused(&two(0, 2, &[0xff], &tail(), &[]), "path not UTF-8");
        // A suffix of `n` bytes after "a/": "ü" then x's.
        let long_suffix = |n: usize| ["ü".as_bytes(), &vec![b'x'; n - 2]].concat();
        refused(
            &two(0, 2, &long_suffix(MAX_PATH - 1), &tail(), &[]),
            "path of 4097 bytes",
        );
        assert!(parse_plain(
            &two(0, 2, &long_suffix(MAX_PATH - 2), &tail(), &[]),
            &t,
            ENTRY
        )
        .is_ok());
        // Table indices out of range; an unknown render status.
        let with = |media: u8, decoder: u8, render: &[u8]| {
            two(
                0,
                2,
                "ü".as_bytes(),
                &[&[3u8][..], &[9; 32], &[media, decoder], render].concat(),
                &[],
            )
        };
        assert!(parse_plain(&with(0, 1, &[2, 0]), &t, ENTRY).is_ok());
        refused(&with(1, 0, &[0]), "media index out of range");
        refused(&with(0, 2, &[0]), "decoder index out of range");
        refused(&with(0, 0, &[2, 1]), "reason index out of range");
        refused(&with(0, 0, &[3]), "render status 3");
        // Stored sizes: DEFLATE over 16 MiB.
        let mut deflated = vec![3u8];
        varint::put(&mut deflated, crate::writer::COMPRESS_MAX + 1);
        deflated.extend_from_slice(&tail()[1..]);
        refused(
            &two(F_DEFLATE, 2, "ü".as_bytes(), &deflated, &[]),
            "stored size over the limit",
        );
        // Title over the cap.
        let mut long = tail();
        varint::put(&mut long, MAX_TEXT as u64 + 1);
        long.extend_from_slice(&vec![b't'; MAX_TEXT + 1]);
        refused(
            &two(F_TITLE, 2, "ü".as_bytes(), &long, &[]),
            "title over the cap",
        );
        // Metadata: flagged but empty, keys out of order, items over the caps.
        let meta = |m: &[u8]| {
            two(
                F_METADATA,
                2,
                "ü".as_bytes(),
                &[&tail()[..], m].concat(),
                &[],
            )
        };
        assert!(parse_plain(&meta(&[2, 1, b'a', 0, 1, b'b', 1, 0]), &t, ENTRY).is_ok());
        refused(&meta(&[0]), "metadata flagged, no keys");
        refused(&meta(&[2, 1, b'b', 0, 1, b'a', 0]), "keys out of order");
        refused(&meta(&[2, 1, b'a', 0, 1, b'a', 0]), "a key twice");
        let mut claim = vec![1, 1, b'a'];
        varint::put(&mut claim, 1 << 60);
        refused(&meta(&claim), "2^60 metadata values");
        let mut many = vec![1, 1, b'a'];
        varint::put(&mut many, MAX_RECORD_ITEMS as u64);
        many.extend(std::iter::repeat_n(0, MAX_RECORD_ITEMS));
        refused(&meta(&many), "one item over the record's cap");
        many[3..5].copy_from_slice(&[0xff, 0x1f]); // MAX_RECORD_ITEMS - 1 values
        many.pop();
        assert!(parse_plain(&meta(&many), &t, ENTRY).is_ok());
    }

    #[test]
    fn the_page_item_cap_holds() {
        // 4096 records of 64 metadata values each reach 4096 · 65 items,
        // over MAX_PAGE_ITEMS: the writer refuses, and so does the reader.
        let recs: Vec<Record> = (0..PAGE_RECORDS)
            .map(|i| {
                let mut r = plain_record(&format!("p{i:05}"));
                r.metadata.insert("subject".into(), vec![String::new(); 64]);
                r
            })
            .collect();
        let e = encode_page(&recs, &mut Tables::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("metadata items"), "{e}");
        let mut p = Vec::new();
        varint::put(&mut p, PAGE_RECORDS as u64);
        for i in 0..PAGE_RECORDS {
            let mut m = tail();
            m.extend_from_slice(&[1, 7]);
            m.extend_from_slice(b"subject");
            m.push(64);
            m.extend(std::iter::repeat_n(0, 64));
            let (path, prev) = (format!("p{i:05}"), format!("p{:05}", i.max(1) - 1));
            let shared = if i == 0 {
                0
            } else {
                shared_prefix(&prev, &path)
            };
            raw(
                &mut p,
                F_METADATA,
                shared as u64,
                &path.as_bytes()[shared..],
                &m,
            );
        }
        let e = parse_plain(&p, &tables(), ENTRY).unwrap_err().to_string();
        assert!(e.contains(ENTRY) && e.contains("metadata items"), "{e}");
    }

    #[test]
    fn inflating_is_bounded_and_exact() {
        let d = miniz_oxide::deflate::compress_to_vec(&[7u8; 100_000], 6);
        assert_eq!(inflate_exact(&d, 100_000, ENTRY).unwrap().len(), 100_000);
        let e = inflate_exact(&d, 99_999, ENTRY).unwrap_err().to_string();
        assert!(e.contains(ENTRY) && e.contains("more than 99999"), "{e}");
        assert!(inflate_exact(&[&d[..], b"x"].concat(), 100_000, ENTRY).is_err());
        assert!(inflate_exact(&d[..d.len() - 1], 100_000, ENTRY).is_err());
        assert!(inflate_exact(b"", 10, ENTRY).is_err());
        assert_eq!(
            inflate_exact(&miniz_oxide::deflate::compress_to_vec(b"", 6), 0, ENTRY)
                .unwrap()
                .len(),
            0
        );
    }

    #[test]
    fn writing_refuses_what_reading_would() {
        let mut t = Tables::default();
        let a = plain_record("a");
        assert!(encode_page(&[], &mut t).is_err());
        assert!(encode_page(&[a.clone(), a.clone()], &mut t).is_err());
        assert!(encode_page(&[plain_record("b"), a.clone()], &mut t).is_err());
        let mut u = a.clone();
        u.render = Some(Render::Unknown);
        assert!(encode_page(&[u.clone()], &mut t).is_err());
        assert!(u.leaf(&[0; 32]).is_err());
        let mut s = a.clone();
        s.stored_size = 4;
        assert!(encode_page(&[s], &mut t).is_err());
        let mut d = a.clone();
        d.decoder = Some("r/0000000000000001".into());
        assert!(encode_page(&[d], &mut t).is_err());
        let recs: Vec<Record> = (0..=PAGE_RECORDS)
            .map(|i| plain_record(&format!("p{i:05}")))
            .collect();
        assert!(encode_page(&recs, &mut t).is_err());
        assert!(encode_page(&recs[..PAGE_RECORDS], &mut t).is_ok());
    }

    #[test]
    fn tables_intern() {
        let mut t = Tables::default();
        assert_eq!(t.media("a"), 0);
        assert_eq!(t.media("b"), 1);
        assert_eq!(t.media("a"), 0);
        assert_eq!(t.decoder("d/x"), 0);
        assert_eq!(t.reason("r"), 0);
        // Lists set directly are looked up correctly.
        t.media.push("c".into());
        assert_eq!(t.media("c"), 2);
        assert_eq!(t.media("d"), 3);
        // An item listed twice (which the index refuses, SPEC §24, but lists
        // set by hand may hold) is found at its first place.
        let mut d = Tables::new(vec!["a".into(), "b".into(), "a".into()], vec![], vec![]);
        assert_eq!(d.media("a"), 0);
        assert_eq!(d.media("b"), 1);
        assert_eq!(d.media("c"), 3);
    }

    #[test]
    fn leaves_round_trip_and_are_strict() {
        let salt = hash(5, 5);
        for i in 0..6 {
            let mut r = full_record(i, format!("Ωμέγα/{i}"));
            r.encoding = Encoding::Identity;
            r.stored_size = r.size;
            r.new_bundle = false;
            let leaf = r.leaf(&salt).unwrap();
            assert_eq!(&leaf[..32], &salt);
            assert_eq!(Record::from_leaf(&leaf).unwrap(), (salt, r.clone()));
            for cut in 0..leaf.len() {
                assert!(Record::from_leaf(&leaf[..cut]).is_err(), "cut at {cut}");
            }
            assert!(Record::from_leaf(&[&leaf[..], &[0]].concat()).is_err());
            let mut bad = leaf.clone();
            bad[32] |= F_NEW_BUNDLE;
            assert!(Record::from_leaf(&bad).is_err());
        }
        // Known bytes of a minimal leaf.
        let r = plain_record("a");
        let leaf = r.leaf(&[0; 32]).unwrap();
        let want = [
            &[0u8; 32][..],
            &[0, 1, b'a', 3],
            &hash(1, 0),
            &[10],
            b"text/plain",
            &[0, 0],
        ]
        .concat();
        assert_eq!(leaf, want);
        // The storage fields are not part of the leaf.
        let mut d = r.clone();
        d.encoding = Encoding::Deflate;
        d.stored_size = 2;
        d.new_bundle = true;
        assert_eq!(d.leaf(&[0; 32]).unwrap(), leaf);
    }

    #[test]
    fn records_are_located_back_to_back() {
        let mut recs: Vec<Record> = ["a", "b", "c", "d"]
            .iter()
            .map(|p| plain_record(p))
            .collect();
        recs[1].encoding = Encoding::Deflate;
        recs[1].stored_size = 1;
        recs[2].new_bundle = true;
        assert_eq!(
            locate(&recs, 4, 100),
            vec![(4, 100), (4, 103), (5, 0), (5, 3)]
        );
        recs[0].new_bundle = true;
        assert_eq!(locate(&recs, 4, 0)[..2], [(4, 0), (4, 3)]);
    }

    #[test]
    fn a_page_costs_under_90_bytes_a_record() {
        // The design's measurement (§4): tiny-record paths, random BLAKE3
        // and render hashes, a modification time, sizes 20-200.
        let recs: Vec<Record> = (0..PAGE_RECORDS as u64)
            .map(|i| {
                let h = hash(i, 3);
                let size = 20 + u64::from(h[0]) % 181;
                Record {
                    path: format!("r{:03}/p{i:07}.txt", i / 1000),
                    title: None,
                    media_type: "text/plain".into(),
                    size,
                    blake3: hash(i, 4),
                    modified: Some(1_700_000_000 + i as i64 * 37 + i64::from(h[1])),
                    decoder: Some("d/0123456789abcdef.wasm".into()),
                    render: Some(Render::Rendered {
                        blake3: hash(i, 5),
                        pages: 0,
                    }),
                    metadata: BTreeMap::new(),
                    encoding: Encoding::Identity,
                    stored_size: size,
                    new_bundle: false,
                }
            })
            .collect();
        assert_eq!(recs[0].path.len(), 17);
        let page = encode_page(&recs, &mut Tables::default()).unwrap();
        let per = page.len() as f64 / PAGE_RECORDS as f64;
        println!(
            "catalog page: {} bytes DEFLATEd for {PAGE_RECORDS} records, {per:.1} bytes a record",
            page.len()
        );
        assert!(per <= 90.0, "{per} bytes a record");
    }
}

#[cfg(test)]
mod worst_case {
    use super::*;

    /// A page built to cost the most a page can: 4096 records whose paths
    /// are 4096 bytes of combining marks (each path NFC, but only by the
    /// slow check), sharing all but their last bytes. About 2 KB sealed
    /// expand to 16 MiB of path text, each path checked whole (about 0.7 s
    /// on a loaded machine): bounded by the page (4096 records of at most
    /// 4096 bytes), linear in what the page holds, as a 1.x page of the
    /// same paths.
    #[test]
    fn a_page_of_the_longest_shared_paths_parses_in_bounded_time() {
        let stem = "x\u{301}".repeat(1362);
        let records: Vec<Record> = (0..PAGE_RECORDS)
            .map(|i| Record {
                path: format!("{stem}/{i:04}"),
                title: None,
                media_type: "text/plain".into(),
                size: 0,
                blake3: [0; 32],
                modified: None,
                decoder: None,
                render: None,
                metadata: BTreeMap::new(),
                encoding: Encoding::Identity,
                stored_size: 0,
                new_bundle: false,
            })
            .collect();
        assert!(records[0].path.len() > 4090);
        let mut tables = Tables::default();
        let page = encode_page(&records, &mut tables).unwrap();
        let t = std::time::Instant::now();
        let back = parse_page(&page, &tables, "c/00000000").unwrap();
        let took = t.elapsed();
        eprintln!("{} bytes deflated, parsed in {took:?}", page.len());
        assert_eq!(back.len(), PAGE_RECORDS);
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    }
}
