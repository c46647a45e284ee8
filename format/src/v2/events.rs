//! The event log (format 2.1, SPEC §35): a PREMIS-shaped account of what
//! was done to the archive, sealed like the catalog, in the entry
//! [`EVENTS_ENTRY`].
//!
//! The log holds archive-level events only: ingestion, the bag's
//! validation, format identification and rendering at packing (as counts:
//! records identified by PUID, rendered by decoder), each later
//! generation's modification, re-keying. Per-record events stay derived
//! from the catalog when exported. So the log's size depends on the
//! number of events, not of records, and it is bounded: an event encodes
//! to at most [`EVENT_MAX`] bytes by the limits on its fields, and the
//! whole entry to at most [`MAX_ENTRY`] bytes (one outboard piece, so no
//! `outboard` value covers it); a writer that would pass it drops the
//! oldest events but the first and counts them ([`Log::dropped`]).
//!
//! The entry is `id` (16 bytes, the stream id) followed by one sealed
//! stream (SPEC §8.2) under [`crate::crypto::StreamId::Events`]`(id)`,
//! whose plaintext is the encoded log followed by zero bytes up to a
//! length fixed before the records were written (the *reservation*,
//! [`Log::reservation`]): the entry stands before the bundles, where a 2.0
//! reader ignores it (SPEC §20.2), and is written there first as zeros
//! and filled in when the archive is finished. Its size tells a host the
//! reservation, which depends on the earlier events' size rounded to
//! 4096 bytes and on the number of events added, never on the counts.

use std::collections::BTreeMap;

use crate::crypto::{self, DataKey, StreamId};
use crate::manifest::DecoderRef;
use crate::v2::varint::{self, Reader};
use crate::writer::RecordMeta;
use crate::{Error, Result};

/// The entry's name.
pub const EVENTS_ENTRY: &str = "events";
/// Largest entry a reader accepts and a writer writes: one outboard piece.
pub const MAX_ENTRY: u64 = 65536;
/// Bytes of the stream id before the sealed stream.
pub const ID_LEN: usize = 16;
/// Largest plaintext: [`MAX_ENTRY`] less the id and one chunk's tag.
pub const MAX_PLAIN: usize = MAX_ENTRY as usize - ID_LEN - crypto::TAG_LEN;
/// Most bytes one event encodes to (the field limits below keep every
/// event under it): what a writer reserves for each event it will add.
pub const EVENT_MAX: usize = 4000;
/// The reservation is a multiple of this many bytes.
pub const RESERVE_UNIT: usize = 4096;
/// Most events a log holds.
pub const MAX_EVENTS: u64 = 4096;
/// Most events one writing adds.
pub const MAX_COMING: usize = 8;
/// Longest event type (bytes).
pub const MAX_TYPE: usize = 64;
/// Longest tool name and version (bytes).
pub const MAX_TOOL: usize = 128;
/// Longest detail (bytes).
pub const MAX_DETAIL: usize = 512;
/// Most counts an event holds.
pub const MAX_COUNTS: usize = 48;
/// Longest count name (bytes).
pub const MAX_COUNT_NAME: usize = 48;
/// The record metadata key that holds a record's PUID (its first value;
/// `unidentified` when none was found).
pub const PUID_KEY: &str = "legation:puid";

/// How an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did what it set out to (byte 0).
    Success,
    /// It did not (byte 1).
    Failure,
    /// It did for some of what it covered and not for the rest (byte 2).
    Partial,
}

impl Outcome {
    /// The word PREMIS's `eventOutcome` gets.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Partial => "partial success",
        }
    }
}

/// One archive-level event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its type, a term of the Library of Congress preservation event
    /// type vocabulary (`ingestion`, `validation`, `format
    /// identification`, `rendering`, `modification`, `encryption`).
    pub event_type: String,
    /// The generation written when it happened (0 for the first).
    pub generation: u64,
    /// When, seconds since 1970-01-01T00:00:00Z.
    pub time: i64,
    /// How it ended.
    pub outcome: Outcome,
    /// The issuer's Ed25519 public key, when the writing was signed.
    pub issuer: Option<[u8; 32]>,
    /// The program and its version (`legation 0.9.0`).
    pub tool: String,
    /// What was done, in words.
    pub detail: String,
    /// Named counts, in strictly increasing bytewise order of name.
    pub counts: Vec<(String, u64)>,
}

