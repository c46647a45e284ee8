//! The manifest parser, with a parse -> write -> parse round trip: what
//! parses must write back to bytes that parse to the same manifest.
#![no_main]

use legation_format::manifest::{parse_signature, Manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_signature(data);
    let Ok(m) = Manifest::parse(data) else {
        return;
    };
    let written = m.to_bytes();
    let again = Manifest::parse(&written).expect("a written manifest parses");
    assert_eq!(again, m);
    assert_eq!(again.to_bytes(), written, "writing is deterministic");
});
