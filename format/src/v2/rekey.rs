//! Re-keying a 2.0 archive without re-encrypting it (SPEC §35, format 2.1).
//!
//! The key slots are in `public.json`, and what depends on `public.json`
//! is only the end of the file: `recovery` (which copies it and the head),
//! `entries-tree` and `entries` (which list `recovery`), `head` (which
//! hashes `public.json` and `entries`), `signatures`, the central directory
//! and the end records. Everything before `recovery` (the decoders, the
//! bundles, the pages, `c/index`, the parity entries and `outboard`)
//! stays byte for byte: the data key and the archive id do not change, so
//! no stream key does.
//!
//! [`rekey_tail`] takes the old tail's bytes and gives the new one: the
//! same records under new key slots, as generation `s + 1` of the series
//! (its `previous` the old generation's chain hash), so that a reader that
//! meets both copies sees a later generation, not a fork (SPEC §33.6). It
//! does no I/O: the caller copies the prefix (or keeps it, in place) and
//! writes the bytes it returns.

use crate::container::{self, Entry};
use crate::crypto::{DataKey, KeySlot};
use crate::keys::IssuerKey;
use crate::recovery;
use crate::v2::head::{self, Head};
use crate::v2::outboard::OUTBOARD_ENTRY;
use crate::v2::{entries, public, ENTRIES_ENTRY, HEAD_ENTRY, PUBLIC_ENTRY, SIGNATURES_ENTRY};
use crate::{Error, Result};

/// The names of the last seven entries of a 2.0 archive, in order: what
/// re-keying keeps the first of and rewrites the rest of.
pub const TAIL_NAMES: [&str; 7] = [
    OUTBOARD_ENTRY,
    recovery::TAIL_ENTRY,
    entries::TREE_ENTRY,
    ENTRIES_ENTRY,
    PUBLIC_ENTRY,
    HEAD_ENTRY,
    SIGNATURES_ENTRY,
];

/// The old archive's tail as read from its file.
#[derive(Debug, Clone, Copy)]
pub struct OldTail<'a> {
    /// The central directory's entries, in order.
    pub entries: &'a [Entry],
    /// The stored bytes of `entries` (the entry table).
    pub table: &'a [u8],
    /// The stored bytes of `public.json`.
    pub public: &'a [u8],
    /// The stored bytes of `head`.
    pub head: &'a [u8],
    /// The stored bytes of `signatures`.
    pub signatures: &'a [u8],
}

/// How the key slots change.
#[derive(Debug, Default)]
pub struct SlotEdit {
    /// Positions (from 0, as `info` numbers them from 1) of the slots to
    /// drop.
    pub remove: Vec<usize>,
    /// Drop every old slot (the new ones alone open the archive).
    pub replace: bool,
    /// Slots to add after the kept ones, made for this archive's id and
    /// data key ([`crate::crypto::x25519_slot`] and its kin).
    pub add: Vec<KeySlot>,
}

/// The new tail.
#[derive(Debug, Clone)]
pub struct NewTail {
    /// Where it starts in the file: the local header of `recovery`. Every
    /// byte before it is the old file's.
    pub offset: u64,
    /// Its bytes, from `recovery`'s local header to the end of the file.
    pub bytes: Vec<u8>,
    /// How many of the last bytes are the end records (written last when
    /// in place).
    pub end_records: usize,
    /// The new `public.json`.
    pub public: Vec<u8>,
    /// The new head.
    pub head: Head,
    /// The new head's bytes.
    pub head_bytes: Vec<u8>,
    /// The new signatures' bytes.
    pub signatures: Vec<u8>,
    /// How many key slots the new archive has.
    pub slots: usize,
    /// The `events` entry rewritten where it stands (format 2.1, its
    /// re-keying event appended): the offset of its local header and the
    /// header and bytes to write there. The only bytes before
    /// [`NewTail::offset`] that change.
    pub events: Option<(u64, Vec<u8>)>,
}

fn bad(entry: &str, what: impl Into<String>) -> Error {
    Error::invalid(entry, what)
}

