//! The post-quantum recipient vectors (SPEC §7.11, format 2.1): X-Wing
//! key files and `mlkem768x25519` key slots, one file each in
//! `format/testdata/pq/`. They are not archives, so they have their own
//! header (SPEC §18's form, other keys):
//!
//! - `expect:` `success`, or `refused: ` and a fragment of the message;
//! - `kind:` `public-key` (the bytes are a public key file),
//!   `secret-key` (a secret key file) or `slot` (the bytes are the slot's
//!   JSON object as `key_slots` holds it);
//! - `seed:` the identity's 32-byte X-Wing seed, 64 hex;
//! - `public-blake3:` BLAKE3 of the 1216-byte public key the seed gives;
//! - `randomness:` (slot) the 64 bytes the encapsulation took, 128 hex:
//!   ML-KEM's 32, then X25519's ephemeral secret;
//! - `archive-id:` (slot) 32 hex;
//! - `data-key:` (slot, success) the data key the slot opens to, 64 hex;
//! - `comment:` for people.
//!
//! A `slot` vector that succeeds is checked both ways: its bytes are what
//! encapsulating with `randomness` and wrapping `data-key` gives, and the
//! identity of `seed` opens them to `data-key`. [`check_file`] runs a
//! file from its header alone.

use legation_format::crypto::{DataKey, KeySlot};
use legation_format::hex;
use legation_format::pq::{self, PqIdentity, PqRecipient};

use super::witness::vector;

/// One post-quantum vector: the witness vectors' form (a header of
/// `key: value` lines, an empty line, the bytes).
pub type PqVector = super::witness::WitnessVector;

const SEED: [u8; 32] = [0x42; 32];
const OTHER_SEED: [u8; 32] = [0x43; 32];
const ARCHIVE_ID: [u8; 16] = [0x5a; 16];
const DATA_KEY: [u8; 32] = [0xd4; 32];

fn randomness() -> [u8; pq::ENCAPSULATION_RANDOMNESS_LEN] {
    let mut r = [0u8; pq::ENCAPSULATION_RANDOMNESS_LEN];
    for (i, b) in r.iter_mut().enumerate() {
        *b = i as u8;
    }
    r
}

fn identity_header(seed: &[u8; 32]) -> Vec<(&'static str, String)> {
    let public = PqIdentity::from_bytes(*seed).public();
    vec![
        ("seed", hex::encode(seed)),
        (
            "public-blake3",
            blake3::hash(public.as_bytes()).to_hex().to_string(),
        ),
    ]
}

fn slot_header(seed: &[u8; 32], data_key: bool) -> Vec<(&'static str, String)> {
    let mut h = identity_header(seed);
    h.push(("randomness", hex::encode(&randomness())));
    h.push(("archive-id", hex::encode(&ARCHIVE_ID)));
    if data_key {
        h.push(("data-key", hex::encode(&DATA_KEY)));
    }
    h
}

/// The slot of the good vector, as JSON.
fn good_slot() -> String {
    let public = PqIdentity::from_bytes(SEED).public();
    let slot = pq::pq_slot_with(
        &DataKey::from_bytes(DATA_KEY),
        &ARCHIVE_ID,
        &public,
        &randomness(),
    );
    serde_json::to_string(&slot).unwrap()
}

