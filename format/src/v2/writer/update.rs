//! The update writer: generation `s + 1` of a series as a **delta file**
//! (SPEC §33, design note `docs/design/generations.md` §4, §5.1).
//!
//! The caller walks the new generation's records in path order, merged
//! with the previous generation's catalog and its base run, and tells the
//! writer for each path what became of it: [`UpdateWriter::keep`] (the
//! stored bytes are unchanged: the record keeps its bundle, stream id,
//! key and place, its facts may be new), [`UpdateWriter::add`] (new or
//! changed bytes, written to this file's bundles) or
//! [`UpdateWriter::remove`]. The writer writes:
//!
//! - the bytes of added and changed records in new bundles `b/…`;
//! - the catalog: either an **overlay run** (every live item that differs
//!   from the base run, and a tombstone for every base record no longer
//!   live; the base run stays in the file that holds it), or, when the
//!   caller asks for a **rebase**, a new base run of every live record
//!   (each placed by flag bit 5 where it does not follow the one before);
//! - the series-form index (bundles: the previous generation's list, then
//!   this file's), its parity, `outboard`, `recovery`, `entries`,
//!   `public.json` with the `series` member, `head` (`sequence + 1`,
//!   `previous` = the previous chain hash) and `signatures`.
//!
//! Memory: one page of items, one logical page of leaf hashes, a line a
//! page and a bundle. The records tree is over the live records in path
//! order, 4096 to a logical page, so a generation's `records-root` is the
//! root a self-contained archive of the same records would have.

use std::io::{Seek, Write};

use super::{ArchiveWriter, Kept};
use crate::crypto::{self, DataKey, StreamId};
use crate::keys::IssuerKey;
use crate::manifest::DecoderRef;
use crate::v2::head::Head;
use crate::v2::index::{Changes, RunPage, SeriesBundle, SeriesIndex};
use crate::v2::page::{self, Record, SeriesItem};
use crate::v2::series::{Inherited, SeriesMember};
use crate::v2::{bundle_entry, page_entry, public, tree, INDEX_ENTRY, PAGE_RECORDS, PUBLIC_ENTRY};
use crate::writer::{RecordMeta, RecordSource, WriterOptions};
use crate::{Error, Result};

/// What the update writer needs of the previous generation.
#[derive(Debug, Clone)]
pub struct Previous {
    /// Its head.
    pub head: Head,
    /// Its chain hash.
    pub chain: [u8; 32],
    /// Its public facts.
    pub public: public::Public,
    /// Its file's name (the hint the new file records).
    pub file: String,
    /// Its tables (the new ones begin with them).
    pub tables: page::Tables,
    /// Its bundles in the series form (for a generation 0: each `b/k` of
    /// its file as generation 0, entry `k`, at its data offset).
    pub bundles: Vec<SeriesBundle>,
    /// Its base run in the series form (for a generation 0: its pages,
    /// each with `live` equal to its count).
    pub base: Vec<RunPage>,
    /// Items in its overlay runs (0 for a generation 0).
    pub overlay_items: u64,
}

