//! A witness's state (SPEC §34.5, §37.5) at its limits: 100,000 `revoked`
//! lines are read and written back byte for byte, one more is refused,
//! and a file over the byte bound is refused unread.

use legation_format::v2::witness::{RevokedKey, WitnessState, MAX_STATE_SERIES, STATE_MAGIC};

/// `n` revoked keys of one series, keys counting up (so sorted).
fn state(n: usize) -> WitnessState {
    WitnessState {
        series: Vec::new(),
        revoked: (0..n)
            .map(|i| {
                let mut key = [0u8; 32];
                key[24..].copy_from_slice(&(i as u64).to_be_bytes());
                RevokedKey {
                    archive_id: [0x5a; 16],
                    key,
                    last: 7,
                    time: 1_800_000_000,
                }
            })
            .collect(),
    }
}

#[test]
fn revoked_lines_are_read_up_to_the_limit_and_refused_past_it() {
    assert_eq!(MAX_STATE_SERIES, 100_000, "SPEC §34.5 states this number");
    let full = state(MAX_STATE_SERIES);
    let bytes = full.to_bytes();
    let back = WitnessState::parse(&bytes).expect("100,000 revoked keys are read");
    assert_eq!(back.revoked.len(), MAX_STATE_SERIES);
    assert_eq!(back.to_bytes(), bytes);
    let over = state(MAX_STATE_SERIES + 1).to_bytes();
    assert!(
        over.len() < STATE_MAGIC.len() + 1 + MAX_STATE_SERIES * 320,
        "refused by its count, not its size"
    );
    let e = WitnessState::parse(&over).unwrap_err().to_string();
    assert!(e.contains("witness state"), "{e}");
    assert!(e.contains(&format!("line {}", MAX_STATE_SERIES + 2)), "{e}");
}

#[test]
fn a_state_over_its_byte_bound_is_refused_unread() {
    let bound = STATE_MAGIC.len() + 1 + MAX_STATE_SERIES * 320;
    assert_eq!(bound, 32_000_025, "SPEC §34.5 states this number");
    let mut big = format!("{STATE_MAGIC}\n").into_bytes();
    big.resize(bound + 1, b'x');
    let e = WitnessState::parse(&big).unwrap_err().to_string();
    assert!(e.contains(&format!("more than {bound}")), "{e}");
}
