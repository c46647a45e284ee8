//! The generator of the test vectors, one function per family. Every
//! family starts from the same sample archives, held by [`Samples`]; the
//! output is deterministic, and `tests/tests/all/vectors.rs` fails when
//! it drifts from the checked-in files.

use legation_format::catalog::{CatalogRecord, Encoding, Page, Render};
use legation_format::crypto::{self, DataKey, KeySlot, StreamId};
use legation_format::keys::IssuerKey;
use legation_format::{
    catalog, hex, manifest, MANIFEST_ENTRY, MIMETYPE_ENTRY, SIGNATURE_ENTRY, VIEWER_ENTRY,
};

use super::{Finding, Outcome, Refusal, Vector};
use crate::raw::Raw;
use crate::{identity, issuer, other_issuer, sample_archive, Sample};

/// Every vector, generated from scratch (deterministic).
pub fn all() -> Vec<Vector> {
    let s = Samples::new();
    let mut v = Vec::new();
    v.extend(good(&s));
    v.extend(container(&s));
    v.extend(entry_hashes(&s));
    v.extend(recovery(&s));
    v.extend(signature(&s));
    v.extend(manifest(&s));
    v.extend(key_slots(&s));
    v.extend(records(&s));
    v.extend(catalog(&s));
    v.extend(decoders());
    v.extend(viewer());
    v.extend(errata(&s));
    v
}

/// The sample archives most families change, taken apart once.
struct Samples {
    /// The default sample: signed, small records, no decoder.
    good: Vec<u8>,
    /// `good` as entries.
    raw: Raw,
    /// Its data key.
    key: DataKey,
    /// Its record entries, in container order.
    records: Vec<String>,
    /// Its catalog page 0.
    page0: Page,
    /// The sample with a large, chunked record (`scans/page-1.bin`).
    big: Raw,
    /// Its data key.
    big_key: DataKey,
    /// Its `scans/page-1.bin`.
    scan: CatalogRecord,
    /// Its `legal/act-1.md`.
    act: CatalogRecord,
}

impl Samples {
    fn new() -> Self {
        let good = sample_archive(Sample::default());
        let raw = Raw::parse(&good);
        let key = raw.data_key();
        let records = raw.record_entries();
        let page0 = raw.page(&key, 0);
        let big = Raw::parse(&sample_archive(Sample {
            large: true,
            ..Sample::default()
        }));
        let big_key = big.data_key();
        let big_page0 = big.page(&big_key, 0);
        let find = |path: &str| {
            big_page0
                .records
                .iter()
                .find(|r| r.path == path)
                .unwrap()
                .clone()
        };
        let (scan, act) = (find("scans/page-1.bin"), find("legal/act-1.md"));
        Samples {
            good,
            raw,
            key,
            records,
            page0,
            big,
            big_key,
            scan,
            act,
        }
    }

    /// Where the data of entry `name` starts in `good`.
    fn data_start(&self, name: &str) -> usize {
        offset_of(&self.raw.build(), name.as_bytes()) + name.len()
    }

    /// `good` with one bit of byte `at` flipped.
    fn flipped(&self, at: usize) -> Vec<u8> {
        flip(self.good.clone(), at)
    }

    /// `good` changed by `edit` and signed again by its issuer: what a key
    /// holder who can sign could make.
    fn forged(&self, edit: impl FnOnce(&mut Raw)) -> Vec<u8> {
        forged_on(&self.raw, edit)
    }

    /// Offset of the first central directory header in `good`.
    fn central_directory(&self) -> usize {
        offset_of(&self.good, &0x0201_4b50u32.to_le_bytes())
    }
}

/// `base` changed by `edit` and signed again by the sample's issuer.
fn forged_on(base: &Raw, edit: impl FnOnce(&mut Raw)) -> Vec<u8> {
    let mut r = base.clone();
    edit(&mut r);
    r.reseal(Some(&issuer()), |_| {});
    r.build()
}

/// Archives that must open and verify.
fn good(s: &Samples) -> Vec<Vector> {
    let mut by_identity = Vector::new(
        "good-identity",
        "signed archive, opened with the recipient's identity",
        s.good.clone(),
    );
    by_identity.passphrase = None;
    by_identity.identity = Some(hex::encode(identity().secret()));
    vec![
        Vector::new(
            "good-passphrase",
            "signed archive, opened with its passphrase, issuer pinned",
            s.good.clone(),
        )
        .pin(),
        by_identity,
        Vector::new(
            "good-unsigned",
            "unsigned archive: fixity reports no signer",
            sample_archive(Sample {
                signed: false,
                seed: 2,
                ..Sample::default()
            }),
        ),
    ]
}