/// Builds the tail of the re-keyed archive: generation `s + 1` of the old
/// one's series, created at `created` (or the old head's time if later),
/// with the old key slots less `edit.remove` (or none, with
/// `edit.replace`) and then `edit.add`, signed by `signers`. `events`, when
/// given, are the new bytes of the `events` entry (of its old size:
/// [`crate::v2::events::append_in_place`]), which it replaces where it
/// stands.
///
/// Refuses, naming the entry: a tail whose entries are not those of SPEC
/// §20.1 in order; an entry table, `public.json` or head that does not
/// parse or whose hash is not the head's; a table whose rows do not match
/// the central directory; a dependent generation file (its index names
/// its own generation: `legation compact` first); a data key other than
/// the archive's; `signers` other than exactly the `ed25519` issuers, or
/// an issuer of another algorithm (its signature could not be made); a
/// slot position out of range; no slot left; more `argon2id` slots than
/// a reader tries.
pub fn rekey_tail(
    old: OldTail<'_>,
    data_key: &DataKey,
    edit: &SlotEdit,
    created: i64,
    signers: &[IssuerKey],
    events: Option<&[u8]>,
) -> Result<NewTail> {
    let n = old.entries.len();
    if n < TAIL_NAMES.len()
        || old.entries[n - TAIL_NAMES.len()..]
            .iter()
            .zip(TAIL_NAMES)
            .any(|(e, name)| e.name != name)
    {
        return Err(bad(
            "archive",
            format!(
                "its last entries are not {} (SPEC §20.1)",
                TAIL_NAMES.join(", ")
            ),
        ));
    }
    let head_old = Head::parse(old.head)?;
    if *blake3::hash(old.table).as_bytes() != head_old.entries {
        return Err(bad(ENTRIES_ENTRY, "its BLAKE3 is not the head's"));
    }
    if *blake3::hash(old.public).as_bytes() != head_old.public {
        return Err(bad(PUBLIC_ENTRY, "its BLAKE3 is not the head's"));
    }
    let facts = public::Public::parse(old.public)?;
    if facts.archive_id != head_old.archive_id {
        return Err(bad(PUBLIC_ENTRY, "its archive id is not the head's"));
    }
    if facts.series.is_some() {
        return Err(bad(
            PUBLIC_ENTRY,
            "a dependent generation file (its index names its own generation): re-key a \
             self-contained file (`legation compact` writes one)",
        ));
    }
    if data_key.commitment(&facts.archive_id) != facts.key_commitment {
        return Err(bad(
            PUBLIC_ENTRY,
            "the data key given is not the archive's (its commitment differs)",
        ));
    }
    check_signers(old.public, &facts, signers)?;
    // The rows of every entry before `entries-tree`, `recovery` last.
    let rows = entries::parse(old.table)?;
    let listed = n - 5;
    if rows.len() != listed {
        return Err(bad(
            ENTRIES_ENTRY,
            format!("{} rows for {listed} entries", rows.len()),
        ));
    }
    for (i, (r, e)) in rows.iter().zip(old.entries).enumerate() {
        if r.name != e.name || r.size != e.size || r.crc32 != e.crc32 {
            return Err(bad(
                ENTRIES_ENTRY,
                format!(
                    "row {} ({}) does not match the central directory",
                    i + 1,
                    r.name
                ),
            ));
        }
    }
    let (public_new, slots) = with_slots(old.public, &facts, edit)?;
    let mut rows = rows;
    let mut prefix: Vec<Entry> = old.entries[..listed - 1].to_vec();
    let events = match events {
        None => None,
        Some(bytes) => {
            let name = crate::v2::events::EVENTS_ENTRY;
            let i = prefix
                .iter()
                .position(|e| e.name == name)
                .ok_or_else(|| bad(name, "the archive has no event log to append to"))?;
            if prefix[i].size != bytes.len() as u64 {
                return Err(bad(
                    name,
                    format!(
                        "{} bytes where the entry holds {}: a log is rewritten at its size",
                        bytes.len(),
                        prefix[i].size
                    ),
                ));
            }
            let crc32 = crc32fast::hash(bytes);
            prefix[i].crc32 = crc32;
            rows[i].crc32 = crc32;
            rows[i].blake3 = *blake3::hash(bytes).as_bytes();
            let mut at = container::local_header(name, bytes.len() as u64, crc32);
            at.extend_from_slice(bytes);
            Some((prefix[i].offset, at))
        }
    };
    let mut head_new = Head {
        sequence: head_old
            .sequence
            .checked_add(1)
            .ok_or_else(|| bad(HEAD_ENTRY, "the sequence is at its largest"))?,
        previous: head::chain_hash(old.head, old.signatures),
        created: created.max(head_old.created),
        entries: [0; 32],
        public: *blake3::hash(&public_new).as_bytes(),
        ..head_old
    };
    let kept = &prefix;
    let kept_rows = entries::to_bytes(&rows[..listed - 1]);
    let rec = recovery::TailRecovery {
        public: public_new.clone(),
        rows: kept_rows.clone(),
        head: head_new.to_bytes(),
    }
    .to_bytes();
    let mut table = kept_rows;
    table.extend_from_slice(&entries::to_bytes(&[entries::Row {
        name: recovery::TAIL_ENTRY.into(),
        size: rec.len() as u64,
        crc32: crc32fast::hash(&rec),
        blake3: *blake3::hash(&rec).as_bytes(),
    }]));
    if table.len() > entries::MAX_ENTRIES_BYTES {
        return Err(bad(ENTRIES_ENTRY, "the new table would be over 64 MiB"));
    }
    head_new.entries = *blake3::hash(&table).as_bytes();
    let head_bytes = head_new.to_bytes();
    let mut lines = Vec::new();
    for k in signers {
        lines.extend(head::sign_lines(k, &head_bytes)?);
    }
    let signatures = head::signatures_to_bytes(&lines);
    let offset = old.entries[listed - 1].offset;
    let mut tail = Tail {
        bytes: Vec::new(),
        at: offset,
        written: Vec::new(),
    };
    tail.entry(recovery::TAIL_ENTRY, &rec);
    tail.entry(entries::TREE_ENTRY, &entries::tree_bytes(&table));
    tail.entry(ENTRIES_ENTRY, &table);
    tail.entry(PUBLIC_ENTRY, &public_new);
    tail.entry(HEAD_ENTRY, &head_bytes);
    tail.entry(SIGNATURES_ENTRY, &signatures);
    let cd_offset = tail.at;
    let mut cd_size = 0u64;
    let mut h = Vec::new();
    for e in kept.iter().chain(&tail.written) {
        container::central_header_into(e, &mut h);
        tail.bytes.extend_from_slice(&h);
        cd_size += h.len() as u64;
    }
    let end = container::end_records(n as u64, cd_offset, cd_size);
    tail.bytes.extend_from_slice(&end);
    Ok(NewTail {
        offset,
        bytes: tail.bytes,
        end_records: end.len(),
        public: public_new,
        head: head_new,
        head_bytes,
        signatures,
        slots,
        events,
    })
}

