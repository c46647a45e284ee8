//! Post-quantum recipients against X25519 (SPEC §7.11) and hybrid issuer
//! signatures against Ed25519 (SPEC §27.4; BENCHMARKS.md "Post-quantum
//! recipients and signatures"): key generation, wrapping the data key
//! into a slot, and opening the slot; signing a head and verifying its
//! signatures; (2.3) a heartbeat signed by each kind of issuer and a
//! cosignature by each kind of witness (SPEC §34), made and checked; each
//! the median of many runs in one process, with the sizes of keys, key
//! files, slots, signatures and statements.
//!
//! usage: cargo run --release -p legation-benches --bin pq_bench \[RUNS\]

use std::hint::black_box;
use std::time::Instant;

use legation_format::crypto::{self, DataKey};
use legation_format::keys::{self, Identity, IssuerKey};
use legation_format::pq::{self, PqIdentity};
use rand_chacha::rand_core::SeedableRng;

/// The median time of `runs` calls of `f`, in microseconds.
fn median_us(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let archive = [7u8; 16];
    let dk = DataKey::generate(&mut rng);

    let x_keygen = median_us(runs, || {
        let id = Identity::generate(&mut rng);
        black_box(id.public());
    });
    let x_id = Identity::generate(&mut rng);
    let x_pub = x_id.public();
    let x_wrap = median_us(runs, || {
        black_box(crypto::x25519_slot(&dk, &archive, &x_pub, &mut rng).unwrap());
    });
    let x_slot = crypto::x25519_slot(&dk, &archive, &x_pub, &mut rng).unwrap();
    let x_open = median_us(runs, || {
        black_box(crypto::open_x25519_slot(&x_slot, &archive, x_id.secret()).unwrap());
    });

    let q_keygen = median_us(runs, || {
        let id = PqIdentity::generate(&mut rng);
        black_box(id.public());
    });
    let q_id = PqIdentity::generate(&mut rng);
    let q_pub = q_id.public();
    let q_wrap = median_us(runs, || {
        black_box(pq::pq_slot(&dk, &archive, &q_pub, &mut rng));
    });
    let q_slot = pq::pq_slot(&dk, &archive, &q_pub, &mut rng);
    // What a reader does for one identity and one slot: expand the seed
    // (the public key, for the header), decapsulate, unwrap.
    let q_open = median_us(runs, || {
        black_box(pq::open_pq_slot(&q_slot, &archive, &q_id).unwrap());
    });
    // Each further slot, the seed expanded already.
    let crypto::KeySlot::MlKem768X25519(s) = &q_slot else {
        unreachable!()
    };
    let q_open_next = median_us(runs, || {
        black_box(pq::open_with_public(s, &archive, &q_id, &q_pub));
    });

    let x_json = serde_json::to_string(&x_slot).unwrap().len();
    let q_json = serde_json::to_string(&q_slot).unwrap().len();
    let x_pub_file = keys::format_key_file(keys::RECIPIENT_PUBLIC, &x_pub, "c").len() - 4;
    let q_pub_file = q_pub.to_key_file("c").len() - 4;
    let x_sec_file = keys::format_key_file(keys::RECIPIENT_SECRET, x_id.secret(), "c").len() - 4;
    let q_sec_file = q_id.to_key_file("c").len() - 4;

    println!("median of {runs} runs, one thread");
    println!();
    println!("| | X25519 | ML-KEM-768 + X25519 (X-Wing) |");
    println!("|---|---:|---:|");
    println!("| key generation (secret and public key) | {x_keygen:.1} µs | {q_keygen:.1} µs |");
    println!("| wrap the data key (one slot) | {x_wrap:.1} µs | {q_wrap:.1} µs |");
    println!("| open one slot with the right identity | {x_open:.1} µs | {q_open:.1} µs |");
    println!(
        "| open each further slot (seed expanded once) | {x_open:.1} µs | {q_open_next:.1} µs |"
    );
    println!("| public key | 32 B | {} B |", pq::PUBLIC_LEN);
    println!("| secret key | 32 B | {} B |", pq::SECRET_LEN);
    println!("| public key file (without its comment line) | {x_pub_file} B | {q_pub_file} B |");
    println!("| secret key file (without its comment line) | {x_sec_file} B | {q_sec_file} B |");
    println!(
        "| slot ciphertext (ephemeral key / X-Wing ciphertext) | 32 B | {} B |",
        pq::CIPHERTEXT_LEN
    );
    println!("| slot in `public.json` (JSON) | {x_json} B | {q_json} B |");
    signatures(runs, &mut rng);
    statements(runs, &mut rng);
}