/// Every post-quantum vector (deterministic).
pub fn all() -> Vec<PqVector> {
    let mut v = Vec::new();
    let id = PqIdentity::from_bytes(SEED);
    let public = id.public();
    v.push(vector(
        "mlkem768x25519-public-key",
        "public-key",
        "success",
        "a post-quantum recipient's public key file (Appendix A): the 1216-byte X-Wing key the seed expands to",
        public.to_key_file("a recipient").into_bytes(),
        identity_header(&SEED),
    ));
    v.push(vector(
        "mlkem768x25519-secret-key",
        "secret-key",
        "success",
        "a post-quantum identity's secret key file (Appendix A): the 32-byte X-Wing seed",
        id.to_key_file("an identity").as_bytes().to_vec(),
        identity_header(&SEED),
    ));
    let line = hex::encode(public.as_bytes());
    let mut short = public.to_key_file("a recipient");
    short = short.replace(&line, &line[..line.len() - 2]);
    v.push(vector(
        "mlkem768x25519-public-key-truncated",
        "public-key",
        "refused: key is not 1216 bytes",
        "a public key file one byte short",
        short.into_bytes(),
        vec![],
    ));
    let mut bad = *public.as_bytes();
    // The first coefficient 4095, not below q = 3329.
    bad[0] = 0xff;
    bad[1] |= 0x0f;
    let text = legation_format::keys::format_key_file(pq::RECIPIENT_PUBLIC, &bad, "c");
    v.push(vector(
        "mlkem768x25519-public-key-coefficient",
        "public-key",
        "refused: not an ML-KEM-768 public key",
        "a public key whose ML-KEM half has a coefficient of 4095 (at least q = 3329)",
        text.as_bytes().to_vec(),
        vec![],
    ));
    let mut bad = *public.as_bytes();
    bad[pq::PUBLIC_LEN - 32..].fill(0);
    let text = legation_format::keys::format_key_file(pq::RECIPIENT_PUBLIC, &bad, "c");
    v.push(vector(
        "mlkem768x25519-public-key-low-order",
        "public-key",
        "refused: its X25519 half is a low-order point",
        "a public key whose X25519 half is zero: a writer refuses it, as it would an X25519 recipient of small order",
        text.as_bytes().to_vec(),
        vec![],
    ));
    let slot = good_slot();
    v.push(vector(
        "mlkem768x25519-slot",
        "slot",
        "success",
        "an mlkem768x25519 slot (SPEC §7.11): the seed's key, the encapsulation with the given randomness, the data key wrapped over the slot header; the seed's identity opens it to the data key",
        slot.clone().into_bytes(),
        slot_header(&SEED, true),
    ));
    v.push(vector(
        "mlkem768x25519-slot-other-identity",
        "slot",
        "refused: opens no slot",
        "the good slot tried with another identity: its commitment does not match",
        slot.clone().into_bytes(),
        slot_header(&OTHER_SEED, false),
    ));
    let KeySlot::MlKem768X25519(s) = serde_json::from_str::<KeySlot>(&slot).unwrap() else {
        unreachable!()
    };
    let ct = hex::encode(&s.ciphertext);
    let mut flipped = s.clone();
    flipped.ciphertext[1100] ^= 1;
    v.push(vector(
        "mlkem768x25519-slot-ciphertext-bitflip",
        "slot",
        "refused: opens no slot",
        "a bit of the ciphertext's X25519 half flipped: the slot does not open (the header binds the ciphertext, and X-Wing's secret changes)",
        serde_json::to_string(&KeySlot::MlKem768X25519(flipped))
            .unwrap()
            .into_bytes(),
        slot_header(&SEED, false),
    ));
    v.push(vector(
        "mlkem768x25519-slot-truncated",
        "slot",
        "refused: expected 1120 bytes",
        "the slot's ciphertext one byte short",
        slot.replace(&ct, &ct[..ct.len() - 2]).into_bytes(),
        slot_header(&SEED, false),
    ));
    v.push(vector(
        "mlkem768x25519-slot-oversized",
        "slot",
        "refused: expected 1120 bytes",
        "the slot's ciphertext one byte long",
        slot.replace(&ct, &format!("{ct}00")).into_bytes(),
        slot_header(&SEED, false),
    ));
    v
}

/// A format 2.1 archive, unsigned, whose records (`paths`, each holding
/// `a register line`) open with X25519 `recipients` and post-quantum
/// `pq` recipients: what the reader's, viewers' and browser's tests of
/// post-quantum slots open.
pub fn archive(recipients: Vec<[u8; 32]>, pq: &[PqRecipient], paths: &[&str]) -> Vec<u8> {
    use legation_format::v2::writer::ArchiveWriter;
    use legation_format::writer::WriterOptions;
    use rand_core::SeedableRng;
    let opts = WriterOptions {
        created: crate::CREATED,
        issuer: None,
        recipients,
        passphrases: vec![],
        embed_spec: false,
        viewer: None,
    };
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let out = std::io::Cursor::new(Vec::new());
    let mut w = ArchiveWriter::new_with_slots(out, opts, rng, None, &[], pq).unwrap();
    crate::register_lines(&mut w, paths);
    w.finish().unwrap().into_inner()
}

