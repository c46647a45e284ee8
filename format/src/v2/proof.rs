//! One-record proofs: that a record, with these facts and bytes, is in the
//! archive generation an issuer signed, checked with no key and no archive.
//!
//! A proof is ASCII text (design note §11):
//!
//! ```text
//! legation-proof 2.0
//! page <p> <pages>
//! record <i> <records in page p>
//! leaf <base64 of the leaf>
//! page-path <base64 of the hashes from the leaf up, concatenated>
//! pages-path <base64 of the hashes from the page root up, concatenated>
//!
//! <the head's bytes>
//!
//! <the signatures' bytes>
//! ```
//!
//! A path with no hashes is an empty value: the line is the key and its
//! space (`format/SPEC.md` §29.1). Checking recomputes the leaf's hash, walks the page's
//! path to the page root, takes that as a leaf of the tree over pages and
//! walks the second path to the records root, which must be the head's;
//! the page sizes come from the head's record count, so the tree's shape
//! is fixed by what the issuer signed.

use super::base64;
use super::head::{self, Head};
use super::page::Record;
use super::{tree, PAGE_RECORDS};
use crate::{hex, Error, Result};

/// The first line of a 2.0 proof.
pub const PROOF_MAGIC: &str = "legation-proof 2.0";
/// At most this many hashes in each path (a tree of 2^64 leaves).
pub const MAX_PATH_HASHES: usize = 64;
/// The largest leaf a proof may carry, in bytes.
pub const MAX_LEAF: usize = 64 << 10;
/// The largest proof file (SPEC §29.2 step 1).
pub const MAX_PROOF: usize = 1 << 20;

/// The name errors give.
const WHAT: &str = "proof";

fn bad(what: impl Into<String>) -> Error {
    Error::invalid(WHAT, what)
}

/// A one-record proof, as its file holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The record's page, from 0.
    pub page: u64,
    /// How many pages the archive has.
    pub pages: u64,
    /// The record's place in its page, from 0.
    pub record: u64,
    /// How many records its page holds.
    pub page_records: u64,
    /// The record's leaf: its salt and facts ([`Record::leaf`]).
    pub leaf: Vec<u8>,
    /// Sibling hashes from the leaf up to the page root.
    pub page_path: Vec<[u8; 32]>,
    /// Sibling hashes from the page root up to the records root.
    pub pages_path: Vec<[u8; 32]>,
    /// The signed head's exact bytes.
    pub head: Vec<u8>,
    /// The `signatures` entry's exact bytes.
    pub signatures: Vec<u8>,
}

/// What a proof that holds proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The head the record is in: archive id, generation, record count.
    pub head: Head,
    /// The record's facts, from the leaf.
    pub record: Record,
    /// Fingerprints of the signers whose signatures verified.
    pub signers: Vec<String>,
    /// Algorithms of signature lines this reader does not know (not checked).
    pub unknown_signatures: Vec<String>,
    /// Whether a pinned issuer was given (its signature then verified).
    pub pinned: bool,
    /// Whether record bytes were given (they then matched size and BLAKE3).
    pub record_matched: bool,
}

/// A record's size and BLAKE3, computed as its bytes arrive (a record may
/// be larger than memory), for [`Proof::check_digest`].
#[derive(Debug, Clone, Default)]
pub struct RecordDigest {
    hasher: blake3::Hasher,
    size: u64,
}

impl RecordDigest {
    /// No bytes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next bytes of the record.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// The size and BLAKE3 of the bytes so far.
    pub fn finish(&self) -> (u64, [u8; 32]) {
        (self.size, *self.hasher.finalize().as_bytes())
    }
}