/// The log: events in the order they happened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Log {
    /// Events a writer dropped to keep the log within [`MAX_ENTRY`] (the
    /// oldest after the first).
    pub dropped: u64,
    /// The events kept.
    pub events: Vec<Event>,
}

/// What every event of one writing shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    /// The generation being written.
    pub generation: u64,
    /// The writing's time (the archive's `created`).
    pub time: i64,
    /// The issuer's public key, when signed.
    pub issuer: Option<[u8; 32]>,
    /// The program and its version.
    pub tool: String,
}

impl Common {
    /// An event of `event_type` with these facts.
    pub fn event(
        &self,
        event_type: &str,
        outcome: Outcome,
        detail: String,
        counts: BTreeMap<String, u64>,
    ) -> Event {
        Event {
            event_type: event_type.into(),
            generation: self.generation,
            time: self.time,
            outcome,
            issuer: self.issuer,
            tool: cut(&self.tool, MAX_TOOL).into(),
            detail: cut(&detail, MAX_DETAIL).into(),
            counts: counts.into_iter().collect(),
        }
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn bad(what: impl Into<String>) -> Error {
    Error::invalid(EVENTS_ENTRY, what)
}

impl Event {
    /// Appends the event's bytes, refusing one that breaks a field's
    /// limit (so that it stays within [`EVENT_MAX`]).
    fn encode_into(&self, out: &mut Vec<u8>) -> Result<()> {
        let e = self;
        if e.event_type.is_empty() || e.event_type.len() > MAX_TYPE {
            return Err(bad(format!(
                "event type {:?}: 1 to {MAX_TYPE} bytes",
                e.event_type
            )));
        }
        if e.tool.len() > MAX_TOOL || e.detail.len() > MAX_DETAIL {
            return Err(bad(format!(
                "a {} event's tool or detail is over {MAX_TOOL} or {MAX_DETAIL} bytes",
                e.event_type
            )));
        }
        if e.counts.len() > MAX_COUNTS {
            return Err(bad(format!(
                "a {} event with {} counts, over {MAX_COUNTS}",
                e.event_type,
                e.counts.len()
            )));
        }
        for (k, w) in e.counts.iter().zip(e.counts.iter().skip(1)) {
            if k.0 >= w.0 {
                return Err(bad(format!(
                    "a {} event's counts are not in strictly increasing order at {:?}",
                    e.event_type, w.0
                )));
            }
        }
        if let Some((k, _)) = e
            .counts
            .iter()
            .find(|(k, _)| k.is_empty() || k.len() > MAX_COUNT_NAME)
        {
            return Err(bad(format!(
                "count name {k:?}: 1 to {MAX_COUNT_NAME} bytes"
            )));
        }
        let start = out.len();
        varint::put_str(out, &e.event_type);
        varint::put(out, e.generation);
        varint::put_signed(out, e.time);
        out.push(match e.outcome {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Partial => 2,
        });
        match &e.issuer {
            None => out.push(0),
            Some(k) => {
                out.push(1);
                out.extend_from_slice(k);
            }
        }
        varint::put_str(out, &e.tool);
        varint::put_str(out, &e.detail);
        varint::put(out, e.counts.len() as u64);
        for (k, v) in &e.counts {
            varint::put_str(out, k);
            varint::put(out, *v);
        }
        debug_assert!(out.len() - start <= EVENT_MAX);
        Ok(())
    }

    fn decode(r: &mut Reader<'_>) -> Result<Event> {
        let event_type = r.str(MAX_TYPE, "event type")?;
        if event_type.is_empty() {
            return Err(r.error("an empty event type"));
        }
        let generation = r.varint()?;
        let time = r.signed()?;
        let outcome = match r.byte()? {
            0 => Outcome::Success,
            1 => Outcome::Failure,
            2 => Outcome::Partial,
            b => return Err(r.error(format!("outcome {b} (0, 1 or 2)"))),
        };
        let issuer = match r.byte()? {
            0 => None,
            1 => Some(r.hash()?),
            b => return Err(r.error(format!("issuer flag {b} (0 or 1)"))),
        };
        let tool = r.str(MAX_TOOL, "tool")?.to_owned();
        let detail = r.str(MAX_DETAIL, "detail")?.to_owned();
        let n = r.bounded(MAX_COUNTS as u64, "count of counts")? as usize;
        let mut counts: Vec<(String, u64)> = Vec::with_capacity(n);
        for _ in 0..n {
            let k = r.str(MAX_COUNT_NAME, "count name")?;
            if k.is_empty() {
                return Err(r.error("an empty count name"));
            }
            if counts.last().is_some_and(|(p, _)| p.as_str() >= k) {
                return Err(r.error(format!(
                    "count {k:?} is not after the one before (strictly increasing order)"
                )));
            }
            counts.push((k.to_owned(), r.varint()?));
        }
        Ok(Event {
            event_type: event_type.to_owned(),
            generation,
            time,
            outcome,
            issuer,
            tool,
            detail,
            counts,
        })
    }

    /// The count `name`, if the event has it.
    pub fn count(&self, name: &str) -> Option<u64> {
        self.counts
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| self.counts[i].1)
    }
}

impl Log {
    /// The log's bytes (without the padding).
    pub fn encode(&self) -> Result<Vec<u8>> {
        if self.events.len() as u64 > MAX_EVENTS {
            return Err(bad(format!(
                "{} events, over {MAX_EVENTS}",
                self.events.len()
            )));
        }
        let mut out = Vec::new();
        varint::put(&mut out, self.dropped);
        varint::put(&mut out, self.events.len() as u64);
        for e in &self.events {
            e.encode_into(&mut out)?;
        }
        Ok(out)
    }

