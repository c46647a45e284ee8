//! The signed head (`head`) and its signatures (`signatures`): the few
//! hundred public bytes that fix everything else in a 2.0 archive, and
//! that a one-record proof carries.
//!
//! `head` is ASCII text, one `key value` line each in a fixed order
//! (design note §3.1); `signatures` is one `<algorithm> <public key hex>
//! <signature hex>` line per signature, sorted by algorithm then key
//! (§3.3). Both parsers are strict: one spelling per meaning, every size
//! bounded before anything is kept.

use crate::hex;
use crate::keys::IssuerKey;
use crate::time::{format_rfc3339, parse_rfc3339};
use crate::{Error, Result};

/// The first line of a 2.0 head.
pub const HEAD_MAGIC: &str = "legation-head 2.0";
/// What each signature signs before the head's bytes (Ed25519 as used
/// here takes no context, so the context is a prefix).
pub const SIGNED_PREFIX: &[u8] = b"legation head v2\n";
/// The longest valid head (every number at 20 digits), so a longer `head`
/// entry is refused unread (SPEC §27.1).
pub const MAX_HEAD: usize = 471;
/// At most this many signature lines.
pub const MAX_SIGNATURES: usize = 64;
/// At most this many bytes a signature line, room for the hex of a
/// post-quantum key and signature (SLH-DSA's are the largest, about
/// 100 KB of hex).
pub const MAX_SIGNATURE_LINE: usize = 128 << 10;
/// At most this many bytes of `signatures` in all.
pub const MAX_SIGNATURES_BYTES: usize = 1 << 20;
/// The one signature algorithm 2.0 defines.
pub const ED25519: &str = "ed25519";
/// The post-quantum half of a hybrid issuer (format 2.2, SPEC §27.4).
pub use crate::pqsig::ML_DSA_65;

/// The keys of the head's lines after the first, in their order.
const KEYS: [&str; 9] = [
    "archive",
    "sequence",
    "previous",
    "created",
    "records",
    "bytes",
    "records-root",
    "entries",
    "public",
];

/// The signed head of one generation of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The archive's id.
    pub archive_id: [u8; 16],
    /// The generation: 0 for an archive's first.
    pub sequence: u64,
    /// [`chain_hash`] of the previous generation's head and signatures;
    /// zeros for sequence 0.
    pub previous: [u8; 32],
    /// When this generation was written, seconds since 1970 (UTC).
    pub created: i64,
    /// How many records the archive holds.
    pub records: u64,
    /// The sum of the records' sizes.
    pub bytes: u64,
    /// The root of the records tree ([`super::tree`]).
    pub records_root: [u8; 32],
    /// BLAKE3 of the `entries` entry.
    pub entries: [u8; 32],
    /// BLAKE3 of the public facts (`public.json`).
    pub public: [u8; 32],
}

