//! The event log (format 2.1, SPEC §36) through the command: `pack
//! --from-bag` writes validation, ingestion, format identification and
//! rendering; `pack --update` writes the next generation's log as the
//! previous one's events and its own; `info` with a key shows it;
//! `premis` exports it, valid against the PREMIS 3.0 schema; a damaged
//! log is refused naming the entry, and refuses nothing else.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{code, run, stderr, stdout, Tmp};

/// A bag made by bagit.py of three files, the keys, and `a.lgn` packed
/// from it, signed: five records (the three and `.legation/`'s two).
fn packed_bag(d: &Path) {
    let src = d.join("in");
    fs::create_dir_all(src.join("docs")).unwrap();
    fs::write(src.join("docs/note.txt"), "a note\n").unwrap();
    fs::write(src.join("docs/table.csv"), "a,b\n1,2\n").unwrap();
    fs::write(src.join("data.json"), "{\"a\": 1}\n").unwrap();
    let out = Command::new("python3")
        .args(["-m", "bagit", "--quiet"])
        .arg(&src)
        .output()
        .expect("python3 with bagit (scripts/test.sh installs it)");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(code(&run(&["keygen", "recipient", "-o", "alice"], d)), 0);
    assert_eq!(code(&run(&["keygen", "issuer", "-o", "gov"], d)), 0);
    let o = run(
        &[
            "pack",
            "in",
            "--from-bag",
            "-o",
            "a.lgn",
            "-r",
            "alice.pub",
            "--sign",
            "gov.key",
        ],
        d,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// Runs `args` with alice's identity and gov's signing key; it must
/// succeed.
fn keyed(d: &Path, args: &[&str]) {
    let mut all = args.to_vec();
    all.extend(["-i", "alice.key", "--sign", "gov.key"]);
    let o = run(&all, d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// `premis` of `archive` into `file`, checked by premis_check.py; the
/// document.
fn premis(d: &Path, archive: &str, file: &str) -> String {
    let o = run(&["premis", archive, "-o", file, "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../interchange/tests/premis_check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(d.join(file))
        .output()
        .expect("python3 with xmlschema (scripts/test.sh installs it)");
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    fs::read_to_string(d.join(file)).unwrap()
}

/// The logged events' types in the export, in order, with their
/// generation.
fn logged(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in xml.split("<premis:event>").skip(1) {
        if !part.contains("/log/") {
            continue;
        }
        let field = |tag: &str| {
            let open = format!("<premis:{tag}>");
            let from = part.find(&open).unwrap() + open.len();
            let to = from + part[from..].find('<').unwrap();
            part[from..to].to_owned()
        };
        let detail = field("eventDetail");
        let generation = detail.split(':').next().unwrap().to_owned();
        out.push(format!("{generation}: {}", field("eventType")));
    }
    out
}

#[test]
fn pack_writes_the_log_info_shows_it_and_premis_exports_it() {
    let t = Tmp::new("event-log");
    let d = &t.0;
    packed_bag(d);
    let o = run(&["info", "a.lgn", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let info = stdout(&o);
    assert!(info.contains("event log:      4 events"), "{info}");
    assert!(info.contains("payload files: 3"), "{info}");
    assert!(
        info.contains("identified: 5; puid fmt/817: 1; puid x-fmt/111: 3; puid x-fmt/18: 1;"),
        "{info}"
    );
    let xml = premis(d, "a.lgn", "a.xml");
    assert_eq!(
        logged(&xml),
        [
            "generation 0: validation",
            "generation 0: ingestion",
            "generation 0: format identification",
            "generation 0: rendering"
        ]
    );
    for part in [
        "<premis:eventOutcomeDetailNote>bytes: 569; empty folders: 0; records: 5</premis:eventOutcomeDetailNote>",
        "<premis:agentIdentifierType>legation-tool</premis:agentIdentifierType>",
        &format!("<premis:agentVersion>{}</premis:agentVersion>", env!("CARGO_PKG_VERSION")),
        "payload manifests sha256 sha512",
    ] {
        assert!(xml.contains(part), "{part} in {xml}");
    }
}

#[test]
fn an_update_appends_its_events_to_the_previous_log() {
    let t = Tmp::new("event-log-update");
    let d = &t.0;
    packed_bag(d);
    let next = d.join("next");
    fs::create_dir_all(&next).unwrap();
    fs::write(next.join("data.json"), "{\"a\": 2}\n").unwrap();
    fs::write(next.join("new.txt"), "new\n").unwrap();
    keyed(d, &["pack", "next", "--update", "a.lgn", "-o", "a.1.lgn"]);
    let xml = premis(d, "a.1.lgn", "a1.xml");
    assert_eq!(
        logged(&xml),
        [
            "generation 0: validation",
            "generation 0: ingestion",
            "generation 0: format identification",
            "generation 0: rendering",
            "generation 1: modification",
            "generation 1: format identification",
            "generation 1: rendering",
        ]
    );
    assert!(
        xml.contains("added: 1; bytes: 13; changed: 1; records: 2; removed: 4"),
        "{xml}"
    );
    // Compacted: the series' log and one modification, no counts of
    // identification or rendering (the records' facts are copied).
    keyed(d, &["compact", "a.1.lgn", "-o", "one.lgn"]);
    let xml = premis(d, "one.lgn", "one.xml");
    let events = logged(&xml);
    assert_eq!(events.len(), 8, "{events:?}");
    assert_eq!(events[7], "generation 2: modification");
}

#[test]
fn a_damaged_log_is_refused_naming_it_and_the_records_still_read() {
    let t = Tmp::new("event-log-damaged");
    let d = &t.0;
    packed_bag(d);
    let mut bytes = fs::read(d.join("a.lgn")).unwrap();
    // The log's local header (name length 6, the name `events`), then a
    // byte of its sealed stream past the 16-byte id.
    let at = (0..bytes.len() - 36)
        .find(|&p| {
            bytes[p..p + 4] == *b"PK\x03\x04"
                && bytes[p + 26..p + 28] == [6, 0]
                && bytes[p + 30..p + 36] == *b"events"
        })
        .unwrap();
    let extra = u16::from_le_bytes([bytes[at + 28], bytes[at + 29]]) as usize;
    bytes[at + 36 + extra + 100] ^= 1;
    fs::write(d.join("b.lgn"), &bytes).unwrap();
    let o = run(&["verify", "b.lgn"], d);
    assert_ne!(code(&o), 0);
    assert!(
        (stdout(&o) + &stderr(&o)).contains("events"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let o = run(&["premis", "b.lgn", "-o", "b.xml", "-i", "alice.key"], d);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("events"), "{}", stderr(&o));
    assert!(!d.join("b.xml").exists());
    let o = run(&["cat", "b.lgn", "data.json", "-i", "alice.key"], d);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "{\"a\": 1}\n");
}
