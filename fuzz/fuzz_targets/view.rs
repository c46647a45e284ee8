//! The view-document validator hosts run on decoder output, with the
//! parse -> write -> compare round trip the canonical encoding allows:
//! anything accepted must be exactly the encoding of what was parsed.
#![no_main]

use legation_document::{Document, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(doc) = Document::from_cbor(data, &limits) {
        assert_eq!(doc.to_cbor(), data, "accepted a non-canonical encoding");
        assert!(doc.validate(&limits).is_ok());
    }
});
