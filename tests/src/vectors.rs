//! The format's test vectors: one file each in `format/testdata/`, a text
//! header of `key: value` lines, a blank line, then the archive's bytes.
//!
//! Header keys: `expect` (what a reader must conclude), `passphrase`,
//! `identity` (hex X25519 secret), `issuer` (hex Ed25519 public key the
//! reader pins), `comment`. Expectations:
//! - `success`: fixity and content verify with the given key;
//! - `open failure: TEXT`: opening fails, the message contains TEXT;
//! - `fixity failure: TEXT`: the keyless audit reports a problem containing TEXT;
//! - `no key`: no key given opens the archive;
//! - `unlock failure: TEXT`: unlocking fails for another reason;
//! - `content failure: TEXT`: fixity passes, the content check reports TEXT.

use legation_format::catalog::Encoding;
use legation_format::crypto::{self, StreamId};
use legation_format::hex;
use legation_reader::source::{CountingSource, MemSource};
use legation_reader::{Archive, Key};
use std::sync::Arc;
use zeroize::Zeroizing;

use crate::raw::Raw;
use crate::{identity, issuer, other_issuer, sample_archive, Sample, PASSPHRASE};

/// One test vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vector {
    /// File name without extension.
    pub name: String,
    /// The `expect:` line.
    pub expect: String,
    /// Passphrase to try.
    pub passphrase: Option<String>,
    /// Identity (hex secret) to try.
    pub identity: Option<String>,
    /// Issuer public key (hex) to pin.
    pub issuer: Option<String>,
    /// What the vector is about.
    pub comment: String,
    /// The archive.
    pub bytes: Vec<u8>,
}

impl Vector {
    fn new(name: &str, expect: &str, comment: &str, bytes: Vec<u8>) -> Self {
        Vector {
            name: name.into(),
            expect: expect.into(),
            passphrase: Some(PASSPHRASE.into()),
            identity: None,
            issuer: None,
            comment: comment.into(),
            bytes,
        }
    }
    fn pin(mut self) -> Self {
        self.issuer = Some(hex::encode(&issuer().public()));
        self
    }

    /// The file's bytes.
    pub fn to_file(&self) -> Vec<u8> {
        let mut s = format!("expect: {}\n", self.expect);
        if let Some(p) = &self.passphrase {
            s.push_str(&format!("passphrase: {p}\n"));
        }
        if let Some(i) = &self.identity {
            s.push_str(&format!("identity: {i}\n"));
        }
        if let Some(i) = &self.issuer {
            s.push_str(&format!("issuer: {i}\n"));
        }
        s.push_str(&format!("comment: {}\n\n", self.comment));
        let mut v = s.into_bytes();
        v.extend_from_slice(&self.bytes);
        v
    }

    /// Parses a vector file.
    pub fn from_file(name: &str, data: &[u8]) -> Result<Self, String> {
        let split = data
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or("no blank line after the header")?;
        let header = std::str::from_utf8(&data[..split]).map_err(|_| "header is not UTF-8")?;
        let mut v = Vector {
            name: name.into(),
            expect: String::new(),
            passphrase: None,
            identity: None,
            issuer: None,
            comment: String::new(),
            bytes: data[split + 2..].to_vec(),
        };
        for line in header.lines() {
            let (k, val) = line
                .split_once(": ")
                .ok_or_else(|| format!("bad header line {line:?}"))?;
            match k {
                "expect" => v.expect = val.into(),
                "passphrase" => v.passphrase = Some(val.into()),
                "identity" => v.identity = Some(val.into()),
                "issuer" => v.issuer = Some(val.into()),
                "comment" => v.comment = val.into(),
                _ => return Err(format!("unknown header key {k:?}")),
            }
        }
        Ok(v)
    }