/// [`rekey_tail`] over a whole archive in memory (test vectors, tools):
/// the re-keyed file's bytes, the old file's up to the new tail. The event
/// log, if the archive has one, is left as it is.
pub fn rekey_file(
    file: &[u8],
    data_key: &DataKey,
    edit: &SlotEdit,
    created: i64,
    signers: &[IssuerKey],
) -> Result<Vec<u8>> {
    let from = file.len().saturating_sub(container::TAIL_LEN);
    let dir = container::parse_end(&file[from..], file.len() as u64)?;
    let cd = usize::try_from(dir.offset)
        .ok()
        .zip(usize::try_from(dir.offset.saturating_add(dir.size)).ok())
        .and_then(|(a, b)| file.get(a..b))
        .ok_or_else(|| bad("archive", "its central directory is outside the file"))?;
    let entries = container::parse_directory(cd, &dir)?;
    let get = |name: &str| -> Result<&[u8]> {
        let e = entries
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| bad(name, "missing"))?;
        usize::try_from(e.data_offset())
            .ok()
            .zip(usize::try_from(e.end()).ok())
            .and_then(|(a, b)| file.get(a..b))
            .ok_or_else(|| bad(name, "outside the file"))
    };
    let old = OldTail {
        entries: &entries,
        table: get(ENTRIES_ENTRY)?,
        public: get(PUBLIC_ENTRY)?,
        head: get(HEAD_ENTRY)?,
        signatures: get(SIGNATURES_ENTRY)?,
    };
    let tail = rekey_tail(old, data_key, edit, created, signers, None)?;
    let mut out = file
        .get(..tail.offset as usize)
        .ok_or_else(|| bad("archive", "shorter than its entries"))?
        .to_vec();
    out.extend_from_slice(&tail.bytes);
    Ok(out)
}

/// Entries laid out from an offset, in memory.
struct Tail {
    bytes: Vec<u8>,
    at: u64,
    written: Vec<Entry>,
}

impl Tail {
    fn entry(&mut self, name: &str, data: &[u8]) {
        let crc32 = crc32fast::hash(data);
        let header = container::local_header(name, data.len() as u64, crc32);
        self.written.push(Entry {
            name: name.into(),
            size: data.len() as u64,
            crc32,
            offset: self.at,
        });
        self.bytes.extend_from_slice(&header);
        self.bytes.extend_from_slice(data);
        self.at += (header.len() + data.len()) as u64;
    }
}

/// Refuses signers other than exactly the archive's `ed25519` issuers,
/// and an archive with an issuer of another algorithm (re-keying would
/// leave it without its signature: SPEC §27.3 step 4 and §33.6's
/// "issuers changed").
fn check_signers(raw: &[u8], facts: &public::Public, signers: &[IssuerKey]) -> Result<()> {
    let v: serde_json::Value = serde_json::from_slice(raw).map_err(|e| Error::Json {
        entry: PUBLIC_ENTRY.into(),
        reason: e.to_string(),
    })?;
    let other = v
        .get("issuers")
        .and_then(|i| i.as_array())
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("algorithm").and_then(|a| a.as_str()))
        .find(|a| !crate::pqsig::known(a));
    if let Some(a) = other {
        return Err(bad(
            SIGNATURES_ENTRY,
            format!("an issuer signs with {a:?}, which this version cannot sign for"),
        ));
    }
    // Every half of every key: a hybrid issuer's ML-DSA-65 key too.
    let mut want: Vec<(&str, &[u8])> = facts.issuers.all().collect();
    let keys = public::Issuers::of_keys(signers);
    let mut have: Vec<(&str, &[u8])> = keys.all().collect();
    want.sort_unstable();
    have.sort_unstable();
    have.dedup();
    if want != have {
        let what = if want.is_empty() {
            "the archive is unsigned and a re-keyed generation keeps its issuers (none): sign \
             nothing"
                .to_string()
        } else {
            let fp: Vec<String> = want
                .iter()
                .map(|(a, k)| format!("{a} {}", crate::crypto::fingerprint_of(k)))
                .collect();
            format!(
                "a re-keyed generation is signed by exactly the archive's issuers ({}), each \
                 signing key given once",
                fp.join(", ")
            )
        };
        return Err(bad(SIGNATURES_ENTRY, what));
    }
    Ok(())
}

