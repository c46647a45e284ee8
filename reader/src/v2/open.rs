//! Opening a 2.0 archive: the last three entries (`public.json`, `head`,
//! `signatures`) in one read, checked against the central directory and
//! each other, and the public facts put in the shape 1.x callers read
//! ([`Manifest`], with no `entries`: 2.0 pins entries in its entry table,
//! which opening does not read).

use std::sync::OnceLock;

use legation_format::container::Entry;
use legation_format::manifest::{CatalogRef, Issuer, Manifest, ManifestEntry};
use legation_format::pqsig;
use legation_format::recovery::{self, TailRecovery};
use legation_format::v2::{self, entries as table, head, public};

use crate::archive::Signer;
use crate::source::ReadAt;
use crate::{Error, Result};

/// Largest `public.json` accepted (SPEC 2.0 §26: 4 MiB, about 20,000 key
/// slots), refused before it is read.
pub const MAX_PUBLIC: u64 = public::MAX_PUBLIC_BYTES as u64;
/// Largest `head` accepted (SPEC 2.0 §27.1: no valid head is longer).
pub const MAX_HEAD: u64 = head::MAX_HEAD as u64;
/// Largest `signatures` accepted (1 MiB: thousands of lines, room for
/// post-quantum signatures).
pub const MAX_SIGNATURES: u64 = 1 << 20;
/// Largest `entries` accepted (SPEC 2.0 §25: 64 MiB, about 400,000
/// entries), refused before it is read.
pub const MAX_ENTRIES: u64 = table::MAX_ENTRIES_BYTES as u64;

/// The entry table's rows, with the BLAKE3 and CRC-32 its tree entry
/// (`entries-tree`) must have.
pub(crate) type Table = (Vec<ManifestEntry>, [u8; 32], u32);

/// What opening a 2.0 archive read and checked.
pub(crate) struct Opened {
    /// The head's bytes, as stored (what the signatures sign).
    pub(crate) head_bytes: Vec<u8>,
    /// The head.
    pub(crate) head: head::Head,
    /// The signatures' bytes, as stored.
    pub(crate) signatures_bytes: Vec<u8>,
    /// The signatures, or why they cannot be read.
    pub(crate) signatures: std::result::Result<Vec<head::SignatureLine>, String>,
    /// The public facts.
    pub(crate) public: public::Public,
    /// The entry table, read the first time something needs it (never
    /// when opening), with the BLAKE3 its tree entry must have.
    table: OnceLock<Table>,
    /// The public entries whose stored bytes were damaged and put right
    /// from the archive's recovery data (SPEC 2.0 §25.1) when opening.
    pub(crate) recovered: Vec<&'static str>,
    /// Whether the stored entry table was damaged and put right.
    table_recovered: std::sync::atomic::AtomicBool,
}

/// Whether the container is a 2.0 archive: `head` and `public.json`, and
/// no `manifest.json`.
pub(crate) fn is_v2(has: &dyn Fn(&str) -> bool) -> bool {
    has(v2::HEAD_ENTRY) && has(v2::PUBLIC_ENTRY) && !has(legation_format::MANIFEST_ENTRY)
}