    /// Runs the vector against the reader, decoding with wasmtime.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn check(&self) -> Result<(), String> {
        self.check_with(&legation_reader::decode::Host::native())
    }

    /// Runs the vector against the reader, decoding with `host`; `Err`
    /// says how the outcome differs from the expectation.
    pub fn check_with(&self, host: &legation_reader::decode::Host) -> Result<(), String> {
        self.check_counting(host).map(|_| ())
    }

    /// Like [`Vector::check_with`], and says how many bytes the reader read
    /// from the archive on the way (every stage the vector reaches).
    pub fn check_counting(&self, host: &legation_reader::decode::Host) -> Result<u64, String> {
        let source = Arc::new(CountingSource::new(MemSource::new(
            self.bytes.clone(),
            self.name.clone(),
        )));
        self.run(host, source.clone())?;
        Ok(source.bytes_read())
    }

    fn run(
        &self,
        host: &legation_reader::decode::Host,
        source: Arc<CountingSource<MemSource>>,
    ) -> Result<(), String> {
        let (what, text) = self
            .expect
            .split_once(": ")
            .unwrap_or((self.expect.as_str(), ""));
        let fail = |got: String| Err(format!("expected {}, got {got}", self.expect));
        let archive = match Archive::open(source) {
            Ok(a) => a,
            Err(e) if what == "open failure" && e.to_string().contains(text) => return Ok(()),
            Err(e) => return fail(format!("open failure: {e}")),
        };
        if what == "open failure" {
            return fail("a successful open".into());
        }
        let pinned = self
            .issuer
            .as_deref()
            .map(|h| hex::decode_array::<32>(h).expect("issuer hex"));
        let fixity = archive.verify_fixity(pinned.as_ref(), &mut |_, _| true);
        if what == "fixity failure" {
            return match fixity.problems.iter().find(|p| p.message.contains(text)) {
                Some(_) => Ok(()),
                None => fail(format!("fixity problems {:?}", fixity.problems)),
            };
        }
        if !fixity.ok() {
            return fail(format!("fixity problems {:?}", fixity.problems));
        }
        let mut keys = Vec::new();
        if let Some(p) = &self.passphrase {
            keys.push(Key::Passphrase(Zeroizing::new(p.clone())));
        }
        if let Some(i) = &self.identity {
            keys.push(Key::Identity(legation_format::keys::Identity::from_bytes(
                hex::decode_array(i).expect("identity hex"),
            )));
        }
        let unlocked = match archive.unlock(&keys) {
            Ok(u) => u,
            Err(e) if what == "no key" && e.kind() == legation_reader::ErrorKind::WrongKey => {
                return Ok(())
            }
            Err(e) if what == "unlock failure" && e.to_string().contains(text) => return Ok(()),
            Err(e) => return fail(format!("unlock failure: {e}")),
        };
        let content = unlocked.verify_content(pinned.as_ref(), &mut |_, _| true);
        if content.ok() && (what == "success" || what == "render failure") {
            let render = unlocked.verify_render(host, pinned.as_ref(), &mut |_, _| true);
            return match what {
                "success" if render.ok() => Ok(()),
                "render failure" if render.problems.iter().any(|p| p.message.contains(text)) => {
                    Ok(())
                }
                _ => fail(format!("render problems {:?}", render.problems)),
            };
        }
        match what {
            "content failure" if content.problems.iter().any(|p| p.message.contains(text)) => {
                Ok(())
            }
            _ => fail(format!("content problems {:?}", content.problems)),
        }
    }
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

