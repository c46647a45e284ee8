//! Archives written by released versions keep opening and verifying at
//! every level, with their own decoders, on today's reader.

use std::path::PathBuf;

use legation_format::keys;
use legation_reader::source::FileSource;
use legation_reader::{Archive, Key, Level};

fn dir(version: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("compat")
        .join(version)
}

/// The issuer key an archive of `version` is pinned to, and the secret of
/// the reader's identity (the same test identity, kept in `1.0/`, for
/// every version).
fn keys_of(version: &str) -> ([u8; 32], [u8; 32]) {
    let issuer = *keys::parse_key_file(
        &std::fs::read_to_string(dir(version).join("issuer.pub")).unwrap(),
        keys::ISSUER_PUBLIC,
        "issuer.pub",
    )
    .unwrap();
    let id = keys::parse_key_file(
        &std::fs::read_to_string(dir("1.0").join("reader.key")).unwrap(),
        keys::RECIPIENT_SECRET,
        "reader.key",
    )
    .unwrap();
    (issuer, *id)
}

/// Opens `samples-VERSION.lgn`, checks that its manifest says `version`,
/// unlocks it and verifies it at the render level with its own decoders:
/// every level passes and all 8 records render as recorded.
fn opens_and_renders(version: &str) -> legation_reader::Unlocked {
    let (issuer, id) = keys_of(version);
    let file = dir(version).join(format!("samples-{version}.lgn"));
    let a = Archive::open(FileSource::open(&file).unwrap()).unwrap();
    assert_eq!(a.manifest().version, version);
    let u = a
        .unlock(&[Key::Identity(keys::Identity::from_bytes(id))])
        .unwrap();
    let host = legation_reader::decode::Host::native();
    let report = u.verify_render(&host, Some(&issuer), &mut |_, _| true);
    assert!(report.ok(), "{version}: {:?}", report.problems);
    assert_eq!(report.level, Level::Render);
    assert_eq!(report.records_rendered, 8);
    u
}

#[test]
fn format_1_0_archive_still_opens_and_verifies() {
    let u = opens_and_renders("1.0");
    // The records are the bundled samples, byte for byte.
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../samples/records");
    for path in [
        "legal/GPL-2.txt",
        "land/iowa-electricity.csv",
        "scans/camera.png",
        "scans/multipage.tif",
    ] {
        let rec = u.find(path).unwrap();
        assert_eq!(
            u.read_record(&rec, u64::MAX).unwrap(),
            std::fs::read(samples.join(path)).unwrap(),
            "{path}"
        );
    }
    assert_eq!(
        u.find("legal/GPL-2.txt").unwrap().title,
        "GNU General Public License, version 2"
    );
}

#[test]
fn format_1_2_archive_still_opens_verifies_and_recovers() {
    let d = dir("1.2");
    let (issuer, id) = keys_of("1.2");
    let bytes = std::fs::read(d.join("samples-1.2.lgn")).unwrap();
    let a = Archive::open(legation_reader::source::MemSource::new(
        bytes.clone(),
        "1.2",
    ))
    .unwrap();
    assert_eq!(a.manifest().version, "1.2");
    assert!(!a.manifest_recovered());
    let key = || Key::Identity(keys::Identity::from_bytes(id));
    let u = a.unlock(&[key()]).unwrap();
    let host = legation_reader::decode::Host::native();
    let report = u.verify_render(&host, Some(&issuer), &mut |_, _| true);
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.records_rendered, 8);

    // Its recovery data, as released, keeps working: a byte of the manifest
    // and a byte of the catalog page changed, and it still opens, unlocks
    // and lists every record, while fixity names both entries.
    let entry = |name: &str| a.entries().iter().find(|e| e.name == name).unwrap().clone();
    let mut damaged = bytes;
    for name in ["manifest.json", "c/00000000"] {
        let e = entry(name);
        damaged[(e.data_offset() + e.size / 2) as usize] ^= 0x08;
    }
    let b = Archive::open(legation_reader::source::MemSource::new(damaged, "damaged")).unwrap();
    assert!(b.manifest_recovered());
    let fixity = b.verify_fixity(Some(&issuer), &mut |_, _| true);
    let named: Vec<&str> = fixity.problems.iter().map(|p| p.subject.as_str()).collect();
    assert_eq!(
        named,
        ["c/00000000", "manifest.json"],
        "{:?}",
        fixity.problems
    );
    let u = b.unlock(&[key()]).unwrap();
    assert_eq!(u.list(0, 100).unwrap().len(), 8);
}

#[test]
fn format_1_3_archive_still_opens_and_renders_with_its_vector_decoders() {
    opens_and_renders("1.3");
}
