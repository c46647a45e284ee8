//! The witness vectors (SPEC §34): witness key files, cosignature files
//! and heartbeats, one file each in `format/testdata/witness/`. They are
//! not archives, so they have their own header (SPEC §18's form, other
//! keys):
//!
//! - `expect:` `success`, or `refused: ` and a fragment of the message;
//! - `kind:` `witness-key` (the bytes are a public key file), `cosignature`
//!   or `heartbeat`;
//! - `key:` (witness-key) the public key the file must yield, 64 hex;
//! - `issuer:` the trusted issuer's pin, 64 hex: an Ed25519 key, or
//!   (2.3) a hybrid issuer's id;
//! - `witness:` a witness public key whose lines count (repeatable): 64
//!   hex, or (2.3) 3968 for a hybrid witness's two keys;
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
    cosign, cosign_all, CosignatureLine, Cosignatures, Heartbeat, WitnessKey, WitnessPublic,
    COSIGNATURE_ML_DSA_65, WITNESS_PUBLIC,
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
        // (2.3 defines `cosignature-ml-dsa-65`, with its lengths.)
        algorithm: "cosignature-slh-dsa-sha2-128s".into(),
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
    beat.sign(&issuer()).unwrap();
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
    expired.sign(&issuer()).unwrap();
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
    v.extend(hybrid());
    v
}

/// The hybrid witness of the 2.3 vectors (SPEC §34.1).
fn hybrid_witness() -> WitnessKey {
    WitnessKey::from_seeds([0x74; 32], Some([0x45; 32]))
}

/// The hybrid issuer of the 2.3 vectors: [`issuer`]'s Ed25519 seed and an
/// ML-DSA-65 seed, as the 2.2 archive vectors' (SPEC §27.4).
fn hybrid_issuer() -> IssuerKey {
    IssuerKey::from_seeds(*issuer().secret(), Some([0x44; 32]))
}

/// A witness public key as the `witness:` header gives it: 64 hex digits,
/// or a hybrid witness's 3968 (its key file's).
fn witness_hex(w: &WitnessPublic) -> String {
    let mut b = w.ed25519.to_vec();
    if let Some(m) = &w.ml_dsa_65 {
        b.extend_from_slice(&m[..]);
    }
    hex::encode(&b)
}

