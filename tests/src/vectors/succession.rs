//! The succession vectors (SPEC §37.7): handovers and revocations of an
//! issuer's key, one case a file in `format/testdata/succession/`. A
//! file's header says the series, the pinned key, the generation checked
//! and who signed it; its bytes are the statements, each after a line
//! `statement <length>`. [`check_file`] runs a file from its header
//! alone: parse the statements, follow the chain from the pinned key,
//! admit the generation.

use legation_format::hex;
use legation_format::keys::IssuerKey;
use legation_format::v2::succession::{self, Handover, Revocation, Statement, Succession};

use super::witness::{vector, WitnessVector};
use crate::CREATED;

/// The series of every vector.
const SERIES: [u8; 16] = [0x5a; 16];
/// The time of every statement.
const TIME: i64 = CREATED + 3600;

/// Issuer key `n` of the vectors (1: the pinned one); key 7 is hybrid,
/// Ed25519 and ML-DSA-65 (SPEC §27.4).
fn key(n: u8) -> IssuerKey {
    match n {
        7 => IssuerKey::from_seeds([0xa7; 32], Some([0xb7; 32])),
        _ => IssuerKey::from_bytes([0xa0 + n; 32]),
    }
}

/// Key `n`'s pin: its Ed25519 key, or the hybrid key's id.
fn pin(n: u8) -> [u8; 32] {
    succession::pin_of(&key(n))
}

fn handover(old: u8, new: u8, from: u64) -> Vec<u8> {
    let mut h = Handover::new(SERIES, from, pin(old), pin(new), TIME);
    h.sign(&key(old)).expect("the old key signs");
    h.to_bytes()
}

fn revocation(series: [u8; 16], of: u8, by: u8, last: u64, reason: &str) -> Vec<u8> {
    let mut r = Revocation::new(series, pin(of), last, TIME, reason).expect("a reason");
    r.sign(&key(by)).expect("signs");
    r.to_bytes()
}

/// The statements framed as a vector's bytes.
fn framed(statements: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in statements {
        out.extend_from_slice(format!("statement {}\n", s.len()).as_bytes());
        out.extend_from_slice(s);
    }
    out
}

/// One vector: generation `sequence` signed by `signers`, admitted to
/// `holder` (on success).
fn case(
    name: &str,
    expect: &str,
    comment: &str,
    statements: &[Vec<u8>],
    sequence: u64,
    signers: &[u8],
    holder: Option<u8>,
) -> WitnessVector {
    let mut extra = vec![
        ("archive", hex::encode(&SERIES)),
        ("pinned", hex::encode(&pin(1))),
        ("sequence", sequence.to_string()),
    ];
    for s in signers {
        extra.push(("signer", hex::encode(&pin(*s))));
        if *s == 7 {
            // A hybrid head's Ed25519 line meets its Ed25519 half too.
            extra.push(("signer", hex::encode(&key(7).public())));
        }
    }
    if let Some(h) = holder {
        extra.push(("holder", hex::encode(&pin(h))));
    }
    let mut v = vector(
        name,
        "succession",
        expect,
        comment,
        framed(statements),
        extra,
    );
    // `kind:` says nothing here: one kind a folder.
    v.header.remove(0);
    v
}