    /// Parses a plaintext: the log, then only zero bytes. Every count
    /// and length is bounded before anything is allocated for it.
    pub fn decode(plain: &[u8]) -> Result<Log> {
        if plain.len() > MAX_PLAIN {
            return Err(bad(format!(
                "{} bytes of plaintext, over {MAX_PLAIN}",
                plain.len()
            )));
        }
        let mut r = Reader::new(plain, EVENTS_ENTRY);
        let dropped = r.varint()?;
        // An event takes at least 9 bytes.
        let most = (r.remaining() as u64 / 9).min(MAX_EVENTS);
        let n = r.bounded(most, "event count")?;
        let mut events = Vec::with_capacity(n as usize);
        for _ in 0..n {
            events.push(Event::decode(&mut r)?);
        }
        let rest = r.bytes(r.remaining())?;
        if let Some(i) = rest.iter().position(|&b| b != 0) {
            return Err(bad(format!(
                "byte {}: padding after the last event is not zero",
                plain.len() - rest.len() + i
            )));
        }
        Ok(Log { dropped, events })
    }

    /// Makes room for `coming` more events and returns the plaintext
    /// length to reserve: the log's bytes and [`EVENT_MAX`] for each
    /// coming event, rounded up to [`RESERVE_UNIT`]. Drops the oldest
    /// events but the first (counting them in [`Log::dropped`]) while
    /// that would pass [`MAX_PLAIN`].
    pub fn reservation(&mut self, coming: usize) -> Result<usize> {
        if coming == 0 || coming > MAX_COMING {
            return Err(bad(format!("{coming} events to add (1 to {MAX_COMING})")));
        }
        loop {
            let len = self.encode()?.len() + coming * EVENT_MAX;
            let reserve = len.div_ceil(RESERVE_UNIT) * RESERVE_UNIT;
            if reserve <= MAX_PLAIN {
                return Ok(reserve);
            }
            if self.events.len() < 2 {
                // The first event alone is at most EVENT_MAX bytes.
                return Ok(MAX_PLAIN);
            }
            self.events.remove(1);
            self.dropped += 1;
        }
    }