/// Reads and checks the public tail of a 2.0 archive whose (canonical)
/// central directory lists `entries`; the public facts as a [`Manifest`].
pub(crate) fn open(source: &dyn ReadAt, entries: &[Entry]) -> Result<(Opened, Manifest)> {
    let n = entries.len();
    let tail = [
        v2::ENTRIES_ENTRY,
        v2::PUBLIC_ENTRY,
        v2::HEAD_ENTRY,
        v2::SIGNATURES_ENTRY,
    ];
    if n < tail.len() + 1
        || entries[n - 4..]
            .iter()
            .zip(tail)
            .any(|(e, name)| e.name != name)
    {
        return Err(Error::ManifestMismatch {
            entry: v2::HEAD_ENTRY.into(),
            what: "a 2.0 archive ends with the entries entries, public.json, head and \
                   signatures, in that order"
                .into(),
        });
    }
    let (p, h, s) = (&entries[n - 3], &entries[n - 2], &entries[n - 1]);
    for (e, limit) in [(p, MAX_PUBLIC), (h, MAX_HEAD), (s, MAX_SIGNATURES)] {
        if e.size > limit {
            return Err(Error::TooLarge {
                entry: e.name.clone(),
                size: e.size,
                limit,
            });
        }
    }
    // One read from public.json's first data byte to the signatures' last.
    let from = p.data_offset();
    let mut buf = vec![0u8; (s.end() - from) as usize];
    source
        .read_exact_at(from, &mut buf)
        .map_err(|e| Error::Source {
            what: "public.json, head and signatures".into(),
            source_name: source.name().into(),
            source: e,
        })?;
    let data = |e: &Entry| -> Vec<u8> {
        let at = (e.data_offset() - from) as usize;
        buf[at..at + e.size as usize].to_vec()
    };
    let (mut public_bytes, mut head_bytes, mut signatures_bytes) = (data(p), data(h), data(s));
    drop(buf);
    // A damaged public.json or head is put right from the recovery entry
    // (read only then), the result taken only when it has the CRC-32 of
    // the entry's headers (SPEC 2.0 §25.1).
    let mut recovered = Vec::new();
    let rec = OnceLock::new();
    let rec = || {
        rec.get_or_init(|| read_tail_recovery(source, entries))
            .as_ref()
    };
    let damaged = |e: &Entry| Error::ManifestMismatch {
        entry: e.name.clone(),
        what: "CRC-32 differs from its header (damaged), and the archive's recovery data \
               cannot put it right"
            .into(),
    };
    if crc32(&public_bytes) != p.crc32 {
        match rec().filter(|r| crc32(&r.public) == p.crc32) {
            Some(r) => public_bytes = r.public.clone(),
            None => return Err(damaged(p)),
        }
        recovered.push(v2::PUBLIC_ENTRY);
    }
    if crc32(&head_bytes) != h.crc32 {
        let table = rec().and_then(|r| entry_table_from(source, entries, r));
        match rec()
            .zip(table)
            .and_then(|(r, t)| r.head_with(blake3::hash(&t).as_bytes()))
            .filter(|b| crc32(b) == h.crc32)
        {
            Some(b) => head_bytes = b,
            None => return Err(damaged(h)),
        }
        recovered.push(v2::HEAD_ENTRY);
    }
    let head = head::Head::parse(&head_bytes)?;
    if blake3::hash(&public_bytes).as_bytes() != &head.public {
        return Err(Error::EntryHash {
            entry: v2::PUBLIC_ENTRY.into(),
            pinned_by: crate::Pin::Head,
        });
    }
    // One damaged byte of signatures is found by its CRC-32 and taken only
    // when every signature of a known algorithm then verifies.
    if crc32(&signatures_bytes) != s.crc32 {
        let verifies = |b: &[u8]| {
            head::parse_signatures(b).is_ok_and(|lines| {
                lines
                    .iter()
                    .all(|l| head::verify(l, &head_bytes) != Some(false))
                    && lines.iter().any(|l| head::verify(l, &head_bytes).is_some())
            })
        };
        if let Some(b) = recovery::correct_one_byte(&signatures_bytes, s.crc32, &verifies) {
            signatures_bytes = b;
            recovered.push(v2::SIGNATURES_ENTRY);
        }
    }
    let public = public::Public::parse(&public_bytes)?;
    if public.archive_id != head.archive_id {
        return Err(Error::ManifestMismatch {
            entry: v2::PUBLIC_ENTRY.into(),
            what: "names another archive id than the head".into(),
        });
    }
    // A damaged signatures entry does not stop the archive being read: the
    // signer just cannot be checked (check_signature says so).
    let signatures = if crc32(&signatures_bytes) != s.crc32 {
        Err("its CRC-32 differs from its headers".to_owned())
    } else {
        head::parse_signatures(&signatures_bytes).map_err(|e| e.to_string())
    };
    check_layout(&public, entries)?;
    let manifest = Manifest {
        format: "legation".into(),
        version: public.version.clone(),
        archive_id: public.archive_id,
        created: public.created.clone(),
        issuer: public.issuers.first().map(|i| Issuer {
            algorithm: i.algorithm.clone(),
            public_key: i.public_key,
        }),
        key_commitment: public.key_commitment,
        key_slots: public.key_slots.clone(),
        chunk_size: public.chunk_size,
        catalog: CatalogRef {
            index: v2::INDEX_ENTRY.into(),
            pages: public.catalog.pages,
        },
        decoders: public.decoders.clone(),
        entries: Vec::new(),
    };
    Ok((
        Opened {
            head_bytes,
            head,
            signatures_bytes,
            signatures,
            public,
            table: OnceLock::new(),
            recovered,
            table_recovered: Default::default(),
        },
        manifest,
    ))
}