/// The ZIP container (SPEC §3): damage a host or a network could do,
/// caught at opening or by the keyless audit.
fn container(s: &Samples) -> Vec<Vector> {
    let good = &s.good;
    let open = Outcome::Open(Refusal::Container);
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"trailing");
    let mut leading = b"prefix".to_vec();
    leading.extend_from_slice(good);
    let mut with_comment = good.clone();
    let n = with_comment.len();
    with_comment[n - 2] = 4;
    with_comment.extend_from_slice(b"note");
    let mut local_crc = good.clone();
    let lh = offset_of(&local_crc, s.records[1].as_bytes()) - 30;
    local_crc[lh + 14] ^= 1; // CRC in the local header only
    let cd = s.central_directory();
    let central_header = |name: &str| offset_of(&good[cd..], name.as_bytes()) + cd - 46;
    let mut declared_size = good.clone();
    let at = central_header(&s.records[0]);
    declared_size[at + 20..at + 28]
        .copy_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff]);
    let mut overlapping = good.clone();
    let at = central_header(&s.records[1]);
    let off = u32::from_le_bytes(overlapping[at + 42..at + 46].try_into().unwrap());
    overlapping[at + 42..at + 46].copy_from_slice(&(off - 100).to_le_bytes());
    let renamed = |i: usize, name: &str| {
        let mut r = s.raw.clone();
        r.entries[i].0 = name.into();
        r.build()
    };
    let mut missing = s.raw.clone();
    missing.entries.retain(|(n, _)| n != &s.records[1]);
    let mut duplicate = s.raw.clone();
    duplicate.entries[3].0 = duplicate.entries[2].0.clone();
    let mut not_legation = s.raw.clone();
    not_legation.entries[0].1 =
        b"application/zip\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
    vec![
        Vector::new("empty-file", "zero bytes", Vec::new()).expect(open.clone(), "too short"),
        Vector::new(
            "truncated-tail",
            "last 100 bytes cut off",
            good[..good.len() - 100].to_vec(),
        )
        .expect(open.clone(), "no end of central directory"),
        Vector::new(
            "truncated-half",
            "second half cut off",
            good[..good.len() / 2].to_vec(),
        )
        .expect(open.clone(), "no end of central directory"),
        Vector::new("trailing-data", "bytes after the end record", trailing)
            .expect(open.clone(), "no end of central directory"),
        Vector::new("leading-data", "bytes before the first entry", leading)
            .expect(open.clone(), "does not end where"),
        Vector::new(
            "eocd-comment",
            "a ZIP comment after the end record",
            with_comment,
        )
        .expect(open.clone(), "no end of central directory"),
        Vector::new(
            "bitflip-local-name",
            "one bit of a record's name in its local header flipped",
            s.flipped(s.data_start(&s.records[0]) - 1),
        )
        .expect(
            Outcome::Fixity(Finding::damaged(s.records[0].clone())),
            "local header",
        )
        .pin(),
        Vector::new(
            "bitflip-local-crc",
            "the CRC-32 of a local header changed",
            local_crc,
        )
        .expect(
            Outcome::Fixity(Finding::damaged(s.records[1].clone())),
            "local header",
        )
        .pin(),
        Vector::new(
            "bitflip-central-time",
            "the DOS time of a central directory header changed",
            s.flipped(cd + 12),
        )
        .expect(open.clone(), "not in canonical form"),
        Vector::new(
            "bitflip-central-crc",
            "the CRC-32 in a central directory header changed",
            s.flipped(cd + 16),
        )
        .expect(mismatch(MIMETYPE_ENTRY), "container says"),
        Vector::new(
            "missing-entry",
            "a record entry removed by the host",
            missing.build(),
        )
        .expect(
            mismatch(MANIFEST_ENTRY),
            "lists 7 entries but the container holds 6",
        ),
        Vector::new(
            "entry-name-dotdot",
            "an entry named ../evil",
            renamed(2, "../evil"),
        )
        .expect(open.clone(), "entry name \"../evil\""),
        Vector::new(
            "entry-name-absolute",
            "an entry with an absolute name",
            renamed(2, "/etc/cron.d/x"),
        )
        .expect(open.clone(), "is absolute"),
        Vector::new(
            "duplicate-entry-names",
            "two entries with the same name",
            duplicate.build(),
        )
        .expect(open.clone(), "duplicate entry name"),
        Vector::new(
            "zip-bomb-declared-size",
            "a central directory header declaring a 4 GiB entry in a small file",
            declared_size,
        )
        .expect(open.clone(), "runs past the central directory"),
        Vector::new(
            "overlapping-entries",
            "an entry's offset pointing into the previous entry",
            overlapping,
        )
        .expect(open, "gap or overlap"),
        Vector::new(
            "not-legation",
            "a ZIP whose first entry is not the Legation mimetype",
            not_legation.build(),
        )
        .expect(
            Outcome::Open(Refusal::NotLegation),
            "not a Legation archive",
        ),
    ]
}

