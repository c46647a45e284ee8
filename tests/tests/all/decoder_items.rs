//! SPEC §16.2 step 4 and §30.3 step 5: at the fixity level, with no key,
//! each `decoders` item (the 1.x manifest's, 2.0's `public.json`'s) must
//! agree with its module's `legation.decoder` and `legation.meter`
//! sections; the writers take the item as given, so an archive whose
//! issuer signed a wrong item can be made with them, and is a fixity
//! failure naming the module.

use std::io::Cursor;

use legation_format::manifest::DecoderRef;
use legation_format::writer::WriterOptions;
use legation_reader::source::MemSource;
use legation_reader::{Archive, ErrorKind, Level};
use rand_chacha::rand_core::SeedableRng;

/// A change to an item.
type Edit = fn(&mut DecoderRef);

fn opts() -> WriterOptions {
    WriterOptions {
        created: legation_tests::CREATED,
        issuer: Some(legation_tests::issuer()),
        recipients: vec![legation_tests::identity().public()],
        passphrases: vec![],
        embed_spec: false,
        viewer: None,
    }
}

/// An archive of format `v2` or 1.x carrying the tiny decoder listed as
/// `edit` leaves its item; with the module's entry name.
fn archive(v2: bool, edit: Edit) -> (Vec<u8>, String) {
    let module = legation_tests::tiny_decoder();
    let loaded = legation_tests::pack_host().load(&module, "tiny").unwrap();
    let mut item = loaded.decoder_ref();
    edit(&mut item);
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(12);
    if v2 {
        let mut w =
            legation_format::v2::writer::ArchiveWriter::new(Cursor::new(Vec::new()), opts(), rng)
                .unwrap();
        let entry = w.add_decoder(&module, item, loaded.uses_vectors()).unwrap();
        (w.finish().unwrap().into_inner(), entry)
    } else {
        let mut w =
            legation_format::writer::ArchiveWriter::new(Cursor::new(Vec::new()), opts(), rng)
                .unwrap();
        let entry = w.add_decoder(&module, item, loaded.uses_vectors()).unwrap();
        (w.finish().unwrap().into_inner(), entry)
    }
}

#[test]
fn each_decoders_item_is_checked_against_its_module_without_a_key() {
    let cases: [(Edit, &str); 6] = [
        (|_| {}, ""),
        (|d| d.name = "other".into(), "gives name"),
        (|d| d.version.push_str(".1"), "gives version"),
        (|d| d.abi = 2, "gives ABI"),
        (
            |d| d.media_types.push("text/x-other".into()),
            "gives media types",
        ),
        (|d| d.limits.fuel += 1, "legation.meter section gives fuel"),
    ];
    for v2 in [false, true] {
        for (edit, says) in cases {
            let (bytes, entry) = archive(v2, edit);
            let a = Archive::open(MemSource::new(bytes, "items.lgn")).unwrap();
            assert_eq!(a.is_v2(), v2);
            let issuer = legation_tests::issuer().public();
            let report = a.verify_fixity(Some(&issuer), &mut |_, _| true);
            if says.is_empty() {
                assert!(report.ok(), "v2 {v2}: {:?}", report.problems);
                continue;
            }
            assert_eq!(report.problems.len(), 1, "v2 {v2}: {:?}", report.problems);
            let p = &report.problems[0];
            assert_eq!(
                (p.level, p.subject.as_str(), p.kind),
                (Level::Fixity, entry.as_str(), ErrorKind::Damaged),
                "v2 {v2}"
            );
            assert!(p.message.contains(says), "v2 {v2}: {}", p.message);
        }
    }
}