/// The entries `public.json` counts are there, named in order: bundles
/// `b/0…` and pages `c/0…` one after another, the index after them, and
/// every listed decoder (whose bytes the entry table pins).
pub(crate) fn check_layout(public: &public::Public, entries: &[Entry]) -> Result<()> {
    let mismatch = |entry: &str, what: String| Error::ManifestMismatch {
        entry: entry.into(),
        what,
    };
    let count = |prefix: &str| {
        entries
            .iter()
            .filter(|e| e.name.starts_with(prefix) && e.name != v2::INDEX_ENTRY)
            .count() as u64
    };
    let (bundles, pages) = (count("b/"), count("c/"));
    if bundles != public.bundles {
        return Err(mismatch(
            v2::PUBLIC_ENTRY,
            format!(
                "counts {} bundles, the container holds {bundles}",
                public.bundles
            ),
        ));
    }
    if pages != public.catalog.pages {
        return Err(mismatch(
            v2::PUBLIC_ENTRY,
            format!(
                "counts {} catalog pages, the container holds {pages}",
                public.catalog.pages
            ),
        ));
    }
    let Some(first) = entries
        .iter()
        .position(|e| e.name.starts_with("b/"))
        .or_else(|| entries.iter().position(|e| e.name.starts_with("c/")))
        // A generation of a series may hold neither (SPEC §33.1).
        .or_else(|| entries.iter().position(|e| e.name == v2::INDEX_ENTRY))
    else {
        return Err(Error::MissingEntry {
            entry: v2::INDEX_ENTRY.into(),
        });
    };
    // Then the recovery data (SPEC 2.0 §25.1): R parity entries over the
    // pages and the index, the pieces' values (`outboard`, §25.2) and the
    // recovery entry, right before `entries`.
    let stripes = (pages + 1).div_ceil(recovery::STRIPE as u64);
    if count(recovery::PARITY_PREFIX) != stripes {
        return Err(mismatch(
            v2::ENTRIES_ENTRY,
            format!(
                "{pages} catalog pages need {stripes} parity entries, the container holds {}",
                count(recovery::PARITY_PREFIX)
            ),
        ));
    }
    let expected = (0..bundles)
        .map(v2::bundle_entry)
        .chain((0..pages).map(v2::page_entry))
        .chain(std::iter::once(v2::INDEX_ENTRY.to_owned()))
        .chain((0..stripes).map(recovery::parity_entry))
        .chain(std::iter::once(v2::outboard::OUTBOARD_ENTRY.to_owned()))
        .chain(std::iter::once(recovery::TAIL_ENTRY.to_owned()))
        .chain(std::iter::once(table::TREE_ENTRY.to_owned()))
        .chain(std::iter::once(v2::ENTRIES_ENTRY.to_owned()));
    for (k, want) in expected.enumerate() {
        match entries.get(first + k) {
            Some(e) if e.name == want => {}
            Some(e) => {
                return Err(mismatch(
                    &e.name,
                    format!(
                        "stands where {want} belongs (bundles, pages, c/index, parity, \
                         outboard, recovery, entries-tree, then entries)"
                    ),
                ))
            }
            None => return Err(Error::MissingEntry { entry: want }),
        }
    }
    // Every d/ entry is a decoder public.json names: an unlisted one would
    // be bytes no structure accounts for (SPEC 2.0 §20.2). Looked up by
    // name both ways (tens of thousands of decoders fit public.json).
    let listed: std::collections::HashSet<&str> =
        public.decoders.iter().map(|d| d.entry.as_str()).collect();
    let held: std::collections::HashSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for e in entries.iter().filter(|e| {
        e.name
            .starts_with(legation_format::manifest::DECODER_PREFIX)
    }) {
        if !listed.contains(e.name.as_str()) {
            return Err(mismatch(
                &e.name,
                "decoder entry not named in public.json's decoders".into(),
            ));
        }
    }
    for d in &public.decoders {
        if !held.contains(d.entry.as_str()) {
            return Err(mismatch(
                &d.entry,
                "decoder listed in public.json but not in the container".into(),
            ));
        }
    }
    Ok(())
}