/// Entries whose bytes no longer hash to what the manifest pins (SPEC
/// §16.2): the keyless audit names them.
fn entry_hashes(s: &Samples) -> Vec<Vector> {
    vec![
        Vector::new(
            "bitflip-record-data",
            "one bit of a record's ciphertext flipped",
            s.flipped(s.data_start(&s.records[1]) + 100),
        )
        .expect(
            Outcome::Fixity(Finding::damaged(s.records[1].clone())),
            "BLAKE3",
        )
        .pin(),
        Vector::new(
            "bitflip-catalog-page",
            "one bit of catalog page 0 flipped",
            s.flipped(s.data_start("c/00000000") + 10),
        )
        .expect(Outcome::Fixity(Finding::damaged("c/00000000")), "BLAKE3")
        .pin(),
    ]
}

/// The recovery data: the manifest's own parity and the catalog's parity
/// entries, which put damage right or name what they cannot.
fn recovery(s: &Samples) -> Vec<Vector> {
    let mf_at = s.data_start(MANIFEST_ENTRY);
    let mut destroyed = s.good.clone();
    let mf_len = s.raw.get(MANIFEST_ENTRY).len();
    destroyed[mf_at..mf_at + mf_len].fill(0);
    vec![
        Vector::new(
            "bitflip-catalog-parity",
            "one bit of the catalog's parity entry flipped",
            s.flipped(s.data_start("p/00000000") + 10),
        )
        .expect(
            Outcome::Fixity(Finding::damaged("p/00000000")),
            "p/00000000: BLAKE3",
        )
        .pin(),
        Vector::new(
            "bitflip-manifest",
            "one bit of manifest.json flipped: put right from its recovery data when opened, and named by fixity",
            s.flipped(mf_at + 40),
        )
        .expect(
            Outcome::Fixity(Finding::damaged(MANIFEST_ENTRY)),
            "manifest.json: BLAKE3",
        ),
        Vector::new(
            "manifest-destroyed",
            "manifest.json overwritten with zeros: beyond its recovery data",
            destroyed,
        )
        .expect(mismatch(MANIFEST_ENTRY), "cannot put it right"),
    ]
}

/// The issuer's signature over the manifest (SPEC §6), and forgeries: a
/// re-signed manifest is consistent, but not the pinned issuer's.
fn signature(s: &Samples) -> Vec<Vector> {
    let mut other_text = s.raw.clone();
    let mut sig = other_text.get(SIGNATURE_ENTRY).clone();
    sig[5] = if sig[5] == b'0' { b'1' } else { b'0' };
    *other_text.get_mut(SIGNATURE_ENTRY) = sig;
    let mut malleable = s.raw.clone();
    let mut sig = manifest::parse_signature(malleable.get(SIGNATURE_ENTRY)).unwrap();
    add_group_order(&mut sig[32..]);
    *malleable.get_mut(SIGNATURE_ENTRY) = manifest::format_signature(&sig);
    let mut removed = s.raw.clone();
    removed.entries.retain(|(n, _)| n != SIGNATURE_ENTRY);
    let mut resigned = s.raw.clone();
    resigned.reseal(Some(&other_issuer()), |m| {
        m.created = "2020-01-01T00:00:00Z".into()
    });
    let mut unsigned = s.raw.clone();
    unsigned.reseal(None, |_| {});
    let forged = Outcome::Fixity(Finding::forged(SIGNATURE_ENTRY));
    vec![
        Vector::new(
            "bitflip-signature",
            "one bit of manifest.sig flipped: the archive opens, but who signed it cannot be checked",
            s.flipped(s.data_start(SIGNATURE_ENTRY) + 3),
        )
        .expect(
            Outcome::Fixity(Finding::damaged(SIGNATURE_ENTRY)),
            "manifest.sig: damaged",
        ),
        Vector::new(
            "wrong-signature",
            "another valid-looking signature, CRCs consistent",
            other_text.build(),
        )
        .expect(forged.clone(), "signature does not verify"),
        Vector::new(
            "malleable-signature",
            "S replaced by S + L: valid under lax rules, refused under strict ones",
            malleable.build(),
        )
        .expect(forged.clone(), "signature does not verify"),
        Vector::new(
            "signature-removed",
            "the host strips manifest.sig",
            removed.build(),
        )
        .expect(
            mismatch(SIGNATURE_ENTRY),
            "missing but the manifest names an issuer",
        ),
        Vector::new(
            "resigned-by-other-issuer",
            "manifest changed and signed by another key",
            resigned.build(),
        )
        .expect(
            forged.clone(),
            "not by the pinned issuer",
        )
        .pin(),
        Vector::new(
            "unsigned-but-pinned",
            "signature stripped and manifest rewritten as unsigned; the reader pins an issuer",
            unsigned.build(),
        )
        .expect(
            forged.clone(),
            "not signed",
        )
        .pin(),
    ]
}

