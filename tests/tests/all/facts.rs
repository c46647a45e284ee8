//! A record's facts (decoder ABI 2, format 2.1, SPEC §12.3 and §15.3):
//! the TZif decoder, built with the SDK's `decode_with_facts:`, is given
//! the record's path, media type and title on wasmtime and on wasmi, shows
//! them, and its render hash covers them; decoders of ABI 1 are given
//! none and keep their hashes.

use legation_document::{Block, Document, Limits};
use legation_meter::MeterConfig;
use legation_reader::decode::{render_hash, Facts, RenderHasher, ABI_FACTS, ABI_VERSION};

fn metered(module: &[u8]) -> Vec<u8> {
    legation_meter::meter(module, &MeterConfig::default()).unwrap()
}

const OSLO: Facts<'static> = Facts {
    path: "data/zoneinfo/Europe/Oslo",
    media_type: "application/x-tzif",
    title: "Oslo",
};

/// SPEC §12.3's facts block and §15.3's render hash of the `Note`
/// document rendered with those facts.
#[test]
fn the_spec_examples() {
    let facts = Facts {
        path: "tz/Oslo",
        media_type: "application/x-tzif",
        title: "Oslo",
    };
    assert_eq!(
        hex(&facts.block()),
        "07000000747a2f4f736c6f120000006170706c69636174696f6e2f782d747a6966040000004f736c6f"
    );
    let note = hex_bytes(
        "a3617601657469746c65644e6f746566626c6f636b7381a2617464636f646564746578746268 69",
    );
    assert_eq!(note.len(), 39);
    assert_eq!(
        hex(&render_hash(std::slice::from_ref(&note))),
        "ba0a2284d9ef4ca07c4dbf42925e34f77af7132ec9b53fb47ab845c69ba61670"
    );
    let mut h = RenderHasher::with_facts(&facts.block());
    h.document(&note);
    assert_eq!(hex(&h.finish()), SPEC_FACTS_HASH);
}

/// The render hash of §15.3's example with facts.
const SPEC_FACTS_HASH: &str = "cb075d986e040d659f53898dbe35be3a7ba4cc5b700e386d05411be5476a0d36";

#[test]
fn the_tzif_decoder_is_given_the_facts_on_both_engines() {
    let module = metered(legation_builtin_decoders::TZIF);
    let file = legation_decoder_tzif::sample_file();
    let native = legation_decoder_tzif::decode(
        &file,
        &legation_decoder_sdk::Facts {
            path: OSLO.path,
            media_type: OSLO.media_type,
            title: OSLO.title,
        },
    )
    .unwrap();
    for host in super::engines::both_hosts() {
        let loaded = host.load(&module, "tzif").unwrap();
        assert_eq!(loaded.info.abi, ABI_FACTS);
        let r = host.render(&loaded, OSLO, &file).unwrap();
        let doc = Document::from_cbor(&r.main, &Limits::default()).unwrap();
        assert_eq!(doc, native, "{}", host.engine_name());
        assert_eq!(doc.title, "Time zone Europe/Oslo");
        let Block::Fields { items } = &doc.blocks[0] else {
            panic!("no fields")
        };
        assert_eq!(items[1].1, OSLO.path);
        assert_eq!(items[2].1, OSLO.title);
        assert_eq!(items[3].1, OSLO.media_type);
        // The hash covers the facts and the document.
        let mut h = RenderHasher::with_facts(&OSLO.block());
        h.document(&r.main);
        assert_eq!(r.hash(), h.finish());
        assert_ne!(r.hash(), render_hash(std::slice::from_ref(&r.main)));
        // Another title, the same document (the zone comes from the
        // path): another hash all the same.
        let retitled = Facts {
            title: "Norway",
            ..OSLO
        };
        let again = host.render(&loaded, retitled, &file).unwrap();
        assert_eq!(
            Document::from_cbor(&again.main, &Limits::default())
                .unwrap()
                .blocks[1..],
            doc.blocks[1..]
        );
        assert_ne!(again.hash(), r.hash());
        // Rendering several at once gives each its own facts.
        let each = host.render_each(&loaded, &[(OSLO, &file[..]), (retitled, &file[..])]);
        assert_eq!(each[0].as_ref().unwrap().hash(), r.hash());
        assert_eq!(each[1].as_ref().unwrap().hash(), again.hash());
        // A refusal names the record by its path.
        let refused = host.render(&loaded, OSLO, b"GIF89a").unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("refuses data/zoneinfo/Europe/Oslo: not a TZif file"),
            "{refused}"
        );
    }
}

#[test]
fn a_decoder_of_abi_1_is_given_no_facts() {
    let module = metered(legation_builtin_decoders::TEXT);
    for host in super::engines::both_hosts() {
        let loaded = host.load(&module, "text").unwrap();
        assert_eq!(loaded.info.abi, ABI_VERSION);
        let with = host.render(&loaded, OSLO, b"plain words\n").unwrap();
        let without = host
            .render(&loaded, "other/path.txt", b"plain words\n")
            .unwrap();
        assert_eq!(with, without);
        assert_eq!(with.hash(), render_hash(std::slice::from_ref(&with.main)));
    }
}

#[test]
fn long_facts_are_cut_at_a_whole_character() {
    let title = "ø".repeat(3000);
    let facts = Facts {
        title: &title,
        ..OSLO
    };
    let block = facts.block();
    let at = 4 + OSLO.path.len() + 4 + OSLO.media_type.len();
    assert_eq!(&block[at..at + 4], &4096u32.to_le_bytes());
    assert_eq!(block.len(), at + 4 + 4096);
    let (given, rest) = legation_decoder_sdk::Facts::split(&block).unwrap();
    assert_eq!(given.title, "ø".repeat(2048));
    assert!(rest.is_empty());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_bytes(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}