    /// The entry's bytes: `id`, then the log sealed with zero padding to
    /// `reserve` plaintext bytes.
    pub fn seal(
        &self,
        reserve: usize,
        data_key: &DataKey,
        archive_id: &[u8; 16],
        id: [u8; 16],
    ) -> Result<Vec<u8>> {
        let mut plain = self.encode()?;
        if plain.len() > reserve || reserve > MAX_PLAIN {
            return Err(bad(format!(
                "the log takes {} bytes, more than the {reserve} reserved (at most {MAX_PLAIN})",
                plain.len()
            )));
        }
        plain.resize(reserve, 0);
        let key = data_key.stream_key(archive_id, StreamId::Events(id));
        let mut out = Vec::with_capacity(ID_LEN + crypto::sealed_len(reserve as u64) as usize);
        out.extend_from_slice(&id);
        out.extend_from_slice(&crypto::seal_stream(&key, &plain));
        Ok(out)
    }

    /// Opens the entry's bytes: refuses an entry over [`MAX_ENTRY`]
    /// bytes, one whose stream does not open under `data_key`, or whose
    /// plaintext breaks the form.
    pub fn open(entry: &[u8], data_key: &DataKey, archive_id: &[u8; 16]) -> Result<Log> {
        let plain = open_plain(entry, data_key, archive_id)?;
        Log::decode(&plain)
    }
}

/// The entry's plaintext, padding and all.
fn open_plain(entry: &[u8], data_key: &DataKey, archive_id: &[u8; 16]) -> Result<Vec<u8>> {
    check_size(entry.len() as u64)?;
    let (id, sealed) = entry.split_at(ID_LEN);
    let id: [u8; 16] = id.try_into().expect("16 bytes");
    let key = data_key.stream_key(archive_id, StreamId::Events(id));
    crypto::open_stream(&key, sealed).map_err(|chunk| {
        bad(format!(
            "chunk {chunk} does not open under this archive's data key (damaged, or another \
             archive's)"
        ))
    })
}

/// Refuses an entry size a reader does not read: over [`MAX_ENTRY`], or
/// too short for an id and a sealed chunk.
pub fn check_size(size: u64) -> Result<()> {
    if size > MAX_ENTRY {
        return Err(bad(format!(
            "{size} bytes, more than the {MAX_ENTRY} a reader reads"
        )));
    }
    if size < (ID_LEN + crypto::TAG_LEN) as u64 {
        return Err(bad(format!(
            "{size} bytes, too short for a stream id and a sealed chunk"
        )));
    }
    Ok(())
}

/// Appends `event` to the log in the entry `entry` (its stored bytes),
/// re-sealed under a new stream id from `rng` at the same size, so that
/// the entry can be rewritten where it stands: for `rekey` rewriting an
/// archive's tail in place (the entry table's row, `entries`, `head`
/// and the signatures change with it, as they do for the new key slots).
/// Drops the oldest events but the first when the reservation is full.
pub fn append_in_place(
    entry: &[u8],
    data_key: &DataKey,
    archive_id: &[u8; 16],
    event: Event,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<Vec<u8>> {
    let plain = open_plain(entry, data_key, archive_id)?;
    let reserve = plain.len();
    let mut log = Log::decode(&plain)?;
    log.events.push(event);
    while log.encode()?.len() > reserve {
        if log.events.len() < 3 {
            return Err(bad(format!(
                "no room for the event in the {reserve} bytes reserved"
            )));
        }
        log.events.remove(1);
        log.dropped += 1;
    }
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    log.seal(reserve, data_key, archive_id, id)
}

/// A re-keying event (`encryption` in the LOC vocabulary: the data key
/// wrapped anew for other holders): for `rekey`, with `detail` saying
/// what changed (slots added and removed, whether the data key is new)
/// and `counts` (`slots`, `slots added`, `slots removed`, ...).
pub fn rekeying(common: &Common, detail: String, counts: BTreeMap<String, u64>) -> Event {
    common.event("encryption", Outcome::Success, detail, counts)
}

/// What the records written so far were identified and rendered as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records.
    pub records: u64,
    /// Records by PUID (first value of [`PUID_KEY`]); records without
    /// one, or `unidentified`, are not here.
    pub puids: BTreeMap<String, u64>,
    /// Records with no PUID.
    pub unidentified: u64,
    /// Records with no decoder.
    pub no_decoder: u64,
    /// By decoder entry: records rendered, records not rendered, records
    /// with no render recorded.
    pub decoders: BTreeMap<String, [u64; 3]>,
}

impl Tally {
    /// Counts one record.
    pub fn record(&mut self, meta: &RecordMeta) {
        use crate::catalog::Render;
        self.records += 1;
        match meta
            .metadata
            .get(PUID_KEY)
            .and_then(|v| v.first())
            .filter(|p| *p != "unidentified")
        {
            Some(p) => match self.puids.get_mut(p) {
                Some(n) => *n += 1,
                None => {
                    self.puids.insert(p.clone(), 1);
                }
            },
            None => self.unidentified += 1,
        }
        let Some(d) = &meta.decoder else {
            self.no_decoder += 1;
            return;
        };
        let slot = match &meta.render {
            Some(Render::Rendered { .. }) => 0,
            Some(Render::NotRendered { .. }) => 1,
            _ => 2,
        };
        match self.decoders.get_mut(d) {
            Some(c) => c[slot] += 1,
            None => {
                let mut c = [0; 3];
                c[slot] = 1;
                self.decoders.insert(d.clone(), c);
            }
        }
    }