/// Signing a head and verifying its signatures: an Ed25519 issuer against
/// a hybrid one (Ed25519 and ML-DSA-65), both halves together as a reader
/// checks them.
fn signatures(runs: usize, rng: &mut rand_chacha::ChaCha20Rng) {
    use legation_format::pqsig;
    use legation_format::v2::head;
    // A head of the longest form (SPEC §27.1): 471 bytes.
    let head_bytes = head::Head {
        archive_id: [7; 16],
        sequence: u64::MAX,
        previous: [1; 32],
        created: 253_402_300_799,
        records: u64::MAX,
        bytes: u64::MAX,
        records_root: [2; 32],
        entries: [3; 32],
        public: [4; 32],
    }
    .to_bytes();
    let ed = IssuerKey::generate(rng);
    let hy = IssuerKey::generate_hybrid(rng);
    let e_keygen = median_us(runs, || {
        black_box(IssuerKey::generate(rng).public());
    });
    let h_keygen = median_us(runs, || {
        black_box(IssuerKey::generate_hybrid(rng).public_key());
    });
    let e_sign = median_us(runs, || {
        black_box(head::sign_lines(&ed, &head_bytes).unwrap());
    });
    let h_sign = median_us(runs, || {
        black_box(head::sign_lines(&hy, &head_bytes).unwrap());
    });
    let e_lines = head::sign_lines(&ed, &head_bytes).unwrap();
    let h_lines = head::sign_lines(&hy, &head_bytes).unwrap();
    let verify_all = |lines: &[head::SignatureLine]| {
        lines
            .iter()
            .all(|l| head::verify(l, &head_bytes) == Some(true))
    };
    let e_verify = median_us(runs, || assert!(black_box(verify_all(&e_lines))));
    let h_verify = median_us(runs, || assert!(black_box(verify_all(&h_lines))));
    let m_verify = median_us(runs, || {
        assert!(black_box(verify_all(&h_lines[1..])));
    });
    let e_sig_bytes = head::signatures_to_bytes(&e_lines).len();
    let h_sig_bytes = head::signatures_to_bytes(&h_lines).len();
    let e_pub_file = ed.public_key().to_key_file("c").len() - 4;
    let h_pub_file = hy.public_key().to_key_file("c").len() - 4;
    let e_sec_file = ed.to_key_file("c").len() - 4;
    let h_sec_file = hy.to_key_file("c").len() - 4;
    let issuers = |k: &IssuerKey| {
        let i = legation_format::v2::public::Issuers::of_keys([k]);
        serde_json::to_string(&i).unwrap().len()
    };
    println!();
    println!("| issuer signature of a head | Ed25519 | Ed25519 + ML-DSA-65 (hybrid) |");
    println!("|---|---:|---:|");
    println!("| key generation (secret and public key) | {e_keygen:.1} µs | {h_keygen:.1} µs |");
    println!("| sign a head (every half) | {e_sign:.1} µs | {h_sign:.1} µs |");
    println!("| verify a head's signatures (every half) | {e_verify:.1} µs | {h_verify:.1} µs |");
    println!("| of which ML-DSA-65 | | {m_verify:.1} µs |");
    println!("| public key | 32 B | 32 + {} B |", pqsig::PUBLIC_LEN);
    println!("| secret key (seeds) | 32 B | 32 + {} B |", pqsig::SEED_LEN);
    println!("| signature | 64 B | 64 + {} B |", pqsig::SIGNATURE_LEN);
    println!("| `signatures` entry | {e_sig_bytes} B | {h_sig_bytes} B |");
    println!(
        "| `issuers` in `public.json` (JSON) | {} B | {} B |",
        issuers(&ed),
        issuers(&hy)
    );
    println!("| public key file (without its comment line) | {e_pub_file} B | {h_pub_file} B |");
    println!("| secret key file (without its comment line) | {e_sec_file} B | {h_sec_file} B |");
}

