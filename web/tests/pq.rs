//! Post-quantum recipients (SPEC §7.11, format 2.1) in the browser: an
//! archive written for an X-Wing recipient and an X25519 one unlocks in a
//! dedicated Web Worker of headless Chromium with either identity, not
//! with another X-Wing identity; and the cost of each step there, printed
//! for BENCHMARKS.md ("Post-quantum recipients"; run with `--nocapture`).

#![cfg(target_arch = "wasm32")]

use legation_format::crypto::{self, DataKey};
use legation_format::keys::Identity;
use legation_format::pq::{self, PqIdentity};
use legation_reader::source::MemSource;
use legation_reader::{Archive, Key};
use rand_chacha::rand_core::SeedableRng;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const PQ_SEED: [u8; 32] = [0x31; 32];
const X25519_SECRET: [u8; 32] = [0x32; 32];

/// One record, an X25519 slot and an mlkem768x25519 slot.
fn archive() -> Archive {
    let bytes = legation_tests::vectors::pq::archive(
        vec![Identity::from_bytes(X25519_SECRET).public()],
        &[PqIdentity::from_bytes(PQ_SEED).public()],
        &["register.txt"],
    );
    Archive::open(MemSource::new(bytes, "pq.lgn")).unwrap()
}

fn read(a: &Archive, key: Key) -> legation_reader::Result<Vec<u8>> {
    let u = a.unlock(&[key])?;
    let r = u.find("register.txt")?;
    u.read_record(&r, 1 << 20)
}

#[wasm_bindgen_test]
fn a_post_quantum_identity_unlocks_in_the_browser() {
    let a = archive();
    let pq_key = Key::PqIdentity(PqIdentity::from_bytes(PQ_SEED));
    assert_eq!(read(&a, pq_key).unwrap(), b"a register line\n");
    let x_key = Key::Identity(Identity::from_bytes(X25519_SECRET));
    assert_eq!(read(&a, x_key).unwrap(), b"a register line\n");
    let other = Key::PqIdentity(PqIdentity::from_bytes([0x33; 32]));
    let e = read(&a, other).unwrap_err();
    assert!(
        matches!(e, legation_reader::Error::NoKey { slots: 2 }),
        "{e}"
    );
}

/// Average milliseconds of `runs` calls of `f` (the clock in a worker is
/// coarse: many runs, one reading).
fn per_run_ms(runs: u32, mut f: impl FnMut()) -> f64 {
    let start = js_sys::Date::now();
    for _ in 0..runs {
        f();
    }
    (js_sys::Date::now() - start) / f64::from(runs)
}

#[wasm_bindgen_test]
fn post_quantum_costs_in_the_browser() {
    let runs = 200;
    let archive_id = [7u8; 16];
    let dk = DataKey::from_bytes([5; 32]);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let x_id = Identity::from_bytes(X25519_SECRET);
    let x_slot = crypto::x25519_slot(&dk, &archive_id, &x_id.public(), &mut rng).unwrap();
    let q_id = PqIdentity::from_bytes(PQ_SEED);
    let q_pub = q_id.public();
    let q_slot = pq::pq_slot(&dk, &archive_id, &q_pub, &mut rng);
    let mut n = 0u8;
    let x_keygen = per_run_ms(runs, || {
        n = n.wrapping_add(1);
        std::hint::black_box(Identity::from_bytes([n; 32]).public());
    });
    let q_keygen = per_run_ms(runs, || {
        n = n.wrapping_add(1);
        std::hint::black_box(PqIdentity::from_bytes([n; 32]).public());
    });
    let x_wrap = per_run_ms(runs, || {
        std::hint::black_box(
            crypto::x25519_slot(&dk, &archive_id, &x_id.public(), &mut rng).unwrap(),
        );
    });
    let q_wrap = per_run_ms(runs, || {
        std::hint::black_box(pq::pq_slot(&dk, &archive_id, &q_pub, &mut rng));
    });
    let x_open = per_run_ms(runs, || {
        assert!(crypto::open_x25519_slot(&x_slot, &archive_id, x_id.secret()).is_some());
    });
    let q_open = per_run_ms(runs, || {
        assert!(pq::open_pq_slot(&q_slot, &archive_id, &q_id).is_some());
    });
    let a = archive();
    let unlock_runs = 50;
    let x_unlock = per_run_ms(unlock_runs, || {
        a.unlock(&[Key::Identity(Identity::from_bytes(X25519_SECRET))])
            .unwrap();
    });
    let q_unlock = per_run_ms(unlock_runs, || {
        a.unlock(&[Key::PqIdentity(PqIdentity::from_bytes(PQ_SEED))])
            .unwrap();
    });
    console_log!(
        "pq-bench (browser worker, ms per run): keygen x25519 {x_keygen:.3} xwing {q_keygen:.3}; \
         wrap x25519 {x_wrap:.3} xwing {q_wrap:.3}; open slot x25519 {x_open:.3} xwing {q_open:.3}; \
         unlock archive (slot, key commitment, index) x25519 {x_unlock:.3} xwing {q_unlock:.3}"
    );
    // A measurement, not a check: the slots opened (asserted in the
    // loops); the clock read a positive time for the work.
    assert!(q_open > 0.0 && q_wrap > 0.0);
}