/// The manifest (SPEC §5): fields a reader ignores, and versions and
/// parameters it must refuse.
fn manifest(s: &Samples) -> Vec<Vector> {
    let mut future = s.raw.clone();
    let mf = String::from_utf8(future.manifest().to_bytes())
        .unwrap()
        .replacen("{\"format\"", "{\"future_field\":{\"x\":1},\"format\"", 1);
    future.set_manifest_bytes(mf.into_bytes(), Some(&issuer()));
    let resealed = |edit: fn(&mut manifest::Manifest)| {
        let mut r = s.raw.clone();
        r.reseal(Some(&issuer()), edit);
        r.build()
    };
    vec![
        Vector::new(
            "unknown-optional-field",
            "an unknown manifest field is ignored",
            future.build(),
        )
        .pin(),
        Vector::new(
            "unknown-major-version",
            "a future major version",
            resealed(|m| m.version = "2.0".into()),
        )
        .expect(
            Outcome::Open(Refusal::UnsupportedVersion),
            "format version 2.0 is not supported",
        ),
        Vector::new(
            "wrong-chunk-size",
            "chunk size other than 65536",
            resealed(|m| m.chunk_size = 1024),
        )
        .expect(Outcome::Open(Refusal::Invalid), "chunk size 1024"),
    ]
}

/// Key slots and unlocking (SPEC §7).
fn key_slots(s: &Samples) -> Vec<Vector> {
    let mut unknown = s.raw.clone();
    unknown.reseal(Some(&issuer()), |m| m.key_slots.push(KeySlot::Unknown));
    let mut unknown_bytes = unknown.build();
    // Give the unknown slot a type and a field this reader has never seen.
    let mf = unknown.manifest().to_bytes();
    let typed = String::from_utf8(mf.clone()).unwrap().replacen(
        "{\"type\":\"unknown\"",
        "{\"type\":\"ml-kem-768\",\"ciphertext\":\"00\"",
        1,
    );
    if typed.as_bytes() != mf.as_slice() {
        unknown.set_manifest_bytes(typed.into_bytes(), Some(&issuer()));
        unknown_bytes = unknown.build();
    }
    let resealed = |edit: fn(&mut manifest::Manifest)| {
        let mut r = s.raw.clone();
        r.reseal(Some(&issuer()), edit);
        r.build()
    };
    let mut wrong_passphrase = Vector::new(
        "wrong-passphrase",
        "a passphrase that is not the archive's",
        s.good.clone(),
    )
    .expect(Outcome::NoKey, "");
    wrong_passphrase.passphrase = Some("not the passphrase at all, sorry".into());
    let mut wrong_identity = Vector::new(
        "wrong-identity",
        "an identity the archive was not packed for",
        s.good.clone(),
    )
    .expect(Outcome::NoKey, "");
    wrong_identity.passphrase = None;
    wrong_identity.identity = Some(hex::encode(&[0x44; 32]));
    vec![
        Vector::new(
            "unknown-slot-type",
            "a key slot of an unknown type is skipped",
            unknown_bytes,
        )
        .pin(),
        wrong_passphrase,
        wrong_identity,
        Vector::new(
            "hostile-kdf-memory",
            "Argon2id asking for 2 TiB",
            resealed(|m| {
                for s in &mut m.key_slots {
                    if let KeySlot::Passphrase { params, .. } = s {
                        params.memory_kib = 1 << 31;
                    }
                }
            }),
        )
        .expect(Outcome::Unlock(Refusal::HostileKdf), "exceeds the bound"),
        Vector::new(
            "too-many-passphrase-slots",
            "ten passphrase slots, each an Argon2id run",
            resealed(|m| {
                let s = m
                    .key_slots
                    .iter()
                    .find(|s| matches!(s, KeySlot::Passphrase { .. }))
                    .unwrap()
                    .clone();
                m.key_slots.extend(std::iter::repeat_n(s, 9));
            }),
        )
        .expect(Outcome::Unlock(Refusal::HostileKdf), "passphrase slots"),
        Vector::new(
            "key-commitment-mismatch",
            "the manifest commits to another data key",
            resealed(|m| m.key_commitment[0] ^= 1),
        )
        .expect(Outcome::Unlock(Refusal::KeyCommitment), "key commitment"),
        Vector::new(
            "kdf-params-changed",
            "the host (or anyone) lowers or changes KDF parameters: the derived key changes",
            resealed(|m| {
                for s in &mut m.key_slots {
                    if let KeySlot::Passphrase { params, .. } = s {
                        params.iterations = 2;
                    }
                }
            }),
        )
        .expect(Outcome::NoKey, ""),
    ]
}