impl Head {
    /// The head's bytes, exactly as written to the `head` entry.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "{HEAD_MAGIC}\narchive {}\nsequence {}\nprevious {}\ncreated {}\nrecords {}\n\
             bytes {}\nrecords-root {}\nentries {}\npublic {}\n",
            hex::encode(&self.archive_id),
            self.sequence,
            hex::encode(&self.previous),
            format_rfc3339(self.created),
            self.records,
            self.bytes,
            hex::encode(&self.records_root),
            hex::encode(&self.entries),
            hex::encode(&self.public),
        )
        .into_bytes()
    }

    /// Parses a head, refusing every byte that [`Head::to_bytes`] would
    /// not have written: another first line, a line out of order, missing
    /// or added, upper-case hex, a number with a leading zero, a time not
    /// in `YYYY-MM-DDTHH:MM:SSZ`, a missing final line feed, non-ASCII.
    pub fn parse(bytes: &[u8]) -> Result<Head> {
        let bad = |what: String| Error::invalid(super::HEAD_ENTRY, what);
        if bytes.len() > MAX_HEAD {
            return Err(bad(format!(
                "{} bytes, more than the {MAX_HEAD} a head may have",
                bytes.len()
            )));
        }
        if let Some(at) = bytes
            .iter()
            .position(|&b| !(b == b'\n' || (0x20..0x7f).contains(&b)))
        {
            return Err(bad(format!("byte {at} is not printable ASCII")));
        }
        // Printable ASCII and line feeds only, so this is UTF-8.
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not ASCII".into()))?;
        let Some(body) = text.strip_suffix('\n') else {
            return Err(bad("does not end with a line feed".into()));
        };
        let mut lines = body.split('\n');
        match lines.next() {
            Some(HEAD_MAGIC) => {}
            Some(l) if l.starts_with("legation-head ") => {
                return Err(bad(format!(
                    "version {} is not supported (this reader reads legation-head 2.0)",
                    &l["legation-head ".len()..]
                )))
            }
            _ => return Err(bad(format!("line 1 is not `{HEAD_MAGIC}`"))),
        }
        let mut values = [""; KEYS.len()];
        for (i, key) in KEYS.iter().enumerate() {
            let n = i + 2;
            let line = lines
                .next()
                .ok_or_else(|| bad(format!("ends at line {n}, before `{key}`")))?;
            values[i] = line
                .strip_prefix(key)
                .and_then(|r| r.strip_prefix(' '))
                .ok_or_else(|| bad(format!("line {n} is not `{key} …`")))?;
        }
        if lines.next().is_some() {
            return Err(bad(format!(
                "a line after `public` (line {}): 2.0 defines none",
                KEYS.len() + 2
            )));
        }
        let hash = |i: usize| -> Result<[u8; 32]> {
            hex::decode_array(values[i])
                .ok_or_else(|| bad(format!("{} is not 64 lower-case hex digits", KEYS[i])))
        };
        let number = |i: usize| -> Result<u64> {
            decimal(values[i]).ok_or_else(|| {
                bad(format!(
                    "{} is not a decimal number without leading zeros that fits 64 bits",
                    KEYS[i]
                ))
            })
        };
        let head = Head {
            archive_id: hex::decode_array(values[0])
                .ok_or_else(|| bad("archive is not 32 lower-case hex digits".into()))?,
            sequence: number(1)?,
            previous: hash(2)?,
            created: parse_rfc3339(values[3])
                .ok_or_else(|| bad("created is not a UTC time YYYY-MM-DDTHH:MM:SSZ".into()))?,
            records: number(4)?,
            bytes: number(5)?,
            records_root: hash(6)?,
            entries: hash(7)?,
            public: hash(8)?,
        };
        if (head.sequence == 0) != (head.previous == [0; 32]) {
            return Err(bad(format!(
                "sequence {} with previous {}: the first generation (sequence 0) and only it \
                 has a previous of zeros",
                head.sequence,
                if head.previous == [0; 32] {
                    "zeros"
                } else {
                    "not zeros"
                }
            )));
        }
        Ok(head)
    }
}

/// A decimal `u64` in its one spelling: `0`, or a digit 1-9 and digits.
pub(crate) fn decimal(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let shape = match b {
        [b'0'] => true,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if shape {
        s.parse().ok()
    } else {
        None
    }
}

/// One line of `signatures`: a public key and its signature over the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine {
    /// The algorithm's name (`ed25519`, `ml-dsa-65`; others are kept,
    /// not checked).
    pub algorithm: String,
    /// The public key's bytes.
    pub public_key: Vec<u8>,
    /// The signature's bytes.
    pub signature: Vec<u8>,
}

impl SignatureLine {
    /// The key's fingerprint ([`crate::crypto::fingerprint_of`]) for an
    /// algorithm this code knows (Ed25519, ML-DSA-65); `None` for others.
    pub fn fingerprint(&self) -> Option<String> {
        crate::pqsig::known(&self.algorithm)
            .then(|| crate::crypto::fingerprint_of(&self.public_key))
    }
}

