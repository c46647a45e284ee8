//! The manifest parser, with a parse -> write -> parse round trip: what
//! parses must write back to bytes that parse to the same manifest.
#![no_main]

use legation_format::manifest::{parse_signature, Manifest};
use legation_format::recovery;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_signature(data);
    // Recovery takes any bytes (a damaged manifest is any bytes).
    let _ = recovery::recover_manifest(data, &|m| m.len() % 7 == 0);
    let Ok(m) = Manifest::parse(data) else {
        return;
    };
    let written = m.to_bytes();
    assert!(
        recovery::is_protected(&written),
        "written with its recovery data"
    );
    let again = Manifest::parse(&written).expect("a written manifest parses");
    assert_eq!(again, m);
    assert_eq!(again.to_bytes(), written, "writing is deterministic");
});