impl Proof {
    /// The proof file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{PROOF_MAGIC}\npage {} {}\nrecord {} {}\n",
            self.page, self.pages, self.record, self.page_records
        )
        .into_bytes();
        put_line(&mut out, "leaf", &self.leaf);
        put_line(&mut out, "page-path", &self.page_path.concat());
        put_line(&mut out, "pages-path", &self.pages_path.concat());
        out.push(b'\n');
        out.extend_from_slice(&self.head);
        out.push(b'\n');
        out.extend_from_slice(&self.signatures);
        out
    }

    /// Parses a proof file, refusing any other spelling than
    /// [`Proof::to_bytes`] writes and any size past the bounds; the head
    /// and signatures are parsed strictly too. Whether the proof holds is
    /// [`Proof::check`]'s to say.
    pub fn parse(bytes: &[u8]) -> Result<Proof> {
        if bytes.len() > MAX_PROOF {
            return Err(bad(format!(
                "{} bytes, more than the {MAX_PROOF} a proof may have",
                bytes.len()
            )));
        }
        let mut rest = bytes;
        match take_line(&mut rest, 1)? {
            PROOF_MAGIC => {}
            l if l.starts_with("legation-proof ") => {
                return Err(bad(format!(
                    "version {} is not supported (this reader reads {PROOF_MAGIC})",
                    &l["legation-proof ".len()..]
                )))
            }
            _ => return Err(bad(format!("line 1 is not `{PROOF_MAGIC}`"))),
        }
        let (page, pages) = two_numbers(value(take_line(&mut rest, 2)?, "page", 2)?, "page")?;
        let (record, page_records) =
            two_numbers(value(take_line(&mut rest, 3)?, "record", 3)?, "record")?;
        let leaf = base64_field(
            value(take_line(&mut rest, 4)?, "leaf", 4)?,
            "leaf",
            MAX_LEAF,
        )?;
        if leaf.is_empty() {
            return Err(bad("the leaf is empty"));
        }
        let page_path = hashes(
            value(take_line(&mut rest, 5)?, "page-path", 5)?,
            "page-path",
        )?;
        let pages_path = hashes(
            value(take_line(&mut rest, 6)?, "pages-path", 6)?,
            "pages-path",
        )?;
        if !take_line(&mut rest, 7)?.is_empty() {
            return Err(bad("line 7 is not the blank line before the head"));
        }
        // The head has no blank line: it ends at the first one.
        let end = rest
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or_else(|| bad("the head is not followed by a blank line"))?;
        let (head, signatures) = (&rest[..end + 1], &rest[end + 2..]);
        Head::parse(head)?;
        head::parse_signatures(signatures)?;
        Ok(Proof {
            page,
            pages,
            record,
            page_records,
            leaf,
            page_path,
            pages_path,
            head: head.to_vec(),
            signatures: signatures.to_vec(),
        })
    }

    /// Checks the proof, and with `record` the record's bytes against it;
    /// see [`Proof::check_digest`].
    pub fn check(&self, pinned: Option<&[u8; 32]>, record: Option<&[u8]>) -> Result<Checked> {
        self.check_digest(
            pinned,
            record.map(|b| {
                let mut d = RecordDigest::new();
                d.update(b);
                d.finish()
            }),
        )
    }

    /// Checks the proof against a record given by its size and BLAKE3 (so
    /// a caller can hash a large file as a stream), in SPEC §29.2's order,
    /// reporting the first failure: the page counts against the head's
    /// record count, the leaf's form, the record against the leaf, the
    /// leaf up both paths to the head's records root, then the signatures
    /// (at least one of a known algorithm must verify, none may fail, and
    /// with `pinned` that Ed25519 key's must be among them).
    pub fn check_digest(
        &self,
        pinned: Option<&[u8; 32]>,
        record: Option<(u64, [u8; 32])>,
    ) -> Result<Checked> {
        let head = Head::parse(&self.head)?;
        let lines = head::parse_signatures(&self.signatures)?;
        self.check_shape(&head)?;
        let (_salt, facts) = Record::from_leaf(&self.leaf)?;
        let record_matched = match record {
            None => false,
            Some((size, _)) if size != facts.size => {
                return Err(bad(format!(
                    "the record file has {size} bytes, the proven record {}: not the proven \
                     record's bytes",
                    facts.size
                )))
            }
            Some((_, hash)) if hash != facts.blake3 => {
                return Err(bad(format!(
                    "the record file's BLAKE3 is {}, the proven record's {}: not the proven \
                     record's bytes",
                    hex::encode(&hash),
                    hex::encode(&facts.blake3)
                )))
            }
            Some(_) => true,
        };
        let page_root = tree::root_from_path(
            self.record,
            self.page_records,
            tree::leaf_hash(&self.leaf),
            &self.page_path,
        )
        .ok_or_else(|| {
            bad(format!(
                "page-path has {} hashes, which does not fit record {} of a page of {}",
                self.page_path.len(),
                self.record,
                self.page_records
            ))
        })?;
        let root = tree::root_from_path(
            self.page,
            self.pages,
            tree::leaf_hash(&page_root),
            &self.pages_path,
        )
        .ok_or_else(|| {
            bad(format!(
                "pages-path has {} hashes, which does not fit page {} of {}",
                self.pages_path.len(),
                self.page,
                self.pages
            ))
        })?;
        if root != head.records_root {
            return Err(bad(format!(
                "the leaf and paths lead to records root {}, not the head's {}: the record's \
                 facts, its place or a path was changed, or the head is another archive's",
                hex::encode(&root),
                hex::encode(&head.records_root)
            )));
        }
        let (signers, unknown_signatures, pinned_found) = self.check_signatures(&lines, pinned)?;
        Ok(Checked {
            head,
            record: facts,
            signers,
            unknown_signatures,
            pinned: pinned_found,
            record_matched,
        })
    }

    /// The page counts against the head's record count: they fix each
    /// tree's size, which the paths alone do not bind.
    fn check_shape(&self, head: &Head) -> Result<()> {
        let per_page = PAGE_RECORDS as u64;
        if head.records == 0 {
            return Err(bad("the head says the archive holds no records"));
        }
        let pages = head.records.div_ceil(per_page);
        if self.pages != pages {
            return Err(bad(format!(
                "{} pages, but the head's {} records make {pages}",
                self.pages, head.records
            )));
        }
        if self.page >= pages {
            return Err(bad(format!(
                "page {} of an archive of {pages} pages",
                self.page
            )));
        }
        let in_page = if self.page + 1 < pages {
            per_page
        } else {
            head.records - (pages - 1) * per_page
        };
        if self.page_records != in_page {
            return Err(bad(format!(
                "page {} holds {} records, but the head's {} records put {in_page} in it",
                self.page, self.page_records, head.records
            )));
        }
        if self.record >= self.page_records {
            return Err(bad(format!(
                "record {} of a page of {}",
                self.record, self.page_records
            )));
        }
        Ok(())
    }

    /// Verifies every signature line of a known algorithm over the head:
    /// returns the signers' fingerprints, the unknown algorithms and
    /// whether the pinned key signed.
    fn check_signatures(
        &self,
        lines: &[head::SignatureLine],
        pinned: Option<&[u8; 32]>,
    ) -> Result<(Vec<String>, Vec<String>, bool)> {
        let (mut signers, mut unknown, mut pinned_found) = (Vec::new(), Vec::new(), false);
        for l in lines {
            let who = l
                .fingerprint()
                .unwrap_or_else(|| format!("key {}", hex::encode(&l.public_key)));
            match head::verify(l, &self.head) {
                None => unknown.push(l.algorithm.clone()),
                Some(false) => {
                    return Err(bad(format!(
                        "the {} signature of {who} does not verify over the head: the head or \
                         the signature was changed",
                        l.algorithm
                    )))
                }
                Some(true) => signers.push(who),
            }
        }
        // Every line of a known algorithm verified (a failure returned
        // above); a hybrid pin needs both of its halves among them.
        let verified = lines
            .iter()
            .filter(|l| crate::pqsig::known(&l.algorithm))
            .map(|l| (l.algorithm.as_str(), &l.public_key[..]));
        if let Some(p) = pinned {
            pinned_found = crate::pqsig::pin_met(p, verified);
        }
        if signers.is_empty() {
            return Err(bad(format!(
                "not signed: no signature this reader can check verifies over the head ({} \
                 signature lines, {} of unknown algorithms); anyone could have made this proof",
                lines.len(),
                unknown.len()
            )));
        }
        if let Some(p) = pinned {
            if !pinned_found {
                return Err(bad(format!(
                    "not signed by the pinned issuer {} (signed by {})",
                    crate::crypto::fingerprint(p),
                    signers.join(", ")
                )));
            }
        }
        Ok((signers, unknown, pinned_found))
    }
}

