//! The format 2.0 vectors (SPEC §18, §19 to §30): good archives of each
//! kind, good proofs, and one damaged or forged case for each structure.
//!
//! Damage a host could do flips or moves bytes; forgeries are made by a key
//! holder who can sign ([`Sample2::reseal`]): they rewrite sealed
//! structures with the data key, then the entry table, the head and the
//! signatures, so that only the content check (or a proof check) can catch
//! the lie.

use std::collections::BTreeMap;
use std::io::Cursor;

use legation_format::crypto::{self, DataKey, KeySlot, StreamId};
use legation_format::hex;
use legation_format::keys::IssuerKey;
use legation_format::quorum::{Holder, Policy};
use legation_format::v2::head::{self, Head};
use legation_format::v2::index::{BundleRef, Index};
use legation_format::v2::outboard::{self, OUTBOARD_ENTRY};
use legation_format::v2::page::{self, Record};
use legation_format::v2::proof::Proof;
use legation_format::v2::public::Public;
use legation_format::v2::writer::ArchiveWriter;
use legation_format::v2::{
    bundle_entry, entries, page_entry, tree, ENTRIES_ENTRY, HEAD_ENTRY, INDEX_ENTRY, PUBLIC_ENTRY,
    SIGNATURES_ENTRY,
};
use legation_format::writer::{RecordMeta, RecordSource, WriterOptions};
use rand_core::SeedableRng;
use zeroize::Zeroizing;

use super::{Finding, Outcome, Refusal, Vector};
use crate::raw::Raw;
use crate::{identity, issuer, other_issuer, sample_records, CHEAP_KDF, CREATED, PASSPHRASE};

/// Every 2.0 vector (deterministic).
pub fn all() -> Vec<Vector> {
    let s = Sample2::new(&V2 {
        seed: 21,
        ..V2::default()
    });
    let two_pages = Sample2::new(&V2 {
        seed: 22,
        records: false,
        tiny: 4097,
        ..V2::default()
    });
    let mut v = Vec::new();
    let large = Sample2::new(&V2 {
        seed: 23,
        records: false,
        tiny: 3,
        large: 2 * 65536 + 1000,
        ..V2::default()
    });
    v.extend(good(&s, &two_pages, &large));
    v.extend(post_quantum());
    v.extend(container(&s, &two_pages, &large));
    v.extend(head_and_signatures(&s));
    v.extend(catalog(&s));
    v.extend(hardening(&s, &two_pages));
    v.extend(proofs(&s));
    v.extend(quorum(&Sample2::new(&V2 {
        seed: 24,
        records: false,
        tiny: 2,
        quorum: true,
        ..V2::default()
    })));
    v.extend(quorum_pq(&Sample2::new(&V2 {
        seed: 24,
        records: false,
        tiny: 2,
        quorum: true,
        pq_holder: true,
        ..V2::default()
    })));
    v.extend(event_log(&Sample2::new(&V2 {
        seed: 25,
        events: true,
        ..V2::default()
    })));
    v.extend(facts(&Sample2::new(&V2 {
        seed: 26,
        records: false,
        tiny: 2,
        facts: true,
        ..V2::default()
    })));
    let hybrid = Sample2::new(&V2 {
        seed: 27,
        records: false,
        tiny: 2,
        hybrid: true,
        ..V2::default()
    });
    v.extend(hybrid_signatures(&hybrid));
    v.extend(hybrid_item_length(&hybrid));
    v.extend(ml_dsa_only_issuer(&hybrid));
    v.extend(ml_dsa_line_short(&hybrid));
    v
}

/// (2.2, SPEC §27.4) An `ml-dsa-65` issuer item one byte short, the head
/// signed again over the changed `public.json`: a reader that knows the
/// algorithm refuses the file at opening, naming the item.
fn hybrid_item_length(h: &Sample2) -> Vec<Vector> {
    let mut short = h.clone();
    let mut public = short.public();
    public.issuers.ml_dsa_65[0].pop();
    short.set_public(&public);
    short.resign(&[hybrid_issuer()], |_| {});
    vec![Vector::new(
        "v2-hybrid-ml-dsa-item-short",
        "format 2.2: the ml-dsa-65 issuer item of public.json one byte short (3902 hex digits), the head signed again: refused at opening",
        short.raw.build(),
    )
    .expect(Outcome::Open(Refusal::Json), "an ml-dsa-65 issuer key is not 3904")]
}

/// (2.2, SPEC §27.4) The `ml-dsa-65` signature line one byte short (its
/// signature's last byte dropped, the entry rewritten with a good CRC):
/// a line of another length is damaged (§27.3 step 1).
fn ml_dsa_line_short(h: &Sample2) -> Vec<Vector> {
    use legation_format::pqsig::ML_DSA_65;
    let mut lines = head::parse_signatures(h.raw.get(SIGNATURES_ENTRY)).unwrap();
    let line = lines.iter_mut().find(|l| l.algorithm == ML_DSA_65).unwrap();
    line.signature.pop();
    let mut short = h.clone();
    *short.raw.get_mut(SIGNATURES_ENTRY) = head::signatures_to_bytes(&lines);
    vec![Vector::new(
        "v2-hybrid-ml-dsa-line-short",
        "format 2.2: the ml-dsa-65 signature line one byte short (6616 hex digits), the entry rewritten with a good CRC: damaged",
        short.raw.build(),
    )
    .expect(Outcome::Fixity(Finding::damaged(SIGNATURES_ENTRY)), "signatures")]
}

/// (2.2, SPEC §27.4) `issuers` with the `ml-dsa-65` item alone, the head
/// signed by the ML-DSA-65 half alone: not written by 2.2, and refused as
/// a fixity failure naming `signatures`.
fn ml_dsa_only_issuer(h: &Sample2) -> Vec<Vector> {
    use legation_format::pqsig::ML_DSA_65;
    let mut only = h.clone();
    let mut public = only.public();
    public.issuers.ed25519.clear();
    only.set_public(&public);
    only.resign(&[hybrid_issuer()], |_| {});
    let mut lines = head::parse_signatures(only.raw.get(SIGNATURES_ENTRY)).unwrap();
    lines.retain(|l| l.algorithm == ML_DSA_65);
    *only.raw.get_mut(SIGNATURES_ENTRY) = head::signatures_to_bytes(&lines);
    vec![Vector::new(
        "v2-ml-dsa-only-issuer",
        "format 2.2: issuers with an ml-dsa-65 item and no ed25519 item, the head signed by the ML-DSA-65 key alone: refused",
        only.raw.build(),
    )
    .expect(Outcome::Fixity(Finding::forged(SIGNATURES_ENTRY)), "does not verify")]
}

/// Options of a 2.0 sample archive.
struct V2 {
    /// Seed of the writer's random numbers.
    seed: u64,
    /// Sign with [`issuer`].
    signed: bool,
    /// The small sample records (not the scan); else none but `tiny`.
    records: bool,
    /// This many one-byte records `n/0000`, `n/0001`, … instead.
    tiny: usize,
    /// With this many bytes, one more record `z/large.bin` of bytes that do
    /// not compress, so that its bundle has `outboard` values.
    large: usize,
    /// Only a quorum slot (SPEC §7.9), [`quorum_policy`], instead of the
    /// identity's and the passphrase's slots.
    quorum: bool,
    /// With `quorum`: the third holder an X-Wing key instead of the
    /// stranger's X25519 key, [`quorum_pq_policy`] (format 2.2, SPEC
    /// §7.9.1).
    pq_holder: bool,
    /// With an event log (format 2.1, SPEC §36).
    events: bool,
    /// The `tiny` records rendered by [`crate::facts_decoder`] with their
    /// facts (format 2.1, SPEC §12.3), the first titled `The first note`.
    facts: bool,
    /// Signed by [`hybrid_issuer`] (Ed25519 and ML-DSA-65, format 2.2,
    /// SPEC §27.4) instead of [`issuer`].
    hybrid: bool,
}

