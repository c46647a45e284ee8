//! Container identification: office documents, OpenDocument files and an
//! EPUB made here with the `zip` crate in their real structure,
//! identified as themselves and cross-checked with fido (which also
//! looks into containers); hostile ZIPs identified as ZIP within a
//! bounded cost.

use legation_interchange::pronom::container::{MAX_DIRECTORY, MAX_STORED};
use legation_interchange::pronom::{
    identify_bytes, identify_reader, identify_windows, Basis, WINDOW,
};
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// A ZIP of these entries, as office suites write them: `mimetype`
/// stored first where there is one, the rest deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        let method = if *name == "mimetype" {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const RELS: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="PART"/></Relationships>"#;

/// `[Content_Types].xml` of an OOXML package whose main part is `part`
/// of content type `main`.
fn content_types(part: &str, main: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/{part}" ContentType="application/vnd.openxmlformats-officedocument.{main}"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"#
    )
    .into_bytes()
}

fn ooxml(part: &str, main: &str, body: &str) -> Vec<u8> {
    let rels = String::from_utf8(RELS.to_vec())
        .unwrap()
        .replace("PART", part);
    zip_of(&[
        ("[Content_Types].xml", &content_types(part, main)),
        ("_rels/.rels", rels.as_bytes()),
        (part, body.as_bytes()),
        (
            "docProps/core.xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Register</dc:title></cp:coreProperties>"#,
        ),
    ])
}

fn docx() -> Vec<u8> {
    ooxml(
        "word/document.xml",
        "wordprocessingml.document.main+xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Article 1.</w:t></w:r></w:p></w:body></w:document>"#,
    )
}

fn xlsx() -> Vec<u8> {
    ooxml(
        "xl/workbook.xml",
        "spreadsheetml.sheet.main+xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="Census" sheetId="1"/></sheets></workbook>"#,
    )
}

fn pptx() -> Vec<u8> {
    ooxml(
        "ppt/presentation.xml",
        "presentationml.presentation.main+xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>"#,
    )
}

/// An OpenDocument file of `kind` (`text`, `spreadsheet`) and version.
fn opendocument(kind: &str, version: &str) -> Vec<u8> {
    let media = format!("application/vnd.oasis.opendocument.{kind}");
    let manifest = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="{version}">
 <manifest:file-entry manifest:full-path="/" manifest:version="{version}" manifest:media-type="{media}"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"#
    );
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="{version}"><office:body><office:text><text:p>Article 1.</text:p></office:text></office:body></office:document-content>
"#
    );
    zip_of(&[
        ("mimetype", media.as_bytes()),
        ("content.xml", content.as_bytes()),
        ("META-INF/manifest.xml", manifest.as_bytes()),
    ])
}

fn epub() -> Vec<u8> {
    zip_of(&[
        ("mimetype", b"application/epub+zip"),
        (
            "META-INF/container.xml",
            br#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>"#,
        ),
        (
            "OEBPS/content.opf",
            br#"<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Gazette</dc:title></metadata></package>"#,
        ),
        (
            "OEBPS/chapter1.xhtml",
            b"<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><p>Article 1.</p></body></html>",
        ),
    ])
}

/// The made files: name, bytes, PUID, the entries the basis names.
fn made() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    vec![
        (
            "act.docx",
            docx(),
            "fmt/412",
            "container: [Content_Types].xml",
        ),
        (
            "census.xlsx",
            xlsx(),
            "fmt/214",
            "container: [Content_Types].xml",
        ),
        (
            "slides.pptx",
            pptx(),
            "fmt/215",
            "container: [Content_Types].xml",
        ),
        (
            "act.odt",
            opendocument("text", "1.2"),
            "fmt/291",
            "container: META-INF/manifest.xml, content.xml",
        ),
        (
            "old.odt",
            opendocument("text", "1.0"),
            "fmt/136",
            "container: META-INF/manifest.xml, content.xml",
        ),
        (
            "census.ods",
            opendocument("spreadsheet", "1.2"),
            "fmt/295",
            "container: META-INF/manifest.xml, content.xml",
        ),
        ("gazette.epub", epub(), "fmt/483", "container: mimetype"),
        (
            "plain.zip",
            zip_of(&[("a.txt", b"hello"), ("b/c.csv", b"a,b\n1,2\n")]),
            "x-fmt/263",
            "signature",
        ),
    ]
}