/// Records and their encrypted streams (SPEC §8, §9), forged by a key
/// holder who can sign: the content check still catches the lies.
fn records(s: &Samples) -> Vec<Vector> {
    let key = &s.key;
    let id = s.raw.manifest().archive_id;
    let (big_key, scan_entry, act_entry) = (&s.big_key, &s.scan.entry, &s.act.entry);
    let damaged = |path: &str| Outcome::Content(Finding::damaged(path));
    let other = Raw::parse(&sample_archive(Sample {
        seed: 3,
        large: true,
        ..Sample::default()
    }));
    let other_scan = other
        .page(&other.data_key(), 0)
        .records
        .iter()
        .find(|x| x.path == "scans/page-1.bin")
        .unwrap()
        .entry
        .clone();
    let spliced = other.get(&other_scan).clone();
    let people = s
        .page0
        .records
        .iter()
        .find(|x| x.path == "registers/people.csv")
        .unwrap();
    vec![
        Vector::new(
            "record-larger-than-declared",
            "the catalog declares fewer bytes than the record holds",
            s.forged(|r| {
                r.edit_page(key, 0, |p| {
                    p.records
                        .iter_mut()
                        .filter(|x| x.path == "legal/act-1.md")
                        .for_each(|x| x.size -= 10)
                });
            }),
        )
        .expect(damaged("legal/act-1.md"), "more than the")
        .pin(),
        Vector::new(
            "record-hash-mismatch",
            "the catalog's plaintext hash is not the record's",
            s.forged(|r| {
                r.edit_page(key, 0, |p| {
                    p.records
                        .iter_mut()
                        .filter(|x| x.path == "registers/people.csv")
                        .for_each(|x| x.blake3[0] ^= 1)
                });
            }),
        )
        .expect(
            damaged("registers/people.csv"),
            "BLAKE3 of the bytes differs",
        )
        .pin(),
        Vector::new(
            "chunk-swap",
            "two chunks of a record swapped",
            forged_on(&s.big, |r| {
                let d = r.get_mut(scan_entry);
                let c = crypto::SEALED_CHUNK;
                let first: Vec<u8> = d[..c].to_vec();
                d.copy_within(c..2 * c, 0);
                d[c..2 * c].copy_from_slice(&first);
            }),
        )
        .expect(damaged("scans/page-1.bin"), "chunk 0")
        .pin(),
        Vector::new(
            "chunk-truncated",
            "the last chunk of a record dropped",
            forged_on(&s.big, |r| {
                r.get_mut(scan_entry).truncate(2 * crypto::SEALED_CHUNK);
            }),
        )
        .expect(damaged("scans/page-1.bin"), "catalog sizes need")
        .pin(),
        Vector::new(
            "record-stream-swap",
            "two records' stream nonces swapped in the catalog",
            forged_on(&s.big, |r| {
                r.edit_page(big_key, 0, |p| {
                    let a = p.records.iter().position(|x| &x.entry == act_entry);
                    let b = p.records.iter().position(|x| &x.entry == scan_entry);
                    let (a, b) = (a.unwrap(), b.unwrap());
                    let s = p.records[a].stream;
                    p.records[a].stream = p.records[b].stream;
                    p.records[b].stream = s;
                });
            }),
        )
        .expect(damaged("legal/act-1.md"), "chunk 0")
        .pin(),
        Vector::new(
            "cross-archive-splice",
            "a record's entry replaced by the same record from another archive",
            forged_on(&s.big, |r| *r.get_mut(scan_entry) = spliced),
        )
        .expect(damaged("scans/page-1.bin"), "chunk 0")
        .pin(),
        Vector::new(
            "orphan-record-entry",
            "an extra record entry the catalog does not list",
            s.forged(|r| {
                let at = r
                    .entries
                    .iter()
                    .position(|(n, _)| n.starts_with("c/"))
                    .unwrap();
                r.entries
                    .insert(at, ("r/00000000deadbeef".into(), vec![0; 16]));
            }),
        )
        .expect(damaged("r/00000000deadbeef"), "no catalog record refers to")
        .pin(),
        Vector::new(
            "entry-used-twice",
            "two catalog records pointing at one entry",
            s.forged(|r| {
                r.edit_page(key, 0, |p| {
                    let e = p.records[0].entry.clone();
                    p.records[1].entry = e;
                });
            }),
        )
        .expect(
            damaged(&s.page0.records[1].path),
            "already used by another record",
        )
        .pin(),
        Vector::new(
            "padding-not-zero",
            "a record stream whose Padmé padding is not zero",
            s.forged(|r| {
                let padded = crypto::padme(people.stored_size);
                assert!(padded > people.stored_size, "the sample needs padding here");
                let plain = open_record(r, key, id, people);
                let mut p = plain[..people.stored_size as usize].to_vec();
                p.resize(padded as usize, 0xAA);
                *r.get_mut(&people.entry) =
                    crypto::seal_stream(&key.stream_key(&id, StreamId::Record(people.stream)), &p);
            }),
        )
        .expect(
            damaged("registers/people.csv"),
            "padding bytes are not zero",
        )
        .pin(),
        Vector::new(
            "deflate-bomb",
            "a compressed record that inflates far past its declared size",
            s.forged(|r| {
                let mut bomb_entry = None;
                r.edit_page(key, 0, |p| {
                    let rec = p
                        .records
                        .iter_mut()
                        .find(|x| x.path == "registers/people.csv")
                        .unwrap();
                    let bomb = miniz_oxide::deflate::compress_to_vec(&vec![0u8; 8 << 20], 9);
                    rec.encoding = Encoding::Deflate;
                    rec.stored_size = bomb.len() as u64;
                    let mut padded = bomb.clone();
                    padded.resize(crypto::padme(bomb.len() as u64) as usize, 0);
                    let sealed = crypto::seal_stream(
                        &key.stream_key(&id, StreamId::Record(rec.stream)),
                        &padded,
                    );
                    bomb_entry = Some((rec.entry.clone(), sealed));
                });
                let (entry, sealed) = bomb_entry.unwrap();
                *r.get_mut(&entry) = sealed;
            }),
        )
        .expect(damaged("registers/people.csv"), "more than the")
        .pin(),
    ]
}