/// `public.json` with its `key_slots` replaced, every other byte as it
/// was (members this version does not know included); kept slots keep
/// their bytes (slots of types it does not know included).
pub(crate) fn with_slots(
    raw: &[u8],
    facts: &public::Public,
    edit: &SlotEdit,
) -> Result<(Vec<u8>, usize)> {
    let json = |what: &str| bad(PUBLIC_ENTRY, format!("{what} (while re-keying)"));
    let (start, end) =
        json_scan::member(raw, "key_slots").ok_or_else(|| json("no key_slots member found"))?;
    let items =
        json_scan::items(raw, start, end).ok_or_else(|| json("key_slots is not an array"))?;
    if items.len() != facts.key_slots.len() {
        return Err(json("key_slots items miscounted"));
    }
    if let Some(&p) = edit.remove.iter().find(|&&p| p >= items.len()) {
        return Err(bad(
            PUBLIC_ENTRY,
            format!(
                "there is no key slot {} (the archive has {})",
                p + 1,
                items.len()
            ),
        ));
    }
    let mut out_items: Vec<Vec<u8>> = Vec::new();
    let mut passphrases = 0usize;
    for (i, &(s, e)) in items.iter().enumerate() {
        if edit.replace || edit.remove.contains(&i) {
            continue;
        }
        out_items.push(raw[s..e].to_vec());
        passphrases += slot_passphrases(&facts.key_slots[i]);
    }
    for slot in &edit.add {
        out_items.push(serde_json::to_vec(slot).expect("plain data serializes"));
        passphrases += slot_passphrases(slot);
    }
    if out_items.is_empty() {
        return Err(bad(
            PUBLIC_ENTRY,
            "no key slot would be left: nobody could open the archive",
        ));
    }
    if passphrases > crate::crypto::kdf_bounds::MAX_PASSPHRASE_SLOTS {
        return Err(bad(
            PUBLIC_ENTRY,
            format!(
                "{passphrases} passphrases (quorum holders' too), more than the {} a reader tries",
                crate::crypto::kdf_bounds::MAX_PASSPHRASE_SLOTS
            ),
        ));
    }
    let mut doc = raw[..start].to_vec();
    doc.push(b'[');
    doc.extend_from_slice(&out_items.join(&b","[..]));
    doc.push(b']');
    doc.extend_from_slice(&raw[end..]);
    if doc.len() > public::MAX_PUBLIC_BYTES {
        return Err(bad(
            PUBLIC_ENTRY,
            format!(
                "{} bytes with the new slots, more than the {} a reader accepts",
                doc.len(),
                public::MAX_PUBLIC_BYTES
            ),
        ));
    }
    // What a reader will make of it: the document it parses, with the
    // slots it parses.
    let check = public::Public::parse(&doc)?;
    if check.key_slots.len() != out_items.len() {
        return Err(json("the new key_slots do not read back"));
    }
    Ok((doc, out_items.len()))
}

/// How many Argon2id runs a slot can ask of a reader.
fn slot_passphrases(slot: &KeySlot) -> usize {
    match slot {
        KeySlot::Passphrase { .. } => 1,
        KeySlot::Quorum(q) => q
            .shares
            .iter()
            .filter(|s| matches!(s.holder, crate::quorum::HolderSlot::Passphrase { .. }))
            .count(),
        _ => 0,
    }
}

