//! Format 2.0's parsers from arbitrary bytes: the first byte picks the
//! structure (head, signatures, entry table, public.json, catalog index,
//! catalog page, records-tree leaf, proof), the rest is its input. Nothing
//! may panic, and what parses must have one spelling: the head, the
//! signatures, the entry table and a proof write back to exactly the bytes
//! read; a page or leaf written back parses to the same records.
#![no_main]

use legation_format::v2::{entries, head, index, page, proof, public};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    match which % 8 {
        0 => {
            if let Ok(h) = head::Head::parse(input) {
                assert_eq!(h.to_bytes(), input, "a head has one spelling");
            }
        }
        1 => {
            if let Ok(lines) = head::parse_signatures(input) {
                assert_eq!(
                    head::signatures_to_bytes(&lines),
                    input,
                    "signatures have one spelling"
                );
                for line in &lines {
                    let _ = head::verify(line, b"legation-head 2.0\n");
                }
            }
        }
        2 => {
            if let Ok(rows) = entries::parse(input) {
                assert_eq!(
                    entries::to_bytes(&rows),
                    input,
                    "an entry table has one spelling"
                );
            }
        }
        3 => {
            if let Ok(p) = public::Public::parse(input) {
                let again =
                    public::Public::parse(&p.to_bytes()).expect("public.json written back parses");
                assert_eq!(again.to_bytes(), p.to_bytes());
            }
        }
        4 => {
            if let Ok(ix) = index::Index::parse(input, "c/index") {
                let _ = ix.page_for("r0000/p0000000001.bin");
                let again = index::Index::parse(&ix.encode(), "c/index")
                    .expect("an index written back parses");
                assert_eq!(again.records, ix.records);
                assert_eq!(again.pages.len(), ix.pages.len());
            }
        }
        5 => {
            let tables = page::Tables::new(
                vec!["text/plain".into(), "application/json".into()],
                vec!["d/0123456789abcdef.wasm".into()],
                vec!["over the size cap".into()],
            );
            if let Ok(records) = page::parse_page(input, &tables, "c/00000000") {
                let _ = page::locate(&records, 0, 0);
                let mut t = tables.clone();
                let bytes = page::encode_page(&records, &mut t).expect("a parsed page encodes");
                let again =
                    page::parse_page(&bytes, &t, "c/00000000").expect("a page written back parses");
                assert_eq!(again, records);
            }
        }
        6 => {
            if let Ok((salt, record)) = page::Record::from_leaf(input) {
                assert_eq!(
                    record.leaf(&salt).expect("a parsed leaf encodes"),
                    input,
                    "a leaf has one spelling"
                );
            }
        }
        _ => {
            if let Ok(p) = proof::Proof::parse(input) {
                assert_eq!(p.to_bytes(), input, "a proof has one spelling");
                let _ = p.check(None, None);
            }
        }
    }
});