/// Every succession vector (deterministic).
pub fn all() -> Vec<SuccessionVector> {
    let chain = [handover(1, 2, 3), handover(2, 3, 6)];
    let mut forged = Handover::new(SERIES, 3, pin(1), pin(2), TIME);
    forged.signatures =
        legation_format::pqsig::sign(&key(5), &forged.signed_message()).expect("signs");
    vec![
        case(
            "chain-of-two-handovers",
            "success",
            "key 1 hands over to key 2 from generation 3, key 2 to key 3 from 6: generation 7 \
             signed by key 3 is admitted",
            &chain,
            7,
            &[3],
            Some(3),
        ),
        case(
            "chain-pinned-key-before-handover",
            "success",
            "the same chain: generation 2, before the first handover, signed by the pinned key",
            &chain,
            2,
            &[1],
            Some(1),
        ),
        case(
            "chain-old-key-after-handover",
            "refused: handed the series over",
            "the same chain: generation 4 signed by key 1, which handed over from 3",
            &chain,
            4,
            &[1],
            None,
        ),
        case(
            "handover-wrong-key",
            "refused: not signed by the key it hands over from",
            "a handover from key 1 to key 2 signed by key 5",
            &[forged.to_bytes()],
            3,
            &[2],
            None,
        ),
        case(
            "revoked-later-generation",
            "refused: REVOKED",
            "key 1 revoked by itself after generation 4: its generation 5 is refused",
            &[revocation(
                SERIES,
                1,
                1,
                4,
                "key copied by a departing official",
            )],
            5,
            &[1],
            None,
        ),
        case(
            "revoked-at-last",
            "success",
            "key 1 revoked after generation 4: its generation 4 still counts",
            &[revocation(
                SERIES,
                1,
                1,
                4,
                "key copied by a departing official",
            )],
            4,
            &[1],
            Some(1),
        ),
        case(
            "revoked-by-successor",
            "refused: REVOKED",
            "key 2 succeeded key 1 from 3 and revokes key 1 after 1: generation 2 by key 1 is \
             refused",
            &[
                handover(1, 2, 3),
                revocation(SERIES, 1, 2, 1, "old key found on a decommissioned server"),
            ],
            2,
            &[1],
            None,
        ),
        case(
            "revocation-by-stranger",
            "refused: signed by neither that key nor a key that succeeded it",
            "a revocation of key 1 signed by key 5, which is not in the chain",
            &[revocation(SERIES, 1, 5, 0, "forged")],
            0,
            &[1],
            None,
        ),
        case(
            "revocation-other-series",
            "refused: a statement about series",
            "a revocation of key 1 for another series given for this one",
            &[revocation([0x5b; 16], 1, 1, 0, "another register")],
            1,
            &[1],
            None,
        ),
        case(
            "handover-fork",
            "refused: FORK",
            "key 1 hands the series over to key 2 and, from the same generation, to key 4",
            &[handover(1, 2, 3), handover(1, 4, 3)],
            3,
            &[2],
            None,
        ),
        case(
            "chain-to-hybrid-key",
            "success",
            "key 1 hands over to key 7, a hybrid key named by its id, from generation 3: \
             generation 3 signed by both of its halves is admitted",
            &[handover(1, 7, 3)],
            3,
            &[7],
            Some(7),
        ),
        case(
            "hybrid-handover-without-ml-dsa",
            "refused: not signed by the key it hands over from",
            "key 7 (hybrid) hands over to key 3 with its Ed25519 line alone: the hybrid key did \
             not sign it",
            &[handover(1, 7, 3), {
                let mut h = Handover::parse(&handover(7, 3, 5), "h").expect("parses");
                h.signatures.retain(|l| l.algorithm == "ed25519");
                h.to_bytes()
            }],
            5,
            &[3],
            None,
        ),
        case(
            "handover-loop",
            "refused: a loop",
            "key 1 hands over to key 2 from 3, key 2 back to key 1 from 5",
            &[handover(1, 2, 3), handover(2, 1, 5)],
            5,
            &[1],
            None,
        ),
    ]
    .into_iter()
    .chain(limits())
    .collect()
}

/// The bounds of SPEC §37 as vectors: a statement's size (65536 bytes:
/// a hybrid key's handover countersigned by five more hybrid keys is
/// under it, by six over it), `goes back`, `chain too long` (1025
/// handovers) and `too many` (4097 statements).
fn limits() -> Vec<SuccessionVector> {
    use legation_format::v2::succession::{MAX_CHAIN, MAX_STATEMENT, MAX_STATEMENTS};
    // Key 7 (hybrid) hands over to key 3 from 5, its lines and those of
    // `extra` other hybrid keys (allowed: every line verifies, and the old
    // key's pair meets its pin).
    let countersigned = |extra: u8| {
        let mut h = Handover::new(SERIES, 5, pin(7), pin(3), TIME);
        let message = h.signed_message();
        let mut lines = legation_format::pqsig::sign(&key(7), &message).expect("signs");
        for i in 0..extra {
            let k = IssuerKey::from_seeds([0xc0 + i; 32], Some([0xd0 + i; 32]));
            lines.extend(legation_format::pqsig::sign(&k, &message).expect("signs"));
        }
        lines.sort_by(|a, b| (&a.algorithm, &a.public_key).cmp(&(&b.algorithm, &b.public_key)));
        h.signatures = lines;
        h.to_bytes()
    };
    let (under, over) = (countersigned(5), countersigned(6));
    assert!(under.len() <= MAX_STATEMENT && over.len() > MAX_STATEMENT);
    // Keys of a long chain: key 1, then many others.
    let link = |i: u32| {
        if i == 0 {
            key(1)
        } else {
            IssuerKey::from_bytes(*blake3::hash(&i.to_le_bytes()).as_bytes())
        }
    };
    let long: Vec<Vec<u8>> = (0..=MAX_CHAIN as u32)
        .map(|i| {
            let mut h = Handover::new(
                SERIES,
                u64::from(i) + 1,
                link(i).public(),
                link(i + 1).public(),
                TIME,
            );
            h.sign(&link(i)).expect("signs");
            h.to_bytes()
        })
        .collect();
    let many: Vec<Vec<u8>> = (0..=MAX_STATEMENTS as u64)
        .map(|last| revocation(SERIES, 1, 1, last, "lost"))
        .collect();
    vec![
        case(
            "statement-at-size-limit",
            "success",
            "key 1 hands over to key 7 (hybrid) from 3, key 7 to key 3 from 5 with its lines \
             and five other hybrid keys' (under the 65,536 bytes a statement may have): \
             generation 5 by key 3 is admitted",
            &[handover(1, 7, 3), under],
            5,
            &[3],
            Some(3),
        ),
        case(
            "statement-too-large",
            "refused: more than the 65536 a statement may have",
            "the same, countersigned by six other hybrid keys: over 65,536 bytes, refused unread",
            &[handover(1, 7, 3), over],
            5,
            &[3],
            None,
        ),
        case(
            "handover-goes-back",
            "refused: when its key took over",
            "key 1 hands over to key 2 from 5, key 2 to key 3 from 3, before its own tenure",
            &[handover(1, 2, 5), handover(2, 3, 3)],
            5,
            &[3],
            None,
        ),
        case(
            "chain-too-long",
            "refused: longer than 1024",
            "1025 handovers in a row from key 1, each from the next generation (1024 are \
             allowed)",
            &long,
            1,
            &[1],
            None,
        ),
        case(
            "too-many-statements",
            "refused: 4097 statements of succession, more than 4096",
            "4097 revocations of key 1 by itself, each with another last: refused before any \
             is checked",
            &many,
            0,
            &[1],
            None,
        ),
    ]
}

