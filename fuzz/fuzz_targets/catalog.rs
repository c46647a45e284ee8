//! The catalog's parsers: the index and a page as JSON, their checks, and
//! the bounded inflater every catalog document goes through. Whatever
//! parses and checks must serialize and parse back the same.
#![no_main]

use legation_format::catalog::{inflate, Index, Page, PageRef};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = inflate(data, 1 << 20, "c/fuzz");
    if let Ok(index) = serde_json::from_slice::<Index>(data) {
        let _ = index.check("c/index");
        if let Some(first) = index.pages.first() {
            let _ = index.page_for(&first.first);
        }
        let json = serde_json::to_vec(&index).expect("an index serializes");
        let again: Index = serde_json::from_slice(&json).expect("and parses back");
        assert_eq!(serde_json::to_vec(&again).unwrap(), json);
    }
    if let Ok(page) = serde_json::from_slice::<Page>(data) {
        let r = PageRef {
            entry: "c/00000000".into(),
            count: page.records.len() as u64,
            first: page
                .records
                .first()
                .map(|r| r.path.clone())
                .unwrap_or_default(),
            last: page
                .records
                .last()
                .map(|r| r.path.clone())
                .unwrap_or_default(),
        };
        let _ = page.check(page.page, &r);
        for rec in &page.records {
            let _ = legation_format::catalog::check_record_path(&rec.path);
        }
        let json = serde_json::to_vec(&page).expect("a page serializes");
        let again: Page = serde_json::from_slice(&json).expect("and parses back");
        assert_eq!(serde_json::to_vec(&again).unwrap(), json);
    }
});