/// Runs a vector file from its header alone: `Ok` if it behaves as its
/// `expect:` line says.
pub fn check_file(file: &[u8]) -> Result<(), String> {
    let split = file
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or("no empty line after the header")?;
    let header = std::str::from_utf8(&file[..split]).map_err(|_| "header not UTF-8")?;
    let bytes = &file[split + 2..];
    let text = std::str::from_utf8(bytes).map_err(|_| "bytes not UTF-8")?;
    let (mut expect, mut kind, mut seed, mut public_hash) = (None, None, None, None);
    let (mut randomness, mut archive_id, mut data_key) = (None, None, None);
    for line in header.lines() {
        let (k, v) = line
            .split_once(": ")
            .ok_or(format!("header line {line:?}"))?;
        let bad = || format!("{k}: not hex of the right length");
        match k {
            "expect" => expect = Some(v.to_owned()),
            "kind" => kind = Some(v.to_owned()),
            "seed" => seed = Some(hex::decode_array::<32>(v).ok_or_else(bad)?),
            "public-blake3" => public_hash = Some(hex::decode_array::<32>(v).ok_or_else(bad)?),
            "randomness" => randomness = Some(hex::decode_array::<64>(v).ok_or_else(bad)?),
            "archive-id" => archive_id = Some(hex::decode_array::<16>(v).ok_or_else(bad)?),
            "data-key" => data_key = Some(hex::decode_array::<32>(v).ok_or_else(bad)?),
            "comment" => {}
            other => return Err(format!("unknown header key {other}")),
        }
    }
    let expanded = seed.map(|s| PqIdentity::from_bytes(s).public());
    if let (Some(p), Some(h)) = (&expanded, public_hash) {
        if *blake3::hash(p.as_bytes()).as_bytes() != h {
            return Err("the seed does not give public-blake3".into());
        }
    }
    let got: Result<(), String> = match kind.as_deref() {
        Some("public-key") => PqRecipient::from_key_file(text, "key file")
            .map_err(|e| e.to_string())
            .and_then(|k| match &expanded {
                Some(p) if p != &k => Err("the key file yields another key".into()),
                _ => Ok(()),
            }),
        Some("secret-key") => PqIdentity::from_key_file(text, "key file")
            .map_err(|e| e.to_string())
            .and_then(|k| match seed {
                Some(s) if *k.secret() != s => Err("the key file yields another seed".into()),
                _ => Ok(()),
            }),
        Some("slot") => {
            let (seed, id) = (
                seed.ok_or("a slot vector needs seed:")?,
                archive_id.ok_or("a slot vector needs archive-id:")?,
            );
            serde_json::from_str::<KeySlot>(text)
                .map_err(|e| e.to_string())
                .and_then(|slot| {
                    let identity = PqIdentity::from_bytes(seed);
                    let dk = pq::open_pq_slot(&slot, &id, &identity)
                        .ok_or("the identity opens no slot")?;
                    if Some(*dk.as_bytes()) != data_key {
                        return Err("the slot opens to another data key".into());
                    }
                    // And the writer's side: the same randomness gives
                    // these bytes.
                    let r = randomness.ok_or("a slot vector needs randomness:")?;
                    let again = pq::pq_slot_with(&dk, &id, &identity.public(), &r);
                    if serde_json::to_string(&again).map_err(|e| e.to_string())? != text {
                        return Err("encapsulating with randomness gives other bytes".into());
                    }
                    Ok(())
                })
        }
        other => return Err(format!("unknown kind {other:?}")),
    };
    match (expect.as_deref(), got) {
        (Some("success"), Ok(())) => Ok(()),
        (Some("success"), Err(e)) => Err(format!("expected success, got: {e}")),
        (Some(x), Ok(())) => Err(format!("expected {x}, got success")),
        (Some(x), Err(e)) => match x.strip_prefix("refused: ") {
            Some(frag) if e.contains(frag) => Ok(()),
            _ => Err(format!("expected {x}, got: {e}")),
        },
        (None, _) => Err("no expect: line".into()),
    }
}