/// Finding a member's value and an array's items in a JSON document that
/// already parsed, by byte ranges, so that the rest is kept as written.
mod json_scan {
    fn ws(b: &[u8], mut i: usize) -> usize {
        while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    /// The end of the string starting at `i` (a `"`).
    fn string(b: &[u8], mut i: usize) -> Option<usize> {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        i += 1;
        loop {
            match b.get(i)? {
                b'"' => return Some(i + 1),
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
    }

    /// The end of the value starting at `i`. Nesting is counted, not
    /// recursed into.
    fn value(b: &[u8], i: usize) -> Option<usize> {
        match *b.get(i)? {
            b'"' => string(b, i),
            b'{' | b'[' => {
                let (mut depth, mut j) = (0usize, i);
                loop {
                    match *b.get(j)? {
                        b'"' => j = string(b, j)?,
                        b'{' | b'[' => {
                            depth += 1;
                            j += 1;
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            j += 1;
                            if depth == 0 {
                                return Some(j);
                            }
                        }
                        _ => j += 1,
                    }
                }
            }
            _ => {
                let mut j = i;
                while !matches!(
                    b.get(j),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    j += 1;
                }
                (j > i).then_some(j)
            }
        }
    }

    /// The byte range of the value of the top-level member `name`.
    pub(super) fn member(b: &[u8], name: &str) -> Option<(usize, usize)> {
        let mut i = ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return None;
        }
        i = ws(b, i + 1);
        while b.get(i) == Some(&b'"') {
            let k = string(b, i)?;
            let key: String = serde_json::from_slice(&b[i..k]).ok()?;
            i = ws(b, k);
            if b.get(i) != Some(&b':') {
                return None;
            }
            let start = ws(b, i + 1);
            let end = value(b, start)?;
            if key == name {
                return Some((start, end));
            }
            i = ws(b, end);
            if b.get(i) == Some(&b',') {
                i = ws(b, i + 1);
            }
        }
        None
    }

    /// The byte ranges of the items of the array at `[start, end)`.
    pub(super) fn items(b: &[u8], start: usize, end: usize) -> Option<Vec<(usize, usize)>> {
        let b = b.get(..end)?;
        if b.get(start) != Some(&b'[') || b.last() != Some(&b']') {
            return None;
        }
        let mut out = Vec::new();
        let mut i = ws(b, start + 1);
        while i < end - 1 {
            let e = value(b, i)?;
            out.push((i, e));
            i = ws(b, e);
            if b.get(i) == Some(&b',') {
                i = ws(b, i + 1);
            }
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn members_and_items_are_found_by_their_bytes() {
            let doc = br#" { "a" : [1, {"x":"]\"}"} ,[2]] , "k\u0065y":-1.5e3,"z":{"b":[]} }"#;
            let (s, e) = super::member(doc, "a").unwrap();
            assert_eq!(&doc[s..e], br#"[1, {"x":"]\"}"} ,[2]]"#);
            let items = super::items(doc, s, e).unwrap();
            let got: Vec<&[u8]> = items.iter().map(|&(a, b)| &doc[a..b]).collect();
            assert_eq!(got, [&b"1"[..], br#"{"x":"]\"}"}"#, b"[2]"]);
            let (s, e) = super::member(doc, "key").unwrap();
            assert_eq!(&doc[s..e], b"-1.5e3");
            let (s, e) = super::member(doc, "z").unwrap();
            assert_eq!(&doc[s..e], br#"{"b":[]}"#);
            assert!(super::items(doc, s, e).is_none());
            assert_eq!(super::member(doc, "nope"), None);
            let (s, e) = super::member(b"{\"e\":[]}", "e").unwrap();
            assert_eq!(super::items(b"{\"e\":[]}", s, e).unwrap(), vec![]);
            // Truncated input gives None, not a panic.
            for cut in 0..doc.len() {
                let _ = super::member(&doc[..cut], "z");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{open_x25519_slot, x25519_slot};
    use crate::keys::Identity;
    use crate::v2::writer::ArchiveWriter;
    use crate::writer::{RecordMeta, RecordSource, WriterOptions};
    use rand_core::SeedableRng;

    fn copy(k: &IssuerKey) -> IssuerKey {
        IssuerKey::from_bytes(*k.secret())
    }

    fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(seed)
    }

    /// An archive of `n` records for `alice` and `bob`, signed by `issuer`
    /// when given.
    fn archive(n: usize, alice: &Identity, bob: &Identity, issuer: Option<&IssuerKey>) -> Vec<u8> {
        archive_logged(n, alice, bob, issuer, false)
    }

    /// [`archive`], with an event log when `logged`.
    fn archive_logged(
        n: usize,
        alice: &Identity,
        bob: &Identity,
        issuer: Option<&IssuerKey>,
        logged: bool,
    ) -> Vec<u8> {
        let opts = WriterOptions {
            created: 1_767_225_600,
            issuer: issuer.map(|k| IssuerKey::from_bytes(*k.secret())),
            recipients: vec![alice.public(), bob.public()],
            passphrases: vec![],
            embed_spec: false,
            viewer: None,
        };
        let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new()), opts, rng(7)).unwrap();
        if logged {
            w.log_events("test 1", Default::default(), Vec::new())
                .unwrap();
        }
        for i in 0..n {
            let meta = RecordMeta {
                path: format!("r/{i:06}"),
                media_type: "text/plain".into(),
                ..RecordMeta::default()
            };
            let body = format!("record {i} ").repeat(i % 50 + 1);
            w.add_record(meta, RecordSource::Bytes(body.as_bytes()))
                .unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn directory(file: &[u8]) -> Vec<Entry> {
        let from = file.len().saturating_sub(container::TAIL_LEN);
        let dir = container::parse_end(&file[from..], file.len() as u64).unwrap();
        let cd = &file[dir.offset as usize..(dir.offset + dir.size) as usize];
        container::parse_directory(cd, &dir).unwrap()
    }

    fn bytes<'a>(file: &'a [u8], entries: &[Entry], name: &str) -> &'a [u8] {
        let e = entries.iter().find(|e| e.name == name).unwrap();
        &file[e.data_offset() as usize..e.end() as usize]
    }

    fn old_tail<'a>(file: &'a [u8], entries: &'a [Entry]) -> OldTail<'a> {
        OldTail {
            entries,
            table: bytes(file, entries, ENTRIES_ENTRY),
            public: bytes(file, entries, PUBLIC_ENTRY),
            head: bytes(file, entries, HEAD_ENTRY),
            signatures: bytes(file, entries, SIGNATURES_ENTRY),
        }
    }

    struct Fixture {
        alice: Identity,
        bob: Identity,
        carol: Identity,
        issuer: IssuerKey,
        file: Vec<u8>,
        entries: Vec<Entry>,
        data_key: DataKey,
        id: [u8; 16],
    }

    fn fixture(n: usize) -> Fixture {
        let mut r = rng(1);
        let (alice, bob, carol) = (
            Identity::generate(&mut r),
            Identity::generate(&mut r),
            Identity::generate(&mut r),
        );
        let issuer = IssuerKey::generate(&mut r);
        let file = archive(n, &alice, &bob, Some(&issuer));
        let entries = directory(&file);
        let facts = public::Public::parse(bytes(&file, &entries, PUBLIC_ENTRY)).unwrap();
        let data_key =
            open_x25519_slot(&facts.key_slots[0], &facts.archive_id, alice.secret()).unwrap();
        Fixture {
            alice,
            bob,
            carol,
            issuer,
            file,
            entries,
            data_key,
            id: facts.archive_id,
        }
    }

    #[test]
    fn rekeyed_tail_keeps_the_prefix_and_is_a_next_generation_for_the_new_slots() {
        let f = fixture(5000);
        let carol_slot = x25519_slot(&f.data_key, &f.id, &f.carol.public(), &mut rng(2)).unwrap();
        let edit = SlotEdit {
            remove: vec![1],
            replace: false,
            add: vec![carol_slot],
        };
        let old = old_tail(&f.file, &f.entries);
        let t = rekey_tail(
            old,
            &f.data_key,
            &edit,
            1_800_000_000,
            &[copy(&f.issuer)],
            None,
        )
        .unwrap();
        // The bytes before `recovery` are the old file's.
        let recovery_at = f.entries[f.entries.len() - 6].offset;
        assert_eq!(t.offset, recovery_at);
        let mut new = f.file[..t.offset as usize].to_vec();
        new.extend_from_slice(&t.bytes);
        // The in-memory form gives the same file but for the new slot's
        // randomness and the signature: same length, same prefix.
        let whole = rekey_file(
            &f.file,
            &f.data_key,
            &SlotEdit {
                remove: vec![1],
                replace: false,
                add: vec![x25519_slot(&f.data_key, &f.id, &f.carol.public(), &mut rng(2)).unwrap()],
            },
            1_800_000_000,
            &[copy(&f.issuer)],
        )
        .unwrap();
        assert_eq!(whole, new);
        assert!(t.bytes.len() < 64 << 10, "{} bytes of tail", t.bytes.len());
        let entries = directory(&new);
        assert_eq!(entries.len(), f.entries.len());
        assert_eq!(
            entries[..entries.len() - 6],
            f.entries[..f.entries.len() - 6]
        );
        for (a, b) in entries.iter().zip(&f.entries) {
            assert_eq!(a.name, b.name);
        }
        // The head: the next generation, chained to the old one, hashing
        // the new public facts and table; the signature verifies.
        let head_bytes = bytes(&new, &entries, HEAD_ENTRY);
        let h = Head::parse(head_bytes).unwrap();
        let old_head = Head::parse(old.head).unwrap();
        assert_eq!(h.sequence, old_head.sequence + 1);
        assert_eq!(h.previous, head::chain_hash(old.head, old.signatures));
        assert_eq!(h.created, 1_800_000_000);
        assert_eq!(
            (h.records, h.bytes, h.records_root),
            (old_head.records, old_head.bytes, old_head.records_root)
        );
        let table = bytes(&new, &entries, ENTRIES_ENTRY);
        let public_new = bytes(&new, &entries, PUBLIC_ENTRY);
        assert_eq!(h.entries, *blake3::hash(table).as_bytes());
        assert_eq!(h.public, *blake3::hash(public_new).as_bytes());
        let sigs = head::parse_signatures(bytes(&new, &entries, SIGNATURES_ENTRY)).unwrap();
        assert_eq!(sigs.len(), 1);
        assert_eq!(head::verify(&sigs[0], head_bytes), Some(true));
        // Every row is its entry's, bytes and all; the tree is the table's.
        let rows = entries::parse(table).unwrap();
        assert_eq!(rows.len(), entries.len() - 5);
        for (r, e) in rows.iter().zip(&entries) {
            assert_eq!((&r.name, r.size, r.crc32), (&e.name, e.size, e.crc32));
            let b = &new[e.data_offset() as usize..e.end() as usize];
            assert_eq!(r.blake3, *blake3::hash(b).as_bytes(), "{}", r.name);
            assert_eq!(crc32fast::hash(b), e.crc32, "{}", r.name);
        }
        assert_eq!(
            bytes(&new, &entries, entries::TREE_ENTRY),
            entries::tree_bytes(table)
        );
        // The recovery entry holds the copies a reader puts the tail right
        // from.
        let rec =
            recovery::TailRecovery::parse(bytes(&new, &entries, recovery::TAIL_ENTRY)).unwrap();
        assert_eq!(rec.public, public_new);
        assert_eq!(
            rec.rows,
            table
                [..table.len() - entries::row_len(recovery::TAIL_ENTRY, rows.last().unwrap().size)]
        );
        assert_eq!(
            rec.head,
            Head {
                entries: [0; 32],
                ..h.clone()
            }
            .to_bytes()
        );
        // The slots: alice kept (byte for byte), bob removed, carol added;
        // every other member as it was.
        let facts = public::Public::parse(public_new).unwrap();
        let old_facts = public::Public::parse(old.public).unwrap();
        assert_eq!(facts.key_slots.len(), 2);
        assert_eq!(facts.key_slots[0], old_facts.key_slots[0]);
        let opens = |who: &Identity| {
            facts
                .key_slots
                .iter()
                .filter_map(|s| open_x25519_slot(s, &f.id, who.secret()))
                .map(|k| *k.as_bytes())
                .collect::<Vec<_>>()
        };
        assert_eq!(opens(&f.alice), vec![*f.data_key.as_bytes()]);
        assert_eq!(opens(&f.carol), vec![*f.data_key.as_bytes()]);
        assert!(opens(&f.bob).is_empty());
        assert_eq!(
            public::Public {
                key_slots: vec![],
                ..facts
            },
            public::Public {
                key_slots: vec![],
                ..old_facts
            }
        );
        // Re-keying the re-keyed file gives generation + 2.
        let t2 = rekey_tail(
            old_tail(&new, &entries),
            &f.data_key,
            &SlotEdit::default(),
            0,
            &[copy(&f.issuer)],
            None,
        )
        .unwrap();
        assert_eq!(t2.head.sequence, old_head.sequence + 2);
        assert_eq!(t2.head.created, 1_800_000_000);
    }

    #[test]
    fn what_cannot_be_rekeyed_is_refused_by_name() {
        let f = fixture(10);
        let old = old_tail(&f.file, &f.entries);
        let refused =
            |old: OldTail<'_>, key: &DataKey, edit: SlotEdit, signers: &[IssuerKey], says: &str| {
                let e = rekey_tail(old, key, &edit, 0, signers, None)
                    .unwrap_err()
                    .to_string();
                assert!(e.contains(says), "{says}: {e}");
            };
        let gov = [copy(&f.issuer)];
        let keep = SlotEdit::default;
        let removing = |remove: Vec<usize>| SlotEdit {
            remove,
            ..SlotEdit::default()
        };
        refused(
            old,
            &DataKey::from_bytes([9; 32]),
            keep(),
            &gov,
            "not the archive's",
        );
        refused(
            old,
            &f.data_key,
            keep(),
            &[],
            "exactly the archive's issuers",
        );
        let stranger = [IssuerKey::from_bytes([3; 32])];
        refused(
            old,
            &f.data_key,
            keep(),
            &stranger,
            "exactly the archive's issuers",
        );
        refused(old, &f.data_key, removing(vec![2]), &gov, "no key slot 3");
        refused(
            old,
            &f.data_key,
            removing(vec![0, 1]),
            &gov,
            "no key slot would be left",
        );
        let replace = SlotEdit {
            replace: true,
            ..SlotEdit::default()
        };
        refused(old, &f.data_key, replace, &gov, "no key slot would be left");
        // A table or public.json that is not the head's.
        let mut table = old.table.to_vec();
        table[0] ^= 1;
        let t = OldTail {
            table: &table,
            ..old
        };
        refused(
            t,
            &f.data_key,
            keep(),
            &gov,
            "entries: its BLAKE3 is not the head's",
        );
        let mut public = old.public.to_vec();
        public[3] ^= 1;
        let t = OldTail {
            public: &public,
            ..old
        };
        refused(
            t,
            &f.data_key,
            keep(),
            &gov,
            "public.json: its BLAKE3 is not the head's",
        );
        // Entries out of place.
        let mut entries = f.entries.clone();
        let n = entries.len();
        entries.swap(n - 2, n - 3);
        let t = OldTail {
            entries: &entries,
            ..old
        };
        refused(t, &f.data_key, keep(), &gov, "last entries are not");
        // An event log where the archive has none.
        let e = rekey_tail(old, &f.data_key, &keep(), 0, &gov, Some(b"x"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no event log"), "{e}");
    }

    #[test]
    fn an_unsigned_archive_stays_unsigned_and_unknown_members_and_slots_are_kept() {
        let mut r = rng(4);
        let (alice, bob) = (Identity::generate(&mut r), Identity::generate(&mut r));
        let file = archive(3, &alice, &bob, None);
        let entries = directory(&file);
        let old = old_tail(&file, &entries);
        let facts = public::Public::parse(old.public).unwrap();
        let data_key =
            open_x25519_slot(&facts.key_slots[0], &facts.archive_id, alice.secret()).unwrap();
        let e = rekey_tail(
            old,
            &data_key,
            &SlotEdit::default(),
            0,
            &[IssuerKey::from_bytes([5; 32])],
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unsigned"), "{e}");
        // A public.json of a later minor version: an unknown member and an
        // unknown slot type are carried as written.
        let text = std::str::from_utf8(old.public).unwrap();
        let later = text
            .replacen(
                "\"key_slots\":[",
                "\"key_slots\":[{\"type\":\"future\",\"x\":[1,{\"y\":\"]\"}]},",
                1,
            )
            .replacen("\"bundles\":", "\"later\":{\"a\":[true]},\"bundles\":", 1);
        let later = later.as_bytes();
        let mut head = Head::parse(old.head).unwrap();
        head.public = *blake3::hash(later).as_bytes();
        let head = head.to_bytes();
        let t = rekey_tail(
            OldTail {
                public: later,
                head: &head,
                ..old
            },
            &data_key,
            &SlotEdit {
                remove: vec![2],
                ..SlotEdit::default()
            },
            0,
            &[],
            None,
        )
        .unwrap();
        let out = std::str::from_utf8(&t.public).unwrap();
        assert!(
            out.contains(
                "\"key_slots\":[{\"type\":\"future\",\"x\":[1,{\"y\":\"]\"}]},{\"type\":\"x25519\""
            ),
            "{out}"
        );
        assert!(out.contains("\"later\":{\"a\":[true]}"), "{out}");
        assert_eq!(t.slots, 2);
        assert!(t.signatures.is_empty());
    }

    #[test]
    fn the_event_log_is_rewritten_where_it_stands_with_the_rekeying() {
        use crate::v2::events;
        let mut r = rng(5);
        let (alice, bob) = (Identity::generate(&mut r), Identity::generate(&mut r));
        let issuer = IssuerKey::generate(&mut r);
        let file = archive_logged(20, &alice, &bob, Some(&issuer), true);
        let entries = directory(&file);
        let old = old_tail(&file, &entries);
        let facts = public::Public::parse(old.public).unwrap();
        let id = facts.archive_id;
        let data_key = open_x25519_slot(&facts.key_slots[0], &id, alice.secret()).unwrap();
        let log = bytes(&file, &entries, events::EVENTS_ENTRY);
        let common = events::Common {
            generation: 1,
            time: 1_800_000_000,
            issuer: Some(issuer.public()),
            tool: "test 1".into(),
        };
        let event = events::rekeying(&common, "slots".into(), Default::default());
        let new_log =
            events::append_in_place(log, &data_key, &id, event.clone(), &mut rng(6)).unwrap();
        let t = rekey_tail(
            old,
            &data_key,
            &SlotEdit::default(),
            1_800_000_000,
            &[copy(&issuer)],
            Some(&new_log),
        )
        .unwrap();
        let (at, patch) = t.events.clone().unwrap();
        let mut new = file[..t.offset as usize].to_vec();
        new.extend_from_slice(&t.bytes);
        new[at as usize..at as usize + patch.len()].copy_from_slice(&patch);
        let entries_new = directory(&new);
        // The log, its local header and its central directory entry
        // changed; its row pins its new bytes; nothing else before the
        // tail changed.
        let stored = bytes(&new, &entries_new, events::EVENTS_ENTRY);
        assert_eq!(stored, &new_log[..]);
        let e = entries_new
            .iter()
            .find(|e| e.name == events::EVENTS_ENTRY)
            .unwrap();
        assert_eq!(e.crc32, crc32fast::hash(&new_log));
        let header = &new[e.offset as usize..e.data_offset() as usize];
        assert_eq!(header, container::local_header(&e.name, e.size, e.crc32));
        let rows = entries::parse(bytes(&new, &entries_new, ENTRIES_ENTRY)).unwrap();
        let row = rows
            .iter()
            .find(|r| r.name == events::EVENTS_ENTRY)
            .unwrap();
        assert_eq!(row.blake3, *blake3::hash(&new_log).as_bytes());
        let differ: Vec<usize> = (0..t.offset as usize)
            .filter(|&i| file[i] != new[i])
            .collect();
        assert!(differ
            .iter()
            .all(|&i| i >= at as usize && i < at as usize + patch.len()));
        let read = events::Log::open(stored, &data_key, &id).unwrap();
        assert_eq!(read.events.last(), Some(&event));
        // A log of another size is refused.
        let e = rekey_tail(
            old,
            &data_key,
            &SlotEdit::default(),
            0,
            &[copy(&issuer)],
            Some(&new_log[1..]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("rewritten at its size"), "{e}");
    }
}