/// The catalog (SPEC §10): order, paths and the parser's bounds.
fn catalog(s: &Samples) -> Vec<Vector> {
    let key = &s.key;
    vec![
        Vector::new(
            "catalog-page-out-of-order",
            "catalog records not in path order",
            forged_on(&s.big, |r| {
                r.edit_page(&s.big_key, 0, |p| p.records.swap(1, 2));
            }),
        )
        .expect(
            Outcome::Content(Finding::damaged("c/00000000")),
            "strict path order",
        )
        .pin(),
        Vector::new(
            "catalog-path-traversal",
            "a record path that climbs out of the extraction folder",
            s.forged(|r| {
                r.edit_page(key, 0, |p| {
                    assert_eq!(p.records[1].path, "legal/act-1.md");
                    p.records[1].path = "legal/../../etc/passwd".into();
                });
            }),
        )
        .expect(
            Outcome::Content(Finding::damaged("c/00000000")),
            "'..' segment",
        )
        .pin(),
        Vector::new(
            "catalog-page-item-flood",
            "a catalog page of a few kilobytes sealed that would parse into 300,000 empty metadata strings (SPEC 1.3.1 §10.1: items are bounded, not only bytes)",
            s.forged(|r| {
                r.edit_page(key, 0, |p| {
                    p.records[0]
                        .metadata
                        .insert("subject".into(), vec![String::new(); 300_000]);
                });
            }),
        )
        .expect(
            Outcome::Content(Finding::damaged("c/00000000")),
            "JSON items",
        )
        .pin(),
    ]
}

/// Decoders (SPEC §12, §15): pinned by hash, checked at every level.
fn decoders() -> Vec<Vector> {
    let with = sample_archive(Sample {
        decoder: true,
        seed: 4,
        ..Sample::default()
    });
    let raw = Raw::parse(&with);
    let key = raw.data_key();
    let entry = raw.manifest().decoders[0].entry.clone();
    let at = offset_of(&raw.build(), entry.as_bytes()) + entry.len();
    let mut misnamed = raw.clone();
    let renamed = "d/0123456789abcdef.wasm".to_owned();
    misnamed
        .entries
        .iter_mut()
        .filter(|(n, _)| *n == entry)
        .for_each(|(n, _)| *n = renamed.clone());
    misnamed.reseal(Some(&issuer()), |m| m.decoders[0].entry = renamed.clone());
    let mut mislisted = raw.clone();
    mislisted.reseal(Some(&issuer()), |m| m.decoders[0].version = "9.9.9".into());
    let second = raw.page(&key, 0).records[1].path.clone();
    let first = raw.page(&key, 0).records[0].path.clone();
    vec![
        Vector::new(
            "good-with-decoder",
            "records rendered by a tiny decoder; the render check re-renders them",
            with.clone(),
        )
        .pin(),
        Vector::new(
            "decoder-bitflip",
            "one bit of the decoder module flipped by the host",
            flip(with, at + 40),
        )
        .expect(Outcome::Fixity(Finding::damaged(entry.clone())), "BLAKE3")
        .pin(),
        Vector::new(
            "decoder-misnamed",
            "a decoder entry whose name is not its hash",
            misnamed.build(),
        )
        .expect(mismatch(&renamed), "not named after its BLAKE3")
        .pin(),
        Vector::new(
            "decoder-manifest-mismatch",
            "the manifest's decoders item gives another version than the module's legation.decoder section, signed by the issuer (SPEC 2.0 §32 row 12)",
            mislisted.build(),
        )
        .expect(
            Outcome::Fixity(Finding::damaged(entry.clone())),
            "its legation.decoder section gives version",
        )
        .pin(),
        Vector::new(
            "render-hash-mismatch",
            "the catalog records a view hash the decoder does not give",
            forged_on(&raw, |r| {
                r.edit_page(&key, 0, |p| {
                    if let Some(Render::Rendered { blake3, .. }) = &mut p.records[1].render {
                        blake3[0] ^= 1;
                    }
                })
            }),
        )
        .expect(
            Outcome::Render(Finding::damaged(second)),
            "differs from the one recorded",
        )
        .pin(),
        Vector::new(
            "record-decoder-unlisted",
            "a record names a decoder the manifest does not list",
            forged_on(&raw, |r| {
                r.edit_page(&key, 0, |p| {
                    p.records[0].decoder = Some("d/00000000000000ff.wasm".into())
                })
            }),
        )
        .expect(
            Outcome::Content(Finding::damaged(first)),
            "not in the manifest",
        )
        .pin(),
    ]
}