#[test]
fn office_documents_and_epub_are_identified_as_themselves() {
    for (name, bytes, puid, basis) in made() {
        for id in [
            identify_bytes(name, &bytes),
            identify_reader(name, Cursor::new(&bytes)).unwrap(),
        ] {
            assert_eq!(
                (id.puid(), id.basis_text().as_str()),
                (puid, basis),
                "{name}"
            );
            assert!(id.warning.is_none(), "{name}: {:?}", id.warning);
            assert!(!id.cut_short, "{name}");
        }
    }
    // A DOCX named .zip is still a DOCX, with a warning.
    let id = identify_bytes("act.zip", &docx());
    assert_eq!((id.puid(), id.basis), ("fmt/412", Basis::Container));
    assert!(id.warning.unwrap().contains("extension .zip"));
    // An ODT 1.2 also matches ODT 1.1's signature (which names no
    // version): PRONOM's priority of 1.2 over 1.1 leaves 1.2 alone.
    assert!(identify_bytes("a.odt", &opendocument("text", "1.2"))
        .also
        .is_empty());
}

#[test]
fn a_large_container_is_read_by_range() {
    // A DOCX with a 1 MiB stored image: identified from its file with
    // reads of the ends, the central directory and one entry.
    let mut image = vec![0u8; 1 << 20];
    let mut x = 7u32;
    for b in image.iter_mut() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        *b = (x >> 24) as u8;
    }
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    w.start_file("[Content_Types].xml", deflated).unwrap();
    w.write_all(&content_types(
        "word/document.xml",
        "wordprocessingml.document.main+xml",
    ))
    .unwrap();
    w.start_file("word/media/image1.png", stored).unwrap();
    w.write_all(&image).unwrap();
    w.start_file("word/document.xml", deflated).unwrap();
    w.write_all(b"<w:document/>").unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let mut r = Counting::new(&bytes);
    let id = identify_reader("big.docx", &mut r).unwrap();
    assert_eq!((id.puid(), id.basis), ("fmt/412", Basis::Container));
    assert!(r.read < 4 * WINDOW as u64 + 8192, "{} bytes read", r.read);
}

/// A reader that counts the bytes read from it.
struct Counting<'a> {
    inner: Cursor<&'a [u8]>,
    read: u64,
}