    /// The format identification event: records, identified,
    /// unidentified, and records by PUID (`puid fmt/13`), the most
    /// frequent first when they do not all fit, the rest counted as
    /// `puid (others)`.
    pub fn identification(&self, common: &Common) -> Event {
        let mut counts = BTreeMap::new();
        counts.insert("records".to_owned(), self.records);
        counts.insert("identified".to_owned(), self.records - self.unidentified);
        counts.insert("unidentified".to_owned(), self.unidentified);
        let room = MAX_COUNTS - counts.len() - 1;
        let named = top(&self.puids, room, |p| format!("puid {p}"));
        let shown: u64 = named.values().sum();
        counts.extend(named);
        let others = self.records - self.unidentified - shown;
        if others > 0 {
            counts.insert("puid (others)".into(), others);
        }
        let outcome = match (self.unidentified, self.records) {
            (0, _) => Outcome::Success,
            (u, n) if u == n => Outcome::Failure,
            _ => Outcome::Partial,
        };
        common.event(
            "format identification",
            outcome,
            format!(
                "PRONOM format identification of {} records at packing (byte signature, \
                 container, else extension): {} identified, {} unidentified; each record's \
                 PUID is in its metadata ({PUID_KEY})",
                self.records,
                self.records - self.unidentified,
                self.unidentified
            ),
            counts,
        )
    }

