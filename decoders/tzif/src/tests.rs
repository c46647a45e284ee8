use super::*;

fn facts(path: &str) -> Facts<'_> {
    Facts {
        path,
        media_type: "application/x-tzif",
        title: "Oslo",
    }
}

fn fields(doc: &Document) -> &[(String, String)] {
    match &doc.blocks[0] {
        Block::Fields { items } => items,
        other => panic!("not fields: {other:?}"),
    }
}

#[test]
fn the_zone_comes_from_the_path() {
    let doc = decode(&sample_file(), &facts("data/zoneinfo/Europe/Oslo")).unwrap();
    assert_eq!(doc.title, "Time zone Europe/Oslo");
    let items = fields(&doc);
    assert_eq!(
        items[1],
        ("Record".into(), "data/zoneinfo/Europe/Oslo".into())
    );
    assert_eq!(items[2], ("Title".into(), "Oslo".into()));
    assert_eq!(items[3], ("Media type".into(), "application/x-tzif".into()));
    assert_eq!(items[4], ("TZif version".into(), "2".into()));
    assert_eq!(items[5], ("Transitions".into(), "2".into()));
    assert_eq!(
        items[7],
        (
            "Rule after the last transition".into(),
            "CET-1CEST,M3.5.0,M10.5.0/3".into()
        )
    );
    let Block::Table { rows, .. } = &doc.blocks[2] else {
        panic!("no types table")
    };
    assert_eq!(rows[0], ["+01:00", "no", "CET"]);
    assert_eq!(rows[1], ["+02:00", "yes", "CEST"]);
    let Block::Table { rows, .. } = &doc.blocks[4] else {
        panic!("no transitions table")
    };
    assert_eq!(rows[0], ["2024-03-31 01:00:00", "+02:00", "yes", "CEST"]);
    assert_eq!(rows[1], ["2024-10-27 01:00:00", "+01:00", "no", "CET"]);
}

#[test]
fn a_tzif_extension_is_not_part_of_the_zone() {
    let doc = decode(&sample_file(), &facts("zoneinfo/Europe/Oslo.tzif")).unwrap();
    assert_eq!(doc.title, "Time zone Europe/Oslo");
}

#[test]
fn without_a_zoneinfo_folder_the_title_names_the_zone() {
    let doc = decode(&sample_file(), &facts("oslo.tzif")).unwrap();
    assert_eq!(doc.title, "Time zone Oslo");
}

#[test]
fn not_tzif_or_cut_short_is_refused() {
    let file = sample_file();
    assert_eq!(
        decode(b"GIF89a", &facts("x")).unwrap_err().message(),
        "not a TZif file (no TZif header)"
    );
    for len in [44, 60, file.len() - 40] {
        assert!(
            decode(&file[..len], &facts("x")).is_err(),
            "{len} bytes accepted"
        );
    }
    // A count that would overflow the data length.
    let mut huge = file.clone();
    huge[32..36].copy_from_slice(&[0xff; 4]);
    assert!(decode(&huge, &facts("x")).is_err());
    // A transition to a type that does not exist.
    let mut bad = file;
    let at = bad.len() - 28 - 12 - 9 - 2;
    bad[at] = 7;
    assert_eq!(
        decode(&bad, &facts("x")).unwrap_err().message(),
        "a transition to local time type 7, of 2 types"
    );
}

#[test]
fn times_and_offsets() {
    assert_eq!(utc_text(0), "1970-01-01 00:00:00");
    assert_eq!(utc_text(-1), "1969-12-31 23:59:59");
    assert_eq!(utc_text(951_782_400), "2000-02-29 00:00:00");
    assert_eq!(utc_text(-2_208_988_800), "1900-01-01 00:00:00");
    assert_eq!(offset_text(3208), "+00:53:28");
    assert_eq!(offset_text(-12_600), "-03:30");
}