/// A succession vector has the witness vectors' shape.
pub type SuccessionVector = WitnessVector;

/// Runs a vector file from its header alone.
pub fn check_file(file: &[u8]) -> Result<(), String> {
    let split = file
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or("no empty line after the header")?;
    let header = std::str::from_utf8(&file[..split]).map_err(|_| "header not UTF-8")?;
    let (mut expect, mut archive, mut pinned, mut sequence, mut holder) =
        (None, None, None, None, None);
    let mut signers = Vec::new();
    for line in header.lines() {
        let (k, v) = line
            .split_once(": ")
            .ok_or(format!("header line {line:?}"))?;
        let hex32 = |v: &str| hex::decode_array::<32>(v).ok_or(format!("{k}: not 64 hex"));
        match k {
            "expect" => expect = Some(v.to_owned()),
            "archive" => archive = Some(hex::decode_array::<16>(v).ok_or("archive: not 32 hex")?),
            "pinned" => pinned = Some(hex32(v)?),
            "sequence" => sequence = Some(v.parse::<u64>().map_err(|_| "sequence")?),
            "signer" => signers.push(hex32(v)?),
            "holder" => holder = Some(hex32(v)?),
            "comment" => {}
            other => return Err(format!("unknown header key {other}")),
        }
    }
    let (Some(archive), Some(pinned), Some(sequence)) = (archive, pinned, sequence) else {
        return Err("archive, pinned and sequence are required".into());
    };
    let mut rest = &file[split + 2..];
    let (mut handovers, mut revocations) = (Vec::new(), Vec::new());
    let mut parsed: Result<(), String> = Ok(());
    let mut n = 0;
    while !rest.is_empty() {
        n += 1;
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("no line feed after `statement`")?;
        let len: usize = std::str::from_utf8(&rest[..nl])
            .ok()
            .and_then(|l| l.strip_prefix("statement "))
            .and_then(|l| l.parse().ok())
            .ok_or("a statement is not after `statement <length>`")?;
        let body = rest
            .get(nl + 1..nl + 1 + len)
            .ok_or("a statement runs past the file")?;
        rest = &rest[nl + 1 + len..];
        let name = format!("statement {n}");
        match Statement::parse(body, &name) {
            Ok(Statement::Handover(h)) => handovers.push((h, name)),
            Ok(Statement::Revocation(r)) => revocations.push((r, name)),
            Err(e) if parsed.is_ok() => parsed = Err(e.to_string()),
            Err(_) => {}
        }
    }
    let got = parsed.and_then(|()| {
        Succession::follow(archive, pinned, &handovers, &revocations)
            .and_then(|s| s.admit(sequence, &signers))
            .map_err(|e| e.to_string())
    });
    match (expect.as_deref(), got) {
        (Some("success"), Ok(k)) if Some(k) == holder => Ok(()),
        (Some("success"), Ok(k)) => Err(format!(
            "admitted {}, expected {:?}",
            hex::encode(&k),
            holder.map(|h| hex::encode(&h))
        )),
        (Some(e), Err(msg)) if e.starts_with("refused: ") && msg.contains(&e[9..]) => Ok(()),
        (e, got) => Err(format!("expected {e:?}, got {got:?}")),
    }
}