    /// The rendering event: records with a decoder rendered and not, and
    /// by decoder (`rendered by NAME VERSION`, `not rendered by ...`),
    /// `decoders` giving the names of the entries.
    pub fn rendering(&self, common: &Common, decoders: &[DecoderRef]) -> Event {
        let name = |entry: &str| {
            decoders
                .iter()
                .find(|d| d.entry == entry)
                .map(|d| format!("{} {}", d.name, d.version))
                .unwrap_or_else(|| entry.to_owned())
        };
        let [mut rendered, mut refused, mut unknown] = [0u64; 3];
        let mut by: BTreeMap<String, u64> = BTreeMap::new();
        for (entry, c) in &self.decoders {
            rendered += c[0];
            refused += c[1];
            unknown += c[2];
            for (i, word) in [(0, "rendered by"), (1, "not rendered by")] {
                if c[i] > 0 {
                    let k = cut(&format!("{word} {}", name(entry)), MAX_COUNT_NAME).to_owned();
                    *by.entry(k).or_default() += c[i];
                }
            }
        }
        let mut counts = BTreeMap::new();
        counts.insert("records".to_owned(), self.records);
        counts.insert("no decoder".to_owned(), self.no_decoder);
        counts.insert("rendered".to_owned(), rendered);
        counts.insert("not rendered".to_owned(), refused);
        if unknown > 0 {
            counts.insert("no render recorded".to_owned(), unknown);
        }
        let room = MAX_COUNTS - counts.len() - 1;
        let named = top(&by, room, str::to_owned);
        let shown: u64 = named.values().sum();
        counts.extend(named);
        if rendered + refused > shown {
            counts.insert("by (other decoders)".into(), rendered + refused - shown);
        }
        let outcome = match (rendered, refused) {
            (_, 0) => Outcome::Success,
            (0, _) => Outcome::Failure,
            _ => Outcome::Partial,
        };
        common.event(
            "rendering",
            outcome,
            format!(
                "rendering at packing by the archive's metered WebAssembly decoders: {rendered} \
                 rendered, {refused} not rendered, {} with no decoder; each record's render \
                 hash or reason is in its catalog entry",
                self.no_decoder
            ),
            counts,
        )
    }
}

/// The `room` largest items of `m` by value (ties by name), renamed by
/// `name`.
fn top(
    m: &BTreeMap<String, u64>,
    room: usize,
    name: impl Fn(&str) -> String,
) -> BTreeMap<String, u64> {
    let mut v: Vec<(&String, &u64)> = m.iter().collect();
    if v.len() > room {
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.truncate(room);
    }
    v.into_iter()
        .map(|(k, n)| (cut(&name(k), MAX_COUNT_NAME).to_owned(), *n))
        .collect()
}

/// The ingestion event of a first generation.
pub fn ingestion(common: &Common, records: u64, bytes: u64, empty_dirs: u64) -> Event {
    common.event(
        "ingestion",
        Outcome::Success,
        format!(
            "packed {records} records ({bytes} bytes) and {empty_dirs} empty folders into a \
             Legation 2.0 archive, encrypted, catalogued{}",
            if common.issuer.is_some() {
                " and signed by the issuer"
            } else {
                ", unsigned"
            }
        ),
        BTreeMap::from([
            ("records".to_owned(), records),
            ("bytes".to_owned(), bytes),
            ("empty folders".to_owned(), empty_dirs),
        ]),
    )
}

/// The modification event of a later generation written as one
/// self-contained file (a compaction, a re-keying with a new file).
pub fn self_contained(common: &Common, records: u64, bytes: u64) -> Event {
    common.event(
        "modification",
        Outcome::Success,
        format!(
            "the series written as one self-contained file: {records} records ({bytes} bytes) \
             live"
        ),
        BTreeMap::from([("records".to_owned(), records), ("bytes".to_owned(), bytes)]),
    )
}

/// The modification event of a later generation.
pub fn modification(
    common: &Common,
    records: u64,
    bytes: u64,
    changes: &crate::v2::index::Changes,
) -> Event {
    common.event(
        "modification",
        Outcome::Success,
        format!(
            "a dependent generation of the series: {} records added, {} changed, {} removed; \
             {records} records ({bytes} bytes) live",
            changes.added, changes.changed, changes.removed
        ),
        BTreeMap::from([
            ("records".to_owned(), records),
            ("bytes".to_owned(), bytes),
            ("added".to_owned(), changes.added),
            ("changed".to_owned(), changes.changed),
            ("removed".to_owned(), changes.removed),
        ]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common() -> Common {
        Common {
            generation: 0,
            time: 1_800_000_000,
            issuer: Some([7; 32]),
            tool: "legation 0.0.0-test".into(),
        }
    }

    fn meta(path: &str, puid: Option<&str>, decoder: Option<&str>, rendered: bool) -> RecordMeta {
        use crate::catalog::Render;
        RecordMeta {
            path: path.into(),
            title: String::new(),
            media_type: "application/octet-stream".into(),
            modified: None,
            decoder: decoder.map(str::to_owned),
            render: decoder.map(|_| {
                if rendered {
                    Render::Rendered {
                        blake3: [1; 32],
                        pages: 1,
                    }
                } else {
                    Render::NotRendered {
                        reason: "too large".into(),
                    }
                }
            }),
            metadata: puid
                .map(|p| BTreeMap::from([(PUID_KEY.to_owned(), vec![p.to_owned()])]))
                .unwrap_or_default(),
        }
    }

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_core::SeedableRng::seed_from_u64(1)
    }

    fn key() -> DataKey {
        DataKey::from_bytes([3; 32])
    }

    #[test]
    fn a_log_round_trips_sealed_with_its_padding() {
        let mut t = Tally::default();
        t.record(&meta("a.png", Some("fmt/13"), Some("d/aa.wasm"), true));
        t.record(&meta("b.png", Some("fmt/13"), Some("d/aa.wasm"), false));
        t.record(&meta("c.txt", Some("unidentified"), None, false));
        t.record(&meta("d.bin", None, None, false));
        let c = common();
        let id = t.identification(&c);
        assert_eq!(id.count("puid fmt/13"), Some(2));
        assert_eq!(id.count("unidentified"), Some(2));
        assert_eq!(id.outcome, Outcome::Partial);
        let dec = DecoderRef {
            entry: "d/aa.wasm".into(),
            name: "png".into(),
            version: "1.0".into(),
            abi: 1,
            media_types: vec!["image/png".into()],
            limits: crate::manifest::DecoderLimits {
                fuel: 1,
                max_depth: 1,
                max_memory_pages: 1,
            },
        };
        let r = t.rendering(&c, &[dec]);
        assert_eq!(r.count("rendered by png 1.0"), Some(1));
        assert_eq!(r.count("not rendered by png 1.0"), Some(1));
        assert_eq!(r.count("no decoder"), Some(2));
        let mut log = Log {
            dropped: 0,
            events: vec![ingestion(&c, 4, 100, 0), id, r],
        };
        let reserve = Log::default().reservation(3).unwrap();
        assert_eq!(reserve, 12288);
        let entry = log.seal(reserve, &key(), &[5; 16], [9; 16]).unwrap();
        assert_eq!(entry.len(), 16 + 12288 + 16);
        assert_eq!(Log::open(&entry, &key(), &[5; 16]).unwrap(), log);
        // Another archive's id, another key: refused, naming the entry.
        let e = Log::open(&entry, &key(), &[6; 16]).unwrap_err().to_string();
        assert!(e.starts_with("events: chunk 0"), "{e}");
        // In place: the same size, the event appended, a new id.
        let c2 = Common {
            generation: 1,
            ..c.clone()
        };
        let ev = rekeying(&c2, "key slots replaced".into(), BTreeMap::new());
        let again = append_in_place(&entry, &key(), &[5; 16], ev.clone(), &mut rng()).unwrap();
        assert_eq!(again.len(), entry.len());
        assert_ne!(again[..16], entry[..16]);
        log.events.push(ev);
        assert_eq!(Log::open(&again, &key(), &[5; 16]).unwrap(), log);
    }

    /// SPEC §36.4's example: the bytes of a one-event log, and the BLAKE3
    /// of its entry sealed under the example's key, archive id and id.
    #[test]
    fn the_spec_example_has_these_bytes() {
        let log = Log {
            dropped: 0,
            events: vec![Event {
                event_type: "ingestion".into(),
                generation: 0,
                time: 1_767_225_600,
                outcome: Outcome::Success,
                issuer: None,
                tool: "legation 0.1.0".into(),
                detail: "packed".into(),
                counts: vec![("records".into(), 3)],
            }],
        };
        let bytes = log.encode().unwrap();
        assert_eq!(
            crate::hex::encode(&bytes),
            "000109696e67657374696f6e0080e4ad950d00000e6c65676174696f6e20302e312e30067061636b65\
             6401077265636f72647303"
        );
        let entry = log.seal(4096, &key(), &[5; 16], [9; 16]).unwrap();
        assert_eq!(entry.len(), 4128);
        assert_eq!(
            blake3::hash(&entry).to_hex().as_str(),
            "6c668f6dcf14e5c2e3f533c755fec73fe2d7ae4f6e0a2b25acd0caa357f6f39c"
        );
        assert_eq!(Log::open(&entry, &key(), &[5; 16]).unwrap(), log);
    }

    #[test]
    fn a_full_log_drops_its_oldest_events_but_the_first() {
        let c = common();
        let big = |n: u64| {
            c.event(
                "modification",
                Outcome::Success,
                "x".repeat(MAX_DETAIL),
                (0..MAX_COUNTS as u64)
                    .map(|i| (format!("{i:0>48}"), u64::MAX - n))
                    .collect(),
            )
        };
        let mut log = Log::default();
        for n in 0..40 {
            log.events.push(big(n));
        }
        let one = {
            let mut v = Vec::new();
            big(0).encode_into(&mut v).unwrap();
            v.len()
        };
        assert!(one <= EVENT_MAX, "{one}");
        let reserve = log.reservation(3).unwrap();
        assert!(reserve <= MAX_PLAIN);
        assert_eq!(log.events[0], big(0));
        assert_eq!(log.events.len() as u64 + log.dropped, 40);
        assert!(log.dropped > 0);
        assert_eq!(log.events[1], big(log.dropped + 1));
        log.seal(reserve, &key(), &[5; 16], [1; 16]).unwrap();
    }

    #[test]
    fn hostile_logs_are_refused_naming_the_entry() {
        // An entry over the limit, before anything is read.
        let e = check_size(MAX_ENTRY + 1).unwrap_err().to_string();
        assert!(e.starts_with("events: 65537 bytes"), "{e}");
        let e = Log::open(&[0; 20], &key(), &[5; 16])
            .unwrap_err()
            .to_string();
        assert!(e.contains("too short"), "{e}");
        // A count claiming more events than the bytes could hold.
        let mut p = vec![0];
        varint::put(&mut p, u64::MAX);
        let e = Log::decode(&p).unwrap_err().to_string();
        assert!(e.starts_with("events:") && e.contains("event count"), "{e}");
        // A string length past the bytes left.
        let mut p = vec![0, 1];
        varint::put(&mut p, 60);
        p.extend_from_slice(b"ingestion");
        let e = Log::decode(&p).unwrap_err().to_string();
        assert!(e.contains("ends early"), "{e}");
        // A count name list out of order.
        let c = common();
        let mut ev = ingestion(&c, 1, 1, 0);
        ev.counts.swap(0, 1);
        assert!(Log {
            dropped: 0,
            events: vec![ev]
        }
        .encode()
        .is_err());
        // Padding that is not zero.
        let log = Log {
            dropped: 0,
            events: vec![ingestion(&c, 1, 1, 0)],
        };
        let mut p = log.encode().unwrap();
        p.extend_from_slice(&[0, 0, 1]);
        let e = Log::decode(&p).unwrap_err().to_string();
        assert!(e.contains("padding"), "{e}");
        // An unknown outcome byte.
        let mut p = log.encode().unwrap();
        let at = 2 + 1 + "ingestion".len() + 1 + 5;
        assert_eq!(p[at], 0);
        p[at] = 9;
        let e = Log::decode(&p).unwrap_err().to_string();
        assert!(e.contains("outcome 9"), "{e}");
        // A sealed log that opens but claims 2^40 events: refused by the
        // count's bound, before anything is allocated for them.
        let mut p = vec![0];
        varint::put(&mut p, 1 << 40);
        p.resize(4096, 0);
        let sk = key().stream_key(&[5; 16], StreamId::Events([4; 16]));
        let mut entry = vec![4; 16];
        entry.extend_from_slice(&crypto::seal_stream(&sk, &p));
        let e = Log::open(&entry, &key(), &[5; 16]).unwrap_err().to_string();
        assert!(
            e.starts_with("events: byte 7: event count 1099511627776 is over the limit of 455"),
            "{e}"
        );
        // A plaintext over the limit.
        let e = Log::decode(&vec![0; MAX_PLAIN + 1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("over 65504"), "{e}");
    }
}