/// Parses `signatures`: zero or more lines `<algorithm> <hex> <hex>\n`,
/// strictly increasing by algorithm then key (so no key signs twice), at
/// most [`MAX_SIGNATURES`] lines of at most [`MAX_SIGNATURE_LINE`] bytes.
/// An `ed25519` line must carry a 32-byte key and a 64-byte signature,
/// an `ml-dsa-65` line (2.2) a 1952-byte key and a 3309-byte signature;
/// other algorithms are kept with whatever non-empty hex they carry.
pub fn parse_signatures(bytes: &[u8]) -> Result<Vec<SignatureLine>> {
    let bad = |what: String| Error::invalid(super::SIGNATURES_ENTRY, what);
    if bytes.len() > MAX_SIGNATURES_BYTES {
        return Err(bad(format!(
            "{} bytes, more than the {MAX_SIGNATURES_BYTES} allowed",
            bytes.len()
        )));
    }
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let Some(body) = bytes.strip_suffix(b"\n") else {
        return Err(bad("does not end with a line feed".into()));
    };
    let mut out: Vec<SignatureLine> = Vec::new();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        if n > MAX_SIGNATURES {
            return Err(bad(format!("more than {MAX_SIGNATURES} lines")));
        }
        if line.len() > MAX_SIGNATURE_LINE {
            return Err(bad(format!(
                "line {n}: {} bytes, more than {MAX_SIGNATURE_LINE}",
                line.len()
            )));
        }
        let text = std::str::from_utf8(line)
            .ok()
            .filter(|t| t.bytes().all(|b| (0x20..0x7f).contains(&b)))
            .ok_or_else(|| bad(format!("line {n} is not printable ASCII")))?;
        let mut fields = text.split(' ');
        let (Some(algorithm), Some(key), Some(sig), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad(format!(
                "line {n} is not `<algorithm> <public key hex> <signature hex>`"
            )));
        };
        if algorithm.is_empty()
            || algorithm.len() > 32
            || !algorithm
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(bad(format!(
                "line {n}: the algorithm name is not 1 to 32 of a-z, 0-9, -"
            )));
        }
        let field = |v: &str, what: &str| -> Result<Vec<u8>> {
            hex::decode(v)
                .filter(|b| !b.is_empty())
                .ok_or_else(|| bad(format!("line {n}: the {what} is not lower-case hex")))
        };
        let l = SignatureLine {
            algorithm: algorithm.to_string(),
            public_key: field(key, "public key")?,
            signature: field(sig, "signature")?,
        };
        if l.algorithm == ED25519 && (l.public_key.len() != 32 || l.signature.len() != 64) {
            return Err(bad(format!(
                "line {n}: an ed25519 line has a 32-byte key and a 64-byte signature, not {} \
                 and {}",
                l.public_key.len(),
                l.signature.len()
            )));
        }
        if l.algorithm == ML_DSA_65
            && (l.public_key.len() != crate::pqsig::PUBLIC_LEN
                || l.signature.len() != crate::pqsig::SIGNATURE_LEN)
        {
            return Err(bad(format!(
                "line {n}: an ml-dsa-65 line has a {}-byte key and a {}-byte signature, not {} \
                 and {}",
                crate::pqsig::PUBLIC_LEN,
                crate::pqsig::SIGNATURE_LEN,
                l.public_key.len(),
                l.signature.len()
            )));
        }
        if let Some(prev) = out.last() {
            if (prev.algorithm.as_str(), &prev.public_key) >= (l.algorithm.as_str(), &l.public_key)
            {
                return Err(bad(format!(
                    "line {n} is not after line {} (lines are sorted by algorithm then key, \
                     one line a key)",
                    n - 1
                )));
            }
        }
        out.push(l);
    }
    Ok(out)
}

/// The bytes of `signatures` for these lines, sorted by algorithm then key
/// (the order [`parse_signatures`] requires). A key given twice is written
/// once, with its first signature.
pub fn signatures_to_bytes(lines: &[SignatureLine]) -> Vec<u8> {
    let mut sorted: Vec<&SignatureLine> = lines.iter().collect();
    // Stable, so the first of two lines with one key comes first.
    sorted.sort_by(|a, b| (&a.algorithm, &a.public_key).cmp(&(&b.algorithm, &b.public_key)));
    sorted.dedup_by(|b, a| a.algorithm == b.algorithm && a.public_key == b.public_key);
    let mut out = Vec::new();
    for l in sorted {
        out.extend_from_slice(l.algorithm.as_bytes());
        out.push(b' ');
        out.extend_from_slice(hex::encode(&l.public_key).as_bytes());
        out.push(b' ');
        out.extend_from_slice(hex::encode(&l.signature).as_bytes());
        out.push(b'\n');
    }
    out
}

/// What a signature over a head signs: [`SIGNED_PREFIX`] then the head.
pub fn signed_message(head: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNED_PREFIX.len() + head.len());
    m.extend_from_slice(SIGNED_PREFIX);
    m.extend_from_slice(head);
    m
}

