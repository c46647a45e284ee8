//! The chunk reader: arbitrary bytes as a sealed stream must be refused
//! (never panic), and arbitrary plaintext sealed must open to itself,
//! also when cut, extended or with a chunk swapped (which must fail).
#![no_main]

use legation_format::crypto::{open_stream, seal_stream, DataKey, StreamId};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = DataKey::from_bytes([0x42; 32]).stream_key(&[7; 16], StreamId::Record([9; 16]));
    let _ = open_stream(&key, data);
    let sealed = seal_stream(&key, data);
    assert_eq!(open_stream(&key, &sealed).as_deref(), Ok(data));
    if !sealed.is_empty() {
        let cut = data.len() % sealed.len();
        if cut > 0 {
            assert!(
                open_stream(&key, &sealed[..cut]).is_err(),
                "a cut stream opened"
            );
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert!(
            open_stream(&key, &longer).is_err(),
            "an extended stream opened"
        );
    }
    let other = DataKey::from_bytes([0x43; 32]).stream_key(&[7; 16], StreamId::Record([9; 16]));
    assert!(
        open_stream(&other, &sealed).is_err(),
        "another key opened it"
    );
});