/// The quorum vectors' policy: 2 of ([`identity`], a holder of
/// [`PASSPHRASE`], a stranger's key).
fn quorum_policy() -> Policy {
    let stranger = legation_format::keys::Identity::from_bytes([0x77; 32]);
    Policy::Quorum {
        k: 2,
        members: vec![
            Policy::Holder(Holder::X25519(identity().public())),
            Policy::Holder(Holder::Passphrase(
                Zeroizing::new(PASSPHRASE.to_owned()),
                CHEAP_KDF,
            )),
            Policy::Holder(Holder::X25519(stranger.public())),
        ],
    }
}

/// The post-quantum holder's seed in [`quorum_pq_policy`] (the
/// `v2-good-pq-identity` vector's identity).
const PQ_HOLDER_SEED: [u8; 32] = [0x42; 32];

/// 2 of ([`identity`], a holder of [`PASSPHRASE`], the X-Wing key of
/// [`PQ_HOLDER_SEED`]).
fn quorum_pq_policy() -> Policy {
    let pq = legation_format::pq::PqIdentity::from_bytes(PQ_HOLDER_SEED).public();
    let Policy::Quorum { k, mut members } = quorum_policy() else {
        unreachable!("quorum_policy is a quorum")
    };
    members[2] = Policy::Holder(Holder::MlKem768X25519(Box::new(pq)));
    Policy::Quorum { k, members }
}

impl Default for V2 {
    fn default() -> Self {
        V2 {
            seed: 21,
            signed: true,
            records: true,
            tiny: 0,
            large: 0,
            quorum: false,
            pq_holder: false,
            events: false,
            facts: false,
            hybrid: false,
        }
    }
}