/// Signs a head's bytes with an issuer's Ed25519 key alone: an `ed25519`
/// line. A writer signs with [`sign_lines`], which adds the `ml-dsa-65`
/// line of a hybrid key.
pub fn sign(issuer: &IssuerKey, head: &[u8]) -> SignatureLine {
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(issuer.secret());
    SignatureLine {
        algorithm: ED25519.to_string(),
        public_key: key.verifying_key().to_bytes().to_vec(),
        signature: key.sign(&signed_message(head)).to_bytes().to_vec(),
    }
}

/// Signs a head's bytes with every half of an issuer's key
/// ([`crate::pqsig::sign`] over [`signed_message`]): one line for an
/// Ed25519 key, two for a hybrid one.
pub fn sign_lines(issuer: &IssuerKey, head: &[u8]) -> Result<Vec<SignatureLine>> {
    crate::pqsig::sign(issuer, &signed_message(head))
}

/// Verifies one line over a head's bytes: `Some(true)` when it holds,
/// `Some(false)` when it does not, `None` for an algorithm this reader
/// does not know. Ed25519 is verified with the strict rules 1.x uses
/// (canonical S and encodings, no small-order key or R); ML-DSA-65 by
/// FIPS 204 with an empty context.
pub fn verify(line: &SignatureLine, head: &[u8]) -> Option<bool> {
    crate::pqsig::verify_line(line, &signed_message(head))
}