/// Appends `key`, a space, the base64 of `value` (empty for no bytes) and
/// a line feed.
fn put_line(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    out.extend_from_slice(key.as_bytes());
    out.push(b' ');
    out.extend_from_slice(base64::encode(value).as_bytes());
    out.push(b'\n');
}

/// Takes line `n` (without its line feed) off the front of `rest`.
fn take_line<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a str> {
    let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| {
        bad(format!(
            "line {n} is missing or does not end with a line feed"
        ))
    })?;
    let line = &rest[..end];
    *rest = &rest[end + 1..];
    if !line.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(bad(format!("line {n} is not printable ASCII")));
    }
    // Printable ASCII is UTF-8.
    std::str::from_utf8(line).map_err(|_| bad(format!("line {n} is not ASCII")))
}

/// The value of a `key value` line (possibly empty: a path of no hashes).
fn value<'a>(line: &'a str, key: &str, n: usize) -> Result<&'a str> {
    line.strip_prefix(key)
        .and_then(|v| v.strip_prefix(' '))
        .ok_or_else(|| bad(format!("line {n} is not `{key} …`")))
}

/// `<decimal> <decimal>`, each in its one spelling.
fn two_numbers(v: &str, key: &str) -> Result<(u64, u64)> {
    let mut parts = v.split(' ');
    match (
        parts.next().and_then(head::decimal),
        parts.next().and_then(head::decimal),
        parts.next(),
    ) {
        (Some(a), Some(b), None) => Ok((a, b)),
        _ => Err(bad(format!(
            "{key} is not two decimal numbers without leading zeros"
        ))),
    }
}