impl Opened {
    /// Who signed the head, under the same rules as 1.x's manifest
    /// signature: every issuer `public.json` names must have signed the
    /// head with a valid signature, and no one else; with `pinned`, that
    /// key must be among them.
    pub(crate) fn check_signature(&self, pinned: Option<&[u8; 32]>) -> Result<Signer> {
        let sigs = self
            .signatures
            .as_ref()
            .map_err(|what| Error::SignatureDamaged { what: what.clone() })?;
        signer_of(&self.public, &self.head_bytes, sigs, pinned)
    }

    /// The entry table (in the 1.x manifest's shape), read, checked
    /// against the head and the container, and parsed the first time it is
    /// needed.
    pub(crate) fn table(&self, source: &dyn ReadAt, entries: &[Entry]) -> Result<&[ManifestEntry]> {
        if let Some(t) = self.table.get() {
            return Ok(&t.0);
        }
        let (rows, recovered) = read_table_recovering(source, entries, &self.head)?;
        if recovered {
            self.table_recovered
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(&self.table.get_or_init(|| rows).0)
    }

    /// The CRC-32 the tree entry must have, once the table is read.
    pub(crate) fn tree_crc(&self) -> Option<u32> {
        self.table.get().map(|t| t.2)
    }

    /// Whether some public entry's stored bytes were damaged and put right
    /// from the archive's recovery data (the entry table once it is read).
    pub(crate) fn any_recovered(&self) -> bool {
        !self.recovered.is_empty()
            || self
                .table_recovered
                .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The BLAKE3 an entry must have: from the entry table for the entries
    /// before its tree, of the tree's bytes as the table gives them for
    /// `entries-tree` (once the table is read), from the head for
    /// `entries` and `public.json`, of the bytes opening read for `head`;
    /// none for `signatures` (its own check covers it). With what pins
    /// it, for the error.
    pub(crate) fn expected_hash(
        &self,
        rows: &[ManifestEntry],
        entries: &[Entry],
        i: usize,
    ) -> Option<([u8; 32], crate::Pin)> {
        use crate::Pin;
        let n = entries.len();
        match i {
            _ if i < rows.len() => Some((rows[i].blake3, Pin::EntryTable)),
            _ if i + 5 == n => self.table.get().map(|t| (t.1, Pin::EntryTable)),
            _ if i + 4 == n => Some((self.head.entries, Pin::Head)),
            _ if i + 3 == n => Some((self.head.public, Pin::Head)),
            _ if i + 2 == n => Some((*blake3::hash(&self.head_bytes).as_bytes(), Pin::Opened)),
            // signatures: its own check covers it, unless opening put it
            // right; then the stored bytes are compared with those taken.
            _ if i + 1 == n && self.recovered.contains(&v2::SIGNATURES_ENTRY) => Some((
                *blake3::hash(&self.signatures_bytes).as_bytes(),
                Pin::Opened,
            )),
            _ => None,
        }
    }
}

/// Who signed `head_bytes`, under the same rules as 1.x's manifest
/// signature: every issuer `public` names must have signed the head with
/// a valid signature, and no one else; with `pinned`, that key must be
/// among them.
pub(crate) fn signer_of(
    public: &public::Public,
    head_bytes: &[u8],
    sigs: &[head::SignatureLine],
    pinned: Option<&[u8; 32]>,
) -> Result<Signer> {
    let issuers = &public.issuers;
    // Every line of a known algorithm (Ed25519, and 2.2's ML-DSA-65)
    // verifies and is an issuer's, and every such issuer has one (lines
    // of algorithms this reader does not know are skipped, as are such
    // issuers: `Issuers` keeps none).
    let mut signed = 0usize;
    for line in sigs {
        match head::verify(line, head_bytes) {
            None => continue,
            Some(false) => return Err(Error::BadSignature),
            Some(true) => {}
        }
        if !issuers
            .all()
            .any(|(a, k)| a == line.algorithm && k == &line.public_key[..])
        {
            return Err(Error::BadSignature);
        }
        signed += 1;
    }
    // Lines are unique by algorithm and key (the parser refuses a
    // repeat), so equal counts mean every issuer signed: an ML-DSA-65
    // line stripped from a hybrid archive fails here.
    if signed != issuers.all().count() {
        return Err(Error::BadSignature);
    }
    let fingerprint = legation_format::crypto::fingerprint;
    let Some(first) = issuers.first().map(|i| i.public_key) else {
        return match pinned {
            Some(p) => Err(Error::Unsigned {
                expected: fingerprint(p),
            }),
            None if issuers.none() => Ok(Signer::Unsigned),
            // Only ML-DSA-65 issuers: 2.2 writes none such; nothing to pin.
            None => Err(Error::BadSignature),
        };
    };
    let shown = pqsig::signer_fingerprint(issuers.all()).unwrap_or_else(|| fingerprint(&first));
    let Some(p) = pinned else {
        return Ok(Signer::Valid {
            public_key: first,
            fingerprint: shown,
        });
    };
    // An Ed25519 pin is met by its key; a hybrid pin (SPEC §27.4) by an
    // Ed25519 issuer and an ML-DSA-65 issuer whose id it is, never by an
    // Ed25519 key alone (an id is no point).
    let met_by = issuers.iter().map(|i| i.public_key).find(|e| {
        e == p
            || issuers
                .ml_dsa_65
                .iter()
                .any(|m| pqsig::hybrid_id(e, m) == *p)
    });
    match met_by {
        Some(e) => Ok(Signer::Valid {
            public_key: e,
            fingerprint: fingerprint(p),
        }),
        None => Err(Error::WrongIssuer {
            expected: fingerprint(p),
            found: shown,
        }),
    }
}

/// The recovery entry, when the archive has one where SPEC 2.0 §25.1 puts
/// it (right before `entries`) and it reads and parses.
fn read_tail_recovery(source: &dyn ReadAt, entries: &[Entry]) -> Option<TailRecovery> {
    let e = entries.len().checked_sub(6).map(|i| &entries[i])?;
    if e.name != recovery::TAIL_ENTRY || e.size > recovery::MAX_TAIL {
        return None;
    }
    let mut b = vec![0u8; usize::try_from(e.size).ok()?];
    source.read_exact_at(e.data_offset(), &mut b).ok()?;
    TailRecovery::parse(&b)
}

/// The entry table the archive's recovery data gives: the copied rows and
/// the recovery entry's own row, from the container and its bytes.
fn entry_table_from(source: &dyn ReadAt, entries: &[Entry], rec: &TailRecovery) -> Option<Vec<u8>> {
    let e = entries.len().checked_sub(6).map(|i| &entries[i])?;
    let mut b = vec![0u8; usize::try_from(e.size).ok()?];
    source.read_exact_at(e.data_offset(), &mut b).ok()?;
    Some(rec.entries_with(e.size, e.crc32, blake3::hash(&b).as_bytes()))
}

/// [`read_table`], putting a damaged table right from the recovery entry
/// (taken when it has the head's hash); whether it did.
pub(crate) fn read_table_recovering(
    source: &dyn ReadAt,
    entries: &[Entry],
    head: &head::Head,
) -> Result<(Table, bool)> {
    match read_table(source, entries, head) {
        Err(Error::EntryHash { entry, pinned_by }) => {
            let fixed = read_tail_recovery(source, entries)
                .and_then(|r| entry_table_from(source, entries, &r))
                .filter(|t| blake3::hash(t).as_bytes() == &head.entries);
            match fixed {
                Some(t) => Ok((check_table(&t, entries)?, true)),
                None => Err(Error::EntryHash { entry, pinned_by }),
            }
        }
        other => other.map(|rows| (rows, false)),
    }
}

/// Reads `entries` (bounded), checks it against the head's hash, parses it
/// and checks that its rows list every entry before its tree, in order,
/// with their sizes and CRC-32s; the rows and the BLAKE3 the tree's bytes
/// must have.
pub(crate) fn read_table(
    source: &dyn ReadAt,
    entries: &[Entry],
    head: &head::Head,
) -> Result<Table> {
    let n = entries.len();
    let e = &entries[n - 4];
    if e.size > MAX_ENTRIES {
        return Err(Error::TooLarge {
            entry: e.name.clone(),
            size: e.size,
            limit: MAX_ENTRIES,
        });
    }
    let mut b = vec![0u8; e.size as usize];
    source
        .read_exact_at(e.data_offset(), &mut b)
        .map_err(|err| Error::Source {
            what: e.name.clone(),
            source_name: source.name().into(),
            source: err,
        })?;
    if blake3::hash(&b).as_bytes() != &head.entries {
        return Err(Error::EntryHash {
            entry: e.name.clone(),
            pinned_by: crate::Pin::Head,
        });
    }
    check_table(&b, entries)
}

/// Parses an entry table the head pins and checks its rows against the
/// container: every entry before its tree (`entries-tree`, SPEC 2.0
/// §25.3), in order, with its size and CRC-32. The rows and the BLAKE3
/// the tree entry must have (the full audit compares its bytes).
fn check_table(b: &[u8], entries: &[Entry]) -> Result<Table> {
    let n = entries.len();
    let e = &entries[n - 4];
    let rows: Vec<ManifestEntry> = table::parse(b)?
        .into_iter()
        .map(|r| ManifestEntry {
            name: r.name,
            size: r.size,
            crc32: r.crc32,
            blake3: r.blake3,
        })
        .collect();
    let listed = &entries[..n.saturating_sub(5)];
    if rows.len() != listed.len() {
        return Err(Error::ManifestMismatch {
            entry: e.name.clone(),
            what: format!(
                "lists {} entries but {} precede it in the container",
                rows.len(),
                listed.len()
            ),
        });
    }
    // A row that does not describe its entry is the table's fault (SPEC
    // 2.0: a fixity failure naming `entries`).
    for (c, r) in listed.iter().zip(&rows) {
        if c.name != r.name {
            return Err(Error::ManifestMismatch {
                entry: e.name.clone(),
                what: format!("lists {:?} where the container holds {:?}", r.name, c.name),
            });
        }
        if c.size != r.size || c.crc32 != r.crc32 {
            return Err(Error::ManifestMismatch {
                entry: e.name.clone(),
                what: format!(
                    "size and CRC-32 of entry {}: the container says {} bytes with CRC {:08x}, \
                     the entry table {} bytes with CRC {:08x}",
                    c.name, c.size, c.crc32, r.size, r.crc32
                ),
            });
        }
    }
    // A decoder is named after its BLAKE3 (as in 1.x), which only the
    // table pins.
    for r in rows.iter().filter(|r| {
        r.name
            .starts_with(legation_format::manifest::DECODER_PREFIX)
    }) {
        if legation_format::manifest::decoder_entry(&r.blake3) != r.name {
            return Err(Error::ManifestMismatch {
                entry: r.name.clone(),
                what: "decoder entry is not named after its BLAKE3".into(),
            });
        }
    }
    // The tree is checked in the pass, by this hash (a damaged tree
    // leaves the rows good for every other entry).
    let tree = table::tree_bytes(b);
    Ok((rows, *blake3::hash(&tree).as_bytes(), crc32(&tree)))
}

fn crc32(b: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(b);
    h.finalize()
}