/// Writes a 2.0 sample archive deterministically: a slot for [`identity`],
/// one for [`PASSPHRASE`], the empty folder `boxes/empty`, no `SPEC.md`.
fn write_v2(o: &V2) -> Vec<u8> {
    let opts = WriterOptions {
        created: CREATED,
        issuer: o
            .signed
            .then(|| if o.hybrid { hybrid_issuer() } else { issuer() }),
        recipients: if o.quorum {
            vec![]
        } else {
            vec![identity().public()]
        },
        passphrases: if o.quorum {
            vec![]
        } else {
            vec![(Zeroizing::new(PASSPHRASE.to_owned()), CHEAP_KDF)]
        },
        embed_spec: false,
        viewer: None,
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(o.seed);
    let policies = if o.quorum && o.pq_holder {
        vec![quorum_pq_policy()]
    } else if o.quorum {
        vec![quorum_policy()]
    } else {
        vec![]
    };
    let out = Cursor::new(Vec::new());
    let mut w = ArchiveWriter::new_with_quorum(out, opts, rng, None, &policies).unwrap();
    if o.events {
        w.log_events("legation vectors", Default::default(), Vec::new())
            .unwrap();
    }
    w.add_empty_dir("boxes/empty").unwrap();
    let meta = |path: String, media_type: &str, metadata| RecordMeta {
        path,
        title: String::new(),
        media_type: media_type.into(),
        modified: Some(CREATED - 86_400),
        decoder: None,
        render: None,
        metadata,
    };
    if o.records {
        for r in sample_records()
            .into_iter()
            .filter(|r| !r.path.starts_with("scans/"))
        {
            let mut metadata = BTreeMap::new();
            metadata.insert(
                "identifier".to_owned(),
                vec![format!("urn:sample:{}", r.path)],
            );
            w.add_record(
                meta(r.path.into(), r.media_type, metadata),
                RecordSource::Bytes(&r.bytes),
            )
            .unwrap();
        }
    }
    let titler = o.facts.then(|| {
        let module = crate::facts_decoder();
        let loaded = crate::pack_host().load(&module, "title").unwrap();
        let entry = w
            .add_decoder(&module, loaded.decoder_ref(), loaded.uses_vectors())
            .unwrap();
        (entry, loaded)
    });
    for i in 0..o.tiny {
        let path = format!("n/{i:04}");
        let mut m = meta(path, "text/plain", BTreeMap::new());
        let bytes = [b'0' + (i % 10) as u8];
        if let Some((entry, loaded)) = &titler {
            if i == 0 {
                m.title = "The first note".into();
            }
            let facts = legation_reader::decode::Facts::of_meta(&m);
            let r = crate::pack_host().render(loaded, facts, &bytes).unwrap();
            m.decoder = Some(entry.clone());
            m.render = Some(legation_format::catalog::Render::Rendered {
                blake3: r.hash(),
                pages: 0,
            });
        }
        w.add_record(m, RecordSource::Bytes(&bytes)).unwrap();
    }
    if o.large > 0 {
        let mut bytes = vec![0u8; o.large];
        blake3::Hasher::new()
            .update(b"legation vector large record")
            .finalize_xof()
            .fill(&mut bytes);
        w.add_record(
            meta(
                "z/large.bin".into(),
                "application/octet-stream",
                BTreeMap::new(),
            ),
            RecordSource::Bytes(&bytes),
        )
        .unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A 2.0 archive taken apart, with its data key, for surgery.
#[derive(Clone)]
struct Sample2 {
    /// The archive as written.
    bytes: Vec<u8>,
    /// Its entries.
    raw: Raw,
    /// Its data key.
    key: DataKey,
}

impl Sample2 {
    fn new(o: &V2) -> Self {
        Sample2::of(write_v2(o))
    }

    /// Takes `bytes` apart and opens its slot for [`identity`].
    fn of(bytes: Vec<u8>) -> Self {
        let raw = Raw::parse(&bytes);
        let public = public_of(&raw);
        let key = public
            .key_slots
            .iter()
            .find_map(|s| match s {
                KeySlot::Quorum(q) => {
                    let id = &public.archive_id;
                    let shares =
                        q.unwrap_holders(id, &[identity().secret()], &[PASSPHRASE], &mut |_, _| {
                            true
                        });
                    q.rebuild(0, id, &shares.iter().collect::<Vec<_>>())
                        .unwrap()
                }
                s => crypto::open_x25519_slot(s, &public.archive_id, identity().secret()),
            })
            .expect("the sample's identity opens a slot");
        Sample2 { bytes, raw, key }
    }

    fn public(&self) -> Public {
        public_of(&self.raw)
    }

    fn head(&self) -> Head {
        Head::parse(self.raw.get(HEAD_ENTRY)).unwrap()
    }

    fn id(&self) -> [u8; 16] {
        self.public().archive_id
    }

    /// The catalog index, decrypted and parsed.
    fn index(&self) -> Index {
        let p = self.public();
        let sk = self
            .key
            .stream_key(&p.archive_id, StreamId::Index(p.catalog.index_stream));
        let plain = crypto::open_stream(&sk, self.raw.get(INDEX_ENTRY)).unwrap();
        Index::parse(&plain, INDEX_ENTRY).unwrap()
    }

    /// Seals `index` as `c/index` (same stream id).
    fn set_index(&mut self, index: &Index) {
        let p = self.public();
        let sk = self
            .key
            .stream_key(&p.archive_id, StreamId::Index(p.catalog.index_stream));
        *self.raw.get_mut(INDEX_ENTRY) = crypto::seal_stream(&sk, &index.encode());
    }

    /// Page `k`'s records.
    fn page(&self, index: &Index, k: usize) -> Vec<Record> {
        let sk = self
            .key
            .stream_key(&self.id(), StreamId::Page(index.pages[k].stream));
        let name = page_entry(k as u64);
        let plain = crypto::open_stream(&sk, self.raw.get(&name)).unwrap();
        page::parse_page(&plain, &index.tables, &name).unwrap()
    }

    /// Seals `records` as page `k` under its index line's stream id (the
    /// index's tables gain what the records add; the caller seals it).
    fn set_page(&mut self, index: &mut Index, k: usize, records: &[Record]) {
        let deflated = page::encode_page(records, &mut index.tables).unwrap();
        let sk = self
            .key
            .stream_key(&self.id(), StreamId::Page(index.pages[k].stream));
        *self.raw.get_mut(&page_entry(k as u64)) = crypto::seal_stream(&sk, &deflated);
    }

    /// The leaf hashes of `records`, in order.
    fn leaf_hashes(&self, records: &[Record]) -> Vec<[u8; 32]> {
        let id = self.id();
        records
            .iter()
            .map(|r| tree::leaf_hash(&r.leaf(&tree::record_salt(&self.key, &id, &r.path)).unwrap()))
            .collect()
    }

    /// Bundle `b`'s plaintext, padding included.
    fn bundle_plain(&self, index: &Index, b: usize) -> Vec<u8> {
        let sk = self
            .key
            .stream_key(&self.id(), StreamId::Bundle(index.bundles[b].stream));
        crypto::open_stream(&sk, self.raw.get(&bundle_entry(b as u64))).unwrap()
    }

    /// Rewrites `outboard` and `entries` from the entries before them, lets
    /// `edit` change the head (whose `entries` and `public` hashes are set
    /// first), and signs it again by `signers`: what a key holder who can
    /// sign makes.
    fn reseal(&mut self, signers: &[IssuerKey], edit: impl FnOnce(&mut Head)) {
        let at = self
            .raw
            .entries
            .iter()
            .position(|(n, _)| n == OUTBOARD_ENTRY)
            .unwrap();
        let mut values = Vec::new();
        for (_, data) in &self.raw.entries[..at] {
            let mut pieces = outboard::Pieces::new();
            pieces.update(data);
            values.extend(pieces.take_ready());
            values.extend(pieces.finish().1);
        }
        *self.raw.get_mut(OUTBOARD_ENTRY) = values.concat();
        self.reseal_table(signers, edit);
    }

    /// [`Sample2::reseal`] with `outboard` kept as it is (the table's tree
    /// made anew from the table).
    fn reseal_table(&mut self, signers: &[IssuerKey], edit: impl FnOnce(&mut Head)) {
        let at = self
            .raw
            .entries
            .iter()
            .position(|(n, _)| n == entries::TREE_ENTRY)
            .unwrap();
        let rows: Vec<entries::Row> = self.raw.entries[..at]
            .iter()
            .map(|(name, data)| entries::Row {
                name: name.clone(),
                size: data.len() as u64,
                crc32: crc32fast::hash(data),
                blake3: *blake3::hash(data).as_bytes(),
            })
            .collect();
        let table = entries::to_bytes(&rows);
        *self.raw.get_mut(entries::TREE_ENTRY) = entries::tree_bytes(&table);
        *self.raw.get_mut(ENTRIES_ENTRY) = table;
        self.resign(signers, edit);
    }

    /// Sets the head's `entries` and `public` hashes from the entries as
    /// they are, lets `edit` change it, and signs it by `signers`.
    fn resign(&mut self, signers: &[IssuerKey], edit: impl FnOnce(&mut Head)) {
        let mut head = self.head();
        head.entries = *blake3::hash(self.raw.get(ENTRIES_ENTRY)).as_bytes();
        head.public = *blake3::hash(self.raw.get(PUBLIC_ENTRY)).as_bytes();
        edit(&mut head);
        let head = head.to_bytes();
        let mut lines: Vec<_> = signers
            .iter()
            .flat_map(|k| head::sign_lines(k, &head).unwrap())
            .collect();
        lines.sort_by(|a, b| (&a.algorithm, &a.public_key).cmp(&(&b.algorithm, &b.public_key)));
        *self.raw.get_mut(SIGNATURES_ENTRY) = head::signatures_to_bytes(&lines);
        *self.raw.get_mut(HEAD_ENTRY) = head;
    }

    /// Writes `public` as `public.json`.
    fn set_public(&mut self, public: &Public) {
        *self.raw.get_mut(PUBLIC_ENTRY) = public.to_bytes();
    }

    /// Where the data of entry `name` starts in the archive as written.
    fn data_start(&self, name: &str) -> usize {
        let needle = name.as_bytes();
        // The name as a local header holds it (30 bytes after the header's
        // signature), not the same text inside another entry.
        let at = (30..self.bytes.len() - needle.len())
            .find(|&at| {
                self.bytes[at..].starts_with(needle)
                    && self.bytes[at - 30..].starts_with(b"PK\x03\x04")
                    && self.bytes[at - 4..at - 2] == (needle.len() as u16).to_le_bytes()
            })
            .expect("entry name present");
        at + needle.len()
    }

    /// The archive as written, with one bit of byte `at` flipped.
    fn flipped(&self, at: usize) -> Vec<u8> {
        let mut b = self.bytes.clone();
        b[at] ^= 1;
        b
    }

    /// A one-record proof of record `i` of page `k`.
    fn proof(&self, k: usize, i: usize) -> Proof {
        let index = self.index();
        let records = self.page(&index, k);
        let leaves = self.leaf_hashes(&records);
        let r = &records[i];
        let roots: Vec<[u8; 32]> = index
            .pages
            .iter()
            .map(|p| tree::leaf_hash(&p.root))
            .collect();
        Proof {
            page: k as u64,
            pages: index.pages.len() as u64,
            record: i as u64,
            page_records: records.len() as u64,
            leaf: r
                .leaf(&tree::record_salt(&self.key, &self.id(), &r.path))
                .unwrap(),
            page_path: tree::path(&leaves, i),
            pages_path: tree::path(&roots, k),
            head: self.raw.get(HEAD_ENTRY).clone(),
            signatures: self.raw.get(SIGNATURES_ENTRY).clone(),
        }
    }
}

fn public_of(raw: &Raw) -> Public {
    Public::parse(raw.get(PUBLIC_ENTRY)).unwrap()
}

/// The sample's signers.
fn signers() -> [IssuerKey; 1] {
    [issuer()]
}

/// A content failure naming `subject`.
fn content(subject: &str) -> Outcome {
    Outcome::Content(Finding::damaged(subject))
}

/// Format 2.1's post-quantum slot (SPEC §7.11) in an archive: an
/// unsigned archive of one record whose only slot is `mlkem768x25519`,
/// opened with its identity, refused to another post-quantum identity and
/// to an X25519 identity (all a 2.0 reader holds) as `no key`.
fn post_quantum() -> Vec<Vector> {
    use legation_format::pq::PqIdentity;
    let seed = [0x42u8; 32];
    let bytes = super::pq::archive(
        vec![],
        &[PqIdentity::from_bytes(seed).public()],
        &["register.txt"],
    );
    let with = |name: &str, comment: &str, pq: Option<[u8; 32]>, x25519: bool| {
        let mut v = Vector::new(name, comment, bytes.clone());
        v.passphrase = None;
        v.pq_identity = pq.map(|s| hex::encode(&s));
        v.identity = x25519.then(|| hex::encode(identity().secret()));
        v
    };
    vec![
        with(
            "v2-good-pq-identity",
            "format 2.1: an archive whose only slot is mlkem768x25519 (X-Wing), opened with its post-quantum identity",
            Some(seed),
            false,
        ),
        with(
            "v2-pq-other-identity",
            "format 2.1: the same archive tried with another post-quantum identity",
            Some([0x43; 32]),
            false,
        )
        .expect(Outcome::NoKey, ""),
        with(
            "v2-pq-x25519-identity",
            "format 2.1: the same archive tried with an X25519 identity, as a 2.0 reader that skips the slot type would",
            None,
            true,
        )
        .expect(Outcome::NoKey, ""),
    ]
}

/// Good 2.0 archives: each kind of key, unsigned, empty, two pages, two
/// bundles.
fn good(s: &Sample2, two_pages: &Sample2, large: &Sample2) -> Vec<Vector> {
    let mut by_identity = Vector::new(
        "v2-good-identity",
        "format 2.0: signed archive, opened with the recipient's identity",
        s.bytes.clone(),
    );
    by_identity.passphrase = None;
    by_identity.identity = Some(hex::encode(identity().secret()));
    let mut wrong_passphrase = Vector::new(
        "v2-wrong-passphrase",
        "format 2.0: a passphrase that is not the archive's",
        s.bytes.clone(),
    )
    .expect(Outcome::NoKey, "");
    wrong_passphrase.passphrase = Some("not the passphrase at all, sorry".into());
    vec![
        Vector::new(
            "v2-good-passphrase",
            "format 2.0: signed archive of three records and an empty folder, one bundle, one page, opened with its passphrase, issuer pinned",
            s.bytes.clone(),
        )
        .pin(),
        by_identity,
        wrong_passphrase,
        Vector::new(
            "v2-good-unsigned",
            "format 2.0: unsigned archive (no issuers, an empty signatures entry)",
            write_v2(&V2 {
                seed: 23,
                signed: false,
                ..V2::default()
            }),
        ),
        Vector::new(
            "v2-good-empty",
            "format 2.0: no record, so no bundle and no page; c/index still there",
            write_v2(&V2 {
                seed: 24,
                records: false,
                ..V2::default()
            }),
        )
        .pin(),
        Vector::new(
            "v2-good-two-pages",
            "format 2.0: 4097 one-byte records, so two catalog pages (the second of one record) and a records tree over two page roots",
            two_pages.bytes.clone(),
        )
        .pin(),
        Vector::new(
            "v2-good-two-bundles",
            "format 2.0: the sample re-cut by a key holder so that registers/people.csv starts a second bundle (flag bit 3); where a writer cuts bundles is free (SPEC §22.2)",
            two_bundles(s).raw.build(),
        )
        .pin(),
        Vector::new(
            "v2-good-large-record",
            "format 2.0: three one-byte records and one of 132,072 bytes that do not compress, so that b/00000000 is three 64 KiB pieces and outboard holds their three BLAKE3 chaining values (SPEC §25.2)",
            large.bytes.clone(),
        )
        .pin(),
    ]
}

/// The sample with its last record moved to a bundle of its own: the
/// bundles re-sealed under new ids, the page's flag bit 3 set, the index
/// and `public.json` counting two bundles, signed again.
fn two_bundles(s: &Sample2) -> Sample2 {
    let mut t = s.clone();
    let mut index = t.index();
    let mut records = t.page(&index, 0);
    let places = page::locate(&records, 0, 0);
    let plain = t.bundle_plain(&index, 0);
    let last = records.len() - 1;
    let cut = places[last].1 as usize;
    let end = cut + records[last].stored_size as usize;
    let (first, second) = (plain[..cut].to_vec(), plain[cut..end].to_vec());
    records[last].new_bundle = true;
    t.set_page(&mut index, 0, &records);
    let id = t.id();
    let mut sealed = Vec::new();
    for (k, bytes) in [first, second].into_iter().enumerate() {
        let stream = [0xb0 + k as u8; 16];
        let mut padded = bytes.clone();
        padded.resize(crypto::padme(bytes.len() as u64) as usize, 0);
        sealed.push(crypto::seal_stream(
            &t.key.stream_key(&id, StreamId::Bundle(stream)),
            &padded,
        ));
        if k == 0 {
            index.bundles = Vec::new();
        }
        index.bundles.push(BundleRef {
            stream,
            len: bytes.len() as u64,
        });
    }
    t.set_index(&index);
    let at = t
        .raw
        .entries
        .iter()
        .position(|(n, _)| n == &bundle_entry(0))
        .unwrap();
    t.raw.entries[at].1 = sealed.remove(0);
    t.raw
        .entries
        .insert(at + 1, (bundle_entry(1), sealed.remove(0)));
    let mut public = t.public();
    public.bundles = 2;
    t.set_public(&public);
    t.reseal(&signers(), |_| {});
    t
}

/// The container and the entry table (SPEC §20, §25): damage a host could
/// do, and an entry table that leaves an entry out.
fn container(s: &Sample2, two_pages: &Sample2, large: &Sample2) -> Vec<Vector> {
    let damaged = |e: &str| Outcome::Fixity(Finding::damaged(e));
    let mut swapped = two_pages.raw.clone();
    let (a, b) = (page_entry(0), page_entry(1));
    let pa = swapped.get(&a).clone();
    let pb = std::mem::replace(swapped.get_mut(&b), pa);
    *swapped.get_mut(&a) = pb;
    let mut swapped_signed = two_pages.clone();
    swapped_signed.raw = swapped.clone();
    swapped_signed.reseal(&signers(), |_| {});
    let mut missing_row = s.clone();
    let table = String::from_utf8(missing_row.raw.get(ENTRIES_ENTRY).clone()).unwrap();
    let kept: String = table
        .lines()
        .filter(|l| !l.starts_with("c/00000000 "))
        .map(|l| format!("{l}\n"))
        .collect();
    *missing_row.raw.get_mut(ENTRIES_ENTRY) = kept.into_bytes();
    missing_row.resign(&signers(), |_| {});
    let mut unlisted = s.clone();
    let module = crate::tiny_decoder();
    let name = legation_format::manifest::decoder_entry(blake3::hash(&module).as_bytes());
    unlisted.raw.entries.insert(1, (name.clone(), module));
    unlisted.reseal(&signers(), |_| {});
    let mut trailing = s.bytes.clone();
    trailing.extend_from_slice(b"trailing");
    // A signed outboard whose second value for b/00000000 (a bundle of
    // three pieces) is changed: only merging the values catches it.
    let mut wrong_value = large.clone();
    wrong_value.raw.get_mut(OUTBOARD_ENTRY)[32 + 5] ^= 1;
    wrong_value.reseal_table(&signers(), |_| {});
    // The table's tree (SPEC §25.3): empty for the sample's table of one
    // chunk, a value added by the host; the tree left out.
    let mut tree_value = s.clone();
    assert!(tree_value.raw.get(entries::TREE_ENTRY).is_empty());
    tree_value
        .raw
        .get_mut(entries::TREE_ENTRY)
        .extend_from_slice(&[7; 32]);
    let mut no_tree = s.clone();
    no_tree
        .raw
        .entries
        .retain(|(n, _)| n != entries::TREE_ENTRY);
    vec![
        Vector::new(
            "v2-trailing-data",
            "format 2.0: bytes after the end record",
            trailing,
        )
        .expect(Outcome::Open(Refusal::Container), "no end of central directory"),
        Vector::new(
            "v2-bitflip-bundle",
            "format 2.0: one bit of bundle b/00000000 flipped by the host",
            s.flipped(s.data_start(&bundle_entry(0)) + 100),
        )
        .expect(damaged(&bundle_entry(0)), "BLAKE3")
        .pin(),
        Vector::new(
            "v2-bitflip-page",
            "format 2.0: one bit of catalog page c/00000000 flipped by the host",
            s.flipped(s.data_start(&page_entry(0)) + 10),
        )
        .expect(damaged(&page_entry(0)), "BLAKE3")
        .pin(),
        Vector::new(
            "v2-bitflip-entries",
            "format 2.0: one bit of the entry table flipped (a hex digit of a BLAKE3, so every line keeps its form): its BLAKE3 is not the head's",
            s.flipped(s.data_start(ENTRIES_ENTRY) + s.raw.get(ENTRIES_ENTRY).len() - 3),
        )
        .expect(damaged(ENTRIES_ENTRY), "BLAKE3")
        .pin(),
        Vector::new(
            "v2-page-swapped",
            "format 2.0: the bytes of c/00000000 and c/00000001 exchanged by the host (the container rebuilt around them)",
            swapped.build(),
        )
        .expect(damaged(ENTRIES_ENTRY), "size and CRC-32 of entry")
        .pin(),
        Vector::new(
            "v2-page-swapped-resigned",
            "format 2.0: the two pages exchanged by a key holder who rewrote the entry table and signed again: each page is sealed under the other's stream id",
            swapped_signed.raw.build(),
        )
        .expect(content(&page_entry(0)), "does not decrypt")
        .pin(),
        Vector::new(
            "v2-entries-row-missing",
            "format 2.0: the entry table leaves out c/00000000's line, and the head is signed again over it",
            missing_row.raw.build(),
        )
        .expect(damaged(ENTRIES_ENTRY), "one line for each entry")
        .pin(),
        Vector::new(
            "v2-decoder-unlisted",
            "format 2.0: a d/ entry that public.json's decoders does not name (listed in the entry table, signed): refused at opening (SPEC §20.2 item 4)",
            unlisted.raw.build(),
        )
        .expect(Outcome::Open(Refusal::ManifestMismatch(name)), "not named in public.json")
        .pin(),
        Vector::new(
            "v2-outboard-value-changed",
            "format 2.0: one value in outboard (the second piece of b/00000000) changed, the entry table and head rewritten over it and signed again: every entry has its row's BLAKE3, but b/00000000's values do not merge to it (SPEC §25.2, caught by the full keyless audit)",
            wrong_value.raw.build(),
        )
        .expect(damaged(OUTBOARD_ENTRY), "do not merge")
        .pin(),
        Vector::new(
            "v2-entries-tree-value-added",
            "format 2.0: 32 bytes added by the host to entries-tree, which is empty for an entry table of one 1 KiB chunk: the rows still have the head's hash, the tree is not the table's (SPEC §25.3; a sampled audit refuses its size before reading it)",
            tree_value.raw.build(),
        )
        .expect(damaged(entries::TREE_ENTRY), "BLAKE3")
        .pin(),
        Vector::new(
            "v2-entries-tree-missing",
            "format 2.0: entries-tree left out of the container (the rest as written): entries stands where the tree belongs, refused at opening (SPEC §20.2, §25.3)",
            no_tree.raw.build(),
        )
        .expect(
            Outcome::Open(Refusal::ManifestMismatch(ENTRIES_ENTRY.into())),
            "entries-tree",
        )
        .pin(),
    ]
}

/// `public.json`, the head and the signatures (SPEC §26, §27).
fn head_and_signatures(s: &Sample2) -> Vec<Vector> {
    let forged = Outcome::Fixity(Finding::forged(SIGNATURES_ENTRY));
    let mut removed = s.clone();
    removed.raw.get_mut(SIGNATURES_ENTRY).clear();
    let mut added = s.clone();
    added.resign(&[issuer(), other_issuer()], |_| {});
    let mut other = s.clone();
    let mut public = other.public();
    public.issuers[0].public_key = other_issuer().public();
    other.set_public(&public);
    other.resign(&[other_issuer()], |_| {});
    let mut unsigned = s.clone();
    let mut public = unsigned.public();
    public.issuers.clear();
    unsigned.set_public(&public);
    unsigned.resign(&[], |_| {});
    let mut count = s.clone();
    count.resign(&signers(), |h| h.records += 1);
    let mut public_hash = s.clone();
    public_hash.resign(&signers(), |h| h.public[0] ^= 1);
    let head_at = s.data_start(HEAD_ENTRY);
    vec![
        Vector::new(
            "v2-bitflip-public",
            "format 2.0: one bit of public.json flipped by the host: opening puts it right from the recovery entry, fixity reports it damaged (SPEC §25.1)",
            s.flipped(s.data_start(PUBLIC_ENTRY) + 20),
        )
        .expect(
            Outcome::Fixity(Finding::damaged(PUBLIC_ENTRY)),
            "BLAKE3",
        ),
        Vector::new(
            "v2-public-hash-mismatch",
            "format 2.0: a head (signed) whose public line is not public.json's BLAKE3",
            public_hash.raw.build(),
        )
        .expect(Outcome::Open(Refusal::EntryHash(PUBLIC_ENTRY.into())), "BLAKE3"),
        Vector::new(
            "v2-bitflip-head",
            "format 2.0: one bit of head flipped by the host: opening puts it right from the recovery entry, fixity reports it damaged (SPEC §25.1)",
            s.flipped(head_at + 100),
        )
        .expect(
            Outcome::Fixity(Finding::damaged(HEAD_ENTRY)),
            "BLAKE3",
        ),
        Vector::new(
            "v2-head-records-changed",
            "format 2.0: the head (signed again) counts one record more than the index holds",
            count.raw.build(),
        )
        .expect(
            Outcome::Unlock(Refusal::ManifestMismatch(INDEX_ENTRY.into())),
            "counts 3 records, the head 4",
        )
        .pin(),
        Vector::new(
            "v2-bitflip-signatures",
            "format 2.0: one bit of signatures flipped by the host: opening finds the byte by the CRC-32 and takes it when the signature verifies; fixity reports signatures damaged (SPEC §25.1)",
            s.flipped(s.data_start(SIGNATURES_ENTRY) + 20),
        )
        .expect(
            Outcome::Fixity(Finding::damaged(SIGNATURES_ENTRY)),
            "signatures",
        ),
        Vector::new(
            "v2-signature-removed",
            "format 2.0: the host empties signatures while public.json names an issuer",
            removed.raw.build(),
        )
        .expect(forged.clone(), "did not sign"),
        Vector::new(
            "v2-signature-added",
            "format 2.0: a second, valid signature by a key public.json does not list",
            added.raw.build(),
        )
        .expect(forged.clone(), "not among the issuers"),
        Vector::new(
            "v2-resigned-by-other-issuer",
            "format 2.0: public.json's issuer replaced and the head signed by another key; the reader pins the sample's issuer",
            other.raw.build(),
        )
        .expect(forged.clone(), "not by the pinned issuer")
        .pin(),
        Vector::new(
            "v2-unsigned-but-pinned",
            "format 2.0: issuers and signatures emptied by a key holder; the reader pins an issuer",
            unsigned.raw.build(),
        )
        .expect(forged, "not signed")
        .pin(),
    ]
}

/// The sealed catalog and the records tree (SPEC §23, §24, §28), forged by
/// a key holder who can sign.
fn catalog(s: &Sample2) -> Vec<Vector> {
    let page0 = page_entry(0);
    let mut reordered = s.clone();
    let mut index = reordered.index();
    let records = reordered.page(&index, 0);
    let mut leaves = reordered.leaf_hashes(&records);
    leaves.swap(1, 2);
    index.pages[0].root = tree::root(&leaves);
    reordered.set_index(&index);
    let root = tree::root(&[tree::leaf_hash(&index.pages[0].root)]);
    reordered.reseal(&signers(), |h| h.records_root = root);
    let mut tiling = s.clone();
    let mut index = tiling.index();
    let mut records = tiling.page(&index, 0);
    records[2].new_bundle = true;
    tiling.set_page(&mut index, 0, &records);
    tiling.set_index(&index);
    tiling.reseal(&signers(), |_| {});
    let mut hash = s.clone();
    let mut index = hash.index();
    let mut records = hash.page(&index, 0);
    records[2].blake3[0] ^= 1;
    hash.set_page(&mut index, 0, &records);
    let leaves = hash.leaf_hashes(&records);
    index.pages[0].root = tree::root(&leaves);
    hash.set_index(&index);
    let root = tree::root(&[tree::leaf_hash(&index.pages[0].root)]);
    hash.reseal(&signers(), |h| h.records_root = root);
    let mut root_changed = s.clone();
    root_changed.reseal(&signers(), |h| h.records_root[0] ^= 1);
    vec![
        Vector::new(
            "v2-leaf-reordered",
            "format 2.0: the index's page root (and the head's records-root, signed again) computed over the page's leaves with two swapped: the page's leaves no longer give it",
            reordered.raw.build(),
        )
        .expect(content(&page0), "page root")
        .pin(),
        Vector::new(
            "v2-bundle-tiling-broken",
            "format 2.0: the page's last record flagged as starting a second bundle the archive does not have",
            tiling.raw.build(),
        )
        .expect(content("registers/people.csv"), "b/00000001: missing")
        .pin(),
        Vector::new(
            "v2-record-hash-mismatch",
            "format 2.0: a record's BLAKE3 changed in its page, with the page root, records-root and head made to agree: the bundle's bytes do not",
            hash.raw.build(),
        )
        .expect(content("registers/people.csv"), "BLAKE3")
        .pin(),
        Vector::new(
            "v2-records-root-changed",
            "format 2.0: the head's records-root changed and signed again",
            root_changed.raw.build(),
        )
        .expect(content(HEAD_ENTRY), "records-root differs")
        .pin(),
    ]
}

/// Documents a key holder who can sign forges past the SPEC's rules
/// (SPEC §20.2, §24, §26): refused at opening or unlocking, before any
/// page or record is read.
fn hardening(s: &Sample2, two_pages: &Sample2) -> Vec<Vector> {
    let index_edit = |from: &Sample2, edit: &dyn Fn(&mut Index)| {
        let mut x = from.clone();
        let mut index = x.index();
        edit(&mut index);
        x.set_index(&index);
        x.reseal(&signers(), |_| {});
        x.raw.build()
    };
    let media_twice = index_edit(s, &|i| {
        let first = i.tables.media[0].clone();
        i.tables.media.push(first);
    });
    let decoder_unlisted = index_edit(s, &|i| {
        i.tables.decoders.push("d/0123456789abcdef.wasm".into());
    });
    let offset_back = index_edit(two_pages, &|i| {
        assert_eq!(i.pages[0].first_bundle, i.pages[1].first_bundle);
        i.pages[0].first_offset = i.pages[1].first_offset + 1;
    });
    let too_long = index_edit(s, &|i| i.bundles[0].len = 1 << 62);
    let mut null = s.clone();
    let text = String::from_utf8(null.raw.get(PUBLIC_ENTRY).clone()).unwrap();
    let with_null = text.trim_end().strip_suffix('}').unwrap().to_owned() + ",\"later\":null}\n";
    *null.raw.get_mut(PUBLIC_ENTRY) = with_null.into_bytes();
    null.reseal(&signers(), |_| {});
    let mut twice = s.clone();
    let module = crate::tiny_decoder();
    let name = legation_format::manifest::decoder_entry(blake3::hash(&module).as_bytes());
    twice.raw.entries.insert(1, (name.clone(), module));
    let mut public = twice.public();
    let item = legation_format::manifest::DecoderRef {
        entry: name,
        name: "tiny".into(),
        version: "1.0.0".into(),
        abi: 1,
        media_types: vec!["text/plain".into()],
        limits: legation_format::manifest::DecoderLimits {
            fuel: 1 << 20,
            max_depth: 64,
            max_memory_pages: 16,
        },
    };
    public.decoders = vec![item.clone(), item];
    twice.set_public(&public);
    twice.reseal(&signers(), |_| {});
    let unlock =
        |fragment: &str, v: Vector, r: Refusal| v.expect(Outcome::Unlock(r), fragment).pin();
    vec![
        unlock(
            "twice",
            Vector::new(
                "v2-index-media-listed-twice",
                "format 2.0: the index's media table lists one media type twice (signed): a page's number for it would have two spellings (SPEC §24)",
                media_twice,
            ),
            Refusal::Invalid,
        ),
        unlock(
            "public.json's decoders do not list",
            Vector::new(
                "v2-index-decoder-unlisted",
                "format 2.0: the index's decoder table names a d/ entry that public.json's decoders does not list (signed) (SPEC §24)",
                decoder_unlisted,
            ),
            Refusal::ManifestMismatch(INDEX_ENTRY.into()),
        ),
        unlock(
            "before the page before it",
            Vector::new(
                "v2-index-page-offset-back",
                "format 2.0: the index starts page 0 one byte past page 1's start in the same bundle, so (first_bundle, first_offset) go back from one page to the next (signed) (SPEC §24)",
                offset_back,
            ),
            Refusal::Invalid,
        ),
        unlock(
            "2^62 bytes or more",
            Vector::new(
                "v2-index-bundles-too-long",
                "format 2.0: the index gives a bundle a len of 2^62 bytes (signed): no file holds it, and padded or sealed it overflows 64 bits (SPEC §24)",
                too_long,
            ),
            Refusal::Invalid,
        ),
        Vector::new(
            "v2-public-null-unknown-member",
            "format 2.0: public.json carries an unknown member whose value is null (signed): null is refused anywhere (SPEC §26)",
            null.raw.build(),
        )
        .expect(Outcome::Open(Refusal::Invalid), "is null")
        .pin(),
        Vector::new(
            "v2-public-decoder-listed-twice",
            "format 2.0: public.json lists its one decoder twice (signed): one item a d/ entry (SPEC §20.2 item 4)",
            twice.raw.build(),
        )
        .expect(Outcome::Open(Refusal::Invalid), "listed twice")
        .pin(),
    ]
}

/// One-record proofs (SPEC §29): checked with no archive and no key.
fn proofs(s: &Sample2) -> Vec<Vector> {
    let people = sample_records()
        .into_iter()
        .find(|r| r.path == "registers/people.csv")
        .unwrap()
        .bytes;
    let good = s.proof(0, 2);
    let proof = |name: &str, comment: &str, p: &Proof| {
        Vector::proof(name, comment, p.to_bytes(), Some(&people)).pin()
    };
    let other = Sample2::new(&V2 {
        seed: 25,
        ..V2::default()
    });
    let mut foreign = good.clone();
    foreign.head = other.raw.get(HEAD_ENTRY).clone();
    foreign.signatures = other.raw.get(SIGNATURES_ENTRY).clone();
    let mut truncated = good.clone();
    truncated.page_path.pop();
    let mut leaf = good.clone();
    let n = leaf.leaf.len();
    leaf.leaf[n - 1] ^= 1;
    let mut salt = good.clone();
    salt.leaf[0] ^= 1;
    let mut pages = good.clone();
    pages.pages = 2;
    let mut act = s.proof(0, 1);
    act.signatures.clear();
    vec![
        proof(
            "v2-proof-good",
            "format 2.0: a proof that registers/people.csv, with these bytes, is in v2-good-passphrase, signed by the pinned issuer",
            &good,
        ),
        Vector::proof(
            "v2-proof-good-no-record",
            "format 2.0: the same proof checked without the record's bytes and without a pinned issuer",
            good.to_bytes(),
            None,
        ),
        proof(
            "v2-proof-wrong-record",
            "format 2.0: a good proof, checked against other bytes than the record's",
            &good,
        )
        .with_record(b"id,name,born\n")
        .expect(Outcome::Proof("not the proven record's bytes".into()), "not the proven record's bytes"),
        proof(
            "v2-proof-other-archive",
            "format 2.0: the proof's head and signatures replaced by another archive's (same issuer, same number of records)",
            &foreign,
        )
        .expect(Outcome::Proof("records root".into()), "records root"),
        proof(
            "v2-proof-truncated-path",
            "format 2.0: the page path's last hash dropped",
            &truncated,
        )
        .expect(Outcome::Proof("page-path has".into()), "page-path has"),
        proof(
            "v2-proof-leaf-changed",
            "format 2.0: the leaf's last byte (in the record's metadata) changed",
            &leaf,
        )
        .expect(Outcome::Proof("records root".into()), "records root"),
        proof(
            "v2-proof-salt-changed",
            "format 2.0: the leaf's salt changed: the leaf still parses, its hash differs",
            &salt,
        )
        .expect(Outcome::Proof("records root".into()), "records root"),
        proof(
            "v2-proof-page-count-lie",
            "format 2.0: the proof says the archive has two pages; the head's record count makes one",
            &pages,
        )
        .expect(Outcome::Proof("pages, but the head".into()), "pages, but the head"),
        Vector::proof(
            "v2-proof-unsigned",
            "format 2.0: a proof with its signatures left out proves nothing",
            act.to_bytes(),
            None,
        )
        .expect(Outcome::Proof("not signed".into()), "not signed"),
    ]
}

/// A quorum slot with a post-quantum holder (format 2.2, SPEC §7.9.1).
fn quorum_pq(q: &Sample2) -> Vec<Vector> {
    let pq = Some(hex::encode(&PQ_HOLDER_SEED));
    let mut with_pq = Vector::new(
        "v2-quorum-post-quantum-holder",
        "format 2.2: 2 of (x25519, argon2id, mlkem768x25519), opened by the X-Wing holder's identity and the X25519 identity (SPEC §7.9.1)",
        q.bytes.clone(),
    );
    with_pq.passphrase = None;
    with_pq.identity = Some(hex::encode(identity().secret()));
    with_pq.pq_identity = pq.clone();
    let mut without = Vector::new(
        "v2-quorum-post-quantum-holder-not-needed",
        "format 2.2: the same archive opened by the X25519 identity and the passphrase holder, as a 2.1 reader that sees the X-Wing holder as unknown does: the quorum header's shape names it unknown (SPEC §7.9.1)",
        q.bytes.clone(),
    );
    without.identity = Some(hex::encode(identity().secret()));
    let mut alone = Vector::new(
        "v2-quorum-post-quantum-holder-alone",
        "format 2.2: the same archive with the X-Wing holder's identity alone: one share of two, too few (no key) (SPEC §7.9.1)",
        q.bytes.clone(),
    )
    .expect(Outcome::NoKey, "");
    alone.passphrase = None;
    alone.pq_identity = pq;
    vec![with_pq, without, alone]
}

/// Quorum slots (SPEC §7.9): a 2.0 archive whose one slot is 2 of
/// (identity, passphrase holder, stranger), opened by the identity and
/// the passphrase together; one of them alone is too few; the slot's
/// policy changed (signed) is refused before any key is derived.
fn quorum(q: &Sample2) -> Vec<Vector> {
    let mut both = Vector::new(
        "v2-good-quorum",
        "format 2.0: one quorum slot, 2 of (x25519, argon2id, x25519), opened by the identity and the passphrase holder together (SPEC §7.9)",
        q.bytes.clone(),
    );
    both.identity = Some(hex::encode(identity().secret()));
    let mut alone = Vector::new(
        "v2-quorum-one-share",
        "format 2.0: the same archive with the identity alone: one share of the two the slot needs, named as too few (no key) (SPEC §7.9)",
        q.bytes.clone(),
    )
    .expect(Outcome::NoKey, "");
    alone.passphrase = None;
    alone.identity = Some(hex::encode(identity().secret()));
    let edited = |edit: &dyn Fn(&mut legation_format::quorum::QuorumSlot)| {
        let mut e = q.clone();
        let mut public = e.public();
        let KeySlot::Quorum(slot) = &mut public.key_slots[0] else {
            panic!("the quorum sample's slot")
        };
        edit(slot);
        e.set_public(&public);
        e.reseal(&signers(), |_| {});
        e.raw.build()
    };
    let refused = |name: &str, comment: &str, bytes: Vec<u8>, fragment: &str| {
        let mut v = Vector::new(name, comment, bytes)
            .expect(Outcome::Unlock(Refusal::Quorum), fragment)
            .pin();
        v.identity = Some(hex::encode(identity().secret()));
        v
    };
    vec![
        both,
        alone,
        refused(
            "v2-quorum-k-above-n",
            "format 2.0: the quorum slot asks for 4 of its 3 members (signed): refused before any key is derived (SPEC §7.9)",
            edited(&|s| s.nodes[0].k = 4),
            "asks for 4 of 3 members",
        ),
        refused(
            "v2-quorum-65-holders",
            "format 2.0: the quorum slot lists 65 holders, over the bound of 64 (signed): refused from its count (SPEC §7.9)",
            edited(&|s| {
                let one = s.shares[0].clone();
                s.shares = vec![one; 65];
            }),
            "65 holders, not 1 to 64",
        ),
        refused(
            "v2-quorum-nested-too-deep",
            "format 2.0: a holder's path is 5 deep, over the bound of 4 (signed): refused from its length (SPEC §7.9)",
            edited(&|s| s.shares[0].path = vec![1; 5]),
            "5 deep, over 4",
        ),
        refused(
            "v2-quorum-holder-listed-twice",
            "format 2.0: two holders have the same path (index 1 twice; signed): refused (SPEC §7.9)",
            edited(&|s| s.shares[1].path = vec![1]),
            "listed twice",
        ),
    ]
}

/// The event log (format 2.1, SPEC §36): an archive that has one, which
/// every level of verification passes, readers of 2.0 included (they check
/// the entry's row and ignore it otherwise), and the same with one bit of
/// the log flipped by the host.
fn event_log(e: &Sample2) -> Vec<Vector> {
    use legation_format::v2::events::EVENTS_ENTRY;
    vec![
        Vector::new(
            "v2-good-event-log",
            "format 2.1: the sample with an event log, the entry events before b/00000000 (ingestion, format identification and rendering by counts, sealed); a 2.0 reader checks its row in entries and otherwise ignores it",
            e.bytes.clone(),
        )
        .pin(),
        Vector::new(
            "v2-bitflip-event-log",
            "format 2.1: one bit of the sealed event log flipped by the host: the keyless audit names the entry",
            e.flipped(e.data_start(EVENTS_ENTRY) + 40),
        )
        .expect(Outcome::Fixity(Finding::damaged(EVENTS_ENTRY)), "BLAKE3")
        .pin(),
    ]
}

/// A decoder given the records' facts (format 2.1, SPEC §12.3, §15.3):
/// the render check renders each record with its facts; a title changed
/// in the catalog (signed again, so content passes) changes the render
/// hash though the bytes and the decoder are the same.
fn facts(f: &Sample2) -> Vec<Vector> {
    // It stores a decoder of ABI 2, which a 2.0 reader refuses: 2.1.
    assert_eq!(
        f.public().version,
        "2.1",
        "an archive with a decoder of ABI 2 says 2.1"
    );
    let mut retitled = f.clone();
    let mut index = retitled.index();
    let mut records = retitled.page(&index, 0);
    assert_eq!(records[0].title.as_deref(), Some("The first note"));
    records[0].title = Some("A forged title".into());
    retitled.set_page(&mut index, 0, &records);
    let leaves = retitled.leaf_hashes(&records);
    index.pages[0].root = tree::root(&leaves);
    retitled.set_index(&index);
    let root = tree::root(&[tree::leaf_hash(&index.pages[0].root)]);
    retitled.reseal(&signers(), |h| h.records_root = root);
    vec![
        Vector::new(
            "v2-good-facts",
            "format 2.1: two records rendered by a decoder of ABI 2 that shows the title its facts give (one a Dublin Core title, one the path's last segment); the render check gives each record its facts",
            f.bytes.clone(),
        )
        .pin(),
        Vector::new(
            "v2-facts-title-changed",
            "format 2.1: a record's title changed in its page, with the page root, records-root and head made to agree (signed again): its render hash covers its facts, so the render check fails",
            retitled.raw.build(),
        )
        .expect(
            Outcome::Render(Finding::damaged("n/0000")),
            "differs from the one recorded",
        )
        .pin(),
    ]
}

/// The hybrid issuer of the 2.2 vectors: [`issuer`]'s Ed25519 seed and an
/// ML-DSA-65 seed (SPEC §27.4).
fn hybrid_issuer() -> IssuerKey {
    IssuerKey::from_seeds(*issuer().secret(), Some([0x44; 32]))
}

/// Hybrid issuer signatures (format 2.2, SPEC §27.4): a good archive, each
/// half's signature flipped, the ML-DSA-65 line stripped, and the
/// downgrade only a forger who broke Ed25519 could make, each refused.
fn hybrid_signatures(h: &Sample2) -> Vec<Vector> {
    use legation_format::pqsig::ML_DSA_65;
    let forged = Outcome::Fixity(Finding::forged(SIGNATURES_ENTRY));
    let pin = hex::encode(&hybrid_issuer().public_key().pin());
    let pinned = |v: Vector| Vector {
        issuer: Some(pin.clone()),
        ..v
    };
    let lines = head::parse_signatures(h.raw.get(SIGNATURES_ENTRY)).unwrap();
    assert_eq!(lines.len(), 2, "an ed25519 and an ml-dsa-65 line");
    let with_lines = |edit: &dyn Fn(&mut Vec<head::SignatureLine>)| {
        let mut l = lines.clone();
        edit(&mut l);
        let mut x = h.clone();
        *x.raw.get_mut(SIGNATURES_ENTRY) = head::signatures_to_bytes(&l);
        x.raw.build()
    };
    let flip = |alg: &'static str| {
        with_lines(&move |l: &mut Vec<head::SignatureLine>| {
            let line = l.iter_mut().find(|x| x.algorithm == alg).unwrap();
            line.signature[9] ^= 1;
        })
    };
    let stripped =
        with_lines(&|l: &mut Vec<head::SignatureLine>| l.retain(|x| x.algorithm != ML_DSA_65));
    // What one who has broken Ed25519 (here: holds its seed) can make:
    // public.json without the ML-DSA-65 item, the head signed again by
    // Ed25519 alone.
    let mut downgraded = h.clone();
    let mut public = downgraded.public();
    public.issuers.ml_dsa_65.clear();
    downgraded.set_public(&public);
    downgraded.resign(&[issuer()], |_| {});
    vec![
        pinned(Vector::new(
            "v2-good-hybrid-signed",
            "format 2.2: signed by a hybrid issuer, Ed25519 and ML-DSA-65 lines over the head; the reader pins the hybrid key (its id), which needs both",
            h.bytes.clone(),
        )),
        Vector::new(
            "v2-hybrid-ml-dsa-flipped",
            "format 2.2: one bit of the ML-DSA-65 signature flipped and the signatures entry rewritten with a good CRC: forged, though the Ed25519 line holds",
            flip(ML_DSA_65),
        )
        .expect(forged.clone(), "does not verify"),
        Vector::new(
            "v2-hybrid-ed25519-flipped",
            "format 2.2: one bit of the Ed25519 signature of a hybrid-signed head flipped, the entry rewritten: forged, though the ML-DSA-65 line holds",
            flip(head::ED25519),
        )
        .expect(forged.clone(), "does not verify"),
        Vector::new(
            "v2-hybrid-ml-dsa-stripped",
            "format 2.2: the ML-DSA-65 line removed while public.json lists its key (a 2.1 reader, which skips the algorithm, passes this)",
            stripped,
        )
        .expect(forged.clone(), "does not verify"),
        pinned(
            Vector::new(
                "v2-hybrid-downgraded-but-pinned",
                "format 2.2: the ML-DSA-65 item and line removed and the head signed again by the Ed25519 half alone (a forger who broke Ed25519); the reader pins the hybrid key",
                downgraded.raw.build(),
            )
            .expect(forged, "not by the pinned issuer"),
        ),
    ]
}