/// The embedded viewer (format 1.1): a plain entry pinned like any other.
fn viewer() -> Vec<Vector> {
    let viewer = sample_archive(Sample {
        viewer: true,
        seed: 5,
        ..Sample::default()
    });
    let at = offset_of(&viewer, b"<p>A stand-in.");
    vec![
        Vector::new(
            "good-with-viewer",
            "a 1.1 archive carrying viewer.html after SPEC.md's place; readers check its fixity and otherwise ignore it",
            viewer.clone(),
        )
        .pin(),
        Vector::new(
            "viewer-bitflip",
            "one bit of the embedded viewer flipped by the host (a swapped viewer)",
            flip(viewer, at + 3),
        )
        .expect(
            Outcome::Fixity(Finding::damaged(VIEWER_ENTRY)),
            "BLAKE3",
        )
        .pin(),
    ]
}

/// Opening fails because the container and the manifest disagree about
/// `entry`.
fn mismatch(entry: &str) -> Outcome {
    Outcome::Open(Refusal::ManifestMismatch(entry.into()))
}

fn flip(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
    bytes[at] ^= 0x01;
    bytes
}

fn offset_of(bytes: &[u8], needle: &[u8]) -> usize {
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

/// The padded plaintext of record `rec` in `r`.
fn open_record(r: &Raw, key: &DataKey, id: [u8; 16], rec: &CatalogRecord) -> Vec<u8> {
    crypto::open_stream(
        &key.stream_key(&id, StreamId::Record(rec.stream)),
        r.get(&rec.entry),
    )
    .unwrap()
}

/// Adds the Ed25519 group order L to a little-endian 256-bit scalar.
fn add_group_order(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(s[i]) + u16::from(L[i]) + carry;
        s[i] = v as u8;
        carry = v >> 8;
    }
}

/// A 1.x manifest rewritten as JSON text by `edit` (its recovery data made
/// again over the result, §5.5) and signed by `signer`, after `base` was
/// resealed by [`Raw::reseal`].
fn json_edited(
    base: &Raw,
    signer: Option<&IssuerKey>,
    edit: impl FnOnce(String) -> String,
) -> Vec<u8> {
    let mut r = base.clone();
    let json = String::from_utf8(serde_json::to_vec(&r.manifest()).unwrap()).unwrap();
    let bytes = legation_format::recovery::protect_manifest(edit(json).as_bytes());
    r.set_manifest_bytes(bytes, signer);
    r.build()
}