impl<'a> Counting<'a> {
    fn new(data: &'a [u8]) -> Self {
        Counting {
            inner: Cursor::new(data),
            read: 0,
        }
    }
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl Seek for Counting<'_> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// The most a ZIP record can make identification read: both windows,
/// the end record's search, a ZIP64 locator and record, the central
/// directory, and for each path a signature names a local header with
/// its name and extra field and its stored bytes.
fn read_bound() -> u64 {
    let paths = 22; // the distinct entry paths containers.tsv names
    2 * WINDOW as u64
        + (22 + 65_535)
        + 20
        + 56
        + MAX_DIRECTORY
        + paths * (30 + 2 * 65_535 + MAX_STORED)
}

/// Little-endian helpers for the hand-made ZIPs below.
fn le16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn le32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn le64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// A local header and a central directory entry for `name` (stored,
/// `size` bytes, its local header at `local`).
fn headers(name: &[u8], size: u32, local: u32) -> (Vec<u8>, Vec<u8>) {
    let mut l = b"PK\x03\x04".to_vec();
    le16(&mut l, 20);
    le16(&mut l, 0);
    le16(&mut l, 0); // stored
    le32(&mut l, 0);
    le32(&mut l, 0); // crc
    le32(&mut l, size);
    le32(&mut l, size);
    le16(&mut l, name.len() as u16);
    le16(&mut l, 0);
    l.extend_from_slice(name);
    let mut c = b"PK\x01\x02".to_vec();
    le16(&mut c, 20);
    le16(&mut c, 20);
    le16(&mut c, 0);
    le16(&mut c, 0);
    le32(&mut c, 0);
    le32(&mut c, 0);
    le32(&mut c, size);
    le32(&mut c, size);
    le16(&mut c, name.len() as u16);
    le16(&mut c, 0);
    le16(&mut c, 0);
    le16(&mut c, 0);
    le16(&mut c, 0);
    le32(&mut c, 0);
    le32(&mut c, local);
    c.extend_from_slice(name);
    (l, c)
}

/// An end of central directory record.
fn eocd(entries: u16, size: u32, offset: u32) -> Vec<u8> {
    let mut e = b"PK\x05\x06".to_vec();
    le32(&mut e, 0);
    le16(&mut e, entries);
    le16(&mut e, entries);
    le32(&mut e, size);
    le32(&mut e, offset);
    le16(&mut e, 0);
    e
}

fn hostile() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let body = content_types("word/document.xml", "wordprocessingml.document.main+xml");
    let (l, c) = headers(b"[Content_Types].xml", body.len() as u32, 0);
    let mut good = l.clone();
    good.extend(&body);
    let cd_at = good.len() as u32;
    // 1. A ZIP64 end record claiming 10 million entries.
    let mut claims = good.clone();
    claims.extend(&c);
    let z64 = claims.len() as u64;
    claims.extend(b"PK\x06\x06");
    le64(&mut claims, 44);
    le16(&mut claims, 45);
    le16(&mut claims, 45);
    le32(&mut claims, 0);
    le32(&mut claims, 0);
    le64(&mut claims, 10_000_000);
    le64(&mut claims, 10_000_000);
    le64(&mut claims, c.len() as u64);
    le64(&mut claims, cd_at as u64);
    claims.extend(b"PK\x06\x07");
    le32(&mut claims, 0);
    le64(&mut claims, z64);
    le32(&mut claims, 1);
    claims.extend(eocd(0xFFFF, 0xFFFF_FFFF, 0xFFFF_FFFF));
    // 2. A central directory claiming more entries than it holds.
    let mut more = good.clone();
    more.extend(&c);
    more.extend(eocd(60_000, c.len() as u32, cd_at));
    // 3. An entry whose local header lies past the end of the record.
    let (_, far) = headers(b"[Content_Types].xml", body.len() as u32, 0x7FFF_FFF0);
    let mut past = good.clone();
    past.extend(&far);
    past.extend(eocd(1, far.len() as u32, cd_at));
    // 4. A central directory that lies past the end.
    let mut gone = good.clone();
    gone.extend(&c);
    gone.extend(eocd(1, 0x0100_0000, cd_at));
    // 5. An entry claiming 4 GiB of stored data.
    let (_, huge) = headers(b"[Content_Types].xml", 0xFFFF_FFF0, 0);
    let mut big = good.clone();
    big.extend(&huge);
    big.extend(eocd(1, huge.len() as u32, cd_at));
    vec![
        ("claims-10M.docx", claims, "x-fmt/263"),
        ("more.docx", more, "x-fmt/263"),
        ("past.docx", past, "x-fmt/263"),
        ("gone.docx", gone, "x-fmt/263"),
        // Its first bytes are there and name a DOCX.
        ("huge.docx", big, "fmt/412"),
    ]
}

#[test]
fn hostile_zips_are_identified_as_zip_within_bounds() {
    for (name, bytes, puid) in hostile() {
        let mut r = Counting::new(&bytes);
        let id = identify_reader(name, &mut r).unwrap();
        assert_eq!(id.puid(), puid, "{name}: {id:?}");
        assert!(r.read <= read_bound(), "{name}: {} bytes read", r.read);
        assert_eq!(identify_bytes(name, &bytes).puid(), puid, "{name}");
        if puid == "x-fmt/263" && name != "past.docx" {
            let w = id.warning.unwrap_or_default();
            assert!(w.contains("not looked into as a container"), "{name}: {w}");
        }
    }
    let id = identify_bytes("claims-10M.docx", &hostile()[0].1);
    assert!(
        id.warning.unwrap().contains("claims 10000000 entries"),
        "the warning says why"
    );
}

