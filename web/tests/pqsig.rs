//! Hybrid issuer signatures (SPEC §27.4, format 2.2) in the browser: a
//! head signed with Ed25519 and ML-DSA-65 verifies in a dedicated Web
//! Worker of headless Chromium and a flipped ML-DSA-65 signature does
//! not; and the cost of signing and verifying there, printed for
//! BENCHMARKS.md ("Post-quantum recipients and signatures"; run with
//! `--nocapture`).

#![cfg(target_arch = "wasm32")]

use legation_format::keys::IssuerKey;
use legation_format::v2::head::{self, Head};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// The longest head (SPEC §27.1), 471 bytes.
fn head_bytes() -> Vec<u8> {
    Head {
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
    .to_bytes()
}

fn all_verify(lines: &[head::SignatureLine], head: &[u8]) -> bool {
    lines.iter().all(|l| head::verify(l, head) == Some(true))
}

#[wasm_bindgen_test]
fn hybrid_signatures_verify_and_their_costs_in_the_browser() {
    let head = head_bytes();
    let ed = IssuerKey::from_bytes([0x22; 32]);
    let hybrid = IssuerKey::from_seeds([0x22; 32], Some([0x44; 32]));
    let e_lines = head::sign_lines(&ed, &head).unwrap();
    let h_lines = head::sign_lines(&hybrid, &head).unwrap();
    assert_eq!(h_lines.len(), 2);
    assert!(all_verify(&h_lines, &head));
    let mut flipped = h_lines.clone();
    flipped[1].signature[9] ^= 1;
    assert_eq!(head::verify(&flipped[1], &head), Some(false));
    // Milliseconds a run, the worker's coarse clock read once for many.
    let per_run_ms = |runs: u32, f: &mut dyn FnMut()| {
        let start = js_sys::Date::now();
        for _ in 0..runs {
            f();
        }
        (js_sys::Date::now() - start) / f64::from(runs)
    };
    let e_sign = per_run_ms(200, &mut || {
        std::hint::black_box(head::sign_lines(&ed, &head).unwrap());
    });
    let h_sign = per_run_ms(50, &mut || {
        std::hint::black_box(head::sign_lines(&hybrid, &head).unwrap());
    });
    let e_verify = per_run_ms(200, &mut || assert!(all_verify(&e_lines, &head)));
    let h_verify = per_run_ms(200, &mut || assert!(all_verify(&h_lines, &head)));
    console_log!(
        "pqsig-bench (browser worker, ms per run): sign ed25519 {e_sign:.3} hybrid {h_sign:.3}; \
         verify ed25519 {e_verify:.3} hybrid {h_verify:.3}"
    );
    assert!(h_verify > 0.0 && h_sign > 0.0);
}