/// Base64 of at most `max` bytes, its length checked before decoding.
fn base64_field(v: &str, key: &str, max: usize) -> Result<Vec<u8>> {
    if v.len() > base64::encoded_len(max) {
        return Err(bad(format!("{key} is longer than {max} bytes")));
    }
    let bytes =
        base64::decode(v).ok_or_else(|| bad(format!("{key} is not canonical padded base64")))?;
    if bytes.len() > max {
        return Err(bad(format!("{key} is longer than {max} bytes")));
    }
    Ok(bytes)
}

/// A path: base64 of whole 32-byte hashes, at most [`MAX_PATH_HASHES`].
fn hashes(v: &str, key: &str) -> Result<Vec<[u8; 32]>> {
    let bytes = base64_field(v, key, MAX_PATH_HASHES * 32)?;
    if bytes.len() % 32 != 0 {
        return Err(bad(format!(
            "{key} is {} bytes, not whole 32-byte hashes",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(32)
        .map(|c| <[u8; 32]>::try_from(c).expect("chunks of 32"))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::{Encoding, Render};
    use crate::crypto::DataKey;
    use crate::keys::IssuerKey;

    const BODY: &[u8] = b"name;born\nAda;1815\n";

    fn record(path: &str) -> Record {
        Record {
            path: path.into(),
            title: None,
            media_type: "text/csv".into(),
            size: BODY.len() as u64,
            blake3: *blake3::hash(BODY).as_bytes(),
            modified: Some(1_795_775_512),
            decoder: Some("d/0123456789abcdef.wasm".into()),
            render: Some(Render::Rendered {
                blake3: [9; 32],
                pages: 0,
            }),
            metadata: BTreeMap::new(),
            encoding: Encoding::Identity,
            stored_size: BODY.len() as u64,
            new_bundle: false,
        }
    }

    fn issuer(n: u8) -> IssuerKey {
        IssuerKey::from_bytes([n; 32])
    }

    /// Builds a proof by hand: the record's real leaf at `(page, index)`,
    /// made-up hashes for every other leaf and page root.
    fn build(
        records: u64,
        page: u64,
        index: u64,
        rec: &Record,
        archive: [u8; 16],
        signers: &[IssuerKey],
    ) -> Proof {
        let per_page = PAGE_RECORDS as u64;
        let salt = tree::record_salt(&DataKey::from_bytes([5; 32]), &archive, &rec.path);
        let leaf = rec.leaf(&salt).unwrap();
        let pages = records.div_ceil(per_page);
        let n = if page + 1 < pages {
            per_page
        } else {
            records - (pages - 1) * per_page
        };
        let leaves: Vec<[u8; 32]> = (0..n)
            .map(|i| {
                if i == index {
                    tree::leaf_hash(&leaf)
                } else {
                    tree::leaf_hash(format!("{page}/{i}").as_bytes())
                }
            })
            .collect();
        let page_root = tree::root(&leaves);
        let page_leaves: Vec<[u8; 32]> = (0..pages)
            .map(|p| {
                let root = if p == page {
                    page_root
                } else {
                    *blake3::hash(format!("page {p}").as_bytes()).as_bytes()
                };
                tree::leaf_hash(&root)
            })
            .collect();
        let head = Head {
            archive_id: archive,
            sequence: 0,
            previous: [0; 32],
            created: 1_795_775_512,
            records,
            bytes: records * 100,
            records_root: tree::root(&page_leaves),
            entries: [2; 32],
            public: [3; 32],
        }
        .to_bytes();
        let lines: Vec<_> = signers.iter().map(|k| head::sign(k, &head)).collect();
        Proof {
            page,
            pages,
            record: index,
            page_records: n,
            leaf,
            page_path: tree::path(&leaves, index as usize),
            pages_path: tree::path(&page_leaves, page as usize),
            head,
            signatures: head::signatures_to_bytes(&lines),
        }
    }

    /// A proof of 8197 records (three pages, the last of five): record 3
    /// of the last page.
    fn good() -> Proof {
        build(
            8197,
            2,
            3,
            &record("registers/births/1815/0042.csv"),
            [7; 16],
            &[issuer(1)],
        )
    }

    /// Writes, parses and checks, as `check-proof` does; the error's text.
    fn refusal(p: &Proof, pinned: Option<&[u8; 32]>, body: Option<&[u8]>) -> String {
        let parsed = Proof::parse(&p.to_bytes()).unwrap();
        assert_eq!(&parsed, p, "round trip");
        let e = parsed.check(pinned, body).unwrap_err().to_string();
        assert!(e.starts_with("proof: ") || e.starts_with("head: "), "{e}");
        e
    }

    #[test]
    fn a_good_proof_holds() {
        for p in [
            good(),
            build(8197, 0, 100, &record("a/b.csv"), [7; 16], &[issuer(1)]),
            build(1, 0, 0, &record("one.csv"), [7; 16], &[issuer(1)]),
            build(
                4096,
                0,
                4095,
                &record("z.csv"),
                [7; 16],
                &[issuer(1), issuer(2)],
            ),
        ] {
            let bytes = p.to_bytes();
            let parsed = Proof::parse(&bytes).unwrap();
            assert_eq!(parsed, p);
            assert_eq!(parsed.to_bytes(), bytes);
            let c = parsed.check(Some(&issuer(1).public()), Some(BODY)).unwrap();
            assert_eq!(c.head, Head::parse(&p.head).unwrap());
            assert!(c.pinned && c.record_matched);
            assert!(c
                .signers
                .contains(&crate::crypto::fingerprint(&issuer(1).public())));
            assert_eq!(c.record.size, BODY.len() as u64);
            let unpinned = parsed.check(None, None).unwrap();
            assert!(!unpinned.pinned && !unpinned.record_matched);
        }
        let c = good().check(None, None).unwrap();
        assert_eq!(c.record.path, "registers/births/1815/0042.csv");
        assert_eq!(c.record.media_type, "text/csv");
        assert_eq!(c.head.archive_id, [7; 16]);
        // One record alone: both paths empty, lines without a value.
        let one = build(1, 0, 0, &record("one.csv"), [7; 16], &[issuer(1)]);
        let text = String::from_utf8(one.to_bytes()).unwrap();
        assert!(
            text.contains("\npage-path \npages-path \n\nlegation-head 2.0\n"),
            "{text}"
        );
    }

    #[test]
    fn a_record_digested_in_pieces_is_the_whole() {
        let mut d = RecordDigest::new();
        for piece in BODY.chunks(4) {
            d.update(piece);
        }
        assert_eq!(d.finish(), (19, *blake3::hash(BODY).as_bytes()));
        good().check_digest(None, Some(d.finish())).unwrap();
        d.update(b"x");
        assert!(good().check_digest(None, Some(d.finish())).is_err());
    }

    /// A proof of a hybrid-signed head (SPEC §27.4): a hybrid pin needs
    /// both lines, a flipped ML-DSA-65 signature is named.
    #[test]
    fn hybrid_signatures_and_pins() {
        let hybrid = IssuerKey::from_seeds([0x22; 32], Some([0x44; 32]));
        let mut p = good();
        let lines = head::sign_lines(&hybrid, &p.head).unwrap();
        p.signatures = head::signatures_to_bytes(&lines);
        let pin = hybrid.public_key().pin();
        let c = Proof::parse(&p.to_bytes())
            .unwrap()
            .check(Some(&pin), None)
            .unwrap();
        assert!(c.pinned);
        assert_eq!(c.signers.len(), 2);
        // The Ed25519 half alone pins too; the ML-DSA-65 line stripped
        // does not meet the hybrid pin.
        assert!(Proof::parse(&p.to_bytes())
            .unwrap()
            .check(Some(&hybrid.public()), None)
            .is_ok());
        let mut stripped = p.clone();
        stripped.signatures = head::signatures_to_bytes(&lines[..1]);
        assert!(refusal(&stripped, Some(&pin), None).contains("not signed by the pinned issuer"));
        let mut flipped = lines.clone();
        flipped[1].signature[0] ^= 1;
        let mut bad = p.clone();
        bad.signatures = head::signatures_to_bytes(&flipped);
        let e = refusal(&bad, None, None);
        assert!(e.contains("the ml-dsa-65 signature of"), "{e}");
    }

    #[test]
    fn unknown_signatures_are_kept_but_do_not_sign() {
        let mut p = good();
        let mut lines = head::parse_signatures(&p.signatures).unwrap();
        lines.push(head::SignatureLine {
            algorithm: "slh-dsa-sha2-128s".into(),
            public_key: vec![1; 32],
            signature: vec![2; 7856],
        });
        p.signatures = head::signatures_to_bytes(&lines);
        let c = Proof::parse(&p.to_bytes())
            .unwrap()
            .check(None, None)
            .unwrap();
        assert_eq!(c.unknown_signatures, ["slh-dsa-sha2-128s"]);
        assert_eq!(c.signers.len(), 1);
        lines.remove(0);
        p.signatures = head::signatures_to_bytes(&lines);
        let e = refusal(&p, None, None);
        assert!(
            e.contains("not signed") && e.contains("1 of unknown"),
            "{e}"
        );
    }

    #[test]
    fn tampered_proofs_fail_and_say_why() {
        let rec = record("registers/births/1815/0042.csv");
        let p = good();
        // Another archive's head (same record, same place) with its own
        // valid signature.
        let other = build(8197, 2, 3, &rec, [8; 16], &[issuer(1)]);
        let mut q = p.clone();
        q.head = other.head.clone();
        q.signatures = other.signatures.clone();
        assert!(refusal(&q, None, None).contains("not the head's"));
        // Another record's leaf in this place.
        let mut q = p.clone();
        q.leaf = build(
            8197,
            2,
            3,
            &record("registers/births/1815/0043.csv"),
            [7; 16],
            &[],
        )
        .leaf;
        assert!(refusal(&q, None, None).contains("not the head's"));
        // Another leaf place, page or path order.
        let mut q = p.clone();
        q.record = 2;
        assert!(refusal(&q, None, None).contains("not the head's"));
        let mut q = p.clone();
        q.page_path.swap(0, 1);
        assert!(refusal(&q, None, None).contains("not the head's"));
        let first = build(8197, 0, 100, &rec, [7; 16], &[issuer(1)]);
        let mut q = first.clone();
        q.pages_path.swap(0, 1);
        assert!(refusal(&q, None, None).contains("not the head's"));
        let mut q = p.clone();
        q.page_path[0][5] ^= 1;
        assert!(refusal(&q, None, None).contains("not the head's"));
        // Truncated and extended paths.
        let mut q = p.clone();
        q.page_path.pop();
        assert!(refusal(&q, None, None).contains("page-path has 2 hashes"));
        let mut q = p.clone();
        q.pages_path.pop();
        assert!(refusal(&q, None, None).contains("pages-path has 0 hashes"));
        let mut q = p.clone();
        q.pages_path.push([0; 32]);
        assert!(refusal(&q, None, None).contains("pages-path has 2 hashes"));
        // Counts that the head's record count does not give.
        let mut q = p.clone();
        q.pages = 4;
        assert!(refusal(&q, None, None).contains("4 pages, but the head's 8197 records make 3"));
        let mut q = p.clone();
        q.page_records = 8;
        assert!(refusal(&q, None, None).contains("put 5 in it"));
        let mut q = p.clone();
        q.page = 3;
        assert!(refusal(&q, None, None).contains("page 3 of an archive of 3 pages"));
        let mut q = p.clone();
        q.record = 5;
        assert!(refusal(&q, None, None).contains("record 5 of a page of 5"));
        // The head changed under its signature.
        let mut q = p.clone();
        let text = String::from_utf8(q.head.clone()).unwrap();
        q.head = text.replace("bytes 819700", "bytes 819701").into_bytes();
        assert!(refusal(&q, None, None).contains("does not verify over the head"));
        // A signature changed, removed, or another issuer's.
        let mut q = p.clone();
        let at = q.signatures.len() - 2;
        q.signatures[at] = if q.signatures[at] == b'0' { b'1' } else { b'0' };
        assert!(refusal(&q, None, None).contains("does not verify over the head"));
        let mut q = p.clone();
        q.signatures.clear();
        let e = refusal(&q, None, None);
        assert!(e.contains("not signed: no signature"), "{e}");
        let e = refusal(&p, Some(&issuer(2).public()), None);
        assert!(e.contains("not signed by the pinned issuer"), "{e}");
        assert!(e.contains(&crate::crypto::fingerprint(&issuer(2).public())));
        // The record's bytes, one byte changed or one removed.
        let mut body = BODY.to_vec();
        body[3] ^= 0x20;
        assert!(refusal(&p, None, Some(&body)).contains("the record file's BLAKE3"));
        assert!(refusal(&p, None, Some(&BODY[1..])).contains("the record file has 18 bytes"));
        // SPEC §29.2's order: the record before the tree and signatures.
        let mut q = p.clone();
        q.signatures.clear();
        q.page_path.pop();
        assert!(refusal(&q, None, Some(&body)).contains("the record file's BLAKE3"));
        // A leaf that is not one.
        let mut q = p.clone();
        q.leaf.truncate(40);
        let e = Proof::parse(&q.to_bytes())
            .unwrap()
            .check(None, None)
            .unwrap_err();
        assert!(e.to_string().contains("records tree leaf"), "{e}");
    }

    #[test]
    fn other_spellings_are_refused() {
        let text = String::from_utf8(good().to_bytes()).unwrap();
        let e = |t: &str| match Proof::parse(t.as_bytes()) {
            Ok(_) => panic!("accepted: {t:.200}"),
            Err(e) => e.to_string(),
        };
        let cases: &[(&str, &str, &str)] = &[
            ("legation-proof 2.0", "legation-proof 3.0", "version 3.0"),
            ("legation-proof 2.0", "legation-proof", "line 1"),
            ("page 2 3", "page 02 3", "page is not two"),
            ("page 2 3", "page 2  3", "page is not two"),
            ("page 2 3", "page 2 3 4", "page is not two"),
            ("page 2 3", "page 2", "page is not two"),
            ("record 3 5", "record 3 5 ", "record is not two"),
            ("page 2 3\nrecord", "record", "line 2 is not `page"),
            ("leaf ", "leaf  ", "leaf is not canonical"),
            ("leaf ", "leaf\t", "line 4 is not printable"),
            ("pages-path ", "pages-path", "line 6 is not `pages-path"),
            (
                "pages-path ",
                "pages-path ====",
                "pages-path is not canonical",
            ),
            ("\n\nlegation-head", "\nlegation-head", "line 7"),
            ("\nlegation-head", "\n\n\nlegation-head", "head: "),
            ("\n\ned25519", "\ned25519", "not followed by a blank line"),
            ("\n\ned25519", "\n\n\ned25519", "signatures: line 1"),
            ("\nrecord", "\r\nrecord", "line 2 is not printable"),
        ];
        for (from, to, expected) in cases {
            let t = text.replacen(from, to, 1);
            assert_ne!(t, text, "{from}");
            let got = e(&t);
            assert!(got.contains(expected), "{from:?} -> {to:?}: {got}");
        }
        let one =
            String::from_utf8(build(1, 0, 0, &record("one.csv"), [7; 16], &[issuer(1)]).to_bytes())
                .unwrap();
        assert!(e(&one.replacen("\npage-path \n", "\npage-path\n", 1)).contains("line 5"));
        // A path that is not whole hashes, or too long; a leaf too long.
        let odd = format!("page-path {}\n", base64::encode(&[1; 33]));
        let t = text
            .lines()
            .map(|l| {
                if l.starts_with("page-path") {
                    odd.trim_end().to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        assert!(e(&t).contains("page-path is 33 bytes"), "{}", e(&t));
        let mut p = good();
        p.page_path = vec![[1; 32]; MAX_PATH_HASHES + 1];
        assert!(e(&String::from_utf8(p.to_bytes()).unwrap()).contains("page-path is longer"));
        let mut p = good();
        p.leaf = vec![1; MAX_LEAF + 1];
        assert!(e(&String::from_utf8(p.to_bytes()).unwrap()).contains("leaf is longer"));
        let mut big = text.clone();
        big.push_str(&"x".repeat(MAX_PROOF));
        assert!(e(&big).contains("more than the"));
        assert!(e("").contains("line 1 is missing"));
        assert!(e("legation-proof 2.0\npage 0 1\n").contains("line 3 is missing"));
    }

    #[test]
    fn a_proof_at_ten_million_records_is_under_two_kib() {
        // A 32-byte path, rendered, with a modification time and decoder:
        // the mission's typical record. 10M records make 2442 pages.
        let rec = record("national/pop/r0000/p00000042.csv");
        assert_eq!(rec.path.len(), 32);
        let p = build(10_000_000, 1000, 2000, &rec, [7; 16], &[issuer(1)]);
        assert_eq!((p.page_path.len(), p.pages_path.len()), (12, 12));
        p.check(Some(&issuer(1).public()), Some(BODY)).unwrap();
        let before_signatures = p.to_bytes().len() - p.signatures.len();
        assert!(before_signatures <= 2048, "{before_signatures} bytes");
    }
}
