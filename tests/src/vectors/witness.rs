//! The witness vectors (SPEC §34): witness key files, cosignature files
//! and heartbeats, one file each in `format/testdata/witness/`. They are
//! not archives, so they have their own header (SPEC §18's form, other
//! keys):
//!
//! - `expect:` `success`, or `refused: ` and a fragment of the message;
//! - `kind:` `witness-key` (the bytes are a public key file), `cosignature`
//!   or `heartbeat`;
//! - `key:` (witness-key) the public key the file must yield, 64 hex;
//! - `issuer:` the trusted issuer public key, 64 hex;
//! - `witness:` a witness public key whose lines count (repeatable);
//! - `now:` the reader's clock (SPEC §1 time);
//! - `counted:` (a cosignature that succeeds) how many lines count;
//! - `comment:` for people.
//!
//! [`check_file`] runs a file from its header alone, so a reader written
//! from SPEC.md can run the same files.

use legation_format::hex;
use legation_format::keys::{self, IssuerKey};
use legation_format::time::{format_rfc3339, parse_rfc3339};
use legation_format::v2::head::{self, Head};
use legation_format::v2::witness::{
    cosign, CosignatureLine, Cosignatures, Heartbeat, WitnessKey, WITNESS_PUBLIC,
};

use crate::{issuer, other_issuer, CREATED};

/// One witness vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessVector {
    /// File name without extension.
    pub name: String,
    /// The header lines after `expect:` and before `comment:`, in order.
    pub header: Vec<(&'static str, String)>,
    /// The `expect:` line.
    pub expect: String,
    /// What the vector is about.
    pub comment: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

impl WitnessVector {
    /// The vector file: header, an empty line, the bytes.
    pub fn to_file(&self) -> Vec<u8> {
        let mut s = format!("expect: {}\n", self.expect);
        for (k, v) in &self.header {
            s.push_str(&format!("{k}: {v}\n"));
        }
        s.push_str(&format!("comment: {}\n\n", self.comment));
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.bytes);
        out
    }
}

fn witness(n: u8) -> WitnessKey {
    WitnessKey::from_bytes([0x70 + n; 32])
}

/// The reader's clock of every vector: a day after the sample's creation.
const NOW: i64 = CREATED + 86_400;

/// A head of generation 7 of a series, and its signatures by `signer`.
fn generation(signer: &IssuerKey) -> (Vec<u8>, Vec<u8>) {
    let h = Head {
        archive_id: [0x5a; 16],
        sequence: 7,
        previous: [0x66; 32],
        created: CREATED,
        records: 1_000_000,
        bytes: 110_093_905,
        records_root: [0x11; 32],
        entries: [0x22; 32],
        public: [0x33; 32],
    }
    .to_bytes();
    let s = head::signatures_to_bytes(&[head::sign(signer, &h)]);
    (h, s)
}