/// The hash that chains generations: BLAKE3 of a head's bytes followed by
/// its signatures' bytes, the next generation's `previous`.
pub fn chain_hash(head: &[u8], signatures: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(head);
    h.update(signatures);
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Head {
        Head {
            archive_id: std::array::from_fn(|i| i as u8),
            sequence: 3,
            previous: [0xab; 32],
            created: 1_795_775_512,
            records: 10_000_000,
            bytes: 1_000_000_000,
            records_root: [0x11; 32],
            entries: [0x22; 32],
            public: [0x33; 32],
        }
    }

    const SAMPLE: &str = "legation-head 2.0\n\
        archive 000102030405060708090a0b0c0d0e0f\n\
        sequence 3\n\
        previous abababababababababababababababababababababababababababababababab\n\
        created 2026-11-27T10:31:52Z\n\
        records 10000000\n\
        bytes 1000000000\n\
        records-root 1111111111111111111111111111111111111111111111111111111111111111\n\
        entries 2222222222222222222222222222222222222222222222222222222222222222\n\
        public 3333333333333333333333333333333333333333333333333333333333333333\n";

    fn err(bytes: &[u8]) -> String {
        Head::parse(bytes).unwrap_err().to_string()
    }

    #[test]
    fn head_bytes_are_the_design_notes() {
        let h = sample();
        assert_eq!(String::from_utf8(h.to_bytes()).unwrap(), SAMPLE);
        assert_eq!(Head::parse(SAMPLE.as_bytes()).unwrap(), h);
        let first = Head {
            sequence: 0,
            previous: [0; 32],
            records: 0,
            bytes: 0,
            ..h
        };
        assert_eq!(Head::parse(&first.to_bytes()).unwrap(), first);
        let max = Head {
            sequence: u64::MAX,
            records: u64::MAX,
            ..sample()
        };
        assert_eq!(Head::parse(&max.to_bytes()).unwrap(), max);
        let longest = Head {
            bytes: u64::MAX,
            created: crate::time::parse_rfc3339("9999-12-31T23:59:59Z").unwrap(),
            ..max
        };
        assert_eq!(longest.to_bytes().len(), MAX_HEAD);
        assert_eq!(Head::parse(&longest.to_bytes()).unwrap(), longest);
    }

    #[test]
    fn heads_with_another_spelling_are_refused() {
        let cases: &[(&str, &str, &str)] = &[
            ("legation-head 2.0\n", "legation-head 2.1\n", "version 2.1"),
            (
                "legation-head 2.0\n",
                "legation-head  2.0\n",
                "not supported",
            ),
            ("legation-head 2.0\n", "", "line 1"),
            ("sequence 3\n", "sequence 03\n", "sequence is not"),
            ("sequence 3\n", "sequence +3\n", "sequence is not"),
            ("sequence 3\n", "sequence  3\n", "sequence is not"),
            (
                "sequence 3\n",
                "sequence 18446744073709551616\n",
                "fits 64 bits",
            ),
            ("records 10000000\n", "records 1e7\n", "records is not"),
            ("bytes 1000000000\n", "bytes \n", "bytes is not"),
            ("archive 0001", "archive 0X01", "archive is not"),
            (
                "archive 000102030405060708090a0b0c0d0e0f",
                "archive 00",
                "archive is not",
            ),
            ("previous abab", "previous ABab", "previous is not"),
            ("entries 22", "entries 2", "entries is not"),
            (
                "created 2026-11-27T10:31:52Z",
                "created 2026-11-27T10:31:52+00:00",
                "created",
            ),
            (
                "created 2026-11-27T10:31:52Z",
                "created 2026-11-27 10:31:52Z",
                "created",
            ),
            (
                "created 2026-11-27T10:31:52Z",
                "created 2026-02-30T10:31:52Z",
                "created",
            ),
            (
                "sequence 3\nprevious",
                "previous",
                "line 3 is not `sequence",
            ),
            (
                "records 10000000\nbytes",
                "bytes 1000000000\nrecords",
                "line 6",
            ),
            ("public 33", "public: 33", "line 10 is not `public"),
            ("entries", "comment hi\nentries", "line 9"),
        ];
        for (from, to, expected) in cases {
            let text = SAMPLE.replacen(from, to, 1);
            assert_ne!(text, SAMPLE, "{from}");
            let e = err(text.as_bytes());
            assert!(e.contains(expected), "{from} -> {to}: {e}");
            assert!(e.starts_with("head: "), "{e}");
        }
        let mut added = SAMPLE.to_string();
        added.push_str("note hello\n");
        assert!(err(added.as_bytes()).contains("line after `public`"));
        assert!(err(&SAMPLE.as_bytes()[..SAMPLE.len() - 1]).contains("line feed"));
        let crlf = SAMPLE.replace('\n', "\r\n");
        assert!(err(crlf.as_bytes()).contains("not printable ASCII"));
        let utf8 = SAMPLE.replacen("legation", "légation", 1);
        assert!(err(utf8.as_bytes()).contains("not printable ASCII"));
        let mut big = SAMPLE.as_bytes().to_vec();
        big.resize(MAX_HEAD + 1, b'\n');
        assert!(err(&big).contains("more than"));
        assert!(err(b"").contains("line feed"));
        assert!(err(b"\n").contains("line 1"));
        // The chain's ends: sequence 0 and only it has zeros.
        let zeros = "0".repeat(64);
        let first = SAMPLE.replacen(&"ab".repeat(32), &zeros, 1);
        assert!(err(first.as_bytes()).contains("sequence 3 with previous zeros"));
        let not_first = SAMPLE.replacen("sequence 3", "sequence 0", 1);
        assert!(err(not_first.as_bytes()).contains("sequence 0 with previous not zeros"));
    }

    fn issuer(n: u8) -> IssuerKey {
        IssuerKey::from_bytes([n; 32])
    }

    #[test]
    fn signatures_sign_and_verify() {
        let head = sample().to_bytes();
        let l = sign(&issuer(1), &head);
        assert_eq!(l.public_key, issuer(1).public());
        assert_eq!(verify(&l, &head), Some(true));
        // Over the prefix and the head, not the head alone: 1.x's signing
        // of the same bytes does not verify.
        let one_x = crate::crypto::sign(issuer(1).secret(), &head);
        let as_v2 = SignatureLine {
            signature: one_x.to_vec(),
            ..l.clone()
        };
        assert_eq!(verify(&as_v2, &head), Some(false));
        let mut other = head.clone();
        other[30] ^= 1;
        assert_eq!(verify(&l, &other), Some(false));
        let mut bad = l.clone();
        bad.signature[0] ^= 1;
        assert_eq!(verify(&bad, &head), Some(false));
        let mut wrong_key = l.clone();
        wrong_key.public_key = issuer(2).public().to_vec();
        assert_eq!(verify(&wrong_key, &head), Some(false));
        let short = SignatureLine {
            signature: vec![1; 63],
            ..l.clone()
        };
        assert_eq!(verify(&short, &head), Some(false));
        let unknown = SignatureLine {
            algorithm: "slh-dsa-sha2-128s".into(),
            ..l.clone()
        };
        assert_eq!(verify(&unknown, &head), None);
        // Non-canonical S (S + the group order) is refused, as in 1.x.
        let mut malleable = l.clone();
        let order: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (s, o) in malleable.signature[32..].iter_mut().zip(order) {
            let sum = u16::from(*s) + u16::from(o) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(verify(&malleable, &head), Some(false));
        assert_eq!(
            l.fingerprint(),
            Some(crate::crypto::fingerprint(&issuer(1).public()))
        );
        assert_eq!(unknown.fingerprint(), None);
    }

    #[test]
    fn signature_lines_round_trip_sorted() {
        let head = sample().to_bytes();
        let a = sign(&issuer(1), &head);
        let b = sign(&issuer(2), &head);
        let pq = SignatureLine {
            algorithm: "ml-dsa-65".into(),
            public_key: vec![7; 1952],
            signature: vec![8; 3309],
        };
        let bytes = signatures_to_bytes(&[b.clone(), pq.clone(), a.clone(), a.clone()]);
        let parsed = parse_signatures(&bytes).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0].algorithm, "ed25519");
        assert!(parsed[0].public_key < parsed[1].public_key);
        assert_eq!(parsed[2], pq);
        assert_eq!(signatures_to_bytes(&parsed), bytes);
        let text = String::from_utf8(bytes.clone()).unwrap();
        let first_line = text.lines().next().unwrap();
        assert_eq!(first_line.len(), 7 + 1 + 64 + 1 + 128);
        assert_eq!(parse_signatures(b"").unwrap(), vec![]);
    }

    #[test]
    fn hostile_signatures_are_refused() {
        let head = sample().to_bytes();
        let a = String::from_utf8(signatures_to_bytes(&[sign(&issuer(1), &head)])).unwrap();
        let b = String::from_utf8(signatures_to_bytes(&[sign(&issuer(2), &head)])).unwrap();
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let e = |s: &str| parse_signatures(s.as_bytes()).unwrap_err().to_string();
        assert!(e(&format!("{hi}{lo}")).contains("line 2 is not after line 1"));
        assert!(e(&format!("{lo}{lo}")).contains("line 2 is not after line 1"));
        assert!(e(lo.trim_end()).contains("line feed"));
        assert!(e(&lo.replacen(' ', "  ", 1)).contains("line 1 is not"));
        assert!(e(&lo.replacen("ed25519", "Ed25519", 1)).contains("algorithm name"));
        assert!(e(&lo.replacen("ed25519 ", "ed25519 00", 1)).contains("32-byte key"));
        assert!(e(&lo.replacen("\n", " 00\n", 1)).contains("line 1 is not"));
        assert!(e(&format!("{lo}\n")).contains("line 2 is not"));
        assert!(e("ed25519 ab\n").contains("line 1 is not"));
        assert!(e("x  00\n").contains("public key is not"));
        assert!(e(&lo.to_uppercase()).contains("algorithm name"));
        assert!(e(&lo.replacen("ed25519 ", "ed25519 AB", 1)).contains("not lower-case hex"));
        let many: String = (0..=MAX_SIGNATURES)
            .map(|i| format!("x{i:03} 00 00\n"))
            .collect();
        assert!(e(&many).contains("more than 64 lines"));
        let long = format!("x {} 00\n", "0".repeat(MAX_SIGNATURE_LINE));
        assert!(e(&long).contains("line 1:"));
        let huge = "x 00 00\n".repeat(MAX_SIGNATURES_BYTES / 8 + 1);
        assert!(e(&huge).contains("bytes, more than"));
        assert_eq!(parse_signatures(lo.as_bytes()).unwrap().len(), 1);
        // 2.2: an ml-dsa-65 line of another key or signature length.
        let key = "00".repeat(crate::pqsig::PUBLIC_LEN);
        let sig = "00".repeat(crate::pqsig::SIGNATURE_LEN);
        assert!(e(&format!("ml-dsa-65 00 {sig}\n")).contains("1952-byte key"));
        assert!(e(&format!("ml-dsa-65 {key} 00{sig}\n")).contains("3309-byte signature"));
        assert!(parse_signatures(format!("ml-dsa-65 {key} {sig}\n").as_bytes()).is_ok());
    }

    #[test]
    fn chain_hash_covers_head_and_signatures() {
        let head = sample().to_bytes();
        let sigs = signatures_to_bytes(&[sign(&issuer(1), &head)]);
        let mut both = head.clone();
        both.extend_from_slice(&sigs);
        assert_eq!(chain_hash(&head, &sigs), *blake3::hash(&both).as_bytes());
        assert_ne!(chain_hash(&head, &sigs), chain_hash(&head, b""));
    }
}
