//! Generations of a series in the viewer (SPEC §33, issue 21): which
//! generation a file is, the history of its series (absent generations
//! shown as absent), an earlier generation opened from it with the same
//! key, a dependent generation's records read through its series; and
//! (issue 22) an archive of quorum slots only asks for no passphrase.

#[allow(dead_code)] // the shared fixtures this suite does not use
mod support;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable as _;
use egui_kittest::Harness;
use legation_format::pack::RecordSink;
use legation_format::v2::writer::update::{UpdateOptions, UpdateWriter};
use legation_format::writer::{RecordMeta, RecordSource};
use legation_reader::series::{Series, UpdateSink};
use legation_viewer::App;
use rand_core::SeedableRng;

use support::{archives, has, settle, Script, Scripted};

type H = Harness<'static, App>;

/// Records of generation 0.
const RECORDS: u32 = 5000;

fn harness(script: Rc<RefCell<Script>>) -> H {
    let app = App::new(Box::new(Scripted(script, Arc::default())), None);
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(64)
        .with_context_setup(|ctx| ctx.all_styles_mut(|s| s.visuals.text_cursor.blink = false))
        .build_ui_state(|ui, app: &mut App| app.ui(ui), app)
}

fn meta(p: &str) -> RecordMeta {
    RecordMeta {
        path: p.into(),
        title: format!("Entry {p}"),
        media_type: "text/plain".into(),
        modified: Some(1_700_000_000),
        ..Default::default()
    }
}

fn content(p: &str, v: u32) -> Vec<u8> {
    format!("{p}: version {v}\n").into_bytes()
}

/// The next generation after the newest file of `dir` (`prev`), holding
/// `records` (path, version), written to `out`.
fn next(prev: &Path, out: &Path, records: &BTreeMap<String, u32>, seed: u64) {
    next_with(prev, out, seed, |sink| {
        for (p, v) in records {
            sink.add_record(meta(p), RecordSource::Bytes(&content(p, *v)))
                .unwrap();
        }
    });
}

/// The writer of a generation after an earlier one, in memory.
type Sink<'u, 'a> =
    UpdateSink<'u, 'a, UpdateWriter<std::io::Cursor<Vec<u8>>, rand_chacha::ChaCha20Rng>>;