/// A vector of this form: `kind:` first, then the `extra` header lines
/// (the post-quantum vectors are made by it too).
pub(super) fn vector(
    name: &str,
    kind: &str,
    expect: &str,
    comment: &str,
    bytes: Vec<u8>,
    extra: Vec<(&'static str, String)>,
) -> WitnessVector {
    let mut header = vec![("kind", kind.to_owned())];
    header.extend(extra);
    WitnessVector {
        name: name.into(),
        header,
        expect: expect.into(),
        comment: comment.into(),
        bytes,
    }
}

/// The trust of a cosignature or heartbeat vector: the sample issuer, the
/// witnesses given, the clock.
fn trust(witnesses: &[u8], counted: Option<usize>) -> Vec<(&'static str, String)> {
    let mut h = vec![("issuer", hex::encode(&issuer().public()))];
    for n in witnesses {
        h.push(("witness", hex::encode(&witness(*n).public())));
    }
    h.push(("now", format_rfc3339(NOW)));
    if let Some(c) = counted {
        h.push(("counted", c.to_string()));
    }
    h
}

/// Every witness vector (deterministic).
pub fn all() -> Vec<WitnessVector> {
    let mut v = Vec::new();
    let w = witness(1);
    let key_file = keys::format_key_file(
        WITNESS_PUBLIC,
        &w.public(),
        "witness of the Iceland embassy",
    );
    v.push(vector(
        "witness-key-file",
        "witness-key",
        "success",
        "a witness public key file (Appendix A, SPEC §34.1)",
        key_file.as_bytes().to_vec(),
        vec![("key", hex::encode(&w.public()))],
    ));
    let issuer_file =
        keys::format_key_file(keys::ISSUER_PUBLIC, &issuer().public(), "an issuer key");
    v.push(vector(
        "witness-key-issuer-tag",
        "witness-key",
        "refused: found a \"legation-ed25519-public\" line",
        "an issuer public key file given as a witness key: its tag is not a witness key's",
        issuer_file.as_bytes().to_vec(),
        vec![("key", hex::encode(&issuer().public()))],
    ));

    let (h, s) = generation(&issuer());
    let cosigned = |lines: Vec<CosignatureLine>| {
        let mut c = Cosignatures::new(&h, &s).unwrap();
        for l in lines {
            c.add(l);
        }
        c
    };
    let t = (NOW - 3600) as u64;
    let good = cosigned(vec![
        cosign(&witness(1), &h, t),
        cosign(&witness(2), &h, t + 60),
    ]);
    v.push(vector(
        "cosig-good",
        "cosignature",
        "success",
        "generation 7 cosigned by two witnesses an hour before the reader's clock (SPEC §34.2)",
        good.to_bytes(),
        trust(&[1, 2], Some(2)),
    ));
    let mut bad = good.clone();
    bad.lines[1].signature[10] ^= 1;
    v.push(vector(
        "cosig-bad-signature",
        "cosignature",
        "refused: does not verify",
        "cosig-good with one bit of the second line's signature flipped",
        bad.to_bytes(),
        trust(&[1, 2], None),
    ));
    let mut retimed = good.clone();
    retimed.lines[0].time += 86_400;
    v.push(vector(
        "cosig-time-changed",
        "cosignature",
        "refused: does not verify",
        "cosig-good with the first line's time moved a day later (the time is signed)",
        retimed.to_bytes(),
        trust(&[1, 2], None),
    ));
    let mut pq = cosigned(vec![cosign(&witness(1), &h, t)]);
    pq.add(CosignatureLine {
        algorithm: "cosignature-ml-dsa-65".into(),
        public_key: vec![0x44; 64],
        time: t,
        signature: vec![0x55; 96],
    });
    v.push(vector(
        "cosig-unknown-algorithm",
        "cosignature",
        "success",
        "a line of an algorithm this reader does not know is skipped; the ed25519 line counts",
        pq.to_bytes(),
        trust(&[1], Some(1)),
    ));
    let (h2, s2) = generation(&other_issuer());
    let mut foreign = Cosignatures::new(&h2, &s2).unwrap();
    foreign.add(cosign(&witness(1), &h2, t));
    v.push(vector(
        "cosig-head-not-issuer-signed",
        "cosignature",
        "refused: not signed by a trusted issuer",
        "a good cosignature of a head signed by another issuer than the trusted one",
        foreign.to_bytes(),
        trust(&[1], None),
    ));
    let future = cosigned(vec![cosign(&witness(1), &h, (NOW + 601) as u64)]);
    v.push(vector(
        "cosig-time-in-future",
        "cosignature",
        "refused: more than 10 minutes after this clock",
        "a valid cosignature dated 601 seconds after the reader's clock",
        future.to_bytes(),
        trust(&[1], None),
    ));
    let text = String::from_utf8(good.to_bytes()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    let swapped = format!(
        "{}\n{}\n{}\n",
        lines[..n - 2].join("\n"),
        lines[n - 1],
        lines[n - 2]
    );
    v.push(vector(
        "cosig-lines-unsorted",
        "cosignature",
        "refused: is not after line 1",
        "cosig-good with its two cosignature lines swapped (lines are sorted by algorithm, then key)",
        swapped.into_bytes(),
        trust(&[1, 2], None),
    ));
    let other_witness = cosigned(vec![cosign(&witness(3), &h, t)]);
    v.push(vector(
        "cosig-other-witness",
        "cosignature",
        "success",
        "a cosignature by a witness the reader was not given: valid, but it counts for nothing",
        other_witness.to_bytes(),
        trust(&[1], Some(0)),
    ));

    let mut beat = Heartbeat {
        archive_id: [0x5a; 16],
        sequence: 7,
        chain: head::chain_hash(&h, &s),
        time: NOW - 3600,
        expires: NOW - 3600 + 7 * 86_400,
        signatures: Vec::new(),
    };
    beat.sign(&issuer());
    v.push(vector(
        "heartbeat-good",
        "heartbeat",
        "success",
        "the issuer says generation 7 is the newest, an hour ago, for a week (SPEC §34.4)",
        beat.to_bytes(),
        trust(&[], None),
    ));
    let mut expired = Heartbeat {
        time: NOW - 8 * 86_400,
        expires: NOW - 86_400,
        signatures: Vec::new(),
        ..beat.clone()
    };
    expired.sign(&issuer());
    v.push(vector(
        "heartbeat-expired",
        "heartbeat",
        "refused: expired",
        "a heartbeat made 8 days ago for a week: it vouches for nothing now",
        expired.to_bytes(),
        trust(&[], None),
    ));
    let tampered =
        String::from_utf8(beat.to_bytes())
            .unwrap()
            .replacen("sequence 7", "sequence 8", 1);
    v.push(vector(
        "heartbeat-tampered",
        "heartbeat",
        "refused: not signed by a trusted issuer",
        "heartbeat-good naming generation 8 instead of 7: its signature no longer verifies",
        tampered.into_bytes(),
        trust(&[], None),
    ));
    v
}

/// Runs a vector file from its header alone.
pub fn check_file(file: &[u8]) -> Result<(), String> {
    let split = file
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or("no empty line after the header")?;
    let header = std::str::from_utf8(&file[..split]).map_err(|_| "header not UTF-8")?;
    let bytes = &file[split + 2..];
    let mut expect = None;
    let (mut kind, mut key, mut now, mut counted) = (None, None, None, None);
    let (mut issuers, mut witnesses) = (Vec::new(), Vec::new());
    for line in header.lines() {
        let (k, v) = line
            .split_once(": ")
            .ok_or(format!("header line {line:?}"))?;
        let hex32 = |v: &str| hex::decode_array::<32>(v).ok_or(format!("{k}: not 64 hex"));
        match k {
            "expect" => expect = Some(v.to_owned()),
            "kind" => kind = Some(v.to_owned()),
            "key" => key = Some(hex32(v)?),
            "issuer" => issuers.push(hex32(v)?),
            "witness" => witnesses.push(hex32(v)?),
            "now" => now = Some(parse_rfc3339(v).ok_or("now: not a time")?),
            "counted" => counted = Some(v.parse::<usize>().map_err(|_| "counted")?),
            "comment" => {}
            other => return Err(format!("unknown header key {other}")),
        }
    }
    let now = now.unwrap_or(0);
    let got: Result<Option<usize>, String> = match kind.as_deref() {
        Some("witness-key") => {
            let text = std::str::from_utf8(bytes).map_err(|_| "key file not UTF-8")?;
            match keys::parse_key_file(text, WITNESS_PUBLIC, "key file") {
                Ok(k) if Some(*k) == key => Ok(None),
                Ok(_) => return Err("the key file yields another key".into()),
                Err(e) => Err(e.to_string()),
            }
        }
        Some("cosignature") => Cosignatures::parse(bytes, "cosignature")
            .map_err(|e| e.to_string())
            .and_then(|c| {
                c.check(&issuers, &witnesses, now, "cosignature")
                    .map(|l| Some(l.len()))
                    .map_err(|e| e.to_string())
            }),
        Some("heartbeat") => Heartbeat::parse(bytes)
            .map_err(|e| e.to_string())
            .and_then(|h| {
                h.check(&issuers, now)
                    .map(|()| None)
                    .map_err(|e| e.to_string())
            }),
        other => return Err(format!("unknown kind {other:?}")),
    };
    match (expect.as_deref(), got) {
        (Some("success"), Ok(n)) if n == counted => Ok(()),
        (Some("success"), Ok(n)) => Err(format!("counted {n:?}, expected {counted:?}")),
        (Some(e), Err(msg)) if e.starts_with("refused: ") && msg.contains(&e[9..]) => Ok(()),
        (e, got) => Err(format!("expected {e:?}, got {got:?}")),
    }
}