/// Format 2.3's hybrid statements (SPEC §34.2, §34.4): an issuer's
/// heartbeat and a witness's cosignature, each made and checked as a
/// reader does (the heartbeat against the issuer's pin; the cosignature
/// file's head check and the witness's lines), Ed25519 against hybrid.
fn statements(runs: usize, rng: &mut rand_chacha::ChaCha20Rng) {
    use legation_format::v2::head;
    use legation_format::v2::witness::{cosign_all, Cosignatures, Heartbeat, WitnessKey};
    let now = 1_800_000_000;
    let beat = Heartbeat {
        archive_id: [7; 16],
        sequence: 41,
        chain: [1; 32],
        time: now,
        expires: now + 7 * 86_400,
        signatures: Vec::new(),
    };
    let (ed, hy) = (IssuerKey::generate(rng), IssuerKey::generate_hybrid(rng));
    let signed = |k: &IssuerKey| {
        let mut b = beat.clone();
        b.sign(k).unwrap();
        b
    };
    let e_hb_sign = median_us(runs, || {
        black_box(signed(&ed));
    });
    let h_hb_sign = median_us(runs, || {
        black_box(signed(&hy));
    });
    let (e_hb, h_hb) = (signed(&ed), signed(&hy));
    let (e_pin, h_pin) = (ed.public_key().pin(), hy.public_key().pin());
    let e_hb_check = median_us(runs, || e_hb.check(&[e_pin], now).unwrap());
    let h_hb_check = median_us(runs, || h_hb.check(&[h_pin], now).unwrap());
    // A cosignature of an Ed25519-signed head (the issuer's check is the
    // same in both columns; the witness's lines differ).
    let head_bytes = head::Head {
        archive_id: [7; 16],
        sequence: 41,
        previous: [1; 32],
        created: now,
        records: 1_000_000,
        bytes: 1 << 40,
        records_root: [2; 32],
        entries: [3; 32],
        public: [4; 32],
    }
    .to_bytes();
    let sigs = head::signatures_to_bytes(&head::sign_lines(&ed, &head_bytes).unwrap());
    let (ew, hw) = (WitnessKey::generate(rng), WitnessKey::generate_hybrid(rng));
    let cosigned = |w: &WitnessKey| {
        let mut c = Cosignatures::new(&head_bytes, &sigs).unwrap();
        for l in cosign_all(w, &head_bytes, now as u64).unwrap() {
            c.add(l);
        }
        c
    };
    let e_co_sign = median_us(runs, || {
        black_box(cosigned(&ew));
    });
    let h_co_sign = median_us(runs, || {
        black_box(cosigned(&hw));
    });
    let (e_co, h_co) = (cosigned(&ew), cosigned(&hw));
    let (e_wp, h_wp) = (ew.public_key(), hw.public_key());
    let e_co_check = median_us(runs, || {
        assert_eq!(
            e_co.check_keys(&[e_pin], std::slice::from_ref(&e_wp), now, "c")
                .unwrap()
                .len(),
            1
        )
    });
    let h_co_check = median_us(runs, || {
        assert_eq!(
            h_co.check_keys(&[e_pin], std::slice::from_ref(&h_wp), now, "c")
                .unwrap()
                .len(),
            1
        )
    });
    let lines = |c: &Cosignatures| c.to_bytes().len() - head_bytes.len() - sigs.len() - 2;
    println!();
    println!("| statement (2.3) | Ed25519 | Ed25519 + ML-DSA-65 (hybrid) |");
    println!("|---|---:|---:|");
    println!("| sign a heartbeat (issuer) | {e_hb_sign:.1} µs | {h_hb_sign:.1} µs |");
    println!(
        "| check a heartbeat against the issuer's pin | {e_hb_check:.1} µs | {h_hb_check:.1} µs |"
    );
    println!("| cosign a head (witness) | {e_co_sign:.1} µs | {h_co_sign:.1} µs |");
    println!("| check a cosignature file (head by the issuer, the witness's lines) | {e_co_check:.1} µs | {h_co_check:.1} µs |");
    println!(
        "| heartbeat file | {} B | {} B |",
        e_hb.to_bytes().len(),
        h_hb.to_bytes().len()
    );
    println!(
        "| a witness's cosignature lines | {} B | {} B |",
        lines(&e_co),
        lines(&h_co)
    );
    println!(
        "| witness public key file (without its comment line) | {} B | {} B |",
        e_wp.to_key_file("c").len() - 4,
        h_wp.to_key_file("c").len() - 4
    );
}