#[test]
fn a_zip_bomb_entry_inflates_no_further_than_the_window() {
    // 256 MiB of spaces after the content type: about 256 KiB deflated.
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(
        "[Content_Types].xml",
        SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .large_file(true),
    )
    .unwrap();
    w.write_all(&content_types(
        "word/document.xml",
        "wordprocessingml.document.main+xml",
    ))
    .unwrap();
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..256 {
        w.write_all(&spaces).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    assert!(bytes.len() < 2 << 20, "{}", bytes.len());
    let started = std::time::Instant::now();
    let mut r = Counting::new(&bytes);
    let id = identify_reader("bomb.docx", &mut r).unwrap();
    assert_eq!((id.puid(), id.basis), ("fmt/412", Basis::Container));
    assert!(r.read <= read_bound(), "{} bytes read", r.read);
    assert!(
        r.read < 2 * WINDOW as u64 + 2 * MAX_STORED,
        "{} bytes read",
        r.read
    );
    // Inflating 64 KiB takes well under a second even on a loaded machine.
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}

/// Random damage to the made files (bytes flipped, cut short): never a
/// panic, always within the read bound.
#[test]
fn damaged_containers_never_panic() {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for (name, bytes, _, _) in made() {
        for round in 0..200 {
            let mut b = bytes.clone();
            if round % 4 == 0 {
                let cut = (next() as usize) % b.len();
                b.truncate(cut.max(4));
            }
            for _ in 0..1 + round % 8 {
                let at = (next() as usize) % b.len();
                b[at] = next() as u8;
            }
            let mut r = Counting::new(&b);
            let _ = identify_reader(name, &mut r).unwrap();
            assert!(r.read <= read_bound());
            let _ = identify_bytes(name, &b);
        }
    }
}

/// fido 1.6.1's answers (it looks into ZIP and OLE2 containers too) on
/// the made files. They agree on the OOXML files, the EPUB and the plain
/// ZIP. The one kind of difference: an OpenDocument file, whose stored
/// `mimetype` entry first makes PRONOM's byte signature of ODT 1.1 (or
/// ODS 1.1) match, with priority over ZIP. fido looks into a file only
/// when the format chosen is a ZIP, so it stops at 1.1 whatever the
/// version; here a file that the ZIP signature matched at all is looked
/// into, and `content.xml`'s `office:version` gives 1.0 or 1.2. fido's
/// answer is then the byte signature's answer here.
#[test]
fn fido_agrees_on_the_made_containers() {
    let tmp = tempfile::tempdir().unwrap();
    let files = made();
    for (name, bytes, _, _) in &files {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    let paths: Vec<PathBuf> = files.iter().map(|(n, ..)| tmp.path().join(n)).collect();
    let out = Command::new("python3")
        .args(["-m", "fido.fido", "-q"])
        .args([
            "-matchprintf",
            "%(info.filename)s\t%(info.puid)s\t%(info.matchtype)s\n",
        ])
        .args(["-nomatchprintf", "%(info.filename)s\t\tfail\n"])
        .args(&paths)
        .output()
        .expect("python3 with opf-fido (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).replace("\\t", "\t");
    for (name, bytes, puid, basis) in &files {
        let key = format!("{}\t", Path::new(tmp.path()).join(name).display());
        let theirs: Vec<(&str, &str)> = text
            .lines()
            .filter_map(|l| l.strip_prefix(&key))
            .filter_map(|rest| rest.split_once('\t'))
            .collect();
        assert_eq!(theirs.len(), 1, "{name}: fido {theirs:?}");
        if name.ends_with(".odt") || name.ends_with(".ods") {
            let by_bytes = identify_windows(name, bytes, None);
            assert_eq!(by_bytes.basis, Basis::Signature);
            assert_eq!(
                theirs,
                [(by_bytes.puid(), "signature")],
                "{name}: fido gives the byte signature's answer"
            );
            continue;
        }
        // The same PUID; fido's basis is its byte signature for the EPUB
        // (PRONOM has one for EPUB's `mimetype` entry), which here is
        // confirmed by the container signature.
        assert_eq!(theirs[0].0, *puid, "{name}: ours {basis}, fido {theirs:?}");
        if basis.starts_with("container: [Content_Types]") {
            assert_eq!(theirs[0].1, "container", "{name}");
        }
    }
}