impl Previous {
    /// The previous generation from a self-contained file: its plain
    /// index and its central directory's `entries` (for the data offsets
    /// of its bundles and pages). `None` when an entry the index needs is
    /// missing.
    pub fn from_plain(
        head: Head,
        chain: [u8; 32],
        public: public::Public,
        file: String,
        index: crate::v2::index::Index,
        entries: &[crate::container::Entry],
    ) -> Option<Previous> {
        let by_name: std::collections::HashMap<&str, &crate::container::Entry> =
            entries.iter().map(|e| (e.name.as_str(), e)).collect();
        let g = head.sequence;
        let bundles = index
            .bundles
            .iter()
            .enumerate()
            .map(|(k, b)| {
                let e = by_name.get(bundle_entry(k as u64).as_str())?;
                Some(SeriesBundle {
                    stream: b.stream,
                    len: b.len,
                    padded: crypto::padme(b.len),
                    generation: g,
                    entry: k as u64,
                    offset: e.data_offset(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let base = index
            .pages
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let e = by_name.get(page_entry(k as u64).as_str())?;
                Some(RunPage {
                    stream: p.stream,
                    count: p.count,
                    last: p.last.clone(),
                    first_bundle: p.first_bundle,
                    first_offset: p.first_offset,
                    generation: g,
                    entry: k as u64,
                    offset: e.data_offset(),
                    size: e.size,
                    live: Some(u64::from(p.count)),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Previous {
            head,
            chain,
            public,
            file,
            tables: index.tables,
            bundles,
            base,
            overlay_items: 0,
        })
    }

    /// The previous generation from a dependent file's series index.
    pub fn from_series(
        head: Head,
        chain: [u8; 32],
        public: public::Public,
        file: String,
        mut index: SeriesIndex,
    ) -> Previous {
        let base = index.runs.pop().unwrap_or_default();
        let overlay_items = index
            .runs
            .iter()
            .flatten()
            .map(|p| u64::from(p.count))
            .sum();
        Previous {
            head,
            chain,
            public,
            file,
            tables: index.tables,
            bundles: index.bundles,
            base,
            overlay_items,
        }
    }

    /// The writer policy of `legation` (SPEC §33.5): rebase when the
    /// previous generation's overlay holds more than `records / 16`
    /// items, so the next overlay starts small again.
    pub fn wants_rebase(&self) -> bool {
        self.overlay_items > self.head.records / 16
    }
}

/// How to write the new generation.
pub struct UpdateOptions {
    /// The generation's `created`, seconds since 1970; not before the
    /// previous generation's.
    pub created: i64,
    /// The issuer's key: one of the previous generation's issuers (none
    /// when the series is unsigned).
    pub issuer: Option<IssuerKey>,
    /// Write every live record as a new base run instead of an overlay.
    pub rebase: bool,
}

/// Whether `h` lets `key` sign the generation after `prev` in place of
/// one of its issuers (SPEC §37.6); the refusal names what is wrong.
fn check_handover(
    prev: &Previous,
    key: &IssuerKey,
    h: &crate::v2::succession::Handover,
) -> Result<()> {
    let fp = crate::crypto::fingerprint;
    let next = prev.head.sequence + 1;
    let refuse = |why: String| Err(Error::invalid("handover", why));
    // Keys are named by their pins (SPEC §37.1): an Ed25519 key, or a
    // hybrid key's id (2.3: either key may be hybrid, §37.6).
    let Some(pins) = prev_pins(prev) else {
        return refuse(
            "the series' issuers are not one Ed25519 key a pin or one hybrid pair: no \
             handover names them (SPEC §37.6)"
                .into(),
        );
    };
    if h.archive_id != prev.public.archive_id {
        return refuse("the handover is of another series".into());
    }
    if !pins.contains(&h.old) {
        return refuse(format!(
            "the handover is from {}, not one of the series' issuers",
            fp(&h.old)
        ));
    }
    let pin = key.public_key().pin();
    if h.new != pin {
        return refuse(format!(
            "the handover is to {}, not the signing key {}",
            fp(&h.new),
            fp(&pin)
        ));
    }
    if h.from != next {
        return refuse(format!(
            "the handover takes effect from generation {}, not generation {next} being written",
            h.from
        ));
    }
    h.check("handover")
        .map_err(|e| Error::invalid("handover", e.to_string()))
}

/// The pins of the previous generation's issuers (SPEC §37.6, 2.3).
fn prev_pins(prev: &Previous) -> Option<std::collections::BTreeSet<[u8; 32]>> {
    let ed: Vec<[u8; 32]> = prev.public.issuers.iter().map(|i| i.public_key).collect();
    crate::v2::series::issuer_pins(&ed, &prev.public.issuers.ml_dsa_65)
}

/// A base run's item at a path, as the caller found it: the record and
/// its place (`(bundle, offset)`, the bundle an index into the previous
/// generation's bundle list).
pub type BaseItem = (Record, (u64, u64));

/// Writes one dependent generation. Paths must come in strictly
/// increasing order, decoders before the first record.
pub struct UpdateWriter<W: Write + Seek, R: rand_core::CryptoRngCore> {
    w: ArchiveWriter<W, R>,
    prev: Previous,
    rebase: bool,
    last: Option<String>,
    /// The page of items being filled and where its first unplaced live
    /// item starts.
    items: Vec<SeriesItem>,
    first_place: Option<(u64, u64)>,
    /// Where the previous live item of the page ends (implicit placement).
    follows: Option<(u64, u64)>,
    /// Pages written to this file: line and sealed size.
    lines: Vec<(RunPage, Kept)>,
    /// Tombstones falling on each base page (for its `live`).
    removed_in_base: Vec<u64>,
    /// Live records and their bytes, and the records tree.
    records: u64,
    bytes: u64,
    leaves: Vec<[u8; 32]>,
    roots: Vec<[u8; 32]>,
    /// (2.1) Decoders named, not stored: each from the generation whose
    /// file stores it.
    inherited: Vec<(u64, DecoderRef)>,
}

impl Previous {
    /// The decoder modules a generation after this one can name without
    /// storing them (SPEC §33.2, 2.1): the previous file's own and those it
    /// inherited, each with the generation whose file stores it.
    pub fn decoders(&self) -> Vec<(u64, DecoderRef)> {
        let mut out: Vec<(u64, DecoderRef)> = self
            .public
            .series
            .iter()
            .flat_map(|s| s.decoders())
            .map(|(g, d)| (g, d.clone()))
            .collect();
        out.extend(
            self.public
                .decoders
                .iter()
                .map(|d| (self.head.sequence, d.clone())),
        );
        out
    }
}

impl<W: Write + Seek, R: rand_core::CryptoRngCore> UpdateWriter<W, R> {
    /// Starts generation `prev.head.sequence + 1` of `prev`'s series,
    /// under its data key `data_key` (checked against its commitment).
    pub fn new(
        out: W,
        prev: Previous,
        data_key: DataKey,
        opts: UpdateOptions,
        rng: R,
    ) -> Result<Self> {
        Self::new_handed(out, prev, data_key, opts, None, rng)
    }

    /// [`UpdateWriter::new`] with the issuer's handover (2.2, SPEC §37.6):
    /// when `opts.issuer` is not one of the series' issuers, `handover`
    /// must hand over from one of them to it from exactly the generation
    /// being written, for this series, signed by the old key. Either key
    /// may be hybrid (2.3), named by its pin.
    pub fn new_handed(
        out: W,
        prev: Previous,
        data_key: DataKey,
        opts: UpdateOptions,
        handover: Option<&crate::v2::succession::Handover>,
        rng: R,
    ) -> Result<Self> {
        let mut prev = prev;
        let id = prev.public.archive_id;
        if data_key.commitment(&id) != prev.public.key_commitment {
            return Err(Error::invalid(
                PUBLIC_ENTRY,
                "the data key given is not the series' (its commitment differs)",
            ));
        }
        if opts.created < prev.head.created {
            return Err(Error::invalid(
                crate::v2::HEAD_ENTRY,
                format!(
                    "generation {} would be created before generation {} ({})",
                    prev.head.sequence + 1,
                    prev.head.sequence,
                    crate::time::format_rfc3339(prev.head.created)
                ),
            ));
        }
        let ours = |k: &IssuerKey| {
            prev.public
                .issuers
                .iter()
                .any(|i| i.public_key == k.public())
        };
        // A key whose pin is not one of the series' (a new Ed25519 key, or
        // a hybrid key, even one whose Ed25519 half is the old key's)
        // signs only by a handover.
        let ours_pin =
            |k: &IssuerKey| prev_pins(&prev).is_some_and(|p| p.contains(&k.public_key().pin()));
        let handed = handover.filter(|_| opts.issuer.as_ref().is_some_and(|k| !ours_pin(k)));
        if let (Some(k), Some(h)) = (&opts.issuer, handed) {
            check_handover(&prev, k, h)?;
            // The generation names its new issuer (the rest of `public`
            // is the series', copied from the previous generation).
            prev.public.issuers = public::Issuers::of_keys([k]);
        } else if let Some(k) = &opts.issuer {
            if !ours(k) {
                return Err(Error::invalid(
                    PUBLIC_ENTRY,
                    "the signing key is not one of the series' issuers (a series keeps its \
                     issuers, SPEC §33.6)",
                ));
            }
            // A hybrid series keeps its ML-DSA-65 halves (SPEC §27.4): an
            // Ed25519 key alone would drop them, a hybrid key add one.
            let theirs = &prev.public.issuers.ml_dsa_65;
            let ours = k.ml_dsa_seed().map(|s| crate::pqsig::public_of(s).to_vec());
            if ours
                .as_ref()
                .map_or(!theirs.is_empty(), |m| !theirs.contains(m))
            {
                return Err(Error::invalid(
                    PUBLIC_ENTRY,
                    if ours.is_none() {
                        "the series is also signed with ML-DSA-65: its next generation needs \
                         the hybrid issuer key (keygen issuer --pq), not its Ed25519 half alone"
                    } else {
                        "the signing key's ML-DSA-65 half is not one of the series' issuers \
                         (a series keeps its issuers, SPEC §33.6)"
                    },
                ));
            }
        } else if !prev.public.issuers.is_empty() {
            return Err(Error::invalid(
                PUBLIC_ENTRY,
                "the series is signed: its next generation needs one of its issuer keys",
            ));
        }
        // The writer draws keys for a new archive; this one keeps the
        // series' archive id, data key and key slots.
        let draw = WriterOptions {
            created: opts.created,
            issuer: opts.issuer,
            recipients: vec![[9; 32]],
            passphrases: Vec::new(),
            embed_spec: false,
            viewer: None,
        };
        let mut w = ArchiveWriter::new_generation(
            out,
            draw,
            rng,
            Some(super::Generation {
                archive_id: id,
                sequence: prev.head.sequence + 1,
                previous: prev.chain,
            }),
        )?;
        w.data_key = data_key;
        w.key_slots = prev.public.key_slots.clone();
        w.tables = prev.tables.clone();
        let removed_in_base = vec![0; prev.base.len()];
        Ok(UpdateWriter {
            w,
            rebase: opts.rebase,
            prev,
            last: None,
            items: Vec::with_capacity(PAGE_RECORDS),
            first_place: None,
            follows: None,
            lines: Vec::new(),
            removed_in_base,
            records: 0,
            bytes: 0,
            leaves: Vec::with_capacity(PAGE_RECORDS),
            roots: Vec::new(),
            inherited: Vec::new(),
        })
    }

    /// Adds a decoder the generation's records may name; its entry name.
    /// A module an earlier file of the series stores under an equal
    /// descriptor (its entry name, from its BLAKE3, and every member) is
    /// named there, not stored again (2.1, SPEC §33.2); any other is
    /// stored in this file.
    pub fn add_decoder(&mut self, module: &[u8], mut desc: DecoderRef) -> Result<String> {
        desc.entry = crate::manifest::decoder_entry(blake3::hash(module).as_bytes());
        if let Some(found) = self.prev.decoders().into_iter().find(|(_, d)| *d == desc) {
            if !self.inherited.iter().any(|(_, d)| d.entry == desc.entry) {
                self.inherited.push(found);
            }
            return Ok(desc.entry);
        }
        self.w.add_decoder(module, desc, false)
    }

    /// Records an empty folder.
    pub fn add_empty_dir(&mut self, path: &str) -> Result<()> {
        self.w.add_empty_dir(path)
    }

    /// Writes an event log into the generation (format 2.1, SPEC §36):
    /// `previous` (the previous generation's log), `extra`, then a
    /// modification event for this generation and the identification and
    /// rendering of the records it writes. As
    /// [`ArchiveWriter::log_events`]; call before the first record.
    pub fn log_events(
        &mut self,
        tool: &str,
        previous: crate::v2::events::Log,
        extra: Vec<crate::v2::events::Event>,
    ) -> Result<()> {
        self.w.log_events(tool, previous, extra)
    }

    /// The bundle list's length before this file's bundles.
    fn inherited_bundles(&self) -> u64 {
        self.prev.bundles.len() as u64
    }

    /// Checks that `path` comes after the last one.
    fn order(&mut self, path: &str) -> Result<()> {
        if self.last.as_deref().is_some_and(|l| l >= path) {
            return Err(Error::Unsupported {
                path: path.into(),
                what: format!(
                    "records must come in strictly increasing path order, and this one comes \
                     after {:?}",
                    self.last.as_deref().unwrap_or_default()
                ),
            });
        }
        self.last = Some(path.to_owned());
        Ok(())
    }

    /// A record whose stored bytes did not change: it stays at `place`
    /// (a bundle of the previous generation's list); `rec` holds its
    /// facts now. `base` is the base run's item at this path, if any.
    pub fn keep(
        &mut self,
        base: Option<&BaseItem>,
        mut rec: Record,
        place: (u64, u64),
    ) -> Result<()> {
        self.order(&rec.path)?;
        let b = usize::try_from(place.0)
            .ok()
            .and_then(|b| self.prev.bundles.get(b))
            .ok_or_else(|| Error::Unsupported {
                path: rec.path.clone(),
                what: format!("kept in bundle {}, which the series does not list", place.0),
            })?;
        if place
            .1
            .checked_add(rec.stored_size)
            .is_none_or(|e| e > b.len)
        {
            return Err(Error::Unsupported {
                path: rec.path.clone(),
                what: format!("kept at {} past its bundle's {} bytes", place.1, b.len),
            });
        }
        rec.new_bundle = false;
        self.live(base, rec, place)
    }

    /// A record with new or changed bytes, written to this file's
    /// bundles. `base` is the base run's item at this path, if any.
    pub fn add(
        &mut self,
        base: Option<&BaseItem>,
        meta: RecordMeta,
        source: RecordSource<'_>,
    ) -> Result<()> {
        self.order(&meta.path)?;
        self.w.add_record(meta, source)?;
        let pending = self.w.page.pop().expect("add_record keeps the record");
        // Nothing else is on the writer's page, so its start is this
        // record's place in this file.
        let (local, offset) = self.w.page_start;
        self.w.records -= 1;
        self.w.bytes -= pending.size;
        let mut rec = pending.into_record();
        rec.new_bundle = false;
        self.live(base, rec, (self.inherited_bundles() + local, offset))
    }

    /// A record of the previous generation that is not in this one.
    /// `base` is the base run's item at this path, if any.
    pub fn remove(&mut self, base: Option<&BaseItem>, path: &str) -> Result<()> {
        self.order(path)?;
        if self.rebase || base.is_none() {
            return Ok(());
        }
        let k = self.prev.base.partition_point(|p| p.last.as_str() < path);
        if let Some(n) = self.removed_in_base.get_mut(k) {
            *n += 1;
        }
        self.push_item(SeriesItem::Removed(path.to_owned()), None)
    }

    /// A live record at `place`: into the records tree, and onto the page
    /// unless it is exactly the base run's item.
    fn live(&mut self, base: Option<&BaseItem>, rec: Record, place: (u64, u64)) -> Result<()> {
        let salt = tree::record_salt(&self.w.data_key, &self.w.archive_id, &rec.path);
        self.leaves.push(tree::leaf_hash(&rec.leaf(&salt)?));
        if self.leaves.len() == PAGE_RECORDS {
            self.roots.push(tree::root(&self.leaves));
            self.leaves.clear();
        }
        self.records += 1;
        self.bytes += rec.size;
        if !self.rebase {
            if let Some((b, p)) = base {
                let mut same = b.clone();
                same.new_bundle = false;
                if *p == place && same == rec {
                    return Ok(());
                }
            }
        }
        self.push_item(SeriesItem::Live(rec, None), Some(place))
    }

    /// Puts an item on the page, placed explicitly unless it follows the
    /// page's previous live item; writes the page when full.
    fn push_item(&mut self, mut item: SeriesItem, place: Option<(u64, u64)>) -> Result<()> {
        if let (SeriesItem::Live(rec, slot), Some(place)) = (&mut item, place) {
            match self.follows {
                None => self.first_place = Some(place),
                Some(f) if f == place => {}
                Some(_) => *slot = Some(place),
            }
            self.follows = Some((place.0, place.1 + rec.stored_size));
        }
        self.items.push(item);
        if self.items.len() == PAGE_RECORDS {
            self.flush()?;
        }
        Ok(())
    }

    /// Seals the page of items and keeps it aside.
    fn flush(&mut self) -> Result<()> {
        if self.items.is_empty() {
            return Ok(());
        }
        let items = std::mem::replace(&mut self.items, Vec::with_capacity(PAGE_RECORDS));
        let number = self.lines.len() as u64;
        let name = page_entry(number);
        let deflated = page::encode_series_page(&items, &mut self.w.tables)
            .map_err(|e| Error::invalid(&name, e.to_string()))?;
        let mut id = [0u8; 16];
        self.w.rng.fill_bytes(&mut id);
        let key = self
            .w
            .data_key
            .stream_key(&self.w.archive_id, StreamId::Page(id));
        let sealed = crypto::seal_stream(&key, &deflated);
        self.w.spill.append(&sealed)?;
        self.w.add_parity(&sealed)?;
        let live = items
            .iter()
            .filter(|i| matches!(i, SeriesItem::Live(..)))
            .count() as u64;
        let (first_bundle, first_offset) = self.first_place.take().unwrap_or((0, 0));
        self.follows = None;
        self.lines.push((
            RunPage {
                stream: id,
                count: items.len() as u32,
                last: items
                    .last()
                    .map(|i| i.path().to_owned())
                    .unwrap_or_default(),
                first_bundle,
                first_offset,
                generation: self.prev.head.sequence + 1,
                entry: number,
                offset: 0,
                size: sealed.len() as u64,
                live: self.rebase.then_some(live),
            },
            Kept {
                size: sealed.len() as u64,
                crc32: crc32fast::hash(&sealed),
            },
        ));
        Ok(())
    }

    /// Writes the rest of the file (`changes`: what changed against the
    /// previous generation, as the caller counted it) and returns the
    /// output.
    pub fn finish(mut self, changes: Changes) -> Result<W> {
        self.flush()?;
        if !self.leaves.is_empty() {
            self.roots.push(tree::root(&self.leaves));
        }
        self.w.close_bundle()?;
        let sequence = self.prev.head.sequence + 1;
        if let Some(common) = self.w.log_common() {
            let first =
                crate::v2::events::modification(&common, self.records, self.bytes, &changes);
            self.w.open_log()?;
            self.w.close_log(&common, first, true)?;
        }
        // This file's pages, copied in after its bundles.
        let mut lines = std::mem::take(&mut self.lines);
        {
            let mut src = self.w.spill.reader()?;
            for (n, (_, kept)) in lines.iter().enumerate() {
                self.w
                    .out
                    .known(&page_entry(n as u64), kept.size, kept.crc32, &mut src)?;
            }
        }
        self.w.spill = super::Spill::default();
        let data_offset = |w: &ArchiveWriter<W, R>, name: &str| -> u64 {
            w.out
                .entries
                .iter()
                .find(|e| e.name == name)
                .map_or(0, |e| {
                    e.offset + crate::container::local_header_len(name, e.size) as u64
                })
        };
        for (n, (line, _)) in lines.iter_mut().enumerate() {
            line.offset = data_offset(&self.w, &page_entry(n as u64));
        }
        let mut bundles = std::mem::take(&mut self.prev.bundles);
        for (k, (stream, len)) in std::mem::take(&mut self.w.bundles).into_iter().enumerate() {
            bundles.push(SeriesBundle {
                stream,
                len,
                padded: crypto::padme(len),
                generation: sequence,
                entry: k as u64,
                offset: data_offset(&self.w, &bundle_entry(k as u64)),
            });
        }
        let own_bundles = bundles.iter().filter(|b| b.generation == sequence).count() as u64;
        let own_pages = lines.len() as u64;
        let new_run: Vec<RunPage> = lines.into_iter().map(|(l, _)| l).collect();
        let runs = if self.rebase {
            vec![new_run]
        } else {
            let mut base = std::mem::take(&mut self.prev.base);
            for (p, removed) in base.iter_mut().zip(&self.removed_in_base) {
                p.live = Some(u64::from(p.count).saturating_sub(*removed));
            }
            if new_run.is_empty() {
                vec![base]
            } else {
                vec![new_run, base]
            }
        };
        let roots = std::mem::take(&mut self.roots);
        self.close(changes, bundles, runs, roots, own_pages, own_bundles)
    }

    /// Replaces the key slots the generation carries (SPEC §35.4, a
    /// dependent generation re-keyed): the previous generation's, edited
    /// as [`crate::v2::rekey::SlotEdit`] says (at least one left, at most
    /// 8 Argon2id runs, `public.json` within its bound). Returns how many
    /// slots the generation has.
    pub fn edit_key_slots(&mut self, edit: &crate::v2::rekey::SlotEdit) -> Result<usize> {
        let raw = self.prev.public.to_bytes();
        let (doc, n) = crate::v2::rekey::with_slots(&raw, &self.prev.public, edit)?;
        let slots = public::Public::parse(&doc)?.key_slots;
        self.w.key_slots = slots.clone();
        self.prev.public.key_slots = slots;
        Ok(n)
    }

    /// Finishes the generation as the previous one with nothing changed
    /// (SPEC §35.4): `index` is the previous generation's series index,
    /// taken whole (its bundles and runs stay in the files that hold
    /// them, so this file stores no bundle and no page), with its changes
    /// counted as none. `event` starts this generation's events in the log
    /// (the re-keying), when a log was asked for. Call with no record,
    /// decoder or folder added.
    pub fn finish_unchanged(
        mut self,
        index: SeriesIndex,
        event: crate::v2::events::Event,
    ) -> Result<W> {
        if self.last.is_some() || !self.w.decoders.is_empty() || !self.w.bundles.is_empty() {
            return Err(Error::invalid(
                INDEX_ENTRY,
                "an unchanged generation adds no record or decoder",
            ));
        }
        if index.records != self.prev.head.records || index.bundles != self.prev.bundles {
            return Err(Error::invalid(
                INDEX_ENTRY,
                "the index given is not the previous generation's",
            ));
        }
        let mut top = tree::RootBuilder::new();
        for r in &index.roots {
            top.push(tree::leaf_hash(r));
        }
        if top.root() != self.prev.head.records_root {
            return Err(Error::invalid(
                INDEX_ENTRY,
                "the previous generation's logical page roots do not make its records-root",
            ));
        }
        if let Some(common) = self.w.log_common() {
            self.w.open_log()?;
            self.w.close_log(&common, event, false)?;
        }
        self.records = index.records;
        self.bytes = self.prev.head.bytes;
        self.w.tables = index.tables;
        self.w.empty_dirs = index.empty_dirs;
        let bundles = std::mem::take(&mut self.prev.bundles);
        self.close(Changes::default(), bundles, index.runs, index.roots, 0, 0)
    }

    /// The rest of the file from the index on: `public.json`'s `series`
    /// member for the generations the index names, the index sealed, its
    /// parity, `outboard` and the tail.
    fn close(
        mut self,
        changes: Changes,
        bundles: Vec<SeriesBundle>,
        runs: Vec<Vec<RunPage>>,
        roots: Vec<[u8; 32]>,
        own_pages: u64,
        own_bundles: u64,
    ) -> Result<W> {
        let sequence = self.prev.head.sequence + 1;
        // Every generation whose file holds an entry the index names.
        let mut known: std::collections::BTreeMap<u64, Inherited> = self
            .prev
            .public
            .series
            .iter()
            .flat_map(|s| s.inherits.iter().cloned())
            .map(|i| (i.sequence, i))
            .collect();
        known.insert(
            self.prev.head.sequence,
            Inherited {
                sequence: self.prev.head.sequence,
                chain: self.prev.chain,
                file: self.prev.file.clone(),
                decoders: Vec::new(),
            },
        );
        // Every decoder the tables name: stored here, added as inherited,
        // else inherited as the previous generation named it.
        let available = self.prev.decoders();
        for name in &self.w.tables.decoders {
            let here = self.w.decoders.iter().any(|d| d.entry == *name)
                || self.inherited.iter().any(|(_, d)| d.entry == *name);
            if here {
                continue;
            }
            match available.iter().find(|(_, d)| d.entry == *name) {
                Some(found) => self.inherited.push(found.clone()),
                None => {
                    return Err(Error::invalid(
                        PUBLIC_ENTRY,
                        format!(
                            "the records name decoder {name}, which was not added to this \
                             generation and no earlier file stores"
                        ),
                    ))
                }
            }
        }
        let mut used = std::collections::BTreeSet::new();
        used.extend(bundles.iter().map(|b| b.generation));
        used.extend(runs.iter().flatten().map(|p| p.generation));
        used.extend(self.inherited.iter().map(|(g, _)| *g));
        used.remove(&sequence);
        let mut inherits = Vec::with_capacity(used.len());
        for g in used {
            let mut item = known.get(&g).cloned().ok_or_else(|| {
                Error::invalid(
                    INDEX_ENTRY,
                    format!("names generation {g}, which the previous generation does not list"),
                )
            })?;
            item.decoders = self
                .inherited
                .iter()
                .filter(|(from, _)| *from == g)
                .map(|(_, d)| d.clone())
                .collect();
            item.decoders.sort_by(|a, b| a.entry.cmp(&b.entry));
            inherits.push(item);
        }
        let series = SeriesMember { inherits };
        series
            .check(sequence)
            .map_err(|e| Error::invalid(PUBLIC_ENTRY, e))?;
        let form = match self.inherited.is_empty() {
            true => crate::v2::index::SERIES_FORM,
            false => crate::v2::index::SERIES_FORM_INHERITED_DECODERS,
        };
        let mut empty_dirs = std::mem::take(&mut self.w.empty_dirs);
        empty_dirs.sort();
        let index = SeriesIndex {
            records: self.records,
            changes,
            tables: std::mem::take(&mut self.w.tables),
            bundles,
            runs,
            roots,
            empty_dirs,
        };
        let index_plain = index.encode_form(INDEX_ENTRY, form)?;
        let mut index_id = [0u8; 16];
        self.w.rng.fill_bytes(&mut index_id);
        let mut public = self.prev.public.clone();
        public.catalog.index_stream = index_id;
        public.catalog.pages = own_pages;
        public.bundles = own_bundles;
        public.decoders = std::mem::take(&mut self.w.decoders);
        // 2.1 when it names a decoder of an earlier file or stores one of
        // ABI 2; 2.0 otherwise, whatever its predecessor said.
        public.version =
            crate::v2::version_for(&public.decoders, !self.inherited.is_empty()).into();
        public.series = Some(series);
        let public = public.to_bytes();
        if public.len() > public::MAX_PUBLIC_BYTES {
            return Err(Error::invalid(
                PUBLIC_ENTRY,
                format!("too large: {} bytes", public.len()),
            ));
        }
        let key = self
            .w
            .data_key
            .stream_key(&self.w.archive_id, StreamId::Index(index_id));
        let index_sealed = crypto::seal_stream(&key, &index_plain);
        self.w.out.plain(INDEX_ENTRY, &index_sealed)?;
        self.w.write_parity(&index_sealed)?;
        self.w.write_outboard()?;
        let mut top = tree::RootBuilder::new();
        for r in &index.roots {
            top.push(tree::leaf_hash(r));
        }
        let head = Head {
            archive_id: self.w.archive_id,
            sequence,
            previous: self.prev.chain,
            created: self.w.created,
            records: self.records,
            bytes: self.bytes,
            records_root: top.root(),
            entries: [0; 32],
            public: *blake3::hash(&public).as_bytes(),
        };
        self.w.write_tail(public, head)
    }
}

/// A writer of a **self-contained** generation `prev.head.sequence + 1`
/// of `prev`'s series (`legation compact`, SPEC §33.8): a plain 2.0
/// archive under the series' archive id, data key and key slots, whose
/// head names `prev` as its previous generation. Its records root equals
/// `prev`'s when it is given `prev`'s live records.
pub fn compacted<W: Write + Seek, R: rand_core::CryptoRngCore>(
    out: W,
    prev: &Previous,
    data_key: DataKey,
    created: i64,
    issuer: Option<IssuerKey>,
    rng: R,
) -> Result<ArchiveWriter<W, R>> {
    if data_key.commitment(&prev.public.archive_id) != prev.public.key_commitment {
        return Err(Error::invalid(
            PUBLIC_ENTRY,
            "the data key given is not the series' (its commitment differs)",
        ));
    }
    let opts = WriterOptions {
        created: created.max(prev.head.created),
        issuer,
        recipients: vec![[9; 32]],
        passphrases: Vec::new(),
        embed_spec: true,
        viewer: None,
    };
    let mut w = ArchiveWriter::new_generation(
        out,
        opts,
        rng,
        Some(super::Generation {
            archive_id: prev.public.archive_id,
            sequence: prev.head.sequence + 1,
            previous: prev.chain,
        }),
    )?;
    w.data_key = data_key;
    w.key_slots = prev.public.key_slots.clone();
    Ok(w)
}

/// What a driver of an update calls, path by path: the methods of
/// [`UpdateWriter`] without its type parameters (so a caller need not
/// name the output or the generator).
pub trait UpdateTarget {
    /// [`UpdateWriter::keep`].
    fn keep(&mut self, base: Option<&BaseItem>, rec: Record, place: (u64, u64)) -> Result<()>;
    /// [`UpdateWriter::add`].
    fn add(
        &mut self,
        base: Option<&BaseItem>,
        meta: RecordMeta,
        source: RecordSource<'_>,
    ) -> Result<()>;
    /// [`UpdateWriter::remove`].
    fn remove(&mut self, base: Option<&BaseItem>, path: &str) -> Result<()>;
    /// [`UpdateWriter::add_empty_dir`].
    fn add_empty_dir(&mut self, path: &str) -> Result<()>;
}

impl<W: Write + Seek, R: rand_core::CryptoRngCore> UpdateTarget for UpdateWriter<W, R> {
    fn keep(&mut self, base: Option<&BaseItem>, rec: Record, place: (u64, u64)) -> Result<()> {
        UpdateWriter::keep(self, base, rec, place)
    }
    fn add(
        &mut self,
        base: Option<&BaseItem>,
        meta: RecordMeta,
        source: RecordSource<'_>,
    ) -> Result<()> {
        UpdateWriter::add(self, base, meta, source)
    }
    fn remove(&mut self, base: Option<&BaseItem>, path: &str) -> Result<()> {
        UpdateWriter::remove(self, base, path)
    }
    fn add_empty_dir(&mut self, path: &str) -> Result<()> {
        UpdateWriter::add_empty_dir(self, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container;
    use crate::v2::index::Index;
    use crate::v2::series::chain_hash;
    use crate::v2::{HEAD_ENTRY, SIGNATURES_ENTRY};
    use rand_core::SeedableRng;
    use std::io::Cursor;

    fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(seed)
    }

    fn issuer() -> IssuerKey {
        IssuerKey::generate(&mut rng(2))
    }

    fn meta(path: &str, modified: i64) -> RecordMeta {
        RecordMeta {
            path: path.into(),
            media_type: "text/plain".into(),
            modified: Some(modified),
            ..RecordMeta::default()
        }
    }

    fn bytes_of(path: &str, version: u8) -> Vec<u8> {
        format!("{path} version {version} ").repeat(20).into_bytes()
    }

    /// Writes a self-contained archive of `records` (path, version) under
    /// `key` and `id` when given; the archive, its key and id.
    fn first(
        records: &[(String, u8)],
        same: Option<(&DataKey, [u8; 16])>,
        retouched: &str,
    ) -> (Vec<u8>, DataKey, [u8; 16]) {
        let opts = WriterOptions {
            created: 1_767_225_600,
            issuer: Some(issuer()),
            recipients: vec![[5; 32]],
            passphrases: vec![],
            embed_spec: false,
            viewer: None,
        };
        let mut w = ArchiveWriter::new(Cursor::new(Vec::new()), opts, rng(1)).unwrap();
        if let Some((k, id)) = same {
            w.data_key = k.clone();
            w.archive_id = id;
        }
        let (key, id) = (w.data_key.clone(), w.archive_id);
        for (p, v) in records {
            let t = if p == retouched {
                1_700_000_999
            } else {
                1_700_000_000
            };
            w.add_record(meta(p, t), RecordSource::Bytes(&bytes_of(p, *v)))
                .unwrap();
        }
        (w.finish().unwrap().into_inner(), key, id)
    }

    struct Parsed {
        entries: Vec<container::Entry>,
        head: Head,
        chain: [u8; 32],
        public: public::Public,
    }

    fn parse(archive: &[u8]) -> Parsed {
        let tail = &archive[archive.len().saturating_sub(container::TAIL_LEN)..];
        let dir = container::parse_end(tail, archive.len() as u64).unwrap();
        let cd = &archive[dir.offset as usize..(dir.offset + dir.size) as usize];
        let entries = container::parse_directory(cd, &dir).unwrap();
        let get = |n: &str| {
            let e = entries.iter().find(|e| e.name == n).unwrap();
            archive[e.data_offset() as usize..e.end() as usize].to_vec()
        };
        let (h, s) = (get(HEAD_ENTRY), get(SIGNATURES_ENTRY));
        Parsed {
            head: Head::parse(&h).unwrap(),
            chain: chain_hash(&h, &s),
            public: public::Public::parse(&get(PUBLIC_ENTRY)).unwrap(),
            entries,
        }
    }

    fn open(archive: &[u8], p: &Parsed, key: &DataKey, name: &str, stream: StreamId) -> Vec<u8> {
        let e = p.entries.iter().find(|e| e.name == name).unwrap();
        let sealed = &archive[e.data_offset() as usize..e.end() as usize];
        let sk = key.stream_key(&p.public.archive_id, stream);
        crypto::open_stream(&sk, sealed).unwrap()
    }

    /// A self-contained archive's index.
    fn index_of(archive: &[u8], p: &Parsed, key: &DataKey) -> Index {
        let stream = StreamId::Index(p.public.catalog.index_stream);
        Index::parse(&open(archive, p, key, INDEX_ENTRY, stream), INDEX_ENTRY).unwrap()
    }

    #[test]
    fn a_delta_file_holds_the_change_and_keeps_the_root_of_its_records() {
        let gen0: Vec<(String, u8)> = (0..100).map(|i| (format!("r/{i:03}"), 0)).collect();
        let (a0, key, id) = first(&gen0, None, "");
        let p0 = parse(&a0);
        let idx0 = index_of(&a0, &p0, &key);
        let pages0: Vec<(Record, (u64, u64))> = idx0
            .pages
            .iter()
            .enumerate()
            .flat_map(|(n, pr)| {
                let recs = page::parse_page(
                    &open(
                        &a0,
                        &p0,
                        &key,
                        &page_entry(n as u64),
                        StreamId::Page(pr.stream),
                    ),
                    &idx0.tables,
                    "page",
                )
                .unwrap();
                let places = page::locate(&recs, pr.first_bundle, pr.first_offset);
                recs.into_iter().zip(places).collect::<Vec<_>>()
            })
            .collect();
        let prev = Previous::from_plain(
            p0.head.clone(),
            p0.chain,
            p0.public.clone(),
            "reg.00000000.lgn".into(),
            idx0,
            &p0.entries,
        )
        .unwrap();
        assert!(!prev.wants_rebase());
        // Generation 1: r/010 changed, r/020 removed, r/030 retouched (a
        // new modification time), r/0505 added.
        let opts = UpdateOptions {
            created: 1_767_312_000,
            issuer: Some(issuer()),
            rebase: false,
        };
        let mut w =
            UpdateWriter::new(Cursor::new(Vec::new()), prev, key.clone(), opts, rng(3)).unwrap();
        let mut gen1 = Vec::new();
        for (i, (rec, place)) in pages0.iter().enumerate() {
            let base = Some((rec.clone(), *place));
            let base = base.as_ref();
            match i {
                10 => {
                    w.add(
                        base,
                        meta(&rec.path, 1_700_000_000),
                        RecordSource::Bytes(&bytes_of(&rec.path, 1)),
                    )
                    .unwrap();
                    gen1.push((rec.path.clone(), 1));
                }
                20 => w.remove(base, &rec.path).unwrap(),
                30 => {
                    let mut r = rec.clone();
                    r.modified = Some(1_700_000_999);
                    w.keep(base, r, *place).unwrap();
                    gen1.push((rec.path.clone(), 0));
                }
                _ => {
                    w.keep(base, rec.clone(), *place).unwrap();
                    gen1.push((rec.path.clone(), 0));
                }
            }
            if i == 50 {
                w.add(
                    None,
                    meta("r/0505", 1_700_000_000),
                    RecordSource::Bytes(&bytes_of("r/0505", 0)),
                )
                .unwrap();
                gen1.push(("r/0505".into(), 0));
            }
        }
        // Order is enforced across kinds.
        assert!(w.remove(None, "r/000").is_err());
        let a1 = w
            .finish(Changes {
                added: 1,
                changed: 2,
                removed: 1,
            })
            .unwrap()
            .into_inner();
        let p1 = parse(&a1);
        assert_eq!(p1.head.sequence, 1);
        assert_eq!(p1.head.previous, p0.chain);
        assert_eq!(p1.head.records, 100);
        let series = p1.public.series.clone().unwrap();
        assert_eq!(series.inherits.len(), 1);
        assert_eq!(series.inherits[0].chain, p0.chain);
        assert_eq!(series.inherits[0].file, "reg.00000000.lgn");
        // Only the changed and added records' bytes are in the file.
        assert_eq!(p1.public.bundles, 1);
        assert!(!p1.entries.iter().any(|e| e.name == crate::SPEC_ENTRY));
        assert!(a1.len() < a0.len() / 2, "{} against {}", a1.len(), a0.len());
        let idx1 = SeriesIndex::parse(
            &open(
                &a1,
                &p1,
                &key,
                INDEX_ENTRY,
                StreamId::Index(p1.public.catalog.index_stream),
            ),
            INDEX_ENTRY,
        )
        .unwrap();
        let size_of = |n: &str| p1.entries.iter().find(|e| e.name == n).map(|e| e.size);
        idx1.check_files(INDEX_ENTRY, 1, &[0], p1.public.catalog.pages, 1, &size_of)
            .unwrap();
        assert_eq!(idx1.runs.len(), 2);
        assert_eq!(idx1.changes.changed, 2);
        // The overlay: the changed, the retouched, the removed, the added.
        let o = &idx1.runs[0][0];
        let items = page::parse_series_page(
            &open(
                &a1,
                &p1,
                &key,
                &page_entry(o.entry),
                StreamId::Page(o.stream),
            ),
            &idx1.tables,
            "overlay",
            true,
        )
        .unwrap();
        let kinds: Vec<(&str, bool)> = items
            .iter()
            .map(|i| (i.path(), matches!(i, SeriesItem::Removed(_))))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("r/010", false),
                ("r/020", true),
                ("r/030", false),
                ("r/0505", false)
            ]
        );
        // The removed record's base page has one record less live.
        assert_eq!(idx1.runs[1][0].live, Some(99));
        // The records root is a self-contained archive's of the same
        // records under the same key.
        let (fresh, _, _) = first(
            &gen1
                .iter()
                .map(|(p, v)| (p.clone(), *v))
                .collect::<Vec<_>>(),
            Some((&key, id)),
            "r/030",
        );
        let pf = parse(&fresh);
        assert_eq!(pf.head.records_root, p1.head.records_root);
        assert_eq!(pf.head.bytes, p1.head.bytes);
        assert_eq!(pf.head.records, p1.head.records);
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let (a0, key, _) = first(&[("a".into(), 0)], None, "");
        let p0 = parse(&a0);
        let idx0 = index_of(&a0, &p0, &key);
        let prev = Previous::from_plain(
            p0.head.clone(),
            p0.chain,
            p0.public.clone(),
            "a".into(),
            idx0,
            &p0.entries,
        )
        .unwrap();
        let opts = |created, issuer: Option<IssuerKey>| UpdateOptions {
            created,
            issuer,
            rebase: false,
        };
        let new = |o, k: DataKey| {
            UpdateWriter::new(Cursor::new(Vec::new()), prev.clone(), k, o, rng(4))
                .err()
                .unwrap()
                .to_string()
        };
        assert!(new(opts(0, Some(issuer())), key.clone()).contains("created before generation 0"));
        assert!(
            new(opts(1_767_225_600, None), key.clone()).contains("needs one of its issuer keys")
        );
        let other = || IssuerKey::generate(&mut rng(9));
        assert!(new(opts(1_767_225_600, Some(other())), key.clone())
            .contains("not one of the series' issuers"));
        // A handover from the series' issuer lets another key sign the
        // generation it takes effect at, and no other (SPEC §37.6).
        let handed = |from: u64, by: &IssuerKey, to: &IssuerKey| {
            let mut h = crate::v2::succession::Handover::new(
                p0.public.archive_id,
                from,
                by.public(),
                to.public(),
                1_767_225_600,
            );
            h.sign(by).unwrap();
            UpdateWriter::new_handed(
                Cursor::new(Vec::new()),
                prev.clone(),
                key.clone(),
                opts(1_767_225_600, Some(other())),
                Some(&h),
                rng(4),
            )
            .err()
            .map(|e| e.to_string())
        };
        assert_eq!(handed(1, &issuer(), &other()), None);
        assert!(handed(2, &issuer(), &other())
            .unwrap()
            .contains("from generation 2, not generation 1"));
        let third = IssuerKey::generate(&mut rng(10));
        assert!(handed(1, &third, &other())
            .unwrap()
            .contains("not one of the series' issuers"));
        assert!(handed(1, &issuer(), &third)
            .unwrap()
            .contains("not the signing key"));
        assert!(new(
            opts(1_767_225_600, Some(issuer())),
            DataKey::from_bytes([1; 32])
        )
        .contains("commitment"));
        let mut w = UpdateWriter::new(
            Cursor::new(Vec::new()),
            prev.clone(),
            key,
            opts(1_767_225_600, Some(issuer())),
            rng(4),
        )
        .unwrap();
        let e = w
            .keep(
                None,
                page::Record::from_leaf(&{
                    let mut l = vec![0u8; 32];
                    l.push(0);
                    crate::v2::varint::put_str(&mut l, "b");
                    crate::v2::varint::put(&mut l, 5);
                    l.extend_from_slice(&[0; 32]);
                    crate::v2::varint::put_str(&mut l, "text/plain");
                    crate::v2::varint::put_str(&mut l, "");
                    l.push(0);
                    l
                })
                .unwrap()
                .1,
                (7, 0),
            )
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("bundle 7, which the series does not list"),
            "{e}"
        );
    }
}
