//! Catalog pages that cost far more parsed than stored (defect 1): items are bounded, and pages held at once by what they cost.

use std::fs;
use std::path::Path;

use legation_format::crypto::{self, StreamId};
use legation_format::{catalog, keys};
use legation_reader::source::MemSource;
use legation_reader::{Archive, Key};
use legation_tests::raw::Raw;

use crate::common::*;

/// Pages in the archives below: more than any command used to decode at
/// once (16).
const PAGES: usize = 17;

/// An archive of `PAGES` full catalog pages, for the tests' recipient
/// and signed by their issuer, with key files beside it; `splice` adds
/// JSON text to the first record of every page (before its `entry`
/// member), as an author holding only the recipient's public key could,
/// and the manifest is signed again. (Text, not serde: the pages are
/// tens of megabytes, and this crate's test code is not optimized.)
fn forged(name: &str, splice: &dyn Fn(usize) -> String) -> Tmp {
    let t = Tmp::new(name);
    let d = &t.0;
    let src = d.join("src");
    for n in 0..PAGES * legation_format::PAGE_SIZE {
        let dir = src.join(format!("p{:02}", n / legation_format::PAGE_SIZE));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("r{n:05}.txt")), n.to_string()).unwrap();
    }
    let id = legation_tests::identity();
    let gov = legation_tests::issuer();
    let pub_file = keys::format_key_file(keys::RECIPIENT_PUBLIC, &id.public(), "alice");
    fs::write(d.join("alice.pub"), pub_file.as_bytes()).unwrap();
    let key_file = keys::format_key_file(keys::RECIPIENT_SECRET, id.secret(), "alice");
    fs::write(d.join("alice.key"), key_file.as_bytes()).unwrap();
    let gov_pub = keys::format_key_file(keys::ISSUER_PUBLIC, &gov.public(), "gov");
    fs::write(d.join("gov.pub"), gov_pub.as_bytes()).unwrap();
    // Format 1.3: the forgery splices 1.x's JSON catalog pages.
    let o = run(
        &[
            "pack",
            "src",
            "-o",
            "good.lgn",
            "-r",
            "alice.pub",
            "--format",
            "1.3",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let bytes = fs::read(d.join("good.lgn")).unwrap();
    let a = Archive::open(MemSource::new(bytes.clone(), "good.lgn")).unwrap();
    let key = a.unlock(&[Key::Identity(id)]).unwrap().data_key().clone();
    let archive_id = a.manifest().archive_id;
    assert_eq!(a.manifest().catalog.pages as usize, PAGES);
    let mut raw = Raw::parse(&bytes);
    for n in 0..PAGES {
        let name = legation_format::catalog_page_entry(n as u64);
        let sk = key.stream_key(&archive_id, StreamId::CatalogPage(n as u64));
        let json = catalog::inflate(
            &crypto::open_stream(&sk, raw.get(&name)).unwrap(),
            catalog::MAX_PAGE_BYTES,
            &name,
        )
        .unwrap();
        let text = String::from_utf8(json).unwrap();
        let at = text.find(r#","entry":"#).unwrap();
        // The packer's own metadata (the record's PRONOM format, SPEC
        // §11.6) gives way to the spliced member.
        let cut = text[..at].rfind(r#","metadata":"#).unwrap_or(at);
        let text = format!("{}{}{}", &text[..cut], splice(n), &text[at..]);
        *raw.get_mut(&name) = crypto::seal_stream(&sk, &catalog::deflate(text.as_bytes()));
    }
    raw.reseal(Some(&gov), |_| {});
    fs::write(d.join("a.lgn"), raw.build()).unwrap();
    // RELIABILITY.md's peak memory figures are taken on these archives.
    if let Some(dir) = std::env::var_os("LEGATION_MEASURE_DIR") {
        let dir = Path::new(&dir).join(name);
        fs::create_dir_all(&dir).unwrap();
        for f in ["a.lgn", "alice.key", "gov.pub"] {
            fs::copy(d.join(f), dir.join(f)).unwrap();
        }
    }
    t
}

/// Runs `legation ARGS` in `dir` with its address space capped at `mib`.
fn run_capped(mib: u64, args: &[&str], dir: &Path) -> std::process::Output {
    let cmd = format!("ulimit -v {}; exec \"$0\" \"$@\"", mib * 1024);
    std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .arg(env!("CARGO_BIN_EXE_legation"))
        .args(args)
        .current_dir(dir)
        .env_remove("LEGATION_PASSPHRASE")
        .output()
        .unwrap()
}

/// Each page carries 4 million empty metadata strings: 12 MB of JSON a
/// page that deflates to a few kilobytes and parses into about 100 MB.
/// Every command refuses the first page it reads, by its item count,
/// naming it, within 768 MiB of address space (before: `ls` decoded 16
/// such pages at once and was killed by the allocator).
#[test]
fn empty_string_flood_is_refused_by_its_items() {
    let t = forged("flood", &|_| {
        format!(
            r#","metadata":{{"subject":[{}""]}}"#,
            r#""","#.repeat(4_000_000)
        )
    });
    let d = &t.0;
    assert!(fs::metadata(d.join("a.lgn")).unwrap().len() < 10 << 20);
    for args in [
        vec!["ls", "a.lgn", "-i", "alice.key"],
        vec!["ls", "a.lgn", "-i", "alice.key", "--json"],
        vec!["cat", "a.lgn", "p03/r01536.txt", "-i", "alice.key"],
        vec!["extract", "a.lgn", "-o", "out", "-i", "alice.key"],
        vec!["verify", "a.lgn", "-i", "alice.key", "--level", "content"],
    ] {
        let o = run_capped(768, &args, d);
        // verify reports on standard output, the others on standard error.
        let err = stderr(&o) + &stdout(&o);
        assert_eq!(code(&o), 1, "{args:?}: {err}");
        assert!(err.contains("JSON items"), "{args:?}: {err}");
        assert!(err.contains("c/0000000"), "{args:?} names no page: {err}");
    }
}

/// Each page's first record has a 24 MiB description: within every
/// bound, so the archive is valid, but 16 such pages cost about 800 MB if
/// decoded at once. Listing, reading, extracting and verifying all
/// succeed within 512 MiB of address space (thread stacks and allocator
/// arenas included), holding a page or two at a time.
#[test]
fn large_pages_are_held_one_at_a_time() {
    let t = forged("large", &|_| {
        format!(
            r#","metadata":{{"description":["{}"]}}"#,
            "a".repeat(24 << 20)
        )
    });
    let d = &t.0;
    assert!(fs::metadata(d.join("a.lgn")).unwrap().len() < 10 << 20);
    let o = run_capped(512, &["ls", "a.lgn", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().filter(|l| l.contains(".txt")).count(),
        PAGES * 512
    );
    let o = run_capped(
        512,
        &["cat", "a.lgn", "p16/r08192.txt", "-i", "alice.key"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "8192");
    let o = run_capped(
        512,
        &["extract", "a.lgn", "-o", "out", "-i", "alice.key"],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(d.join("out/p09/r04609.txt")).unwrap(),
        "4609"
    );
    let o = run_capped(
        512,
        &[
            "verify",
            "a.lgn",
            "-i",
            "alice.key",
            "--level",
            "content",
            "--issuer",
            "gov.pub",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}