/// Every vector, generated from scratch (deterministic).
pub fn all() -> Vec<Vector> {
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
    let scan = big_page0
        .records
        .iter()
        .find(|r| r.path == "scans/page-1.bin")
        .unwrap()
        .clone();
    let act = big_page0
        .records
        .iter()
        .find(|r| r.path == "legal/act-1.md")
        .unwrap()
        .clone();
    let data_start = |name: &str| {
        let bytes = raw.build();
        offset_of(&bytes, name.as_bytes()) + name.len()
    };
    let mut v = Vec::new();

    // Archives that must open.
    v.push(
        Vector::new(
            "good-passphrase",
            "success",
            "signed archive, opened with its passphrase, issuer pinned",
            good.clone(),
        )
        .pin(),
    );
    let mut g = Vector::new(
        "good-identity",
        "success",
        "signed archive, opened with the recipient's identity",
        good.clone(),
    );
    g.passphrase = None;
    g.identity = Some(hex::encode(identity().secret()));
    v.push(g);
    v.push(Vector::new(
        "good-unsigned",
        "success",
        "unsigned archive: fixity reports no signer",
        sample_archive(Sample {
            signed: false,
            seed: 2,
            ..Sample::default()
        }),
    ));
    let mut r = raw.clone();
    r.reseal(Some(&issuer()), |m| {
        m.key_slots.push(legation_format::crypto::KeySlot::Unknown)
    });
    let mut bytes = r.build();
    // Give the unknown slot a type and a field this reader has never seen.
    let mut mf = r.manifest().to_bytes();
    let s = String::from_utf8(mf.clone()).unwrap().replacen(
        "{\"type\":\"unknown\"",
        "{\"type\":\"ml-kem-768\",\"ciphertext\":\"00\"",
        1,
    );
    if s.as_bytes() != mf.as_slice() {
        mf = s.into_bytes();
        let mut r2 = r.clone();
        r2.set_manifest_bytes(mf, Some(&issuer()));
        bytes = r2.build();
    }
    v.push(
        Vector::new(
            "unknown-slot-type",
            "success",
            "a key slot of an unknown type is skipped",
            bytes,
        )
        .pin(),
    );
    let mut r = raw.clone();
    let mf = String::from_utf8(r.manifest().to_bytes())
        .unwrap()
        .replacen("{\"format\"", "{\"future_field\":{\"x\":1},\"format\"", 1);
    r.set_manifest_bytes(mf.into_bytes(), Some(&issuer()));
    v.push(
        Vector::new(
            "unknown-optional-field",
            "success",
            "an unknown manifest field is ignored",
            r.build(),
        )
        .pin(),
    );

    // Damage a host or a network could do: caught without a key.
    v.push(Vector::new(
        "empty-file",
        "open failure: too short",
        "zero bytes",
        Vec::new(),
    ));
    v.push(Vector::new(
        "truncated-tail",
        "open failure: no end of central directory",
        "last 100 bytes cut off",
        good[..good.len() - 100].to_vec(),
    ));
    v.push(Vector::new(
        "truncated-half",
        "open failure: no end of central directory",
        "second half cut off",
        good[..good.len() / 2].to_vec(),
    ));
    let mut t = good.clone();
    t.extend_from_slice(b"trailing");
    v.push(Vector::new(
        "trailing-data",
        "open failure: no end of central directory",
        "bytes after the end record",
        t,
    ));
    let mut t = b"prefix".to_vec();
    t.extend_from_slice(&good);
    v.push(Vector::new(
        "leading-data",
        "open failure: does not end where",
        "bytes before the first entry",
        t,
    ));
    let with_comment = {
        let mut b = good.clone();
        let n = b.len();
        b[n - 2] = 4;
        b.extend_from_slice(b"note");
        b
    };
    v.push(Vector::new(
        "eocd-comment",
        "open failure: no end of central directory",
        "a ZIP comment after the end record",
        with_comment,
    ));
    v.push(
        Vector::new(
            "bitflip-record-data",
            "fixity failure: BLAKE3",
            "one bit of a record's ciphertext flipped",
            flip(good.clone(), data_start(&records[1]) + 100),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "bitflip-catalog-page",
            "fixity failure: BLAKE3",
            "one bit of catalog page 0 flipped",
            flip(good.clone(), data_start("c/00000000") + 10),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "bitflip-catalog-parity",
            "fixity failure: p/00000000: BLAKE3",
            "one bit of the catalog's parity entry flipped",
            flip(good.clone(), data_start("p/00000000") + 10),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "bitflip-local-name",
            "fixity failure: local header",
            "one bit of a record's name in its local header flipped",
            flip(good.clone(), data_start(&records[0]) - 1),
        )
        .pin(),
    );
    let mut b = good.clone();
    let lh = offset_of(&b, records[1].as_bytes()) - 30;
    b[lh + 14] ^= 1; // CRC in the local header only
    v.push(
        Vector::new(
            "bitflip-local-crc",
            "fixity failure: local header",
            "the CRC-32 of a local header changed",
            b,
        )
        .pin(),
    );
    let cd = offset_of(&good, &0x0201_4b50u32.to_le_bytes());
    v.push(Vector::new(
        "bitflip-central-time",
        "open failure: not in canonical form",
        "the DOS time of a central directory header changed",
        flip(good.clone(), cd + 12),
    ));
    v.push(Vector::new(
        "bitflip-central-crc",
        "open failure: container says",
        "the CRC-32 in a central directory header changed",
        flip(good.clone(), cd + 16),
    ));
    let mf_at = data_start(legation_format::MANIFEST_ENTRY);
    v.push(Vector::new(
        "bitflip-manifest",
        "fixity failure: manifest.json: BLAKE3",
        "one bit of manifest.json flipped: put right from its recovery data when opened, and named by fixity",
        flip(good.clone(), mf_at + 40),
    ));
    let mut b = good.clone();
    let mf_len = raw.get(legation_format::MANIFEST_ENTRY).len();
    b[mf_at..mf_at + mf_len].fill(0);
    v.push(Vector::new(
        "manifest-destroyed",
        "open failure: cannot put it right",
        "manifest.json overwritten with zeros: beyond its recovery data",
        b,
    ));
    let sig_at = data_start(legation_format::SIGNATURE_ENTRY);
    v.push(Vector::new(
        "bitflip-signature",
        "fixity failure: manifest.sig: damaged",
        "one bit of manifest.sig flipped: the archive opens, but who signed it cannot be checked",
        flip(good.clone(), sig_at + 3),
    ));
    let mut r = raw.clone();
    let mut sig = r.get(legation_format::SIGNATURE_ENTRY).clone();
    sig[5] = if sig[5] == b'0' { b'1' } else { b'0' };
    *r.get_mut(legation_format::SIGNATURE_ENTRY) = sig;
    v.push(Vector::new(
        "wrong-signature",
        "fixity failure: signature does not verify",
        "another valid-looking signature, CRCs consistent",
        r.build(),
    ));
    let mut r = raw.clone();
    let mut sig =
        legation_format::manifest::parse_signature(r.get(legation_format::SIGNATURE_ENTRY))
            .unwrap();
    add_group_order(&mut sig[32..]);
    *r.get_mut(legation_format::SIGNATURE_ENTRY) =
        legation_format::manifest::format_signature(&sig);
    v.push(Vector::new(
        "malleable-signature",
        "fixity failure: signature does not verify",
        "S replaced by S + L: valid under lax rules, refused under strict ones",
        r.build(),
    ));
    let mut r = raw.clone();
    r.entries.retain(|(n, _)| n != &records[1]);
    v.push(Vector::new(
        "missing-entry",
        "open failure: lists 7 entries but the container holds 6",
        "a record entry removed by the host",
        r.build(),
    ));
    let mut r = raw.clone();
    r.entries[2].0 = "../evil".into();
    v.push(Vector::new(
        "entry-name-dotdot",
        "open failure: entry name \"../evil\"",
        "an entry named ../evil",
        r.build(),
    ));
    let mut r = raw.clone();
    r.entries[2].0 = "/etc/cron.d/x".into();
    v.push(Vector::new(
        "entry-name-absolute",
        "open failure: is absolute",
        "an entry with an absolute name",
        r.build(),
    ));
    let mut r = raw.clone();
    r.entries[3].0 = r.entries[2].0.clone();
    v.push(Vector::new(
        "duplicate-entry-names",
        "open failure: duplicate entry name",
        "two entries with the same name",
        r.build(),
    ));
    let mut b = good.clone();
    let cd_rec = cd + 46 + 8 + (46 + 7); // third central header: after mimetype and... located below
    let _ = cd_rec;
    let pos = offset_of(&b[cd..], records[0].as_bytes()) + cd - 46;
    b[pos + 20..pos + 28].copy_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff]);
    v.push(Vector::new(
        "zip-bomb-declared-size",
        "open failure: runs past the central directory",
        "a central directory header declaring a 4 GiB entry in a small file",
        b,
    ));
    let mut b = good.clone();
    let pos = offset_of(&b[cd..], records[1].as_bytes()) + cd - 46;
    let off = u32::from_le_bytes(b[pos + 42..pos + 46].try_into().unwrap());
    b[pos + 42..pos + 46].copy_from_slice(&(off - 100).to_le_bytes());
    v.push(Vector::new(
        "overlapping-entries",
        "open failure: gap or overlap",
        "an entry's offset pointing into the previous entry",
        b,
    ));
    let mut r = raw.clone();
    r.entries
        .retain(|(n, _)| n != legation_format::SIGNATURE_ENTRY);
    v.push(Vector::new(
        "signature-removed",
        "open failure: missing but the manifest names an issuer",
        "the host strips manifest.sig",
        r.build(),
    ));
    let mut r = raw.clone();
    r.entries[0].1 = b"application/zip\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
    v.push(Vector::new(
        "not-legation",
        "open failure: not a Legation archive",
        "a ZIP whose first entry is not the Legation mimetype",
        r.build(),
    ));

    // Forgeries: a re-signed manifest is consistent, but not the pinned issuer's.
    let mut r = raw.clone();
    r.reseal(Some(&other_issuer()), |m| {
        m.created = "2020-01-01T00:00:00Z".into()
    });
    v.push(
        Vector::new(
            "resigned-by-other-issuer",
            "fixity failure: not by the pinned issuer",
            "manifest changed and signed by another key",
            r.build(),
        )
        .pin(),
    );
    let mut r = raw.clone();
    r.reseal(None, |_| {});
    v.push(
        Vector::new(
            "unsigned-but-pinned",
            "fixity failure: not signed",
            "signature stripped and manifest rewritten as unsigned; the reader pins an issuer",
            r.build(),
        )
        .pin(),
    );
    let mut r = raw.clone();
    r.reseal(Some(&issuer()), |m| m.version = "2.0".into());
    v.push(Vector::new(
        "unknown-major-version",
        "open failure: format version 2.0 is not supported",
        "a future major version",
        r.build(),
    ));
    let mut r = raw.clone();
    r.reseal(Some(&issuer()), |m| m.chunk_size = 1024);
    v.push(Vector::new(
        "wrong-chunk-size",
        "open failure: chunk size 1024",
        "chunk size other than 65536",
        r.build(),
    ));

    // Keys.
    let mut w = Vector::new(
        "wrong-passphrase",
        "no key",
        "a passphrase that is not the archive's",
        good.clone(),
    );
    w.passphrase = Some("not the passphrase at all, sorry".into());
    v.push(w);
    let mut w = Vector::new(
        "wrong-identity",
        "no key",
        "an identity the archive was not packed for",
        good.clone(),
    );
    w.passphrase = None;
    w.identity = Some(hex::encode(&[0x44; 32]));
    v.push(w);
    let mut r = raw.clone();
    r.reseal(Some(&issuer()), |m| {
        for s in &mut m.key_slots {
            if let crypto::KeySlot::Passphrase { params, .. } = s {
                params.memory_kib = 1 << 31;
            }
        }
    });
    v.push(Vector::new(
        "hostile-kdf-memory",
        "unlock failure: exceeds the bound",
        "Argon2id asking for 2 TiB",
        r.build(),
    ));
    let mut r = raw.clone();
    r.reseal(Some(&issuer()), |m| {
        let s = m
            .key_slots
            .iter()
            .find(|s| matches!(s, crypto::KeySlot::Passphrase { .. }))
            .unwrap()
            .clone();
        m.key_slots.extend(std::iter::repeat_n(s, 9));
    });
    v.push(Vector::new(
        "too-many-passphrase-slots",
        "unlock failure: passphrase slots",
        "ten passphrase slots, each an Argon2id run",
        r.build(),
    ));
    let mut r = raw.clone();
    r.reseal(Some(&issuer()), |m| m.key_commitment[0] ^= 1);
    v.push(Vector::new(
        "key-commitment-mismatch",
        "unlock failure: key commitment",
        "the manifest commits to another data key",
        r.build(),
    ));
    let mut r = raw.clone();
    r.reseal(Some(&issuer()), |m| {
        for s in &mut m.key_slots {
            if let crypto::KeySlot::Passphrase { params, .. } = s {
                params.iterations = 2;
            }
        }
    });
    v.push(Vector::new(
        "kdf-params-changed",
        "no key",
        "the host (or anyone) lowers or changes KDF parameters: the derived key changes",
        r.build(),
    ));

    // A key holder who can re-sign: the content check still catches lies.
    let forged_on = |base: &Raw, edit: &dyn Fn(&mut Raw)| {
        let mut r = base.clone();
        edit(&mut r);
        r.reseal(Some(&issuer()), |_| {});
        r.build()
    };
    let forged = |edit: &dyn Fn(&mut Raw)| {
        let mut r = raw.clone();
        edit(&mut r);
        r.reseal(Some(&issuer()), |_| {});
        r.build()
    };
    v.push(
        Vector::new(
            "record-larger-than-declared",
            "content failure: more than the",
            "the catalog declares fewer bytes than the record holds",
            forged(&|r| {
                r.edit_page(&key, 0, |p| {
                    p.records
                        .iter_mut()
                        .filter(|x| x.path == "legal/act-1.md")
                        .for_each(|x| x.size -= 10)
                });
            }),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "record-hash-mismatch",
            "content failure: BLAKE3 of the bytes differs",
            "the catalog's plaintext hash is not the record's",
            forged(&|r| {
                r.edit_page(&key, 0, |p| {
                    p.records
                        .iter_mut()
                        .filter(|x| x.path == "registers/people.csv")
                        .for_each(|x| x.blake3[0] ^= 1)
                });
            }),
        )
        .pin(),
    );
    let scan_entry = scan.entry.clone();
    v.push(
        Vector::new(
            "chunk-swap",
            "content failure: chunk 0",
            "two chunks of a record swapped",
            forged_on(&big, &|r| {
                let d = r.get_mut(&scan_entry);
                let c = crypto::SEALED_CHUNK;
                let first: Vec<u8> = d[..c].to_vec();
                d.copy_within(c..2 * c, 0);
                d[c..2 * c].copy_from_slice(&first);
            }),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "chunk-truncated",
            "content failure: catalog sizes need",
            "the last chunk of a record dropped",
            forged_on(&big, &|r| {
                let d = r.get_mut(&scan_entry);
                d.truncate(2 * crypto::SEALED_CHUNK);
            }),
        )
        .pin(),
    );
    let act_entry = act.entry.clone();
    v.push(
        Vector::new(
            "record-stream-swap",
            "content failure: chunk 0",
            "two records' stream nonces swapped in the catalog",
            forged_on(&big, &|r| {
                r.edit_page(&big_key, 0, |p| {
                    let (a, b) = (
                        p.records.iter().position(|x| x.entry == act_entry).unwrap(),
                        p.records
                            .iter()
                            .position(|x| x.entry == scan_entry)
                            .unwrap(),
                    );
                    let s = p.records[a].stream;
                    p.records[a].stream = p.records[b].stream;
                    p.records[b].stream = s;
                });
            }),
        )
        .pin(),
    );
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
    v.push(
        Vector::new(
            "cross-archive-splice",
            "content failure: chunk 0",
            "a record's entry replaced by the same record from another archive",
            forged_on(&big, &|r| {
                *r.get_mut(&scan_entry) = spliced.clone();
            }),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "orphan-record-entry",
            "content failure: no catalog record refers to",
            "an extra record entry the catalog does not list",
            forged(&|r| {
                let at = r
                    .entries
                    .iter()
                    .position(|(n, _)| n.starts_with("c/"))
                    .unwrap();
                r.entries
                    .insert(at, ("r/00000000deadbeef".into(), vec![0; 16]));
            }),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "entry-used-twice",
            "content failure: already used by another record",
            "two catalog records pointing at one entry",
            forged(&|r| {
                r.edit_page(&key, 0, |p| {
                    let e = p.records[0].entry.clone();
                    p.records[1].entry = e;
                });
            }),
        )
        .pin(),
    );
    let id = raw.manifest().archive_id;
    v.push(
        Vector::new(
            "padding-not-zero",
            "content failure: padding bytes are not zero",
            "a record stream whose Padmé padding is not zero",
            forged(&|r| {
                let rec = page0
                    .records
                    .iter()
                    .find(|x| x.path == "registers/people.csv")
                    .unwrap();
                let padded = crypto::padme(rec.stored_size);
                assert!(padded > rec.stored_size, "the sample needs padding here");
                let plain = legation_reader_stream(r, &key, id, rec);
                let mut p = plain[..rec.stored_size as usize].to_vec();
                p.resize(padded as usize, 0xAA);
                *r.get_mut(&rec.entry) =
                    crypto::seal_stream(&key.stream_key(&id, StreamId::Record(rec.stream)), &p);
            }),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "deflate-bomb",
            "content failure: more than the",
            "a compressed record that inflates far past its declared size",
            forged(&|r| {
                r.edit_page(&key, 0, |p| {
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
                    BOMB.with(|b| *b.borrow_mut() = Some((rec.entry.clone(), sealed)));
                });
                let (entry, sealed) = BOMB.with(|b| b.borrow_mut().take().unwrap());
                *r.get_mut(&entry) = sealed;
            }),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "catalog-page-out-of-order",
            "content failure: strict path order",
            "catalog records not in path order",
            forged_on(&big, &|r| {
                r.edit_page(&big_key, 0, |p| p.records.swap(1, 2));
            }),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "catalog-path-traversal",
            "content failure: '..' segment",
            "a record path that climbs out of the extraction folder",
            forged(&|r| {
                r.edit_page(&key, 0, |p| {
                    assert_eq!(p.records[1].path, "legal/act-1.md");
                    p.records[1].path = "legal/../../etc/passwd".into();
                });
            }),
        )
        .pin(),
    );

    v.push(
        Vector::new(
            "catalog-page-item-flood",
            "content failure: JSON items",
            "a catalog page of a few kilobytes sealed that would parse into 300,000 empty metadata strings (SPEC 1.3.1 §10.1: items are bounded, not only bytes)",
            forged(&|r| {
                r.edit_page(&key, 0, |p| {
                    p.records[0]
                        .metadata
                        .insert("subject".into(), vec![String::new(); 300_000]);
                });
            }),
        )
        .pin(),
    );

    // Decoders: pinned by hash, checked at every level.
    let with = sample_archive(Sample {
        decoder: true,
        seed: 4,
        ..Sample::default()
    });
    let wraw = Raw::parse(&with);
    let wkey = wraw.data_key();
    let dentry = wraw.manifest().decoders[0].entry.clone();
    v.push(
        Vector::new(
            "good-with-decoder",
            "success",
            "records rendered by a tiny decoder; the render check re-renders them",
            with.clone(),
        )
        .pin(),
    );
    let d_at = {
        let bytes = wraw.build();
        offset_of(&bytes, dentry.as_bytes()) + dentry.len()
    };
    v.push(
        Vector::new(
            "decoder-bitflip",
            "fixity failure: BLAKE3",
            "one bit of the decoder module flipped by the host",
            flip(with.clone(), d_at + 40),
        )
        .pin(),
    );
    let mut r = wraw.clone();
    let renamed = "d/0123456789abcdef.wasm".to_owned();
    r.entries
        .iter_mut()
        .filter(|(n, _)| *n == dentry)
        .for_each(|(n, _)| *n = renamed.clone());
    r.reseal(Some(&issuer()), |m| m.decoders[0].entry = renamed.clone());
    v.push(
        Vector::new(
            "decoder-misnamed",
            "open failure: not named after its BLAKE3",
            "a decoder entry whose name is not its hash",
            r.build(),
        )
        .pin(),
    );
    let forged_with = |edit: &dyn Fn(&mut Raw)| {
        let mut r = wraw.clone();
        edit(&mut r);
        r.reseal(Some(&issuer()), |_| {});
        r.build()
    };
    v.push(
        Vector::new(
            "render-hash-mismatch",
            "render failure: differs from the one recorded",
            "the catalog records a view hash the decoder does not give",
            forged_with(&|r| {
                r.edit_page(&wkey, 0, |p| {
                    if let Some(legation_format::catalog::Render::Rendered { blake3, .. }) =
                        &mut p.records[1].render
                    {
                        blake3[0] ^= 1;
                    }
                })
            }),
        )
        .pin(),
    );
    v.push(
        Vector::new(
            "record-decoder-unlisted",
            "content failure: not in the manifest",
            "a record names a decoder the manifest does not list",
            forged_with(&|r| {
                r.edit_page(&wkey, 0, |p| {
                    p.records[0].decoder = Some("d/00000000000000ff.wasm".into())
                })
            }),
        )
        .pin(),
    );

    // The embedded viewer (format 1.1): a plain entry pinned like any other.
    let viewer = sample_archive(Sample {
        viewer: true,
        seed: 5,
        ..Sample::default()
    });
    v.push(
        Vector::new(
            "good-with-viewer",
            "success",
            "a 1.1 archive carrying viewer.html after SPEC.md's place; readers check its fixity and otherwise ignore it",
            viewer.clone(),
        )
        .pin(),
    );
    let at = offset_of(&viewer, b"<p>A stand-in.");
    v.push(
        Vector::new(
            "viewer-bitflip",
            "fixity failure: BLAKE3",
            "one bit of the embedded viewer flipped by the host (a swapped viewer)",
            flip(viewer, at + 3),
        )
        .pin(),
    );
    v
}

thread_local! {
    static BOMB: std::cell::RefCell<Option<(String, Vec<u8>)>> = const { std::cell::RefCell::new(None) };
}

fn legation_reader_stream(
    r: &Raw,
    key: &crypto::DataKey,
    id: [u8; 16],
    rec: &legation_format::catalog::CatalogRecord,
) -> Vec<u8> {
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