/// Hybrid witnesses and hybrid issuers' statements (format 2.3, SPEC
/// §34.1, §34.2, §34.4).
fn hybrid() -> Vec<WitnessVector> {
    let mut v = Vec::new();
    let w = hybrid_witness();
    let wp = w.public_key();
    v.push(vector(
        "witness-key-hybrid-file",
        "witness-key",
        "success",
        "a hybrid witness's public key file: its Ed25519 and ML-DSA-65 keys (2.3, SPEC §34.1)",
        wp.to_key_file("hybrid witness of the Iceland embassy")
            .into_bytes(),
        vec![("key", witness_hex(&wp))],
    ));
    let trust_of = |issuer: [u8; 32], witnesses: &[&WitnessPublic], counted: Option<usize>| {
        let mut h = vec![("issuer", hex::encode(&issuer))];
        for w in witnesses {
            h.push(("witness", witness_hex(w)));
        }
        h.push(("now", format_rfc3339(NOW)));
        if let Some(c) = counted {
            h.push(("counted", c.to_string()));
        }
        h
    };
    let t = (NOW - 3600) as u64;
    let (h, s) = generation(&issuer());
    let mut good = Cosignatures::new(&h, &s).unwrap();
    for l in cosign_all(&w, &h, t).unwrap() {
        good.add(l);
    }
    let ed_pin = issuer().public();
    v.push(vector(
        "cosig-hybrid-witness",
        "cosignature",
        "success",
        "generation 7 cosigned by a hybrid witness: its cosignature-ed25519 and \
         cosignature-ml-dsa-65 lines, one time, count once (2.3, SPEC §34.2)",
        good.to_bytes(),
        trust_of(ed_pin, &[&wp], Some(1)),
    ));
    let mut stripped = good.clone();
    stripped
        .lines
        .retain(|l| l.algorithm != COSIGNATURE_ML_DSA_65);
    v.push(vector(
        "cosig-hybrid-ml-dsa-stripped",
        "cosignature",
        "refused: lacks its ML-DSA-65 line",
        "cosig-hybrid-witness without its cosignature-ml-dsa-65 line, given the hybrid key: \
         the Ed25519 line alone is not the hybrid witness's",
        stripped.to_bytes(),
        trust_of(ed_pin, &[&wp], None),
    ));
    let mut flipped = good.clone();
    let last = flipped.lines.len() - 1;
    flipped.lines[last].signature[100] ^= 1;
    v.push(vector(
        "cosig-hybrid-ml-dsa-flipped",
        "cosignature",
        "refused: does not verify",
        "cosig-hybrid-witness with one bit of its ML-DSA-65 signature flipped",
        flipped.to_bytes(),
        trust_of(ed_pin, &[&wp], None),
    ));
    let half = WitnessPublic::from(wp.ed25519);
    v.push(vector(
        "cosig-hybrid-ed25519-half",
        "cosignature",
        "success",
        "cosig-hybrid-witness given the witness's Ed25519 half alone (as a 2.2 reader has it): \
         the Ed25519 line counts, the ML-DSA-65 line is another key's",
        good.to_bytes(),
        trust_of(ed_pin, &[&half], Some(1)),
    ));
    let hy = hybrid_issuer();
    let pin = hy.public_key().pin();
    let hh = h.clone();
    let lines = head::sign_lines(&hy, &hh).unwrap();
    let both = head::signatures_to_bytes(&lines);
    let mut by_hybrid = Cosignatures::new(&hh, &both).unwrap();
    by_hybrid.add(cosign(&witness(1), &hh, t));
    v.push(vector(
        "cosig-hybrid-issuer",
        "cosignature",
        "success",
        "a cosignature of a head signed by a hybrid issuer, trusted by its id: both head lines \
         verify (2.3, SPEC §34.2)",
        by_hybrid.to_bytes(),
        trust_of(pin, &[&witness(1).public_key()], Some(1)),
    ));
    let ed_only: Vec<_> = lines
        .iter()
        .filter(|l| l.algorithm == head::ED25519)
        .cloned()
        .collect();
    let mut no_ml = Cosignatures::new(&hh, &head::signatures_to_bytes(&ed_only)).unwrap();
    no_ml.add(cosign(&witness(1), &hh, t));
    v.push(vector(
        "cosig-hybrid-issuer-stripped",
        "cosignature",
        "refused: not signed by a trusted issuer",
        "cosig-hybrid-issuer with the head's ml-dsa-65 line removed: the Ed25519 half alone \
         does not meet the hybrid issuer's id",
        no_ml.to_bytes(),
        trust_of(pin, &[&witness(1).public_key()], None),
    ));

    let mut beat = Heartbeat {
        archive_id: [0x5a; 16],
        sequence: 7,
        chain: head::chain_hash(&hh, &both),
        time: NOW - 3600,
        expires: NOW - 3600 + 7 * 86_400,
        signatures: Vec::new(),
    };
    beat.sign(&hy).unwrap();
    v.push(vector(
        "heartbeat-hybrid",
        "heartbeat",
        "success",
        "a hybrid issuer's heartbeat, an ed25519 and an ml-dsa-65 line, trusted by its id \
         (2.3, SPEC §34.4)",
        beat.to_bytes(),
        trust_of(pin, &[], None),
    ));
    let mut stripped = beat.clone();
    stripped.signatures.retain(|l| l.algorithm == head::ED25519);
    v.push(vector(
        "heartbeat-hybrid-ml-dsa-stripped",
        "heartbeat",
        "refused: not signed by a trusted issuer",
        "heartbeat-hybrid without its ml-dsa-65 line: not the hybrid issuer's",
        stripped.to_bytes(),
        trust_of(pin, &[], None),
    ));
    let mut flipped = beat.clone();
    let last = flipped.signatures.len() - 1;
    flipped.signatures[last].signature[100] ^= 1;
    v.push(vector(
        "heartbeat-hybrid-ml-dsa-flipped",
        "heartbeat",
        "refused: not signed by a trusted issuer",
        "heartbeat-hybrid with one bit of its ML-DSA-65 signature flipped",
        flipped.to_bytes(),
        trust_of(pin, &[], None),
    ));
    let mut old = Heartbeat {
        signatures: Vec::new(),
        ..beat.clone()
    };
    old.sign(&issuer()).unwrap();
    v.push(vector(
        "heartbeat-hybrid-ed25519-only",
        "heartbeat",
        "refused: not signed by a trusted issuer",
        "the heartbeat signed by the hybrid issuer's Ed25519 half alone (as 2.2 wrote it), \
         checked against the hybrid issuer's id",
        old.to_bytes(),
        trust_of(pin, &[], None),
    ));
    v
}

/// A `witness:` value: an Ed25519 witness's 64 hex digits, or a hybrid
/// witness's 3968 (2.3).
fn witness_of(v: &str) -> Result<WitnessPublic, String> {
    let b = hex::decode(v).ok_or("witness: not lower-case hex")?;
    match b.len() {
        32 => Ok(WitnessPublic::from(<[u8; 32]>::try_from(&b[..]).unwrap())),
        n if n == legation_format::pqsig::HYBRID_PUBLIC_LEN => {
            let mut m = Box::new([0u8; legation_format::pqsig::PUBLIC_LEN]);
            m.copy_from_slice(&b[32..]);
            Ok(WitnessPublic {
                ed25519: b[..32].try_into().unwrap(),
                ml_dsa_65: Some(m),
            })
        }
        n => Err(format!("witness: {n} bytes, neither 32 nor 1984")),
    }
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
            "key" => key = Some(hex::decode(v).ok_or("key: not hex")?),
            "issuer" => issuers.push(hex32(v)?),
            "witness" => witnesses.push(witness_of(v)?),
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
            match WitnessPublic::from_key_file(text, "key file") {
                Ok(k) if Some(hex::decode(&witness_hex(&k)).unwrap_or_default()) == key => Ok(None),
                Ok(_) => return Err("the key file yields another key".into()),
                Err(e) => Err(e.to_string()),
            }
        }
        Some("cosignature") => Cosignatures::parse(bytes, "cosignature")
            .map_err(|e| e.to_string())
            .and_then(|c| {
                c.check_keys(&issuers, &witnesses, now, "cosignature")
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