/// The 1.x verdicts SPEC text 2.0 settles (its §32), each with a vector.
fn errata(s: &Samples) -> Vec<Vector> {
    let key = &s.key;
    let id = s.raw.manifest().archive_id;
    let unsigned = Raw::parse(&sample_archive(Sample {
        signed: false,
        seed: 2,
        ..Sample::default()
    }));
    let mut unsigned_resealed = unsigned.clone();
    unsigned_resealed.reseal(None, |_| {});
    let resealed = |edit: fn(&mut manifest::Manifest)| {
        let mut r = s.raw.clone();
        r.reseal(Some(&issuer()), edit);
        r.build()
    };
    let mut trailing = s.raw.clone();
    let sk = key.stream_key(&id, StreamId::CatalogPage(0));
    let name = legation_format::catalog_page_entry(0);
    let mut plain = crypto::open_stream(&sk, trailing.get(&name)).unwrap();
    plain.extend_from_slice(b"trailing bytes");
    *trailing.get_mut(&name) = crypto::seal_stream(&sk, &plain);
    let mut swapped = s.raw.clone();
    let a = swapped
        .entries
        .iter()
        .position(|(n, _)| n == &s.records[0])
        .unwrap();
    let b = swapped
        .entries
        .iter()
        .position(|(n, _)| n == &s.records[1])
        .unwrap();
    swapped.entries.swap(a, b);
    let mut early = s.raw.clone();
    let page = early.entries.iter().position(|(n, _)| n == &name).unwrap();
    let moved = early.entries.remove(page);
    early.entries.insert(a.min(b), moved);
    let mut no_recovery = s.raw.clone();
    no_recovery.entries.retain(|(n, _)| !n.starts_with("p/"));
    no_recovery.reseal(Some(&issuer()), |_| {});
    let mut m = no_recovery.manifest();
    assert_eq!(m.version, "1.2", "the sample is a 1.2 archive");
    m.version = "1.2".into();
    let mut bytes = serde_json::to_vec(&m).unwrap();
    bytes.push(b'\n');
    no_recovery.set_manifest_bytes(bytes, Some(&issuer()));
    let mut unlisted = s.raw.clone();
    let module = crate::tiny_decoder();
    unlisted.entries.insert(
        1,
        (
            manifest::decoder_entry(blake3::hash(&module).as_bytes()),
            module,
        ),
    );
    let mut count = s.raw.clone();
    let isk = key.stream_key(&id, StreamId::CatalogIndex);
    let index_name = legation_format::CATALOG_INDEX_ENTRY;
    let json = catalog::inflate(
        &crypto::open_stream(&isk, count.get(index_name)).unwrap(),
        catalog::MAX_INDEX_BYTES,
        index_name,
    )
    .unwrap();
    let mut index: catalog::Index = serde_json::from_slice(&json).unwrap();
    index.records += 1;
    *count.get_mut(index_name) = crypto::seal_stream(
        &isk,
        &catalog::deflate(&serde_json::to_vec(&index).unwrap()),
    );
    let mut noncanonical = s.raw.clone();
    noncanonical.reseal(Some(&issuer()), |_| {});
    let mut m = noncanonical.manifest();
    // y = p + 1 = 2^255 - 18: not below p, so not a canonical encoding.
    let mut y = [0xffu8; 32];
    y[0] = 0xee;
    y[31] = 0x7f;
    m.issuer.as_mut().unwrap().public_key = y;
    let bytes = m.to_bytes();
    let sig = manifest::format_signature(&crypto::sign(issuer().secret(), &bytes));
    noncanonical.set_manifest_bytes(bytes, None);
    noncanonical.entries.push((SIGNATURE_ENTRY.into(), sig));
    vec![
        Vector::new(
            "kdf-bound-second-slot",
            "a good passphrase slot, then one asking for 4 GiB: unlocking fails whatever key is given (SPEC 2.0 §32 row 3)",
            resealed(|m| {
                let mut slot = m
                    .key_slots
                    .iter()
                    .find(|s| matches!(s, KeySlot::Passphrase { .. }))
                    .unwrap()
                    .clone();
                if let KeySlot::Passphrase { params, .. } = &mut slot {
                    params.memory_kib = 4 << 20;
                }
                m.key_slots.push(slot);
            }),
        )
        .expect(Outcome::Unlock(Refusal::HostileKdf), "exceeds the bound")
        .pin(),
        Vector::new(
            "manifest-issuer-null",
            "an unsigned archive whose manifest says \"issuer\":null, the same as no issuer (SPEC 2.0 §32 row 7)",
            json_edited(&unsigned_resealed, None, |j| {
                j.replacen("{\"format\"", "{\"issuer\":null,\"format\"", 1)
            }),
        ),
        Vector::new(
            "manifest-decoders-null",
            "a manifest whose decoders member is null, which only optional members may be (SPEC 2.0 §32 row 7)",
            json_edited(&s.raw, Some(&issuer()), |j| {
                j.replacen("{\"format\"", "{\"decoders\":null,\"format\"", 1)
            }),
        )
        .expect(Outcome::Open(Refusal::Json), "invalid type: null"),
        Vector::new(
            "version-leading-zero",
            "a manifest version with a leading zero, 01.2 (SPEC 2.0 §32 row 8)",
            resealed(|m| m.version = "01.2".into()),
        )
        .expect(Outcome::Open(Refusal::UnsupportedVersion), "01.2"),
        Vector::new(
            "catalog-page-trailing-bytes",
            "bytes after the final DEFLATE block of a 1.x catalog page are ignored (SPEC 2.0 §32 row 9)",
            forged_on(&trailing, |_| {}),
        )
        .pin(),
        Vector::new(
            "record-entries-swapped",
            "two record entries in another order than their paths (SPEC 2.0 §32 row 10)",
            forged_on(&swapped, |_| {}),
        )
        .pin(),
        Vector::new(
            "catalog-page-early",
            "the catalog page before the records it describes (SPEC 2.0 §32 row 10)",
            forged_on(&early, |_| {}),
        )
        .pin(),
        Vector::new(
            "version-1.2-without-recovery",
            "a \"1.2\" archive with no recovery member and no parity entry (SPEC 2.0 §32 row 10)",
            no_recovery.build(),
        )
        .pin(),
        Vector::new(
            "decoder-unlisted-entry",
            "a d/ entry the manifest's decoders does not list, which no reader runs (SPEC 2.0 §32 row 10)",
            forged_on(&unlisted, |_| {}),
        )
        .pin(),
        Vector::new(
            "issuer-key-noncanonical",
            "the manifest's issuer key is an encoding with y at or above p (SPEC 2.0 §32 row 13a)",
            noncanonical.build(),
        )
        .expect(
            Outcome::Fixity(Finding::forged(SIGNATURE_ENTRY)),
            "signature does not verify",
        ),
        Vector::new(
            "catalog-index-count-mismatch",
            "the catalog index counts one record more than its pages hold: an unlock failure (SPEC 2.0 §32 row 14)",
            forged_on(&count, |_| {}),
        )
        .expect(Outcome::Unlock(Refusal::Invalid), "records"),
    ]
}