/// The next generation after the newest file of `dir` (`prev`), holding
/// the records `add` gives its sink, written to `out`.
fn next_with(prev: &Path, out: &Path, seed: u64, add: impl FnOnce(&mut Sink<'_, '_>)) {
    let s = Series::find(&[prev.to_owned()]).unwrap();
    let newest = s.newest().unwrap().sequence();
    let u = s
        .unlock(
            newest,
            &[legation_reader::Key::Identity(legation_tests::identity())],
        )
        .unwrap();
    let w = UpdateWriter::new(
        std::io::Cursor::new(Vec::new()),
        u.previous(),
        u.data_key().clone(),
        UpdateOptions {
            created: legation_tests::CREATED + 86_400 * (newest as i64 + 1),
            issuer: Some(legation_tests::issuer()),
            rebase: false,
        },
        rand_chacha::ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    let mut sink = UpdateSink::new(&u, w, false);
    add(&mut sink);
    let (w, changes) = sink.finish().unwrap();
    std::fs::write(out, w.finish(changes).unwrap().into_inner()).unwrap();
}

/// A series of three generations in its own folder: 0 holds
/// [`RECORDS`] records; 1 changes 3, removes 2 and adds 4; 2 changes 1.
struct Made {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

/// A folder `folder` for a series and the names of its three files.
fn three_files(folder: &str, stem: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = archives().dir.join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    let files = (0..3)
        .map(|g| dir.join(format!("{stem}.{g:04}.lgn")))
        .collect();
    (dir, files)
}

fn series() -> &'static Made {
    static S: OnceLock<Made> = OnceLock::new();
    S.get_or_init(|| {
        let (dir, files) = three_files("series", "register");
        let mut recs: BTreeMap<String, u32> = (0..RECORDS)
            .map(|i| (format!("reg/p{i:05}.txt"), 0))
            .collect();
        let mut w = legation_format::v2::writer::ArchiveWriter::new(
            std::io::Cursor::new(Vec::new()),
            support::options(legation_tests::CREATED),
            rand_chacha::ChaCha20Rng::seed_from_u64(40),
        )
        .unwrap();
        for (p, v) in &recs {
            w.add_record(meta(p), RecordSource::Bytes(&content(p, *v)))
                .unwrap();
        }
        std::fs::write(&files[0], w.finish().unwrap().into_inner()).unwrap();
        for i in [10, 2000, 4999] {
            recs.insert(format!("reg/p{i:05}.txt"), 1);
        }
        for i in [5, 3000] {
            recs.remove(&format!("reg/p{i:05}.txt"));
        }
        for i in 0..4 {
            recs.insert(format!("reg/q{i}.txt"), 1);
        }
        next(&files[0], &files[1], &recs, 41);
        recs.insert("reg/p00010.txt".into(), 2);
        next(&files[1], &files[2], &recs, 42);
        Made { dir, files }
    })
}

/// The button with this text.
fn button<'a>(h: &'a H, label: &'a str) -> egui_kittest::Node<'a> {
    h.get_by_role_and_label(Role::Button, label)
}

fn unlock_with_passphrase(h: &mut H) {
    h.get_by_role(Role::PasswordInput).focus();
    h.run_steps(1);
    h.get_by_role(Role::PasswordInput)
        .type_text(legation_tests::PASSPHRASE);
    h.run_steps(1);
    button(h, "Unlock").click();
    settle(h);
}

/// Types `to` into the list's "go to" field and goes there.
fn go_to(h: &mut H, to: &str) {
    h.get_all_by_role(Role::TextInput).last().unwrap().focus();
    h.run_steps(1);
    h.get_all_by_role(Role::TextInput)
        .last()
        .unwrap()
        .type_text(to);
    h.run_steps(1);
    button(h, "Go").click();
    settle(h);
}

/// Searches a dependent generation's records for `words`.
fn search(h: &mut H, words: &str) {
    h.get_all_by_role(Role::TextInput).next().unwrap().focus();
    h.run_steps(1);
    h.get_all_by_role(Role::TextInput)
        .next()
        .unwrap()
        .type_text(words);
    h.run_steps(1);
    button(h, "Search").click();
    settle(h);
}

/// Opens the history under the generation line.
fn show_history(h: &mut H) {
    // Open already (egui keeps it open from screen to screen)?
    if has(h, "Signer") {
        return;
    }
    h.get_by_label_contains("History: ").click();
    h.run_steps(3);
}

fn snap(h: &mut H, name: &str) {
    h.remove_cursor();
    h.run_steps(2);
    h.snapshot(name);
}

#[test]
fn a_later_generation_says_which_it_is_and_lists_the_earlier_ones() {
    let s = series();
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = harness(script);
    // The newest file alone: the others are found beside it.
    h.state_mut().open(s.files[2].clone());
    settle(&mut h);
    let fp = legation_format::crypto::fingerprint(&legation_tests::issuer().public());
    assert!(has(&h, "register.0002.lgn: public facts"));
    assert!(has(&h, "2 of series "), "the facts say which generation");
    assert!(has(&h, "(3 present)"));
    assert!(has(&h, "2026-11-29T10:31:52Z"), "its time");
    assert!(has(&h, "sealed in its index: shown once unlocked"));
    assert!(has(
        &h,
        "dependent: its records not changed since lie in generations 0"
    ));
    assert!(has(
        &h,
        &format!("created 2026-11-29T10:31:52Z, signed by {fp}")
    ));
    show_history(&mut h);
    assert!(has(&h, "History: 3 generations present"));
    assert!(has(&h, "Open generation 0"));
    assert!(has(&h, "Open generation 1"));
    assert!(has(&h, "5,002 ("), "generation 1's records in its row");
    assert!(has(&h, "register.0000.lgn"));
    snap(&mut h, "generation_locked");

    // Unlocked: the records of generation 2, read through its series,
    // and what changed against generation 1.
    unlock_with_passphrase(&mut h);
    assert!(has(&h, "Generation 2: 5,002 records"));
    assert!(has(&h, "0 added, 1 changed, 0 removed since generation 1"));
    // The list a section at a time, each found by the index: one a
    // page of the base run, the last to the overlay's end.
    assert!(has(
        &h,
        "Section 1 of 2: 4,094 records from the first up to \u{201c}reg/p04095.txt\u{201d}"
    ));
    let summary = h.state_mut().summary();
    assert_eq!(summary["screen"], "generation records", "{summary}");
    let rows = summary["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4094);
    assert_eq!(rows[0]["path"], "reg/p00000.txt");
    assert_eq!(rows[0]["stored_in"], 0, "unchanged: in generation 0's file");
    let p10 = rows.iter().find(|r| r["path"] == "reg/p00010.txt").unwrap();
    assert_eq!(p10["stored_in"], 2, "changed in generation 2");
    assert!(
        rows.iter().all(|r| r["path"] != "reg/p00005.txt"),
        "removed in 1"
    );
    // Two sections: the folder tree gathered at once.
    assert_eq!(summary["folders"], 1, "{summary}");
    // The last section: the base's second page and the records added in
    // generation 1.
    button(&h, "Next").click();
    settle(&mut h);
    assert!(has(
        &h,
        "Section 2 of 2: 908 records after \u{201c}reg/p04095.txt\u{201d} up to \u{201c}reg/q3.txt\u{201d}"
    ));
    let summary = h.state_mut().summary();
    let rows = summary["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 908);
    assert_eq!(rows[907]["path"], "reg/q3.txt");
    assert_eq!(rows[907]["stored_in"], 1);
    button(&h, "Previous").click();
    settle(&mut h);
    assert!(has(&h, "Section 1 of 2: 4,094 records"));
    // A path typed: the section that holds it.
    go_to(&mut h, "reg/p04501.txt");
    assert!(has(&h, "Section 2 of 2"));
    go_to(&mut h, "1");
    assert!(has(&h, "Section 1 of 2"));
    go_to(&mut h, "reg/q1.txt");
    assert!(has(&h, "Section 2 of 2"));
    // A search streams the merged catalog: the changed record's new
    // title is not searched (none), its path is.
    search(&mut h, "p0001");
    let summary = h.state_mut().summary();
    assert_eq!(summary["matched"], 10, "{summary}");
    assert!(has(&h, "10 of 5,002 records match \u{201c}p0001\u{201d}"));
    let rows = summary["rows"].as_array().unwrap();
    assert_eq!(rows[0]["path"], "reg/p00010.txt");
    assert_eq!(rows[0]["stored_in"], 2);
    // The folder chosen in the tree: every record under it.
    h.get_by_label("Clear").click();
    settle(&mut h);
    h.get_by_label("reg").click();
    settle(&mut h);
    assert!(has(&h, "5,002 of 5,002 records match in reg/"));
    h.get_by_label("All records").click();
    settle(&mut h);
    assert!(has(&h, "Section 2 of 2"), "back to the section shown");
    snap(&mut h, "generation_records");

    // Generation 1, picked in the history: opened with the same key.
    button(&h, "Open generation 1").click();
    settle(&mut h);
    assert!(has(&h, "Generation 1: 5,002 records"), "unlocked at once");
    assert!(has(&h, "4 added, 3 changed, 2 removed since generation 0"));

    // Generation 0, self-contained: the record browser.
    show_history(&mut h);
    button(&h, "Open generation 0").click();
    settle(&mut h);
    assert!(
        has(&h, "5,000 of 5,000 records"),
        "the browser, unlocked at once"
    );
    assert!(has(&h, "the first generation: nothing before it"));
    let summary = h.state_mut().summary();
    assert_eq!(summary["screen"], "open", "{summary}");
    assert_eq!(summary["generation"]["sequence"], 0);
    assert_eq!(
        summary["generation"]["history"].as_array().unwrap().len(),
        3
    );
}

#[test]
fn absent_generations_are_shown_as_absent_not_as_errors() {
    let s = series();
    // Generations 0 and 2 only: 1 is absent, and 2 reads records of 0.
    let dir = s.dir.join("gap");
    std::fs::create_dir_all(&dir).unwrap();
    for g in [0, 2] {
        std::fs::copy(&s.files[g], dir.join(s.files[g].file_name().unwrap())).unwrap();
    }
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = harness(script);
    // A folder: its newest generation.
    h.state_mut().open(dir.clone());
    settle(&mut h);
    assert!(has(&h, "register.0002.lgn: public facts"));
    show_history(&mut h);
    assert!(has(&h, "History: 2 generations present"));
    assert!(has(&h, "its file was not given"));
    let summary = h.state_mut().summary();
    let g = &summary["generation"];
    assert_eq!(g["problems"].as_array().unwrap().len(), 0, "{g}");
    assert_eq!(g["history"][1]["absent"], serde_json::json!([1, 1]), "{g}");
    assert!(summary["notice"].is_null(), "{summary}");
    snap(&mut h, "generation_absent");

    // Generation 2 alone: 0, whose records it reads, is absent and named.
    let alone = s.dir.join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    let f = alone.join("register.0002.lgn");
    std::fs::copy(&s.files[2], &f).unwrap();
    let mut h = harness(Rc::default());
    h.state_mut().open(f.clone());
    settle(&mut h);
    show_history(&mut h);
    assert!(has(&h, "History: 1 generation present"));
    assert!(has(&h, "generation 2 reads records from it"));
    let summary = h.state_mut().summary();
    let g = &summary["generation"];
    assert_eq!(
        g["history"],
        serde_json::json!([
            {"absent": [0, 0], "needed": true},
            {"absent": [1, 1], "needed": true},
            {"sequence": 2, "records": 5002, "file": f, "shown": true},
        ]),
        "{g}"
    );
    assert_eq!(g["problems"].as_array().unwrap().len(), 0, "{g}");
    unlock_with_passphrase(&mut h);
    assert!(
        has(&h, "generation 0 is needed and no file holds it"),
        "reading its records names the file missing"
    );
}

#[test]
fn several_files_open_the_generation_asked_for() {
    let s = series();
    let mut h = harness(Rc::default());
    h.state_mut().open_series(s.files.clone(), Some(1));
    settle(&mut h);
    assert!(has(&h, "register.0001.lgn: public facts"));
    assert!(has(&h, "1 of series "));
    // No generation asked for: the newest.
    h.state_mut().open_series(s.files.clone(), None);
    settle(&mut h);
    assert!(has(&h, "register.0002.lgn: public facts"));
    // One not among them: said so, on the start screen.
    h.state_mut().open_series(s.files.clone(), Some(7));
    settle(&mut h);
    assert!(has(&h, "generation 7 is not among the files given"));
}

#[test]
fn an_archive_of_quorum_slots_only_asks_for_no_passphrase() {
    use legation_format::keys::Identity;
    let ids: Vec<Identity> = (0..3u8)
        .map(|i| Identity::from_bytes([70 + i; 32]))
        .collect();
    let policy = support::two_of(&ids);
    let bytes = legation_tests::quorum_archive(&[policy], false, 33, &["deeds.txt"]);
    let path = archives().dir.join("quorum-only.lgn");
    std::fs::write(&path, bytes).unwrap();
    let mut h = harness(Rc::default());
    h.state_mut().open(path);
    settle(&mut h);
    assert!(has(&h, "Key slot 0: quorum 2 of (x25519, x25519, x25519)"));
    assert!(
        h.query_by_role(Role::PasswordInput).is_none(),
        "no passphrase field: no slot opens with one"
    );
    // Its holders' shares are wrapped for identities: a holder's identity
    // file unwraps one.
    assert!(has(&h, "Choose identity file…"));
    assert!(has(
        &h,
        "This archive opens only with its key holders' shares: add them below, or choose"
    ));
    button(&h, "Unlock").click();
    h.run_steps(2);
    assert!(has(
        &h,
        "Choose an identity file or add key holders' shares first."
    ));
    snap(&mut h, "quorum_only");
}

/// A small series whose records have decoders (the built-ins, stored in
/// generation 0 only): `notes/a.txt` stays in generation 0, `notes/b.txt`
/// changes in 1, `notes/c.txt` in 2; `notes/broken.json` (generation 0)
/// is refused by its decoder; `notes/data.bin` names the raw decoder;
/// `notes/plain.dat` names none.
fn decoded_series() -> &'static Made {
    static S: OnceLock<Made> = OnceLock::new();
    S.get_or_init(|| {
        let (dir, files) = three_files("decoded-series", "notes");
        let mut w = legation_format::v2::writer::ArchiveWriter::new(
            std::io::Cursor::new(Vec::new()),
            support::options(legation_tests::CREATED),
            rand_chacha::ChaCha20Rng::seed_from_u64(50),
        )
        .unwrap();
        // The decoder entry of each built-in, by the media types it takes.
        let host = legation_reader::decode::Host::native();
        let mut by_type: BTreeMap<String, String> = BTreeMap::new();
        for wasm in legation_builtin_decoders::ALL {
            let module =
                legation_meter::meter(wasm, &legation_meter::MeterConfig::default()).unwrap();
            let loaded = host.load(&module, "built-in").unwrap();
            let desc = loaded.decoder_ref();
            let entry = w
                .add_decoder(&module, desc.clone(), loaded.uses_vectors())
                .unwrap();
            for m in desc.media_types {
                by_type.entry(m).or_insert_with(|| entry.clone());
            }
        }
        let text = by_type["text/plain"].clone();
        let json = by_type["application/json"].clone();
        let raw = by_type["*/*"].clone();
        // Each record's media type and decoder: a text, a JSON file its
        // decoder refuses, and bytes for the raw decoder (so that the
        // generations after the first name it too).
        let kind = |p: &str| match p.rsplit('.').next() {
            Some("json") => ("application/json", Some(json.clone())),
            Some("bin") => ("application/octet-stream", Some(raw.clone())),
            Some("dat") => ("application/x-unknown", None),
            _ => ("text/plain", Some(text.clone())),
        };
        let meta = |p: &str, media: &str, decoder: Option<String>| RecordMeta {
            path: p.into(),
            title: format!("Note {p}"),
            media_type: media.into(),
            modified: Some(1_700_000_000),
            decoder,
            ..Default::default()
        };
        let body = |p: &str, v: u32| format!("The note {p}, version {v}.\n").into_bytes();
        let texts = ["notes/a.txt", "notes/b.txt", "notes/c.txt"];
        let mut records: Vec<(String, Vec<u8>)> =
            texts.iter().map(|p| (p.to_string(), body(p, 0))).collect();
        records.push(("notes/broken.json".into(), b"{\"notes\": [1, 2,".to_vec()));
        records.push(("notes/data.bin".into(), vec![0, 1, 2, 3]));
        records.push(("notes/plain.dat".into(), b"no decoder for me".to_vec()));
        records.sort();
        for (p, b) in &records {
            let (media, d) = kind(p);
            w.add_record(meta(p, media, d), RecordSource::Bytes(b))
                .unwrap();
        }
        std::fs::write(&files[0], w.finish().unwrap().into_inner()).unwrap();
        // Generations 1 and 2: the same records, one changed in each.
        for g in 1..3u32 {
            let out = &files[g as usize];
            next_with(&files[g as usize - 1], out, 50 + g as u64, |sink| {
                for (p, b) in &mut records {
                    if p.as_str() == texts[g as usize] {
                        *b = body(p, g);
                    }
                    let (media, d) = kind(p);
                    sink.add_record(meta(p, media, d), RecordSource::Bytes(b))
                        .unwrap();
                }
            });
        }
        Made { dir, files }
    })
}

/// Clicks the record `path` in a dependent generation's list and waits
/// for its view.
fn open_from_list(h: &mut H, path: &str) {
    h.get_by_role_and_label(Role::Link, path).click();
    settle(h);
    assert!(
        !has(h, "Reading it through the series"),
        "{path} read and decoded"
    );
}

#[test]
fn a_record_of_a_dependent_generation_opens_to_its_view() {
    let s = decoded_series();
    let script = Rc::new(RefCell::new(Script::default()));
    let mut h = harness(script.clone());
    h.state_mut().open(s.files[2].clone());
    settle(&mut h);
    unlock_with_passphrase(&mut h);
    assert!(has(&h, "Generation 2: 6 records"));
    assert!(has(&h, "0 added, 1 changed, 0 removed since generation 1"));

    // Stored in generation 0's file, its decoder too: the text decoder's
    // view of generation 0's bytes.
    open_from_list(&mut h, "notes/a.txt");
    assert!(has(&h, "Note notes/a.txt"), "its title");
    assert!(has(&h, "stored in generation 0's file"));
    assert!(
        has(&h, "The note notes/a.txt, version 0."),
        "the view's text"
    );
    assert!(!has(&h, "cannot be shown"));
    let summary = h.state_mut().summary();
    assert_eq!(summary["record"]["path"], "notes/a.txt", "{summary}");
    assert_eq!(summary["record"]["state"], "shown", "{summary}");
    assert!(
        !has(&h, "Section 1 of 1: 6 records"),
        "the record in place of the list"
    );
    button(&h, "Back to the list").click();
    settle(&mut h);
    assert!(has(&h, "Section 1 of 1: 6 records"));

    // Changed in generation 2 (stored in its file, its decoder in
    // generation 0's): the new bytes, not generation 0's.
    open_from_list(&mut h, "notes/c.txt");
    assert!(has(&h, "stored in generation 2's file"));
    assert!(has(&h, "The note notes/c.txt, version 2."));
    assert!(!has(&h, "version 0."));
    // Its details, and its original bytes exported, read through the
    // series and checked.
    h.get_by_label("Details").click();
    settle(&mut h);
    assert!(has(&h, "generation 2's file (read for generation 2)"));
    snap(&mut h, "generation_record_view");
    let out = s.dir.join("exported-c.txt");
    let _ = std::fs::remove_file(&out);
    script.borrow_mut().save = Some(out.clone());
    button(&h, "Export the original…").click();
    settle(&mut h);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"The note notes/c.txt, version 2.\n"
    );
    assert!(has(&h, "(33 bytes)."), "the export said what it wrote");
    button(&h, "Back to the list").click();
    settle(&mut h);

    // Changed in generation 1, then kept.
    open_from_list(&mut h, "notes/b.txt");
    assert!(has(&h, "stored in generation 1's file"));
    assert!(has(&h, "The note notes/b.txt, version 1."));
    button(&h, "Back to the list").click();
    settle(&mut h);

    // Refused by its decoder: the raw decoder's view under the reason,
    // as for a self-contained archive's record.
    open_from_list(&mut h, "notes/broken.json");
    assert!(has(
        &h,
        "Its decoder does not show this record: decoder json 1.0.0"
    ));
    assert!(has(&h, "Shown below through the archive's raw decoder"));
    assert!(has(&h, "16 bytes"), "the raw decoder's size");
    assert!(has(&h, "00000000  7b 22 6e 6f"), "its hex dump");
    let summary = h.state_mut().summary();
    assert_eq!(summary["record"]["state"], "shown through the raw decoder");
    button(&h, "Back to the list").click();
    settle(&mut h);
    assert!(h.state_mut().summary()["record"].is_null());

    // No decoder at all: why not, and its first bytes read through the
    // series.
    open_from_list(&mut h, "notes/plain.dat");
    assert!(has(&h, "This record cannot be shown"));
    assert!(has(&h, "no decoder is assigned to this record"));
    assert!(has(&h, "Its first 17 bytes, raw:"));
    assert!(has(&h, "00000000  6e 6f 20 64"), "its hex dump");
    assert_eq!(h.state_mut().summary()["record"]["state"], "failed");
    button(&h, "Back to the list").click();
    settle(&mut h);

    // The series checked: keyless (every file generation 2 reads, the
    // splice rules), then every record read and its view made again.
    h.get_by_label("Check the series").click();
    settle(&mut h);
    button(&h, "Audit the series (no key)").click();
    settle(&mut h);
    assert!(has(&h, "The keyless audit of the series: passed."));
    button(&h, "Check the content and views").click();
    settle(&mut h);
    assert!(has(&h, "The content and views: passed."));
    let summary = h.state_mut().summary();
    assert_eq!(summary["check"]["with_key"], true, "{summary}");
    assert_eq!(summary["check"]["problems"].as_array().unwrap().len(), 0);
    snap(&mut h, "generation_checked");
}
